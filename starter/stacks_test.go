package starter

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/workflows"
)

func containerSpec(name string) workflows.StackSpec {
	return workflows.StackSpec{Provider: workflows.ProviderOpenVZ, OpenVZ: &workflows.CreateContainerInput{
		Container: workflows.ContainerSpec{Name: name, OSTemplate: "centos-7-x86_64"},
	}}
}

func TestParseStackIDReadsProviderAndName(t *testing.T) {
	for _, tc := range []struct{ id, provider, name string }{
		{"stack-crusoe-web", workflows.ProviderCrusoe, "web"},
		{"stack-cloudmc-db-1", workflows.ProviderCloudMC, "db-1"},
		{"stack-kraftcloud-my-app", workflows.ProviderKraftCloud, "my-app"},
		{"stack-openvz-ct.example", workflows.ProviderOpenVZ, "ct.example"},
		// A name that begins like another provider stays whole.
		{"stack-crusoe-openvz-x", workflows.ProviderCrusoe, "openvz-x"},
		// Not a stack's ID: no provider, the rest as the name.
		{"stack-nimbus-web", "", "nimbus-web"},
	} {
		p, n := parseStackID(tc.id)
		require.Equal(t, tc.provider, p, tc.id)
		require.Equal(t, tc.name, n, tc.id)
		if tc.provider != "" {
			require.Equal(t, tc.id, StackRef{Provider: p, Name: n}.WorkflowID(), "the ID round-trips")
		}
	}
}

func TestStackRefOfASpec(t *testing.T) {
	ref := StackRefOf(containerSpec("ct"))
	require.Equal(t, StackRef{Provider: workflows.ProviderOpenVZ, Name: "ct"}, ref)
	require.Equal(t, "stack-openvz-ct", ref.WorkflowID())
	require.Equal(t, "openvz/ct", ref.String())
}

// asReceived sends err through the default failure converter and back, as
// a client receives a stack's error from the server: details become JSON
// payloads, decoded into whatever type the receiver asks for.
func asReceived(err error) error {
	fc := temporal.GetDefaultFailureConverter()
	return fc.FailureToError(fc.ErrorToFailure(err))
}

func TestStackErrorsAreTyped(t *testing.T) {
	ref := StackRef{Provider: workflows.ProviderOpenVZ, Name: "ct"}
	s := New(&mocks.Client{}, "")
	plan := workflows.StackPlan{ID: "plan-3", Basis: "b", Changes: []workflows.PlanChange{
		{Key: "container/ct", Kind: "container", Name: "ct", Action: workflows.ActionReplace, Destructive: true},
	}}
	result := workflows.StackOperationResult{
		Operation: workflows.StackOperation{ID: "apply-4", Kind: "apply", Outcome: workflows.OutcomeFailed, Run: "stack-openvz-ct-apply-4"},
		Plan:      &plan,
		Apply:     &workflows.ApplyStackResult{Failed: []workflows.PlanFailure{{Key: "container/ct", Error: "400 bad cpus"}}},
		State:     workflows.StackState{Provider: "openvz", Name: "ct", Status: workflows.StackFailed},
	}
	holder := workflows.StackOperation{ID: "apply-2", Kind: "apply", UpdateID: "u-1"}

	t.Run("refused carries the plan", func(t *testing.T) {
		err := s.stackError(ref, asReceived(temporal.NewNonRetryableApplicationError("destructive", workflows.ErrTypeStackRefused, nil, plan)))
		var se *StackError
		require.ErrorAs(t, err, &se)
		require.Equal(t, workflows.ErrTypeStackRefused, se.Type)
		require.Equal(t, "destructive", se.Message)
		require.Equal(t, &plan, se.Plan)
		require.Nil(t, se.Result)
		require.Equal(t, "stack openvz/ct: destructive", err.Error())
		var app *temporal.ApplicationError
		require.ErrorAs(t, err, &app, "the Temporal error stays reachable")
	})
	t.Run("a failed apply carries its result", func(t *testing.T) {
		err := s.stackError(ref, asReceived(temporal.NewNonRetryableApplicationError("apply failed", workflows.ErrTypeStackApplyFailed, nil, result)))
		var se *StackError
		require.ErrorAs(t, err, &se)
		require.Equal(t, &result, se.Result)
	})
	t.Run("busy names the holder", func(t *testing.T) {
		err := s.stackError(ref, asReceived(temporal.NewNonRetryableApplicationError("busy: apply-2", workflows.ErrTypeStackBusy, nil, holder)))
		var se *StackError
		require.ErrorAs(t, err, &se)
		require.Equal(t, workflows.ErrTypeStackBusy, se.Type)
		require.Equal(t, &holder, se.Holder)
	})
	t.Run("invalid has no details", func(t *testing.T) {
		err := s.stackError(ref, asReceived(temporal.NewNonRetryableApplicationError("no saved plan", workflows.ErrTypeStackInvalid, nil)))
		var se *StackError
		require.ErrorAs(t, err, &se)
		require.Equal(t, workflows.ErrTypeStackInvalid, se.Type)
		require.Nil(t, se.Plan)
		require.Nil(t, se.Result)
		require.Nil(t, se.Holder)
	})
	t.Run("unknown stack", func(t *testing.T) {
		err := s.stackError(ref, serviceerror.NewNotFound("workflow not found for ID: stack-openvz-ct"))
		var nf *StackNotFoundError
		require.ErrorAs(t, err, &nf)
		require.Equal(t, ref, nf.Stack)
		require.Equal(t, "no stack openvz/ct (see `cloudflow stacks list`)", err.Error())
	})
	t.Run("anything else names the stack", func(t *testing.T) {
		cause := errors.New("connection refused")
		err := s.stackError(ref, cause)
		require.ErrorIs(t, err, cause)
		require.Equal(t, "stack openvz/ct: connection refused", err.Error())
	})
}

