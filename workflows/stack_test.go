package workflows

import (
	"context"
	"errors"
	"slices"
	"strings"
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
)

// The Stack workflow's own behaviour, on a container stack whose cloud is
// the container fake (every activity mocked): the lock, the validators, the
// drift timer, continue-as-new and destroy. The plan engine has its own
// tests (stack_plan_test.go); the clouds' stacks run end to end in e2e.

const stackTestTemplate = "centos-7-x86_64"

// stackTest is a Stack under test: its environment and its fake cloud.
type stackTest struct {
	t    *testing.T
	env  *testsuite.TestWorkflowEnvironment
	f    *containerFake
	sums *summaries
}

func newStackTest(t *testing.T, f *containerFake) *stackTest {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	sums := &summaries{}
	sums.install(env)
	env.RegisterWorkflowWithOptions(Stack, workflow.RegisterOptions{Name: StackWorkflowName})
	env.RegisterWorkflowWithOptions(ApplyStack, workflow.RegisterOptions{Name: ApplyStackWorkflowName})
	env.RegisterWorkflowWithOptions(CreateContainer, workflow.RegisterOptions{Name: CreateContainerWorkflowName})
	f.install(env)
	// OpenVZObserve reads the fake: what lives, with the parameters set.
	env.OnActivity("OpenVZObserve", mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ObserveInput) (activities.ObserveResult, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			var out activities.ObserveResult
			for _, ref := range in.Resources {
				o := activities.Observed{Key: ref.Key, Kind: ref.Kind, Name: ref.Name}
				if id, ok := f.live[KindContainer+"/"+ref.Name]; ok {
					o.Found, o.ID = true, id
					o.Attrs = activities.OpenVZParameterAttrs(f.params[id])
					o.Attrs["osTemplate"] = stackTestTemplate
				}
				out.Resources = append(out.Resources, o)
			}
			return out, nil
		})
	return &stackTest{t: t, env: env, f: f, sums: sums}
}

func containerStackSpec() StackSpec {
	in := sampleContainer()
	return StackSpec{Provider: ProviderOpenVZ, OpenVZ: &in}
}

// outcome is what became of one update.
type outcome struct {
	accepted, done bool
	rejected       error
	err            error
	res            StackOperationResult
}

// send sends an update now (call it from a delayed callback).
func (s *stackTest) send(name string, arg any) *outcome {
	o := &outcome{}
	s.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept: func() { o.accepted = true },
		OnReject: func(err error) { o.rejected, o.done = err, true },
		OnComplete: func(v any, err error) {
			o.err, o.done = err, true
			if r, ok := v.(StackOperationResult); ok {
				o.res = r
			}
		},
	}, arg)
	return o
}

// at runs fn once the workflow's clock reaches d.
func (s *stackTest) at(d time.Duration, fn func()) { s.env.RegisterDelayedCallback(fn, d) }

func (s *stackTest) state() StackState {
	s.t.Helper()
	v, err := s.env.QueryWorkflow(StackQueryState)
	require.NoError(s.t, err)
	var st StackState
	require.NoError(s.t, v.Get(&st))
	return st
}

// run runs the stack until it ends.
func (s *stackTest) run(in StackInput) error {
	s.env.ExecuteWorkflow(StackWorkflowName, in)
	require.True(s.t, s.env.IsWorkflowCompleted())
	s.sums.requireSummarized(s.t)
	return s.env.GetWorkflowError()
}

func stackInput() StackInput { return StackInput{Provider: ProviderOpenVZ, Name: "ct100"} }

func requireApplied(t *testing.T, o *outcome, what string) {
	t.Helper()
	require.True(t, o.done, "%s never completed", what)
	require.NoError(t, o.rejected, what)
	require.NoError(t, o.err, what)
}

func requireRejected(t *testing.T, o *outcome, errType, contains string) {
	t.Helper()
	require.True(t, o.done, "never answered")
	require.False(t, o.accepted, "accepted, then %v", o.err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(o.rejected, &app), "want a rejection, got %v", o.rejected)
	require.Equal(t, errType, app.Type(), app.Error())
	require.Contains(t, app.Error(), contains)
}

// index is where the first call starting with prefix is, or -1.
func index(calls []string, prefix string) int {
	return slices.IndexFunc(calls, func(c string) bool { return strings.HasPrefix(c, prefix) })
}

