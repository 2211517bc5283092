package apitest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// MustNotCall is a handler that fails the test if the client makes any
// request, for checks that must happen before one.
func MustNotCall(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusTeapot)
	}
}

// Respond answers with status and a JSON body.
func Respond(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// Serve serves handler on a test server that is closed when the test ends,
// and returns the server's URL followed by prefix, the API's version path
// ("/v1"), for the client's base URL. Before the handler sees a request,
// CheckRequest checks it against prefix, and so does each of checks.
func Serve(t *testing.T, prefix string, handler http.HandlerFunc, checks ...func(*testing.T, *http.Request)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		CheckRequest(t, r, prefix)
		for _, check := range checks {
			check(t, r)
		}
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + prefix
}

// CheckRequest checks what every request of a JSON client carries: a path
// under prefix, "Accept: application/json", and "Content-Type:
// application/json" when, and only when, it has a body.
func CheckRequest(t *testing.T, r *http.Request, prefix string) {
	t.Helper()
	if !strings.HasPrefix(r.URL.Path, prefix+"/") {
		t.Errorf("path %q lacks the %s prefix", r.URL.Path, prefix)
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		t.Errorf("%s %s: Accept = %q", r.Method, r.URL.Path, got)
	}
	if r.ContentLength > 0 {
		if got := r.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("%s %s: Content-Type = %q", r.Method, r.URL.Path, got)
		}
	} else if got := r.Header.Get("Content-Type"); got != "" {
		t.Errorf("%s %s without a body carries Content-Type %q", r.Method, r.URL.Path, got)
	}
}

// Header is a check for Serve: every request's header name is want; an empty
// want means the request must not carry the header at all.
func Header(name, want string) func(*testing.T, *http.Request) {
	return func(t *testing.T, r *http.Request) {
		t.Helper()
		got, ok := r.Header[http.CanonicalHeaderKey(name)]
		switch {
		case want == "" && ok:
			t.Errorf("%s %s: unexpected %s header %q", r.Method, r.URL.Path, name, got)
		case want != "" && r.Header.Get(name) != want:
			t.Errorf("%s %s: %s = %q, want %q", r.Method, r.URL.Path, name, r.Header.Get(name), want)
		}
	}
}

// Answer is what a test server answers to every request: Status (0 is 200),
// the headers in Header and Body as it is. It counts the requests, so that a
// test can prove the client did not retry.
type Answer struct {
	Status int
	Header map[string]string
	Body   string

	hits atomic.Int32
}

// ServeHTTP answers r.
func (a *Answer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.hits.Add(1)
	for k, v := range a.Header {
		w.Header().Set(k, v)
	}
	if a.Status != 0 {
		w.WriteHeader(a.Status)
	}
	_, _ = io.WriteString(w, a.Body)
}

// CheckHits fails the test unless the server answered exactly n requests.
func (a *Answer) CheckHits(t *testing.T, n int) {
	t.Helper()
	if got := int(a.hits.Load()); got != n {
		t.Errorf("%d requests, want %d: the client must not retry", got, n)
	}
}
