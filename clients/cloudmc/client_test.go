package cloudmc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

const (
	testKey     = "mc-test-key-8c41e7d2"
	testService = "compute-qc"
	testEnv     = "prod"
	testOrg     = "0d6c4a1e-7f3b-4e2a-9c5d-8b1f2e3a4c5d"
	envPrefix   = APIPath + "/services/" + testService + "/" + testEnv + "/"
	testID      = "5bf7352c-eed2-43dc-83f1-89917fb893ca"
)

// newTestClient serves handler under <server>/api/v2, after checking that
// every request carries the API key and the expected headers. The client
// acts in organization testOrg unless opts say otherwise.
func newTestClient(t *testing.T, handler http.HandlerFunc, opts ...Option) *Client {
	t.Helper()
	srv := apitest.Serve(t, APIPath, handler, apitest.Header(HeaderAPIKey, testKey), apitest.Header("Authorization", ""))
	base := []Option{WithBaseURL(srv), WithAPIKey(testKey), WithEnvironment(testService, testEnv),
		WithOrgID(testOrg), WithClock(apitest.Clock), WithObserver(apitest.ListedRoutes(t))}
	c, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestNewValidates(t *testing.T) {
	full := func(extra ...Option) []Option {
		return append([]Option{WithBaseURL("https://cloudmc.example.com"), WithAPIKey(testKey), WithEnvironment(testService, testEnv)}, extra...)
	}
	tests := []struct {
		name string
		opts []Option
		want string // substring of the error
	}{
		{"no base URL", []Option{WithAPIKey(testKey), WithEnvironment(testService, testEnv)}, "a base URL is required"},
		{"blank base URL", full(WithBaseURL("  ")), "CLOUDMC_API_ENDPOINT"},
		{"relative base URL", full(WithBaseURL("/api/v2")), "cloudmc: invalid base URL"},
		{"base URL with user info", full(WithBaseURL("https://user:pw@example.com/api/v2")), "cloudmc: invalid base URL"},
		{"no API key", full(WithAPIKey("")), "an API key is required"},
		{"key with a newline", full(WithAPIKey("leaky-key-value\n")), "trailing newline"},
		{"key with a space", full(WithAPIKey("leaky key")), "spaces or control characters"},
		{"no environment", full(WithEnvironment("", "")), "CLOUDMC_SERVICE_CODE"},
		{"no service code", full(WithEnvironment("", testEnv)), "a service code and an environment name are required"},
		{"environment with a slash", full(WithEnvironment(testService, "prod/x")), `environment name "prod/x"`},
		{"org ID with a space", full(WithOrgID(" o")), "org ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts...)
			apitest.CheckError(t, err, tt.want, "leaky", testKey, ":pw@")
		})
	}
}

