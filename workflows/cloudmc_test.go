package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/cloudflow/cloudflow/activities"
)

// cloudMCFake stands in for the CloudMC activities. Creates answer with a
// task only, as the cloud does; the wait names the resource. An attachment
// is kept as "volume-attachment/<volume>", and the fake refuses to delete an
// attached volume, as the cloud does. failWait makes that step's wait fail.
type cloudMCFake struct {
	fakeStore
	// waitDelay holds every create's wait back, until cancelled.
	waitDelay time.Duration
	// attach is the input the attach was called with, volume the volume create's.
	attach activities.CloudMCAttachVolumeInput
	volume activities.CloudMCCreateVolumeInput
	// offerings are the disk offerings the environment has, by name.
	offerings map[string]activities.CloudMCDiskOffering
}

func newCloudMCFake() *cloudMCFake {
	return &cloudMCFake{fakeStore: newFakeStore(), offerings: map[string]activities.CloudMCDiskOffering{
		"Custom": {ID: "do-custom", Name: "Custom", CustomSize: true},
		"50GB":   {ID: "do-50", Name: "50GB", SizeGB: 50},
	}}
}

// resolve finds a disk offering by name and checks the size, as the
// activity does.
func (f *cloudMCFake) resolve(in activities.CloudMCResolveDiskOfferingInput) (activities.CloudMCDiskOffering, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "resolve "+KindDiskOffering+"/"+in.DiskOffering)
	o, ok := f.offerings[firstNonEmpty(in.DiskOffering, "Custom")]
	switch {
	case !ok:
		return o, temporal.NewNonRetryableApplicationError(fmt.Sprintf("diskOffering %q names no disk offering", in.DiskOffering), activities.ErrTypeInvalidInput, nil)
	case o.CustomSize != (in.SizeGB > 0):
		return o, temporal.NewNonRetryableApplicationError("sizeInGb does not fit the offering", activities.ErrTypeInvalidInput, nil)
	case o.CustomSize:
		o.SizeGB = in.SizeGB
	}
	return o, nil
}

func ruleLabel(r activities.CloudMCRule) string {
	return CloudMCIngressRuleSpec{Protocol: r.Protocol, StartPort: r.StartPort, EndPort: r.EndPort, CIDR: r.CIDR}.Label()
}

func (f *cloudMCFake) create(kind, name string) (activities.CloudMCCreateResult, error) {
	id, found, preexisting, err := f.fakeStore.create(kind, name)
	switch {
	case err != nil:
		return activities.CloudMCCreateResult{}, err
	case found:
		return activities.CloudMCCreateResult{ResourceID: id, Existed: preexisting}, nil
	}
	return activities.CloudMCCreateResult{TaskID: "task-" + id}, nil
}

