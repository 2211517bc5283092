package main

import (
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The observability flags are checked before anything starts or connects.
func TestObserveFlagsAreChecked(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	t.Setenv("OPENVZ_API_ENDPOINT", "http://127.0.0.1:1/v0.1") // a cloud, so that the worker gets as far as listening
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"worker", "--log-level", "loud"}, `--log-level: log level "loud": want debug, info, warn or error`},
		{[]string{"worker", "--log-format", "xml"}, `--log-format: log format "xml": want json, text or auto`},
		{[]string{"worker", "--shutdown-timeout", "-1s"}, "--shutdown-timeout must not be negative"},
		{[]string{"worker", "--pollers", "1"}, `--pollers must be a number of at least 2, or auto, not "1"`},
		{[]string{"worker", "--pollers", "many"}, `--pollers must be a number of at least 2, or auto, not "many"`},
		{[]string{"worker", "--async-waits", "0"}, `--async-waits must be a number of at least 1, or off, not "0"`},
		{[]string{"worker", "--async-waits", "none"}, `--async-waits must be a number of at least 1, or off, not "none"`},
		{[]string{"worker", "--metrics-listen", taken.Addr().String()}, "--metrics-listen " + taken.Addr().String() + ": metrics listener:"},
		{[]string{"dev", "--log-level", "trace"}, `--log-level: log level "trace"`},
		{[]string{"dev", "--log-format", "yaml"}, `--log-format: log format "yaml"`},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c := newCLI(t)
			code := c.run(tt.args...)
			assert.Equal(t, exitUsage, code, "stderr: %s", c.errOut.String())
			assert.Contains(t, c.errOut.String(), tt.want)
			assert.Empty(t, c.dials)
		})
	}
}

// --async-waits is a cap of at least 1, or off (worker.Options.MaxAsyncWaits
// negative: every wait holds its activity slot).
func TestAsyncWaitsFlag(t *testing.T) {
	for in, want := range map[string]int{"off": -1, "1": 1, "250": 250, "10000": 10000} {
		got, err := (&workerOptions{AsyncWaits: in}).asyncWaits()
		if err != nil || got != want {
			t.Errorf("--async-waits %s = %d, %v; want %d", in, got, err, want)
		}
	}
	cmd := newWorkerCmd(&factory{}, &rootOptions{})
	if def := cmd.Flags().Lookup("async-waits").DefValue; def != "10000" {
		t.Errorf("--async-waits defaults to %s, want 10000 (activities.DefaultMaxAsyncWaits)", def)
	}
}
