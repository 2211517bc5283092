package activities

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/cloudsim"
)

type kraftFixture struct {
	sim    *cloudsim.Running
	admin  *cloudsim.AdminClient
	client *kraftcloud.Client
	acts   *KraftCloudActivities
}

func newKraftSim(t *testing.T, latency time.Duration) *kraftFixture {
	t.Helper()
	sim, err := cloudsim.Start("127.0.0.1:0", cloudsim.Options{KraftCloud: cloudsim.KraftCloudOptions{Latency: latency}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	c, err := kraftcloud.New(kraftcloud.WithBaseURL(sim.URL+"/v1"), kraftcloud.WithToken(cloudsim.DefaultKraftCloudToken))
	require.NoError(t, err)
	return &kraftFixture{sim: sim, admin: &cloudsim.AdminClient{BaseURL: sim.URL}, client: c, acts: &KraftCloudActivities{Client: c}}
}

func (f *kraftFixture) env() *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(f.acts)
	return env
}

// seed creates stopped instances web-1..web-n.
func (f *kraftFixture) seed(t *testing.T, n int) []string {
	t.Helper()
	off := false
	var names []string
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("web-%d", i)
		_, err := f.client.Instances.Create(context.Background(), &kraftcloud.InstanceCreateRequest{Image: "nginx:latest", Name: name, Autostart: &off})
		require.NoError(t, err)
		names = append(names, name)
	}
	return names
}

func (f *kraftFixture) starts(t *testing.T) map[string]int {
	t.Helper()
	c, err := f.admin.Counters(context.Background())
	require.NoError(t, err)
	return c["kraftcloud"]["instance-starts"]
}

func batchResult(t *testing.T, v interface{ Get(any) error }) BatchResult {
	t.Helper()
	var r BatchResult
	require.NoError(t, v.Get(&r))
	return r
}

func byRef(items []ItemResult) map[string]ItemResult {
	out := map[string]ItemResult{}
	for _, it := range items {
		out[it.Ref] = it
	}
	return out
}

func TestKraftCloudStartReportsEveryItem(t *testing.T) {
	f := newKraftSim(t, -1)
	f.seed(t, 4)
	_, err := f.client.Instances.Start(context.Background(), []kraftcloud.StartRequest{{Ref: kraftcloud.ByName("web-2")}})
	require.NoError(t, err)

	v, err := f.env().ExecuteActivity(f.acts.KraftCloudStartInstances, KraftCloudBatchInput{Refs: []string{"web-1", "web-2", "ghost", "web-3"}})
	require.NoError(t, err, "partial success is data, not an error")
	res := batchResult(t, v)
	require.Equal(t, 1, res.Calls)
	items := byRef(res.Items)
	require.Equal(t, OutcomeDone, items["web-1"].Outcome)
	require.Equal(t, kraftcloud.StateRunning, items["web-1"].State)
	require.Equal(t, OutcomeFailed, items["web-2"].Outcome)
	require.Equal(t, "9", items["web-2"].Code)
	require.False(t, items["web-2"].Retryable)
	require.Equal(t, "8", items["ghost"].Code)
	require.Contains(t, items["ghost"].Message, "ghost")
	require.Equal(t, OutcomeDone, items["web-3"].Outcome)
	require.Equal(t, []string{"web-1", "web-2", "ghost", "web-3"}, []string{res.Items[0].Ref, res.Items[1].Ref, res.Items[2].Ref, res.Items[3].Ref})
}

func TestKraftCloudStartLeavesSlowInstancesToTheWait(t *testing.T) {
	f := newKraftSim(t, 300*time.Millisecond)
	f.seed(t, 2)
	v, err := f.env().ExecuteActivity(f.acts.KraftCloudStartInstances, KraftCloudBatchInput{Refs: []string{"web-1", "web-2"}})
	require.NoError(t, err)
	for _, it := range batchResult(t, v).Items {
		require.Equal(t, OutcomeWait, it.Outcome, "no server-side wait asked: %+v", it)
		require.Equal(t, kraftcloud.StateStarting, it.State)
	}
	v, err = f.env().ExecuteActivity(f.acts.KraftCloudWaitInstances, KraftCloudWaitInput{Refs: []string{"web-1", "web-2"}, State: kraftcloud.StateRunning, Timeout: 10 * time.Second})
	require.NoError(t, err)
	for _, it := range batchResult(t, v).Items {
		require.Equal(t, OutcomeDone, it.Outcome, "%+v", it)
	}
}

