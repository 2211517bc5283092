package cloudsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFaultErrorWithRetryAfter(t *testing.T) {
	s := startSim(t, Options{Faults: []Fault{{
		Method: "GET", Path: "/v1alpha5/projects/*/compute/vms/**", Action: FaultError,
		Status: http.StatusTooManyRequests, RetryAfter: Duration(1500 * time.Millisecond), Times: 2,
	}}})
	list := projectPath("compute/vms/instances")
	for i := range 2 {
		resp, err := s.hc.Do(s.request(context.Background(), "GET", list, nil))
		if err != nil {
			t.Fatal(err)
		}
		var body crusoeErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "2" {
			t.Fatalf("request %d: status %d, Retry-After %q; want 429 and 2", i, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if body.Code != "too_many_requests" || body.ErrorID == "" || body.Message == "" {
			t.Errorf("request %d: body %+v, want the Crusoe error format", i, body)
		}
	}
	s.must("GET", list, nil) // times=2 is spent
	// Other methods and paths were never affected.
	s.createDisk("d", "us-east1-a")

	faults := s.run.Server.Faults()
	if len(faults) != 1 || faults[0].Hits != 2 || faults[0].ID == "" {
		t.Errorf("faults = %+v, want one with 2 hits", faults)
	}
	var faulted int
	for _, r := range s.run.Server.Requests() {
		if r.Fault == faults[0].ID {
			faulted++
			if r.Status != http.StatusTooManyRequests || r.Cloud != CloudCrusoe {
				t.Errorf("journal record %+v", r)
			}
		}
	}
	if faulted != 2 {
		t.Errorf("journal shows %d faulted requests, want 2", faulted)
	}
}

func TestFaultFailOperation(t *testing.T) {
	s := startSim(t, Options{})
	_, diskID := s.createDisk("d", "us-east1-a")
	s.clock.Advance(2 * time.Second)
	f := s.run.Server.AddFault(Fault{
		Method: "POST", Path: "/v1alpha5/projects/*/compute/vms/instances", Action: FaultFailOperation,
		Code: "INTERNAL", Message: "boom", Times: 1,
	})

	// A request that starts no operation does not use the fault up.
	s.wantError("POST", projectPath("compute/vms/instances"), obj{"name": "x"}, http.StatusBadRequest, "", "")
	if got := s.run.Server.Faults()[0].Hits; got != 0 {
		t.Errorf("hits after a rejected request = %d, want 0", got)
	}

	op, vmID := s.createVM("doomed", obj{"disks": []obj{{"disk_id": diskID}}})
	if op.str("state") != "IN_PROGRESS" {
		t.Fatalf("create answered %v", op)
	}
	// The request is applied: the VM exists while the operation runs.
	if got := s.must("GET", projectPath("compute/vms/instances/"+vmID), nil).str("state"); got != "STATE_CREATING" {
		t.Errorf("state = %s", got)
	}
	s.clock.Advance(2 * time.Second)
	done := s.must("GET", projectPath("compute/vms/instances/operations/"+op.str("operation_id")), nil)
	if done.str("state") != "FAILED" || done.obj("result").str("code") != "INTERNAL" || done.obj("result").str("message") != "boom" {
		t.Fatalf("operation = %v, want FAILED with INTERNAL/boom", done)
	}
	s.wantError("GET", projectPath("compute/vms/instances/"+vmID), nil, http.StatusNotFound, "not_found", "")
	if at := s.must("GET", projectPath("storage/disks/"+diskID), nil).list("attached_to"); len(at) != 0 {
		t.Errorf("disk still attached to the failed VM: %v", at)
	}
	inv := s.run.Server.Inventory()
	if inv.Count(CloudCrusoe, "vms") != 0 || inv.Count(CloudCrusoe, "disks") != 1 {
		t.Errorf("inventory = %v", inv)
	}
	var rec *RequestRecord
	for _, r := range s.run.Server.Requests() {
		if r.Fault == f.ID {
			rec = &r
		}
	}
	if rec == nil || rec.OperationID != op.str("operation_id") || rec.Status != http.StatusOK {
		t.Errorf("journal record of the faulted request = %+v", rec)
	}
	// times=1: the next create succeeds.
	op2, _ := s.createVM("fine", nil)
	s.clock.Advance(2 * time.Second)
	if got := s.must("GET", projectPath("compute/vms/instances/operations/"+op2.str("operation_id")), nil).str("state"); got != "SUCCEEDED" {
		t.Errorf("second create = %s", got)
	}
}

func TestFaultFailOperationOnDeleteKeepsResource(t *testing.T) {
	s := startSim(t, Options{Crusoe: CrusoeOptions{OperationLatency: -1}})
	_, vmID := s.createVM("stays", nil)
	s.run.Server.AddFault(Fault{Method: "DELETE", Path: "/v1alpha5/**", Action: FaultFailOperation})
	op := s.op("DELETE", projectPath("compute/vms/instances/"+vmID), nil)
	done := s.must("GET", projectPath("compute/vms/instances/operations/"+op.str("operation_id")), nil)
	if done.str("state") != "FAILED" || done.obj("result").str("code") != "internal_error" {
		t.Errorf("delete operation = %v", done)
	}
	if got := s.must("GET", projectPath("compute/vms/instances/"+vmID), nil).str("state"); got != "STATE_RUNNING" {
		t.Errorf("VM after a failed delete is %s, want STATE_RUNNING", got)
	}
}

func TestFaultDropResponse(t *testing.T) {
	s := startSim(t, Options{})
	s.run.Server.AddFault(Fault{Method: "POST", Path: "/v1alpha5/projects/*/compute/vms/instances", Action: FaultDropResponse, Times: 1})
	body := obj{"name": "ghost", "type": "c1a.2x", "location": "us-east1-a", "ssh_public_key": "k"}
	resp, err := s.hc.Do(s.request(context.Background(), "POST", projectPath("compute/vms/instances"), body))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got a response (%d), want the connection dropped", resp.StatusCode)
	}
	inv := s.run.Server.Inventory()
	if inv.Count(CloudCrusoe, "vms") != 1 || !strings.Contains(string(inv[CloudCrusoe]["vms"][0]), `"name":"ghost"`) {
		t.Fatalf("inventory = %v, want the VM the dropped request made", inv)
	}
	reqs := s.run.Server.Requests()
	last := reqs[len(reqs)-1]
	if last.Fault == "" || last.OperationID == "" || last.Status != http.StatusOK {
		t.Errorf("journal record = %+v", last)
	}
	// A retry that looks the name up first finds it.
	if n := len(s.must("GET", projectPath("compute/vms/instances?names=ghost"), nil).list("items")); n != 1 {
		t.Errorf("lookup by name found %d", n)
	}
}

func TestFaultDelay(t *testing.T) {
	s := startSim(t, Options{Faults: []Fault{{Path: "/v1alpha5/**", Method: "GET", Action: FaultDelay, Delay: Duration(150 * time.Millisecond), Times: 2}}})
	list := projectPath("storage/disks")
	start := time.Now()
	s.must("GET", list, nil)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("delayed request took %s, want at least 150ms", d)
	}
	// A client that gives up ends the wait early.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	s.run.Server.ClearFaults()
	s.run.Server.AddFault(Fault{Path: "/v1alpha5/**", Action: FaultDelay, Delay: Duration(time.Hour)})
	_, err := s.hc.Do(s.request(ctx, "GET", list, nil))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		reqs := s.run.Server.Requests()
		if last := reqs[len(reqs)-1]; last.Fault != "" && last.Status == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the abandoned request was not journaled with status 0: %+v", reqs[len(reqs)-1])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFaultSkipTimes(t *testing.T) {
	s := startSim(t, Options{})
	s.run.Server.AddFault(Fault{Path: "/v1alpha5/projects/*/storage/disks", Method: "get", Action: FaultError, Status: 503, Skip: 1, Times: 2})
	list := projectPath("storage/disks")
	var got []int
	for range 5 {
		status, _ := s.call("GET", list, nil)
		got = append(got, status)
	}
	want := []int{200, 503, 503, 200, 200}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses = %v, want %v", got, want)
		}
	}
	if f := s.run.Server.Faults()[0]; f.Hits != 2 || f.Method != "GET" || f.Code != "service_unavailable" {
		t.Errorf("fault = %+v", f)
	}
}

