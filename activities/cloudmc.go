package activities

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
)

// CloudCloudMC names CloudMC in error details.
const CloudCloudMC = "cloudmc"

// CloudMC resource kinds, as activity inputs and messages name them. An
// attachment is a data volume attached to an instance.
const (
	KindCloudMCInstance    = "instance"
	KindCloudMCVolume      = "volume"
	KindCloudMCAttachment  = "volume-attachment"
	KindCloudMCIngressRule = "ingress-rule"
)

// CloudMCActivities calls the CloudMC API, one activity per call. The API key
// lives in Client, on the worker; activity inputs carry names and IDs only.
type CloudMCActivities struct {
	Client *cloudmc.Client
	// Poll paces the waiter; zero means DefaultPollPolicy.
	Poll PollPolicy
}

func (a *CloudMCActivities) ready() error {
	if a == nil || a.Client == nil {
		return notConfigured("CloudMC", "set "+strings.Join([]string{cloudmc.EnvAPIEndpoint, cloudmc.EnvAPIKey,
			cloudmc.EnvServiceCode, cloudmc.EnvEnvironment}, ", "))
	}
	return nil
}

func (a *CloudMCActivities) poll() PollPolicy {
	if a.Poll.Initial <= 0 {
		return DefaultPollPolicy
	}
	return a.Poll
}

// CloudMCCreateResult is what a CloudMC create (or attach) activity started
// or found.
type CloudMCCreateResult struct {
	// TaskID is the task to wait on with CloudMCWaitTask; empty when nothing
	// was started (the resource was found, or the cloud answered at once),
	// and the waiter then reads the resource.
	TaskID string `json:"taskId,omitempty"`
	// ResourceID is the resource's ID when it is known already: it was
	// found, or the answer named it. A create's task gives it otherwise.
	ResourceID string `json:"resourceId,omitempty"`
	State      string `json:"state,omitempty"`
	// Existed is true when the resource (or the attachment) was there before
	// this step first ran: it is adopted, not made, and must not be undone.
	Existed bool `json:"existed,omitempty"`
}

// CloudMCDeleteResult is what a CloudMC delete (or detach) activity started.
type CloudMCDeleteResult struct {
	TaskID     string `json:"taskId,omitempty"`
	ResourceID string `json:"resourceId,omitempty"`
	// AlreadyGone is true when there was nothing to delete (or detach).
	AlreadyGone bool `json:"alreadyGone,omitempty"`
}

// CloudMCRule identifies an ingress rule by what it opens: rules have no
// name, so they are looked up by these fields.
type CloudMCRule struct {
	// NetworkID is the rule's network; empty matches any network on lookup
	// and means the environment's default network on create.
	NetworkID string `json:"networkId,omitempty"`
	// Protocol is TCP, UDP or ICMP, in any case.
	Protocol string `json:"protocol"`
	// StartPort and EndPort bound a TCP or UDP rule's ports; EndPort zero
	// means StartPort alone. ICMP rules take none.
	StartPort int `json:"startPort,omitempty"`
	EndPort   int `json:"endPort,omitempty"`
	// CIDR is the source block, e.g. 0.0.0.0/0.
	CIDR string `json:"cidr"`
}

// normalized is the rule as the cloud stores it: the protocol upper-cased,
// EndPort filled in and the CIDR masked. It fails for a rule the cloud
// would refuse.
func (r CloudMCRule) normalized() (CloudMCRule, error) {
	r.Protocol = strings.ToUpper(strings.TrimSpace(r.Protocol))
	switch r.Protocol {
	case cloudmc.ProtocolTCP, cloudmc.ProtocolUDP:
		if r.EndPort == 0 {
			r.EndPort = r.StartPort
		}
		if r.StartPort < 1 || r.EndPort < r.StartPort || r.EndPort > 65535 {
			return r, invalidInput("ingress rule: ports %d-%d are not a port range within 1-65535", r.StartPort, r.EndPort)
		}
	case cloudmc.ProtocolICMP:
		if r.StartPort != 0 || r.EndPort != 0 {
			return r, invalidInput("ingress rule: an ICMP rule takes no ports")
		}
	default:
		return r, invalidInput("ingress rule: protocol %q is not TCP, UDP or ICMP", r.Protocol)
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(r.CIDR))
	if err != nil {
		return r, invalidInput("ingress rule: cidr %q is not a CIDR block such as 203.0.113.0/24", r.CIDR)
	}
	r.CIDR = p.Masked().String()
	return r, nil
}

