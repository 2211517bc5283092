package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// schedulable are the commands a schedule can run: those that start one
// workflow.
var schedulable = []string{
	"vm bulk-create", "instances start", "instances stop", "disks snapshot",
}

// stackCommands act through a stack, by Workflow Updates, which a Temporal
// Schedule cannot send: it only starts workflows.
var stackCommands = []string{
	"vm provision", "vm deprovision", "instances deploy", "instances undeploy",
	"container create", "container delete", "plan", "apply", "destroy",
}

func newScheduleCmd(f *factory, root *rootOptions) *cobra.Command {
	cmd := nounCmd("schedule <command>", "Run cloudflow commands on a Temporal Schedule")
	cmd.Long = heredoc(`
		Run what a cloudflow command starts on a Temporal Schedule: by cron or at
		an interval, with an overlap policy (by default a run is skipped while
		the previous one still runs), a catch-up window and pause-on-failure.
		The schedule lives in Temporal: it fires whether or not this machine is
		on, and every run is an ordinary workflow run ('cloudflow runs list').`)
	cmd.AddCommand(newScheduleCreateCmd(f, root), newScheduleUpdateCmd(f, root), newScheduleListCmd(f, root), newScheduleDescribeCmd(f, root),
		newScheduleActionCmd(f, root, "pause"), newScheduleActionCmd(f, root, "unpause"),
		newScheduleActionCmd(f, root, "trigger"), newScheduleBackfillCmd(f, root), newScheduleActionCmd(f, root, "delete"))
	return cmd
}

type scheduleCreateOptions struct {
	starter.ScheduleOptions
	JSON bool
}

func newScheduleCreateCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &scheduleCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create NAME (--cron EXPR | --every DURATION) [--time-zone TZ] [flags] -- COMMAND [ARGS...]",
		Short: "Create a schedule that runs what a cloudflow command starts",
		Long: heredoc(fmt.Sprintf(`
			Create the Temporal Schedule NAME. Each time it fires it starts exactly
			the workflow that COMMAND would start now, with the same input: the
			command is checked and its input built once, here (a --file or -f is
			read now), and nothing is started until the schedule fires. The
			command line is kept with the schedule: 'schedule describe' shows it.

			COMMAND is one of: %s. It must not use --wait. The
			commands that act through a stack (%s) cannot be
			scheduled: a schedule starts workflows, a stack takes updates (and
			watches its drift by itself).

			--cron takes Temporal's cron grammar: five fields (minute hour
			day-of-month month day-of-week), a sixth for the year, seven with the
			second first; @hourly, @daily, @weekly, @monthly, @yearly; a
			CRON_TZ=<zone> prefix. Temporal judges it: one it refuses is exit
			status 2 with its message. --time-zone reads it in an IANA time zone
			(Europe/Paris), daylight saving included; the default is UTC.
			--every takes a duration of at least %s. --overlap says what
			happens when a run is due while the previous one still runs: %s
			(the default, skip, starts nothing). --catchup-window bounds how late
			a run missed while Temporal was down still starts.

			'cloudflow schedule update' changes any of these later.`, strings.Join(schedulable, ", "), strings.Join(stackCommands, ", "), starter.MinInterval, strings.Join(starter.OverlapPolicies, ", "))),
		Example: examples(`
			$ cloudflow schedule create nightly-stop --cron "0 22 * * 1-5" --time-zone Europe/Paris -- instances stop --provider kraftcloud --file dev-fleet.txt
			$ cloudflow schedule create hourly-backup --every 1h -- disks snapshot --vm db-1 --retention 2d
			$ cloudflow schedule create month-end --cron "0 23 L * *" -- disks snapshot --vm db-1 --retention 90d
			$ cloudflow schedule create weekend-start --cron "0 7 * * sat" --overlap buffer-one --pause-on-failure -- instances start --provider crusoe gpu-1 gpu-2`),
		Args: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash != 1 || len(args) < 2 {
				return usageErrorf("want NAME -- COMMAND [ARGS...], e.g. nightly-stop --cron \"0 22 * * *\" -- instances stop --provider kraftcloud web-1")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			if err := validateScheduleNumbers(cmd, &opts.ScheduleOptions); err != nil {
				return err
			}
			if err := opts.Validate(); err != nil {
				return withCode(exitUsage, fmt.Errorf("%v; nothing was created", err))
			}
			plan, err := planOf(cmd.Context(), f, root, args[1:])
			if err != nil {
				return err
			}
			opts.Command = commandLine(args[1:])
			r, err := root.dial(f)
			if err != nil {
				return err
			}
			defer r.Close()
			if err := r.CreateSchedule(cmd.Context(), opts.ScheduleOptions, plan); err != nil {
				return scheduleErr(err, "nothing was created")
			}
			info, err := r.DescribeSchedule(cmd.Context(), opts.ID)
			if err != nil {
				return scheduleErr(err, "")
			}
			if opts.JSON {
				return printJSON(f.IO.Out, info)
			}
			fmt.Fprintf(f.IO.Out, "Created schedule %s: %s runs %s (workflow IDs %s-<time>).\n", opts.ID, info.When, plan.Workflow, plan.ID)
			writeNextRuns(f.IO.Out, info.Next, 3)
			noteNoWorker(cmd.Context(), f, r, root.TaskQueue)
			return nil
		},
	}
	fl := cmd.Flags()
	addScheduleFlags(fl, &opts.ScheduleOptions)
	fl.StringVar(&opts.Note, "note", "", "a note kept with the schedule")
	fl.BoolVar(&opts.Paused, "paused", false, "create it paused")
	fl.BoolVar(&opts.JSON, "json", false, "print the created schedule as JSON")
	return cmd
}

