package cloudsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// crusoeOperation is an operation as the Crusoe API renders it.
type crusoeOperation struct {
	CompletedAt string          `json:"completed_at,omitempty"`
	Metadata    json.RawMessage `json:"metadata"`
	OperationID string          `json:"operation_id"`
	Result      json.RawMessage `json:"result"`
	StartedAt   string          `json:"started_at"`
	State       string          `json:"state"`
}

// crusoeOperationEnvelope is the answer of every call that starts an operation.
type crusoeOperationEnvelope struct {
	Operation crusoeOperation `json:"operation"`
}

const (
	crusoeOpInProgress = "IN_PROGRESS"
	crusoeOpSucceeded  = "SUCCEEDED"
	crusoeOpFailed     = "FAILED"
)

var emptyObject = json.RawMessage(`{}`)

func renderCrusoeOp(op *operation) crusoeOperation {
	out := crusoeOperation{
		Metadata: emptyObject, OperationID: op.id, Result: emptyObject,
		StartedAt: ts(op.startedAt), State: crusoeOpInProgress,
	}
	switch op.status {
	case opSucceeded:
		out.State = crusoeOpSucceeded
	case opFailed:
		out.State = crusoeOpFailed
	}
	if op.done() {
		out.CompletedAt = ts(op.doneAt)
		switch res := op.result.(type) {
		case json.RawMessage:
			out.Result = res
		case nil:
		default:
			out.Result = encodeRaw(res)
		}
	}
	return out
}

func newCrusoeOpID() string { return strings.ToUpper(uuid.NewString()) }

// startOp starts an asynchronous operation of a family. succeed applies the
// effect at completion and returns the resource to put in the result (it is
// rendered then, so the result is what GET answered at that moment); rollback
// undoes what the request applied up front when the operation fails.
func (c *crusoeCloud) startOp(r *http.Request, family string, resourceIDs []string, succeed func() (any, *opFailure), rollback func()) crusoeOperationEnvelope {
	op := &operation{
		id: newCrusoeOpID(), family: family, resourceIDs: resourceIDs,
		succeed: func() (any, *opFailure) {
			v, fail := succeed()
			if fail != nil {
				return nil, fail
			}
			if v == nil {
				return emptyObject, nil
			}
			return encodeRaw(v), nil
		},
		rollback: rollback,
	}
	c.ops.start(c.env.now(), op)
	infoOf(r).started(op)
	return crusoeOperationEnvelope{Operation: renderCrusoeOp(op)}
}

// syncOp records an operation that completed within the request (VM RESERVE
// and UNRESERVE): it answers like an asynchronous one, already SUCCEEDED.
func (c *crusoeCloud) syncOp(r *http.Request, family string, resourceIDs []string, result any) crusoeOperationEnvelope {
	op := &operation{id: newCrusoeOpID(), family: family, resourceIDs: resourceIDs}
	c.ops.record(c.env.now(), op, encodeRaw(result))
	if ri := infoOf(r); ri.operationID == "" {
		ri.operationID = op.id
	}
	return crusoeOperationEnvelope{Operation: renderCrusoeOp(op)}
}

// idle wraps a handler that mutates the item its path names (by the path
// value key): while an operation on that item is in progress, the request is
// refused with 409, as NOTES.md says a real cloud may. The caller finds the
// operation in the family's operations list (resource_id, state
// IN_PROGRESS), waits for it, and tries again.
func (c *crusoeCloud) idle(kind, key string, h crusoeHandler) crusoeHandler {
	return func(r *http.Request) (any, error) {
		if err := c.checkIdle(kind, r.PathValue(key)); err != nil {
			return nil, err
		}
		return h(r)
	}
}

// checkIdle is the 409 a mutation of the resource id meets while an
// operation on it (its create, an action, its delete) is in progress. The
// answer does not name the operation: a client must find it itself.
func (c *crusoeCloud) checkIdle(kind, id string) error {
	for _, op := range c.ops.order {
		if op.status == opRunning && slices.Contains(op.resourceIDs, id) {
			return &crusoeError{http.StatusConflict, "operation_in_progress",
				fmt.Sprintf("%s %s has an operation in progress; retry once it completes", kind, id)}
		}
	}
	return nil
}

// registerOperations wires GET <p> and GET <p>/{operation_id} for a family.
func (c *crusoeCloud) registerOperations(h func(method, p string, fn crusoeHandler), p, family string) {
	h("GET", p, func(r *http.Request) (any, error) { return c.listOperations(r, family) })
	h("GET", p+"/{operation_id}", func(r *http.Request) (any, error) { return c.getOperation(r, family) })
}

// listOperations answers the family's operations that are in flight or
// completed but not yet seen in a final state, as the reference describes.
func (c *crusoeCloud) listOperations(r *http.Request, family string) (any, error) {
	q := r.URL.Query()
	resourceIDs := splitQuery(q["resource_id"])
	states := splitQuery(q["state"])
	for _, s := range states {
		if s != crusoeOpInProgress && s != crusoeOpSucceeded && s != crusoeOpFailed {
			return nil, badEnum("state", s, crusoeOpInProgress, crusoeOpSucceeded, crusoeOpFailed)
		}
	}
	var lower time.Time
	if v := q.Get("lower_time_bound"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, badField("lower_time_bound", "must be an RFC 3339 time, not %q", v)
		}
		lower = t
	}
	items := []crusoeOperation{}
	for _, op := range c.ops.list() {
		if op.family != family || (op.done() && op.queried) {
			continue
		}
		if len(resourceIDs) > 0 && !slices.ContainsFunc(op.resourceIDs, func(id string) bool { return slices.Contains(resourceIDs, id) }) {
			continue
		}
		rendered := renderCrusoeOp(op)
		if len(states) > 0 && !slices.Contains(states, rendered.State) {
			continue
		}
		if !lower.IsZero() && op.startedAt.Before(lower) {
			continue
		}
		if op.done() {
			op.queried = true
		}
		items = append(items, rendered)
	}
	return listOf(items), nil
}

// getOperation answers one operation of the family; an unknown or expired
// one, or one of another family, is a 403 as on the real service.
func (c *crusoeCloud) getOperation(r *http.Request, family string) (any, error) {
	id := r.PathValue("operation_id")
	op, ok := c.ops.get(id)
	if !ok {
		op, ok = c.ops.get(strings.ToUpper(id))
	}
	if !ok || op.family != family {
		return nil, &crusoeError{http.StatusForbidden, "permission_denied", "operation " + id + " does not exist, has expired or was not started by this project's " + family}
	}
	if op.done() {
		op.queried = true
	}
	return renderCrusoeOp(op), nil
}

// splitQuery flattens repeated and comma-separated query values.
func splitQuery(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}
