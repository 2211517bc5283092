package cloudmc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
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
	offeringsJSON = `[{"id":"do-20","name":"20GB - 20 IOPS Min.","gbSize":20,"customSize":false,"customIops":false,"storageTier":"performance"},
		{"id":"do-custom","name":"Custom","gbSize":0,"customSize":true}]`
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
	wantOfferings = []DiskOffering{{ID: "do-20", Name: "20GB - 20 IOPS Min.", GBSize: 20, StorageTier: "performance"},
		{ID: "do-custom", Name: "Custom", CustomSize: true}}
	zero, minusOne = 0, -1
	wantRule       = IngressRule{ID: "r-1", NetworkID: "n-1", NetworkName: "Web", Protocol: ProtocolTCP, StartPort: 22, EndPort: 22,
		CIDR: "203.0.113.0/24", State: "Active"}
	wantICMP = IngressRule{ID: "r-2", NetworkID: "n-1", Protocol: ProtocolICMP, CIDR: "0.0.0.0/0", ICMPType: &zero, ICMPCode: &minusOne, State: "Active"}
)

func env(p string) string { return "services/" + testService + "/" + testEnv + "/" + p }

func TestServiceRequests(t *testing.T) {
	tests := []apitest.CallCase[*Client]{
		// Instances
		{
			Name:   "Instances.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.List(ctx) },
			Method: "GET", Path: env("instances"),
			Respond: `{"data":[` + instanceJSON + `],"metadata":{"recordCount":1}}`,
			Want:    []Instance{wantInstance},
		},
		{
			Name:   "Instances.List empty",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.List(ctx) },
			Method: "GET", Path: env("instances"),
			Respond: `{"data":[]}`, Want: []Instance{},
		},
		{
			Name:   "Instances.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.Get(ctx, testID) },
			Method: "GET", Path: env("instances/" + testID),
			Respond: `{"data":` + instanceJSON + `}`, Want: &wantInstance,
		},
		{
			Name: "Instances.Create minimal",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Create(ctx, &InstanceCreateRequest{Name: "myInstance2", TemplateID: "t-1", ComputeOfferingID: "co-1", NetworkID: "n-1"})
			},
			Method: "POST", Path: env("instances"),
			Body:    `{"name":"myInstance2","templateId":"t-1","computeOfferingId":"co-1","networkId":"n-1"}`,
			Respond: taskResponse, Want: wantTask,
		},
		{
			Name: "Instances.Create with every field",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.Create(ctx, &InstanceCreateRequest{Name: "web", TemplateID: "t-1", ComputeOfferingID: "co-1", NetworkID: "n-1",
					SSHKeyName: "ops", UserData: "#cloud-config\n", RootVolumeSizeInGB: 40})
			},
			Method: "POST", Path: env("instances"),
			Body: `{"name":"web","templateId":"t-1","computeOfferingId":"co-1","networkId":"n-1",
				"sshKeyName":"ops","userData":"#cloud-config\n","rootVolumeSizeInGb":40}`,
			Respond: taskResponse, Want: wantTask,
		},
		{
			Name:   "Instances.Delete",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.Delete(ctx, testID) },
			Method: "DELETE", Path: env("instances/" + testID),
			Respond: taskResponse, Want: wantTask,
		},
		{
			Name:   "Instances.Start",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.Start(ctx, testID) },
			Method: "POST", Path: env("instances/" + testID), Query: url.Values{"operation": {"start"}},
			Respond: taskResponse, Want: wantTask,
		},
		{
			Name:   "Instances.Stop",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.Stop(ctx, testID) },
			Method: "POST", Path: env("instances/" + testID), Query: url.Values{"operation": {"stop"}},
			Respond: taskResponse, Want: wantTask,
		},
		{
			Name:   "Instances.Reboot",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Instances.Reboot(ctx, testID) },
			Method: "POST", Path: env("instances/" + testID), Query: url.Values{"operation": {"reboot"}},
			Respond: taskResponse, Want: wantTask,
		},
		{
			Name: "Instances.ChangeComputeOffering",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Instances.ChangeComputeOffering(ctx, testID, "co-2")
			},
			Method: "POST", Path: env("instances/" + testID), Query: url.Values{"operation": {"changeComputeOffering"}},
			Body: `{"computeOfferingId":"co-2"}`, Respond: taskResponse, Want: wantTask,
		},

		// Volumes
		{
			Name:   "Volumes.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.List(ctx) },
			Method: "GET", Path: env("volumes"),
			Respond: `{"data":[` + volumeJSON + `]}`, Want: []Volume{wantVolume},
		},
		{
			Name:   "Volumes.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.Get(ctx, "vol-1") },
			Method: "GET", Path: env("volumes/vol-1"),
			Respond: `{"data":` + volumeJSON + `}`, Want: &wantVolume,
		},
		{
			Name: "Volumes.Create",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Volumes.Create(ctx, &VolumeCreateRequest{Name: "my_volume", SizeInGB: 50, DiskOfferingID: "do-1", ZoneID: "z-1", InstanceID: testID})
			},
			Method: "POST", Path: env("volumes"),
			Body:    `{"name":"my_volume","sizeInGb":50,"diskOfferingId":"do-1","zoneId":"z-1","instanceId":"` + testID + `"}`,
			Respond: taskResponse, Want: wantTask,
		},
		{
			Name: "Volumes.Create from a fixed-size disk offering sends no size",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Volumes.Create(ctx, &VolumeCreateRequest{Name: "v", DiskOfferingID: "do-1"})
			},
			Method: "POST", Path: env("volumes"),
			Body: `{"name":"v","diskOfferingId":"do-1"}`, Respond: taskResponse, Want: wantTask,
		},
		{
			Name:   "Volumes.Delete",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.Delete(ctx, "vol-1") },
			Method: "DELETE", Path: env("volumes/vol-1"),
			Respond: taskResponse, Want: wantTask,
		},
		{
			Name:   "Volumes.Attach",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.Attach(ctx, "vol-1", testID) },
			Method: "POST", Path: env("volumes/vol-1"), Query: url.Values{"operation": {"attachToInstance"}},
			Body: `{"instanceId":"` + testID + `"}`, Respond: taskResponse, Want: wantTask,
		},
		{
			Name:   "Volumes.Detach",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Volumes.Detach(ctx, "vol-1") },
			Method: "POST", Path: env("volumes/vol-1"), Query: url.Values{"operation": {"detachFromInstance"}},
			Respond: taskResponse, Want: wantTask,
		},

		// Disk offerings
		{
			Name:   "DiskOfferings.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.DiskOfferings.List(ctx) },
			Method: "GET", Path: env("diskofferings"),
			Respond: `{"data":` + offeringsJSON + `}`, Want: wantOfferings,
		},
		{
			Name:   "DiskOfferings.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.DiskOfferings.Get(ctx, "do-custom") },
			Method: "GET", Path: env("diskofferings/do-custom"),
			Respond: `{"data":{"id":"do-custom","name":"Custom","customSize":true}}`, Want: &wantOfferings[1],
		},
		{
			Name:   "DiskOfferings.Find by name lists them",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.DiskOfferings.Find(ctx, "custom") },
			Method: "GET", Path: env("diskofferings"),
			Respond: `{"data":` + offeringsJSON + `}`, Want: &wantOfferings[1],
		},

		// Ingress rules
		{
			Name:   "IngressRules.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.IngressRules.List(ctx) },
			Method: "GET", Path: env("ingressrules"),
			Respond: `{"data":[` + ruleJSON + `,` + icmpJSON + `]}`, Want: []IngressRule{wantRule, wantICMP},
		},
		{
			Name:   "IngressRules.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.IngressRules.Get(ctx, "r-1") },
			Method: "GET", Path: env("ingressrules/r-1"),
			Respond: `{"data":` + ruleJSON + `}`, Want: &wantRule,
		},
		{
			Name: "IngressRules.Create TCP range, protocol upper-cased",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.IngressRules.Create(ctx, &IngressRuleCreateRequest{Protocol: "tcp", StartPort: 8000, EndPort: 8080, CIDR: "203.0.113.0/24", NetworkID: "n-1"})
			},
			Method: "POST", Path: env("ingressrules"),
			Body:    `{"networkId":"n-1","protocol":"TCP","startPort":8000,"endPort":8080,"cidr":"203.0.113.0/24"}`,
			Respond: taskResponse, Want: wantTask,
		},
		{
			Name: "IngressRules.Create one UDP port",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.IngressRules.Create(ctx, &IngressRuleCreateRequest{Protocol: ProtocolUDP, StartPort: 53, CIDR: "0.0.0.0/0"})
			},
			Method: "POST", Path: env("ingressrules"),
			Body:    `{"protocol":"UDP","startPort":53,"endPort":53,"cidr":"0.0.0.0/0"}`,
			Respond: taskResponse, Want: wantTask,
		},
		{
			Name: "IngressRules.Create ICMP",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.IngressRules.Create(ctx, &IngressRuleCreateRequest{Protocol: ProtocolICMP, CIDR: "0.0.0.0/0", ICMPType: &zero, ICMPCode: &minusOne})
			},
			Method: "POST", Path: env("ingressrules"),
			Body:    `{"protocol":"ICMP","cidr":"0.0.0.0/0","icmpType":0,"icmpCode":-1}`,
			Respond: taskResponse, Want: wantTask,
		},
		{
			Name:   "IngressRules.Delete",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.IngressRules.Delete(ctx, "r-1") },
			Method: "DELETE", Path: env("ingressrules/r-1"),
			Respond: taskResponse, Want: wantTask,
		},

		// Tasks
		{
			Name:   "Tasks.Get pending",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Tasks.Get(ctx, "t-1") },
			Method: "GET", Path: "tasks/t-1",
			Respond: `{"taskId":"t-1","taskStatus":"PENDING"}`, Want: &Task{ID: "t-1", Status: TaskPending},
		},
		{
			Name:   "Tasks.Get success with result",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Tasks.Get(ctx, "b2f82e2a") },
			Method: "GET", Path: "tasks/b2f82e2a",
			Respond: `{"taskId":"b2f82e2a","taskStatus":"SUCCESS","result":{"id":"8f064230","name":"morty"}}`,
			Want:    &Task{ID: "b2f82e2a", Status: TaskSuccess, Result: json.RawMessage(`{"id":"8f064230","name":"morty"}`)},
		},
		{
			Name:   "Tasks.Get wrapped in data",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Tasks.Get(ctx, "t-2") },
			Method: "GET", Path: "tasks/t-2",
			Respond: `{"data":{"id":"t-2","status":"FAILED","created":"2016-07-12T09:37:34.955-04:00","result":"no capacity"}}`,
			Want:    &Task{ID: "t-2", Status: TaskFailed, Result: json.RawMessage(`"no capacity"`)},
		},
	}

	apitest.RunCalls(t, APIPath+"/", url.Values{"org_id": {testOrg}}, func(t *testing.T, h http.HandlerFunc) *Client { return newTestClient(t, h) }, tests)
}

