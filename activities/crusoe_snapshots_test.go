package activities

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/cloudsim"
)

// makeDisk creates a disk in the simulator and waits until it is ready.
func (f *simFixture) makeDisk(t *testing.T, name string) string {
	t.Helper()
	env := f.env()
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput(name))))
	wr := waitResult(t, must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: cr.OperationID, Name: name, Timeout: time.Minute})))
	return wr.ResourceID
}

func (f *simFixture) snapshots(t *testing.T) []crusoe.Snapshot {
	t.Helper()
	ss, err := f.client.Snapshots.List(context.Background(), "")
	require.NoError(t, err)
	return ss
}

func TestCreateSnapshotThenWaitThenDelete(t *testing.T) {
	f := newSim(t, 200*time.Millisecond)
	diskID := f.makeDisk(t, "data")
	env := f.env()

	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateSnapshot, CreateSnapshotInput{DiskID: diskID, DiskName: "data"})))
	require.NotEmpty(t, cr.OperationID)
	require.NotEmpty(t, cr.ResourceID, "the new snapshot is named at once, so an undo can find it")
	require.False(t, cr.Existed)

	wr := waitResult(t, must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{
		Kind: KindSnapshot, OperationID: cr.OperationID, ResourceID: cr.ResourceID, Name: "data", Timeout: time.Minute,
	})))
	require.Equal(t, "operation", wr.Resolution)
	require.Equal(t, cr.ResourceID, wr.ResourceID)
	ss := f.snapshots(t)
	require.Len(t, ss, 1)
	require.Equal(t, diskID, ss[0].CreatedFrom)

	dr := decoded[DeleteResult](t, must(env.ExecuteActivity(f.acts.CrusoeDeleteSnapshot, DeleteSnapshotInput{SnapshotID: wr.ResourceID, DiskID: diskID})))
	require.False(t, dr.AlreadyGone)
	require.NotEmpty(t, dr.OperationID)
	must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindSnapshot, OperationID: dr.OperationID, ResourceID: wr.ResourceID, Gone: true, Timeout: time.Minute}))
	require.Empty(t, f.snapshots(t))

	// Deleting it again: already gone counts as deleted.
	dr = decoded[DeleteResult](t, must(env.ExecuteActivity(f.acts.CrusoeDeleteSnapshot, DeleteSnapshotInput{SnapshotID: wr.ResourceID})))
	require.True(t, dr.AlreadyGone)
}

// A retry whose earlier attempt sent the create adopts the snapshot that
// appeared since, joining its operation: no second snapshot.
func TestCreateSnapshotRetryAdoptsItsOwnSnapshot(t *testing.T) {
	f := newSim(t, time.Second)
	diskID := f.makeDisk(t, "data")
	ctx := context.Background()
	_, err := f.client.Snapshots.Create(ctx, "", diskID)
	require.NoError(t, err)
	before := f.snapshots(t)
	require.Len(t, before, 1)

	op, err := f.client.Snapshots.Create(ctx, "", diskID) // the lost attempt's create
	require.NoError(t, err)
	env := f.env()
	env.SetHeartbeatDetails(snapshotMarker{CreateSent: KindSnapshot + " " + diskID, Before: []string{before[0].ID}})
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateSnapshot, CreateSnapshotInput{DiskID: diskID, DiskName: "data"})))
	require.Equal(t, op.OperationID, cr.OperationID, "joins the operation in flight")
	require.NotEqual(t, before[0].ID, cr.ResourceID, "adopts the new snapshot, not the older one")
	require.NotEmpty(t, cr.ResourceID)
	require.False(t, cr.Existed)
	require.Len(t, f.snapshots(t), 2, "no third snapshot")
	require.Len(t, requestsTo(t, f, "POST", "/storage/snapshots"), 2)
}

// A retry whose earlier create never took snapshots again.
func TestCreateSnapshotRetryWithoutASnapshotCreatesOne(t *testing.T) {
	f := newSim(t, 10*time.Millisecond)
	diskID := f.makeDisk(t, "data")
	env := f.env()
	env.SetHeartbeatDetails(snapshotMarker{CreateSent: KindSnapshot + " " + diskID})
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateSnapshot, CreateSnapshotInput{DiskID: diskID})))
	require.NotEmpty(t, cr.OperationID)
	require.Len(t, f.snapshots(t), 1)
}

