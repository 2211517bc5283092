package cloudsim

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudflow/cloudflow/clients/openvz"
)

// ovzCaller calls the container API of a sim; the API has no auth.
type ovzCaller struct {
	t testing.TB
	s *sim
}

func (s *sim) ovz() *ovzCaller { return &ovzCaller{t: s.t, s: s} }

// call sends a request (body as newRequest takes it) to /v0.1 + p and
// decodes the JSON answer.
func (o *ovzCaller) call(method, p string, body any) (int, obj) {
	o.t.Helper()
	return o.s.do(o.t, o.s.newRequest(o.t, o.t.Context(), method, "/v0.1"+p, body))
}

// must sends a request that must answer status with message "success".
func (o *ovzCaller) must(status int, method, p string, body any) obj {
	o.t.Helper()
	got, out := o.call(method, p, body)
	if got != status || out.str("message") != "success" {
		o.t.Fatalf("%s %s: %d %v, want %d success", method, p, got, out, status)
	}
	return out
}

// wantError sends a request that must fail with status, code and a message
// that contains msg; the body must be exactly {code, message}.
func (o *ovzCaller) wantError(method, p string, body any, status, code int, msg string) {
	o.t.Helper()
	got, out := o.call(method, p, body)
	if got != status || int(num(out["code"])) != code || !strings.Contains(out.str("message"), msg) {
		o.t.Errorf("%s %s %v: %d %v, want %d with code %d and a message containing %q", method, p, body, got, out, status, code, msg)
	}
	if keys := slices.Sorted(maps.Keys(out)); !slices.Equal(keys, []string{"code", "message"}) {
		o.t.Errorf("%s %s: error body %v, want {code, message}", method, p, out)
	}
}

// create enqueues a container and returns the job ID.
func (o *ovzCaller) create(name, tmpl string) string {
	o.t.Helper()
	out := o.must(http.StatusAccepted, "POST", "/containers/", obj{"name": name, "ostemplate": tmpl})
	if out.str("job_id") == "" || len(out) != 2 {
		o.t.Fatalf("create answered %v, want {message, job_id}", out)
	}
	return out.str("job_id")
}

func (o *ovzCaller) job(id string) obj {
	o.t.Helper()
	return o.must(http.StatusOK, "GET", "/jobs/"+id, nil)
}

func (o *ovzCaller) list() []obj {
	o.t.Helper()
	return o.must(http.StatusOK, "GET", "/containers/", nil).list("containers")
}

func TestOpenVZCreateJobLifecycle(t *testing.T) {
	s := startSim(t, Options{})
	o := s.ovz()
	start := s.clock.Now()

	jobID := o.create("ct100", "template1")
	job := o.job(jobID)
	ctID := job.str("entity_id")
	if job.str("status") != "pending" || job.str("entity_type") != "container" || ctID == "" {
		t.Fatalf("new job = %v", job)
	}
	// The container does not exist while its job is pending.
	o.wantError("GET", "/containers/"+ctID, nil, http.StatusNotFound, OpenVZCodeNotFound, "container "+ctID+" not found")
	if items := o.list(); len(items) != 0 {
		t.Errorf("list while pending = %v", items)
	}
	if inv := s.run.Server.Inventory(); inv.Count(CloudOpenVZ, "containers") != 0 {
		t.Errorf("inventory while pending = %v", inv)
	}

	s.clock.Advance(999 * time.Millisecond)
	if got := o.job(jobID).str("status"); got != "pending" {
		t.Errorf("after 999ms the job is %s", got)
	}
	s.clock.Advance(time.Millisecond)
	if got := o.job(jobID); got.str("status") != "done" || got.str("entity_id") != ctID {
		t.Errorf("after 1s the job is %v", got)
	}

	ct := o.must(http.StatusOK, "GET", "/containers/"+ctID, nil).obj("container")
	want := obj{"id": ctID, "name": "ct100", "ostemplate": "template1", "parameters": nil,
		"created_at": start.Add(time.Second).UTC().Format(time.RFC3339)}
	if !maps.EqualFunc(ct, want, func(a, b any) bool { return a == b }) || len(ct) != len(want) {
		t.Errorf("container = %v\nwant        %v", ct, want)
	}
	if items := o.list(); len(items) != 1 || items[0].str("id") != ctID {
		t.Errorf("list = %v", items)
	}
	inv := s.run.Server.Inventory()
	if inv.Count(CloudOpenVZ, "containers") != 1 {
		t.Fatalf("inventory = %v", inv)
	}
	var rendered obj
	_ = json.Unmarshal(inv[CloudOpenVZ]["containers"][0], &rendered)
	if !maps.EqualFunc(rendered, want, func(a, b any) bool { return a == b }) {
		t.Errorf("inventory renders %v, want what GET renders: %v", rendered, want)
	}
	if got := s.run.Server.Counters()[CloudOpenVZ][ovzContainerCreates]["ct100"]; got != 1 {
		t.Errorf("container-creates = %d", got)
	}
	var rec *RequestRecord
	for _, r := range s.run.Server.Requests() {
		if r.Method == "POST" {
			rec = &r
		}
	}
	if rec == nil || rec.Cloud != CloudOpenVZ || rec.Status != http.StatusAccepted || rec.OperationID != jobID || rec.Path != "/v0.1/containers/" {
		t.Errorf("journal record of the create = %+v", rec)
	}
}

