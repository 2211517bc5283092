package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// deletion is one resource a deprovision workflow deletes, under its step.
type deletion struct{ step, kind, name string }

// deletions runs the deletes of a deprovision workflow (DeprovisionVM,
// UndeployInstance, DeprovisionInstance, DeleteContainer) and collects what
// was deleted and what was already gone, which counts as deleted. A delete
// that fails is tried again for timeouts.Undo, as an undo's is.
type deletions struct {
	t        *tracker
	timeouts Timeouts
	// remove deletes a resource by name and returns its ID, if it had one,
	// and whether there was nothing to delete.
	remove  func(ctx workflow.Context, del deletion) (id string, gone bool, err error)
	deleted []Resource
	gone    []Resource
}

// plan declares the step that deletes a resource.
func (d *deletions) plan(kind, name string) deletion {
	return deletion{d.t.add(kind, name), kind, name}
}

// run deletes one resource and says whether it is gone.
func (d *deletions) run(ctx workflow.Context, del deletion) bool {
	d.t.set(del.step, StepRunning)
	var id string
	gone, err := retryUndo(ctx, d.timeouts.undo(), func(ctx workflow.Context) (bool, error) {
		var gone bool
		var err error
		id, gone, err = d.remove(ctx, del)
		return gone, err
	})
	if err != nil {
		d.t.fail(ctx, del.step, err)
		return false
	}
	d.t.update(del.step, func(s *Step) { s.ID, s.State = id, StepDone })
	r := Resource{Kind: del.kind, Name: del.name, ID: id}
	if gone {
		d.gone = append(d.gone, r)
	} else {
		d.deleted = append(d.deleted, r)
	}
	return true
}

// runAll deletes resources in parallel and says whether all are gone.
func (d *deletions) runAll(ctx workflow.Context, dels []deletion) bool {
	wg := workflow.NewWaitGroup(ctx)
	ok := true
	for _, del := range dels {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			if !d.run(ctx, del) {
				ok = false
			}
		})
	}
	wg.Wait(ctx)
	return ok
}

// skip marks resources that are not tried as failed, with why.
func (d *deletions) skip(dels []deletion, why string) {
	for _, del := range dels {
		d.t.update(del.step, func(s *Step) { s.State, s.Error = StepFailed, why })
	}
}

// finishDeletions ends a deprovision run with the result that result builds
// from the final steps: an error of type errType, carrying the result, names
// every step not done; a cancelled run ends cancelled.
func finishDeletions[R any](ctx workflow.Context, d *deletions, errType string, result func(steps []Step) R) (R, error) {
	var left []string
	for _, st := range d.t.snapshot().Steps {
		if st.State != StepDone {
			left = append(left, st.Name)
		}
	}
	phase := PhaseCompleted
	if ctx.Err() != nil || len(left) > 0 {
		phase = PhaseFailed
	}
	d.t.phase(phase)
	res := result(d.t.snapshot().Steps)
	switch {
	case ctx.Err() != nil:
		return res, temporal.NewCanceledError(res)
	case len(left) > 0:
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("could not delete %s", strings.Join(left, ", ")), errType, nil, res)
	}
	return res, nil
}
