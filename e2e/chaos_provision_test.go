//go:build chaos

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/spec"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// exampleSpec is the spec every ProvisionVM run of the suite is made from,
// under a name of its own: a VM with two disks and a firewall rule on it.
const exampleSpec = "../examples/crusoe-vm.yaml"

// Outcomes of a run.
const (
	outcomeSucceeded = "succeeded"
	outcomeFailed    = "failed"
	outcomeStuck     = "stuck" // still open at the deadline
)

// chaosRun is one ProvisionVM run of the suite and what became of it.
type chaosRun struct {
	name   string
	spec   *spec.VMSpec
	run    starter.Run
	took   time.Duration
	result workflows.ProvisionVMResult
	// outcome is one of the outcome constants; status and message say how a
	// run that did not succeed ended.
	outcome, status, message string

	// What the simulator holds of the run once every run has ended.
	held []simResource

	deprovision                           starter.Run
	deprovisionOutcome                    string
	deprovisionStatus, deprovisionMessage string
}

// names are the cloud names of the run's resources: its VM, disks and rule.
func (r *chaosRun) names() []string {
	in := r.spec.ProvisionInput()
	out := []string{in.VM.Name}
	for _, d := range in.Disks {
		out = append(out, d.Name)
	}
	for _, fr := range in.FirewallRules {
		out = append(out, fr.Name)
	}
	return out
}

func (r *chaosRun) id() string { return r.run.WorkflowID + " (run " + r.run.RunID + ")" }

