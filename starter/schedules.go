package starter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// Overlap policies of a schedule, by the names the CLI takes.
var overlapPolicies = map[string]enumspb.ScheduleOverlapPolicy{
	"skip":            enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	"buffer-one":      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE,
	"buffer-all":      enumspb.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL,
	"cancel-other":    enumspb.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER,
	"terminate-other": enumspb.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER,
	"allow-all":       enumspb.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL,
}

// OverlapPolicies lists the overlap policy names, the safe default first.
var OverlapPolicies = []string{"skip", "buffer-one", "buffer-all", "cancel-other", "terminate-other", "allow-all"}

// Schedule defaults: never two runs of one schedule at once, and a run
// missed while the server was down is made up only within 10 minutes.
const (
	DefaultOverlap       = "skip"
	DefaultCatchupWindow = 10 * time.Minute
	// MinInterval is the shortest --every a schedule takes: cloud work more
	// often than this is a loop, not a schedule.
	MinInterval = time.Minute
)

// ScheduleOptions says when a schedule runs its plan and what it does when
// runs would overlap. Cron or Every is required.
type ScheduleOptions struct {
	// ID names the schedule.
	ID string
	// Cron is a cron expression in Temporal's grammar: 5 fields (minute hour
	// day-of-month month day-of-week), 6 (and year) or 7 (second first),
	// @daily and the like, or CRON_TZ=<zone> first. Temporal judges it: one
	// it refuses is a *ScheduleSpecError.
	Cron string
	// Every runs the plan at this interval, at least MinInterval.
	Every time.Duration
	// TimeZone is the IANA time zone (Europe/Paris) the cron expression is
	// read in; empty means UTC.
	TimeZone string
	// Overlap is one of OverlapPolicies; empty means DefaultOverlap.
	Overlap string
	// CatchupWindow bounds how late a missed run may still start; zero means
	// DefaultCatchupWindow.
	CatchupWindow time.Duration
	// PauseOnFailure pauses the schedule when a run fails.
	PauseOnFailure bool
	Note           string
	Paused         bool
	// Command is the cloudflow command line that makes the plan, kept with
	// the schedule so that describing it shows what it runs.
	Command string
}

