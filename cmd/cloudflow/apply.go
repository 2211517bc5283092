package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// applyOptions are the flags of apply.
type applyOptions struct {
	f    *factory
	root *rootOptions

	File         string
	AutoApprove  bool
	AllowDestroy bool
	ifBusyFlag
	waitFlags
}

func newApplyCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &applyOptions{f: f, root: root}
	cmd := &cobra.Command{
		Use:   "apply -f SPEC [--auto-approve [--allow-destroy]] [--wait [--timeout D]] [--json] [--if-busy wait|fail]",
		Short: "Bring the cloud to a spec through its stack: plan, confirm, apply",
		Long: heredoc(`
			Plan the spec against the cloud (as 'cloudflow plan' shows it), ask
			"Apply these changes? [y/N]" on a terminal, and apply exactly the plan
			that was shown, destructive changes included once confirmed (the
			question counts them): if the cloud changed in between, the stack
			refuses and nothing changes. The first apply of a spec makes its stack. Standard
			input must be a terminal to ask; a script passes --auto-approve, or
			saves a plan for review ('cloudflow plan --save', then 'cloudflow
			stacks approve').

			--auto-approve applies without asking, but never a destructive change
			(a replace, a delete, a shrink) unless --allow-destroy is given too:
			the stack refuses such a plan, which is printed, and nothing changes.

			The stack makes what is missing, adopts what exists under the spec's
			names (an adopted resource is never deleted by the stack), changes
			fields in place where the cloud allows it, and deletes what it made
			that left the spec. After a confirmation on a terminal, or with
			--wait, the command shows the apply's progress (with that of the
			provisioning workflow it runs), then prints what was done, and on a
			failure what failed, what was undone and what is left, by name and
			ID; then the outputs (addresses, SSH destination). Without --wait an
			auto-approved apply returns once it has started changing the cloud,
			naming its run.

			--json prints the StackOperationResult (with --wait, at the end).`) + "\n\n" + exitCodesHelp,
		Example: examples(`
			$ cloudflow apply -f examples/crusoe-vm.yaml
			$ cloudflow apply -f web.yaml --auto-approve --wait
			$ cloudflow apply -f web.yaml --auto-approve --allow-destroy --wait --json`),
		Args: cobra.NoArgs,
		RunE: opts.run,
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.File, "file", "f", "", "the `spec` file, YAML or JSON (- reads standard input, and then needs --auto-approve)")
	fl.BoolVar(&opts.AutoApprove, "auto-approve", false, "apply without asking (destructive changes need --allow-destroy too)")
	fl.BoolVar(&opts.AllowDestroy, "allow-destroy", false, "with --auto-approve, let the apply replace, delete or shrink")
	opts.addIfBusy(fl)
	opts.addStackWaitFlags(fl)
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func (o *applyOptions) run(cmd *cobra.Command, _ []string) error {
	if err := o.validateWait(cmd); err != nil {
		return err
	}
	if err := o.validateIfBusy(); err != nil {
		return err
	}
	ask := !o.AutoApprove
	switch {
	case ask && (!o.f.IO.InTTY || o.File == "-"):
		return usageErrorf("apply asks before it changes anything, and standard input is not a terminal to ask on: pass --auto-approve (destructive changes need --allow-destroy too), or save the plan for review: cloudflow plan -f SPEC --save; nothing was started")
	case ask && o.JSON:
		return usageErrorf("--json is for scripts, which cannot answer apply's question: add --auto-approve; nothing was started")
	}
	sp, err := loadStackSpec(o.f.IO.In, o.File)
	if err != nil {
		return err
	}
	r, err := o.root.dial(o.f)
	if err != nil {
		return err
	}
	defer r.Close()
	req := workflows.StackApplyRequest{Spec: sp, AllowDestroy: o.AllowDestroy, IfBusy: o.IfBusy}
	w := opWait{waitSettings: o.waitSettings(), Follow: o.Wait}
	hint := fmt.Sprintf("Apply it with --allow-destroy too, or save it for review: cloudflow plan -f %s --save", specArg(sp.Source))
	if ask {
		plan, err := o.showPlan(cmd, r, sp)
		if err != nil {
			return err
		}
		if !plan.Pending() {
			fmt.Fprintf(o.f.IO.Out, "\nStack %s is in sync: nothing to do.\n", refOf(sp))
			return nil
		}
		if !confirm(o.f, len(plan.Destructive())) {
			fmt.Fprintln(o.f.IO.Out, "Apply cancelled; nothing changed.")
			return &exitError{code: exitFailed}
		}
		// Exactly the plan shown: the stack refuses if the cloud changed.
		req.AllowDestroy, req.Basis = true, plan.Basis
		w.Follow = true
		hint = "Run apply again to see the plan as it is now."
	}
	return applyAndReport(cmd, o.f, r, req, w, hint)
}

