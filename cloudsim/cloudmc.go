package cloudsim

import (
	"bytes"
	"cmp"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// CloudCloudMC is the CloudMC simulator's name in Inventory, Fault.Cloud,
// RequestRecord.Cloud, Counters, SetOperationLatency and SetOperationExpiry.
const CloudCloudMC = "cloudmc"

// Defaults of the CloudMC simulator. The API key is public: it only opens
// the simulator.
const (
	DefaultCloudMCAPIKey      = "cloudsim-cloudmc-api-key"
	DefaultCloudMCServiceCode = "compute-sim"
	DefaultCloudMCEnvironment = "dev"
	DefaultCloudMCLatency     = time.Second
	DefaultCloudMCTaskTTL     = 30 * time.Minute
)

// Fixtures of the CloudMC simulator: the network, template and zone of its
// environment, its two compute offerings (an instance is made with either,
// and a stopped one changes from one to the other), and its disk offerings
// (three of a fixed size and one custom-size). They exist from the start, survive Reset
// and are not part of the Inventory; specs name them by these IDs (a disk
// offering by its name too).
const (
	CloudMCComputeOfferingID      = "3caab5ed-b5a2-4d8a-82e4-51c46168ee6c"
	CloudMCComputeOfferingName    = "1vCPU.1GB"
	CloudMCComputeOffering2ID     = "984246d3-12fc-4a0e-929c-efc778077285"
	CloudMCComputeOffering2Name   = "2vCPU.4GB"
	CloudMCNetworkID              = "d5a68379-a9ee-404f-9492-a1964b374d6f"
	CloudMCNetworkName            = "sim-network"
	CloudMCNetworkCIDR            = "10.42.0.0/24"
	CloudMCTemplateID             = "8f52a74e-e637-40e8-a8dc-f56fd0b71ab9"
	CloudMCTemplateName           = "Ubuntu 22.04 (sim)"
	CloudMCDiskOfferingID         = "21ba9c9b-a31e-496e-983f-e3041525bf95" // 50 GB, fixed
	CloudMCDiskOfferingName       = "50GB - 50 IOPS Min."
	CloudMCDiskOffering20ID       = "f85a7d71-2b60-42d2-8807-8492b69e746f"
	CloudMCDiskOffering20Name     = "20GB - 20 IOPS Min."
	CloudMCDiskOffering100ID      = "a690839d-2978-4d1a-bd7e-3e971ec738e9"
	CloudMCDiskOffering100Name    = "100GB - 100 IOPS Min."
	CloudMCCustomDiskOfferingID   = "39177a5d-6ee1-479d-bd93-b870de4051b0" // any size from 1 to 1024 GB
	CloudMCCustomDiskOfferingName = "Custom - 1 IOPS/GB"
	CloudMCZoneID                 = "04afdbd1-e32d-4999-86d0-96703736dded"
	CloudMCZoneName               = "SIM-1"
)

// Sizes of the fixtures.
const (
	cmcTemplateRootGB   = 10 // the template's OS volume
	cmcMaxVolumeGB      = 1024
	cmcMaxUserDataBytes = 32 << 10
)

// Error codes of the CloudMC simulator, the "code" of an entry of an error
// answer's errors array. 2012 is the reference's (an operation the state does
// not allow); the others are the simulator's own.
const (
	CloudMCErrInternal         = 1000 // 500
	CloudMCErrInvalidRequest   = 1001 // 400: malformed body, missing or invalid field
	CloudMCErrForbidden        = 1003 // 403: missing or wrong MC-Api-Key
	CloudMCErrNotFound         = 1004 // 404: endpoint, environment, resource or task
	CloudMCErrMethodNotAllowed = 1005 // 405
	CloudMCErrNameInUse        = 2011 // 400: instance name taken, or an overlapping ingress rule
	CloudMCErrInvalidState     = 2012 // 400: currentState and expectedStates in the context
	CloudMCErrInUse            = 2013 // 400: the volume is attached
	CloudMCErrTaskInProgress   = 2014 // 400: another task is still working on the resource
)

// CloudMCOptions configures the CloudMC v2 simulator. Zero values take the
// defaults above.
type CloudMCOptions struct {
	// APIKey is the key clients send in the MC-Api-Key header.
	APIKey string
	// ServiceCode and Environment name the one environment the simulator
	// serves: /api/v2/services/{ServiceCode}/{Environment}/...
	ServiceCode string
	Environment string
	// Latency is how long a task stays PENDING. 0 takes the default (1s); a
	// negative value makes tasks complete as of the next request.
	Latency time.Duration
	// TaskTTL is how long a task can be read, from the moment it started,
	// before GET /api/v2/tasks/{id} answers 404: the real service keeps a
	// task for about 30 minutes, and may forget one that is still running
	// (its operation goes on). 0 takes the default (30m); a negative value
	// keeps tasks forever.
	TaskTTL time.Duration
}

func (o CloudMCOptions) withDefaults() CloudMCOptions {
	o.APIKey = cmp.Or(o.APIKey, DefaultCloudMCAPIKey)
	o.ServiceCode = cmp.Or(o.ServiceCode, DefaultCloudMCServiceCode)
	o.Environment = cmp.Or(o.Environment, DefaultCloudMCEnvironment)
	o.Latency = durationOption(o.Latency, DefaultCloudMCLatency)
	o.TaskTTL = durationOption(o.TaskTTL, DefaultCloudMCTaskTTL)
	return o
}

// Kinds of the CloudMC action counters, by instance name (see Server.Counters).
const (
	cmcInstanceCreates = "instance-creates"
	cmcInstanceStarts  = "instance-starts"
	cmcInstanceStops   = "instance-stops"
	cmcInstanceReboots = "instance-reboots"
	cmcInstanceDeletes = "instance-deletes"
)

// cloudMC simulates the compute API of CloudMC v2 for one environment.
//
// Reads answer {"data": ...}. Every change is asynchronous: it is checked up
// front, answers {"taskId", "taskStatus": "PENDING"}, and its task completes
// on the lazy operation clock (operations.go) after the latency, which is
// when the change shows. As strictly as a real CloudMC may, a resource keeps
// the state it had while its task runs (an instance shows Running all
// through its delete); only a resource being created shows, in a
// transitional state. A resource held by a task refuses other changes
// (CloudMCErrTaskInProgress). GET /api/v2/tasks/{id} answers the task bare,
// as the reference shows it, with the resource as "result" once SUCCESS; a
// task started more than TaskTTL ago answers 404, finished or not.
type cloudMC struct {
	env  env
	opts CloudMCOptions

	mu  sync.Mutex // guards everything below
	ops *opClock
	st  *cmcState
}

// cmcState is the environment's resources.
type cmcState struct {
	instances table[cmcInstance]
	volumes   table[cmcVolume]
	rules     table[cmcRule]
	addrs     int // private addresses handed out
}

func newCloudMC(e env, opts CloudMCOptions) *cloudMC {
	c := &cloudMC{env: e, opts: opts.withDefaults()}
	c.ops = newOpClock(c.opts.Latency, c.opts.TaskTTL)
	c.st = &cmcState{}
	return c
}

func (c *cloudMC) name() string   { return CloudCloudMC }
func (c *cloudMC) prefix() string { return "/api/v2/" }

func (c *cloudMC) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops.reset()
	c.ops.latency = c.opts.Latency
	c.ops.expiry = c.opts.TaskTTL
	c.st = &cmcState{}
	c.env.tally.reset()
}

