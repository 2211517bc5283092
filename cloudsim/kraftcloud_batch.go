package cloudsim

import (
	"fmt"
	"net/http"
	"time"
)

// The generic parts of the KraftCloud endpoints. Most endpoints apply one
// operation to each of a list of objects and come in two scopes (see
// kraftCloud): global, "PUT /v1/instances/stop" with a JSON array of items
// (or one item), and local, "PUT /v1/instances/{uuid}/stop" with the object in
// the path and its options in an optional body. kcGlobal and kcLocal read and
// check either form into the same items and answer with what the operation
// (e.g. stopInstances) makes of them; kcEach resolves each item's object.

// kcKind is what the generic endpoints need to know about a kind of object.
type kcKind[T kcObject] struct {
	noun       string // as messages name it: "No <noun> with name '…'"
	collection string // the key of its items in an answer's data
	table      func(*kcState) *kcTable[T]
	// find, when set, replaces the lookup in table (instances retire on
	// lookup, see kraftCloud.instance).
	find func(c *kraftCloud, ref kcRef, now time.Time) (T, bool)
	// sweep: a request on this kind first retires every delete-on-stop
	// instance that has stopped (instances retire on lookup instead).
	sweep bool
}

// kcItem is an item of a per-item endpoint: it embeds the kcRef that names
// its object, next to the operation's options, if any.
type kcItem interface{ target() kcRef }

func (r kcRef) target() kcRef { return r }

// kcCheckItem checks a global-scope item: its object, then its options.
func kcCheckItem(param string, ref *kcRef, opts interface{ check(string) error }) error {
	if err := ref.check(param); err != nil {
		return err
	}
	return opts.check(param)
}

// kcNoOptions is the options of an operation that takes none: a local-scope
// body may only be empty or {}.
type kcNoOptions struct{}

func (kcNoOptions) check(string) error   { return nil }
func (kcNoOptions) item(ref kcRef) kcRef { return ref }

// kcEach applies fn, with the lock held, to the object each item names, and
// answers one result per item. An item whose object is not found, or that a
// fail-operation fault hits, fails without reaching fn.
func kcEach[T kcObject, Q kcItem](c *kraftCloud, r *http.Request, k *kcKind[T], items []Q, fn func(obj T, q Q, now time.Time) any) []any {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.env.now()
	if k.sweep {
		c.sweep(now)
	}
	out := make([]any, len(items))
	for n, q := range items {
		ref := q.target()
		var obj T
		var ok bool
		if k.find != nil {
			obj, ok = k.find(c, ref, now)
		} else {
			obj, ok = k.table(c.st).find(ref)
		}
		if e := c.injected(r, ref, nameOf(obj, ref)); e != nil {
			out[n] = e
			continue
		}
		if !ok {
			out[n] = kcNotFound(k.noun, ref)
			continue
		}
		out[n] = fn(obj, q, now)
	}
	return out
}

// nameOf is the name of the object found, or the one asked for.
func nameOf[T kcObject](found T, ref kcRef) string {
	var zero T
	if any(found) != any(zero) {
		return found.meta().name
	}
	return ref.Name
}

// kcGlobal serves the global scope of a per-item operation: the body is a
// JSON array of items, or one item. Every item is checked (its "[n]" names it
// in errors) before apply runs.
func kcGlobal[Q kcItem, PQ interface {
	*Q
	check(param string) error
}](collection string, apply func(*http.Request, []Q) []any) kcHandler {
	return func(r *http.Request, body []byte) kcReply {
		items, batch, err := kcDecodeItems[Q](body)
		if err != nil {
			return kcInvalid(err)
		}
		for n := range items {
			if err := PQ(&items[n]).check(fmt.Sprintf("[%d]", n)); err != nil {
				return kcInvalid(err)
			}
		}
		return kcReplyFor(batch, collection, apply(r, items))
	}
}

// kcLocal serves the local scope of a per-item operation: the object is in
// the path, and the optional body holds options O, which make the item.
func kcLocal[O any, Q kcItem, PO interface {
	*O
	check(param string) error
	item(ref kcRef) Q
}](collection string, apply func(*http.Request, []Q) []any) kcHandler {
	return func(r *http.Request, body []byte) kcReply {
		var opts O
		ref, err := kcPathRef(r)
		if err == nil {
			err = kcDecodeLocal(body, &opts)
		}
		if err == nil {
			err = PO(&opts).check("")
		}
		if err != nil {
			return kcInvalid(err)
		}
		return kcSingleReply(collection, apply(r, []Q{PO(&opts).item(ref)})[0])
	}
}

// kcListOr serves a GET of a kind: without a body it lists every object by
// UUID and name; with one it is next (the status of the objects asked for).
func kcListOr[T kcObject](c *kraftCloud, k *kcKind[T], next kcHandler) kcHandler {
	return func(r *http.Request, body []byte) kcReply {
		if len(body) > 0 {
			return next(r, body)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.sweep(c.env.now())
		items := []any{}
		for _, v := range k.table(c.st).sorted() {
			m := v.meta()
			items = append(items, kcRefView{UUID: m.uuid, Name: m.name})
		}
		return kcBatchReply(k.collection, items)
	}
}

// kcCreate serves a create that takes one object or an array of them
// (POST /v1/services, POST /v1/volumes). Every item is checked before any is
// created: its optional name, then the rest. Then each takes its name, or a
// fresh one after base, and create makes the object or says why not.
func kcCreate[T kcObject, Q any, PQ interface {
	*Q
	name() *string
	check(param string) error
}](c *kraftCloud, k *kcKind[T], base string, create func(ref kcRef, q Q) any) kcHandler {
	return func(r *http.Request, body []byte) kcReply {
		reqs, batch, err := kcDecodeItems[Q](body)
		if err != nil {
			return kcInvalid(err)
		}
		for n := range reqs {
			p := ""
			if batch {
				p = fmt.Sprintf("[%d]", n)
			}
			q := PQ(&reqs[n])
			if name := q.name(); *name != "" {
				if err := checkKCNameParam(joinParam(p, "name"), name); err != nil {
					return kcInvalid(err)
				}
			}
			if err := q.check(p); err != nil {
				return kcInvalid(err)
			}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		items := make([]any, len(reqs))
		for n, q := range reqs {
			name := *PQ(&q).name()
			if name == "" {
				name = k.table(c.st).freshName(base)
			}
			ref := kcRef{Name: name}
			if e := c.injected(r, ref, name); e != nil {
				items[n] = e
				continue
			}
			items[n] = create(ref, q)
		}
		return kcReplyFor(batch, k.collection, items)
	}
}