// showPlan makes and prints the plan an apply asks about.
func (o *applyOptions) showPlan(cmd *cobra.Command, r runner, sp workflows.StackSpec) (workflows.StackPlan, error) {
	res, err := stackPlan(cmd, o.f, r, workflows.StackPlanRequest{Spec: sp, IfBusy: o.IfBusy})
	if err != nil {
		return workflows.StackPlan{}, err
	}
	writePlan(o.f.IO.Out, refOf(sp), *res.Plan)
	return *res.Plan, nil
}

// confirm asks on the terminal whether to apply; only yes applies.
func confirm(f *factory, destructive int) bool {
	q := "\nApply these changes? [y/N] "
	if destructive > 0 {
		q = fmt.Sprintf("\nApply these changes, %s DESTRUCTIVE? [y/N] ", plural(destructive, "change"))
	}
	fmt.Fprint(f.IO.Out, q)
	line, _ := bufio.NewReader(f.IO.In).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}

// applyAndReport sends an apply to the spec's stack, waits for it as w
// says and reports it: apply, and the commands users know (vm provision,
// instances deploy, container create). refusedHint says how to go on when
// the stack refuses a destructive plan.
func applyAndReport(cmd *cobra.Command, f *factory, r runner, req workflows.StackApplyRequest, w opWait, refusedHint string) error {
	ref := refOf(req.Spec)
	op, err := r.ApplyStack(cmd.Context(), req)
	if err != nil {
		return stackErr(err)
	}
	out, err := awaitOp(cmd, f, r, ref, op, w)
	if err != nil {
		return err
	}
	return reportOp(f, ref, out, w.JSON, refusedHint)
}

// reportOp reports an operation that changes the cloud: started (its run),
// ended (what it did, or what failed and what is left), or refused (what
// it would have changed, and refusedHint).
func reportOp(f *factory, ref starter.StackRef, out opOutcome, jsonOut bool, refusedHint string) error {
	w := f.IO.Out
	if !out.Ended {
		op := out.State.Operation
		if op == nil {
			op = &workflows.StackOperation{}
		}
		if jsonOut {
			return printJSON(w, workflows.StackOperationResult{Operation: *op, State: out.State})
		}
		verb := "Applying to"
		if op.Kind == workflows.StackUpdateDestroy {
			verb = "Destroying"
		}
		fmt.Fprintf(w, "%s stack %s (%s): it goes on in Temporal.\n", verb, ref, opName(*op))
		fmt.Fprintf(w, "  watch it:       cloudflow runs watch %s\n", op.Run)
		f.UI.print(w, "  in the UI:      ", op.Run, "")
		fmt.Fprintf(w, "  see the stack:  cloudflow stacks show %s --provider %s\n", ref.Name, ref.Provider)
		return nil
	}
	res := out.Result
	var se *starter.StackError
	if out.Err != nil && !errors.As(out.Err, &se) {
		return stackErr(out.Err)
	}
	switch {
	case se == nil:
	case se.Type == workflows.ErrTypeStackRefused:
		if jsonOut {
			if err := printJSON(w, refusedResult(res, se)); err != nil {
				return err
			}
		} else {
			printRefused(w, ref, se, refusedHint)
		}
		return withCode(exitFailed, fmt.Errorf("stack %s refused the operation; nothing changed", ref))
	case se.Type == workflows.ErrTypeStackApplyFailed:
		if jsonOut {
			if err := printJSON(w, res); err != nil {
				return err
			}
		} else {
			printOpResult(w, ref, res, out.Child, true)
		}
		return withCode(exitFailed, errors.New(stackMessage(se)))
	default:
		return stackErr(se)
	}
	if jsonOut {
		return printJSON(w, res)
	}
	printOpResult(w, ref, res, out.Child, false)
	return nil
}

