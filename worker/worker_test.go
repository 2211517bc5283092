package worker

import (
	"testing"

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
