package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
)

// StartInstances starts a fleet: KraftCloud instances in batch calls of
// ChunkSize, Crusoe VMs and CloudMC instances one action each, Concurrency
// calls in flight. Each instance is reported: started, failed (with the
// cloud's code and message) or skipped. Items that failed for a reason worth
// retrying get up to MaxAttempts rounds; a large fleet continues as new every
// ItemsPerRun instances. When any instance failed the run fails with
// FleetIncomplete and the FleetResult as details.
func StartInstances(ctx workflow.Context, in FleetInput) (FleetResult, error) {
	return runFleet(ctx, StartInstancesWorkflowName, activities.ActionStart, in)
}

// StopInstances stops a fleet; see StartInstances.
func StopInstances(ctx workflow.Context, in FleetInput) (FleetResult, error) {
	return runFleet(ctx, StopInstancesWorkflowName, activities.ActionStop, in)
}

// WithDefaults fills the zero fields with the provider's defaults.
func (in FleetInput) WithDefaults() FleetInput {
	return in.withDefaults(DefaultKraftCloudChunkSize, DefaultKraftCloudConcurrency, DefaultKraftCloudItemsPerRun)
}

// changeFleetDefaults is the workflow.GetVersion change that brought the
// measured KraftCloud defaults; runs from before it keep the old ones.
const changeFleetDefaults = "fleet-kraftcloud-defaults-measured"

// versionedDefaults fills in the defaults a run of this version has.
func (in FleetInput) versionedDefaults(ctx workflow.Context) FleetInput {
	if workflow.GetVersion(ctx, changeFleetDefaults, workflow.DefaultVersion, 1) < 1 {
		return in.withDefaults(v0KraftCloudChunkSize, v0KraftCloudConcurrency, v0KraftCloudItemsPerRun)
	}
	return in.WithDefaults()
}

