package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
)

// SnapshotDisksWorkflowName is the contract name of SnapshotDisks.
const SnapshotDisksWorkflowName = "SnapshotDisks"

// ErrTypeSnapshotDisksFailed is the error type of a failed SnapshotDisks
// run; its details hold the SnapshotDisksResult.
const ErrTypeSnapshotDisksFailed = "SnapshotDisksFailed"

// MinSnapshotRetention is the shortest retention SnapshotDisks accepts.
const MinSnapshotRetention = time.Minute

// MaxSnapshotDisks is the most disks one SnapshotDisks run snapshots.
const MaxSnapshotDisks = 64

// Step kinds of SnapshotDisks.
const (
	// KindSnapshot is a snapshot this run takes, under its disk's name.
	KindSnapshot = activities.KindSnapshot
	// KindExpiredSnapshot is a ledger snapshot older than the retention,
	// which the run deletes; its resource is "<disk>@<taken at>".
	KindExpiredSnapshot = "expired-snapshot"
	// KindDiskLookup resolves the disks to snapshot: the VM's name, or the
	// disk names joined by commas.
	KindDiskLookup = "disk-lookup"
)

// expiryWindow bounds the expired snapshots deleted at once.
const expiryWindow = 16

// SnapshotDisksInput names the Crusoe disks to snapshot, by name (Disks) or
// as every disk attached to a VM (VMName), and how long the snapshots this
// run takes are kept (Retention).
//
// Crusoe snapshots carry no name or labels, so which snapshots belong to a
// schedule cannot be read from the cloud: each run's result carries a
// ledger of the snapshots it keeps, and the next run of the same Temporal
// Schedule reads it (workflow.GetLastCompletionResult). Only snapshots in
// the ledger are ever deleted.
type SnapshotDisksInput struct {
	// ProjectID overrides the worker's default Crusoe project when set.
	ProjectID string   `json:"projectId,omitempty"`
	Disks     []string `json:"disks,omitempty"`
	VMName    string   `json:"vmName,omitempty"`
	// Retention is how old a ledger snapshot must be (by its TakenAt) to be
	// deleted; at least MinSnapshotRetention.
	Retention time.Duration `json:"retention"`
	// Ledger is the ledger of a run not started by a schedule (the Ledger of
	// an earlier run's result). A scheduled run uses its last successful
	// run's ledger instead, when there is one.
	Ledger   []SnapshotRecord `json:"ledger,omitempty"`
	Timeouts Timeouts         `json:"timeouts,omitempty"`
}

// SnapshotRecord is one snapshot in a ledger.
type SnapshotRecord struct {
	SnapshotID string `json:"snapshotId"`
	DiskName   string `json:"diskName"`
	DiskID     string `json:"diskId"`
	// TakenAt is workflow time: when the run asked for the snapshot.
	TakenAt time.Time `json:"takenAt"`
}

// SnapshotFailure is a ledger snapshot the run could not delete, with why.
// It stays in the ledger, so the next run tries again.
type SnapshotFailure struct {
	SnapshotRecord
	Error string `json:"error"`
}

// SnapshotDisksResult is what a SnapshotDisks run took and deleted, and the
// ledger the next run starts from. On failure it is the error's details.
type SnapshotDisksResult struct {
	// Created lists the snapshots the run took. When the run failed, they
	// were deleted again (see Undone and NotUndone).
	Created []SnapshotRecord `json:"created,omitempty"`
	// Deleted lists the ledger snapshots past the retention that are gone,
	// including those that were gone already.
	Deleted    []SnapshotRecord  `json:"deleted,omitempty"`
	NotDeleted []SnapshotFailure `json:"notDeleted,omitempty"`
	// Ledger is every snapshot this schedule still keeps.
	Ledger []SnapshotRecord `json:"ledger"`
	Steps  []Step           `json:"steps"`
	// FailedStep, Undone and NotUndone report a failed run: the step that
	// failed, the snapshots it took and deleted again, and any it could
	// not delete (those are also in Ledger, to be deleted in time).
	FailedStep string        `json:"failedStep,omitempty"`
	Undone     []string      `json:"undone,omitempty"`
	NotUndone  []UndoFailure `json:"notUndone,omitempty"`
}

