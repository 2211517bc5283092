package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/cloudflow/cloudflow/activities"
)

// desiredResource is one resource a spec asks for, described in the
// canonical fields a plan compares with what the cloud reports.
type desiredResource struct {
	Key  string
	Kind string
	Name string
	// Attrs are the fields the cloud reports back, in canonical form.
	Attrs map[string]string
	// WriteOnly are digests of fields the cloud never reports back: they
	// are compared with the digests the stack kept when it applied them.
	WriteOnly map[string]string
	// Deps are the keys of the resources this one needs first.
	Deps []string
}

// fieldRule says how the cloud changes one field.
type fieldRule struct {
	// InPlace: the cloud changes it without replacing the resource.
	InPlace bool
	// Destructive, when set, says whether a change from old to new loses
	// data (a shrink): the change is then a replace of a kind a plain
	// --auto-approve may not make.
	Destructive func(old, new string) bool
	// Note says what an in-place change implies ("the vm stops").
	Note string
}

// kindRules are the field rules of one resource kind. A field with no rule
// cannot be changed in place: a change to it replaces the resource.
type kindRules map[string]fieldRule

// planInput is everything a plan is made from.
type planInput struct {
	id       string
	spec     StackSpec
	desired  []desiredResource
	rules    func(kind string) kindRules
	state    *StackState
	observed map[string]activities.Observed
}

// makePlan compares the spec's resources, the stack's and the cloud's, and
// says for each what an apply would do. It is pure: the same inputs give
// the same plan, in the spec's dependency order, then the stack's
// resources that left the spec, dependents first.
func makePlan(in planInput) StackPlan {
	p := StackPlan{ID: in.id, Spec: in.spec}
	wanted := map[string]bool{}
	for _, d := range in.desired {
		wanted[d.Key] = true
		cur, owned := in.state.Resource(d.Key)
		obs := in.observed[d.Key]
		c := PlanChange{Key: d.Key, Kind: d.Kind, Name: d.Name, ID: obs.ID}
		switch {
		case !obs.Found:
			c.Action = ActionCreate
			if owned {
				c.Note = "deleted outside cloudflow"
			}
		case !owned || (cur.ID != "" && obs.ID != cur.ID):
			c.Action = ActionAdopt
			if owned {
				c.Note = fmt.Sprintf("the stack's %s %s is gone; another resource has its name", d.Kind, cur.ID)
			}
			c.Fields = diffFields(d, obs, StackResource{}, in.rules(d.Kind))
			c.Destructive = anyReplace(c.Fields) // an adopted resource is never replaced quietly
			if c.Destructive {
				c.Note = joinNotes(c.Note, "fields the cloud cannot change in place differ: it would have to be replaced")
			}
		default:
			c.Fields = diffFields(d, obs, cur, in.rules(d.Kind))
			switch {
			case len(c.Fields) == 0:
				c.Action = ActionNoChange
			case anyReplace(c.Fields):
				c.Action, c.Destructive = ActionReplace, true
			default:
				c.Action = ActionUpdate
				c.Note = notes(c.Fields, in.rules(d.Kind))
			}
			for _, f := range c.Fields {
				if f.Destructive {
					c.Destructive = true
				}
			}
		}
		p.Changes = append(p.Changes, c)
	}
	// What left the spec: created resources are deleted, adopted ones
	// released. Dependents go first: the reverse of the stack's order.
	for i := len(in.state.Resources) - 1; i >= 0; i-- {
		r := in.state.Resources[i]
		if wanted[r.Key] {
			continue
		}
		c := PlanChange{Key: r.Key, Kind: r.Kind, Name: r.Name, ID: r.ID}
		obs, seen := in.observed[r.Key]
		switch {
		case r.Ownership != OwnershipCreated:
			c.Action, c.Note = ActionRelease, "adopted: left in the cloud"
		case seen && !obs.Found:
			c.Action, c.Note = ActionRelease, "already gone"
		default:
			c.Action, c.Destructive = ActionDelete, true
		}
		p.Changes = append(p.Changes, c)
	}
	p.Basis = basis(in.observed)
	return p
}

// diffFields lists the fields whose observed (or, for write-only fields,
// last applied) value differs from the spec's, in field order.
func diffFields(d desiredResource, obs activities.Observed, cur StackResource, rules kindRules) []FieldChange {
	var out []FieldChange
	for _, f := range sortedKeys(d.Attrs) {
		old, want := obs.Attrs[f], d.Attrs[f]
		if old == want {
			continue
		}
		out = append(out, fieldChange(f, old, want, rules))
	}
	for _, f := range sortedKeys(d.WriteOnly) {
		old, ok := cur.Applied[f]
		if !ok || old == d.WriteOnly[f] {
			continue // never applied by the stack (adopted), or unchanged
		}
		fc := fieldChange(f, "(digest "+old+")", "(digest "+d.WriteOnly[f]+")", rules)
		out = append(out, fc)
	}
	return out
}

func fieldChange(f, old, want string, rules kindRules) FieldChange {
	r, ok := rules[f]
	fc := FieldChange{Field: f, Old: old, New: want, Replace: !ok || !r.InPlace}
	if ok && r.Destructive != nil && r.Destructive(old, want) {
		fc.Destructive, fc.Replace = true, true
	}
	return fc
}

func anyReplace(fs []FieldChange) bool {
	for _, f := range fs {
		if f.Replace {
			return true
		}
	}
	return false
}

func notes(fs []FieldChange, rules kindRules) string {
	var out string
	for _, f := range fs {
		if n := rules[f.Field].Note; n != "" && !strings.Contains(out, n) {
			out = joinNotes(out, n)
		}
	}
	return out
}

func joinNotes(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// basis digests what a plan was made against: each resource's key, whether
// it was found, its ID and its observed fields.
func basis(observed map[string]activities.Observed) string {
	h := sha256.New()
	for _, k := range sortedKeys(observed) {
		o := observed[k]
		fmt.Fprintf(h, "%s|%t|%s\n", k, o.Found, o.ID)
		for _, f := range sortedKeys(o.Attrs) {
			fmt.Fprintf(h, "  %s=%s\n", f, o.Attrs[f])
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// basisChanges says, for a stale plan, which resources changed since it was
// made: those whose observation differs between the two.
func basisChanges(before, after map[string]activities.Observed) []string {
	var out []string
	for _, k := range sortedKeys(after) {
		if basis(map[string]activities.Observed{k: before[k]}) != basis(map[string]activities.Observed{k: after[k]}) {
			out = append(out, k)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// resourceKey is a stack's key for a resource.
func resourceKey(kind, name string) string { return kind + "/" + name }
