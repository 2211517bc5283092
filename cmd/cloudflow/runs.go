package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

func newRunsCmd(f *factory, root *rootOptions) *cobra.Command {
	cmd := nounCmd("runs <command>", "List, show, watch, cancel and terminate workflow runs")
	cmd.AddCommand(
		newRunsListCmd(f, root),
		newRunsShowCmd(f, root),
		newRunsWatchCmd(f, root),
		newRunsCancelCmd(f, root),
		newRunsTerminateCmd(f, root),
	)
	return cmd
}

type runsListOptions struct {
	Limit    int
	Query    string
	Provider string
	Name     string
	Workflow string
	JSON     bool
}

func newRunsListCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &runsListOptions{}
	cmd := &cobra.Command{
		Use:   "list [--provider P] [--name N] [--workflow W] [--limit N] [--json]",
		Short: "List recent runs, newest first",
		Long: heredoc(`
			List recent cloudflow runs, newest first: by default those on the
			task queue (--task-queue). --provider and --name find the runs that
			acted on a cloud and a resource (a VM, disk, instance... by name),
			--workflow those of one workflow type; --query takes any Temporal
			visibility query instead.

			--provider and --name use the search attributes CloudflowProvider and
			CloudflowResources, which 'cloudflow dev' registers; on another
			Temporal server register them with 'temporal operator search-attribute
			create'. A fleet is indexed by its first names (about 1.8 KB of them).`),
		Example: examples(`
			$ cloudflow runs list
			$ cloudflow runs list --provider crusoe --name web-1
			$ cloudflow runs list --workflow StartInstances --limit 5
			$ cloudflow runs list --query "ExecutionStatus = 'Running'" --json`),
		Aliases: []string{"ls"},
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Limit < 1 || opts.Limit > 1000 {
				return usageErrorf("--limit must be between 1 and 1000, not %d", opts.Limit)
			}
			if opts.Query != "" && (opts.Provider != "" || opts.Name != "" || opts.Workflow != "") {
				return usageErrorf("--query cannot be combined with --provider, --name or --workflow")
			}
			switch opts.Provider {
			case "", workflows.ProviderCrusoe, workflows.ProviderKraftCloud, workflows.ProviderOpenVZ, workflows.ProviderCloudMC:
			default:
				return usageErrorf("--provider %q is not one of %s, %s, %s, %s", opts.Provider, workflows.ProviderCrusoe, workflows.ProviderKraftCloud, workflows.ProviderOpenVZ, workflows.ProviderCloudMC)
			}
			r, err := root.dial(f)
			if err != nil {
				return err
			}
			defer r.Close()
			lo := starter.ListOptions{Query: opts.Query, Provider: opts.Provider, Resource: opts.Name, Workflow: opts.Workflow, Limit: opts.Limit}
			runs, err := r.List(cmd.Context(), lo)
			if err != nil {
				return withCode(exitOther, err)
			}
			return printList(f, opts.JSON, runs, "No runs found.", func(w io.Writer) { writeRunList(w, runs, f.Now()) })
		},
	}
	cmd.Flags().IntVarP(&opts.Limit, "limit", "L", 20, "most runs to list")
	cmd.Flags().StringVar(&opts.Query, "query", "", "Temporal visibility `query` (default: runs on the task queue)")
	cmd.Flags().StringVar(&opts.Provider, "provider", "", "only runs on this cloud: crusoe, kraftcloud, openvz or cloudmc")
	cmd.Flags().StringVar(&opts.Name, "name", "", "only runs that acted on the resource of this `name`")
	cmd.Flags().StringVar(&opts.Workflow, "workflow", "", "only runs of this workflow `type`, e.g. ProvisionVM")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

type runsShowOptions struct {
	RunID string
	JSON  bool
}

