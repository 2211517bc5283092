package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/cloudsim"
)

var (
	kraftCreated = decoded[KraftCloudCreateResult]
	kraftDeleted = decoded[KraftCloudDeleteResult]
)

// The whole life of a deployment against the simulator: volume, group,
// instance in the group with the volume mounted, the wait for running, and
// the deletes in the order that frees each object for the next.
func TestKraftCloudDeployLifeCycle(t *testing.T) {
	f := newKraftSim(t, 100*time.Millisecond)
	env := f.env()
	ctx := context.Background()

	vol := kraftCreated(t, must(env.ExecuteActivity(f.acts.KraftCloudCreateVolume, KraftCloudCreateVolumeInput{Name: "app-data", SizeMB: 64})))
	require.NotEmpty(t, vol.UUID)
	require.False(t, vol.Existed)
	sg := kraftCreated(t, must(env.ExecuteActivity(f.acts.KraftCloudCreateServiceGroup, KraftCloudCreateServiceGroupInput{
		Name: "app-web", Services: []kraftcloud.Service{{Port: 443, DestinationPort: 8080, Handlers: []string{"tls", "http"}}},
		Domains: []string{"app.example.com"},
	})))
	require.NotEmpty(t, sg.UUID)
	inst := kraftCreated(t, must(env.ExecuteActivity(f.acts.KraftCloudCreateInstance, KraftCloudCreateInstanceInput{
		Name: "app", Image: "nginx:latest", MemoryMB: 256, Env: map[string]string{"TOKEN": "s3cret"},
		ServiceGroup: sg.UUID, Volumes: []KraftCloudMount{{UUID: vol.UUID, At: "/data"}}, Autostart: true,
	})))
	require.Equal(t, kraftcloud.StateStarting, inst.State, "the create answers before the instance runs")
	require.Equal(t, "app.example.com", inst.FQDN)

	wr := batchResult(t, must(env.ExecuteActivity(f.acts.KraftCloudWaitInstances, KraftCloudWaitInput{
		Refs: []string{inst.UUID}, State: kraftcloud.StateRunning, Timeout: time.Minute,
	})))
	require.Equal(t, OutcomeDone, wr.Items[0].Outcome)

	st, err := f.client.Instances.Status(ctx, []kraftcloud.Ref{kraftcloud.ByUUID(inst.UUID)})
	require.NoError(t, err)
	got := st.Instances[0]
	require.Equal(t, kraftcloud.StateRunning, got.State)
	require.Equal(t, sg.UUID, got.ServiceGroup.UUID)
	require.Len(t, got.Volumes, 1)
	require.Equal(t, vol.UUID, got.Volumes[0].UUID)
	require.Equal(t, "/data", got.Volumes[0].At)

	// An attached volume cannot go yet: worth retrying, since the
	// instance's delete frees it. The same for a group with an instance.
	_, err = env.ExecuteActivity(f.acts.KraftCloudDeleteVolume, KraftCloudDeleteInput{UUID: vol.UUID, Name: "app-data"})
	app := appError(t, err)
	require.False(t, app.NonRetryable(), "%v", err)
	require.Equal(t, ErrTypeRetryableAPI, app.Type())
	_, err = env.ExecuteActivity(f.acts.KraftCloudDeleteServiceGroup, KraftCloudDeleteInput{Name: "app-web"})
	require.False(t, appError(t, err).NonRetryable())

	for _, del := range []struct {
		act any
		in  KraftCloudDeleteInput
	}{
		{f.acts.KraftCloudDeleteInstance, KraftCloudDeleteInput{UUID: inst.UUID, Name: "app"}},
		{f.acts.KraftCloudDeleteServiceGroup, KraftCloudDeleteInput{Name: "app-web"}},
		{f.acts.KraftCloudDeleteVolume, KraftCloudDeleteInput{UUID: vol.UUID}},
	} {
		dr := kraftDeleted(t, must(env.ExecuteActivity(del.act, del.in)))
		require.False(t, dr.AlreadyGone)
		require.NotEmpty(t, dr.UUID)
		// Again: already gone, which is not an error.
		dr = kraftDeleted(t, must(env.ExecuteActivity(del.act, del.in)))
		require.True(t, dr.AlreadyGone)
	}
	inv, err := f.admin.Inventory(ctx)
	require.NoError(t, err)
	require.True(t, inv.Empty(), "%v", inv)
}

// A name found on a first attempt belongs to someone else: adopted, never undone.
func TestKraftCloudCreateFindsPreexistingObject(t *testing.T) {
	f := newKraftSim(t, time.Millisecond)
	ctx := context.Background()
	old, err := f.client.Volumes.Create(ctx, &kraftcloud.VolumeCreateRequest{Name: "old", SizeMB: 32})
	require.NoError(t, err)
	cr := kraftCreated(t, must(f.env().ExecuteActivity(f.acts.KraftCloudCreateVolume, KraftCloudCreateVolumeInput{Name: "old", SizeMB: 32})))
	require.True(t, cr.Existed)
	require.Equal(t, old.UUID, cr.UUID)
	vols, err := f.client.Volumes.List(ctx)
	require.NoError(t, err)
	require.Len(t, vols, 1, "no second volume")
}

