package kraftcloud

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// InstancesService manages unikernel instances (/v1/instances).
type InstancesService service

// Instance states.
const (
	StateStopped  = "stopped"
	StateStarting = "starting"
	StateRunning  = "running"
	StateDraining = "draining"
	StateStopping = "stopping"
	StateStandby  = "standby"
)

// instanceStates are the states WaitRequest.State may name.
var instanceStates = []string{StateStopped, StateStarting, StateRunning, StateDraining, StateStopping, StateStandby}

// Instance features for InstanceCreateRequest.Features.
const FeatureDeleteOnStop = "delete-on-stop"

// Instance is an instance as the API reports it. In a batch answer an item
// that failed carries only its ItemStatus and the UUID or name it was asked for.
type Instance struct {
	ItemStatus
	UUID          string                `json:"uuid,omitempty"`
	Name          string                `json:"name,omitempty"`
	State         string                `json:"state,omitempty"`
	PreviousState string                `json:"previous_state,omitempty"`
	Image         string                `json:"image,omitempty"`
	FQDN          string                `json:"fqdn,omitempty"`
	PrivateIP     string                `json:"private_ip,omitempty"`
	CreatedAt     string                `json:"created_at,omitempty"`
	MemoryMB      int                   `json:"memory_mb,omitempty"`
	VCPUs         int                   `json:"vcpus,omitempty"`
	Args          []string              `json:"args,omitempty"`
	Env           map[string]string     `json:"env,omitempty"`
	ServiceGroup  *InstanceServiceGroup `json:"service_group,omitempty"`
	Volumes       []InstanceVolume      `json:"volumes,omitempty"`
	BootTimeUs    int64                 `json:"boot_time_us,omitempty"`
}

// InstanceServiceGroup is the service group an instance belongs to.
type InstanceServiceGroup struct {
	UUID string `json:"uuid,omitempty"`
	Name string `json:"name,omitempty"`
}

// InstanceVolume is a volume mounted in an instance.
type InstanceVolume struct {
	UUID     string `json:"uuid,omitempty"`
	Name     string `json:"name,omitempty"`
	At       string `json:"at,omitempty"`
	ReadOnly bool   `json:"readonly,omitempty"`
}

// InstancesResult is the answer of a global-scope (batch) call: every item
// carries its own outcome, and partial success is data, never an error.
type InstancesResult struct {
	// Status is the envelope's: StatusSuccess, StatusPartialSuccess or StatusError.
	Status    string     `json:"status"`
	Message   string     `json:"message,omitempty"`
	Instances []Instance `json:"instances"`
}

// Failed returns the items whose status is not success.
func (r *InstancesResult) Failed() []Instance {
	if r == nil {
		return nil
	}
	return failed(r.Instances)
}

// InstanceCreateRequest is the body of InstancesService.Create. Only Image is
// required.
type InstanceCreateRequest struct {
	Image         string                       `json:"image"`
	Name          string                       `json:"name,omitempty"`
	Args          []string                     `json:"args,omitempty"`
	Env           map[string]string            `json:"env,omitempty"`
	MemoryMB      int                          `json:"memory_mb,omitempty"`
	VCPUs         int                          `json:"vcpus,omitempty"`
	Autostart     *bool                        `json:"autostart,omitempty"`
	Replicas      int                          `json:"replicas,omitempty"`
	WaitTimeoutMs int                          `json:"wait_timeout_ms,omitempty"`
	Features      []string                     `json:"features,omitempty"`
	ServiceGroup  *InstanceServiceGroupRequest `json:"service_group,omitempty"`
	Volumes       []InstanceVolumeRequest      `json:"volumes,omitempty"`
	RestartPolicy string                       `json:"restart_policy,omitempty"`
	ScaleToZero   *ScaleToZero                 `json:"scale_to_zero,omitempty"`
}

// InstanceServiceGroupRequest puts a new instance in an existing service
// group (UUID or Name) or in a new one published with Services (and
// optionally named Name).
type InstanceServiceGroupRequest struct {
	UUID     string    `json:"uuid,omitempty"`
	Name     string    `json:"name,omitempty"`
	Services []Service `json:"services,omitempty"`
}

// InstanceVolumeRequest mounts a volume at At: an existing one (UUID or Name)
// or a new one of SizeMB (optionally named Name).
type InstanceVolumeRequest struct {
	UUID     string `json:"uuid,omitempty"`
	Name     string `json:"name,omitempty"`
	SizeMB   int    `json:"size_mb,omitempty"`
	At       string `json:"at"`
	ReadOnly bool   `json:"readonly,omitempty"`
}

// Scale-to-zero policies.
const (
	ScaleToZeroOff  = "off"
	ScaleToZeroOn   = "on"
	ScaleToZeroIdle = "idle"
)

// ScaleToZero configures scaling an instance to zero when it is idle.
type ScaleToZero struct {
	Policy         string `json:"policy,omitempty"`
	Stateful       *bool  `json:"stateful,omitempty"`
	CooldownTimeMs int    `json:"cooldown_time_ms,omitempty"`
}

