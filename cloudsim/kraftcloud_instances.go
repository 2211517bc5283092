package cloudsim

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Instance states.
const (
	kcStopped  = "stopped"
	kcStarting = "starting"
	kcRunning  = "running"
	kcDraining = "draining"
	kcStopping = "stopping"
	kcStandby  = "standby"
)

var (
	kcInstanceStates      = []string{kcStopped, kcStarting, kcRunning, kcDraining, kcStopping, kcStandby}
	kcRestartPolicies     = []string{"never", "always", "on-failure"}
	kcScaleToZeroPolicies = []string{"off", "on", "idle"}
	kcFeatures            = []string{"delete-on-stop"}
)

// Limits the simulator puts on an instance's size.
const (
	kcDefaultMemoryMB = 128
	kcMinMemoryMB     = 16
	kcMaxMemoryMB     = 32768
	kcMaxVCPUs        = 16
)

// kcPhase is a transitional state an instance is in until a time.
type kcPhase struct {
	state string
	until time.Time
}

// kcInstance is an instance and what the simulator keeps aside.
type kcInstance struct {
	kcMeta
	image         string
	args          []string
	env           map[string]string
	memoryMB      int
	vcpus         int
	features      []string
	restartPolicy string
	scaleToZero   *kcScaleToZero
	privateIP     string
	nicUUID, mac  string
	group         *kcGroup
	ownGroup      bool        // the group was created with the instance
	volumes       []*kcVolume // attached, in attach order
	deleteOnStop  bool

	// The life cycle is lazy: the instance is in each phase until its time,
	// then at rest.
	phases      []kcPhase
	rest        string
	stopApplied bool // the last action was a stop (delete-on-stop)
	starts      int
	bootTime    time.Duration
}

func (i *kcInstance) ref() kcRef { return kcRef{UUID: i.uuid, Name: i.name} }

var kcInstances = &kcKind[*kcInstance]{
	noun: "instance", collection: "instances",
	table: func(s *kcState) *kcTable[*kcInstance] { return &s.instances },
	find: func(c *kraftCloud, ref kcRef, now time.Time) (*kcInstance, bool) {
		i := c.instance(ref, now)
		return i, i != nil
	},
}

// state is where the instance stands at now.
func (i *kcInstance) state(now time.Time) string {
	for _, p := range i.phases {
		if now.Before(p.until) {
			return p.state
		}
	}
	return i.rest
}

// start moves a stopped (or standby) instance to starting; it is running
// once the latency has passed.
func (c *kraftCloud) start(i *kcInstance, now time.Time) {
	i.phases = []kcPhase{{kcStarting, now.Add(c.latency)}}
	i.rest = kcRunning
	i.stopApplied = false
	i.starts++
	i.bootTime = c.latency
	c.env.tally.add(kcInstanceStarts, i.name)
}

// stop moves an instance to stopping (after draining for drain, if any); it
// is stopped once the latency has passed.
func (c *kraftCloud) stop(i *kcInstance, now time.Time, drain time.Duration) {
	var phases []kcPhase
	t := now
	if drain > 0 {
		t = t.Add(drain)
		phases = append(phases, kcPhase{kcDraining, t})
	}
	phases = append(phases, kcPhase{kcStopping, t.Add(c.latency)})
	i.phases = phases
	i.rest = kcStopped
	i.stopApplied = true
	c.env.tally.add(kcInstanceStops, i.name)
}

// instance finds a live instance. One that delete-on-stop has removed by now
// is retired first.
func (c *kraftCloud) instance(ref kcRef, now time.Time) *kcInstance {
	i, ok := c.st.instances.find(ref)
	if !ok {
		return nil
	}
	if c.retired(i, now) {
		c.removeInstance(i)
		return nil
	}
	return i
}

func (c *kraftCloud) retired(i *kcInstance, now time.Time) bool {
	return i.deleteOnStop && i.stopApplied && i.state(now) == kcStopped
}