// FailedStepName lets callers that only hold the result learn which step failed.
func (r SnapshotDisksResult) FailedStepName() string { return r.FailedStep }

// Validate checks the input; the error names the field and the fix.
func (in SnapshotDisksInput) Validate() error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	switch {
	case len(in.Disks) == 0 && in.VMName == "":
		bad("disks or vmName is required: the disks to snapshot, or the VM whose disks to snapshot")
	case len(in.Disks) > 0 && in.VMName != "":
		bad("give disks or vmName, not both")
	case len(in.Disks) > MaxSnapshotDisks:
		bad("disks lists %d disks; at most %d are snapshotted in one run", len(in.Disks), MaxSnapshotDisks)
	}
	seen := map[string]bool{}
	for i, d := range in.Disks {
		switch {
		case strings.TrimSpace(d) == "":
			bad("disks[%d] is empty", i)
		case seen[d]:
			bad("disks lists %q twice", d)
		}
		seen[d] = true
	}
	if in.Retention < MinSnapshotRetention {
		bad("retention must be at least %s, not %s", MinSnapshotRetention, in.Retention)
	}
	for i, r := range in.Ledger {
		if r.SnapshotID == "" || r.TakenAt.IsZero() {
			bad("ledger[%d] needs a snapshotId and a takenAt", i)
		}
	}
	if len(problems) > 0 {
		return temporal.NewNonRetryableApplicationError("invalid input: "+strings.Join(problems, "; "), ErrTypeSnapshotDisksFailed, nil)
	}
	return nil
}

// SnapshotDisks snapshots the disks (in parallel), then deletes the ledger
// snapshots older than the retention; snapshots not in the ledger are never
// touched. A delete that fails keeps its snapshot in the ledger and is
// reported, and the run still succeeds, so the ledger carries on. If a
// snapshot cannot be taken, or the run is cancelled, the snapshots it took
// are deleted again (a failed run's result is not the next run's ledger, so
// they would otherwise be nobody's) and no older snapshot is deleted.
func SnapshotDisks(ctx workflow.Context, in SnapshotDisksInput) (SnapshotDisksResult, error) {
	t, err := newTracker(ctx, SnapshotDisksWorkflowName)
	if err != nil {
		return SnapshotDisksResult{}, err
	}
	if err := in.Validate(); err != nil {
		return SnapshotDisksResult{}, err
	}
	ledger := in.Ledger
	if workflow.HasLastCompletionResult(ctx) {
		var last SnapshotDisksResult
		if err := workflow.GetLastCompletionResult(ctx, &last); err != nil {
			return SnapshotDisksResult{}, temporal.NewNonRetryableApplicationError(
				"the last run's result, which holds the ledger, cannot be read", ErrTypeSnapshotDisksFailed, err)
		}
		ledger = last.Ledger
	}
	c := &crusoeSteps{projectID: in.ProjectID, timeouts: in.Timeouts, t: t}
	s := &snapshotRun{sagaRun: newSagaRun(t, in.Timeouts), c: c, in: in, ledger: dedupeLedger(ledger),
		taken: map[string]SnapshotRecord{}, opFailed: map[string]bool{}}

	// Declare the plan: the lookup, then what expires (snapshot steps follow
	// once the disks are known).
	now := workflow.Now(ctx)
	target := in.VMName
	if target == "" {
		target = strings.Join(in.Disks, ",")
	}
	lookupStep := t.add(KindDiskLookup, target)
	for _, r := range s.ledger {
		if now.Sub(r.TakenAt) > in.Retention {
			s.expired = append(s.expired, expiry{step: t.add(KindExpiredSnapshot, expiryName(t, r)), rec: r})
		}
	}

	runCtx, cancelRun := workflow.WithCancel(ctx)
	s.cancelRun = cancelRun
	if disks, ok := s.lookup(runCtx, lookupStep); ok {
		s.snapshotAll(runCtx, disks)
	}
	if s.failedStep == "" && ctx.Err() == nil {
		s.deleteExpired(ctx)
	}
	if s.failedStep == "" && ctx.Err() == nil {
		t.phase(PhaseCompleted)
		return s.result(true), nil
	}

	why := "kept: the run was cancelled"
	if s.failedStep != "" {
		why = "kept: a run that could not take its snapshots deletes none"
	}
	s.keepExpired(why)
	comp := s.compensate(ctx)
	res := s.result(false)
	res.FailedStep, res.Undone, res.NotUndone = comp.failedStep, comp.undone, comp.notUndone
	// A snapshot that could not be deleted again stays in the ledger, so that
	// a run given this ledger deletes it in time.
	for _, u := range comp.notUndone {
		if r, ok := s.taken[u.Step]; ok {
			res.Ledger = append(res.Ledger, r)
		}
	}
	return res, s.runError(ctx, comp, ErrTypeSnapshotDisksFailed, res)
}

