package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
)

// stackHistoryLimit is the history length past which an idle stack
// continues as new, keeping every run well under 2,000 events.
const stackHistoryLimit = 1000

// Stack is the long-lived workflow that owns one spec: the entity pattern.
// It holds the last applied spec, the resources it created or adopted, what
// it last observed of them, and a saved plan. Operations arrive as Workflow
// Updates (plan, apply, approve, discard, destroy, refresh, settings) and run
// one at a time: that is the stack's lock. Between them, a timer re-reads the
// resources for drift. An idle stack whose history grows long continues as
// new with its state; a destroyed stack ends.
func Stack(ctx workflow.Context, in StackInput) error {
	s, err := newStack(ctx, in)
	if err != nil {
		return err
	}
	for {
		if s.ended {
			// Destroyed: end once every update still waiting has been
			// answered, unless one of them (an apply) made the stack anew.
			if err := workflow.Await(ctx, func() bool {
				return !s.ended || (s.state.Operation == nil && workflow.AllHandlersFinished(ctx))
			}); err != nil {
				return err
			}
			if s.ended {
				return nil
			}
			continue
		}
		if s.refreshing() {
			woke, err := workflow.AwaitWithTimeout(ctx, s.untilRefresh(ctx), s.wake)
			if err != nil {
				return err
			}
			if !woke && !s.ended {
				s.refreshNow(ctx)
			}
		} else if err := workflow.Await(ctx, func() bool {
			return s.wake() || s.refreshing() // the first apply starts the refresh timer
		}); err != nil {
			return err
		}
		s.settingsChanged = false
		if !s.ended && s.longHistory(ctx) {
			// Let running and waiting operations finish, then hand over.
			if err := workflow.Await(ctx, func() bool {
				return s.state.Operation == nil && workflow.AllHandlersFinished(ctx)
			}); err != nil {
				return err
			}
			if !s.ended {
				st := s.state
				return workflow.NewContinueAsNewError(ctx, StackWorkflowName, StackInput{
					Provider: in.Provider, Name: in.Name, Settings: st.Settings, State: &st, Indexed: in.Indexed,
				})
			}
		}
	}
}

// stack is one Stack run's state, shared by its update handlers, which the
// SDK runs as coroutines, one at a time.
type stack struct {
	ctx             workflow.Context
	state           StackState
	provider        stackProvider
	indexed         bool
	ended           bool
	settingsChanged bool
	// lastStatus is the status last written to the search attribute.
	lastStatus string
}

func newStack(ctx workflow.Context, in StackInput) (*stack, error) {
	prov, err := stackProviderFor(in.Provider)
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeStackInvalid, nil)
	}
	if in.Name == "" {
		return nil, temporal.NewNonRetryableApplicationError("a stack needs a name", ErrTypeStackInvalid, nil)
	}
	s := &stack{ctx: ctx, provider: prov, indexed: in.Indexed}
	if in.State != nil {
		s.state = *in.State
		s.lastStatus = s.state.Status
		s.showDetails(ctx)
	} else {
		s.state = StackState{Provider: in.Provider, Name: in.Name, Status: StackNew, Settings: in.Settings}
		s.setStatus(ctx, StackNew)
	}
	if err := workflow.SetQueryHandlerWithOptions(ctx, StackQueryState, func() (StackState, error) {
		return s.state, nil
	}, workflow.QueryHandlerOptions{Description: "The stack's spec, resources, drift, saved plan and operations"}); err != nil {
		return nil, err
	}
	return s, s.registerUpdates(ctx)
}

// wake is the main loop's condition: something other than the refresh timer
// needs it.
func (s *stack) wake() bool {
	return s.ended || s.settingsChanged || (s.state.Operation == nil && s.longHistory(s.ctx))
}

// refreshing: the stack has a spec to refresh, and its refresh is on.
func (s *stack) refreshing() bool { return !s.state.Settings.RefreshOff && s.state.Spec != nil }

func (s *stack) untilRefresh(ctx workflow.Context) time.Duration {
	next := s.state.LastRefresh.Add(s.state.Settings.interval())
	if d := next.Sub(workflow.Now(ctx)); d > 0 && !s.state.LastRefresh.IsZero() {
		return d
	}
	return s.state.Settings.interval()
}

