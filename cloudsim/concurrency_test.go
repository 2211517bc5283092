package cloudsim

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestConcurrentUse(t *testing.T) {
	s := startSim(t, Options{Faults: []Fault{{Method: "GET", Path: "/v1alpha5/**/disks", Action: FaultError, Status: 503, Times: 5}}})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("c-%02d", i)
			if status, body := s.call("POST", projectPath("compute/vms/instances"),
				obj{"name": name, "type": "c1a.2x", "location": "us-east1-a", "ssh_public_key": "k"}); status != http.StatusOK {
				t.Errorf("create %s: %d %v", name, status, body)
			}
			s.call("GET", projectPath("storage/disks"), nil)
			s.clock.Advance(100 * time.Millisecond)
			_ = s.run.Server.Inventory()
			_ = s.run.Server.Requests()
			_ = s.run.Server.Faults()
		}()
	}
	wg.Wait()
	s.clock.Advance(2 * time.Second)
	inv := s.run.Server.Inventory()
	if inv.Count(CloudCrusoe, "vms") != 16 {
		t.Errorf("created %d VMs, want 16", inv.Count(CloudCrusoe, "vms"))
	}
	if f := s.run.Server.Faults()[0]; f.Hits != 5 {
		t.Errorf("fault hits = %d, want 5", f.Hits)
	}
	if n := len(s.must("GET", projectPath("compute/vms/instances?states=STATE_RUNNING"), nil).list("items")); n != 16 {
		t.Errorf("running VMs = %d, want 16", n)
	}
}

func TestFaultIDsAreUnique(t *testing.T) {
	s := New(Options{})
	a := s.AddFault(Fault{ID: "mine", Path: "/x", Action: FaultError})
	b := s.AddFault(Fault{ID: "mine", Path: "/y", Action: FaultError})
	c := s.AddFault(Fault{Path: "/z", Action: FaultError})
	if a.ID != "mine" || b.ID == "mine" || c.ID == "" || b.ID == c.ID {
		t.Errorf("IDs %q %q %q", a.ID, b.ID, c.ID)
	}
	if !s.RemoveFault("mine") || s.RemoveFault("mine") {
		t.Error("RemoveFault")
	}
}
