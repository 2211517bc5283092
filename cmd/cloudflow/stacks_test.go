package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// --- plan ---

// A plan lists each resource's change, the fields old → new, notes and
// destructive changes, and exits 10 when changes are pending, 0 in sync.
func TestPlanShowsEachChangeAndExitsTenWhenPending(t *testing.T) {
	c := newCLI(t)
	c.fake.op(workflows.StackUpdatePlan, workflows.StackOperationResult{Plan: ptr(changedPlan(t, true))}, nil)
	require.Equal(t, exitChangesPending, c.run("plan", "-f", exampleSpec), c.errOut.String())
	sent := c.fake.sentOf(t, workflows.StackUpdatePlan)
	assert.Equal(t, demoRef, sent.ref)
	assert.Equal(t, workflows.StackPlanRequest{Spec: demoSpec(t), IfBusy: workflows.IfBusyWait}, sent.req)
	out := c.out.String()
	assert.Contains(t, out, "Plan plan-2 for stack crusoe/demo-vm (spec "+exampleSpec+"):")
	assert.Regexp(t, `  ~ update\s+disk/demo-vm-data\s+disk-1\n\s+size: 10GiB → 50GiB\n`, out)
	assert.Regexp(t, `  ~ update\s+firewall-rule/demo-vm-ssh\s+fw-1\n\s+destinationPorts: 22 → 2222\n`, out)
	assert.Regexp(t, `  ~ update\s+vm/demo-vm\s+vm-1\n\s+type: c1a.2x → a100.8x\n\s+note: the vm stops for the type change, then starts again\n`, out)
	assert.Regexp(t, `-/\+ replace\s+disk/demo-vm-scratch\s+disk-2\s+DESTRUCTIVE\n\s+type: persistent-ssd → shared-volume \(cannot change in place: replaced\)`, out)
	assert.Regexp(t, `  - delete\s+firewall-rule/demo-vm-old\s+fw-0\s+DESTRUCTIVE`, out)
	assert.Contains(t, out, "Plan: 3 to update in place, 1 to replace, 1 to delete.")
	assert.Contains(t, out, "DESTRUCTIVE: 2 changes (disk/demo-vm-scratch, firewall-rule/demo-vm-old) replace, delete or shrink what exists.")
	assert.Empty(t, c.errOut.String(), "changes pending is an outcome, not an error")

	inSync := workflows.StackPlan{ID: "plan-3", Changes: []workflows.PlanChange{{Key: "vm/demo-vm", Action: workflows.ActionNoChange, ID: "vm-1"}}}
	c = newCLI(t)
	c.fake.op(workflows.StackUpdatePlan, workflows.StackOperationResult{Plan: &inSync}, nil)
	require.Equal(t, exitOK, c.run("plan", "-f", exampleSpec))
	assert.Regexp(t, `  = no change\s+vm/demo-vm\s+vm-1`, c.out.String())
	assert.Contains(t, c.out.String(), "No changes: the cloud matches the spec.")

	c = newCLI(t)
	c.fake.op(workflows.StackUpdatePlan, workflows.StackOperationResult{Plan: ptr(changedPlan(t, false))}, nil)
	require.Equal(t, exitChangesPending, c.run("plan", "-f", exampleSpec, "--json"))
	var res workflows.StackOperationResult
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &res), "stdout holds the JSON only:\n%s", c.out.String())
	assert.Equal(t, workflows.ActionUpdate, res.Plan.Changes[0].Action)
	assert.Equal(t, []workflows.FieldChange{{Field: "size", Old: "10GiB", New: "50GiB"}}, res.Plan.Changes[0].Fields)
}

func TestPlanSaveSaysHowToApproveAndDiscard(t *testing.T) {
	c := newCLI(t)
	c.fake.op(workflows.StackUpdatePlan, workflows.StackOperationResult{Plan: ptr(changedPlan(t, false))}, nil)
	require.Equal(t, exitChangesPending, c.run("plan", "-f", exampleSpec, "--save", "--if-busy", "fail"))
	req := c.fake.sentOf(t, workflows.StackUpdatePlan).req.(workflows.StackPlanRequest)
	assert.True(t, req.Save)
	assert.Equal(t, workflows.IfBusyFail, req.IfBusy)
	out := c.out.String()
	assert.Contains(t, out, "Saved plan-2 in stack crusoe/demo-vm: it waits for approval.")
	assert.Contains(t, out, "approve it: cloudflow stacks approve demo-vm --provider crusoe --plan plan-2 --wait")
	assert.Contains(t, out, "discard it: cloudflow stacks discard demo-vm --provider crusoe")
}

// A plan or an apply of an invalid spec names the field and starts
// nothing: not even the stack (Temporal is not dialled).
func TestStackCommandsRefuseBadInputBeforeAnything(t *testing.T) {
	bad := writeFile(t, "bad.yaml", badSpec)
	other := writeFile(t, "other.yaml", "provider: aws\nvm: {name: x}\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "-f", bad}, `disks[0].size: "10GB" is not a size`},
		{[]string{"apply", "-f", bad, "--auto-approve"}, `disks[1].name: "data" is used by disks[0] too`},
		{[]string{"destroy", "-f", bad}, "has 2 problems; nothing was started"},
		{[]string{"plan", "-f", other}, `provider: "aws" is not a supported provider; use one of crusoe, cloudmc, kraftcloud or openvz (line 1)`},
		{[]string{"plan"}, `required flag(s) "file" not set`},
		{[]string{"plan", "-f", exampleSpec, "--if-busy", "later"}, `--if-busy "later": want wait`},
		{[]string{"apply", "-f", exampleSpec}, "pass --auto-approve"},
		{[]string{"apply", "-f", exampleSpec, "--auto-approve", "--timeout", "1m"}, "--timeout only applies with --wait"},
		{[]string{"destroy"}, "say which stack: destroy -f SPEC, or destroy NAME"},
		{[]string{"destroy", "web", "-f", exampleSpec}, "give -f SPEC or NAME, not both"},
		{[]string{"destroy", "-f", exampleSpec, "--provider", "crusoe"}, "--provider goes with NAME"},
		{[]string{"destroy", "web", "--provider", "aws"}, `--provider "aws" is not one of crusoe, cloudmc, kraftcloud, openvz`},
		{[]string{"stacks", "list", "--status", "broken"}, `--status "broken" is not a stack status`},
		{[]string{"stacks", "show", "web", "-o", "xml"}, `-o "xml": want text, json or yaml`},
		{[]string{"stacks", "show"}, "missing NAME argument"},
		{[]string{"stacks", "set", "web"}, "say what to set"},
		{[]string{"stacks", "set", "web", "--refresh", "maybe"}, `--refresh "maybe": want on or off`},
		{[]string{"stacks", "set", "web", "--refresh", "off", "--refresh-interval", "1h"}, "drop --refresh-interval"},
		{[]string{"stacks", "set", "web", "--refresh-interval", "10ms"}, "--refresh-interval 10ms is too short: at least 100ms"},
		{[]string{"output"}, "missing NAME argument"},
		{[]string{"output", "a", "b", "c"}, "too many arguments"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c := newCLI(t)
			assert.Equal(t, exitUsage, c.run(tc.args...), c.errOut.String())
			assert.Contains(t, c.errOut.String(), tc.want)
			assert.Empty(t, c.dials, "nothing is dialled, so no stack is started")
			assert.Empty(t, c.out.String())
		})
	}
}