// sweep retires every instance delete-on-stop has removed by now.
func (c *kraftCloud) sweep(now time.Time) {
	if c.st.deleteOnStop == 0 {
		return
	}
	for _, i := range c.st.instances.byUUID {
		if c.retired(i, now) {
			c.removeInstance(i)
		}
	}
}

// removeInstance deletes an instance: its volumes are detached (those created
// with it are deleted), it leaves its service group, and a group created with
// it goes when it is left empty.
func (c *kraftCloud) removeInstance(i *kcInstance) {
	for _, v := range i.volumes {
		v.attached = nil
		if v.ownedBy == i {
			c.st.volumes.del(v)
		}
	}
	i.volumes = nil
	if g := i.group; g != nil {
		delete(g.instances, i.uuid)
		if i.ownGroup && len(g.instances) == 0 {
			c.removeGroup(g)
		}
		i.group = nil
	}
	if i.deleteOnStop {
		c.st.deleteOnStop--
	}
	c.st.instances.del(i)
}

func (c *kraftCloud) nextAddress() (ip, mac string) {
	c.st.addrs++
	n := c.st.addrs + 1 // 10.0.0.2 is the first
	ip = fmt.Sprintf("10.%d.%d.%d", n>>16&0xff, n>>8&0xff, n&0xff)
	mac = fmt.Sprintf("02:00:0a:%02x:%02x:%02x", n>>16&0xff, n>>8&0xff, n&0xff)
	return ip, mac
}

// --- views ---

type kcRefView struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

type kcMountView struct {
	UUID     string `json:"uuid"`
	Name     string `json:"name"`
	At       string `json:"at"`
	ReadOnly bool   `json:"readonly"`
}

type kcNICView struct {
	UUID      string `json:"uuid"`
	PrivateIP string `json:"private_ip"`
	MAC       string `json:"mac"`
}

// kcInstanceView is an instance as GET renders it.
type kcInstanceView struct {
	Status            string            `json:"status"`
	UUID              string            `json:"uuid"`
	Name              string            `json:"name"`
	CreatedAt         string            `json:"created_at"`
	State             string            `json:"state"`
	Image             string            `json:"image"`
	MemoryMB          int               `json:"memory_mb"`
	VCPUs             int               `json:"vcpus"`
	Args              []string          `json:"args"`
	Env               map[string]string `json:"env"`
	Features          []string          `json:"features"`
	RestartPolicy     string            `json:"restart_policy"`
	ScaleToZero       *kcScaleToZero    `json:"scale_to_zero,omitempty"`
	FQDN              string            `json:"fqdn,omitempty"`
	PrivateFQDN       string            `json:"private_fqdn"`
	PrivateIP         string            `json:"private_ip"`
	ServiceGroup      *kcRefView        `json:"service_group,omitempty"`
	Volumes           []kcMountView     `json:"volumes"`
	NetworkInterfaces []kcNICView       `json:"network_interfaces"`
	StartCount        int               `json:"start_count"`
	BootTimeUS        int64             `json:"boot_time_us"`
}

// kcCreatedView is the item POST /instances answers.
type kcCreatedView struct {
	Status       string        `json:"status"`
	UUID         string        `json:"uuid"`
	Name         string        `json:"name"`
	State        string        `json:"state"`
	FQDN         string        `json:"fqdn,omitempty"`
	PrivateFQDN  string        `json:"private_fqdn"`
	PrivateIP    string        `json:"private_ip"`
	BootTimeUS   *int64        `json:"boot_time_us,omitempty"` // once running
	ServiceGroup *kcRefView    `json:"service_group,omitempty"`
	Volumes      []kcMountView `json:"volumes,omitempty"`
}

// kcStateView is the item start, stop and wait answer.
type kcStateView struct {
	Status        string `json:"status"`
	UUID          string `json:"uuid"`
	Name          string `json:"name"`
	State         string `json:"state"`
	PreviousState string `json:"previous_state,omitempty"`
}

