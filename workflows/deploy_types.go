package workflows

import (
	"errors"
	"fmt"
	"strings"
)

// KraftCloud deployment workflow type names (part of the public contract).
const (
	DeployInstanceWorkflowName   = "DeployInstance"
	UndeployInstanceWorkflowName = "UndeployInstance"
)

// DeployInstanceInput describes a KraftCloud instance with, optionally, a
// volume mounted in it and a service group publishing it. Names are final
// (the spec layer derives "<instance>-<name>"); every create is idempotent by
// name. Instance.Env may hold secrets: it travels in the input, which the
// payload codec (CLOUDFLOW_PAYLOAD_KEY) seals.
type DeployInstanceInput struct {
	// Volume, when set, is created first and mounted in the instance.
	Volume *KraftCloudVolumeSpec `json:"volume,omitempty"`
	// ServiceGroup, when set, is created alongside the volume and the
	// instance joins it.
	ServiceGroup *KraftCloudServiceGroupSpec `json:"serviceGroup,omitempty"`
	Instance     KraftCloudInstanceSpec      `json:"instance"`
	// Timeouts.Operation bounds the wait for the instance to be running.
	Timeouts Timeouts `json:"timeouts,omitempty"`
}

// KraftCloudVolumeSpec is the volume of DeployInstanceInput.
type KraftCloudVolumeSpec struct {
	Name   string `json:"name"`
	SizeMB int    `json:"sizeMb"`
	// At is the absolute path the volume is mounted at in the instance.
	At       string `json:"at"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// KraftCloudServiceGroupSpec is the service group of DeployInstanceInput.
type KraftCloudServiceGroupSpec struct {
	Name     string                  `json:"name"`
	Services []KraftCloudServiceSpec `json:"services"`
	// Domains are extra domain names the group answers on.
	Domains []string `json:"domains,omitempty"`
}

// KraftCloudServiceSpec publishes Port and forwards it to DestinationPort
// (Port when zero) through Handlers ("tls", "http", "redirect").
type KraftCloudServiceSpec struct {
	Port            int      `json:"port"`
	DestinationPort int      `json:"destinationPort,omitempty"`
	Handlers        []string `json:"handlers,omitempty"`
}

// KraftCloudInstanceSpec is the instance of DeployInstanceInput. Zero
// MemoryMB and VCPUs take the cloud's defaults.
type KraftCloudInstanceSpec struct {
	Name     string            `json:"name"`
	Image    string            `json:"image"`
	MemoryMB int               `json:"memoryMb,omitempty"`
	VCPUs    int               `json:"vcpus,omitempty"`
	Args     []string          `json:"args,omitempty"`
	Env      map[string]string `json:"env,omitempty"`
}

// DeployInstanceResult is what DeployInstance made. On failure it is attached
// to the workflow's error (type DeployInstanceFailed) as details, as
// ProvisionVMResult is. Volume and ServiceGroup are absent when the input
// asked for none.
type DeployInstanceResult struct {
	Volume       Resource `json:"volume,omitzero"`
	ServiceGroup Resource `json:"serviceGroup,omitzero"`
	Instance     Resource `json:"instance"`
	// FQDN is the instance's public name, when the cloud gave it one.
	FQDN string `json:"fqdn,omitempty"`
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
func (r DeployInstanceResult) FailedStepName() string { return r.FailedStep }

// UndeployInstanceInput names what to delete: the instance, then its
// service group and volume (when named). Whatever is already gone counts as
// deleted.
type UndeployInstanceInput struct {
	InstanceName     string   `json:"instanceName"`
	ServiceGroupName string   `json:"serviceGroupName,omitempty"`
	VolumeName       string   `json:"volumeName,omitempty"`
	Timeouts         Timeouts `json:"timeouts,omitempty"`
}

// UndeployInstanceResult reports what was deleted and what was already
// gone. It has the shape of DeprovisionVMResult.
type UndeployInstanceResult struct {
	Deleted     []Resource `json:"deleted,omitempty"`
	AlreadyGone []Resource `json:"alreadyGone,omitempty"`
	Steps       []Step     `json:"steps"`
}

// Validate reports every field the workflow cannot act on. The spec layer
// checks far more, with lines and fixes; this guards other callers.
func (in DeployInstanceInput) Validate() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if in.Instance.Name == "" {
		bad("instance.name is required")
	}
	if in.Instance.Image == "" {
		bad("instance.image is required")
	}
	if in.Instance.MemoryMB < 0 || in.Instance.VCPUs < 0 {
		bad("instance.memoryMb and instance.vcpus must not be negative")
	}
	if v := in.Volume; v != nil {
		if v.Name == "" || v.SizeMB <= 0 || !strings.HasPrefix(v.At, "/") {
			bad("volume needs a name, a positive sizeMb and an absolute mount path (at)")
		}
	}
	if g := in.ServiceGroup; g != nil {
		if g.Name == "" {
			bad("serviceGroup.name is required")
		}
		for i, s := range g.Services {
			if s.Port < 1 || s.Port > 65535 || s.DestinationPort < 0 || s.DestinationPort > 65535 {
				bad("serviceGroup.services[%d]: ports must be 1-65535", i)
			}
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}
