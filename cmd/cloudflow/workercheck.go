package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// Without a worker polling its task queue a run waits: its first task, a
// stack's update, a query all wait for one, without a word. workerCheck
// says so on stderr within seconds, and again when a worker turns up.
type workerCheck struct {
	r      runner
	errOut io.Writer
	// after is how long a call that needs a worker may wait before the
	// check; every paces the checks while it still waits.
	after, every time.Duration

	mu     sync.Mutex
	queue  string
	warned bool
	found  bool
}

// Default pacing of the check.
const (
	workerCheckAfter = 2 * time.Second
	workerCheckEvery = 5 * time.Second
)

// setQueue points the check at the task queue of the run being followed.
func (c *workerCheck) setQueue(q string) {
	if q == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queue = q
}

// now asks once whether a worker polls the queue: it warns the first time
// none does, and notes when one turns up after a warning. A check that
// fails (the server does not answer, or does not let this client describe
// task queues) says nothing.
func (c *workerCheck) now(ctx context.Context) {
	c.mu.Lock()
	q := c.queue
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	polling, err := c.r.WorkerPolling(ctx, q)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !polling && !c.warned:
		c.warned = true
		fmt.Fprintf(c.errOut, "warning: no worker is polling task queue %q: the run waits until one does. %s\n", q, startWorkerHint(q))
	case polling && c.warned && !c.found:
		c.found = true
		fmt.Fprintf(c.errOut, "A worker is polling task queue %q now; the run goes on.\n", q)
	}
}

// startWorkerHint says how to start a worker for queue q.
func startWorkerHint(q string) string {
	flag := ""
	if q != workflows.TaskQueue {
		flag = " --task-queue " + q
	}
	return fmt.Sprintf("Start one with `cloudflow worker%s` (with the clouds' credentials), or `cloudflow dev%s` on the simulator.", flag, flag)
}

// during runs fn, which may wait for a worker, checking after c.after and
// then every c.every until fn returns.
func (c *workerCheck) during(ctx context.Context, fn func() error) error {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		wait := c.after
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			c.now(ctx)
			wait = c.every
		}
	}()
	err := fn()
	close(done)
	wg.Wait()
	return err
}

// checkedRunner is a runner whose calls that need a worker run under a
// workerCheck: a start is checked at once, a wait while it waits.
type checkedRunner struct {
	runner
	check *workerCheck
}

func newCheckedRunner(r runner, queue string, errOut io.Writer, after, every time.Duration) *checkedRunner {
	if after <= 0 {
		after = workerCheckAfter
	}
	if every <= 0 {
		every = workerCheckEvery
	}
	return &checkedRunner{runner: r, check: &workerCheck{r: r, errOut: errOut, after: after, every: every, queue: queue}}
}

// followQueue points r's worker check, if it has one, at the task queue of
// the run it follows (a run started with another --task-queue).
func followQueue(r runner, queue string) {
	if c, ok := r.(*checkedRunner); ok {
		c.check.setQueue(queue)
	}
}

// started checks at once after a start.
func (r *checkedRunner) started(ctx context.Context, run starter.Run, err error) (starter.Run, error) {
	if err == nil {
		r.check.now(ctx)
	}
	return run, err
}

func (r *checkedRunner) BulkCreateVMs(ctx context.Context, in workflows.BulkCreateVMsInput) (starter.Run, error) {
	run, err := r.runner.BulkCreateVMs(ctx, in)
	return r.started(ctx, run, err)
}

func (r *checkedRunner) SnapshotDisks(ctx context.Context, in workflows.SnapshotDisksInput) (starter.Run, error) {
	run, err := r.runner.SnapshotDisks(ctx, in)
	return r.started(ctx, run, err)
}

func (r *checkedRunner) StartInstances(ctx context.Context, in workflows.FleetInput) (starter.Run, error) {
	run, err := r.runner.StartInstances(ctx, in)
	return r.started(ctx, run, err)
}

func (r *checkedRunner) StopInstances(ctx context.Context, in workflows.FleetInput) (starter.Run, error) {
	run, err := r.runner.StopInstances(ctx, in)
	return r.started(ctx, run, err)
}

