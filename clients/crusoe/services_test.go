package crusoe

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

const (
	opResponse    = `{"operation": {"operation_id": "op-1", "state": "IN_PROGRESS", "started_at": "2021-12-03T19:58:34Z"}}`
	sshKey        = "ssh-ed25519 AAAAC3Nza"
	vmJSON        = `{"id":"vm-1","name":"my-vm","project_id":"` + testProject + `","type":"a100.2x","location":"us-east1-a","state":"STATE_RUNNING","ssh_destination":"1.2.3.4:22","created_at":"c","updated_at":"u","commitment_end":"e","commitment_period":3,"disks":[{"id":"d-1","name":"os","size":"10GiB","type":"persistent-ssd","location":"us-east1-a","mode":"read-write","attachment_type":"os","block_size":4096,"serial_number":"SN","created_at":"c","updated_at":"u"}],"network_interfaces":[{"id":"ni-1","name":"nic","interface_type":"ethernet","mac_address":"00:00","network":"net-1","subnet":"sub-1","ips":[{"private_ipv4":{"address":"10.1.2.3"},"public_ipv4":{"address":"121.0.0.1","id":"ip-1","type":"dynamic"}}]}],"host_channel_adapters":[{"guid":"g","ib_network_id":"ibn","ib_partition_id":"ibp","type":"infiniband"}],"instance_group_id":"ig-1","instance_template_id":"it-1","reservation_id":"res-1","virtualization_features":{"nested_virtualization":true}}`
	diskJSON      = `{"id":"d-1","name":"data","size":"10GiB","type":"persistent-ssd","location":"us-east1-a","serial_number":"SN","block_size":4096,"created_at":"c","updated_at":"u","attached_to":[{"vm_id":"vm-1","mode":"read-write","attachment_type":"data"}]}`
	snapshotJSON  = `{"id":"s-1","created_from":"d-1","size":"10457 bytes","block_size":4096,"created_at":"c","updated_at":"u"}`
	ruleJSON      = `{"id":"fw-1","name":"ssh","vpc_network_id":"net-1","action":"allow","direction":"ingress","protocols":["tcp"],"sources":[{"cidr":"0.0.0.0/0"}],"destinations":[{"resource_id":"vm-1"}],"source_ports":["1-65535"],"destination_ports":["22"],"state":"active"}`
	networkJSON   = `{"id":"net-1","name":"default","cidr":"172.27.0.0/16","gateway":"gw","subnets":["sub-1"]}`
	subnetJSON    = `{"id":"sub-1","name":"default-a","cidr":"172.27.0.0/24","location":"us-east1-a","vpc_network_id":"net-1"}`
	lbJSON        = `{"id":"lb-1","name":"web","algorithm":"random","type":"internal_ipv4","location":"us-east1-a","protocols":["tcp"],"destinations":[{"cidr":"10.1.2.3/24","resource_id":"vm-1"}],"health_check":{"failure_count":"3","interval":"60","port":"8080","success_count":"2","timeout":"20"},"ips":[{"private_ipv4":{"address":"10.1.2.3"}}],"network_interfaces":[{"network":"net-1","subnet":"sub-1"}]}`
	templateJSON  = `{"id":"it-1","name":"tmpl","project_id":"p","type":"a100.2x","location":"us-east1-a","image_name":"ubuntu:22.04","ssh_public_key":"` + sshKey + `","startup_script":"s","shutdown_script":"t","subnet_id":"sub-1","ib_partition_id":"ibp","public_ip_address_type":"static","reservation_id":"r","disks":[{"size":"10GiB","type":"persistent-ssd"}],"virtualization_features":{"nested_virtualization":true},"created_at":"c"}`
	groupJSON     = `{"id":"ig-1","name":"fleet","project_id":"p","template_id":"it-1","instances":["vm-1"],"running_instance_count":1,"created_at":"c","updated_at":"u"}`
	operationJSON = `{"operation_id":"op-9","state":"SUCCEEDED","started_at":"a","completed_at":"b"}`
)

