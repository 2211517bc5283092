package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

func newStacksCmd(f *factory, root *rootOptions) *cobra.Command {
	cmd := nounCmd("stacks <command>", "List, show, approve and refresh stacks: the specs cloudflow owns")
	cmd.Long = heredoc(`
		A stack is a long-lived workflow that owns one spec: it holds the spec
		last applied, the resources it created and those it adopted (they
		existed before: never deleted by it), what the cloud last reported of
		them (IDs, states, addresses), the drift found by its periodic refresh,
		and a plan saved for approval. Operations on a stack (plan, apply,
		approval, destroy, refresh) run one at a time. 'cloudflow plan',
		'apply' and 'destroy', and 'vm provision|deprovision', 'instances
		deploy|undeploy' and 'container create|delete' act through stacks.

		A stack is named after its spec's main resource (the VM, instance or
		container); --provider says which when stacks of several providers
		have the name.`)
	cmd.AddCommand(newStacksListCmd(f, root), newStacksShowCmd(f, root), newStacksApproveCmd(f, root),
		newStacksDiscardCmd(f, root), newStacksRefreshCmd(f, root), newStacksSetCmd(f, root))
	return cmd
}

type stacksListOptions struct {
	Status string
	JSON   bool
}

func newStacksListCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &stacksListOptions{}
	cmd := &cobra.Command{
		Use:     "list [--status S] [--json]",
		Aliases: []string{"ls"},
		Short:   "List the stacks and the state each is in",
		Long: heredoc(`
			List every stack with its status: new (nothing applied yet), in-sync,
			drifted (the last refresh found the cloud changed behind cloudflow's
			back), applying, destroying, awaiting-approval (a saved plan waits),
			failed (the last apply or destroy failed). The list comes from one
			visibility query (the CloudflowStackStatus search attribute, which
			'temporal workflow list --query' can use too).`),
		Example: examples(`
			$ cloudflow stacks list
			$ cloudflow stacks list --status drifted
			$ temporal workflow list --query "CloudflowStackStatus = 'drifted'"`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Status != "" && !slices.Contains(stackStatuses, opts.Status) {
				return usageErrorf("--status %q is not a stack status; use one of %s", opts.Status, strings.Join(stackStatuses, ", "))
			}
			r, err := root.dial(f)
			if err != nil {
				return err
			}
			defer r.Close()
			list, err := r.ListStacks(cmd.Context(), opts.Status)
			if err != nil {
				return withCode(exitOther, err)
			}
			return printList(f, opts.JSON, list, "No stacks found.", func(w io.Writer) {
				tw := newTable(w)
				fmt.Fprintln(tw, "PROVIDER\tNAME\tSTATUS\tRESOURCES\tSINCE")
				for _, s := range list {
					since := "-"
					if !s.Since.IsZero() {
						since = s.Since.Local().Format(time.DateTime)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Provider, s.Name, dash(s.Status), dash(strings.Join(slices.Compact(slices.Clone(s.Resources)), ",")), since)
				}
				_ = tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&opts.Status, "status", "", "only stacks in this `status`: "+strings.Join(stackStatuses, ", "))
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

type stacksShowOptions struct {
	stackName
	Output string
}

func newStacksShowCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &stacksShowOptions{}
	cmd := &cobra.Command{
		Use:   "show NAME [--provider P] [-o text|json|yaml]",
		Short: "Show a stack: its resources, who made them, their outputs, drift and saved plan",
		Long: heredoc(`
			Show a stack: its status and spec, each resource with its ownership
			(created by the stack, or adopted), ID and state, the outputs the
			cloud reports (addresses, SSH destination, FQDN), the drift found by
			the last refresh as a diff, a saved plan waiting for approval, and the
			operation running now and the last one.

			-o json and -o yaml print the stack's state (StackState) for scripts.

			Exit status: 0 shown, 2 bad flags, 4 Temporal could not be reached,
			6 no such stack.`),
		Example: examples(`
			$ cloudflow stacks show demo-vm
			$ cloudflow stacks show demo-vm -o json | jq -r '.resources[] | select(.kind == "vm") | .outputs.sshDestination'`),
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch opts.Output {
			case "text", "json", "yaml":
			default:
				return usageErrorf("-o %q: want text, json or yaml", opts.Output)
			}
			r, ref, err := opts.open(cmd, f, root, args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			st, err := stateOf(cmd.Context(), r, ref)
			if err != nil {
				return err
			}
			switch opts.Output {
			case "json":
				return printJSON(f.IO.Out, st)
			case "yaml":
				return printYAML(f.IO.Out, st)
			}
			writeStackState(f.IO.Out, st, f.Now())
			return nil
		},
	}
	opts.addProvider(cmd.Flags())
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "output `format`: text, json or yaml")
	return cmd
}

// printYAML prints v as YAML with the field names of its JSON.
func printYAML(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	blockStyle(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// blockStyle drops the flow style and quotes JSON came with.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// approveOptions are the flags of stacks approve.
type approveOptions struct {
	stackName
	PlanID string
	ifBusyFlag
	waitFlags
}

func newStacksApproveCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &approveOptions{}
	cmd := &cobra.Command{
		Use:   "approve NAME [--provider P] [--plan ID] [--wait [--timeout D]] [--json] [--if-busy wait|fail]",
		Short: "Apply a stack's saved plan, exactly",
		Long: heredoc(`
			Apply the plan saved by 'cloudflow plan -f SPEC --save': exactly its
			changes, destructive ones included (approving is the review). The
			stack first reads the cloud again: if what the plan was made against
			changed, the approval is refused, the plan is dropped and nothing
			changes; plan again. --plan names the plan being approved (as plan
			printed it), so that a plan saved since is not approved by mistake.

			With --wait the command shows the apply's progress and prints what was
			done, or what failed, what was undone and what is left; without it, it
			returns once the apply has started changing the cloud.`) + "\n\n" + exitCodesHelp,
		Example: examples(`
			$ cloudflow stacks approve demo-vm --plan plan-4 --wait`),
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validateWait(cmd); err != nil {
				return err
			}
			if err := opts.validateIfBusy(); err != nil {
				return err
			}
			r, ref, err := savedPlanOf(cmd, f, root, &opts.stackName, args[0], opts.PlanID)
			if err != nil {
				return err
			}
			defer r.Close()
			op, err := r.ApproveStack(cmd.Context(), ref, workflows.StackApproveRequest{PlanID: opts.PlanID, IfBusy: opts.IfBusy})
			if err != nil {
				return stackErr(err)
			}
			w := opWait{waitSettings: opts.waitSettings(), Follow: opts.Wait}
			out, err := awaitOp(cmd, f, r, ref, op, w)
			if err != nil {
				return err
			}
			return reportOp(f, ref, out, opts.JSON, "Make a new plan: cloudflow plan -f SPEC --save")
		},
	}
	fl := cmd.Flags()
	opts.addProvider(fl)
	fl.StringVar(&opts.PlanID, "plan", "", "the saved plan's `ID` (e.g. plan-4): refuse if another is saved")
	opts.addIfBusy(fl)
	opts.addStackWaitFlags(fl)
	return cmd
}

// savedPlanOf finds the stack of name and checks it has a saved plan (of
// planID, when given): without one there is nothing to act on (exit 6).
// The caller closes the runner.
func savedPlanOf(cmd *cobra.Command, f *factory, root *rootOptions, n *stackName, name, planID string) (runner, starter.StackRef, error) {
	r, ref, err := n.open(cmd, f, root, name)
	if err != nil {
		return nil, ref, err
	}
	st, err := stateOf(cmd.Context(), r, ref)
	switch p := st.PendingPlan; {
	case err != nil:
	case p == nil:
		err = withCode(exitNotFound, fmt.Errorf("stack %s has no saved plan; nothing changed. Save one with: cloudflow plan -f SPEC --save", ref))
	case planID != "" && planID != p.ID:
		err = withCode(exitNotFound, fmt.Errorf("stack %s has no plan %s: the saved plan is %s; nothing changed (see it with: cloudflow stacks show %s --provider %s)", ref, planID, p.ID, ref.Name, ref.Provider))
	}
	if err != nil {
		r.Close()
		return nil, ref, err
	}
	return r, ref, nil
}

type discardOptions struct {
	stackName
	PlanID string
	JSON   bool
}

func newStacksDiscardCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &discardOptions{}
	cmd := &cobra.Command{
		Use:   "discard NAME [--provider P] [--plan ID] [--json]",
		Short: "Drop a stack's saved plan",
		Long: heredoc(`
			Drop the plan saved by 'cloudflow plan -f SPEC --save'. Nothing changes
			in the cloud.

			Exit status: 0 dropped, 2 bad flags, 4 Temporal could not be reached,
			6 no such stack, or no saved plan (of that ID).`),
		Example: examples(`
			$ cloudflow stacks discard demo-vm`),
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, ref, err := savedPlanOf(cmd, f, root, &opts.stackName, args[0], opts.PlanID)
			if err != nil {
				return err
			}
			defer r.Close()
			res, err := runOp(cmd, f, ref, func(ctx context.Context) (stackOp, error) {
				return r.DiscardStackPlan(ctx, ref, workflows.StackApproveRequest{PlanID: opts.PlanID})
			})
			if err != nil {
				return err
			}
			if opts.JSON {
				return printJSON(f.IO.Out, res)
			}
			id := opts.PlanID
			if res.Plan != nil {
				id = res.Plan.ID
			}
			fmt.Fprintf(f.IO.Out, "Discarded plan %s of stack %s; nothing changed in the cloud.\n", dash(id), ref)
			return nil
		},
	}
	opts.addProvider(cmd.Flags())
	cmd.Flags().StringVar(&opts.PlanID, "plan", "", "the saved plan's `ID`: refuse if another is saved")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the StackOperationResult as JSON")
	return cmd
}

