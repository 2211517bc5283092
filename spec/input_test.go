package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/internal/input"
	"github.com/cloudflow/cloudflow/internal/input/inputtest"
)

// parser is one provider's spec parser and its example.
type parser struct {
	name    string
	example string
	parse   func(data []byte, source string) error
}

func wrap[S any](parse func([]byte, string) (*S, error)) func([]byte, string) error {
	return func(data []byte, source string) error {
		_, err := parse(data, source)
		return err
	}
}

var parsers = []parser{
	{"crusoe", "crusoe-vm.yaml", wrap(Parse)},
	{"kraftcloud", "kraftcloud-app.yaml", wrap(ParseKraftCloud)},
	{"cloudmc", "cloudmc-vm.yaml", wrap(ParseCloudMC)},
	{"openvz", "container.yaml", wrap(ParseContainer)},
}

func exampleText(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "examples", name))
	require.NoError(t, err)
	return string(data)
}

func specErrors(t *testing.T, err error) Errors {
	t.Helper()
	require.Error(t, err, "the spec should be refused")
	var errs Errors
	require.True(t, errors.As(err, &errs), "error is %T (%v), want Errors", err, err)
	return errs
}

// A tagged value used to be taken as its raw text: "type: !!binary aGVsbG8="
// asked for a VM of type aGVsbG8=. Every parser now refuses a tag other than
// !!str, naming the field.
func TestEveryParserRefusesYAMLTags(t *testing.T) {
	tagged := map[string][2]string{
		"crusoe":     {"  type: c1a.2x", "  type: !!binary aGVsbG8="},
		"kraftcloud": {"  image: nginx:latest", "  image: !!binary aGVsbG8="},
		"cloudmc":    {"  name: demo-instance", "  name: !!binary aGVsbG8="},
		"openvz":     {"  ostemplate: centos-7-x86_64", "  ostemplate: !!binary aGVsbG8="},
	}
	fields := map[string]string{"crusoe": "vm.type", "kraftcloud": "instance.image", "cloudmc": "instance.name", "openvz": "container.ostemplate"}
	for _, p := range parsers {
		t.Run(p.name, func(t *testing.T) {
			src := exampleText(t, p.example)
			require.NoError(t, p.parse([]byte(src), p.example), "the example itself parses")
			r := tagged[p.name]
			require.Contains(t, src, r[0])
			errs := specErrors(t, p.parse([]byte(strings.Replace(src, r[0], r[1], 1)), p.example))
			require.NotEmpty(t, errs)
			assert.Equal(t, fields[p.name], errs[0].Field)
			assert.Contains(t, errs[0].Error(), "has the YAML tag !!binary, which cloudflow does not apply")
		})
	}
}

func TestTagsAnywhereAreReported(t *testing.T) {
	for _, tt := range []struct {
		name, src, field, tag string
		line                  int
	}{
		{"an int", head + disk() + "firewallRules:\n  - name: ssh\n    direction: ingress\n    protocols: [tcp]\n    sources: [0.0.0.0/0]\n    destinations: [vm]\n    destinationPorts: [!!int 22]\n", "firewallRules[0].destinationPorts[0]", "!!int", 16},
		{"a local tag", strings.Replace(head, "name: web-1", "name: !mine web-1", 1), "vm.name", "!mine", 3},
		{"a tagged mapping", strings.Replace(head, "vm:", "vm: !!map", 1), "vm", "!!map", 2},
		{"a tagged key", head + "!!binary dGltZW91dHM=: {}\n", "dGltZW91dHM=", "!!binary", 7},
		{"an anchor, used twice", head + "disks:\n  - name: data\n    size: &s !!binary MTBHaUI=\n  - name: more\n    size: *s\n", "disks[0].size", "!!binary", 9},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errs := parseErrors(t, tt.src, "spec.yaml")
			require.NotEmpty(t, errs)
			var found *FieldError
			for _, e := range errs {
				if strings.Contains(e.Problem, "YAML tag") {
					require.Nil(t, found, "one report per tag: %v", errs)
					found = e
				}
			}
			require.NotNil(t, found, "%v", errs)
			assert.Equal(t, tt.field, found.Field)
			assert.Contains(t, found.Problem, tt.tag)
			assert.Equal(t, tt.line, found.Line)
		})
	}
}

func TestPlainAndStrTaggedValuesAreFine(t *testing.T) {
	src := strings.Replace(head, "type: c1a.2x", "type: !!str c1a.2x", 1)
	s, err := Parse([]byte(src), "spec.yaml")
	require.NoError(t, err)
	assert.Equal(t, "c1a.2x", s.VM.Type)
	// JSON has no tags; a quoted value is no tag either.
	_, err = Parse([]byte(`{"provider": "crusoe", "vm": {"name": "web-1", "type": "!!binary", "location": "x", "sshPublicKey": "`+goodKey+`"}}`), "spec.json")
	require.NoError(t, err)
}