// An apply and a destroy sent together run one after the other: the destroy
// waits for the apply (whose job takes a while) to end, then deletes what
// it made; the end state is the destroy's, and the stack ends.
func TestStackRunsAnApplyAndADestroySentTogetherOneAfterTheOther(t *testing.T) {
	f := newContainerFake()
	f.waitDelay = 300 * time.Millisecond
	s := newStackTest(t, f)
	var apply, destroy *outcome
	s.at(time.Second, func() {
		apply = s.send(StackUpdateApply, StackApplyRequest{Spec: containerStackSpec()})
		destroy = s.send(StackUpdateDestroy, StackDestroyRequest{})
	})
	require.NoError(t, s.run(stackInput()), "the destroy ends the stack")

	requireApplied(t, apply, "apply")
	requireApplied(t, destroy, "destroy")
	require.Equal(t, "apply-1", apply.res.Operation.ID)
	require.Equal(t, "destroy-2", destroy.res.Operation.ID)
	require.Equal(t, StackInSync, apply.res.State.Status)
	require.Equal(t, StackDestroyed, destroy.res.State.Status)
	require.Empty(t, destroy.res.State.Resources)

	f.mu.Lock()
	calls := slices.Clone(f.calls)
	f.mu.Unlock()
	del := index(calls, "delete ")
	require.Positive(t, del, "calls: %v", calls)
	require.Greater(t, del, index(calls, "update "), "the delete came after the apply's last step, not during its job's wait: %v", calls)
	require.Empty(t, f.liveNames())
}

// An operation that asks not to wait is rejected, by the validator, while
// another holds the stack, and the rejection names the holder.
func TestStackBusyFailIsRejectedNamingTheHolder(t *testing.T) {
	f := newContainerFake()
	f.waitDelay = 300 * time.Millisecond
	s := newStackTest(t, f)
	var apply, refresh, destroy *outcome
	s.at(time.Second, func() {
		apply = s.send(StackUpdateApply, StackApplyRequest{Spec: containerStackSpec()})
		refresh = s.send(StackUpdateRefresh, StackRefreshRequest{IfBusy: IfBusyFail})
	})
	var idle *outcome
	s.at(time.Minute, func() { idle = s.send(StackUpdateRefresh, StackRefreshRequest{IfBusy: IfBusyFail}) })
	s.at(2*time.Minute, func() { destroy = s.send(StackUpdateDestroy, StackDestroyRequest{IfBusy: IfBusyFail}) })
	require.NoError(t, s.run(stackInput()))
	requireApplied(t, apply, "apply")
	requireApplied(t, idle, "the same refresh, once the stack is idle")
	requireRejected(t, refresh, ErrTypeStackBusy, "stack openvz/ct100 is busy: operation apply-1 (apply, by update ")
	var app *temporal.ApplicationError
	require.True(t, errors.As(refresh.rejected, &app))
	var holder StackOperation
	require.NoError(t, app.Details(&holder), "the rejection carries the operation holding the stack")
	require.Equal(t, "apply-1", holder.ID)
	requireApplied(t, destroy, "destroy")
}

