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
	containerSpec = filepath.Join("..", "..", "examples", "container.yaml")
	containerRun  = starter.Run{WorkflowID: "openvz-container-create-ct100", RunID: "run-1", Workflow: workflows.CreateContainerWorkflowName}
)

func TestContainerCreateWithoutWait(t *testing.T) {
	c := newCLI(t)
	c.fake.run = containerRun
	require.Equal(t, exitOK, c.run("container", "create", "-f", containerSpec), c.errOut.String())
	require.Len(t, c.fake.ctCreated, 1)
	in := c.fake.ctCreated[0]
	assert.Equal(t, workflows.ContainerSpec{Name: "ct100", OSTemplate: "centos-7-x86_64", Hostname: "ct100.example.com", CPUs: 2,
		Memory: "1G", Disk: "10G", IPAddress: "10.0.0.5", Nameservers: []string{"1.1.1.1", "8.8.8.8"}}, in.Container)
	out := c.out.String()
	assert.Contains(t, out, "Started CreateContainer for container ct100.")
	assert.Contains(t, out, "cloudflow runs watch openvz-container-create-ct100")
	assert.True(t, c.fake.closed)
}

func containerSteps(ctState, paramState string) []workflows.Step {
	return []workflows.Step{
		{Name: "container/ct100", Kind: "container", Resource: "ct100", State: ctState, ID: "ct-1", UpdatedAt: t0},
		{Name: "parameters/ct100", Kind: "parameters", Resource: "ct100", State: paramState, ID: "ct-1", UpdatedAt: t0},
	}
}

func TestContainerCreateWaitSucceeds(t *testing.T) {
	c := newCLI(t)
	c.fake.run = containerRun
	c.fake.progress = []workflows.Progress{{Workflow: "CreateContainer", Phase: "running", Steps: []workflows.Step{
		{Name: "container/ct100", Kind: "container", Resource: "ct100", State: "running", OperationID: "job-1", UpdatedAt: t0},
		{Name: "parameters/ct100", Kind: "parameters", Resource: "ct100", State: "pending", UpdatedAt: t0},
	}}}
	c.fake.result = workflows.CreateContainerResult{
		Container: workflows.Resource{Kind: "container", Name: "ct100", ID: "ct-1"},
		Steps:     containerSteps("done", "done"),
	}
	require.Equal(t, exitOK, c.run("container", "create", "-f", containerSpec, "--wait"), c.errOut.String())
	out := c.out.String()
	assert.Contains(t, out, "Started CreateContainer for container ct100 (workflow openvz-container-create-ct100).")
	assert.Contains(t, out, "12:00:01 container/ct100 running op=job-1\n")
	assert.Contains(t, out, "12:00:01 parameters/ct100 done")
	assert.Contains(t, out, "Container ct100 is ready (workflow openvz-container-create-ct100).")
	assert.Regexp(t, `container\s+ct100\s+ct-1\s+done`, out)
	assert.Regexp(t, `parameters\s+ct100\s+ct-1\s+done`, out)
	assert.Empty(t, c.errOut.String())

	c = newCLI(t)
	c.fake.run = containerRun
	c.fake.result = workflows.CreateContainerResult{Container: workflows.Resource{Kind: "container", Name: "ct100", ID: "ct-1", Existed: true}}
	require.Equal(t, exitOK, c.run("container", "create", "-f", containerSpec, "--wait"))
	assert.Contains(t, c.out.String(), "It already existed")
}

func failedContainer() (workflows.CreateContainerResult, error) {
	steps := containerSteps("undone", "failed")
	steps[1].Error = "update container ct100: openvz: PATCH /v0.1/containers/ct-1: 400 Bad Request: ipadd is in use (code 100)"
	res := workflows.CreateContainerResult{
		Container:  workflows.Resource{Kind: "container", Name: "ct100", ID: "ct-1"},
		Steps:      steps,
		FailedStep: "parameters/ct100",
		Undone:     []string{"container/ct100"},
	}
	return res, &starter.RunError{WorkflowID: containerRun.WorkflowID, Status: "Failed", Message: "step parameters/ct100 failed", FailedStep: "parameters/ct100"}
}