func (f *cloudMCFake) wait(ctx context.Context, in activities.CloudMCWaitInput) (activities.CloudMCWaitResult, error) {
	name := in.Name
	if in.Rule != nil {
		name = ruleLabel(*in.Rule)
	}
	key := in.Kind + "/" + name
	f.mu.Lock()
	d := f.waitDelay
	failing := !in.Gone && f.failWait == key
	f.mu.Unlock()
	if in.Gone {
		d = 0
	}
	if failing {
		d = failureLag
	}
	if err := pause(ctx, d); err != nil {
		return activities.CloudMCWaitResult{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "wait "+key)
	if failing {
		return activities.CloudMCWaitResult{}, temporal.NewNonRetryableApplicationError(
			"task failed: the host ran out of capacity", activities.ErrTypeOperationFailed, nil)
	}
	if in.Gone {
		return activities.CloudMCWaitResult{ResourceID: in.ResourceID, Resolution: "task"}, nil
	}
	id := f.live[key]
	if in.Kind == activities.KindCloudMCAttachment {
		id = in.ResourceID
	}
	return activities.CloudMCWaitResult{ResourceID: id, State: "Ready", Resolution: "task"}, nil
}

// remove deletes kind/name, found by id or else by name.
func (f *cloudMCFake) remove(kind, id, name string) (activities.CloudMCDeleteResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := ""
	for k, v := range f.live {
		if strings.HasPrefix(k, kind+"/") && ((id != "" && v == id) || (id == "" && k == kind+"/"+name)) {
			key = k
		}
	}
	if key != "" {
		name = strings.TrimPrefix(key, kind+"/")
	}
	f.calls = append(f.calls, "delete "+kind+"/"+name)
	if f.failDelete == kind+"/"+name {
		return activities.CloudMCDeleteResult{}, temporal.NewNonRetryableApplicationError("delete refused", activities.ErrTypeAPI, nil)
	}
	if key == "" {
		return activities.CloudMCDeleteResult{ResourceID: id, AlreadyGone: true}, nil
	}
	if kind == KindVolume {
		if _, attached := f.live[KindVolumeAttachment+"/"+name]; attached {
			return activities.CloudMCDeleteResult{}, temporal.NewNonRetryableApplicationError("volume is attached", activities.ErrTypeAPI, nil)
		}
	}
	id = f.live[key]
	delete(f.live, key)
	return activities.CloudMCDeleteResult{ResourceID: id, TaskID: "task-delete-" + id}, nil
}

func (f *cloudMCFake) install(env *testsuite.TestWorkflowEnvironment) {
	var a *activities.CloudMCActivities
	env.RegisterActivity(a)
	env.OnActivity(a.CloudMCCreateInstance, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloudMCCreateInstanceInput) (activities.CloudMCCreateResult, error) {
			return f.create(KindInstance, in.Name)
		})
	env.OnActivity(a.CloudMCResolveDiskOffering, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloudMCResolveDiskOfferingInput) (activities.CloudMCDiskOffering, error) {
			return f.resolve(in)
		})
	env.OnActivity(a.CloudMCCreateVolume, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloudMCCreateVolumeInput) (activities.CloudMCCreateResult, error) {
			f.mu.Lock()
			f.volume = in
			f.mu.Unlock()
			return f.create(KindVolume, in.Name)
		})
	env.OnActivity(a.CloudMCAttachVolume, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloudMCAttachVolumeInput) (activities.CloudMCCreateResult, error) {
			f.mu.Lock()
			f.attach = in
			f.mu.Unlock()
			r, err := f.create(KindVolumeAttachment, in.VolumeName)
			r.ResourceID = in.VolumeID
			return r, err
		})
	env.OnActivity(a.CloudMCCreateIngressRule, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloudMCCreateIngressRuleInput) (activities.CloudMCCreateResult, error) {
			return f.create(KindIngressRule, ruleLabel(in.Rule))
		})
	env.OnActivity(a.CloudMCWaitTask, mock.Anything, mock.Anything).Return(f.wait)
	env.OnActivity(a.CloudMCDeleteInstance, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloudMCDeleteInput) (activities.CloudMCDeleteResult, error) {
			return f.remove(KindInstance, in.ID, in.Name)
		})
	env.OnActivity(a.CloudMCDeleteVolume, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloudMCDeleteInput) (activities.CloudMCDeleteResult, error) {
			return f.remove(KindVolume, in.ID, in.Name)
		})
	env.OnActivity(a.CloudMCDetachVolume, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloudMCDetachVolumeInput) (activities.CloudMCDeleteResult, error) {
			// The attachment is kept under the volume's name, its ID is the volume's.
			r, err := f.remove(KindVolumeAttachment, "", in.VolumeName)
			if err == nil && !r.AlreadyGone {
				r.ResourceID = firstNonEmpty(in.VolumeID, r.ResourceID)
			}
			return r, err
		})
	env.OnActivity(a.CloudMCDeleteIngressRule, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CloudMCDeleteIngressRuleInput) (activities.CloudMCDeleteResult, error) {
			return f.remove(KindIngressRule, in.ID, ruleLabel(in.Rule))
		})
}

func sampleCloudMC() ProvisionInstanceInput {
	return ProvisionInstanceInput{
		Instance: CloudMCInstanceSpec{Name: "web", ComputeOfferingID: "co-1", NetworkID: "net-1", TemplateID: "tpl-1"},
		Volume:   &CloudMCVolumeSpec{Name: "web-data", DiskOffering: "Custom", SizeGB: 20},
		IngressRules: []CloudMCIngressRuleSpec{
			{Protocol: "tcp", StartPort: 22, CIDR: "0.0.0.0/0"},
			{Protocol: "tcp", StartPort: 8000, EndPort: 8080, CIDR: "10.0.0.0/8"},
		},
		Timeouts: Timeouts{Operation: 5 * time.Minute},
	}
}