func TestOpenVZDuplicateName(t *testing.T) {
	s := startSim(t, Options{})
	o := s.ovz()
	jobID := o.create("ct100", "template1")
	o.wantError("POST", "/containers/", obj{"name": "ct100", "ostemplate": "other"}, http.StatusUnprocessableEntity,
		OpenVZCodeDuplicateName, "ct100 already exists")
	s.clock.Advance(time.Second)
	ctID := o.job(jobID).str("entity_id")
	o.wantError("POST", "/containers/", obj{"name": "ct100", "ostemplate": "template1"}, http.StatusUnprocessableEntity,
		OpenVZCodeDuplicateName, "already exists")
	// Names are case-sensitive, like the host's.
	o.create("CT100", "template1")

	// A delete frees the name.
	o.must(http.StatusOK, "DELETE", "/containers/"+ctID, nil)
	again := o.create("ct100", "template1")
	s.clock.Advance(time.Second)
	if got := o.job(again); got.str("status") != "done" || got.str("entity_id") == ctID {
		t.Errorf("re-created container's job = %v", got)
	}
	// Neither the refused creates nor anything else made a container.
	if got := s.run.Server.Counters()[CloudOpenVZ][ovzContainerCreates]; got["ct100"] != 2 || got["CT100"] != 1 {
		t.Errorf("container-creates = %v", got)
	}
}

