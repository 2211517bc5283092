package crusoe

import (
	"context"
	"net/http"
	"strings"
)

// DisksService manages persistent disks (family FamilyDisks).
type DisksService service

// Disk is a persistent disk. Size is in the API's format, e.g. "10GiB".
type Disk struct {
	ID           string           `json:"id"`
	Name         string           `json:"name"`
	Size         string           `json:"size"`
	Type         string           `json:"type"`
	Location     string           `json:"location"`
	SerialNumber string           `json:"serial_number,omitempty"`
	BlockSize    int64            `json:"block_size,omitempty"`
	CreatedAt    string           `json:"created_at,omitempty"`
	UpdatedAt    string           `json:"updated_at,omitempty"`
	AttachedTo   []DiskAttachedTo `json:"attached_to,omitempty"`
}

// DiskAttachedTo is a VM a disk is attached to.
type DiskAttachedTo struct {
	VMID           string `json:"vm_id"`
	Mode           string `json:"mode,omitempty"`
	AttachmentType string `json:"attachment_type,omitempty"`
}

// DiskCreateRequest is the body of DisksService.Create. It needs either a
// SnapshotID, or a Size ("10GiB", "1TiB") and a Location. Type is
// "persistent-ssd" (the API's default) or "shared-volume".
type DiskCreateRequest struct {
	Name       string `json:"name"`
	Size       string `json:"size,omitempty"`
	Type       string `json:"type,omitempty"`
	Location   string `json:"location,omitempty"`
	SnapshotID string `json:"snapshot_id,omitempty"`
	BlockSize  int64  `json:"block_size,omitempty"`
}

func (s *DisksService) r() resource[Disk] {
	return resource[Disk]{c: s.client, base: string(FamilyDisks), idName: "disk ID"}
}

// List fetches every disk of the project.
func (s *DisksService) List(ctx context.Context, projectID string) ([]Disk, error) {
	return s.r().list(ctx, projectID, nil)
}

// Get fetches one disk.
func (s *DisksService) Get(ctx context.Context, projectID, diskID string) (*Disk, error) {
	return s.r().get(ctx, projectID, diskID)
}

// Create starts creating a disk.
func (s *DisksService) Create(ctx context.Context, projectID string, req *DiskCreateRequest) (*Operation, error) {
	if req == nil {
		return nil, invalid("disk create request is nil")
	}
	if err := required("disk name", req.Name); err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.SnapshotID) == "" && (strings.TrimSpace(req.Size) == "" || strings.TrimSpace(req.Location) == "") {
		return nil, invalid("disk %q needs a snapshot ID, or a size and a location", req.Name)
	}
	if req.BlockSize < 0 {
		return nil, invalid("disk block size %d is negative", req.BlockSize)
	}
	return s.r().createOperation(ctx, projectID, req)
}

// Delete starts deleting a disk.
func (s *DisksService) Delete(ctx context.Context, projectID, diskID string) (*Operation, error) {
	return s.r().itemOperation(ctx, http.MethodDelete, projectID, diskID, nil)
}

// Resize starts growing a disk to size ("20GiB", "1TiB").
func (s *DisksService) Resize(ctx context.Context, projectID, diskID, size string) (*Operation, error) {
	if err := required("disk size", size); err != nil {
		return nil, err
	}
	body := struct {
		Size string `json:"size"`
	}{size}
	return s.r().itemOperation(ctx, http.MethodPatch, projectID, diskID, body)
}
