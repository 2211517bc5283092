package workflows

import (
	"strconv"

	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
)

// --- CloudMC ---

// cloudMCStack is a stack of a CloudMC instance spec: the instance, a data
// volume and its attachment, and ingress rules (which have no names: their
// fields are their identity, so a changed rule is another rule).
type cloudMCStack struct {
	a *activities.CloudMCActivities // nil: used only to name activities
}

func (cloudMCStack) desired(spec StackSpec, _ map[string]activities.Observed) []desiredResource {
	in := spec.CloudMC
	if in == nil {
		return nil
	}
	inst := in.Instance
	instKey := resourceKey(KindInstance, inst.Name)
	out := []desiredResource{{Key: instKey, Kind: KindInstance, Name: inst.Name, Attrs: map[string]string{
		"computeOffering": inst.ComputeOfferingID, "network": inst.NetworkID, "template": inst.TemplateID,
	}}}
	if v := in.Volume; v != nil {
		volKey := resourceKey(KindVolume, v.Name)
		vol := desiredResource{Key: volKey, Kind: KindVolume, Name: v.Name, Attrs: map[string]string{}}
		if v.DiskOffering != "" {
			// An ID or a name: the observation answers it as given when the
			// volume's offering is that one (see CloudMCObserve).
			vol.Attrs["diskOffering"] = v.DiskOffering
		}
		if v.SizeGB > 0 {
			vol.Attrs["sizeGb"] = strconv.Itoa(v.SizeGB)
		}
		out = append(out, vol,
			desiredResource{Key: resourceKey(KindVolumeAttachment, v.Name), Kind: KindVolumeAttachment, Name: v.Name,
				Attrs: map[string]string{"instance": inst.Name}, Deps: []string{instKey, volKey}})
	}
	for _, r := range in.IngressRules {
		out = append(out, desiredResource{Key: resourceKey(KindIngressRule, r.Label()), Kind: KindIngressRule, Name: r.Label(),
			Attrs: activities.CloudMCRuleAttrs(r.rule(inst.NetworkID)), Deps: []string{instKey}})
	}
	return out
}

