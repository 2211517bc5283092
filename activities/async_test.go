package activities

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
)

// fakeCompleter is a Completer that keeps what it is told and answers
// heartbeats with hbAnswer.
type fakeCompleter struct {
	mu       sync.Mutex
	beats    []WaitProgress
	hbAnswer func(n int) error // answer to the n-th heartbeat (from 1); nil: accepted
	// completeAnswer answers the n-th call to CompleteActivity; nil: accepted.
	completeAnswer func(n int) error
	completeCalls  int
	completed      chan completion
}

type completion struct {
	token  string
	result any
	err    error
}

func newFakeCompleter() *fakeCompleter {
	return &fakeCompleter{completed: make(chan completion, 100)}
}

func (c *fakeCompleter) RecordActivityHeartbeat(_ context.Context, _ []byte, details ...any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(details) == 1 {
		if wp, ok := details[0].(WaitProgress); ok {
			c.beats = append(c.beats, wp)
		}
	}
	if c.hbAnswer != nil {
		return c.hbAnswer(len(c.beats))
	}
	return nil
}

func (c *fakeCompleter) CompleteActivity(_ context.Context, token []byte, result any, err error) error {
	c.mu.Lock()
	c.completeCalls++
	n := c.completeCalls
	c.mu.Unlock()
	if c.completeAnswer != nil {
		if e := c.completeAnswer(n); e != nil {
			return e
		}
	}
	c.completed <- completion{token: string(token), result: result, err: err}
	return nil
}

func (c *fakeCompleter) heartbeats() []WaitProgress {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]WaitProgress(nil), c.beats...)
}

// next is the next completion, within a few seconds.
func (c *fakeCompleter) next(t *testing.T) completion {
	t.Helper()
	select {
	case cp := <-c.completed:
		return cp
	case <-time.After(5 * time.Second):
		t.Fatal("the activity was not completed")
		return completion{}
	}
}

func (c *fakeCompleter) none(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case cp := <-c.completed:
		t.Fatalf("the activity was completed with %+v", cp)
	case <-time.After(within):
	}
}

// startAsync starts body on aw as runWait does for an activity with
// token and heartbeat timeout hb; it returns a channel closed when the
// body's goroutine is over.
func startAsync(t *testing.T, aw *AsyncWaits, token string, hb time.Duration, body func(context.Context, waitEnv) (any, error)) <-chan struct{} {
	t.Helper()
	over := make(chan struct{})
	w := &asyncWait{token: []byte(token), deadline: time.Now().Add(time.Minute), logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))}
	ok := aw.start(context.Background(), w, waitEnv{heartbeatTimeout: hb}, func(ctx context.Context, env waitEnv) (any, error) {
		defer close(over)
		return body(ctx, env)
	})
	require.True(t, ok, "the wait runs asynchronously")
	return over
}

func bodyEnded(t *testing.T, over <-chan struct{}) {
	t.Helper()
	select {
	case <-over:
	case <-time.After(5 * time.Second):
		t.Fatal("the wait's body did not end")
	}
}

// The result, or the error, of the body is what the activity completes with.
func TestAsyncWaitCompletesWithTheBodysOutcome(t *testing.T) {
	c := newFakeCompleter()
	aw := &AsyncWaits{Completer: c}
	startAsync(t, aw, "t1", 0, func(context.Context, waitEnv) (any, error) {
		return WaitResult{ResourceID: "r1", Polls: 3}, nil
	})
	cp := c.next(t)
	require.Equal(t, completion{token: "t1", result: WaitResult{ResourceID: "r1", Polls: 3}}, cp)

	failed := temporal.NewNonRetryableApplicationError("disk d1 failed", ErrTypeOperationFailed, nil)
	startAsync(t, aw, "t2", 0, func(context.Context, waitEnv) (any, error) { return WaitResult{}, failed })
	cp = c.next(t)
	require.Equal(t, "t2", cp.token)
	require.Same(t, failed, cp.err)
	aw.Stop(time.Second)
	require.Zero(t, aw.InFlight())
}