// runDetails is what `runs show --json` prints.
type runDetails struct {
	Run starter.RunInfo `json:"run"`
	// UI is the run's link in the Temporal UI, when one is known.
	UI string `json:"ui,omitempty"`
	// Progress is a running run's steps as it reports them, or an ended
	// run's as its result holds them; FleetProgress a fleet's counts.
	Progress      *workflows.Progress      `json:"progress,omitempty"`
	FleetProgress *workflows.FleetProgress `json:"fleetProgress,omitempty"`
	ProgressError string                   `json:"progressError,omitempty"`
	// Result is an ended run's result (a failed run's partial result);
	// Failure says how it did not complete.
	Result  any         `json:"result,omitempty"`
	Failure *runFailure `json:"failure,omitempty"`
}

// runFailure is how a run that did not complete ended.
type runFailure struct {
	Status     string `json:"status"`
	Message    string `json:"message,omitempty"`
	FailedStep string `json:"failedStep,omitempty"`
}

func newRunsShowCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &runsShowOptions{}
	cmd := &cobra.Command{
		Use:   "show WORKFLOW-ID [--run-id ID] [--json]",
		Short: "Show a run's status, the progress of each step, and how it ended",
		Long: heredoc(`
			Show a run: its status and, while it runs, the progress of each step
			(a fleet: its counts). Once it has ended, the report 'runs watch'
			prints at the end: what it made, or which step failed and why, what
			was undone and what is left; every instance of a fleet that failed.

			It exits as 'runs watch' would for an ended run: 1 when the run
			failed, was canceled, terminated or timed out, or completed leaving
			work undone (a fleet instance failed, an old snapshot not deleted);
			0 when it completed, or still runs.`) + "\n\n" + exitCodesHelp,
		Example: examples(`
			$ cloudflow runs show crusoe-vm-provision-demo-vm
			$ cloudflow runs show kraftcloud-fleet-web-1-and-9-more-3f9a2c1d --json | jq .failure`),
		Args: exactArgs(1, "WORKFLOW-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := root.dial(f)
			if err != nil {
				return err
			}
			defer r.Close()
			info, err := r.Describe(cmd.Context(), args[0], opts.RunID)
			if err != nil {
				return runError(args[0], err)
			}
			followQueue(r, info.TaskQueue)
			return showRun(cmd.Context(), f, r, info, opts.JSON)
		},
	}
	cmd.Flags().StringVar(&opts.RunID, "run-id", "", "a specific run (default: the latest)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

// showRun shows a run: while it runs, its progress; once it has ended, its
// report and the exit code of its outcome.
func showRun(ctx context.Context, f *factory, r runner, info starter.RunInfo, jsonOut bool) error {
	run := starter.Run{WorkflowID: info.WorkflowID, RunID: info.RunID, Workflow: info.Type}
	d := runDetails{Run: info, UI: f.UI.run(info.WorkflowID, info.RunID)}
	if info.Type == workflows.StackWorkflowName {
		if jsonOut {
			return printJSON(f.IO.Out, d)
		}
		writeRunInfo(f.IO.Out, info, "", d.UI, f.Now())
		fmt.Fprintf(f.IO.Out, "\n%s\n", stackRunHint(info.WorkflowID))
		return nil
	}
	var (
		result any
		runErr *starter.RunError
	)
	switch {
	case !info.Closed() && !workerPolls(ctx, r, info.TaskQueue):
		// Nobody would answer a query: say why rather than wait for it.
		d.ProgressError = fmt.Sprintf("no worker is polling task queue %q: the run waits until one does. %s", info.TaskQueue, startWorkerHint(info.TaskQueue))
	case !info.Closed() && isFleetWorkflow(info.Type):
		// The fleet's latest run does the work now.
		if p, err := r.FleetProgress(ctx, info.WorkflowID, ""); err != nil {
			d.ProgressError = err.Error()
		} else {
			d.FleetProgress = &p
		}
	case !info.Closed():
		if p, err := r.Progress(ctx, info.WorkflowID, info.RunID); err != nil {
			d.ProgressError = err.Error()
		} else {
			d.Progress = &p
		}
	default:
		// An ended run's result holds its report: no worker needs to answer.
		if isFleetWorkflow(info.Type) {
			result = new(workflows.FleetResult)
		} else {
			result = newResult(info.Type)
		}
		if err := r.Result(ctx, info.WorkflowID, info.RunID, result); err != nil && !errors.As(err, &runErr) {
			return runError(info.WorkflowID, err)
		}
		d.Result = result
		d.Progress = finalProgress(info.Type, result, runErr)
		if runErr != nil {
			d.Failure = &runFailure{Status: runErr.Status, Message: runErr.Message, FailedStep: runErr.FailedStep}
		}
	}
	if jsonOut {
		if err := printJSON(f.IO.Out, d); err != nil {
			return err
		}
		return outcomeErr(info.Type, result, runErr)
	}
	out := f.IO.Out
	phase := ""
	if d.Progress != nil {
		phase = d.Progress.Phase
	}
	writeRunInfo(out, info, phase, d.UI, f.Now())
	switch {
	case d.FleetProgress != nil:
		fmt.Fprintf(out, "Progress:\t%s\n", fleetLine(*d.FleetProgress))
	case d.Progress != nil && len(d.Progress.Steps) > 0:
		fmt.Fprintln(out)
		writeSteps(out, d.Progress.Steps, -1, false)
	case d.ProgressError != "":
		fmt.Fprintf(out, "\nProgress unavailable: %s\n", d.ProgressError)
	}
	if info.Closed() {
		if isFleetWorkflow(info.Type) {
			printFleetReport(out, run, result.(*workflows.FleetResult), runErr)
		} else {
			printOutcome(out, run, result, runErr)
		}
	}
	return outcomeErr(info.Type, result, runErr)
}

// workerPolls says whether a worker polls queue; when that cannot be told,
// it assumes one does.
func workerPolls(ctx context.Context, r runner, queue string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	polling, err := r.WorkerPolling(ctx, queue)
	return err != nil || polling
}

// stackRunHint says where a stack's workflow is shown and ended.
func stackRunHint(workflowID string) string {
	ref := stackRefOfID(workflowID)
	return fmt.Sprintf("%s is a stack: it runs until destroyed. See it with `cloudflow stacks show %s --provider %s`; end it with `cloudflow destroy %s --provider %s`, which deletes what it created.",
		workflowID, ref.Name, ref.Provider, ref.Name, ref.Provider)
}

// stackRefOfID reads a stack's provider and name from its workflow ID.
func stackRefOfID(id string) starter.StackRef {
	rest := strings.TrimPrefix(id, "stack-")
	for _, p := range stackProviders {
		if name, ok := strings.CutPrefix(rest, p+"-"); ok {
			return starter.StackRef{Provider: p, Name: name}
		}
	}
	return starter.StackRef{Name: rest}
}

type runsWatchOptions struct {
	RunID    string
	JSON     bool
	Timeout  time.Duration
	Interval time.Duration
}

func newRunsWatchCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &runsWatchOptions{}
	cmd := &cobra.Command{
		Use:   "watch WORKFLOW-ID [--timeout DURATION] [--json]",
		Short: "Show a run's progress live until it ends",
		Long: heredoc(`
			Show a run's progress live until it ends, then what it made or why
			it failed. Ctrl-C stops watching; the run goes on. If no worker polls
			the run's task queue, it says so within seconds (the run waits for
			one) instead of waiting without a word.

			Exit status: 0 completed, 1 failed, canceled, terminated or left work
			undone, 3 still running when --timeout passed or Ctrl-C was pressed,
			4 Temporal could not be reached, 6 no such run.`),
		Example: examples(`
			$ cloudflow runs watch crusoe-vm-provision-demo-vm`),
		Args: exactArgs(1, "WORKFLOW-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Timeout < 0 {
				return usageErrorf("--timeout must not be negative")
			}
			if opts.Interval <= 0 {
				return usageErrorf("--poll-interval must be longer than zero")
			}
			r, err := root.dial(f)
			if err != nil {
				return err
			}
			defer r.Close()
			info, err := r.Describe(cmd.Context(), args[0], opts.RunID)
			if err != nil {
				return runError(args[0], err)
			}
			if info.Type == workflows.StackWorkflowName {
				return usageErrorf("%s", stackRunHint(info.WorkflowID))
			}
			followQueue(r, info.TaskQueue)
			run := starter.Run{WorkflowID: info.WorkflowID, RunID: info.RunID, Workflow: info.Type}
			return waitForRun(cmd, f, r, run, waitSettings{JSON: opts.JSON, Timeout: opts.Timeout, Interval: opts.Interval})
		},
	}
	cmd.Flags().StringVar(&opts.RunID, "run-id", "", "a specific run (default: the latest)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON, without live progress")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 0, "give up watching after this long (default: no limit)")
	cmd.Flags().DurationVar(&opts.Interval, "poll-interval", defaultPollInterval, "how often to ask the workflow for progress")
	_ = cmd.Flags().MarkHidden("poll-interval")
	return cmd
}

