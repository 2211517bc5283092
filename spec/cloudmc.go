package spec

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cloudflow/cloudflow/workflows"
)

// ProviderCloudMC names CloudMC in a spec's provider field: an instance
// spec, which `cloudflow vm provision` runs as a ProvisionInstance workflow.
const ProviderCloudMC = "cloudmc"

// MaxIngressRules bounds the ingressRules of a CloudMC spec.
const MaxIngressRules = 16

// maxCloudMCVolumeGB bounds a volume's size: 64 TiB, far beyond what a
// deployment offers, so that a typo does not pass as a size.
const maxCloudMCVolumeGB = 64 * 1024

// cmcProtocols are the protocols an ingress rule takes.
var cmcProtocols = []string{"tcp", "udp", "icmp"}

var cloudMCSpecKind = specKind{
	provider: ProviderCloudMC, example: "examples/cloudmc-vm.yaml", one: "one instance",
	supported: "`cloudflow vm provision` runs provider: crusoe and provider: cloudmc specs",
}

// CloudMCSpec is a parsed CloudMC spec: one instance with, optionally, a
// data volume attached to it and ingress rules opened on its network.
type CloudMCSpec struct {
	Provider     string               `yaml:"provider" json:"provider"`
	Instance     CloudMCInstance      `yaml:"instance" json:"instance"`
	Volume       *CloudMCVolume       `yaml:"volume,omitempty" json:"volume,omitempty"`
	IngressRules []CloudMCIngressRule `yaml:"ingressRules,omitempty" json:"ingressRules,omitempty"`
	Timeouts     Timeouts             `yaml:"timeouts,omitempty" json:"timeouts,omitempty"`

	// Source names where the spec came from: a path, or "-" for stdin.
	Source string `yaml:"-" json:"-"`
}

// CloudMCInstance is the instance section. ComputeOffering, Network and
// Template are the IDs of the environment's offering, network and template.
type CloudMCInstance struct {
	Name            string `yaml:"name" json:"name"`
	ComputeOffering string `yaml:"computeOffering" json:"computeOffering"`
	Network         string `yaml:"network" json:"network"`
	Template        string `yaml:"template" json:"template"`
}

// CloudMCVolume is the volume section. CloudMC makes a volume from a disk
// offering: DiskOffering names it, by ID or name, and a custom-size offering
// also takes a size, as Size ("20GiB", "1TiB") or SizeGB, one of them (a
// fixed-size offering takes none). Whether the offering exists and takes a
// size is checked by the workflow's first step, before anything is made:
// the spec alone cannot tell. Name is the short name; the volume made in the
// cloud is called "<instance>-<name>".
type CloudMCVolume struct {
	Name         string `yaml:"name" json:"name"`
	DiskOffering string `yaml:"diskOffering" json:"diskOffering"`
	Size         string `yaml:"size,omitempty" json:"size,omitempty"`
	SizeGB       int    `yaml:"sizeGB,omitempty" json:"sizeGB,omitempty"`
}

// maxDiskOfferingRef bounds a disk offering's ID or name.
const maxDiskOfferingRef = 255

// CloudMCIngressRule is one entry of ingressRules: a protocol (tcp, udp or
// icmp), the ports ("22" or "8000-8080"; none for icmp) and a source CIDR.
type CloudMCIngressRule struct {
	Protocol string `yaml:"protocol" json:"protocol"`
	Ports    string `yaml:"ports,omitempty" json:"ports,omitempty"`
	CIDR     string `yaml:"cidr" json:"cidr"`
}

// LoadCloudMC reads and parses the CloudMC spec file at path; "-" reads
// standard input. A spec with problems yields an Errors value listing all
// of them.
func LoadCloudMC(path string) (*CloudMCSpec, error) {
	return load(path, ParseCloudMC)
}

// ParseCloudMC parses a CloudMC spec from data, YAML or JSON; source names
// it in messages. A spec with problems (another provider's spec among them)
// yields an Errors value listing all of them, in file order.
func ParseCloudMC(data []byte, source string) (*CloudMCSpec, error) {
	return parse(data, source, (*decoder).decodeCloudMC, (*decoder).validateCloudMC)
}

// Read reads a spec file as the Load functions do ("-" is standard input),
// for a command that looks at its provider (ProviderOf) before it parses it.
func Read(path string) ([]byte, error) { return readSpec(path) }

