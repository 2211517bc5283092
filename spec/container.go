package spec

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cloudflow/cloudflow/workflows"
)

// ProviderOpenVZ names the container API (OpenVZ) in a spec's provider
// field: a container spec, for `cloudflow container`.
const ProviderOpenVZ = "openvz"

// Limits of a container spec, as the container API takes them.
const (
	MaxContainerNameLength = 64
	maxOSTemplateLength    = 128
)

var containerSpecKind = specKind{
	provider: ProviderOpenVZ, example: "examples/container.yaml", one: "one container",
	supported: "`cloudflow container create` runs provider: openvz specs",
}

var (
	// containerSizeRE is a memory or disk size: a whole number and K, M or G.
	containerSizeRE = regexp.MustCompile(`^([0-9]+)([KMG])$`)
	// looseSizeRE catches sizes written another way ("1GB", "1 GiB", "1g").
	looseSizeRE = regexp.MustCompile(`^([0-9]+)\s*([kKmMgG])(i?[bB])?$`)
)

// ContainerSpec is a parsed container spec: one container and the
// parameters set on it once it exists.
type ContainerSpec struct {
	Provider  string    `yaml:"provider" json:"provider"`
	Container Container `yaml:"container" json:"container"`
	Timeouts  Timeouts  `yaml:"timeouts,omitempty" json:"timeouts,omitempty"`

	// Source names where the spec came from: a path, or "-" for stdin.
	Source string `yaml:"-" json:"-"`
}

// Container is the container section. Name and OSTemplate are required;
// the parameters are set when given.
type Container struct {
	Name       string `yaml:"name" json:"name"`
	OSTemplate string `yaml:"ostemplate" json:"ostemplate"`
	Hostname   string `yaml:"hostname,omitempty" json:"hostname,omitempty"`
	CPUs       int    `yaml:"cpus,omitempty" json:"cpus,omitempty"`
	// Memory and Disk are a whole number and a unit, K, M or G: "1G".
	Memory      string   `yaml:"memory,omitempty" json:"memory,omitempty"`
	Disk        string   `yaml:"disk,omitempty" json:"disk,omitempty"`
	IP          string   `yaml:"ip,omitempty" json:"ip,omitempty"`
	Nameservers []string `yaml:"nameservers,omitempty" json:"nameservers,omitempty"`
}

// LoadContainer reads and parses the container spec file at path; "-"
// reads standard input. A spec with problems yields an Errors value listing
// all of them.
func LoadContainer(path string) (*ContainerSpec, error) {
	return load(path, ParseContainer)
}

// ParseContainer parses a container spec from data, YAML or JSON; source
// names it in messages. A spec with problems (another provider's spec among
// them) yields an Errors value listing all of them, in file order.
func ParseContainer(data []byte, source string) (*ContainerSpec, error) {
	return parse(data, source, (*decoder).decodeContainer, (*decoder).validateContainer)
}

// CreateInput is the CreateContainer workflow input the spec describes.
func (s *ContainerSpec) CreateInput() workflows.CreateContainerInput {
	c := s.Container
	in := workflows.CreateContainerInput{
		Container: workflows.ContainerSpec{
			Name: c.Name, OSTemplate: c.OSTemplate, Hostname: c.Hostname, CPUs: c.CPUs,
			Memory: c.Memory, Disk: c.Disk, IPAddress: c.IP,
		},
		Timeouts: s.Timeouts.input(),
	}
	if len(c.Nameservers) > 0 {
		in.Container.Nameservers = append([]string(nil), c.Nameservers...)
	}
	return in
}

// DeleteInput is the DeleteContainer workflow input that removes what
// CreateInput makes.
func (s *ContainerSpec) DeleteInput() workflows.DeleteContainerInput {
	return workflows.DeleteContainerInput{Name: s.Container.Name, Timeouts: s.Timeouts.input()}
}

// --- decoding ---

func (d *decoder) decodeContainer(data []byte) *ContainerSpec {
	s := &ContainerSpec{Source: d.source}
	return decodeSpec(d, data, containerSpecKind, s, []field{
		{"provider", func(p string, v *yaml.Node) { d.str(p, v, &s.Provider) }},
		{"container", func(p string, v *yaml.Node) { d.container(p, v, &s.Container) }},
		{"timeouts", func(p string, v *yaml.Node) { d.timeouts(p, v, &s.Timeouts) }},
	})
}

func (d *decoder) container(path string, n *yaml.Node, c *Container) {
	d.object(n, path, []field{
		{"name", func(p string, v *yaml.Node) { d.str(p, v, &c.Name) }},
		{"ostemplate", func(p string, v *yaml.Node) { d.str(p, v, &c.OSTemplate) }},
		{"hostname", func(p string, v *yaml.Node) { d.str(p, v, &c.Hostname) }},
		{"cpus", func(p string, v *yaml.Node) { d.integer(p, v, &c.CPUs, "cpus: 2") }},
		{"memory", func(p string, v *yaml.Node) { d.str(p, v, &c.Memory) }},
		{"disk", func(p string, v *yaml.Node) { d.str(p, v, &c.Disk) }},
		{"ip", func(p string, v *yaml.Node) { d.str(p, v, &c.IP) }},
		{"nameservers", func(p string, v *yaml.Node) { d.strs(p, v, &c.Nameservers, "[1.1.1.1, 8.8.8.8]") }},
	})
}