// Validate reports every problem with the options, naming the field. The
// cron expression is left to Temporal, which alone knows its grammar.
func (o ScheduleOptions) Validate() error {
	var errs []string
	if o.ID == "" || strings.ContainsAny(o.ID, " \t\n/") {
		errs = append(errs, fmt.Sprintf("schedule name %q: use letters, digits, '-', '_' or '.'", o.ID))
	}
	switch {
	case strings.TrimSpace(o.Cron) == "" && o.Every == 0:
		errs = append(errs, "give --cron or --every")
	case strings.TrimSpace(o.Cron) != "" && o.Every != 0:
		errs = append(errs, "give --cron or --every, not both")
	case o.Every != 0 && o.Every < MinInterval:
		errs = append(errs, fmt.Sprintf("--every %s is shorter than the minimum, %s", o.Every, MinInterval))
	}
	if err := ValidateTimeZone(o.TimeZone); err != nil {
		errs = append(errs, err.Error())
	}
	if _, ok := overlapPolicies[o.overlap()]; !ok {
		errs = append(errs, fmt.Sprintf("--overlap %q is not one of %s", o.Overlap, strings.Join(OverlapPolicies, ", ")))
	}
	if o.CatchupWindow < 0 {
		errs = append(errs, "--catchup-window must not be negative")
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func (o ScheduleOptions) overlap() string {
	if o.Overlap == "" {
		return DefaultOverlap
	}
	return o.Overlap
}

func (o ScheduleOptions) catchupWindow() time.Duration {
	if o.CatchupWindow == 0 {
		return DefaultCatchupWindow
	}
	return o.CatchupWindow
}

// ValidateTimeZone checks an IANA time zone name (empty is UTC). "Local"
// is refused: a schedule runs on the server, where this machine's zone
// means nothing.
func ValidateTimeZone(tz string) error {
	if tz == "" {
		return nil
	}
	if tz == "Local" || strings.TrimSpace(tz) != tz {
		return fmt.Errorf("--time-zone %q: want an IANA time zone name, e.g. Europe/Paris or America/New_York", tz)
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return fmt.Errorf("--time-zone %q is not an IANA time zone: want a name such as Europe/Paris or America/New_York", tz)
	}
	return nil
}

// scheduleSpec is the spec of a schedule that runs at cron (or every),
// in time zone tz: what Temporal is sent, to judge and keep.
func scheduleSpec(cron string, every time.Duration, tz string) client.ScheduleSpec {
	sp := client.ScheduleSpec{TimeZoneName: tz}
	if c := strings.TrimSpace(cron); c != "" {
		sp.CronExpressions = []string{c}
	} else {
		sp.Intervals = []client.ScheduleIntervalSpec{{Every: every}}
	}
	return sp
}

// ScheduleExistsError means a schedule of that name exists already.
type ScheduleExistsError struct{ ID string }

func (e *ScheduleExistsError) Error() string {
	return fmt.Sprintf("schedule %s exists already; change it with `cloudflow schedule update %s`, or delete it first with `cloudflow schedule delete %s`", e.ID, e.ID, e.ID)
}

// ScheduleSpecError is a schedule Temporal refused as invalid (a cron
// expression outside its grammar, an unknown time zone); nothing changed.
type ScheduleSpecError struct {
	ID string
	// Message is Temporal's.
	Message string
}

func (e *ScheduleSpecError) Error() string {
	return fmt.Sprintf("Temporal refused schedule %s: %s", e.ID, e.Message)
}

// scheduleAction is the action of a schedule that starts p's workflow.
func (s *Starter) scheduleAction(p Plan, command string) *client.ScheduleWorkflowAction {
	action := &client.ScheduleWorkflowAction{ID: p.ID, Workflow: p.Workflow, Args: []any{p.Input}, TaskQueue: s.taskQueue}
	action.StaticSummary, action.StaticDetails = p.userMetadata(s.taskQueue)
	if command != "" {
		// The action's memo, unlike the schedule's, changes with an update.
		action.Memo = map[string]any{memoCommand: command}
	}
	if !s.noSearchAttributes {
		action.TypedSearchAttributes = p.searchAttributes()
	}
	return action
}

// CreateSchedule creates a Temporal Schedule that starts the plan's workflow,
// with the plan's input and search attributes, on this starter's task queue.
// A spec Temporal refuses is a *ScheduleSpecError.
func (s *Starter) CreateSchedule(ctx context.Context, o ScheduleOptions, p Plan) error {
	if err := o.Validate(); err != nil {
		return err
	}
	action := s.scheduleAction(p, o.Command)
	opts := client.ScheduleOptions{
		ID: o.ID, Spec: scheduleSpec(o.Cron, o.Every, o.TimeZone), Action: action,
		Overlap: overlapPolicies[o.overlap()], CatchupWindow: o.catchupWindow(), PauseOnFailure: o.PauseOnFailure,
		Note: o.Note, Paused: o.Paused,
	}
	_, err := s.c.ScheduleClient().Create(ctx, opts)
	if err != nil && isUnknownSearchAttribute(err) && !s.noSearchAttributes {
		s.noSearchAttributes = true
		s.warn("the Temporal namespace has no cloudflow search attributes; the schedule's runs start without them", "error", err)
		action.TypedSearchAttributes = temporal.SearchAttributes{}
		_, err = s.c.ScheduleClient().Create(ctx, opts)
	}
	if err != nil {
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			return &ScheduleExistsError{ID: o.ID}
		}
		return scheduleError("create", o.ID, err)
	}
	return nil
}

// ScheduleUpdate changes a schedule: each field given replaces the
// schedule's. Cron or Every replaces when it runs; TimeZone alone keeps it
// and reads it in another zone.
type ScheduleUpdate struct {
	Cron           *string
	Every          *time.Duration
	TimeZone       *string
	Overlap        *string
	CatchupWindow  *time.Duration
	PauseOnFailure *bool
	// Plan replaces what the schedule starts; Command is its command line.
	Plan    *Plan
	Command string
}

// Validate reports every problem with the update, naming the flag.
func (u ScheduleUpdate) Validate() error {
	var errs []string
	switch {
	case u.Cron != nil && u.Every != nil:
		errs = append(errs, "give --cron or --every, not both")
	case u.Cron != nil && strings.TrimSpace(*u.Cron) == "":
		errs = append(errs, "--cron must not be empty")
	case u.Every != nil && *u.Every < MinInterval:
		errs = append(errs, fmt.Sprintf("--every %s is shorter than the minimum, %s", *u.Every, MinInterval))
	}
	if u.TimeZone != nil {
		if err := ValidateTimeZone(*u.TimeZone); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if u.Overlap != nil {
		if _, ok := overlapPolicies[*u.Overlap]; !ok {
			errs = append(errs, fmt.Sprintf("--overlap %q is not one of %s", *u.Overlap, strings.Join(OverlapPolicies, ", ")))
		}
	}
	if u.CatchupWindow != nil && *u.CatchupWindow <= 0 {
		errs = append(errs, "--catchup-window must be longer than zero")
	}
	if u.Cron == nil && u.Every == nil && u.TimeZone == nil && u.Overlap == nil && u.CatchupWindow == nil && u.PauseOnFailure == nil && u.Plan == nil {
		errs = append(errs, "nothing to change: give --cron, --every, --time-zone, --overlap, --catchup-window, --pause-on-failure or -- COMMAND")
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// apply changes sc as u says.
func (u ScheduleUpdate) apply(s *Starter, sc *client.Schedule) {
	if sc.Spec == nil {
		sc.Spec = &client.ScheduleSpec{}
	}
	tz := sc.Spec.TimeZoneName
	if u.TimeZone != nil {
		tz = *u.TimeZone
	}
	switch {
	case u.Cron != nil:
		sp := scheduleSpec(*u.Cron, 0, tz)
		sc.Spec = &sp
	case u.Every != nil:
		sp := scheduleSpec("", *u.Every, tz)
		sc.Spec = &sp
	default:
		sc.Spec.TimeZoneName = tz
	}
	if sc.Policy == nil {
		sc.Policy = &client.SchedulePolicies{}
	}
	if u.Overlap != nil {
		sc.Policy.Overlap = overlapPolicies[*u.Overlap]
	}
	if u.CatchupWindow != nil {
		sc.Policy.CatchupWindow = *u.CatchupWindow
	}
	if u.PauseOnFailure != nil {
		sc.Policy.PauseOnFailure = *u.PauseOnFailure
	}
	if u.Plan != nil {
		sc.Action = s.scheduleAction(*u.Plan, u.Command)
	}
}

// UpdateSchedule changes the schedule id as u says, in one update: what u
// leaves out stays. A spec Temporal refuses is a *ScheduleSpecError, and
// changes nothing.
func (s *Starter) UpdateSchedule(ctx context.Context, id string, u ScheduleUpdate) error {
	if err := u.Validate(); err != nil {
		return err
	}
	update := func() error {
		return s.c.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				sc := in.Description.Schedule
				u.apply(s, &sc)
				return &client.ScheduleUpdate{Schedule: &sc}, nil
			},
		})
	}
	err := update()
	if err != nil && u.Plan != nil && isUnknownSearchAttribute(err) && !s.noSearchAttributes {
		s.noSearchAttributes = true
		s.warn("the Temporal namespace has no cloudflow search attributes; the schedule's runs start without them", "error", err)
		err = update()
	}
	return scheduleError("update", id, err)
}

// ScheduleInfo describes a schedule.
type ScheduleInfo struct {
	ID       string `json:"id"`
	Workflow string `json:"workflow"`
	// When is the schedule's spec as Temporal keeps it: "cron 0 22 * * 1-5
	// (Europe/Paris)", "every 1h0m0s".
	When string `json:"when"`
	// TimeZone is the zone a cron spec is read in; empty is UTC.
	TimeZone string `json:"timeZone,omitempty"`
	// Command is the cloudflow command line the schedule runs, as it was
	// given (empty for a schedule made without cloudflow, or before it
	// kept the command); TaskQueue where its runs go.
	Command        string        `json:"command,omitempty"`
	TaskQueue      string        `json:"taskQueue,omitempty"`
	Paused         bool          `json:"paused"`
	Note           string        `json:"note,omitempty"`
	Overlap        string        `json:"overlap,omitempty"`
	CatchupWindow  time.Duration `json:"catchupWindow,omitempty"` // in JSON a duration string: "10m0s"
	PauseOnFailure bool          `json:"pauseOnFailure,omitempty"`
	// Actions counts the runs it started; Skipped those the overlap policy
	// skipped.
	Actions int `json:"actions"`
	Skipped int `json:"skipped"`
	// Recent are the latest runs, oldest first; Running those still going.
	Recent  []ScheduledRun `json:"recent,omitempty"`
	Running []string       `json:"running,omitempty"`
	Next    []time.Time    `json:"next,omitempty"`
}

// ScheduledRun is one run a schedule started.
type ScheduledRun struct {
	ScheduledAt time.Time `json:"scheduledAt"`
	StartedAt   time.Time `json:"startedAt"`
	WorkflowID  string    `json:"workflowId"`
	RunID       string    `json:"runId"`
}

// memoCommand is the action memo field that keeps the command line a
// schedule runs.
const memoCommand = "cloudflowCommand"

// memoString reads a string field of a memo; "" when it has none.
func memoString(memo map[string]any, key string) string {
	var v string
	switch p := memo[key].(type) {
	case *commonpb.Payload:
		_ = converter.GetDefaultDataConverter().FromPayload(p, &v)
	case string:
		v = p
	}
	return v
}

// MarshalJSON writes the catch-up window as a duration string ("10m0s"),
// as the CLI takes it, not nanoseconds.
func (i ScheduleInfo) MarshalJSON() ([]byte, error) {
	type plain ScheduleInfo
	out := struct {
		plain
		CatchupWindow string `json:"catchupWindow,omitempty"`
	}{plain: plain(i)}
	if i.CatchupWindow != 0 {
		out.CatchupWindow = i.CatchupWindow.String()
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (i *ScheduleInfo) UnmarshalJSON(data []byte) error {
	type plain ScheduleInfo
	in := struct {
		*plain
		CatchupWindow string `json:"catchupWindow,omitempty"`
	}{plain: (*plain)(i)}
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	i.CatchupWindow = 0
	if in.CatchupWindow != "" {
		d, err := time.ParseDuration(in.CatchupWindow)
		if err != nil {
			return fmt.Errorf("catchupWindow: %w", err)
		}
		i.CatchupWindow = d
	}
	return nil
}

// describeSpec is a schedule's spec as Temporal keeps it, in words: each
// calendar as a cron expression Temporal takes back, each interval as
// "every D", and the time zone of the calendars.
func describeSpec(sp *client.ScheduleSpec) string {
	if sp == nil {
		return ""
	}
	var parts []string
	for _, c := range sp.CronExpressions {
		parts = append(parts, "cron "+c)
	}
	for _, c := range sp.Calendars {
		parts = append(parts, "cron "+calendarCron(c))
	}
	if len(parts) > 0 {
		tz := sp.TimeZoneName
		if tz == "" {
			tz = "UTC"
		}
		parts[len(parts)-1] += " (" + tz + ")"
	}
	for _, i := range sp.Intervals {
		every := "every " + i.Every.String()
		if i.Offset != 0 {
			every += " (offset " + i.Offset.String() + ")"
		}
		parts = append(parts, every)
	}
	return strings.Join(parts, ", ")
}

// timeZoneOf is the time zone of a spec with calendars (UTC: empty).
func timeZoneOf(sp *client.ScheduleSpec) string {
	if sp == nil || len(sp.Calendars)+len(sp.CronExpressions) == 0 {
		return ""
	}
	return sp.TimeZoneName
}

// calendarFields are a calendar's fields in cron order, with their ranges
// and the value an empty field means (-1: any).
var calendarFields = []struct {
	name     string
	min, max int
	empty    int
}{
	{"second", 0, 59, 0},
	{"minute", 0, 59, 0},
	{"hour", 0, 23, 0},
	{"day of month", 1, 31, -1},
	{"month", 1, 12, -1},
	{"day of week", 0, 6, -1},
	{"year", 0, 0, -1}, // any year: no bound
}

// calendarCron writes a calendar as Temporal's cron grammar reads it: five
// fields, a sixth (year) when it names years, and seconds first (seven)
// when it fires on other than second 0.
func calendarCron(c client.ScheduleCalendarSpec) string {
	ranges := [][]client.ScheduleRange{c.Second, c.Minute, c.Hour, c.DayOfMonth, c.Month, c.DayOfWeek, c.Year}
	fields := make([]string, len(ranges))
	for i, rs := range ranges {
		fields[i] = cronField(rs, calendarFields[i].min, calendarFields[i].max, calendarFields[i].empty)
	}
	second, year := fields[0], fields[6]
	out := fields[1:6]
	switch {
	case second != "0":
		out = append([]string{second}, append(out, year)...)
	case year != "*":
		out = append(out, year)
	}
	return strings.Join(out, " ")
}

// cronField writes one field's ranges: "*" for all of min-max (max 0: no
// bound), "*/S", "N", "A-B", "A-B/S", joined by commas.
func cronField(rs []client.ScheduleRange, lo, hi, empty int) string {
	if len(rs) == 0 {
		if empty < 0 {
			return "*"
		}
		return strconv.Itoa(empty)
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		start, end, step := r.Start, r.End, r.Step
		if end < start {
			end = start // as Temporal reads it
		}
		if step < 1 {
			step = 1
		}
		full := hi > 0 && start == lo && end == hi
		switch {
		case full && step == 1:
			parts[i] = "*"
		case full:
			parts[i] = "*/" + strconv.Itoa(step)
		case start == end:
			parts[i] = strconv.Itoa(start)
		case step == 1:
			parts[i] = fmt.Sprintf("%d-%d", start, end)
		default:
			parts[i] = fmt.Sprintf("%d-%d/%d", start, end, step)
		}
	}
	return strings.Join(parts, ",")
}

func overlapName(p enumspb.ScheduleOverlapPolicy) string {
	for name, v := range overlapPolicies {
		if v == p {
			return name
		}
	}
	return p.String()
}

func recentRuns(rs []client.ScheduleActionResult) []ScheduledRun {
	out := make([]ScheduledRun, 0, len(rs))
	for _, r := range rs {
		run := ScheduledRun{ScheduledAt: r.ScheduleTime, StartedAt: r.ActualTime}
		if w := r.StartWorkflowResult; w != nil {
			run.WorkflowID, run.RunID = w.WorkflowID, w.FirstExecutionRunID
		}
		out = append(out, run)
	}
	return out
}

// ListSchedules lists the schedules of the namespace.
func (s *Starter) ListSchedules(ctx context.Context) ([]ScheduleInfo, error) {
	it, err := s.c.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 100})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	var out []ScheduleInfo
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		out = append(out, ScheduleInfo{
			ID: e.ID, Workflow: e.WorkflowType.Name, When: describeSpec(e.Spec), TimeZone: timeZoneOf(e.Spec), Paused: e.Paused, Note: e.Note,
			Recent: recentRuns(e.RecentActions), Next: e.NextActionTimes,
		})
	}
	return out, nil
}

