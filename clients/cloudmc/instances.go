package cloudmc

import (
	"context"
	"net/http"
)

// InstancesService manages the instances of the client's environment
// (/services/{service_code}/{environment_name}/instances).
type InstancesService service

// Instance states. The reference names Running, Stopped and Error; the
// others are the transitional states an instance passes through while a task
// works on it.
const (
	InstanceStateRunning    = "Running"
	InstanceStateStopped    = "Stopped"
	InstanceStateError      = "Error"
	InstanceStateCreating   = "Creating"
	InstanceStateStarting   = "Starting"
	InstanceStateStopping   = "Stopping"
	InstanceStateDestroying = "Destroying"
	InstanceStateDestroyed  = "Destroyed"
	InstanceStateExpunging  = "Expunging"
)

// Instance operations, sent as POST .../instances/{id}?operation=<op>.
const (
	InstanceOperationStart  = "start"
	InstanceOperationStop   = "stop"
	InstanceOperationReboot = "reboot"
	// InstanceOperationChangeComputeOffering changes the compute offering
	// of a stopped instance (CloudStack's changeServiceForVirtualMachine).
	InstanceOperationChangeComputeOffering = "changeComputeOffering"
)

// Instance is an instance as the API reports it.
type Instance struct {
	ID                  string   `json:"id"`
	Name                string   `json:"name"`
	State               string   `json:"state"`
	Hostname            string   `json:"hostname,omitempty"`
	TemplateID          string   `json:"templateId,omitempty"`
	TemplateName        string   `json:"templateName,omitempty"`
	ComputeOfferingID   string   `json:"computeOfferingId,omitempty"`
	ComputeOfferingName string   `json:"computeOfferingName,omitempty"`
	CPUCount            int      `json:"cpuCount,omitempty"`
	MemoryInMB          int      `json:"memoryInMB,omitempty"`
	NetworkID           string   `json:"networkId,omitempty"`
	NetworkName         string   `json:"networkName,omitempty"`
	VPCID               string   `json:"vpcId,omitempty"`
	VPCName             string   `json:"vpcName,omitempty"`
	ZoneID              string   `json:"zoneId,omitempty"`
	ZoneName            string   `json:"zoneName,omitempty"`
	IPAddress           string   `json:"ipAddress,omitempty"`
	MACAddress          string   `json:"macAddress,omitempty"`
	Username            string   `json:"username,omitempty"`
	IsPasswordEnabled   bool     `json:"isPasswordEnabled,omitempty"`
	IsSSHKeyEnabled     bool     `json:"isSshKeyEnabled,omitempty"`
	SSHKeyName          string   `json:"sshKeyName,omitempty"`
	ProjectID           string   `json:"projectId,omitempty"`
	AffinityGroupIDs    []string `json:"affinityGroupIds,omitempty"`
}

// InstanceCreateRequest is the body of InstancesService.Create. Name,
// ComputeOfferingID, NetworkID and TemplateID are required.
type InstanceCreateRequest struct {
	Name              string `json:"name"`
	ComputeOfferingID string `json:"computeOfferingId"`
	NetworkID         string `json:"networkId"`
	TemplateID        string `json:"templateId"`
	// SSHKeyName names an SSH key registered in the environment.
	SSHKeyName string `json:"sshKeyName,omitempty"`
	// UserData is the cloud-init user data, as text.
	UserData string `json:"userData,omitempty"`
	// RootVolumeSizeInGB resizes the OS volume the template gives; zero keeps it.
	RootVolumeSizeInGB int `json:"rootVolumeSizeInGb,omitempty"`
}

// instanceChangeComputeOfferingRequest is the body of
// InstancesService.ChangeComputeOffering.
type instanceChangeComputeOfferingRequest struct {
	ComputeOfferingID string `json:"computeOfferingId"`
}

// List fetches every instance of the environment.
func (s *InstancesService) List(ctx context.Context) ([]Instance, error) {
	return listData[Instance](ctx, s.client, s.client.envPath("instances", ""))
}

// Get fetches one instance.
func (s *InstancesService) Get(ctx context.Context, id string) (*Instance, error) {
	if err := checkID("instance ID", id); err != nil {
		return nil, err
	}
	return getData[Instance](ctx, s.client, s.client.envPath("instances", id))
}

// Create starts creating an instance; the task's result is the instance.
func (s *InstancesService) Create(ctx context.Context, req *InstanceCreateRequest) (*Task, error) {
	if req == nil {
		return nil, invalid("instance create request is nil")
	}
	for _, f := range []struct{ name, v string }{
		{"name", req.Name}, {"computeOfferingId", req.ComputeOfferingID},
		{"networkId", req.NetworkID}, {"templateId", req.TemplateID},
	} {
		if err := required("instance "+f.name, f.v); err != nil {
			return nil, err
		}
	}
	if req.RootVolumeSizeInGB < 0 {
		return nil, invalid("instance rootVolumeSizeInGb %d is negative", req.RootVolumeSizeInGB)
	}
	return startTask(ctx, s.client, http.MethodPost, s.client.envPath("instances", ""), nil, req)
}

// Delete starts destroying an instance. Its OS volume goes with it; data
// volumes are detached and kept.
func (s *InstancesService) Delete(ctx context.Context, id string) (*Task, error) {
	if err := checkID("instance ID", id); err != nil {
		return nil, err
	}
	return startTask(ctx, s.client, http.MethodDelete, s.client.envPath("instances", id), nil, nil)
}

// Start starts a stopped instance.
func (s *InstancesService) Start(ctx context.Context, id string) (*Task, error) {
	return s.operate(ctx, id, InstanceOperationStart)
}

// Stop stops a running instance. Stopping an instance that is not running
// fails with code ErrCodeInvalidState (IsInvalidState).
func (s *InstancesService) Stop(ctx context.Context, id string) (*Task, error) {
	return s.operate(ctx, id, InstanceOperationStop)
}

// Reboot reboots a running instance.
func (s *InstancesService) Reboot(ctx context.Context, id string) (*Task, error) {
	return s.operate(ctx, id, InstanceOperationReboot)
}

func (s *InstancesService) operate(ctx context.Context, id, op string) (*Task, error) {
	if err := checkID("instance ID", id); err != nil {
		return nil, err
	}
	return startTask(ctx, s.client, http.MethodPost, s.client.envPath("instances", id), operationQuery(op), nil)
}

// ChangeComputeOffering starts changing the compute offering of a stopped
// instance (POST .../instances/{id}?operation=changeComputeOffering with
// {"computeOfferingId"}); the task's result is the instance. An instance
// that is not Stopped is refused with ErrCodeInvalidState (IsInvalidState):
// stop it first, and start it again once the task succeeds.
func (s *InstancesService) ChangeComputeOffering(ctx context.Context, id, computeOfferingID string) (*Task, error) {
	if err := checkID("instance ID", id); err != nil {
		return nil, err
	}
	if err := required("instance computeOfferingId", computeOfferingID); err != nil {
		return nil, err
	}
	return startTask(ctx, s.client, http.MethodPost, s.client.envPath("instances", id),
		operationQuery(InstanceOperationChangeComputeOffering), &instanceChangeComputeOfferingRequest{ComputeOfferingID: computeOfferingID})
}