// ProviderOf returns the provider a spec names at its top level, without
// checking anything else: "" when the data is not a YAML or JSON mapping
// with a provider. Commands that run specs of several providers use it to
// pick the parser.
func ProviderOf(data []byte) string {
	p, _ := providerField(data)
	return p
}

// ProvisionInput is the ProvisionInstance workflow input the spec
// describes: the volume's cloud name derived ("<instance>-<volume>"), its
// disk offering and size in GB, the rules' ports split and CIDRs
// normalized, and the rules opened on the instance's network.
func (s *CloudMCSpec) ProvisionInput() workflows.ProvisionInstanceInput {
	in := workflows.ProvisionInstanceInput{
		Instance: workflows.CloudMCInstanceSpec{
			Name: s.Instance.Name, ComputeOfferingID: s.Instance.ComputeOffering,
			NetworkID: s.Instance.Network, TemplateID: s.Instance.Template,
		},
		IngressRules: s.rules(),
		Timeouts:     s.Timeouts.input(),
	}
	if v := s.Volume; v != nil {
		in.Volume = &workflows.CloudMCVolumeSpec{Name: s.VolumeName(), DiskOffering: v.DiskOffering, SizeGB: v.sizeGB()}
	}
	return in
}

// DeprovisionInput is the DeprovisionInstance workflow input that removes
// what ProvisionInput makes, by the same names and fields.
func (s *CloudMCSpec) DeprovisionInput() workflows.DeprovisionInstanceInput {
	return workflows.DeprovisionInstanceInput{
		InstanceName: s.Instance.Name,
		VolumeName:   s.VolumeName(),
		IngressRules: s.rules(),
		NetworkID:    s.Instance.Network,
		Timeouts:     s.Timeouts.input(),
	}
}

// VolumeName is the volume's name in the cloud, "<instance>-<volume>", or
// "" when the spec has no volume.
func (s *CloudMCSpec) VolumeName() string {
	if s.Volume == nil {
		return ""
	}
	return s.Instance.Name + "-" + s.Volume.Name
}

func (s *CloudMCSpec) rules() []workflows.CloudMCIngressRuleSpec {
	var out []workflows.CloudMCIngressRuleSpec
	for _, r := range s.IngressRules {
		lo, hi, _ := portRange(r.Ports)
		if hi == lo {
			hi = 0
		}
		cidr, _ := normalizeCIDR(r.CIDR)
		out = append(out, workflows.CloudMCIngressRuleSpec{Protocol: r.Protocol, StartPort: lo, EndPort: hi, CIDR: cidr})
	}
	return out
}

// sizeGB is the volume's size in GB, from whichever field gives it.
func (v *CloudMCVolume) sizeGB() int {
	if v.SizeGB > 0 {
		return v.SizeGB
	}
	m := sizeRE.FindStringSubmatch(v.Size)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	if m[2] == "TiB" {
		n *= 1024
	}
	return n
}

// portRange reads "22" or "8000-8080"; ok is false for anything else.
func portRange(s string) (lo, hi int, ok bool) {
	a, b, isRange := strings.Cut(s, "-")
	lo, okA := parsePort(a)
	if !isRange {
		return lo, lo, okA
	}
	hi, okB := parsePort(b)
	return lo, hi, okA && okB && lo <= hi
}

// normalizeCIDR returns the CIDR the cloud stores: masked, a bare address
// taken as a single-address block.
func normalizeCIDR(s string) (string, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked().String(), true
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		return netip.PrefixFrom(a, a.BitLen()).String(), true
	}
	return "", false
}

// --- decoding ---

