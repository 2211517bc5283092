package workflows_test

import (
	"path/filepath"
	"testing"

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
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
