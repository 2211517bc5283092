package workflows

import (
	"errors"
	"fmt"
	"time"

	"github.com/cloudflow/cloudflow/activities"
)

// Stack workflow type names (part of the public contract). A Stack is the
// long-lived workflow that owns one spec (the entity pattern); ApplyStack is
// the child that carries out one of its plans, so that the stack's own
// history stays small.
const (
	StackWorkflowName      = "Stack"
	ApplyStackWorkflowName = "ApplyStack"
)

// Updates a Stack accepts, and its query. Every update is one operation on
// the stack, and operations run one at a time: that is the stack's lock.
const (
	// StackUpdatePlan reads the cloud and answers the StackPlan that would
	// bring it to the request's spec; with Save it keeps the plan in the
	// stack until it is approved or discarded.
	StackUpdatePlan = "plan"
	// StackUpdateApply plans and applies in one step.
	StackUpdateApply = "apply"
	// StackUpdateApprove applies the saved plan, exactly.
	StackUpdateApprove = "approve"
	// StackUpdateDiscard drops the saved plan.
	StackUpdateDiscard = "discard"
	// StackUpdateDestroy deletes what the stack created and ends it.
	StackUpdateDestroy = "destroy"
	// StackUpdateRefresh reads the cloud now and records the drift.
	StackUpdateRefresh = "refresh"
	// StackUpdateSettings changes the stack's settings (the drift refresh interval).
	StackUpdateSettings = "settings"
	// StackQueryState answers the StackState.
	StackQueryState = "state"
)

// Stack statuses, kept in the CloudflowStackStatus search attribute so that
// `temporal workflow list --query "CloudflowStackStatus = 'drifted'"` finds
// stacks by state.
const (
	// StackNew: nothing applied yet.
	StackNew = "new"
	// StackInSync: the cloud matched the spec at the last apply or refresh.
	StackInSync = "in-sync"
	// StackDrifted: the last refresh found differences (StackState.Drift).
	StackDrifted = "drifted"
	// StackApplying and StackDestroying: an operation is changing the cloud.
	StackApplying   = "applying"
	StackDestroying = "destroying"
	// StackAwaitingApproval: a saved plan waits for `stacks approve`.
	StackAwaitingApproval = "awaiting-approval"
	// StackFailed: the last apply or destroy failed (StackState.LastOperation).
	StackFailed = "failed"
	// StackDestroyed: everything the stack created is gone; the run ends.
	StackDestroyed = "destroyed"
)

// Plan actions, per resource.
const (
	ActionCreate = "create"
	// ActionAdopt: the resource exists and the stack did not make it; it
	// becomes the stack's without being changed (unless fields differ, which
	// the same change lists) and is never deleted by it.
	ActionAdopt   = "adopt"
	ActionUpdate  = "update"
	ActionReplace = "replace"
	ActionDelete  = "delete"
	// ActionRelease: an adopted resource left the spec; the stack forgets it
	// and leaves it in the cloud.
	ActionRelease  = "release"
	ActionNoChange = "no-change"
)

// Ownership of a stack's resource.
const (
	OwnershipCreated = "created"
	OwnershipAdopted = "adopted"
)

// IfBusy policies: what an operation does when another one holds the stack.
const (
	IfBusyWait = "wait"
	IfBusyFail = "fail"
)

// ErrTypeStackBusy is the rejection of an operation that asked not to wait
// (IfBusy "fail") while another holds the stack; its message names the
// operation holding it.
const ErrTypeStackBusy = "StackBusy"

// Error types of failed stack operations.
const (
	// ErrTypeStackInvalid: the request cannot be acted on (bad spec, wrong
	// stack, nothing to approve); nothing changed.
	ErrTypeStackInvalid = "StackInvalid"
	// ErrTypeStackRefused: the plan holds a change the request did not allow
	// (a destructive change without AllowDestroy, a stale approved plan);
	// nothing changed. Details hold the StackPlan.
	ErrTypeStackRefused = "StackRefused"
	// ErrTypeStackApplyFailed: an apply or destroy failed part way; details
	// hold the StackOperationResult, with what was done, undone and left.
	ErrTypeStackApplyFailed = "StackApplyFailed"
)

