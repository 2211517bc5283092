package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
)

// Metrics is told what the activities measure; the worker's metrics
// implement it. An activity struct whose Metrics is nil reports nothing.
type Metrics interface {
	// WaitEnded is told of each wait for a cloud operation that ended with
	// a known outcome, once.
	WaitEnded(WaitEnd)
}

// WaitEnd is a wait for a cloud operation (an operation, task, job or
// state) that ended.
type WaitEnd struct {
	// Cloud is CloudCrusoe, CloudKraftCloud, CloudCloudMC or CloudOpenVZ.
	Cloud string
	// Kind is the resource's kind (KindVM, KindCloudMCInstance, "container"...).
	Kind string
	// Verb is what the operation did: create, delete, start, stop, attach,
	// detach, settle (an undo waiting out an operation in progress),
	// bulk-create.
	Verb string
	// Outcome is one of the Outcome* constants.
	Outcome string
	// Polls counts the observations of the whole wait, over every attempt.
	Polls int
	// Duration runs from the first attempt's start to the end, over every
	// attempt (the waiter keeps its start in its heartbeat).
	Duration time.Duration
}

// The outcomes of a wait.
const (
	// WaitSucceeded: the operation ended as waited for.
	WaitSucceeded = "succeeded"
	// WaitFailed: the cloud reported the operation failed (ErrTypeOperationFailed).
	WaitFailed = "failed"
	// WaitTimedOut: the wait outlasted its timeout (ErrTypeWaitTimeout).
	WaitTimedOut = "timeout"
	// WaitError: the wait ended on another error (a refused call, an
	// unexpected state).
	WaitError = "error"
)

// recordWait tells m, when it is set, how a wait ended: wp is what waitFor
// returned and err its error. A wait whose context ended (the workflow
// cancelled it, the worker is stopping, a heartbeat was missed) is not
// recorded: it may go on in another attempt, which records it.
func recordWait(m Metrics, cloud, kind, verb string, wp WaitProgress, err error) {
	if m == nil {
		return
	}
	var outcome string
	switch {
	case err == nil:
		outcome = WaitSucceeded
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return
	case isWaitTimeout(err):
		outcome = WaitTimedOut
	case isOperationFailed(err):
		outcome = WaitFailed
	default:
		outcome = WaitError
	}
	var d time.Duration
	if !wp.StartedAt.IsZero() {
		d = time.Since(wp.StartedAt)
	}
	m.WaitEnded(WaitEnd{Cloud: cloud, Kind: kind, Verb: verb, Outcome: outcome, Polls: wp.Polls, Duration: d})
}

func isOperationFailed(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == ErrTypeOperationFailed
}

// verb names what a Crusoe wait waits for, for metrics.
func (in WaitInput) verb() string {
	switch {
	case in.Settle:
		return "settle"
	case in.Gone:
		return "delete"
	case in.TargetState == crusoe.VMStateRunning:
		return "start"
	case in.TargetState == crusoe.VMStateStopped:
		return "stop"
	}
	return "create"
}

// kraftCloudWaitVerb names what a KraftCloud wait for instances to reach
// state waits for, for metrics.
func kraftCloudWaitVerb(state string) string {
	switch state {
	case kraftcloud.StateRunning:
		return ActionStart
	case kraftcloud.StateStopped:
		return ActionStop
	}
	return "wait"
}