// --- validation ---

func (d *decoder) validateContainer(s *ContainerSpec) {
	d.provider(s.Provider, containerSpecKind)
	if d.bad["container"] {
		return
	}
	c := &s.Container
	if d.required("container.name", c.Name, "name the container, e.g. name: ct100") {
		d.containerName("container.name", c.Name, MaxContainerNameLength, "ct100")
	}
	if d.required("container.ostemplate", c.OSTemplate, "name the OS template to create it from, e.g. ostemplate: centos-7-x86_64") {
		d.containerName("container.ostemplate", c.OSTemplate, maxOSTemplateLength, "centos-7-x86_64")
	}
	if c.Hostname != "" && !rfc1123Hostname(c.Hostname) {
		d.add("container.hostname", c.Hostname, "is not a host name",
			"use letters, digits and hyphens in dot-separated labels of at most 63 characters, not starting or ending with a hyphen, e.g. web-1.example.com",
			d.lineOf("container.hostname"))
	}
	d.positive("container.cpus", c.CPUs, "give a whole number of CPUs, e.g. cpus: 2, or leave it out")
	d.containerSize("container.memory", c.Memory, "1G")
	d.containerSize("container.disk", c.Disk, "10G")
	if c.IP != "" {
		d.ipv4("container.ip", c.IP, "10.0.0.5")
	}
	seen := map[string]string{}
	for i, ns := range c.Nameservers {
		f := fmt.Sprintf("container.nameservers[%d]", i)
		if !d.ipv4(f, ns, "1.1.1.1") {
			continue
		}
		if first, dup := seen[ns]; dup {
			d.add(f, ns, "is listed by "+first+" too", "list each name server once", d.lineOf(f))
		}
		seen[ns] = f
	}
}

// containerName checks a container name or OS template as the API takes
// them: 1 to max letters, digits, '.', '_' or '-', starting with a letter
// or digit.
func (d *decoder) containerName(field, value string, max int, example string) {
	problem := ""
	switch {
	case len(value) > max:
		problem = fmt.Sprintf("is %d characters long, over the limit of %d", len(value), max)
	case !asciiAlnum(value[0]):
		problem = "must start with a letter or digit"
	default:
		for _, r := range value {
			if !asciiAlnum(byte(r)) && r != '.' && r != '_' && r != '-' || r > 127 {
				problem = fmt.Sprintf("contains %q", r)
				break
			}
		}
	}
	if problem != "" {
		d.add(field, value, problem, fmt.Sprintf("use up to %d letters, digits, '.', '_' and '-', starting with a letter or digit, e.g. %s", max, example), d.lineOf(field))
	}
}

// containerSize checks a memory or disk size: a whole number above zero and
// K, M or G.
func (d *decoder) containerSize(field, value, example string) {
	if value == "" {
		return
	}
	fix := "use a whole number with K, M or G, e.g. " + example
	if m := containerSizeRE.FindStringSubmatch(value); m != nil {
		if n, err := strconv.ParseUint(m[1], 10, 63); err != nil || n == 0 {
			d.add(field, value, "must be more than zero", fix, d.lineOf(field))
		}
		return
	}
	switch m := looseSizeRE.FindStringSubmatch(value); {
	case m != nil:
		fix = fmt.Sprintf("write it as %s%s: the unit is K, M or G", m[1], strings.ToUpper(m[2]))
	case allDigits(value):
		fix = fmt.Sprintf("add a unit, K, M or G, e.g. %sM", value)
	}
	d.add(field, value, "is not a size", fix, d.lineOf(field))
}

// ipv4 checks an IPv4 address and says whether it is one.
func (d *decoder) ipv4(field, value, example string) bool {
	a, err := netip.ParseAddr(value)
	if err == nil && a.Is4() {
		return true
	}
	problem := "is not an IPv4 address"
	if err == nil {
		problem = "is an IPv6 address; the container API takes IPv4 only"
	} else if strings.Contains(value, "/") {
		problem = "is a network, not an address"
	}
	d.add(field, value, problem, "use an address such as "+example, d.lineOf(field))
	return false
}

// rfc1123Hostname follows RFC 1123: dot-separated labels of 1-63 letters, digits
// and hyphens, not starting or ending with a hyphen; 253 characters at most.
func rfc1123Hostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !asciiAlnum(label[i]) && label[i] != '-' {
				return false
			}
		}
	}
	return true
}

func asciiAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// commandFor is the command that runs a spec of the provider, as the
// messages about a spec given to the wrong command name it.
func commandFor(provider string) string {
	switch provider {
	case ProviderCrusoe:
		return "`cloudflow vm`"
	case ProviderKraftCloud:
		return "`cloudflow instances deploy`"
	case ProviderOpenVZ:
		return "`cloudflow container create`"
	}
	return "this command"
}
