package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
)

// fakeKraft stands in for the KraftCloud fleet activities: instances by name
// with a state, the batch calls it received, and item failures to inject.
type fakeKraft struct {
	mu     sync.Mutex
	state  map[string]string
	starts map[string]int
	calls  [][]string // refs of each batch call
	waits  [][]string
	// transient makes that many calls for an instance fail with code 12.
	transient map[string]int
	// slow instances answer "starting" and need the wait activity.
	slow map[string]bool
	// waitTimeouts makes that many wait calls give up on an instance
	// (WaitTimeout), waitFails that many fail it with code 12; each wait
	// call takes waitTook on the workflow's clock.
	waitTimeouts, waitFails map[string]int
	waitTook                time.Duration
	waitIns                 []activities.KraftCloudWaitInput
	// startTook is how long each batch call takes on the workflow's clock.
	startTook time.Duration
}

func newFakeKraft(n int, state string) *fakeKraft {
	f := &fakeKraft{state: map[string]string{}, starts: map[string]int{}, transient: map[string]int{}, slow: map[string]bool{},
		waitTimeouts: map[string]int{}, waitFails: map[string]int{}}
	for i := 1; i <= n; i++ {
		f.state[fmt.Sprintf("web-%d", i)] = state
	}
	return f
}

func (f *fakeKraft) start(_ context.Context, in activities.KraftCloudBatchInput) (activities.BatchResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, in.Refs)
	res := activities.BatchResult{Calls: 1}
	for _, r := range in.Refs {
		st, ok := f.state[r]
		switch {
		case !ok:
			res.Items = append(res.Items, activities.ItemResult{Ref: r, Outcome: activities.OutcomeFailed, Code: "8", Message: "No instance with name '" + r + "'"})
		case f.transient[r] > 0:
			f.transient[r]--
			res.Items = append(res.Items, activities.ItemResult{Ref: r, Outcome: activities.OutcomeFailed, Code: "12", Message: "unavailable", Retryable: true})
		case st != kraftcloud.StateStopped:
			res.Items = append(res.Items, activities.ItemResult{Ref: r, State: st, Outcome: activities.OutcomeFailed, Code: "9", Message: "instance " + r + " is already running"})
		case f.slow[r]:
			f.starts[r]++
			f.state[r] = kraftcloud.StateStarting
			res.Items = append(res.Items, activities.ItemResult{Ref: r, State: kraftcloud.StateStarting, Outcome: activities.OutcomeWait})
		default:
			f.starts[r]++
			f.state[r] = kraftcloud.StateRunning
			res.Items = append(res.Items, activities.ItemResult{Ref: r, State: kraftcloud.StateRunning, Outcome: activities.OutcomeDone})
		}
	}
	return res, nil
}

func (f *fakeKraft) wait(_ context.Context, in activities.KraftCloudWaitInput) (activities.BatchResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits = append(f.waits, in.Refs)
	f.waitIns = append(f.waitIns, in)
	res := activities.BatchResult{Calls: 1}
	for _, r := range in.Refs {
		switch {
		case f.waitTimeouts[r] > 0:
			f.waitTimeouts[r]--
			res.Items = append(res.Items, activities.ItemResult{Ref: r, State: f.state[r], Outcome: activities.OutcomeFailed,
				Code: activities.ErrTypeWaitTimeout, Message: fmt.Sprintf("still %s after %s", f.state[r], in.Timeout)})
		case f.waitFails[r] > 0:
			f.waitFails[r]--
			res.Items = append(res.Items, activities.ItemResult{Ref: r, Outcome: activities.OutcomeFailed, Code: "12", Message: "unavailable", Retryable: true})
		default:
			f.state[r] = in.State
			res.Items = append(res.Items, activities.ItemResult{Ref: r, State: in.State, Outcome: activities.OutcomeDone})
		}
	}
	return res, nil
}

func (f *fakeKraft) register(env *testsuite.TestWorkflowEnvironment) {
	var kc *activities.KraftCloudActivities
	env.RegisterActivity(kc)
	env.OnActivity(kc.KraftCloudStartInstances, mockAny, mockAny).Return(f.start).After(f.startTook)
	env.OnActivity(kc.KraftCloudWaitInstances, mockAny, mockAny).Return(f.wait).After(f.waitTook)
}

func names(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("web-%d", i))
	}
	return out
}

