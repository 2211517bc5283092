package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// In-place updates of the CloudMC and container stacks, end to end: the
// plan says update (not replace), and the simulator's journal shows the
// in-place calls and no delete or create.

// runStackUpdate waits for a stack operation sent through the starter.
func runStackUpdate(t *testing.T, send func(ctx context.Context) (*starter.StackUpdate, error)) workflows.StackOperationResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	u, err := send(ctx)
	require.NoError(t, err)
	res, err := u.Get(ctx)
	require.NoError(t, err)
	return res
}

// pendingChanges are a plan's changes that do something.
func pendingChanges(p workflows.StackPlan) []workflows.PlanChange {
	var out []workflows.PlanChange
	for _, c := range p.Changes {
		if c.Action != workflows.ActionNoChange {
			out = append(out, c)
		}
	}
	return out
}

// writesTo lists the journal's requests to a cloud that are not reads, as
// "METHOD path?query".
func writesTo(records []cloudsim.RequestRecord, cloud string) []string {
	var out []string
	for _, r := range records {
		if r.Cloud == cloud && r.Method != "GET" {
			w := r.Method + " " + r.Path
			if r.Query != "" {
				w += "?" + r.Query
			}
			out = append(out, w)
		}
	}
	return out
}

// A CloudMC instance's compute offering changes in place: the saved plan
// shows an update that says the instance stops, the approval stops the
// instance, changes its offering and starts it again (no delete, no
// create), and the same instance runs with the new offering.
func TestStackCloudMCComputeOfferingChangesInPlace(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	s := newStarter(t, c, tq)
	ref := starter.StackRef{Provider: workflows.ProviderCloudMC, Name: "rescale"}
	// Quick tasks keep the dozen of them short (fresh resets the latency).
	require.NoError(t, admin.SetOperationLatency(context.Background(), cloudsim.CloudCloudMC, 200*time.Millisecond))

	in := cmcInput("rescale")
	spec := workflows.StackSpec{Provider: workflows.ProviderCloudMC, CloudMC: &in}
	res, err := applyStack(t, s, workflows.StackApplyRequest{Spec: spec})
	require.NoError(t, err)
	require.Equal(t, workflows.StackInSync, res.State.Status)
	inst, ok := res.State.Resource("instance/rescale")
	require.True(t, ok)

	bigger := cmcInput("rescale")
	bigger.Instance.ComputeOfferingID = cloudsim.CloudMCComputeOffering2ID
	changed := workflows.StackSpec{Provider: workflows.ProviderCloudMC, CloudMC: &bigger}
	planned := runStackUpdate(t, func(ctx context.Context) (*starter.StackUpdate, error) {
		return s.PlanStack(ctx, workflows.StackPlanRequest{Spec: changed, Save: true})
	})
	require.Equal(t, workflows.StackAwaitingApproval, planned.State.Status)
	pending := pendingChanges(*planned.Plan)
	require.Len(t, pending, 1, "plan: %+v", planned.Plan.Changes)
	ch := pending[0]
	require.Equal(t, "instance/rescale", ch.Key)
	require.Equal(t, workflows.ActionUpdate, ch.Action, "an update, not a replace")
	require.Equal(t, []workflows.FieldChange{{Field: "computeOffering", Old: cloudsim.CloudMCComputeOfferingID, New: cloudsim.CloudMCComputeOffering2ID}}, ch.Fields)
	require.Equal(t, "the instance stops for the change, then starts again", ch.Note)
	require.False(t, ch.Destructive)

	before := len(journal(t))
	approved := runStackUpdate(t, func(ctx context.Context) (*starter.StackUpdate, error) {
		return s.ApproveStack(ctx, ref, workflows.StackApproveRequest{PlanID: planned.Plan.ID})
	})
	require.Equal(t, workflows.StackInSync, approved.State.Status)
	path := "/api/v2/services/" + cloudsim.DefaultCloudMCServiceCode + "/" + cloudsim.DefaultCloudMCEnvironment + "/instances/" + inst.ID
	require.Equal(t, []string{
		"POST " + path + "?operation=stop",
		"POST " + path + "?operation=changeComputeOffering",
		"POST " + path + "?operation=start",
	}, writesTo(journal(t)[before:], cloudsim.CloudCloudMC), "stop, change, start: no delete, no create")

	got, err := cmcClient(t).Instances.Get(context.Background(), inst.ID)
	require.NoError(t, err)
	require.Equal(t, "Running", got.State)
	require.Equal(t, cloudsim.CloudMCComputeOffering2ID, got.ComputeOfferingID)
	require.Equal(t, 2, got.CPUCount)
	after, ok := approved.State.Resource("instance/rescale")
	require.True(t, ok)
	require.Equal(t, inst.ID, after.ID, "the same instance")
	require.Equal(t, workflows.OwnershipCreated, after.Ownership)
	require.False(t, planStack(t, s, changed).Pending(), "in sync after the change")
	saveHistory(t, approved.Operation.Run, "cloudmc-stack-approve-offering")

	runStackUpdate(t, func(ctx context.Context) (*starter.StackUpdate, error) {
		return s.DestroyStack(ctx, ref, workflows.StackDestroyRequest{})
	})
	require.True(t, inventory(t).Empty(), "inventory after destroy: %v", inventory(t))
	saveHistory(t, workflows.StackID(ref.Provider, ref.Name), "cloudmc-stack-plan-approve-destroy")
}

