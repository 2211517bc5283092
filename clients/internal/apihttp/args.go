package apihttp

import (
	"fmt"
	"net/url"
	"strings"
)

// ArgErrors builds the errors of the arguments a client rejects before it
// makes a request. Each reads "<Name>: <Sentinel>: <what is wrong>" and wraps
// Sentinel, the client's own ErrInvalidArgument, so that callers match it
// with errors.Is and never retry.
type ArgErrors struct {
	Name     string
	Sentinel error
}

// Invalid builds the error of an argument the client rejects.
func (a ArgErrors) Invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", a.Name, a.Sentinel, fmt.Sprintf(format, args...))
}

// Required rejects a value that is empty or only space; field names it.
func (a ArgErrors) Required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return a.Invalid("%s is required", field)
	}
	return nil
}

// ID rejects an empty ID, or one that would change the shape of the URL path
// it is put in: one that escaping would change, "." or "..". The server is
// the judge of what exists; the client only keeps the path it sends (and
// signs) exactly the one it means.
func (a ArgErrors) ID(field, id string) error {
	if err := a.Required(field, id); err != nil {
		return err
	}
	if url.PathEscape(id) != id || id == "." || id == ".." {
		return a.Invalid("%s %q has characters not allowed in a URL path segment", field, id)
	}
	return nil
}

// ValidHeaderValue reports whether s is visible ASCII only, which is what a
// credential sent in a header may carry without surprises. A client rejects
// any other without quoting it.
func ValidHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
