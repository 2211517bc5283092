// Package input reads what users hand cloudflow (spec files, fleet files,
// ledgers, keys, scripts, configuration) from a file or standard input with a
// size cap, so that no input, however large or endless, makes a command read
// more than its cap or hold more than that in memory.
package input

import (
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// Stdin is the path that names standard input.
const Stdin = "-"

// TooLargeError is an input over its cap. Reading stopped at the cap.
type TooLargeError struct {
	// Name is the input as messages name it, e.g. "--file fleet.txt".
	Name  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %s, the most cloudflow reads", e.Name, Size(e.Limit))
}

// Size writes a byte count the way limits are stated: 1 MiB, 64 KiB, 300 bytes.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Limit returns a reader of r that ends with a *TooLargeError, naming the
// input name, as soon as r holds more than limit bytes. It never reads more
// than limit+1 bytes from r.
func Limit(r io.Reader, name string, limit int64) io.Reader {
	return &limited{r: r, name: name, limit: limit}
}

type limited struct {
	r     io.Reader
	name  string
	limit int64
	n     int64 // bytes read from r so far
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n > l.limit {
		return 0, &TooLargeError{Name: l.name, Limit: l.limit}
	}
	// One byte past the limit tells a full input from a larger one.
	if room := l.limit - l.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.limit {
		// The byte past the limit is not handed on.
		return n - int(l.n-l.limit), &TooLargeError{Name: l.name, Limit: l.limit}
	}
	return n, err
}

// ReadAll reads all of r, which messages call name, or fails with a
// *TooLargeError once it holds more than limit bytes.
func ReadAll(r io.Reader, name string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(Limit(r, name, limit))
	if err != nil {
		return nil, err
	}
	return data, nil
}

// Open opens the file at path for reading through Limit; "-" is stdin,
// which Close leaves open. name is how messages call the input.
func Open(path string, stdin io.Reader, name string, limit int64) (io.ReadCloser, error) {
	if path == Stdin {
		if stdin == nil {
			stdin = os.Stdin
		}
		return readCloser{Limit(stdin, name, limit), func() error { return nil }}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return readCloser{Limit(f, name, limit), f.Close}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// ReadFile reads the file at path, "-" for stdin (os.Stdin when nil), with
// ReadAll.
func ReadFile(path string, stdin io.Reader, name string, limit int64) ([]byte, error) {
	rc, err := Open(path, stdin, name, limit)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(rc)
	cerr := rc.Close()
	if err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, cerr
	}
	return data, nil
}

// IsTooLarge says whether err is, or wraps, a *TooLargeError.
func IsTooLarge(err error) bool {
	var e *TooLargeError
	return errors.As(err, &e)
}

// NotText says why data is not UTF-8 text, or "" when it is. A UTF-8 byte
// order mark is fine; UTF-16 and UTF-32 (with or without one) are named as
// such, so that the user learns to convert the file rather than reading
// every field reported missing.
func NotText(data []byte) string {
	switch {
	case hasPrefix(data, 0xFF, 0xFE, 0x00, 0x00):
		return "is UTF-32 (little-endian) text, not UTF-8"
	case hasPrefix(data, 0x00, 0x00, 0xFE, 0xFF):
		return "is UTF-32 (big-endian) text, not UTF-8"
	case hasPrefix(data, 0xFF, 0xFE):
		return "is UTF-16 (little-endian) text, not UTF-8"
	case hasPrefix(data, 0xFE, 0xFF):
		return "is UTF-16 (big-endian) text, not UTF-8"
	}
	// Without a byte order mark, ASCII in UTF-16 or UTF-32 shows as NUL
	// bytes beside the letters.
	if len(data) >= 4 {
		switch {
		case data[0] != 0 && data[1] == 0 && data[2] == 0 && data[3] == 0:
			return "is UTF-32 (little-endian) text, not UTF-8"
		case data[0] == 0 && data[1] == 0 && data[2] == 0 && data[3] != 0:
			return "is UTF-32 (big-endian) text, not UTF-8"
		}
	}
	if len(data) >= 2 {
		switch {
		case data[0] != 0 && data[1] == 0:
			return "is UTF-16 (little-endian) text, not UTF-8"
		case data[0] == 0 && data[1] != 0:
			return "is UTF-16 (big-endian) text, not UTF-8"
		}
	}
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return fmt.Sprintf("is not UTF-8 text (byte 0x%02x at offset %d)", data[i], i)
		case r == 0:
			return fmt.Sprintf("is not text (a NUL byte at offset %d)", i)
		}
		i += size
	}
	return ""
}

func hasPrefix(data []byte, prefix ...byte) bool {
	return len(data) >= len(prefix) && string(data[:len(prefix)]) == string(prefix)
}