const (
	cmcOffer  = "disk-offering/Custom"
	cmcInst   = "instance/web"
	cmcVol    = "volume/web-data"
	cmcAttach = "volume-attachment/web-data"
	cmcSSH    = "ingress-rule/tcp-22-0.0.0.0/0"
	cmcWeb    = "ingress-rule/tcp-8000-8080-10.0.0.0/8"
)

func runProvisionInstance(t *testing.T, f *cloudMCFake, in ProvisionInstanceInput, setup func(env *testsuite.TestWorkflowEnvironment)) (*testsuite.TestWorkflowEnvironment, ProvisionInstanceResult, error) {
	t.Helper()
	return runWorkflow[ProvisionInstanceResult](t, ProvisionInstance, in, f.install, setup)
}

func TestProvisionInstanceSuccess(t *testing.T) {
	f := newCloudMCFake()
	env, res, err := runProvisionInstance(t, f, sampleCloudMC(), nil)
	require.NoError(t, err)

	require.Equal(t, []string{cmcSSH, cmcWeb, cmcInst, cmcAttach, cmcVol}, f.liveNames())
	// The attach names the volume and the instance by the IDs their waits gave.
	require.Equal(t, activities.CloudMCAttachVolumeInput{VolumeID: f.live[cmcVol], InstanceID: f.live[cmcInst], VolumeName: "web-data"}, f.attach)
	require.Equal(t, Resource{Kind: KindInstance, Name: "web", ID: f.live[cmcInst], State: "Ready"}, res.Instance)
	require.Equal(t, f.live[cmcVol], res.Volume.ID)
	require.Len(t, res.IngressRules, 2)
	require.Equal(t, Resource{Kind: KindIngressRule, Name: "tcp-22-0.0.0.0/0", ID: f.live[cmcSSH], State: "Ready"}, res.IngressRules[0])
	require.Empty(t, res.FailedStep)
	for _, st := range res.Steps {
		require.Equal(t, StepDone, st.State, st.Name)
		require.NotEmpty(t, st.ID, st.Name)
		require.Empty(t, st.OperationID, st.Name)
	}
	require.Empty(t, f.deletes(), "nothing is deleted on success")
	// The attach comes after both creates were waited out, the rules after the attach.
	idx := func(call string) int {
		calls := f.callLog()
		for i, c := range calls {
			if c == call {
				return i
			}
		}
		t.Fatalf("no call %q in %v", call, calls)
		return -1
	}
	require.Less(t, idx("wait "+cmcInst), idx("create "+cmcAttach))
	require.Less(t, idx("wait "+cmcVol), idx("create "+cmcAttach))
	require.Less(t, idx("wait "+cmcAttach), idx("create "+cmcSSH))
	require.Less(t, idx("wait "+cmcAttach), idx("create "+cmcWeb))

	p := progress(t, env)
	require.Equal(t, ProvisionInstanceWorkflowName, p.Workflow)
	require.Equal(t, PhaseCompleted, p.Phase)
	var names []string
	for _, s := range p.Steps {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{cmcOffer, cmcInst, cmcVol, cmcAttach, cmcSSH, cmcWeb}, names, "the plan, in order")
	// The disk offering is looked up before anything is created, and the
	// volume made from it.
	require.Equal(t, "resolve "+cmcOffer, f.callLog()[0])
	require.Equal(t, activities.CloudMCCreateVolumeInput{Name: "web-data", DiskOfferingID: "do-custom", SizeGB: 20}, f.volume)
	require.Equal(t, "do-custom", stepID(res.Steps, cmcOffer))
}

// A disk offering that does not exist, or does not take the size given,
// fails the run before anything is created: no create, nothing to undo.
func TestProvisionInstanceBadDiskOfferingCreatesNothing(t *testing.T) {
	for _, vol := range []CloudMCVolumeSpec{
		{Name: "web-data", DiskOffering: "fast-ssd"},
		{Name: "web-data", DiskOffering: "50GB", SizeGB: 20},
	} {
		t.Run(vol.DiskOffering, func(t *testing.T) {
			f := newCloudMCFake()
			in := sampleCloudMC()
			in.Volume = &vol
			_, res, err := runProvisionInstance(t, f, in, nil)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app), "%v", err)
			require.Equal(t, ErrTypeProvisionInstanceFailed, app.Type())
			step := KindDiskOffering + "/" + vol.DiskOffering
			require.Contains(t, app.Error(), "step "+step+" failed")
			require.Equal(t, step, res.FailedStep)
			require.Equal(t, []string{"resolve " + step}, f.callLog(), "nothing was created, nothing undone")
			require.Empty(t, res.Undone)
			require.Empty(t, res.NotUndone)
			for _, st := range res.Steps {
				if st.Name != step {
					require.Equal(t, StepPending, st.State, st.Name)
				}
			}
		})
	}
}

