package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/proto"

	"github.com/cloudflow/cloudflow/cloudsim"
)

// syncBuffer is a process's output, read while the process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// observedWorker is `cloudflow worker --metrics-listen 127.0.0.1:0 --log-format json`
// with more flags and environment, and the address it serves metrics on.
type observedWorker struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	addr string
	done chan error
}

func startObservedWorker(t *testing.T, taskQueue string, env []string, flags ...string) *observedWorker {
	t.Helper()
	args := append([]string{"worker", "--task-queue", taskQueue, "--metrics-listen", "127.0.0.1:0", "--log-format", "json"}, flags...)
	w := &observedWorker{cmd: exec.Command(cliBinary, args...), out: &syncBuffer{}, done: make(chan error, 1)}
	w.cmd.Env = append(append(os.Environ(), crusoeEnv()...), env...)
	w.cmd.Stdout, w.cmd.Stderr = w.out, w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		<-w.done
		w.done <- nil
		if t.Failed() {
			t.Logf("worker output:\n%s", w.out.String())
		}
	})
	// The bound address is in the log record that says it serves.
	waitFor(t, 30*time.Second, "the worker to log its metrics address", func() bool {
		for _, rec := range jsonRecords(t, w.out.String()) {
			if addr, ok := rec["addr"].(string); ok && strings.HasPrefix(rec["msg"].(string), "serving /metrics") {
				w.addr = addr
				return true
			}
		}
		return false
	})
	waitFor(t, 30*time.Second, "/readyz to answer 200", func() bool {
		code, _ := w.get(t, "/readyz")
		return code == http.StatusOK
	})
	return w
}

func (w *observedWorker) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + w.addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// metrics scrapes /metrics into its families.
func (w *observedWorker) metrics(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := w.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body + "\n"))
	if err != nil {
		t.Fatalf("/metrics is not the Prometheus text format: %v", err)
	}
	return fams
}

// jsonRecords parses every line of a JSON log; a line that is not a JSON
// object fails the test.
func jsonRecords(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["msg"] == nil || rec["level"] == nil {
			t.Errorf("a log line that is not a JSON record: %q", line)
			continue
		}
		recs = append(recs, rec)
	}
	return recs
}

// series finds the series of family name whose labels include want, and
// returns its value (a counter's, or a histogram's count); ok is false when
// there is none.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// otlpReceiver collects the spans sent to it over OTLP/HTTP (protobuf).
type otlpReceiver struct {
	mu    sync.Mutex
	spans []receivedSpan
}

type receivedSpan struct {
	service, name, traceID string
}

func startOTLPReceiver(t *testing.T) (*otlpReceiver, string) {
	r := &otlpReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var ex coltracepb.ExportTraceServiceRequest
		if req.URL.Path != "/v1/traces" || proto.Unmarshal(body, &ex) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rs := range ex.GetResourceSpans() {
			service := ""
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					service = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, sp := range ss.GetSpans() {
					r.spans = append(r.spans, receivedSpan{service: service, name: sp.GetName(), traceID: string(sp.GetTraceId())})
				}
			}
		}
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return r, srv.URL
}

// find returns the spans of service named name.
func (r *otlpReceiver) find(service, name string) []receivedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []receivedSpan
	for _, s := range r.spans {
		if s.service == service && s.name == name {
			out = append(out, s)
		}
	}
	return out
}

