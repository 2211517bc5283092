package activities

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/cloudflow/cloudflow/clients/openvz"
	"github.com/cloudflow/cloudflow/cloudsim"
)

type ovzFixture struct {
	sim    *cloudsim.Running
	admin  *cloudsim.AdminClient
	client *openvz.Client
	acts   *OpenVZActivities
}

// newOVZSim serves the container API with jobs pending for latency.
func newOVZSim(t *testing.T, latency time.Duration) *ovzFixture {
	t.Helper()
	sim, err := cloudsim.Start("127.0.0.1:0", cloudsim.Options{OpenVZ: cloudsim.OpenVZOptions{Latency: latency}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	c, err := openvz.New(openvz.WithBaseURL(sim.URL + "/v0.1"))
	require.NoError(t, err)
	return &ovzFixture{
		sim: sim, admin: &cloudsim.AdminClient{BaseURL: sim.URL}, client: c,
		acts: &OpenVZActivities{Client: c, Poll: PollPolicy{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 2}},
	}
}

func (f *ovzFixture) env() *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(f.acts)
	return env
}

func (f *ovzFixture) containers(t *testing.T) []openvz.Container {
	t.Helper()
	all, err := f.client.Containers.List(context.Background())
	require.NoError(t, err)
	return all
}

// creates counts the containers the simulator made (jobs done), by name.
func (f *ovzFixture) creates(t *testing.T) map[string]int {
	t.Helper()
	c, err := f.admin.Counters(context.Background())
	require.NoError(t, err)
	return c[cloudsim.CloudOpenVZ]["container-creates"]
}

var (
	ovzCreated = decoded[OpenVZCreateContainerResult]
	ovzWaited  = decoded[OpenVZWaitJobResult]
	ovzDeleted = decoded[OpenVZDeleteContainerResult]
)

var ovzParams = openvz.ContainerParameters{
	Hostname: "ct100.example.com", CPUs: "2", MemSize: "1", MemSizeUnits: "G",
	Size: "10", SizeUnits: "G", IPAdd: "10.0.0.5", Nameserver: "1.1.1.1,8.8.8.8",
}

// The whole life of a container against the simulator: create, the wait
// for its job, the parameters, the delete, and a second delete.
func TestOpenVZContainerLifeCycle(t *testing.T) {
	f := newOVZSim(t, 200*time.Millisecond)
	env := f.env()
	ctx := context.Background()

	cr := ovzCreated(t, must(env.ExecuteActivity(f.acts.OpenVZCreateContainer, OpenVZCreateContainerInput{Name: "ct100", OSTemplate: "centos-7-x86_64"})))
	require.NotEmpty(t, cr.JobID)
	require.Empty(t, cr.ContainerID, "the container does not exist before its job is done")
	require.False(t, cr.Existed)
	require.Empty(t, f.containers(t))

	wr := ovzWaited(t, must(env.ExecuteActivity(f.acts.OpenVZWaitJob, OpenVZWaitJobInput{JobID: cr.JobID, Name: "ct100", Timeout: time.Minute})))
	require.Equal(t, "job", wr.Resolution)
	require.NotEmpty(t, wr.ContainerID)
	require.Greater(t, wr.Polls, 1, "the job took a few polls")

	must(env.ExecuteActivity(f.acts.OpenVZUpdateContainer, OpenVZUpdateContainerInput{ID: wr.ContainerID, Name: "ct100", Parameters: ovzParams}))
	// Again: PATCH merges, so the retry of an update changes nothing.
	must(env.ExecuteActivity(f.acts.OpenVZUpdateContainer, OpenVZUpdateContainerInput{Name: "ct100", Parameters: ovzParams}))
	ct, err := f.client.Containers.Get(ctx, wr.ContainerID)
	require.NoError(t, err)
	require.Equal(t, "ct100", ct.Name)
	require.Equal(t, "centos-7-x86_64", ct.OSTemplate)
	require.Equal(t, &ovzParams, ct.Parameters)

	dr := ovzDeleted(t, must(env.ExecuteActivity(f.acts.OpenVZDeleteContainer, OpenVZDeleteContainerInput{ID: wr.ContainerID, Name: "ct100"})))
	require.False(t, dr.AlreadyGone)
	require.Equal(t, wr.ContainerID, dr.ContainerID)
	for _, in := range []OpenVZDeleteContainerInput{{ID: wr.ContainerID}, {Name: "ct100"}, {JobID: cr.JobID, Name: "ct100"}} {
		dr = ovzDeleted(t, must(env.ExecuteActivity(f.acts.OpenVZDeleteContainer, in)))
		require.True(t, dr.AlreadyGone, "%+v", in)
	}
	inv, err := f.admin.Inventory(ctx)
	require.NoError(t, err)
	require.True(t, inv.Empty(), "%v", inv)
}

// A name found on a first attempt belongs to someone else: adopted, never undone.
func TestOpenVZCreateFindsPreexistingContainer(t *testing.T) {
	f := newOVZSim(t, -1)
	_, err := f.client.Containers.Create(context.Background(), &openvz.ContainerCreateRequest{Name: "old", OSTemplate: "t"})
	require.NoError(t, err)
	cr := ovzCreated(t, must(f.env().ExecuteActivity(f.acts.OpenVZCreateContainer, OpenVZCreateContainerInput{Name: "old", OSTemplate: "t"})))
	require.True(t, cr.Existed)
	require.Empty(t, cr.JobID)
	require.Equal(t, f.containers(t)[0].ID, cr.ContainerID)
	require.Len(t, f.containers(t), 1, "no second container")
}

// A name found by a retry whose earlier attempt sent the create is this
// step's own: adopted, and undone if the run fails.
func TestOpenVZCreateRetryAdoptsItsOwnContainer(t *testing.T) {
	f := newOVZSim(t, -1)
	_, err := f.client.Containers.Create(context.Background(), &openvz.ContainerCreateRequest{Name: "mine", OSTemplate: "t"})
	require.NoError(t, err)
	env := f.env()
	env.SetHeartbeatDetails(createMarker{CreateSent: "mine"})
	cr := ovzCreated(t, must(env.ExecuteActivity(f.acts.OpenVZCreateContainer, OpenVZCreateContainerInput{Name: "mine", OSTemplate: "t"})))
	require.False(t, cr.Existed)
	require.NotEmpty(t, cr.ContainerID)
}

// The create's answer is lost after the API enqueued it. The retry finds
// the name taken (422) by its own create, whose job is still pending, and
// fails retryably until the container appears; then it adopts it as its
// own. No second container is made.
func TestOpenVZDroppedCreateResponseIsAdoptedWithoutADuplicate(t *testing.T) {
	f := newOVZSim(t, 500*time.Millisecond)
	addFault(t, f.admin, cloudsim.Fault{Cloud: cloudsim.CloudOpenVZ, Method: "POST", Path: "/v0.1/containers", Action: cloudsim.FaultDropResponse, Times: 1})
	in := OpenVZCreateContainerInput{Name: "lost", OSTemplate: "t"}

	env := f.env()
	var marker createMarker
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) { _ = d.Get(&marker) })
	_, err := env.ExecuteActivity(f.acts.OpenVZCreateContainer, in)
	app := appError(t, err)
	require.False(t, app.NonRetryable(), "a lost answer is retried: %v", err)
	require.Equal(t, "lost", marker.CreateSent, "the marker was recorded before the create was sent")

	// The retry, while the job is pending: the name is taken, by this step.
	env = f.env()
	env.SetHeartbeatDetails(marker)
	_, err = env.ExecuteActivity(f.acts.OpenVZCreateContainer, in)
	app = appError(t, err)
	require.False(t, app.NonRetryable(), "%v", err)
	require.Equal(t, ErrTypeRetryableAPI, app.Type())
	require.Contains(t, err.Error(), "this step's earlier one")
	var det CloudErrorDetails
	require.NoError(t, app.Details(&det))
	require.Equal(t, 422, det.StatusCode)

	// Once the job is done, the next retry adopts the container as its own.
	time.Sleep(600 * time.Millisecond)
	cr := ovzCreated(t, must(env.ExecuteActivity(f.acts.OpenVZCreateContainer, in)))
	require.False(t, cr.Existed, "made by this step: undone if the run fails")
	all := f.containers(t)
	require.Len(t, all, 1)
	require.Equal(t, all[0].ID, cr.ContainerID)
	require.Equal(t, map[string]int{"lost": 1}, f.creates(t), "one container made")
}

