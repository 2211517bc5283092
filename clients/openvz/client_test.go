package openvz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

const (
	apiPrefix = "/v0.1"
	testCTID  = "54e21881-8620-4bb0-95f1-05f143973a6e"
	testJobID = "fa205b0e-3f3f-4e93-9bb0-d1e9c6467e4e"
)

var testNow = time.Date(2024, 1, 2, 15, 4, 5, 0, time.UTC)

func testClock() time.Time { return testNow }

// newTestClient serves handler under <server>/v0.1, after checking that every
// request carries the expected headers and no credentials.
func newTestClient(t *testing.T, handler http.HandlerFunc, opts ...Option) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		verifyRequest(t, r)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	base := []Option{WithBaseURL(srv.URL + apiPrefix), WithClock(testClock)}
	c, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func verifyRequest(t *testing.T, r *http.Request) {
	t.Helper()
	if got := r.Header.Get("Authorization"); got != "" {
		t.Errorf("%s %s: Authorization = %q, but the API has no auth", r.Method, r.URL.Path, got)
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		t.Errorf("%s %s: Accept = %q", r.Method, r.URL.Path, got)
	}
	if !strings.HasPrefix(r.URL.Path, apiPrefix+"/") {
		t.Errorf("path %q lacks the %s prefix", r.URL.Path, apiPrefix)
	}
	if r.ContentLength > 0 {
		if got := r.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("%s %s: Content-Type = %q", r.Method, r.URL.Path, got)
		}
	} else if got := r.Header.Get("Content-Type"); got != "" {
		t.Errorf("%s %s without a body carries Content-Type %q", r.Method, r.URL.Path, got)
	}
}

