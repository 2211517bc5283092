package kraftcloud

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

// fuzzCalls are the client's calls, one of each decoding path: a single
// item, a whole collection, a batch with per-item results, a server wait.
var fuzzCalls = []func(ctx context.Context, c *Client) (any, error){
	func(ctx context.Context, c *Client) (any, error) {
		return c.Instances.Get(ctx, "6a1b2c3d-0000-4000-8000-000000000001")
	},
	func(ctx context.Context, c *Client) (any, error) { return c.Instances.List(ctx) },
	func(ctx context.Context, c *Client) (any, error) {
		return c.Instances.Start(ctx, []StartRequest{{Ref: ByName("web-1")}, {Ref: ByName("web-2"), WaitTimeoutMs: 1000}})
	},
	func(ctx context.Context, c *Client) (any, error) {
		return c.Instances.Wait(ctx, []WaitRequest{{Ref: ByName("web-1"), State: "running", TimeoutMs: 1000}})
	},
	func(ctx context.Context, c *Client) (any, error) {
		return c.Instances.Create(ctx, &InstanceCreateRequest{Image: "nginx:latest", Name: "web-1"})
	},
	func(ctx context.Context, c *Client) (any, error) {
		return c.ServiceGroups.Delete(ctx, []Ref{ByName("web")})
	},
	func(ctx context.Context, c *Client) (any, error) {
		return c.Volumes.Get(ctx, "6a1b2c3d-0000-4000-8000-000000000002")
	},
}

// FuzzDecodeResponses: whatever a server answers (any status, any body,
// any Retry-After), no call panics; a call answers a value or an error;
// an *APIError carries the status that came; a single item that comes back
// never says "error".
func FuzzDecodeResponses(f *testing.F) {
	for _, s := range []struct {
		status int
		body   string
	}{
		{200, `{"status":"success","data":{"instances":[{"status":"success","uuid":"u1","name":"web-1","state":"running"}]}}`},
		{200, `{"status":"partial_success","data":{"instances":[{"status":"success","name":"web-1"},{"status":"error","name":"web-2","error":8,"message":"No instance with name 'web-2'"}]}}`},
		{400, `{"status":"error","message":"all failed","data":{"instances":[{"status":"error","name":"web-1","error":11,"message":"already running"},{"status":"error","name":"web-2","error":8,"message":"no such"}]}}`},
		{200, `{"status":"error","data":{"instances":[]}}`},
		{200, `{"status":"success","data":{"instances":null}}`},
		{200, `{"status":"success","data":{"instances":{"not":"a list"}}}`},
		{404, `{"status":"error","message":"not found","errors":[{"status":404,"message":"gone"}]}`},
		{429, `too many`},
		{503, ``},
		{200, `{"data":{"service_groups":[{"status":"error"}],"volumes":[{"status":"success","uuid":"v"}]}}`},
		{200, `[1,2,3]`},
		{204, ``},
	} {
		for call := range fuzzCalls {
			f.Add(uint16(s.status), "", []byte(s.body), uint8(call))
		}
	}
	f.Add(uint16(429), "2", []byte(`{"status":"error"}`), uint8(2))
	f.Add(uint16(503), "Wed, 21 Oct 2015 07:28:00 GMT", []byte(`{}`), uint8(0))
	f.Fuzz(func(t *testing.T, status uint16, retryAfter string, body []byte, call uint8) {
		code := 100 + int(status)%500
		c, err := New(WithBaseURL("http://kraftcloud.test/v1"), WithToken("fuzz-token"),
			WithHTTPClient(&http.Client{Transport: &apitest.Answer{Status: code, Header: map[string]string{"Retry-After": retryAfter}, Body: string(body)}}))
		if err != nil {
			t.Fatal(err)
		}
		v, err := fuzzCalls[int(call)%len(fuzzCalls)](context.Background(), c)
		if err == nil {
			if fuzzIsNil(v) {
				t.Fatalf("no value and no error for a %d answer", code)
			}
			if it, ok := v.(*Instance); ok && it.Status == StatusError {
				t.Fatalf("an item that failed came back as a value: %+v", it)
			}
			if r, ok := v.(*InstancesResult); ok {
				_ = r.Failed()
			}
			return
		}
		var apiErr *APIError
		isAPI := errors.As(err, &apiErr)
		if !isAPI {
			apiErr = &APIError{}
		}
		apitest.CheckAnswerError(t, err, "fuzz-token", code, isAPI, apiErr.StatusCode, apiErr.RetryAfter, apiErr.Message)
		_ = IsNotFound(err) || IsAlreadyExists(err)
	})
}

func fuzzIsNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Slice) && rv.IsNil()
}