func (s *stack) longHistory(ctx workflow.Context) bool {
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > stackHistoryLimit
}

func (s *stack) registerUpdates(ctx workflow.Context) error {
	type reg struct {
		name     string
		desc     string
		handler  any
		validate any
	}
	regs := []reg{
		{StackUpdatePlan, "Read the cloud and plan the changes that bring it to a spec; save the plan for approval",
			s.plan, func(ctx workflow.Context, r StackPlanRequest) error { return s.validateSpec(ctx, r.Spec, r.IfBusy) }},
		{StackUpdateApply, "Plan and apply a spec; destructive changes need allowDestroy",
			s.apply, func(ctx workflow.Context, r StackApplyRequest) error { return s.validateSpec(ctx, r.Spec, r.IfBusy) }},
		{StackUpdateApprove, "Apply the saved plan, exactly, unless the cloud changed since it was made",
			s.approve, func(ctx workflow.Context, r StackApproveRequest) error {
				if err := s.validateOp(r.IfBusy); err != nil {
					return err
				}
				return s.checkPending(r.PlanID)
			}},
		{StackUpdateDiscard, "Drop the saved plan",
			s.discard, func(ctx workflow.Context, r StackApproveRequest) error {
				if err := s.validateOp(r.IfBusy); err != nil {
					return err
				}
				return s.checkPending(r.PlanID)
			}},
		{StackUpdateDestroy, "Delete what the stack created (and adopted, if asked), dependents first; the stack then ends",
			s.destroy, func(ctx workflow.Context, r StackDestroyRequest) error { return s.validateOp(r.IfBusy) }},
		{StackUpdateRefresh, "Re-read the stack's resources now and record the drift",
			s.refresh, func(ctx workflow.Context, r StackRefreshRequest) error { return s.validateOp(r.IfBusy) }},
		{StackUpdateSettings, "Change the stack's settings (drift refresh interval, or off)",
			s.changeSettings, func(ctx workflow.Context, r StackSettingsRequest) error {
				if s.ended {
					return s.endedError()
				}
				if r.Settings.RefreshInterval < 0 {
					return invalidStack("settings.refreshInterval must not be negative")
				}
				if r.Settings.RefreshInterval > 0 && r.Settings.RefreshInterval < MinStackRefresh {
					return invalidStack("settings.refreshInterval must be at least %s", MinStackRefresh)
				}
				return nil
			}},
	}
	for _, r := range regs {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, r.name, r.handler, workflow.UpdateHandlerOptions{
			Validator: r.validate, Description: r.desc,
		}); err != nil {
			return err
		}
	}
	return nil
}

func invalidStack(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrTypeStackInvalid, nil)
}

func (s *stack) endedError() error {
	return invalidStack("stack %s/%s was destroyed; apply a spec to make it again", s.state.Provider, s.state.Name)
}

// validateOp rejects an operation on an ended stack, and one that asked not
// to wait while another operation holds the stack, naming that operation.
func (s *stack) validateOp(ifBusy string) error {
	switch ifBusy {
	case "", IfBusyWait:
	case IfBusyFail:
		if op := s.state.Operation; op != nil {
			by := "the drift refresh timer"
			if op.UpdateID != "" {
				by = "update " + op.UpdateID
			}
			return temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("stack %s/%s is busy: operation %s (%s, by %s) holds it since %s",
					s.state.Provider, s.state.Name, op.ID, op.Kind, by, op.Started.UTC().Format(time.RFC3339)),
				ErrTypeStackBusy, nil, *op)
		}
	default:
		return invalidStack("ifBusy must be %q or %q, not %q", IfBusyWait, IfBusyFail, ifBusy)
	}
	return nil
}

func (s *stack) validateSpec(ctx workflow.Context, spec StackSpec, ifBusy string) error {
	if err := s.validateOp(ifBusy); err != nil {
		return err
	}
	if err := spec.Validate(); err != nil {
		return invalidStack("%v", err)
	}
	if spec.Provider != s.state.Provider || spec.Name() != s.state.Name {
		return invalidStack("this is stack %s/%s; the spec is for %s/%s", s.state.Provider, s.state.Name, spec.Provider, spec.Name())
	}
	return nil
}

