package cloudsim

import (
	"fmt"
	"net/http"
	"time"
)

// Volume types and states. Every instance gets an OS volume ("ROOT-<name>")
// that lives and dies with it; data volumes are made from a disk offering,
// attached, detached and deleted on their own. Ready is the resting state; a
// volume being created is Creating. An attach, detach or delete leaves the
// volume as it was until its task completes.
const (
	cmcVolumeOS   = "os"
	cmcVolumeData = "data"

	cmcVolumeReady    = "Ready"
	cmcVolumeCreating = "Creating"
)

type cmcVolume struct {
	id, name, typ, state string
	sizeGB               int
	diskOfferingID       string
	createdAt            time.Time
	instanceID           string // attached to
	attachTo             string // the instance an attach in flight goes to
	hold                 cmcHold
}

// cmcVolumeView is a volume as GET renders it (the reference's fields).
type cmcVolumeView struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Type             string `json:"type"`
	State            string `json:"state"`
	SizeInGB         int    `json:"sizeInGb"`
	CreationDate     string `json:"creationDate"`
	InstanceID       string `json:"instanceId,omitempty"`
	InstanceName     string `json:"instanceName,omitempty"`
	InstanceState    string `json:"instanceState,omitempty"`
	ZoneID           string `json:"zoneId"`
	ZoneName         string `json:"zoneName"`
	DiskOfferingID   string `json:"diskOfferingId,omitempty"`
	DiskOfferingName string `json:"diskOfferingName,omitempty"`
}

func (c *cloudMC) renderVolume(v *cmcVolume) cmcVolumeView {
	out := cmcVolumeView{
		ID: v.id, Name: v.name, Type: v.typ, State: v.state, SizeInGB: v.sizeGB,
		CreationDate: cmcTime(v.createdAt), ZoneID: CloudMCZoneID, ZoneName: CloudMCZoneName,
	}
	if o := cmcDiskOfferingByID(v.diskOfferingID); o != nil {
		out.DiskOfferingID, out.DiskOfferingName = o.id, o.name
	}
	if i := c.st.instances.get(v.instanceID); i != nil {
		out.InstanceID, out.InstanceName, out.InstanceState = i.id, i.name, i.state
	}
	return out
}

func (c *cloudMC) volume(id string) (*cmcVolume, error) {
	v := c.st.volumes.get(id)
	if v == nil {
		return nil, cmcNotFound("volumes", id)
	}
	return v, nil
}

func (c *cloudMC) listVolumes(r *http.Request) (any, error) {
	var out []cmcVolumeView
	for _, v := range c.st.volumes.all() {
		out = append(out, c.renderVolume(v))
	}
	return cmcList(out), nil
}

func (c *cloudMC) getVolume(r *http.Request) (any, error) {
	v, err := c.volume(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return cmcData{Data: c.renderVolume(v)}, nil
}

type cmcVolumeCreateRequest struct {
	Name           string `json:"name"`
	SizeInGB       int    `json:"sizeInGb"`
	DiskOfferingID string `json:"diskOfferingId"`
	ZoneID         string `json:"zoneId"`
	InstanceID     string `json:"instanceId"`
}

// attachTarget checks the instance a volume is to be attached to.
func (c *cloudMC) attachTarget(field, id string) (*cmcInstance, error) {
	if id == "" {
		return nil, cmcInvalid(field, "%s is required", field)
	}
	i := c.st.instances.get(id)
	if i == nil {
		return nil, cmcInvalid(field, "%s %s names no instance of this environment", field, id)
	}
	if i.state != cmcRunning && i.state != cmcStopped {
		return nil, cmcWrongState("instances", i.id, "attach a volume to", i.state, cmcRunning, cmcStopped)
	}
	if err := i.hold.refuse("instances", i.id, "attach a volume to", i.state); err != nil {
		return nil, err
	}
	return i, nil
}

// createVolume makes a data volume from a disk offering, as CloudMC on
// CloudStack does: of the offering's size, or of sizeInGb when the offering
// is custom-size (and only then). With instanceId it is attached to that
// instance as it is made.
func (c *cloudMC) createVolume(r *http.Request) (any, error) {
	var req cmcVolumeCreateRequest
	if err := cmcDecode(r, &req); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, cmcInvalid("name", "name is required")
	}
	if req.DiskOfferingID == "" {
		return nil, cmcInvalid("diskOfferingId", "diskOfferingId is required: a volume is made from a disk offering (GET .../diskofferings lists them)")
	}
	offering := cmcDiskOfferingByID(req.DiskOfferingID)
	if offering == nil {
		return nil, cmcInvalid("diskOfferingId", "diskOfferingId %s names no disk offering of this environment", req.DiskOfferingID)
	}
	size := offering.gb
	switch {
	case !offering.custom() && req.SizeInGB != 0:
		return nil, cmcInvalid("sizeInGb", "sizeInGb applies to a custom-size disk offering only: %s has a fixed size of %d GB",
			offering.name, offering.gb)
	case !offering.custom():
	case req.SizeInGB == 0:
		return nil, cmcInvalid("sizeInGb", "sizeInGb is required with the custom-size disk offering %s", offering.name)
	case req.SizeInGB < 1 || req.SizeInGB > cmcMaxVolumeGB:
		return nil, cmcInvalid("sizeInGb", "sizeInGb %d is not from 1 to %d", req.SizeInGB, cmcMaxVolumeGB)
	default:
		size = req.SizeInGB
	}
	if req.ZoneID != "" {
		if err := checkFixture("zoneId", req.ZoneID, CloudMCZoneID, "zones"); err != nil {
			return nil, err
		}
	}
	var target *cmcInstance
	if req.InstanceID != "" {
		i, err := c.attachTarget("instanceId", req.InstanceID)
		if err != nil {
			return nil, err
		}
		target = i
	}
	v := &cmcVolume{id: newID(), name: req.Name, typ: cmcVolumeData, state: cmcVolumeCreating, sizeGB: size,
		diskOfferingID: req.DiskOfferingID, createdAt: c.env.now()}
	if target != nil {
		v.attachTo = target.id
	}
	c.st.volumes.put(v.id, v)
	return c.startTask(r, v.id, &v.hold, "create", func() (any, *opFailure) {
		if c.st.volumes.get(v.id) == nil {
			return nil, cmcFail(CloudMCErrNotFound, "Volume %s disappeared while it was being created", v.id)
		}
		if v.attachTo != "" {
			if fail := c.completeAttach(v); fail != nil {
				return nil, fail
			}
		}
		v.state = cmcVolumeReady
		return c.renderVolume(v), nil
	}, func() {
		c.st.volumes.del(v.id)
	}), nil
}