// A stack held by another operation, with --if-busy fail, exits 5 naming
// the holder.
func TestBusyStackExitsFive(t *testing.T) {
	busy := &starter.StackError{Stack: demoRef, Type: workflows.ErrTypeStackBusy,
		Message: "stack crusoe/demo-vm is busy: operation apply-4 (apply, update u-1) holds it since 2025-01-02T11:59:00Z"}
	for _, args := range [][]string{
		{"plan", "-f", exampleSpec, "--if-busy", "fail"},
		{"apply", "-f", exampleSpec, "--auto-approve", "--if-busy", "fail"},
		{"vm", "provision", "-f", exampleSpec, "--if-busy", "fail"},
	} {
		c := newCLI(t)
		for _, kind := range []string{workflows.StackUpdatePlan, workflows.StackUpdateApply} {
			c.fake.op(kind, workflows.StackOperationResult{}, busy)
		}
		assert.Equal(t, exitBusy, c.run(args...), strings.Join(args, " "))
		assert.Contains(t, c.errOut.String(), "error: stack crusoe/demo-vm is busy: operation apply-4")
		assert.Contains(t, c.errOut.String(), "--if-busy wait")
	}
	// A run already in progress is busy too.
	c := newCLI(t)
	c.fake.startErr = &starter.AlreadyRunningError{WorkflowID: "crusoe-vm-bulk-create-batch"}
	assert.Equal(t, exitBusy, c.run("vm", "bulk-create", "--name-prefix", "batch", "--count", "2", "--template", "t"))
	assert.Contains(t, c.errOut.String(), "is already in progress (workflow crusoe-vm-bulk-create-batch)")
}

// --- apply ---

// progress of the demo apply: the ApplyStack run's steps, and those of
// its provisioning child while it runs.
func demoApplyProgress(c *cli) {
	c.fake.progressOf = map[string]workflows.Progress{
		demoRun: {Workflow: workflows.ApplyStackWorkflowName, Phase: workflows.PhaseRunning, Steps: []workflows.Step{
			{Name: "provision demo-vm", Kind: "provision", Resource: "demo-vm", State: workflows.StepRunning, UpdatedAt: t0},
			{Name: "update disk/demo-vm-data", Kind: "disk", Resource: "demo-vm-data", State: workflows.StepPending, UpdatedAt: t0},
		}},
		demoRun + "-ProvisionVM": {Workflow: workflows.ProvisionVMWorkflowName, Phase: workflows.PhaseRunning, Steps: []workflows.Step{
			{Name: "disk/demo-vm-scratch", Kind: "disk", Resource: "demo-vm-scratch", State: workflows.StepRunning, OperationID: "op-7", UpdatedAt: t0},
		}},
	}
}

// childSeen holds an apply back until the CLI has asked its provisioning
// child for its progress.
func childSeen(c *cli) func() bool {
	return func() bool { return c.fake.queried(demoRun+"-ProvisionVM") > 0 }
}

