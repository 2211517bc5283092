package cloudsim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCrusoeAuthRejected(t *testing.T) {
	s := startSim(t, Options{})
	list := projectPath("compute/vms/instances")

	s.must("GET", list, nil) // the defaults sign correctly

	check := func(name string, mutate func(), restore func()) {
		t.Helper()
		mutate()
		defer restore()
		status, body := s.call("GET", list, nil)
		if status != http.StatusUnauthorized {
			t.Fatalf("%s: status %d, want 401 (%v)", name, status, body)
		}
		if body.str("code") != "401" || body.str("message") != "bad_credential" || body.str("error_id") == "" || body.str("reason") == "" {
			t.Errorf("%s: body %v, want code 401, message bad_credential, an error_id and a reason", name, body)
		}
	}
	check("bad signature", func() { s.secret = "c29tZS1vdGhlci1zZWNyZXQ" }, func() { s.secret = DefaultCrusoeSecretKey })
	check("wrong key", func() { s.accessKey = "someone-else" }, func() { s.accessKey = DefaultCrusoeAccessKeyID })
	stamp := s.stamp
	check("stale timestamp", func() {
		s.stamp = func() string { return s.clock.Now().Add(-6 * time.Minute).Format(time.RFC3339) }
	}, func() { s.stamp = stamp })
	check("future timestamp", func() {
		s.stamp = func() string { return s.clock.Now().Add(6 * time.Minute).Format(time.RFC3339) }
	}, func() { s.stamp = stamp })
	check("garbled timestamp", func() { s.stamp = func() string { return "yesterday" } }, func() { s.stamp = stamp })

	// Within the allowed skew passes.
	s.stamp = func() string { return s.clock.Now().Add(-4 * time.Minute).Format(time.RFC3339) }
	s.must("GET", list, nil)
	s.stamp = stamp

	// No headers at all.
	resp, err := http.Get(s.run.URL + list)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned request: status %d, want 401", resp.StatusCode)
	}

	// The signature covers the query: a request signed for another query fails.
	req := s.request(t.Context(), "GET", list+"?names=a", nil)
	req.URL.RawQuery = "names=b"
	resp, err = s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("tampered query: status %d, want 401", resp.StatusCode)
	}

	s.wantError("GET", "/v1alpha5/projects/00000000-0000-0000-0000-000000000000/compute/vms/instances", nil,
		http.StatusForbidden, "permission_denied", "00000000-0000-0000-0000-000000000000")
}

func TestCrusoeCustomCredentials(t *testing.T) {
	s := startSim(t, Options{Crusoe: CrusoeOptions{AccessKeyID: "ak", SecretKey: "c2VjcmV0LWtleS0xMjM0NQ", ProjectID: "p-1"}})
	s.accessKey, s.secret = "ak", "c2VjcmV0LWtleS0xMjM0NQ"
	s.must("GET", "/v1alpha5/projects/p-1/storage/disks", nil)
	s.wantError("GET", projectPath("storage/disks"), nil, http.StatusForbidden, "", "")
}

func TestCrusoeVMLifecycle(t *testing.T) {
	s := startSim(t, Options{})
	_, diskID := s.createDisk("data-1", "us-east1-a")
	s.clock.Advance(2 * time.Second) // a disk is attached once its create completed

	op, vmID := s.createVM("web-1", obj{"disks": []obj{{"disk_id": diskID, "mode": "read-write", "attach_type": "data"}}})
	if op.str("state") != "IN_PROGRESS" || op.str("operation_id") == "" || op.str("started_at") == "" {
		t.Fatalf("create answered %v, want an IN_PROGRESS operation", op)
	}
	if op.str("completed_at") != "" {
		t.Errorf("a running operation has completed_at %q", op.str("completed_at"))
	}
	opPath := projectPath("compute/vms/instances/operations/" + op.str("operation_id"))
	vmPath := projectPath("compute/vms/instances/" + vmID)

	vm := s.must("GET", vmPath, nil)
	if vm.str("state") != "STATE_CREATING" {
		t.Errorf("state while creating = %q, want STATE_CREATING", vm.str("state"))
	}
	if disks := vm.list("disks"); len(disks) != 1 || disks[0].str("id") != diskID || disks[0].str("attachment_type") != "data" || disks[0].str("mode") != "read-write" {
		t.Errorf("vm disks = %v, want the data disk attached read-write", disks)
	}
	disk := s.must("GET", projectPath("storage/disks/"+diskID), nil)
	if at := disk.list("attached_to"); len(at) != 1 || at[0].str("vm_id") != vmID {
		t.Errorf("disk attached_to = %v, want vm %s", at, vmID)
	}

	s.clock.Advance(time.Second)
	if got := s.must("GET", opPath, nil).str("state"); got != "IN_PROGRESS" {
		t.Errorf("after 1s the operation is %s, want IN_PROGRESS", got)
	}
	s.clock.Advance(time.Second)
	done := s.must("GET", opPath, nil)
	if done.str("state") != "SUCCEEDED" || done.str("completed_at") == "" {
		t.Fatalf("after 2s the operation is %v, want SUCCEEDED with completed_at", done)
	}
	if res := done.obj("result"); res.str("id") != vmID || res.str("state") != "STATE_RUNNING" || res.str("name") != "web-1" {
		t.Errorf("operation result = %v, want the running VM", res)
	}
	vm = s.must("GET", vmPath, nil)
	if vm.str("state") != "STATE_RUNNING" || vm.str("ssh_destination") == "" || len(vm.list("network_interfaces")) != 1 {
		t.Errorf("vm after create = %v", vm)
	}

	// STOP, then START.
	for _, step := range []struct{ action, during, after string }{
		{"STOP", "STATE_STOPPING", "STATE_STOPPED"},
		{"START", "STATE_STARTING", "STATE_RUNNING"},
	} {
		op := s.op("PATCH", vmPath, obj{"action": step.action})
		if got := s.must("GET", vmPath, nil).str("state"); got != step.during {
			t.Errorf("%s: state during = %s, want %s", step.action, got, step.during)
		}
		s.clock.Advance(2 * time.Second)
		if got := s.must("GET", vmPath, nil).str("state"); got != step.after {
			t.Errorf("%s: state after = %s, want %s", step.action, got, step.after)
		}
		if got := s.must("GET", projectPath("compute/vms/instances/operations/"+op.str("operation_id")), nil).str("state"); got != "SUCCEEDED" {
			t.Errorf("%s: operation %s", step.action, got)
		}
	}

	// RESERVE is synchronous.
	res := s.op("PATCH", vmPath, obj{"action": "RESERVE", "reservation_id": "r-1"})
	if res.str("state") != "SUCCEEDED" || res.obj("result").str("reservation_id") != "r-1" {
		t.Errorf("RESERVE answered %v, want a SUCCEEDED operation", res)
	}
	s.wantError("PATCH", vmPath, obj{"action": "HIBERNATE"}, http.StatusBadRequest, "bad_request", `"action"`)

	// Delete: STATE_DELETING, then gone, and the disk is free.
	del := s.op("DELETE", vmPath, nil)
	if got := s.must("GET", vmPath, nil).str("state"); got != "STATE_DELETING" {
		t.Errorf("state while deleting = %s", got)
	}
	s.clock.Advance(2 * time.Second)
	s.wantError("GET", vmPath, nil, http.StatusNotFound, "not_found", vmID)
	if got := s.must("GET", projectPath("compute/vms/instances/operations/"+del.str("operation_id")), nil).str("state"); got != "SUCCEEDED" {
		t.Errorf("delete operation %s", got)
	}
	if at := s.must("GET", projectPath("storage/disks/"+diskID), nil).list("attached_to"); len(at) != 0 {
		t.Errorf("disk still attached after its VM was deleted: %v", at)
	}
}