func newRunsCancelCmd(f *factory, root *rootOptions) *cobra.Command {
	var runID string
	cmd := &cobra.Command{
		Use:   "cancel WORKFLOW-ID [--run-id ID]",
		Short: "Cancel a run; it undoes what it made",
		Long: heredoc(`
			Ask a run to cancel: it stops its steps, undoes what it made, and
			ends canceled ('runs watch' follows it).

			Only a worker carries a cancellation out. When no worker polls the
			run's task queue and the run never began (no worker ever ran it, so
			it made nothing), it is ended at once by terminating it: there is
			nothing to undo. When it did begin, it undoes what it made once a
			worker polls again; 'runs terminate' ends it now without undoing
			anything. A stack is not cancelled: 'cloudflow destroy' ends it.`) + "\n\n" + exitCodesHelp,
		Example: examples(`
			$ cloudflow runs cancel crusoe-vm-provision-demo-vm`),
		Args: exactArgs(1, "WORKFLOW-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, info, err := openRun(cmd, f, root, args[0], runID, "cancel")
			if err != nil || info.Closed() {
				return err
			}
			defer r.Close()
			ctx, id := cmd.Context(), info.WorkflowID
			if err := r.Cancel(ctx, id, info.RunID); err != nil {
				return runError(id, err)
			}
			if workerPolls(ctx, r, info.TaskQueue) {
				fmt.Fprintf(f.IO.Out, "Asked %s to cancel; it undoes what it made before it ends.\nFollow it with: cloudflow runs watch %s\n", id, id)
				return nil
			}
			begun, err := r.RunBegun(ctx, id, info.RunID)
			if err != nil {
				return runError(id, err)
			}
			if !begun {
				// Nothing ran, so nothing was made: ending it now undoes nothing
				// a worker would have undone.
				if err := r.Terminate(ctx, id, info.RunID, "canceled before any worker ran it: nothing to undo"); err != nil {
					return runError(id, err)
				}
				fmt.Fprintf(f.IO.Out, "Ended %s: no worker polls task queue %q and none ever ran it, so it made nothing; it was terminated, since only a worker carries out a cancellation.\n", id, info.TaskQueue)
				return nil
			}
			fmt.Fprintf(f.IO.Out, "Asked %s to cancel.\n", id)
			fmt.Fprintf(f.IO.ErrOut, "warning: no worker is polling task queue %q, and only a worker carries out a cancellation: the run undoes what it made and ends once one polls. %s\nTo end it now without undoing anything (what it made stays): cloudflow runs terminate %s\n",
				info.TaskQueue, startWorkerHint(info.TaskQueue), id)
			return nil
		},
	}
	cmd.Flags().StringVar(&runID, "run-id", "", "a specific run (default: the latest)")
	return cmd
}