// String describes the rule: "TCP 22 from 0.0.0.0/0", "ICMP from 10.0.0.0/8".
func (r CloudMCRule) String() string {
	ports := ""
	switch {
	case r.StartPort != 0 && (r.EndPort == 0 || r.EndPort == r.StartPort):
		ports = fmt.Sprintf(" %d", r.StartPort)
	case r.StartPort != 0:
		ports = fmt.Sprintf(" %d-%d", r.StartPort, r.EndPort)
	}
	return fmt.Sprintf("%s%s from %s", strings.ToUpper(r.Protocol), ports, r.CIDR)
}

// matches reports whether the cloud's rule is this (normalized) rule.
func (r CloudMCRule) matches(x *cloudmc.IngressRule) bool {
	if r.NetworkID != "" && x.NetworkID != "" && x.NetworkID != r.NetworkID {
		return false
	}
	if !strings.EqualFold(x.Protocol, r.Protocol) || maskedCIDR(x.CIDR) != r.CIDR {
		return false
	}
	if r.Protocol == cloudmc.ProtocolICMP {
		return true
	}
	end := x.EndPort
	if end == 0 {
		end = x.StartPort
	}
	return x.StartPort == r.StartPort && end == r.EndPort
}

func maskedCIDR(s string) string {
	if p, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
		return p.Masked().String()
	}
	return s
}

// CloudMCCreateInstanceInput is the input of CloudMCCreateInstance.
type CloudMCCreateInstanceInput struct {
	Name              string `json:"name"`
	ComputeOfferingID string `json:"computeOfferingId"`
	NetworkID         string `json:"networkId"`
	TemplateID        string `json:"templateId"`
}

// CloudMCCreateInstance creates an instance unless one by that name exists
// (DESIGN decision 3). The create marker in the heartbeat tells an instance
// made by an earlier attempt of this step (whose answer was lost) from one
// that was there before. A "name in use" answer (a create that raced this
// one) is resolved by looking the name up.
func (a *CloudMCActivities) CloudMCCreateInstance(ctx context.Context, in CloudMCCreateInstanceInput) (CloudMCCreateResult, error) {
	if err := a.ready(); err != nil {
		return CloudMCCreateResult{}, err
	}
	if in.Name == "" || in.ComputeOfferingID == "" || in.NetworkID == "" || in.TemplateID == "" {
		return CloudMCCreateResult{}, invalidInput("instance name, computeOfferingId, networkId and templateId are required")
	}
	what := "create instance " + in.Name
	find := func() (*cloudmc.Instance, error) {
		i, err := a.findInstance(ctx, "", in.Name)
		if err != nil {
			return nil, lookupError("look up instance "+in.Name, err)
		}
		if i != nil && instanceGoing(i.State) {
			// Adopting it would join its destruction: wait for the name to free up.
			return nil, temporal.NewApplicationError(
				fmt.Sprintf("instance %s is being destroyed; the create waits until it is gone", in.Name), ErrTypeRetryableAPI)
		}
		return i, nil
	}
	adopt := func(i *cloudmc.Instance, existed bool) CloudMCCreateResult {
		return CloudMCCreateResult{ResourceID: i.ID, State: i.State, Existed: existed}
	}
	return cmcCreateOnce(ctx, in.Name, what, find, adopt, func() (*cloudmc.Task, error) {
		return a.Client.Instances.Create(ctx, &cloudmc.InstanceCreateRequest{
			Name: in.Name, ComputeOfferingID: in.ComputeOfferingID, NetworkID: in.NetworkID, TemplateID: in.TemplateID,
		})
	})
}

// CloudMCCreateVolumeInput is the input of CloudMCCreateVolume.
type CloudMCCreateVolumeInput struct {
	Name   string `json:"name"`
	SizeGB int    `json:"sizeGb"`
}

// CloudMCCreateVolume creates a data volume unless one by that name exists;
// see CloudMCCreateInstance for how a retry tells its own volume from one
// that was there before.
func (a *CloudMCActivities) CloudMCCreateVolume(ctx context.Context, in CloudMCCreateVolumeInput) (CloudMCCreateResult, error) {
	if err := a.ready(); err != nil {
		return CloudMCCreateResult{}, err
	}
	if in.Name == "" || in.SizeGB <= 0 {
		return CloudMCCreateResult{}, invalidInput("volume name and a positive sizeGb are required")
	}
	what := "create volume " + in.Name
	find := func() (*cloudmc.Volume, error) {
		v, err := a.findVolume(ctx, "", in.Name)
		if err != nil {
			return nil, lookupError("look up volume "+in.Name, err)
		}
		if v != nil && v.State == cloudmc.VolumeStateDestroying {
			return nil, temporal.NewApplicationError(
				fmt.Sprintf("volume %s is being deleted; the create waits until it is gone", in.Name), ErrTypeRetryableAPI)
		}
		return v, nil
	}
	adopt := func(v *cloudmc.Volume, existed bool) CloudMCCreateResult {
		return CloudMCCreateResult{ResourceID: v.ID, State: v.State, Existed: existed}
	}
	return cmcCreateOnce(ctx, in.Name, what, find, adopt, func() (*cloudmc.Task, error) {
		return a.Client.Volumes.Create(ctx, &cloudmc.VolumeCreateRequest{Name: in.Name, SizeInGB: in.SizeGB})
	})
}

