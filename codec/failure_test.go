package codec

import (
	"bytes"
	"errors"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

type partialResult struct {
	FailedStep string
	DiskIDs    []string
}

// failedRun is how a workflow fails: a message with the cloud's text, its
// partial result as details, and the activity's error as the cause.
func failedRun() error {
	cause := temporal.NewNonRetryableApplicationError("crusoe: 409 no capacity in us-east1-zz (request req-7781)", "CloudError", nil)
	return temporal.NewNonRetryableApplicationError("provision of vm-secret-name failed at create-vm", "ProvisionFailed", cause,
		partialResult{FailedStep: "create-vm", DiskIDs: []string{"disk-id-4417", "disk-id-4418"}})
}

var clearText = [][]byte{[]byte("no capacity in us-east1-zz"), []byte("vm-secret-name"), []byte("disk-id-4417")}

// With the client options the codec sets, neither a failure's message, its
// cause's message nor its details are readable in what goes to history;
// the same options read them back whole.
func TestApplyEncodesFailures(t *testing.T) {
	c, err := New("k1", testKey)
	if err != nil {
		t.Fatal(err)
	}
	var co client.Options
	Apply(&co, c)
	if co.DataConverter == nil || co.FailureConverter == nil {
		t.Fatalf("Apply left a converter unset: %+v", co)
	}
	f := co.FailureConverter.ErrorToFailure(failedRun())
	raw, err := proto.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range clearText {
		if bytes.Contains(raw, s) {
			t.Errorf("the failure as stored shows %q", s)
		}
	}
	if f.GetMessage() != "Encoded failure" || f.GetCause().GetMessage() != "Encoded failure" {
		t.Errorf("messages %q, %q: want them encoded", f.GetMessage(), f.GetCause().GetMessage())
	}

	back := co.FailureConverter.FailureToError(f)
	var app *temporal.ApplicationError
	if !errors.As(back, &app) || app.Message() != "provision of vm-secret-name failed at create-vm" || app.Type() != "ProvisionFailed" {
		t.Fatalf("decoded %v", back)
	}
	var res partialResult
	if err := app.Details(&res); err != nil || res.DiskIDs[1] != "disk-id-4418" {
		t.Fatalf("details %+v, %v", res, err)
	}
	var cause *temporal.ApplicationError
	if !errors.As(errors.Unwrap(app), &cause) || cause.Message() != "crusoe: 409 no capacity in us-east1-zz (request req-7781)" {
		t.Fatalf("cause %v", errors.Unwrap(app))
	}
}

// What the SDK does without it: the codec seals payloads, but failures go
// out through the default failure converter, in clear.
func TestTheDefaultFailureConverterLeavesFailuresInClear(t *testing.T) {
	f := temporal.GetDefaultFailureConverter().ErrorToFailure(failedRun())
	raw, err := proto.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range clearText {
		if !bytes.Contains(raw, s) {
			t.Errorf("expected %q in clear without the codec's failure converter", s)
		}
	}
}

func TestApplyKeepsConvertersAlreadySet(t *testing.T) {
	c, err := New("k1", testKey)
	if err != nil {
		t.Fatal(err)
	}
	mine := DataConverter(c)
	co := client.Options{DataConverter: mine}
	Apply(&co, c)
	if co.DataConverter != mine || co.FailureConverter == nil {
		t.Fatalf("options %+v", co)
	}
	var none client.Options
	Apply(&none, nil)
	if none.DataConverter != nil || none.FailureConverter != nil {
		t.Fatal("a nil codec set converters")
	}
}
