package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/crusoe"
)

// crusoeStack is a stack of a Crusoe VM spec: data disks, the VM with the
// disks attached, and firewall rules. The cloud changes in place a disk's
// size (growing only), a VM's type (stopped) and attached disks, and a
// rule's protocols, addresses and ports (PATCH); anything else is replaced.
type crusoeStack struct {
	a *activities.CrusoeActivities // nil: used only to name activities
}

const crusoeDefaultDiskType, crusoeDefaultDiskMode = "persistent-ssd", "read-write"

func (crusoeStack) desired(spec StackSpec, obs map[string]activities.Observed) []desiredResource {
	in := spec.Crusoe
	if in == nil {
		return nil
	}
	var out []desiredResource
	var diskKeys, attached []string
	for _, d := range in.Disks {
		key := resourceKey(KindDisk, d.Name)
		diskKeys = append(diskKeys, key)
		attached = append(attached, d.Name+":"+orDefault(d.Mode, crusoeDefaultDiskMode))
		out = append(out, desiredResource{Key: key, Kind: KindDisk, Name: d.Name, Attrs: map[string]string{
			"size": activities.CrusoeDiskSize(d.Size), "type": orDefault(d.Type, crusoeDefaultDiskType), "location": in.VM.Location,
		}})
	}
	vm := in.VM
	vmKey := resourceKey(KindVM, vm.Name)
	out = append(out, desiredResource{Key: vmKey, Kind: KindVM, Name: vm.Name, Deps: diskKeys,
		Attrs: map[string]string{"type": vm.Type, "location": vm.Location, "disks": activities.CanonicalList(attached)},
		WriteOnly: map[string]string{
			"image": activities.Digest(vm.Image), "sshPublicKey": activities.Digest(vm.SSHPublicKey),
			"startupScript": activities.Digest(vm.StartupScript), "shutdownScript": activities.Digest(vm.ShutdownScript),
		}})
	vmAddr := "vm:(new)"
	if o, ok := obs[vmKey]; ok && o.Found {
		vmAddr = "vm:" + o.ID
	}
	for _, r := range in.FirewallRules {
		d := desiredResource{Key: resourceKey(KindFirewallRule, r.Name), Kind: KindFirewallRule, Name: r.Name,
			Attrs: map[string]string{
				"direction": r.Direction, "action": r.Action, "protocols": activities.CanonicalList(r.Protocols),
				"sources": crusoeAddrs(r.Sources, vmAddr), "destinations": crusoeAddrs(r.Destinations, vmAddr),
				"sourcePorts": activities.CanonicalList(r.SourcePorts), "destinationPorts": activities.CanonicalList(r.DestinationPorts),
			},
			WriteOnly: map[string]string{"vpcNetwork": activities.Digest(r.VPCNetworkID + "|" + r.VPCNetwork)},
		}
		if r.TargetsVM() {
			d.Deps = []string{vmKey}
		}
		out = append(out, d)
	}
	return out
}

func crusoeAddrs(addrs []string, vmAddr string) string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		if a == TargetVM {
			out[i] = vmAddr
		} else {
			out[i] = activities.CanonicalCIDR(a)
		}
	}
	return activities.CanonicalList(out)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

var crusoeRules = map[string]kindRules{
	KindDisk: {"size": {InPlace: true, Destructive: activities.CrusoeDiskShrinks}},
	KindVM: {
		"type":  {InPlace: true, Note: "the vm stops for the type change, then starts again"},
		"disks": {InPlace: true, Note: "disks are attached to or detached from the running vm"},
	},
	KindFirewallRule: {
		"protocols": {InPlace: true}, "sources": {InPlace: true}, "destinations": {InPlace: true},
		"sourcePorts": {InPlace: true}, "destinationPorts": {InPlace: true},
	},
}

func (crusoeStack) rules(kind string) kindRules { return crusoeRules[kind] }

func (c crusoeStack) observe(ctx workflow.Context, spec StackSpec, refs []activities.ObserveRef) ([]activities.Observed, error) {
	return observeWith(ctx, spec, "CrusoeObserve", activities.ObserveInput{ProjectID: crusoeProject(spec), Resources: refs})
}

func crusoeProject(spec StackSpec) string {
	if spec.Crusoe != nil {
		return spec.Crusoe.ProjectID
	}
	return ""
}

func crusoeTimeouts(spec StackSpec) Timeouts {
	if spec.Crusoe != nil {
		return spec.Crusoe.Timeouts
	}
	return Timeouts{}
}

func (c crusoeStack) steps(a *applyRun) *crusoeSteps {
	return &crusoeSteps{projectID: crusoeProject(a.in.Spec), timeouts: crusoeTimeouts(a.in.Spec), t: a.t}
}

