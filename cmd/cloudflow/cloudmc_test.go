package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

var cloudMCSpec = filepath.Join("..", "..", "examples", "cloudmc-vm.yaml")

// A CloudMC spec makes `vm provision` and `vm deprovision` act on a
// CloudMC stack; a Crusoe spec on a Crusoe one.
func TestVMCommandsDispatchOnTheSpecsProvider(t *testing.T) {
	c := newCLI(t)
	require.Equal(t, exitOK, c.run("vm", "provision", "-f", cloudMCSpec), c.errOut.String())
	sent := c.fake.sentOf(t, workflows.StackUpdateApply)
	sp := sent.req.(workflows.StackApplyRequest).Spec
	assert.Equal(t, starter.StackRef{Provider: "cloudmc", Name: "demo-instance"}, sent.ref)
	require.NotNil(t, sp.CloudMC)
	assert.Nil(t, sp.Crusoe)
	in := *sp.CloudMC
	assert.Equal(t, "demo-instance", in.Instance.Name)
	assert.Equal(t, "demo-instance-data", in.Volume.Name)
	assert.Equal(t, 20, in.Volume.SizeGB)
	assert.Len(t, in.IngressRules, 2)
	assert.Equal(t, cloudMCSpec, sp.Source)
	assert.True(t, c.fake.closed)

	c = newCLI(t)
	c.fake.stacks.found = []starter.StackRef{{Provider: "crusoe", Name: "demo-instance"}, {Provider: "cloudmc", Name: "demo-instance"}}
	c.fake.op(workflows.StackUpdateDestroy, workflows.StackOperationResult{Operation: workflows.StackOperation{ID: "destroy-3", Kind: "destroy"}}, nil)
	require.Equal(t, exitOK, c.run("vm", "deprovision", "-f", cloudMCSpec), c.errOut.String())
	assert.Equal(t, starter.StackRef{Provider: "cloudmc", Name: "demo-instance"}, c.fake.sentOf(t, workflows.StackUpdateDestroy).ref,
		"the spec's provider picks the stack, not the name alone")

	// From standard input too.
	data, err := os.ReadFile(cloudMCSpec)
	require.NoError(t, err)
	c = newCLI(t)
	c.f.IO.In = strings.NewReader(string(data))
	require.Equal(t, exitOK, c.run("vm", "provision", "-f", "-"), c.errOut.String())
	assert.Equal(t, in, *c.fake.sentOf(t, workflows.StackUpdateApply).req.(workflows.StackApplyRequest).Spec.CloudMC)

	// A Crusoe spec acts on a Crusoe stack.
	c = newCLI(t)
	require.Equal(t, exitOK, c.run("vm", "provision", "-f", exampleSpec), c.errOut.String())
	sp = c.fake.sentOf(t, workflows.StackUpdateApply).req.(workflows.StackApplyRequest).Spec
	assert.Equal(t, demoSpec(t), sp)
}

// A CloudMC spec with problems lists them all, and nothing is dialled or
// started.
func TestVMProvisionRejectsABadCloudMCSpec(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(`provider: cloudmc
instance:
  name: web
  computeOffering: 1vCPU.1GB
  network: d5a68379-a9ee-404f-9492-a1964b374d6f
ingressRules:
  - {protocol: tcp, ports: "22-", cidr: 0.0.0.0/0}
  - {protocol: udp, ports: "53", cidr: 10.0.0.0/40}
`), 0o600))
	c := newCLI(t)
	require.Equal(t, exitUsage, c.run("vm", "provision", "-f", bad))
	errOut := c.errOut.String()
	assert.Contains(t, errOut, "has 4 problems; nothing was started")
	assert.Contains(t, errOut, `instance.computeOffering: "1vCPU.1GB" is not an ID`)
	assert.Contains(t, errOut, "instance.template: is required")
	assert.Contains(t, errOut, `ingressRules[0].ports: "22-" is not a port range`)
	assert.Contains(t, errOut, `ingressRules[1].cidr: "10.0.0.0/40" is not a CIDR`)
	assert.Empty(t, c.dials, "nothing is dialled for an invalid spec")

	c = newCLI(t)
	require.Equal(t, exitUsage, c.run("vm", "provision", "-f", filepath.Join(t.TempDir(), "missing.yaml")))
	assert.Contains(t, c.errOut.String(), "read spec")

	// A KraftCloud command names the command that runs a CloudMC spec.
	c = newCLI(t)
	require.Equal(t, exitUsage, c.run("instances", "deploy", "-f", cloudMCSpec))
	assert.Contains(t, c.errOut.String(), "provision it with `cloudflow vm provision -f FILE`")
}