func (c *cloudMC) setOperationLatency(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops.latency = max(d, 0)
}

// setOperationExpiry implements expirer: the task TTL, counted from the
// task's start. 0 keeps tasks forever.
func (c *cloudMC) setOperationExpiry(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops.expiry = max(d, 0)
}

// counters implements counter: the instance creates, starts, stops, reboots
// and deletes accepted, by instance name.
func (c *cloudMC) counters() map[string]map[string]int {
	return c.env.tally.snapshot(cmcInstanceCreates, cmcInstanceStarts, cmcInstanceStops, cmcInstanceReboots, cmcInstanceDeletes)
}

func (c *cloudMC) inventory() inventory {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops.settle(c.env.now())
	inv := inventory{}
	for _, i := range c.st.instances.all() {
		inv.add("instances", c.renderInstance(i))
	}
	for _, v := range c.st.volumes.all() {
		inv.add("volumes", c.renderVolume(v))
	}
	for _, r := range c.st.rules.all() {
		inv.add("ingress-rules", c.renderRule(r))
	}
	return inv
}

// --- errors ---

// cmcError is an error answer: {"errors": [{code, message, context}]}.
type cmcError struct {
	status  int
	code    int
	message string
	context map[string]any
}

func (e *cmcError) Error() string { return e.message }

