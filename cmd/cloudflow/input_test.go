package main

import (
	"fmt"
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

// assertRefused checks a command exited 2 with every piece of want in its
// message, read no more of stdin than a few caps' worth, and started nothing.
func assertRefused(t *testing.T, c *cli, code int, stdin *inputtest.Endless, want ...string) {
	t.Helper()
	assert.Equal(t, exitUsage, code, "stderr: %s", c.errOut.String())
	for _, w := range want {
		assert.Contains(t, c.errOut.String(), w)
	}
	if stdin != nil {
		assert.LessOrEqual(t, stdin.BytesRead(), int64(8<<20), "read %d bytes of standard input", stdin.BytesRead())
	}
	assert.Empty(t, c.dials, "dialled Temporal")
}

// Every command that reads a spec, a fleet, a ledger or a key stops at its
// cap with exit 2, naming the input, whether it comes from a file or from
// endless standard input. Before, `--file -` and `-f -` read until memory
// ran out.
func TestEveryInputStopsAtItsCap(t *testing.T) {
	huge := inputtest.Sparse(t, 300<<20)
	for _, tc := range []struct {
		name    string
		args    []string
		pattern string // stdin, when the command reads it
		want    []string
	}{
		{"vm provision -f -", []string{"vm", "provision", "-f", "-"}, "# padding\n", []string{"spec on standard input is larger than 1 MiB"}},
		{"vm deprovision -f -", []string{"vm", "deprovision", "-f", "-"}, "provider: crusoe\n", []string{"spec on standard input is larger than 1 MiB"}},
		{"vm provision -f FILE", []string{"vm", "provision", "-f", huge}, "", []string{"spec " + huge + " is larger than 1 MiB"}},
		{"instances deploy -f -", []string{"instances", "deploy", "-f", "-"}, "#", []string{"spec on standard input is larger than 1 MiB"}},
		{"instances undeploy -f FILE", []string{"instances", "undeploy", "-f", huge}, "", []string{"spec " + huge + " is larger than 1 MiB"}},
		{"container create -f -", []string{"container", "create", "-f", "-"}, "x", []string{"spec on standard input is larger than 1 MiB"}},
		{"container delete -f FILE", []string{"container", "delete", "-f", huge}, "", []string{"spec " + huge + " is larger than 1 MiB"}},
		{"instances start --file -", []string{"instances", "start", "--provider", "kraftcloud", "--file", "-"}, "# a comment\n", []string{"--file - (standard input) is larger than 4 MiB"}},
		{"instances stop --file FILE", []string{"instances", "stop", "--provider", "crusoe", "--file", huge}, "", []string{"--file " + huge + " is not text (a NUL byte at offset 0)"}},
		{"instances start --file - of names", []string{"instances", "start", "--provider", "kraftcloud", "--file", "-"}, "web-1\n", []string{"--file - (standard input) lists more than 20000 instances"}},
		{"instances start --file - of one line", []string{"instances", "start", "--provider", "cloudmc", "--file", "-"}, "a", []string{"--file - (standard input) line 1 is longer than 4 KiB"}},
		{"disks snapshot --ledger -", []string{"disks", "snapshot", "--vm", "web", "--retention", "1d", "--ledger", "-"}, "[", []string{"--ledger standard input is larger than 4 MiB"}},
		{"disks snapshot --ledger FILE", []string{"disks", "snapshot", "--vm", "web", "--retention", "1d", "--ledger", huge}, "", []string{"--ledger " + huge + " is larger than 4 MiB"}},
		{"vm bulk-create --ssh-public-key-file", []string{"vm", "bulk-create", "--name-prefix", "b", "--count", "2", "--type", "t", "--location", "l", "--ssh-public-key-file", huge}, "", []string{"--ssh-public-key-file " + huge + " is larger than 16 KiB"}},
		{"plan -f -", []string{"plan", "-f", "-"}, "# padding\n", []string{"spec on standard input is larger than 1 MiB"}},
		{"apply -f FILE", []string{"apply", "-f", huge, "--auto-approve"}, "", []string{"spec " + huge + " is larger than 1 MiB"}},
		{"destroy -f -", []string{"destroy", "-f", "-"}, "provider: openvz\n", []string{"spec on standard input is larger than 1 MiB"}},
		{"schedule create -- instances start --file -", []string{"schedule", "create", "s", "--every", "1h", "--", "instances", "start", "--provider", "kraftcloud", "--file", "-"}, "\n", []string{"--file - (standard input) is larger than 4 MiB"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLI(t)
			var stdin *inputtest.Endless
			if tc.pattern != "" {
				stdin = inputtest.NewEndless(tc.pattern)
				c.f.IO.In = stdin
			}
			code := c.run(tc.args...)
			assertRefused(t, c, code, stdin, tc.want...)
		})
	}
}

func TestFleetConcurrencyZeroIsRefusedLikeNegative(t *testing.T) {
	for _, v := range []string{"0", "-1", "65"} {
		c := newCLI(t)
		code := c.run("instances", "start", "--provider", "kraftcloud", "web-1", "--concurrency", v)
		assertRefused(t, c, code, nil, "--concurrency must be from 1 to 64, not "+v)
	}
	for _, tc := range []struct {
		flag, value, want string
	}{
		{"--chunk-size", "0", "--chunk-size must be from 1 to 1000, not 0"},
		{"--chunk-size", "-5", "--chunk-size must be from 1 to 1000, not -5"},
		{"--max-attempts", "11", "--max-attempts must be from 1 to 10, not 11"},
		{"--wait-timeout", "0s", "--wait-timeout must be longer than zero"},
		{"--drain-timeout", "-1s", "--drain-timeout must not be negative"},
	} {
		c := newCLI(t)
		code := c.run("instances", "stop", "--provider", "kraftcloud", "web-1", tc.flag, tc.value)
		assertRefused(t, c, code, nil, tc.want)
	}
	// Left out, it is the provider's default.
	c := newCLI(t)
	require.Equal(t, exitOK, c.run("instances", "start", "--provider", "crusoe", "gpu-1"), c.errOut.String())
	assert.Equal(t, 0, c.fake.fleets[0].Concurrency)
	c = newCLI(t)
	require.Equal(t, exitOK, c.run("instances", "start", "--provider", "crusoe", "gpu-1", "--concurrency", "64"), c.errOut.String())
	assert.Equal(t, 64, c.fake.fleets[0].Concurrency)
}

func TestFleetNamesFromTwoPlacesAreRefused(t *testing.T) {
	fleet := filepath.Join(t.TempDir(), "fleet.txt")
	require.NoError(t, os.WriteFile(fleet, []byte("web-3\n"), 0o600))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--names", "web-1,web-2", "--file", fleet}, "instances are named by --names and by --file " + fleet},
		{[]string{"web-1", "--names", "web-2"}, "instances are named by arguments (web-1) and by --names"},
		{[]string{"web-1", "web-2", "web-3", "web-4", "--file", "-"}, "instances are named by arguments (web-1 web-2 web-3 ...) and by --file -"},
	} {
		c := newCLI(t)
		c.f.IO.In = strings.NewReader("web-9\n")
		code := c.run(append([]string{"instances", "start", "--provider", "kraftcloud"}, tc.args...)...)
		assertRefused(t, c, code, nil, tc.want, "name them one way only")
	}
}

