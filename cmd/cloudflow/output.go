package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printList prints what a list command found: JSON (an empty list as []),
// or a line on stderr saying there is none, or the table write draws.
func printList[T any](f *factory, jsonOut bool, list []T, none string, write func(w io.Writer)) error {
	switch {
	case jsonOut:
		if list == nil {
			list = []T{}
		}
		return printJSON(f.IO.Out, list)
	case len(list) == 0:
		fmt.Fprintln(f.IO.ErrOut, none)
		return nil
	}
	write(f.IO.Out)
	return nil
}

// table aligns columns like kubectl's tables and trims the padding left at
// the end of lines whose last cells are empty.
type table struct {
	*tabwriter.Writer
	buf bytes.Buffer
	out io.Writer
}

func newTable(w io.Writer) *table {
	t := &table{out: w}
	t.Writer = tabwriter.NewWriter(&t.buf, 0, 0, 2, ' ', 0)
	return t
}

func (t *table) Flush() error {
	if err := t.Writer.Flush(); err != nil {
		return err
	}
	var out bytes.Buffer
	for _, l := range strings.SplitAfter(t.buf.String(), "\n") {
		nl := strings.HasSuffix(l, "\n")
		out.WriteString(strings.TrimRight(l, " \n"))
		if nl {
			out.WriteByte('\n')
		}
	}
	t.buf.Reset()
	_, err := t.out.Write(out.Bytes())
	return err
}

