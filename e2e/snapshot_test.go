package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// snapshotLatency keeps these tests to a few seconds.
const snapshotLatency = 300 * time.Millisecond

type simSnapshot struct {
	ID          string `json:"id"`
	CreatedFrom string `json:"created_from"`
}

// inventorySnapshots maps each snapshot's ID to the disk it was made from.
func inventorySnapshots(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, raw := range inventory(t)["crusoe"]["snapshots"] {
		var s simSnapshot
		require.NoError(t, json.Unmarshal(raw, &s))
		out[s.ID] = s.CreatedFrom
	}
	return out
}

func crusoeClient(t *testing.T) *crusoe.Client {
	t.Helper()
	return crusoeClientAt(t, sim.URL)
}

// provisionForSnapshots makes a VM called name with its two disks, and
// returns the disks' IDs by name.
func provisionForSnapshots(t *testing.T, s *starter.Starter, name string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := input(name)
	in.FirewallRules = nil
	run, err := s.ProvisionVM(ctx, in)
	require.NoError(t, err)
	var res workflows.ProvisionVMResult
	require.NoError(t, s.Result(ctx, run.WorkflowID, run.RunID, &res))
	disks := map[string]string{}
	for _, d := range res.Disks {
		disks[d.Name] = d.ID
	}
	require.Len(t, disks, 2)
	return disks
}

func createdFrom(rs []workflows.SnapshotRecord) map[string]string {
	out := map[string]string{}
	for _, r := range rs {
		out[r.SnapshotID] = r.DiskID
	}
	return out
}

// `disks snapshot --vm` takes one snapshot per attached disk. Run again with
// the first run's ledger, aged past the retention, it deletes those two and
// takes two more, and leaves a snapshot that is not in the ledger alone.
func TestSnapshotDisksThroughTheCLI(t *testing.T) {
	tq := fresh(t)
	require.NoError(t, admin.SetOperationLatency(context.Background(), "crusoe", snapshotLatency))
	c := dial(t)
	startWorker(t, c, tq)
	disks := provisionForSnapshots(t, newStarter(t, c, tq), "snap")

	out, errOut, code := cli(t, "--task-queue", tq, "disks", "snapshot", "--vm", "snap", "--retention", "1h", "--wait", "--json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var first workflows.SnapshotDisksResult
	require.NoError(t, json.Unmarshal([]byte(out), &first), out)
	require.Len(t, first.Created, 2)
	byDisk := map[string]string{}
	for _, r := range first.Created {
		byDisk[r.DiskName] = r.DiskID
	}
	require.Equal(t, disks, byDisk, "one snapshot per attached disk")
	require.Equal(t, createdFrom(first.Created), inventorySnapshots(t), "the cloud holds exactly those snapshots")
	require.Equal(t, first.Created, first.Ledger)

	// A snapshot someone else made, and the first ledger aged by two hours.
	_, err := crusoeClient(t).Snapshots.Create(context.Background(), "", disks["snap-data"])
	require.NoError(t, err)
	aged := first
	aged.Ledger = nil
	for _, r := range first.Ledger {
		r.TakenAt = r.TakenAt.Add(-2 * time.Hour)
		aged.Ledger = append(aged.Ledger, r)
	}
	b, err := json.Marshal(aged)
	require.NoError(t, err)
	ledgerFile := filepath.Join(t.TempDir(), "run.json")
	require.NoError(t, os.WriteFile(ledgerFile, b, 0o600))
	before := inventorySnapshots(t)
	require.Len(t, before, 3)

	out, errOut, code = cli(t, "--task-queue", tq, "disks", "snapshot", "--vm", "snap", "--retention", "1h", "--ledger", ledgerFile, "--wait")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "Snapshotted 2 disks (workflow crusoe-snapshot-snap).")
	require.Contains(t, out, "deleted (past retention)")
	require.Contains(t, out, "Ledger: 2 snapshots kept.")
	after := inventorySnapshots(t)
	require.Len(t, after, 3, "two taken, two deleted, the foreign one kept:\n%s", out)
	for id := range createdFrom(first.Created) {
		require.NotContains(t, after, id, "a ledger snapshot past the retention is deleted")
	}
	var kept []string
	for id := range before {
		if _, ok := after[id]; ok {
			kept = append(kept, id)
		}
	}
	require.Len(t, kept, 1, "the snapshot not in the ledger is never touched")
	saveHistory(t, "crusoe-snapshot-snap", "crusoe-snapshot-ledger")
}