// A failed operation's Get answers what it did along with the error.
func TestStackUpdateGetOfAFailedApplyReturnsItsResult(t *testing.T) {
	result := workflows.StackOperationResult{
		Operation: workflows.StackOperation{ID: "apply-4", Kind: "apply", Outcome: workflows.OutcomeFailed},
		State:     workflows.StackState{Provider: "openvz", Name: "ct", Status: workflows.StackFailed},
	}
	h := &mocks.WorkflowUpdateHandle{}
	h.On("Get", mock.Anything, mock.Anything).Return(
		asReceived(temporal.NewNonRetryableApplicationError("apply failed", workflows.ErrTypeStackApplyFailed, nil, result)))
	c := &mocks.Client{}
	c.On("GetWorkflowUpdateHandle", client.GetWorkflowUpdateHandleOptions{WorkflowID: "stack-openvz-ct", UpdateID: "u-9"}).Return(h)
	u := New(c, "").StackUpdateOf(StackRef{Provider: "openvz", Name: "ct"}, "u-9")
	require.Equal(t, "u-9", u.UpdateID)
	got, err := u.Get(context.Background())
	var se *StackError
	require.ErrorAs(t, err, &se)
	require.Equal(t, result, got)
	c.AssertExpectations(t)
}

// The first operation on a stack starts it: update-with-start, joining the
// stack's open run (UseExisting), with the search attributes the contract
// lists. This is what docs/contract.md tells other languages to do.
func TestApplyStackStartsTheStackWithTheUpdate(t *testing.T) {
	spec := containerSpec("ct")
	c := &mocks.Client{}
	op := &struct {
		client.WithStartWorkflowOperation
	}{}
	c.On("NewWithStartWorkflowOperation", mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
		sa := o.TypedSearchAttributes
		provider, _ := sa.GetKeyword(SearchAttrProvider)
		resources, _ := sa.GetKeywordList(SearchAttrResources)
		status, _ := sa.GetKeyword(SearchAttrStackStatus)
		return o.ID == "stack-openvz-ct" && o.TaskQueue == "tq" &&
			o.WorkflowIDConflictPolicy == enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING &&
			o.WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE &&
			provider == "openvz" && len(resources) == 1 && resources[0] == "ct" && status == workflows.StackNew
	}), workflows.StackWorkflowName, workflows.StackInput{Provider: "openvz", Name: "ct", Indexed: true}).Return(op)
	h := &mocks.WorkflowUpdateHandle{}
	h.On("UpdateID").Return("u-1")
	req := workflows.StackApplyRequest{Spec: spec, AllowDestroy: true}
	c.On("UpdateWithStartWorkflow", mock.Anything, mock.MatchedBy(func(o client.UpdateWithStartWorkflowOptions) bool {
		return o.StartWorkflowOperation == op && o.UpdateOptions.UpdateName == workflows.StackUpdateApply &&
			len(o.UpdateOptions.Args) == 1 && o.UpdateOptions.Args[0] == any(req) &&
			o.UpdateOptions.WaitForStage == client.WorkflowUpdateStageAccepted
	})).Return(h, nil)

	u, err := New(c, "tq").ApplyStack(context.Background(), req)
	require.NoError(t, err)
	require.Equal(t, StackRef{Provider: "openvz", Name: "ct"}, u.Stack)
	require.Equal(t, "u-1", u.UpdateID)
	c.AssertExpectations(t)
}

