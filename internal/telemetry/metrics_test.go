package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/apicall"
)

// scrape returns what /metrics serves.
func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, "\n"+l) {
			t.Errorf("metrics lack %q", l)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", text)
	}
}

func TestMetricsAreScrapedWithTheirLabels(t *testing.T) {
	res, err := Resource(context.Background(), ServiceWorker)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMetrics(res, func(err error) { t.Errorf("instrument error: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())

	const verb = "GET /projects/{project_id}/compute/vms/instances/operations/{operation_id}"
	m.APICall(apicall.Call{Cloud: "crusoe", Verb: verb, Status: 200, Duration: 20 * time.Millisecond})
	m.APICall(apicall.Call{Cloud: "crusoe", Verb: verb, Status: 200, Duration: 30 * time.Millisecond})
	m.APICall(apicall.Call{Cloud: "crusoe", Verb: verb, Status: 0, Duration: time.Second})
	m.WaitEnded(activities.WaitEnd{Cloud: "crusoe", Kind: "vm", Verb: "create", Outcome: activities.WaitSucceeded, Polls: 4, Duration: 3 * time.Second})
	// The SDK's handler and a workflow's counter go to the same registry.
	m.SDKHandler().WithTags(map[string]string{"workflow_type": "ProvisionVM"}).Counter(MetricCompensations).Inc(1)
	m.SDKHandler().Timer("temporal_activity_execution_latency").Record(1500 * time.Millisecond)

	got := scrape(t, m.Handler())
	wantLines(t, got,
		`cloudflow_api_calls_total{cloud="crusoe",status="200",verb="`+verb+`"} 2`,
		`cloudflow_api_calls_total{cloud="crusoe",status="error",verb="`+verb+`"} 1`,
		`cloudflow_api_call_duration_seconds_count{cloud="crusoe",verb="`+verb+`"} 3`,
		`cloudflow_operation_polls_bucket{cloud="crusoe",kind="vm",le="3"} 0`,
		`cloudflow_operation_polls_bucket{cloud="crusoe",kind="vm",le="5"} 1`,
		`cloudflow_operation_polls_sum{cloud="crusoe",kind="vm"} 4`,
		`cloudflow_operation_duration_seconds_bucket{cloud="crusoe",kind="vm",outcome="succeeded",verb="create",le="5"} 1`,
		`cloudflow_compensations_total{workflow_type="ProvisionVM"} 1`,
		// The SDK's timers get buckets in seconds, not the default 0-10000.
		`temporal_activity_execution_latency_seconds_bucket{le="2.5"} 1`,
		`go_goroutines `,
	)
	if !strings.Contains(got, `service_name="cloudflow-worker"`) {
		t.Errorf("target_info does not name the service:\n%s", got)
	}
}

// The async waits' gauge is read at each scrape.
func TestAsyncWaitsGauge(t *testing.T) {
	m, err := NewMetrics(nil, func(err error) { t.Errorf("instrument error: %v", err) })
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(context.Background())
	n := 3
	m.ObserveAsyncWaits(func() int { return n })
	wantLines(t, scrape(t, m.Handler()), MetricAsyncWaits+" 3")
	n = 0
	wantLines(t, scrape(t, m.Handler()), MetricAsyncWaits+" 0")
}
