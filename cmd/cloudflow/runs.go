package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

func newRunsCmd(f *factory, root *rootOptions) *cobra.Command {
	cmd := nounCmd("runs <command>", "List, show, watch and cancel workflow runs")
	cmd.AddCommand(
		newRunsListCmd(f, root),
		newRunsShowCmd(f, root),
		newRunsWatchCmd(f, root),
		newRunsCancelCmd(f, root),
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
	UI            string              `json:"ui,omitempty"`
	Progress      *workflows.Progress `json:"progress,omitempty"`
	ProgressError string              `json:"progressError,omitempty"`
}

func newRunsShowCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &runsShowOptions{}
	cmd := &cobra.Command{
		Use:   "show WORKFLOW-ID [--run-id ID] [--json]",
		Short: "Show a run's status and the progress of each step",
		Example: examples(`
			$ cloudflow runs show crusoe-vm-provision-demo-vm`),
		Args: exactArgs(1, "WORKFLOW-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := root.dial(f)
			if err != nil {
				return err
			}
			defer r.Close()
			ctx := cmd.Context()
			info, err := r.Describe(ctx, args[0], opts.RunID)
			if err != nil {
				return err
			}
			d := runDetails{Run: info, UI: f.UI.run(info.WorkflowID, info.RunID)}
			if p, err := r.Progress(ctx, info.WorkflowID, info.RunID); err != nil {
				d.ProgressError = err.Error()
			} else {
				d.Progress = &p
			}
			if opts.JSON {
				return printJSON(f.IO.Out, d)
			}
			phase := ""
			if d.Progress != nil {
				phase = d.Progress.Phase
			}
			writeRunInfo(f.IO.Out, info, phase, d.UI, f.Now())
			switch {
			case d.Progress != nil:
				if len(d.Progress.Steps) > 0 {
					fmt.Fprintln(f.IO.Out)
					writeSteps(f.IO.Out, d.Progress.Steps, -1, false)
				}
			default:
				fmt.Fprintf(f.IO.Out, "\nProgress unavailable: %s\n", d.ProgressError)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.RunID, "run-id", "", "a specific run (default: the latest)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
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
			it failed. Ctrl-C stops watching; the run goes on.

			Exit status: 0 completed, 1 failed, canceled or terminated,
			3 still running when --timeout passed or Ctrl-C was pressed,
			4 Temporal could not be reached or the run was not found.`),
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
				return err
			}
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
		Example: examples(`
			$ cloudflow runs cancel crusoe-vm-provision-demo-vm`),
		Args: exactArgs(1, "WORKFLOW-ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := root.dial(f)
			if err != nil {
				return err
			}
			defer r.Close()
			if err := r.Cancel(cmd.Context(), args[0], runID); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Asked %s to cancel; it undoes what it made before it ends.\nFollow it with: cloudflow runs watch %s\n", args[0], args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&runID, "run-id", "", "a specific run (default: the latest)")
	return cmd
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
	if ctx.Err() == nil {
		resErr = r.Result(ctx, run.WorkflowID, run.RunID, result)
	}
	if ctx.Err() != nil {
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

	out := f.IO.Out
	if w.JSON {
		if err := printJSON(out, result); err != nil {
			return err
		}
	} else if rep, ok := reports[run.Workflow]; ok {
		rep.print(out, run, result, runErr)
	} else {
		res := result.(*json.RawMessage)
		if runErr == nil {
			fmt.Fprintf(out, "\n%s %s completed.\n", run.Workflow, run.WorkflowID)
			if len(*res) > 0 && string(*res) != "null" {
				_ = printJSON(out, res)
			}
		} else {
			fmt.Fprintf(out, "\n%s %s %s.\n", run.Workflow, run.WorkflowID, runOutcome(runErr))
		}
	}
	if runErr != nil {
		return withCode(exitFailed, runErr)
	}
	if rep, ok := reports[run.Workflow]; ok && rep.incomplete != nil {
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
