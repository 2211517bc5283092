package workflows

import (
	"fmt"
	"strconv"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/cloudmc"
)

// cloudMCStack is a stack of a CloudMC instance spec: the instance, a data
// volume and its attachment, and ingress rules (which have no names: their
// fields are their identity, so a changed rule is another rule). The cloud
// changes in place an instance's compute offering (stopped); anything else
// is replaced.
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
	// A stopped instance changes its compute offering (CloudStack's
	// changeServiceForVirtualMachine).
	KindInstance: {"computeOffering": {InPlace: true, Note: "the instance stops for the change, then starts again"}},
	// A volume's size and offering change only by a replace: the CloudMC
	// references (apis/cloudmc-v2-getting-started.txt and NOTES.md) name no
	// volume resize, only create, delete, attach and detach. A smaller size
	// loses data.
	KindVolume: {"sizeGb": {Destructive: func(old, new string) bool { return atoi(new) < atoi(old) }}},
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func (cloudMCStack) rules(kind string) kindRules { return cloudMCRules[kind] }

func (c cloudMCStack) observe(ctx workflow.Context, spec StackSpec, refs []activities.ObserveRef) ([]activities.Observed, error) {
	return observeWith(ctx, spec, "CloudMCObserve", activities.ObserveInput{Resources: refs})
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
		a.childOptions(ctx, ProvisionInstanceWorkflowName, *a.in.Spec.CloudMC), ProvisionInstanceWorkflowName, *a.in.Spec.CloudMC), ctx)
	all := append([]Resource{res.Instance, res.Volume}, res.IngressRules...)
	for _, st := range res.Steps {
		if st.Kind == KindVolumeAttachment && st.State == StepDone {
			all = append(all, Resource{Kind: KindVolumeAttachment, Name: st.Resource, ID: st.ID, Existed: res.Volume.Existed})
		}
	}
	return a.provisionResult(all, res.Undone, res.NotUndone), err
}

// update changes an instance's compute offering in place, the only field
// CloudMC changes so.
func (c cloudMCStack) update(ctx workflow.Context, a *applyRun, ch PlanChange) error {
	inst := a.in.Spec.CloudMC.Instance
	if ch.Kind != KindInstance || ch.Name != inst.Name {
		return errSkipped("CloudMC changes this field only by a replace")
	}
	for _, f := range ch.Fields {
		if f.Field != "computeOffering" {
			return errSkipped("CloudMC changes " + f.Field + " only by a replace")
		}
	}
	return c.changeOffering(ctx, cloudMCTimeouts(a.in.Spec), a.idOf(ch), inst.Name, inst.ComputeOfferingID)
}

// changeOffering stops the instance, changes its compute offering and
// starts it again. When the change fails, the instance is started again
// with the offering it had, rather than left stopped.
func (c cloudMCStack) changeOffering(ctx workflow.Context, t Timeouts, id, name, offering string) error {
	if err := c.action(ctx, t, id, name, activities.ActionStop); err != nil {
		return err
	}
	err := c.call(ctx, t, fmt.Sprintf("change the compute offering of instance %s to %s", name, offering), c.a.CloudMCChangeComputeOffering, activities.CloudMCChangeComputeOfferingInput{
		InstanceID: id, Name: name, ComputeOfferingID: offering,
	}, activities.CloudMCWaitInput{
		Kind: activities.KindCloudMCInstance, ResourceID: id, Name: name, State: cloudmc.InstanceStateStopped, ComputeOfferingID: offering,
	})
	if err != nil {
		// Disconnected: a cancelled apply does not leave the instance down either.
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		if serr := c.action(dctx, t, id, name, activities.ActionStart); serr != nil {
			return temporal.NewNonRetryableApplicationError(fmt.Sprintf("%s; starting instance %s again with its old offering failed too: %s",
				errorMessage(err), name, errorMessage(serr)), ErrTypeStackApplyFailed, err)
		}
		return err
	}
	return c.action(ctx, t, id, name, activities.ActionStart)
}

// action starts or stops the instance and waits until it is there.
func (c cloudMCStack) action(ctx workflow.Context, t Timeouts, id, name, action string) error {
	state := cloudmc.InstanceStateRunning
	if action == activities.ActionStop {
		state = cloudmc.InstanceStateStopped
	}
	return c.call(ctx, t, action+" instance "+name, c.a.CloudMCInstanceAction, activities.CloudMCInstanceActionInput{InstanceID: id, Name: name, Action: action},
		activities.CloudMCWaitInput{Kind: activities.KindCloudMCInstance, ResourceID: id, Name: name, State: state})
}

// call runs an activity, summarized by what, that answers the task it
// started, if any, and waits it out (with no task, the waiter reads the
// instance).
func (c cloudMCStack) call(ctx workflow.Context, t Timeouts, what string, activity, input any, wait activities.CloudMCWaitInput) error {
	var ar activities.CloudMCInstanceActionResult
	if err := workflow.ExecuteActivity(withSummary(callOptions(ctx, t), "%s", what), activity, input).Get(ctx, &ar); err != nil {
		return err
	}
	wait.TaskID, wait.Timeout = ar.TaskID, t.operation()
	return workflow.ExecuteActivity(withSummary(waitOptions(ctx, t), "wait for instance %s to be %s%s", wait.Name, stateWords(wait.State),
		waitingOn("task", ar.TaskID)), c.a.CloudMCWaitTask, wait).Get(ctx, nil)
}
