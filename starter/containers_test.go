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

func TestContainerPlans(t *testing.T) {
	in := workflows.CreateContainerInput{Container: workflows.ContainerSpec{Name: "ct100", OSTemplate: "centos-7-x86_64"}}
	p := CreateContainerPlan(in)
	require.Equal(t, Plan{Workflow: workflows.CreateContainerWorkflowName, ID: "openvz-container-create-ct100", Input: in,
		Provider: "openvz", Resources: []string{"ct100"}}, p)

	del := workflows.DeleteContainerInput{Name: "ct100"}
	require.Equal(t, Plan{Workflow: workflows.DeleteContainerWorkflowName, ID: "openvz-container-delete-ct100", Input: del,
		Provider: "openvz", Resources: []string{"ct100"}}, DeleteContainerPlan(del))
}

func TestCreateContainerStartsTheRunOfItsPlan(t *testing.T) {
	c := &mocks.Client{}
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return("openvz-container-create-ct100")
	run.On("GetRunID").Return("r1")
	in := workflows.CreateContainerInput{Container: workflows.ContainerSpec{Name: "ct100", OSTemplate: "t"}}
	c.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
		return o.ID == "openvz-container-create-ct100" && o.TaskQueue == "tq"
	}), workflows.CreateContainerWorkflowName, in).Return(run, nil)
	got, err := New(c, "tq").CreateContainer(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, Run{WorkflowID: "openvz-container-create-ct100", RunID: "r1", Workflow: workflows.CreateContainerWorkflowName}, got)

	run2 := &mocks.WorkflowRun{}
	run2.On("GetID").Return("openvz-container-delete-ct100")
	run2.On("GetRunID").Return("r2")
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, workflows.DeleteContainerWorkflowName, mock.Anything).Return(run2, nil)
	got, err = New(c, "tq").DeleteContainer(context.Background(), workflows.DeleteContainerInput{Name: "ct100"})
	require.NoError(t, err)
	require.Equal(t, "openvz-container-delete-ct100", got.WorkflowID)
	c.AssertExpectations(t)
}
