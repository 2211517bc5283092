package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// Service names, unless OTEL_SERVICE_NAME says otherwise.
const (
	ServiceWorker = "cloudflow-worker"
	ServiceCLI    = "cloudflow-cli"
)

// Resource describes this process to OpenTelemetry: service.name is service
// unless OTEL_SERVICE_NAME (or service.name in OTEL_RESOURCE_ATTRIBUTES)
// names another, with the attributes of OTEL_RESOURCE_ATTRIBUTES.
func Resource(ctx context.Context, service string) (*resource.Resource, error) {
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithFromEnv(), // after the default, so that the environment wins
	)
	if err != nil {
		return nil, fmt.Errorf("opentelemetry resource: %w", err)
	}
	return res, nil
}

// TracingConfigured says whether the environment asks for traces: an OTLP
// endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and neither OTEL_SDK_DISABLED=true
// nor OTEL_TRACES_EXPORTER=none turns them off.
func TracingConfigured(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") ||
		strings.EqualFold(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")), "none") {
		return false
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Tracing exports a process's spans over OTLP, when the environment asks
// for it (TracingConfigured); otherwise it does nothing.
type Tracing struct {
	provider *sdktrace.TracerProvider
}

// StartTracing sets up the export of spans for the process res describes,
// when the environment asks for it. The OTLP exporter reads the standard
// variables (endpoint, headers, TLS, timeout); OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
// or OTEL_EXPORTER_OTLP_PROTOCOL picks "http/protobuf" (the default) or
// "grpc". Export errors are logged to logger.
func StartTracing(ctx context.Context, res *resource.Resource, logger *slog.Logger) (*Tracing, error) {
	if !TracingConfigured(os.Getenv) {
		return &Tracing{}, nil
	}
	protocol := firstSet(os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL"), "http/protobuf")
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("OTLP protocol %q: want http/protobuf or grpc", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	if logger != nil {
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			logger.Warn("opentelemetry: "+err.Error(), "component", "otel")
		}))
	}
	// The batch processor reads OTEL_BSP_* (schedule delay, queue size...).
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	return &Tracing{provider: tp}, nil
}

// NewTracing exports spans through exp, for tests (an in-memory exporter).
func NewTracing(exp sdktrace.SpanExporter, res *resource.Resource) *Tracing {
	return &Tracing{provider: sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))}
}

// Enabled says whether spans are exported.
func (t *Tracing) Enabled() bool { return t != nil && t.provider != nil }

// Interceptors are the Temporal client interceptors that trace: the SDK's
// OpenTelemetry interceptor, which makes spans for starting, running and
// signalling workflows and activities and carries the trace across them in
// headers. None when tracing is off.
func (t *Tracing) Interceptors() ([]interceptor.ClientInterceptor, error) {
	if !t.Enabled() {
		return nil, nil
	}
	i, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer: t.provider.Tracer("github.com/cloudflow/cloudflow"),
	})
	if err != nil {
		return nil, fmt.Errorf("tracing interceptor: %w", err)
	}
	return []interceptor.ClientInterceptor{i}, nil
}

// Shutdown exports the spans still buffered, until ctx ends.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	err := t.provider.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("traces not all exported: %w", err)
	}
	return err
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}
