package cloudsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Options configures a Server. The zero value serves every cloud with its
// default credentials and latency.
type Options struct {
	Crusoe     CrusoeOptions
	KraftCloud KraftCloudOptions
	OpenVZ     OpenVZOptions
	CloudMC    CloudMCOptions
	// Faults are installed at start, as if added with AddFault.
	Faults []Fault
	// Logger receives one record per cloud request; nil discards.
	Logger *slog.Logger
	// Now is the clock that drives asynchronous operations and the journal;
	// nil is time.Now. Tests inject a clock they can advance.
	Now func() time.Time
}

// Server serves the simulated clouds and the admin API under /_sim/.
// It is an http.Handler and is safe for concurrent use.
type Server struct {
	env     env
	clouds  []cloud
	routes  *http.ServeMux // the clouds' routes
	admin   *http.ServeMux
	faults  faultSet
	journal journal
	tallies []*tally // the clouds' action counters
}

// New builds a Server with the fixtures of every cloud seeded.
func New(opts Options) *Server {
	e := env{now: opts.Now, log: opts.Logger}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	s := &Server{env: e, routes: http.NewServeMux(), admin: http.NewServeMux()}
	// Each cloud counts its own actions (see counter).
	withTally := func() env {
		ce := e
		ce.tally = &tally{}
		s.tallies = append(s.tallies, ce.tally)
		return ce
	}
	s.clouds = []cloud{newCrusoe(withTally(), opts.Crusoe), newKraftCloud(withTally(), opts.KraftCloud)}
	s.clouds = append(s.clouds, newOpenVZ(withTally(), opts.OpenVZ))
	s.clouds = append(s.clouds, newCloudMC(withTally(), opts.CloudMC))
	for _, c := range s.clouds {
		c.register(s.routes)
	}
	for _, f := range opts.Faults {
		if err := s.validateFault(f); err != nil {
			e.log.Warn("cloudsim: fault will never match", "fault", f, "error", err)
		}
		s.AddFault(f)
	}
	s.registerAdmin()
	return s
}

// ServeHTTP routes /_sim/ to the admin API and everything else to the cloud
// whose prefix the path starts with.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sim" || strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.admin.ServeHTTP(w, r)
		return
	}
	s.serveCloud(s.cloudFor(r.URL.Path), w, r)
}

// cloudFor matches the prefix as whole segments: "/v1/" serves "/v1" and
// "/v1/instances" but never "/v1alpha5/...".
func (s *Server) cloudFor(p string) cloud {
	for _, c := range s.clouds {
		root := strings.TrimSuffix(c.prefix(), "/")
		if p == root || strings.HasPrefix(p, root+"/") {
			return c
		}
	}
	return nil
}

func (s *Server) cloudNamed(name string) cloud {
	for _, c := range s.clouds {
		if c.name() == name {
			return c
		}
	}
	return nil
}

// serveCloud is the middleware every cloud request goes through: it applies
// the first matching fault, serves the request and journals it.
func (s *Server) serveCloud(c cloud, w http.ResponseWriter, r *http.Request) {
	name, writeErr := "", writeGenericError
	if c != nil {
		name, writeErr = c.name(), c.writeError
	}
	ri := &requestInfo{}
	r = r.WithContext(withRequestInfo(r.Context(), ri))
	rec := RequestRecord{Time: s.env.now(), Cloud: name, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery}
	serve := func(w http.ResponseWriter) {
		if c == nil {
			writeGenericError(w, http.StatusNotFound, "not_found", fmt.Sprintf("cloudsim: no simulated cloud serves %s", r.URL.Path))
			return
		}
		s.routes.ServeHTTP(w, r)
	}
	sw := &statusWriter{ResponseWriter: w}

	f, hit := s.faults.take(name, r)
	if hit {
		rec.Fault = f.ID
	}
	switch {
	case !hit:
		serve(sw)
	case f.Action == FaultError:
		if f.RetryAfter > 0 {
			sw.Header().Set("Retry-After", retryAfterSeconds(time.Duration(f.RetryAfter)))
		}
		writeErr(sw, f.Status, f.Code, f.Message)
	case f.Action == FaultDelay:
		t := time.NewTimer(time.Duration(f.Delay))
		select {
		case <-t.C:
			serve(sw)
		case <-r.Context().Done():
			t.Stop()
		}
	case f.Action == FaultFailOperation:
		ri.failOp = &opFailure{Code: f.Code, Message: f.Message}
		r = r.WithContext(context.WithValue(r.Context(), failItemKey{}, f.Item))
		serve(sw)
		if !ri.failOpUsed {
			s.faults.untake(f.ID)
			rec.Fault = ""
		}
	case f.Action == FaultDropResponse:
		cw := &captureWriter{header: http.Header{}}
		serve(cw)
		rec.Status, rec.OperationID = cw.status, ri.operationID
		s.record(rec)
		dropConnection(w)
		return
	}
	rec.Status, rec.OperationID = sw.status, ri.operationID
	s.record(rec)
}

