package starter

import (
	"context"

	"github.com/cloudflow/cloudflow/workflows"
)

// CreateContainerWorkflowID is the workflow ID of a container create run: it
// names the container, so two creates never act on one container at once.
func CreateContainerWorkflowID(in workflows.CreateContainerInput) string {
	return "openvz-container-create-" + in.Container.Name
}

// DeleteContainerWorkflowID is the workflow ID of a container delete run.
func DeleteContainerWorkflowID(in workflows.DeleteContainerInput) string {
	return "openvz-container-delete-" + in.Name
}

// CreateContainerPlan is the plan of a CreateContainer run.
func CreateContainerPlan(in workflows.CreateContainerInput) Plan {
	return Plan{Workflow: workflows.CreateContainerWorkflowName, ID: CreateContainerWorkflowID(in), Input: in,
		Provider: workflows.ProviderOpenVZ, Resources: []string{in.Container.Name}}
}

// DeleteContainerPlan is the plan of a DeleteContainer run.
func DeleteContainerPlan(in workflows.DeleteContainerInput) Plan {
	return Plan{Workflow: workflows.DeleteContainerWorkflowName, ID: DeleteContainerWorkflowID(in), Input: in,
		Provider: workflows.ProviderOpenVZ, Resources: []string{in.Name}}
}

// CreateContainer starts a CreateContainer workflow. A run for the same
// container still in progress is refused with an *AlreadyRunningError.
func (s *Starter) CreateContainer(ctx context.Context, in workflows.CreateContainerInput) (Run, error) {
	return s.Start(ctx, CreateContainerPlan(in))
}

// DeleteContainer starts a DeleteContainer workflow.
func (s *Starter) DeleteContainer(ctx context.Context, in workflows.DeleteContainerInput) (Run, error) {
	return s.Start(ctx, DeleteContainerPlan(in))
}
