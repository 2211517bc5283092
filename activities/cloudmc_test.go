package activities

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/cloudsim"
)

type cmcFixture struct {
	sim    *cloudsim.Running
	admin  *cloudsim.AdminClient
	client *cloudmc.Client
	acts   *CloudMCActivities
}

// newCloudMCSim serves the simulator with tasks that take latency.
func newCloudMCSim(t *testing.T, latency time.Duration) *cmcFixture {
	t.Helper()
	sim, err := cloudsim.Start("127.0.0.1:0", cloudsim.Options{CloudMC: cloudsim.CloudMCOptions{Latency: latency}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	c, err := cloudmc.New(cloudmc.WithBaseURL(sim.URL+"/api/v2"), cloudmc.WithAPIKey(cloudsim.DefaultCloudMCAPIKey),
		cloudmc.WithEnvironment(cloudsim.DefaultCloudMCServiceCode, cloudsim.DefaultCloudMCEnvironment))
	require.NoError(t, err)
	return &cmcFixture{
		sim: sim, admin: &cloudsim.AdminClient{BaseURL: sim.URL}, client: c,
		acts: &CloudMCActivities{Client: c, Poll: PollPolicy{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond, Multiplier: 2}},
	}
}

func (f *cmcFixture) env() *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(f.acts)
	return env
}

var (
	cmcCreated       = decoded[CloudMCCreateResult]
	cmcDeletedResult = decoded[CloudMCDeleteResult]
	cmcWaited        = decoded[CloudMCWaitResult]
)

func cmcInstanceInput(name string) CloudMCCreateInstanceInput {
	return CloudMCCreateInstanceInput{Name: name, ComputeOfferingID: cloudsim.CloudMCComputeOfferingID,
		NetworkID: cloudsim.CloudMCNetworkID, TemplateID: cloudsim.CloudMCTemplateID}
}

var sshRule = CloudMCRule{NetworkID: cloudsim.CloudMCNetworkID, Protocol: "tcp", StartPort: 22, CIDR: "0.0.0.0/0"}

// instance makes an instance through the activities and waits until it runs.
func (f *cmcFixture) instance(t *testing.T, env *testsuite.TestActivityEnvironment, name string) string {
	t.Helper()
	cr := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCCreateInstance, cmcInstanceInput(name))))
	wr := cmcWaited(t, must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: cr.TaskID, Name: name, Timeout: time.Minute})))
	return wr.ResourceID
}

func (f *cmcFixture) inventory(t *testing.T) cloudsim.Inventory {
	t.Helper()
	inv, err := f.admin.Inventory(context.Background())
	require.NoError(t, err)
	return inv
}

