package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/workflows"
)

// $CLOUDFLOW_TASK_QUEUE is the task queue of every command and the worker;
// --task-queue overrides it.
func TestTaskQueueFromEnvironment(t *testing.T) {
	c := newCLI(t)
	require.Equal(t, exitOK, c.run("runs", "list"))
	assert.Equal(t, workflows.TaskQueue, c.dials[0].TaskQueue)

	t.Setenv(envTaskQueue, "night-shift")
	for _, args := range [][]string{{"runs", "list"}, {"stacks", "list"}, {"schedule", "list"}, {"instances", "start", "--provider", "kraftcloud", "web-1"}} {
		c := newCLI(t)
		require.Equal(t, exitOK, c.run(args...), c.errOut.String())
		assert.Equal(t, "night-shift", c.dials[0].TaskQueue, args)
	}
	c = newCLI(t)
	require.Equal(t, exitOK, c.run("--task-queue", "day-shift", "runs", "list"))
	assert.Equal(t, "day-shift", c.dials[0].TaskQueue)

	// The worker and the dev environment read the same flag.
	for _, path := range [][]string{{"worker"}, {"dev"}} {
		cmd, _, err := newRootCmd(newCLI(t).f).Find(path)
		require.NoError(t, err)
		fl := cmd.InheritedFlags().Lookup("task-queue")
		require.NotNil(t, fl, path)
		assert.Equal(t, "night-shift", fl.DefValue, path)
	}
	c = newCLI(t)
	require.Equal(t, exitOK, c.run("worker", "--help"))
	assert.Contains(t, c.out.String(), "$CLOUDFLOW_TASK_QUEUE")
}

// Every command that talks to a running simulator finds it at
// $CLOUDSIM_URL, as `cloudflow dev` says to export it; --endpoint
// overrides it.
func TestSimCommandsReadCloudsimURL(t *testing.T) {
	url, _ := startSim(t, "--operation-latency", "0s")
	t.Setenv(envSimURL, url)

	c := newCLI(t)
	require.Equal(t, exitOK, c.run("sim", "seed", "--kraftcloud-instances", "2", "--prefix", "envy"), c.errOut.String())
	c = newCLI(t)
	require.Equal(t, exitOK, c.run("sim", "inventory"), c.errOut.String())
	assert.Contains(t, c.out.String(), "envy-2")

	c = newCLI(t)
	require.Equal(t, exitOK, c.run("sim", "fault", "add", "error:GET:/v1alpha5/**:status=503,times=2"), c.errOut.String())
	id := strings.Fields(strings.TrimPrefix(c.out.String(), "Added fault "))[0]
	id = strings.TrimSuffix(id, ":")
	c = newCLI(t)
	require.Equal(t, exitOK, c.run("sim", "fault", "list"), c.errOut.String())
	assert.Regexp(t, `(?m)^`+id+`\s+error\s+GET\s+/v1alpha5/\*\*\s+0\s+0\s+-$`, c.out.String())
	c = newCLI(t)
	require.Equal(t, exitOK, c.run("sim", "fault", "remove", id), c.errOut.String())
	c = newCLI(t)
	assert.Equal(t, exitNotFound, c.run("sim", "fault", "remove", id))
	assert.Contains(t, c.errOut.String(), "no fault "+id)
	c = newCLI(t)
	require.Equal(t, exitOK, c.run("sim", "fault", "list", "--json"))
	assert.Equal(t, "[]\n", c.out.String())

	// --endpoint wins over the environment.
	c = newCLI(t)
	assert.Equal(t, exitOther, c.run("sim", "inventory", "--endpoint", "http://127.0.0.1:1"))

	// A bad $CLOUDSIM_URL is named as such.
	t.Setenv(envSimURL, "127.0.0.1:8787")
	for _, args := range [][]string{{"sim", "inventory"}, {"sim", "seed", "--kraftcloud-instances", "1"}, {"sim", "fault", "list"}} {
		c := newCLI(t)
		assert.Equal(t, exitUsage, c.run(args...), args)
		assert.Contains(t, c.errOut.String(), `$CLOUDSIM_URL "127.0.0.1:8787": want the simulator's base URL`, args)
	}
}
