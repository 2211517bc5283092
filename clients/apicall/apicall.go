// Package apicall describes the calls cloudflow's cloud API clients make, for
// whoever watches them (the worker's metrics), without the clients knowing
// who that is.
package apicall

import "time"

// Call is one request a client sent and how it ended.
type Call struct {
	// Cloud is the client's name: "crusoe", "kraftcloud", "cloudmc", "openvz".
	Cloud string
	// Verb names the call by its method and the API's path template, never
	// by the IDs in the path, e.g. "GET /projects/{project_id}/compute/vms/instances/{vm_id}".
	// A request outside the client's list of routes is "<METHOD> other".
	Verb string
	// Status is the HTTP status of the answer, 0 when none came (a network
	// error, a timeout, a cancelled context).
	Status int
	// Duration is the time from sending the request to reading the answer's
	// body (or giving up).
	Duration time.Duration
}

// Observer is told of every call, on the caller's goroutine, after the call
// ended: it must be quick and safe for concurrent use.
type Observer func(Call)
