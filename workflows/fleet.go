package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
)

// StartInstances starts a fleet: KraftCloud instances in batch calls of
// ChunkSize, Crusoe VMs one action each, Concurrency calls in flight. Each
// instance is reported: started, failed (with the cloud's code and message)
// or skipped. Items that failed for a reason worth retrying get up to
// MaxAttempts rounds; a large fleet continues as new every ItemsPerRun
// instances. When any instance failed the run fails with FleetIncomplete and
// the FleetResult as details.
func StartInstances(ctx workflow.Context, in FleetInput) (FleetResult, error) {
	return runFleet(ctx, StartInstancesWorkflowName, activities.ActionStart, in)
}

// StopInstances stops a fleet; see StartInstances.
func StopInstances(ctx workflow.Context, in FleetInput) (FleetResult, error) {
	return runFleet(ctx, StopInstancesWorkflowName, activities.ActionStop, in)
}

// WithDefaults fills the zero fields with the provider's defaults.
func (in FleetInput) WithDefaults() FleetInput {
	kraft := in.Provider == ProviderKraftCloud
	if in.ChunkSize == 0 {
		in.ChunkSize = DefaultKraftCloudChunkSize
	}
	if in.Concurrency == 0 {
		in.Concurrency = DefaultCrusoeConcurrency
		if kraft {
			in.Concurrency = DefaultKraftCloudConcurrency
		}
	}
	if in.MaxAttempts == 0 {
		in.MaxAttempts = DefaultMaxAttempts
	}
	if in.WaitTimeout == 0 {
		in.WaitTimeout = DefaultWaitTimeout
	}
	if in.ItemsPerRun == 0 {
		in.ItemsPerRun = DefaultCrusoeItemsPerRun
		if kraft {
			in.ItemsPerRun = DefaultKraftCloudItemsPerRun
		}
	}
	return in
}

// Validate reports what is wrong with the input as a whole, naming the field.
// Bad references are not its business: each is reported per item.
func (in FleetInput) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	switch in.Provider {
	case ProviderKraftCloud, ProviderCrusoe:
	case "":
		bad("provider is required (kraftcloud or crusoe)")
	default:
		bad("provider %q is not supported (use kraftcloud or crusoe)", in.Provider)
	}
	if in.Carry == nil && len(in.Instances) == 0 {
		bad("instances: at least one instance is required")
	}
	if len(in.Instances) > MaxFleetSize {
		bad("instances: %d is more than one workflow takes (%d); split the fleet", len(in.Instances), MaxFleetSize)
	}
	if in.ChunkSize < 0 || in.ChunkSize > MaxKraftCloudChunkSize {
		bad("chunkSize %d is out of range (1-%d)", in.ChunkSize, MaxKraftCloudChunkSize)
	}
	if in.Concurrency < 0 || in.Concurrency > 64 {
		bad("concurrency %d is out of range (1-64)", in.Concurrency)
	}
	if in.MaxAttempts < 0 || in.MaxAttempts > 10 {
		bad("maxAttempts %d is out of range (1-10)", in.MaxAttempts)
	}
	if in.ItemsPerRun < 0 {
		bad("itemsPerRun %d is negative", in.ItemsPerRun)
	}
	if in.WaitTimeout < 0 || in.DrainTimeout < 0 {
		bad("waitTimeout and drainTimeout must not be negative")
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// ValidRef reports whether ref can name an instance of the provider.
func ValidRef(provider, ref string) error {
	switch provider {
	case ProviderKraftCloud:
		if activities.KraftCloudRef(ref).UUID != "" {
			return nil
		}
		return kraftcloud.ValidateName(ref)
	case ProviderCrusoe:
		if ref == "" || len(ref) > 63 || strings.TrimSpace(ref) != ref {
			return fmt.Errorf("%q is not a VM name (1-63 characters, no spaces)", ref)
		}
	}
	return nil
}

// fleet is one run of a fleet workflow.
type fleet struct {
	name     string
	action   string
	in       FleetInput
	carry    FleetCarry
	progress FleetProgress
	kc       *activities.KraftCloudActivities // nil: names activities
	cr       *activities.CrusoeActivities     // nil: names activities
}

func runFleet(ctx workflow.Context, name, action string, in FleetInput) (FleetResult, error) {
	in = in.WithDefaults()
	if err := in.Validate(); err != nil {
		return FleetResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidFleet, nil)
	}
	f := &fleet{name: name, action: action, in: in}
	todo := in.Instances
	if in.Carry != nil {
		f.carry = *in.Carry
	} else {
		f.carry.Total = len(in.Instances)
		todo = f.screen(in.Instances)
	}
	f.carry.Runs++
	f.progress = FleetProgress{Workflow: name, Provider: in.Provider, Action: action, Phase: PhaseRunning, Run: f.carry.Runs}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (FleetProgress, error) { return f.snapshot(), nil }); err != nil {
		return FleetResult{}, err
	}

	n := min(len(todo), in.ItemsPerRun)
	f.settle(ctx, todo[:n])
	if ctx.Err() != nil {
		f.progress.Phase = PhaseFailed
		return FleetResult{}, temporal.NewCanceledError(f.result())
	}
	if n < len(todo) {
		next := in
		next.Instances = todo[n:]
		next.Carry = &f.carry
		return FleetResult{}, workflow.NewContinueAsNewError(ctx, name, next)
	}
	res := f.result()
	if len(res.Failed) > 0 {
		f.progress.Phase = PhaseFailed
		return res, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%d of %d instances did not %s", len(res.Failed), res.Total, action),
			ErrTypeFleetIncomplete, nil, res)
	}
	f.progress.Phase = PhaseCompleted
	return res, nil
}