// loadChaosSpec is the example spec with the VM renamed.
func loadChaosSpec(t *testing.T, name string) *spec.VMSpec {
	t.Helper()
	data, err := os.ReadFile(exampleSpec)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "\n  name: demo-vm\n", "\n  name: "+name+"\n", 1)
	if text == string(data) {
		t.Fatalf("%s no longer names its VM demo-vm: update the chaos suite", exampleSpec)
	}
	s, err := spec.Parse([]byte(text), exampleSpec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// provisionPhase runs the ProvisionVM runs under the faults and the kills,
// judges each by the simulator's inventory and create counters, then
// deprovisions the successes (faults and kills still on) and checks that
// the simulator holds nothing.
func (e *chaosEnv) provisionPhase(t *testing.T, c client.Client, workers *workerPool) {
	ctx := context.Background()
	if err := admin.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := admin.SetOperationLatency(ctx, cloudsim.CloudCrusoe, *chaosLatency); err != nil {
		t.Fatal(err)
	}
	faults := provisionFaults(e.seed)
	faultIDs := installFaults(t, faults)
	faultNames := map[string]string{}
	for i, id := range faultIDs {
		faultNames[id] = faults[i].what
	}
	s := starter.New(c, "chaos")

	began := time.Now()
	stopKills := workers.killEvery(ctx, *chaosKillEvery)
	defer stopKills()

	runs := make([]*chaosRun, *chaosRuns)
	for i := range runs {
		name := fmt.Sprintf("chaos-%03d", i+1)
		r := &chaosRun{name: name, spec: loadChaosSpec(t, name)}
		run, err := s.ProvisionVM(ctx, r.spec.ProvisionInput())
		if err != nil {
			t.Fatalf("start ProvisionVM %s: %v", name, err)
		}
		r.run = run
		runs[i] = r
	}
	e.printf("ProvisionVM: %d runs started in %s\n", len(runs), time.Since(began).Round(time.Millisecond))

	awaitAll(e, "provision", began, workers, runs, func(ctx context.Context, r *chaosRun) (string, string, string) {
		return awaitRun(ctx, s, r.run, &r.result)
	}, func(r *chaosRun, took time.Duration, outcome, status, msg string) {
		r.took, r.outcome, r.status, r.message = took, outcome, status, msg
	})
	provisioned := time.Since(began)

	// Judge every run by what the simulator holds, once every run has ended
	// and any operation still running when it did has had its time.
	time.Sleep(2 * *chaosLatency)
	owner := map[string]*chaosRun{}
	for _, r := range runs {
		for _, n := range r.names() {
			owner[n] = r
		}
	}
	var strays []simResource
	for _, res := range simResources(t) {
		if r := owner[res.Name]; r != nil {
			r.held = append(r.held, res)
		} else {
			strays = append(strays, res)
		}
	}
	counts, err := admin.Counters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dups := duplicates(counts[cloudsim.CloudCrusoe], owner)

	var succeeded, failedClean, leaked, stuck, misreported []*chaosRun
	for _, r := range runs {
		switch {
		case r.outcome == outcomeStuck:
			stuck = append(stuck, r)
		case r.outcome == outcomeSucceeded && len(missingOf(r)) > 0:
			misreported = append(misreported, r)
		case r.outcome == outcomeSucceeded:
			succeeded = append(succeeded, r)
		case len(r.held) == 0:
			failedClean = append(failedClean, r)
		default:
			leaked = append(leaked, r)
		}
	}
	leakedResources := 0
	for _, r := range leaked {
		leakedResources += len(r.held)
	}

	e.printf("\nProvisionVM under chaos: %d runs in %s, %d worker kills\n", len(runs), provisioned.Round(time.Second), workers.killCount())
	e.printf("  %-14s %5d\n", "runs", len(runs))
	e.printf("  %-14s %5d\n", "succeeded", len(succeeded))
	e.printf("  %-14s %5d\n", "failed clean", len(failedClean))
	e.printf("  %-14s %5d   (%d resources left)\n", "leaked", len(leaked), leakedResources)
	e.printf("  %-14s %5d\n", "duplicates", len(dups))
	e.printf("  %-14s %5d\n", "stuck", len(stuck))
	e.printf("  %-14s %5d   (succeeded, but the simulator lacks what they made)\n", "misreported", len(misreported))
	e.printDurations(runs)
	e.printAttempts(t, c, runs)
	e.printFaults(t, faults, faultIDs)

	if len(leaked)+len(stuck)+len(misreported)+len(dups)+len(strays) > 0 {
		var ids []string
		for _, r := range append(append(slices.Clone(leaked), misreported...), stuck...) {
			for _, h := range r.held {
				ids = append(ids, h.ID)
			}
		}
		for _, h := range strays {
			ids = append(ids, h.ID)
		}
		trail := e.requestTrail(t, ids, faultNames)
		for _, r := range leaked {
			e.printLeak(r, trail)
		}
		for _, r := range misreported {
			e.printf("\n  MISREPORTED %s: succeeded, but the simulator lacks %s\n", r.id(), strings.Join(missingOf(r), ", "))
		}
		for _, r := range stuck {
			e.printStuck(t, c, s, r, trail)
		}
		for _, d := range dups {
			e.printf("\n  DUPLICATE %s\n", d)
		}
		for _, h := range strays {
			e.printf("\n  STRAY %s: no run of the suite has that name\n", h)
		}
	}
	e.goal(t, "ProvisionVM: every run ends clean", len(leaked)+len(stuck)+len(misreported) == 0,
		fmt.Sprintf("%d of %d did not: %d leaked %d resources, %d stuck, %d misreported", len(leaked)+len(stuck)+len(misreported), len(runs),
			len(leaked), leakedResources, len(stuck), len(misreported)))
	e.goal(t, "ProvisionVM: no resource created twice", len(dups) == 0, fmt.Sprintf("%d names created more than once", len(dups)))
	e.goal(t, "ProvisionVM: nothing no run asked for", len(strays) == 0, fmt.Sprintf("%d stray resources", len(strays)))

	e.deprovisionPhase(t, s, workers, runs, stopKills, faultNames)
}

// deprovisionPhase deletes what the successful runs made, with the faults
// and kills still on, then, with both off, checks that the simulator holds
// nothing at all: what failed runs left is counted again here.
func (e *chaosEnv) deprovisionPhase(t *testing.T, s *starter.Starter, workers *workerPool, runs []*chaosRun, stopKills func(), faultNames map[string]string) {
	ctx := context.Background()
	var todo []*chaosRun
	for _, r := range runs {
		if r.outcome != outcomeSucceeded {
			continue
		}
		run, err := s.DeprovisionVM(ctx, r.spec.DeprovisionInput())
		if err != nil {
			t.Fatalf("start DeprovisionVM %s: %v", r.name, err)
		}
		r.deprovision = run
		todo = append(todo, r)
	}
	began := time.Now()
	awaitAll(e, "deprovision", began, workers, todo, func(ctx context.Context, r *chaosRun) (string, string, string) {
		var res workflows.DeprovisionVMResult
		return awaitRun(ctx, s, r.deprovision, &res)
	}, func(r *chaosRun, _ time.Duration, outcome, status, msg string) {
		r.deprovisionOutcome, r.deprovisionStatus, r.deprovisionMessage = outcome, status, msg
	})
	stopKills()
	if err := admin.ClearFaults(ctx); err != nil {
		t.Fatal(err)
	}
	// Operations still running when the runs ended finish in the simulator
	// on their own; give them their time before looking.
	time.Sleep(2 * *chaosLatency)
	left := simResources(t)

	var failed, stuck []*chaosRun
	for _, r := range todo {
		switch r.deprovisionOutcome {
		case outcomeFailed:
			failed = append(failed, r)
		case outcomeStuck:
			stuck = append(stuck, r)
		}
	}
	e.printf("\nDeprovision of the %d successes, under the same faults and kills: %s\n", len(todo), time.Since(began).Round(time.Second))
	e.printf("  %-22s %5d\n", "deprovisions", len(todo))
	e.printf("  %-22s %5d\n", "succeeded", len(todo)-len(failed)-len(stuck))
	e.printf("  %-22s %5d\n", "failed", len(failed))
	e.printf("  %-22s %5d\n", "stuck", len(stuck))
	e.printf("  %-22s %5d   (faults off; anything left by a failed provision counts too)\n", "left in the simulator", len(left))
	for _, r := range failed {
		e.printf("    deprovision %s %s: %s\n", r.deprovision.WorkflowID, strings.ToLower(r.deprovisionStatus), r.deprovisionMessage)
	}
	for _, r := range stuck {
		e.printf("    deprovision %s still open at the deadline\n", r.deprovision.WorkflowID)
	}
	if len(left) > 0 {
		owner := map[string]*chaosRun{}
		for _, r := range runs {
			for _, n := range r.names() {
				owner[n] = r
			}
		}
		var ids []string
		for _, res := range left {
			ids = append(ids, res.ID)
		}
		trail := e.requestTrail(t, ids, faultNames)
		for _, res := range left {
			why := "no run of the suite has that name"
			if r := owner[res.Name]; r != nil {
				why = fmt.Sprintf("of %s, which %s", r.run.WorkflowID, r.outcome)
				if r.outcome == outcomeSucceeded {
					why += fmt.Sprintf("; its deprovision %s", r.deprovisionOutcome)
					if r.deprovisionOutcome == outcomeSucceeded {
						why += " (and said so: a misreport)"
					}
				}
			}
			e.printf("    left: %s, %s\n", res, why)
			for _, line := range trail[res.ID] {
				e.printf("        %s\n", line)
			}
		}
	}
	e.goal(t, "Deprovision: every one succeeds", len(failed)+len(stuck) == 0,
		fmt.Sprintf("%d of %d did not: %d failed, %d stuck", len(failed)+len(stuck), len(todo), len(failed), len(stuck)))
	e.goal(t, "Deprovision: the simulator ends empty", len(left) == 0, fmt.Sprintf("%d resources left", len(left)))
}

// awaitRun waits for a run to close and says how it ended.
func awaitRun(ctx context.Context, s *starter.Starter, run starter.Run, result any) (outcome, status, message string) {
	err := s.Result(ctx, run.WorkflowID, run.RunID, result)
	var re *starter.RunError
	switch {
	case err == nil:
		return outcomeSucceeded, "Completed", ""
	case ctx.Err() != nil:
		return outcomeStuck, "Running", ""
	case errors.As(err, &re):
		return outcomeFailed, re.Status, re.Message
	default:
		return outcomeFailed, "Unknown", err.Error()
	}
}

// awaitAll waits for every run, each until the deadline, and reports
// progress every 30 seconds.
func awaitAll(e *chaosEnv, what string, began time.Time, workers *workerPool, runs []*chaosRun,
	wait func(context.Context, *chaosRun) (string, string, string), done func(*chaosRun, time.Duration, string, string, string)) {
	ctx, cancel := context.WithDeadline(context.Background(), began.Add(*chaosDeadline))
	defer cancel()
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcome, status, msg := wait(ctx, r)
			mu.Lock()
			defer mu.Unlock()
			done(r, time.Since(began), outcome, status, msg)
			counts[outcome]++
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			return
		case <-tick.C:
			mu.Lock()
			e.printf("  %s: %s in, %d of %d ended (%d succeeded, %d failed), %d worker kills\n", what,
				time.Since(began).Round(time.Second), counts[outcomeSucceeded]+counts[outcomeFailed], len(runs),
				counts[outcomeSucceeded], counts[outcomeFailed], workers.killCount())
			mu.Unlock()
		}
	}
}