// A snapshot whose operation fails fails the run, which deletes the
// snapshot it did take: the cloud is left as it was.
func TestSnapshotFailureLeavesNoSnapshot(t *testing.T) {
	tq := fresh(t)
	ctx := context.Background()
	require.NoError(t, admin.SetOperationLatency(ctx, "crusoe", snapshotLatency))
	c := dial(t)
	startWorker(t, c, tq)
	provisionForSnapshots(t, newStarter(t, c, tq), "snapfail")
	_, err := admin.AddFault(ctx, cloudsim.Fault{Cloud: "crusoe", Method: "POST", Path: "/v1alpha5/projects/*/storage/snapshots",
		Action: cloudsim.FaultFailOperation, Code: "INTERNAL", Message: "snapshot backend unavailable", Times: 1})
	require.NoError(t, err)

	out, errOut, code := cli(t, "--task-queue", tq, "disks", "snapshot", "--disks", "snapfail-data,snapfail-scratch", "--retention", "1d", "--wait")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "SnapshotDisks failed.")
	require.Contains(t, out, "snapshot backend unavailable")
	require.Contains(t, out, "Nothing was left behind.")
	require.Empty(t, inventorySnapshots(t), "the snapshot the run took is deleted again")
	saveHistory(t, "crusoe-snapshot-snapfail-data", "crusoe-snapshot-failed")
}

// On a Temporal Schedule, each run reads the ledger of the last successful
// run: the first run uses the input's ledger (and deletes its expired
// snapshot), the second the first run's result.
func TestSnapshotScheduleCarriesTheLedger(t *testing.T) {
	tq := fresh(t)
	ctx := context.Background()
	require.NoError(t, admin.SetOperationLatency(ctx, "crusoe", snapshotLatency))
	c := dial(t)
	startWorker(t, c, tq)
	s := newStarter(t, c, tq)
	disks := provisionForSnapshots(t, s, "sched")

	cc := crusoeClient(t)
	_, err := cc.Snapshots.Create(ctx, "", disks["sched-data"])
	require.NoError(t, err)
	var old string
	for id := range inventorySnapshots(t) {
		old = id
	}
	in := workflows.SnapshotDisksInput{Disks: []string{"sched-data"}, Retention: time.Hour,
		Ledger:   []workflows.SnapshotRecord{{SnapshotID: old, DiskName: "sched-data", DiskID: disks["sched-data"], TakenAt: time.Now().Add(-2 * time.Hour)}},
		Timeouts: workflows.Timeouts{Operation: time.Minute, Heartbeat: 3 * time.Second}}
	id := "e2e-snapshots-" + tq
	require.NoError(t, s.CreateSchedule(ctx, starter.ScheduleOptions{ID: id, Every: time.Hour}, starter.SnapshotDisksPlan(in)))
	t.Cleanup(func() { _ = s.DeleteSchedule(context.Background(), id) })

	runOnce := func(n int) workflows.SnapshotDisksResult {
		t.Helper()
		require.NoError(t, s.TriggerSchedule(ctx, id))
		var run starter.ScheduledRun
		waitFor(t, 30*time.Second, "the triggered run", func() bool {
			info, err := s.DescribeSchedule(ctx, id)
			if err != nil || len(info.Recent) < n {
				return false
			}
			run = info.Recent[n-1]
			return true
		})
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		var res workflows.SnapshotDisksResult
		require.NoError(t, s.Result(rctx, run.WorkflowID, run.RunID, &res))
		return res
	}

	first := runOnce(1)
	require.Equal(t, []string{old}, ids(first.Deleted), "the first run deletes the input ledger's expired snapshot")
	require.Len(t, first.Created, 1)
	require.NotContains(t, inventorySnapshots(t), old)

	second := runOnce(2)
	require.Empty(t, second.Deleted, "the second run's ledger is the first run's result, not the input's")
	require.Len(t, second.Created, 1)
	want := []string{first.Created[0].SnapshotID, second.Created[0].SnapshotID}
	got := ids(second.Ledger)
	sort.Strings(want)
	sort.Strings(got)
	require.Equal(t, want, got)
}

func ids(rs []workflows.SnapshotRecord) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.SnapshotID
	}
	return out
}
