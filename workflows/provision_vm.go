package workflows

import (
	"slices"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/crusoe"
)

// ErrTypeProvisionFailed is the error type of a failed ProvisionVM run; its
// details hold the ProvisionVMResult.
const ErrTypeProvisionFailed = "ProvisionVMFailed"

// ProvisionVM creates the disks (in parallel), then the VM with the disks
// attached, and the firewall rules: those that do not name the VM in parallel
// with all that, those that do once the VM exists, with its address. If any
// step fails (once the steps in flight have finished), or the run is
// cancelled, the saga removes what was made, newest first, and the result
// names anything it could not remove, with its ID.
func ProvisionVM(ctx workflow.Context, in ProvisionVMInput) (ProvisionVMResult, error) {
	t, err := newTracker(ctx, ProvisionVMWorkflowName)
	if err != nil {
		return ProvisionVMResult{}, err
	}
	if in.VM.Name == "" {
		return ProvisionVMResult{}, temporal.NewNonRetryableApplicationError("vm.name is required", ErrTypeProvisionFailed, nil)
	}
	c := &crusoeSteps{projectID: in.ProjectID, timeouts: in.Timeouts, t: t}
	p := &provision{sagaRun: newSagaRun(t, in.Timeouts), c: c, in: in}

	// Declare every step first, so the progress query shows the whole plan.
	diskSteps := make([]string, len(in.Disks))
	for i, d := range in.Disks {
		diskSteps[i] = t.add(KindDisk, d.Name)
	}
	vmStep := t.add(KindVM, in.VM.Name)
	ruleSteps := make([]string, len(in.FirewallRules))
	for i, r := range in.FirewallRules {
		ruleSteps[i] = t.add(KindFirewallRule, r.Name)
	}

	runCtx, cancelRun := workflow.WithCancel(ctx)
	p.cancelRun = cancelRun
	wg := workflow.NewWaitGroup(ctx)
	for i, r := range in.FirewallRules {
		if r.TargetsVM() {
			continue
		}
		wg.Add(1)
		workflow.Go(runCtx, func(ctx workflow.Context) {
			defer wg.Done()
			p.createRule(ctx, ruleSteps[i], r, "", "")
		})
	}
	wg.Add(1)
	workflow.Go(runCtx, func(ctx workflow.Context) {
		defer wg.Done()
		p.createDisksVMAndItsRules(ctx, diskSteps, vmStep, ruleSteps)
	})
	wg.Wait(ctx)

	res := p.result(diskSteps, vmStep, ruleSteps)
	if p.failedStep == "" && ctx.Err() == nil {
		t.phase(PhaseCompleted)
		res.Steps = t.snapshot().Steps
		return res, nil
	}

	comp := p.compensate(ctx)
	res = p.result(diskSteps, vmStep, ruleSteps)
	res.FailedStep, res.Undone, res.NotUndone = comp.failedStep, comp.undone, comp.notUndone
	res.Steps = t.snapshot().Steps
	return res, p.runError(ctx, comp, ErrTypeProvisionFailed, res)
}

// changeRuleVMCIDR: a rule that names the VM gets the VM's private IPv4
// from the VM's wait, to send as its CIDR.
const changeRuleVMCIDR = "crusoe-rule-vm-cidr"

// provision is one ProvisionVM run's state, shared by its coroutines.
type provision struct {
	sagaRun
	c  *crusoeSteps
	in ProvisionVMInput
	// vmIPv4 is the VM's private address, as its wait reported it.
	vmIPv4 string
}