// The acceptance test of an observable worker: after a provision through
// the CLI, /metrics holds the SDK's workflow and activity metrics and
// cloudflow's API-call and poll metrics with their labels; the worker and
// the CLI exported their spans over OTLP, in one trace; the worker's logs
// are JSON records at the level asked, and show no credential.
func TestObservableWorker(t *testing.T) {
	tq := fresh(t)
	receiver, otlpURL := startOTLPReceiver(t)
	otelEnv := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlpURL, "OTEL_BSP_SCHEDULE_DELAY=100"}
	w := startObservedWorker(t, tq, otelEnv, "--log-level", "debug")
	if code, body := w.get(t, "/healthz"); code != http.StatusOK || body != "ok" {
		t.Fatalf("/healthz = %d %q", code, body)
	}

	name := "obs-vm"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cliBinary, "vm", "provision", "-f", writeSpec(t, name), "--wait", "--task-queue", tq)
	cmd.Env = append(append(os.Environ(), crusoeEnv()...), otelEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("provision: %v\n%s", err, out)
	}
	// And one whose firewall rule fails: the saga undoes the rest.
	if _, err := admin.AddFault(ctx, cloudsim.Fault{Cloud: "crusoe", Method: "POST", Path: "/v1alpha5/projects/*/networking/vpc-firewall-rules",
		Action: "fail-operation", Code: "QUOTA_EXCEEDED", Message: "no more rules"}); err != nil {
		t.Fatal(err)
	}
	cmd = exec.CommandContext(ctx, cliBinary, "vm", "provision", "-f", writeSpec(t, name+"-2"), "--wait", "--task-queue", tq)
	cmd.Env = append(os.Environ(), crusoeEnv()...)
	if out, err := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("a provision whose rule fails: %v\n%s", err, out)
	}

	// The SDK's metrics, through its OpenTelemetry handler.
	fams := w.metrics(t)
	for _, s := range []struct {
		name   string
		labels map[string]string
	}{
		{"temporal_workflow_completed_total", map[string]string{"workflow_type": "ProvisionVM", "task_queue": tq, "namespace": "default"}},
		{"temporal_workflow_endtoend_latency_seconds", map[string]string{"workflow_type": "ProvisionVM"}},
		{"temporal_activity_execution_latency_seconds", map[string]string{"activity_type": "CrusoeCreateVM", "task_queue": tq}},
		{"temporal_activity_execution_latency_seconds", map[string]string{"activity_type": "CrusoeWait", "workflow_type": "ProvisionVM"}},
		// cloudflow's: API calls by cloud, verb (the route, not the IDs) and status.
		{"cloudflow_api_calls_total", map[string]string{"cloud": "crusoe", "verb": "POST /projects/{project_id}/compute/vms/instances", "status": "200"}},
		// The waits' shared polls: one list of a family's operations.
		{"cloudflow_api_calls_total", map[string]string{"cloud": "crusoe", "verb": "GET /projects/{project_id}/storage/disks/operations", "status": "200"}},
		{"cloudflow_api_call_duration_seconds", map[string]string{"cloud": "crusoe", "verb": "POST /projects/{project_id}/storage/disks"}},
		// Polls per operation and operation durations, from the waits.
		{"cloudflow_operation_polls", map[string]string{"cloud": "crusoe", "kind": "vm"}},
		{"cloudflow_operation_polls", map[string]string{"cloud": "crusoe", "kind": "disk"}},
		{"cloudflow_operation_duration_seconds", map[string]string{"cloud": "crusoe", "kind": "vm", "verb": "create", "outcome": "succeeded"}},
		{"cloudflow_operation_duration_seconds", map[string]string{"cloud": "crusoe", "kind": "firewall-rule", "verb": "create", "outcome": "succeeded"}},
		{"cloudflow_operation_duration_seconds", map[string]string{"cloud": "crusoe", "kind": "firewall-rule", "verb": "create", "outcome": "failed"}},
		{"cloudflow_operation_duration_seconds", map[string]string{"cloud": "crusoe", "kind": "vm", "verb": "delete", "outcome": "succeeded"}},
		// The saga's counter, through the SDK's workflow metrics handler.
		{"cloudflow_compensations_total", map[string]string{"workflow_type": "ProvisionVM", "task_queue": tq}},
	} {
		if v, ok := series(fams, s.name, s.labels); !ok || v < 1 {
			t.Errorf("no %s%v (found %v, %v)", s.name, s.labels, v, ok)
		}
	}
	// Every run has ended: no wait runs off the activity slots any more.
	if v, ok := series(fams, "cloudflow_async_waits", nil); !ok || v != 0 {
		t.Errorf("cloudflow_async_waits = %v (present %v) with no run going, want 0", v, ok)
	}
	// Each wait is recorded once: two runs created two disks each, and the
	// second deleted its two again.
	for verb, want := range map[string]float64{"create": 4, "delete": 2} {
		if v, _ := series(fams, "cloudflow_operation_duration_seconds", map[string]string{"kind": "disk", "verb": verb}); v != want {
			t.Errorf("%v disk %s operations recorded, want %v", v, verb, want)
		}
	}
	if v, _ := series(fams, "cloudflow_operation_polls", map[string]string{"cloud": "crusoe", "kind": "disk"}); v != 6 {
		t.Errorf("polls recorded for %v disk operations, want 6", v)
	}
	_, body := w.get(t, "/metrics")
	if v, _ := series(fams, "cloudflow_compensations_total", map[string]string{"workflow_type": "ProvisionVM"}); v != 1 {
		t.Errorf("%v compensations counted, want 1", v)
	}
	for _, id := range []string{cloudsim.DefaultCrusoeProjectID, name} {
		if strings.Contains(body, id) {
			t.Errorf("a metric label holds %q: IDs and names make a series per resource", id)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}

	// Traces: the CLI's apply to the VM's stack (an update-with-start) and
	// the worker's runs of the stack's children and their activities, in
	// one trace.
	waitFor(t, 30*time.Second, "the spans of the worker and the CLI", func() bool {
		return len(receiver.find("cloudflow-cli", "UpdateWithStartWorkflow:apply")) > 0 &&
			len(receiver.find("cloudflow-worker", "RunWorkflow:ProvisionVM")) > 0 &&
			len(receiver.find("cloudflow-worker", "RunActivity:CrusoeWait")) > 0
	})
	trace := receiver.find("cloudflow-cli", "UpdateWithStartWorkflow:apply")[0].traceID
	for _, want := range []struct{ service, name string }{
		{"cloudflow-worker", "HandleUpdate:apply"},
		{"cloudflow-worker", "RunWorkflow:ApplyStack"},
		{"cloudflow-worker", "RunWorkflow:ProvisionVM"},
		{"cloudflow-worker", "StartActivity:CrusoeCreateDisk"},
		{"cloudflow-worker", "RunActivity:CrusoeCreateDisk"},
		{"cloudflow-worker", "RunActivity:CrusoeCreateVM"},
	} {
		spans := receiver.find(want.service, want.name)
		if !slices.ContainsFunc(spans, func(s receivedSpan) bool { return s.traceID == trace }) {
			t.Errorf("no %s span %q in the CLI's trace (%d in others)", want.service, want.name, len(spans))
		}
	}

	// Logs: JSON records, debug ones included, and never a credential.
	recs := jsonRecords(t, w.out.String())
	if !slices.ContainsFunc(recs, func(r map[string]any) bool { return r["level"] == "DEBUG" }) {
		t.Error("no DEBUG record at --log-level debug")
	}
	out := w.out.String()
	for _, secret := range []string{cloudsim.DefaultCrusoeSecretKey, cloudsim.DefaultKraftCloudToken, cloudsim.DefaultCloudMCAPIKey} {
		if strings.Contains(out, secret) {
			t.Errorf("the worker's output shows a credential")
		}
	}
}

