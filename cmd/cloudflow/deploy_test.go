package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

var (
	kraftSpec = filepath.Join("..", "..", "examples", "kraftcloud-app.yaml")
	deployRun = starter.Run{WorkflowID: "kraftcloud-instance-deploy-demo-app", RunID: "run-1", Workflow: workflows.DeployInstanceWorkflowName}
)

func TestDeployWithoutWait(t *testing.T) {
	c := newCLI(t)
	c.fake.run = deployRun
	require.Equal(t, exitOK, c.run("instances", "deploy", "-f", kraftSpec), c.errOut.String())
	require.Len(t, c.fake.deployed, 1)
	in := c.fake.deployed[0]
	assert.Equal(t, "demo-app", in.Instance.Name)
	assert.Equal(t, "demo-app-data", in.Volume.Name)
	assert.Equal(t, "demo-app-web", in.ServiceGroup.Name)
	assert.Equal(t, map[string]string{"LOG_LEVEL": "info"}, in.Instance.Env)
	out := c.out.String()
	assert.Contains(t, out, "Started DeployInstance for instance demo-app.")
	assert.Contains(t, out, "workflow: kraftcloud-instance-deploy-demo-app")
	assert.Contains(t, out, "cloudflow runs watch kraftcloud-instance-deploy-demo-app")
	assert.True(t, c.fake.closed)

	c = newCLI(t)
	c.fake.run = deployRun
	require.Equal(t, exitOK, c.run("instances", "deploy", "-f", kraftSpec, "--json"))
	var run starter.Run
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &run))
	assert.Equal(t, deployRun, run)
}

func deployProgress() []workflows.Progress {
	step := func(name, state, id string) workflows.Step {
		kind, res, _ := strings.Cut(name, "/")
		return workflows.Step{Name: name, Kind: kind, Resource: res, State: state, ID: id, UpdatedAt: t0}
	}
	return []workflows.Progress{
		{Workflow: "DeployInstance", Phase: "running", Steps: []workflows.Step{
			step("volume/demo-app-data", "running", ""),
			step("service-group/demo-app-web", "running", ""),
			step("instance/demo-app", "pending", ""),
		}},
		{Workflow: "DeployInstance", Phase: "running", Steps: []workflows.Step{
			step("volume/demo-app-data", "done", "vol-1"),
			step("service-group/demo-app-web", "done", "sg-1"),
			step("instance/demo-app", "running", "inst-1"),
		}},
	}
}

func TestDeployWaitSucceeds(t *testing.T) {
	c := newCLI(t)
	c.fake.run = deployRun
	c.fake.progress = deployProgress()
	c.fake.result = workflows.DeployInstanceResult{
		Volume:       workflows.Resource{Kind: "volume", Name: "demo-app-data", ID: "vol-1", State: "available", Existed: true},
		ServiceGroup: workflows.Resource{Kind: "service-group", Name: "demo-app-web", ID: "sg-1"},
		Instance:     workflows.Resource{Kind: "instance", Name: "demo-app", ID: "inst-1", State: "running"},
		FQDN:         "demo-app-web.fra0.kraft.host",
		Steps: []workflows.Step{
			{Name: "volume/demo-app-data", State: "done", ID: "vol-1", UpdatedAt: t0},
			{Name: "service-group/demo-app-web", State: "done", ID: "sg-1", UpdatedAt: t0},
			{Name: "instance/demo-app", State: "done", ID: "inst-1", UpdatedAt: t0},
		},
	}
	require.Equal(t, exitOK, c.run("instances", "deploy", "-f", kraftSpec, "--wait"), c.errOut.String())
	out := c.out.String()
	assert.Contains(t, out, "Started DeployInstance for instance demo-app (workflow kraftcloud-instance-deploy-demo-app).")
	assert.Contains(t, out, "12:00:01 instance/demo-app running id=inst-1\n")
	assert.Contains(t, out, "12:00:01 instance/demo-app done\n")
	assert.Contains(t, out, "Instance demo-app is running (workflow kraftcloud-instance-deploy-demo-app).")
	assert.Contains(t, out, "fqdn: demo-app-web.fra0.kraft.host")
	assert.Regexp(t, `instance\s+demo-app\s+inst-1\s+running`, out)
	assert.Regexp(t, `service-group\s+demo-app-web\s+sg-1\s+-`, out)
	assert.Regexp(t, `volume\s+demo-app-data\s+vol-1\s+available\s+\(already existed\)`, out)
	assert.Empty(t, c.errOut.String())

	// An instance alone: no rows for what was not asked for.
	c = newCLI(t)
	c.fake.run = deployRun
	c.fake.result = workflows.DeployInstanceResult{Instance: workflows.Resource{Kind: "instance", Name: "demo-app", ID: "inst-1", State: "running"}}
	require.Equal(t, exitOK, c.run("instances", "deploy", "-f", kraftSpec, "--wait"))
	assert.NotContains(t, c.out.String(), "volume")
}

