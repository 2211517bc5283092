package workflows

import (
	"context"
	"fmt"
	"sort"
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

// fakeSnapshots stands in for the Crusoe activities SnapshotDisks calls: it
// keeps the disks, the VMs' disks and the snapshots that exist, and fails
// what it is told to.
type fakeSnapshots struct {
	mu    sync.Mutex
	disks map[string]string   // disk name -> ID
	vms   map[string][]string // VM name -> its disks' names
	// live maps snapshot ID to the disk it was made from.
	live map[string]string
	// failCreate and failWait fail the create, or its wait, for that disk
	// name (after failureLag); waitDelay holds a create's wait back.
	failCreate, failWait string
	waitDelay            map[string]time.Duration
	// failDelete fails the delete of those snapshot IDs, or of the
	// snapshots of those disk IDs.
	failDelete map[string]bool
	calls      []string
	next       int
}

func newFakeSnapshots() *fakeSnapshots {
	return &fakeSnapshots{
		disks: map[string]string{"web-boot": "disk-boot", "web-data": "disk-data", "db-data": "disk-db"},
		vms:   map[string][]string{"web": {"web-boot", "web-data"}},
		live:  map[string]string{}, waitDelay: map[string]time.Duration{}, failDelete: map[string]bool{},
	}
}

func (f *fakeSnapshots) call(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakeSnapshots) find(_ context.Context, in activities.FindDisksInput) (activities.FindDisksResult, error) {
	f.call("find")
	f.mu.Lock()
	defer f.mu.Unlock()
	names := in.Names
	res := activities.FindDisksResult{}
	if in.VMName != "" {
		vm, ok := f.vms[in.VMName]
		if !ok {
			return res, temporal.NewNonRetryableApplicationError(fmt.Sprintf("no VM named %q in the project", in.VMName), activities.ErrTypeInvalidInput, nil)
		}
		names, res.VMID = vm, "vm-"+in.VMName
	}
	for _, n := range names {
		id, ok := f.disks[n]
		if !ok {
			return activities.FindDisksResult{}, temporal.NewNonRetryableApplicationError("no disk named "+n, activities.ErrTypeInvalidInput, nil)
		}
		res.Disks = append(res.Disks, activities.FoundDisk{Name: n, ID: id})
	}
	return res, nil
}

func (f *fakeSnapshots) create(_ context.Context, in activities.CreateSnapshotInput) (activities.CreateResult, error) {
	if f.failCreate == in.DiskName {
		time.Sleep(failureLag)
	}
	f.call("create " + in.DiskName)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failCreate == in.DiskName {
		return activities.CreateResult{}, errBoom
	}
	f.next++
	id := fmt.Sprintf("snap-%d", f.next)
	f.live[id] = in.DiskID
	return activities.CreateResult{ResourceID: id, OperationID: "op-" + id}, nil
}

func (f *fakeSnapshots) wait(ctx context.Context, in activities.WaitInput) (activities.WaitResult, error) {
	if in.Kind != KindSnapshot {
		return activities.WaitResult{}, fmt.Errorf("wait for a %s", in.Kind)
	}
	if in.Gone {
		f.call("gone " + in.ResourceID)
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.live, in.ResourceID)
		return activities.WaitResult{Resolution: "operation"}, nil
	}
	f.mu.Lock()
	d := f.waitDelay[in.Name]
	failing := f.failWait == in.Name
	f.mu.Unlock()
	if failing {
		d = failureLag
	}
	if err := pause(ctx, d); err != nil {
		return activities.WaitResult{}, err
	}
	f.call("wait " + in.Name)
	if failing {
		return activities.WaitResult{}, errBoom
	}
	return activities.WaitResult{ResourceID: in.ResourceID, Resolution: "operation"}, nil
}

func (f *fakeSnapshots) delete(_ context.Context, in activities.DeleteSnapshotInput) (activities.DeleteResult, error) {
	f.call("delete " + in.SnapshotID)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failDelete[in.SnapshotID] || f.failDelete[f.live[in.SnapshotID]] {
		return activities.DeleteResult{}, temporal.NewNonRetryableApplicationError("delete snapshot "+in.SnapshotID, activities.ErrTypeAPI, nil,
			activities.CloudErrorDetails{Cloud: "crusoe", StatusCode: 403, Message: "permission denied"})
	}
	if _, ok := f.live[in.SnapshotID]; !ok {
		return activities.DeleteResult{ResourceID: in.SnapshotID, AlreadyGone: true}, nil
	}
	return activities.DeleteResult{ResourceID: in.SnapshotID, OperationID: "del-" + in.SnapshotID}, nil
}

