package activities

import (
	"context"
	"sync"
	"time"
)

// The waiter's pacing: when to poll an operation next. For an operation of a
// kind the worker has seen end before, it sleeps until just before the
// expected end and polls densely around it; for any other it backs off from
// PollPolicy.Initial, as it always did.

// Bounds of the dense step around an expected end: a fiftieth of the
// expected duration, so that an operation is noticed within about 2% of its
// length (1% on average), and never more than a quarter second late.
const (
	stepDivisor = 50
	minStep     = 10 * time.Millisecond
	maxStep     = 250 * time.Millisecond
)

// denseAfter is how many dense steps past the expected latest end the waiter
// keeps polling before it falls back to backing off.
const denseAfter = 2

// samplesKept is how many durations of one kind the worker remembers.
const samplesKept = 8

// Expectation is a span of an operation's duration, counted from when it
// began: it was still in progress Lo after, and over by Hi. One wait learns
// one such span; the worker expects the next operation of the kind to end
// within the span all the latest ones agree on.
type Expectation struct {
	Lo time.Duration `json:"lo"`
	Hi time.Duration `json:"hi"`
}

func (s Expectation) valid() bool { return s.Hi > 0 && s.Lo < s.Hi }

// intersect narrows s to what o also allows; ok is false when they disagree.
func (s Expectation) intersect(o Expectation) (Expectation, bool) {
	r := Expectation{Lo: max(s.Lo, o.Lo), Hi: min(s.Hi, o.Hi)}
	return r, r.Lo < r.Hi
}

// baseStep is the dense polling step of an operation expected to end by
// s.Hi: a fiftieth of that, within minStep and maxStep.
func (s Expectation) baseStep() time.Duration {
	return min(max(s.Hi/stepDivisor, minStep), maxStep)
}

// step is the dense polling step for an operation expected to end within s.
func (s Expectation) step() time.Duration {
	// A wide span is covered in at most three steps: more polls would buy
	// little, since the span narrows with every wait.
	return max(s.baseStep(), (s.Hi-s.Lo)/3)
}

// durations is what the worker learned of how long operations take, by
// kind ("crusoe/vm/create"). It lives in the worker's memory only: a new
// worker learns again, and a wait resumed elsewhere carries its own
// expectation in its heartbeat details (WaitProgress.Expect).
type durations struct {
	mu     sync.Mutex
	byKind map[string][]Expectation // oldest first, at most samplesKept
}

// learn records what a wait saw of one operation of kind.
func (d *durations) learn(kind string, s Expectation) {
	if kind == "" || !s.valid() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.byKind == nil {
		d.byKind = map[string][]Expectation{}
	}
	ss := append(d.byKind[kind], s)
	if len(ss) > samplesKept {
		ss = ss[len(ss)-samplesKept:]
	}
	d.byKind[kind] = ss
}

// expect is when an operation of kind should end: the span every one of the
// latest durations agrees with. Older durations that disagree are dropped
// from the estimate, so a cloud that changes pace is followed at once.
func (d *durations) expect(kind string) (Expectation, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ss := d.byKind[kind]
	if len(ss) == 0 {
		return Expectation{}, false
	}
	agreed := ss[len(ss)-1]
	for i := len(ss) - 2; i >= 0; i-- {
		n, ok := agreed.intersect(ss[i])
		if !ok {
			break
		}
		agreed = n
	}
	return agreed, true
}

// opStarts remembers when this worker saw operations begin (the answer to
// the call that started each one), so that the wait for one, which usually
// runs on the same worker a few milliseconds later, counts from there.
type opStarts struct {
	mu    sync.Mutex
	at    map[string]time.Time
	order []string // oldest first
}

// opStartsKept bounds the book: the oldest entries go first.
const opStartsKept = 20000

func (b *opStarts) note(id string, t time.Time) {
	if id == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.at == nil {
		b.at = map[string]time.Time{}
	}
	if _, ok := b.at[id]; !ok {
		b.order = append(b.order, id)
	}
	b.at[id] = t
	if n := len(b.order) - opStartsKept; n > 0 {
		for _, old := range b.order[:n] {
			delete(b.at, old)
		}
		b.order = append([]string(nil), b.order[n:]...)
	}
}

func (b *opStarts) lookup(id string) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.at[id]
	return t, ok
}

// clock is the waiter's time: the real one, or a fake in tests.
type clock interface {
	Now() time.Time
	// Sleep returns after d, or early with ctx's error.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// nextPoll is the offset, from the operation's beginning, of the next poll
// of an operation expected to end within exp, given the last one (a
// negative last: no poll yet); ok is false once the dense polls are spent,
// and the waiter backs off from there.
//
// A span wider than two dense steps is walked a step at a time, from its
// start to a little past its end. A narrower one (the cloud keeps its pace)
// is bisected: a poll in its middle, then one at its end, so that every
// wait halves what the next one expects and the operation is noticed
// within half the span; past the end, each poll looks three times as far
// as the last, from the span's width (at least minStep) to the dense
// window's end.
func nextPoll(exp Expectation, last time.Duration) (time.Duration, bool) {
	st := exp.step()
	end := exp.Hi + denseAfter*st
	w := exp.Hi - exp.Lo
	if w <= 2*exp.baseStep() {
		// The middle, however narrow the span: a wait that looks only
		// at the end learns no lower bound, and the span would widen
		// again as the waits that taught one are forgotten.
		if mid := exp.Lo + w/2; last < mid {
			return mid, true
		}
		if last < exp.Hi-time.Millisecond {
			return exp.Hi, true
		}
		n := last + max(w, minStep, 2*(last-exp.Hi))
		return n, n <= end
	}
	if last < exp.Lo {
		return exp.Lo, true
	}
	n := last + st
	if n > end {
		return 0, false
	}
	return n, true
}