func newRunsTerminateCmd(f *factory, root *rootOptions) *cobra.Command {
	var runID, reason string
	cmd := &cobra.Command{
		Use:   "terminate WORKFLOW-ID [--run-id ID] [--reason TEXT]",
		Short: "End a run now, undoing nothing (a stuck run)",
		Long: heredoc(`
			End a run at once, as 'temporal workflow terminate' does: its code
			does not run again, so nothing is undone, and what it made stays in
			the cloud (its steps, 'runs show', name it). It needs no worker. Use
			it for a run that cannot end otherwise; 'runs cancel' undoes what a
			run made.

			A stack is never terminated: 'cloudflow destroy NAME' ends it,
			deleting what it created.`) + "\n\n" + exitCodesHelp,
		Example: examples(`
			$ cloudflow runs terminate crusoe-vm-provision-demo-vm --reason "stuck on a retired task queue"`),
		Args: exactArgs(1, "WORKFLOW-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, info, err := openRun(cmd, f, root, args[0], runID, "terminate")
			if err != nil || info.Closed() {
				return err
			}
			defer r.Close()
			if err := r.Terminate(cmd.Context(), info.WorkflowID, info.RunID, reason); err != nil {
				return runError(info.WorkflowID, err)
			}
			fmt.Fprintf(f.IO.Out, "Terminated %s (%s). Nothing was undone: what it made stays; its steps name it: cloudflow runs show %s\n", info.WorkflowID, info.Type, info.WorkflowID)
			return nil
		},
	}
	cmd.Flags().StringVar(&runID, "run-id", "", "a specific run (default: the latest)")
	cmd.Flags().StringVar(&reason, "reason", "terminated with cloudflow runs terminate", "why, kept in the run's history")
	return cmd
}