func TestPlanOfAnInvalidSpecSendsNothing(t *testing.T) {
	c := &mocks.Client{} // any call fails the test
	spec := containerSpec("ct")
	spec.Provider = workflows.ProviderCrusoe
	_, err := New(c, "").PlanStack(context.Background(), workflows.StackPlanRequest{Spec: spec})
	var se *StackError
	require.ErrorAs(t, err, &se)
	require.Equal(t, workflows.ErrTypeStackInvalid, se.Type)
	require.Contains(t, se.Message, `provider "crusoe" does not match`)
	c.AssertExpectations(t)
}

func TestStackListQueryQuotesTheStatus(t *testing.T) {
	require.Equal(t, "WorkflowType = 'Stack' AND ExecutionStatus = 'Running'", stackListQuery(""))
	require.Equal(t, "WorkflowType = 'Stack' AND ExecutionStatus = 'Running' AND CloudflowStackStatus = 'drifted'", stackListQuery("drifted"))
	// A quote in the status stays inside the string.
	require.Equal(t, `WorkflowType = 'Stack' AND ExecutionStatus = 'Running' AND CloudflowStackStatus = 'x\' OR \'1\' = \'1'`,
		stackListQuery("x' OR '1' = '1"))
}

// stateAnswers makes c answer the state query with each state in turn (the
// last one from then on).
func stateAnswers(c *mocks.Client, id string, states ...workflows.StackState) {
	n := 0
	v := &mocks.Value{}
	v.On("Get", mock.Anything).Run(func(args mock.Arguments) {
		*args.Get(0).(*workflows.StackState) = states[min(n, len(states)-1)]
		n++
	}).Return(nil)
	c.On("QueryWorkflow", mock.Anything, id, "", workflows.StackQueryState).Return(v, nil)
}

func TestOutputsAreByResourceKey(t *testing.T) {
	c := &mocks.Client{}
	stateAnswers(c, "stack-crusoe-web", workflows.StackState{Resources: []workflows.StackResource{
		{Key: "disk/web-data", Kind: "disk", Name: "web-data"},
		{Key: "vm/web", Kind: "vm", Name: "web", Outputs: map[string]string{
			activities.OutputPrivateIPv4: "10.0.0.4", activities.OutputSSHDestination: "203.0.113.4:22",
		}},
	}})
	out, err := New(c, "").Outputs(context.Background(), StackRef{Provider: "crusoe", Name: "web"})
	require.NoError(t, err)
	require.Equal(t, StackOutputs{"vm/web": {"privateIPv4": "10.0.0.4", "sshDestination": "203.0.113.4:22"}}, out)
}

func TestOutputsOfAnUnknownStack(t *testing.T) {
	c := &mocks.Client{}
	c.On("QueryWorkflow", mock.Anything, "stack-crusoe-nope", "", workflows.StackQueryState).
		Return(nil, serviceerror.NewNotFound("workflow not found"))
	_, err := New(c, "").Outputs(context.Background(), StackRef{Provider: "crusoe", Name: "nope"})
	var nf *StackNotFoundError
	require.ErrorAs(t, err, &nf)
}

func TestWaitStackPollsUntilTheConditionHolds(t *testing.T) {
	c := &mocks.Client{}
	waiting := workflows.StackState{Status: workflows.StackAwaitingApproval, PendingPlan: &workflows.StackPlan{ID: "plan-1"}}
	applying := workflows.StackState{Status: workflows.StackApplying, Operation: &workflows.StackOperation{ID: "approve-2"}}
	done := workflows.StackState{Status: workflows.StackInSync}
	stateAnswers(c, "stack-openvz-ct", waiting, applying, done)
	st, err := New(c, "").WaitStack(context.Background(), StackRef{Provider: "openvz", Name: "ct"}, time.Millisecond,
		func(st workflows.StackState) bool { return st.PendingPlan == nil && st.Operation == nil })
	require.NoError(t, err)
	require.Equal(t, done, st)
	c.AssertNumberOfCalls(t, "QueryWorkflow", 3)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = New(c, "").WaitStack(ctx, StackRef{Provider: "openvz", Name: "ct"}, time.Millisecond,
		func(workflows.StackState) bool { return false })
	require.ErrorIs(t, err, context.DeadlineExceeded)
}
