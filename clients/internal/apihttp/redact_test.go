package apihttp

import (
	"fmt"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	if got := Redact("s3cret"); got != "[redacted]" {
		t.Errorf("Redact(secret) = %q", got)
	}
	if got := Redact(""); got != `""` {
		t.Errorf("Redact(\"\") = %q, want an unset credential to show as unset", got)
	}
}

// credentials is a type that hides its secret, as a client's Config does.
type credentials struct{ ID, Secret string }

func (c credentials) String() string {
	return fmt.Sprintf("credentials{ID: %q, Secret: %s}", c.ID, Redact(c.Secret))
}

func (c credentials) Format(f fmt.State, verb rune) { FormatRedacted(f, verb, c.String()) }

func TestFormatRedacted(t *testing.T) {
	const secret = "superSecretValue"
	c := credentials{ID: "AKID", Secret: secret}
	want := `credentials{ID: "AKID", Secret: [redacted]}`
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%10.3f"} {
		for name, v := range map[string]any{"value": c, "pointer": &c, "in a struct": struct{ C credentials }{c}} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, secret) || !strings.Contains(out, want) {
				t.Errorf("%s of a %s = %s, want it to hold %s", verb, name, out, want)
			}
		}
	}
	if got := fmt.Sprintf("%q", c); got != fmt.Sprintf("%q", want) {
		t.Errorf("%%q = %s", got)
	}
}