func TestCrusoeOperationsList(t *testing.T) {
	s := startSim(t, Options{})
	op1, vm1 := s.createVM("a", nil)
	s.createVM("b", nil)
	opsPath := projectPath("compute/vms/instances/operations")

	items := s.must("GET", opsPath+"?resource_id="+vm1, nil).list("items")
	if len(items) != 1 || items[0].str("operation_id") != op1.str("operation_id") {
		t.Fatalf("operations for %s = %v", vm1, items)
	}
	if n := len(s.must("GET", opsPath+"?state=IN_PROGRESS", nil).list("items")); n != 2 {
		t.Errorf("IN_PROGRESS operations = %d, want 2", n)
	}
	if n := len(s.must("GET", projectPath("storage/disks/operations"), nil).list("items")); n != 0 {
		t.Errorf("disk operations = %d, want 0: families are separate", n)
	}
	s.clock.Advance(3 * time.Second)
	if n := len(s.must("GET", opsPath+"?state=SUCCEEDED", nil).list("items")); n != 2 {
		t.Errorf("SUCCEEDED operations = %d, want 2", n)
	}
	// Completed operations drop off the list once seen, but stay readable.
	if n := len(s.must("GET", opsPath, nil).list("items")); n != 0 {
		t.Errorf("operations listed after being seen completed = %d, want 0", n)
	}
	s.must("GET", opsPath+"/"+op1.str("operation_id"), nil)
	s.wantError("GET", opsPath+"?state=DONE", nil, http.StatusBadRequest, "bad_request", `"state"`)
}

func TestCrusoeUnknownOperation(t *testing.T) {
	s := startSim(t, Options{Crusoe: CrusoeOptions{OperationExpiry: time.Minute}})
	s.wantError("GET", projectPath("compute/vms/instances/operations/F6EF489C-086E-458D-B812-7962964A28C9"), nil,
		http.StatusForbidden, "permission_denied", "F6EF489C")

	op, _ := s.createDisk("d", "us-east1-a")
	id := op.str("operation_id")
	// Another family's operations path does not know it.
	s.wantError("GET", projectPath("compute/vms/instances/operations/"+id), nil, http.StatusForbidden, "", "")
	s.must("GET", projectPath("storage/disks/operations/"+id), nil)
	// Completed operations expire.
	s.clock.Advance(2*time.Second + time.Minute + time.Second)
	s.wantError("GET", projectPath("storage/disks/operations/"+id), nil, http.StatusForbidden, "", "")
}

func TestCrusoeNameConflict(t *testing.T) {
	s := startSim(t, Options{})
	s.createVM("dup", nil)
	body := obj{"name": "dup", "type": "c1a.2x", "location": "us-east1-a", "ssh_public_key": "k"}
	s.wantError("POST", projectPath("compute/vms/instances"), body, http.StatusConflict, "already_exists", "dup")
	s.createDisk("d", "us-east1-a")
	s.wantError("POST", projectPath("storage/disks"), obj{"name": "d", "size": "1TiB", "location": "us-east1-a"},
		http.StatusConflict, "already_exists", `"d"`)
	s.wantError("POST", projectPath("networking/vpc-networks"), obj{"name": "default", "cidr": "10.0.0.0/16"},
		http.StatusConflict, "already_exists", "default")
}