func (s *stack) checkPending(planID string) error {
	p := s.state.PendingPlan
	switch {
	case p == nil:
		return invalidStack("stack %s/%s has no saved plan: make one with `cloudflow plan -f SPEC --save`", s.state.Provider, s.state.Name)
	case planID != "" && planID != p.ID:
		return invalidStack("the saved plan is %s, not %s", p.ID, planID)
	}
	return nil
}

// begin waits for the stack to be free, then holds it for an operation of
// the given kind. end releases it. On a stack destroyed meanwhile, a plan or
// an apply starts it anew; other operations have nothing to act on.
func (s *stack) begin(ctx workflow.Context, kind string) (*StackOperation, error) {
	return s.beginAs(ctx, kind, true)
}

// beginAs is begin; byUpdate says whether an update asked for the
// operation (the timer's refresh is not one).
func (s *stack) beginAs(ctx workflow.Context, kind string, byUpdate bool) (*StackOperation, error) {
	if err := workflow.Await(ctx, func() bool { return s.state.Operation == nil }); err != nil {
		return nil, err
	}
	if s.ended {
		switch kind {
		case StackUpdatePlan, StackUpdateApply:
			s.ended = false
			s.state.LastOperation, s.state.Drift, s.state.PendingPlan = nil, nil, nil
		case StackUpdateDestroy:
		default:
			return nil, s.endedError()
		}
	}
	s.state.Sequence++
	op := &StackOperation{
		ID: fmt.Sprintf("%s-%d", kind, s.state.Sequence), Kind: kind, Started: workflow.Now(ctx),
	}
	if byUpdate {
		if u := workflow.GetCurrentUpdateInfo(ctx); u != nil {
			op.UpdateID = u.ID
		}
	}
	s.state.Operation = op
	s.showDetails(ctx)
	return op, nil
}

// end releases the stack and records how the operation went; operations
// that change the cloud become the stack's LastOperation.
func (s *stack) end(ctx workflow.Context, op *StackOperation, err error) {
	op.Finished = workflow.Now(ctx)
	switch {
	case err == nil:
		op.Outcome = OutcomeSucceeded
	case isErrType(err, ErrTypeStackRefused):
		op.Outcome, op.Error = OutcomeRefused, errorMessage(err)
	default:
		op.Outcome, op.Error = OutcomeFailed, errorMessage(err)
	}
	switch op.Kind {
	case StackUpdateApply, StackUpdateApprove, StackUpdateDestroy:
		last := *op
		s.state.LastOperation = &last
	}
	s.state.Operation = nil
	s.setStatus(ctx, s.restingStatus())
}

// restingStatus is the stack's status when no operation runs.
func (s *stack) restingStatus() string {
	switch {
	case s.ended:
		return StackDestroyed
	case s.state.PendingPlan != nil:
		return StackAwaitingApproval
	case s.state.LastOperation != nil && s.state.LastOperation.Outcome == OutcomeFailed:
		return StackFailed
	case s.state.Spec == nil:
		return StackNew
	case len(s.state.Drift) > 0:
		return StackDrifted
	}
	return StackInSync
}

// setStatus records the status and keeps the search attribute and the
// current details current.
func (s *stack) setStatus(ctx workflow.Context, status string) {
	s.state.Status = status
	s.showDetails(ctx)
	if status == s.lastStatus {
		return
	}
	s.lastStatus = status
	if !s.indexed {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, SearchAttrStackStatus.ValueSet(status)); err != nil {
		workflow.GetLogger(ctx).Warn("could not record the stack status as a search attribute", "error", err)
	}
}

// result is what an operation answers.
func (s *stack) result(op *StackOperation, plan *StackPlan, apply *ApplyStackResult) StackOperationResult {
	return StackOperationResult{Operation: *op, Plan: plan, Apply: apply, State: s.state}
}

// --- operations ---

func (s *stack) plan(ctx workflow.Context, r StackPlanRequest) (StackOperationResult, error) {
	op, err := s.begin(ctx, StackUpdatePlan)
	if err != nil {
		return StackOperationResult{}, err
	}
	p, err := s.makePlan(ctx, r.Spec)
	if err == nil && r.Save {
		if p.Pending() {
			s.state.PendingPlan = &p
		} else {
			s.state.PendingPlan = nil // nothing to approve
		}
	}
	s.end(ctx, op, err)
	if err != nil {
		return s.result(op, nil, nil), err
	}
	return s.result(op, &p, nil), nil
}

