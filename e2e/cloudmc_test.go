package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/workflows"
)

// cmcClient talks to the simulator's CloudMC API.
func cmcClient(t testing.TB) *cloudmc.Client {
	t.Helper()
	c, err := cloudmc.New(cloudmc.WithBaseURL(sim.URL+"/api/v2"), cloudmc.WithAPIKey(cloudsim.DefaultCloudMCAPIKey),
		cloudmc.WithEnvironment(cloudsim.DefaultCloudMCServiceCode, cloudsim.DefaultCloudMCEnvironment))
	require.NoError(t, err)
	return c
}

// writeCloudMCSpec writes a CloudMC spec for an instance called name, on the
// simulator's fixtures, with a volume (name-data) and two ingress rules.
func writeCloudMCSpec(t *testing.T, name string) string {
	t.Helper()
	spec := `provider: cloudmc
instance:
  name: ` + name + `
  computeOffering: ` + cloudsim.CloudMCComputeOfferingID + `
  network: ` + cloudsim.CloudMCNetworkID + `
  template: ` + cloudsim.CloudMCTemplateID + `
volume: {name: data, diskOffering: ` + cloudsim.CloudMCCustomDiskOfferingName + `, size: 20GiB}
ingressRules:
  - {protocol: tcp, ports: "22", cidr: 0.0.0.0/0}
  - {protocol: tcp, ports: "8000-8080", cidr: 10.0.0.0/8}
timeouts: {operation: 2m, heartbeat: 3s}
`
	p := filepath.Join(t.TempDir(), name+".yaml")
	require.NoError(t, os.WriteFile(p, []byte(spec), 0o600))
	return p
}

// cmcInput is the workflow input writeCloudMCSpec's file stands for.
func cmcInput(name string) workflows.ProvisionInstanceInput {
	return workflows.ProvisionInstanceInput{
		Instance: workflows.CloudMCInstanceSpec{Name: name, ComputeOfferingID: cloudsim.CloudMCComputeOfferingID,
			NetworkID: cloudsim.CloudMCNetworkID, TemplateID: cloudsim.CloudMCTemplateID},
		Volume: &workflows.CloudMCVolumeSpec{Name: name + "-data", DiskOffering: cloudsim.CloudMCCustomDiskOfferingName, SizeGB: 20},
		IngressRules: []workflows.CloudMCIngressRuleSpec{
			{Protocol: "tcp", StartPort: 22, CIDR: "0.0.0.0/0"},
			{Protocol: "tcp", StartPort: 8000, EndPort: 8080, CIDR: "10.0.0.0/8"},
		},
		Timeouts: workflows.Timeouts{Operation: 2 * time.Minute, Heartbeat: 3 * time.Second},
	}
}

type cmcInventory struct {
	Instances []struct{ ID, Name, State string }
	Volumes   []struct {
		ID, Name, Type, State string
		InstanceID            string `json:"instanceId"`
	}
	Rules []struct {
		ID, Protocol, CIDR, State string
		StartPort                 int `json:"startPort"`
		EndPort                   int `json:"endPort"`
	}
}

func cmcInv(t *testing.T) cmcInventory {
	t.Helper()
	var out cmcInventory
	inv := inventory(t)["cloudmc"]
	decode := func(kind string, into any) {
		b, err := json.Marshal(inv[kind])
		require.NoError(t, err)
		if inv[kind] == nil {
			b = []byte("[]")
		}
		require.NoError(t, json.Unmarshal(b, into))
	}
	decode("instances", &out.Instances)
	decode("volumes", &out.Volumes)
	decode("ingress-rules", &out.Rules)
	return out
}

func requireCloudMCEmpty(t *testing.T) {
	t.Helper()
	inv := cmcInv(t)
	require.Empty(t, inv.Instances, "instances left")
	require.Empty(t, inv.Volumes, "volumes left (an instance's OS volume goes with it)")
	require.Empty(t, inv.Rules, "ingress rules left")
}

// requireProvisioned checks the cloud holds what writeCloudMCSpec asks for:
// the instance running, the data volume attached to it, the two rules.
func requireProvisioned(t *testing.T, name string) cmcInventory {
	t.Helper()
	inv := cmcInv(t)
	require.Len(t, inv.Instances, 1)
	inst := inv.Instances[0]
	require.Equal(t, name, inst.Name)
	require.Equal(t, "Running", inst.State)
	require.Len(t, inv.Volumes, 2, "the data volume and the instance's OS volume")
	for _, v := range inv.Volumes {
		require.Equal(t, inst.ID, v.InstanceID, "volume %s is attached", v.Name)
		require.Equal(t, "Ready", v.State)
		if v.Type == "data" {
			require.Equal(t, name+"-data", v.Name)
		}
	}
	require.Len(t, inv.Rules, 2)
	for _, r := range inv.Rules {
		require.Equal(t, "Active", r.State)
	}
	return inv
}

