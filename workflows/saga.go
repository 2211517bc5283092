package workflows

import (
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
