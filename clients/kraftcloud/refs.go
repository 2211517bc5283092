package kraftcloud

import (
	"fmt"
	"strings"

	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
)

// Ref names an object by UUID or by name (exactly one set).
type Ref struct {
	UUID string `json:"uuid,omitempty"`
	Name string `json:"name,omitempty"`
}

// ByName refers to an object by its name.
func ByName(name string) Ref { return Ref{Name: name} }

// ByUUID refers to an object by its UUID.
func ByUUID(uuid string) Ref { return Ref{UUID: uuid} }

// String is the name, else the UUID.
func (r Ref) String() string {
	if r.Name != "" {
		return r.Name
	}
	return r.UUID
}

// Limits on object names, from the reference.
const (
	MaxNameLength  = 121
	MaxLabelLength = 63
)

// ValidateName checks an object name against the rules the reference lists
// (RFC 1035): labels of 1 to 63 characters separated by dots; only letters,
// digits and hyphens in a label; a label starts with a letter and ends with a
// letter or digit; no consecutive hyphens or dots; at most 121 characters in
// all; no trailing dot (a name is not an FQDN). Upper case is allowed: the API
// lower-cases it. The error wraps ErrInvalidArgument and says which rule is
// broken, and at which label.
func ValidateName(name string) error { return checkName("name", name) }

// checkName is ValidateName for a named field ("reqs[2].name").
func checkName(field, name string) error {
	if p := nameProblem(name); p != "" {
		return invalid("%s %q: %s", field, name, p)
	}
	return nil
}

// nameProblem says what is wrong with name, or "" when nothing is.
func nameProblem(name string) string {
	switch {
	case name == "":
		return "a name may not be empty"
	case len(name) > MaxNameLength:
		return fmt.Sprintf("%d characters is longer than the %d allowed", len(name), MaxNameLength)
	case strings.HasSuffix(name, "."):
		return "ends with a dot: a name may not be a fully-qualified domain name"
	}
	for i, label := range strings.Split(name, ".") {
		n := i + 1
		if label == "" {
			if i == 0 {
				return "starts with a dot: label 1 is empty"
			}
			return fmt.Sprintf("consecutive dots: label %d is empty", n)
		}
		if len(label) > MaxLabelLength {
			return fmt.Sprintf("label %d is %d characters, longer than the %d allowed", n, len(label), MaxLabelLength)
		}
		for j, c := range []rune(label) {
			if !isLetter(c) && !isDigit(c) && c != '-' {
				return fmt.Sprintf("label %d (%q) has %q at position %d: only letters, digits and hyphens are allowed", n, label, c, j+1)
			}
		}
		first, last := rune(label[0]), rune(label[len(label)-1])
		switch {
		case !isLetter(first):
			return fmt.Sprintf("label %d (%q) must start with a letter", n, label)
		case !isLetter(last) && !isDigit(last):
			return fmt.Sprintf("label %d (%q) must end with a letter or digit", n, label)
		case strings.Contains(label, "--"):
			return fmt.Sprintf("label %d (%q) has consecutive hyphens", n, label)
		}
	}
	return ""
}

func isLetter(c rune) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
func isDigit(c rune) bool  { return '0' <= c && c <= '9' }

// argErrors builds the errors of the arguments the client rejects.
var argErrors = apihttp.ArgErrors{Name: "kraftcloud", Sentinel: ErrInvalidArgument}

// invalid builds an ErrInvalidArgument error.
func invalid(format string, args ...any) error { return argErrors.Invalid(format, args...) }

// checkID rejects an empty UUID or one that would change the shape of the
// URL path it is put in.
func checkID(field, id string) error { return argErrors.ID(field, id) }

// checkRef requires exactly one of UUID and name, and a valid name.
func checkRef(field string, r Ref) error {
	hasUUID, hasName := strings.TrimSpace(r.UUID) != "", r.Name != ""
	switch {
	case hasUUID && hasName:
		return invalid("%s: set exactly one of uuid and name, not both", field)
	case !hasUUID && !hasName:
		return invalid("%s: set exactly one of uuid and name", field)
	case hasName:
		return checkName(field+".name", r.Name)
	}
	return nil
}

// checkBatch rejects an empty batch and checks each item with check.
func checkBatch[T any](field string, items []T, check func(field string, item T) error) error {
	if len(items) == 0 {
		return invalid("%s: at least one item is required", field)
	}
	for i, it := range items {
		if err := check(fmt.Sprintf("%s[%d]", field, i), it); err != nil {
			return err
		}
	}
	return nil
}

// nonNegative rejects a negative count or duration.
func nonNegative(field string, v int) error {
	if v < 0 {
		return invalid("%s %d is negative", field, v)
	}
	return nil
}

// firstError returns the first non-nil error.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