// runFleetChain runs a fleet workflow to its end, starting each
// continue-as-new run in a fresh test environment as the server would.
func runFleetChain(t *testing.T, wf func(workflow.Context, FleetInput) (FleetResult, error), in FleetInput, register func(*testsuite.TestWorkflowEnvironment)) (FleetResult, error, int) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	for runs := 1; ; runs++ {
		env := s.NewTestWorkflowEnvironment()
		sums := &summaries{}
		sums.install(env)
		register(env)
		env.ExecuteWorkflow(wf, in)
		require.True(t, env.IsWorkflowCompleted())
		sums.requireSummarized(t)
		err := env.GetWorkflowError()
		var can *workflow.ContinueAsNewError
		if errors.As(err, &can) {
			require.NoError(t, converterFor().FromPayloads(can.Input, &in))
			require.NotNil(t, in.Carry)
			continue
		}
		var res FleetResult
		if err == nil {
			require.NoError(t, env.GetWorkflowResult(&res))
		} else {
			var app *temporal.ApplicationError
			if errors.As(err, &app) && app.HasDetails() {
				require.NoError(t, app.Details(&res))
			}
		}
		return res, err, runs
	}
}

func TestStartInstancesBatchesAndReportsEveryInstance(t *testing.T) {
	f := newFakeKraft(600, kraftcloud.StateStopped)
	res, err, runs := runFleetChain(t, StartInstances, FleetInput{Provider: ProviderKraftCloud, Instances: names(1, 600)}, f.register)
	require.NoError(t, err)
	require.Equal(t, 1, runs)
	require.Len(t, f.calls, 3, "600 instances in chunks of 250 take 3 start calls")
	require.Len(t, res.Succeeded, 600)
	require.Empty(t, res.Failed)
	for n, c := range f.starts {
		require.Equal(t, 1, c, "%s started once", n)
	}
	require.Equal(t, 3, res.Calls)
}

func TestStartInstancesPartialSuccessIsReportedPerItem(t *testing.T) {
	f := newFakeKraft(10, kraftcloud.StateStopped)
	f.state["web-3"] = kraftcloud.StateRunning
	refs := append(names(1, 10), "web-404", "web-5", "Not_A_Name")
	res, err, _ := runFleetChain(t, StartInstances, FleetInput{Provider: ProviderKraftCloud, Instances: refs, ChunkSize: 4}, f.register)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, ErrTypeFleetIncomplete, app.Type())
	require.Equal(t, 13, res.Total)
	require.Len(t, res.Succeeded, 9)
	failed := map[string]string{}
	for _, it := range res.Failed {
		failed[it.Ref] = it.Code
	}
	require.Equal(t, map[string]string{"web-3": "9", "web-404": "8", "Not_A_Name": "INVALID_NAME"}, failed)
	require.Len(t, res.Skipped, 1)
	require.Equal(t, "web-5", res.Skipped[0].Ref)
	require.Equal(t, "DUPLICATE", res.Skipped[0].Code)
	require.Equal(t, 1, f.starts["web-5"], "a duplicate is acted on once")
	for _, call := range f.calls {
		require.NotContains(t, call, "Not_A_Name", "an invalid name never reaches a batch call")
	}
}

func TestStartInstancesRetriesOnlyFailedItemsUpToTheCap(t *testing.T) {
	f := newFakeKraft(20, kraftcloud.StateStopped)
	f.transient["web-2"] = 1   // passes on round 2
	f.transient["web-7"] = 100 // never passes
	res, err, _ := runFleetChain(t, StartInstances, FleetInput{Provider: ProviderKraftCloud, Instances: names(1, 20), MaxAttempts: 3}, f.register)
	require.Error(t, err)
	require.Len(t, res.Succeeded, 19)
	require.Len(t, res.Failed, 1)
	require.Equal(t, "web-7", res.Failed[0].Ref)
	require.Equal(t, "12", res.Failed[0].Code)
	require.Equal(t, 3, res.Failed[0].Attempts)
	require.Len(t, f.calls, 3)
	require.Len(t, f.calls[0], 20)
	require.ElementsMatch(t, []string{"web-2", "web-7"}, f.calls[1], "round 2 retries only the failed items")
	require.Equal(t, []string{"web-7"}, f.calls[2])
}

func TestStartInstancesWaitsForSlowInstances(t *testing.T) {
	f := newFakeKraft(5, kraftcloud.StateStopped)
	f.slow["web-2"], f.slow["web-4"] = true, true
	res, err, _ := runFleetChain(t, StartInstances, FleetInput{Provider: ProviderKraftCloud, Instances: names(1, 5)}, f.register)
	require.NoError(t, err)
	require.Len(t, res.Succeeded, 5)
	require.Equal(t, [][]string{{"web-2", "web-4"}}, f.waits, "only instances still starting are waited for")
}

