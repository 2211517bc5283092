package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// The simulator refuses (409) a change to a resource whose operation is in
// progress, as a real cloud may. These tests run the undo against that.

// failedRun waits for a run that must fail and returns its result.
func failedRun(t *testing.T, s *starter.Starter, run starter.Run) (workflows.ProvisionVMResult, *starter.RunError) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res workflows.ProvisionVMResult
	err := s.Result(ctx, run.WorkflowID, run.RunID, &res)
	var re *starter.RunError
	require.True(t, errors.As(err, &re), "want a failed run, got %v", err)
	return res, re
}

// vmDeletes are the simulator's answers to DELETE of a VM, in order.
func vmDeletes(t *testing.T) []int {
	t.Helper()
	var out []int
	for _, r := range requests(t, "DELETE", "") {
		if strings.Contains(r.Path, "/compute/vms/instances/") {
			out = append(out, r.Status)
		}
	}
	return out
}

// A firewall rule's operation fails while the VM's create is still in
// progress. The undo lets the VM's step finish, then deletes the VM (never
// refused as busy) and the disks it held: nothing is left. Before, the undo
// deleted the VM at once, took the 409 as final and could not delete the
// disks still attached to it.
func TestFailedSiblingLetsTheVMCreateSettleBeforeUndo(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	ctx := context.Background()
	startWorker(t, c, tq)
	in := input("racing")
	in.FirewallRules = append(in.FirewallRules, workflows.FirewallRuleSpec{
		Name: "racing-out", VPCNetwork: "default", Direction: "egress", Action: "allow", Protocols: []string{"tcp"},
		Sources: []string{"10.0.0.0/8"}, Destinations: []string{"0.0.0.0/0"},
	})
	// The rule that does not name the VM starts with the disks; its create
	// is turned away (503, retried) until the VM's create is under way, and
	// then its operation fails, while the VM's (12 s) still runs.
	const vmLatency = 12 * time.Second
	rulePath := "/v1alpha5/projects/*/networking/vpc-firewall-rules"
	held, err := admin.AddFault(ctx, cloudsim.Fault{Cloud: "crusoe", Method: "POST", Path: rulePath, Action: "error", Status: 503})
	require.NoError(t, err)

	s := newStarter(t, c, tq)
	run, err := s.ProvisionVM(ctx, in)
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "the disks' creates", func() bool { return len(requests(t, "POST", "/storage/disks")) == 2 })
	require.NoError(t, admin.SetOperationLatency(ctx, "crusoe", vmLatency))
	waitForVMOperation(t, s, run)
	require.NoError(t, admin.SetOperationLatency(ctx, "crusoe", operationLatency))
	require.NoError(t, admin.RemoveFault(ctx, held.ID))
	_, err = admin.AddFault(ctx, cloudsim.Fault{Cloud: "crusoe", Method: "POST", Path: rulePath,
		Action: "fail-operation", Code: "INTERNAL", Message: "firewall backend unavailable", Times: 1})
	require.NoError(t, err)

	res, re := failedRun(t, s, run)
	require.Equal(t, "firewall-rule/racing-out", res.FailedStep, "%s", re.Message)
	require.Empty(t, res.NotUndone)
	require.Contains(t, res.Undone, "vm/racing")
	require.True(t, inventory(t).Empty(), "inventory after compensation: %v", inventory(t))

	vmPosts := requests(t, "POST", "/compute/vms/instances")
	require.Len(t, vmPosts, 1)
	var ruleFailed []cloudsim.RequestRecord
	for _, r := range requests(t, "POST", "/networking/vpc-firewall-rules") {
		if r.Status == 200 {
			ruleFailed = append(ruleFailed, r)
		}
	}
	require.Len(t, ruleFailed, 1, "only the rule that fails was created: no step starts after a failure")
	require.True(t, ruleFailed[0].Time.Add(operationLatency).Before(vmPosts[0].Time.Add(vmLatency)),
		"the rule failed while the VM was being created")
	require.Equal(t, []int{200}, vmDeletes(t), "the VM was deleted once its create had ended, never refused")
}

