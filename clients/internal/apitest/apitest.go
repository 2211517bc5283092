// Package apitest holds the test helpers that the API clients' tests share.
package apitest

import (
	"encoding/json"
	"net/http"
	"reflect"
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

// JSONEqual reports whether got and want are the same JSON value, whatever
// the key order and spacing. Got that is not JSON fails the test.
func JSONEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("body %q is not JSON: %v", got, err)
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expected JSON %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}