// The validators reject what cannot be acted on before anything runs: a
// spec for another stack, an invalid spec, an approval with no saved plan,
// a negative refresh interval, an unknown IfBusy. The stack is exactly as it
// was, and no activity ran.
func TestStackValidatorsRejectAndChangeNothing(t *testing.T) {
	f := newContainerFake()
	s := newStackTest(t, f)
	other := containerStackSpec()
	other.OpenVZ.Container.Name = "ct200"
	invalid := containerStackSpec()
	invalid.OpenVZ.Container.Memory = "lots"
	wrongProvider := containerStackSpec()
	wrongProvider.Provider = ProviderCrusoe

	type rejection struct {
		name     string
		o        *outcome
		errType  string
		contains string
	}
	var (
		apply      *outcome
		before     StackState
		calls      int
		rejections []rejection
	)
	s.at(time.Second, func() { apply = s.send(StackUpdateApply, StackApplyRequest{Spec: containerStackSpec()}) })
	s.at(time.Minute, func() {
		before = s.state()
		f.mu.Lock()
		calls = len(f.calls)
		f.mu.Unlock()
		for _, tc := range []struct {
			name, update string
			arg          any
			errType      string
			contains     string
		}{
			{"another stack's spec", StackUpdatePlan, StackPlanRequest{Spec: other}, ErrTypeStackInvalid,
				"this is stack openvz/ct100; the spec is for openvz/ct200"},
			{"an invalid spec", StackUpdateApply, StackApplyRequest{Spec: invalid}, ErrTypeStackInvalid, `container.memory "lots" is not a size`},
			{"a provider the spec does not match", StackUpdateApply, StackApplyRequest{Spec: wrongProvider}, ErrTypeStackInvalid,
				`provider "crusoe" does not match`},
			{"approve with no saved plan", StackUpdateApprove, StackApproveRequest{}, ErrTypeStackInvalid, "has no saved plan"},
			{"discard with no saved plan", StackUpdateDiscard, StackApproveRequest{}, ErrTypeStackInvalid, "has no saved plan"},
			{"a negative refresh interval", StackUpdateSettings, StackSettingsRequest{Settings: StackSettings{RefreshInterval: -time.Second}},
				ErrTypeStackInvalid, "settings.refreshInterval must not be negative"},
			{"a refresh interval too short", StackUpdateSettings, StackSettingsRequest{Settings: StackSettings{RefreshInterval: time.Millisecond}},
				ErrTypeStackInvalid, "at least"},
			{"an unknown IfBusy", StackUpdateDestroy, StackDestroyRequest{IfBusy: "maybe"}, ErrTypeStackInvalid, `ifBusy must be "wait" or "fail"`},
		} {
			rejections = append(rejections, rejection{tc.name, s.send(tc.update, tc.arg), tc.errType, tc.contains})
		}
	})
	s.at(2*time.Minute, func() {
		for _, r := range rejections {
			t.Run(r.name, func(t *testing.T) { requireRejected(t, r.o, r.errType, r.contains) })
		}
		require.Equal(t, before, s.state(), "a rejected update changes nothing")
		f.mu.Lock()
		require.Len(t, f.calls, calls, "a rejected update runs nothing: %v", f.calls)
		f.mu.Unlock()
		s.send(StackUpdateDestroy, StackDestroyRequest{})
	})
	require.NoError(t, s.run(stackInput()))
	requireApplied(t, apply, "apply")
}

// The drift timer re-reads the stack's resources on its interval and
// records what differs from the applied spec, changing nothing in the
// cloud.
func TestStackDriftTimerRecordsDrift(t *testing.T) {
	f := newContainerFake()
	s := newStackTest(t, f)
	in := stackInput()
	in.Settings.RefreshInterval = 10 * time.Minute
	s.at(time.Second, func() { s.send(StackUpdateApply, StackApplyRequest{Spec: containerStackSpec()}) })
	var calls int
	s.at(5*time.Minute, func() {
		st := s.state()
		require.Equal(t, StackInSync, st.Status)
		// Behind the stack's back: two CPUs become four.
		f.mu.Lock()
		id := f.live["container/ct100"]
		p := f.params[id]
		p.CPUs = "4"
		f.params[id] = p
		calls = len(f.calls)
		f.mu.Unlock()
	})
	s.at(11*time.Minute, func() {
		st := s.state()
		require.Equal(t, StackDrifted, st.Status)
		require.Len(t, st.Drift, 1)
		d := st.Drift[0]
		require.Equal(t, "container/ct100", d.Key)
		require.Equal(t, ActionUpdate, d.Action)
		require.Equal(t, []FieldChange{{Field: "cpus", Old: "4", New: "2"}}, d.Fields)
		require.Equal(t, "4", st.Resources[0].Attrs["cpus"], "the stack records what it observed")
		require.False(t, st.LastRefresh.IsZero())
		require.Nil(t, st.Operation)
		f.mu.Lock()
		require.Len(t, f.calls, calls, "a refresh changes nothing in the cloud: %v", f.calls)
		f.mu.Unlock()
		s.send(StackUpdateDestroy, StackDestroyRequest{})
	})
	require.NoError(t, s.run(in))
}

// Destroy deletes what the stack made and ends the workflow, with no error.
func TestStackDestroyEndsTheWorkflow(t *testing.T) {
	f := newContainerFake()
	s := newStackTest(t, f)
	var destroy *outcome
	s.at(time.Second, func() { s.send(StackUpdateApply, StackApplyRequest{Spec: containerStackSpec()}) })
	s.at(time.Minute, func() { destroy = s.send(StackUpdateDestroy, StackDestroyRequest{}) })
	require.NoError(t, s.run(stackInput()))
	requireApplied(t, destroy, "destroy")
	require.Equal(t, StackDestroyed, destroy.res.State.Status)
	require.Equal(t, []string{"container/ct100"}, f.deletes())
	require.Empty(t, f.liveNames())
	require.Equal(t, OutcomeSucceeded, destroy.res.State.LastOperation.Outcome)
}