// failItemKey carries the Item glob of the fail-operation fault applied to a
// request, for clouds that fail items of a batch (KraftCloud).
type failItemKey struct{}

// failItemOf returns the Item glob of the fail-operation fault applied to r
// ("" for every item, or when none applies: see requestInfo.failOp).
func failItemOf(r *http.Request) string {
	s, _ := r.Context().Value(failItemKey{}).(string)
	return s
}

func (s *Server) record(rec RequestRecord) {
	s.journal.add(rec)
	s.env.log.Info("cloudsim request", "cloud", rec.Cloud, "method", rec.Method, "path", rec.Path,
		"query", rec.Query, "status", rec.Status, "fault", rec.Fault, "operation", rec.OperationID)
}

// dropConnection closes the client connection without a response.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
		return
	}
	// Not hijackable (HTTP/2): aborting the handler resets the stream.
	panic(http.ErrAbortHandler)
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// captureWriter lets a handler run to completion without reaching the client.
type captureWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *captureWriter) Header() http.Header { return w.header }

func (w *captureWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *captureWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// writeGenericError answers paths no cloud serves.
func writeGenericError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"code": code, "message": message})
}

// Inventory returns the resources clients created, completing due operations first.
func (s *Server) Inventory() Inventory {
	inv := Inventory{}
	for _, c := range s.clouds {
		kinds := c.inventory()
		for k, v := range kinds {
			if len(v) == 0 {
				delete(kinds, k)
			}
		}
		if len(kinds) > 0 {
			inv[c.name()] = kinds
		}
	}
	return inv
}

// Reset drops every created resource, operation, fault, journal record and
// action counter, and restores each cloud's configured operation latency.
// Fixtures stay.
func (s *Server) Reset() {
	for _, c := range s.clouds {
		c.reset()
	}
	for _, t := range s.tallies {
		t.reset()
	}
	s.faults.clear()
	s.journal.reset()
}

// AddFault installs f, after the faults already installed, and returns it with
// its ID and defaults filled in (an error fault without a status answers 500).
// AddFault does not validate: see Fault.Validate.
func (s *Server) AddFault(f Fault) Fault { return s.faults.add(f) }

// RemoveFault uninstalls the fault with the given ID and reports whether it existed.
func (s *Server) RemoveFault(id string) bool { return s.faults.remove(id) }

// ClearFaults uninstalls every fault.
func (s *Server) ClearFaults() { s.faults.clear() }

// Faults lists the installed faults, in match order, with their hit counts.
func (s *Server) Faults() []Fault { return s.faults.list() }

// Requests returns the journal, oldest first (at most the last 10,000 requests).
func (s *Server) Requests() []RequestRecord { return s.journal.list() }

// SetOperationLatency changes how long a cloud's new operations take
// ("crusoe"), or how long KraftCloud instances take to start and stop
// ("kraftcloud"; 0 is instant); what is already under way keeps its due time.
// Unknown clouds are ignored.
func (s *Server) SetOperationLatency(cloudName string, d time.Duration) {
	if c := s.cloudNamed(cloudName); c != nil {
		c.setOperationLatency(max(d, 0))
	}
}

// SetOperationExpiry changes how long a cloud keeps an operation readable
// before it answers as unknown: the CloudMC task TTL ("cloudmc", counted
// from the task's start; 0 keeps tasks forever). It reports false for a cloud that has no such
// setting or is unknown.
func (s *Server) SetOperationExpiry(cloudName string, d time.Duration) bool {
	e, ok := s.cloudNamed(cloudName).(expirer)
	if ok {
		e.setOperationExpiry(max(d, 0))
	}
	return ok
}

// Counters returns the actions each cloud applied, by cloud, kind and
// resource name: Counters()["kraftcloud"]["instance-starts"]["web-1"] is how
// many times instance web-1 was started (stopped → starting). Crusoe counts
// "vm-creates", "disk-creates", "firewall-rule-creates" (creates accepted,
// whether their operations succeeded or not), "vm-starts" and "vm-stops";
// KraftCloud "instance-creates", "instance-starts" and "instance-stops";
// CloudMC its instance creates, starts, stops, reboots and deletes; the
// container API its creates and deletes. More than one
// create for a name means a resource was made twice. Counts survive deletes
// and last until Reset.
func (s *Server) Counters() map[string]map[string]map[string]int {
	out := map[string]map[string]map[string]int{}
	for _, c := range s.clouds {
		if ct, ok := c.(counter); ok {
			out[c.name()] = ct.counters()
		}
	}
	return out
}

