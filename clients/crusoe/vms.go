package crusoe

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// VMsService manages VM instances (family FamilyVMs).
type VMsService service

// VM states. The API reports these; its reference page also shows the bare
// form ("RUNNING"), which NormalizeVMState maps onto them.
const (
	VMStateRunning  = "STATE_RUNNING"
	VMStateStopped  = "STATE_STOPPED"
	VMStateShutoff  = "STATE_SHUTOFF"
	VMStateShutdown = "STATE_SHUTDOWN"
	VMStateCreating = "STATE_CREATING"
	VMStateDeleting = "STATE_DELETING"
	VMStateStarting = "STATE_STARTING"
	VMStateStopping = "STATE_STOPPING"
)

// NormalizeVMState maps either form of a VM state ("RUNNING", "running",
// "STATE_RUNNING") onto the STATE_ form. The empty string stays empty.
func NormalizeVMState(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" || strings.HasPrefix(s, "STATE_") {
		return s
	}
	return "STATE_" + s
}

// VM actions for VMsService.Update. RESERVE and UNRESERVE complete synchronously.
const (
	VMActionStart     = "START"
	VMActionStop      = "STOP"
	VMActionReset     = "RESET"
	VMActionReserve   = "RESERVE"
	VMActionUnreserve = "UNRESERVE"
	VMActionUpdate    = "UPDATE"
)

// VM is a virtual machine instance.
type VM struct {
	ID                     string                  `json:"id"`
	Name                   string                  `json:"name"`
	ProjectID              string                  `json:"project_id,omitempty"`
	Type                   string                  `json:"type"`
	Location               string                  `json:"location"`
	State                  string                  `json:"state"`
	SSHDestination         string                  `json:"ssh_destination,omitempty"`
	CreatedAt              string                  `json:"created_at,omitempty"`
	UpdatedAt              string                  `json:"updated_at,omitempty"`
	CommitmentEnd          string                  `json:"commitment_end,omitempty"`
	CommitmentPeriod       int64                   `json:"commitment_period,omitempty"`
	Disks                  []AttachedDisk          `json:"disks,omitempty"`
	NetworkInterfaces      []NetworkInterface      `json:"network_interfaces,omitempty"`
	HostChannelAdapters    []HostChannelAdapter    `json:"host_channel_adapters,omitempty"`
	InstanceGroupID        string                  `json:"instance_group_id,omitempty"`
	InstanceTemplateID     string                  `json:"instance_template_id,omitempty"`
	ReservationID          string                  `json:"reservation_id,omitempty"`
	VirtualizationFeatures *VirtualizationFeatures `json:"virtualization_features,omitempty"`
}

// NormalizedState is the VM's state in the STATE_ form (see NormalizeVMState).
func (vm *VM) NormalizedState() string { return NormalizeVMState(vm.State) }

// AttachedDisk is a disk as a VM reports it.
type AttachedDisk struct {
	ID             string `json:"id"`
	Name           string `json:"name,omitempty"`
	Size           string `json:"size,omitempty"`
	Type           string `json:"type,omitempty"`
	Location       string `json:"location,omitempty"`
	Mode           string `json:"mode,omitempty"`
	AttachmentType string `json:"attachment_type,omitempty"`
	BlockSize      int64  `json:"block_size,omitempty"`
	SerialNumber   string `json:"serial_number,omitempty"`
	CreatedAt      string `json:"created_at,omitempty"`
	UpdatedAt      string `json:"updated_at,omitempty"`
}

// NetworkInterface is a VM's network interface; in a create request only the
// subnet (and optionally IPs) need be set.
type NetworkInterface struct {
	ID            string        `json:"id,omitempty"`
	Name          string        `json:"name,omitempty"`
	InterfaceType string        `json:"interface_type,omitempty"`
	MACAddress    string        `json:"mac_address,omitempty"`
	Network       string        `json:"network,omitempty"`
	Subnet        string        `json:"subnet,omitempty"`
	IPs           []IPAddresses `json:"ips,omitempty"`
}