func TestCrusoeAttachedDiskCannotBeDeleted(t *testing.T) {
	s := startSim(t, Options{})
	_, diskID := s.createDisk("d1", "us-east1-a")
	s.clock.Advance(2 * time.Second)
	_, vmID := s.createVM("v1", obj{"disks": []obj{{"disk_id": diskID, "mode": "read-write", "attachment_type": "data"}}})
	s.clock.Advance(2 * time.Second)

	s.wantError("DELETE", projectPath("storage/disks/"+diskID), nil, http.StatusBadRequest, "bad_request", "attached to vm "+vmID)
	// Attaching it read-write to a second VM is refused too.
	body := obj{"name": "v2", "type": "c1a.2x", "location": "us-east1-a", "ssh_public_key": "k",
		"disks": []obj{{"disk_id": diskID, "mode": "read-write"}}}
	s.wantError("POST", projectPath("compute/vms/instances"), body, http.StatusBadRequest, "bad_request", vmID)

	s.op("DELETE", projectPath("compute/vms/instances/"+vmID), nil)
	// Still attached while the VM is being deleted.
	s.wantError("DELETE", projectPath("storage/disks/"+diskID), nil, http.StatusBadRequest, "bad_request", "attached")
	s.clock.Advance(2 * time.Second)
	op := s.op("DELETE", projectPath("storage/disks/"+diskID), nil)
	s.clock.Advance(2 * time.Second)
	if got := s.must("GET", projectPath("storage/disks/operations/"+op.str("operation_id")), nil).str("state"); got != "SUCCEEDED" {
		t.Errorf("disk delete operation %s", got)
	}
	s.wantError("GET", projectPath("storage/disks/"+diskID), nil, http.StatusNotFound, "not_found", "")
}

func TestCrusoeAttachDetach(t *testing.T) {
	s := startSim(t, Options{})
	_, vmID := s.createVM("v", nil)
	_, d1 := s.createDisk("d1", "us-east1-a")
	_, other := s.createDisk("far", "us-northcentral1-a")
	s.clock.Advance(2 * time.Second)
	vmPath := projectPath("compute/vms/instances/" + vmID)

	s.wantError("POST", vmPath+"/attach-disks", obj{"attach_disks": []obj{{"disk_id": other}}}, http.StatusBadRequest, "", "us-northcentral1-a")
	s.op("POST", vmPath+"/attach-disks", obj{"attach_disks": []obj{{"disk_id": d1, "mode": "read-only", "attachment_type": "data"}}})
	s.clock.Advance(2 * time.Second)
	if disks := s.must("GET", vmPath, nil).list("disks"); len(disks) != 1 || disks[0].str("mode") != "read-only" {
		t.Fatalf("vm disks after attach = %v", disks)
	}
	s.op("POST", vmPath+"/detach-disks", obj{"detach_disks": []string{d1}})
	s.clock.Advance(2 * time.Second)
	if disks := s.must("GET", vmPath, nil).list("disks"); len(disks) != 0 {
		t.Fatalf("vm disks after detach = %v", disks)
	}
	s.wantError("POST", vmPath+"/detach-disks", obj{"detach_disks": []string{d1}}, http.StatusBadRequest, "", "not attached")
}

func TestCrusoeValidation(t *testing.T) {
	s := startSim(t, Options{})
	vms := projectPath("compute/vms/instances")
	base := func() obj {
		return obj{"name": "v", "type": "c1a.2x", "location": "us-east1-a", "ssh_public_key": "k"}
	}
	for _, field := range []string{"name", "type", "ssh_public_key", "location"} {
		b := base()
		delete(b, field)
		s.wantError("POST", vms, b, http.StatusBadRequest, "bad_request", `"`+field+`"`)
	}
	b := base()
	b["type"] = "z9000.1x"
	s.wantError("POST", vms, b, http.StatusBadRequest, "bad_request", "z9000.1x")
	b = base()
	b["location"] = "mars-1a"
	s.wantError("POST", vms, b, http.StatusBadRequest, "bad_request", `"location"`)
	b = base()
	b["disks"] = []obj{{"disk_id": "nope"}}
	s.wantError("POST", vms, b, http.StatusBadRequest, "bad_request", `"disks[0].disk_id"`)
	b = base()
	b["name"] = 7
	s.wantError("POST", vms, b, http.StatusBadRequest, "bad_request", `"name"`)
	s.wantError("POST", vms, `{"name": "v",`, http.StatusBadRequest, "bad_request", "malformed JSON")
	s.wantError("POST", vms, nil, http.StatusBadRequest, "bad_request", "body is required")

	disks := projectPath("storage/disks")
	s.wantError("POST", disks, obj{"name": "d", "size": "10GB", "location": "us-east1-a"}, http.StatusBadRequest, "bad_request", `"size"`)
	s.wantError("POST", disks, obj{"name": "d", "size": "10GiB", "location": "us-east1-a", "type": "floppy"}, http.StatusBadRequest, "bad_request", `"type"`)
	s.wantError("POST", disks, obj{"name": "d", "location": "us-east1-a"}, http.StatusBadRequest, "bad_request", `"size"`)

	rules := projectPath("networking/vpc-firewall-rules")
	rule := obj{"name": "r", "action": "allow", "direction": "ingress", "protocols": []string{"tcp"},
		"sources": []obj{{"cidr": "0.0.0.0/0"}}, "destinations": []obj{{"cidr": "10.0.0.0/8"}},
		"destination_ports": []string{"22"}, "vpc_network_id": "missing"}
	s.wantError("POST", rules, rule, http.StatusBadRequest, "bad_request", `"vpc_network_id"`)
	rule["vpc_network_id"] = DefaultCrusoeVPCNetworkID
	rule["direction"] = "sideways"
	s.wantError("POST", rules, rule, http.StatusBadRequest, "bad_request", `"direction"`)
	rule["direction"] = "ingress"
	rule["sources"] = []obj{{}}
	s.wantError("POST", rules, rule, http.StatusBadRequest, "bad_request", `"sources[0].cidr"`)
	rule["sources"] = []obj{{"cidr": "not-a-cidr"}}
	s.wantError("POST", rules, rule, http.StatusBadRequest, "bad_request", `"sources[0].cidr"`)
	rule["sources"] = []obj{{"cidr": "0.0.0.0/0"}}
	rule["protocols"] = []int{6}
	s.wantError("POST", rules, rule, http.StatusBadRequest, "bad_request", `"protocols"`)

	s.wantError("GET", projectPath("compute/vms/nothing-here"), nil, http.StatusNotFound, "not_found", "")
	s.wantError("PUT", vms, base(), http.StatusMethodNotAllowed, "method_not_allowed", "GET, POST")
}

