package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/workflows"
)

const (
	goodKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILwzAx+dSGF28fpgWXlDr1SQDgY1cdAAYPhlFCNEwF4i demo@cloudflow"
	rsaKey  = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCspdG97nTS/h4PEPq2QD2RYVK1jxFXLFZuSDMI8Rtxpucl6LDZLOghEYoj13lxKQnGtcsM3Iu68lh+4YgZe7CbI6cc/TxPbeAX2HJTqDh0J7+GAlLBHK9tsepC0QlhIDiazJptOPDZ3cesCBXdxSnzEbhDaqgYOfl393cp1fCeOKRIDWEP3H9CM25dCbWF66sTDziLsojJ9dMnxhgKm9/JkZc5gYncLT/2Ey+VWfV9Fs65mGUrBbQOn3c8S/nEk6WRcYn4PFOnIp0Mz+Chb50iCJrW677pllLnkTGSU+4c0H9J5z4HDG0I+91RoiQ0QsayFTYO1JtSn+THLuq98V+D"
)

// head is a valid spec without disks or rules; it takes lines 1-6, so the
// first line a case adds is line 7.
var head = `provider: crusoe
vm:
  name: web-1
  type: c1a.2x
  location: us-northcentral1-a
  sshPublicKey: "` + goodKey + `"
`

// oneDisk and oneRule are valid sections to vary.
func disk(lines ...string) string {
	return "disks:\n  - name: data\n    size: 10GiB\n" + indent(lines)
}

func rule(lines ...string) string {
	return "firewallRules:\n  - name: ssh\n    direction: ingress\n    protocols: [tcp]\n    sources: [0.0.0.0/0]\n    destinations: [vm]\n" + indent(lines)
}