// respond answers with status and a JSON body.
func respond(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(WithHTTPClient(nil), WithClock(nil), WithUserAgent(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != DefaultBaseURL || DefaultBaseURL != "http://localhost:5000/v0.1" {
		t.Errorf("default base URL = %q", c.BaseURL())
	}
	if c.api.UserAgent != "cloudflow" || c.api.HTTPClient == nil || c.api.HTTPClient.Timeout != 60*time.Second || c.api.Now == nil {
		t.Errorf("defaults: ua %q, http client %+v", c.api.UserAgent, c.api.HTTPClient)
	}
	if c.Containers == nil || c.Jobs == nil {
		t.Error("a service is nil")
	}

	hc := &http.Client{}
	c, err = New(WithBaseURL(" http://127.0.0.1:8787/v0.1/ "), WithHTTPClient(hc), WithUserAgent("test/1"))
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "http://127.0.0.1:8787/v0.1" || c.api.HTTPClient != hc || c.api.UserAgent != "test/1" {
		t.Errorf("options not applied: base %q ua %q", c.BaseURL(), c.api.UserAgent)
	}
}

func TestNewValidatesBaseURL(t *testing.T) {
	// apihttp's tests cover the other ways a base URL can be wrong.
	for _, u := range []string{"localhost:5000/v0.1", "ftp://host/v0.1", "http://user:pw@host/v0.1"} {
		c, err := New(WithBaseURL(u))
		if err == nil || !strings.HasPrefix(err.Error(), "openvz: invalid base URL") {
			t.Errorf("New(%q) = %v, %v; want an invalid base URL error", u, c, err)
		}
		if err != nil && strings.Contains(err.Error(), ":pw@") {
			t.Errorf("error %q shows the password", err)
		}
	}
}

func TestRequestHeaders(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("User-Agent"); got != "cloudflow-test" {
			t.Errorf("User-Agent = %q", got)
		}
		io.WriteString(w, `{"message":"success","containers":[]}`)
	}, WithUserAgent("cloudflow-test"))
	if _, err := c.Containers.List(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAPIErrors(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	tests := []struct {
		name         string
		status       int
		header       map[string]string
		body         string
		want         APIError // Method and Path are filled in below
		notFound     bool
		duplicate    bool
		wantString   string // the whole Error(), when set
		wantInString []string
	}{
		{
			name:       "422 duplicate name",
			status:     422,
			body:       `{"code": 101, "message": "container with name ct100 already exists"}`,
			want:       APIError{StatusCode: 422, Code: CodeDuplicateName, Message: "container with name ct100 already exists"},
			duplicate:  true,
			wantString: "openvz: POST /v0.1/containers/: 422 Unprocessable Entity: container with name ct100 already exists (code 101)",
		},
		{
			name:   "400 code 100 with request ID",
			status: 400,
			header: map[string]string{"X-Request-Id": "req-1"},
			body:   `{"code": 100, "message": "field \"ostemplate\" is required"}`,
			want:   APIError{StatusCode: 400, Code: CodeInvalidRequest, Message: `field "ostemplate" is required`, RequestID: "req-1"},
			wantInString: []string{
				"400 Bad Request", `(code 100, request_id req-1)`,
			},
		},
		{
			name:       "500 code 200",
			status:     500,
			body:       `{"code": 200, "message": "internal error"}`,
			want:       APIError{StatusCode: 500, Code: CodeInternal, Message: "internal error"},
			wantString: "openvz: POST /v0.1/containers/: 500 Internal Server Error: internal error (code 200)",
		},
		{
			name:     "404",
			status:   404,
			body:     `{"code": 102, "message": "no such container"}`,
			want:     APIError{StatusCode: 404, Code: CodeNotFound, Message: "no such container"},
			notFound: true,
		},
		{
			name:   "code as a string",
			status: 400,
			body:   `{"code": "100", "message": "bad"}`,
			want:   APIError{StatusCode: 400, Code: 100, Message: "bad"},
		},
		{
			name:   "503 with Retry-After seconds",
			status: 503,
			header: map[string]string{"Retry-After": "7"},
			body:   `{"code": 200, "message": "busy"}`,
			want:   APIError{StatusCode: 503, Code: 200, Message: "busy", RetryAfter: 7 * time.Second},
		},
		{
			name:   "429 with Retry-After date",
			status: 429,
			header: map[string]string{"Retry-After": testNow.Add(30 * time.Second).Format(http.TimeFormat)},
			body:   `{"message": "slow down"}`,
			want:   APIError{StatusCode: 429, Message: "slow down", RetryAfter: 30 * time.Second},
		},
		{
			name:       "non-JSON body",
			status:     502,
			body:       "\n  <html>bad gateway</html>\n",
			want:       APIError{StatusCode: 502, Message: "<html>bad gateway</html>"},
			wantString: "openvz: POST /v0.1/containers/: 502 Bad Gateway: <html>bad gateway</html>",
		},
		{
			name:   "JSON of another shape",
			status: 500,
			body:   `{"oops":"boom"}`,
			want:   APIError{StatusCode: 500, Message: `{"oops":"boom"}`},
		},
		{
			name:   "empty body",
			status: 405,
			want:   APIError{StatusCode: 405},
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
			var hits atomic.Int32
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			job, err := c.Containers.Create(context.Background(), &ContainerCreateRequest{Name: "ct100", OSTemplate: "template1"})
			if job != nil {
				t.Errorf("job %+v alongside an error", job)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v (%T) is not an *APIError", err, err)
			}
			want := tt.want
			want.Method = http.MethodPost
			want.Path = apiPrefix + "/containers/"
			if !reflect.DeepEqual(*apiErr, want) {
				got := *apiErr
				if len(got.Message) > 200 {
					got.Message = got.Message[:200] + "..."
				}
				t.Errorf("APIError = %+v\nwant       %+v", got, want)
			}
			if IsNotFound(err) != tt.notFound || IsDuplicate(err) != tt.duplicate {
				t.Errorf("IsNotFound = %v, IsDuplicate = %v", IsNotFound(err), IsDuplicate(err))
			}
			if tt.wantString != "" && err.Error() != tt.wantString {
				t.Errorf("Error() = %q\nwant      %q", err, tt.wantString)
			}
			for _, s := range tt.wantInString {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Error() = %q, missing %q", err, s)
				}
			}
			if n := hits.Load(); n != 1 {
				t.Errorf("%d requests, want 1: the client must not retry", n)
			}
		})
	}
}

func TestIsNotFoundIsDuplicateWrapped(t *testing.T) {
	wrap := func(e *APIError) error { return fmt.Errorf("activity: %w", e) }
	if !IsNotFound(wrap(&APIError{StatusCode: 404})) || IsNotFound(wrap(&APIError{StatusCode: 422})) ||
		IsNotFound(errors.New("404")) || IsNotFound(nil) {
		t.Error("IsNotFound is wrong")
	}
	if !IsDuplicate(wrap(&APIError{StatusCode: 422})) || IsDuplicate(wrap(&APIError{StatusCode: 409})) ||
		IsDuplicate(wrap(&APIError{StatusCode: 400, Code: CodeDuplicateName})) || IsDuplicate(nil) {
		t.Error("IsDuplicate is wrong")
	}
}

