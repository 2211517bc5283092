package cloudsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
)

func TestCloudMCRoutingNextToTheOtherClouds(t *testing.T) {
	s := startSim(t, Options{})
	m := s.cmc()
	if got := s.run.Server.Clouds(); !strings.Contains(strings.Join(got, ","), CloudCloudMC) {
		t.Fatalf("Clouds() = %v, want %s among them", got, CloudCloudMC)
	}
	m.list(cmcEnvPath("instances"))
	m.wantError("GET", "/api/v2", nil, http.StatusNotFound, CloudMCErrNotFound, "No such endpoint")
	m.wantError("GET", "/api/v2/", nil, http.StatusNotFound, CloudMCErrNotFound, "No such endpoint")

	// Whole segments: /api/v2x and /api are nobody's, /v1 stays KraftCloud's.
	for _, p := range []string{"/api/v2x/tasks/1", "/api", "/api/v3/tasks/1"} {
		status, out := m.call("GET", p, nil)
		if status != http.StatusNotFound || out["errors"] != nil || !strings.Contains(out.str("message"), "no simulated cloud serves") {
			t.Errorf("GET %s: %d %v, want the generic 404", p, status, out)
		}
	}
	if status, _ := m.call("GET", "/v1/instances", nil); status != http.StatusUnauthorized {
		t.Errorf("GET /v1/instances with an MC-Api-Key: %d, want KraftCloud's 401", status)
	}
	s.kc().must("GET", "/v1/instances", nil, "instances")

	clouds := map[string]string{}
	for _, rec := range s.run.Server.Requests() {
		clouds[rec.Path] = rec.Cloud
	}
	want := map[string]string{cmcEnvPath("instances"): CloudCloudMC, "/api/v2": CloudCloudMC, "/api/v2x/tasks/1": "", "/api": "", "/v1/instances": CloudKraftCloud}
	for p, c := range want {
		if clouds[p] != c {
			t.Errorf("journal: %s served by %q, want %q", p, clouds[p], c)
		}
	}
}

