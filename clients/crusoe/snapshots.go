package crusoe

import (
	"context"
	"net/http"
)

// SnapshotsService manages disk snapshots (family FamilySnapshots).
type SnapshotsService service

// Snapshot is a point-in-time copy of a disk. Size is in bytes, e.g. "10457 bytes".
type Snapshot struct {
	ID          string `json:"id"`
	CreatedFrom string `json:"created_from"`
	Size        string `json:"size"`
	BlockSize   int64  `json:"block_size,omitempty"`
	CreatedAt   string `json:"created_at,omitempty"`
	UpdatedAt   string `json:"updated_at,omitempty"`
	Name        string `json:"name,omitempty"`
}

func (s *SnapshotsService) r() resource[Snapshot] {
	return resource[Snapshot]{c: s.client, base: string(FamilySnapshots), idName: "snapshot ID"}
}

// List fetches every snapshot of the project.
func (s *SnapshotsService) List(ctx context.Context, projectID string) ([]Snapshot, error) {
	return s.r().list(ctx, projectID, nil)
}

// Get fetches one snapshot.
func (s *SnapshotsService) Get(ctx context.Context, projectID, snapshotID string) (*Snapshot, error) {
	return s.r().get(ctx, projectID, snapshotID)
}

// Create starts snapshotting a disk.
func (s *SnapshotsService) Create(ctx context.Context, projectID, diskID string) (*Operation, error) {
	if err := required("disk ID", diskID); err != nil {
		return nil, err
	}
	body := struct {
		DiskID string `json:"disk_id"`
	}{diskID}
	return s.r().createOperation(ctx, projectID, body)
}

// Delete starts deleting a snapshot.
func (s *SnapshotsService) Delete(ctx context.Context, projectID, snapshotID string) (*Operation, error) {
	return s.r().itemOperation(ctx, http.MethodDelete, projectID, snapshotID, nil)
}
