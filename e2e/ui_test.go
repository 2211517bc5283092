package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// What the Temporal UI shows of cloudflow's runs, read as the UI reads it:
// the static summary and details from DescribeWorkflowExecution, each
// activity's summary from the history (ActivityTaskScheduled events, and
// the markers of local activities), and the current details from the
// SDK's metadata query. All payloads decode with the default converter.

// metadataQuery is the query the Temporal UI asks a run for its current
// details (the SDK answers it).
const metadataQuery = "__temporal_workflow_metadata"

func decodeString(t *testing.T, p *commonpb.Payload) string {
	t.Helper()
	if p == nil {
		return ""
	}
	var s string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(p, &s))
	return s
}

// staticMetadata is a run's static summary and details.
func staticMetadata(t *testing.T, c client.Client, workflowID, runID string) (summary, details string) {
	t.Helper()
	d, err := c.DescribeWorkflowExecution(context.Background(), workflowID, runID)
	require.NoError(t, err)
	md := d.GetExecutionConfig().GetUserMetadata()
	return decodeString(t, md.GetSummary()), decodeString(t, md.GetDetails())
}

// activitySummaries are the summaries of the activities and local
// activities a run scheduled, in order. Every one must have one.
func activitySummaries(t *testing.T, c client.Client, workflowID, runID string) []string {
	t.Helper()
	var out []string
	it := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			name := e.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
			s := decodeString(t, e.GetUserMetadata().GetSummary())
			require.NotEmpty(t, s, "activity %s (event %d) of %s has no summary", name, e.GetEventId(), workflowID)
			out = append(out, s)
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if s := decodeString(t, e.GetUserMetadata().GetSummary()); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// currentDetails asks a run for its current details, as the UI does.
func currentDetails(t *testing.T, c client.Client, workflowID, runID string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := c.QueryWorkflow(ctx, workflowID, runID, metadataQuery)
	require.NoError(t, err)
	var md sdkpb.WorkflowMetadata
	require.NoError(t, v.Get(&md))
	return md.GetCurrentDetails()
}

// requireHasPrefix fails unless one of list starts with prefix.
func requireHasPrefix(t *testing.T, list []string, prefix string) {
	t.Helper()
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return
		}
	}
	require.Failf(t, "no summary starts as expected", "want one starting %q in %q", prefix, list)
}

