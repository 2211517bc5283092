package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cloudflow/cloudflow/internal/input"
)

// decoder walks the YAML node tree by hand rather than unmarshalling, so that
// every problem is reported (not just the first), with its line, under the
// field names the user wrote.
type decoder struct {
	source string // where the spec came from: a path, "-" for stdin, or ""
	dir    string // anchors relative file paths; "" is the working directory
	errs   Errors
	// lines maps a field path ("vm.name", "disks[1]") to its line.
	lines map[string]int
	// bad marks fields whose value could not be decoded, so validation does
	// not report them a second time as missing.
	bad map[string]bool
}

// newDecoder makes a decoder for a spec from source, which anchors relative
// file paths: files are looked up beside it, or in the working directory
// when source is "" or "-" (stdin).
func newDecoder(source string) *decoder {
	dir := ""
	if source != "" && source != "-" {
		dir = filepath.Dir(source)
	}
	return &decoder{source: source, dir: dir, lines: map[string]int{}, bad: map[string]bool{}}
}

func (d *decoder) add(field, value, problem, fix string, line int) {
	d.errs = append(d.errs, &FieldError{Field: field, Value: value, Problem: problem, Fix: fix, Line: line})
}

// lineOf returns the line of path, or of its nearest ancestor that has one.
func (d *decoder) lineOf(path string) int {
	for {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return d.lines[""]
		}
		path = path[:i]
	}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// specKind is what tells one kind of spec from another, and what the
// messages about a whole spec file say of it.
type specKind struct {
	provider  string // the provider field's value
	example   string // the example file to start from
	one       string // what one file holds, e.g. "one VM"
	supported string // the fix for another provider
}

var crusoeSpec = specKind{
	provider: ProviderCrusoe, example: "examples/crusoe-vm.yaml", one: "one VM",
	supported: "supported: crusoe, cloudmc",
}

// decodeSpec decodes a whole spec file of kind into s through its top-level
// fields. It returns nil when there is nothing to validate: no document, a
// spec for another command, or a top level that is not a mapping.
func decodeSpec[S any](d *decoder, data []byte, kind specKind, s *S, fields []field) *S {
	root := d.document(data, kind)
	if root == nil || d.otherProvider(root, kind.provider) || !d.object(root, "", fields) {
		return nil
	}
	return s
}

func (d *decoder) decode(data []byte) *VMSpec {
	s := &VMSpec{Source: d.source}
	return decodeSpec(d, data, crusoeSpec, s, []field{
		{"provider", func(p string, v *yaml.Node) { d.str(p, v, &s.Provider) }},
		{"project", func(p string, v *yaml.Node) { d.str(p, v, &s.Project) }},
		{"vm", func(p string, v *yaml.Node) { d.vm(p, v, &s.VM) }},
		{"disks", func(p string, v *yaml.Node) { d.disks(p, v, &s.Disks) }},
		{"firewallRules", func(p string, v *yaml.Node) { d.rules(p, v, &s.FirewallRules) }},
		{"timeouts", func(p string, v *yaml.Node) { d.timeouts(p, v, &s.Timeouts) }},
	})
}

// document parses data as one YAML (or JSON) document and returns its root
// node, or nil when there is none, after saying why.
func (d *decoder) document(data []byte, kind specKind) *yaml.Node {
	if problem := input.NotText(data); problem != "" {
		d.add("", "", problem, "save it as UTF-8 (iconv -t UTF-8 converts it)", 0)
		return nil
	}
	if looksLikeJSON(data) {
		// JSON allows tabs between tokens where YAML does not; inside JSON
		// strings a tab must be escaped, so every raw tab is whitespace.
		data = bytes.ReplaceAll(data, []byte("\t"), []byte(" "))
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.add("", "", "the spec is empty", "start from "+kind.example, 0)
		} else {
			d.syntax(err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		d.add("", "", "holds more than one YAML document", "put "+kind.one+" in each spec file", extra.Line)
		return nil
	case !errors.Is(err, io.EOF):
		d.syntax(err)
		return nil
	}
	root := deref(&doc)
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			d.add("", "", "the spec is empty", "start from "+kind.example, 0)
			return nil
		}
		root = deref(root.Content[0])
	}
	if isNull(root) {
		d.add("", "", "the spec is empty", "start from "+kind.example, root.Line)
		return nil
	}
	d.lines[""] = root.Line
	d.tags(root, "")
	return root
}