// On a terminal, apply shows the plan, asks, and applies exactly it (its
// basis), following the run and its provisioning child, then says what was
// done and prints the outputs.
func TestApplyAsksOnATerminalAndAppliesThePlanShown(t *testing.T) {
	c := newCLI(t)
	c.f.IO.InTTY = true
	c.f.IO.In = strings.NewReader("y\n")
	c.fake.op(workflows.StackUpdatePlan, workflows.StackOperationResult{Plan: ptr(changedPlan(t, true))}, nil)
	c.fake.op(workflows.StackUpdateApply, appliedResult(changedPlan(t, true)), nil).until = childSeen(c)
	c.fake.stacks.states = []workflows.StackState{runningState()}
	demoApplyProgress(c)
	require.Equal(t, exitOK, c.run("apply", "-f", exampleSpec, "--poll-interval", "10ms"), c.errOut.String())
	assert.Equal(t, []string{"plan", "apply"}, c.fake.sentKinds())
	req := c.fake.sentOf(t, workflows.StackUpdateApply).req.(workflows.StackApplyRequest)
	assert.Equal(t, "basis-1", req.Basis, "the apply carries the basis of the plan shown")
	assert.True(t, req.AllowDestroy, "the destructive changes were shown and approved")
	out := c.out.String()
	assert.Contains(t, out, "-/+ replace")
	assert.Contains(t, out, "Apply these changes, 2 changes DESTRUCTIVE? [y/N] ")
	assert.Contains(t, out, "provision demo-vm running\n")
	assert.Contains(t, out, "  disk/demo-vm-scratch running op=op-7\n", "the provisioning child's steps show under its step")
	assert.Contains(t, out, "Applied plan-2 to stack crusoe/demo-vm (apply-2, run "+demoRun+").")
	assert.Regexp(t, `~ updated\s+disk/demo-vm-data\s+disk-1\s+size 10GiB → 50GiB`, out)
	assert.Regexp(t, `- deleted\s+firewall-rule/demo-vm-old\s+fw-0`, out)
	assert.Regexp(t, `vm/demo-vm\s+sshDestination\s+ubuntu@203.0.113.7`, out)
	assert.Regexp(t, `vm/demo-vm\s+privateIPv4\s+10.0.0.4`, out)

	// No: nothing is applied.
	c = newCLI(t)
	c.f.IO.InTTY = true
	c.f.IO.In = strings.NewReader("\n")
	c.fake.op(workflows.StackUpdatePlan, workflows.StackOperationResult{Plan: ptr(changedPlan(t, false))}, nil)
	require.Equal(t, exitFailed, c.run("apply", "-f", exampleSpec))
	assert.Equal(t, []string{"plan"}, c.fake.sentKinds())
	assert.Contains(t, c.out.String(), "Apply these changes? [y/N] Apply cancelled; nothing changed.")

	// In sync: nothing to ask.
	c = newCLI(t)
	c.f.IO.InTTY = true
	c.fake.op(workflows.StackUpdatePlan, workflows.StackOperationResult{Plan: &workflows.StackPlan{ID: "plan-1"}}, nil)
	require.Equal(t, exitOK, c.run("apply", "-f", exampleSpec))
	assert.Equal(t, []string{"plan"}, c.fake.sentKinds())
	assert.Contains(t, c.out.String(), "Stack crusoe/demo-vm is in sync: nothing to do.")
	assert.NotContains(t, c.out.String(), "[y/N]")

	// The cloud changed since the plan was shown: the stack refuses.
	c = newCLI(t)
	c.f.IO.InTTY = true
	c.f.IO.In = strings.NewReader("yes\n")
	c.fake.op(workflows.StackUpdatePlan, workflows.StackOperationResult{Plan: ptr(changedPlan(t, false))}, nil)
	c.fake.op(workflows.StackUpdateApply, workflows.StackOperationResult{}, &starter.StackError{Stack: demoRef, Type: workflows.ErrTypeStackRefused,
		Message: "the cloud changed since the plan was shown: plan again", Plan: ptr(changedPlan(t, false))})
	require.Equal(t, exitFailed, c.run("apply", "-f", exampleSpec))
	assert.Contains(t, c.out.String(), "Not applied to stack crusoe/demo-vm: the cloud changed since the plan was shown: plan again")
	assert.Contains(t, c.out.String(), "Nothing changed.")
}

// Without a terminal to ask on, apply needs --auto-approve; --json too.
func TestApplyWithoutATerminalNeedsAutoApprove(t *testing.T) {
	c := newCLI(t)
	assert.Equal(t, exitUsage, c.run("apply", "-f", exampleSpec, "--wait"))
	assert.Contains(t, c.errOut.String(), "standard input is not a terminal to ask on: pass --auto-approve")
	assert.Contains(t, c.errOut.String(), "cloudflow plan -f SPEC --save")
	assert.Empty(t, c.dials)

	c = newCLI(t)
	c.f.IO.InTTY = true
	assert.Equal(t, exitUsage, c.run("apply", "-f", exampleSpec, "--json"))
	assert.Contains(t, c.errOut.String(), "--json is for scripts")
	assert.Empty(t, c.dials)
}

// --auto-approve never applies a destructive change without
// --allow-destroy: the refused plan is printed with how to go on.
func TestAutoApproveRefusesDestructiveChanges(t *testing.T) {
	refused := &starter.StackError{Stack: demoRef, Type: workflows.ErrTypeStackRefused,
		Message: "the plan replaces, deletes or shrinks disk/demo-vm-scratch, firewall-rule/demo-vm-old: apply it with --allow-destroy, or save it for approval (cloudflow plan --save)",
		Plan:    ptr(changedPlan(t, true))}
	c := newCLI(t)
	c.fake.op(workflows.StackUpdateApply, workflows.StackOperationResult{}, refused)
	require.Equal(t, exitFailed, c.run("apply", "-f", exampleSpec, "--auto-approve", "--wait"))
	assert.False(t, c.fake.sentOf(t, workflows.StackUpdateApply).req.(workflows.StackApplyRequest).AllowDestroy)
	out := c.out.String()
	assert.Contains(t, out, "Not applied to stack crusoe/demo-vm: the plan replaces, deletes or shrinks")
	assert.Regexp(t, `-/\+ replace\s+disk/demo-vm-scratch\s+disk-2\s+DESTRUCTIVE`, out)
	assert.Regexp(t, `  - delete\s+firewall-rule/demo-vm-old\s+fw-0\s+DESTRUCTIVE`, out)
	assert.NotContains(t, out, "disk/demo-vm-data", "only the destructive changes are listed")
	assert.Contains(t, out, "Apply it with --allow-destroy too, or save it for review: cloudflow plan -f "+exampleSpec+" --save")
	assert.Contains(t, c.errOut.String(), "error: stack crusoe/demo-vm refused the operation; nothing changed")

	c = newCLI(t)
	c.fake.op(workflows.StackUpdateApply, workflows.StackOperationResult{}, refused)
	require.Equal(t, exitFailed, c.run("apply", "-f", exampleSpec, "--auto-approve", "--wait", "--json"))
	var res workflows.StackOperationResult
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &res))
	assert.Equal(t, workflows.OutcomeRefused, res.Operation.Outcome)
	assert.Len(t, res.Plan.Destructive(), 2)

	// vm provision says to use apply --allow-destroy.
	c = newCLI(t)
	c.fake.op(workflows.StackUpdateApply, workflows.StackOperationResult{}, refused)
	require.Equal(t, exitFailed, c.run("vm", "provision", "-f", exampleSpec, "--wait"))
	assert.Contains(t, c.out.String(), "'cloudflow vm provision' makes no destructive change. Review the plan: cloudflow plan -f "+exampleSpec)
	assert.Contains(t, c.out.String(), "Then apply it: cloudflow apply -f "+exampleSpec+" --allow-destroy")

	c = newCLI(t)
	c.fake.op(workflows.StackUpdateApply, appliedResult(changedPlan(t, true)), nil)
	require.Equal(t, exitOK, c.run("apply", "-f", exampleSpec, "--auto-approve", "--allow-destroy", "--wait"), c.errOut.String())
	assert.True(t, c.fake.sentOf(t, workflows.StackUpdateApply).req.(workflows.StackApplyRequest).AllowDestroy)
	assert.Contains(t, c.out.String(), "Applied plan-2 to stack crusoe/demo-vm")
}