func TestSynchronousAnswersGiveDoneTasks(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, apitest.Respond(http.StatusOK, `{"data":{"id":"vol-1","name":"data","state":"Ready"}}`))
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

	c = newTestClient(t, apitest.Respond(http.StatusNoContent, ``))
	task, err = c.IngressRules.Delete(ctx, "r-1")
	if err != nil || !task.Succeeded() || task.Result != nil {
		t.Errorf("204: task %+v, err %v", task, err)
	}

	c = newTestClient(t, apitest.Respond(http.StatusOK, `{"taskId":"t-9"}`))
	task, err = c.Instances.Reboot(ctx, testID)
	if err != nil || task.ID != "t-9" || task.Status != TaskPending || task.Done() {
		t.Errorf("task without a status: %+v, %v; want PENDING", task, err)
	}
}

// Find takes an ID first, then the exact name, then the name in any case;
// a name several offerings share is an error naming their IDs, and no
// match is nil without an error.
func TestDiskOfferingsFind(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, apitest.Respond(http.StatusOK, `{"data":[
		{"id":"a","name":"Fast","gbSize":20},{"id":"b","name":"fast","gbSize":50},{"id":"c","name":"Custom","customSize":true},
		{"id":"d","name":"Twin"},{"id":"e","name":"twin"},{"id":"f","name":"a"}]}`))
	for _, tc := range []struct{ ref, id, err string }{
		{"a", "a", ""}, // the ID wins over offering f, named "a"
		{"Fast", "a", ""},
		{"fast", "b", ""},
		{"CUSTOM", "c", ""},
		{"TWIN", "", `disk offering name "TWIN" is ambiguous: 2 offerings have it (d, e); give the ID`},
		{"none", "", ""},
	} {
		o, err := c.DiskOfferings.Find(ctx, tc.ref)
		switch {
		case tc.err != "":
			if err == nil || !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Find(%q) = %+v, %v; want %q", tc.ref, o, err, tc.err)
			}
		case tc.id == "":
			if o != nil || err != nil {
				t.Errorf("Find(%q) = %+v, %v; want nil, nil", tc.ref, o, err)
			}
		case err != nil || o == nil || o.ID != tc.id:
			t.Errorf("Find(%q) = %+v, %v; want %s", tc.ref, o, err, tc.id)
		}
	}
}

// A size goes with a custom-size offering and never with a fixed-size one;
// the error names the field.
func TestDiskOfferingCheckSize(t *testing.T) {
	fixed := &DiskOffering{ID: "do-50", Name: "50GB", GBSize: 50}
	custom := &DiskOffering{ID: "do-c", Name: "Custom", CustomSize: true}
	for _, tc := range []struct {
		o    *DiskOffering
		size int
		err  string
	}{
		{fixed, 0, ""},
		{fixed, 50, `sizeInGb 50 is given, but disk offering "50GB" (do-50) has a fixed size of 50 GB`},
		{custom, 20, ""},
		{custom, 0, `sizeInGb is required with the custom-size disk offering "Custom" (do-c)`},
		{custom, -1, "sizeInGb is required"},
		{nil, 0, "disk offering is nil"},
	} {
		err := tc.o.CheckSize(tc.size)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%+v.CheckSize(%d) = %v, want %q", tc.o, tc.size, err, tc.err)
		}
	}
}
