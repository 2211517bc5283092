package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/spec"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

func crusoeStackSpec(name string) workflows.StackSpec {
	in := input(name)
	return workflows.StackSpec{Provider: workflows.ProviderCrusoe, Crusoe: &in}
}

// applyStack applies spec through the starter and waits for the result.
func applyStack(t *testing.T, s *starter.Starter, req workflows.StackApplyRequest) (workflows.StackOperationResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	u, err := s.ApplyStack(ctx, req)
	if err != nil {
		return workflows.StackOperationResult{}, err
	}
	return u.Get(ctx)
}

func planStack(t *testing.T, s *starter.Starter, spec workflows.StackSpec) workflows.StackPlan {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	u, err := s.PlanStack(ctx, workflows.StackPlanRequest{Spec: spec})
	require.NoError(t, err)
	res, err := u.Get(ctx)
	require.NoError(t, err)
	require.NotNil(t, res.Plan)
	return *res.Plan
}

func changesByKey(p workflows.StackPlan) map[string]workflows.PlanChange {
	m := map[string]workflows.PlanChange{}
	for _, c := range p.Changes {
		m[c.Key] = c
	}
	return m
}

// Acceptance 1: apply a VM spec; change a disk's size and a rule's ports;
// the plan shows exactly those two updates, field by field; the apply makes
// them in place (the journal has no delete or create for them); the
// simulator holds the new values.
func TestStackUpdatesInPlace(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	s := newStarter(t, c, tq)

	spec := crusoeStackSpec("inplace")
	res, err := applyStack(t, s, workflows.StackApplyRequest{Spec: spec})
	require.NoError(t, err)
	require.Equal(t, workflows.StackInSync, res.State.Status)
	require.Len(t, res.State.Resources, 4)
	for _, r := range res.State.Resources {
		require.Equal(t, workflows.OwnershipCreated, r.Ownership, r.Key)
		require.NotEmpty(t, r.ID, r.Key)
	}

	// In sync: a plan of the same spec changes nothing.
	p := planStack(t, s, spec)
	require.False(t, p.Pending(), "plan of an applied spec: %+v", p.Changes)

	changed := crusoeStackSpec("inplace")
	changed.Crusoe.Disks[0].Size = "50GiB"
	changed.Crusoe.FirewallRules[0].DestinationPorts = []string{"2222"}
	p = planStack(t, s, changed)
	var pending []workflows.PlanChange
	for _, ch := range p.Changes {
		if ch.Action != workflows.ActionNoChange {
			pending = append(pending, ch)
		}
	}
	require.Len(t, pending, 2, "plan: %+v", p.Changes)
	byKey := changesByKey(p)
	disk := byKey["disk/inplace-data"]
	require.Equal(t, workflows.ActionUpdate, disk.Action)
	require.Equal(t, []workflows.FieldChange{{Field: "size", Old: "10GiB", New: "50GiB"}}, disk.Fields)
	rule := byKey["firewall-rule/inplace-ssh"]
	require.Equal(t, workflows.ActionUpdate, rule.Action)
	require.Equal(t, []workflows.FieldChange{{Field: "destinationPorts", Old: "22", New: "2222"}}, rule.Fields)
	require.Empty(t, p.Destructive())

	before := len(journal(t))
	res, err = applyStack(t, s, workflows.StackApplyRequest{Spec: changed})
	require.NoError(t, err)
	require.Equal(t, workflows.StackInSync, res.State.Status)
	patches := 0
	for _, r := range journal(t)[before:] {
		if r.Method == "POST" || r.Method == "DELETE" {
			require.NotContains(t, r.Path, "/storage/disks", "%s %s during an in-place update", r.Method, r.Path)
			require.NotContains(t, r.Path, "/vpc-firewall-rules", "%s %s during an in-place update", r.Method, r.Path)
		}
		if r.Method == "PATCH" {
			patches++
		}
	}
	require.Equal(t, 2, patches, "one PATCH for the disk, one for the rule")

	inv := inventory(t)
	var disk0 struct {
		Size string `json:"size"`
	}
	found := false
	for _, raw := range inv["crusoe"]["disks"] {
		var d struct {
			Name string `json:"name"`
			Size string `json:"size"`
		}
		require.NoError(t, json.Unmarshal(raw, &d))
		if d.Name == "inplace-data" {
			disk0.Size, found = d.Size, true
		}
	}
	require.True(t, found)
	require.Equal(t, "50GiB", disk0.Size)
	require.False(t, planStack(t, s, changed).Pending())

	// Destroy deletes everything the stack made.
	ctx := context.Background()
	u, err := s.DestroyStack(ctx, starter.StackRef{Provider: workflows.ProviderCrusoe, Name: "inplace"}, workflows.StackDestroyRequest{})
	require.NoError(t, err)
	_, err = u.Get(ctx)
	require.NoError(t, err)
	require.True(t, inventory(t).Empty(), "inventory after destroy: %v", inventory(t))
}