func TestKraftCloudStartWithServerSideWait(t *testing.T) {
	f := newKraftSim(t, 200*time.Millisecond)
	f.seed(t, 3)
	v, err := f.env().ExecuteActivity(f.acts.KraftCloudStartInstances, KraftCloudBatchInput{Refs: []string{"web-1", "web-2", "web-3"}, WaitTimeout: 5 * time.Second})
	require.NoError(t, err)
	for _, it := range batchResult(t, v).Items {
		require.Equal(t, OutcomeDone, it.Outcome, "%+v", it)
	}
}

func TestKraftCloudWaitTimesOutPerItem(t *testing.T) {
	f := newKraftSim(t, -1)
	f.seed(t, 2)
	_, err := f.client.Instances.Start(context.Background(), []kraftcloud.StartRequest{{Ref: kraftcloud.ByName("web-1")}})
	require.NoError(t, err)
	v, err := f.env().ExecuteActivity(f.acts.KraftCloudWaitInstances, KraftCloudWaitInput{Refs: []string{"web-1", "web-2"}, State: kraftcloud.StateRunning, Timeout: 300 * time.Millisecond})
	require.NoError(t, err)
	items := byRef(batchResult(t, v).Items)
	require.Equal(t, OutcomeDone, items["web-1"].Outcome)
	require.Equal(t, OutcomeFailed, items["web-2"].Outcome)
	require.Equal(t, ErrTypeWaitTimeout, items["web-2"].Code)
}

// Instances slower than one server-side wait: every wait call times out for
// all of them (an answer outside 2xx with an item each), and the activity
// keeps waiting until they run.
func TestKraftCloudWaitOutlastsServerSideWaits(t *testing.T) {
	f := newKraftSim(t, 700*time.Millisecond)
	f.acts.ServerWait = 100 * time.Millisecond
	refs := f.seed(t, 3)
	_, err := f.client.Instances.Start(context.Background(), []kraftcloud.StartRequest{
		{Ref: kraftcloud.ByName("web-1")}, {Ref: kraftcloud.ByName("web-2")}, {Ref: kraftcloud.ByName("web-3")}})
	require.NoError(t, err)
	v, err := f.env().ExecuteActivity(f.acts.KraftCloudWaitInstances, KraftCloudWaitInput{Refs: refs, State: kraftcloud.StateRunning, Timeout: 10 * time.Second})
	require.NoError(t, err)
	res := batchResult(t, v)
	for _, it := range res.Items {
		require.Equal(t, OutcomeDone, it.Outcome, "%+v", it)
		require.Equal(t, kraftcloud.StateRunning, it.State)
	}
	require.GreaterOrEqual(t, res.Calls, 3, "several wait calls")
	reqs, err := f.admin.Requests(context.Background())
	require.NoError(t, err)
	timedOut := 0
	for _, r := range reqs {
		if r.Path == "/v1/instances/wait" && r.Status == http.StatusBadRequest {
			timedOut++
		}
	}
	require.Positive(t, timedOut, "some wait calls timed out for every instance: %+v", reqs)
	for _, n := range refs {
		require.Equal(t, 1, f.starts(t)[n], "%s started once", n)
	}
}

