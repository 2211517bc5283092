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
