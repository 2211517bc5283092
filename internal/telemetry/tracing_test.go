package telemetry

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

func TestTracingConfigured(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "TRUE"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "false"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, false},
		{map[string]string{"OTEL_SERVICE_NAME": "x"}, false},
	} {
		if got := TracingConfigured(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("TracingConfigured(%v) = %v, want %v", tt.env, got, tt.want)
		}
	}
}

func TestStartTracingIsOffWithoutAnEndpoint(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	tr, err := StartTracing(context.Background(), nil, nil)
	if err != nil || tr.Enabled() {
		t.Fatalf("StartTracing = %v, %v; want it off", tr, err)
	}
	if ics, err := tr.Interceptors(); err != nil || ics != nil {
		t.Errorf("Interceptors = %v, %v; want none", ics, err)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestStartTracingRefusesAnUnknownProtocol(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	if _, err := StartTracing(context.Background(), nil, nil); err == nil {
		t.Fatal("http/json accepted")
	}
}

func TestResourceServiceName(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
	res, err := Resource(context.Background(), ServiceCLI)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := res.Set().Value("service.name"); v.AsString() != ServiceCLI {
		t.Errorf("service.name = %q", v.AsString())
	}
	if v, _ := res.Set().Value(attribute.Key("deployment.environment")); v.AsString() != "test" {
		t.Errorf("OTEL_RESOURCE_ATTRIBUTES ignored: %v", res)
	}
	t.Setenv("OTEL_SERVICE_NAME", "fleet-worker-eu")
	res, err = Resource(context.Background(), ServiceWorker)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := res.Set().Value("service.name"); v.AsString() != "fleet-worker-eu" {
		t.Errorf("OTEL_SERVICE_NAME did not override: service.name = %q", v.AsString())
	}
}

// The tracing interceptor makes spans for a workflow and its activities, in
// one trace.
func TestTracingSpansAWorkflowAndItsActivities(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	res, err := Resource(context.Background(), ServiceWorker)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTracing(exp, res)
	defer tr.Shutdown(context.Background())
	ics, err := tr.Interceptors()
	if err != nil || len(ics) != 1 {
		t.Fatalf("Interceptors = %v, %v", ics, err)
	}
	wi, ok := ics[0].(interceptor.WorkerInterceptor)
	if !ok {
		t.Fatal("the tracing interceptor does not intercept workers")
	}

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{wi}})
	env.RegisterActivityWithOptions(func(ctx context.Context, name string) (string, error) { return "disk-" + name, nil },
		activity.RegisterOptions{Name: "CrusoeCreateDisk"})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		return workflow.ExecuteActivity(ctx, "CrusoeCreateDisk", "data").Get(ctx, nil)
	}, workflow.RegisterOptions{Name: "ProvisionVM"})
	env.ExecuteWorkflow("ProvisionVM")
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}

	var names []string
	traces := map[string]bool{}
	for _, sp := range exp.GetSpans() {
		names = append(names, sp.Name)
		traces[sp.SpanContext.TraceID().String()] = true
		if v, _ := sp.Resource.Set().Value("service.name"); v.AsString() != ServiceWorker {
			t.Errorf("span %s: service.name %q", sp.Name, v.AsString())
		}
	}
	for _, want := range []string{"RunWorkflow:ProvisionVM", "StartActivity:CrusoeCreateDisk", "RunActivity:CrusoeCreateDisk"} {
		if !slices.Contains(names, want) {
			t.Errorf("no span %q among %v", want, names)
		}
	}
	if len(traces) != 1 {
		t.Errorf("spans in %d traces, want one: %v", len(traces), names)
	}
}