func (f *fakeSnapshots) install(env *testsuite.TestWorkflowEnvironment) {
	var a *activities.CrusoeActivities
	env.RegisterActivity(a)
	env.OnActivity(a.CrusoeFindDisks, mock.Anything, mock.Anything).Return(f.find)
	env.OnActivity(a.CrusoeCreateSnapshot, mock.Anything, mock.Anything).Return(f.create)
	env.OnActivity(a.CrusoeWait, mock.Anything, mock.Anything).Return(f.wait)
	env.OnActivity(a.CrusoeDeleteSnapshot, mock.Anything, mock.Anything).Return(f.delete)
}

func (f *fakeSnapshots) liveIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id := range f.live {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (f *fakeSnapshots) deletes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		var id string
		if _, err := fmt.Sscanf(c, "delete %s", &id); err == nil {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// runAt is a fixed clock: every run starts at 02:00 UTC, as a nightly schedule would.
var runAt = time.Date(2025, 6, 10, 2, 0, 0, 0, time.UTC)

func record(id, disk string, age time.Duration) SnapshotRecord {
	return SnapshotRecord{SnapshotID: id, DiskName: disk, DiskID: "disk-" + disk, TakenAt: runAt.Add(-age)}
}

// runSnapshots runs SnapshotDisks at runAt; last, when not nil, is the last
// successful run's result, as a schedule provides it.
func runSnapshots(t *testing.T, f *fakeSnapshots, in SnapshotDisksInput, last *SnapshotDisksResult, setup func(*testsuite.TestWorkflowEnvironment)) (*testsuite.TestWorkflowEnvironment, SnapshotDisksResult, error) {
	t.Helper()
	return runWorkflow[SnapshotDisksResult](t, SnapshotDisks, in, f.install, func(env *testsuite.TestWorkflowEnvironment) {
		env.SetStartTime(runAt)
		if last != nil {
			env.SetLastCompletionResult(*last)
		}
		if setup != nil {
			setup(env)
		}
	})
}

func ids(rs []SnapshotRecord) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.SnapshotID
	}
	return out
}

func TestSnapshotDisksTakesOneSnapshotPerDisk(t *testing.T) {
	f := newFakeSnapshots()
	env, res, err := runSnapshots(t, f, SnapshotDisksInput{Disks: []string{"web-data", "db-data"}, Retention: 7 * 24 * time.Hour}, nil, nil)
	require.NoError(t, err)
	require.Len(t, res.Created, 2)
	byDisk := map[string]SnapshotRecord{}
	for _, r := range res.Created {
		byDisk[r.DiskName] = r
		require.Equal(t, f.live[r.SnapshotID], r.DiskID, "the record names the disk the snapshot was made from")
		require.False(t, r.TakenAt.Before(runAt), "TakenAt is workflow time")
		require.Less(t, r.TakenAt.Sub(runAt), time.Minute)
	}
	require.Equal(t, "disk-data", byDisk["web-data"].DiskID)
	require.Equal(t, "disk-db", byDisk["db-data"].DiskID)
	require.Equal(t, res.Created, res.Ledger, "the ledger is what this run took")
	require.Empty(t, res.Deleted)
	require.Empty(t, f.deletes())
	require.Len(t, f.liveIDs(), 2)

	p := progress(t, env)
	require.Equal(t, SnapshotDisksWorkflowName, p.Workflow)
	require.Equal(t, PhaseCompleted, p.Phase)
	require.Equal(t, StepDone, stepState(p.Steps, "disk-lookup/web-data,db-data"))
	require.Equal(t, StepDone, stepState(p.Steps, "snapshot/web-data"))
	require.Equal(t, StepDone, stepState(p.Steps, "snapshot/db-data"))
	require.Equal(t, p.Steps, res.Steps)
	for _, st := range p.Steps {
		if st.Kind == KindSnapshot {
			require.NotEmpty(t, st.ID, "step %s shows its snapshot's ID", st.Name)
		}
	}
}