// snapshotRun is one SnapshotDisks run's state, shared by its coroutines.
type snapshotRun struct {
	sagaRun
	c  *crusoeSteps
	in SnapshotDisksInput
	// ledger is the ledger the run started from; expired the part of it
	// past the retention.
	ledger  []SnapshotRecord
	expired []expiry
	// steps are the snapshot steps, in disk order; taken what each took.
	steps      []string
	taken      map[string]SnapshotRecord
	opFailed   map[string]bool
	deleted    []SnapshotRecord
	notDeleted []SnapshotFailure
}

// expiry is a ledger snapshot past the retention, under its step.
type expiry struct {
	step string
	rec  SnapshotRecord
}

// expiryName is the resource name of an expired snapshot's step, unique in the run.
func expiryName(t *tracker, r SnapshotRecord) string {
	name := fmt.Sprintf("%s@%s", firstNonEmpty(r.DiskName, r.DiskID), r.TakenAt.UTC().Format(time.RFC3339))
	if _, taken := t.index[KindExpiredSnapshot+"/"+name]; taken {
		name += "#" + r.SnapshotID
	}
	return name
}

// dedupeLedger drops repeated snapshot IDs, keeping the first.
func dedupeLedger(ledger []SnapshotRecord) []SnapshotRecord {
	seen := map[string]bool{}
	var out []SnapshotRecord
	for _, r := range ledger {
		if !seen[r.SnapshotID] {
			seen[r.SnapshotID] = true
			out = append(out, r)
		}
	}
	return out
}

// lookup resolves the disks to snapshot to their IDs.
func (s *snapshotRun) lookup(ctx workflow.Context, step string) ([]activities.FoundDisk, bool) {
	s.t.set(step, StepRunning)
	var found activities.FindDisksResult
	what := "disks " + strings.Join(s.in.Disks, ", ")
	if s.in.VMName != "" {
		what = "the disks of vm " + s.in.VMName
	}
	err := workflow.ExecuteActivity(withSummary(callOptions(ctx, s.in.Timeouts), "look up %s", what),
		s.c.a.CrusoeFindDisks, activities.FindDisksInput{
			ProjectID: s.in.ProjectID, Names: s.in.Disks, VMName: s.in.VMName,
		}).Get(ctx, &found)
	if err != nil {
		if s.t.fail(ctx, step, err) == StepFailed {
			s.recordFailure(step, err)
		}
		return nil, false
	}
	if len(found.Disks) > MaxSnapshotDisks {
		err := temporal.NewNonRetryableApplicationError(fmt.Sprintf("vm %s has %d disks; at most %d are snapshotted in one run",
			s.in.VMName, len(found.Disks), MaxSnapshotDisks), activities.ErrTypeInvalidInput, nil)
		s.t.fail(ctx, step, err)
		s.recordFailure(step, err)
		return nil, false
	}
	s.t.update(step, func(st *Step) { st.ID, st.State = found.VMID, StepDone })
	return found.Disks, true
}

// snapshotAll snapshots every disk in parallel. Each step registers its undo
// (delete the snapshot it took) before it runs.
func (s *snapshotRun) snapshotAll(ctx workflow.Context, disks []activities.FoundDisk) {
	s.steps = make([]string, len(disks))
	for i, d := range disks {
		s.steps[i] = s.t.add(KindSnapshot, d.Name)
	}
	wg := workflow.NewWaitGroup(ctx)
	for i, d := range disks {
		step := s.steps[i]
		s.saga.add(step, func(ctx workflow.Context) error {
			return s.undo(ctx, step, func(ctx workflow.Context, id string) (bool, error) {
				if id == "" {
					return s.unknownSnapshot(step, d)
				}
				return s.removeSnapshot(ctx, step, id, d.ID)
			})
		})
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			takenAt := workflow.Now(ctx)
			r, err := s.c.create(ctx, step, KindSnapshot, d.Name, s.c.a.CrusoeCreateSnapshot, activities.CreateSnapshotInput{
				ProjectID: s.in.ProjectID, DiskID: d.ID, DiskName: d.Name,
			})
			if err != nil {
				if isErrType(err, activities.ErrTypeOperationFailed) {
					s.opFailed[step] = true
				}
				if !temporal.IsCanceledError(err) {
					s.recordFailure(step, err)
				}
				return
			}
			s.made[step] = r
			s.taken[step] = SnapshotRecord{SnapshotID: r.ID, DiskName: d.Name, DiskID: d.ID, TakenAt: takenAt}
		})
	}
	wg.Wait(ctx)
}