// A failed CloudMC provision says which step of ProvisionInstance failed,
// with the cloud's message, and that nothing was left behind.
func TestVMProvisionCloudMCWaitFails(t *testing.T) {
	ref := starter.StackRef{Provider: "cloudmc", Name: "demo-instance"}
	run := "stack-cloudmc-demo-instance-apply-1"
	c := newCLI(t)
	res := workflows.StackOperationResult{
		Operation: workflows.StackOperation{ID: "apply-1", Kind: "apply", Run: run, Outcome: workflows.OutcomeFailed},
		Apply: &workflows.ApplyStackResult{
			Failed: []workflows.PlanFailure{{Key: "provision", Error: "child workflow failed: step volume-attachment/demo-instance-data failed"}},
			Undone: []string{"instance/demo-instance", "volume/demo-instance-data"},
			Steps:  []workflows.Step{{Name: "provision demo-instance", State: workflows.StepFailed}},
		},
		State: workflows.StackState{Provider: ref.Provider, Name: ref.Name, Status: workflows.StackFailed},
	}
	c.fake.op(workflows.StackUpdateApply, workflows.StackOperationResult{}, &starter.StackError{Stack: ref, Type: workflows.ErrTypeStackApplyFailed,
		Message: "apply of stack cloudmc/demo-instance failed: 1 change(s) failed", Result: &res})
	c.fake.result = workflows.ProvisionInstanceResult{
		Instance:   workflows.Resource{Kind: "instance", Name: "demo-instance"},
		FailedStep: "volume-attachment/demo-instance-data",
		Steps: []workflows.Step{
			{Name: "instance/demo-instance", State: "undone", ID: "inst-1"},
			{Name: "volume/demo-instance-data", State: "undone", ID: "vol-1"},
			{Name: "volume-attachment/demo-instance-data", State: "failed", Error: "task failed: 2013: volume in use"},
		},
		Undone: []string{"instance/demo-instance", "volume/demo-instance-data"},
	}
	c.fake.resultErr = &starter.RunError{WorkflowID: run + "-ProvisionInstance", Status: "Failed", Message: "step failed"}
	require.Equal(t, exitFailed, c.run("vm", "provision", "-f", cloudMCSpec, "--wait"))
	out := c.out.String()
	assert.Contains(t, out, "Apply of stack cloudmc/demo-instance failed (apply-1, run "+run+").")
	assert.Contains(t, out, "ProvisionInstance failed.")
	assert.Contains(t, out, "failed step: volume-attachment/demo-instance-data")
	assert.Contains(t, out, "error:       task failed: 2013: volume in use")
	assert.Contains(t, out, "Nothing was left behind.")
	assert.Contains(t, c.errOut.String(), "error: apply of stack cloudmc/demo-instance failed")

	c = newCLI(t)
	c.fake.op(workflows.StackUpdateApply, workflows.StackOperationResult{}, &starter.StackError{Stack: ref, Type: workflows.ErrTypeStackApplyFailed, Message: "failed", Result: &res})
	require.Equal(t, exitFailed, c.run("vm", "provision", "-f", cloudMCSpec, "--wait", "--json"))
	var got workflows.StackOperationResult
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &got), c.out.String())
	assert.Equal(t, res.Apply.Failed, got.Apply.Failed)
}

// A schedule cannot drive a stack: scheduling a command that acts through
// one is refused, naming why, and nothing is created.
func TestScheduleOfAStackCommandIsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"vm", "provision", "-f", cloudMCSpec},
		{"vm", "deprovision", "-f", exampleSpec},
		{"instances", "deploy", "-f", kraftSpec},
		{"container", "delete", "-f", containerSpec},
		{"apply", "-f", exampleSpec, "--auto-approve"},
	} {
		c := newCLI(t)
		require.Equal(t, exitUsage, c.run(append([]string{"schedule", "create", "nightly", "--cron", "0 22 * * *", "--"}, args...)...))
		assert.Contains(t, c.errOut.String(), "acts through the spec's stack, which a schedule cannot drive")
		assert.Empty(t, c.fake.schedules)
		assert.Empty(t, c.dials)
	}
}

// The worker builds its CloudMC client from CLOUDMC_* when any is set, and
// names what is missing when some are.
func TestCloudMCClientFromTheEnvironment(t *testing.T) {
	for _, k := range []string{"CLOUDMC_API_ENDPOINT", "CLOUDMC_API_KEY", "CLOUDMC_SERVICE_CODE", "CLOUDMC_ENVIRONMENT", "CLOUDMC_ORG_ID"} {
		t.Setenv(k, "")
	}
	c, err := cloudMCClient()
	require.NoError(t, err)
	require.Nil(t, c, "not configured")

	t.Setenv("CLOUDMC_API_KEY", "k")
	_, err = cloudMCClient()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CLOUDMC_API_ENDPOINT, CLOUDMC_SERVICE_CODE, CLOUDMC_ENVIRONMENT")

	t.Setenv("CLOUDMC_API_ENDPOINT", "http://127.0.0.1:8787")
	t.Setenv("CLOUDMC_SERVICE_CODE", "compute-sim")
	t.Setenv("CLOUDMC_ENVIRONMENT", "dev")
	c, err = cloudMCClient()
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8787/api/v2", c.BaseURL())
	assert.Equal(t, "dev", c.Environment())
}