// A container's parameters change in place: the plan updates cpus and
// memory, the apply is one PATCH (no delete, no create), and the simulator
// holds the new values. A change made behind the stack's back is then
// recorded as drift, by the refresh timer and by a refresh asked for.
func TestStackContainerParametersChangeInPlace(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	s := newStarter(t, c, tq)
	ref := starter.StackRef{Provider: workflows.ProviderOpenVZ, Name: "tuned"}
	ctx := context.Background()

	in := containerInput("tuned")
	res, err := applyStack(t, s, workflows.StackApplyRequest{Spec: workflows.StackSpec{Provider: workflows.ProviderOpenVZ, OpenVZ: &in}})
	require.NoError(t, err)
	ct, ok := res.State.Resource("container/tuned")
	require.True(t, ok)
	saveHistory(t, res.Operation.Run, "openvz-stack-apply-create")

	more := containerInput("tuned")
	more.Container.CPUs, more.Container.Memory = 4, "2G"
	changed := workflows.StackSpec{Provider: workflows.ProviderOpenVZ, OpenVZ: &more}
	pending := pendingChanges(planStack(t, s, changed))
	require.Len(t, pending, 1)
	require.Equal(t, workflows.ActionUpdate, pending[0].Action)
	require.Equal(t, []workflows.FieldChange{{Field: "cpus", Old: "2", New: "4"}, {Field: "memory", Old: "1G", New: "2G"}}, pending[0].Fields)
	require.False(t, pending[0].Destructive)

	before := len(journal(t))
	res, err = applyStack(t, s, workflows.StackApplyRequest{Spec: changed})
	require.NoError(t, err)
	require.Equal(t, workflows.StackInSync, res.State.Status)
	require.Equal(t, []string{"PATCH /v0.1/containers/" + ct.ID}, writesTo(journal(t)[before:], cloudsim.CloudOpenVZ),
		"one PATCH: no delete, no create")
	got, err := ovzClient(t).Containers.Get(ctx, ct.ID)
	require.NoError(t, err)
	require.NotNil(t, got.Parameters)
	require.Equal(t, "4", got.Parameters.CPUs)
	require.Equal(t, "2", got.Parameters.MemSize)
	require.Equal(t, "G", got.Parameters.MemSizeUnits)
	require.Equal(t, "10.0.0.5", got.Parameters.IPAdd, "the other parameters stay")
	saveHistory(t, res.Operation.Run, "openvz-stack-apply-parameters")

	// Behind the stack's back: four CPUs become eight. The refresh timer
	// records it, and so does a refresh asked for.
	p := *got.Parameters
	p.SetCPUs(8)
	require.NoError(t, ovzClient(t).Containers.Update(ctx, ct.ID, &p))
	_, err = s.SetStackSettings(ctx, ref, workflows.StackSettings{RefreshInterval: time.Second})
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "the refresh timer to record the drift", func() bool {
		st, err := s.StackState(ctx, ref)
		return err == nil && st.Status == workflows.StackDrifted
	})
	refreshed := runStackUpdate(t, func(ctx context.Context) (*starter.StackUpdate, error) {
		return s.RefreshStack(ctx, ref, workflows.StackRefreshRequest{})
	})
	require.Equal(t, workflows.StackDrifted, refreshed.State.Status)
	require.Len(t, refreshed.State.Drift, 1)
	require.Equal(t, []workflows.FieldChange{{Field: "cpus", Old: "8", New: "4"}}, refreshed.State.Drift[0].Fields)

	destroyed := runStackUpdate(t, func(ctx context.Context) (*starter.StackUpdate, error) {
		return s.DestroyStack(ctx, ref, workflows.StackDestroyRequest{})
	})
	require.True(t, inventory(t).Empty(), "inventory after destroy: %v", inventory(t))
	saveHistory(t, destroyed.Operation.Run, "openvz-stack-destroy")
	saveHistory(t, workflows.StackID(ref.Provider, ref.Name), "openvz-stack-update-drift-destroy")
}
