package openvz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

const (
	apiPrefix = "/v0.1"
	testCTID  = "54e21881-8620-4bb0-95f1-05f143973a6e"
	testJobID = "fa205b0e-3f3f-4e93-9bb0-d1e9c6467e4e"
)

// newTestClient serves handler under <server>/v0.1, after checking that every
// request carries the expected headers and no credentials.
func newTestClient(t *testing.T, handler http.HandlerFunc, opts ...Option) *Client {
	t.Helper()
	srv := apitest.Serve(t, apiPrefix, handler, apitest.Header("Authorization", ""))
	c, err := New(append([]Option{WithBaseURL(srv), WithClock(apitest.Clock), WithObserver(apitest.ListedRoutes(t))}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestNewDefaults(t *testing.T) {
	c, err := New(WithHTTPClient(nil), WithClock(nil), WithUserAgent(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != DefaultBaseURL || DefaultBaseURL != "http://localhost:5000/v0.1" {
		t.Errorf("default base URL = %q", c.BaseURL())
	}
	if c.api.UserAgent != "cloudflow" || c.api.HTTPClient == nil || c.api.HTTPClient.Timeout != 10*time.Second || c.api.Now == nil {
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
			header: map[string]string{"Retry-After": apitest.Now.Add(30 * time.Second).Format(http.TimeFormat)},
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
			answer := &apitest.Answer{Status: tt.status, Header: tt.header, Body: tt.body}
			c := newTestClient(t, answer.ServeHTTP)
			job, err := c.Containers.Create(context.Background(), &ContainerCreateRequest{Name: "ct100", OSTemplate: "template1"})
			if job != nil {
				t.Errorf("job %+v alongside an error", job)
			}
			want := tt.want
			want.Method = http.MethodPost
			want.Path = apiPrefix + "/containers/"
			apitest.CheckAPIError(t, err, want)
			if IsNotFound(err) != tt.notFound || IsDuplicate(err) != tt.duplicate {
				t.Errorf("IsNotFound = %v, IsDuplicate = %v", IsNotFound(err), IsDuplicate(err))
			}
			apitest.CheckMessage(t, err, tt.wantString, tt.wantInString...)
			answer.CheckHits(t, 1)
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
	c := newTestClient(t, apitest.Respond(http.StatusOK, `{"message": "no such parameter", "code": 100}`))
	err := c.Containers.Update(context.Background(), testCTID, &ContainerParameters{CPUs: "2"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 200 || apiErr.Code != 100 || apiErr.Message != "no such parameter" ||
		apiErr.Method != "PATCH" || apiErr.Path != apiPrefix+"/containers/"+testCTID {
		t.Errorf("err = %#v", err)
	}
	// Code 0 is success.
	c = newTestClient(t, apitest.Respond(http.StatusOK, `{"message": "success", "code": 0}`))
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
			c := newTestClient(t, apitest.Respond(http.StatusOK, tt.body))
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
	apitest.CheckArgErrors(t, ErrInvalidArgument, "openvz: invalid argument: ", []apitest.ArgCase{
		{Name: "create nil", Call: func() error { _, err := c.Containers.Create(ctx, nil); return err }, Want: "nil"},
		{Name: "create without name", Call: create("", "template1"), Want: "container name is required"},
		{Name: "create name with a space", Call: create("ct 100", "template1"), Want: `container name "ct 100" holds " "`},
		{Name: "create name with a slash", Call: create("ct/100", "template1"), Want: `holds "/"`},
		{Name: "create name starting with a hyphen", Call: create("-ct", "template1"), Want: "must start with a letter or digit"},
		{Name: "create name too long", Call: create(strings.Repeat("a", 65), "template1"), Want: "more than 64"},
		{Name: "create without template", Call: create("ct100", ""), Want: "container ostemplate is required"},
		{Name: "create template path", Call: create("ct100", "../etc/passwd"), Want: "container ostemplate"},
		{Name: "create template too long", Call: create("ct100", strings.Repeat("t", 129)), Want: "more than 128"},

		{Name: "get without id", Call: func() error { _, err := c.Containers.Get(ctx, " "); return err }, Want: "container ID is required"},
		{Name: "get with a slash", Call: func() error { _, err := c.Containers.Get(ctx, "a/../../b"); return err }, Want: "URL path segment"},
		{Name: "get dot-dot", Call: func() error { _, err := c.Containers.Get(ctx, ".."); return err }, Want: "URL path segment"},
		{Name: "delete without id", Call: func() error { return c.Containers.Delete(ctx, "") }, Want: "container ID is required"},
		{Name: "delete with a query", Call: func() error { return c.Containers.Delete(ctx, "x?y") }, Want: "URL path segment"},
		{Name: "job without id", Call: func() error { _, err := c.Jobs.Get(ctx, ""); return err }, Want: "job ID is required"},
		{Name: "job with a slash", Call: func() error { _, err := c.Jobs.Get(ctx, "a/b"); return err }, Want: "URL path segment"},

		{Name: "update without id", Call: func() error { return c.Containers.Update(ctx, "", &ContainerParameters{CPUs: "1"}) }, Want: "container ID is required"},
		{Name: "update nil", Call: update(nil), Want: "set at least one"},
		{Name: "update empty", Call: update(&ContainerParameters{}), Want: "set at least one"},
		{Name: "update bad hostname", Call: update(&ContainerParameters{Hostname: "web_1"}), Want: `parameters.hostname "web_1"`},
		{Name: "update hostname label too long", Call: update(&ContainerParameters{Hostname: strings.Repeat("a", 64) + ".example"}), Want: "parameters.hostname"},
		{Name: "update hostname ending in a hyphen", Call: update(&ContainerParameters{Hostname: "web-"}), Want: "parameters.hostname"},
		{Name: "update cpus zero", Call: update(&ContainerParameters{CPUs: "0"}), Want: `parameters.cpus "0" is not a positive whole number`},
		{Name: "update cpus negative", Call: update(&ContainerParameters{CPUs: "-2"}), Want: "parameters.cpus"},
		{Name: "update cpus word", Call: update(&ContainerParameters{CPUs: "two"}), Want: "parameters.cpus"},
		{Name: "update cpus fraction", Call: update(&ContainerParameters{CPUs: "1.5"}), Want: "parameters.cpus"},
		{Name: "update memsize without units", Call: update(&ContainerParameters{MemSize: "1"}), Want: "parameters.memsize \"1\" without parameters.memsize_units"},
		{Name: "update memsize units alone", Call: update(&ContainerParameters{MemSizeUnits: "G"}), Want: "parameters.memsize_units \"G\" without parameters.memsize"},
		{Name: "update memsize bad unit", Call: update(&ContainerParameters{MemSize: "1", MemSizeUnits: "GB"}), Want: `parameters.memsize_units "GB" is not one of K, M, G`},
		{Name: "update memsize lower-case unit", Call: update(&ContainerParameters{MemSize: "1", MemSizeUnits: "g"}), Want: "parameters.memsize_units"},
		{Name: "update memsize zero", Call: update(&ContainerParameters{MemSize: "0", MemSizeUnits: "M"}), Want: "parameters.memsize \"0\""},
		{Name: "update size without units", Call: update(&ContainerParameters{Size: "10"}), Want: "parameters.size \"10\" without parameters.size_units"},
		{Name: "update size bad", Call: update(&ContainerParameters{Size: "10G", SizeUnits: "G"}), Want: `parameters.size "10G"`},
		{Name: "update size bad unit", Call: update(&ContainerParameters{Size: "10", SizeUnits: "T"}), Want: "parameters.size_units"},
		{Name: "update ipadd v6", Call: update(&ContainerParameters{IPAdd: "::1"}), Want: `parameters.ipadd "::1" is not an IPv4 address`},
		{Name: "update ipadd cidr", Call: update(&ContainerParameters{IPAdd: "10.0.0.1/24"}), Want: "parameters.ipadd"},
		{Name: "update nameserver with spaces", Call: update(&ContainerParameters{Nameserver: "1.1.1.1, 8.8.8.8"}), Want: `" 8.8.8.8" is not an IPv4 address`},
		{Name: "update nameserver trailing comma", Call: update(&ContainerParameters{Nameserver: "1.1.1.1,"}), Want: "parameters.nameserver"},
		{Name: "update nameserver host name", Call: update(&ContainerParameters{Nameserver: "dns.example"}), Want: "parameters.nameserver"},
	})
}
