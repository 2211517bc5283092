package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/cloudflow/cloudflow/clients/openvz"
	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/worker"
	"github.com/cloudflow/cloudflow/workflows"
)

// ovzLatency is how long a simulated container create job stays pending.
const ovzLatency = time.Second

// freshContainers is fresh with the container API's jobs taking latency.
func freshContainers(t *testing.T, latency time.Duration) string {
	t.Helper()
	tq := fresh(t)
	require.NoError(t, admin.SetOperationLatency(context.Background(), cloudsim.CloudOpenVZ, latency))
	return tq
}

// ovzClient talks to the simulator's container API.
func ovzClient(t testing.TB) *openvz.Client {
	t.Helper()
	c, err := openvz.New(openvz.WithBaseURL(sim.URL + "/v0.1"))
	require.NoError(t, err)
	return c
}

// startContainerWorker runs a worker with the container API only, in this
// process, until the test ends.
func startContainerWorker(t *testing.T, c client.Client, taskQueue string) {
	t.Helper()
	w, err := worker.New(c, worker.Options{TaskQueue: taskQueue, OpenVZ: ovzClient(t)})
	require.NoError(t, err)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
}

// writeContainerSpec writes a container spec for a container called name.
func writeContainerSpec(t *testing.T, name string) string {
	t.Helper()
	spec := `provider: openvz
container:
  name: ` + name + `
  ostemplate: centos-7-x86_64
  hostname: ` + name + `.example.com
  cpus: 2
  memory: 1G
  disk: 10G
  ip: 10.0.0.5
  nameservers: [1.1.1.1, 8.8.8.8]
timeouts: {operation: 1m, heartbeat: 3s}
`
	p := filepath.Join(t.TempDir(), name+".yaml")
	require.NoError(t, os.WriteFile(p, []byte(spec), 0o600))
	return p
}

// wantParameters are the parameters writeContainerSpec's spec sets.
var wantParameters = openvz.ContainerParameters{
	Hostname: "", CPUs: "2", MemSize: "1", MemSizeUnits: "G", Size: "10", SizeUnits: "G",
	IPAdd: "10.0.0.5", Nameserver: "1.1.1.1,8.8.8.8",
}

func requireNoContainers(t *testing.T) {
	t.Helper()
	require.Zero(t, inventory(t).Count(cloudsim.CloudOpenVZ, "containers"), "containers left: %v", inventory(t)[cloudsim.CloudOpenVZ])
}

// containerCLI runs `cloudflow container ...` against the dev server.
func containerCLI(t *testing.T, tq string, args ...string) (string, string, int) {
	t.Helper()
	return cli(t, append([]string{"--address", temporal.Address(), "--task-queue", tq, "container"}, args...)...)
}

