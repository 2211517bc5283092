package cloudmc

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sync/atomic"
	"testing"
)

const (
	taskResponse = `{"taskId":"c2c13744-8610-4012-800a-0907bea110a5","taskStatus":"PENDING"}`
	instanceJSON = `{"zoneId":"z-1","templateId":"t-1","templateName":"CentOS 7","computeOfferingId":"co-1","zoneName":"QC-1",
		"computeOfferingName":"1vCPU.512MB","networkId":"n-1","networkName":"Web","vpcId":"v-1","vpcName":"VPC","ipAddress":"10.164.212.68",
		"projectId":"p-1","isPasswordEnabled":true,"isSshKeyEnabled":true,"sshKeyName":"ops","macAddress":"02:00:2b:67:00:30","cpuCount":1,"memoryInMB":512,
		"hostname":"backup-test","username":"cca-user","affinityGroupIds":["ag-1"],"id":"` + testID + `","name":"backup-test","state":"Running"}`
	volumeJSON = `{"id":"vol-1","name":"data","type":"data","creationDate":"2016-10-19T14:25:41-0400","instanceId":"` + testID + `",
		"instanceName":"backup-test","instanceState":"Running","zoneId":"z-1","zoneName":"QC-1","diskOfferingId":"do-1",
		"diskOfferingName":"50GB","state":"Ready","sizeInGb":40}`
	ruleJSON = `{"id":"r-1","networkId":"n-1","networkName":"Web","protocol":"TCP","startPort":22,"endPort":22,"cidr":"203.0.113.0/24","state":"Active"}`
	icmpJSON = `{"id":"r-2","networkId":"n-1","protocol":"ICMP","cidr":"0.0.0.0/0","icmpType":0,"icmpCode":-1,"state":"Active"}`
)

var (
	wantTask     = &Task{ID: "c2c13744-8610-4012-800a-0907bea110a5", Status: TaskPending}
	wantInstance = Instance{ID: testID, Name: "backup-test", State: InstanceStateRunning, Hostname: "backup-test",
		TemplateID: "t-1", TemplateName: "CentOS 7", ComputeOfferingID: "co-1", ComputeOfferingName: "1vCPU.512MB",
		CPUCount: 1, MemoryInMB: 512, NetworkID: "n-1", NetworkName: "Web", VPCID: "v-1", VPCName: "VPC",
		ZoneID: "z-1", ZoneName: "QC-1", IPAddress: "10.164.212.68", MACAddress: "02:00:2b:67:00:30", Username: "cca-user",
		IsPasswordEnabled: true, IsSSHKeyEnabled: true, SSHKeyName: "ops", ProjectID: "p-1", AffinityGroupIDs: []string{"ag-1"}}
	wantVolume = Volume{ID: "vol-1", Name: "data", Type: VolumeTypeData, State: VolumeStateReady, SizeInGB: 40,
		CreationDate: "2016-10-19T14:25:41-0400", InstanceID: testID, InstanceName: "backup-test", InstanceState: "Running",
		ZoneID: "z-1", ZoneName: "QC-1", DiskOfferingID: "do-1", DiskOfferingName: "50GB"}
	zero, minusOne = 0, -1
	wantRule       = IngressRule{ID: "r-1", NetworkID: "n-1", NetworkName: "Web", Protocol: ProtocolTCP, StartPort: 22, EndPort: 22,
		CIDR: "203.0.113.0/24", State: "Active"}
	wantICMP = IngressRule{ID: "r-2", NetworkID: "n-1", Protocol: ProtocolICMP, CIDR: "0.0.0.0/0", ICMPType: &zero, ICMPCode: &minusOne, State: "Active"}
)

// serviceCase is one service method call and the exact request it must make.
type serviceCase struct {
	name    string
	call    func(ctx context.Context, c *Client) (any, error)
	method  string
	path    string     // relative to /api/v2/, e.g. envPrefix-relative "services/..." or "tasks/x"
	query   url.Values // besides org_id
	body    string     // expected JSON body; "": no body
	respond string
	want    any
}

func env(p string) string { return "services/" + testService + "/" + testEnv + "/" + p }

