package starter

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/cloudflow/cloudflow/workflows"
)

// Plan is one workflow run to start: at once (Starter.Start) or on a schedule
// (Starter.CreateSchedule). The XxxPlan functions build the plan of each
// workflow, with the workflow ID that says what it acts on.
type Plan struct {
	Workflow string `json:"workflow"`
	// ID is the workflow ID. A scheduled run's ID is ID followed by the time
	// it was scheduled for.
	ID    string `json:"id"`
	Input any    `json:"input"`
	// Provider and Resources make runs findable (search attributes
	// CloudflowProvider and CloudflowResources).
	Provider  string   `json:"provider,omitempty"`
	Resources []string `json:"resources,omitempty"`
	// Source names the spec file the plan was made from, when there is
	// one: the run's details in the Temporal UI show it.
	Source string `json:"source,omitempty"`
}

// WithSource is the plan with its spec file named.
func (p Plan) WithSource(source string) Plan {
	p.Source = source
	return p
}

// userMetadata is the run's static summary and details, which the Temporal
// UI shows: what it acts on (workflows.DescribeRun), from which spec file,
// on which task queue. Names only, never secrets.
func (p Plan) userMetadata(taskQueue string) (summary, details string) {
	d := workflows.DescribeRun(p.Workflow, p.Input)
	return d.Summary, d.Details("Spec", p.Source, "Task queue", taskQueue)
}

// Search attributes every run is started with, so that runs can be listed by
// cloud and by resource name (cloudflow runs list --provider P --name N), and
// stacks by status. See workflows.SearchAttributeTypes for how to register them.
var (
	SearchAttrProvider    = workflows.SearchAttrProvider
	SearchAttrResources   = workflows.SearchAttrResources
	SearchAttrStackStatus = workflows.SearchAttrStackStatus
)

// SearchAttributeTypes maps each search attribute to its type, as the
// Temporal CLI's --search-attribute flag and `operator search-attribute
// create` take them.
var SearchAttributeTypes = workflows.SearchAttributeTypes

// maxIndexedBytes bounds the resource names indexed for one run, as the
// server measures them (the JSON list), inside its default limit on a search
// attribute's size (2 KiB).
const maxIndexedBytes = 1800

func (p Plan) searchAttributes() temporal.SearchAttributes {
	var updates []temporal.SearchAttributeUpdate
	if p.Provider != "" {
		updates = append(updates, SearchAttrProvider.ValueSet(p.Provider))
	}
	var names []string
	size := 2 // the server measures the JSON list: ["a","b"]
	for _, r := range p.Resources {
		b, _ := json.Marshal(r)
		if size+len(b)+1 > maxIndexedBytes {
			break // a large fleet is indexed by its first names
		}
		size += len(b) + 1
		names = append(names, r)
	}
	if len(names) > 0 {
		updates = append(updates, SearchAttrResources.ValueSet(names))
	}
	return temporal.NewSearchAttributes(updates...)
}

// ProvisionVMWorkflowID is the workflow ID of a provision run: it says what it acts on.
func ProvisionVMWorkflowID(in workflows.ProvisionVMInput) string {
	return "crusoe-vm-provision-" + in.VM.Name
}

// DeprovisionVMWorkflowID is the workflow ID of a deprovision run.
func DeprovisionVMWorkflowID(in workflows.DeprovisionVMInput) string {
	return "crusoe-vm-deprovision-" + in.VMName
}

// ProvisionVMPlan is the plan of a ProvisionVM run.
func ProvisionVMPlan(in workflows.ProvisionVMInput) Plan {
	res := []string{in.VM.Name}
	for _, d := range in.Disks {
		res = append(res, d.Name)
	}
	for _, r := range in.FirewallRules {
		res = append(res, r.Name)
	}
	return Plan{Workflow: workflows.ProvisionVMWorkflowName, ID: ProvisionVMWorkflowID(in), Input: in,
		Provider: workflows.ProviderCrusoe, Resources: res}
}

