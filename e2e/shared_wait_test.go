package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// A worker whose waits share their polls (one list of the disks' operations
// a tick for eight runs) is killed mid-wait: every wait resumes on the next
// worker, alone, and every run completes, each resource made once.
func TestWorkerKilledWhileWaitsAreSharedResumesEveryWait(t *testing.T) {
	const runs = 8
	tq := fresh(t)
	c := dial(t)
	ctx := context.Background()
	require.NoError(t, admin.SetOperationLatency(ctx, "crusoe", 3*time.Second))
	first := startWorkerProcess(t, c, tq)
	s := newStarter(t, c, tq)
	started := make([]starter.Run, runs)
	for i := range started {
		run, err := s.ProvisionVM(ctx, input(fmt.Sprintf("shared-%d", i)))
		require.NoError(t, err)
		started[i] = run
	}
	waitFor(t, 60*time.Second, "every disk to be waited on in a shared list", func() bool {
		return len(requests(t, "POST", "/storage/disks")) == 2*runs && len(requests(t, "GET", "/storage/disks/operations")) > 0
	})
	kill(t, first)
	require.Empty(t, perOperation(t), "before the kill, every poll was a shared list")
	startWorkerProcess(t, c, tq)

	retried := 0
	for _, run := range started {
		var res workflows.ProvisionVMResult
		rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		require.NoError(t, s.Result(rctx, run.WorkflowID, run.RunID, &res), "run %s", run.WorkflowID)
		cancel()
		iter := c.GetWorkflowHistory(ctx, run.WorkflowID, run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			require.NoError(t, err)
			if ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED && ev.GetActivityTaskStartedEventAttributes().GetAttempt() > 1 {
				retried++
			}
		}
	}
	require.Positive(t, retried, "the kill interrupted no wait")
	for kind, want := range map[string]int{"disk-creates": 2 * runs, "vm-creates": runs, "firewall-rule-creates": runs} {
		made := counters(t, "crusoe", kind)
		require.Len(t, made, want, kind)
		for name, n := range made {
			require.Equal(t, 1, n, "%s %s made %d times", kind, name, n)
		}
	}
	require.Len(t, inventoryVMs(t), runs)
}

// perOperation is the reads of single Crusoe operations the simulator
// served, as opposed to lists of a family's operations.
func perOperation(t *testing.T) []string {
	var out []string
	for _, r := range requests(t, "GET", "") {
		if strings.Contains(r.Path, "/operations/") {
			out = append(out, r.Path)
		}
	}
	return out
}