type refreshOptions struct {
	stackName
	ifBusyFlag
	JSON bool
}

func newStacksRefreshCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &refreshOptions{}
	cmd := &cobra.Command{
		Use:   "refresh NAME [--provider P] [--json] [--if-busy wait|fail]",
		Short: "Read a stack's resources now and print the drift",
		Long: heredoc(`
			Read the stack's resources from the cloud now, as its periodic
			refresh does, record what differs from the spec last applied (changed
			fields, resources deleted behind cloudflow's back) and the outputs,
			and print the drift as a diff. 'cloudflow apply -f SPEC' repairs it.

			Exit status: 0 in sync, 10 drifted (like a plan with changes
			pending), 2 bad flags, 4 Temporal could not be reached, 5 busy
			(--if-busy fail), 6 no such stack.`),
		Example: examples(`
			$ cloudflow stacks refresh demo-vm`),
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.validateIfBusy(); err != nil {
				return err
			}
			r, ref, err := opts.open(cmd, f, root, args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			res, err := runOp(cmd, f, ref, func(ctx context.Context) (stackOp, error) {
				return r.RefreshStack(ctx, ref, workflows.StackRefreshRequest{IfBusy: opts.IfBusy})
			})
			if err != nil {
				return err
			}
			st := res.State
			switch {
			case opts.JSON:
				if err := printJSON(f.IO.Out, res); err != nil {
					return err
				}
			case st.Spec == nil:
				fmt.Fprintf(f.IO.Out, "Stack %s has nothing applied yet: nothing to compare.\n", ref)
			case len(st.Drift) == 0:
				fmt.Fprintf(f.IO.Out, "Stack %s is in sync: the cloud matches the spec last applied.\n", ref)
			default:
				fmt.Fprintf(f.IO.Out, "Stack %s has drifted: the cloud differs from the spec last applied.\n\n", ref)
				writeChanges(f.IO.Out, st.Drift, "")
				fmt.Fprintf(f.IO.Out, "\nRepair it with: cloudflow apply -f %s\n", specArg(st.Spec.Source))
			}
			if len(st.Drift) > 0 {
				return &exitError{code: exitChangesPending}
			}
			return nil
		},
	}
	opts.addProvider(cmd.Flags())
	opts.addIfBusy(cmd.Flags())
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the StackOperationResult as JSON")
	return cmd
}