// A name found by a retry whose earlier attempt sent the create is this
// run's own (the answer was lost): adopted, and undone if the run fails.
func TestKraftCloudCreateRetryAdoptsItsOwnObject(t *testing.T) {
	f := newKraftSim(t, time.Millisecond)
	g, err := f.client.ServiceGroups.Create(context.Background(), &kraftcloud.ServiceGroupCreateRequest{
		Name: "mine", Services: []kraftcloud.Service{{Port: 80}},
	})
	require.NoError(t, err)
	env := f.env()
	env.SetHeartbeatDetails(createMarker{CreateSent: "mine"})
	cr := kraftCreated(t, must(env.ExecuteActivity(f.acts.KraftCloudCreateServiceGroup, KraftCloudCreateServiceGroupInput{
		Name: "mine", Services: []kraftcloud.Service{{Port: 80}},
	})))
	require.False(t, cr.Existed)
	require.Equal(t, g.UUID, cr.UUID)
}

// A create whose answer is lost is applied anyway: the retry finds the
// instance it made, and no second one is made.
func TestKraftCloudCreateInstanceLostAnswer(t *testing.T) {
	f := newKraftSim(t, time.Millisecond)
	addFault(t, f.admin, cloudsim.Fault{Cloud: "kraftcloud", Method: "POST", Path: "/v1/instances", Action: cloudsim.FaultDropResponse, Times: 1})
	env := f.env()
	in := KraftCloudCreateInstanceInput{Name: "lost", Image: "nginx:latest", Autostart: true}
	_, err := env.ExecuteActivity(f.acts.KraftCloudCreateInstance, in)
	require.False(t, appError(t, err).NonRetryable(), "a lost answer is retried: %v", err)

	env.SetHeartbeatDetails(createMarker{CreateSent: "lost"}) // what the first attempt recorded
	cr := kraftCreated(t, must(env.ExecuteActivity(f.acts.KraftCloudCreateInstance, in)))
	require.False(t, cr.Existed)
	all, err := f.client.Instances.List(context.Background())
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Equal(t, all[0].UUID, cr.UUID)
}

// A refused create (4xx) is final; a 503 or an item the cloud could not
// serve now is retried.
func TestKraftCloudDeployErrorClassification(t *testing.T) {
	f := newKraftSim(t, time.Millisecond)
	addFault(t, f.admin, cloudsim.Fault{Cloud: "kraftcloud", Method: "POST", Path: "/v1/volumes", Action: cloudsim.FaultError, Status: 400, Message: "quota exceeded", Times: 1})
	_, err := f.env().ExecuteActivity(f.acts.KraftCloudCreateVolume, KraftCloudCreateVolumeInput{Name: "v", SizeMB: 8})
	app := appError(t, err)
	require.True(t, app.NonRetryable())
	require.Equal(t, ErrTypeAPI, app.Type())
	require.Contains(t, err.Error(), "quota exceeded")

	addFault(t, f.admin, cloudsim.Fault{Cloud: "kraftcloud", Method: "GET", Path: "/v1/services", Action: cloudsim.FaultFailOperation, Times: 1})
	_, err = f.env().ExecuteActivity(f.acts.KraftCloudCreateServiceGroup, KraftCloudCreateServiceGroupInput{Name: "g", Services: []kraftcloud.Service{{Port: 80}}})
	app = appError(t, err)
	require.False(t, app.NonRetryable(), "an unavailable item (12) is worth retrying: %v", err)
	require.Contains(t, err.Error(), "injected failure")

	// An instance that names a volume that is not there is refused for good.
	_, err = f.env().ExecuteActivity(f.acts.KraftCloudCreateInstance, KraftCloudCreateInstanceInput{
		Name: "i", Image: "nginx", Volumes: []KraftCloudMount{{UUID: "6f1f4b1e-9b7e-4a57-8a53-1f5d1c2b3a4d", At: "/d"}},
	})
	require.True(t, appError(t, err).NonRetryable(), "%v", err)

	_, err = f.env().ExecuteActivity(f.acts.KraftCloudCreateVolume, KraftCloudCreateVolumeInput{Name: "Not_A_Name", SizeMB: 8})
	require.Equal(t, ErrTypeInvalidInput, appError(t, err).Type())
	_, err = f.env().ExecuteActivity(f.acts.KraftCloudDeleteVolume, KraftCloudDeleteInput{})
	require.Equal(t, ErrTypeInvalidInput, appError(t, err).Type())
}