// DefaultStackRefresh is how often a stack re-reads its resources for drift;
// MinStackRefresh is the shortest interval a stack takes.
const (
	DefaultStackRefresh = time.Hour
	MinStackRefresh     = 100 * time.Millisecond
)

// StackSpec is a stack's desired state: the input of one provider's
// provisioning workflow, exactly one of which is set.
type StackSpec struct {
	Provider   string                  `json:"provider"`
	Crusoe     *ProvisionVMInput       `json:"crusoe,omitempty"`
	CloudMC    *ProvisionInstanceInput `json:"cloudmc,omitempty"`
	KraftCloud *DeployInstanceInput    `json:"kraftcloud,omitempty"`
	OpenVZ     *CreateContainerInput   `json:"openvz,omitempty"`
	// Source says where the spec came from (a file name), for people.
	Source string `json:"source,omitempty"`
}

// Name is the stack's name: the spec's main resource.
func (s StackSpec) Name() string {
	switch {
	case s.Crusoe != nil:
		return s.Crusoe.VM.Name
	case s.CloudMC != nil:
		return s.CloudMC.Instance.Name
	case s.KraftCloud != nil:
		return s.KraftCloud.Instance.Name
	case s.OpenVZ != nil:
		return s.OpenVZ.Container.Name
	}
	return ""
}

// Validate checks that exactly the provider's input is set and valid.
func (s StackSpec) Validate() error {
	set := 0
	for _, ok := range []bool{s.Crusoe != nil, s.CloudMC != nil, s.KraftCloud != nil, s.OpenVZ != nil} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return errors.New("spec: exactly one of crusoe, cloudmc, kraftcloud and openvz must be set")
	}
	want := map[string]bool{
		ProviderCrusoe: s.Crusoe != nil, ProviderCloudMC: s.CloudMC != nil,
		ProviderKraftCloud: s.KraftCloud != nil, ProviderOpenVZ: s.OpenVZ != nil,
	}
	if !want[s.Provider] {
		return fmt.Errorf("spec: provider %q does not match the input that is set", s.Provider)
	}
	if s.Name() == "" {
		return errors.New("spec: the main resource has no name")
	}
	switch {
	case s.CloudMC != nil:
		return s.CloudMC.Validate()
	case s.KraftCloud != nil:
		return s.KraftCloud.Validate()
	case s.OpenVZ != nil:
		return s.OpenVZ.Validate()
	}
	return nil
}

// StackID is the workflow ID of the stack of a provider's named spec.
func StackID(provider, name string) string { return "stack-" + provider + "-" + name }

// StackInput starts a Stack, and carries its state across continue-as-new.
type StackInput struct {
	Provider string `json:"provider"`
	Name     string `json:"name"`
	// Settings apply from the start; an update can change them.
	Settings StackSettings `json:"settings,omitzero"`
	// State is the state a continued run resumes from; nil for a new stack.
	State *StackState `json:"state,omitempty"`
	// Indexed says the server knows cloudflow's search attributes (see
	// SearchAttributeTypes): the stack then keeps CloudflowStackStatus and
	// CloudflowResources current. Upserting an attribute the server does not
	// know would fail the stack's workflow tasks.
	Indexed bool `json:"indexed,omitempty"`
}

// StackSettings are a stack's own settings.
type StackSettings struct {
	// RefreshInterval is how often the stack re-reads its resources for
	// drift: zero means DefaultStackRefresh.
	RefreshInterval time.Duration `json:"refreshInterval,omitempty"`
	// RefreshOff turns the periodic drift refresh off.
	RefreshOff bool `json:"refreshOff,omitempty"`
}

func (s StackSettings) interval() time.Duration {
	if s.RefreshInterval > 0 {
		return s.RefreshInterval
	}
	return DefaultStackRefresh
}

