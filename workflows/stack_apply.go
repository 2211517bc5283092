package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
)

// stackProvider is what a stack needs of one cloud: the spec's resources in
// canonical form, which fields the cloud changes in place, and the steps an
// apply runs. The steps are the provisioning workflows' own (one
// implementation of each): creates run the cloud's provisioning workflow as
// a child, which makes what is missing and adopts what exists; deletes and
// in-place changes run the same activities the saga and deprovision
// workflows do.
type stackProvider interface {
	// desired lists the spec's resources in dependency order. observed (nil
	// before the cloud was read) resolves references between them, such as
	// a firewall rule's "vm".
	desired(spec StackSpec, observed map[string]activities.Observed) []desiredResource
	rules(kind string) kindRules
	// observe reads the resources from the cloud: one activity.
	observe(ctx workflow.Context, spec StackSpec, refs []activities.ObserveRef) ([]activities.Observed, error)
	// remove deletes resources by ID, dependents first (rs is in that
	// order), and detaches what must be detached first. It records each in
	// the run's steps.
	remove(ctx workflow.Context, a *applyRun, rs []StackResource) error
	// provision runs the cloud's provisioning workflow for the whole spec
	// as a child and returns what it made or found, by key, also when it
	// failed (its saga has then removed what it made, as far as it could).
	provision(ctx workflow.Context, a *applyRun) (map[string]Resource, error)
	// update makes one change in place.
	update(ctx workflow.Context, a *applyRun, c PlanChange) error
}

func stackProviderFor(provider string) (stackProvider, error) {
	switch provider {
	case ProviderCrusoe:
		return crusoeStack{}, nil
	case ProviderCloudMC:
		return cloudMCStack{}, nil
	case ProviderKraftCloud:
		return kraftCloudStack{}, nil
	case ProviderOpenVZ:
		return openVZStack{}, nil
	}
	return nil, fmt.Errorf("unknown provider %q (want crusoe, cloudmc, kraftcloud or openvz)", provider)
}

// ApplyStack carries out one plan of a stack: it deletes what the plan
// deletes or replaces (dependents first), runs the cloud's provisioning
// workflow as a child when something is to be made, makes the in-place
// changes, then reads the cloud again and answers the stack's resources as
// they now are, with who made each. A failed run says what it did, what it
// could not do, and what is left; the stack keeps owning anything it made
// that could not be undone, so that nothing is lost.
func ApplyStack(ctx workflow.Context, in ApplyStackInput) (ApplyStackResult, error) {
	t, err := newTracker(ctx, ApplyStackWorkflowName)
	if err != nil {
		return ApplyStackResult{}, err
	}
	prov, err := stackProviderFor(in.Provider)
	if err != nil {
		return ApplyStackResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeStackInvalid, nil)
	}
	a := newApplyRun(ctx, t, prov, in)
	a.run(ctx)
	a.settle(ctx)
	a.res.Done = a.done()
	res := a.res
	res.Steps = t.snapshot().Steps
	if len(res.Failed) > 0 || ctx.Err() != nil {
		t.phase(PhaseFailed)
		res.Steps = t.snapshot().Steps
		if ctx.Err() != nil {
			return res, temporal.NewCanceledError(res)
		}
		return res, temporal.NewNonRetryableApplicationError(a.failureMessage(), ErrTypeStackApplyFailed, nil, res)
	}
	t.phase(PhaseCompleted)
	res.Steps = t.snapshot().Steps
	return res, nil
}

// applyRun is one ApplyStack run's state.
type applyRun struct {
	t    *tracker
	prov stackProvider
	in   ApplyStackInput
	// current holds the stack's resources by key, as the run found them.
	current map[string]StackResource
	// made holds what the provisioning child made or found, by key.
	made    map[string]Resource
	desired []desiredResource
	res     ApplyStackResult
	// removed holds the keys deleted by this run.
	removed map[string]bool
	// aborted: a delete or the provisioning failed, and the rest was not tried.
	aborted bool
	// steps of the run, by key: delete, provision, update.
	deleteSteps, updateSteps map[string]string
	provisionStep            string
}

