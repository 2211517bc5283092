package cloudsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// CloudOpenVZ is the container API simulator's name in Inventory,
// Fault.Cloud, RequestRecord.Cloud, Counters and SetOperationLatency.
const CloudOpenVZ = "openvz"

// DefaultOpenVZLatency is how long a job stays pending unless
// OpenVZOptions.Latency says otherwise.
const DefaultOpenVZLatency = time.Second

// Error codes of the container API's {code, message} error body. The
// reference names 100 (bad request) and 200 (internal error); 101 (the name
// is taken, HTTP 422) and 102 (no such container or job, HTTP 404) are the
// simulator's.
const (
	OpenVZCodeInvalidRequest = 100
	OpenVZCodeDuplicateName  = 101
	OpenVZCodeNotFound       = 102
	OpenVZCodeInternal       = 200
)

// OpenVZOptions configures the container API v0.1 simulator.
type OpenVZOptions struct {
	// Latency is how long a container create job stays pending before it is
	// done. 0 takes the default (1s); a negative value makes jobs done as of
	// the next request.
	Latency time.Duration
}

func (o OpenVZOptions) withDefaults() OpenVZOptions {
	o.Latency = durationOption(o.Latency, DefaultOpenVZLatency)
	return o
}

// Kinds of the container API's action counters, by container name.
const (
	ovzContainerCreates = "container-creates"
	ovzContainerDeletes = "container-deletes"
)

// openVZ simulates the container API v0.1 (openvz-containers-v0.1.txt and
// NOTES.md): no authentication; a create is enqueued as a job that is
// pending for the latency and then done (or failed, under a fail-operation
// fault, with no reason given), on the lazy operation clock; the container
// exists only once its job is done; everything else is synchronous.
type openVZ struct {
	env  env
	opts OpenVZOptions

	mu  sync.Mutex // guards everything below
	ops *opClock
	st  *ovzState
}

// ovzState is the host's containers.
type ovzState struct {
	// containers are the ones whose job is done, in creation order.
	containers table[ovzContainer]
	// names maps every name in use to its container ID, from the create
	// request on: a container whose job is pending holds its name too.
	names map[string]string
}

func newOVZState() *ovzState { return &ovzState{names: map[string]string{}} }

// ovzContainer is a container as the simulator keeps it.
type ovzContainer struct {
	id, name, ostemplate string
	// parameters are the ones PATCH set; nil (rendered null) until then.
	parameters map[string]string
	createdAt  time.Time
}

func newOpenVZ(e env, opts OpenVZOptions) *openVZ {
	c := &openVZ{env: e, opts: opts.withDefaults()}
	// Jobs never expire: the reference says nothing of it.
	c.ops = newOpClock(c.opts.Latency, 0)
	c.st = newOVZState()
	return c
}

func (c *openVZ) name() string   { return CloudOpenVZ }
func (c *openVZ) prefix() string { return "/v0.1/" }

func (c *openVZ) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops.reset()
	c.ops.latency = c.opts.Latency
	c.st = newOVZState()
}

func (c *openVZ) setOperationLatency(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops.latency = max(d, 0)
}

// counters implements counter: containers created (their job done) and
// deleted, by name.
func (c *openVZ) counters() map[string]map[string]int {
	return c.env.tally.snapshot(ovzContainerCreates, ovzContainerDeletes)
}

// inventory lists the containers as GET renders them. A container whose job
// is pending is not there: it does not exist yet.
func (c *openVZ) inventory() inventory {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops.settle(c.env.now())
	inv := inventory{}
	for _, ct := range c.st.containers.all() {
		inv.add("containers", ct.render())
	}
	return inv
}

// --- answers ---

// ovzContainerView is a container as GET /containers/{id} renders it.
type ovzContainerView struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	OSTemplate string            `json:"ostemplate"`
	Parameters map[string]string `json:"parameters"`
	CreatedAt  string            `json:"created_at"`
}