// CloudMCCreateIngressRuleInput is the input of CloudMCCreateIngressRule.
type CloudMCCreateIngressRuleInput struct {
	Rule CloudMCRule `json:"rule"`
}

// CloudMCCreateIngressRule creates an ingress rule unless one with the same
// network, protocol, ports and CIDR exists: rules have no name, so their
// fields are their identity. The cloud refuses a rule that overlaps another;
// when that other is this very rule (a create that raced this one), it is
// adopted, otherwise the refusal is final.
func (a *CloudMCActivities) CloudMCCreateIngressRule(ctx context.Context, in CloudMCCreateIngressRuleInput) (CloudMCCreateResult, error) {
	if err := a.ready(); err != nil {
		return CloudMCCreateResult{}, err
	}
	r, err := in.Rule.normalized()
	if err != nil {
		return CloudMCCreateResult{}, err
	}
	what := "create ingress rule " + r.String()
	find := func() (*cloudmc.IngressRule, error) {
		x, err := a.findRule(ctx, "", r)
		if err != nil {
			return nil, lookupError("look up ingress rule "+r.String(), err)
		}
		if x != nil && strings.EqualFold(x.State, "Revoke") {
			return nil, temporal.NewApplicationError(
				fmt.Sprintf("ingress rule %s is being deleted; the create waits until it is gone", r), ErrTypeRetryableAPI)
		}
		return x, nil
	}
	adopt := func(x *cloudmc.IngressRule, existed bool) CloudMCCreateResult {
		return CloudMCCreateResult{ResourceID: x.ID, State: x.State, Existed: existed}
	}
	return cmcCreateOnce(ctx, "ingress rule "+r.String(), what, find, adopt, func() (*cloudmc.Task, error) {
		return a.Client.IngressRules.Create(ctx, &cloudmc.IngressRuleCreateRequest{
			NetworkID: r.NetworkID, Protocol: r.Protocol, StartPort: r.StartPort, EndPort: r.EndPort, CIDR: r.CIDR,
		})
	})
}

// cmcCreateOnce is createOnce for CloudMC: what find finds under the
// marker key is adopted, as this step's own when an earlier attempt sent the
// create; else create is sent. A "name in use" answer means something holds
// the name after all (a create that raced this one): it is looked up again
// and adopted. When the lookup finds nothing (for a rule: another rule
// overlaps it), the cloud's refusal is final.
func cmcCreateOnce[T any](ctx context.Context, key, what string,
	find func() (*T, error), adopt func(found *T, existed bool) CloudMCCreateResult, create func() (*cloudmc.Task, error),
) (CloudMCCreateResult, error) {
	mine := createWasSent(ctx, key)
	return createOnce(ctx, key, find,
		func(found *T) (CloudMCCreateResult, error) { return adopt(found, !mine), nil },
		func() (CloudMCCreateResult, error) {
			t, err := create()
			var ae *cloudmc.APIError
			if errors.As(err, &ae) && ae.HasCode(cloudmc.ErrCodeNameInUse) {
				if !mine {
					// This attempt's create was refused, so it made nothing:
					// whatever holds the name was not made by this step.
					activity.RecordHeartbeat(ctx, createMarker{})
				}
				found, ferr := find()
				if ferr != nil {
					return CloudMCCreateResult{}, ferr
				}
				if found != nil {
					return adopt(found, !mine), nil
				}
				return CloudMCCreateResult{}, apiError(CloudCloudMC, what, err)
			}
			if err != nil {
				return CloudMCCreateResult{}, apiError(CloudCloudMC, what, err)
			}
			return taskStarted(t), nil
		})
}

// taskStarted shapes the answer of a call that starts a task. An answer the
// cloud completed within the request has no task ID: its data names the
// resource, and the waiter reads it.
func taskStarted(t *cloudmc.Task) CloudMCCreateResult {
	res := CloudMCCreateResult{TaskID: t.ID}
	if t.ID == "" {
		var r struct {
			ID    string `json:"id"`
			State string `json:"state"`
		}
		if t.DecodeResult(&r) == nil {
			res.ResourceID, res.State = r.ID, r.State
		}
	}
	return res
}

