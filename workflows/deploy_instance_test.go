package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
)

// kraftCloudFake stands in for the KraftCloud deploy activities: it keeps what
// exists, refuses to delete a volume an instance still mounts (as the cloud
// does), and fails the step it is told to. Its failWait makes the instance's
// wait report the item as failed.
type kraftCloudFake struct {
	fakeStore
	// waitDelay holds the instance's wait back, until cancelled.
	waitDelay time.Duration
	// stopped makes objects that exist answer "stopped" rather than "running".
	stopped bool
	// mounts maps an instance name to the volume UUIDs it mounts.
	mounts   map[string][]string
	instance activities.KraftCloudCreateInstanceInput
}

func newKraftCloudFake() *kraftCloudFake {
	return &kraftCloudFake{fakeStore: newFakeStore(), mounts: map[string][]string{}}
}

func (f *kraftCloudFake) create(kind, name string) (activities.KraftCloudCreateResult, error) {
	id, found, preexisting, err := f.fakeStore.create(kind, name)
	switch {
	case err != nil:
		return activities.KraftCloudCreateResult{}, err
	case found:
		state := kraftcloud.StateRunning
		if f.stopped {
			state = kraftcloud.StateStopped
		}
		return activities.KraftCloudCreateResult{UUID: id, State: state, Existed: preexisting}, nil
	case kind == KindInstance:
		return activities.KraftCloudCreateResult{UUID: id, State: kraftcloud.StateStarting}, nil
	}
	return activities.KraftCloudCreateResult{UUID: id}, nil
}

func (f *kraftCloudFake) wait(ctx context.Context, in activities.KraftCloudWaitInput) (activities.BatchResult, error) {
	f.mu.Lock()
	d := f.waitDelay
	failing := f.failWait != ""
	f.mu.Unlock()
	if failing {
		d = failureLag
	}
	if err := pause(ctx, d); err != nil {
		return activities.BatchResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "wait "+strings.Join(in.Refs, ","))
	it := activities.ItemResult{Ref: in.Refs[0], ID: in.Refs[0], State: in.State, Outcome: activities.OutcomeDone}
	if failing {
		it = activities.ItemResult{Ref: in.Refs[0], ID: in.Refs[0], State: kraftcloud.StateStopped, Outcome: activities.OutcomeFailed,
			Code: "12", Message: "the unikernel crashed on boot"}
	}
	return activities.BatchResult{Items: []activities.ItemResult{it}, Calls: 1}, nil
}

func (f *kraftCloudFake) delete(kind string) func(context.Context, activities.KraftCloudDeleteInput) (activities.KraftCloudDeleteResult, error) {
	return func(_ context.Context, in activities.KraftCloudDeleteInput) (activities.KraftCloudDeleteResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		key := ""
		for k, id := range f.live {
			if strings.HasPrefix(k, kind+"/") && ((in.UUID != "" && id == in.UUID) || (in.UUID == "" && k == kind+"/"+in.Name)) {
				key = k
			}
		}
		f.calls = append(f.calls, "delete "+kind+"/"+in.Name)
		if f.failDelete == kind+"/"+in.Name {
			return activities.KraftCloudDeleteResult{}, temporal.NewNonRetryableApplicationError("delete refused", activities.ErrTypeAPI, nil)
		}
		if key == "" {
			return activities.KraftCloudDeleteResult{UUID: in.UUID, AlreadyGone: true}, nil
		}
		id := f.live[key]
		if kind == KindVolume {
			for inst, vols := range f.mounts {
				if _, ok := f.live["instance/"+inst]; ok && slices.Contains(vols, id) {
					return activities.KraftCloudDeleteResult{}, temporal.NewNonRetryableApplicationError("volume is attached to "+inst, activities.ErrTypeAPI, nil)
				}
			}
		}
		delete(f.live, key)
		return activities.KraftCloudDeleteResult{UUID: id}, nil
	}
}

