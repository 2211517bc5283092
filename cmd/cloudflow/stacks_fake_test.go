package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/spec"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// fakeStacks is the stack side of the fake runner: it records every
// operation sent and answers each kind as the test says.
type fakeStacks struct {
	sent []sentOp
	// ops answer the operations by kind (plan, apply, approve, discard,
	// destroy, refresh).
	ops map[string]*fakeOp
	// states are what StackState answers, in turn; the last one repeats.
	states   []workflows.StackState
	stateErr error
	// stateHeld holds StackState queries until their context ends, as the
	// server may hold a query while the stack is between tasks.
	stateHeld bool
	// found are the stacks FindStack knows.
	found      []starter.StackRef
	list       []starter.StackSummary
	listStatus []string
	settings   []workflows.StackSettings
}

// sentOp is one operation sent to a stack.
type sentOp struct {
	kind string
	ref  starter.StackRef
	req  any
}

// fakeOp is an operation's answer: Get returns res and err; sendErr fails
// the sending itself; block makes Get wait until its context ends.
type fakeOp struct {
	id      string
	res     workflows.StackOperationResult
	err     error
	sendErr error
	block   bool
	// until, when set, holds Get back until it holds (as a run that
	// ends only after the CLI has seen its progress).
	until func() bool
}

func (o *fakeOp) ID() string { return o.id }