// screen drops repeated references (reported as skipped) and references
// that cannot name an instance (reported as failed), so neither aborts a
// batch call carrying the others.
func (f *fleet) screen(refs []string) []string {
	out := make([]string, 0, len(refs))
	first := make(map[string]int, len(refs)) // looked up, never ranged over
	for i, r := range refs {
		key := r
		if f.in.Provider == ProviderKraftCloud {
			key = strings.ToLower(r) // the API lower-cases names
		}
		if j, dup := first[key]; dup {
			f.carry.Skipped = append(f.carry.Skipped, FleetItem{Ref: r, Code: "DUPLICATE",
				Message: fmt.Sprintf("listed again (first as entry %d); acted on once", j+1)})
			continue
		}
		first[key] = i
		if err := ValidRef(f.in.Provider, r); err != nil {
			f.carry.Failed = append(f.carry.Failed, FleetItem{Ref: r, Code: "INVALID_NAME", Message: err.Error()})
			continue
		}
		out = append(out, r)
	}
	return out
}

// settle acts on refs in rounds: each round acts on what is left, and what
// failed for a reason worth retrying is left for the next, up to MaxAttempts.
func (f *fleet) settle(ctx workflow.Context, refs []string) {
	work := refs
	for round := 1; len(work) > 0 && ctx.Err() == nil; round++ {
		f.progress.Round = round
		final := round >= f.in.MaxAttempts
		var retry []string
		outcome := func(it activities.ItemResult) {
			switch {
			case it.Outcome == activities.OutcomeDone:
				f.carry.Succeeded = append(f.carry.Succeeded, it.Ref)
			case it.Retryable && !final:
				retry = append(retry, it.Ref)
			default:
				f.carry.Failed = append(f.carry.Failed, FleetItem{Ref: it.Ref, ID: it.ID, State: it.State,
					Code: it.Code, Message: it.Message, Attempts: round})
			}
		}
		if f.in.Provider == ProviderKraftCloud {
			f.kraftRound(ctx, work, outcome)
		} else {
			f.crusoeRound(ctx, work, outcome)
		}
		work = retry
		if len(work) > 0 {
			// Give whatever made them fail a moment: 2 s, 4 s, 8 s... up to 30 s.
			_ = workflow.Sleep(ctx, min(time.Duration(1<<round)*time.Second, 30*time.Second))
		}
	}
}

// kraftRound starts or stops refs in batch calls, Concurrency at a time, and
// waits out the instances the server did not finish within its own wait.
func (f *fleet) kraftRound(ctx workflow.Context, refs []string, outcome func(activities.ItemResult)) {
	size := f.in.ChunkSize
	chunks := (len(refs) + size - 1) / size
	windowed(ctx, chunks, f.in.Concurrency, func(ctx workflow.Context, c int) {
		chunk := refs[c*size : min((c+1)*size, len(refs))]
		f.progress.InFlight += len(chunk)
		f.kraftBatch(ctx, chunk, func(it activities.ItemResult) {
			f.progress.InFlight--
			outcome(it)
		})
	})
}

// serverWait is how long a KraftCloud start call asks the server to hold its
// answer until the instances run; the rest is waited out by the wait activity.
const serverWait = 10 * time.Second

