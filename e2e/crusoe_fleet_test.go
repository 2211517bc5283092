package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

const e2eSSHKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILwzAx+dSGF28fpgWXlDr1SQDgY1cdAAYPhlFCNEwF4i e2e@cloudflow"

func vmStates(t *testing.T) map[string]string {
	out := map[string]string{}
	for _, vm := range inventoryVMs(t) {
		out[vm.Name] = vm.State
	}
	return out
}

// Crusoe VMs made by one bulk call, then stopped and started as a fleet,
// one action per VM, with unknown and already-there VMs reported.
func TestCrusoeBulkCreateAndFleet(t *testing.T) {
	tq := fresh(t)
	startWorker(t, dial(t), tq)

	out, errOut, code := cli(t, "vm", "bulk-create", "--name-prefix", "fleet", "--count", "4", "--type", "c1a.2x",
		"--location", "us-northcentral1-a", "--ssh-public-key", e2eSSHKey, "--task-queue", tq, "--wait")
	if code != 0 {
		t.Fatalf("bulk-create: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := len(requests(t, "POST", "/compute/vms/bulk-instances")); n != 1 {
		t.Fatalf("%d bulk calls, want 1", n)
	}
	states := vmStates(t)
	for _, n := range []string{"fleet-1", "fleet-2", "fleet-3", "fleet-4"} {
		if states[n] != "STATE_RUNNING" {
			t.Fatalf("%s is %q after bulk-create, want running\n%s", n, states[n], out)
		}
	}

	out, errOut, code = cli(t, "instances", "stop", "--provider", "crusoe", "--names", "fleet-1,fleet-2,fleet-3,nope",
		"--task-queue", tq, "--wait")
	if code != 1 || !strings.Contains(out, "3 of 4 instances stopped") || !strings.Contains(out, "NOT_FOUND") {
		t.Fatalf("stop: exit %d, want 1 with nope reported\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = cli(t, "instances", "start", "--provider", "crusoe", "--names", "fleet-1,fleet-2,fleet-3,fleet-4",
		"--task-queue", tq, "--wait")
	if code != 1 || !strings.Contains(out, "3 of 4 instances started") || !strings.Contains(out, "ALREADY_RUNNING") {
		t.Fatalf("start: exit %d, want 1 with fleet-4 reported\n%s\n%s", code, out, errOut)
	}
	saveHistory(t, "crusoe-vm-bulk-create-fleet", "crusoe-vm-bulk-create-happy")
	saveHistory(t, starter.FleetWorkflowID(workflows.FleetInput{Provider: workflows.ProviderCrusoe, Instances: []string{"fleet-1", "fleet-2", "fleet-3", "nope"}}), "crusoe-fleet-stop-partial")
	for n, st := range vmStates(t) {
		if st != "STATE_RUNNING" {
			t.Errorf("%s is %s, want running", n, st)
		}
	}
	all, err := admin.Counters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"fleet-1", "fleet-2", "fleet-3"} {
		if all["crusoe"]["vm-stops"][n] != 1 || all["crusoe"]["vm-starts"][n] != 1 {
			t.Errorf("%s: %d stops, %d starts; want one each", n, all["crusoe"]["vm-stops"][n], all["crusoe"]["vm-starts"][n])
		}
	}
}

// A bulk create whose operation fails leaves no VM behind.
func TestCrusoeBulkCreateFailureLeavesNothing(t *testing.T) {
	tq := fresh(t)
	startWorker(t, dial(t), tq)
	if _, err := admin.AddFault(context.Background(), cloudsim.Fault{Cloud: "crusoe", Method: "POST", Path: "/v1alpha5/projects/*/compute/vms/bulk-instances",
		Action: cloudsim.FaultFailOperation, Code: "INTERNAL", Message: "no capacity", Times: 1}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := cli(t, "vm", "bulk-create", "--name-prefix", "doomed", "--count", "3", "--type", "c1a.2x",
		"--location", "us-northcentral1-a", "--ssh-public-key", e2eSSHKey, "--task-queue", tq, "--wait")
	if code != 1 || !strings.Contains(out, "no capacity") {
		t.Fatalf("exit %d, want 1 naming the cloud's message\n%s\n%s", code, out, errOut)
	}
	if vms := inventoryVMs(t); len(vms) != 0 {
		t.Fatalf("VMs left behind: %+v", vms)
	}
	saveHistory(t, "crusoe-vm-bulk-create-doomed", "crusoe-vm-bulk-create-failed")
}

// A bulk create cancelled while its operation runs deletes the VMs it asked for.
func TestCrusoeBulkCreateCancelledUndoes(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	if err := admin.SetOperationLatency(context.Background(), "crusoe", 4*time.Second); err != nil {
		t.Fatal(err)
	}
	s := newStarter(t, c, tq)
	run, err := s.BulkCreateVMs(context.Background(), workflows.BulkCreateVMsInput{
		BulkCreateVMsInput: activities.BulkCreateVMsInput{NamePrefix: "gone", Count: 3, Type: "c1a.2x", Location: "us-northcentral1-a", SSHPublicKey: e2eSSHKey},
		Timeouts:           workflows.Timeouts{Operation: time.Minute, Heartbeat: 3 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the bulk VMs to appear", func() bool { return len(inventoryVMs(t)) == 3 })
	if err := s.Cancel(context.Background(), run.WorkflowID, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res workflows.BulkCreateVMsResult
	err = s.Result(ctx, run.WorkflowID, "", &res)
	var re *starter.RunError
	if !errors.As(err, &re) || re.Status != "Canceled" {
		t.Fatalf("want a canceled run, got %v", err)
	}
	if len(res.Undone) != 3 || len(res.NotUndone) != 0 {
		t.Fatalf("undone %v, not undone %+v; want all three undone", res.Undone, res.NotUndone)
	}
	if vms := inventoryVMs(t); len(vms) != 0 {
		t.Fatalf("VMs left behind: %+v", vms)
	}
	saveHistory(t, run.WorkflowID, "crusoe-vm-bulk-create-canceled")
}
