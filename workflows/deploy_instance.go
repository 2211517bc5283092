package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
)

// Error types of the KraftCloud deployment workflows; their details hold the
// DeployInstanceResult or UndeployInstanceResult.
const (
	ErrTypeDeployFailed           = "DeployInstanceFailed"
	ErrTypeUndeployInstanceFailed = "UndeployInstanceFailed"
)

// DeployInstance creates the volume and the service group (in parallel, each
// when asked for), then the instance, in the group and with the volume
// mounted, and waits until it runs. If any step fails, or the run is
// cancelled, the saga removes what was made, newest first (the instance,
// then the service group, then the volume), and the result names anything it
// could not remove.
func DeployInstance(ctx workflow.Context, in DeployInstanceInput) (DeployInstanceResult, error) {
	t, err := newTracker(ctx, DeployInstanceWorkflowName)
	if err != nil {
		return DeployInstanceResult{}, err
	}
	if err := in.Validate(); err != nil {
		return DeployInstanceResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeDeployFailed, nil)
	}
	d := &deploy{sagaRun: newSagaRun(t, in.Timeouts), in: in}

	// Declare every step first, so the progress query shows the whole plan,
	// and register the undos in the order the resources depend on each other.
	if v := in.Volume; v != nil {
		d.volStep = d.plan(KindVolume, v.Name)
	}
	if g := in.ServiceGroup; g != nil {
		d.sgStep = d.plan(KindServiceGroup, g.Name)
	}
	d.instStep = d.plan(KindInstance, in.Instance.Name)

	runCtx, cancelRun := workflow.WithCancel(ctx)
	d.cancelRun = cancelRun
	d.run(runCtx)

	if d.failedStep == "" && ctx.Err() == nil {
		t.phase(PhaseCompleted)
		return d.result(), nil
	}

	comp := d.compensate(ctx)
	res := d.result()
	res.FailedStep, res.Undone, res.NotUndone = comp.failedStep, comp.undone, comp.notUndone
	return res, d.runError(ctx, comp, ErrTypeDeployFailed, res)
}

// deploy is one DeployInstance run's state, shared by its coroutines. Its
// made records each create from the moment it answered (the instance's
// before its wait).
type deploy struct {
	sagaRun
	a                         *activities.KraftCloudActivities // nil: used only to name activities
	in                        DeployInstanceInput
	volStep, sgStep, instStep string
	fqdn                      string
}

// plan declares a step and registers its undo. The volume and the service
// group stay while the instance that uses them does.
func (d *deploy) plan(kind, name string) string {
	step := d.t.add(kind, name)
	d.saga.add(step, func(ctx workflow.Context) error {
		return d.undo(ctx, step, func(ctx workflow.Context, id string) (bool, error) {
			if kind != KindInstance && d.t.step(d.instStep).State == StepUndoFailed {
				return false, temporal.NewNonRetryableApplicationError(
					fmt.Sprintf("skipped: instance %s still exists and uses it", d.in.Instance.Name), ErrTypeDeployFailed, nil)
			}
			dr, err := kraftRemove(ctx, d.a, d.in.Timeouts, kind, name, id)
			return dr.AlreadyGone, err
		})
	})
	return step
}

