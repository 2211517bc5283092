package crusoe

import (
	"context"
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
	ruleJSON      = `{"id":"fw-1","name":"ssh","vpc_network_id":"net-1","action":"allow","direction":"ingress","protocols":["tcp"],"sources":[{"cidr":"0.0.0.0/0"}],"destinations":[{"cidr":"172.27.0.2/32","resource_id":"vm-1"}],"source_ports":["1-65535"],"destination_ports":["22"],"state":"active"}`
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
		Protocols: []string{"tcp"}, Sources: []FirewallRuleObject{{CIDR: "0.0.0.0/0"}}, Destinations: []FirewallRuleObject{{CIDR: "172.27.0.2/32", ResourceID: "vm-1"}},
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

func TestServiceRequests(t *testing.T) {
	tests := []apitest.CallCase[*Client]{
		// VMs
		{
			Name: "VMs.List with every option",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.List(ctx, testProject, &VMListOptions{
					IDs: []string{"a", "b"}, Names: []string{"my vm"}, Types: []string{"a40.2x", "a100.8x"},
					Locations: []string{"us-east1"}, States: []string{VMStateRunning, VMStateStopped},
					Limit: 20, Sort: "name", NextToken: "bXk", PrevToken: "cHJ",
				})
			},
			Method: "GET", Path: "compute/vms/instances",
			Query: url.Values{"ids": {"a,b"}, "names": {"my vm"}, "types": {"a40.2x,a100.8x"}, "locations": {"us-east1"},
				"states": {"STATE_RUNNING,STATE_STOPPED"}, "limit": {"20"}, "sort": {"name"}, "next_token": {"bXk"}, "prev_token": {"cHJ"}},
			Respond: `{"items": [` + vmJSON + `], "next_page_token": "n", "prev_page_token": "p"}`,
			Want:    &VMList{Items: []VM{wantVM}, NextPageToken: "n", PrevPageToken: "p"},
		},
		{
			Name:   "VMs.List without options",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.VMs.List(ctx, "", nil) },
			Method: "GET", Path: "compute/vms/instances",
			Respond: items(),
			Want:    &VMList{Items: []VM{}},
		},
		{
			Name:   "VMs.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.VMs.Get(ctx, testProject, "vm-1") },
			Method: "GET", Path: "compute/vms/instances/vm-1",
			Respond: vmJSON, Want: &wantVM,
		},
		{
			Name: "VMs.Create",
			Call: func(ctx context.Context, c *Client) (any, error) {
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
			Method: "POST", Path: "compute/vms/instances",
			Body: `{"name":"my-vm","type":"a100.2x","location":"us-east1-a","image":"ubuntu:22.04","ssh_public_key":"` + sshKey + `",
				"startup_script":"#!/bin/sh","shutdown_script":"#!/bin/sh -e",
				"disks":[{"disk_id":"d-1","mode":"read-write","attachment_type":"data"},{"disk_id":"d-2"}],
				"network_interfaces":[{"subnet":"sub-1","ips":[{"public_ipv4":{"type":"static"}}]}],
				"host_channel_adapters":[{"ib_partition_id":"ibp"}],
				"reservation_specification":{"selection_strategy":"lowest_cost"},
				"virtualization_features":{"nested_virtualization":true}}`,
			Respond: opResponse, Want: wantOp,
		},
		{
			Name: "VMs.Create minimal",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.Create(ctx, "", &VMCreateRequest{Name: "v", Type: "c1a.2x", SSHPublicKey: sshKey})
			},
			Method: "POST", Path: "compute/vms/instances",
			Body:    `{"name":"v","type":"c1a.2x","ssh_public_key":"` + sshKey + `"}`,
			Respond: opResponse, Want: wantOp,
		},
		{
			Name:   "VMs.Delete",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.VMs.Delete(ctx, "", "vm-1") },
			Method: "DELETE", Path: "compute/vms/instances/vm-1",
			Respond: opResponse, Want: wantOp,
		},
		{
			Name: "VMs.Update STOP",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.Update(ctx, "", "vm-1", &VMUpdateRequest{Action: VMActionStop})
			},
			Method: "PATCH", Path: "compute/vms/instances/vm-1",
			Body: `{"action":"STOP"}`, Respond: opResponse, Want: wantOp,
		},
		{
			Name: "VMs.Update UPDATE with fields",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.Update(ctx, "", "vm-1", &VMUpdateRequest{Action: VMActionUpdate, Type: "a100.8x",
					ReservationID: "r-1", HostChannelAdapters: []PartialHostChannelAdapter{{IBPartitionID: "ibp"}}})
			},
			Method: "PATCH", Path: "compute/vms/instances/vm-1",
			Body:    `{"action":"UPDATE","type":"a100.8x","reservation_id":"r-1","host_channel_adapters":[{"ib_partition_id":"ibp"}]}`,
			Respond: opResponse, Want: wantOp,
		},
		{
			Name: "VMs.Update RESERVE answered with an operation",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.Update(ctx, "", "vm-1", &VMUpdateRequest{Action: VMActionReserve, ReservationID: "r-1"})
			},
			Method: "PATCH", Path: "compute/vms/instances/vm-1",
			Body: `{"action":"RESERVE","reservation_id":"r-1"}`, Respond: opResponse, Want: wantOp,
		},
		{
			Name: "VMs.AttachDisks",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.AttachDisks(ctx, "", "vm-1", []DiskAttachment{{DiskID: "d-1", Mode: "read-only", AttachmentType: "data"}})
			},
			Method: "POST", Path: "compute/vms/instances/vm-1/attach-disks",
			Body:    `{"attach_disks":[{"disk_id":"d-1","mode":"read-only","attachment_type":"data"}]}`,
			Respond: opResponse, Want: wantOp,
		},
		{
			Name: "VMs.DetachDisks",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.DetachDisks(ctx, "", "vm-1", []string{"d-1", "d-2"})
			},
			Method: "POST", Path: "compute/vms/instances/vm-1/detach-disks",
			Body: `{"detach_disks":["d-1","d-2"]}`, Respond: opResponse, Want: wantOp,
		},
		{
			Name: "VMs.BulkCreate",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.VMs.BulkCreate(ctx, "", &BulkVMCreateRequest{
					Count: 6, NamePrefix: "my-vm", InstanceGroupID: "ig-1",
					InstanceTemplate: &InstanceTemplateCreateRequest{TemplateName: "t", Type: "a100.2x", SSHPublicKey: sshKey,
						Disks: []DiskTemplate{{Size: "10GiB", Type: "persistent-ssd"}}},
					Locations:                []BulkCreateLocationInfo{{Location: "us-east1-a", SubnetID: "sub-1"}},
					ReservationSpecification: &ReservationSpecification{ID: "r-1"},
				})
			},
			Method: "POST", Path: "compute/vms/bulk-instances",
			Body: `{"count":6,"name_prefix":"my-vm","instance_group_id":"ig-1",
				"instance_template":{"template_name":"t","type":"a100.2x","ssh_public_key":"` + sshKey + `","disks":[{"size":"10GiB","type":"persistent-ssd"}]},
				"locations":[{"location":"us-east1-a","subnet_id":"sub-1"}],"reservation_specification":{"id":"r-1"}}`,
			Respond: opResponse, Want: wantOp,
		},
		{
			Name:   "VMs.ListTypes",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.VMs.ListTypes(ctx, "") },
			Method: "GET", Path: "compute/vms/types",
			Respond: items(`{"cpu_cores":4,"cpu_type":"intel","description":"2x A100","disk_gb":8,"disk_type":"SSD","gpu_type":"A100","memory_gb":16,"memory_type":"RAM","num_gpu":2,"product_name":"a100.2x"}`),
			Want: []VMType{{ProductName: "a100.2x", Description: "2x A100", CPUCores: 4, CPUType: "intel", MemoryGB: 16,
				MemoryType: "RAM", DiskGB: 8, DiskType: "SSD", GPUType: "A100", NumGPU: 2}},
		},

		// Disks
		{
			Name:   "Disks.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Disks.List(ctx, "") },
			Method: "GET", Path: "storage/disks",
			Respond: items(diskJSON), Want: []Disk{wantDisk},
		},
		{
			Name:   "Disks.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Disks.Get(ctx, "", "d-1") },
			Method: "GET", Path: "storage/disks/d-1",
			Respond: diskJSON, Want: &wantDisk,
		},
		{
			Name: "Disks.Create",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Disks.Create(ctx, "", &DiskCreateRequest{Name: "data", Size: "10GiB", Type: "persistent-ssd", Location: "us-east1-a", BlockSize: 4096})
			},
			Method: "POST", Path: "storage/disks",
			Body:    `{"name":"data","size":"10GiB","type":"persistent-ssd","location":"us-east1-a","block_size":4096}`,
			Respond: opResponse, Want: wantOp,
		},
		{
			Name: "Disks.Create from snapshot",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Disks.Create(ctx, "", &DiskCreateRequest{Name: "copy", SnapshotID: "s-1"})
			},
			Method: "POST", Path: "storage/disks",
			Body: `{"name":"copy","snapshot_id":"s-1"}`, Respond: opResponse, Want: wantOp,
		},
		{
			Name:   "Disks.Delete",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Disks.Delete(ctx, "", "d-1") },
			Method: "DELETE", Path: "storage/disks/d-1",
			Respond: opResponse, Want: wantOp,
		},
		{
			Name:   "Disks.Resize",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Disks.Resize(ctx, "", "d-1", "20GiB") },
			Method: "PATCH", Path: "storage/disks/d-1",
			Body: `{"size":"20GiB"}`, Respond: opResponse, Want: wantOp,
		},

		// Snapshots
		{
			Name:   "Snapshots.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.List(ctx, "") },
			Method: "GET", Path: "storage/snapshots",
			Respond: items(snapshotJSON), Want: []Snapshot{wantSnapshot},
		},
		{
			Name:   "Snapshots.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Get(ctx, "", "s-1") },
			Method: "GET", Path: "storage/snapshots/s-1",
			Respond: snapshotJSON, Want: &wantSnapshot,
		},
		{
			Name:   "Snapshots.Create",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Create(ctx, "", "d-1") },
			Method: "POST", Path: "storage/snapshots",
			Body: `{"disk_id":"d-1"}`, Respond: opResponse, Want: wantOp,
		},
		{
			Name:   "Snapshots.Delete",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Snapshots.Delete(ctx, "", "s-1") },
			Method: "DELETE", Path: "storage/snapshots/s-1",
			Respond: opResponse, Want: wantOp,
		},

		// Firewall rules
		{
			Name:   "FirewallRules.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.FirewallRules.List(ctx, "") },
			Method: "GET", Path: "networking/vpc-firewall-rules",
			Respond: items(ruleJSON), Want: []FirewallRule{wantRule},
		},
		{
			Name:   "FirewallRules.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.FirewallRules.Get(ctx, "", "fw-1") },
			Method: "GET", Path: "networking/vpc-firewall-rules/fw-1",
			Respond: ruleJSON, Want: &wantRule,
		},
		{
			Name: "FirewallRules.Create",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.FirewallRules.Create(ctx, "", &FirewallRuleCreateRequest{
					Name: "ssh", VPCNetworkID: "net-1", Action: FirewallActionAllow, Direction: FirewallDirectionIngress,
					Protocols: []string{"tcp"}, Sources: []FirewallRuleObject{{CIDR: "0.0.0.0/0"}},
					Destinations: []FirewallRuleObject{{CIDR: "172.27.0.2/32", ResourceID: "vm-1"}}, DestinationPorts: []string{"22"},
				})
			},
			Method: "POST", Path: "networking/vpc-firewall-rules",
			Body: `{"name":"ssh","vpc_network_id":"net-1","action":"allow","direction":"ingress","protocols":["tcp"],
				"sources":[{"cidr":"0.0.0.0/0"}],"destinations":[{"cidr":"172.27.0.2/32","resource_id":"vm-1"}],"destination_ports":["22"]}`,
			Respond: opResponse, Want: wantOp,
		},
		{
			Name: "FirewallRules.Update",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.FirewallRules.Update(ctx, "", "fw-1", &FirewallRulePatchRequest{Name: "ssh2", SourcePorts: []string{"22"}})
			},
			Method: "PATCH", Path: "networking/vpc-firewall-rules/fw-1",
			Body: `{"name":"ssh2","source_ports":["22"]}`, Respond: opResponse, Want: wantOp,
		},
		{
			Name:   "FirewallRules.Delete",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.FirewallRules.Delete(ctx, "", "fw-1") },
			Method: "DELETE", Path: "networking/vpc-firewall-rules/fw-1",
			Respond: opResponse, Want: wantOp,
		},

		// VPC networks
		{
			Name:   "VPCNetworks.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.VPCNetworks.List(ctx, "") },
			Method: "GET", Path: "networking/vpc-networks",
			Respond: items(networkJSON), Want: []VPCNetwork{wantNetwork},
		},
		{
			Name:   "VPCNetworks.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.VPCNetworks.Get(ctx, "", "net-1") },
			Method: "GET", Path: "networking/vpc-networks/net-1",
			Respond: networkJSON, Want: &wantNetwork,
		},
		{
			Name: "VPCNetworks.Create",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.VPCNetworks.Create(ctx, "", &VPCNetworkCreateRequest{Name: "default", CIDR: "172.27.0.0/16"})
			},
			Method: "POST", Path: "networking/vpc-networks",
			Body:    `{"name":"default","cidr":"172.27.0.0/16"}`,
			Respond: `{"network": ` + networkJSON + `}`, Want: &wantNetwork,
		},
		{
			Name: "VPCNetworks.Update",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.VPCNetworks.Update(ctx, "", "net-1", "renamed")
			},
			Method: "PATCH", Path: "networking/vpc-networks/net-1",
			Body: `{"name":"renamed"}`, Respond: opResponse, Want: wantOp,
		},
		{
			Name:   "VPCNetworks.Delete",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.VPCNetworks.Delete(ctx, "", "net-1") },
			Method: "DELETE", Path: "networking/vpc-networks/net-1",
			Respond: opResponse, Want: wantOp,
		},

		// VPC subnets
		{
			Name:   "VPCSubnets.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.VPCSubnets.List(ctx, "") },
			Method: "GET", Path: "networking/vpc-subnets",
			Respond: items(subnetJSON), Want: []VPCSubnet{wantSubnet},
		},
		{
			Name:   "VPCSubnets.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.VPCSubnets.Get(ctx, "", "sub-1") },
			Method: "GET", Path: "networking/vpc-subnets/sub-1",
			Respond: subnetJSON, Want: &wantSubnet,
		},
		{
			Name: "VPCSubnets.Create",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.VPCSubnets.Create(ctx, "", &VPCSubnetCreateRequest{Name: "default-a", CIDR: "172.27.0.0/24", Location: "us-east1-a", VPCNetworkID: "net-1"})
			},
			Method: "POST", Path: "networking/vpc-subnets",
			Body:    `{"name":"default-a","cidr":"172.27.0.0/24","location":"us-east1-a","vpc_network_id":"net-1"}`,
			Respond: `{"subnet": ` + subnetJSON + `}`, Want: &wantSubnet,
		},
		{
			Name: "VPCSubnets.Update",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.VPCSubnets.Update(ctx, "", "sub-1", "renamed")
			},
			Method: "PATCH", Path: "networking/vpc-subnets/sub-1",
			Body: `{"name":"renamed"}`, Respond: opResponse, Want: wantOp,
		},
		{
			Name:   "VPCSubnets.Delete",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.VPCSubnets.Delete(ctx, "", "sub-1") },
			Method: "DELETE", Path: "networking/vpc-subnets/sub-1",
			Respond: opResponse, Want: wantOp,
		},

		// Load balancers
		{
			Name:   "LoadBalancers.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.LoadBalancers.List(ctx, "") },
			Method: "GET", Path: "networking/load-balancers",
			Respond: items(lbJSON), Want: []LoadBalancer{wantLB},
		},
		{
			Name:   "LoadBalancers.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.LoadBalancers.Get(ctx, "", "lb-1") },
			Method: "GET", Path: "networking/load-balancers/lb-1",
			Respond: lbJSON, Want: &wantLB,
		},
		{
			Name: "LoadBalancers.Create",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.LoadBalancers.Create(ctx, "", &LoadBalancerCreateRequest{
					Name: "web", Algorithm: "random", Location: "us-east1-a", Protocols: []string{"tcp"},
					Destinations:      []NetworkTarget{{ResourceID: "vm-1"}},
					NetworkInterfaces: []LoadBalancerNetworkInterface{{Network: "net-1", Subnet: "sub-1"}},
					HealthCheck:       &HealthCheckOptions{Port: "8080"}, Type: "internal_ipv4",
				})
			},
			Method: "POST", Path: "networking/load-balancers",
			Body: `{"name":"web","algorithm":"random","location":"us-east1-a","protocols":["tcp"],"destinations":[{"resource_id":"vm-1"}],
				"network_interfaces":[{"network":"net-1","subnet":"sub-1"}],"health_check":{"port":"8080"},"type":"internal_ipv4"}`,
			Respond: opResponse, Want: wantOp,
		},
		{
			Name: "LoadBalancers.Update",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.LoadBalancers.Update(ctx, "", "lb-1", &LoadBalancerPatchRequest{HealthCheck: &HealthCheckOptions{Port: "0"}})
			},
			Method: "PATCH", Path: "networking/load-balancers/lb-1",
			Body: `{"health_check":{"port":"0"}}`, Respond: opResponse, Want: wantOp,
		},
		{
			Name:   "LoadBalancers.Delete",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.LoadBalancers.Delete(ctx, "", "lb-1") },
			Method: "DELETE", Path: "networking/load-balancers/lb-1",
			Respond: opResponse, Want: wantOp,
		},

		// Instance templates
		{
			Name:   "InstanceTemplates.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.InstanceTemplates.List(ctx, "") },
			Method: "GET", Path: "compute/instance-templates",
			Respond: items(templateJSON), Want: []InstanceTemplate{wantTemplate},
		},
		{
			Name:   "InstanceTemplates.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.InstanceTemplates.Get(ctx, "", "it-1") },
			Method: "GET", Path: "compute/instance-templates/it-1",
			Respond: templateJSON, Want: &wantTemplate,
		},
		{
			Name: "InstanceTemplates.Create",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.InstanceTemplates.Create(ctx, "", &InstanceTemplateCreateRequest{
					TemplateName: "tmpl", Type: "a100.2x", SSHPublicKey: sshKey, ImageName: "ubuntu:22.04",
					Location: "us-east1-a", SubnetID: "sub-1", IBPartitionID: "ibp", PublicIPAddressType: "static",
					ReservationID: "r", StartupScript: "s", ShutdownScript: "t",
					Disks:                  []DiskTemplate{{Size: "10GiB", Type: "persistent-ssd"}},
					VirtualizationFeatures: &VirtualizationFeatures{NestedVirtualization: true},
				})
			},
			Method: "POST", Path: "compute/instance-templates",
			Body: `{"template_name":"tmpl","type":"a100.2x","ssh_public_key":"` + sshKey + `","image_name":"ubuntu:22.04",
				"location":"us-east1-a","subnet_id":"sub-1","ib_partition_id":"ibp","public_ip_address_type":"static",
				"reservation_id":"r","startup_script":"s","shutdown_script":"t","disks":[{"size":"10GiB","type":"persistent-ssd"}],
				"virtualization_features":{"nested_virtualization":true}}`,
			Respond: templateJSON, Want: &wantTemplate,
		},
		{
			Name: "InstanceTemplates.Delete",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.InstanceTemplates.Delete(ctx, "", "it-1")
			},
			Method: "DELETE", Path: "compute/instance-templates/it-1",
			Respond: "", Want: nil,
		},

		// Instance groups
		{
			Name:   "InstanceGroups.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.InstanceGroups.List(ctx, "") },
			Method: "GET", Path: "compute/instance-groups",
			Respond: items(groupJSON), Want: []InstanceGroup{wantGroup},
		},
		{
			Name:   "InstanceGroups.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.InstanceGroups.Get(ctx, "", "ig-1") },
			Method: "GET", Path: "compute/instance-groups/ig-1",
			Respond: groupJSON, Want: &wantGroup,
		},
		{
			Name: "InstanceGroups.Create",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.InstanceGroups.Create(ctx, "", &InstanceGroupCreateRequest{Name: "fleet", TemplateID: "it-1"})
			},
			Method: "POST", Path: "compute/instance-groups",
			Body: `{"name":"fleet","template_id":"it-1"}`, Respond: groupJSON, Want: &wantGroup,
		},
		{
			Name: "InstanceGroups.Update",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.InstanceGroups.Update(ctx, "", "ig-1", &InstanceGroupPatchRequest{TemplateID: "it-2"})
			},
			Method: "PATCH", Path: "compute/instance-groups/ig-1",
			Body: `{"template_id":"it-2"}`, Respond: groupJSON, Want: &wantGroup,
		},
		{
			Name: "InstanceGroups.Delete",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.InstanceGroups.Delete(ctx, "", "ig-1")
			},
			Method: "DELETE", Path: "compute/instance-groups/ig-1",
			Respond: "{}", Want: nil,
		},

		// Operations
		{
			Name: "Operations.List with options",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Operations.List(ctx, "", FamilyVMs, &OperationListOptions{
					ResourceID: "vm-1", States: []string{OperationInProgress, OperationFailed}, LowerTimeBound: "2021-12-03T19:58:34Z"})
			},
			Method: "GET", Path: "compute/vms/instances/operations",
			Query:   url.Values{"resource_id": {"vm-1"}, "state": {"IN_PROGRESS", "FAILED"}, "lower_time_bound": {"2021-12-03T19:58:34Z"}},
			Respond: items(operationJSON),
			Want:    []Operation{{OperationID: "op-9", State: OperationSucceeded, StartedAt: "a", CompletedAt: "b"}},
		},
		{
			Name:   "Operations.List without options",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Operations.List(ctx, "", FamilyDisks, nil) },
			Method: "GET", Path: "storage/disks/operations",
			Respond: items(), Want: []Operation{},
		},
		{
			Name: "Operations.Get wrapped answer",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Operations.Get(ctx, "", FamilyVMs, "op-9")
			},
			Method: "GET", Path: "compute/vms/instances/operations/op-9",
			Respond: `{"operation": ` + operationJSON + `}`,
			Want:    &Operation{OperationID: "op-9", State: OperationSucceeded, StartedAt: "a", CompletedAt: "b"},
		},
	}
	// Operations.Get answers the bare operation in every family.
	for _, f := range []Family{FamilyVMs, FamilyDisks, FamilySnapshots, FamilyFirewallRules, FamilyVPCNetworks, FamilyVPCSubnets, FamilyLoadBalancers} {
		tests = append(tests, apitest.CallCase[*Client]{
			Name:    "Operations.Get " + string(f),
			Call:    func(ctx context.Context, c *Client) (any, error) { return c.Operations.Get(ctx, "", f, "op-9") },
			Method:  "GET",
			Path:    string(f) + "/operations/op-9",
			Respond: operationJSON,
			Want:    &Operation{OperationID: "op-9", State: OperationSucceeded, StartedAt: "a", CompletedAt: "b"},
		})
	}

	apitest.RunCalls(t, apiPrefix+"/projects/"+testProject+"/", nil, func(t *testing.T, h http.HandlerFunc) *Client { return newTestClient(t, h) }, tests)
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
