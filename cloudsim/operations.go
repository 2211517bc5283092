package cloudsim

import (
	"context"
	"net/http"
	"sort"
	"time"
)

// opStatus is where an asynchronous operation stands; each cloud renders it
// in its own words (IN_PROGRESS/SUCCEEDED/FAILED for Crusoe).
type opStatus int

const (
	opRunning opStatus = iota
	opSucceeded
	opFailed
)

// opFailure is why an operation failed, as the clouds render it.
type opFailure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// operation is one asynchronous operation of a cloud. It completes lazily:
// the cloud calls opClock.settle with the current time before it reads or
// changes its state, and every operation due by then completes, in due order.
type operation struct {
	id          string
	family      string   // the operations path that serves it, e.g. "vms"
	resourceIDs []string // what it acts on
	status      opStatus
	startedAt   time.Time
	dueAt       time.Time
	doneAt      time.Time
	// result is what the operation yields: the resource on success, an
	// *opFailure on failure.
	result any
	// inject, when set, makes the operation fail at completion (fail-operation fault).
	inject *opFailure
	// queried records that a client saw the operation in a final state.
	queried bool
	seq     uint64

	// succeed applies the operation's effect and returns its result, or a
	// failure when the effect cannot be applied any more.
	succeed func() (any, *opFailure)
	// rollback undoes what the request applied up front (a resource in a
	// transitional state, a disk attachment); it runs when the operation fails.
	rollback func()
}

func (op *operation) done() bool { return op.status != opRunning }

// opClock holds the asynchronous operations of one cloud. It is not safe for
// concurrent use: the cloud guards it with its own mutex.
type opClock struct {
	latency time.Duration
	expiry  time.Duration // how long a completed operation stays readable
	ops     map[string]*operation
	order   []*operation // start order
	seq     uint64
}

func newOpClock(latency, expiry time.Duration) *opClock {
	return &opClock{latency: latency, expiry: expiry, ops: map[string]*operation{}}
}

// start registers op as running from now, due after the clock's latency.
func (c *opClock) start(now time.Time, op *operation) {
	c.seq++
	op.seq = c.seq
	op.status = opRunning
	op.startedAt = now
	op.dueAt = now.Add(c.latency)
	c.ops[op.id] = op
	c.order = append(c.order, op)
}

// record registers an operation that completed synchronously.
func (c *opClock) record(now time.Time, op *operation, result any) {
	c.start(now, op)
	op.dueAt = now
	op.doneAt = now
	op.status = opSucceeded
	op.result = result
}

// settle completes every running operation due by now, earliest first, and
// forgets completed operations older than the expiry.
func (c *opClock) settle(now time.Time) {
	var due []*operation
	for _, op := range c.order {
		if op.status == opRunning && !op.dueAt.After(now) {
			due = append(due, op)
		}
	}
	sort.SliceStable(due, func(i, j int) bool {
		if !due[i].dueAt.Equal(due[j].dueAt) {
			return due[i].dueAt.Before(due[j].dueAt)
		}
		return due[i].seq < due[j].seq
	})
	for _, op := range due {
		c.complete(op)
	}
	if c.expiry > 0 {
		kept := c.order[:0]
		for _, op := range c.order {
			if op.done() && now.Sub(op.doneAt) > c.expiry {
				delete(c.ops, op.id)
				continue
			}
			kept = append(kept, op)
		}
		for i := len(kept); i < len(c.order); i++ {
			c.order[i] = nil
		}
		c.order = kept
	}
}

func (c *opClock) complete(op *operation) {
	op.doneAt = op.dueAt
	fail := op.inject
	var result any
	if fail == nil && op.succeed != nil {
		result, fail = op.succeed()
	}
	if fail != nil {
		if op.rollback != nil {
			op.rollback()
		}
		op.status = opFailed
		op.result = fail
		return
	}
	op.status = opSucceeded
	op.result = result
}

// get returns a known, unexpired operation.
func (c *opClock) get(id string) (*operation, bool) {
	op, ok := c.ops[id]
	return op, ok
}

// list returns the operations in start order.
func (c *opClock) list() []*operation {
	return append([]*operation(nil), c.order...)
}

func (c *opClock) reset() {
	c.ops = map[string]*operation{}
	c.order = nil
}

// requestInfo travels in a request's context from the fault and journal
// middleware to the cloud handler and back.
type requestInfo struct {
	failOp      *opFailure // from a fail-operation fault
	failOpUsed  bool
	operationID string // the first operation the request started
}

type requestInfoKey struct{}

func withRequestInfo(ctx context.Context, ri *requestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

// infoOf returns the request's info; a request that did not pass through the
// Server's middleware gets a fresh one, so handlers never check for nil.
func infoOf(r *http.Request) *requestInfo {
	if ri, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// started notes that the request started op, and hands op the injected
// failure when a fail-operation fault applies to the request.
func (ri *requestInfo) started(op *operation) {
	if ri.operationID == "" {
		ri.operationID = op.id
	}
	if ri.failOp != nil {
		f := *ri.failOp
		op.inject = &f
		ri.failOpUsed = true
	}
}