// A VM run started from a plan, a stack's apply with its children, and a
// scheduled run all say in the Temporal UI what they act on, from which
// spec; each activity what it does; a running run how far it got.
func TestRunsAreReadableInTheTemporalUI(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	s := newStarter(t, c, tq)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// A VM run: static summary and details, current details while it
	// waits on the VM's operation, then every activity's summary.
	run, err := s.Start(ctx, starter.ProvisionVMPlan(input("ui-vm")).WithSource("specs/ui-vm.yaml"))
	require.NoError(t, err)
	waitForVMOperation(t, s, run)
	require.Regexp(t, `^\*\*running\*\* · 2 of 4 steps done\n- running: vm/ui-vm \(operation \S+…\)`, currentDetails(t, c, run.WorkflowID, run.RunID))
	var res workflows.ProvisionVMResult
	require.NoError(t, s.Result(ctx, run.WorkflowID, run.RunID, &res))

	summary, details := staticMetadata(t, c, run.WorkflowID, run.RunID)
	require.Equal(t, "Provision VM ui-vm (crusoe): 2 disks, 1 firewall rule", summary)
	require.Equal(t, "- **Acts on:** vm ui-vm, disk ui-vm-data, disk ui-vm-scratch, firewall rule ui-vm-ssh\n"+
		"- **Spec:** specs/ui-vm.yaml\n- **Task queue:** "+tq, details)
	acts := activitySummaries(t, c, run.WorkflowID, run.RunID)
	require.Contains(t, acts, "create disk ui-vm-data")
	require.Contains(t, acts, "create vm ui-vm")
	require.Contains(t, acts, "create firewall rule ui-vm-ssh")
	requireHasPrefix(t, acts, "wait for vm ui-vm (operation ")
	require.Equal(t, "**completed** · 4 of 4 steps done", currentDetails(t, c, run.WorkflowID, run.RunID))
	for _, text := range append(acts, summary, details) {
		require.NotContains(t, text, "ssh-ed25519", "the SSH key stays out of what the UI shows")
	}

	// The CLI links the run to the UI, in the namespace it connected to.
	out, errOut, code := cli(t, "runs", "show", run.WorkflowID, "--ui-url", "http://ui.test:8233")
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `UI:\s+http://ui.test:8233/namespaces/default/workflows/`+run.WorkflowID+`/`+run.RunID+`/history`, out)

	// A scheduled run carries the same: the schedule deprovisions the VM.
	sched := "ui-deprovision-" + tq
	require.NoError(t, s.CreateSchedule(ctx, starter.ScheduleOptions{ID: sched, Every: time.Hour, Paused: true},
		starter.DeprovisionVMPlan(workflows.DeprovisionVMInput{VMName: "ui-vm", DiskNames: []string{"ui-vm-data", "ui-vm-scratch"}, FirewallRules: []string{"ui-vm-ssh"}})))
	t.Cleanup(func() { _ = s.DeleteSchedule(context.Background(), sched) })
	require.NoError(t, s.TriggerSchedule(ctx, sched))
	var scheduled starter.ScheduledRun
	waitFor(t, time.Minute, "the schedule's run", func() bool {
		info, err := s.DescribeSchedule(ctx, sched)
		if err != nil || len(info.Recent) == 0 {
			return false
		}
		scheduled = info.Recent[0]
		return true
	})
	require.NoError(t, s.Result(ctx, scheduled.WorkflowID, scheduled.RunID, nil))
	summary, details = staticMetadata(t, c, scheduled.WorkflowID, scheduled.RunID)
	require.Equal(t, "Deprovision VM ui-vm (crusoe): 2 disks, 1 firewall rule", summary)
	require.Contains(t, details, "- **Task queue:** "+tq)
	require.Contains(t, activitySummaries(t, c, scheduled.WorkflowID, scheduled.RunID), "delete vm ui-vm")

	// A stack: its own run, its apply and the apply's provisioning child.
	spec := crusoeStackSpec("ui-stack")
	spec.Source = "specs/ui-stack.yaml"
	applied, err := applyStack(t, s, workflows.StackApplyRequest{Spec: spec})
	require.NoError(t, err)
	stackID := workflows.StackID(workflows.ProviderCrusoe, "ui-stack")
	summary, details = staticMetadata(t, c, stackID, "")
	require.Equal(t, "Stack crusoe/ui-stack", summary)
	require.Contains(t, details, "- **First spec:** specs/ui-stack.yaml")
	requireHasPrefix(t, activitySummaries(t, c, stackID, ""), "observe stack crusoe/ui-stack (")
	require.Regexp(t, `^\*\*in-sync\*\* · stack crusoe/ui-stack, 4 resources\n- last: apply-1 succeeded at `, currentDetails(t, c, stackID, ""))

	applyRun := applied.Operation.Run
	summary, details = staticMetadata(t, c, applyRun, "")
	require.Equal(t, "Apply to stack crusoe/ui-stack: 4 creates (apply-1, plan-1)", summary)
	require.Contains(t, details, "- **Acts on:** disk ui-stack-data (create), ")
	require.Contains(t, details, "- **Spec:** specs/ui-stack.yaml")
	requireHasPrefix(t, activitySummaries(t, c, applyRun, ""), "observe stack crusoe/ui-stack (")

	child := applyRun + "-" + workflows.ProvisionVMWorkflowName
	summary, _ = staticMetadata(t, c, child, "")
	require.Equal(t, "Provision VM ui-stack (crusoe): 2 disks, 1 firewall rule for stack crusoe/ui-stack", summary)
	require.Contains(t, activitySummaries(t, c, child, ""), "create disk ui-stack-data")

	_, err = destroyStack(t, s, "ui-stack", workflows.StackDestroyRequest{})
	require.NoError(t, err)
}