// Without --wait, an apply returns once its run has started, naming it.
func TestApplyWithoutWaitReturnsOnceTheRunStarts(t *testing.T) {
	for _, args := range [][]string{
		{"apply", "-f", exampleSpec, "--auto-approve", "--poll-interval", "10ms"},
		{"vm", "provision", "-f", exampleSpec, "--poll-interval", "10ms"},
	} {
		c := newCLI(t)
		c.fake.op(workflows.StackUpdateApply, workflows.StackOperationResult{}, nil).block = true
		c.fake.stacks.states = []workflows.StackState{{Provider: "crusoe", Name: "demo-vm", Status: workflows.StackInSync}, runningState()}
		require.Equal(t, exitOK, c.run(args...), c.errOut.String())
		out := c.out.String()
		assert.Contains(t, out, "Applying to stack crusoe/demo-vm (apply-2, run "+demoRun+"): it goes on in Temporal.")
		assert.Contains(t, out, "watch it:       cloudflow runs watch "+demoRun)
		assert.True(t, c.fake.closed)
	}

	c := newCLI(t)
	c.fake.op(workflows.StackUpdateApply, workflows.StackOperationResult{}, nil).block = true
	c.fake.stacks.states = []workflows.StackState{runningState()}
	require.Equal(t, exitOK, c.run("vm", "provision", "-f", exampleSpec, "--json"), c.errOut.String())
	var res workflows.StackOperationResult
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &res))
	assert.Equal(t, demoRun, res.Operation.Run)
	assert.Empty(t, res.Operation.Outcome, "still running")
	assert.Equal(t, workflows.StackApplying, res.State.Status)

	// An apply with nothing to do ends before it needs a run.
	c = newCLI(t)
	c.fake.op(workflows.StackUpdateApply, workflows.StackOperationResult{
		Operation: workflows.StackOperation{ID: "apply-3", Kind: "apply", Outcome: "succeeded"},
		Plan:      &workflows.StackPlan{ID: "plan-3", Changes: []workflows.PlanChange{{Key: "vm/demo-vm", Action: workflows.ActionNoChange}}},
		State:     workflows.StackState{Resources: demoResources()},
	}, nil)
	require.Equal(t, exitOK, c.run("vm", "provision", "-f", exampleSpec))
	assert.Contains(t, c.out.String(), "Stack crusoe/demo-vm is in sync: nothing to do.")
	assert.Regexp(t, `vm/demo-vm\s+publicIPv4\s+203.0.113.7`, c.out.String())
}

// Waiting past --timeout (or Ctrl-C) exits 3: the operation goes on in the
// stack, and the command says how to follow it.
func TestApplyWaitStopsWaitingWithExitThree(t *testing.T) {
	c := newCLI(t)
	c.fake.op(workflows.StackUpdateApply, workflows.StackOperationResult{}, nil).block = true
	c.fake.stacks.states = []workflows.StackState{runningState()}
	demoApplyProgress(c)
	require.Equal(t, exitPending, c.run("vm", "provision", "-f", exampleSpec, "--wait", "--timeout", "100ms", "--poll-interval", "10ms"))
	assert.Contains(t, c.errOut.String(), "timed out after 100ms waiting for the operation on stack crusoe/demo-vm; it goes on in the stack")
	assert.Contains(t, c.errOut.String(), "cloudflow runs watch "+demoRun)

	c = newCLI(t)
	c.fake.op(workflows.StackUpdateApply, workflows.StackOperationResult{}, nil).block = true
	c.f.NotifyContext = func(ctx context.Context) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(20*time.Millisecond, cancel) // as if Ctrl-C were pressed
		return ctx, cancel
	}
	require.Equal(t, exitPending, c.run("apply", "-f", exampleSpec, "--auto-approve", "--wait"))
	assert.Contains(t, c.errOut.String(), "stopped waiting for the operation on stack crusoe/demo-vm")
	assert.Contains(t, c.errOut.String(), "cloudflow stacks show demo-vm --provider crusoe")
}

// As --timeout comes, the server may give up on the operation's update a
// moment before the CLI's own deadline: that is the wait ending (exit 3, the
// operation goes on), never the operation failing.
func TestApplyWaitEndsWhenTheServerGivesUpAtTheDeadline(t *testing.T) {
	c := newCLI(t)
	c.fake.op(workflows.StackUpdateApply, workflows.StackOperationResult{}, serviceerror.NewDeadlineExceeded("context deadline exceeded"))
	c.fake.stacks.states = []workflows.StackState{runningState()}
	demoApplyProgress(c)
	require.Equal(t, exitPending, c.run("vm", "provision", "-f", exampleSpec, "--wait", "--timeout", "1h", "--poll-interval", "10ms"))
	assert.Contains(t, c.errOut.String(), "timed out after 1h0m0s waiting for the operation on stack crusoe/demo-vm; it goes on in the stack")
}

// A state query the server holds back does not hold the result: the
// operation's end ends the wait. Before, the CLI sat in the held query
// until it timed out (10 s against the dev server, here the --timeout).
func TestApplyEndsWhenTheOperationDoesThoughAQueryIsHeld(t *testing.T) {
	c := newCLI(t)
	began := time.Now()
	c.fake.op(workflows.StackUpdateApply, appliedResult(changedPlan(t, false)), nil).until = func() bool {
		return time.Since(began) > 100*time.Millisecond
	}
	c.fake.stacks.stateHeld = true
	require.Equal(t, exitOK, c.run("vm", "provision", "-f", exampleSpec, "--wait", "--timeout", "30s", "--poll-interval", "10ms"), c.errOut.String())
	assert.Less(t, time.Since(began), 10*time.Second)
	assert.Contains(t, c.out.String(), "Applied plan-2")
}