// StackState is what a stack knows: the last applied spec, the resources it
// owns with what it last observed of them, the drift, the saved plan, and
// the operation running now. It is the answer to the "state" query.
type StackState struct {
	Provider string        `json:"provider"`
	Name     string        `json:"name"`
	Status   string        `json:"status"`
	Settings StackSettings `json:"settings,omitzero"`
	// Spec is the last applied spec; nil before the first apply.
	Spec *StackSpec `json:"spec,omitempty"`
	// Resources are the stack's resources, in dependency order.
	Resources []StackResource `json:"resources,omitempty"`
	// Drift lists what the last refresh found different from Spec:
	// resources changed or deleted behind the stack's back.
	Drift       []PlanChange `json:"drift,omitempty"`
	LastRefresh time.Time    `json:"lastRefresh,omitzero"`
	// PendingPlan is the saved plan waiting for approval.
	PendingPlan *StackPlan `json:"pendingPlan,omitempty"`
	// Operation is the operation holding the stack now; nil when idle.
	Operation *StackOperation `json:"operation,omitempty"`
	// LastOperation is the last apply, approval or destroy, with its outcome.
	LastOperation *StackOperation `json:"lastOperation,omitempty"`
	// Sequence numbers the stack's operations and plans.
	Sequence int `json:"sequence"`
}

// Resource finds one of the stack's resources by key.
func (s *StackState) Resource(key string) (StackResource, bool) {
	for _, r := range s.Resources {
		if r.Key == key {
			return r, true
		}
	}
	return StackResource{}, false
}

// StackResource is one resource a stack owns: made by it (created) or found
// and taken over (adopted), with what the cloud last reported of it.
type StackResource struct {
	// Key identifies the resource in the spec: "<kind>/<name>".
	Key       string `json:"key"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	ID        string `json:"id,omitempty"`
	Ownership string `json:"ownership"`
	State     string `json:"state,omitempty"`
	// Attrs are the fields a plan compares, in canonical form.
	Attrs map[string]string `json:"attrs,omitempty"`
	// Outputs are what the cloud reports for people and scripts: addresses,
	// an SSH destination, an FQDN.
	Outputs map[string]string `json:"outputs,omitempty"`
	// Applied holds digests of the write-only fields (an SSH key, a startup
	// script, env) as last applied: the cloud does not report them back.
	Applied map[string]string `json:"applied,omitempty"`
}

// StackPlan is what an apply would do, per resource.
type StackPlan struct {
	// ID is "plan-<n>", unique within the stack.
	ID      string       `json:"id"`
	Spec    StackSpec    `json:"spec"`
	Changes []PlanChange `json:"changes"`
	// Basis is a digest of what the plan was made against (each resource's
	// ID and observed fields): an approval re-reads the cloud and refuses
	// the plan when it no longer matches.
	Basis string `json:"basis"`
	// Against is what the cloud reported when the plan was made, so that a
	// refused approval can say which resources changed since.
	Against   []activities.Observed `json:"against,omitempty"`
	CreatedAt time.Time             `json:"createdAt"`
}

// Pending reports whether the plan changes anything.
func (p StackPlan) Pending() bool {
	for _, c := range p.Changes {
		if c.Action != ActionNoChange {
			return true
		}
	}
	return false
}

// Destructive lists the changes that delete or shrink something.
func (p StackPlan) Destructive() []PlanChange {
	var out []PlanChange
	for _, c := range p.Changes {
		if c.Destructive {
			out = append(out, c)
		}
	}
	return out
}

// PlanChange is what a plan does to one resource.
type PlanChange struct {
	Key    string `json:"key"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	ID     string `json:"id,omitempty"`
	Action string `json:"action"`
	// Fields lists the fields that change, old → new (update, replace, and
	// an adopt whose fields differ from the spec).
	Fields []FieldChange `json:"fields,omitempty"`
	// Destructive marks a change that deletes or shrinks something.
	Destructive bool `json:"destructive,omitempty"`
	// Note says what else the change implies ("the vm stops for a type
	// change") or why it is needed ("deleted outside cloudflow").
	Note string `json:"note,omitempty"`
}