// A body that panics fails the attempt with a retryable error, as the SDK
// fails an activity that panics in place; the worker goes on.
func TestAsyncWaitPanicFailsTheAttemptNotTheWorker(t *testing.T) {
	c := newFakeCompleter()
	aw := &AsyncWaits{Completer: c}
	startAsync(t, aw, "t1", 0, func(context.Context, waitEnv) (any, error) {
		var m map[string]int
		m["boom"]++ // assignment to entry in nil map
		return nil, nil
	})
	cp := c.next(t)
	require.Equal(t, "t1", cp.token)
	var app *temporal.ApplicationError
	require.ErrorAs(t, cp.err, &app)
	require.Equal(t, ErrTypeWaitPanicked, app.Type())
	require.False(t, app.NonRetryable())
	require.Contains(t, app.Error(), "nil map")
	aw.Stop(time.Second)
	require.Zero(t, aw.InFlight())
}

// The waiter's heartbeats go to the server every half heartbeat timeout,
// with its progress as details.
func TestAsyncWaitHeartbeatsWithTheWaitersProgress(t *testing.T) {
	c := newFakeCompleter()
	aw := &AsyncWaits{Completer: c}
	clk := newFakeClock()
	w := &waits{clk: clk}
	var beatsAt []time.Time
	c.hbAnswer = func(int) error { beatsAt = append(beatsAt, clk.Now()); return nil }
	start := clk.Now()
	over := startAsync(t, aw, "t", 20*time.Second, func(ctx context.Context, env waitEnv) (any, error) {
		return w.run(ctx, env, wait{target: "disk d1", policy: DefaultPollPolicy}, func(context.Context, *WaitProgress) (bool, error) {
			return !clk.Now().Before(start.Add(time.Minute)), nil
		})
	})
	bodyEnded(t, over)
	c.next(t)
	beats := c.heartbeats()
	require.Len(t, beats, 6, "one every 10 s of a minute: %v", beatsAt)
	last := start
	for i, b := range beats {
		require.Equal(t, "disk d1", b.Target)
		require.LessOrEqual(t, beatsAt[i].Sub(last), 10*time.Second)
		last = beatsAt[i]
		if i > 0 {
			require.Greater(t, b.Polls, beats[i-1].Polls, "each beat carries the progress since the last")
		}
	}
}

// A heartbeat answered "cancel requested" cancels the body's context, and
// the activity completes as cancelled (the SDK then responds
// RespondActivityTaskCanceled).
func TestAsyncWaitCancelledByTheHeartbeatAnswer(t *testing.T) {
	c := newFakeCompleter()
	c.hbAnswer = func(n int) error {
		if n == 2 {
			return temporal.NewCanceledError()
		}
		return nil
	}
	aw := &AsyncWaits{Completer: c}
	var bodyErr error
	over := startAsync(t, aw, "t", 100*time.Millisecond, func(ctx context.Context, env waitEnv) (any, error) {
		var w waits
		_, bodyErr = w.run(ctx, env, wait{target: "vm v1", policy: DefaultPollPolicy}, func(context.Context, *WaitProgress) (bool, error) {
			return false, nil
		})
		return WaitResult{}, bodyErr
	})
	bodyEnded(t, over)
	require.ErrorIs(t, bodyErr, context.Canceled)
	cp := c.next(t)
	var canceled *temporal.CanceledError
	require.ErrorAs(t, cp.err, &canceled)
	require.Nil(t, cp.result)
	require.Len(t, c.heartbeats(), 2, "no beat after the cancel")
}

// A body that ends with an outcome of its own while the cancel arrives (the
// operation's failure, seen by the poll in flight) completes with that
// outcome, as an activity in place would: the cancel does not hide it.
func TestAsyncWaitOwnOutcomeWinsOverARacingCancel(t *testing.T) {
	c := newFakeCompleter()
	c.hbAnswer = func(int) error { return temporal.NewCanceledError() }
	aw := &AsyncWaits{Completer: c}
	failed := temporal.NewNonRetryableApplicationError("vm v1 failed", ErrTypeOperationFailed, nil)
	over := startAsync(t, aw, "t", 100*time.Millisecond, func(ctx context.Context, env waitEnv) (any, error) {
		env.heartbeat(WaitProgress{Target: "vm v1"})
		<-ctx.Done() // the cancel came in while the last poll was answered
		return WaitResult{}, failed
	})
	bodyEnded(t, over)
	cp := c.next(t)
	require.Same(t, failed, cp.err, "the operation's failure, not a cancel")
}