// A failed apply says what it did, what failed, what was undone and what
// is left, by name and ID.
func TestApplyFailureSaysWhatIsLeft(t *testing.T) {
	res := workflows.StackOperationResult{
		Operation: applyOp(workflows.OutcomeFailed),
		Plan:      ptr(changedPlan(t, false)),
		Apply: &workflows.ApplyStackResult{
			Done:      []workflows.PlanChange{changedPlan(t, false).Changes[0]},
			Failed:    []workflows.PlanFailure{{Key: "firewall-rule/demo-vm-ssh", Error: "update firewall rule: 409 conflict"}},
			Undone:    []string{"disk/demo-vm-new"},
			NotUndone: []workflows.UndoFailure{{Kind: "disk", Name: "demo-vm-extra", ID: "disk-9", Error: "delete disk: 500"}},
		},
		State: workflows.StackState{Resources: demoResources()},
	}
	c := newCLI(t)
	c.fake.op(workflows.StackUpdateApply, workflows.StackOperationResult{}, &starter.StackError{Stack: demoRef,
		Type: workflows.ErrTypeStackApplyFailed, Message: "apply of stack crusoe/demo-vm failed: 1 change(s) failed", Result: &res})
	require.Equal(t, exitFailed, c.run("apply", "-f", exampleSpec, "--auto-approve", "--wait"))
	out := c.out.String()
	assert.Contains(t, out, "Apply of stack crusoe/demo-vm failed (apply-2, run "+demoRun+").")
	assert.Regexp(t, `Done before the failure:\n\s+~ updated\s+disk/demo-vm-data\s+disk-1\s+size 10GiB → 50GiB`, out)
	assert.Regexp(t, `Failed:\n\s+firewall-rule/demo-vm-ssh\s+update firewall rule: 409 conflict`, out)
	assert.Contains(t, out, "undone: disk/demo-vm-new")
	assert.Regexp(t, `Could NOT be undone.*\n.*\n\s+disk\s+demo-vm-extra\s+disk-9\s+delete disk: 500`, out)
	assert.Contains(t, out, "The stack keeps owning what is left (cloudflow stacks show demo-vm --provider crusoe)")
	assert.Equal(t, "error: apply of stack crusoe/demo-vm failed: 1 change(s) failed\n", c.errOut.String())
}

// A live table on a terminal, with the provisioning child's steps.
func TestApplyLiveTableOnTerminal(t *testing.T) {
	c := newCLI(t)
	c.f.IO.OutTTY = true
	c.f.IO.Width = func() int { return 100 }
	c.fake.op(workflows.StackUpdateApply, appliedResult(changedPlan(t, false)), nil).until = childSeen(c)
	c.fake.stacks.states = []workflows.StackState{runningState()}
	demoApplyProgress(c)
	require.Equal(t, exitOK, c.run("vm", "provision", "-f", exampleSpec, "--wait", "--poll-interval", "10ms"), c.errOut.String())
	out := c.out.String()
	assert.Contains(t, out, "\x1b[2K", "lines are cleared and redrawn")
	assert.Contains(t, out, "ApplyStack "+demoRun)
	assert.Regexp(t, `running\s+provision demo-vm`, stripANSI(out))
	assert.Regexp(t, `running\s+disk/demo-vm-scratch\s+-\s+op-7`, stripANSI(out), "the child's step, with its operation")
	assert.Contains(t, out, "Applied plan-2")
	for _, line := range strings.Split(out, "\n") {
		assert.LessOrEqual(t, len([]rune(stripANSI(line))), 100, "a line wider than the terminal breaks the redraw: %q", line)
	}
}

// --- destroy ---

func destroyedResult() workflows.StackOperationResult {
	del := func(key, id string) workflows.PlanChange {
		kind, name, _ := strings.Cut(key, "/")
		return workflows.PlanChange{Key: key, Kind: kind, Name: name, ID: id, Action: workflows.ActionDelete, Destructive: true}
	}
	kept := workflows.PlanChange{Key: "disk/demo-vm-data", Kind: "disk", Name: "demo-vm-data", ID: "disk-1", Action: workflows.ActionRelease, Note: "adopted: left in the cloud"}
	changes := []workflows.PlanChange{del("firewall-rule/demo-vm-ssh", "fw-1"), del("vm/demo-vm", "vm-1"), del("disk/demo-vm-scratch", "disk-2"), kept}
	return workflows.StackOperationResult{
		Operation: workflows.StackOperation{ID: "destroy-5", Kind: workflows.StackUpdateDestroy, Run: "stack-crusoe-demo-vm-destroy-5", Outcome: "succeeded"},
		Plan:      &workflows.StackPlan{ID: "destroy-5", Changes: changes},
		Apply:     &workflows.ApplyStackResult{Done: changes},
		State:     workflows.StackState{Provider: "crusoe", Name: "demo-vm", Status: workflows.StackDestroyed},
	}
}

