package cloudsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflow/cloudflow/clients/crusoe"
)

// fakeClock is an Options.Now tests advance by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sim is a running simulator with a fake clock and a signing Crusoe caller.
type sim struct {
	t     *testing.T
	run   *Running
	clock *fakeClock
	admin *AdminClient
	hc    *http.Client

	accessKey, secret string
	stamp             func() string // X-Crusoe-Timestamp; defaults to the fake clock
}

func startSim(t *testing.T, opts Options) *sim {
	t.Helper()
	clock := newFakeClock()
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	run, err := Start("127.0.0.1:0", opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = run.Close() })
	s := &sim{
		t: t, run: run, clock: clock, hc: &http.Client{Timeout: 10 * time.Second},
		accessKey: DefaultCrusoeAccessKeyID, secret: DefaultCrusoeSecretKey,
	}
	s.admin = &AdminClient{BaseURL: run.URL, HTTPClient: s.hc}
	s.stamp = func() string { return clock.Now().UTC().Format(time.RFC3339) }
	return s
}

// projectPath is a path under the default project.
func projectPath(p string) string {
	return "/v1alpha5/projects/" + DefaultCrusoeProjectID + "/" + strings.TrimPrefix(p, "/")
}

// newRequest builds a request to the simulator: method, the sim's URL + p
// (which may carry a query string), and body, which is none when nil, sent
// as it is when a string (to send malformed JSON), and encoded as JSON
// otherwise. A request with a body says it is JSON.
func (s *sim) newRequest(t testing.TB, ctx context.Context, method, p string, body any) *http.Request {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.run.URL+p, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// do sends req and decodes the answer, which must be empty or a JSON object.
func (s *sim) do(t testing.TB, req *http.Request) (int, obj) {
	t.Helper()
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.RequestURI(), err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out obj
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s %s: %d answer is not a JSON object: %v: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, err, data)
		}
	}
	return resp.StatusCode, out
}

// request builds a signed Crusoe request (see newRequest).
func (s *sim) request(ctx context.Context, method, p string, body any) *http.Request {
	s.t.Helper()
	req := s.newRequest(s.t, ctx, method, p, body)
	stamp := s.stamp()
	sig, err := crusoe.Sign(s.secret, req.URL.Path, req.URL.Query(), method, stamp)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("X-Crusoe-Timestamp", stamp)
	req.Header.Set("Authorization", "Bearer 1.0:"+s.accessKey+":"+sig)
	return req
}

// call sends a signed request and decodes the JSON answer.
func (s *sim) call(method, p string, body any) (int, obj) {
	s.t.Helper()
	return s.do(s.t, s.request(context.Background(), method, p, body))
}

// must sends a signed request and fails the test unless it answers 200.
func (s *sim) must(method, p string, body any) obj {
	s.t.Helper()
	status, out := s.call(method, p, body)
	if status != http.StatusOK {
		s.t.Fatalf("%s %s: status %d, body %v", method, p, status, out)
	}
	return out
}

// op returns the operation of a {"operation": ...} answer.
func (s *sim) op(method, p string, body any) obj {
	s.t.Helper()
	out := s.must(method, p, body)
	op := out.obj("operation")
	if op == nil {
		s.t.Fatalf("%s %s: no operation in %v", method, p, out)
	}
	return op
}

func (s *sim) wantError(method, p string, body any, status int, code, msgContains string) obj {
	s.t.Helper()
	got, out := s.call(method, p, body)
	if got != status {
		s.t.Fatalf("%s %s: status %d, want %d (body %v)", method, p, got, status, out)
	}
	if code != "" && out.str("code") != code {
		s.t.Errorf("%s %s: code %q, want %q (body %v)", method, p, out.str("code"), code, out)
	}
	if !strings.Contains(out.str("message"), msgContains) {
		s.t.Errorf("%s %s: message %q does not contain %q", method, p, out.str("message"), msgContains)
	}
	if out.str("error_id") == "" {
		s.t.Errorf("%s %s: error body lacks error_id: %v", method, p, out)
	}
	return out
}

// createVM starts a VM create and returns the operation and the VM's ID.
func (s *sim) createVM(name string, extra obj) (op obj, vmID string) {
	s.t.Helper()
	body := obj{"name": name, "type": "c1a.2x", "location": "us-east1-a", "ssh_public_key": "ssh-ed25519 AAAA test"}
	for k, v := range extra {
		body[k] = v
	}
	op = s.op("POST", projectPath("compute/vms/instances"), body)
	list := s.must("GET", projectPath("compute/vms/instances?names="+url.QueryEscape(name)), nil)
	items := list.list("items")
	if len(items) != 1 {
		s.t.Fatalf("VM %s not listed after create: %v", name, list)
	}
	return op, items[0].str("id")
}

func (s *sim) createDisk(name, location string) (op obj, diskID string) {
	s.t.Helper()
	op = s.op("POST", projectPath("storage/disks"), obj{"name": name, "size": "10GiB", "location": location})
	for _, d := range s.must("GET", projectPath("storage/disks"), nil).list("items") {
		if d.str("name") == name {
			return op, d.str("id")
		}
	}
	s.t.Fatalf("disk %s not listed after create", name)
	return nil, ""
}

// obj is a decoded JSON object with terse accessors for tests.
type obj map[string]any

func (o obj) str(k string) string {
	v, _ := o[k].(string)
	return v
}

func (o obj) obj(k string) obj {
	v, _ := o[k].(map[string]any)
	return v
}

func (o obj) list(k string) []obj {
	raw, _ := o[k].([]any)
	out := make([]obj, 0, len(raw))
	for _, x := range raw {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

// num is a decoded JSON number, or 0.
func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

func names(items []obj) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.str("name")
	}
	return out
}
