package workflows

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cloudflow/cloudflow/activities"
)

// CloudMC workflow type names (part of the public contract).
const (
	ProvisionInstanceWorkflowName   = "ProvisionInstance"
	DeprovisionInstanceWorkflowName = "DeprovisionInstance"
)

// ProviderCloudMC names CloudMC in plans and search attributes.
const ProviderCloudMC = "cloudmc"

// CloudMC kinds used in steps and results, besides KindInstance and
// KindVolume: a data volume's attachment to the instance, an ingress rule,
// and the lookup of the disk offering the volume is made from.
const (
	KindVolumeAttachment = "volume-attachment"
	KindIngressRule      = "ingress-rule"
	KindDiskOffering     = "disk-offering"
)

// cmcDiskOfferingChange is the workflow.GetVersion change ID of volumes
// made from a disk offering: version 1 looks the offering up first, before
// anything is created, and creates the volume from it.
const cmcDiskOfferingChange = "cloudmc-disk-offering"

// Error types of the CloudMC workflows; their details hold the
// ProvisionInstanceResult or DeprovisionInstanceResult.
const (
	ErrTypeProvisionInstanceFailed   = "ProvisionInstanceFailed"
	ErrTypeDeprovisionInstanceFailed = "DeprovisionInstanceFailed"
)

// ProvisionInstanceInput describes a CloudMC instance with, optionally, a
// data volume attached to it and ingress rules opened to it. Names are final
// (the spec layer derives "<instance>-<volume>"); every create is idempotent
// by name, and a rule by its fields. IDs name the environment's compute
// offering, network and template; credentials stay with the worker.
type ProvisionInstanceInput struct {
	Instance CloudMCInstanceSpec `json:"instance"`
	// Volume, when set, is created alongside the instance and attached to it.
	Volume *CloudMCVolumeSpec `json:"volume,omitempty"`
	// IngressRules are opened on the instance's network once the volume is
	// attached, in parallel.
	IngressRules []CloudMCIngressRuleSpec `json:"ingressRules,omitempty"`
	// Timeouts.Operation bounds the wait for each task.
	Timeouts Timeouts `json:"timeouts,omitempty"`
}

// CloudMCInstanceSpec is the instance of ProvisionInstanceInput.
type CloudMCInstanceSpec struct {
	Name              string `json:"name"`
	ComputeOfferingID string `json:"computeOfferingId"`
	NetworkID         string `json:"networkId"`
	TemplateID        string `json:"templateId"`
}

// CloudMCVolumeSpec is the data volume of ProvisionInstanceInput. CloudMC
// makes a volume from a disk offering: DiskOffering names it, by ID or name,
// and SizeGB is the size for a custom-size offering (and only for one).
// Without a DiskOffering, as inputs from before had it, the environment's
// custom-size offering makes a volume of SizeGB.
type CloudMCVolumeSpec struct {
	Name         string `json:"name"`
	DiskOffering string `json:"diskOffering,omitempty"`
	SizeGB       int    `json:"sizeGb,omitempty"`
}

// diskOfferingRef names the disk offering in the lookup step.
func (v CloudMCVolumeSpec) diskOfferingRef() string {
	return firstNonEmpty(v.DiskOffering, "custom-size")
}

// CloudMCIngressRuleSpec is one ingress rule: Protocol "tcp", "udp" or
// "icmp", the ports StartPort to EndPort (EndPort zero: StartPort alone;
// none for icmp) and the source CIDR. The rule opens on the instance's
// network. Rules have no names: their fields identify them.
type CloudMCIngressRuleSpec struct {
	Protocol  string `json:"protocol"`
	StartPort int    `json:"startPort,omitempty"`
	EndPort   int    `json:"endPort,omitempty"`
	CIDR      string `json:"cidr"`
}

// Label names the rule in steps and messages: "tcp-22-0.0.0.0/0",
// "tcp-8000-8080-10.0.0.0/8", "icmp-0.0.0.0/0".
func (r CloudMCIngressRuleSpec) Label() string {
	p := strings.ToLower(r.Protocol)
	switch {
	case r.StartPort != 0 && (r.EndPort == 0 || r.EndPort == r.StartPort):
		p += fmt.Sprintf("-%d", r.StartPort)
	case r.StartPort != 0:
		p += fmt.Sprintf("-%d-%d", r.StartPort, r.EndPort)
	}
	return p + "-" + r.CIDR
}