// Deprovision and destroy delete what the stack created and keep what it
// adopted, saying which; without a stack they delete nothing (exit 6).
func TestDestroyDeletesWhatTheStackMadeAndKeepsWhatItAdopted(t *testing.T) {
	for _, args := range [][]string{
		{"vm", "deprovision", "-f", exampleSpec, "--wait"},
		{"destroy", "-f", exampleSpec, "--wait"},
		{"destroy", "demo-vm", "--wait"},
		{"destroy", "demo-vm", "--provider", "crusoe", "--wait"},
	} {
		c := newCLI(t)
		c.fake.stacks.found = []starter.StackRef{{Provider: "openvz", Name: "demo-vm"}, demoRef}
		if len(args) == 3 { // NAME alone: only the Crusoe stack has it
			c.fake.stacks.found = []starter.StackRef{demoRef}
		}
		c.fake.op(workflows.StackUpdateDestroy, destroyedResult(), nil)
		require.Equal(t, exitOK, c.run(args...), c.errOut.String())
		sent := c.fake.sentOf(t, workflows.StackUpdateDestroy)
		assert.Equal(t, demoRef, sent.ref)
		assert.Equal(t, workflows.StackDestroyRequest{IfBusy: workflows.IfBusyWait}, sent.req)
		out := c.out.String()
		assert.Contains(t, out, "Destroyed stack crusoe/demo-vm (destroy-5, run stack-crusoe-demo-vm-destroy-5).")
		assert.Regexp(t, `- deleted\s+vm/demo-vm\s+vm-1`, out)
		assert.Regexp(t, `- deleted\s+firewall-rule/demo-vm-ssh\s+fw-1`, out)
		assert.Regexp(t, `< kept\s+disk/demo-vm-data\s+disk-1\s+adopted: left in the cloud`, out)
	}

	c := newCLI(t)
	c.fake.stacks.found = []starter.StackRef{demoRef}
	c.fake.op(workflows.StackUpdateDestroy, destroyedResult(), nil)
	require.Equal(t, exitOK, c.run("destroy", "demo-vm", "--include-adopted", "--if-busy", "fail", "--json"), c.errOut.String())
	assert.Equal(t, workflows.StackDestroyRequest{IncludeAdopted: true, IfBusy: workflows.IfBusyFail}, c.fake.sentOf(t, workflows.StackUpdateDestroy).req)
	var res workflows.StackOperationResult
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &res))
	assert.Equal(t, "destroy-5", res.Operation.ID)

	for _, args := range [][]string{
		{"vm", "deprovision", "-f", exampleSpec},
		{"destroy", "demo-vm", "--wait"},
		{"destroy", "demo-vm", "--provider", "cloudmc"},
	} {
		c := newCLI(t)
		if args[0] == "destroy" && len(args) == 4 {
			c.fake.stacks.found = []starter.StackRef{demoRef} // a Crusoe one, not a CloudMC one
		}
		require.Equal(t, exitNotFound, c.run(args...), strings.Join(args, " "))
		assert.Contains(t, c.errOut.String(), "error: no stack ")
		assert.Contains(t, c.errOut.String(), "nothing changed")
		assert.Contains(t, c.errOut.String(), "cloudflow deletes only what a stack created")
		assert.Empty(t, c.fake.sentKinds(), "nothing was sent to any stack")
		assert.Empty(t, c.out.String())
	}
}

// --- stacks ---

func TestStacksList(t *testing.T) {
	since := time.Date(2025, 1, 2, 11, 0, 0, 0, time.Local)
	c := newCLI(t)
	c.fake.stacks.list = []starter.StackSummary{
		{StackRef: demoRef, Status: workflows.StackDrifted, Resources: []string{"demo-vm", "demo-vm-data"}, Since: since},
		{StackRef: starter.StackRef{Provider: "openvz", Name: "ct100"}, Status: workflows.StackInSync, Since: since},
	}
	require.Equal(t, exitOK, c.run("stacks", "list", "--status", "drifted"))
	assert.Equal(t, []string{"drifted"}, c.fake.stacks.listStatus)
	out := c.out.String()
	assert.Regexp(t, `PROVIDER\s+NAME\s+STATUS\s+RESOURCES\s+SINCE`, out)
	assert.Regexp(t, `crusoe\s+demo-vm\s+drifted\s+demo-vm,demo-vm-data\s+2025-01-02 11:00:00`, out)
	assert.Regexp(t, `openvz\s+ct100\s+in-sync\s+-\s+2025-01-02`, out)

	c = newCLI(t)
	require.Equal(t, exitOK, c.run("stacks", "ls", "--json"))
	assert.Equal(t, "[]\n", c.out.String())
	c = newCLI(t)
	require.Equal(t, exitOK, c.run("stacks", "list"))
	assert.Contains(t, c.errOut.String(), "No stacks found.")
}

// showState is a stack with an adopted disk, outputs, drift and a saved plan.
func showState(t *testing.T) workflows.StackState {
	sp := demoSpec(t)
	last := applyOp(workflows.OutcomeSucceeded)
	return workflows.StackState{
		Provider: "crusoe", Name: "demo-vm", Status: workflows.StackAwaitingApproval, Spec: &sp,
		Resources: demoResources(), LastOperation: &last, LastRefresh: t0,
		Drift: []workflows.PlanChange{{Key: "firewall-rule/demo-vm-ssh", Kind: "firewall-rule", Name: "demo-vm-ssh",
			Action: workflows.ActionCreate, Note: "deleted outside cloudflow"},
			{Key: "disk/demo-vm-data", ID: "disk-1", Action: workflows.ActionUpdate, Fields: []workflows.FieldChange{{Field: "size", Old: "20GiB", New: "10GiB"}}}},
		PendingPlan: ptr(changedPlan(t, false)),
	}
}

func TestStacksShow(t *testing.T) {
	c := newCLI(t)
	c.fake.stacks.found = []starter.StackRef{demoRef}
	c.fake.stacks.states = []workflows.StackState{showState(t)}
	require.Equal(t, exitOK, c.run("stacks", "show", "demo-vm"), c.errOut.String())
	out := c.out.String()
	assert.Regexp(t, `Stack:\s+crusoe/demo-vm`, out)
	assert.Regexp(t, `Status:\s+awaiting-approval`, out)
	assert.Regexp(t, `Spec:\s+`+exampleSpec, out)
	assert.Regexp(t, `Drift refresh:\s+every 1h0m0s, last 2025-01-02 12:00:01`, out)
	assert.Regexp(t, `Last operation:\s+apply-2 succeeded`, out)
	assert.Regexp(t, `RESOURCE\s+OWNERSHIP\s+ID\s+STATE`, out)
	assert.Regexp(t, `disk/demo-vm-data\s+adopted\s+disk-1\s+ready`, out)
	assert.Regexp(t, `vm/demo-vm\s+created\s+vm-1\s+STATE_RUNNING`, out)
	assert.Regexp(t, `vm/demo-vm\s+sshDestination\s+ubuntu@203.0.113.7`, out)
	assert.Regexp(t, `Drift:.*\n\s+\+ create\s+firewall-rule/demo-vm-ssh\s*\n\s+note: deleted outside cloudflow\n`, out)
	assert.Regexp(t, `~ update\s+disk/demo-vm-data\s+disk-1\n\s+size: 20GiB → 10GiB`, out)
	assert.Contains(t, out, "Saved plan plan-2")
	assert.Contains(t, out, "approve it: cloudflow stacks approve demo-vm --provider crusoe --plan plan-2")

	c = newCLI(t)
	c.fake.stacks.found = []starter.StackRef{demoRef}
	c.fake.stacks.states = []workflows.StackState{showState(t)}
	require.Equal(t, exitOK, c.run("stacks", "show", "demo-vm", "--provider", "crusoe", "-o", "json"))
	var st workflows.StackState
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &st))
	vm, ok := st.Resource("vm/demo-vm")
	require.True(t, ok)
	assert.Equal(t, "ubuntu@203.0.113.7", vm.Outputs["sshDestination"])

	c = newCLI(t)
	c.fake.stacks.found = []starter.StackRef{demoRef}
	c.fake.stacks.states = []workflows.StackState{showState(t)}
	require.Equal(t, exitOK, c.run("stacks", "show", "demo-vm", "-o", "yaml"))
	assert.Contains(t, c.out.String(), "ownership: adopted\n")
	assert.Contains(t, c.out.String(), "sshDestination: ubuntu@203.0.113.7\n")

	c = newCLI(t)
	require.Equal(t, exitNotFound, c.run("stacks", "show", "nope"))
	assert.Contains(t, c.errOut.String(), `no stack named "nope" (see `+"`cloudflow stacks list`)")
}

