package activities

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
)

// Completer heartbeats and ends activities that returned
// activity.ErrResultPending; the worker's client.Client is one.
type Completer interface {
	RecordActivityHeartbeat(ctx context.Context, taskToken []byte, details ...any) error
	CompleteActivity(ctx context.Context, taskToken []byte, result any, err error) error
}

// DefaultMaxAsyncWaits is how many waits a worker runs asynchronously at
// once unless told otherwise; the waits beyond it hold an activity slot, as
// every wait did before.
const DefaultMaxAsyncWaits = 10000

// ErrTypeWorkerStopped is the type of the retryable error a wait ends with
// when its worker stops before it does: another worker resumes it from its
// last heartbeat.
const ErrTypeWorkerStopped = "WorkerStopped"

// AsyncWaits runs a worker's durable waits off the SDK's activity slots: a
// wait activity checks its input, hands the rest of its body to a goroutine
// of the worker and returns activity.ErrResultPending; the goroutine
// heartbeats and completes the activity through Completer. A waiting
// activity then costs one parked goroutine instead of the SDK's goroutines
// and per-task state. One AsyncWaits is shared by the activities of a
// worker; Stop ends its waits when the worker stops, since the SDK no
// longer knows of them. A nil AsyncWaits, or one without a Completer, runs
// every wait in place, as the Temporal test suite needs.
type AsyncWaits struct {
	Completer Completer
	// Max caps the waits in flight; zero means DefaultMaxAsyncWaits, a
	// negative number none (every wait runs in place). A wait over the cap
	// runs in place rather than being refused.
	Max int

	mu       sync.Mutex
	inflight map[*asyncWait]struct{}
	stopping bool
	wg       sync.WaitGroup
}

// asyncWait is one wait in flight.
type asyncWait struct {
	token    []byte
	deadline time.Time // the activity's: past it, Temporal has timed it out
	logger   log.Logger
	cancel   context.CancelCauseFunc
	// stopped is closed once Stop has given up waiting for the wait: its
	// completion is then tried for stopCompleteTimeout only.
	stopped chan struct{}
}

// Why a wait's context ends early.
var (
	errCancelRequested = errors.New("cancel requested")
	errActivityGone    = errors.New("the activity no longer exists (timed out, or its run ended)")
	errWorkerStopped   = errors.New("worker stopped")
)

const (
	// stopCompleteTimeout bounds the completion of a wait Stop ends.
	stopCompleteTimeout = 5 * time.Second
	rpcBackoffInitial   = 100 * time.Millisecond
	rpcBackoffMax       = 2 * time.Second
)

// waitBody is the rest of a wait activity, run with the waiter's env.
type waitBody[T any] func(ctx context.Context, env waitEnv) (T, error)

// runWait runs body, the rest of a wait activity whose input has been
// checked, asynchronously when aw can take it (returning
// activity.ErrResultPending), else in place.
func runWait[T any](ctx context.Context, aw *AsyncWaits, body waitBody[T]) (T, error) {
	env := activityWaitEnv(ctx)
	if aw.enabled() {
		info := activity.GetInfo(ctx)
		w := &asyncWait{token: info.TaskToken, deadline: info.Deadline, logger: activity.GetLogger(ctx)}
		// The activity's context is cancelled once this returns; its values
		// (the logger) stay usable without it.
		started := aw.start(context.WithoutCancel(ctx), w, env, func(ctx context.Context, env waitEnv) (any, error) {
			return body(ctx, env)
		})
		if started {
			var zero T
			return zero, activity.ErrResultPending
		}
	}
	return body(ctx, env)
}

func (aw *AsyncWaits) enabled() bool {
	return aw != nil && aw.Completer != nil && aw.Max >= 0
}

func (aw *AsyncWaits) limit() int {
	if aw.Max == 0 {
		return DefaultMaxAsyncWaits
	}
	return aw.Max
}

// AsyncWaitsObserver is a Metrics that also counts the waits a worker runs
// asynchronously (a gauge): the SDK's activity slots no longer show them.
type AsyncWaitsObserver interface {
	ObserveAsyncWaits(inFlight func() int)
}