// kraftBatch makes one batch call and reports what it settled at once; the
// instances still on their way are reported when the wait settles them.
func (f *fleet) kraftBatch(ctx workflow.Context, refs []string, outcome func(activities.ItemResult)) {
	act, target := f.kc.KraftCloudStartInstances, kraftcloud.StateRunning
	in := activities.KraftCloudBatchInput{Refs: refs, WaitTimeout: min(serverWait, f.in.WaitTimeout)}
	if f.action == activities.ActionStop {
		act, target = f.kc.KraftCloudStopInstances, kraftcloud.StateStopped
		in = activities.KraftCloudBatchInput{Refs: refs, Force: f.in.Force, DrainTimeout: f.in.DrainTimeout}
	}
	var br activities.BatchResult
	err := workflow.ExecuteActivity(batchOptions(ctx, f.in.Timeouts, in.WaitTimeout+in.DrainTimeout), act, in).Get(ctx, &br)
	f.carry.Calls += max(br.Calls, 1)
	if err != nil {
		for _, it := range failAll(refs, err) {
			outcome(it)
		}
		return
	}
	var waiting []string
	for _, it := range br.Items {
		if it.Outcome == activities.OutcomeWait {
			waiting = append(waiting, it.Ref)
		} else {
			outcome(it)
		}
	}
	if len(waiting) == 0 {
		return
	}
	var wr activities.BatchResult
	err = workflow.ExecuteActivity(waitOptions(ctx, Timeouts{Operation: f.in.WaitTimeout, Heartbeat: f.in.Timeouts.Heartbeat}),
		f.kc.KraftCloudWaitInstances, activities.KraftCloudWaitInput{Refs: waiting, State: target, Timeout: f.in.WaitTimeout}).Get(ctx, &wr)
	f.carry.Calls += wr.Calls
	if err != nil {
		wr.Items = failAll(waiting, err)
	}
	for _, it := range wr.Items {
		outcome(it)
	}
}

// crusoeRound looks the VMs up, then starts or stops each one (Crusoe has no
// batch call) and waits for its operation, Concurrency VMs at a time.
func (f *fleet) crusoeRound(ctx workflow.Context, names []string, outcome func(activities.ItemResult)) {
	var found []activities.FoundVM
	for lo := 0; lo < len(names) && ctx.Err() == nil; lo += CrusoeLookupChunk {
		chunk := names[lo:min(lo+CrusoeLookupChunk, len(names))]
		var res activities.FindVMsResult
		err := workflow.ExecuteActivity(callOptions(ctx, f.in.Timeouts), f.cr.CrusoeFindVMs,
			activities.FindVMsInput{ProjectID: f.in.ProjectID, Names: chunk}).Get(ctx, &res)
		f.carry.Calls++
		if err != nil {
			for _, it := range failAll(chunk, err) {
				outcome(it)
			}
			continue
		}
		found = append(found, res.VMs...)
	}
	var act []activities.FoundVM
	for _, vm := range found {
		if it, ok := f.crusoePrecheck(vm); ok {
			act = append(act, vm)
		} else {
			outcome(it)
		}
	}
	action, target := crusoe.VMActionStart, crusoe.VMStateRunning
	if f.action == activities.ActionStop {
		action, target = crusoe.VMActionStop, crusoe.VMStateStopped
	}
	windowed(ctx, len(act), f.in.Concurrency, func(ctx workflow.Context, i int) {
		vm := act[i]
		f.progress.InFlight++
		defer func() { f.progress.InFlight-- }()
		var ar activities.VMActionResult
		if vm.State != target && !transitionalTo(vm.State, target) {
			err := workflow.ExecuteActivity(callOptions(ctx, f.in.Timeouts), f.cr.CrusoeVMAction, activities.VMActionInput{
				ProjectID: f.in.ProjectID, VMID: vm.ID, Name: vm.Name, Action: action,
			}).Get(ctx, &ar)
			f.carry.Calls++
			if err != nil {
				outcome(failAll([]string{vm.Name}, err)[0])
				return
			}
		}
		var wr activities.WaitResult
		err := workflow.ExecuteActivity(waitOptions(ctx, Timeouts{Operation: f.in.WaitTimeout, Heartbeat: f.in.Timeouts.Heartbeat}),
			f.cr.CrusoeWait, activities.WaitInput{
				ProjectID: f.in.ProjectID, Kind: activities.KindVM, OperationID: ar.OperationID, ResourceID: vm.ID,
				Name: vm.Name, TargetState: target, Timeout: f.in.WaitTimeout,
			}).Get(ctx, &wr)
		f.carry.Calls += wr.Polls
		if err != nil {
			it := failAll([]string{vm.Name}, err)[0]
			// A failed operation may pass on another round; a refusal will not.
			it.Retryable = isErrType(err, activities.ErrTypeOperationFailed)
			it.ID = vm.ID
			outcome(it)
			return
		}
		outcome(activities.ItemResult{Ref: vm.Name, ID: vm.ID, State: wr.State, Outcome: activities.OutcomeDone})
	})
}