// A 422 on a first attempt is someone else's pending create: the marker is
// cleared, so that the container is adopted as existing once it appears.
func TestOpenVZCreateRacingAnotherCreateAdoptsItAsExisting(t *testing.T) {
	f := newOVZSim(t, 300*time.Millisecond)
	_, err := f.client.Containers.Create(context.Background(), &openvz.ContainerCreateRequest{Name: "theirs", OSTemplate: "t"})
	require.NoError(t, err)
	in := OpenVZCreateContainerInput{Name: "theirs", OSTemplate: "t"}
	env := f.env()
	var mu sync.Mutex
	markers := []createMarker{}
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var m createMarker
		_ = d.Get(&m)
		mu.Lock()
		markers = append(markers, m)
		mu.Unlock()
	})
	_, err = env.ExecuteActivity(f.acts.OpenVZCreateContainer, in)
	require.False(t, appError(t, err).NonRetryable())
	require.Contains(t, err.Error(), "another run's or client's")
	mu.Lock()
	last := markers[len(markers)-1]
	mu.Unlock()
	require.Empty(t, last.CreateSent, "the marker is cleared: this step made nothing")

	time.Sleep(400 * time.Millisecond)
	env = f.env()
	env.SetHeartbeatDetails(last)
	cr := ovzCreated(t, must(env.ExecuteActivity(f.acts.OpenVZCreateContainer, in)))
	require.True(t, cr.Existed, "someone else's: never undone")
}

