package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

func TestScheduleCreateRecordsWhatTheCommandWouldStart(t *testing.T) {
	fleet := filepath.Join(t.TempDir(), "dev-fleet.txt")
	if err := os.WriteFile(fleet, []byte("web-1\nweb-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t)
	c.fake.scheduleInfo = starter.ScheduleInfo{When: "cron 0 22 * * 1-5", Next: []time.Time{time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)}}
	code := c.run("schedule", "create", "nightly-stop", "--cron", "0 22 * * 1-5", "--",
		"instances", "stop", "--provider", "kraftcloud", "--file", fleet)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, c.errOut.String())
	}
	if len(c.fake.schedules) != 1 || len(c.fake.fleets) != 0 {
		t.Fatalf("want one schedule and no fleet started; got %d schedules, %d fleets", len(c.fake.schedules), len(c.fake.fleets))
	}
	got := c.fake.schedules[0]
	in := workflows.FleetInput{Provider: "kraftcloud", Instances: []string{"web-1", "web-2"}, ChunkSize: 100, MaxAttempts: 3, WaitTimeout: workflows.DefaultWaitTimeout}
	if want := starter.StopInstancesPlan(in); got.plan.Workflow != want.Workflow || got.plan.ID != want.ID {
		t.Errorf("plan %+v, want %+v", got.plan, want)
	}
	if fi, ok := got.plan.Input.(workflows.FleetInput); !ok || strings.Join(fi.Instances, ",") != "web-1,web-2" {
		t.Errorf("input %#v", got.plan.Input)
	}
	if got.opts.ID != "nightly-stop" || got.opts.Cron != "0 22 * * 1-5" || got.opts.Overlap != "skip" {
		t.Errorf("options %+v: want the name, the cron and the skip overlap policy", got.opts)
	}
	if !strings.Contains(c.out.String(), "Created schedule nightly-stop") || !strings.Contains(c.out.String(), "Next runs") {
		t.Errorf("output:\n%s", c.out.String())
	}
}

func TestScheduleCreateBadInputCreatesNothing(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"s", "--cron", "0 1 * * *", "--time-zone", "Europe/Pariss", "--", "instances", "start", "--provider", "kraftcloud", "web-1"}, `--time-zone "Europe/Pariss" is not an IANA time zone`},
		{[]string{"s", "--cron", "0 1 * * *", "--every", "1h", "--", "instances", "start", "--provider", "kraftcloud", "web-1"}, "not both"},
		{[]string{"s", "--every", "1h", "--", "vm", "provision", "-f", "x.yaml"}, `"vm provision" acts through the spec's stack, which a schedule cannot drive`},
		{[]string{"s", "--every", "10s", "--", "instances", "start", "--provider", "kraftcloud", "web-1"}, "shorter than the minimum"},
		{[]string{"s", "--every", "1h", "--", "sim"}, `"sim" is not a command a schedule can run`},
		{[]string{"s", "--every", "1h", "--", "bogus", "thing"}, "is not a command a schedule can run"},
		{[]string{"s", "--every", "1h", "--", "instances", "start", "--provider", "kraftcloud", "web-1", "--wait"}, "drop --wait"},
		{[]string{"s", "--every", "1h", "--", "instances", "start", "--provider", "kraftcloud", "Bad_Name"}, "the scheduled command is not valid"},
		{[]string{"s", "--every", "1h", "--overlap", "never", "--", "instances", "start", "--provider", "kraftcloud", "web-1"}, `--overlap "never"`},
		{[]string{"s", "--every", "1h"}, "want NAME -- COMMAND"},
	} {
		c := newCLI(t)
		code := c.run(append([]string{"schedule", "create"}, tc.args...)...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2\n%s", tc.args, code, c.errOut.String())
		}
		if !strings.Contains(c.errOut.String(), tc.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", tc.args, tc.want, c.errOut.String())
		}
		if len(c.fake.schedules) != 0 || len(c.fake.fleets) != 0 || len(c.dials) != 0 {
			t.Errorf("%v: created, started or dialled something", tc.args)
		}
	}
}

