package cloudsim

import (
	"fmt"
	"net/http"
	"slices"
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

type kcCreateVolumeRequest struct {
	Name   string `json:"name"`
	SizeMB int    `json:"size_mb"`
}

// createVolumes serves POST /volumes: one object, or an array of them.
func (c *kraftCloud) createVolumes(r *http.Request, body []byte) kcReply {
	reqs, batch, err := kcDecodeItems[kcCreateVolumeRequest](body)
	if err != nil {
		return kcInvalid(err)
	}
	for k := range reqs {
		p := ""
		if batch {
			p = fmt.Sprintf("[%d]", k)
		}
		q := &reqs[k]
		if q.Name != "" {
			if err := checkKCNameParam(joinParam(p, "name"), &q.Name); err != nil {
				return kcInvalid(err)
			}
		}
		switch {
		case q.SizeMB == 0:
			return kcInvalid(badParam(joinParam(p, "size_mb"), "is required"))
		case q.SizeMB < 0:
			return kcInvalid(badParam(joinParam(p, "size_mb"), "must be positive, not %d", q.SizeMB))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	items := make([]any, len(reqs))
	for k, q := range reqs {
		name := q.Name
		if name == "" {
			name = c.st.volumes.freshName("vol")
		}
		ref := kcRef{Name: name}
		if e := c.injected(r, ref, name); e != nil {
			items[k] = e
			continue
		}
		if c.st.volumes.taken(name) {
			items[k] = kcFail(ref, KraftCloudErrAlreadyExists, "A volume with name '%s' already exists", name)
			continue
		}
		items[k] = c.renderVolume(c.newVolume(name, q.SizeMB))
	}
	return kcReplyFor(batch, "volumes", items)
}

func (c *kraftCloud) getVolumes(r *http.Request, body []byte) kcReply {
	if len(body) == 0 {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.sweep(c.env.now())
		items := []any{}
		for _, v := range c.st.volumes.sorted() {
			items = append(items, kcRefView{UUID: v.uuid, Name: v.name})
		}
		return kcBatchReply("volumes", items)
	}
	refs, batch, err := kcDecodeItems[kcRef](body)
	if err == nil {
		err = checkRefs(refs)
	}
	if err != nil {
		return kcInvalid(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(c.env.now())
	items := make([]any, len(refs))
	for k, ref := range refs {
		items[k] = c.volumeStatus(r, ref)
	}
	return kcReplyFor(batch, "volumes", items)
}

func (c *kraftCloud) getVolume(r *http.Request, body []byte) kcReply {
	ref, err := kcPathRef(r)
	if err == nil {
		err = kcDecodeLocal(body, &struct{}{})
	}
	if err != nil {
		return kcInvalid(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(c.env.now())
	return kcSingleReply("volumes", c.volumeStatus(r, ref))
}

func (c *kraftCloud) volumeStatus(r *http.Request, ref kcRef) any {
	v, ok := c.st.volumes.find(ref)
	if e := c.injected(r, ref, nameOf(v, ref)); e != nil {
		return e
	}
	if !ok {
		return kcNotFound("volume", ref)
	}
	return c.renderVolume(v)
}

func (c *kraftCloud) deleteVolumes(r *http.Request, body []byte) kcReply {
	refs, batch, err := kcDecodeItems[kcRef](body)
	if err == nil {
		err = checkRefs(refs)
	}
	if err != nil {
		return kcInvalid(err)
	}
	return kcReplyFor(batch, "volumes", c.applyVolumeDeletes(r, refs))
}

func (c *kraftCloud) deleteVolume(r *http.Request, body []byte) kcReply {
	ref, err := kcPathRef(r)
	if err == nil {
		err = kcDecodeLocal(body, &struct{}{})
	}
	if err != nil {
		return kcInvalid(err)
	}
	return kcSingleReply("volumes", c.applyVolumeDeletes(r, []kcRef{ref})[0])
}

func (c *kraftCloud) applyVolumeDeletes(r *http.Request, refs []kcRef) []any {
	out := make([]any, len(refs))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(c.env.now())
	for k, ref := range refs {
		v, ok := c.st.volumes.find(ref)
		if e := c.injected(r, ref, nameOf(v, ref)); e != nil {
			out[k] = e
			continue
		}
		if !ok {
			out[k] = kcNotFound("volume", ref)
			continue
		}
		if i := v.attached; i != nil {
			out[k] = kcFail(kcRef{UUID: v.uuid, Name: v.name}, KraftCloudErrInvalidState,
				"Volume '%s' is attached to instance '%s': detach it first", v.name, i.name)
			continue
		}
		c.st.volumes.del(v)
		out[k] = &kcRefItem{Status: "success", UUID: v.uuid, Name: v.name}
	}
	return out
}

// --- attach and detach ---

type kcAttachRequest struct {
	kcRef
	kcAttachOptions
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

func (c *kraftCloud) attachVolumes(r *http.Request, body []byte) kcReply {
	reqs, batch, err := kcDecodeItems[kcAttachRequest](body)
	if err != nil {
		return kcInvalid(err)
	}
	for k := range reqs {
		p := fmt.Sprintf("[%d]", k)
		if err := reqs[k].kcRef.check(p); err != nil {
			return kcInvalid(err)
		}
		if err := reqs[k].kcAttachOptions.check(p); err != nil {
			return kcInvalid(err)
		}
	}
	return kcReplyFor(batch, "volumes", c.applyAttaches(r, reqs))
}

func (c *kraftCloud) attachVolume(r *http.Request, body []byte) kcReply {
	ref, err := kcPathRef(r)
	var opts kcAttachOptions
	if err == nil {
		err = kcDecodeLocal(body, &opts)
	}
	if err == nil {
		err = opts.check("")
	}
	if err != nil {
		return kcInvalid(err)
	}
	return kcSingleReply("volumes", c.applyAttaches(r, []kcAttachRequest{{ref, opts}})[0])
}

// applyAttaches attaches volumes to stopped instances.
func (c *kraftCloud) applyAttaches(r *http.Request, reqs []kcAttachRequest) []any {
	out := make([]any, len(reqs))
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.env.now()
	c.sweep(now)
	for k, q := range reqs {
		v, ok := c.st.volumes.find(q.kcRef)
		if e := c.injected(r, q.kcRef, nameOf(v, q.kcRef)); e != nil {
			out[k] = e
			continue
		}
		if !ok {
			out[k] = kcNotFound("volume", q.kcRef)
			continue
		}
		vref := kcRef{UUID: v.uuid, Name: v.name}
		i := c.instance(*q.AttachTo, now)
		switch {
		case i == nil:
			e := kcNotFound("instance", *q.AttachTo)
			e.UUID, e.Name = vref.UUID, vref.Name
			out[k] = e
			continue
		case v.attached != nil:
			out[k] = kcFail(vref, KraftCloudErrInvalidState, "Volume '%s' is already attached to instance '%s'", v.name, v.attached.name)
			continue
		case i.state(now) != kcStopped:
			out[k] = kcFail(vref, KraftCloudErrInvalidState, "Instance '%s' must be stopped to attach a volume (it is %s)", i.name, i.state(now))
			continue
		case slices.ContainsFunc(i.volumes, func(x *kcVolume) bool { return x.at == q.At }):
			out[k] = kcFail(vref, KraftCloudErrInvalidArgument, "Instance '%s' already has a volume at '%s'", i.name, q.At)
			continue
		}
		c.attach(v, i, q.At, q.ReadOnly)
		out[k] = &kcRefItem{Status: "success", UUID: v.uuid, Name: v.name}
	}
	return out
}

type kcDetachRequest struct {
	kcRef
	kcDetachOptions
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

func (c *kraftCloud) detachVolumes(r *http.Request, body []byte) kcReply {
	reqs, batch, err := kcDecodeItems[kcDetachRequest](body)
	if err != nil {
		return kcInvalid(err)
	}
	for k := range reqs {
		p := fmt.Sprintf("[%d]", k)
		if err := reqs[k].kcRef.check(p); err != nil {
			return kcInvalid(err)
		}
		if err := reqs[k].kcDetachOptions.check(p); err != nil {
			return kcInvalid(err)
		}
	}
	return kcReplyFor(batch, "volumes", c.applyDetaches(r, reqs))
}

func (c *kraftCloud) detachVolume(r *http.Request, body []byte) kcReply {
	ref, err := kcPathRef(r)
	var opts kcDetachOptions
	if err == nil {
		err = kcDecodeLocal(body, &opts)
	}
	if err == nil {
		err = opts.check("")
	}
	if err != nil {
		return kcInvalid(err)
	}
	return kcSingleReply("volumes", c.applyDetaches(r, []kcDetachRequest{{ref, opts}})[0])
}

// applyDetaches detaches volumes from stopped instances.
func (c *kraftCloud) applyDetaches(r *http.Request, reqs []kcDetachRequest) []any {
	out := make([]any, len(reqs))
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.env.now()
	c.sweep(now)
	for k, q := range reqs {
		v, ok := c.st.volumes.find(q.kcRef)
		if e := c.injected(r, q.kcRef, nameOf(v, q.kcRef)); e != nil {
			out[k] = e
			continue
		}
		if !ok {
			out[k] = kcNotFound("volume", q.kcRef)
			continue
		}
		vref := kcRef{UUID: v.uuid, Name: v.name}
		if v.attached == nil {
			out[k] = kcFail(vref, KraftCloudErrInvalidState, "Volume '%s' is not attached", v.name)
			continue
		}
		if q.From != nil {
			from := c.instance(*q.From, now)
			if from == nil {
				e := kcNotFound("instance", *q.From)
				e.UUID, e.Name = vref.UUID, vref.Name
				out[k] = e
				continue
			}
			if from != v.attached {
				out[k] = kcFail(vref, KraftCloudErrInvalidState, "Volume '%s' is attached to instance '%s', not '%s'", v.name, v.attached.name, from.name)
				continue
			}
		}
		if st := v.attached.state(now); st != kcStopped {
			out[k] = kcFail(vref, KraftCloudErrInvalidState, "Instance '%s' must be stopped to detach a volume (it is %s)", v.attached.name, st)
			continue
		}
		c.detach(v)
		out[k] = &kcRefItem{Status: "success", UUID: v.uuid, Name: v.name}
	}
	return out
}