// A wait that gives up on instances before the wait timeout is spent is
// followed by another, with what is left of it; each instance is started
// once and none is reported failed while it may still arrive.
func TestStartInstancesWaitsOutTheWaitTimeout(t *testing.T) {
	f := newFakeKraft(3, kraftcloud.StateStopped)
	f.slow["web-2"], f.slow["web-3"] = true, true
	f.waitTook = 2 * time.Minute
	f.waitTimeouts["web-2"] = 2 // arrives on the third wait
	f.waitFails["web-3"] = 1    // a failure worth retrying, then arrives
	res, err, _ := runFleetChain(t, StartInstances, FleetInput{Provider: ProviderKraftCloud, Instances: names(1, 3)}, f.register)
	require.NoError(t, err, "%+v", res.Failed)
	require.ElementsMatch(t, names(1, 3), res.Succeeded)
	require.Len(t, f.calls, 1, "one start call, no retry round")
	for n, c := range f.starts {
		require.Equal(t, 1, c, "%s started once", n)
	}
	require.Equal(t, [][]string{{"web-2", "web-3"}, {"web-2", "web-3"}, {"web-2"}}, f.waits)
	var timeouts []time.Duration
	for _, in := range f.waitIns {
		timeouts = append(timeouts, in.Timeout)
	}
	// 2 min per wait, and a pause of 1 s after web-3's failure.
	require.Equal(t, []time.Duration{5 * time.Minute, 3*time.Minute - time.Second, time.Minute - time.Second}, timeouts,
		"each wait gets what is left of the wait timeout")
}

// Instances that never arrive are reported once the wait timeout is spent,
// with a clear code and message, and are not started again.
func TestStartInstancesReportsWaitTimeoutOnceSpent(t *testing.T) {
	f := newFakeKraft(2, kraftcloud.StateStopped)
	f.slow["web-1"], f.slow["web-2"] = true, true
	f.waitTook = 2 * time.Minute
	f.waitTimeouts["web-1"] = 100
	f.waitTimeouts["web-2"] = 1
	res, err, _ := runFleetChain(t, StartInstances, FleetInput{Provider: ProviderKraftCloud, Instances: names(1, 2)}, f.register)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, ErrTypeFleetIncomplete, app.Type())
	require.Equal(t, []string{"web-2"}, res.Succeeded)
	require.Len(t, res.Failed, 1)
	require.Equal(t, FleetItem{Ref: "web-1", State: kraftcloud.StateStarting, Code: activities.ErrTypeWaitTimeout,
		Message: "still starting, not running, after 5m0s (the wait timeout)", Attempts: 1}, res.Failed[0])
	require.Len(t, f.waits, 3, "waits at 0, 2 and 4 minutes; at 6 the wait timeout is spent")
	require.Len(t, f.calls, 1, "never started again")
	require.Equal(t, 1, f.starts["web-1"])
}

// A wait item the cloud failed for a reason worth retrying keeps its own
// code and message when the wait timeout runs out.
func TestStartInstancesKeepsTheCloudsCodeWhenTheWaitRunsOut(t *testing.T) {
	f := newFakeKraft(1, kraftcloud.StateStopped)
	f.slow["web-1"] = true
	f.waitTook = time.Minute
	f.waitFails["web-1"] = 100
	res, err, _ := runFleetChain(t, StartInstances, FleetInput{Provider: ProviderKraftCloud, Instances: names(1, 1), WaitTimeout: 3 * time.Minute}, f.register)
	require.Error(t, err)
	require.Len(t, res.Failed, 1)
	require.Equal(t, "12", res.Failed[0].Code)
	require.Equal(t, "unavailable", res.Failed[0].Message)
	require.Len(t, f.calls, 1, "never started again")
}

// A run that has done its ItemsPerRun continues as new, handing over what
// it learned: here each batch call takes a second, so every run is old
// enough to hand over at once.
func TestStartInstancesContinuesAsNew(t *testing.T) {
	f := newFakeKraft(1000, kraftcloud.StateStopped)
	f.startTook = time.Second
	refs := append(names(1, 1000), "web-1") // a duplicate across run boundaries
	res, err, runs := runFleetChain(t, StartInstances, FleetInput{Provider: ProviderKraftCloud, Instances: refs, ItemsPerRun: 300}, f.register)
	require.NoError(t, err)
	require.Equal(t, 4, runs)
	require.Equal(t, 4, res.Runs)
	require.Equal(t, 1001, res.Total)
	require.Len(t, res.Succeeded, 1000)
	require.Len(t, res.Skipped, 1)
	for n, c := range f.starts {
		require.Equal(t, 1, c, "%s started once", n)
	}
}

