package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
)

// ProvisionInstance looks up the disk offering of the data volume, then
// creates a CloudMC instance and the volume in parallel, then attaches the
// volume to the instance, then opens the ingress rules in parallel; each
// step is a CloudMC task, waited out durably. A disk offering that does not
// exist, or does not take the size given, fails the run before anything is
// created. If a later step fails, or the run is cancelled, the saga undoes
// what was made in reverse (the rules, the attachment, the volume, the
// instance), keeps what existed before the run, and the result names
// anything it could not undo.
func ProvisionInstance(ctx workflow.Context, in ProvisionInstanceInput) (ProvisionInstanceResult, error) {
	t, err := newTracker(ctx, ProvisionInstanceWorkflowName)
	if err != nil {
		return ProvisionInstanceResult{}, err
	}
	if err := in.Validate(); err != nil {
		return ProvisionInstanceResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeProvisionInstanceFailed, nil)
	}
	p := &cmcProvision{sagaRun: newSagaRun(t, in.Timeouts), c: &cmcSteps{timeouts: in.Timeouts, t: t}, in: in}

	// Declare every step first, so the progress query shows the whole plan,
	// and register the undos in the order the resources depend on each
	// other: undone in reverse, the rules go first and the instance last.
	if v := in.Volume; v != nil && workflow.GetVersion(ctx, cmcDiskOfferingChange, workflow.DefaultVersion, 1) == 1 {
		// A lookup makes nothing: the step has no undo.
		p.offeringStep = t.add(KindDiskOffering, v.diskOfferingRef())
	}
	p.instStep = p.plan(KindInstance, in.Instance.Name, nil)
	if v := in.Volume; v != nil {
		p.volStep = p.plan(KindVolume, v.Name, nil)
		p.attachStep = p.plan(KindVolumeAttachment, v.Name, nil)
	}
	for _, r := range in.IngressRules {
		rule := r.rule(in.Instance.NetworkID)
		p.ruleSteps = append(p.ruleSteps, p.plan(KindIngressRule, r.Label(), &rule))
	}

	runCtx, cancelRun := workflow.WithCancel(ctx)
	p.cancelRun = cancelRun
	if p.resolveDiskOffering(runCtx) {
		p.run(runCtx)
	}

	if p.failedStep == "" && ctx.Err() == nil {
		t.phase(PhaseCompleted)
		return p.result(), nil
	}
	comp := p.compensate(ctx)
	res := p.result()
	res.FailedStep, res.Undone, res.NotUndone = comp.failedStep, comp.undone, comp.notUndone
	return res, p.runError(ctx, comp, ErrTypeProvisionInstanceFailed, res)
}

// cmcProvision is one ProvisionInstance run's state, shared by its
// coroutines. Its made records each create from the moment it answered, so
// that undo knows what existed before the run.
type cmcProvision struct {
	sagaRun
	c                             *cmcSteps
	in                            ProvisionInstanceInput
	instStep, volStep, attachStep string
	ruleSteps                     []string
	// offeringStep looks up the volume's disk offering (runs from before
	// cmcDiskOfferingChange have none), which gives offering.
	offeringStep string
	offering     activities.CloudMCDiskOffering
}

// resolveDiskOffering looks up the disk offering the volume is made from,
// and checks the size against it, before anything is created. It reports
// whether the run goes on.
func (p *cmcProvision) resolveDiskOffering(ctx workflow.Context) bool {
	if p.offeringStep == "" {
		return true
	}
	v := p.in.Volume
	p.t.set(p.offeringStep, StepRunning)
	err := workflow.ExecuteActivity(withSummary(callOptions(ctx, p.in.Timeouts), "look up disk offering %s for volume %s", v.diskOfferingRef(), v.Name),
		p.c.a.CloudMCResolveDiskOffering, activities.CloudMCResolveDiskOfferingInput{
			DiskOffering: v.DiskOffering, SizeGB: v.SizeGB, VolumeName: v.Name,
		}).Get(ctx, &p.offering)
	if err != nil {
		p.fail(ctx, p.offeringStep, err)
		return false
	}
	p.t.update(p.offeringStep, func(s *Step) { s.ID, s.State = p.offering.ID, StepDone })
	return true
}

