package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

func describeSchedule(t *testing.T, tq, id string) starter.ScheduleInfo {
	t.Helper()
	out, errOut, code := cli(t, "--task-queue", tq, "schedule", "describe", id, "--json")
	if code != 0 {
		t.Fatalf("schedule describe %s: exit %d\n%s\n%s", id, code, out, errOut)
	}
	var info starter.ScheduleInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	return info
}

// A schedule made from the CLI runs what the command would start: triggered,
// its run starts the fleet. Pause, unpause and delete take effect.
func TestScheduleRunsTheCommand(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	names := seedInstances(t, "sched", 20)
	t.Cleanup(func() { cli(t, "--task-queue", tq, "schedule", "delete", "e2e-start") })

	out, errOut, code := cli(t, "--task-queue", tq, "schedule", "create", "e2e-start", "--every", "1h", "--",
		"instances", "start", "--provider", "kraftcloud", "--names", strings.Join(names, ","))
	if code != 0 {
		t.Fatalf("schedule create: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, _, code := cli(t, "--task-queue", tq, "schedule", "trigger", "e2e-start"); code != 0 {
		t.Fatal("trigger failed")
	}
	var run starter.ScheduledRun
	waitFor(t, 30*time.Second, "the triggered run", func() bool {
		info := describeSchedule(t, tq, "e2e-start")
		if len(info.Recent) == 0 {
			return false
		}
		run = info.Recent[len(info.Recent)-1]
		return true
	})
	want := starter.FleetWorkflowID(workflows.FleetInput{Provider: workflows.ProviderKraftCloud, Instances: names})
	if !strings.HasPrefix(run.WorkflowID, want) {
		t.Errorf("scheduled run %s: want the ID of the same command run by hand, %s, with the time appended", run.WorkflowID, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res workflows.FleetResult
	if err := starter.New(c, tq).Result(ctx, run.WorkflowID, "", &res); err != nil {
		t.Fatalf("scheduled run: %v", err)
	}
	if res.Action != "start" || len(res.Succeeded) != 20 {
		t.Fatalf("scheduled run: %s of %d started", res.Action, len(res.Succeeded))
	}
	requireStartedOnce(t, names)

	// The scheduled run is findable by provider and name.
	out, _, code = cli(t, "--task-queue", tq, "runs", "list", "--provider", "kraftcloud", "--name", "sched-7", "--json")
	if code != 0 || !strings.Contains(out, run.WorkflowID) {
		t.Errorf("runs list --provider kraftcloud --name sched-7: exit %d, want %s in\n%s", code, run.WorkflowID, out)
	}

	if _, _, code := cli(t, "--task-queue", tq, "schedule", "pause", "e2e-start", "--note", "maintenance"); code != 0 {
		t.Fatal("pause failed")
	}
	if info := describeSchedule(t, tq, "e2e-start"); !info.Paused || info.Note != "maintenance" || info.When != "every 1h0m0s" {
		t.Errorf("after pause: paused %v, note %q, when %q", info.Paused, info.Note, info.When)
	}
	if _, _, code := cli(t, "--task-queue", tq, "schedule", "unpause", "e2e-start"); code != 0 {
		t.Fatal("unpause failed")
	}
	if info := describeSchedule(t, tq, "e2e-start"); info.Paused || len(info.Next) == 0 {
		t.Errorf("after unpause: paused %v, next runs %v", info.Paused, info.Next)
	}
	if _, _, code := cli(t, "--task-queue", tq, "schedule", "delete", "e2e-start"); code != 0 {
		t.Fatal("delete failed")
	}
	if _, errOut, code := cli(t, "--task-queue", tq, "schedule", "describe", "e2e-start"); code != 6 || !strings.Contains(errOut, "no schedule e2e-start") {
		t.Errorf("describe after delete: exit %d, %s", code, errOut)
	}
}

// With the default overlap policy, a run due while the previous one still
// runs is skipped: no two runs of one fleet at once.
func TestScheduleSkipsOverlappingRuns(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	if err := admin.SetOperationLatency(context.Background(), "kraftcloud", 4*time.Second); err != nil {
		t.Fatal(err)
	}
	names := seedInstances(t, "slow", 5)
	t.Cleanup(func() { cli(t, "--task-queue", tq, "schedule", "delete", "e2e-overlap") })
	if out, errOut, code := cli(t, "--task-queue", tq, "schedule", "create", "e2e-overlap", "--every", "1h", "--",
		"instances", "start", "--provider", "kraftcloud", "--names", strings.Join(names, ",")); code != 0 {
		t.Fatalf("create: exit %d\n%s\n%s", code, out, errOut)
	}
	cli(t, "--task-queue", tq, "schedule", "trigger", "e2e-overlap")
	waitFor(t, 20*time.Second, "the first run", func() bool { return len(describeSchedule(t, tq, "e2e-overlap").Running) == 1 })
	cli(t, "--task-queue", tq, "schedule", "trigger", "e2e-overlap") // due while the first runs
	waitFor(t, 20*time.Second, "the second trigger to be skipped", func() bool { return describeSchedule(t, tq, "e2e-overlap").Skipped == 1 })
	info := describeSchedule(t, tq, "e2e-overlap")
	if info.Actions != 1 || info.Overlap != "skip" {
		t.Errorf("actions %d (want 1), overlap %q", info.Actions, info.Overlap)
	}
	if started := counters(t, "kraftcloud", "instance-starts"); started["slow-1"] != 1 {
		t.Errorf("slow-1 started %d times", started["slow-1"])
	}
}

// Bad schedule input is refused by name and creates nothing.
func TestScheduleBadInputCreatesNothing(t *testing.T) {
	tq := fresh(t)
	out, errOut, code := cli(t, "--task-queue", tq, "schedule", "create", "nightly", "--cron", "0 22 * * 1-5", "--paused", "--", "instances", "stop", "--provider", "kraftcloud", "web-1")
	if code != 0 || !strings.Contains(out, "cron 0 22 * * 1-5") {
		t.Errorf("create with cron: exit %d\n%s\n%s", code, out, errOut)
	}
	cli(t, "--task-queue", tq, "schedule", "delete", "nightly")
	// Temporal judges the cron expression: its refusal, with its message, is
	// bad usage, and nothing is created.
	_, errOut, code = cli(t, "--task-queue", tq, "schedule", "create", "broken", "--cron", "0 22 * *", "--", "instances", "start", "--provider", "kraftcloud", "web-1")
	if code != 2 || !strings.Contains(errOut, "Temporal refused schedule broken: Invalid schedule spec: CronString does not have 5-7 fields; nothing was created") {
		t.Errorf("malformed cron: exit %d, %s", code, errOut)
	}
	out, _, _ = cli(t, "--task-queue", tq, "schedule", "list", "--json")
	if strings.Contains(out, `"broken"`) {
		t.Errorf("a schedule was created:\n%s", out)
	}
}

// A schedule in a time zone, in Temporal's own cron grammar, keeps the
// command it runs; update changes what it is given and keeps the rest, and
// Temporal's refusal changes nothing.
func TestScheduleTimeZoneUpdateAndCommand(t *testing.T) {
	tq := fresh(t)
	t.Cleanup(func() {
		cli(t, "--task-queue", tq, "schedule", "delete", "e2e-tz")
		cli(t, "--task-queue", tq, "schedule", "delete", "e2e-tokyo")
	})
	out, errOut, code := cli(t, "--task-queue", tq, "schedule", "create", "e2e-tz", "--cron", "0 22 * * 1-5", "--time-zone", "Europe/Paris", "--",
		"instances", "stop", "--provider", "kraftcloud", "web-1")
	if code != 0 || !strings.Contains(out, "cron 0 22 * * 1-5 (Europe/Paris)") {
		t.Fatalf("create: exit %d\n%s\n%s", code, out, errOut)
	}
	raw, _, _ := cli(t, "--task-queue", tq, "schedule", "describe", "e2e-tz", "--json")
	if !strings.Contains(raw, `"catchupWindow": "10m0s"`) {
		t.Errorf("the catch-up window is not a duration string:\n%s", raw)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	info := describeSchedule(t, tq, "e2e-tz")
	if info.When != "cron 0 22 * * 1-5 (Europe/Paris)" || info.TimeZone != "Europe/Paris" || info.TaskQueue != tq ||
		info.Command != "cloudflow instances stop --provider kraftcloud web-1" || info.Workflow != workflows.StopInstancesWorkflowName {
		t.Errorf("describe: %+v", info)
	}
	if len(info.Next) == 0 || info.Next[0].In(paris).Hour() != 22 || info.Next[0].In(paris).Weekday() == time.Saturday {
		t.Errorf("next runs %v: want 22:00 in Paris on weekdays", info.Next)
	}
	out, _, _ = cli(t, "--task-queue", tq, "schedule", "describe", "e2e-tz")
	if !strings.Contains(out, "cloudflow instances stop --provider kraftcloud web-1") {
		t.Errorf("describe does not show the command:\n%s", out)
	}

	out, errOut, code = cli(t, "--task-queue", tq, "schedule", "update", "e2e-tz", "--cron", "30 6 * * *", "--time-zone", "America/New_York", "--overlap", "buffer-one")
	if code != 0 {
		t.Fatalf("update: exit %d\n%s\n%s", code, out, errOut)
	}
	ny, _ := time.LoadLocation("America/New_York")
	info = describeSchedule(t, tq, "e2e-tz")
	if info.When != "cron 30 6 * * * (America/New_York)" || info.Overlap != "buffer-one" || info.Command != "cloudflow instances stop --provider kraftcloud web-1" {
		t.Errorf("after update: %+v", info)
	}
	if len(info.Next) == 0 || info.Next[0].In(ny).Hour() != 6 || info.Next[0].In(ny).Minute() != 30 {
		t.Errorf("next runs %v: want 06:30 in New York", info.Next)
	}

	_, errOut, code = cli(t, "--task-queue", tq, "schedule", "update", "e2e-tz", "--cron", "61 * * * *")
	if code != 2 || !strings.Contains(errOut, "Minute is not in range [0-59]; nothing changed") {
		t.Errorf("update with a cron Temporal refuses: exit %d\n%s", code, errOut)
	}
	if info := describeSchedule(t, tq, "e2e-tz"); info.When != "cron 30 6 * * * (America/New_York)" {
		t.Errorf("a refused update changed the schedule: %s", info.When)
	}

	out, errOut, code = cli(t, "--task-queue", tq, "schedule", "update", "e2e-tz", "--", "instances", "start", "--provider", "kraftcloud", "web-1", "web-2")
	if code != 0 {
		t.Fatalf("update of the command: exit %d\n%s\n%s", code, out, errOut)
	}
	if info := describeSchedule(t, tq, "e2e-tz"); info.Workflow != workflows.StartInstancesWorkflowName || info.Command != "cloudflow instances start --provider kraftcloud web-1 web-2" ||
		info.When != "cron 30 6 * * * (America/New_York)" {
		t.Errorf("after the command's update: %+v", info)
	}

	// CRON_TZ=, which a home-made check refused, is Temporal's to judge.
	out, errOut, code = cli(t, "--task-queue", tq, "schedule", "create", "e2e-tokyo", "--cron", "CRON_TZ=Asia/Tokyo 0 9 * * *", "--",
		"instances", "stop", "--provider", "kraftcloud", "web-1")
	if code != 0 || !strings.Contains(out, "cron 0 9 * * * (Asia/Tokyo)") {
		t.Errorf("CRON_TZ: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := cli(t, "--task-queue", tq, "schedule", "update", "e2e-nope", "--every", "1h"); code != 6 {
		t.Errorf("update of an unknown schedule: exit %d\n%s", code, errOut)
	}
}
