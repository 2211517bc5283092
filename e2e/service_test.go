package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// serviceEnv is the environment of a service that starts cloudflow runs:
// the Temporal connection and nothing else, no cloud credentials, which stay
// with the worker.
func serviceEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TEMPORAL_") && !strings.HasPrefix(kv, "CRUSOE_") &&
			!strings.HasPrefix(kv, "KRAFTCLOUD_") && !strings.HasPrefix(kv, "UKC_") && !strings.HasPrefix(kv, "CLOUDFLOW_") {
			env = append(env, kv)
		}
	}
	for _, kv := range crusoeEnv() {
		if strings.HasPrefix(kv, "TEMPORAL_") || strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return env
}

// buildExample builds the example program in examples/<dir>, and returns a
// function that runs it, as a service runs, on task queue tq.
func buildExample(t *testing.T, dir, tq string) func(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), dir)
	build, err := exec.Command("go", "build", "-o", bin, "../examples/"+dir).CombinedOutput()
	require.NoError(t, err, string(build))
	return func(t *testing.T, args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, bin, append([]string{"--task-queue", tq, "--timeout", "50s"}, args...)...)
		cmd.Env = serviceEnv()
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil:
			t.Fatalf("run examples/%s: %v", dir, err)
		}
		return o.String(), e.String(), code
	}
}

