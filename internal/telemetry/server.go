package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// readyCheckTimeout bounds one /readyz check, well inside a probe's timeout
// (Kubernetes gives 1 s by default).
const readyCheckTimeout = 800 * time.Millisecond

// Server serves a worker's operational endpoints on one address:
//
//   - /metrics: the metrics in the Prometheus text format;
//   - /healthz: 200 while the process runs;
//   - /readyz: 200 while the worker is ready (SetReady) and its check
//     passes, else 503 with the reason.
type Server struct {
	srv   *http.Server
	ln    net.Listener
	done  chan struct{}
	ready atomic.Pointer[readiness]
}

type readiness struct {
	reason string                          // why not ready; "" when ready
	check  func(ctx context.Context) error // run on each /readyz when ready
}

// Listen serves metrics (nil: no /metrics) on addr, in the background. The
// server starts not ready ("starting").
func Listen(addr string, metrics http.Handler) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	s := &Server{ln: ln, done: make(chan struct{})}
	s.SetNotReady("starting")
	mux := http.NewServeMux()
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		plain(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln) // ErrServerClosed once shut down
	}()
	return s, nil
}

// Addr is the address the server listens on (with the port chosen, when
// Listen was given port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// SetReady makes /readyz answer 200 while check (nil: none) passes.
func (s *Server) SetReady(check func(ctx context.Context) error) {
	s.ready.Store(&readiness{check: check})
}

// SetNotReady makes /readyz answer 503, saying why.
func (s *Server) SetNotReady(reason string) {
	if reason == "" {
		reason = "not ready"
	}
	s.ready.Store(&readiness{reason: reason})
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	st := s.ready.Load()
	if st.reason != "" {
		plain(w, http.StatusServiceUnavailable, st.reason)
		return
	}
	if st.check != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyCheckTimeout)
		defer cancel()
		if err := st.check(ctx); err != nil {
			plain(w, http.StatusServiceUnavailable, err.Error())
			return
		}
	}
	plain(w, http.StatusOK, "ok")
}

func plain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = fmt.Fprintln(w, msg)
}

// Shutdown stops the server, letting requests in flight finish until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = s.srv.Close()
	}
	<-s.done
	return err
}
