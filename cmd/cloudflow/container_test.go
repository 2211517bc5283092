package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

var containerSpec = filepath.Join("..", "..", "examples", "container.yaml")

// container create and delete act on the container's stack: create
// applies it with the CreateContainer input the spec describes (nothing
// destructive), delete destroys the openvz stack of that name.
func TestContainerCommandsActThroughTheStack(t *testing.T) {
	c := newCLI(t)
	require.Equal(t, exitOK, c.run("container", "create", "-f", containerSpec), c.errOut.String())
	sent := c.fake.sentOf(t, workflows.StackUpdateApply)
	req := sent.req.(workflows.StackApplyRequest)
	assert.Equal(t, starter.StackRef{Provider: "openvz", Name: "ct100"}, sent.ref)
	require.NotNil(t, req.Spec.OpenVZ)
	assert.Equal(t, workflows.ContainerSpec{Name: "ct100", OSTemplate: "centos-7-x86_64", Hostname: "ct100.example.com", CPUs: 2,
		Memory: "1G", Disk: "10G", IPAddress: "10.0.0.5", Nameservers: []string{"1.1.1.1", "8.8.8.8"}}, req.Spec.OpenVZ.Container)
	assert.False(t, req.AllowDestroy)
	assert.True(t, c.fake.closed)

	c = newCLI(t)
	c.fake.stacks.found = []starter.StackRef{{Provider: "openvz", Name: "ct100"}}
	c.fake.op(workflows.StackUpdateDestroy, workflows.StackOperationResult{
		Operation: workflows.StackOperation{ID: "destroy-2", Kind: "destroy", Run: "stack-openvz-ct100-destroy-2", Outcome: "succeeded"},
		Plan:      &workflows.StackPlan{Changes: []workflows.PlanChange{{Key: "container/ct100", Action: workflows.ActionDelete, ID: "ct-1"}}},
		Apply:     &workflows.ApplyStackResult{Done: []workflows.PlanChange{{Key: "container/ct100", Action: workflows.ActionDelete, ID: "ct-1"}}},
	}, nil)
	require.Equal(t, exitOK, c.run("container", "delete", "-f", containerSpec, "--wait"), c.errOut.String())
	assert.Equal(t, starter.StackRef{Provider: "openvz", Name: "ct100"}, c.fake.sentOf(t, workflows.StackUpdateDestroy).ref)
	assert.Contains(t, c.out.String(), "Destroyed stack openvz/ct100 (destroy-2, run stack-openvz-ct100-destroy-2).")
	assert.Regexp(t, `- deleted\s+container/ct100\s+ct-1`, c.out.String())

	// Without a stack, delete deletes nothing by name.
	c = newCLI(t)
	require.Equal(t, exitNotFound, c.run("container", "delete", "-f", containerSpec, "--wait"))
	assert.Contains(t, c.errOut.String(), "no stack openvz/ct100")
	assert.Empty(t, c.fake.sentKinds())
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
	c.f.IO.In = strings.NewReader("provider: openvz\ncontainer: {name: a, ostemplate: b}\n")
	assert.Equal(t, exitOK, c.run("container", "create", "-f", "-"), c.errOut.String())
	assert.Equal(t, workflows.ContainerSpec{Name: "a", OSTemplate: "b"},
		c.fake.sentOf(t, workflows.StackUpdateApply).req.(workflows.StackApplyRequest).Spec.OpenVZ.Container)
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