// Crusoe names are lowercase letters, digits and '-': the rule spec files
// follow, and now the fleet commands too.
func TestCrusoeFleetNamesFollowTheSpecRule(t *testing.T) {
	c := newCLI(t)
	code := c.run("instances", "start", "--provider", "crusoe", "gpu-1", "GPU_1", "gpu-", "9gpu")
	assertRefused(t, c, code, nil, "3 instance names are invalid",
		`argument: crusoe: invalid argument: name "GPU_1": it has uppercase letters; use 1-63 lowercase letters, digits and '-'`,
		`name "gpu-": it must not end in '-'`, `name "9gpu": it must start with a letter`)
}

func utf16LE(s string) []byte {
	out := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

func TestFleetFileProblemsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, data, 0o600))
		return path
	}
	empty := write("empty.txt", nil)
	comments := write("comments.txt", []byte("# nothing yet\n\n   \n"))
	wide := write("utf16.txt", utf16LE("web-1\nweb-2\n"))
	latin1 := write("latin1.txt", []byte("web-1\ncaf\xe9\n"))
	for _, tc := range []struct {
		file string
		want string
	}{
		{empty, "--file " + empty + " is empty: list one instance name per line"},
		{comments, "--file " + comments + " names no instances, only blank lines and comments"},
		{wide, "--file " + wide + " is UTF-16 (little-endian) text, not UTF-8; a fleet file is UTF-8 text"},
		{latin1, "--file " + latin1 + " line 2 is not UTF-8 text"},
	} {
		c := newCLI(t)
		code := c.run("instances", "start", "--provider", "kraftcloud", "--file", tc.file)
		assertRefused(t, c, code, nil, tc.want)
	}
	c := newCLI(t)
	c.f.IO.In = strings.NewReader("")
	assertRefused(t, c, c.run("instances", "start", "--provider", "kraftcloud", "--file", "-"), nil, "--file - (standard input) is empty")
}