func (s *stack) apply(ctx workflow.Context, r StackApplyRequest) (StackOperationResult, error) {
	op, err := s.begin(ctx, StackUpdateApply)
	if err != nil {
		return StackOperationResult{}, err
	}
	p, err := s.makePlan(ctx, r.Spec)
	switch {
	case err != nil:
	case r.Basis != "" && r.Basis != p.Basis:
		err = refused(p, "the cloud changed since the plan was shown: plan again")
	case !r.AllowDestroy && len(p.Destructive()) > 0:
		err = refused(p, "the plan replaces, deletes or shrinks "+keys(p.Destructive())+
			": apply it with allowDestroy (cloudflow apply --allow-destroy), or save it for approval (cloudflow plan --save)")
	}
	var res *ApplyStackResult
	if err == nil {
		res, err = s.run(ctx, op, p, false)
	}
	if err == nil && s.state.PendingPlan != nil {
		// The saved plan was made against a cloud this apply has changed.
		s.state.PendingPlan = nil
	}
	s.end(ctx, op, err)
	return s.failedWith(s.result(op, &p, res), err)
}

func (s *stack) approve(ctx workflow.Context, r StackApproveRequest) (StackOperationResult, error) {
	op, err := s.begin(ctx, StackUpdateApprove)
	if err != nil {
		return StackOperationResult{}, err
	}
	// The plan may have been discarded or replaced while this waited.
	if err := s.checkPending(r.PlanID); err != nil {
		s.end(ctx, op, err)
		return s.result(op, nil, nil), err
	}
	saved := *s.state.PendingPlan
	now, err := s.makePlan(ctx, saved.Spec)
	var res *ApplyStackResult
	switch {
	case err != nil:
	case now.Basis != saved.Basis:
		changed := basisChanges(observedMap(saved.Against), observedMap(now.Against))
		err = refused(now, fmt.Sprintf("plan %s was made against a cloud that has changed since (%s): it was not applied; plan again",
			saved.ID, strings.Join(changed, ", ")))
		s.state.PendingPlan = nil
	default:
		s.state.PendingPlan = nil
		res, err = s.run(ctx, op, saved, false)
	}
	s.end(ctx, op, err)
	return s.failedWith(s.result(op, &saved, res), err)
}

func (s *stack) discard(ctx workflow.Context, r StackApproveRequest) (StackOperationResult, error) {
	op, err := s.begin(ctx, StackUpdateDiscard)
	if err != nil {
		return StackOperationResult{}, err
	}
	p := s.state.PendingPlan
	err = s.checkPending(r.PlanID)
	if err == nil {
		s.state.PendingPlan = nil
	}
	s.end(ctx, op, err)
	return s.result(op, p, nil), err
}

func (s *stack) destroy(ctx workflow.Context, r StackDestroyRequest) (StackOperationResult, error) {
	op, err := s.begin(ctx, StackUpdateDestroy)
	if err != nil {
		return StackOperationResult{}, err
	}
	if s.ended { // an earlier destroy, which this one waited for, did it
		s.end(ctx, op, nil)
		return s.result(op, nil, nil), nil
	}
	s.setStatus(ctx, StackDestroying)
	p := s.destroyPlan(ctx, r.IncludeAdopted)
	res, err := s.run(ctx, op, p, true)
	if err == nil {
		s.state.PendingPlan = nil
		s.ended = true
	}
	s.end(ctx, op, err)
	return s.failedWith(s.result(op, &p, res), err)
}

func (s *stack) refresh(ctx workflow.Context, r StackRefreshRequest) (StackOperationResult, error) {
	op, err := s.begin(ctx, StackUpdateRefresh)
	if err != nil {
		return StackOperationResult{}, err
	}
	err = s.observeDrift(ctx)
	s.end(ctx, op, err)
	return s.result(op, nil, nil), err
}