// openRun connects and describes the run a cancel or terminate (verb) acts
// on. A stack is refused (exit 2: destroy ends it); a run that has ended
// already is said so (exit 0, the runner closed). The caller closes r.
func openRun(cmd *cobra.Command, f *factory, root *rootOptions, id, runID, verb string) (runner, starter.RunInfo, error) {
	r, err := root.dial(f)
	if err != nil {
		return nil, starter.RunInfo{}, err
	}
	info, err := r.Describe(cmd.Context(), id, runID)
	switch {
	case err != nil:
		err = runError(id, err)
	case info.Type == workflows.StackWorkflowName:
		err = usageErrorf("cannot %s %s: %s", verb, id, stackRunHint(id))
	case info.Closed():
		fmt.Fprintf(f.IO.Out, "%s has ended already (%s); nothing to %s.\n", id, info.Status, verb)
	}
	if err != nil || info.Closed() {
		r.Close()
	}
	return r, info, err
}

// exactArgs is cobra.ExactArgs with a message that names the argument.
func exactArgs(n int, name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return fmt.Errorf("missing %s argument", name)
		}
		if len(args) > n {
			return fmt.Errorf("too many arguments: want %s only, got %q", name, args)
		}
		return nil
	}
}

// waitSettings say how to wait for a run.
type waitSettings struct {
	JSON     bool
	Timeout  time.Duration // 0: no limit
	Interval time.Duration
}

// waitForRun shows a run's progress until it ends, then its outcome; the
// returned error carries the exit code for that outcome.
func waitForRun(cmd *cobra.Command, f *factory, r runner, run starter.Run, w waitSettings) error {
	if !w.JSON {
		f.UI.print(f.IO.Out, "Temporal UI: ", run.WorkflowID, run.RunID)
	}
	if isFleetWorkflow(run.Workflow) {
		return waitForFleet(cmd, f, r, run, w)
	}
	ctx, sigCtx, cancel := waitContext(cmd, f, w.Timeout)
	defer cancel()

	view := newProgressView(f, w.JSON, run.Workflow+" "+run.WorkflowID)
	watchErr := r.Watch(ctx, run.WorkflowID, run.RunID, w.Interval, view.Update)
	result := newResult(run.Workflow)
	var resErr error
	if !waitEnded(ctx, watchErr) {
		resErr = r.Result(ctx, run.WorkflowID, run.RunID, result)
	}
	if waitEnded(ctx, watchErr, resErr) {
		view.Finish(nil)
		return stillRunning(f, run, w.Timeout, sigCtx.Err() != nil)
	}
	var runErr *starter.RunError
	if resErr != nil && !errors.As(resErr, &runErr) {
		view.Finish(nil)
		if watchErr != nil {
			resErr = watchErr
		}
		return withCode(exitOther, fmt.Errorf("waiting for %s: %w", run.WorkflowID, resErr))
	}
	view.Finish(finalProgress(run.Workflow, result, runErr))

	if w.JSON {
		if err := printJSON(f.IO.Out, result); err != nil {
			return err
		}
	} else {
		printOutcome(f.IO.Out, run, result, runErr)
	}
	return outcomeErr(run.Workflow, result, runErr)
}

