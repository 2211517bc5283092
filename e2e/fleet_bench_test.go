package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// BenchmarkFleetStart starts 1,000 and 10,000 KraftCloud instances with one
// StartInstances workflow on the real dev server and simulator: in batch
// calls (the defaults), and, as the baseline, one call at a time
// (chunk size 1, one in flight). Instances start at once in the simulator,
// so the figures are cloudflow's and Temporal's own cost. Besides ns/op it
// reports the API calls, the workflow history events (all runs, and the
// largest run) and the runs (continue-as-new) per fleet.
//
//	TEMPORAL_CLI=$PWD/bin/temporal go test ./e2e -run '^$' -bench FleetStart -benchtime 1x -timeout 60m
func BenchmarkFleetStart(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, mode := range []struct {
			name        string
			chunk, conc int
		}{{"batch", 0, 0}, {"one-call-at-a-time", 1, 1}} {
			b.Run(fmt.Sprintf("%s/%d", mode.name, n), func(b *testing.B) {
				var calls, events, maxEvents, runs int
				c := dial(b)
				startWorker(b, c, fresh(b))
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					tq := fresh(b)
					if err := admin.SetOperationLatency(context.Background(), "kraftcloud", 0); err != nil {
						b.Fatal(err)
					}
					names := seedInstances(b, fmt.Sprintf("b%d", i), n)
					s := starter.New(c, tq)
					b.StartTimer()

					run, err := s.StartInstances(context.Background(), workflows.FleetInput{
						Provider: workflows.ProviderKraftCloud, Instances: names, ChunkSize: mode.chunk, Concurrency: mode.conc,
					})
					if err != nil {
						b.Fatal(err)
					}
					ctx, cancel := context.WithTimeout(context.Background(), 50*time.Minute)
					var res workflows.FleetResult
					err = s.Result(ctx, run.WorkflowID, "", &res)
					cancel()
					b.StopTimer()
					if err != nil || len(res.Succeeded) != n {
						b.Fatalf("fleet: %v; %d of %d started", err, len(res.Succeeded), n)
					}
					calls += res.Calls
					runs += res.Runs
					for _, e := range runEvents(b, c, run.WorkflowID) {
						events += e
						maxEvents = max(maxEvents, e)
					}
				}
				b.ReportMetric(float64(calls)/float64(b.N), "api-calls/op")
				b.ReportMetric(float64(events)/float64(b.N), "history-events/op")
				b.ReportMetric(float64(maxEvents), "max-events-per-run")
				b.ReportMetric(float64(runs)/float64(b.N), "runs/op")
			})
		}
	}
}
