package spec

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/workflows"
)

func TestContainerExampleLoads(t *testing.T) {
	s, err := LoadContainer(filepath.Join("..", "examples", "container.yaml"))
	require.NoError(t, err)
	want := workflows.CreateContainerInput{
		Container: workflows.ContainerSpec{
			Name: "ct100", OSTemplate: "centos-7-x86_64", Hostname: "ct100.example.com", CPUs: 2,
			Memory: "1G", Disk: "10G", IPAddress: "10.0.0.5", Nameservers: []string{"1.1.1.1", "8.8.8.8"},
		},
		Timeouts: workflows.Timeouts{Operation: 10 * time.Minute},
	}
	assert.Equal(t, want, s.CreateInput())
	require.NoError(t, s.CreateInput().Validate())
	assert.Equal(t, workflows.DeleteContainerInput{Name: "ct100", Timeouts: workflows.Timeouts{Operation: 10 * time.Minute}}, s.DeleteInput())
}

// ctHead is a valid spec of a container without parameters; it takes lines
// 1-4, so the first line a case adds is line 5.
const ctHead = `provider: openvz
container:
  name: ct100
  ostemplate: centos-7-x86_64
`

func TestContainerMinimalAndJSON(t *testing.T) {
	s, err := ParseContainer([]byte(ctHead), "ct.yaml")
	require.NoError(t, err)
	assert.Equal(t, workflows.CreateContainerInput{Container: workflows.ContainerSpec{Name: "ct100", OSTemplate: "centos-7-x86_64"}}, s.CreateInput())

	js := `{"provider": "openvz", "container": {"name": "web_1.a", "ostemplate": "debian-12", "cpus": "4",
	"memory": "512M", "disk": "1024K", "ip": "192.168.0.9", "nameservers": ["9.9.9.9"]}}`
	s, err = ParseContainer([]byte(js), "-")
	require.NoError(t, err)
	c := s.CreateInput().Container
	assert.Equal(t, 4, c.CPUs, "a number written as a string is taken")
	assert.Equal(t, "512M", c.Memory)
	assert.Equal(t, "1024K", c.Disk)
	assert.Equal(t, []string{"9.9.9.9"}, c.Nameservers)
}

func parseContainerErrors(t *testing.T, src string) Errors {
	t.Helper()
	s, err := ParseContainer([]byte(src), "ct.yaml")
	require.Error(t, err, "spec should be rejected")
	assert.Nil(t, s)
	var errs Errors
	require.True(t, errors.As(err, &errs), "error is %T, want Errors", err)
	return errs
}

func TestContainerSpecProblems(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		wants []want
	}{
		{"empty", "", []want{{"", "the spec is empty; start from examples/container.yaml", 0}}},
		{"two documents", ctHead + "---\n" + ctHead, []want{{"", "put one container in each spec file", 5}}},
		{"missing everything", "provider: openvz\n", []want{
			{"container.name", "is required; name the container, e.g. name: ct100", 1},
			{"container.ostemplate", "is required", 1},
		}},
		{"no provider", "container: {name: a, ostemplate: b}\n", []want{{"provider", "add provider: openvz", 1}}},
		{"unknown provider", strings.Replace(ctHead, "openvz", "container", 1), []want{{"provider", `"container" is not a supported provider; ` + "`cloudflow container create` runs provider: openvz specs", 1}}},
		{"every parameter wrong at once", `provider: openvz
container:
  name: -ct
  ostemplate: "centos 7"
  hostname: web_1
  cpus: 0
  memory: 1GB
  disk: "10"
  ip: 10.0.0.300
  nameservers: [1.1.1.1, "::1", 1.1.1.1, 10.0.0.0/8]
`, []want{
			{"container.name", `"-ct" must start with a letter or digit`, 3},
			{"container.ostemplate", `"centos 7" contains ' '`, 4},
			{"container.hostname", `"web_1" is not a host name`, 5},
			{"container.cpus", `"0" must be more than zero`, 6},
			{"container.memory", `"1GB" is not a size; write it as 1G: the unit is K, M or G`, 7},
			{"container.disk", `"10" is not a size; add a unit, K, M or G, e.g. 10M`, 8},
			{"container.ip", `"10.0.0.300" is not an IPv4 address; use an address such as 10.0.0.5`, 9},
			{"container.nameservers[1]", `"::1" is an IPv6 address`, 10},
			{"container.nameservers[2]", `"1.1.1.1" is listed by container.nameservers[0] too`, 10},
			{"container.nameservers[3]", `"10.0.0.0/8" is a network, not an address`, 10},
		}},
		{"sizes", ctHead + "  memory: 0G\n  disk: 10 gib\n", []want{
			{"container.memory", `"0G" must be more than zero`, 5},
			{"container.disk", `"10 gib" is not a size; write it as 10G`, 6},
		}},
		{"types", ctHead + "  cpus: two\n  nameservers: 1.1.1.1\n", []want{
			{"container.cpus", `"two" is not a whole number; write it as cpus: 2`, 5},
			{"container.nameservers", "must be a list, not the value \"1.1.1.1\"; write it as [1.1.1.1, 8.8.8.8]", 6},
		}},
		{"unknown fields", ctHead + "  osTemplate: x\n  memoryMB: 5\nvm: {}\n", []want{
			{"container.osTemplate", "is not a known field; did you mean ostemplate?", 5},
			{"container.memoryMB", "is not a known field", 6},
			{"vm", "is not a known field", 7},
		}},
		{"long name", strings.Replace(ctHead, "ct100", strings.Repeat("c", 65), 1), []want{
			{"container.name", "is 65 characters long, over the limit of 64", 3},
		}},
		{"container not a mapping", "provider: openvz\ncontainer: [a]\n", []want{
			{"container", "must be a mapping of keys to values, not a list", 2},
		}},
		{"timeouts", ctHead + "timeouts: {operation: soon}\n", []want{{"timeouts.operation", `"soon" is not a duration`, 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertErrors(t, parseContainerErrors(t, tt.src), tt.wants)
		})
	}
}

// Each command refuses another provider's spec and names the command that
// runs it.
func TestContainerSpecAndTheOtherCommands(t *testing.T) {
	errs := parseErrors(t, ctHead, "ct.yaml")
	assertErrors(t, errs, []want{{"provider", "is an OpenVZ container spec, which `cloudflow vm` does not run; create it with `cloudflow container create -f FILE`", 1}})
	assertErrors(t, parseKraftErrors(t, ctHead), []want{{"provider", "which `cloudflow instances deploy` does not run; create it with `cloudflow container create -f FILE`", 1}})

	crusoe, err := readSpec(filepath.Join("..", "examples", "crusoe-vm.yaml"))
	require.NoError(t, err)
	assertErrors(t, parseContainerErrors(t, string(crusoe)), []want{{"provider", "is a Crusoe VM spec, which `cloudflow container create` does not run; provision it with `cloudflow vm provision -f FILE`", 0}})
	kraft, err := readSpec(filepath.Join("..", "examples", "kraftcloud-app.yaml"))
	require.NoError(t, err)
	assertErrors(t, parseContainerErrors(t, string(kraft)), []want{{"provider", "is a KraftCloud instance spec, which `cloudflow container create` does not run; deploy it with `cloudflow instances deploy -f FILE`", 0}})
}