var (
	wantOp = &Operation{OperationID: "op-1", State: OperationInProgress, StartedAt: "2021-12-03T19:58:34Z"}
	wantVM = VM{
		ID: "vm-1", Name: "my-vm", ProjectID: testProject, Type: "a100.2x", Location: "us-east1-a", State: VMStateRunning,
		SSHDestination: "1.2.3.4:22", CreatedAt: "c", UpdatedAt: "u", CommitmentEnd: "e", CommitmentPeriod: 3,
		Disks: []AttachedDisk{{ID: "d-1", Name: "os", Size: "10GiB", Type: "persistent-ssd", Location: "us-east1-a",
			Mode: "read-write", AttachmentType: "os", BlockSize: 4096, SerialNumber: "SN", CreatedAt: "c", UpdatedAt: "u"}},
		NetworkInterfaces: []NetworkInterface{{ID: "ni-1", Name: "nic", InterfaceType: "ethernet", MACAddress: "00:00",
			Network: "net-1", Subnet: "sub-1", IPs: []IPAddresses{{
				PrivateIPv4: &PrivateIPv4Address{Address: "10.1.2.3"},
				PublicIPv4:  &PublicIPv4Address{Address: "121.0.0.1", ID: "ip-1", Type: "dynamic"}}}}},
		HostChannelAdapters:    []HostChannelAdapter{{GUID: "g", IBNetworkID: "ibn", IBPartitionID: "ibp", Type: "infiniband"}},
		InstanceGroupID:        "ig-1",
		InstanceTemplateID:     "it-1",
		ReservationID:          "res-1",
		VirtualizationFeatures: &VirtualizationFeatures{NestedVirtualization: true},
	}
	wantDisk = Disk{ID: "d-1", Name: "data", Size: "10GiB", Type: "persistent-ssd", Location: "us-east1-a", SerialNumber: "SN",
		BlockSize: 4096, CreatedAt: "c", UpdatedAt: "u", AttachedTo: []DiskAttachedTo{{VMID: "vm-1", Mode: "read-write", AttachmentType: "data"}}}
	wantSnapshot = Snapshot{ID: "s-1", CreatedFrom: "d-1", Size: "10457 bytes", BlockSize: 4096, CreatedAt: "c", UpdatedAt: "u"}
	wantRule     = FirewallRule{ID: "fw-1", Name: "ssh", VPCNetworkID: "net-1", Action: "allow", Direction: "ingress",
		Protocols: []string{"tcp"}, Sources: []FirewallRuleObject{{CIDR: "0.0.0.0/0"}}, Destinations: []FirewallRuleObject{{ResourceID: "vm-1"}},
		SourcePorts: []string{"1-65535"}, DestinationPorts: []string{"22"}, State: "active"}
	wantNetwork = VPCNetwork{ID: "net-1", Name: "default", CIDR: "172.27.0.0/16", Gateway: "gw", Subnets: []string{"sub-1"}}
	wantSubnet  = VPCSubnet{ID: "sub-1", Name: "default-a", CIDR: "172.27.0.0/24", Location: "us-east1-a", VPCNetworkID: "net-1"}
	wantLB      = LoadBalancer{ID: "lb-1", Name: "web", Algorithm: "random", Type: "internal_ipv4", Location: "us-east1-a",
		Protocols: []string{"tcp"}, Destinations: []NetworkTarget{{CIDR: "10.1.2.3/24", ResourceID: "vm-1"}},
		HealthCheck:       &HealthCheckOptions{FailureCount: "3", Interval: "60", Port: "8080", SuccessCount: "2", Timeout: "20"},
		IPs:               []IPAddresses{{PrivateIPv4: &PrivateIPv4Address{Address: "10.1.2.3"}}},
		NetworkInterfaces: []LoadBalancerNetworkInterface{{Network: "net-1", Subnet: "sub-1"}}}
	wantTemplate = InstanceTemplate{ID: "it-1", Name: "tmpl", ProjectID: "p", Type: "a100.2x", Location: "us-east1-a",
		ImageName: "ubuntu:22.04", SSHPublicKey: sshKey, StartupScript: "s", ShutdownScript: "t", SubnetID: "sub-1",
		IBPartitionID: "ibp", PublicIPAddressType: "static", ReservationID: "r",
		Disks: []DiskTemplate{{Size: "10GiB", Type: "persistent-ssd"}}, VirtualizationFeatures: &VirtualizationFeatures{NestedVirtualization: true},
		CreatedAt: "c"}
	wantGroup = InstanceGroup{ID: "ig-1", Name: "fleet", ProjectID: "p", TemplateID: "it-1", Instances: []string{"vm-1"},
		RunningInstanceCount: 1, CreatedAt: "c", UpdatedAt: "u"}
)

func items(objs ...string) string { return `{"items": [` + strings.Join(objs, ",") + `]}` }

// serviceCase is one service method call and the exact request it must make.
type serviceCase struct {
	name    string
	call    func(ctx context.Context, c *Client) (any, error)
	method  string
	path    string     // relative to /v1alpha5/projects/{testProject}/
	query   url.Values // nil: no query at all
	body    string     // expected JSON body; "": no body
	respond string
	want    any
}