// kcDeletedView is the item a delete answers.
type kcDeletedView struct {
	Status        string `json:"status"`
	UUID          string `json:"uuid"`
	Name          string `json:"name"`
	PreviousState string `json:"previous_state,omitempty"`
}

func (c *kraftCloud) fqdn(i *kcInstance) string {
	if i.group != nil && len(i.group.domains) > 0 {
		return i.group.domains[0]
	}
	return ""
}

func (c *kraftCloud) mounts(i *kcInstance) []kcMountView {
	out := []kcMountView{}
	for _, v := range i.volumes {
		out = append(out, kcMountView{UUID: v.uuid, Name: v.name, At: v.at, ReadOnly: v.readonly})
	}
	return out
}

func (c *kraftCloud) renderInstance(i *kcInstance, now time.Time) kcInstanceView {
	state := i.state(now)
	out := kcInstanceView{
		Status: "success", UUID: i.uuid, Name: i.name, CreatedAt: ts(i.createdAt), State: state,
		Image: i.image, MemoryMB: i.memoryMB, VCPUs: i.vcpus, Args: i.args, Env: i.env,
		Features: i.features, RestartPolicy: i.restartPolicy, ScaleToZero: i.scaleToZero,
		FQDN: c.fqdn(i), PrivateFQDN: i.name + ".internal", PrivateIP: i.privateIP,
		Volumes:           c.mounts(i),
		NetworkInterfaces: []kcNICView{{UUID: i.nicUUID, PrivateIP: i.privateIP, MAC: i.mac}},
		StartCount:        i.starts,
	}
	if i.group != nil {
		out.ServiceGroup = &kcRefView{UUID: i.group.uuid, Name: i.group.name}
	}
	if i.starts > 1 || i.starts == 1 && state != kcStarting {
		out.BootTimeUS = i.bootTime.Microseconds()
	}
	return out
}

func (c *kraftCloud) renderCreated(i *kcInstance, now time.Time) *kcCreatedView {
	out := &kcCreatedView{
		Status: "success", UUID: i.uuid, Name: i.name, FQDN: c.fqdn(i),
		PrivateFQDN: i.name + ".internal", PrivateIP: i.privateIP,
	}
	out.setState(i.state(now), i.bootTime)
	if i.group != nil {
		out.ServiceGroup = &kcRefView{UUID: i.group.uuid, Name: i.group.name}
	}
	if len(i.volumes) > 0 {
		out.Volumes = c.mounts(i)
	}
	return out
}

func (v *kcCreatedView) setState(state string, boot time.Duration) {
	v.State = state
	if state == kcRunning {
		us := boot.Microseconds()
		v.BootTimeUS = &us
	}
}

// --- create ---

type kcCreateInstanceRequest struct {
	Image         string            `json:"image"`
	Name          string            `json:"name"`
	Args          []string          `json:"args"`
	Env           map[string]string `json:"env"`
	MemoryMB      int               `json:"memory_mb"`
	VCPUs         int               `json:"vcpus"`
	Autostart     *bool             `json:"autostart"`
	Replicas      int               `json:"replicas"`
	WaitTimeoutMS int64             `json:"wait_timeout_ms"`
	Features      []string          `json:"features"`
	ServiceGroup  *kcGroupSpec      `json:"service_group"`
	Volumes       []kcVolumeSpec    `json:"volumes"`
	RestartPolicy string            `json:"restart_policy"`
	ScaleToZero   *kcScaleToZero    `json:"scale_to_zero"`
}

// kcGroupSpec names an existing service group (uuid or name) or describes a
// new one (services, and optionally a name and domains).
type kcGroupSpec struct {
	UUID     string          `json:"uuid"`
	Name     string          `json:"name"`
	Services []kcServiceSpec `json:"services"`
	Domains  []kcDomainSpec  `json:"domains"`
}

func (g *kcGroupSpec) isNew() bool { return len(g.Services) > 0 || len(g.Domains) > 0 }

