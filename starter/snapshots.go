package starter

import (
	"context"

	"github.com/cloudflow/cloudflow/workflows"
)

// SnapshotDisksWorkflowID is the workflow ID of a SnapshotDisks run: it
// names the VM, or the first disk.
func SnapshotDisksWorkflowID(in workflows.SnapshotDisksInput) string {
	target := in.VMName
	if target == "" && len(in.Disks) > 0 {
		target = in.Disks[0]
	}
	return "crusoe-snapshot-" + target
}

// SnapshotDisksPlan is the plan of a SnapshotDisks run. On a schedule, each
// run reads the ledger of the last successful one, so the snapshots it
// deletes are only those the schedule took.
func SnapshotDisksPlan(in workflows.SnapshotDisksInput) Plan {
	res := in.Disks
	if in.VMName != "" {
		res = []string{in.VMName}
	}
	return Plan{Workflow: workflows.SnapshotDisksWorkflowName, ID: SnapshotDisksWorkflowID(in), Input: in,
		Provider: workflows.ProviderCrusoe, Resources: res}
}

// SnapshotDisks starts a SnapshotDisks run by hand; its ledger is in.Ledger.
// A run for the same VM or first disk still in progress is refused with an
// *AlreadyRunningError.
func (s *Starter) SnapshotDisks(ctx context.Context, in workflows.SnapshotDisksInput) (Run, error) {
	return s.Start(ctx, SnapshotDisksPlan(in))
}
