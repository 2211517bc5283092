package activities

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"
)

// Shared polling: the waits on one worker that one request can answer share
// it. A wait asks for one item (an operation, a task, a job) when its pace
// says so; the asks gathered by the next tick are answered together, by one
// request for a family of items (Crusoe lists a family's operations) or by
// one request per distinct item (CloudMC tasks, container jobs), so two
// waits on one item never cost two requests. Nothing of this is durable: a
// wait that resumes after a crash simply asks again, alone or not.

// gatherWindow is how long a tick waits for other asks to join the first.
const gatherWindow = 2 * time.Millisecond

// sharedFetchTimeout bounds one shared request; each client bounds its
// requests too (10 s).
const sharedFetchTimeout = 30 * time.Second

// answer is what a shared request said of one item: its value, or the error
// that concerns it alone (404: unknown).
type answer[V any] struct {
	v   V
	err error
}

// errNoAnswer is a shared request's answer that left an item out: the wait
// takes it as transient and asks again.
var errNoAnswer = errors.New("the shared poll had no answer for this item")

// sharedPoll serves the asks of one family of items.
type sharedPoll[V any] struct {
	// fetch answers every id, with one request when it can. An error
	// concerns every id.
	fetch func(ctx context.Context, ids []string) (map[string]answer[V], error)
	// every is the least time between fetches on average and burst how
	// many may come at once, so that however many waits ask, the family
	// costs at most one request per every. Zero every: no limit.
	every time.Duration
	burst int

	mu      sync.Mutex
	asks    map[string][]chan answer[V]
	running bool
	tokens  float64
	filled  time.Time
	hold    time.Time // no fetch before this (a Retry-After)
	// fetches counts the ticks, for tests.
	fetches int
}

// ask returns what the next tick learns of the item id.
func (p *sharedPoll[V]) ask(ctx context.Context, id string) (V, error) {
	ch := make(chan answer[V], 1)
	p.mu.Lock()
	if p.asks == nil {
		p.asks = map[string][]chan answer[V]{}
	}
	p.asks[id] = append(p.asks[id], ch)
	if !p.running {
		p.running = true
		go p.loop()
	}
	p.mu.Unlock()
	select {
	case a := <-ch:
		return a.v, a.err
	case <-ctx.Done():
		p.mu.Lock()
		p.asks[id] = slices.DeleteFunc(p.asks[id], func(c chan answer[V]) bool { return c == ch })
		if len(p.asks[id]) == 0 {
			delete(p.asks, id)
		}
		p.mu.Unlock()
		var zero V
		return zero, ctx.Err()
	}
}

// loop runs the ticks while anyone asks.
func (p *sharedPoll[V]) loop() {
	for {
		p.mu.Lock()
		if len(p.asks) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		wait := p.untilAllowed(time.Now())
		p.mu.Unlock()
		time.Sleep(max(wait, gatherWindow))

		p.mu.Lock()
		batch := p.asks
		p.asks = map[string][]chan answer[V]{}
		p.take(time.Now())
		p.fetches++
		p.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		ids := make([]string, 0, len(batch))
		for id := range batch {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		ctx, cancel := context.WithTimeout(context.Background(), sharedFetchTimeout)
		got, err := p.fetch(ctx, ids)
		cancel()
		if ra, transient := transientDelay(err); err != nil && transient && ra > 0 {
			p.mu.Lock()
			p.hold = time.Now().Add(ra)
			p.mu.Unlock()
		}
		for id, chans := range batch {
			a := answer[V]{err: err}
			if err == nil {
				var ok bool
				if a, ok = got[id]; !ok {
					a.err = errNoAnswer
				}
			}
			for _, ch := range chans {
				ch <- a
			}
		}
	}
}

// untilAllowed is how long until the next fetch may go. Callers hold mu.
func (p *sharedPoll[V]) untilAllowed(now time.Time) time.Duration {
	wait := p.hold.Sub(now)
	if p.every <= 0 {
		return wait
	}
	p.refill(now)
	if p.tokens < 1 {
		wait = max(wait, time.Duration((1-p.tokens)*float64(p.every)))
	}
	return wait
}

func (p *sharedPoll[V]) refill(now time.Time) {
	if p.filled.IsZero() {
		p.tokens, p.filled = float64(max(p.burst, 1)), now
		return
	}
	p.tokens = min(float64(max(p.burst, 1)), p.tokens+float64(now.Sub(p.filled))/float64(p.every))
	p.filled = now
}

func (p *sharedPoll[V]) take(now time.Time) {
	if p.every <= 0 {
		return
	}
	p.refill(now)
	p.tokens--
}

// eachOf is the fetch of a family with no request for many items: one
// request per distinct item, a few at a time.
func eachOf[V any](get func(ctx context.Context, id string) (V, error)) func(ctx context.Context, ids []string) (map[string]answer[V], error) {
	const inFlight = 8
	return func(ctx context.Context, ids []string) (map[string]answer[V], error) {
		out := make(map[string]answer[V], len(ids))
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, inFlight)
		for _, id := range ids {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				v, err := get(ctx, id)
				mu.Lock()
				out[id] = answer[V]{v: v, err: err}
				mu.Unlock()
			}()
		}
		wg.Wait()
		return out, nil
	}
}

// pollers holds a cloud's shared polls, one per family, made on first use.
type pollers[V any] struct {
	mu sync.Mutex
	m  map[string]*sharedPoll[V]
}

// of is the shared poll of family, made by make the first time.
func (ps *pollers[V]) of(family string, make func() *sharedPoll[V]) *sharedPoll[V] {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.m == nil {
		ps.m = map[string]*sharedPoll[V]{}
	}
	p, ok := ps.m[family]
	if !ok {
		p = make()
		ps.m[family] = p
	}
	return p
}

// endedItems keeps, for a while, the final state of items a shared request
// saw end, so that a wait that asks later is answered without a request.
// Crusoe lists an ended operation once only: the wait that was not due at
// that tick would otherwise have to fetch it alone.
type endedItems[V any] struct {
	mu sync.Mutex
	m  map[string]ended[V]
}

type ended[V any] struct {
	v  V
	at time.Time
}

// An ended item is kept endedKeep, and endedKept at most.
const (
	endedKeep = 10 * time.Minute
	endedKept = 10000
)

func (e *endedItems[V]) put(id string, v V) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]ended[V]{}
	}
	now := time.Now()
	if len(e.m) >= endedKept {
		for k, x := range e.m {
			if now.Sub(x.at) > endedKeep || len(e.m) >= endedKept {
				delete(e.m, k)
			}
		}
	}
	e.m[strings.ToUpper(id)] = ended[V]{v: v, at: now}
}

func (e *endedItems[V]) get(id string) (V, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[strings.ToUpper(id)]
	if !ok || time.Since(x.at) > endedKeep {
		var zero V
		return zero, false
	}
	return x.v, true
}
