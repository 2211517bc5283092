package kraftcloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

const (
	testToken = "kc-test-token-4f1d9a7c"
	apiPrefix = "/v1"
	testUUID  = "7bece402-c36f-457f-a165-0e2d63f1db53"
	testUUID2 = "d6bb5ad2-402e-4f8d-981d-caf52110426e"
)

// newTestClient serves handler under <server>/v1, after checking that every
// request carries the bearer token and the expected headers.
func newTestClient(t *testing.T, handler http.HandlerFunc, opts ...Option) *Client {
	t.Helper()
	srv := apitest.Serve(t, apiPrefix, handler, apitest.Header("Authorization", "Bearer "+testToken))
	base := []Option{WithBaseURL(srv), WithToken(testToken), WithClock(apitest.Clock), WithObserver(apitest.ListedRoutes(t))}
	c, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string // substring of the error
	}{
		{"no token", nil, "an API token is required"},
		{"empty token", []Option{WithToken("")}, "KRAFTCLOUD_TOKEN"},
		{"token with a newline", []Option{WithToken("leaky-token-value\n")}, "trailing newline"},
		{"token with a space", []Option{WithToken("leaky token-value")}, "spaces or control characters"},
		// apihttp's tests cover the other ways a base URL can be wrong.
		{"base URL with user info", []Option{WithToken(testToken), WithBaseURL("https://user:pw@example.com/v1")}, "kraftcloud: invalid base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts...)
			apitest.CheckError(t, err, tt.want, "leaky", testToken, ":pw@")
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(WithToken(testToken), WithHTTPClient(nil), WithClock(nil), WithUserAgent(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "https://api.fra0.kraft.cloud/v1" || c.api.UserAgent != "cloudflow" || c.api.HTTPClient == nil || c.api.Now == nil {
		t.Errorf("defaults: base %q ua %q", c.BaseURL(), c.api.UserAgent)
	}
	if c.api.HTTPClient.Timeout != 0 {
		t.Errorf("default HTTP client timeout %v: requests are bounded by their context instead", c.api.HTTPClient.Timeout)
	}
	for name, svc := range map[string]any{
		"Instances": c.Instances, "ServiceGroups": c.ServiceGroups, "Volumes": c.Volumes, "Autoscale": c.Autoscale,
	} {
		if reflect.ValueOf(svc).IsNil() {
			t.Errorf("service %s is nil", name)
		}
	}

	hc := &http.Client{}
	c, err = New(WithToken(testToken), WithBaseURL(" http://127.0.0.1:8787/v1/ "), WithHTTPClient(hc), WithUserAgent("test/1"))
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "http://127.0.0.1:8787/v1" || c.api.HTTPClient != hc || c.api.UserAgent != "test/1" {
		t.Errorf("options not applied: base %q ua %q", c.BaseURL(), c.api.UserAgent)
	}
}

func TestClientNeverPrintsTheToken(t *testing.T) {
	c, err := New(WithToken(testToken))
	if err != nil {
		t.Fatal(err)
	}
	apitest.CheckRedacted(t, *c, testToken, c.BaseURL())
}

func TestRequestHeaders(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("User-Agent"); got != "cloudflow-test" {
			t.Errorf("User-Agent = %q", got)
		}
		io.WriteString(w, `{"status":"success","data":{"instances":[]}}`)
	}, WithUserAgent("cloudflow-test"))
	if _, err := c.Instances.List(context.Background()); err != nil {
		t.Fatal(err)
	}

	c = newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("User-Agent"); got != "cloudflow" {
			t.Errorf("default User-Agent = %q", got)
		}
		if got := r.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("PUT with a body: Content-Type = %q", got)
		}
		io.WriteString(w, `{"status":"success","data":{"instances":[{"status":"success","uuid":"`+testUUID+`"}]}}`)
	})
	if _, err := c.Instances.Start(context.Background(), []StartRequest{{Ref: ByUUID(testUUID)}}); err != nil {
		t.Fatal(err)
	}
}