// IPAddresses is the private and public IPv4 address pair of an interface.
type IPAddresses struct {
	PrivateIPv4 *PrivateIPv4Address `json:"private_ipv4,omitempty"`
	PublicIPv4  *PublicIPv4Address  `json:"public_ipv4,omitempty"`
}

// PrivateIPv4Address is a private address.
type PrivateIPv4Address struct {
	Address string `json:"address,omitempty"`
}

// PublicIPv4Address is a public address; Type is "static" or "dynamic".
type PublicIPv4Address struct {
	Address string `json:"address,omitempty"`
	ID      string `json:"id,omitempty"`
	Type    string `json:"type,omitempty"`
}

// HostChannelAdapter is an InfiniBand adapter as a VM reports it.
type HostChannelAdapter struct {
	GUID          string `json:"guid,omitempty"`
	IBNetworkID   string `json:"ib_network_id,omitempty"`
	IBPartitionID string `json:"ib_partition_id,omitempty"`
	Type          string `json:"type,omitempty"`
}

// PartialHostChannelAdapter assigns an IB partition when creating or updating a VM.
type PartialHostChannelAdapter struct {
	IBPartitionID string `json:"ib_partition_id"`
}

// ReservationSpecification picks the reservation a VM is billed against.
type ReservationSpecification struct {
	ID                string `json:"id,omitempty"`
	SelectionStrategy string `json:"selection_strategy,omitempty"`
}

// VirtualizationFeatures are optional hypervisor features.
type VirtualizationFeatures struct {
	NestedVirtualization bool `json:"nested_virtualization"`
}

// DiskAttachment attaches an existing disk to a VM. Mode is "read-write" or
// "read-only"; AttachmentType is "data" or "os".
type DiskAttachment struct {
	DiskID         string `json:"disk_id"`
	Mode           string `json:"mode,omitempty"`
	AttachmentType string `json:"attachment_type,omitempty"`
}

// VMCreateRequest is the body of VMsService.Create.
type VMCreateRequest struct {
	Name                     string                      `json:"name"`
	Type                     string                      `json:"type"`
	Location                 string                      `json:"location,omitempty"`
	Image                    string                      `json:"image,omitempty"`
	SSHPublicKey             string                      `json:"ssh_public_key"`
	StartupScript            string                      `json:"startup_script,omitempty"`
	ShutdownScript           string                      `json:"shutdown_script,omitempty"`
	Disks                    []DiskAttachment            `json:"disks,omitempty"`
	NetworkInterfaces        []NetworkInterface          `json:"network_interfaces,omitempty"`
	HostChannelAdapters      []PartialHostChannelAdapter `json:"host_channel_adapters,omitempty"`
	ReservationSpecification *ReservationSpecification   `json:"reservation_specification,omitempty"`
	VirtualizationFeatures   *VirtualizationFeatures     `json:"virtualization_features,omitempty"`
	// CommitmentPeriod is deprecated by the API.
	CommitmentPeriod int64 `json:"commitment_period,omitempty"`
}

// VMUpdateRequest is the body of VMsService.Update: an action and, for
// UPDATE, the fields to change.
type VMUpdateRequest struct {
	Action              string                      `json:"action"`
	Type                string                      `json:"type,omitempty"`
	ReservationID       string                      `json:"reservation_id,omitempty"`
	NetworkInterfaces   []NetworkInterface          `json:"network_interfaces,omitempty"`
	HostChannelAdapters []PartialHostChannelAdapter `json:"host_channel_adapters,omitempty"`
	// CommitmentPeriod is deprecated by the API; use ReservationID.
	CommitmentPeriod int64 `json:"commitment_period,omitempty"`
}

// BulkVMCreateRequest is the body of VMsService.BulkCreate. Either
// InstanceTemplate or InstanceTemplateID is required.
type BulkVMCreateRequest struct {
	// Count is the number of VMs, per location when Locations has several.
	Count                    int64                          `json:"count"`
	NamePrefix               string                         `json:"name_prefix"`
	InstanceGroupID          string                         `json:"instance_group_id,omitempty"`
	InstanceTemplate         *InstanceTemplateCreateRequest `json:"instance_template,omitempty"`
	InstanceTemplateID       string                         `json:"instance_template_id,omitempty"`
	Locations                []BulkCreateLocationInfo       `json:"locations,omitempty"`
	ReservationSpecification *ReservationSpecification      `json:"reservation_specification,omitempty"`
}