// The happy path through the CLI: `vm provision` with a CloudMC spec makes
// the instance, attaches the volume and opens the rules, through the
// spec's stack; again, it finds the stack in sync and changes nothing;
// `vm deprovision` removes everything, and a second one finds no stack
// (exit 6); the API key is nowhere in the histories.
func TestCloudMCProvisionAndDeprovisionThroughTheCLI(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	endStack(t, c, workflows.ProviderCloudMC, "cmc-happy")
	spec := writeCloudMCSpec(t, "cmc-happy")
	run := func(want int, args ...string) string {
		t.Helper()
		out, errOut, code := cli(t, append([]string{"--address", temporal.Address(), "--task-queue", tq, "vm"}, args...)...)
		require.Equal(t, want, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		return out + errOut
	}

	var res workflows.StackOperationResult
	require.NoError(t, json.Unmarshal([]byte(run(0, "provision", "-f", spec, "--wait", "--json")), &res))
	inv := requireProvisioned(t, "cmc-happy")
	inst, ok := res.State.Resource("instance/cmc-happy")
	require.True(t, ok, "%+v", res.State.Resources)
	require.Equal(t, inv.Instances[0].ID, inst.ID)
	require.Equal(t, "Running", inst.State)
	require.NotEmpty(t, inst.Outputs["ipAddress"])
	_, ok = res.State.Resource("volume/cmc-happy-data")
	require.True(t, ok)
	require.Len(t, res.Apply.Done, 5, "instance, volume, attachment, two rules: %+v", res.Apply.Done)
	for _, st := range res.Apply.Steps {
		require.Equal(t, workflows.StepDone, st.State, st.Name)
	}
	provision := res.Operation.Run + "-" + workflows.ProvisionInstanceWorkflowName
	saveHistory(t, provision, "cloudmc-instance-provision-diskoffering")

	out := run(0, "provision", "-f", spec, "--wait")
	require.Contains(t, out, "Stack cloudmc/cmc-happy is in sync: nothing to do.")
	counters, err := admin.Counters(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, counters["cloudmc"]["instance-creates"]["cmc-happy"], "no second instance")
	require.Len(t, requests(t, "POST", "/ingressrules"), 2, "no rule was made twice")

	var destroyed workflows.StackOperationResult
	require.NoError(t, json.Unmarshal([]byte(run(0, "deprovision", "-f", spec, "--wait", "--json")), &destroyed))
	requireCloudMCEmpty(t)
	out = run(6, "deprovision", "-f", spec, "--wait")
	require.Contains(t, out, "no stack cloudmc/cmc-happy")

	for _, id := range []string{workflows.StackID(workflows.ProviderCloudMC, "cmc-happy"), provision, destroyed.Operation.Run} {
		hist, err := exec.Command(temporalCL, "workflow", "show", "--address", temporal.Address(), "-w", id, "--output", "json").CombinedOutput()
		require.NoError(t, err, string(hist))
		text := historyText(t, hist)
		require.True(t, strings.Contains(text, "cmc-happy-data"), "the decoded history of %s names the volume", id)
		require.False(t, strings.Contains(text, cloudsim.DefaultCloudMCAPIKey), "the API key appears in the history of %s", id)
	}
}

// A task that fails at each step fails the run with exit 1, names the step
// and the cloud's message, and leaves nothing the run made in the cloud.
func TestCloudMCFailureAtEachStepLeavesNothing(t *testing.T) {
	tests := []struct {
		name, path, failed, record string
	}{
		{"instance create", "/api/v2/services/*/*/instances", "instance/cmc-fail", ""},
		{"volume create", "/api/v2/services/*/*/volumes", "volume/cmc-fail-data", ""},
		{"attach", "/api/v2/services/*/*/volumes/*", "volume-attachment/cmc-fail-data", "cloudmc-instance-provision-attachfail"},
		{"ingress rule create", "/api/v2/services/*/*/ingressrules", "ingress-rule/tcp-", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tq := fresh(t)
			c := dial(t)
			startWorker(t, c, tq)
			endStack(t, c, workflows.ProviderCloudMC, "cmc-fail")
			_, err := admin.AddFault(context.Background(), cloudsim.Fault{Cloud: "cloudmc", Method: "POST", Path: tt.path,
				Action: cloudsim.FaultFailOperation, Code: "2050", Message: "no capacity left for " + tt.name, Times: 1})
			require.NoError(t, err)

			out, errOut, code := cli(t, "--address", temporal.Address(), "--task-queue", tq, "vm", "provision", "-f", writeCloudMCSpec(t, "cmc-fail"), "--wait")
			require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			require.Contains(t, out, "Apply of stack cloudmc/cmc-fail failed")
			require.Contains(t, out, "ProvisionInstance failed.")
			require.Contains(t, out, "failed step: "+tt.failed)
			require.Contains(t, out+errOut, "2050: no capacity left for "+tt.name)
			require.Contains(t, out, "Nothing was left behind.")
			requireCloudMCEmpty(t)
			if tt.record != "" {
				saveHistory(t, workflows.StackID(workflows.ProviderCloudMC, "cmc-fail")+"-apply-1-"+workflows.ProvisionInstanceWorkflowName, tt.record+"-diskoffering")
			}
		})
	}
}