type cmcErrorEntry struct {
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Context map[string]any `json:"context"`
}

type cmcErrorBody struct {
	Errors []cmcErrorEntry `json:"errors"`
}

func (e *cmcError) body() cmcErrorBody {
	ctx := e.context
	if ctx == nil {
		ctx = map[string]any{}
	}
	return cmcErrorBody{Errors: []cmcErrorEntry{{Code: e.code, Message: e.message, Context: ctx}}}
}

// cmcCodeFor is the simulator's code for an HTTP status.
func cmcCodeFor(status int) int {
	switch status {
	case http.StatusBadRequest:
		return CloudMCErrInvalidRequest
	case http.StatusUnauthorized, http.StatusForbidden:
		return CloudMCErrForbidden
	case http.StatusNotFound:
		return CloudMCErrNotFound
	case http.StatusMethodNotAllowed:
		return CloudMCErrMethodNotAllowed
	}
	return CloudMCErrInternal
}

// cmcInvalid is a 400 about one request field.
func cmcInvalid(field, format string, a ...any) *cmcError {
	ctx := map[string]any{}
	if field != "" {
		ctx["field"] = field
	}
	return &cmcError{http.StatusBadRequest, CloudMCErrInvalidRequest, fmt.Sprintf(format, a...), ctx}
}

func cmcNotFound(kind, id string) *cmcError {
	return &cmcError{http.StatusNotFound, CloudMCErrNotFound, fmt.Sprintf("No %s with id %s in this environment", cmcSingular(kind), id),
		map[string]any{"id": id, "type": kind}}
}

// cmcWrongState is the reference's error 2012: "Cannot stop an instance that
// isn't in the running state".
func cmcWrongState(kind, id, verb, current string, expected ...string) *cmcError {
	lower := make([]string, len(expected))
	for i, s := range expected {
		lower[i] = strings.ToLower(s)
	}
	states := lower[0]
	if n := len(lower); n > 1 {
		states = strings.Join(lower[:n-1], ", ") + " or " + lower[n-1]
	}
	return &cmcError{http.StatusBadRequest, CloudMCErrInvalidState,
		fmt.Sprintf("Cannot %s %s that isn't in the %s state", verb, cmcArticle(cmcSingular(kind)), states),
		map[string]any{"id": id, "currentState": current, "expectedStates": expected, "type": kind}}
}

// cmcArticle puts "a" or "an" before a noun.
func cmcArticle(noun string) string {
	if noun != "" && strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}

// cmcSingular names one resource of a kind: "instances" → "instance".
func cmcSingular(kind string) string {
	switch kind {
	case "ingressrules":
		return "ingress rule"
	case "computeofferings":
		return "compute offering"
	case "diskofferings":
		return "disk offering"
	}
	return strings.TrimSuffix(kind, "s")
}

func (c *cloudMC) writeError(w http.ResponseWriter, status int, code, message string) {
	e := &cmcError{status: status, code: cmcCodeFor(status), message: message, context: map[string]any{}}
	if n, err := strconv.Atoi(strings.TrimSpace(code)); err == nil && n > 0 {
		e.code = n
	} else if code != "" {
		e.context["reason"] = code
	}
	if e.message == "" {
		e.message = http.StatusText(status)
	}
	writeJSON(w, status, e.body())
}

// errorBody renders err: a *cmcError as it says, any other as a 400.
func (c *cloudMC) errorBody(err error) (int, []byte) {
	var ce *cmcError
	if !errors.As(err, &ce) {
		ce = cmcInvalid("", "%s", err.Error())
	}
	b, _ := json.Marshal(ce.body())
	return ce.status, b
}

