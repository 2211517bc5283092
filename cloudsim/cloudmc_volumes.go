package cloudsim

import (
	"fmt"
	"net/http"
	"time"
)

// Volume types and states. Every instance gets an OS volume ("ROOT-<name>")
// that lives and dies with it; data volumes are made, attached, detached and
// deleted on their own. Ready is the resting state; the others last while a
// task works on the volume.
const (
	cmcVolumeOS   = "os"
	cmcVolumeData = "data"

	cmcVolumeReady      = "Ready"
	cmcVolumeCreating   = "Creating"
	cmcVolumeAttaching  = "Attaching"
	cmcVolumeDetaching  = "Detaching"
	cmcVolumeDestroying = "Destroying"
)

type cmcVolume struct {
	id, name, typ, state string
	sizeGB               int
	diskOfferingID       string
	createdAt            time.Time
	instanceID           string // attached to
	attachTo             string // the instance an attach in flight goes to
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
	if v.diskOfferingID != "" {
		out.DiskOfferingID, out.DiskOfferingName = v.diskOfferingID, CloudMCDiskOfferingName
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
	return i, nil
}

// createVolume makes a data volume: the size is sizeInGb, else the disk
// offering's; with instanceId it is attached to that instance as it is made.
func (c *cloudMC) createVolume(r *http.Request) (any, error) {
	var req cmcVolumeCreateRequest
	if err := cmcDecode(r, &req); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, cmcInvalid("name", "name is required")
	}
	size := req.SizeInGB
	if req.DiskOfferingID != "" {
		if err := checkFixture("diskOfferingId", req.DiskOfferingID, CloudMCDiskOfferingID, "diskofferings"); err != nil {
			return nil, err
		}
		if size == 0 {
			size = cmcDiskOfferingGB
		}
	}
	switch {
	case size == 0:
		return nil, cmcInvalid("sizeInGb", "sizeInGb is required without a diskOfferingId")
	case size < 1 || size > cmcMaxVolumeGB:
		return nil, cmcInvalid("sizeInGb", "sizeInGb %d is not from 1 to %d", size, cmcMaxVolumeGB)
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
	return c.startTask(r, v.id, func() (any, *opFailure) {
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
	if i == nil || i.state == cmcDestroying {
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
	v.state = cmcVolumeDestroying
	return c.startTask(r, v.id, func() (any, *opFailure) {
		view := c.renderVolume(v)
		c.st.volumes.del(v.id)
		return view, nil
	}, func() {
		if v.state == cmcVolumeDestroying {
			v.state = cmcVolumeReady
		}
	}), nil
}

func (c *cloudMC) checkVolumeReady(v *cmcVolume, verb string) error {
	if v.state != cmcVolumeReady {
		return cmcWrongState("volumes", v.id, verb, v.state, cmcVolumeReady)
	}
	return nil
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
		v.state = cmcVolumeDetaching
		return c.startTask(r, v.id, func() (any, *opFailure) {
			v.instanceID = ""
			v.state = cmcVolumeReady
			return c.renderVolume(v), nil
		}, func() {
			if v.state == cmcVolumeDetaching {
				v.state = cmcVolumeReady
			}
		}), nil
	}

	if v.instanceID != "" {
		return nil, cmcAttached(v, "attach")
	}
	i, err := c.attachTarget("instanceId", req.InstanceID)
	if err != nil {
		return nil, err
	}
	v.state, v.attachTo = cmcVolumeAttaching, i.id
	return c.startTask(r, v.id, func() (any, *opFailure) {
		if c.st.volumes.get(v.id) == nil {
			return nil, cmcFail(CloudMCErrNotFound, "Volume %s disappeared while it was being attached", v.id)
		}
		if fail := c.completeAttach(v); fail != nil {
			return nil, fail
		}
		v.state = cmcVolumeReady
		return c.renderVolume(v), nil
	}, func() {
		v.attachTo = ""
		if v.state == cmcVolumeAttaching {
			v.state = cmcVolumeReady
		}
	}), nil
}