func (s *stack) changeSettings(ctx workflow.Context, r StackSettingsRequest) (StackState, error) {
	s.state.Settings = r.Settings
	s.settingsChanged = true
	return s.state, nil
}

// refreshNow is the timer's drift refresh: it waits its turn like any
// operation.
func (s *stack) refreshNow(ctx workflow.Context) {
	op, err := s.beginAs(ctx, StackUpdateRefresh, false)
	if err != nil {
		return
	}
	err = s.observeDrift(ctx)
	if err != nil {
		workflow.GetLogger(ctx).Warn("drift refresh failed", "error", err)
	}
	s.end(ctx, op, err)
}

// observeDrift re-reads the stack's resources and records how they differ
// from the last applied spec, and what they report (outputs).
func (s *stack) observeDrift(ctx workflow.Context) error {
	s.state.LastRefresh = workflow.Now(ctx)
	if s.state.Spec == nil {
		return nil
	}
	p, err := s.makePlan(ctx, *s.state.Spec)
	if err != nil {
		return err
	}
	s.state.Drift = nil
	for _, c := range p.Changes {
		if c.Action != ActionNoChange {
			s.state.Drift = append(s.state.Drift, c)
		}
	}
	s.absorb(p.Against)
	return nil
}

// absorb records what the cloud reported of the stack's resources (IDs,
// states, fields, outputs), without changing what the stack owns.
func (s *stack) absorb(observed []activities.Observed) {
	obs := observedMap(observed)
	for i, r := range s.state.Resources {
		if o, ok := obs[r.Key]; ok && o.Found && (r.ID == "" || o.ID == r.ID) {
			s.state.Resources[i].ID, s.state.Resources[i].State = o.ID, o.State
			s.state.Resources[i].Attrs, s.state.Resources[i].Outputs = o.Attrs, o.Outputs
		}
	}
}

// makePlan reads the cloud and plans the spec against it.
func (s *stack) makePlan(ctx workflow.Context, spec StackSpec) (StackPlan, error) {
	refs := s.refs(spec)
	observed, err := s.provider.observe(ctx, spec, refs)
	if err != nil {
		return StackPlan{}, err
	}
	obs := observedMap(observed)
	p := makePlan(planInput{
		id: fmt.Sprintf("plan-%d", s.state.Sequence), spec: spec,
		desired: s.provider.desired(spec, obs), rules: s.provider.rules,
		state: &s.state, observed: obs,
	})
	p.Against, p.CreatedAt = observed, workflow.Now(ctx)
	return p, nil
}

// refs names what a plan reads: the spec's resources and the stack's, by
// ID where the stack knows it.
func (s *stack) refs(spec StackSpec) []activities.ObserveRef {
	var refs []activities.ObserveRef
	seen := map[string]bool{}
	for _, d := range s.provider.desired(spec, nil) {
		ref := activities.ObserveRef{Key: d.Key, Kind: d.Kind, Name: d.Name, Match: d.Attrs}
		if r, ok := s.state.Resource(d.Key); ok {
			ref.ID = r.ID
		}
		refs = append(refs, ref)
		seen[d.Key] = true
	}
	for _, r := range s.state.Resources {
		if !seen[r.Key] {
			refs = append(refs, activities.ObserveRef{Key: r.Key, Kind: r.Kind, Name: r.Name, ID: r.ID, Match: r.Attrs})
		}
	}
	return refs
}

// destroyPlan deletes what the stack created (and, when asked, what it
// adopted), dependents first, and releases the rest.
func (s *stack) destroyPlan(ctx workflow.Context, includeAdopted bool) StackPlan {
	p := StackPlan{ID: fmt.Sprintf("destroy-%d", s.state.Sequence), CreatedAt: workflow.Now(ctx)}
	if s.state.Spec != nil {
		p.Spec = *s.state.Spec
	}
	for i := len(s.state.Resources) - 1; i >= 0; i-- {
		r := s.state.Resources[i]
		c := PlanChange{Key: r.Key, Kind: r.Kind, Name: r.Name, ID: r.ID}
		if r.Ownership == OwnershipCreated || includeAdopted {
			c.Action, c.Destructive = ActionDelete, true
		} else {
			c.Action, c.Note = ActionRelease, "adopted: left in the cloud"
		}
		p.Changes = append(p.Changes, c)
	}
	return p
}

