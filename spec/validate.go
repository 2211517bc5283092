package spec

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/internal/input"
	"github.com/cloudflow/cloudflow/workflows"
)

// Values the spec format accepts.
var (
	diskTypes  = []string{"persistent-ssd", "shared-volume"}
	diskModes  = []string{"read-write", "read-only"}
	directions = []string{"ingress", "egress"}
	actions    = []string{"allow", "deny"}
	protocols  = []string{"tcp", "udp", "icmp"}
)

// Defaults ProvisionInput fills in.
const (
	DefaultDiskType   = "persistent-ssd"
	DefaultDiskMode   = "read-write"
	DefaultAction     = "allow"
	DefaultVPCNetwork = "default"
)

// maxDiskGiB is the largest disk Crusoe makes: 64 TiB.
const maxDiskGiB = 64 * 1024

var (
	uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	sizeRE = regexp.MustCompile(`^(0|[1-9][0-9]*)(GiB|TiB)$`)
)

func (d *decoder) validate(s *VMSpec) {
	d.provider(s.Provider, crusoeSpec)
	if s.Project != "" && !uuidRE.MatchString(s.Project) {
		d.add("project", s.Project, "is not a project ID", "use the project's UUID, e.g. 5f2c3c46-4a1e-4d77-9a0e-0c1b8e6b2f10, or leave it out to use the worker's default project", d.lineOf("project"))
	}
	d.validateVM(s)
	d.validateDisks(s)
	d.validateRules(s)
}

func (d *decoder) validateVM(s *VMSpec) {
	vm := &s.VM
	if d.bad["vm"] {
		return
	}
	if d.required("vm.name", vm.Name, "add a name under vm, e.g. name: web-1") {
		d.name("vm.name", vm.Name, "VM")
	}
	d.required("vm.type", vm.Type, "add the VM type under vm, e.g. type: c1a.2x")
	d.required("vm.location", vm.Location, "add the location under vm, e.g. location: us-northcentral1-a")

	switch {
	case vm.SSHPublicKey != "" && vm.SSHPublicKeyFile != "":
		d.add("vm.sshPublicKeyFile", "", "is set together with vm.sshPublicKey", "keep only one of them", d.lineOf("vm.sshPublicKeyFile"))
	case vm.SSHPublicKeyFile != "":
		if key, ok := d.readFile("vm.sshPublicKeyFile", vm.SSHPublicKeyFile, 16<<10); ok {
			vm.SSHPublicKey = strings.TrimSpace(key)
			if problem, fix, echo := checkSSHKey(vm.SSHPublicKey); problem != "" {
				value := ""
				if echo {
					value = shorten(vm.SSHPublicKey)
				}
				d.add("vm.sshPublicKeyFile", value, fmt.Sprintf("(read from %s) %s", d.resolve(vm.SSHPublicKeyFile), problem), fix, d.lineOf("vm.sshPublicKeyFile"))
			}
		}
	case vm.SSHPublicKey != "":
		vm.SSHPublicKey = strings.TrimSpace(vm.SSHPublicKey)
		if problem, fix, echo := checkSSHKey(vm.SSHPublicKey); problem != "" {
			value := ""
			if echo {
				value = shorten(vm.SSHPublicKey)
			}
			d.add("vm.sshPublicKey", value, problem, fix, d.lineOf("vm.sshPublicKey"))
		}
	case !d.bad["vm.sshPublicKey"] && !d.bad["vm.sshPublicKeyFile"]:
		d.add("vm.sshPublicKey", "", "is required", "paste your OpenSSH public key (e.g. ~/.ssh/id_ed25519.pub), or set sshPublicKeyFile: ~/.ssh/id_ed25519.pub", d.lineOf("vm.sshPublicKey"))
	}
	d.script("vm.startupScript", &vm.StartupScript, vm.StartupScriptFile)
	d.script("vm.shutdownScript", &vm.ShutdownScript, vm.ShutdownScriptFile)
}

// script reads a script from its file field when that is set.
func (d *decoder) script(field string, text *string, file string) {
	if file == "" {
		return
	}
	if *text != "" {
		d.add(field+"File", "", "is set together with "+field, "keep only one of them", d.lineOf(field+"File"))
		return
	}
	if s, ok := d.readFile(field+"File", file, maxFileSize); ok {
		*text = s
	}
}

