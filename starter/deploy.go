package starter

import (
	"context"

	"github.com/cloudflow/cloudflow/workflows"
)

// DeployInstanceWorkflowID is the workflow ID of a KraftCloud deploy run: it
// names the instance, so two runs never act on one instance at once.
func DeployInstanceWorkflowID(in workflows.DeployInstanceInput) string {
	return "kraftcloud-instance-deploy-" + in.Instance.Name
}

// DeprovisionInstanceWorkflowID is the workflow ID of a KraftCloud undeploy run.
func DeprovisionInstanceWorkflowID(in workflows.DeprovisionInstanceInput) string {
	return "kraftcloud-instance-undeploy-" + in.InstanceName
}

// DeployInstance starts a DeployInstance workflow. A run for the same
// instance still in progress is refused with an *AlreadyRunningError.
func (s *Starter) DeployInstance(ctx context.Context, in workflows.DeployInstanceInput) (Run, error) {
	return s.start(ctx, DeployInstanceWorkflowID(in), workflows.DeployInstanceWorkflowName, in)
}

// DeprovisionInstance starts a DeprovisionInstance workflow.
func (s *Starter) DeprovisionInstance(ctx context.Context, in workflows.DeprovisionInstanceInput) (Run, error) {
	return s.start(ctx, DeprovisionInstanceWorkflowID(in), workflows.DeprovisionInstanceWorkflowName, in)
}