// run carries a plan out in an ApplyStack child and records its outcome:
// the resources after it, and the spec when it succeeded.
func (s *stack) run(ctx workflow.Context, op *StackOperation, p StackPlan, destroy bool) (*ApplyStackResult, error) {
	if !destroy && !p.Pending() {
		// In sync: nothing to run, only the spec and what was read to record.
		spec := p.Spec
		s.state.Spec, s.state.Drift, s.state.LastRefresh = &spec, nil, workflow.Now(ctx)
		s.absorb(p.Against)
		return &ApplyStackResult{Resources: s.state.Resources}, nil
	}
	if !destroy {
		s.setStatus(ctx, StackApplying)
	}
	childID := fmt.Sprintf("%s-%s", workflow.GetInfo(ctx).WorkflowExecution.ID, op.ID)
	op.Run = childID
	s.showDetails(ctx)
	in := ApplyStackInput{
		Provider: s.state.Provider, Name: s.state.Name, Spec: p.Spec, Changes: p.Changes,
		Resources: s.state.Resources, Destroy: destroy,
	}
	d := DescribeRun(ApplyStackWorkflowName, in)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:    childID,
		StaticSummary: clampText(fmt.Sprintf("%s (%s, %s)", d.Summary, op.ID, p.ID), maxSummaryBytes),
		StaticDetails: d.Details("Stack", StackID(s.state.Provider, s.state.Name), "Operation", op.ID, "Plan", p.ID, "Spec", p.Spec.Source),
	})
	var res ApplyStackResult
	err := workflow.ExecuteChildWorkflow(cctx, ApplyStackWorkflowName, in).Get(ctx, &res)
	if err != nil {
		// A failed run still reports what it did and what is left.
		var app *temporal.ApplicationError
		if errors.As(err, &app) && app.HasDetails() {
			_ = app.Details(&res)
		}
	}
	if res.Resources != nil || err == nil {
		s.state.Resources = res.Resources
	}
	if err == nil {
		if destroy {
			s.state.Spec = nil
		} else {
			spec := p.Spec
			s.state.Spec = &spec
		}
		s.state.Drift = nil
		s.state.LastRefresh = workflow.Now(ctx)
		s.recordResources(ctx)
		return &res, nil
	}
	s.recordResources(ctx)
	// The message carries the child's; the child is no cause of its own, so
	// that the text is not said twice.
	return &res, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("%s of stack %s/%s failed: %s", op.Kind, s.state.Provider, s.state.Name, errorMessage(err)),
		ErrTypeStackApplyFailed, nil, res)
}

// recordResources keeps the CloudflowResources search attribute naming the
// stack's resources.
func (s *stack) recordResources(ctx workflow.Context) {
	if !s.indexed {
		return
	}
	names := []string{s.state.Name}
	for _, r := range s.state.Resources {
		if r.Name != s.state.Name {
			names = append(names, r.Name)
		}
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		SearchAttrResources.ValueSet(names)); err != nil {
		workflow.GetLogger(ctx).Warn("could not record the stack's resources as a search attribute", "error", err)
	}
}

// failedWith gives a failed apply, approval or destroy the operation's
// result as details, as the contract says: the same StackOperationResult a
// success answers (the plan, what the ApplyStack child did, the state after).
func (s *stack) failedWith(res StackOperationResult, err error) (StackOperationResult, error) {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app == err && app.Type() == ErrTypeStackApplyFailed {
		err = temporal.NewNonRetryableApplicationError(app.Message(), ErrTypeStackApplyFailed, errors.Unwrap(app), res)
	}
	return res, err
}

// refused is the error of an operation that would have made a change it was
// not allowed to: nothing changed. Its details hold the plan.
func refused(p StackPlan, why string) error {
	return temporal.NewNonRetryableApplicationError(why, ErrTypeStackRefused, nil, p)
}

func keys(cs []PlanChange) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Key
	}
	return strings.Join(out, ", ")
}

func observedMap(obs []activities.Observed) map[string]activities.Observed {
	m := make(map[string]activities.Observed, len(obs))
	for _, o := range obs {
		m[o.Key] = o
	}
	return m
}
