package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
)

// BulkCreateVMsWorkflowName is the contract name of BulkCreateVMs.
const BulkCreateVMsWorkflowName = "BulkCreateVMs"

// ErrTypeBulkCreateFailed is the error type of a failed BulkCreateVMs run;
// its details hold the BulkCreateVMsResult.
const ErrTypeBulkCreateFailed = "BulkCreateVMsFailed"

// MaxBulkVMs is the most VMs one bulk create asks for.
const MaxBulkVMs = 1000

// BulkCreateVMsInput asks for Count Crusoe VMs named NamePrefix-1..Count,
// made by the API's bulk-instances call from an instance template: the
// template's ID, or an inline one from Type, Location, Image and SSHPublicKey.
type BulkCreateVMsInput struct {
	// The fields of the bulk create itself (projectId, namePrefix, count,
	// instanceTemplateId, type, location, image, sshPublicKey, startupScript).
	activities.BulkCreateVMsInput
	Timeouts Timeouts `json:"timeouts,omitempty"`
}

// BulkCreateVMsResult lists the VMs made. On failure it is the error's
// details: FailedStep, what was undone and what could not be.
type BulkCreateVMsResult struct {
	VMs        []Resource    `json:"vms"`
	Steps      []Step        `json:"steps"`
	FailedStep string        `json:"failedStep,omitempty"`
	Undone     []string      `json:"undone,omitempty"`
	NotUndone  []UndoFailure `json:"notUndone,omitempty"`
}

// FailedStepName lets callers that only hold the result learn which step failed.
func (r BulkCreateVMsResult) FailedStepName() string { return r.FailedStep }

// KindVMBulk is the step kind of a bulk create.
const KindVMBulk = "vm-bulk"

// BulkCreateVMs makes the VMs in one bulk call and waits out its operation.
// If the call or the operation fails, or the run is cancelled, every VM of
// those names that exists is deleted, and any that could not be is named.
func BulkCreateVMs(ctx workflow.Context, in BulkCreateVMsInput) (BulkCreateVMsResult, error) {
	t, err := newTracker(ctx, BulkCreateVMsWorkflowName)
	if err != nil {
		return BulkCreateVMsResult{}, err
	}
	if in.NamePrefix == "" || in.Count <= 0 || in.Count > MaxBulkVMs {
		return BulkCreateVMsResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("namePrefix is required and count must be 1-%d", MaxBulkVMs), ErrTypeBulkCreateFailed, nil)
	}
	c := &crusoeSteps{projectID: in.ProjectID, timeouts: in.Timeouts, t: t}
	names := activities.BulkVMNames(in.NamePrefix, in.Count)
	step := t.add(KindVMBulk, fmt.Sprintf("%s-1..%d", in.NamePrefix, in.Count))
	t.set(step, StepRunning)

	var cr activities.CreateResult
	err = workflow.ExecuteActivity(withSummary(callOptions(ctx, in.Timeouts), "create %s %s-1..%d", plural(in.Count, "VM"), in.NamePrefix, in.Count),
		c.a.CrusoeBulkCreateVMs, in.BulkCreateVMsInput).Get(ctx, &cr)
	var found activities.FindVMsResult
	if err == nil {
		t.update(step, func(s *Step) { s.OperationID = cr.OperationID })
		err = workflow.ExecuteActivity(withSummary(waitOptions(ctx, in.Timeouts), "wait for %s %s-1..%d%s",
			plural(in.Count, "VM"), in.NamePrefix, in.Count, waitingOn("operation", cr.OperationID)), c.a.CrusoeWaitBulkVMs, activities.WaitBulkInput{
			ProjectID: in.ProjectID, OperationID: cr.OperationID, Names: names, Timeout: in.Timeouts.operation(),
		}).Get(ctx, &found)
	}
	if err == nil && ctx.Err() == nil {
		t.update(step, func(s *Step) { s.State, s.OperationID = StepDone, "" })
		t.phase(PhaseCompleted)
		res := BulkCreateVMsResult{Steps: t.snapshot().Steps}
		for _, vm := range found.VMs {
			res.VMs = append(res.VMs, Resource{Kind: KindVM, Name: vm.Name, ID: vm.ID, State: vm.State})
		}
		return res, nil
	}
	failure := c.failed(ctx, step, err)
	if cr.Existed || isErrType(err, activities.ErrTypeInvalidInput) {
		// Nothing was sent: the names were taken before, or the input was bad.
		t.phase(PhaseFailed)
		res := BulkCreateVMsResult{Steps: t.snapshot().Steps, FailedStep: step}
		return res, temporal.NewNonRetryableApplicationError(errorMessage(failure), ErrTypeBulkCreateFailed, failure, res)
	}

	// Undo: delete whichever of the VMs exist, 16 at a time.
	t.phase(PhaseCompensating)
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	res := BulkCreateVMsResult{FailedStep: step}
	var left activities.FindVMsResult
	if lerr := workflow.ExecuteActivity(withSummary(callOptions(dctx, in.Timeouts), "look up VMs %s-1..%d to undo", in.NamePrefix, in.Count), c.a.CrusoeFindVMs,
		activities.FindVMsInput{ProjectID: in.ProjectID, Names: names}).Get(dctx, &left); lerr != nil {
		res.NotUndone = append(res.NotUndone, UndoFailure{Step: step, Kind: KindVMBulk, Name: in.NamePrefix + "-*", Error: errorMessage(lerr)})
	}
	var doomed []activities.FoundVM
	for _, vm := range left.VMs {
		if vm.Found {
			doomed = append(doomed, vm)
		}
	}
	undoSteps := make([]string, len(doomed))
	for i, vm := range doomed {
		undoSteps[i] = t.add(KindVM, vm.Name)
		t.update(undoSteps[i], func(s *Step) { s.ID, s.State = vm.ID, StepUndoing })
	}
	windowed(dctx, len(doomed), 16, func(ctx workflow.Context, i int) {
		vm := doomed[i]
		if _, err := retryUndo(ctx, in.Timeouts.undo(), func(ctx workflow.Context) (bool, error) {
			_, gone, err := c.remove(ctx, undoSteps[i], KindVM, vm.Name, vm.ID)
			return gone, err
		}); err != nil {
			t.update(undoSteps[i], func(s *Step) { s.State, s.Error = StepUndoFailed, errorMessage(err) })
			res.NotUndone = append(res.NotUndone, UndoFailure{Step: undoSteps[i], Kind: KindVM, Name: vm.Name, ID: vm.ID, Error: errorMessage(err)})
			return
		}
		t.set(undoSteps[i], StepUndone)
		res.Undone = append(res.Undone, vm.Name)
	})
	t.phase(PhaseFailed)
	res.Steps = t.snapshot().Steps
	msg := fmt.Sprintf("%s failed: %s", step, errorMessage(failure))
	if ctx.Err() != nil {
		return res, temporal.NewCanceledError(res)
	}
	return res, temporal.NewNonRetryableApplicationError(msg, ErrTypeBulkCreateFailed, failure, res)
}
