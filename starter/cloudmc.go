package starter

import (
	"context"

	"github.com/cloudflow/cloudflow/workflows"
)

// ProvisionInstanceWorkflowID is the workflow ID of a CloudMC provision run:
// it names the instance, so two runs never act on one instance at once.
func ProvisionInstanceWorkflowID(in workflows.ProvisionInstanceInput) string {
	return "cloudmc-instance-provision-" + in.Instance.Name
}

// DeprovisionInstanceWorkflowID is the workflow ID of a CloudMC deprovision run.
func DeprovisionInstanceWorkflowID(in workflows.DeprovisionInstanceInput) string {
	return "cloudmc-instance-deprovision-" + in.InstanceName
}

// ProvisionInstancePlan is the plan of a ProvisionInstance run. Its
// resources are the instance and the volume; ingress rules have no names.
func ProvisionInstancePlan(in workflows.ProvisionInstanceInput) Plan {
	res := []string{in.Instance.Name}
	if in.Volume != nil {
		res = append(res, in.Volume.Name)
	}
	return Plan{Workflow: workflows.ProvisionInstanceWorkflowName, ID: ProvisionInstanceWorkflowID(in), Input: in,
		Provider: workflows.ProviderCloudMC, Resources: res}
}

// DeprovisionInstancePlan is the plan of a DeprovisionInstance run.
func DeprovisionInstancePlan(in workflows.DeprovisionInstanceInput) Plan {
	res := []string{in.InstanceName}
	if in.VolumeName != "" {
		res = append(res, in.VolumeName)
	}
	return Plan{Workflow: workflows.DeprovisionInstanceWorkflowName, ID: DeprovisionInstanceWorkflowID(in), Input: in,
		Provider: workflows.ProviderCloudMC, Resources: res}
}

// ProvisionInstance starts a ProvisionInstance workflow. A run for the same
// instance still in progress is refused with an *AlreadyRunningError.
func (s *Starter) ProvisionInstance(ctx context.Context, in workflows.ProvisionInstanceInput) (Run, error) {
	return s.Start(ctx, ProvisionInstancePlan(in))
}

// DeprovisionInstance starts a DeprovisionInstance workflow.
func (s *Starter) DeprovisionInstance(ctx context.Context, in workflows.DeprovisionInstanceInput) (Run, error) {
	return s.Start(ctx, DeprovisionInstancePlan(in))
}
