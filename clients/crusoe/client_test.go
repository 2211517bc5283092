package crusoe

import (
	"context"
	"errors"
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
	testAccessKeyID = "AKIDTEST"
	testSecret      = "qVB8XnLwz0ZqC7hM4G2lAA" // base64url, 16 bytes
	testProject     = "ab4a6b00-aa5f-408e-a9fb-ac6de5eb45ab"
	apiPrefix       = "/v1alpha5"
)

// newTestClient serves handler under <server>/v1alpha5, after checking that
// every request is signed and carries the expected headers.
func newTestClient(t *testing.T, handler http.HandlerFunc, opts ...Option) *Client {
	t.Helper()
	base := []Option{
		WithBaseURL(apitest.Serve(t, apiPrefix, handler, verifySignature)),
		WithCredentials(testAccessKeyID, testSecret),
		WithProjectID(testProject),
		WithClock(apitest.Clock),
		WithObserver(apitest.ListedRoutes(t)),
	}
	c, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// verifySignature checks the signature the way the API does: over the full
// path, the query, the method and the timestamp header.
func verifySignature(t *testing.T, r *http.Request) {
	t.Helper()
	ts := r.Header.Get(HeaderTimestamp)
	if want := FormatTimestamp(apitest.Now); ts != want {
		t.Errorf("%s %s: %s = %q, want %q", r.Method, r.URL.Path, HeaderTimestamp, ts, want)
	}
	id, sig, err := ParseAuthorization(r.Header.Get(HeaderAuthorization))
	if err != nil {
		t.Errorf("%s %s: %v", r.Method, r.URL.Path, err)
		return
	}
	if id != testAccessKeyID {
		t.Errorf("%s %s: access key ID = %q", r.Method, r.URL.Path, id)
	}
	want, err := Sign(testSecret, r.URL.Path, r.URL.Query(), r.Method, ts)
	if err != nil {
		t.Fatal(err)
	}
	if sig != want {
		t.Errorf("%s %s?%s: signature does not verify", r.Method, r.URL.Path, r.URL.RawQuery)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string // substring of the error
	}{
		{"no credentials", nil, "access key ID and a secret key are required"},
		{"no secret", []Option{WithCredentials("AK", "")}, "required"},
		{"no key id", []Option{WithCredentials("", testSecret)}, "required"},
		{"secret not base64url", []Option{WithCredentials("AK", "not*base64!secret")}, "secret key is not base64url"},
		// apihttp's tests cover the other ways a base URL can be wrong.
		{"relative base URL", []Option{WithCredentials("AK", testSecret), WithBaseURL("/v1alpha5")}, `crusoe: invalid base URL "/v1alpha5"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts...)
			apitest.CheckError(t, err, tt.want, "not*base64!secret", testSecret)
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(WithCredentials("AK", testSecret), WithHTTPClient(nil), WithClock(nil), WithUserAgent(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != DefaultBaseURL || c.api.UserAgent != "cloudflow" || c.api.HTTPClient == nil || c.api.Now == nil || c.ProjectID() != "" {
		t.Errorf("defaults: base %q ua %q project %q", c.BaseURL(), c.api.UserAgent, c.ProjectID())
	}
	if c.api.HTTPClient.Timeout != 10*time.Second || RequestTimeout != 10*time.Second {
		t.Errorf("default HTTP client timeout %v (RequestTimeout %v), want 10s", c.api.HTTPClient.Timeout, RequestTimeout)
	}
	for name, svc := range map[string]any{
		"VMs": c.VMs, "Disks": c.Disks, "Snapshots": c.Snapshots, "FirewallRules": c.FirewallRules,
		"VPCNetworks": c.VPCNetworks, "VPCSubnets": c.VPCSubnets, "LoadBalancers": c.LoadBalancers,
		"InstanceTemplates": c.InstanceTemplates, "InstanceGroups": c.InstanceGroups, "Operations": c.Operations,
	} {
		if reflect.ValueOf(svc).IsNil() {
			t.Errorf("service %s is nil", name)
		}
	}

	hc := &http.Client{}
	c, err = New(WithCredentials("AK", testSecret), WithBaseURL("http://localhost:8080/v1alpha5/"),
		WithHTTPClient(hc), WithProjectID("p"), WithUserAgent("test/1"))
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != "http://localhost:8080/v1alpha5" || c.api.HTTPClient != hc || c.ProjectID() != "p" || c.api.UserAgent != "test/1" {
		t.Errorf("options not applied: base %q ua %q project %q", c.BaseURL(), c.api.UserAgent, c.ProjectID())
	}
}

func TestRequestHeaders(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("User-Agent"); got != "cloudflow-test" {
			t.Errorf("User-Agent = %q", got)
		}
		if got := r.Header.Get("Content-Type"); got != "" {
			t.Errorf("GET carries Content-Type %q", got)
		}
		io.WriteString(w, `{"items": []}`)
	}, WithUserAgent("cloudflow-test"))
	if _, err := c.Disks.List(context.Background(), ""); err != nil {
		t.Fatal(err)
	}

	c = newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("User-Agent"); got != "cloudflow" {
			t.Errorf("default User-Agent = %q", got)
		}
		io.WriteString(w, `{"items": []}`)
	})
	if _, err := c.Disks.List(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultAndExplicitProject(t *testing.T) {
	paths := make(chan string, 2)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.Path
		io.WriteString(w, `{"items": []}`)
	})
	ctx := context.Background()
	if _, err := c.Disks.List(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if gotPath, want := <-paths, apiPrefix+"/projects/"+testProject+"/storage/disks"; gotPath != want {
		t.Errorf("default project path = %q, want %q", gotPath, want)
	}
	if _, err := c.Disks.List(ctx, "other-project"); err != nil {
		t.Fatal(err)
	}
	if gotPath, want := <-paths, apiPrefix+"/projects/other-project/storage/disks"; gotPath != want {
		t.Errorf("explicit project path = %q, want %q", gotPath, want)
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
		conflict     bool
		wantInString []string
	}{
		{
			name:   "rpc message cleaned",
			status: 404,
			header: map[string]string{"X-Request-Id": "req-1"},
			body:   `{"code":"not_found","error_id":"e-1","message":"rpc error: code = NotFound desc = vm not found","reason":"missing"}`,
			want: APIError{StatusCode: 404, Code: "not_found", ErrorID: "e-1", Message: "vm not found",
				Reason: "missing", RequestID: "req-1"},
			notFound:     true,
			wantInString: []string{"404", "vm not found", "not_found", "e-1", "req-1", "GET " + apiPrefix + "/projects/"},
		},
		{
			name:     "rpc code fills an empty code",
			status:   404,
			body:     `{"message":"rpc code = NotFound desc = disk gone"}`,
			want:     APIError{StatusCode: 404, Code: "NotFound", Message: "disk gone"},
			notFound: true,
		},
		{
			name:     "conflict",
			status:   409,
			header:   map[string]string{"X-Crusoe-Request-Id": "creq-9"},
			body:     `{"code":"409","message":"name already in use"}`,
			want:     APIError{StatusCode: 409, Code: "409", Message: "name already in use", RequestID: "creq-9"},
			conflict: true,
		},
		{
			name:   "numeric code",
			status: 400,
			body:   `{"code":400,"message":"bad_request"}`,
			want:   APIError{StatusCode: 400, Code: "400", Message: "bad_request"},
		},
		{
			name:         "non-JSON body",
			status:       502,
			body:         "\n  <html>bad gateway</html>\n",
			want:         APIError{StatusCode: 502, Message: "<html>bad gateway</html>"},
			wantInString: []string{"502 Bad Gateway: <html>bad gateway</html>"},
		},
		{
			name:   "JSON of another shape",
			status: 500,
			body:   `{"error":"boom"}`,
			want:   APIError{StatusCode: 500, Message: `{"error":"boom"}`},
		},
		{
			name:         "429 with Retry-After seconds",
			status:       429,
			header:       map[string]string{"Retry-After": "7"},
			body:         `{"code":"429","message":"slow down"}`,
			want:         APIError{StatusCode: 429, Code: "429", Message: "slow down", RetryAfter: 7 * time.Second},
			wantInString: []string{"retry after 7s"},
		},
		{
			name:   "503 with Retry-After date",
			status: 503,
			header: map[string]string{"Retry-After": apitest.Now.Add(30 * time.Second).Format(http.TimeFormat)},
			want:   APIError{StatusCode: 503, RetryAfter: 30 * time.Second},
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
			_, err := c.VMs.Get(context.Background(), "", "vm-1")
			want := tt.want
			want.Method = http.MethodGet
			want.Path = apiPrefix + "/projects/" + testProject + "/compute/vms/instances/vm-1"
			apitest.CheckAPIError(t, err, want)
			if IsNotFound(err) != tt.notFound || IsConflict(err) != tt.conflict {
				t.Errorf("IsNotFound = %v, IsConflict = %v", IsNotFound(err), IsConflict(err))
			}
			apitest.CheckMessage(t, err, "", tt.wantInString...)
			apitest.NotShown(t, "error", err.Error(), testSecret)
			answer.CheckHits(t, 1)
		})
	}
}

func TestIsNotFoundIsConflictWrapped(t *testing.T) {
	wrap := func(status int) error {
		return errors.Join(errors.New("context"), &APIError{StatusCode: status})
	}
	if !IsNotFound(wrap(404)) || IsNotFound(wrap(409)) || IsNotFound(errors.New("404")) || IsNotFound(nil) {
		t.Error("IsNotFound is wrong")
	}
	if !IsConflict(wrap(409)) || IsConflict(wrap(404)) || IsConflict(nil) {
		t.Error("IsConflict is wrong")
	}
}

func TestNoRetryOnServerErrorForWrites(t *testing.T) {
	var hits atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	_, err := c.VMs.Create(context.Background(), "", &VMCreateRequest{Name: "a", Type: "a100.2x", SSHPublicKey: "ssh-ed25519 AAA"})
	if err == nil {
		t.Fatal("want an error")
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("%d requests, want exactly 1", n)
	}
}

func TestTransportErrors(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"items": [`)
	})
	if _, err := c.Disks.List(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "decoding response") {
		t.Errorf("truncated JSON: err = %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c = newTestClient(t, apitest.MustNotCall(t))
	_, err := c.Disks.List(ctx, "")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: err = %v, want context.Canceled", err)
	}

	c, err = New(WithCredentials(testAccessKeyID, testSecret), WithProjectID(testProject),
		WithBaseURL("http://127.0.0.1:1/v1alpha5"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Disks.Get(context.Background(), "", "d-1")
	if err == nil || !strings.Contains(err.Error(), "GET /v1alpha5/projects/"+testProject+"/storage/disks/d-1") {
		t.Errorf("connection refused: err = %v", err)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		t.Error("a transport error must not be an *APIError")
	}
}

func TestEmptySuccessBody(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	op, err := c.VMs.Update(context.Background(), "", "vm-1", &VMUpdateRequest{Action: VMActionReserve, ReservationID: "r-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !op.Done() || op.State != OperationSucceeded {
		t.Errorf("synchronous RESERVE without an operation: got %+v, want SUCCEEDED", op)
	}
	// An asynchronous action answered without an operation is a protocol error.
	if _, err := c.VMs.Update(context.Background(), "", "vm-1", &VMUpdateRequest{Action: VMActionStart}); err == nil ||
		!strings.Contains(err.Error(), "no operation") {
		t.Errorf("START without an operation: err = %v", err)
	}
	if _, err := c.VPCNetworks.Create(context.Background(), "", &VPCNetworkCreateRequest{Name: "n", CIDR: "10.0.0.0/16"}); err == nil ||
		!strings.Contains(err.Error(), `no "network"`) {
		t.Errorf("network create without a network: err = %v", err)
	}
}

func TestArgumentsValidatedBeforeAnyRequest(t *testing.T) {
	c := newTestClient(t, apitest.MustNotCall(t))
	noProject, err := New(WithCredentials(testAccessKeyID, testSecret), WithBaseURL(c.BaseURL()), WithClock(apitest.Clock))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	vm := &VMCreateRequest{Name: "vm", Type: "a100.2x", SSHPublicKey: "ssh-ed25519 AAA"}
	rule := func(mod func(*FirewallRuleCreateRequest)) *FirewallRuleCreateRequest {
		r := &FirewallRuleCreateRequest{Name: "r", VPCNetworkID: "net", Action: "allow", Direction: "ingress",
			Protocols: []string{"tcp"}, Sources: []FirewallRuleObject{{CIDR: "0.0.0.0/0"}},
			Destinations: []FirewallRuleObject{{CIDR: "172.27.0.2/32", ResourceID: "vm-1"}}}
		mod(r)
		return r
	}
	lb := &LoadBalancerCreateRequest{Name: "lb", Algorithm: "random", Location: "us-east1-a", Protocols: []string{"tcp"},
		Destinations: []NetworkTarget{{CIDR: "10.0.0.0/24"}}, NetworkInterfaces: []LoadBalancerNetworkInterface{{Network: "n", Subnet: "s"}}}

	apitest.CheckArgErrors(t, ErrInvalidArgument, "crusoe: invalid argument: ", []apitest.ArgCase{
		{Name: "no project anywhere", Call: func() error { _, err := noProject.Disks.List(ctx, ""); return err }, Want: "project ID is required"},
		{Name: "project with a slash", Call: func() error { _, err := c.Disks.List(ctx, "a/b"); return err }, Want: "project ID"},
		{Name: "empty VM ID", Call: func() error { _, err := c.VMs.Get(ctx, "", ""); return err }, Want: "VM ID is required"},
		{Name: "VM ID with traversal", Call: func() error { _, err := c.VMs.Get(ctx, "", "../x"); return err }, Want: "VM ID"},
		{Name: "VM ID with query", Call: func() error { _, err := c.VMs.Delete(ctx, "", "x?y=1"); return err }, Want: "VM ID"},
		{Name: "nil VM create", Call: func() error { _, err := c.VMs.Create(ctx, "", nil); return err }, Want: "nil"},
		{Name: "VM without name", Call: func() error {
			r := *vm
			r.Name = ""
			_, err := c.VMs.Create(ctx, "", &r)
			return err
		}, Want: "VM name is required"},
		{Name: "VM without SSH key", Call: func() error {
			r := *vm
			r.SSHPublicKey = " "
			_, err := c.VMs.Create(ctx, "", &r)
			return err
		}, Want: "SSH public key"},
		{Name: "VM with an empty disk ID", Call: func() error {
			r := *vm
			r.Disks = []DiskAttachment{{Mode: "read-write"}}
			_, err := c.VMs.Create(ctx, "", &r)
			return err
		}, Want: "disk ID"},
		{Name: "negative VM list limit", Call: func() error { _, err := c.VMs.List(ctx, "", &VMListOptions{Limit: -1}); return err }, Want: "negative"},
		{Name: "nil VM update", Call: func() error { _, err := c.VMs.Update(ctx, "", "vm-1", nil); return err }, Want: "nil"},
		{Name: "unknown VM action", Call: func() error {
			_, err := c.VMs.Update(ctx, "", "vm-1", &VMUpdateRequest{Action: "REBOOT"})
			return err
		}, Want: `"REBOOT"`},
		{Name: "VM update without ID", Call: func() error {
			_, err := c.VMs.Update(ctx, "", "", &VMUpdateRequest{Action: VMActionStop})
			return err
		}, Want: "VM ID"},
		{Name: "attach nothing", Call: func() error { _, err := c.VMs.AttachDisks(ctx, "", "vm-1", nil); return err }, Want: "no disks"},
		{Name: "attach empty disk ID", Call: func() error {
			_, err := c.VMs.AttachDisks(ctx, "", "vm-1", []DiskAttachment{{DiskID: ""}})
			return err
		}, Want: "disk ID"},
		{Name: "detach nothing", Call: func() error { _, err := c.VMs.DetachDisks(ctx, "", "vm-1", []string{}); return err }, Want: "no disks"},
		{Name: "detach empty disk ID", Call: func() error { _, err := c.VMs.DetachDisks(ctx, "", "vm-1", []string{"d", ""}); return err }, Want: "disk ID 1"},
		{Name: "nil bulk create", Call: func() error { _, err := c.VMs.BulkCreate(ctx, "", nil); return err }, Want: "nil"},
		{Name: "bulk count zero", Call: func() error {
			_, err := c.VMs.BulkCreate(ctx, "", &BulkVMCreateRequest{NamePrefix: "x", InstanceTemplateID: "t"})
			return err
		}, Want: "count"},
		{Name: "bulk without template", Call: func() error {
			_, err := c.VMs.BulkCreate(ctx, "", &BulkVMCreateRequest{Count: 2, NamePrefix: "x"})
			return err
		}, Want: "instance template"},
		{Name: "bulk without prefix", Call: func() error {
			_, err := c.VMs.BulkCreate(ctx, "", &BulkVMCreateRequest{Count: 2, InstanceTemplateID: "t"})
			return err
		}, Want: "name prefix"},
		{Name: "types without project", Call: func() error { _, err := noProject.VMs.ListTypes(ctx, ""); return err }, Want: "project ID"},
		{Name: "nil disk create", Call: func() error { _, err := c.Disks.Create(ctx, "", nil); return err }, Want: "nil"},
		{Name: "disk without name", Call: func() error {
			_, err := c.Disks.Create(ctx, "", &DiskCreateRequest{Size: "10GiB", Location: "l"})
			return err
		}, Want: "disk name"},
		{Name: "disk without size or snapshot", Call: func() error {
			_, err := c.Disks.Create(ctx, "", &DiskCreateRequest{Name: "d", Location: "l"})
			return err
		}, Want: "snapshot ID, or a size and a location"},
		{Name: "disk resize without size", Call: func() error { _, err := c.Disks.Resize(ctx, "", "d-1", ""); return err }, Want: "disk size"},
		{Name: "disk resize without ID", Call: func() error { _, err := c.Disks.Resize(ctx, "", "", "20GiB"); return err }, Want: "disk ID"},
		{Name: "disk get without ID", Call: func() error { _, err := c.Disks.Get(ctx, "", ""); return err }, Want: "disk ID"},
		{Name: "snapshot without disk", Call: func() error { _, err := c.Snapshots.Create(ctx, "", ""); return err }, Want: "disk ID"},
		{Name: "snapshot delete without ID", Call: func() error { _, err := c.Snapshots.Delete(ctx, "", ""); return err }, Want: "snapshot ID"},
		{Name: "nil rule", Call: func() error { _, err := c.FirewallRules.Create(ctx, "", nil); return err }, Want: "nil"},
		{Name: "rule without network", Call: func() error {
			_, err := c.FirewallRules.Create(ctx, "", rule(func(r *FirewallRuleCreateRequest) { r.VPCNetworkID = "" }))
			return err
		}, Want: "VPC network ID"},
		{Name: "rule with bad action", Call: func() error {
			_, err := c.FirewallRules.Create(ctx, "", rule(func(r *FirewallRuleCreateRequest) { r.Action = "permit" }))
			return err
		}, Want: "action"},
		{Name: "rule with bad direction", Call: func() error {
			_, err := c.FirewallRules.Create(ctx, "", rule(func(r *FirewallRuleCreateRequest) { r.Direction = "in" }))
			return err
		}, Want: "direction"},
		{Name: "rule without protocols", Call: func() error {
			_, err := c.FirewallRules.Create(ctx, "", rule(func(r *FirewallRuleCreateRequest) { r.Protocols = nil }))
			return err
		}, Want: "protocol"},
		{Name: "rule without sources", Call: func() error {
			_, err := c.FirewallRules.Create(ctx, "", rule(func(r *FirewallRuleCreateRequest) { r.Sources = nil }))
			return err
		}, Want: "source"},
		{Name: "rule with an empty destination", Call: func() error {
			_, err := c.FirewallRules.Create(ctx, "", rule(func(r *FirewallRuleCreateRequest) { r.Destinations = []FirewallRuleObject{{}} }))
			return err
		}, Want: "destination 0"},
		{Name: "rule naming a resource without its CIDR", Call: func() error {
			_, err := c.FirewallRules.Create(ctx, "", rule(func(r *FirewallRuleCreateRequest) { r.Destinations = []FirewallRuleObject{{ResourceID: "vm-1"}} }))
			return err
		}, Want: "destination 0 has no CIDR"},
		{Name: "rule patch naming a resource without its CIDR", Call: func() error {
			_, err := c.FirewallRules.Update(ctx, "", "fw-1", &FirewallRulePatchRequest{Sources: []FirewallRuleObject{{ResourceID: "vm-1"}}})
			return err
		}, Want: "source 0 has no CIDR"},
		{Name: "rule patch nil", Call: func() error { _, err := c.FirewallRules.Update(ctx, "", "fw-1", nil); return err }, Want: "nil"},
		{Name: "rule patch empty", Call: func() error {
			_, err := c.FirewallRules.Update(ctx, "", "fw-1", &FirewallRulePatchRequest{})
			return err
		}, Want: "changes nothing"},
		{Name: "rule delete without ID", Call: func() error { _, err := c.FirewallRules.Delete(ctx, "", ""); return err }, Want: "firewall rule ID"},
		{Name: "network create nil", Call: func() error { _, err := c.VPCNetworks.Create(ctx, "", nil); return err }, Want: "nil"},
		{Name: "network without CIDR", Call: func() error {
			_, err := c.VPCNetworks.Create(ctx, "", &VPCNetworkCreateRequest{Name: "n"})
			return err
		}, Want: "VPC network CIDR"},
		{Name: "network rename empty", Call: func() error { _, err := c.VPCNetworks.Update(ctx, "", "net-1", ""); return err }, Want: "VPC network name"},
		{Name: "network rename without ID", Call: func() error { _, err := c.VPCNetworks.Update(ctx, "", "", "n"); return err }, Want: "VPC network ID"},
		{Name: "subnet without location", Call: func() error {
			_, err := c.VPCSubnets.Create(ctx, "", &VPCSubnetCreateRequest{Name: "s", CIDR: "10.0.0.0/24", VPCNetworkID: "n"})
			return err
		}, Want: "VPC subnet location"},
		{Name: "subnet delete without ID", Call: func() error { _, err := c.VPCSubnets.Delete(ctx, "", ""); return err }, Want: "VPC subnet ID"},
		{Name: "lb nil", Call: func() error { _, err := c.LoadBalancers.Create(ctx, "", nil); return err }, Want: "nil"},
		{Name: "lb without destinations", Call: func() error {
			r := *lb
			r.Destinations = nil
			_, err := c.LoadBalancers.Create(ctx, "", &r)
			return err
		}, Want: "destination"},
		{Name: "lb without interfaces", Call: func() error {
			r := *lb
			r.NetworkInterfaces = nil
			_, err := c.LoadBalancers.Create(ctx, "", &r)
			return err
		}, Want: "network interface"},
		{Name: "lb without algorithm", Call: func() error {
			r := *lb
			r.Algorithm = ""
			_, err := c.LoadBalancers.Create(ctx, "", &r)
			return err
		}, Want: "algorithm"},
		{Name: "lb patch empty", Call: func() error {
			_, err := c.LoadBalancers.Update(ctx, "", "lb-1", &LoadBalancerPatchRequest{})
			return err
		}, Want: "changes nothing"},
		{Name: "template nil", Call: func() error { _, err := c.InstanceTemplates.Create(ctx, "", nil); return err }, Want: "nil"},
		{Name: "template without name", Call: func() error {
			_, err := c.InstanceTemplates.Create(ctx, "", &InstanceTemplateCreateRequest{Type: "t", SSHPublicKey: "k"})
			return err
		}, Want: "instance template name"},
		{Name: "template delete without ID", Call: func() error { return c.InstanceTemplates.Delete(ctx, "", "") }, Want: "instance template ID"},
		{Name: "group without template", Call: func() error {
			_, err := c.InstanceGroups.Create(ctx, "", &InstanceGroupCreateRequest{Name: "g"})
			return err
		}, Want: "template ID"},
		{Name: "group patch empty", Call: func() error {
			_, err := c.InstanceGroups.Update(ctx, "", "g-1", &InstanceGroupPatchRequest{})
			return err
		}, Want: "changes nothing"},
		{Name: "group delete without ID", Call: func() error { return c.InstanceGroups.Delete(ctx, "", "") }, Want: "instance group ID"},
		{Name: "operation without family", Call: func() error { _, err := c.Operations.Get(ctx, "", "", "op-1"); return err }, Want: "family"},
		{Name: "operation with a bad family", Call: func() error { _, err := c.Operations.List(ctx, "", "storage//disks", nil); return err }, Want: "family"},
		{Name: "operation family traversal", Call: func() error { _, err := c.Operations.Get(ctx, "", "../admin", "op-1"); return err }, Want: "family"},
		{Name: "operation without ID", Call: func() error { _, err := c.Operations.Get(ctx, "", FamilyVMs, ""); return err }, Want: "operation ID"},
	})
}
