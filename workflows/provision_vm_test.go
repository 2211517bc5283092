package workflows

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/cloudflow/cloudflow/activities"
)

// fakeCloud stands in for the Crusoe activities: it keeps what exists, so a
// test can assert what is left after compensation, and fails the step it is
// told to. Like the real API it answers a create with an operation only (the
// wait learns the ID), and refuses to delete a resource whose create is
// still in progress (ResourceBusy, naming the operation).
type fakeCloud struct {
	fakeStore
	// waitDelay delays the wait of that step.
	waitDelay map[string]time.Duration
	vmDisks   []string
	ruleVMIDs map[string]string
	// ruleVMAddrs are the VM addresses the rule creates were given.
	ruleVMAddrs map[string]string
	// creating holds what was created and whose create operation has not
	// ended (no wait saw it through).
	creating map[string]bool
	// refuseDelete and failDeleteOp make that many deletes of a step
	// refused, or their operations FAILED.
	refuseDelete, failDeleteOp map[string]int
}

func newFakeCloud() *fakeCloud {
	return &fakeCloud{fakeStore: newFakeStore(), waitDelay: map[string]time.Duration{}, ruleVMIDs: map[string]string{},
		ruleVMAddrs: map[string]string{}, creating: map[string]bool{}, refuseDelete: map[string]int{}, failDeleteOp: map[string]int{}}
}

// vmAddress is the private IPv4 the fake gives a VM.
const vmAddress = "172.27.0.7"

func (f *fakeCloud) create(kind, name string) (activities.CreateResult, error) {
	id, found, preexisting, err := f.fakeStore.create(kind, name)
	switch {
	case err != nil:
		return activities.CreateResult{}, err
	case found:
		return activities.CreateResult{ResourceID: id, Existed: preexisting}, nil
	}
	f.mu.Lock()
	f.creating[kind+"/"+name] = true
	f.mu.Unlock()
	return activities.CreateResult{OperationID: "op-" + kind + "/" + name}, nil
}

func (f *fakeCloud) wait(ctx context.Context, in activities.WaitInput) (activities.WaitResult, error) {
	key := in.Kind + "/" + in.Name
	if in.Settle {
		// The undo waits out the create it interrupted: it ends now.
		f.mu.Lock()
		defer f.mu.Unlock()
		f.calls = append(f.calls, "settle "+in.OperationID)
		delete(f.creating, key)
		return activities.WaitResult{Resolution: "operation"}, nil
	}
	var d time.Duration // a wait for a delete is never held back
	f.mu.Lock()
	if !in.Gone {
		d = f.waitDelay[key]
		if f.failWait == key {
			d = max(d, failureLag)
		}
	}
	f.mu.Unlock()
	if err := pause(ctx, d); err != nil {
		return activities.WaitResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("wait %s gone=%v", key, in.Gone))
	if in.Gone {
		if f.failDeleteOp[key] > 0 {
			f.failDeleteOp[key]--
			return activities.WaitResult{}, temporal.NewNonRetryableApplicationError(
				"delete operation failed", activities.ErrTypeOperationFailed, nil)
		}
		delete(f.live, key)
		return activities.WaitResult{Resolution: "operation"}, nil
	}
	delete(f.creating, key)
	if f.failWait == key {
		return activities.WaitResult{}, errBoom
	}
	wr := activities.WaitResult{ResourceID: f.live[key], State: "ready", Resolution: "operation"}
	if in.Kind == KindVM {
		wr.PrivateIPv4 = vmAddress
	}
	return wr, nil
}

func (f *fakeCloud) delete(kind string) func(context.Context, activities.DeleteInput) (activities.DeleteResult, error) {
	return func(_ context.Context, in activities.DeleteInput) (activities.DeleteResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		key := kind + "/" + in.Name
		f.calls = append(f.calls, "delete "+key)
		id, ok := f.live[key]
		// As the real activity does, a failure names the resource it found.
		details := activities.CloudErrorDetails{Cloud: activities.CloudCrusoe, ResourceID: id}
		if f.failDelete == key || f.refuseDelete[key] > 0 {
			f.refuseDelete[key]--
			return activities.DeleteResult{}, temporal.NewNonRetryableApplicationError("delete refused", activities.ErrTypeAPI, nil, details)
		}
		if !ok {
			return activities.DeleteResult{AlreadyGone: true}, nil
		}
		if f.creating[key] {
			details.StatusCode, details.OperationID = 409, "op-"+key
			return activities.DeleteResult{}, temporal.NewNonRetryableApplicationError(
				"delete "+key+": operation in progress", activities.ErrTypeResourceBusy, nil, details)
		}
		return activities.DeleteResult{ResourceID: id, OperationID: "del-" + key}, nil
	}
}

