package workflows

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/crusoe"
)

// count is how many of calls are call.
func count(calls []string, call string) int {
	n := 0
	for _, c := range calls {
		if c == call {
			n++
		}
	}
	return n
}

// cancelDuringVMWait cancels the run once the VM's wait has started, as a
// user would, while the VM's create is still in progress. The test
// environment settles the cancelled wait at once but lets its mock run on,
// and skips no time while it does: the mock is held back only half a second.
func cancelDuringVMWait(f *fakeCloud) func(env *testsuite.TestWorkflowEnvironment) {
	f.waitDelay["vm/web"] = 500 * time.Millisecond
	return func(env *testsuite.TestWorkflowEnvironment) {
		env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
			var in activities.WaitInput
			if info.ActivityType.Name == "CrusoeWait" && args.Get(&in) == nil && in.Kind == KindVM && !in.Gone && !in.Settle {
				go env.CancelWorkflow()
			}
		})
	}
}

// A rule's operation fails while the VM's create is still in progress: the
// VM's step runs to its end before the undo starts, so the undo deletes a
// VM whose create is over (once, never refused as busy) and learns nothing
// late. Issue 9, item 1.
func TestProvisionVMFailureLetsStepsInFlightSettleBeforeUndo(t *testing.T) {
	f := newFakeCloud()
	f.failWait = "firewall-rule/web-out"
	f.waitDelay["firewall-rule/web-out"] = 500 * time.Millisecond
	f.waitDelay["vm/web"] = 2 * time.Second
	_, res, err := runProvision(t, f, sampleInput(), nil)
	require.Error(t, err)
	require.Equal(t, "firewall-rule/web-out", res.FailedStep)
	require.Empty(t, res.NotUndone)
	require.Empty(t, f.liveNames(), "nothing is left behind")

	calls := f.callLog()
	require.Equal(t, 1, count(calls, "delete vm/web"), "the VM is deleted once: %v", calls)
	require.Less(t, slices.Index(calls, "wait vm/web gone=false"), slices.Index(calls, "delete vm/web"),
		"the VM's create ended before the undo: %v", calls)
	require.Zero(t, count(calls, "settle op-vm/web"), "no operation was left for the undo to wait out")
	require.Contains(t, res.Undone, "vm/web")
	require.NotContains(t, calls, "create firewall-rule/web-ssh", "no new step starts after a failure")
}

// A run cancelled while the VM's create is in progress: the undo's delete
// is refused (an operation is in progress on the VM), so it waits for that
// operation to end and deletes again. Issue 9, item 1.
func TestProvisionVMCancelledUndoWaitsOutTheCreateItInterrupted(t *testing.T) {
	f := newFakeCloud()
	_, res, err := runProvision(t, f, sampleInput(), cancelDuringVMWait(f))
	require.True(t, temporal.IsCanceledError(err), "%v", err)
	require.Empty(t, res.NotUndone)
	require.Empty(t, f.liveNames(), "nothing is left behind")
	i := slices.Index(f.calls, "delete vm/web")
	require.GreaterOrEqual(t, i, 0, "%v", f.calls)
	require.Equal(t, []string{"delete vm/web", "settle op-vm/web", "delete vm/web"}, f.calls[i:i+3])
	require.Contains(t, res.Undone, "vm/web")
	require.Contains(t, res.Undone, "disk/web-data")
}

// A delete refused, and a delete operation that FAILED, during the undo are
// tried again: everything is removed, nothing reported left. Issue 9, item 2.
func TestProvisionVMUndoRetriesFailedDeletes(t *testing.T) {
	f := newFakeCloud()
	f.failWait = "firewall-rule/web-ssh"
	f.refuseDelete["vm/web"] = 1
	f.failDeleteOp["disk/web-data"] = 1
	_, res, err := runProvision(t, f, sampleInput(), nil)
	require.Error(t, err)
	require.Empty(t, res.NotUndone)
	require.Empty(t, f.liveNames())
	require.Equal(t, 2, count(f.calls, "delete vm/web"))
	require.Equal(t, 2, count(f.calls, "wait disk/web-data gone=true"))
	require.Equal(t, 2, count(f.calls, "delete disk/web-data"), "a FAILED delete operation is deleted again")
	for _, step := range []string{"vm/web", "disk/web-data", "disk/web-scratch", "firewall-rule/web-ssh"} {
		require.Contains(t, res.Undone, step)
	}
}