// printOutcome prints how a run ended: its workflow's report, or else its
// result as JSON, or how it did not complete and why.
func printOutcome(out io.Writer, run starter.Run, result any, runErr *starter.RunError) {
	if rep, ok := reports[run.Workflow]; ok {
		rep.print(out, run, result, runErr)
		return
	}
	if runErr != nil {
		fmt.Fprintf(out, "\n%s %s %s.\n", run.Workflow, run.WorkflowID, runOutcome(runErr))
		if runErr.Message != "" {
			fmt.Fprintf(out, "  error: %s\n", oneLine(runErr.Message))
		}
		return
	}
	fmt.Fprintf(out, "\n%s %s completed.\n", run.Workflow, run.WorkflowID)
	if res, ok := result.(*json.RawMessage); ok && len(*res) > 0 && string(*res) != "null" {
		_ = printJSON(out, res)
	}
}

// outcomeErr is the exit code of how a run ended: 1 when it did not
// complete, or completed leaving work undone; nil when it completed or has
// not ended (result nil).
func outcomeErr(workflow string, result any, runErr *starter.RunError) error {
	if runErr != nil {
		return withCode(exitFailed, runErr)
	}
	if rep, ok := reports[workflow]; ok && rep.incomplete != nil && result != nil {
		if err := rep.incomplete(result); err != nil {
			return withCode(exitFailed, err)
		}
	}
	return nil
}

// report is how the CLI shows the result of one workflow type: its result
// type, the steps it holds and the summary printed after --wait.
type report struct {
	newResult func() any
	steps     func(result any) []workflows.Step
	print     func(w io.Writer, run starter.Run, result any, runErr *starter.RunError)
	// incomplete, when set, tells a run that completed but left work undone
	// (exit 1).
	incomplete func(result any) error
}

func reportOf[R any](steps func(*R) []workflows.Step, print func(io.Writer, starter.Run, *R, *starter.RunError)) report {
	return report{
		newResult: func() any { return new(R) },
		steps:     func(result any) []workflows.Step { return steps(result.(*R)) },
		print: func(w io.Writer, run starter.Run, result any, runErr *starter.RunError) {
			print(w, run, result.(*R), runErr)
		},
	}
}

// deletionReport serves the workflows whose result has the shape of
// DeprovisionVMResult, and the same report.
func deletionReport[R ~struct {
	Deleted     []workflows.Resource `json:"deleted,omitempty"`
	AlreadyGone []workflows.Resource `json:"alreadyGone,omitempty"`
	Steps       []workflows.Step     `json:"steps"`
}]() report {
	return reportOf(func(r *R) []workflows.Step { return workflows.DeprovisionVMResult(*r).Steps },
		func(w io.Writer, run starter.Run, r *R, runErr *starter.RunError) {
			res := workflows.DeprovisionVMResult(*r)
			printDeprovisionSummary(w, run, &res, runErr)
		})
}

// snapshotReport exits 1 when ledger snapshots past the retention could not
// be deleted: the run completed, but its job is not done.
func snapshotReport() report {
	rep := reportOf(func(r *workflows.SnapshotDisksResult) []workflows.Step { return r.Steps }, printSnapshotSummary)
	rep.incomplete = func(result any) error {
		if n := len(result.(*workflows.SnapshotDisksResult).NotDeleted); n > 0 {
			return fmt.Errorf("%s past the retention could not be deleted; they stay in the ledger", plural(n, "snapshot"))
		}
		return nil
	}
	return rep
}