// A stack whose history grows long (or whose server suggests it) continues
// as new once idle, carrying its state; the next run owns what the first
// made and destroys it.
func TestStackContinuesAsNewCarryingItsState(t *testing.T) {
	for _, tc := range []struct {
		name string
		long func(env *testsuite.TestWorkflowEnvironment)
	}{
		{"history length", func(env *testsuite.TestWorkflowEnvironment) { env.SetCurrentHistoryLength(stackHistoryLimit + 1) }},
		{"suggested", func(env *testsuite.TestWorkflowEnvironment) { env.SetContinueAsNewSuggested(true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newContainerFake()
			s := newStackTest(t, f)
			in := stackInput()
			in.Settings.RefreshInterval = 10 * time.Minute
			var before StackState
			s.at(time.Second, func() { s.send(StackUpdateApply, StackApplyRequest{Spec: containerStackSpec()}) })
			s.at(time.Minute, func() {
				before = s.state()
				tc.long(s.env)
			})
			err := s.run(in)
			var can *workflow.ContinueAsNewError
			require.True(t, errors.As(err, &can), "want continue-as-new, got %v", err)
			require.Equal(t, StackWorkflowName, can.WorkflowType.Name)
			var next StackInput
			require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
			require.Equal(t, in.Provider, next.Provider)
			require.Equal(t, in.Name, next.Name)
			require.Equal(t, in.Settings, next.Settings)
			require.NotNil(t, next.State)
			st := *next.State
			require.Equal(t, before, st, "the state is handed over as it is, without waiting for the refresh timer")
			require.NotNil(t, st.Spec)
			require.Len(t, st.Resources, 1)
			require.Equal(t, StackInSync, st.Status)

			// The next run resumes from the state: it knows the container
			// and destroys it.
			s2 := newStackTest(t, f)
			var destroy *outcome
			s2.at(time.Second, func() {
				require.Equal(t, st, s2.state())
				destroy = s2.send(StackUpdateDestroy, StackDestroyRequest{})
			})
			require.NoError(t, s2.run(next))
			requireApplied(t, destroy, "destroy in the next run")
			require.Equal(t, []string{"container/ct100"}, f.deletes())
		})
	}
}

// --- CloudMC: the compute offering changes in place ---

// cloudMCUpdateFake stands in for the CloudMC activities an in-place update
// runs, recording each call and wait.
type cloudMCUpdateFake struct {
	calls      []string
	offering   string
	failChange bool
}

func (f *cloudMCUpdateFake) install(env *testsuite.TestWorkflowEnvironment) {
	var a *activities.CloudMCActivities
	env.RegisterActivity(a)
	env.OnActivity(a.CloudMCInstanceAction, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloudMCInstanceActionInput) (activities.CloudMCInstanceActionResult, error) {
			f.calls = append(f.calls, in.Action+" "+in.InstanceID)
			return activities.CloudMCInstanceActionResult{TaskID: "task-" + in.Action}, nil
		})
	env.OnActivity(a.CloudMCChangeComputeOffering, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloudMCChangeComputeOfferingInput) (activities.CloudMCInstanceActionResult, error) {
			f.calls = append(f.calls, "change "+in.InstanceID+" to "+in.ComputeOfferingID)
			if f.failChange {
				return activities.CloudMCInstanceActionResult{}, temporal.NewNonRetryableApplicationError(
					"change the compute offering: 400 Bad Request", activities.ErrTypeAPI, nil)
			}
			f.offering = in.ComputeOfferingID
			return activities.CloudMCInstanceActionResult{TaskID: "task-change"}, nil
		})
	env.OnActivity(a.CloudMCWaitTask, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloudMCWaitInput) (activities.CloudMCWaitResult, error) {
			w := "wait " + in.TaskID + " " + in.State
			if in.ComputeOfferingID != "" {
				w += " " + in.ComputeOfferingID
			}
			f.calls = append(f.calls, w)
			return activities.CloudMCWaitResult{ResourceID: in.ResourceID, State: in.State, Resolution: "task"}, nil
		})
	env.OnActivity("CloudMCObserve", mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ObserveInput) (activities.ObserveResult, error) {
			var out activities.ObserveResult
			for _, ref := range in.Resources {
				out.Resources = append(out.Resources, activities.Observed{Key: ref.Key, Kind: ref.Kind, Name: ref.Name, Found: true,
					ID: "inst-1", State: cloudmc.InstanceStateRunning, Attrs: map[string]string{
						"computeOffering": f.offering, "network": "net-1", "template": "tpl-1",
					}})
			}
			return out, nil
		})
}