// stepSymbols mark each step state in the live table.
var stepSymbols = map[string]string{
	workflows.StepPending:    "·",
	workflows.StepDone:       "✓",
	workflows.StepFailed:     "✗",
	workflows.StepUndoing:    "↺",
	workflows.StepUndone:     "↩",
	workflows.StepUndoFailed: "!",
	workflows.StepKept:       "=",
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// stepSymbol marks a state; a running step spins when frame >= 0 (a live
// table) and shows a fixed mark in a snapshot.
func stepSymbol(state string, frame int) string {
	if state == workflows.StepRunning {
		if frame < 0 {
			return "▸"
		}
		return spinner[frame%len(spinner)]
	}
	if s, ok := stepSymbols[state]; ok {
		return s
	}
	return "?"
}

// writeSteps renders steps as a table: state, resource, id, operation, error.
// A compact table (the live one) shortens IDs, which are long UUIDs, so that
// the error still fits on the line; the summary that follows has them whole.
func writeSteps(w io.Writer, steps []workflows.Step, frame int, compact bool) {
	tw := newTable(w)
	fmt.Fprintln(tw, "STATE\tRESOURCE\tID\tOPERATION\tERROR")
	for _, s := range steps {
		id, op, errText := s.ID, "", oneLine(s.Error)
		// The operation matters while it is awaited; afterwards it is history.
		if s.State == workflows.StepRunning || s.State == workflows.StepUndoing {
			op = s.OperationID
		}
		if compact {
			id, op = truncate(id, 9), truncate(op, 9)
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t%s\n", stepSymbol(s.State, frame), s.State, s.Name, dash(id), dash(op), errText)
	}
	_ = tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func truncate(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	if n == 1 {
		return "…"
	}
	return string([]rune(s)[:n-1]) + "…"
}

// progressView shows a run's progress while the CLI waits for it.
type progressView interface {
	Update(p workflows.Progress)
	// Finish shows the final state; final may be nil when it is unknown.
	Finish(final *workflows.Progress)
}

func newProgressView(f *factory, jsonOut bool, title string) progressView {
	switch {
	case jsonOut:
		return nopView{}
	case f.IO.OutTTY:
		return newTTYView(f.IO.Out, f.IO.Width(), f.Now, title)
	default:
		return &lineView{w: f.IO.Out, now: f.Now, seen: map[string]workflows.Step{}}
	}
}

type nopView struct{}

func (nopView) Update(workflows.Progress)  {}
func (nopView) Finish(*workflows.Progress) {}

// lineView prints one line per step change, for logs and pipes:
//
//	12:00:01 disk/demo-vm-data running op=3f2a...
type lineView struct {
	w     io.Writer
	now   func() time.Time
	seen  map[string]workflows.Step
	phase string
}

func (v *lineView) Update(p workflows.Progress) {
	defer func() {
		if p.Phase != "" && v.phase != "" && p.Phase != v.phase {
			fmt.Fprintf(v.w, "%s %s %s\n", v.now().Format("15:04:05"), dash(p.Workflow), p.Phase)
		}
		v.phase = p.Phase
	}()
	for _, s := range p.Steps {
		prev, ok := v.seen[s.Name]
		v.seen[s.Name] = s
		if !ok && s.State == workflows.StepPending {
			continue // the plan; states are reported as they change
		}
		if ok && prev.State == s.State && prev.OperationID == s.OperationID && prev.Error == s.Error && prev.ID == s.ID {
			continue
		}
		at := s.UpdatedAt
		if at.IsZero() {
			at = v.now()
		}
		line := fmt.Sprintf("%s %s %s", at.Local().Format("15:04:05"), s.Name, s.State)
		if s.ID != "" && s.ID != prev.ID {
			line += " id=" + s.ID
		}
		if s.OperationID != "" && (s.State == workflows.StepRunning || s.State == workflows.StepUndoing) {
			line += " op=" + s.OperationID
		}
		if s.Error != "" {
			line += fmt.Sprintf(" error=%q", oneLine(s.Error))
		}
		fmt.Fprintln(v.w, line)
	}
}

func (v *lineView) Finish(final *workflows.Progress) {
	if final != nil {
		v.Update(*final)
	}
}

// ttyView redraws a live step table in place with ANSI cursor movement.
type ttyView struct {
	mu    sync.Mutex
	w     io.Writer
	width int
	now   func() time.Time
	title string
	start time.Time
	p     workflows.Progress
	lines int // lines drawn last time, to move back over
	frame int

	stop chan struct{}
	done chan struct{}
}

func newTTYView(w io.Writer, width int, now func() time.Time, title string) *ttyView {
	if width <= 0 {
		width = 120
	}
	v := &ttyView{w: w, width: width, now: now, title: title, start: now(), stop: make(chan struct{}), done: make(chan struct{})}
	v.draw(false)
	go v.tick()
	return v
}

// tick animates the spinner and the elapsed time between updates.
func (v *ttyView) tick() {
	defer close(v.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-t.C:
			v.mu.Lock()
			v.frame++
			v.draw(false)
			v.mu.Unlock()
		}
	}
}

func (v *ttyView) Update(p workflows.Progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.p = p
	v.draw(false)
}

func (v *ttyView) Finish(final *workflows.Progress) {
	close(v.stop)
	<-v.done
	v.mu.Lock()
	defer v.mu.Unlock()
	if final != nil {
		v.p = *final
	}
	v.draw(true)
}

func (v *ttyView) draw(final bool) {
	var body bytes.Buffer
	phase := v.p.Phase
	if phase == "" {
		phase = "starting"
	}
	elapsed := v.now().Sub(v.start).Round(time.Second)
	head := fmt.Sprintf("%s  %s  %s", v.title, phase, elapsed)
	if !final {
		head = spinner[v.frame%len(spinner)] + " " + head
	}
	fmt.Fprintln(&body, head)
	if len(v.p.Steps) > 0 {
		writeSteps(&body, v.p.Steps, v.frame, true)
	}

	var out bytes.Buffer
	if v.lines > 0 {
		fmt.Fprintf(&out, "\x1b[%dA", v.lines)
	}
	n := 0
	for _, l := range strings.Split(strings.TrimRight(body.String(), "\n"), "\n") {
		// A wrapped line would throw off the count of lines to move back over.
		fmt.Fprintf(&out, "\r\x1b[2K%s\n", truncate(l, v.width-1))
		n++
	}
	out.WriteString("\x1b[J")
	v.lines = n
	_, _ = v.w.Write(out.Bytes())
}

// printProvisionSummary says what a ProvisionVM run made or, when it failed,
// where it failed, what was undone and what could not be.
func printProvisionSummary(w io.Writer, run starter.Run, res *workflows.ProvisionVMResult, runErr *starter.RunError) {
	if runErr == nil {
		fmt.Fprintf(w, "\nVM %s is ready (workflow %s).\n\n", res.VM.Name, run.WorkflowID)
		tw := newTable(w)
		fmt.Fprintln(tw, "KIND\tNAME\tID\tSTATE")
		rows := append(append([]workflows.Resource{res.VM}, res.Disks...), res.FirewallRules...)
		for _, r := range rows {
			note := ""
			if r.Existed {
				note = "\t(already existed)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\n", r.Kind, r.Name, dash(r.ID), dash(r.State), note)
		}
		_ = tw.Flush()
		return
	}
	printFailureReport(w, run, runErr, res.FailedStep, res.Steps, res.Undone, res.NotUndone)
}

// printFailureReport says which step failed and why, what the saga undid,
// and, by name and ID, whatever it could not.
func printFailureReport(w io.Writer, run starter.Run, runErr *starter.RunError, failedStep string, steps []workflows.Step, undone []string, notUndone []workflows.UndoFailure) {
	fmt.Fprintf(w, "\n%s %s.\n", run.Workflow, runOutcome(runErr))
	failed := failedStep
	if failed == "" {
		failed = runErr.FailedStep
	}
	if failed != "" {
		msg := stepError(steps, failed)
		if msg == "" {
			msg = runErr.Message
		}
		fmt.Fprintf(w, "  failed step: %s\n", failed)
		if msg != "" {
			fmt.Fprintf(w, "  error:       %s\n", oneLine(msg))
		}
	} else if runErr.Message != "" {
		fmt.Fprintf(w, "  error: %s\n", oneLine(runErr.Message))
	}
	if len(undone) > 0 {
		fmt.Fprintf(w, "  undone:      %s\n", strings.Join(undone, ", "))
	}
	if len(notUndone) > 0 {
		writeLeftovers(w, notUndone, steps)
	} else if len(undone) > 0 || failed != "" {
		fmt.Fprintln(w, "  Nothing was left behind.")
	}
}

// writeLeftovers lists what could not be undone, by kind, name and ID.
func writeLeftovers(w io.Writer, left []workflows.UndoFailure, steps []workflows.Step) {
	fmt.Fprintln(w, "\nCould NOT be undone; these may still exist and cost money, remove them by hand:")
	tw := newTable(w)
	fmt.Fprintln(tw, "  KIND\tNAME\tID\tERROR")
	for _, u := range left {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", u.Kind, u.Name, leftoverID(u, steps), oneLine(u.Error))
	}
	_ = tw.Flush()
}

// leftoverID is the ID to remove a leftover by: its own, or its step's when
// an older worker left it out of the failure. A leftover whose ID no call
// ever learned says so, rather than show a blank.
func leftoverID(u workflows.UndoFailure, steps []workflows.Step) string {
	if u.ID != "" {
		return u.ID
	}
	for _, st := range steps {
		if st.Name == u.Step && st.ID != "" {
			return st.ID
		}
	}
	return "unknown: find it by name"
}

// printDeploySummary says what a DeployInstance run made or, when it failed,
// where it failed, what was undone and what could not be.
func printDeploySummary(w io.Writer, run starter.Run, res *workflows.DeployInstanceResult, runErr *starter.RunError) {
	if runErr != nil {
		printFailureReport(w, run, runErr, res.FailedStep, res.Steps, res.Undone, res.NotUndone)
		return
	}
	fmt.Fprintf(w, "\nInstance %s is running (workflow %s).\n", res.Instance.Name, run.WorkflowID)
	if res.FQDN != "" {
		fmt.Fprintf(w, "  fqdn: %s\n", res.FQDN)
	}
	fmt.Fprintln(w)
	tw := newTable(w)
	fmt.Fprintln(tw, "KIND\tNAME\tID\tSTATE")
	for _, r := range []workflows.Resource{res.Instance, res.ServiceGroup, res.Volume} {
		if r.Kind == "" {
			continue // not asked for
		}
		note := ""
		if r.Existed {
			note = "\t(already existed)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\n", r.Kind, r.Name, dash(r.ID), dash(r.State), note)
	}
	_ = tw.Flush()
}

// printBulkSummary lists the VMs a BulkCreateVMs run made, or how it failed.
func printBulkSummary(w io.Writer, run starter.Run, res *workflows.BulkCreateVMsResult, runErr *starter.RunError) {
	if runErr != nil {
		printFailureReport(w, run, runErr, res.FailedStep, res.Steps, res.Undone, res.NotUndone)
		return
	}
	fmt.Fprintf(w, "\n%d VMs are ready (workflow %s).\n\n", len(res.VMs), run.WorkflowID)
	tw := newTable(w)
	fmt.Fprintln(tw, "NAME\tID\tSTATE")
	for _, r := range res.VMs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, dash(r.ID), dash(r.State))
	}
	_ = tw.Flush()
}