// A delete that keeps failing is tried, backing off from 1 s to a minute,
// until Timeouts.Undo runs out, then reported by name and ID with the
// cloud's reason. Issue 9, item 2.
func TestProvisionVMUndoGivesUpAfterTimeoutsUndo(t *testing.T) {
	f := newFakeCloud()
	f.failWait = "firewall-rule/web-ssh"
	f.failDelete = "disk/web-data"
	in := sampleInput()
	in.Timeouts.Undo = 5 * time.Minute
	var env *testsuite.TestWorkflowEnvironment
	var start time.Time
	_, res, err := runProvision(t, f, in, func(e *testsuite.TestWorkflowEnvironment) { env, start = e, e.Now() })
	require.Error(t, err)
	// Tries at 0, 1, 3, 7, 15, 31, 63, 123, 183, 243 and 300 s.
	require.Equal(t, 11, count(f.calls, "delete disk/web-data"))
	require.LessOrEqual(t, env.Now().Sub(start), 5*time.Minute+time.Second, "no try after the undo's time ran out")
	require.Len(t, res.NotUndone, 1)
	require.Equal(t, UndoFailure{Step: "disk/web-data", Kind: KindDisk, Name: "web-data", ID: f.live["disk/web-data"], Error: "delete refused"},
		res.NotUndone[0])
}

// A deprovision tries a failed delete again, as an undo does. Issue 9, item 2.
func TestDeprovisionVMRetriesFailedDeletes(t *testing.T) {
	f := newFakeCloud()
	f.live = map[string]string{"vm/web": "v1", "disk/web-data": "d1", "firewall-rule/web-ssh": "r1"}
	f.refuseDelete["vm/web"] = 2
	f.failDeleteOp["disk/web-data"] = 1
	res, err := runDeprovisionVM(t, f, DeprovisionVMInput{VMName: "web", DiskNames: []string{"web-data"}, FirewallRules: []string{"web-ssh"}})
	require.NoError(t, err)
	require.Empty(t, f.liveNames())
	require.Len(t, res.Deleted, 3)
	require.Equal(t, 3, count(f.calls, "delete vm/web"))
}

// A resource the undo could not remove is named by its ID, even when the
// create's answer carried none (Crusoe answers a create with an operation)
// and the run stopped before the create's wait learned it. Issue 9, item 3.
func TestLeftoversAreNamedByID(t *testing.T) {
	t.Run("a sibling failed while the VM was being created", func(t *testing.T) {
		f := newFakeCloud()
		f.failWait = "firewall-rule/web-out"
		f.waitDelay["firewall-rule/web-out"] = 500 * time.Millisecond
		f.waitDelay["vm/web"] = 2 * time.Second
		f.failDelete = "vm/web"
		in := sampleInput()
		in.Timeouts.Undo = time.Minute
		_, res, err := runProvision(t, f, in, nil)
		require.Error(t, err)
		require.Len(t, res.NotUndone, 1)
		require.Equal(t, "vm/web", res.NotUndone[0].Step)
		require.Equal(t, f.live["vm/web"], res.NotUndone[0].ID)
		require.NotEmpty(t, res.NotUndone[0].ID)
	})
	t.Run("cancelled while the VM was being created", func(t *testing.T) {
		f := newFakeCloud()
		f.failDelete = "vm/web"
		in := sampleInput()
		in.Timeouts.Undo = time.Minute
		_, res, err := runProvision(t, f, in, cancelDuringVMWait(f))
		require.True(t, temporal.IsCanceledError(err), "%v", err)
		require.NotEmpty(t, res.NotUndone)
		require.Equal(t, "vm/web", res.NotUndone[0].Step)
		require.Equal(t, f.live["vm/web"], res.NotUndone[0].ID, "the delete's lookup named it")
		require.NotEmpty(t, res.NotUndone[0].ID)
		require.Equal(t, f.live["vm/web"], res.VM.ID, "and the result's VM carries it too")
	})
}

// A rule that names the VM gets the VM's private IPv4, from the VM's wait,
// to send as its CIDR; a rule that does not name the VM gets none. Issue
// 9, item 7.
func TestProvisionVMGivesRulesTheVMsAddress(t *testing.T) {
	f := newFakeCloud()
	_, _, err := runProvision(t, f, sampleInput(), nil)
	require.NoError(t, err)
	require.Equal(t, vmAddress, f.ruleVMAddrs["web-ssh"])
	require.Empty(t, f.ruleVMAddrs["web-out"])
}

// A call activity's attempt is bounded just above the clients' request
// timeout, so that one lost with its worker is retried within 15 s, not a
// minute. Issue 9, item 9.
func TestCallAttemptTimeoutMatchesTheRequestTimeout(t *testing.T) {
	require.Greater(t, CallAttemptTimeout, crusoe.RequestTimeout, "a slow answer is not cut short by the attempt timeout")
	require.LessOrEqual(t, CallAttemptTimeout+retryPolicy().InitialInterval, 15*time.Second)

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var got time.Duration
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		got = workflow.GetActivityOptions(callOptions(ctx, Timeouts{})).StartToCloseTimeout
		return nil
	}, workflow.RegisterOptions{Name: "options"})
	env.ExecuteWorkflow("options")
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, CallAttemptTimeout, got)
}
