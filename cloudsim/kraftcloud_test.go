package cloudsim

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestKraftCloudAuth(t *testing.T) {
	s := startSim(t, Options{})
	k := s.kc()
	k.must("GET", "/v1/instances", nil, "instances")

	for _, tc := range []struct{ name, header string }{
		{"no header", ""},
		{"wrong token", "Bearer nope"},
		{"not bearer", "Basic " + DefaultKraftCloudToken},
		{"bare token", DefaultKraftCloudToken},
	} {
		req, _ := http.NewRequest("GET", s.run.URL+"/v1/instances", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		resp, err := s.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tc.name, resp.StatusCode)
		}
	}
	k.token = "nope"
	out := k.wantError("GET", "/v1/instances", nil, http.StatusUnauthorized, 0, "Invalid API token")
	if strings.Contains(fmt.Sprint(out), DefaultKraftCloudToken) {
		t.Errorf("the 401 answer shows the token: %v", out)
	}
	// Unknown endpoints and the fallback check the token too.
	k.wantError("GET", "/v1/nothing", nil, http.StatusUnauthorized, 0, "")

	custom := startSim(t, Options{KraftCloud: KraftCloudOptions{Token: "t0ken"}}).kc()
	custom.wantError("GET", "/v1/instances", nil, http.StatusUnauthorized, 0, "")
	custom.token = "t0ken"
	custom.must("GET", "/v1/instances", nil, "instances")
}

func TestKraftCloudStrictParameters(t *testing.T) {
	s := startSim(t, Options{})
	k := s.kc()
	k.createInstance(obj{"name": "web-1"})
	for _, tc := range []struct {
		method, path string
		body         any
		mention      string
	}{
		{"POST", "/v1/instances", obj{"image": "nginx", "colour": "red"}, "Unknown parameter 'colour'"},
		{"POST", "/v1/instances", obj{"image": "nginx", "NAME": "x"}, "Unknown parameter 'NAME'"},
		{"POST", "/v1/instances", obj{"image": "nginx", "service_group": obj{"services": []obj{{"port": 1, "handlerz": 1}}}}, "Unknown parameter 'service_group.services[0].handlerz'"},
		{"POST", "/v1/instances", obj{"image": "nginx", "memory_mb": "lots"}, "'memory_mb': must be a number, not a string"},
		{"POST", "/v1/instances", obj{"image": "nginx", "autostart": "yes"}, "'autostart'"},
		{"POST", "/v1/instances", obj{"image": "nginx", "service_group": obj{"services": []obj{{"port": "443"}}}}, "'service_group.services.port'"},
		{"POST", "/v1/instances", obj{"image": "nginx", "service_group": obj{"services": []obj{{"port": 443, "handlers": []string{"tls", "gzip"}}}}}, "'service_group.services[0].handlers'"},
		{"POST", "/v1/instances", obj{"image": "nginx", "service_group": obj{"services": []obj{{"port": 70000}}}}, "'service_group.services[0].port'"},
		{"POST", "/v1/instances", obj{"name": "x"}, "'image': is required"},
		{"POST", "/v1/instances", obj{"image": "nginx", "name": "Bad_Name"}, "'name'"},
		{"POST", "/v1/instances", obj{"image": "nginx", "memory_mb": 1}, "'memory_mb'"},
		{"POST", "/v1/instances", obj{"image": "nginx", "replicas": 2}, "'replicas'"},
		{"POST", "/v1/instances", obj{"image": "nginx", "features": []string{"fly"}}, "'features'"},
		{"POST", "/v1/instances", obj{"image": "nginx", "restart_policy": "sometimes"}, "'restart_policy'"},
		{"POST", "/v1/instances", obj{"image": "nginx", "volumes": []obj{{"size_mb": 10}}}, "'volumes[0].at'"},
		{"POST", "/v1/instances", `[{"image": "nginx"}]`, "JSON object"},
		{"POST", "/v1/instances", `{"image": "nginx"} {}`, "unexpected data"},
		{"POST", "/v1/instances", `{"image": `, "Invalid request"},
		{"POST", "/v1/instances", nil, "required"},
		{"PUT", "/v1/instances/start", []obj{{"name": "web-1"}, {"name": "web-1", "force": true}}, "Unknown parameter '[1].force'"},
		{"PUT", "/v1/instances/start", []obj{{"name": "web-1", "wait_timeout_ms": "soon"}}, "'[0].wait_timeout_ms'"},
		{"PUT", "/v1/instances/start", []obj{{"name": "web-1", "uuid": "8d2f6a41-3c7e-4b19-a0d5-1e9f7c3b2a60"}}, "not both"},
		{"PUT", "/v1/instances/start", []obj{{}}, "Missing parameter in [0]"},
		{"PUT", "/v1/instances/start", []obj{{"uuid": "not-a-uuid"}}, "'[0].uuid'"},
		{"PUT", "/v1/instances/start", []any{"web-1"}, "'[0]': must be an object"},
		{"PUT", "/v1/instances/start", nil, "JSON array"},
		{"PUT", "/v1/instances/stop", []obj{{"name": "web-1", "drain_timeout_ms": -5}}, "'[0].drain_timeout_ms'"},
		{"GET", "/v1/instances/wait", []obj{{"name": "web-1", "state": "dancing"}}, "'[0].state'"},
		{"GET", "/v1/instances", []obj{{"name": "-web"}}, "'[0].name'"},
		{"DELETE", "/v1/instances", obj{"name": "web-1", "purge": true}, "Unknown parameter 'purge'"},
		{"PUT", "/v1/instances/web-1/start", obj{"wait": 5}, "Unknown parameter 'wait'"},
		{"GET", "/v1/instances/Not_A_Name", nil, "neither a UUID nor a valid name"},
		{"POST", "/v1/services", obj{"name": "sg", "services": []obj{{"port": 80}, {"port": 80}}}, "published twice"},
		{"POST", "/v1/services", obj{"name": "sg", "domains": []obj{{"name": "bad..domain"}}}, "'domains[0].name'"},
		{"POST", "/v1/volumes", obj{"name": "v"}, "'size_mb': is required"},
		{"PUT", "/v1/volumes/attach", []obj{{"name": "v", "at": "/data"}}, "'[0].attach_to'"},
		{"POST", "/v1/services/sg/autoscale", obj{"min_size": 1}, "'max_size'"},
	} {
		status, out := k.call(tc.method, tc.path, tc.body)
		if status != http.StatusBadRequest || out.str("status") != "error" {
			t.Errorf("%s %s %v: %d %v, want 400 error", tc.method, tc.path, tc.body, status, out)
			continue
		}
		if !strings.Contains(out.str("message"), tc.mention) {
			t.Errorf("%s %s %v: message %q does not mention %q", tc.method, tc.path, tc.body, out.str("message"), tc.mention)
		}
		if errs := out.list("errors"); len(errs) != 1 || num(errs[0]["status"]) != 400 || out["data"] != nil {
			t.Errorf("%s %s: envelope %v, want errors [{status 400}] and no data", tc.method, tc.path, out)
		}
	}
	// Nothing of a refused request was applied: the batch with a bad second
	// item did not start web-1's twin, and only web-1 exists.
	if items := k.must("GET", "/v1/instances", nil, "instances"); len(items) != 1 {
		t.Errorf("instances after refused requests: %v", items)
	}
	if got := s.run.Server.Counters()[CloudKraftCloud][kcInstanceStarts]["web-1"]; got != 1 {
		t.Errorf("web-1 started %d times, want 1 (its create)", got)
	}
}