// kcVolumeSpec names an existing volume (uuid or name) or, with size_mb,
// describes a new one; at is where it is mounted.
type kcVolumeSpec struct {
	UUID     string `json:"uuid"`
	Name     string `json:"name"`
	SizeMB   int    `json:"size_mb"`
	At       string `json:"at"`
	ReadOnly bool   `json:"readonly"`
}

type kcScaleToZero struct {
	Policy         string `json:"policy"`
	Stateful       bool   `json:"stateful"`
	CooldownTimeMS int64  `json:"cooldown_time_ms"`
}

// check validates the request and fills in its defaults.
func (q *kcCreateInstanceRequest) check() error {
	if strings.TrimSpace(q.Image) == "" {
		return badParam("image", "is required")
	}
	if strings.ContainsAny(q.Image, " \t\r\n") {
		return badParam("image", "%q is not an image reference", q.Image)
	}
	if q.Name != "" {
		if err := checkKCNameParam("name", &q.Name); err != nil {
			return err
		}
	}
	if q.Args == nil {
		q.Args = []string{}
	}
	if q.Env == nil {
		q.Env = map[string]string{}
	}
	for k := range q.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return badParam("env", "%q is not a variable name", k)
		}
	}
	switch {
	case q.MemoryMB == 0:
		q.MemoryMB = kcDefaultMemoryMB
	case q.MemoryMB < kcMinMemoryMB || q.MemoryMB > kcMaxMemoryMB:
		return badParam("memory_mb", "must be between %d and %d, not %d", kcMinMemoryMB, kcMaxMemoryMB, q.MemoryMB)
	}
	switch {
	case q.VCPUs == 0:
		q.VCPUs = 1
	case q.VCPUs < 1 || q.VCPUs > kcMaxVCPUs:
		return badParam("vcpus", "must be between 1 and %d, not %d", kcMaxVCPUs, q.VCPUs)
	}
	if q.Replicas != 0 {
		return badParam("replicas", "must be 0: the simulator does not run replicas (got %d)", q.Replicas)
	}
	if err := checkTimeout("wait_timeout_ms", q.WaitTimeoutMS); err != nil {
		return err
	}
	if q.Features == nil {
		q.Features = []string{}
	}
	for _, f := range q.Features {
		if !slices.Contains(kcFeatures, f) {
			return badParam("features", "%q is not a feature (want %s)", f, strings.Join(kcFeatures, ", "))
		}
	}
	if q.RestartPolicy == "" {
		q.RestartPolicy = "never"
	}
	if !slices.Contains(kcRestartPolicies, q.RestartPolicy) {
		return badParam("restart_policy", "must be one of %s, not %q", strings.Join(kcRestartPolicies, ", "), q.RestartPolicy)
	}
	if s := q.ScaleToZero; s != nil {
		if s.Policy == "" {
			s.Policy = "off"
		}
		if !slices.Contains(kcScaleToZeroPolicies, s.Policy) {
			return badParam("scale_to_zero.policy", "must be one of %s, not %q", strings.Join(kcScaleToZeroPolicies, ", "), s.Policy)
		}
		if s.CooldownTimeMS < 0 {
			return badParam("scale_to_zero.cooldown_time_ms", "must not be negative")
		}
	}
	if g := q.ServiceGroup; g != nil {
		if err := g.check("service_group"); err != nil {
			return err
		}
	}
	ats := map[string]bool{}
	for k, v := range q.Volumes {
		p := fmt.Sprintf("volumes[%d]", k)
		if err := v.check(p); err != nil {
			return err
		}
		q.Volumes[k] = v
		if ats[v.At] {
			return badParam(p+".at", "%q is used by another volume", v.At)
		}
		ats[v.At] = true
	}
	return nil
}