func indent(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// want is one expected problem: the field, a piece of its message, its line.
type want struct {
	field string
	text  string
	line  int
}

func parseErrors(t *testing.T, src, source string) Errors {
	t.Helper()
	s, err := Parse([]byte(src), source)
	require.Error(t, err, "spec should be rejected")
	assert.Nil(t, s)
	var errs Errors
	require.True(t, errors.As(err, &errs), "error is %T, want Errors", err)
	return errs
}

func assertErrors(t *testing.T, errs Errors, wants []want) {
	t.Helper()
	got := make([]string, len(errs))
	for i, e := range errs {
		got[i] = e.Error()
	}
	require.Len(t, errs, len(wants), "problems found:\n%s", strings.Join(got, "\n"))
	for i, w := range wants {
		assert.Equal(t, w.field, errs[i].Field, "problem %d: %s", i, errs[i])
		assert.Contains(t, errs[i].Error(), w.text, "problem %d", i)
		if w.line != 0 {
			assert.Equal(t, w.line, errs[i].Line, "problem %d: %s", i, errs[i])
		}
	}
}

func TestParseRejects(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		name  string
		src   string
		wants []want
	}{
		// The file as a whole.
		{"empty", "", []want{{"", "the spec is empty", 0}}},
		{"only a comment", "# nothing\n", []want{{"", "the spec is empty", 0}}},
		{"not YAML", "provider: crusoe\nvm: [\n", []want{{"", "is not valid YAML or JSON", 0}}},
		{"bad indentation", "provider: crusoe\nvm:\n  name: a\n   type: b\n", []want{{"", "is not valid YAML or JSON", 4}}},
		{"a list", "- provider: crusoe\n", []want{{"", "must be a mapping", 1}}},
		{"two documents", head + "---\nprovider: crusoe\n", []want{{"", "more than one YAML document", 7}}},

		// provider and project.
		{"missing provider", strings.TrimPrefix(head, "provider: crusoe\n"), []want{{"provider", "provider: is required; add provider: crusoe (line 1)", 1}}},
		{"other provider", strings.Replace(head, "crusoe", "aws", 1), []want{{"provider", `provider: "aws" is not a supported provider; supported: crusoe, cloudmc (line 1)`, 1}}},
		{"provider is a list", strings.Replace(head, "provider: crusoe", "provider: [crusoe]", 1), []want{{"provider", "must be a single value, not a list", 1}}},
		{"project not a uuid", head + "project: my-project\n", []want{{"project", `"my-project" is not a project ID`, 7}}},

		// vm.
		{"missing vm", "provider: crusoe\n", []want{
			{"vm.name", "is required", 1}, {"vm.type", "is required", 1},
			{"vm.location", "is required", 1}, {"vm.sshPublicKey", "is required", 1},
		}},
		{"empty vm", "provider: crusoe\nvm:\n", []want{
			{"vm.name", "is required", 2}, {"vm.type", "is required", 2},
			{"vm.location", "is required", 2}, {"vm.sshPublicKey", "is required", 2},
		}},
		{"vm is a list", "provider: crusoe\nvm: [a]\n", []want{{"vm", "must be a mapping of keys to values, not a list", 2}}},
		{"name uppercase", strings.Replace(head, "web-1", "Web-1", 1), []want{{"vm.name", `"Web-1" is not a valid VM name: it has uppercase letters; use 1-63 lowercase letters, digits and '-', starting with a letter and not ending in '-', e.g. "web-1" (line 3)`, 3}}},
		{"name starts with digit", strings.Replace(head, "web-1", "1web", 1), []want{{"vm.name", "must start with a letter", 3}}},
		{"name ends with dash", strings.Replace(head, "web-1", "web-", 1), []want{{"vm.name", "must not end in '-'", 3}}},
		{"name underscore", strings.Replace(head, "web-1", "web_1", 1), []want{{"vm.name", `it contains '_'`, 3}}},
		{"name too long", strings.Replace(head, "web-1", long, 1), []want{{"vm.name", "64 characters long, over the limit of 63", 3}}},
		{"name is a number", strings.Replace(head, "web-1", "42", 1), []want{{"vm.name", "must start with a letter", 3}}},
		{"type empty", strings.Replace(head, "type: c1a.2x", `type: ""`, 1), []want{{"vm.type", "is required", 4}}},
		{"location null", strings.Replace(head, "location: us-northcentral1-a", "location: ~", 1), []want{{"vm.location", "is required", 5}}},

		// SSH key.
		{"key missing", strings.Replace(head, `sshPublicKey: "`+goodKey+`"`, "image: ubuntu22.04", 1), []want{{"vm.sshPublicKey", "is required; paste your OpenSSH public key", 2}}},
		{"key and key file", head + "  sshPublicKeyFile: id.pub\n", []want{{"vm.sshPublicKeyFile", "is set together with vm.sshPublicKey", 7}}},
		{"key unknown type", strings.Replace(head, "ssh-ed25519", "ssh-dss", 1), []want{{"vm.sshPublicKey", `unknown key type "ssh-dss"`, 6}}},
		{"key no body", strings.Replace(head, goodKey, "ssh-ed25519", 1), []want{{"vm.sshPublicKey", "is not an OpenSSH public key", 6}}},
		{"key body not base64", strings.Replace(head, "AAAAC3Nz", "!!!!C3Nz", 1), []want{{"vm.sshPublicKey", "its body is not base64", 6}}},
		{"key body of another type", strings.Replace(head, goodKey, "ssh-ed25519"+strings.TrimPrefix(rsaKey, "ssh-rsa"), 1), []want{{"vm.sshPublicKey", `does not match the type "ssh-ed25519"`, 6}}},
		{"private key", strings.Replace(head, `"`+goodKey+`"`, `"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----"`, 1), []want{{"vm.sshPublicKey", "vm.sshPublicKey: is a private key", 6}}},
		{"two keys", strings.Replace(head, `"`+goodKey+`"`, `"`+goodKey+`\n`+goodKey+`"`, 1), []want{{"vm.sshPublicKey", "holds more than one line", 6}}},
		{"key file missing", strings.Replace(head, `sshPublicKey: "`+goodKey+`"`, "sshPublicKeyFile: nothere.pub", 1), []want{{"vm.sshPublicKeyFile", `"nothere.pub" could not be read from ` + filepath.Join("testdata", "nothere.pub") + ": no such file or directory", 6}}},
		{"startup script and file", head + "  startupScript: echo hi\n  startupScriptFile: run.sh\n", []want{{"vm.startupScriptFile", "is set together with vm.startupScript", 8}}},

		// disks.
		{"disks not a list", head + "disks: data\n", []want{{"disks", `must be a list of disks, each with name and size, not the value "data"`, 7}}},
		{"disk is a string", head + "disks:\n  - data\n", []want{{"disks[0]", "must be a mapping", 8}}},
		{"disk without name and size", head + "disks:\n  - type: persistent-ssd\n", []want{{"disks[0].name", "is required", 8}, {"disks[0].size", "is required", 8}}},
		{"disk size in GB", head + disk() + "  - name: logs\n    size: 10GB\n", []want{{"disks[1].size", `disks[1].size: "10GB" is not a size; use a whole number with GiB or TiB, e.g. 10GiB (line 11)`, 11}}},
		{"disk size bare number", head + disk() + "  - name: logs\n    size: 10\n", []want{{"disks[1].size", `"10" is not a size`, 11}}},
		{"disk size zero", head + "disks:\n  - name: data\n    size: 0GiB\n", []want{{"disks[0].size", "use at least 1GiB", 9}}},
		{"disk size leading zero", head + "disks:\n  - name: data\n    size: 010GiB\n", []want{{"disks[0].size", "is not a size", 9}}},
		{"disk size fraction", head + "disks:\n  - name: data\n    size: 1.5TiB\n", []want{{"disks[0].size", "is not a size", 9}}},
		{"disk over 64TiB", head + "disks:\n  - name: data\n    size: 65TiB\n", []want{{"disks[0].size", "larger than the 64TiB", 9}}},
		{"disk over 64TiB in GiB", head + "disks:\n  - name: data\n    size: 65537GiB\n", []want{{"disks[0].size", "larger than the 64TiB", 9}}},
		{"disk size overflows", head + "disks:\n  - name: data\n    size: 99999999999999999999999GiB\n", []want{{"disks[0].size", "larger than the 64TiB", 9}}},
		{"disk type", head + disk("type: nvme"), []want{{"disks[0].type", `"nvme" is not allowed here; use one of: persistent-ssd, shared-volume`, 10}}},
		{"disk mode", head + disk("mode: rw"), []want{{"disks[0].mode", "use one of: read-write, read-only", 10}}},
		{"disk name invalid", head + "disks:\n  - name: Data\n    size: 1GiB\n", []want{{"disks[0].name", `is not a valid disk name: it has uppercase letters`, 8}}},
		{"disk names repeat", head + disk() + "  - name: data\n    size: 2GiB\n", []want{{"disks[1].name", `"data" is used by disks[0] too`, 10}}},
		{"disk full name too long", head + "disks:\n  - name: " + strings.Repeat("d", 58) + "\n    size: 1GiB\n", []want{{"disks[0].name", `makes the disk name "web-1-ddd`, 8}}},
		{"too many disks", head + "disks:\n" + strings.Repeat("  - {name: placeholder, size: 1GiB}\n", 1) + func() string {
			var b strings.Builder
			for i := 0; i < 8; i++ {
				fmt.Fprintf(&b, "  - {name: d%d, size: 1GiB}\n", i)
			}
			return b.String()
		}(), []want{{"disks", "lists 9 disks, more than the 8 a VM can have", 7}}},

		// firewall rules.
		{"rule empty", head + "firewallRules:\n  - name: ssh\n", []want{
			{"firewallRules[0].direction", "is required", 8},
			{"firewallRules[0].protocols", "is required", 8},
			{"firewallRules[0].sources", "is required", 8},
			{"firewallRules[0].destinations", "is required", 8},
		}},
		{"rule direction", head + strings.Replace(rule(), "ingress", "inbound", 1), []want{{"firewallRules[0].direction", `"inbound" is not allowed here; use one of: ingress, egress`, 9}}},
		{"rule action", head + rule("action: accept"), []want{{"firewallRules[0].action", "use one of: allow, deny", 13}}},
		{"rule protocol", head + strings.Replace(rule(), "[tcp]", "[tcp, http]", 1), []want{{"firewallRules[0].protocols[1]", `"http" is not allowed here; use one of: tcp, udp, icmp`, 10}}},
		{"rule protocols empty", head + strings.Replace(rule(), "[tcp]", "[]", 1), []want{{"firewallRules[0].protocols", "is required", 10}}},
		{"rule protocols a string", head + strings.Replace(rule(), "[tcp]", "tcp", 1), []want{{"firewallRules[0].protocols", "must be a list, not the value \"tcp\"; write it as [tcp]", 10}}},
		{"rule protocols holds a list", head + strings.Replace(rule(), "[tcp]", "[[tcp]]", 1), []want{{"firewallRules[0].protocols[0]", "must be a single value, not a list", 10}}},
		{"rule bad cidr", head + strings.Replace(rule(), "[0.0.0.0/0]", "[10.0.0.300/8, 10.0.0.0/33, example.com]", 1), []want{
			{"firewallRules[0].sources[0]", `"10.0.0.300/8" is not a CIDR or vm`, 11},
			{"firewallRules[0].sources[1]", `"10.0.0.0/33" is not a CIDR or vm`, 11},
			{"firewallRules[0].sources[2]", `"example.com" is not a CIDR or vm`, 11},
		}},
		{"rule VM uppercase", head + strings.Replace(rule(), "[vm]", "[VM]", 1), []want{{"firewallRules[0].destinations[0]", "write vm in lowercase", 12}}},
		{"rule ports", head + rule(`destinationPorts: [0, 65536, "80-22", "a-b", "22-", http, 22, "8000-8080", 65535]`), []want{
			{"firewallRules[0].destinationPorts[0]", `"0" is not a port; use a number from 1 to 65535`, 13},
			{"firewallRules[0].destinationPorts[1]", `"65536" is not a port`, 13},
			{"firewallRules[0].destinationPorts[2]", `"80-22" is a range that ends before it starts; write it low-high: 22-80`, 13},
			{"firewallRules[0].destinationPorts[3]", `"a-b" is not a port range`, 13},
			{"firewallRules[0].destinationPorts[4]", `"22-" is not a port range`, 13},
			{"firewallRules[0].destinationPorts[5]", `"http" is not a port`, 13},
		}},
		{"rule source ports", head + rule("sourcePorts: [-1]"), []want{{"firewallRules[0].sourcePorts[0]", `"-1" is not a port range`, 13}}},
		{"rule network and network id", head + rule("vpcNetwork: default", "vpcNetworkId: 74927f69-f6f6-43f4-bc0d-7bb2e864250e"), []want{{"firewallRules[0].vpcNetworkId", "is set together with vpcNetwork", 14}}},
		{"rule names repeat", head + rule() + "  - {name: ssh, direction: egress, protocols: [udp], sources: [vm], destinations: [0.0.0.0/0]}\n", []want{{"firewallRules[1].name", `"ssh" is used by firewallRules[0] too`, 13}}},
		{"rule name missing", head + strings.Replace(rule(), "name: ssh", "action: allow", 1), []want{{"firewallRules[0].name", "is required", 8}}},
		{"rule full name too long", head + strings.Replace(rule(), "name: ssh", "name: "+strings.Repeat("r", 60), 1), []want{{"firewallRules[0].name", "66 characters long", 8}}},
		{"too many rules", head + "firewallRules:\n" + func() string {
			var b strings.Builder
			for i := 0; i < 17; i++ {
				fmt.Fprintf(&b, "  - {name: r%d, direction: ingress, protocols: [tcp], sources: [vm], destinations: [vm]}\n", i)
			}
			return b.String()
		}(), []want{{"firewallRules", "lists 17 rules, more than 16", 7}}},

		// timeouts.
		{"timeout without unit", head + "timeouts:\n  operation: 600\n", []want{{"timeouts.operation", `"600" is not a duration; use a Go duration with a unit, e.g. 10m`, 8}}},
		{"timeout zero", head + "timeouts: {operation: 0s}\n", []want{{"timeouts.operation", "must be longer than zero", 7}}},
		{"timeout negative", head + "timeouts: {heartbeat: -1m}\n", []want{{"timeouts.heartbeat", "must be longer than zero", 7}}},
		{"undo timeout zero", head + "timeouts: {undo: 0s}\n", []want{{"timeouts.undo", "must be longer than zero", 7}}},

		// Unknown and repeated keys.
		{"unknown top-level key", head + "zone: us-east\n", []want{{"zone", "zone: is not a known field; known fields here: provider, project, vm, disks, firewallRules, timeouts (line 7)", 7}}},
		{"misspelt top-level key", head + "firewallRule: []\n", []want{{"firewallRule", "did you mean firewallRules?", 7}}},
		{"unknown vm key", head + "  sshKey: x\n", []want{{"vm.sshKey", "vm.sshKey: is not a known field; known fields here: name, type, location, image, sshPublicKey", 7}}},
		{"snake case vm key", strings.Replace(head, "sshPublicKey:", "ssh_public_key:", 1), []want{{"vm.sshPublicKey", "is required", 2}, {"vm.ssh_public_key", "did you mean sshPublicKey? (keys are camelCase)", 6}}},
		{"unknown disk key", head + disk("sizee: 2GiB"), []want{{"disks[0].sizee", "did you mean size?", 10}}},
		{"unknown rule key", head + rule("port: 22"), []want{{"firewallRules[0].port", "is not a known field", 13}}},
		{"unknown timeout key", head + "timeouts:\n  retries: 3\n", []want{{"timeouts.retries", "known fields here: operation, heartbeat, undo", 8}}},
		{"repeated key", head + "provider: crusoe\n", []want{{"provider", "is set twice (first on line 1)", 7}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrors(t, tt.src, filepath.Join("testdata", "spec.yaml"))
			assertErrors(t, errs, tt.wants)
		})
	}
}