// The happy path through the CLI: the container exists with its
// parameters; creating again adopts it; delete removes it, and a second
// delete is harmless.
func TestContainerCreateAndDeleteThroughTheCLI(t *testing.T) {
	tq := freshContainers(t, ovzLatency)
	c := dial(t)
	startContainerWorker(t, c, tq)
	endStack(t, c, workflows.ProviderOpenVZ, "web")
	spec := writeContainerSpec(t, "web")
	run := func(want int, args ...string) string {
		t.Helper()
		out, errOut, code := containerCLI(t, tq, args...)
		require.Equal(t, want, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		return out + errOut
	}

	var res workflows.StackOperationResult
	require.NoError(t, json.Unmarshal([]byte(run(0, "create", "-f", spec, "--wait", "--json")), &res))
	made, ok := res.State.Resource("container/web")
	require.True(t, ok, "%+v", res.State.Resources)
	require.NotEmpty(t, made.ID)
	require.Equal(t, workflows.OwnershipCreated, made.Ownership)
	require.Equal(t, "10.0.0.5", made.Outputs["ipAddress"])
	ct, err := ovzClient(t).Containers.Get(context.Background(), made.ID)
	require.NoError(t, err)
	require.Equal(t, "web", ct.Name)
	require.Equal(t, "centos-7-x86_64", ct.OSTemplate)
	want := wantParameters
	want.Hostname = "web.example.com"
	require.Equal(t, &want, ct.Parameters, "GET shows the parameters applied")
	require.Len(t, requests(t, "POST", "/v0.1/containers/"), 1)
	require.Len(t, requests(t, "PATCH", "/v0.1/containers/"+ct.ID), 1)
	saveHistory(t, res.Operation.Run+"-"+workflows.CreateContainerWorkflowName, "openvz-container-create-happy")

	// Creating again finds the stack in sync: no second create, and it says so.
	out := run(0, "create", "-f", spec, "--wait")
	require.Contains(t, out, "Stack openvz/web is in sync: nothing to do.")
	require.Len(t, requests(t, "POST", "/v0.1/containers/"), 1, "no second container was created")
	require.Equal(t, 1, inventory(t).Count(cloudsim.CloudOpenVZ, "containers"))

	out = run(0, "delete", "-f", spec, "--wait")
	require.Contains(t, out, "Destroyed stack openvz/web")
	require.Regexp(t, `- deleted\s+container/web\s+`+ct.ID, out)
	requireNoContainers(t)
	out = run(6, "delete", "-f", spec, "--wait")
	require.Contains(t, out, "no stack openvz/web")
}

// A failure at each step fails the run with exit 1, names the step, and
// leaves nothing behind in the container API.
func TestContainerFailureAtEachStepLeavesNothing(t *testing.T) {
	tests := []struct {
		name    string
		fault   cloudsim.Fault
		failed  string
		message string
		record  string
	}{
		{"create refused", cloudsim.Fault{Method: "POST", Path: "/v0.1/containers", Action: cloudsim.FaultError, Status: 400, Code: "100", Message: "no such ostemplate"},
			"container/fail", "no such ostemplate", ""},
		{"job failed", cloudsim.Fault{Method: "POST", Path: "/v0.1/containers", Action: cloudsim.FaultFailOperation},
			"container/fail", "the API gives no reason", "openvz-container-create-jobfail"},
		{"update refused", cloudsim.Fault{Method: "PATCH", Path: "/v0.1/containers/*", Action: cloudsim.FaultError, Status: 400, Code: "100", Message: "ipadd 10.0.0.5 is in use"},
			"parameters/fail", "ipadd 10.0.0.5 is in use", "openvz-container-create-updatefail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tq := freshContainers(t, ovzLatency)
			c := dial(t)
			startContainerWorker(t, c, tq)
			endStack(t, c, workflows.ProviderOpenVZ, "fail")
			tt.fault.Cloud = cloudsim.CloudOpenVZ
			_, err := admin.AddFault(context.Background(), tt.fault)
			require.NoError(t, err)

			out, errOut, code := containerCLI(t, tq, "create", "-f", writeContainerSpec(t, "fail"), "--wait")
			require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			require.Contains(t, out, "CreateContainer failed.")
			require.Contains(t, out, "failed step: "+tt.failed)
			require.Contains(t, out+errOut, tt.message)
			require.Contains(t, out, "Nothing was left behind.")
			if tt.failed == "parameters/fail" {
				require.Contains(t, out, "undone:      container/fail", "the container made is deleted again")
				deletes := 0
				for _, r := range requests(t, "DELETE", "") {
					if strings.HasPrefix(r.Path, "/v0.1/containers/") {
						deletes++
					}
				}
				require.Equal(t, 1, deletes)
			}
			requireNoContainers(t)
			if tt.record != "" {
				saveHistory(t, workflows.StackID(workflows.ProviderOpenVZ, "fail")+"-apply-1-"+workflows.CreateContainerWorkflowName, tt.record)
			}
		})
	}
}

// The create's answer is lost after the API enqueued it: the retry finds
// the name taken by its own pending job, waits for the container and adopts
// it as this run's own. One container is made.
func TestContainerLostCreateResponseMakesNoDuplicate(t *testing.T) {
	// The job outlasts the first retry, which so finds the name taken.
	tq := freshContainers(t, 3*time.Second)
	c := dial(t)
	startContainerWorker(t, c, tq)
	ctx := context.Background()
	_, err := admin.AddFault(ctx, cloudsim.Fault{Cloud: cloudsim.CloudOpenVZ, Method: "POST", Path: "/v0.1/containers", Action: cloudsim.FaultDropResponse, Times: 1})
	require.NoError(t, err)

	s := starter.New(c, tq)
	run, err := s.CreateContainer(ctx, containerInput("lost"))
	require.NoError(t, err)
	var res workflows.CreateContainerResult
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	require.NoError(t, s.Result(rctx, run.WorkflowID, run.RunID, &res))
	require.False(t, res.Container.Existed, "the container is recognised as this run's own, so a failure would undo it")
	require.Equal(t, map[string]int{"lost": 1}, counters(t, cloudsim.CloudOpenVZ, "container-creates"), "one container was made")
	require.Equal(t, 1, inventory(t).Count(cloudsim.CloudOpenVZ, "containers"))
	posts := requests(t, "POST", "/v0.1/containers/")
	require.GreaterOrEqual(t, len(posts), 2)
	require.NotEmpty(t, posts[0].Fault, "the first create's answer was the one dropped")
	require.Equal(t, 422, posts[1].Status, "the retry found the name taken by its own pending job")
}

