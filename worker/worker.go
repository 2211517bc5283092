// Package worker builds a Temporal worker with every cloudflow workflow and
// activity registered.
package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/clients/openvz"
	"github.com/cloudflow/cloudflow/workflows"
)

// Options configures a worker. Cloud clients carry the credentials; they stay
// in the worker process and never enter workflow history.
type Options struct {
	// TaskQueue defaults to workflows.TaskQueue.
	TaskQueue string
	// Crusoe and KraftCloud are the cloud clients; at least one is required.
	// Activities of a cloud without a client fail with a message saying
	// which variables to set.
	Crusoe     *crusoe.Client
	KraftCloud *kraftcloud.Client
	// OpenVZ is the container API's client (it has no credentials).
	OpenVZ *openvz.Client
	// CloudMC is the CloudMC client (API key and environment).
	CloudMC *cloudmc.Client
	// Poll paces the durable waiter; zero means activities.DefaultPollPolicy.
	Poll activities.PollPolicy
	// Metrics, when set, is told how each wait for a cloud operation ended.
	// (The SDK's metrics go through the client's MetricsHandler, the API
	// calls through each cloud client's observer.)
	Metrics activities.Metrics
	// OnReady, when set, is called with true once the worker polls its task
	// queue, and with false as soon as Run begins to stop it: a readiness
	// endpoint follows it.
	OnReady func(ready bool)
	// Pollers is how many long polls the worker keeps open for workflow
	// tasks, and as many for activity tasks (at least 2: the SDK alternates
	// workflow pollers between the sticky and the shared queue): zero means
	// DefaultPollers, a negative number the SDK's poller autoscaling.
	// Ignored when Worker sets its own pollers or poller behaviours.
	Pollers int
	// MaxAsyncWaits caps the durable waits the worker runs asynchronously
	// (off its activity slots, completed through the client): zero means
	// activities.DefaultMaxAsyncWaits, a negative number none. Waits over
	// the cap hold an activity slot each, as every wait did before.
	MaxAsyncWaits int
	// Worker passes SDK worker options through (concurrency, identity, the
	// stop timeout...).
	Worker sdkworker.Options
}

// DefaultPollers is how many workflow-task and activity-task polls a
// worker keeps open. The SDK's default, 2 of each, serializes a burst of
// tasks: 100 ProvisionVM runs whose operations end together hand the
// worker 100 workflow tasks at once. Measured with `make bench` (100
// concurrent runs against one, BENCHMARKS.md): 2 pollers 2.3×, 4 1.8×,
// 8 to 32 about 1.4×, the SDK's autoscaling 1.7×. 16 leaves a margin.
const DefaultPollers = 16

// sdkOptions are the SDK worker options of opts: its Worker options, with
// the pollers set unless those set their own.
func sdkOptions(opts Options) sdkworker.Options {
	wo := opts.Worker
	if wo.MaxConcurrentWorkflowTaskPollers != 0 || wo.MaxConcurrentActivityTaskPollers != 0 ||
		wo.WorkflowTaskPollerBehavior != nil || wo.ActivityTaskPollerBehavior != nil {
		return wo
	}
	switch n := opts.Pollers; {
	case n < 0:
		wo.WorkflowTaskPollerBehavior = sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{})
		wo.ActivityTaskPollerBehavior = sdkworker.NewPollerBehaviorAutoscaling(sdkworker.PollerBehaviorAutoscalingOptions{})
	default:
		if n == 0 {
			n = DefaultPollers
		}
		wo.MaxConcurrentWorkflowTaskPollers, wo.MaxConcurrentActivityTaskPollers = n, n
	}
	return wo
}

// DefaultStopTimeout is how long a stopping worker lets the activities in
// flight run to their end by default (sdkworker.Options.WorkerStopTimeout):
// a deployment's grace period before it kills the process (compose's
// stop_grace_period, Kubernetes' terminationGracePeriodSeconds) should be
// a little longer.
const DefaultStopTimeout = 30 * time.Second

// New returns a worker, not yet started, with everything registered.
func New(c client.Client, opts Options) (sdkworker.Worker, error) {
	if opts.Crusoe == nil && opts.KraftCloud == nil && opts.OpenVZ == nil && opts.CloudMC == nil {
		return nil, errors.New("worker: no cloud client: configure Crusoe (CRUSOE_* or ~/.crusoe/config), KraftCloud (KRAFTCLOUD_TOKEN), the container API (OPENVZ_API_ENDPOINT) or CloudMC (CLOUDMC_*)")
	}
	tq := opts.TaskQueue
	if tq == "" {
		tq = workflows.TaskQueue
	}
	if opts.Pollers == 1 {
		return nil, errors.New("worker: at least 2 pollers (the SDK alternates workflow pollers between the sticky and the shared queue)")
	}
	so := sdkOptions(opts)
	w := sdkworker.New(c, tq, so)
	aw := &activities.AsyncWaits{Completer: c, Max: opts.MaxAsyncWaits}
	if o, ok := opts.Metrics.(activities.AsyncWaitsObserver); ok {
		o.ObserveAsyncWaits(aw.InFlight)
	}
	register(w, opts, aw)
	return &asyncWorker{Worker: w, waits: aw, stopWaits: aw.Stop, stopTimeout: so.WorkerStopTimeout}, nil
}

