package starter

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/cloudflow/cloudflow/workflows"
)

// StackRef names a stack: its provider and its name (the spec's main
// resource). Its workflow ID is workflows.StackID(provider, name).
type StackRef struct {
	Provider string `json:"provider"`
	Name     string `json:"name"`
}

// StackRefOf is the ref of the stack that owns spec.
func StackRefOf(spec workflows.StackSpec) StackRef {
	return StackRef{Provider: spec.Provider, Name: spec.Name()}
}

// WorkflowID is the stack's workflow ID, "stack-<provider>-<name>": the ID
// to query or update it by with any Temporal client.
func (r StackRef) WorkflowID() string { return workflows.StackID(r.Provider, r.Name) }

func (r StackRef) id() string { return r.WorkflowID() }

// String is "<provider>/<name>", as the CLI prints a stack.
func (r StackRef) String() string { return r.Provider + "/" + r.Name }

// StackError is an operation a stack refused or that failed. Type is one of
// workflows.ErrTypeStack*: StackInvalid (bad request, nothing changed),
// StackBusy (another operation holds the stack; Holder says which),
// StackRefused (the plan held a change the request did not allow; Plan says
// which), StackApplyFailed (the apply failed part way; Result says what was
// done and what is left). Use errors.As to get one.
type StackError struct {
	Stack   StackRef
	Type    string
	Message string
	// Plan is the refused plan (StackRefused).
	Plan *workflows.StackPlan
	// Result is what the failed operation did (StackApplyFailed).
	Result *workflows.StackOperationResult
	// Holder is the operation holding the stack (StackBusy).
	Holder *workflows.StackOperation
	cause  error
}

// Error is "stack <provider>/<name>: <the stack's message>".
func (e *StackError) Error() string { return fmt.Sprintf("stack %s: %s", e.Stack, e.Message) }

// Unwrap is the Temporal error the stack answered with.
func (e *StackError) Unwrap() error { return e.cause }

// StackNotFoundError means there is no stack by that name: none was ever
// made, or it was destroyed (a destroyed stack's workflow has ended).
type StackNotFoundError struct{ Stack StackRef }

// Error names the stack and where to look for the ones that exist.
func (e *StackNotFoundError) Error() string {
	if e.Stack.Provider == "" {
		return fmt.Sprintf("no stack named %q (see `cloudflow stacks list`)", e.Stack.Name)
	}
	return fmt.Sprintf("no stack %s (see `cloudflow stacks list`)", e.Stack)
}

// StackUpdate is one operation sent to a stack, accepted by it: it runs,
// or waits its turn behind the operation holding the stack. Wait for its
// result with Get; while it runs, StackState shows it as the stack's
// Operation, with UpdateID.
type StackUpdate struct {
	Stack StackRef
	// UpdateID is the Temporal update's ID: StackUpdateOf finds the
	// operation again by it, from another process too.
	UpdateID string
	handle   client.WorkflowUpdateHandle
	s        *Starter
}

// Get waits for the operation to end and returns what it did. A refused or
// failed operation returns a *StackError; a failed apply or destroy returns
// what it did as well (the same value as the error's Result).
func (u *StackUpdate) Get(ctx context.Context) (workflows.StackOperationResult, error) {
	var res workflows.StackOperationResult
	err := u.handle.Get(ctx, &res)
	if err != nil {
		err = u.s.stackError(u.Stack, err)
		var se *StackError
		if errors.As(err, &se) && se.Result != nil {
			res = *se.Result
		}
		return res, err
	}
	return res, nil
}

// StackUpdateOf finds an operation sent to the stack earlier by its update
// ID (StackUpdate.UpdateID, or StackOperation.UpdateID in the stack's
// state), so that a process that did not send it can wait for its result.
func (s *Starter) StackUpdateOf(ref StackRef, updateID string) *StackUpdate {
	h := s.c.GetWorkflowUpdateHandle(client.GetWorkflowUpdateHandleOptions{WorkflowID: ref.id(), UpdateID: updateID})
	return &StackUpdate{Stack: ref, UpdateID: updateID, handle: h, s: s}
}

