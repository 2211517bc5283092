package cloudmc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
)

// Task statuses.
const (
	TaskPending = "PENDING"
	TaskSuccess = "SUCCESS"
	TaskFailed  = "FAILED"
)

// Task is an asynchronous operation. The calls that start one answer
// {"taskId", "taskStatus": "PENDING"}; TasksService.Get reads it again, with
// the operation's result once it is SUCCESS. Tasks are not kept: about 30
// minutes after it ends a task answers 404, and the outcome must be read from
// the resource itself.
type Task struct {
	ID     string `json:"taskId"`
	Status string `json:"taskStatus"`
	// Result is what the operation yielded: the resource it made or changed
	// once SUCCESS, the reason once FAILED (see Failure).
	Result json.RawMessage `json:"result,omitempty"`
}

// Done reports whether the task reached SUCCESS or FAILED.
func (t *Task) Done() bool { return t != nil && (t.Succeeded() || t.Failed()) }

// Succeeded reports whether the task completed successfully.
func (t *Task) Succeeded() bool { return t != nil && strings.EqualFold(t.Status, TaskSuccess) }

// Failed reports whether the task failed.
func (t *Task) Failed() bool { return t != nil && strings.EqualFold(t.Status, TaskFailed) }

// Failure is the reason of a FAILED task, and nil otherwise. The reference
// does not say how a failed task explains itself; Failure reads a result
// that is an errors array ({"errors": [{code, message, context}]}, as the
// simulator answers), a single {code, message}, or a string, and falls back
// to the raw result.
func (t *Task) Failure() *TaskError {
	if !t.Failed() {
		return nil
	}
	te := &TaskError{TaskID: t.ID}
	if apihttp.IsNullJSON(t.Result) {
		te.Message = "no reason given"
		return te
	}
	var wrapped struct {
		Errors []ErrorDetail `json:"errors"`
	}
	var single ErrorDetail
	var text string
	switch {
	case json.Unmarshal(t.Result, &wrapped) == nil && len(wrapped.Errors) > 0:
		te.Errors = wrapped.Errors
		te.Code = wrapped.Errors[0].Code
		var msgs []string
		for _, d := range wrapped.Errors {
			if m := strings.TrimSpace(d.Message); m != "" {
				msgs = append(msgs, m)
			}
		}
		te.Message = strings.Join(msgs, "; ")
	case json.Unmarshal(t.Result, &single) == nil && (single.Code != 0 || single.Message != ""):
		te.Errors = []ErrorDetail{single}
		te.Code, te.Message = single.Code, strings.TrimSpace(single.Message)
	case json.Unmarshal(t.Result, &text) == nil:
		te.Message = strings.TrimSpace(text)
	default:
		te.Message = strings.TrimSpace(string(t.Result))
	}
	if te.Message == "" {
		te.Message = "no reason given"
	}
	return te
}

// DecodeResult decodes the result of a SUCCESS task (the resource the
// operation made or changed) into v. It returns the *TaskError of a FAILED
// task, and an error when the task is still pending or has no result.
func (t *Task) DecodeResult(v any) error {
	if t == nil {
		return errors.New("cloudmc: nil task")
	}
	if f := t.Failure(); f != nil {
		return f
	}
	if !t.Succeeded() {
		return fmt.Errorf("cloudmc: task %s is %s, not %s", t.ID, t.Status, TaskSuccess)
	}
	if apihttp.IsNullJSON(t.Result) {
		return fmt.Errorf("cloudmc: task %s has no result", t.ID)
	}
	if err := json.Unmarshal(t.Result, v); err != nil {
		return fmt.Errorf("cloudmc: decoding the result of task %s: %w", t.ID, err)
	}
	return nil
}

// TaskError is the cloud's reason for a FAILED task.
type TaskError struct {
	TaskID  string
	Code    int
	Message string
	Errors  []ErrorDetail
}

func (e *TaskError) Error() string {
	s := "cloudmc: task " + e.TaskID + " failed: " + e.Message
	if e.TaskID == "" {
		s = "cloudmc: task failed: " + e.Message
	}
	if e.Code != 0 {
		s += " (code " + strconv.Itoa(e.Code) + ")"
	}
	return s
}

// TasksService reads tasks (/api/v2/tasks).
type TasksService service

// Get fetches a task. An unknown task, or one that ended long enough ago to
// be forgotten, answers 404 (IsNotFound).
func (s *TasksService) Get(ctx context.Context, id string) (*Task, error) {
	if err := checkID("task ID", id); err != nil {
		return nil, err
	}
	rep, err := s.client.do(ctx, "GET", "tasks/"+id, nil, nil)
	if err != nil {
		return nil, err
	}
	t := &Task{ID: rep.env.TaskID, Status: rep.env.TaskStatus, Result: rep.env.Result}
	if t.ID == "" && t.Status == "" && !apihttp.IsNullJSON(rep.env.Data) {
		// Older deployments wrap the task: {"data": {"id", "status", "result"}}.
		var d struct {
			ID     string          `json:"id"`
			Status string          `json:"status"`
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(rep.env.Data, &d); err != nil {
			return nil, fmt.Errorf("cloudmc: %s %s: decoding data: %w", rep.method, rep.path, err)
		}
		t = &Task{ID: d.ID, Status: d.Status, Result: d.Result}
	}
	if t.Status == "" {
		return nil, fmt.Errorf("cloudmc: %s %s: response has no taskStatus", rep.method, rep.path)
	}
	if t.ID == "" {
		t.ID = id
	}
	return t, nil
}