// CloudMCAttachVolumeInput is the input of CloudMCAttachVolume.
type CloudMCAttachVolumeInput struct {
	VolumeID   string `json:"volumeId"`
	InstanceID string `json:"instanceId"`
	// VolumeName names the volume in messages.
	VolumeName string `json:"volumeName,omitempty"`
}

// CloudMCAttachVolume attaches a data volume to an instance unless it is
// attached to it already. An attachment found by a retry whose earlier
// attempt sent the attach is this step's own; one found on a first attempt
// was there before and is never undone. A volume attached to another
// instance is a final error.
func (a *CloudMCActivities) CloudMCAttachVolume(ctx context.Context, in CloudMCAttachVolumeInput) (CloudMCCreateResult, error) {
	if err := a.ready(); err != nil {
		return CloudMCCreateResult{}, err
	}
	if in.VolumeID == "" || in.InstanceID == "" {
		return CloudMCCreateResult{}, invalidInput("volumeId and instanceId are required to attach a volume")
	}
	name := firstNonEmpty(in.VolumeName, in.VolumeID)
	what := fmt.Sprintf("attach volume %s to instance %s", name, in.InstanceID)
	key := "attach " + in.VolumeID + " to " + in.InstanceID
	mine := createWasSent(ctx, key)
	v, err := a.findVolume(ctx, in.VolumeID, "")
	switch {
	case err != nil:
		return CloudMCCreateResult{}, lookupError(what, err)
	case v == nil:
		return CloudMCCreateResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: the volume does not exist", what), ErrTypeUnexpectedState, nil)
	case v.InstanceID == in.InstanceID:
		return CloudMCCreateResult{ResourceID: v.ID, State: v.State, Existed: !mine}, nil
	case v.State == cloudmc.VolumeStateAttaching:
		// An attach in flight, this step's own when an earlier attempt sent
		// one: the waiter reads where it ends.
		return CloudMCCreateResult{ResourceID: v.ID, State: v.State, Existed: !mine}, nil
	case v.Attached():
		return CloudMCCreateResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s: it is attached to instance %s (%s); detach it first", what, firstNonEmpty(v.InstanceName, v.InstanceID), v.InstanceID),
			ErrTypeUnexpectedState, nil)
	case v.State != cloudmc.VolumeStateReady:
		return CloudMCCreateResult{}, temporal.NewApplicationError(
			fmt.Sprintf("%s: the volume is %s; the attach waits until it is Ready", what, v.State), ErrTypeRetryableAPI)
	}
	markCreateSent(ctx, key)
	t, err := a.Client.Volumes.Attach(ctx, v.ID, in.InstanceID)
	if err != nil {
		if cloudmc.IsInvalidState(err) || isInUse(err) {
			// Someone moved the volume or the instance meanwhile: the next
			// attempt reads them again.
			return CloudMCCreateResult{}, temporal.NewApplicationErrorWithCause(what+": retrying once the volume and the instance settle", ErrTypeRetryableAPI, err)
		}
		return CloudMCCreateResult{}, apiError(CloudCloudMC, what, err)
	}
	res := taskStarted(t)
	res.ResourceID = v.ID
	return res, nil
}

// CloudMCDeleteInput names an instance or volume to delete by ID or, failing
// that, by name.
type CloudMCDeleteInput struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// CloudMCDeleteInstance destroys an instance; its OS volume goes with it and
// its data volumes are detached. An instance that is gone (404) is already
// deleted; one being destroyed is joined, its end read from the resource.
func (a *CloudMCActivities) CloudMCDeleteInstance(ctx context.Context, in CloudMCDeleteInput) (CloudMCDeleteResult, error) {
	if err := a.ready(); err != nil {
		return CloudMCDeleteResult{}, err
	}
	i, err := a.findInstance(ctx, in.ID, in.Name)
	switch {
	case err != nil:
		return CloudMCDeleteResult{}, lookupError("look up instance "+firstNonEmpty(in.Name, in.ID), err)
	case i == nil:
		return CloudMCDeleteResult{ResourceID: in.ID, AlreadyGone: true}, nil
	case instanceGoing(i.State):
		return CloudMCDeleteResult{ResourceID: i.ID}, nil
	}
	t, err := a.Client.Instances.Delete(ctx, i.ID)
	return cmcDeleted(i.ID, "delete instance "+i.Name, t, err)
}

