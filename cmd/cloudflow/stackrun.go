package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cloudflow/cloudflow/spec"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// stackOp is one operation sent to a stack (*starter.StackUpdate; tests
// fake it).
type stackOp interface {
	// ID is the Temporal update carrying the operation: while it runs, the
	// stack's state names it as its Operation.
	ID() string
	// Get waits for the operation to end and returns what it did.
	Get(ctx context.Context) (workflows.StackOperationResult, error)
}

// starterRunner is the runner of a real Temporal connection: the starter,
// whose stack operations it hands out as stackOps.
type starterRunner struct{ *starter.Starter }

type starterOp struct{ *starter.StackUpdate }

func (u starterOp) ID() string { return u.UpdateID }

func opOf(u *starter.StackUpdate, err error) (stackOp, error) {
	if err != nil {
		return nil, err
	}
	return starterOp{u}, nil
}

func (s starterRunner) PlanStack(ctx context.Context, req workflows.StackPlanRequest) (stackOp, error) {
	return opOf(s.Starter.PlanStack(ctx, req))
}

func (s starterRunner) ApplyStack(ctx context.Context, req workflows.StackApplyRequest) (stackOp, error) {
	return opOf(s.Starter.ApplyStack(ctx, req))
}

func (s starterRunner) ApproveStack(ctx context.Context, ref starter.StackRef, req workflows.StackApproveRequest) (stackOp, error) {
	return opOf(s.Starter.ApproveStack(ctx, ref, req))
}

func (s starterRunner) DiscardStackPlan(ctx context.Context, ref starter.StackRef, req workflows.StackApproveRequest) (stackOp, error) {
	return opOf(s.Starter.DiscardStackPlan(ctx, ref, req))
}

func (s starterRunner) DestroyStack(ctx context.Context, ref starter.StackRef, req workflows.StackDestroyRequest) (stackOp, error) {
	return opOf(s.Starter.DestroyStack(ctx, ref, req))
}

func (s starterRunner) RefreshStack(ctx context.Context, ref starter.StackRef, req workflows.StackRefreshRequest) (stackOp, error) {
	return opOf(s.Starter.RefreshStack(ctx, ref, req))
}

// stackProviders are the providers a stack may have, as --provider takes them.
var stackProviders = []string{workflows.ProviderCrusoe, workflows.ProviderCloudMC, workflows.ProviderKraftCloud, workflows.ProviderOpenVZ}

// stackStatuses are the statuses `stacks list --status` filters by.
var stackStatuses = []string{
	workflows.StackNew, workflows.StackInSync, workflows.StackDrifted, workflows.StackApplying,
	workflows.StackDestroying, workflows.StackAwaitingApproval, workflows.StackFailed, workflows.StackDestroyed,
}

// ifBusyFlag is --if-busy: what an operation does when another holds the stack.
type ifBusyFlag struct{ IfBusy string }

func (b *ifBusyFlag) addIfBusy(fl *pflag.FlagSet) {
	fl.StringVar(&b.IfBusy, "if-busy", workflows.IfBusyWait, "when another operation holds the stack: wait (its turn) or fail (exit 5)")
}

func (b *ifBusyFlag) validateIfBusy() error {
	switch b.IfBusy {
	case workflows.IfBusyWait, workflows.IfBusyFail:
		return nil
	}
	return usageErrorf("--if-busy %q: want wait (wait for the operation holding the stack) or fail (exit 5 at once)", b.IfBusy)
}

// addStackWaitFlags adds the wait flags (see addWaitFlags) in the words of
// a stack operation.
func (w *waitFlags) addStackWaitFlags(fl *pflag.FlagSet) {
	w.addWaitFlags(fl, 30*time.Minute)
	fl.Lookup("wait").Usage = "wait for the operation to finish, showing progress"
	fl.Lookup("json").Usage = "print the StackOperationResult as JSON (with --wait: at the end)"
	fl.Lookup("timeout").Usage = "with --wait, how long to wait before giving up (the operation goes on)"
}

// stackName is a command's NAME argument with --provider: which stack.
type stackName struct {
	Provider string
}

func (n *stackName) addProvider(fl *pflag.FlagSet) {
	fl.StringVar(&n.Provider, "provider", "", "the stack's provider, when stacks of several providers have the name: "+strings.Join(stackProviders, ", "))
}

func (n *stackName) validateProvider() error {
	if n.Provider == "" {
		return nil
	}
	for _, p := range stackProviders {
		if n.Provider == p {
			return nil
		}
	}
	return usageErrorf("--provider %q is not one of %s", n.Provider, strings.Join(stackProviders, ", "))
}

