package crusoe

import (
	"context"
	"net/http"
)

// VMType is a VM product, e.g. "a100.2x".
type VMType struct {
	ProductName string `json:"product_name"`
	Description string `json:"description,omitempty"`
	CPUCores    int    `json:"cpu_cores,omitempty"`
	CPUType     string `json:"cpu_type,omitempty"`
	MemoryGB    int    `json:"memory_gb,omitempty"`
	MemoryType  string `json:"memory_type,omitempty"`
	DiskGB      int    `json:"disk_gb,omitempty"`
	DiskType    string `json:"disk_type,omitempty"`
	GPUType     string `json:"gpu_type,omitempty"`
	NumGPU      int    `json:"num_gpu,omitempty"`
}

// InstanceTemplatesService manages VM instance templates, used by bulk VM
// creation. Its calls are synchronous.
type InstanceTemplatesService service

// InstanceTemplate describes the VMs a bulk create makes.
type InstanceTemplate struct {
	ID                     string                  `json:"id"`
	Name                   string                  `json:"name"`
	ProjectID              string                  `json:"project_id,omitempty"`
	Type                   string                  `json:"type"`
	Location               string                  `json:"location,omitempty"`
	ImageName              string                  `json:"image_name,omitempty"`
	SSHPublicKey           string                  `json:"ssh_public_key,omitempty"`
	StartupScript          string                  `json:"startup_script,omitempty"`
	ShutdownScript         string                  `json:"shutdown_script,omitempty"`
	SubnetID               string                  `json:"subnet_id,omitempty"`
	IBPartitionID          string                  `json:"ib_partition_id,omitempty"`
	PublicIPAddressType    string                  `json:"public_ip_address_type,omitempty"`
	ReservationID          string                  `json:"reservation_id,omitempty"`
	Disks                  []DiskTemplate          `json:"disks,omitempty"`
	VirtualizationFeatures *VirtualizationFeatures `json:"virtualization_features,omitempty"`
	CreatedAt              string                  `json:"created_at,omitempty"`
}

// DiskTemplate is a disk made for every VM of a bulk create.
type DiskTemplate struct {
	Size string `json:"size"`
	Type string `json:"type,omitempty"`
}

// InstanceTemplateCreateRequest is the body of InstanceTemplatesService.Create,
// and the inline template of a BulkVMCreateRequest. Location, SubnetID and
// IBPartitionID go together: a template with a location names its
// location-specific resources too.
type InstanceTemplateCreateRequest struct {
	TemplateName           string                  `json:"template_name"`
	Type                   string                  `json:"type"`
	SSHPublicKey           string                  `json:"ssh_public_key"`
	ImageName              string                  `json:"image_name,omitempty"`
	Location               string                  `json:"location,omitempty"`
	SubnetID               string                  `json:"subnet_id,omitempty"`
	IBPartitionID          string                  `json:"ib_partition_id,omitempty"`
	PublicIPAddressType    string                  `json:"public_ip_address_type,omitempty"`
	ReservationID          string                  `json:"reservation_id,omitempty"`
	StartupScript          string                  `json:"startup_script,omitempty"`
	ShutdownScript         string                  `json:"shutdown_script,omitempty"`
	Disks                  []DiskTemplate          `json:"disks,omitempty"`
	VirtualizationFeatures *VirtualizationFeatures `json:"virtualization_features,omitempty"`
}

func (s *InstanceTemplatesService) r() resource[InstanceTemplate] {
	return resource[InstanceTemplate]{c: s.client, base: "compute/instance-templates", idName: "instance template ID"}
}

// List fetches every instance template of the project.
func (s *InstanceTemplatesService) List(ctx context.Context, projectID string) ([]InstanceTemplate, error) {
	return s.r().list(ctx, projectID, nil)
}

// Get fetches one instance template.
func (s *InstanceTemplatesService) Get(ctx context.Context, projectID, templateID string) (*InstanceTemplate, error) {
	return s.r().get(ctx, projectID, templateID)
}

