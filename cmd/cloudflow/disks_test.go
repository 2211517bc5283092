package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

func TestParseRetention(t *testing.T) {
	good := map[string]time.Duration{
		"7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute,
		"1m": time.Minute, "1h30m": 90 * time.Minute, "0d2h": 2 * time.Hour,
	}
	for in, want := range good {
		got, err := parseRetention(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
	bad := map[string]string{
		"7x":      "is not a duration",
		"d":       "is not a duration",
		"7 days":  "is not a duration",
		"1d-1h":   "is not a duration",
		"-1h":     "too short",
		"0d":      "too short",
		"59s":     "too short",
		"999999d": "too long",
	}
	for in, want := range bad {
		_, err := parseRetention(in)
		if assert.Error(t, err, in) {
			assert.Contains(t, err.Error(), want, in)
			assert.Contains(t, err.Error(), "--retention", in)
		}
	}
}

func TestDisksSnapshotFlagsAreCheckedBeforeAnything(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.json")
	notLedger := writeFile(t, "run.json", `{"workflowId": "x"}`)
	badEntry := writeFile(t, "ledger.json", `[{"snapshotId": "s1", "takenAt": "2025-06-01T02:00:00Z"}, {"diskName": "d"}]`)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--retention", "7d"}, []string{"give the disks to snapshot with --disks a,b, or a VM whose disks to snapshot with --vm NAME"}},
		{[]string{"--vm", "web", "--disks", "a", "--retention", "7d"}, []string{"give --disks or --vm, not both"}},
		{[]string{"--vm", "web"}, []string{"--retention is required: how long to keep snapshots, e.g. --retention 7d"}},
		{[]string{"--vm", "web", "--retention", "week"}, []string{`--retention "week" is not a duration; use e.g. 7d`}},
		{[]string{"--vm", "web", "--retention", "30s"}, []string{"--retention 30s is too short; keep snapshots at least 1m0s"}},
		{[]string{"--disks", "a,,b", "--retention", "1h"}, []string{"--disks has an empty name"}},
		{[]string{"--disks", "a,b,a", "--retention", "1h"}, []string{`--disks lists "a" twice`}},
		{[]string{"--vm", "my vm", "--retention", "1h"}, []string{`--vm "my vm": a VM name has no spaces`}},
		{[]string{"--vm", "web", "--retention", "1h", "--timeout", "5m"}, []string{"--timeout only applies with --wait"}},
		{[]string{"--vm", "web", "--retention", "1h", "--ledger", missing}, []string{"--ledger: open " + missing}},
		{[]string{"--vm", "web", "--retention", "1h", "--ledger", notLedger}, []string{`is not a ledger (it has no "ledger" field)`, "--json output of an earlier"}},
		{[]string{"--vm", "web", "--retention", "1h", "--ledger", badEntry}, []string{"entry 2 needs a snapshotId and a takenAt"}},
		// Every problem at once.
		{[]string{"--disks", "a,a", "--vm", "web", "--retention", "x"}, []string{"not both", "twice", `--retention "x"`}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c := newCLI(t)
			code := c.run(append([]string{"disks", "snapshot"}, tt.args...)...)
			assert.Equal(t, exitUsage, code)
			for _, w := range tt.want {
				assert.Contains(t, c.errOut.String(), w)
			}
			assert.Contains(t, c.errOut.String(), "nothing was started")
			assert.Empty(t, c.dials, "bad flags must not dial Temporal")
			assert.Empty(t, c.fake.snapshots)
		})
	}
}

var snapshotRun = starter.Run{WorkflowID: "crusoe-snapshot-web", RunID: "r1", Workflow: workflows.SnapshotDisksWorkflowName}

func TestDisksSnapshotStartsTheWorkflow(t *testing.T) {
	c := newCLI(t)
	c.fake.run = snapshotRun
	require.Equal(t, exitOK, c.run("disks", "snapshot", "--vm", "web", "--retention", "7d", "--project", "p-1"), c.errOut.String())
	require.Len(t, c.fake.snapshots, 1)
	assert.Equal(t, workflows.SnapshotDisksInput{ProjectID: "p-1", VMName: "web", Retention: 7 * 24 * time.Hour}, c.fake.snapshots[0])
	assert.Contains(t, c.out.String(), "Started SnapshotDisks for the disks of VM web.")
	assert.Contains(t, c.out.String(), "cloudflow runs watch crusoe-snapshot-web")

	c = newCLI(t)
	c.fake.run = snapshotRun
	require.Equal(t, exitOK, c.run("disks", "snapshot", "--disks", "db-data,db-logs", "--disks", "db-wal", "--retention", "36h"), c.errOut.String())
	assert.Equal(t, []string{"db-data", "db-logs", "db-wal"}, c.fake.snapshots[0].Disks)
	assert.Equal(t, 36*time.Hour, c.fake.snapshots[0].Retention)
}

