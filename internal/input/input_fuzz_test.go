package input

import (
	"bytes"
	"io"
	"testing"
	"unicode/utf8"
)

// chunks hands data out at most n bytes a read, counting what it gave.
type chunks struct {
	data []byte
	n    int
	read int
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), c.n, len(c.data))
	copy(p, c.data[:k])
	c.data = c.data[k:]
	c.read += k
	return k, nil
}

// FuzzReadAll: an input of at most limit bytes comes back whole, however it
// is cut into reads; a larger one fails with a *TooLargeError after reading
// at most limit+1 bytes. NotText calls UTF-8 without NUL bytes text, and
// anything else not.
func FuzzReadAll(f *testing.F) {
	f.Add([]byte("hello"), uint16(5), uint8(1))
	f.Add([]byte("hello"), uint16(4), uint8(3))
	f.Add([]byte{}, uint16(0), uint8(1))
	f.Add([]byte("\xff\xfeh\x00i\x00"), uint16(100), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16, chunk uint8) {
		src := &chunks{data: data, n: int(chunk)%64 + 1}
		got, err := ReadAll(src, "input", int64(limit))
		switch {
		case len(data) <= int(limit):
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%d bytes under a limit of %d: %q, %v", len(data), limit, got, err)
			}
		default:
			if !IsTooLarge(err) || got != nil {
				t.Fatalf("%d bytes over a limit of %d: %d bytes, %v", len(data), limit, len(got), err)
			}
			if src.read > int(limit)+1 {
				t.Fatalf("read %d bytes for a limit of %d", src.read, limit)
			}
		}
		problem := NotText(data)
		plain := utf8.Valid(data) && !bytes.ContainsRune(data, 0)
		if plain && problem != "" {
			t.Fatalf("NotText(%q) = %q", data, problem)
		}
		if !utf8.Valid(data) && problem == "" {
			t.Fatalf("NotText(%q) calls invalid UTF-8 text", data)
		}
	})
}
