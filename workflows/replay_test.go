package workflows_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

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
			file, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			hist, err := client.HistoryFromJSON(file, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatalf("read %s: %v", f, err)
			}
			// Replay under the recorded workflow ID: a stack names its
			// children after its own ID, and the replayer's default ID
			// would name them otherwise.
			var opts worker.ReplayWorkflowHistoryOptions
			if events := hist.GetEvents(); len(events) > 0 {
				opts.OriginalExecution.ID = events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowId()
			}
			if err := r.ReplayWorkflowHistoryWithOptions(nil, hist, opts); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