// Create makes an instance template.
func (s *InstanceTemplatesService) Create(ctx context.Context, projectID string, req *InstanceTemplateCreateRequest) (*InstanceTemplate, error) {
	if req == nil {
		return nil, invalid("instance template create request is nil")
	}
	if err := requiredFields("instance template", "name", req.TemplateName, "type", req.Type,
		"SSH public key", req.SSHPublicKey); err != nil {
		return nil, err
	}
	p, err := s.r().collectionPath(projectID)
	if err != nil {
		return nil, err
	}
	return send[InstanceTemplate](ctx, s.client, http.MethodPost, p, req)
}

// Delete deletes an instance template.
func (s *InstanceTemplatesService) Delete(ctx context.Context, projectID, templateID string) error {
	p, err := s.r().itemPath(projectID, templateID)
	if err != nil {
		return err
	}
	return s.client.do(ctx, http.MethodDelete, p, nil, nil, nil)
}

// InstanceGroupsService manages instance groups. Its calls are synchronous.
type InstanceGroupsService service

// InstanceGroup is a set of VMs made from one template; Instances holds VM IDs.
type InstanceGroup struct {
	ID                   string   `json:"id"`
	Name                 string   `json:"name"`
	ProjectID            string   `json:"project_id,omitempty"`
	TemplateID           string   `json:"template_id"`
	Instances            []string `json:"instances,omitempty"`
	RunningInstanceCount int64    `json:"running_instance_count"`
	CreatedAt            string   `json:"created_at,omitempty"`
	UpdatedAt            string   `json:"updated_at,omitempty"`
}

// InstanceGroupCreateRequest is the body of InstanceGroupsService.Create.
type InstanceGroupCreateRequest struct {
	Name       string `json:"name"`
	TemplateID string `json:"template_id"`
}

// InstanceGroupPatchRequest is the body of InstanceGroupsService.Update; empty
// fields are left unchanged.
type InstanceGroupPatchRequest struct {
	Name       string `json:"name,omitempty"`
	TemplateID string `json:"template_id,omitempty"`
}

func (s *InstanceGroupsService) r() resource[InstanceGroup] {
	return resource[InstanceGroup]{c: s.client, base: "compute/instance-groups", idName: "instance group ID"}
}

// List fetches every instance group of the project.
func (s *InstanceGroupsService) List(ctx context.Context, projectID string) ([]InstanceGroup, error) {
	return s.r().list(ctx, projectID, nil)
}

// Get fetches one instance group.
func (s *InstanceGroupsService) Get(ctx context.Context, projectID, groupID string) (*InstanceGroup, error) {
	return s.r().get(ctx, projectID, groupID)
}

// Create makes an instance group.
func (s *InstanceGroupsService) Create(ctx context.Context, projectID string, req *InstanceGroupCreateRequest) (*InstanceGroup, error) {
	if req == nil {
		return nil, invalid("instance group create request is nil")
	}
	if err := requiredFields("instance group", "name", req.Name, "template ID", req.TemplateID); err != nil {
		return nil, err
	}
	p, err := s.r().collectionPath(projectID)
	if err != nil {
		return nil, err
	}
	return send[InstanceGroup](ctx, s.client, http.MethodPost, p, req)
}

// Update changes an instance group's name or template.
func (s *InstanceGroupsService) Update(ctx context.Context, projectID, groupID string, req *InstanceGroupPatchRequest) (*InstanceGroup, error) {
	if req == nil {
		return nil, invalid("instance group patch request is nil")
	}
	if req.Name == "" && req.TemplateID == "" {
		return nil, invalid("instance group patch request changes nothing")
	}
	p, err := s.r().itemPath(projectID, groupID)
	if err != nil {
		return nil, err
	}
	return send[InstanceGroup](ctx, s.client, http.MethodPatch, p, req)
}

// Delete deletes an instance group.
func (s *InstanceGroupsService) Delete(ctx context.Context, projectID, groupID string) error {
	p, err := s.r().itemPath(projectID, groupID)
	if err != nil {
		return err
	}
	return s.client.do(ctx, http.MethodDelete, p, nil, nil, nil)
}
