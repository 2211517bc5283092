package apihttp

import (
	"errors"
	"testing"
)

var errInvalid = errors.New("invalid argument")

func TestArgErrors(t *testing.T) {
	a := ArgErrors{Name: "cloud", Sentinel: errInvalid}
	if err := a.Invalid("size %d is negative", -1); !errors.Is(err, errInvalid) || err.Error() != "cloud: invalid argument: size -1 is negative" {
		t.Errorf("Invalid = %v", err)
	}
	for _, tt := range []struct{ id, want string }{
		{"vm-1", ""},
		{"5bf7352c-eed2-43dc-83f1-89917fb893ca", ""},
		{"", "cloud: invalid argument: VM ID is required"},
		{" \t", "cloud: invalid argument: VM ID is required"},
		{"a/b", `cloud: invalid argument: VM ID "a/b" has characters not allowed in a URL path segment`},
		{"x?y=1", `cloud: invalid argument: VM ID "x?y=1" has characters not allowed in a URL path segment`},
		{"a b", `cloud: invalid argument: VM ID "a b" has characters not allowed in a URL path segment`},
		{".", `cloud: invalid argument: VM ID "." has characters not allowed in a URL path segment`},
		{"..", `cloud: invalid argument: VM ID ".." has characters not allowed in a URL path segment`},
	} {
		err := a.ID("VM ID", tt.id)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("ID(%q) = %v, want nil", tt.id, err)
		case tt.want != "" && (err == nil || err.Error() != tt.want || !errors.Is(err, errInvalid)):
			t.Errorf("ID(%q) = %v, want %q", tt.id, err, tt.want)
		}
	}
	if err := a.Required("name", "web"); err != nil {
		t.Errorf("Required(web) = %v", err)
	}
	if err := a.Required("name", " "); err == nil || err.Error() != "cloud: invalid argument: name is required" {
		t.Errorf("Required(blank) = %v", err)
	}
}

func TestValidHeaderValue(t *testing.T) {
	for s, want := range map[string]bool{
		"kc-token_4f1d/9a7c+=": true,
		"":                     true,
		"a b":                  false,
		"token\n":              false,
		"tab\there":            false,
		"caf\u00e9":            false,
		"del\x7f":              false,
	} {
		if got := ValidHeaderValue(s); got != want {
			t.Errorf("ValidHeaderValue(%q) = %v", s, got)
		}
	}
}