func TestNewBaseURLAndDefaults(t *testing.T) {
	for in, want := range map[string]string{
		"https://cloudmc.example.com":               "https://cloudmc.example.com/api/v2",
		"https://cloudmc.example.com/":              "https://cloudmc.example.com/api/v2",
		"https://cloudmc.example.com/api/v2":        "https://cloudmc.example.com/api/v2",
		" https://cloudmc.example.com/api/v2/ ":     "https://cloudmc.example.com/api/v2",
		"http://127.0.0.1:8787/api/v2":              "http://127.0.0.1:8787/api/v2",
		"https://portal.example.com/cloudmc":        "https://portal.example.com/cloudmc/api/v2",
		"https://portal.example.com/cloudmc/api/v2": "https://portal.example.com/cloudmc/api/v2",
	} {
		c, err := New(WithBaseURL(in), WithAPIKey(testKey), WithEnvironment(testService, testEnv))
		if err != nil {
			t.Fatalf("New(%q): %v", in, err)
		}
		if c.BaseURL() != want {
			t.Errorf("base URL %q became %q, want %q", in, c.BaseURL(), want)
		}
	}

	c, err := New(WithBaseURL("https://cloudmc.example.com"), WithAPIKey(testKey), WithEnvironment(testService, testEnv),
		WithHTTPClient(nil), WithClock(nil), WithUserAgent(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.api.UserAgent != "cloudflow" || c.api.HTTPClient == nil || c.api.HTTPClient.Timeout != 10*time.Second || c.api.Now == nil {
		t.Errorf("defaults: ua %q client %+v", c.api.UserAgent, c.api.HTTPClient)
	}
	if c.ServiceCode() != testService || c.Environment() != testEnv || c.OrgID() != "" {
		t.Errorf("environment %q/%q org %q", c.ServiceCode(), c.Environment(), c.OrgID())
	}
	for name, svc := range map[string]any{"Instances": c.Instances, "Volumes": c.Volumes, "IngressRules": c.IngressRules, "Tasks": c.Tasks} {
		if reflect.ValueOf(svc).IsNil() {
			t.Errorf("service %s is nil", name)
		}
	}
	hc := &http.Client{}
	c, err = New(WithBaseURL("https://cloudmc.example.com"), WithAPIKey(testKey), WithEnvironment(testService, testEnv),
		WithHTTPClient(hc), WithUserAgent("test/1"), WithOrgID(testOrg))
	if err != nil {
		t.Fatal(err)
	}
	if c.api.HTTPClient != hc || c.api.UserAgent != "test/1" || c.OrgID() != testOrg {
		t.Errorf("options not applied: %v", c)
	}
}

func TestClientNeverPrintsTheKey(t *testing.T) {
	c, err := New(WithBaseURL("https://cloudmc.example.com"), WithAPIKey(testKey), WithEnvironment(testService, testEnv))
	if err != nil {
		t.Fatal(err)
	}
	apitest.CheckRedacted(t, *c, testKey, c.BaseURL(), testEnv)
}

func TestOrgIDOnEveryRequest(t *testing.T) {
	ctx := context.Background()
	var queries []string
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		switch {
		case strings.HasPrefix(r.URL.Path, APIPath+"/tasks/"):
			io.WriteString(w, `{"taskId":"t-1","taskStatus":"PENDING"}`)
		case r.Method == http.MethodGet:
			io.WriteString(w, `{"data":[]}`)
		default:
			io.WriteString(w, `{"taskId":"t-1","taskStatus":"PENDING"}`)
		}
	})
	if _, err := c.Instances.List(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Instances.Stop(ctx, testID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Tasks.Get(ctx, "t-1"); err != nil {
		t.Fatal(err)
	}
	want := []string{"org_id=" + testOrg, "operation=stop&org_id=" + testOrg, "org_id=" + testOrg}
	if !reflect.DeepEqual(queries, want) {
		t.Errorf("queries = %q, want %q", queries, want)
	}

	// Without an org ID there is no org_id parameter at all.
	queries = nil
	c = newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		io.WriteString(w, `{"data":[]}`)
	}, WithOrgID(""))
	if _, err := c.Volumes.List(ctx); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(queries, []string{""}) {
		t.Errorf("queries = %q, want none", queries)
	}
}