// printSnapshotSummary lists the snapshots a SnapshotDisks run took and
// deleted, those it could not delete, and the ledger it leaves; or how it
// failed and what it deleted again.
func printSnapshotSummary(w io.Writer, run starter.Run, res *workflows.SnapshotDisksResult, runErr *starter.RunError) {
	if runErr != nil {
		printFailureReport(w, run, runErr, res.FailedStep, res.Steps, res.Undone, res.NotUndone)
		if len(res.NotUndone) > 0 {
			fmt.Fprintln(w, "They are in this run's ledger (--json): give it to a later run with --ledger, which deletes them past the retention.")
		}
		if len(res.Deleted) > 0 {
			fmt.Fprintf(w, "  Deleted before the run ended: %s\n", strings.Join(snapshotIDs(res.Deleted), ", "))
		}
		return
	}
	fmt.Fprintf(w, "\nSnapshotted %s (workflow %s).\n\n", plural(len(res.Created), "disk"), run.WorkflowID)
	tw := newTable(w)
	fmt.Fprintln(tw, "DISK\tSNAPSHOT\tTAKEN\tRESULT")
	row := func(r workflows.SnapshotRecord, result string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", dash(r.DiskName), r.SnapshotID, r.TakenAt.UTC().Format(time.RFC3339), result)
	}
	for _, r := range res.Created {
		row(r, "created")
	}
	for _, r := range res.Deleted {
		row(r, "deleted (past retention)")
	}
	for _, r := range res.NotDeleted {
		row(r.SnapshotRecord, "NOT deleted: "+oneLine(r.Error))
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nLedger: %s kept.", plural(len(res.Ledger), "snapshot"))
	if len(res.NotDeleted) > 0 {
		fmt.Fprintf(w, " %s past the retention could not be deleted: kept in the ledger, to be tried again.", plural(len(res.NotDeleted), "snapshot"))
	}
	fmt.Fprintln(w)
}

func snapshotIDs(rs []workflows.SnapshotRecord) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.SnapshotID
	}
	return out
}

