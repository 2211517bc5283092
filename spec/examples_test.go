package spec

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/workflows"
)

// The examples are what a new user runs first: they must load as they are,
// and the YAML and JSON twins must say the same thing.
func TestExamplesLoad(t *testing.T) {
	want := workflows.ProvisionVMInput{
		VM: workflows.VMSpec{
			Name: "demo-vm", Type: "c1a.2x", Location: "us-northcentral1-a", Image: "ubuntu22.04",
			SSHPublicKey: goodKey,
		},
		Disks: []workflows.DiskSpec{
			{Name: "demo-vm-data", Size: "10GiB", Type: "persistent-ssd", Mode: "read-write"},
			{Name: "demo-vm-scratch", Size: "20GiB", Type: "persistent-ssd", Mode: "read-write"},
		},
		FirewallRules: []workflows.FirewallRuleSpec{{
			Name: "demo-vm-ssh", VPCNetwork: "default", Direction: "ingress", Action: "allow",
			Protocols: []string{"tcp"}, Sources: []string{"0.0.0.0/0"}, Destinations: []string{"vm"},
			DestinationPorts: []string{"22"},
		}},
	}
	for _, name := range []string{"crusoe-vm.yaml", "crusoe-vm.json"} {
		t.Run(name, func(t *testing.T) {
			s, err := Load(filepath.Join("..", "examples", name))
			require.NoError(t, err)
			assert.Equal(t, want, s.ProvisionInput())
			assert.Equal(t, workflows.DeprovisionVMInput{
				VMName:        "demo-vm",
				DiskNames:     []string{"demo-vm-data", "demo-vm-scratch"},
				FirewallRules: []string{"demo-vm-ssh"},
			}, s.DeprovisionInput())
		})
	}
}
