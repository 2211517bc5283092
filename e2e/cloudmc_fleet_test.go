package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// cmcStates maps each CloudMC instance's name to its state.
func cmcStates(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, i := range cmcInv(t).Instances {
		out[i.Name] = i.State
	}
	return out
}

// CloudMC instances stopped and started as a fleet, one action each: an
// unknown name is reported (exit 1) and does not stop the others, an
// instance already there is reported, and every instance is started and
// stopped exactly once in the cloud.
func TestCloudMCFleetStopAndStart(t *testing.T) {
	tq := fresh(t)
	startWorker(t, dial(t), tq)
	ctx := context.Background()
	mc := cmcClient(t)
	names := []string{"cmcf-1", "cmcf-2", "cmcf-3"}
	for _, n := range names {
		_, err := mc.Instances.Create(ctx, &cloudmc.InstanceCreateRequest{Name: n, ComputeOfferingID: cloudsim.CloudMCComputeOfferingID,
			NetworkID: cloudsim.CloudMCNetworkID, TemplateID: cloudsim.CloudMCTemplateID})
		require.NoError(t, err)
	}
	waitFor(t, 30*time.Second, "the instances to run", func() bool {
		st := cmcStates(t)
		return st["cmcf-1"] == "Running" && st["cmcf-2"] == "Running" && st["cmcf-3"] == "Running"
	})

	stopNames := append(append([]string{}, names...), "nope")
	out, errOut, code := cli(t, "--task-queue", tq, "instances", "stop", "--provider", "cloudmc", "--names", strings.Join(stopNames, ","), "--wait")
	require.Equal(t, 1, code, "stop: want exit 1 with nope reported\nstdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "3 of 4 instances stopped")
	require.Contains(t, out, "NOT_FOUND")
	require.Contains(t, out, `no instance named "nope" in the environment`)
	for _, n := range names {
		require.Equal(t, "Stopped", cmcStates(t)[n], n)
	}
	saveHistory(t, starter.FleetWorkflowID(workflows.FleetInput{Provider: workflows.ProviderCloudMC, Instances: stopNames}), "cloudmc-fleet-stop-partial")

	// Stopping them again finds them there: reported, nothing sent.
	out, errOut, code = cli(t, "--task-queue", tq, "instances", "stop", "--provider", "cloudmc", "--names", "cmcf-1", "--wait", "--json")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "ALREADY_STOPPED")

	out, errOut, code = cli(t, "--task-queue", tq, "instances", "start", "--provider", "cloudmc", "--names", strings.Join(names, ","), "--wait")
	require.Equal(t, 0, code, "start\nstdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "3 of 3 instances started")
	for _, n := range names {
		require.Equal(t, "Running", cmcStates(t)[n], n)
	}

	counters, err := admin.Counters(ctx)
	require.NoError(t, err)
	for _, n := range names {
		require.Equal(t, 1, counters["cloudmc"]["instance-stops"][n], "%s stopped once", n)
		require.Equal(t, 1, counters["cloudmc"]["instance-starts"][n], "%s started once", n)
	}
	// Names are looked up with one list call per round (each of the three
	// runs took one round), not one lookup per instance.
	require.Len(t, requests(t, "GET", "/api/v2/services/"+cloudsim.DefaultCloudMCServiceCode+"/"+cloudsim.DefaultCloudMCEnvironment+"/instances"), 3)

	out, errOut, code = cli(t, "--task-queue", tq, "runs", "list", "--provider", "cloudmc", "--name", "cmcf-1", "--json")
	require.Equal(t, 0, code, "runs list\nstdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out, "cloudmc-fleet-cmcf-1")
}