// A volume given by size only (the input before disk offerings) is made
// from the custom-size offering; one from a fixed-size offering sends no
// size.
func TestProvisionInstanceVolumeFromEachKindOfOffering(t *testing.T) {
	for _, tc := range []struct {
		vol  CloudMCVolumeSpec
		want activities.CloudMCCreateVolumeInput
	}{
		{CloudMCVolumeSpec{Name: "web-data", SizeGB: 20}, activities.CloudMCCreateVolumeInput{Name: "web-data", DiskOfferingID: "do-custom", SizeGB: 20}},
		{CloudMCVolumeSpec{Name: "web-data", DiskOffering: "50GB"}, activities.CloudMCCreateVolumeInput{Name: "web-data", DiskOfferingID: "do-50"}},
	} {
		f := newCloudMCFake()
		in := sampleCloudMC()
		in.Volume = &tc.vol
		_, res, err := runProvisionInstance(t, f, in, nil)
		require.NoError(t, err)
		require.Equal(t, tc.want, f.volume)
		require.Equal(t, StepDone, stepState(res.Steps, KindDiskOffering+"/"+tc.vol.diskOfferingRef()))
	}
}

// An instance alone: no volume, no attachment, no rules, and the result
// omits the volume.
func TestProvisionInstanceAlone(t *testing.T) {
	f := newCloudMCFake()
	in := sampleCloudMC()
	in.Volume, in.IngressRules = nil, nil
	_, res, err := runProvisionInstance(t, f, in, nil)
	require.NoError(t, err)
	require.Equal(t, []string{cmcInst}, f.liveNames())
	require.Len(t, res.Steps, 1)
	require.Zero(t, res.Volume)
}

// A failure at each create and at each wait leaves nothing behind, and the
// result says which step failed and what was undone.
func TestProvisionInstanceFailureAtEveryStepLeavesNothing(t *testing.T) {
	for _, step := range []string{cmcInst, cmcVol, cmcAttach, cmcSSH, cmcWeb} {
		for _, where := range []string{"create", "wait"} {
			t.Run(where+" "+step, func(t *testing.T) {
				f := newCloudMCFake()
				if where == "create" {
					f.failCreate = step
				} else {
					f.failWait = step
				}
				_, res, err := runProvisionInstance(t, f, sampleCloudMC(), nil)
				require.Error(t, err)
				var app *temporal.ApplicationError
				require.True(t, errors.As(err, &app))
				require.Equal(t, ErrTypeProvisionInstanceFailed, app.Type())
				require.Contains(t, app.Error(), "step "+step+" failed")
				require.Equal(t, step, res.FailedStep)
				require.Empty(t, f.liveNames(), "compensation leaves nothing behind")
				require.Empty(t, res.NotUndone)
				if where == "create" {
					require.Equal(t, StepFailed, stepState(res.Steps, step), "nothing was made, so nothing was undone")
					require.NotContains(t, res.Undone, step)
				} else {
					require.Contains(t, res.Undone, step, "what a failed task may have made is undone too")
				}
				switch step {
				case cmcInst, cmcVol:
					require.NotContains(t, f.callLog(), "create "+cmcAttach, "no attach without both")
					require.NotContains(t, f.callLog(), "create "+cmcSSH)
				case cmcAttach:
					require.ElementsMatch(t, append([]string{cmcInst, cmcVol}, res.Undone[2:]...), res.Undone)
					require.NotContains(t, f.callLog(), "create "+cmcSSH, "no rules before the attachment")
				}
			})
		}
	}
}

// The saga undoes in reverse: the rules, the attachment, the volume, the instance.
func TestProvisionInstanceCompensatesInReverseOrder(t *testing.T) {
	f := newCloudMCFake()
	f.failWait = cmcWeb
	_, res, err := runProvisionInstance(t, f, sampleCloudMC(), nil)
	require.Error(t, err)
	require.Equal(t, []string{cmcWeb, cmcSSH, cmcAttach, cmcVol, cmcInst}, f.deletes())
	require.ElementsMatch(t, []string{cmcWeb, cmcSSH, cmcAttach, cmcVol, cmcInst}, res.Undone)
	for _, st := range res.Steps {
		want := StepUndone
		if st.Kind == KindDiskOffering {
			want = StepDone // a lookup made nothing
		}
		require.Equal(t, want, st.State, st.Name)
	}
}

