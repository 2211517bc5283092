package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
)

// Exit codes say what happened, so scripts can act on them without parsing
// output. They mean the same for every command; exitCodes documents them
// (in every command's help, and the README's table, which a test keeps equal).
const (
	exitOK = 0
	// exitFailed: the workflow ran and failed, was canceled or terminated
	// (also: `sim inventory --expect-empty` found resources left).
	exitFailed = 1
	// exitUsage: bad flags or arguments, or an invalid spec; nothing started.
	exitUsage = 2
	// exitPending: gave up waiting (--timeout, Ctrl-C); the workflow is still running.
	exitPending = 3
	// exitOther: Temporal could not be reached, or anything else went wrong.
	exitOther = 4
	// exitBusy: another operation holds the stack (--if-busy fail), or a run
	// on the same resources is already in progress.
	exitBusy = 5
	// exitNotFound: no such run, schedule, stack, saved plan or output;
	// nothing changed.
	exitNotFound = 6
	// exitChangesPending: a plan would change the cloud, or a refresh found
	// drift (exit 0 says the cloud matches the spec).
	exitChangesPending = 10
)

// exitCodes is what each exit code means, for every command.
var exitCodes = []struct {
	Code    int
	Meaning string
}{
	{exitOK, "success; for `plan` and `stacks refresh`: in sync, nothing to do"},
	{exitFailed, "failed: the run or the stack operation failed, was canceled or terminated, or was refused (a destructive plan without `--allow-destroy`, a stale approval, an apply declined at the prompt); a fleet left some instance failed; `sim inventory --expect-empty` found resources"},
	{exitUsage, "bad usage: a flag, argument or spec field is wrong (it is named), a schedule spec Temporal refuses, a name already taken; nothing was started, not even a stack"},
	{exitPending, "still running: `--timeout` passed or Ctrl-C was pressed while waiting; the run goes on"},
	{exitOther, "Temporal could not be reached, or another error"},
	{exitBusy, "busy: another operation holds the stack (`--if-busy fail`), or a run on the same resources is already in progress"},
	{exitNotFound, "not found: no such run, schedule or stack (nothing is deleted by name), saved plan or output; nothing changed"},
	{exitChangesPending, "changes pending: `plan` would change the cloud, `stacks refresh` found drift"},
}

// exitCodesHelp is the exit status section of a command's help: the table
// of exitCodes.
var exitCodesHelp = func() string {
	var b strings.Builder
	b.WriteString("Exit status:")
	for _, e := range exitCodes {
		line := fmt.Sprintf("  %-3d", e.Code)
		for _, word := range strings.Fields(strings.ReplaceAll(e.Meaning, "`", "'")) {
			if len(line)+1+len(word) > 78 {
				b.WriteString("\n" + line)
				line = strings.Repeat(" ", 5)
			}
			line += " " + word
		}
		b.WriteString("\n" + line)
	}
	return b.String()
}()

// addExitCodesHelp gives every command that runs something the exit status
// section in its help, unless its help already says what its codes mean.
func addExitCodesHelp(c *cobra.Command) {
	if c.Runnable() && !isNoun(c) && !strings.Contains(c.Long, "Exit status") {
		long := c.Long
		if long == "" {
			long = c.Short + "."
		}
		c.Long = long + "\n\n" + exitCodesHelp
	}
	for _, sub := range c.Commands() {
		addExitCodesHelp(sub)
	}
}

// exitError carries the exit code a failure maps to. A nil err means the
// command already said everything and only the code remains.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// runError gives an error about the run of workflowID its exit code: 6
// when Temporal has no such run, else 4.
func runError(workflowID string, err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return withCode(exitNotFound, fmt.Errorf("no run %s (see `cloudflow runs list`)", workflowID))
	}
	return withCode(exitOther, err)
}

// exitCodeOf maps an error returned by Execute to an exit code. Commands wrap
// their own errors (see wrapRunE); what reaches here unwrapped came from
// cobra itself: an unknown command or flag, a missing argument.
func exitCodeOf(err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitUsage
}

// wrapRunE makes every error a command returns carry a code: one it did not
// classify means something went wrong at run time (exitOther), never bad usage.
func wrapRunE(c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			err := run(cmd, args)
			if err == nil {
				return nil
			}
			var ee *exitError
			if errors.As(err, &ee) {
				return err
			}
			return &exitError{code: exitOther, err: err}
		}
	}
	for _, sub := range c.Commands() {
		wrapRunE(sub)
	}
}