// plan declares a step and registers its undo. The volume is not deleted
// while it may still be attached to the instance.
func (p *cmcProvision) plan(kind, name string, rule *activities.CloudMCRule) string {
	step := p.t.add(kind, name)
	p.saga.add(step, func(ctx workflow.Context) error {
		return p.undo(ctx, step, func(ctx workflow.Context, id string) (bool, error) {
			if kind == KindVolume && p.t.step(p.attachStep).State == StepUndoFailed {
				return false, temporal.NewNonRetryableApplicationError(
					fmt.Sprintf("skipped: volume %s is still attached to instance %s", name, p.in.Instance.Name), ErrTypeProvisionInstanceFailed, nil)
			}
			rm := cmcRemoval{kind: kind, name: name, id: id, rule: rule}
			if kind == KindVolumeAttachment {
				rm.instanceID = firstNonEmpty(p.made[p.instStep].ID, p.t.step(p.instStep).ID)
				rm.instanceName = p.in.Instance.Name
			}
			_, gone, err := p.c.remove(ctx, step, rm)
			return gone, err
		})
	})
	return step
}

func (p *cmcProvision) run(ctx workflow.Context) {
	inst, vol := p.in.Instance, p.in.Volume
	wg := workflow.NewWaitGroup(ctx)
	wg.Add(1)
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer wg.Done()
		p.create(ctx, p.instStep, p.c.a.CloudMCCreateInstance, activities.CloudMCCreateInstanceInput{
			Name: inst.Name, ComputeOfferingID: inst.ComputeOfferingID, NetworkID: inst.NetworkID, TemplateID: inst.TemplateID,
		}, activities.CloudMCWaitInput{Kind: activities.KindCloudMCInstance, Name: inst.Name})
	})
	if vol != nil {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			p.create(ctx, p.volStep, p.c.a.CloudMCCreateVolume, activities.CloudMCCreateVolumeInput{
				Name: vol.Name, DiskOfferingID: p.offering.ID, SizeGB: vol.SizeGB,
			}, activities.CloudMCWaitInput{Kind: activities.KindCloudMCVolume, Name: vol.Name})
		})
	}
	wg.Wait(ctx)
	if p.failedStep != "" || ctx.Err() != nil {
		return
	}

	if vol != nil {
		volID, instID := p.made[p.volStep].ID, p.made[p.instStep].ID
		if !p.create(ctx, p.attachStep, p.c.a.CloudMCAttachVolume,
			activities.CloudMCAttachVolumeInput{VolumeID: volID, InstanceID: instID, VolumeName: vol.Name},
			activities.CloudMCWaitInput{Kind: activities.KindCloudMCAttachment, ResourceID: volID, Name: vol.Name, InstanceID: instID}) {
			return
		}
	}

	wg = workflow.NewWaitGroup(ctx)
	for i, r := range p.in.IngressRules {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			rule := r.rule(inst.NetworkID)
			p.create(ctx, p.ruleSteps[i], p.c.a.CloudMCCreateIngressRule, activities.CloudMCCreateIngressRuleInput{Rule: rule},
				activities.CloudMCWaitInput{Kind: activities.KindCloudMCIngressRule, Rule: &rule})
		})
	}
	wg.Wait(ctx)
}

