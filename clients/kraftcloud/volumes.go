package kraftcloud

import (
	"context"
	"net/http"
)

// VolumesService manages persistent volumes (/v1/volumes).
type VolumesService service

// Volume states.
const (
	VolumeStateUninitialized = "uninitialized"
	VolumeStateInitializing  = "initializing"
	VolumeStateAvailable     = "available"
	VolumeStateIdle          = "idle"
	VolumeStateMounted       = "mounted"
	VolumeStateBusy          = "busy"
	VolumeStateDeleting      = "deleting"
)

// Volume is a volume as the API reports it.
type Volume struct {
	ItemStatus
	UUID string `json:"uuid,omitempty"`
	Name string `json:"name,omitempty"`
	// SizeMB is the size in megabytes.
	SizeMB int `json:"size_mb,omitempty"`
	// State is one of the VolumeState constants.
	State      string `json:"state,omitempty"`
	AttachedTo []Ref  `json:"attached_to,omitempty"`
	Persistent bool   `json:"persistent,omitempty"`
	CreatedAt  string `json:"created_at,omitempty"`
}

// VolumesResult is the answer of a global-scope (batch) call; see
// InstancesResult.
type VolumesResult struct {
	Status  string   `json:"status"`
	Message string   `json:"message,omitempty"`
	Volumes []Volume `json:"volumes"`
}

// Failed returns the items whose status is not success.
func (r *VolumesResult) Failed() []Volume {
	if r == nil {
		return nil
	}
	return failed(r.Volumes)
}

// VolumeCreateRequest is the body of VolumesService.Create.
type VolumeCreateRequest struct {
	Name   string `json:"name,omitempty"`
	SizeMB int    `json:"size_mb"`
}

// VolumeAttachRequest is one item of VolumesService.Attach: mount the volume
// in the instance AttachTo at the absolute path At.
type VolumeAttachRequest struct {
	Ref
	AttachTo Ref    `json:"attach_to"`
	At       string `json:"at"`
	ReadOnly bool   `json:"readonly,omitempty"`
}

// VolumeDetachRequest is one item of VolumesService.Detach: detach the volume
// from the instance From, or from every instance when From is nil.
type VolumeDetachRequest struct {
	Ref
	From *Ref `json:"from,omitempty"`
}

const volumesCollection = "volumes"

func (s *VolumesService) req(method, path string, body any) request {
	return request{method: method, path: path, body: body, collection: volumesCollection}
}

func volumesResult(status, message string, items []Volume, err error) (*VolumesResult, error) {
	if err != nil {
		return nil, err
	}
	return &VolumesResult{Status: status, Message: message, Volumes: items}, nil
}

// Create creates a volume (POST /volumes).
func (s *VolumesService) Create(ctx context.Context, req *VolumeCreateRequest) (*Volume, error) {
	if req == nil {
		return nil, invalid("volume create request is nil")
	}
	if req.Name != "" {
		if err := checkName("name", req.Name); err != nil {
			return nil, err
		}
	}
	if req.SizeMB <= 0 {
		return nil, invalid("size_mb must be positive, got %d", req.SizeMB)
	}
	return one[Volume](ctx, s.client, s.req(http.MethodPost, "volumes", req))
}

// List fetches every volume (GET /volumes without a body).
func (s *VolumesService) List(ctx context.Context) ([]Volume, error) {
	return list[Volume](ctx, s.client, s.req(http.MethodGet, "volumes", nil))
}

// Status fetches the named volumes (GET /volumes with a body).
func (s *VolumesService) Status(ctx context.Context, refs []Ref) (*VolumesResult, error) {
	if err := checkBatch("refs", refs, checkRef); err != nil {
		return nil, err
	}
	return volumesResult(batch[Volume](ctx, s.client, s.req(http.MethodGet, "volumes", refs)))
}

// Get fetches one volume by UUID (GET /volumes/{uuid}).
func (s *VolumesService) Get(ctx context.Context, uuid string) (*Volume, error) {
	if err := checkID("volume UUID", uuid); err != nil {
		return nil, err
	}
	return one[Volume](ctx, s.client, s.req(http.MethodGet, "volumes/"+uuid, nil))
}

// Delete deletes volumes (DELETE /volumes with a body).
func (s *VolumesService) Delete(ctx context.Context, refs []Ref) (*VolumesResult, error) {
	if err := checkBatch("refs", refs, checkRef); err != nil {
		return nil, err
	}
	return volumesResult(batch[Volume](ctx, s.client, s.req(http.MethodDelete, "volumes", refs)))
}

// DeleteOne deletes one volume (DELETE /volumes/{uuid}).
func (s *VolumesService) DeleteOne(ctx context.Context, uuid string) (*Volume, error) {
	if err := checkID("volume UUID", uuid); err != nil {
		return nil, err
	}
	return one[Volume](ctx, s.client, s.req(http.MethodDelete, "volumes/"+uuid, nil))
}

// Attach mounts volumes in instances (PUT /volumes/attach).
func (s *VolumesService) Attach(ctx context.Context, reqs []VolumeAttachRequest) (*VolumesResult, error) {
	err := checkBatch("reqs", reqs, func(field string, r VolumeAttachRequest) error {
		return firstError(
			checkRef(field, r.Ref),
			checkRef(field+".attach_to", r.AttachTo),
			checkMountPoint(field+".at", r.At),
		)
	})
	if err != nil {
		return nil, err
	}
	return volumesResult(batch[Volume](ctx, s.client, s.req(http.MethodPut, "volumes/attach", reqs)))
}

// Detach unmounts volumes (PUT /volumes/detach).
func (s *VolumesService) Detach(ctx context.Context, reqs []VolumeDetachRequest) (*VolumesResult, error) {
	err := checkBatch("reqs", reqs, func(field string, r VolumeDetachRequest) error {
		if err := checkRef(field, r.Ref); err != nil {
			return err
		}
		if r.From != nil {
			return checkRef(field+".from", *r.From)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return volumesResult(batch[Volume](ctx, s.client, s.req(http.MethodPut, "volumes/detach", reqs)))
}
