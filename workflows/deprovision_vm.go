package workflows

import (
	"fmt"
	"strings"

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
	d := &deprovision{c: c}

	type target struct{ step, kind, name string }
	var rules, disks []target
	for _, n := range in.FirewallRules {
		rules = append(rules, target{t.add(KindFirewallRule, n), KindFirewallRule, n})
	}
	vm := target{t.add(KindVM, in.VMName), KindVM, in.VMName}
	for _, n := range in.DiskNames {
		disks = append(disks, target{t.add(KindDisk, n), KindDisk, n})
	}

	stage := func(targets []target) bool {
		wg := workflow.NewWaitGroup(ctx)
		ok := true
		for _, tg := range targets {
			wg.Add(1)
			workflow.Go(ctx, func(ctx workflow.Context) {
				defer wg.Done()
				if !d.delete(ctx, tg.step, tg.kind, tg.name) {
					ok = false
				}
			})
		}
		wg.Wait(ctx)
		return ok
	}
	stage(rules)
	if stage([]target{vm}) {
		stage(disks)
	} else {
		for _, tg := range disks {
			t.update(tg.step, func(s *Step) {
				s.State, s.Error = StepFailed, "skipped: the vm still exists, and attached disks cannot be deleted"
			})
		}
	}

	res := DeprovisionVMResult{Deleted: d.deleted, AlreadyGone: d.gone, Steps: t.snapshot().Steps}
	var left []string
	for _, st := range res.Steps {
		if st.State != StepDone {
			left = append(left, st.Name)
		}
	}
	if ctx.Err() != nil {
		t.phase(PhaseFailed)
		res.Steps = t.snapshot().Steps
		return res, temporal.NewCanceledError(res)
	}
	if len(left) > 0 {
		t.phase(PhaseFailed)
		res.Steps = t.snapshot().Steps
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("could not delete %s", strings.Join(left, ", ")), ErrTypeDeprovisionFailed, nil, res)
	}
	t.phase(PhaseCompleted)
	res.Steps = t.snapshot().Steps
	return res, nil
}

type deprovision struct {
	c       *crusoeSteps
	deleted []Resource
	gone    []Resource
}

func (d *deprovision) delete(ctx workflow.Context, step, kind, name string) bool {
	t := d.c.t
	t.set(step, StepRunning)
	id, alreadyGone, err := d.c.remove(ctx, step, kind, name, "")
	if err != nil {
		d.c.failed(ctx, step, err)
		return false
	}
	t.update(step, func(s *Step) { s.ID, s.State = id, StepDone })
	r := Resource{Kind: kind, Name: name, ID: id}
	if alreadyGone {
		d.gone = append(d.gone, r)
	} else {
		d.deleted = append(d.deleted, r)
	}
	return true
}
