package main

import (
	"context"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The simulator's admin endpoints take no credentials. Listening beyond
// loopback used to be silent, with a banner naming 127.0.0.1; now it takes
// --allow-remote, and then the banner says where it is bound and warns.
func TestSimRefusesToListenBeyondLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		c := newCLI(t)
		// Were it to start serving, Ctrl-C comes after a second.
		c.f.NotifyContext = func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, time.Second)
		}
		code := c.run("sim", "--listen", addr)
		assert.Equal(t, exitUsage, code, "--listen %s: %s", addr, c.errOut.String())
		assert.Contains(t, c.errOut.String(), "--listen "+addr+" would let other machines reach the simulator")
		assert.Contains(t, c.errOut.String(), "--allow-remote")
		assert.NotContains(t, c.out.String(), "listening")
	}
	// dev checks its --sim-listen the same way, before it starts anything.
	c := newCLI(t)
	assert.Equal(t, exitUsage, c.run("dev", "--sim-listen", "0.0.0.0:0", "--temporal-port", "0"))
	assert.Contains(t, c.errOut.String(), "--sim-listen 0.0.0.0:0 would let other machines reach the simulator")
	assert.NotContains(t, c.errOut.String(), "Starting the Temporal dev server")
}

func TestSimOnLoopbackNamesItsAddress(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0"} {
		url, sim := startSim(t, "--listen", addr)
		assert.Regexp(t, `^http://(127\.0\.0\.1|\[::1\]):\d+$`, url, addr)
		assert.NotContains(t, sim.errOut.String(), "warning")
	}
}

func TestSimAllowedRemotePrintsTheBoundAddressAndWarns(t *testing.T) {
	c := newCLI(t)
	ctx, stop := context.WithCancel(context.Background())
	c.f.NotifyContext = func(parent context.Context) (context.Context, context.CancelFunc) { return ctx, stop }
	done := make(chan int, 1)
	go func() { done <- c.run("sim", "--listen", "0.0.0.0:0", "--allow-remote") }()
	defer func() {
		stop()
		select {
		case code := <-done:
			assert.Equal(t, exitOK, code)
		case <-time.After(5 * time.Second):
			t.Error("sim did not stop")
		}
	}()
	// Go binds 0.0.0.0 as [::] where the system has IPv6: both are every interface.
	re := regexp.MustCompile(`listening on (?:0\.0\.0\.0|\[::\]):(\d+), every interface \(from this machine: (http://127\.0\.0\.1:(\d+))\)`)
	require.Eventually(t, func() bool { return re.MatchString(c.out.String()) }, 5*time.Second, 10*time.Millisecond, "stdout: %s", c.out.String())
	m := re.FindStringSubmatch(c.out.String())
	assert.Equal(t, m[1], m[3], "one port")
	assert.Regexp(t, `warning: the simulator listens on (0\.0\.0\.0|\[::\]):`+m[1]+`, beyond this machine`, c.errOut.String())
	resp, err := http.Get(m[2] + "/_sim/healthz")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