func TestServiceRequests(t *testing.T) {
	tests := []serviceCase{
		// VMs
		{
			name: "VMs.List with every option",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.List(ctx, testProject, &VMListOptions{
					IDs: []string{"a", "b"}, Names: []string{"my vm"}, Types: []string{"a40.2x", "a100.8x"},
					Locations: []string{"us-east1"}, States: []string{VMStateRunning, VMStateStopped},
					Limit: 20, Sort: "name", NextToken: "bXk", PrevToken: "cHJ",
				})
			},
			method: "GET", path: "compute/vms/instances",
			query: url.Values{"ids": {"a,b"}, "names": {"my vm"}, "types": {"a40.2x,a100.8x"}, "locations": {"us-east1"},
				"states": {"STATE_RUNNING,STATE_STOPPED"}, "limit": {"20"}, "sort": {"name"}, "next_token": {"bXk"}, "prev_token": {"cHJ"}},
			respond: `{"items": [` + vmJSON + `], "next_page_token": "n", "prev_page_token": "p"}`,
			want:    &VMList{Items: []VM{wantVM}, NextPageToken: "n", PrevPageToken: "p"},
		},
		{
			name:   "VMs.List without options",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.VMs.List(ctx, "", nil) },
			method: "GET", path: "compute/vms/instances",
			respond: items(),
			want:    &VMList{Items: []VM{}},
		},
		{
			name:   "VMs.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.VMs.Get(ctx, testProject, "vm-1") },
			method: "GET", path: "compute/vms/instances/vm-1",
			respond: vmJSON, want: &wantVM,
		},
		{
			name: "VMs.Create",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.Create(ctx, "", &VMCreateRequest{
					Name: "my-vm", Type: "a100.2x", Location: "us-east1-a", Image: "ubuntu:22.04", SSHPublicKey: sshKey,
					StartupScript: "#!/bin/sh", ShutdownScript: "#!/bin/sh -e",
					Disks:                    []DiskAttachment{{DiskID: "d-1", Mode: "read-write", AttachmentType: "data"}, {DiskID: "d-2"}},
					NetworkInterfaces:        []NetworkInterface{{Subnet: "sub-1", IPs: []IPAddresses{{PublicIPv4: &PublicIPv4Address{Type: "static"}}}}},
					HostChannelAdapters:      []PartialHostChannelAdapter{{IBPartitionID: "ibp"}},
					ReservationSpecification: &ReservationSpecification{SelectionStrategy: "lowest_cost"},
					VirtualizationFeatures:   &VirtualizationFeatures{NestedVirtualization: true},
				})
			},
			method: "POST", path: "compute/vms/instances",
			body: `{"name":"my-vm","type":"a100.2x","location":"us-east1-a","image":"ubuntu:22.04","ssh_public_key":"` + sshKey + `",
				"startup_script":"#!/bin/sh","shutdown_script":"#!/bin/sh -e",
				"disks":[{"disk_id":"d-1","mode":"read-write","attachment_type":"data"},{"disk_id":"d-2"}],
				"network_interfaces":[{"subnet":"sub-1","ips":[{"public_ipv4":{"type":"static"}}]}],
				"host_channel_adapters":[{"ib_partition_id":"ibp"}],
				"reservation_specification":{"selection_strategy":"lowest_cost"},
				"virtualization_features":{"nested_virtualization":true}}`,
			respond: opResponse, want: wantOp,
		},
		{
			name: "VMs.Create minimal",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.Create(ctx, "", &VMCreateRequest{Name: "v", Type: "c1a.2x", SSHPublicKey: sshKey})
			},
			method: "POST", path: "compute/vms/instances",
			body:    `{"name":"v","type":"c1a.2x","ssh_public_key":"` + sshKey + `"}`,
			respond: opResponse, want: wantOp,
		},
		{
			name:   "VMs.Delete",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.VMs.Delete(ctx, "", "vm-1") },
			method: "DELETE", path: "compute/vms/instances/vm-1",
			respond: opResponse, want: wantOp,
		},
		{
			name: "VMs.Update STOP",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.Update(ctx, "", "vm-1", &VMUpdateRequest{Action: VMActionStop})
			},
			method: "PATCH", path: "compute/vms/instances/vm-1",
			body: `{"action":"STOP"}`, respond: opResponse, want: wantOp,
		},
		{
			name: "VMs.Update UPDATE with fields",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.Update(ctx, "", "vm-1", &VMUpdateRequest{Action: VMActionUpdate, Type: "a100.8x",
					ReservationID: "r-1", HostChannelAdapters: []PartialHostChannelAdapter{{IBPartitionID: "ibp"}}})
			},
			method: "PATCH", path: "compute/vms/instances/vm-1",
			body:    `{"action":"UPDATE","type":"a100.8x","reservation_id":"r-1","host_channel_adapters":[{"ib_partition_id":"ibp"}]}`,
			respond: opResponse, want: wantOp,
		},
		{
			name: "VMs.Update RESERVE answered with an operation",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.Update(ctx, "", "vm-1", &VMUpdateRequest{Action: VMActionReserve, ReservationID: "r-1"})
			},
			method: "PATCH", path: "compute/vms/instances/vm-1",
			body: `{"action":"RESERVE","reservation_id":"r-1"}`, respond: opResponse, want: wantOp,
		},
		{
			name: "VMs.AttachDisks",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.AttachDisks(ctx, "", "vm-1", []DiskAttachment{{DiskID: "d-1", Mode: "read-only", AttachmentType: "data"}})
			},
			method: "POST", path: "compute/vms/instances/vm-1/attach-disks",
			body:    `{"attach_disks":[{"disk_id":"d-1","mode":"read-only","attachment_type":"data"}]}`,
			respond: opResponse, want: wantOp,
		},
		{
			name: "VMs.DetachDisks",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.DetachDisks(ctx, "", "vm-1", []string{"d-1", "d-2"})
			},
			method: "POST", path: "compute/vms/instances/vm-1/detach-disks",
			body: `{"detach_disks":["d-1","d-2"]}`, respond: opResponse, want: wantOp,
		},
		{
			name: "VMs.BulkCreate",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.BulkCreate(ctx, "", &BulkVMCreateRequest{
					Count: 6, NamePrefix: "my-vm", InstanceGroupID: "ig-1",
					InstanceTemplate: &InstanceTemplateCreateRequest{TemplateName: "t", Type: "a100.2x", SSHPublicKey: sshKey,
						Disks: []DiskTemplate{{Size: "10GiB", Type: "persistent-ssd"}}},
					Locations:                []BulkCreateLocationInfo{{Location: "us-east1-a", SubnetID: "sub-1"}},
					ReservationSpecification: &ReservationSpecification{ID: "r-1"},
				})
			},
			method: "POST", path: "compute/vms/bulk-instances",
			body: `{"count":6,"name_prefix":"my-vm","instance_group_id":"ig-1",
				"instance_template":{"template_name":"t","type":"a100.2x","ssh_public_key":"` + sshKey + `","disks":[{"size":"10GiB","type":"persistent-ssd"}]},
				"locations":[{"location":"us-east1-a","subnet_id":"sub-1"}],"reservation_specification":{"id":"r-1"}}`,
			respond: opResponse, want: wantOp,
		},
		{
			name:   "VMs.ListTypes",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.VMs.ListTypes(ctx, "") },
			method: "GET", path: "compute/vms/types",
			respond: items(`{"cpu_cores":4,"cpu_type":"intel","description":"2x A100","disk_gb":8,"disk_type":"SSD","gpu_type":"A100","memory_gb":16,"memory_type":"RAM","num_gpu":2,"product_name":"a100.2x"}`),
			want: []VMType{{ProductName: "a100.2x", Description: "2x A100", CPUCores: 4, CPUType: "intel", MemoryGB: 16,
				MemoryType: "RAM", DiskGB: 8, DiskType: "SSD", GPUType: "A100", NumGPU: 2}},
		},

		// Disks
		{
			name:   "Disks.List",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Disks.List(ctx, "") },
			method: "GET", path: "storage/disks",
			respond: items(diskJSON), want: []Disk{wantDisk},
		},
		{
			name:   "Disks.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Disks.Get(ctx, "", "d-1") },
			method: "GET", path: "storage/disks/d-1",
			respond: diskJSON, want: &wantDisk,
		},
		{
			name: "Disks.Create",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Disks.Create(ctx, "", &DiskCreateRequest{Name: "data", Size: "10GiB", Type: "persistent-ssd", Location: "us-east1-a", BlockSize: 4096})
			},
			method: "POST", path: "storage/disks",
			body:    `{"name":"data","size":"10GiB","type":"persistent-ssd","location":"us-east1-a","block_size":4096}`,
			respond: opResponse, want: wantOp,
		},
		{
			name: "Disks.Create from snapshot",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Disks.Create(ctx, "", &DiskCreateRequest{Name: "copy", SnapshotID: "s-1"})
			},
			method: "POST", path: "storage/disks",
			body: `{"name":"copy","snapshot_id":"s-1"}`, respond: opResponse, want: wantOp,
		},
		{
			name:   "Disks.Delete",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Disks.Delete(ctx, "", "d-1") },
			method: "DELETE", path: "storage/disks/d-1",
			respond: opResponse, want: wantOp,
		},
		{
			name:   "Disks.Resize",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Disks.Resize(ctx, "", "d-1", "20GiB") },
			method: "PATCH", path: "storage/disks/d-1",
			body: `{"size":"20GiB"}`, respond: opResponse, want: wantOp,
		},

		// Snapshots
		{
			name:   "Snapshots.List",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.List(ctx, "") },
			method: "GET", path: "storage/snapshots",
			respond: items(snapshotJSON), want: []Snapshot{wantSnapshot},
		},
		{
			name:   "Snapshots.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Get(ctx, "", "s-1") },
			method: "GET", path: "storage/snapshots/s-1",
			respond: snapshotJSON, want: &wantSnapshot,
		},
		{
			name:   "Snapshots.Create",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Create(ctx, "", "d-1") },
			method: "POST", path: "storage/snapshots",
			body: `{"disk_id":"d-1"}`, respond: opResponse, want: wantOp,
		},
		{
			name:   "Snapshots.Delete",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Delete(ctx, "", "s-1") },
			method: "DELETE", path: "storage/snapshots/s-1",
			respond: opResponse, want: wantOp,
		},

		// Firewall rules
		{
			name:   "FirewallRules.List",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.FirewallRules.List(ctx, "") },
			method: "GET", path: "networking/vpc-firewall-rules",
			respond: items(ruleJSON), want: []FirewallRule{wantRule},
		},
		{
			name:   "FirewallRules.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.FirewallRules.Get(ctx, "", "fw-1") },
			method: "GET", path: "networking/vpc-firewall-rules/fw-1",
			respond: ruleJSON, want: &wantRule,
		},
		{
			name: "FirewallRules.Create",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.FirewallRules.Create(ctx, "", &FirewallRuleCreateRequest{
					Name: "ssh", VPCNetworkID: "net-1", Action: FirewallActionAllow, Direction: FirewallDirectionIngress,
					Protocols: []string{"tcp"}, Sources: []FirewallRuleObject{{CIDR: "0.0.0.0/0"}},
					Destinations: []FirewallRuleObject{{ResourceID: "vm-1"}}, DestinationPorts: []string{"22"},
				})
			},
			method: "POST", path: "networking/vpc-firewall-rules",
			body: `{"name":"ssh","vpc_network_id":"net-1","action":"allow","direction":"ingress","protocols":["tcp"],
				"sources":[{"cidr":"0.0.0.0/0"}],"destinations":[{"resource_id":"vm-1"}],"destination_ports":["22"]}`,
			respond: opResponse, want: wantOp,
		},
		{
			name: "FirewallRules.Update",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.FirewallRules.Update(ctx, "", "fw-1", &FirewallRulePatchRequest{Name: "ssh2", SourcePorts: []string{"22"}})
			},
			method: "PATCH", path: "networking/vpc-firewall-rules/fw-1",
			body: `{"name":"ssh2","source_ports":["22"]}`, respond: opResponse, want: wantOp,
		},
		{
			name:   "FirewallRules.Delete",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.FirewallRules.Delete(ctx, "", "fw-1") },
			method: "DELETE", path: "networking/vpc-firewall-rules/fw-1",
			respond: opResponse, want: wantOp,
		},

		// VPC networks
		{
			name:   "VPCNetworks.List",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.VPCNetworks.List(ctx, "") },
			method: "GET", path: "networking/vpc-networks",
			respond: items(networkJSON), want: []VPCNetwork{wantNetwork},
		},
		{
			name:   "VPCNetworks.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.VPCNetworks.Get(ctx, "", "net-1") },
			method: "GET", path: "networking/vpc-networks/net-1",
			respond: networkJSON, want: &wantNetwork,
		},
		{
			name: "VPCNetworks.Create",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.VPCNetworks.Create(ctx, "", &VPCNetworkCreateRequest{Name: "default", CIDR: "172.27.0.0/16"})
			},
			method: "POST", path: "networking/vpc-networks",
			body:    `{"name":"default","cidr":"172.27.0.0/16"}`,
			respond: `{"network": ` + networkJSON + `}`, want: &wantNetwork,
		},
		{
			name: "VPCNetworks.Update",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.VPCNetworks.Update(ctx, "", "net-1", "renamed")
			},
			method: "PATCH", path: "networking/vpc-networks/net-1",
			body: `{"name":"renamed"}`, respond: opResponse, want: wantOp,
		},
		{
			name:   "VPCNetworks.Delete",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.VPCNetworks.Delete(ctx, "", "net-1") },
			method: "DELETE", path: "networking/vpc-networks/net-1",
			respond: opResponse, want: wantOp,
		},

		// VPC subnets
		{
			name:   "VPCSubnets.List",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.VPCSubnets.List(ctx, "") },
			method: "GET", path: "networking/vpc-subnets",
			respond: items(subnetJSON), want: []VPCSubnet{wantSubnet},
		},
		{
			name:   "VPCSubnets.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.VPCSubnets.Get(ctx, "", "sub-1") },
			method: "GET", path: "networking/vpc-subnets/sub-1",
			respond: subnetJSON, want: &wantSubnet,
		},
		{
			name: "VPCSubnets.Create",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.VPCSubnets.Create(ctx, "", &VPCSubnetCreateRequest{Name: "default-a", CIDR: "172.27.0.0/24", Location: "us-east1-a", VPCNetworkID: "net-1"})
			},
			method: "POST", path: "networking/vpc-subnets",
			body:    `{"name":"default-a","cidr":"172.27.0.0/24","location":"us-east1-a","vpc_network_id":"net-1"}`,
			respond: `{"subnet": ` + subnetJSON + `}`, want: &wantSubnet,
		},
		{
			name: "VPCSubnets.Update",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.VPCSubnets.Update(ctx, "", "sub-1", "renamed")
			},
			method: "PATCH", path: "networking/vpc-subnets/sub-1",
			body: `{"name":"renamed"}`, respond: opResponse, want: wantOp,
		},
		{
			name:   "VPCSubnets.Delete",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.VPCSubnets.Delete(ctx, "", "sub-1") },
			method: "DELETE", path: "networking/vpc-subnets/sub-1",
			respond: opResponse, want: wantOp,
		},

		// Load balancers
		{
			name:   "LoadBalancers.List",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.LoadBalancers.List(ctx, "") },
			method: "GET", path: "networking/load-balancers",
			respond: items(lbJSON), want: []LoadBalancer{wantLB},
		},
		{
			name:   "LoadBalancers.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.LoadBalancers.Get(ctx, "", "lb-1") },
			method: "GET", path: "networking/load-balancers/lb-1",
			respond: lbJSON, want: &wantLB,
		},
		{
			name: "LoadBalancers.Create",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.LoadBalancers.Create(ctx, "", &LoadBalancerCreateRequest{
					Name: "web", Algorithm: "random", Location: "us-east1-a", Protocols: []string{"tcp"},
					Destinations:      []NetworkTarget{{ResourceID: "vm-1"}},
					NetworkInterfaces: []LoadBalancerNetworkInterface{{Network: "net-1", Subnet: "sub-1"}},
					HealthCheck:       &HealthCheckOptions{Port: "8080"}, Type: "internal_ipv4",
				})
			},
			method: "POST", path: "networking/load-balancers",
			body: `{"name":"web","algorithm":"random","location":"us-east1-a","protocols":["tcp"],"destinations":[{"resource_id":"vm-1"}],
				"network_interfaces":[{"network":"net-1","subnet":"sub-1"}],"health_check":{"port":"8080"},"type":"internal_ipv4"}`,
			respond: opResponse, want: wantOp,
		},
		{
			name: "LoadBalancers.Update",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.LoadBalancers.Update(ctx, "", "lb-1", &LoadBalancerPatchRequest{HealthCheck: &HealthCheckOptions{Port: "0"}})
			},
			method: "PATCH", path: "networking/load-balancers/lb-1",
			body: `{"health_check":{"port":"0"}}`, respond: opResponse, want: wantOp,
		},
		{
			name:   "LoadBalancers.Delete",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.LoadBalancers.Delete(ctx, "", "lb-1") },
			method: "DELETE", path: "networking/load-balancers/lb-1",
			respond: opResponse, want: wantOp,
		},

		// Instance templates
		{
			name:   "InstanceTemplates.List",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.InstanceTemplates.List(ctx, "") },
			method: "GET", path: "compute/instance-templates",
			respond: items(templateJSON), want: []InstanceTemplate{wantTemplate},
		},
		{
			name:   "InstanceTemplates.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.InstanceTemplates.Get(ctx, "", "it-1") },
			method: "GET", path: "compute/instance-templates/it-1",
			respond: templateJSON, want: &wantTemplate,
		},
		{
			name: "InstanceTemplates.Create",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.InstanceTemplates.Create(ctx, "", &InstanceTemplateCreateRequest{
					TemplateName: "tmpl", Type: "a100.2x", SSHPublicKey: sshKey, ImageName: "ubuntu:22.04",
					Location: "us-east1-a", SubnetID: "sub-1", IBPartitionID: "ibp", PublicIPAddressType: "static",
					ReservationID: "r", StartupScript: "s", ShutdownScript: "t",
					Disks:                  []DiskTemplate{{Size: "10GiB", Type: "persistent-ssd"}},
					VirtualizationFeatures: &VirtualizationFeatures{NestedVirtualization: true},
				})
			},
			method: "POST", path: "compute/instance-templates",
			body: `{"template_name":"tmpl","type":"a100.2x","ssh_public_key":"` + sshKey + `","image_name":"ubuntu:22.04",
				"location":"us-east1-a","subnet_id":"sub-1","ib_partition_id":"ibp","public_ip_address_type":"static",
				"reservation_id":"r","startup_script":"s","shutdown_script":"t","disks":[{"size":"10GiB","type":"persistent-ssd"}],
				"virtualization_features":{"nested_virtualization":true}}`,
			respond: templateJSON, want: &wantTemplate,
		},
		{
			name: "InstanceTemplates.Delete",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.InstanceTemplates.Delete(ctx, "", "it-1")
			},
			method: "DELETE", path: "compute/instance-templates/it-1",
			respond: "", want: nil,
		},

		// Instance groups
		{
			name:   "InstanceGroups.List",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.InstanceGroups.List(ctx, "") },
			method: "GET", path: "compute/instance-groups",
			respond: items(groupJSON), want: []InstanceGroup{wantGroup},
		},
		{
			name:   "InstanceGroups.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.InstanceGroups.Get(ctx, "", "ig-1") },
			method: "GET", path: "compute/instance-groups/ig-1",
			respond: groupJSON, want: &wantGroup,
		},
		{
			name: "InstanceGroups.Create",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.InstanceGroups.Create(ctx, "", &InstanceGroupCreateRequest{Name: "fleet", TemplateID: "it-1"})
			},
			method: "POST", path: "compute/instance-groups",
			body: `{"name":"fleet","template_id":"it-1"}`, respond: groupJSON, want: &wantGroup,
		},
		{
			name: "InstanceGroups.Update",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.InstanceGroups.Update(ctx, "", "ig-1", &InstanceGroupPatchRequest{TemplateID: "it-2"})
			},
			method: "PATCH", path: "compute/instance-groups/ig-1",
			body: `{"template_id":"it-2"}`, respond: groupJSON, want: &wantGroup,
		},
		{
			name: "InstanceGroups.Delete",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.InstanceGroups.Delete(ctx, "", "ig-1")
			},
			method: "DELETE", path: "compute/instance-groups/ig-1",
			respond: "{}", want: nil,
		},

		// Operations
		{
			name: "Operations.List with options",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Operations.List(ctx, "", FamilyVMs, &OperationListOptions{
					ResourceID: "vm-1", States: []string{OperationInProgress, OperationFailed}, LowerTimeBound: "2021-12-03T19:58:34Z"})
			},
			method: "GET", path: "compute/vms/instances/operations",
			query:   url.Values{"resource_id": {"vm-1"}, "state": {"IN_PROGRESS", "FAILED"}, "lower_time_bound": {"2021-12-03T19:58:34Z"}},
			respond: items(operationJSON),
			want:    []Operation{{OperationID: "op-9", State: OperationSucceeded, StartedAt: "a", CompletedAt: "b"}},
		},
		{
			name:   "Operations.List without options",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Operations.List(ctx, "", FamilyDisks, nil) },
			method: "GET", path: "storage/disks/operations",
			respond: items(), want: []Operation{},
		},
		{
			name: "Operations.Get wrapped answer",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Operations.Get(ctx, "", FamilyVMs, "op-9")
			},
			method: "GET", path: "compute/vms/instances/operations/op-9",
			respond: `{"operation": ` + operationJSON + `}`,
			want:    &Operation{OperationID: "op-9", State: OperationSucceeded, StartedAt: "a", CompletedAt: "b"},
		},
	}
	// Operations.Get answers the bare operation in every family.
	for _, f := range []Family{FamilyVMs, FamilyDisks, FamilySnapshots, FamilyFirewallRules, FamilyVPCNetworks, FamilyVPCSubnets, FamilyLoadBalancers} {
		tests = append(tests, serviceCase{
			name:    "Operations.Get " + string(f),
			call:    func(ctx context.Context, c *Client) (any, error) { return c.Operations.Get(ctx, "", f, "op-9") },
			method:  "GET",
			path:    string(f) + "/operations/op-9",
			respond: operationJSON,
			want:    &Operation{OperationID: "op-9", State: OperationSucceeded, StartedAt: "a", CompletedAt: "b"},
		})
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if r.Method != tt.method {
					t.Errorf("method = %s, want %s", r.Method, tt.method)
				}
				if want := apiPrefix + "/projects/" + testProject + "/" + tt.path; r.URL.Path != want {
					t.Errorf("path = %s, want %s", r.URL.Path, want)
				}
				if tt.query == nil {
					if r.URL.RawQuery != "" {
						t.Errorf("query = %q, want none", r.URL.RawQuery)
					}
				} else if got := r.URL.Query(); !reflect.DeepEqual(got, tt.query) {
					t.Errorf("query = %v, want %v", got, tt.query)
				}
				body, _ := io.ReadAll(r.Body)
				if tt.body == "" {
					if len(body) != 0 {
						t.Errorf("body = %s, want none", body)
					}
				} else if !apitest.JSONEqual(t, body, tt.body) {
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
			if tt.want == nil {
				if got != nil {
					t.Errorf("result = %#v, want nil", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tt.want)
				t.Errorf("result =\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestVMsListAllFollowsPages(t *testing.T) {
	var (
		mu     sync.Mutex
		tokens []string
	)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		tokens = append(tokens, q.Get("next_token"))
		mu.Unlock()
		if q.Get("states") != "STATE_RUNNING" || q.Get("limit") != "1" || q.Has("prev_token") {
			t.Errorf("query %v lost the caller's filters or kept prev_token", q)
		}
		switch q.Get("next_token") {
		case "":
			io.WriteString(w, `{"items":[{"id":"vm-1"}],"next_page_token":"t2","prev_page_token":"x"}`)
		case "t2":
			io.WriteString(w, `{"items":[{"id":"vm-2"}],"next_page_token":"t3"}`)
		case "t3":
			io.WriteString(w, `{"items":[{"id":"vm-3"}]}`)
		default:
			t.Errorf("unexpected token %q", q.Get("next_token"))
		}
	})
	opts := &VMListOptions{States: []string{VMStateRunning}, Limit: 1, PrevToken: "stale"}
	vms, err := c.VMs.ListAll(context.Background(), "", opts)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, vm := range vms {
		ids = append(ids, vm.ID)
	}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(ids, []string{"vm-1", "vm-2", "vm-3"}) || !reflect.DeepEqual(tokens, []string{"", "t2", "t3"}) {
		t.Errorf("ids %v tokens %v", ids, tokens)
	}
	if opts.NextToken != "" || opts.PrevToken != "stale" {
		t.Errorf("ListAll modified the caller's options: %+v", opts)
	}
}

func TestVMsListAllStopsOnRepeatedToken(t *testing.T) {
	var hits atomic.Int32
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, `{"items":[{"id":"vm-1"}],"next_page_token":"same"}`)
	})
	if _, err := c.VMs.ListAll(context.Background(), "", nil); err == nil || !strings.Contains(err.Error(), "repeats") {
		t.Fatalf("err = %v, want a repeated-token error", err)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestVMsListAllPropagatesErrors(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("next_token") == "" {
			io.WriteString(w, `{"items":[{"id":"vm-1"}],"next_page_token":"t2"}`)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	})
	vms, err := c.VMs.ListAll(context.Background(), "", nil)
	if err == nil || vms != nil {
		t.Fatalf("ListAll = %v, %v; want nil and an error", vms, err)
	}
}

func TestNormalizeVMState(t *testing.T) {
	tests := map[string]string{
		"RUNNING":        VMStateRunning,
		"STATE_RUNNING":  VMStateRunning,
		"running":        VMStateRunning,
		" STOPPED ":      VMStateStopped,
		"SHUTOFF":        VMStateShutoff,
		"state_shutdown": VMStateShutdown,
		"CREATING":       VMStateCreating,
		"STATE_DELETING": VMStateDeleting,
		"":               "",
	}
	for in, want := range tests {
		if got := NormalizeVMState(in); got != want {
			t.Errorf("NormalizeVMState(%q) = %q, want %q", in, got, want)
		}
	}
	vm := VM{State: "RUNNING"}
	if vm.NormalizedState() != VMStateRunning {
		t.Errorf("NormalizedState = %q", vm.NormalizedState())
	}
}