func TestFaultCloudFilter(t *testing.T) {
	s := startSim(t, Options{})
	s.run.Server.AddFault(Fault{Cloud: "kraftcloud", Path: "/**", Action: FaultError})
	s.must("GET", projectPath("storage/disks"), nil)
	s.run.Server.AddFault(Fault{Cloud: CloudCrusoe, Path: "/**", Action: FaultError, Status: 502})
	if status, _ := s.call("GET", projectPath("storage/disks"), nil); status != 502 {
		t.Errorf("status %d, want 502", status)
	}
}

func TestMatchPath(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"/v1alpha5/projects/*/compute/vms/instances/**", "/v1alpha5/projects/p/compute/vms/instances", true},
		{"/v1alpha5/projects/*/compute/vms/instances/**", "/v1alpha5/projects/p/compute/vms/instances/abc/attach-disks", true},
		{"/v1alpha5/projects/*/compute/vms/instances/**", "/v1alpha5/projects/p/storage/disks", false},
		{"/v1alpha5/projects/*/storage/disks", "/v1alpha5/projects/p/storage/disks", true},
		{"/v1alpha5/projects/*/storage/disks", "/v1alpha5/projects/p/storage/disks/d1", false},
		{"/v1alpha5/projects/*/storage/disks", "/v1alpha5/projects/p/q/storage/disks", false},
		{"/**/operations/*", "/v1alpha5/projects/p/storage/disks/operations/OP", true},
		{"/**", "/anything/at/all", true},
		{"/v1alpha5/**/disks/**", "/v1alpha5/projects/p/storage/disks", true},
		{"/v1alpha5/projects/*/compute/vms/instances/vm-*", "/v1alpha5/projects/p/compute/vms/instances/vm-7", true},
	} {
		if got := matchPath(tc.pattern, tc.path); got != tc.want {
			t.Errorf("matchPath(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}

func TestParseFault(t *testing.T) {
	good := []struct {
		in   string
		want Fault
	}{
		{"error:GET:/v1alpha5/projects/*/compute/vms/**:status=429,retry-after=2s,times=2",
			Fault{Method: "GET", Path: "/v1alpha5/projects/*/compute/vms/**", Action: "error", Status: 429, RetryAfter: Duration(2 * time.Second), Times: 2}},
		{"fail-operation:POST:/v1alpha5/projects/*/networking/vpc-firewall-rules:code=INTERNAL,message=boom",
			Fault{Method: "POST", Path: "/v1alpha5/projects/*/networking/vpc-firewall-rules", Action: "fail-operation", Code: "INTERNAL", Message: "boom"}},
		{"drop-response:/v1alpha5/**", Fault{Path: "/v1alpha5/**", Action: "drop-response"}},
		{"error:patch:/v1alpha5/**", Fault{Method: "PATCH", Path: "/v1alpha5/**", Action: "error"}},
		{"delay:*:/v1alpha5/**:delay=1.5,skip=3,cloud=crusoe",
			Fault{Path: "/v1alpha5/**", Action: "delay", Delay: Duration(1500 * time.Millisecond), Skip: 3, Cloud: "crusoe"}},
		{"error::/v1alpha5/**:status=503,message=down, try later,retry_after=10",
			Fault{Path: "/v1alpha5/**", Action: "error", Status: 503, Message: "down, try later", RetryAfter: Duration(10 * time.Second)}},
		{"fail-operation:*:/v1alpha5/**:rate=0.1,seed=42",
			Fault{Path: "/v1alpha5/**", Action: "fail-operation", Rate: 0.1, Seed: 42}},
		{"drop-response:POST:/v1alpha5/**:rate=2%", Fault{Method: "POST", Path: "/v1alpha5/**", Action: "drop-response", Rate: 0.02}},
		{"error:/x:rate=1,times=3", Fault{Path: "/x", Action: "error", Rate: 1, Times: 3}},
	}
	for _, tc := range good {
		got, err := ParseFault(tc.in)
		if err != nil {
			t.Errorf("ParseFault(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseFault(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	bad := []struct{ in, mention string }{
		{"", "missing action"},
		{"explode:GET:/x", `unknown action "explode"`},
		{"error", "missing path"},
		{"error:GET", "missing path"},
		{"error:GET:", "missing path"},
		{"error:GET:v1alpha5/x", "must start with /"},
		{"error:G3T:/x", `bad method "G3T"`},
		{"error:GET:/x:status=abc", `bad status "abc"`},
		{"error:GET:/x:status=200", "status 200"},
		{"error:GET:/x:colour=red", `unknown option "colour"`},
		{"error:GET:/x:times=-1", "times -1"},
		{"error:GET:/x:retry-after=soon", "bad retry-after"},
		{"delay:GET:/x", "needs a delay"},
		{"error:GET:/x/[:status=500", "bad segment"},
		{"error:GET:/x:status", `"status" is not key=value`},
		{"error:GET:/x:rate=often", `bad rate "often"`},
		{"error:GET:/x:rate=1.5", "rate 1.5 is not a probability"},
		{"error:GET:/x:rate=-10%", "rate -0.1 is not a probability"},
		{"error:GET:/x:rate=NaN", "rate NaN is not a probability"},
		{"error:GET:/x:seed=0x2a", `bad seed "0x2a"`},
	}
	for _, tc := range bad {
		_, err := ParseFault(tc.in)
		if err == nil {
			t.Errorf("ParseFault(%q) succeeded, want an error mentioning %q", tc.in, tc.mention)
			continue
		}
		if !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("ParseFault(%q) = %q, want it to mention %q", tc.in, err, tc.mention)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	var f Fault
	if err := json.Unmarshal([]byte(`{"path":"/x","action":"delay","delay":"250ms","retryAfter":3}`), &f); err != nil {
		t.Fatal(err)
	}
	if time.Duration(f.Delay) != 250*time.Millisecond || time.Duration(f.RetryAfter) != 3*time.Second {
		t.Errorf("decoded %+v", f)
	}
	b, _ := json.Marshal(f)
	if !strings.Contains(string(b), `"delay":"250ms"`) || !strings.Contains(string(b), `"retryAfter":"3s"`) {
		t.Errorf("encoded %s", b)
	}
	if err := json.Unmarshal([]byte(`{"delay":"soon"}`), &f); err == nil {
		t.Error("a bad duration decoded")
	}
	b, _ = json.Marshal(Fault{Path: "/x", Action: "error"})
	if strings.Contains(string(b), "delay") || strings.Contains(string(b), "retryAfter") {
		t.Errorf("zero durations are not omitted: %s", b)
	}
}

func TestUnknownPathIsJournaled(t *testing.T) {
	s := startSim(t, Options{})
	resp, err := http.Get(s.run.URL + "/v9/nothing")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "not_found") {
		t.Errorf("status %d body %s", resp.StatusCode, body)
	}
	reqs := s.run.Server.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/v9/nothing" || reqs[0].Cloud != "" || reqs[0].Status != 404 {
		t.Errorf("journal = %+v", reqs)
	}
}

// statusesUnder sends n GETs to a simulator with the one fault f installed
// and returns the status each got.
func statusesUnder(t *testing.T, f Fault, n int) (statuses []int, after Fault) {
	t.Helper()
	s := startSim(t, Options{})
	s.run.Server.AddFault(f)
	for range n {
		status, _ := s.call("GET", projectPath("storage/disks"), nil)
		statuses = append(statuses, status)
	}
	return statuses, s.run.Server.Faults()[0]
}

func TestFaultRateIsSeeded(t *testing.T) {
	const n = 1000
	f := Fault{Method: "GET", Path: "/v1alpha5/**", Action: FaultError, Status: 503, Rate: 0.3, Seed: 42}
	first, got := statusesUnder(t, f, n)
	hits := 0
	for _, st := range first {
		if st == http.StatusServiceUnavailable {
			hits++
		}
	}
	// Binomial(1000, 0.3): the mean is 300 and the standard deviation 14.5.
	if hits < 230 || hits > 370 {
		t.Errorf("rate 0.3 hit %d of %d requests, want about 300", hits, n)
	}
	if got.Hits != hits || got.Seen != n || got.Seed != 42 || got.Rate != 0.3 {
		t.Errorf("fault after the run = %+v, want %d hits of %d seen, seed 42", got, hits, n)
	}
	// The same seed faults the same requests; another seed, others.
	again, _ := statusesUnder(t, f, n)
	if !slices.Equal(first, again) {
		t.Error("the same seed faulted different requests")
	}
	f.Seed = 43
	other, _ := statusesUnder(t, f, n)
	if slices.Equal(first, other) {
		t.Error("seeds 42 and 43 faulted the same requests")
	}
}

func TestFaultRateWithSkipAndTimes(t *testing.T) {
	statuses, got := statusesUnder(t, Fault{Path: "/v1alpha5/**", Action: FaultError, Rate: 0.5, Seed: 7, Skip: 10, Times: 5}, 100)
	for i, st := range statuses[:10] {
		if st != http.StatusOK {
			t.Errorf("request %d, within skip=10, answered %d", i+1, st)
		}
	}
	failed := 0
	for _, st := range statuses {
		if st == http.StatusInternalServerError {
			failed++
		}
	}
	if failed != 5 || got.Hits != 5 {
		t.Errorf("%d requests failed (fault %+v), want times=5", failed, got)
	}
	// Once times is spent the fault no longer sees requests.
	if got.Seen >= 100 || got.Seen < 15 {
		t.Errorf("seen = %d", got.Seen)
	}
}

func TestFaultWithoutRateAppliesToEveryRequest(t *testing.T) {
	statuses, got := statusesUnder(t, Fault{Path: "/v1alpha5/**", Action: FaultError, Status: 502}, 20)
	for i, st := range statuses {
		if st != http.StatusBadGateway {
			t.Fatalf("request %d answered %d, want 502", i+1, st)
		}
	}
	if got.Seed != 0 || got.Hits != 20 || got.Seen != 20 {
		t.Errorf("fault = %+v: no seed without a rate, 20 hits", got)
	}
}

func TestFaultRateSeedIsPickedAndReported(t *testing.T) {
	s := startSim(t, Options{})
	f := s.run.Server.AddFault(Fault{Path: "/v1alpha5/**", Action: FaultError, Rate: 0.5})
	if f.Seed == 0 {
		t.Fatalf("AddFault = %+v: a fault with a rate and no seed gets one", f)
	}
	if listed := s.run.Server.Faults()[0]; listed.Seed != f.Seed {
		t.Errorf("listed seed %d, added %d", listed.Seed, f.Seed)
	}
	// The admin API takes and reports rates and seeds, and refuses a rate
	// that is no probability.
	ctx := context.Background()
	got, err := s.admin.AddFault(ctx, Fault{Path: "/x", Action: FaultDropResponse, Rate: 0.25, Seed: 9})
	if err != nil || got.Rate != 0.25 || got.Seed != 9 {
		t.Errorf("admin AddFault = %+v, %v", got, err)
	}
	if _, err := s.admin.AddFault(ctx, Fault{Path: "/x", Action: FaultError, Rate: 1.01}); err == nil || !strings.Contains(err.Error(), "rate 1.01") {
		t.Errorf("admin AddFault with rate 1.01: %v", err)
	}
}

// A fail-operation fault with a rate draws on every matching request, but
// only requests that start an operation count, as without a rate.
func TestFaultRateFailOperationCountsOperationsOnly(t *testing.T) {
	s := startSim(t, Options{Crusoe: CrusoeOptions{OperationLatency: -1}})
	s.run.Server.AddFault(Fault{Path: "/v1alpha5/**", Action: FaultFailOperation, Rate: 0.5, Seed: 3})
	failed := 0
	for i := range 40 {
		s.must("GET", projectPath("storage/disks"), nil)
		op := s.op("POST", projectPath("storage/disks"), obj{"name": fmt.Sprintf("d%d", i), "size": "10GiB", "location": "us-east1-a"})
		done := s.must("GET", projectPath("storage/disks/operations/"+op.str("operation_id")), nil)
		if done.str("state") == "FAILED" {
			failed++
		}
	}
	f := s.run.Server.Faults()[0]
	if f.Hits != failed || failed < 8 || failed > 32 {
		t.Errorf("%d of 40 creates failed; fault %+v (hits count failed operations only)", failed, f)
	}
	if f.Seen != 120 { // 40 lookups, 40 creates, 40 operation reads
		t.Errorf("seen = %d, want 120", f.Seen)
	}
}

// fail-operation fails deletes as it fails creates, in every cloud whose
// delete is asynchronous; what the delete acted on stays.
func TestFaultFailOperationOnDeletes(t *testing.T) {
	t.Run("crusoe disk and firewall rule", func(t *testing.T) {
		s := startSim(t, Options{Crusoe: CrusoeOptions{OperationLatency: -1}})
		_, diskID := s.createDisk("d", "us-east1-a")
		rule := s.op("POST", projectPath("networking/vpc-firewall-rules"), obj{
			"name": "r", "vpc_network_id": DefaultCrusoeVPCNetworkID, "action": "allow", "direction": "ingress", "protocols": []string{"tcp"},
			"sources": []obj{{"cidr": "0.0.0.0/0"}}, "destinations": []obj{{"cidr": "10.0.0.0/8"}},
		})
		ruleID := s.must("GET", projectPath("networking/vpc-firewall-rules/operations/"+rule.str("operation_id")), nil).obj("result").str("id")
		s.run.Server.AddFault(Fault{Method: "DELETE", Path: "/v1alpha5/**", Action: FaultFailOperation, Times: 2})
		for _, del := range []struct{ family, id string }{{"storage/disks", diskID}, {"networking/vpc-firewall-rules", ruleID}} {
			op := s.op("DELETE", projectPath(del.family+"/"+del.id), nil)
			done := s.must("GET", projectPath(del.family+"/operations/"+op.str("operation_id")), nil)
			if done.str("state") != "FAILED" {
				t.Errorf("delete of %s: operation %v, want FAILED", del.family, done)
			}
			s.must("GET", projectPath(del.family+"/"+del.id), nil)
		}
		if hits := s.run.Server.Faults()[0].Hits; hits != 2 {
			t.Errorf("hits = %d, want 2", hits)
		}
	})
	t.Run("cloudmc instance", func(t *testing.T) {
		s := startSim(t, Options{})
		m := s.cmc()
		task, id := m.createInstance("web-1", nil)
		s.clock.Advance(time.Minute)
		if got := m.getTask(task).str("taskStatus"); got != "SUCCESS" {
			t.Fatalf("create task %s", got)
		}
		s.run.Server.AddFault(Fault{Cloud: CloudCloudMC, Method: "DELETE", Path: "/api/v2/**", Action: FaultFailOperation, Times: 1})
		del := m.task("DELETE", cmcEnvPath("instances/"+id), nil)
		s.clock.Advance(time.Minute)
		if got := m.getTask(del).str("taskStatus"); got != "FAILED" {
			t.Errorf("delete task %s, want FAILED", got)
		}
		if got := m.state("instances", id); got != "Running" {
			t.Errorf("after a failed delete the instance is %s, want Running", got)
		}
	})
	t.Run("kraftcloud instance", func(t *testing.T) {
		s := startSim(t, Options{})
		k := s.kc()
		k.createInstance(obj{"name": "keep"})
		k.createInstance(obj{"name": "go"})
		s.run.Server.AddFault(Fault{Method: "DELETE", Path: "/v1/instances", Action: FaultFailOperation, Item: "keep", Code: "12"})
		_, out := k.call("DELETE", "/v1/instances", []obj{{"name": "keep"}, {"name": "go"}})
		items := byName(out.obj("data").list("instances"))
		if items["keep"].str("status") != "error" || int(num(items["keep"]["error"])) != 12 || items["go"].str("status") != "success" {
			t.Errorf("delete answered %v", out)
		}
		if got := k.state("keep"); got == "" {
			t.Error("the instance whose delete failed is gone")
		}
	})
	t.Run("container delete is synchronous", func(t *testing.T) {
		s := startSim(t, Options{})
		o := s.ovz()
		job := o.create("ct1", "template1")
		s.clock.Advance(time.Minute)
		id := o.job(job).str("entity_id")
		s.run.Server.AddFault(Fault{Method: "DELETE", Path: "/v0.1/**", Action: FaultFailOperation})
		o.must(http.StatusOK, "DELETE", "/containers/"+id, nil)
		if f := s.run.Server.Faults()[0]; f.Hits != 0 {
			t.Errorf("a delete that starts no job spent the fault: %+v", f)
		}
	})
}

// Every create the clouds accept is counted by name, whatever became of its
// operation, and so is every resource made (a create whose operation
// succeeded): a resource made twice under one name shows as 2, the
// duplicate a retry after a dropped response must never make.
func TestCreateCounters(t *testing.T) {
	s := startSim(t, Options{Crusoe: CrusoeOptions{OperationLatency: -1}, KraftCloud: KraftCloudOptions{Latency: -1}})
	_, diskID := s.createDisk("d", "us-east1-a")
	s.createVM("vm", obj{"disks": []obj{{"disk_id": diskID}}})
	s.op("POST", projectPath("networking/vpc-firewall-rules"), obj{
		"name": "r", "vpc_network_id": DefaultCrusoeVPCNetworkID, "action": "allow", "direction": "ingress", "protocols": []string{"tcp"},
		"sources": []obj{{"cidr": "0.0.0.0/0"}}, "destinations": []obj{{"cidr": "10.0.0.0/8"}},
	})
	// A refused create (the name is taken) is not counted...
	s.wantError("POST", projectPath("storage/disks"), obj{"name": "d", "size": "10GiB", "location": "us-east1-a"}, http.StatusConflict, "already_exists", "")
	// ...a create whose operation fails is, and so is the one made after it.
	s.run.Server.AddFault(Fault{Method: "POST", Path: "/v1alpha5/**", Action: FaultFailOperation, Times: 1})
	s.op("POST", projectPath("storage/disks"), obj{"name": "again", "size": "10GiB", "location": "us-east1-a"})
	s.createDisk("again", "us-east1-a")
	// A dropped response: the create was served, and counts.
	s.run.Server.AddFault(Fault{Method: "POST", Path: "/v1alpha5/**", Action: FaultDropResponse, Times: 1})
	if resp, err := s.hc.Do(s.request(context.Background(), "POST", projectPath("storage/disks"), obj{"name": "lost", "size": "10GiB", "location": "us-east1-a"})); err == nil {
		resp.Body.Close()
		t.Fatal("the dropped create answered")
	}
	k := s.kc()
	k.createInstance(obj{"name": "app", "autostart": false})
	k.one("DELETE", "/v1/instances/app", nil, "instances")
	k.createInstance(obj{"name": "app", "autostart": false})

	got := s.run.Server.Counters()
	want := map[string]map[string]int{
		"disk-creates":          {"d": 1, "again": 2, "lost": 1},
		"vm-creates":            {"vm": 1},
		"firewall-rule-creates": {"r": 1},
		// The resources made: the create whose operation failed made none;
		// the lost create's operation, never looked at, has not settled.
		"disk-made":          {"d": 1, "again": 1},
		"vm-made":            {"vm": 1},
		"firewall-rule-made": {"r": 1},
	}
	for kind, names := range want {
		if !maps.Equal(got[CloudCrusoe][kind], names) {
			t.Errorf("crusoe %s = %v, want %v", kind, got[CloudCrusoe][kind], names)
		}
	}
	if c := got[CloudKraftCloud]["instance-creates"]; !maps.Equal(c, map[string]int{"app": 2}) {
		t.Errorf("kraftcloud instance-creates = %v", c)
	}
}