func newApplyRun(ctx workflow.Context, t *tracker, prov stackProvider, in ApplyStackInput) *applyRun {
	a := &applyRun{
		t: t, prov: prov, in: in,
		current: map[string]StackResource{}, made: map[string]Resource{}, removed: map[string]bool{},
		deleteSteps: map[string]string{}, updateSteps: map[string]string{},
	}
	for _, r := range in.Resources {
		a.current[r.Key] = r
	}
	if !in.Destroy {
		a.desired = prov.desired(in.Spec, nil)
	}
	// Declare every step first, so the progress query shows the whole plan.
	for _, c := range in.Changes {
		if c.Action == ActionDelete || c.Action == ActionReplace {
			a.deleteSteps[c.Key] = t.addNamed("delete "+c.Key, c.Kind, c.Name)
		}
	}
	if a.needsProvision() {
		a.provisionStep = t.addNamed("provision "+in.Name, "provision", in.Name)
	}
	for _, c := range in.Changes {
		if a.inPlace(c) {
			a.updateSteps[c.Key] = t.addNamed("update "+c.Key, c.Kind, c.Name)
		}
	}
	return a
}

// needsProvision: something is to be made.
func (a *applyRun) needsProvision() bool {
	if a.in.Destroy {
		return false
	}
	for _, c := range a.in.Changes {
		if c.Action == ActionCreate || c.Action == ActionReplace {
			return true
		}
	}
	return false
}

// inPlace: the change is made by an update (an adopted resource's fields
// too, when the cloud changes them in place).
func (a *applyRun) inPlace(c PlanChange) bool {
	return !a.in.Destroy && len(c.Fields) > 0 && !anyReplace(c.Fields) && (c.Action == ActionUpdate || c.Action == ActionAdopt)
}

func (a *applyRun) run(ctx workflow.Context) {
	// 1. Deletes: what left the spec and what is replaced, dependents first.
	var gone []StackResource
	for _, c := range a.in.Changes {
		if _, ok := a.deleteSteps[c.Key]; !ok {
			continue
		}
		r, ok := a.current[c.Key]
		if !ok {
			r = StackResource{Key: c.Key, Kind: c.Kind, Name: c.Name, ID: c.ID}
		}
		gone = append(gone, r)
	}
	if len(gone) > 0 {
		if err := a.prov.remove(ctx, a, gone); err != nil || ctx.Err() != nil {
			a.skipRest("skipped: a delete failed")
			return
		}
	}
	// 2. Creates: the provisioning workflow makes what is missing.
	if a.provisionStep != "" {
		a.t.set(a.provisionStep, StepRunning)
		made, err := a.prov.provision(ctx, a)
		for k, r := range made {
			a.made[k] = r
		}
		if err != nil {
			a.fail(a.provisionStep, "provision", err)
			a.skipRest("skipped: the provisioning failed")
			return
		}
		a.t.set(a.provisionStep, StepDone)
	}
	// 3. In-place changes.
	for _, c := range a.in.Changes {
		step, ok := a.updateSteps[c.Key]
		if !ok {
			continue
		}
		a.t.set(step, StepRunning)
		if err := a.prov.update(ctx, a, c); err != nil {
			a.fail(step, c.Key, err)
			continue
		}
		a.t.set(step, StepDone)
	}
}

// deleted records a delete the provider made (or found done).
func (a *applyRun) deleted(key string, err error) {
	step := a.deleteSteps[key]
	if err != nil {
		a.fail(step, key, err)
		return
	}
	a.removed[key] = true
	a.t.set(step, StepDone)
}

// done lists the changes carried out: those whose steps all ended done, and
// the bookkeeping ones (adopt, release) of a run that was not cut short.
func (a *applyRun) done() []PlanChange {
	var out []PlanChange
	stepDone := func(step string) bool { return step != "" && a.t.step(step).State == StepDone }
	for _, c := range a.in.Changes {
		ok := false
		switch c.Action {
		case ActionNoChange:
			continue
		case ActionDelete:
			ok = stepDone(a.deleteSteps[c.Key])
		case ActionReplace:
			ok = stepDone(a.deleteSteps[c.Key]) && stepDone(a.provisionStep)
		case ActionCreate:
			ok = stepDone(a.provisionStep)
		default: // update, adopt, release
			ok = !a.aborted
		}
		if step, has := a.updateSteps[c.Key]; has {
			ok = ok && stepDone(step)
		}
		if ok {
			out = append(out, c)
		}
	}
	return out
}

func (a *applyRun) fail(step, key string, err error) {
	a.t.update(step, func(s *Step) { s.State, s.Error = StepFailed, errorMessage(err) })
	a.res.Failed = append(a.res.Failed, PlanFailure{Key: key, Error: errorMessage(err)})
}