// roundTripFunc lets a test see the request the client hands to the transport.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestImplicitDeadline(t *testing.T) {
	var deadline time.Time
	var hasDeadline bool
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		deadline, hasDeadline = r.Context().Deadline()
		return &http.Response{
			StatusCode: 200,
			Header:     http.Header{},
			Body:       io.NopCloser(strings.NewReader(`{"status":"success","data":{"instances":[{"status":"success","uuid":"u"}]}}`)),
		}, nil
	})}
	c, err := New(WithToken(testToken), WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	within := func(name string, want time.Duration) {
		t.Helper()
		if !hasDeadline {
			t.Fatalf("%s: request has no deadline", name)
		}
		if got := time.Until(deadline); got > want || got < want-10*time.Second {
			t.Errorf("%s: deadline in %v, want about %v", name, got, want)
		}
	}
	ctx := context.Background()

	if _, err := c.Instances.Get(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	within("no server wait", 10*time.Second)

	if _, err := c.Instances.Start(ctx, []StartRequest{{Ref: ByName("a"), WaitTimeoutMs: 1000}, {Ref: ByName("b"), WaitTimeoutMs: 90_000}}); err != nil {
		t.Fatal(err)
	}
	within("start waiting 90s", 100*time.Second)

	if _, err := c.Instances.Wait(ctx, []WaitRequest{{Ref: ByName("a"), State: StateRunning, TimeoutMs: 120_000}}); err != nil {
		t.Fatal(err)
	}
	within("wait 120s", 130*time.Second)

	mine, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	want, _ := mine.Deadline()
	if _, err := c.Instances.Get(mine, "u"); err != nil {
		t.Fatal(err)
	}
	if !deadline.Equal(want) {
		t.Errorf("the caller's deadline %v was replaced by %v", want, deadline)
	}
}

func TestAPIErrors(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	tests := []struct {
		name          string
		single        bool // a local-scope call (StartOne) rather than a batch (Start)
		status        int
		header        map[string]string
		body          string
		want          APIError // Method and Path are filled in below
		notFound      bool
		alreadyExists bool
		wantString    string // the whole Error(), when set
		wantInString  []string
	}{
		{
			name:       "401 envelope from the reference",
			status:     401,
			body:       `{"status":"error","errors":[{"status":401}]}`,
			want:       APIError{StatusCode: 401, Errors: []ErrorDetail{{Status: 401}}},
			wantString: "kraftcloud: PUT /v1/instances/start: 401 Unauthorized",
		},
		{
			name:   "error envelope with message, request ID and Retry-After seconds",
			status: 429,
			header: map[string]string{"Retry-After": "7", "X-Request-Id": "req-1"},
			body:   `{"status":"error","message":"Too many requests","errors":[{"status":429,"message":"rate limited"}]}`,
			want: APIError{StatusCode: 429, Message: "Too many requests", Errors: []ErrorDetail{{Status: 429, Message: "rate limited"}},
				RequestID: "req-1", RetryAfter: 7 * time.Second},
			wantString: "kraftcloud: PUT /v1/instances/start: 429 Too Many Requests: Too many requests (request_id req-1, retry after 7s)",
		},
		{
			name:   "message taken from errors when the envelope has none",
			status: 400,
			body:   `{"status":"error","errors":[{"status":400,"message":"unknown parameter 'foo'"}]}`,
			want:   APIError{StatusCode: 400, Message: "unknown parameter 'foo'", Errors: []ErrorDetail{{Status: 400, Message: "unknown parameter 'foo'"}}},
		},
		{
			name:   "single object: item code and message under 404",
			single: true,
			status: 404,
			body: `{"status":"error","message":"Failed to perform all operations","data":{"instances":[
				{"status":"error","uuid":"` + testUUID + `","message":"No instance with UUID '` + testUUID + `'","error":8}]}}`,
			want:         APIError{StatusCode: 404, Code: ErrCodeNotFound, Message: "No instance with UUID '" + testUUID + "'"},
			notFound:     true,
			wantInString: []string{"404 Not Found: No instance with UUID", "(code 8)"},
		},
		{
			name:          "single object: already exists",
			single:        true,
			status:        409,
			body:          `{"status":"error","data":{"instances":[{"status":"error","name":"web","message":"exists","error":10}]}}`,
			want:          APIError{StatusCode: 409, Code: ErrCodeAlreadyExists, Message: "exists"},
			alreadyExists: true,
		},
		{
			name:   "batch: an empty items array is no answer",
			status: 400,
			body:   `{"status":"error","message":"Failed to perform all operations","data":{"instances":[]}}`,
			want:   APIError{StatusCode: 400, Message: "Failed to perform all operations"},
		},
		{
			name:     "batch: items of another collection are no answer",
			status:   404,
			body:     `{"status":"error","data":{"volumes":[{"status":"error","name":"v","message":"No volume with name 'v'","error":8}]}}`,
			want:     APIError{StatusCode: 404},
			notFound: true,
		},
		{
			name:   "batch: an oversized body is cut at 64 KiB in the message",
			status: 500,
			body:   `{"status":"error","data":{"instances":[` + strings.Repeat(" ", 100<<10),
			want:   APIError{StatusCode: 500, Message: `{"status":"error","data":{"instances":[`},
		},
		{
			name:   "503 with Retry-After date",
			status: 503,
			header: map[string]string{"Retry-After": apitest.Now.Add(30 * time.Second).Format(http.TimeFormat)},
			body:   `{"status":"error","message":"metro busy"}`,
			want:   APIError{StatusCode: 503, Message: "metro busy", RetryAfter: 30 * time.Second},
		},
		{
			name:       "non-JSON body",
			status:     502,
			body:       "\n  <html>bad gateway</html>\n",
			want:       APIError{StatusCode: 502, Message: "<html>bad gateway</html>"},
			wantString: "kraftcloud: PUT /v1/instances/start: 502 Bad Gateway: <html>bad gateway</html>",
		},
		{
			name:   "JSON of another shape",
			status: 500,
			body:   `{"oops":"boom"}`,
			want:   APIError{StatusCode: 500, Message: `{"oops":"boom"}`},
		},
		{
			name:   "oversized body is cut at 64 KiB",
			status: 500,
			body:   big,
			want:   APIError{StatusCode: 500, Message: big[:64<<10]},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer := &apitest.Answer{Status: tt.status, Header: tt.header, Body: tt.body}
			c := newTestClient(t, answer.ServeHTTP)
			want := tt.want
			want.Method = http.MethodPut
			var res any
			var err error
			if tt.single {
				res, err = c.Instances.StartOne(context.Background(), testUUID, 0)
				want.Path = apiPrefix + "/instances/" + testUUID + "/start"
			} else {
				res, err = c.Instances.Start(context.Background(), []StartRequest{{Ref: ByUUID(testUUID)}})
				want.Path = apiPrefix + "/instances/start"
			}
			if !reflect.ValueOf(res).IsNil() {
				t.Errorf("result %+v alongside an error", res)
			}
			apitest.CheckAPIError(t, err, want)
			if IsNotFound(err) != tt.notFound || IsAlreadyExists(err) != tt.alreadyExists {
				t.Errorf("IsNotFound = %v, IsAlreadyExists = %v", IsNotFound(err), IsAlreadyExists(err))
			}
			apitest.CheckMessage(t, err, tt.wantString, tt.wantInString...)
			apitest.NotShown(t, "error", err.Error(), testToken)
			answer.CheckHits(t, 1)
		})
	}
}

