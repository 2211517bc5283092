package activities

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/cloudsim"
)

// offeringChanges counts the changeComputeOffering requests the simulator
// accepted.
func offeringChanges(t *testing.T, f *cmcFixture) int {
	t.Helper()
	reqs, err := f.admin.Requests(context.Background())
	require.NoError(t, err)
	n := 0
	for _, r := range reqs {
		if r.Method == "POST" && strings.Contains(r.Query, "operation=changeComputeOffering") && r.Status == 200 {
			n++
		}
	}
	return n
}

// stopped makes an instance through the activities and stops it.
func (f *cmcFixture) stopped(t *testing.T, name string) string {
	t.Helper()
	env := f.env()
	id := f.instance(t, env, name)
	ar := cmcActed(t, must(env.ExecuteActivity(f.acts.CloudMCInstanceAction, CloudMCInstanceActionInput{InstanceID: id, Action: ActionStop})))
	cmcWaited(t, must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: ar.TaskID,
		ResourceID: id, State: cloudmc.InstanceStateStopped, Timeout: time.Minute})))
	return id
}

// A stopped instance's offering changes through a task, waited out until
// the instance has it; a retry then finds it done and sends nothing.
func TestCloudMCChangeComputeOffering(t *testing.T) {
	f := newCloudMCSim(t, 100*time.Millisecond)
	env := f.env()
	id := f.stopped(t, "web")
	in := CloudMCChangeComputeOfferingInput{InstanceID: id, Name: "web", ComputeOfferingID: cloudsim.CloudMCComputeOffering2ID}

	ar := cmcActed(t, must(env.ExecuteActivity(f.acts.CloudMCChangeComputeOffering, in)))
	require.NotEmpty(t, ar.TaskID)
	wr := cmcWaited(t, must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: ar.TaskID,
		ResourceID: id, Name: "web", State: cloudmc.InstanceStateStopped, ComputeOfferingID: in.ComputeOfferingID, Timeout: time.Minute})))
	require.Equal(t, "task", wr.Resolution)
	require.Equal(t, cloudmc.InstanceStateStopped, wr.State)
	i, err := f.client.Instances.Get(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, cloudsim.CloudMCComputeOffering2ID, i.ComputeOfferingID)
	require.Equal(t, 2, i.CPUCount)

	// The retry of an attempt whose answer was lost: nothing to send.
	ar = cmcActed(t, must(env.ExecuteActivity(f.acts.CloudMCChangeComputeOffering, in)))
	require.Empty(t, ar.TaskID)
	require.Equal(t, 1, offeringChanges(t, f), "the change was sent once")
}

// A retry that meets the first attempt's change still running (the cloud
// shows the old offering meanwhile and refuses a second change) is retried,
// not final; once the change is done it sends nothing, and the waiter, with
// no task, reads the instance.
func TestCloudMCChangeComputeOfferingRetryWhileTheChangeRuns(t *testing.T) {
	f := newCloudMCSim(t, 20*time.Millisecond)
	id := f.stopped(t, "web")
	require.NoError(t, f.admin.SetOperationLatency(context.Background(), cloudsim.CloudCloudMC, 400*time.Millisecond))
	_, err := f.client.Instances.ChangeComputeOffering(context.Background(), id, cloudsim.CloudMCComputeOffering2ID)
	require.NoError(t, err)

	env := f.env()
	in := CloudMCChangeComputeOfferingInput{InstanceID: id, ComputeOfferingID: cloudsim.CloudMCComputeOffering2ID}
	_, err = env.ExecuteActivity(f.acts.CloudMCChangeComputeOffering, in)
	app := appError(t, err)
	require.False(t, app.NonRetryable(), "a change refused while the first one holds the instance is retried: %v", err)
	require.Contains(t, app.Error(), "a task is still working on the instance")

	time.Sleep(500 * time.Millisecond) // the first change ends
	ar := cmcActed(t, must(env.ExecuteActivity(f.acts.CloudMCChangeComputeOffering, in)))
	require.Empty(t, ar.TaskID)
	wr := cmcWaited(t, must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, ResourceID: id,
		State: cloudmc.InstanceStateStopped, ComputeOfferingID: in.ComputeOfferingID, Timeout: time.Minute})))
	require.Equal(t, "resource", wr.Resolution)
	require.Equal(t, 1, offeringChanges(t, f), "the change was made once")
}