// SIGTERM while an activity runs: /readyz turns 503 at once while /healthz
// stays 200, the activity finishes on this worker within --shutdown-timeout
// (its first attempt completes: no retry elsewhere), and the worker exits 0.
func TestWorkerStopsGracefullyOnSIGTERM(t *testing.T) {
	tq := fresh(t)
	ctx := context.Background()
	if err := admin.SetOperationLatency(ctx, "crusoe", 4*time.Second); err != nil {
		t.Fatal(err)
	}
	w := startObservedWorker(t, tq, nil, "--shutdown-timeout", "60s")
	c := dial(t)
	run, err := newStarter(t, c, tq).ProvisionVM(ctx, input("graceful"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), run.WorkflowID, "", "test over") })

	var waiting string // the activity ID of a CrusoeWait that runs
	waitFor(t, 60*time.Second, "a CrusoeWait to run", func() bool {
		d, err := c.DescribeWorkflowExecution(ctx, run.WorkflowID, run.RunID)
		if err != nil {
			return false
		}
		for _, pa := range d.GetPendingActivities() {
			if pa.GetActivityType().GetName() == "CrusoeWait" && pa.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
				waiting = pa.GetActivityId()
				return true
			}
		}
		return false
	})
	// The wait runs off the activity slots, and the worker's gauge counts it.
	if v, ok := series(w.metrics(t), "cloudflow_async_waits", nil); !ok || v < 1 {
		t.Errorf("cloudflow_async_waits = %v (present %v) while a CrusoeWait runs, want at least 1", v, ok)
	}
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "/readyz to say stopping", func() bool {
		code, body := w.get(t, "/readyz")
		return code == http.StatusServiceUnavailable && body == "stopping"
	})
	if code, _ := w.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d while the worker stops", code)
	}

	select {
	case err := <-w.done:
		w.done <- err
		if err != nil {
			t.Fatalf("the worker exited with %v", err)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("the worker did not exit after its activity finished")
	}

	// The history: the wait that ran at SIGTERM completed, in its first
	// attempt, on the worker that was stopping.
	var scheduled int64
	var started *historypb.ActivityTaskStartedEventAttributes
	completed := false
	it := c.GetWorkflowHistory(ctx, run.WorkflowID, run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ev.GetActivityTaskScheduledEventAttributes().GetActivityId() == waiting:
			scheduled = ev.GetEventId()
		case scheduled != 0 && ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId() == scheduled:
			started = ev.GetActivityTaskStartedEventAttributes()
		case scheduled != 0 && ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId() == scheduled:
			completed = true
		}
	}
	if started == nil || !completed {
		t.Fatalf("activity %s: started %v, completed %v: it did not finish on the stopping worker", waiting, started, completed)
	}
	if started.GetAttempt() != 1 {
		t.Errorf("activity %s completed in attempt %d: it was cut off and retried", waiting, started.GetAttempt())
	}
	if !strings.Contains(w.out.String(), `"msg":"worker stopped"`) {
		t.Error("the worker did not log that it stopped")
	}
}
