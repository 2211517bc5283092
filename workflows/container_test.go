package workflows

import (
	"context"
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
	"github.com/cloudflow/cloudflow/clients/openvz"
)

// containerFake stands in for the container API activities: it keeps what
// exists, the job of each create, and the parameters set, and fails the
// step it is told to ("create", "wait", "update", "delete").
type containerFake struct {
	fakeStore
	// waitDelay holds the job's wait back, until cancelled.
	waitDelay time.Duration
	fail      string
	params    map[string]openvz.ContainerParameters // by container ID
	deleteIn  []activities.OpenVZDeleteContainerInput
}

func newContainerFake() *containerFake {
	return &containerFake{fakeStore: newFakeStore(), params: map[string]openvz.ContainerParameters{}}
}

// called says whether a call starting with prefix was made.
func (f *containerFake) called(prefix string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}

func (f *containerFake) failing(step string) error {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail != step {
		return nil
	}
	time.Sleep(failureLag)
	return errBoom
}

func (f *containerFake) install(env *testsuite.TestWorkflowEnvironment) {
	var a *activities.OpenVZActivities
	env.RegisterActivity(a)
	env.OnActivity(a.OpenVZCreateContainer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OpenVZCreateContainerInput) (activities.OpenVZCreateContainerResult, error) {
			if err := f.failing("create"); err != nil {
				return activities.OpenVZCreateContainerResult{}, err
			}
			id, found, preexisting, err := f.fakeStore.create(KindContainer, in.Name)
			if err != nil {
				return activities.OpenVZCreateContainerResult{}, err
			}
			if found {
				return activities.OpenVZCreateContainerResult{ContainerID: id, Existed: preexisting}, nil
			}
			return activities.OpenVZCreateContainerResult{JobID: "job-" + id}, nil
		})
	env.OnActivity(a.OpenVZWaitJob, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.OpenVZWaitJobInput) (activities.OpenVZWaitJobResult, error) {
			f.mu.Lock()
			f.calls = append(f.calls, "wait "+in.JobID)
			d := f.waitDelay
			f.mu.Unlock()
			if err := pause(ctx, d); err != nil {
				return activities.OpenVZWaitJobResult{}, err
			}
			if f.failing("wait") != nil {
				// A failed job: the container never appears.
				f.mu.Lock()
				delete(f.live, KindContainer+"/"+in.Name)
				f.mu.Unlock()
				return activities.OpenVZWaitJobResult{}, temporal.NewNonRetryableApplicationError(
					"create container "+in.Name+": job "+in.JobID+" failed; the API gives no reason", activities.ErrTypeOperationFailed, nil)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			return activities.OpenVZWaitJobResult{ContainerID: f.live[KindContainer+"/"+in.Name], Resolution: "job"}, nil
		})
	env.OnActivity(a.OpenVZUpdateContainer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OpenVZUpdateContainerInput) (activities.OpenVZUpdateContainerResult, error) {
			f.mu.Lock()
			f.calls = append(f.calls, "update "+in.ID)
			f.mu.Unlock()
			if err := f.failing("update"); err != nil {
				return activities.OpenVZUpdateContainerResult{}, temporal.NewNonRetryableApplicationError(
					"update container: 400 Bad Request: bad ipadd", activities.ErrTypeAPI, nil)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			f.params[in.ID] = in.Parameters
			return activities.OpenVZUpdateContainerResult{ContainerID: in.ID}, nil
		})
	env.OnActivity(a.OpenVZDeleteContainer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OpenVZDeleteContainerInput) (activities.OpenVZDeleteContainerResult, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.calls = append(f.calls, "delete "+KindContainer+"/"+in.Name)
			f.deleteIn = append(f.deleteIn, in)
			if f.fail == "delete" {
				return activities.OpenVZDeleteContainerResult{}, temporal.NewNonRetryableApplicationError("delete refused", activities.ErrTypeAPI, nil)
			}
			key := KindContainer + "/" + in.Name
			id, ok := f.live[key]
			if !ok || (in.ID != "" && in.ID != id) {
				return activities.OpenVZDeleteContainerResult{ContainerID: in.ID, AlreadyGone: true}, nil
			}
			delete(f.live, key)
			return activities.OpenVZDeleteContainerResult{ContainerID: id}, nil
		})
}

func sampleContainer() CreateContainerInput {
	return CreateContainerInput{
		Container: ContainerSpec{Name: "ct100", OSTemplate: "centos-7-x86_64", Hostname: "ct100.example.com", CPUs: 2,
			Memory: "1G", Disk: "10G", IPAddress: "10.0.0.5", Nameservers: []string{"1.1.1.1", "8.8.8.8"}},
		Timeouts: Timeouts{Operation: 5 * time.Minute},
	}
}