// The whole life of an instance with a volume and a rule against the
// simulator: each create's task waited out, then each removal's.
func TestCloudMCLifeCycle(t *testing.T) {
	f := newCloudMCSim(t, 100*time.Millisecond)
	env := f.env()
	ctx := context.Background()

	cr := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCCreateInstance, cmcInstanceInput("web"))))
	require.NotEmpty(t, cr.TaskID)
	require.False(t, cr.Existed)
	wr := cmcWaited(t, must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: cr.TaskID, Name: "web", Timeout: time.Minute})))
	require.Equal(t, "task", wr.Resolution)
	require.Equal(t, cloudmc.InstanceStateRunning, wr.State)
	require.Greater(t, wr.Polls, 1, "the task took a few polls")
	instID := wr.ResourceID

	vr := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCCreateVolume, CloudMCCreateVolumeInput{Name: "web-data",
		DiskOfferingID: cloudsim.CloudMCCustomDiskOfferingID, SizeGB: 20})))
	wr = cmcWaited(t, must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCVolume, TaskID: vr.TaskID, Name: "web-data", Timeout: time.Minute})))
	volID := wr.ResourceID
	require.NotEmpty(t, volID)

	ar := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCAttachVolume, CloudMCAttachVolumeInput{VolumeID: volID, InstanceID: instID, VolumeName: "web-data"})))
	require.NotEmpty(t, ar.TaskID)
	must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCAttachment, TaskID: ar.TaskID, ResourceID: volID, InstanceID: instID, Timeout: time.Minute}))
	v, err := f.client.Volumes.Get(ctx, volID)
	require.NoError(t, err)
	require.Equal(t, instID, v.InstanceID)
	// Attaching again finds it done: nothing is sent, and it is this run's own
	// only if an earlier attempt sent the attach.
	again := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCAttachVolume, CloudMCAttachVolumeInput{VolumeID: volID, InstanceID: instID})))
	require.Empty(t, again.TaskID)
	require.True(t, again.Existed)

	rr := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCCreateIngressRule, CloudMCCreateIngressRuleInput{Rule: sshRule})))
	wr = cmcWaited(t, must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCIngressRule, TaskID: rr.TaskID, Rule: &sshRule, Timeout: time.Minute})))
	require.Equal(t, "Active", wr.State)
	ruleID := wr.ResourceID
	// The same rule again, written another way, is found by its fields.
	same := CloudMCRule{Protocol: "TCP", StartPort: 22, EndPort: 22, CIDR: "0.0.0.0/0"}
	found := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCCreateIngressRule, CloudMCCreateIngressRuleInput{Rule: same})))
	require.Equal(t, ruleID, found.ResourceID)
	require.True(t, found.Existed)

	inv := f.inventory(t)
	require.Equal(t, 1, inv.Count("cloudmc", "instances"))
	require.Equal(t, 2, inv.Count("cloudmc", "volumes"), "the data volume and the instance's OS volume")
	require.Equal(t, 1, inv.Count("cloudmc", "ingress-rules"))

	// Removal, in the order that frees each resource for the next.
	remove := func(act any, in any, wait CloudMCWaitInput) {
		t.Helper()
		dr := cmcDeletedResult(t, must(env.ExecuteActivity(act, in)))
		require.False(t, dr.AlreadyGone)
		require.NotEmpty(t, dr.TaskID)
		wait.TaskID, wait.ResourceID, wait.Gone, wait.Timeout = dr.TaskID, dr.ResourceID, true, time.Minute
		must(env.ExecuteActivity(f.acts.CloudMCWaitTask, wait))
		// Again: already gone.
		require.True(t, cmcDeletedResult(t, must(env.ExecuteActivity(act, in))).AlreadyGone)
	}
	remove(f.acts.CloudMCDeleteIngressRule, CloudMCDeleteIngressRuleInput{Rule: sshRule}, CloudMCWaitInput{Kind: KindCloudMCIngressRule, Rule: &sshRule})
	remove(f.acts.CloudMCDetachVolume, CloudMCDetachVolumeInput{VolumeName: "web-data", InstanceName: "web"}, CloudMCWaitInput{Kind: KindCloudMCAttachment, Name: "web-data"})
	remove(f.acts.CloudMCDeleteVolume, CloudMCDeleteInput{Name: "web-data"}, CloudMCWaitInput{Kind: KindCloudMCVolume, Name: "web-data"})
	remove(f.acts.CloudMCDeleteInstance, CloudMCDeleteInput{ID: instID, Name: "web"}, CloudMCWaitInput{Kind: KindCloudMCInstance, Name: "web"})
	require.True(t, f.inventory(t).Empty(), "the OS volume went with the instance: %v", f.inventory(t))
}

