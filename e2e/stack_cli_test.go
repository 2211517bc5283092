package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// stackCLI runs the cloudflow binary against the dev server, with the
// test's task queue.
func stackCLI(t *testing.T, tq string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return cli(t, append([]string{"--address", temporal.Address(), "--task-queue", tq}, args...)...)
}

// mustCLI runs the binary and requires exit status want.
func mustCLI(t *testing.T, tq string, want int, args ...string) string {
	t.Helper()
	out, errOut, code := stackCLI(t, tq, args...)
	require.Equal(t, want, code, "cloudflow %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), out, errOut)
	return out
}

// endStack terminates the stack of provider and name when the test ends:
// a stack outlives the test's worker, and a later test of the same name
// on another task queue would wait for it in vain.
func endStack(t *testing.T, c client.Client, provider, name string) {
	t.Cleanup(func() {
		_ = c.TerminateWorkflow(context.Background(), workflows.StackID(provider, name), "", "test over")
	})
}

// editSpec writes a copy of the spec at path with each old replaced by new.
func editSpec(t *testing.T, path, as string, oldNew ...string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	text := string(data)
	for i := 0; i+1 < len(oldNew); i += 2 {
		require.Contains(t, text, oldNew[i])
		text = strings.Replace(text, oldNew[i], oldNew[i+1], 1)
	}
	p := filepath.Join(t.TempDir(), as)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

// The CLI's plan and apply of a VM spec: a new spec plans creates (exit
// 10), an applied one is in sync (exit 0); a disk grown and a rule's port
// changed plan exactly two updates, field by field, which apply makes in
// place; --auto-approve refuses to delete the rule (exit 1, nothing
// changes) until --allow-destroy; destroy by name removes everything.
func TestStackCLIPlanApplyAndDestroy(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	endStack(t, c, workflows.ProviderCrusoe, "cliplan")
	spec := writeSpec(t, "cliplan")

	out := mustCLI(t, tq, 10, "plan", "-f", spec)
	for _, key := range []string{"disk/cliplan-data", "disk/cliplan-scratch", "vm/cliplan", "firewall-rule/cliplan-ssh"} {
		require.Regexp(t, `\+ create\s+`+regexp.QuoteMeta(key)+`\n`, out)
	}
	require.Contains(t, out, "Plan: 4 to create.")

	out = mustCLI(t, tq, 0, "apply", "-f", spec, "--auto-approve", "--wait")
	require.Contains(t, out, "Applied plan-")
	require.Regexp(t, `\+ created\s+vm/cliplan\s+\S+`, out)
	require.Regexp(t, `vm/cliplan\s+sshDestination\s+\S+`, out)
	out = mustCLI(t, tq, 0, "plan", "-f", spec)
	require.Contains(t, out, "No changes: the cloud matches the spec.")

	changed := editSpec(t, spec, "changed.yaml", "size: 10GiB", "size: 50GiB", `destinationPorts: ["22"]`, `destinationPorts: ["2222"]`)
	out = mustCLI(t, tq, 10, "plan", "-f", changed)
	require.Regexp(t, `~ update\s+disk/cliplan-data\s+\S+\n\s+size: 10GiB → 50GiB\n`, out)
	require.Regexp(t, `~ update\s+firewall-rule/cliplan-ssh\s+\S+\n\s+destinationPorts: 22 → 2222\n`, out)
	require.Contains(t, out, "Plan: 2 to update in place, 2 unchanged.")
	require.NotContains(t, out, "DESTRUCTIVE")
	var planned workflows.StackOperationResult
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, tq, 10, "plan", "-f", changed, "--json")), &planned))
	var pending []string
	for _, ch := range planned.Plan.Changes {
		if ch.Action != workflows.ActionNoChange {
			pending = append(pending, ch.Key+" "+ch.Action)
		}
	}
	require.ElementsMatch(t, []string{"disk/cliplan-data update", "firewall-rule/cliplan-ssh update"}, pending)

	before := len(journal(t))
	mustCLI(t, tq, 0, "apply", "-f", changed, "--auto-approve", "--wait")
	for _, r := range journal(t)[before:] {
		if r.Method == "POST" || r.Method == "DELETE" {
			require.NotRegexp(t, `/storage/disks|/vpc-firewall-rules`, r.Path, "%s %s during an in-place update", r.Method, r.Path)
		}
	}
	mustCLI(t, tq, 0, "plan", "-f", changed)

	// Dropping the rule deletes it: --auto-approve alone refuses.
	noRule := withoutRules(t, changed)
	before = len(journal(t))
	out, errOut, code := stackCLI(t, tq, "apply", "-f", noRule, "--auto-approve", "--wait")
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Regexp(t, `- delete\s+firewall-rule/cliplan-ssh\s+\S+\s+DESTRUCTIVE`, out)
	require.Contains(t, out, "Nothing changed.")
	require.Contains(t, out, "--allow-destroy")
	require.Contains(t, errOut, "refused the operation; nothing changed")
	for _, r := range journal(t)[before:] {
		require.Equal(t, "GET", r.Method, "a refused apply changes nothing: %s %s", r.Method, r.Path)
	}
	require.Equal(t, 1, inventory(t).Count("crusoe", "firewall-rules"))

	out = mustCLI(t, tq, 0, "apply", "-f", noRule, "--auto-approve", "--allow-destroy", "--wait")
	require.Regexp(t, `- deleted\s+firewall-rule/cliplan-ssh`, out)
	require.Equal(t, 0, inventory(t).Count("crusoe", "firewall-rules"))

	out = mustCLI(t, tq, 0, "destroy", "cliplan", "--wait")
	require.Contains(t, out, "Destroyed stack crusoe/cliplan")
	require.Regexp(t, `- deleted\s+vm/cliplan`, out)
	require.True(t, inventory(t).Empty(), "inventory after destroy: %v", inventory(t))
}