// refusedResult is the result --json prints for a refused operation: the
// operation, refused, and the plan it refused.
func refusedResult(res workflows.StackOperationResult, se *starter.StackError) workflows.StackOperationResult {
	if res.Operation.Outcome == "" {
		res.Operation.Outcome, res.Operation.Error = workflows.OutcomeRefused, se.Message
	}
	if res.Plan == nil {
		res.Plan = se.Plan
	}
	return res
}

// destroyOptions are the flags of destroy.
type destroyOptions struct {
	f    *factory
	root *rootOptions

	File           string
	IncludeAdopted bool
	stackName
	ifBusyFlag
	waitFlags
}

func newDestroyCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &destroyOptions{f: f, root: root}
	cmd := &cobra.Command{
		Use:   "destroy (-f SPEC | NAME [--provider P]) [--include-adopted] [--wait [--timeout D]] [--json] [--if-busy wait|fail]",
		Short: "Delete what a stack created, and end the stack",
		Long: heredoc(`
			Delete what the stack created, dependents first (rules, then the VM,
			then its disks), and release what it adopted: resources that existed
			before cloudflow took them over stay in the cloud, untouched, unless
			--include-adopted is given. Nothing is ever deleted by name alone: a
			resource the stack does not hold is not its to delete. The stack then
			ends; applying the spec again makes it anew.

			The stack is the spec's (-f SPEC), or the one named NAME ('cloudflow
			stacks list' lists them); --provider says which when stacks of
			several providers have the name. An unknown stack is reported and
			nothing changes (exit 6).

			With --wait the command shows the progress and prints what was
			deleted and what was kept; without it, it returns once the deletes
			have started, naming the run.`) + "\n\n" + exitCodesHelp,
		Example: examples(`
			$ cloudflow destroy -f examples/crusoe-vm.yaml --wait
			$ cloudflow destroy demo-vm --provider crusoe --wait
			$ cloudflow destroy web --include-adopted --wait --json`),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("too many arguments: want one stack NAME, got %q", args)
			}
			return nil
		},
		RunE: opts.run,
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.File, "file", "f", "", "the `spec` file of the stack, YAML or JSON (- reads standard input)")
	fl.BoolVar(&opts.IncludeAdopted, "include-adopted", false, "delete what the stack adopted too (it existed before cloudflow took it over)")
	opts.addProvider(fl)
	opts.addIfBusy(fl)
	opts.addStackWaitFlags(fl)
	return cmd
}

func (o *destroyOptions) run(cmd *cobra.Command, args []string) error {
	switch {
	case o.File == "" && len(args) == 0:
		return usageErrorf("say which stack: destroy -f SPEC, or destroy NAME ('cloudflow stacks list' lists them)")
	case o.File != "" && len(args) > 0:
		return usageErrorf("give -f SPEC or NAME, not both")
	case o.File != "" && o.Provider != "":
		return usageErrorf("--provider goes with NAME: the spec names its provider")
	}
	if err := o.validateWait(cmd); err != nil {
		return err
	}
	if err := o.validateIfBusy(); err != nil {
		return err
	}
	if err := o.validateProvider(); err != nil {
		return err
	}
	name, provider := "", o.Provider
	if o.File != "" {
		sp, err := loadStackSpec(o.f.IO.In, o.File)
		if err != nil {
			return err
		}
		name, provider = sp.Name(), sp.Provider
	} else {
		name = args[0]
	}
	return destroyAndReport(cmd, o.f, o.root, name, provider,
		workflows.StackDestroyRequest{IncludeAdopted: o.IncludeAdopted, IfBusy: o.IfBusy},
		opWait{waitSettings: o.waitSettings(), Follow: o.Wait})
}

// destroyAndReport destroys the stack of name (and provider, when given)
// and reports it: destroy, and the commands users know (vm deprovision,
// instances undeploy, container delete).
func destroyAndReport(cmd *cobra.Command, f *factory, root *rootOptions, name, provider string, req workflows.StackDestroyRequest, w opWait) error {
	r, ref, err := (&stackName{Provider: provider}).open(cmd, f, root, name)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) && ee.code == exitNotFound {
			return withCode(exitNotFound, fmt.Errorf("%w\ncloudflow deletes only what a stack created: a resource it does not hold is not its to delete", ee.err))
		}
		return err
	}
	defer r.Close()
	op, err := r.DestroyStack(cmd.Context(), ref, req)
	if err != nil {
		return stackErr(err)
	}
	out, err := awaitOp(cmd, f, r, ref, op, w)
	if err != nil {
		return err
	}
	return reportOp(f, ref, out, w.JSON, "")
}