// Tasks that expire while being waited on (404), here as soon as they
// start, while the simulator still shows each resource as it was (a strict
// CloudMC does), are resolved by watching the resource until the outcome
// shows, for every kind and verb. (TestCloudMCExpiredTaskIsResolvedByWatching
// counts the reads exactly.)
func TestCloudMCTaskExpiringMidWaitIsResolvedByWatchingTheResource(t *testing.T) {
	f := newCloudMCSim(t, 300*time.Millisecond)
	ctx := context.Background()
	require.NoError(t, f.admin.SetOperationExpiry(ctx, cloudsim.CloudCloudMC, time.Millisecond))
	f.acts.Poll = PollPolicy{Initial: 50 * time.Millisecond, Max: 50 * time.Millisecond, Multiplier: 1}
	env := f.env()
	wait := func(in CloudMCWaitInput) CloudMCWaitResult {
		t.Helper()
		in.Timeout = time.Minute
		wr := cmcWaited(t, must(env.ExecuteActivity(f.acts.CloudMCWaitTask, in)))
		require.Equal(t, "resource", wr.Resolution, "%s", in.verb())
		return wr
	}

	cr := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCCreateInstance, cmcInstanceInput("exp"))))
	wr := wait(CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: cr.TaskID, Name: "exp"})
	require.Equal(t, cloudmc.InstanceStateRunning, wr.State)
	instID := wr.ResourceID
	require.NotEmpty(t, instID)

	for _, step := range []struct{ action, state string }{{ActionStop, cloudmc.InstanceStateStopped}, {ActionStart, cloudmc.InstanceStateRunning}} {
		ar := cmcActed(t, must(env.ExecuteActivity(f.acts.CloudMCInstanceAction, CloudMCInstanceActionInput{InstanceID: instID, Action: step.action})))
		require.Equal(t, step.state, wait(CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: ar.TaskID, ResourceID: instID, State: step.state}).State)
	}

	vr := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCCreateVolume, CloudMCCreateVolumeInput{Name: "exp-data", DiskOfferingID: cloudsim.CloudMCDiskOffering20ID})))
	volID := wait(CloudMCWaitInput{Kind: KindCloudMCVolume, TaskID: vr.TaskID, Name: "exp-data"}).ResourceID
	ar := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCAttachVolume, CloudMCAttachVolumeInput{VolumeID: volID, InstanceID: instID})))
	wait(CloudMCWaitInput{Kind: KindCloudMCAttachment, TaskID: ar.TaskID, ResourceID: volID, InstanceID: instID})
	rr := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCCreateIngressRule, CloudMCCreateIngressRuleInput{Rule: sshRule})))
	require.Equal(t, "Active", wait(CloudMCWaitInput{Kind: KindCloudMCIngressRule, TaskID: rr.TaskID, Rule: &sshRule}).State)

	dr := cmcDeletedResult(t, must(env.ExecuteActivity(f.acts.CloudMCDeleteIngressRule, CloudMCDeleteIngressRuleInput{Rule: sshRule})))
	wait(CloudMCWaitInput{Kind: KindCloudMCIngressRule, TaskID: dr.TaskID, ResourceID: dr.ResourceID, Rule: &sshRule, Gone: true})
	dr = cmcDeletedResult(t, must(env.ExecuteActivity(f.acts.CloudMCDetachVolume, CloudMCDetachVolumeInput{VolumeID: volID})))
	wait(CloudMCWaitInput{Kind: KindCloudMCAttachment, TaskID: dr.TaskID, ResourceID: volID, Gone: true})
	v, err := f.client.Volumes.Get(ctx, volID)
	require.NoError(t, err)
	require.False(t, v.Attached())
	dr = cmcDeletedResult(t, must(env.ExecuteActivity(f.acts.CloudMCDeleteVolume, CloudMCDeleteInput{ID: volID})))
	wait(CloudMCWaitInput{Kind: KindCloudMCVolume, TaskID: dr.TaskID, ResourceID: volID, Gone: true})
	dr = cmcDeletedResult(t, must(env.ExecuteActivity(f.acts.CloudMCDeleteInstance, CloudMCDeleteInput{ID: instID})))
	wait(CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: dr.TaskID, ResourceID: instID, Gone: true})
	require.True(t, f.inventory(t).Empty(), "%v", f.inventory(t))

	// An expired task whose create never shows is a failure once the
	// timeout runs out, not at the first read.
	began := time.Now()
	_, err = env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: "gone-task", Name: "never-made", Timeout: 300 * time.Millisecond})
	require.GreaterOrEqual(t, time.Since(began), 250*time.Millisecond)
	app := appError(t, err)
	require.Equal(t, ErrTypeOperationFailed, app.Type())
	require.Contains(t, app.Error(), "NOT_FOUND: the instance does not exist, when the 300ms timeout ran out: the create did not complete")
}

// The case: a delete whose task expires while the instance still
// shows Running. The instance goes several polls later, and the wait ends
// with it gone, not with NOT_DELETED at the first read.
func TestCloudMCDeleteWhoseTaskExpiresWhileTheInstanceShowsRunning(t *testing.T) {
	f := newCloudMCSim(t, 20*time.Millisecond)
	ctx := context.Background()
	env := f.env()
	id := f.instance(t, env, "web")
	require.NoError(t, f.admin.SetOperationLatency(ctx, cloudsim.CloudCloudMC, 1500*time.Millisecond))
	require.NoError(t, f.admin.SetOperationExpiry(ctx, cloudsim.CloudCloudMC, 100*time.Millisecond))
	f.acts.Poll = PollPolicy{Initial: 50 * time.Millisecond, Max: 50 * time.Millisecond, Multiplier: 1}

	dr := cmcDeletedResult(t, must(env.ExecuteActivity(f.acts.CloudMCDeleteInstance, CloudMCDeleteInput{ID: id, Name: "web"})))
	require.NotEmpty(t, dr.TaskID)
	wr := cmcWaited(t, must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: dr.TaskID,
		ResourceID: id, Name: "web", Gone: true, Timeout: time.Minute})))
	require.Equal(t, "resource", wr.Resolution)
	require.Equal(t, 0, f.inventory(t).Count("cloudmc", "instances"))

	reqs, err := f.admin.Requests(ctx)
	require.NoError(t, err)
	var expired, running int
	for _, r := range reqs {
		switch {
		case r.Path == "/api/v2/tasks/"+dr.TaskID && r.Status == 404:
			expired++
		case r.Method == "GET" && strings.HasSuffix(r.Path, "/instances/"+id) && r.Status == 200:
			running++
		}
	}
	require.Equal(t, 1, expired, "the waiter stopped asking for the task once it expired")
	require.Greater(t, running, 1, "the instance was read, Running, more than once after the task expired")
}