// StartRequest is one item of InstancesService.Start. A positive
// WaitTimeoutMs makes the server wait for the instance to be running.
type StartRequest struct {
	Ref
	WaitTimeoutMs int `json:"wait_timeout_ms,omitempty"`
}

// StopRequest is one item of InstancesService.Stop.
type StopRequest struct {
	Ref
	Force          bool `json:"force,omitempty"`
	DrainTimeoutMs int  `json:"drain_timeout_ms,omitempty"`
}

// WaitRequest is one item of InstancesService.Wait: the server answers when
// the instance reaches State (the server's default when empty) or after
// TimeoutMs.
type WaitRequest struct {
	Ref
	State     string `json:"state,omitempty"`
	TimeoutMs int    `json:"timeout_ms,omitempty"`
}

const instancesCollection = "instances"

func (s *InstancesService) req(method, path string, body any) request {
	return request{method: method, path: path, body: body, collection: instancesCollection}
}

func instancesResult(status, message string, items []Instance, err error) (*InstancesResult, error) {
	if err != nil {
		return nil, err
	}
	return &InstancesResult{Status: status, Message: message, Instances: items}, nil
}

// Create creates an instance (POST /instances) and returns it; with Replicas
// the first instance the server reports.
func (s *InstancesService) Create(ctx context.Context, req *InstanceCreateRequest) (*Instance, error) {
	if err := checkInstanceCreate(req); err != nil {
		return nil, err
	}
	r := s.req(http.MethodPost, "instances", req)
	r.wait = msDuration(req.WaitTimeoutMs)
	return one[Instance](ctx, s.client, r)
}

// List fetches every instance (GET /instances without a body).
func (s *InstancesService) List(ctx context.Context) ([]Instance, error) {
	return list[Instance](ctx, s.client, s.req(http.MethodGet, "instances", nil))
}

// Status fetches the named instances (GET /instances with a body).
func (s *InstancesService) Status(ctx context.Context, refs []Ref) (*InstancesResult, error) {
	if err := checkBatch("refs", refs, checkRef); err != nil {
		return nil, err
	}
	return instancesResult(batch[Instance](ctx, s.client, s.req(http.MethodGet, "instances", refs)))
}

// Get fetches one instance by UUID (GET /instances/{uuid}).
func (s *InstancesService) Get(ctx context.Context, uuid string) (*Instance, error) {
	if err := checkID("instance UUID", uuid); err != nil {
		return nil, err
	}
	return one[Instance](ctx, s.client, s.req(http.MethodGet, "instances/"+uuid, nil))
}

// Start starts instances (PUT /instances/start).
func (s *InstancesService) Start(ctx context.Context, reqs []StartRequest) (*InstancesResult, error) {
	err := checkBatch("reqs", reqs, func(field string, r StartRequest) error {
		return firstError(checkRef(field, r.Ref), nonNegative(field+".wait_timeout_ms", r.WaitTimeoutMs))
	})
	if err != nil {
		return nil, err
	}
	r := s.req(http.MethodPut, "instances/start", reqs)
	r.wait = maxWait(reqs, func(r StartRequest) int { return r.WaitTimeoutMs })
	return instancesResult(batch[Instance](ctx, s.client, r))
}

// StartOne starts one instance (PUT /instances/{uuid}/start); a positive
// waitTimeoutMs makes the server wait for it to be running.
func (s *InstancesService) StartOne(ctx context.Context, uuid string, waitTimeoutMs int) (*Instance, error) {
	if err := firstError(checkID("instance UUID", uuid), nonNegative("wait_timeout_ms", waitTimeoutMs)); err != nil {
		return nil, err
	}
	var body any
	if waitTimeoutMs > 0 {
		body = struct {
			WaitTimeoutMs int `json:"wait_timeout_ms"`
		}{waitTimeoutMs}
	}
	r := s.req(http.MethodPut, "instances/"+uuid+"/start", body)
	r.wait = msDuration(waitTimeoutMs)
	return one[Instance](ctx, s.client, r)
}

// Stop stops instances (PUT /instances/stop).
func (s *InstancesService) Stop(ctx context.Context, reqs []StopRequest) (*InstancesResult, error) {
	err := checkBatch("reqs", reqs, func(field string, r StopRequest) error {
		return firstError(checkRef(field, r.Ref), nonNegative(field+".drain_timeout_ms", r.DrainTimeoutMs))
	})
	if err != nil {
		return nil, err
	}
	r := s.req(http.MethodPut, "instances/stop", reqs)
	r.wait = maxWait(reqs, func(r StopRequest) int { return r.DrainTimeoutMs })
	return instancesResult(batch[Instance](ctx, s.client, r))
}

// StopOne stops one instance (PUT /instances/{uuid}/stop).
func (s *InstancesService) StopOne(ctx context.Context, uuid string, force bool, drainTimeoutMs int) (*Instance, error) {
	if err := firstError(checkID("instance UUID", uuid), nonNegative("drain_timeout_ms", drainTimeoutMs)); err != nil {
		return nil, err
	}
	var body any
	if force || drainTimeoutMs > 0 {
		body = struct {
			Force          bool `json:"force,omitempty"`
			DrainTimeoutMs int  `json:"drain_timeout_ms,omitempty"`
		}{force, drainTimeoutMs}
	}
	r := s.req(http.MethodPut, "instances/"+uuid+"/stop", body)
	r.wait = msDuration(drainTimeoutMs)
	return one[Instance](ctx, s.client, r)
}

