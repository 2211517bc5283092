package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// kraftLatency is how long a simulated KraftCloud instance takes to start or stop.
const kraftLatency = 200 * time.Millisecond

// seedInstances creates n stopped KraftCloud instances named prefix-1..n
// with `cloudflow sim seed`, which goes through the simulator's API.
func seedInstances(t testing.TB, prefix string, n int) []string {
	t.Helper()
	return seedInstancesAt(t, sim.URL, prefix, n)
}

// seedInstancesAt is seedInstances in the simulator at simURL.
func seedInstancesAt(t testing.TB, simURL, prefix string, n int) []string {
	t.Helper()
	out, errOut, code := cli(t, "sim", "seed", "--endpoint", simURL, "--kraftcloud-instances", fmt.Sprint(n), "--prefix", prefix)
	if code != 0 {
		t.Fatalf("sim seed: exit %d\n%s\n%s", code, out, errOut)
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%d", prefix, i+1)
	}
	return names
}

// instanceStates reads every simulated KraftCloud instance's state by name.
func instanceStates(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, raw := range inventory(t)["kraftcloud"]["instances"] {
		var it struct{ Name, State string }
		if err := json.Unmarshal(raw, &it); err != nil {
			t.Fatal(err)
		}
		out[it.Name] = it.State
	}
	return out
}

func counters(t testing.TB, cloud, kind string) map[string]int {
	t.Helper()
	all, err := admin.Counters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return all[cloud][kind]
}

// requireStartedOnce checks, from the simulator's own counts, that every
// instance named was started exactly once and that every instance runs.
func requireStartedOnce(t *testing.T, names []string) {
	t.Helper()
	started := counters(t, "kraftcloud", "instance-starts")
	for _, n := range names {
		if started[n] != 1 {
			t.Errorf("%s started %d times, want exactly once", n, started[n])
		}
	}
	for n, st := range instanceStates(t) {
		if st != kraftcloud.StateRunning {
			t.Errorf("%s is %s, want running", n, st)
		}
	}
}

// startKraftFleet gives the test a fresh simulator whose KraftCloud
// instances take latency to start or stop, a worker in this process, and n
// stopped instances prefix-1..n, and starts a fleet over them (in with its
// provider and instances filled in).
func startKraftFleet(t *testing.T, c client.Client, latency time.Duration, prefix string, n int, in workflows.FleetInput) ([]string, *starter.Starter, starter.Run) {
	t.Helper()
	tq := fresh(t)
	if err := admin.SetOperationLatency(context.Background(), "kraftcloud", latency); err != nil {
		t.Fatal(err)
	}
	startWorker(t, c, tq)
	names := seedInstances(t, prefix, n)
	s := starter.New(c, tq)
	in.Provider, in.Instances = workflows.ProviderKraftCloud, names
	run, err := s.StartInstances(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return names, s, run
}

// cliFleet runs a fleet command with --json, which must exit with code, and
// returns the FleetResult it printed.
func cliFleet(t *testing.T, code int, args ...string) workflows.FleetResult {
	t.Helper()
	out, errOut, got := cli(t, args...)
	if got != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", got, code, out, errOut)
	}
	var res workflows.FleetResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("decode result: %v\n%s", err, out)
	}
	return res
}

// fleetResult waits up to timeout for a fleet to end and returns its
// result; a fleet that fails fails the test.
func fleetResult(t testing.TB, s *starter.Starter, workflowID string, timeout time.Duration) workflows.FleetResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var res workflows.FleetResult
	if err := s.Result(ctx, workflowID, "", &res); err != nil {
		t.Fatalf("fleet: %v (failed: %+v)", err, res.Failed)
	}
	return res
}

// answered counts the simulator's answers with status to method and a path
// suffix.
func answered(t testing.TB, method, pathSuffix string, status int) int {
	t.Helper()
	n := 0
	for _, r := range requests(t, method, pathSuffix) {
		if r.Status == status {
			n++
		}
	}
	return n
}