func (f *kraftCloudFake) install(env *testsuite.TestWorkflowEnvironment) {
	var a *activities.KraftCloudActivities
	env.RegisterActivity(a)
	env.OnActivity(a.KraftCloudCreateVolume, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.KraftCloudCreateVolumeInput) (activities.KraftCloudCreateResult, error) {
			return f.create(KindVolume, in.Name)
		})
	env.OnActivity(a.KraftCloudCreateServiceGroup, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.KraftCloudCreateServiceGroupInput) (activities.KraftCloudCreateResult, error) {
			return f.create(KindServiceGroup, in.Name)
		})
	env.OnActivity(a.KraftCloudCreateInstance, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.KraftCloudCreateInstanceInput) (activities.KraftCloudCreateResult, error) {
			f.mu.Lock()
			_, adopted := f.live["instance/"+in.Name]
			f.instance = in
			if !adopted {
				for _, m := range in.Volumes {
					f.mounts[in.Name] = append(f.mounts[in.Name], m.UUID)
				}
			}
			f.mu.Unlock()
			return f.create(KindInstance, in.Name)
		})
	env.OnActivity(a.KraftCloudWaitInstances, mock.Anything, mock.Anything).Return(f.wait)
	env.OnActivity(a.KraftCloudDeleteInstance, mock.Anything, mock.Anything).Return(f.delete(KindInstance))
	env.OnActivity(a.KraftCloudDeleteServiceGroup, mock.Anything, mock.Anything).Return(f.delete(KindServiceGroup))
	env.OnActivity(a.KraftCloudDeleteVolume, mock.Anything, mock.Anything).Return(f.delete(KindVolume))
}

func sampleDeploy() DeployInstanceInput {
	return DeployInstanceInput{
		Volume: &KraftCloudVolumeSpec{Name: "demo-data", SizeMB: 512, At: "/data"},
		ServiceGroup: &KraftCloudServiceGroupSpec{Name: "demo-web", Domains: []string{"demo.example.com"},
			Services: []KraftCloudServiceSpec{{Port: 443, DestinationPort: 8080, Handlers: []string{"tls", "http"}}}},
		Instance: KraftCloudInstanceSpec{Name: "demo", Image: "nginx:latest", MemoryMB: 256, VCPUs: 1,
			Args: []string{"-g", "daemon off;"}, Env: map[string]string{"API_KEY": "s3cret"}},
		Timeouts: Timeouts{Operation: 5 * time.Minute},
	}
}

func runDeploy(t *testing.T, f *kraftCloudFake, in DeployInstanceInput, setup func(env *testsuite.TestWorkflowEnvironment)) (*testsuite.TestWorkflowEnvironment, DeployInstanceResult, error) {
	t.Helper()
	return runWorkflow[DeployInstanceResult](t, DeployInstance, in, f.install, setup)
}

func TestDeployInstanceSuccess(t *testing.T) {
	f := newKraftCloudFake()
	env, res, err := runDeploy(t, f, sampleDeploy(), nil)
	require.NoError(t, err)

	require.Equal(t, []string{"instance/demo", "service-group/demo-web", "volume/demo-data"}, f.liveNames())
	// The instance joined the group and mounts the volume, by the UUIDs their creates returned.
	require.Equal(t, f.live["service-group/demo-web"], f.instance.ServiceGroup)
	require.Equal(t, []activities.KraftCloudMount{{UUID: f.live["volume/demo-data"], At: "/data"}}, f.instance.Volumes)
	require.True(t, f.instance.Autostart)
	require.Equal(t, map[string]string{"API_KEY": "s3cret"}, f.instance.Env)
	require.Contains(t, f.calls, "wait "+f.live["instance/demo"], "the wait names the instance by UUID")

	require.Equal(t, Resource{Kind: KindInstance, Name: "demo", ID: f.live["instance/demo"], State: kraftcloud.StateRunning}, res.Instance)
	require.Equal(t, f.live["volume/demo-data"], res.Volume.ID)
	require.Equal(t, f.live["service-group/demo-web"], res.ServiceGroup.ID)
	require.Empty(t, res.FailedStep)
	require.Len(t, res.Steps, 3)
	for _, st := range res.Steps {
		require.Equal(t, StepDone, st.State, st.Name)
		require.NotEmpty(t, st.ID, st.Name)
	}
	require.Empty(t, f.deletes(), "nothing is deleted on success")

	p := progress(t, env)
	require.Equal(t, DeployInstanceWorkflowName, p.Workflow)
	require.Equal(t, PhaseCompleted, p.Phase)
	require.Equal(t, []string{"volume/demo-data", "service-group/demo-web", "instance/demo"},
		[]string{p.Steps[0].Name, p.Steps[1].Name, p.Steps[2].Name}, "the plan, in order")
}

// The volume and the service group are optional; the result then omits them.
func TestDeployInstanceAlone(t *testing.T) {
	f := newKraftCloudFake()
	in := sampleDeploy()
	in.Volume, in.ServiceGroup = nil, nil
	_, res, err := runDeploy(t, f, in, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"instance/demo"}, f.liveNames())
	require.Empty(t, f.instance.ServiceGroup)
	require.Empty(t, f.instance.Volumes)
	require.Len(t, res.Steps, 1)
	b, err := json.Marshal(res)
	require.NoError(t, err)
	require.NotContains(t, string(b), `"volume"`)
	require.NotContains(t, string(b), `"serviceGroup"`)
}