// addScheduleFlags adds the flags create and update share, into o.
func addScheduleFlags(fl *pflag.FlagSet, o *starter.ScheduleOptions) {
	fl.StringVar(&o.Cron, "cron", "", "cron `expression` in Temporal's grammar, e.g. \"0 22 * * 1-5\" (read in --time-zone)")
	fl.DurationVar(&o.Every, "every", 0, "run at this `interval`, e.g. 1h")
	fl.StringVar(&o.TimeZone, "time-zone", "", "IANA time `zone` the cron expression is read in, e.g. Europe/Paris (default UTC)")
	fl.StringVar(&o.Overlap, "overlap", starter.DefaultOverlap, "when a run is due while one still runs: "+strings.Join(starter.OverlapPolicies, ", "))
	fl.DurationVar(&o.CatchupWindow, "catchup-window", starter.DefaultCatchupWindow, "start runs missed while Temporal was down if at most this late")
	fl.BoolVar(&o.PauseOnFailure, "pause-on-failure", false, "pause the schedule when a run fails")
}

// commandLine is a scheduled command as a user would type it, quoted for
// a POSIX shell where it needs to be.
func commandLine(args []string) string {
	quoted := make([]string, len(args)+1)
	quoted[0] = "cloudflow"
	for i, a := range args {
		quoted[i+1] = shellQuote(a)
	}
	return strings.Join(quoted, " ")
}

// shellQuote quotes s for a POSIX shell unless it is made only of
// characters no shell reads specially.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// noteNoWorker says, on stderr, that no worker polls the task queue the
// schedule's runs go to: they would wait for one.
func noteNoWorker(ctx context.Context, f *factory, r runner, queue string) {
	if !workerPolls(ctx, r, queue) {
		fmt.Fprintf(f.IO.ErrOut, "Note: no worker is polling task queue %q now: the schedule's runs wait until one does. %s\n", queue, startWorkerHint(queue))
	}
}

// validateScheduleNumbers refuses durations given as zero or less: the
// options read zero as "not given" (--every) or as the default
// (--catchup-window), which a flag set to 0 must not silently become.
func validateScheduleNumbers(cmd *cobra.Command, o *starter.ScheduleOptions) error {
	var problems []string
	if cmd.Flags().Changed("every") && o.Every <= 0 {
		problems = append(problems, fmt.Sprintf("--every must be longer than zero, e.g. 1h (at least %s)", starter.MinInterval))
	}
	if o.CatchupWindow <= 0 {
		problems = append(problems, fmt.Sprintf("--catchup-window must be longer than zero (default %s)", starter.DefaultCatchupWindow))
	}
	if len(problems) > 0 {
		return withCode(exitUsage, errors.New(strings.Join(problems, "; ")+"; nothing was created"))
	}
	return nil
}