// The example Go service (examples/service), built and run as its README
// says, against the dev server and the simulator: it deploys an instance and
// prints its progress and result, creates and deletes a stop schedule,
// reports a failed run with what was undone, and refuses to start a second
// deploy of an instance while one runs.
func TestServiceExample(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	ctx := context.Background()

	service := buildExample(t, "service", tq)

	t.Run("deploys, and schedules a stop", func(t *testing.T) {
		out, errOut, code := service(t, "--instance", "svc-app", "--stop-cron", "0 22 * * *")
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		require.Contains(t, out, "started DeployInstance kraftcloud-instance-deploy-svc-app (run ")
		require.Contains(t, out, "progress completed: volume/svc-app-data done, service-group/svc-app-web done, instance/svc-app done\n")
		m := regexp.MustCompile(`deployed svc-app: instance (\S+) running\n`).FindStringSubmatch(out)
		require.NotNil(t, m, "no deployed line:\n%s", out)

		inv := kraftInv(t)
		require.Len(t, inv.Instances, 1)
		inst := inv.Instances[0]
		require.Equal(t, "svc-app", inst.Name)
		require.Equal(t, m[1], inst.UUID, "the printed result is the instance in the cloud")
		require.Equal(t, "running", inst.State)
		require.Len(t, inst.Volumes, 1)
		require.Equal(t, "/data", inst.Volumes[0].At)
		require.NotNil(t, inst.ServiceGroup)
		require.Equal(t, "svc-app-web", inst.ServiceGroup.Name)
		require.Contains(t, out, "  volume svc-app-data "+inst.Volumes[0].UUID+"\n")

		stopID := starter.FleetWorkflowID(workflows.FleetInput{Provider: workflows.ProviderKraftCloud, Instances: []string{"svc-app"}})
		require.Contains(t, out, "schedule svc-app-stop created: StopInstances "+stopID+", ")
		require.Contains(t, out, ", overlap skip, next run ")
		require.Contains(t, out, "T22:00:00Z\n")
		require.Contains(t, out, "schedule svc-app-stop deleted\n")
		_, err := c.ScheduleClient().GetHandle(ctx, "svc-app-stop").Describe(ctx)
		var nf *serviceerror.NotFound
		require.ErrorAs(t, err, &nf, "the schedule was deleted")
	})

	t.Run("reports a failed run", func(t *testing.T) {
		_, err := admin.AddFault(ctx, cloudsim.Fault{Cloud: "kraftcloud", Method: "POST", Path: "/v1/instances",
			Action: cloudsim.FaultError, Status: 400, Message: "image not found", Times: 1})
		require.NoError(t, err)
		out, errOut, code := service(t, "--instance", "svc-bad")
		require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		require.Contains(t, out, "deploy failed: step instance/svc-bad failed: ")
		require.Contains(t, out, "image not found")
		require.Contains(t, out, "failed step: instance/svc-bad\n")
		require.Contains(t, out, "undone: volume/svc-bad-data, service-group/svc-bad-web\n")
		require.NotContains(t, out, "NOT undone")
		for _, it := range kraftInv(t).Instances {
			require.NotEqual(t, "svc-bad", it.Name, "the failed deploy left its instance")
		}
		for _, v := range kraftInv(t).Volumes {
			require.NotEqual(t, "svc-bad-data", v.Name, "the failed deploy left its volume")
		}
	})

	t.Run("refuses a second deploy while one runs", func(t *testing.T) {
		// A deploy of svc-busy on a queue no worker polls stays open.
		idle := starter.New(c, tq+"-idle")
		run, err := idle.DeployInstance(ctx, workflows.DeployInstanceInput{
			Instance: workflows.KraftCloudInstanceSpec{Name: "svc-busy", Image: "nginx:latest"},
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.TerminateWorkflow(ctx, run.WorkflowID, run.RunID, "test over") })

		out, errOut, code := service(t, "--instance", "svc-busy")
		require.Equal(t, 3, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		require.Contains(t, errOut, "a deploy of svc-busy is already running (workflow kraftcloud-instance-deploy-svc-busy)")
		require.NotContains(t, out, "started")
	})
}

// The example stack service (examples/stack-service), built and run as its
// README says: it plans and applies a KraftCloud app's stack and prints the
// app's addresses from the stack's state; a changed memory size is a
// replace, which it refuses without --allow-destroy, changing nothing; run
// again, it finds the stack in sync and destroys it, leaving nothing.
func TestStackServiceExample(t *testing.T) {
	tq := fresh(t)
	startWorker(t, dial(t), tq)
	service := buildExample(t, "stack-service", tq)

	out, errOut, code := service(t, "--name", "svc-stack", "--keep")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "plan plan-1:\n  create service-group/svc-stack-web\n  create instance/svc-stack\n")
	require.Contains(t, out, "applied apply-2: 2 change(s) in stack-kraftcloud-svc-stack-apply-2, stack in-sync\n")
	var inst struct {
		UUID      string `json:"uuid"`
		Name      string `json:"name"`
		FQDN      string `json:"fqdn"`
		PrivateIP string `json:"private_ip"`
	}
	instances := inventory(t)["kraftcloud"]["instances"]
	require.Len(t, instances, 1)
	require.NoError(t, json.Unmarshal(instances[0], &inst))
	require.Equal(t, "svc-stack", inst.Name)
	require.NotEmpty(t, inst.FQDN)
	require.NotEmpty(t, inst.PrivateIP)
	require.Contains(t, out, "output instance/svc-stack fqdn="+inst.FQDN+"\n", "the outputs are the cloud's")
	require.Contains(t, out, "output instance/svc-stack privateIPv4="+inst.PrivateIP+"\n")
	require.Contains(t, out, "kept stack kraftcloud/svc-stack (workflow stack-kraftcloud-svc-stack)\n")

	out, errOut, code = service(t, "--name", "svc-stack", "--memory-mb", "512", "--keep")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "  replace instance/svc-stack (destructive)\n    memoryMb: 256 -> 512\n")
	require.Contains(t, out, "refused: ")
	require.NotContains(t, out, "applied")
	instances = inventory(t)["kraftcloud"]["instances"]
	require.Len(t, instances, 1)
	var still struct {
		UUID string `json:"uuid"`
	}
	require.NoError(t, json.Unmarshal(instances[0], &still))
	require.Equal(t, inst.UUID, still.UUID, "a refused apply changes nothing")

	out, errOut, code = service(t, "--name", "svc-stack")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "stack kraftcloud/svc-stack is in sync\n")
	require.NotContains(t, out, "applied")
	require.Contains(t, out, "output instance/svc-stack fqdn="+inst.FQDN+"\n")
	require.Contains(t, out, "destroyed stack kraftcloud/svc-stack: deleted instance/svc-stack, service-group/svc-stack-web\n")
	requireKraftEmpty(t)
}
