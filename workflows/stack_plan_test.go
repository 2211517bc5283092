package workflows

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/activities"
)

func planSpec() StackSpec {
	in := ProvisionVMInput{
		VM: VMSpec{Name: "web", Type: "c1a.2x", Location: "us-east1-a", SSHPublicKey: "ssh-ed25519 AAAA"},
		Disks: []DiskSpec{
			{Name: "web-data", Size: "10GiB"},
		},
		FirewallRules: []FirewallRuleSpec{{
			Name: "web-ssh", Direction: "ingress", Action: "allow", Protocols: []string{"tcp"},
			Sources: []string{"0.0.0.0/0"}, Destinations: []string{TargetVM}, DestinationPorts: []string{"22"},
		}},
	}
	return StackSpec{Provider: ProviderCrusoe, Crusoe: &in}
}

// observedAsSpec is what the cloud reports after the spec was applied.
func observedAsSpec(spec StackSpec) map[string]activities.Observed {
	obs := map[string]activities.Observed{"vm/web": {Key: "vm/web", Found: true, ID: "vm-1"}}
	for _, d := range (crusoeStack{}).desired(spec, obs) {
		id := map[string]string{"disk": "disk-1", "vm": "vm-1", "firewall-rule": "rule-1"}[d.Kind]
		obs[d.Key] = activities.Observed{Key: d.Key, Kind: d.Kind, Name: d.Name, Found: true, ID: id, Attrs: d.Attrs}
	}
	return obs
}

func stateOf(spec StackSpec, obs map[string]activities.Observed, ownership string) *StackState {
	st := &StackState{Provider: ProviderCrusoe, Name: "web", Spec: &spec}
	for _, d := range (crusoeStack{}).desired(spec, obs) {
		st.Resources = append(st.Resources, StackResource{
			Key: d.Key, Kind: d.Kind, Name: d.Name, ID: obs[d.Key].ID, Ownership: ownership, Attrs: d.Attrs, Applied: d.WriteOnly,
		})
	}
	return st
}

func plan(spec StackSpec, st *StackState, obs map[string]activities.Observed) StackPlan {
	return makePlan(planInput{
		id: "plan-1", spec: spec, desired: (crusoeStack{}).desired(spec, obs), rules: (crusoeStack{}).rules, state: st, observed: obs,
	})
}

func TestPlanInSyncChangesNothing(t *testing.T) {
	spec := planSpec()
	obs := observedAsSpec(spec)
	p := plan(spec, stateOf(spec, obs, OwnershipCreated), obs)
	require.False(t, p.Pending(), "%+v", p.Changes)
	require.Len(t, p.Changes, 3)
}

func TestPlanNamesEachInPlaceFieldOldToNew(t *testing.T) {
	spec := planSpec()
	obs := observedAsSpec(spec)
	st := stateOf(spec, obs, OwnershipCreated)
	changed := planSpec()
	changed.Crusoe.Disks[0].Size = "1TiB"
	changed.Crusoe.VM.Type = "a100.8x"
	changed.Crusoe.FirewallRules[0].DestinationPorts = []string{"2222", "22"}
	p := plan(changed, st, obs)
	byKey := map[string]PlanChange{}
	for _, c := range p.Changes {
		byKey[c.Key] = c
	}
	require.Equal(t, PlanChange{Key: "disk/web-data", Kind: KindDisk, Name: "web-data", ID: "disk-1", Action: ActionUpdate,
		Fields: []FieldChange{{Field: "size", Old: "10GiB", New: "1024GiB"}}}, byKey["disk/web-data"])
	vm := byKey["vm/web"]
	require.Equal(t, ActionUpdate, vm.Action)
	require.Equal(t, []FieldChange{{Field: "type", Old: "c1a.2x", New: "a100.8x"}}, vm.Fields)
	require.Contains(t, vm.Note, "stops")
	require.Equal(t, []FieldChange{{Field: "destinationPorts", Old: "22", New: "22,2222"}}, byKey["firewall-rule/web-ssh"].Fields)
	require.Empty(t, p.Destructive())
}

func TestPlanMarksShrinksReplacesAndDeletesDestructive(t *testing.T) {
	spec := planSpec()
	obs := observedAsSpec(spec)
	st := stateOf(spec, obs, OwnershipCreated)
	changed := planSpec()
	changed.Crusoe.Disks[0].Size = "5GiB"
	changed.Crusoe.FirewallRules = nil
	changed.Crusoe.VM.SSHPublicKey = "ssh-ed25519 BBBB"
	p := plan(changed, st, obs)
	got := map[string]string{}
	for _, c := range p.Destructive() {
		got[c.Key] = c.Action
	}
	require.Equal(t, map[string]string{
		"disk/web-data": ActionReplace, "vm/web": ActionReplace, "firewall-rule/web-ssh": ActionDelete,
	}, got)
}

func TestPlanAdoptsWhatItDidNotMakeAndReleasesIt(t *testing.T) {
	spec := planSpec()
	obs := observedAsSpec(spec)
	empty := &StackState{Provider: ProviderCrusoe, Name: "web"}
	p := plan(spec, empty, obs)
	for _, c := range p.Changes {
		require.Equal(t, ActionAdopt, c.Action, c.Key)
		require.False(t, c.Destructive, c.Key)
	}
	// An adopted resource left out of the spec is released, never deleted.
	st := stateOf(spec, obs, OwnershipAdopted)
	changed := planSpec()
	changed.Crusoe.FirewallRules = nil
	p = plan(changed, st, obs)
	last := p.Changes[len(p.Changes)-1]
	require.Equal(t, "firewall-rule/web-ssh", last.Key)
	require.Equal(t, ActionRelease, last.Action)
	require.Empty(t, p.Destructive())
}

func TestPlanRecreatesWhatWasDeletedOutOfBand(t *testing.T) {
	spec := planSpec()
	obs := observedAsSpec(spec)
	st := stateOf(spec, obs, OwnershipCreated)
	obs["disk/web-data"] = activities.Observed{Key: "disk/web-data", Found: false}
	p := plan(spec, st, obs)
	require.Equal(t, ActionCreate, p.Changes[0].Action)
	require.Equal(t, "deleted outside cloudflow", p.Changes[0].Note)
}

func TestPlanBasisChangesWithTheCloud(t *testing.T) {
	spec := planSpec()
	obs := observedAsSpec(spec)
	st := stateOf(spec, obs, OwnershipCreated)
	a := plan(spec, st, obs)
	require.Equal(t, a.Basis, plan(spec, st, obs).Basis, "the same cloud, the same basis")
	d := obs["disk/web-data"]
	d.Attrs = map[string]string{"size": "20GiB", "type": d.Attrs["type"], "location": d.Attrs["location"]}
	obs["disk/web-data"] = d
	b := plan(spec, st, obs)
	require.NotEqual(t, a.Basis, b.Basis)
}
