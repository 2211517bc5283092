package spec

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/workflows"
)

// ProviderKraftCloud names KraftCloud in a spec's provider field: an
// instance spec, for `cloudflow instances deploy`.
const ProviderKraftCloud = "kraftcloud"

// Service handlers a KraftCloud spec accepts.
var kraftHandlers = []string{"tls", "http", "redirect"}

var envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

var kraftCloudSpec = specKind{
	provider: ProviderKraftCloud, example: "examples/kraftcloud-app.yaml", one: "one instance",
	supported: "`cloudflow instances deploy` runs provider: kraftcloud specs",
}

// KraftCloudSpec is a parsed KraftCloud spec: one instance with, optionally,
// a volume mounted in it and a service group publishing it.
type KraftCloudSpec struct {
	Provider     string                  `yaml:"provider" json:"provider"`
	Instance     KraftCloudInstance      `yaml:"instance" json:"instance"`
	Volume       *KraftCloudVolume       `yaml:"volume,omitempty" json:"volume,omitempty"`
	ServiceGroup *KraftCloudServiceGroup `yaml:"serviceGroup,omitempty" json:"serviceGroup,omitempty"`
	Timeouts     Timeouts                `yaml:"timeouts,omitempty" json:"timeouts,omitempty"`

	// Source names where the spec came from: a path, or "-" for stdin.
	Source string `yaml:"-" json:"-"`
}

// KraftCloudInstance is the instance section. Zero MemoryMB and VCPUs take
// the cloud's defaults. Env values may be secrets: no message repeats them.
type KraftCloudInstance struct {
	Name     string            `yaml:"name" json:"name"`
	Image    string            `yaml:"image" json:"image"`
	MemoryMB int               `yaml:"memoryMB,omitempty" json:"memoryMB,omitempty"`
	VCPUs    int               `yaml:"vcpus,omitempty" json:"vcpus,omitempty"`
	Args     []string          `yaml:"args,omitempty" json:"args,omitempty"`
	Env      map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
}

// KraftCloudVolume is the volume section. Name is the short name; the volume
// made in the cloud is called "<instance>-<name>".
type KraftCloudVolume struct {
	Name     string `yaml:"name" json:"name"`
	SizeMB   int    `yaml:"sizeMB" json:"sizeMB"`
	At       string `yaml:"at" json:"at"`
	ReadOnly bool   `yaml:"readOnly,omitempty" json:"readOnly,omitempty"`
}

// KraftCloudServiceGroup is the serviceGroup section. Name is the short
// name; the group made in the cloud is called "<instance>-<name>".
type KraftCloudServiceGroup struct {
	Name     string              `yaml:"name" json:"name"`
	Services []KraftCloudService `yaml:"services" json:"services"`
	Domains  []string            `yaml:"domains,omitempty" json:"domains,omitempty"`
}

// KraftCloudService is one entry of serviceGroup.services.
type KraftCloudService struct {
	Port            int      `yaml:"port" json:"port"`
	DestinationPort int      `yaml:"destinationPort,omitempty" json:"destinationPort,omitempty"`
	Handlers        []string `yaml:"handlers,omitempty" json:"handlers,omitempty"`
}

// LoadKraftCloud reads and parses the KraftCloud spec file at path; "-"
// reads standard input. A spec with problems yields an Errors value listing
// all of them.
func LoadKraftCloud(path string) (*KraftCloudSpec, error) {
	return load(path, ParseKraftCloud)
}

// ParseKraftCloud parses a KraftCloud spec from data, YAML or JSON; source
// names it in messages. A spec with problems (a Crusoe spec among them)
// yields an Errors value listing all of them, in file order.
func ParseKraftCloud(data []byte, source string) (*KraftCloudSpec, error) {
	return parse(data, source, (*decoder).decodeKraftCloud, (*decoder).validateKraftCloud)
}

