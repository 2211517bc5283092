// Package e2e runs cloudflow end to end: the real Temporal dev server, the
// cloud simulator over real HTTP, workers in-process or as killable
// processes, and the CLI binary as a user runs it.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/internal/devserver"
	"github.com/cloudflow/cloudflow/starter"
)

var (
	temporal   *devserver.Server
	sim        *cloudsim.Running
	admin      *cloudsim.AdminClient
	cliBinary  string
	temporalCL string
)

// operationLatency is how long every simulated Crusoe operation runs.
const operationLatency = time.Second

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode")
		return 0
	}
	cli, err := devserver.FindCLI()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	temporalCL = cli
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	tmp, err := os.MkdirTemp("", "cloudflow-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	cliBinary = filepath.Join(tmp, "cloudflow")
	build := exec.CommandContext(ctx, "go", "build", "-o", cliBinary, "../cmd/cloudflow")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build cloudflow:", err)
		return 1
	}

	// The server's own log (warnings and errors) goes to a file, and its end
	// is printed when a test fails: a server that stops answering mid-suite
	// otherwise leaves only "context deadline exceeded" behind.
	serverLog, err := os.Create(filepath.Join(tmp, "temporal-server.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer serverLog.Close()
	temporal, err = devserver.Start(ctx, devserver.Options{CLIPath: cli, SearchAttributes: starter.SearchAttributeTypes, LogLevel: "warn", Output: serverLog})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start the Temporal dev server:", err)
		printTail(os.Stderr, serverLog.Name(), 200)
		return 1
	}
	defer temporal.Stop()

	sim, err = cloudsim.Start("127.0.0.1:0", cloudsim.Options{Crusoe: cloudsim.CrusoeOptions{OperationLatency: operationLatency}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: start the simulator:", err)
		return 1
	}
	defer sim.Close()
	admin = &cloudsim.AdminClient{BaseURL: sim.URL}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: the Temporal dev server (pid %d) had exited at the end: %v; the end of its log:\n", temporal.PID(), temporal.Exited())
		printTail(os.Stderr, serverLog.Name(), 200)
	}
	return code
}

// printTail writes the last n lines of the file at path to w.
func printTail(w io.Writer, path string, n int) {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(w, "e2e:", err)
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	for _, l := range lines[max(0, len(lines)-n):] {
		fmt.Fprintln(w, "  |", l)
	}
}

// dial returns a Temporal client for the dev server.
func dial(t testing.TB) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort: temporal.Address(),
		Logger:   log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	})
	if err != nil {
		t.Fatalf("dial Temporal: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// crusoeEnv is the environment a worker process needs to reach the simulator.
func crusoeEnv() []string {
	return []string{
		"CRUSOE_API_ENDPOINT=" + sim.URL + "/v1alpha5",
		"CRUSOE_ACCESS_KEY_ID=" + cloudsim.DefaultCrusoeAccessKeyID,
		"CRUSOE_SECRET_KEY=" + cloudsim.DefaultCrusoeSecretKey,
		"CRUSOE_PROJECT_ID=" + cloudsim.DefaultCrusoeProjectID,
		"KRAFTCLOUD_API_ENDPOINT=" + sim.URL + "/v1",
		"KRAFTCLOUD_TOKEN=" + cloudsim.DefaultKraftCloudToken,
		"OPENVZ_API_ENDPOINT=" + sim.URL + "/v0.1",
		"CLOUDMC_API_ENDPOINT=" + sim.URL + "/api/v2",
		"CLOUDMC_API_KEY=" + cloudsim.DefaultCloudMCAPIKey,
		"CLOUDMC_SERVICE_CODE=" + cloudsim.DefaultCloudMCServiceCode,
		"CLOUDMC_ENVIRONMENT=" + cloudsim.DefaultCloudMCEnvironment,
		"TEMPORAL_ADDRESS=" + temporal.Address(),
		"TEMPORAL_NAMESPACE=default",
		// Keep a developer's own config files out of the test.
		"HOME=" + os.TempDir(),
	}
}
