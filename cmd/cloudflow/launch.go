package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cloudflow/cloudflow/starter"
)

// launch starts a run and then does what every starting command does: a
// run already in progress on the same resources is refused with how to
// follow it; without --wait the run is named and left to go on; with --wait
// it is followed to its end (waitForRun).
func launch(cmd *cobra.Command, f *factory, r runner, what string, wait bool, w waitSettings,
	start func(ctx context.Context) (starter.Run, error)) error {
	run, err := start(cmd.Context())
	if err != nil {
		var running *starter.AlreadyRunningError
		if errors.As(err, &running) {
			id := running.WorkflowID
			return withCode(exitBusy, fmt.Errorf("a run for %s is already in progress (workflow %s); watch it with `cloudflow runs watch %s`, or cancel it with `cloudflow runs cancel %s`",
				what, id, id, id))
		}
		return withCode(exitOther, err)
	}
	out := f.IO.Out
	if !wait {
		if w.JSON {
			return printJSON(out, startedRun{Run: run, UI: f.UI.run(run.WorkflowID, run.RunID)})
		}
		fmt.Fprintf(out, "Started %s for %s.\n", run.Workflow, what)
		fmt.Fprintf(out, "  workflow: %s\n  run:      %s\n", run.WorkflowID, run.RunID)
		f.UI.print(out, "  ui:       ", run.WorkflowID, run.RunID)
		fmt.Fprintf(out, "Watch it with: cloudflow runs watch %s\n", run.WorkflowID)
		return nil
	}
	// A terminal shows the run's title in its live view; fleets show one line.
	if !w.JSON && (!f.IO.OutTTY || isFleetWorkflow(run.Workflow)) {
		fmt.Fprintf(out, "Started %s for %s (workflow %s).\n", run.Workflow, what, run.WorkflowID)
	}
	return waitForRun(cmd, f, r, run, w)
}

// startedRun is what a starting command prints with --json and no --wait:
// the run, and its link in the Temporal UI when one is known.
type startedRun struct {
	starter.Run
	UI string `json:"ui,omitempty"`
}

// waitContext ends on Ctrl-C or SIGTERM (sigCtx), and after timeout (ctx).
func waitContext(cmd *cobra.Command, f *factory, timeout time.Duration) (ctx, sigCtx context.Context, cancel func()) {
	sigCtx, stop := f.NotifyContext(cmd.Context())
	if timeout <= 0 {
		return sigCtx, sigCtx, stop
	}
	ctx, cancelTimeout := context.WithTimeout(sigCtx, timeout)
	return ctx, sigCtx, func() {
		cancelTimeout()
		stop()
	}
}

// waitFlags are the flags every command that starts a run shares.
type waitFlags struct {
	Wait     bool
	JSON     bool
	Timeout  time.Duration
	Interval time.Duration
}

// addWaitFlags adds --wait, --json, --timeout (defaulting to timeout) and the
// hidden --poll-interval.
func (w *waitFlags) addWaitFlags(fl *pflag.FlagSet, timeout time.Duration) {
	fl.BoolVar(&w.Wait, "wait", false, "wait for the workflow to finish, showing progress")
	fl.BoolVar(&w.JSON, "json", false, "print JSON: the result with --wait, else the started run")
	fl.DurationVar(&w.Timeout, "timeout", timeout, "with --wait, how long to wait before giving up (the workflow goes on)")
	fl.DurationVar(&w.Interval, "poll-interval", defaultPollInterval, "how often to ask the workflow for progress")
	_ = fl.MarkHidden("poll-interval")
}

// validateWait checks the wait flags; a problem is bad usage.
func (w *waitFlags) validateWait(cmd *cobra.Command) error {
	if cmd.Flags().Changed("timeout") && !w.Wait {
		return usageErrorf("--timeout only applies with --wait")
	}
	if w.Timeout <= 0 {
		return usageErrorf("--timeout must be longer than zero, e.g. 30m")
	}
	if w.Interval <= 0 {
		return usageErrorf("--poll-interval must be longer than zero")
	}
	return nil
}

func (w *waitFlags) waitSettings() waitSettings {
	return waitSettings{JSON: w.JSON, Timeout: w.Timeout, Interval: w.Interval}
}
