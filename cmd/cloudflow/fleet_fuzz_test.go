package main

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadFleet: no fleet file panics the reader; it returns at most max
// names, each a trimmed, non-empty, non-comment line of the file, in order,
// with its line number, or an error that names the file.
func FuzzReadFleet(f *testing.F) {
	for _, s := range []string{
		"web-1\nweb-2\n", "# fleet\n\nweb-1\r\n  web-2  \n#web-3\nweb-4", "\ufeffweb-1\n", "", "\n\n# only\n",
		"a\nb\nc\nd\ne\nf\n", "caf\xe9\n", "\xff\xfew\x00e\x00b\x00", "web-1\x00\n", strings.Repeat("x", 5000) + "\n",
	} {
		f.Add([]byte(s))
	}
	const max = 4
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := readFleet(bytes.NewReader(data), "--file f", max)
		if err != nil {
			if lines != nil || !strings.HasPrefix(err.Error(), "--file f") {
				t.Fatalf("lines %v, error %v: want no lines and an error naming the file", lines, err)
			}
			return
		}
		if len(lines) == 0 || len(lines) > max {
			t.Fatalf("%d lines", len(lines))
		}
		raw := strings.Split(string(data), "\n")
		last := 0
		for _, l := range lines {
			if l.line <= last || l.line > len(raw) {
				t.Fatalf("line %d after %d, of %d", l.line, last, len(raw))
			}
			last = l.line
			if l.text == "" || l.text != strings.TrimSpace(l.text) || strings.HasPrefix(l.text, "#") || !utf8.ValidString(l.text) {
				t.Fatalf("line %d: %q", l.line, l.text)
			}
			if !strings.Contains(raw[l.line-1], l.text) {
				t.Fatalf("line %d is %q, not %q", l.line, raw[l.line-1], l.text)
			}
		}
	})
}
