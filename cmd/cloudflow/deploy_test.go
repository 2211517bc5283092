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

var kraftSpec = filepath.Join("..", "..", "examples", "kraftcloud-app.yaml")

// instances deploy and undeploy act on the instance's stack: deploy
// applies it with the DeployInstance input the spec describes (nothing
// destructive), undeploy destroys the kraftcloud stack of that name.
func TestDeployCommandsActThroughTheStack(t *testing.T) {
	c := newCLI(t)
	require.Equal(t, exitOK, c.run("instances", "deploy", "-f", kraftSpec), c.errOut.String())
	sent := c.fake.sentOf(t, workflows.StackUpdateApply)
	assert.Equal(t, starter.StackRef{Provider: "kraftcloud", Name: "demo-app"}, sent.ref)
	req := sent.req.(workflows.StackApplyRequest)
	require.NotNil(t, req.Spec.KraftCloud)
	in := req.Spec.KraftCloud
	assert.Equal(t, "demo-app", in.Instance.Name)
	assert.Equal(t, "demo-app-data", in.Volume.Name)
	assert.Equal(t, "demo-app-web", in.ServiceGroup.Name)
	assert.Equal(t, map[string]string{"LOG_LEVEL": "info"}, in.Instance.Env)
	assert.False(t, req.AllowDestroy)

	c = newCLI(t)
	c.fake.stacks.found = []starter.StackRef{{Provider: "kraftcloud", Name: "demo-app"}}
	require.Equal(t, exitOK, c.run("instances", "undeploy", "-f", kraftSpec), c.errOut.String())
	assert.Equal(t, starter.StackRef{Provider: "kraftcloud", Name: "demo-app"}, c.fake.sentOf(t, workflows.StackUpdateDestroy).ref)
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
	c.f.IO.In = strings.NewReader("provider: kraftcloud\ninstance: {name: a, image: b}\n")
	assert.Equal(t, exitOK, c.run("instances", "deploy", "-f", "-"), c.errOut.String())
	assert.Nil(t, c.fake.sentOf(t, workflows.StackUpdateApply).req.(workflows.StackApplyRequest).Spec.KraftCloud.Volume)
}