// DeprovisionVMPlan is the plan of a DeprovisionVM run.
func DeprovisionVMPlan(in workflows.DeprovisionVMInput) Plan {
	res := append(append([]string{in.VMName}, in.DiskNames...), in.FirewallRules...)
	return Plan{Workflow: workflows.DeprovisionVMWorkflowName, ID: DeprovisionVMWorkflowID(in), Input: in,
		Provider: workflows.ProviderCrusoe, Resources: res}
}

// BulkCreateVMsWorkflowID is the workflow ID of a bulk create: it names the prefix.
func BulkCreateVMsWorkflowID(in workflows.BulkCreateVMsInput) string {
	return "crusoe-vm-bulk-create-" + in.NamePrefix
}

// BulkCreateVMsPlan is the plan of a BulkCreateVMs run.
func BulkCreateVMsPlan(in workflows.BulkCreateVMsInput) Plan {
	return Plan{Workflow: workflows.BulkCreateVMsWorkflowName, ID: BulkCreateVMsWorkflowID(in), Input: in,
		Provider: workflows.ProviderCrusoe, Resources: []string{in.NamePrefix}}
}

// FleetWorkflowID is the workflow ID of a fleet run. It names the provider,
// the first instance and how many more, and a digest of the whole list: the
// same fleet cannot be started and stopped at once, while different fleets
// run side by side.
func FleetWorkflowID(in workflows.FleetInput) string {
	h := sha256.New()
	for _, r := range in.Instances {
		h.Write([]byte(r))
		h.Write([]byte{0})
	}
	first := ""
	if len(in.Instances) > 0 {
		first = "-" + in.Instances[0]
		if n := len(in.Instances) - 1; n > 0 {
			first += fmt.Sprintf("-and-%d-more", n)
		}
	}
	return fmt.Sprintf("%s-fleet%s-%x", in.Provider, first, h.Sum(nil)[:4])
}

// StartInstancesPlan is the plan of a StartInstances run over a fleet.
func StartInstancesPlan(in workflows.FleetInput) Plan {
	return Plan{Workflow: workflows.StartInstancesWorkflowName, ID: FleetWorkflowID(in), Input: in,
		Provider: in.Provider, Resources: in.Instances}
}

// StopInstancesPlan is the plan of a StopInstances run over a fleet.
func StopInstancesPlan(in workflows.FleetInput) Plan {
	p := StartInstancesPlan(in)
	p.Workflow = workflows.StopInstancesWorkflowName
	return p
}

// DeployInstanceWorkflowID is the workflow ID of a KraftCloud deploy run: it
// names the instance, so two runs never act on one instance at once.
func DeployInstanceWorkflowID(in workflows.DeployInstanceInput) string {
	return "kraftcloud-instance-deploy-" + in.Instance.Name
}

// UndeployInstanceWorkflowID is the workflow ID of a KraftCloud undeploy run.
func UndeployInstanceWorkflowID(in workflows.UndeployInstanceInput) string {
	return "kraftcloud-instance-undeploy-" + in.InstanceName
}

// DeployInstancePlan is the plan of a DeployInstance run.
func DeployInstancePlan(in workflows.DeployInstanceInput) Plan {
	res := []string{in.Instance.Name}
	if in.Volume != nil {
		res = append(res, in.Volume.Name)
	}
	if in.ServiceGroup != nil {
		res = append(res, in.ServiceGroup.Name)
	}
	return Plan{Workflow: workflows.DeployInstanceWorkflowName, ID: DeployInstanceWorkflowID(in), Input: in,
		Provider: workflows.ProviderKraftCloud, Resources: res}
}

// UndeployInstancePlan is the plan of a UndeployInstance run.
func UndeployInstancePlan(in workflows.UndeployInstanceInput) Plan {
	res := []string{in.InstanceName}
	for _, n := range []string{in.VolumeName, in.ServiceGroupName} {
		if n != "" {
			res = append(res, n)
		}
	}
	return Plan{Workflow: workflows.UndeployInstanceWorkflowName, ID: UndeployInstanceWorkflowID(in), Input: in,
		Provider: workflows.ProviderKraftCloud, Resources: res}
}

