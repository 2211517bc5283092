package activities

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/clients/crusoe"
)

// A thousand waits on one worker, each on its own disk's operation, cost
// the simulator at most ten requests a second, counted in its journal: the
// family's operations are listed once per tick for all of them. Each wait
// still ends with its own disk. (Polled one by one, from 500 ms backing
// off to 10 s, they cost a hundred a second and more.)
func TestSharedPollingServesAThousandWaitsWithTenRequestsASecond(t *testing.T) {
	const n = 1000
	f := newSim(t, 3*time.Second)
	f.acts.Poll = DefaultPollPolicy
	ctx := context.Background()
	ops := make([]string, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			op, err := f.client.Disks.Create(ctx, "", &crusoe.DiskCreateRequest{
				Name: fmt.Sprintf("d-%d", i), Size: "10GiB", Type: "persistent-ssd", Location: "us-northcentral1-a"})
			require.NoError(t, err)
			// As the create activity does: this worker saw the operation
			// begin, so an end a list shows is kept for its wait however
			// late the wait starts (on a loaded machine, after the end).
			f.acts.waits.began(op.OperationID)
			mu.Lock()
			ops[i] = op.OperationID
			mu.Unlock()
		}()
	}
	wg.Wait()

	start := time.Now()
	ids := make([]string, n)
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env := f.env()
			v, err := env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: ops[i], Name: fmt.Sprintf("d-%d", i), Timeout: time.Minute})
			if err != nil {
				errs <- err
				return
			}
			var wr WaitResult
			if err := v.Get(&wr); err != nil {
				errs <- err
				return
			}
			ids[i] = wr.ResourceID
		}()
	}
	wg.Wait()
	window := time.Since(start)
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	for i, id := range ids {
		require.NotEmpty(t, id, "wait %d ended without its disk", i)
	}
	all, err := f.admin.Requests(ctx)
	require.NoError(t, err)
	var reqs []string
	perOp := 0
	for _, r := range all {
		if r.Time.Before(start) {
			continue // the creates
		}
		reqs = append(reqs, r.Path)
		if strings.Contains(r.Path, "/operations/") {
			perOp++
		}
	}
	rate := float64(len(reqs)) / window.Seconds()
	t.Logf("%d waits in %s: %d requests (%d of one operation), %.1f a second", n, window.Round(time.Millisecond), len(reqs), perOp, rate)
	require.LessOrEqual(t, rate, 10.0)
	require.Zero(t, perOp, "every operation was seen in a list")
}

// Waits on one CloudMC task share each read of it: ten waits, one request
// per tick.
func TestWaitsOnOneTaskShareItsReads(t *testing.T) {
	ctx := context.Background()
	var calls int
	var mu sync.Mutex
	p := &sharedPoll[*cloudmc.Task]{fetch: eachOf(func(ctx context.Context, id string) (*cloudmc.Task, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		time.Sleep(20 * time.Millisecond) // a request takes a while
		return &cloudmc.Task{ID: id, Status: cloudmc.TaskPending}, nil
	})}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tk, err := p.ask(ctx, "t-1")
			require.NoError(t, err)
			require.Equal(t, cloudmc.TaskPending, tk.Status)
		}()
	}
	wg.Wait()
	require.LessOrEqual(t, calls, 2, "the asks that came during a read wait for the next one, together")
}