// DeployInput is the DeployInstance workflow input the spec describes: cloud
// names derived ("<instance>-<volume>", "<instance>-<group>") and lower-cased,
// as the cloud stores them.
func (s *KraftCloudSpec) DeployInput() workflows.DeployInstanceInput {
	in := workflows.DeployInstanceInput{
		Instance: workflows.KraftCloudInstanceSpec{
			Name:     s.InstanceName(),
			Image:    s.Instance.Image,
			MemoryMB: s.Instance.MemoryMB,
			VCPUs:    s.Instance.VCPUs,
		},
		Timeouts: s.Timeouts.input(),
	}
	if len(s.Instance.Args) > 0 {
		in.Instance.Args = append([]string(nil), s.Instance.Args...)
	}
	if len(s.Instance.Env) > 0 {
		in.Instance.Env = make(map[string]string, len(s.Instance.Env))
		for k, v := range s.Instance.Env {
			in.Instance.Env[k] = v
		}
	}
	if v := s.Volume; v != nil {
		in.Volume = &workflows.KraftCloudVolumeSpec{Name: s.VolumeName(), SizeMB: v.SizeMB, At: v.At, ReadOnly: v.ReadOnly}
	}
	if g := s.ServiceGroup; g != nil {
		sg := &workflows.KraftCloudServiceGroupSpec{Name: s.ServiceGroupName()}
		for _, svc := range g.Services {
			sg.Services = append(sg.Services, workflows.KraftCloudServiceSpec{
				Port: svc.Port, DestinationPort: svc.DestinationPort, Handlers: append([]string(nil), svc.Handlers...),
			})
		}
		for _, dom := range g.Domains {
			sg.Domains = append(sg.Domains, strings.ToLower(dom))
		}
		in.ServiceGroup = sg
	}
	return in
}

// DeprovisionInput is the UndeployInstance workflow input that removes
// what DeployInput makes, by the same names.
func (s *KraftCloudSpec) DeprovisionInput() workflows.UndeployInstanceInput {
	in := workflows.UndeployInstanceInput{
		InstanceName: s.InstanceName(),
		Timeouts:     s.Timeouts.input(),
	}
	if s.Volume != nil {
		in.VolumeName = s.VolumeName()
	}
	if s.ServiceGroup != nil {
		in.ServiceGroupName = s.ServiceGroupName()
	}
	return in
}

// InstanceName is the instance's name in the cloud (lower case).
func (s *KraftCloudSpec) InstanceName() string { return strings.ToLower(s.Instance.Name) }

// VolumeName is the volume's name in the cloud: "<instance>-<volume>".
func (s *KraftCloudSpec) VolumeName() string {
	if s.Volume == nil {
		return ""
	}
	return strings.ToLower(s.Instance.Name + "-" + s.Volume.Name)
}

// ServiceGroupName is the service group's name in the cloud: "<instance>-<group>".
func (s *KraftCloudSpec) ServiceGroupName() string {
	if s.ServiceGroup == nil {
		return ""
	}
	return strings.ToLower(s.Instance.Name + "-" + s.ServiceGroup.Name)
}

// --- decoding ---

// otherProvider reports a spec meant for another command, naming that
// command, and says whether it did. Unknown providers are left to validation.
func (d *decoder) otherProvider(root *yaml.Node, want string) bool {
	if root.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := deref(root.Content[i]), deref(root.Content[i+1])
		if k.Value != "provider" || v.Kind != yaml.ScalarNode || v.Value == want {
			continue
		}
		switch v.Value {
		case ProviderKraftCloud:
			d.add("provider", v.Value, "is a KraftCloud instance spec, which "+commandFor(want)+" does not run",
				"deploy it with `cloudflow instances deploy -f FILE` (and remove it with `cloudflow instances undeploy -f FILE`)", k.Line)
			return true
		case ProviderCrusoe:
			d.add("provider", v.Value, "is a Crusoe VM spec, which "+commandFor(want)+" does not run",
				"provision it with `cloudflow vm provision -f FILE` (and remove it with `cloudflow vm deprovision -f FILE`)", k.Line)
			return true
		case ProviderOpenVZ:
			d.add("provider", v.Value, "is an OpenVZ container spec, which "+commandFor(want)+" does not run",
				"create it with `cloudflow container create -f FILE` (and remove it with `cloudflow container delete -f FILE`)", k.Line)
			return true
		case ProviderCloudMC:
			problem := "is a CloudMC instance spec, which " + commandFor(want) + " does not run"
			if want == ProviderCrusoe {
				problem = "is a CloudMC instance spec, not a Crusoe VM spec"
			}
			d.add("provider", v.Value, problem,
				"provision it with `cloudflow vm provision -f FILE` (and remove it with `cloudflow vm deprovision -f FILE`)", k.Line)
			return true
		}
	}
	return false
}