func (in FleetInput) withDefaults(kraftChunk, kraftConcurrency, kraftItemsPerRun int) FleetInput {
	kraft := in.Provider == ProviderKraftCloud
	if in.ChunkSize == 0 {
		in.ChunkSize = kraftChunk
	}
	if in.Concurrency == 0 {
		in.Concurrency = DefaultCrusoeConcurrency
		if kraft {
			in.Concurrency = kraftConcurrency
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
			in.ItemsPerRun = kraftItemsPerRun
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
	case ProviderKraftCloud, ProviderCrusoe, ProviderCloudMC:
	case "":
		bad("provider is required (kraftcloud, crusoe or cloudmc)")
	default:
		bad("provider %q is not supported (use kraftcloud, crusoe or cloudmc)", in.Provider)
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
	case ProviderCloudMC:
		return validHostName(ref)
	}
	return nil
}

// validHostName checks a CloudMC instance name, which is its host name: 1-63
// letters, digits and hyphens, starting with a letter, not ending with a
// hyphen.
func validHostName(ref string) error {
	bad := func(why string) error { return fmt.Errorf("%q is not an instance name: %s", ref, why) }
	switch {
	case ref == "" || len(ref) > 63:
		return bad("a host name is 1-63 characters")
	case !isLetter(ref[0]):
		return bad("it must start with a letter")
	case ref[len(ref)-1] == '-':
		return bad("it must not end with a hyphen")
	}
	for i := 0; i < len(ref); i++ {
		if c := ref[i]; !isLetter(c) && (c < '0' || c > '9') && c != '-' {
			return bad("only letters, digits and hyphens are allowed")
		}
	}
	return nil
}

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

// fleet is one run of a fleet workflow.
type fleet struct {
	name     string
	action   string
	in       FleetInput
	carry    FleetCarry
	progress FleetProgress
	kc       *activities.KraftCloudActivities // nil: names activities
	cr       *activities.CrusoeActivities     // nil: names activities
	cm       *activities.CloudMCActivities    // nil: names activities
	// waitOut: a wait that ends before the wait timeout is spent waits
	// again (changeFleetWaitOut); runs recorded before it report at once.
	waitOut bool
}

// changeFleetWaitOut is the workflow.GetVersion change under which a fleet
// keeps waiting for its instances until WaitTimeout is spent: a wait activity
// that gave up sooner (the server's own wait ended, an item failed for a
// reason worth retrying, the waiter's deadline came early) is followed by
// another for the instances still on their way, instead of reporting them
// failed at once.
const changeFleetWaitOut = "fleet-wait-out-wait-timeout"

// minWait is the shortest timeout a wait activity is given: the last wait
// before the deadline may overrun it by that much.
const minWait = time.Second

// maxWaits bounds the waits for one Crusoe or CloudMC instance: each gives up
// at most one poll interval early, so a few cover the whole wait timeout.
const maxWaits = 10

func runFleet(ctx workflow.Context, name, action string, in FleetInput) (FleetResult, error) {
	in = in.versionedDefaults(ctx)
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
	f.waitOut = workflow.GetVersion(ctx, changeFleetWaitOut, workflow.DefaultVersion, 1) >= 1

	began := workflow.Now(ctx)
	for {
		n := min(len(todo), in.ItemsPerRun)
		f.settle(ctx, todo[:n])
		todo = todo[n:]
		if ctx.Err() != nil {
			f.progress.Phase = PhaseFailed
			return FleetResult{}, temporal.NewCanceledError(f.result())
		}
		if len(todo) == 0 {
			break
		}
		if !f.keepGoing(ctx, began) {
			next := in
			next.Instances = todo
			next.Carry = &f.carry
			return FleetResult{}, workflow.NewContinueAsNewError(ctx, name, next)
		}
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

// changeFleetRunLifetime is the workflow.GetVersion change under which a
// fleet run that has done its ItemsPerRun in less than minRunLifetime goes
// on with the next ones instead of continuing as new.
const changeFleetRunLifetime = "fleet-run-lives-a-second"

// minRunLifetime: Temporal delays the first workflow task of a run that
// continues one younger than this (the server's
// history.workflowIdReuseMinimalInterval, 1 s by default), to stop tight
// continue-as-new loops. A run that continued as new sooner cost the fleet
// the rest of that second doing nothing: about 1.1 s a run at zero latency.
const minRunLifetime = time.Second

// maxRunEvents bounds a run that keeps going: past this many history
// events it continues as new whatever its age.
const maxRunEvents = 5000

// keepGoing reports whether a run that has done its ItemsPerRun goes on with
// the next ones rather than continue as new: while it is younger than
// minRunLifetime and its history is small. Runs recorded before
// changeFleetRunLifetime continue as new at once.
func (f *fleet) keepGoing(ctx workflow.Context, began time.Time) bool {
	if workflow.GetVersion(ctx, changeFleetRunLifetime, workflow.DefaultVersion, 1) < 1 {
		return false
	}
	return workflow.Now(ctx).Sub(began) < minRunLifetime && workflow.GetInfo(ctx).GetCurrentHistoryLength() < maxRunEvents
}

// screen drops repeated references (reported as skipped) and references
// that cannot name an instance (reported as failed), so neither aborts a
// batch call carrying the others.
func (f *fleet) screen(refs []string) []string {
	out := make([]string, 0, len(refs))
	first := make(map[string]int, len(refs)) // looked up, never ranged over
	for i, r := range refs {
		key := r
		if f.in.Provider == ProviderKraftCloud || f.in.Provider == ProviderCloudMC {
			key = strings.ToLower(r) // KraftCloud lower-cases names; CloudMC's are host names
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
			f.showDetails(ctx)
		}
		switch f.in.Provider {
		case ProviderKraftCloud:
			f.kraftRound(ctx, work, outcome)
		case ProviderCloudMC:
			f.cloudmcRound(ctx, work, outcome)
		default:
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
		f.kraftBatch(ctx, chunk, fmt.Sprintf("chunk %d of %d", c+1, chunks), func(it activities.ItemResult) {
			f.progress.InFlight--
			outcome(it)
		})
	})
}

// serverWait is how long a KraftCloud start call asks the server to hold its
// answer until the instances run; the rest is waited out by the wait activity.
const serverWait = 10 * time.Second

// kraftBatch makes one batch call (the chunk named by label) and reports
// what it settled at once; the instances still on their way are reported
// when the wait settles them.
func (f *fleet) kraftBatch(ctx workflow.Context, refs []string, label string, outcome func(activities.ItemResult)) {
	act, target := f.kc.KraftCloudStartInstances, kraftcloud.StateRunning
	in := activities.KraftCloudBatchInput{Refs: refs, WaitTimeout: min(serverWait, f.in.WaitTimeout)}
	if f.action == activities.ActionStop {
		act, target = f.kc.KraftCloudStopInstances, kraftcloud.StateStopped
		in = activities.KraftCloudBatchInput{Refs: refs, Force: f.in.Force, DrainTimeout: f.in.DrainTimeout}
	}
	var br activities.BatchResult
	err := workflow.ExecuteActivity(withSummary(batchOptions(ctx, f.in.Timeouts, in.WaitTimeout+in.DrainTimeout),
		"%s %s (%s)", f.action, plural(len(refs), "instance"), label), act, in).Get(ctx, &br)
	f.carry.Calls += max(br.Calls, 1)
	if err != nil {
		for _, it := range failAll(refs, err) {
			outcome(it)
		}
		return
	}
	var waiting []activities.ItemResult
	for _, it := range br.Items {
		if it.Outcome == activities.OutcomeWait {
			waiting = append(waiting, it)
		} else {
			outcome(it)
		}
	}
	f.kraftWait(ctx, waiting, target, outcome)
}

// kraftWait waits, with the wait activity, for the instances on their way
// until each is in target, or until the wait timeout is spent. A wait that
// ends before that, for instances it gave up on (WaitTimeout) or that failed
// for a reason worth retrying, is followed by another for them; only once the
// wait timeout is spent are they reported, with what was last known. Runs
// from before changeFleetWaitOut report after the first wait.
func (f *fleet) kraftWait(ctx workflow.Context, waiting []activities.ItemResult, target string, outcome func(activities.ItemResult)) {
	deadline := workflow.Now(ctx).Add(f.in.WaitTimeout)
	pause := time.Duration(0)
	for first := true; len(waiting) > 0; first = false {
		left := deadline.Sub(workflow.Now(ctx))
		if !first && left <= 0 {
			for _, it := range waiting {
				outcome(f.waitSpent(it, target))
			}
			return
		}
		refs := make([]string, len(waiting))
		for i, it := range waiting {
			refs[i] = it.Ref
		}
		if !first {
			left = max(left, minWait)
		}
		var wr activities.BatchResult
		err := workflow.ExecuteActivity(withSummary(waitOptions(ctx, Timeouts{Operation: left, Heartbeat: f.in.Timeouts.Heartbeat}),
			"wait for %s to be %s", plural(len(refs), "instance"), target), f.kc.KraftCloudWaitInstances, activities.KraftCloudWaitInput{Refs: refs, State: target, Timeout: left}).Get(ctx, &wr)
		f.carry.Calls += wr.Calls
		if err != nil {
			wr.Items = failAll(refs, err)
		}
		waiting = waiting[:0]
		retry := false
		for _, it := range wr.Items {
			switch {
			case err == nil && f.waitOut && it.Outcome == activities.OutcomeFailed && it.Code == activities.ErrTypeWaitTimeout:
				waiting = append(waiting, it)
			case err == nil && f.waitOut && it.Outcome == activities.OutcomeFailed && it.Retryable:
				// The instance was started: another start would be
				// refused, another wait may see it there.
				waiting, retry = append(waiting, it), true
			default:
				outcome(it)
			}
		}
		if !retry {
			continue
		}
		// Give whatever failed them a moment: 1 s, 2 s, 4 s... up to 30 s.
		pause = min(max(2*pause, time.Second), 30*time.Second)
		if err := workflow.Sleep(ctx, min(pause, max(deadline.Sub(workflow.Now(ctx)), 0))); err != nil {
			for _, it := range waiting {
				outcome(failAll([]string{it.Ref}, err)[0])
			}
			return
		}
	}
}

// waitSpent reports an instance that did not reach target within the wait
// timeout. A failure the cloud reported is kept as it was; a wait that timed
// out says so, with the state the instance was last seen in.
func (f *fleet) waitSpent(it activities.ItemResult, target string) activities.ItemResult {
	it.Outcome, it.Retryable = activities.OutcomeFailed, false
	if it.Code != activities.ErrTypeWaitTimeout && it.Code != "" {
		return it
	}
	it.Code = activities.ErrTypeWaitTimeout
	it.Message = fmt.Sprintf("not %s after %s, the wait timeout", target, f.in.WaitTimeout)
	if it.State != "" && it.State != target {
		it.Message = fmt.Sprintf("still %s, not %s, after %s (the wait timeout)", it.State, target, f.in.WaitTimeout)
	}
	return it
}

// oneByOne is a cloud with no batch call (Crusoe, CloudMC): its instances
// are looked up by name, then acted on one call each and waited for. The
// closures schedule one activity each and return what it answered.
type oneByOne struct {
	// lookupChunk is how many names one lookup call takes; 0: all of them.
	lookupChunk int
	lookup      func(ctx workflow.Context, names []string) ([]activities.FoundVM, error)
	// act sends the action and returns what to wait on (an operation or a
	// task), empty when there is nothing but the instance to read.
	act func(ctx workflow.Context, it activities.FoundVM) (string, error)
	// wait waits, up to timeout, for the instance to reach target and
	// returns the state it settled in and the polls it took.
	wait   func(ctx workflow.Context, it activities.FoundVM, handle, target string, timeout time.Duration) (string, int, error)
	states instanceStates
}

// instanceStates is how a cloud names the states of its instances, and how
// messages name an instance.
type instanceStates struct {
	running, starting, stopping string
	// stopped are the states that count as stopped; the first is where a
	// stop ends.
	stopped []string
	// kind names one instance ("vm %s"); missing reports an unknown one.
	kind, missing string
}

// target is the state the action ends in, and passing the state on the way.
func (s instanceStates) target(action string) (target, passing string) {
	if action == activities.ActionStop {
		return s.stopped[0], s.stopping
	}
	return s.running, s.starting
}

// crusoeRound looks the VMs up, then starts or stops each one (Crusoe has no
// batch call) and waits for its operation, Concurrency VMs at a time.
func (f *fleet) crusoeRound(ctx workflow.Context, names []string, outcome func(activities.ItemResult)) {
	f.oneByOneRound(ctx, names, oneByOne{
		lookupChunk: CrusoeLookupChunk,
		lookup: func(ctx workflow.Context, names []string) ([]activities.FoundVM, error) {
			var res activities.FindVMsResult
			err := workflow.ExecuteActivity(withSummary(callOptions(ctx, f.in.Timeouts), "look up %s", plural(len(names), "VM")), f.cr.CrusoeFindVMs,
				activities.FindVMsInput{ProjectID: f.in.ProjectID, Names: names}).Get(ctx, &res)
			return res.VMs, err
		},
		act: func(ctx workflow.Context, vm activities.FoundVM) (string, error) {
			action := crusoe.VMActionStart
			if f.action == activities.ActionStop {
				action = crusoe.VMActionStop
			}
			var ar activities.VMActionResult
			err := workflow.ExecuteActivity(withSummary(callOptions(ctx, f.in.Timeouts), "%s vm %s", f.action, vm.Name), f.cr.CrusoeVMAction, activities.VMActionInput{
				ProjectID: f.in.ProjectID, VMID: vm.ID, Name: vm.Name, Action: action,
			}).Get(ctx, &ar)
			return ar.OperationID, err
		},
		wait: func(ctx workflow.Context, vm activities.FoundVM, op, target string, timeout time.Duration) (string, int, error) {
			var wr activities.WaitResult
			err := workflow.ExecuteActivity(withSummary(f.waitOptions(ctx, timeout), "wait for vm %s to be %s%s", vm.Name, stateWords(target),
				waitingOn("operation", op)), f.cr.CrusoeWait, activities.WaitInput{
				ProjectID: f.in.ProjectID, Kind: activities.KindVM, OperationID: op, ResourceID: vm.ID,
				Name: vm.Name, TargetState: target, Timeout: timeout,
			}).Get(ctx, &wr)
			return wr.State, wr.Polls, err
		},
		states: instanceStates{
			running: crusoe.VMStateRunning, starting: crusoe.VMStateStarting, stopping: crusoe.VMStateStopping,
			stopped: []string{crusoe.VMStateStopped, crusoe.VMStateShutoff, crusoe.VMStateShutdown},
			kind:    "vm", missing: "no VM named %q in the project",
		},
	}, outcome)
}

// cloudmcRound looks the instances up with one list call, then starts or
// stops each one (CloudMC has no batch call) and waits for its task,
// Concurrency instances at a time.
func (f *fleet) cloudmcRound(ctx workflow.Context, names []string, outcome func(activities.ItemResult)) {
	f.oneByOneRound(ctx, names, oneByOne{
		lookup: func(ctx workflow.Context, names []string) ([]activities.FoundVM, error) {
			var res activities.CloudMCFindInstancesResult
			err := workflow.ExecuteActivity(withSummary(callOptions(ctx, f.in.Timeouts), "look up %s", plural(len(names), "instance")), f.cm.CloudMCFindInstances,
				activities.CloudMCFindInstancesInput{Names: names}).Get(ctx, &res)
			return res.Instances, err
		},
		act: func(ctx workflow.Context, inst activities.FoundVM) (string, error) {
			var ar activities.CloudMCInstanceActionResult
			err := workflow.ExecuteActivity(withSummary(callOptions(ctx, f.in.Timeouts), "%s instance %s", f.action, inst.Name), f.cm.CloudMCInstanceAction, activities.CloudMCInstanceActionInput{
				InstanceID: inst.ID, Name: inst.Name, Action: f.action,
			}).Get(ctx, &ar)
			return ar.TaskID, err
		},
		wait: func(ctx workflow.Context, inst activities.FoundVM, task, target string, timeout time.Duration) (string, int, error) {
			var wr activities.CloudMCWaitResult
			err := workflow.ExecuteActivity(withSummary(f.waitOptions(ctx, timeout), "wait for instance %s to be %s%s", inst.Name, stateWords(target),
				waitingOn("task", task)), f.cm.CloudMCWaitTask, activities.CloudMCWaitInput{
				Kind: activities.KindCloudMCInstance, TaskID: task, ResourceID: inst.ID, Name: inst.Name,
				State: target, Timeout: timeout,
			}).Get(ctx, &wr)
			return wr.State, wr.Polls, err
		},
		states: instanceStates{
			running: cloudmc.InstanceStateRunning, starting: cloudmc.InstanceStateStarting, stopping: cloudmc.InstanceStateStopping,
			stopped: []string{cloudmc.InstanceStateStopped},
			kind:    "instance", missing: "no instance named %q in the environment",
		},
	}, outcome)
}

func (f *fleet) waitOptions(ctx workflow.Context, timeout time.Duration) workflow.Context {
	return waitOptions(ctx, Timeouts{Operation: timeout, Heartbeat: f.in.Timeouts.Heartbeat})
}

// oneByOneRound looks the instances up, reports those it cannot act on, and
// acts on each of the others and waits for it, Concurrency at a time. An
// instance already on its way is only waited for.
func (f *fleet) oneByOneRound(ctx workflow.Context, names []string, c oneByOne, outcome func(activities.ItemResult)) {
	chunk := c.lookupChunk
	if chunk <= 0 {
		chunk = max(len(names), 1)
	}
	var found []activities.FoundVM
	for lo := 0; lo < len(names) && ctx.Err() == nil; lo += chunk {
		part := names[lo:min(lo+chunk, len(names))]
		res, err := c.lookup(ctx, part)
		f.carry.Calls++
		if err != nil {
			for _, it := range failAll(part, err) {
				outcome(it)
			}
			continue
		}
		found = append(found, res...)
	}
	var act []activities.FoundVM
	for _, it := range found {
		if res, ok := f.precheck(c.states, it); ok {
			act = append(act, it)
		} else {
			outcome(res)
		}
	}
	target, passing := c.states.target(f.action)
	windowed(ctx, len(act), f.in.Concurrency, func(ctx workflow.Context, i int) {
		it := act[i]
		f.progress.InFlight++
		defer func() { f.progress.InFlight-- }()
		var handle string
		if it.State != target && it.State != passing {
			h, err := c.act(ctx, it)
			f.carry.Calls++
			if err != nil {
				outcome(failAll([]string{it.Name}, err)[0])
				return
			}
			handle = h
		}
		state, polls, spent, err := f.waitOne(ctx, c, it, handle, target)
		f.carry.Calls += polls
		if err != nil {
			res := failAll([]string{it.Name}, err)[0]
			// A failed operation may pass on another round; a refusal will not.
			res.Retryable = isErrType(err, activities.ErrTypeOperationFailed)
			res.ID = it.ID
			if spent {
				res = f.waitSpent(activities.ItemResult{Ref: it.Name, ID: it.ID}, target)
			}
			outcome(res)
			return
		}
		outcome(activities.ItemResult{Ref: it.Name, ID: it.ID, State: state, Outcome: activities.OutcomeDone})
	})
}

// waitOne waits for one instance until it reaches target or the wait
// timeout is spent: a wait that gives up sooner (WaitTimeout before the
// deadline: a poll pushed past it, a long Retry-After) is followed by another
// for what is left, up to maxWaits in all. spent reports a wait that timed
// out with the wait timeout spent. Runs from before changeFleetWaitOut wait
// once.
func (f *fleet) waitOne(ctx workflow.Context, c oneByOne, it activities.FoundVM, handle, target string) (state string, calls int, spent bool, err error) {
	deadline := workflow.Now(ctx).Add(f.in.WaitTimeout)
	timeout := f.in.WaitTimeout
	for n := 1; ; n++ {
		var polls int
		state, polls, err = c.wait(ctx, it, handle, target, timeout)
		calls += polls
		if !f.waitOut || !isErrType(err, activities.ErrTypeWaitTimeout) {
			return state, calls, false, err
		}
		left := deadline.Sub(workflow.Now(ctx))
		if left <= 0 || n >= maxWaits {
			return state, calls, left <= 0, err
		}
		timeout = max(left, minWait)
	}
}

// precheck decides from an instance's state whether to act on it: an
// unknown instance, or one already in the state asked for, is reported, as
// KraftCloud reports its own items. One on its way there is only waited for.
func (f *fleet) precheck(s instanceStates, it activities.FoundVM) (activities.ItemResult, bool) {
	fail := func(code, format string, args ...any) (activities.ItemResult, bool) {
		return activities.ItemResult{Ref: it.Name, ID: it.ID, State: it.State, Outcome: activities.OutcomeFailed,
			Code: code, Message: fmt.Sprintf(format, args...)}, false
	}
	if !it.Found {
		return fail("NOT_FOUND", s.missing, it.Name)
	}
	stopped := slices.Contains(s.stopped, it.State)
	switch {
	case f.action == activities.ActionStart && it.State == s.running:
		return fail("ALREADY_RUNNING", "%s %s is already running", s.kind, it.Name)
	case f.action == activities.ActionStop && stopped:
		return fail("ALREADY_STOPPED", "%s %s is already stopped", s.kind, it.Name)
	case f.action == activities.ActionStart && (stopped || it.State == s.starting),
		f.action == activities.ActionStop && (it.State == s.running || it.State == s.stopping):
		return activities.ItemResult{}, true
	}
	return fail("INVALID_STATE", "%s %s is %s and cannot be %s", s.kind, it.Name, it.State, pastTense(f.action))
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
