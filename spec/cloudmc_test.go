package spec

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/workflows"
)

// The simulator's fixture IDs, which the example uses.
const (
	cmcOffering = "3caab5ed-b5a2-4d8a-82e4-51c46168ee6c"
	cmcNetwork  = "d5a68379-a9ee-404f-9492-a1964b374d6f"
	cmcTemplate = "8f52a74e-e637-40e8-a8dc-f56fd0b71ab9"
)

func TestCloudMCExampleLoads(t *testing.T) {
	s, err := LoadCloudMC(filepath.Join("..", "examples", "cloudmc-vm.yaml"))
	require.NoError(t, err)
	rules := []workflows.CloudMCIngressRuleSpec{
		{Protocol: "tcp", StartPort: 22, CIDR: "0.0.0.0/0"},
		{Protocol: "tcp", StartPort: 8000, EndPort: 8080, CIDR: "10.0.0.0/8"},
	}
	timeouts := workflows.Timeouts{Operation: 10 * time.Minute}
	assert.Equal(t, workflows.ProvisionInstanceInput{
		Instance:     workflows.CloudMCInstanceSpec{Name: "demo-instance", ComputeOfferingID: cmcOffering, NetworkID: cmcNetwork, TemplateID: cmcTemplate},
		Volume:       &workflows.CloudMCVolumeSpec{Name: "demo-instance-data", DiskOffering: "Custom - 1 IOPS/GB", SizeGB: 20},
		IngressRules: rules,
		Timeouts:     timeouts,
	}, s.ProvisionInput())
	assert.Equal(t, workflows.DeprovisionInstanceInput{
		InstanceName: "demo-instance", VolumeName: "demo-instance-data", IngressRules: rules, NetworkID: cmcNetwork, Timeouts: timeouts,
	}, s.DeprovisionInput())
	require.NoError(t, s.ProvisionInput().Validate())
	require.NoError(t, s.DeprovisionInput().Validate())

	data, err := readSpec(filepath.Join("..", "examples", "cloudmc-vm.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "cloudmc", ProviderOf(data))
}

// cmcHead is a valid spec of an instance alone; it takes lines 1-6, so the
// first line a case adds is line 7.
const cmcHead = `provider: cloudmc
instance:
  name: web
  computeOffering: ` + cmcOffering + `
  network: ` + cmcNetwork + `
  template: ` + cmcTemplate + `
`

func parseCMCErrors(t *testing.T, src string) Errors {
	t.Helper()
	s, err := ParseCloudMC([]byte(src), "vm.yaml")
	require.Error(t, err, "spec should be rejected")
	assert.Nil(t, s)
	var errs Errors
	require.True(t, errors.As(err, &errs), "error is %T, want Errors", err)
	return errs
}

func TestCloudMCMinimalJSONAndSizes(t *testing.T) {
	s, err := ParseCloudMC([]byte(cmcHead), "vm.yaml")
	require.NoError(t, err)
	in := s.ProvisionInput()
	assert.Nil(t, in.Volume)
	assert.Empty(t, in.IngressRules)
	assert.Equal(t, workflows.DeprovisionInstanceInput{InstanceName: "web", NetworkID: cmcNetwork}, s.DeprovisionInput())

	js := `{"provider": "cloudmc",
	"instance": {"name": "api", "computeOffering": "` + cmcOffering + `", "network": "` + cmcNetwork + `", "template": "` + cmcTemplate + `"},
	"volume": {"name": "logs", "diskOffering": "21ba9c9b-a31e-496e-983f-e3041525bf95"},
	"ingressRules": [{"protocol": "udp", "ports": 53, "cidr": "10.1.2.3"}, {"protocol": "icmp", "cidr": "10.0.0.9/8"}]}`
	s, err = ParseCloudMC([]byte(js), "-")
	require.NoError(t, err)
	in = s.ProvisionInput()
	assert.Equal(t, &workflows.CloudMCVolumeSpec{Name: "api-logs", DiskOffering: "21ba9c9b-a31e-496e-983f-e3041525bf95"}, in.Volume,
		"a fixed-size offering, by ID, with no size")
	assert.Equal(t, []workflows.CloudMCIngressRuleSpec{
		{Protocol: "udp", StartPort: 53, CIDR: "10.1.2.3/32"},
		{Protocol: "icmp", CIDR: "10.0.0.0/8"},
	}, in.IngressRules, "a bare address is a /32 and a CIDR is masked, as the cloud stores them")
	assert.Equal(t, "cloudmc", ProviderOf([]byte(js)))

	s, err = ParseCloudMC([]byte(cmcHead+"volume: {name: big, diskOffering: Custom, size: 2TiB}\n"), "vm.yaml")
	require.NoError(t, err)
	assert.Equal(t, &workflows.CloudMCVolumeSpec{Name: "web-big", DiskOffering: "Custom", SizeGB: 2048}, s.ProvisionInput().Volume)
}

func TestCloudMCSpecProblems(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		wants []want
	}{
		{"empty", "", []want{{"", "the spec is empty; start from examples/cloudmc-vm.yaml", 0}}},
		{"missing everything", "provider: cloudmc\ninstance: {}\n", []want{
			{"instance.name", "is required", 2},
			{"instance.computeOffering", "is required; give the ID of the environment's compute offering", 2},
			{"instance.network", "is required", 2},
			{"instance.template", "is required", 2},
		}},
		{"unknown provider", strings.Replace(cmcHead, "cloudmc", "aws", 1), []want{{"provider", `"aws" is not a supported provider; ` + "`cloudflow vm provision` runs provider: crusoe and provider: cloudmc specs", 1}}},
		{"bad instance", `provider: cloudmc
instance:
  name: Web_1
  computeOffering: 1vCPU.1GB
  network: d5a68379-a9ee-404f-9492-a1964b374d6f
  template: Ubuntu
  zone: sim-1
`, []want{
			{"instance.name", `"Web_1" is not a valid instance name: it has uppercase letters`, 3},
			{"instance.computeOffering", `"1vCPU.1GB" is not an ID; give the compute offering's ID, a UUID, not its name`, 4},
			{"instance.template", `"Ubuntu" is not an ID`, 6},
			{"instance.zone", "is not a known field; known fields here: name, computeOffering, network, template", 7},
		}},
		{"unknown fields", cmcHead + "  computeOfferingId: x\nvolumes: []\ningressRule: []\n", []want{
			{"instance.computeOfferingId", "is not a known field", 7},
			{"volumes", "did you mean volume?", 8},
			{"ingressRule", "did you mean ingressRules?", 9},
		}},
		{"volume", cmcHead + "volume:\n  name: Data\n  diskOffering: Custom\n  size: 20GB\n", []want{
			{"volume.name", `"Data" is not a valid volume name`, 8},
			{"volume.size", `"20GB" is not a size; write it as 20GiB, or as sizeGB: 20`, 10},
		}},
		{"volume sizes", cmcHead + "volume: {name: data, diskOffering: Custom, size: 20GiB, sizeGB: 20}\n", []want{
			{"volume.sizeGB", "is given with volume.size; give the size once", 7},
		}},
		{"volume without a disk offering", cmcHead + "volume: {name: data, size: 20GiB}\n", []want{{"volume.diskOffering",
			"is required; give the ID or the name of one of the environment's disk offerings, e.g. diskOffering: 50GB - 50 IOPS Min. (a custom-size one also takes a size)", 7}}},
		{"disk offering with spaces around", cmcHead + "volume: {name: data, diskOffering: ' Custom '}\n", []want{
			{"volume.diskOffering", `" Custom " has spaces around it; write the ID or name without them`, 7}}},
		{"disk offering with a control character", cmcHead + "volume: {name: data, diskOffering: \"Cus\\ttom\"}\n", []want{
			{"volume.diskOffering", "is not a disk offering ID or name", 7}}},
		{"disk offering too long", cmcHead + "volume: {name: data, diskOffering: " + strings.Repeat("x", 256) + "}\n", []want{
			{"volume.diskOffering", "is not a disk offering ID or name", 7}}},
		{"disk offering not a string", cmcHead + "volume: {name: data, diskOffering: [a, b]}\n", []want{{"volume.diskOffering", "", 7}}},
		{"volume size zero", cmcHead + "volume: {name: data, diskOffering: Custom, sizeGB: 0}\n", []want{{"volume.sizeGB", `"0" is not a size a volume can have`, 7}}},
		{"derived name too long", strings.Replace(cmcHead, "name: web", "name: "+strings.Repeat("a", 60), 1) + "volume: {name: data, diskOffering: Custom, size: 1GiB}\n", []want{
			{"volume.name", `makes the volume name "` + strings.Repeat("a", 60) + `-data" 65 characters long`, 7},
		}},
		{"rules", cmcHead + `ingressRules:
  - protocol: TCP
    ports: "22"
    cidr: 0.0.0.0/0
  - protocol: sctp
    ports: "1"
    cidr: 10.0.0.0/33
  - protocol: tcp
    ports: "8080-8000"
    cidr: somewhere
  - protocol: udp
  - protocol: icmp
    ports: "7"
    cidr: 0.0.0.0/0
  - protocol: tcp
    ports: "70000"
    cidr: 0.0.0.0/0
  - protocol: tcp
    ports: "22"
    cidr: 0.0.0.0/0
    action: allow
`, []want{
			{"ingressRules[0].protocol", `"TCP" is not allowed here; write it in lowercase: tcp`, 8},
			{"ingressRules[1].protocol", `"sctp" is not allowed here; use one of: tcp, udp, icmp`, 11},
			{"ingressRules[1].cidr", `"10.0.0.0/33" is not a CIDR`, 13},
			{"ingressRules[2].ports", `"8080-8000" is a range that ends before it starts; write it low-high: 8000-8080`, 15},
			{"ingressRules[2].cidr", `"somewhere" is not a CIDR`, 16},
			{"ingressRules[3].ports", `is required; open a port or a range`, 17},
			{"ingressRules[3].cidr", `is required`, 17},
			{"ingressRules[4].ports", `"7" is set on an icmp rule, which takes no ports; leave ports out`, 19},
			{"ingressRules[5].ports", `"70000" is not a port`, 22},
			{"ingressRules[6].action", "is not a known field; known fields here: protocol, ports, cidr", 27},
		}},
		{"overlapping rules", cmcHead + `ingressRules:
  - {protocol: tcp, ports: "8000-8080", cidr: 10.0.0.0/8}
  - {protocol: tcp, ports: "8080", cidr: 10.1.0.0/8}
  - {protocol: tcp, ports: "8080", cidr: 10.0.0.0/16}
  - {protocol: icmp, cidr: 0.0.0.0/0}
  - {protocol: icmp, cidr: 0.0.0.0/0}
`, []want{
			{"ingressRules[1]", "opens traffic that ingressRules[0] opens too, and the cloud refuses overlapping rules; merge the two rules into one", 9},
			{"ingressRules[4]", "opens traffic that ingressRules[3] opens too", 12},
		}},
		{"timeouts", cmcHead + "timeouts: {operation: soon}\n", []want{{"timeouts.operation", `"soon" is not a duration`, 7}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertErrors(t, parseCMCErrors(t, tt.src), tt.wants)
		})
	}
}

func TestCloudMCTooManyRules(t *testing.T) {
	src := cmcHead + "ingressRules:\n"
	for i := range MaxIngressRules + 1 {
		src += fmt.Sprintf("  - {protocol: tcp, ports: \"%d\", cidr: 0.0.0.0/0}\n", 1000+i)
	}
	assertErrors(t, parseCMCErrors(t, src), []want{{"ingressRules", "has 17 rules, over the limit of 16", 7}})
}

// Specs for the other commands say which command runs them; the Crusoe
// parser, which `cloudflow vm` also uses, says a CloudMC spec is not its own.
func TestCloudMCSpecAndTheOtherCommands(t *testing.T) {
	assertErrors(t, parseKraftErrors(t, cmcHead), []want{{"provider", "provision it with `cloudflow vm provision -f FILE`", 1}})
	assertErrors(t, parseErrors(t, cmcHead, "vm.yaml"), []want{{"provider", `"cloudmc" is a CloudMC instance spec, not a Crusoe VM spec`, 1}})

	crusoe, err := readSpec(filepath.Join("..", "examples", "crusoe-vm.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "crusoe", ProviderOf(crusoe))
	assertErrors(t, parseCMCErrors(t, string(crusoe)), []want{{"provider", "is a Crusoe VM spec", 0}})
}

func TestProviderOf(t *testing.T) {
	for src, want := range map[string]string{
		"":                                "",
		"not: [valid":                     "",
		"- provider: cloudmc\n":           "",
		"provider: [cloudmc]\n":           "",
		"vm: {}\n":                        "",
		"provider: crusoe\n":              "crusoe",
		"{\t\"provider\": \"x\"}":         "x",
		"provider: a\n---\nprovider: b\n": "a",
	} {
		assert.Equal(t, want, ProviderOf([]byte(src)), "%q", src)
	}
}