func (g *kcGroupSpec) check(param string) error {
	if !g.isNew() {
		ref := kcRef{UUID: g.UUID, Name: g.Name}
		if err := ref.check(param); err != nil {
			return err
		}
		g.UUID, g.Name = ref.UUID, ref.Name
		return nil
	}
	if g.UUID != "" {
		return badParam(param+".uuid", "cannot be given with services or domains: name an existing service group or describe a new one")
	}
	if g.Name != "" {
		if err := checkKCNameParam(param+".name", &g.Name); err != nil {
			return err
		}
	}
	if err := checkServices(param+".services", g.Services); err != nil {
		return err
	}
	return checkDomains(param+".domains", g.Domains)
}

func (v *kcVolumeSpec) check(param string) error {
	switch {
	case v.SizeMB < 0:
		return badParam(param+".size_mb", "must be positive, not %d", v.SizeMB)
	case v.SizeMB > 0 && v.UUID != "":
		return badParam(param+".uuid", "cannot be given with size_mb: name an existing volume or describe a new one")
	case v.SizeMB > 0 && v.Name != "":
		if err := checkKCNameParam(param+".name", &v.Name); err != nil {
			return err
		}
	case v.SizeMB == 0:
		ref := kcRef{UUID: v.UUID, Name: v.Name}
		if err := ref.check(param); err != nil {
			return err
		}
		v.UUID, v.Name = ref.UUID, ref.Name
	}
	return checkMountPoint(param+".at", v.At)
}

func checkMountPoint(param, at string) error {
	if at == "" {
		return badParam(param, "is required (the mount point, e.g. /data)")
	}
	if !strings.HasPrefix(at, "/") || strings.ContainsAny(at, "\x00\n") {
		return badParam(param, "%q is not an absolute path", at)
	}
	return nil
}

func (c *kraftCloud) createInstance(r *http.Request, body []byte) kcReply {
	if len(body) == 0 {
		return kcInvalid(&kcParamError{msg: "a JSON object describing the instance is required in the request body"})
	}
	if body[0] != '{' {
		return kcInvalid(&kcParamError{msg: "the body must be a JSON object: create one instance per request"})
	}
	var q kcCreateInstanceRequest
	if err := kcDecode(body, &q, ""); err != nil {
		return kcInvalid(err)
	}
	if err := q.check(); err != nil {
		return kcInvalid(err)
	}
	c.mu.Lock()
	item, w := c.createInstanceLocked(r, &q)
	c.mu.Unlock()
	if w != nil {
		c.await(r.Context(), []*kcWait{w})
		if v, ok := item.(*kcCreatedView); ok && !w.gone {
			v.setState(w.state, time.Duration(w.bootUS)*time.Microsecond)
		}
	}
	return kcSingleReply("instances", item)
}

