package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// How plans and results mark each action, one column wide (replace, three).
var actionMarks = map[string]string{
	workflows.ActionCreate:   "+",
	workflows.ActionAdopt:    ">",
	workflows.ActionUpdate:   "~",
	workflows.ActionReplace:  "-/+",
	workflows.ActionDelete:   "-",
	workflows.ActionRelease:  "<",
	workflows.ActionNoChange: "=",
}

// actionWords say what a plan will do, and what a result did.
var actionWords = map[string][2]string{
	workflows.ActionCreate:   {"create", "created"},
	workflows.ActionAdopt:    {"adopt", "adopted"},
	workflows.ActionUpdate:   {"update", "updated"},
	workflows.ActionReplace:  {"replace", "replaced"},
	workflows.ActionDelete:   {"delete", "deleted"},
	workflows.ActionRelease:  {"release", "released"},
	workflows.ActionNoChange: {"no change", "unchanged"},
}

// planOrder is the order a plan's summary counts actions in.
var planOrder = []string{
	workflows.ActionCreate, workflows.ActionAdopt, workflows.ActionUpdate, workflows.ActionReplace,
	workflows.ActionDelete, workflows.ActionRelease,
}

// writeChanges lists changes, one line each, then the fields that change
// (old → new) and the notes under it; destructive ones say so in capitals:
//
//	  ~ update     disk/web-data   9f3c...
//	                 size: 10GiB → 50GiB
//	-/+ replace    disk/web-logs   1a2b...   DESTRUCTIVE
//	                 type: persistent-ssd → shared-volume (cannot change in place)
func writeChanges(w io.Writer, changes []workflows.PlanChange, indent string) {
	keyW, idW := 0, 0
	for _, c := range changes {
		keyW, idW = max(keyW, len(c.Key)), max(idW, len(c.ID))
	}
	for _, c := range changes {
		line := fmt.Sprintf("%s%3s %-9s  %-*s  %-*s", indent, actionMarks[c.Action], actionWords[c.Action][0], keyW, c.Key, idW, c.ID)
		if c.Destructive {
			line += "  DESTRUCTIVE"
		}
		if c.Action == workflows.ActionAdopt {
			line += "  exists, not made by cloudflow: kept when the stack is destroyed"
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
		pad := indent + strings.Repeat(" ", 6)
		for _, fc := range c.Fields {
			fmt.Fprintf(w, "%s%s: %s → %s%s\n", pad, fc.Field, orNone(fc.Old), orNone(fc.New), fieldNote(fc))
		}
		if c.Note != "" {
			fmt.Fprintf(w, "%snote: %s\n", pad, oneLine(c.Note))
		}
	}
}

func fieldNote(fc workflows.FieldChange) string {
	switch {
	case fc.Destructive:
		return " (a shrink: data is lost, so it is replaced)"
	case fc.Replace:
		return " (cannot change in place: replaced)"
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// writePlan prints a plan: its changes, then how many of each.
func writePlan(w io.Writer, ref starter.StackRef, p workflows.StackPlan) {
	fmt.Fprintf(w, "Plan %s for stack %s%s:\n\n", p.ID, ref, sourceNote(p.Spec.Source))
	writeChanges(w, p.Changes, "")
	fmt.Fprintf(w, "\n%s\n", planSummary(p))
	if d := p.Destructive(); len(d) > 0 {
		fmt.Fprintf(w, "DESTRUCTIVE: %s (%s) replace, delete or shrink what exists.\n", plural(len(d), "change"), keyList(d))
	}
}

// planSummary counts a plan's changes: "Plan: 1 to create, 2 to update in
// place, 3 unchanged." or "No changes: the cloud matches the spec."
func planSummary(p workflows.StackPlan) string {
	if !p.Pending() {
		return "No changes: the cloud matches the spec."
	}
	count := map[string]int{}
	for _, c := range p.Changes {
		count[c.Action]++
	}
	var parts []string
	for _, a := range planOrder {
		if n := count[a]; n > 0 {
			word := actionWords[a][0]
			if a == workflows.ActionUpdate {
				word += " in place"
			}
			parts = append(parts, fmt.Sprintf("%d to %s", n, word))
		}
	}
	if n := count[workflows.ActionNoChange]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d unchanged", n))
	}
	return "Plan: " + strings.Join(parts, ", ") + "."
}

func sourceNote(source string) string {
	if source == "" {
		return ""
	}
	return " (spec " + source + ")"
}

func keyList(cs []workflows.PlanChange) string {
	keys := make([]string, len(cs))
	for i, c := range cs {
		keys[i] = c.Key
	}
	return strings.Join(keys, ", ")
}

// opName names an operation for people: "apply-3, run stack-crusoe-web-apply-3".
func opName(op workflows.StackOperation) string {
	if op.Run == "" {
		return op.ID
	}
	return op.ID + ", run " + op.Run
}

// printOpResult says what an apply, approval or destroy did, or, when it
// failed, what it did, what failed, what was undone and what is left (by
// name and ID), then the stack's outputs.
func printOpResult(w io.Writer, ref starter.StackRef, res workflows.StackOperationResult, child *childRun, failed bool) {
	op := res.Operation
	destroy := op.Kind == workflows.StackUpdateDestroy
	switch {
	case failed && destroy:
		fmt.Fprintf(w, "\nDestroy of stack %s failed (%s).\n", ref, opName(op))
	case failed:
		fmt.Fprintf(w, "\nApply of stack %s failed (%s).\n", ref, opName(op))
	case destroy:
		fmt.Fprintf(w, "\nDestroyed stack %s (%s).\n", ref, opName(op))
	case res.Plan != nil && !res.Plan.Pending():
		fmt.Fprintf(w, "\nStack %s is in sync: nothing to do.\n", ref)
	case res.Plan != nil:
		fmt.Fprintf(w, "\nApplied %s to stack %s (%s).\n", res.Plan.ID, ref, opName(op))
	default:
		fmt.Fprintf(w, "\nStack %s: %s %s.\n", ref, op.ID, dash(op.Outcome))
	}
	done := doneChanges(res)
	if len(done) > 0 {
		if failed {
			fmt.Fprintln(w, "\nDone before the failure:")
		} else {
			fmt.Fprintln(w)
		}
		writeDone(w, done, res.State)
	}
	if destroy && !failed && len(done) == 0 {
		if res.Plan == nil {
			fmt.Fprintln(w, "  Nothing to delete: an earlier destroy, which this one waited for, did it.")
		} else {
			fmt.Fprintln(w, "  The stack held nothing.")
		}
	}
	if failed {
		printFailures(w, ref, res, child)
		return
	}
	if !destroy {
		writeOutputs(w, res.State.Resources)
	}
}

// doneChanges are the changes an operation made (for a destroy: deleted
// and released), as its result lists them.
func doneChanges(res workflows.StackOperationResult) []workflows.PlanChange {
	if res.Apply == nil {
		return nil
	}
	return res.Apply.Done
}

// writeDone lists changes made: what, which resource, its ID and, for an
// update, the fields.
func writeDone(w io.Writer, done []workflows.PlanChange, st workflows.StackState) {
	tw := newTable(w)
	for _, c := range done {
		id := c.ID
		if r, ok := st.Resource(c.Key); ok && r.ID != "" {
			id = r.ID
		}
		word := actionWords[c.Action][1]
		detail := ""
		switch c.Action {
		case workflows.ActionUpdate, workflows.ActionReplace:
			var fs []string
			for _, f := range c.Fields {
				fs = append(fs, fmt.Sprintf("%s %s → %s", f.Field, orNone(f.Old), orNone(f.New)))
			}
			detail = strings.Join(fs, "; ")
		case workflows.ActionRelease:
			word, detail = "kept", oneLine(c.Note)
		}
		fmt.Fprintf(tw, "  %s %s\t%s\t%s\t%s\n", actionMarks[c.Action], word, c.Key, dash(id), detail)
	}
	_ = tw.Flush()
}

// printFailures says what failed and why, what was undone, and what is
// left in the cloud by name and ID. When the provisioning child failed,
// its own report (failed step, undone, left) says it.
func printFailures(w io.Writer, ref starter.StackRef, res workflows.StackOperationResult, child *childRun) {
	var failures []workflows.PlanFailure
	var undone []string
	var left []workflows.UndoFailure
	if res.Apply != nil {
		failures, undone, left = res.Apply.Failed, res.Apply.Undone, res.Apply.NotUndone
	}
	writeFailed(w, failures)
	if len(failures) == 0 && res.Operation.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", oneLine(res.Operation.Error))
	}
	if child != nil && child.Err != nil {
		var steps []workflows.Step
		if rep, ok := reports[child.Run.Workflow]; ok {
			steps = rep.steps(child.Result)
		}
		failedStep := child.Err.FailedStep
		if fs, ok := child.Result.(interface{ FailedStepName() string }); ok && fs.FailedStepName() != "" {
			failedStep = fs.FailedStepName()
		}
		printFailureReport(w, child.Run, child.Err, failedStep, steps, undone, left)
	} else {
		writeUndone(w, undone, left, nil)
	}
	verb := "apply the spec again to finish, or destroy it"
	if res.Operation.Kind == workflows.StackUpdateDestroy {
		verb = "destroy it again to finish"
	}
	fmt.Fprintf(w, "\nThe stack keeps owning what is left (cloudflow stacks show %s --provider %s): %s.\n", ref.Name, ref.Provider, verb)
}

// writeOutputs lists what the cloud reports of the resources: addresses,
// SSH destination, FQDN.
func writeOutputs(w io.Writer, resources []workflows.StackResource) {
	rows := outputRows(resources)
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "\nOutputs:")
	tw := newTable(w)
	for _, o := range rows {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", o.Resource, o.Output, o.Value)
	}
	_ = tw.Flush()
}

