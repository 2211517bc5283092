package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
)

// Defaults for Timeouts.
const (
	DefaultOperationTimeout = 30 * time.Minute
	DefaultHeartbeatTimeout = 20 * time.Second
	DefaultUndoTimeout      = 10 * time.Minute
)

// CallAttemptTimeout bounds one attempt of an activity that makes one API
// call (or a lookup and a call). It matches the clients' request timeout
// (10 s, crusoe.RequestTimeout) with room for the lookup: such an activity
// does not heartbeat, so this is how soon Temporal notices a worker that
// died mid-call and retries the call on another one (after the policy's
// first 1 s backoff: well within 15 s).
const CallAttemptTimeout = 12 * time.Second

func (t Timeouts) operation() time.Duration {
	if t.Operation > 0 {
		return t.Operation
	}
	return DefaultOperationTimeout
}

func (t Timeouts) heartbeat() time.Duration {
	if t.Heartbeat > 0 {
		return t.Heartbeat
	}
	return DefaultHeartbeatTimeout
}

func (t Timeouts) undo() time.Duration {
	if t.Undo > 0 {
		return t.Undo
	}
	return DefaultUndoTimeout
}

// nonRetryable lists the activity error types no retry can fix. Activities
// also mark such errors non-retryable themselves; this is the belt to those braces.
var nonRetryable = []string{
	activities.ErrTypeAPI, activities.ErrTypeOperationFailed, activities.ErrTypeWaitTimeout,
	activities.ErrTypeUnexpectedState, activities.ErrTypeInvalidInput,
}

// retryPolicy backs off from 1 s to 30 s. An activity error carrying
// NextRetryDelay (a 429 or 503 with Retry-After) overrides the backoff for
// that retry.
func retryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        30 * time.Second,
		NonRetryableErrorTypes: nonRetryable,
	}
}

// callOptions are for activities that make one API call (or a lookup and a
// call), each attempt bounded by CallAttemptTimeout. Retries follow the
// server's Retry-After when it gives one (NextRetryDelay), else back off to
// 30 s, for up to 10 minutes.
func callOptions(ctx workflow.Context, t Timeouts) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    CallAttemptTimeout,
		ScheduleToCloseTimeout: 10 * time.Minute,
		// Wait for a cancelled create to settle, so that compensation, which
		// runs next, sees whatever it made.
		WaitForCancellation: true,
		RetryPolicy:         retryPolicy(),
	})
}

// waitOptions are for the durable waiter. A worker that dies mid-wait is
// noticed after the heartbeat timeout, and the wait resumes elsewhere from its
// last heartbeat; the waiter itself enforces the operation timeout.
func waitOptions(ctx workflow.Context, t Timeouts) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    t.operation() + time.Minute,
		ScheduleToCloseTimeout: t.operation() + 5*time.Minute,
		HeartbeatTimeout:       t.heartbeat(),
		WaitForCancellation:    true,
		RetryPolicy:            retryPolicy(),
	})
}

// batchOptions are for fleet batch calls, which may hold the connection open
// while the server waits for the instances (serverWait). They heartbeat
// throughout, so a worker that dies mid-call is noticed within the heartbeat
// timeout and the batch is retried, checking first what the lost call did.
func batchOptions(ctx workflow.Context, t Timeouts, serverWait time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    serverWait + time.Minute,
		ScheduleToCloseTimeout: serverWait + 10*time.Minute,
		HeartbeatTimeout:       t.heartbeat(),
		WaitForCancellation:    true,
		RetryPolicy:            retryPolicy(),
	})
}
