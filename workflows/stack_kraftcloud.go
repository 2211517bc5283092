package workflows

import (
	"strconv"

	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
)

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

func (c kraftCloudStack) observe(ctx workflow.Context, spec StackSpec, refs []activities.ObserveRef) ([]activities.Observed, error) {
	return observeWith(ctx, spec, "KraftCloudObserve", activities.ObserveInput{Resources: refs})
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
		a.childOptions(ctx, DeployInstanceWorkflowName, *a.in.Spec.KraftCloud), DeployInstanceWorkflowName, *a.in.Spec.KraftCloud), ctx)
	return a.provisionResult([]Resource{res.Volume, res.ServiceGroup, res.Instance}, res.Undone, res.NotUndone), err
}

func (kraftCloudStack) update(workflow.Context, *applyRun, PlanChange) error {
	return errSkipped("KraftCloud instances are immutable: a change is a replace")
}