func (r CloudMCIngressRuleSpec) rule(networkID string) activities.CloudMCRule {
	return activities.CloudMCRule{NetworkID: networkID, Protocol: r.Protocol, StartPort: r.StartPort, EndPort: r.EndPort, CIDR: r.CIDR}
}

// ProvisionInstanceResult is what ProvisionInstance made. On failure it is
// attached to the workflow's error (type ProvisionInstanceFailed) as
// details, as ProvisionVMResult is. Volume is absent when none was asked for.
type ProvisionInstanceResult struct {
	Instance     Resource   `json:"instance"`
	Volume       Resource   `json:"volume,omitzero"`
	IngressRules []Resource `json:"ingressRules,omitempty"`
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
func (r ProvisionInstanceResult) FailedStepName() string { return r.FailedStep }

// DeprovisionInstanceInput names what to remove: the ingress rules, the
// volume (detached first) and the instance. Whatever is already gone counts
// as deleted.
type DeprovisionInstanceInput struct {
	InstanceName string `json:"instanceName"`
	VolumeName   string `json:"volumeName,omitempty"`
	// IngressRules are found by their fields on the network NetworkID (any
	// network when empty).
	IngressRules []CloudMCIngressRuleSpec `json:"ingressRules,omitempty"`
	NetworkID    string                   `json:"networkId,omitempty"`
	Timeouts     Timeouts                 `json:"timeouts,omitempty"`
}

// DeprovisionInstanceResult reports what was deleted and what was already
// gone. It has the shape of DeprovisionVMResult.
type DeprovisionInstanceResult struct {
	Deleted     []Resource `json:"deleted,omitempty"`
	AlreadyGone []Resource `json:"alreadyGone,omitempty"`
	Steps       []Step     `json:"steps"`
}

// Validate reports every field the workflow cannot act on. The spec layer
// checks far more, with lines and fixes; this guards other callers.
func (in ProvisionInstanceInput) Validate() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	i := in.Instance
	if i.Name == "" || i.ComputeOfferingID == "" || i.NetworkID == "" || i.TemplateID == "" {
		bad("instance.name, instance.computeOfferingId, instance.networkId and instance.templateId are required")
	}
	if v := in.Volume; v != nil && (v.Name == "" || v.SizeGB < 0 || (v.DiskOffering == "" && v.SizeGB == 0)) {
		bad("volume needs a name and a diskOffering (with a positive sizeGb when it is custom-size), or a positive sizeGb for the custom-size offering")
	}
	ruleProblems(in.IngressRules, bad)
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// ruleProblems reports, through bad, every rule the cloud cannot take.
func ruleProblems(rules []CloudMCIngressRuleSpec, bad func(string, ...any)) {
	seen := map[string]int{}
	for i, r := range rules {
		switch strings.ToLower(r.Protocol) {
		case "tcp", "udp":
			end := r.EndPort
			if end == 0 {
				end = r.StartPort
			}
			if r.StartPort < 1 || end < r.StartPort || end > 65535 {
				bad("ingressRules[%d]: ports must be a range within 1-65535", i)
			}
		case "icmp":
			if r.StartPort != 0 || r.EndPort != 0 {
				bad("ingressRules[%d]: an icmp rule takes no ports", i)
			}
		default:
			bad("ingressRules[%d]: protocol must be tcp, udp or icmp", i)
		}
		if r.CIDR == "" {
			bad("ingressRules[%d]: cidr is required", i)
		}
		if first, dup := seen[r.Label()]; dup {
			bad("ingressRules[%d] is the same rule as ingressRules[%d]", i, first)
		}
		seen[r.Label()] = i
	}
}

// Validate reports every field the workflow cannot act on.
func (in DeprovisionInstanceInput) Validate() error {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if in.InstanceName == "" {
		bad("instanceName is required")
	}
	ruleProblems(in.IngressRules, bad)
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}