// PlanStack asks the stack of the spec for a plan, starting the stack if
// there is none yet (update-with-start). With Save, the plan waits in the
// stack for ApproveStack or DiscardStackPlan. It returns once the stack has
// accepted or rejected the request. A spec that is not valid is a
// *StackError of type StackInvalid before anything is sent; the stack's own
// rejections (StackInvalid, and StackBusy for IfBusy "fail" while another
// operation holds the stack) come from the update's Get, as its outcome does.
func (s *Starter) PlanStack(ctx context.Context, req workflows.StackPlanRequest) (*StackUpdate, error) {
	return s.updateWithStart(ctx, req.Spec, workflows.StackUpdatePlan, req)
}

// ApplyStack asks the stack of the spec, starting it if there is none yet,
// to plan and apply it. A plan that replaces, deletes or shrinks something
// is refused (StackRefused, with the plan) unless AllowDestroy is set; with
// Basis set to the Basis of a plan shown earlier, an apply whose plan came
// out different is refused too. Errors as for PlanStack.
func (s *Starter) ApplyStack(ctx context.Context, req workflows.StackApplyRequest) (*StackUpdate, error) {
	return s.updateWithStart(ctx, req.Spec, workflows.StackUpdateApply, req)
}

// ApproveStack applies the stack's saved plan, exactly: when the cloud
// changed since the plan was made, the approval is refused (StackRefused)
// and the plan dropped. With PlanID set, it approves only that plan.
func (s *Starter) ApproveStack(ctx context.Context, ref StackRef, req workflows.StackApproveRequest) (*StackUpdate, error) {
	return s.update(ctx, ref, workflows.StackUpdateApprove, req)
}

// DiscardStackPlan drops the stack's saved plan (only the plan PlanID
// names, when set) without applying it.
func (s *Starter) DiscardStackPlan(ctx context.Context, ref StackRef, req workflows.StackApproveRequest) (*StackUpdate, error) {
	return s.update(ctx, ref, workflows.StackUpdateDiscard, req)
}

// DestroyStack deletes what the stack created (and what it adopted, with
// IncludeAdopted), dependents first, and releases the rest untouched; the
// stack then ends. Nothing is deleted that the stack does not own.
func (s *Starter) DestroyStack(ctx context.Context, ref StackRef, req workflows.StackDestroyRequest) (*StackUpdate, error) {
	return s.update(ctx, ref, workflows.StackUpdateDestroy, req)
}

// RefreshStack re-reads the stack's resources now and records the drift.
func (s *Starter) RefreshStack(ctx context.Context, ref StackRef, req workflows.StackRefreshRequest) (*StackUpdate, error) {
	return s.update(ctx, ref, workflows.StackUpdateRefresh, req)
}

// SetStackSettings changes the stack's settings (the drift refresh
// interval, or off) and returns its state. Unlike the other operations it
// does not wait for the stack to be free.
func (s *Starter) SetStackSettings(ctx context.Context, ref StackRef, settings workflows.StackSettings) (workflows.StackState, error) {
	h, err := s.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: ref.id(), UpdateName: workflows.StackUpdateSettings,
		Args:         []any{workflows.StackSettingsRequest{Settings: settings}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var st workflows.StackState
	if err == nil {
		err = h.Get(ctx, &st)
	}
	if err != nil {
		return st, s.stackError(ref, err)
	}
	return st, nil
}

// StackState asks a stack for its state (the "state" query). A destroyed
// stack answers its last state, status "destroyed", while Temporal keeps
// its history; a stack that never existed is a *StackNotFoundError.
func (s *Starter) StackState(ctx context.Context, ref StackRef) (workflows.StackState, error) {
	var st workflows.StackState
	v, err := s.c.QueryWorkflow(ctx, ref.id(), "", workflows.StackQueryState)
	if err != nil {
		return st, s.stackError(ref, err)
	}
	if err := v.Get(&st); err != nil {
		return st, fmt.Errorf("decode the state of stack %s: %w", ref, err)
	}
	return st, nil
}

// StackOutputs are a stack's outputs by resource key ("vm/web"), then by
// output name (activities.OutputPrivateIPv4, OutputSSHDestination...).
type StackOutputs map[string]map[string]string

// Outputs asks a stack for what the cloud reports of its resources
// (addresses, an SSH destination, an FQDN), as of its last apply or drift
// refresh: the resources with outputs, by key.
func (s *Starter) Outputs(ctx context.Context, ref StackRef) (StackOutputs, error) {
	st, err := s.StackState(ctx, ref)
	if err != nil {
		return nil, err
	}
	return outputsOf(st), nil
}

func outputsOf(st workflows.StackState) StackOutputs {
	out := StackOutputs{}
	for _, r := range st.Resources {
		if len(r.Outputs) > 0 {
			out[r.Key] = r.Outputs
		}
	}
	return out
}

// WaitStack asks the stack for its state every interval until until(state)
// holds, and returns that state. It waits for what another party does to
// the stack: a reviewer's approval of a saved plan applied
// (st.PendingPlan == nil && st.Operation == nil), a drift seen
// (st.Status == workflows.StackDrifted). A failed query ends the wait.
func (s *Starter) WaitStack(ctx context.Context, ref StackRef, every time.Duration, until func(workflows.StackState) bool) (workflows.StackState, error) {
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		st, err := s.StackState(ctx, ref)
		if err != nil || until(st) {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-t.C:
		}
	}
}

