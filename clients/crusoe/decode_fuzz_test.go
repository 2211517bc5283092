package crusoe

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

const fuzzSecret = "ZnV6ei1zZWNyZXQta2V5LTAxMjM0NTY3ODk"

// fuzzCalls are the client's calls, one of each decoding path: a bare
// resource, a list, pages followed to the end, an operation started, an
// operation polled, a keyed answer.
var fuzzCalls = []func(ctx context.Context, c *Client) (any, error){
	func(ctx context.Context, c *Client) (any, error) { return c.VMs.Get(ctx, "", "vm-1") },
	func(ctx context.Context, c *Client) (any, error) { return c.Disks.List(ctx, "") },
	func(ctx context.Context, c *Client) (any, error) { return c.VMs.ListAll(ctx, "", nil) },
	func(ctx context.Context, c *Client) (any, error) {
		return c.Disks.Create(ctx, "", &DiskCreateRequest{Name: "d", Size: "10GiB", Type: "persistent-ssd", Location: "us-northcentral1-a"})
	},
	func(ctx context.Context, c *Client) (any, error) { return c.Operations.Get(ctx, "", FamilyVMs, "op-1") },
	func(ctx context.Context, c *Client) (any, error) {
		return c.VPCNetworks.Create(ctx, "", &VPCNetworkCreateRequest{Name: "n", CIDR: "10.0.0.0/16"})
	},
	func(ctx context.Context, c *Client) (any, error) { return c.VMs.Delete(ctx, "", "vm-1") },
}

// FuzzDecodeResponses: whatever a server answers (any status, any body,
// any Retry-After), no call panics; a call answers a value or an error; an
// *APIError carries the status that came; an operation says consistently
// whether it is done, failed (with a reason) or has a result.
func FuzzDecodeResponses(f *testing.F) {
	for _, s := range []struct {
		status int
		body   string
	}{
		{200, `{"id":"vm-1","name":"web","state":"STATE_RUNNING"}`},
		{200, `{"items":[{"id":"d1","name":"d"}]}`},
		{200, `{"items":[{"id":"vm-1"}],"next_page_token":"p2"}`},
		{200, `{"operation":{"operation_id":"op-1","state":"IN_PROGRESS"}}`},
		{200, `{"operation_id":"op-1","state":"SUCCEEDED","result":{"id":"vm-1","name":"web"}}`},
		{200, `{"operation_id":"op-1","state":"FAILED","result":{"code":409,"message":"rpc error: code = AlreadyExists desc = taken"}}`},
		{200, `{"operation_id":"op-1","state":"FAILED","result":"just text"}`},
		{200, `{"operation_id":"op-1","state":"FAILED"}`},
		{200, `{"network":{"id":"n1","name":"n"}}`},
		{200, `{"network":null}`},
		{404, `{"code":"404","error_id":"e1","message":"rpc error: code = NotFound desc = vm not found","reason":"NOT_FOUND"}`},
		{409, `{"code":409}`},
		{429, `slow down`},
		{500, ``},
		{200, `[]`},
	} {
		for call := range fuzzCalls {
			f.Add(uint16(s.status), "", []byte(s.body), uint8(call))
		}
	}
	f.Add(uint16(503), "3", []byte(`{"message":"busy"}`), uint8(0))
	f.Fuzz(func(t *testing.T, status uint16, retryAfter string, body []byte, call uint8) {
		code := 100 + int(status)%500
		c, err := New(WithBaseURL("http://crusoe.test/v1alpha5"), WithCredentials("fuzz-key-id", fuzzSecret),
			WithProjectID("5f1c2a3e-0d4b-4c8e-9a7f-6b5e4d3c2b1a"), WithHTTPClient(&http.Client{Transport: &apitest.Answer{Status: code, Header: map[string]string{"Retry-After": retryAfter}, Body: string(body)}}))
		if err != nil {
			t.Fatal(err)
		}
		v, err := fuzzCalls[int(call)%len(fuzzCalls)](context.Background(), c)
		if err == nil {
			if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
				t.Fatalf("no value and no error for a %d answer", code)
			}
			if op, ok := v.(*Operation); ok {
				checkOperation(t, op)
			}
			return
		}
		var apiErr *APIError
		isAPI := errors.As(err, &apiErr)
		if !isAPI {
			apiErr = &APIError{}
		}
		apitest.CheckAnswerError(t, err, fuzzSecret, code, isAPI, apiErr.StatusCode, apiErr.RetryAfter, apiErr.Message)
		_ = IsNotFound(err) || IsConflict(err)
	})
}

func checkOperation(t *testing.T, op *Operation) {
	t.Helper()
	failure := op.Failure()
	if (failure != nil) != (op.State == OperationFailed) {
		t.Fatalf("operation %q: failure %v", op.State, failure)
	}
	if failure != nil && failure.Message == "" {
		t.Fatalf("a failed operation without a reason: %+v", op)
	}
	if op.Done() != (op.State == OperationSucceeded || op.State == OperationFailed) {
		t.Fatalf("operation %q: done %v", op.State, op.Done())
	}
	var vm VM
	err := op.DecodeResult(&vm)
	if op.State != OperationSucceeded && err == nil {
		t.Fatalf("a %q operation decoded a result", op.State)
	}
}