// readFleet holds at most max names, whatever the file holds.
func TestReadFleet(t *testing.T) {
	lines, err := readFleet(strings.NewReader("\ufeff# fleet\nweb-1\n  web-2  \r\n\n#web-3\nweb-4"), "--file f", 3)
	require.NoError(t, err)
	assert.Equal(t, []fileLine{{"web-1", 2}, {"web-2", 3}, {"web-4", 6}}, lines)

	_, err = readFleet(strings.NewReader("a\nb\nc\nd\n"), "--file f", 3)
	assert.EqualError(t, err, "--file f lists more than 3 instances, the most one workflow takes; split it into several files")
	lines, err = readFleet(strings.NewReader(strings.Repeat("a\n", 3)+strings.Repeat("# just comments\n", 1000)), "--file f", 3)
	require.NoError(t, err)
	assert.Len(t, lines, 3)
}

// A UTF-16 spec used to be read as YAML (with a byte order mark) or to fail
// on "control characters" (without one); a tagged value was dropped.
func TestSpecEncodingAndTagsAreRefusedByTheCLI(t *testing.T) {
	src, err := os.ReadFile(exampleSpec)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "vm.yaml")
	require.NoError(t, os.WriteFile(path, utf16LE(string(src)), 0o600))
	c := newCLI(t)
	assertRefused(t, c, c.run("vm", "provision", "-f", path), nil,
		"spec "+path+" has 1 problem; nothing was started:\n  is UTF-16 (little-endian) text, not UTF-8; save it as UTF-8")

	c = newCLI(t)
	c.f.IO.In = strings.NewReader(strings.Replace(string(src), "type: c1a.2x", "type: !!binary aGVsbG8=", 1))
	assertRefused(t, c, c.run("vm", "provision", "-f", "-"), nil,
		"spec on standard input has 1 problem", "vm.type: has the YAML tag !!binary, which cloudflow does not apply")
	assert.Empty(t, c.fake.sentKinds())
}

func TestLedgerInUTF16IsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.json")
	require.NoError(t, os.WriteFile(path, utf16LE(`{"ledger": []}`), 0o600))
	c := newCLI(t)
	assertRefused(t, c, c.run("disks", "snapshot", "--vm", "web", "--retention", "1d", "--ledger", path), nil,
		"--ledger "+path+" is UTF-16 (little-endian) text, not UTF-8")
}

func TestScheduleDurationsOfZeroAreRefused(t *testing.T) {
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--cron", "@daily", "--every", "0s"}, "--every must be longer than zero"},
		{[]string{"--every", "-1h"}, "--every must be longer than zero"},
		{[]string{"--every", "1h", "--catchup-window", "0s"}, "--catchup-window must be longer than zero (default 10m0s)"},
	} {
		c := newCLI(t)
		args := append(append([]string{"schedule", "create", "nightly"}, tc.flags...), "--", "instances", "start", "--provider", "kraftcloud", "web-1")
		assertRefused(t, c, c.run(args...), nil, tc.want)
		assert.Empty(t, c.fake.schedules)
	}
}

// The bulk-create prefix follows the Crusoe name rule, for every VM it makes.
func TestBulkCreatePrefixFollowsTheNameRule(t *testing.T) {
	key := filepath.Join(t.TempDir(), "id.pub")
	require.NoError(t, os.WriteFile(key, []byte("ssh-ed25519 AAAAC3Nza test\n"), 0o600))
	long := strings.Repeat("a", 60)
	c := newCLI(t)
	code := c.run("vm", "bulk-create", "--name-prefix", long, "--count", "100", "--type", "t", "--location", "l", "--ssh-public-key-file", key)
	assertRefused(t, c, code, nil, fmt.Sprintf("--name-prefix %q makes the VM name %q: it is 64 characters long, over the limit of 63", long, long+"-100"))
}

// A Temporal configuration file over its cap is bad usage, not a Temporal
// that cannot be reached.
func TestConfigFileTooLargeIsBadUsage(t *testing.T) {
	c := newCLI(t)
	c.fake.dialErr = &input.TooLargeError{Name: "Temporal configuration file /dev/zero", Limit: 1 << 20}
	assert.Equal(t, exitUsage, c.run("runs", "list", "--config-file", "/dev/zero"))
	assert.Contains(t, c.errOut.String(), "Temporal configuration file /dev/zero is larger than 1 MiB")
	assert.NotContains(t, c.errOut.String(), "Is Temporal running?")
}
