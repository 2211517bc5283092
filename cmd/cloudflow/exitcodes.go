package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// Exit codes say what happened, so scripts can act on them without parsing
// output.
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
	// exitNotFound: no such stack, saved plan or output; nothing changed.
	exitNotFound = 6
	// exitChangesPending: a plan would change the cloud, or a refresh found
	// drift (exit 0 says the cloud matches the spec).
	exitChangesPending = 10
)

// exitCodesHelp is the exit status paragraph of the stack commands' help.
const exitCodesHelp = `Exit status: 0 success (or in sync: nothing to do), 1 failed or refused,
2 invalid spec or flags (nothing started), 3 still running when --timeout
passed or Ctrl-C was pressed, 4 Temporal could not be reached or another
error, 5 the stack is busy (--if-busy fail), 6 no such stack, 10 changes
pending.`

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
