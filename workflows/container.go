package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/openvz"
)

// CreateContainer creates a container through the container API, waits
// durably for the create's job, then applies its parameters (hostname, CPUs,
// memory, disk, IP address, name servers). If the wait or the update fails,
// or the run is cancelled, the saga deletes the container it made. A
// container that already had the name is adopted (its parameters are set
// all the same) and never deleted.
func CreateContainer(ctx workflow.Context, in CreateContainerInput) (CreateContainerResult, error) {
	t, err := newTracker(ctx, CreateContainerWorkflowName)
	if err != nil {
		return CreateContainerResult{}, err
	}
	if err := in.Validate(); err != nil {
		return CreateContainerResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeCreateContainerFailed, nil)
	}
	c := &containerCreate{sagaRun: newSagaRun(t, in.Timeouts), in: in}
	name := in.Container.Name

	// Declare every step first, so the progress query shows the whole plan.
	c.ctStep = t.add(KindContainer, name)
	params, hasParams := in.Container.parameters()
	if hasParams {
		c.paramStep = t.add(KindContainerParameters, name)
	}
	// The parameters live in the container: deleting it undoes them too.
	c.saga.add(c.ctStep, func(ctx workflow.Context) error {
		return c.undo(ctx, c.ctStep, func(ctx workflow.Context, id string) (bool, error) {
			var dr activities.OpenVZDeleteContainerResult
			err := workflow.ExecuteActivity(withSummary(callOptions(ctx, in.Timeouts), "delete container %s", name), c.a.OpenVZDeleteContainer,
				activities.OpenVZDeleteContainerInput{ID: id, Name: name, JobID: c.jobID}).Get(ctx, &dr)
			return dr.AlreadyGone, err
		})
	})

	runCtx, cancelRun := workflow.WithCancel(ctx)
	c.cancelRun = cancelRun
	c.run(runCtx, params)

	if c.failedStep == "" && ctx.Err() == nil {
		t.phase(PhaseCompleted)
		return c.result(), nil
	}
	comp := c.compensate(ctx)
	res := c.result()
	res.FailedStep, res.Undone, res.NotUndone = comp.failedStep, comp.undone, comp.notUndone
	return res, c.runError(ctx, comp, ErrTypeCreateContainerFailed, res)
}

// containerCreate is one CreateContainer run's state.
type containerCreate struct {
	sagaRun
	a                 *activities.OpenVZActivities // nil: used only to name activities
	in                CreateContainerInput
	ctStep, paramStep string
	// jobID is the create's job: the undo of a create interrupted before its
	// job ended waits for it, so as not to miss the container it makes.
	jobID string
}

func (c *containerCreate) run(ctx workflow.Context, params openvz.ContainerParameters) {
	ct := c.in.Container
	c.t.set(c.ctStep, StepRunning)
	var cr activities.OpenVZCreateContainerResult
	if err := workflow.ExecuteActivity(withSummary(callOptions(ctx, c.in.Timeouts), "create container %s", ct.Name), c.a.OpenVZCreateContainer,
		activities.OpenVZCreateContainerInput{Name: ct.Name, OSTemplate: ct.OSTemplate}).Get(ctx, &cr); err != nil {
		c.fail(ctx, c.ctStep, err)
		return
	}
	c.jobID = cr.JobID
	r := Resource{Kind: KindContainer, Name: ct.Name, ID: cr.ContainerID, Existed: cr.Existed}
	c.made[c.ctStep] = r
	c.t.update(c.ctStep, func(s *Step) { s.ID, s.OperationID = cr.ContainerID, cr.JobID })

	if cr.JobID != "" || r.ID == "" {
		var wr activities.OpenVZWaitJobResult
		err := workflow.ExecuteActivity(withSummary(waitOptions(ctx, c.in.Timeouts), "wait for container %s%s",
			ct.Name, waitingOn("job", cr.JobID)), c.a.OpenVZWaitJob, activities.OpenVZWaitJobInput{
			JobID: cr.JobID, ContainerID: cr.ContainerID, Name: ct.Name, Timeout: c.in.Timeouts.operation(),
		}).Get(ctx, &wr)
		if err != nil {
			c.fail(ctx, c.ctStep, err)
			return
		}
		r.ID = wr.ContainerID
		c.made[c.ctStep] = r
	}
	c.t.update(c.ctStep, func(s *Step) { s.ID, s.State, s.OperationID = r.ID, StepDone, "" })

	if c.paramStep == "" {
		return
	}
	c.t.update(c.paramStep, func(s *Step) { s.ID, s.State = r.ID, StepRunning })
	if err := workflow.ExecuteActivity(withSummary(callOptions(ctx, c.in.Timeouts), "set the parameters of container %s", ct.Name), c.a.OpenVZUpdateContainer,
		activities.OpenVZUpdateContainerInput{ID: r.ID, Name: ct.Name, Parameters: params}).Get(ctx, nil); err != nil {
		c.fail(ctx, c.paramStep, err)
		return
	}
	c.t.set(c.paramStep, StepDone)
}

// fail marks the step failed (or cancelled); a failure (not a
// cancellation) stops the run.
func (c *containerCreate) fail(ctx workflow.Context, step string, err error) {
	if c.t.fail(ctx, step, err) != StepCanceled {
		c.recordFailure(step, err)
	}
}

func (c *containerCreate) result() CreateContainerResult {
	res := CreateContainerResult{Steps: c.t.snapshot().Steps}
	st := c.t.step(c.ctStep)
	if r, ok := c.made[c.ctStep]; ok && st.State == StepDone {
		res.Container = r
	} else {
		res.Container = Resource{Kind: KindContainer, Name: st.Resource, ID: st.ID}
	}
	return res
}

// DeleteContainer deletes the named container. One already gone counts as
// deleted, so a repeated run succeeds.
func DeleteContainer(ctx workflow.Context, in DeleteContainerInput) (DeleteContainerResult, error) {
	t, err := newTracker(ctx, DeleteContainerWorkflowName)
	if err != nil {
		return DeleteContainerResult{}, err
	}
	if in.Name == "" {
		return DeleteContainerResult{}, temporal.NewNonRetryableApplicationError("name is required", ErrTypeDeleteContainerFailed, nil)
	}
	var a *activities.OpenVZActivities
	d := &deletions{t: t, timeouts: in.Timeouts, remove: func(ctx workflow.Context, del deletion) (string, bool, error) {
		var dr activities.OpenVZDeleteContainerResult
		err := workflow.ExecuteActivity(withSummary(callOptions(ctx, in.Timeouts), "delete container %s", del.name), a.OpenVZDeleteContainer,
			activities.OpenVZDeleteContainerInput{Name: del.name}).Get(ctx, &dr)
		return dr.ContainerID, dr.AlreadyGone, err
	}}
	d.run(ctx, d.plan(KindContainer, in.Name))
	return finishDeletions(ctx, d, ErrTypeDeleteContainerFailed, func(steps []Step) DeleteContainerResult {
		return DeleteContainerResult{Deleted: d.deleted, AlreadyGone: d.gone, Steps: steps}
	})
}