// Delete deletes instances (DELETE /instances with a body).
func (s *InstancesService) Delete(ctx context.Context, refs []Ref) (*InstancesResult, error) {
	if err := checkBatch("refs", refs, checkRef); err != nil {
		return nil, err
	}
	return instancesResult(batch[Instance](ctx, s.client, s.req(http.MethodDelete, "instances", refs)))
}

// DeleteOne deletes one instance (DELETE /instances/{uuid}).
func (s *InstancesService) DeleteOne(ctx context.Context, uuid string) (*Instance, error) {
	if err := checkID("instance UUID", uuid); err != nil {
		return nil, err
	}
	return one[Instance](ctx, s.client, s.req(http.MethodDelete, "instances/"+uuid, nil))
}

// Wait waits on the server for instances to reach a state (GET
// /instances/wait with a body). An instance that did not get there in time is
// reported as a failed item, not as an error.
func (s *InstancesService) Wait(ctx context.Context, reqs []WaitRequest) (*InstancesResult, error) {
	err := checkBatch("reqs", reqs, func(field string, r WaitRequest) error {
		if err := checkRef(field, r.Ref); err != nil {
			return err
		}
		if r.State != "" && !slices.Contains(instanceStates, r.State) {
			return invalid("%s.state %q is not an instance state (want one of %s)", field, r.State, strings.Join(instanceStates, ", "))
		}
		return nonNegative(field+".timeout_ms", r.TimeoutMs)
	})
	if err != nil {
		return nil, err
	}
	r := s.req(http.MethodGet, "instances/wait", reqs)
	r.wait = maxWait(reqs, func(r WaitRequest) int { return r.TimeoutMs })
	return instancesResult(batch[Instance](ctx, s.client, r))
}

func checkInstanceCreate(req *InstanceCreateRequest) error {
	if req == nil {
		return invalid("instance create request is nil")
	}
	if strings.TrimSpace(req.Image) == "" {
		return invalid("image is required")
	}
	if req.Name != "" {
		if err := checkName("name", req.Name); err != nil {
			return err
		}
	}
	err := firstError(
		nonNegative("memory_mb", req.MemoryMB),
		nonNegative("vcpus", req.VCPUs),
		nonNegative("replicas", req.Replicas),
		nonNegative("wait_timeout_ms", req.WaitTimeoutMs),
	)
	if err != nil {
		return err
	}
	if sg := req.ServiceGroup; sg != nil {
		if err := checkInstanceServiceGroup(sg); err != nil {
			return err
		}
	}
	for i, v := range req.Volumes {
		if err := checkInstanceVolume(i, v); err != nil {
			return err
		}
	}
	if z := req.ScaleToZero; z != nil {
		if err := nonNegative("scale_to_zero.cooldown_time_ms", z.CooldownTimeMs); err != nil {
			return err
		}
	}
	return nil
}

func checkInstanceServiceGroup(sg *InstanceServiceGroupRequest) error {
	hasUUID := strings.TrimSpace(sg.UUID) != ""
	switch {
	case hasUUID && sg.Name != "":
		return invalid("service_group: set at most one of uuid and name")
	case hasUUID && len(sg.Services) > 0:
		return invalid("service_group: services may only be given for a new group, not with a uuid")
	case !hasUUID && sg.Name == "" && len(sg.Services) == 0:
		return invalid("service_group: set a uuid or name of an existing group, or services for a new one")
	}
	if sg.Name != "" {
		if err := checkName("service_group.name", sg.Name); err != nil {
			return err
		}
	}
	return checkServices("service_group.services", sg.Services)
}

func checkInstanceVolume(i int, v InstanceVolumeRequest) error {
	field := fmt.Sprintf("volumes[%d]", i)
	hasUUID := strings.TrimSpace(v.UUID) != ""
	switch {
	case hasUUID && v.Name != "":
		return invalid("%s: set at most one of uuid and name", field)
	case hasUUID && v.SizeMB != 0:
		return invalid("%s: size_mb is only for a new volume, not with a uuid", field)
	case !hasUUID && v.Name == "" && v.SizeMB == 0:
		return invalid("%s: set a uuid or name of an existing volume, or size_mb for a new one", field)
	}
	if v.Name != "" {
		if err := checkName(field+".name", v.Name); err != nil {
			return err
		}
	}
	if err := nonNegative(field+".size_mb", v.SizeMB); err != nil {
		return err
	}
	return checkMountPoint(field+".at", v.At)
}

// checkMountPoint requires an absolute path.
func checkMountPoint(field, at string) error {
	if strings.TrimSpace(at) == "" {
		return invalid("%s (the mount point) is required", field)
	}
	if !strings.HasPrefix(at, "/") {
		return invalid("%s %q must be an absolute path", field, at)
	}
	return nil
}
