package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/internal/devserver"
	"github.com/cloudflow/cloudflow/workflows"
)

// TestDevEndToEnd runs `cloudflow dev` and drives the example spec through it
// with the real commands: provision, deprovision, inventory. It needs the
// Temporal CLI (make bin/temporal, or TEMPORAL_CLI) and is skipped without it.
func TestDevEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	if _, err := devserver.FindCLI(); err != nil {
		t.Skipf("end-to-end: %v", err)
	}
	ready := filepath.Join(t.TempDir(), "dev.env")
	dev := newCLI(t)
	dev.f = newFactory(dev.f.IO) // the real Temporal dialer
	ctx, stop := context.WithCancel(context.Background())
	dev.f.NotifyContext = func(parent context.Context) (context.Context, context.CancelFunc) { return ctx, stop }
	done := make(chan int, 1)
	go func() {
		done <- dev.run("dev", "--temporal-port", "0", "--ui-port", "0", "--sim-listen", "127.0.0.1:0",
			"--operation-latency", "0s", "--ready-file", ready)
	}()
	defer func() {
		stop()
		select {
		case code := <-done:
			assert.Equal(t, exitOK, code, dev.errOut.String())
		case <-time.After(60 * time.Second):
			t.Error("dev did not stop")
		}
		_, err := os.Stat(ready)
		assert.True(t, os.IsNotExist(err), "the ready file is removed on the way out")
	}()
	require.Eventually(t, func() bool {
		select {
		case code := <-done:
			done <- code
			return true // it exited early: fail below with its output
		default:
		}
		_, err := os.Stat(ready)
		return err == nil
	}, 90*time.Second, 100*time.Millisecond)
	data, err := os.ReadFile(ready)
	require.NoError(t, err, "dev did not come up: %s%s", dev.out.String(), dev.errOut.String())
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		env[k] = v
	}
	require.NotEmpty(t, env["TEMPORAL_ADDRESS"])
	require.NotEmpty(t, env["CLOUDSIM_URL"])
	assert.Contains(t, dev.out.String(), "cloudflow dev is up.")

	cmd := func(args ...string) (*cli, int) {
		c := newCLI(t)
		c.f = newFactory(c.f.IO)
		return c, c.run(append([]string{"--address", env["TEMPORAL_ADDRESS"]}, args...)...)
	}

	c, code := cmd("vm", "provision", "-f", exampleSpec, "--wait", "--json", "--timeout", "2m")
	require.Equal(t, exitOK, code, "stdout: %s\nstderr: %s", c.out.String(), c.errOut.String())
	var res workflows.StackOperationResult
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &res), "--json prints only the result: %q", c.out.String())
	assert.Equal(t, "demo-vm", res.State.Name)
	vm, ok := res.State.Resource("vm/demo-vm")
	require.True(t, ok, "%+v", res.State.Resources)
	assert.NotEmpty(t, vm.ID)
	assert.Len(t, res.State.Resources, 4, "the VM, two disks and a rule")

	c, code = cmd("output", "demo-vm", "sshDestination")
	require.Equal(t, exitOK, code, c.errOut.String())
	assert.Equal(t, vm.Outputs["sshDestination"]+"\n", c.out.String())

	t.Setenv(envSimURL, env["CLOUDSIM_URL"]) // as `cloudflow dev` says to export it
	c, code = cmd("sim", "inventory")
	require.Equal(t, exitOK, code, c.errOut.String())
	assert.Contains(t, c.out.String(), "demo-vm-scratch")

	c, code = cmd("vm", "deprovision", "-f", exampleSpec, "--wait", "--timeout", "2m")
	require.Equal(t, exitOK, code, "stdout: %s\nstderr: %s", c.out.String(), c.errOut.String())
	assert.Contains(t, c.out.String(), "Destroyed stack crusoe/demo-vm")

	c, code = cmd("sim", "inventory", "--expect-empty")
	assert.Equal(t, exitOK, code, c.out.String()+c.errOut.String())

	c, code = cmd("runs", "list", "--json")
	require.Equal(t, exitOK, code, c.errOut.String())
	assert.Contains(t, c.out.String(), res.Operation.Run+"-ProvisionVM", "the stack's runs are cloudflow runs too")
}