// CloudMCDeleteVolume deletes a data volume. A volume that is gone is
// already deleted; one still being made, attached or detached is retried
// until it settles; one attached to an instance is refused for good.
func (a *CloudMCActivities) CloudMCDeleteVolume(ctx context.Context, in CloudMCDeleteInput) (CloudMCDeleteResult, error) {
	if err := a.ready(); err != nil {
		return CloudMCDeleteResult{}, err
	}
	v, err := a.findVolume(ctx, in.ID, in.Name)
	switch {
	case err != nil:
		return CloudMCDeleteResult{}, lookupError("look up volume "+firstNonEmpty(in.Name, in.ID), err)
	case v == nil:
		return CloudMCDeleteResult{ResourceID: in.ID, AlreadyGone: true}, nil
	case v.State == cloudmc.VolumeStateDestroying:
		return CloudMCDeleteResult{ResourceID: v.ID}, nil
	}
	t, err := a.Client.Volumes.Delete(ctx, v.ID)
	return cmcDeleted(v.ID, "delete volume "+v.Name, t, err)
}

// CloudMCDetachVolumeInput is the input of CloudMCDetachVolume: the volume by
// ID or, failing that, by name.
type CloudMCDetachVolumeInput struct {
	VolumeID   string `json:"volumeId,omitempty"`
	VolumeName string `json:"volumeName,omitempty"`
	// InstanceID, else InstanceName, when set, detaches the volume only
	// from that instance: a volume attached elsewhere counts as already
	// detached from it.
	InstanceID   string `json:"instanceId,omitempty"`
	InstanceName string `json:"instanceName,omitempty"`
}

// CloudMCDetachVolume detaches a data volume from its instance. A volume that
// is gone or not attached (to InstanceID, when given) has nothing to detach.
func (a *CloudMCActivities) CloudMCDetachVolume(ctx context.Context, in CloudMCDetachVolumeInput) (CloudMCDeleteResult, error) {
	if err := a.ready(); err != nil {
		return CloudMCDeleteResult{}, err
	}
	name := firstNonEmpty(in.VolumeName, in.VolumeID)
	v, err := a.findVolume(ctx, in.VolumeID, in.VolumeName)
	switch {
	case err != nil:
		return CloudMCDeleteResult{}, lookupError("look up volume "+name, err)
	case v == nil:
		return CloudMCDeleteResult{ResourceID: in.VolumeID, AlreadyGone: true}, nil
	case v.State == cloudmc.VolumeStateDetaching:
		return CloudMCDeleteResult{ResourceID: v.ID}, nil
	case v.State == cloudmc.VolumeStateAttaching || v.State == cloudmc.VolumeStateCreating:
		return CloudMCDeleteResult{}, temporal.NewApplicationError(
			fmt.Sprintf("detach volume %s: it is %s; the detach waits until it settles", name, v.State), ErrTypeRetryableAPI)
	case !v.Attached() || (in.InstanceID != "" && v.InstanceID != in.InstanceID) ||
		(in.InstanceID == "" && in.InstanceName != "" && !strings.EqualFold(v.InstanceName, in.InstanceName)):
		return CloudMCDeleteResult{ResourceID: v.ID, AlreadyGone: true}, nil
	}
	t, err := a.Client.Volumes.Detach(ctx, v.ID)
	return cmcDeleted(v.ID, "detach volume "+v.Name, t, err)
}

// CloudMCDeleteIngressRuleInput names an ingress rule to delete by ID or,
// failing that, by its fields.
type CloudMCDeleteIngressRuleInput struct {
	ID   string      `json:"id,omitempty"`
	Rule CloudMCRule `json:"rule"`
}

// CloudMCDeleteIngressRule deletes an ingress rule; one that is gone is
// already deleted, one being added is retried until it is active.
func (a *CloudMCActivities) CloudMCDeleteIngressRule(ctx context.Context, in CloudMCDeleteIngressRuleInput) (CloudMCDeleteResult, error) {
	if err := a.ready(); err != nil {
		return CloudMCDeleteResult{}, err
	}
	r := in.Rule
	if in.ID == "" {
		var err error
		if r, err = in.Rule.normalized(); err != nil {
			return CloudMCDeleteResult{}, err
		}
	}
	x, err := a.findRule(ctx, in.ID, r)
	switch {
	case err != nil:
		return CloudMCDeleteResult{}, lookupError("look up ingress rule "+firstNonEmpty(in.ID, r.String()), err)
	case x == nil:
		return CloudMCDeleteResult{ResourceID: in.ID, AlreadyGone: true}, nil
	case strings.EqualFold(x.State, "Revoke"):
		return CloudMCDeleteResult{ResourceID: x.ID}, nil
	}
	t, err := a.Client.IngressRules.Delete(ctx, x.ID)
	return cmcDeleted(x.ID, "delete ingress rule "+r.String(), t, err)
}