func TestParseReportsEveryProblemInLineOrder(t *testing.T) {
	src := `provider: aws
project: nope
vm:
  name: Web_1
  type: c1a.2x
  colour: blue
  sshPublicKey: "ssh-foo AAAA"
disks:
  - name: data
    size: 10GB
  - name: data
    size: 1GiB
    mode: rw
firewallRules:
  - name: ssh
    direction: ingress
    protocols: [tcp]
    sources: [0.0.0.0/0]
    destinations: [vm]
    destinationPorts: [99999]
timeouts:
  operation: soon
`
	errs := parseErrors(t, src, "spec.yaml")
	assertErrors(t, errs, []want{
		{"provider", "not a supported provider", 1},
		{"project", "is not a project ID", 2},
		{"vm.location", "is required", 3},
		{"vm.name", "is not a valid VM name", 4},
		{"vm.colour", "is not a known field", 6},
		{"vm.sshPublicKey", "unknown key type", 7},
		{"disks[0].size", "is not a size", 10},
		{"disks[1].name", "is used by disks[0] too", 11},
		{"disks[1].mode", "is not allowed here", 13},
		{"firewallRules[0].destinationPorts[0]", "is not a port", 20},
		{"timeouts.operation", "is not a duration", 22},
	})
	// Error lists them all, one per line.
	lines := strings.Split(errs.Error(), "\n")
	require.Len(t, lines, len(errs))
	assert.Equal(t, `provider: "aws" is not a supported provider; supported: crusoe, cloudmc (line 1)`, lines[0])
}

