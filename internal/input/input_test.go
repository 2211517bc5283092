package input

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/internal/input/inputtest"
)

func TestReadAllStopsAtTheLimit(t *testing.T) {
	src := inputtest.NewEndless("a")
	_, err := ReadAll(src, "--file -", 1<<20)
	var tooLarge *TooLargeError
	require.True(t, errors.As(err, &tooLarge), "%v", err)
	assert.Equal(t, "--file - is larger than 1 MiB, the most cloudflow reads", err.Error())
	assert.Equal(t, int64(1<<20+1), src.BytesRead(), "reads one byte past the limit, no more")
}

func TestReadAllTakesAnInputOfExactlyTheLimit(t *testing.T) {
	for _, size := range []int{0, 1, 99, 100} {
		data, err := ReadAll(strings.NewReader(strings.Repeat("x", size)), "spec", 100)
		require.NoError(t, err, "size %d", size)
		assert.Len(t, data, size)
	}
	_, err := ReadAll(strings.NewReader(strings.Repeat("x", 101)), "spec", 100)
	assert.True(t, IsTooLarge(err))
}

// A reader that hands out one byte at a time still stops at the limit.
func TestLimitWithShortReads(t *testing.T) {
	r := Limit(io.MultiReader(iotestOneByte(strings.Repeat("y", 50))), "x", 10)
	data, err := io.ReadAll(r)
	assert.True(t, IsTooLarge(err), "%v", err)
	assert.Len(t, data, 10, "what is handed on stays within the limit")
}

func iotestOneByte(s string) io.Reader { return &oneByte{s: s} }

type oneByte struct{ s string }

func (o *oneByte) Read(p []byte) (int, error) {
	if o.s == "" {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = o.s[0]
	o.s = o.s[1:]
	return 1, nil
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	require.NoError(t, os.WriteFile(small, []byte("hello"), 0o600))
	data, err := ReadFile(small, nil, "small", 10)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(data))

	// A sparse 300 MB file is refused after reading just past the limit.
	big := inputtest.Sparse(t, 300<<20)
	_, err = ReadFile(big, nil, "--ledger big", 4<<20)
	assert.EqualError(t, err, "--ledger big is larger than 4 MiB, the most cloudflow reads")

	data, err = ReadFile("-", strings.NewReader("from stdin"), "standard input", 100)
	require.NoError(t, err)
	assert.Equal(t, "from stdin", string(data))
	_, err = ReadFile("-", inputtest.NewEndless("x"), "standard input", 100)
	assert.EqualError(t, err, "standard input is larger than 100 bytes, the most cloudflow reads")

	_, err = ReadFile(filepath.Join(dir, "missing"), nil, "missing", 10)
	assert.True(t, errors.Is(err, os.ErrNotExist), "%v", err)
}

func TestSize(t *testing.T) {
	assert.Equal(t, "1 MiB", Size(1<<20))
	assert.Equal(t, "64 KiB", Size(64<<10))
	assert.Equal(t, "1500 bytes", Size(1500))
	assert.Equal(t, "300 bytes", Size(300))
}

func utf16LE(s string, bom bool) []byte {
	var b bytes.Buffer
	if bom {
		b.Write([]byte{0xFF, 0xFE})
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b.WriteByte(byte(u))
		b.WriteByte(byte(u >> 8))
	}
	return b.Bytes()
}

func TestNotText(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []byte
		want string
	}{
		{"utf-8", []byte("provider: crusoe\nname: café\n"), ""},
		{"utf-8 with a byte order mark", append([]byte{0xEF, 0xBB, 0xBF}, "provider: crusoe\n"...), ""},
		{"empty", nil, ""},
		{"utf-16le with a bom", utf16LE("provider: crusoe\n", true), "is UTF-16 (little-endian) text, not UTF-8"},
		{"utf-16le without", utf16LE("provider: crusoe\n", false), "is UTF-16 (little-endian) text, not UTF-8"},
		{"utf-16be with a bom", []byte{0xFE, 0xFF, 0, 'p', 0, 'r'}, "is UTF-16 (big-endian) text, not UTF-8"},
		{"utf-16be without", []byte{0, 'p', 0, 'r'}, "is UTF-16 (big-endian) text, not UTF-8"},
		{"utf-32le with a bom", []byte{0xFF, 0xFE, 0, 0, 'p', 0, 0, 0}, "is UTF-32 (little-endian) text, not UTF-8"},
		{"utf-32be with a bom", []byte{0, 0, 0xFE, 0xFF, 0, 0, 0, 'p'}, "is UTF-32 (big-endian) text, not UTF-8"},
		{"utf-32le without", []byte{'p', 0, 0, 0, 'r', 0, 0, 0}, "is UTF-32 (little-endian) text, not UTF-8"},
		{"utf-32be without", []byte{0, 0, 0, 'p', 0, 0, 0, 'r'}, "is UTF-32 (big-endian) text, not UTF-8"},
		{"latin-1", []byte("name: caf\xe9\n"), "is not UTF-8 text (byte 0xe9 at offset 9)"},
		{"a nul inside", []byte("name: a\x00b"), "is not text (a NUL byte at offset 7)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, NotText(tt.data))
		})
	}
}