// A failure at each create and at the wait leaves nothing behind, and the
// result says what was undone.
func TestDeployInstanceFailureAtEveryStepCompensates(t *testing.T) {
	for _, step := range []string{"volume/demo-data", "service-group/demo-web", "instance/demo", "wait"} {
		t.Run(step, func(t *testing.T) {
			f := newKraftCloudFake()
			failed := step
			if step == "wait" {
				f.failWait, failed = "instance/demo", "instance/demo"
			} else {
				f.failCreate = step
			}
			_, res, err := runDeploy(t, f, sampleDeploy(), nil)
			require.Error(t, err)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app))
			require.Equal(t, ErrTypeDeployFailed, app.Type())
			require.Contains(t, app.Error(), "step "+failed+" failed")
			require.Equal(t, failed, res.FailedStep)
			require.Empty(t, f.liveNames(), "compensation leaves nothing behind")
			require.Empty(t, res.NotUndone)
			if step != "wait" {
				require.Equal(t, StepFailed, stepState(res.Steps, failed), "nothing was made, so nothing was undone")
			}
			switch step {
			case "volume/demo-data":
				require.NotContains(t, f.callLog(), "create instance/demo", "no instance without its volume")
				require.Equal(t, []string{"service-group/demo-web"}, res.Undone)
			case "service-group/demo-web":
				require.NotContains(t, f.callLog(), "create instance/demo")
				require.Equal(t, []string{"volume/demo-data"}, res.Undone)
			case "instance/demo":
				require.ElementsMatch(t, []string{"volume/demo-data", "service-group/demo-web"}, res.Undone)
			case "wait":
				require.ElementsMatch(t, []string{"volume/demo-data", "service-group/demo-web", "instance/demo"}, res.Undone,
					"an instance that did not get to running is removed too")
				require.Contains(t, app.Error(), "the unikernel crashed on boot")
				require.Equal(t, StepUndone, stepState(res.Steps, "instance/demo"))
			}
		})
	}
}

func TestDeployInstanceCompensatesInReverseOrder(t *testing.T) {
	f := newKraftCloudFake()
	f.failWait = "instance/demo"
	_, _, err := runDeploy(t, f, sampleDeploy(), nil)
	require.Error(t, err)
	require.Equal(t, []string{"instance/demo", "service-group/demo-web", "volume/demo-data"}, f.deletes())
}

func TestDeployInstanceReportsWhatItCouldNotUndo(t *testing.T) {
	f := newKraftCloudFake()
	f.failWait = "instance/demo"
	f.failDelete = "service-group/demo-web"
	_, res, err := runDeploy(t, f, sampleDeploy(), nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "NOT undone (still exist): service-group/demo-web")
	require.Len(t, res.NotUndone, 1)
	require.Equal(t, UndoFailure{Step: "service-group/demo-web", Kind: KindServiceGroup, Name: "demo-web",
		ID: f.live["service-group/demo-web"], Error: "delete refused"}, res.NotUndone[0])
	require.Equal(t, []string{"service-group/demo-web"}, f.liveNames())
	require.ElementsMatch(t, []string{"instance/demo", "volume/demo-data"}, res.Undone)
}

// An instance that cannot be deleted still holds its volume and group: they
// are not tried, and all three are reported.
func TestDeployInstanceLeavesWhatTheInstanceHoldsWhenItStays(t *testing.T) {
	f := newKraftCloudFake()
	f.failWait = "instance/demo"
	f.failDelete = "instance/demo"
	_, res, err := runDeploy(t, f, sampleDeploy(), nil)
	require.Error(t, err)
	// The refused delete was tried again (Timeouts.Undo), then given up.
	require.Equal(t, []string{"instance/demo"}, slices.Compact(f.deletes()))
	require.Len(t, res.NotUndone, 3)
	require.Contains(t, res.NotUndone[0].Error, "skipped: instance demo still exists")
	require.Contains(t, err.Error(), "NOT undone (still exist): instance/demo, service-group/demo-web, volume/demo-data")
}

func TestDeployInstanceKeepsResourcesThatExistedBefore(t *testing.T) {
	f := newKraftCloudFake()
	f.live["volume/demo-data"] = "volume-old"
	f.preexisting["volume/demo-data"] = true
	f.failCreate = "instance/demo"
	_, res, err := runDeploy(t, f, sampleDeploy(), nil)
	require.Error(t, err)
	require.Equal(t, []string{"volume/demo-data"}, f.liveNames(), "the pre-existing volume is kept")
	require.Equal(t, StepKept, stepState(res.Steps, "volume/demo-data"))
	require.Equal(t, []string{"service-group/demo-web"}, res.Undone)
	require.NotContains(t, f.deletes(), "volume/demo-data")
}