// printDeprovisionSummary says what a DeprovisionVM run deleted or where it failed.
func printDeprovisionSummary(w io.Writer, run starter.Run, res *workflows.DeprovisionVMResult, runErr *starter.RunError) {
	if runErr != nil {
		fmt.Fprintf(w, "\n%s %s.\n", run.Workflow, runOutcome(runErr))
		if runErr.Message != "" {
			fmt.Fprintf(w, "  error: %s\n", oneLine(runErr.Message))
		}
		for _, s := range res.Steps {
			if s.State == workflows.StepFailed || s.State == workflows.StepUndoFailed {
				fmt.Fprintf(w, "  %s: %s\n", s.Name, oneLine(s.Error))
			}
		}
		if len(res.Deleted) > 0 {
			fmt.Fprintln(w, "  Deleted before the failure: "+resourceNames(res.Deleted))
		}
		return
	}
	fmt.Fprintf(w, "\nDeprovisioned (workflow %s).\n\n", run.WorkflowID)
	tw := newTable(w)
	fmt.Fprintln(tw, "KIND\tNAME\tID\tRESULT")
	for _, r := range res.Deleted {
		fmt.Fprintf(tw, "%s\t%s\t%s\tdeleted\n", r.Kind, r.Name, dash(r.ID))
	}
	for _, r := range res.AlreadyGone {
		fmt.Fprintf(tw, "%s\t%s\t%s\talready gone\n", r.Kind, r.Name, dash(r.ID))
	}
	_ = tw.Flush()
}

