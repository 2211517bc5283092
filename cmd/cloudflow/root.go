package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	sdklog "go.temporal.io/sdk/log"

	"github.com/cloudflow/cloudflow/internal/input"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// iostreams are where a command reads and writes, so tests can capture them.
type iostreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// InTTY says In is a terminal: a command may ask there before it
	// changes anything.
	InTTY bool
	// OutTTY says Out is a terminal: live progress redraws in place there.
	OutTTY bool
	// Width is the terminal's width in columns, 0 when unknown.
	Width func() int
}

// runner is what the CLI needs from a Temporal connection; *starter.Starter
// provides it (through starterRunner), tests fake it.
type runner interface {
	// Stacks: the spec commands (plan, apply, destroy, vm provision...)
	// act through them.
	PlanStack(ctx context.Context, req workflows.StackPlanRequest) (stackOp, error)
	ApplyStack(ctx context.Context, req workflows.StackApplyRequest) (stackOp, error)
	ApproveStack(ctx context.Context, ref starter.StackRef, req workflows.StackApproveRequest) (stackOp, error)
	DiscardStackPlan(ctx context.Context, ref starter.StackRef, req workflows.StackApproveRequest) (stackOp, error)
	DestroyStack(ctx context.Context, ref starter.StackRef, req workflows.StackDestroyRequest) (stackOp, error)
	RefreshStack(ctx context.Context, ref starter.StackRef, req workflows.StackRefreshRequest) (stackOp, error)
	SetStackSettings(ctx context.Context, ref starter.StackRef, settings workflows.StackSettings) (workflows.StackState, error)
	StackState(ctx context.Context, ref starter.StackRef) (workflows.StackState, error)
	FindStack(ctx context.Context, name, provider string) (starter.StackRef, error)
	ListStacks(ctx context.Context, status string) ([]starter.StackSummary, error)
	Progress(ctx context.Context, workflowID, runID string) (workflows.Progress, error)
	Watch(ctx context.Context, workflowID, runID string, every time.Duration, fn func(workflows.Progress)) error
	BulkCreateVMs(ctx context.Context, in workflows.BulkCreateVMsInput) (starter.Run, error)
	SnapshotDisks(ctx context.Context, in workflows.SnapshotDisksInput) (starter.Run, error)
	StartInstances(ctx context.Context, in workflows.FleetInput) (starter.Run, error)
	StopInstances(ctx context.Context, in workflows.FleetInput) (starter.Run, error)
	WatchFleet(ctx context.Context, workflowID, runID string, every time.Duration, fn func(workflows.FleetProgress)) error
	FleetProgress(ctx context.Context, workflowID, runID string) (workflows.FleetProgress, error)
	Result(ctx context.Context, workflowID, runID string, valuePtr any) error
	Cancel(ctx context.Context, workflowID, runID string) error
	Terminate(ctx context.Context, workflowID, runID, reason string) error
	// RunBegun says whether a worker ever ran the run's code; WorkerPolling
	// whether one polls a task queue now.
	RunBegun(ctx context.Context, workflowID, runID string) (bool, error)
	WorkerPolling(ctx context.Context, taskQueue string) (bool, error)
	List(ctx context.Context, opts starter.ListOptions) ([]starter.RunInfo, error)
	Describe(ctx context.Context, workflowID, runID string) (starter.RunInfo, error)
	CreateSchedule(ctx context.Context, o starter.ScheduleOptions, p starter.Plan) error
	UpdateSchedule(ctx context.Context, id string, u starter.ScheduleUpdate) error
	ListSchedules(ctx context.Context) ([]starter.ScheduleInfo, error)
	DescribeSchedule(ctx context.Context, id string) (starter.ScheduleInfo, error)
	PauseSchedule(ctx context.Context, id, note string) error
	UnpauseSchedule(ctx context.Context, id, note string) error
	TriggerSchedule(ctx context.Context, id string) error
	BackfillSchedule(ctx context.Context, id string, start, end time.Time) error
	DeleteSchedule(ctx context.Context, id string) error
	Close()
}

