//go:build chaos

// The chaos suite, run by `make chaos` and not by `make test`: ProvisionVM
// runs and a KraftCloud fleet against the simulator under injected faults
// and SIGKILLed workers, judged by what the simulator holds and counts, not
// by what the runs report. See README (Chaos suite) and RELIABILITY.md.
package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudflow/cloudflow/cloudsim"
)

var (
	chaosRuns      = flag.Int("chaos.runs", 100, "concurrent ProvisionVM runs")
	chaosFleet     = flag.Int("chaos.fleet", 1000, "KraftCloud instances in the fleet start (0 skips it)")
	chaosWorkers   = flag.Int("chaos.workers", 2, "worker processes")
	chaosKillEvery = flag.Duration("chaos.kill-every", 10*time.Second, "SIGKILL (and restart) one worker this often during the ProvisionVM phase")
	chaosLatency   = flag.Duration("chaos.latency", 500*time.Millisecond, "how long each simulated operation (and KraftCloud start) takes")
	chaosDeadline  = flag.Duration("chaos.deadline", 20*time.Minute, "how long runs may take; a run still open then is stuck")
	chaosSeed      = flag.Int64("chaos.seed", 0, "seed of the fault draws (0: taken from the clock; printed either way)")
	chaosOut       = flag.String("chaos.out", "", "directory for the request log, worker logs and summary (default: a new temporary directory, kept)")
)

// chaosEnv is what the phases share: a simulator of the suite's own, whose
// every request is logged, and the place the logs and summary go.
type chaosEnv struct {
	dir   string
	out   io.Writer // stdout and summary.txt
	seed  int64
	log   *lockedWriter // the simulator's request log
	goals []chaosGoal
}

// chaosGoal is one goal of the suite and whether the run met it.
type chaosGoal struct {
	name, detail string
	met          bool
}

// goal records a goal; a missed one fails the test, saying how.
func (e *chaosEnv) goal(t *testing.T, name string, met bool, detail string) {
	t.Helper()
	e.goals = append(e.goals, chaosGoal{name: name, detail: detail, met: met})
	if !met {
		t.Errorf("goal missed: %s: %s", name, detail)
	}
}

func (e *chaosEnv) printGoals() {
	e.printf("\nGoals\n")
	for _, g := range e.goals {
		verdict := "met"
		if !g.met {
			verdict = "MISSED: " + g.detail
		}
		e.printf("  %-45s %s\n", g.name, verdict)
	}
}

func TestChaos(t *testing.T) {
	env := newChaosEnv(t)
	env.printf("chaos: %s\n", machine())
	env.printf("chaos: seed %d, %d ProvisionVM runs, %d-instance fleet, %d workers, a kill every %s, latency %s, deadline %s\n",
		env.seed, *chaosRuns, *chaosFleet, *chaosWorkers, *chaosKillEvery, *chaosLatency, *chaosDeadline)
	env.printf("chaos: logs in %s (repeat the fault draws with -chaos.seed=%d)\n\n", env.dir, env.seed)
	c := dial(t)
	workers := newWorkerPool(t, c, "chaos", env.dir, *chaosWorkers)

	t.Run("ProvisionVM", func(t *testing.T) { env.provisionPhase(t, c, workers) })
	if *chaosFleet > 0 {
		t.Run("Fleet", func(t *testing.T) { env.fleetPhase(t, c, workers) })
	}
	env.printGoals()
	env.printf("\nchaos: logs in %s\n", env.dir)
}