func TestParseGoodSpec(t *testing.T) {
	src := head + `  image: ubuntu22.04
  startupScript: |
    #!/bin/sh
    echo hello
project: 5F2C3C46-4a1e-4d77-9a0e-0c1b8e6b2f10
disks:
  - name: data
    size: 10GiB
  - name: shared
    size: 64TiB
    type: shared-volume
    mode: read-only
firewallRules:
  - name: ssh
    direction: ingress
    protocols: [tcp]
    sources: [203.0.113.7, 10.1.2.3/24, "2001:db8::1"]
    destinations: [vm]
    destinationPorts: [22, "8000-8080"]
  - name: out
    vpcNetworkId: 74927f69-f6f6-43f4-bc0d-7bb2e864250e
    direction: egress
    action: deny
    protocols: [udp, icmp]
    sources: [vm]
    destinations: [0.0.0.0/0]
    sourcePorts: ["1-65535"]
  - name: lan
    vpcNetwork: private
    direction: ingress
    protocols: [tcp]
    sources: [10.0.0.0/8]
    destinations: [10.0.0.0/8]
timeouts:
  operation: 10m
  heartbeat: 30s
  undo: 15m
`
	s, err := Parse([]byte(src), "spec.yaml")
	require.NoError(t, err)
	assert.Equal(t, "spec.yaml", s.Source)

	assert.Equal(t, workflows.ProvisionVMInput{
		ProjectID: "5F2C3C46-4a1e-4d77-9a0e-0c1b8e6b2f10",
		VM: workflows.VMSpec{
			Name: "web-1", Type: "c1a.2x", Location: "us-northcentral1-a", Image: "ubuntu22.04",
			SSHPublicKey:  goodKey,
			StartupScript: "#!/bin/sh\necho hello\n",
		},
		Disks: []workflows.DiskSpec{
			{Name: "web-1-data", Size: "10GiB", Type: "persistent-ssd", Mode: "read-write"},
			{Name: "web-1-shared", Size: "64TiB", Type: "shared-volume", Mode: "read-only"},
		},
		FirewallRules: []workflows.FirewallRuleSpec{
			{
				Name: "web-1-ssh", VPCNetwork: "default", Direction: "ingress", Action: "allow",
				Protocols:        []string{"tcp"},
				Sources:          []string{"203.0.113.7/32", "10.1.2.3/24", "2001:db8::1/128"},
				Destinations:     []string{"vm"},
				DestinationPorts: []string{"22", "8000-8080"},
			},
			{
				Name: "web-1-out", VPCNetworkID: "74927f69-f6f6-43f4-bc0d-7bb2e864250e", Direction: "egress", Action: "deny",
				Protocols:    []string{"udp", "icmp"},
				Sources:      []string{"vm"},
				Destinations: []string{"0.0.0.0/0"},
				SourcePorts:  []string{"1-65535"},
			},
			{
				Name: "web-1-lan", VPCNetwork: "private", Direction: "ingress", Action: "allow",
				Protocols:    []string{"tcp"},
				Sources:      []string{"10.0.0.0/8"},
				Destinations: []string{"10.0.0.0/8"},
			},
		},
		Timeouts: workflows.Timeouts{Operation: 10 * time.Minute, Heartbeat: 30 * time.Second, Undo: 15 * time.Minute},
	}, s.ProvisionInput())

	assert.Equal(t, workflows.DeprovisionVMInput{
		ProjectID:     "5F2C3C46-4a1e-4d77-9a0e-0c1b8e6b2f10",
		VMName:        "web-1",
		DiskNames:     []string{"web-1-data", "web-1-shared"},
		FirewallRules: []string{"web-1-ssh", "web-1-out", "web-1-lan"},
		Timeouts:      workflows.Timeouts{Operation: 10 * time.Minute, Heartbeat: 30 * time.Second, Undo: 15 * time.Minute},
	}, s.DeprovisionInput())
}