func TestOpenVZFailedJob(t *testing.T) {
	s := startSim(t, Options{})
	o := s.ovz()
	f := s.run.Server.AddFault(Fault{Method: "POST", Path: "/v0.1/containers", Action: FaultFailOperation, Message: "no space left", Times: 1})

	// A refused request starts no job and does not use the fault up.
	o.wantError("POST", "/containers/", obj{"name": "ct100"}, http.StatusBadRequest, OpenVZCodeInvalidRequest, `"ostemplate" is required`)
	if got := s.run.Server.Faults()[0].Hits; got != 0 {
		t.Errorf("hits after a refused request = %d", got)
	}

	jobID := o.create("doomed", "template1")
	if got := o.job(jobID).str("status"); got != "pending" {
		t.Errorf("the doomed job is %s before its time", got)
	}
	// Its name is taken while it is pending.
	o.wantError("POST", "/containers/", obj{"name": "doomed", "ostemplate": "t"}, http.StatusUnprocessableEntity, OpenVZCodeDuplicateName, "")
	s.clock.Advance(time.Second)
	job := o.job(jobID)
	if job.str("status") != "failed" {
		t.Fatalf("job = %v, want failed", job)
	}
	// A failed job gives no reason: the body is the job, nothing more.
	if keys := slices.Sorted(maps.Keys(job)); !slices.Equal(keys, []string{"entity_id", "entity_type", "message", "status"}) ||
		strings.Contains(job.str("message"), "no space") {
		t.Errorf("failed job = %v, want no reason", job)
	}
	o.wantError("GET", "/containers/"+job.str("entity_id"), nil, http.StatusNotFound, OpenVZCodeNotFound, "")
	if items := o.list(); len(items) != 0 {
		t.Errorf("list after a failed job = %v", items)
	}
	if inv := s.run.Server.Inventory(); !inv.Empty() {
		t.Errorf("inventory after a failed job = %v", inv)
	}
	if got := s.run.Server.Counters()[CloudOpenVZ][ovzContainerCreates]; len(got) != 0 {
		t.Errorf("container-creates = %v", got)
	}
	var faulted []RequestRecord
	for _, r := range s.run.Server.Requests() {
		if r.Fault == f.ID {
			faulted = append(faulted, r)
		}
	}
	if len(faulted) != 1 || faulted[0].OperationID != jobID || faulted[0].Status != http.StatusAccepted {
		t.Errorf("faulted requests = %+v", faulted)
	}

	// The name is free again, and times=1 is spent: the next create succeeds.
	next := o.create("doomed", "template1")
	s.clock.Advance(time.Second)
	if got := o.job(next).str("status"); got != "done" {
		t.Errorf("second create = %s", got)
	}
}

func TestOpenVZCreateValidation(t *testing.T) {
	s := startSim(t, Options{})
	o := s.ovz()
	for _, tc := range []struct {
		body    any
		mention string
	}{
		{nil, "JSON object"},
		{`[{"name": "ct100", "ostemplate": "t"}]`, "JSON object"},
		{`{"name": "ct100", "ostemplate": "t"} {}`, "unexpected data"},
		{`{"name": `, "malformed JSON"},
		{obj{"ostemplate": "t"}, `field "name" is required`},
		{obj{"name": "ct100"}, `field "ostemplate" is required`},
		{obj{"name": 100, "ostemplate": "t"}, `field "name" must be a string, not 100`},
		{obj{"name": "ct100", "ostemplate": nil}, `field "ostemplate" must be a string`},
		{obj{"name": "ct100", "ostemplate": "t", "os_template": "t"}, `unknown field "os_template"`},
		{obj{"name": "", "ostemplate": "t"}, `field "name" must not be empty`},
		{obj{"name": "ct 100", "ostemplate": "t"}, `may hold only letters, digits`},
		{obj{"name": "-ct", "ostemplate": "t"}, "must start with a letter or digit"},
		{obj{"name": strings.Repeat("c", 65), "ostemplate": "t"}, "more than 64"},
		{obj{"name": "ct100", "ostemplate": "../t"}, `field "ostemplate"`},
		{obj{"name": "ct100", "ostemplate": strings.Repeat("t", 129)}, "more than 128"},
	} {
		o.wantError("POST", "/containers/", tc.body, http.StatusBadRequest, OpenVZCodeInvalidRequest, tc.mention)
	}
	if s.run.Server.Counters()[CloudOpenVZ][ovzContainerCreates] == nil || len(s.run.Server.Requests()) == 0 {
		t.Fatal("no counters or journal")
	}
	for _, r := range s.run.Server.Requests() {
		if r.OperationID != "" {
			t.Errorf("a refused create started job %s", r.OperationID)
		}
	}
	// Names and templates of every allowed shape are taken.
	o.create("a", "centos-7-x86_64")
	o.create("web_1.prod-2", "ubuntu-20.04-x86_64-minimal")
	o.create(strings.Repeat("c", 64), strings.Repeat("t", 128))
}

// readyContainer creates a container, lets its job finish and returns its ID.
func (o *ovzCaller) readyContainer(name string) string {
	o.t.Helper()
	jobID := o.create(name, "template1")
	o.s.clock.Advance(time.Second)
	job := o.job(jobID)
	if job.str("status") != "done" {
		o.t.Fatalf("job of %s = %v", name, job)
	}
	return job.str("entity_id")
}