// A running instance, an unknown offering and an unknown instance are
// refused for good, with the cloud's code where it gave one.
func TestCloudMCChangeComputeOfferingRefusals(t *testing.T) {
	f := newCloudMCSim(t, 20*time.Millisecond)
	env := f.env()
	id := f.instance(t, env, "web")
	for _, tc := range []struct {
		name     string
		in       CloudMCChangeComputeOfferingInput
		typ      string
		code     string
		contains string
	}{
		{"running", CloudMCChangeComputeOfferingInput{InstanceID: id, ComputeOfferingID: cloudsim.CloudMCComputeOffering2ID}, ErrTypeAPI, "2012", "stopped state"},
		{"unknown offering", CloudMCChangeComputeOfferingInput{InstanceID: id, ComputeOfferingID: "nope"}, ErrTypeAPI, "1001", "names no compute offering"},
		{"unknown instance", CloudMCChangeComputeOfferingInput{InstanceID: "nope", ComputeOfferingID: cloudsim.CloudMCComputeOffering2ID}, ErrTypeInvalidInput, "", "does not exist"},
		{"no offering", CloudMCChangeComputeOfferingInput{InstanceID: id}, ErrTypeInvalidInput, "", "needs an instance ID and the offering's ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := env.ExecuteActivity(f.acts.CloudMCChangeComputeOffering, tc.in)
			app := appError(t, err)
			require.Equal(t, tc.typ, app.Type(), "%v", err)
			require.True(t, app.NonRetryable())
			require.Contains(t, err.Error(), tc.contains)
			if tc.code != "" {
				var det CloudErrorDetails
				require.NoError(t, app.Details(&det))
				require.Equal(t, tc.code, det.Code)
			}
		})
	}
	require.Zero(t, offeringChanges(t, f))
}

// The waiter of a change whose task is forgotten watches the instance: it
// ends once the instance has the new offering, and when the change failed
// (the instance keeps the old one) it fails as the task did once the
// timeout runs out, not at the first read.
func TestCloudMCWaitForAnOfferingChangeAfterTheTaskIsForgotten(t *testing.T) {
	f := newCloudMCSim(t, 20*time.Millisecond)
	ctx := context.Background()
	id := f.stopped(t, "web")
	require.NoError(t, f.admin.SetOperationLatency(ctx, cloudsim.CloudCloudMC, 300*time.Millisecond))
	require.NoError(t, f.admin.SetOperationExpiry(ctx, cloudsim.CloudCloudMC, time.Millisecond))
	f.acts.Poll = PollPolicy{Initial: 50 * time.Millisecond, Max: 50 * time.Millisecond, Multiplier: 1}
	env := f.env()
	change := func(offering string) string {
		ar := cmcActed(t, must(env.ExecuteActivity(f.acts.CloudMCChangeComputeOffering,
			CloudMCChangeComputeOfferingInput{InstanceID: id, ComputeOfferingID: offering})))
		require.NotEmpty(t, ar.TaskID)
		return ar.TaskID
	}
	wait := func(task, offering string, timeout time.Duration) (CloudMCWaitResult, error) {
		v, err := env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: task, ResourceID: id,
			State: cloudmc.InstanceStateStopped, ComputeOfferingID: offering, Timeout: timeout})
		if err != nil {
			return CloudMCWaitResult{}, err
		}
		return cmcWaited(t, v), nil
	}

	wr, err := wait(change(cloudsim.CloudMCComputeOffering2ID), cloudsim.CloudMCComputeOffering2ID, time.Minute)
	require.NoError(t, err)
	require.Equal(t, "resource", wr.Resolution)
	require.Greater(t, wr.Polls, 2, "the instance showed the old offering for a while, and the wait went on")

	addFault(t, f.admin, cloudsim.Fault{Cloud: "cloudmc", Method: "POST", Path: "/api/v2/services/*/*/instances/*",
		Action: cloudsim.FaultFailOperation, Times: 1})
	task := change(cloudsim.CloudMCComputeOfferingID)
	began := time.Now()
	_, err = wait(task, cloudsim.CloudMCComputeOfferingID, 600*time.Millisecond)
	require.GreaterOrEqual(t, time.Since(began), 500*time.Millisecond, "decided before the timeout ran out")
	app := appError(t, err)
	require.Equal(t, ErrTypeOperationFailed, app.Type())
	require.Contains(t, app.Error(), "NOT_CHANGED: the instance has compute offering "+cloudsim.CloudMCComputeOffering2ID+", not "+
		cloudsim.CloudMCComputeOfferingID+", when the 600ms timeout ran out: the offering change did not complete")

	// Without a task, the offering the instance has is the outcome.
	_, err = wait("", cloudsim.CloudMCComputeOfferingID, time.Minute)
	require.Equal(t, ErrTypeUnexpectedState, appError(t, err).Type())

	_, err = env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCVolume, ResourceID: "v", ComputeOfferingID: "x"})
	require.Equal(t, ErrTypeInvalidInput, appError(t, err).Type())
}
