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

const fleetID = "kraftcloud-fleet-web-1-and-9-more-3f9a2c1d"

func failedFleet() (workflows.FleetResult, *starter.RunError) {
	res := workflows.FleetResult{Action: "start", Total: 3, Runs: 1, Calls: 2,
		Succeeded: []string{"web-1", "web-2"},
		Failed:    []workflows.FleetItem{{Ref: "web-9", Code: "8", Message: "instance not found"}},
	}
	return res, &starter.RunError{WorkflowID: fleetID, Status: "Failed", Message: "1 of 3 instances failed"}
}

// runs show of a failed fleet prints the fleet's report, as runs watch
// does at the end, and exits 1 as runs watch would.
func TestRunsShowReportsAnEndedFleet(t *testing.T) {
	for _, cmd := range []string{"show", "watch"} {
		t.Run(cmd, func(t *testing.T) {
			c := newCLI(t)
			c.fake.info = starter.RunInfo{WorkflowID: fleetID, RunID: "r", Type: workflows.StartInstancesWorkflowName, Status: "Failed"}
			res, runErr := failedFleet()
			c.fake.result, c.fake.resultErr = res, runErr
			assert.Equal(t, exitFailed, c.run("runs", cmd, fleetID))
			out := c.out.String()
			assert.Contains(t, out, "2 of 3 instances started, 1 failed")
			assert.Regexp(t, `web-9\s+8\s+instance not found`, out)
			assert.Contains(t, c.errOut.String(), "1 of 3 instances failed")
		})
	}

	c := newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: fleetID, RunID: "r", Type: workflows.StartInstancesWorkflowName, Status: "Failed"}
	res, runErr := failedFleet()
	c.fake.result, c.fake.resultErr = res, runErr
	assert.Equal(t, exitFailed, c.run("runs", "show", fleetID, "--json"))
	var d struct {
		Result  workflows.FleetResult `json:"result"`
		Failure runFailure            `json:"failure"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &d), c.out.String())
	assert.Equal(t, "web-9", d.Result.Failed[0].Ref)
	assert.Equal(t, runFailure{Status: "Failed", Message: "1 of 3 instances failed"}, d.Failure)

	// A fleet still running shows its counts, and exits 0.
	c = newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: fleetID, RunID: "r", Type: workflows.StartInstancesWorkflowName, Status: "Running"}
	c.fake.fleetProgress = []workflows.FleetProgress{{Action: "start", Total: 3, Succeeded: 1, Pending: 2, Run: 1, Round: 1}}
	assert.Equal(t, exitOK, c.run("runs", "show", fleetID))
	assert.Contains(t, c.out.String(), "1/3 started, 0 failed")
}

// A run that failed before it did anything (no credentials for the cloud on
// the worker) shows why, whatever its workflow.
func TestRunsShowSaysWhyARunFailed(t *testing.T) {
	for _, tc := range []struct{ typ, id string }{
		{workflows.StartInstancesWorkflowName, fleetID},
		{workflows.ProvisionVMWorkflowName, "crusoe-vm-provision-demo-vm"},
		{"SomethingElse", "other"},
	} {
		c := newCLI(t)
		c.fake.info = starter.RunInfo{WorkflowID: tc.id, RunID: "r", Type: tc.typ, Status: "Failed"}
		c.fake.resultErr = &starter.RunError{WorkflowID: tc.id, Status: "Failed", Message: "no Crusoe credentials on the worker: set CRUSOE_ACCESS_KEY_ID"}
		assert.Equal(t, exitFailed, c.run("runs", "show", tc.id), tc.typ)
		assert.Regexp(t, `Status:\s+Failed`, c.out.String())
		assert.Contains(t, c.out.String(), "error: no Crusoe credentials on the worker", tc.typ)
	}

	// A snapshot run that completed leaving an old snapshot undeleted
	// exits 1, as runs watch does.
	c := newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: "snap", RunID: "r", Type: workflows.SnapshotDisksWorkflowName, Status: "Completed"}
	c.fake.result = workflows.SnapshotDisksResult{NotDeleted: []workflows.SnapshotFailure{{Error: "500"}}}
	assert.Equal(t, exitFailed, c.run("runs", "show", "snap"))
	assert.Contains(t, c.errOut.String(), "could not be deleted")
}

// A stack is shown as such, never watched as a run, and never cancelled
// or terminated: destroy ends it.
func TestRunsOfAStackPointAtStackCommands(t *testing.T) {
	id := workflows.StackID(workflows.ProviderCrusoe, "web")
	c := newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: id, RunID: "r", Type: workflows.StackWorkflowName, Status: "Running"}
	assert.Equal(t, exitOK, c.run("runs", "show", id))
	assert.Contains(t, c.out.String(), "cloudflow stacks show web --provider crusoe")
	for _, verb := range []string{"watch", "cancel", "terminate"} {
		c := newCLI(t)
		c.fake.info = starter.RunInfo{WorkflowID: id, RunID: "r", Type: workflows.StackWorkflowName, Status: "Running"}
		assert.Equal(t, exitUsage, c.run("runs", verb, id), verb)
		assert.Contains(t, c.errOut.String(), "end it with `cloudflow destroy web --provider crusoe`", verb)
		assert.Empty(t, c.fake.canceled, verb)
		assert.Empty(t, c.fake.terminated, verb)
	}
}

func TestRunsTerminate(t *testing.T) {
	c := newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: "w", RunID: "r1", Type: "ProvisionVM", Status: "Running"}
	require.Equal(t, exitOK, c.run("runs", "terminate", "w", "--reason", "stuck"))
	assert.Equal(t, []string{"w: stuck"}, c.fake.terminated)
	assert.Contains(t, c.out.String(), "Terminated w (ProvisionVM). Nothing was undone")

	c = newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: "w", RunID: "r1", Type: "ProvisionVM", Status: "Running"}
	require.Equal(t, exitOK, c.run("runs", "terminate", "w"))
	assert.Equal(t, []string{"w: terminated with cloudflow runs terminate"}, c.fake.terminated)

	// A run that has ended already is left as it is.
	c = newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: "w", RunID: "r1", Type: "ProvisionVM", Status: "Completed"}
	require.Equal(t, exitOK, c.run("runs", "terminate", "w"))
	assert.Empty(t, c.fake.terminated)
	assert.Contains(t, c.out.String(), "w has ended already (Completed); nothing to terminate")
}

// A cancel request is only delivered with a workflow task, which only a
// worker runs: with no worker, a run that never began is ended at once
// (it made nothing), and one that began is left with what to do.
func TestRunsCancelWithoutAWorker(t *testing.T) {
	running := starter.RunInfo{WorkflowID: "w", RunID: "r1", Type: "ProvisionVM", Status: "Running", TaskQueue: "other"}

	c := newCLI(t)
	c.fake.info, c.fake.noWorker, c.fake.notBegun = running, true, true
	require.Equal(t, exitOK, c.run("runs", "cancel", "w"))
	assert.Equal(t, []string{"w"}, c.fake.canceled, "the cancellation is asked for first")
	assert.Equal(t, []string{"w: canceled before any worker ran it: nothing to undo"}, c.fake.terminated)
	assert.Contains(t, c.out.String(), `Ended w: no worker polls task queue "other" and none ever ran it`)

	c = newCLI(t)
	c.fake.info, c.fake.noWorker = running, true
	require.Equal(t, exitOK, c.run("runs", "cancel", "w"))
	assert.Empty(t, c.fake.terminated, "a run that began may have made something: only a worker may undo it")
	assert.Contains(t, c.errOut.String(), `no worker is polling task queue "other", and only a worker carries out a cancellation`)
	assert.Contains(t, c.errOut.String(), "`cloudflow worker --task-queue other`")
	assert.Contains(t, c.errOut.String(), "cloudflow runs terminate w")
}

// Without a worker on the task queue, a start says so at once, and a wait
// within seconds, instead of waiting without a word; with one, nothing is
// said.
func TestWarnsWhenNoWorkerPolls(t *testing.T) {
	start := func(c *cli, args ...string) int {
		c.f.WorkerCheckAfter, c.f.WorkerCheckEvery = 10*time.Millisecond, 10*time.Millisecond
		c.fake.run = starter.Run{WorkflowID: fleetID, RunID: "r", Workflow: workflows.StartInstancesWorkflowName}
		return c.run(append([]string{"instances", "start", "--provider", "kraftcloud", "web-1"}, args...)...)
	}
	c := newCLI(t)
	c.fake.noWorker = true
	require.Equal(t, exitOK, start(c))
	assert.Contains(t, c.errOut.String(), `warning: no worker is polling task queue "cloudflow": the run waits until one does. Start one with `+"`cloudflow worker`")
	assert.Equal(t, 1, strings.Count(c.errOut.String(), "warning:"))

	c = newCLI(t)
	c.fake.noWorker, c.fake.block = true, true
	t.Setenv(envTaskQueue, "night-shift")
	assert.Equal(t, exitPending, start(c, "--wait", "--timeout", "300ms"))
	assert.Contains(t, c.errOut.String(), `no worker is polling task queue "night-shift"`)
	assert.Contains(t, c.errOut.String(), "`cloudflow worker --task-queue night-shift`")
	assert.Equal(t, 1, strings.Count(c.errOut.String(), "warning:"), "said once: %s", c.errOut.String())

	c = newCLI(t)
	c.fake.block = true
	assert.Equal(t, exitPending, start(c, "--wait", "--timeout", "300ms"))
	assert.NotContains(t, c.errOut.String(), "no worker")
	assert.Greater(t, c.fake.pollers, 1, "checked at the start and while waiting")
}

// A stack operation waits for a worker to accept it: the check covers it,
// and says when a worker turns up.
func TestWorkerCheckOfAStackOperation(t *testing.T) {
	fake := &fakeRunner{noWorker: true}
	var errOut syncBuffer
	r := newCheckedRunner(fake, "cloudflow", &errOut, 10*time.Millisecond, 10*time.Millisecond)
	fake.op(workflows.StackUpdatePlan, workflows.StackOperationResult{}, nil).until = func() bool {
		if strings.Contains(errOut.String(), "warning:") {
			fake.mu.Lock()
			fake.noWorker = false
			fake.mu.Unlock()
		}
		return strings.Contains(errOut.String(), "now; the run goes on")
	}
	op, err := r.PlanStack(context.Background(), workflows.StackPlanRequest{Spec: demoSpec(t)})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = op.Get(ctx)
	require.NoError(t, err)
	assert.Contains(t, errOut.String(), `warning: no worker is polling task queue "cloudflow"`)
	assert.Contains(t, errOut.String(), `A worker is polling task queue "cloudflow" now; the run goes on.`)
}

// Every command that talks of one run exits 6 when Temporal has no such run.
func TestUnknownRunExitsNotFound(t *testing.T) {
	for _, verb := range []string{"show", "watch", "cancel", "terminate"} {
		c := newCLI(t)
		c.fake.describeErr = serviceerror.NewNotFound("workflow not found for ID: nope")
		assert.Equal(t, exitNotFound, c.run("runs", verb, "nope"), verb)
		assert.Contains(t, c.errOut.String(), "error: no run nope (see `cloudflow runs list`)", verb)
	}
	c := newCLI(t)
	c.fake.describeErr = errors.New("connection refused")
	assert.Equal(t, exitOther, c.run("runs", "show", "x"))
}

// runs show of a run no worker polls for says so at once, instead of
// waiting for a query nobody answers.
func TestRunsShowWithoutAWorker(t *testing.T) {
	c := newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: "w", RunID: "r", Type: "ProvisionVM", Status: "Running", TaskQueue: "night-shift"}
	c.fake.noWorker = true
	require.Equal(t, exitOK, c.run("runs", "show", "w"))
	assert.Contains(t, c.out.String(), `Progress unavailable: no worker is polling task queue "night-shift": the run waits until one does.`)
	assert.Equal(t, 0, c.fake.queried("w"), "nobody would answer the query")
}

// As --timeout comes, the server may give up on a call a moment before the
// CLI's own deadline: that is the wait ending (exit 3, the run goes on),
// never the run failing.
func TestWaitEndsWhenTheServerGivesUpAtTheDeadline(t *testing.T) {
	deadline := serviceerror.NewDeadlineExceeded("context deadline exceeded")
	for _, tc := range []struct {
		name     string
		typ      string
		watchErr error
		resErr   error
	}{
		{"a watch", "ProvisionVM", deadline, nil},
		{"the result", "ProvisionVM", nil, deadline},
		{"a fleet's watch", workflows.StartInstancesWorkflowName, deadline, nil},
		{"a fleet's result", workflows.StartInstancesWorkflowName, nil, deadline},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			c.fake.info = starter.RunInfo{WorkflowID: "w", RunID: "r", Type: tc.typ, Status: "Running"}
			c.fake.watchErr, c.fake.resultErr = tc.watchErr, tc.resErr
			assert.Equal(t, exitPending, c.run("runs", "watch", "w", "--timeout", "1h"))
			assert.Contains(t, c.errOut.String(), "timed out after 1h0m0s waiting for w; the workflow is still running")
		})
	}
	// Without a deadline of its own, the CLI was not waiting to time out.
	c := newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: "w", RunID: "r", Type: "ProvisionVM", Status: "Running"}
	c.fake.resultErr = deadline
	assert.Equal(t, exitOther, c.run("runs", "watch", "w"))
}
