package starter

import (
	"context"
	"errors"
	"fmt"
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
	// Cron is a standard 5-field cron expression (or @daily and the like), in UTC.
	Cron string
	// Every runs the plan at this interval, at least MinInterval.
	Every time.Duration
	// Overlap is one of OverlapPolicies; empty means DefaultOverlap.
	Overlap string
	// CatchupWindow bounds how late a missed run may still start; zero means
	// DefaultCatchupWindow.
	CatchupWindow time.Duration
	// PauseOnFailure pauses the schedule when a run fails.
	PauseOnFailure bool
	Note           string
	Paused         bool
}

// Validate reports every problem with the options, naming the field.
func (o ScheduleOptions) Validate() error {
	var errs []string
	if o.ID == "" || strings.ContainsAny(o.ID, " \t\n/") {
		errs = append(errs, fmt.Sprintf("schedule name %q: use letters, digits, '-', '_' or '.'", o.ID))
	}
	switch {
	case o.Cron == "" && o.Every == 0:
		errs = append(errs, "give --cron or --every")
	case o.Cron != "" && o.Every != 0:
		errs = append(errs, "give --cron or --every, not both")
	case o.Cron != "":
		if err := ValidateCron(o.Cron); err != nil {
			errs = append(errs, err.Error())
		}
	case o.Every < MinInterval:
		errs = append(errs, fmt.Sprintf("--every %s is shorter than the minimum, %s", o.Every, MinInterval))
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

// ScheduleExistsError means a schedule of that name exists already.
type ScheduleExistsError struct{ ID string }

func (e *ScheduleExistsError) Error() string {
	return fmt.Sprintf("schedule %s exists already; delete it first with `cloudflow schedule delete %s`", e.ID, e.ID)
}

// CreateSchedule creates a Temporal Schedule that starts the plan's workflow,
// with the plan's input and search attributes, on this starter's task queue.
func (s *Starter) CreateSchedule(ctx context.Context, o ScheduleOptions, p Plan) error {
	if err := o.Validate(); err != nil {
		return err
	}
	spec := client.ScheduleSpec{}
	if o.Cron != "" {
		spec.CronExpressions = []string{o.Cron}
	} else {
		spec.Intervals = []client.ScheduleIntervalSpec{{Every: o.Every}}
	}
	catchup := o.CatchupWindow
	if catchup == 0 {
		catchup = DefaultCatchupWindow
	}
	action := &client.ScheduleWorkflowAction{ID: p.ID, Workflow: p.Workflow, Args: []any{p.Input}, TaskQueue: s.taskQueue}
	action.StaticSummary, action.StaticDetails = p.userMetadata(s.taskQueue)
	if !s.noSearchAttributes {
		action.TypedSearchAttributes = p.searchAttributes()
	}
	when := "every " + o.Every.String()
	if o.Cron != "" {
		when = "cron " + o.Cron
	}
	opts := client.ScheduleOptions{
		ID: o.ID, Spec: spec, Action: action,
		// The server keeps cron as calendar specs; the memo keeps the words.
		Memo:    map[string]any{memoWhen: when},
		Overlap: overlapPolicies[o.overlap()], CatchupWindow: catchup, PauseOnFailure: o.PauseOnFailure,
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
		return fmt.Errorf("create schedule %s: %w", o.ID, err)
	}
	return nil
}

// ScheduleInfo describes a schedule.
type ScheduleInfo struct {
	ID       string `json:"id"`
	Workflow string `json:"workflow"`
	// When is the schedule's spec in words: "cron 0 22 * * 1-5" or "every 1h0m0s".
	When           string        `json:"when"`
	Paused         bool          `json:"paused"`
	Note           string        `json:"note,omitempty"`
	Overlap        string        `json:"overlap,omitempty"`
	CatchupWindow  time.Duration `json:"catchupWindow,omitempty"`
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

// memoWhen is the memo field that keeps a schedule's spec as it was given.
const memoWhen = "cloudflowWhen"

// whenOf is the schedule's spec in words: as given at creation, else as
// the server describes it.
func whenOf(memo *commonpb.Memo, sp *client.ScheduleSpec) string {
	if p, ok := memo.GetFields()[memoWhen]; ok {
		var when string
		if converter.GetDefaultDataConverter().FromPayload(p, &when) == nil && when != "" {
			return when
		}
	}
	return describeSpec(sp)
}

func describeSpec(sp *client.ScheduleSpec) string {
	if sp == nil {
		return ""
	}
	var parts []string
	for _, c := range sp.CronExpressions {
		parts = append(parts, "cron "+c)
	}
	for _, i := range sp.Intervals {
		parts = append(parts, "every "+i.Every.String())
	}
	if len(parts) == 0 && len(sp.Calendars) > 0 {
		parts = append(parts, fmt.Sprintf("%d calendar specs", len(sp.Calendars)))
	}
	return strings.Join(parts, ", ")
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
			ID: e.ID, Workflow: e.WorkflowType.Name, When: whenOf(e.Memo, e.Spec), Paused: e.Paused, Note: e.Note,
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
		ID: id, When: whenOf(d.Memo, d.Schedule.Spec),
		Actions: d.Info.NumActions, Skipped: d.Info.NumActionsSkippedOverlap,
		Recent: recentRuns(d.Info.RecentActions), Next: d.Info.NextActionTimes,
	}
	if a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); ok {
		if name, ok := a.Workflow.(string); ok {
			info.Workflow = name
		}
	}
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
	return fmt.Errorf("%s schedule %s: %w", what, id, err)
}