func TestOpenVZUpdateParameters(t *testing.T) {
	s := startSim(t, Options{})
	o := s.ovz()
	id := o.readyContainer("ct100")
	p := "/containers/" + id
	params := func() obj {
		t.Helper()
		return o.must(http.StatusOK, "GET", p, nil).obj("container").obj("parameters")
	}

	// The reference's request and answer.
	reference := obj{"hostname": "hostname1", "cpus": "2", "memsize": "1", "memsize_units": "G",
		"ipadd": "10.0.0.1", "size": "10", "size_units": "G", "nameserver": "1.1.1.1,8.8.8.8"}
	out := o.must(http.StatusOK, "PATCH", p, obj{"parameters": reference})
	if len(out) != 2 || out["code"] != float64(0) {
		t.Errorf("PATCH answered %v, want {message: success, code: 0}", out)
	}
	if got := params(); !maps.EqualFunc(got, reference, func(a, b any) bool { return a == b }) {
		t.Errorf("parameters = %v, want %v", got, reference)
	}
	// A later PATCH merges.
	o.must(http.StatusOK, "PATCH", p, obj{"parameters": obj{"cpus": "4", "memsize": "512", "memsize_units": "M"}})
	if got := params(); got.str("cpus") != "4" || got.str("memsize") != "512" || got.str("memsize_units") != "M" || got.str("hostname") != "hostname1" {
		t.Errorf("parameters after a merge = %v", got)
	}

	before := params()
	for _, tc := range []struct {
		body    any
		mention string
	}{
		{nil, "JSON object"},
		{obj{}, `field "parameters" is required`},
		{obj{"parameters": nil}, `field "parameters" must be an object`},
		{obj{"parameters": "cpus=2"}, `field "parameters" must be an object`},
		{obj{"parameters": obj{}}, `field "parameters" is empty`},
		{obj{"parameters": obj{"cpus": "2"}, "force": true}, `unknown field "force"`},
		{obj{"parameters": obj{"ram": "1G"}}, `unknown parameter "ram"`},
		{obj{"parameters": obj{"cpus": 2}}, `field "parameters.cpus" must be a string, not 2`},
		{obj{"parameters": obj{"cpus": "0"}}, `parameter "cpus" must be a positive whole number, not "0"`},
		{obj{"parameters": obj{"cpus": "-1"}}, `"cpus"`},
		{obj{"parameters": obj{"cpus": "1.5"}}, `"cpus"`},
		{obj{"parameters": obj{"cpus": "two"}}, `"cpus"`},
		{obj{"parameters": obj{"memsize": "1"}}, `parameters "memsize" and "memsize_units" go together`},
		{obj{"parameters": obj{"memsize_units": "G"}}, `go together`},
		{obj{"parameters": obj{"memsize": "1", "memsize_units": "GB"}}, `parameter "memsize_units" must be one of K, M, G, not "GB"`},
		{obj{"parameters": obj{"memsize": "1", "memsize_units": "g"}}, `"memsize_units"`},
		{obj{"parameters": obj{"memsize": "1G", "memsize_units": "G"}}, `parameter "memsize" must be a positive whole number`},
		{obj{"parameters": obj{"size": "10", "size_units": "T"}}, `"size_units"`},
		{obj{"parameters": obj{"size": "0", "size_units": "G"}}, `parameter "size"`},
		{obj{"parameters": obj{"size": "10"}}, `parameters "size" and "size_units" go together`},
		{obj{"parameters": obj{"ipadd": "10.0.0.256"}}, `parameter "ipadd" must be an IPv4 address`},
		{obj{"parameters": obj{"ipadd": "fe80::1"}}, `"ipadd"`},
		{obj{"parameters": obj{"ipadd": "10.0.0.1/24"}}, `"ipadd"`},
		{obj{"parameters": obj{"nameserver": "1.1.1.1;8.8.8.8"}}, `parameter "nameserver" must be IPv4 addresses separated by commas`},
		{obj{"parameters": obj{"nameserver": "1.1.1.1,"}}, `"nameserver"`},
		{obj{"parameters": obj{"nameserver": ""}}, `"nameserver"`},
		{obj{"parameters": obj{"hostname": "web_1"}}, `parameter "hostname" must be a host name`},
		{obj{"parameters": obj{"hostname": "-web"}}, `"hostname"`},
		{obj{"parameters": obj{"hostname": "a..b"}}, `"hostname"`},
		{obj{"parameters": obj{"hostname": strings.Repeat("a", 64)}}, `"hostname"`},
		// One bad value refuses the whole request.
		{obj{"parameters": obj{"cpus": "8", "hostname": "bad host"}}, `"hostname"`},
	} {
		o.wantError("PATCH", p, tc.body, http.StatusBadRequest, OpenVZCodeInvalidRequest, tc.mention)
	}
	if got := params(); !maps.EqualFunc(got, before, func(a, b any) bool { return a == b }) {
		t.Errorf("refused PATCHes changed the parameters: %v, was %v", got, before)
	}

	// A container whose job is pending cannot be patched.
	pending := o.job(o.create("later", "template1")).str("entity_id")
	o.wantError("PATCH", "/containers/"+pending, obj{"parameters": obj{"cpus": "2"}}, http.StatusNotFound, OpenVZCodeNotFound, "not found")
}