func failedDeploy() (workflows.DeployInstanceResult, error) {
	res := workflows.DeployInstanceResult{
		Instance:   workflows.Resource{Kind: "instance", Name: "demo-app", ID: "inst-1"},
		FailedStep: "instance/demo-app",
		Steps: []workflows.Step{
			{Name: "volume/demo-app-data", State: "undo-failed", ID: "vol-1", Error: "delete volume: 500 internal"},
			{Name: "service-group/demo-app-web", State: "undone", ID: "sg-1"},
			{Name: "instance/demo-app", State: "undone", ID: "inst-1", Error: "instance demo-app did not get to running: crashed (code 12)"},
		},
		Undone:    []string{"instance/demo-app", "service-group/demo-app-web"},
		NotUndone: []workflows.UndoFailure{{Step: "volume/demo-app-data", Kind: "volume", Name: "demo-app-data", ID: "vol-1", Error: "delete volume: 500 internal"}},
	}
	return res, &starter.RunError{WorkflowID: deployRun.WorkflowID, Status: "Failed", Message: "step instance/demo-app failed: crashed", FailedStep: "instance/demo-app"}
}

func TestDeployWaitFails(t *testing.T) {
	c := newCLI(t)
	c.fake.run = deployRun
	c.fake.progress = deployProgress()
	c.fake.result, c.fake.resultErr = failedDeploy()
	require.Equal(t, exitFailed, c.run("instances", "deploy", "-f", kraftSpec, "--wait"))
	out := c.out.String()
	assert.Contains(t, out, "DeployInstance failed.")
	assert.Contains(t, out, "failed step: instance/demo-app")
	assert.Contains(t, out, "error:       instance demo-app did not get to running: crashed (code 12)")
	assert.Contains(t, out, "undone:      instance/demo-app, service-group/demo-app-web")
	assert.Contains(t, out, "Could NOT be undone")
	assert.Regexp(t, `volume\s+demo-app-data\s+vol-1\s+delete volume: 500 internal`, out)
	assert.Contains(t, c.errOut.String(), "error: workflow kraftcloud-instance-deploy-demo-app failed")

	c = newCLI(t)
	c.fake.run = deployRun
	c.fake.result, c.fake.resultErr = failedDeploy()
	require.Equal(t, exitFailed, c.run("instances", "deploy", "-f", kraftSpec, "--wait", "--json"))
	var res workflows.DeployInstanceResult
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &res), "stdout holds the result JSON only:\n%s", c.out.String())
	assert.Equal(t, "instance/demo-app", res.FailedStep)
	assert.Equal(t, "demo-app-data", res.NotUndone[0].Name)
}

func TestUndeployWait(t *testing.T) {
	c := newCLI(t)
	c.fake.run = starter.Run{WorkflowID: "kraftcloud-instance-undeploy-demo-app", RunID: "r", Workflow: workflows.UndeployInstanceWorkflowName}
	c.fake.result = workflows.UndeployInstanceResult{
		Deleted:     []workflows.Resource{{Kind: "instance", Name: "demo-app", ID: "inst-1"}, {Kind: "volume", Name: "demo-app-data", ID: "vol-1"}},
		AlreadyGone: []workflows.Resource{{Kind: "service-group", Name: "demo-app-web"}},
	}
	require.Equal(t, exitOK, c.run("instances", "undeploy", "-f", kraftSpec, "--wait"), c.errOut.String())
	require.Len(t, c.fake.undeployed, 1)
	assert.Equal(t, "demo-app", c.fake.undeployed[0].InstanceName)
	assert.Equal(t, "demo-app-web", c.fake.undeployed[0].ServiceGroupName)
	assert.Equal(t, "demo-app-data", c.fake.undeployed[0].VolumeName)
	out := c.out.String()
	assert.Contains(t, out, "Deprovisioned (workflow kraftcloud-instance-undeploy-demo-app)")
	assert.Regexp(t, `instance\s+demo-app\s+inst-1\s+deleted`, out)
	assert.Regexp(t, `service-group\s+demo-app-web\s+-\s+already gone`, out)

	c = newCLI(t)
	c.fake.run = starter.Run{WorkflowID: "kraftcloud-instance-undeploy-demo-app", RunID: "r", Workflow: workflows.UndeployInstanceWorkflowName}
	c.fake.result = workflows.UndeployInstanceResult{Steps: []workflows.Step{{Name: "instance/demo-app", State: "failed", Error: "401 unauthorized"}}}
	c.fake.resultErr = &starter.RunError{WorkflowID: "kraftcloud-instance-undeploy-demo-app", Status: "Failed", Message: "could not delete instance/demo-app"}
	require.Equal(t, exitFailed, c.run("instances", "undeploy", "-f", kraftSpec, "--wait"))
	assert.Contains(t, c.out.String(), "UndeployInstance failed.")
	assert.Contains(t, c.out.String(), "instance/demo-app: 401 unauthorized")
}