// A run that did its ItemsPerRun in less than a second goes on with the
// next ones: Temporal would hold its successor's first task until the
// second is up. Once a second old, it continues as new.
func TestFleetRunYoungerThanASecondKeepsGoing(t *testing.T) {
	f := newFakeKraft(1000, kraftcloud.StateStopped)
	res, err, runs := runFleetChain(t, StartInstances, FleetInput{Provider: ProviderKraftCloud, Instances: names(1, 1000), ChunkSize: 100, ItemsPerRun: 300}, f.register)
	require.NoError(t, err)
	require.Equal(t, 1, runs, "instant calls: the run never got a second old")
	require.Len(t, res.Succeeded, 1000)
	require.Len(t, f.calls, 10)

	f = newFakeKraft(1000, kraftcloud.StateStopped)
	f.startTook = 400 * time.Millisecond // 200 instances: 2 calls at once
	res, err, runs = runFleetChain(t, StartInstances, FleetInput{Provider: ProviderKraftCloud, Instances: names(1, 1000), ChunkSize: 100, ItemsPerRun: 200}, f.register)
	require.NoError(t, err)
	require.Len(t, res.Succeeded, 1000)
	require.Equal(t, 2, runs, "the first run does 200 three times (1.2 s), the second the last 400")
	require.Equal(t, 2, res.Runs)
}

// Runs recorded before the measured KraftCloud defaults keep the old ones
// (100 a call, 4 calls in flight, 2000 a run) when they replay; new runs
// take the measured ones.
func TestFleetDefaultsAreVersioned(t *testing.T) {
	in := FleetInput{Provider: ProviderKraftCloud, Instances: []string{"a"}}.WithDefaults()
	require.Equal(t, FleetInput{Provider: ProviderKraftCloud, Instances: []string{"a"}, ChunkSize: 250, Concurrency: 40,
		MaxAttempts: DefaultMaxAttempts, WaitTimeout: DefaultWaitTimeout, ItemsPerRun: 10000}, in)

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f := newFakeKraft(1000, kraftcloud.StateStopped)
	f.register(env)
	env.OnGetVersion(changeFleetDefaults, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.ExecuteWorkflow(StartInstances, FleetInput{Provider: ProviderKraftCloud, Instances: names(1, 1000)})
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, f.calls, 10, "the old chunks of 100")
}

func TestFleetProgressQuery(t *testing.T) {
	f := newFakeKraft(30, kraftcloud.StateStopped)
	f.slow["web-30"] = true
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	var kc *activities.KraftCloudActivities
	env.RegisterActivity(kc)
	env.OnActivity(kc.KraftCloudStartInstances, mockAny, mockAny).Return(f.start)
	var mid FleetProgress
	env.OnActivity(kc.KraftCloudWaitInstances, mockAny, mockAny).Return(func(ctx context.Context, in activities.KraftCloudWaitInput) (activities.BatchResult, error) {
		v, err := env.QueryWorkflow(ProgressQuery)
		require.NoError(t, err)
		require.NoError(t, v.Get(&mid))
		return f.wait(ctx, in)
	})
	env.ExecuteWorkflow(StartInstances, FleetInput{Provider: ProviderKraftCloud, Instances: names(1, 30), ChunkSize: 10, Concurrency: 1})
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 30, mid.Total)
	require.Equal(t, 29, mid.Succeeded, "the first 29 have started when the last one is waited for")
	require.Equal(t, 1, mid.Pending)
	require.Equal(t, 1, mid.InFlight)
	v, err := env.QueryWorkflow(ProgressQuery)
	require.NoError(t, err)
	var end FleetProgress
	require.NoError(t, v.Get(&end))
	require.Equal(t, PhaseCompleted, end.Phase)
	require.Equal(t, 30, end.Succeeded)
	require.Zero(t, end.Pending)
}

func TestFleetInputIsValidatedBeforeAnyCall(t *testing.T) {
	for _, in := range []FleetInput{
		{Instances: []string{"a"}},
		{Provider: "aws", Instances: []string{"a"}},
		{Provider: ProviderKraftCloud},
		{Provider: ProviderKraftCloud, Instances: []string{"a"}, ChunkSize: 5000},
		{Provider: ProviderKraftCloud, Instances: []string{"a"}, MaxAttempts: -1},
	} {
		var s testsuite.WorkflowTestSuite
		env := s.NewTestWorkflowEnvironment()
		newFakeKraft(0, "").register(env)
		env.ExecuteWorkflow(StartInstances, in)
		var app *temporal.ApplicationError
		require.ErrorAs(t, env.GetWorkflowError(), &app)
		require.Equal(t, ErrTypeInvalidFleet, app.Type(), "%+v", in)
	}
}