func TestIsNotFoundIsAlreadyExistsWrapped(t *testing.T) {
	wrap := func(e *APIError) error { return fmt.Errorf("activity: %w", e) }
	if !IsNotFound(wrap(&APIError{StatusCode: 404})) || !IsNotFound(wrap(&APIError{StatusCode: 200, Code: 8})) ||
		IsNotFound(wrap(&APIError{StatusCode: 409})) || IsNotFound(errors.New("404")) || IsNotFound(nil) {
		t.Error("IsNotFound is wrong")
	}
	if !IsAlreadyExists(wrap(&APIError{StatusCode: 409})) || !IsAlreadyExists(wrap(&APIError{StatusCode: 200, Code: 10})) ||
		IsAlreadyExists(wrap(&APIError{StatusCode: 404, Code: 8})) || IsAlreadyExists(nil) {
		t.Error("IsAlreadyExists is wrong")
	}
}

// partialInstances is the reference's partial-success example.
const partialInstances = `{
	"status": "partial_success",
	"message": "Failed to perform all operations",
	"data": {"instances": [
		{"status": "error", "uuid": "3b5b4c36-2c9b-46e4-80c6-7e5b561938c3",
		 "message": "No instance with UUID '3b5b4c36-2c9b-46e4-80c6-7e5b561938c3'", "error": 8},
		{"status": "success", "uuid": "d7354fc2-8ada-4376-b06f-6385cdc460c5", "name": "web", "state": "running"}
	]}
}`

func TestBatchPartialSuccessIsData(t *testing.T) {
	c := newTestClient(t, apitest.Respond(http.StatusOK, partialInstances))
	ctx := context.Background()
	refs := []Ref{ByUUID("3b5b4c36-2c9b-46e4-80c6-7e5b561938c3"), ByName("web")}
	calls := map[string]func() (*InstancesResult, error){
		"Status": func() (*InstancesResult, error) { return c.Instances.Status(ctx, refs) },
		"Start": func() (*InstancesResult, error) {
			return c.Instances.Start(ctx, []StartRequest{{Ref: refs[0]}, {Ref: refs[1]}})
		},
		"Stop": func() (*InstancesResult, error) {
			return c.Instances.Stop(ctx, []StopRequest{{Ref: refs[0]}, {Ref: refs[1]}})
		},
		"Delete": func() (*InstancesResult, error) { return c.Instances.Delete(ctx, refs) },
		"Wait": func() (*InstancesResult, error) {
			return c.Instances.Wait(ctx, []WaitRequest{{Ref: refs[0]}, {Ref: refs[1]}})
		},
	}
	want := &InstancesResult{
		Status:  StatusPartialSuccess,
		Message: "Failed to perform all operations",
		Instances: []Instance{
			{ItemStatus: ItemStatus{Status: StatusError, Message: "No instance with UUID '3b5b4c36-2c9b-46e4-80c6-7e5b561938c3'", Error: ErrCodeNotFound},
				UUID: "3b5b4c36-2c9b-46e4-80c6-7e5b561938c3"},
			{ItemStatus: ItemStatus{Status: StatusSuccess}, UUID: "d7354fc2-8ada-4376-b06f-6385cdc460c5", Name: "web", State: StateRunning},
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			got, err := call()
			if err != nil {
				t.Fatalf("partial success must not be an error: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("result = %+v\nwant     %+v", got, want)
			}
			failed := got.Failed()
			if len(failed) != 1 || failed[0].Error != ErrCodeNotFound || failed[0].OK() || !got.Instances[1].OK() {
				t.Errorf("Failed() = %+v", failed)
			}
		})
	}
}

// allFailed is a batch in which every item failed, each for its own reason,
// answered outside 2xx: the first item's code must not stand for the others.
func allFailed(collection string) string {
	return `{"status":"error","message":"Failed to perform all operations",
	"errors":[{"status":400,"message":"Failed to perform all operations"}],
	"data":{"` + collection + `":[
		{"status":"error","name":"web-ghost","message":"No object with name 'web-ghost'","error":8},
		{"status":"error","name":"web-1","uuid":"` + testUUID + `","message":"'web-1' is already running","error":11},
		{"status":"error","name":"web-2","message":"try again","error":12}
	]}}`
}