func containerInput(name string) workflows.CreateContainerInput {
	return workflows.CreateContainerInput{
		Container: workflows.ContainerSpec{Name: name, OSTemplate: "centos-7-x86_64", CPUs: 2, Memory: "1G", Disk: "10G",
			IPAddress: "10.0.0.5", Nameservers: []string{"1.1.1.1", "8.8.8.8"}},
		Timeouts: workflows.Timeouts{Operation: 2 * time.Minute, Heartbeat: 3 * time.Second},
	}
}

// A worker killed while it waits on the create's job: a new worker picks
// the wait up from its heartbeat, and the run ends with one container, made
// once, with its parameters.
func TestContainerWorkerKilledMidWaitResumes(t *testing.T) {
	tq := freshContainers(t, 8*time.Second)
	c := dial(t)
	ctx := context.Background()
	first := startWorkerProcess(t, c, tq)

	s := starter.New(c, tq)
	run, err := s.CreateContainer(ctx, containerInput("crash"))
	require.NoError(t, err)
	waitFor(t, 60*time.Second, "the container step to wait on its job", func() bool {
		p, err := s.Progress(ctx, run.WorkflowID, run.RunID)
		if err != nil {
			return false
		}
		for _, st := range p.Steps {
			if st.Kind == workflows.KindContainer && st.State == workflows.StepRunning && st.OperationID != "" {
				return true
			}
		}
		return false
	})
	kill(t, first)
	startWorkerProcess(t, c, tq)

	var res workflows.CreateContainerResult
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	require.NoError(t, s.Result(rctx, run.WorkflowID, run.RunID, &res))
	require.Len(t, requests(t, "POST", "/v0.1/containers/"), 1, "the container was created once")
	require.Equal(t, map[string]int{"crash": 1}, counters(t, cloudsim.CloudOpenVZ, "container-creates"))
	ct, err := ovzClient(t).Containers.Get(ctx, res.Container.ID)
	require.NoError(t, err)
	require.Equal(t, &wantParameters, ct.Parameters)

	// The crash really interrupted the wait: an attempt timed out on its
	// heartbeat and a retry on the new worker finished it.
	retried := 0
	iter := c.GetWorkflowHistory(ctx, run.WorkflowID, run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		if ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED && ev.GetActivityTaskStartedEventAttributes().GetAttempt() > 1 {
			retried++
		}
	}
	require.Positive(t, retried, "no activity was retried after the worker was killed")
}

// The container examples of docs/contract.md, started with the official
// Temporal CLI exactly as the document shows.
func TestContractContainerExamplesRunWithTheTemporalCLI(t *testing.T) {
	doc := readContract(t)
	tq := fresh(t)
	startWorker(t, dial(t), tq)
	r := &contractRun{doc: doc, tq: tq, dir: t.TempDir()}
	run := func(t *testing.T, workflow string) string {
		t.Helper()
		out, errOut, code := r.start(t, workflow, "")
		if code != 0 {
			t.Fatalf("start %s: exit %d\nstdout:\n%s\nstderr:\n%s", workflow, code, out, errOut)
		}
		return r.id(t, workflow)
	}
	t.Run("CreateContainer", func(t *testing.T) {
		o, res := contractResult[workflows.CreateContainerResult](t, run(t, "CreateContainer"))
		requireCompleted(t, o)
		if res.Container.Name != "contract-ct" || res.Container.ID == "" {
			t.Fatalf("result container %+v", res.Container)
		}
		c, err := ovzClient(t).Containers.Get(context.Background(), res.Container.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Parameters == nil || c.Parameters.Hostname != "contract-ct.example.com" || c.Parameters.IPAdd != "10.0.0.5" {
			t.Errorf("parameters not applied: %+v", c.Parameters)
		}
	})
	t.Run("DeleteContainer", func(t *testing.T) {
		o, res := contractResult[workflows.DeleteContainerResult](t, run(t, "DeleteContainer"))
		requireCompleted(t, o)
		if len(res.Deleted) != 1 {
			t.Errorf("deleted %+v", res.Deleted)
		}
		requireNoContainers(t)
	})
}