// Only ledger snapshots older than the retention are deleted: younger ones
// stay in the ledger, snapshots not in it are never touched, and one
// already gone counts as deleted.
func TestSnapshotDisksDeletesOnlyLedgerSnapshotsPastRetention(t *testing.T) {
	f := newFakeSnapshots()
	f.live = map[string]string{"old": "disk-web-data", "young": "disk-web-data", "foreign-old": "disk-web-data"}
	last := &SnapshotDisksResult{Ledger: []SnapshotRecord{
		record("old", "web-data", 8*24*time.Hour),
		record("young", "web-data", 24*time.Hour),
		record("gone", "web-data", 9*24*time.Hour),
		record("edge", "web-data", 7*24*time.Hour), // exactly the retention: not older
	}}
	f.live["edge"] = "disk-web-data"
	in := SnapshotDisksInput{
		Disks: []string{"web-data"}, Retention: 7 * 24 * time.Hour,
		// The last run's ledger wins over the input's, which a schedule fixes once.
		Ledger: []SnapshotRecord{record("foreign-old", "web-data", 30*24*time.Hour)},
	}
	env, res, err := runSnapshots(t, f, in, last, nil)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"old", "gone"}, ids(res.Deleted))
	require.Equal(t, []string{"gone", "old"}, f.deletes(), "only ledger snapshots past the retention are deleted")
	require.Empty(t, res.NotDeleted)
	require.Len(t, res.Created, 1)
	require.Equal(t, []string{"young", "edge", res.Created[0].SnapshotID}, ids(res.Ledger))
	require.Contains(t, f.liveIDs(), "foreign-old", "a snapshot not in the ledger is never touched")
	require.Contains(t, f.liveIDs(), "young")
	require.NotContains(t, f.liveIDs(), "old")

	p := progress(t, env)
	require.Equal(t, StepDone, stepState(p.Steps, "expired-snapshot/web-data@2025-06-02T02:00:00Z"))
	require.Equal(t, StepDone, stepState(p.Steps, "expired-snapshot/web-data@2025-06-01T02:00:00Z"))
}

// A run not started by a schedule takes its ledger from the input.
func TestSnapshotDisksUsesTheInputLedgerWhenUnscheduled(t *testing.T) {
	f := newFakeSnapshots()
	f.live = map[string]string{"old": "disk-web-data", "young": "disk-web-data"}
	in := SnapshotDisksInput{VMName: "web", Retention: time.Hour, Ledger: []SnapshotRecord{
		record("old", "web-data", 2*time.Hour), record("young", "web-data", 30*time.Minute),
		record("old", "web-data", 2*time.Hour), // listed twice: deleted once
	}}
	_, res, err := runSnapshots(t, f, in, nil, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"old"}, ids(res.Deleted))
	require.Equal(t, []string{"old"}, f.deletes())
	require.Equal(t, append([]string{"young"}, ids(res.Created)...), ids(res.Ledger))
}

// A snapshot that cannot be deleted stays in the ledger and is reported by
// ID; the run still succeeds, so the ledger carries on to the next run.
func TestSnapshotDisksDeleteFailureKeepsTheEntry(t *testing.T) {
	f := newFakeSnapshots()
	f.live = map[string]string{"old-1": "disk-web-data", "old-2": "disk-web-data"}
	f.failDelete["old-1"] = true
	last := &SnapshotDisksResult{Ledger: []SnapshotRecord{record("old-1", "web-data", 48*time.Hour), record("old-2", "web-data", 48*time.Hour)}}
	env, res, err := runSnapshots(t, f, SnapshotDisksInput{Disks: []string{"web-data"}, Retention: 24 * time.Hour}, last, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"old-2"}, ids(res.Deleted))
	require.Len(t, res.NotDeleted, 1)
	require.Equal(t, "old-1", res.NotDeleted[0].SnapshotID)
	require.Contains(t, res.NotDeleted[0].Error, "delete snapshot old-1")
	require.Equal(t, []string{"old-1", res.Created[0].SnapshotID}, ids(res.Ledger))
	require.Contains(t, f.liveIDs(), "old-1")
	p := progress(t, env)
	require.Equal(t, PhaseCompleted, p.Phase)
	for _, st := range p.Steps {
		if st.ID == "old-1" {
			require.Equal(t, StepFailed, st.State)
			require.Contains(t, st.Error, "delete snapshot old-1")
		}
	}
}