// create runs a create (or attach) activity, records what it answered, and
// waits out its task (or, when none was started, reads the resource). It
// reports success; a failure (not a cancellation) stops the run.
func (p *cmcProvision) create(ctx workflow.Context, step string, activity, input any, wait activities.CloudMCWaitInput) bool {
	st := p.t.step(step)
	p.t.set(step, StepRunning)
	var cr activities.CloudMCCreateResult
	if err := workflow.ExecuteActivity(withSummary(callOptions(ctx, p.in.Timeouts), "%s", actionOn("create", st.Kind, st.Resource)),
		activity, input).Get(ctx, &cr); err != nil {
		p.fail(ctx, step, err)
		return false
	}
	r := Resource{Kind: st.Kind, Name: st.Resource, ID: cr.ResourceID, State: cr.State, Existed: cr.Existed}
	p.made[step] = r
	p.t.update(step, func(s *Step) { s.ID, s.OperationID = cr.ResourceID, cr.TaskID })

	wait.TaskID, wait.ResourceID = cr.TaskID, firstNonEmpty(cr.ResourceID, wait.ResourceID)
	wait.Timeout = p.in.Timeouts.operation()
	var wr activities.CloudMCWaitResult
	if err := workflow.ExecuteActivity(withSummary(waitOptions(ctx, p.in.Timeouts), "wait for %s%s",
		resourceWords(st.Kind, st.Resource), waitingOn("task", cr.TaskID)), p.c.a.CloudMCWaitTask, wait).Get(ctx, &wr); err != nil {
		p.t.update(step, func(s *Step) { s.OperationID = "" })
		p.fail(ctx, step, err)
		return false
	}
	r.ID, r.State = firstNonEmpty(wr.ResourceID, r.ID), firstNonEmpty(wr.State, r.State)
	p.made[step] = r
	p.t.update(step, func(s *Step) { s.ID, s.State, s.OperationID = r.ID, StepDone, "" })
	return true
}

// fail marks the step failed (or cancelled); a failure (not a
// cancellation) stops the run.
func (p *cmcProvision) fail(ctx workflow.Context, step string, err error) {
	if p.t.fail(ctx, step, err) != StepCanceled {
		p.recordFailure(step, err)
	}
}

func (p *cmcProvision) result() ProvisionInstanceResult {
	res := ProvisionInstanceResult{Instance: p.resource(p.instStep), Steps: p.t.snapshot().Steps}
	if p.volStep != "" {
		res.Volume = p.resource(p.volStep)
	}
	for _, s := range p.ruleSteps {
		res.IngressRules = append(res.IngressRules, p.resource(s))
	}
	return res
}

func (p *cmcProvision) resource(step string) Resource {
	st := p.t.step(step)
	if r, ok := p.made[step]; ok && st.State == StepDone {
		return r
	}
	return Resource{Kind: st.Kind, Name: st.Resource, ID: st.ID}
}

// DeprovisionInstance removes what ProvisionInstance made: the ingress
// rules (in parallel), then the volume (detached first), then the instance,
// whose OS volume goes with it. Whatever is already gone counts as deleted,
// so a repeated run succeeds. A volume that could not be detached is left
// alone, since the cloud refuses to delete an attached volume.
func DeprovisionInstance(ctx workflow.Context, in DeprovisionInstanceInput) (DeprovisionInstanceResult, error) {
	t, err := newTracker(ctx, DeprovisionInstanceWorkflowName)
	if err != nil {
		return DeprovisionInstanceResult{}, err
	}
	if err := in.Validate(); err != nil {
		return DeprovisionInstanceResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeDeprovisionInstanceFailed, nil)
	}
	c := &cmcSteps{timeouts: in.Timeouts, t: t}
	rules := map[string]*activities.CloudMCRule{}
	d := &deletions{t: t, timeouts: in.Timeouts, remove: func(ctx workflow.Context, del deletion) (string, bool, error) {
		rm := cmcRemoval{kind: del.kind, name: del.name, rule: rules[del.step]}
		if del.kind == KindVolumeAttachment {
			rm.instanceName = in.InstanceName
		}
		return c.remove(ctx, del.step, rm)
	}}

	var ruleDels []deletion
	for _, r := range in.IngressRules {
		del := d.plan(KindIngressRule, r.Label())
		rule := r.rule(in.NetworkID)
		rules[del.step] = &rule
		ruleDels = append(ruleDels, del)
	}
	var volDels []deletion
	if in.VolumeName != "" {
		volDels = []deletion{d.plan(KindVolumeAttachment, in.VolumeName), d.plan(KindVolume, in.VolumeName)}
	}
	inst := d.plan(KindInstance, in.InstanceName)

	d.runAll(ctx, ruleDels)
	if len(volDels) > 0 {
		if d.run(ctx, volDels[0]) {
			d.run(ctx, volDels[1])
		} else {
			d.skip(volDels[1:], "skipped: the volume is still attached, and the cloud refuses to delete an attached volume")
		}
	}
	d.run(ctx, inst)
	return finishDeletions(ctx, d, ErrTypeDeprovisionInstanceFailed, func(steps []Step) DeprovisionInstanceResult {
		return DeprovisionInstanceResult{Deleted: d.deleted, AlreadyGone: d.gone, Steps: steps}
	})
}