func (d *decoder) decodeCloudMC(data []byte) *CloudMCSpec {
	s := &CloudMCSpec{Source: d.source}
	return decodeSpec(d, data, cloudMCSpecKind, s, []field{
		{"provider", func(p string, v *yaml.Node) { d.str(p, v, &s.Provider) }},
		{"instance", func(p string, v *yaml.Node) { d.cmcInstance(p, v, &s.Instance) }},
		{"volume", func(p string, v *yaml.Node) {
			if isNull(deref(v)) {
				return
			}
			s.Volume = &CloudMCVolume{}
			d.object(v, p, []field{
				{"name", func(p string, n *yaml.Node) { d.str(p, n, &s.Volume.Name) }},
				{"diskOffering", func(p string, n *yaml.Node) { d.str(p, n, &s.Volume.DiskOffering) }},
				{"size", func(p string, n *yaml.Node) { d.str(p, n, &s.Volume.Size) }},
				{"sizeGB", func(p string, n *yaml.Node) { d.integer(p, n, &s.Volume.SizeGB, "sizeGB: 20") }},
			})
		}},
		{"ingressRules", func(p string, v *yaml.Node) {
			d.list(p, v, "a list of ingress rules, each with protocol, ports and cidr", func(p string, item *yaml.Node) {
				var r CloudMCIngressRule
				d.object(item, p, []field{
					{"protocol", func(p string, v *yaml.Node) { d.str(p, v, &r.Protocol) }},
					{"ports", func(p string, v *yaml.Node) { d.str(p, v, &r.Ports) }},
					{"cidr", func(p string, v *yaml.Node) { d.str(p, v, &r.CIDR) }},
				})
				s.IngressRules = append(s.IngressRules, r)
			})
		}},
		{"timeouts", func(p string, v *yaml.Node) { d.timeouts(p, v, &s.Timeouts) }},
	})
}

func (d *decoder) cmcInstance(path string, n *yaml.Node, in *CloudMCInstance) {
	d.object(n, path, []field{
		{"name", func(p string, v *yaml.Node) { d.str(p, v, &in.Name) }},
		{"computeOffering", func(p string, v *yaml.Node) { d.str(p, v, &in.ComputeOffering) }},
		{"network", func(p string, v *yaml.Node) { d.str(p, v, &in.Network) }},
		{"template", func(p string, v *yaml.Node) { d.str(p, v, &in.Template) }},
	})
}

// --- validation ---

func (d *decoder) validateCloudMC(s *CloudMCSpec) {
	d.provider(s.Provider, cloudMCSpecKind)
	in := &s.Instance
	nameOK := false
	if !d.bad["instance"] {
		if d.required("instance.name", in.Name, "add a name under instance, e.g. name: demo-instance") {
			nameOK = d.name("instance.name", in.Name, "instance")
		}
		for _, f := range []struct{ key, value, what string }{
			{"computeOffering", in.ComputeOffering, "compute offering"},
			{"network", in.Network, "network"},
			{"template", in.Template, "template"},
		} {
			field := "instance." + f.key
			example := fmt.Sprintf("e.g. %s: 3caab5ed-b5a2-4d8a-82e4-51c46168ee6c", f.key)
			if d.required(field, f.value, "give the ID of the environment's "+f.what+", "+example) && !uuidRE.MatchString(f.value) {
				d.add(field, f.value, "is not an ID", "give the "+f.what+"'s ID, a UUID, not its name; "+example, d.lineOf(field))
			}
		}
	}
	if v := s.Volume; v != nil && !d.bad["volume"] {
		d.cmcVolume(in.Name, nameOK, v)
	}
	d.cmcRules(s.IngressRules)
}

func (d *decoder) cmcVolume(instance string, instanceOK bool, v *CloudMCVolume) {
	if d.required("volume.name", v.Name, "name the volume, e.g. name: data") && d.name("volume.name", v.Name, "volume") && instanceOK {
		if full := instance + "-" + v.Name; len(full) > MaxNameLength {
			d.add("volume.name", v.Name, fmt.Sprintf("makes the volume name %q %d characters long, over the limit of %d", full, len(full), MaxNameLength),
				"shorten this name or the instance's", d.lineOf("volume.name"))
		}
	}
	const offeringFix = "give the ID or the name of one of the environment's disk offerings, e.g. diskOffering: 50GB - 50 IOPS Min. (a custom-size one also takes a size)"
	if d.required("volume.diskOffering", v.DiskOffering, offeringFix) && !d.bad["volume.diskOffering"] {
		ref := v.DiskOffering
		switch {
		case strings.TrimSpace(ref) != ref:
			d.add("volume.diskOffering", ref, "has spaces around it", "write the ID or name without them", d.lineOf("volume.diskOffering"))
		case len(ref) > maxDiskOfferingRef || strings.ContainsFunc(ref, func(r rune) bool { return r < ' ' || r == 0x7f }):
			d.add("volume.diskOffering", ref, "is not a disk offering ID or name", offeringFix, d.lineOf("volume.diskOffering"))
		}
	}
	_, sizeSet := d.lines["volume.size"]
	_, gbSet := d.lines["volume.sizeGB"]
	switch {
	case sizeSet && gbSet:
		d.add("volume.sizeGB", "", "is given with volume.size", "give the size once: size: 20GiB or sizeGB: 20", d.lineOf("volume.sizeGB"))
	case gbSet:
		if !d.bad["volume.sizeGB"] && (v.SizeGB < 1 || v.SizeGB > maxCloudMCVolumeGB) {
			d.add("volume.sizeGB", strconv.Itoa(v.SizeGB), "is not a size a volume can have", fmt.Sprintf("give a whole number of GB from 1 to %d", maxCloudMCVolumeGB), d.lineOf("volume.sizeGB"))
		}
	case sizeSet:
		if v.Size != "" && !d.bad["volume.size"] {
			d.cmcSize("volume.size", v)
		}
	}
}