// A VM delete whose operation fails during compensation is retried, and the
// VM and its disks are still removed. Before, the failed delete was final
// and the VM and both disks were left. The run's history is recorded for
// the replay tests (crusoe-vm-provision-undo-retry.json).
func TestUndoRetriesAFailedDeleteOperation(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	ctx := context.Background()
	startWorker(t, c, tq)
	for _, f := range []cloudsim.Fault{
		{Cloud: "crusoe", Method: "POST", Path: "/v1alpha5/projects/*/networking/vpc-firewall-rules",
			Action: "fail-operation", Code: "INTERNAL", Message: "firewall backend unavailable", Times: 1},
		{Cloud: "crusoe", Method: "DELETE", Path: "/v1alpha5/projects/*/compute/vms/instances/*",
			Action: "fail-operation", Code: "INTERNAL", Message: "hypervisor unreachable", Times: 1},
	} {
		_, err := admin.AddFault(ctx, f)
		require.NoError(t, err)
	}
	s := newStarter(t, c, tq)
	in := input("undo-retry")
	run, err := s.ProvisionVM(ctx, in)
	require.NoError(t, err)
	res, _ := failedRun(t, s, run)
	require.Equal(t, "firewall-rule/undo-retry-ssh", res.FailedStep)
	require.Empty(t, res.NotUndone)
	for _, step := range []string{"vm/undo-retry", "disk/undo-retry-data", "disk/undo-retry-scratch"} {
		require.Contains(t, res.Undone, step)
	}
	require.True(t, inventory(t).Empty(), "inventory after compensation: %v", inventory(t))
	require.Equal(t, []int{200, 200}, vmDeletes(t), "the VM's delete was sent again after its operation failed")
	saveHistory(t, run.WorkflowID, "crusoe-vm-provision-undo-retry")
}

// A worker killed while a create call is held by the cloud: the call's
// attempt times out after 12 s (not a minute), and the create is retried on
// another worker within 15 s of the kill. The run then ends with one VM.
func TestKilledWorkersCallIsRetriedWithin15s(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	ctx := context.Background()
	_, err := admin.AddFault(ctx, cloudsim.Fault{Cloud: "crusoe", Method: "POST", Path: "/v1alpha5/projects/*/compute/vms/instances",
		Action: "delay", Delay: cloudsim.Duration(time.Minute), Times: 1})
	require.NoError(t, err)
	first := startWorkerProcess(t, c, tq)

	s := newStarter(t, c, tq)
	run, err := s.ProvisionVM(ctx, input("killed"))
	require.NoError(t, err)
	// Mid-create: the create activity runs, and its lookup is done (the
	// POST it sends next is the one the fault holds).
	waitFor(t, 60*time.Second, "the VM create to be sent", func() bool {
		return pendingAttempt(t, c, run, "CrusoeCreateVM") == 1 && len(requests(t, "GET", "/compute/vms/instances")) > 0
	})
	time.Sleep(500 * time.Millisecond)
	kill(t, first)
	killedAt := time.Now()
	second := startWorkerProcess(t, c, tq)

	waitFor(t, 30*time.Second, "the create to be retried", func() bool {
		for _, r := range requests(t, "POST", "/compute/vms/instances") {
			if r.Status != 0 {
				return true
			}
		}
		return false
	})
	var retried time.Time
	for _, r := range requests(t, "POST", "/compute/vms/instances") {
		if r.Status != 0 {
			retried = r.Time
		}
	}
	t.Logf("the create was sent again %s after the kill", retried.Sub(killedAt).Round(100*time.Millisecond))
	require.Less(t, retried.Sub(killedAt), 15*time.Second)

	var res workflows.ProvisionVMResult
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	require.NoError(t, s.Result(rctx, run.WorkflowID, run.RunID, &res))
	require.Len(t, inventoryVMs(t), 1, "one VM")
	require.False(t, res.VM.Existed, "the retry knows the VM is its own")

	// The create's last attempt, the second, ran on the second worker.
	iter := c.GetWorkflowHistory(ctx, run.WorkflowID, run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	types := map[int64]string{}
	var attempt int32
	identity := ""
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			types[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && types[a.GetScheduledEventId()] == "CrusoeCreateVM" {
			attempt, identity = a.GetAttempt(), a.GetIdentity()
		}
	}
	require.Equal(t, int32(2), attempt)
	require.True(t, strings.HasPrefix(identity, fmt.Sprintf("%d@", second.Process.Pid)), "retried by %q", identity)
}

// pendingAttempt is the attempt of the run's pending activity of that type,
// once it has started on a worker; 0 otherwise.
func pendingAttempt(t *testing.T, c client.Client, run starter.Run, activityType string) int32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := c.DescribeWorkflowExecution(ctx, run.WorkflowID, run.RunID)
	if err != nil {
		return 0
	}
	for _, a := range d.GetPendingActivities() {
		if a.GetActivityType().GetName() == activityType && a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED {
			return a.GetAttempt()
		}
	}
	return 0
}