// createInstanceLocked checks everything the instance refers to before it
// changes anything, so a refused create leaves no trace.
func (c *kraftCloud) createInstanceLocked(r *http.Request, q *kcCreateInstanceRequest) (any, *kcWait) {
	now := c.env.now()
	name := q.Name
	if name == "" {
		name = c.st.instances.freshName(kcImageBase(q.Image))
	}
	ref := kcRef{Name: name}
	if e := c.injected(r, ref, name); e != nil {
		return e, nil
	}
	if c.instance(ref, now) != nil {
		return kcFail(ref, KraftCloudErrAlreadyExists, "An instance with name '%s' already exists", name), nil
	}

	var group *kcGroup
	var newGroup *kcGroupPlan
	if g := q.ServiceGroup; g != nil {
		if g.isNew() {
			plan, e := c.planGroup(ref, g.Name, name, g.Services, g.Domains)
			if e != nil {
				return e, nil
			}
			newGroup = plan
		} else {
			found, ok := c.st.groups.find(kcRef{UUID: g.UUID, Name: g.Name})
			if !ok {
				e := kcNotFound("service group", kcRef{UUID: g.UUID, Name: g.Name})
				e.UUID, e.Name = "", name
				return e, nil
			}
			group = found
		}
	}

	vols := make([]*kcVolume, len(q.Volumes))
	newNames := map[string]bool{}
	for k, vs := range q.Volumes {
		if vs.SizeMB > 0 {
			if vs.Name != "" && (c.st.volumes.taken(vs.Name) || newNames[vs.Name]) {
				return kcFail(ref, KraftCloudErrAlreadyExists, "A volume with name '%s' already exists", vs.Name), nil
			}
			newNames[vs.Name] = true
			continue
		}
		v, ok := c.st.volumes.find(kcRef{UUID: vs.UUID, Name: vs.Name})
		if !ok {
			e := kcNotFound("volume", kcRef{UUID: vs.UUID, Name: vs.Name})
			e.UUID, e.Name = "", name
			return e, nil
		}
		if v.attached != nil {
			return kcFail(ref, KraftCloudErrInvalidState, "Volume '%s' is already attached to instance '%s'", v.name, v.attached.name), nil
		}
		if slices.Contains(vols, v) {
			return kcFail(ref, KraftCloudErrInvalidArgument, "Volume '%s' is given twice", v.name), nil
		}
		vols[k] = v
	}

	ip, mac := c.nextAddress()
	i := &kcInstance{
		kcMeta: c.newMeta(name), image: q.Image, args: q.Args, env: q.Env,
		memoryMB: q.MemoryMB, vcpus: q.VCPUs, features: q.Features, restartPolicy: q.RestartPolicy,
		scaleToZero: q.ScaleToZero, privateIP: ip, nicUUID: newID(), mac: mac,
		deleteOnStop: slices.Contains(q.Features, "delete-on-stop"), rest: kcStopped,
	}
	c.st.instances.put(i)
	c.env.tally.add(kcInstanceCreates, name)
	if i.deleteOnStop {
		c.st.deleteOnStop++
	}
	if newGroup != nil {
		group = c.applyGroup(newGroup)
		i.ownGroup = true
	}
	if group != nil {
		group.instances[i.uuid] = i
		i.group = group
	}
	for k, vs := range q.Volumes {
		v := vols[k]
		if v == nil {
			vname := vs.Name
			if vname == "" {
				vname = c.st.volumes.freshName(name + "-vol")
			}
			v = c.newVolume(vname, vs.SizeMB)
			v.ownedBy = i
		}
		c.attach(v, i, vs.At, vs.ReadOnly)
	}
	if q.Autostart == nil || *q.Autostart {
		c.start(i, now)
	}
	item := c.renderCreated(i, now)
	if i.starts == 0 || q.WaitTimeoutMS == 0 {
		return item, nil
	}
	return item, &kcWait{uuid: i.uuid, want: kcRunning, deadline: kcDeadline(q.WaitTimeoutMS)}
}

// --- status ---

// instanceStatuses answers each instance as GET renders it
// (GET /v1/instances with a body, GET /v1/instances/{uuid}).
func (c *kraftCloud) instanceStatuses(r *http.Request, refs []kcRef) []any {
	return kcEach(c, r, kcInstances, refs, func(i *kcInstance, _ kcRef, now time.Time) any {
		v := c.renderInstance(i, now)
		return &v
	})
}

// --- start ---

// kcStartRequest holds WaitTimeoutMS itself rather than embedding
// kcStartOptions: encoding/json names an embedded struct in type errors
// ("[0].kcStopOptions.force"), and start has always said "[0].wait_timeout_ms".
type kcStartRequest struct {
	kcRef
	WaitTimeoutMS int64 `json:"wait_timeout_ms"`
}

func (q *kcStartRequest) check(param string) error {
	return kcCheckItem(param, &q.kcRef, kcStartOptions{q.WaitTimeoutMS})
}

type kcStartOptions struct {
	WaitTimeoutMS int64 `json:"wait_timeout_ms"`
}

func (o kcStartOptions) check(param string) error {
	return checkTimeout(joinParam(param, "wait_timeout_ms"), o.WaitTimeoutMS)
}

func (o kcStartOptions) item(ref kcRef) kcStartRequest {
	return kcStartRequest{kcRef: ref, WaitTimeoutMS: o.WaitTimeoutMS}
}