func (d *decoder) decodeKraftCloud(data []byte) *KraftCloudSpec {
	s := &KraftCloudSpec{Source: d.source}
	return decodeSpec(d, data, kraftCloudSpec, s, []field{
		{"provider", func(p string, v *yaml.Node) { d.str(p, v, &s.Provider) }},
		{"instance", func(p string, v *yaml.Node) { d.kraftInstance(p, v, &s.Instance) }},
		{"volume", func(p string, v *yaml.Node) {
			if isNull(deref(v)) {
				return
			}
			s.Volume = &KraftCloudVolume{}
			d.kraftVolume(p, v, s.Volume)
		}},
		{"serviceGroup", func(p string, v *yaml.Node) {
			if isNull(deref(v)) {
				return
			}
			s.ServiceGroup = &KraftCloudServiceGroup{}
			d.kraftServiceGroup(p, v, s.ServiceGroup)
		}},
		{"timeouts", func(p string, v *yaml.Node) { d.timeouts(p, v, &s.Timeouts) }},
	})
}

func (d *decoder) kraftInstance(path string, n *yaml.Node, in *KraftCloudInstance) {
	d.object(n, path, []field{
		{"name", func(p string, v *yaml.Node) { d.str(p, v, &in.Name) }},
		{"image", func(p string, v *yaml.Node) { d.str(p, v, &in.Image) }},
		{"memoryMB", func(p string, v *yaml.Node) { d.integer(p, v, &in.MemoryMB, "memoryMB: 256") }},
		{"vcpus", func(p string, v *yaml.Node) { d.integer(p, v, &in.VCPUs, "vcpus: 1") }},
		{"args", func(p string, v *yaml.Node) { d.strs(p, v, &in.Args, `["-c", "/etc/app.conf"]`) }},
		{"env", func(p string, v *yaml.Node) { d.env(p, v, &in.Env) }},
	})
}

func (d *decoder) kraftVolume(path string, n *yaml.Node, v *KraftCloudVolume) {
	d.object(n, path, []field{
		{"name", func(p string, n *yaml.Node) { d.str(p, n, &v.Name) }},
		{"sizeMB", func(p string, n *yaml.Node) { d.integer(p, n, &v.SizeMB, "sizeMB: 512") }},
		{"at", func(p string, n *yaml.Node) { d.str(p, n, &v.At) }},
		{"readOnly", func(p string, n *yaml.Node) { d.boolean(p, n, &v.ReadOnly) }},
	})
}

func (d *decoder) kraftServiceGroup(path string, n *yaml.Node, g *KraftCloudServiceGroup) {
	d.object(n, path, []field{
		{"name", func(p string, v *yaml.Node) { d.str(p, v, &g.Name) }},
		{"services", func(p string, v *yaml.Node) {
			d.list(p, v, "a list of services, each with a port", func(p string, item *yaml.Node) {
				var svc KraftCloudService
				d.object(item, p, []field{
					{"port", func(p string, v *yaml.Node) { d.integer(p, v, &svc.Port, "port: 443") }},
					{"destinationPort", func(p string, v *yaml.Node) { d.integer(p, v, &svc.DestinationPort, "destinationPort: 8080") }},
					{"handlers", func(p string, v *yaml.Node) { d.strs(p, v, &svc.Handlers, "[tls, http]") }},
				})
				g.Services = append(g.Services, svc)
			})
		}},
		{"domains", func(p string, v *yaml.Node) { d.strs(p, v, &g.Domains, "[app.example.com]") }},
	})
}

