// Package apitest holds the test helpers that the API clients' tests share.
package apitest

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// Now is the time of the clients' test clocks, and of the Retry-After dates
// their tests send.
var Now = time.Date(2024, 1, 2, 15, 4, 5, 0, time.UTC)

// Clock is a client's clock (WithClock) that always reads Now.
func Clock() time.Time { return Now }

// Env is a getenv (LoadConfig's) that reads m; a nil m has nothing set.
func Env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
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

// CheckResult fails the test unless got and want are deeply equal, showing
// both as JSON, which reads better than %+v for pointers and nested values.
func CheckResult(t *testing.T, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("result =\n%s\nwant\n%s", g, w)
	}
}
