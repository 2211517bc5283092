package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
)

// CloudMCChangeComputeOfferingInput is the input of
// CloudMCChangeComputeOffering.
type CloudMCChangeComputeOfferingInput struct {
	InstanceID string `json:"instanceId"`
	// Name names the instance in messages.
	Name              string `json:"name,omitempty"`
	ComputeOfferingID string `json:"computeOfferingId"`
}

// CloudMCChangeComputeOffering changes the compute offering of a stopped
// instance (POST .../instances/{id}?operation=changeComputeOffering). Its
// result names the task to wait on with CloudMCWaitTask (State Stopped,
// ComputeOfferingID the new one). A retry that finds the instance with the
// offering already, the change of an earlier attempt done, answers with no
// task; one that finds a task still holding the instance (maybe that
// change, its answer lost) is retried once the task ends. An instance that
// is not stopped is refused for good: stop it first.
func (a *CloudMCActivities) CloudMCChangeComputeOffering(ctx context.Context, in CloudMCChangeComputeOfferingInput) (CloudMCInstanceActionResult, error) {
	if err := a.ready(); err != nil {
		return CloudMCInstanceActionResult{}, err
	}
	if in.InstanceID == "" || in.ComputeOfferingID == "" {
		return CloudMCInstanceActionResult{}, invalidInput("a compute offering change needs an instance ID and the offering's ID")
	}
	what := fmt.Sprintf("change the compute offering of instance %s to %s", firstNonEmpty(in.Name, in.InstanceID), in.ComputeOfferingID)
	// hasIt reads the instance: whether the offering is already its own.
	hasIt := func() (bool, error) {
		i, err := a.findInstance(ctx, in.InstanceID, "")
		switch {
		case err != nil:
			return false, lookupError(what, err)
		case i == nil:
			return false, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("%s: the instance does not exist", what), ErrTypeInvalidInput, nil)
		}
		return i.ComputeOfferingID == in.ComputeOfferingID, nil
	}
	if done, err := hasIt(); err != nil || done {
		return CloudMCInstanceActionResult{}, err
	}
	t, err := a.Client.Instances.ChangeComputeOffering(ctx, in.InstanceID, in.ComputeOfferingID)
	switch {
	case err == nil:
		return CloudMCInstanceActionResult{TaskID: t.ID}, nil
	case cloudmc.IsTaskInProgress(err):
		return CloudMCInstanceActionResult{}, temporal.NewApplicationErrorWithCause(
			what+": a task is still working on the instance; retrying once it ends", ErrTypeRetryableAPI, err, cmcDetails(err))
	}
	// Refused: a change that landed meanwhile is as good as this one.
	if done, rerr := hasIt(); rerr == nil && done {
		return CloudMCInstanceActionResult{}, nil
	}
	return CloudMCInstanceActionResult{}, apiErrorOn(CloudCloudMC, what, in.InstanceID, err)
}
