package starter

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

func TestScheduleOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o    ScheduleOptions
		want string
	}{
		{ScheduleOptions{ID: "nightly", Cron: "0 22 * * 1-5"}, ""},
		// Temporal's grammar, judged by Temporal: not refused here.
		{ScheduleOptions{ID: "last", Cron: "0 0 L * *"}, ""},
		{ScheduleOptions{ID: "tokyo", Cron: "CRON_TZ=Asia/Tokyo 30 6 * * MON-FRI"}, ""},
		{ScheduleOptions{ID: "paris", Cron: "0 22 * * *", TimeZone: "Europe/Paris"}, ""},
		{ScheduleOptions{ID: "hourly", Every: time.Hour, Overlap: "buffer-one"}, ""},
		{ScheduleOptions{ID: "fast", Every: 10 * time.Second}, "shorter than the minimum"},
		{ScheduleOptions{ID: "none"}, "give --cron or --every"},
		{ScheduleOptions{ID: "blank", Cron: "  "}, "give --cron or --every"},
		{ScheduleOptions{ID: "both", Cron: "@daily", Every: time.Hour}, "not both"},
		{ScheduleOptions{ID: "mars", Cron: "@daily", TimeZone: "Mars/Olympus_Mons"}, `--time-zone "Mars/Olympus_Mons" is not an IANA time zone`},
		{ScheduleOptions{ID: "local", Cron: "@daily", TimeZone: "Local"}, `--time-zone "Local": want an IANA time zone name`},
		{ScheduleOptions{ID: "ov", Every: time.Hour, Overlap: "sometimes"}, `--overlap "sometimes"`},
		{ScheduleOptions{ID: "has space", Every: time.Hour}, "schedule name"},
		{ScheduleOptions{ID: "neg", Every: time.Hour, CatchupWindow: -time.Second}, "--catchup-window must not be negative"},
	} {
		err := tc.o.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.o, err, tc.want)
		}
	}
}

func TestScheduleUpdateValidate(t *testing.T) {
	cron, blank, tz, bad := "0 1 * * *", " ", "Europe/Paris", "nowhere"
	hour, second, zero := time.Hour, time.Second, time.Duration(0)
	overlap, wrong := "buffer-all", "sometimes"
	for _, tc := range []struct {
		u    ScheduleUpdate
		want string
	}{
		{ScheduleUpdate{Cron: &cron}, ""},
		{ScheduleUpdate{TimeZone: &tz}, ""},
		{ScheduleUpdate{Every: &hour, Overlap: &overlap}, ""},
		{ScheduleUpdate{Plan: &Plan{}}, ""},
		{ScheduleUpdate{}, "nothing to change"},
		{ScheduleUpdate{Cron: &cron, Every: &hour}, "not both"},
		{ScheduleUpdate{Cron: &blank}, "--cron must not be empty"},
		{ScheduleUpdate{Every: &second}, "shorter than the minimum"},
		{ScheduleUpdate{TimeZone: &bad}, `--time-zone "nowhere"`},
		{ScheduleUpdate{Overlap: &wrong}, `--overlap "sometimes"`},
		{ScheduleUpdate{CatchupWindow: &zero}, "--catchup-window must be longer than zero"},
	} {
		err := tc.u.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.u, err, tc.want)
		}
	}
}

// An update changes what it names and keeps the rest: a time zone alone
// keeps the calendars Temporal holds; a cron replaces them and the interval.
func TestScheduleUpdateApply(t *testing.T) {
	cal := client.ScheduleCalendarSpec{Hour: []client.ScheduleRange{{Start: 22}}}
	base := func() client.Schedule {
		return client.Schedule{
			Spec:   &client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{cal}, TimeZoneName: "UTC"},
			Policy: &client.SchedulePolicies{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: time.Minute},
			Action: &client.ScheduleWorkflowAction{ID: "old"},
		}
	}
	s := New(nil, "q")

	tz := "Europe/Paris"
	sc := base()
	ScheduleUpdate{TimeZone: &tz}.apply(s, &sc)
	if len(sc.Spec.Calendars) != 1 || sc.Spec.TimeZoneName != tz || sc.Action.(*client.ScheduleWorkflowAction).ID != "old" {
		t.Errorf("time zone alone: %+v", sc.Spec)
	}

	cron, pause, overlap := "30 6 * * 1-5", true, "buffer-one"
	sc = base()
	ScheduleUpdate{Cron: &cron, PauseOnFailure: &pause, Overlap: &overlap}.apply(s, &sc)
	if len(sc.Spec.Calendars) != 0 || len(sc.Spec.CronExpressions) != 1 || sc.Spec.CronExpressions[0] != cron || sc.Spec.TimeZoneName != "UTC" {
		t.Errorf("cron: %+v", sc.Spec)
	}
	if !sc.Policy.PauseOnFailure || sc.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE || sc.Policy.CatchupWindow != time.Minute {
		t.Errorf("policy: %+v", sc.Policy)
	}

	every := 2 * time.Hour
	sc = base()
	ScheduleUpdate{Every: &every, Plan: &Plan{ID: "new", Workflow: "StartInstances", Input: 1}, Command: "cloudflow instances start x"}.apply(s, &sc)
	a := sc.Action.(*client.ScheduleWorkflowAction)
	if len(sc.Spec.Intervals) != 1 || sc.Spec.Intervals[0].Every != every || len(sc.Spec.Calendars) != 0 {
		t.Errorf("every: %+v", sc.Spec)
	}
	if a.ID != "new" || a.TaskQueue != "q" || memoString(a.Memo, memoCommand) != "cloudflow instances start x" {
		t.Errorf("action: %+v", a)
	}
}