// integer decodes a whole number.
func (d *decoder) integer(path string, n *yaml.Node, dst *int, example string) {
	if n = d.node(path, n, yaml.ScalarNode, "a whole number", "write it as "+example); n == nil {
		return
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		d.bad[path] = true
		d.add(path, shorten(n.Value), "is not a whole number", "write it as "+example, n.Line)
		return
	}
	*dst = v
}

// boolean decodes true or false.
func (d *decoder) boolean(path string, n *yaml.Node, dst *bool) {
	n = deref(n)
	if isNull(n) {
		return
	}
	switch v := strings.ToLower(n.Value); {
	case n.Kind == yaml.ScalarNode && (v == "true" || v == "false"):
		*dst = v == "true"
	default:
		d.bad[path] = true
		d.add(path, "", "must be true or false, not "+kindName(n), "", n.Line)
	}
}

// env decodes a mapping of variable names to values. Values may be secrets:
// they are never echoed.
func (d *decoder) env(path string, n *yaml.Node, dst *map[string]string) {
	if n = d.node(path, n, yaml.MappingNode, "a mapping of variable names to values", "write it as env: {LOG_LEVEL: info}"); n == nil {
		return
	}
	out := map[string]string{}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		p := path + "." + k.Value
		d.lines[p] = k.Line
		if !d.plainKey(path, k) {
			continue
		}
		if !envKeyRE.MatchString(k.Value) {
			d.add(p, shorten(k.Value), "is not an environment variable name", "use letters, digits and '_', not starting with a digit, e.g. LOG_LEVEL", k.Line)
			continue
		}
		if !d.firstTime(seen, p, k) {
			continue
		}
		switch {
		case isNull(v):
			out[k.Value] = ""
		case v.Kind != yaml.ScalarNode:
			d.add(p, "", "must be a single value, not "+kindName(v), `quote it if it is text, e.g. KEY: "a, b"`, v.Line)
		default:
			out[k.Value] = v.Value
		}
	}
	*dst = out
}

// --- validation ---

func (d *decoder) validateKraftCloud(s *KraftCloudSpec) {
	d.provider(s.Provider, kraftCloudSpec)
	in := &s.Instance
	if !d.bad["instance"] {
		if d.required("instance.name", in.Name, "add a name under instance, e.g. name: demo-app") {
			d.kraftName("instance.name", in.Name, "instance")
		}
		d.required("instance.image", in.Image, "add the image under instance, e.g. image: nginx:latest")
		d.positive("instance.memoryMB", in.MemoryMB, "give the memory in megabytes, e.g. memoryMB: 256, or leave it out for the default")
		d.positive("instance.vcpus", in.VCPUs, "give a number of vCPUs, e.g. vcpus: 1, or leave it out for the default")
	}
	if v := s.Volume; v != nil && !d.bad["volume"] {
		if d.required("volume.name", v.Name, "name the volume, e.g. name: data") && d.kraftName("volume.name", v.Name, "volume") {
			d.kraftDerivedName("volume.name", in.Name, v.Name, "volume")
		}
		if _, set := d.lines["volume.sizeMB"]; !set {
			d.add("volume.sizeMB", "", "is required", "give the size in megabytes, e.g. sizeMB: 512", d.lineOf("volume"))
		} else {
			d.positive("volume.sizeMB", v.SizeMB, "give the size in megabytes, e.g. sizeMB: 512")
		}
		if d.required("volume.at", v.At, "say where to mount it, e.g. at: /data") && !strings.HasPrefix(v.At, "/") {
			d.add("volume.at", v.At, "is not an absolute path", "mount it at a path starting with /, e.g. /data", d.lineOf("volume.at"))
		}
	}
	if g := s.ServiceGroup; g != nil && !d.bad["serviceGroup"] {
		d.validateServiceGroup(in.Name, g)
	}
}