// The waiter against a cloud that forgets every task at once and shows each
// resource as it was for three more reads: each wait ends with the outcome
// at the fourth read, never at the first, for every kind and verb.
func TestCloudMCExpiredTaskIsResolvedByWatching(t *testing.T) {
	const vol, inst = "vol-1", "inst-1"
	instance := func(state string) string {
		return `{"data":{"id":"` + inst + `","name":"web","state":"` + state + `"}}`
	}
	volume := func(attachedTo string) string {
		return `{"data":{"id":"` + vol + `","name":"web-data","type":"data","state":"Ready","instanceId":"` + attachedTo + `"}}`
	}
	rule := `{"data":{"id":"r-1","protocol":"TCP","startPort":22,"endPort":22,"cidr":"0.0.0.0/0","state":"Active"}}`
	gone := ""
	for _, tc := range []struct {
		name          string
		in            CloudMCWaitInput
		path          string
		before, after string // the resource as it was, and once the task is done ("": 404)
	}{
		{"instance delete", CloudMCWaitInput{Kind: KindCloudMCInstance, ResourceID: inst, Gone: true}, "instances/" + inst, instance("Running"), gone},
		{"instance start", CloudMCWaitInput{Kind: KindCloudMCInstance, ResourceID: inst, State: "Running"}, "instances/" + inst, instance("Stopped"), instance("Running")},
		{"instance stop", CloudMCWaitInput{Kind: KindCloudMCInstance, ResourceID: inst, State: "Stopped"}, "instances/" + inst, instance("Running"), instance("Stopped")},
		{"instance create", CloudMCWaitInput{Kind: KindCloudMCInstance, ResourceID: inst}, "instances/" + inst, gone, instance("Running")},
		{"volume create", CloudMCWaitInput{Kind: KindCloudMCVolume, ResourceID: vol}, "volumes/" + vol, gone, volume("")},
		{"volume delete", CloudMCWaitInput{Kind: KindCloudMCVolume, ResourceID: vol, Gone: true}, "volumes/" + vol, volume(""), gone},
		{"attach", CloudMCWaitInput{Kind: KindCloudMCAttachment, ResourceID: vol, InstanceID: inst}, "volumes/" + vol, volume(""), volume(inst)},
		{"detach", CloudMCWaitInput{Kind: KindCloudMCAttachment, ResourceID: vol, InstanceID: inst, Gone: true}, "volumes/" + vol, volume(inst), volume("")},
		{"rule create", CloudMCWaitInput{Kind: KindCloudMCIngressRule, ResourceID: "r-1"}, "ingressrules/r-1", gone, rule},
		{"rule delete", CloudMCWaitInput{Kind: KindCloudMCIngressRule, ResourceID: "r-1", Gone: true}, "ingressrules/r-1", rule, gone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			reads := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				body := ""
				switch {
				case strings.HasPrefix(r.URL.Path, "/api/v2/tasks/"):
				case strings.HasSuffix(r.URL.Path, "/"+tc.path):
					reads++
					body = tc.before
					if reads > 3 {
						body = tc.after
					}
				}
				if body == "" {
					w.WriteHeader(http.StatusNotFound)
					_, _ = w.Write([]byte(`{"errors":[{"code":1004,"message":"not found"}]}`))
					return
				}
				_, _ = w.Write([]byte(body))
			}))
			t.Cleanup(srv.Close)
			c, err := cloudmc.New(cloudmc.WithBaseURL(srv.URL), cloudmc.WithAPIKey("k"), cloudmc.WithEnvironment("svc", "env"))
			require.NoError(t, err)
			acts := &CloudMCActivities{Client: c, Poll: PollPolicy{Initial: time.Millisecond, Max: time.Millisecond, Multiplier: 1}}
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.RegisterActivity(acts)
			in := tc.in
			in.TaskID, in.Timeout = "t-1", time.Minute
			wr := cmcWaited(t, must(env.ExecuteActivity(acts.CloudMCWaitTask, in)))
			require.Equal(t, "resource", wr.Resolution)
			require.Equal(t, 4, wr.Polls, "decided at the fourth read, when the outcome showed")
			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, 4, reads)
		})
	}
}