func TestCrusoeDiskResize(t *testing.T) {
	s := startSim(t, Options{})
	_, id := s.createDisk("d", "us-east1-a")
	s.clock.Advance(2 * time.Second)
	p := projectPath("storage/disks/" + id)
	s.wantError("PATCH", p, obj{"size": "5GiB"}, http.StatusBadRequest, "bad_request", "larger")
	s.op("PATCH", p, obj{"size": "1TiB"})
	if got := s.must("GET", p, nil).str("size"); got != "10GiB" {
		t.Errorf("size during resize = %s, want 10GiB", got)
	}
	s.clock.Advance(2 * time.Second)
	if got := s.must("GET", p, nil).str("size"); got != "1024GiB" {
		t.Errorf("size after resize = %s, want 1024GiB", got)
	}
}

func TestCrusoeFirewallRule(t *testing.T) {
	s := startSim(t, Options{})
	rules := projectPath("networking/vpc-firewall-rules")
	op := s.op("POST", rules, obj{"name": "ssh", "action": "allow", "direction": "ingress", "protocols": "[tcp, udp]",
		"sources": []obj{{"cidr": "0.0.0.0/0"}}, "destinations": []obj{{"cidr": "172.27.0.2/32", "resource_id": "306aa10d-5570-4e47-88c9-46bf11bd8737"}},
		"destination_ports": []string{"22", "3000-8080"}, "vpc_network_id": DefaultCrusoeVPCNetworkID})
	items := s.must("GET", rules, nil).list("items")
	if len(items) != 1 || items[0].str("state") != "pending" {
		t.Fatalf("rules while creating = %v, want one pending", items)
	}
	id := items[0].str("id")
	s.clock.Advance(2 * time.Second)
	done := s.must("GET", rules+"/operations/"+op.str("operation_id"), nil)
	if done.str("state") != "SUCCEEDED" || done.obj("result").str("state") != "active" {
		t.Fatalf("rule operation = %v", done)
	}
	s.op("PATCH", rules+"/"+id, obj{"destination_ports": []string{"2222"}})
	if got := s.must("GET", rules+"/"+id, nil).str("state"); got != "pending" {
		t.Errorf("state during update = %s", got)
	}
	s.clock.Advance(2 * time.Second)
	r := s.must("GET", rules+"/"+id, nil)
	if ports, _ := r["destination_ports"].([]any); len(ports) != 1 || ports[0] != "2222" || r.str("state") != "active" {
		t.Errorf("rule after update = %v", r)
	}
	if ps, _ := r["protocols"].([]any); len(ps) != 2 {
		t.Errorf("protocols = %v, want [tcp udp]", r["protocols"])
	}
	s.op("DELETE", rules+"/"+id, nil)
	s.clock.Advance(2 * time.Second)
	s.wantError("GET", rules+"/"+id, nil, http.StatusNotFound, "not_found", "")
}