// A wait still running at its activity's deadline is not completed, with
// whatever outcome it ends: Temporal has timed the activity out, and its
// retry policy takes over.
func TestAsyncWaitPastItsDeadlineIsNotCompleted(t *testing.T) {
	c := newFakeCompleter()
	aw := &AsyncWaits{Completer: c}
	failed := temporal.NewNonRetryableApplicationError("vm v1 failed", ErrTypeOperationFailed, nil)
	over := make(chan struct{})
	w := &asyncWait{token: []byte("t"), deadline: time.Now().Add(50 * time.Millisecond), logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))}
	require.True(t, aw.start(context.Background(), w, waitEnv{}, func(ctx context.Context, _ waitEnv) (any, error) {
		defer close(over)
		<-ctx.Done()
		return WaitResult{}, failed // seen by the poll in flight at the deadline
	}))
	bodyEnded(t, over)
	c.none(t, 200*time.Millisecond)
	require.Zero(t, aw.InFlight())
}

// An activity the server no longer knows (timed out, its run ended) is
// not completed: the wait just stops.
func TestAsyncWaitGoneStopsWithoutCompleting(t *testing.T) {
	c := newFakeCompleter()
	c.hbAnswer = func(int) error { return serviceerror.NewNotFound("workflow execution already completed") }
	aw := &AsyncWaits{Completer: c}
	over := startAsync(t, aw, "t", 100*time.Millisecond, func(ctx context.Context, env waitEnv) (any, error) {
		var w waits
		return w.run(ctx, env, wait{target: "vm v1", policy: DefaultPollPolicy}, func(context.Context, *WaitProgress) (bool, error) {
			return false, nil
		})
	})
	bodyEnded(t, over)
	c.none(t, 200*time.Millisecond)
	require.Zero(t, aw.InFlight())
}

// A server briefly unreachable does not lose the completion.
func TestAsyncWaitRetriesATransientCompletionFailure(t *testing.T) {
	c := newFakeCompleter()
	c.completeAnswer = func(n int) error {
		if n < 3 {
			return serviceerror.NewUnavailable("connection refused")
		}
		return nil
	}
	aw := &AsyncWaits{Completer: c}
	startAsync(t, aw, "t", 0, func(context.Context, waitEnv) (any, error) { return "ok", nil })
	require.Equal(t, "ok", c.next(t).result)
	require.Equal(t, 3, c.completeCalls)
}