// A failed job is final and says that the API gives no reason; the
// container never appears.
func TestOpenVZWaitFailedJobIsFinal(t *testing.T) {
	f := newOVZSim(t, 100*time.Millisecond)
	addFault(t, f.admin, cloudsim.Fault{Cloud: cloudsim.CloudOpenVZ, Method: "POST", Path: "/v0.1/containers", Action: cloudsim.FaultFailOperation, Times: 1})
	env := f.env()
	cr := ovzCreated(t, must(env.ExecuteActivity(f.acts.OpenVZCreateContainer, OpenVZCreateContainerInput{Name: "doomed", OSTemplate: "t"})))
	_, err := env.ExecuteActivity(f.acts.OpenVZWaitJob, OpenVZWaitJobInput{JobID: cr.JobID, Name: "doomed", Timeout: time.Minute})
	app := appError(t, err)
	require.Equal(t, ErrTypeOperationFailed, app.Type())
	require.True(t, app.NonRetryable())
	require.Contains(t, err.Error(), "job "+cr.JobID+" failed; the API gives no reason")
	var det CloudErrorDetails
	require.NoError(t, app.Details(&det))
	require.Equal(t, CloudOpenVZ, det.Cloud)
	require.Empty(t, f.containers(t))

	// Undoing it finds nothing to delete.
	dr := ovzDeleted(t, must(env.ExecuteActivity(f.acts.OpenVZDeleteContainer, OpenVZDeleteContainerInput{JobID: cr.JobID, Name: "doomed"})))
	require.True(t, dr.AlreadyGone)
}

