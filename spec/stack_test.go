package spec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/workflows"
)

// Every example becomes its stack's spec through the parser of its
// provider, the same input the provider's command builds, with its source.
func TestStackSpecOfEveryProvider(t *testing.T) {
	for _, tc := range []struct {
		file, provider, name string
		want                 func(t *testing.T, path string) workflows.StackSpec
	}{
		{"crusoe-vm.yaml", ProviderCrusoe, "demo-vm", func(t *testing.T, path string) workflows.StackSpec {
			s, err := Load(path)
			require.NoError(t, err)
			in := s.ProvisionInput()
			return workflows.StackSpec{Provider: ProviderCrusoe, Crusoe: &in, Source: path}
		}},
		{"cloudmc-vm.yaml", ProviderCloudMC, "demo-instance", func(t *testing.T, path string) workflows.StackSpec {
			s, err := LoadCloudMC(path)
			require.NoError(t, err)
			in := s.ProvisionInput()
			return workflows.StackSpec{Provider: ProviderCloudMC, CloudMC: &in, Source: path}
		}},
		{"kraftcloud-app.yaml", ProviderKraftCloud, "demo-app", func(t *testing.T, path string) workflows.StackSpec {
			s, err := LoadKraftCloud(path)
			require.NoError(t, err)
			in := s.DeployInput()
			return workflows.StackSpec{Provider: ProviderKraftCloud, KraftCloud: &in, Source: path}
		}},
		{"container.yaml", ProviderOpenVZ, "ct100", func(t *testing.T, path string) workflows.StackSpec {
			s, err := LoadContainer(path)
			require.NoError(t, err)
			in := s.CreateInput()
			return workflows.StackSpec{Provider: ProviderOpenVZ, OpenVZ: &in, Source: path}
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("..", "examples", tc.file)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			got, err := StackSpec(data, path)
			require.NoError(t, err)
			assert.Equal(t, tc.want(t, path), got)
			assert.Equal(t, tc.provider, got.Provider)
			assert.Equal(t, tc.name, got.Name())
			require.NoError(t, got.Validate())
		})
	}
}

func TestStackSpecFromStandardInput(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "examples", "container.yaml"))
	require.NoError(t, err)
	got, err := StackSpec(data, "-")
	require.NoError(t, err)
	assert.Equal(t, "standard input", got.Source)
}

// Problems are those the provider's parser finds, every one with its field
// and line; a provider no stack takes, or none, is named with the fix.
func TestStackSpecProblems(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []string
	}{
		{"a Crusoe spec's problems", badVM, []string{
			`disks[0].size: "10GB" is not a size; use a whole number with GiB or TiB, e.g. 10GiB (line 9)`,
			`disks[1].name: "data" is used by disks[0] too`,
		}},
		{"a container spec's problems", "provider: openvz\ncontainer:\n  name: web\n  ostemplate: centos\n  memory: 1GB\n", []string{
			`container.memory: "1GB"`,
		}},
		{"an unknown provider", "# a comment\nprovider: aws\nvm: {name: web}\n", []string{
			`provider: "aws" is not a supported provider; use one of crusoe, cloudmc, kraftcloud or openvz (line 2)`,
		}},
		{"no provider", "vm:\n  name: web\n", []string{
			"provider: is required; add provider: one of crusoe, cloudmc, kraftcloud or openvz",
		}},
		{"not YAML", "provider: [crusoe\n", []string{"line 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := StackSpec([]byte(tc.data), "bad.yaml")
			var errs Errors
			require.ErrorAs(t, err, &errs)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

const badVM = `provider: crusoe
vm:
  name: demo-vm
  type: c1a.2x
  location: us-northcentral1-a
  sshPublicKey: "` + goodKey + `"
disks:
  - name: data
    size: 10GB
  - name: data
    size: 1GiB
`
