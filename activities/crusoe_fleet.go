package activities

import (
	"context"
	"fmt"

	"github.com/cloudflow/cloudflow/clients/crusoe"
)

// FindVMsInput is the input of CrusoeFindVMs.
type FindVMsInput struct {
	ProjectID string   `json:"projectId,omitempty"`
	Names     []string `json:"names"`
}

// FoundVM is one VM CrusoeFindVMs looked for.
type FoundVM struct {
	Name  string `json:"name"`
	Found bool   `json:"found"`
	ID    string `json:"id,omitempty"`
	// State is normalized to the STATE_ form.
	State string `json:"state,omitempty"`
}

// FindVMsResult answers CrusoeFindVMs, in the order of the names asked for.
type FindVMsResult struct {
	VMs []FoundVM `json:"vms"`
}

// CrusoeFindVMs looks VMs up by name, with one filtered list call (paged).
func (a *CrusoeActivities) CrusoeFindVMs(ctx context.Context, in FindVMsInput) (FindVMsResult, error) {
	if err := a.ready(); err != nil {
		return FindVMsResult{}, err
	}
	if len(in.Names) == 0 {
		return FindVMsResult{}, invalidInput("no VM names to look up")
	}
	vms, err := a.Client.VMs.ListAll(ctx, in.ProjectID, &crusoe.VMListOptions{Names: in.Names})
	if err != nil {
		return FindVMsResult{}, apiError(CloudCrusoe, fmt.Sprintf("list %d VMs", len(in.Names)), err)
	}
	byName := make(map[string]crusoe.VM, len(vms))
	for _, vm := range vms {
		byName[vm.Name] = vm
	}
	res := FindVMsResult{VMs: make([]FoundVM, len(in.Names))}
	for i, n := range in.Names {
		res.VMs[i] = FoundVM{Name: n}
		if vm, ok := byName[n]; ok {
			res.VMs[i] = FoundVM{Name: n, Found: true, ID: vm.ID, State: vm.NormalizedState()}
		}
	}
	return res, nil
}

// VMActionInput is the input of CrusoeVMAction.
type VMActionInput struct {
	ProjectID string `json:"projectId,omitempty"`
	VMID      string `json:"vmId"`
	Name      string `json:"name,omitempty"`
	// Action is crusoe.VMActionStart or crusoe.VMActionStop.
	Action string `json:"action"`
}

// VMActionResult names the operation to wait on; it is empty when a retry
// found the action already applied and no operation still running.
type VMActionResult struct {
	OperationID string `json:"operationId,omitempty"`
}

// vmActionStates are the transitional and target states of each action.
var vmActionStates = map[string][2]string{
	crusoe.VMActionStart: {crusoe.VMStateStarting, crusoe.VMStateRunning},
	crusoe.VMActionStop:  {crusoe.VMStateStopping, crusoe.VMStateStopped},
}

// CrusoeVMAction starts or stops one VM (PATCH {"action": ...}). Crusoe has
// no idempotency key: the activity records a marker before it sends, and a
// retry that finds the VM already on its way joins the running operation
// instead of sending the action again.
func (a *CrusoeActivities) CrusoeVMAction(ctx context.Context, in VMActionInput) (VMActionResult, error) {
	if err := a.ready(); err != nil {
		return VMActionResult{}, err
	}
	states, ok := vmActionStates[in.Action]
	if !ok || in.VMID == "" {
		return VMActionResult{}, invalidInput("vm action needs a VM ID and START or STOP, got %q", in.Action)
	}
	what := fmt.Sprintf("%s vm %s", in.Action, firstNonEmpty(in.Name, in.VMID))
	marker := in.Action + " " + in.VMID
	if createWasSent(ctx, marker) {
		vm, err := a.Client.VMs.Get(ctx, in.ProjectID, in.VMID)
		if err != nil {
			return VMActionResult{}, apiError(CloudCrusoe, what, err)
		}
		if st := vm.NormalizedState(); st == states[0] || st == states[1] {
			res, err := a.adopt(ctx, in.ProjectID, crusoe.FamilyVMs, marker, in.VMID)
			return VMActionResult{OperationID: res.OperationID}, err
		}
	}
	markCreateSent(ctx, marker)
	op, err := a.Client.VMs.Update(ctx, in.ProjectID, in.VMID, &crusoe.VMUpdateRequest{Action: in.Action})
	if crusoe.IsConflict(err) {
		// Another operation on the VM (its create, another action) is in
		// progress. The next attempt reads the VM first (the marker is
		// recorded) and joins an operation already headed where this
		// action leads, or sends the action again once the VM is free.
		return VMActionResult{}, retryWhenIdle(what, "vm "+firstNonEmpty(in.Name, in.VMID), err)
	}
	if err != nil {
		return VMActionResult{}, apiError(CloudCrusoe, what, err)
	}
	a.waits.began(op.OperationID)
	return VMActionResult{OperationID: op.OperationID}, nil
}