func (d *decoder) validateDisks(s *VMSpec) {
	if len(s.Disks) > MaxDisks {
		d.add("disks", "", fmt.Sprintf("lists %d disks, more than the %d a VM can have", len(s.Disks), MaxDisks), "remove some", d.lineOf("disks"))
	}
	seen := map[string]string{}
	for i, disk := range s.Disks {
		p := fmt.Sprintf("disks[%d]", i)
		if d.bad[p] {
			continue
		}
		if d.required(p+".name", disk.Name, "name the disk, e.g. name: data") && d.name(p+".name", disk.Name, "disk") {
			d.derivedName(p+".name", s.VM.Name, disk.Name, "disk")
			d.unique(seen, p, disk.Name, "disk")
		}
		if d.required(p+".size", disk.Size, "give a size, e.g. size: 10GiB") {
			d.size(p+".size", disk.Size)
		}
		d.oneOf(p+".type", disk.Type, diskTypes)
		d.oneOf(p+".mode", disk.Mode, diskModes)
	}
}

func (d *decoder) validateRules(s *VMSpec) {
	if len(s.FirewallRules) > MaxFirewallRules {
		d.add("firewallRules", "", fmt.Sprintf("lists %d rules, more than %d", len(s.FirewallRules), MaxFirewallRules), "merge rules: each takes several protocols, addresses and ports", d.lineOf("firewallRules"))
	}
	seen := map[string]string{}
	for i, r := range s.FirewallRules {
		p := fmt.Sprintf("firewallRules[%d]", i)
		if d.bad[p] {
			continue
		}
		if d.required(p+".name", r.Name, "name the rule, e.g. name: ssh") && d.name(p+".name", r.Name, "firewall rule") {
			d.derivedName(p+".name", s.VM.Name, r.Name, "firewall rule")
			d.unique(seen, p, r.Name, "rule")
		}
		if r.VPCNetwork != "" && r.VPCNetworkID != "" {
			d.add(p+".vpcNetworkId", "", "is set together with vpcNetwork", "keep only one: the network's name or its ID", d.lineOf(p+".vpcNetworkId"))
		}
		if d.required(p+".direction", r.Direction, "add direction: ingress or direction: egress") {
			d.oneOf(p+".direction", r.Direction, directions)
		}
		d.oneOf(p+".action", r.Action, actions)
		if d.nonEmpty(p+".protocols", r.Protocols, "list at least one, e.g. protocols: [tcp]") {
			for j, proto := range r.Protocols {
				d.oneOf(fmt.Sprintf("%s.protocols[%d]", p, j), proto, protocols)
			}
		}
		for _, side := range []struct {
			key   string
			addrs []string
		}{{"sources", r.Sources}, {"destinations", r.Destinations}} {
			if d.nonEmpty(p+"."+side.key, side.addrs, "list CIDRs or vm, e.g. "+side.key+": [0.0.0.0/0]") {
				for j, a := range side.addrs {
					d.address(fmt.Sprintf("%s.%s[%d]", p, side.key, j), a)
				}
			}
		}
		for _, side := range []struct {
			key   string
			ports []string
		}{{"destinationPorts", r.DestinationPorts}, {"sourcePorts", r.SourcePorts}} {
			for j, port := range side.ports {
				d.ports(fmt.Sprintf("%s.%s[%d]", p, side.key, j), port)
			}
		}
	}
}

// provider checks the provider field of a spec of kind.
func (d *decoder) provider(value string, kind specKind) {
	d.required("provider", value, "add provider: "+kind.provider)
	if value != "" && value != kind.provider {
		d.add("provider", value, "is not a supported provider", kind.supported, d.lineOf("provider"))
	}
}

// required reports a missing value and says whether there is one to check.
func (d *decoder) required(field, value, fix string) bool {
	if value != "" {
		return true
	}
	if !d.bad[field] {
		d.add(field, "", "is required", fix, d.lineOf(field))
	}
	return false
}

func (d *decoder) nonEmpty(field string, values []string, fix string) bool {
	if len(values) > 0 {
		return true
	}
	if !d.bad[field] {
		d.add(field, "", "is required", fix, d.lineOf(field))
	}
	return false
}

func (d *decoder) oneOf(field, value string, allowed []string) {
	if value == "" {
		return
	}
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	d.add(field, value, "is not allowed here", "use one of: "+strings.Join(allowed, ", "), d.lineOf(field))
}

// name checks a Crusoe-safe resource name and says whether it is one.
func (d *decoder) name(field, value, what string) bool {
	problem := nameProblem(value)
	if problem == "" {
		return true
	}
	fix := crusoe.NameRule
	if s := suggestName(value); s != "" {
		fix += fmt.Sprintf(", e.g. %q", s)
	}
	d.add(field, value, fmt.Sprintf("is not a valid %s name: %s", what, problem), fix, d.lineOf(field))
	return false
}

// derivedName checks the name the resource gets in the cloud, "<vm>-<name>".
func (d *decoder) derivedName(field, vmName, name, what string) {
	if nameProblem(vmName) != "" {
		return // reported on vm.name already
	}
	full := vmName + "-" + name
	if len(full) > MaxNameLength {
		d.add(field, name, fmt.Sprintf("makes the %s name %q %d characters long, over the limit of %d", what, full, len(full), MaxNameLength),
			"shorten this name or the VM's", d.lineOf(field))
	}
}