func cloudMCOfferingChange() ApplyStackInput {
	spec := ProvisionInstanceInput{Instance: CloudMCInstanceSpec{Name: "web", ComputeOfferingID: "co-big", NetworkID: "net-1", TemplateID: "tpl-1"}}
	return ApplyStackInput{
		Provider: ProviderCloudMC, Name: "web", Spec: StackSpec{Provider: ProviderCloudMC, CloudMC: &spec},
		Changes: []PlanChange{{Key: "instance/web", Kind: KindInstance, Name: "web", ID: "inst-1", Action: ActionUpdate,
			Fields: []FieldChange{{Field: "computeOffering", Old: "co-small", New: "co-big"}}}},
		Resources: []StackResource{{Key: "instance/web", Kind: KindInstance, Name: "web", ID: "inst-1", Ownership: OwnershipCreated,
			Attrs: map[string]string{"computeOffering": "co-small", "network": "net-1", "template": "tpl-1"}}},
	}
}

// A CloudMC plan makes a compute offering change an in-place update that
// says the instance stops; a network change still replaces it.
func TestCloudMCStackPlansTheOfferingChangeInPlace(t *testing.T) {
	in := cloudMCOfferingChange()
	state := &StackState{Provider: ProviderCloudMC, Name: "web", Resources: in.Resources}
	observed := map[string]activities.Observed{"instance/web": {Key: "instance/web", Found: true, ID: "inst-1",
		Attrs: map[string]string{"computeOffering": "co-small", "network": "net-1", "template": "tpl-1"}}}
	plan := func(spec StackSpec) PlanChange {
		p := makePlan(planInput{spec: spec, desired: cloudMCStack{}.desired(spec, observed), rules: cloudMCStack{}.rules, state: state, observed: observed})
		return p.Changes[0]
	}
	c := plan(in.Spec)
	require.Equal(t, ActionUpdate, c.Action)
	require.Equal(t, []FieldChange{{Field: "computeOffering", Old: "co-small", New: "co-big"}}, c.Fields)
	require.Equal(t, "the instance stops for the change, then starts again", c.Note)
	require.False(t, c.Destructive)

	moved := *in.Spec.CloudMC
	moved.Instance.NetworkID = "net-2"
	c = plan(StackSpec{Provider: ProviderCloudMC, CloudMC: &moved})
	require.Equal(t, ActionReplace, c.Action)
	require.True(t, c.Destructive)
}

// The update stops the instance, changes its offering and starts it again,
// each waited out; nothing is deleted or created.
func TestApplyStackChangesTheCloudMCOfferingInPlace(t *testing.T) {
	f := &cloudMCUpdateFake{offering: "co-small"}
	_, res, err := runWorkflow[ApplyStackResult](t, ApplyStack, cloudMCOfferingChange(), f.install, nil)
	require.NoError(t, err)
	require.Equal(t, []string{
		"stop inst-1", "wait task-stop Stopped",
		"change inst-1 to co-big", "wait task-change Stopped co-big",
		"start inst-1", "wait task-start Running",
	}, f.calls)
	require.Equal(t, StepDone, stepState(res.Steps, "update instance/web"))
	require.Len(t, res.Done, 1)
	require.Equal(t, "co-big", res.Resources[0].Attrs["computeOffering"])
}

// A change the cloud refuses fails the update, and the instance is started
// again with the offering it had rather than left stopped.
func TestApplyStackStartsTheInstanceAgainWhenTheOfferingChangeFails(t *testing.T) {
	f := &cloudMCUpdateFake{offering: "co-small", failChange: true}
	_, res, err := runWorkflow[ApplyStackResult](t, ApplyStack, cloudMCOfferingChange(), f.install, nil)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app))
	require.Equal(t, ErrTypeStackApplyFailed, app.Type())
	require.Equal(t, []string{
		"stop inst-1", "wait task-stop Stopped",
		"change inst-1 to co-big",
		"start inst-1", "wait task-start Running",
	}, f.calls)
	require.Len(t, res.Failed, 1)
	require.Equal(t, "instance/web", res.Failed[0].Key)
	require.Contains(t, res.Failed[0].Error, "400 Bad Request")
	require.Equal(t, StepFailed, stepState(res.Steps, "update instance/web"))
	require.Empty(t, res.Done)
}
