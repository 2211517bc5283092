package cloudmc

import (
	"context"
	"net/http"
)

// VolumesService manages the volumes of the client's environment
// (/services/{service_code}/{environment_name}/volumes).
type VolumesService service

// Volume types: every instance has an OS volume; data volumes are made,
// attached and detached on their own.
const (
	VolumeTypeOS   = "os"
	VolumeTypeData = "data"
)

// Volume states. Ready is the resting state; the others are what the
// simulator reports while a task works on the volume.
const (
	VolumeStateReady      = "Ready"
	VolumeStateCreating   = "Creating"
	VolumeStateAttaching  = "Attaching"
	VolumeStateDetaching  = "Detaching"
	VolumeStateDestroying = "Destroying"
)

// Volume operations, sent as POST .../volumes/{id}?operation=<op>.
const (
	VolumeOperationAttach = "attachToInstance"
	VolumeOperationDetach = "detachFromInstance"
)

// Volume is a volume as the API reports it.
type Volume struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Type             string `json:"type,omitempty"`
	State            string `json:"state,omitempty"`
	SizeInGB         int    `json:"sizeInGb,omitempty"`
	CreationDate     string `json:"creationDate,omitempty"`
	InstanceID       string `json:"instanceId,omitempty"`
	InstanceName     string `json:"instanceName,omitempty"`
	InstanceState    string `json:"instanceState,omitempty"`
	ZoneID           string `json:"zoneId,omitempty"`
	ZoneName         string `json:"zoneName,omitempty"`
	DiskOfferingID   string `json:"diskOfferingId,omitempty"`
	DiskOfferingName string `json:"diskOfferingName,omitempty"`
}

// Attached reports whether the volume is attached to an instance.
func (v *Volume) Attached() bool { return v != nil && v.InstanceID != "" }

// VolumeCreateRequest is the body of VolumesService.Create. Name and
// DiskOfferingID are required: CloudMC on CloudStack makes a volume from a
// disk offering. SizeInGB is sent for a custom-size offering only (see
// DiskOffering.CheckSize); a fixed-size one gives its own size.
type VolumeCreateRequest struct {
	Name           string `json:"name"`
	DiskOfferingID string `json:"diskOfferingId"`
	SizeInGB       int    `json:"sizeInGb,omitempty"`
	ZoneID         string `json:"zoneId,omitempty"`
	// InstanceID, when set, attaches the new volume to that instance.
	InstanceID string `json:"instanceId,omitempty"`
}

// volumeAttachRequest is the body of VolumesService.Attach.
type volumeAttachRequest struct {
	InstanceID string `json:"instanceId"`
}

// List fetches every volume of the environment, OS volumes included.
func (s *VolumesService) List(ctx context.Context) ([]Volume, error) {
	return listData[Volume](ctx, s.client, s.client.envPath("volumes", ""))
}

// Get fetches one volume.
func (s *VolumesService) Get(ctx context.Context, id string) (*Volume, error) {
	if err := checkID("volume ID", id); err != nil {
		return nil, err
	}
	return getData[Volume](ctx, s.client, s.client.envPath("volumes", id))
}

// Create starts creating a data volume; the task's result is the volume.
func (s *VolumesService) Create(ctx context.Context, req *VolumeCreateRequest) (*Task, error) {
	if req == nil {
		return nil, invalid("volume create request is nil")
	}
	if err := required("volume name", req.Name); err != nil {
		return nil, err
	}
	if err := required("volume diskOfferingId", req.DiskOfferingID); err != nil {
		return nil, err
	}
	if req.SizeInGB < 0 {
		return nil, invalid("volume sizeInGb %d is negative", req.SizeInGB)
	}
	return startTask(ctx, s.client, http.MethodPost, s.client.envPath("volumes", ""), nil, req)
}

// Delete starts deleting a data volume. An attached volume cannot be deleted.
func (s *VolumesService) Delete(ctx context.Context, id string) (*Task, error) {
	if err := checkID("volume ID", id); err != nil {
		return nil, err
	}
	return startTask(ctx, s.client, http.MethodDelete, s.client.envPath("volumes", id), nil, nil)
}

// Attach starts attaching a data volume to an instance
// (POST .../volumes/{id}?operation=attachToInstance with {"instanceId"}).
func (s *VolumesService) Attach(ctx context.Context, volumeID, instanceID string) (*Task, error) {
	if err := checkID("volume ID", volumeID); err != nil {
		return nil, err
	}
	if err := required("instance ID", instanceID); err != nil {
		return nil, err
	}
	return startTask(ctx, s.client, http.MethodPost, s.client.envPath("volumes", volumeID),
		operationQuery(VolumeOperationAttach), &volumeAttachRequest{InstanceID: instanceID})
}

// Detach starts detaching a data volume from its instance
// (POST .../volumes/{id}?operation=detachFromInstance).
func (s *VolumesService) Detach(ctx context.Context, volumeID string) (*Task, error) {
	if err := checkID("volume ID", volumeID); err != nil {
		return nil, err
	}
	return startTask(ctx, s.client, http.MethodPost, s.client.envPath("volumes", volumeID),
		operationQuery(VolumeOperationDetach), nil)
}
