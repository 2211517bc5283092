package workflows

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
)

// crusoeSteps runs Crusoe steps: an API call, then the durable wait for the
// operation it started, with the step's progress kept in the tracker.
type crusoeSteps struct {
	a         *activities.CrusoeActivities // nil: used only to name activities
	projectID string
	timeouts  Timeouts
	t         *tracker
}

// create runs a create activity and waits for its resource to be ready.
func (c *crusoeSteps) create(ctx workflow.Context, step, kind, name string, activity any, input any) (Resource, error) {
	r, _, err := c.createAndWait(ctx, step, kind, name, activity, input)
	return r, err
}

// createAndWait is create, also returning what the wait learned of the
// resource (a VM's private address).
func (c *crusoeSteps) createAndWait(ctx workflow.Context, step, kind, name string, activity any, input any) (Resource, activities.WaitResult, error) {
	c.t.set(step, StepRunning)
	var cr activities.CreateResult
	if err := workflow.ExecuteActivity(withSummary(callOptions(ctx, c.timeouts), "%s", actionOn("create", kind, name)),
		activity, input).Get(ctx, &cr); err != nil {
		return Resource{}, activities.WaitResult{}, c.failed(ctx, step, err)
	}
	c.t.update(step, func(s *Step) { s.ID, s.OperationID = cr.ResourceID, cr.OperationID })
	var wr activities.WaitResult
	err := workflow.ExecuteActivity(withSummary(waitOptions(ctx, c.timeouts), "wait for %s%s",
		resourceWords(kind, name), waitingOn("operation", cr.OperationID)), c.a.CrusoeWait, activities.WaitInput{
		ProjectID: c.projectID, Kind: kind, OperationID: cr.OperationID, ResourceID: cr.ResourceID,
		Name: name, Timeout: c.timeouts.operation(),
	}).Get(ctx, &wr)
	if err != nil {
		return Resource{}, activities.WaitResult{}, c.failed(ctx, step, err)
	}
	r := Resource{Kind: kind, Name: name, ID: wr.ResourceID, State: wr.State, Existed: cr.Existed}
	c.t.update(step, func(s *Step) { s.ID, s.State, s.OperationID = r.ID, StepDone, "" })
	return r, wr, nil
}

// remove deletes a resource (by ID when known, else by name) and waits until
// it is gone. It returns the resource's ID, if there was one, and whether
// there was nothing to delete.
// The step shows the operation while it runs.
func (c *crusoeSteps) remove(ctx workflow.Context, step, kind, name, id string) (string, bool, error) {
	return c.removeWith(ctx, step, kind, name, "", c.deleteActivity(kind), activities.DeleteInput{ProjectID: c.projectID, ID: id, Name: name})
}

// maxBusyWaits is how many operations in progress on a resource one
// removal waits out before it gives up (and the caller's retry takes over).
const maxBusyWaits = 3

// removeWith is remove with the delete activity and its input given; waitID
// names the resource to wait on when the delete's answer does not. A delete
// the cloud refuses because an operation on the resource is still in
// progress (a create the undo caught mid-way) waits for that operation to
// end, whatever its outcome, and deletes again. The step keeps the
// resource's ID as soon as the delete learns it, failed or not.
func (c *crusoeSteps) removeWith(ctx workflow.Context, step, kind, name, waitID string, deleteActivity, in any) (string, bool, error) {
	var dr activities.DeleteResult
	label := firstNonEmpty(name, waitID)
	for busy := 0; ; busy++ {
		err := workflow.ExecuteActivity(withSummary(callOptions(ctx, c.timeouts), "%s", actionOn("delete", kind, label)),
			deleteActivity, in).Get(ctx, &dr)
		if err == nil {
			break
		}
		det := cloudDetails(err)
		if det.ResourceID != "" {
			c.t.update(step, func(s *Step) { s.ID = det.ResourceID })
		}
		if !isErrType(err, activities.ErrTypeResourceBusy) || det.OperationID == "" || busy == maxBusyWaits {
			return det.ResourceID, false, err
		}
		c.t.update(step, func(s *Step) { s.OperationID = det.OperationID })
		if err := workflow.ExecuteActivity(withSummary(waitOptions(ctx, c.timeouts), "wait for the operation on %s to end%s",
			resourceWords(kind, label), waitingOn("operation", det.OperationID)), c.a.CrusoeWait, activities.WaitInput{
			ProjectID: c.projectID, Kind: kind, OperationID: det.OperationID, ResourceID: det.ResourceID,
			Name: name, Settle: true, Timeout: c.timeouts.operation(),
		}).Get(ctx, nil); err != nil {
			return det.ResourceID, false, err
		}
	}
	if dr.AlreadyGone {
		return dr.ResourceID, true, nil
	}
	c.t.update(step, func(s *Step) { s.ID, s.OperationID = firstNonEmpty(dr.ResourceID, s.ID), dr.OperationID })
	defer c.t.update(step, func(s *Step) { s.OperationID = "" })
	return dr.ResourceID, false, workflow.ExecuteActivity(withSummary(waitOptions(ctx, c.timeouts), "wait for %s to be deleted%s",
		resourceWords(kind, label), waitingOn("operation", dr.OperationID)), c.a.CrusoeWait, activities.WaitInput{
		ProjectID: c.projectID, Kind: kind, OperationID: dr.OperationID, ResourceID: firstNonEmpty(dr.ResourceID, waitID),
		Name: name, Gone: true, Timeout: c.timeouts.operation(),
	}).Get(ctx, nil)
}

func (c *crusoeSteps) deleteActivity(kind string) any {
	switch kind {
	case KindVM:
		return c.a.CrusoeDeleteVM
	case KindDisk:
		return c.a.CrusoeDeleteDisk
	default:
		return c.a.CrusoeDeleteFirewallRule
	}
}

// failed records a step's failure; a cancelled step is marked as such.
func (c *crusoeSteps) failed(ctx workflow.Context, step string, err error) error {
	c.t.fail(ctx, step, err)
	return err
}

// errorMessage is the chain of messages of an activity error, without the
// SDK's wrapping and decorations: "create disk web-data: crusoe: POST ...: 409
// Conflict: ...", not "activity error (type: ..., scheduledEventID: ...)".
func errorMessage(err error) string {
	if err == nil {
		return ""
	}
	if temporal.IsCanceledError(err) {
		return "canceled"
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		msg := app.Message()
		if cause := errors.Unwrap(app); cause != nil {
			if rest := errorMessage(cause); rest != "" && rest != msg {
				msg += ": " + rest
			}
		}
		return msg
	}
	var to *temporal.TimeoutError
	if errors.As(err, &to) {
		return fmt.Sprintf("timed out (%s)", strings.ToLower(strings.TrimPrefix(to.TimeoutType().String(), "TIMEOUT_TYPE_")))
	}
	return err.Error()
}

// cloudDetails are the CloudErrorDetails an activity's failure carries, if any.
func cloudDetails(err error) activities.CloudErrorDetails {
	var det activities.CloudErrorDetails
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.HasDetails() {
		_ = app.Details(&det)
	}
	return det
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
