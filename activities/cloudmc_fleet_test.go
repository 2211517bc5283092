package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/cloudsim"
)

var (
	cmcFound  = decoded[CloudMCFindInstancesResult]
	cmcActed  = decoded[CloudMCInstanceActionResult]
	cmcCounts = func(t *testing.T, f *cmcFixture, kind, name string) int {
		t.Helper()
		c, err := f.admin.Counters(context.Background())
		require.NoError(t, err)
		return c["cloudmc"][kind][name]
	}
)

func TestCloudMCFindInstances(t *testing.T) {
	f := newCloudMCSim(t, 20*time.Millisecond)
	env := f.env()
	id := f.instance(t, env, "fleet-1")
	res := cmcFound(t, must(env.ExecuteActivity(f.acts.CloudMCFindInstances, CloudMCFindInstancesInput{Names: []string{"nope", "Fleet-1"}})))
	require.Equal(t, []CloudMCFoundInstance{
		{Name: "nope"},
		{Name: "Fleet-1", Found: true, ID: id, State: cloudmc.InstanceStateRunning},
	}, res.Instances, "in the order asked for, matched in any case, named as asked")

	_, err := env.ExecuteActivity(f.acts.CloudMCFindInstances, CloudMCFindInstancesInput{})
	require.Equal(t, ErrTypeInvalidInput, appError(t, err).Type())
}

// Stop, then start, each waited into its state from its task: one action
// each in the cloud.
func TestCloudMCInstanceActionStopThenStart(t *testing.T) {
	f := newCloudMCSim(t, 100*time.Millisecond)
	env := f.env()
	id := f.instance(t, env, "fleet-1")
	for _, step := range []struct{ action, target string }{{ActionStop, cloudmc.InstanceStateStopped}, {ActionStart, cloudmc.InstanceStateRunning}} {
		ar := cmcActed(t, must(env.ExecuteActivity(f.acts.CloudMCInstanceAction, CloudMCInstanceActionInput{InstanceID: id, Name: "fleet-1", Action: step.action})))
		require.NotEmpty(t, ar.TaskID)
		wr := cmcWaited(t, must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: ar.TaskID,
			ResourceID: id, Name: "fleet-1", State: step.target, Timeout: time.Minute})))
		require.Equal(t, step.target, wr.State)
		require.Equal(t, "task", wr.Resolution)
	}
	require.Equal(t, 1, cmcCounts(t, f, "instance-stops", "fleet-1"))
	require.Equal(t, 1, cmcCounts(t, f, "instance-starts", "fleet-1"))

	_, err := env.ExecuteActivity(f.acts.CloudMCInstanceAction, CloudMCInstanceActionInput{InstanceID: id, Action: "reboot"})
	require.Equal(t, ErrTypeInvalidInput, appError(t, err).Type())
}

// A retry of an action whose answer was lost (the marker says it was sent)
// meets the instance as it was, its stop still running (a strict CloudMC
// shows it Running): the cloud refuses a second stop while the first holds
// the instance, and the refusal is retried, not final. Once the stop is
// done, the retry finds the instance there and does not send again; the
// waiter, with no task, reads the instance.
func TestCloudMCInstanceActionRetryDoesNotSendAgain(t *testing.T) {
	f := newCloudMCSim(t, 400*time.Millisecond)
	id := f.instance(t, f.env(), "fleet-1")
	_, err := f.client.Instances.Stop(context.Background(), id)
	require.NoError(t, err)

	env := f.env()
	env.SetHeartbeatDetails(createMarker{CreateSent: ActionStop + " " + id})
	_, err = env.ExecuteActivity(f.acts.CloudMCInstanceAction, CloudMCInstanceActionInput{InstanceID: id, Name: "fleet-1", Action: ActionStop})
	app := appError(t, err)
	require.False(t, app.NonRetryable(), "a stop refused while the first one holds the instance is retried")
	require.Contains(t, app.Error(), "a task is still working on the instance")

	time.Sleep(500 * time.Millisecond) // the first stop ends
	ar := cmcActed(t, must(env.ExecuteActivity(f.acts.CloudMCInstanceAction, CloudMCInstanceActionInput{InstanceID: id, Name: "fleet-1", Action: ActionStop})))
	require.Empty(t, ar.TaskID)
	wr := cmcWaited(t, must(f.env().ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, ResourceID: id,
		Name: "fleet-1", State: cloudmc.InstanceStateStopped, Timeout: time.Minute})))
	require.Equal(t, cloudmc.InstanceStateStopped, wr.State)
	require.Equal(t, "resource", wr.Resolution)
	require.Equal(t, 1, cmcCounts(t, f, "instance-stops", "fleet-1"), "the stop was sent once")
}