// planOf builds what the cloudflow command in args would start, without
// starting it: the command runs against a runner that records the plan.
func planOf(ctx context.Context, f *factory, root *rootOptions, args []string) (starter.Plan, error) {
	rec := &planRecorder{}
	var errOut bytes.Buffer
	inner := &factory{
		IO:   &iostreams{In: f.IO.In, Out: io.Discard, ErrOut: &errOut, Width: f.IO.Width},
		Dial: func(starter.Options) (runner, error) { return rec, nil },
		NotifyContext: func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithCancel(ctx)
		},
		Now: f.Now,
	}
	c, _, err := newRootCmd(inner).Find(args)
	path := ""
	if err == nil {
		path = strings.TrimPrefix(c.CommandPath(), "cloudflow ")
	}
	if slices.Contains(stackCommands, path) {
		return starter.Plan{}, usageErrorf("%q acts through the spec's stack, which a schedule cannot drive (a schedule starts workflows; a stack takes updates); nothing was created. A stack refreshes its drift by itself: see `cloudflow stacks set NAME --refresh-interval`", path)
	}
	if !slices.Contains(schedulable, path) {
		return starter.Plan{}, usageErrorf("%q is not a command a schedule can run; use one of: %s", strings.Join(args, " "), strings.Join(schedulable, ", "))
	}
	if slices.Contains(args, "--wait") || slices.Contains(args, "--wait=true") {
		return starter.Plan{}, usageErrorf("a scheduled command runs in Temporal, unattended: drop --wait (follow its runs with 'cloudflow runs list')")
	}
	// The schedule's runs go to this command's task queue.
	full := append([]string{"--task-queue", root.TaskQueue}, args...)
	if code := execute(ctx, inner, full); code != exitOK {
		msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(errOut.String()), "error: "))
		return starter.Plan{}, withCode(exitUsage, fmt.Errorf("the scheduled command is not valid; nothing was created:\n%s", msg))
	}
	if rec.plan == nil {
		return starter.Plan{}, usageErrorf("%q started no workflow; nothing was created", strings.Join(args, " "))
	}
	return *rec.plan, nil
}

// planRecorder is the runner a scheduled command runs against: its start
// methods record the plan instead of starting a run. A schedulable command
// without --wait calls nothing else.
type planRecorder struct {
	runner
	plan *starter.Plan
}

func (p *planRecorder) record(plan starter.Plan) (starter.Run, error) {
	p.plan = &plan
	return starter.Run{WorkflowID: plan.ID, Workflow: plan.Workflow}, nil
}

func (p *planRecorder) BulkCreateVMs(_ context.Context, in workflows.BulkCreateVMsInput) (starter.Run, error) {
	return p.record(starter.BulkCreateVMsPlan(in))
}

func (p *planRecorder) StartInstances(_ context.Context, in workflows.FleetInput) (starter.Run, error) {
	return p.record(starter.StartInstancesPlan(in))
}

func (p *planRecorder) StopInstances(_ context.Context, in workflows.FleetInput) (starter.Run, error) {
	return p.record(starter.StopInstancesPlan(in))
}

func (p *planRecorder) SnapshotDisks(_ context.Context, in workflows.SnapshotDisksInput) (starter.Run, error) {
	return p.record(starter.SnapshotDisksPlan(in))
}

func (p *planRecorder) Close() {}

// WorkerPolling: a schedule's plan is recorded, not started; no worker is
// needed for that.
func (p *planRecorder) WorkerPolling(context.Context, string) (bool, error) { return true, nil }