// cmcDecode reads a JSON body into v as decodeJSON does, and names the field
// of a value of the wrong type in the error's context.
func cmcDecode(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return cmcInvalid("", "cannot read request body: %v", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err := decodeJSON(r, v); err != nil {
		e := cmcInvalid("", "%s", err.Error())
		var te *json.UnmarshalTypeError
		if errors.As(json.Unmarshal(body, v), &te) && te.Field != "" {
			e.context["field"] = te.Field
		}
		return e
	}
	return nil
}

// --- auth and routing ---

// authorize checks the MC-Api-Key header and answers 403 itself when it fails.
func (c *cloudMC) authorize(w http.ResponseWriter, r *http.Request) bool {
	key := r.Header.Get("MC-Api-Key")
	msg := ""
	switch {
	case key == "":
		msg = "Missing MC-Api-Key header: send your API key in it"
	case subtle.ConstantTimeCompare([]byte(key), []byte(c.opts.APIKey)) != 1:
		msg = "Invalid API key"
	default:
		return true
	}
	c.writeError(w, http.StatusForbidden, strconv.Itoa(CloudMCErrForbidden), msg)
	return false
}

// inEnvironment checks the service code and environment of a path and
// answers 404 itself when they name another environment. org_id is accepted
// whatever it says: the simulator has one organization.
func (c *cloudMC) inEnvironment(w http.ResponseWriter, r *http.Request) bool {
	sc, envName := r.PathValue("service_code"), r.PathValue("environment_name")
	if sc == c.opts.ServiceCode && envName == c.opts.Environment {
		return true
	}
	e := &cmcError{http.StatusNotFound, CloudMCErrNotFound,
		fmt.Sprintf("No environment %q for service %q (this simulator serves %s/%s)", envName, sc, c.opts.ServiceCode, c.opts.Environment),
		map[string]any{"serviceCode": sc, "environmentName": envName, "type": "environments"}}
	writeJSON(w, e.status, e.body())
	return false
}

// cmcHandler serves one route under the cloud's lock, with due tasks
// completed; it returns the body to answer 200 with, or an error.
type cmcHandler func(r *http.Request) (any, error)

func (c *cloudMC) route(h cmcHandler, scoped bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.authorize(w, r) || (scoped && !c.inEnvironment(w, r)) {
			return
		}
		// Render under the lock, write after it: a slow client holds nothing.
		status, body := c.serveLocked(h, r)
		writeRawJSON(w, status, body)
	})
}