// find resolves the stack of name; none is exitNotFound.
func (n *stackName) find(ctx context.Context, r runner, name string) (starter.StackRef, error) {
	ref, err := r.FindStack(ctx, name, n.Provider)
	if err != nil {
		return ref, stackErr(err)
	}
	return ref, nil
}

// open checks --provider, connects to Temporal and finds the stack of
// name (none: exit 6). The caller closes the runner.
func (n *stackName) open(cmd *cobra.Command, f *factory, root *rootOptions, name string) (runner, starter.StackRef, error) {
	if err := n.validateProvider(); err != nil {
		return nil, starter.StackRef{}, err
	}
	r, err := root.dial(f)
	if err != nil {
		return nil, starter.StackRef{}, err
	}
	ref, err := n.find(cmd.Context(), r, name)
	if err != nil {
		r.Close()
		return nil, ref, err
	}
	return r, ref, nil
}

// stateOf asks the stack for its state; an error carries its exit code.
func stateOf(ctx context.Context, r runner, ref starter.StackRef) (workflows.StackState, error) {
	st, err := r.StackState(ctx, ref)
	return st, stackErr(err)
}

// loadStackSpec reads and checks a spec of any provider; a problem is bad
// usage (exit 2), every one listed, and nothing is started.
func loadStackSpec(stdin io.Reader, path string) (workflows.StackSpec, error) {
	data, err := readSpecData(stdin, path)
	if err != nil {
		return workflows.StackSpec{}, err
	}
	return checkStackSpec(data, path, func(data []byte, source string) (workflows.StackSpec, error) {
		return spec.StackSpec(data, source)
	})
}

// checkStackSpec is checkSpec for a parser that yields a stack's spec.
func checkStackSpec(data []byte, path string, parse func(data []byte, source string) (workflows.StackSpec, error)) (workflows.StackSpec, error) {
	s, err := checkSpec(data, path, func(data []byte, source string) (*workflows.StackSpec, error) {
		s, err := parse(data, source)
		return &s, err
	})
	if err != nil {
		return workflows.StackSpec{}, err
	}
	return *s, nil
}

// refOf is the stack a spec belongs to.
func refOf(s workflows.StackSpec) starter.StackRef {
	return starter.StackRef{Provider: s.Provider, Name: s.Name()}
}

// stackErr gives the error of a stack operation its exit code: 6 no such
// stack, 5 busy, 1 refused or failed, 4 anything else (Temporal).
func stackErr(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	var nf *starter.StackNotFoundError
	if errors.As(err, &nf) {
		return withCode(exitNotFound, fmt.Errorf("%v; nothing changed", nf))
	}
	var se *starter.StackError
	if errors.As(err, &se) {
		switch se.Type {
		case workflows.ErrTypeStackBusy:
			return withCode(exitBusy, fmt.Errorf("%s; nothing changed.\nWait for your turn with --if-busy wait (the default), or follow it: cloudflow stacks show %s",
				se.Message, se.Stack.Name))
		case workflows.ErrTypeStackInvalid, workflows.ErrTypeStackRefused, workflows.ErrTypeStackApplyFailed:
			return withCode(exitFailed, errors.New(stackMessage(se)))
		}
	}
	return withCode(exitOther, err)
}

// stackMessage is what a stack said, naming the stack once.
func stackMessage(se *starter.StackError) string {
	if strings.Contains(se.Message, se.Stack.String()) {
		return se.Message
	}
	return se.Error()
}

// provisionWorkflow is the provisioning workflow an apply of a provider's
// stack runs as its child, "<ApplyStack ID>-<name>".
func provisionWorkflow(provider string) string {
	switch provider {
	case workflows.ProviderCrusoe:
		return workflows.ProvisionVMWorkflowName
	case workflows.ProviderCloudMC:
		return workflows.ProvisionInstanceWorkflowName
	case workflows.ProviderKraftCloud:
		return workflows.DeployInstanceWorkflowName
	case workflows.ProviderOpenVZ:
		return workflows.CreateContainerWorkflowName
	}
	return ""
}

// provisionStepPrefix names the ApplyStack step that runs the provisioning child.
const provisionStepPrefix = "provision "

// opWait says how to wait for an operation that changes the cloud.
type opWait struct {
	waitSettings
	// Follow shows the operation's progress until it ends; without it the
	// wait ends as soon as the operation's run has started (or the
	// operation ended before it needed one: in sync, refused).
	Follow bool
}

// opOutcome is how far an operation got while the CLI waited.
type opOutcome struct {
	Ended  bool
	Result workflows.StackOperationResult
	Err    error
	// State is the stack as last seen, when the operation did not end.
	State workflows.StackState
	// Child is the provisioning child's run and result, when the operation
	// ended after running one.
	Child *childRun
}

