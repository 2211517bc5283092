package activities

import (
	"context"
	"fmt"
	"strconv"

	"go.temporal.io/sdk/temporal"

	"github.com/cloudflow/cloudflow/clients/kraftcloud"
)

// KraftCloud object kinds, as activity messages name them.
const (
	KindKraftCloudInstance     = "instance"
	KindKraftCloudServiceGroup = "service group"
	KindKraftCloudVolume       = "volume"
)

// KraftCloudCreateResult is what a KraftCloud create activity made or found.
type KraftCloudCreateResult struct {
	UUID string `json:"uuid"`
	// State is the object's state as the create (or the lookup) reported
	// it: an autostarted instance answers "starting".
	State string `json:"state,omitempty"`
	// FQDN is the instance's public name, when it has one.
	FQDN string `json:"fqdn,omitempty"`
	// Existed is true when the name was taken before this step first ran: the
	// object is adopted, not created, and must not be undone.
	Existed bool `json:"existed,omitempty"`
}

// KraftCloudCreateVolumeInput is the input of KraftCloudCreateVolume.
type KraftCloudCreateVolumeInput struct {
	Name   string `json:"name"`
	SizeMB int    `json:"sizeMb"`
}

// KraftCloudCreateVolume creates a volume unless one by that name exists.
func (a *KraftCloudActivities) KraftCloudCreateVolume(ctx context.Context, in KraftCloudCreateVolumeInput) (KraftCloudCreateResult, error) {
	if err := a.ready(); err != nil {
		return KraftCloudCreateResult{}, err
	}
	if err := kraftcloud.ValidateName(in.Name); err != nil {
		return KraftCloudCreateResult{}, invalidInput("volume name: %v", err)
	}
	if in.SizeMB <= 0 {
		return KraftCloudCreateResult{}, invalidInput("volume %s: sizeMb must be positive, got %d", in.Name, in.SizeMB)
	}
	return kraftCreateOnce(ctx, KindKraftCloudVolume, in.Name,
		func() (*kraftcloud.Volume, error) {
			v, err := a.findVolume(ctx, kraftcloud.ByName(in.Name))
			if err == nil && v != nil && v.State == kraftcloud.VolumeStateDeleting {
				// Not one to adopt: wait for the name to free up.
				return nil, temporal.NewApplicationError(
					fmt.Sprintf("volume %s is being deleted; the create waits until it is gone", in.Name), ErrTypeRetryableAPI)
			}
			return v, err
		},
		func() (*kraftcloud.Volume, error) {
			return a.Client.Volumes.Create(ctx, &kraftcloud.VolumeCreateRequest{Name: in.Name, SizeMB: in.SizeMB})
		},
		func(v *kraftcloud.Volume) KraftCloudCreateResult {
			return KraftCloudCreateResult{UUID: v.UUID, State: v.State}
		})
}

// kraftCreateOnce is createOnce for a KraftCloud object, which the create
// call answers with as the lookup does: result reads either.
func kraftCreateOnce[T any](ctx context.Context, kind, name string,
	find, create func() (*T, error), result func(*T) KraftCloudCreateResult,
) (KraftCloudCreateResult, error) {
	return createOnce(ctx, name, find,
		func(found *T) (KraftCloudCreateResult, error) {
			r := result(found)
			r.Existed = !createWasSent(ctx, name)
			return r, nil
		},
		func() (KraftCloudCreateResult, error) {
			made, err := create()
			if err != nil {
				return KraftCloudCreateResult{}, apiError(CloudKraftCloud, "create "+kind+" "+name, err)
			}
			return result(made), nil
		})
}

// KraftCloudCreateServiceGroupInput is the input of KraftCloudCreateServiceGroup.
type KraftCloudCreateServiceGroupInput struct {
	Name     string               `json:"name"`
	Services []kraftcloud.Service `json:"services"`
	// Domains are the domain names the group answers on, besides the one the
	// metro gives it.
	Domains []string `json:"domains,omitempty"`
}