func runCreateContainer(t *testing.T, f *containerFake, in CreateContainerInput, setup func(env *testsuite.TestWorkflowEnvironment)) (*testsuite.TestWorkflowEnvironment, CreateContainerResult, error) {
	t.Helper()
	return runWorkflow[CreateContainerResult](t, CreateContainer, in, f.install, setup)
}

func TestCreateContainerSuccess(t *testing.T) {
	f := newContainerFake()
	env, res, err := runCreateContainer(t, f, sampleContainer(), nil)
	require.NoError(t, err)
	id := f.live["container/ct100"]
	require.Equal(t, []string{"container/ct100"}, f.liveNames())
	require.Equal(t, []string{"create container/ct100", "wait job-" + id, "update " + id}, f.calls, "create, wait for its job, then PATCH")
	require.Equal(t, openvz.ContainerParameters{Hostname: "ct100.example.com", CPUs: "2", MemSize: "1", MemSizeUnits: "G",
		Size: "10", SizeUnits: "G", IPAdd: "10.0.0.5", Nameserver: "1.1.1.1,8.8.8.8"}, f.params[id])

	require.Equal(t, Resource{Kind: KindContainer, Name: "ct100", ID: id}, res.Container)
	require.Empty(t, res.FailedStep)
	require.Len(t, res.Steps, 2)
	for _, st := range res.Steps {
		require.Equal(t, StepDone, st.State, st.Name)
		require.Equal(t, id, st.ID, st.Name)
		require.Empty(t, st.OperationID, "the job is history once done")
	}
	p := progress(t, env)
	require.Equal(t, CreateContainerWorkflowName, p.Workflow)
	require.Equal(t, PhaseCompleted, p.Phase)
	require.Equal(t, []string{"container/ct100", "parameters/ct100"}, []string{p.Steps[0].Name, p.Steps[1].Name}, "the plan, in order")
}

// Without parameters the container is only created: no parameters step.
func TestCreateContainerWithoutParameters(t *testing.T) {
	f := newContainerFake()
	_, res, err := runCreateContainer(t, f, CreateContainerInput{Container: ContainerSpec{Name: "bare", OSTemplate: "t"}}, nil)
	require.NoError(t, err)
	require.Len(t, res.Steps, 1)
	require.NotContains(t, f.calls, "update "+f.live["container/bare"])
}

// A failure at the create, at the wait for its job and at the update each
// leave nothing behind, and the result says what was undone.
func TestCreateContainerFailureAtEveryStepLeavesNothing(t *testing.T) {
	for _, step := range []string{"create", "wait", "update"} {
		t.Run(step, func(t *testing.T) {
			f := newContainerFake()
			f.fail = step
			_, res, err := runCreateContainer(t, f, sampleContainer(), nil)
			require.Error(t, err)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app))
			require.Equal(t, ErrTypeCreateContainerFailed, app.Type())
			require.Empty(t, f.liveNames(), "compensation leaves nothing behind")
			require.Empty(t, res.NotUndone)
			switch step {
			case "create", "wait":
				require.Equal(t, "container/ct100", res.FailedStep)
				require.Equal(t, StepFailed, stepState(res.Steps, "container/ct100"), "nothing was made, so nothing was undone")
				require.Equal(t, StepPending, stepState(res.Steps, "parameters/ct100"))
				require.Empty(t, res.Undone)
				require.False(t, f.called("update "), "no update without a container: %v", f.calls)
			case "update":
				require.Equal(t, "parameters/ct100", res.FailedStep)
				require.Equal(t, []string{"container/ct100"}, res.Undone, "the container it made is deleted")
				require.Equal(t, StepUndone, stepState(res.Steps, "container/ct100"))
				require.Equal(t, StepFailed, stepState(res.Steps, "parameters/ct100"))
				require.Contains(t, app.Error(), "step parameters/ct100 failed: update container: 400 Bad Request: bad ipadd")
			}
			if step == "wait" {
				require.Contains(t, app.Error(), "the API gives no reason")
				// The undo named the job, so as not to miss a container it might still make.
				require.Len(t, f.deleteIn, 1)
				require.NotEmpty(t, f.deleteIn[0].JobID)
			}
		})
	}
}

// A container that had the name before the run is adopted: its parameters
// are set, and a failure keeps it.
func TestCreateContainerKeepsOneThatExisted(t *testing.T) {
	f := newContainerFake()
	f.live["container/ct100"], f.preexisting["container/ct100"] = "old", true
	_, res, err := runCreateContainer(t, f, sampleContainer(), nil)
	require.NoError(t, err)
	require.True(t, res.Container.Existed)
	require.Equal(t, "old", res.Container.ID)
	require.False(t, f.called("wait "), "nothing to wait for: %v", f.calls)
	require.Equal(t, "10.0.0.5", f.params["old"].IPAdd)

	f = newContainerFake()
	f.live["container/ct100"], f.preexisting["container/ct100"] = "old", true
	f.fail = "update"
	_, res, err = runCreateContainer(t, f, sampleContainer(), nil)
	require.Error(t, err)
	require.Equal(t, []string{"container/ct100"}, f.liveNames(), "the container that existed is kept")
	require.Equal(t, StepKept, stepState(res.Steps, "container/ct100"))
	require.Empty(t, res.Undone)
	require.Empty(t, f.deletes())
}

