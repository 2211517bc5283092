package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/cloudsim"
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

// journal is the simulator's request journal, oldest first.
func journal(t testing.TB) []cloudsim.RequestRecord {
	t.Helper()
	all, err := admin.Requests(context.Background())
	require.NoError(t, err)
	return all
}
