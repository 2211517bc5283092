package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/starter"
)

// complete runs cobra's hidden __complete command, as a shell's completion
// script does, and returns the candidates and the directive line.
func complete(t *testing.T, c *cli, args ...string) (candidates []string, directive string) {
	t.Helper()
	require.Equal(t, exitOK, c.run(append([]string{"__complete"}, args...)...), c.errOut.String())
	lines := strings.Split(strings.TrimRight(c.out.String(), "\n"), "\n")
	require.NotEmpty(t, lines)
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func TestCompletionOfRunsSchedulesAndStacks(t *testing.T) {
	c := newCLI(t)
	c.fake.list = []starter.RunInfo{
		{WorkflowID: "crusoe-vm-provision-web", Type: "ProvisionVM", Status: "Running"},
		{WorkflowID: "kraftcloud-fleet-web-1-and-9-more-3f9a2c1d", Type: "StartInstances", Status: "Failed"},
		{WorkflowID: "crusoe-vm-provision-web", Type: "ProvisionVM", Status: "Completed"}, // an older run
	}
	got, dir := complete(t, c, "runs", "show", "")
	assert.Equal(t, []string{"crusoe-vm-provision-web\tProvisionVM, Running", "kraftcloud-fleet-web-1-and-9-more-3f9a2c1d\tStartInstances, Failed"}, got)
	assert.Equal(t, ":4", dir, "no file completion")
	assert.Equal(t, []starter.ListOptions{{Limit: completionLimit}}, c.fake.listOpts)

	c = newCLI(t)
	c.fake.list = []starter.RunInfo{{WorkflowID: "crusoe-vm-provision-web", Type: "ProvisionVM", Status: "Running"}}
	got, _ = complete(t, c, "--task-queue", "it's", "runs", "cancel", "crusoe")
	assert.Equal(t, []string{"crusoe-vm-provision-web\tProvisionVM, Running"}, got)
	assert.Equal(t, `TaskQueue = 'it\'s' AND ExecutionStatus = 'Running'`, c.fake.listOpts[0].Query, "cancel offers running runs only")

	c = newCLI(t)
	c.fake.list = []starter.RunInfo{{WorkflowID: "a-run", Type: "ProvisionVM", Status: "Running"}}
	got, _ = complete(t, c, "runs", "terminate", "b")
	assert.Empty(t, got, "only IDs that start as typed")
	got, _ = complete(t, newCLI(t), "runs", "show", "a-run", "")
	assert.Empty(t, got, "one ID only")

	c = newCLI(t)
	c.fake.scheduleList = []starter.ScheduleInfo{{ID: "nightly-stop", Workflow: "StopInstances", When: "cron 0 22 * * 1-5 (UTC)"}, {ID: "hourly-backup", Workflow: "SnapshotDisks", When: "every 1h0m0s"}}
	got, _ = complete(t, c, "schedule", "describe", "n")
	assert.Equal(t, []string{"nightly-stop\tStopInstances cron 0 22 * * 1-5 (UTC)"}, got)
	for _, verb := range []string{"update", "pause", "unpause", "trigger", "backfill", "delete"} {
		c.out = &syncBuffer{}
		c.f.IO.Out = c.out
		got, _ = complete(t, c, "schedule", verb, "")
		assert.Subset(t, got, []string{"nightly-stop\tStopInstances cron 0 22 * * 1-5 (UTC)", "hourly-backup\tSnapshotDisks every 1h0m0s"}, verb)
	}

	c = newCLI(t)
	c.fake.stacks.list = []starter.StackSummary{
		{StackRef: starter.StackRef{Provider: "crusoe", Name: "web"}, Status: "in-sync"},
		{StackRef: starter.StackRef{Provider: "kraftcloud", Name: "web"}, Status: "drifted"},
		{StackRef: starter.StackRef{Provider: "openvz", Name: "db"}, Status: "new"},
	}
	for _, path := range [][]string{{"stacks", "show"}, {"stacks", "approve"}, {"stacks", "refresh"}, {"output"}, {"destroy"}} {
		c.out = &syncBuffer{}
		c.f.IO.Out = c.out
		got, _ = complete(t, c, append(path, "")...)
		assert.Equal(t, []string{"web\tcrusoe in-sync; kraftcloud drifted", "db\topenvz new"}, got, path)
	}

	// Temporal unreachable: nothing to offer, and no error for the shell.
	c = newCLI(t)
	c.fake.dialErr = assert.AnError
	got, dir = complete(t, c, "runs", "show", "")
	assert.Empty(t, got)
	assert.Equal(t, ":4", dir)
}

func TestCompletionOfFlagValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"runs", "list", "--provider", ""}, []string{"crusoe", "cloudmc", "kraftcloud", "openvz"}},
		{[]string{"instances", "start", "--provider", ""}, []string{"kraftcloud", "crusoe", "cloudmc"}},
		{[]string{"stacks", "show", "web", "--provider", ""}, []string{"crusoe", "cloudmc", "kraftcloud", "openvz"}},
		{[]string{"stacks", "list", "--status", ""}, stackStatuses},
		{[]string{"schedule", "create", "s", "--overlap", ""}, starter.OverlapPolicies},
		{[]string{"schedule", "update", "s", "--overlap", "b"}, []string{"buffer-one", "buffer-all"}},
		{[]string{"apply", "--if-busy", ""}, []string{"wait", "fail"}},
		{[]string{"runs", "list", "--workflow", "Pro"}, []string{"ProvisionVM", "ProvisionInstance"}},
		{[]string{"worker", "--log-level", ""}, []string{"debug", "info", "warn", "error"}},
	} {
		got, dir := complete(t, newCLI(t), tc.args...)
		assert.Equal(t, tc.want, got, tc.args)
		assert.Equal(t, ":4", dir, tc.args)
	}
	// A spec file: files with a spec's extensions.
	got, dir := complete(t, newCLI(t), "vm", "provision", "-f", "")
	assert.Equal(t, []string{"yaml", "yml", "json"}, got)
	assert.Equal(t, ":8", dir, "file extensions filter")
}
