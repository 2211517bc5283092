package cloudsim

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAdminClient(t *testing.T) {
	s := startSim(t, Options{})
	ctx := context.Background()
	a := s.admin

	if err := a.Healthz(ctx); err != nil {
		t.Fatalf("Healthz: %v", err)
	}
	inv, err := a.Inventory(ctx)
	if err != nil || !inv.Empty() {
		t.Fatalf("Inventory = %v, %v; want empty", inv, err)
	}

	f, err := a.AddFault(ctx, Fault{Method: "POST", Path: "/v1alpha5/projects/*/storage/disks", Action: FaultError, Status: 503, RetryAfter: Duration(time.Second)})
	if err != nil || f.ID == "" || f.Code != "service_unavailable" {
		t.Fatalf("AddFault = %+v, %v", f, err)
	}
	if _, err := a.AddFault(ctx, Fault{Path: "no-slash", Action: FaultError}); err == nil || !strings.Contains(err.Error(), "must start with /") {
		t.Errorf("AddFault of a bad fault: %v", err)
	}
	if _, err := a.AddFault(ctx, Fault{Path: "/x", Action: FaultError, Cloud: "nimbus"}); err == nil || !strings.Contains(err.Error(), `unknown cloud "nimbus"`) {
		t.Errorf("AddFault with an unknown cloud: %v", err)
	}
	s.wantError("POST", projectPath("storage/disks"), obj{"name": "d", "size": "10GiB", "location": "us-east1-a"}, http.StatusServiceUnavailable, "service_unavailable", "")
	faults, err := a.Faults(ctx)
	if err != nil || len(faults) != 1 || faults[0].Hits != 1 || time.Duration(faults[0].RetryAfter) != time.Second {
		t.Fatalf("Faults = %+v, %v", faults, err)
	}
	if err := a.ClearFaults(ctx); err != nil {
		t.Fatal(err)
	}
	if faults, _ := a.Faults(ctx); len(faults) != 0 {
		t.Errorf("Faults after ClearFaults = %+v", faults)
	}
	f2, _ := a.AddFault(ctx, Fault{Path: "/x", Action: FaultError})
	if err := a.RemoveFault(ctx, f2.ID); err != nil {
		t.Errorf("RemoveFault: %v", err)
	}
	if err := a.RemoveFault(ctx, f2.ID); err == nil {
		t.Error("RemoveFault of a removed fault succeeded")
	}

	if err := a.SetOperationLatency(ctx, CloudCrusoe, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := a.SetOperationLatency(ctx, "nimbus", time.Second); err == nil {
		t.Error("SetOperationLatency accepted an unknown cloud")
	}
	op, _ := s.createDisk("d", "us-east1-a")
	s.clock.Advance(4 * time.Second)
	opPath := projectPath("storage/disks/operations/" + op.str("operation_id"))
	if got := s.must("GET", opPath, nil).str("state"); got != "IN_PROGRESS" {
		t.Errorf("after 4s of 5 the operation is %s", got)
	}
	s.clock.Advance(time.Second)
	if got := s.must("GET", opPath, nil).str("state"); got != "SUCCEEDED" {
		t.Errorf("after 5s the operation is %s", got)
	}

	reqs, err := a.Requests(ctx)
	if err != nil || len(reqs) == 0 {
		t.Fatalf("Requests = %v, %v", reqs, err)
	}
	var sawCreate bool
	for _, r := range reqs {
		if strings.HasPrefix(r.Path, "/_sim") {
			t.Errorf("admin request journaled: %+v", r)
		}
		if r.Method == "POST" && r.Status == 200 && r.OperationID == op.str("operation_id") && r.Cloud == CloudCrusoe && !r.Time.IsZero() {
			sawCreate = true
		}
	}
	if !sawCreate {
		t.Errorf("journal lacks the disk create with its operation: %+v", reqs)
	}

	inv, err = a.Inventory(ctx)
	if err != nil || inv.Count(CloudCrusoe, "disks") != 1 {
		t.Fatalf("Inventory = %v, %v", inv, err)
	}
	if err := a.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if inv, _ := a.Inventory(ctx); !inv.Empty() {
		t.Errorf("Inventory after Reset = %v", inv)
	}
	if reqs, _ := a.Requests(ctx); len(reqs) != 0 {
		t.Errorf("Requests after Reset = %d", len(reqs))
	}

	bad := &AdminClient{BaseURL: s.run.URL + "/nope"}
	if err := bad.Reset(ctx); err == nil {
		t.Error("a request to a missing endpoint succeeded")
	}
}

func TestStartValidatesFaults(t *testing.T) {
	if _, err := Start("127.0.0.1:0", Options{Faults: []Fault{{Path: "/x", Action: "explode"}}}); err == nil || !strings.Contains(err.Error(), "explode") {
		t.Errorf("Start with a bad fault: %v", err)
	}
	if _, err := Start("256.0.0.1:0", Options{}); err == nil {
		t.Error("Start on a bad address succeeded")
	}
}

func TestRunningURL(t *testing.T) {
	r, err := Start("127.0.0.1:0", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !strings.HasPrefix(r.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %s", r.URL)
	}
	resp, err := http.Get(r.URL + "/_sim/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz = %d", resp.StatusCode)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := http.Get(r.URL + "/_sim/healthz"); err == nil {
		t.Error("the server still answers after Close")
	}
}

func TestJournalCap(t *testing.T) {
	var j journal
	for i := range journalCap + 5 {
		j.add(RequestRecord{Status: i})
	}
	got := j.list()
	if len(got) != journalCap || got[0].Status != 5 || got[len(got)-1].Status != journalCap+4 {
		t.Errorf("journal holds %d records from %d to %d", len(got), got[0].Status, got[len(got)-1].Status)
	}
}

func TestAdminCounters(t *testing.T) {
	s := startSim(t, Options{Crusoe: CrusoeOptions{OperationLatency: -1}, KraftCloud: KraftCloudOptions{Latency: -1}})
	ctx := context.Background()
	got, err := s.admin.Counters(ctx)
	if err != nil || got[CloudCrusoe] == nil || len(got[CloudCrusoe]["vm-starts"]) != 0 || got[CloudKraftCloud]["instance-starts"] == nil {
		t.Fatalf("Counters = %v, %v; want both clouds, empty", got, err)
	}

	_, vmID := s.createVM("vm-1", nil)
	vmPath := projectPath("compute/vms/instances/" + vmID)
	s.op("PATCH", vmPath, obj{"action": "STOP"})
	s.op("PATCH", vmPath, obj{"action": "START"})
	s.op("PATCH", vmPath, obj{"action": "RESET"})
	k := s.kc()
	k.createInstance(obj{"name": "app", "autostart": false})
	k.one("PUT", "/v1/instances/app/start", nil, "instances")
	k.one("PUT", "/v1/instances/app/stop", nil, "instances")
	k.one("PUT", "/v1/instances/app/start", nil, "instances")
	k.one("DELETE", "/v1/instances/app", nil, "instances")

	got, err = s.admin.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := got[CloudCrusoe]; c["vm-starts"]["vm-1"] != 1 || c["vm-stops"]["vm-1"] != 1 {
		t.Errorf("crusoe counters = %v", c)
	}
	if c := got[CloudKraftCloud]; c["instance-starts"]["app"] != 2 || c["instance-stops"]["app"] != 1 {
		t.Errorf("kraftcloud counters = %v (they survive the delete)", c)
	}
	if err := s.admin.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ = s.admin.Counters(ctx)
	if len(got[CloudCrusoe]["vm-starts"]) != 0 || len(got[CloudKraftCloud]["instance-starts"]) != 0 {
		t.Errorf("counters after Reset = %v", got)
	}
}
