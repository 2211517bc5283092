package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Workflow phases reported by the progress query.
const (
	PhaseRunning      = "running"
	PhaseCompensating = "compensating"
	PhaseCompleted    = "completed"
	PhaseFailed       = "failed"
)

// tracker keeps a run's steps in order, answers the progress query, and
// keeps the run's current details (what the Temporal UI shows) in step.
type tracker struct {
	ctx      workflow.Context
	progress Progress
	index    map[string]int
}

func newTracker(ctx workflow.Context, workflowName string) (*tracker, error) {
	t := &tracker{ctx: ctx, progress: Progress{Workflow: workflowName, Phase: PhaseRunning}, index: map[string]int{}}
	err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (Progress, error) {
		return t.snapshot(), nil
	})
	return t, err
}

// add declares a step, pending, so the query shows the whole plan up front.
func (t *tracker) add(kind, resource string) string {
	return t.addNamed(kind+"/"+resource, kind, resource)
}

// addNamed declares a step under a name of the caller's, for runs that act
// on one resource more than once (a replace deletes, then creates).
func (t *tracker) addNamed(name, kind, resource string) string {
	t.index[name] = len(t.progress.Steps)
	t.progress.Steps = append(t.progress.Steps, Step{
		Name: name, Kind: kind, Resource: resource, State: StepPending, UpdatedAt: workflow.Now(t.ctx),
	})
	t.showDetails()
	return name
}

// update applies fn to the named step and stamps it.
func (t *tracker) update(name string, fn func(*Step)) {
	i, ok := t.index[name]
	if !ok {
		return
	}
	fn(&t.progress.Steps[i])
	t.progress.Steps[i].UpdatedAt = workflow.Now(t.ctx)
	t.showDetails()
}

func (t *tracker) set(name, state string) { t.update(name, func(s *Step) { s.State = state }) }

// fail marks a step failed, or cancelled when it or the run was cancelled,
// with why, and returns the state it set.
func (t *tracker) fail(ctx workflow.Context, name string, err error) string {
	state := StepFailed
	if temporal.IsCanceledError(err) || ctx.Err() != nil {
		state = StepCanceled
	}
	t.update(name, func(s *Step) { s.State, s.Error = state, errorMessage(err) })
	return state
}

func (t *tracker) step(name string) Step { return t.progress.Steps[t.index[name]] }

func (t *tracker) phase(p string) {
	t.progress.Phase = p
	t.showDetails()
}

func (t *tracker) snapshot() Progress {
	p := t.progress
	p.Steps = append([]Step(nil), t.progress.Steps...)
	return p
}
