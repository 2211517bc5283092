package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// fleetOptions are the flags of instances start and instances stop.
type fleetOptions struct {
	f    *factory
	root *rootOptions

	Provider     string
	Names        []string
	File         string
	Project      string
	ChunkSize    int
	Concurrency  int
	MaxAttempts  int
	WaitTimeout  time.Duration
	Force        bool
	DrainTimeout time.Duration
	waitFlags
}

func newInstancesCmd(f *factory, root *rootOptions) *cobra.Command {
	cmd := nounCmd("instances <command>", "Start and stop fleets of instances")
	cmd.Long = heredoc(`
		Start or stop many instances as one durable workflow: KraftCloud instances
		in batch calls, Crusoe VMs and CloudMC instances one action at a time
		within a concurrency window. Every instance is reported: started (or stopped), failed with the
		cloud's code and message, or skipped.`)
	cmd.AddCommand(newFleetCmd(f, root, true), newFleetCmd(f, root, false), newDeployCmd(f, root), newUndeployCmd(f, root))
	return cmd
}

func newFleetCmd(f *factory, root *rootOptions, start bool) *cobra.Command {
	opts := &fleetOptions{f: f, root: root}
	verb, wf := "start", workflows.StartInstancesWorkflowName
	if !start {
		verb, wf = "stop", workflows.StopInstancesWorkflowName
	}
	cmd := &cobra.Command{
		Use:   verb + " --provider kraftcloud|crusoe|cloudmc (NAME... | --names a,b | --file FILE) [--wait]",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " many instances as one workflow",
		Long: heredoc(fmt.Sprintf(`
			Start a %[1]s workflow over the instances named on the command line, by
			--names, or in --file (one per line; blank lines and lines starting
			with # are ignored; - reads standard input).

			KraftCloud instances (names or UUIDs) are sent --chunk-size at a time in
			the API's batch call, --concurrency calls at once, and the server waits
			for them. Crusoe VMs and CloudMC instances (names) have no batch call:
			they are looked up by name, then each is one action, with --concurrency
			instances in flight. Items that fail for a reason worth retrying are
			retried, alone, up to --max-attempts rounds; unknown instances and
			instances already %[2]s are reported, not retried. A name listed twice
			is acted on once and reported as skipped.

			With --wait the command shows live counts and ends with a report of
			every instance that failed or was skipped, and of those %[2]s (all of
			them with --json).

			Exit status: 0 every instance %[2]s, 1 some did not, 2 invalid names or
			flags (nothing started), 3 still running when --timeout passed, 4
			Temporal could not be reached or another error.`, wf, pastTense(verb))),
		Example: examples(fmt.Sprintf(`
			$ cloudflow instances %[1]s --provider kraftcloud web-1 web-2 --wait
			$ cloudflow instances %[1]s --provider kraftcloud --file fleet.txt --chunk-size 500 --wait
			$ cloudflow instances %[1]s --provider crusoe --names gpu-1,gpu-2 --concurrency 8 --wait --json
			$ cloudflow instances %[1]s --provider cloudmc --names app-1,app-2 --wait`, verb)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return opts.run(cmd, args, start)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Provider, "provider", "", "the cloud: kraftcloud, crusoe or cloudmc (required)")
	fl.StringSliceVar(&opts.Names, "names", nil, "instance names (or KraftCloud UUIDs), comma-separated")
	fl.StringVar(&opts.File, "file", "", "a `file` with one instance per line (- reads standard input)")
	fl.StringVar(&opts.Project, "project", "", "Crusoe project `ID` (default: the worker's)")
	fl.IntVar(&opts.ChunkSize, "chunk-size", workflows.DefaultKraftCloudChunkSize, fmt.Sprintf("instances per KraftCloud batch call (1-%d)", workflows.MaxKraftCloudChunkSize))
	fl.IntVar(&opts.Concurrency, "concurrency", 0, fmt.Sprintf("calls in flight (default %d KraftCloud batches, %d Crusoe VMs or CloudMC instances)", workflows.DefaultKraftCloudConcurrency, workflows.DefaultCrusoeConcurrency))
	fl.IntVar(&opts.MaxAttempts, "max-attempts", workflows.DefaultMaxAttempts, "rounds for items that failed for a reason worth retrying (1-10)")
	fl.DurationVar(&opts.WaitTimeout, "wait-timeout", workflows.DefaultWaitTimeout, "how long each instance may take to get there")
	if !start {
		fl.BoolVar(&opts.Force, "force", false, "KraftCloud: stop at once, without draining")
		fl.DurationVar(&opts.DrainTimeout, "drain-timeout", 0, "KraftCloud: how long to drain connections before stopping")
	}
	opts.addWaitFlags(fl, time.Hour)
	return cmd
}

func pastTense(verb string) string {
	if verb == "stop" {
		return "stopped"
	}
	return "started"
}

// input checks the flags and the names and builds the workflow input. Any
// problem is bad usage: nothing is started.
func (o *fleetOptions) input(cmd *cobra.Command, args []string) (workflows.FleetInput, error) {
	if err := o.validateWait(cmd); err != nil {
		return workflows.FleetInput{}, err
	}
	if o.MaxAttempts < 1 || o.ChunkSize < 1 {
		return workflows.FleetInput{}, usageErrorf("--max-attempts %d and --chunk-size %d must be at least 1", o.MaxAttempts, o.ChunkSize)
	}
	if o.WaitTimeout <= 0 {
		return workflows.FleetInput{}, usageErrorf("--wait-timeout must be longer than zero, e.g. 5m")
	}
	switch o.Provider {
	case workflows.ProviderKraftCloud, workflows.ProviderCrusoe, workflows.ProviderCloudMC:
	case "":
		return workflows.FleetInput{}, usageErrorf("--provider is required: kraftcloud, crusoe or cloudmc")
	default:
		return workflows.FleetInput{}, usageErrorf("--provider %q is not supported: use kraftcloud, crusoe or cloudmc", o.Provider)
	}
	if o.Project != "" && o.Provider != workflows.ProviderCrusoe {
		return workflows.FleetInput{}, usageErrorf("--project applies to --provider crusoe only")
	}
	if (o.Force || o.DrainTimeout != 0) && o.Provider != workflows.ProviderKraftCloud {
		return workflows.FleetInput{}, usageErrorf("--force and --drain-timeout apply to --provider kraftcloud only")
	}
	type named struct {
		ref, where string
	}
	var refs []named
	for _, a := range args {
		refs = append(refs, named{a, "argument"})
	}
	for _, n := range o.Names {
		refs = append(refs, named{strings.TrimSpace(n), "--names"})
	}
	if o.File != "" {
		lines, err := o.readFile()
		if err != nil {
			return workflows.FleetInput{}, err
		}
		for _, l := range lines {
			refs = append(refs, named{l.text, fmt.Sprintf("%s line %d", o.fileName(), l.line)})
		}
	}
	if len(refs) == 0 {
		return workflows.FleetInput{}, usageErrorf("no instances: name them as arguments, with --names, or in --file")
	}
	var bad []string
	in := workflows.FleetInput{
		Provider: o.Provider, ProjectID: o.Project, ChunkSize: o.ChunkSize, Concurrency: o.Concurrency,
		MaxAttempts: o.MaxAttempts, WaitTimeout: o.WaitTimeout, Force: o.Force, DrainTimeout: o.DrainTimeout,
	}
	for _, r := range refs {
		if err := workflows.ValidRef(o.Provider, r.ref); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", r.where, err))
			continue
		}
		in.Instances = append(in.Instances, r.ref)
	}
	if len(bad) > 0 {
		const show = 20
		msg := fmt.Sprintf("%d instance names are invalid; nothing was started:", len(bad))
		for i, b := range bad {
			if i == show {
				msg += fmt.Sprintf("\n  ... and %d more", len(bad)-show)
				break
			}
			msg += "\n  " + b
		}
		return workflows.FleetInput{}, withCode(exitUsage, errors.New(msg))
	}
	if err := in.Validate(); err != nil {
		return workflows.FleetInput{}, withCode(exitUsage, fmt.Errorf("%v; nothing was started", flagNames(err.Error())))
	}
	return in, nil
}

