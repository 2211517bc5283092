package cloudsim

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestKraftCloudTenThousandInstances creates 10,000 instances and starts them
// in batches: every lookup is by map, so the whole run takes seconds.
func TestKraftCloudTenThousandInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 10,000 instances")
	}
	const total, batchSize, workers = 10000, 500, 16
	s := startSim(t, Options{})
	s.hc.Transport = &http.Transport{MaxIdleConnsPerHost: workers}
	k := s.kc()
	began := time.Now()

	names := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range names {
				if status, out := k.call("POST", "/v1/instances", obj{"image": "nginx", "name": name, "autostart": false}); status != http.StatusOK {
					t.Errorf("create %s: %d %v", name, status, out)
				}
			}
		}()
	}
	for n := range total {
		names <- fmt.Sprintf("fleet-%05d", n)
	}
	close(names)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	created := time.Since(began)

	// Start in batches, a few at once; a second pass over the same batches
	// finds every instance already running.
	batches := make(chan []obj)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range batches {
				// The second pass fails every item: 400, with the items.
				status, out := k.call("PUT", "/v1/instances/start", batch)
				if status != http.StatusOK && status != http.StatusBadRequest {
					t.Errorf("start: %d %v", status, out.str("message"))
					continue
				}
				for _, it := range out.obj("data").list("instances") {
					if it.str("status") != "success" && num(it["error"]) != KraftCloudErrInvalidState {
						t.Errorf("start item %v", it)
					}
				}
			}
		}()
	}
	for pass := range 2 {
		for from := 0; from < total; from += batchSize {
			batch := make([]obj, 0, batchSize)
			for n := from; n < from+batchSize; n++ {
				batch = append(batch, obj{"name": fmt.Sprintf("fleet-%05d", n)})
			}
			if pass == 1 {
				batch[0] = obj{"name": fmt.Sprintf("fleet-%05d", (from+batchSize/2)%total)}
			}
			batches <- batch
		}
	}
	close(batches)
	wg.Wait()
	started := time.Since(began) - created

	starts := s.run.Server.Counters()[CloudKraftCloud][kcInstanceStarts]
	if len(starts) != total {
		t.Errorf("%d instances started, want %d", len(starts), total)
	}
	for name, n := range starts {
		if n != 1 {
			t.Errorf("%s started %d times", name, n)
		}
	}
	s.clock.Advance(time.Second)
	if items := k.must("GET", "/v1/instances", nil, "instances"); len(items) != total {
		t.Errorf("listed %d instances", len(items))
	}
	var batch []obj
	for n := 0; n < total; n += 10 {
		batch = append(batch, obj{"name": fmt.Sprintf("fleet-%05d", n)})
	}
	for _, it := range k.must("GET", "/v1/instances", batch, "instances") {
		if it.str("state") != "running" {
			t.Errorf("%s is %s", it.str("name"), it.str("state"))
		}
	}
	t.Logf("created %d instances in %s, started them in %s", total, created.Round(time.Millisecond), started.Round(time.Millisecond))
}
