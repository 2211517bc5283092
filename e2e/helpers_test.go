package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/worker"
	"github.com/cloudflow/cloudflow/workflows"
)

// fresh resets the simulator and returns a task queue of the test's own, so
// that workers of other tests never pick up its work.
func fresh(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	if err := admin.Reset(ctx); err != nil {
		t.Fatalf("reset simulator: %v", err)
	}
	if err := admin.SetOperationLatency(ctx, "crusoe", operationLatency); err != nil {
		t.Fatalf("set latency: %v", err)
	}
	if err := admin.SetOperationLatency(ctx, "kraftcloud", kraftLatency); err != nil {
		t.Fatalf("set latency: %v", err)
	}
	return "e2e-" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-")
}

// startWorker runs a worker in this process until the test ends.
func startWorker(t testing.TB, c client.Client, taskQueue string) {
	t.Helper()
	w, err := worker.New(c, worker.Options{TaskQueue: taskQueue, Crusoe: crusoeClientAt(t, sim.URL), KraftCloud: kraftClient(t), OpenVZ: ovzClient(t), CloudMC: cmcClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// crusoeClientAt talks to a simulator's Crusoe API.
func crusoeClientAt(t testing.TB, simURL string) *crusoe.Client {
	t.Helper()
	cc, err := crusoe.New(
		crusoe.WithBaseURL(simURL+"/v1alpha5"),
		crusoe.WithCredentials(cloudsim.DefaultCrusoeAccessKeyID, cloudsim.DefaultCrusoeSecretKey),
		crusoe.WithProjectID(cloudsim.DefaultCrusoeProjectID),
	)
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

// kraftClient talks to the simulator's KraftCloud API.
func kraftClient(t testing.TB) *kraftcloud.Client {
	t.Helper()
	return kraftClientAt(t, sim.URL)
}

// kraftClientAt talks to a simulator's KraftCloud API.
func kraftClientAt(t testing.TB, simURL string) *kraftcloud.Client {
	t.Helper()
	kc, err := kraftcloud.New(kraftcloud.WithBaseURL(simURL+"/v1"), kraftcloud.WithToken(cloudsim.DefaultKraftCloudToken))
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

// startWorkerProcess runs `cloudflow worker` as a separate process, which a
// test can kill outright, and waits until it polls the task queue. Variables
// in env ("NAME=value") override those of crusoeEnv.
func startWorkerProcess(t testing.TB, c client.Client, taskQueue string, env ...string) *exec.Cmd {
	t.Helper()
	return startWorkerWith(t, c, taskQueue, env, "--task-queue", taskQueue)
}

// startWorkerWith runs `cloudflow worker args...` with env added to the
// test's, and waits until it polls taskQueue.
func startWorkerWith(t testing.TB, c client.Client, taskQueue string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(cliBinary, append([]string{"worker"}, args...)...)
	cmd.Env = append(append(os.Environ(), crusoeEnv()...), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("worker output:\n%s", out.String())
		}
	})
	waitFor(t, 30*time.Second, "the worker to poll "+taskQueue, func() bool {
		return pollerCount(c, taskQueue) > 0
	})
	return cmd
}

func pollerCount(c client.Client, taskQueue string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.DescribeTaskQueue(ctx, taskQueue, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
	if err != nil {
		return 0
	}
	n := 0
	for _, p := range resp.GetPollers() {
		if time.Since(p.GetLastAccessTime().AsTime()) < 10*time.Second {
			n++
		}
	}
	return n
}

func kill(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cli runs the cloudflow binary and returns its output and exit code.
func cli(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return cliWith(t, nil, args...)
}

// cliWith is cli with env added to the test's.
func cliWith(t testing.TB, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cliBinary, args...)
	cmd.Env = append(append(os.Environ(), crusoeEnv()...), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run cloudflow %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

// writeSpec writes a spec for a VM called name, with two disks and one rule.
func writeSpec(t *testing.T, name string) string {
	t.Helper()
	spec := `provider: crusoe
vm:
  name: ` + name + `
  type: c1a.2x
  location: us-northcentral1-a
  image: ubuntu22.04
  sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILwzAx+dSGF28fpgWXlDr1SQDgY1cdAAYPhlFCNEwF4i e2e@cloudflow"
disks:
  - name: data
    size: 10GiB
  - name: scratch
    size: 20GiB
firewallRules:
  - name: ssh
    direction: ingress
    protocols: [tcp]
    sources: [0.0.0.0/0]
    destinations: [vm]
    destinationPorts: ["22"]
`
	p := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(p, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// input is the workflow input writeSpec's file stands for, for tests that
// start workflows through the starter package.
func input(name string) workflows.ProvisionVMInput {
	return workflows.ProvisionVMInput{
		VM: workflows.VMSpec{Name: name, Type: "c1a.2x", Location: "us-northcentral1-a", Image: "ubuntu22.04",
			SSHPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILwzAx+dSGF28fpgWXlDr1SQDgY1cdAAYPhlFCNEwF4i e2e@cloudflow"},
		Disks: []workflows.DiskSpec{
			{Name: name + "-data", Size: "10GiB", Type: "persistent-ssd", Mode: "read-write"},
			{Name: name + "-scratch", Size: "20GiB", Type: "persistent-ssd", Mode: "read-write"},
		},
		FirewallRules: []workflows.FirewallRuleSpec{{
			Name: name + "-ssh", VPCNetwork: "default", Direction: "ingress", Action: "allow", Protocols: []string{"tcp"},
			Sources: []string{"0.0.0.0/0"}, Destinations: []string{workflows.TargetVM}, DestinationPorts: []string{"22"},
		}},
		Timeouts: workflows.Timeouts{Operation: 2 * time.Minute, Heartbeat: 3 * time.Second},
	}
}

func inventory(t testing.TB) cloudsim.Inventory {
	t.Helper()
	inv, err := admin.Inventory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

type simVM struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	State string `json:"state"`
	Disks []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"disks"`
}

func inventoryVMs(t *testing.T) []simVM {
	t.Helper()
	var out []simVM
	for _, raw := range inventory(t)["crusoe"]["vms"] {
		var vm simVM
		if err := json.Unmarshal(raw, &vm); err != nil {
			t.Fatal(err)
		}
		out = append(out, vm)
	}
	return out
}

// requests returns the simulator's journal entries matching method and a
// path suffix.
func requests(t testing.TB, method, pathSuffix string) []cloudsim.RequestRecord {
	t.Helper()
	all, err := admin.Requests(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []cloudsim.RequestRecord
	for _, r := range all {
		if r.Method == method && strings.HasSuffix(r.Path, pathSuffix) {
			out = append(out, r)
		}
	}
	return out
}

func newStarter(t *testing.T, c client.Client, taskQueue string) *starter.Starter {
	return starter.New(c, taskQueue)
}

// waitForVMOperation waits until the run's VM step is waiting on its create
// operation: the moment to kill a worker or cancel the run.
func waitForVMOperation(t *testing.T, s *starter.Starter, run starter.Run) {
	t.Helper()
	waitFor(t, 60*time.Second, "the vm step to wait on its operation", func() bool {
		p, err := s.Progress(context.Background(), run.WorkflowID, run.RunID)
		if err != nil {
			return false
		}
		for _, st := range p.Steps {
			if st.Kind == workflows.KindVM && st.State == workflows.StepRunning && st.OperationID != "" {
				return true
			}
		}
		return false
	})
}