// A snapshot that cannot be taken fails the run, which deletes the snapshots
// it took (a failed run's result is no ledger) and no older one.
func TestSnapshotDisksCreateFailureDeletesWhatTheRunTook(t *testing.T) {
	for _, failAt := range []string{"create", "wait"} {
		t.Run(failAt, func(t *testing.T) {
			f := newFakeSnapshots()
			f.live = map[string]string{"old": "disk-web-data"}
			if failAt == "create" {
				f.failCreate = "web-data"
			} else {
				f.failWait = "web-data"
			}
			last := &SnapshotDisksResult{Ledger: []SnapshotRecord{record("old", "web-data", 48*time.Hour)}}
			env, res, err := runSnapshots(t, f, SnapshotDisksInput{Disks: []string{"web-boot", "web-data", "db-data"}, Retention: 24 * time.Hour}, last, nil)
			require.Error(t, err)
			var app *temporal.ApplicationError
			require.ErrorAs(t, err, &app)
			require.Equal(t, ErrTypeSnapshotDisksFailed, app.Type())
			require.Contains(t, err.Error(), "step snapshot/web-data failed")

			require.Equal(t, "snapshot/web-data", res.FailedStep)
			wantCreated := []string{"web-boot", "db-data"}
			var created []string
			for _, r := range res.Created {
				created = append(created, r.DiskName)
			}
			require.ElementsMatch(t, wantCreated, created, "the details record what the run took")
			require.Subset(t, res.Undone, []string{"snapshot/web-boot", "snapshot/db-data"})
			require.Empty(t, res.NotUndone)
			require.Equal(t, []string{"old"}, f.liveIDs(), "what the run took is deleted again; the older snapshot is kept")
			require.Equal(t, []string{"old"}, ids(res.Ledger), "the ledger is the one the run started from")
			require.Empty(t, res.Deleted)
			require.NotContains(t, f.deletes(), "old")

			p := progress(t, env)
			require.Equal(t, PhaseFailed, p.Phase)
			require.Equal(t, StepKept, stepState(p.Steps, "expired-snapshot/web-data@2025-06-08T02:00:00Z"))
			// A snapshot whose wait failed may exist: it is deleted too.
			want := map[string]string{"create": StepFailed, "wait": StepUndone}[failAt]
			require.Equal(t, want, stepState(p.Steps, "snapshot/web-data"))
		})
	}
}

// A snapshot that cannot be deleted again is named, and stays in the
// failed run's ledger so that a later run given it can delete it.
func TestSnapshotDisksUndoFailureIsReported(t *testing.T) {
	f := newFakeSnapshots()
	f.failWait = "web-data"
	f.failDelete["disk-boot"] = true
	_, res, err := runSnapshots(t, f, SnapshotDisksInput{VMName: "web", Retention: time.Hour}, nil, nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), "NOT undone (still exist): snapshot/web-boot")
	require.Len(t, res.Created, 1)
	boot := res.Created[0]
	require.Equal(t, "web-boot", boot.DiskName)
	require.Equal(t, []UndoFailure{{Step: "snapshot/web-boot", Kind: KindSnapshot, Name: "web-boot", ID: boot.SnapshotID,
		Error: "delete snapshot " + boot.SnapshotID}}, res.NotUndone)
	require.Equal(t, []SnapshotRecord{boot}, res.Ledger)
	require.Equal(t, []string{boot.SnapshotID}, f.liveIDs())
}

func TestSnapshotDisksByVMSnapshotsItsAttachedDisks(t *testing.T) {
	f := newFakeSnapshots()
	env, res, err := runSnapshots(t, f, SnapshotDisksInput{VMName: "web", Retention: time.Hour}, nil, nil)
	require.NoError(t, err)
	got := map[string]string{}
	for _, r := range res.Created {
		got[r.DiskName] = r.DiskID
	}
	require.Equal(t, map[string]string{"web-boot": "disk-boot", "web-data": "disk-data"}, got)
	p := progress(t, env)
	for _, st := range p.Steps {
		if st.Name == "disk-lookup/web" {
			require.Equal(t, "vm-web", st.ID)
		}
	}

	f = newFakeSnapshots()
	f.live = map[string]string{"old": "disk-data"}
	last := &SnapshotDisksResult{Ledger: []SnapshotRecord{record("old", "web-data", 48*time.Hour)}}
	_, res, err = runSnapshots(t, f, SnapshotDisksInput{VMName: "nope", Retention: time.Hour}, last, nil)
	require.Error(t, err)
	require.Contains(t, err.Error(), `no VM named "nope"`)
	require.Equal(t, "disk-lookup/nope", res.FailedStep)
	require.Equal(t, []string{"find"}, f.calls, "nothing is made or deleted when the disks cannot be found")
	require.Equal(t, []string{"old"}, ids(res.Ledger))
}