// A job the API does not know is resolved from the container list by name.
func TestOpenVZWaitUnknownJobResolvesFromTheList(t *testing.T) {
	f := newOVZSim(t, 200*time.Millisecond)
	env := f.env()
	ovzCreated(t, must(env.ExecuteActivity(f.acts.OpenVZCreateContainer, OpenVZCreateContainerInput{Name: "r1", OSTemplate: "t"})))
	wr := ovzWaited(t, must(env.ExecuteActivity(f.acts.OpenVZWaitJob, OpenVZWaitJobInput{JobID: "no-such-job", Name: "r1", Timeout: time.Minute})))
	require.Equal(t, "container", wr.Resolution)
	require.Equal(t, f.containers(t)[0].ID, wr.ContainerID)

	// A container known by ID that is gone fails the wait.
	_, err := env.ExecuteActivity(f.acts.OpenVZWaitJob, OpenVZWaitJobInput{ContainerID: "gone-id", Name: "r1", Timeout: time.Minute})
	app := appError(t, err)
	require.Equal(t, ErrTypeOperationFailed, app.Type())
	require.Contains(t, err.Error(), "does not exist")
}

// A job the API forgets while the waiter knows its container's ID (a
// pending job names it): the container does not exist until the job is
// done, so it is watched for, not declared missing at the first read.
func TestOpenVZWaitForgottenJobWatchesForItsContainer(t *testing.T) {
	f := newOVZSim(t, 400*time.Millisecond)
	f.acts.Poll = PollPolicy{Initial: 50 * time.Millisecond, Max: 50 * time.Millisecond, Multiplier: 1}
	env := f.env()
	cr := ovzCreated(t, must(env.ExecuteActivity(f.acts.OpenVZCreateContainer, OpenVZCreateContainerInput{Name: "late", OSTemplate: "t"})))
	addFault(t, f.admin, cloudsim.Fault{Cloud: cloudsim.CloudOpenVZ, Method: "GET", Path: "/v0.1/jobs/*", Action: cloudsim.FaultError,
		Status: 404, Code: "404", Message: "no such job", Skip: 1})
	wr := ovzWaited(t, must(env.ExecuteActivity(f.acts.OpenVZWaitJob, OpenVZWaitJobInput{JobID: cr.JobID, Name: "late", Timeout: time.Minute})))
	require.Equal(t, "container", wr.Resolution)
	require.Greater(t, wr.Polls, 3, "the container was watched for until its job was done")
	require.Equal(t, f.containers(t)[0].ID, wr.ContainerID)
}

func TestOpenVZWaitTimesOutAndHonoursRetryAfter(t *testing.T) {
	f := newOVZSim(t, time.Hour)
	env := f.env()
	cr := ovzCreated(t, must(env.ExecuteActivity(f.acts.OpenVZCreateContainer, OpenVZCreateContainerInput{Name: "slow", OSTemplate: "t"})))
	addFault(t, f.admin, cloudsim.Fault{Cloud: cloudsim.CloudOpenVZ, Method: "GET", Path: "/v0.1/jobs/*", Action: cloudsim.FaultError, Status: 503, RetryAfter: cloudsim.Duration(time.Second), Times: 1})
	start := time.Now()
	_, err := env.ExecuteActivity(f.acts.OpenVZWaitJob, OpenVZWaitJobInput{JobID: cr.JobID, Name: "slow", Timeout: 2500 * time.Millisecond})
	app := appError(t, err)
	require.Equal(t, ErrTypeWaitTimeout, app.Type())
	require.Contains(t, err.Error(), "container slow (job "+cr.JobID+") still pending")
	require.GreaterOrEqual(t, time.Since(start), time.Second, "the 503's Retry-After was waited out")
}

// The undo of a create interrupted mid-wait: the delete waits (retryably)
// for the job, then deletes the container it made.
func TestOpenVZDeleteWaitsForAPendingJob(t *testing.T) {
	f := newOVZSim(t, 300*time.Millisecond)
	env := f.env()
	cr := ovzCreated(t, must(env.ExecuteActivity(f.acts.OpenVZCreateContainer, OpenVZCreateContainerInput{Name: "half", OSTemplate: "t"})))
	in := OpenVZDeleteContainerInput{Name: "half", JobID: cr.JobID}
	_, err := env.ExecuteActivity(f.acts.OpenVZDeleteContainer, in)
	app := appError(t, err)
	require.False(t, app.NonRetryable())
	require.Contains(t, err.Error(), "still pending")

	time.Sleep(400 * time.Millisecond)
	dr := ovzDeleted(t, must(env.ExecuteActivity(f.acts.OpenVZDeleteContainer, in)))
	require.False(t, dr.AlreadyGone)
	require.Empty(t, f.containers(t))
}