// A start answered outside 2xx with an item each: the instance the server
// gave up waiting for goes to the wait, and every other item keeps its own
// code and message.
func TestKraftCloudStartAllFailedKeepsEachItem(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"status":"error","message":"Failed to perform all operations","data":{"instances":[
			{"status":"error","name":"web-ghost","message":"No instance with name 'web-ghost'","error":8},
			{"status":"error","name":"web-1","message":"Instance 'web-1' is already running","error":11},
			{"status":"error","name":"web-2","uuid":"e80a7514-a9db-419e-a383-3abe0c312c27","state":"starting","message":"timed out","error":13},
			{"status":"error","name":"web-3","message":"try again","error":12}]}}`)
	}))
	t.Cleanup(srv.Close)
	c, err := kraftcloud.New(kraftcloud.WithBaseURL(srv.URL+"/v1"), kraftcloud.WithToken("t"))
	require.NoError(t, err)
	acts := &KraftCloudActivities{Client: c}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	v, err := env.ExecuteActivity(acts.KraftCloudStartInstances, KraftCloudBatchInput{Refs: []string{"web-ghost", "web-1", "web-2", "web-3"}, WaitTimeout: time.Second})
	require.NoError(t, err, "a batch whose items all failed is data")
	items := byRef(batchResult(t, v).Items)
	require.Equal(t, ItemResult{Ref: "web-ghost", Outcome: OutcomeFailed, Code: "8", Message: "No instance with name 'web-ghost'"}, items["web-ghost"])
	require.Equal(t, ItemResult{Ref: "web-1", Outcome: OutcomeFailed, Code: "11", Message: "Instance 'web-1' is already running"}, items["web-1"])
	require.Equal(t, ItemResult{Ref: "web-2", ID: "e80a7514-a9db-419e-a383-3abe0c312c27", State: kraftcloud.StateStarting, Outcome: OutcomeWait}, items["web-2"])
	require.Equal(t, ItemResult{Ref: "web-3", Outcome: OutcomeFailed, Code: "12", Message: "try again", Retryable: true}, items["web-3"])
}

func TestKraftCloudItemFailuresWorthRetryingAreMarked(t *testing.T) {
	f := newKraftSim(t, -1)
	f.seed(t, 3)
	_, err := f.admin.AddFault(context.Background(), cloudsim.Fault{Cloud: "kraftcloud", Method: "PUT", Path: "/v1/instances/start",
		Action: cloudsim.FaultFailOperation, Item: "web-2", Code: "12", Message: "no capacity", Times: 1})
	require.NoError(t, err)
	v, err := f.env().ExecuteActivity(f.acts.KraftCloudStartInstances, KraftCloudBatchInput{Refs: []string{"web-1", "web-2", "web-3"}})
	require.NoError(t, err)
	items := byRef(batchResult(t, v).Items)
	require.Equal(t, OutcomeDone, items["web-1"].Outcome)
	require.Equal(t, OutcomeFailed, items["web-2"].Outcome)
	require.True(t, items["web-2"].Retryable)
	require.Equal(t, "no capacity", items["web-2"].Message)
	require.Equal(t, 0, f.starts(t)["web-2"], "a failed item is not applied")
}

// A retry of a batch whose call may have been applied (the marker is in the
// heartbeat) checks first and starts only what is still stopped.
func TestKraftCloudStartRetryNeverStartsTwice(t *testing.T) {
	f := newKraftSim(t, -1)
	refs := f.seed(t, 4)
	// The lost attempt started web-1 and web-2.
	_, err := f.client.Instances.Start(context.Background(), []kraftcloud.StartRequest{{Ref: kraftcloud.ByName("web-1")}, {Ref: kraftcloud.ByName("web-2")}})
	require.NoError(t, err)
	env := f.env()
	env.SetHeartbeatDetails(batchMarker{Sent: ActionStart, Digest: batchDigest(refs)})
	v, err := env.ExecuteActivity(f.acts.KraftCloudStartInstances, KraftCloudBatchInput{Refs: refs})
	require.NoError(t, err)
	res := batchResult(t, v)
	require.Equal(t, 2, res.Calls, "a status call, then a start of the rest")
	for _, it := range res.Items {
		require.Equal(t, OutcomeDone, it.Outcome, "%+v", it)
	}
	for _, n := range refs {
		require.Equal(t, 1, f.starts(t)[n], "%s started once", n)
	}
}

func TestKraftCloudStopBatch(t *testing.T) {
	f := newKraftSim(t, -1)
	refs := f.seed(t, 2)
	_, err := f.client.Instances.Start(context.Background(), []kraftcloud.StartRequest{{Ref: kraftcloud.ByName("web-1")}})
	require.NoError(t, err)
	v, err := f.env().ExecuteActivity(f.acts.KraftCloudStopInstances, KraftCloudBatchInput{Refs: refs, Force: true})
	require.NoError(t, err)
	items := byRef(batchResult(t, v).Items)
	require.Contains(t, []string{OutcomeDone, OutcomeWait}, items["web-1"].Outcome)
	require.Equal(t, "9", items["web-2"].Code, "stopping a stopped instance is the API's item error")
}

func TestKraftCloudActivitiesWithoutAClientSayWhatToSet(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	acts := &KraftCloudActivities{}
	env.RegisterActivity(acts)
	_, err := env.ExecuteActivity(acts.KraftCloudStartInstances, KraftCloudBatchInput{Refs: []string{"a"}})
	require.ErrorContains(t, err, "KRAFTCLOUD_TOKEN")
}
