package apitest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// printer is a type whose String and GoString redact its credentials, as a
// client's Config and Client do.
type printer interface {
	fmt.Stringer
	fmt.GoStringer
}

// CheckRedacted checks that v never shows secret, however it is printed:
// String, GoString, every fmt verb of v, of &v and of v in a struct and in a
// slice, and JSON. The usual prints must show "[redacted]" in its place, and
// each of shown; a zero T, whose credential is unset, must not claim to hide
// one.
func CheckRedacted[T printer](t *testing.T, v T, secret string, shown ...string) {
	t.Helper()
	outputs := map[string]string{"String": v.String(), "GoString": v.GoString()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%q", "%x"} {
		outputs[verb] = fmt.Sprintf(verb, v)
		outputs[verb+" pointer"] = fmt.Sprintf(verb, &v)
		outputs[verb+" in a struct"] = fmt.Sprintf(verb, struct{ V T }{v})
		outputs[verb+" in a slice"] = fmt.Sprintf(verb, []T{v})
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(b)
	for name, out := range outputs {
		if strings.Contains(out, secret) {
			t.Errorf("%s prints the secret: %s", name, out)
		}
	}
	for _, name := range []string{"String", "%v", "%+v", "%#v"} {
		out := outputs[name]
		for _, want := range append([]string{"[redacted]"}, shown...) {
			if !strings.Contains(out, want) {
				t.Errorf("%s = %s, want it to show %q", name, out, want)
			}
		}
	}
	var zero T
	if empty := zero.String(); strings.Contains(empty, "[redacted]") {
		t.Errorf("an unset secret should read as unset: %s", empty)
	}
}
