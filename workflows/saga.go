package workflows

import (
	"fmt"
	"sort"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// saga records, for each step, how to undo it. Steps register their undo
// before they run (DESIGN decision 6): a step whose outcome is unknown (a
// create whose answer was lost) is undone too, by name.
type saga struct {
	undos []undo
}

type undo struct {
	step string
	fn   func(ctx workflow.Context) error
}

// add registers the undo of step. Undos run in reverse order of registration.
func (s *saga) add(step string, fn func(ctx workflow.Context) error) {
	s.undos = append(s.undos, undo{step: step, fn: fn})
}

// compensate runs every undo in reverse order on a context that survives the
// workflow's cancellation, and returns the steps whose undo failed, with why.
// It does not stop at a failed undo: what can be removed is removed.
func (s *saga) compensate(ctx workflow.Context) map[string]error {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	failed := map[string]error{}
	for i := len(s.undos) - 1; i >= 0; i-- {
		if err := s.undos[i].fn(dctx); err != nil {
			failed[s.undos[i].step] = err
		}
	}
	return failed
}

// sagaRun is the state a run of a saga workflow (ProvisionVM,
// DeployInstance) shares among its coroutines, which never run at the same
// time, so no locking is needed.
type sagaRun struct {
	t    *tracker
	saga saga
	// made holds what each create reported, so that undo knows what existed
	// before the run.
	made       map[string]Resource
	cancelRun  workflow.CancelFunc
	failedStep string
	firstErr   error
}

func newSagaRun(t *tracker) sagaRun {
	return sagaRun{t: t, made: map[string]Resource{}}
}

// recordFailure records the run's first failure and stops the steps still
// running.
func (r *sagaRun) recordFailure(step string, err error) {
	if r.failedStep != "" {
		return
	}
	r.failedStep, r.firstErr = step, err
	r.cancelRun()
}

// undo removes what a step made. A resource that existed before the run is
// kept; one whose create never started has nothing to remove. remove deletes
// the resource, by the step's ID when it has one, and says whether there was
// nothing to delete.
func (r *sagaRun) undo(ctx workflow.Context, step string, remove func(ctx workflow.Context, id string) (gone bool, err error)) error {
	st := r.t.step(step)
	if m, ok := r.made[step]; ok && m.Existed {
		r.t.set(step, StepKept)
		return nil
	}
	if st.State == StepPending {
		return nil
	}
	before := st.State
	r.t.set(step, StepUndoing)
	gone, err := remove(ctx, st.ID)
	if err != nil {
		r.t.update(step, func(s *Step) { s.State, s.Error = StepUndoFailed, errorMessage(err) })
		return err
	}
	if gone && before != StepDone && before != StepRunning {
		r.t.set(step, before) // nothing had been made: the step stays failed or cancelled
		return nil
	}
	r.t.set(step, StepUndone)
	return nil
}

// compensation is what the saga did for a run that failed or was cancelled.
type compensation struct {
	failedStep string
	undone     []string
	notUndone  []UndoFailure
}

// compensate runs the saga for a run that failed or was cancelled, moving
// its phase to compensating and then failed, and reports what it did.
func (r *sagaRun) compensate(ctx workflow.Context) compensation {
	r.t.phase(PhaseCompensating)
	notUndone := r.saga.compensate(ctx)
	r.t.phase(PhaseFailed)
	c := compensation{failedStep: r.failedStep}
	c.undone, c.notUndone = compensationReport(r.t, notUndone)
	return c
}

// runError is the error a compensated run ends with, carrying its result as
// details: a cancellation when the run was cancelled before any step failed,
// else an errType error naming the failed step, what was undone and what
// still exists.
func (r *sagaRun) runError(ctx workflow.Context, c compensation, errType string, result any) error {
	if ctx.Err() != nil && r.failedStep == "" {
		return temporal.NewCanceledError(result)
	}
	return temporal.NewNonRetryableApplicationError(
		compensationMessage(r.failedStep, r.firstErr, c.undone, c.notUndone), errType, r.firstErr, result)
}

// compensationReport lists, after the saga ran, the steps undone and those
// whose undo failed, with why.
func compensationReport(t *tracker, notUndone map[string]error) ([]string, []UndoFailure) {
	var undone []string
	var failed []UndoFailure
	for _, st := range t.snapshot().Steps {
		switch {
		case st.State == StepUndone:
			undone = append(undone, st.Name)
		case notUndone[st.Name] != nil:
			failed = append(failed, UndoFailure{
				Step: st.Name, Kind: st.Kind, Name: st.Resource, ID: st.ID, Error: errorMessage(notUndone[st.Name]),
			})
		}
	}
	return undone, failed
}

// compensationMessage is a failed run's error message: the step that failed
// and why, what was undone, and what still exists.
func compensationMessage(failedStep string, firstErr error, undone []string, notUndone []UndoFailure) string {
	msg := fmt.Sprintf("step %s failed: %s", failedStep, errorMessage(firstErr))
	if len(undone) > 0 {
		msg += "; undone: " + strings.Join(undone, ", ")
	}
	if len(notUndone) > 0 {
		names := make([]string, len(notUndone))
		for i, u := range notUndone {
			names[i] = u.Step
		}
		sort.Strings(names)
		msg += "; NOT undone (still exist): " + strings.Join(names, ", ")
	}
	return msg
}