// remove deletes the rules, then the VM, then the disks, each by ID. A disk
// whose VM stays is detached from it first; disks are left alone when their
// VM could not be deleted (the cloud refuses to delete an attached disk).
func (c crusoeStack) remove(ctx workflow.Context, a *applyRun, rs []StackResource) error {
	steps := c.steps(a)
	byKind := map[string][]StackResource{}
	for _, r := range rs {
		byKind[r.Kind] = append(byKind[r.Kind], r)
	}
	ok := true
	del := func(ctx workflow.Context, r StackResource) {
		_, _, err := steps.remove(ctx, a.deleteSteps[r.Key], r.Kind, r.Name, r.ID)
		a.deleted(r.Key, err)
		if err != nil {
			ok = false
		}
	}
	parallel(ctx, byKind[KindFirewallRule], del)
	parallel(ctx, byKind[KindVM], del)
	disks := byKind[KindDisk]
	if len(disks) == 0 {
		return failedUnless(ok)
	}
	if len(byKind[KindVM]) > 0 && !ok {
		for _, d := range disks {
			a.deleted(d.Key, errSkipped("the vm still exists, and attached disks cannot be deleted"))
		}
		return failedUnless(false)
	}
	if vm, stays := c.vm(a); stays && len(byKind[KindVM]) == 0 {
		var detach []crusoe.DiskAttachment
		for _, d := range disks {
			if d.ID != "" {
				detach = append(detach, crusoe.DiskAttachment{DiskID: d.ID})
			}
		}
		if len(detach) > 0 {
			if err := c.attachment(ctx, a, "detach", c.a.CrusoeDetachDisks, activities.AttachDisksInput{
				ProjectID: crusoeProject(a.in.Spec), VMID: vm.ID, Name: vm.Name, Disks: detach,
			}); err != nil {
				for _, d := range disks {
					a.deleted(d.Key, err)
				}
				return err
			}
		}
	}
	parallel(ctx, disks, del)
	return failedUnless(ok)
}

// vm is the stack's VM, when it has one that is not being deleted.
func (c crusoeStack) vm(a *applyRun) (StackResource, bool) {
	for _, r := range a.in.Resources {
		if r.Kind == KindVM && r.ID != "" && !a.removed[r.Key] {
			return r, true
		}
	}
	return StackResource{}, false
}

// provision runs ProvisionVM for the whole spec: it makes the missing disks,
// VM and rules and adopts what exists. When the VM existed before, disks it
// made are attached to it afterwards.
func (c crusoeStack) provision(ctx workflow.Context, a *applyRun) (map[string]Resource, error) {
	in := *a.in.Spec.Crusoe
	res, err := childResult[ProvisionVMResult](
		workflow.ExecuteChildWorkflow(a.childOptions(ctx, ProvisionVMWorkflowName, in), ProvisionVMWorkflowName, in), ctx)
	all := append(append([]Resource{res.VM}, res.Disks...), res.FirewallRules...)
	made := a.provisionResult(all, res.Undone, res.NotUndone)
	if err != nil {
		return made, err
	}
	if res.VM.Existed {
		return made, c.attachDisks(ctx, a, res.VM.ID, made)
	}
	return made, nil
}

// attachDisks attaches the spec's disks to an existing VM (those attached
// already are left as they are).
func (c crusoeStack) attachDisks(ctx workflow.Context, a *applyRun, vmID string, made map[string]Resource) error {
	in := a.in.Spec.Crusoe
	var disks []crusoe.DiskAttachment
	for _, d := range in.Disks {
		id := made[resourceKey(KindDisk, d.Name)].ID
		if id == "" {
			continue
		}
		disks = append(disks, crusoe.DiskAttachment{DiskID: id, Mode: orDefault(d.Mode, crusoeDefaultDiskMode), AttachmentType: "data"})
	}
	if len(disks) == 0 {
		return nil
	}
	return c.attachment(ctx, a, "attach", c.a.CrusoeAttachDisks, activities.AttachDisksInput{
		ProjectID: in.ProjectID, VMID: vmID, Name: in.VM.Name, Disks: disks,
	})
}

// attachment runs an attach or detach (verb) activity and waits for its
// operation.
func (c crusoeStack) attachment(ctx workflow.Context, a *applyRun, verb string, activity any, in activities.AttachDisksInput) error {
	what := fmt.Sprintf("%s disks of vm %s", verb, in.Name)
	if n := len(in.Disks); n > 0 {
		what = fmt.Sprintf("%s %s of vm %s", verb, plural(n, "disk"), in.Name)
	}
	return c.call(ctx, a, what, KindVM, in.Name, activity, in)
}