// Clouds lists the names of the simulated clouds.
func (s *Server) Clouds() []string {
	out := make([]string, len(s.clouds))
	for i, c := range s.clouds {
		out[i] = c.name()
	}
	return out
}

func (s *Server) validateFault(f Fault) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if f.Cloud != "" && s.cloudNamed(f.Cloud) == nil {
		return fmt.Errorf("fault: unknown cloud %q (want one of %s)", f.Cloud, strings.Join(s.Clouds(), ", "))
	}
	return nil
}

// Running is a Server listening on a port.
type Running struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234. Listening on every
	// interface, it names 127.0.0.1, where this machine reaches it.
	URL string
	// Addr is the address it is bound to, e.g. [::]:8787 for every interface.
	Addr   net.Addr
	Server *Server
	srv    *http.Server
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves a new
// Server in a goroutine until Close.
func Start(addr string, opts Options) (*Running, error) {
	for i, f := range opts.Faults {
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("cloudsim: fault %d: %w", i+1, err)
		}
	}
	s := New(opts)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cloudsim: listen %s: %w", addr, err)
	}
	host := ln.Addr().String()
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		host = net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.env.log.Handler(), slog.LevelDebug)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.env.log.Error("cloudsim: serve", "error", err)
		}
	}()
	return &Running{URL: "http://" + host, Addr: ln.Addr(), Server: s, srv: srv}, nil
}

// Close stops listening and closes every connection.
func (r *Running) Close() error { return r.srv.Close() }

// registerAdmin wires the admin API. It needs no credentials: it is meant for
// loopback use by tests and the CLI. Every success answers 200 with a JSON
// body; every failure {"error": "..."} with a 4xx status.
func (s *Server) registerAdmin() {
	m := s.admin
	m.HandleFunc("GET /_sim/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "clouds": s.Clouds()})
	})
	m.HandleFunc("GET /_sim/inventory", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Inventory())
	})
	m.HandleFunc("POST /_sim/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		writeJSON(w, http.StatusOK, struct{}{})
	})
	m.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	m.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		if err := decodeJSON(r, &f); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := s.validateFault(f); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, s.AddFault(f))
	})
	m.HandleFunc("DELETE /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		writeJSON(w, http.StatusOK, struct{}{})
	})
	m.HandleFunc("DELETE /_sim/faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !s.RemoveFault(r.PathValue("id")) {
			adminError(w, http.StatusNotFound, fmt.Sprintf("no fault %q", r.PathValue("id")))
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	})
	m.HandleFunc("GET /_sim/requests", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Requests())
	})
	m.HandleFunc("GET /_sim/counters", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Counters())
	})
	m.HandleFunc("PUT /_sim/latency", func(w http.ResponseWriter, r *http.Request) {
		var body latencyRequest
		if err := decodeJSON(r, &body); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		if s.cloudNamed(body.Cloud) == nil {
			adminError(w, http.StatusBadRequest, fmt.Sprintf("unknown cloud %q (want one of %s)", body.Cloud, strings.Join(s.Clouds(), ", ")))
			return
		}
		switch {
		case body.Latency == nil && body.Expiry == nil:
			adminError(w, http.StatusBadRequest, "give latency, expiry or both")
			return
		case body.Latency != nil && *body.Latency < 0, body.Expiry != nil && *body.Expiry < 0:
			adminError(w, http.StatusBadRequest, "latency and expiry must not be negative")
			return
		}
		if _, ok := s.cloudNamed(body.Cloud).(expirer); body.Expiry != nil && !ok {
			adminError(w, http.StatusBadRequest, fmt.Sprintf("cloud %q has no operation expiry to set", body.Cloud))
			return
		}
		if body.Latency != nil {
			s.SetOperationLatency(body.Cloud, time.Duration(*body.Latency))
		}
		if body.Expiry != nil {
			s.SetOperationExpiry(body.Cloud, time.Duration(*body.Expiry))
		}
		writeJSON(w, http.StatusOK, body)
	})
	m.HandleFunc("/_sim/", func(w http.ResponseWriter, r *http.Request) {
		adminError(w, http.StatusNotFound, fmt.Sprintf("no admin endpoint %s %s", r.Method, r.URL.Path))
	})
}

// latencyRequest is the body of PUT /_sim/latency: either setting may be
// left out to keep it as it is.
type latencyRequest struct {
	Cloud   string    `json:"cloud"`
	Latency *Duration `json:"latency,omitempty"`
	// Expiry is how long a finished operation stays readable (the CloudMC task TTL).
	Expiry *Duration `json:"expiry,omitempty"`
}

type adminErrorBody struct {
	Error string `json:"error"`
}

func adminError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, adminErrorBody{Error: msg})
}

// encodeRaw marshals v for an Inventory entry.
func encodeRaw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}