// journal is the shared simulator's request journal, oldest first.
func journal(t testing.TB) []cloudsim.RequestRecord {
	t.Helper()
	return journalOf(t, admin)
}

// journalOf is the request journal of the simulator a administers, oldest
// first.
func journalOf(t testing.TB, a *cloudsim.AdminClient) []cloudsim.RequestRecord {
	t.Helper()
	all, err := a.Requests(context.Background())
	require.NoError(t, err)
	return all
}

// waitOperation waits until a Crusoe operation of family is done.
func waitOperation(t testing.TB, cc *crusoe.Client, family crusoe.Family, op *crusoe.Operation) {
	t.Helper()
	waitFor(t, time.Minute, "operation "+op.OperationID, func() bool {
		o, err := cc.Operations.Get(context.Background(), cloudsim.DefaultCrusoeProjectID, family, op.OperationID)
		return err == nil && o.State != crusoe.OperationInProgress
	})
}

func destroyStack(t *testing.T, s *starter.Starter, name string, req workflows.StackDestroyRequest) (workflows.StackOperationResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	u, err := s.DestroyStack(ctx, starter.StackRef{Provider: workflows.ProviderCrusoe, Name: name}, req)
	if err != nil {
		return workflows.StackOperationResult{}, err
	}
	return u.Get(ctx)
}

// Acceptance 2: a disk that existed before is named in a spec: the plan
// says adopt, the apply adopts it, and destroy removes everything else and
// keeps that disk.
func TestStackAdoptsAndKeepsWhatItDidNotMake(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	s := newStarter(t, c, tq)
	cc := crusoeClient(t)

	op, err := cc.Disks.Create(context.Background(), cloudsim.DefaultCrusoeProjectID, &crusoe.DiskCreateRequest{
		Name: "adopt-data", Size: "10GiB", Type: "persistent-ssd", Location: "us-northcentral1-a",
	})
	require.NoError(t, err)
	waitOperation(t, cc, crusoe.FamilyDisks, op)

	spec := crusoeStackSpec("adopt")
	p := planStack(t, s, spec)
	byKey := changesByKey(p)
	require.Equal(t, workflows.ActionAdopt, byKey["disk/adopt-data"].Action)
	require.Empty(t, byKey["disk/adopt-data"].Fields)
	for _, k := range []string{"disk/adopt-scratch", "vm/adopt", "firewall-rule/adopt-ssh"} {
		require.Equal(t, workflows.ActionCreate, byKey[k].Action, k)
	}

	res, err := applyStack(t, s, workflows.StackApplyRequest{Spec: spec})
	require.NoError(t, err)
	own := map[string]string{}
	for _, r := range res.State.Resources {
		own[r.Key] = r.Ownership
	}
	require.Equal(t, map[string]string{
		"disk/adopt-data": workflows.OwnershipAdopted, "disk/adopt-scratch": workflows.OwnershipCreated,
		"vm/adopt": workflows.OwnershipCreated, "firewall-rule/adopt-ssh": workflows.OwnershipCreated,
	}, own)

	res, err = destroyStack(t, s, "adopt", workflows.StackDestroyRequest{})
	require.NoError(t, err)
	inv := inventory(t)
	require.Equal(t, 0, inv.Count("crusoe", "vms"))
	require.Equal(t, 0, inv.Count("crusoe", "firewall-rules"))
	require.Equal(t, 1, inv.Count("crusoe", "disks"), "the adopted disk stays: %v", inv)
	var d struct{ Name string }
	require.NoError(t, json.Unmarshal(inv["crusoe"]["disks"][0], &d))
	require.Equal(t, "adopt-data", d.Name)
}

