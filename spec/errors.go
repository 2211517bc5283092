package spec

import (
	"fmt"
	"sort"
	"strings"
)

// FieldError is one problem in a spec: which field, the offending value, what
// is wrong with it and how to fix it.
type FieldError struct {
	// Field is the path of the field, e.g. "disks[1].size"; list indexes
	// count from 0. Empty for problems with the file as a whole.
	Field string
	// Value is the offending value as written, shortened when long; empty
	// when the field is missing or its value must not be echoed.
	Value   string
	Problem string
	Fix     string
	// Line is the 1-based line in the spec file, 0 when unknown.
	Line int
}

// Error reads like
// `disks[1].size: "10GB" is not a size; use a whole number with GiB or TiB, e.g. 10GiB (line 12)`.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	if e.Value != "" {
		fmt.Fprintf(&b, "%q ", e.Value)
	}
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	// Field paths hold the user's keys, and problems the user's paths:
	// either may hold line breaks.
	return lineBreaks.Replace(b.String())
}

// lineBreaks keeps every problem on one line of a message.
var lineBreaks = strings.NewReplacer("\n", `\n`, "\r", `\r`)

// Errors is every problem found in a spec.
type Errors []*FieldError

// Error lists the problems, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sorted orders the problems by line, keeping the order they were found in
// within a line, so they read top to bottom like the file.
func (es Errors) sorted() Errors {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
	return es
}

// shorten keeps long values (keys, scripts) from flooding messages.
func shorten(s string) string {
	const max = 48
	s = strings.ReplaceAll(s, "\n", `\n`)
	if len([]rune(s)) <= max {
		return s
	}
	return string([]rune(s)[:max-3]) + "..."
}
