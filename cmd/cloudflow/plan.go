package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/workflows"
)

// planOptions are the flags of plan.
type planOptions struct {
	f    *factory
	root *rootOptions

	File string
	JSON bool
	Save bool
	ifBusyFlag
}

func newPlanCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &planOptions{f: f, root: root}
	cmd := &cobra.Command{
		Use:   "plan -f SPEC [--save] [--json] [--if-busy wait|fail]",
		Short: "Show what an apply of a spec would change in the cloud",
		Long: heredoc(`
			Read the cloud through the spec's stack and print, per resource, what
			an apply would do: create, adopt (it exists and cloudflow did not make
			it: the stack takes it over and never deletes it), update in place
			(each field old → new), replace, delete (what the stack made that
			left the spec), release (what it adopted that left the spec: left in
			the cloud), or no change. Changes that replace, delete or shrink what
			exists are marked DESTRUCTIVE; notes say what else a change implies
			(the VM stops for a type change). Specs of every provider are taken:
			crusoe, cloudmc, kraftcloud and openvz.

			The first plan of a spec makes its stack (named after the provider and
			the spec's main resource); a plan changes nothing in the cloud.

			--save keeps the plan in the stack, where it waits (hours or days,
			across worker restarts) for 'cloudflow stacks approve NAME', which
			applies exactly it, or 'cloudflow stacks discard NAME'. An approval
			is refused if the cloud changed since the plan was made.

			--json prints the StackOperationResult, whose plan holds the changes.
			A script tells "in sync" (exit 0) from "changes pending" (exit 10) by
			the exit status alone.`) + "\n\n" + exitCodesHelp,
		Example: examples(`
			$ cloudflow plan -f examples/crusoe-vm.yaml
			$ cloudflow plan -f web.yaml --save
			$ cloudflow plan -f web.yaml --json | jq '.plan.changes[] | select(.action != "no-change")'
			$ cloudflow plan -f web.yaml >/dev/null; [ $? -eq 10 ] && echo "changes pending"`),
		Args: cobra.NoArgs,
		RunE: opts.run,
	}
	fl := cmd.Flags()
	fl.StringVarP(&opts.File, "file", "f", "", "the `spec` file, YAML or JSON (- reads standard input)")
	fl.BoolVar(&opts.JSON, "json", false, "print the StackOperationResult as JSON")
	fl.BoolVar(&opts.Save, "save", false, "keep the plan in the stack for 'cloudflow stacks approve'")
	opts.addIfBusy(fl)
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

func (o *planOptions) run(cmd *cobra.Command, _ []string) error {
	if err := o.validateIfBusy(); err != nil {
		return err
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
	ref := refOf(sp)
	res, err := stackPlan(cmd, o.f, r, workflows.StackPlanRequest{Spec: sp, Save: o.Save, IfBusy: o.IfBusy})
	if err != nil {
		return err
	}
	out := o.f.IO.Out
	if o.JSON {
		if err := printJSON(out, res); err != nil {
			return err
		}
	} else {
		writePlan(out, ref, *res.Plan)
		if o.Save && res.Plan.Pending() {
			fmt.Fprintf(out, "\nSaved %s in stack %s: it waits for approval.\n", res.Plan.ID, ref)
			fmt.Fprintf(out, "  approve it: cloudflow stacks approve %s --provider %s --plan %s --wait\n", ref.Name, ref.Provider, res.Plan.ID)
			fmt.Fprintf(out, "  discard it: cloudflow stacks discard %s --provider %s\n", ref.Name, ref.Provider)
		} else if o.Save {
			fmt.Fprintln(out, "Nothing to save.")
		}
	}
	if res.Plan.Pending() {
		return &exitError{code: exitChangesPending}
	}
	return nil
}

// stackPlan asks the spec's stack for a plan (starting the stack if there is
// none) and waits for it.
func stackPlan(cmd *cobra.Command, f *factory, r runner, req workflows.StackPlanRequest) (workflows.StackOperationResult, error) {
	ref := refOf(req.Spec)
	res, err := runOp(cmd, f, ref, func(ctx context.Context) (stackOp, error) { return r.PlanStack(ctx, req) })
	if err == nil && res.Plan == nil {
		err = withCode(exitOther, fmt.Errorf("stack %s answered no plan", ref))
	}
	return res, err
}
