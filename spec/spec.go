// Package spec reads the spec files users write (Crusoe VMs, KraftCloud
// instances) and turns them into workflow inputs, rejecting every mistake it
// can find before anything starts.
package spec

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/internal/input"
)

// ProviderCrusoe names Crusoe in a spec's provider field: a VM spec, for
// `cloudflow vm` (ProviderKraftCloud specs are for `cloudflow instances`).
const ProviderCrusoe = "crusoe"

// Limits of the spec format.
const (
	MaxDisks         = 8
	MaxFirewallRules = 16
	MaxNameLength    = crusoe.MaxNameLength
	// MaxSpecSize bounds a spec file, whether read from a file or stdin.
	MaxSpecSize = 1 << 20
	// maxFileSize bounds the files a spec refers to: they travel in the
	// workflow input, and Temporal rejects payloads of a few megabytes.
	maxFileSize = 1 << 20
)

// VMSpec is a parsed spec file: one VM with its data disks and firewall rules.
// Files the spec refers to (sshPublicKeyFile, startupScriptFile) have already
// been read into the matching value fields.
type VMSpec struct {
	Provider      string         `yaml:"provider" json:"provider"`
	Project       string         `yaml:"project,omitempty" json:"project,omitempty"`
	VM            VM             `yaml:"vm" json:"vm"`
	Disks         []Disk         `yaml:"disks,omitempty" json:"disks,omitempty"`
	FirewallRules []FirewallRule `yaml:"firewallRules,omitempty" json:"firewallRules,omitempty"`
	Timeouts      Timeouts       `yaml:"timeouts,omitempty" json:"timeouts,omitempty"`

	// Source names where the spec came from: a path, or "-" for stdin.
	Source string `yaml:"-" json:"-"`
}

// VM is the vm section of a spec.
type VM struct {
	Name               string `yaml:"name" json:"name"`
	Type               string `yaml:"type" json:"type"`
	Location           string `yaml:"location" json:"location"`
	Image              string `yaml:"image,omitempty" json:"image,omitempty"`
	SSHPublicKey       string `yaml:"sshPublicKey,omitempty" json:"sshPublicKey,omitempty"`
	SSHPublicKeyFile   string `yaml:"sshPublicKeyFile,omitempty" json:"sshPublicKeyFile,omitempty"`
	StartupScript      string `yaml:"startupScript,omitempty" json:"startupScript,omitempty"`
	StartupScriptFile  string `yaml:"startupScriptFile,omitempty" json:"startupScriptFile,omitempty"`
	ShutdownScript     string `yaml:"shutdownScript,omitempty" json:"shutdownScript,omitempty"`
	ShutdownScriptFile string `yaml:"shutdownScriptFile,omitempty" json:"shutdownScriptFile,omitempty"`
}

// Disk is one entry of the disks section. Name is the short name; the disk
// made in the cloud is called "<vm>-<name>".
type Disk struct {
	Name string `yaml:"name" json:"name"`
	Size string `yaml:"size" json:"size"`
	Type string `yaml:"type,omitempty" json:"type,omitempty"`
	Mode string `yaml:"mode,omitempty" json:"mode,omitempty"`
}

// FirewallRule is one entry of the firewallRules section. Name is the short
// name; the rule made in the cloud is called "<vm>-<name>".
type FirewallRule struct {
	Name             string   `yaml:"name" json:"name"`
	VPCNetwork       string   `yaml:"vpcNetwork,omitempty" json:"vpcNetwork,omitempty"`
	VPCNetworkID     string   `yaml:"vpcNetworkId,omitempty" json:"vpcNetworkId,omitempty"`
	Direction        string   `yaml:"direction" json:"direction"`
	Action           string   `yaml:"action,omitempty" json:"action,omitempty"`
	Protocols        []string `yaml:"protocols" json:"protocols"`
	Sources          []string `yaml:"sources" json:"sources"`
	Destinations     []string `yaml:"destinations" json:"destinations"`
	DestinationPorts []string `yaml:"destinationPorts,omitempty" json:"destinationPorts,omitempty"`
	SourcePorts      []string `yaml:"sourcePorts,omitempty" json:"sourcePorts,omitempty"`
}

// Timeouts is the timeouts section; zero means the workflow's default.
type Timeouts struct {
	Operation time.Duration `yaml:"operation,omitempty" json:"operation,omitempty"`
	Heartbeat time.Duration `yaml:"heartbeat,omitempty" json:"heartbeat,omitempty"`
	// Undo bounds how long an undo or a deprovision retries a failed delete.
	Undo time.Duration `yaml:"undo,omitempty" json:"undo,omitempty"`
}

// Load reads and parses the spec file at path; "-" reads standard input.
// A spec with problems yields an Errors value listing all of them.
func Load(path string) (*VMSpec, error) {
	return load(path, Parse)
}

// load reads the spec file at path, "-" standard input, and parses it.
func load[S any](path string, parse func(data []byte, source string) (*S, error)) (*S, error) {
	data, err := ReadInput(path, os.Stdin)
	if err != nil {
		return nil, err
	}
	return parse(data, path)
}

// ReadInput reads a spec file, or stdin when path is "-", stopping with an
// *input.TooLargeError that names it past MaxSpecSize.
func ReadInput(path string, stdin io.Reader) ([]byte, error) {
	data, err := input.ReadFile(path, stdin, InputName(path), MaxSpecSize)
	if err != nil && !input.IsTooLarge(err) {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	return data, err
}

// readSpec reads a spec file; "-" reads standard input.
func readSpec(path string) ([]byte, error) { return ReadInput(path, os.Stdin) }

// InputName is how messages name the spec at path: "spec FILE", or "spec on
// standard input" for "-".
func InputName(path string) string {
	if path == input.Stdin {
		return "spec on standard input"
	}
	return "spec " + path
}

// readReferenced reads a file a spec refers to, at most limit bytes. Fuzz
// tests replace it, so that a generated spec reads no real file.
var readReferenced = func(path string, limit int64) ([]byte, error) {
	return input.ReadFile(path, nil, path, limit)
}

// Parse parses a spec from data, YAML or JSON. source names the data in
// messages and anchors relative file paths in the spec: files are looked up
// beside it, or in the working directory when source is "" or "-" (stdin).
// A spec with problems yields an Errors value listing all of them, in file order.
func Parse(data []byte, source string) (*VMSpec, error) {
	return parse(data, source, (*decoder).decode, (*decoder).validate)
}

// parse decodes a spec from data with decode and, when there is one, checks
// it with validate; the problems come in file order.
func parse[S any](data []byte, source string, decode func(*decoder, []byte) *S, validate func(*decoder, *S)) (*S, error) {
	d := newDecoder(source)
	s := decode(d, data)
	if s == nil {
		return nil, d.errs.sorted()
	}
	validate(d, s)
	if len(d.errs) > 0 {
		return nil, d.errs.sorted()
	}
	return s, nil
}