func TestCloudMCAuth(t *testing.T) {
	s := startSim(t, Options{})
	m := s.cmc()
	m.key = ""
	m.wantError("GET", cmcEnvPath("instances"), nil, http.StatusForbidden, CloudMCErrForbidden, "Missing MC-Api-Key header")
	m.wantError("GET", "/api/v2/tasks/nope", nil, http.StatusForbidden, CloudMCErrForbidden, "")
	m.wantError("PUT", "/api/v2/nothing", nil, http.StatusForbidden, CloudMCErrForbidden, "") // the fallback checks the key too
	m.key = "wrong-key"
	e := m.wantError("POST", cmcEnvPath("instances"), obj{"name": "x"}, http.StatusForbidden, CloudMCErrForbidden, "Invalid API key")
	if strings.Contains(fmt.Sprint(e), DefaultCloudMCAPIKey) || strings.Contains(fmt.Sprint(e), "wrong-key") {
		t.Errorf("the 403 answer shows a key: %v", e)
	}
	if inv := s.run.Server.Inventory(); inv.Count(CloudCloudMC, "instances") != 0 {
		t.Errorf("a refused create made something: %v", inv)
	}
	// A Bearer token is not the key.
	req, _ := http.NewRequest("GET", s.run.URL+cmcEnvPath("instances"), nil)
	req.Header.Set("Authorization", "Bearer "+DefaultCloudMCAPIKey)
	if resp, err := s.hc.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("Authorization instead of MC-Api-Key: %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// org_id is accepted, whatever it names.
	m.key, m.org = DefaultCloudMCAPIKey, "3c1e2d4f-0000-4000-8000-000000000001"
	m.list(cmcEnvPath("instances"))
	m.task("POST", cmcEnvPath("instances"), obj{"name": "web-1", "computeOfferingId": CloudMCComputeOfferingID,
		"networkId": CloudMCNetworkID, "templateId": CloudMCTemplateID})

	custom := startSim(t, Options{CloudMC: CloudMCOptions{APIKey: "k3y", ServiceCode: "compute-qc", Environment: "prod"}}).cmc()
	custom.wantError("GET", "/api/v2/services/compute-qc/prod/instances", nil, http.StatusForbidden, CloudMCErrForbidden, "")
	custom.key = "k3y"
	custom.list("/api/v2/services/compute-qc/prod/instances")
	e = custom.wantError("GET", cmcEnvPath("instances"), nil, http.StatusNotFound, CloudMCErrNotFound, `No environment "dev" for service "compute-sim"`)
	if ctx := e.obj("context"); ctx.str("serviceCode") != "compute-sim" || ctx.str("environmentName") != "dev" {
		t.Errorf("context = %v", ctx)
	}
}

func TestCloudMCInstanceLifecycle(t *testing.T) {
	s := startSim(t, Options{})
	m := s.cmc()

	taskID, id := m.createInstance("web-1", obj{"sshKeyName": "ops", "userData": "#cloud-config\n", "rootVolumeSizeInGb": 20})
	if got := m.getTask(taskID); got.str("taskStatus") != "PENDING" || got["result"] != nil {
		t.Errorf("new task = %v", got)
	}
	inst := m.data("GET", cmcEnvPath("instances/"+id), nil)
	if inst.str("state") != "Starting" || inst.str("name") != "web-1" || inst.str("hostname") != "web-1" ||
		inst.str("computeOfferingId") != CloudMCComputeOfferingID || inst.str("computeOfferingName") != CloudMCComputeOfferingName ||
		inst.str("networkId") != CloudMCNetworkID || inst.str("networkName") != CloudMCNetworkName ||
		inst.str("templateId") != CloudMCTemplateID || inst.str("templateName") != CloudMCTemplateName ||
		inst.str("zoneId") != CloudMCZoneID || !strings.HasPrefix(inst.str("ipAddress"), "10.42.0.") || inst.str("macAddress") == "" ||
		num(inst["cpuCount"]) != 1 || num(inst["memoryInMB"]) != 1024 || inst.str("sshKeyName") != "ops" || inst["isSshKeyEnabled"] != true {
		t.Errorf("instance while creating = %v", inst)
	}
	if _, ok := inst["userData"]; ok {
		t.Errorf("GET shows the user data: %v", inst)
	}
	vols := m.list(cmcEnvPath("volumes"))
	if len(vols) != 1 || vols[0].str("type") != "os" || vols[0].str("state") != "Creating" || num(vols[0]["sizeInGb"]) != 20 ||
		vols[0].str("instanceId") != id || vols[0].str("name") != "ROOT-web-1" {
		t.Errorf("volumes while creating = %v", vols)
	}
	// The instance is Starting: the other operations must wait.
	m.wantError("POST", cmcEnvPath("instances/"+id+"?operation=stop"), nil, http.StatusBadRequest, CloudMCErrInvalidState, "Cannot stop an instance")
	m.wantError("DELETE", cmcEnvPath("instances/"+id), nil, http.StatusBadRequest, CloudMCErrInvalidState,
		"Cannot delete an instance that isn't in the running, stopped or error state")

	s.clock.Advance(999 * time.Millisecond)
	if got := m.getTask(taskID).str("taskStatus"); got != "PENDING" {
		t.Errorf("after 999ms of 1s the task is %s", got)
	}
	s.clock.Advance(time.Millisecond)
	done := m.getTask(taskID)
	if done.str("taskStatus") != "SUCCESS" || done.obj("result").str("id") != id || done.obj("result").str("state") != "Running" {
		t.Fatalf("after 1s the task is %v", done)
	}
	if m.state("instances", id) != "Running" || m.list(cmcEnvPath("volumes"))[0].str("state") != "Ready" {
		t.Errorf("after the create: instance %s, volumes %v", m.state("instances", id), m.list(cmcEnvPath("volumes")))
	}

	// Stop, and stop again: the reference's error. While the stop runs the
	// instance still shows Running, and refuses other changes.
	stop := m.task("POST", cmcEnvPath("instances/"+id+"?operation=stop"), nil)
	if got := m.state("instances", id); got != "Running" {
		t.Errorf("while stopping: %s, want Running until the task completes", got)
	}
	busy := m.wantError("POST", cmcEnvPath("instances/"+id+"?operation=stop"), nil, http.StatusBadRequest, CloudMCErrTaskInProgress,
		"Cannot stop instance "+id+": task "+stop+" (stop) is still in progress on it")
	wantBusy := obj{"id": id, "type": "instances", "currentState": "Running", "taskId": stop, "operation": "stop"}
	if ctx := busy.obj("context"); !reflect.DeepEqual(ctx, wantBusy) {
		t.Errorf("context = %v, want %v", ctx, wantBusy)
	}
	m.wantError("DELETE", cmcEnvPath("instances/"+id), nil, http.StatusBadRequest, CloudMCErrTaskInProgress, "(stop) is still in progress")
	s.clock.Advance(time.Second)
	if got := m.getTask(stop); got.str("taskStatus") != "SUCCESS" || got.obj("result").str("state") != "Stopped" {
		t.Errorf("stop task = %v", got)
	}
	e := m.wantError("POST", cmcEnvPath("instances/"+id+"?operation=stop"), nil, http.StatusBadRequest, CloudMCErrInvalidState,
		"Cannot stop an instance that isn't in the running state")
	if e.str("message") != "Cannot stop an instance that isn't in the running state" {
		t.Errorf("message = %q", e.str("message"))
	}
	want := obj{"id": id, "currentState": "Stopped", "expectedStates": []any{"Running"}, "type": "instances"}
	if ctx := e.obj("context"); !reflect.DeepEqual(ctx, want) {
		t.Errorf("context = %v, want %v", ctx, want)
	}
	m.wantError("POST", cmcEnvPath("instances/"+id+"?operation=reboot"), nil, http.StatusBadRequest, CloudMCErrInvalidState,
		"Cannot reboot an instance that isn't in the running state")

	start := m.task("POST", cmcEnvPath("instances/"+id+"?operation=start"), nil)
	if got := m.state("instances", id); got != "Stopped" {
		t.Errorf("while starting: %s, want Stopped until the task completes", got)
	}
	m.wantError("POST", cmcEnvPath("instances/"+id+"?operation=start"), nil, http.StatusBadRequest, CloudMCErrTaskInProgress,
		"(start) is still in progress")
	s.clock.Advance(time.Second)
	if m.getTask(start).str("taskStatus") != "SUCCESS" || m.state("instances", id) != "Running" {
		t.Errorf("after start: %s", m.state("instances", id))
	}

	reboot := m.task("POST", cmcEnvPath("instances/"+id+"?operation=reboot"), nil)
	if got := m.state("instances", id); got != "Running" {
		t.Errorf("while rebooting: %s, want Running (as CloudStack)", got)
	}
	s.clock.Advance(time.Second)
	if m.getTask(reboot).str("taskStatus") != "SUCCESS" {
		t.Errorf("reboot task = %v", m.getTask(reboot))
	}

	del := m.task("DELETE", cmcEnvPath("instances/"+id), nil)
	s.clock.Advance(999 * time.Millisecond)
	if got := m.state("instances", id); got != "Running" {
		t.Errorf("while destroying: %s, want Running until the task completes", got)
	}
	m.wantError("DELETE", cmcEnvPath("instances/"+id), nil, http.StatusBadRequest, CloudMCErrTaskInProgress, "(delete) is still in progress")
	m.wantError("POST", cmcEnvPath("instances/"+id+"?operation=stop"), nil, http.StatusBadRequest, CloudMCErrTaskInProgress, "(delete) is still in progress")
	s.clock.Advance(time.Millisecond)
	if got := m.getTask(del); got.str("taskStatus") != "SUCCESS" || got.obj("result").str("state") != "Destroyed" || got.obj("result").str("id") != id {
		t.Errorf("delete task = %v", got)
	}
	m.wantError("GET", cmcEnvPath("instances/"+id), nil, http.StatusNotFound, CloudMCErrNotFound, "No instance with id "+id)
	if vols := m.list(cmcEnvPath("volumes")); len(vols) != 0 {
		t.Errorf("the OS volume outlived its instance: %v", vols)
	}
	if !s.run.Server.Inventory().Empty() {
		t.Errorf("inventory after delete: %v", s.run.Server.Inventory())
	}

	got := s.run.Server.Counters()[CloudCloudMC]
	wantCounts := map[string]map[string]int{
		"instance-creates": {"web-1": 1}, "instance-starts": {"web-1": 1}, "instance-stops": {"web-1": 1},
		"instance-reboots": {"web-1": 1}, "instance-deletes": {"web-1": 1},
	}
	if !reflect.DeepEqual(got, wantCounts) {
		t.Errorf("counters = %v, want %v", got, wantCounts)
	}
}

// A stopped instance changes its compute offering in place, through a task
// that holds the instance and shows the old offering until it completes; a
// running instance, an unknown offering and the offering it has are each
// refused, and a failed task leaves the old offering.
func TestCloudMCChangeComputeOffering(t *testing.T) {
	s := startSim(t, Options{})
	m := s.cmc()
	offerings := m.list(cmcEnvPath("computeofferings"))
	if len(offerings) != 2 || offerings[1].str("id") != CloudMCComputeOffering2ID || offerings[1].str("name") != CloudMCComputeOffering2Name ||
		num(offerings[1]["cpuCount"]) != 2 || num(offerings[1]["memoryInMB"]) != 4096 {
		t.Fatalf("compute offerings = %v", offerings)
	}
	// Either offering makes an instance; another is refused.
	tid, _ := m.createInstance("big-1", obj{"computeOfferingId": CloudMCComputeOffering2ID})
	s.clock.Advance(time.Second)
	if got := m.getTask(tid).obj("result"); got.str("computeOfferingId") != CloudMCComputeOffering2ID || num(got["cpuCount"]) != 2 {
		t.Errorf("instance made with the second offering = %v", got)
	}
	m.wantError("POST", cmcEnvPath("instances"), obj{"name": "x", "computeOfferingId": "nope", "networkId": CloudMCNetworkID,
		"templateId": CloudMCTemplateID}, http.StatusBadRequest, CloudMCErrInvalidRequest, "computeOfferingId nope names no compute offering")

	taskID, id := m.createInstance("web-1", nil)
	s.clock.Advance(time.Second)
	m.getTask(taskID)
	change := cmcEnvPath("instances/" + id + "?operation=changeComputeOffering")
	body := obj{"computeOfferingId": CloudMCComputeOffering2ID}

	// Running: the reference's 2012, naming the state it needs.
	e := m.wantError("POST", change, body, http.StatusBadRequest, CloudMCErrInvalidState,
		"Cannot change the compute offering of an instance that isn't in the stopped state")
	if want := (obj{"id": id, "currentState": "Running", "expectedStates": []any{"Stopped"}, "type": "instances"}); !reflect.DeepEqual(e.obj("context"), want) {
		t.Errorf("context = %v, want %v", e.obj("context"), want)
	}
	stop := m.task("POST", cmcEnvPath("instances/"+id+"?operation=stop"), nil)
	s.clock.Advance(time.Second)
	m.getTask(stop)

	// Bad requests name the field.
	for _, tc := range []struct {
		body any
		msg  string
	}{
		{nil, "request body is required"},
		{obj{}, "computeOfferingId is required"},
		{obj{"computeOfferingId": 7}, "computeOfferingId"},
		{obj{"computeOfferingId": "nope"}, "computeOfferingId nope names no compute offering of this environment"},
		{obj{"computeOfferingId": CloudMCComputeOfferingID}, "already has compute offering " + CloudMCComputeOfferingName},
	} {
		m.wantError("POST", change, tc.body, http.StatusBadRequest, CloudMCErrInvalidRequest, tc.msg)
	}
	m.wantError("POST", cmcEnvPath("instances/no-such?operation=changeComputeOffering"), body, http.StatusNotFound, CloudMCErrNotFound, "No instance with id no-such")

	// The change: a task holding the instance, which shows its old
	// offering, Stopped, until the task completes.
	task := m.task("POST", change, body)
	inst := m.data("GET", cmcEnvPath("instances/"+id), nil)
	if inst.str("computeOfferingId") != CloudMCComputeOfferingID || inst.str("state") != "Stopped" {
		t.Errorf("while the change runs: %v", inst)
	}
	m.wantError("POST", change, body, http.StatusBadRequest, CloudMCErrTaskInProgress,
		"task "+task+" (changeComputeOffering) is still in progress")
	m.wantError("POST", cmcEnvPath("instances/"+id+"?operation=start"), nil, http.StatusBadRequest, CloudMCErrTaskInProgress, "(changeComputeOffering)")
	s.clock.Advance(time.Second)
	done := m.getTask(task)
	if res := done.obj("result"); done.str("taskStatus") != "SUCCESS" || res.str("id") != id || res.str("computeOfferingId") != CloudMCComputeOffering2ID ||
		res.str("computeOfferingName") != CloudMCComputeOffering2Name || num(res["cpuCount"]) != 2 || num(res["memoryInMB"]) != 4096 || res.str("state") != "Stopped" {
		t.Errorf("change task = %v", done)
	}
	if got := m.data("GET", cmcEnvPath("instances/"+id), nil); got.str("computeOfferingId") != CloudMCComputeOffering2ID {
		t.Errorf("after the change: %v", got)
	}

	// A failed change (an injected fault) keeps the offering it had.
	s.run.Server.AddFault(Fault{Cloud: CloudCloudMC, Method: "POST", Path: "/api/v2/services/*/*/instances/*", Action: FaultFailOperation, Times: 1})
	back := m.task("POST", change, obj{"computeOfferingId": CloudMCComputeOfferingID})
	s.clock.Advance(time.Second)
	if got := m.getTask(back).str("taskStatus"); got != "FAILED" {
		t.Errorf("faulted change = %s", got)
	}
	if got := m.data("GET", cmcEnvPath("instances/"+id), nil).str("computeOfferingId"); got != CloudMCComputeOffering2ID {
		t.Errorf("after a failed change the offering is %s", got)
	}
}

func TestCloudMCTaskExpiry(t *testing.T) {
	s := startSim(t, Options{})
	m := s.cmc()
	ctx := context.Background()
	m.wantError("GET", "/api/v2/tasks/no-such-task", nil, http.StatusNotFound, CloudMCErrNotFound, "No task with id no-such-task")

	// The default TTL: 30 minutes after the task started.
	taskID, id := m.createInstance("web-1", nil)
	s.clock.Advance(30 * time.Minute)
	if got := m.getTask(taskID).str("taskStatus"); got != "SUCCESS" {
		t.Errorf("30m after the start the task is %s", got)
	}
	s.clock.Advance(time.Millisecond)
	e := m.wantError("GET", "/api/v2/tasks/"+taskID, nil, http.StatusNotFound, CloudMCErrNotFound, "it does not exist or has expired")
	if e.obj("context").str("type") != "tasks" || e.obj("context").str("id") != taskID {
		t.Errorf("context = %v", e.obj("context"))
	}
	if m.state("instances", id) != "Running" {
		t.Error("the instance went with its task")
	}

	// A TTL shorter than the task, set at run time: the task is forgotten
	// while it runs, the instance shows Running all along, and the delete
	// goes on to the end.
	if err := s.admin.SetOperationExpiry(ctx, CloudCloudMC, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	del := m.task("DELETE", cmcEnvPath("instances/"+id), nil)
	s.clock.Advance(50 * time.Millisecond)
	if got := m.getTask(del).str("taskStatus"); got != "PENDING" {
		t.Errorf("50ms after the start the task is %s", got)
	}
	s.clock.Advance(time.Millisecond)
	m.wantError("GET", "/api/v2/tasks/"+del, nil, http.StatusNotFound, CloudMCErrNotFound, "")
	if got := m.state("instances", id); got != "Running" {
		t.Errorf("the instance is %s while its forgotten delete runs, want Running", got)
	}
	s.clock.Advance(time.Second)
	m.wantError("GET", cmcEnvPath("instances/"+id), nil, http.StatusNotFound, CloudMCErrNotFound, "")
	m.wantError("GET", "/api/v2/tasks/"+del, nil, http.StatusNotFound, CloudMCErrNotFound, "")
	_, id = m.createInstance("web-4", nil)
	s.clock.Advance(time.Second)

	// The admin API checks what it is given.
	for _, tc := range []struct {
		cloud string
		d     time.Duration
		want  string
	}{
		{CloudCrusoe, time.Second, "has no operation expiry"},
		{"nimbus", time.Second, "unknown cloud"},
		{CloudCloudMC, -time.Second, "must not be negative"},
	} {
		if err := s.admin.SetOperationExpiry(ctx, tc.cloud, tc.d); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetOperationExpiry(%s, %v) = %v, want %q", tc.cloud, tc.d, err, tc.want)
		}
	}
	if status, out := s.adminPut("/_sim/latency", `{"cloud":"cloudmc"}`); status != http.StatusBadRequest || !strings.Contains(out.str("error"), "give latency, expiry or both") {
		t.Errorf("empty latency body: %d %v", status, out)
	}
	if s.run.Server.SetOperationExpiry(CloudKraftCloud, time.Second) {
		t.Error("SetOperationExpiry(kraftcloud) reported success")
	}

	// 0 keeps tasks forever; so does a negative TaskTTL option.
	if err := s.admin.SetOperationExpiry(ctx, CloudCloudMC, 0); err != nil {
		t.Fatal(err)
	}
	stop := m.task("POST", cmcEnvPath("instances/"+id+"?operation=stop"), nil)
	s.clock.Advance(1000 * time.Hour)
	m.getTask(stop)
	forever := startSim(t, Options{CloudMC: CloudMCOptions{TaskTTL: -1}})
	fm := forever.cmc()
	tid, _ := fm.createInstance("web-2", nil)
	forever.clock.Advance(1000 * time.Hour)
	fm.getTask(tid)

	// Reset restores the configured TTL.
	if err := s.admin.SetOperationExpiry(ctx, CloudCloudMC, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	s.run.Server.Reset()
	tid, _ = m.createInstance("web-3", nil)
	s.clock.Advance(time.Minute)
	m.getTask(tid)
}

// adminPut sends a raw admin request.
func (s *sim) adminPut(p, body string) (int, obj) {
	s.t.Helper()
	req, _ := http.NewRequest("PUT", s.run.URL+p, strings.NewReader(body))
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out obj
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestCloudMCLatency(t *testing.T) {
	s := startSim(t, Options{CloudMC: CloudMCOptions{Latency: 3 * time.Second}})
	m := s.cmc()
	tid, _ := m.createInstance("web-1", nil)
	s.clock.Advance(2 * time.Second)
	if got := m.getTask(tid).str("taskStatus"); got != "PENDING" {
		t.Errorf("after 2s of 3s: %s", got)
	}
	if err := s.admin.SetOperationLatency(context.Background(), CloudCloudMC, 0); err != nil {
		t.Fatal(err)
	}
	tid2, id2 := m.createInstance("web-2", nil)
	if got := m.getTask(tid2).str("taskStatus"); got != "SUCCESS" || m.state("instances", id2) != "Running" {
		t.Errorf("with no latency the next request sees the task %s", got)
	}
	s.clock.Advance(time.Second)
	if got := m.getTask(tid).str("taskStatus"); got != "SUCCESS" {
		t.Errorf("a task under way keeps its due time: %s", got)
	}

	instant := startSim(t, Options{CloudMC: CloudMCOptions{Latency: -1}})
	im := instant.cmc()
	tid, _ = im.createInstance("web-1", nil) // createInstance lists, which completes the task
	if got := im.getTask(tid).str("taskStatus"); got != "SUCCESS" {
		t.Errorf("negative latency: %s", got)
	}
}

func TestCloudMCFaults(t *testing.T) {
	s := startSim(t, Options{})
	m := s.cmc()
	prefix := "/api/v2/services/*/*/"

	// fail-operation: the create's task FAILS and the instance disappears.
	s.run.Server.AddFault(Fault{Cloud: CloudCloudMC, Method: "POST", Path: prefix + "instances", Action: FaultFailOperation,
		Code: "no_capacity", Message: "no capacity left", Times: 1})
	taskID, id := m.createInstance("web-1", nil)
	if m.state("instances", id) != "Starting" {
		t.Errorf("the failing create shows %s", m.state("instances", id))
	}
	s.clock.Advance(time.Second)
	failed := m.getTask(taskID)
	errs := failed.obj("result").list("errors")
	if failed.str("taskStatus") != "FAILED" || len(errs) != 1 || num(errs[0]["code"]) != CloudMCErrInternal ||
		errs[0].str("message") != "no capacity left" || errs[0].obj("context").str("reason") != "no_capacity" {
		t.Errorf("failed task = %v", failed)
	}
	m.wantError("GET", cmcEnvPath("instances/"+id), nil, http.StatusNotFound, CloudMCErrNotFound, "")
	if !s.run.Server.Inventory().Empty() {
		t.Errorf("the failed create left %v", s.run.Server.Inventory())
	}
	var journaled bool
	for _, rec := range s.run.Server.Requests() {
		if rec.Method == "POST" && rec.OperationID == taskID && rec.Fault != "" && rec.Cloud == CloudCloudMC {
			journaled = true
		}
	}
	if !journaled {
		t.Errorf("the journal lacks the failed create: %+v", s.run.Server.Requests())
	}
	// The name is free again, and the fault is spent.
	taskID, id = m.createInstance("web-1", nil)
	s.clock.Advance(time.Second)
	if m.getTask(taskID).str("taskStatus") != "SUCCESS" {
		t.Fatal("the second create failed too")
	}

	// A failing stop leaves the instance Running; a numeric code is kept.
	s.run.Server.AddFault(Fault{Cloud: CloudCloudMC, Method: "POST", Path: prefix + "instances/*", Action: FaultFailOperation, Code: "2042", Times: 1})
	stop := m.task("POST", cmcEnvPath("instances/"+id+"?operation=stop"), nil)
	s.clock.Advance(time.Second)
	if got := m.getTask(stop); got.str("taskStatus") != "FAILED" || num(got.obj("result").list("errors")[0]["code"]) != 2042 {
		t.Errorf("failed stop = %v", got)
	}
	if got := m.state("instances", id); got != "Running" {
		t.Errorf("after a failed stop: %s", got)
	}
	// A request refused before any task does not spend a fail-operation fault.
	f := s.run.Server.AddFault(Fault{Cloud: CloudCloudMC, Path: prefix + "volumes", Method: "POST", Action: FaultFailOperation, Times: 1})
	m.wantError("POST", cmcEnvPath("volumes"), obj{"name": "v"}, http.StatusBadRequest, CloudMCErrInvalidRequest, "diskOfferingId is required")
	for _, got := range s.run.Server.Faults() {
		if got.ID == f.ID && got.Hits != 0 {
			t.Errorf("a refused request spent the fault: %+v", got)
		}
	}
	s.run.Server.ClearFaults()

	// error: the CloudMC error shape, the status's code unless one is given.
	s.run.Server.AddFault(Fault{Cloud: CloudCloudMC, Method: "GET", Path: prefix + "instances", Action: FaultError, Status: 503, RetryAfter: Duration(2 * time.Second), Times: 1})
	e := m.wantError("GET", cmcEnvPath("instances"), nil, http.StatusServiceUnavailable, CloudMCErrInternal, "injected service unavailable")
	if e.obj("context").str("reason") != "service_unavailable" {
		t.Errorf("injected error = %v", e)
	}
	s.run.Server.AddFault(Fault{Cloud: CloudCloudMC, Path: "/api/v2/tasks/*", Action: FaultError, Status: 404, Code: "1004", Message: "gone", Times: 1})
	m.wantError("GET", "/api/v2/tasks/"+taskID, nil, http.StatusNotFound, CloudMCErrNotFound, "gone")
	s.run.Server.AddFault(Fault{Cloud: CloudCloudMC, Path: prefix + "instances", Action: FaultError, Status: 403, Times: 1})
	m.wantError("GET", cmcEnvPath("instances"), nil, http.StatusForbidden, CloudMCErrForbidden, "")

	// drop-response: the create happens, the client never hears of it.
	s.run.Server.AddFault(Fault{Cloud: CloudCloudMC, Method: "POST", Path: prefix + "instances", Action: FaultDropResponse, Times: 1})
	req, _ := http.NewRequest("POST", s.run.URL+cmcEnvPath("instances"), strings.NewReader(fmt.Sprintf(
		`{"name":"web-2","computeOfferingId":%q,"networkId":%q,"templateId":%q}`, CloudMCComputeOfferingID, CloudMCNetworkID, CloudMCTemplateID)))
	req.Header.Set("MC-Api-Key", DefaultCloudMCAPIKey)
	if resp, err := s.hc.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("the dropped response arrived")
	}
	if got := s.run.Server.Inventory().Count(CloudCloudMC, "instances"); got != 2 {
		t.Errorf("after a dropped create: %d instances, want 2", got)
	}
	// delay: served, late.
	s.run.Server.AddFault(Fault{Cloud: CloudCloudMC, Method: "GET", Path: prefix + "instances", Action: FaultDelay, Delay: Duration(20 * time.Millisecond), Times: 1})
	began := time.Now()
	if items := m.list(cmcEnvPath("instances")); len(items) != 2 || time.Since(began) < 20*time.Millisecond {
		t.Errorf("delayed list: %d items after %v", len(items), time.Since(began))
	}
}

func TestCloudMCErrors(t *testing.T) {
	s := startSim(t, Options{})
	m := s.cmc()
	good := func(extra obj) obj {
		b := obj{"name": "web-1", "computeOfferingId": CloudMCComputeOfferingID, "networkId": CloudMCNetworkID, "templateId": CloudMCTemplateID}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	for _, tc := range []struct {
		body          any
		field, reason string
	}{
		{good(obj{"name": ""}), "name", "name is required"},
		{good(obj{"name": "1web"}), "name", "must start with a letter"},
		{good(obj{"name": "web_1"}), "name", "only letters, digits and hyphens"},
		{good(obj{"name": "web-"}), "name", "must not end with a hyphen"},
		{good(obj{"name": strings.Repeat("a", 64)}), "name", "more than the 63"},
		{good(obj{"computeOfferingId": ""}), "computeOfferingId", "computeOfferingId is required"},
		{good(obj{"computeOfferingId": "nope"}), "computeOfferingId", "names no compute offering of this environment"},
		{good(obj{"networkId": "nope"}), "networkId", "names no network"},
		{good(obj{"templateId": nil}), "templateId", "templateId is required"},
		{good(obj{"rootVolumeSizeInGb": 5}), "rootVolumeSizeInGb", "smaller than the template's 10 GB"},
		{good(obj{"rootVolumeSizeInGb": 5000}), "rootVolumeSizeInGb", "is not from 10 to 1024"},
		{good(obj{"userData": strings.Repeat("x", 40<<10)}), "userData", "more than the 32768 allowed"},
		{good(obj{"name": 7}), "name", `field "name" must be a string, not a number`},
		{`{"name": `, "", "malformed JSON"},
		{nil, "", "request body is required"},
	} {
		e := m.wantError("POST", cmcEnvPath("instances"), tc.body, http.StatusBadRequest, CloudMCErrInvalidRequest, tc.reason)
		if e.obj("context").str("field") != tc.field {
			t.Errorf("%v: context %v, want field %q", tc.body, e.obj("context"), tc.field)
		}
	}
	if !s.run.Server.Inventory().Empty() {
		t.Fatalf("refused creates made %v", s.run.Server.Inventory())
	}

	// Duplicate names, whatever their case.
	_, id := m.createInstance("web-1", nil)
	e := m.wantError("POST", cmcEnvPath("instances"), good(obj{"name": "WEB-1"}), http.StatusBadRequest, CloudMCErrNameInUse, "An instance named web-1 already exists")
	if ctx := e.obj("context"); ctx.str("id") != id || ctx.str("field") != "name" {
		t.Errorf("duplicate context = %v", ctx)
	}

	// Operations.
	m.wantError("POST", cmcEnvPath("instances/"+id), nil, http.StatusBadRequest, CloudMCErrInvalidRequest, "operation query parameter is required")
	e = m.wantError("POST", cmcEnvPath("instances/"+id+"?operation=explode"), nil, http.StatusBadRequest, CloudMCErrInvalidRequest, `Unsupported operation "explode"`)
	if !reflect.DeepEqual(e.obj("context")["supportedOperations"], []any{"start", "stop", "reboot", "changeComputeOffering"}) {
		t.Errorf("context = %v", e.obj("context"))
	}
	m.wantError("POST", cmcEnvPath("instances/nope?operation=start"), nil, http.StatusNotFound, CloudMCErrNotFound, "No instance with id nope")
	m.wantError("DELETE", cmcEnvPath("instances/nope"), nil, http.StatusNotFound, CloudMCErrNotFound, "")
	m.wantError("GET", cmcEnvPath("volumes/nope"), nil, http.StatusNotFound, CloudMCErrNotFound, "No volume with id nope")
	m.wantError("GET", cmcEnvPath("ingressrules/nope"), nil, http.StatusNotFound, CloudMCErrNotFound, "No ingress rule with id nope")
	m.wantError("GET", cmcEnvPath("egressrules"), nil, http.StatusNotFound, CloudMCErrNotFound, "No such endpoint")

	// 405 with Allow.
	req, _ := http.NewRequest("PUT", s.run.URL+cmcEnvPath("instances/"+id), nil)
	req.Header.Set("MC-Api-Key", DefaultCloudMCAPIKey)
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, POST, DELETE" {
		t.Errorf("PUT instance: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	m.wantError("PATCH", cmcEnvPath("volumes"), nil, http.StatusMethodNotAllowed, CloudMCErrMethodNotAllowed, "PATCH is not supported")
	m.wantError("POST", "/api/v2/tasks/x", nil, http.StatusMethodNotAllowed, CloudMCErrMethodNotAllowed, "")
}

func TestCloudMCVolumes(t *testing.T) {
	s := startSim(t, Options{CloudMC: CloudMCOptions{Latency: -1}})
	m := s.cmc()
	_, web := m.createInstance("web-1", nil)
	_, db := m.createInstance("db-1", nil)
	vpath := func(id string, op string) string {
		p := cmcEnvPath("volumes/" + id)
		if op != "" {
			p += "?operation=" + op
		}
		return p
	}
	var osVolume string
	for _, v := range m.list(cmcEnvPath("volumes")) {
		if v.str("instanceId") == web {
			osVolume = v.str("id")
		}
	}

	s.run.Server.SetOperationLatency(CloudCloudMC, time.Second)
	tid := m.task("POST", cmcEnvPath("volumes"), obj{"name": "data-1", "diskOfferingId": CloudMCCustomDiskOfferingID, "sizeInGb": 20, "zoneId": CloudMCZoneID})
	var id string
	for _, v := range m.list(cmcEnvPath("volumes")) {
		if v.str("name") == "data-1" {
			id = v.str("id")
			if v.str("state") != "Creating" || v.str("type") != "data" || num(v["sizeInGb"]) != 20 || v["instanceId"] != nil ||
				v.str("diskOfferingId") != CloudMCCustomDiskOfferingID || v.str("diskOfferingName") != CloudMCCustomDiskOfferingName {
				t.Errorf("volume while creating = %v", v)
			}
		}
	}
	m.wantError("POST", vpath(id, "attachToInstance"), obj{"instanceId": web}, http.StatusBadRequest, CloudMCErrInvalidState,
		"Cannot attach a volume that isn't in the ready state")
	s.clock.Advance(time.Second)
	if got := m.getTask(tid); got.str("taskStatus") != "SUCCESS" || got.obj("result").str("state") != "Ready" {
		t.Errorf("volume create task = %v", got)
	}

	// Attach: the volume shows Ready and detached until the task completes,
	// then attached.
	att := m.task("POST", vpath(id, "attachToInstance"), obj{"instanceId": web})
	if v := m.data("GET", vpath(id, ""), nil); v.str("state") != "Ready" || v["instanceId"] != nil {
		t.Errorf("while attaching = %v", v)
	}
	m.wantError("POST", vpath(id, "attachToInstance"), obj{"instanceId": db}, http.StatusBadRequest, CloudMCErrTaskInProgress, "(attach) is still in progress")
	m.wantError("DELETE", vpath(id, ""), nil, http.StatusBadRequest, CloudMCErrTaskInProgress, "(attach) is still in progress")
	s.clock.Advance(time.Second)
	v := m.data("GET", vpath(id, ""), nil)
	if v.str("state") != "Ready" || v.str("instanceId") != web || v.str("instanceName") != "web-1" || v.str("instanceState") != "Running" {
		t.Errorf("attached volume = %v", v)
	}
	if got := m.getTask(att).obj("result"); got.str("instanceId") != web {
		t.Errorf("attach result = %v", got)
	}
	e := m.wantError("POST", vpath(id, "attachToInstance"), obj{"instanceId": db}, http.StatusBadRequest, CloudMCErrInUse, "attached to instance "+web)
	if e.obj("context").str("instanceId") != web {
		t.Errorf("context = %v", e.obj("context"))
	}
	m.wantError("DELETE", vpath(id, ""), nil, http.StatusBadRequest, CloudMCErrInUse, "Cannot delete volume")

	// Detach.
	det := m.task("POST", vpath(id, "detachFromInstance"), nil)
	if got := m.data("GET", vpath(id, ""), nil); got.str("state") != "Ready" || got.str("instanceId") != web {
		t.Errorf("while detaching = %v, want Ready and attached until the task completes", got)
	}
	m.wantError("POST", vpath(id, "detachFromInstance"), nil, http.StatusBadRequest, CloudMCErrTaskInProgress, "(detach) is still in progress")
	s.clock.Advance(time.Second)
	if got := m.getTask(det); got.str("taskStatus") != "SUCCESS" || got.obj("result")["instanceId"] != nil {
		t.Errorf("detach task = %v", got)
	}
	m.wantError("POST", vpath(id, "detachFromInstance"), nil, http.StatusBadRequest, CloudMCErrInvalidRequest, "is not attached")

	// Bad attaches and OS volumes.
	m.wantError("POST", vpath(id, "attachToInstance"), obj{}, http.StatusBadRequest, CloudMCErrInvalidRequest, "instanceId is required")
	m.wantError("POST", vpath(id, "attachToInstance"), obj{"instanceId": "nope"}, http.StatusBadRequest, CloudMCErrInvalidRequest, "names no instance")
	m.wantError("POST", vpath(id, "attachToInstance"), nil, http.StatusBadRequest, CloudMCErrInvalidRequest, "request body is required")
	m.wantError("POST", vpath(id, "explode"), nil, http.StatusBadRequest, CloudMCErrInvalidRequest, `Unsupported operation "explode"`)
	m.wantError("POST", vpath(id, ""), nil, http.StatusBadRequest, CloudMCErrInvalidRequest, "operation query parameter is required")
	m.wantError("POST", vpath(osVolume, "detachFromInstance"), nil, http.StatusBadRequest, CloudMCErrInvalidRequest, "OS volume")
	m.wantError("DELETE", vpath(osVolume, ""), nil, http.StatusBadRequest, CloudMCErrInvalidRequest, "delete the instance instead")
	stop := m.task("POST", cmcEnvPath("instances/"+db+"?operation=stop"), nil)
	m.wantError("POST", vpath(id, "attachToInstance"), obj{"instanceId": db}, http.StatusBadRequest, CloudMCErrTaskInProgress,
		"Cannot attach a volume to instance "+db+": task "+stop+" (stop) is still in progress")
	s.clock.Advance(time.Second)
	m.getTask(stop)

	// A volume created with instanceId is attached as it is made, to a stopped instance too.
	tid = m.task("POST", cmcEnvPath("volumes"), obj{"name": "data-2", "diskOfferingId": CloudMCDiskOfferingID, "instanceId": db})
	s.clock.Advance(time.Second)
	made := m.getTask(tid).obj("result")
	if made.str("instanceId") != db || num(made["sizeInGb"]) != 50 || made.str("diskOfferingId") != CloudMCDiskOfferingID || made.str("instanceState") != "Stopped" {
		t.Errorf("volume made attached = %v", made)
	}
	custom := CloudMCCustomDiskOfferingID
	for _, tc := range []struct {
		body          obj
		field, reason string
	}{
		{obj{"sizeInGb": 10, "diskOfferingId": custom}, "name", "name is required"},
		{obj{"name": "x", "sizeInGb": 20}, "diskOfferingId", "diskOfferingId is required: a volume is made from a disk offering"},
		{obj{"name": "x"}, "diskOfferingId", "diskOfferingId is required"},
		{obj{"name": "x", "diskOfferingId": "nope"}, "diskOfferingId", "diskOfferingId nope names no disk offering"},
		{obj{"name": "x", "diskOfferingId": CloudMCDiskOfferingID, "sizeInGb": 50}, "sizeInGb",
			"sizeInGb applies to a custom-size disk offering only: 50GB - 50 IOPS Min. has a fixed size of 50 GB"},
		{obj{"name": "x", "diskOfferingId": custom}, "sizeInGb", "sizeInGb is required with the custom-size disk offering"},
		{obj{"name": "x", "diskOfferingId": custom, "sizeInGb": 2000}, "sizeInGb", "is not from 1 to 1024"},
		{obj{"name": "x", "diskOfferingId": custom, "sizeInGb": -1}, "sizeInGb", "is not from 1 to 1024"},
		{obj{"name": "x", "diskOfferingId": custom, "sizeInGb": 1, "zoneId": "nope"}, "zoneId", "names no zone"},
		{obj{"name": "x", "diskOfferingId": custom, "sizeInGb": 1, "instanceId": "nope"}, "instanceId", "names no instance"},
	} {
		e := m.wantError("POST", cmcEnvPath("volumes"), tc.body, http.StatusBadRequest, CloudMCErrInvalidRequest, tc.reason)
		if e.obj("context").str("field") != tc.field {
			t.Errorf("%v: context %v, want field %q", tc.body, e.obj("context"), tc.field)
		}
	}

	// Deleting the instance detaches its data volumes and takes its OS volume.
	del := m.task("DELETE", cmcEnvPath("instances/"+db), nil)
	s.clock.Advance(time.Second)
	m.getTask(del)
	for _, v := range m.list(cmcEnvPath("volumes")) {
		if v.str("instanceId") == db {
			t.Errorf("volume %v still attached to the deleted instance", v)
		}
	}
	if got := len(m.list(cmcEnvPath("volumes"))); got != 3 { // data-1, data-2, web-1's OS volume
		t.Errorf("%d volumes left, want 3", got)
	}

	// Delete a data volume.
	vdel := m.task("DELETE", vpath(id, ""), nil)
	if got := m.state("volumes", id); got != "Ready" {
		t.Errorf("while deleting: %s, want Ready until the task completes", got)
	}
	m.wantError("DELETE", vpath(id, ""), nil, http.StatusBadRequest, CloudMCErrTaskInProgress, "Cannot delete volume "+id+": task "+vdel+" (delete)")
	s.clock.Advance(time.Second)
	m.getTask(vdel)
	m.wantError("GET", vpath(id, ""), nil, http.StatusNotFound, CloudMCErrNotFound, "")

	// An attach fails if the instance goes first; a failed attach leaves the volume Ready and detached.
	_, spare := m.createInstance("spare", nil)
	s.clock.Advance(time.Second)
	var data2 string
	for _, v := range m.list(cmcEnvPath("volumes")) {
		if v.str("name") == "data-2" {
			data2 = v.str("id")
		}
	}
	s.run.Server.SetOperationLatency(CloudCloudMC, 2*time.Second)
	attach := m.task("POST", vpath(data2, "attachToInstance"), obj{"instanceId": spare})
	s.run.Server.SetOperationLatency(CloudCloudMC, time.Second)
	m.task("DELETE", cmcEnvPath("instances/"+spare), nil)
	s.clock.Advance(2 * time.Second)
	if got := m.getTask(attach); got.str("taskStatus") != "FAILED" || !strings.Contains(got.obj("result").list("errors")[0].str("message"), "was destroyed") {
		t.Errorf("attach to a destroyed instance = %v", got)
	}
	if v := m.data("GET", vpath(data2, ""), nil); v.str("state") != "Ready" || v["instanceId"] != nil {
		t.Errorf("after the failed attach = %v", v)
	}
}

func TestCloudMCIngressRules(t *testing.T) {
	s := startSim(t, Options{})
	m := s.cmc()
	tid := m.task("POST", cmcEnvPath("ingressrules"), obj{"protocol": "tcp", "startPort": 22, "cidr": "203.0.113.7/24"})
	rules := m.list(cmcEnvPath("ingressrules"))
	if len(rules) != 1 {
		t.Fatalf("rules = %v", rules)
	}
	r := rules[0]
	id := r.str("id")
	want := obj{"id": id, "networkId": CloudMCNetworkID, "networkName": CloudMCNetworkName, "protocol": "TCP",
		"startPort": float64(22), "endPort": float64(22), "cidr": "203.0.113.0/24", "state": "Add"}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("rule while adding = %v\nwant %v", r, want)
	}
	m.wantError("DELETE", cmcEnvPath("ingressrules/"+id), nil, http.StatusBadRequest, CloudMCErrInvalidState,
		"Cannot delete an ingress rule that isn't in the active state")
	s.clock.Advance(time.Second)
	if got := m.getTask(tid); got.str("taskStatus") != "SUCCESS" || got.obj("result").str("state") != "Active" {
		t.Errorf("create task = %v", got)
	}
	if got := m.data("GET", cmcEnvPath("ingressrules/"+id), nil); got.str("state") != "Active" {
		t.Errorf("rule = %v", got)
	}

	// Overlaps conflict; other ranges, protocols and CIDRs do not.
	e := m.wantError("POST", cmcEnvPath("ingressrules"), obj{"protocol": "TCP", "startPort": 20, "endPort": 30, "cidr": "203.0.113.0/24"},
		http.StatusBadRequest, CloudMCErrNameInUse, "conflicts with ingress rule "+id)
	if e.obj("context").str("id") != id {
		t.Errorf("context = %v", e.obj("context"))
	}
	m.task("POST", cmcEnvPath("ingressrules"), obj{"protocol": "TCP", "startPort": 23, "endPort": 25, "cidr": "203.0.113.0/24"})
	m.task("POST", cmcEnvPath("ingressrules"), obj{"protocol": "UDP", "startPort": 22, "cidr": "203.0.113.0/24", "networkId": CloudMCNetworkID})
	m.task("POST", cmcEnvPath("ingressrules"), obj{"protocol": "TCP", "startPort": 22, "cidr": "0.0.0.0/0"})
	icmp := m.task("POST", cmcEnvPath("ingressrules"), obj{"protocol": "ICMP", "cidr": "0.0.0.0/0", "icmpType": 8})
	m.wantError("POST", cmcEnvPath("ingressrules"), obj{"protocol": "ICMP", "cidr": "0.0.0.0/0"}, http.StatusBadRequest, CloudMCErrNameInUse, "conflicts")
	s.clock.Advance(time.Second)
	if r := m.getTask(icmp).obj("result"); num(r["icmpType"]) != 8 || num(r["icmpCode"]) != -1 || r["startPort"] != nil {
		t.Errorf("ICMP rule = %v", r)
	}

	for _, tc := range []struct {
		body          obj
		field, reason string
	}{
		{obj{"startPort": 22, "cidr": "0.0.0.0/0"}, "protocol", "protocol is required"},
		{obj{"protocol": "SCTP", "startPort": 22, "cidr": "0.0.0.0/0"}, "protocol", `protocol "SCTP" is not TCP, UDP or ICMP`},
		{obj{"protocol": "TCP", "cidr": "0.0.0.0/0"}, "startPort", "startPort 0 is not a port"},
		{obj{"protocol": "TCP", "startPort": 80, "endPort": 70, "cidr": "0.0.0.0/0"}, "endPort", "endPort 70 is not a port from startPort 80"},
		{obj{"protocol": "UDP", "startPort": 80, "endPort": 70000, "cidr": "0.0.0.0/0"}, "endPort", ""},
		{obj{"protocol": "TCP", "startPort": 80, "cidr": "0.0.0.0/0", "icmpType": 1}, "icmpType", "ICMP rules only"},
		{obj{"protocol": "ICMP", "startPort": 1, "cidr": "0.0.0.0/0"}, "startPort", "takes no ports"},
		{obj{"protocol": "ICMP", "cidr": "0.0.0.0/0", "icmpCode": 300}, "icmpCode", "icmpCode 300"},
		{obj{"protocol": "TCP", "startPort": 80}, "cidr", "cidr is required"},
		{obj{"protocol": "TCP", "startPort": 80, "cidr": "everywhere"}, "cidr", `cidr "everywhere" is not a CIDR block`},
		{obj{"protocol": "TCP", "startPort": 80, "cidr": "0.0.0.0/0", "networkId": "nope"}, "networkId", "names no network"},
	} {
		e := m.wantError("POST", cmcEnvPath("ingressrules"), tc.body, http.StatusBadRequest, CloudMCErrInvalidRequest, tc.reason)
		if e.obj("context").str("field") != tc.field {
			t.Errorf("%v: context %v, want field %q", tc.body, e.obj("context"), tc.field)
		}
	}

	del := m.task("DELETE", cmcEnvPath("ingressrules/"+id), nil)
	if got := m.state("ingressrules", id); got != "Active" {
		t.Errorf("while deleting: %s, want Active until the task completes", got)
	}
	m.wantError("DELETE", cmcEnvPath("ingressrules/"+id), nil, http.StatusBadRequest, CloudMCErrTaskInProgress, "Cannot delete ingress rule "+id)
	s.clock.Advance(time.Second)
	if got := m.getTask(del); got.str("taskStatus") != "SUCCESS" || got.obj("result").str("id") != id {
		t.Errorf("delete task = %v", got)
	}
	m.wantError("DELETE", cmcEnvPath("ingressrules/"+id), nil, http.StatusNotFound, CloudMCErrNotFound, "")
	if got := len(m.list(cmcEnvPath("ingressrules"))); got != 4 {
		t.Errorf("%d rules left, want 4", got)
	}
}

func TestCloudMCInventoryFixturesAndReset(t *testing.T) {
	s := startSim(t, Options{CloudMC: CloudMCOptions{Latency: 2 * time.Second}})
	m := s.cmc()
	for kind, id := range map[string]string{
		"computeofferings": CloudMCComputeOfferingID, "templates": CloudMCTemplateID, "networks": CloudMCNetworkID,
		"diskofferings": CloudMCDiskOfferingID, "zones": CloudMCZoneID,
	} {
		if items := m.list(cmcEnvPath(kind)); kind != "diskofferings" && kind != "computeofferings" && (len(items) != 1 || items[0].str("id") != id) {
			t.Errorf("%s = %v", kind, items)
		}
		if got := m.data("GET", cmcEnvPath(kind+"/"+id), nil); got.str("id") != id || got.str("name") == "" {
			t.Errorf("%s/%s = %v", kind, id, got)
		}
		m.wantError("GET", cmcEnvPath(kind+"/nope"), nil, http.StatusNotFound, CloudMCErrNotFound, "")
	}
	if !s.run.Server.Inventory().Empty() {
		t.Fatalf("fixtures are in the inventory: %v", s.run.Server.Inventory())
	}

	_, id := m.createInstance("web-1", nil)
	m.task("POST", cmcEnvPath("volumes"), obj{"name": "data-1", "diskOfferingId": CloudMCDiskOffering20ID})
	m.task("POST", cmcEnvPath("ingressrules"), obj{"protocol": "TCP", "startPort": 443, "cidr": "0.0.0.0/0"})
	inv := s.run.Server.Inventory()[CloudCloudMC]
	if len(inv["instances"]) != 1 || len(inv["volumes"]) != 2 || len(inv["ingress-rules"]) != 1 || len(inv) != 3 {
		t.Fatalf("inventory = %v", inv)
	}
	// Rendered as GET renders them.
	var fromInv, fromGet obj
	if err := jsonUnmarshal(inv["instances"][0], &fromInv); err != nil {
		t.Fatal(err)
	}
	fromGet = m.data("GET", cmcEnvPath("instances/"+id), nil)
	if !reflect.DeepEqual(fromInv, fromGet) {
		t.Errorf("inventory %v\nGET       %v", fromInv, fromGet)
	}
	// The inventory completes due tasks too.
	s.clock.Advance(2 * time.Second)
	if err := jsonUnmarshal(s.run.Server.Inventory()[CloudCloudMC]["instances"][0], &fromInv); err != nil || fromInv.str("state") != "Running" {
		t.Errorf("inventory after the latency = %v, %v", fromInv, err)
	}

	s.run.Server.SetOperationLatency(CloudCloudMC, time.Hour)
	if err := s.admin.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !s.run.Server.Inventory().Empty() || len(s.run.Server.Counters()[CloudCloudMC]["instance-creates"]) != 0 {
		t.Errorf("after reset: %v %v", s.run.Server.Inventory(), s.run.Server.Counters()[CloudCloudMC])
	}
	m.list(cmcEnvPath("computeofferings"))
	tid, _ := m.createInstance("web-1", nil) // the name is free again
	s.clock.Advance(2 * time.Second)
	if got := m.getTask(tid).str("taskStatus"); got != "SUCCESS" {
		t.Errorf("after reset the latency is not the configured 2s: %s", got)
	}
}

// TestCloudMCWithTypedClient drives the simulator through clients/cloudmc,
// as a worker does.
func TestCloudMCWithTypedClient(t *testing.T) {
	s := startSim(t, Options{})
	ctx := context.Background()
	c, err := cloudmc.NewFromConfig(cloudmc.Config{
		Endpoint: s.run.URL, APIKey: DefaultCloudMCAPIKey,
		ServiceCode: DefaultCloudMCServiceCode, Environment: DefaultCloudMCEnvironment, OrgID: "org-1",
	}, cloudmc.WithHTTPClient(s.hc))
	if err != nil {
		t.Fatal(err)
	}
	task, err := c.Instances.Create(ctx, &cloudmc.InstanceCreateRequest{Name: "web-1", ComputeOfferingID: CloudMCComputeOfferingID,
		NetworkID: CloudMCNetworkID, TemplateID: CloudMCTemplateID, RootVolumeSizeInGB: 20})
	if err != nil || task.Status != cloudmc.TaskPending || task.ID == "" {
		t.Fatalf("Create = %+v, %v", task, err)
	}
	s.clock.Advance(time.Second)
	task, err = c.Tasks.Get(ctx, task.ID)
	if err != nil || !task.Succeeded() {
		t.Fatalf("task = %+v, %v", task, err)
	}
	var inst cloudmc.Instance
	if err := task.DecodeResult(&inst); err != nil || inst.State != cloudmc.InstanceStateRunning || inst.Name != "web-1" {
		t.Fatalf("result = %+v, %v", inst, err)
	}

	task, err = c.Instances.Stop(ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Second)
	if _, err := c.Instances.Stop(ctx, inst.ID); !cloudmc.IsInvalidState(err) {
		t.Errorf("second stop: %v, want an invalid state error", err)
	} else if e := (*cloudmc.APIError)(nil); errors.As(err, &e) && e.Errors[0].Context["currentState"] != "Stopped" {
		t.Errorf("context = %v", e.Errors[0].Context)
	}
	if _, err := c.Instances.Create(ctx, &cloudmc.InstanceCreateRequest{Name: "web-1", ComputeOfferingID: CloudMCComputeOfferingID,
		NetworkID: CloudMCNetworkID, TemplateID: CloudMCTemplateID}); err == nil || !strings.Contains(err.Error(), "(code 2011)") {
		t.Errorf("duplicate create: %v", err)
	}

	vt, err := c.Volumes.Create(ctx, &cloudmc.VolumeCreateRequest{Name: "data", DiskOfferingID: CloudMCCustomDiskOfferingID, SizeInGB: 10, InstanceID: inst.ID})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := c.IngressRules.Create(ctx, &cloudmc.IngressRuleCreateRequest{Protocol: "tcp", StartPort: 22, CIDR: "0.0.0.0/0"})
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Second)
	var vol cloudmc.Volume
	if vt, err = c.Tasks.Get(ctx, vt.ID); err != nil || vt.DecodeResult(&vol) != nil || vol.InstanceID != inst.ID || !vol.Attached() {
		t.Errorf("volume task = %+v, %v; volume %+v", vt, err, vol)
	}
	if rules, err := c.IngressRules.List(ctx); err != nil || len(rules) != 1 || rules[0].Protocol != cloudmc.ProtocolTCP || rules[0].State != "Active" {
		t.Errorf("rules = %+v, %v", rules, err)
	}
	if _, err := c.Tasks.Get(ctx, rt.ID); err != nil {
		t.Error(err)
	}
	dt, err := c.Volumes.Detach(ctx, vol.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Second)
	if v, err := c.Volumes.Get(ctx, vol.ID); err != nil || v.Attached() || v.State != cloudmc.VolumeStateReady {
		t.Errorf("after detach: %+v, %v", v, err)
	}

	// A failed task explains itself through Failure.
	s.run.Server.AddFault(Fault{Cloud: CloudCloudMC, Method: "POST", Path: "/api/v2/**", Action: FaultFailOperation, Message: "host on fire", Times: 1})
	st, err := c.Instances.Start(ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(time.Second)
	st, err = c.Tasks.Get(ctx, st.ID)
	if f := st.Failure(); err != nil || f == nil || f.Message != "host on fire" || f.Code != cloudmc.ErrCodeInternal {
		t.Errorf("failed start: %+v, %v, %+v", st, err, f)
	}

	// Expired tasks are 404s.
	s.run.Server.SetOperationExpiry(CloudCloudMC, time.Millisecond)
	s.clock.Advance(time.Second)
	if _, err := c.Tasks.Get(ctx, dt.ID); !cloudmc.IsNotFound(err) {
		t.Errorf("expired task: %v", err)
	}
	if got, err := c.Instances.Get(ctx, inst.ID); err != nil || got.State != cloudmc.InstanceStateStopped {
		t.Errorf("the instance after its tasks expired: %+v, %v", got, err)
	}
	for _, rec := range s.run.Server.Requests() {
		if rec.Cloud == CloudCloudMC && !strings.Contains(rec.Query, "org_id=org-1") {
			t.Errorf("request without org_id: %+v", rec)
		}
	}
}

// Volumes are made from disk offerings, as CloudMC on CloudStack makes them:
// three of a fixed size and one custom-size are served, a fixed one gives
// its size, the custom one takes sizeInGb.
func TestCloudMCDiskOfferings(t *testing.T) {
	s := startSim(t, Options{CloudMC: CloudMCOptions{Latency: -1}})
	m := s.cmc()
	got := map[string]obj{}
	for _, o := range m.list(cmcEnvPath("diskofferings")) {
		got[o.str("id")] = o
	}
	for _, want := range []struct {
		id, name string
		gb       float64
		custom   bool
	}{
		{CloudMCDiskOffering20ID, CloudMCDiskOffering20Name, 20, false},
		{CloudMCDiskOfferingID, CloudMCDiskOfferingName, 50, false},
		{CloudMCDiskOffering100ID, CloudMCDiskOffering100Name, 100, false},
		{CloudMCCustomDiskOfferingID, CloudMCCustomDiskOfferingName, 0, true},
	} {
		o := got[want.id]
		if o.str("name") != want.name || num(o["gbSize"]) != want.gb || o["customSize"] != want.custom {
			t.Errorf("disk offering %s = %v, want %+v", want.id, o, want)
		}
		if one := m.data("GET", cmcEnvPath("diskofferings/"+want.id), nil); !reflect.DeepEqual(one, o) {
			t.Errorf("GET disk offering %s = %v, listed as %v", want.id, one, o)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d disk offerings, want 4: %v", len(got), got)
	}

	fixed := m.task("POST", cmcEnvPath("volumes"), obj{"name": "fixed", "diskOfferingId": CloudMCDiskOffering100ID})
	custom := m.task("POST", cmcEnvPath("volumes"), obj{"name": "custom", "diskOfferingId": CloudMCCustomDiskOfferingID, "sizeInGb": 7})
	for _, tc := range []struct {
		task, offering, name string
		gb                   float64
	}{
		{fixed, CloudMCDiskOffering100ID, CloudMCDiskOffering100Name, 100},
		{custom, CloudMCCustomDiskOfferingID, CloudMCCustomDiskOfferingName, 7},
	} {
		v := m.getTask(tc.task).obj("result")
		if v.str("diskOfferingId") != tc.offering || v.str("diskOfferingName") != tc.name || num(v["sizeInGb"]) != tc.gb {
			t.Errorf("volume = %v, want offering %s and %v GB", v, tc.name, tc.gb)
		}
	}
}