func TestCrusoeNetworksAndSubnets(t *testing.T) {
	s := startSim(t, Options{})
	out := s.must("POST", projectPath("networking/vpc-networks"), obj{"name": "net", "cidr": "10.10.0.0/16"})
	n := out.obj("network")
	if n.str("id") == "" || n.str("cidr") != "10.10.0.0/16" {
		t.Fatalf("network create answered %v", out)
	}
	s.wantError("POST", projectPath("networking/vpc-subnets"),
		obj{"name": "sub", "cidr": "192.168.0.0/24", "location": "us-east1-a", "vpc_network_id": n.str("id")},
		http.StatusBadRequest, "bad_request", "not within")
	sub := s.must("POST", projectPath("networking/vpc-subnets"),
		obj{"name": "sub", "cidr": "10.10.1.0/24", "location": "us-east1-a", "vpc_network_id": n.str("id")}).obj("subnet")
	if sub.str("id") == "" {
		t.Fatal("subnet create answered no subnet")
	}
	got := s.must("GET", projectPath("networking/vpc-networks/"+n.str("id")), nil)
	if subs, _ := got["subnets"].([]any); len(subs) != 1 {
		t.Errorf("network subnets = %v", got["subnets"])
	}
	s.wantError("DELETE", projectPath("networking/vpc-networks/"+n.str("id")), nil, http.StatusBadRequest, "bad_request", sub.str("id"))

	// A VM on the new subnet gets an address from it.
	_, vmID := s.createVM("on-sub", obj{"network_interfaces": []obj{{"subnet": sub.str("id")}}})
	vm := s.must("GET", projectPath("compute/vms/instances/"+vmID), nil)
	nic := vm.list("network_interfaces")[0]
	if ip := nic.list("ips")[0].obj("private_ipv4").str("address"); !strings.HasPrefix(ip, "10.10.1.") {
		t.Errorf("private address %s is not in 10.10.1.0/24", ip)
	}
	s.clock.Advance(2 * time.Second)
	s.op("DELETE", projectPath("compute/vms/instances/"+vmID), nil)
	s.clock.Advance(2 * time.Second)

	s.op("DELETE", projectPath("networking/vpc-subnets/"+sub.str("id")), nil)
	s.clock.Advance(2 * time.Second)
	s.op("DELETE", projectPath("networking/vpc-networks/"+n.str("id")), nil)
	s.clock.Advance(2 * time.Second)
	if !s.run.Server.Inventory().Empty() {
		t.Errorf("inventory not empty: %v", s.run.Server.Inventory())
	}
}

func TestCrusoeBulkInstances(t *testing.T) {
	s := startSim(t, Options{})
	tmpl := s.must("POST", projectPath("compute/instance-templates"), obj{
		"template_name": "t", "type": "a40.1x", "ssh_public_key": "k", "location": "us-northcentral1-a",
		"disks": []obj{{"size": "10GiB", "type": "persistent-ssd"}},
	})
	group := s.must("POST", projectPath("compute/instance-groups"), obj{"name": "g", "template_id": tmpl.str("id")})
	op := s.op("POST", projectPath("compute/vms/bulk-instances"), obj{
		"count": 3, "name_prefix": "worker", "instance_template_id": tmpl.str("id"), "instance_group_id": group.str("id"),
	})
	items := s.must("GET", projectPath("compute/vms/instances"), nil).list("items")
	if got := names(items); !slices.Equal(got, []string{"worker-1", "worker-2", "worker-3"}) {
		t.Fatalf("bulk VMs = %v", got)
	}
	s.clock.Advance(2 * time.Second)
	done := s.must("GET", projectPath("compute/vms/instances/operations/"+op.str("operation_id")), nil)
	if done.str("state") != "SUCCEEDED" || len(done.obj("result").list("items")) != 3 {
		t.Errorf("bulk operation = %v", done)
	}
	g := s.must("GET", projectPath("compute/instance-groups/"+group.str("id")), nil)
	if n, _ := g["running_instance_count"].(float64); n != 3 {
		t.Errorf("group = %v, want 3 running instances", g)
	}
	inv := s.run.Server.Inventory()
	if inv.Count(CloudCrusoe, "vms") != 3 || inv.Count(CloudCrusoe, "disks") != 3 ||
		inv.Count(CloudCrusoe, "instance-templates") != 1 || inv.Count(CloudCrusoe, "instance-groups") != 1 {
		t.Errorf("inventory = %v", inv)
	}
	s.wantError("POST", projectPath("compute/vms/bulk-instances"),
		obj{"count": 1, "name_prefix": "worker", "instance_template_id": tmpl.str("id")}, http.StatusConflict, "already_exists", "worker-1")
}

func TestCrusoeVMListPaging(t *testing.T) {
	s := startSim(t, Options{})
	for _, n := range []string{"vm-3", "vm-1", "vm-5", "vm-2", "vm-4"} {
		s.createVM(n, nil)
	}
	list := projectPath("compute/vms/instances")
	page := func(q string) obj { return s.must("GET", list+"?"+q, nil) }

	p1 := page("limit=2")
	if got := names(p1.list("items")); !slices.Equal(got, []string{"vm-1", "vm-2"}) || p1.str("prev_page_token") != "" {
		t.Fatalf("page 1 = %v %v", got, p1)
	}
	p2 := page("limit=2&next_token=" + url.QueryEscape(p1.str("next_page_token")))
	if got := names(p2.list("items")); !slices.Equal(got, []string{"vm-3", "vm-4"}) {
		t.Fatalf("page 2 = %v", got)
	}
	p3 := page("limit=2&next_token=" + url.QueryEscape(p2.str("next_page_token")))
	if got := names(p3.list("items")); !slices.Equal(got, []string{"vm-5"}) || p3.str("next_page_token") != "" {
		t.Fatalf("page 3 = %v %v", got, p3)
	}
	back := page("limit=2&prev_token=" + url.QueryEscape(p3.str("prev_page_token")))
	if got := names(back.list("items")); !slices.Equal(got, []string{"vm-3", "vm-4"}) {
		t.Fatalf("page before 3 = %v", got)
	}
	if got := names(page("names=vm-2,vm-4").list("items")); !slices.Equal(got, []string{"vm-2", "vm-4"}) {
		t.Errorf("names filter = %v", got)
	}
	if got := names(page("locations=us-east1&states=STATE_CREATING&types=c1a.2x").list("items")); len(got) != 5 {
		t.Errorf("location/state/type filters = %v", got)
	}
	if got := page("states=RUNNING").list("items"); len(got) != 0 {
		t.Errorf("RUNNING filter while creating = %v", names(got))
	}
	s.wantError("GET", list+"?limit=zero", nil, http.StatusBadRequest, "bad_request", `"limit"`)
	s.wantError("GET", list+"?next_token=***", nil, http.StatusBadRequest, "bad_request", `"next_token"`)
}

