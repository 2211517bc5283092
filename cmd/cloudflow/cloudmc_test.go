package main

import (
	"context"
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

func (r *fakeRunner) ProvisionInstance(_ context.Context, in workflows.ProvisionInstanceInput) (starter.Run, error) {
	r.cmcProvisioned = append(r.cmcProvisioned, in)
	return r.run, r.startErr
}

func (r *fakeRunner) DeprovisionInstance(_ context.Context, in workflows.DeprovisionInstanceInput) (starter.Run, error) {
	r.cmcDeprovisioned = append(r.cmcDeprovisioned, in)
	return r.run, r.startErr
}

var (
	cloudMCSpec = filepath.Join("..", "..", "examples", "cloudmc-vm.yaml")
	cloudMCRun  = starter.Run{WorkflowID: "cloudmc-instance-provision-demo-instance", RunID: "run-1", Workflow: workflows.ProvisionInstanceWorkflowName}
)

// A CloudMC spec makes `vm provision` and `vm deprovision` start the CloudMC
// workflows; a Crusoe spec still starts the Crusoe ones.
func TestVMCommandsDispatchOnTheSpecsProvider(t *testing.T) {
	c := newCLI(t)
	c.fake.run = cloudMCRun
	require.Equal(t, exitOK, c.run("vm", "provision", "-f", cloudMCSpec), c.errOut.String())
	require.Len(t, c.fake.cmcProvisioned, 1)
	require.Empty(t, c.fake.provisioned)
	in := c.fake.cmcProvisioned[0]
	assert.Equal(t, "demo-instance", in.Instance.Name)
	assert.Equal(t, "demo-instance-data", in.Volume.Name)
	assert.Equal(t, 20, in.Volume.SizeGB)
	assert.Len(t, in.IngressRules, 2)
	out := c.out.String()
	assert.Contains(t, out, "Started ProvisionInstance for instance demo-instance.")
	assert.Contains(t, out, "cloudflow runs watch cloudmc-instance-provision-demo-instance")
	assert.True(t, c.fake.closed)

	c = newCLI(t)
	require.Equal(t, exitOK, c.run("vm", "deprovision", "-f", cloudMCSpec), c.errOut.String())
	require.Len(t, c.fake.cmcDeprovisioned, 1)
	assert.Equal(t, workflows.DeprovisionInstanceInput{
		InstanceName: "demo-instance", VolumeName: "demo-instance-data", IngressRules: in.IngressRules,
		NetworkID: in.Instance.NetworkID, Timeouts: in.Timeouts,
	}, c.fake.cmcDeprovisioned[0])

	// From standard input too.
	data, err := os.ReadFile(cloudMCSpec)
	require.NoError(t, err)
	c = newCLI(t)
	c.f.IO.In = strings.NewReader(string(data))
	require.Equal(t, exitOK, c.run("vm", "provision", "-f", "-"), c.errOut.String())
	require.Equal(t, []workflows.ProvisionInstanceInput{in}, c.fake.cmcProvisioned)

	// A Crusoe spec behaves as before.
	c = newCLI(t)
	require.Equal(t, exitOK, c.run("vm", "provision", "-f", exampleSpec), c.errOut.String())
	require.Len(t, c.fake.provisioned, 1)
	require.Empty(t, c.fake.cmcProvisioned)
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

func TestVMProvisionCloudMCWait(t *testing.T) {
	res := workflows.ProvisionInstanceResult{
		Instance: workflows.Resource{Kind: "instance", Name: "demo-instance", ID: "inst-1", State: "Running"},
		Volume:   workflows.Resource{Kind: "volume", Name: "demo-instance-data", ID: "vol-1", State: "Ready", Existed: true},
		IngressRules: []workflows.Resource{
			{Kind: "ingress-rule", Name: "tcp-22-0.0.0.0/0", ID: "rule-1", State: "Active"},
		},
		Steps: []workflows.Step{{Name: "instance/demo-instance", Kind: "instance", Resource: "demo-instance", State: "done", ID: "inst-1", UpdatedAt: t0}},
	}
	c := newCLI(t)
	c.fake.run = cloudMCRun
	c.fake.result = res
	require.Equal(t, exitOK, c.run("vm", "provision", "-f", cloudMCSpec, "--wait"), c.errOut.String())
	out := c.out.String()
	assert.Contains(t, out, "Instance demo-instance is running (workflow cloudmc-instance-provision-demo-instance).")
	assert.Regexp(t, `instance\s+demo-instance\s+inst-1\s+Running`, out)
	assert.Regexp(t, `volume\s+demo-instance-data\s+vol-1\s+Ready, attached\s+\(already existed\)`, out)
	assert.Regexp(t, `ingress-rule\s+tcp-22-0.0.0.0/0\s+rule-1\s+Active`, out)

	failed := workflows.ProvisionInstanceResult{
		Instance:   workflows.Resource{Kind: "instance", Name: "demo-instance"},
		FailedStep: "volume-attachment/demo-instance-data",
		Steps: []workflows.Step{
			{Name: "instance/demo-instance", State: "undone", ID: "inst-1"},
			{Name: "volume/demo-instance-data", State: "undone", ID: "vol-1"},
			{Name: "volume-attachment/demo-instance-data", State: "failed", Error: "task failed: 2013: volume in use"},
		},
		Undone: []string{"instance/demo-instance", "volume/demo-instance-data"},
	}
	c = newCLI(t)
	c.fake.run = cloudMCRun
	c.fake.result = failed
	c.fake.resultErr = &starter.RunError{WorkflowID: cloudMCRun.WorkflowID, Status: "Failed", Message: "step failed"}
	require.Equal(t, exitFailed, c.run("vm", "provision", "-f", cloudMCSpec, "--wait"))
	out = c.out.String()
	assert.Contains(t, out, "ProvisionInstance failed.")
	assert.Contains(t, out, "failed step: volume-attachment/demo-instance-data")
	assert.Contains(t, out, "error:       task failed: 2013: volume in use")
	assert.Contains(t, out, "Nothing was left behind.")

	c = newCLI(t)
	c.fake.run = cloudMCRun
	c.fake.result = failed
	c.fake.resultErr = &starter.RunError{WorkflowID: cloudMCRun.WorkflowID, Status: "Failed", Message: "step failed"}
	require.Equal(t, exitFailed, c.run("vm", "provision", "-f", cloudMCSpec, "--wait", "--json"))
	var got workflows.ProvisionInstanceResult
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &got), c.out.String())
	assert.Equal(t, failed.FailedStep, got.FailedStep)

	c = newCLI(t)
	c.fake.run = starter.Run{WorkflowID: "cloudmc-instance-deprovision-demo-instance", RunID: "r", Workflow: workflows.DeprovisionInstanceWorkflowName}
	c.fake.result = workflows.DeprovisionInstanceResult{
		Deleted:     []workflows.Resource{{Kind: "instance", Name: "demo-instance", ID: "inst-1"}},
		AlreadyGone: []workflows.Resource{{Kind: "volume", Name: "demo-instance-data"}},
	}
	require.Equal(t, exitOK, c.run("vm", "deprovision", "-f", cloudMCSpec, "--wait"), c.errOut.String())
	assert.Regexp(t, `instance\s+demo-instance\s+inst-1\s+deleted`, c.out.String())
	assert.Regexp(t, `volume\s+demo-instance-data\s+-\s+already gone`, c.out.String())
}

// A schedule can run a CloudMC provision: it records the ProvisionInstance plan.
func TestScheduleCreateRecordsACloudMCProvision(t *testing.T) {
	c := newCLI(t)
	require.Equal(t, exitOK, c.run("schedule", "create", "nightly-vm", "--cron", "0 22 * * *", "--", "vm", "provision", "-f", cloudMCSpec), c.errOut.String())
	require.Len(t, c.fake.schedules, 1)
	require.Empty(t, c.fake.cmcProvisioned, "nothing is started now")
	p := c.fake.schedules[0].plan
	assert.Equal(t, workflows.ProvisionInstanceWorkflowName, p.Workflow)
	assert.Equal(t, "cloudmc-instance-provision-demo-instance", p.ID)
	assert.Equal(t, "cloudmc", p.Provider)
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