func (c *cloudMC) serveLocked(h cmcHandler, r *http.Request) (int, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops.settle(c.env.now())
	v, err := h(r)
	if err != nil {
		return c.errorBody(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return c.errorBody(&cmcError{http.StatusInternalServerError, CloudMCErrInternal, "cloudsim: cannot encode response: " + err.Error(), nil})
	}
	return http.StatusOK, b
}

// cmcData is a synchronous answer.
type cmcData struct {
	Data any `json:"data"`
}

// cmcList answers a collection, never null.
func cmcList[T any](items []T) cmcData {
	if items == nil {
		items = []T{}
	}
	return cmcData{Data: items}
}

func (c *cloudMC) register(mux *http.ServeMux) {
	const base = "/api/v2/services/{service_code}/{environment_name}/"
	h := func(method, p string, fn cmcHandler) { mux.Handle(method+" "+base+p, c.route(fn, true)) }

	h("GET", "instances", c.listInstances)
	h("POST", "instances", c.createInstance)
	h("GET", "instances/{id}", c.getInstance)
	h("DELETE", "instances/{id}", c.deleteInstance)
	h("POST", "instances/{id}", c.operateInstance)

	h("GET", "volumes", c.listVolumes)
	h("POST", "volumes", c.createVolume)
	h("GET", "volumes/{id}", c.getVolume)
	h("DELETE", "volumes/{id}", c.deleteVolume)
	h("POST", "volumes/{id}", c.operateVolume)

	h("GET", "ingressrules", c.listRules)
	h("POST", "ingressrules", c.createRule)
	h("GET", "ingressrules/{id}", c.getRule)
	h("DELETE", "ingressrules/{id}", c.deleteRule)

	for _, kind := range []string{"computeofferings", "templates", "networks", "diskofferings", "zones"} {
		h("GET", kind, func(r *http.Request) (any, error) { return cmcList(cmcFixtures[kind]), nil })
		h("GET", kind+"/{id}", func(r *http.Request) (any, error) { return c.getFixture(kind, r.PathValue("id")) })
	}

	mux.Handle("GET /api/v2/tasks/{id}", c.route(c.getTask, false))

	const fallback = "/api/v2/"
	mux.Handle(fallback, unknownEndpoint(mux, fallback, c.authorize, func(w http.ResponseWriter, status int, msg string) {
		c.writeError(w, status, strconv.Itoa(cmcCodeFor(status)), msg)
	}))
}

// --- fixtures ---

// cmcFixtures are the read-only entities of the environment, by kind.
var cmcFixtures = map[string][]map[string]any{
	"computeofferings": cmcComputeOfferingFixtures(),
	"templates": {{"id": CloudMCTemplateID, "name": CloudMCTemplateName, "size": cmcTemplateRootGB << 30, "isPublic": true,
		"osType": "Ubuntu 22.04 LTS (64-bit)", "zoneId": CloudMCZoneID, "zoneName": CloudMCZoneName}},
	"networks": {{"id": CloudMCNetworkID, "name": CloudMCNetworkName, "cidr": CloudMCNetworkCIDR, "zoneId": CloudMCZoneID,
		"zoneName": CloudMCZoneName, "state": "Implemented"}},
	"diskofferings": cmcDiskOfferingFixtures(),
	"zones":         {{"id": CloudMCZoneID, "name": CloudMCZoneName}},
}

// cmcComputeOffering is a compute offering: what an instance runs with.
type cmcComputeOffering struct {
	id, name    string
	cpus, memMB int
}

var cmcComputeOfferings = []cmcComputeOffering{
	{CloudMCComputeOfferingID, CloudMCComputeOfferingName, 1, 1024},
	{CloudMCComputeOffering2ID, CloudMCComputeOffering2Name, 2, 4096},
}

func cmcComputeOfferingFixtures() []map[string]any {
	var out []map[string]any
	for _, o := range cmcComputeOfferings {
		out = append(out, map[string]any{"id": o.id, "name": o.name, "cpuCount": o.cpus, "memoryInMB": o.memMB, "custom": false})
	}
	return out
}

func cmcComputeOfferingByID(id string) *cmcComputeOffering {
	for i := range cmcComputeOfferings {
		if cmcComputeOfferings[i].id == id {
			return &cmcComputeOfferings[i]
		}
	}
	return nil
}

// checkComputeOffering requires the field to name a compute offering of the
// environment.
func checkComputeOffering(field, id string) (*cmcComputeOffering, error) {
	if id == "" {
		return nil, cmcInvalid(field, "%s is required", field)
	}
	o := cmcComputeOfferingByID(id)
	if o == nil {
		ids := make([]string, len(cmcComputeOfferings))
		for i, x := range cmcComputeOfferings {
			ids[i] = x.id
		}
		return nil, cmcInvalid(field, "%s %s names no compute offering of this environment (it has %s)", field, id, strings.Join(ids, ", "))
	}
	return o, nil
}

// cmcDiskOffering is a disk offering: a volume is made from one, of its
// size, or of the size asked for when the offering is custom-size.
type cmcDiskOffering struct {
	id, name string
	gb       int // 0 for a custom-size offering
}

func (o *cmcDiskOffering) custom() bool { return o.gb == 0 }

var cmcDiskOfferings = []cmcDiskOffering{
	{CloudMCDiskOffering20ID, CloudMCDiskOffering20Name, 20},
	{CloudMCDiskOfferingID, CloudMCDiskOfferingName, 50},
	{CloudMCDiskOffering100ID, CloudMCDiskOffering100Name, 100},
	{CloudMCCustomDiskOfferingID, CloudMCCustomDiskOfferingName, 0},
}

func cmcDiskOfferingFixtures() []map[string]any {
	var out []map[string]any
	for _, o := range cmcDiskOfferings {
		out = append(out, map[string]any{"id": o.id, "name": o.name, "gbSize": o.gb, "customSize": o.custom(),
			"customIops": false, "storageTier": "performance"})
	}
	return out
}

func cmcDiskOfferingByID(id string) *cmcDiskOffering {
	for i := range cmcDiskOfferings {
		if cmcDiskOfferings[i].id == id {
			return &cmcDiskOfferings[i]
		}
	}
	return nil
}

func (c *cloudMC) getFixture(kind, id string) (any, error) {
	for _, f := range cmcFixtures[kind] {
		if f["id"] == id {
			return cmcData{Data: f}, nil
		}
	}
	return nil, cmcNotFound(kind, id)
}

// --- tasks ---

const (
	cmcTaskPending = "PENDING"
	cmcTaskSuccess = "SUCCESS"
	cmcTaskFailed  = "FAILED"
)

// cmcTask is a task as the reference renders it.
type cmcTask struct {
	TaskID     string          `json:"taskId"`
	TaskStatus string          `json:"taskStatus"`
	Result     json.RawMessage `json:"result,omitempty"`
}

// cmcHold is the task a resource is held by, if any. While it runs the
// resource keeps the state it had, and every other change to it is refused.
type cmcHold struct {
	verb   string // what the task does: create, delete, start, attach...
	taskID string
}

// refuse is the error of a change asked of a resource held by a task, or nil.
func (h cmcHold) refuse(kind, id, verb, state string) error {
	if h.taskID == "" {
		return nil
	}
	return &cmcError{http.StatusBadRequest, CloudMCErrTaskInProgress,
		fmt.Sprintf("Cannot %s %s %s: task %s (%s) is still in progress on it", verb, cmcSingular(kind), id, h.taskID, h.verb),
		map[string]any{"id": id, "type": kind, "currentState": state, "taskId": h.taskID, "operation": h.verb}}
}

// startTask starts the asynchronous side of a request, which holds the
// resource (h) until it ends. succeed applies the effect at completion and
// returns the resource for the task's result (rendered then, so it is what
// GET answered at that moment); rollback undoes what the request applied up
// front when the task fails, which an injected fail-operation fault makes
// it do.
func (c *cloudMC) startTask(r *http.Request, resourceID string, h *cmcHold, verb string, succeed func() (any, *opFailure), rollback func()) cmcTask {
	op := &operation{id: uuid.NewString(), family: "tasks", resourceIDs: []string{resourceID}}
	release := func() {
		if h.taskID == op.id {
			*h = cmcHold{}
		}
	}
	op.succeed = func() (any, *opFailure) {
		release()
		v, fail := succeed()
		if fail != nil {
			return nil, fail
		}
		return encodeRaw(v), nil
	}
	op.rollback = func() {
		release()
		if rollback != nil {
			rollback()
		}
	}
	*h = cmcHold{verb: verb, taskID: op.id}
	c.ops.start(c.env.now(), op)
	infoOf(r).started(op)
	return cmcTask{TaskID: op.id, TaskStatus: cmcTaskPending}
}

// cmcFail is the failure of a task, with a CloudMC code.
func cmcFail(code int, format string, a ...any) *opFailure {
	return &opFailure{Code: strconv.Itoa(code), Message: fmt.Sprintf(format, a...)}
}

func renderCMCTask(op *operation) cmcTask {
	t := cmcTask{TaskID: op.id, TaskStatus: cmcTaskPending}
	switch op.status {
	case opSucceeded:
		t.TaskStatus = cmcTaskSuccess
		if raw, ok := op.result.(json.RawMessage); ok {
			t.Result = raw
		}
	case opFailed:
		t.TaskStatus = cmcTaskFailed
		// The reference does not say how a failed task explains itself; the
		// simulator uses the shape of an error answer.
		f, _ := op.result.(*opFailure)
		if f == nil {
			f = &opFailure{}
		}
		e := cmcErrorEntry{Code: CloudMCErrInternal, Message: f.Message, Context: map[string]any{}}
		if n, err := strconv.Atoi(f.Code); err == nil && n > 0 {
			e.Code = n
		} else if f.Code != "" {
			e.Context["reason"] = f.Code
		}
		if e.Message == "" {
			e.Message = "The task failed"
		}
		t.Result = encodeRaw(cmcErrorBody{Errors: []cmcErrorEntry{e}})
	}
	return t
}

// getTask answers a task; one that is unknown or started more than the task
// TTL ago is a 404, as on the real service, even while its operation runs on.
func (c *cloudMC) getTask(r *http.Request) (any, error) {
	id := r.PathValue("id")
	op, ok := c.ops.get(id)
	if ok && c.ops.expiry > 0 && c.env.now().Sub(op.startedAt) > c.ops.expiry {
		ok = false
	}
	if !ok {
		return nil, &cmcError{http.StatusNotFound, CloudMCErrNotFound,
			fmt.Sprintf("No task with id %s: it does not exist or has expired", id), map[string]any{"id": id, "type": "tasks"}}
	}
	if op.done() {
		op.queried = true
	}
	return renderCMCTask(op), nil
}

// cmcTime renders a time as the API does: "2016-10-19T14:25:41-0400".
func cmcTime(t time.Time) string { return t.Format("2006-01-02T15:04:05-0700") }