// Acceptance 6: --auto-approve (an apply without a shown plan) does not
// replace or delete without AllowDestroy; with it, it does.
func TestStackRefusesDestructiveChangesWithoutAllowDestroy(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	s := newStarter(t, c, tq)

	spec := crusoeStackSpec("careful")
	_, err := applyStack(t, s, workflows.StackApplyRequest{Spec: spec})
	require.NoError(t, err)
	vmsBefore := inventoryVMs(t)

	// A disk type change is a replace; dropping the rule is a delete; a
	// shrink is destructive too.
	changed := crusoeStackSpec("careful")
	changed.Crusoe.Disks[0].Type = "shared-volume"
	changed.Crusoe.Disks[1].Size = "5GiB"
	changed.Crusoe.FirewallRules = nil
	_, err = applyStack(t, s, workflows.StackApplyRequest{Spec: changed})
	var se *starter.StackError
	require.ErrorAs(t, err, &se)
	require.Equal(t, workflows.ErrTypeStackRefused, se.Type)
	require.NotNil(t, se.Plan)
	got := map[string]string{}
	for _, ch := range se.Plan.Destructive() {
		got[ch.Key] = ch.Action
	}
	require.Equal(t, map[string]string{
		"disk/careful-data": workflows.ActionReplace, "disk/careful-scratch": workflows.ActionReplace,
		"firewall-rule/careful-ssh": workflows.ActionDelete,
	}, got)
	inv := inventory(t)
	require.Equal(t, 1, inv.Count("crusoe", "firewall-rules"), "a refused apply changes nothing")
	require.Equal(t, vmsBefore, inventoryVMs(t))

	// Dropping the rule alone, allowed: the rule goes, nothing else changes.
	onlyRule := crusoeStackSpec("careful")
	onlyRule.Crusoe.FirewallRules = nil
	res, err := applyStack(t, s, workflows.StackApplyRequest{Spec: onlyRule, AllowDestroy: true})
	require.NoError(t, err)
	require.Equal(t, 0, inventory(t).Count("crusoe", "firewall-rules"))
	require.Len(t, res.State.Resources, 3)

	_, err = destroyStack(t, s, "careful", workflows.StackDestroyRequest{})
	require.NoError(t, err)
	require.True(t, inventory(t).Empty(), "inventory after destroy: %v", inventory(t))
}

// Acceptance 3: an apply and a destroy of one stack sent at the same
// moment run one after the other; the end state is the later one's, and
// the two never overlapped.
func TestStackOperationsNeverOverlap(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	s := newStarter(t, c, tq)

	spec := crusoeStackSpec("serial")
	_, err := applyStack(t, s, workflows.StackApplyRequest{Spec: spec})
	require.NoError(t, err)

	changed := crusoeStackSpec("serial")
	changed.Crusoe.Disks[0].Size = "30GiB"
	type outcome struct {
		res workflows.StackOperationResult
		err error
	}
	applied, destroyed := make(chan outcome, 1), make(chan outcome, 1)
	go func() {
		r, err := applyStack(t, s, workflows.StackApplyRequest{Spec: changed})
		applied <- outcome{r, err}
	}()
	go func() {
		r, err := destroyStack(t, s, "serial", workflows.StackDestroyRequest{})
		destroyed <- outcome{r, err}
	}()
	a, d := <-applied, <-destroyed
	if d.err != nil {
		// The destroy may have gone first and ended the stack; the apply
		// then started a new one. Either way, nothing overlapped.
		t.Logf("destroy: %v", d.err)
	}
	require.NoError(t, a.err)
	require.NoError(t, d.err)
	ao, do := a.res.Operation, d.res.Operation
	overlap := ao.Started.Before(do.Finished) && do.Started.Before(ao.Finished)
	require.False(t, overlap, "apply %v-%v and destroy %v-%v overlapped", ao.Started, ao.Finished, do.Started, do.Finished)
	if ao.Started.After(do.Started) {
		// The apply came second: everything exists, at the new size.
		require.Equal(t, 1, inventory(t).Count("crusoe", "vms"))
		_, err := destroyStack(t, s, "serial", workflows.StackDestroyRequest{})
		require.NoError(t, err)
	}
	require.True(t, inventory(t).Empty(), "inventory: %v", inventory(t))
}