func TestScheduleManagement(t *testing.T) {
	for _, args := range [][]string{{"pause", "s1", "--note", "holiday"}, {"unpause", "s1"}, {"trigger", "s1"}, {"delete", "s1"},
		{"backfill", "s1", "--start", "2026-11-20T00:00:00Z", "--end", "2026-11-21T00:00:00Z"}} {
		c := newCLI(t)
		if code := c.run(append([]string{"schedule"}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, c.errOut.String())
		}
		if want := args[0] + " s1"; len(c.fake.scheduleCalls) != 1 || c.fake.scheduleCalls[0] != want {
			t.Errorf("%v: calls %v, want %q", args, c.fake.scheduleCalls, want)
		}
	}
	c := newCLI(t)
	c.fake.scheduleErr = &starter.ScheduleNotFoundError{ID: "nope"}
	if code := c.run("schedule", "describe", "nope"); code != exitNotFound || !strings.Contains(c.errOut.String(), "no schedule nope") {
		t.Errorf("describe of a missing schedule: exit %d, %s", code, c.errOut.String())
	}
	c = newCLI(t)
	if code := c.run("schedule", "backfill", "s1", "--start", "yesterday", "--end", "2026-11-21T00:00:00Z"); code != exitUsage {
		t.Errorf("bad --start: exit %d", code)
	}
}