// DescribeSchedule describes one schedule with its recent and next runs.
func (s *Starter) DescribeSchedule(ctx context.Context, id string) (ScheduleInfo, error) {
	d, err := s.c.ScheduleClient().GetHandle(ctx, id).Describe(ctx)
	if err != nil {
		return ScheduleInfo{}, scheduleError("describe", id, err)
	}
	info := ScheduleInfo{
		ID: id, When: describeSpec(d.Schedule.Spec),
		Actions: d.Info.NumActions, Skipped: d.Info.NumActionsSkippedOverlap,
		Recent: recentRuns(d.Info.RecentActions), Next: d.Info.NextActionTimes,
	}
	if a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); ok {
		if name, ok := a.Workflow.(string); ok {
			info.Workflow = name
		}
		info.Command, info.TaskQueue = memoString(a.Memo, memoCommand), a.TaskQueue
	}
	info.TimeZone = timeZoneOf(d.Schedule.Spec)
	if st := d.Schedule.State; st != nil {
		info.Paused, info.Note = st.Paused, st.Note
	}
	if p := d.Schedule.Policy; p != nil {
		info.Overlap, info.CatchupWindow, info.PauseOnFailure = overlapName(p.Overlap), p.CatchupWindow, p.PauseOnFailure
	}
	for _, w := range d.Info.RunningWorkflows {
		info.Running = append(info.Running, w.WorkflowID)
	}
	return info, nil
}