func TestDeployInvalidSpecExitsTwoAndStartsNothing(t *testing.T) {
	path := writeFile(t, "bad.yaml", `provider: kraftcloud
instance:
  name: demo_app
  image: nginx
volume: {name: data, sizeMB: 0, at: data}
`)
	for _, args := range [][]string{
		{"instances", "deploy", "-f", path},
		{"instances", "deploy", "-f", path, "--wait", "--json"},
		{"instances", "undeploy", "-f", path, "--wait"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			c := newCLI(t)
			assert.Equal(t, exitUsage, c.run(args...))
			assert.Empty(t, c.dials, "a bad spec must not dial Temporal")
			assert.Empty(t, c.out.String())
			stderr := c.errOut.String()
			assert.Contains(t, stderr, "has 3 problems; nothing was started")
			assert.Contains(t, stderr, `instance.name: "demo_app" is not a valid instance name`)
			assert.Contains(t, stderr, `volume.sizeMB: "0" must be more than zero`)
			assert.Contains(t, stderr, `volume.at: "data" is not an absolute path; mount it at a path starting with /, e.g. /data (line 5)`)
		})
	}
}

// Each command refuses the other's spec, and says which command runs it.
func TestSpecForTheWrongCommand(t *testing.T) {
	c := newCLI(t)
	assert.Equal(t, exitUsage, c.run("vm", "provision", "-f", kraftSpec, "--wait"))
	assert.Contains(t, c.errOut.String(), "is a KraftCloud instance spec")
	assert.Contains(t, c.errOut.String(), "cloudflow instances deploy -f FILE")
	assert.Empty(t, c.dials)

	c = newCLI(t)
	assert.Equal(t, exitUsage, c.run("instances", "deploy", "-f", exampleSpec))
	assert.Contains(t, c.errOut.String(), "is a Crusoe VM spec")
	assert.Contains(t, c.errOut.String(), "cloudflow vm provision -f FILE")
	assert.Empty(t, c.dials)
}

func TestDeployFlagsAndStartErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"instances", "deploy"}, `required flag(s) "file" not set`},
		{[]string{"instances", "undeploy"}, `required flag(s) "file" not set`},
		{[]string{"instances", "deploy", "-f", kraftSpec, "--timeout", "5m"}, "--timeout only applies with --wait"},
		{[]string{"instances", "deploy", "-f", kraftSpec, "extra"}, `unknown command "extra"`},
		{[]string{"instances", "deploy", "-f", filepath.Join(t.TempDir(), "nope.yaml")}, "no such file"},
	} {
		c := newCLI(t)
		assert.Equal(t, exitUsage, c.run(tt.args...), strings.Join(tt.args, " "))
		assert.Contains(t, c.errOut.String(), tt.want)
		assert.Empty(t, c.dials)
	}

	c := newCLI(t)
	c.fake.startErr = &starter.AlreadyRunningError{WorkflowID: deployRun.WorkflowID}
	assert.Equal(t, exitOther, c.run("instances", "deploy", "-f", kraftSpec))
	assert.Contains(t, c.errOut.String(), "a run for instance demo-app is already in progress (workflow kraftcloud-instance-deploy-demo-app)")

	c = newCLI(t)
	c.f.IO.In = strings.NewReader("provider: kraftcloud\ninstance: {name: a, image: b}\n")
	c.fake.run = deployRun
	assert.Equal(t, exitOK, c.run("instances", "deploy", "-f", "-"), c.errOut.String())
	require.Len(t, c.fake.deployed, 1)
	assert.Nil(t, c.fake.deployed[0].Volume)
}
