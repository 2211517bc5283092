package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/starter"
)

func newScheduleUpdateCmd(f *factory, root *rootOptions) *cobra.Command {
	var opts struct {
		starter.ScheduleOptions
		JSON bool
	}
	cmd := &cobra.Command{
		Use:   "update NAME [--cron EXPR | --every DURATION] [--time-zone TZ] [--overlap P] [--catchup-window D] [--pause-on-failure[=false]] [-- COMMAND [ARGS...]]",
		Short: "Change when a schedule runs, its policy, or the command it runs",
		Long: heredoc(`
			Change the schedule NAME in one update: each flag given replaces the
			schedule's setting, and what is not given stays. --cron or --every
			replaces when it runs (the time zone stays unless --time-zone is
			given); --time-zone alone reads the same calendar in another zone.
			After --, a command replaces what the schedule runs; it is checked and
			its input built now, as 'schedule create' does.

			Temporal judges the result, as at creation: a spec it refuses is exit
			status 2 with its message, and nothing changes.`),
		Example: examples(`
			$ cloudflow schedule update nightly-stop --cron "0 23 * * 1-5"
			$ cloudflow schedule update nightly-stop --time-zone America/New_York
			$ cloudflow schedule update nightly-stop --overlap buffer-one --pause-on-failure
			$ cloudflow schedule update nightly-stop -- instances stop --provider kraftcloud --file dev-fleet.txt`),
		Args: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			switch {
			case len(args) == 0 || dash == 0:
				return usageErrorf("missing NAME argument")
			case dash < 0 && len(args) > 1:
				return usageErrorf("too many arguments: want NAME, then -- COMMAND to change what it runs")
			case dash > 1:
				return usageErrorf("too many arguments before --: want NAME -- COMMAND")
			case dash == 1 && len(args) == 1:
				return usageErrorf("a command must follow --, e.g. -- instances stop --provider kraftcloud web-1")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := scheduleUpdateOf(cmd, &opts.ScheduleOptions)
			if err != nil {
				return err
			}
			if len(args) > 1 {
				plan, err := planOf(cmd.Context(), f, root, args[1:])
				if err != nil {
					return err
				}
				u.Plan, u.Command = &plan, commandLine(args[1:])
			}
			if err := u.Validate(); err != nil {
				return withCode(exitUsage, fmt.Errorf("%v; nothing changed", err))
			}
			r, err := root.dial(f)
			if err != nil {
				return err
			}
			defer r.Close()
			if err := r.UpdateSchedule(cmd.Context(), args[0], u); err != nil {
				return scheduleErr(err, "nothing changed")
			}
			info, err := r.DescribeSchedule(cmd.Context(), args[0])
			if err != nil {
				return scheduleErr(err, "")
			}
			if opts.JSON {
				return printJSON(f.IO.Out, info)
			}
			fmt.Fprintf(f.IO.Out, "Updated schedule %s: %s runs %s.\n", info.ID, info.When, orDefault(info.Command, info.Workflow))
			writeNextRuns(f.IO.Out, info.Next, 3)
			if u.Plan != nil {
				noteNoWorker(cmd.Context(), f, r, root.TaskQueue)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	addScheduleFlags(fl, &opts.ScheduleOptions)
	fl.BoolVar(&opts.JSON, "json", false, "print the updated schedule as JSON")
	return cmd
}

// scheduleUpdateOf is the update the flags given ask for.
func scheduleUpdateOf(cmd *cobra.Command, o *starter.ScheduleOptions) (starter.ScheduleUpdate, error) {
	fl := cmd.Flags()
	var u starter.ScheduleUpdate
	var problems []string
	if fl.Changed("cron") {
		u.Cron = &o.Cron
	}
	if fl.Changed("every") {
		if o.Every <= 0 {
			problems = append(problems, fmt.Sprintf("--every must be longer than zero, e.g. 1h (at least %s)", starter.MinInterval))
		}
		u.Every = &o.Every
	}
	if fl.Changed("time-zone") {
		u.TimeZone = &o.TimeZone
	}
	if fl.Changed("overlap") {
		u.Overlap = &o.Overlap
	}
	if fl.Changed("catchup-window") {
		u.CatchupWindow = &o.CatchupWindow
	}
	if fl.Changed("pause-on-failure") {
		u.PauseOnFailure = &o.PauseOnFailure
	}
	if len(problems) > 0 {
		return u, withCode(exitUsage, fmt.Errorf("%s; nothing changed", strings.Join(problems, "; ")))
	}
	return u, nil
}