func (d *decoder) cmcSize(field string, v *CloudMCVolume) {
	fix := "use a whole number with GiB or TiB, e.g. 20GiB, or give sizeGB: 20"
	m := sizeRE.FindStringSubmatch(v.Size)
	if m == nil {
		if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(v.Size, "GB"), "G")); err == nil && n > 0 {
			fix = fmt.Sprintf("write it as %dGiB, or as sizeGB: %d", n, n)
		}
		d.add(field, v.Size, "is not a size", fix, d.lineOf(field))
		return
	}
	if gb := v.sizeGB(); gb < 1 || gb > maxCloudMCVolumeGB {
		d.add(field, v.Size, "is not a size a volume can have", "use at least 1GiB and at most 64TiB", d.lineOf(field))
	}
}

// cmcRules checks each rule, then that no two open the same traffic: the
// cloud refuses a rule that overlaps another.
func (d *decoder) cmcRules(rules []CloudMCIngressRule) {
	if len(rules) > MaxIngressRules {
		d.add("ingressRules", "", fmt.Sprintf("has %d rules, over the limit of %d", len(rules), MaxIngressRules),
			"merge rules with port ranges, e.g. ports: \"8000-8080\"", d.lineOf("ingressRules"))
	}
	type checked struct {
		path, protocol, cidr string
		lo, hi               int
	}
	var ok []checked
	for i, r := range rules {
		p := fmt.Sprintf("ingressRules[%d]", i)
		if d.bad[p] {
			continue
		}
		valid := true
		if d.required(p+".protocol", r.Protocol, "add protocol: tcp (or udp, icmp)") {
			if lower := strings.ToLower(r.Protocol); lower != r.Protocol && (lower == "tcp" || lower == "udp" || lower == "icmp") {
				d.add(p+".protocol", r.Protocol, "is not allowed here", "write it in lowercase: "+lower, d.lineOf(p+".protocol"))
				valid = false
			} else {
				before := len(d.errs)
				d.oneOf(p+".protocol", r.Protocol, cmcProtocols)
				valid = len(d.errs) == before
			}
		} else {
			valid = false
		}
		lo, hi := 0, 0
		switch {
		case r.Protocol == "icmp" && r.Ports != "":
			d.add(p+".ports", r.Ports, "is set on an icmp rule, which takes no ports", "leave ports out", d.lineOf(p+".ports"))
			valid = false
		case r.Protocol == "icmp":
		case d.required(p+".ports", r.Ports, `open a port or a range, e.g. ports: "22" or ports: "8000-8080"`):
			var portsOK bool
			if lo, hi, portsOK = portRange(r.Ports); !portsOK {
				d.ports(p+".ports", r.Ports)
				valid = false
			}
		default:
			valid = false
		}
		if d.required(p+".cidr", r.CIDR, "say where traffic may come from, e.g. cidr: 0.0.0.0/0") {
			if _, cidrOK := normalizeCIDR(r.CIDR); !cidrOK {
				d.add(p+".cidr", r.CIDR, "is not a CIDR", "use a CIDR such as 0.0.0.0/0 or 203.0.113.0/24, or a single address such as 203.0.113.7", d.lineOf(p+".cidr"))
				valid = false
			}
		} else {
			valid = false
		}
		if !valid {
			continue
		}
		cidr, _ := normalizeCIDR(r.CIDR)
		c := checked{p, r.Protocol, cidr, lo, hi}
		for _, o := range ok {
			if o.protocol == c.protocol && o.cidr == c.cidr && c.lo <= o.hi && o.lo <= c.hi {
				d.add(p, "", "opens traffic that "+o.path+" opens too, and the cloud refuses overlapping rules",
					"merge the two rules into one, or drop one", d.lineOf(p))
				break
			}
		}
		ok = append(ok, c)
	}
}