func TestUserAgent(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("User-Agent"); got != "cloudflow-test" {
			t.Errorf("User-Agent = %q", got)
		}
		io.WriteString(w, `{"data":[]}`)
	}, WithUserAgent("cloudflow-test"))
	if _, err := c.IngressRules.List(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestArgumentsCheckedBeforeAnyRequest(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(apitest.MustNotCall(t))
	t.Cleanup(srv.Close)
	c, err := New(WithBaseURL(srv.URL), WithAPIKey(testKey), WithEnvironment(testService, testEnv))
	if err != nil {
		t.Fatal(err)
	}
	one := 1
	apitest.CheckArgErrors(t, ErrInvalidArgument, "cloudmc: invalid argument: ", []apitest.ArgCase{
		{Name: "Instances.Get empty", Call: func() error { _, err := c.Instances.Get(ctx, ""); return err }},
		{Name: "Instances.Get slash", Call: func() error { _, err := c.Instances.Get(ctx, "a/b"); return err }},
		{Name: "Instances.Get dot-dot", Call: func() error { _, err := c.Instances.Get(ctx, ".."); return err }},
		{Name: "Instances.Create nil", Call: func() error { _, err := c.Instances.Create(ctx, nil); return err }},
		{Name: "Instances.Create no name", Call: func() error {
			_, err := c.Instances.Create(ctx, &InstanceCreateRequest{ComputeOfferingID: "c", NetworkID: "n", TemplateID: "t"})
			return err
		}},
		{Name: "Instances.Create no offering", Call: func() error {
			_, err := c.Instances.Create(ctx, &InstanceCreateRequest{Name: "a", NetworkID: "n", TemplateID: "t"})
			return err
		}},
		{Name: "Instances.Create no network", Call: func() error {
			_, err := c.Instances.Create(ctx, &InstanceCreateRequest{Name: "a", ComputeOfferingID: "c", TemplateID: "t"})
			return err
		}},
		{Name: "Instances.Create no template", Call: func() error {
			_, err := c.Instances.Create(ctx, &InstanceCreateRequest{Name: "a", ComputeOfferingID: "c", NetworkID: "n"})
			return err
		}},
		{Name: "Instances.Create negative root", Call: func() error {
			_, err := c.Instances.Create(ctx, &InstanceCreateRequest{Name: "a", ComputeOfferingID: "c", NetworkID: "n", TemplateID: "t", RootVolumeSizeInGB: -1})
			return err
		}},
		{Name: "Instances.Delete", Call: func() error { _, err := c.Instances.Delete(ctx, " "); return err }},
		{Name: "Instances.Start", Call: func() error { _, err := c.Instances.Start(ctx, ""); return err }},
		{Name: "Instances.Stop", Call: func() error { _, err := c.Instances.Stop(ctx, "a?b"); return err }},
		{Name: "Instances.Reboot", Call: func() error { _, err := c.Instances.Reboot(ctx, ""); return err }},
		{Name: "Instances.ChangeComputeOffering no instance", Call: func() error {
			_, err := c.Instances.ChangeComputeOffering(ctx, "", "co-2")
			return err
		}},
		{Name: "Instances.ChangeComputeOffering no offering", Call: func() error {
			_, err := c.Instances.ChangeComputeOffering(ctx, testID, " ")
			return err
		}},
		{Name: "Volumes.Get", Call: func() error { _, err := c.Volumes.Get(ctx, ""); return err }},
		{Name: "Volumes.Create nil", Call: func() error { _, err := c.Volumes.Create(ctx, nil); return err }},
		{Name: "Volumes.Create no name", Call: func() error {
			_, err := c.Volumes.Create(ctx, &VolumeCreateRequest{DiskOfferingID: "do-1", SizeInGB: 10})
			return err
		}},
		{Name: "Volumes.Create no disk offering", Call: func() error { _, err := c.Volumes.Create(ctx, &VolumeCreateRequest{Name: "d"}); return err }},
		{Name: "Volumes.Create size, no disk offering", Call: func() error {
			_, err := c.Volumes.Create(ctx, &VolumeCreateRequest{Name: "d", SizeInGB: 20})
			return err
		}},
		{Name: "Volumes.Create neg. size", Call: func() error {
			_, err := c.Volumes.Create(ctx, &VolumeCreateRequest{Name: "d", DiskOfferingID: "do-1", SizeInGB: -5})
			return err
		}},
		{Name: "DiskOfferings.Get", Call: func() error { _, err := c.DiskOfferings.Get(ctx, "a/b"); return err }},
		{Name: "DiskOfferings.Find", Call: func() error { _, err := c.DiskOfferings.Find(ctx, " "); return err }},
		{Name: "Volumes.Delete", Call: func() error { _, err := c.Volumes.Delete(ctx, ""); return err }},
		{Name: "Volumes.Attach no volume", Call: func() error { _, err := c.Volumes.Attach(ctx, "", testID); return err }},
		{Name: "Volumes.Attach no inst.", Call: func() error { _, err := c.Volumes.Attach(ctx, testID, ""); return err }},
		{Name: "Volumes.Detach", Call: func() error { _, err := c.Volumes.Detach(ctx, ""); return err }},
		{Name: "IngressRules.Get", Call: func() error { _, err := c.IngressRules.Get(ctx, ""); return err }},
		{Name: "IngressRules.Delete", Call: func() error { _, err := c.IngressRules.Delete(ctx, ""); return err }},
		{Name: "IngressRules.Create nil", Call: func() error { _, err := c.IngressRules.Create(ctx, nil); return err }},
		{Name: "IngressRules.Create no protocol", Call: func() error {
			_, err := c.IngressRules.Create(ctx, &IngressRuleCreateRequest{StartPort: 22, CIDR: "0.0.0.0/0"})
			return err
		}},
		{Name: "IngressRules.Create bad protocol", Call: func() error {
			_, err := c.IngressRules.Create(ctx, &IngressRuleCreateRequest{Protocol: "SCTP", StartPort: 22, CIDR: "0.0.0.0/0"})
			return err
		}},
		{Name: "IngressRules.Create no port", Call: func() error {
			_, err := c.IngressRules.Create(ctx, &IngressRuleCreateRequest{Protocol: "TCP", CIDR: "0.0.0.0/0"})
			return err
		}},
		{Name: "IngressRules.Create port too big", Call: func() error {
			_, err := c.IngressRules.Create(ctx, &IngressRuleCreateRequest{Protocol: "UDP", StartPort: 70000, CIDR: "0.0.0.0/0"})
			return err
		}},
		{Name: "IngressRules.Create reversed range", Call: func() error {
			_, err := c.IngressRules.Create(ctx, &IngressRuleCreateRequest{Protocol: "TCP", StartPort: 443, EndPort: 80, CIDR: "0.0.0.0/0"})
			return err
		}},
		{Name: "IngressRules.Create ICMP with ports", Call: func() error {
			_, err := c.IngressRules.Create(ctx, &IngressRuleCreateRequest{Protocol: "ICMP", StartPort: 1, CIDR: "0.0.0.0/0"})
			return err
		}},
		{Name: "IngressRules.Create TCP with ICMP type", Call: func() error {
			_, err := c.IngressRules.Create(ctx, &IngressRuleCreateRequest{Protocol: "TCP", StartPort: 22, CIDR: "0.0.0.0/0", ICMPType: &one})
			return err
		}},
		{Name: "IngressRules.Create no CIDR", Call: func() error {
			_, err := c.IngressRules.Create(ctx, &IngressRuleCreateRequest{Protocol: "TCP", StartPort: 22})
			return err
		}},
		{Name: "IngressRules.Create bad CIDR", Call: func() error {
			_, err := c.IngressRules.Create(ctx, &IngressRuleCreateRequest{Protocol: "TCP", StartPort: 22, CIDR: "10.0.0.300/8"})
			return err
		}},
		{Name: "Tasks.Get", Call: func() error { _, err := c.Tasks.Get(ctx, ""); return err }},
	})
}

func TestAPIErrors(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	stateErr := ErrorDetail{Code: 2012, Message: "Cannot stop an instance that isn't in the running state",
		Context: map[string]any{"id": testID, "currentState": "Stopped", "expectedStates": []any{"Running"}, "type": "instances"}}
	tests := []struct {
		name         string
		status       int
		header       map[string]string
		body         string
		want         APIError // Method and Path are filled in below
		notFound     bool
		invalidState bool
		wantString   string // the whole Error(), when set
	}{
		{
			name:   "the reference's example",
			status: 400,
			body: `{"errors":[{"code":2012,"message":"Cannot stop an instance that isn't in the running state",
				"context":{"id":"` + testID + `","currentState":"Stopped","expectedStates":["Running"],"type":"instances"}}]}`,
			want:         APIError{StatusCode: 400, Errors: []ErrorDetail{stateErr}, Code: 2012, Message: stateErr.Message},
			invalidState: true,
			wantString:   "cloudmc: POST " + envPrefix + "instances/" + testID + ": 400 Bad Request: Cannot stop an instance that isn't in the running state (code 2012)",
		},
		{
			name:   "several errors, a string code, request ID and Retry-After",
			status: 500,
			header: map[string]string{"Retry-After": "7", "X-Request-Id": "req-1"},
			body:   `{"errors":[{"code":"1000","message":"boom"},{"code":7,"message":" again "}]}`,
			want: APIError{StatusCode: 500, Errors: []ErrorDetail{{Code: 1000, Message: "boom"}, {Code: 7, Message: " again "}},
				Code: 1000, Message: "boom; again", RequestID: "req-1", RetryAfter: 7 * time.Second},
			wantString: "cloudmc: POST " + envPrefix + "instances/" + testID + ": 500 Internal Server Error: boom; again (code 1000, request_id req-1, retry after 7s)",
		},
		{
			name:     "404",
			status:   404,
			body:     `{"errors":[{"code":1004,"message":"Instance not found","context":{"id":"x","type":"instances"}}]}`,
			want:     APIError{StatusCode: 404, Errors: []ErrorDetail{{Code: 1004, Message: "Instance not found", Context: map[string]any{"id": "x", "type": "instances"}}}, Code: 1004, Message: "Instance not found"},
			notFound: true,
		},
		{
			name:   "403 with a date Retry-After",
			status: 403,
			header: map[string]string{"Retry-After": apitest.Now.Add(30 * time.Second).Format(http.TimeFormat)},
			body:   `{"errors":[{"code":1003,"message":"Invalid API key"}]}`,
			want:   APIError{StatusCode: 403, Errors: []ErrorDetail{{Code: 1003, Message: "Invalid API key"}}, Code: 1003, Message: "Invalid API key", RetryAfter: 30 * time.Second},
		},
		{
			name:       "non-JSON body",
			status:     502,
			body:       "\n  <html>bad gateway</html>\n",
			want:       APIError{StatusCode: 502, Message: "<html>bad gateway</html>"},
			wantString: "cloudmc: POST " + envPrefix + "instances/" + testID + ": 502 Bad Gateway: <html>bad gateway</html>",
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
		{
			name:         "errors under 200",
			status:       200,
			body:         `{"errors":[{"code":2012,"message":"nope"}]}`,
			want:         APIError{StatusCode: 200, Errors: []ErrorDetail{{Code: 2012, Message: "nope"}}, Code: 2012, Message: "nope"},
			invalidState: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answer := &apitest.Answer{Status: tt.status, Header: tt.header, Body: tt.body}
			c := newTestClient(t, answer.ServeHTTP)
			task, err := c.Instances.Stop(context.Background(), testID)
			if task != nil {
				t.Errorf("task %+v alongside an error", task)
			}
			want := tt.want
			want.Method = http.MethodPost
			want.Path = envPrefix + "instances/" + testID
			apitest.CheckAPIError(t, err, want)
			if IsNotFound(err) != tt.notFound || IsInvalidState(err) != tt.invalidState {
				t.Errorf("IsNotFound = %v, IsInvalidState = %v", IsNotFound(err), IsInvalidState(err))
			}
			apitest.CheckMessage(t, err, tt.wantString)
			apitest.NotShown(t, "error", err.Error(), testKey, testOrg)
			answer.CheckHits(t, 1)
		})
	}
}

func TestErrorHelpersWrapped(t *testing.T) {
	wrap := func(e *APIError) error { return fmt.Errorf("activity: %w", e) }
	if !IsNotFound(wrap(&APIError{StatusCode: 404})) || IsNotFound(wrap(&APIError{StatusCode: 400, Code: 1004})) ||
		IsNotFound(errors.New("404")) || IsNotFound(nil) {
		t.Error("IsNotFound is wrong")
	}
	second := &APIError{StatusCode: 400, Code: 1001, Errors: []ErrorDetail{{Code: 1001}, {Code: 2012}}}
	if !IsInvalidState(wrap(second)) || IsInvalidState(wrap(&APIError{StatusCode: 400, Code: 2012})) || IsInvalidState(nil) {
		t.Error("IsInvalidState is wrong")
	}
	if !second.HasCode(1001) || second.HasCode(1004) {
		t.Error("HasCode is wrong")
	}
	busy := &APIError{StatusCode: 400, Code: 2014, Errors: []ErrorDetail{{Code: 2014, Context: map[string]any{"taskId": "t-1"}}}}
	if !IsTaskInProgress(wrap(busy)) || IsTaskInProgress(wrap(second)) || IsInvalidState(wrap(busy)) || IsTaskInProgress(nil) {
		t.Error("IsTaskInProgress is wrong")
	}
}

func TestProtocolErrors(t *testing.T) {
	ctx := context.Background()
	var apiErr *APIError
	c := newTestClient(t, apitest.Respond(http.StatusOK, `{"data":null}`))
	if _, err := c.Instances.Get(ctx, testID); err == nil || errors.As(err, &apiErr) || !strings.Contains(err.Error(), "response has no data") {
		t.Errorf("Get without data: err = %v", err)
	}
	c = newTestClient(t, apitest.Respond(http.StatusOK, `{"data":{"id":7}}`))
	if _, err := c.Volumes.Get(ctx, testID); err == nil || !strings.Contains(err.Error(), "decoding data") {
		t.Errorf("Get with bad data: err = %v", err)
	}
	c = newTestClient(t, apitest.Respond(http.StatusOK, `{"data":`))
	if _, err := c.Instances.List(ctx); err == nil || !strings.Contains(err.Error(), "decoding response") {
		t.Errorf("truncated JSON: err = %v", err)
	}
	c = newTestClient(t, apitest.Respond(http.StatusOK, `{"data":{}}`))
	if _, err := c.Instances.List(ctx); err == nil || !strings.Contains(err.Error(), "decoding data") {
		t.Errorf("List of an object: err = %v", err)
	}
	c = newTestClient(t, apitest.Respond(http.StatusOK, `{}`))
	if got, err := c.Instances.List(ctx); err != nil || got == nil || len(got) != 0 {
		t.Errorf("List without data = %#v, %v; want an empty slice", got, err)
	}
	c = newTestClient(t, apitest.Respond(http.StatusOK, `{"taskId":"","taskStatus":""}`))
	if _, err := c.Tasks.Get(ctx, "t-1"); err == nil || !strings.Contains(err.Error(), "response has no taskStatus") {
		t.Errorf("task without status: err = %v", err)
	}
}