// A refused PATCH (4xx) is final; a 503 is retried; parameters the client
// can tell are wrong never leave the worker.
func TestOpenVZUpdateErrors(t *testing.T) {
	f := newOVZSim(t, -1)
	env := f.env()
	_, err := f.client.Containers.Create(context.Background(), &openvz.ContainerCreateRequest{Name: "u", OSTemplate: "t"})
	require.NoError(t, err)
	id := f.containers(t)[0].ID

	addFault(t, f.admin, cloudsim.Fault{Cloud: cloudsim.CloudOpenVZ, Method: "PATCH", Path: "/v0.1/containers/*", Action: cloudsim.FaultError, Status: 400, Code: "100", Message: "ipadd is in use", Times: 1})
	_, err = env.ExecuteActivity(f.acts.OpenVZUpdateContainer, OpenVZUpdateContainerInput{ID: id, Name: "u", Parameters: ovzParams})
	app := appError(t, err)
	require.True(t, app.NonRetryable())
	require.Equal(t, ErrTypeAPI, app.Type())
	var det CloudErrorDetails
	require.NoError(t, app.Details(&det))
	require.Equal(t, CloudErrorDetails{Cloud: CloudOpenVZ, StatusCode: 400, Code: "100", Message: "ipadd is in use"}, det)

	addFault(t, f.admin, cloudsim.Fault{Cloud: cloudsim.CloudOpenVZ, Method: "PATCH", Path: "/v0.1/containers/*", Action: cloudsim.FaultError, Status: 503, Times: 1})
	_, err = env.ExecuteActivity(f.acts.OpenVZUpdateContainer, OpenVZUpdateContainerInput{ID: id, Parameters: ovzParams})
	require.False(t, appError(t, err).NonRetryable())

	_, err = env.ExecuteActivity(f.acts.OpenVZUpdateContainer, OpenVZUpdateContainerInput{ID: id, Parameters: openvz.ContainerParameters{IPAdd: "::1"}})
	require.Equal(t, ErrTypeInvalidInput, appError(t, err).Type())
	_, err = env.ExecuteActivity(f.acts.OpenVZUpdateContainer, OpenVZUpdateContainerInput{Name: "nope", Parameters: ovzParams})
	require.True(t, appError(t, err).NonRetryable())
	require.Contains(t, err.Error(), "no container of that name")

	ct, err := f.client.Containers.Get(context.Background(), id)
	require.NoError(t, err)
	require.Nil(t, ct.Parameters, "nothing was applied")
}

func TestOpenVZActivitiesWithoutAClientSayWhatToSet(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	acts := &OpenVZActivities{}
	env.RegisterActivity(acts)
	_, err := env.ExecuteActivity(acts.OpenVZCreateContainer, OpenVZCreateContainerInput{Name: "a", OSTemplate: "b"})
	app := appError(t, err)
	require.Equal(t, ErrTypeInvalidInput, app.Type())
	require.Contains(t, err.Error(), "OPENVZ_API_ENDPOINT")
}

func TestOpenVZAPIErrorClassification(t *testing.T) {
	for _, c := range []struct {
		status       int
		nonRetryable bool
	}{{400, true}, {404, true}, {422, true}, {429, false}, {500, false}, {503, false}} {
		err := apiError(CloudOpenVZ, "op", &openvz.APIError{StatusCode: c.status, Code: 100, Message: "m", RetryAfter: time.Second})
		app := appError(t, err)
		require.Equal(t, c.nonRetryable, app.NonRetryable(), "status %d", c.status)
		var det CloudErrorDetails
		require.NoError(t, app.Details(&det))
		require.Equal(t, "100", det.Code)
		var ae *openvz.APIError
		require.True(t, errors.As(err, &ae), "the client error stays reachable")
	}
}