// Acceptance 4: a resource deleted behind cloudflow's back is reported as
// drift within the refresh interval, shown by the stack list and by a
// `temporal workflow list --query`, and made again by apply.
func TestStackReportsAndRepairsDrift(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	s := newStarter(t, c, tq)
	ref := starter.StackRef{Provider: workflows.ProviderCrusoe, Name: "drifty"}

	spec := crusoeStackSpec("drifty")
	res, err := applyStack(t, s, workflows.StackApplyRequest{Spec: spec})
	require.NoError(t, err)
	_, err = s.SetStackSettings(context.Background(), ref, workflows.StackSettings{RefreshInterval: 2 * time.Second})
	require.NoError(t, err)

	ruleID := ""
	for _, r := range res.State.Resources {
		if r.Kind == workflows.KindFirewallRule {
			ruleID = r.ID
		}
	}
	cc := crusoeClient(t)
	op, err := cc.FirewallRules.Delete(context.Background(), cloudsim.DefaultCrusoeProjectID, ruleID)
	require.NoError(t, err)
	waitOperation(t, cc, crusoe.FamilyFirewallRules, op)

	var st workflows.StackState
	waitFor(t, 30*time.Second, "the stack to report drift", func() bool {
		st, err = s.StackState(context.Background(), ref)
		return err == nil && st.Status == workflows.StackDrifted
	})
	require.Len(t, st.Drift, 1)
	require.Equal(t, "firewall-rule/drifty-ssh", st.Drift[0].Key)
	require.Equal(t, workflows.ActionCreate, st.Drift[0].Action)
	require.Equal(t, "deleted outside cloudflow", st.Drift[0].Note)

	waitFor(t, 30*time.Second, "stacks list to show the drift", func() bool {
		list, err := s.ListStacks(context.Background(), workflows.StackDrifted)
		return err == nil && len(list) == 1 && list[0].Name == "drifty"
	})
	out, err := exec.Command(temporalCL, "workflow", "list", "--address", temporal.Address(),
		"--query", "CloudflowStackStatus = 'drifted'", "--output", "json").CombinedOutput()
	require.NoError(t, err, string(out))
	require.Contains(t, string(out), workflows.StackID(workflows.ProviderCrusoe, "drifty"))

	res, err = applyStack(t, s, workflows.StackApplyRequest{Spec: spec})
	require.NoError(t, err)
	require.Equal(t, workflows.StackInSync, res.State.Status)
	require.Equal(t, 1, inventory(t).Count("crusoe", "firewall-rules"))
	_, err = destroyStack(t, s, "drifty", workflows.StackDestroyRequest{})
	require.NoError(t, err)
	require.True(t, inventory(t).Empty(), "inventory: %v", inventory(t))
}