func TestCrusoeVMTypesAndFixtures(t *testing.T) {
	s := startSim(t, Options{})
	types := s.must("GET", projectPath("compute/vms/types"), nil).list("items")
	var products []string
	for _, ty := range types {
		products = append(products, ty.str("product_name"))
	}
	for _, want := range []string{"a100.2x", "a40.1x", "c1a.2x", "c1a.4x"} {
		if !slices.Contains(products, want) {
			t.Errorf("VM types lack %s: %v", want, products)
		}
	}
	nets := s.must("GET", projectPath("networking/vpc-networks"), nil).list("items")
	if len(nets) != 1 || nets[0].str("name") != "default" || nets[0].str("cidr") != "172.27.0.0/16" || nets[0].str("id") != DefaultCrusoeVPCNetworkID {
		t.Errorf("networks = %v", nets)
	}
	subs := s.must("GET", projectPath("networking/vpc-subnets"), nil).list("items")
	var locs []string
	for _, sub := range subs {
		if sub.str("name") != "default-subnet" {
			t.Errorf("subnet %v", sub)
		}
		locs = append(locs, sub.str("location"))
	}
	if !slices.Equal(locs, []string{"us-northcentral1-a", "us-east1-a"}) {
		t.Errorf("subnet locations = %v", locs)
	}
	if inv := s.run.Server.Inventory(); !inv.Empty() {
		t.Errorf("fixtures leak into the inventory: %v", inv)
	}
}

func TestInventoryAndReset(t *testing.T) {
	s := startSim(t, Options{})
	s.createVM("v", nil)
	s.createDisk("d", "us-east1-a")
	s.must("POST", projectPath("networking/vpc-networks"), obj{"name": "n", "cidr": "10.0.0.0/16"})
	s.run.Server.AddFault(Fault{Path: "/nothing", Action: FaultError})
	s.run.Server.SetOperationLatency(CloudCrusoe, time.Hour)

	inv := s.run.Server.Inventory()
	if inv.Empty() || inv.Count(CloudCrusoe, "vms") != 1 || inv.Count(CloudCrusoe, "disks") != 1 || inv.Count(CloudCrusoe, "vpc-networks") != 1 {
		t.Fatalf("inventory = %v", inv)
	}
	if _, ok := inv[CloudCrusoe]["snapshots"]; ok {
		t.Error("empty kinds should be left out")
	}
	if !strings.Contains(string(inv[CloudCrusoe]["vms"][0]), `"state":"STATE_CREATING"`) {
		t.Errorf("inventory VM = %s", inv[CloudCrusoe]["vms"][0])
	}
	// The inventory renders resources as GET does: a rule shows its state.
	netID := s.must("GET", projectPath("networking/vpc-networks"), nil)["items"].([]any)[0].(map[string]any)["id"]
	s.op("POST", projectPath("networking/vpc-firewall-rules"), obj{
		"name": "r", "vpc_network_id": netID, "action": "allow", "direction": "ingress", "protocols": []string{"tcp"},
		"sources": []obj{{"cidr": "0.0.0.0/0"}}, "destinations": []obj{{"cidr": "10.0.0.0/8"}},
	})
	inv = s.run.Server.Inventory()
	if len(inv[CloudCrusoe]["firewall-rules"]) != 1 || !strings.Contains(string(inv[CloudCrusoe]["firewall-rules"][0]), `"state":"pending"`) {
		t.Errorf("inventory rules = %s", inv[CloudCrusoe]["firewall-rules"])
	}

	s.run.Server.Reset()
	if inv := s.run.Server.Inventory(); !inv.Empty() {
		t.Errorf("inventory after Reset = %v", inv)
	}
	if len(s.run.Server.Faults()) != 0 || len(s.run.Server.Requests()) != 0 {
		t.Error("Reset kept faults or the journal")
	}
	if n := len(s.must("GET", projectPath("networking/vpc-networks"), nil).list("items")); n != 1 {
		t.Errorf("networks after Reset = %d, want the default one", n)
	}
	// Reset restores the configured latency (2s), not the hour set above.
	op, _ := s.createVM("v", nil)
	s.clock.Advance(2 * time.Second)
	if got := s.must("GET", projectPath("compute/vms/instances/operations/"+op.str("operation_id")), nil).str("state"); got != "SUCCEEDED" {
		t.Errorf("operation after Reset = %s", got)
	}
}

func TestSetOperationLatency(t *testing.T) {
	s := startSim(t, Options{Crusoe: CrusoeOptions{OperationLatency: -1}})
	op, vmID := s.createVM("fast", nil)
	if op.str("state") != "IN_PROGRESS" {
		t.Errorf("create answered %s, want IN_PROGRESS even with no latency", op.str("state"))
	}
	if got := s.must("GET", projectPath("compute/vms/instances/"+vmID), nil).str("state"); got != "STATE_RUNNING" {
		t.Errorf("with no latency the VM is %s on the next read", got)
	}
	s.run.Server.SetOperationLatency(CloudCrusoe, 10*time.Second)
	s.op("PATCH", projectPath("compute/vms/instances/"+vmID), obj{"action": "STOP"})
	s.clock.Advance(9 * time.Second)
	if got := s.must("GET", projectPath("compute/vms/instances/"+vmID), nil).str("state"); got != "STATE_STOPPING" {
		t.Errorf("after 9s of 10 the VM is %s", got)
	}
	s.clock.Advance(time.Second)
	if got := s.must("GET", projectPath("compute/vms/instances/"+vmID), nil).str("state"); got != "STATE_STOPPED" {
		t.Errorf("after 10s the VM is %s", got)
	}
}