var cloudMCRules = map[string]kindRules{
	// A volume's size and offering change only by a replace; a smaller
	// size loses data.
	KindVolume: {"sizeGb": {Destructive: func(old, new string) bool { return atoi(new) < atoi(old) }}},
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func (cloudMCStack) rules(kind string) kindRules { return cloudMCRules[kind] }

func (c cloudMCStack) observe(ctx workflow.Context, _ StackSpec, refs []activities.ObserveRef) ([]activities.Observed, error) {
	return observeWith(ctx, "CloudMCObserve", activities.ObserveInput{Resources: refs})
}

func cloudMCTimeouts(spec StackSpec) Timeouts {
	if spec.CloudMC != nil {
		return spec.CloudMC.Timeouts
	}
	return Timeouts{}
}

// remove deletes the rules, then detaches and deletes the volume, then the
// instance, each by ID; a volume that could not be detached is left alone.
func (c cloudMCStack) remove(ctx workflow.Context, a *applyRun, rs []StackResource) error {
	steps := &cmcSteps{timeouts: cloudMCTimeouts(a.in.Spec), t: a.t}
	instID, instName := "", a.in.Name
	for _, r := range a.in.Resources {
		if r.Kind == KindInstance {
			instID, instName = r.ID, r.Name
		}
	}
	byKind := map[string][]StackResource{}
	for _, r := range rs {
		byKind[r.Kind] = append(byKind[r.Kind], r)
	}
	ok := true
	del := func(ctx workflow.Context, r StackResource) {
		rm := cmcRemoval{kind: r.Kind, name: r.Name, id: r.ID}
		switch r.Kind {
		case KindIngressRule:
			rule := activities.CloudMCRuleFromAttrs(r.Attrs)
			rm.rule, rm.name = &rule, ""
		case KindVolumeAttachment:
			rm.instanceID, rm.instanceName = instID, instName
		}
		_, _, err := steps.remove(ctx, a.deleteSteps[r.Key], rm)
		a.deleted(r.Key, err)
		if err != nil {
			ok = false
		}
	}
	parallel(ctx, byKind[KindIngressRule], del)
	parallel(ctx, byKind[KindVolumeAttachment], del)
	if !ok && len(byKind[KindVolume]) > 0 {
		for _, v := range byKind[KindVolume] {
			a.deleted(v.Key, errSkipped("the volume may still be attached, and the cloud refuses to delete an attached volume"))
		}
	} else {
		parallel(ctx, byKind[KindVolume], del)
	}
	parallel(ctx, byKind[KindInstance], del)
	return failedUnless(ok)
}

func (c cloudMCStack) provision(ctx workflow.Context, a *applyRun) (map[string]Resource, error) {
	res, err := childResult[ProvisionInstanceResult](workflow.ExecuteChildWorkflow(
		a.childOptions(ctx, ProvisionInstanceWorkflowName), ProvisionInstanceWorkflowName, *a.in.Spec.CloudMC), ctx)
	all := append([]Resource{res.Instance, res.Volume}, res.IngressRules...)
	for _, st := range res.Steps {
		if st.Kind == KindVolumeAttachment && st.State == StepDone {
			all = append(all, Resource{Kind: KindVolumeAttachment, Name: st.Resource, ID: st.ID, Existed: res.Volume.Existed})
		}
	}
	return a.provisionResult(all, res.Undone, res.NotUndone), err
}

func (cloudMCStack) update(ctx workflow.Context, a *applyRun, c PlanChange) error {
	return errSkipped("CloudMC changes this field only by a replace")
}

// --- KraftCloud ---

// kraftCloudStack is a stack of a KraftCloud app spec: a volume, a service
// group and the instance that mounts and joins them. KraftCloud instances
// are immutable: any change is a replace.
type kraftCloudStack struct {
	a *activities.KraftCloudActivities // nil: used only to name activities
}

func (kraftCloudStack) desired(spec StackSpec, _ map[string]activities.Observed) []desiredResource {
	in := spec.KraftCloud
	if in == nil {
		return nil
	}
	var out, deps []desiredResource
	if v := in.Volume; v != nil {
		deps = append(deps, desiredResource{Key: resourceKey(KindVolume, v.Name), Kind: KindVolume, Name: v.Name,
			Attrs: map[string]string{"sizeMb": strconv.Itoa(v.SizeMB)}})
	}
	if g := in.ServiceGroup; g != nil {
		svcs := make([]kraftcloud.Service, len(g.Services))
		for i, s := range g.Services {
			svcs[i] = kraftcloud.Service{Port: s.Port, DestinationPort: s.DestinationPort, Handlers: s.Handlers}
		}
		sg := desiredResource{Key: resourceKey(KindServiceGroup, g.Name), Kind: KindServiceGroup, Name: g.Name,
			Attrs: map[string]string{"services": activities.KraftCloudServices(svcs)}}
		if len(g.Domains) > 0 {
			// Without domains of its own, the group answers on a name the
			// cloud gives it.
			sg.Attrs["domains"] = activities.CanonicalList(g.Domains)
		}
		deps = append(deps, sg)
	}
	out = append(out, deps...)
	i := in.Instance
	d := desiredResource{Key: resourceKey(KindInstance, i.Name), Kind: KindInstance, Name: i.Name,
		Attrs:     map[string]string{"image": i.Image, "args": activities.KraftCloudArgs(i.Args)},
		WriteOnly: map[string]string{"env": activities.Digest(envDigestInput(i.Env))}}
	if i.MemoryMB > 0 {
		d.Attrs["memoryMb"] = strconv.Itoa(i.MemoryMB)
	}
	if i.VCPUs > 0 {
		d.Attrs["vcpus"] = strconv.Itoa(i.VCPUs)
	}
	for _, x := range deps {
		d.Deps = append(d.Deps, x.Key)
	}
	return append(out, d)
}

// envDigestInput is env in a stable order, for its digest.
func envDigestInput(env map[string]string) string {
	s := ""
	for _, k := range sortedKeys(env) {
		s += k + "=" + env[k] + "\x00"
	}
	return s
}

func (kraftCloudStack) rules(string) kindRules { return nil }

func (c kraftCloudStack) observe(ctx workflow.Context, _ StackSpec, refs []activities.ObserveRef) ([]activities.Observed, error) {
	return observeWith(ctx, "KraftCloudObserve", activities.ObserveInput{Resources: refs})
}

// remove deletes the instance, then the service group and the volume it
// used, each by UUID.
func (c kraftCloudStack) remove(ctx workflow.Context, a *applyRun, rs []StackResource) error {
	t := Timeouts{}
	if a.in.Spec.KraftCloud != nil {
		t = a.in.Spec.KraftCloud.Timeouts
	}
	ok := true
	del := func(ctx workflow.Context, r StackResource) {
		a.t.set(a.deleteSteps[r.Key], StepRunning)
		_, err := kraftRemove(ctx, c.a, t, r.Kind, r.Name, r.ID)
		a.deleted(r.Key, err)
		if err != nil {
			ok = false
		}
	}
	var inst, rest []StackResource
	for _, r := range rs {
		if r.Kind == KindInstance {
			inst = append(inst, r)
		} else {
			rest = append(rest, r)
		}
	}
	parallel(ctx, inst, del)
	if !ok {
		for _, r := range rest {
			a.deleted(r.Key, errSkipped("the instance still exists and uses it"))
		}
		return failedUnless(false)
	}
	parallel(ctx, rest, del)
	return failedUnless(ok)
}

func (c kraftCloudStack) provision(ctx workflow.Context, a *applyRun) (map[string]Resource, error) {
	res, err := childResult[DeployInstanceResult](workflow.ExecuteChildWorkflow(
		a.childOptions(ctx, DeployInstanceWorkflowName), DeployInstanceWorkflowName, *a.in.Spec.KraftCloud), ctx)
	return a.provisionResult([]Resource{res.Volume, res.ServiceGroup, res.Instance}, res.Undone, res.NotUndone), err
}

func (kraftCloudStack) update(workflow.Context, *applyRun, PlanChange) error {
	return errSkipped("KraftCloud instances are immutable: a change is a replace")
}

// --- container API ---

// openVZStack is a stack of a container spec. The API changes a
// container's parameters in place (PATCH); its OS template only by a
// replace.
type openVZStack struct {
	a *activities.OpenVZActivities // nil: used only to name activities
}

func (openVZStack) desired(spec StackSpec, _ map[string]activities.Observed) []desiredResource {
	in := spec.OpenVZ
	if in == nil {
		return nil
	}
	ct := in.Container
	p, _ := ct.parameters()
	attrs := activities.OpenVZParameterAttrs(p)
	attrs["osTemplate"] = ct.OSTemplate
	return []desiredResource{{Key: resourceKey(KindContainer, ct.Name), Kind: KindContainer, Name: ct.Name, Attrs: attrs}}
}

var openVZRules = kindRules{
	"hostname": {InPlace: true}, "cpus": {InPlace: true}, "memory": {InPlace: true},
	"disk": {InPlace: true}, "ipAddress": {InPlace: true}, "nameservers": {InPlace: true},
}

func (openVZStack) rules(string) kindRules { return openVZRules }

func (c openVZStack) observe(ctx workflow.Context, _ StackSpec, refs []activities.ObserveRef) ([]activities.Observed, error) {
	return observeWith(ctx, "OpenVZObserve", activities.ObserveInput{Resources: refs})
}

func (c openVZStack) remove(ctx workflow.Context, a *applyRun, rs []StackResource) error {
	t := Timeouts{}
	if a.in.Spec.OpenVZ != nil {
		t = a.in.Spec.OpenVZ.Timeouts
	}
	ok := true
	parallel(ctx, rs, func(ctx workflow.Context, r StackResource) {
		a.t.set(a.deleteSteps[r.Key], StepRunning)
		var dr activities.OpenVZDeleteContainerResult
		err := workflow.ExecuteActivity(callOptions(ctx, t), c.a.OpenVZDeleteContainer,
			activities.OpenVZDeleteContainerInput{ID: r.ID, Name: r.Name}).Get(ctx, &dr)
		a.deleted(r.Key, err)
		if err != nil {
			ok = false
		}
	})
	return failedUnless(ok)
}

func (c openVZStack) provision(ctx workflow.Context, a *applyRun) (map[string]Resource, error) {
	res, err := childResult[CreateContainerResult](workflow.ExecuteChildWorkflow(
		a.childOptions(ctx, CreateContainerWorkflowName), CreateContainerWorkflowName, *a.in.Spec.OpenVZ), ctx)
	return a.provisionResult([]Resource{res.Container}, res.Undone, res.NotUndone), err
}

// update sets the container's parameters, all of them as the spec has them.
func (c openVZStack) update(ctx workflow.Context, a *applyRun, ch PlanChange) error {
	in := a.in.Spec.OpenVZ
	p, _ := in.Container.parameters()
	return workflow.ExecuteActivity(callOptions(ctx, in.Timeouts), c.a.OpenVZUpdateContainer, activities.OpenVZUpdateContainerInput{
		ID: a.idOf(ch), Name: in.Container.Name, Parameters: p,
	}).Get(ctx, nil)
}