// A FAILED task is final and carries the cloud's code and message; what it
// was making is gone (the simulator rolls it back).
func TestCloudMCFailedTaskIsFinal(t *testing.T) {
	f := newCloudMCSim(t, 50*time.Millisecond)
	addFault(t, f.admin, cloudsim.Fault{Cloud: "cloudmc", Method: "POST", Path: "/api/v2/services/*/*/instances",
		Action: cloudsim.FaultFailOperation, Code: "2050", Message: "no host has capacity for the offering"})
	env := f.env()
	cr := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCCreateInstance, cmcInstanceInput("full"))))
	_, err := env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: cr.TaskID, Name: "full", Timeout: time.Minute})
	app := appError(t, err)
	require.Equal(t, ErrTypeOperationFailed, app.Type())
	require.True(t, app.NonRetryable())
	require.Contains(t, app.Error(), "2050: no host has capacity for the offering")
	var det CloudErrorDetails
	require.NoError(t, app.Details(&det))
	require.Equal(t, CloudErrorDetails{Cloud: "cloudmc", Code: "2050", Message: "no host has capacity for the offering"}, det)
	require.Equal(t, 0, f.inventory(t).Count("cloudmc", "instances"))
}

// A name found on a first attempt belongs to someone else: adopted, never
// undone. A retry whose earlier attempt sent the create owns what it finds.
func TestCloudMCCreateAdoptsByName(t *testing.T) {
	f := newCloudMCSim(t, 20*time.Millisecond)
	ctx := context.Background()
	_, err := f.client.Volumes.Create(ctx, &cloudmc.VolumeCreateRequest{Name: "old", DiskOfferingID: cloudsim.CloudMCCustomDiskOfferingID, SizeInGB: 1})
	require.NoError(t, err)
	cr := cmcCreated(t, must(f.env().ExecuteActivity(f.acts.CloudMCCreateVolume, CloudMCCreateVolumeInput{Name: "old", SizeGB: 1})))
	require.True(t, cr.Existed)
	require.NotEmpty(t, cr.ResourceID)
	require.Empty(t, cr.TaskID, "nothing was started: the waiter reads the volume")

	// The create's answer is lost after the cloud applied it: the retry,
	// with the marker the first attempt recorded, finds the instance and
	// owns it. One instance, one create.
	addFault(t, f.admin, cloudsim.Fault{Cloud: "cloudmc", Method: "POST", Path: "/api/v2/services/*/*/instances", Action: cloudsim.FaultDropResponse, Times: 1})
	env := f.env()
	_, err = env.ExecuteActivity(f.acts.CloudMCCreateInstance, cmcInstanceInput("lost"))
	require.Error(t, err)
	require.False(t, appError(t, err).NonRetryable(), "a lost answer is retried")
	env = f.env()
	env.SetHeartbeatDetails(createMarker{CreateSent: "lost"})
	cr = cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCCreateInstance, cmcInstanceInput("lost"))))
	require.False(t, cr.Existed, "the instance is this step's own, so a failure would undo it")
	require.NotEmpty(t, cr.ResourceID)
	// The waiter reads the instance: it is being made, then runs.
	wr := cmcWaited(t, must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, ResourceID: cr.ResourceID, Name: "lost", Timeout: time.Minute})))
	require.Equal(t, cloudmc.InstanceStateRunning, wr.State)
	counters, err := f.admin.Counters(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, counters["cloudmc"]["instance-creates"]["lost"])
}