func encodeUTF16(s string, bigEndian, bom bool) []byte {
	var out []byte
	units := utf16.Encode([]rune(s))
	if bom {
		units = append([]uint16{0xFEFF}, units...)
	}
	for _, u := range units {
		if bigEndian {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

func encodeUTF32LE(s string) []byte {
	var out []byte
	for _, r := range "\ufeff" + s {
		out = append(out, byte(r), byte(r>>8), byte(r>>16), byte(r>>24))
	}
	return out
}

// A UTF-16 spec was read as if it were UTF-8 (or half-decoded): the user
// learnt of missing fields, or of control characters, not of the encoding.
func TestEveryParserNamesANonUTF8Encoding(t *testing.T) {
	for _, p := range parsers {
		t.Run(p.name, func(t *testing.T) {
			src := exampleText(t, p.example)
			for _, tt := range []struct {
				name string
				data []byte
				want string
			}{
				{"utf-16le with a bom", encodeUTF16(src, false, true), "is UTF-16 (little-endian) text, not UTF-8"},
				{"utf-16le", encodeUTF16(src, false, false), "is UTF-16 (little-endian) text, not UTF-8"},
				{"utf-16be with a bom", encodeUTF16(src, true, true), "is UTF-16 (big-endian) text, not UTF-8"},
				{"utf-32le", encodeUTF32LE(src), "is UTF-32 (little-endian) text, not UTF-8"},
				{"latin-1", []byte(src + "# caf\xe9\n"), "is not UTF-8 text"},
			} {
				errs := specErrors(t, p.parse(tt.data, p.example))
				require.Len(t, errs, 1, "%s: one problem, the encoding: %v", tt.name, errs)
				assert.Contains(t, errs[0].Error(), tt.want, tt.name)
				assert.Contains(t, errs[0].Error(), "save it as UTF-8", tt.name)
			}
			// A UTF-8 byte order mark is fine, in YAML and JSON alike.
			require.NoError(t, p.parse(append([]byte("\ufeff"), src...), p.example))
		})
	}
	_, err := Parse(append([]byte("\ufeff"), exampleText(t, "crusoe-vm.json")...), "crusoe-vm.json")
	require.NoError(t, err)
}

func TestReadInputStopsAtTheLimit(t *testing.T) {
	stdin := inputtest.NewEndless("#")
	_, err := ReadInput("-", stdin)
	var tooLarge *input.TooLargeError
	require.True(t, errors.As(err, &tooLarge), "%v", err)
	assert.Equal(t, "spec on standard input is larger than 1 MiB, the most cloudflow reads", err.Error())
	assert.LessOrEqual(t, stdin.BytesRead(), int64(2*MaxSpecSize), "stops reading near the limit")

	big := inputtest.Sparse(t, 300<<20)
	_, err = Load(big)
	require.True(t, errors.As(err, &tooLarge), "%v", err)
	assert.Equal(t, "spec "+big+" is larger than 1 MiB, the most cloudflow reads", err.Error())
	_, err = LoadKraftCloud(big)
	assert.True(t, input.IsTooLarge(err), "%v", err)
}

func TestFilesASpecRefersToAreBoundedText(t *testing.T) {
	dir := t.TempDir()
	specPath := filepath.Join(dir, "spec.yaml")
	require.NoError(t, os.Rename(inputtest.Sparse(t, 300<<20), filepath.Join(dir, "huge.sh")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "latin1.sh"), []byte("#!/bin/sh\necho caf\xe9\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.pub"), []byte(strings.Repeat("x", 20<<10)), 0o600))

	errs := parseErrors(t, head+"  startupScriptFile: huge.sh\n", specPath)
	assertErrors(t, errs, []want{{"vm.startupScriptFile", `"huge.sh" is larger than 1 MiB`, 7}})

	errs = parseErrors(t, head+"  shutdownScriptFile: latin1.sh\n", specPath)
	assertErrors(t, errs, []want{{"vm.shutdownScriptFile", "is not UTF-8 text", 7}})

	noKey := strings.Replace(head, `  sshPublicKey: "`+goodKey+`"`+"\n", "", 1)
	errs = parseErrors(t, noKey+"  sshPublicKeyFile: big.pub\n", specPath)
	assertErrors(t, errs, []want{{"vm.sshPublicKeyFile", `"big.pub" is larger than 16 KiB`, 6}})
}