// Every batch call, of every kind of object, decodes its items whatever the
// HTTP status: a batch in which every item failed is data, each item with
// its own code and message.
func TestBatchAllFailedOutside2xxIsData(t *testing.T) {
	ctx := context.Background()
	refs := []Ref{ByName("web-ghost"), ByName("web-1"), ByName("web-2")}
	calls := map[string]struct {
		collection string
		call       func(c *Client) (batchOutcome, error)
	}{
		"Instances.Status": {"instances", func(c *Client) (batchOutcome, error) {
			return instancesOutcome(c.Instances.Status(ctx, refs))
		}},
		"Instances.Start": {"instances", func(c *Client) (batchOutcome, error) {
			return instancesOutcome(c.Instances.Start(ctx, []StartRequest{{Ref: refs[0]}, {Ref: refs[1], WaitTimeoutMs: 100}, {Ref: refs[2]}}))
		}},
		"Instances.Stop": {"instances", func(c *Client) (batchOutcome, error) {
			return instancesOutcome(c.Instances.Stop(ctx, []StopRequest{{Ref: refs[0]}, {Ref: refs[1]}, {Ref: refs[2]}}))
		}},
		"Instances.Delete": {"instances", func(c *Client) (batchOutcome, error) {
			return instancesOutcome(c.Instances.Delete(ctx, refs))
		}},
		"Instances.Wait": {"instances", func(c *Client) (batchOutcome, error) {
			return instancesOutcome(c.Instances.Wait(ctx, []WaitRequest{{Ref: refs[0]}, {Ref: refs[1]}, {Ref: refs[2], State: StateRunning, TimeoutMs: 10}}))
		}},
		"Volumes.Status": {"volumes", func(c *Client) (batchOutcome, error) {
			return volumesOutcome(c.Volumes.Status(ctx, refs))
		}},
		"Volumes.Delete": {"volumes", func(c *Client) (batchOutcome, error) {
			return volumesOutcome(c.Volumes.Delete(ctx, refs))
		}},
		"Volumes.Attach": {"volumes", func(c *Client) (batchOutcome, error) {
			return volumesOutcome(c.Volumes.Attach(ctx, []VolumeAttachRequest{
				{Ref: refs[0], AttachTo: ByName("i"), At: "/a"}, {Ref: refs[1], AttachTo: ByName("i"), At: "/b"}, {Ref: refs[2], AttachTo: ByName("i"), At: "/c"}}))
		}},
		"Volumes.Detach": {"volumes", func(c *Client) (batchOutcome, error) {
			return volumesOutcome(c.Volumes.Detach(ctx, []VolumeDetachRequest{{Ref: refs[0]}, {Ref: refs[1]}, {Ref: refs[2]}}))
		}},
		"ServiceGroups.Status": {"service_groups", func(c *Client) (batchOutcome, error) {
			return groupsOutcome(c.ServiceGroups.Status(ctx, refs))
		}},
		"ServiceGroups.Delete": {"service_groups", func(c *Client) (batchOutcome, error) {
			return groupsOutcome(c.ServiceGroups.Delete(ctx, refs))
		}},
	}
	want := batchOutcome{Status: StatusError, Message: "Failed to perform all operations", Items: []ItemStatus{
		{Status: StatusError, Message: "No object with name 'web-ghost'", Error: ErrCodeNotFound},
		{Status: StatusError, Message: "'web-1' is already running", Error: ErrCodeInvalidArgument},
		{Status: StatusError, Message: "try again", Error: ErrCodeUnavailable},
	}}
	for name, tt := range calls {
		for _, status := range []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable} {
			t.Run(fmt.Sprintf("%s/%d", name, status), func(t *testing.T) {
				c := newTestClient(t, apitest.Respond(status, allFailed(tt.collection)))
				got, err := tt.call(c)
				if err != nil {
					t.Fatalf("a batch whose items all failed must be data, not an error: %v", err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("result = %+v\nwant     %+v", got, want)
				}
			})
		}
	}
}

// batchOutcome is what every XxxResult says, for comparing them alike.
type batchOutcome struct {
	Status, Message string
	Items           []ItemStatus
}

func outcomeOf[T statusItem](status, message string, items []T) batchOutcome {
	out := batchOutcome{Status: status, Message: message}
	for _, it := range items {
		out.Items = append(out.Items, it.itemStatus())
	}
	return out
}

func instancesOutcome(r *InstancesResult, err error) (batchOutcome, error) {
	if err != nil {
		return batchOutcome{}, err
	}
	return outcomeOf(r.Status, r.Message, r.Instances), nil
}

func volumesOutcome(r *VolumesResult, err error) (batchOutcome, error) {
	if err != nil {
		return batchOutcome{}, err
	}
	return outcomeOf(r.Status, r.Message, r.Volumes), nil
}

func groupsOutcome(r *ServiceGroupsResult, err error) (batchOutcome, error) {
	if err != nil {
		return batchOutcome{}, err
	}
	return outcomeOf(r.Status, r.Message, r.ServiceGroups), nil
}

