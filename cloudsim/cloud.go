package cloudsim

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
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
	inventory() inventory
	// reset drops created resources and operations and restores the fixtures
	// and the configured operation latency.
	reset()
	setOperationLatency(d time.Duration)
	// writeError answers an error in the cloud's error format.
	writeError(w http.ResponseWriter, status int, code, message string)
}

// inventory is what Server.Inventory shows of a cloud: the resources
// clients created, by kind, each rendered as the cloud's GET answers it.
type inventory map[string][]json.RawMessage

// add files v, rendered, under kind.
func (inv inventory) add(kind string, v any) { inv[kind] = append(inv[kind], encodeRaw(v)) }

// counter is implemented by clouds that count the actions they applied, so
// tests can prove that every resource was, say, started exactly once. The
// counts are by kind ("instance-starts") and resource name, and survive until
// the Server is reset.
type counter interface {
	counters() map[string]map[string]int
}

// expirer is implemented by clouds whose operations can be read for a while
// and then answer as unknown (CloudMC tasks), so that tests can
// shorten the while (Server.SetOperationExpiry). 0 keeps them forever.
type expirer interface {
	setOperationExpiry(d time.Duration)
}

// env is what the Server lends its clouds.
type env struct {
	now func() time.Time
	log *slog.Logger
	// tally is the cloud's own action counters (see counter); the Server
	// gives each cloud its own and clears it on Reset.
	tally *tally
}

// durationOption is the value of a duration option whose zero value takes
// def and whose negative value means none at all: 0.
func durationOption(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// tally counts applied actions by kind and resource name. It is safe for
// concurrent use and a nil *tally counts nothing.
type tally struct {
	mu sync.Mutex
	m  map[string]map[string]int
}

func (t *tally) add(kind, name string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]map[string]int{}
	}
	if t.m[kind] == nil {
		t.m[kind] = map[string]int{}
	}
	t.m[kind][name]++
}

// snapshot copies the counts; every kind listed is present, if empty.
func (t *tally) snapshot(kinds ...string) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, k := range kinds {
		out[k] = map[string]int{}
	}
	if t == nil {
		return out
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, names := range t.m {
		out[k] = maps.Clone(names)
	}
	return out
}

func (t *tally) reset() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.m = nil
}

// unknownEndpoint answers the requests under prefix that no route of mux
// serves, after the cloud's own auth check: 405 with an Allow header when the
// path is served for other methods, else 404. fail writes the error in the
// cloud's format.
func unknownEndpoint(mux *http.ServeMux, prefix string, authorize func(http.ResponseWriter, *http.Request) bool,
	fail func(w http.ResponseWriter, status int, msg string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorize(w, r) {
			return
		}
		var allowed []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, p := mux.Handler(probe); p != prefix && p != "" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
			fail(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not supported on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allowed, ", ")))
			return
		}
		fail(w, http.StatusNotFound, fmt.Sprintf("No such endpoint: %s %s", r.Method, r.URL.Path))
	})
}