// KraftCloudCreateServiceGroup creates a service group unless one by that
// name exists.
func (a *KraftCloudActivities) KraftCloudCreateServiceGroup(ctx context.Context, in KraftCloudCreateServiceGroupInput) (KraftCloudCreateResult, error) {
	if err := a.ready(); err != nil {
		return KraftCloudCreateResult{}, err
	}
	if err := kraftcloud.ValidateName(in.Name); err != nil {
		return KraftCloudCreateResult{}, invalidInput("service group name: %v", err)
	}
	return kraftCreateOnce(ctx, KindKraftCloudServiceGroup, in.Name,
		func() (*kraftcloud.ServiceGroup, error) { return a.findServiceGroup(ctx, kraftcloud.ByName(in.Name)) },
		func() (*kraftcloud.ServiceGroup, error) {
			req := &kraftcloud.ServiceGroupCreateRequest{Name: in.Name, Services: in.Services}
			for _, d := range in.Domains {
				req.Domains = append(req.Domains, kraftcloud.DomainRequest{Name: d})
			}
			return a.Client.ServiceGroups.Create(ctx, req)
		},
		func(g *kraftcloud.ServiceGroup) KraftCloudCreateResult { return KraftCloudCreateResult{UUID: g.UUID} })
}

// KraftCloudMount mounts an existing volume, by UUID, in a new instance.
type KraftCloudMount struct {
	UUID     string `json:"uuid"`
	At       string `json:"at"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// KraftCloudCreateInstanceInput is the input of KraftCloudCreateInstance.
// Env may hold secrets: it is sent to the cloud and never logged; history
// carries it as the workflow input does (see the payload codec).
type KraftCloudCreateInstanceInput struct {
	Name     string            `json:"name"`
	Image    string            `json:"image"`
	MemoryMB int               `json:"memoryMb,omitempty"`
	VCPUs    int               `json:"vcpus,omitempty"`
	Args     []string          `json:"args,omitempty"`
	Env      map[string]string `json:"env,omitempty"`
	// ServiceGroup is the UUID of the service group the instance joins.
	ServiceGroup string            `json:"serviceGroup,omitempty"`
	Volumes      []KraftCloudMount `json:"volumes,omitempty"`
	// Autostart starts the instance as it is created: the answer says
	// "starting", and KraftCloudWaitInstances waits for "running".
	Autostart bool `json:"autostart,omitempty"`
}

// KraftCloudCreateInstance creates an instance, in its service group and with
// its volumes mounted, unless one by that name exists.
func (a *KraftCloudActivities) KraftCloudCreateInstance(ctx context.Context, in KraftCloudCreateInstanceInput) (KraftCloudCreateResult, error) {
	if err := a.ready(); err != nil {
		return KraftCloudCreateResult{}, err
	}
	if err := kraftcloud.ValidateName(in.Name); err != nil {
		return KraftCloudCreateResult{}, invalidInput("instance name: %v", err)
	}
	if in.Image == "" {
		return KraftCloudCreateResult{}, invalidInput("instance %s: an image is required", in.Name)
	}
	return kraftCreateOnce(ctx, KindKraftCloudInstance, in.Name,
		func() (*kraftcloud.Instance, error) { return a.findInstance(ctx, kraftcloud.ByName(in.Name)) },
		func() (*kraftcloud.Instance, error) {
			autostart := in.Autostart
			req := &kraftcloud.InstanceCreateRequest{
				Name: in.Name, Image: in.Image, MemoryMB: in.MemoryMB, VCPUs: in.VCPUs,
				Args: in.Args, Env: in.Env, Autostart: &autostart,
			}
			if in.ServiceGroup != "" {
				req.ServiceGroup = &kraftcloud.InstanceServiceGroupRequest{UUID: in.ServiceGroup}
			}
			for _, m := range in.Volumes {
				req.Volumes = append(req.Volumes, kraftcloud.InstanceVolumeRequest{UUID: m.UUID, At: m.At, ReadOnly: m.ReadOnly})
			}
			return a.Client.Instances.Create(ctx, req)
		},
		func(inst *kraftcloud.Instance) KraftCloudCreateResult {
			return KraftCloudCreateResult{UUID: inst.UUID, State: inst.State, FQDN: inst.FQDN}
		})
}

// KraftCloudDeleteInput names an object to delete by UUID or, failing that,
// by name.
type KraftCloudDeleteInput struct {
	UUID string `json:"uuid,omitempty"`
	Name string `json:"name,omitempty"`
}

func (in KraftCloudDeleteInput) ref(kind string) (kraftcloud.Ref, error) {
	switch {
	case in.UUID != "":
		return kraftcloud.ByUUID(in.UUID), nil
	case in.Name != "":
		return kraftcloud.ByName(in.Name), nil
	}
	return kraftcloud.Ref{}, invalidInput("a %s uuid or name is required", kind)
}

// KraftCloudDeleteResult is what a KraftCloud delete activity did.
type KraftCloudDeleteResult struct {
	UUID string `json:"uuid,omitempty"`
	// AlreadyGone is true when there was nothing to delete.
	AlreadyGone bool `json:"alreadyGone,omitempty"`
}

// KraftCloudDeleteInstance deletes an instance, which frees the volumes it
// mounts and leaves its service group.
func (a *KraftCloudActivities) KraftCloudDeleteInstance(ctx context.Context, in KraftCloudDeleteInput) (KraftCloudDeleteResult, error) {
	if err := a.ready(); err != nil {
		return KraftCloudDeleteResult{}, err
	}
	return kraftDelete(ctx, KindKraftCloudInstance, in, false,
		func(ctx context.Context, refs []kraftcloud.Ref) ([]kraftcloud.Instance, error) {
			r, err := a.Client.Instances.Delete(ctx, refs)
			if err != nil {
				return nil, err
			}
			return r.Instances, nil
		},
		func(it *kraftcloud.Instance) (kraftcloud.ItemStatus, string) { return it.ItemStatus, it.UUID })
}

// KraftCloudDeleteServiceGroup deletes a service group. The cloud refuses
// while an instance is in it; that is retried, since the instance's delete,
// which runs first, takes it out.
func (a *KraftCloudActivities) KraftCloudDeleteServiceGroup(ctx context.Context, in KraftCloudDeleteInput) (KraftCloudDeleteResult, error) {
	if err := a.ready(); err != nil {
		return KraftCloudDeleteResult{}, err
	}
	return kraftDelete(ctx, KindKraftCloudServiceGroup, in, true,
		func(ctx context.Context, refs []kraftcloud.Ref) ([]kraftcloud.ServiceGroup, error) {
			r, err := a.Client.ServiceGroups.Delete(ctx, refs)
			if err != nil {
				return nil, err
			}
			return r.ServiceGroups, nil
		},
		func(it *kraftcloud.ServiceGroup) (kraftcloud.ItemStatus, string) { return it.ItemStatus, it.UUID })
}

// KraftCloudDeleteVolume deletes a volume. The cloud refuses while it is
// attached; that is retried, since the delete of the instance that mounts
// it, which runs first, detaches it.
func (a *KraftCloudActivities) KraftCloudDeleteVolume(ctx context.Context, in KraftCloudDeleteInput) (KraftCloudDeleteResult, error) {
	if err := a.ready(); err != nil {
		return KraftCloudDeleteResult{}, err
	}
	return kraftDelete(ctx, KindKraftCloudVolume, in, true,
		func(ctx context.Context, refs []kraftcloud.Ref) ([]kraftcloud.Volume, error) {
			r, err := a.Client.Volumes.Delete(ctx, refs)
			if err != nil {
				return nil, err
			}
			return r.Volumes, nil
		},
		func(it *kraftcloud.Volume) (kraftcloud.ItemStatus, string) { return it.ItemStatus, it.UUID })
}

// kraftDelete deletes one object with a batch call of one item. Not found
// means already gone. With retryBusy, the cloud's "invalid state" (still
// attached, still in use) is worth retrying.
func kraftDelete[T any](ctx context.Context, kind string, in KraftCloudDeleteInput, retryBusy bool,
	del func(context.Context, []kraftcloud.Ref) ([]T, error), statusOf func(*T) (kraftcloud.ItemStatus, string),
) (KraftCloudDeleteResult, error) {
	ref, err := in.ref(kind)
	if err != nil {
		return KraftCloudDeleteResult{}, err
	}
	what := fmt.Sprintf("delete %s %s", kind, ref)
	items, err := del(ctx, []kraftcloud.Ref{ref})
	switch {
	case kraftcloud.IsNotFound(err):
		return KraftCloudDeleteResult{UUID: in.UUID, AlreadyGone: true}, nil
	case err != nil:
		return KraftCloudDeleteResult{}, apiError(CloudKraftCloud, what, err)
	case len(items) == 0:
		return KraftCloudDeleteResult{}, temporal.NewApplicationError(what+": the answer had no item", ErrTypeRetryableAPI)
	}
	st, uuid := statusOf(&items[0])
	switch {
	case st.OK():
		return KraftCloudDeleteResult{UUID: firstNonEmpty(uuid, in.UUID)}, nil
	case st.Error == kraftcloud.ErrCodeNotFound:
		return KraftCloudDeleteResult{UUID: in.UUID, AlreadyGone: true}, nil
	case st.Error == kraftcloud.ErrCodeInvalidState && retryBusy:
		return KraftCloudDeleteResult{}, temporal.NewApplicationError(
			fmt.Sprintf("%s: %s (retrying: the instance using it is being deleted)", what, orUnknown(st.Message)), ErrTypeRetryableAPI,
			CloudErrorDetails{Cloud: CloudKraftCloud, Code: strconv.Itoa(st.Error), Message: st.Message})
	}
	return KraftCloudDeleteResult{}, kraftItemError(what, st)
}

func (a *KraftCloudActivities) findInstance(ctx context.Context, ref kraftcloud.Ref) (*kraftcloud.Instance, error) {
	return kraftFind(ctx, KindKraftCloudInstance, ref,
		func(ctx context.Context, refs []kraftcloud.Ref) ([]kraftcloud.Instance, error) {
			r, err := a.Client.Instances.Status(ctx, refs)
			if err != nil {
				return nil, err
			}
			return r.Instances, nil
		},
		func(it *kraftcloud.Instance) kraftcloud.ItemStatus { return it.ItemStatus })
}

func (a *KraftCloudActivities) findServiceGroup(ctx context.Context, ref kraftcloud.Ref) (*kraftcloud.ServiceGroup, error) {
	return kraftFind(ctx, KindKraftCloudServiceGroup, ref,
		func(ctx context.Context, refs []kraftcloud.Ref) ([]kraftcloud.ServiceGroup, error) {
			r, err := a.Client.ServiceGroups.Status(ctx, refs)
			if err != nil {
				return nil, err
			}
			return r.ServiceGroups, nil
		},
		func(it *kraftcloud.ServiceGroup) kraftcloud.ItemStatus { return it.ItemStatus })
}

func (a *KraftCloudActivities) findVolume(ctx context.Context, ref kraftcloud.Ref) (*kraftcloud.Volume, error) {
	return kraftFind(ctx, KindKraftCloudVolume, ref,
		func(ctx context.Context, refs []kraftcloud.Ref) ([]kraftcloud.Volume, error) {
			r, err := a.Client.Volumes.Status(ctx, refs)
			if err != nil {
				return nil, err
			}
			return r.Volumes, nil
		},
		func(it *kraftcloud.Volume) kraftcloud.ItemStatus { return it.ItemStatus })
}

// kraftFind looks one object up with a status call of one item; nil, nil
// when the cloud has none (item error 8).
func kraftFind[T any](ctx context.Context, kind string, ref kraftcloud.Ref,
	status func(context.Context, []kraftcloud.Ref) ([]T, error), statusOf func(*T) kraftcloud.ItemStatus,
) (*T, error) {
	what := fmt.Sprintf("look up %s %s", kind, ref)
	items, err := status(ctx, []kraftcloud.Ref{ref})
	switch {
	case kraftcloud.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, apiError(CloudKraftCloud, what, err)
	case len(items) == 0:
		return nil, temporal.NewApplicationError(what+": the answer had no item", ErrTypeRetryableAPI)
	}
	it := &items[0]
	switch st := statusOf(it); {
	case st.OK():
		return it, nil
	case st.Error == kraftcloud.ErrCodeNotFound:
		return nil, nil
	default:
		return nil, kraftItemError(what, st)
	}
}

// kraftItemError is the activity error of an item the API refused. Not
// found, invalid state, duplicates and invalid arguments are final; anything
// else (unavailable, unknown codes) is retried.
func kraftItemError(what string, st kraftcloud.ItemStatus) error {
	details := CloudErrorDetails{Cloud: CloudKraftCloud, Code: strconv.Itoa(st.Error), Message: st.Message}
	msg := fmt.Sprintf("%s: %s (code %d)", what, orUnknown(st.Message), st.Error)
	switch st.Error {
	case kraftcloud.ErrCodeNotFound, kraftcloud.ErrCodeInvalidState, kraftcloud.ErrCodeAlreadyExists, kraftcloud.ErrCodeInvalidArgument:
		return temporal.NewNonRetryableApplicationError(msg, ErrTypeAPI, nil, details)
	}
	return temporal.NewApplicationError(msg, ErrTypeRetryableAPI, details)
}