// childRun is an apply's provisioning child and its result.
type childRun struct {
	Run    starter.Run
	Result any
	Err    *starter.RunError
}

// steps are the child's steps as its result holds them.
func (c *childRun) steps() []workflows.Step {
	if rep, ok := reports[c.Run.Workflow]; ok {
		return rep.steps(c.Result)
	}
	return nil
}

// awaitOp waits for a stack operation as w says: it finds the operation's
// ApplyStack run in the stack's state and, following it, shows its progress
// with that of its provisioning child while it runs. The error says the
// CLI stopped waiting (exit 3).
func awaitOp(cmd *cobra.Command, f *factory, r runner, ref starter.StackRef, op stackOp, w opWait) (opOutcome, error) {
	ctx, sigCtx, cancel := waitContext(cmd, f, w.Timeout)
	defer cancel()
	type ended struct {
		res workflows.StackOperationResult
		err error
	}
	// The polls end when the operation does: a query the server holds back
	// (it may, while the stack is between tasks) must not hold the result.
	pollCtx, stopPolls := context.WithCancel(ctx)
	defer stopPolls()
	done := make(chan ended, 1)
	go func() {
		res, err := op.Get(ctx)
		done <- ended{res, err}
		stopPolls()
	}()
	queryTimeout := max(2*w.Interval, 2*time.Second)
	query := func(fn func(ctx context.Context) error) error {
		qctx, cancel := context.WithTimeout(pollCtx, queryTimeout)
		defer cancel()
		return fn(qctx)
	}

	var (
		view      progressView
		run       string
		child     *workflows.Progress
		childDone bool
		state     workflows.StackState
		noted     bool
	)
	stopped := func() (opOutcome, error) {
		if view != nil {
			view.Finish(nil)
		}
		return opOutcome{State: state}, stillApplying(f, ref, run, w.Timeout, sigCtx.Err() != nil)
	}
	finish := func(e ended) (opOutcome, error) {
		if waitEnded(ctx, e.err) {
			return stopped()
		}
		out := opOutcome{Ended: true, Result: withFailureResult(e.res, e.err), Err: e.err}
		if hasProvisionStep(applySteps(out.Result)) {
			out.Child = childResult(ctx, r, ref.Provider, out.Result.Operation.Run)
		}
		final := finalApplyProgress(out.Result, out.Child)
		if w.Follow && view == nil && final != nil {
			view = newProgressView(f, w.JSON, workflows.ApplyStackWorkflowName+" "+out.Result.Operation.Run)
		}
		if view != nil {
			view.Finish(final)
		}
		return out, nil
	}
	for {
		select {
		case e := <-done:
			return finish(e)
		case <-ctx.Done():
			return stopped()
		default:
		}
		if run == "" {
			var st workflows.StackState
			if err := query(func(ctx context.Context) (err error) { st, err = r.StackState(ctx, ref); return err }); err == nil {
				state = st
				switch o := st.Operation; {
				case o != nil && o.UpdateID == op.ID() && o.Run != "":
					run = o.Run
					if !w.Follow {
						return opOutcome{State: st}, nil
					}
					if !w.JSON {
						f.UI.print(f.IO.Out, "Temporal UI: ", run, "")
					}
					view = newProgressView(f, w.JSON, workflows.ApplyStackWorkflowName+" "+run)
				case o != nil && o.UpdateID != op.ID() && !noted:
					noted = true
					fmt.Fprintf(f.IO.ErrOut, "Stack %s is busy with %s (since %s); this operation waits its turn.\n",
						ref, o.ID, o.Started.Local().Format(time.TimeOnly))
				}
			}
		}
		if run != "" {
			var p workflows.Progress
			if err := query(func(ctx context.Context) (err error) { p, err = r.Progress(ctx, run, ""); return err }); err == nil {
				if step, ok := provisionStep(p.Steps); ok && step.State != workflows.StepPending && !childDone {
					var cp workflows.Progress
					if err := query(func(ctx context.Context) (err error) {
						cp, err = r.Progress(ctx, run+"-"+provisionWorkflow(ref.Provider), "")
						return err
					}); err == nil {
						child = &cp
						childDone = cp.Phase == workflows.PhaseCompleted || cp.Phase == workflows.PhaseFailed
					}
				}
				view.Update(withChildSteps(p, child))
			}
		}
		select {
		case e := <-done:
			return finish(e)
		case <-ctx.Done():
			return stopped()
		case <-time.After(w.Interval):
		}
	}
}