// A saved plan waits in the stack until `stacks approve NAME --wait`
// applies it; stacks list and show -o json, and output, give the VM's
// addresses and SSH destination.
func TestStackCLISavedPlanApprovalAndOutputs(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	endStack(t, c, workflows.ProviderCrusoe, "cliout")
	spec := writeSpec(t, "cliout")
	mustCLI(t, tq, 0, "vm", "provision", "-f", spec, "--wait")

	var st workflows.StackState
	require.NoError(t, json.Unmarshal([]byte(mustCLI(t, tq, 0, "stacks", "show", "cliout", "-o", "json")), &st))
	require.Equal(t, workflows.StackInSync, st.Status)
	vm, ok := st.Resource("vm/cliout")
	require.True(t, ok)
	require.Equal(t, workflows.OwnershipCreated, vm.Ownership)
	for _, k := range []string{"privateIPv4", "publicIPv4", "sshDestination"} {
		require.NotEmpty(t, vm.Outputs[k], "output %s (outputs %v)", k, vm.Outputs)
	}
	require.Equal(t, vm.Outputs["sshDestination"]+"\n", mustCLI(t, tq, 0, "output", "cliout", "sshDestination"))
	require.Equal(t, vm.Outputs["privateIPv4"]+"\n", mustCLI(t, tq, 0, "output", "cliout", "vm/cliout.privateIPv4", "--provider", "crusoe"))
	out, errOut, code := stackCLI(t, tq, "output", "cliout", "fqdn")
	require.Equal(t, 6, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, errOut, `stack crusoe/cliout has no output "fqdn"`)

	listed := func(status string) bool {
		var list []starter.StackSummary
		args := []string{"stacks", "list", "--json"}
		if status != "" {
			args = append(args, "--status", status)
		}
		if json.Unmarshal([]byte(mustCLI(t, tq, 0, args...)), &list) != nil {
			return false
		}
		for _, s := range list {
			if s.Provider == workflows.ProviderCrusoe && s.Name == "cliout" {
				return status == "" || s.Status == status
			}
		}
		return false
	}
	waitFor(t, 30*time.Second, "stacks list to show the stack in sync", func() bool { return listed(workflows.StackInSync) })

	grown := editSpec(t, spec, "grown.yaml", "size: 10GiB", "size: 40GiB")
	out = mustCLI(t, tq, 10, "plan", "-f", grown, "--save")
	m := regexp.MustCompile(`Saved (plan-\d+) in stack crusoe/cliout: it waits for approval.`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	planID := m[1]
	require.Contains(t, out, "cloudflow stacks approve cliout --provider crusoe --plan "+planID)
	waitFor(t, 30*time.Second, "stacks list to show the plan waiting", func() bool { return listed(workflows.StackAwaitingApproval) })
	require.Contains(t, mustCLI(t, tq, 0, "stacks", "show", "cliout"), "Saved plan "+planID)

	before := len(journal(t))
	out = mustCLI(t, tq, 0, "stacks", "approve", "cliout", "--plan", planID, "--wait")
	require.Contains(t, out, "Applied "+planID+" to stack crusoe/cliout")
	require.Regexp(t, `~ updated\s+disk/cliout-data\s+\S+\s+size 10GiB → 40GiB`, out)
	var writes []string
	for _, r := range journal(t)[before:] {
		if r.Method != "GET" {
			writes = append(writes, r.Method+" "+r.Path)
		}
	}
	require.Len(t, writes, 1, "exactly the approved change, one resize: %v", writes)
	out, errOut, code = stackCLI(t, tq, "stacks", "approve", "cliout")
	require.Equal(t, 6, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, errOut, "stack crusoe/cliout has no saved plan; nothing changed")

	mustCLI(t, tq, 0, "vm", "deprovision", "-f", grown, "--wait")
	require.True(t, inventory(t).Empty(), "inventory: %v", inventory(t))
}

// vm provision and deprovision act through the stack: a disk that existed
// before is adopted, and deprovision deletes the rest and keeps it; a
// second deprovision finds no stack and deletes nothing (exit 6).
func TestStackCLIDeprovisionKeepsAnAdoptedDisk(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	endStack(t, c, workflows.ProviderCrusoe, "cliadopt")
	cc := crusoeClient(t)
	op, err := cc.Disks.Create(context.Background(), cloudsim.DefaultCrusoeProjectID, &crusoe.DiskCreateRequest{
		Name: "cliadopt-data", Size: "10GiB", Type: "persistent-ssd", Location: "us-northcentral1-a",
	})
	require.NoError(t, err)
	waitOperation(t, cc, crusoe.FamilyDisks, op)
	spec := writeSpec(t, "cliadopt")

	out := mustCLI(t, tq, 10, "plan", "-f", spec)
	require.Regexp(t, `> adopt\s+disk/cliadopt-data\s+\S+\s+exists, not made by cloudflow`, out)
	out = mustCLI(t, tq, 0, "vm", "provision", "-f", spec, "--wait")
	require.Regexp(t, `> adopted\s+disk/cliadopt-data`, out)
	require.Regexp(t, `\+ created\s+vm/cliadopt`, out)

	out = mustCLI(t, tq, 0, "vm", "deprovision", "-f", spec, "--wait")
	require.Regexp(t, `< kept\s+disk/cliadopt-data\s+\S+\s+adopted: left in the cloud`, out)
	require.Regexp(t, `- deleted\s+disk/cliadopt-scratch`, out)
	inv := inventory(t)
	require.Equal(t, 0, inv.Count("crusoe", "vms"))
	require.Equal(t, 0, inv.Count("crusoe", "firewall-rules"))
	require.Equal(t, 1, inv.Count("crusoe", "disks"), "the adopted disk stays: %v", inv)

	out, errOut, code := stackCLI(t, tq, "vm", "deprovision", "-f", spec, "--wait")
	require.Equal(t, 6, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, errOut, "no stack crusoe/cliadopt")
	require.Contains(t, errOut, "cloudflow deletes only what a stack created")
	require.Equal(t, 1, inventory(t).Count("crusoe", "disks"))
}

// Bad input starts nothing: a plan or an apply of an invalid spec exits 2
// naming the field, and no stack workflow exists after it; destroy and
// approve of an unknown stack say so and exit 6.
func TestStackCLIBadInputStartsNothing(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	bad := editSpec(t, writeSpec(t, "clibad"), "bad.yaml", "size: 10GiB", "size: 10GB")
	for _, args := range [][]string{{"plan", "-f", bad}, {"apply", "-f", bad, "--auto-approve", "--wait"}, {"vm", "provision", "-f", bad}} {
		out, errOut, code := stackCLI(t, tq, args...)
		require.Equal(t, 2, code, "%v\nstdout:\n%s\nstderr:\n%s", args, out, errOut)
		require.Contains(t, errOut, `disks[0].size: "10GB" is not a size`)
		require.Contains(t, errOut, "nothing was started")
	}
	requireNoWorkflow(t, c, workflows.StackID(workflows.ProviderCrusoe, "clibad"))

	never := writeSpec(t, "clinever")
	for _, args := range [][]string{
		{"destroy", "clinever", "--wait"},
		{"destroy", "-f", never},
		{"stacks", "approve", "clinever", "--wait"},
		{"stacks", "discard", "clinever"},
		{"stacks", "show", "clinever"},
		{"output", "clinever"},
	} {
		out, errOut, code := stackCLI(t, tq, args...)
		require.Equal(t, 6, code, "%v\nstdout:\n%s\nstderr:\n%s", args, out, errOut)
		require.Contains(t, errOut, "no stack")
		require.Contains(t, errOut, "clinever")
	}
	requireNoWorkflow(t, c, workflows.StackID(workflows.ProviderCrusoe, "clinever"))
}

// withoutRules writes a copy of a writeSpec spec without its firewall rules.
func withoutRules(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	text, _, found := strings.Cut(string(data), "firewallRules:")
	require.True(t, found)
	p := filepath.Join(t.TempDir(), "norule.yaml")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

func requireNoWorkflow(t *testing.T, c client.Client, id string) {
	t.Helper()
	_, err := c.DescribeWorkflowExecution(context.Background(), id, "")
	var nf *serviceerror.NotFound
	require.ErrorAs(t, err, &nf, "workflow %s must not exist", id)
}