func newChaosEnv(t *testing.T) *chaosEnv {
	t.Helper()
	dir := *chaosOut
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "cloudflow-chaos-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	summary, err := os.Create(filepath.Join(dir, "summary.txt"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { summary.Close() })
	env := &chaosEnv{dir: dir, out: io.MultiWriter(os.Stdout, summary), seed: *chaosSeed}
	if env.seed == 0 {
		env.seed = time.Now().UnixNano() % 1_000_000_000
	}

	// The suite's own simulator, logging every request it serves, takes the
	// place of the shared one for the helpers (crusoeEnv, cli, inventory).
	f, err := os.Create(filepath.Join(dir, "requests.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	env.log = &lockedWriter{w: bufio.NewWriterSize(f, 1<<20)}
	run, err := cloudsim.Start("127.0.0.1:0", cloudsim.Options{
		Crusoe:     cloudsim.CrusoeOptions{OperationLatency: *chaosLatency},
		KraftCloud: cloudsim.KraftCloudOptions{Latency: *chaosLatency},
		Logger:     slog.New(slog.NewJSONHandler(env.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	shared, sharedAdmin := sim, admin
	sim, admin = run, &cloudsim.AdminClient{BaseURL: run.URL}
	t.Cleanup(func() {
		_ = run.Close()
		_ = env.log.Flush()
		f.Close()
		sim, admin = shared, sharedAdmin
	})
	return env
}

func (e *chaosEnv) printf(format string, a ...any) { fmt.Fprintf(e.out, format, a...) }

// lockedWriter is a buffered writer that the simulator's logger and the
// suite (which flushes it to read the log back) share.
type lockedWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Flush()
}

// chaosFault is a fault with the share of its requests it should hit.
type chaosFault struct {
	what  string
	fault cloudsim.Fault
	share float64
}

// provisionFaults are the faults of the ProvisionVM phase, on every Crusoe
// request: 10% answered 500, 5% 429 with Retry-After, 2% of creates
// served and then the connection closed, 10% of the operations creates and
// deletes start failed. One fault at most applies to a request, the first
// that draws it; each fault's rate is its share of the requests the faults
// before it let through, so that the shares hold overall.
func provisionFaults(seed int64) []chaosFault {
	const crusoe = "/v1alpha5/**"
	fs := []chaosFault{
		{"5xx (500) on any request", cloudsim.Fault{Path: crusoe, Action: cloudsim.FaultError, Status: 500}, 0.10},
		{"429 with Retry-After: 1 on any request", cloudsim.Fault{Path: crusoe, Action: cloudsim.FaultError, Status: 429, RetryAfter: cloudsim.Duration(time.Second)}, 0.05},
		{"create served, response dropped", cloudsim.Fault{Method: "POST", Path: crusoe, Action: cloudsim.FaultDropResponse}, 0.02},
		{"create operation fails", cloudsim.Fault{Method: "POST", Path: crusoe, Action: cloudsim.FaultFailOperation, Code: "INTERNAL", Message: "chaos: operation failed"}, 0.10},
		{"delete operation fails", cloudsim.Fault{Method: "DELETE", Path: crusoe, Action: cloudsim.FaultFailOperation, Code: "INTERNAL", Message: "chaos: operation failed"}, 0.10},
	}
	for i := range fs {
		before := 0.0
		for _, earlier := range fs[:i] {
			if m, n := earlier.fault.Method, fs[i].fault.Method; m == "" || n == "" || m == n {
				before += earlier.share
			}
		}
		fs[i].fault.Cloud = cloudsim.CloudCrusoe
		fs[i].fault.Rate = fs[i].share / (1 - before)
		fs[i].fault.Seed = seed + int64(i)
	}
	return fs
}

// installFaults installs fs and returns their IDs, in order.
func installFaults(t *testing.T, fs []chaosFault) []string {
	t.Helper()
	ids := make([]string, len(fs))
	for i, f := range fs {
		got, err := admin.AddFault(context.Background(), f.fault)
		if err != nil {
			t.Fatalf("install fault %q: %v", f.what, err)
		}
		ids[i] = got.ID
	}
	return ids
}

// printFaults reports how often each fault applied.
func (e *chaosEnv) printFaults(t *testing.T, fs []chaosFault, ids []string) {
	t.Helper()
	got, err := admin.Faults(context.Background())
	if err != nil {
		t.Errorf("list faults: %v", err)
		return
	}
	byID := map[string]cloudsim.Fault{}
	for _, f := range got {
		byID[f.ID] = f
	}
	e.printf("  faults (hits of the requests each one saw):\n")
	for i, f := range fs {
		g := byID[ids[i]]
		e.printf("    %-42s %6d of %6d (rate %.4f, seed %d)\n", f.what, g.Hits, g.Seen, g.Rate, g.Seed)
	}
}

// simResource is a resource in the simulator's inventory.
type simResource struct {
	Cloud, Kind string
	ID          string `json:"id"`
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	State       string `json:"state"`
}

func (r simResource) String() string {
	id := r.ID
	if id == "" {
		id = r.UUID
	}
	s := fmt.Sprintf("%s %s %s", r.Kind, r.Name, id)
	if r.State != "" {
		s += " (" + r.State + ")"
	}
	return s
}

// simResources lists every resource the simulator holds.
func simResources(t *testing.T) []simResource {
	t.Helper()
	var out []simResource
	for cloud, kinds := range inventory(t) {
		for kind, items := range kinds {
			for _, raw := range items {
				r := simResource{Cloud: cloud, Kind: kind}
				if err := json.Unmarshal(raw, &r); err != nil {
					t.Fatalf("inventory %s %s: %v", cloud, kind, err)
				}
				out = append(out, r)
			}
		}
	}
	slices.SortFunc(out, func(a, b simResource) int { return strings.Compare(a.Kind+a.Name, b.Kind+b.Name) })
	return out
}

// requestTrail returns, from the simulator's request log, every request
// whose path names one of ids, by ID.
func (e *chaosEnv) requestTrail(t *testing.T, ids []string, faultNames map[string]string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	if len(ids) == 0 {
		return out
	}
	if err := e.log.Flush(); err != nil {
		t.Errorf("flush the request log: %v", err)
	}
	f, err := os.Open(filepath.Join(e.dir, "requests.jsonl"))
	if err != nil {
		t.Errorf("read the request log: %v", err)
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, id := range ids {
			if id == "" || !strings.Contains(line, id) {
				continue
			}
			var rec struct {
				Time      time.Time `json:"time"`
				Method    string    `json:"method"`
				Path      string    `json:"path"`
				Status    int       `json:"status"`
				Fault     string    `json:"fault"`
				Operation string    `json:"operation"`
			}
			if json.Unmarshal([]byte(line), &rec) != nil || !strings.Contains(rec.Path, id) {
				continue
			}
			s := fmt.Sprintf("%s %s %s → %d", rec.Time.Format("15:04:05.000"), rec.Method, shortPath(rec.Path), rec.Status)
			if rec.Fault != "" {
				s += " [fault: " + faultNames[rec.Fault] + "]"
			}
			if rec.Operation != "" {
				s += " op " + rec.Operation
			}
			out[id] = append(out[id], s)
		}
	}
	if err := sc.Err(); err != nil {
		t.Errorf("read the request log: %v", err)
	}
	return out
}

// shortPath drops the Crusoe project prefix from a path.
func shortPath(p string) string {
	if i := strings.Index(p, "/projects/"); i >= 0 {
		rest := p[i+len("/projects/"):]
		if j := strings.Index(rest, "/"); j >= 0 {
			return rest[j+1:]
		}
	}
	return p
}
