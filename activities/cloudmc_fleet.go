package activities

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
)

// CloudMCFindInstancesInput is the input of CloudMCFindInstances.
type CloudMCFindInstancesInput struct {
	Names []string `json:"names"`
}

// CloudMCFoundInstance is one instance CloudMCFindInstances looked for: the
// shape of a Crusoe FoundVM, so that the fleet workflow treats both alike,
// with State as CloudMC reports it (Running, Stopped, Starting...).
type CloudMCFoundInstance = FoundVM

// CloudMCFindInstancesResult answers CloudMCFindInstances, in the order of
// the names asked for.
type CloudMCFindInstancesResult struct {
	Instances []CloudMCFoundInstance `json:"instances"`
}

// CloudMCFindInstances looks instances up by name with one list call (the
// API has no name filter). Names are host names: they match in any case, and
// each is reported as it was asked for.
func (a *CloudMCActivities) CloudMCFindInstances(ctx context.Context, in CloudMCFindInstancesInput) (CloudMCFindInstancesResult, error) {
	if err := a.ready(); err != nil {
		return CloudMCFindInstancesResult{}, err
	}
	if len(in.Names) == 0 {
		return CloudMCFindInstancesResult{}, invalidInput("no instance names to look up")
	}
	all, err := a.Client.Instances.List(ctx)
	if err != nil {
		return CloudMCFindInstancesResult{}, apiError(CloudCloudMC, fmt.Sprintf("list instances to find %d", len(in.Names)), err)
	}
	byName := make(map[string]cloudmc.Instance, len(all))
	for _, i := range all {
		byName[strings.ToLower(i.Name)] = i
	}
	res := CloudMCFindInstancesResult{Instances: make([]CloudMCFoundInstance, len(in.Names))}
	for k, n := range in.Names {
		res.Instances[k] = CloudMCFoundInstance{Name: n}
		if i, ok := byName[strings.ToLower(n)]; ok {
			res.Instances[k] = CloudMCFoundInstance{Name: n, Found: true, ID: i.ID, State: i.State}
		}
	}
	return res, nil
}

// CloudMCInstanceActionInput is the input of CloudMCInstanceAction.
type CloudMCInstanceActionInput struct {
	InstanceID string `json:"instanceId"`
	// Name names the instance in messages.
	Name string `json:"name,omitempty"`
	// Action is ActionStart or ActionStop.
	Action string `json:"action"`
}

// CloudMCInstanceActionResult names the task to wait on with CloudMCWaitTask;
// it is empty when the instance was found already on its way or there, and
// the waiter then reads the instance.
type CloudMCInstanceActionResult struct {
	TaskID string `json:"taskId,omitempty"`
}

// cmcActionStates are the transitional and target states of each action.
var cmcActionStates = map[string][2]string{
	ActionStart: {cloudmc.InstanceStateStarting, cloudmc.InstanceStateRunning},
	ActionStop:  {cloudmc.InstanceStateStopping, cloudmc.InstanceStateStopped},
}

// CloudMCInstanceAction starts or stops one instance (POST
// .../instances/{id}?operation=start|stop). The API has no idempotency key
// and forgets tasks, so exactly once rests on the instance's state: the
// activity records a marker before it sends, and a retry that finds the
// instance already on its way or there does not send again. A refusal
// because the instance left the state the lookup saw is resolved the same
// way (a send whose marker never reached the server), and is final otherwise.
func (a *CloudMCActivities) CloudMCInstanceAction(ctx context.Context, in CloudMCInstanceActionInput) (CloudMCInstanceActionResult, error) {
	if err := a.ready(); err != nil {
		return CloudMCInstanceActionResult{}, err
	}
	states, ok := cmcActionStates[in.Action]
	if !ok || in.InstanceID == "" {
		return CloudMCInstanceActionResult{}, invalidInput("instance action needs an instance ID and start or stop, got %q", in.Action)
	}
	what := fmt.Sprintf("%s instance %s", in.Action, firstNonEmpty(in.Name, in.InstanceID))
	onItsWay := func() (bool, error) {
		i, err := a.findInstance(ctx, in.InstanceID, "")
		if err != nil {
			return false, lookupError(what, err)
		}
		return i != nil && (i.State == states[0] || i.State == states[1]), nil
	}
	marker := in.Action + " " + in.InstanceID
	if createWasSent(ctx, marker) {
		if joined, err := onItsWay(); err != nil || joined {
			return CloudMCInstanceActionResult{}, err
		}
	}
	markCreateSent(ctx, marker)
	send := a.Client.Instances.Start
	if in.Action == ActionStop {
		send = a.Client.Instances.Stop
	}
	t, err := send(ctx, in.InstanceID)
	if cmcBusy(err) {
		if joined, jerr := onItsWay(); jerr == nil && joined {
			return CloudMCInstanceActionResult{}, nil
		}
	}
	if cloudmc.IsTaskInProgress(err) {
		// A task holds the instance (a strict CloudMC shows it as it was
		// meanwhile), maybe this action's own from an attempt whose answer
		// was lost: try again once it ends.
		return CloudMCInstanceActionResult{}, temporal.NewApplicationErrorWithCause(
			what+": a task is still working on the instance; retrying once it ends", ErrTypeRetryableAPI, err, cmcDetails(err))
	}
	if err != nil {
		return CloudMCInstanceActionResult{}, apiError(CloudCloudMC, what, err)
	}
	a.waits.began(t.ID)
	return CloudMCInstanceActionResult{TaskID: t.ID}, nil
}