func (f *fakeCloud) install(env *testsuite.TestWorkflowEnvironment) {
	var a *activities.CrusoeActivities
	env.RegisterActivity(a)
	env.OnActivity(a.CrusoeCreateDisk, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CreateDiskInput) (activities.CreateResult, error) {
			return f.create(KindDisk, in.Name)
		})
	env.OnActivity(a.CrusoeCreateVM, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CreateVMInput) (activities.CreateResult, error) {
			f.mu.Lock()
			f.vmDisks = nil
			for _, d := range in.Disks {
				f.vmDisks = append(f.vmDisks, d.DiskID)
			}
			f.mu.Unlock()
			return f.create(KindVM, in.Name)
		})
	env.OnActivity(a.CrusoeCreateFirewallRule, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CreateFirewallRuleInput) (activities.CreateResult, error) {
			f.mu.Lock()
			f.ruleVMIDs[in.Name] = in.VMID
			f.ruleVMAddrs[in.Name] = in.VMPrivateIPv4
			f.mu.Unlock()
			return f.create(KindFirewallRule, in.Name)
		})
	env.OnActivity(a.CrusoeWait, mock.Anything, mock.Anything).Return(f.wait)
	env.OnActivity(a.CrusoeDeleteVM, mock.Anything, mock.Anything).Return(f.delete(KindVM))
	env.OnActivity(a.CrusoeDeleteDisk, mock.Anything, mock.Anything).Return(f.delete(KindDisk))
	env.OnActivity(a.CrusoeDeleteFirewallRule, mock.Anything, mock.Anything).Return(f.delete(KindFirewallRule))
}

func sampleInput() ProvisionVMInput {
	return ProvisionVMInput{
		VM: VMSpec{Name: "web", Type: "c1a.2x", Location: "us-northcentral1-a", SSHPublicKey: "ssh-ed25519 AAAA"},
		Disks: []DiskSpec{
			{Name: "web-data", Size: "10GiB", Mode: "read-write"},
			{Name: "web-scratch", Size: "20GiB", Mode: "read-write"},
		},
		FirewallRules: []FirewallRuleSpec{
			{Name: "web-ssh", Direction: "ingress", Action: "allow", Protocols: []string{"tcp"}, Sources: []string{"0.0.0.0/0"}, Destinations: []string{TargetVM}, DestinationPorts: []string{"22"}},
			{Name: "web-out", Direction: "egress", Action: "allow", Protocols: []string{"tcp"}, Sources: []string{"10.0.0.0/8"}, Destinations: []string{"0.0.0.0/0"}},
		},
	}
}

func runProvision(t *testing.T, f *fakeCloud, in ProvisionVMInput, setup func(env *testsuite.TestWorkflowEnvironment)) (*testsuite.TestWorkflowEnvironment, ProvisionVMResult, error) {
	t.Helper()
	return runWorkflow[ProvisionVMResult](t, ProvisionVM, in, f.install, setup)
}

func TestProvisionVMSuccess(t *testing.T) {
	f := newFakeCloud()
	env, res, err := runProvision(t, f, sampleInput(), nil)
	require.NoError(t, err)

	require.Equal(t, []string{"disk/web-data", "disk/web-scratch", "firewall-rule/web-out", "firewall-rule/web-ssh", "vm/web"}, f.liveNames())
	// The VM was created with both disks attached, by the IDs their waits returned.
	require.ElementsMatch(t, []string{f.live["disk/web-data"], f.live["disk/web-scratch"]}, f.vmDisks)
	// The rule that names the VM got its ID; the other one did not wait for it.
	require.Equal(t, f.live["vm/web"], f.ruleVMIDs["web-ssh"])
	require.Empty(t, f.ruleVMIDs["web-out"])
	require.Equal(t, f.live["vm/web"], res.VM.ID)
	require.Len(t, res.Disks, 2)
	require.Empty(t, res.FailedStep)
	for _, st := range res.Steps {
		require.Equal(t, StepDone, st.State, st.Name)
		require.NotEmpty(t, st.ID, st.Name)
	}
	for _, c := range f.calls {
		require.NotContains(t, c, "delete", "nothing is deleted on success")
	}

	p := progress(t, env)
	require.Equal(t, PhaseCompleted, p.Phase)
	require.Len(t, p.Steps, 5)
}

// Every step that can fail, failing at its create call or at its wait, leaves
// nothing behind, and the undo runs only for what was started.
func TestProvisionVMFailureAtEveryStepCompensates(t *testing.T) {
	steps := []string{"disk/web-data", "disk/web-scratch", "vm/web", "firewall-rule/web-ssh", "firewall-rule/web-out"}
	for _, step := range steps {
		for _, where := range []string{"create", "wait"} {
			t.Run(where+" "+step, func(t *testing.T) {
				f := newFakeCloud()
				if where == "create" {
					f.failCreate = step
				} else {
					f.failWait = step
				}
				// Slow the independent rule down so failures elsewhere find it mid-flight.
				f.waitDelay["firewall-rule/web-out"] = 2 * time.Second
				_, res, err := runProvision(t, f, sampleInput(), nil)
				require.Error(t, err)
				var app *temporal.ApplicationError
				require.True(t, errors.As(err, &app))
				require.Equal(t, ErrTypeProvisionFailed, app.Type())
				require.Contains(t, app.Error(), "step "+step+" failed")
				require.Equal(t, step, res.FailedStep)
				require.Empty(t, f.liveNames(), "compensation leaves nothing behind")
				require.Empty(t, res.NotUndone)
				if where == "wait" {
					require.Contains(t, res.Undone, step, "a resource whose operation failed is removed too")
				}
				// The VM is never created when a disk failed.
				if step == "disk/web-data" || step == "disk/web-scratch" {
					require.NotContains(t, f.callLog(), "create vm/web")
				}
			})
		}
	}
}

