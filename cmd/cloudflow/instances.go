package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/internal/input"
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
			Temporal could not be reached or another error, 5 a run over the same
			instances is already in progress.`, wf, pastTense(verb))),
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
	if err := o.validateNumbers(cmd); err != nil {
		return workflows.FleetInput{}, err
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
	refs, err := o.refs(args)
	if err != nil {
		return workflows.FleetInput{}, err
	}
	var bad []string
	in := workflows.FleetInput{
		Provider: o.Provider, ProjectID: o.Project, ChunkSize: o.ChunkSize, Concurrency: o.Concurrency,
		MaxAttempts: o.MaxAttempts, WaitTimeout: o.WaitTimeout, Force: o.Force, DrainTimeout: o.DrainTimeout,
	}
	for _, r := range refs {
		if err := checkRef(o.Provider, r.text); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", r.where, err))
			continue
		}
		in.Instances = append(in.Instances, r.text)
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

// validateNumbers checks the numeric flags against the ranges the workflow
// takes. --concurrency left out means the provider's default; given, it
// must be in range like the others (0 is not "the default").
func (o *fleetOptions) validateNumbers(cmd *cobra.Command) error {
	var problems []string
	inRange := func(flag string, v, lo, hi int) {
		if v < lo || v > hi {
			problems = append(problems, fmt.Sprintf("--%s must be from %d to %d, not %d", flag, lo, hi, v))
		}
	}
	inRange("chunk-size", o.ChunkSize, 1, workflows.MaxKraftCloudChunkSize)
	if cmd.Flags().Changed("concurrency") {
		inRange("concurrency", o.Concurrency, 1, maxFleetConcurrency)
	}
	inRange("max-attempts", o.MaxAttempts, 1, maxFleetAttempts)
	if o.WaitTimeout <= 0 {
		problems = append(problems, "--wait-timeout must be longer than zero, e.g. 5m")
	}
	if o.DrainTimeout < 0 {
		problems = append(problems, "--drain-timeout must not be negative (0 stops without draining)")
	}
	if len(problems) > 0 {
		return withCode(exitUsage, errors.New(strings.Join(problems, "\n")+"\nnothing was started"))
	}
	return nil
}

// The ranges workflows.FleetInput.Validate takes, checked here first so that
// the messages name the flags.
const (
	maxFleetConcurrency = 64
	maxFleetAttempts    = 10
)

// checkRef checks one instance reference before anything starts. A Crusoe
// VM name is held to the rule every Crusoe name in cloudflow follows
// (crusoe.ValidateName, which spec files use too); the workflow's own screen
// (workflows.ValidRef) stays as lenient as the runs it already made.
func checkRef(provider, ref string) error {
	if provider == workflows.ProviderCrusoe {
		return crusoe.ValidateName(ref)
	}
	return workflows.ValidRef(provider, ref)
}

// flagNames rewrites the input's field names as the flags that set them.
func flagNames(msg string) string {
	return strings.NewReplacer("chunkSize", "--chunk-size", "concurrency", "--concurrency", "maxAttempts", "--max-attempts",
		"waitTimeout", "--wait-timeout", "drainTimeout", "--drain-timeout").Replace(msg)
}

// fleetRef is one instance reference and where it was given: "argument",
// "--names", or "<file> line <n>".
type fleetRef struct {
	text, where string
}

// refs gathers the instance references from the one place they were given:
// the arguments, --names or --file. Two places at once are refused, naming
// both, rather than merged.
func (o *fleetOptions) refs(args []string) ([]fleetRef, error) {
	var sources []string
	if len(args) > 0 {
		sources = append(sources, "arguments ("+strings.Join(firstFew(args), " ")+")")
	}
	if len(o.Names) > 0 {
		sources = append(sources, "--names")
	}
	if o.File != "" {
		sources = append(sources, "--file "+o.File)
	}
	switch len(sources) {
	case 0:
		return nil, usageErrorf("no instances: name them as arguments, with --names, or in --file")
	case 1:
	default:
		return nil, usageErrorf("instances are named by %s: name them one way only, as arguments, with --names or in --file; nothing was started", strings.Join(sources, " and by "))
	}
	var refs []fleetRef
	for _, a := range args {
		refs = append(refs, fleetRef{a, "argument"})
	}
	for _, n := range o.Names {
		refs = append(refs, fleetRef{strings.TrimSpace(n), "--names"})
	}
	if o.File != "" {
		rc, err := input.Open(o.File, o.f.IO.In, o.fileFlag(), maxFleetFile)
		if err != nil {
			return nil, usageErrorf("--file: %v", err)
		}
		defer rc.Close()
		lines, err := readFleet(rc, o.fileFlag(), workflows.MaxFleetSize)
		if err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("%w; nothing was started", err))
		}
		for _, l := range lines {
			refs = append(refs, fleetRef{l.text, fmt.Sprintf("%s line %d", o.fileName(), l.line)})
		}
	}
	return refs, nil
}

func firstFew(args []string) []string {
	if len(args) > 3 {
		return append(args[:3:3], "...")
	}
	return args
}

func (o *fleetOptions) fileName() string {
	if o.File == input.Stdin {
		return "standard input"
	}
	return o.File
}

// fileFlag names --file in messages: "--file fleet.txt", "--file - (standard input)".
func (o *fleetOptions) fileFlag() string {
	if o.File == input.Stdin {
		return "--file - (standard input)"
	}
	return "--file " + o.File
}

// Limits of a fleet file. The file holds at most MaxFleetSize references,
// each at most a KraftCloud name (121 characters): 4 MiB leaves room for
// comments, and no line of names needs 4 KiB.
const (
	maxFleetFile = 4 << 20
	maxFleetLine = 4 << 10
)

type fileLine struct {
	text string
	line int
}

// readFleet reads instance references from a fleet file, one per line,
// skipping blank lines and lines starting with #; name is how messages call
// the file. It stops with an error at the first line that is too long or
// not UTF-8, at more than max references, or when r fails (input.Limit
// fails past its cap), so that no input makes it hold more than max names.
func readFleet(r io.Reader, name string, max int) ([]fileLine, error) {
	br := bufio.NewReaderSize(r, maxFleetLine)
	// A file in UTF-16 would otherwise be reported as every name invalid.
	if head, err := br.Peek(maxFleetLine); len(head) > 0 {
		// Bytes that are not UTF-8 are reported by line below: the peek may
		// end inside a character.
		if problem := input.NotText(head); problem != "" && !strings.HasPrefix(problem, "is not UTF-8") {
			return nil, fmt.Errorf("%s %s; a fleet file is UTF-8 text, one instance name per line", name, problem)
		}
	} else if err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var out []fileLine
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 4096), maxFleetLine)
	n := 0
	for sc.Scan() {
		n++
		raw := sc.Bytes()
		if n == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\ufeff"))
		}
		if !utf8.Valid(raw) {
			return nil, fmt.Errorf("%s line %d is not UTF-8 text; save the file as UTF-8", name, n)
		}
		t := strings.TrimSpace(string(raw))
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if len(out) == max {
			return nil, fmt.Errorf("%s lists more than %d instances, the most one workflow takes; split it into several files", name, max)
		}
		out = append(out, fileLine{t, n})
	}
	switch err := sc.Err(); {
	case errors.Is(err, bufio.ErrTooLong):
		return nil, fmt.Errorf("%s line %d is longer than %s; put one instance name on each line", name, n+1, input.Size(maxFleetLine))
	case input.IsTooLarge(err):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(out) == 0 {
		if n == 0 {
			return nil, fmt.Errorf("%s is empty: list one instance name per line", name)
		}
		return nil, fmt.Errorf("%s names no instances, only blank lines and comments: list one instance name per line", name)
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
	if !waitEnded(ctx, watchErr) {
		resErr = r.Result(ctx, run.WorkflowID, "", &res)
	}
	view.finish()
	if waitEnded(ctx, watchErr, resErr) {
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
		// Failed before it acted (no credentials for the cloud...),
		// cancelled or terminated: no report, but the reason.
		fmt.Fprintf(w, "\n%s %s %s.\n", run.Workflow, run.WorkflowID, runOutcome(runErr))
		if runErr.Message != "" {
			fmt.Fprintf(w, "  error: %s\n", oneLine(runErr.Message))
		}
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