func (d *deploy) run(ctx workflow.Context) {
	wg := workflow.NewWaitGroup(ctx)
	if v := d.in.Volume; v != nil {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			if _, ok := d.create(ctx, d.volStep, KindVolume, v.Name, d.a.KraftCloudCreateVolume,
				activities.KraftCloudCreateVolumeInput{Name: v.Name, SizeMB: v.SizeMB}); ok {
				d.t.set(d.volStep, StepDone)
			}
		})
	}
	if g := d.in.ServiceGroup; g != nil {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			services := make([]kraftcloud.Service, len(g.Services))
			for i, s := range g.Services {
				services[i] = kraftcloud.Service{Port: s.Port, DestinationPort: s.DestinationPort, Handlers: s.Handlers}
			}
			if _, ok := d.create(ctx, d.sgStep, KindServiceGroup, g.Name, d.a.KraftCloudCreateServiceGroup,
				activities.KraftCloudCreateServiceGroupInput{Name: g.Name, Services: services, Domains: g.Domains}); ok {
				d.t.set(d.sgStep, StepDone)
			}
		})
	}
	wg.Wait(ctx)
	if d.failedStep != "" || ctx.Err() != nil {
		return
	}

	inst := d.in.Instance
	ci := activities.KraftCloudCreateInstanceInput{
		Name: inst.Name, Image: inst.Image, MemoryMB: inst.MemoryMB, VCPUs: inst.VCPUs,
		Args: inst.Args, Env: inst.Env, Autostart: true,
	}
	if v := d.in.Volume; v != nil {
		ci.Volumes = []activities.KraftCloudMount{{UUID: d.made[d.volStep].ID, At: v.At, ReadOnly: v.ReadOnly}}
	}
	if d.in.ServiceGroup != nil {
		ci.ServiceGroup = d.made[d.sgStep].ID
	}
	r, ok := d.create(ctx, d.instStep, KindInstance, inst.Name, d.a.KraftCloudCreateInstance, ci)
	if !ok {
		return
	}
	if r.Existed && r.State == kraftcloud.StateStopped {
		// Someone else's instance, stopped: waiting would only time out, and
		// starting it is not this run's to decide.
		d.fail(ctx, d.instStep, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"instance %s already exists and is stopped; start it with `cloudflow instances start --provider kraftcloud %s`, or undeploy it first",
			inst.Name, inst.Name), activities.ErrTypeUnexpectedState, nil))
		return
	}
	// The instance answers "starting"; the step is done once it runs.
	var wr activities.BatchResult
	err := workflow.ExecuteActivity(withSummary(waitOptions(ctx, d.in.Timeouts), "wait for instance %s to be running", inst.Name),
		d.a.KraftCloudWaitInstances, activities.KraftCloudWaitInput{
			Refs: []string{firstNonEmpty(r.ID, inst.Name)}, State: kraftcloud.StateRunning, Timeout: d.in.Timeouts.operation(),
		}).Get(ctx, &wr)
	if err == nil {
		err = waitOutcome(inst.Name, wr)
	}
	if err != nil {
		d.fail(ctx, d.instStep, err)
		return
	}
	r.State = kraftcloud.StateRunning
	d.made[d.instStep] = r
	d.t.set(d.instStep, StepDone)
}

// create runs a create activity and records what it answered; the step
// stays running (the caller marks it done).
func (d *deploy) create(ctx workflow.Context, step, kind, name string, activity, input any) (Resource, bool) {
	d.t.set(step, StepRunning)
	var cr activities.KraftCloudCreateResult
	if err := workflow.ExecuteActivity(withSummary(callOptions(ctx, d.in.Timeouts), "%s", actionOn("create", kind, name)),
		activity, input).Get(ctx, &cr); err != nil {
		d.fail(ctx, step, err)
		return Resource{}, false
	}
	r := Resource{Kind: kind, Name: name, ID: cr.UUID, State: cr.State, Existed: cr.Existed}
	d.made[step] = r
	if cr.FQDN != "" {
		d.fqdn = cr.FQDN
	}
	d.t.update(step, func(s *Step) { s.ID = cr.UUID })
	return r, true
}

// fail marks the step failed (or cancelled); a failure (not a
// cancellation) stops the run.
func (d *deploy) fail(ctx workflow.Context, step string, err error) {
	if d.t.fail(ctx, step, err) != StepCanceled {
		d.recordFailure(step, err)
	}
}

func (d *deploy) result() DeployInstanceResult {
	res := DeployInstanceResult{Instance: d.resource(d.instStep), FQDN: d.fqdn, Steps: d.t.snapshot().Steps}
	if d.volStep != "" {
		res.Volume = d.resource(d.volStep)
	}
	if d.sgStep != "" {
		res.ServiceGroup = d.resource(d.sgStep)
	}
	return res
}