// Deploying what is already there succeeds and adopts it all.
func TestDeployInstanceIsIdempotent(t *testing.T) {
	f := newKraftCloudFake()
	for _, k := range []string{"volume/demo-data", "service-group/demo-web", "instance/demo"} {
		f.live[k], f.preexisting[k] = k+"-old", true
	}
	_, res, err := runDeploy(t, f, sampleDeploy(), nil)
	require.NoError(t, err)
	require.True(t, res.Instance.Existed)
	require.True(t, res.Volume.Existed)
	require.True(t, res.ServiceGroup.Existed)
	require.Equal(t, "instance/demo-old", res.Instance.ID)
}

// An instance of that name that exists and is stopped is not waited on (it
// would never run) nor started: the run fails at once and keeps it.
func TestDeployInstanceFindsAStoppedInstance(t *testing.T) {
	f := newKraftCloudFake()
	f.live["instance/demo"], f.preexisting["instance/demo"] = "old", true
	f.stopped = true
	_, res, err := runDeploy(t, f, sampleDeploy(), nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "instance demo already exists and is stopped")
	require.Equal(t, []string{"instance/demo"}, f.liveNames(), "the instance is kept, the rest undone")
	require.Equal(t, StepKept, stepState(res.Steps, "instance/demo"))
	require.NotContains(t, f.calls, "wait old")
}

func TestDeployInstanceCancelledUndoesEverything(t *testing.T) {
	f := newKraftCloudFake()
	f.waitDelay = time.Hour
	_, res, err := runDeploy(t, f, sampleDeploy(), func(env *testsuite.TestWorkflowEnvironment) {
		env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
			if info.ActivityType.Name == "KraftCloudWaitInstances" {
				go env.CancelWorkflow()
			}
		})
	})
	require.Error(t, err)
	require.True(t, temporal.IsCanceledError(err), "%v", err)
	require.Empty(t, f.liveNames())
	require.ElementsMatch(t, []string{"volume/demo-data", "service-group/demo-web", "instance/demo"}, res.Undone)
	require.Empty(t, res.FailedStep)
}

func TestDeployInstanceRejectsBadInput(t *testing.T) {
	in := sampleDeploy()
	in.Instance.Image = ""
	in.Volume.At = "data"
	_, _, err := runDeploy(t, newKraftCloudFake(), in, nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "instance.image is required")
	require.Contains(t, err.Error(), "absolute mount path")
}

func runUndeployInstance(t *testing.T, f *kraftCloudFake, in UndeployInstanceInput) (UndeployInstanceResult, error) {
	t.Helper()
	_, res, err := runWorkflow[UndeployInstanceResult](t, UndeployInstance, in, f.install, nil)
	return res, err
}

func TestUndeployInstance(t *testing.T) {
	f := newKraftCloudFake()
	f.live = map[string]string{"instance/demo": "i1", "volume/demo-data": "v1"}
	f.mounts["demo"] = []string{"v1"}
	in := UndeployInstanceInput{InstanceName: "demo", ServiceGroupName: "demo-web", VolumeName: "demo-data"}
	res, err := runUndeployInstance(t, f, in)
	require.NoError(t, err)
	require.Empty(t, f.liveNames())
	require.Equal(t, []Resource{{Kind: KindInstance, Name: "demo", ID: "i1"}, {Kind: KindVolume, Name: "demo-data", ID: "v1"}}, res.Deleted)
	require.Equal(t, []Resource{{Kind: KindServiceGroup, Name: "demo-web"}}, res.AlreadyGone)
	require.Equal(t, "instance/demo", f.deletes()[0], "the instance goes first")

	// Again: everything is already gone, and that is a success.
	res, err = runUndeployInstance(t, f, in)
	require.NoError(t, err)
	require.Empty(t, res.Deleted)
	require.Len(t, res.AlreadyGone, 3)
}

func TestUndeployInstanceLeavesWhatTheInstanceHolds(t *testing.T) {
	f := newKraftCloudFake()
	f.live = map[string]string{"instance/demo": "i1", "volume/demo-data": "v1"}
	f.failDelete = "instance/demo"
	res, err := runUndeployInstance(t, f, UndeployInstanceInput{InstanceName: "demo", VolumeName: "demo-data"})
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app))
	require.Equal(t, ErrTypeUndeployInstanceFailed, app.Type())
	require.Contains(t, err.Error(), "could not delete instance/demo, volume/demo-data")
	require.Equal(t, []string{"instance/demo", "volume/demo-data"}, f.liveNames())
	require.Equal(t, []string{"instance/demo"}, slices.Compact(f.deletes()), "tried again, then given up")
	require.Len(t, res.Steps, 2)
}