// Tasks that end and are forgotten between two polls (their TTL shorter
// than the poll interval) are resolved from the resources: the run ends as
// it would have, provision and deprovision alike.
func TestCloudMCTaskExpiringMidWaitStillEndsCorrectly(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	endStack(t, c, workflows.ProviderCloudMC, "cmc-expiry")
	ctx := context.Background()
	require.NoError(t, admin.SetOperationLatency(ctx, "cloudmc", 3*time.Second))
	require.NoError(t, admin.SetOperationExpiry(ctx, "cloudmc", 50*time.Millisecond))
	spec := writeCloudMCSpec(t, "cmc-expiry")

	out, errOut, code := cli(t, "--address", temporal.Address(), "--task-queue", tq, "vm", "provision", "-f", spec, "--wait")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	requireProvisioned(t, "cmc-expiry")
	var expired int
	for _, r := range requests(t, "GET", "") {
		if strings.HasPrefix(r.Path, "/api/v2/tasks/") && r.Status == 404 {
			expired++
		}
	}
	require.Positive(t, expired, "some task expired while it was waited on")
	saveHistory(t, workflows.StackID(workflows.ProviderCloudMC, "cmc-expiry")+"-apply-1-"+workflows.ProvisionInstanceWorkflowName, "cloudmc-instance-provision-expired-diskoffering")

	out, errOut, code = cli(t, "--address", temporal.Address(), "--task-queue", tq, "vm", "deprovision", "-f", spec, "--wait")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	requireCloudMCEmpty(t)
}

// The case, end to end: a delete whose task the cloud forgets while
// the instance still shows Running. The waiter watches the instance until
// it is gone, and the run ends with it deleted (exit 0), not NOT_DELETED.
func TestCloudMCDeleteWhoseTaskExpiresWhileTheInstanceShowsRunning(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	endStack(t, c, workflows.ProviderCloudMC, "cmc-gone")
	ctx := context.Background()
	require.NoError(t, admin.SetOperationLatency(ctx, "cloudmc", 100*time.Millisecond))
	spec := filepath.Join(t.TempDir(), "alone.yaml")
	require.NoError(t, os.WriteFile(spec, []byte(`provider: cloudmc
instance:
  name: cmc-gone
  computeOffering: `+cloudsim.CloudMCComputeOfferingID+`
  network: `+cloudsim.CloudMCNetworkID+`
  template: `+cloudsim.CloudMCTemplateID+`
timeouts: {operation: 1m, heartbeat: 3s}
`), 0o600))
	run := func(verb string) string {
		t.Helper()
		out, errOut, code := cli(t, "--address", temporal.Address(), "--task-queue", tq, "vm", verb, "-f", spec, "--wait", "--json")
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		return out
	}
	run("provision")
	inst := cmcInv(t).Instances
	require.Len(t, inst, 1)

	// The delete runs 3s; its task is forgotten after 500ms, while the
	// instance still shows Running.
	require.NoError(t, admin.SetOperationLatency(ctx, "cloudmc", 3*time.Second))
	require.NoError(t, admin.SetOperationExpiry(ctx, "cloudmc", 500*time.Millisecond))
	var res workflows.StackOperationResult
	require.NoError(t, json.Unmarshal([]byte(run("deprovision")), &res))
	require.Len(t, res.Apply.Done, 1)
	require.Equal(t, workflows.ActionDelete, res.Apply.Done[0].Action)
	require.Equal(t, "instance/cmc-gone", res.Apply.Done[0].Key)
	require.Equal(t, inst[0].ID, res.Apply.Done[0].ID)
	requireCloudMCEmpty(t)

	deletes := requests(t, "DELETE", "/instances/"+inst[0].ID)
	require.Len(t, deletes, 1, "one delete")
	task := deletes[0].OperationID
	var expiredAt time.Time
	for _, r := range requests(t, "GET", "/tasks/"+task) {
		if r.Status == 404 && expiredAt.IsZero() {
			expiredAt = r.Time
		}
	}
	require.False(t, expiredAt.IsZero(), "the delete's task expired while it was waited on")
	stillThere := 0
	for _, r := range requests(t, "GET", "/instances/"+inst[0].ID) {
		if r.Status == 200 && r.Time.After(expiredAt) {
			stillThere++
		}
	}
	require.Positive(t, stillThere, "the instance was read, still there (Running), after its task expired")
}

