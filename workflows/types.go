// Package workflows holds cloudflow's Temporal workflows, their input and result
// types, and the saga and progress helpers they share.
package workflows

import "time"

// TaskQueue is the task queue every cloudflow worker polls and every starter uses.
const TaskQueue = "cloudflow"

// Workflow type names. They are part of the public contract: services in other
// languages start workflows by these names.
const (
	ProvisionVMWorkflowName   = "ProvisionVM"
	DeprovisionVMWorkflowName = "DeprovisionVM"
)

// ProgressQuery is the name of the query every cloudflow workflow answers with
// its Progress.
const ProgressQuery = "progress"

// ProvisionVMInput describes a Crusoe VM with its data disks and firewall rules.
// It carries names and settings only: credentials live with the worker.
// Resource names are final: the spec layer derives them (see spec package), and
// every create is idempotent by name.
type ProvisionVMInput struct {
	// ProjectID overrides the worker's default Crusoe project when set.
	ProjectID string `json:"projectId,omitempty"`
	VM        VMSpec `json:"vm"`
	// Disks are created in parallel, before the VM, and attached to it at creation.
	Disks []DiskSpec `json:"disks,omitempty"`
	// FirewallRules that do not target the VM are created in parallel with the
	// disks and the VM; those that do are created once the VM exists.
	FirewallRules []FirewallRuleSpec `json:"firewallRules,omitempty"`
	// Timeouts tunes the activity time limits; zero values take the defaults.
	Timeouts Timeouts `json:"timeouts,omitempty"`
}

// VMSpec is the VM part of ProvisionVMInput.
type VMSpec struct {
	Name          string `json:"name"`
	Type          string `json:"type"`
	Location      string `json:"location"`
	Image         string `json:"image,omitempty"`
	SSHPublicKey  string `json:"sshPublicKey"`
	StartupScript string `json:"startupScript,omitempty"`
	// ShutdownScript runs when the VM stops.
	ShutdownScript string `json:"shutdownScript,omitempty"`
}

// DiskSpec is one data disk of ProvisionVMInput.
type DiskSpec struct {
	Name string `json:"name"`
	// Size in the API's format, e.g. "10GiB" or "1TiB".
	Size string `json:"size"`
	// Type is "persistent-ssd" (the default) or "shared-volume".
	Type string `json:"type,omitempty"`
	// Mode is "read-write" (the default) or "read-only".
	Mode string `json:"mode,omitempty"`
}

// FirewallRuleSpec is one VPC firewall rule of ProvisionVMInput.
type FirewallRuleSpec struct {
	Name string `json:"name"`
	// VPCNetworkID is the rule's network. When empty the network named by
	// VPCNetwork (default "default") is looked up.
	VPCNetworkID string `json:"vpcNetworkId,omitempty"`
	VPCNetwork   string `json:"vpcNetwork,omitempty"`
	// Direction is "ingress" or "egress"; Action "allow" or "deny".
	Direction string   `json:"direction"`
	Action    string   `json:"action"`
	Protocols []string `json:"protocols"`
	// Sources and Destinations are CIDRs. The word "vm" stands for the VM being
	// provisioned, which makes the rule wait for the VM.
	Sources          []string `json:"sources"`
	Destinations     []string `json:"destinations"`
	SourcePorts      []string `json:"sourcePorts,omitempty"`
	DestinationPorts []string `json:"destinationPorts,omitempty"`
}

// TargetVM is the address keyword that stands for the VM in a firewall rule.
const TargetVM = "vm"

// TargetsVM reports whether the rule refers to the VM being provisioned.
func (r FirewallRuleSpec) TargetsVM() bool {
	for _, a := range append(append([]string(nil), r.Sources...), r.Destinations...) {
		if a == TargetVM {
			return true
		}
	}
	return false
}

// Timeouts tunes how long steps may take. Zero values take the defaults in
// options.go, which suit real clouds; tests shorten them.
type Timeouts struct {
	// Operation bounds the wait for one asynchronous cloud operation.
	Operation time.Duration `json:"operation,omitempty"`
	// Heartbeat is how long a waiting activity may go silent before Temporal
	// retries it on another worker.
	Heartbeat time.Duration `json:"heartbeat,omitempty"`
	// Undo is how long an undo, or a deprovision, goes on retrying a delete
	// that failed (a failed delete operation included), backing off, before
	// it reports the resource as left behind.
	Undo time.Duration `json:"undo,omitempty"`
}