// flagNames rewrites the input's field names as the flags that set them.
func flagNames(msg string) string {
	return strings.NewReplacer("chunkSize", "--chunk-size", "concurrency", "--concurrency", "maxAttempts", "--max-attempts",
		"waitTimeout", "--wait-timeout", "drainTimeout", "--drain-timeout").Replace(msg)
}

func (o *fleetOptions) fileName() string {
	if o.File == "-" {
		return "standard input"
	}
	return o.File
}

type fileLine struct {
	text string
	line int
}

func (o *fleetOptions) readFile() ([]fileLine, error) {
	var r io.Reader = o.f.IO.In
	if o.File != "-" {
		fh, err := os.Open(o.File)
		if err != nil {
			return nil, usageErrorf("--file: %v", err)
		}
		defer fh.Close()
		r = fh
	}
	var out []fileLine
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		out = append(out, fileLine{t, n})
	}
	if err := sc.Err(); err != nil {
		return nil, usageErrorf("--file %s: %v", o.fileName(), err)
	}
	return out, nil
}

func (o *fleetOptions) run(cmd *cobra.Command, args []string, start bool) error {
	in, err := o.input(cmd, args)
	if err != nil {
		return err
	}
	r, err := o.root.dial(o.f)
	if err != nil {
		return err
	}
	defer r.Close()
	what := fmt.Sprintf("%d %s instances", len(in.Instances), in.Provider)
	return launch(cmd, o.f, r, what, o.Wait, o.waitSettings(),
		func(ctx context.Context) (starter.Run, error) {
			if start {
				return r.StartInstances(ctx, in)
			}
			return r.StopInstances(ctx, in)
		})
}