// Approval applies the saved plan; without one (or of another ID) nothing
// is sent and the command exits 6.
func TestStacksApprove(t *testing.T) {
	c := newCLI(t)
	c.fake.stacks.found = []starter.StackRef{demoRef}
	c.fake.stacks.states = []workflows.StackState{showState(t), runningState()}
	res := appliedResult(changedPlan(t, false))
	res.Operation.Kind, res.Operation.UpdateID = workflows.StackUpdateApprove, "update-approve"
	c.fake.op(workflows.StackUpdateApprove, res, nil)
	require.Equal(t, exitOK, c.run("stacks", "approve", "demo-vm", "--plan", "plan-2", "--wait"), c.errOut.String())
	sent := c.fake.sentOf(t, workflows.StackUpdateApprove)
	assert.Equal(t, demoRef, sent.ref)
	assert.Equal(t, workflows.StackApproveRequest{PlanID: "plan-2", IfBusy: workflows.IfBusyWait}, sent.req)
	assert.Contains(t, c.out.String(), "Applied plan-2 to stack crusoe/demo-vm")

	for _, tc := range []struct {
		args  []string
		state workflows.StackState
		want  string
	}{
		{[]string{"stacks", "approve", "demo-vm"}, workflows.StackState{Provider: "crusoe", Name: "demo-vm"}, "stack crusoe/demo-vm has no saved plan; nothing changed"},
		{[]string{"stacks", "approve", "demo-vm", "--plan", "plan-1"}, showState(t), "stack crusoe/demo-vm has no plan plan-1: the saved plan is plan-2"},
		{[]string{"stacks", "discard", "demo-vm"}, workflows.StackState{Provider: "crusoe", Name: "demo-vm"}, "has no saved plan"},
		{[]string{"stacks", "approve", "other"}, showState(t), `no stack named "other"`},
	} {
		c := newCLI(t)
		c.fake.stacks.found = []starter.StackRef{demoRef}
		c.fake.stacks.states = []workflows.StackState{tc.state}
		require.Equal(t, exitNotFound, c.run(tc.args...), strings.Join(tc.args, " "))
		assert.Contains(t, c.errOut.String(), tc.want)
		assert.Empty(t, c.fake.sentKinds())
	}

	// A plan made against a cloud that changed since is refused.
	c = newCLI(t)
	c.fake.stacks.found = []starter.StackRef{demoRef}
	c.fake.stacks.states = []workflows.StackState{showState(t)}
	c.fake.op(workflows.StackUpdateApprove, workflows.StackOperationResult{}, &starter.StackError{Stack: demoRef, Type: workflows.ErrTypeStackRefused,
		Message: "plan plan-2 was made against a cloud that has changed since (disk/demo-vm-scratch): it was not applied; plan again"})
	require.Equal(t, exitFailed, c.run("stacks", "approve", "demo-vm"))
	assert.Contains(t, c.out.String(), "changed since (disk/demo-vm-scratch)")
	assert.Contains(t, c.out.String(), "Make a new plan: cloudflow plan -f SPEC --save")
}

func TestStacksDiscard(t *testing.T) {
	c := newCLI(t)
	c.fake.stacks.found = []starter.StackRef{demoRef}
	c.fake.stacks.states = []workflows.StackState{showState(t)}
	c.fake.op(workflows.StackUpdateDiscard, workflows.StackOperationResult{Plan: ptr(changedPlan(t, false))}, nil)
	require.Equal(t, exitOK, c.run("stacks", "discard", "demo-vm"), c.errOut.String())
	assert.Equal(t, workflows.StackApproveRequest{}, c.fake.sentOf(t, workflows.StackUpdateDiscard).req)
	assert.Contains(t, c.out.String(), "Discarded plan plan-2 of stack crusoe/demo-vm; nothing changed in the cloud.")
}

// A refresh prints the drift and exits 10 when the stack drifted.
func TestStacksRefresh(t *testing.T) {
	c := newCLI(t)
	c.fake.stacks.found = []starter.StackRef{demoRef}
	st := showState(t)
	c.fake.op(workflows.StackUpdateRefresh, workflows.StackOperationResult{State: st}, nil)
	require.Equal(t, exitChangesPending, c.run("stacks", "refresh", "demo-vm"))
	out := c.out.String()
	assert.Contains(t, out, "Stack crusoe/demo-vm has drifted")
	assert.Regexp(t, `\+ create\s+firewall-rule/demo-vm-ssh`, out)
	assert.Contains(t, out, "Repair it with: cloudflow apply -f "+exampleSpec)

	st.Drift = nil
	c = newCLI(t)
	c.fake.stacks.found = []starter.StackRef{demoRef}
	c.fake.op(workflows.StackUpdateRefresh, workflows.StackOperationResult{State: st}, nil)
	require.Equal(t, exitOK, c.run("stacks", "refresh", "demo-vm", "--if-busy", "fail"))
	assert.Equal(t, workflows.StackRefreshRequest{IfBusy: workflows.IfBusyFail}, c.fake.sentOf(t, workflows.StackUpdateRefresh).req)
	assert.Contains(t, c.out.String(), "is in sync")
}