// outputRow is one output of one resource.
type outputRow struct {
	Resource string `json:"resource"`
	Output   string `json:"output"`
	Value    string `json:"value"`
}

// outputRows are the resources' outputs, in resource order, then by name.
func outputRows(resources []workflows.StackResource) []outputRow {
	var rows []outputRow
	for _, r := range resources {
		names := make([]string, 0, len(r.Outputs))
		for k := range r.Outputs {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			rows = append(rows, outputRow{Resource: r.Key, Output: k, Value: r.Outputs[k]})
		}
	}
	return rows
}

// printRefused shows what a refused operation would have changed and how
// to go on.
func printRefused(w io.Writer, ref starter.StackRef, se *starter.StackError, hint string) {
	fmt.Fprintf(w, "\nNot applied to stack %s: %s\n", ref, oneLine(se.Message))
	if se.Plan != nil {
		if d := se.Plan.Destructive(); len(d) > 0 {
			fmt.Fprintln(w, "\nDestructive changes in the plan:")
			writeChanges(w, d, "")
		}
	}
	fmt.Fprintln(w, "\nNothing changed.")
	if hint != "" {
		fmt.Fprintln(w, hint)
	}
}

// writeStackState prints what `stacks show` shows: status, spec,
// resources with ownership, outputs, drift as a diff, the saved plan and
// the operations.
func writeStackState(w io.Writer, st workflows.StackState, now time.Time) {
	ref := starter.StackRef{Provider: st.Provider, Name: st.Name}
	tw := newTable(w)
	fmt.Fprintf(tw, "Stack:\t%s\n", ref)
	fmt.Fprintf(tw, "Status:\t%s\n", st.Status)
	if st.Spec != nil {
		fmt.Fprintf(tw, "Spec:\t%s\n", dash(st.Spec.Source))
	} else {
		fmt.Fprintf(tw, "Spec:\tnone applied yet\n")
	}
	refresh := "off"
	if !st.Settings.RefreshOff {
		every := st.Settings.RefreshInterval
		if every == 0 {
			every = workflows.DefaultStackRefresh
		}
		refresh = "every " + every.String()
	}
	if !st.LastRefresh.IsZero() {
		refresh += ", last " + st.LastRefresh.Local().Format(time.DateTime)
	}
	fmt.Fprintf(tw, "Drift refresh:\t%s\n", refresh)
	if op := st.Operation; op != nil {
		fmt.Fprintf(tw, "Running:\t%s (%s) for %s\n", opName(*op), op.Kind, now.Sub(op.Started).Round(time.Second))
	}
	if op := st.LastOperation; op != nil {
		line := fmt.Sprintf("%s %s", op.ID, dash(op.Outcome))
		if !op.Finished.IsZero() {
			line += " at " + op.Finished.Local().Format(time.DateTime)
		}
		if op.Error != "" {
			line += ": " + oneLine(op.Error)
		}
		fmt.Fprintf(tw, "Last operation:\t%s\n", line)
	}
	_ = tw.Flush()

	if len(st.Resources) > 0 {
		fmt.Fprintln(w)
		rt := newTable(w)
		fmt.Fprintln(rt, "RESOURCE\tOWNERSHIP\tID\tSTATE")
		for _, r := range st.Resources {
			fmt.Fprintf(rt, "%s\t%s\t%s\t%s\n", r.Key, r.Ownership, dash(r.ID), dash(r.State))
		}
		_ = rt.Flush()
	}
	writeOutputs(w, st.Resources)
	if len(st.Drift) > 0 {
		fmt.Fprintln(w, "\nDrift: what the cloud holds differs from the applied spec; `cloudflow apply -f SPEC` repairs it:")
		writeChanges(w, st.Drift, "")
	}
	if p := st.PendingPlan; p != nil {
		fmt.Fprintf(w, "\nSaved plan %s, made %s, waits for approval:\n", p.ID, p.CreatedAt.Local().Format(time.DateTime))
		writeChanges(w, p.Changes, "")
		fmt.Fprintf(w, "  approve it: cloudflow stacks approve %s --provider %s --plan %s\n", st.Name, st.Provider, p.ID)
		fmt.Fprintf(w, "  discard it: cloudflow stacks discard %s --provider %s\n", st.Name, st.Provider)
	}
}

