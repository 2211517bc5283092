package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
)

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

func (c openVZStack) observe(ctx workflow.Context, spec StackSpec, refs []activities.ObserveRef) ([]activities.Observed, error) {
	return observeWith(ctx, spec, "OpenVZObserve", activities.ObserveInput{Resources: refs})
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
		err := workflow.ExecuteActivity(withSummary(callOptions(ctx, t), "delete container %s", r.Name), c.a.OpenVZDeleteContainer,
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
		a.childOptions(ctx, CreateContainerWorkflowName, *a.in.Spec.OpenVZ), CreateContainerWorkflowName, *a.in.Spec.OpenVZ), ctx)
	return a.provisionResult([]Resource{res.Container}, res.Undone, res.NotUndone), err
}

// update sets the container's parameters, all of them as the spec has them.
func (c openVZStack) update(ctx workflow.Context, a *applyRun, ch PlanChange) error {
	in := a.in.Spec.OpenVZ
	p, _ := in.Container.parameters()
	return workflow.ExecuteActivity(withSummary(callOptions(ctx, in.Timeouts), "set the parameters of container %s", in.Container.Name),
		c.a.OpenVZUpdateContainer, activities.OpenVZUpdateContainerInput{
			ID: a.idOf(ch), Name: in.Container.Name, Parameters: p,
		}).Get(ctx, nil)
}
