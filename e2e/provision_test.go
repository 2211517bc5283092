package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/codec"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// The happy path through the CLI, as a user runs it: `vm provision` makes
// one VM with both disks attached and one firewall rule, all in the cloud,
// through the spec's stack; `vm deprovision` deletes them; no credential
// appears anywhere in the histories (the stack's, its ApplyStack runs' and
// the ProvisionVM child's).
func TestProvisionAndDeprovisionThroughTheCLI(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	endStack(t, c, workflows.ProviderCrusoe, "happy")
	specFile := writeSpec(t, "happy")

	out, errOut, code := cli(t, "--address", temporal.Address(), "--task-queue", tq, "vm", "provision", "-f", specFile, "--wait", "--json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var res workflows.StackOperationResult
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	require.Equal(t, workflows.OutcomeSucceeded, res.Operation.Outcome)
	vmRes, ok := res.State.Resource("vm/happy")
	require.True(t, ok, "the stack holds the VM: %+v", res.State.Resources)

	vms := inventoryVMs(t)
	require.Len(t, vms, 1)
	require.Equal(t, "happy", vms[0].Name)
	require.Equal(t, vmRes.ID, vms[0].ID)
	require.Equal(t, "STATE_RUNNING", vms[0].State)
	var attached []string
	for _, d := range vms[0].Disks {
		attached = append(attached, d.Name)
	}
	require.ElementsMatch(t, []string{"happy-data", "happy-scratch"}, attached)
	inv := inventory(t)
	require.Equal(t, 2, inv.Count("crusoe", "disks"))
	require.Equal(t, 1, inv.Count("crusoe", "firewall-rules"))
	// The rule that names the VM carries the VM's private IPv4 as a /32,
	// with its ID: every FirewallRuleObject carries a cidr.
	type ruleObject struct {
		CIDR       string `json:"cidr"`
		ResourceID string `json:"resource_id"`
	}
	var rule struct {
		Destinations []ruleObject `json:"destinations"`
	}
	require.NoError(t, json.Unmarshal(inv["crusoe"]["firewall-rules"][0], &rule))
	var vm struct {
		NetworkInterfaces []struct {
			IPs []struct {
				PrivateIPv4 struct {
					Address string `json:"address"`
				} `json:"private_ipv4"`
			} `json:"ips"`
		} `json:"network_interfaces"`
	}
	require.NoError(t, json.Unmarshal(inv["crusoe"]["vms"][0], &vm))
	ip := vm.NetworkInterfaces[0].IPs[0].PrivateIPv4.Address
	require.NotEmpty(t, ip)
	require.Equal(t, []ruleObject{{CIDR: ip + "/32", ResourceID: vmRes.ID}}, rule.Destinations)
	require.Equal(t, ip, vmRes.Outputs["privateIPv4"], "the stack's output is the VM's address")

	out, errOut, code = cli(t, "--address", temporal.Address(), "--task-queue", tq, "vm", "deprovision", "-f", specFile, "--wait", "--json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var destroyed workflows.StackOperationResult
	require.NoError(t, json.Unmarshal([]byte(out), &destroyed), out)
	require.True(t, inventory(t).Empty(), "inventory after deprovision: %v", inventory(t))

	// No credential in any history: what `temporal workflow show` prints.
	provision := res.Operation.Run + "-" + workflows.ProvisionVMWorkflowName
	for _, id := range []string{workflows.StackID(workflows.ProviderCrusoe, "happy"), res.Operation.Run, provision, destroyed.Operation.Run} {
		show := exec.Command(temporalCL, "workflow", "show", "--address", temporal.Address(), "-w", id, "--output", "json")
		hist, err := show.CombinedOutput()
		require.NoError(t, err, string(hist))
		text := historyText(t, hist)
		require.True(t, strings.Contains(text, "happy-data"), "the decoded history of %s names the disk: the search below can see payloads", id)
		for _, secret := range []string{cloudsim.DefaultCrusoeSecretKey, cloudsim.DefaultCrusoeAccessKeyID} {
			require.False(t, strings.Contains(text, secret), "a credential appears in the history of %s", id)
		}
		if id == provision {
			recordHistory(t, "crusoe-vm-provision-happy", hist)
		}
	}
}

// A firewall-rule operation that fails makes the workflow fail, the CLI name
// the failed step and what was undone, and leaves nothing in the cloud.
func TestFailedFirewallRuleOperationIsCompensated(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	_, err := admin.AddFault(context.Background(), cloudsim.Fault{
		Cloud: "crusoe", Method: "POST", Path: "/v1alpha5/projects/*/networking/vpc-firewall-rules",
		Action: "fail-operation", Code: "INTERNAL", Message: "firewall backend unavailable",
	})
	require.NoError(t, err)

	endStack(t, c, workflows.ProviderCrusoe, "fwfail")

	out, errOut, code := cli(t, "--address", temporal.Address(), "--task-queue", tq, "vm", "provision", "-f", writeSpec(t, "fwfail"), "--wait")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "Apply of stack crusoe/fwfail failed")
	require.Contains(t, out, "ProvisionVM failed.")
	require.Contains(t, out, "failed step: firewall-rule/fwfail-ssh")
	require.Contains(t, out+errOut, "firewall backend unavailable")
	require.Regexp(t, `undone: +(vm/fwfail|disk/fwfail-data|disk/fwfail-scratch)(, (vm/fwfail|disk/fwfail-data|disk/fwfail-scratch)){2}\n`, out)
	require.Contains(t, out, "Nothing was left behind.")
	require.True(t, inventory(t).Empty(), "inventory after compensation: %v", inventory(t))
	provision := workflows.StackID(workflows.ProviderCrusoe, "fwfail") + "-apply-1-" + workflows.ProvisionVMWorkflowName
	show := exec.Command(temporalCL, "workflow", "show", "--address", temporal.Address(), "-w", provision, "--output", "json")
	hist, err := show.CombinedOutput()
	require.NoError(t, err, string(hist))
	recordHistory(t, "crusoe-vm-provision-fwfail", hist)
}

// saveHistory records the latest run of a workflow for the replay tests
// (see recordHistory).
func saveHistory(t *testing.T, workflowID, name string) {
	t.Helper()
	if os.Getenv("CLOUDFLOW_RECORD_HISTORIES") == "" {
		return
	}
	show := exec.Command(temporalCL, "workflow", "show", "--address", temporal.Address(), "-w", workflowID, "--output", "json")
	hist, err := show.CombinedOutput()
	require.NoError(t, err, string(hist))
	recordHistory(t, name, hist)
}

// recordHistory saves a history for the replay tests in workflows/testdata
// when CLOUDFLOW_RECORD_HISTORIES names a directory.
func recordHistory(t *testing.T, id string, hist []byte) {
	dir := os.Getenv("CLOUDFLOW_RECORD_HISTORIES")
	if dir == "" {
		return
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, id+".json"), hist, 0o644))
}