// withFailureResult is the result of an operation that failed: the one its
// error carries, when it carries one.
func withFailureResult(res workflows.StackOperationResult, err error) workflows.StackOperationResult {
	var se *starter.StackError
	if errors.As(err, &se) && se.Result != nil {
		return *se.Result
	}
	return res
}

func applySteps(res workflows.StackOperationResult) []workflows.Step {
	if res.Apply == nil {
		return nil
	}
	return res.Apply.Steps
}

func provisionStep(steps []workflows.Step) (workflows.Step, bool) {
	for _, s := range steps {
		if strings.HasPrefix(s.Name, provisionStepPrefix) {
			return s, true
		}
	}
	return workflows.Step{}, false
}

func hasProvisionStep(steps []workflows.Step) bool {
	_, ok := provisionStep(steps)
	return ok
}

// childResult fetches the result of the provisioning child of the run.
func childResult(ctx context.Context, r runner, provider, run string) *childRun {
	wf := provisionWorkflow(provider)
	if run == "" || wf == "" {
		return nil
	}
	c := &childRun{Run: starter.Run{WorkflowID: run + "-" + wf, Workflow: wf}, Result: newResult(wf)}
	err := r.Result(ctx, c.Run.WorkflowID, "", c.Result)
	if err != nil && !errors.As(err, &c.Err) {
		return nil // not there, or not readable: the stack's own report stands
	}
	return c
}

// withChildSteps shows the provisioning child's steps under the step that
// runs it.
func withChildSteps(p workflows.Progress, child *workflows.Progress) workflows.Progress {
	if child == nil {
		return p
	}
	out := p
	out.Steps = make([]workflows.Step, 0, len(p.Steps)+len(child.Steps))
	for _, s := range p.Steps {
		out.Steps = append(out.Steps, s)
		if strings.HasPrefix(s.Name, provisionStepPrefix) {
			for _, c := range child.Steps {
				c.Name = "  " + c.Name
				out.Steps = append(out.Steps, c)
			}
		}
	}
	return out
}

// finalApplyProgress is the operation's last progress, from its result.
func finalApplyProgress(res workflows.StackOperationResult, child *childRun) *workflows.Progress {
	steps := applySteps(res)
	if steps == nil {
		return nil
	}
	phase := workflows.PhaseCompleted
	if res.Operation.Outcome == workflows.OutcomeFailed || (res.Apply != nil && len(res.Apply.Failed) > 0) {
		phase = workflows.PhaseFailed
	}
	p := workflows.Progress{Workflow: workflows.ApplyStackWorkflowName, Phase: phase, Steps: steps}
	if child != nil {
		if cs := child.steps(); len(cs) > 0 {
			p = withChildSteps(p, &workflows.Progress{Steps: cs})
		}
	}
	return &p
}

// stillApplying reports that the CLI stopped waiting though the operation
// goes on in the stack.
func stillApplying(f *factory, ref starter.StackRef, run string, timeout time.Duration, interrupted bool) error {
	w := f.IO.ErrOut
	what := fmt.Sprintf("the operation on stack %s", ref)
	if interrupted {
		fmt.Fprintf(w, "error: stopped waiting for %s; it goes on in the stack\n", what)
	} else {
		fmt.Fprintf(w, "error: timed out after %s waiting for %s; it goes on in the stack\n", timeout, what)
	}
	if run != "" {
		fmt.Fprintf(w, "  watch it:       cloudflow runs watch %s\n", run)
		f.UI.print(w, "  in the UI:      ", run, "")
	}
	fmt.Fprintf(w, "  see the stack:  cloudflow stacks show %s --provider %s\n", ref.Name, ref.Provider)
	return &exitError{code: exitPending}
}

// runOp sends an operation that changes nothing in the cloud (plan,
// discard, refresh) and waits for its result; Ctrl-C stops waiting (exit
// 3). An error carries its exit code.
func runOp(cmd *cobra.Command, f *factory, ref starter.StackRef, send func(ctx context.Context) (stackOp, error)) (workflows.StackOperationResult, error) {
	ctx, cancel := f.NotifyContext(cmd.Context())
	defer cancel()
	op, err := send(ctx)
	if err != nil {
		return workflows.StackOperationResult{}, stackErr(err)
	}
	res, err := op.Get(ctx)
	if err != nil && ctx.Err() != nil {
		fmt.Fprintf(f.IO.ErrOut, "error: stopped waiting; the operation goes on in stack %s\n  see the stack: cloudflow stacks show %s --provider %s\n", ref, ref.Name, ref.Provider)
		return res, &exitError{code: exitPending}
	}
	return res, stackErr(err)
}