func TestServiceRequests(t *testing.T) {
	tests := []serviceCase{
		// Instances
		{
			name:   "Instances.List",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.List(ctx) },
			method: "GET", path: env("instances"),
			respond: `{"data":[` + instanceJSON + `],"metadata":{"recordCount":1}}`,
			want:    []Instance{wantInstance},
		},
		{
			name:   "Instances.List empty",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.List(ctx) },
			method: "GET", path: env("instances"),
			respond: `{"data":[]}`, want: []Instance{},
		},
		{
			name:   "Instances.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.Get(ctx, testID) },
			method: "GET", path: env("instances/" + testID),
			respond: `{"data":` + instanceJSON + `}`, want: &wantInstance,
		},
		{
			name: "Instances.Create minimal",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Create(ctx, &InstanceCreateRequest{Name: "myInstance2", TemplateID: "t-1", ComputeOfferingID: "co-1", NetworkID: "n-1"})
			},
			method: "POST", path: env("instances"),
			body:    `{"name":"myInstance2","templateId":"t-1","computeOfferingId":"co-1","networkId":"n-1"}`,
			respond: taskResponse, want: wantTask,
		},
		{
			name: "Instances.Create with every field",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Create(ctx, &InstanceCreateRequest{Name: "web", TemplateID: "t-1", ComputeOfferingID: "co-1", NetworkID: "n-1",
					SSHKeyName: "ops", UserData: "#cloud-config\n", RootVolumeSizeInGB: 40})
			},
			method: "POST", path: env("instances"),
			body: `{"name":"web","templateId":"t-1","computeOfferingId":"co-1","networkId":"n-1",
				"sshKeyName":"ops","userData":"#cloud-config\n","rootVolumeSizeInGb":40}`,
			respond: taskResponse, want: wantTask,
		},
		{
			name:   "Instances.Delete",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.Delete(ctx, testID) },
			method: "DELETE", path: env("instances/" + testID),
			respond: taskResponse, want: wantTask,
		},
		{
			name:   "Instances.Start",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.Start(ctx, testID) },
			method: "POST", path: env("instances/" + testID), query: url.Values{"operation": {"start"}},
			respond: taskResponse, want: wantTask,
		},
		{
			name:   "Instances.Stop",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.Stop(ctx, testID) },
			method: "POST", path: env("instances/" + testID), query: url.Values{"operation": {"stop"}},
			respond: taskResponse, want: wantTask,
		},
		{
			name:   "Instances.Reboot",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.Reboot(ctx, testID) },
			method: "POST", path: env("instances/" + testID), query: url.Values{"operation": {"reboot"}},
			respond: taskResponse, want: wantTask,
		},

		// Volumes
		{
			name:   "Volumes.List",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.List(ctx) },
			method: "GET", path: env("volumes"),
			respond: `{"data":[` + volumeJSON + `]}`, want: []Volume{wantVolume},
		},
		{
			name:   "Volumes.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.Get(ctx, "vol-1") },
			method: "GET", path: env("volumes/vol-1"),
			respond: `{"data":` + volumeJSON + `}`, want: &wantVolume,
		},
		{
			name: "Volumes.Create",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Volumes.Create(ctx, &VolumeCreateRequest{Name: "my_volume", SizeInGB: 50, DiskOfferingID: "do-1", ZoneID: "z-1", InstanceID: testID})
			},
			method: "POST", path: env("volumes"),
			body:    `{"name":"my_volume","sizeInGb":50,"diskOfferingId":"do-1","zoneId":"z-1","instanceId":"` + testID + `"}`,
			respond: taskResponse, want: wantTask,
		},
		{
			name: "Volumes.Create with a disk offering only",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Volumes.Create(ctx, &VolumeCreateRequest{Name: "v", DiskOfferingID: "do-1"})
			},
			method: "POST", path: env("volumes"),
			body: `{"name":"v","diskOfferingId":"do-1"}`, respond: taskResponse, want: wantTask,
		},
		{
			name:   "Volumes.Delete",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.Delete(ctx, "vol-1") },
			method: "DELETE", path: env("volumes/vol-1"),
			respond: taskResponse, want: wantTask,
		},
		{
			name:   "Volumes.Attach",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.Attach(ctx, "vol-1", testID) },
			method: "POST", path: env("volumes/vol-1"), query: url.Values{"operation": {"attachToInstance"}},
			body: `{"instanceId":"` + testID + `"}`, respond: taskResponse, want: wantTask,
		},
		{
			name:   "Volumes.Detach",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.Detach(ctx, "vol-1") },
			method: "POST", path: env("volumes/vol-1"), query: url.Values{"operation": {"detachFromInstance"}},
			respond: taskResponse, want: wantTask,
		},

		// Ingress rules
		{
			name:   "IngressRules.List",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.IngressRules.List(ctx) },
			method: "GET", path: env("ingressrules"),
			respond: `{"data":[` + ruleJSON + `,` + icmpJSON + `]}`, want: []IngressRule{wantRule, wantICMP},
		},
		{
			name:   "IngressRules.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.IngressRules.Get(ctx, "r-1") },
			method: "GET", path: env("ingressrules/r-1"),
			respond: `{"data":` + ruleJSON + `}`, want: &wantRule,
		},
		{
			name: "IngressRules.Create TCP range, protocol upper-cased",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.IngressRules.Create(ctx, &IngressRuleCreateRequest{Protocol: "tcp", StartPort: 8000, EndPort: 8080, CIDR: "203.0.113.0/24", NetworkID: "n-1"})
			},
			method: "POST", path: env("ingressrules"),
			body:    `{"networkId":"n-1","protocol":"TCP","startPort":8000,"endPort":8080,"cidr":"203.0.113.0/24"}`,
			respond: taskResponse, want: wantTask,
		},
		{
			name: "IngressRules.Create one UDP port",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.IngressRules.Create(ctx, &IngressRuleCreateRequest{Protocol: ProtocolUDP, StartPort: 53, CIDR: "0.0.0.0/0"})
			},
			method: "POST", path: env("ingressrules"),
			body:    `{"protocol":"UDP","startPort":53,"endPort":53,"cidr":"0.0.0.0/0"}`,
			respond: taskResponse, want: wantTask,
		},
		{
			name: "IngressRules.Create ICMP",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.IngressRules.Create(ctx, &IngressRuleCreateRequest{Protocol: ProtocolICMP, CIDR: "0.0.0.0/0", ICMPType: &zero, ICMPCode: &minusOne})
			},
			method: "POST", path: env("ingressrules"),
			body:    `{"protocol":"ICMP","cidr":"0.0.0.0/0","icmpType":0,"icmpCode":-1}`,
			respond: taskResponse, want: wantTask,
		},
		{
			name:   "IngressRules.Delete",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.IngressRules.Delete(ctx, "r-1") },
			method: "DELETE", path: env("ingressrules/r-1"),
			respond: taskResponse, want: wantTask,
		},

		// Tasks
		{
			name:   "Tasks.Get pending",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Tasks.Get(ctx, "t-1") },
			method: "GET", path: "tasks/t-1",
			respond: `{"taskId":"t-1","taskStatus":"PENDING"}`, want: &Task{ID: "t-1", Status: TaskPending},
		},
		{
			name:   "Tasks.Get success with result",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Tasks.Get(ctx, "b2f82e2a") },
			method: "GET", path: "tasks/b2f82e2a",
			respond: `{"taskId":"b2f82e2a","taskStatus":"SUCCESS","result":{"id":"8f064230","name":"morty"}}`,
			want:    &Task{ID: "b2f82e2a", Status: TaskSuccess, Result: json.RawMessage(`{"id":"8f064230","name":"morty"}`)},
		},
		{
			name:   "Tasks.Get wrapped in data",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Tasks.Get(ctx, "t-2") },
			method: "GET", path: "tasks/t-2",
			respond: `{"data":{"id":"t-2","status":"FAILED","created":"2016-07-12T09:37:34.955-04:00","result":"no capacity"}}`,
			want:    &Task{ID: "t-2", Status: TaskFailed, Result: json.RawMessage(`"no capacity"`)},
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
				if want := APIPath + "/" + tt.path; r.URL.Path != want {
					t.Errorf("path = %s, want %s", r.URL.Path, want)
				}
				wantQuery := url.Values{"org_id": {testOrg}}
				for k, v := range tt.query {
					wantQuery[k] = v
				}
				if got := r.URL.Query(); !reflect.DeepEqual(got, wantQuery) {
					t.Errorf("query = %v, want %v", got, wantQuery)
				}
				body, _ := io.ReadAll(r.Body)
				if tt.body == "" {
					if len(body) != 0 {
						t.Errorf("body = %s, want none", body)
					}
				} else if !jsonEqual(t, body, tt.body) {
					t.Errorf("body = %s\nwant   %s", body, tt.body)
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

func TestSynchronousAnswersGiveDoneTasks(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, respond(http.StatusOK, `{"data":{"id":"vol-1","name":"data","state":"Ready"}}`))
	task, err := c.Volumes.Delete(ctx, "vol-1")
	if err != nil {
		t.Fatal(err)
	}
	if !task.Done() || !task.Succeeded() || task.ID != "" {
		t.Errorf("task = %+v, want a SUCCESS task without an ID", task)
	}
	var v Volume
	if err := task.DecodeResult(&v); err != nil || v.ID != "vol-1" {
		t.Errorf("DecodeResult = %+v, %v", v, err)
	}

	c = newTestClient(t, respond(http.StatusNoContent, ``))
	task, err = c.IngressRules.Delete(ctx, "r-1")
	if err != nil || !task.Succeeded() || task.Result != nil {
		t.Errorf("204: task %+v, err %v", task, err)
	}

	c = newTestClient(t, respond(http.StatusOK, `{"taskId":"t-9"}`))
	task, err = c.Instances.Reboot(ctx, testID)
	if err != nil || task.ID != "t-9" || task.Status != TaskPending || task.Done() {
		t.Errorf("task without a status: %+v, %v; want PENDING", task, err)
	}
}
