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
	// Poll paces the waiter for kinds of task it has not learned; zero
	// means DefaultPollPolicy.
	Poll PollPolicy
	// Metrics, when set, is told how each wait ended.
	Metrics Metrics
	// Async, when set, runs the waits asynchronously (see AsyncWaits).
	Async *AsyncWaits

	waits waits
	tasks pollers[*cloudmc.Task]
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
	return cmcCreateOnce(ctx, a, in.Name, what, find, adopt, func() (*cloudmc.Task, error) {
		return a.Client.Instances.Create(ctx, &cloudmc.InstanceCreateRequest{
			Name: in.Name, ComputeOfferingID: in.ComputeOfferingID, NetworkID: in.NetworkID, TemplateID: in.TemplateID,
		})
	})
}

// CloudMCResolveDiskOfferingInput is the input of CloudMCResolveDiskOffering.
type CloudMCResolveDiskOfferingInput struct {
	// DiskOffering is the offering's ID or name. Empty picks the
	// environment's one custom-size offering, for inputs that give a size
	// only (those from before volumes were made from disk offerings).
	DiskOffering string `json:"diskOffering,omitempty"`
	// SizeGB is the volume's size: required with a custom-size offering,
	// refused with a fixed-size one.
	SizeGB int `json:"sizeGb,omitempty"`
	// VolumeName names the volume in messages.
	VolumeName string `json:"volumeName,omitempty"`
}

// CloudMCDiskOffering is a disk offering a volume is made from.
type CloudMCDiskOffering struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	CustomSize bool   `json:"customSize,omitempty"`
	// SizeGB is the size of the volume made from it: the offering's, or
	// the one asked for when it is custom-size.
	SizeGB int `json:"sizeGb,omitempty"`
}

// CloudMCResolveDiskOffering finds the disk offering a volume is to be made
// from, by ID or name, and checks the size against it. It makes nothing, so
// a workflow runs it before it creates anything: a name that does not exist,
// or a size the offering does not take, fails the run with nothing to undo.
// Those are final (InvalidInput) errors.
func (a *CloudMCActivities) CloudMCResolveDiskOffering(ctx context.Context, in CloudMCResolveDiskOfferingInput) (CloudMCDiskOffering, error) {
	if err := a.ready(); err != nil {
		return CloudMCDiskOffering{}, err
	}
	return a.diskOffering(ctx, in.DiskOffering, in.SizeGB, in.VolumeName)
}

// diskOffering looks the offering up by ID or name (the custom-size one
// when ref is empty) and checks sizeGB against it.
func (a *CloudMCActivities) diskOffering(ctx context.Context, ref string, sizeGB int, volume string) (CloudMCDiskOffering, error) {
	what := "volume " + volume + ": "
	if volume == "" {
		what = "volume: "
	}
	all, err := a.Client.DiskOfferings.List(ctx)
	if err != nil {
		return CloudMCDiskOffering{}, apiError(CloudCloudMC, what+"list the disk offerings", err)
	}
	var o *cloudmc.DiskOffering
	if ref == "" {
		for i := range all {
			if all[i].CustomSize {
				if o != nil {
					return CloudMCDiskOffering{}, invalidInput("%sno disk offering is given, and the environment has several custom-size ones (%s, %s): name one",
						what, o.Name, all[i].Name)
				}
				o = &all[i]
			}
		}
		if o == nil {
			return CloudMCDiskOffering{}, invalidInput("%sno disk offering is given, and the environment has no custom-size one to make a %d GB volume from: name one (%s)",
				what, sizeGB, offeringNames(all))
		}
	} else {
		found, err := a.Client.DiskOfferings.Find(ctx, ref)
		switch {
		case errors.Is(err, cloudmc.ErrInvalidArgument):
			return CloudMCDiskOffering{}, invalidInput("%sdiskOffering: %v", what, err)
		case err != nil:
			return CloudMCDiskOffering{}, apiError(CloudCloudMC, what+"look up disk offering "+ref, err)
		case found == nil:
			return CloudMCDiskOffering{}, invalidInput("%sdiskOffering %q names no disk offering of the environment; it has %s",
				what, ref, offeringNames(all))
		}
		o = found
	}
	if err := o.CheckSize(sizeGB); err != nil {
		return CloudMCDiskOffering{}, invalidInput("%s%v", what, err)
	}
	res := CloudMCDiskOffering{ID: o.ID, Name: o.Name, CustomSize: o.CustomSize, SizeGB: o.GBSize}
	if o.CustomSize {
		res.SizeGB = sizeGB
	}
	return res, nil
}

