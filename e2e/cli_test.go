package e2e

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// startRun starts a fleet run without waiting and returns its workflow ID;
// with idle (no worker polls tq), the start must say so.
func startRun(t *testing.T, tq string, idle bool, names ...string) string {
	t.Helper()
	out, errOut, code := cli(t, "--task-queue", tq, "instances", "start", "--provider", "kraftcloud", "--names", strings.Join(names, ","), "--json")
	if code != 0 {
		t.Fatalf("instances start: exit %d\n%s\n%s", code, out, errOut)
	}
	var run starter.Run
	if err := json.Unmarshal([]byte(out), &run); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	if warned := strings.Contains(errOut, `warning: no worker is polling task queue "`+tq+`"`); warned != idle {
		t.Errorf("a start on a task queue polled: %v, warned: %v\n%s", !idle, warned, errOut)
	}
	return run.WorkflowID
}

// showStatus is the status `runs show --json` reports, and its exit code.
func showStatus(t *testing.T, id string) (string, int) {
	t.Helper()
	out, errOut, code := cli(t, "runs", "show", id, "--json")
	var d struct {
		Run starter.RunInfo `json:"run"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("runs show %s: exit %d, %v\n%s\n%s", id, code, err, out, errOut)
	}
	return d.Run.Status, code
}

// A run on a task queue no worker polls: the start and a wait say so within
// seconds instead of waiting without a word; completion offers it; a cancel
// ends it although no worker can carry the cancellation out (none ever ran
// it: nothing to undo); terminate ends another. Unknown runs exit 6.
func TestRunWithoutWorker(t *testing.T) {
	tq := fresh(t)
	id := startRun(t, tq, true, "idle-1")
	stuck := startRun(t, tq, true, "idle-2")

	start := time.Now()
	_, errOut, code := cli(t, "--task-queue", tq, "runs", "watch", id, "--timeout", "6s")
	if code != 3 || !strings.Contains(errOut, `warning: no worker is polling task queue "`+tq+`": the run waits until one does`) ||
		!strings.Contains(errOut, "`cloudflow worker --task-queue "+tq+"`") {
		t.Errorf("runs watch: exit %d (want 3), took %s, stderr:\n%s", code, time.Since(start), errOut)
	}

	out, _, code := cli(t, "--task-queue", tq, "__complete", "runs", "cancel", "")
	if code != 0 || !strings.Contains(out, id+"\t"+workflows.StartInstancesWorkflowName+", Running") || !strings.Contains(out, stuck) {
		t.Errorf("completion of runs cancel: exit %d\n%s", code, out)
	}

	out, errOut, code = cli(t, "runs", "cancel", id)
	if code != 0 || !strings.Contains(out, "Ended "+id+": no worker polls task queue") {
		t.Errorf("runs cancel: exit %d\n%s\n%s", code, out, errOut)
	}
	if status, code := showStatus(t, id); status != "Terminated" || code != 1 {
		t.Errorf("after the cancel: %s, runs show exits %d (want Terminated, 1 as runs watch)", status, code)
	}

	out, errOut, code = cli(t, "runs", "terminate", stuck, "--reason", "e2e: stuck")
	if code != 0 || !strings.Contains(out, "Terminated "+stuck) {
		t.Errorf("runs terminate: exit %d\n%s\n%s", code, out, errOut)
	}
	if status, _ := showStatus(t, stuck); status != "Terminated" {
		t.Errorf("after terminate: %s", status)
	}
	history, err := exec.Command(temporalCL, "workflow", "show", "--address", temporal.Address(), "-w", stuck, "-o", "json").Output()
	if err != nil || !bytes.Contains(history, []byte("e2e: stuck")) {
		t.Errorf("the reason is not in the history (%v)", err)
	}

	for _, verb := range []string{"show", "watch", "cancel", "terminate"} {
		if _, errOut, code := cli(t, "runs", verb, "no-such-run"); code != 6 || !strings.Contains(errOut, "no run no-such-run") {
			t.Errorf("runs %s of an unknown run: exit %d (want 6)\n%s", verb, code, errOut)
		}
	}
}

// runs show of a fleet that failed prints the fleet's report and exits 1,
// as runs watch does.
func TestRunsShowOfAFailedFleet(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	waitFor(t, 30*time.Second, "the worker to poll "+tq, func() bool { return pollerCount(c, tq) > 0 })
	names := seedInstances(t, "shown", 1)
	id := startRun(t, tq, false, names[0], "ghost-1")
	if _, errOut, code := cli(t, "--task-queue", tq, "runs", "watch", id, "--timeout", "2m"); code != 1 {
		t.Fatalf("runs watch: exit %d (want 1)\n%s", code, errOut)
	}
	out, errOut, code := cli(t, "runs", "show", id)
	if code != 1 {
		t.Errorf("runs show: exit %d, want 1 as runs watch\n%s", code, errOut)
	}
	for _, want := range []string{"Status:", "Failed", "1 of 2 instances started, 1 failed", "ghost-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("runs show lacks %q:\n%s", want, out)
		}
	}
}

// The task queue comes from $CLOUDFLOW_TASK_QUEUE for the worker and the
// commands alike.
func TestTaskQueueFromEnvironment(t *testing.T) {
	tq := fresh(t)
	names := seedInstances(t, "envq", 2)
	env := []string{"CLOUDFLOW_TASK_QUEUE=" + tq}
	startWorkerWith(t, dial(t), tq, env) // no --task-queue
	out, errOut, code := cliWith(t, env, "instances", "start", "--provider", "kraftcloud", "--names", strings.Join(names, ","), "--wait")
	if code != 0 || !strings.Contains(out, "2 of 2 instances started") || strings.Contains(errOut, "no worker") {
		t.Errorf("instances start: exit %d\n%s\n%s", code, out, errOut)
	}
}

// `cloudflow version` of the binary as built: its Go and SDK versions.
func TestVersion(t *testing.T) {
	out, errOut, code := cli(t, "version", "--json")
	var v struct {
		Version, Commit, GoVersion, TemporalSDKVersion string
	}
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil {
		t.Fatalf("version: exit %d, %v\n%s\n%s", code, err, out, errOut)
	}
	if !strings.HasPrefix(v.GoVersion, "go1.") || !strings.HasPrefix(v.TemporalSDKVersion, "v1.51.") || v.Version == "" {
		t.Errorf("version: %+v", v)
	}
}
