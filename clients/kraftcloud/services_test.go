package kraftcloud

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

const (
	instanceJSON = `{"status":"success","uuid":"` + testUUID + `","name":"web","state":"running","previous_state":"starting",
		"image":"nginx:latest","fqdn":"web.fra0.kraft.host","private_ip":"10.0.0.2","created_at":"2024-01-02T15:04:05Z",
		"memory_mb":256,"vcpus":1,"args":["-c","/etc/nginx.conf"],"env":{"LOG":"debug"},
		"service_group":{"uuid":"` + testUUID2 + `","name":"web-sg"},
		"volumes":[{"uuid":"vol-1","name":"data","at":"/data","readonly":true}],"boot_time_us":15342}`
	serviceGroupJSON = `{"status":"success","uuid":"` + testUUID2 + `","name":"web-sg",
		"services":[{"port":443,"destination_port":8080,"handlers":["tls","http"]}],
		"domains":[{"fqdn":"web-sg.fra0.kraft.host","name":"web-sg"}],
		"instances":[{"uuid":"` + testUUID + `","name":"web"}],"created_at":"2024-01-02T15:04:05Z"}`
	volumeJSON = `{"status":"success","uuid":"vol-1","name":"data","size_mb":100,"state":"mounted",
		"attached_to":[{"uuid":"` + testUUID + `","name":"web"}],"persistent":true,"created_at":"2024-01-02T15:04:05Z"}`
	autoscaleJSON = `{"status":"success","uuid":"` + testUUID2 + `","name":"web-sg","enabled":true,"min_size":0,"max_size":5,
		"warmup_time_ms":1000,"cooldown_time_ms":2000,"master":{"uuid":"` + testUUID + `","name":"web"},
		"policies":[{"name":"cpu","metric":"cpu","adjustment":"change"}]}`
	okItemJSON = `{"status":"success","uuid":"` + testUUID + `","name":"web"}`
)

var (
	wantInstance = Instance{
		ItemStatus: ItemStatus{Status: StatusSuccess}, UUID: testUUID, Name: "web", State: StateRunning, PreviousState: StateStarting,
		Image: "nginx:latest", FQDN: "web.fra0.kraft.host", PrivateIP: "10.0.0.2", CreatedAt: "2024-01-02T15:04:05Z",
		MemoryMB: 256, VCPUs: 1, Args: []string{"-c", "/etc/nginx.conf"}, Env: map[string]string{"LOG": "debug"},
		ServiceGroup: &InstanceServiceGroup{UUID: testUUID2, Name: "web-sg"},
		Volumes:      []InstanceVolume{{UUID: "vol-1", Name: "data", At: "/data", ReadOnly: true}},
		BootTimeUs:   15342,
	}
	wantServiceGroup = ServiceGroup{
		ItemStatus: ItemStatus{Status: StatusSuccess}, UUID: testUUID2, Name: "web-sg",
		Services:  []Service{{Port: 443, DestinationPort: 8080, Handlers: []string{"tls", "http"}}},
		Domains:   []Domain{{FQDN: "web-sg.fra0.kraft.host", Name: "web-sg"}},
		Instances: []Ref{{UUID: testUUID, Name: "web"}}, CreatedAt: "2024-01-02T15:04:05Z",
	}
	wantVolume = Volume{
		ItemStatus: ItemStatus{Status: StatusSuccess}, UUID: "vol-1", Name: "data", SizeMB: 100, State: VolumeStateMounted,
		AttachedTo: []Ref{{UUID: testUUID, Name: "web"}}, Persistent: true, CreatedAt: "2024-01-02T15:04:05Z",
	}
	wantAutoscale = AutoscaleConfig{
		ItemStatus: ItemStatus{Status: StatusSuccess}, UUID: testUUID2, Name: "web-sg", Enabled: true, MaxSize: 5,
		WarmupTimeMs: 1000, CooldownTimeMs: 2000, Master: &Ref{UUID: testUUID, Name: "web"},
		Policies: []json.RawMessage{json.RawMessage(`{"name":"cpu","metric":"cpu","adjustment":"change"}`)},
	}
	okItem = ItemStatus{Status: StatusSuccess}
)

// answer wraps items in a success envelope under collection.
func answer(collection string, items ...string) string {
	out := `{"status":"success","data":{"` + collection + `":[`
	for i, it := range items {
		if i > 0 {
			out += ","
		}
		out += it
	}
	return out + `]}}`
}