// skipRest marks the steps not yet run as not tried.
func (a *applyRun) skipRest(why string) {
	a.aborted = true
	for _, st := range a.t.snapshot().Steps {
		if st.State == StepPending {
			a.t.update(st.Name, func(s *Step) { s.State, s.Error = StepCanceled, why })
		}
	}
}

func (a *applyRun) failureMessage() string {
	msg := fmt.Sprintf("%d change(s) failed:", len(a.res.Failed))
	for _, f := range a.res.Failed {
		msg += fmt.Sprintf(" %s: %s;", f.Key, f.Error)
	}
	if len(a.res.NotUndone) > 0 {
		msg += " left in the cloud:"
		for _, u := range a.res.NotUndone {
			msg += fmt.Sprintf(" %s %s (%s);", u.Kind, u.Name, orDash(u.ID))
		}
	}
	return msg
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// settle reads the cloud once more and answers the stack's resources: the
// spec's that exist, and the stack's own that could not be deleted. A
// resource keeps the ownership the stack recorded; one this run's
// provisioning made is created; anything else found under a spec's name is
// adopted.
func (a *applyRun) settle(ctx workflow.Context) {
	var refs []activities.ObserveRef
	seen := map[string]bool{}
	add := func(key, kind, name, id string, match map[string]string) {
		if !seen[key] {
			seen[key] = true
			refs = append(refs, activities.ObserveRef{Key: key, Kind: kind, Name: name, ID: id, Match: match})
		}
	}
	for _, d := range a.desired {
		id := ""
		if m, ok := a.made[d.Key]; ok {
			id = m.ID
		} else if r, ok := a.current[d.Key]; ok && !a.removed[d.Key] {
			id = r.ID
		}
		add(d.Key, d.Kind, d.Name, id, d.Attrs)
	}
	for _, r := range a.in.Resources {
		if !a.removed[r.Key] {
			add(r.Key, r.Kind, r.Name, r.ID, r.Attrs)
		}
	}
	if len(refs) == 0 {
		return
	}
	// A disconnected context: a cancelled run still reports what is left.
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	observed, err := a.prov.observe(dctx, a.in.Spec, refs)
	if err != nil {
		// Without a fresh read, keep what the stack knew, and what was made.
		a.res.Failed = append(a.res.Failed, PlanFailure{Key: "observe", Error: errorMessage(err)})
		a.res.Resources = a.fallbackResources()
		return
	}
	obs := observedMap(observed)
	written := map[string]map[string]string{}
	for _, d := range a.provDesired(obs) {
		written[d.Key] = d.WriteOnly
	}
	for _, ref := range refs {
		o := obs[ref.Key]
		if !o.Found {
			continue
		}
		r := StackResource{
			Key: ref.Key, Kind: ref.Kind, Name: ref.Name, ID: o.ID, State: o.State,
			Attrs: o.Attrs, Outputs: o.Outputs,
		}
		cur, had := a.current[ref.Key]
		m, made := a.made[ref.Key]
		switch {
		case made && !m.Existed && m.ID == o.ID:
			r.Ownership = OwnershipCreated
		case had && !a.removed[ref.Key] && (cur.ID == "" || cur.ID == o.ID):
			r.Ownership = cur.Ownership
			r.Applied = cur.Applied
		case a.destroyedSpecOnly(ref.Key):
			continue
		default:
			r.Ownership = OwnershipAdopted
		}
		// What the stack applied itself it can compare later.
		if w, ok := written[ref.Key]; ok && (r.Ownership == OwnershipCreated && (a.changed(ref.Key) || !had)) {
			r.Applied = w
		}
		a.res.Resources = append(a.res.Resources, r)
	}
}

// provDesired is the spec's resources resolved against what was observed.
func (a *applyRun) provDesired(obs map[string]activities.Observed) []desiredResource {
	if a.in.Destroy {
		return nil
	}
	return a.prov.desired(a.in.Spec, obs)
}

// changed: this run created, replaced or updated the resource.
func (a *applyRun) changed(key string) bool {
	for _, c := range a.in.Changes {
		if c.Key == key && c.Action != ActionNoChange && c.Action != ActionAdopt && c.Action != ActionRelease {
			return true
		}
	}
	return false
}

// destroyedSpecOnly: in a destroy, a spec resource the stack never owned is
// none of its business.
func (a *applyRun) destroyedSpecOnly(key string) bool {
	_, had := a.current[key]
	return a.in.Destroy && !had
}

// fallbackResources is the stack's resources when the cloud could not be
// read after the run: what it had, less what it deleted, plus what it made.
func (a *applyRun) fallbackResources() []StackResource {
	var out []StackResource
	seen := map[string]bool{}
	for _, r := range a.in.Resources {
		if !a.removed[r.Key] {
			out = append(out, r)
			seen[r.Key] = true
		}
	}
	for _, d := range a.desired {
		if m, ok := a.made[d.Key]; ok && !seen[d.Key] && m.ID != "" {
			own := OwnershipAdopted
			if !m.Existed {
				own = OwnershipCreated
			}
			out = append(out, StackResource{Key: d.Key, Kind: d.Kind, Name: d.Name, ID: m.ID, Ownership: own})
		}
	}
	return out
}

// provisionResult takes what a provisioning child answered, also when it
// failed: the resources it made or found, and what its saga could not undo.
func (a *applyRun) provisionResult(resources []Resource, undone []string, notUndone []UndoFailure) map[string]Resource {
	out := map[string]Resource{}
	for _, r := range resources {
		if r.Name != "" {
			out[resourceKey(r.Kind, r.Name)] = r
		}
	}
	a.res.Undone = append(a.res.Undone, undone...)
	a.res.NotUndone = append(a.res.NotUndone, notUndone...)
	return out
}

// childOptions are the options of a provisioning child with input in: its
// ID says which stack operation runs it, its summary what it makes.
func (a *applyRun) childOptions(ctx workflow.Context, workflowName string, in any) workflow.Context {
	parent := workflow.GetInfo(ctx).WorkflowExecution.ID
	d := DescribeRun(workflowName, in)
	return workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:    fmt.Sprintf("%s-%s", parent, workflowName),
		StaticSummary: clampText(fmt.Sprintf("%s for stack %s/%s", d.Summary, a.in.Provider, a.in.Name), maxSummaryBytes),
		StaticDetails: d.Details("Stack", StackID(a.in.Provider, a.in.Name), "Apply", parent, "Spec", a.in.Spec.Source),
	})
}