func (p *provision) createDisksVMAndItsRules(ctx workflow.Context, diskSteps []string, vmStep string, ruleSteps []string) {
	wg := workflow.NewWaitGroup(ctx)
	for i, d := range p.in.Disks {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			p.step(ctx, diskSteps[i], KindDisk, d.Name, p.c.a.CrusoeCreateDisk, activities.CreateDiskInput{
				ProjectID: p.in.ProjectID, Name: d.Name, Size: d.Size, Type: d.Type, Location: p.in.VM.Location,
			})
		})
	}
	wg.Wait(ctx)
	if p.failedStep != "" || ctx.Err() != nil {
		return
	}
	attach := make([]crusoe.DiskAttachment, len(p.in.Disks))
	for i, d := range p.in.Disks {
		attach[i] = crusoe.DiskAttachment{DiskID: p.made[diskSteps[i]].ID, Mode: d.Mode, AttachmentType: "data"}
	}
	vm := p.in.VM
	if !p.step(ctx, vmStep, KindVM, vm.Name, p.c.a.CrusoeCreateVM, activities.CreateVMInput{
		ProjectID: p.in.ProjectID, Name: vm.Name, Type: vm.Type, Location: vm.Location, Image: vm.Image,
		SSHPublicKey: vm.SSHPublicKey, StartupScript: vm.StartupScript, ShutdownScript: vm.ShutdownScript,
		Disks: attach,
	}) || p.failedStep != "" || ctx.Err() != nil {
		return
	}
	vmIPv4 := ""
	if slices.ContainsFunc(p.in.FirewallRules, FirewallRuleSpec.TargetsVM) &&
		workflow.GetVersion(ctx, changeRuleVMCIDR, workflow.DefaultVersion, 1) >= 1 {
		vmIPv4 = p.vmIPv4
	}
	wg = workflow.NewWaitGroup(ctx)
	for i, r := range p.in.FirewallRules {
		if !r.TargetsVM() {
			continue
		}
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			p.createRule(ctx, ruleSteps[i], r, p.made[vmStep].ID, vmIPv4)
		})
	}
	wg.Wait(ctx)
}

// createRule creates a firewall rule; one that names the VM gets its ID and
// its private IPv4 (without it, the activity reads the VM for it).
func (p *provision) createRule(ctx workflow.Context, step string, r FirewallRuleSpec, vmID, vmIPv4 string) {
	p.step(ctx, step, KindFirewallRule, r.Name, p.c.a.CrusoeCreateFirewallRule, activities.CreateFirewallRuleInput{
		ProjectID: p.in.ProjectID, Name: r.Name, VPCNetworkID: r.VPCNetworkID, VPCNetwork: r.VPCNetwork,
		Direction: r.Direction, Action: r.Action, Protocols: r.Protocols,
		Sources: r.Sources, Destinations: r.Destinations,
		SourcePorts: r.SourcePorts, DestinationPorts: r.DestinationPorts, VMID: vmID, VMPrivateIPv4: vmIPv4,
	})
}

// step registers the step's undo, then creates its resource. It reports
// success; a failure (not a cancellation) stops the run.
func (p *provision) step(ctx workflow.Context, step, kind, name string, activity, input any) bool {
	p.saga.add(step, func(ctx workflow.Context) error {
		return p.undo(ctx, step, func(ctx workflow.Context, id string) (bool, error) {
			_, gone, err := p.c.remove(ctx, step, kind, name, id)
			return gone, err
		})
	})
	r, wr, err := p.c.createAndWait(ctx, step, kind, name, activity, input)
	if err != nil {
		if !temporal.IsCanceledError(err) {
			p.recordFailure(step, err)
		}
		return false
	}
	p.made[step] = r
	if kind == KindVM {
		p.vmIPv4 = wr.PrivateIPv4
	}
	return true
}

func (p *provision) result(diskSteps []string, vmStep string, ruleSteps []string) ProvisionVMResult {
	t := p.t
	res := ProvisionVMResult{VM: p.resource(t.step(vmStep), KindVM)}
	for _, s := range diskSteps {
		res.Disks = append(res.Disks, p.resource(t.step(s), KindDisk))
	}
	for _, s := range ruleSteps {
		res.FirewallRules = append(res.FirewallRules, p.resource(t.step(s), KindFirewallRule))
	}
	return res
}

func (p *provision) resource(st Step, kind string) Resource {
	if r, ok := p.made[st.Name]; ok {
		return r
	}
	return Resource{Kind: kind, Name: st.Resource, ID: st.ID}
}
