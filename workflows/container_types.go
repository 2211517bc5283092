package workflows

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/cloudflow/cloudflow/clients/openvz"
)

// Container workflow type names (part of the public contract).
const (
	CreateContainerWorkflowName = "CreateContainer"
	DeleteContainerWorkflowName = "DeleteContainer"
)

// ProviderOpenVZ names the container API (OpenVZ v0.1) in plans and
// search attributes.
const ProviderOpenVZ = "openvz"

// Container kinds used in steps and results: the container (its create and
// the wait for its job) and the parameters applied to it.
const (
	KindContainer           = "container"
	KindContainerParameters = "parameters"
)

// Error types of the container workflows; their details hold the
// CreateContainerResult or DeleteContainerResult.
const (
	ErrTypeCreateContainerFailed = "CreateContainerFailed"
	ErrTypeDeleteContainerFailed = "DeleteContainerFailed"
)

// CreateContainerInput describes one container: its name and OS template,
// which the create takes, and the parameters set on it once it exists. The
// name is final; the create is idempotent by name.
type CreateContainerInput struct {
	Container ContainerSpec `json:"container"`
	// Timeouts.Operation bounds the wait for the create's job.
	Timeouts Timeouts `json:"timeouts,omitempty"`
}

// ContainerSpec is the container of CreateContainerInput. Empty parameters
// are not set; when none is given, the container is only created.
type ContainerSpec struct {
	Name       string `json:"name"`
	OSTemplate string `json:"osTemplate"`
	Hostname   string `json:"hostname,omitempty"`
	CPUs       int    `json:"cpus,omitempty"`
	// Memory and Disk are a whole number and a unit, K, M or G: "1G", "512M".
	Memory string `json:"memory,omitempty"`
	Disk   string `json:"disk,omitempty"`
	// IPAddress is an IPv4 address; Nameservers IPv4 addresses.
	IPAddress   string   `json:"ipAddress,omitempty"`
	Nameservers []string `json:"nameservers,omitempty"`
}

// CreateContainerResult is what CreateContainer made. On failure it is
// attached to the workflow's error (type CreateContainerFailed) as details,
// as DeployInstanceResult is.
type CreateContainerResult struct {
	Container Resource `json:"container"`
	// Steps is the final progress of every step, undo steps included.
	Steps []Step `json:"steps"`
	// FailedStep names the step that failed, when one did.
	FailedStep string `json:"failedStep,omitempty"`
	// Undone lists the steps whose resources the saga removed; NotUndone
	// those it could not, by name, with the reason.
	Undone    []string      `json:"undone,omitempty"`
	NotUndone []UndoFailure `json:"notUndone,omitempty"`
}

// FailedStepName lets callers that only hold the result learn which step failed.
func (r CreateContainerResult) FailedStepName() string { return r.FailedStep }

// DeleteContainerInput names the container to delete. A container already
// gone counts as deleted.
type DeleteContainerInput struct {
	Name     string   `json:"name"`
	Timeouts Timeouts `json:"timeouts,omitempty"`
}

// DeleteContainerResult reports what was deleted and what was already gone.
// It has the shape of DeprovisionVMResult.
type DeleteContainerResult struct {
	Deleted     []Resource `json:"deleted,omitempty"`
	AlreadyGone []Resource `json:"alreadyGone,omitempty"`
	Steps       []Step     `json:"steps"`
}

var containerSizeRE = regexp.MustCompile(`^([1-9][0-9]*)([KMG])$`)

// Validate reports every field the workflow cannot act on. The spec layer
// checks the same with lines and fixes; this guards other callers.
func (in CreateContainerInput) Validate() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	c := in.Container
	if c.Name == "" {
		bad("container.name is required")
	}
	if c.OSTemplate == "" {
		bad("container.osTemplate is required")
	}
	if c.CPUs < 0 {
		bad("container.cpus must not be negative")
	}
	for _, f := range [][2]string{{"memory", c.Memory}, {"disk", c.Disk}} {
		if f[1] != "" && !containerSizeRE.MatchString(f[1]) {
			bad("container.%s %q is not a size: want a whole number and K, M or G, e.g. 1G", f[0], f[1])
		}
	}
	if c.IPAddress != "" && !ipv4Address(c.IPAddress) {
		bad("container.ipAddress %q is not an IPv4 address", c.IPAddress)
	}
	for i, ns := range c.Nameservers {
		if !ipv4Address(ns) {
			bad("container.nameservers[%d] %q is not an IPv4 address", i, ns)
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// parameters are the API's parameters for the spec, and whether there are
// any to set. It expects a valid spec.
func (c ContainerSpec) parameters() (openvz.ContainerParameters, bool) {
	p := openvz.ContainerParameters{Hostname: c.Hostname, IPAdd: c.IPAddress, Nameserver: strings.Join(c.Nameservers, ",")}
	if c.CPUs > 0 {
		p.SetCPUs(c.CPUs)
	}
	if m := containerSizeRE.FindStringSubmatch(c.Memory); m != nil {
		p.MemSize, p.MemSizeUnits = m[1], m[2]
	}
	if m := containerSizeRE.FindStringSubmatch(c.Disk); m != nil {
		p.Size, p.SizeUnits = m[1], m[2]
	}
	return p, p != openvz.ContainerParameters{}
}

func ipv4Address(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}