// childResult decodes a child's result, also from its failure's details.
func childResult[R any](f workflow.ChildWorkflowFuture, ctx workflow.Context) (R, error) {
	var r R
	err := f.Get(ctx, &r)
	if err != nil {
		var app *temporal.ApplicationError
		if errors.As(err, &app) && app.HasDetails() {
			_ = app.Details(&r)
		}
	}
	return r, err
}

// idOf is the ID of a change's resource: as this run's provisioning made
// or found it, else as the stack knew it, else as the plan saw it.
func (a *applyRun) idOf(c PlanChange) string {
	if m, ok := a.made[c.Key]; ok && m.ID != "" {
		return m.ID
	}
	if r, ok := a.current[c.Key]; ok && r.ID != "" && !a.removed[c.Key] {
		return r.ID
	}
	return c.ID
}

// parallel runs fn for every item at once and waits for all.
func parallel[T any](ctx workflow.Context, items []T, fn func(ctx workflow.Context, item T)) {
	wg := workflow.NewWaitGroup(ctx)
	for _, it := range items {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			fn(ctx, it)
		})
	}
	wg.Wait(ctx)
}

// errSkipped is the error of a change not tried, with why.
func errSkipped(why string) error {
	return temporal.NewNonRetryableApplicationError("skipped: "+why, ErrTypeStackApplyFailed, nil)
}

// failedUnless is an error when ok is false: the steps that failed say why.
func failedUnless(ok bool) error {
	if ok {
		return nil
	}
	return errSkipped("an earlier step failed")
}

// observeWith reads a stack's resources with the named observe activity,
// run as a local activity: a read has no side effect to record, and a
// drift refresh then costs one marker in the stack's history instead of an
// activity's three events and a round trip through the server.
func observeWith(ctx workflow.Context, spec StackSpec, activity string, in activities.ObserveInput) ([]activities.Observed, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 10 * time.Minute,
		RetryPolicy:            retryPolicy(),
	})
	if spec.Provider != "" {
		ctx = withSummary(ctx, "observe stack %s/%s (%s)", spec.Provider, spec.Name(), plural(len(in.Resources), "resource"))
	} else { // a destroy of a stack no apply has finished: no spec
		ctx = withSummary(ctx, "observe %s", plural(len(in.Resources), "resource"))
	}
	var res activities.ObserveResult
	err := workflow.ExecuteLocalActivity(ctx, activity, in).Get(ctx, &res)
	return res.Resources, err
}