// fakeCrusoeFleet stands in for the Crusoe fleet activities.
type fakeCrusoeFleet struct {
	mu      sync.Mutex
	state   map[string]string
	actions []string
	failOp  map[string]int
	lookups int
	// waitTimeouts makes that many waits for a VM give up (WaitTimeout),
	// each after waitTook on the workflow's clock.
	waitTimeouts map[string]int
	waitTook     time.Duration
	waitIns      []activities.WaitInput
}

func (f *fakeCrusoeFleet) register(env *testsuite.TestWorkflowEnvironment) {
	var cr *activities.CrusoeActivities
	env.RegisterActivity(cr)
	env.OnActivity(cr.CrusoeFindVMs, mockAny, mockAny).Return(func(_ context.Context, in activities.FindVMsInput) (activities.FindVMsResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.lookups++
		var res activities.FindVMsResult
		for _, n := range in.Names {
			st, ok := f.state[n]
			res.VMs = append(res.VMs, activities.FoundVM{Name: n, Found: ok, ID: "id-" + n, State: st})
		}
		return res, nil
	})
	env.OnActivity(cr.CrusoeVMAction, mockAny, mockAny).Return(func(_ context.Context, in activities.VMActionInput) (activities.VMActionResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.actions = append(f.actions, in.Action+" "+in.Name)
		return activities.VMActionResult{OperationID: "op-" + in.Name}, nil
	})
	env.OnActivity(cr.CrusoeWait, mockAny, mockAny).Return(func(_ context.Context, in activities.WaitInput) (activities.WaitResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.waitIns = append(f.waitIns, in)
		if f.waitTimeouts[in.Name] > 0 {
			f.waitTimeouts[in.Name]--
			return activities.WaitResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("vm %s (operation %s) still IN_PROGRESS after %s", in.Name, in.OperationID, in.Timeout), activities.ErrTypeWaitTimeout, nil)
		}
		if f.failOp[in.Name] > 0 {
			f.failOp[in.Name]--
			return activities.WaitResult{}, temporal.NewNonRetryableApplicationError("vm "+in.Name+" failed", activities.ErrTypeOperationFailed, nil,
				activities.CloudErrorDetails{Cloud: "crusoe", Code: "internal", Message: "host lost"})
		}
		f.state[in.Name] = in.TargetState
		return activities.WaitResult{ResourceID: in.ResourceID, State: in.TargetState}, nil
	}).After(f.waitTook)
}

func TestStartInstancesOnCrusoe(t *testing.T) {
	f := &fakeCrusoeFleet{state: map[string]string{
		"vm-1": crusoe.VMStateStopped, "vm-2": crusoe.VMStateRunning, "vm-3": crusoe.VMStateStarting,
		"vm-4": crusoe.VMStateShutoff, "vm-5": crusoe.VMStateDeleting, "vm-6": crusoe.VMStateStopped,
	}, failOp: map[string]int{"vm-6": 1}}
	refs := []string{"vm-1", "vm-2", "vm-3", "vm-4", "vm-5", "vm-6", "vm-404"}
	res, err, _ := runFleetChain(t, StartInstances, FleetInput{Provider: ProviderCrusoe, Instances: refs}, f.register)
	require.Error(t, err)
	require.ElementsMatch(t, []string{"vm-1", "vm-3", "vm-4", "vm-6"}, res.Succeeded)
	failed := map[string]string{}
	for _, it := range res.Failed {
		failed[it.Ref] = it.Code
	}
	require.Equal(t, map[string]string{"vm-2": "ALREADY_RUNNING", "vm-5": "INVALID_STATE", "vm-404": "NOT_FOUND"}, failed)
	// vm-3 was already starting: waited for, not started again; vm-6's failed
	// operation was retried in round 2.
	require.ElementsMatch(t, []string{"START vm-1", "START vm-4", "START vm-6", "START vm-6"}, f.actions)
	require.Equal(t, 2, f.lookups, "one lookup per round")
}

func TestStopInstancesOnCrusoe(t *testing.T) {
	f := &fakeCrusoeFleet{state: map[string]string{"vm-1": crusoe.VMStateRunning, "vm-2": crusoe.VMStateStopped}}
	res, err, _ := runFleetChain(t, StopInstances, FleetInput{Provider: ProviderCrusoe, Instances: []string{"vm-1", "vm-2"}}, f.register)
	require.Error(t, err)
	require.Equal(t, []string{"vm-1"}, res.Succeeded)
	require.Equal(t, "ALREADY_STOPPED", res.Failed[0].Code)
	require.True(t, strings.Contains(res.Failed[0].Message, "already stopped"))
	require.Equal(t, []string{"STOP vm-1"}, f.actions)
}

var mockAny = mock.Anything

func converterFor() converter.DataConverter { return converter.GetDefaultDataConverter() }

