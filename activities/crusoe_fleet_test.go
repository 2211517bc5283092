package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/clients/crusoe"
)

// runningVM creates a VM through the activities and waits until it runs.
func (f *simFixture) runningVM(t *testing.T, name string) string {
	t.Helper()
	v, err := f.env().ExecuteActivity(f.acts.CrusoeCreateVM, CreateVMInput{Name: name, Type: "c1a.2x", Location: "us-northcentral1-a", SSHPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBb"})
	require.NoError(t, err)
	cr := createResult(t, v)
	v, err = f.env().ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindVM, OperationID: cr.OperationID, Name: name, Timeout: 10 * time.Second})
	require.NoError(t, err)
	return waitResult(t, v).ResourceID
}

func TestCrusoeFindVMs(t *testing.T) {
	f := newSim(t, 50*time.Millisecond)
	id := f.runningVM(t, "fleet-1")
	v, err := f.env().ExecuteActivity(f.acts.CrusoeFindVMs, FindVMsInput{Names: []string{"fleet-1", "nope"}})
	require.NoError(t, err)
	var res FindVMsResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, []FoundVM{{Name: "fleet-1", Found: true, ID: id, State: crusoe.VMStateRunning}, {Name: "nope"}}, res.VMs)
}

func TestCrusoeVMActionStopThenStart(t *testing.T) {
	f := newSim(t, 50*time.Millisecond)
	id := f.runningVM(t, "fleet-1")
	for _, step := range []struct{ action, target string }{{crusoe.VMActionStop, crusoe.VMStateStopped}, {crusoe.VMActionStart, crusoe.VMStateRunning}} {
		v, err := f.env().ExecuteActivity(f.acts.CrusoeVMAction, VMActionInput{VMID: id, Name: "fleet-1", Action: step.action})
		require.NoError(t, err)
		var ar VMActionResult
		require.NoError(t, v.Get(&ar))
		require.NotEmpty(t, ar.OperationID)
		v, err = f.env().ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindVM, OperationID: ar.OperationID, ResourceID: id, TargetState: step.target, Timeout: 10 * time.Second})
		require.NoError(t, err)
		require.Equal(t, step.target, waitResult(t, v).State)
	}
	c, err := f.admin.Counters(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, c["crusoe"]["vm-stops"]["fleet-1"])
	require.Equal(t, 1, c["crusoe"]["vm-starts"]["fleet-1"])
}

// A retry of an action whose answer was lost joins the running operation
// rather than sending the action again.
func TestCrusoeVMActionRetryJoinsTheOperation(t *testing.T) {
	f := newSim(t, 500*time.Millisecond)
	id := f.runningVM(t, "fleet-1")
	op, err := f.client.VMs.Update(context.Background(), "", id, &crusoe.VMUpdateRequest{Action: crusoe.VMActionStop})
	require.NoError(t, err)
	env := f.env()
	env.SetHeartbeatDetails(createMarker{CreateSent: crusoe.VMActionStop + " " + id})
	v, err := env.ExecuteActivity(f.acts.CrusoeVMAction, VMActionInput{VMID: id, Name: "fleet-1", Action: crusoe.VMActionStop})
	require.NoError(t, err)
	var ar VMActionResult
	require.NoError(t, v.Get(&ar))
	require.Equal(t, op.OperationID, ar.OperationID)
	c, err := f.admin.Counters(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, c["crusoe"]["vm-stops"]["fleet-1"], "the stop was sent once")
}

// Waiting from the resource (no operation to poll) ends in the target state.
func TestCrusoeWaitForTargetState(t *testing.T) {
	f := newSim(t, 300*time.Millisecond)
	id := f.runningVM(t, "fleet-1")
	_, err := f.client.VMs.Update(context.Background(), "", id, &crusoe.VMUpdateRequest{Action: crusoe.VMActionStop})
	require.NoError(t, err)
	v, err := f.env().ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindVM, ResourceID: id, TargetState: crusoe.VMStateStopped, Timeout: 10 * time.Second})
	require.NoError(t, err)
	require.Equal(t, crusoe.VMStateStopped, waitResult(t, v).State)
}