// A worker killed while it waits on an operation: a new worker picks the
// wait up from its heartbeat, and the run ends with one VM and two disks.
func TestWorkerKilledMidOperationResumes(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	ctx := context.Background()
	require.NoError(t, admin.SetOperationLatency(ctx, "crusoe", 8*time.Second))
	first := startWorkerProcess(t, c, tq)

	s := newStarter(t, c, tq)
	run, err := s.ProvisionVM(ctx, input("crash"))
	require.NoError(t, err)
	waitForVMOperation(t, s, run)
	kill(t, first)
	startWorkerProcess(t, c, tq)

	var res workflows.ProvisionVMResult
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	require.NoError(t, s.Result(rctx, run.WorkflowID, run.RunID, &res))
	vms := inventoryVMs(t)
	require.Len(t, vms, 1)
	require.Len(t, vms[0].Disks, 2)
	require.Equal(t, 2, inventory(t).Count("crusoe", "disks"))
	require.Len(t, requests(t, "POST", "/compute/vms/instances"), 1, "the VM was created once")
	require.Len(t, requests(t, "POST", "/storage/disks"), 2, "each disk was created once")

	// The crash really interrupted the wait: an activity's attempt timed out
	// on its heartbeat and a retry on the new worker finished the job (the
	// history keeps the started event of the last attempt only).
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

// The VM-create response is lost after the cloud applied it: the retry finds
// the VM by name instead of making a second one, and owns it.
func TestLostCreateResponseMakesNoDuplicate(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	ctx := context.Background()
	_, err := admin.AddFault(ctx, cloudsim.Fault{
		Cloud: "crusoe", Method: "POST", Path: "/v1alpha5/projects/*/compute/vms/instances",
		Action: "drop-response", Times: 1,
	})
	require.NoError(t, err)

	s := newStarter(t, c, tq)
	run, err := s.ProvisionVM(ctx, input("lost"))
	require.NoError(t, err)
	var res workflows.ProvisionVMResult
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	require.NoError(t, s.Result(rctx, run.WorkflowID, run.RunID, &res))
	require.Len(t, inventoryVMs(t), 1)
	posts := requests(t, "POST", "/compute/vms/instances")
	require.Len(t, posts, 1, "the create was sent once")
	require.NotEmpty(t, posts[0].Fault, "and its response was the one dropped")
	require.False(t, res.VM.Existed, "the VM is recognised as this run's own, so a failure would undo it")
}

// 429 with Retry-After and 5xx answers on reads: the run succeeds, and after
// each 429 the next call waits at least as long as the server asked.
func TestThrottledAndFailingReadsAreRetriedAsTold(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	ctx := context.Background()
	const retryAfter = 2 * time.Second
	for _, f := range []cloudsim.Fault{
		{Cloud: "crusoe", Method: "GET", Path: "/v1alpha5/projects/*/compute/vms/instances/operations", Action: "error", Status: 429, Code: "too_many_requests", RetryAfter: cloudsim.Duration(retryAfter), Times: 2},
		{Cloud: "crusoe", Method: "GET", Path: "/v1alpha5/projects/*/storage/disks", Action: "error", Status: 503, Code: "unavailable", Times: 2},
		{Cloud: "crusoe", Method: "GET", Path: "/v1alpha5/projects/*/networking/vpc-firewall-rules", Action: "error", Status: 500, Code: "internal", Times: 1},
	} {
		_, err := admin.AddFault(ctx, f)
		require.NoError(t, err)
	}
	s := newStarter(t, c, tq)
	run, err := s.ProvisionVM(ctx, input("throttled"))
	require.NoError(t, err)
	var res workflows.ProvisionVMResult
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	require.NoError(t, s.Result(rctx, run.WorkflowID, run.RunID, &res))
	require.Len(t, inventoryVMs(t), 1)

	polls := requests(t, "GET", "") // all GETs, in order
	var opPolls []cloudsim.RequestRecord
	for _, r := range polls {
		// The VM's operation is polled in the family's list of operations.
		if strings.HasSuffix(r.Path, "/compute/vms/instances/operations") && r.Query == "" {
			opPolls = append(opPolls, r)
		}
	}
	throttled := 0
	for i, r := range opPolls {
		if r.Status != 429 {
			continue
		}
		throttled++
		require.Greater(t, len(opPolls), i+1, "a poll followed the 429")
		gap := opPolls[i+1].Time.Sub(r.Time)
		require.GreaterOrEqual(t, gap, retryAfter-50*time.Millisecond, "waited %s after a 429 asking for %s", gap, retryAfter)
	}
	require.Equal(t, 2, throttled)
	require.Len(t, statusCount(polls, 503), 2)
}

func statusCount(rs []cloudsim.RequestRecord, status int) []cloudsim.RequestRecord {
	var out []cloudsim.RequestRecord
	for _, r := range rs {
		if r.Status == status {
			out = append(out, r)
		}
	}
	return out
}

// A second provision of the same VM while one runs is refused, not raced.
func TestConcurrentProvisionIsRefused(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	ctx := context.Background()
	s := newStarter(t, c, tq)
	// No worker yet: the first run waits for one.
	run, err := s.ProvisionVM(ctx, input("twice"))
	require.NoError(t, err)
	_, err = s.ProvisionVM(ctx, input("twice"))
	var already *starter.AlreadyRunningError
	require.True(t, errors.As(err, &already), "%v", err)
	require.NoError(t, c.TerminateWorkflow(ctx, run.WorkflowID, run.RunID, "test done"))
}

// historyText is a history as `temporal workflow show --output json` prints
// it, followed by every payload decoded: payload data is base64 in that output.
func historyText(t *testing.T, hist []byte) string {
	t.Helper()
	var doc any
	require.NoError(t, json.Unmarshal(hist, &doc))
	var b strings.Builder
	b.Write(hist)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.(string); ok && k == "data" {
					if raw, err := base64.StdEncoding.DecodeString(s); err == nil {
						b.WriteByte('\n')
						b.Write(raw)
					}
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
	return b.String()
}

// With CLOUDFLOW_PAYLOAD_KEY set on both sides, user data in inputs and
// results is sealed: the startup script's secret is nowhere in the history,
// and the run still works.
func TestPayloadCodecSealsUserData(t *testing.T) {
	tq := fresh(t)
	t.Setenv(codec.EnvKey, base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	co, err := starter.ClientOptions(starter.Options{HostPort: temporal.Address()})
	require.NoError(t, err)
	c, err := client.Dial(co)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	startWorker(t, c, tq)

	in := input("sealed")
	in.VM.StartupScript = "#!/bin/sh\nexport TOKEN=hunter2-not-for-history\n"
	s := newStarter(t, c, tq)
	run, err := s.ProvisionVM(context.Background(), in)
	require.NoError(t, err)
	var res workflows.ProvisionVMResult
	rctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(t, s.Result(rctx, run.WorkflowID, run.RunID, &res))
	require.Equal(t, "sealed", res.VM.Name, "results decode on a client with the key")
	p, err := s.Progress(rctx, run.WorkflowID, run.RunID)
	require.NoError(t, err)
	require.Equal(t, workflows.PhaseCompleted, p.Phase, "queries decode too")

	hist, err := exec.Command(temporalCL, "workflow", "show", "--address", temporal.Address(), "-w", run.WorkflowID, "--output", "json").CombinedOutput()
	require.NoError(t, err, string(hist))
	text := historyText(t, hist)
	require.False(t, strings.Contains(text, "hunter2-not-for-history"), "the startup script is readable in the history")
	require.False(t, strings.Contains(text, "AAAAC3NzaC1lZDI1NTE5AAAAILwzAx"), "the SSH key is readable in the history")
	require.True(t, strings.Contains(string(hist), base64.StdEncoding.EncodeToString([]byte(codec.MetadataEncoding))), "payloads are marked as sealed")
}

// `cloudflow runs cancel` mid-provision: the run ends cancelled and its saga
// removes everything it had made. The VM's create is still in progress when
// the undo deletes it: the cloud refuses (409), so the undo finds that
// operation, waits for it and deletes again. The run's history is recorded
// for the replay tests (crusoe-vm-provision-undo-busy.json).
func TestCancelFromTheCLIUndoesTheRun(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	ctx := context.Background()
	require.NoError(t, admin.SetOperationLatency(ctx, "crusoe", 4*time.Second))
	startWorker(t, c, tq)
	s := newStarter(t, c, tq)
	run, err := s.ProvisionVM(ctx, input("cancelled"))
	require.NoError(t, err)
	waitForVMOperation(t, s, run)
	out, errOut, code := cli(t, "--address", temporal.Address(), "runs", "cancel", run.WorkflowID)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)

	var res workflows.ProvisionVMResult
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err = s.Result(rctx, run.WorkflowID, run.RunID, &res)
	var re *starter.RunError
	require.True(t, errors.As(err, &re), "%v", err)
	require.Equal(t, "Canceled", re.Status)
	require.Contains(t, res.Undone, "vm/cancelled")
	require.Contains(t, res.Undone, "disk/cancelled-data")
	require.Empty(t, res.NotUndone)
	require.True(t, inventory(t).Empty(), "inventory after cancellation: %v", inventory(t))
	deletes := vmDeletes(t)
	require.GreaterOrEqual(t, len(deletes), 2, "%v", deletes)
	require.Equal(t, 409, deletes[0], "the first delete met the create in progress")
	require.Equal(t, 200, deletes[len(deletes)-1], "the last one went through")
	busy := 0
	for _, r := range requests(t, "GET", "/compute/vms/instances/operations") {
		if strings.Contains(r.Query, "state=IN_PROGRESS") && strings.Contains(r.Query, "resource_id=") {
			busy++
		}
	}
	require.Positive(t, busy, "the operation in progress was looked up in the family's list")
	saveHistory(t, run.WorkflowID, "crusoe-vm-provision-undo-busy")
}
