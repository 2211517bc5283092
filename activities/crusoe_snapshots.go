package activities

import (
	"context"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"

	"github.com/cloudflow/cloudflow/clients/crusoe"
)

// KindSnapshot is a Crusoe disk snapshot, as activity inputs name it.
// Snapshots have no name: they are found by ID only.
const KindSnapshot = "snapshot"

// FindDisksInput is the input of CrusoeFindDisks: disks by name, or every
// disk attached to the VM named VMName.
type FindDisksInput struct {
	ProjectID string   `json:"projectId,omitempty"`
	Names     []string `json:"names,omitempty"`
	VMName    string   `json:"vmName,omitempty"`
}

// FoundDisk is a disk CrusoeFindDisks found.
type FoundDisk struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// FindDisksResult answers CrusoeFindDisks: the disks in the order asked for,
// or in the VM's order.
type FindDisksResult struct {
	// VMID is the VM's ID when the disks were looked up by VM.
	VMID  string      `json:"vmId,omitempty"`
	Disks []FoundDisk `json:"disks"`
}

// CrusoeFindDisks resolves disk names, or a VM's attached disks, to IDs. A
// name or VM that does not exist, or a VM without disks, is a final error:
// nothing can be snapshotted until the input is fixed.
func (a *CrusoeActivities) CrusoeFindDisks(ctx context.Context, in FindDisksInput) (FindDisksResult, error) {
	if err := a.ready(); err != nil {
		return FindDisksResult{}, err
	}
	if (len(in.Names) == 0) == (in.VMName == "") {
		return FindDisksResult{}, invalidInput("give disk names or a VM name, not both or neither")
	}
	if in.VMName != "" {
		vm, err := a.findVM(ctx, in.ProjectID, "", in.VMName)
		if err != nil {
			return FindDisksResult{}, err
		}
		if vm == nil {
			return FindDisksResult{}, invalidInput("no VM named %q in the project", in.VMName)
		}
		res := FindDisksResult{VMID: vm.ID}
		for _, d := range vm.Disks {
			res.Disks = append(res.Disks, FoundDisk{Name: firstNonEmpty(d.Name, d.ID), ID: d.ID})
		}
		if len(res.Disks) == 0 {
			return FindDisksResult{}, invalidInput("vm %s has no disks attached", in.VMName)
		}
		return res, nil
	}
	disks, err := a.Client.Disks.List(ctx, in.ProjectID)
	if err != nil {
		return FindDisksResult{}, apiError(CloudCrusoe, "list disks", err)
	}
	ids := make(map[string]string, len(disks))
	for _, d := range disks {
		ids[d.Name] = d.ID
	}
	res := FindDisksResult{Disks: make([]FoundDisk, 0, len(in.Names))}
	var missing []string
	for _, n := range in.Names {
		id, ok := ids[n]
		if !ok {
			missing = append(missing, n)
			continue
		}
		res.Disks = append(res.Disks, FoundDisk{Name: n, ID: id})
	}
	if len(missing) > 0 {
		return FindDisksResult{}, invalidInput("no disk named %s in the project", strings.Join(missing, ", "))
	}
	return res, nil
}

// CreateSnapshotInput is the input of CrusoeCreateSnapshot.
type CreateSnapshotInput struct {
	ProjectID string `json:"projectId,omitempty"`
	DiskID    string `json:"diskId"`
	// DiskName is for messages only.
	DiskName string `json:"diskName,omitempty"`
}

// snapshotMarker is the heartbeat CrusoeCreateSnapshot records just before
// it sends the create. Snapshots have no name to look up, so the marker
// keeps the disk's snapshots as they were: a retry that finds one more knows
// it is the one its earlier attempt made. Its createSent key is the one
// createMarker reads.
type snapshotMarker struct {
	CreateSent string   `json:"createSent"`
	Before     []string `json:"before"`
}

