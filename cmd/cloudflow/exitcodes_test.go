package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// One exit code per outcome, whatever the command: a table over commands.
func TestExitCodesAcrossCommands(t *testing.T) {
	notFoundRun := func(c *cli) { c.fake.describeErr = serviceerror.NewNotFound("workflow not found for ID: nope") }
	notFoundSchedule := func(c *cli) { c.fake.scheduleErr = &starter.ScheduleNotFoundError{ID: "nope"} }
	unreachable := func(c *cli) { c.fake.dialErr = errors.New("connect to Temporal at localhost:7233: connection refused") }
	alreadyRunning := func(c *cli) {
		c.fake.startErr = &starter.AlreadyRunningError{WorkflowID: "kraftcloud-fleet-start-web-1"}
	}
	stackBusy := func(c *cli) {
		c.fake.op(workflows.StackUpdatePlan, workflows.StackOperationResult{}, &starter.StackError{Stack: demoRef, Type: workflows.ErrTypeStackBusy, Message: "busy"})
	}
	specRefused := func(c *cli) {
		c.fake.scheduleErr = &starter.ScheduleSpecError{ID: "s", Message: "Invalid schedule spec: Minute is not in range [0-59]"}
	}
	failedRun := func(c *cli) {
		c.fake.info = starter.RunInfo{WorkflowID: "w", RunID: "r", Type: "ProvisionVM", Status: "Failed"}
		c.fake.resultErr = &starter.RunError{WorkflowID: "w", Status: "Failed", Message: "boom"}
	}
	fleet := []string{"instances", "start", "--provider", "kraftcloud", "web-1"}
	for _, tc := range []struct {
		code  int
		args  []string
		setup func(*cli)
	}{
		{exitNotFound, []string{"runs", "show", "nope"}, notFoundRun},
		{exitNotFound, []string{"runs", "watch", "nope"}, notFoundRun},
		{exitNotFound, []string{"runs", "cancel", "nope"}, notFoundRun},
		{exitNotFound, []string{"runs", "terminate", "nope"}, notFoundRun},
		{exitNotFound, []string{"schedule", "describe", "nope"}, notFoundSchedule},
		{exitNotFound, []string{"schedule", "update", "nope", "--every", "1h"}, notFoundSchedule},
		{exitNotFound, []string{"schedule", "pause", "nope"}, notFoundSchedule},
		{exitNotFound, []string{"schedule", "delete", "nope"}, notFoundSchedule},
		{exitNotFound, []string{"stacks", "show", "nope"}, nil},
		{exitNotFound, []string{"output", "nope"}, nil},
		{exitNotFound, []string{"destroy", "nope"}, nil},
		{exitBusy, fleet, alreadyRunning},
		{exitBusy, []string{"plan", "-f", exampleSpec, "--if-busy", "fail"}, stackBusy},
		{exitOther, []string{"runs", "list"}, unreachable},
		{exitOther, []string{"runs", "show", "w"}, unreachable},
		{exitOther, []string{"schedule", "list"}, unreachable},
		{exitOther, []string{"stacks", "list"}, unreachable},
		{exitOther, fleet, unreachable},
		{exitOther, []string{"vm", "provision", "-f", exampleSpec}, unreachable},
		{exitUsage, []string{"schedule", "create", "s", "--cron", "61 * * * *", "--", "instances", "stop", "--provider", "kraftcloud", "web-1"}, specRefused},
		{exitUsage, []string{"runs", "lst"}, nil},
		{exitFailed, []string{"runs", "show", "w"}, failedRun},
		{exitFailed, []string{"runs", "watch", "w"}, failedRun},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c := newCLI(t)
			if tc.setup != nil {
				tc.setup(c)
			}
			assert.Equal(t, tc.code, c.run(tc.args...), c.errOut.String())
			assert.True(t, strings.HasPrefix(c.errOut.String(), "error: ") || strings.Contains(c.errOut.String(), "\nerror: "), "stderr says why: %q", c.errOut.String())
		})
	}
}

// Temporal's refusal of a schedule spec is bad usage, with its message.
func TestScheduleSpecRefusedByTemporal(t *testing.T) {
	c := newCLI(t)
	c.fake.scheduleErr = &starter.ScheduleSpecError{ID: "s", Message: "Invalid schedule spec: Minute is not in range [0-59]"}
	require.Equal(t, exitUsage, c.run("schedule", "create", "s", "--cron", "61 * * * *", "--", "instances", "stop", "--provider", "kraftcloud", "web-1"))
	assert.Equal(t, "error: Temporal refused schedule s: Invalid schedule spec: Minute is not in range [0-59]; nothing was created\n", c.errOut.String())
}

// Every command's help says what its exit codes mean, with the codes of
// the one table; the README's table is that table.
func TestExitCodesDocumented(t *testing.T) {
	known := map[int]bool{}
	for _, e := range exitCodes {
		known[e.Code] = true
	}
	codeRe := regexp.MustCompile(`(?:^|[\s,(])(\d{1,2})\s`)
	for _, path := range allCommands(newRootCmd(newCLI(t).f)) {
		c := newCLI(t)
		require.Equal(t, exitOK, c.run(append(path, "--help")...))
		help := c.out.String()
		cmd, _, err := newRootCmd(c.f).Find(path)
		require.NoError(t, err)
		if !cmd.Runnable() || isNoun(cmd) {
			continue
		}
		i := strings.Index(help, "Exit status")
		if !assert.GreaterOrEqual(t, i, 0, "cloudflow %s --help has no exit status", strings.Join(path, " ")) {
			continue
		}
		section := help[i:]
		if j := strings.Index(section, "\n\n"); j > 0 {
			section = section[:j]
		}
		for _, m := range codeRe.FindAllStringSubmatch(section, -1) {
			n, _ := strconv.Atoi(m[1])
			assert.True(t, known[n], "cloudflow %s --help names exit status %d, which the table does not have:\n%s", strings.Join(path, " "), n, section)
		}
	}

	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	rows := regexp.MustCompile(`(?m)^\| (\d+) \| (.*) \|$`).FindAllStringSubmatch(string(readme), -1)
	var table []string
	for _, r := range rows {
		table = append(table, r[1]+" "+r[2])
	}
	var want []string
	for _, e := range exitCodes {
		want = append(want, strconv.Itoa(e.Code)+" "+e.Meaning)
	}
	assert.Equal(t, want, table, "README.md's exit code table")
}