func (d *deploy) resource(step string) Resource {
	st := d.t.step(step)
	if r, ok := d.made[step]; ok && st.State == StepDone {
		return r
	}
	return Resource{Kind: st.Kind, Name: st.Resource, ID: st.ID}
}

// kraftRemove deletes a KraftCloud object by UUID when known, else by name.
func kraftRemove(ctx workflow.Context, a *activities.KraftCloudActivities, t Timeouts, kind, name, id string) (activities.KraftCloudDeleteResult, error) {
	var act any
	switch kind {
	case KindInstance:
		act = a.KraftCloudDeleteInstance
	case KindServiceGroup:
		act = a.KraftCloudDeleteServiceGroup
	default:
		act = a.KraftCloudDeleteVolume
	}
	var dr activities.KraftCloudDeleteResult
	err := workflow.ExecuteActivity(withSummary(callOptions(ctx, t), "%s", actionOn("delete", kind, firstNonEmpty(name, id))),
		act, activities.KraftCloudDeleteInput{UUID: id, Name: name}).Get(ctx, &dr)
	return dr, err
}

// waitOutcome turns the wait's item for the instance into an error when it
// did not get to running.
func waitOutcome(name string, wr activities.BatchResult) error {
	if len(wr.Items) != 1 {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("wait for instance %s: the answer had %d items", name, len(wr.Items)), activities.ErrTypeUnexpectedState, nil)
	}
	it := wr.Items[0]
	switch it.Outcome {
	case activities.OutcomeDone:
		return nil
	case activities.OutcomeFailed:
		errType := activities.ErrTypeOperationFailed
		if it.Code == activities.ErrTypeWaitTimeout {
			errType = activities.ErrTypeWaitTimeout
		}
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("instance %s did not get to running: %s (code %s)", name, it.Message, it.Code), errType, nil,
			activities.CloudErrorDetails{Cloud: activities.CloudKraftCloud, Code: it.Code, Message: it.Message})
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("instance %s is still %s after the wait", name, it.State), activities.ErrTypeUnexpectedState, nil)
}

// UndeployInstance deletes the instance, then its service group and its
// volume (in parallel). Whatever is already gone counts as deleted, so a
// repeated run succeeds. The service group and the volume are left alone
// when the instance could not be deleted, since it still uses them.
func UndeployInstance(ctx workflow.Context, in UndeployInstanceInput) (UndeployInstanceResult, error) {
	t, err := newTracker(ctx, UndeployInstanceWorkflowName)
	if err != nil {
		return UndeployInstanceResult{}, err
	}
	if in.InstanceName == "" {
		return UndeployInstanceResult{}, temporal.NewNonRetryableApplicationError("instanceName is required", ErrTypeUndeployInstanceFailed, nil)
	}
	d := &deletions{t: t, timeouts: in.Timeouts, remove: func(ctx workflow.Context, del deletion) (string, bool, error) {
		dr, err := kraftRemove(ctx, nil, in.Timeouts, del.kind, del.name, "")
		return dr.UUID, dr.AlreadyGone, err
	}}
	inst := d.plan(KindInstance, in.InstanceName)
	var rest []deletion
	if in.ServiceGroupName != "" {
		rest = append(rest, d.plan(KindServiceGroup, in.ServiceGroupName))
	}
	if in.VolumeName != "" {
		rest = append(rest, d.plan(KindVolume, in.VolumeName))
	}

	if d.run(ctx, inst) {
		d.runAll(ctx, rest)
	} else {
		d.skip(rest, "skipped: the instance still exists and uses it")
	}
	return finishDeletions(ctx, d, ErrTypeUndeployInstanceFailed, func(steps []Step) UndeployInstanceResult {
		return UndeployInstanceResult{Deleted: d.deleted, AlreadyGone: d.gone, Steps: steps}
	})
}