func (d *decoder) validateServiceGroup(instance string, g *KraftCloudServiceGroup) {
	if d.required("serviceGroup.name", g.Name, "name the service group, e.g. name: web") && d.kraftName("serviceGroup.name", g.Name, "service group") {
		d.kraftDerivedName("serviceGroup.name", instance, g.Name, "service group")
	}
	if len(g.Services) == 0 && !d.bad["serviceGroup.services"] {
		d.add("serviceGroup.services", "", "is required", "publish at least one port, e.g. services: [{port: 443, destinationPort: 8080, handlers: [tls, http]}]", d.lineOf("serviceGroup.services"))
	}
	ports := map[int]string{}
	for i, svc := range g.Services {
		p := fmt.Sprintf("serviceGroup.services[%d]", i)
		if d.bad[p] {
			continue
		}
		if _, set := d.lines[p+".port"]; !set {
			d.add(p+".port", "", "is required", "give the public port, e.g. port: 443", d.lineOf(p))
		} else if d.port(p+".port", svc.Port) {
			if first, dup := ports[svc.Port]; dup {
				d.add(p+".port", strconv.Itoa(svc.Port), "is published by "+first+" too", "publish each port once", d.lineOf(p+".port"))
			}
			ports[svc.Port] = p
		}
		if _, set := d.lines[p+".destinationPort"]; set {
			d.port(p+".destinationPort", svc.DestinationPort)
		}
		seen := map[string]bool{}
		for j, h := range svc.Handlers {
			f := fmt.Sprintf("%s.handlers[%d]", p, j)
			switch {
			case seen[h]:
				d.add(f, h, "is listed twice", "list each handler once", d.lineOf(f))
			default:
				d.oneOf(f, h, kraftHandlers)
			}
			seen[h] = true
		}
	}
	seen := map[string]string{}
	for i, dom := range g.Domains {
		f := fmt.Sprintf("serviceGroup.domains[%d]", i)
		if err := kraftcloud.ValidateName(dom); err != nil {
			d.add(f, dom, "is not a domain name: "+kraftNameProblem(dom, err), "use a name such as app.example.com, without a trailing dot", d.lineOf(f))
			continue
		}
		if first, dup := seen[strings.ToLower(dom)]; dup {
			d.add(f, dom, "is listed by "+first+" too", "list each domain once", d.lineOf(f))
		}
		seen[strings.ToLower(dom)] = f
	}
}

// positive checks a number that, when the field is set, must be above zero.
func (d *decoder) positive(field string, v int, fix string) {
	if _, set := d.lines[field]; !set || d.bad[field] || v > 0 {
		return
	}
	d.add(field, strconv.Itoa(v), "must be more than zero", fix, d.lineOf(field))
}

// port checks a TCP port and says whether it is one.
func (d *decoder) port(field string, v int) bool {
	if d.bad[field] {
		return false
	}
	if v < 1 || v > 65535 {
		d.add(field, strconv.Itoa(v), "is not a port", "use a number from 1 to 65535", d.lineOf(field))
		return false
	}
	return true
}

// kraftName checks a KraftCloud object name (RFC 1035, as the reference
// spells out) and says whether it is one.
func (d *decoder) kraftName(field, value, what string) bool {
	err := kraftcloud.ValidateName(value)
	if err == nil {
		return true
	}
	fix := "use letters, digits and single hyphens in dot-separated labels, each starting with a letter and ending with a letter or digit"
	if s := suggestName(value); s != "" && kraftcloud.ValidateName(s) == nil {
		fix += fmt.Sprintf(", e.g. %q", s)
	}
	d.add(field, value, fmt.Sprintf("is not a valid %s name: %s", what, kraftNameProblem(value, err)), fix, d.lineOf(field))
	return false
}

// kraftDerivedName checks the name the object gets in the cloud, "<instance>-<name>".
func (d *decoder) kraftDerivedName(field, instance, name, what string) {
	if kraftcloud.ValidateName(instance) != nil {
		return // reported on instance.name already
	}
	full := instance + "-" + name
	if err := kraftcloud.ValidateName(full); err != nil {
		d.add(field, name, fmt.Sprintf("makes the %s name %q invalid: %s", what, full, kraftNameProblem(full, err)),
			"shorten this name or the instance's", d.lineOf(field))
	}
}

// kraftNameProblem is what ValidateName says is wrong, without its prefix.
func kraftNameProblem(name string, err error) string {
	if _, p, ok := strings.Cut(err.Error(), fmt.Sprintf("name %q: ", name)); ok {
		return p
	}
	return err.Error()
}