// A 2xx answer whose code is not 0 holds an error, not a result.
func TestErrorCodeUnder200(t *testing.T) {
	c := newTestClient(t, respond(http.StatusOK, `{"message": "no such parameter", "code": 100}`))
	err := c.Containers.Update(context.Background(), testCTID, &ContainerParameters{CPUs: "2"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 200 || apiErr.Code != 100 || apiErr.Message != "no such parameter" ||
		apiErr.Method != "PATCH" || apiErr.Path != apiPrefix+"/containers/"+testCTID {
		t.Errorf("err = %#v", err)
	}
	// Code 0 is success.
	c = newTestClient(t, respond(http.StatusOK, `{"message": "success", "code": 0}`))
	if err := c.Containers.Update(context.Background(), testCTID, &ContainerParameters{CPUs: "2"}); err != nil {
		t.Errorf("code 0: %v", err)
	}
}

func TestMalformedAnswers(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name, body string
		call       func(c *Client) error
		want       string
	}{
		{"create without job_id", `{"message":"success"}`, func(c *Client) error {
			_, err := c.Containers.Create(ctx, &ContainerCreateRequest{Name: "ct100", OSTemplate: "t"})
			return err
		}, "openvz: POST /v0.1/containers/: response has no job_id"},
		{"get without container", `{"message":"success"}`, func(c *Client) error {
			_, err := c.Containers.Get(ctx, testCTID)
			return err
		}, "openvz: GET /v0.1/containers/" + testCTID + ": response has no container"},
		{"job without status", `{"message":"success"}`, func(c *Client) error {
			_, err := c.Jobs.Get(ctx, testJobID)
			return err
		}, "openvz: GET /v0.1/jobs/" + testJobID + ": response has no status"},
		{"list of another shape", `{"containers": {"id": "x"}}`, func(c *Client) error {
			_, err := c.Containers.List(ctx)
			return err
		}, "openvz: GET /v0.1/containers/: decoding containers"},
		{"truncated JSON", `{"container": `, func(c *Client) error {
			_, err := c.Containers.Get(ctx, testCTID)
			return err
		}, "decoding response"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, respond(http.StatusOK, tt.body))
			err := tt.call(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
			var apiErr *APIError
			if errors.As(err, &apiErr) {
				t.Errorf("a malformed answer is an *APIError: %v", err)
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	c, err := New(WithBaseURL("http://127.0.0.1:1/v0.1"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Containers.Get(context.Background(), testCTID)
	if err == nil || !strings.HasPrefix(err.Error(), "openvz: GET /v0.1/containers/"+testCTID+": ") {
		t.Errorf("err = %v", err)
	}

	srv := httptest.NewServer(apitest.MustNotCall(t))
	defer srv.Close()
	c, _ = New(WithBaseURL(srv.URL + apiPrefix))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Jobs.Get(ctx, testJobID); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: err = %v", err)
	}
}

func TestArgumentsValidatedBeforeAnyRequest(t *testing.T) {
	c := newTestClient(t, apitest.MustNotCall(t))
	ctx := context.Background()
	create := func(name, tmpl string) func() error {
		return func() error {
			_, err := c.Containers.Create(ctx, &ContainerCreateRequest{Name: name, OSTemplate: tmpl})
			return err
		}
	}
	update := func(p *ContainerParameters) func() error {
		return func() error { return c.Containers.Update(ctx, testCTID, p) }
	}
	tests := []struct {
		name string
		call func() error
		want string // substring of the error
	}{
		{"create nil", func() error { _, err := c.Containers.Create(ctx, nil); return err }, "nil"},
		{"create without name", create("", "template1"), "container name is required"},
		{"create name with a space", create("ct 100", "template1"), `container name "ct 100" holds " "`},
		{"create name with a slash", create("ct/100", "template1"), `holds "/"`},
		{"create name starting with a hyphen", create("-ct", "template1"), "must start with a letter or digit"},
		{"create name too long", create(strings.Repeat("a", 65), "template1"), "more than 64"},
		{"create without template", create("ct100", ""), "container ostemplate is required"},
		{"create template path", create("ct100", "../etc/passwd"), "container ostemplate"},
		{"create template too long", create("ct100", strings.Repeat("t", 129)), "more than 128"},

		{"get without id", func() error { _, err := c.Containers.Get(ctx, " "); return err }, "container ID is required"},
		{"get with a slash", func() error { _, err := c.Containers.Get(ctx, "a/../../b"); return err }, "URL path segment"},
		{"get dot-dot", func() error { _, err := c.Containers.Get(ctx, ".."); return err }, "URL path segment"},
		{"delete without id", func() error { return c.Containers.Delete(ctx, "") }, "container ID is required"},
		{"delete with a query", func() error { return c.Containers.Delete(ctx, "x?y") }, "URL path segment"},
		{"job without id", func() error { _, err := c.Jobs.Get(ctx, ""); return err }, "job ID is required"},
		{"job with a slash", func() error { _, err := c.Jobs.Get(ctx, "a/b"); return err }, "URL path segment"},

		{"update without id", func() error { return c.Containers.Update(ctx, "", &ContainerParameters{CPUs: "1"}) }, "container ID is required"},
		{"update nil", update(nil), "set at least one"},
		{"update empty", update(&ContainerParameters{}), "set at least one"},
		{"update bad hostname", update(&ContainerParameters{Hostname: "web_1"}), `parameters.hostname "web_1"`},
		{"update hostname label too long", update(&ContainerParameters{Hostname: strings.Repeat("a", 64) + ".example"}), "parameters.hostname"},
		{"update hostname ending in a hyphen", update(&ContainerParameters{Hostname: "web-"}), "parameters.hostname"},
		{"update cpus zero", update(&ContainerParameters{CPUs: "0"}), `parameters.cpus "0" is not a positive whole number`},
		{"update cpus negative", update(&ContainerParameters{CPUs: "-2"}), "parameters.cpus"},
		{"update cpus word", update(&ContainerParameters{CPUs: "two"}), "parameters.cpus"},
		{"update cpus fraction", update(&ContainerParameters{CPUs: "1.5"}), "parameters.cpus"},
		{"update memsize without units", update(&ContainerParameters{MemSize: "1"}), "parameters.memsize \"1\" without parameters.memsize_units"},
		{"update memsize units alone", update(&ContainerParameters{MemSizeUnits: "G"}), "parameters.memsize_units \"G\" without parameters.memsize"},
		{"update memsize bad unit", update(&ContainerParameters{MemSize: "1", MemSizeUnits: "GB"}), `parameters.memsize_units "GB" is not one of K, M, G`},
		{"update memsize lower-case unit", update(&ContainerParameters{MemSize: "1", MemSizeUnits: "g"}), "parameters.memsize_units"},
		{"update memsize zero", update(&ContainerParameters{MemSize: "0", MemSizeUnits: "M"}), "parameters.memsize \"0\""},
		{"update size without units", update(&ContainerParameters{Size: "10"}), "parameters.size \"10\" without parameters.size_units"},
		{"update size bad", update(&ContainerParameters{Size: "10G", SizeUnits: "G"}), `parameters.size "10G"`},
		{"update size bad unit", update(&ContainerParameters{Size: "10", SizeUnits: "T"}), "parameters.size_units"},
		{"update ipadd v6", update(&ContainerParameters{IPAdd: "::1"}), `parameters.ipadd "::1" is not an IPv4 address`},
		{"update ipadd cidr", update(&ContainerParameters{IPAdd: "10.0.0.1/24"}), "parameters.ipadd"},
		{"update nameserver with spaces", update(&ContainerParameters{Nameserver: "1.1.1.1, 8.8.8.8"}), `" 8.8.8.8" is not an IPv4 address`},
		{"update nameserver trailing comma", update(&ContainerParameters{Nameserver: "1.1.1.1,"}), "parameters.nameserver"},
		{"update nameserver host name", update(&ContainerParameters{Nameserver: "dns.example"}), "parameters.nameserver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("err = %v, want ErrInvalidArgument", err)
			}
			if !strings.HasPrefix(err.Error(), "openvz: invalid argument: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}
