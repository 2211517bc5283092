package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"
)

// A run's current details: a few lines of Temporal markdown that the
// Temporal UI shows on the run's page (it asks the run with the SDK's
// __temporal_workflow_metadata query), kept current as the run goes. They
// are set with workflow.SetCurrentDetails, which emits no command: neither
// replay nor the history sees them.

// Bounds of the current details: the steps listed in each group, and the
// length of an error quoted.
const (
	maxDetailSteps     = 5
	maxDetailErrorText = 160
	maxCurrentDetails  = 4000
)

// progressDetails is a run's progress as current details: its phase and
// the count of its steps by state, then the steps running, undoing or
// failed, with their operation or error:
//
//	**running** · 2 of 4 steps done
//	- running: vm/web-1 (operation 1f2e3a4b…)
func progressDetails(p Progress) string {
	var done, running, failed, undoing, undone, kept, canceled int
	var lines []string
	list := func(n *int, label, text string) {
		*n++
		if *n <= maxDetailSteps {
			lines = append(lines, fmt.Sprintf("- %s: %s", label, text))
		} else if *n == maxDetailSteps+1 {
			lines = append(lines, fmt.Sprintf("- %s: …", label))
		}
	}
	for _, s := range p.Steps {
		switch s.State {
		case StepDone:
			done++
		case StepRunning:
			list(&running, "running", s.Name+waitingOn("operation", s.OperationID))
		case StepUndoing:
			list(&undoing, "undoing", s.Name+waitingOn("operation", s.OperationID))
		case StepFailed:
			list(&failed, "failed", stepError(s))
		case StepUndoFailed:
			list(&failed, "not undone", stepError(s))
		case StepUndone:
			undone++
		case StepKept:
			kept++
		case StepCanceled:
			canceled++
		}
	}
	head := fmt.Sprintf("**%s** · %d of %d steps done", p.Phase, done, len(p.Steps))
	for _, c := range []struct {
		n    int
		word string
	}{{undone, "undone"}, {kept, "kept"}, {canceled, "canceled"}} {
		if c.n > 0 {
			head += fmt.Sprintf(", %d %s", c.n, c.word)
		}
	}
	return clampText(strings.Join(append([]string{head}, lines...), "\n"), maxCurrentDetails)
}

func stepError(s Step) string {
	if s.Error == "" {
		return s.Name
	}
	return s.Name + ": " + clampText(s.Error, maxDetailErrorText)
}

// showDetails keeps the run's current details in step with its progress.
func (t *tracker) showDetails() {
	workflow.SetCurrentDetails(t.ctx, progressDetails(t.progress))
}

// fleetDetails is a fleet run's progress as current details (without its
// phase: the fleet sets them as instances settle, and the UI shows the
// run's status):
//
//	**340 of 1000 started**, 5 failed, 1 skipped, 654 pending
//	- round 1 of run 2, 512 API calls
func fleetDetails(p FleetProgress) string {
	head := fmt.Sprintf("**%d of %d %s**", p.Succeeded, p.Total, pastTense(p.Action))
	for _, c := range []struct {
		n    int
		word string
	}{{p.Failed, "failed"}, {p.Skipped, "skipped"}, {p.Pending, "pending"}} {
		if c.n > 0 {
			head += fmt.Sprintf(", %d %s", c.n, c.word)
		}
	}
	return fmt.Sprintf("%s\n- round %d of run %d, %s", head, p.Round, p.Run, plural(p.Calls, "API call"))
}

// showDetails keeps the fleet run's current details in step with its
// progress.
func (f *fleet) showDetails(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, fleetDetails(f.snapshot()))
}

// stackDetails is a stack's state as current details: its status, the
// operation holding it, the last one, a saved plan, the drift:
//
//	**applying** · stack crusoe/web-1, 4 resources
//	- operation: apply-3 (apply) since 2025-01-02 15:04:05 UTC, run stack-crusoe-web-1-apply-3
func stackDetails(st StackState) string {
	lines := []string{fmt.Sprintf("**%s** · stack %s/%s", st.Status, st.Provider, st.Name)}
	if n := len(st.Resources); n > 0 {
		lines[0] += ", " + plural(n, "resource")
	}
	if op := st.Operation; op != nil {
		line := fmt.Sprintf("- operation: %s (%s) since %s", op.ID, op.Kind, utc(op.Started))
		if op.Run != "" {
			line += ", run " + op.Run
		}
		lines = append(lines, line)
	}
	if op := st.LastOperation; op != nil {
		line := fmt.Sprintf("- last: %s %s at %s", op.ID, op.Outcome, utc(op.Finished))
		if op.Error != "" {
			line += ": " + clampText(op.Error, maxDetailErrorText)
		}
		lines = append(lines, line)
	}
	if p := st.PendingPlan; p != nil {
		lines = append(lines, fmt.Sprintf("- saved plan %s awaits approval", p.ID))
	}
	if n := len(st.Drift); n > 0 {
		keys := make([]string, 0, min(n, maxDetailSteps))
		for _, c := range st.Drift[:min(n, maxDetailSteps)] {
			keys = append(keys, c.Key)
		}
		if n > maxDetailSteps {
			keys = append(keys, "…")
		}
		lines = append(lines, fmt.Sprintf("- drift: %s (%s)", plural(n, "change"), strings.Join(keys, ", ")))
	}
	return clampText(strings.Join(lines, "\n"), maxCurrentDetails)
}

func utc(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// showDetails keeps the stack's current details in step with its state.
func (s *stack) showDetails(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, stackDetails(s.state))
}