func TestParseAcceptsEdgeValues(t *testing.T) {
	tests := map[string]string{
		"minimal":                   head,
		"rsa key":                   strings.Replace(head, goodKey, rsaKey, 1),
		"key without comment":       strings.Replace(head, goodKey, strings.TrimSuffix(goodKey, " demo@cloudflow"), 1),
		"one-letter name":           strings.Replace(head, "web-1", "w", 1),
		"63-character name":         strings.Replace(head, "web-1", strings.Repeat("w", 63), 1),
		"63-character disk name":    head + "disks:\n  - name: " + strings.Repeat("d", 57) + "\n    size: 1GiB\n",
		"eight disks":               head + "disks:\n" + strings.Repeat("  - {name: d, size: 1GiB}\n", 0) + "  - {name: a, size: 1GiB}\n  - {name: b, size: 1GiB}\n  - {name: c, size: 1GiB}\n  - {name: d, size: 1GiB}\n  - {name: e, size: 1GiB}\n  - {name: f, size: 1GiB}\n  - {name: g, size: 1GiB}\n  - {name: h, size: 65536GiB}\n",
		"vm on both sides":          head + strings.Replace(rule(), "[0.0.0.0/0]", "[vm]", 1),
		"vm on neither side":        head + strings.Replace(rule(), "[vm]", "[10.0.0.0/8]", 1),
		"empty port lists":          head + rule("destinationPorts: []", "sourcePorts: []"),
		"null optional sections":    head + "disks:\nfirewallRules: ~\ntimeouts:\n",
		"anchors and aliases":       head + "disks:\n  - &d {name: a, size: 1GiB}\n  - {name: b, size: 1GiB}\n",
		"image as number-like text": head + "  image: 22.04\n",
	}
	for name, src := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(src), "spec.yaml")
			assert.NoError(t, err)
		})
	}
}

