package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// ErrTypeDeprovisionFailed is the error type of a DeprovisionVM run that left
// something behind; its details hold the DeprovisionVMResult.
const ErrTypeDeprovisionFailed = "DeprovisionVMFailed"

// DeprovisionVM deletes the firewall rules (in parallel), then the VM, then
// its disks (in parallel). Whatever is already gone counts as deleted, so a
// repeated run succeeds. Disks are left alone when the VM could not be
// deleted, because the cloud refuses to delete an attached disk.
func DeprovisionVM(ctx workflow.Context, in DeprovisionVMInput) (DeprovisionVMResult, error) {
	t, err := newTracker(ctx, DeprovisionVMWorkflowName)
	if err != nil {
		return DeprovisionVMResult{}, err
	}
	if in.VMName == "" {
		return DeprovisionVMResult{}, temporal.NewNonRetryableApplicationError("vmName is required", ErrTypeDeprovisionFailed, nil)
	}
	c := &crusoeSteps{projectID: in.ProjectID, timeouts: in.Timeouts, t: t}
	d := &deletions{t: t, timeouts: in.Timeouts, remove: func(ctx workflow.Context, del deletion) (string, bool, error) {
		return c.remove(ctx, del.step, del.kind, del.name, "")
	}}

	var rules, disks []deletion
	for _, n := range in.FirewallRules {
		rules = append(rules, d.plan(KindFirewallRule, n))
	}
	vm := d.plan(KindVM, in.VMName)
	for _, n := range in.DiskNames {
		disks = append(disks, d.plan(KindDisk, n))
	}

	d.runAll(ctx, rules)
	if d.runAll(ctx, []deletion{vm}) {
		d.runAll(ctx, disks)
	} else {
		d.skip(disks, "skipped: the vm still exists, and attached disks cannot be deleted")
	}
	return finishDeletions(ctx, d, ErrTypeDeprovisionFailed, func(steps []Step) DeprovisionVMResult {
		return DeprovisionVMResult{Deleted: d.deleted, AlreadyGone: d.gone, Steps: steps}
	})
}