// tags reports every explicit YAML tag but !!str. The decoder takes values
// as written, so a tag such as !!binary would be dropped without a word and
// the raw text used instead ("type: !!binary aGVsbG8=" would ask for a VM of
// type aGVsbG8=). Values under an alias are reported where the anchor is.
func (d *decoder) tags(n *yaml.Node, path string) {
	if n == nil || n.Kind == yaml.AliasNode {
		return
	}
	if n.Style&yaml.TaggedStyle != 0 && n.Tag != "!!str" {
		d.bad[path] = true
		d.add(path, "", "has the YAML tag "+n.Tag+", which cloudflow does not apply", "remove the tag and write the value itself", n.Line)
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := join(path, deref(n.Content[i]).Value)
			d.tags(n.Content[i], p)
			d.tags(n.Content[i+1], p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.tags(c, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

func (d *decoder) syntax(err error) {
	msg, line := err.Error(), 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	d.add("", "", "is not valid YAML or JSON: "+msg, "", line)
}

func looksLikeJSON(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

func (d *decoder) vm(path string, n *yaml.Node, vm *VM) {
	d.object(n, path, []field{
		{"name", func(p string, v *yaml.Node) { d.str(p, v, &vm.Name) }},
		{"type", func(p string, v *yaml.Node) { d.str(p, v, &vm.Type) }},
		{"location", func(p string, v *yaml.Node) { d.str(p, v, &vm.Location) }},
		{"image", func(p string, v *yaml.Node) { d.str(p, v, &vm.Image) }},
		{"sshPublicKey", func(p string, v *yaml.Node) { d.str(p, v, &vm.SSHPublicKey) }},
		{"sshPublicKeyFile", func(p string, v *yaml.Node) { d.str(p, v, &vm.SSHPublicKeyFile) }},
		{"startupScript", func(p string, v *yaml.Node) { d.str(p, v, &vm.StartupScript) }},
		{"startupScriptFile", func(p string, v *yaml.Node) { d.str(p, v, &vm.StartupScriptFile) }},
		{"shutdownScript", func(p string, v *yaml.Node) { d.str(p, v, &vm.ShutdownScript) }},
		{"shutdownScriptFile", func(p string, v *yaml.Node) { d.str(p, v, &vm.ShutdownScriptFile) }},
	})
}

func (d *decoder) disks(path string, n *yaml.Node, out *[]Disk) {
	d.list(path, n, "a list of disks, each with name and size", func(p string, item *yaml.Node) {
		var disk Disk
		d.object(item, p, []field{
			{"name", func(p string, v *yaml.Node) { d.str(p, v, &disk.Name) }},
			{"size", func(p string, v *yaml.Node) { d.str(p, v, &disk.Size) }},
			{"type", func(p string, v *yaml.Node) { d.str(p, v, &disk.Type) }},
			{"mode", func(p string, v *yaml.Node) { d.str(p, v, &disk.Mode) }},
		})
		*out = append(*out, disk)
	})
}

func (d *decoder) rules(path string, n *yaml.Node, out *[]FirewallRule) {
	d.list(path, n, "a list of firewall rules", func(p string, item *yaml.Node) {
		var r FirewallRule
		d.object(item, p, []field{
			{"name", func(p string, v *yaml.Node) { d.str(p, v, &r.Name) }},
			{"vpcNetwork", func(p string, v *yaml.Node) { d.str(p, v, &r.VPCNetwork) }},
			{"vpcNetworkId", func(p string, v *yaml.Node) { d.str(p, v, &r.VPCNetworkID) }},
			{"direction", func(p string, v *yaml.Node) { d.str(p, v, &r.Direction) }},
			{"action", func(p string, v *yaml.Node) { d.str(p, v, &r.Action) }},
			{"protocols", func(p string, v *yaml.Node) { d.strs(p, v, &r.Protocols, "[tcp]") }},
			{"sources", func(p string, v *yaml.Node) { d.strs(p, v, &r.Sources, "[0.0.0.0/0]") }},
			{"destinations", func(p string, v *yaml.Node) { d.strs(p, v, &r.Destinations, "[vm]") }},
			{"destinationPorts", func(p string, v *yaml.Node) { d.strs(p, v, &r.DestinationPorts, `["22", "8000-8080"]`) }},
			{"sourcePorts", func(p string, v *yaml.Node) { d.strs(p, v, &r.SourcePorts, `["1024-65535"]`) }},
		})
		*out = append(*out, r)
	})
}

func (d *decoder) timeouts(path string, n *yaml.Node, t *Timeouts) {
	d.object(n, path, []field{
		{"operation", func(p string, v *yaml.Node) { d.duration(p, v, &t.Operation) }},
		{"heartbeat", func(p string, v *yaml.Node) { d.duration(p, v, &t.Heartbeat) }},
		{"undo", func(p string, v *yaml.Node) { d.duration(p, v, &t.Undo) }},
	})
}

// field is one known key of a mapping and how to decode its value.
type field struct {
	key string
	set func(path string, v *yaml.Node)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// object decodes a mapping, reporting unknown and repeated keys. A null
// value (a key with nothing after it) counts as an empty mapping.
func (d *decoder) object(n *yaml.Node, path string, fields []field) bool {
	if isNull(deref(n)) {
		return true
	}
	if n = d.node(path, n, yaml.MappingNode, "a mapping of keys to values", ""); n == nil {
		return false
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		key := k.Value
		p := join(path, key)
		if !d.plainKey(path, k) || !d.firstTime(seen, p, k) {
			continue
		}
		var f *field
		for j := range fields {
			if fields[j].key == key {
				f = &fields[j]
				break
			}
		}
		if f == nil {
			d.add(p, "", "is not a known field", unknownFix(key, fields), k.Line)
			continue
		}
		d.lines[p] = k.Line
		f.set(p, v)
	}
	return true
}

func unknownFix(key string, fields []field) string {
	names := make([]string, len(fields))
	best, bestDist := "", 3
	for i, f := range fields {
		names[i] = f.key
		dist := editDistance(strings.ToLower(key), strings.ToLower(f.key))
		if dist < bestDist {
			best, bestDist = f.key, dist
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %s? (keys are camelCase)", best)
	}
	return "known fields here: " + strings.Join(names, ", ")
}

// node follows aliases from n and checks that it is of kind want; what and
// fix describe what is wanted when it is not. It returns nil when there is
// nothing to decode: null, or a value of the wrong kind, which marks the
// field bad.
func (d *decoder) node(path string, n *yaml.Node, want yaml.Kind, what, fix string) *yaml.Node {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != want {
		d.bad[path] = true
		d.add(path, "", "must be "+what+", not "+kindName(n), fix, n.Line)
		return nil
	}
	return n
}

// plainKey reports a mapping key that is not a plain name, and says whether
// k is one.
func (d *decoder) plainKey(path string, k *yaml.Node) bool {
	if k.Kind != yaml.ScalarNode {
		d.add(path, "", "has a key that is not a plain name", "", k.Line)
		return false
	}
	return true
}

// firstTime reports a key set twice in one mapping, and says whether this is
// its first time; seen maps the keys met so far to their lines.
func (d *decoder) firstTime(seen map[string]int, path string, k *yaml.Node) bool {
	if first, dup := seen[k.Value]; dup {
		d.add(path, "", fmt.Sprintf("is set twice (first on line %d)", first), "keep one", k.Line)
		return false
	}
	seen[k.Value] = k.Line
	return true
}

// list decodes a sequence, calling item for each element.
func (d *decoder) list(path string, n *yaml.Node, what string, item func(path string, n *yaml.Node)) {
	if n = d.node(path, n, yaml.SequenceNode, what, "start each entry with \"- \""); n == nil {
		return
	}
	for i, c := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.lines[p] = deref(c).Line
		item(p, c)
	}
}

// str decodes a scalar as a string; numbers and booleans are taken as
// written. Null leaves dst empty.
func (d *decoder) str(path string, n *yaml.Node, dst *string) {
	if n = d.node(path, n, yaml.ScalarNode, "a single value", ""); n != nil {
		*dst = n.Value
	}
}

// strs decodes a list of scalars; YAML numbers such as ports are taken as
// written.
func (d *decoder) strs(path string, n *yaml.Node, dst *[]string, example string) {
	if n = d.node(path, n, yaml.SequenceNode, "a list", "write it as "+example); n == nil {
		return
	}
	out := []string{}
	for i, c := range n.Content {
		c = deref(c)
		p := fmt.Sprintf("%s[%d]", path, i)
		d.lines[p] = c.Line
		if c.Kind != yaml.ScalarNode || isNull(c) {
			d.bad[path] = true
			d.add(p, "", "must be a single value, not "+kindName(c), "", c.Line)
			continue
		}
		out = append(out, c.Value)
	}
	*dst = out
}

func (d *decoder) duration(path string, n *yaml.Node, dst *time.Duration) {
	var s string
	d.str(path, n, &s)
	if s == "" {
		return
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		d.bad[path] = true
		d.add(path, s, "is not a duration", "use a Go duration with a unit, e.g. 10m or 90s", deref(n).Line)
		return
	}
	if v <= 0 {
		d.bad[path] = true
		d.add(path, s, "must be longer than zero", "leave it out to take the default", deref(n).Line)
		return
	}
	*dst = v
}

// deref follows YAML aliases (*anchor) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("the value %q", shorten(n.Value))
	}
	return "something else"
}

// editDistance is the Levenshtein distance, used to suggest the key the user
// probably meant.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
