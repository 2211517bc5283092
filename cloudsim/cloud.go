package cloudsim

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

// cloud is one simulated API. The Server routes every request whose path
// starts with the cloud's prefix through the shared fault and journal
// middleware to the routes the cloud registered.
type cloud interface {
	// name is the cloud's key in Inventory, Fault.Cloud and RequestRecord.Cloud.
	name() string
	// prefix is the URL path prefix the cloud answers under, e.g. "/v1alpha5/".
	prefix() string
	// register adds the cloud's routes, all under its prefix, to mux.
	register(mux *http.ServeMux)
	// inventory renders the resources clients created, by kind.
	inventory() map[string][]json.RawMessage
	// reset drops created resources and operations and restores the fixtures
	// and the configured operation latency.
	reset()
	setOperationLatency(d time.Duration)
	// writeError answers an error in the cloud's error format.
	writeError(w http.ResponseWriter, status int, code, message string)
}

// env is what the Server lends its clouds.
type env struct {
	now func() time.Time
	log *slog.Logger
}
