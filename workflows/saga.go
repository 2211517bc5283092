package workflows

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
)

// Change IDs (workflow.GetVersion) of the saga's behaviour.
const (
	// changeSettleBeforeUndo: a failed step no longer cancels its siblings
	// still in flight; they run to their end (their cloud operations
	// settled), and the undo starts once every step has.
	changeSettleBeforeUndo = "saga-settle-before-undo"
	// changeUndoRetry: a delete that fails during an undo or a deprovision
	// is tried again, backing off, for Timeouts.Undo.
	changeUndoRetry = "undo-retry"
)

// The counters a compensation adds to, through the SDK's workflow metrics
// handler (which counts nothing while replaying): the worker exports them
// as cloudflow_compensations_total (by workflow_type) and
// cloudflow_resources_left_total (by kind), as internal/telemetry names them.
const (
	metricCompensations = "cloudflow_compensations"
	metricResourcesLeft = "cloudflow_resources_left"
)

// Backoff between the tries of a failed delete (retryUndo).
const (
	undoRetryFirst = time.Second
	undoRetryMax   = time.Minute
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
// DeployInstance, ProvisionInstance, CreateContainer) shares among its
// coroutines, which never run at the same time, so no locking is needed.
type sagaRun struct {
	t        *tracker
	timeouts Timeouts
	saga     saga
	// made holds what each create reported, so that undo knows what existed
	// before the run.
	made       map[string]Resource
	cancelRun  workflow.CancelFunc
	failedStep string
	firstErr   error
}

func newSagaRun(t *tracker, timeouts Timeouts) sagaRun {
	return sagaRun{t: t, timeouts: timeouts, made: map[string]Resource{}}
}

// recordFailure records the run's first failure. No new step starts after
// it; the steps still in flight run to their end, so that the undo finds
// their resources settled, with their IDs, rather than racing operations
// still in progress on them (which a cloud may refuse with 409). Runs
// started before this behaviour cancel them, as they did.
func (r *sagaRun) recordFailure(step string, err error) {
	if r.failedStep != "" {
		return
	}
	r.failedStep, r.firstErr = step, err
	if workflow.GetVersion(r.t.ctx, changeSettleBeforeUndo, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		r.cancelRun()
	}
}

// undo removes what a step made. A resource that existed before the run is
// kept; one whose create never started has nothing to remove. remove deletes
// the resource, by the step's ID when it has one, and says whether there was
// nothing to delete; a removal that fails is tried again for Timeouts.Undo
// (retryUndo).
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
	gone, err := retryUndo(ctx, r.timeouts.undo(), func(ctx workflow.Context) (bool, error) {
		// The ID as of this try: an earlier one may have learned it.
		return remove(ctx, r.t.step(step).ID)
	})
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
	countCompensation(ctx, c.notUndone)
	return c
}

// countCompensation counts a compensation and what it left behind. Metrics
// emit no command, so this needs no workflow.GetVersion.
func countCompensation(ctx workflow.Context, left []UndoFailure) {
	h := workflow.GetMetricsHandler(ctx)
	h.Counter(metricCompensations).Inc(1)
	for _, u := range left {
		h.WithTags(map[string]string{"kind": u.Kind}).Counter(metricResourcesLeft).Inc(1)
	}
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

// retryUndo calls remove until it succeeds, fails for a reason no retry can
// fix, or budget runs out, backing off from 1 s to a minute between tries.
// What is tried again is the failure of an activity: a delete refused, a
// delete operation that FAILED, retries or time exhausted. Not an input the
// activity cannot act on, not a cancellation (a deprovision cancelled stops
// trying), and not a skip the caller decided on (a volume kept because its
// instance is still there).
func retryUndo[T any](ctx workflow.Context, budget time.Duration, remove func(ctx workflow.Context) (T, error)) (T, error) {
	deadline := workflow.Now(ctx).Add(budget)
	delay := undoRetryFirst
	for {
		v, err := remove(ctx)
		if err == nil || !worthUndoRetry(ctx, err) {
			return v, err
		}
		if workflow.GetVersion(ctx, changeUndoRetry, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			return v, err
		}
		left := deadline.Sub(workflow.Now(ctx))
		if left <= 0 {
			return v, err
		}
		if workflow.Sleep(ctx, min(delay, left)) != nil {
			return v, err
		}
		delay = min(2*delay, undoRetryMax)
	}
}

func worthUndoRetry(ctx workflow.Context, err error) bool {
	var act *temporal.ActivityError
	return ctx.Err() == nil && errors.As(err, &act) && !temporal.IsCanceledError(err) &&
		!isErrType(err, activities.ErrTypeInvalidInput)
}