// FindStack finds the stack of a name: of provider when it is given, else
// of whichever provider has one (an error names them when several do). A
// name no running stack has is a *StackNotFoundError.
func (s *Starter) FindStack(ctx context.Context, name, provider string) (StackRef, error) {
	providers := []string{provider}
	if provider == "" {
		providers = []string{workflows.ProviderCrusoe, workflows.ProviderCloudMC, workflows.ProviderKraftCloud, workflows.ProviderOpenVZ}
	}
	var found []StackRef
	for _, p := range providers {
		ref := StackRef{Provider: p, Name: name}
		d, err := s.c.DescribeWorkflowExecution(ctx, ref.id(), "")
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			continue
		case err != nil:
			return StackRef{}, fmt.Errorf("look up stack %s: %w", ref, err)
		}
		if d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			found = append(found, ref)
		}
	}
	switch len(found) {
	case 0:
		return StackRef{}, &StackNotFoundError{Stack: StackRef{Provider: provider, Name: name}}
	case 1:
		return found[0], nil
	}
	names := make([]string, len(found))
	for i, f := range found {
		names[i] = f.String()
	}
	return StackRef{}, fmt.Errorf("several stacks are named %q (%s): say which with --provider", name, strings.Join(names, ", "))
}

// StackSummary is one stack as `stacks list` shows it, from the visibility
// store alone (one request, whatever the number of stacks).
type StackSummary struct {
	StackRef
	// Status is the stack's CloudflowStackStatus (workflows.StackInSync...);
	// empty when the server does not have cloudflow's search attributes.
	Status string `json:"status"`
	// Resources are the names in its CloudflowResources.
	Resources []string `json:"resources,omitempty"`
	// Since is when the stack's current run began: a stack continues as
	// new as its history grows.
	Since time.Time `json:"since"`
}