// A spec reads back as Temporal keeps it: the calendars it made of a cron
// expression as that expression, in its time zone.
func TestDescribeSpec(t *testing.T) {
	r := func(start, end, step int) client.ScheduleRange {
		return client.ScheduleRange{Start: start, End: end, Step: step}
	}
	weekdays := client.ScheduleCalendarSpec{ // what Temporal makes of "0 22 * * 1-5"
		Second: []client.ScheduleRange{r(0, 0, 1)}, Minute: []client.ScheduleRange{r(0, 0, 1)}, Hour: []client.ScheduleRange{r(22, 22, 1)},
		DayOfMonth: []client.ScheduleRange{r(1, 31, 1)}, Month: []client.ScheduleRange{r(1, 12, 1)}, DayOfWeek: []client.ScheduleRange{r(1, 5, 1)},
	}
	quarter := client.ScheduleCalendarSpec{ // "*/15 9-17 * * *"
		Minute: []client.ScheduleRange{r(0, 59, 15)}, Hour: []client.ScheduleRange{r(9, 17, 1)},
	}
	odd := client.ScheduleCalendarSpec{
		Second: []client.ScheduleRange{r(30, 0, 0)}, Minute: []client.ScheduleRange{r(5, 0, 0), r(10, 40, 10)},
		Year: []client.ScheduleRange{r(2027, 2027, 1)},
	}
	years := client.ScheduleCalendarSpec{Year: []client.ScheduleRange{r(2027, 2030, 1)}}
	for _, tc := range []struct {
		sp   *client.ScheduleSpec
		want string
	}{
		{nil, ""},
		{&client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{weekdays}}, "cron 0 22 * * 1-5 (UTC)"},
		{&client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{weekdays}, TimeZoneName: "Europe/Paris"}, "cron 0 22 * * 1-5 (Europe/Paris)"},
		{&client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{quarter}}, "cron */15 9-17 * * * (UTC)"},
		{&client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{odd}}, "cron 30 5,10-40/10 0 * * * 2027 (UTC)"},
		{&client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{years}}, "cron 0 0 * * * 2027-2030 (UTC)"},
		{&client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour}}}, "every 1h0m0s"},
		{&client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: time.Hour, Offset: 5 * time.Minute}}}, "every 1h0m0s (offset 5m0s)"},
		{&client.ScheduleSpec{CronExpressions: []string{"@daily"}, TimeZoneName: "Asia/Tokyo"}, "cron @daily (Asia/Tokyo)"},
	} {
		if got := describeSpec(tc.sp); got != tc.want {
			t.Errorf("describeSpec(%+v) = %q, want %q", tc.sp, got, tc.want)
		}
	}
}

// The catch-up window is a duration string in JSON, as the CLI takes it,
// and reads back.
func TestScheduleInfoJSON(t *testing.T) {
	in := ScheduleInfo{ID: "nightly", When: "every 1h0m0s", CatchupWindow: 10 * time.Minute, Command: "cloudflow instances stop x"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"catchupWindow":"10m0s"`) || strings.Contains(string(b), "600000000000") {
		t.Errorf("JSON %s: want the catch-up window as \"10m0s\"", b)
	}
	var out ScheduleInfo
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.CatchupWindow != in.CatchupWindow || out.ID != in.ID || out.Command != in.Command {
		t.Errorf("read back %+v, want %+v", out, in)
	}
	if err := json.Unmarshal([]byte(`{"catchupWindow":"soon"}`), &out); err == nil {
		t.Error("a bad duration was read")
	}
}

// The command memo reads back from the payload Temporal returns.
func TestMemoString(t *testing.T) {
	p, err := converter.GetDefaultDataConverter().ToPayload("cloudflow disks snapshot --vm db-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := memoString(map[string]any{memoCommand: p}, memoCommand); got != "cloudflow disks snapshot --vm db-1" {
		t.Errorf("memoString = %q", got)
	}
	if got := memoString(nil, memoCommand); got != "" {
		t.Errorf("memoString(nil) = %q", got)
	}
}

// Temporal's refusals: an invalid spec is a *ScheduleSpecError with its
// message; an unknown schedule a *ScheduleNotFoundError; a missing search
// attribute neither.
func TestScheduleError(t *testing.T) {
	var spec *ScheduleSpecError
	err := scheduleError("create", "s", serviceerror.NewInvalidArgument("Invalid schedule spec: Minute is not in range [0-59]"))
	if !errors.As(err, &spec) || spec.Message != "Invalid schedule spec: Minute is not in range [0-59]" {
		t.Errorf("invalid spec: %#v", err)
	}
	if err := scheduleError("create", "s", serviceerror.NewInvalidArgument("search attribute CloudflowProvider is not defined")); errors.As(err, &spec) {
		t.Errorf("a missing search attribute is not a bad spec: %v", err)
	}
	if err := scheduleError("pause", "s", serviceerror.NewInvalidArgument("x")); errors.As(err, &spec) {
		t.Errorf("only a create or update judges a spec: %v", err)
	}
	var nf *ScheduleNotFoundError
	if err := scheduleError("update", "s", serviceerror.NewNotFound("schedule not found")); !errors.As(err, &nf) {
		t.Errorf("not found: %v", err)
	}
}