func resourceNames(rs []workflows.Resource) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Kind + "/" + r.Name
	}
	return strings.Join(names, ", ")
}

func stepError(steps []workflows.Step, name string) string {
	for _, s := range steps {
		if s.Name == name {
			return s.Error
		}
	}
	return ""
}

func runOutcome(e *starter.RunError) string {
	switch e.Status {
	case "Canceled":
		return "was canceled"
	case "Terminated":
		return "was terminated"
	case "TimedOut":
		return "timed out"
	}
	return "failed"
}

// writeRunInfo prints one run's details as aligned key: value lines, with
// its link in the Temporal UI when there is one.
func writeRunInfo(w io.Writer, ri starter.RunInfo, phase, ui string, now time.Time) {
	tw := newTable(w)
	fmt.Fprintf(tw, "Workflow:\t%s\n", ri.WorkflowID)
	fmt.Fprintf(tw, "Run:\t%s\n", ri.RunID)
	fmt.Fprintf(tw, "Type:\t%s\n", ri.Type)
	fmt.Fprintf(tw, "Status:\t%s\n", ri.Status)
	if !ri.StartTime.IsZero() {
		fmt.Fprintf(tw, "Started:\t%s\n", ri.StartTime.Local().Format(time.DateTime))
	}
	if !ri.CloseTime.IsZero() {
		fmt.Fprintf(tw, "Closed:\t%s (took %s)\n", ri.CloseTime.Local().Format(time.DateTime), ri.CloseTime.Sub(ri.StartTime).Round(time.Second))
	} else if !ri.StartTime.IsZero() {
		fmt.Fprintf(tw, "Running for:\t%s\n", now.Sub(ri.StartTime).Round(time.Second))
	}
	if phase != "" {
		fmt.Fprintf(tw, "Phase:\t%s\n", phase)
	}
	if ui != "" {
		fmt.Fprintf(tw, "UI:\t%s\n", ui)
	}
	_ = tw.Flush()
}

func writeRunList(w io.Writer, runs []starter.RunInfo, now time.Time) {
	tw := newTable(w)
	fmt.Fprintln(tw, "WORKFLOW ID\tTYPE\tSTATUS\tSTARTED\tDURATION")
	for _, r := range runs {
		started, took := "-", "-"
		if !r.StartTime.IsZero() {
			started = r.StartTime.Local().Format(time.DateTime)
			end := now
			if !r.CloseTime.IsZero() {
				end = r.CloseTime
			}
			took = end.Sub(r.StartTime).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.WorkflowID, r.Type, r.Status, started, took)
	}
	_ = tw.Flush()
}

// inventoryRow is one simulated resource, with the fields every cloud's
// rendering is likely to carry.
type inventoryRow struct {
	Cloud, Kind, Name, ID, State string
}

func inventoryRows(inv map[string]map[string][]json.RawMessage) []inventoryRow {
	var rows []inventoryRow
	for cloud, kinds := range inv {
		for kind, items := range kinds {
			for _, raw := range items {
				var m map[string]any
				_ = json.Unmarshal(raw, &m)
				rows = append(rows, inventoryRow{
					Cloud: cloud, Kind: kind,
					Name:  firstString(m, "name", "display_name", "hostname"),
					ID:    firstString(m, "id", "uuid", "vm_id", "disk_id"),
					State: firstString(m, "state", "status"),
				})
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Cloud != b.Cloud {
			return a.Cloud < b.Cloud
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	return rows
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

func writeInventory(w io.Writer, rows []inventoryRow) {
	tw := newTable(w)
	fmt.Fprintln(tw, "CLOUD\tKIND\tNAME\tID\tSTATE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Cloud, r.Kind, dash(r.Name), dash(r.ID), dash(r.State))
	}
	_ = tw.Flush()
}