// fakeCloudMCFleet stands in for the CloudMC fleet activities: instances by
// name (host names, any case) with a state, and tasks that fail once.
type fakeCloudMCFleet struct {
	mu       sync.Mutex
	state    map[string]string
	actions  []string
	lookups  [][]string
	waits    []activities.CloudMCWaitInput
	failTask map[string]int
	// refuse makes the action on an instance fail with this error.
	refuse map[string]error
	// waitTimeouts makes that many waits for an instance give up
	// (WaitTimeout), each after waitTook on the workflow's clock.
	waitTimeouts map[string]int
	waitTook     time.Duration
}

func (f *fakeCloudMCFleet) register(env *testsuite.TestWorkflowEnvironment) {
	var cm *activities.CloudMCActivities
	env.RegisterActivity(cm)
	env.OnActivity(cm.CloudMCFindInstances, mockAny, mockAny).Return(func(_ context.Context, in activities.CloudMCFindInstancesInput) (activities.CloudMCFindInstancesResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.lookups = append(f.lookups, in.Names)
		var res activities.CloudMCFindInstancesResult
		for _, n := range in.Names {
			st, ok := f.state[strings.ToLower(n)]
			res.Instances = append(res.Instances, activities.CloudMCFoundInstance{Name: n, Found: ok, ID: "id-" + strings.ToLower(n), State: st})
		}
		return res, nil
	})
	env.OnActivity(cm.CloudMCInstanceAction, mockAny, mockAny).Return(func(_ context.Context, in activities.CloudMCInstanceActionInput) (activities.CloudMCInstanceActionResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.actions = append(f.actions, in.Action+" "+in.Name)
		if err := f.refuse[in.Name]; err != nil {
			return activities.CloudMCInstanceActionResult{}, err
		}
		return activities.CloudMCInstanceActionResult{TaskID: "task-" + in.Name}, nil
	})
	env.OnActivity(cm.CloudMCWaitTask, mockAny, mockAny).Return(func(_ context.Context, in activities.CloudMCWaitInput) (activities.CloudMCWaitResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.waits = append(f.waits, in)
		if f.waitTimeouts[in.Name] > 0 {
			f.waitTimeouts[in.Name]--
			return activities.CloudMCWaitResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("instance %s (task %s) still PENDING after %s", in.Name, in.TaskID, in.Timeout), activities.ErrTypeWaitTimeout, nil)
		}
		if f.failTask[in.Name] > 0 {
			f.failTask[in.Name]--
			return activities.CloudMCWaitResult{}, temporal.NewNonRetryableApplicationError("instance "+in.Name+" (task "+in.TaskID+") failed", activities.ErrTypeOperationFailed, nil,
				activities.CloudErrorDetails{Cloud: "cloudmc", Code: "2050", Message: "no capacity"})
		}
		f.state[strings.ToLower(in.Name)] = in.State
		return activities.CloudMCWaitResult{ResourceID: in.ResourceID, State: in.State, Resolution: "task", Polls: 2}, nil
	}).After(f.waitTook)
}

func cmcNames(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("cmc-%d", i))
	}
	return out
}

func TestStartInstancesOnCloudMC(t *testing.T) {
	f := &fakeCloudMCFleet{state: map[string]string{
		"cmc-1": cloudmc.InstanceStateStopped, "cmc-2": cloudmc.InstanceStateRunning, "cmc-3": cloudmc.InstanceStateStarting,
		"cmc-4": cloudmc.InstanceStateCreating, "cmc-5": cloudmc.InstanceStateStopped,
	}, failTask: map[string]int{"cmc-5": 1}}
	refs := []string{"cmc-1", "cmc-2", "cmc-3", "cmc-4", "cmc-5", "cmc-404", "CMC-1", "9-lives"}
	res, err, _ := runFleetChain(t, StartInstances, FleetInput{Provider: ProviderCloudMC, Instances: refs}, f.register)
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, ErrTypeFleetIncomplete, app.Type())
	require.Equal(t, 8, res.Total)
	require.ElementsMatch(t, []string{"cmc-1", "cmc-3", "cmc-5"}, res.Succeeded)
	failed := map[string]string{}
	for _, it := range res.Failed {
		failed[it.Ref] = it.Code
	}
	require.Equal(t, map[string]string{"cmc-2": "ALREADY_RUNNING", "cmc-4": "INVALID_STATE", "cmc-404": "NOT_FOUND", "9-lives": "INVALID_NAME"}, failed)
	require.Len(t, res.Skipped, 1)
	require.Equal(t, "CMC-1", res.Skipped[0].Ref, "host names match in any case: a duplicate")
	// cmc-3 was already starting: waited for, not started again; cmc-5's
	// failed task was retried in round 2.
	require.ElementsMatch(t, []string{"start cmc-1", "start cmc-5", "start cmc-5"}, f.actions)
	require.Equal(t, [][]string{{"cmc-1", "cmc-2", "cmc-3", "cmc-4", "cmc-5", "cmc-404"}, {"cmc-5"}}, f.lookups, "one lookup per round")
	for _, w := range f.waits {
		require.Equal(t, activities.KindCloudMCInstance, w.Kind)
		require.Equal(t, cloudmc.InstanceStateRunning, w.State)
		require.Equal(t, "id-"+w.Name, w.ResourceID)
		if w.Name == "cmc-3" {
			require.Empty(t, w.TaskID, "no task of its own: the waiter reads the instance")
		} else {
			require.Equal(t, "task-"+w.Name, w.TaskID)
		}
	}
	for _, it := range res.Failed {
		require.NotContains(t, it.Message, "vm ", "messages name instances, not VMs: %s", it.Message)
	}
}