func TestSnapshotDisksCancelledDeletesWhatItTook(t *testing.T) {
	f := newFakeSnapshots()
	f.waitDelay["web-data"] = time.Hour
	// Cancel once web-data's wait runs and web-boot's snapshot is done: the
	// test environment settles a cancelled activity at once (a real server
	// waits for it, WaitForCancellation), so a snapshot still being taken
	// when the cancel lands would be unknown to the workflow here only.
	var mu sync.Mutex
	dataWaiting, bootDone := false, false
	cancelWhenBoth := func(env *testsuite.TestWorkflowEnvironment) {
		if dataWaiting && bootDone {
			go env.CancelWorkflow()
		}
	}
	_, res, err := runSnapshots(t, f, SnapshotDisksInput{VMName: "web", Retention: time.Hour}, nil, func(env *testsuite.TestWorkflowEnvironment) {
		env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
			var in activities.WaitInput
			if info.ActivityType.Name == "CrusoeWait" && args.Get(&in) == nil && in.Name == "web-data" && !in.Gone {
				mu.Lock()
				defer mu.Unlock()
				dataWaiting = true
				cancelWhenBoth(env)
			}
		})
		env.SetOnActivityCompletedListener(func(info *activity.Info, result converter.EncodedValue, err error) {
			var wr activities.WaitResult
			if info.ActivityType.Name == "CrusoeWait" && err == nil && result != nil && result.Get(&wr) == nil && wr.ResourceID != "" {
				mu.Lock()
				defer mu.Unlock()
				f.mu.Lock()
				disk := f.live[wr.ResourceID]
				f.mu.Unlock()
				if disk == "disk-boot" {
					bootDone = true
					cancelWhenBoth(env)
				}
			}
		})
	})
	require.Error(t, err)
	require.True(t, temporal.IsCanceledError(err), "%v", err)
	require.Empty(t, f.liveIDs())
	require.Contains(t, res.Undone, "snapshot/web-boot")
	require.Contains(t, res.Undone, "snapshot/web-data")
}

func TestSnapshotDisksValidatesInput(t *testing.T) {
	tests := []struct {
		name string
		in   SnapshotDisksInput
		want string
	}{
		{"nothing to snapshot", SnapshotDisksInput{Retention: time.Hour}, "disks or vmName is required"},
		{"both", SnapshotDisksInput{Disks: []string{"a"}, VMName: "web", Retention: time.Hour}, "not both"},
		{"no retention", SnapshotDisksInput{VMName: "web"}, "retention must be at least 1m0s, not 0s"},
		{"short retention", SnapshotDisksInput{VMName: "web", Retention: 30 * time.Second}, "retention must be at least 1m0s"},
		{"empty disk name", SnapshotDisksInput{Disks: []string{"a", " "}, Retention: time.Hour}, "disks[1] is empty"},
		{"disk twice", SnapshotDisksInput{Disks: []string{"a", "a"}, Retention: time.Hour}, `disks lists "a" twice`},
		{"ledger entry without id", SnapshotDisksInput{VMName: "web", Retention: time.Hour, Ledger: []SnapshotRecord{{DiskName: "a", TakenAt: runAt}}}, "ledger[0] needs a snapshotId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSnapshots()
			_, _, err := runSnapshots(t, f, tt.in, nil, nil)
			require.Error(t, err)
			var app *temporal.ApplicationError
			require.ErrorAs(t, err, &app)
			require.Equal(t, ErrTypeSnapshotDisksFailed, app.Type())
			require.True(t, app.NonRetryable())
			require.Contains(t, app.Error(), tt.want)
			require.Empty(t, f.calls, "nothing is called on bad input")
		})
	}
}
