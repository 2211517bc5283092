//go:build chaos

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/workflows"
)

// fleetPhase seeds stopped KraftCloud instances, starts them all with
// `cloudflow instances start` as a user would, kills every worker twice
// while it runs, and checks from the simulator's counters that each
// instance was started exactly once.
func (e *chaosEnv) fleetPhase(t *testing.T, c client.Client, workers *workerPool) {
	ctx := context.Background()
	n := *chaosFleet
	if err := admin.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := admin.SetOperationLatency(ctx, cloudsim.CloudKraftCloud, *chaosLatency); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(e.dir, "fleet.txt")
	if out, errOut, code := cli(t, "sim", "seed", "--endpoint", sim.URL, "--kraftcloud-instances", fmt.Sprint(n), "--prefix", "fleet", "--out", file); code != 0 {
		t.Fatalf("sim seed: exit %d\n%s\n%s", code, out, errOut)
	}

	began := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, *chaosDeadline)
	defer cancel()
	cmd := exec.CommandContext(runCtx, cliBinary, "instances", "start", "--provider", "kraftcloud", "--file", file,
		"--task-queue", "chaos", "--wait", "--json")
	cmd.Env = append(os.Environ(), crusoeEnv()...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Kill every worker once a quarter of the instances have been sent a
	// start (the simulator counts a start when it accepts it, so batch calls
	// are in flight then), and again once 60% have, the restarted workers
	// having picked the fleet up again: whatever call or wait is in flight
	// dies with them each time.
	killAt := []int{n / 4, n * 3 / 5}
	var kills []string
	var lastKill time.Time
	var runErr error
watch:
	for {
		select {
		case runErr = <-exited:
			break watch
		case <-time.After(50 * time.Millisecond):
		}
		if len(kills) == len(killAt) || (len(kills) > 0 && time.Since(lastKill) < *chaosKillEvery/2) {
			continue
		}
		started := len(sim.Server.Counters()[cloudsim.CloudKraftCloud]["instance-starts"])
		if started >= killAt[len(kills)] {
			workers.restartAll()
			lastKill = time.Now()
			kills = append(kills, fmt.Sprintf("with %d of %d instances sent a start, %s in", started, n, time.Since(began).Round(100*time.Millisecond)))
		}
	}
	took := time.Since(began)

	var res workflows.FleetResult
	decodeErr := json.Unmarshal(stdout.Bytes(), &res)
	starts := counters(t, cloudsim.CloudKraftCloud, "instance-starts")
	states := instanceStates(t)
	var never, twice, notRunning []string
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("fleet-%d", i)
		switch c := starts[name]; {
		case c == 0:
			never = append(never, name)
		case c > 1:
			twice = append(twice, fmt.Sprintf("%s ×%d", name, c))
		}
		if states[name] != kraftcloud.StateRunning {
			notRunning = append(notRunning, fmt.Sprintf("%s (%s)", name, orDash(states[name])))
		}
	}
	sort.Strings(twice)

	e.printf("\nFleet start of %d KraftCloud instances with every worker killed twice: %s\n", n, took.Round(time.Second))
	for i, k := range kills {
		e.printf("  kill %d: %s\n", i+1, k)
	}
	exit := 0
	var ee *exec.ExitError
	switch {
	case errors.As(runErr, &ee):
		exit = ee.ExitCode()
	case runErr != nil:
		exit = -1
	}
	e.printf("  %-24s %5d   (exit %d)\n", "reported started", len(res.Succeeded), exit)
	e.printf("  %-24s %5d\n", "reported failed", len(res.Failed))
	e.printf("  %-24s %5d\n", "started exactly once", n-len(never)-len(twice))
	e.printf("  %-24s %5d   %s\n", "never started", len(never), firstFew(never))
	e.printf("  %-24s %5d   %s\n", "started more than once", len(twice), firstFew(twice))
	e.printf("  %-24s %5d   %s\n", "not running at the end", len(notRunning), firstFew(notRunning))
	e.printf("  API calls %d, workflow runs %d\n", res.Calls, res.Runs)
	for _, f := range res.Failed {
		e.printf("    failed: %s %s %s\n", f.Ref, f.Code, f.Message)
	}

	e.goal(t, "Fleet: ends before the deadline", runCtx.Err() == nil, fmt.Sprintf("still running after %s", *chaosDeadline))
	e.goal(t, "Fleet: both worker kills land while it runs", len(kills) == len(killAt),
		fmt.Sprintf("only %d of %d: the fleet ended first (slow the simulator with -chaos.latency)", len(kills), len(killAt)))
	e.goal(t, "Fleet: every instance started exactly once", len(never)+len(twice) == 0,
		fmt.Sprintf("%d never started, %d started more than once", len(never), len(twice)))
	e.goal(t, "Fleet: all reported started, all running", len(notRunning) == 0 && exit == 0 && decodeErr == nil && len(res.Succeeded) == n,
		fmt.Sprintf("exit %d, %d of %d reported started, %d not running; stderr: %s", exit, len(res.Succeeded), n, len(notRunning), strings.TrimSpace(stderr.String())))
}

// firstFew shows up to five items of a list.
func firstFew(items []string) string {
	if len(items) > 5 {
		return strings.Join(items[:5], ", ") + fmt.Sprintf(", … (%d more)", len(items)-5)
	}
	return strings.Join(items, ", ")
}