func TestStopInstancesOnCloudMC(t *testing.T) {
	f := &fakeCloudMCFleet{state: map[string]string{
		"cmc-1": cloudmc.InstanceStateRunning, "cmc-2": cloudmc.InstanceStateStopped, "cmc-3": cloudmc.InstanceStateStopping,
	}}
	res, err, _ := runFleetChain(t, StopInstances, FleetInput{Provider: ProviderCloudMC, Instances: cmcNames(1, 3)}, f.register)
	require.Error(t, err)
	require.ElementsMatch(t, []string{"cmc-1", "cmc-3"}, res.Succeeded)
	require.Len(t, res.Failed, 1)
	require.Equal(t, "ALREADY_STOPPED", res.Failed[0].Code)
	require.Equal(t, "instance cmc-2 is already stopped", res.Failed[0].Message)
	require.Equal(t, []string{"stop cmc-1"}, f.actions)
	for _, w := range f.waits {
		require.Equal(t, cloudmc.InstanceStateStopped, w.State)
	}
	// One list call, two actions' worth of polls: start and wait calls are counted.
	require.Equal(t, 1+1+2*2, res.Calls)
}

// A large CloudMC fleet takes the Crusoe defaults: 250 instances a run, one
// lookup call per run, 16 in flight.
func TestCloudMCFleetDefaultsAndContinueAsNew(t *testing.T) {
	in := FleetInput{Provider: ProviderCloudMC, Instances: []string{"a"}}.WithDefaults()
	require.Equal(t, DefaultCrusoeConcurrency, in.Concurrency)
	require.Equal(t, DefaultCrusoeItemsPerRun, in.ItemsPerRun)

	f := &fakeCloudMCFleet{state: map[string]string{}, waitTook: time.Second}
	for _, n := range cmcNames(1, 300) {
		f.state[n] = cloudmc.InstanceStateStopped
	}
	res, err, runs := runFleetChain(t, StartInstances, FleetInput{Provider: ProviderCloudMC, Instances: cmcNames(1, 300)}, f.register)
	require.NoError(t, err)
	require.Equal(t, 2, runs)
	require.Len(t, res.Succeeded, 300)
	require.Len(t, f.lookups, 2, "one list call per run")
	require.Len(t, f.lookups[0], 250)
	require.Len(t, f.actions, 300)
}

// A wait that ends in a refusal (not a failed task) is final: no second round.
func TestCloudMCFleetRefusalIsNotRetried(t *testing.T) {
	f := &fakeCloudMCFleet{state: map[string]string{"cmc-1": cloudmc.InstanceStateStopped}, refuse: map[string]error{
		"cmc-1": temporal.NewNonRetryableApplicationError("start instance cmc-1", activities.ErrTypeAPI, nil,
			activities.CloudErrorDetails{Cloud: "cloudmc", StatusCode: 400, Code: "2012", Message: "Cannot start an instance that is Destroying"}),
	}}
	res, err, _ := runFleetChain(t, StartInstances, FleetInput{Provider: ProviderCloudMC, Instances: []string{"cmc-1"}}, f.register)
	require.Error(t, err)
	require.Len(t, res.Failed, 1)
	require.Equal(t, "2012", res.Failed[0].Code)
	require.Equal(t, 1, res.Failed[0].Attempts)
	require.Len(t, f.lookups, 1)
}

func TestValidRefCloudMC(t *testing.T) {
	for _, ok := range []string{"web-1", "W", "a" + strings.Repeat("b", 62), "Web-01-x"} {
		require.NoError(t, ValidRef(ProviderCloudMC, ok), ok)
	}
	for _, bad := range []string{"", "1web", "-web", "web-", "web_1", "web 1", "web.example", "a" + strings.Repeat("b", 63)} {
		require.Error(t, ValidRef(ProviderCloudMC, bad), bad)
	}
	require.NoError(t, FleetInput{Provider: ProviderCloudMC, Instances: []string{"a"}}.Validate())
}