// reports has every workflow whose result the CLI knows; any other result
// is shown as JSON.
var reports = map[string]report{
	workflows.ProvisionVMWorkflowName:         reportOf(func(r *workflows.ProvisionVMResult) []workflows.Step { return r.Steps }, printProvisionSummary),
	workflows.DeprovisionVMWorkflowName:       reportOf(func(r *workflows.DeprovisionVMResult) []workflows.Step { return r.Steps }, printDeprovisionSummary),
	workflows.BulkCreateVMsWorkflowName:       reportOf(func(r *workflows.BulkCreateVMsResult) []workflows.Step { return r.Steps }, printBulkSummary),
	workflows.DeployInstanceWorkflowName:      reportOf(func(r *workflows.DeployInstanceResult) []workflows.Step { return r.Steps }, printDeploySummary),
	workflows.UndeployInstanceWorkflowName:    deletionReport[workflows.UndeployInstanceResult](),
	workflows.SnapshotDisksWorkflowName:       snapshotReport(),
	workflows.ProvisionInstanceWorkflowName:   reportOf(func(r *workflows.ProvisionInstanceResult) []workflows.Step { return r.Steps }, printProvisionInstanceSummary),
	workflows.DeprovisionInstanceWorkflowName: deletionReport[workflows.DeprovisionInstanceResult](),
	workflows.CreateContainerWorkflowName:     reportOf(func(r *workflows.CreateContainerResult) []workflows.Step { return r.Steps }, printContainerSummary),
	workflows.DeleteContainerWorkflowName:     deletionReport[workflows.DeleteContainerResult](),
	workflows.ApplyStackWorkflowName:          reportOf(func(r *workflows.ApplyStackResult) []workflows.Step { return r.Steps }, printApplyStackSummary),
}

// newResult returns a pointer to the result type of a workflow.
func newResult(workflow string) any {
	if rep, ok := reports[workflow]; ok {
		return rep.newResult()
	}
	return new(json.RawMessage)
}

// finalProgress is the last progress, taken from the result's steps.
func finalProgress(workflow string, result any, runErr *starter.RunError) *workflows.Progress {
	rep, ok := reports[workflow]
	if !ok {
		return nil
	}
	steps := rep.steps(result)
	if len(steps) == 0 {
		return nil
	}
	phase := workflows.PhaseCompleted
	if runErr != nil {
		phase = workflows.PhaseFailed
	}
	return &workflows.Progress{Workflow: workflow, Phase: phase, Steps: steps}
}

// waitEnded says the wait for a run ended on its --timeout or Ctrl-C, not
// with the run: ctx is done, or, as its deadline comes, the server gave up
// on a call a moment before ctx did (it times its calls by the deadline
// the client sends, less the time in transit).
func waitEnded(ctx context.Context, errs ...error) bool {
	if ctx.Err() != nil {
		return true
	}
	if _, ok := ctx.Deadline(); !ok {
		return false
	}
	for _, err := range errs {
		var de *serviceerror.DeadlineExceeded
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &de) {
			return true
		}
	}
	return false
}

// stillRunning reports that the CLI stopped waiting though the run goes on.
func stillRunning(f *factory, run starter.Run, timeout time.Duration, interrupted bool) error {
	w := f.IO.ErrOut
	var err error
	if interrupted {
		err = fmt.Errorf("stopped watching %s; the workflow goes on in Temporal", run.WorkflowID)
	} else {
		err = fmt.Errorf("timed out after %s waiting for %s; the workflow is still running", timeout, run.WorkflowID)
	}
	fmt.Fprintln(w, "error: "+err.Error())
	fmt.Fprintf(w, "  watch it:  cloudflow runs watch %s\n", run.WorkflowID)
	f.UI.print(w, "  see it:    ", run.WorkflowID, run.RunID)
	fmt.Fprintf(w, "  cancel it: cloudflow runs cancel %s   (it undoes what it made)\n", run.WorkflowID)
	return &exitError{code: exitPending}
}