// A schedule takes a time zone, and keeps the command line it runs, quoted
// as a shell reads it back.
func TestScheduleCreateTimeZoneAndCommand(t *testing.T) {
	fleet := filepath.Join(t.TempDir(), "dev fleet.txt")
	if err := os.WriteFile(fleet, []byte("web-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t)
	c.fake.scheduleInfo = starter.ScheduleInfo{When: "cron 0 22 * * 1-5 (Europe/Paris)"}
	code := c.run("schedule", "create", "nightly", "--cron", "0 22 * * 1-5", "--time-zone", "Europe/Paris", "--",
		"instances", "stop", "--provider", "kraftcloud", "--file", fleet)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, c.errOut.String())
	}
	o := c.fake.schedules[0].opts
	if o.TimeZone != "Europe/Paris" || o.Cron != "0 22 * * 1-5" {
		t.Errorf("options %+v", o)
	}
	if want := "cloudflow instances stop --provider kraftcloud --file '" + fleet + "'"; o.Command != want {
		t.Errorf("command %q, want %q", o.Command, want)
	}
	if !strings.Contains(c.out.String(), "Created schedule nightly: cron 0 22 * * 1-5 (Europe/Paris) runs StopInstances") {
		t.Errorf("output:\n%s", c.out.String())
	}
	if c.errOut.String() != "" {
		t.Errorf("stderr: %s", c.errOut.String())
	}

	// No worker polls the task queue: the schedule is made, and the note
	// says its runs will wait.
	c = newCLI(t)
	c.fake.noWorker = true
	if code := c.run("schedule", "create", "s", "--every", "1h", "--", "instances", "stop", "--provider", "kraftcloud", "web-1"); code != 0 {
		t.Fatalf("exit %d: %s", code, c.errOut.String())
	}
	if !strings.Contains(c.errOut.String(), `no worker is polling task queue "cloudflow" now: the schedule's runs wait until one does`) {
		t.Errorf("stderr: %s", c.errOut.String())
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"web-1": "web-1", "--file=a/b.txt": "--file=a/b.txt", "": "''", "a b": "'a b'", "it's": `'it'\''s'`, "$HOME": "'$HOME'", "*": "'*'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScheduleUpdate(t *testing.T) {
	c := newCLI(t)
	c.fake.scheduleInfo = starter.ScheduleInfo{When: "cron 30 6 * * * (America/New_York)", Command: "cloudflow instances stop --provider kraftcloud web-1"}
	if code := c.run("schedule", "update", "nightly", "--cron", "30 6 * * *", "--time-zone", "America/New_York", "--pause-on-failure=false", "--catchup-window", "1h"); code != 0 {
		t.Fatalf("exit %d: %s", code, c.errOut.String())
	}
	u := c.fake.scheduleUpdates[0]
	if u.id != "nightly" || *u.u.Cron != "30 6 * * *" || *u.u.TimeZone != "America/New_York" || *u.u.PauseOnFailure || *u.u.CatchupWindow != time.Hour {
		t.Errorf("update %+v", u)
	}
	if u.u.Every != nil || u.u.Overlap != nil || u.u.Plan != nil {
		t.Errorf("flags not given were sent: %+v", u.u)
	}
	if !strings.Contains(c.out.String(), "Updated schedule nightly: cron 30 6 * * * (America/New_York) runs cloudflow instances stop --provider kraftcloud web-1.") {
		t.Errorf("output:\n%s", c.out.String())
	}

	// After --, a new command: checked and planned now, recorded.
	c = newCLI(t)
	if code := c.run("schedule", "update", "nightly", "--", "instances", "start", "--provider", "kraftcloud", "web-2"); code != 0 {
		t.Fatalf("exit %d: %s", code, c.errOut.String())
	}
	u = c.fake.scheduleUpdates[0]
	if u.u.Plan == nil || u.u.Plan.Workflow != workflows.StartInstancesWorkflowName || u.u.Command != "cloudflow instances start --provider kraftcloud web-2" {
		t.Errorf("update %+v", u.u)
	}
	if len(c.fake.fleets) != 0 {
		t.Error("the command was started")
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nightly"}, "nothing to change"},
		{[]string{"nightly", "--every", "30s"}, "shorter than the minimum"},
		{[]string{"nightly", "--every", "0s"}, "--every must be longer than zero"},
		{[]string{"nightly", "--time-zone", "Paris"}, `--time-zone "Paris" is not an IANA time zone`},
		{[]string{"nightly", "--cron", "@daily", "--every", "1h"}, "not both"},
		{[]string{"nightly", "--", "apply", "-f", "x.yaml"}, `"apply" acts through the spec's stack`},
		{[]string{"nightly", "extra"}, "too many arguments"},
		{[]string{"--", "instances", "start"}, "missing NAME"},
	} {
		c := newCLI(t)
		if code := c.run(append([]string{"schedule", "update"}, tc.args...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		if !strings.Contains(c.errOut.String(), tc.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", tc.args, tc.want, c.errOut.String())
		}
		if len(c.fake.scheduleUpdates) != 0 {
			t.Errorf("%v: updated", tc.args)
		}
	}

	c = newCLI(t)
	c.fake.scheduleErr = &starter.ScheduleSpecError{ID: "nightly", Message: "Invalid schedule spec: Hour is not in range [0-23]"}
	if code := c.run("schedule", "update", "nightly", "--cron", "0 24 * * *"); code != exitUsage ||
		!strings.Contains(c.errOut.String(), "Temporal refused schedule nightly: Invalid schedule spec: Hour is not in range [0-23]; nothing changed") {
		t.Errorf("refused spec: exit %d, %s", code, c.errOut.String())
	}
}

// describe shows the command the schedule runs and where; its JSON gives
// the catch-up window as a duration string.
func TestScheduleDescribe(t *testing.T) {
	c := newCLI(t)
	c.fake.scheduleInfo = starter.ScheduleInfo{Workflow: "StopInstances", When: "cron 0 22 * * 1-5 (Europe/Paris)", TimeZone: "Europe/Paris",
		Command: "cloudflow instances stop --provider kraftcloud --file dev-fleet.txt", TaskQueue: "cloudflow", Overlap: "skip", CatchupWindow: 10 * time.Minute}
	if code := c.run("schedule", "describe", "nightly"); code != 0 {
		t.Fatalf("exit %d: %s", code, c.errOut.String())
	}
	out := c.out.String()
	for _, want := range []string{
		"Command:           cloudflow instances stop --provider kraftcloud --file dev-fleet.txt",
		"Runs:              StopInstances", "Task queue:        cloudflow", "When:              cron 0 22 * * 1-5 (Europe/Paris)", "Catch-up window:   10m0s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	c = newCLI(t)
	c.fake.scheduleInfo = starter.ScheduleInfo{CatchupWindow: 10 * time.Minute}
	if code := c.run("schedule", "describe", "nightly", "--json"); code != 0 || !strings.Contains(c.out.String(), `"catchupWindow": "10m0s"`) {
		t.Errorf("JSON: exit %d\n%s", code, c.out.String())
	}
	c = newCLI(t)
	if code := c.run("schedule", "describe", "old"); code != 0 || !strings.Contains(c.out.String(), "Command:           (not recorded") {
		t.Errorf("a schedule without the command: exit %d\n%s", code, c.out.String())
	}
}