func TestCrusoeSnapshotsAndLoadBalancers(t *testing.T) {
	s := startSim(t, Options{})
	_, diskID := s.createDisk("src", "us-east1-a")
	s.clock.Advance(2 * time.Second)
	op := s.op("POST", projectPath("storage/snapshots"), obj{"disk_id": diskID})
	s.clock.Advance(2 * time.Second)
	snap := s.must("GET", projectPath("storage/snapshots/operations/"+op.str("operation_id")), nil).obj("result")
	if snap.str("created_from") != diskID || snap.str("size") != fmt.Sprint(10<<30)+" bytes" {
		t.Fatalf("snapshot = %v", snap)
	}
	s.op("POST", projectPath("storage/disks"), obj{"name": "copy", "snapshot_id": snap.str("id")})

	lbOp := s.op("POST", projectPath("networking/load-balancers"), obj{
		"name": "lb", "algorithm": "random", "location": "us-east1-a", "protocols": []string{"tcp"},
		"destinations":       []obj{{"cidr": "10.1.2.3/24"}},
		"network_interfaces": []obj{{"network": DefaultCrusoeVPCNetworkID}},
		"health_check":       obj{"port": 8080, "interval": "60"},
	})
	s.clock.Advance(2 * time.Second)
	lb := s.must("GET", projectPath("networking/load-balancers/operations/"+lbOp.str("operation_id")), nil).obj("result")
	if lb.obj("health_check").str("port") != "8080" || len(lb.list("ips")) != 1 {
		t.Errorf("load balancer = %v", lb)
	}
	inv := s.run.Server.Inventory()
	if inv.Count(CloudCrusoe, "snapshots") != 1 || inv.Count(CloudCrusoe, "load-balancers") != 1 || inv.Count(CloudCrusoe, "disks") != 2 {
		t.Errorf("inventory = %v", inv)
	}
}

func TestCrusoeFailedActionRestsTheVM(t *testing.T) {
	s := startSim(t, Options{})
	_, vmID := s.createVM("v", nil)
	s.clock.Advance(2 * time.Second)
	vmPath := projectPath("compute/vms/instances/" + vmID)
	s.op("PATCH", vmPath, obj{"action": "STOP"})
	s.clock.Advance(2 * time.Second)
	// A START that fails leaves the VM where it was.
	s.run.Server.AddFault(Fault{Method: "PATCH", Path: "/v1alpha5/**", Action: FaultFailOperation, Times: 1})
	op := s.op("PATCH", vmPath, obj{"action": "START"})
	s.clock.Advance(2 * time.Second)
	if got := s.must("GET", projectPath("compute/vms/instances/operations/"+op.str("operation_id")), nil).str("state"); got != "FAILED" {
		t.Fatalf("START operation %s, want FAILED", got)
	}
	if got := s.must("GET", vmPath, nil).str("state"); got != "STATE_STOPPED" {
		t.Errorf("VM is %s, want STATE_STOPPED", got)
	}
	// Repeating an action while the first still runs is refused (409), not
	// raced: a client retrying after a lost answer finds the first one.
	s.op("PATCH", vmPath, obj{"action": "START"})
	s.wantError("PATCH", vmPath, obj{"action": "START"}, http.StatusConflict, "operation_in_progress", vmID)
	s.clock.Advance(2 * time.Second)
	if got := s.must("GET", vmPath, nil).str("state"); got != "STATE_RUNNING" {
		t.Errorf("VM is %s, want STATE_RUNNING", got)
	}
	s.wantError("PATCH", vmPath, obj{"action": "UPDATE", "type": "c1a.4x"}, http.StatusBadRequest, "bad_request", "must be stopped")
}

