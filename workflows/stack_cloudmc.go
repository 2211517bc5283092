package workflows

import (
	"strconv"

	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
)

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