// cmcSteps runs CloudMC removals: the delete (or detach) call, then the
// durable wait for its task, with the step's progress kept in the tracker.
type cmcSteps struct {
	a        *activities.CloudMCActivities // nil: used only to name activities
	timeouts Timeouts
	t        *tracker
}

// cmcRemoval is what a CloudMC removal acts on: a resource of a kind, by ID
// when known, else by name (an ingress rule by its fields); an attachment
// is its volume's, detached from the instance named.
type cmcRemoval struct {
	kind, name, id           string
	rule                     *activities.CloudMCRule
	instanceID, instanceName string
}

// remove deletes (or detaches) and waits until it is done. It returns the
// resource's ID, if there was one, and whether there was nothing to remove.
func (c *cmcSteps) remove(ctx workflow.Context, step string, rm cmcRemoval) (string, bool, error) {
	var act, in any
	wait := activities.CloudMCWaitInput{Name: rm.name, Gone: true, Timeout: c.timeouts.operation()}
	switch rm.kind {
	case KindInstance:
		act, in = c.a.CloudMCDeleteInstance, activities.CloudMCDeleteInput{ID: rm.id, Name: rm.name}
		wait.Kind = activities.KindCloudMCInstance
	case KindVolume:
		act, in = c.a.CloudMCDeleteVolume, activities.CloudMCDeleteInput{ID: rm.id, Name: rm.name}
		wait.Kind = activities.KindCloudMCVolume
	case KindVolumeAttachment:
		act = c.a.CloudMCDetachVolume
		in = activities.CloudMCDetachVolumeInput{VolumeID: rm.id, VolumeName: rm.name, InstanceID: rm.instanceID, InstanceName: rm.instanceName}
		wait.Kind, wait.InstanceID = activities.KindCloudMCAttachment, rm.instanceID
	default:
		rule := activities.CloudMCRule{}
		if rm.rule != nil {
			rule = *rm.rule
		}
		act, in = c.a.CloudMCDeleteIngressRule, activities.CloudMCDeleteIngressRuleInput{ID: rm.id, Rule: rule}
		wait.Kind, wait.Name, wait.Rule = activities.KindCloudMCIngressRule, "", rm.rule
	}
	var dr activities.CloudMCDeleteResult
	label := firstNonEmpty(rm.name, rm.id)
	if err := workflow.ExecuteActivity(withSummary(callOptions(ctx, c.timeouts), "%s", actionOn("delete", rm.kind, label)), act, in).Get(ctx, &dr); err != nil {
		return "", false, err
	}
	id := firstNonEmpty(dr.ResourceID, rm.id)
	if dr.AlreadyGone {
		return id, true, nil
	}
	c.t.update(step, func(s *Step) { s.ID, s.OperationID = firstNonEmpty(id, s.ID), dr.TaskID })
	defer c.t.update(step, func(s *Step) { s.OperationID = "" })
	wait.TaskID, wait.ResourceID = dr.TaskID, id
	return id, false, workflow.ExecuteActivity(withSummary(waitOptions(ctx, c.timeouts), "wait for %s to be %s%s",
		resourceWords(rm.kind, label), removedWord(rm.kind), waitingOn("task", dr.TaskID)), c.a.CloudMCWaitTask, wait).Get(ctx, nil)
}