// A batch of a thousand failed items, far beyond the 64 KiB an error body is
// read to, is decoded whole.
func TestBatchAllFailedLargeAnswer(t *testing.T) {
	const n = 1000
	var b strings.Builder
	b.WriteString(`{"status":"error","message":"Failed to perform all operations","data":{"instances":[`)
	reqs := make([]StartRequest, n)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"status":"error","name":"web-%d","message":"No instance with name 'web-%d'","error":8}`, i, i)
		reqs[i] = StartRequest{Ref: ByName(fmt.Sprintf("web-%d", i))}
	}
	b.WriteString(`]}}`)
	if b.Len() < 64<<10 {
		t.Fatalf("the answer is only %d bytes", b.Len())
	}
	c := newTestClient(t, apitest.Respond(http.StatusNotFound, b.String()))
	res, err := c.Instances.Start(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Instances) != n || res.Instances[n-1].Name != fmt.Sprintf("web-%d", n-1) || res.Instances[n-1].Error != ErrCodeNotFound {
		t.Errorf("%d items decoded, last %+v", len(res.Instances), res.Instances[len(res.Instances)-1])
	}
}

func TestBatchAllFailedUnder200IsData(t *testing.T) {
	c := newTestClient(t, apitest.Respond(http.StatusOK, `{"status":"error","message":"Failed to perform all operations",
		"data":{"volumes":[{"status":"error","name":"gone","message":"No volume with name 'gone'","error":8}]}}`))
	res, err := c.Volumes.Delete(context.Background(), []Ref{ByName("gone")})
	if err != nil {
		t.Fatalf("items under 200 are data: %v", err)
	}
	if res.Status != StatusError || len(res.Failed()) != 1 || res.Failed()[0].Name != "gone" {
		t.Errorf("result = %+v", res)
	}
	if (*VolumesResult)(nil).Failed() != nil || (*InstancesResult)(nil).Failed() != nil || (*ServiceGroupsResult)(nil).Failed() != nil {
		t.Error("Failed of a nil result should be nil")
	}
}

func TestErrorEnvelopeWithoutItemsUnder200(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "req-7")
		io.WriteString(w, `{"status":"error","message":"internal hiccup"}`)
	})
	_, err := c.Instances.Delete(context.Background(), []Ref{ByName("a")})
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want an *APIError", err)
	}
	want := APIError{StatusCode: 200, Message: "internal hiccup", RequestID: "req-7", Method: "DELETE", Path: "/v1/instances"}
	if !reflect.DeepEqual(*apiErr, want) {
		t.Errorf("APIError = %+v, want %+v", *apiErr, want)
	}
	if _, err := c.Instances.List(context.Background()); !errors.As(err, &apiErr) {
		t.Errorf("List: err = %v, want an *APIError", err)
	}
}

func TestSingleObjectItemErrorUnder200(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		collection string
		call       func(c *Client) (any, error)
		method     string
		path       string
	}{
		{"Instances.Create", "instances", func(c *Client) (any, error) {
			return c.Instances.Create(ctx, &InstanceCreateRequest{Image: "nginx:latest"})
		}, "POST", "/v1/instances"},
		{"Instances.Get", "instances", func(c *Client) (any, error) { return c.Instances.Get(ctx, testUUID) }, "GET", "/v1/instances/" + testUUID},
		{"Instances.StartOne", "instances", func(c *Client) (any, error) { return c.Instances.StartOne(ctx, testUUID, 0) }, "PUT", "/v1/instances/" + testUUID + "/start"},
		{"Instances.StopOne", "instances", func(c *Client) (any, error) { return c.Instances.StopOne(ctx, testUUID, false, 0) }, "PUT", "/v1/instances/" + testUUID + "/stop"},
		{"Instances.DeleteOne", "instances", func(c *Client) (any, error) { return c.Instances.DeleteOne(ctx, testUUID) }, "DELETE", "/v1/instances/" + testUUID},
		{"ServiceGroups.Create", "service_groups", func(c *Client) (any, error) {
			return c.ServiceGroups.Create(ctx, &ServiceGroupCreateRequest{Services: []Service{{Port: 443}}})
		}, "POST", "/v1/services"},
		{"ServiceGroups.Get", "service_groups", func(c *Client) (any, error) { return c.ServiceGroups.Get(ctx, testUUID) }, "GET", "/v1/services/" + testUUID},
		{"ServiceGroups.DeleteOne", "service_groups", func(c *Client) (any, error) { return c.ServiceGroups.DeleteOne(ctx, testUUID) }, "DELETE", "/v1/services/" + testUUID},
		{"Volumes.Create", "volumes", func(c *Client) (any, error) {
			return c.Volumes.Create(ctx, &VolumeCreateRequest{SizeMB: 100})
		}, "POST", "/v1/volumes"},
		{"Volumes.Get", "volumes", func(c *Client) (any, error) { return c.Volumes.Get(ctx, testUUID) }, "GET", "/v1/volumes/" + testUUID},
		{"Volumes.DeleteOne", "volumes", func(c *Client) (any, error) { return c.Volumes.DeleteOne(ctx, testUUID) }, "DELETE", "/v1/volumes/" + testUUID},
		{"Autoscale.Get", "autoscale_configs", func(c *Client) (any, error) { return c.Autoscale.Get(ctx, testUUID) }, "GET", "/v1/services/" + testUUID + "/autoscale"},
		{"Autoscale.Create", "autoscale_configs", func(c *Client) (any, error) {
			return c.Autoscale.Create(ctx, testUUID, &AutoscaleConfigRequest{})
		}, "POST", "/v1/services/" + testUUID + "/autoscale"},
		{"Autoscale.Delete", "autoscale_configs", func(c *Client) (any, error) { return c.Autoscale.Delete(ctx, testUUID) }, "DELETE", "/v1/services/" + testUUID + "/autoscale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", "req-9")
				io.WriteString(w, `{"status":"error","message":"Failed to perform all operations","data":{"`+tt.collection+`":[
					{"status":"error","uuid":"`+testUUID+`","message":"No object with UUID '`+testUUID+`'","error":8}]}}`)
			})
			got, err := tt.call(c)
			if !reflect.ValueOf(got).IsNil() {
				t.Errorf("result %+v alongside an error", got)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want an *APIError", err)
			}
			want := APIError{StatusCode: 200, Code: ErrCodeNotFound, Message: "No object with UUID '" + testUUID + "'",
				RequestID: "req-9", Method: tt.method, Path: tt.path}
			if !reflect.DeepEqual(*apiErr, want) {
				t.Errorf("APIError = %+v\nwant       %+v", *apiErr, want)
			}
			if !IsNotFound(err) {
				t.Error("IsNotFound = false for item code 8")
			}
		})
	}
}

func TestSingleObjectWithoutItems(t *testing.T) {
	c := newTestClient(t, apitest.Respond(http.StatusOK, `{"status":"success","data":{"instances":[]}}`))
	_, err := c.Instances.Get(context.Background(), testUUID)
	var apiErr *APIError
	if err == nil || errors.As(err, &apiErr) || !strings.Contains(err.Error(), "response has no instances") {
		t.Errorf("err = %v, want a protocol error", err)
	}
	c = newTestClient(t, apitest.Respond(http.StatusOK, ``))
	if _, err := c.Volumes.DeleteOne(context.Background(), testUUID); err == nil || !strings.Contains(err.Error(), "response has no volumes") {
		t.Errorf("empty body: err = %v", err)
	}
}

func TestListEmptyIsNotNil(t *testing.T) {
	c := newTestClient(t, apitest.Respond(http.StatusOK, `{"status":"success","data":{}}`))
	got, err := c.Instances.List(context.Background())
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("List = %#v, %v; want an empty slice", got, err)
	}
}

func TestNoRetry(t *testing.T) {
	var hits atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	if _, err := c.Instances.Create(context.Background(), &InstanceCreateRequest{Image: "nginx:latest"}); err == nil {
		t.Fatal("want an error")
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("%d requests, want exactly 1", n)
	}
}

func TestTransportErrors(t *testing.T) {
	c := newTestClient(t, apitest.Respond(http.StatusOK, `{"status":"success","data":{"instances":[`))
	if _, err := c.Instances.List(context.Background()); err == nil || !strings.Contains(err.Error(), "decoding response") {
		t.Errorf("truncated JSON: err = %v", err)
	}
	c = newTestClient(t, apitest.Respond(http.StatusOK, `{"status":"success","data":{"instances":{"uuid":"x"}}}`))
	if _, err := c.Instances.List(context.Background()); err == nil || !strings.Contains(err.Error(), `decoding "instances"`) {
		t.Errorf("items not an array: err = %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c = newTestClient(t, apitest.MustNotCall(t))
	if _, err := c.Instances.List(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: err = %v, want context.Canceled", err)
	}

	c, err := New(WithToken(testToken), WithBaseURL("http://127.0.0.1:1/v1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Instances.Get(context.Background(), testUUID)
	if err == nil || !strings.Contains(err.Error(), "GET /v1/instances/"+testUUID) {
		t.Errorf("connection refused: err = %v", err)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		t.Error("a transport error must not be an *APIError")
	}
	if strings.Contains(err.Error(), testToken) {
		t.Error("error leaks the token")
	}
}

func TestArgumentsValidatedBeforeAnyRequest(t *testing.T) {
	c := newTestClient(t, apitest.MustNotCall(t))
	ctx := context.Background()
	ptr := func(n int) *int { return &n }
	create := func(mod func(*InstanceCreateRequest)) func() error {
		return func() error {
			r := &InstanceCreateRequest{Image: "nginx:latest"}
			mod(r)
			_, err := c.Instances.Create(ctx, r)
			return err
		}
	}
	apitest.CheckArgErrors(t, ErrInvalidArgument, "kraftcloud: invalid argument: ", []apitest.ArgCase{
		// Instances.Create
		{Name: "create nil", Call: func() error { _, err := c.Instances.Create(ctx, nil); return err }, Want: "nil"},
		{Name: "create without image", Call: create(func(r *InstanceCreateRequest) { r.Image = " " }), Want: "image is required"},
		{Name: "create bad name", Call: create(func(r *InstanceCreateRequest) { r.Name = "web_1" }), Want: `name "web_1": label 1`},
		{Name: "create negative memory", Call: create(func(r *InstanceCreateRequest) { r.MemoryMB = -1 }), Want: "memory_mb -1 is negative"},
		{Name: "create negative vcpus", Call: create(func(r *InstanceCreateRequest) { r.VCPUs = -2 }), Want: "vcpus"},
		{Name: "create negative replicas", Call: create(func(r *InstanceCreateRequest) { r.Replicas = -1 }), Want: "replicas"},
		{Name: "create negative wait", Call: create(func(r *InstanceCreateRequest) { r.WaitTimeoutMs = -1 }), Want: "wait_timeout_ms"},
		{Name: "create empty service group", Call: create(func(r *InstanceCreateRequest) { r.ServiceGroup = &InstanceServiceGroupRequest{} }), Want: "service_group: set a uuid or name"},
		{Name: "create service group uuid and name", Call: create(func(r *InstanceCreateRequest) {
			r.ServiceGroup = &InstanceServiceGroupRequest{UUID: testUUID, Name: "sg"}
		}), Want: "at most one of uuid and name"},
		{Name: "create service group uuid and services", Call: create(func(r *InstanceCreateRequest) {
			r.ServiceGroup = &InstanceServiceGroupRequest{UUID: testUUID, Services: []Service{{Port: 443}}}
		}), Want: "services may only be given for a new group"},
		{Name: "create service group bad name", Call: create(func(r *InstanceCreateRequest) {
			r.ServiceGroup = &InstanceServiceGroupRequest{Name: "-sg"}
		}), Want: "service_group.name"},
		{Name: "create service group bad port", Call: create(func(r *InstanceCreateRequest) {
			r.ServiceGroup = &InstanceServiceGroupRequest{Services: []Service{{Port: 443}, {Port: 70000}}}
		}), Want: "service_group.services[1].port 70000"},
		{Name: "create volume without mount point", Call: create(func(r *InstanceCreateRequest) {
			r.Volumes = []InstanceVolumeRequest{{SizeMB: 10}}
		}), Want: "volumes[0].at (the mount point) is required"},
		{Name: "create volume relative mount point", Call: create(func(r *InstanceCreateRequest) {
			r.Volumes = []InstanceVolumeRequest{{UUID: testUUID, At: "/data"}, {Name: "v", At: "data"}}
		}), Want: `volumes[1].at "data" must be an absolute path`},
		{Name: "create volume of nothing", Call: create(func(r *InstanceCreateRequest) {
			r.Volumes = []InstanceVolumeRequest{{At: "/data"}}
		}), Want: "volumes[0]: set a uuid or name"},
		{Name: "create volume uuid and size", Call: create(func(r *InstanceCreateRequest) {
			r.Volumes = []InstanceVolumeRequest{{UUID: testUUID, SizeMB: 5, At: "/data"}}
		}), Want: "size_mb is only for a new volume"},
		{Name: "create volume bad name", Call: create(func(r *InstanceCreateRequest) {
			r.Volumes = []InstanceVolumeRequest{{Name: "a..b", SizeMB: 5, At: "/data"}}
		}), Want: "volumes[0].name"},
		{Name: "create negative cooldown", Call: create(func(r *InstanceCreateRequest) {
			r.ScaleToZero = &ScaleToZero{Policy: ScaleToZeroIdle, CooldownTimeMs: -5}
		}), Want: "scale_to_zero.cooldown_time_ms"},

		// Instance batches
		{Name: "status empty", Call: func() error { _, err := c.Instances.Status(ctx, nil); return err }, Want: "refs: at least one item"},
		{Name: "status ref with both", Call: func() error {
			_, err := c.Instances.Status(ctx, []Ref{ByName("a"), {UUID: testUUID, Name: "a"}})
			return err
		}, Want: "refs[1]: set exactly one of uuid and name, not both"},
		{Name: "status ref with neither", Call: func() error { _, err := c.Instances.Status(ctx, []Ref{{UUID: "  "}}); return err }, Want: "refs[0]: set exactly one"},
		{Name: "status bad name", Call: func() error { _, err := c.Instances.Status(ctx, []Ref{ByName("a."), ByName("b")}); return err }, Want: `refs[0].name "a."`},
		{Name: "start empty", Call: func() error { _, err := c.Instances.Start(ctx, []StartRequest{}); return err }, Want: "reqs: at least one"},
		{Name: "start bad ref", Call: func() error { _, err := c.Instances.Start(ctx, []StartRequest{{}}); return err }, Want: "reqs[0]: set exactly one"},
		{Name: "start negative wait", Call: func() error {
			_, err := c.Instances.Start(ctx, []StartRequest{{Ref: ByName("a"), WaitTimeoutMs: -1}})
			return err
		}, Want: "reqs[0].wait_timeout_ms -1 is negative"},
		{Name: "stop empty", Call: func() error { _, err := c.Instances.Stop(ctx, nil); return err }, Want: "reqs: at least one"},
		{Name: "stop negative drain", Call: func() error {
			_, err := c.Instances.Stop(ctx, []StopRequest{{Ref: ByName("a")}, {Ref: ByName("b"), DrainTimeoutMs: -1}})
			return err
		}, Want: "reqs[1].drain_timeout_ms"},
		{Name: "delete empty", Call: func() error { _, err := c.Instances.Delete(ctx, []Ref{}); return err }, Want: "refs: at least one"},
		{Name: "delete bad name", Call: func() error { _, err := c.Instances.Delete(ctx, []Ref{ByName("9lives")}); return err }, Want: "must start with a letter"},
		{Name: "wait empty", Call: func() error { _, err := c.Instances.Wait(ctx, nil); return err }, Want: "reqs: at least one"},
		{Name: "wait bad state", Call: func() error {
			_, err := c.Instances.Wait(ctx, []WaitRequest{{Ref: ByName("a"), State: "RUNNING"}})
			return err
		}, Want: `reqs[0].state "RUNNING" is not an instance state`},
		{Name: "wait negative timeout", Call: func() error {
			_, err := c.Instances.Wait(ctx, []WaitRequest{{Ref: ByName("a"), State: StateStopped, TimeoutMs: -1}})
			return err
		}, Want: "reqs[0].timeout_ms"},

		// Instance local scope
		{Name: "get without uuid", Call: func() error { _, err := c.Instances.Get(ctx, ""); return err }, Want: "instance UUID is required"},
		{Name: "get with a slash", Call: func() error { _, err := c.Instances.Get(ctx, "a/../../b"); return err }, Want: "URL path segment"},
		{Name: "get dot-dot", Call: func() error { _, err := c.Instances.Get(ctx, ".."); return err }, Want: "URL path segment"},
		{Name: "start one without uuid", Call: func() error { _, err := c.Instances.StartOne(ctx, " ", 0); return err }, Want: "instance UUID"},
		{Name: "start one negative wait", Call: func() error { _, err := c.Instances.StartOne(ctx, testUUID, -1); return err }, Want: "wait_timeout_ms"},
		{Name: "stop one without uuid", Call: func() error { _, err := c.Instances.StopOne(ctx, "", true, 0); return err }, Want: "instance UUID"},
		{Name: "stop one negative drain", Call: func() error { _, err := c.Instances.StopOne(ctx, testUUID, false, -1); return err }, Want: "drain_timeout_ms"},
		{Name: "delete one without uuid", Call: func() error { _, err := c.Instances.DeleteOne(ctx, ""); return err }, Want: "instance UUID"},

		// Service groups
		{Name: "sg create nil", Call: func() error { _, err := c.ServiceGroups.Create(ctx, nil); return err }, Want: "nil"},
		{Name: "sg create bad name", Call: func() error {
			_, err := c.ServiceGroups.Create(ctx, &ServiceGroupCreateRequest{Name: "web-", Services: []Service{{Port: 80}}})
			return err
		}, Want: "must end with a letter or digit"},
		{Name: "sg create port zero", Call: func() error {
			_, err := c.ServiceGroups.Create(ctx, &ServiceGroupCreateRequest{Services: []Service{{Port: 0}}})
			return err
		}, Want: "services[0].port 0"},
		{Name: "sg create bad destination port", Call: func() error {
			_, err := c.ServiceGroups.Create(ctx, &ServiceGroupCreateRequest{Services: []Service{{Port: 443, DestinationPort: -8}}})
			return err
		}, Want: "services[0].destination_port"},
		{Name: "sg create empty domain", Call: func() error {
			_, err := c.ServiceGroups.Create(ctx, &ServiceGroupCreateRequest{Services: []Service{{Port: 443}}, Domains: []DomainRequest{{Name: ""}}})
			return err
		}, Want: "domains[0].name is required"},
		{Name: "sg status empty", Call: func() error { _, err := c.ServiceGroups.Status(ctx, nil); return err }, Want: "refs"},
		{Name: "sg status bad ref", Call: func() error { _, err := c.ServiceGroups.Status(ctx, []Ref{{}}); return err }, Want: "refs[0]"},
		{Name: "sg get without uuid", Call: func() error { _, err := c.ServiceGroups.Get(ctx, ""); return err }, Want: "service group UUID"},
		{Name: "sg delete empty", Call: func() error { _, err := c.ServiceGroups.Delete(ctx, nil); return err }, Want: "refs"},
		{Name: "sg delete one without uuid", Call: func() error { _, err := c.ServiceGroups.DeleteOne(ctx, ""); return err }, Want: "service group UUID"},

		// Volumes
		{Name: "volume create nil", Call: func() error { _, err := c.Volumes.Create(ctx, nil); return err }, Want: "nil"},
		{Name: "volume create without size", Call: func() error { _, err := c.Volumes.Create(ctx, &VolumeCreateRequest{Name: "data"}); return err }, Want: "size_mb must be positive"},
		{Name: "volume create bad name", Call: func() error {
			_, err := c.Volumes.Create(ctx, &VolumeCreateRequest{Name: "da--ta", SizeMB: 10})
			return err
		}, Want: "consecutive hyphens"},
		{Name: "volume status empty", Call: func() error { _, err := c.Volumes.Status(ctx, nil); return err }, Want: "refs"},
		{Name: "volume get without uuid", Call: func() error { _, err := c.Volumes.Get(ctx, ""); return err }, Want: "volume UUID"},
		{Name: "volume delete bad ref", Call: func() error { _, err := c.Volumes.Delete(ctx, []Ref{{}}); return err }, Want: "refs[0]"},
		{Name: "volume delete one without uuid", Call: func() error { _, err := c.Volumes.DeleteOne(ctx, ""); return err }, Want: "volume UUID"},
		{Name: "attach empty", Call: func() error { _, err := c.Volumes.Attach(ctx, nil); return err }, Want: "reqs: at least one"},
		{Name: "attach without target", Call: func() error {
			_, err := c.Volumes.Attach(ctx, []VolumeAttachRequest{{Ref: ByName("v"), At: "/data"}})
			return err
		}, Want: "reqs[0].attach_to: set exactly one"},
		{Name: "attach without mount point", Call: func() error {
			_, err := c.Volumes.Attach(ctx, []VolumeAttachRequest{{Ref: ByName("v"), AttachTo: ByName("i")}})
			return err
		}, Want: "reqs[0].at"},
		{Name: "attach bad volume name", Call: func() error {
			_, err := c.Volumes.Attach(ctx, []VolumeAttachRequest{{Ref: ByName("v!"), AttachTo: ByName("i"), At: "/d"}})
			return err
		}, Want: `reqs[0].name "v!"`},
		{Name: "detach empty", Call: func() error { _, err := c.Volumes.Detach(ctx, nil); return err }, Want: "reqs: at least one"},
		{Name: "detach bad from", Call: func() error {
			_, err := c.Volumes.Detach(ctx, []VolumeDetachRequest{{Ref: ByUUID(testUUID), From: &Ref{}}})
			return err
		}, Want: "reqs[0].from: set exactly one"},

		// Autoscale
		{Name: "autoscale get without uuid", Call: func() error { _, err := c.Autoscale.Get(ctx, ""); return err }, Want: "service group UUID"},
		{Name: "autoscale create nil", Call: func() error { _, err := c.Autoscale.Create(ctx, testUUID, nil); return err }, Want: "nil"},
		{Name: "autoscale create without uuid", Call: func() error {
			_, err := c.Autoscale.Create(ctx, "", &AutoscaleConfigRequest{})
			return err
		}, Want: "service group UUID"},
		{Name: "autoscale min above max", Call: func() error {
			_, err := c.Autoscale.Create(ctx, testUUID, &AutoscaleConfigRequest{MinSize: ptr(3), MaxSize: ptr(2)})
			return err
		}, Want: "min_size 3 is greater than max_size 2"},
		{Name: "autoscale negative min", Call: func() error {
			_, err := c.Autoscale.Create(ctx, testUUID, &AutoscaleConfigRequest{MinSize: ptr(-1)})
			return err
		}, Want: "min_size -1"},
		{Name: "autoscale negative max", Call: func() error {
			_, err := c.Autoscale.Create(ctx, testUUID, &AutoscaleConfigRequest{MaxSize: ptr(-1)})
			return err
		}, Want: "max_size -1"},
		{Name: "autoscale negative warmup", Call: func() error {
			_, err := c.Autoscale.Create(ctx, testUUID, &AutoscaleConfigRequest{WarmupTimeMs: -1})
			return err
		}, Want: "warmup_time_ms"},
		{Name: "autoscale bad master", Call: func() error {
			_, err := c.Autoscale.Create(ctx, testUUID, &AutoscaleConfigRequest{Master: &Ref{UUID: testUUID, Name: "m"}})
			return err
		}, Want: "master: set exactly one"},
		{Name: "autoscale delete without uuid", Call: func() error { _, err := c.Autoscale.Delete(ctx, ""); return err }, Want: "service group UUID"},
	})
}