func TestKraftCloudNames(t *testing.T) {
	long := strings.Repeat("a", 63)
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"web-1", true}, {"Web-1", true}, {"a", true}, {"a.b-c.d1", true}, {long, true},
		{long + ".b", true}, {strings.Repeat(long+".", 1) + strings.Repeat("b", 57), true},
		{"", false}, {"1web", false}, {"web-", false}, {"-web", false}, {"we--b", false},
		{"a..b", false}, {".a", false}, {"a.", false}, {"we_b", false}, {"wéb", false},
		{long + "a", false}, {"a.1b", false}, {strings.Repeat("a.", 61) + "a", false},
	} {
		if err := checkKCName(tc.name, kcMaxName); (err == nil) != tc.ok {
			t.Errorf("checkKCName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}

	s := startSim(t, Options{})
	k := s.kc()
	created := k.createInstance(obj{"name": "My-App.Prod"})
	if created.str("name") != "my-app.prod" {
		t.Errorf("name = %q, want it lower-cased", created.str("name"))
	}
	if got := k.one("GET", "/v1/instances", []obj{{"name": "MY-APP.PROD"}}, "instances"); got.str("uuid") != created.str("uuid") {
		t.Errorf("lookup in upper case found %v", got)
	}
	k.wantError("POST", "/v1/instances", obj{"image": "nginx", "name": "my-app.PROD"}, http.StatusConflict, KraftCloudErrAlreadyExists, "already exists")
	// Local scope takes a UUID or, leniently, a name.
	if got := k.one("GET", "/v1/instances/My-App.Prod", nil, "instances"); got.str("uuid") != created.str("uuid") {
		t.Errorf("local lookup by name found %v", got)
	}

	gen := k.createInstance(obj{"image": "registry.local:5000/team/Hello_World:v2@sha256:abc"})
	if !regexp.MustCompile(`^hello-world-[a-z0-9]{6}$`).MatchString(gen.str("name")) {
		t.Errorf("generated name %q, want hello-world-XXXXXX", gen.str("name"))
	}
	if err := checkKCName(kcNameBase("123")+"-abcdef", kcMaxName); err != nil {
		t.Errorf("a generated name is invalid: %v", err)
	}
}

func TestKraftCloudInstanceLifecycle(t *testing.T) {
	s := startSim(t, Options{})
	k := s.kc()

	web := k.createInstance(obj{"name": "web-1", "args": []string{"-c", "/etc/nginx.conf"}, "env": obj{"A": "1"}, "memory_mb": 256})
	if web.str("state") != "starting" || web.str("uuid") == "" || web.str("private_ip") == "" || web.str("private_fqdn") != "web-1.internal" {
		t.Fatalf("create answered %v", web)
	}
	if _, ok := web["boot_time_us"]; ok {
		t.Errorf("a starting instance has boot_time_us: %v", web)
	}
	id := web.str("uuid")
	s.clock.Advance(499 * time.Millisecond)
	if got := k.state("web-1"); got != "starting" {
		t.Errorf("after 499ms state = %s, want starting", got)
	}
	s.clock.Advance(time.Millisecond)
	full := k.one("GET", "/v1/instances/"+id, nil, "instances")
	if full.str("state") != "running" || full.str("image") != "unikraft.org/nginx:1.25" || num(full["memory_mb"]) != 256 ||
		num(full["vcpus"]) != 1 || full.obj("env").str("A") != "1" || len(full["args"].([]any)) != 2 ||
		num(full["boot_time_us"]) != 500000 || num(full["start_count"]) != 1 || full.str("created_at") == "" {
		t.Errorf("GET after 500ms = %v", full)
	}

	stopped := k.one("PUT", "/v1/instances/"+id+"/stop", nil, "instances")
	if stopped.str("state") != "stopping" || stopped.str("previous_state") != "running" {
		t.Errorf("stop answered %v", stopped)
	}
	k.wantError("PUT", "/v1/instances/"+id+"/stop", nil, http.StatusConflict, KraftCloudErrInvalidState, "already stopping")
	s.clock.Advance(500 * time.Millisecond)
	if got := k.state("web-1"); got != "stopped" {
		t.Errorf("after stopping state = %s", got)
	}
	k.wantError("PUT", "/v1/instances/"+id+"/stop", nil, http.StatusConflict, KraftCloudErrInvalidState, "already stopped")

	started := k.one("PUT", "/v1/instances/start", []obj{{"uuid": id}}, "instances")
	if started.str("state") != "starting" || started.str("previous_state") != "stopped" || started.str("name") != "web-1" {
		t.Errorf("start answered %v", started)
	}
	k.wantError("PUT", "/v1/instances/web-1/start", nil, http.StatusConflict, KraftCloudErrInvalidState, "already running")
	s.clock.Advance(time.Second)

	// Drain, then stop.
	drained := k.one("PUT", "/v1/instances/stop", []obj{{"name": "web-1", "drain_timeout_ms": 1000}}, "instances")
	if drained.str("state") != "draining" {
		t.Errorf("stop with drain answered %v", drained)
	}
	s.clock.Advance(1200 * time.Millisecond)
	if got := k.state("web-1"); got != "stopping" {
		t.Errorf("after the drain state = %s, want stopping", got)
	}
	s.clock.Advance(300 * time.Millisecond)

	idle := k.createInstance(obj{"name": "idle", "autostart": false})
	if idle.str("state") != "stopped" {
		t.Errorf("autostart false: state %s", idle.str("state"))
	}

	del := k.one("DELETE", "/v1/instances/"+id, nil, "instances")
	if del.str("previous_state") != "stopped" || del.str("uuid") != id || del.str("name") != "web-1" {
		t.Errorf("delete answered %v", del)
	}
	out := k.wantError("GET", "/v1/instances/"+id, nil, http.StatusNotFound, KraftCloudErrNotFound, "No instance with UUID '"+id+"'")
	if item := out.obj("data").list("instances")[0]; item.str("uuid") != id {
		t.Errorf("the not-found item does not name the UUID: %v", item)
	}
	k.wantError("DELETE", "/v1/instances/"+id, nil, http.StatusNotFound, KraftCloudErrNotFound, "")

	counts := s.run.Server.Counters()[CloudKraftCloud]
	if counts[kcInstanceStarts]["web-1"] != 2 || counts[kcInstanceStops]["web-1"] != 2 || counts[kcInstanceStarts]["idle"] != 0 {
		t.Errorf("counters = %v", counts)
	}
}

func TestKraftCloudDeleteOnStop(t *testing.T) {
	s := startSim(t, Options{KraftCloud: KraftCloudOptions{Latency: time.Second}})
	k := s.kc()
	k.createInstance(obj{"name": "once", "features": []string{"delete-on-stop"}, "autostart": false})
	s.clock.Advance(time.Hour)
	k.state("once") // created stopped: stays
	k.one("PUT", "/v1/instances/once/start", nil, "instances")
	s.clock.Advance(time.Second)
	k.one("PUT", "/v1/instances/once/stop", nil, "instances")
	if got := k.state("once"); got != "stopping" {
		t.Errorf("state = %s", got)
	}
	s.clock.Advance(time.Second)
	if items := k.must("GET", "/v1/instances", nil, "instances"); len(items) != 0 {
		t.Errorf("a delete-on-stop instance is still listed once stopped: %v", items)
	}
	k.wantError("GET", "/v1/instances/once", nil, http.StatusNotFound, KraftCloudErrNotFound, "")
}

func TestKraftCloudStartWaits(t *testing.T) {
	s := startSim(t, Options{Now: time.Now, KraftCloud: KraftCloudOptions{Latency: 50 * time.Millisecond}})
	k := s.kc()
	k.createInstance(obj{"name": "a", "autostart": false})
	k.createInstance(obj{"name": "b", "autostart": false})

	began := time.Now()
	items := k.must("PUT", "/v1/instances/start", []obj{{"name": "a", "wait_timeout_ms": 5000}, {"name": "b"}}, "instances")
	if took := time.Since(began); took < 50*time.Millisecond {
		t.Errorf("the start answered after %s, before the instance could run", took)
	}
	if items[0].str("state") != "running" || items[0].str("previous_state") != "stopped" {
		t.Errorf("waited item = %v, want running", items[0])
	}
	if items[1].str("state") != "starting" {
		t.Errorf("item without wait = %v, want starting", items[1])
	}

	// A timeout shorter than the start answers the state it got to, as a success.
	s.run.Server.SetOperationLatency(CloudKraftCloud, 10*time.Second)
	k.createInstance(obj{"name": "slow", "autostart": false})
	if got := k.one("PUT", "/v1/instances/slow/start", obj{"wait_timeout_ms": 30}, "instances"); got.str("state") != "starting" {
		t.Errorf("timed-out start = %v", got)
	}

	// Create waits too.
	s.run.Server.SetOperationLatency(CloudKraftCloud, 20*time.Millisecond)
	created := k.createInstance(obj{"name": "c", "wait_timeout_ms": 5000})
	if created.str("state") != "running" || num(created["boot_time_us"]) != 20000 {
		t.Errorf("create with wait = %v", created)
	}
	// Latency 0 is instant.
	s.run.Server.SetOperationLatency(CloudKraftCloud, 0)
	if got := k.createInstance(obj{"name": "d"}); got.str("state") != "running" {
		t.Errorf("instant create = %v", got)
	}
}

func TestKraftCloudPartialSuccess(t *testing.T) {
	s := startSim(t, Options{})
	k := s.kc()
	k.createInstance(obj{"name": "up"})
	down := k.createInstance(obj{"name": "down", "autostart": false})
	missing := "3b5b4c36-2c9b-46e4-80c6-7e5b561938c3"

	status, out := k.call("PUT", "/v1/instances/start", []obj{{"name": "down"}, {"name": "nope"}, {"name": "up"}, {"uuid": missing}, {"uuid": down.str("uuid")}})
	if status != http.StatusOK || out.str("status") != "partial_success" || out.str("message") != "Failed to perform all operations" {
		t.Fatalf("answer %d %v", status, out)
	}
	items := out.obj("data").list("instances")
	want := []struct {
		status  string
		code    float64
		message string
	}{
		{"success", 0, ""},
		{"error", 8, "No instance with name 'nope'"},
		{"error", 9, "Instance 'up' is already running"},
		{"error", 8, "No instance with UUID '" + missing + "'"},
		{"error", 9, "already running"}, // the first item started it
	}
	for n, w := range want {
		it := items[n]
		if it.str("status") != w.status || num(it["error"]) != w.code || !strings.Contains(it.str("message"), w.message) {
			t.Errorf("item %d = %v, want %s %v %q", n, it, w.status, w.code, w.message)
		}
	}
	if items[3].str("uuid") != missing || items[1].str("name") != "nope" || items[2].str("uuid") == "" {
		t.Errorf("failed items do not name their objects: %v", items)
	}

	// One object instead of an array answers like local scope.
	k.wantError("PUT", "/v1/instances/start", obj{"name": "nope"}, http.StatusNotFound, KraftCloudErrNotFound, "nope")
}

func TestKraftCloudWait(t *testing.T) {
	s := startSim(t, Options{})
	k := s.kc()
	k.createInstance(obj{"name": "w"})

	// The fake clock does not move: the first wait times out, a failed
	// item that says where the instance stands.
	status, out := k.call("GET", "/v1/instances/wait", []obj{{"name": "w", "timeout_ms": 30}, {"name": "w", "state": "starting", "timeout_ms": 0}})
	items := out.obj("data").list("instances")
	if status != http.StatusOK || out.str("status") != "partial_success" || len(items) != 2 ||
		items[0].str("status") != "error" || num(items[0]["error"]) != KraftCloudErrTimeout || items[0].str("state") != "starting" ||
		items[0].str("message") != "Timed out waiting for instance 'w' to be running: it is starting" ||
		items[1].str("status") != "success" || items[1].str("state") != "starting" {
		t.Errorf("wait = %d %v", status, out)
	}
	// A local-scope wait that times out answers 408 with its item.
	k.wantError("GET", "/v1/instances/w/wait", obj{"timeout_ms": 0}, http.StatusRequestTimeout, KraftCloudErrTimeout, "Timed out waiting for instance 'w'")

	// Time passes while the server waits.
	done := make(chan struct{})
	go func() {
		defer close(done)
		time.Sleep(40 * time.Millisecond)
		s.clock.Advance(time.Second)
	}()
	began := time.Now()
	got := k.one("GET", "/v1/instances/wait", []obj{{"name": "w", "timeout_ms": 5000}}, "instances")
	<-done
	if got.str("state") != "running" || time.Since(began) > 4*time.Second {
		t.Errorf("wait for running = %v after %s", got, time.Since(began))
	}
	if got := k.one("GET", "/v1/instances/w/wait", obj{"state": "running"}, "instances"); got.str("state") != "running" {
		t.Errorf("local wait = %v", got)
	}

	status, out = k.call("GET", "/v1/instances/wait", []obj{{"name": "w", "state": "running", "timeout_ms": 0}, {"name": "ghost"}})
	items = out.obj("data").list("instances")
	if status != 200 || out.str("status") != "partial_success" || items[0].str("state") != "running" || num(items[1]["error"]) != 8 {
		t.Errorf("wait with a missing instance = %d %v", status, out)
	}
}

// A batch in which every item failed is a failed request: 404 when none of
// the objects exists, else 400, with every item and its own code in data.
func TestKraftCloudAllFailedBatch(t *testing.T) {
	s := startSim(t, Options{})
	k := s.kc()
	k.createInstance(obj{"name": "up"})
	k.createInstance(obj{"name": "slow", "autostart": false})
	s.clock.Advance(time.Second)
	k.must("PUT", "/v1/instances/start", []obj{{"name": "slow"}}, "instances") // starting until the clock moves

	type item struct {
		name    string
		code    int
		message string
		state   string
	}
	tests := []struct {
		name, method, path string
		body               []obj
		status             int
		collection         string
		want               []item
	}{
		{"none found", "PUT", "/v1/instances/stop", []obj{{"name": "nope"}, {"name": "also-nope"}}, http.StatusNotFound, "instances", []item{
			{"nope", KraftCloudErrNotFound, "No instance with name 'nope'", ""},
			{"also-nope", KraftCloudErrNotFound, "No instance with name 'also-nope'", ""},
		}},
		{"each its own reason", "PUT", "/v1/instances/start", []obj{{"name": "web-ghost"}, {"name": "up"}}, http.StatusBadRequest, "instances", []item{
			{"web-ghost", KraftCloudErrNotFound, "No instance with name 'web-ghost'", ""},
			{"up", KraftCloudErrInvalidState, "Instance 'up' is already running", ""},
		}},
		{"every wait timed out", "GET", "/v1/instances/wait", []obj{{"name": "slow", "timeout_ms": 20}, {"name": "up", "state": "stopped", "timeout_ms": 0}}, http.StatusBadRequest, "instances", []item{
			{"slow", KraftCloudErrTimeout, "Timed out waiting for instance 'slow' to be running: it is starting", "starting"},
			{"up", KraftCloudErrTimeout, "Timed out waiting for instance 'up' to be stopped: it is running", "running"},
		}},
		{"volumes", "DELETE", "/v1/volumes", []obj{{"name": "gone"}}, http.StatusNotFound, "volumes", []item{
			{"gone", KraftCloudErrNotFound, "No volume with name 'gone'", ""},
		}},
		{"service groups", "GET", "/v1/services", []obj{{"name": "gone"}}, http.StatusNotFound, "service_groups", []item{
			{"gone", KraftCloudErrNotFound, "No service group with name 'gone'", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := k.call(tt.method, tt.path, tt.body)
			if status != tt.status || out.str("status") != "error" || out.str("message") != kcPartialMessage {
				t.Errorf("answer %d %q %q, want %d error", status, out.str("status"), out.str("message"), tt.status)
			}
			if errs := out.list("errors"); len(errs) != 1 || int(num(errs[0]["status"])) != tt.status {
				t.Errorf("errors = %v", out["errors"])
			}
			items := out.obj("data").list(tt.collection)
			if len(items) != len(tt.want) {
				t.Fatalf("%d items, want %d: %v", len(items), len(tt.want), items)
			}
			for n, w := range tt.want {
				it := items[n]
				if it.str("status") != "error" || it.str("name") != w.name || int(num(it["error"])) != w.code ||
					it.str("message") != w.message || it.str("state") != w.state {
					t.Errorf("item %d = %v, want %+v", n, it, w)
				}
			}
		})
	}
}

func TestKraftCloudServiceGroups(t *testing.T) {
	s := startSim(t, Options{})
	k := s.kc()

	sg := k.one("POST", "/v1/services", obj{
		"name":     "Front",
		"services": []obj{{"port": 443, "destination_port": 8080, "handlers": []string{"tls", "http"}}, {"port": 80, "handlers": []string{"redirect"}}},
		"domains":  []obj{{"name": "shop"}, {"name": "www.example.com."}},
	}, "service_groups")
	if sg.str("name") != "front" || sg.str("uuid") == "" {
		t.Fatalf("create = %v", sg)
	}
	if d := sg.list("domains"); len(d) != 2 || d[0].str("fqdn") != "shop."+KraftCloudDomainSuffix || d[1].str("fqdn") != "www.example.com" {
		t.Errorf("domains = %v", d)
	}
	if svc := sg.list("services"); len(svc) != 2 || num(svc[1]["destination_port"]) != 80 {
		t.Errorf("services = %v", svc)
	}
	k.wantError("POST", "/v1/services", obj{"name": "front"}, http.StatusConflict, KraftCloudErrAlreadyExists, "already exists")
	k.wantError("POST", "/v1/services", obj{"name": "other", "domains": []obj{{"name": "shop"}}}, http.StatusConflict, KraftCloudErrAlreadyExists, "Domain")

	// A batch create with one duplicate is a partial success.
	status, out := k.call("POST", "/v1/services", []obj{{"name": "front"}, {"name": "back"}})
	if status != 200 || out.str("status") != "partial_success" {
		t.Errorf("batch create = %d %v", status, out)
	}

	inst := k.createInstance(obj{"name": "shop-1", "service_group": obj{"name": "front"}})
	if inst.str("fqdn") != "shop."+KraftCloudDomainSuffix || inst.obj("service_group").str("name") != "front" {
		t.Errorf("instance in group = %v", inst)
	}
	k.wantError("POST", "/v1/instances", obj{"image": "nginx", "service_group": obj{"name": "nowhere"}}, http.StatusNotFound, KraftCloudErrNotFound, "No service group with name 'nowhere'")

	got := k.one("GET", "/v1/services/"+sg.str("uuid"), nil, "service_groups")
	if m := got.list("instances"); len(m) != 1 || m[0].str("name") != "shop-1" {
		t.Errorf("group members = %v", m)
	}
	k.wantError("DELETE", "/v1/services/front", nil, http.StatusConflict, KraftCloudErrInvalidState, "still has 1 instance")

	// An inline group is created with its instance and goes with it.
	solo := k.createInstance(obj{"name": "solo", "service_group": obj{"services": []obj{{"port": 443, "handlers": []string{"tls", "http"}}}}})
	if !strings.HasSuffix(solo.str("fqdn"), "."+KraftCloudDomainSuffix) || solo.obj("service_group").str("uuid") == "" {
		t.Errorf("inline group = %v", solo)
	}
	if n := len(k.must("GET", "/v1/services", nil, "service_groups")); n != 3 {
		t.Errorf("%d groups, want front, back and the inline one", n)
	}
	k.one("DELETE", "/v1/instances/solo", nil, "instances")
	k.one("DELETE", "/v1/instances/shop-1", nil, "instances")
	if n := len(k.must("GET", "/v1/services", nil, "service_groups")); n != 2 {
		t.Errorf("%d groups after deleting the instances, want 2", n)
	}
	k.must("DELETE", "/v1/services", []obj{{"name": "front"}, {"name": "back"}}, "service_groups")
}

func TestKraftCloudServiceGroupDeleteBatch(t *testing.T) {
	s := startSim(t, Options{})
	k := s.kc()
	sg := k.one("POST", "/v1/services", obj{"name": "g"}, "service_groups")
	status, out := k.call("DELETE", "/v1/services", []obj{{"name": "g"}, {"uuid": sg.str("uuid")}})
	items := out.obj("data").list("service_groups")
	if status != 200 || out.str("status") != "partial_success" || items[0].str("status") != "success" || num(items[1]["error"]) != 8 {
		t.Errorf("delete twice = %d %v", status, out)
	}
}

func TestKraftCloudVolumes(t *testing.T) {
	s := startSim(t, Options{})
	k := s.kc()
	vol := k.one("POST", "/v1/volumes", obj{"name": "data", "size_mb": 100}, "volumes")
	if vol.str("state") != "available" || num(vol["size_mb"]) != 100 || vol.str("uuid") == "" {
		t.Fatalf("create = %v", vol)
	}
	k.wantError("POST", "/v1/volumes", obj{"name": "DATA", "size_mb": 5}, http.StatusConflict, KraftCloudErrAlreadyExists, "already exists")

	db := k.createInstance(obj{"name": "db", "autostart": false, "volumes": []obj{{"name": "data", "at": "/var/lib/db"}}})
	if m := db.list("volumes"); len(m) != 1 || m[0].str("at") != "/var/lib/db" {
		t.Errorf("db volumes = %v", db)
	}
	k.wantError("POST", "/v1/instances", obj{"image": "pg", "volumes": []obj{{"uuid": vol.str("uuid"), "at": "/x"}}}, http.StatusConflict, KraftCloudErrInvalidState, "already attached to instance 'db'")
	k.wantError("POST", "/v1/instances", obj{"image": "pg", "volumes": []obj{{"name": "nope", "at": "/x"}}}, http.StatusNotFound, KraftCloudErrNotFound, "No volume with name 'nope'")
	got := k.one("GET", "/v1/volumes/data", nil, "volumes")
	if got.str("state") != "mounted" || got.list("attached_to")[0].str("name") != "db" {
		t.Errorf("attached volume = %v", got)
	}
	k.wantError("DELETE", "/v1/volumes/data", nil, http.StatusConflict, KraftCloudErrInvalidState, "attached to instance 'db'")

	k.one("PUT", "/v1/volumes/detach", []obj{{"name": "data", "from": obj{"name": "db"}}}, "volumes")
	k.wantError("PUT", "/v1/volumes/data/detach", nil, http.StatusConflict, KraftCloudErrInvalidState, "not attached")
	k.one("PUT", "/v1/instances/db/start", nil, "instances")
	k.wantError("PUT", "/v1/volumes/data/attach", obj{"attach_to": obj{"name": "db"}, "at": "/d"}, http.StatusConflict, KraftCloudErrInvalidState, "must be stopped")
	k.createInstance(obj{"name": "cold", "autostart": false, "volumes": []obj{{"size_mb": 10, "at": "/d"}}})
	k.wantError("PUT", "/v1/volumes/data/attach", obj{"attach_to": obj{"name": "cold"}, "at": "/d"}, http.StatusBadRequest, KraftCloudErrInvalidArgument, "already has a volume at '/d'")
	k.one("PUT", "/v1/volumes/attach", []obj{{"name": "data", "attach_to": obj{"name": "cold"}, "at": "/data", "readonly": true}}, "volumes")
	got = k.one("GET", "/v1/volumes", []obj{{"name": "data"}}, "volumes")
	if a := got.list("attached_to"); len(a) != 1 || a[0].str("name") != "cold" || a[0]["readonly"] != true {
		t.Errorf("reattached volume = %v", got)
	}

	// The volume created with "cold" goes with it; "data" is detached and stays.
	if n := len(k.must("GET", "/v1/volumes", nil, "volumes")); n != 2 {
		t.Errorf("%d volumes, want 2", n)
	}
	k.one("DELETE", "/v1/instances", []obj{{"name": "cold"}}, "instances")
	left := k.must("GET", "/v1/volumes", nil, "volumes")
	if len(left) != 1 || left[0].str("name") != "data" {
		t.Errorf("volumes after deleting cold = %v", left)
	}
	if got := k.one("GET", "/v1/volumes/data", nil, "volumes"); got.str("state") != "available" {
		t.Errorf("volume of a deleted instance = %v", got)
	}
	k.one("DELETE", "/v1/volumes", []obj{{"name": "data"}}, "volumes")
}

func TestKraftCloudAutoscale(t *testing.T) {
	s := startSim(t, Options{})
	k := s.kc()
	k.one("POST", "/v1/services", obj{"name": "web", "services": []obj{{"port": 443}}}, "service_groups")
	k.createInstance(obj{"name": "master", "service_group": obj{"name": "web"}})
	k.createInstance(obj{"name": "outsider"})

	if got := k.one("GET", "/v1/services/web/autoscale", nil, "autoscale_configs"); got["enabled"] != false {
		t.Errorf("autoscale before = %v", got)
	}
	k.wantError("POST", "/v1/services/web/autoscale", obj{"max_size": 3, "master": obj{"name": "outsider"}}, http.StatusBadRequest, KraftCloudErrInvalidArgument, "not in service group")
	cfg := k.one("POST", "/v1/services/web/autoscale", obj{
		"min_size": 1, "max_size": 5, "master": obj{"name": "master"},
		"policies": []obj{{"name": "cpu", "metric": "cpu", "adjustment": "change", "steps": []obj{{"lower_bound": 50, "adjustment": 1}}}},
	}, "autoscale_configs")
	if cfg["enabled"] != true || num(cfg["max_size"]) != 5 || cfg.obj("master").str("name") != "master" || len(cfg["policies"].([]any)) != 1 {
		t.Errorf("autoscale = %v", cfg)
	}
	k.wantError("POST", "/v1/services/web/autoscale", obj{"max_size": 3, "master": obj{"name": "master"}}, http.StatusConflict, KraftCloudErrAlreadyExists, "")
	if g := k.one("GET", "/v1/services/web", nil, "service_groups"); g["autoscale"] != true {
		t.Errorf("group = %v", g)
	}
	k.one("DELETE", "/v1/services/web/autoscale", nil, "autoscale_configs")
	k.wantError("DELETE", "/v1/services/web/autoscale", nil, http.StatusNotFound, KraftCloudErrNotFound, "")
	k.wantError("GET", "/v1/services/none/autoscale", nil, http.StatusNotFound, KraftCloudErrNotFound, "")
}

func TestKraftCloudItemFaults(t *testing.T) {
	s := startSim(t, Options{})
	k := s.kc()
	for _, n := range []string{"web-10", "web-20", "web-11", "db-1"} {
		k.createInstance(obj{"name": n, "autostart": false})
	}
	f, err := ParseFault("fail-operation:PUT:/v1/instances/start:item=web-1*,times=1")
	if err != nil || f.Item != "web-1*" {
		t.Fatalf("ParseFault = %+v, %v", f, err)
	}
	f = s.run.Server.AddFault(f)

	// A request whose items all miss the glob is served and does not use the fault up.
	k.must("PUT", "/v1/instances/start", []obj{{"name": "db-1"}}, "instances")
	if hits := s.run.Server.Faults()[0].Hits; hits != 0 {
		t.Fatalf("hits after a request with no matching item = %d", hits)
	}

	status, out := k.call("PUT", "/v1/instances/start", []obj{{"name": "web-10"}, {"name": "web-20"}, {"name": "web-11"}})
	items := out.obj("data").list("instances")
	if status != 200 || out.str("status") != "partial_success" || len(items) != 3 {
		t.Fatalf("faulted start = %d %v", status, out)
	}
	for _, n := range []int{0, 2} {
		if items[n].str("status") != "error" || num(items[n]["error"]) != KraftCloudErrUnavailable || items[n].str("message") != "injected failure" {
			t.Errorf("item %d = %v, want injected failure 12", n, items[n])
		}
	}
	if items[1].str("status") != "success" {
		t.Errorf("web-20 = %v", items[1])
	}
	if got := k.state("web-10"); got != "stopped" {
		t.Errorf("a failed item was applied: web-10 is %s", got)
	}
	var rec RequestRecord
	for _, r := range s.run.Server.Requests() {
		if r.Fault != "" {
			rec = r
		}
	}
	if s.run.Server.Faults()[0].Hits != 1 || rec.Fault != f.ID || rec.Status != 200 {
		t.Errorf("hits %d, journal %+v", s.run.Server.Faults()[0].Hits, rec)
	}

	// times=1: the retry of the failed items goes through.
	k.must("PUT", "/v1/instances/start", []obj{{"name": "web-10"}, {"name": "web-11"}}, "instances")
	for name, n := range s.run.Server.Counters()[CloudKraftCloud][kcInstanceStarts] {
		if n != 1 {
			t.Errorf("%s started %d times", name, n)
		}
	}

	// A code that is a number is the item's error; single objects take its HTTP status.
	s.run.Server.AddFault(Fault{Method: "POST", Path: "/v1/instances", Action: FaultFailOperation, Code: "10", Message: "taken", Item: "dup-*"})
	k.wantError("POST", "/v1/instances", obj{"image": "nginx", "name": "dup-1"}, http.StatusConflict, KraftCloudErrAlreadyExists, "taken")
	k.createInstance(obj{"name": "fine-1"})
	// An error fault answers in the KraftCloud envelope.
	s.run.Server.AddFault(Fault{Cloud: CloudKraftCloud, Method: "GET", Path: "/v1/volumes", Action: FaultError, Status: 503, Times: 1})
	k.wantError("GET", "/v1/volumes", nil, http.StatusServiceUnavailable, 0, "injected service unavailable")
}

func TestKraftCloudRouting(t *testing.T) {
	s := startSim(t, Options{})
	k := s.kc()
	k.must("GET", "/v1/instances", nil, "instances")
	s.must("GET", projectPath("storage/disks"), nil)

	// An unsigned Crusoe path is refused by Crusoe, not KraftCloud.
	status, out := k.call("GET", "/v1alpha5/projects/"+DefaultCrusoeProjectID+"/storage/disks", nil)
	if status != 401 || out.str("code") != "401" || out.str("error_id") == "" {
		t.Errorf("/v1alpha5 with a bearer token: %d %v, want Crusoe's 401", status, out)
	}
	k.wantError("GET", "/v1/nothing/here", nil, http.StatusNotFound, 0, "No such endpoint")
	k.wantError("PATCH", "/v1/instances", nil, http.StatusMethodNotAllowed, 0, "not supported")
	for _, p := range []string{"/v1x/instances", "/v1alpha/instances"} {
		status, out := k.call("GET", p, nil)
		if status != 404 || out.str("code") != "not_found" {
			t.Errorf("%s: %d %v, want the generic 404", p, status, out)
		}
	}
	clouds := map[string]string{}
	for _, r := range s.run.Server.Requests() {
		clouds[r.Path] = r.Cloud
	}
	if clouds["/v1/instances"] != CloudKraftCloud || clouds[projectPath("storage/disks")] != CloudCrusoe || clouds["/v1x/instances"] != "" {
		t.Errorf("journal clouds = %v", clouds)
	}
	for p, want := range map[string]string{
		"/v1": CloudKraftCloud, "/v1/": CloudKraftCloud, "/v1/instances": CloudKraftCloud,
		"/v1alpha5": CloudCrusoe, "/v1alpha5/projects": CloudCrusoe, "/v1alpha": "", "/v12/x": "",
	} {
		got := ""
		if c := s.run.Server.cloudFor(p); c != nil {
			got = c.name()
		}
		if got != want {
			t.Errorf("cloudFor(%q) = %q, want %q", p, got, want)
		}
	}
}

func TestKraftCloudInventoryAndReset(t *testing.T) {
	s := startSim(t, Options{})
	k := s.kc()
	k.one("POST", "/v1/services", obj{"name": "sg", "services": []obj{{"port": 80}}}, "service_groups")
	k.one("POST", "/v1/volumes", obj{"name": "v", "size_mb": 1}, "volumes")
	k.createInstance(obj{"name": "i", "service_group": obj{"name": "sg"}})
	s.clock.Advance(time.Second)

	inv := s.run.Server.Inventory()
	if inv.Count(CloudKraftCloud, "instances") != 1 || inv.Count(CloudKraftCloud, "service-groups") != 1 || inv.Count(CloudKraftCloud, "volumes") != 1 {
		t.Fatalf("inventory = %v", inv)
	}
	if !strings.Contains(string(inv[CloudKraftCloud]["instances"][0]), `"state":"running"`) {
		t.Errorf("inventory instance is not resolved: %s", inv[CloudKraftCloud]["instances"][0])
	}
	if inv.Count(CloudCrusoe, "vms") != 0 {
		t.Errorf("crusoe inventory = %v", inv[CloudCrusoe])
	}
	s.run.Server.SetOperationLatency(CloudKraftCloud, time.Hour)
	s.run.Server.Reset()
	if inv := s.run.Server.Inventory(); !inv.Empty() {
		t.Errorf("inventory after reset = %v", inv)
	}
	if c := s.run.Server.Counters()[CloudKraftCloud]; len(c[kcInstanceStarts]) != 0 {
		t.Errorf("counters after reset = %v", c)
	}
	// Reset restored the configured latency.
	k.createInstance(obj{"name": "i"})
	s.clock.Advance(DefaultKraftCloudLatency)
	if got := k.state("i"); got != "running" {
		t.Errorf("after reset the latency is not the default: %s", got)
	}
}

func TestKraftCloudConcurrentStarts(t *testing.T) {
	s := startSim(t, Options{})
	k := s.kc()
	var batch []obj
	for n := range 50 {
		name := fmt.Sprintf("c-%02d", n)
		k.createInstance(obj{"name": name, "autostart": false})
		batch = append(batch, obj{"name": name})
	}
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			k.call("PUT", "/v1/instances/start", batch)
		}()
	}
	for range 8 {
		<-done
	}
	starts := s.run.Server.Counters()[CloudKraftCloud][kcInstanceStarts]
	if len(starts) != 50 {
		t.Errorf("%d instances started, want 50", len(starts))
	}
	for name, n := range starts {
		if n != 1 {
			t.Errorf("%s started %d times", name, n)
		}
	}
}