// FieldChange is one field that changes.
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
	// Replace: the cloud cannot change this field in place.
	Replace bool `json:"replace,omitempty"`
	// Destructive: the change loses data (a shrink).
	Destructive bool `json:"destructive,omitempty"`
}

// StackOperation is one operation on a stack.
type StackOperation struct {
	// ID is "<kind>-<n>"; UpdateID the Temporal update that asked for it.
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	UpdateID string    `json:"updateId,omitempty"`
	Started  time.Time `json:"started"`
	// Run is the ApplyStack child carrying it out, when there is one.
	Run      string    `json:"run,omitempty"`
	Finished time.Time `json:"finished,omitzero"`
	Outcome  string    `json:"outcome,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// Operation outcomes.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"
	OutcomeRefused   = "refused"
)

// StackPlanRequest asks for a plan; Save keeps it for approval.
type StackPlanRequest struct {
	Spec   StackSpec `json:"spec"`
	Save   bool      `json:"save,omitempty"`
	IfBusy string    `json:"ifBusy,omitempty"`
}

// StackApplyRequest asks for a plan to be made and applied.
type StackApplyRequest struct {
	Spec StackSpec `json:"spec"`
	// AllowDestroy lets the apply replace, delete or shrink.
	AllowDestroy bool `json:"allowDestroy,omitempty"`
	// Basis, when set, is the Basis of the plan the caller showed and had
	// approved: the apply refuses when the plan it makes differs.
	Basis  string `json:"basis,omitempty"`
	IfBusy string `json:"ifBusy,omitempty"`
}

// StackApproveRequest approves the saved plan; PlanID, when set, must name it.
type StackApproveRequest struct {
	PlanID string `json:"planId,omitempty"`
	IfBusy string `json:"ifBusy,omitempty"`
}

// StackDestroyRequest asks the stack to delete what it created, in reverse
// dependency order; IncludeAdopted deletes what it adopted too.
type StackDestroyRequest struct {
	IncludeAdopted bool   `json:"includeAdopted,omitempty"`
	IfBusy         string `json:"ifBusy,omitempty"`
}

// StackRefreshRequest asks for a drift refresh now.
type StackRefreshRequest struct {
	IfBusy string `json:"ifBusy,omitempty"`
}

// StackSettingsRequest changes the stack's settings.
type StackSettingsRequest struct {
	Settings StackSettings `json:"settings"`
}

// StackOperationResult is what an operation did: the plan it made or
// applied, and the stack's state after it.
type StackOperationResult struct {
	Operation StackOperation `json:"operation"`
	Plan      *StackPlan     `json:"plan,omitempty"`
	// Apply is what the ApplyStack child did, when one ran.
	Apply *ApplyStackResult `json:"apply,omitempty"`
	State StackState        `json:"state"`
}

// ApplyStackInput is the input of the ApplyStack child: the plan to carry
// out against the resources the stack holds.
type ApplyStackInput struct {
	Provider string `json:"provider"`
	Name     string `json:"name"`
	// Spec is the desired spec; for a destroy, the stack's last spec.
	Spec      StackSpec       `json:"spec"`
	Changes   []PlanChange    `json:"changes"`
	Resources []StackResource `json:"resources,omitempty"`
	// Destroy deletes the resources Changes marks for deletion and nothing else.
	Destroy bool `json:"destroy,omitempty"`
}

// ApplyStackResult is what an ApplyStack run did.
type ApplyStackResult struct {
	// Resources are the stack's resources after the run, as observed.
	Resources []StackResource `json:"resources,omitempty"`
	// Done lists the changes carried out; Failed those that were not, with why.
	Done   []PlanChange  `json:"done,omitempty"`
	Failed []PlanFailure `json:"failed,omitempty"`
	// Undone and NotUndone are what the run's saga removed of what it had
	// made, and what it could not remove (by name and ID).
	Undone    []string      `json:"undone,omitempty"`
	NotUndone []UndoFailure `json:"notUndone,omitempty"`
	Steps     []Step        `json:"steps"`
}

// PlanFailure is a change an apply could not make.
type PlanFailure struct {
	Key   string `json:"key"`
	Error string `json:"error"`
}
