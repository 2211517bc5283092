package workflows_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	cfworker "github.com/cloudflow/cloudflow/worker"
)

// Histories recorded from real runs on the dev server (the e2e tests write
// them when CLOUDFLOW_RECORD_HISTORIES is set) must replay without a
// nondeterminism error: a change that breaks this needs workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 3 {
		t.Fatalf("want recorded histories of both workflows (success and compensation) in testdata, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			// The worker's own registration: the names in the histories are the contract.
			cfworker.RegisterWorkflows(r)
			if err := replayFile(r, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

// replayFile replays a history under the workflow ID it ran with (the
// started event names it): a workflow that derives its children's IDs from
// its own, as a Stack does, replays only under its own.
func replayFile(r worker.WorkflowReplayer, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		return err
	}
	var exec workflow.Execution
	if evs := hist.GetEvents(); len(evs) > 0 {
		exec.ID = evs[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowId()
	}
	if exec.ID == "" {
		return r.ReplayWorkflowHistory(nil, hist)
	}
	return r.ReplayWorkflowHistoryWithOptions(nil, hist, worker.ReplayWorkflowHistoryOptions{OriginalExecution: exec})
}