func (r *checkedRunner) Watch(ctx context.Context, workflowID, runID string, every time.Duration, fn func(workflows.Progress)) error {
	return r.check.during(ctx, func() error { return r.runner.Watch(ctx, workflowID, runID, every, fn) })
}

func (r *checkedRunner) WatchFleet(ctx context.Context, workflowID, runID string, every time.Duration, fn func(workflows.FleetProgress)) error {
	return r.check.during(ctx, func() error { return r.runner.WatchFleet(ctx, workflowID, runID, every, fn) })
}

func (r *checkedRunner) Result(ctx context.Context, workflowID, runID string, valuePtr any) error {
	return r.check.during(ctx, func() error { return r.runner.Result(ctx, workflowID, runID, valuePtr) })
}

func (r *checkedRunner) Progress(ctx context.Context, workflowID, runID string) (p workflows.Progress, err error) {
	err = r.check.during(ctx, func() error { p, err = r.runner.Progress(ctx, workflowID, runID); return err })
	return p, err
}

func (r *checkedRunner) FleetProgress(ctx context.Context, workflowID, runID string) (p workflows.FleetProgress, err error) {
	err = r.check.during(ctx, func() error { p, err = r.runner.FleetProgress(ctx, workflowID, runID); return err })
	return p, err
}

func (r *checkedRunner) StackState(ctx context.Context, ref starter.StackRef) (st workflows.StackState, err error) {
	err = r.check.during(ctx, func() error { st, err = r.runner.StackState(ctx, ref); return err })
	return st, err
}

func (r *checkedRunner) SetStackSettings(ctx context.Context, ref starter.StackRef, s workflows.StackSettings) (st workflows.StackState, err error) {
	err = r.check.during(ctx, func() error { st, err = r.runner.SetStackSettings(ctx, ref, s); return err })
	return st, err
}

// op sends a stack operation, which waits for a worker to accept it, and
// hands it out checked while its result is awaited.
func (r *checkedRunner) op(ctx context.Context, send func() (stackOp, error)) (stackOp, error) {
	var op stackOp
	err := r.check.during(ctx, func() (err error) { op, err = send(); return err })
	if err != nil {
		return nil, err
	}
	return checkedOp{op, r.check}, nil
}

func (r *checkedRunner) PlanStack(ctx context.Context, req workflows.StackPlanRequest) (stackOp, error) {
	return r.op(ctx, func() (stackOp, error) { return r.runner.PlanStack(ctx, req) })
}

func (r *checkedRunner) ApplyStack(ctx context.Context, req workflows.StackApplyRequest) (stackOp, error) {
	return r.op(ctx, func() (stackOp, error) { return r.runner.ApplyStack(ctx, req) })
}

func (r *checkedRunner) ApproveStack(ctx context.Context, ref starter.StackRef, req workflows.StackApproveRequest) (stackOp, error) {
	return r.op(ctx, func() (stackOp, error) { return r.runner.ApproveStack(ctx, ref, req) })
}

func (r *checkedRunner) DiscardStackPlan(ctx context.Context, ref starter.StackRef, req workflows.StackApproveRequest) (stackOp, error) {
	return r.op(ctx, func() (stackOp, error) { return r.runner.DiscardStackPlan(ctx, ref, req) })
}

func (r *checkedRunner) DestroyStack(ctx context.Context, ref starter.StackRef, req workflows.StackDestroyRequest) (stackOp, error) {
	return r.op(ctx, func() (stackOp, error) { return r.runner.DestroyStack(ctx, ref, req) })
}

func (r *checkedRunner) RefreshStack(ctx context.Context, ref starter.StackRef, req workflows.StackRefreshRequest) (stackOp, error) {
	return r.op(ctx, func() (stackOp, error) { return r.runner.RefreshStack(ctx, ref, req) })
}

// checkedOp is a stack operation whose wait for its result is checked.
type checkedOp struct {
	stackOp
	check *workerCheck
}

func (o checkedOp) Get(ctx context.Context) (res workflows.StackOperationResult, err error) {
	err = o.check.during(ctx, func() error { res, err = o.stackOp.Get(ctx); return err })
	return res, err
}