// scheduleErr gives an error of a schedule command its exit code: 6 no
// such schedule, 2 a name taken or a spec Temporal refused (then what
// says what did not happen), 4 anything else.
func scheduleErr(err error, what string) error {
	var nf *starter.ScheduleNotFoundError
	var exists *starter.ScheduleExistsError
	var spec *starter.ScheduleSpecError
	switch {
	case errors.As(err, &nf):
		return withCode(exitNotFound, err)
	case errors.As(err, &exists):
		return withCode(exitUsage, err)
	case errors.As(err, &spec):
		return withCode(exitUsage, fmt.Errorf("%v; %s", err, what))
	}
	return withCode(exitOther, err)
}

func newScheduleListCmd(f *factory, root *rootOptions) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:     "list [--json]",
		Aliases: []string{"ls"},
		Short:   "List schedules with their next run",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := root.dial(f)
			if err != nil {
				return err
			}
			defer r.Close()
			list, err := r.ListSchedules(cmd.Context())
			if err != nil {
				return scheduleErr(err, "")
			}
			return printList(f, jsonOut, list, "No schedules.", func(w io.Writer) {
				tw := newTable(w)
				fmt.Fprintln(tw, "NAME\tWORKFLOW\tWHEN\tSTATE\tNEXT RUN\tLAST RUN")
				for _, s := range list {
					state, next, last := "active", "-", "-"
					if s.Paused {
						state = "paused"
					}
					if len(s.Next) > 0 {
						next = s.Next[0].Local().Format(time.DateTime)
					}
					if n := len(s.Recent); n > 0 {
						last = s.Recent[n-1].StartedAt.Local().Format(time.DateTime)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, dash(s.Workflow), dash(s.When), state, next, last)
				}
				_ = tw.Flush()
			})
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func newScheduleDescribeCmd(f *factory, root *rootOptions) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "describe NAME [--json]",
		Short: "Show a schedule: the command it runs, when, its policy, recent runs and next runs",
		Long: heredoc(`
			Show a schedule: the cloudflow command it runs (as it was given; its
			input was built then), the workflow that starts and the task queue
			it goes to, when it runs as Temporal keeps it (a cron expression with
			its time zone, or an interval), its overlap policy, catch-up window
			and pause-on-failure, the runs it started lately and its next runs.

			--json prints the same for scripts; durations are strings ("10m0s").`),
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := root.dial(f)
			if err != nil {
				return err
			}
			defer r.Close()
			s, err := r.DescribeSchedule(cmd.Context(), args[0])
			if err != nil {
				return scheduleErr(err, "")
			}
			if jsonOut {
				return printJSON(f.IO.Out, s)
			}
			w := f.IO.Out
			tw := newTable(w)
			state := "active"
			if s.Paused {
				state = "paused"
			}
			fmt.Fprintf(tw, "Schedule:\t%s\n", s.ID)
			fmt.Fprintf(tw, "Command:\t%s\n", orDefault(s.Command, "(not recorded: the schedule was made without cloudflow, or before it kept the command)"))
			fmt.Fprintf(tw, "Runs:\t%s\n", dash(s.Workflow))
			if s.TaskQueue != "" {
				fmt.Fprintf(tw, "Task queue:\t%s\n", s.TaskQueue)
			}
			fmt.Fprintf(tw, "When:\t%s\n", dash(s.When))
			fmt.Fprintf(tw, "State:\t%s\n", state)
			if s.Note != "" {
				fmt.Fprintf(tw, "Note:\t%s\n", s.Note)
			}
			fmt.Fprintf(tw, "Overlap:\t%s\n", dash(s.Overlap))
			fmt.Fprintf(tw, "Catch-up window:\t%s\n", s.CatchupWindow)
			fmt.Fprintf(tw, "Pause on failure:\t%t\n", s.PauseOnFailure)
			fmt.Fprintf(tw, "Runs started:\t%d (%d skipped as overlapping)\n", s.Actions, s.Skipped)
			if len(s.Running) > 0 {
				fmt.Fprintf(tw, "Running now:\t%s\n", strings.Join(s.Running, ", "))
			}
			_ = tw.Flush()
			if len(s.Recent) > 0 {
				fmt.Fprintln(w, "\nRecent runs:")
				rt := newTable(w)
				fmt.Fprintln(rt, "  SCHEDULED FOR\tSTARTED\tWORKFLOW ID")
				for _, r := range s.Recent {
					fmt.Fprintf(rt, "  %s\t%s\t%s\n", r.ScheduledAt.Local().Format(time.DateTime), r.StartedAt.Local().Format(time.DateTime), dash(r.WorkflowID))
				}
				_ = rt.Flush()
			}
			writeNextRuns(w, s.Next, 5)
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func writeNextRuns(w io.Writer, next []time.Time, most int) {
	if len(next) == 0 {
		fmt.Fprintln(w, "\nNo next runs (paused, or nothing left to run).")
		return
	}
	fmt.Fprintln(w, "\nNext runs:")
	for i, t := range next {
		if i == most {
			break
		}
		fmt.Fprintf(w, "  %s\n", t.Local().Format(time.DateTime+" MST"))
	}
}

