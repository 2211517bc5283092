//go:build cluster

// The production engine: a Temporal server on PostgreSQL, set up as
// docker-compose.yml sets it up, with cloudflow worker processes and the CLI
// against it. scripts/test-cluster.sh (make test-cluster) builds and starts
// the cluster, then runs these tests with its address in
// CLOUDFLOW_CLUSTER_ADDRESS. The simulator and the cloudflow binary are the
// package's (TestMain, which also starts a dev server these tests leave alone).

package e2e

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// clusterAddress is the cluster's frontend, and clusterNamespace the
// namespace the script registered.
func clusterAddress(t testing.TB) (address, namespace string) {
	t.Helper()
	address = os.Getenv("CLOUDFLOW_CLUSTER_ADDRESS")
	if address == "" {
		t.Fatal("CLOUDFLOW_CLUSTER_ADDRESS is not set: these tests run against the cluster that `make test-cluster` starts")
	}
	namespace = os.Getenv("CLOUDFLOW_CLUSTER_NAMESPACE")
	if namespace == "" {
		namespace = "default"
	}
	return address, namespace
}

// dialCluster returns a client of the cluster.
func dialCluster(t testing.TB) client.Client {
	t.Helper()
	address, namespace := clusterAddress(t)
	c, err := client.Dial(client.Options{
		HostPort:  address,
		Namespace: namespace,
		Logger:    log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	})
	require.NoError(t, err, "dial the cluster at %s", address)
	t.Cleanup(c.Close)
	return c
}

// clusterWorkers starts two `cloudflow worker` processes on the cluster,
// both polling taskQueue.
func clusterWorkers(t testing.TB, c client.Client, taskQueue string) [2]*clusterWorker {
	t.Helper()
	address, namespace := clusterAddress(t)
	var ws [2]*clusterWorker
	for i := range ws {
		ws[i] = &clusterWorker{startWorkerProcess(t, c, taskQueue, "TEMPORAL_ADDRESS="+address, "TEMPORAL_NAMESPACE="+namespace)}
	}
	return ws
}

type clusterWorker struct{ cmd *exec.Cmd }

// identity is the prefix of the SDK's default worker identity, "PID@host@".
func (w *clusterWorker) identity() string { return strconv.Itoa(w.cmd.Process.Pid) + "@" }

