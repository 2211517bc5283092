// Package telemetry makes a cloudflow worker observable: its Prometheus
// metrics (the Temporal SDK's and cloudflow's own), its health endpoints, its
// OpenTelemetry traces and its structured logs.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/apicall"
)

// The names of cloudflow's own metrics, as OpenTelemetry instruments; the
// Prometheus exporter adds "_total" to counters and "_seconds" to durations
// (README, "Operating the worker", lists them as scraped).
const (
	// MetricAPICalls counts the cloud API calls, by cloud, verb (the call's
	// method and path template) and status (the HTTP status, or "error"
	// when no answer came).
	MetricAPICalls = "cloudflow_api_calls"
	// MetricAPICallDuration is the calls' latency, by cloud and verb.
	MetricAPICallDuration = "cloudflow_api_call_duration"
	// MetricOperationPolls is the number of polls a wait for a cloud
	// operation took, by cloud and kind.
	MetricOperationPolls = "cloudflow_operation_polls"
	// MetricOperationDuration is how long cloud operations took, from the
	// first poll of their wait to its end, by cloud, kind, verb and outcome.
	MetricOperationDuration = "cloudflow_operation_duration"
	// MetricCompensations and MetricResourcesLeft are counted by the
	// workflows through the SDK's workflow metrics handler (replay-safe):
	// the runs compensated (undone), by workflow_type, and the resources an
	// undo could not delete, by kind.
	MetricCompensations = "cloudflow_compensations"
	MetricResourcesLeft = "cloudflow_resources_left"
	// MetricAsyncWaits is the number of waits the worker runs
	// asynchronously now (off its activity slots, which no longer count
	// them).
	MetricAsyncWaits = "cloudflow_async_waits"
)

// sdkMeterName is the meter the Temporal SDK's metrics come from;
// meterName is cloudflow's.
const (
	sdkMeterName = "temporal-sdk-go"
	meterName    = "github.com/cloudflow/cloudflow"
)

// Bucket boundaries: the defaults of OpenTelemetry (0 to 10,000) suit
// milliseconds, not seconds or poll counts.
var (
	latencyBuckets   = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
	operationBuckets = []float64{0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600}
	pollBuckets      = []float64{1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233}
)

// Metrics holds a worker's metrics: an OpenTelemetry meter provider whose
// reader is a Prometheus exporter on a registry of its own. It implements
// activities.Metrics, and APICall is the clients' apicall.Observer.
type Metrics struct {
	registry *prometheus.Registry
	provider *sdkmetric.MeterProvider
	sdk      client.MetricsHandler
	onError  func(error)

	apiCalls        metric.Int64Counter
	apiCallDuration metric.Float64Histogram
	polls           metric.Int64Histogram
	opDuration      metric.Float64Histogram
}

// NewMetrics builds the metrics of a process described by res (nil: the
// OpenTelemetry default, with OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES).
// onError hears of errors of the SDK's instruments (nil: ignored), which
// would otherwise panic.
func NewMetrics(res *resource.Resource, onError func(error)) (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		otelprom.WithoutScopeInfo(),
	)
	if err != nil {
		return nil, fmt.Errorf("metrics: prometheus exporter: %w", err)
	}
	opts := []sdkmetric.Option{
		sdkmetric.WithReader(exporter),
		// The SDK's timers are histograms in seconds.
		sdkmetric.WithView(sdkmetric.NewView(
			sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram, Scope: instrumentation.Scope{Name: sdkMeterName}},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: latencyBuckets}},
		)),
	}
	if res != nil {
		opts = append(opts, sdkmetric.WithResource(res))
	}
	m := &Metrics{registry: reg, provider: sdkmetric.NewMeterProvider(opts...)}
	if onError == nil {
		onError = func(error) {}
	}
	m.onError = onError
	m.sdk = temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                m.provider.Meter(sdkMeterName),
		OnError:              onError,
		UseMonotonicCounters: true, // counters Prometheus can rate()
	})

	meter := m.provider.Meter(meterName)
	var errs [4]error
	m.apiCalls, errs[0] = meter.Int64Counter(MetricAPICalls,
		metric.WithDescription("Cloud API calls, by cloud, verb (method and path template) and HTTP status (\"error\": no answer)."))
	m.apiCallDuration, errs[1] = meter.Float64Histogram(MetricAPICallDuration, metric.WithUnit("s"),
		metric.WithDescription("Latency of cloud API calls, by cloud and verb."),
		metric.WithExplicitBucketBoundaries(latencyBuckets...))
	m.polls, errs[2] = meter.Int64Histogram(MetricOperationPolls,
		metric.WithDescription("Polls a wait for a cloud operation took, by cloud and kind."),
		metric.WithExplicitBucketBoundaries(pollBuckets...))
	m.opDuration, errs[3] = meter.Float64Histogram(MetricOperationDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of cloud operations, waited out, by cloud, kind, verb and outcome."),
		metric.WithExplicitBucketBoundaries(operationBuckets...))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return m, nil
}

// SDKHandler is the Temporal client's MetricsHandler (client.Options): the
// SDK's metrics, and the workflows' own counters, go through it.
func (m *Metrics) SDKHandler() client.MetricsHandler { return m.sdk }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// APICall records one cloud API call: an apicall.Observer.
func (m *Metrics) APICall(c apicall.Call) {
	status := "error"
	if c.Status != 0 {
		status = strconv.Itoa(c.Status)
	}
	ctx := context.Background()
	m.apiCalls.Add(ctx, 1, metric.WithAttributes(
		attribute.String("cloud", c.Cloud), attribute.String("verb", c.Verb), attribute.String("status", status)))
	m.apiCallDuration.Record(ctx, c.Duration.Seconds(), metric.WithAttributes(
		attribute.String("cloud", c.Cloud), attribute.String("verb", c.Verb)))
}

var _ apicall.Observer = (*Metrics)(nil).APICall

// WaitEnded records a wait for a cloud operation: activities.Metrics.
func (m *Metrics) WaitEnded(e activities.WaitEnd) {
	ctx := context.Background()
	m.polls.Record(ctx, int64(e.Polls), metric.WithAttributes(
		attribute.String("cloud", e.Cloud), attribute.String("kind", e.Kind)))
	m.opDuration.Record(ctx, e.Duration.Seconds(), metric.WithAttributes(
		attribute.String("cloud", e.Cloud), attribute.String("kind", e.Kind),
		attribute.String("verb", e.Verb), attribute.String("outcome", e.Outcome)))
}

var _ activities.Metrics = (*Metrics)(nil)

// ObserveAsyncWaits reads inFlight at each scrape, as the gauge
// MetricAsyncWaits: activities.AsyncWaitsObserver.
func (m *Metrics) ObserveAsyncWaits(inFlight func() int) {
	_, err := m.provider.Meter(meterName).Int64ObservableGauge(MetricAsyncWaits,
		metric.WithDescription("Waits for cloud operations the worker runs asynchronously now, off its activity slots."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(int64(inFlight()))
			return nil
		}))
	if err != nil {
		m.onError(fmt.Errorf("metrics: %s: %w", MetricAsyncWaits, err))
	}
}

var _ activities.AsyncWaitsObserver = (*Metrics)(nil)

// Shutdown stops the meter provider.
func (m *Metrics) Shutdown(ctx context.Context) error { return m.provider.Shutdown(ctx) }
