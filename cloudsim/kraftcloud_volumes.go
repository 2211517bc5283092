package cloudsim

import (
	"net/http"
	"slices"
	"time"
)

// Volume states.
const (
	kcVolumeAvailable = "available"
	kcVolumeMounted   = "mounted"
)

// kcVolume is a persistent volume, attached to at most one instance.
type kcVolume struct {
	kcMeta
	sizeMB   int
	attached *kcInstance
	at       string
	readonly bool
	// ownedBy is the instance the volume was created with (size_mb in the
	// instance create); it is deleted with that instance while attached to it.
	ownedBy *kcInstance
}

func (c *kraftCloud) newVolume(name string, sizeMB int) *kcVolume {
	v := &kcVolume{kcMeta: c.newMeta(name), sizeMB: sizeMB}
	c.st.volumes.put(v)
	return v
}

func (c *kraftCloud) attach(v *kcVolume, i *kcInstance, at string, readonly bool) {
	v.attached, v.at, v.readonly = i, at, readonly
	i.volumes = append(i.volumes, v)
}

func (c *kraftCloud) detach(v *kcVolume) {
	if i := v.attached; i != nil {
		i.volumes = slices.DeleteFunc(i.volumes, func(x *kcVolume) bool { return x == v })
	}
	v.attached, v.at, v.readonly = nil, "", false
}

// kcVolumeView is a volume as GET renders it.
type kcVolumeView struct {
	Status     string        `json:"status"`
	UUID       string        `json:"uuid"`
	Name       string        `json:"name"`
	CreatedAt  string        `json:"created_at"`
	SizeMB     int           `json:"size_mb"`
	State      string        `json:"state"`
	Persistent bool          `json:"persistent"`
	AttachedTo []kcMountView `json:"attached_to"` // the instance, and where it mounts the volume
}

func (c *kraftCloud) renderVolume(v *kcVolume) *kcVolumeView {
	out := &kcVolumeView{
		Status: "success", UUID: v.uuid, Name: v.name, CreatedAt: ts(v.createdAt), SizeMB: v.sizeMB,
		State: kcVolumeAvailable, Persistent: v.ownedBy == nil, AttachedTo: []kcMountView{},
	}
	if i := v.attached; i != nil {
		out.State = kcVolumeMounted
		out.AttachedTo = append(out.AttachedTo, kcMountView{UUID: i.uuid, Name: i.name, At: v.at, ReadOnly: v.readonly})
	}
	return out
}

// --- create, status, delete ---

var kcVolumes = &kcKind[*kcVolume]{
	noun: "volume", collection: "volumes", sweep: true,
	table: func(s *kcState) *kcTable[*kcVolume] { return &s.volumes },
}

type kcCreateVolumeRequest struct {
	Name   string `json:"name"`
	SizeMB int    `json:"size_mb"`
}

func (q *kcCreateVolumeRequest) name() *string { return &q.Name }

func (q *kcCreateVolumeRequest) check(param string) error {
	switch {
	case q.SizeMB == 0:
		return badParam(joinParam(param, "size_mb"), "is required")
	case q.SizeMB < 0:
		return badParam(joinParam(param, "size_mb"), "must be positive, not %d", q.SizeMB)
	}
	return nil
}

// createVolume makes a volume of POST /v1/volumes (see kcCreate).
func (c *kraftCloud) createVolume(ref kcRef, q kcCreateVolumeRequest) any {
	if c.st.volumes.taken(ref.Name) {
		return kcFail(ref, KraftCloudErrAlreadyExists, "A volume with name '%s' already exists", ref.Name)
	}
	return c.renderVolume(c.newVolume(ref.Name, q.SizeMB))
}

// volumeStatuses answers each volume as GET renders it (GET /v1/volumes with
// a body, GET /v1/volumes/{uuid}).
func (c *kraftCloud) volumeStatuses(r *http.Request, refs []kcRef) []any {
	return kcEach(c, r, kcVolumes, refs, func(v *kcVolume, _ kcRef, _ time.Time) any { return c.renderVolume(v) })
}

// deleteVolumes deletes each volume that is not attached (DELETE /v1/volumes,
// DELETE /v1/volumes/{uuid}).
func (c *kraftCloud) deleteVolumes(r *http.Request, refs []kcRef) []any {
	return kcEach(c, r, kcVolumes, refs, func(v *kcVolume, _ kcRef, _ time.Time) any {
		if i := v.attached; i != nil {
			return kcFail(kcRef{UUID: v.uuid, Name: v.name}, KraftCloudErrInvalidState,
				"Volume '%s' is attached to instance '%s': detach it first", v.name, i.name)
		}
		c.st.volumes.del(v)
		return &kcRefItem{Status: "success", UUID: v.uuid, Name: v.name}
	})
}