// CrusoeCreateSnapshot starts snapshotting a disk. Crusoe has no idempotency
// key and snapshots no name, so a retry whose earlier attempt sent the create
// adopts the snapshot of the disk that appeared since (joining its operation)
// instead of making a second one. The result names the new snapshot when it
// is already listed, so that the waiter and the undo know it even if its
// operation is lost.
func (a *CrusoeActivities) CrusoeCreateSnapshot(ctx context.Context, in CreateSnapshotInput) (CreateResult, error) {
	if err := a.ready(); err != nil {
		return CreateResult{}, err
	}
	if in.DiskID == "" {
		return CreateResult{}, invalidInput("a disk ID is required to snapshot a disk")
	}
	what := "snapshot disk " + firstNonEmpty(in.DiskName, in.DiskID)
	key := KindSnapshot + " " + in.DiskID
	before, err := a.diskSnapshots(ctx, in.ProjectID, in.DiskID)
	if err != nil {
		return CreateResult{}, err
	}
	if m, ok := snapshotMarkerOf(ctx); ok && m.CreateSent == key {
		if mine := newSnapshots(before, m.Before); len(mine) > 0 {
			if len(mine) > 1 {
				activity.GetLogger(ctx).Warn("several new snapshots of the disk since the create was sent; adopting the oldest",
					"disk", in.DiskID, "snapshots", len(mine))
			}
			res, err := a.adopt(ctx, in.ProjectID, crusoe.FamilySnapshots, key, mine[0].ID)
			res.Existed = false // a snapshot found this way is always this run's own
			return res, err
		}
		// The earlier attempt's create never took, or its snapshot failed
		// and was removed: snapshot again.
	}
	ids := snapshotIDs(before)
	activity.RecordHeartbeat(ctx, snapshotMarker{CreateSent: key, Before: ids})
	op, err := a.Client.Snapshots.Create(ctx, in.ProjectID, in.DiskID)
	if crusoe.IsConflict(err) {
		// An operation on the disk (a resize, its create) is in progress:
		// nothing was made, and a later attempt can snapshot it.
		return CreateResult{}, retryWhenIdle(what, "disk "+firstNonEmpty(in.DiskName, in.DiskID), err)
	}
	if err != nil {
		return CreateResult{}, apiError(CloudCrusoe, what, err)
	}
	a.waits.began(op.OperationID)
	res := CreateResult{OperationID: op.OperationID}
	// Best effort: a failed list leaves the operation's result to name it.
	if after, err := a.diskSnapshots(ctx, in.ProjectID, in.DiskID); err == nil {
		if mine := newSnapshots(after, ids); len(mine) == 1 {
			res.ResourceID = mine[0].ID
		}
	}
	return res, nil
}

func snapshotMarkerOf(ctx context.Context) (snapshotMarker, bool) {
	var m snapshotMarker
	if !activity.HasHeartbeatDetails(ctx) || activity.GetHeartbeatDetails(ctx, &m) != nil {
		return m, false
	}
	return m, true
}

// diskSnapshots lists the snapshots made from a disk, oldest first.
func (a *CrusoeActivities) diskSnapshots(ctx context.Context, projectID, diskID string) ([]crusoe.Snapshot, error) {
	all, err := a.Client.Snapshots.List(ctx, projectID)
	if err != nil {
		return nil, apiError(CloudCrusoe, "list snapshots", err)
	}
	var out []crusoe.Snapshot
	for _, s := range all {
		if s.CreatedFrom == diskID {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(x, y crusoe.Snapshot) int { return strings.Compare(x.CreatedAt, y.CreatedAt) })
	return out, nil
}

// newSnapshots are the snapshots whose IDs are not among before.
func newSnapshots(now []crusoe.Snapshot, before []string) []crusoe.Snapshot {
	var out []crusoe.Snapshot
	for _, s := range now {
		if !slices.Contains(before, s.ID) {
			out = append(out, s)
		}
	}
	return out
}

func snapshotIDs(ss []crusoe.Snapshot) []string {
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	return ids
}

// DeleteSnapshotInput is the input of CrusoeDeleteSnapshot.
type DeleteSnapshotInput struct {
	ProjectID  string `json:"projectId,omitempty"`
	SnapshotID string `json:"snapshotId"`
	// DiskID, when set, is the disk the snapshot must have been made from:
	// a snapshot of another disk is left alone.
	DiskID string `json:"diskId,omitempty"`
}

// CrusoeDeleteSnapshot deletes a snapshot by ID; one already gone counts as
// deleted.
func (a *CrusoeActivities) CrusoeDeleteSnapshot(ctx context.Context, in DeleteSnapshotInput) (DeleteResult, error) {
	if err := a.ready(); err != nil {
		return DeleteResult{}, err
	}
	if in.SnapshotID == "" {
		return DeleteResult{}, invalidInput("a snapshot ID is required: snapshots have no name to find them by")
	}
	s, err := a.findSnapshot(ctx, in.ProjectID, in.SnapshotID)
	if err != nil || s == nil {
		return DeleteResult{ResourceID: in.SnapshotID, AlreadyGone: s == nil}, err
	}
	if in.DiskID != "" && s.CreatedFrom != "" && s.CreatedFrom != in.DiskID {
		return DeleteResult{}, invalidInput("snapshot %s was made from disk %s, not %s; it is left alone", s.ID, s.CreatedFrom, in.DiskID)
	}
	return a.deleted(ctx, in.ProjectID, crusoe.FamilySnapshots, s.ID, "snapshot "+s.ID)(a.Client.Snapshots.Delete(ctx, in.ProjectID, s.ID))
}

// findSnapshot looks a snapshot up by ID; nil when it does not exist.
func (a *CrusoeActivities) findSnapshot(ctx context.Context, projectID, id string) (*crusoe.Snapshot, error) {
	if id == "" {
		return nil, invalidInput("a snapshot ID is required: snapshots have no name to find them by")
	}
	s, err := a.Client.Snapshots.Get(ctx, projectID, id)
	if crusoe.IsNotFound(err) {
		return nil, nil
	}
	return s, apiError(CloudCrusoe, "get snapshot "+id, err)
}