// Acceptance 5: a saved plan waits across a worker restart; approval
// applies exactly it; a plan whose resources changed after it was made is
// refused, not applied.
func TestStackSavedPlanSurvivesRestartsAndRefusesStaleApproval(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	w := startWorkerProcess(t, c, tq)
	s := newStarter(t, c, tq)
	ref := starter.StackRef{Provider: workflows.ProviderCrusoe, Name: "saved"}
	ctx := context.Background()

	spec := crusoeStackSpec("saved")
	_, err := applyStack(t, s, workflows.StackApplyRequest{Spec: spec})
	require.NoError(t, err)

	grow := crusoeStackSpec("saved")
	grow.Crusoe.Disks[0].Size = "40GiB"
	u, err := s.PlanStack(ctx, workflows.StackPlanRequest{Spec: grow, Save: true})
	require.NoError(t, err)
	planned, err := u.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, workflows.StackAwaitingApproval, planned.State.Status)

	kill(t, w)
	time.Sleep(2 * time.Second)
	startWorkerProcess(t, c, tq)
	st, err := s.StackState(ctx, ref)
	require.NoError(t, err)
	require.NotNil(t, st.PendingPlan)
	require.Equal(t, planned.Plan.ID, st.PendingPlan.ID)

	before := len(journal(t))
	u, err = s.ApproveStack(ctx, ref, workflows.StackApproveRequest{PlanID: planned.Plan.ID})
	require.NoError(t, err)
	approved, err := u.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, workflows.StackInSync, approved.State.Status)
	require.Equal(t, planned.Plan.Basis, approved.Plan.Basis)
	var writes []string
	for _, r := range journal(t)[before:] {
		if r.Method != "GET" {
			writes = append(writes, r.Method+" "+r.Path)
		}
	}
	require.Len(t, writes, 1, "exactly the approved change, one resize: %v", writes)
	require.Contains(t, writes[0], "PATCH")

	// A plan made, then the cloud changed under it: approval is refused.
	again := crusoeStackSpec("saved")
	again.Crusoe.Disks[0].Size = "60GiB"
	u, err = s.PlanStack(ctx, workflows.StackPlanRequest{Spec: again, Save: true})
	require.NoError(t, err)
	_, err = u.Get(ctx)
	require.NoError(t, err)
	diskID := ""
	for _, r := range approved.State.Resources {
		if r.Key == "disk/saved-scratch" {
			diskID = r.ID
		}
	}
	cc := crusoeClient(t)
	op, err := cc.Disks.Resize(ctx, cloudsim.DefaultCrusoeProjectID, diskID, "25GiB")
	require.NoError(t, err)
	waitOperation(t, cc, crusoe.FamilyDisks, op)

	before = len(journal(t))
	u, err = s.ApproveStack(ctx, ref, workflows.StackApproveRequest{})
	require.NoError(t, err)
	_, err = u.Get(ctx)
	var se *starter.StackError
	require.ErrorAs(t, err, &se)
	require.Equal(t, workflows.ErrTypeStackRefused, se.Type)
	require.Contains(t, se.Message, "disk/saved-scratch")
	for _, r := range journal(t)[before:] {
		require.Equal(t, "GET", r.Method, "a refused approval changes nothing: %s %s", r.Method, r.Path)
	}
	st, err = s.StackState(ctx, ref)
	require.NoError(t, err)
	require.Nil(t, st.PendingPlan, "the stale plan is dropped")

	_, err = destroyStack(t, s, "saved", workflows.StackDestroyRequest{})
	require.NoError(t, err)
}

// Acceptance 7: a stack holds the cloud's view of each resource: the VM's
// private and public IPv4 and SSH destination, the CloudMC instance's IP,
// the KraftCloud instance's FQDN and private IP, and the container's IP.
// Each provider's stack also applies and destroys through its own
// provisioning workflow.
func TestStackOutputsOfEveryProvider(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	s := newStarter(t, c, tq)

	kraft, err := spec.LoadKraftCloud(writeKraftSpec(t, "outapp"))
	require.NoError(t, err)
	kin := kraft.DeployInput()
	cin := cmcInput("outcmc")
	oin := containerInput("outct")
	vin := input("outvm")
	specs := []workflows.StackSpec{
		{Provider: workflows.ProviderCrusoe, Crusoe: &vin},
		{Provider: workflows.ProviderCloudMC, CloudMC: &cin},
		{Provider: workflows.ProviderKraftCloud, KraftCloud: &kin},
		{Provider: workflows.ProviderOpenVZ, OpenVZ: &oin},
	}
	want := map[string][]string{
		"vm/outvm":                 {activities.OutputPrivateIPv4, activities.OutputPublicIPv4, activities.OutputSSHDestination},
		"instance/outcmc":          {activities.OutputIPAddress},
		"instance/outapp":          {activities.OutputFQDN, activities.OutputPrivateIPv4},
		"container/outct":          {activities.OutputIPAddress},
		"service-group/outapp-web": nil,
	}
	for _, sp := range specs {
		res, err := applyStack(t, s, workflows.StackApplyRequest{Spec: sp})
		require.NoError(t, err, sp.Provider)
		require.Equal(t, workflows.StackInSync, res.State.Status, sp.Provider)
		for _, r := range res.State.Resources {
			require.Equal(t, workflows.OwnershipCreated, r.Ownership, "%s %s", sp.Provider, r.Key)
			for _, k := range want[r.Key] {
				require.NotEmpty(t, r.Outputs[k], "%s: output %s of %s (outputs %v)", sp.Provider, k, r.Key, r.Outputs)
			}
		}
		// In sync right after the apply: the spec and the cloud agree.
		p := planStack(t, s, sp)
		require.False(t, p.Pending(), "%s: plan right after apply: %+v", sp.Provider, p.Changes)
	}
	require.Equal(t, "10.0.0.5", stackOutput(t, s, workflows.ProviderOpenVZ, "outct", "container/outct", activities.OutputIPAddress))

	for _, sp := range specs {
		u, err := s.DestroyStack(context.Background(), starter.StackRef{Provider: sp.Provider, Name: sp.Name()}, workflows.StackDestroyRequest{})
		require.NoError(t, err)
		_, err = u.Get(context.Background())
		require.NoError(t, err, sp.Provider)
	}
	require.True(t, inventory(t).Empty(), "inventory after destroying every stack: %v", inventory(t))
}

