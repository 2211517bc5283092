package worker

import (
	"slices"
	"testing"

	"go.temporal.io/sdk/activity"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/workflows"
)

// registry records what is registered on it.
type registry struct {
	sdkworker.Registry // the methods not overridden are never called
	workflows          []string
	activities         []any
}

func (r *registry) RegisterWorkflow(any) {}
func (r *registry) RegisterWorkflowWithOptions(_ any, o workflow.RegisterOptions) {
	r.workflows = append(r.workflows, o.Name)
}
func (r *registry) RegisterDynamicWorkflow(any, workflow.DynamicRegisterOptions) {}
func (r *registry) RegisterActivity(a any)                                       { r.activities = append(r.activities, a) }
func (r *registry) RegisterActivityWithOptions(a any, _ activity.RegisterOptions) {
	r.activities = append(r.activities, a)
}
func (r *registry) RegisterDynamicActivity(any, activity.DynamicRegisterOptions) {}

// The CloudMC workflows are registered under their contract names, and the
// CloudMC activities with the worker's client.
func TestCloudMCIsRegistered(t *testing.T) {
	c, err := cloudmc.New(cloudmc.WithBaseURL("http://127.0.0.1:1"), cloudmc.WithAPIKey("k"), cloudmc.WithEnvironment("sc", "env"))
	if err != nil {
		t.Fatal(err)
	}
	var r registry
	Register(&r, Options{CloudMC: c})
	for _, want := range []string{workflows.ProvisionInstanceWorkflowName, workflows.DeprovisionInstanceWorkflowName} {
		if !slices.Contains(r.workflows, want) {
			t.Errorf("%s is not registered (got %v)", want, r.workflows)
		}
	}
	found := false
	for _, a := range r.activities {
		if ca, ok := a.(*activities.CloudMCActivities); ok && ca.Client == c {
			found = true
		}
	}
	if !found {
		t.Errorf("no CloudMC activities with the worker's client among %v", r.activities)
	}
}