// InFlight is how many waits run asynchronously now.
func (aw *AsyncWaits) InFlight() int {
	aw.mu.Lock()
	defer aw.mu.Unlock()
	return len(aw.inflight)
}

// start runs body in a goroutine for w unless the cap is reached or the
// worker stops. base carries the values of the activity's context but not
// its cancellation.
func (aw *AsyncWaits) start(base context.Context, w *asyncWait, env waitEnv, body func(context.Context, waitEnv) (any, error)) bool {
	if len(w.token) == 0 {
		return false
	}
	aw.mu.Lock()
	defer aw.mu.Unlock()
	if aw.stopping || len(aw.inflight) >= aw.limit() {
		return false
	}
	if aw.inflight == nil {
		aw.inflight = map[*asyncWait]struct{}{}
	}
	ctx, cancel := context.WithCancelCause(base)
	stopTimer := context.CancelFunc(func() {})
	if !w.deadline.IsZero() {
		ctx, stopTimer = context.WithDeadline(ctx, w.deadline)
	}
	w.cancel, w.stopped = cancel, make(chan struct{})
	aw.inflight[w] = struct{}{}
	aw.wg.Add(1)
	// The SDK beats at most every 0.8 heartbeat timeouts, and the waiter
	// asks every half one: beats go straight to the server, so a cancel
	// reaches the wait at least as soon as it did.
	hbTimeout := env.heartbeatTimeout
	env.heartbeat = func(wp WaitProgress) { aw.heartbeat(ctx, w, hbTimeout, wp) }
	go func() {
		defer aw.wg.Done()
		defer func() {
			aw.mu.Lock()
			delete(aw.inflight, w)
			aw.mu.Unlock()
			stopTimer()
			cancel(nil)
		}()
		result, err := runRecovered(ctx, env, w.logger, body)
		aw.finish(ctx, w, result, err)
	}()
	return true
}

// ErrTypeWaitPanicked is the type of the retryable error a wait ends with
// when its body panics: as the SDK does for an activity in place, the
// panic fails the attempt, not the worker.
const ErrTypeWaitPanicked = "WaitPanicked"

// runRecovered runs body, turning a panic into a retryable error.
func runRecovered(ctx context.Context, env waitEnv, logger log.Logger, body func(context.Context, waitEnv) (any, error)) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			logger.Error("wait panicked", "panic", r, "stack", string(debug.Stack()))
			result, err = nil, temporal.NewApplicationError(fmt.Sprintf("the wait panicked: %v", r), ErrTypeWaitPanicked)
		}
	}()
	return body(ctx, env)
}

// heartbeat records wp as w's heartbeat, retrying transient failures for
// up to half a heartbeat timeout (the waiter beats again by then). An
// answer that the activity is cancelled, paused, reset or gone ends the
// wait's context with the reason.
func (aw *AsyncWaits) heartbeat(ctx context.Context, w *asyncWait, hbTimeout time.Duration, wp WaitProgress) {
	rctx, cancel := context.WithTimeout(ctx, max(hbTimeout/2, time.Second))
	defer cancel()
	// The call runs on a goroutine of its own: encoding and sending it
	// takes a deep stack, which would otherwise stay with the parked wait.
	var err error
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		err = retryRPC(rctx, func(ctx context.Context) error {
			return aw.Completer.RecordActivityHeartbeat(ctx, w.token, wp)
		})
	}()
	<-sent
	var canceled *temporal.CanceledError
	switch {
	case err == nil:
	case errors.As(err, &canceled):
		w.cancel(errCancelRequested)
	case isGone(err):
		w.cancel(errActivityGone)
	case errors.Is(err, activity.ErrActivityPaused), errors.Is(err, activity.ErrActivityReset):
		w.cancel(err)
	case ctx.Err() == nil:
		w.logger.Warn("wait heartbeat failed; the next one is tried at its time", "error", err)
	}
}