func stackOutput(t *testing.T, s *starter.Starter, provider, name, key, output string) string {
	t.Helper()
	st, err := s.StackState(context.Background(), starter.StackRef{Provider: provider, Name: name})
	require.NoError(t, err)
	r, ok := st.Resource(key)
	require.True(t, ok, key)
	return r.Outputs[output]
}

// Acceptance 8: a stack refreshed 500 times keeps every run of it under
// 2,000 history events: it continues as new, carrying its state. The
// refreshes are asked for (the refresh update), so that the test does not
// wait on 500 timers; the timer's own refresh is the one of the drift test.
func TestStackHistoryStaysSmallAcrossRefreshes(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	s := newStarter(t, c, tq)
	ref := starter.StackRef{Provider: workflows.ProviderOpenVZ, Name: "refreshed"}
	ctx := context.Background()

	in := containerInput("refreshed")
	sp := workflows.StackSpec{Provider: workflows.ProviderOpenVZ, OpenVZ: &in}
	_, err := applyStack(t, s, workflows.StackApplyRequest{Spec: sp})
	require.NoError(t, err)
	for i := range 500 {
		u, err := s.RefreshStack(ctx, ref, workflows.StackRefreshRequest{})
		require.NoError(t, err, "refresh %d", i)
		res, err := u.Get(ctx)
		require.NoError(t, err, "refresh %d", i)
		require.Equal(t, workflows.StackInSync, res.State.Status)
	}

	// Every run of the stack, the open one included.
	id := workflows.StackID(ref.Provider, ref.Name)
	var runs []string
	waitFor(t, 30*time.Second, "the stack's runs to be listed", func() bool {
		list, err := s.List(ctx, starter.ListOptions{Query: fmt.Sprintf("WorkflowId = '%s'", id), Limit: 100})
		if err != nil {
			return false
		}
		runs = runs[:0]
		for _, r := range list {
			runs = append(runs, r.RunID)
		}
		return len(runs) > 1
	})
	total := 0
	for _, run := range runs {
		n := 0
		it := c.GetWorkflowHistory(ctx, id, run, false, 0)
		for it.HasNext() {
			_, err := it.Next()
			require.NoError(t, err)
			n++
		}
		total += n
		require.Less(t, n, 2000, "run %s has %d events", run, n)
	}
	t.Logf("500 refreshes: %d runs, %d events in all", len(runs), total)
	st, err := s.StackState(ctx, ref)
	require.NoError(t, err)
	require.Equal(t, workflows.StackInSync, st.Status, "the state survived %d runs", len(runs))
	require.Len(t, st.Resources, 1)
	u, err := s.DestroyStack(ctx, ref, workflows.StackDestroyRequest{})
	require.NoError(t, err)
	_, err = u.Get(ctx)
	require.NoError(t, err)
	require.True(t, inventory(t).Empty())
}

