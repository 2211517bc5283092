package starter

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

// PollerFreshness is how recently a worker must have polled a task queue to
// count as polling it. An idle worker polls again as each long poll ends
// (about a minute), and the server remembers pollers for minutes after
// they stop, so a poller seen longer ago than this is taken to be gone.
const PollerFreshness = 2 * time.Minute

// WorkerPolling reports whether a worker polls taskQueue for workflow tasks
// now (within PollerFreshness): without one, a run on it waits, and so does
// any update or query of it. An empty taskQueue is the starter's own.
func (s *Starter) WorkerPolling(ctx context.Context, taskQueue string) (bool, error) {
	if taskQueue == "" {
		taskQueue = s.taskQueue
	}
	resp, err := s.c.DescribeTaskQueue(ctx, taskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return false, fmt.Errorf("describe task queue %s: %w", taskQueue, err)
	}
	for _, p := range resp.GetPollers() {
		if t := p.GetLastAccessTime(); t != nil && time.Since(t.AsTime()) < PollerFreshness {
			return true, nil
		}
	}
	return false, nil
}