// ListStacks lists the stacks that exist (running Stack workflows), with the
// status they last recorded; status filters by it when set.
func (s *Starter) ListStacks(ctx context.Context, status string) ([]StackSummary, error) {
	q := stackListQuery(status)
	var out []StackSummary
	var token []byte
	for {
		resp, err := s.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token, PageSize: 1000})
		if err != nil {
			return nil, fmt.Errorf("list stacks: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			sum := StackSummary{Since: e.GetStartTime().AsTime()}
			sum.Provider, sum.Name = parseStackID(e.GetExecution().GetWorkflowId())
			sa := e.GetSearchAttributes().GetIndexedFields()
			if p := sa[SearchAttrStackStatus.GetName()]; p != nil {
				_ = converter.GetDefaultDataConverter().FromPayload(p, &sum.Status)
			}
			if p := sa[SearchAttrResources.GetName()]; p != nil {
				_ = converter.GetDefaultDataConverter().FromPayload(p, &sum.Resources)
			}
			out = append(out, sum)
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// stackListQuery is the visibility query of ListStacks.
func stackListQuery(status string) string {
	q := fmt.Sprintf("WorkflowType = %s AND ExecutionStatus = 'Running'", quote(workflows.StackWorkflowName))
	if status != "" {
		q += fmt.Sprintf(" AND %s = %s", SearchAttrStackStatus.GetName(), quote(status))
	}
	return q
}

// parseStackID reads a stack's provider and name back from its workflow ID.
func parseStackID(id string) (provider, name string) {
	rest := strings.TrimPrefix(id, "stack-")
	for _, p := range []string{workflows.ProviderCrusoe, workflows.ProviderCloudMC, workflows.ProviderKraftCloud, workflows.ProviderOpenVZ} {
		if strings.HasPrefix(rest, p+"-") {
			return p, strings.TrimPrefix(rest, p+"-")
		}
	}
	return "", rest
}

// updateWithStart sends an update to the spec's stack, starting the stack
// first when there is none (update-with-start).
func (s *Starter) updateWithStart(ctx context.Context, spec workflows.StackSpec, update string, req any) (*StackUpdate, error) {
	ref := StackRef{Provider: spec.Provider, Name: spec.Name()}
	if err := spec.Validate(); err != nil {
		return nil, &StackError{Stack: ref, Type: workflows.ErrTypeStackInvalid, Message: err.Error()}
	}
	send := func() (client.WorkflowUpdateHandle, error) {
		opts := client.StartWorkflowOptions{
			ID:                       ref.id(),
			TaskQueue:                s.taskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			StaticSummary:            "Stack " + ref.String(),
			StaticDetails:            stackDetails(spec, s.taskQueue),
		}
		in := workflows.StackInput{Provider: ref.Provider, Name: ref.Name, Indexed: !s.noSearchAttributes}
		if in.Indexed {
			opts.TypedSearchAttributes = temporal.NewSearchAttributes(
				SearchAttrProvider.ValueSet(ref.Provider), SearchAttrResources.ValueSet([]string{ref.Name}),
				SearchAttrStackStatus.ValueSet(workflows.StackNew))
		}
		op := s.c.NewWithStartWorkflowOperation(opts, workflows.StackWorkflowName, in)
		return s.c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
			StartWorkflowOperation: op,
			UpdateOptions: client.UpdateWorkflowOptions{
				UpdateName: update, Args: []any{req}, WaitForStage: client.WorkflowUpdateStageAccepted,
			},
		})
	}
	h, err := send()
	if err != nil && isUnknownSearchAttribute(err) && !s.noSearchAttributes {
		s.noSearchAttributes = true
		s.warn("the Temporal server refused cloudflow's search attributes; the stack runs without them (register them: see README)", "error", err)
		h, err = send()
	}
	if err != nil {
		return nil, s.stackError(ref, err)
	}
	return &StackUpdate{Stack: ref, UpdateID: h.UpdateID(), handle: h, s: s}, nil
}

// stackDetails is the stack's static details for the Temporal UI: what it
// is, where its first spec came from, how to act on it. What it holds now
// is in its current details and its "state" query.
func stackDetails(spec workflows.StackSpec, taskQueue string) string {
	return fmt.Sprintf("A cloudflow stack: it owns the %s spec of %s and what it makes.\n", spec.Provider, spec.Name()) +
		workflows.Description{}.Details("First spec", spec.Source, "Task queue", taskQueue,
			"Operations", `updates plan, apply, approve, discard, destroy, refresh, settings; query "state" for its resources`)
}

// update sends an update to an existing stack.
func (s *Starter) update(ctx context.Context, ref StackRef, update string, req any) (*StackUpdate, error) {
	h, err := s.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: ref.id(), UpdateName: update, Args: []any{req}, WaitForStage: client.WorkflowUpdateStageAccepted,
	})
	if err != nil {
		return nil, s.stackError(ref, err)
	}
	return &StackUpdate{Stack: ref, UpdateID: h.UpdateID(), handle: h, s: s}, nil
}

// stackError turns what the server or the stack answered into a
// *StackNotFoundError or *StackError where it is one.
func (s *Starter) stackError(ref StackRef, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return &StackNotFoundError{Stack: ref}
	}
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return fmt.Errorf("stack %s: %w", ref, err)
	}
	se := &StackError{Stack: ref, Type: app.Type(), Message: app.Message(), cause: err}
	if app.HasDetails() {
		switch app.Type() {
		case workflows.ErrTypeStackRefused:
			var p workflows.StackPlan
			if app.Details(&p) == nil {
				se.Plan = &p
			}
		case workflows.ErrTypeStackApplyFailed:
			var r workflows.StackOperationResult
			if app.Details(&r) == nil {
				se.Result = &r
			}
		case workflows.ErrTypeStackBusy:
			var op workflows.StackOperation
			if app.Details(&op) == nil {
				se.Holder = &op
			}
		}
	}
	return se
}