// A mutation of a resource whose operation is still in progress is refused
// with 409, as NOTES.md says a real cloud may: the caller finds the
// operation in the family's list (resource_id, IN_PROGRESS), waits for it,
// and tries again. Reads are always answered.
func TestCrusoeMutationWhileOperationInProgressIsRefused(t *testing.T) {
	s := startSim(t, Options{})
	diskOp, diskID := s.createDisk("d", "us-east1-a")
	diskPath := projectPath("storage/disks/" + diskID)
	s.wantError("DELETE", diskPath, nil, http.StatusConflict, "operation_in_progress", diskID)
	s.wantError("PATCH", diskPath, obj{"size": "1TiB"}, http.StatusConflict, "operation_in_progress", diskID)
	s.wantError("POST", projectPath("storage/snapshots"), obj{"disk_id": diskID}, http.StatusConflict, "operation_in_progress", diskID)
	vm := obj{"name": "v", "type": "c1a.2x", "location": "us-east1-a", "ssh_public_key": "k", "disks": []obj{{"disk_id": diskID}}}
	s.wantError("POST", projectPath("compute/vms/instances"), vm, http.StatusConflict, "operation_in_progress", diskID)
	s.must("GET", diskPath, nil)
	busy := s.must("GET", projectPath("storage/disks/operations?state=IN_PROGRESS&resource_id="+diskID), nil).list("items")
	if len(busy) != 1 || busy[0].str("operation_id") != diskOp.str("operation_id") {
		t.Fatalf("in-progress operations of the disk = %v, want its create", busy)
	}
	s.clock.Advance(2 * time.Second)

	createOp, vmID := s.createVM("v", obj{"disks": []obj{{"disk_id": diskID}}})
	vmPath := projectPath("compute/vms/instances/" + vmID)
	s.wantError("DELETE", vmPath, nil, http.StatusConflict, "operation_in_progress", vmID)
	s.wantError("PATCH", vmPath, obj{"action": "STOP"}, http.StatusConflict, "operation_in_progress", vmID)
	s.wantError("PATCH", vmPath, obj{"action": "RESERVE"}, http.StatusConflict, "operation_in_progress", vmID)
	s.wantError("POST", vmPath+"/detach-disks", obj{"detach_disks": []string{diskID}}, http.StatusConflict, "operation_in_progress", vmID)
	busy = s.must("GET", projectPath("compute/vms/instances/operations?state=IN_PROGRESS&resource_id="+vmID), nil).list("items")
	if len(busy) != 1 || busy[0].str("operation_id") != createOp.str("operation_id") {
		t.Fatalf("in-progress operations of the vm = %v, want its create", busy)
	}
	s.clock.Advance(2 * time.Second)
	s.op("DELETE", vmPath, nil)
	s.wantError("DELETE", vmPath, nil, http.StatusConflict, "operation_in_progress", vmID)
	s.clock.Advance(2 * time.Second)
	s.wantError("GET", vmPath, nil, http.StatusNotFound, "not_found", vmID)

	rules := projectPath("networking/vpc-firewall-rules")
	s.op("POST", rules, obj{"name": "r", "action": "allow", "direction": "ingress", "protocols": []string{"tcp"},
		"sources": []obj{{"cidr": "0.0.0.0/0"}}, "destinations": []obj{{"cidr": "10.0.0.0/8"}}, "vpc_network_id": DefaultCrusoeVPCNetworkID})
	ruleID := s.must("GET", rules, nil).list("items")[0].str("id")
	s.wantError("DELETE", rules+"/"+ruleID, nil, http.StatusConflict, "operation_in_progress", ruleID)
	s.wantError("PATCH", rules+"/"+ruleID, obj{"name": "r2"}, http.StatusConflict, "operation_in_progress", ruleID)
	s.clock.Advance(2 * time.Second)
	s.op("DELETE", rules+"/"+ruleID, nil)
}

// Every FirewallRuleObject of the reference carries a cidr: a source or
// destination naming a resource only is refused, on create and on update,
// with the field named.
func TestCrusoeFirewallRuleObjectNeedsACIDR(t *testing.T) {
	s := startSim(t, Options{})
	rules := projectPath("networking/vpc-firewall-rules")
	rule := obj{"name": "r", "action": "allow", "direction": "ingress", "protocols": []string{"tcp"},
		"sources": []obj{{"cidr": "0.0.0.0/0"}}, "destinations": []obj{{"resource_id": "306aa10d-5570-4e47-88c9-46bf11bd8737"}},
		"vpc_network_id": DefaultCrusoeVPCNetworkID}
	s.wantError("POST", rules, rule, http.StatusBadRequest, "bad_request", `"destinations[0].cidr"`)
	rule["destinations"] = []obj{{"cidr": "172.27.0.2/32", "resource_id": "306aa10d-5570-4e47-88c9-46bf11bd8737"}}
	s.op("POST", rules, rule)
	s.clock.Advance(2 * time.Second)
	id := s.must("GET", rules, nil).list("items")[0].str("id")
	s.wantError("PATCH", rules+"/"+id, obj{"sources": []obj{{"resource_id": "x"}}}, http.StatusBadRequest, "bad_request", `"sources[0].cidr"`)
	// A load balancer's destinations (NetworkTarget) may still name a resource alone.
	s.op("POST", projectPath("networking/load-balancers"), obj{
		"name": "lb", "algorithm": "random", "location": "us-east1-a", "protocols": []string{"tcp"},
		"destinations":       []obj{{"resource_id": "306aa10d-5570-4e47-88c9-46bf11bd8737"}},
		"network_interfaces": []obj{{"network": DefaultCrusoeVPCNetworkID}},
	})
}

// A VM has a private IPv4 from its subnet and, unless asked otherwise, a
// public one, as the reference shows them: the operation's result and GET
// both carry them.
func TestCrusoeVMAddresses(t *testing.T) {
	s := startSim(t, Options{})
	op, vmID := s.createVM("v", nil)
	s.clock.Advance(2 * time.Second)
	res := s.must("GET", projectPath("compute/vms/instances/operations/"+op.str("operation_id")), nil).obj("result")
	for _, vm := range []obj{res, s.must("GET", projectPath("compute/vms/instances/"+vmID), nil)} {
		ip := vm.list("network_interfaces")[0].list("ips")[0]
		if priv := ip.obj("private_ipv4").str("address"); !strings.HasPrefix(priv, "172.27.16.") {
			t.Errorf("private address %q is not in the us-east1-a subnet", priv)
		}
		if pub := ip.obj("public_ipv4"); pub.str("address") == "" || pub.str("type") != "dynamic" {
			t.Errorf("public address = %v", pub)
		}
	}
}