// isFleetWorkflow says whether a workflow type reports FleetProgress.
func isFleetWorkflow(name string) bool {
	return name == workflows.StartInstancesWorkflowName || name == workflows.StopInstancesWorkflowName
}

// waitForFleet follows a fleet run, across continue-as-new, to its end and
// reports every instance.
func waitForFleet(cmd *cobra.Command, f *factory, r runner, run starter.Run, w waitSettings) error {
	ctx, sigCtx, cancel := waitContext(cmd, f, w.Timeout)
	defer cancel()
	view := newFleetView(f, w.JSON)
	// The empty run ID follows the fleet to whichever run does the work now.
	watchErr := r.WatchFleet(ctx, run.WorkflowID, "", w.Interval, view.update)
	var res workflows.FleetResult
	var resErr error
	if ctx.Err() == nil {
		resErr = r.Result(ctx, run.WorkflowID, "", &res)
	}
	view.finish()
	if ctx.Err() != nil {
		return stillRunning(f, run, w.Timeout, sigCtx.Err() != nil)
	}
	var runErr *starter.RunError
	if resErr != nil && !errors.As(resErr, &runErr) {
		if watchErr != nil {
			resErr = watchErr
		}
		return withCode(exitOther, fmt.Errorf("waiting for %s: %w", run.WorkflowID, resErr))
	}
	if w.JSON {
		if err := printJSON(f.IO.Out, res); err != nil {
			return err
		}
	} else {
		printFleetReport(f.IO.Out, run, &res, runErr)
	}
	if runErr != nil {
		return withCode(exitFailed, runErr)
	}
	return nil
}