func TestOpenVZDelete(t *testing.T) {
	s := startSim(t, Options{})
	o := s.ovz()
	id := o.readyContainer("ct100")
	keep := o.readyContainer("ct101")
	out := o.must(http.StatusOK, "DELETE", "/containers/"+id, nil)
	if out["code"] != float64(0) {
		t.Errorf("DELETE answered %v", out)
	}
	o.wantError("GET", "/containers/"+id, nil, http.StatusNotFound, OpenVZCodeNotFound, "not found")
	o.wantError("DELETE", "/containers/"+id, nil, http.StatusNotFound, OpenVZCodeNotFound, "not found")
	if items := o.list(); len(items) != 1 || items[0].str("id") != keep {
		t.Errorf("list after delete = %v", items)
	}
	// A container whose job is pending cannot be deleted: it does not exist yet.
	pending := o.job(o.create("later", "template1")).str("entity_id")
	o.wantError("DELETE", "/containers/"+pending, nil, http.StatusNotFound, OpenVZCodeNotFound, "")
	s.clock.Advance(time.Second)
	o.must(http.StatusOK, "DELETE", "/containers/"+pending, nil)
	c := s.run.Server.Counters()[CloudOpenVZ]
	if c[ovzContainerDeletes]["ct100"] != 1 || c[ovzContainerDeletes]["later"] != 1 || c[ovzContainerDeletes]["ct101"] != 0 || c[ovzContainerCreates]["ct100"] != 1 {
		t.Errorf("counters = %v (they survive the delete)", c)
	}
}

