package worker

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/cloudflow/cloudflow/clients/crusoe"
)

func TestNewRequiresACrusoeClient(t *testing.T) {
	if _, err := New(&mocks.Client{}, Options{}); err == nil {
		t.Fatal("a worker without a Crusoe client would fail every activity; New must refuse it")
	}
}

// A worker keeps DefaultPollers polls of each kind open unless told
// otherwise; a negative count asks for the SDK's autoscaling; SDK options
// that set their own pollers win.
func TestPollers(t *testing.T) {
	wo := sdkOptions(Options{})
	if wo.MaxConcurrentWorkflowTaskPollers != DefaultPollers || wo.MaxConcurrentActivityTaskPollers != DefaultPollers {
		t.Fatalf("default pollers: %d workflow, %d activity; want %d", wo.MaxConcurrentWorkflowTaskPollers, wo.MaxConcurrentActivityTaskPollers, DefaultPollers)
	}
	wo = sdkOptions(Options{Pollers: 4})
	if wo.MaxConcurrentWorkflowTaskPollers != 4 || wo.MaxConcurrentActivityTaskPollers != 4 {
		t.Fatalf("4 pollers: %d workflow, %d activity", wo.MaxConcurrentWorkflowTaskPollers, wo.MaxConcurrentActivityTaskPollers)
	}
	wo = sdkOptions(Options{Pollers: -1})
	if wo.WorkflowTaskPollerBehavior == nil || wo.ActivityTaskPollerBehavior == nil || wo.MaxConcurrentWorkflowTaskPollers != 0 {
		t.Fatalf("autoscaling: %+v", wo)
	}
	wo = sdkOptions(Options{Pollers: 4, Worker: sdkworker.Options{MaxConcurrentActivityTaskPollers: 3}})
	if wo.MaxConcurrentWorkflowTaskPollers != 0 || wo.MaxConcurrentActivityTaskPollers != 3 {
		t.Fatalf("the SDK options' own pollers: %+v", wo)
	}
	if _, err := New(&mocks.Client{}, Options{Crusoe: &crusoe.Client{}, Pollers: 1}); err == nil {
		t.Fatal("one poller would make the SDK panic; New must refuse it")
	}
}

// The worker's waits run asynchronously, through its client, up to
// MaxAsyncWaits at once; a negative MaxAsyncWaits keeps every wait in place.
func TestMaxAsyncWaits(t *testing.T) {
	// A lazy client: the SDK's worker needs a real one, and nothing here
	// starts the worker, so it never dials.
	c, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tt := range []struct {
		max     int
		wantMax int
	}{{0, 0}, {5, 5}, {-1, -1}} {
		w, err := New(c, Options{Crusoe: &crusoe.Client{}, MaxAsyncWaits: tt.max, Worker: sdkworker.Options{WorkerStopTimeout: 7 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		aw, ok := w.(*asyncWorker)
		if !ok {
			t.Fatalf("New gave a %T, not a worker that stops its async waits", w)
		}
		if aw.waits.Completer != c || aw.waits.Max != tt.wantMax {
			t.Errorf("MaxAsyncWaits %d: completer %v, max %d; want the client and %d", tt.max, aw.waits.Completer, aw.waits.Max, tt.wantMax)
		}
		if aw.stopTimeout != 7*time.Second {
			t.Errorf("the async waits' stop timeout is %s, want the worker's 7s", aw.stopTimeout)
		}
	}
}

// stoppingWorker is an SDK worker whose Run, once interrupted, does not
// return until the async waits have begun to stop: a Run that stopped them
// only afterwards would give them the stop timeout twice over.
type stoppingWorker struct {
	sdkworker.Worker
	waitsStopping <-chan struct{}
	fatal         error // Run returns it at once, uninterrupted
}

func (w stoppingWorker) Run(interruptCh <-chan any) error {
	if w.fatal != nil {
		return w.fatal
	}
	<-interruptCh
	select {
	case <-w.waitsStopping:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("the async waits did not begin to stop while the SDK worker stopped")
	}
}

// Run stops the async waits beside the SDK worker once interrupted, and
// still stops them, once, when the SDK's Run ends on a fatal error.
func TestRunStopsTheAsyncWaitsBesideTheWorker(t *testing.T) {
	for _, fatal := range []error{nil, errors.New("namespace not found")} {
		stopping := make(chan struct{})
		var stops []time.Duration
		w := &asyncWorker{
			Worker:      stoppingWorker{waitsStopping: stopping, fatal: fatal},
			stopTimeout: 7 * time.Second,
			stopWaits: func(d time.Duration) {
				stops = append(stops, d)
				close(stopping)
			},
		}
		interrupt := make(chan any)
		if fatal == nil {
			close(interrupt)
		}
		if err := w.Run(interrupt); !errors.Is(err, fatal) {
			t.Fatalf("Run (fatal error %v): %v", fatal, err)
		}
		if len(stops) != 1 || stops[0] != 7*time.Second {
			t.Errorf("fatal error %v: the waits were stopped with %v, want once with the worker's 7s", fatal, stops)
		}
	}
}