// ProvisionVM starts a ProvisionVM workflow.
func (s *Starter) ProvisionVM(ctx context.Context, in workflows.ProvisionVMInput) (Run, error) {
	return s.Start(ctx, ProvisionVMPlan(in))
}

// DeprovisionVM starts a DeprovisionVM workflow.
func (s *Starter) DeprovisionVM(ctx context.Context, in workflows.DeprovisionVMInput) (Run, error) {
	return s.Start(ctx, DeprovisionVMPlan(in))
}

// BulkCreateVMs starts a BulkCreateVMs workflow.
func (s *Starter) BulkCreateVMs(ctx context.Context, in workflows.BulkCreateVMsInput) (Run, error) {
	return s.Start(ctx, BulkCreateVMsPlan(in))
}

// StartInstances starts a StartInstances workflow over a fleet.
func (s *Starter) StartInstances(ctx context.Context, in workflows.FleetInput) (Run, error) {
	return s.Start(ctx, StartInstancesPlan(in))
}

// StopInstances starts a StopInstances workflow over a fleet.
func (s *Starter) StopInstances(ctx context.Context, in workflows.FleetInput) (Run, error) {
	return s.Start(ctx, StopInstancesPlan(in))
}

// DeployInstance starts a DeployInstance workflow. A run for the same
// instance still in progress is refused with an *AlreadyRunningError.
func (s *Starter) DeployInstance(ctx context.Context, in workflows.DeployInstanceInput) (Run, error) {
	return s.Start(ctx, DeployInstancePlan(in))
}

// UndeployInstance starts a UndeployInstance workflow.
func (s *Starter) UndeployInstance(ctx context.Context, in workflows.UndeployInstanceInput) (Run, error) {
	return s.Start(ctx, UndeployInstancePlan(in))
}

// Start starts the plan's run. A finished run may be repeated (every
// workflow is idempotent by name), but never two at once for the same
// resources: a run still in progress makes Start return *AlreadyRunningError.
func (s *Starter) Start(ctx context.Context, p Plan) (Run, error) {
	opts := client.StartWorkflowOptions{
		ID:                                       p.ID,
		TaskQueue:                                s.taskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}
	opts.StaticSummary, opts.StaticDetails = p.userMetadata(s.taskQueue)
	if !s.noSearchAttributes {
		opts.TypedSearchAttributes = p.searchAttributes()
	}
	we, err := s.c.ExecuteWorkflow(ctx, opts, p.Workflow, p.Input)
	if err != nil && isUnknownSearchAttribute(err) && !s.noSearchAttributes {
		// A server without cloudflow's search attributes still runs the
		// workflows; only `runs list --provider/--name` cannot find them.
		s.noSearchAttributes = true
		s.warn("the Temporal server refused the CloudflowProvider/CloudflowResources search attributes; runs start without them (register them to make runs findable)", "error", err)
		opts.TypedSearchAttributes = temporal.SearchAttributes{}
		we, err = s.c.ExecuteWorkflow(ctx, opts, p.Workflow, p.Input)
	}
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return Run{}, &AlreadyRunningError{WorkflowID: p.ID}
		}
		return Run{}, fmt.Errorf("start %s: %w", p.Workflow, err)
	}
	return Run{WorkflowID: we.GetID(), RunID: we.GetRunID(), Workflow: p.Workflow}, nil
}

// start starts a workflow that has no plan function of its own.
func (s *Starter) start(ctx context.Context, id, workflow string, in any) (Run, error) {
	return s.Start(ctx, Plan{Workflow: workflow, ID: id, Input: in})
}

func isUnknownSearchAttribute(err error) bool {
	var inv *serviceerror.InvalidArgument
	return errors.As(err, &inv) && strings.Contains(strings.ToLower(inv.Error()), "search attribute")
}