// newScheduleActionCmd makes pause, unpause, trigger and delete.
func newScheduleActionCmd(f *factory, root *rootOptions, verb string) *cobra.Command {
	var note string
	short := map[string]string{
		"pause":   "Pause a schedule: it starts no runs until unpaused",
		"unpause": "Unpause a schedule",
		"trigger": "Start a run of a schedule now (its overlap policy applies)",
		"delete":  "Delete a schedule (runs it started go on)",
	}[verb]
	cmd := &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := root.dial(f)
			if err != nil {
				return err
			}
			defer r.Close()
			ctx, id := cmd.Context(), args[0]
			switch verb {
			case "pause":
				err = r.PauseSchedule(ctx, id, note)
			case "unpause":
				err = r.UnpauseSchedule(ctx, id, note)
			case "trigger":
				err = r.TriggerSchedule(ctx, id)
			case "delete":
				err = r.DeleteSchedule(ctx, id)
			}
			if err != nil {
				return scheduleErr(err, "")
			}
			done := map[string]string{"pause": "Paused", "unpause": "Unpaused", "trigger": "Triggered", "delete": "Deleted"}[verb]
			fmt.Fprintf(f.IO.Out, "%s schedule %s.\n", done, id)
			return nil
		},
	}
	if verb == "pause" || verb == "unpause" {
		cmd.Flags().StringVar(&note, "note", "", "why, kept with the schedule")
	}
	return cmd
}

func newScheduleBackfillCmd(f *factory, root *rootOptions) *cobra.Command {
	var start, end string
	cmd := &cobra.Command{
		Use:   "backfill NAME --start TIME --end TIME",
		Short: "Start the runs a schedule would have started between two times",
		Long: heredoc(`
			Start, now, the runs the schedule would have started between --start
			and --end (RFC 3339 times, e.g. 2026-11-20T00:00:00Z), one after
			another as its overlap policy allows.`),
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			from, err := time.Parse(time.RFC3339, start)
			if err != nil {
				return usageErrorf("--start %q: want an RFC 3339 time, e.g. 2026-11-20T00:00:00Z", start)
			}
			to, err := time.Parse(time.RFC3339, end)
			if err != nil {
				return usageErrorf("--end %q: want an RFC 3339 time, e.g. 2026-11-21T00:00:00Z", end)
			}
			if !to.After(from) {
				return usageErrorf("--end must be after --start")
			}
			r, err := root.dial(f)
			if err != nil {
				return err
			}
			defer r.Close()
			if err := r.BackfillSchedule(cmd.Context(), args[0], from, to); err != nil {
				return scheduleErr(err, "")
			}
			fmt.Fprintf(f.IO.Out, "Backfilling schedule %s from %s to %s.\n", args[0], from.Format(time.RFC3339), to.Format(time.RFC3339))
			return nil
		},
	}
	cmd.Flags().StringVar(&start, "start", "", "the first time to backfill (RFC 3339)")
	cmd.Flags().StringVar(&end, "end", "", "the last time to backfill (RFC 3339)")
	_ = cmd.MarkFlagRequired("start")
	_ = cmd.MarkFlagRequired("end")
	return cmd
}