// BulkCreateLocationInfo is one location of a bulk create; it overrides the
// template's location.
type BulkCreateLocationInfo struct {
	Location      string `json:"location"`
	SubnetID      string `json:"subnet_id,omitempty"`
	IBPartitionID string `json:"ib_partition_id,omitempty"`
}

// VMListOptions filters and pages VMsService.List. List fields are sent
// comma-joined.
type VMListOptions struct {
	IDs       []string
	Names     []string
	Types     []string
	Locations []string
	States    []string
	Limit     int
	Sort      string
	NextToken string
	PrevToken string
}

func (o *VMListOptions) query() url.Values {
	if o == nil {
		return nil
	}
	q := url.Values{}
	for _, f := range []struct {
		key  string
		vals []string
	}{{"ids", o.IDs}, {"names", o.Names}, {"types", o.Types}, {"locations", o.Locations}, {"states", o.States}} {
		if len(f.vals) > 0 {
			q.Set(f.key, strings.Join(f.vals, ","))
		}
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	for _, f := range []struct{ key, val string }{{"sort", o.Sort}, {"next_token", o.NextToken}, {"prev_token", o.PrevToken}} {
		if f.val != "" {
			q.Set(f.key, f.val)
		}
	}
	return q
}

// VMList is one page of VMs.
type VMList struct {
	Items         []VM   `json:"items"`
	NextPageToken string `json:"next_page_token,omitempty"`
	PrevPageToken string `json:"prev_page_token,omitempty"`
}

func (s *VMsService) r() resource[VM] {
	return resource[VM]{c: s.client, base: string(FamilyVMs), idName: "VM ID"}
}

// List fetches one page of VMs.
func (s *VMsService) List(ctx context.Context, projectID string, opts *VMListOptions) (*VMList, error) {
	if opts != nil && opts.Limit < 0 {
		return nil, invalid("VM list limit %d is negative", opts.Limit)
	}
	p, err := s.r().collectionPath(projectID)
	if err != nil {
		return nil, err
	}
	var page VMList
	if err := s.client.do(ctx, http.MethodGet, p, opts.query(), nil, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// ListAll fetches every page of VMs, following next_page_token.
func (s *VMsService) ListAll(ctx context.Context, projectID string, opts *VMListOptions) ([]VM, error) {
	var o VMListOptions
	if opts != nil {
		o = *opts
	}
	o.PrevToken = ""
	var all []VM
	seen := map[string]bool{}
	for {
		page, err := s.List(ctx, projectID, &o)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		next := page.NextPageToken
		if next == "" {
			return all, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("crusoe: listing VMs: page token %q repeats", next)
		}
		seen[next] = true
		o.NextToken = next
	}
}

// Get fetches one VM.
func (s *VMsService) Get(ctx context.Context, projectID, vmID string) (*VM, error) {
	return s.r().get(ctx, projectID, vmID)
}

// Create starts creating a VM.
func (s *VMsService) Create(ctx context.Context, projectID string, req *VMCreateRequest) (*Operation, error) {
	if req == nil {
		return nil, invalid("VM create request is nil")
	}
	if err := requiredFields("VM", "name", req.Name, "type", req.Type, "SSH public key", req.SSHPublicKey); err != nil {
		return nil, err
	}
	if err := checkAttachments(req.Disks); err != nil {
		return nil, err
	}
	return s.r().createOperation(ctx, projectID, req)
}

// Delete starts deleting a VM.
func (s *VMsService) Delete(ctx context.Context, projectID, vmID string) (*Operation, error) {
	return s.r().itemOperation(ctx, http.MethodDelete, projectID, vmID, nil)
}

var vmActions = []string{VMActionStart, VMActionStop, VMActionReset, VMActionReserve, VMActionUnreserve, VMActionUpdate}

// Update performs an action on a VM (PATCH {"action": ...}). RESERVE and
// UNRESERVE complete synchronously; when the API answers them without an
// operation, Update returns one already SUCCEEDED.
func (s *VMsService) Update(ctx context.Context, projectID, vmID string, req *VMUpdateRequest) (*Operation, error) {
	if req == nil {
		return nil, invalid("VM update request is nil")
	}
	if !slices.Contains(vmActions, req.Action) {
		return nil, invalid("VM action %q is not one of %s", req.Action, strings.Join(vmActions, ", "))
	}
	p, err := s.r().itemPath(projectID, vmID)
	if err != nil {
		return nil, err
	}
	if req.Action != VMActionReserve && req.Action != VMActionUnreserve {
		return startOperation(ctx, s.client, http.MethodPatch, p, req)
	}
	var env operationEnvelope
	if err := s.client.do(ctx, http.MethodPatch, p, nil, req, &env); err != nil {
		return nil, err
	}
	if env.Operation == nil {
		return &Operation{State: OperationSucceeded}, nil
	}
	return env.Operation, nil
}

// AttachDisks starts attaching disks to a VM.
func (s *VMsService) AttachDisks(ctx context.Context, projectID, vmID string, disks []DiskAttachment) (*Operation, error) {
	if len(disks) == 0 {
		return nil, invalid("no disks to attach")
	}
	if err := checkAttachments(disks); err != nil {
		return nil, err
	}
	p, err := s.r().itemPath(projectID, vmID)
	if err != nil {
		return nil, err
	}
	body := struct {
		AttachDisks []DiskAttachment `json:"attach_disks"`
	}{disks}
	return startOperation(ctx, s.client, http.MethodPost, p+"/attach-disks", body)
}

// DetachDisks starts detaching disks from a VM.
func (s *VMsService) DetachDisks(ctx context.Context, projectID, vmID string, diskIDs []string) (*Operation, error) {
	if len(diskIDs) == 0 {
		return nil, invalid("no disks to detach")
	}
	for i, id := range diskIDs {
		if err := required(fmt.Sprintf("disk ID %d", i), id); err != nil {
			return nil, err
		}
	}
	p, err := s.r().itemPath(projectID, vmID)
	if err != nil {
		return nil, err
	}
	body := struct {
		DetachDisks []string `json:"detach_disks"`
	}{diskIDs}
	return startOperation(ctx, s.client, http.MethodPost, p+"/detach-disks", body)
}

// BulkCreate starts creating Count VMs from an instance template. Poll the
// operation in FamilyVMs.
func (s *VMsService) BulkCreate(ctx context.Context, projectID string, req *BulkVMCreateRequest) (*Operation, error) {
	if req == nil {
		return nil, invalid("bulk VM create request is nil")
	}
	if req.Count <= 0 {
		return nil, invalid("bulk VM count must be positive, got %d", req.Count)
	}
	if err := required("bulk VM name prefix", req.NamePrefix); err != nil {
		return nil, err
	}
	if req.InstanceTemplate == nil && strings.TrimSpace(req.InstanceTemplateID) == "" {
		return nil, invalid("bulk VM create needs an instance template or an instance template ID")
	}
	p, err := s.client.resourcePath(projectID, "compute/vms/bulk-instances", "", "")
	if err != nil {
		return nil, err
	}
	return startOperation(ctx, s.client, http.MethodPost, p, req)
}

// ListTypes lists the VM types (products) available to the project.
func (s *VMsService) ListTypes(ctx context.Context, projectID string) ([]VMType, error) {
	p, err := s.client.resourcePath(projectID, "compute/vms/types", "", "")
	if err != nil {
		return nil, err
	}
	return list[VMType](ctx, s.client, p, nil)
}

func checkAttachments(disks []DiskAttachment) error {
	for i, d := range disks {
		if err := required(fmt.Sprintf("disk attachment %d: disk ID", i), d.DiskID); err != nil {
			return err
		}
	}
	return nil
}
