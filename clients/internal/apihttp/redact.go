package apihttp

import (
	"fmt"
	"io"
	"strconv"
)

// Redact is how a credential is printed: "[redacted]", or `""` when it is
// unset, so that a missing credential still shows.
func Redact(secret string) string {
	if secret == "" {
		return `""`
	}
	return "[redacted]"
}

// FormatRedacted writes s, the String of a value that redacts its
// credentials, for every fmt verb (quoted for %q). A type's Format method
// calls it because without one, verbs such as %d and %x would print the
// fields one by one, credentials included.
func FormatRedacted(f fmt.State, verb rune, s string) {
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	_, _ = io.WriteString(f, s)
}