// A stopping worker lets a short wait finish, then ends a long one with a
// retryable error saying the worker stopped, and returns once both are over.
func TestAsyncWaitsStopLetsShortWaitsEndAndHandsLongOnesOver(t *testing.T) {
	c := newFakeCompleter()
	aw := &AsyncWaits{Completer: c}
	short := startAsync(t, aw, "short", 0, func(ctx context.Context, _ waitEnv) (any, error) {
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
		return "short done", nil
	})
	long := startAsync(t, aw, "long", 0, func(ctx context.Context, _ waitEnv) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	began := time.Now()
	aw.Stop(500 * time.Millisecond)
	took := time.Since(began)
	require.GreaterOrEqual(t, took, 500*time.Millisecond, "the long wait got the stop timeout")
	require.Less(t, took, 3*time.Second)
	bodyEnded(t, short)
	bodyEnded(t, long)
	got := map[string]completion{}
	for range 2 {
		cp := c.next(t)
		got[cp.token] = cp
	}
	require.Equal(t, "short done", got["short"].result)
	require.NoError(t, got["short"].err)
	app := appError(t, got["long"].err)
	require.Equal(t, ErrTypeWorkerStopped, app.Type())
	require.False(t, app.NonRetryable(), "retried at once, by another worker")
	require.Contains(t, app.Error(), "another worker resumes it")

	// A wait that comes while the worker stops runs in place.
	ok := aw.start(context.Background(), &asyncWait{token: []byte("late")}, waitEnv{}, func(context.Context, waitEnv) (any, error) { return nil, nil })
	require.False(t, ok)
}

// Over the cap, a wait runs in place instead of being refused.
func TestAsyncWaitsCapFallsBackToInPlace(t *testing.T) {
	c := newFakeCompleter()
	aw := &AsyncWaits{Completer: c, Max: 2}
	release := make(chan struct{})
	var overs []<-chan struct{}
	for _, tok := range []string{"a", "b"} {
		overs = append(overs, startAsync(t, aw, tok, 0, func(context.Context, waitEnv) (any, error) {
			<-release
			return nil, nil
		}))
	}
	require.Equal(t, 2, aw.InFlight())
	ok := aw.start(context.Background(), &asyncWait{token: []byte("c")}, waitEnv{}, func(context.Context, waitEnv) (any, error) { return nil, nil })
	require.False(t, ok, "the third wait runs in place")
	close(release)
	for _, o := range overs {
		bodyEnded(t, o)
	}
	c.next(t)
	c.next(t)
	require.Eventually(t, func() bool { return aw.InFlight() == 0 }, time.Second, time.Millisecond)
	require.True(t, aw.start(context.Background(), &asyncWait{token: []byte("d")}, waitEnv{}, func(context.Context, waitEnv) (any, error) { return nil, nil }),
		"below the cap again")
	c.next(t)
}

// No goroutine outlives its wait, whichever way it ended.
func TestAsyncWaitsLeaveNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	c := newFakeCompleter()
	c.hbAnswer = func(n int) error {
		if n%2 == 0 {
			return serviceerror.NewNotFound("gone")
		}
		return temporal.NewCanceledError()
	}
	aw := &AsyncWaits{Completer: c}
	for i := range 50 {
		startAsync(t, aw, "t", 20*time.Millisecond, func(ctx context.Context, env waitEnv) (any, error) {
			if i%3 == 0 {
				return "done", nil
			}
			var w waits
			return w.run(ctx, env, wait{target: "x", policy: DefaultPollPolicy}, func(context.Context, *WaitProgress) (bool, error) {
				return false, nil
			})
		})
	}
	aw.Stop(5 * time.Second)
	require.Zero(t, aw.InFlight())
	// Counted here, not in require.Eventually, which runs its condition in
	// a goroutine of its own.
	for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after:\n%s", before, runtime.NumGoroutine(), allStacks())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Through the Temporal test suite, a wait activity with a completer
// returns ErrResultPending and completes through it, reporting the wait's
// metrics; without one it runs in place, as before.
func TestCrusoeWaitRunsAsyncWithACompleterAndInPlaceWithout(t *testing.T) {
	f := newSim(t, 200*time.Millisecond)
	rec := &waitRecorder{}
	f.acts.Metrics = rec
	env := f.env()
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("a1"))))

	f.acts.Async = &AsyncWaits{}
	wr := waitResult(t, must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: cr.OperationID, Name: "a1", Timeout: time.Minute})))
	require.Equal(t, "operation", wr.Resolution)
	require.Equal(t, WaitSucceeded, rec.take(t).Outcome)

	cr = createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("a2"))))
	c := newFakeCompleter()
	f.acts.Async = &AsyncWaits{Completer: c}
	_, err := env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: cr.OperationID, Name: "a2", Timeout: time.Minute})
	require.ErrorIs(t, err, activity.ErrResultPending)
	cp := c.next(t)
	require.NoError(t, cp.err)
	wr, ok := cp.result.(WaitResult)
	require.True(t, ok, "a WaitResult, not %T", cp.result)
	require.Equal(t, "operation", wr.Resolution)
	require.NotEmpty(t, wr.ResourceID)
	e := rec.take(t)
	require.Equal(t, WaitEnd{Cloud: CloudCrusoe, Kind: KindDisk, Verb: "create", Outcome: WaitSucceeded, Polls: wr.Polls, Duration: e.Duration}, e)

	// An invalid input fails at once, never asynchronously.
	_, err = env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: "nope", Name: "x"})
	require.Error(t, err)
	require.NotErrorIs(t, err, activity.ErrResultPending)
	f.acts.Async.Stop(time.Second)
}

func allStacks() string {
	buf := make([]byte, 1<<16)
	return string(buf[:runtime.Stack(buf, true)])
}