// --- attach and detach ---

type kcAttachRequest struct {
	kcRef
	kcAttachOptions
}

func (q *kcAttachRequest) check(param string) error {
	return kcCheckItem(param, &q.kcRef, &q.kcAttachOptions)
}

type kcAttachOptions struct {
	AttachTo *kcRef `json:"attach_to"`
	At       string `json:"at"`
	ReadOnly bool   `json:"readonly"`
}

func (o *kcAttachOptions) check(param string) error {
	if o.AttachTo == nil {
		return badParam(joinParam(param, "attach_to"), "is required: the instance to attach the volume to")
	}
	if err := o.AttachTo.check(joinParam(param, "attach_to")); err != nil {
		return err
	}
	return checkMountPoint(joinParam(param, "at"), o.At)
}

func (o kcAttachOptions) item(ref kcRef) kcAttachRequest { return kcAttachRequest{ref, o} }

// attachVolumes attaches each volume to a stopped instance
// (PUT /v1/volumes/attach, PUT /v1/volumes/{uuid}/attach).
func (c *kraftCloud) attachVolumes(r *http.Request, reqs []kcAttachRequest) []any {
	return kcEach(c, r, kcVolumes, reqs, func(v *kcVolume, q kcAttachRequest, now time.Time) any {
		vref := kcRef{UUID: v.uuid, Name: v.name}
		i := c.instance(*q.AttachTo, now)
		switch {
		case i == nil:
			e := kcNotFound("instance", *q.AttachTo)
			e.UUID, e.Name = vref.UUID, vref.Name
			return e
		case v.attached != nil:
			return kcFail(vref, KraftCloudErrInvalidState, "Volume '%s' is already attached to instance '%s'", v.name, v.attached.name)
		case i.state(now) != kcStopped:
			return kcFail(vref, KraftCloudErrInvalidState, "Instance '%s' must be stopped to attach a volume (it is %s)", i.name, i.state(now))
		case slices.ContainsFunc(i.volumes, func(x *kcVolume) bool { return x.at == q.At }):
			return kcFail(vref, KraftCloudErrInvalidArgument, "Instance '%s' already has a volume at '%s'", i.name, q.At)
		}
		c.attach(v, i, q.At, q.ReadOnly)
		return &kcRefItem{Status: "success", UUID: v.uuid, Name: v.name}
	})
}

type kcDetachRequest struct {
	kcRef
	kcDetachOptions
}

func (q *kcDetachRequest) check(param string) error {
	return kcCheckItem(param, &q.kcRef, &q.kcDetachOptions)
}

type kcDetachOptions struct {
	// From, when given, is the instance the volume must be attached to.
	From *kcRef `json:"from"`
}

func (o *kcDetachOptions) check(param string) error {
	if o.From == nil {
		return nil
	}
	return o.From.check(joinParam(param, "from"))
}

func (o kcDetachOptions) item(ref kcRef) kcDetachRequest { return kcDetachRequest{ref, o} }

// detachVolumes detaches each volume from its instance, which must be stopped
// (PUT /v1/volumes/detach, PUT /v1/volumes/{uuid}/detach).
func (c *kraftCloud) detachVolumes(r *http.Request, reqs []kcDetachRequest) []any {
	return kcEach(c, r, kcVolumes, reqs, func(v *kcVolume, q kcDetachRequest, now time.Time) any {
		vref := kcRef{UUID: v.uuid, Name: v.name}
		if v.attached == nil {
			return kcFail(vref, KraftCloudErrInvalidState, "Volume '%s' is not attached", v.name)
		}
		if q.From != nil {
			from := c.instance(*q.From, now)
			if from == nil {
				e := kcNotFound("instance", *q.From)
				e.UUID, e.Name = vref.UUID, vref.Name
				return e
			}
			if from != v.attached {
				return kcFail(vref, KraftCloudErrInvalidState, "Volume '%s' is attached to instance '%s', not '%s'", v.name, v.attached.name, from.name)
			}
		}
		if st := v.attached.state(now); st != kcStopped {
			return kcFail(vref, KraftCloudErrInvalidState, "Instance '%s' must be stopped to detach a volume (it is %s)", v.attached.name, st)
		}
		c.detach(v)
		return &kcRefItem{Status: "success", UUID: v.uuid, Name: v.name}
	})
}