// factory holds what commands share and tests replace.
type factory struct {
	IO *iostreams
	// Dial connects to Temporal.
	Dial func(starter.Options) (runner, error)
	// NotifyContext returns a context that ends on Ctrl-C or SIGTERM.
	NotifyContext func(ctx context.Context) (context.Context, context.CancelFunc)
	Now           func() time.Time
	// UI links runs to the Temporal Web UI, once a command has dialed
	// (rootOptions.dial) with a UI known; else it links nothing.
	UI uiLinks
	// WorkerCheckAfter and WorkerCheckEvery pace the check that a worker
	// polls the task queue (zero: every few seconds, see workerCheck).
	WorkerCheckAfter, WorkerCheckEvery time.Duration
}

func newFactory(io *iostreams) *factory {
	if io.Width == nil {
		io.Width = func() int { return 0 }
	}
	return &factory{
		IO:   io,
		Dial: func(o starter.Options) (runner, error) { return dialCLI(o, io.ErrOut) },
		NotifyContext: func(ctx context.Context) (context.Context, context.CancelFunc) {
			return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		},
		Now: time.Now,
	}
}

// dialStarter is starter.Dial with the SDK's log records sent to logOut at
// level and above.
func dialStarter(o starter.Options, logOut io.Writer, level slog.Level) (*starter.Starter, error) {
	o.Logger = sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level})))
	return starter.Dial(o)
}

// rootOptions are the persistent flags: how to reach Temporal.
type rootOptions struct {
	Address    string
	Namespace  string
	Profile    string
	ConfigFile string
	TaskQueue  string
	// UIURL is the Temporal Web UI, for the links to runs.
	UIURL string
}

func (o *rootOptions) starterOptions() starter.Options {
	return starter.Options{
		HostPort:   o.Address,
		Namespace:  o.Namespace,
		Profile:    o.Profile,
		ConfigFile: o.ConfigFile,
		TaskQueue:  o.TaskQueue,
	}
}

// dial connects to Temporal; failing to is exitOther, with a hint.
func (o *rootOptions) dial(f *factory) (runner, error) {
	ui, err := o.uiBase()
	if err != nil {
		return nil, err
	}
	r, err := f.Dial(o.starterOptions())
	if input.IsTooLarge(err) {
		// --config-file (or $TEMPORAL_CONFIG_FILE) names something too large.
		return nil, withCode(exitUsage, err)
	}
	if err != nil {
		return nil, withCode(exitOther, fmt.Errorf("%w\nIs Temporal running? Start a local one with `cloudflow dev`, or point at yours with --address, --profile or TEMPORAL_ADDRESS", err))
	}
	f.UI = uiLinksFor(ui, r, o.Namespace)
	return newCheckedRunner(r, o.TaskQueue, f.IO.ErrOut, f.WorkerCheckAfter, f.WorkerCheckEvery), nil
}