// serviceCase is one service method call and the exact request it must make.
type serviceCase struct {
	name    string
	call    func(ctx context.Context, c *Client) (any, error)
	method  string
	path    string // relative to /v1/
	body    string // expected JSON body; "": no body at all
	respond string
	want    any
}

func TestServiceRequests(t *testing.T) {
	yes := true
	zero, two := 0, 2
	tests := []serviceCase{
		// Instances
		{
			name: "Instances.Create with every field",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Create(ctx, &InstanceCreateRequest{
					Image: "nginx:latest", Name: "Web", Args: []string{"-c", "/etc/nginx.conf"}, Env: map[string]string{"LOG": "debug"},
					MemoryMB: 256, VCPUs: 1, Autostart: &yes, Replicas: 2, WaitTimeoutMs: 5000, Features: []string{FeatureDeleteOnStop},
					ServiceGroup: &InstanceServiceGroupRequest{Name: "web-sg", Services: []Service{{Port: 443, DestinationPort: 8080, Handlers: []string{"tls", "http"}}}},
					Volumes: []InstanceVolumeRequest{
						{Name: "data", SizeMB: 100, At: "/data"},
						{UUID: "vol-2", At: "/ro", ReadOnly: true},
					},
					RestartPolicy: "on-failure",
					ScaleToZero:   &ScaleToZero{Policy: ScaleToZeroIdle, Stateful: &yes, CooldownTimeMs: 1000},
				})
			},
			method: "POST", path: "instances",
			body: `{"image":"nginx:latest","name":"Web","args":["-c","/etc/nginx.conf"],"env":{"LOG":"debug"},
				"memory_mb":256,"vcpus":1,"autostart":true,"replicas":2,"wait_timeout_ms":5000,"features":["delete-on-stop"],
				"service_group":{"name":"web-sg","services":[{"port":443,"destination_port":8080,"handlers":["tls","http"]}]},
				"volumes":[{"name":"data","size_mb":100,"at":"/data"},{"uuid":"vol-2","at":"/ro","readonly":true}],
				"restart_policy":"on-failure","scale_to_zero":{"policy":"idle","stateful":true,"cooldown_time_ms":1000}}`,
			respond: answer("instances", instanceJSON), want: &wantInstance,
		},
		{
			name: "Instances.Create minimal",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Create(ctx, &InstanceCreateRequest{Image: "nginx:latest"})
			},
			method: "POST", path: "instances",
			body:    `{"image":"nginx:latest"}`,
			respond: answer("instances", instanceJSON), want: &wantInstance,
		},
		{
			name:   "Instances.List",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.List(ctx) },
			method: "GET", path: "instances",
			respond: answer("instances", instanceJSON, `{"status":"success","uuid":"`+testUUID2+`","name":"db","state":"stopped"}`),
			want:    []Instance{wantInstance, {ItemStatus: okItem, UUID: testUUID2, Name: "db", State: StateStopped}},
		},
		{
			name: "Instances.Status",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Status(ctx, []Ref{ByUUID(testUUID), ByName("db")})
			},
			method: "GET", path: "instances",
			body:    `[{"uuid":"` + testUUID + `"},{"name":"db"}]`,
			respond: answer("instances", instanceJSON),
			want:    &InstancesResult{Status: StatusSuccess, Instances: []Instance{wantInstance}},
		},
		{
			name:   "Instances.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.Get(ctx, testUUID) },
			method: "GET", path: "instances/" + testUUID,
			respond: answer("instances", instanceJSON), want: &wantInstance,
		},
		{
			name: "Instances.Start",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Start(ctx, []StartRequest{{Ref: ByUUID(testUUID), WaitTimeoutMs: 2000}, {Ref: ByName("db")}})
			},
			method: "PUT", path: "instances/start",
			body:    `[{"uuid":"` + testUUID + `","wait_timeout_ms":2000},{"name":"db"}]`,
			respond: answer("instances", okItemJSON),
			want:    &InstancesResult{Status: StatusSuccess, Instances: []Instance{{ItemStatus: okItem, UUID: testUUID, Name: "web"}}},
		},
		{
			name:   "Instances.StartOne waiting",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.StartOne(ctx, testUUID, 3000) },
			method: "PUT", path: "instances/" + testUUID + "/start",
			body:    `{"wait_timeout_ms":3000}`,
			respond: answer("instances", instanceJSON), want: &wantInstance,
		},
		{
			name:   "Instances.StartOne without waiting",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.StartOne(ctx, testUUID, 0) },
			method: "PUT", path: "instances/" + testUUID + "/start",
			respond: answer("instances", instanceJSON), want: &wantInstance,
		},
		{
			name: "Instances.Stop",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Stop(ctx, []StopRequest{{Ref: ByName("web"), Force: true}, {Ref: ByUUID(testUUID2), DrainTimeoutMs: 500}})
			},
			method: "PUT", path: "instances/stop",
			body:    `[{"name":"web","force":true},{"uuid":"` + testUUID2 + `","drain_timeout_ms":500}]`,
			respond: answer("instances", okItemJSON),
			want:    &InstancesResult{Status: StatusSuccess, Instances: []Instance{{ItemStatus: okItem, UUID: testUUID, Name: "web"}}},
		},
		{
			name: "Instances.StopOne forced and draining",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.StopOne(ctx, testUUID, true, 1500)
			},
			method: "PUT", path: "instances/" + testUUID + "/stop",
			body:    `{"force":true,"drain_timeout_ms":1500}`,
			respond: answer("instances", instanceJSON), want: &wantInstance,
		},
		{
			name:   "Instances.StopOne plain",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.StopOne(ctx, testUUID, false, 0) },
			method: "PUT", path: "instances/" + testUUID + "/stop",
			respond: answer("instances", instanceJSON), want: &wantInstance,
		},
		{
			name: "Instances.Delete",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Delete(ctx, []Ref{ByName("web"), ByUUID(testUUID2)})
			},
			method: "DELETE", path: "instances",
			body:    `[{"name":"web"},{"uuid":"` + testUUID2 + `"}]`,
			respond: answer("instances", okItemJSON),
			want:    &InstancesResult{Status: StatusSuccess, Instances: []Instance{{ItemStatus: okItem, UUID: testUUID, Name: "web"}}},
		},
		{
			name:   "Instances.DeleteOne",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.DeleteOne(ctx, testUUID) },
			method: "DELETE", path: "instances/" + testUUID,
			respond: answer("instances", okItemJSON), want: &Instance{ItemStatus: okItem, UUID: testUUID, Name: "web"},
		},
		{
			name: "Instances.Wait",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Wait(ctx, []WaitRequest{{Ref: ByName("web"), State: StateRunning, TimeoutMs: 10000}, {Ref: ByUUID(testUUID2)}})
			},
			method: "GET", path: "instances/wait",
			body:    `[{"name":"web","state":"running","timeout_ms":10000},{"uuid":"` + testUUID2 + `"}]`,
			respond: answer("instances", `{"status":"success","uuid":"`+testUUID+`","name":"web","state":"running"}`),
			want: &InstancesResult{Status: StatusSuccess,
				Instances: []Instance{{ItemStatus: okItem, UUID: testUUID, Name: "web", State: StateRunning}}},
		},

		// Service groups
		{
			name: "ServiceGroups.Create",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ServiceGroups.Create(ctx, &ServiceGroupCreateRequest{
					Name:     "web-sg",
					Services: []Service{{Port: 443, DestinationPort: 8080, Handlers: []string{"tls", "http"}}, {Port: 80}},
					Domains:  []DomainRequest{{Name: "web-sg"}},
				})
			},
			method: "POST", path: "services",
			body: `{"name":"web-sg","services":[{"port":443,"destination_port":8080,"handlers":["tls","http"]},{"port":80}],
				"domains":[{"name":"web-sg"}]}`,
			respond: answer("service_groups", serviceGroupJSON), want: &wantServiceGroup,
		},
		{
			name: "ServiceGroups.Create without services sends an empty array",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ServiceGroups.Create(ctx, &ServiceGroupCreateRequest{Name: "empty"})
			},
			method: "POST", path: "services",
			body:    `{"name":"empty","services":[]}`,
			respond: answer("service_groups", serviceGroupJSON), want: &wantServiceGroup,
		},
		{
			name:   "ServiceGroups.List",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.ServiceGroups.List(ctx) },
			method: "GET", path: "services",
			respond: answer("service_groups", serviceGroupJSON), want: []ServiceGroup{wantServiceGroup},
		},
		{
			name: "ServiceGroups.Status",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ServiceGroups.Status(ctx, []Ref{ByName("web-sg")})
			},
			method: "GET", path: "services",
			body:    `[{"name":"web-sg"}]`,
			respond: answer("service_groups", serviceGroupJSON),
			want:    &ServiceGroupsResult{Status: StatusSuccess, ServiceGroups: []ServiceGroup{wantServiceGroup}},
		},
		{
			name:   "ServiceGroups.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.ServiceGroups.Get(ctx, testUUID2) },
			method: "GET", path: "services/" + testUUID2,
			respond: answer("service_groups", serviceGroupJSON), want: &wantServiceGroup,
		},
		{
			name: "ServiceGroups.Delete",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ServiceGroups.Delete(ctx, []Ref{ByUUID(testUUID2), ByName("other")})
			},
			method: "DELETE", path: "services",
			body:    `[{"uuid":"` + testUUID2 + `"},{"name":"other"}]`,
			respond: answer("service_groups", `{"status":"success","uuid":"`+testUUID2+`","name":"web-sg"}`),
			want: &ServiceGroupsResult{Status: StatusSuccess,
				ServiceGroups: []ServiceGroup{{ItemStatus: okItem, UUID: testUUID2, Name: "web-sg"}}},
		},
		{
			name:   "ServiceGroups.DeleteOne",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.ServiceGroups.DeleteOne(ctx, testUUID2) },
			method: "DELETE", path: "services/" + testUUID2,
			respond: answer("service_groups", `{"status":"success","uuid":"`+testUUID2+`","name":"web-sg"}`),
			want:    &ServiceGroup{ItemStatus: okItem, UUID: testUUID2, Name: "web-sg"},
		},

		// Volumes
		{
			name: "Volumes.Create",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Volumes.Create(ctx, &VolumeCreateRequest{Name: "data", SizeMB: 100})
			},
			method: "POST", path: "volumes",
			body:    `{"name":"data","size_mb":100}`,
			respond: answer("volumes", volumeJSON), want: &wantVolume,
		},
		{
			name:   "Volumes.List",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.List(ctx) },
			method: "GET", path: "volumes",
			respond: answer("volumes", volumeJSON), want: []Volume{wantVolume},
		},
		{
			name:   "Volumes.Status",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.Status(ctx, []Ref{ByName("data")}) },
			method: "GET", path: "volumes",
			body:    `[{"name":"data"}]`,
			respond: answer("volumes", volumeJSON),
			want:    &VolumesResult{Status: StatusSuccess, Volumes: []Volume{wantVolume}},
		},
		{
			name:   "Volumes.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.Get(ctx, "vol-1") },
			method: "GET", path: "volumes/vol-1",
			respond: answer("volumes", volumeJSON), want: &wantVolume,
		},
		{
			name: "Volumes.Delete",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Volumes.Delete(ctx, []Ref{ByUUID("vol-1")})
			},
			method: "DELETE", path: "volumes",
			body:    `[{"uuid":"vol-1"}]`,
			respond: answer("volumes", `{"status":"success","uuid":"vol-1","name":"data"}`),
			want:    &VolumesResult{Status: StatusSuccess, Volumes: []Volume{{ItemStatus: okItem, UUID: "vol-1", Name: "data"}}},
		},
		{
			name:   "Volumes.DeleteOne",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.DeleteOne(ctx, "vol-1") },
			method: "DELETE", path: "volumes/vol-1",
			respond: answer("volumes", `{"status":"success","uuid":"vol-1","name":"data"}`),
			want:    &Volume{ItemStatus: okItem, UUID: "vol-1", Name: "data"},
		},
		{
			name: "Volumes.Attach",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Volumes.Attach(ctx, []VolumeAttachRequest{
					{Ref: ByName("data"), AttachTo: ByUUID(testUUID), At: "/data", ReadOnly: true},
					{Ref: ByUUID("vol-2"), AttachTo: ByName("db"), At: "/var/lib/db"},
				})
			},
			method: "PUT", path: "volumes/attach",
			body: `[{"name":"data","attach_to":{"uuid":"` + testUUID + `"},"at":"/data","readonly":true},
				{"uuid":"vol-2","attach_to":{"name":"db"},"at":"/var/lib/db"}]`,
			respond: answer("volumes", volumeJSON),
			want:    &VolumesResult{Status: StatusSuccess, Volumes: []Volume{wantVolume}},
		},
		{
			name: "Volumes.Detach",
			call: func(ctx context.Context, c *Client) (any, error) {
				from := ByName("web")
				return c.Volumes.Detach(ctx, []VolumeDetachRequest{{Ref: ByName("data"), From: &from}, {Ref: ByUUID("vol-2")}})
			},
			method: "PUT", path: "volumes/detach",
			body:    `[{"name":"data","from":{"name":"web"}},{"uuid":"vol-2"}]`,
			respond: answer("volumes", `{"status":"success","uuid":"vol-1","name":"data","state":"available"}`),
			want: &VolumesResult{Status: StatusSuccess,
				Volumes: []Volume{{ItemStatus: okItem, UUID: "vol-1", Name: "data", State: VolumeStateAvailable}}},
		},

		// Autoscale
		{
			name:   "Autoscale.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Autoscale.Get(ctx, testUUID2) },
			method: "GET", path: "services/" + testUUID2 + "/autoscale",
			respond: answer("autoscale_configs", autoscaleJSON), want: &wantAutoscale,
		},
		{
			name: "Autoscale.Create",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Autoscale.Create(ctx, testUUID2, &AutoscaleConfigRequest{
					MinSize: &zero, MaxSize: &two, WarmupTimeMs: 1000, CooldownTimeMs: 2000, Master: &Ref{Name: "web"},
					Policies: []json.RawMessage{json.RawMessage(`{"name":"cpu","metric":"cpu"}`)},
				})
			},
			method: "POST", path: "services/" + testUUID2 + "/autoscale",
			body: `{"min_size":0,"max_size":2,"warmup_time_ms":1000,"cooldown_time_ms":2000,"master":{"name":"web"},
				"policies":[{"name":"cpu","metric":"cpu"}]}`,
			respond: answer("autoscale_configs", autoscaleJSON), want: &wantAutoscale,
		},
		{
			name: "Autoscale.Create minimal",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Autoscale.Create(ctx, testUUID2, &AutoscaleConfigRequest{})
			},
			method: "POST", path: "services/" + testUUID2 + "/autoscale",
			body:    `{}`,
			respond: answer("autoscale_configs", autoscaleJSON), want: &wantAutoscale,
		},
		{
			name:   "Autoscale.Delete",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Autoscale.Delete(ctx, testUUID2) },
			method: "DELETE", path: "services/" + testUUID2 + "/autoscale",
			respond: answer("autoscale_configs", `{"status":"success","uuid":"`+testUUID2+`","name":"web-sg","enabled":false}`),
			want:    &AutoscaleConfig{ItemStatus: okItem, UUID: testUUID2, Name: "web-sg"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if r.Method != tt.method {
					t.Errorf("method = %s, want %s", r.Method, tt.method)
				}
				if want := apiPrefix + "/" + tt.path; r.URL.Path != want {
					t.Errorf("path = %s, want %s", r.URL.Path, want)
				}
				if r.URL.RawQuery != "" {
					t.Errorf("query = %q, want none", r.URL.RawQuery)
				}
				body, _ := io.ReadAll(r.Body)
				if tt.body == "" {
					if len(body) != 0 {
						t.Errorf("body = %s, want none", body)
					}
				} else {
					if got := r.Header.Get("Content-Type"); got != "application/json" {
						t.Errorf("Content-Type = %q", got)
					}
					if !apitest.JSONEqual(t, body, tt.body) {
						t.Errorf("body = %s\nwant   %s", body, tt.body)
					}
				}
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tt.respond)
			})
			got, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if n := hits.Load(); n != 1 {
				t.Fatalf("%d requests, want 1", n)
			}
			if !reflect.DeepEqual(got, tt.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tt.want)
				t.Errorf("result =\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestRequestsDoNotModifyTheCallersValues(t *testing.T) {
	c := newTestClient(t, respond(http.StatusOK, answer("service_groups", serviceGroupJSON)))
	req := &ServiceGroupCreateRequest{Name: "web-sg"}
	if _, err := c.ServiceGroups.Create(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if req.Services != nil {
		t.Errorf("Create filled in the caller's Services: %#v", req.Services)
	}
}