// printApplyStackSummary says what an ApplyStack run (a stack's apply or
// destroy, followed with `runs watch`) did: the changes made and, when it
// failed, what failed, what was undone and what is left.
func printApplyStackSummary(w io.Writer, run starter.Run, res *workflows.ApplyStackResult, runErr *starter.RunError) {
	if runErr != nil {
		fmt.Fprintf(w, "\n%s %s %s.\n", run.Workflow, run.WorkflowID, runOutcome(runErr))
	} else {
		fmt.Fprintf(w, "\n%s %s completed.\n", run.Workflow, run.WorkflowID)
	}
	st := workflows.StackState{Resources: res.Resources}
	if len(res.Done) > 0 {
		fmt.Fprintln(w)
		writeDone(w, res.Done, st)
	}
	if runErr == nil {
		writeOutputs(w, res.Resources)
		return
	}
	writeFailed(w, res.Failed)
	writeUndone(w, res.Undone, res.NotUndone, res.Steps)
}

// writeFailed lists the changes that failed, with why.
func writeFailed(w io.Writer, failures []workflows.PlanFailure) {
	if len(failures) == 0 {
		return
	}
	fmt.Fprintln(w, "\nFailed:")
	tw := newTable(w)
	for _, f := range failures {
		fmt.Fprintf(tw, "  %s\t%s\n", f.Key, oneLine(f.Error))
	}
	_ = tw.Flush()
}

// writeUndone says what a failed run undid and, by name and ID, what it
// could not.
func writeUndone(w io.Writer, undone []string, left []workflows.UndoFailure, steps []workflows.Step) {
	if len(undone) > 0 {
		fmt.Fprintf(w, "  undone: %s\n", strings.Join(undone, ", "))
	}
	if len(left) > 0 {
		writeLeftovers(w, left, steps)
	}
}
