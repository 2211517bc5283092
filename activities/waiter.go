package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// PollPolicy sets how the waiter backs off when it does not know how long an
// operation takes: from Initial, growing by Multiplier, up to Max. Official
// clients poll every 1-8 s at a fixed pace; starting fast and backing off
// finds quick operations sooner and costs fewer calls on slow ones. Once the
// worker has seen operations of a kind end, the waiter paces by what it
// learned instead (see nextPoll).
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
// the first attempt's, and the pace picks up where it was. The waiter
// heartbeats when Temporal needs a sign of life (every half heartbeat
// timeout) and when it has news, not after every poll.
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
	// Since is when the operation began, as closely as the waiter knows it:
	// the answer to the call that started it (on this worker), else the
	// cloud's own start time, else the wait's start. The pace counts from it.
	Since time.Time `json:"since,omitzero"`
	// SinceExact is true when Since is the answer's time, which only the
	// worker that made the call knows: only then is the duration learned.
	SinceExact bool `json:"sinceExact,omitempty"`
	// Expect is when the operation was expected to end, counted from Since,
	// as the worker had learned it when the wait began; a wait resumed on a
	// worker that has learned nothing keeps this pace.
	Expect *Expectation `json:"expect,omitempty"`

	// cloudSpan is the duration the cloud's own times allow (endedCloud).
	cloudSpan *Expectation
}

// sinceCloud records the cloud's start time of the operation when nothing
// better is known. Such a time is coarse (whole seconds): it paces a wait,
// but teaches nothing by itself.
func (wp *WaitProgress) sinceCloud(t time.Time) {
	if wp.Since.IsZero() && !t.IsZero() {
		wp.Since = t
	}
}

// endedCloud records the start and end the cloud gives an operation that
// ended, in whole seconds: it bounds the duration within a second either
// way, which narrows what a wait that polled sparsely learns.
func (wp *WaitProgress) endedCloud(started, completed time.Time) {
	if started.IsZero() || completed.Before(started) {
		return
	}
	d := completed.Sub(started)
	wp.cloudSpan = &Expectation{Lo: max(d-time.Second, 0), Hi: d + time.Second}
}

// pollFunc makes one observation. done ends the wait; a non-nil error that is
// not transient (see transientDelay) ends it too.
type pollFunc func(ctx context.Context, wp *WaitProgress) (done bool, err error)

// wait describes one wait.
type wait struct {
	// target names what is waited for, in messages and heartbeats.
	target  string
	timeout time.Duration
	// policy paces the wait when kind has not been learned.
	policy PollPolicy
	// kind is what the worker learns the duration of, e.g.
	// "crusoe/vm/create"; empty: nothing is learned, and the wait backs off.
	kind string
	// since is when this worker saw the operation begin; zero if it did not.
	since time.Time
}

// waits is the waiting state a worker's activities of one cloud share: the
// clock, what was learned of operations' durations, and when the
// operations this worker started began. It is made on first use.
type waits struct {
	once    sync.Once
	clk     clock
	learned *durations
	started *opStarts
}

func (w *waits) init() *waits {
	w.once.Do(func() {
		if w.clk == nil {
			w.clk = realClock{}
		}
		w.learned = &durations{}
		w.started = &opStarts{}
	})
	return w
}

// began notes that the operation id began now, as this worker saw it.
func (w *waits) began(id string) {
	w.init()
	w.started.note(id, w.clk.Now())
}

// since is when this worker saw the operation id begin, or zero.
func (w *waits) since(id string) time.Time {
	t, _ := w.init().started.lookup(id)
	return t
}

// waitEnv is what the waiter needs of the activity running it.
type waitEnv struct {
	heartbeat        func(WaitProgress)
	heartbeatTimeout time.Duration
	// resumed is the previous attempt's progress, if any.
	resumed *WaitProgress
}

func activityWaitEnv(ctx context.Context) waitEnv {
	env := waitEnv{
		heartbeat:        func(wp WaitProgress) { activity.RecordHeartbeat(ctx, wp) },
		heartbeatTimeout: activity.GetInfo(ctx).HeartbeatTimeout,
	}
	if activity.HasHeartbeatDetails(ctx) {
		var prev WaitProgress
		if err := activity.GetHeartbeatDetails(ctx, &prev); err == nil {
			env.resumed = &prev
		}
	}
	return env
}

// waitFor polls until done, a final error, or the timeout since the first
// attempt started. A kind the worker has seen end before is polled around
// its expected end; any other is polled at once, then backing off. It sleeps
// on ctx, so a cancelled workflow or a lost worker stops it promptly.
func (w *waits) waitFor(ctx context.Context, spec wait, poll pollFunc) (WaitProgress, error) {
	return w.run(ctx, activityWaitEnv(ctx), spec, poll)
}

// waitFor is waits.waitFor for a wait that learns nothing.
func waitFor(ctx context.Context, policy PollPolicy, timeout time.Duration, target string, poll pollFunc) (WaitProgress, error) {
	var w waits
	return w.waitFor(ctx, wait{target: target, timeout: timeout, policy: policy}, poll)
}

