package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

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
			return withCode(exitOther, fmt.Errorf("a run for %s is already in progress (workflow %s); watch it with `cloudflow runs watch %s`, or cancel it with `cloudflow runs cancel %s`",
				what, id, id, id))
		}
		return withCode(exitOther, err)
	}
	out := f.IO.Out
	if !wait {
		if w.JSON {
			return printJSON(out, run)
		}
		fmt.Fprintf(out, "Started %s for %s.\n", run.Workflow, what)
		fmt.Fprintf(out, "  workflow: %s\n  run:      %s\n", run.WorkflowID, run.RunID)
		fmt.Fprintf(out, "Watch it with: cloudflow runs watch %s\n", run.WorkflowID)
		return nil
	}
	// A terminal shows the run's title in its live view; fleets show one line.
	if !w.JSON && (!f.IO.OutTTY || isFleetWorkflow(run.Workflow)) {
		fmt.Fprintf(out, "Started %s for %s (workflow %s).\n", run.Workflow, what, run.WorkflowID)
	}
	return waitForRun(cmd, f, r, run, w)
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