// A disk offering that does not exist fails the run at its first step,
// before anything is created: exit 1, the step named, nothing in the cloud.
func TestCloudMCUnknownDiskOfferingFailsBeforeAnythingIsMade(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	endStack(t, c, workflows.ProviderCloudMC, "cmc-nooffer")
	spec := writeCloudMCSpec(t, "cmc-nooffer")
	data, err := os.ReadFile(spec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(spec, []byte(strings.Replace(string(data), cloudsim.CloudMCCustomDiskOfferingName, "fast-ssd", 1)), 0o600))

	out, errOut, code := cli(t, "--address", temporal.Address(), "--task-queue", tq, "vm", "provision", "-f", spec, "--wait")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "failed step: disk-offering/fast-ssd")
	require.Contains(t, out+errOut, `diskOffering "fast-ssd" names no disk offering of the environment`)
	require.Contains(t, out, "Nothing was left behind.")
	requireCloudMCEmpty(t)
	for _, m := range []string{"POST", "DELETE"} {
		require.Empty(t, requests(t, m, ""), "no %s reached the cloud", m)
	}
}

// A worker killed while it waits on the instance's task: a new worker picks
// the wait up from its heartbeat, and the run ends with one instance, one
// data volume and two rules, each made once.
func TestCloudMCWorkerKilledMidWaitResumes(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	ctx := context.Background()
	require.NoError(t, admin.SetOperationLatency(ctx, "cloudmc", 8*time.Second))
	first := startWorkerProcess(t, c, tq)

	s := newStarter(t, c, tq)
	run, err := s.ProvisionInstance(ctx, cmcInput("cmc-crash"))
	require.NoError(t, err)
	waitFor(t, 60*time.Second, "the instance step to wait on its task", func() bool {
		p, err := s.Progress(ctx, run.WorkflowID, run.RunID)
		if err != nil {
			return false
		}
		for _, st := range p.Steps {
			if st.Kind == workflows.KindInstance && st.State == workflows.StepRunning && st.OperationID != "" {
				return true
			}
		}
		return false
	})
	kill(t, first)
	startWorkerProcess(t, c, tq)

	var res workflows.ProvisionInstanceResult
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	require.NoError(t, s.Result(rctx, run.WorkflowID, run.RunID, &res))
	requireProvisioned(t, "cmc-crash")
	require.Len(t, requests(t, "POST", "/instances"), 1, "the instance was created once")
	require.Len(t, requests(t, "POST", "/volumes"), 1, "the volume was created once")
	require.Len(t, requests(t, "POST", "/ingressrules"), 2, "each rule was created once")

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

// The contract's CloudMC examples, started with the Temporal CLI exactly as
// docs/contract.md shows them, provision on the simulator's fixtures and
// deprovision again.
func TestContractCloudMCExamplesRunWithTheTemporalCLI(t *testing.T) {
	doc := readContract(t)
	tq := fresh(t)
	startWorker(t, dial(t), tq)
	require.NoError(t, admin.SetOperationLatency(context.Background(), "cloudmc", 200*time.Millisecond))
	r := &contractRun{doc: doc, tq: tq, dir: t.TempDir()}
	start := func(t *testing.T, workflow string) {
		t.Helper()
		out, errOut, code := r.start(t, workflow, "")
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	}

	t.Run("ProvisionInstance", func(t *testing.T) {
		id := r.id(t, "ProvisionInstance")
		start(t, "ProvisionInstance")
		o, res := contractResult[workflows.ProvisionInstanceResult](t, id)
		requireCompleted(t, o)
		require.Equal(t, "contract-instance", res.Instance.Name)
		require.Equal(t, "Running", res.Instance.State)
		inv := cmcInv(t)
		require.Len(t, inv.Instances, 1)
		require.Equal(t, res.Instance.ID, inv.Instances[0].ID)
		require.Len(t, inv.Rules, len(res.IngressRules))
		for _, v := range inv.Volumes {
			require.Equal(t, res.Instance.ID, v.InstanceID, "volume %s is attached", v.Name)
		}
		p, err := contractProgress[workflows.Progress](t, id)
		require.NoError(t, err)
		require.Equal(t, workflows.PhaseCompleted, p.Phase)
		require.Equal(t, "ProvisionInstance", p.Workflow)
	})

	t.Run("DeprovisionInstance", func(t *testing.T) {
		start(t, "DeprovisionInstance")
		o, res := contractResult[workflows.DeprovisionInstanceResult](t, r.id(t, "DeprovisionInstance"))
		requireCompleted(t, o)
		require.NotEmpty(t, res.Deleted)
		require.Empty(t, res.AlreadyGone)
		requireCloudMCEmpty(t)
	})
}