// call runs one change activity, summarized by what, and waits for the
// operation it started, if any.
func (c crusoeStack) call(ctx workflow.Context, a *applyRun, what, kind, name string, activity, input any) error {
	t := crusoeTimeouts(a.in.Spec)
	var cr activities.CreateResult
	if err := workflow.ExecuteActivity(withSummary(callOptions(ctx, t), "%s", what), activity, input).Get(ctx, &cr); err != nil {
		return err
	}
	if cr.OperationID == "" {
		return nil
	}
	return workflow.ExecuteActivity(withSummary(waitOptions(ctx, t), "wait for %s%s", resourceWords(kind, name),
		waitingOn("operation", cr.OperationID)), c.a.CrusoeWait, activities.WaitInput{
		ProjectID: crusoeProject(a.in.Spec), Kind: kind, OperationID: cr.OperationID, ResourceID: cr.ResourceID,
		Name: name, Timeout: t.operation(),
	}).Get(ctx, nil)
}

// update makes one change in place.
func (c crusoeStack) update(ctx workflow.Context, a *applyRun, ch PlanChange) error {
	in := a.in.Spec.Crusoe
	project := in.ProjectID
	id := a.idOf(ch)
	switch ch.Kind {
	case KindDisk:
		for _, d := range in.Disks {
			if d.Name == ch.Name {
				return c.call(ctx, a, fmt.Sprintf("resize disk %s to %s", d.Name, d.Size), KindDisk, d.Name, c.a.CrusoeResizeDisk, activities.ResizeDiskInput{
					ProjectID: project, ID: id, Name: d.Name, Size: d.Size,
				})
			}
		}
	case KindFirewallRule:
		vmID := a.idOf(PlanChange{Key: resourceKey(KindVM, in.VM.Name)})
		for _, r := range in.FirewallRules {
			if r.Name == ch.Name {
				return c.call(ctx, a, actionOn("update", KindFirewallRule, r.Name), KindFirewallRule, r.Name, c.a.CrusoeUpdateFirewallRule, activities.UpdateFirewallRuleInput{
					ProjectID: project, ID: id, Name: r.Name, Protocols: r.Protocols, Sources: r.Sources,
					Destinations: r.Destinations, SourcePorts: r.SourcePorts, DestinationPorts: r.DestinationPorts, VMID: vmID,
				})
			}
		}
	case KindVM:
		for _, f := range ch.Fields {
			var err error
			switch f.Field {
			case "type":
				err = c.changeType(ctx, a, id, in.VM.Name, in.VM.Type)
			case "disks":
				err = c.syncDisks(ctx, a, id)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	return errSkipped("no such resource in the spec")
}

// changeType stops the VM, changes its type and starts it again.
func (c crusoeStack) changeType(ctx workflow.Context, a *applyRun, id, name, typ string) error {
	project := crusoeProject(a.in.Spec)
	if err := c.action(ctx, a, id, name, crusoe.VMActionStop, crusoe.VMStateStopped); err != nil {
		return err
	}
	if err := c.call(ctx, a, fmt.Sprintf("change the type of vm %s to %s", name, typ), KindVM, name, c.a.CrusoeUpdateVMType, activities.UpdateVMTypeInput{
		ProjectID: project, ID: id, Name: name, Type: typ,
	}); err != nil {
		return err
	}
	return c.action(ctx, a, id, name, crusoe.VMActionStart, crusoe.VMStateRunning)
}

// action starts or stops the VM and waits until it is in target.
func (c crusoeStack) action(ctx workflow.Context, a *applyRun, id, name, action, target string) error {
	t := crusoeTimeouts(a.in.Spec)
	project := crusoeProject(a.in.Spec)
	var ar activities.VMActionResult
	if err := workflow.ExecuteActivity(withSummary(callOptions(ctx, t), "%s vm %s", strings.ToLower(action), name),
		c.a.CrusoeVMAction, activities.VMActionInput{
			ProjectID: project, VMID: id, Name: name, Action: action,
		}).Get(ctx, &ar); err != nil {
		return err
	}
	return workflow.ExecuteActivity(withSummary(waitOptions(ctx, t), "wait for vm %s to be %s%s", name, stateWords(target),
		waitingOn("operation", ar.OperationID)), c.a.CrusoeWait, activities.WaitInput{
		ProjectID: project, Kind: KindVM, OperationID: ar.OperationID, ResourceID: id, Name: name,
		TargetState: target, Timeout: t.operation(),
	}).Get(ctx, nil)
}

// syncDisks makes the VM's data disks those of the spec: it detaches any
// other, then attaches those missing.
func (c crusoeStack) syncDisks(ctx workflow.Context, a *applyRun, vmID string) error {
	in := a.in.Spec.Crusoe
	ids := map[string]Resource{}
	var keep []string
	for _, d := range in.Disks {
		key := resourceKey(KindDisk, d.Name)
		id := a.idOf(PlanChange{Key: key})
		if id != "" {
			keep = append(keep, id)
			ids[key] = Resource{ID: id}
		}
	}
	if err := c.attachment(ctx, a, "detach", c.a.CrusoeDetachDisks, activities.AttachDisksInput{
		ProjectID: in.ProjectID, VMID: vmID, Name: in.VM.Name, DetachOthers: true, OnlyKeep: keep,
	}); err != nil {
		return err
	}
	return c.attachDisks(ctx, a, vmID, ids)
}