// completeAttach attaches v to the instance its attach is headed to, if that
// instance is still there to take it.
func (c *cloudMC) completeAttach(v *cmcVolume) *opFailure {
	id := v.attachTo
	v.attachTo = ""
	i := c.st.instances.get(id)
	if i == nil || i.hold.verb == "delete" {
		return cmcFail(CloudMCErrNotFound, "Instance %s was destroyed before volume %s could be attached to it", id, v.id)
	}
	v.instanceID = i.id
	return nil
}

func (c *cloudMC) deleteVolume(r *http.Request) (any, error) {
	v, err := c.volume(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if v.typ == cmcVolumeOS {
		return nil, cmcInvalid("", "Volume %s is the OS volume of an instance: delete the instance instead", v.id)
	}
	if err := c.checkVolumeReady(v, "delete"); err != nil {
		return nil, err
	}
	if v.instanceID != "" {
		return nil, cmcAttached(v, "delete")
	}
	return c.startTask(r, v.id, &v.hold, "delete", func() (any, *opFailure) {
		view := c.renderVolume(v)
		c.st.volumes.del(v.id)
		return view, nil
	}, nil), nil
}

// checkVolumeReady requires a volume that is Ready and not held by a task.
func (c *cloudMC) checkVolumeReady(v *cmcVolume, verb string) error {
	if v.state != cmcVolumeReady {
		return cmcWrongState("volumes", v.id, verb, v.state, cmcVolumeReady)
	}
	return v.hold.refuse("volumes", v.id, verb, v.state)
}

func cmcAttached(v *cmcVolume, verb string) *cmcError {
	return &cmcError{http.StatusBadRequest, CloudMCErrInUse,
		fmt.Sprintf("Cannot %s volume %s: it is attached to instance %s", verb, v.id, v.instanceID),
		map[string]any{"id": v.id, "instanceId": v.instanceID, "type": "volumes"}}
}

type cmcVolumeAttachRequest struct {
	InstanceID string `json:"instanceId"`
}

// cmcVolumeOperations are the operations POST .../volumes/{id} takes.
var cmcVolumeOperations = []string{"attachToInstance", "detachFromInstance"}

// operateVolume serves POST .../volumes/{id}?operation=attachToInstance
// (body {"instanceId"}) and ?operation=detachFromInstance.
func (c *cloudMC) operateVolume(r *http.Request) (any, error) {
	op := r.URL.Query().Get("operation")
	if op != "attachToInstance" && op != "detachFromInstance" {
		msg := fmt.Sprintf("Unsupported operation %q on volumes: use attachToInstance or detachFromInstance", op)
		if op == "" {
			msg = "The operation query parameter is required: attachToInstance or detachFromInstance"
		}
		return nil, &cmcError{http.StatusBadRequest, CloudMCErrInvalidRequest, msg,
			map[string]any{"field": "operation", "operation": op, "supportedOperations": cmcVolumeOperations}}
	}
	v, err := c.volume(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	var req cmcVolumeAttachRequest
	if op == "attachToInstance" {
		if err := cmcDecode(r, &req); err != nil {
			return nil, err
		}
	}
	if v.typ == cmcVolumeOS {
		return nil, cmcInvalid("", "Volume %s is the OS volume of an instance: it cannot be attached or detached", v.id)
	}
	verb := "attach"
	if op == "detachFromInstance" {
		verb = "detach"
	}
	if err := c.checkVolumeReady(v, verb); err != nil {
		return nil, err
	}

	if op == "detachFromInstance" {
		if v.instanceID == "" {
			return nil, &cmcError{http.StatusBadRequest, CloudMCErrInvalidRequest,
				fmt.Sprintf("Volume %s is not attached to an instance", v.id), map[string]any{"id": v.id, "type": "volumes"}}
		}
		return c.startTask(r, v.id, &v.hold, "detach", func() (any, *opFailure) {
			v.instanceID = ""
			return c.renderVolume(v), nil
		}, nil), nil
	}

	if v.instanceID != "" {
		return nil, cmcAttached(v, "attach")
	}
	i, err := c.attachTarget("instanceId", req.InstanceID)
	if err != nil {
		return nil, err
	}
	v.attachTo = i.id
	return c.startTask(r, v.id, &v.hold, "attach", func() (any, *opFailure) {
		if c.st.volumes.get(v.id) == nil {
			return nil, cmcFail(CloudMCErrNotFound, "Volume %s disappeared while it was being attached", v.id)
		}
		if fail := c.completeAttach(v); fail != nil {
			return nil, fail
		}
		return c.renderVolume(v), nil
	}, func() {
		v.attachTo = ""
	}), nil
}
