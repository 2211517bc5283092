package activities

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/cloudflow/cloudflow/clients/crusoe"
)

// Crusoe operations are polled per family: one list of a family's
// operations (GET .../operations) holds every one in flight and each ended
// one until it has been read once, so one list per tick answers every wait
// of the family on this worker. An operation the list no longer shows
// (another client read its end first, or it expired) is read alone, as
// before.

// crusoeListEvery is the least time between two lists of one family, on
// average: however many operations are waited on, a family costs at most
// eight requests a second. crusoeListBurst lets the few dense polls around
// one operation's expected end go at once.
const (
	crusoeListEvery = 125 * time.Millisecond
	crusoeListBurst = 4
)

// crusoeOps is the shared polling of Crusoe operations.
type crusoeOps struct {
	polls pollers[*crusoe.Operation]
	ended endedItems[*crusoe.Operation]

	mu      sync.Mutex
	watched map[string]int // operations being waited on, by upper-case ID
}

// watch notes that a wait on the operation id runs until the returned func
// is called: an end a list shows meanwhile is kept for it.
func (o *crusoeOps) watch(id string) (unwatch func()) {
	key := strings.ToUpper(id)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.watched == nil {
		o.watched = map[string]int{}
	}
	o.watched[key]++
	return func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.watched[key]--; o.watched[key] <= 0 {
			delete(o.watched, key)
		}
	}
}

func (o *crusoeOps) isWatched(id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.watched[strings.ToUpper(id)] > 0
}

// operation is the state of an operation of a family, as the family's next
// shared list (or the memory of an earlier one) shows it.
func (a *CrusoeActivities) operation(ctx context.Context, projectID string, family crusoe.Family, id string) (*crusoe.Operation, error) {
	if op, ok := a.ops.ended.get(id); ok {
		return op, nil
	}
	p := a.ops.polls.of(projectID+"|"+string(family), func() *sharedPoll[*crusoe.Operation] {
		return &sharedPoll[*crusoe.Operation]{
			every: crusoeListEvery, burst: crusoeListBurst,
			fetch: func(ctx context.Context, ids []string) (map[string]answer[*crusoe.Operation], error) {
				return a.listOperations(ctx, projectID, family, ids)
			},
		}
	})
	return p.ask(ctx, id)
}

// listOperations answers ids with one list of the family; those it does
// not show are read one by one. Ended operations this worker waits on or
// started are kept for the waits that ask later.
func (a *CrusoeActivities) listOperations(ctx context.Context, projectID string, family crusoe.Family, ids []string) (map[string]answer[*crusoe.Operation], error) {
	ops, err := a.Client.Operations.List(ctx, projectID, family, nil)
	if err != nil {
		return nil, err
	}
	listed := make(map[string]*crusoe.Operation, len(ops))
	for i := range ops {
		op := &ops[i]
		listed[strings.ToUpper(op.OperationID)] = op
		if op.Done() && (a.ops.isWatched(op.OperationID) || !a.waits.since(op.OperationID).IsZero()) {
			a.ops.ended.put(op.OperationID, op)
		}
	}
	out := make(map[string]answer[*crusoe.Operation], len(ids))
	for _, id := range ids {
		if op, ok := listed[strings.ToUpper(id)]; ok {
			if op.Done() {
				a.ops.ended.put(id, op)
			}
			out[id] = answer[*crusoe.Operation]{v: op}
			continue
		}
		if op, ok := a.ops.ended.get(id); ok {
			out[id] = answer[*crusoe.Operation]{v: op}
			continue
		}
		op, err := a.Client.Operations.Get(ctx, projectID, family, id)
		if err == nil && op.Done() {
			a.ops.ended.put(id, op)
		}
		out[id] = answer[*crusoe.Operation]{v: op, err: err}
	}
	return out, nil
}

// parseCloudTime reads a cloud's RFC 3339 timestamp; zero when there is none.
func parseCloudTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