func TestCreateSnapshotOfAMissingDiskIsFinal(t *testing.T) {
	f := newSim(t, 10*time.Millisecond)
	_, err := f.env().ExecuteActivity(f.acts.CrusoeCreateSnapshot, CreateSnapshotInput{DiskID: "0b1c5b8e-4a6f-4c55-9f0e-6f1d2c3b4a5d", DiskName: "ghost"})
	app := appError(t, err)
	require.Equal(t, ErrTypeAPI, app.Type())
	require.True(t, app.NonRetryable())
	require.Contains(t, app.Error(), "snapshot disk ghost")

	_, err = f.env().ExecuteActivity(f.acts.CrusoeCreateSnapshot, CreateSnapshotInput{})
	require.Equal(t, ErrTypeInvalidInput, appError(t, err).Type())
}

func TestWaitFailedSnapshotOperation(t *testing.T) {
	f := newSim(t, 100*time.Millisecond)
	diskID := f.makeDisk(t, "data")
	addFault(t, f.admin, cloudsim.Fault{Cloud: "crusoe", Method: "POST", Path: "/v1alpha5/projects/*/storage/snapshots",
		Action: "fail-operation", Code: "INTERNAL", Message: "snapshot backend unavailable"})
	env := f.env()
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateSnapshot, CreateSnapshotInput{DiskID: diskID, DiskName: "data"})))
	_, err := env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindSnapshot, OperationID: cr.OperationID, ResourceID: cr.ResourceID, Name: "data", Timeout: time.Minute})
	app := appError(t, err)
	require.Equal(t, ErrTypeOperationFailed, app.Type())
	require.Contains(t, app.Error(), "snapshot data")
	require.Contains(t, app.Error(), "snapshot backend unavailable")
	require.Empty(t, f.snapshots(t), "the failed snapshot is gone")
}

// An operation the cloud no longer knows is resolved from the snapshot, by ID.
func TestWaitSnapshotUnknownOperationResolvesFromTheSnapshot(t *testing.T) {
	f := newSim(t, 10*time.Millisecond)
	diskID := f.makeDisk(t, "data")
	env := f.env()
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateSnapshot, CreateSnapshotInput{DiskID: diskID})))
	wr := waitResult(t, must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{
		Kind: KindSnapshot, OperationID: "F6EF489C-086E-458D-B812-7962964A28C9", ResourceID: cr.ResourceID, Name: "data", Timeout: time.Minute,
	})))
	require.Equal(t, "resource", wr.Resolution)
	require.Equal(t, cr.ResourceID, wr.ResourceID)

	// Without an ID there is nothing to look a snapshot up by.
	_, err := env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindSnapshot, Name: "data", Timeout: time.Minute})
	app := appError(t, err)
	require.Equal(t, ErrTypeInvalidInput, app.Type())
	require.Contains(t, app.Error(), "snapshot ID is required")
}

// A ledger entry that names another disk than the snapshot's is left alone.
func TestDeleteSnapshotOfAnotherDiskIsRefused(t *testing.T) {
	f := newSim(t, 10*time.Millisecond)
	diskID := f.makeDisk(t, "data")
	_, err := f.client.Snapshots.Create(context.Background(), "", diskID)
	require.NoError(t, err)
	ss := f.snapshots(t)
	_, err = f.env().ExecuteActivity(f.acts.CrusoeDeleteSnapshot, DeleteSnapshotInput{SnapshotID: ss[0].ID, DiskID: "another-disk"})
	app := appError(t, err)
	require.Equal(t, ErrTypeInvalidInput, app.Type())
	require.Contains(t, app.Error(), "left alone")
	require.Len(t, f.snapshots(t), 1)
}

