package crusoe

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

func TestOperationDone(t *testing.T) {
	tests := []struct {
		op              *Operation
		done, succeeded bool
	}{
		{&Operation{State: OperationInProgress}, false, false},
		{&Operation{State: OperationSucceeded}, true, true},
		{&Operation{State: OperationFailed}, true, false},
		{&Operation{State: ""}, false, false},
		{nil, false, false},
	}
	for _, tt := range tests {
		if got := tt.op.Done(); got != tt.done {
			t.Errorf("%+v.Done() = %v", tt.op, got)
		}
		if got := tt.op.Succeeded(); got != tt.succeeded {
			t.Errorf("%+v.Succeeded() = %v", tt.op, got)
		}
	}
}

func TestOperationFailure(t *testing.T) {
	tests := []struct {
		name   string
		state  string
		result string
		want   *OperationError
	}{
		{"in progress", OperationInProgress, ``, nil},
		{"succeeded", OperationSucceeded, `{"id":"vm-1"}`, nil},
		{"failed with code and message", OperationFailed, `{"code":"out_of_capacity","message":"no a100.8x left in us-east1-a"}`,
			&OperationError{Code: "out_of_capacity", Message: "no a100.8x left in us-east1-a"}},
		{"failed with an rpc message", OperationFailed, `{"code":"500","message":"rpc code = Internal desc = disk attach failed"}`,
			&OperationError{Code: "500", Message: "disk attach failed"}},
		{"rpc code fills an empty code", OperationFailed, `{"message":"rpc error: code = FailedPrecondition desc = vm is running"}`,
			&OperationError{Code: "FailedPrecondition", Message: "vm is running"}},
		{"numeric code", OperationFailed, `{"code":13,"message":"internal"}`, &OperationError{Code: "13", Message: "internal"}},
		{"no result", OperationFailed, ``, &OperationError{Message: "no reason given"}},
		{"null result", OperationFailed, `null`, &OperationError{Message: "no reason given"}},
		{"empty result", OperationFailed, `{}`, &OperationError{Message: "no reason given"}},
		{"result of another shape", OperationFailed, `"quota exceeded"`, &OperationError{Message: `"quota exceeded"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := &Operation{OperationID: "op-1", State: tt.state, Result: json.RawMessage(tt.result)}
			got := op.Failure()
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Fatalf("Failure() = %+v, want %+v", got, tt.want)
			}
		})
	}
	var nilOp *Operation
	if nilOp.Failure() != nil {
		t.Error("nil operation has a failure")
	}
}

func TestOperationErrorMessage(t *testing.T) {
	var err error = &OperationError{Code: "NotFound", Message: "vm not found"}
	if got, want := err.Error(), "crusoe: operation failed: vm not found (code NotFound)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := (&OperationError{Message: "boom"}).Error(), "crusoe: operation failed: boom"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestOperationDecodeResult(t *testing.T) {
	op := &Operation{OperationID: "op-1", State: OperationSucceeded, Result: json.RawMessage(`{"id":"d-1","name":"data","size":"10GiB"}`)}
	var d Disk
	if err := op.DecodeResult(&d); err != nil {
		t.Fatal(err)
	}
	if d.ID != "d-1" || d.Name != "data" || d.Size != "10GiB" {
		t.Errorf("decoded %+v", d)
	}

	failed := &Operation{State: OperationFailed, Result: json.RawMessage(`{"code":"409","message":"name taken"}`)}
	err := failed.DecodeResult(&d)
	var oe *OperationError
	if !errors.As(err, &oe) || oe.Message != "name taken" {
		t.Errorf("failed operation: err = %v, want its OperationError", err)
	}

	for name, op := range map[string]*Operation{
		"in progress": {OperationID: "op-2", State: OperationInProgress},
		"no result":   {OperationID: "op-3", State: OperationSucceeded},
		"bad result":  {OperationID: "op-4", State: OperationSucceeded, Result: json.RawMessage(`[1,2]`)},
		"nil":         nil,
	} {
		if err := op.DecodeResult(&d); err == nil {
			t.Errorf("%s: want an error", name)
		} else if op != nil && !strings.Contains(err.Error(), op.OperationID) {
			t.Errorf("%s: error %q does not name the operation", name, err)
		}
	}
}

func TestOperationJSONRoundTrip(t *testing.T) {
	raw := `{"operation_id":"F6EF489C","state":"IN_PROGRESS","metadata":{"k":"v"},"result":{},"started_at":"2021-12-03T19:58:34Z","completed_at":"2021-12-03T19:59:34Z"}`
	var op Operation
	if err := json.Unmarshal([]byte(raw), &op); err != nil {
		t.Fatal(err)
	}
	if string(op.Metadata) != `{"k":"v"}` || string(op.Result) != `{}` || op.CompletedAt == "" {
		t.Errorf("decoded %+v", op)
	}
	b, err := json.Marshal(op)
	if err != nil {
		t.Fatal(err)
	}
	if !apitest.JSONEqual(t, b, raw) {
		t.Errorf("round trip = %s", b)
	}
}