// Acceptance 9: listing 100 stacks is one request to the visibility store,
// answered in well under 2 s.
func TestStackListOfAHundred(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	s := newStarter(t, c, tq)
	ctx := context.Background()
	const n = 100
	for i := range n {
		in := containerInput(fmt.Sprintf("many-%03d", i))
		u, err := s.PlanStack(ctx, workflows.StackPlanRequest{Spec: workflows.StackSpec{Provider: workflows.ProviderOpenVZ, OpenVZ: &in}})
		require.NoError(t, err)
		_, err = u.Get(ctx)
		require.NoError(t, err)
	}
	var list []starter.StackSummary
	var took time.Duration
	waitFor(t, time.Minute, "the 100 stacks to be visible", func() bool {
		start := time.Now()
		l, err := s.ListStacks(ctx, "")
		took = time.Since(start)
		list = l
		return err == nil && len(l) >= n
	})
	require.Less(t, took, 2*time.Second, "stacks list of %d", len(list))
	for _, st := range list {
		if st.Provider == workflows.ProviderOpenVZ && strings.HasPrefix(st.Name, "many-") {
			require.Equal(t, workflows.StackNew, st.Status, st.Name)
		}
	}
	// Plans alone made nothing; the stacks end with a destroy.
	for i := range n {
		u, err := s.DestroyStack(ctx, starter.StackRef{Provider: workflows.ProviderOpenVZ, Name: fmt.Sprintf("many-%03d", i)}, workflows.StackDestroyRequest{})
		require.NoError(t, err)
		_, err = u.Get(ctx)
		require.NoError(t, err)
	}
	require.True(t, inventory(t).Empty())
}

// A VM's type changes in place (stopped, changed, started), a disk added to
// the spec is made and attached to the running VM, and a disk dropped from
// it is detached and deleted: the VM itself is never replaced.
func TestStackChangesTheVMInPlace(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	s := newStarter(t, c, tq)

	spec := crusoeStackSpec("reshape")
	res, err := applyStack(t, s, workflows.StackApplyRequest{Spec: spec})
	require.NoError(t, err)
	vmID := ""
	for _, r := range res.State.Resources {
		if r.Kind == workflows.KindVM {
			vmID = r.ID
		}
	}

	changed := crusoeStackSpec("reshape")
	changed.Crusoe.VM.Type = "a100.8x"
	changed.Crusoe.Disks = append(changed.Crusoe.Disks[:1], workflows.DiskSpec{Name: "reshape-logs", Size: "5GiB", Type: "persistent-ssd", Mode: "read-write"})
	p := planStack(t, s, changed)
	byKey := changesByKey(p)
	vm := byKey["vm/reshape"]
	require.Equal(t, workflows.ActionUpdate, vm.Action, "%+v", vm)
	require.Equal(t, []workflows.FieldChange{
		{Field: "disks", Old: "reshape-data:read-write,reshape-scratch:read-write", New: "reshape-data:read-write,reshape-logs:read-write"},
		{Field: "type", Old: "c1a.2x", New: "a100.8x"},
	}, vm.Fields)
	require.Contains(t, vm.Note, "stops")
	require.Equal(t, workflows.ActionCreate, byKey["disk/reshape-logs"].Action)
	require.Equal(t, workflows.ActionDelete, byKey["disk/reshape-scratch"].Action)

	res, err = applyStack(t, s, workflows.StackApplyRequest{Spec: changed, AllowDestroy: true})
	require.NoError(t, err)
	require.Equal(t, workflows.StackInSync, res.State.Status)
	vms := inventoryVMs(t)
	require.Len(t, vms, 1)
	require.Equal(t, vmID, vms[0].ID, "the VM was changed, not replaced")
	require.Equal(t, "STATE_RUNNING", vms[0].State)
	var attached []string
	for _, d := range vms[0].Disks {
		attached = append(attached, d.Name)
	}
	require.ElementsMatch(t, []string{"reshape-data", "reshape-logs"}, attached)
	require.Equal(t, 2, inventory(t).Count("crusoe", "disks"), "the dropped disk is gone")
	var typ struct{ Type string }
	require.NoError(t, json.Unmarshal(inventory(t)["crusoe"]["vms"][0], &typ))
	require.Equal(t, "a100.8x", typ.Type)
	require.False(t, planStack(t, s, changed).Pending())

	_, err = destroyStack(t, s, "reshape", workflows.StackDestroyRequest{})
	require.NoError(t, err)
	require.True(t, inventory(t).Empty(), "inventory: %v", inventory(t))
}