func TestOpenVZNotFoundAndRouting(t *testing.T) {
	s := startSim(t, Options{})
	o := s.ovz()
	const missing = "95944ace-9a36-47f0-8d7e-8ed8ac4125a0"
	o.wantError("GET", "/containers/"+missing, nil, http.StatusNotFound, OpenVZCodeNotFound, "container "+missing+" not found")
	o.wantError("PATCH", "/containers/"+missing, obj{"parameters": obj{"cpus": "1"}}, http.StatusNotFound, OpenVZCodeNotFound, "not found")
	o.wantError("DELETE", "/containers/"+missing, nil, http.StatusNotFound, OpenVZCodeNotFound, "not found")
	o.wantError("GET", "/jobs/"+missing, nil, http.StatusNotFound, OpenVZCodeNotFound, "job "+missing+" not found")
	o.wantError("GET", "/jobs/not-a-uuid", nil, http.StatusNotFound, OpenVZCodeNotFound, "")
	o.wantError("GET", "/volumes/", nil, http.StatusNotFound, OpenVZCodeNotFound, "No such endpoint")
	o.wantError("GET", "/containers/"+missing+"/", nil, http.StatusNotFound, OpenVZCodeNotFound, "No such endpoint")
	o.wantError("PUT", "/containers/"+missing, obj{}, http.StatusMethodNotAllowed, OpenVZCodeInvalidRequest, "allowed: GET, PATCH, DELETE")
	o.wantError("DELETE", "/containers/", nil, http.StatusMethodNotAllowed, OpenVZCodeInvalidRequest, "allowed: GET, POST")
	o.wantError("POST", "/jobs/"+missing, nil, http.StatusMethodNotAllowed, OpenVZCodeInvalidRequest, "allowed: GET")

	// The collection without its trailing slash is redirected, method kept.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", s.run.URL+"/v0.1/containers", strings.NewReader(`{"name":"x","ostemplate":"t"}`))
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "/v0.1/containers/" {
		t.Errorf("POST /v0.1/containers = %d to %q, want 308 to /v0.1/containers/", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, out := o.call("POST", "/containers", obj{"name": "x", "ostemplate": "t"}); out.str("job_id") == "" {
		t.Errorf("a client that follows the redirect got %v", out)
	}

	// Whole-segment prefixes: /v0.1 is this cloud's, its neighbours are not.
	for p, want := range map[string]string{
		"/v0.1":                 CloudOpenVZ,
		"/v0.1/containers/":     CloudOpenVZ,
		"/v0.1/jobs/x":          CloudOpenVZ,
		"/v1/instances":         CloudKraftCloud,
		"/v1alpha5/projects/p":  CloudCrusoe,
		"/v0.10/containers/":    "",
		"/v0.1x/containers/":    "",
		"/v0/containers/":       "",
		"/containers/":          "",
		"/api/v2/instances":     "-" + CloudOpenVZ, // another cloud's, or none
		"/api/v0.1/containers/": "-" + CloudOpenVZ,
	} {
		c := s.run.Server.cloudFor(p)
		got := ""
		if c != nil {
			got = c.name()
		}
		if not, ok := strings.CutPrefix(want, "-"); ok {
			if got == not {
				t.Errorf("cloudFor(%q) = %s", p, got)
			}
		} else if got != want {
			t.Errorf("cloudFor(%q) = %q, want %q", p, got, want)
		}
	}
	for _, r := range s.run.Server.Requests() {
		if strings.HasPrefix(r.Path, "/v0.1/") && r.Cloud != CloudOpenVZ {
			t.Errorf("journal record %+v is not the container API's", r)
		}
	}
}

func TestOpenVZFaults(t *testing.T) {
	s := startSim(t, Options{})
	o := s.ovz()
	srv := s.run.Server

	// An error fault answers in the API's format; a numeric code is kept,
	// else the code follows the status.
	srv.AddFault(Fault{Method: "GET", Path: "/v0.1/jobs/*", Action: FaultError, Status: 503, RetryAfter: Duration(2 * time.Second), Times: 1})
	srv.AddFault(Fault{Method: "GET", Path: "/v0.1/containers", Action: FaultError, Status: 400, Code: "100", Message: "bad", Times: 1})
	srv.AddFault(Fault{Cloud: CloudOpenVZ, Path: "/**", Method: "DELETE", Action: FaultError, Status: 422, Times: 1})
	o.wantError("GET", "/jobs/x", nil, http.StatusServiceUnavailable, OpenVZCodeInternal, "injected service unavailable")
	o.wantError("GET", "/containers/", nil, http.StatusBadRequest, 100, "bad")
	o.wantError("DELETE", "/containers/x", nil, http.StatusUnprocessableEntity, OpenVZCodeDuplicateName, "")
	o.wantError("GET", "/jobs/x", nil, http.StatusNotFound, OpenVZCodeNotFound, "") // times=1 is spent

	// A dropped answer still enqueued the job: the container appears and its
	// name is taken, though the client never saw the job ID.
	srv.AddFault(Fault{Method: "POST", Path: "/v0.1/containers", Action: FaultDropResponse, Times: 1})
	req, _ := http.NewRequest("POST", s.run.URL+"/v0.1/containers/", strings.NewReader(`{"name":"ghost","ostemplate":"t"}`))
	if resp, err := s.hc.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the dropped create answered %d", resp.StatusCode)
	}
	o.wantError("POST", "/containers/", obj{"name": "ghost", "ostemplate": "t"}, http.StatusUnprocessableEntity, OpenVZCodeDuplicateName, "")
	s.clock.Advance(time.Second)
	if items := o.list(); len(items) != 1 || items[0].str("name") != "ghost" {
		t.Errorf("list after a dropped create = %v", items)
	}

	// A delay fault holds the answer, then serves it.
	srv.AddFault(Fault{Method: "GET", Path: "/v0.1/containers", Action: FaultDelay, Delay: Duration(50 * time.Millisecond), Times: 1})
	began := time.Now()
	o.list()
	if waited := time.Since(began); waited < 50*time.Millisecond {
		t.Errorf("delayed list answered after %v", waited)
	}
}

func TestOpenVZLatencyAndReset(t *testing.T) {
	s := startSim(t, Options{OpenVZ: OpenVZOptions{Latency: -1}})
	o := s.ovz()
	// Instant: done as of the next request.
	jobID := o.create("ct100", "template1")
	if got := o.job(jobID).str("status"); got != "done" {
		t.Errorf("instant job = %s", got)
	}

	s.run.Server.SetOperationLatency(CloudOpenVZ, 5*time.Second)
	slow := o.create("ct101", "template1")
	s.clock.Advance(4 * time.Second)
	if got := o.job(slow).str("status"); got != "pending" {
		t.Errorf("after 4s of 5 the job is %s", got)
	}
	s.clock.Advance(time.Second)
	if got := o.job(slow).str("status"); got != "done" {
		t.Errorf("after 5s the job is %s", got)
	}
	if err := s.admin.SetOperationLatency(t.Context(), CloudOpenVZ, 3*time.Second); err != nil {
		t.Fatalf("admin latency: %v", err)
	}
	viaAdmin := o.create("ct102", "template1")
	s.clock.Advance(2 * time.Second)
	if got := o.job(viaAdmin).str("status"); got != "pending" {
		t.Errorf("after 2s of 3 the job is %s", got)
	}

	inv, err := s.admin.Inventory(t.Context())
	if err != nil || inv.Count(CloudOpenVZ, "containers") != 2 {
		t.Fatalf("inventory = %v, %v", inv, err)
	}
	if err := s.admin.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	if inv := s.run.Server.Inventory(); !inv.Empty() {
		t.Errorf("inventory after Reset = %v", inv)
	}
	o.wantError("GET", "/jobs/"+jobID, nil, http.StatusNotFound, OpenVZCodeNotFound, "")
	if c := s.run.Server.Counters()[CloudOpenVZ]; len(c[ovzContainerCreates]) != 0 {
		t.Errorf("counters after Reset = %v", c)
	}
	// Names are free again, and the configured latency (instant) is back.
	again := o.create("ct102", "template1")
	if got := o.job(again).str("status"); got != "done" {
		t.Errorf("after Reset the job is %s, want the configured instant latency", got)
	}

	// The default latency is one second.
	d := startSim(t, Options{}).ovz()
	j := d.create("ct", "t")
	d.s.clock.Advance(DefaultOpenVZLatency - time.Nanosecond)
	if got := d.job(j).str("status"); got != "pending" {
		t.Errorf("default latency: job %s before 1s", got)
	}
}

// TestOpenVZWithClient drives the simulator with the typed client, as a
// worker would.
func TestOpenVZWithClient(t *testing.T) {
	s := startSim(t, Options{})
	srv := s.run.Server
	c, err := openvz.NewFromConfig(openvz.Config{Endpoint: s.run.URL + "/v0.1"}, openvz.WithHTTPClient(s.hc))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	job, err := c.Containers.Create(ctx, &openvz.ContainerCreateRequest{Name: "ct100", OSTemplate: "template1"})
	if err != nil || job.ID == "" {
		t.Fatalf("Create = %+v, %v", job, err)
	}
	_, err = c.Containers.Create(ctx, &openvz.ContainerCreateRequest{Name: "ct100", OSTemplate: "template1"})
	if !openvz.IsDuplicate(err) {
		t.Errorf("duplicate create: %v", err)
	}
	polled, err := c.Jobs.Get(ctx, job.ID)
	if err != nil || polled.Status != openvz.JobPending || polled.Done() || polled.EntityType != openvz.EntityContainer {
		t.Fatalf("Jobs.Get = %+v, %v", polled, err)
	}
	if _, err := c.Containers.Get(ctx, polled.EntityID); !openvz.IsNotFound(err) {
		t.Errorf("Get of a pending container: %v", err)
	}
	s.clock.Advance(time.Second)
	polled, err = c.Jobs.Get(ctx, job.ID)
	if err != nil || !polled.Succeeded() || polled.Err() != nil {
		t.Fatalf("Jobs.Get after 1s = %+v, %v", polled, err)
	}
	ct, err := c.Containers.Get(ctx, polled.EntityID)
	if err != nil || ct.Name != "ct100" || ct.OSTemplate != "template1" || ct.Parameters != nil || ct.CreatedAt == "" {
		t.Fatalf("Containers.Get = %+v, %v", ct, err)
	}
	p := (&openvz.ContainerParameters{Hostname: "web-1"}).SetCPUs(2).SetMemory(1, openvz.Gigabytes)
	if err := c.Containers.Update(ctx, ct.ID, p); err != nil {
		t.Fatalf("Update: %v", err)
	}
	list, err := c.Containers.List(ctx)
	if err != nil || len(list) != 1 || list[0].Parameters == nil || *list[0].Parameters != *p {
		t.Fatalf("List = %+v, %v", list, err)
	}
	// The simulator refuses what the client would: bypass the client's check.
	var apiErr *openvz.APIError
	code, _ := s.ovz().call("PATCH", "/containers/"+ct.ID, obj{"parameters": obj{"cpus": "0"}})
	if code != http.StatusBadRequest {
		t.Errorf("PATCH cpus 0 = %d", code)
	}
	if err := c.Containers.Delete(ctx, ct.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	err = c.Containers.Delete(ctx, ct.ID)
	if !openvz.IsNotFound(err) || !errors.As(err, &apiErr) || apiErr.Code != openvz.CodeNotFound {
		t.Errorf("second Delete: %v", err)
	}

	// A fail-operation fault fails the job; the client reports it, no reason given.
	srv.AddFault(Fault{Method: "POST", Path: "/v0.1/containers", Action: FaultFailOperation, Times: 1})
	job, err = c.Containers.Create(ctx, &openvz.ContainerCreateRequest{Name: "doomed", OSTemplate: "template1"})
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Second)
	polled, err = c.Jobs.Get(ctx, job.ID)
	var jobErr *openvz.JobError
	if err != nil || polled.Status != openvz.JobFailed || !errors.As(polled.Err(), &jobErr) {
		t.Fatalf("failed job = %+v, %v", polled, err)
	}
	if _, err := c.Containers.Get(ctx, polled.EntityID); !openvz.IsNotFound(err) {
		t.Errorf("Get of the failed job's container: %v", err)
	}
	// The simulator's codes are the ones the client names.
	if OpenVZCodeInvalidRequest != openvz.CodeInvalidRequest || OpenVZCodeDuplicateName != openvz.CodeDuplicateName ||
		OpenVZCodeNotFound != openvz.CodeNotFound || OpenVZCodeInternal != openvz.CodeInternal {
		t.Error("the simulator's error codes differ from the client's")
	}
}