// missingOf lists what a successful run reported that the simulator lacks.
func missingOf(r *chaosRun) []string {
	held := map[string]bool{}
	for _, h := range r.held {
		held[h.ID] = true
	}
	var missing []string
	for _, res := range append(append([]workflows.Resource{r.result.VM}, r.result.Disks...), r.result.FirewallRules...) {
		if res.ID == "" || !held[res.ID] {
			missing = append(missing, fmt.Sprintf("%s %s %s", res.Kind, res.Name, orDash(res.ID)))
		}
	}
	if len(r.held) != len(r.names()) {
		missing = append(missing, fmt.Sprintf("(holds %d resources of the run, want %d)", len(r.held), len(r.names())))
	}
	return missing
}

// duplicates lists the names of the suite's runs that the cloud made more
// than once: for Crusoe, creates whose operation succeeded ("-made"; a create
// whose operation failed made nothing, and its retry is no duplicate); for a
// cloud whose creates are synchronous, the creates it accepted ("-creates").
func duplicates(counts map[string]map[string]int, owner map[string]*chaosRun) []string {
	var out []string
	for kind, names := range counts {
		what, made := strings.CutSuffix(kind, "-made")
		if !made {
			var created bool
			if what, created = strings.CutSuffix(kind, "-creates"); !created || counts[what+"-made"] != nil {
				continue
			}
		}
		for name, n := range names {
			if n > 1 {
				run := "no run of the suite"
				if r := owner[name]; r != nil {
					run = r.id() + ", " + r.outcome
				}
				out = append(out, fmt.Sprintf("%s %s made %d times (%s)", what, name, n, run))
			}
		}
	}
	sort.Strings(out)
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printLeak names what a failed run left, with what the run said about it
// and the requests the simulator saw for it.
func (e *chaosEnv) printLeak(r *chaosRun, trail map[string][]string) {
	e.printf("\n  LEAKED by %s, %s: %s at step %s: %s\n", r.name, r.id(), r.status, orDash(r.result.FailedStep), r.message)
	for _, h := range r.held {
		said := "the run does not name it as left behind"
		for _, nu := range r.result.NotUndone {
			if nu.Name == h.Name || (nu.ID != "" && nu.ID == h.ID) {
				said = fmt.Sprintf("reported as not undone (id %s): %s", orDash(nu.ID), nu.Error)
			}
		}
		for _, st := range r.result.Steps {
			if st.Resource == h.Name {
				said += fmt.Sprintf("; step %s ended %s", st.Name, st.State)
				if st.Error != "" {
					said += ": " + st.Error
				}
			}
		}
		e.printf("    %s: %s\n", h, said)
		for _, line := range trail[h.ID] {
			e.printf("        %s\n", line)
		}
	}
}

// printStuck shows where a run open at the deadline stands: its steps and
// its pending activities.
func (e *chaosEnv) printStuck(t *testing.T, c client.Client, s *starter.Starter, r *chaosRun, trail map[string][]string) {
	t.Helper()
	e.printf("\n  STUCK %s: still open after %s\n", r.id(), *chaosDeadline)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if p, err := s.Progress(ctx, r.run.WorkflowID, r.run.RunID); err == nil {
		e.printf("    phase %s\n", p.Phase)
		for _, st := range p.Steps {
			e.printf("    step %-28s %-12s %s %s\n", st.Name, st.State, orDash(st.ID), st.Error)
		}
	}
	if d, err := c.DescribeWorkflowExecution(ctx, r.run.WorkflowID, r.run.RunID); err == nil {
		for _, pa := range d.GetPendingActivities() {
			e.printf("    pending %s: attempt %d, %s, last failure: %s\n", pa.GetActivityType().GetName(), pa.GetAttempt(),
				strings.TrimPrefix(pa.GetState().String(), "PENDING_ACTIVITY_STATE_"), pa.GetLastFailure().GetMessage())
		}
	}
	for _, h := range r.held {
		e.printf("    holds %s\n", h)
		for _, line := range trail[h.ID] {
			e.printf("        %s\n", line)
		}
	}
}

// printDurations reports how long the runs that ended took.
func (e *chaosEnv) printDurations(runs []*chaosRun) {
	var took []time.Duration
	for _, r := range runs {
		if r.outcome != outcomeStuck {
			took = append(took, r.took)
		}
	}
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	at := func(q float64) time.Duration { return took[int(q*float64(len(took)-1))].Round(time.Second) }
	e.printf("  run time (start of the phase to end of the run): median %s, p95 %s, max %s\n", at(0.5), at(0.95), at(1))
}

// printAttempts reports, from the runs' histories, how many activities
// needed more than one attempt and the most attempts one took: the cost of
// faults and kills.
func (e *chaosEnv) printAttempts(t *testing.T, c client.Client, runs []*chaosRun) {
	t.Helper()
	var activities, retried int
	var most int32
	var mostAt string
	retries := map[*chaosRun][]string{} // the activities of a run that took more than one attempt
	for _, r := range runs {
		it := c.GetWorkflowHistory(context.Background(), r.run.WorkflowID, r.run.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		scheduled := map[int64]string{}
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Logf("history of %s: %v", r.run.WorkflowID, err)
				break
			}
			if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
				scheduled[ev.GetEventId()] = a.GetActivityType().GetName()
			}
			if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
				activities++
				if a.GetAttempt() > 1 {
					retried++
					retries[r] = append(retries[r], fmt.Sprintf("%s ×%d", scheduled[a.GetScheduledEventId()], a.GetAttempt()))
				}
				if a.GetAttempt() > most {
					most, mostAt = a.GetAttempt(), fmt.Sprintf("%s in %s", scheduled[a.GetScheduledEventId()], r.run.WorkflowID)
				}
			}
		}
	}
	e.printf("  activities: %d, %d needed more than one attempt; most attempts: %d (%s)\n", activities, retried, most, orDash(mostAt))
	slowest := slices.Clone(runs)
	slices.SortFunc(slowest, func(a, b *chaosRun) int { return int(b.took - a.took) })
	for _, r := range slowest[:min(3, len(slowest))] {
		e.printf("    slow: %s %s after %s; attempts: %s\n", r.name, r.outcome, r.took.Round(time.Second), orDash(strings.Join(retries[r], ", ")))
	}
}