func TestProvisionVMCompensatesInReverseOrder(t *testing.T) {
	f := newFakeCloud()
	f.failWait = "firewall-rule/web-ssh"
	_, _, err := runProvision(t, f, sampleInput(), nil)
	require.Error(t, err)
	deletes := f.deletes()
	// Rules go before the VM, the VM before the disks it holds.
	idx := func(s string) int {
		for i, d := range deletes {
			if d == s {
				return i
			}
		}
		t.Fatalf("%s was not deleted: %v", s, deletes)
		return -1
	}
	require.Less(t, idx("firewall-rule/web-ssh"), idx("vm/web"))
	require.Less(t, idx("vm/web"), idx("disk/web-data"))
	require.Less(t, idx("vm/web"), idx("disk/web-scratch"))
}

func TestProvisionVMReportsWhatItCouldNotUndo(t *testing.T) {
	f := newFakeCloud()
	f.failWait = "firewall-rule/web-ssh"
	f.failDelete = "disk/web-data"
	_, res, err := runProvision(t, f, sampleInput(), nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "NOT undone (still exist): disk/web-data")
	require.Len(t, res.NotUndone, 1)
	require.Equal(t, "web-data", res.NotUndone[0].Name)
	require.Equal(t, f.live["disk/web-data"], res.NotUndone[0].ID)
	require.Contains(t, res.NotUndone[0].Error, "delete refused")
	require.Equal(t, []string{"disk/web-data"}, f.liveNames())
}

func TestProvisionVMKeepsResourcesThatExistedBefore(t *testing.T) {
	f := newFakeCloud()
	f.live["disk/web-data"] = "disk-old"
	f.preexisting["disk/web-data"] = true
	f.failCreate = "vm/web"
	_, res, err := runProvision(t, f, sampleInput(), nil)
	require.Error(t, err)
	require.Equal(t, []string{"disk/web-data"}, f.liveNames(), "the pre-existing disk is kept")
	require.Equal(t, StepKept, stepState(res.Steps, "disk/web-data"))
}

func TestProvisionVMCancelledUndoesEverything(t *testing.T) {
	f := newFakeCloud()
	// The VM's wait blocks until the activity is cancelled; once it has
	// started, the workflow is cancelled from outside, as a user would.
	f.waitDelay["vm/web"] = time.Hour
	_, res, err := runProvision(t, f, sampleInput(), func(env *testsuite.TestWorkflowEnvironment) {
		env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
			var in activities.WaitInput
			if info.ActivityType.Name == "CrusoeWait" && args.Get(&in) == nil && in.Kind == KindVM && !in.Gone {
				go env.CancelWorkflow()
			}
		})
	})
	require.Error(t, err)
	require.True(t, temporal.IsCanceledError(err), "%v", err)
	require.Empty(t, f.liveNames())
	require.Contains(t, res.Undone, "vm/web")
	require.Contains(t, res.Undone, "disk/web-data")
}

func runDeprovisionVM(t *testing.T, f *fakeCloud, in DeprovisionVMInput) (DeprovisionVMResult, error) {
	t.Helper()
	_, res, err := runWorkflow[DeprovisionVMResult](t, DeprovisionVM, in, f.install, nil)
	return res, err
}

func TestDeprovisionVM(t *testing.T) {
	f := newFakeCloud()
	f.live = map[string]string{"vm/web": "v1", "disk/web-data": "d1", "firewall-rule/web-ssh": "r1"}
	res, err := runDeprovisionVM(t, f, DeprovisionVMInput{
		VMName: "web", DiskNames: []string{"web-data", "web-scratch"}, FirewallRules: []string{"web-ssh"},
	})
	require.NoError(t, err)
	require.Empty(t, f.liveNames())
	require.Len(t, res.Deleted, 3)
	require.Equal(t, []Resource{{Kind: KindDisk, Name: "web-scratch"}}, res.AlreadyGone)
	// Rules, then the VM, then disks.
	require.Equal(t, "delete firewall-rule/web-ssh", f.calls[0])
}

func TestDeprovisionVMLeavesDisksWhenTheVMStays(t *testing.T) {
	f := newFakeCloud()
	f.live = map[string]string{"vm/web": "v1", "disk/web-data": "d1"}
	f.failDelete = "vm/web"
	_, err := runDeprovisionVM(t, f, DeprovisionVMInput{VMName: "web", DiskNames: []string{"web-data"}})
	require.Error(t, err)
	require.Contains(t, err.Error(), "could not delete vm/web, disk/web-data")
	require.Equal(t, []string{"disk/web-data", "vm/web"}, f.liveNames())
	require.NotContains(t, f.calls, "delete disk/web-data")
}