// ProvisionVMResult is what ProvisionVM made. On failure it is attached to the
// workflow's error as details, so callers still learn what was undone and what
// could not be.
type ProvisionVMResult struct {
	VM            Resource   `json:"vm"`
	Disks         []Resource `json:"disks,omitempty"`
	FirewallRules []Resource `json:"firewallRules,omitempty"`
	// Steps is the final progress of every step, undo steps included.
	Steps []Step `json:"steps"`
	// FailedStep names the step that failed, when one did.
	FailedStep string `json:"failedStep,omitempty"`
	// Undone lists the resources the saga removed; NotUndone those it could not,
	// by name, with the reason.
	Undone    []string      `json:"undone,omitempty"`
	NotUndone []UndoFailure `json:"notUndone,omitempty"`
}

// Resource identifies one cloud resource a workflow made or acted on.
type Resource struct {
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	ID    string `json:"id,omitempty"`
	State string `json:"state,omitempty"`
	// Existed is true when the resource was there before this run: it was
	// adopted, not created, and compensation leaves it alone.
	Existed bool `json:"existed,omitempty"`
}

// UndoFailure names a resource the saga could not remove.
type UndoFailure struct {
	Step  string `json:"step"`
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	ID    string `json:"id,omitempty"`
	Error string `json:"error"`
}

// DeprovisionVMInput names what to delete. Names are resolved to IDs by lookup;
// resources already gone count as deleted.
type DeprovisionVMInput struct {
	ProjectID     string   `json:"projectId,omitempty"`
	VMName        string   `json:"vmName"`
	DiskNames     []string `json:"diskNames,omitempty"`
	FirewallRules []string `json:"firewallRules,omitempty"`
	Timeouts      Timeouts `json:"timeouts,omitempty"`
}

// DeprovisionVMResult reports what was deleted and what was already gone.
type DeprovisionVMResult struct {
	Deleted     []Resource `json:"deleted,omitempty"`
	AlreadyGone []Resource `json:"alreadyGone,omitempty"`
	Steps       []Step     `json:"steps"`
}

// Step states reported by the progress query.
const (
	StepPending = "pending"
	StepRunning = "running"
	StepDone    = "done"
	StepFailed  = "failed"
	// StepUndoing and StepUndone describe compensation; StepUndoFailed means the
	// resource may still exist and is named in the result.
	StepUndoing    = "undoing"
	StepUndone     = "undone"
	StepUndoFailed = "undo-failed"
	// StepKept marks a step whose resource existed before the run and so was
	// not undone.
	StepKept = "kept"
)

// Step is one unit of work in a workflow's progress.
type Step struct {
	// Name is unique within a run, e.g. "disk/web-1-data".
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Resource string `json:"resource"`
	ID       string `json:"id,omitempty"`
	State    string `json:"state"`
	// OperationID is the cloud operation being waited on while running.
	OperationID string `json:"operationId,omitempty"`
	Error       string `json:"error,omitempty"`
	// UpdatedAt is workflow time (deterministic), not wall-clock time.
	UpdatedAt time.Time `json:"updatedAt"`
}

// Progress is the answer to the progress query.
type Progress struct {
	Workflow string `json:"workflow"`
	// Phase is "running", "compensating", "completed" or "failed".
	Phase string `json:"phase"`
	Steps []Step `json:"steps"`
}

// Resource kinds used in steps and results.
const (
	KindVM           = "vm"
	KindDisk         = "disk"
	KindFirewallRule = "firewall-rule"
	// KraftCloud kinds (DeployInstance, UndeployInstance).
	KindInstance     = "instance"
	KindServiceGroup = "service-group"
	KindVolume       = "volume"
)

// FailedStepName lets callers that only hold the result learn which step failed.
func (r ProvisionVMResult) FailedStepName() string { return r.FailedStep }

// StepCanceled marks a step stopped by cancellation or by another step's failure.
const StepCanceled = "canceled"