// PauseSchedule stops a schedule from starting runs until UnpauseSchedule.
func (s *Starter) PauseSchedule(ctx context.Context, id, note string) error {
	return scheduleError("pause", id, s.c.ScheduleClient().GetHandle(ctx, id).Pause(ctx, client.SchedulePauseOptions{Note: note}))
}

// UnpauseSchedule lets a paused schedule start runs again.
func (s *Starter) UnpauseSchedule(ctx context.Context, id, note string) error {
	return scheduleError("unpause", id, s.c.ScheduleClient().GetHandle(ctx, id).Unpause(ctx, client.ScheduleUnpauseOptions{Note: note}))
}

// TriggerSchedule starts a run now, under the schedule's overlap policy.
func (s *Starter) TriggerSchedule(ctx context.Context, id string) error {
	return scheduleError("trigger", id, s.c.ScheduleClient().GetHandle(ctx, id).Trigger(ctx, client.ScheduleTriggerOptions{}))
}

// BackfillSchedule starts the runs the schedule would have started between
// start and end, under its overlap policy.
func (s *Starter) BackfillSchedule(ctx context.Context, id string, start, end time.Time) error {
	if !end.After(start) {
		return fmt.Errorf("backfill: the end (%s) must be after the start (%s)", end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	return scheduleError("backfill", id, s.c.ScheduleClient().GetHandle(ctx, id).Backfill(ctx, client.ScheduleBackfillOptions{
		Backfill: []client.ScheduleBackfill{{Start: start, End: end}},
	}))
}

// DeleteSchedule deletes a schedule; runs it started go on.
func (s *Starter) DeleteSchedule(ctx context.Context, id string) error {
	return scheduleError("delete", id, s.c.ScheduleClient().GetHandle(ctx, id).Delete(ctx))
}

// ScheduleNotFoundError means there is no schedule of that name.
type ScheduleNotFoundError struct{ ID string }

func (e *ScheduleNotFoundError) Error() string {
	return fmt.Sprintf("no schedule %s; list them with `cloudflow schedule list`", e.ID)
}

func scheduleError(what, id string, err error) error {
	if err == nil {
		return nil
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return &ScheduleNotFoundError{ID: id}
	}
	var inv *serviceerror.InvalidArgument
	if errors.As(err, &inv) && (what == "create" || what == "update") && !isUnknownSearchAttribute(err) {
		return &ScheduleSpecError{ID: id, Message: inv.Message}
	}
	return fmt.Errorf("%s schedule %s: %w", what, id, err)
}