func (o *fakeOp) Get(ctx context.Context) (workflows.StackOperationResult, error) {
	for o.block || (o.until != nil && !o.until()) {
		select {
		case <-ctx.Done():
			return workflows.StackOperationResult{}, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return o.res, o.err
}

// queried counts the progress queries of a workflow ID.
func (r *fakeRunner) queried(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.progressCalls[id]
}

func (r *fakeRunner) op(kind string, res workflows.StackOperationResult, err error) *fakeOp {
	if r.stacks.ops == nil {
		r.stacks.ops = map[string]*fakeOp{}
	}
	o := &fakeOp{id: "update-" + kind, res: res, err: err}
	r.stacks.ops[kind] = o
	return o
}

func (r *fakeRunner) send(kind string, ref starter.StackRef, req any) (stackOp, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stacks.sent = append(r.stacks.sent, sentOp{kind, ref, req})
	o := r.stacks.ops[kind]
	if o == nil {
		o = &fakeOp{id: "update-" + kind}
	}
	if o.sendErr != nil {
		return nil, o.sendErr
	}
	return o, nil
}

// sentKinds lists the kinds of operations sent, in order.
func (r *fakeRunner) sentKinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.stacks.sent {
		out = append(out, s.kind)
	}
	return out
}

func (r *fakeRunner) sentOf(t *testing.T, kind string) sentOp {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.stacks.sent {
		if s.kind == kind {
			return s
		}
	}
	t.Fatalf("no %s was sent (sent: %+v)", kind, r.stacks.sent)
	return sentOp{}
}

func (r *fakeRunner) PlanStack(_ context.Context, req workflows.StackPlanRequest) (stackOp, error) {
	return r.send(workflows.StackUpdatePlan, refOf(req.Spec), req)
}

func (r *fakeRunner) ApplyStack(_ context.Context, req workflows.StackApplyRequest) (stackOp, error) {
	return r.send(workflows.StackUpdateApply, refOf(req.Spec), req)
}

func (r *fakeRunner) ApproveStack(_ context.Context, ref starter.StackRef, req workflows.StackApproveRequest) (stackOp, error) {
	return r.send(workflows.StackUpdateApprove, ref, req)
}

func (r *fakeRunner) DiscardStackPlan(_ context.Context, ref starter.StackRef, req workflows.StackApproveRequest) (stackOp, error) {
	return r.send(workflows.StackUpdateDiscard, ref, req)
}

func (r *fakeRunner) DestroyStack(_ context.Context, ref starter.StackRef, req workflows.StackDestroyRequest) (stackOp, error) {
	return r.send(workflows.StackUpdateDestroy, ref, req)
}

func (r *fakeRunner) RefreshStack(_ context.Context, ref starter.StackRef, req workflows.StackRefreshRequest) (stackOp, error) {
	return r.send(workflows.StackUpdateRefresh, ref, req)
}

func (r *fakeRunner) SetStackSettings(_ context.Context, ref starter.StackRef, settings workflows.StackSettings) (workflows.StackState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stacks.settings = append(r.stacks.settings, settings)
	return workflows.StackState{Provider: ref.Provider, Name: ref.Name, Settings: settings}, nil
}

func (r *fakeRunner) StackState(ctx context.Context, ref starter.StackRef) (workflows.StackState, error) {
	if r.stacks.stateHeld {
		<-ctx.Done()
		return workflows.StackState{}, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stacks.stateErr != nil {
		return workflows.StackState{}, r.stacks.stateErr
	}
	if len(r.stacks.states) == 0 {
		return workflows.StackState{Provider: ref.Provider, Name: ref.Name, Status: workflows.StackNew}, nil
	}
	st := r.stacks.states[0]
	if len(r.stacks.states) > 1 {
		r.stacks.states = r.stacks.states[1:]
	}
	return st, nil
}

func (r *fakeRunner) FindStack(_ context.Context, name, provider string) (starter.StackRef, error) {
	for _, ref := range r.stacks.found {
		if ref.Name == name && (provider == "" || ref.Provider == provider) {
			return ref, nil
		}
	}
	return starter.StackRef{}, &starter.StackNotFoundError{Stack: starter.StackRef{Provider: provider, Name: name}}
}

func (r *fakeRunner) ListStacks(_ context.Context, status string) ([]starter.StackSummary, error) {
	r.stacks.listStatus = append(r.stacks.listStatus, status)
	return r.stacks.list, nil
}

// --- fixtures: the example VM spec's stack ---

var demoRef = starter.StackRef{Provider: workflows.ProviderCrusoe, Name: "demo-vm"}

const demoRun = "stack-crusoe-demo-vm-apply-2"

// demoSpec is examples/crusoe-vm.yaml as its stack's spec.
func demoSpec(t *testing.T) workflows.StackSpec {
	t.Helper()
	s, err := spec.Load(exampleSpec)
	require.NoError(t, err)
	return s.StackSpec()
}

// demoResources are the example's resources, as the stack holds them.
func demoResources() []workflows.StackResource {
	return []workflows.StackResource{
		{Key: "disk/demo-vm-data", Kind: "disk", Name: "demo-vm-data", ID: "disk-1", Ownership: workflows.OwnershipAdopted, State: "ready"},
		{Key: "disk/demo-vm-scratch", Kind: "disk", Name: "demo-vm-scratch", ID: "disk-2", Ownership: workflows.OwnershipCreated, State: "ready"},
		{Key: "vm/demo-vm", Kind: "vm", Name: "demo-vm", ID: "vm-1", Ownership: workflows.OwnershipCreated, State: "STATE_RUNNING",
			Outputs: map[string]string{"privateIPv4": "10.0.0.4", "publicIPv4": "203.0.113.7", "sshDestination": "ubuntu@203.0.113.7"}},
		{Key: "firewall-rule/demo-vm-ssh", Kind: "firewall-rule", Name: "demo-vm-ssh", ID: "fw-1", Ownership: workflows.OwnershipCreated, State: "active"},
	}
}

// changedPlan is a plan of the example with a disk grown and a rule's
// port changed in place, and a destructive replace when destructive.
func changedPlan(t *testing.T, destructive bool) workflows.StackPlan {
	p := workflows.StackPlan{ID: "plan-2", Spec: demoSpec(t), Basis: "basis-1", CreatedAt: t0, Changes: []workflows.PlanChange{
		{Key: "disk/demo-vm-data", Kind: "disk", Name: "demo-vm-data", ID: "disk-1", Action: workflows.ActionUpdate,
			Fields: []workflows.FieldChange{{Field: "size", Old: "10GiB", New: "50GiB"}}},
		{Key: "disk/demo-vm-scratch", Kind: "disk", Name: "demo-vm-scratch", ID: "disk-2", Action: workflows.ActionNoChange},
		{Key: "vm/demo-vm", Kind: "vm", Name: "demo-vm", ID: "vm-1", Action: workflows.ActionUpdate,
			Fields: []workflows.FieldChange{{Field: "type", Old: "c1a.2x", New: "a100.8x"}}, Note: "the vm stops for the type change, then starts again"},
		{Key: "firewall-rule/demo-vm-ssh", Kind: "firewall-rule", Name: "demo-vm-ssh", ID: "fw-1", Action: workflows.ActionUpdate,
			Fields: []workflows.FieldChange{{Field: "destinationPorts", Old: "22", New: "2222"}}},
	}}
	if destructive {
		p.Changes[1] = workflows.PlanChange{Key: "disk/demo-vm-scratch", Kind: "disk", Name: "demo-vm-scratch", ID: "disk-2",
			Action: workflows.ActionReplace, Destructive: true,
			Fields: []workflows.FieldChange{{Field: "type", Old: "persistent-ssd", New: "shared-volume", Replace: true}}}
		p.Changes = append(p.Changes, workflows.PlanChange{Key: "firewall-rule/demo-vm-old", Kind: "firewall-rule",
			Name: "demo-vm-old", ID: "fw-0", Action: workflows.ActionDelete, Destructive: true})
	}
	return p
}

// applyOp is the operation of a run of an apply.
func applyOp(outcome string) workflows.StackOperation {
	return workflows.StackOperation{ID: "apply-2", Kind: workflows.StackUpdateApply, UpdateID: "update-apply",
		Started: t0, Run: demoRun, Finished: t0.Add(time.Minute), Outcome: outcome}
}

// appliedResult is a successful apply of p.
func appliedResult(p workflows.StackPlan) workflows.StackOperationResult {
	var done []workflows.PlanChange
	for _, c := range p.Changes {
		if c.Action != workflows.ActionNoChange {
			done = append(done, c)
		}
	}
	return workflows.StackOperationResult{
		Operation: applyOp(workflows.OutcomeSucceeded), Plan: &p,
		Apply: &workflows.ApplyStackResult{Done: done, Resources: demoResources(), Steps: []workflows.Step{
			{Name: "update disk/demo-vm-data", Kind: "disk", Resource: "demo-vm-data", State: workflows.StepDone, UpdatedAt: t0},
			{Name: "update firewall-rule/demo-vm-ssh", Kind: "firewall-rule", Resource: "demo-vm-ssh", State: workflows.StepDone, UpdatedAt: t0},
		}},
		State: workflows.StackState{Provider: "crusoe", Name: "demo-vm", Status: workflows.StackInSync, Resources: demoResources()},
	}
}

// runningState is the stack while the apply's run goes on.
func runningState() workflows.StackState {
	op := applyOp("")
	op.Finished = time.Time{}
	return workflows.StackState{Provider: "crusoe", Name: "demo-vm", Status: workflows.StackApplying, Operation: &op, Resources: demoResources()}
}
