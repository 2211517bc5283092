package cloudmc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

func TestTaskStates(t *testing.T) {
	for _, tt := range []struct {
		status                  string
		done, succeeded, failed bool
	}{
		{TaskPending, false, false, false},
		{TaskSuccess, true, true, false},
		{TaskFailed, true, false, true},
		{"success", true, true, false}, // case does not matter
		{"", false, false, false},
	} {
		task := &Task{ID: "t", Status: tt.status}
		if task.Done() != tt.done || task.Succeeded() != tt.succeeded || task.Failed() != tt.failed {
			t.Errorf("%q: Done %v Succeeded %v Failed %v", tt.status, task.Done(), task.Succeeded(), task.Failed())
		}
	}
	var nilTask *Task
	if nilTask.Done() || nilTask.Succeeded() || nilTask.Failed() || nilTask.Failure() != nil {
		t.Error("a nil task reports a state")
	}
	if err := nilTask.DecodeResult(&struct{}{}); err == nil {
		t.Error("DecodeResult of a nil task succeeded")
	}
}

func TestTaskFailure(t *testing.T) {
	for _, tt := range []struct {
		name   string
		result string
		want   TaskError
	}{
		{"errors array", `{"errors":[{"code":1000,"message":"no capacity","context":{"reason":"internal_error"}},{"code":1,"message":"and more"}]}`,
			TaskError{TaskID: "t", Code: 1000, Message: "no capacity; and more", Errors: []ErrorDetail{
				{Code: 1000, Message: "no capacity", Context: map[string]any{"reason": "internal_error"}}, {Code: 1, Message: "and more"}}}},
		{"single error", `{"code":"2012","message":"bad state"}`,
			TaskError{TaskID: "t", Code: 2012, Message: "bad state", Errors: []ErrorDetail{{Code: 2012, Message: "bad state"}}}},
		{"string", `" quota exceeded "`, TaskError{TaskID: "t", Message: "quota exceeded"}},
		{"other JSON", `{"weird":true}`, TaskError{TaskID: "t", Message: `{"weird":true}`}},
		{"no result", ``, TaskError{TaskID: "t", Message: "no reason given"}},
		{"null result", `null`, TaskError{TaskID: "t", Message: "no reason given"}},
		{"empty message", `""`, TaskError{TaskID: "t", Message: "no reason given"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			task := &Task{ID: "t", Status: TaskFailed}
			if tt.result != "" {
				task.Result = json.RawMessage(tt.result)
			}
			got := task.Failure()
			if got == nil || !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("Failure() = %+v, want %+v", got, tt.want)
			}
			var v map[string]any
			err := task.DecodeResult(&v)
			var te *TaskError
			if !errors.As(err, &te) || te.Message != tt.want.Message {
				t.Errorf("DecodeResult = %v, want the *TaskError", err)
			}
		})
	}
	err := (&TaskError{TaskID: "t-1", Code: 1000, Message: "boom"}).Error()
	if err != "cloudmc: task t-1 failed: boom (code 1000)" {
		t.Errorf("Error() = %q", err)
	}
	if err := (&TaskError{Message: "boom"}).Error(); err != "cloudmc: task failed: boom" {
		t.Errorf("Error() = %q", err)
	}
	if (&Task{Status: TaskSuccess}).Failure() != nil {
		t.Error("a SUCCESS task has a Failure")
	}
}

func TestTaskDecodeResult(t *testing.T) {
	task := &Task{ID: "t", Status: TaskSuccess, Result: json.RawMessage(`{"id":"i-1","name":"morty","state":"Running"}`)}
	var inst Instance
	if err := task.DecodeResult(&inst); err != nil || inst.ID != "i-1" || inst.State != InstanceStateRunning {
		t.Errorf("DecodeResult = %+v, %v", inst, err)
	}
	if err := (&Task{ID: "t", Status: TaskPending}).DecodeResult(&inst); err == nil || !strings.Contains(err.Error(), "is PENDING") {
		t.Errorf("pending: %v", err)
	}
	if err := (&Task{ID: "t", Status: TaskSuccess}).DecodeResult(&inst); err == nil || !strings.Contains(err.Error(), "has no result") {
		t.Errorf("no result: %v", err)
	}
	if err := (&Task{ID: "t", Status: TaskSuccess, Result: json.RawMessage(`[1]`)}).DecodeResult(&inst); err == nil || !strings.Contains(err.Error(), "decoding the result") {
		t.Errorf("bad result: %v", err)
	}
}

func TestExpiredTaskIsNotFound(t *testing.T) {
	c := newTestClient(t, apitest.Respond(http.StatusNotFound, `{"errors":[{"code":1004,"message":"Task t-1 not found","context":{"id":"t-1","type":"tasks"}}]}`))
	task, err := c.Tasks.Get(context.Background(), "t-1")
	if task != nil || !IsNotFound(err) {
		t.Fatalf("Get = %+v, %v; want a 404", task, err)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Path != APIPath+"/tasks/t-1" || apiErr.Code != ErrCodeNotFound || apiErr.Errors[0].Context["type"] != "tasks" {
		t.Errorf("APIError = %+v", apiErr)
	}
}
