package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

const (
	testUI       = "http://localhost:8233"
	snapshotLink = testUI + "/namespaces/default/workflows/crusoe-snapshot-web/r1/history"
)

func TestUILinkRoutes(t *testing.T) {
	l := uiLinks{base: "https://temporal.example.com/ui", namespace: "prod ns"}
	assert.Equal(t, "https://temporal.example.com/ui/namespaces/prod%20ns/workflows/a%2Fb/r-1/history", l.run("a/b", "r-1"))
	assert.Equal(t, "https://temporal.example.com/ui/namespaces/prod%20ns/workflows/stack-crusoe-web-apply-2", l.run("stack-crusoe-web-apply-2", ""),
		"without a run ID, the UI opens the workflow's latest run")
	assert.Empty(t, uiLinks{}.run("w", "r"), "no UI known: no link")
}

// A run started with a UI known ($TEMPORAL_UI_URL, as `cloudflow dev`
// exports it) is printed with its link; as JSON too.
func TestStartedRunPrintsItsUILink(t *testing.T) {
	t.Setenv(envUIURL, testUI+"/")
	c := newCLI(t)
	c.fake.run = snapshotRun
	require.Equal(t, exitOK, c.run("disks", "snapshot", "--vm", "web", "--retention", "7d"), c.errOut.String())
	assert.Contains(t, c.out.String(), "  run:      r1\n  ui:       "+snapshotLink+"\n")

	c = newCLI(t)
	c.fake.run = snapshotRun
	require.Equal(t, exitOK, c.run("disks", "snapshot", "--vm", "web", "--retention", "7d", "--json"), c.errOut.String())
	var started startedRun
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &started))
	assert.Equal(t, snapshotRun, started.Run)
	assert.Equal(t, snapshotLink, started.UI)
}

// --ui-url wins over the environment, and links name the namespace asked
// for when the connection does not say.
func TestUIURLFlagAndNamespace(t *testing.T) {
	t.Setenv(envUIURL, "http://elsewhere:1")
	c := newCLI(t)
	c.fake.run = snapshotRun
	require.Equal(t, exitOK, c.run("--ui-url", "https://ui.example.com", "--namespace", "team-a",
		"disks", "snapshot", "--vm", "web", "--retention", "7d"), c.errOut.String())
	assert.Contains(t, c.out.String(), "  ui:       https://ui.example.com/namespaces/team-a/workflows/crusoe-snapshot-web/r1/history\n")
	assert.NotContains(t, c.out.String(), "elsewhere")
}

func TestNoUINoLink(t *testing.T) {
	t.Setenv(envUIURL, "")
	c := newCLI(t)
	c.fake.run = snapshotRun
	require.Equal(t, exitOK, c.run("disks", "snapshot", "--vm", "web", "--retention", "7d"), c.errOut.String())
	assert.NotContains(t, c.out.String(), "ui:")
	assert.NotContains(t, c.out.String(), "/namespaces/")
}

func TestBadUIURLIsBadUsage(t *testing.T) {
	for _, bad := range []string{"localhost:8233", "ftp://ui", "http://", "http://ui?x=1"} {
		t.Setenv(envUIURL, "")
		c := newCLI(t)
		assert.Equal(t, exitUsage, c.run("--ui-url", bad, "runs", "show", "w"), bad)
		assert.Contains(t, c.errOut.String(), "is not the Temporal UI's address", bad)
		assert.Empty(t, c.dials, "nothing is dialed")
	}
	t.Setenv(envUIURL, "not a url")
	c := newCLI(t)
	assert.Equal(t, exitUsage, c.run("runs", "show", "w"))
	assert.Contains(t, c.errOut.String(), "TEMPORAL_UI_URL")
}

// runs show and runs watch print the run's link.
func TestRunsShowAndWatchPrintTheUILink(t *testing.T) {
	t.Setenv(envUIURL, testUI)
	link := testUI + "/namespaces/default/workflows/" + provisionRun.WorkflowID + "/run-1/history"
	info := starter.RunInfo{WorkflowID: provisionRun.WorkflowID, RunID: "run-1", Type: workflows.ProvisionVMWorkflowName, Status: "Running"}

	c := newCLI(t)
	c.fake.info = info
	c.fake.progress = provisionProgress()
	require.Equal(t, exitOK, c.run("runs", "show", provisionRun.WorkflowID))
	assert.Regexp(t, `UI:\s+`+link, c.out.String())

	c = newCLI(t)
	c.fake.info = info
	c.fake.progress = provisionProgress()
	require.Equal(t, exitOK, c.run("runs", "show", provisionRun.WorkflowID, "--json"))
	var d runDetails
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &d))
	assert.Equal(t, link, d.UI)

	c = newCLI(t)
	c.fake.info = info
	c.fake.progress = provisionProgress()
	c.fake.result, c.fake.resultErr = failedProvision()
	assert.Equal(t, exitFailed, c.run("runs", "watch", provisionRun.WorkflowID))
	assert.Contains(t, c.out.String(), "Temporal UI: "+link+"\n")
}

// An apply that goes on without --wait names its run's link.
func TestApplyWithoutWaitPrintsTheRunsUILink(t *testing.T) {
	t.Setenv(envUIURL, testUI)
	c := newCLI(t)
	c.fake.op(workflows.StackUpdateApply, workflows.StackOperationResult{}, nil).block = true
	c.fake.stacks.states = []workflows.StackState{runningState()}
	require.Equal(t, exitOK, c.run("apply", "-f", exampleSpec, "--auto-approve", "--poll-interval", "10ms"), c.errOut.String())
	assert.Contains(t, c.out.String(), "  in the UI:      "+testUI+"/namespaces/default/workflows/"+demoRun+"\n")
}

// The real connection's namespace (as envconfig resolved it) names the
// links.
func TestUILinksUseTheConnectionsNamespace(t *testing.T) {
	l := uiLinksFor(testUI, namespaced{runner: &fakeRunner{}, ns: "from-profile"}, "")
	assert.Equal(t, "from-profile", l.namespace)
	assert.Equal(t, "asked", uiLinksFor(testUI, &fakeRunner{}, "asked").namespace)
	assert.Equal(t, "default", uiLinksFor(testUI, &fakeRunner{}, "").namespace)
	assert.Equal(t, uiLinks{}, uiLinksFor("", &fakeRunner{}, "asked"))
}

type namespaced struct {
	runner
	ns string
}

func (n namespaced) Namespace() string { return n.ns }