// startInstances starts each instance (PUT /v1/instances/start,
// PUT /v1/instances/{uuid}/start), then holds the answer for those that asked
// to wait until they run or their timeout passes.
func (c *kraftCloud) startInstances(r *http.Request, reqs []kcStartRequest) []any {
	var waits []*kcWait
	var waiting []*kcStateView
	out := kcEach(c, r, kcInstances, reqs, func(i *kcInstance, q kcStartRequest, now time.Time) any {
		prev := i.state(now)
		switch prev {
		case kcRunning:
			return kcFail(i.ref(), KraftCloudErrInvalidState, "Instance '%s' is already running", i.name)
		case kcStarting:
			return kcFail(i.ref(), KraftCloudErrInvalidState, "Instance '%s' is already running (starting)", i.name)
		case kcStopping, kcDraining:
			return kcFail(i.ref(), KraftCloudErrInvalidState, "Instance '%s' is %s: it can be started once stopped", i.name, prev)
		}
		c.start(i, now)
		v := &kcStateView{Status: "success", UUID: i.uuid, Name: i.name, State: i.state(now), PreviousState: prev}
		if q.WaitTimeoutMS != 0 {
			waits = append(waits, &kcWait{uuid: i.uuid, want: kcRunning, deadline: kcDeadline(q.WaitTimeoutMS)})
			waiting = append(waiting, v)
		}
		return v
	})
	c.await(r.Context(), waits)
	for k, w := range waits {
		if !w.gone {
			waiting[k].State = w.state
		}
	}
	return out
}

// --- stop ---

type kcStopRequest struct {
	kcRef
	kcStopOptions
}

func (q *kcStopRequest) check(param string) error {
	return kcCheckItem(param, &q.kcRef, &q.kcStopOptions)
}

type kcStopOptions struct {
	Force          bool  `json:"force"`
	DrainTimeoutMS int64 `json:"drain_timeout_ms"`
}

func (o kcStopOptions) check(param string) error {
	if o.DrainTimeoutMS < 0 {
		return badParam(joinParam(param, "drain_timeout_ms"), "must not be negative")
	}
	return nil
}

func (o kcStopOptions) item(ref kcRef) kcStopRequest { return kcStopRequest{ref, o} }

// stopInstances stops each instance (PUT /v1/instances/stop,
// PUT /v1/instances/{uuid}/stop), draining it first unless forced.
func (c *kraftCloud) stopInstances(r *http.Request, reqs []kcStopRequest) []any {
	return kcEach(c, r, kcInstances, reqs, func(i *kcInstance, q kcStopRequest, now time.Time) any {
		prev := i.state(now)
		switch prev {
		case kcStopped:
			return kcFail(i.ref(), KraftCloudErrInvalidState, "Instance '%s' is already stopped", i.name)
		case kcStopping, kcDraining:
			return kcFail(i.ref(), KraftCloudErrInvalidState, "Instance '%s' is already stopping (%s)", i.name, prev)
		}
		drain := time.Duration(q.DrainTimeoutMS) * time.Millisecond
		if q.Force {
			drain = 0
		}
		c.stop(i, now, drain)
		return &kcStateView{Status: "success", UUID: i.uuid, Name: i.name, State: i.state(now), PreviousState: prev}
	})
}

// --- delete ---

// deleteInstances deletes each instance (DELETE /v1/instances,
// DELETE /v1/instances/{uuid}), whatever its state.
func (c *kraftCloud) deleteInstances(r *http.Request, refs []kcRef) []any {
	return kcEach(c, r, kcInstances, refs, func(i *kcInstance, _ kcRef, now time.Time) any {
		prev := i.state(now)
		c.removeInstance(i)
		return &kcDeletedView{Status: "success", UUID: i.uuid, Name: i.name, PreviousState: prev}
	})
}

// --- wait ---

type kcWaitRequest struct {
	kcRef
	kcWaitOptions
}

func (q *kcWaitRequest) check(param string) error {
	return kcCheckItem(param, &q.kcRef, &q.kcWaitOptions)
}