// fleetView shows live counts: redrawn in place on a terminal, else a line
// whenever they change, at most once a second.
type fleetView struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	off   bool
	now   func() time.Time
	last  time.Time
	shown string
	p     *workflows.FleetProgress
}

func newFleetView(f *factory, jsonOut bool) *fleetView {
	return &fleetView{w: f.IO.Out, tty: f.IO.OutTTY, off: jsonOut, now: f.Now}
}

func fleetLine(p workflows.FleetProgress) string {
	line := fmt.Sprintf("%d/%d %s, %d failed, %d skipped, %d pending (%d in flight); run %d, round %d; %d calls",
		p.Succeeded, p.Total, pastTense(p.Action), p.Failed, p.Skipped, p.Pending, p.InFlight, p.Run, p.Round, p.Calls)
	return line
}

func (v *fleetView) update(p workflows.FleetProgress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.p = &p
	if v.off {
		return
	}
	line := fleetLine(p)
	if line == v.shown {
		return
	}
	if v.tty {
		fmt.Fprintf(v.w, "\r\x1b[2K%s", line)
		v.shown = line
		return
	}
	if now := v.now(); now.Sub(v.last) >= time.Second {
		fmt.Fprintf(v.w, "%s %s\n", now.Format("15:04:05"), line)
		v.last, v.shown = now, line
	}
}

func (v *fleetView) finish() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.off || v.p == nil {
		return
	}
	line := fleetLine(*v.p)
	switch {
	case v.tty:
		fmt.Fprintf(v.w, "\r\x1b[2K%s\n", line)
	case line != v.shown:
		fmt.Fprintf(v.w, "%s %s\n", v.now().Format("15:04:05"), line)
	}
}

// maxListed bounds the names a text report lists; --json lists them all.
const maxListed = 50

func printFleetReport(w io.Writer, run starter.Run, res *workflows.FleetResult, runErr *starter.RunError) {
	done := pastTense(res.Action)
	if res.Total == 0 && runErr != nil {
		// Cancelled or terminated without a report.
		fmt.Fprintf(w, "\n%s %s %s.\n", run.Workflow, run.WorkflowID, runOutcome(runErr))
		return
	}
	fmt.Fprintf(w, "\n%s %s: %d of %d instances %s, %d failed, %d skipped (%s, %s).\n",
		run.Workflow, run.WorkflowID, len(res.Succeeded), res.Total, done, len(res.Failed), len(res.Skipped),
		plural(res.Runs, "workflow run"), plural(res.Calls, "API call"))
	if len(res.Failed) > 0 {
		fmt.Fprintf(w, "\nFailed (%d):\n", len(res.Failed))
		writeFleetItems(w, res.Failed)
	}
	if len(res.Skipped) > 0 {
		fmt.Fprintf(w, "\nSkipped (%d):\n", len(res.Skipped))
		writeFleetItems(w, res.Skipped)
	}
	if len(res.Succeeded) > 0 {
		fmt.Fprintf(w, "\n%s (%d):", strings.ToUpper(done[:1])+done[1:], len(res.Succeeded))
		names := res.Succeeded
		if len(names) > maxListed {
			names = names[:maxListed]
		}
		fmt.Fprintf(w, " %s", strings.Join(names, ", "))
		if len(res.Succeeded) > maxListed {
			fmt.Fprintf(w, ", and %d more (--json lists every one)", len(res.Succeeded)-maxListed)
		}
		fmt.Fprintln(w)
	}
	if runErr != nil && runErr.Status != "Failed" {
		fmt.Fprintf(w, "\nThe run %s.\n", runOutcome(runErr))
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func writeFleetItems(w io.Writer, items []workflows.FleetItem) {
	t := newTable(w)
	fmt.Fprintln(t, "  INSTANCE\tCODE\tMESSAGE")
	for _, it := range items {
		fmt.Fprintf(t, "  %s\t%s\t%s\n", it.Ref, dash(it.Code), oneLine(it.Message))
	}
	_ = t.Flush()
}