func TestParseJSON(t *testing.T) {
	src := "{\n\t\"provider\": \"crusoe\",\n\t\"vm\": {\n\t\t\"name\": \"web-1\",\n\t\t\"type\": \"c1a.2x\",\n\t\t\"location\": \"us-northcentral1-a\",\n\t\t\"sshPublicKey\": \"" + goodKey + "\"\n\t},\n\t\"disks\": [{\"name\": \"data\", \"size\": \"10GiB\"}],\n\t\"firewallRules\": [{\"name\": \"ssh\", \"direction\": \"ingress\", \"protocols\": [\"tcp\"], \"sources\": [\"0.0.0.0/0\"], \"destinations\": [\"vm\"], \"destinationPorts\": [22]}]\n}\n"
	s, err := Parse([]byte(src), "spec.json")
	require.NoError(t, err)
	in := s.ProvisionInput()
	assert.Equal(t, "web-1-data", in.Disks[0].Name)
	assert.Equal(t, []string{"22"}, in.FirewallRules[0].DestinationPorts)

	bad := "{\n  \"provider\": \"crusoe\",\n  \"vm\": {\"name\": \"web-1\", \"type\": \"c1a.2x\", \"location\": \"x\", \"sshPublicKey\": \"" + goodKey + "\"},\n  \"disks\": [\n    {\"name\": \"data\", \"size\": \"10GB\", \"colour\": \"red\"}\n  ]\n}\n"
	errs := parseErrors(t, bad, "spec.json")
	assertErrors(t, errs, []want{
		{"disks[0].colour", "is not a known field", 5},
		{"disks[0].size", `"10GB" is not a size`, 5},
	})

	errs = parseErrors(t, "{\"provider\": \"crusoe\"}\n{", "spec.json")
	assertErrors(t, errs, []want{{"", "is not valid YAML or JSON", 0}})
	errs = parseErrors(t, "{\n  \"provider\": \"crusoe\"\n  \"vm\": {}\n}\n", "spec.json")
	assertErrors(t, errs, []want{{"", "is not valid YAML or JSON: did not find expected ',' or '}'", 2}})
}

func TestSSHPublicKeyFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "keys"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "keys", "id.pub"), []byte(goodKey+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.pub"), []byte("not a key\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "id"), []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "boot.sh"), []byte("#!/bin/sh\necho up\n"), 0o644))
	home := t.TempDir()
	t.Setenv("HOME", home)
	require.NoError(t, os.MkdirAll(filepath.Join(home, ".ssh"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519.pub"), []byte(rsaKey+"\n"), 0o644))

	withFile := func(path string) string {
		return strings.Replace(head, `sshPublicKey: "`+goodKey+`"`, "sshPublicKeyFile: "+path, 1)
	}
	specPath := filepath.Join(dir, "spec.yaml")

	t.Run("relative to the spec file", func(t *testing.T) {
		s, err := Parse([]byte(withFile("keys/id.pub")+"  startupScriptFile: boot.sh\n"), specPath)
		require.NoError(t, err)
		in := s.ProvisionInput()
		assert.Equal(t, goodKey, in.VM.SSHPublicKey)
		assert.Equal(t, "#!/bin/sh\necho up\n", in.VM.StartupScript)
	})
	t.Run("absolute", func(t *testing.T) {
		s, err := Parse([]byte(withFile(filepath.Join(dir, "keys", "id.pub"))), "elsewhere/spec.yaml")
		require.NoError(t, err)
		assert.Equal(t, goodKey, s.VM.SSHPublicKey)
	})
	t.Run("home", func(t *testing.T) {
		s, err := Parse([]byte(withFile("~/.ssh/id_ed25519.pub")), specPath)
		require.NoError(t, err)
		assert.Equal(t, rsaKey, s.VM.SSHPublicKey)
	})
	t.Run("stdin resolves against the working directory", func(t *testing.T) {
		t.Chdir(dir)
		s, err := Parse([]byte(withFile("keys/id.pub")), "-")
		require.NoError(t, err)
		assert.Equal(t, goodKey, s.VM.SSHPublicKey)
	})
	t.Run("not a key", func(t *testing.T) {
		errs := parseErrors(t, withFile("bad.pub"), specPath)
		assertErrors(t, errs, []want{{"vm.sshPublicKeyFile", `(read from ` + filepath.Join(dir, "bad.pub") + `) is not an OpenSSH public key`, 6}})
	})
	t.Run("private key is never echoed", func(t *testing.T) {
		errs := parseErrors(t, withFile("id"), specPath)
		assertErrors(t, errs, []want{{"vm.sshPublicKeyFile", "is a private key", 6}})
		assert.NotContains(t, errs.Error(), "secret")
	})
	t.Run("missing", func(t *testing.T) {
		errs := parseErrors(t, withFile("keys/nope.pub"), specPath)
		assertErrors(t, errs, []want{{"vm.sshPublicKeyFile", "could not be read from " + filepath.Join(dir, "keys", "nope.pub"), 6}})
	})
	t.Run("script file missing", func(t *testing.T) {
		errs := parseErrors(t, head+"  startupScriptFile: nope.sh\n", specPath)
		assertErrors(t, errs, []want{{"vm.startupScriptFile", "could not be read", 7}})
	})
}

func TestFieldErrorFormat(t *testing.T) {
	e := &FieldError{Field: "disks[1].size", Value: "10GB", Problem: "is not a size", Fix: "use a whole number with GiB or TiB, e.g. 10GiB", Line: 12}
	assert.Equal(t, `disks[1].size: "10GB" is not a size; use a whole number with GiB or TiB, e.g. 10GiB (line 12)`, e.Error())
	e = &FieldError{Field: "vm.name", Problem: "is required"}
	assert.Equal(t, `vm.name: is required`, e.Error())
	assert.Equal(t, "a: is required\nb: is required", Errors{{Field: "a", Problem: "is required"}, {Field: "b", Problem: "is required"}}.Error())
}

func TestLoad(t *testing.T) {
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "read spec")
		var errs Errors
		assert.False(t, errors.As(err, &errs))
	})
	t.Run("stdin", func(t *testing.T) {
		r, w, err := os.Pipe()
		require.NoError(t, err)
		go func() {
			_, _ = w.WriteString(head)
			_ = w.Close()
		}()
		old := os.Stdin
		os.Stdin = r
		defer func() { os.Stdin = old; _ = r.Close() }()
		s, err := Load("-")
		require.NoError(t, err)
		assert.Equal(t, "web-1", s.VM.Name)
		assert.Equal(t, "-", s.Source)
	})
}