// clusterCLI runs the cloudflow binary against the cluster and fails the
// test unless it exits 0.
func clusterCLI(t *testing.T, taskQueue string, args ...string) string {
	t.Helper()
	address, namespace := clusterAddress(t)
	out, errOut, code := cli(t, append([]string{"--address", address, "--namespace", namespace, "--task-queue", taskQueue}, args...)...)
	require.Equal(t, 0, code, "cloudflow %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out, errOut)
	return out
}

// The cluster is the production shape, not a dev server: PostgreSQL holds
// both the history and visibility, and cloudflow's search attributes are
// registered with the types the starter sets them with.
func TestClusterIsTemporalOnPostgreSQL(t *testing.T) {
	c := dialCluster(t)
	_, namespace := clusterAddress(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	info, err := c.WorkflowService().GetClusterInfo(ctx, &workflowservice.GetClusterInfoRequest{})
	require.NoError(t, err)
	require.Equal(t, "postgres12", info.GetPersistenceStore())
	require.Contains(t, info.GetVisibilityStore(), "postgres12")
	t.Logf("Temporal server %s, persistence %s, visibility %s", info.GetServerVersion(), info.GetPersistenceStore(), info.GetVisibilityStore())

	attrs, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	require.NoError(t, err)
	for name, typ := range starter.SearchAttributeTypes {
		got, ok := attrs.GetCustomAttributes()[name]
		require.True(t, ok, "search attribute %s is not registered", name)
		want, err := enumspb.IndexedValueTypeFromString(typ)
		require.NoError(t, err)
		require.Equal(t, want, got, "search attribute %s", name)
	}
}

// The VM happy path through the CLI, on two workers: provisioned with its
// disks and rule, found by provider and name through the cluster's
// visibility store, then deprovisioned to nothing.
func TestClusterProvisionAndDeprovisionVM(t *testing.T) {
	tq := fresh(t)
	c := dialCluster(t)
	clusterWorkers(t, c, tq)
	spec := writeSpec(t, "cluster-vm")
	stack := workflows.StackID(workflows.ProviderCrusoe, "cluster-vm")
	t.Cleanup(func() { _ = c.TerminateWorkflow(context.Background(), stack, "", "test over") })

	var res workflows.StackOperationResult
	out := clusterCLI(t, tq, "vm", "provision", "-f", spec, "--wait", "--json")
	require.NoError(t, json.Unmarshal([]byte(out), &res), out)
	require.Equal(t, workflows.OutcomeSucceeded, res.Operation.Outcome)
	vm, ok := res.State.Resource("vm/cluster-vm")
	require.True(t, ok, "the stack holds the VM: %+v", res.State.Resources)
	vms := inventoryVMs(t)
	require.Len(t, vms, 1)
	require.Equal(t, vm.ID, vms[0].ID)
	require.Equal(t, "STATE_RUNNING", vms[0].State)
	require.Len(t, vms[0].Disks, 2)
	require.Equal(t, 1, inventory(t).Count("crusoe", "firewall-rules"))

	// Visibility on SQL is eventually consistent: the stack shows up shortly,
	// by provider and name, and by its status in `stacks list`.
	waitFor(t, 30*time.Second, "the stack in `runs list --provider crusoe --name cluster-vm`", func() bool {
		return strings.Contains(clusterCLI(t, tq, "runs", "list", "--provider", "crusoe", "--name", "cluster-vm", "--json"), stack)
	})
	waitFor(t, 30*time.Second, "the stack in sync in `stacks list`", func() bool {
		out := clusterCLI(t, tq, "stacks", "list")
		return strings.Contains(out, "cluster-vm") && strings.Contains(out, workflows.StackInSync)
	})

	clusterCLI(t, tq, "vm", "deprovision", "-f", spec, "--wait")
	require.True(t, inventory(t).Empty(), "inventory after deprovision: %v", inventory(t))
}

// A worker SIGKILLed while it waits on the VM's create operation: the other
// worker picks the wait up from its heartbeat, and the run ends with one VM
// and two disks, each created once.
func TestClusterWorkerKilledMidWait(t *testing.T) {
	tq := fresh(t)
	c := dialCluster(t)
	ctx := context.Background()
	require.NoError(t, admin.SetOperationLatency(ctx, "crusoe", 8*time.Second))
	workers := clusterWorkers(t, c, tq)

	s := newStarter(t, c, tq)
	run, err := s.ProvisionVM(ctx, input("cluster-crash"))
	require.NoError(t, err)
	waitForVMOperation(t, s, run)

	// Kill the worker that holds the wait, whichever it is.
	var waiter, survivor *clusterWorker
	waitFor(t, 30*time.Second, "the worker running the VM's wait", func() bool {
		desc, err := c.DescribeWorkflowExecution(ctx, run.WorkflowID, run.RunID)
		if err != nil {
			return false
		}
		for _, a := range desc.GetPendingActivities() {
			if a.GetActivityType().GetName() != "CrusoeWait" || a.GetState() != enumspb.PENDING_ACTIVITY_STATE_STARTED {
				continue
			}
			for i, w := range workers {
				if strings.HasPrefix(a.GetLastWorkerIdentity(), w.identity()) {
					waiter, survivor = w, workers[1-i]
					return true
				}
			}
		}
		return false
	})
	kill(t, waiter.cmd)

	var res workflows.ProvisionVMResult
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	require.NoError(t, s.Result(rctx, run.WorkflowID, run.RunID, &res))
	vms := inventoryVMs(t)
	require.Len(t, vms, 1)
	require.Len(t, vms[0].Disks, 2)
	require.Len(t, requests(t, "POST", "/compute/vms/instances"), 1, "the VM was created once")
	require.Len(t, requests(t, "POST", "/storage/disks"), 2, "each disk was created once")

	// The wait was retried, and its last attempt ran on the survivor.
	resumed := false
	iter := c.GetWorkflowHistory(ctx, run.WorkflowID, run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() > 1 && strings.HasPrefix(a.GetIdentity(), survivor.identity()) {
			resumed = true
		}
	}
	require.True(t, resumed, "no activity was retried on the surviving worker")

	// The run was started as a bare ProvisionVM, not through a stack, so its
	// undo is the bare DeprovisionVM too.
	del, err := s.DeprovisionVM(ctx, workflows.DeprovisionVMInput{
		VMName: "cluster-crash", DiskNames: []string{"cluster-crash-data", "cluster-crash-scratch"}, FirewallRules: []string{"cluster-crash-ssh"},
	})
	require.NoError(t, err)
	var gone workflows.DeprovisionVMResult
	require.NoError(t, s.Result(rctx, del.WorkflowID, del.RunID, &gone))
	require.True(t, inventory(t).Empty(), "inventory after deprovision: %v", inventory(t))
}

// A schedule made from the CLI fires on its own (no trigger): the cluster's
// scheduler starts the fleet run, and the workers start every instance once.
func TestClusterScheduleFires(t *testing.T) {
	tq := fresh(t)
	c := dialCluster(t)
	clusterWorkers(t, c, tq)
	names := seedInstances(t, "tick", 5)
	s := newStarter(t, c, tq)
	const id = "cluster-tick"
	t.Cleanup(func() { _ = s.DeleteSchedule(context.Background(), id) })

	clusterCLI(t, tq, "schedule", "create", id, "--every", starter.MinInterval.String(), "--",
		"instances", "start", "--provider", "kraftcloud", "--names", strings.Join(names, ","))
	var fired starter.ScheduledRun
	waitFor(t, starter.MinInterval+time.Minute, "the schedule to fire", func() bool {
		info, err := s.DescribeSchedule(context.Background(), id)
		if err != nil || len(info.Recent) == 0 {
			return false
		}
		fired = info.Recent[0]
		return true
	})
	// Stop it before a second run is due.
	require.NoError(t, s.DeleteSchedule(context.Background(), id))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res workflows.FleetResult
	require.NoError(t, s.Result(ctx, fired.WorkflowID, "", &res))
	require.Equal(t, "start", res.Action)
	require.Len(t, res.Succeeded, len(names))
	requireStartedOnce(t, names)
}