// nameProblem is the rule of every name in a spec: Crusoe's, which
// CloudMC host names and the fleet commands share.
func nameProblem(s string) string { return crusoe.NameProblem(s) }

// suggestName turns a bad name into a valid one close to it, or "".
func suggestName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := strings.TrimLeft(b.String(), "-0123456789")
	if len(out) > MaxNameLength {
		out = out[:MaxNameLength]
	}
	out = strings.TrimRight(out, "-")
	if out == "" || out == s || nameProblem(out) != "" {
		return ""
	}
	return out
}

func (d *decoder) size(field, value string) {
	m := sizeRE.FindStringSubmatch(value)
	if m == nil {
		d.add(field, value, "is not a size", "use a whole number with GiB or TiB, e.g. 10GiB", d.lineOf(field))
		return
	}
	n, err := strconv.Atoi(m[1])
	gib := n
	if m[2] == "TiB" {
		gib = n * 1024
	}
	switch {
	case err != nil || gib > maxDiskGiB:
		d.add(field, value, "is larger than the 64TiB a disk can be", "use at most 64TiB", d.lineOf(field))
	case n < 1:
		d.add(field, value, "is not a size a disk can have", "use at least 1GiB", d.lineOf(field))
	}
}

// address checks a firewall rule source or destination.
func (d *decoder) address(field, value string) {
	if _, ok := normalizeAddress(value); ok {
		return
	}
	fix := "use a CIDR such as 10.0.0.0/8, a single address such as 203.0.113.7, or vm for this VM"
	if strings.EqualFold(value, workflows.TargetVM) {
		fix = "write vm in lowercase"
	}
	d.add(field, value, "is not a CIDR or vm", fix, d.lineOf(field))
}

// normalizeAddress returns the form the workflow takes: a CIDR (a bare
// address becomes a single-address prefix) or the word vm.
func normalizeAddress(s string) (string, bool) {
	if s == workflows.TargetVM {
		return s, true
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.String(), true
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.PrefixFrom(a, a.BitLen()).String(), true
	}
	return "", false
}

func (d *decoder) ports(field, value string) {
	lo, hi, isRange := strings.Cut(value, "-")
	a, okA := parsePort(lo)
	if !isRange {
		if !okA {
			d.add(field, value, "is not a port", "use a number from 1 to 65535 or a range such as 8000-8080", d.lineOf(field))
		}
		return
	}
	b, okB := parsePort(hi)
	switch {
	case !okA || !okB:
		d.add(field, value, "is not a port range", "write two ports from 1 to 65535 joined by '-', e.g. 8000-8080", d.lineOf(field))
	case a > b:
		d.add(field, value, "is a range that ends before it starts", fmt.Sprintf("write it low-high: %d-%d", b, a), d.lineOf(field))
	}
}

func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, _ := strconv.Atoi(s)
	return n, n >= 1 && n <= 65535
}

// resolve expands ~ and anchors a relative path at the spec's directory.
func (d *decoder) resolve(path string) string {
	if path == "~" || strings.HasPrefix(path, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, path[1:])
		}
	}
	if !filepath.IsAbs(path) && d.dir != "" {
		path = filepath.Join(d.dir, path)
	}
	return path
}

func (d *decoder) readFile(field, path string, limit int64) (string, bool) {
	full := d.resolve(path)
	data, err := readReferenced(full, limit)
	switch {
	case input.IsTooLarge(err):
		d.add(field, path, "is larger than "+input.Size(limit), "workflow inputs must stay small", d.lineOf(field))
		return "", false
	case err != nil:
		msg := err.Error()
		if pe, ok := err.(*os.PathError); ok {
			msg = pe.Err.Error()
		}
		d.add(field, path, fmt.Sprintf("could not be read from %s: %s", full, msg), "give a path relative to the spec file, an absolute path, or one starting with ~/", d.lineOf(field))
		return "", false
	}
	if problem := input.NotText(data); problem != "" {
		d.add(field, path, fmt.Sprintf("(read from %s) %s", full, problem), "save it as UTF-8 text", d.lineOf(field))
		return "", false
	}
	return string(data), true
}

// unique reports a name that an earlier entry of the same list already uses;
// seen maps names to the path of the entry that first used them.
func (d *decoder) unique(seen map[string]string, path, name, what string) {
	if first, dup := seen[name]; dup {
		d.add(path+".name", name, "is used by "+first+" too", "give each "+what+" its own name", d.lineOf(path+".name"))
		return
	}
	seen[name] = path
}
