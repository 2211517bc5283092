// Package inputtest makes inputs larger than any cap, for tests: endless
// streams and sparse files, neither of which holds its size in memory or on
// disk.
package inputtest

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// Endless is a reader that repeats Pattern for ever. Read counts the bytes
// handed out, so a test can check how much of it was read.
type Endless struct {
	Pattern string
	off     int
	n       atomic.Int64
}

// NewEndless returns an endless reader of pattern, which must not be empty.
func NewEndless(pattern string) *Endless { return &Endless{Pattern: pattern} }

func (e *Endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.Pattern[e.off]
		e.off = (e.off + 1) % len(e.Pattern)
	}
	e.n.Add(int64(len(p)))
	return len(p), nil
}

// BytesRead is how many bytes were read so far.
func (e *Endless) BytesRead() int64 { return e.n.Load() }

// Sparse makes a file of size zero bytes in a temporary directory of t,
// taking no room on disk, and returns its path.
func Sparse(t testing.TB, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "huge")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