// finish reports how w's body ended, as the SDK would have: its result or
// error; cancelled on a cancel request; for a stopping worker a retryable
// error, so that another worker resumes the wait at once; nothing when the
// activity is gone or timed out. A body that ended with an outcome of its
// own (the operation failed) as the cancel came reports that outcome: only
// a body the cancel interrupted is reported by why it was cancelled.
func (aw *AsyncWaits) finish(ctx context.Context, w *asyncWait, result any, err error) {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return // past the activity's deadline: Temporal has timed it out
	}
	deadline := w.deadline
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, errCancelRequested):
			result, err = nil, temporal.NewCanceledError()
		case errors.Is(cause, errWorkerStopped):
			result, err = nil, temporal.NewApplicationError(
				"the worker stopped before the wait ended; another worker resumes it from its last heartbeat", ErrTypeWorkerStopped)
		case errors.Is(cause, errActivityGone):
			return
		case errors.Is(cause, activity.ErrActivityPaused), errors.Is(cause, activity.ErrActivityReset):
			result, err = nil, cause
		}
	}
	select {
	case <-w.stopped:
		if d := time.Now().Add(stopCompleteTimeout); deadline.IsZero() || d.Before(deadline) {
			deadline = d
		}
	default:
	}
	cctx := context.WithoutCancel(ctx)
	cancel := context.CancelFunc(func() {})
	if !deadline.IsZero() {
		cctx, cancel = context.WithDeadline(cctx, deadline)
	}
	defer cancel()
	if cerr := retryRPC(cctx, func(ctx context.Context) error {
		return aw.Completer.CompleteActivity(ctx, w.token, result, err)
	}); cerr != nil && !isGone(cerr) {
		w.logger.Error("could not complete the wait; Temporal times it out and retries it", "error", cerr)
	}
}

// Stop ends the waits in flight when the worker stops: new waits run in
// place from now on (the SDK worker gives them its stop timeout); those in
// flight get timeout to end, and any still running then is ended with a
// retryable ErrTypeWorkerStopped error. It returns once every wait is over.
func (aw *AsyncWaits) Stop(timeout time.Duration) {
	if aw == nil {
		return
	}
	aw.mu.Lock()
	aw.stopping = true
	aw.mu.Unlock()
	done := make(chan struct{})
	go func() {
		aw.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	aw.mu.Lock()
	for w := range aw.inflight {
		select {
		case <-w.stopped: // an earlier Stop
		default:
			close(w.stopped)
		}
		w.cancel(errWorkerStopped)
	}
	aw.mu.Unlock()
	<-done
}

// retryRPC calls f until it succeeds, fails for good, or ctx ends, backing
// off between transient failures (the server unreachable or overloaded).
func retryRPC(ctx context.Context, f func(context.Context) error) error {
	backoff := rpcBackoffInitial
	for {
		err := f(ctx)
		if err == nil || !transientRPC(err) || ctx.Err() != nil {
			return err
		}
		if sleep(ctx, backoff) != nil {
			return err
		}
		backoff = min(2*backoff, rpcBackoffMax)
	}
}

// transientRPC says whether a failed call to the Temporal server is worth
// another try.
func transientRPC(err error) bool {
	var (
		unavailable *serviceerror.Unavailable
		deadline    *serviceerror.DeadlineExceeded
		exhausted   *serviceerror.ResourceExhausted
		aborted     *serviceerror.Aborted
		internal    *serviceerror.Internal
		nsUnavail   *serviceerror.NamespaceUnavailable
	)
	return errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.As(err, &exhausted) ||
		errors.As(err, &aborted) || errors.As(err, &internal) || errors.As(err, &nsUnavail) ||
		errors.Is(err, context.DeadlineExceeded)
}

// isGone: the activity no longer exists (it timed out, its run ended), as
// the SDK takes these answers to a heartbeat.
func isGone(err error) bool {
	var (
		notFound   *serviceerror.NotFound
		nsNotFound *serviceerror.NamespaceNotFound
		nsInactive *serviceerror.NamespaceNotActive
	)
	return errors.As(err, &notFound) || errors.As(err, &nsNotFound) || errors.As(err, &nsInactive)
}