// specArg is how a hint names a spec: its file, when it came from one.
func specArg(source string) string {
	if source == "" || source == "standard input" {
		return "SPEC"
	}
	return source
}

type setOptions struct {
	stackName
	RefreshInterval time.Duration
	Refresh         string
	JSON            bool
}

func newStacksSetCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &setOptions{}
	cmd := &cobra.Command{
		Use:   "set NAME [--provider P] (--refresh-interval D | --refresh on|off) [--json]",
		Short: "Change a stack's settings: how often it refreshes for drift",
		Long: heredoc(fmt.Sprintf(`
			Change how often the stack re-reads its resources for drift:
			--refresh-interval takes a duration (at least %s; the default is %s),
			--refresh off stops the periodic refresh ('cloudflow stacks refresh'
			still reads the cloud when asked), --refresh on starts it again at the
			interval set.

			Exit status: 0 set, 2 bad flags, 4 Temporal could not be reached, 6 no
			such stack.`, workflows.MinStackRefresh, workflows.DefaultStackRefresh)),
		Example: examples(`
			$ cloudflow stacks set demo-vm --refresh-interval 10m
			$ cloudflow stacks set demo-vm --refresh off`),
		Args: exactArgs(1, "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			interval, refresh := cmd.Flags().Changed("refresh-interval"), cmd.Flags().Changed("refresh")
			switch {
			case !interval && !refresh:
				return usageErrorf("say what to set: --refresh-interval D, or --refresh on|off")
			case refresh && opts.Refresh != "on" && opts.Refresh != "off":
				return usageErrorf("--refresh %q: want on or off", opts.Refresh)
			case interval && refresh && opts.Refresh == "off":
				return usageErrorf("--refresh off turns the refresh off: drop --refresh-interval, or use --refresh on")
			case interval && opts.RefreshInterval < workflows.MinStackRefresh:
				return usageErrorf("--refresh-interval %s is too short: at least %s, e.g. 10m", opts.RefreshInterval, workflows.MinStackRefresh)
			}
			r, ref, err := opts.open(cmd, f, root, args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			st, err := stateOf(cmd.Context(), r, ref)
			if err != nil {
				return err
			}
			settings := st.Settings
			if interval {
				settings.RefreshInterval, settings.RefreshOff = opts.RefreshInterval, false
			}
			if refresh {
				settings.RefreshOff = opts.Refresh == "off"
			}
			st, err = r.SetStackSettings(cmd.Context(), ref, settings)
			if err != nil {
				return stackErr(err)
			}
			if opts.JSON {
				return printJSON(f.IO.Out, st)
			}
			if st.Settings.RefreshOff {
				fmt.Fprintf(f.IO.Out, "Stack %s: periodic drift refresh off.\n", ref)
				return nil
			}
			every := st.Settings.RefreshInterval
			if every == 0 {
				every = workflows.DefaultStackRefresh
			}
			fmt.Fprintf(f.IO.Out, "Stack %s: drift refresh every %s.\n", ref, every)
			return nil
		},
	}
	opts.addProvider(cmd.Flags())
	cmd.Flags().DurationVar(&opts.RefreshInterval, "refresh-interval", 0, "re-read the resources for drift this often, e.g. 10m")
	cmd.Flags().StringVar(&opts.Refresh, "refresh", "", "on or off: the periodic drift refresh")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the stack's state as JSON")
	return cmd
}