func TestStacksSet(t *testing.T) {
	c := newCLI(t)
	c.fake.stacks.found = []starter.StackRef{demoRef}
	require.Equal(t, exitOK, c.run("stacks", "set", "demo-vm", "--refresh-interval", "10m"), c.errOut.String())
	assert.Equal(t, []workflows.StackSettings{{RefreshInterval: 10 * time.Minute}}, c.fake.stacks.settings)
	assert.Contains(t, c.out.String(), "Stack crusoe/demo-vm: drift refresh every 10m0s.")

	// Off, then on again at the interval it had.
	c = newCLI(t)
	c.fake.stacks.found = []starter.StackRef{demoRef}
	c.fake.stacks.states = []workflows.StackState{{Settings: workflows.StackSettings{RefreshInterval: 5 * time.Minute}}}
	require.Equal(t, exitOK, c.run("stacks", "set", "demo-vm", "--refresh", "off"))
	require.Equal(t, exitOK, c.run("stacks", "set", "demo-vm", "--refresh", "on"))
	assert.Equal(t, []workflows.StackSettings{{RefreshInterval: 5 * time.Minute, RefreshOff: true}, {RefreshInterval: 5 * time.Minute}}, c.fake.stacks.settings)
	assert.Contains(t, c.out.String(), "periodic drift refresh off")
}

// --- output ---

func TestOutput(t *testing.T) {
	st := workflows.StackState{Provider: "crusoe", Name: "demo-vm", Resources: append(demoResources(),
		workflows.StackResource{Key: "vm/demo-vm-2", Outputs: map[string]string{"privateIPv4": "10.0.0.9"}})}
	run := func(args ...string) (*cli, int) {
		c := newCLI(t)
		c.fake.stacks.found = []starter.StackRef{demoRef}
		c.fake.stacks.states = []workflows.StackState{st}
		return c, c.run(append([]string{"output"}, args...)...)
	}
	c, code := run("demo-vm")
	require.Equal(t, exitOK, code, c.errOut.String())
	assert.Regexp(t, `vm/demo-vm\s+privateIPv4\s+10.0.0.4\nvm/demo-vm\s+publicIPv4\s+203.0.113.7\nvm/demo-vm\s+sshDestination\s+ubuntu@203.0.113.7\n`, c.out.String())

	c, code = run("demo-vm", "sshDestination")
	require.Equal(t, exitOK, code)
	assert.Equal(t, "ubuntu@203.0.113.7\n", c.out.String(), "the value alone, for scripts")

	c, code = run("demo-vm", "vm/demo-vm-2.privateIPv4")
	require.Equal(t, exitOK, code)
	assert.Equal(t, "10.0.0.9\n", c.out.String())

	c, code = run("demo-vm", "privateIPv4")
	require.Equal(t, exitUsage, code)
	assert.Contains(t, c.errOut.String(), `several resources have output "privateIPv4": say which, one of vm/demo-vm.privateIPv4, vm/demo-vm-2.privateIPv4`)

	c, code = run("demo-vm", "fqdn")
	require.Equal(t, exitNotFound, code)
	assert.Contains(t, c.errOut.String(), `stack crusoe/demo-vm has no output "fqdn": it has vm/demo-vm.privateIPv4`)
	assert.Empty(t, c.out.String())

	c, code = run("demo-vm", "--json")
	require.Equal(t, exitOK, code)
	var all map[string]map[string]string
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &all))
	assert.Equal(t, "203.0.113.7", all["vm/demo-vm"]["publicIPv4"])

	c, code = run("demo-vm", "publicIPv4", "--json")
	require.Equal(t, exitOK, code)
	assert.Equal(t, "\"203.0.113.7\"\n", c.out.String())

	c, code = run("nope", "sshDestination")
	require.Equal(t, exitNotFound, code)
	assert.Contains(t, c.errOut.String(), `no stack named "nope"`)
}

// A Temporal error while talking to a stack is exit 4.
func TestStackTemporalErrorsExitFour(t *testing.T) {
	c := newCLI(t)
	c.fake.op(workflows.StackUpdatePlan, workflows.StackOperationResult{}, nil).sendErr = errors.New("rpc error: unavailable")
	require.Equal(t, exitOther, c.run("plan", "-f", exampleSpec))
	assert.Contains(t, c.errOut.String(), "rpc error: unavailable")
}

func ptr[T any](v T) *T { return &v }

// `runs watch` of a stack's ApplyStack run (what apply names without
// --wait) says what it did, not raw JSON.
func TestRunsWatchOfAnApply(t *testing.T) {
	c := newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: demoRun, RunID: "r", Type: workflows.ApplyStackWorkflowName, Status: "Completed"}
	c.fake.result = *appliedResult(changedPlan(t, false)).Apply
	require.Equal(t, exitOK, c.run("runs", "watch", demoRun), c.errOut.String())
	out := c.out.String()
	assert.Contains(t, out, "ApplyStack "+demoRun+" completed.")
	assert.Regexp(t, `~ updated\s+disk/demo-vm-data\s+disk-1\s+size 10GiB → 50GiB`, out)
	assert.Regexp(t, `vm/demo-vm\s+sshDestination\s+ubuntu@203.0.113.7`, out)

	failed := workflows.ApplyStackResult{
		Failed:    []workflows.PlanFailure{{Key: "disk/demo-vm-data", Error: "resize: 409"}},
		NotUndone: []workflows.UndoFailure{{Kind: "disk", Name: "demo-vm-new", ID: "disk-9", Error: "delete disk: 500"}},
	}
	c = newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: demoRun, RunID: "r", Type: workflows.ApplyStackWorkflowName, Status: "Failed"}
	c.fake.result, c.fake.resultErr = failed, &starter.RunError{WorkflowID: demoRun, Status: "Failed", Message: "1 change(s) failed"}
	require.Equal(t, exitFailed, c.run("runs", "watch", demoRun))
	assert.Contains(t, c.out.String(), "ApplyStack "+demoRun+" failed.")
	assert.Regexp(t, `disk/demo-vm-data\s+resize: 409`, c.out.String())
	assert.Regexp(t, `disk\s+demo-vm-new\s+disk-9\s+delete disk: 500`, c.out.String())
}