// Resources that were there before the run are adopted, and kept when the
// run is undone.
func TestProvisionInstanceKeepsWhatExistedBefore(t *testing.T) {
	f := newCloudMCFake()
	f.live[cmcVol], f.preexisting[cmcVol] = "vol-old", true
	f.live[cmcSSH], f.preexisting[cmcSSH] = "rule-old", true
	f.failCreate = cmcWeb
	_, res, err := runProvisionInstance(t, f, sampleCloudMC(), nil)
	require.Error(t, err)
	require.Equal(t, []string{cmcSSH, cmcVol}, f.liveNames(), "the pre-existing volume and rule are kept")
	require.Equal(t, StepKept, stepState(res.Steps, cmcVol))
	require.Equal(t, StepKept, stepState(res.Steps, cmcSSH))
	require.ElementsMatch(t, []string{cmcAttach, cmcInst}, res.Undone)
	require.NotContains(t, f.deletes(), cmcVol)
	require.Equal(t, "vol-old", f.attach.VolumeID, "the adopted volume was attached")
}

// Provisioning what is already there succeeds and adopts it all.
func TestProvisionInstanceIsIdempotent(t *testing.T) {
	f := newCloudMCFake()
	for _, k := range []string{cmcInst, cmcVol, cmcAttach, cmcSSH, cmcWeb} {
		f.live[k], f.preexisting[k] = k+"-old", true
	}
	_, res, err := runProvisionInstance(t, f, sampleCloudMC(), nil)
	require.NoError(t, err)
	require.True(t, res.Instance.Existed)
	require.True(t, res.Volume.Existed)
	require.True(t, res.IngressRules[1].Existed)
	require.Equal(t, cmcInst+"-old", res.Instance.ID)
}

func TestProvisionInstanceCancelledUndoesEverything(t *testing.T) {
	f := newCloudMCFake()
	in := sampleCloudMC()
	// Cancel once every rule's create is done and its wait runs: the test
	// environment settles a cancelled activity at once (a real server waits
	// for it, WaitForCancellation), so a rule still being created when the
	// cancel lands would be unknown to the workflow here only.
	var mu sync.Mutex
	ruleWaits := 0
	_, res, err := runProvisionInstance(t, f, in, func(env *testsuite.TestWorkflowEnvironment) {
		env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
			switch info.ActivityType.Name {
			case "CloudMCCreateIngressRule":
				f.mu.Lock()
				f.waitDelay = time.Hour
				f.mu.Unlock()
			case "CloudMCWaitTask":
				var w activities.CloudMCWaitInput
				if args.Get(&w) == nil && w.Kind == activities.KindCloudMCIngressRule {
					mu.Lock()
					defer mu.Unlock()
					if ruleWaits++; ruleWaits == len(in.IngressRules) {
						go env.CancelWorkflow()
					}
				}
			}
		})
	})
	require.Error(t, err)
	require.True(t, temporal.IsCanceledError(err), "%v", err)
	require.Empty(t, f.liveNames())
	require.Empty(t, res.FailedStep)
	require.Subset(t, res.Undone, []string{cmcInst, cmcVol, cmcAttach})
	require.Equal(t, cmcInst, f.deletes()[len(f.deletes())-1], "the instance goes last")
}

// What could not be undone is named; a volume still attached is not tried.
func TestProvisionInstanceReportsWhatItCouldNotUndo(t *testing.T) {
	f := newCloudMCFake()
	f.failWait = cmcSSH
	f.failDelete = cmcAttach
	_, res, err := runProvisionInstance(t, f, sampleCloudMC(), nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "NOT undone (still exist): "+cmcAttach+", "+cmcVol)
	require.Len(t, res.NotUndone, 2)
	require.Contains(t, res.NotUndone[0].Error, "skipped: volume web-data is still attached to instance web")
	require.Equal(t, UndoFailure{Step: cmcAttach, Kind: KindVolumeAttachment, Name: "web-data", ID: f.live[cmcVol], Error: "delete refused"}, res.NotUndone[1])
	require.NotContains(t, f.deletes(), cmcVol)
	require.ElementsMatch(t, []string{cmcSSH, cmcWeb, cmcInst}, res.Undone)
	require.Equal(t, []string{cmcAttach, cmcVol}, f.liveNames())
}