// unknownSnapshot is the undo of a snapshot step that never learned its
// snapshot's ID. Without an operation, or with a failed one, nothing was
// made. Otherwise a snapshot may exist that cannot be told from others of the
// disk (snapshots have no name), so it is reported rather than guessed at.
func (s *snapshotRun) unknownSnapshot(step string, d activities.FoundDisk) (bool, error) {
	st := s.t.step(step)
	if st.OperationID == "" || s.opFailed[step] {
		return true, nil
	}
	return false, fmt.Errorf("the snapshot's ID is unknown: a snapshot of disk %s (%s) may exist from operation %s; delete it by hand",
		d.Name, d.ID, st.OperationID)
}

// deleteExpired deletes the ledger snapshots past the retention, a window at
// a time. A snapshot already gone counts as deleted; one that could not be
// deleted stays in the ledger and is reported.
func (s *snapshotRun) deleteExpired(ctx workflow.Context) {
	windowed(ctx, len(s.expired), expiryWindow, func(ctx workflow.Context, i int) {
		e := s.expired[i]
		s.t.update(e.step, func(st *Step) { st.ID, st.State = e.rec.SnapshotID, StepRunning })
		if _, err := s.removeSnapshot(ctx, e.step, e.rec.SnapshotID, e.rec.DiskID); err != nil {
			s.t.fail(ctx, e.step, err)
			s.notDeleted = append(s.notDeleted, SnapshotFailure{SnapshotRecord: e.rec, Error: errorMessage(err)})
			return
		}
		s.t.set(e.step, StepDone)
		s.deleted = append(s.deleted, e.rec)
	})
}

// keepExpired marks the expired snapshots not tried as kept, with why.
func (s *snapshotRun) keepExpired(why string) {
	for _, e := range s.expired {
		if s.t.step(e.step).State == StepPending {
			s.t.update(e.step, func(st *Step) { st.ID, st.State, st.Error = e.rec.SnapshotID, StepKept, why })
		}
	}
}

// removeSnapshot deletes a snapshot by ID and waits until it is gone; it
// says whether it was gone already. A snapshot has no name, so unlike
// crusoeSteps.remove there is no lookup by name to fall back on.
func (s *snapshotRun) removeSnapshot(ctx workflow.Context, step, id, diskID string) (bool, error) {
	c := s.c
	in := activities.DeleteSnapshotInput{ProjectID: c.projectID, SnapshotID: id, DiskID: diskID}
	_, gone, err := c.removeWith(ctx, step, KindSnapshot, "", id, c.a.CrusoeDeleteSnapshot, in)
	return gone, err
}

// result is the run's outcome so far. Ledger is the ledger the run started
// from, without what it deleted, plus what it took when it succeeded.
func (s *snapshotRun) result(succeeded bool) SnapshotDisksResult {
	res := SnapshotDisksResult{Deleted: s.deleted, NotDeleted: s.notDeleted, Ledger: []SnapshotRecord{}}
	for _, step := range s.steps {
		if r, ok := s.taken[step]; ok {
			res.Created = append(res.Created, r)
		}
	}
	gone := map[string]bool{}
	for _, r := range s.deleted {
		gone[r.SnapshotID] = true
	}
	for _, r := range s.ledger {
		if !gone[r.SnapshotID] {
			res.Ledger = append(res.Ledger, r)
		}
	}
	if succeeded {
		res.Ledger = append(res.Ledger, res.Created...)
	}
	res.Steps = s.t.snapshot().Steps
	return res
}