// A send whose marker never reached the server: the retry sends, the cloud
// refuses because the instance already got there, and the instance is
// joined, not reported as refused. A refusal in a state that is not on the
// way is final.
func TestCloudMCInstanceActionRefusedOnItsWayIsJoined(t *testing.T) {
	f := newCloudMCSim(t, 100*time.Millisecond)
	id := f.instance(t, f.env(), "fleet-1")
	_, err := f.client.Instances.Stop(context.Background(), id)
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond)
	ar := cmcActed(t, must(f.env().ExecuteActivity(f.acts.CloudMCInstanceAction, CloudMCInstanceActionInput{InstanceID: id, Action: ActionStop})))
	require.Empty(t, ar.TaskID)
	require.Equal(t, 1, cmcCounts(t, f, "instance-stops", "fleet-1"))

	// Refused in a state that is not on the way (a stop of an instance
	// still being created): final, with the cloud's code.
	require.NoError(t, f.admin.SetOperationLatency(context.Background(), cloudsim.CloudCloudMC, time.Hour))
	cmcCreated(t, must(f.env().ExecuteActivity(f.acts.CloudMCCreateInstance, cmcInstanceInput("fleet-2"))))
	found := cmcFound(t, must(f.env().ExecuteActivity(f.acts.CloudMCFindInstances, CloudMCFindInstancesInput{Names: []string{"fleet-2"}})))
	require.Equal(t, cloudmc.InstanceStateStarting, found.Instances[0].State)
	_, err = f.env().ExecuteActivity(f.acts.CloudMCInstanceAction, CloudMCInstanceActionInput{InstanceID: found.Instances[0].ID, Name: "fleet-2", Action: ActionStop})
	app := appError(t, err)
	require.Equal(t, ErrTypeAPI, app.Type())
	require.True(t, app.NonRetryable())
	var det CloudErrorDetails
	require.NoError(t, app.Details(&det))
	require.Equal(t, "2012", det.Code)
}

// A stop task that failed and was forgotten leaves the instance running:
// the instance is watched, not read once, and when the timeout runs out
// the wait fails as the task did (OperationFailed, worth another round).
func TestCloudMCWaitForStoppedAfterAForgottenFailedTask(t *testing.T) {
	f := newCloudMCSim(t, 100*time.Millisecond)
	env := f.env()
	id := f.instance(t, env, "fleet-1")
	addFault(t, f.admin, cloudsim.Fault{Cloud: "cloudmc", Method: "POST", Path: "/api/v2/services/*/*/instances/*",
		Action: cloudsim.FaultFailOperation, Code: "2050", Message: "host lost", Times: 1})
	ar := cmcActed(t, must(env.ExecuteActivity(f.acts.CloudMCInstanceAction, CloudMCInstanceActionInput{InstanceID: id, Name: "fleet-1", Action: ActionStop})))
	require.NotEmpty(t, ar.TaskID)
	require.NoError(t, f.admin.SetOperationExpiry(context.Background(), cloudsim.CloudCloudMC, time.Millisecond))
	time.Sleep(300 * time.Millisecond) // the task ends, fails and is forgotten
	began := time.Now()
	_, err := env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: ar.TaskID, ResourceID: id,
		Name: "fleet-1", State: cloudmc.InstanceStateStopped, Timeout: 500 * time.Millisecond})
	require.GreaterOrEqual(t, time.Since(began), 400*time.Millisecond, "decided before the timeout ran out")
	app := appError(t, err)
	require.Equal(t, ErrTypeOperationFailed, app.Type())
	require.Contains(t, app.Error(), "NOT_STOPPED: the instance is Running, not Stopped, when the 500ms timeout ran out: the stop did not complete")
}

func TestCloudMCWaitStateIsChecked(t *testing.T) {
	f := newCloudMCSim(t, 20*time.Millisecond)
	for _, in := range []CloudMCWaitInput{
		{Kind: KindCloudMCInstance, Name: "x", State: cloudmc.InstanceStateStarting},
		{Kind: KindCloudMCVolume, Name: "x", State: cloudmc.InstanceStateStopped},
		{Kind: KindCloudMCInstance, Name: "x", State: cloudmc.InstanceStateStopped, Gone: true},
	} {
		_, err := f.env().ExecuteActivity(f.acts.CloudMCWaitTask, in)
		require.Equal(t, ErrTypeInvalidInput, appError(t, err).Type(), "%+v", in)
	}
}