// --ledger takes an earlier run's --json output, or a bare array of entries.
func TestDisksSnapshotLedgerFile(t *testing.T) {
	taken := time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC)
	rec := workflows.SnapshotRecord{SnapshotID: "s-1", DiskName: "db-data", DiskID: "d-1", TakenAt: taken}
	prev, err := json.Marshal(workflows.SnapshotDisksResult{Created: []workflows.SnapshotRecord{rec}, Ledger: []workflows.SnapshotRecord{rec}})
	require.NoError(t, err)
	arr, err := json.Marshal([]workflows.SnapshotRecord{rec})
	require.NoError(t, err)
	for name, data := range map[string]string{"result": string(prev), "array": string(arr), "empty ledger": `{"ledger": []}`} {
		t.Run(name, func(t *testing.T) {
			c := newCLI(t)
			c.fake.run = snapshotRun
			path := writeFile(t, "run.json", data)
			require.Equal(t, exitOK, c.run("disks", "snapshot", "--vm", "web", "--retention", "1d", "--ledger", path), c.errOut.String())
			want := []workflows.SnapshotRecord{rec}
			if name == "empty ledger" {
				want = []workflows.SnapshotRecord{}
			}
			assert.Equal(t, want, c.fake.snapshots[0].Ledger)
		})
	}

	c := newCLI(t)
	c.fake.run = snapshotRun
	c.f.IO.In = strings.NewReader(string(prev))
	require.Equal(t, exitOK, c.run("disks", "snapshot", "--vm", "web", "--retention", "1d", "--ledger", "-"), c.errOut.String())
	assert.Equal(t, []workflows.SnapshotRecord{rec}, c.fake.snapshots[0].Ledger)
}

func snapshotResult() workflows.SnapshotDisksResult {
	at := time.Date(2025, 6, 10, 2, 0, 0, 0, time.UTC)
	created := []workflows.SnapshotRecord{
		{SnapshotID: "s-new-1", DiskName: "web-boot", DiskID: "d-1", TakenAt: at},
		{SnapshotID: "s-new-2", DiskName: "web-data", DiskID: "d-2", TakenAt: at},
	}
	old := workflows.SnapshotRecord{SnapshotID: "s-old", DiskName: "web-data", DiskID: "d-2", TakenAt: at.Add(-8 * 24 * time.Hour)}
	return workflows.SnapshotDisksResult{
		Created: created, Deleted: []workflows.SnapshotRecord{old}, Ledger: created,
		Steps: []workflows.Step{{Name: "snapshot/web-boot", Kind: workflows.KindSnapshot, Resource: "web-boot", ID: "s-new-1", State: workflows.StepDone}},
	}
}

func TestDisksSnapshotWaitPrintsWhatWasTakenAndDeleted(t *testing.T) {
	c := newCLI(t)
	c.fake.run = snapshotRun
	c.fake.result = snapshotResult()
	require.Equal(t, exitOK, c.run("disks", "snapshot", "--vm", "web", "--retention", "7d", "--wait"), c.errOut.String())
	out := c.out.String()
	assert.Contains(t, out, "Snapshotted 2 disks (workflow crusoe-snapshot-web).")
	assert.Regexp(t, `web-boot\s+s-new-1\s+2025-06-10T02:00:00Z\s+created`, out)
	assert.Regexp(t, `web-data\s+s-old\s+2025-06-02T02:00:00Z\s+deleted \(past retention\)`, out)
	assert.Contains(t, out, "Ledger: 2 snapshots kept.")

	c = newCLI(t)
	c.fake.run = snapshotRun
	c.fake.result = snapshotResult()
	require.Equal(t, exitOK, c.run("disks", "snapshot", "--vm", "web", "--retention", "7d", "--wait", "--json"))
	var got workflows.SnapshotDisksResult
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &got), c.out.String())
	assert.Equal(t, snapshotResult(), got)
}

// A snapshot that could not be deleted is reported, and the exit status says so.
func TestDisksSnapshotNotDeletedExitsOne(t *testing.T) {
	c := newCLI(t)
	c.fake.run = snapshotRun
	res := snapshotResult()
	stuck := res.Deleted[0]
	res.Deleted = nil
	res.NotDeleted = []workflows.SnapshotFailure{{SnapshotRecord: stuck, Error: "delete snapshot s-old: 403 permission denied"}}
	res.Ledger = append([]workflows.SnapshotRecord{stuck}, res.Ledger...)
	c.fake.result = res
	assert.Equal(t, exitFailed, c.run("disks", "snapshot", "--vm", "web", "--retention", "7d", "--wait"))
	assert.Regexp(t, `web-data\s+s-old\s+\S+\s+NOT deleted: delete snapshot s-old: 403 permission denied`, c.out.String())
	assert.Contains(t, c.out.String(), "Ledger: 3 snapshots kept. 1 snapshot past the retention could not be deleted: kept in the ledger")
	assert.Contains(t, c.errOut.String(), "error: 1 snapshot past the retention could not be deleted")
}

func TestDisksSnapshotFailureReport(t *testing.T) {
	c := newCLI(t)
	c.fake.run = snapshotRun
	res := snapshotResult()
	res.Deleted, res.Ledger = nil, nil
	res.FailedStep = "snapshot/web-data"
	res.Undone = []string{"snapshot/web-boot"}
	res.Steps = []workflows.Step{
		{Name: "snapshot/web-boot", Kind: workflows.KindSnapshot, State: workflows.StepUndone, ID: "s-new-1"},
		{Name: "snapshot/web-data", Kind: workflows.KindSnapshot, State: workflows.StepFailed, Error: "snapshot web-data failed: INTERNAL: backend down"},
	}
	c.fake.result = res
	c.fake.resultErr = &starter.RunError{WorkflowID: snapshotRun.WorkflowID, Status: "Failed", Message: "step snapshot/web-data failed", FailedStep: "snapshot/web-data"}
	assert.Equal(t, exitFailed, c.run("disks", "snapshot", "--vm", "web", "--retention", "7d", "--wait"))
	out := c.out.String()
	assert.Contains(t, out, "SnapshotDisks failed.")
	assert.Contains(t, out, "failed step: snapshot/web-data")
	assert.Contains(t, out, "INTERNAL: backend down")
	assert.Contains(t, out, "undone:      snapshot/web-boot")
	assert.Contains(t, out, "Nothing was left behind.")
}