func TestCreateContainerReportsWhatItCouldNotUndo(t *testing.T) {
	f := newContainerFake()
	f.fail = "update"
	orig := f.fail
	_, res, err := runCreateContainer(t, f, sampleContainer(), func(env *testsuite.TestWorkflowEnvironment) {
		env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
			if info.ActivityType.Name == "OpenVZUpdateContainer" {
				f.mu.Lock()
				f.fail = "delete"
				f.mu.Unlock()
			}
		})
	})
	require.Equal(t, "update", orig)
	require.Error(t, err)
	require.Contains(t, err.Error(), "NOT undone (still exist): container/ct100")
	require.Equal(t, []UndoFailure{{Step: "container/ct100", Kind: KindContainer, Name: "ct100", ID: f.live["container/ct100"], Error: "delete refused"}}, res.NotUndone)
	require.Equal(t, StepUndoFailed, stepState(res.Steps, "container/ct100"))
}

// Cancelled while it waits for the job: the container the job makes is
// deleted, the delete naming the job so that it waits for the container.
func TestCreateContainerCancelledMidWaitUndoes(t *testing.T) {
	f := newContainerFake()
	f.waitDelay = time.Hour
	_, res, err := runCreateContainer(t, f, sampleContainer(), func(env *testsuite.TestWorkflowEnvironment) {
		env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
			if info.ActivityType.Name == "OpenVZWaitJob" {
				go env.CancelWorkflow()
			}
		})
	})
	require.Error(t, err)
	require.True(t, temporal.IsCanceledError(err), "%v", err)
	require.Empty(t, f.liveNames())
	require.Equal(t, []string{"container/ct100"}, res.Undone)
	require.Empty(t, res.FailedStep)
	// The cancelled wait's activity may still be running (the test suite does
	// not wait for it once the run has ended): read the fake under its lock.
	f.mu.Lock()
	deleteIn := slices.Clone(f.deleteIn)
	f.mu.Unlock()
	require.Len(t, deleteIn, 1)
	require.Equal(t, "job-"+"container-id-1", deleteIn[0].JobID)
	require.NotContains(t, f.callLog(), "update container-id-1")
}

func TestCreateContainerRejectsBadInput(t *testing.T) {
	in := sampleContainer()
	in.Container.OSTemplate = ""
	in.Container.Memory = "1GB"
	in.Container.Nameservers = []string{"::1"}
	_, _, err := runCreateContainer(t, newContainerFake(), in, nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "container.osTemplate is required")
	require.Contains(t, err.Error(), `container.memory "1GB" is not a size`)
	require.Contains(t, err.Error(), `container.nameservers[0] "::1" is not an IPv4 address`)
}

func runDeleteContainer(t *testing.T, f *containerFake, in DeleteContainerInput) (DeleteContainerResult, error) {
	t.Helper()
	_, res, err := runWorkflow[DeleteContainerResult](t, DeleteContainer, in, f.install, nil)
	return res, err
}

func TestDeleteContainer(t *testing.T) {
	f := newContainerFake()
	f.live["container/ct100"] = "c1"
	res, err := runDeleteContainer(t, f, DeleteContainerInput{Name: "ct100"})
	require.NoError(t, err)
	require.Empty(t, f.liveNames())
	require.Equal(t, []Resource{{Kind: KindContainer, Name: "ct100", ID: "c1"}}, res.Deleted)

	// Again: already gone, and that is a success.
	res, err = runDeleteContainer(t, f, DeleteContainerInput{Name: "ct100"})
	require.NoError(t, err)
	require.Empty(t, res.Deleted)
	require.Equal(t, []Resource{{Kind: KindContainer, Name: "ct100"}}, res.AlreadyGone)

	f.live["container/ct100"] = "c2"
	f.fail = "delete"
	res, err = runDeleteContainer(t, f, DeleteContainerInput{Name: "ct100"})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app))
	require.Equal(t, ErrTypeDeleteContainerFailed, app.Type())
	require.Contains(t, err.Error(), "could not delete container/ct100")
	require.Equal(t, StepFailed, stepState(res.Steps, "container/ct100"))

	_, err = runDeleteContainer(t, f, DeleteContainerInput{})
	require.ErrorContains(t, err, "name is required")
}