func (w *waits) run(ctx context.Context, env waitEnv, spec wait, poll pollFunc) (WaitProgress, error) {
	w.init()
	clk := w.clk
	wp := WaitProgress{Target: spec.target}
	if prev := env.resumed; prev != nil && prev.Target == spec.target {
		wp = *prev
	}
	start := clk.Now()
	if wp.StartedAt.IsZero() {
		wp.StartedAt = start
	}
	if wp.Since.IsZero() && !spec.since.IsZero() {
		wp.Since, wp.SinceExact = spec.since, true
	}
	if wp.Expect == nil && spec.kind != "" {
		if exp, ok := w.learned.expect(spec.kind); ok {
			wp.Expect = &exp
		}
	}
	// Sign of life every half heartbeat timeout, so Temporal never takes a
	// patient waiter for a dead one; the activity's start counts as one.
	beatEvery := spec.policy.Max
	if hb := env.heartbeatTimeout; hb > 0 {
		beatEvery = hb / 2
	}
	lastBeat := start
	beat := func() {
		if env.heartbeat != nil && env.heartbeatTimeout > 0 {
			env.heartbeat(wp)
		}
		lastBeat = clk.Now()
	}
	// sleepUntil sleeps to t, beating as often as needed.
	sleepUntil := func(t time.Time) error {
		for {
			now := clk.Now()
			if !now.Before(t) {
				return ctx.Err()
			}
			d := t.Sub(now)
			if env.heartbeatTimeout > 0 {
				if due := lastBeat.Add(beatEvery).Sub(now); due <= 0 {
					beat()
					continue
				} else if due < d {
					d = due
				}
			}
			if err := clk.Sleep(ctx, d); err != nil {
				return err
			}
		}
	}
	deadline := time.Time{}
	if spec.timeout > 0 {
		deadline = wp.StartedAt.Add(spec.timeout)
	}
	timedOut := func() error {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s still %s after %s", spec.target, orUnknown(wp.State), spec.timeout.Round(time.Second)),
			ErrTypeWaitTimeout, nil, wp)
	}

	// paced: the wait polls around the expected end; it stops being paced
	// once that is past, and backs off from there.
	paced := wp.Expect != nil
	// The first poll waits for the expected end when the beginning is known.
	if paced && !wp.Since.IsZero() && wp.Polls == 0 {
		off, _ := nextPoll(*wp.Expect, -1)
		at := wp.Since.Add(off)
		if !deadline.IsZero() && at.After(deadline) {
			at = deadline
		}
		if err := sleepUntil(at); err != nil {
			return wp, err
		}
	}
	var pendingAt time.Duration = -1 // offset of the last "still in progress", for learning
	for {
		before := clk.Now()
		wasResource := wp.ResolveFromResource
		done, err := poll(ctx, &wp)
		after := clk.Now()
		wp.Polls++
		if wp.Since.IsZero() {
			// No one said when the operation began: the wait's start is
			// the latest it can have been.
			wp.Since = wp.StartedAt
		}
		if err == nil && done {
			if wp.SinceExact && !wp.ResolveFromResource {
				seen := Expectation{Lo: max(pendingAt, 0), Hi: after.Sub(wp.Since)}
				if wp.cloudSpan != nil {
					if both, ok := seen.intersect(*wp.cloudSpan); ok {
						seen = both
					}
				}
				w.learned.learn(spec.kind, seen)
			}
			return wp, nil
		}
		var next time.Time
		if err != nil {
			ra, transient := transientDelay(err)
			if !transient {
				return wp, err
			}
			wp.Transient++
			wp.Interval = spec.policy.next(wp.Interval)
			next = after.Add(max(ra, wp.Interval))
			if !deadline.IsZero() && next.After(deadline) {
				// The server asks for more time than is left.
				return wp, timedOut()
			}
		} else {
			if !wp.ResolveFromResource {
				pendingAt = before.Sub(wp.Since)
			}
			if paced && !wp.ResolveFromResource {
				off, ok := nextPoll(*wp.Expect, before.Sub(wp.Since))
				if ok {
					next = wp.Since.Add(off)
				} else {
					// Later than ever seen: back off, from a tenth of
					// the expected duration.
					paced = false
					wp.Interval = max(wp.Expect.step(), wp.Expect.Hi/10)
				}
			}
			if next.IsZero() {
				wp.Interval = spec.policy.next(wp.Interval)
				next = after.Add(wp.Interval)
			}
		}
		if !deadline.IsZero() && !after.Before(deadline) {
			return wp, timedOut()
		}
		if !deadline.IsZero() && next.After(deadline) {
			// One last look at the deadline rather than giving up early.
			next = deadline
		}
		if wp.ResolveFromResource != wasResource || clk.Now().Sub(lastBeat)+after.Sub(before) >= beatEvery {
			// News (the operation is gone: a resumed wait must watch the
			// resource), or a sign of life is due before another poll as
			// long as this one (a server-side wait) would end.
			beat()
		}
		if err := sleepUntil(next); err != nil {
			return wp, err
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
	return realClock{}.Sleep(ctx, d)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
