package starter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/cloudflow/cloudflow/workflows"
)

func sampleVMPlan() Plan {
	return ProvisionVMPlan(workflows.ProvisionVMInput{
		VM:            workflows.VMSpec{Name: "web", SSHPublicKey: "ssh-ed25519 SECRET", StartupScript: "echo SECRET"},
		Disks:         []workflows.DiskSpec{{Name: "web-data", Size: "10GiB"}},
		FirewallRules: []workflows.FirewallRuleSpec{{Name: "web-ssh"}},
	}).WithSource("examples/web.yaml")
}

const sampleVMDetails = "- **Acts on:** vm web, disk web-data, firewall rule web-ssh\n- **Spec:** examples/web.yaml\n- **Task queue:** tq"

// A run started from a plan shows in the Temporal UI what it acts on, from
// which spec file, on which task queue; never the SSH key or the scripts.
func TestStartSetsTheRunsSummaryAndDetails(t *testing.T) {
	c := &mocks.Client{}
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return("crusoe-vm-provision-web")
	run.On("GetRunID").Return("r1")
	var opts client.StartWorkflowOptions
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, workflows.ProvisionVMWorkflowName, mock.Anything).
		Run(func(args mock.Arguments) { opts = args.Get(1).(client.StartWorkflowOptions) }).Return(run, nil)

	_, err := New(c, "tq").Start(context.Background(), sampleVMPlan())
	require.NoError(t, err)
	require.Equal(t, "Provision VM web (crusoe): 1 disk, 1 firewall rule", opts.StaticSummary)
	require.Equal(t, sampleVMDetails, opts.StaticDetails)
	require.NotContains(t, opts.StaticSummary+opts.StaticDetails, "SECRET")
}

// A schedule's runs carry the same summary and details.
func TestScheduleActionSetsTheRunsSummaryAndDetails(t *testing.T) {
	c := &mocks.Client{}
	sc := &mocks.ScheduleClient{}
	c.On("ScheduleClient").Return(sc)
	var opts client.ScheduleOptions
	sc.On("Create", mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) { opts = args.Get(1).(client.ScheduleOptions) }).Return(nil, nil)

	err := New(c, "tq").CreateSchedule(context.Background(), ScheduleOptions{ID: "nightly", Every: time.Hour}, sampleVMPlan())
	require.NoError(t, err)
	action := opts.Action.(*client.ScheduleWorkflowAction)
	require.Equal(t, "Provision VM web (crusoe): 1 disk, 1 firewall rule", action.StaticSummary)
	require.Equal(t, sampleVMDetails, action.StaticDetails)
}