type kcWaitOptions struct {
	State     string `json:"state"`
	TimeoutMS *int64 `json:"timeout_ms"`
}

// check fills in the defaults: state running, no time limit.
func (o *kcWaitOptions) check(param string) error {
	if o.State == "" {
		o.State = kcRunning
	}
	if !slices.Contains(kcInstanceStates, o.State) {
		return badParam(joinParam(param, "state"), "must be one of %s, not %q", strings.Join(kcInstanceStates, ", "), o.State)
	}
	if o.TimeoutMS == nil {
		o.TimeoutMS = new(int64(-1))
	}
	return checkTimeout(joinParam(param, "timeout_ms"), *o.TimeoutMS)
}

func (o kcWaitOptions) item(ref kcRef) kcWaitRequest { return kcWaitRequest{ref, o} }

// waitInstances holds the answer until each instance is in the state asked
// for or its timeout passes (GET /v1/instances/wait,
// GET /v1/instances/{uuid}/wait). An item whose timeout passed first fails
// with KraftCloudErrTimeout and the state the instance is in; when every item
// of a batch timed out, the whole answer is an error (see kcBatchReply).
func (c *kraftCloud) waitInstances(r *http.Request, reqs []kcWaitRequest) []any {
	var active []*kcWait
	out := kcEach(c, r, kcInstances, reqs, func(i *kcInstance, q kcWaitRequest, _ time.Time) any {
		w := &kcWait{uuid: i.uuid, name: i.name, want: q.State, deadline: kcDeadline(*q.TimeoutMS)}
		active = append(active, w)
		return w // answered below, once the wait is over
	})
	c.await(r.Context(), active)
	for k, it := range out {
		w, ok := it.(*kcWait)
		switch {
		case !ok:
		case w.gone:
			out[k] = kcNotFound("instance", reqs[k].kcRef)
		case w.state != w.want:
			e := kcFail(kcRef{UUID: w.uuid, Name: w.name}, KraftCloudErrTimeout,
				"Timed out waiting for instance '%s' to be %s: it is %s", w.name, w.want, w.state)
			e.State = w.state
			out[k] = e
		default:
			out[k] = &kcStateView{Status: "success", UUID: w.uuid, Name: w.name, State: w.state}
		}
	}
	return out
}

// kcWait is one instance a request holds its answer for.
type kcWait struct {
	uuid, name string
	want       string
	deadline   time.Time // real time; zero waits until the client gives up
	// what the last poll saw
	state  string
	bootUS int64
	gone   bool
	done   bool
}

// kcPollInterval is how often a waiting request looks at the lazy states.
const kcPollInterval = 10 * time.Millisecond

// kcDeadline turns a timeout in milliseconds into a real-time deadline; -1
// is no limit.
func kcDeadline(ms int64) time.Time {
	if ms < 0 {
		return time.Time{}
	}
	return time.Now().Add(time.Duration(ms) * time.Millisecond)
}

// await polls until every wait is done (reached, timed out, or its instance
// gone) or ctx ends. It takes the lock for each poll only.
func (c *kraftCloud) await(ctx context.Context, ws []*kcWait) {
	if len(ws) == 0 {
		return
	}
	tick := time.NewTicker(kcPollInterval)
	defer tick.Stop()
	for c.poll(ws) {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// poll updates the waits and reports whether any is still pending.
func (c *kraftCloud) poll(ws []*kcWait) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now, real := c.env.now(), time.Now()
	pending := false
	for _, w := range ws {
		if w.done {
			continue
		}
		i := c.instance(kcRef{UUID: w.uuid}, now)
		if i == nil {
			w.gone, w.done = true, true
			continue
		}
		w.name, w.state, w.bootUS = i.name, i.state(now), i.bootTime.Microseconds()
		if w.state == w.want || !w.deadline.IsZero() && !real.Before(w.deadline) {
			w.done = true
			continue
		}
		pending = true
	}
	return pending
}