func TestContainerCreateWaitFails(t *testing.T) {
	c := newCLI(t)
	c.fake.run = containerRun
	c.fake.result, c.fake.resultErr = failedContainer()
	require.Equal(t, exitFailed, c.run("container", "create", "-f", containerSpec, "--wait"))
	out := c.out.String()
	assert.Contains(t, out, "CreateContainer failed.")
	assert.Contains(t, out, "failed step: parameters/ct100")
	assert.Contains(t, out, "error:       update container ct100: openvz: PATCH /v0.1/containers/ct-1: 400 Bad Request: ipadd is in use (code 100)")
	assert.Contains(t, out, "undone:      container/ct100")
	assert.Contains(t, out, "Nothing was left behind.")
	assert.Contains(t, c.errOut.String(), "error: workflow openvz-container-create-ct100 failed")

	c = newCLI(t)
	c.fake.run = containerRun
	c.fake.result, c.fake.resultErr = failedContainer()
	require.Equal(t, exitFailed, c.run("container", "create", "-f", containerSpec, "--wait", "--json"))
	var res workflows.CreateContainerResult
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &res), "stdout holds the result JSON only:\n%s", c.out.String())
	assert.Equal(t, "parameters/ct100", res.FailedStep)
}

func TestContainerDeleteWait(t *testing.T) {
	run := starter.Run{WorkflowID: "openvz-container-delete-ct100", RunID: "r", Workflow: workflows.DeleteContainerWorkflowName}
	c := newCLI(t)
	c.fake.run = run
	c.fake.result = workflows.DeleteContainerResult{Deleted: []workflows.Resource{{Kind: "container", Name: "ct100", ID: "ct-1"}}}
	require.Equal(t, exitOK, c.run("container", "delete", "-f", containerSpec, "--wait"), c.errOut.String())
	require.Len(t, c.fake.ctDeleted, 1)
	assert.Equal(t, "ct100", c.fake.ctDeleted[0].Name)
	assert.Contains(t, c.out.String(), "Deprovisioned (workflow openvz-container-delete-ct100)")
	assert.Regexp(t, `container\s+ct100\s+ct-1\s+deleted`, c.out.String())

	c = newCLI(t)
	c.fake.run = run
	c.fake.result = workflows.DeleteContainerResult{AlreadyGone: []workflows.Resource{{Kind: "container", Name: "ct100"}}}
	require.Equal(t, exitOK, c.run("container", "delete", "-f", containerSpec, "--wait"))
	assert.Regexp(t, `container\s+ct100\s+-\s+already gone`, c.out.String())

	c = newCLI(t)
	c.fake.run = run
	c.fake.result = workflows.DeleteContainerResult{Steps: []workflows.Step{{Name: "container/ct100", State: "failed", Error: "500 internal"}}}
	c.fake.resultErr = &starter.RunError{WorkflowID: run.WorkflowID, Status: "Failed", Message: "could not delete container/ct100"}
	require.Equal(t, exitFailed, c.run("container", "delete", "-f", containerSpec, "--wait"))
	assert.Contains(t, c.out.String(), "DeleteContainer failed.")
	assert.Contains(t, c.out.String(), "container/ct100: 500 internal")
}

func TestContainerInvalidSpecExitsTwoAndStartsNothing(t *testing.T) {
	path := writeFile(t, "bad.yaml", `provider: openvz
container:
  name: ct100
  ostemplate: centos-7-x86_64
  cpus: 0
  memory: 1GB
  ip: 10.0.0.256
`)
	for _, args := range [][]string{
		{"container", "create", "-f", path},
		{"container", "create", "-f", path, "--wait", "--json"},
		{"container", "delete", "-f", path, "--wait"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			c := newCLI(t)
			assert.Equal(t, exitUsage, c.run(args...))
			assert.Empty(t, c.dials, "a bad spec must not dial Temporal")
			assert.Empty(t, c.out.String())
			stderr := c.errOut.String()
			assert.Contains(t, stderr, "has 3 problems; nothing was started")
			assert.Contains(t, stderr, `container.cpus: "0" must be more than zero`)
			assert.Contains(t, stderr, `container.memory: "1GB" is not a size; write it as 1G: the unit is K, M or G (line 6)`)
			assert.Contains(t, stderr, `container.ip: "10.0.0.256" is not an IPv4 address; use an address such as 10.0.0.5 (line 7)`)
		})
	}
}

// Each command refuses a spec of another provider and names the command
// that runs it.
func TestContainerSpecForTheWrongCommand(t *testing.T) {
	c := newCLI(t)
	assert.Equal(t, exitUsage, c.run("vm", "provision", "-f", containerSpec, "--wait"))
	assert.Contains(t, c.errOut.String(), "is an OpenVZ container spec, which `cloudflow vm` does not run")
	assert.Contains(t, c.errOut.String(), "cloudflow container create -f FILE")
	assert.Empty(t, c.dials)

	c = newCLI(t)
	assert.Equal(t, exitUsage, c.run("instances", "deploy", "-f", containerSpec))
	assert.Contains(t, c.errOut.String(), "cloudflow container create -f FILE")

	for _, other := range []struct{ spec, want string }{
		{exampleSpec, "is a Crusoe VM spec, which `cloudflow container create` does not run; provision it with `cloudflow vm provision -f FILE`"},
		{kraftSpec, "is a KraftCloud instance spec, which `cloudflow container create` does not run; deploy it with `cloudflow instances deploy -f FILE`"},
	} {
		c = newCLI(t)
		assert.Equal(t, exitUsage, c.run("container", "create", "-f", other.spec))
		assert.Contains(t, c.errOut.String(), other.want)
		assert.Empty(t, c.dials)
	}
}

func TestContainerFlagsAndStartErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"container", "create"}, `required flag(s) "file" not set`},
		{[]string{"container", "delete"}, `required flag(s) "file" not set`},
		{[]string{"container", "bogus"}, `unknown command "bogus" for "cloudflow container"`},
		{[]string{"container", "create", "-f", containerSpec, "--timeout", "5m"}, "--timeout only applies with --wait"},
		{[]string{"container", "create", "-f", filepath.Join(t.TempDir(), "nope.yaml")}, "no such file"},
	} {
		c := newCLI(t)
		assert.Equal(t, exitUsage, c.run(tt.args...), strings.Join(tt.args, " "))
		assert.Contains(t, c.errOut.String(), tt.want)
		assert.Empty(t, c.dials)
	}

	c := newCLI(t)
	c.fake.startErr = &starter.AlreadyRunningError{WorkflowID: containerRun.WorkflowID}
	assert.Equal(t, exitOther, c.run("container", "create", "-f", containerSpec))
	assert.Contains(t, c.errOut.String(), "a run for container ct100 is already in progress (workflow openvz-container-create-ct100)")

	c = newCLI(t)
	c.f.IO.In = strings.NewReader("provider: openvz\ncontainer: {name: a, ostemplate: b}\n")
	c.fake.run = containerRun
	assert.Equal(t, exitOK, c.run("container", "create", "-f", "-"), c.errOut.String())
	require.Len(t, c.fake.ctCreated, 1)
	assert.Equal(t, workflows.ContainerSpec{Name: "a", OSTemplate: "b"}, c.fake.ctCreated[0].Container)
}

func TestContainerCommandsCanBeScheduled(t *testing.T) {
	for _, verb := range []string{"create", "delete"} {
		c := newCLI(t)
		require.Equal(t, exitOK, c.run("schedule", "create", "ct-"+verb, "--every", "1h", "--", "container", verb, "-f", containerSpec), c.errOut.String())
		require.Len(t, c.fake.schedules, 1)
		p := c.fake.schedules[0].plan
		assert.Equal(t, "openvz-container-"+verb+"-ct100", p.ID)
		assert.Equal(t, "openvz", p.Provider)
		assert.Equal(t, []string{"ct100"}, p.Resources)
		assert.Empty(t, c.fake.ctCreated, "nothing was started")
	}
}

func TestRunsListByTheOpenVZProvider(t *testing.T) {
	c := newCLI(t)
	require.Equal(t, exitOK, c.run("runs", "list", "--provider", "openvz", "--name", "ct100"), c.errOut.String())
	require.Len(t, c.fake.listOpts, 1)
	assert.Equal(t, "openvz", c.fake.listOpts[0].Provider)

	c = newCLI(t)
	assert.Equal(t, exitUsage, c.run("runs", "list", "--provider", "aws"))
	assert.Contains(t, c.errOut.String(), "is not one of crusoe, kraftcloud, openvz")
}

func TestWorkerTakesTheContainerAPIFromTheEnvironment(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	for _, k := range []string{"CRUSOE_ACCESS_KEY_ID", "CRUSOE_SECRET_KEY", "CRUSOE_API_ENDPOINT", "CRUSOE_PROJECT_ID", "KRAFTCLOUD_TOKEN", "UKC_TOKEN"} {
		t.Setenv(k, "")
	}
	t.Setenv("OPENVZ_API_ENDPOINT", "http://127.0.0.1:5000/v0.1")
	o := &workerOptions{}
	cc, kc, err := o.clients()
	require.NoError(t, err, "the container API alone is a cloud")
	assert.Nil(t, cc)
	assert.Nil(t, kc)
	require.NotNil(t, o.openVZ)
	assert.Equal(t, "http://127.0.0.1:5000/v0.1", o.openVZ.BaseURL())

	t.Setenv("OPENVZ_API_ENDPOINT", "ct-host:5000")
	_, _, err = (&workerOptions{}).clients()
	require.Error(t, err)
	assert.Equal(t, exitUsage, exitCodeOf(err))
	assert.Contains(t, err.Error(), "OPENVZ_API_ENDPOINT")

	t.Setenv("OPENVZ_API_ENDPOINT", "")
	_, _, err = (&workerOptions{}).clients()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "container API: set OPENVZ_API_ENDPOINT")
}
