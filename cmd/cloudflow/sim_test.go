package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/cloudsim"
)

// startSim runs `cloudflow sim` in-process until the test ends and returns
// the URL it prints.
func startSim(t *testing.T, args ...string) (url string, c *cli) {
	t.Helper()
	c = newCLI(t)
	ctx, stop := context.WithCancel(context.Background())
	c.f.NotifyContext = func(parent context.Context) (context.Context, context.CancelFunc) {
		return ctx, stop
	}
	done := make(chan int, 1)
	go func() { done <- c.run(append([]string{"sim", "--listen", "127.0.0.1:0"}, args...)...) }()
	t.Cleanup(func() {
		stop()
		select {
		case code := <-done:
			assert.Equal(t, exitOK, code)
		case <-time.After(5 * time.Second):
			t.Error("sim did not stop on Ctrl-C")
		}
	})
	re := regexp.MustCompile(`listening on (http://\S+)`)
	require.Eventually(t, func() bool { return re.MatchString(c.out.String()) }, 5*time.Second, 10*time.Millisecond, "stdout: %s", c.out.String())
	return re.FindStringSubmatch(c.out.String())[1], c
}

func TestSimServesAndInventoryChecksLeftovers(t *testing.T) {
	url, sim := startSim(t, "--operation-latency", "0s", "--fault", "error:GET:/v1alpha5/nothing:status=500")
	out := sim.out.String()
	assert.Contains(t, out, "export CRUSOE_API_ENDPOINT="+url+"/v1alpha5")
	assert.Contains(t, out, "export CRUSOE_ACCESS_KEY_ID="+cloudsim.DefaultCrusoeAccessKeyID)
	assert.Contains(t, out, "export CRUSOE_SECRET_KEY="+cloudsim.DefaultCrusoeSecretKey+"   # the simulator's public default")
	assert.Contains(t, out, "export CRUSOE_PROJECT_ID="+cloudsim.DefaultCrusoeProjectID)
	assert.Contains(t, out, "fault: error GET /v1alpha5/nothing")
	assert.Contains(t, out, "operations complete at once")

	c := newCLI(t)
	require.Equal(t, exitOK, c.run("sim", "inventory", "--endpoint", url, "--expect-empty"), c.errOut.String())
	assert.Equal(t, "No resources.\n", c.out.String())

	// Make a disk the way a worker would: signed requests with the printed credentials.
	cc, err := crusoe.NewFromConfig(crusoe.Config{
		Endpoint: url + "/v1alpha5", AccessKeyID: cloudsim.DefaultCrusoeAccessKeyID,
		SecretKey: cloudsim.DefaultCrusoeSecretKey, ProjectID: cloudsim.DefaultCrusoeProjectID,
	})
	require.NoError(t, err)
	_, err = cc.Disks.Create(context.Background(), "", &crusoe.DiskCreateRequest{Name: "demo-vm-data", Size: "10GiB", Type: "persistent-ssd", Location: "us-northcentral1-a"})
	require.NoError(t, err)

	c = newCLI(t)
	assert.Equal(t, exitFailed, c.run("sim", "inventory", "--endpoint", url, "--expect-empty"))
	assert.Regexp(t, `crusoe\s+\S+\s+demo-vm-data\s+\S+`, c.out.String())
	assert.Contains(t, c.errOut.String(), "expected no resources, found 1: crusoe")
	assert.Contains(t, c.errOut.String(), "demo-vm-data")

	c = newCLI(t)
	require.Equal(t, exitOK, c.run("sim", "inventory", "--endpoint", url+"/", "--json"))
	var inv cloudsim.Inventory
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &inv))
	assert.False(t, inv.Empty())
}

func TestSimSecretGivenIsNotEchoed(t *testing.T) {
	_, sim := startSim(t, "--secret-key", "bXktb3duLXNlY3JldA", "--access-key-id", "mine", "--project-id", "11111111-2222-3333-4444-555555555555")
	out := sim.out.String()
	assert.NotContains(t, out, "bXktb3duLXNlY3JldA")
	assert.Contains(t, out, "CRUSOE_SECRET_KEY=<the --secret-key you passed>")
	assert.Contains(t, out, "CRUSOE_ACCESS_KEY_ID=mine")
	assert.Contains(t, out, "CRUSOE_PROJECT_ID=11111111-2222-3333-4444-555555555555")
}

func TestSimInventoryTable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/_sim/inventory", r.URL.Path)
		_, _ = w.Write([]byte(`{"crusoe": {"vms": [{"id": "vm-1", "name": "demo-vm", "state": "STATE_RUNNING"}], "disks": [{"id": "d-1", "name": "demo-vm-data"}]}}`))
	}))
	defer srv.Close()
	c := newCLI(t)
	require.Equal(t, exitOK, c.run("sim", "inventory", "--endpoint", srv.URL))
	lines := strings.Split(strings.TrimSpace(c.out.String()), "\n")
	require.Len(t, lines, 3)
	assert.Regexp(t, `^CLOUD\s+KIND\s+NAME\s+ID\s+STATE$`, lines[0])
	assert.Regexp(t, `^crusoe\s+disks\s+demo-vm-data\s+d-1\s+-$`, lines[1])
	assert.Regexp(t, `^crusoe\s+vms\s+demo-vm\s+vm-1\s+STATE_RUNNING$`, lines[2])
}

func TestSimInventoryUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := newCLI(t)
	assert.Equal(t, exitOther, c.run("sim", "inventory", "--endpoint", url))
	assert.Contains(t, c.errOut.String(), "Is the simulator running?")
}

func TestSimPortTaken(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c := newCLI(t)
	assert.Equal(t, exitOther, c.run("sim", "--listen", strings.TrimPrefix(srv.URL, "http://")))
	assert.Contains(t, c.errOut.String(), "address already in use")
}