func newRootCmd(f *factory) *cobra.Command {
	opts := &rootOptions{}
	cmd := &cobra.Command{
		Use:   "cloudflow <command> <subcommand> [flags]",
		Short: "Provision cloud resources as durable Temporal workflows",
		Long: heredoc(`
			cloudflow turns cloud provisioning into durable Temporal workflows: each
			cloud API call is one activity, asynchronous operations are waited out
			durably, and what a failed run made is undone.

			A spec becomes a stack that cloudflow owns: 'plan' shows what an apply
			would change, 'apply' makes it so (asking first), 'destroy' deletes
			only what the stack created, 'stacks' lists and shows them with their
			drift and outputs.

			Start everything locally with 'cloudflow dev', then in another shell:
			  cloudflow vm provision -f examples/crusoe-vm.yaml --wait`),
		Example: examples(`
			$ cloudflow dev
			$ cloudflow vm provision -f examples/crusoe-vm.yaml --wait
			$ cloudflow plan -f examples/crusoe-vm.yaml
			$ cloudflow stacks list
			$ cloudflow output demo-vm sshDestination
			$ cloudflow vm deprovision -f examples/crusoe-vm.yaml --wait`),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// `vm provison -f x`: cobra parses the noun's flags before its RunE
		// could say that provison is no subcommand; say that instead.
		if args := c.Flags().Args(); isNoun(c) && len(args) > 0 {
			return unknownSubcommand(c, args[0])
		}
		return err
	})

	pf := cmd.PersistentFlags()
	pf.StringVar(&opts.Address, "address", "", "Temporal frontend `host:port` (default: $TEMPORAL_ADDRESS, the profile's address, or localhost:7233)")
	pf.StringVar(&opts.Namespace, "namespace", "", "Temporal `namespace` (default: $TEMPORAL_NAMESPACE, the profile's, or \"default\")")
	pf.StringVar(&opts.Profile, "profile", "", "Temporal environment configuration `profile` (default: $TEMPORAL_PROFILE or \"default\")")
	pf.StringVar(&opts.ConfigFile, "config-file", "", "Temporal configuration `file` (default: $TEMPORAL_CONFIG_FILE or the standard location)")
	pf.StringVar(&opts.TaskQueue, "task-queue", defaultTaskQueue(), "task `queue` workers poll and runs are started on ($"+envTaskQueue+")")
	pf.StringVar(&opts.UIURL, "ui-url", "", "Temporal Web UI `url`: runs print their link there (default: $TEMPORAL_UI_URL; none when unset)")

	cmd.AddCommand(
		newPlanCmd(f, opts),
		newApplyCmd(f, opts),
		newDestroyCmd(f, opts),
		newStacksCmd(f, opts),
		newOutputCmd(f, opts),
		newVMCmd(f, opts),
		newInstancesCmd(f, opts),
		newContainerCmd(f, opts),
		newDisksCmd(f, opts),
		newRunsCmd(f, opts),
		newScheduleCmd(f, opts),
		newWorkerCmd(f, opts),
		newSimCmd(f),
		newDevCmd(f, opts),
		newCodecServerCmd(f),
		newVersionCmd(f),
	)
	registerCompletions(cmd, f, opts)
	addExitCodesHelp(cmd)
	wrapRunE(cmd)
	return cmd
}

// envTaskQueue names the task queue for every command and the worker, as
// --task-queue does.
const envTaskQueue = "CLOUDFLOW_TASK_QUEUE"

// defaultTaskQueue is $CLOUDFLOW_TASK_QUEUE, else cloudflow's own.
func defaultTaskQueue() string {
	if q := strings.TrimSpace(os.Getenv(envTaskQueue)); q != "" {
		return q
	}
	return workflows.TaskQueue
}

// execute runs the command line and returns the exit code.
func execute(ctx context.Context, f *factory, args []string) int {
	root := newRootCmd(f)
	root.SetArgs(args)
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil {
		printError(f.IO.ErrOut, cmd, err)
	}
	return exitCodeOf(err)
}

func printError(w io.Writer, cmd *cobra.Command, err error) {
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(w, "error: "+ee.err.Error())
		}
		return
	}
	// From cobra: bad flags, arguments or command names.
	fmt.Fprintln(w, "error: "+err.Error())
	if cmd != nil {
		fmt.Fprintf(w, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
}

// nounCmd is a command that only groups others (cloudflow vm, cloudflow runs):
// alone it prints help; with an unknown subcommand it says so, suggesting
// the subcommands it may have meant.
func nounCmd(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:         use,
		Short:       short,
		Args:        cobra.ArbitraryArgs,
		Annotations: map[string]string{annotationNoun: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownSubcommand(cmd, args[0])
			}
			return cmd.Help()
		},
	}
}

// annotationNoun marks the commands nounCmd makes.
const annotationNoun = "cloudflow/noun"

func isNoun(c *cobra.Command) bool { return c.Annotations[annotationNoun] == "true" }

// unknownSubcommand is what cobra says of an unknown command at the root,
// "did you mean" included, said by a noun of its subcommands.
func unknownSubcommand(c *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q for %q", name, c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // cobra's default, which it sets only at the root
	}
	if s := c.SuggestionsFor(name); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t") + "\n"
	}
	return usageErrorf("%s\nRun '%s --help' for usage.", msg, c.CommandPath())
}

// heredoc trims the common indentation of a raw string literal.
func heredoc(s string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, "\t "))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range lines {
		if len(l) >= indent && indent > 0 {
			lines[i] = l[indent:]
		} else {
			lines[i] = strings.TrimLeft(l, "\t ")
		}
	}
	return strings.Join(lines, "\n")
}

// examples formats a command's examples: indented under the "Examples:" heading.
func examples(s string) string {
	lines := strings.Split(heredoc(s), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}
