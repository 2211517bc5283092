package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			w.WriteHeader(http.StatusOK)
		default:
			http.Error(w, "not polling yet", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	if err := probe(ctx, srv.Client(), srv.URL+"/readyz"); err != nil {
		t.Errorf("a 200 answer: %v", err)
	}
	err := probe(ctx, srv.Client(), srv.URL+"/healthz")
	if err == nil || err.Error() != srv.URL+"/healthz: 503 Service Unavailable: not polling yet\n" {
		t.Errorf("a 503 answer: got %v, want the status and the body", err)
	}
	srv.Close()
	if err := probe(ctx, srv.Client(), srv.URL+"/readyz"); err == nil {
		t.Error("no server: got no error")
	}
}