// cmcDeleted shapes the answer of a delete or detach: a 404 means someone
// else won the race; a resource in a passing state is retried until it
// settles.
func cmcDeleted(id, what string, t *cloudmc.Task, err error) (CloudMCDeleteResult, error) {
	switch {
	case cloudmc.IsNotFound(err):
		return CloudMCDeleteResult{ResourceID: id, AlreadyGone: true}, nil
	case cloudmc.IsInvalidState(err):
		return CloudMCDeleteResult{}, temporal.NewApplicationErrorWithCause(
			what+": the resource is busy; retrying until it settles", ErrTypeRetryableAPI, err, cmcDetails(err))
	case err != nil:
		return CloudMCDeleteResult{}, apiError(CloudCloudMC, what, err)
	}
	return CloudMCDeleteResult{ResourceID: id, TaskID: t.ID}, nil
}

func cmcDetails(err error) CloudErrorDetails {
	ce, _ := asCloudError(err)
	return CloudErrorDetails{Cloud: CloudCloudMC, StatusCode: ce.status, Code: ce.code, Message: ce.message, RequestID: ce.requestID}
}

func isInUse(err error) bool {
	var ae *cloudmc.APIError
	return errors.As(err, &ae) && ae.HasCode(cloudmc.ErrCodeInUse)
}

// instanceGoing reports an instance on its way out.
func instanceGoing(state string) bool {
	switch state {
	case cloudmc.InstanceStateDestroying, cloudmc.InstanceStateDestroyed, cloudmc.InstanceStateExpunging:
		return true
	}
	return false
}

