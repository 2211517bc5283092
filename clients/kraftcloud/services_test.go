package kraftcloud

import (
	"context"
	"encoding/json"
	"net/http"
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

func TestServiceRequests(t *testing.T) {
	yes := true
	zero, two := 0, 2
	tests := []apitest.CallCase[*Client]{
		// Instances
		{
			Name: "Instances.Create with every field",
			Call: func(ctx context.Context, c *Client) (any, error) {
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
			Method: "POST", Path: "instances",
			Body: `{"image":"nginx:latest","name":"Web","args":["-c","/etc/nginx.conf"],"env":{"LOG":"debug"},
				"memory_mb":256,"vcpus":1,"autostart":true,"replicas":2,"wait_timeout_ms":5000,"features":["delete-on-stop"],
				"service_group":{"name":"web-sg","services":[{"port":443,"destination_port":8080,"handlers":["tls","http"]}]},
				"volumes":[{"name":"data","size_mb":100,"at":"/data"},{"uuid":"vol-2","at":"/ro","readonly":true}],
				"restart_policy":"on-failure","scale_to_zero":{"policy":"idle","stateful":true,"cooldown_time_ms":1000}}`,
			Respond: answer("instances", instanceJSON), Want: &wantInstance,
		},
		{
			Name: "Instances.Create minimal",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Create(ctx, &InstanceCreateRequest{Image: "nginx:latest"})
			},
			Method: "POST", Path: "instances",
			Body:    `{"image":"nginx:latest"}`,
			Respond: answer("instances", instanceJSON), Want: &wantInstance,
		},
		{
			Name:   "Instances.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.List(ctx) },
			Method: "GET", Path: "instances",
			Respond: answer("instances", instanceJSON, `{"status":"success","uuid":"`+testUUID2+`","name":"db","state":"stopped"}`),
			Want:    []Instance{wantInstance, {ItemStatus: okItem, UUID: testUUID2, Name: "db", State: StateStopped}},
		},
		{
			Name: "Instances.Status",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Status(ctx, []Ref{ByUUID(testUUID), ByName("db")})
			},
			Method: "GET", Path: "instances",
			Body:    `[{"uuid":"` + testUUID + `"},{"name":"db"}]`,
			Respond: answer("instances", instanceJSON),
			Want:    &InstancesResult{Status: StatusSuccess, Instances: []Instance{wantInstance}},
		},
		{
			Name:   "Instances.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.Get(ctx, testUUID) },
			Method: "GET", Path: "instances/" + testUUID,
			Respond: answer("instances", instanceJSON), Want: &wantInstance,
		},
		{
			Name: "Instances.Start",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Start(ctx, []StartRequest{{Ref: ByUUID(testUUID), WaitTimeoutMs: 2000}, {Ref: ByName("db")}})
			},
			Method: "PUT", Path: "instances/start",
			Body:    `[{"uuid":"` + testUUID + `","wait_timeout_ms":2000},{"name":"db"}]`,
			Respond: answer("instances", okItemJSON),
			Want:    &InstancesResult{Status: StatusSuccess, Instances: []Instance{{ItemStatus: okItem, UUID: testUUID, Name: "web"}}},
		},
		{
			Name:   "Instances.StartOne waiting",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.StartOne(ctx, testUUID, 3000) },
			Method: "PUT", Path: "instances/" + testUUID + "/start",
			Body:    `{"wait_timeout_ms":3000}`,
			Respond: answer("instances", instanceJSON), Want: &wantInstance,
		},
		{
			Name:   "Instances.StartOne without waiting",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.StartOne(ctx, testUUID, 0) },
			Method: "PUT", Path: "instances/" + testUUID + "/start",
			Respond: answer("instances", instanceJSON), Want: &wantInstance,
		},
		{
			Name: "Instances.Stop",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Stop(ctx, []StopRequest{{Ref: ByName("web"), Force: true}, {Ref: ByUUID(testUUID2), DrainTimeoutMs: 500}})
			},
			Method: "PUT", Path: "instances/stop",
			Body:    `[{"name":"web","force":true},{"uuid":"` + testUUID2 + `","drain_timeout_ms":500}]`,
			Respond: answer("instances", okItemJSON),
			Want:    &InstancesResult{Status: StatusSuccess, Instances: []Instance{{ItemStatus: okItem, UUID: testUUID, Name: "web"}}},
		},
		{
			Name: "Instances.StopOne forced and draining",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.StopOne(ctx, testUUID, true, 1500)
			},
			Method: "PUT", Path: "instances/" + testUUID + "/stop",
			Body:    `{"force":true,"drain_timeout_ms":1500}`,
			Respond: answer("instances", instanceJSON), Want: &wantInstance,
		},
		{
			Name:   "Instances.StopOne plain",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.StopOne(ctx, testUUID, false, 0) },
			Method: "PUT", Path: "instances/" + testUUID + "/stop",
			Respond: answer("instances", instanceJSON), Want: &wantInstance,
		},
		{
			Name: "Instances.Delete",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Delete(ctx, []Ref{ByName("web"), ByUUID(testUUID2)})
			},
			Method: "DELETE", Path: "instances",
			Body:    `[{"name":"web"},{"uuid":"` + testUUID2 + `"}]`,
			Respond: answer("instances", okItemJSON),
			Want:    &InstancesResult{Status: StatusSuccess, Instances: []Instance{{ItemStatus: okItem, UUID: testUUID, Name: "web"}}},
		},
		{
			Name:   "Instances.DeleteOne",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.DeleteOne(ctx, testUUID) },
			Method: "DELETE", Path: "instances/" + testUUID,
			Respond: answer("instances", okItemJSON), Want: &Instance{ItemStatus: okItem, UUID: testUUID, Name: "web"},
		},
		{
			Name: "Instances.Wait",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Wait(ctx, []WaitRequest{{Ref: ByName("web"), State: StateRunning, TimeoutMs: 10000}, {Ref: ByUUID(testUUID2)}})
			},
			Method: "GET", Path: "instances/wait",
			Body:    `[{"name":"web","state":"running","timeout_ms":10000},{"uuid":"` + testUUID2 + `"}]`,
			Respond: answer("instances", `{"status":"success","uuid":"`+testUUID+`","name":"web","state":"running"}`),
			Want: &InstancesResult{Status: StatusSuccess,
				Instances: []Instance{{ItemStatus: okItem, UUID: testUUID, Name: "web", State: StateRunning}}},
		},

		// Service groups
		{
			Name: "ServiceGroups.Create",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.ServiceGroups.Create(ctx, &ServiceGroupCreateRequest{
					Name:     "web-sg",
					Services: []Service{{Port: 443, DestinationPort: 8080, Handlers: []string{"tls", "http"}}, {Port: 80}},
					Domains:  []DomainRequest{{Name: "web-sg"}},
				})
			},
			Method: "POST", Path: "services",
			Body: `{"name":"web-sg","services":[{"port":443,"destination_port":8080,"handlers":["tls","http"]},{"port":80}],
				"domains":[{"name":"web-sg"}]}`,
			Respond: answer("service_groups", serviceGroupJSON), Want: &wantServiceGroup,
		},
		{
			Name: "ServiceGroups.Create without services sends an empty array",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.ServiceGroups.Create(ctx, &ServiceGroupCreateRequest{Name: "empty"})
			},
			Method: "POST", Path: "services",
			Body:    `{"name":"empty","services":[]}`,
			Respond: answer("service_groups", serviceGroupJSON), Want: &wantServiceGroup,
		},
		{
			Name:   "ServiceGroups.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.ServiceGroups.List(ctx) },
			Method: "GET", Path: "services",
			Respond: answer("service_groups", serviceGroupJSON), Want: []ServiceGroup{wantServiceGroup},
		},
		{
			Name: "ServiceGroups.Status",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.ServiceGroups.Status(ctx, []Ref{ByName("web-sg")})
			},
			Method: "GET", Path: "services",
			Body:    `[{"name":"web-sg"}]`,
			Respond: answer("service_groups", serviceGroupJSON),
			Want:    &ServiceGroupsResult{Status: StatusSuccess, ServiceGroups: []ServiceGroup{wantServiceGroup}},
		},
		{
			Name:   "ServiceGroups.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.ServiceGroups.Get(ctx, testUUID2) },
			Method: "GET", Path: "services/" + testUUID2,
			Respond: answer("service_groups", serviceGroupJSON), Want: &wantServiceGroup,
		},
		{
			Name: "ServiceGroups.Delete",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.ServiceGroups.Delete(ctx, []Ref{ByUUID(testUUID2), ByName("other")})
			},
			Method: "DELETE", Path: "services",
			Body:    `[{"uuid":"` + testUUID2 + `"},{"name":"other"}]`,
			Respond: answer("service_groups", `{"status":"success","uuid":"`+testUUID2+`","name":"web-sg"}`),
			Want: &ServiceGroupsResult{Status: StatusSuccess,
				ServiceGroups: []ServiceGroup{{ItemStatus: okItem, UUID: testUUID2, Name: "web-sg"}}},
		},
		{
			Name:   "ServiceGroups.DeleteOne",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.ServiceGroups.DeleteOne(ctx, testUUID2) },
			Method: "DELETE", Path: "services/" + testUUID2,
			Respond: answer("service_groups", `{"status":"success","uuid":"`+testUUID2+`","name":"web-sg"}`),
			Want:    &ServiceGroup{ItemStatus: okItem, UUID: testUUID2, Name: "web-sg"},
		},

		// Volumes
		{
			Name: "Volumes.Create",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Volumes.Create(ctx, &VolumeCreateRequest{Name: "data", SizeMB: 100})
			},
			Method: "POST", Path: "volumes",
			Body:    `{"name":"data","size_mb":100}`,
			Respond: answer("volumes", volumeJSON), Want: &wantVolume,
		},
		{
			Name:   "Volumes.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.List(ctx) },
			Method: "GET", Path: "volumes",
			Respond: answer("volumes", volumeJSON), Want: []Volume{wantVolume},
		},
		{
			Name:   "Volumes.Status",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.Status(ctx, []Ref{ByName("data")}) },
			Method: "GET", Path: "volumes",
			Body:    `[{"name":"data"}]`,
			Respond: answer("volumes", volumeJSON),
			Want:    &VolumesResult{Status: StatusSuccess, Volumes: []Volume{wantVolume}},
		},
		{
			Name:   "Volumes.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.Get(ctx, "vol-1") },
			Method: "GET", Path: "volumes/vol-1",
			Respond: answer("volumes", volumeJSON), Want: &wantVolume,
		},
		{
			Name: "Volumes.Delete",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Volumes.Delete(ctx, []Ref{ByUUID("vol-1")})
			},
			Method: "DELETE", Path: "volumes",
			Body:    `[{"uuid":"vol-1"}]`,
			Respond: answer("volumes", `{"status":"success","uuid":"vol-1","name":"data"}`),
			Want:    &VolumesResult{Status: StatusSuccess, Volumes: []Volume{{ItemStatus: okItem, UUID: "vol-1", Name: "data"}}},
		},
		{
			Name:   "Volumes.DeleteOne",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.DeleteOne(ctx, "vol-1") },
			Method: "DELETE", Path: "volumes/vol-1",
			Respond: answer("volumes", `{"status":"success","uuid":"vol-1","name":"data"}`),
			Want:    &Volume{ItemStatus: okItem, UUID: "vol-1", Name: "data"},
		},
		{
			Name: "Volumes.Attach",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Volumes.Attach(ctx, []VolumeAttachRequest{
					{Ref: ByName("data"), AttachTo: ByUUID(testUUID), At: "/data", ReadOnly: true},
					{Ref: ByUUID("vol-2"), AttachTo: ByName("db"), At: "/var/lib/db"},
				})
			},
			Method: "PUT", Path: "volumes/attach",
			Body: `[{"name":"data","attach_to":{"uuid":"` + testUUID + `"},"at":"/data","readonly":true},
				{"uuid":"vol-2","attach_to":{"name":"db"},"at":"/var/lib/db"}]`,
			Respond: answer("volumes", volumeJSON),
			Want:    &VolumesResult{Status: StatusSuccess, Volumes: []Volume{wantVolume}},
		},
		{
			Name: "Volumes.Detach",
			Call: func(ctx context.Context, c *Client) (any, error) {
				from := ByName("web")
				return c.Volumes.Detach(ctx, []VolumeDetachRequest{{Ref: ByName("data"), From: &from}, {Ref: ByUUID("vol-2")}})
			},
			Method: "PUT", Path: "volumes/detach",
			Body:    `[{"name":"data","from":{"name":"web"}},{"uuid":"vol-2"}]`,
			Respond: answer("volumes", `{"status":"success","uuid":"vol-1","name":"data","state":"available"}`),
			Want: &VolumesResult{Status: StatusSuccess,
				Volumes: []Volume{{ItemStatus: okItem, UUID: "vol-1", Name: "data", State: VolumeStateAvailable}}},
		},

		// Autoscale
		{
			Name:   "Autoscale.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Autoscale.Get(ctx, testUUID2) },
			Method: "GET", Path: "services/" + testUUID2 + "/autoscale",
			Respond: answer("autoscale_configs", autoscaleJSON), Want: &wantAutoscale,
		},
		{
			Name: "Autoscale.Create",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Autoscale.Create(ctx, testUUID2, &AutoscaleConfigRequest{
					MinSize: &zero, MaxSize: &two, WarmupTimeMs: 1000, CooldownTimeMs: 2000, Master: &Ref{Name: "web"},
					Policies: []json.RawMessage{json.RawMessage(`{"name":"cpu","metric":"cpu"}`)},
				})
			},
			Method: "POST", Path: "services/" + testUUID2 + "/autoscale",
			Body: `{"min_size":0,"max_size":2,"warmup_time_ms":1000,"cooldown_time_ms":2000,"master":{"name":"web"},
				"policies":[{"name":"cpu","metric":"cpu"}]}`,
			Respond: answer("autoscale_configs", autoscaleJSON), Want: &wantAutoscale,
		},
		{
			Name: "Autoscale.Create minimal",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Autoscale.Create(ctx, testUUID2, &AutoscaleConfigRequest{})
			},
			Method: "POST", Path: "services/" + testUUID2 + "/autoscale",
			Body:    `{}`,
			Respond: answer("autoscale_configs", autoscaleJSON), Want: &wantAutoscale,
		},
		{
			Name:   "Autoscale.Delete",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Autoscale.Delete(ctx, testUUID2) },
			Method: "DELETE", Path: "services/" + testUUID2 + "/autoscale",
			Respond: answer("autoscale_configs", `{"status":"success","uuid":"`+testUUID2+`","name":"web-sg","enabled":false}`),
			Want:    &AutoscaleConfig{ItemStatus: okItem, UUID: testUUID2, Name: "web-sg"},
		},
	}

	apitest.RunCalls(t, apiPrefix+"/", nil, func(t *testing.T, h http.HandlerFunc) *Client { return newTestClient(t, h) }, tests)
}

func TestRequestsDoNotModifyTheCallersValues(t *testing.T) {
	c := newTestClient(t, apitest.Respond(http.StatusOK, answer("service_groups", serviceGroupJSON)))
	req := &ServiceGroupCreateRequest{Name: "web-sg"}
	if _, err := c.ServiceGroups.Create(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if req.Services != nil {
		t.Errorf("Create filled in the caller's Services: %#v", req.Services)
	}
}
