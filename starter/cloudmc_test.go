package starter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/cloudflow/cloudflow/workflows"
)

func cloudMCInput() workflows.ProvisionInstanceInput {
	return workflows.ProvisionInstanceInput{
		Instance:     workflows.CloudMCInstanceSpec{Name: "web-1", ComputeOfferingID: "co", NetworkID: "net", TemplateID: "tpl"},
		Volume:       &workflows.CloudMCVolumeSpec{Name: "web-1-data", SizeGB: 20},
		IngressRules: []workflows.CloudMCIngressRuleSpec{{Protocol: "tcp", StartPort: 22, CIDR: "0.0.0.0/0"}},
	}
}

func TestCloudMCPlans(t *testing.T) {
	in := cloudMCInput()
	require.Equal(t, Plan{Workflow: "ProvisionInstance", ID: "cloudmc-instance-provision-web-1", Input: in,
		Provider: "cloudmc", Resources: []string{"web-1", "web-1-data"}}, ProvisionInstancePlan(in))

	in.Volume = nil
	require.Equal(t, []string{"web-1"}, ProvisionInstancePlan(in).Resources, "rules have no names to index")

	del := workflows.DeprovisionInstanceInput{InstanceName: "web-1", VolumeName: "web-1-data"}
	require.Equal(t, Plan{Workflow: "DeprovisionInstance", ID: "cloudmc-instance-deprovision-web-1", Input: del,
		Provider: "cloudmc", Resources: []string{"web-1", "web-1-data"}}, DeprovisionInstancePlan(del))
}

func TestProvisionInstanceStartsTheRunOfItsPlan(t *testing.T) {
	c := &mocks.Client{}
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return("cloudmc-instance-provision-web-1")
	run.On("GetRunID").Return("r1")
	in := cloudMCInput()
	c.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
		return o.ID == "cloudmc-instance-provision-web-1" && o.TaskQueue == "tq"
	}), workflows.ProvisionInstanceWorkflowName, in).Return(run, nil)
	got, err := New(c, "tq").ProvisionInstance(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, Run{WorkflowID: "cloudmc-instance-provision-web-1", RunID: "r1", Workflow: workflows.ProvisionInstanceWorkflowName}, got)

	run2 := &mocks.WorkflowRun{}
	run2.On("GetID").Return("cloudmc-instance-deprovision-web-1")
	run2.On("GetRunID").Return("r2")
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, workflows.DeprovisionInstanceWorkflowName, mock.Anything).Return(run2, nil)
	got, err = New(c, "tq").DeprovisionInstance(context.Background(), workflows.DeprovisionInstanceInput{InstanceName: "web-1"})
	require.NoError(t, err)
	require.Equal(t, "cloudmc-instance-deprovision-web-1", got.WorkflowID)
	c.AssertExpectations(t)
}