func TestFindDisksByNameAndByVM(t *testing.T) {
	f := newSim(t, 10*time.Millisecond)
	dataID := f.makeDisk(t, "web-data")
	logsID := f.makeDisk(t, "web-logs")
	f.makeDisk(t, "other")
	env := f.env()

	res := decoded[FindDisksResult](t, must(env.ExecuteActivity(f.acts.CrusoeFindDisks, FindDisksInput{Names: []string{"web-logs", "web-data"}})))
	require.Equal(t, []FoundDisk{{Name: "web-logs", ID: logsID}, {Name: "web-data", ID: dataID}}, res.Disks)

	_, err := env.ExecuteActivity(f.acts.CrusoeFindDisks, FindDisksInput{Names: []string{"web-data", "nope", "nada"}})
	app := appError(t, err)
	require.Equal(t, ErrTypeInvalidInput, app.Type())
	require.Contains(t, app.Error(), "no disk named nope, nada")

	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateVM, CreateVMInput{
		Name: "web", Type: "c1a.2x", Location: "us-northcentral1-a", SSHPublicKey: "ssh-ed25519 AAAA test",
		Disks: []crusoe.DiskAttachment{{DiskID: dataID, Mode: "read-write", AttachmentType: "data"}, {DiskID: logsID, Mode: "read-write", AttachmentType: "data"}},
	})))
	vm := waitResult(t, must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindVM, OperationID: cr.OperationID, Name: "web", Timeout: time.Minute})))
	res = decoded[FindDisksResult](t, must(env.ExecuteActivity(f.acts.CrusoeFindDisks, FindDisksInput{VMName: "web"})))
	require.Equal(t, vm.ResourceID, res.VMID)
	require.ElementsMatch(t, []FoundDisk{{Name: "web-data", ID: dataID}, {Name: "web-logs", ID: logsID}}, res.Disks)

	_, err = env.ExecuteActivity(f.acts.CrusoeFindDisks, FindDisksInput{VMName: "ghost"})
	require.Contains(t, appError(t, err).Error(), `no VM named "ghost"`)
	_, err = env.ExecuteActivity(f.acts.CrusoeFindDisks, FindDisksInput{VMName: "web", Names: []string{"web-data"}})
	require.Equal(t, ErrTypeInvalidInput, appError(t, err).Type())
}

// requestsTo returns the simulator's journal entries matching method and a
// path suffix.
func requestsTo(t *testing.T, f *simFixture, method, suffix string) []cloudsim.RequestRecord {
	t.Helper()
	all, err := f.admin.Requests(context.Background())
	require.NoError(t, err)
	var out []cloudsim.RequestRecord
	for _, r := range all {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			out = append(out, r)
		}
	}
	return out
}

// A snapshot of a disk with an operation in progress (its create) is refused
// (409): nothing was made, and the activity's policy tries again. A delete
// of a snapshot still being made names the operation to wait for.
func TestSnapshotOfABusyDiskIsRetriedAndABusySnapshotNamesItsOperation(t *testing.T) {
	f := newSim(t, 500*time.Millisecond)
	ctx := context.Background()
	_, err := f.client.Disks.Create(ctx, "", &crusoe.DiskCreateRequest{Name: "growing", Size: "10GiB", Location: "us-northcentral1-a"})
	require.NoError(t, err)
	disks, err := f.client.Disks.List(ctx, "")
	require.NoError(t, err)
	_, err = f.env().ExecuteActivity(f.acts.CrusoeCreateSnapshot, CreateSnapshotInput{DiskID: disks[0].ID, DiskName: "growing"})
	app := appError(t, err)
	require.False(t, app.NonRetryable())
	require.Contains(t, app.Error(), "disk growing has an operation in progress")
	require.Empty(t, f.snapshots(t), "nothing was made")

	time.Sleep(600 * time.Millisecond) // the create completes
	require.NoError(t, f.admin.SetOperationLatency(ctx, "crusoe", time.Hour))
	cr := createResult(t, must(f.env().ExecuteActivity(f.acts.CrusoeCreateSnapshot, CreateSnapshotInput{DiskID: disks[0].ID})))
	_, err = f.env().ExecuteActivity(f.acts.CrusoeDeleteSnapshot, DeleteSnapshotInput{SnapshotID: cr.ResourceID})
	app = appError(t, err)
	require.Equal(t, ErrTypeResourceBusy, app.Type())
	var det CloudErrorDetails
	require.NoError(t, app.Details(&det))
	require.Equal(t, cr.OperationID, det.OperationID)
	require.Equal(t, cr.ResourceID, det.ResourceID)
}