// A create that races another of the same name gets "name in use" (2011):
// the name is looked up and the instance adopted as someone else's.
func TestCloudMCNameInUseIsResolvedByLookingTheNameUp(t *testing.T) {
	f := newCloudMCSim(t, 20*time.Millisecond)
	ctx := context.Background()
	// Hold the activity's create back while another client makes the name.
	addFault(t, f.admin, cloudsim.Fault{Cloud: "cloudmc", Method: "POST", Path: "/api/v2/services/*/*/instances",
		Action: cloudsim.FaultDelay, Delay: cloudsim.Duration(500 * time.Millisecond), Times: 1})
	go func() {
		// Once the activity's create is held back (the fault took it), not
		// before: on a loaded machine the activity may start late.
		for {
			faults, err := f.admin.Faults(ctx)
			if err != nil || len(faults) == 0 || faults[0].Hits > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		_, _ = f.client.Instances.Create(ctx, &cloudmc.InstanceCreateRequest{Name: "race", ComputeOfferingID: cloudsim.CloudMCComputeOfferingID,
			NetworkID: cloudsim.CloudMCNetworkID, TemplateID: cloudsim.CloudMCTemplateID})
	}()
	cr := cmcCreated(t, must(f.env().ExecuteActivity(f.acts.CloudMCCreateInstance, cmcInstanceInput("race"))))
	require.True(t, cr.Existed, "the other client's instance is not this step's")
	require.NotEmpty(t, cr.ResourceID)
	all, err := f.client.Instances.List(ctx)
	require.NoError(t, err)
	require.Len(t, all, 1)
	reqs, err := f.admin.Requests(ctx)
	require.NoError(t, err)
	refused := 0
	for _, r := range reqs {
		if r.Method == "POST" && r.Status == 400 && r.Fault != "" {
			refused++
		}
	}
	require.Equal(t, 1, refused, "the activity's create was the one refused as a duplicate: %+v", reqs)

	// A rule that overlaps another one (not the same) is refused for good.
	wide := CloudMCRule{Protocol: "tcp", StartPort: 20, EndPort: 30, CIDR: "0.0.0.0/0"}
	rr := cmcCreated(t, must(f.env().ExecuteActivity(f.acts.CloudMCCreateIngressRule, CloudMCCreateIngressRuleInput{Rule: wide})))
	require.NotEmpty(t, rr.TaskID)
	_, err = f.env().ExecuteActivity(f.acts.CloudMCCreateIngressRule, CloudMCCreateIngressRuleInput{Rule: sshRule})
	app := appError(t, err)
	require.Equal(t, ErrTypeAPI, app.Type())
	require.True(t, app.NonRetryable())
	require.Contains(t, app.Error(), "conflicts with ingress rule")
}

// A volume attached to another instance is not taken from it; a volume
// still attached cannot be deleted; an instance still starting is deleted
// once it settles (the error is retryable).
func TestCloudMCRefusals(t *testing.T) {
	f := newCloudMCSim(t, 20*time.Millisecond)
	env := f.env()
	ctx := context.Background()
	a := f.instance(t, env, "a")
	b := f.instance(t, env, "b")
	vr := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCCreateVolume, CloudMCCreateVolumeInput{Name: "shared", SizeGB: 1})))
	volID := cmcWaited(t, must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCVolume, TaskID: vr.TaskID, Name: "shared", Timeout: time.Minute}))).ResourceID
	ar := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCAttachVolume, CloudMCAttachVolumeInput{VolumeID: volID, InstanceID: a})))
	must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCAttachment, TaskID: ar.TaskID, ResourceID: volID, InstanceID: a, Timeout: time.Minute}))

	_, err := env.ExecuteActivity(f.acts.CloudMCAttachVolume, CloudMCAttachVolumeInput{VolumeID: volID, InstanceID: b, VolumeName: "shared"})
	app := appError(t, err)
	require.True(t, app.NonRetryable())
	require.Contains(t, app.Error(), "it is attached to instance a")

	_, err = env.ExecuteActivity(f.acts.CloudMCDeleteVolume, CloudMCDeleteInput{Name: "shared"})
	app = appError(t, err)
	require.True(t, app.NonRetryable())
	require.Equal(t, ErrTypeAPI, app.Type())

	// Detaching from b finds nothing to detach: the volume is a's.
	require.True(t, cmcDeletedResult(t, must(env.ExecuteActivity(f.acts.CloudMCDetachVolume, CloudMCDetachVolumeInput{VolumeID: volID, InstanceID: b}))).AlreadyGone)

	require.NoError(t, f.admin.SetOperationLatency(ctx, cloudsim.CloudCloudMC, time.Hour))
	cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCCreateInstance, cmcInstanceInput("slow"))))
	_, err = env.ExecuteActivity(f.acts.CloudMCDeleteInstance, CloudMCDeleteInput{Name: "slow"})
	app = appError(t, err)
	require.False(t, app.NonRetryable(), "a starting instance is deleted once it settles")
	require.Contains(t, app.Error(), "busy")
}

func TestCloudMCErrorsAreClassified(t *testing.T) {
	err := apiError(CloudCloudMC, "op", &cloudmc.APIError{StatusCode: 400, Code: 2011, Message: "taken"})
	app := appError(t, err)
	require.True(t, app.NonRetryable())
	var det CloudErrorDetails
	require.NoError(t, app.Details(&det))
	require.Equal(t, CloudErrorDetails{Cloud: "cloudmc", StatusCode: 400, Code: "2011", Message: "taken"}, det)
	app = appError(t, apiError(CloudCloudMC, "op", &cloudmc.APIError{StatusCode: 503, RetryAfter: 2 * time.Second}))
	require.False(t, app.NonRetryable())
	require.Equal(t, 2*time.Second, app.NextRetryDelay())
	require.Equal(t, ErrTypeInvalidInput, appError(t, apiError(CloudCloudMC, "op", cloudmc.ErrInvalidArgument)).Type())

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	none := &CloudMCActivities{}
	env.RegisterActivity(none)
	_, err = env.ExecuteActivity(none.CloudMCWaitTask, CloudMCWaitInput{Kind: "instance", Name: "x"})
	require.Error(t, err)
	require.Contains(t, err.Error(), "CLOUDMC_API_KEY")
}