func TestProvisionInstanceRejectsBadInput(t *testing.T) {
	in := sampleCloudMC()
	in.Instance.TemplateID = ""
	in.IngressRules = append(in.IngressRules, CloudMCIngressRuleSpec{Protocol: "icmp", StartPort: 1, CIDR: "0.0.0.0/0"}, in.IngressRules[0])
	_, _, err := runProvisionInstance(t, newCloudMCFake(), in, nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "instance.templateId are required")
	require.Contains(t, err.Error(), "ingressRules[2]: an icmp rule takes no ports")
	require.Contains(t, err.Error(), "ingressRules[3] is the same rule as ingressRules[0]")

	for _, vol := range []CloudMCVolumeSpec{{Name: "v"}, {Name: "v", DiskOffering: "Custom", SizeGB: -1}, {DiskOffering: "Custom", SizeGB: 2}} {
		in := sampleCloudMC()
		in.Volume = &vol
		_, _, err := runProvisionInstance(t, newCloudMCFake(), in, nil)
		require.ErrorContains(t, err, "volume needs a name and a diskOffering", "%+v", vol)
	}
}

func runDeprovisionInstance(t *testing.T, f *cloudMCFake, in DeprovisionInstanceInput) (DeprovisionInstanceResult, error) {
	t.Helper()
	_, res, err := runWorkflow[DeprovisionInstanceResult](t, DeprovisionInstance, in, f.install, nil)
	return res, err
}

func sampleDeprovisionInstance() DeprovisionInstanceInput {
	in := sampleCloudMC()
	return DeprovisionInstanceInput{InstanceName: "web", VolumeName: "web-data", IngressRules: in.IngressRules, NetworkID: "net-1"}
}

func TestDeprovisionInstance(t *testing.T) {
	f := newCloudMCFake()
	for _, k := range []string{cmcInst, cmcVol, cmcAttach, cmcSSH} {
		f.live[k] = k + "-id"
	}
	res, err := runDeprovisionInstance(t, f, sampleDeprovisionInstance())
	require.NoError(t, err)
	require.Empty(t, f.liveNames())
	deletes := f.deletes()
	require.ElementsMatch(t, []string{cmcSSH, cmcWeb}, deletes[:2], "the rules go first")
	require.Equal(t, []string{cmcAttach, cmcVol, cmcInst}, deletes[2:], "then the volume, detached first, then the instance")
	require.Len(t, res.Deleted, 4)
	require.Equal(t, []Resource{{Kind: KindIngressRule, Name: "tcp-8000-8080-10.0.0.0/8"}}, res.AlreadyGone)

	// Again: everything is already gone, and that is a success.
	res, err = runDeprovisionInstance(t, f, sampleDeprovisionInstance())
	require.NoError(t, err)
	require.Empty(t, res.Deleted)
	require.Len(t, res.AlreadyGone, 5)
}

// A volume that could not be detached is not deleted (the cloud refuses),
// but the instance still is, and the run names what is left.
func TestDeprovisionInstanceLeavesAVolumeItCouldNotDetach(t *testing.T) {
	f := newCloudMCFake()
	for _, k := range []string{cmcInst, cmcVol, cmcAttach} {
		f.live[k] = k + "-id"
	}
	f.failDelete = cmcAttach
	res, err := runDeprovisionInstance(t, f, DeprovisionInstanceInput{InstanceName: "web", VolumeName: "web-data"})
	require.Error(t, err)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app))
	require.Equal(t, ErrTypeDeprovisionInstanceFailed, app.Type())
	require.Contains(t, err.Error(), fmt.Sprintf("could not delete %s, %s", cmcAttach, cmcVol))
	// The refused detach was tried again (Timeouts.Undo), then given up.
	require.Equal(t, []string{cmcAttach, cmcInst}, slices.Compact(f.deletes()))
	require.Equal(t, []string{cmcAttach, cmcVol}, f.liveNames())
	require.Contains(t, res.Steps[1].Error, "skipped: the volume is still attached")
	require.Equal(t, StepDone, stepState(res.Steps, cmcInst))
}

func stepID(steps []Step, name string) string {
	for _, st := range steps {
		if st.Name == name {
			return st.ID
		}
	}
	return ""
}