func writeLines(t testing.TB, lines []string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fleet.txt")
	if err := os.WriteFile(p, []byte("# fleet\n"+strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runEvents counts the history events of every run of a workflow ID.
func runEvents(t testing.TB, c client.Client, workflowID string) map[string]int {
	t.Helper()
	ctx := context.Background()
	resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = '%s'", workflowID), PageSize: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range resp.GetExecutions() {
		it := c.GetWorkflowHistory(ctx, workflowID, e.GetExecution().GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		n := 0
		for it.HasNext() {
			if _, err := it.Next(); err != nil {
				t.Fatal(err)
			}
			n++
		}
		out[e.GetExecution().GetRunId()] = n
	}
	return out
}

// A thousand instances started by one workflow from the CLI, in no more
// batch calls than the chunks they make, each started exactly once.
func TestFleetStartsAThousandKraftCloudInstances(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	names := seedInstances(t, "web", 1000)
	file := writeLines(t, names)

	res := cliFleet(t, 0, "instances", "start", "--provider", "kraftcloud", "--file", file,
		"--chunk-size", "100", "--task-queue", tq, "--wait", "--json")
	if len(res.Succeeded) != 1000 || len(res.Failed) != 0 || res.Total != 1000 {
		t.Fatalf("want 1000 started, got %d started, %d failed of %d", len(res.Succeeded), len(res.Failed), res.Total)
	}
	// A fleet this large is indexed by its first names, within the server's limit.
	if out, errOut, code := cli(t, "--task-queue", tq, "runs", "list", "--provider", "kraftcloud", "--name", "web-1", "--json"); code != 0 || !strings.Contains(out, "kraftcloud-fleet-web-1-and-999-more") {
		t.Errorf("runs list --name web-1: exit %d\n%s\n%s", code, out, errOut)
	}
	if starts := requests(t, "PUT", "/v1/instances/start"); len(starts) > 10 {
		t.Fatalf("%d start calls for 1000 instances in chunks of 100; want at most 10", len(starts))
	}
	requireStartedOnce(t, names)
}

// Unknown names and instances already running are reported by name and
// code; every other instance runs; the exit code is 1.
func TestFleetPartialSuccessIsReported(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	names := seedInstances(t, "api", 12)
	kc := kraftClient(t)
	if _, err := kc.Instances.Start(context.Background(), []kraftcloud.StartRequest{{Ref: kraftcloud.ByName("api-3")}, {Ref: kraftcloud.ByName("api-7")}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "api-3 and api-7 to run", func() bool {
		st := instanceStates(t)
		return st["api-3"] == kraftcloud.StateRunning && st["api-7"] == kraftcloud.StateRunning
	})
	list := append(append([]string{}, names...), "api-404", "ghost", "api-5")
	out, errOut, code := cli(t, "instances", "start", "--provider", "kraftcloud", "--names", strings.Join(list, ","),
		"--chunk-size", "5", "--task-queue", tq, "--wait")
	t.Logf("cloudflow instances start:\n%s", out)
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"10 of 15 instances started, 4 failed, 1 skipped",
		"api-404", "No instance", "ghost",
		"api-3", "api-7", "already running",
		"api-5", "DUPLICATE",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "api-404" || f[0] == "ghost") && f[1] != "8" {
			t.Errorf("unknown instance reported without the API's code 8: %q", line)
		}
		if len(f) >= 2 && (f[0] == "api-3" || f[0] == "api-7") && f[1] != "9" {
			t.Errorf("running instance reported without the simulator's code 9: %q", line)
		}
	}
	for n, st := range instanceStates(t) {
		if st != kraftcloud.StateRunning {
			t.Errorf("%s is %s, want running", n, st)
		}
	}
	id := starter.FleetWorkflowID(workflows.FleetInput{Provider: workflows.ProviderKraftCloud, Instances: list})
	hist, err := exec.Command(temporalCL, "workflow", "show", "--address", temporal.Address(), "-w", id, "--output", "json").CombinedOutput()
	if err != nil {
		t.Fatalf("workflow show: %v\n%s", err, hist)
	}
	if text := historyText(t, hist); !strings.Contains(text, "api-404") || strings.Contains(text, cloudsim.DefaultKraftCloudToken) {
		t.Errorf("the decoded history should name the instances and never the KraftCloud token")
	}
	saveHistory(t, id, "kraftcloud-fleet-start-partial")
	started := counters(t, "kraftcloud", "instance-starts")
	if started["api-5"] != 1 || started["api-3"] != 1 {
		t.Errorf("starts: api-5 %d (listed twice), api-3 %d (started before); want 1 each", started["api-5"], started["api-3"])
	}
}

// A worker killed in the middle of a fleet: a new worker finishes it, and
// every instance is started exactly once.
func TestFleetSurvivesAKilledWorker(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	if err := admin.SetOperationLatency(context.Background(), "kraftcloud", 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	names := seedInstances(t, "job", 600)
	w1 := startWorkerProcess(t, c, tq)
	s := starter.New(c, tq)
	run, err := s.StartInstances(context.Background(), workflows.FleetInput{
		Provider: workflows.ProviderKraftCloud, Instances: names, ChunkSize: 50, Concurrency: 2,
		Timeouts: workflows.Timeouts{Heartbeat: 2 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Kill it while batch calls are in flight, with some done and most not.
	waitFor(t, 60*time.Second, "a few batch calls", func() bool {
		return len(requests(t, "PUT", "/v1/instances/start")) >= 3
	})
	kill(t, w1)
	before := len(requests(t, "PUT", "/v1/instances/start"))
	startWorkerProcess(t, c, tq)

	res := fleetResult(t, s, run.WorkflowID, 3*time.Minute)
	if len(res.Succeeded) != 600 {
		t.Fatalf("%d started, want 600; failed: %+v", len(res.Succeeded), res.Failed)
	}
	saveHistory(t, run.WorkflowID, "kraftcloud-fleet-start-worker-killed")
	if before >= 12 {
		t.Fatalf("the worker was killed after %d of 12 batch calls: too late to prove anything", before)
	}
	requireStartedOnce(t, names)
}

// Ten thousand instances: the fleet completes, in several runs
// (continue-as-new), none with more than 10,000 history events. Instances
// take 300 ms to start, so that runs get a second old (a younger one goes
// on rather than continue as new).
func TestFleetOfTenThousand(t *testing.T) {
	c := dial(t)
	_, s, run := startKraftFleet(t, c, 300*time.Millisecond, "n", 10000, workflows.FleetInput{ChunkSize: 250, Concurrency: 4, ItemsPerRun: 2000})
	res := fleetResult(t, s, run.WorkflowID, 5*time.Minute)
	if len(res.Succeeded) != 10000 || res.Runs < 2 {
		t.Fatalf("%d started in %d runs; want 10000 in several runs", len(res.Succeeded), res.Runs)
	}
	events := runEvents(t, c, run.WorkflowID)
	if len(events) != res.Runs {
		t.Fatalf("found %d runs in visibility, the result says %d", len(events), res.Runs)
	}
	for id, n := range events {
		t.Logf("run %s: %d events", id, n)
		if n > 10000 {
			t.Errorf("run %s has %d history events, more than 10,000", id, n)
		}
	}
	if starts := len(counters(t, "kraftcloud", "instance-starts")); starts != 10000 {
		t.Errorf("%d distinct instances started, want 10000", starts)
	}
}

// A batch in which every item fails is answered outside 2xx; each instance
// is still reported with its own code and message, never the first item's.
func TestFleetAllFailedBatchReportsEachItem(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	seedInstances(t, "web", 3)
	kc := kraftClient(t)
	if _, err := kc.Instances.Start(context.Background(), []kraftcloud.StartRequest{{Ref: kraftcloud.ByName("web-1")}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "web-1 to run", func() bool { return instanceStates(t)["web-1"] == kraftcloud.StateRunning })

	// The first chunk, web-ghost and web-1, fails as a whole.
	res := cliFleet(t, 1, "instances", "start", "--provider", "kraftcloud", "--names", "web-ghost,web-1,web-2,web-3",
		"--chunk-size", "2", "--task-queue", tq, "--wait", "--json")
	failed := map[string]workflows.FleetItem{}
	for _, it := range res.Failed {
		failed[it.Ref] = it
	}
	if it := failed["web-ghost"]; it.Code != "8" || it.Message != "No instance with name 'web-ghost'" {
		t.Errorf("web-ghost reported as %+v", it)
	}
	if it := failed["web-1"]; it.Code != "9" || it.Message != "Instance 'web-1' is already running" {
		t.Errorf("web-1 reported as %+v, want its own code 9, already running", it)
	}
	if len(res.Failed) != 2 || len(res.Succeeded) != 2 {
		t.Errorf("want web-2 and web-3 started, 2 failed: %+v", res)
	}
	if allFailed := answered(t, "PUT", "/v1/instances/start", http.StatusBadRequest); allFailed != 1 {
		t.Errorf("%d start calls answered 400, want 1 (the chunk in which every item failed)", allFailed)
	}
}

// Instances slower than every server-side wait (the start call's and each
// wait call's, which then time out for all of them at once): the fleet keeps
// waiting within its wait timeout, and every instance ends started, once.
func TestFleetWaitsOutSlowInstances(t *testing.T) {
	c := dial(t)
	// The start call waits up to 4 s, then the wait calls 1 s each (half
	// the heartbeat), for up to 4 s more: no single wait sees them run.
	names, s, run := startKraftFleet(t, c, 6*time.Second, "slow", 40, workflows.FleetInput{ChunkSize: 20, Concurrency: 2,
		WaitTimeout: 4 * time.Second, Timeouts: workflows.Timeouts{Heartbeat: 2 * time.Second}})
	res := fleetResult(t, s, run.WorkflowID, time.Minute)
	if len(res.Succeeded) != len(names) {
		t.Fatalf("%d started, want %d; failed: %+v", len(res.Succeeded), len(names), res.Failed)
	}
	requireStartedOnce(t, names)
	if answered(t, "GET", "/v1/instances/wait", http.StatusBadRequest) == 0 {
		t.Error("no wait call timed out for every instance: the test proves nothing")
	}
	saveHistory(t, run.WorkflowID, "kraftcloud-fleet-start-slow")
}