// A wait whose polls fail on the network keeps going; one that is refused
// for good (a wrong key) stops with a final error.
func TestCloudMCWaitClassifiesPollErrors(t *testing.T) {
	f := newCloudMCSim(t, 20*time.Millisecond)
	env := f.env()
	cr := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCCreateInstance, cmcInstanceInput("p"))))
	addFault(t, f.admin, cloudsim.Fault{Cloud: "cloudmc", Method: "GET", Path: "/api/v2/tasks/*", Action: cloudsim.FaultError, Status: 503, Times: 2})
	wr := cmcWaited(t, must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: cr.TaskID, Name: "p", Timeout: time.Minute})))
	require.Equal(t, cloudmc.InstanceStateRunning, wr.State)

	bad, err := cloudmc.New(cloudmc.WithBaseURL(f.sim.URL), cloudmc.WithAPIKey("wrong"),
		cloudmc.WithEnvironment(cloudsim.DefaultCloudMCServiceCode, cloudsim.DefaultCloudMCEnvironment))
	require.NoError(t, err)
	acts := &CloudMCActivities{Client: bad, Poll: f.acts.Poll}
	var s testsuite.WorkflowTestSuite
	benv := s.NewTestActivityEnvironment()
	benv.RegisterActivity(acts)
	_, err = benv.ExecuteActivity(acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: cr.TaskID, Timeout: time.Minute})
	app := appError(t, err)
	require.True(t, app.NonRetryable())
	require.Equal(t, ErrTypeAPI, app.Type())
	var ne net.Error
	require.False(t, errors.As(err, &ne))
	var te *temporal.ApplicationError
	require.True(t, errors.As(err, &te))
}

