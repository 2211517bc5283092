package starter

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"

	"github.com/cloudflow/cloudflow/workflows"
)

// These unit tests pin the starter's contract with Temporal on a mocked
// client; the end-to-end tests run the same code against the dev server.

func TestProvisionVMStartsOneRunPerVM(t *testing.T) {
	c := &mocks.Client{}
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return("crusoe-vm-provision-web")
	run.On("GetRunID").Return("r1")
	c.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
		return o.ID == "crusoe-vm-provision-web" && o.TaskQueue == "tq" &&
			o.WorkflowIDConflictPolicy == enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL &&
			o.WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
	}), workflows.ProvisionVMWorkflowName, mock.Anything).Return(run, nil)

	got, err := New(c, "tq").ProvisionVM(context.Background(), workflows.ProvisionVMInput{VM: workflows.VMSpec{Name: "web"}})
	require.NoError(t, err)
	require.Equal(t, Run{WorkflowID: "crusoe-vm-provision-web", RunID: "r1", Workflow: workflows.ProvisionVMWorkflowName}, got)
	c.AssertExpectations(t)
}

func TestStartWhileRunningIsAlreadyRunningError(t *testing.T) {
	c := &mocks.Client{}
	c.On("ExecuteWorkflow", mock.Anything, mock.Anything, workflows.DeprovisionVMWorkflowName, mock.Anything).
		Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("running", "req", "r0"))
	_, err := New(c, "").DeprovisionVM(context.Background(), workflows.DeprovisionVMInput{VMName: "web"})
	var already *AlreadyRunningError
	require.True(t, errors.As(err, &already), "%v", err)
	require.Equal(t, "crusoe-vm-deprovision-web", already.WorkflowID)
	require.Contains(t, err.Error(), "cloudflow runs watch crusoe-vm-deprovision-web")
}

func resultOf(t *testing.T, runErr error, valuePtr any) error {
	t.Helper()
	c := &mocks.Client{}
	run := &mocks.WorkflowRun{}
	run.On("Get", mock.Anything, mock.Anything).Return(runErr)
	c.On("GetWorkflow", mock.Anything, "wf", "").Return(run)
	return New(c, "").Result(context.Background(), "wf", "", valuePtr)
}

func TestResultOfAFailedRunCarriesItsDetails(t *testing.T) {
	partial := workflows.ProvisionVMResult{FailedStep: "firewall-rule/web-ssh", Undone: []string{"vm/web"}}
	var res workflows.ProvisionVMResult
	err := resultOf(t, temporal.NewNonRetryableApplicationError("step firewall-rule/web-ssh failed", workflows.ErrTypeProvisionFailed, nil, partial), &res)
	var re *RunError
	require.True(t, errors.As(err, &re), "%v", err)
	require.Equal(t, "Failed", re.Status)
	require.Equal(t, "step firewall-rule/web-ssh failed", re.Message)
	require.Equal(t, "firewall-rule/web-ssh", re.FailedStep)
	require.Equal(t, partial, res)
}

func TestResultOfACancelledRun(t *testing.T) {
	partial := workflows.ProvisionVMResult{Undone: []string{"disk/web-data"}}
	var res workflows.ProvisionVMResult
	err := resultOf(t, temporal.NewCanceledError(partial), &res)
	var re *RunError
	require.True(t, errors.As(err, &re), "%v", err)
	require.Equal(t, "Canceled", re.Status)
	require.Equal(t, "workflow wf canceled", re.Error())
	require.Equal(t, partial, res)
}

func TestResultOfASuccessfulRun(t *testing.T) {
	require.NoError(t, resultOf(t, nil, &workflows.ProvisionVMResult{}))
}

func TestClientOptionsLayersFlagsOverTheEnvironment(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "env-host:7233")
	t.Setenv("TEMPORAL_NAMESPACE", "env-ns")
	t.Setenv("TEMPORAL_CONFIG_FILE", t.TempDir()+"/none.toml")
	co, err := ClientOptions(Options{})
	require.NoError(t, err)
	require.Equal(t, "env-host:7233", co.HostPort)
	require.Equal(t, "env-ns", co.Namespace)
	require.NotNil(t, co.Logger, "a quiet logger is set so the SDK does not write to stdout")

	co, err = ClientOptions(Options{HostPort: "flag-host:1", Namespace: "flag-ns"})
	require.NoError(t, err)
	require.Equal(t, "flag-host:1", co.HostPort)
	require.Equal(t, "flag-ns", co.Namespace)
	require.Nil(t, co.DataConverter, "no codec without a key")

	t.Setenv("CLOUDFLOW_PAYLOAD_KEY", "not a key")
	_, err = ClientOptions(Options{})
	require.ErrorContains(t, err, "CLOUDFLOW_PAYLOAD_KEY")
	t.Setenv("CLOUDFLOW_PAYLOAD_KEY", "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=")
	co, err = ClientOptions(Options{})
	require.NoError(t, err)
	require.NotNil(t, co.DataConverter, "the codec is on with a key")
	require.NotNil(t, co.FailureConverter, "failures are encoded too")
}