// asyncWorker is an SDK worker that also stops the waits it runs
// asynchronously, which the SDK no longer knows of.
type asyncWorker struct {
	sdkworker.Worker
	waits *activities.AsyncWaits
	// stopWaits is waits.Stop (a test's stand-in otherwise).
	stopWaits   func(timeout time.Duration)
	stopTimeout time.Duration
}

// Stop stops the SDK worker and, at the same time, gives the asynchronous
// waits in flight the same stop timeout to end; those still running then
// end with a retryable error, and another worker resumes them. It returns
// once both are done, before the caller closes the client the waits
// complete through.
func (w *asyncWorker) Stop() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.stopWaits(w.stopTimeout)
	}()
	w.Worker.Stop()
	<-done
}

// Run is sdkworker.Worker's Run (until interruptCh, or a fatal error). The
// async waits stop beside the SDK worker, as with Stop: once the interrupt
// is passed on to the SDK's Run (which then stops its worker), or once
// that Run has returned on its own. It returns once both are done.
func (w *asyncWorker) Run(interruptCh <-chan any) error {
	passed := make(chan any, 1)
	runDone, waitsDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(waitsDone)
		select {
		case v := <-interruptCh:
			passed <- v
		case <-runDone:
		}
		w.stopWaits(w.stopTimeout)
	}()
	err := w.Worker.Run(passed)
	close(runDone)
	<-waitsDone
	return err
}

// Register registers every workflow and activity on r (a worker, or a
// replayer for workflows).
func Register(r sdkworker.Registry, opts Options) {
	register(r, opts, nil)
}

// register registers everything, the waits running asynchronously on aw
// when it is set.
func register(r sdkworker.Registry, opts Options, aw *activities.AsyncWaits) {
	RegisterWorkflows(r)
	r.RegisterActivity(&activities.CrusoeActivities{Client: opts.Crusoe, Poll: opts.Poll, Metrics: opts.Metrics, Async: aw})
	r.RegisterActivity(&activities.KraftCloudActivities{Client: opts.KraftCloud, Poll: opts.Poll, Metrics: opts.Metrics})
	r.RegisterActivity(&activities.OpenVZActivities{Client: opts.OpenVZ, Poll: opts.Poll, Metrics: opts.Metrics, Async: aw})
	r.RegisterActivity(&activities.CloudMCActivities{Client: opts.CloudMC, Poll: opts.Poll, Metrics: opts.Metrics, Async: aw})
}

// RegisterWorkflows registers the workflows under their contract names.
func RegisterWorkflows(r sdkworker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(workflows.ProvisionVM, workflow.RegisterOptions{Name: workflows.ProvisionVMWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.DeprovisionVM, workflow.RegisterOptions{Name: workflows.DeprovisionVMWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.BulkCreateVMs, workflow.RegisterOptions{Name: workflows.BulkCreateVMsWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.StartInstances, workflow.RegisterOptions{Name: workflows.StartInstancesWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.StopInstances, workflow.RegisterOptions{Name: workflows.StopInstancesWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.DeployInstance, workflow.RegisterOptions{Name: workflows.DeployInstanceWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.UndeployInstance, workflow.RegisterOptions{Name: workflows.UndeployInstanceWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.SnapshotDisks, workflow.RegisterOptions{Name: workflows.SnapshotDisksWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.ProvisionInstance, workflow.RegisterOptions{Name: workflows.ProvisionInstanceWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.DeprovisionInstance, workflow.RegisterOptions{Name: workflows.DeprovisionInstanceWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.CreateContainer, workflow.RegisterOptions{Name: workflows.CreateContainerWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.DeleteContainer, workflow.RegisterOptions{Name: workflows.DeleteContainerWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.Stack, workflow.RegisterOptions{Name: workflows.StackWorkflowName})
	r.RegisterWorkflowWithOptions(workflows.ApplyStack, workflow.RegisterOptions{Name: workflows.ApplyStackWorkflowName})
}

// Run runs a worker until ctx ends, then stops it gracefully: it polls for
// no new task, the activities in flight get opts.Worker.WorkerStopTimeout to
// finish (their contexts are cancelled after it, and Temporal retries them on
// another worker), the waits it runs asynchronously get the same time (those
// still running then fail with a retryable error, and another worker resumes
// them), and Run returns once they have.
func Run(ctx context.Context, c client.Client, opts Options) error {
	w, err := New(c, opts)
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	ready := opts.OnReady
	if ready == nil {
		ready = func(bool) {}
	}
	ready(true)
	<-ctx.Done()
	ready(false)
	w.Stop()
	return nil
}