// A disk offering is found by ID or name and the size checked against it
// before anything is made: a size only for the custom-size offering. An
// input with a size and no offering (from before offerings) takes the
// custom-size one. The volume is made from the offering found.
func TestCloudMCDiskOfferings(t *testing.T) {
	f := newCloudMCSim(t, 20*time.Millisecond)
	env := f.env()
	resolve := func(in CloudMCResolveDiskOfferingInput) (CloudMCDiskOffering, error) {
		t.Helper()
		v, err := env.ExecuteActivity(f.acts.CloudMCResolveDiskOffering, in)
		if err != nil {
			return CloudMCDiskOffering{}, err
		}
		return decoded[CloudMCDiskOffering](t, v), nil
	}
	fixed50 := CloudMCDiskOffering{ID: cloudsim.CloudMCDiskOfferingID, Name: cloudsim.CloudMCDiskOfferingName, SizeGB: 50}
	for _, tc := range []struct {
		in   CloudMCResolveDiskOfferingInput
		want CloudMCDiskOffering
		err  string
	}{
		{in: CloudMCResolveDiskOfferingInput{DiskOffering: cloudsim.CloudMCDiskOfferingID}, want: fixed50},
		{in: CloudMCResolveDiskOfferingInput{DiskOffering: "50gb - 50 iops min."}, want: fixed50},
		{in: CloudMCResolveDiskOfferingInput{DiskOffering: cloudsim.CloudMCCustomDiskOfferingName, SizeGB: 30},
			want: CloudMCDiskOffering{ID: cloudsim.CloudMCCustomDiskOfferingID, Name: cloudsim.CloudMCCustomDiskOfferingName, CustomSize: true, SizeGB: 30}},
		{in: CloudMCResolveDiskOfferingInput{SizeGB: 30},
			want: CloudMCDiskOffering{ID: cloudsim.CloudMCCustomDiskOfferingID, Name: cloudsim.CloudMCCustomDiskOfferingName, CustomSize: true, SizeGB: 30}},
		{in: CloudMCResolveDiskOfferingInput{DiskOffering: "fast-ssd", VolumeName: "web-data"},
			err: `volume web-data: diskOffering "fast-ssd" names no disk offering of the environment; it has "20GB - 20 IOPS Min." (20 GB), ` +
				`"50GB - 50 IOPS Min." (50 GB), "100GB - 100 IOPS Min." (100 GB), "Custom - 1 IOPS/GB" (custom size)`},
		{in: CloudMCResolveDiskOfferingInput{DiskOffering: cloudsim.CloudMCDiskOfferingName, SizeGB: 20, VolumeName: "web-data"},
			err: `volume web-data: cloudmc: invalid argument: sizeInGb 20 is given, but disk offering "50GB - 50 IOPS Min." (` +
				cloudsim.CloudMCDiskOfferingID + `) has a fixed size of 50 GB: leave the size out, or choose a custom-size offering`},
		{in: CloudMCResolveDiskOfferingInput{DiskOffering: cloudsim.CloudMCCustomDiskOfferingID},
			err: `sizeInGb is required with the custom-size disk offering "Custom - 1 IOPS/GB"`},
	} {
		got, err := resolve(tc.in)
		if tc.err != "" {
			app := appError(t, err)
			require.Equal(t, ErrTypeInvalidInput, app.Type(), "%+v", tc.in)
			require.True(t, app.NonRetryable())
			require.Contains(t, app.Error(), tc.err)
			continue
		}
		require.NoError(t, err, "%+v", tc.in)
		require.Equal(t, tc.want, got)
	}
	require.True(t, f.inventory(t).Empty(), "looking offerings up makes nothing")

	// The volume is made from the offering: its size, or the size asked for.
	for _, tc := range []struct {
		in       CloudMCCreateVolumeInput
		offering string
		gb       int
	}{
		{CloudMCCreateVolumeInput{Name: "v-fixed", DiskOfferingID: cloudsim.CloudMCDiskOffering100ID}, cloudsim.CloudMCDiskOffering100ID, 100},
		{CloudMCCreateVolumeInput{Name: "v-custom", DiskOfferingID: cloudsim.CloudMCCustomDiskOfferingID, SizeGB: 7}, cloudsim.CloudMCCustomDiskOfferingID, 7},
		{CloudMCCreateVolumeInput{Name: "v-legacy", SizeGB: 9}, cloudsim.CloudMCCustomDiskOfferingID, 9},
	} {
		cr := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCCreateVolume, tc.in)))
		wr := cmcWaited(t, must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCVolume, TaskID: cr.TaskID, Name: tc.in.Name, Timeout: time.Minute})))
		v, err := f.client.Volumes.Get(context.Background(), wr.ResourceID)
		require.NoError(t, err)
		require.Equal(t, tc.offering, v.DiskOfferingID, tc.in.Name)
		require.Equal(t, tc.gb, v.SizeInGB, tc.in.Name)
	}
	// A size for a fixed-size offering reaches the cloud only from a caller
	// that skipped the check; the cloud refuses it, naming the field.
	_, err := env.ExecuteActivity(f.acts.CloudMCCreateVolume, CloudMCCreateVolumeInput{Name: "v-bad", DiskOfferingID: cloudsim.CloudMCDiskOfferingID, SizeGB: 5})
	app := appError(t, err)
	require.Equal(t, ErrTypeAPI, app.Type())
	require.Contains(t, app.Error(), "sizeInGb applies to a custom-size disk offering only")
}

// An instance adopted as it was (no task moves it) that rests Stopped is
// the outcome at once: the create's wait fails with the way out, and does
// not watch until the timeout.
func TestCloudMCAdoptedStoppedInstanceFailsAtOnce(t *testing.T) {
	f := newCloudMCSim(t, 20*time.Millisecond)
	env := f.env()
	id := f.instance(t, env, "old")
	st, err := f.client.Instances.Stop(context.Background(), id)
	require.NoError(t, err)
	must(env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, TaskID: st.ID, ResourceID: id, State: cloudmc.InstanceStateStopped, Timeout: time.Minute}))

	cr := cmcCreated(t, must(env.ExecuteActivity(f.acts.CloudMCCreateInstance, cmcInstanceInput("old"))))
	require.True(t, cr.Existed)
	require.Empty(t, cr.TaskID)
	began := time.Now()
	_, err = env.ExecuteActivity(f.acts.CloudMCWaitTask, CloudMCWaitInput{Kind: KindCloudMCInstance, ResourceID: cr.ResourceID, Name: "old", Timeout: time.Minute})
	require.Less(t, time.Since(began), 10*time.Second)
	app := appError(t, err)
	require.Equal(t, ErrTypeUnexpectedState, app.Type())
	require.Contains(t, app.Error(), "instance old is Stopped, not Running; start it, or deprovision it first")
}