// CloudMCWaitInput is the input of CloudMCWaitTask.
type CloudMCWaitInput struct {
	// Kind is what the task acts on: instance, volume, volume-attachment or
	// ingress-rule.
	Kind string `json:"kind"`
	// TaskID is polled while the cloud knows it; when it is empty, or the
	// task expires (404), the resource decides.
	TaskID string `json:"taskId,omitempty"`
	// ResourceID, else Name (instances and volumes) or Rule (ingress rules),
	// finds the resource. An attachment's resource is its volume.
	ResourceID string       `json:"resourceId,omitempty"`
	Name       string       `json:"name,omitempty"`
	Rule       *CloudMCRule `json:"rule,omitempty"`
	// InstanceID is the instance an attachment joins the volume to.
	InstanceID string `json:"instanceId,omitempty"`
	// Gone waits for the resource to disappear (for an attachment: for the
	// volume to be detached) instead of to be ready.
	Gone bool `json:"gone,omitempty"`
	// State is the state an instance is waited into: Running (the default)
	// or Stopped. Given, an instance found back in the state it left (the
	// task failed and was forgotten) fails the wait as the task would have.
	State   string        `json:"state,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
}

// CloudMCWaitResult is the settled resource.
type CloudMCWaitResult struct {
	ResourceID string `json:"resourceId,omitempty"`
	State      string `json:"state,omitempty"`
	// Resolution says how the outcome was learned: "task" or "resource".
	Resolution string `json:"resolution"`
	Polls      int    `json:"polls"`
}

// CloudMCWaitTask waits out a CloudMC task durably (see waitFor): PENDING
// goes on, SUCCESS ends the wait with the resource the task's result names,
// FAILED is a non-retryable OperationFailed error carrying the cloud's code
// and message. The cloud forgets tasks some time after they end: a task that
// is unknown or expires while being waited on (404) is resolved from the
// resource itself (an instance Running, or Stopped when that is the State
// asked for; a volume Ready, attached to the instance or detached; a rule
// Active; or the resource gone), not reported as a failure.
func (a *CloudMCActivities) CloudMCWaitTask(ctx context.Context, in CloudMCWaitInput) (CloudMCWaitResult, error) {
	if err := a.ready(); err != nil {
		return CloudMCWaitResult{}, err
	}
	switch in.Kind {
	case KindCloudMCInstance, KindCloudMCVolume, KindCloudMCAttachment, KindCloudMCIngressRule:
	default:
		return CloudMCWaitResult{}, invalidInput("unknown CloudMC resource kind %q", in.Kind)
	}
	rule := CloudMCRule{}
	if in.Rule != nil {
		var err error
		if rule, err = in.Rule.normalized(); err != nil {
			return CloudMCWaitResult{}, err
		}
	}
	if in.TaskID == "" && in.ResourceID == "" && in.Name == "" && in.Rule == nil {
		return CloudMCWaitResult{}, invalidInput("nothing to wait for: no task, resource id, name or rule")
	}
	if in.Kind == KindCloudMCAttachment && !in.Gone && in.InstanceID == "" {
		return CloudMCWaitResult{}, invalidInput("waiting for an attachment needs the instance id")
	}
	switch {
	case in.State == "":
	case in.Kind != KindCloudMCInstance || in.Gone:
		return CloudMCWaitResult{}, invalidInput("a state to wait for applies to an instance that stays, not to a %s", in.Kind)
	case in.State != cloudmc.InstanceStateRunning && in.State != cloudmc.InstanceStateStopped:
		return CloudMCWaitResult{}, invalidInput("an instance can be waited for until %s or %s, not %q",
			cloudmc.InstanceStateRunning, cloudmc.InstanceStateStopped, in.State)
	}
	target := in.Kind + " " + firstNonEmpty(in.Name, in.ResourceID)
	if in.Kind == KindCloudMCIngressRule && in.Rule != nil {
		target = in.Kind + " " + rule.String()
	}
	if in.TaskID != "" {
		target += " (task " + in.TaskID + ")"
	}
	res := CloudMCWaitResult{ResourceID: in.ResourceID}
	wp, err := waitFor(ctx, a.poll(), in.Timeout, target, func(ctx context.Context, wp *WaitProgress) (bool, error) {
		if in.TaskID != "" && !wp.ResolveFromResource {
			t, err := a.Client.Tasks.Get(ctx, in.TaskID)
			switch {
			case cloudmc.IsNotFound(err):
				activity.GetLogger(ctx).Info("task unknown or expired; resolving from the resource", "task", in.TaskID)
				wp.ResolveFromResource = true
			case err != nil:
				return false, err
			default:
				wp.State = t.Status
				res.Resolution = "task"
				switch {
				case t.Failed():
					if in.Gone {
						// A delete that failed because the resource went
						// anyway (someone else deleted it) reached its end.
						if done, err := a.settleResource(ctx, in, rule, target, &WaitProgress{}, &res); done && err == nil {
							res.Resolution = "resource"
							return true, nil
						}
					}
					f := t.Failure()
					code := ""
					if f.Code != 0 {
						code = fmt.Sprint(f.Code)
					}
					return true, operationFailed(CloudCloudMC, target, "", code, f.Message)
				case t.Succeeded():
					if in.Gone {
						return true, nil
					}
					var r struct {
						ID    string `json:"id"`
						State string `json:"state"`
					}
					if t.DecodeResult(&r) == nil && r.ID != "" {
						res.ResourceID, res.State = r.ID, r.State
						return true, nil
					}
					// The result did not name the resource: read it.
				case strings.EqualFold(t.Status, cloudmc.TaskPending):
					return false, nil
				default:
					return true, unexpectedState("task of "+target, t.Status)
				}
			}
		}
		res.Resolution = "resource"
		return a.settleResource(ctx, in, rule, target, wp, &res)
	})
	res.Polls = wp.Polls
	if err != nil {
		return res, lookupError("wait for "+target, err)
	}
	return res, nil
}

// lookupError is the activity error of a lookup or a wait: a client's error
// classified by apiError, an activity error as it is.
func lookupError(what string, err error) error {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return err
	}
	return apiError(CloudCloudMC, what, err)
}

// settleResource decides a wait from the resource itself: done once it is
// in its resting state (or gone, for Gone), failed when it is not there to
// be waited for or ended somewhere else.
func (a *CloudMCActivities) settleResource(ctx context.Context, in CloudMCWaitInput, rule CloudMCRule, target string, wp *WaitProgress, res *CloudMCWaitResult) (bool, error) {
	id := firstNonEmpty(res.ResourceID, in.ResourceID)
	missing := func() (bool, error) {
		return true, operationFailed(CloudCloudMC, target, "", "NOT_FOUND", "the resource does not exist: the task did not complete")
	}
	gone := func() (bool, error) {
		wp.State = "gone"
		if in.Gone {
			return true, nil
		}
		return missing()
	}
	stayed := func(state string) (bool, error) {
		return true, operationFailed(CloudCloudMC, target, "", "NOT_DELETED", "the resource is still there, "+orUnknown(state)+": the task did not complete")
	}
	switch in.Kind {
	case KindCloudMCInstance:
		i, err := a.findInstance(ctx, id, in.Name)
		if err != nil {
			return false, err
		}
		if i == nil {
			return gone()
		}
		wp.State, res.ResourceID, res.State = i.State, i.ID, i.State
		if in.Gone {
			if instanceGoing(i.State) {
				return false, nil
			}
			return stayed(i.State)
		}
		want := firstNonEmpty(in.State, cloudmc.InstanceStateRunning)
		switch {
		case i.State == want:
			return true, nil
		case i.State == cloudmc.InstanceStateError:
			return true, operationFailed(CloudCloudMC, target, "", cloudmc.InstanceStateError, "the instance is in the Error state")
		case want == cloudmc.InstanceStateRunning && (i.State == cloudmc.InstanceStateStarting || i.State == cloudmc.InstanceStateCreating),
			want == cloudmc.InstanceStateStopped && i.State == cloudmc.InstanceStateStopping:
			return false, nil
		case in.State != "" && (i.State == cloudmc.InstanceStateRunning || i.State == cloudmc.InstanceStateStopped):
			// Back in the state it left: its task failed, and was forgotten.
			code, action := "NOT_STARTED", "start"
			if want == cloudmc.InstanceStateStopped {
				code, action = "NOT_STOPPED", "stop"
			}
			return true, operationFailed(CloudCloudMC, target, "", code, fmt.Sprintf("the instance is %s: the %s did not complete", i.State, action))
		}
		hint := "; start it, or deprovision it first"
		if want != cloudmc.InstanceStateRunning {
			hint = ""
		}
		return true, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s is %s, not %s%s", target, i.State, want, hint), ErrTypeUnexpectedState, nil)
	case KindCloudMCVolume, KindCloudMCAttachment:
		v, err := a.findVolume(ctx, id, in.Name)
		if err != nil {
			return false, err
		}
		if v == nil {
			return gone()
		}
		wp.State, res.ResourceID, res.State = v.State, v.ID, v.State
		switch v.State {
		case cloudmc.VolumeStateCreating, cloudmc.VolumeStateAttaching, cloudmc.VolumeStateDetaching, cloudmc.VolumeStateDestroying:
			return false, nil
		}
		switch {
		case in.Kind == KindCloudMCVolume && in.Gone:
			return stayed(v.State)
		case in.Kind == KindCloudMCVolume:
			return true, nil
		case in.Gone && (!v.Attached() || (in.InstanceID != "" && v.InstanceID != in.InstanceID)):
			return true, nil
		case in.Gone:
			return true, operationFailed(CloudCloudMC, target, "", "STILL_ATTACHED", "the volume is still attached to instance "+v.InstanceID+": the detach did not complete")
		case v.InstanceID == in.InstanceID:
			return true, nil
		}
		return true, operationFailed(CloudCloudMC, target, "", "NOT_ATTACHED",
			fmt.Sprintf("the volume is not attached to instance %s (attached to %q): the attach did not complete", in.InstanceID, v.InstanceID))
	default: // KindCloudMCIngressRule
		if id == "" && in.Rule == nil {
			return true, invalidInput("waiting for an ingress rule needs its id or its fields")
		}
		x, err := a.findRule(ctx, id, rule)
		if err != nil {
			return false, err
		}
		if x == nil {
			return gone()
		}
		wp.State, res.ResourceID, res.State = x.State, x.ID, x.State
		switch {
		case strings.EqualFold(x.State, "Add") || strings.EqualFold(x.State, "Revoke"):
			return false, nil
		case in.Gone:
			return stayed(x.State)
		}
		return true, nil
	}
}

// findInstance looks an instance up by ID when there is one (a 404 means
// absent), else by name among those listed (host names ignore case). It
// returns the client's error as is, so that the waiter can tell a
// transient one.
func (a *CloudMCActivities) findInstance(ctx context.Context, id, name string) (*cloudmc.Instance, error) {
	if id != "" {
		i, err := a.Client.Instances.Get(ctx, id)
		if cloudmc.IsNotFound(err) {
			return nil, nil
		}
		return i, err
	}
	if name == "" {
		return nil, invalidInput("an instance id or name is required")
	}
	all, err := a.Client.Instances.List(ctx)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if strings.EqualFold(all[i].Name, name) {
			return &all[i], nil
		}
	}
	return nil, nil
}

// findVolume looks a data volume up by ID, else by exact name; OS volumes,
// which live and die with their instance, are never found by name.
func (a *CloudMCActivities) findVolume(ctx context.Context, id, name string) (*cloudmc.Volume, error) {
	if id != "" {
		v, err := a.Client.Volumes.Get(ctx, id)
		if cloudmc.IsNotFound(err) {
			return nil, nil
		}
		return v, err
	}
	if name == "" {
		return nil, invalidInput("a volume id or name is required")
	}
	all, err := a.Client.Volumes.List(ctx)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Name == name && !strings.EqualFold(all[i].Type, cloudmc.VolumeTypeOS) {
			return &all[i], nil
		}
	}
	return nil, nil
}

// findRule looks an ingress rule up by ID, else by its (normalized) fields.
func (a *CloudMCActivities) findRule(ctx context.Context, id string, r CloudMCRule) (*cloudmc.IngressRule, error) {
	if id != "" {
		x, err := a.Client.IngressRules.Get(ctx, id)
		if cloudmc.IsNotFound(err) {
			return nil, nil
		}
		return x, err
	}
	all, err := a.Client.IngressRules.List(ctx)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if r.matches(&all[i]) {
			return &all[i], nil
		}
	}
	return nil, nil
}