func (ct *ovzContainer) render() ovzContainerView {
	return ovzContainerView{
		ID: ct.id, Name: ct.name, OSTemplate: ct.ostemplate,
		Parameters: maps.Clone(ct.parameters), CreatedAt: ts(ct.createdAt),
	}
}

const ovzSuccess = "success"

// ovzDone is the answer of PATCH and DELETE: {"message": "success", "code": 0}.
type ovzDone struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
}

// ovzError is an error answer: {"code": ..., "message": ...}.
type ovzError struct {
	status  int
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *ovzError) Error() string { return e.Message }

func ovzInvalid(format string, a ...any) error {
	return &ovzError{http.StatusBadRequest, OpenVZCodeInvalidRequest, fmt.Sprintf(format, a...)}
}

func ovzNotFound(kind, id string) error {
	return &ovzError{http.StatusNotFound, OpenVZCodeNotFound, fmt.Sprintf("%s %s not found", kind, id)}
}

// ovzCodeFor is the code of an error answer with the given status.
func ovzCodeFor(status int) int {
	switch {
	case status == http.StatusNotFound:
		return OpenVZCodeNotFound
	case status == http.StatusUnprocessableEntity:
		return OpenVZCodeDuplicateName
	case status >= 500:
		return OpenVZCodeInternal
	}
	return OpenVZCodeInvalidRequest
}

// writeError answers in the API's error format. The code of an injected
// fault is used when it is a number, else derived from the status.
func (c *openVZ) writeError(w http.ResponseWriter, status int, code, message string) {
	n, err := strconv.Atoi(code)
	if err != nil {
		n = ovzCodeFor(status)
	}
	if message == "" {
		message = statusCode(status)
	}
	writeJSON(w, status, &ovzError{Code: n, Message: message})
}

// --- routes ---

// ovzHandler serves one route under the cloud's lock, with due jobs
// completed; it returns the status and body to answer with, or an error.
type ovzHandler func(r *http.Request) (int, any, error)

func (c *openVZ) route(h ovzHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Render under the lock, write after it: a slow client holds nothing.
		status, body := c.serveLocked(h, r)
		writeRawJSON(w, status, body)
	})
}

func (c *openVZ) serveLocked(h ovzHandler, r *http.Request) (int, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops.settle(c.env.now())
	status, v, err := h(r)
	if err == nil {
		var b []byte
		if b, err = json.Marshal(v); err == nil {
			return status, b
		}
		err = &ovzError{http.StatusInternalServerError, OpenVZCodeInternal, "cannot encode the response: " + err.Error()}
	}
	var oe *ovzError
	if !errors.As(err, &oe) {
		oe = &ovzError{http.StatusInternalServerError, OpenVZCodeInternal, err.Error()}
	}
	b, _ := json.Marshal(oe)
	return oe.status, b
}

// register wires the reference's paths, with its trailing slashes: the
// collection is /containers/, an item /containers/{id}.
func (c *openVZ) register(mux *http.ServeMux) {
	h := func(pattern string, fn ovzHandler) { mux.Handle(pattern, c.route(fn)) }
	h("POST /v0.1/containers/{$}", c.createContainer)
	h("GET /v0.1/containers/{$}", c.listContainers)
	h("GET /v0.1/containers/{id}", c.getContainer)
	h("PATCH /v0.1/containers/{id}", c.updateContainer)
	h("DELETE /v0.1/containers/{id}", c.deleteContainer)
	h("GET /v0.1/jobs/{id}", c.getJob)

	// The collection without its slash is redirected, as a Flask route
	// declared with one does; 308 keeps the method and body.
	mux.HandleFunc("/v0.1/containers", func(w http.ResponseWriter, r *http.Request) {
		u := *r.URL
		u.Path += "/"
		u.RawPath = ""
		http.Redirect(w, r, u.String(), http.StatusPermanentRedirect)
	})

	const fallback = "/v0.1/"
	mux.Handle(fallback, unknownEndpoint(mux, fallback,
		func(http.ResponseWriter, *http.Request) bool { return true }, // no authentication
		func(w http.ResponseWriter, status int, msg string) { c.writeError(w, status, "", msg) }))
}