// crusoePrecheck decides from a VM's state whether to act on it: an unknown
// VM, or one already in the state asked for, is reported, as KraftCloud
// reports its own items. A VM on its way there is only waited for.
func (f *fleet) crusoePrecheck(vm activities.FoundVM) (activities.ItemResult, bool) {
	fail := func(code, format string, args ...any) (activities.ItemResult, bool) {
		return activities.ItemResult{Ref: vm.Name, ID: vm.ID, State: vm.State, Outcome: activities.OutcomeFailed,
			Code: code, Message: fmt.Sprintf(format, args...)}, false
	}
	if !vm.Found {
		return fail("NOT_FOUND", "no VM named %q in the project", vm.Name)
	}
	stopped := vm.State == crusoe.VMStateStopped || vm.State == crusoe.VMStateShutoff || vm.State == crusoe.VMStateShutdown
	switch {
	case f.action == activities.ActionStart && vm.State == crusoe.VMStateRunning:
		return fail("ALREADY_RUNNING", "vm %s is already running", vm.Name)
	case f.action == activities.ActionStop && stopped:
		return fail("ALREADY_STOPPED", "vm %s is already stopped", vm.Name)
	case f.action == activities.ActionStart && (stopped || vm.State == crusoe.VMStateStarting),
		f.action == activities.ActionStop && (vm.State == crusoe.VMStateRunning || vm.State == crusoe.VMStateStopping):
		return activities.ItemResult{}, true
	}
	return fail("INVALID_STATE", "vm %s is %s and cannot be %s", vm.Name, vm.State, pastTense(f.action))
}

func transitionalTo(state, target string) bool {
	return (state == crusoe.VMStateStarting && target == crusoe.VMStateRunning) ||
		(state == crusoe.VMStateStopping && target == crusoe.VMStateStopped)
}

func pastTense(action string) string {
	if action == activities.ActionStop {
		return "stopped"
	}
	return "started"
}

// failAll reports every ref as failed with the activity's error: the
// activity's own retries are spent, so another round would not help.
func failAll(refs []string, err error) []activities.ItemResult {
	code, msg := "ERROR", errorMessage(err)
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		code = app.Type()
		var d activities.CloudErrorDetails
		if app.HasDetails() && app.Details(&d) == nil && d.Code != "" {
			code = d.Code
		}
	}
	if temporal.IsCanceledError(err) {
		code = "CANCELED"
	}
	out := make([]activities.ItemResult, len(refs))
	for i, r := range refs {
		out[i] = activities.ItemResult{Ref: r, Outcome: activities.OutcomeFailed, Code: code, Message: msg}
	}
	return out
}

func isErrType(err error, t string) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == t
}

// windowed runs fn for 0..n-1, at most window at a time, and returns when all
// have. Once ctx is cancelled it starts no more.
func windowed(ctx workflow.Context, n, window int, fn func(ctx workflow.Context, i int)) {
	running := 0
	wg := workflow.NewWaitGroup(ctx)
	for i := 0; i < n; i++ {
		if err := workflow.Await(ctx, func() bool { return running < window }); err != nil {
			break
		}
		running++
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() {
				running--
				wg.Done()
			}()
			fn(ctx, i)
		})
	}
	wg.Wait(ctx)
}

func (f *fleet) snapshot() FleetProgress {
	p := f.progress
	p.Total = f.carry.Total
	p.Succeeded, p.Failed, p.Skipped = len(f.carry.Succeeded), len(f.carry.Failed), len(f.carry.Skipped)
	p.Pending = p.Total - p.Succeeded - p.Failed - p.Skipped
	p.Calls = f.carry.Calls
	return p
}

func (f *fleet) result() FleetResult {
	return FleetResult{
		Provider: f.in.Provider, Action: f.action, Total: f.carry.Total,
		Succeeded: append([]string{}, f.carry.Succeeded...), Failed: f.carry.Failed, Skipped: f.carry.Skipped,
		Runs: f.carry.Runs, Calls: f.carry.Calls,
	}
}
