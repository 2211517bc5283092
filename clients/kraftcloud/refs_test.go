package kraftcloud

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	label63 := "a" + strings.Repeat("b", 62)
	name121 := label63 + "." + "c" + strings.Repeat("d", 56) // 63 + 1 + 57
	tests := []struct {
		name string
		in   string
		want string // "" for valid, else a substring of the error
	}{
		// Valid names.
		{"simple", "web", ""},
		{"one letter", "a", ""},
		{"letters digits hyphens", "web-1-a2", ""},
		{"several labels", "web.eu.prod", ""},
		{"upper case is accepted (the API lower-cases it)", "My-Instance.PROD", ""},
		{"label ending with a digit", "node7", ""},
		{"63-character label", label63, ""},
		{"121 characters", name121, ""},

		// Length.
		{"empty", "", "may not be empty"},
		{"64-character label", label63 + "c", "label 1 is 64 characters, longer than the 63 allowed"},
		{"64-character second label", "a." + label63 + "c", "label 2 is 64 characters"},
		{"122 characters", name121 + "e", "122 characters is longer than the 121 allowed"},

		// Characters.
		{"underscore", "web_1", `label 1 ("web_1") has '_' at position 4: only letters, digits and hyphens are allowed`},
		{"space", "web 1", `has ' ' at position 4`},
		{"non-ASCII letter", "wéb", `has 'é' at position 2`},
		{"slash", "a/b", `has '/'`},
		{"bad character in second label", "web.a*b", `label 2 ("a*b") has '*'`},

		// Start and end.
		{"starts with a digit", "1web", `label 1 ("1web") must start with a letter`},
		{"starts with a hyphen", "-web", "must start with a letter"},
		{"second label starts with a digit", "web.2nd", `label 2 ("2nd") must start with a letter`},
		{"ends with a hyphen", "web-", `label 1 ("web-") must end with a letter or digit`},
		{"label ends with a hyphen before a dot", "web-.eu", `label 1 ("web-") must end with a letter or digit`},

		// Consecutive hyphens and dots.
		{"consecutive hyphens", "we--b", `label 1 ("we--b") has consecutive hyphens`},
		{"consecutive hyphens in second label", "a.b--c", `label 2 ("b--c") has consecutive hyphens`},
		{"consecutive dots", "web..eu", "consecutive dots: label 2 is empty"},
		{"leading dot", ".web", "starts with a dot: label 1 is empty"},

		// Not an FQDN.
		{"trailing dot", "web.eu.", "ends with a dot: a name may not be a fully-qualified domain name"},
		{"just a dot", ".", "ends with a dot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateName(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Errorf("ValidateName(%q) = %v, want nil", tt.in, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ValidateName(%q) = nil, want an error mentioning %q", tt.in, tt.want)
			}
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("error %v does not wrap ErrInvalidArgument", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ValidateName(%q) = %q, want it to mention %q", tt.in, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "kraftcloud: invalid argument: name ") {
				t.Errorf("error %q should start by naming the field", err)
			}
		})
	}
	if len(name121) != 121 {
		t.Fatalf("test setup: name121 has %d characters", len(name121))
	}
}

func TestRef(t *testing.T) {
	if r := ByName("web"); r != (Ref{Name: "web"}) || r.String() != "web" {
		t.Errorf("ByName = %+v (%s)", r, r)
	}
	if r := ByUUID(testUUID); r != (Ref{UUID: testUUID}) || r.String() != testUUID {
		t.Errorf("ByUUID = %+v (%s)", r, r)
	}
	if s := (Ref{UUID: testUUID, Name: "web"}).String(); s != "web" {
		t.Errorf("String prefers the name, got %q", s)
	}
	for ref, want := range map[Ref]string{
		ByName("web"):  `{"name":"web"}`,
		ByUUID("u-1"):  `{"uuid":"u-1"}`,
		{}:             `{}`,
		{"u-1", "web"}: `{"uuid":"u-1","name":"web"}`,
	} {
		b, err := json.Marshal(ref)
		if err != nil || string(b) != want {
			t.Errorf("json(%+v) = %s, %v; want %s", ref, b, err, want)
		}
	}
	// An embedded Ref is flattened into the item.
	b, _ := json.Marshal(StopRequest{Ref: ByName("web"), Force: true})
	if string(b) != `{"name":"web","force":true}` {
		t.Errorf("StopRequest JSON = %s", b)
	}
}
