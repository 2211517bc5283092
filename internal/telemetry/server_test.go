package telemetry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestServerEndpoints(t *testing.T) {
	s, err := Listen("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "up 1\n")
	}))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + s.Addr()
	check := func(path string, wantCode int, wantBody string) {
		t.Helper()
		code, body := get(t, base+path)
		if code != wantCode || body != wantBody {
			t.Errorf("GET %s = %d %q, want %d %q", path, code, body, wantCode, wantBody)
		}
	}
	check("/metrics", 200, "up 1")
	check("/healthz", 200, "ok")
	check("/readyz", 503, "starting")

	var down error
	s.SetReady(func(ctx context.Context) error { return down })
	check("/readyz", 200, "ok")
	down = errors.New("temporal unreachable")
	check("/readyz", 503, "temporal unreachable")

	s.SetNotReady("stopping")
	check("/readyz", 503, "stopping")
	check("/healthz", 200, "ok") // alive while it stops
	check("/nope", 404, "404 page not found")

	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still serving after Shutdown")
	}
}

func TestListenRefusesABadAddress(t *testing.T) {
	if _, err := Listen("127.0.0.1:-1", nil); err == nil {
		t.Fatal("Listen accepted a bad port")
	}
}