// offeringNames lists disk offerings for a message, with their sizes.
func offeringNames(all []cloudmc.DiskOffering) string {
	if len(all) == 0 {
		return "none"
	}
	names := make([]string, 0, len(all))
	for _, o := range all {
		size := fmt.Sprintf("%d GB", o.GBSize)
		if o.CustomSize {
			size = "custom size"
		}
		names = append(names, fmt.Sprintf("%q (%s)", o.Name, size))
	}
	return strings.Join(names, ", ")
}

// CloudMCCreateVolumeInput is the input of CloudMCCreateVolume.
type CloudMCCreateVolumeInput struct {
	Name string `json:"name"`
	// DiskOfferingID is the offering the volume is made from (see
	// CloudMCResolveDiskOffering). Empty, as inputs from before disk
	// offerings have it, takes the environment's custom-size offering.
	DiskOfferingID string `json:"diskOfferingId,omitempty"`
	// SizeGB is sent with a custom-size offering only.
	SizeGB int `json:"sizeGb,omitempty"`
}

// CloudMCCreateVolume creates a data volume from a disk offering unless one
// by that name exists; see CloudMCCreateInstance for how a retry tells its
// own volume from one that was there before.
func (a *CloudMCActivities) CloudMCCreateVolume(ctx context.Context, in CloudMCCreateVolumeInput) (CloudMCCreateResult, error) {
	if err := a.ready(); err != nil {
		return CloudMCCreateResult{}, err
	}
	if in.Name == "" || in.SizeGB < 0 || (in.DiskOfferingID == "" && in.SizeGB == 0) {
		return CloudMCCreateResult{}, invalidInput("volume name and a disk offering (or, for the custom-size offering, a positive sizeGb) are required")
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
	return cmcCreateOnce(ctx, a, in.Name, what, find, adopt, func() (*cloudmc.Task, error) {
		req := &cloudmc.VolumeCreateRequest{Name: in.Name, DiskOfferingID: in.DiskOfferingID, SizeInGB: in.SizeGB}
		if req.DiskOfferingID == "" {
			o, err := a.diskOffering(ctx, "", in.SizeGB, in.Name)
			if err != nil {
				return nil, err
			}
			req.DiskOfferingID = o.ID
		}
		return a.Client.Volumes.Create(ctx, req)
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
	return cmcCreateOnce(ctx, a, "ingress rule "+r.String(), what, find, adopt, func() (*cloudmc.Task, error) {
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
func cmcCreateOnce[T any](ctx context.Context, a *CloudMCActivities, key, what string,
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
				// lookupError keeps an activity error (a disk offering that
				// cannot be found) as it is.
				return CloudMCCreateResult{}, lookupError(what, err)
			}
			return a.taskStarted(t), nil
		})
}

// taskStarted shapes the answer of a call that starts a task, which began
// now. An answer the cloud completed within the request has no task ID: its
// data names the resource, and the waiter reads it.
func (a *CloudMCActivities) taskStarted(t *cloudmc.Task) CloudMCCreateResult {
	a.waits.began(t.ID)
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
		if cmcBusy(err) || isInUse(err) {
			// Someone moved the volume or the instance meanwhile, or a task
			// (this step's own attach, sent by an attempt whose answer was
			// lost) still holds one of them: the next attempt reads them again.
			return CloudMCCreateResult{}, temporal.NewApplicationErrorWithCause(what+": retrying once the volume and the instance settle", ErrTypeRetryableAPI, err)
		}
		return CloudMCCreateResult{}, apiError(CloudCloudMC, what, err)
	}
	res := a.taskStarted(t)
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
	return a.cmcDeleted(i.ID, "delete instance "+i.Name, t, err)
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
	return a.cmcDeleted(v.ID, "delete volume "+v.Name, t, err)
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
	return a.cmcDeleted(v.ID, "detach volume "+v.Name, t, err)
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
	return a.cmcDeleted(x.ID, "delete ingress rule "+r.String(), t, err)
}

// cmcDeleted shapes the answer of a delete or detach: a 404 means someone
// else won the race; a resource in a passing state, or held by a task (a
// strict CloudMC shows no passing state: an earlier attempt's own delete may
// be the task), is retried until it settles.
func (a *CloudMCActivities) cmcDeleted(id, what string, t *cloudmc.Task, err error) (CloudMCDeleteResult, error) {
	switch {
	case cloudmc.IsNotFound(err):
		return CloudMCDeleteResult{ResourceID: id, AlreadyGone: true}, nil
	case cmcBusy(err):
		return CloudMCDeleteResult{}, temporal.NewApplicationErrorWithCause(
			what+": the resource is busy; retrying until it settles", ErrTypeRetryableAPI, err, cmcDetails(err))
	case err != nil:
		return CloudMCDeleteResult{}, apiError(CloudCloudMC, what, err)
	}
	a.waits.began(t.ID)
	return CloudMCDeleteResult{ResourceID: id, TaskID: t.ID}, nil
}

func cmcDetails(err error) CloudErrorDetails {
	ce, _ := asCloudError(err)
	return CloudErrorDetails{Cloud: CloudCloudMC, StatusCode: ce.status, Code: ce.code, Message: ce.message, RequestID: ce.requestID}
}

// cmcBusy reports a change refused because of where the resource stands: a
// state that does not allow it, or a task still working on it. Either may
// pass once the resource settles.
func cmcBusy(err error) bool {
	return cloudmc.IsInvalidState(err) || cloudmc.IsTaskInProgress(err)
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
	State string `json:"state,omitempty"`
	// ComputeOfferingID, for the change of an instance's compute offering,
	// is the offering the instance must also have: a strict CloudMC shows
	// the old one until the task completes.
	ComputeOfferingID string        `json:"computeOfferingId,omitempty"`
	Timeout           time.Duration `json:"timeout,omitempty"`
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
// and message. The cloud forgets tasks after a while, even tasks still
// running: a task that is unknown or expires while being waited on (404),
// like a wait with no task, is resolved by watching the resource itself
// until the outcome is clear (see settleResource) or the timeout runs out,
// never by one read: a strict CloudMC shows an instance Running all through
// its delete.
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
	if in.ComputeOfferingID != "" && (in.Kind != KindCloudMCInstance || in.Gone) {
		return CloudMCWaitResult{}, invalidInput("a compute offering to wait for applies to an instance that stays, not to a %s", in.Kind)
	}
	if in.Kind == KindCloudMCIngressRule && in.ResourceID == "" && in.Rule == nil {
		return CloudMCWaitResult{}, invalidInput("waiting for an ingress rule needs its id or its fields")
	}
	target := in.Kind + " " + firstNonEmpty(in.Name, in.ResourceID)
	if in.Kind == KindCloudMCIngressRule && in.Rule != nil {
		target = in.Kind + " " + rule.String()
	}
	if in.TaskID != "" {
		target += " (task " + in.TaskID + ")"
	}
	return runWait(ctx, a.Async, func(ctx context.Context, env waitEnv) (CloudMCWaitResult, error) {
		return a.waitTask(ctx, env, in, rule, target)
	})
}

func (a *CloudMCActivities) waitTask(ctx context.Context, env waitEnv, in CloudMCWaitInput, rule CloudMCRule, target string) (CloudMCWaitResult, error) {
	res := CloudMCWaitResult{ResourceID: in.ResourceID}
	// unclear is what the resource last showed while the outcome was not
	// clear yet: what to report if the timeout runs out first.
	var unclear *cmcUnclear
	spec := wait{target: target, timeout: in.Timeout, policy: a.poll(),
		kind: CloudCloudMC + "/" + in.Kind + "/" + in.verb(), since: a.waits.since(in.TaskID)}
	wp, err := a.waits.run(ctx, env, spec, func(ctx context.Context, wp *WaitProgress) (bool, error) {
		unclear = nil
		if in.TaskID != "" && !wp.ResolveFromResource {
			t, err := a.task(ctx, in.TaskID)
			switch {
			case cloudmc.IsNotFound(err):
				activity.GetLogger(ctx).Info("task unknown or expired; watching the resource", "task", in.TaskID)
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
						if done, _, err := a.settleResource(ctx, in, rule, &WaitProgress{}, &res); done && err == nil {
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
		done, u, err := a.settleResource(ctx, in, rule, wp, &res)
		unclear = u
		return done, err
	})
	recordWait(a.Metrics, CloudCloudMC, in.Kind, in.verb(), wp, err)
	res.Polls = wp.Polls
	if err != nil && unclear != nil && isWaitTimeout(err) {
		// The resource never showed the outcome: the task did not complete
		// in time, whatever became of it.
		return res, operationFailed(CloudCloudMC, target, "", unclear.code,
			fmt.Sprintf("%s, when the %s timeout ran out: the %s did not complete", unclear.seen, in.Timeout, in.verb()))
	}
	if err != nil {
		return res, lookupError("wait for "+target, err)
	}
	return res, nil
}

// task reads a task. Waits on one task share the read (a fleet's retries,
// an undo's wait on the create it caught): one request per task per tick.
func (a *CloudMCActivities) task(ctx context.Context, id string) (*cloudmc.Task, error) {
	return a.tasks.of("tasks", func() *sharedPoll[*cloudmc.Task] {
		return &sharedPoll[*cloudmc.Task]{fetch: eachOf(a.Client.Tasks.Get)}
	}).ask(ctx, id)
}

// verb names what the waited-for task does, for messages and for the
// durations the worker learns.
func (in CloudMCWaitInput) verb() string {
	switch {
	case in.Kind == KindCloudMCAttachment && in.Gone:
		return "detach"
	case in.Kind == KindCloudMCAttachment:
		return "attach"
	case in.Gone:
		return "delete"
	case in.ComputeOfferingID != "":
		return "offering change"
	case in.State == cloudmc.InstanceStateRunning:
		return "start"
	case in.State == cloudmc.InstanceStateStopped:
		return "stop"
	}
	return "create"
}

// notDone is the code of a task whose outcome the resource never showed.
func (in CloudMCWaitInput) notDone() string {
	return map[string]string{
		"create": "NOT_CREATED", "delete": "NOT_DELETED", "start": "NOT_STARTED", "stop": "NOT_STOPPED",
		"attach": "NOT_ATTACHED", "detach": "STILL_ATTACHED", "offering change": "NOT_CHANGED",
	}[in.verb()]
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

// cmcUnclear is a resource that does not show a wait's outcome yet: the code
// to fail with if it never does, and what it showed.
type cmcUnclear struct{ code, seen string }

// settleResource decides a wait from the resource itself, and ends it only
// on a clear outcome: done once the resource is in its resting state (or
// gone, for Gone); failed once it cannot get there any more (an instance in
// Error, a volume attached to another instance, a resource the task acted
// on gone). Anything else is not yet an outcome, and the wait goes on,
// whatever the task's fate: a strict CloudMC keeps showing a resource as it
// was until its task completes (an instance Running while it is deleted, a
// volume detached while it is attached), and a resource being created may
// not be listed at once. The returned cmcUnclear says what to report if
// the timeout runs out first.
func (a *CloudMCActivities) settleResource(ctx context.Context, in CloudMCWaitInput, rule CloudMCRule, wp *WaitProgress, res *CloudMCWaitResult) (bool, *cmcUnclear, error) {
	id := firstNonEmpty(res.ResourceID, in.ResourceID)
	what := in.Kind
	if in.Kind == KindCloudMCAttachment {
		what = KindCloudMCVolume
	}
	seen := func(state string) {
		wp.State, res.State = state, state
	}
	// gone is a resource that is not there: a delete's end, a failure for
	// a task that acted on a resource that existed (start, stop, attach),
	// and not yet an outcome for a create.
	gone := func() (bool, *cmcUnclear, error) {
		wp.State, res.State = "gone", ""
		switch {
		case in.Gone:
			return true, nil, nil
		case in.verb() == "create":
			return false, &cmcUnclear{"NOT_FOUND", "the " + what + " does not exist"}, nil
		}
		return true, nil, operationFailed(CloudCloudMC, in.Kind+" "+firstNonEmpty(in.Name, id), "", "NOT_FOUND",
			"the "+what+" does not exist: the "+in.verb()+" cannot complete")
	}
	stillThere := func(state string) (bool, *cmcUnclear, error) {
		return false, &cmcUnclear{in.notDone(), "the " + what + " is still there, " + orUnknown(state)}, nil
	}
	switch in.Kind {
	case KindCloudMCInstance:
		i, err := a.findInstance(ctx, id, in.Name)
		if err != nil {
			return false, nil, err
		}
		if i == nil {
			return gone()
		}
		res.ResourceID = i.ID
		seen(i.State)
		if in.Gone {
			return stillThere(i.State)
		}
		want := firstNonEmpty(in.State, cloudmc.InstanceStateRunning)
		switch {
		case i.State == want && in.ComputeOfferingID != "" && i.ComputeOfferingID != in.ComputeOfferingID:
			seen := fmt.Sprintf("the instance has compute offering %s, not %s", orUnknown(i.ComputeOfferingID), in.ComputeOfferingID)
			if in.TaskID == "" {
				// No task changes it: the offering it has is the outcome.
				return true, nil, temporal.NewNonRetryableApplicationError(seen, ErrTypeUnexpectedState, nil)
			}
			return false, &cmcUnclear{in.notDone(), seen}, nil
		case i.State == want:
			return true, nil, nil
		case i.State == cloudmc.InstanceStateError:
			return true, nil, operationFailed(CloudCloudMC, "instance "+firstNonEmpty(in.Name, i.ID), "", cloudmc.InstanceStateError, "the instance is in the Error state")
		case in.TaskID == "" && (i.State == cloudmc.InstanceStateRunning || i.State == cloudmc.InstanceStateStopped):
			// No task moves it (an instance adopted as it was): the state it
			// rests in is the outcome.
			hint := "; start it, or deprovision it first"
			if want != cloudmc.InstanceStateRunning {
				hint = ""
			}
			return true, nil, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("instance %s is %s, not %s%s", firstNonEmpty(in.Name, i.ID), i.State, want, hint), ErrTypeUnexpectedState, nil)
		}
		return false, &cmcUnclear{in.notDone(), fmt.Sprintf("the instance is %s, not %s", orUnknown(i.State), want)}, nil
	case KindCloudMCVolume, KindCloudMCAttachment:
		v, err := a.findVolume(ctx, id, in.Name)
		if err != nil {
			return false, nil, err
		}
		if v == nil {
			return gone()
		}
		res.ResourceID = v.ID
		seen(v.State)
		switch v.State {
		case cloudmc.VolumeStateCreating, cloudmc.VolumeStateAttaching, cloudmc.VolumeStateDetaching, cloudmc.VolumeStateDestroying:
			if in.Gone && in.Kind == KindCloudMCVolume {
				return stillThere(v.State)
			}
			return false, &cmcUnclear{in.notDone(), "the volume is " + v.State}, nil
		}
		switch {
		case in.Kind == KindCloudMCVolume && in.Gone:
			return stillThere(v.State)
		case in.Kind == KindCloudMCVolume:
			return true, nil, nil
		case in.Gone && (!v.Attached() || (in.InstanceID != "" && v.InstanceID != in.InstanceID)):
			return true, nil, nil
		case in.Gone:
			return false, &cmcUnclear{in.notDone(), "the volume is still attached to instance " + v.InstanceID}, nil
		case v.InstanceID == in.InstanceID:
			return true, nil, nil
		case v.Attached():
			return true, nil, operationFailed(CloudCloudMC, "volume-attachment "+firstNonEmpty(in.Name, v.ID), "", "NOT_ATTACHED",
				fmt.Sprintf("the volume is attached to instance %s, not %s: the attach cannot complete", v.InstanceID, in.InstanceID))
		}
		return false, &cmcUnclear{in.notDone(), "the volume is not attached to instance " + in.InstanceID}, nil
	default: // KindCloudMCIngressRule
		x, err := a.findRule(ctx, id, rule)
		if err != nil {
			return false, nil, err
		}
		if x == nil {
			return gone()
		}
		res.ResourceID = x.ID
		seen(x.State)
		switch {
		case in.Gone:
			return stillThere(x.State)
		case strings.EqualFold(x.State, "Add") || strings.EqualFold(x.State, "Revoke"):
			return false, &cmcUnclear{in.notDone(), "the rule is " + x.State}, nil
		}
		return true, nil, nil
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