// A Crusoe wait that gives up before the wait timeout is spent (a poll that
// would have crossed it, a long Retry-After) waits again with what is left,
// a second at least; a VM that never gets there is reported once it is
// spent, started once.
func TestCrusoeFleetWaitsOutTheWaitTimeout(t *testing.T) {
	f := &fakeCrusoeFleet{state: map[string]string{"vm-1": crusoe.VMStateStopped, "vm-2": crusoe.VMStateStopped},
		waitTimeouts: map[string]int{"vm-1": 1, "vm-2": 100}, waitTook: 2 * time.Minute}
	in := FleetInput{Provider: ProviderCrusoe, Instances: []string{"vm-1", "vm-2"}, WaitTimeout: 4*time.Minute + 500*time.Millisecond}
	res, err, _ := runFleetChain(t, StartInstances, in, f.register)
	require.Error(t, err)
	require.Equal(t, []string{"vm-1"}, res.Succeeded)
	require.Equal(t, []FleetItem{{Ref: "vm-2", ID: "id-vm-2", Code: activities.ErrTypeWaitTimeout,
		Message: "not STATE_RUNNING after 4m0.5s, the wait timeout", Attempts: 1}}, res.Failed)
	require.ElementsMatch(t, []string{"START vm-1", "START vm-2"}, f.actions, "each VM started once, no retry round")
	var vm1, vm2 []time.Duration
	for _, in := range f.waitIns {
		require.Equal(t, "op-"+in.Name, in.OperationID, "every wait follows the same operation")
		if in.Name == "vm-1" {
			vm1 = append(vm1, in.Timeout)
		} else {
			vm2 = append(vm2, in.Timeout)
		}
	}
	require.Equal(t, []time.Duration{4*time.Minute + 500*time.Millisecond, 2*time.Minute + 500*time.Millisecond}, vm1)
	require.Equal(t, []time.Duration{4*time.Minute + 500*time.Millisecond, 2*time.Minute + 500*time.Millisecond, time.Second}, vm2,
		"the last wait gets a second, not the half second left")
}

// A waiter that keeps giving up at once is waited on maxWaits times, then
// reported with its own message.
func TestCrusoeFleetBoundsTheWaits(t *testing.T) {
	f := &fakeCrusoeFleet{state: map[string]string{"vm-1": crusoe.VMStateStopped},
		waitTimeouts: map[string]int{"vm-1": 100}, waitTook: time.Second}
	res, err, _ := runFleetChain(t, StartInstances, FleetInput{Provider: ProviderCrusoe, Instances: []string{"vm-1"}}, f.register)
	require.Error(t, err)
	require.Len(t, f.waitIns, maxWaits)
	require.Len(t, res.Failed, 1)
	require.Equal(t, activities.ErrTypeWaitTimeout, res.Failed[0].Code)
	require.Contains(t, res.Failed[0].Message, "vm vm-1 (operation op-vm-1) still IN_PROGRESS", "the wait timeout is not spent: the waiter's own words")
}

// The same for CloudMC instances.
func TestCloudMCFleetWaitsOutTheWaitTimeout(t *testing.T) {
	f := &fakeCloudMCFleet{state: map[string]string{"cmc-1": cloudmc.InstanceStateRunning, "cmc-2": cloudmc.InstanceStateRunning},
		waitTimeouts: map[string]int{"cmc-1": 2, "cmc-2": 100}, waitTook: 50 * time.Second}
	res, err, _ := runFleetChain(t, StopInstances, FleetInput{Provider: ProviderCloudMC, Instances: cmcNames(1, 2), WaitTimeout: 2 * time.Minute}, f.register)
	require.Error(t, err)
	require.Equal(t, []string{"cmc-1"}, res.Succeeded)
	require.Len(t, res.Failed, 1)
	require.Equal(t, activities.ErrTypeWaitTimeout, res.Failed[0].Code)
	require.Equal(t, "not Stopped after 2m0s, the wait timeout", res.Failed[0].Message)
	require.ElementsMatch(t, []string{"stop cmc-1", "stop cmc-2"}, f.actions)
	timeouts := map[string][]time.Duration{}
	for _, w := range f.waits {
		timeouts[w.Name] = append(timeouts[w.Name], w.Timeout)
	}
	require.Equal(t, map[string][]time.Duration{
		"cmc-1": {2 * time.Minute, 70 * time.Second, 20 * time.Second},
		"cmc-2": {2 * time.Minute, 70 * time.Second, 20 * time.Second},
	}, timeouts)
}
