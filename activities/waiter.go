package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// PollPolicy sets how the waiter paces its polls: from Initial, growing by
// Multiplier, up to Max. Official clients poll every 1-8 s at a fixed pace;
// starting fast and backing off finds quick operations sooner and costs fewer
// calls on slow ones.
type PollPolicy struct {
	Initial    time.Duration
	Max        time.Duration
	Multiplier float64
}

// DefaultPollPolicy suits real clouds.
var DefaultPollPolicy = PollPolicy{Initial: 500 * time.Millisecond, Max: 10 * time.Second, Multiplier: 1.5}

func (p PollPolicy) next(d time.Duration) time.Duration {
	if d <= 0 {
		return p.Initial
	}
	n := time.Duration(float64(d) * p.Multiplier)
	if n > p.Max {
		n = p.Max
	}
	return n
}

// WaitProgress is the waiter's heartbeat detail. A retry of the activity (on
// this or another worker, after a crash) resumes from it: the deadline stays
// the first attempt's and the pace picks up where it was.
type WaitProgress struct {
	// Target is what is being waited for, e.g. "operation 1f2e... (disk create)".
	Target    string        `json:"target"`
	StartedAt time.Time     `json:"startedAt"`
	Polls     int           `json:"polls"`
	Interval  time.Duration `json:"interval"`
	State     string        `json:"state"`
	// Transient counts polls that failed with a retryable error.
	Transient int `json:"transient,omitempty"`
	// ResolveFromResource is set once the operation proved unknown or
	// expired; from then on the resource itself is polled.
	ResolveFromResource bool `json:"resolveFromResource,omitempty"`
}

// pollFunc makes one observation. done ends the wait; a non-nil error that is
// not transient (see transientDelay) ends it too.
type pollFunc func(ctx context.Context, wp *WaitProgress) (done bool, err error)

// waitFor polls until done, a final error, or timeout since the first
// attempt started. It heartbeats after every poll and sleeps on ctx, so a
// cancelled workflow or a lost worker stops it promptly.
func waitFor(ctx context.Context, policy PollPolicy, timeout time.Duration, target string, poll pollFunc) (WaitProgress, error) {
	wp := WaitProgress{Target: target}
	if activity.HasHeartbeatDetails(ctx) {
		var prev WaitProgress
		if err := activity.GetHeartbeatDetails(ctx, &prev); err == nil && prev.Target == target {
			wp = prev
		}
	}
	now := time.Now()
	if wp.StartedAt.IsZero() {
		wp.StartedAt = now
	}
	// Sleep no longer than half the heartbeat timeout, so Temporal never
	// mistakes a patient waiter for a dead one.
	maxSleep := policy.Max
	if hb := activity.GetInfo(ctx).HeartbeatTimeout; hb > 0 && hb/2 < maxSleep {
		maxSleep = hb / 2
	}
	for {
		done, err := poll(ctx, &wp)
		wp.Polls++
		delay := time.Duration(0)
		switch {
		case err == nil && done:
			activity.RecordHeartbeat(ctx, wp)
			return wp, nil
		case err == nil:
			wp.Interval = policy.next(wp.Interval)
			delay = wp.Interval
		default:
			d, transient := transientDelay(err)
			if !transient {
				return wp, err
			}
			wp.Transient++
			wp.Interval = policy.next(wp.Interval)
			delay = max(d, wp.Interval)
		}
		if timeout > 0 && time.Since(wp.StartedAt)+delay > timeout {
			return wp, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("%s still %s after %s", target, orUnknown(wp.State), timeout.Round(time.Second)),
				ErrTypeWaitTimeout, nil, wp)
		}
		activity.RecordHeartbeat(ctx, wp)
		if err := sleep(ctx, min(delay, maxSleep)); err != nil {
			return wp, err
		}
		// A long Retry-After is slept in heartbeat-sized pieces.
		for rest := delay - min(delay, maxSleep); rest > 0; rest -= maxSleep {
			activity.RecordHeartbeat(ctx, wp)
			if err := sleep(ctx, min(rest, maxSleep)); err != nil {
				return wp, err
			}
		}
	}
}

// transientDelay says whether a poll error is worth another poll, and how
// long the server asked us to wait first.
func transientDelay(err error) (time.Duration, bool) {
	if ce, ok := asCloudError(err); ok {
		return ce.retryAfter, retryableStatus(ce.status)
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return 0, false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return 0, false
	}
	return 0, true // network trouble
}

// activityHeartbeat is the running activity's heartbeat timeout, or zero.
func activityHeartbeat(ctx context.Context) time.Duration {
	return activity.GetInfo(ctx).HeartbeatTimeout
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
