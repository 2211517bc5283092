package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/spec"
	"github.com/cloudflow/cloudflow/workflows"
)

// defaultPollInterval paces progress queries while waiting.
const defaultPollInterval = 500 * time.Millisecond

// vmOptions are the flags of the commands users know that act on one
// spec's stack: vm provision|deprovision, instances deploy|undeploy,
// container create|delete.
type vmOptions struct {
	f    *factory
	root *rootOptions

	File string
	ifBusyFlag
	waitFlags
}

func newVMCmd(f *factory, root *rootOptions) *cobra.Command {
	cmd := nounCmd("vm <command>", "Provision and deprovision VMs described by a spec file")
	cmd.Long = heredoc(`
		Provision and deprovision a VM with its data disks and firewall rules, as
		described by a spec file (YAML or JSON; see examples/crusoe-vm.yaml). The
		spec's provider picks the cloud: crusoe, or cloudmc, an instance with a
		data volume and ingress rules (see examples/cloudmc-vm.yaml).

		Both act through the spec's stack, as 'cloudflow apply' and 'cloudflow
		destroy' do: provision applies the spec (making, adopting and changing
		in place), deprovision deletes what the stack made and nothing else.

		The spec is checked in full before anything starts: every problem is
		reported with its field and line, and the command exits with status 2.`)
	cmd.AddCommand(newVMProvisionCmd(f, root), newVMDeprovisionCmd(f, root), newVMBulkCreateCmd(f, root))
	return cmd
}

// provisionHelp and deprovisionHelp are the help of the commands that
// apply and destroy one spec's stack, for a command that acts on what.
func provisionHelp(what string) string {
	return heredoc(fmt.Sprintf(`
		Apply the spec through its stack, as 'cloudflow apply --auto-approve'
		does: what is missing is made, what exists under the spec's names is
		adopted (and never deleted by cloudflow), fields that changed are
		changed in place where the cloud allows it. A plan that would replace,
		delete or shrink something is refused and printed, and nothing
		changes: review it with 'cloudflow plan', apply it with 'cloudflow
		apply --allow-destroy'. A spec already in sync changes nothing.

		Without --wait the command returns once the %[1]s is being changed,
		naming the run ('cloudflow runs watch RUN' follows it). With --wait it
		shows the progress (the stack's apply, and the provisioning workflow it
		runs) until the end, then what was done, or what failed, what was undone
		and what is left by name and ID, and the outputs (addresses).

		--json prints the StackOperationResult (with --wait, at the end; before,
		the operation and the stack's state). Before stacks it printed the
		provisioning workflow's result; that result is in the ApplyStack run's
		child workflow, "<run>-<workflow>".`, what)) + "\n\n" + exitCodesHelp
}

func deprovisionHelp(what, provision string) string {
	return heredoc(fmt.Sprintf(`
		Destroy the spec's stack, as 'cloudflow destroy -f SPEC' does: delete
		what the stack created (dependents first) and keep what it adopted.
		Nothing is deleted by name alone: without a stack (the %[1]s was never
		made by '%[2]s', or was deprovisioned already) nothing changes and the
		command exits 6.

		--json prints the StackOperationResult.`, what, provision)) + "\n\n" + exitCodesHelp
}

func newVMProvisionCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &vmOptions{f: f, root: root}
	cmd := &cobra.Command{
		Use:   "provision -f SPEC [--wait [--timeout DURATION]] [--json] [--if-busy wait|fail]",
		Short: "Create a VM, its disks and firewall rules (apply the spec's stack)",
		Long:  provisionHelp("VM"),
		Example: examples(`
			$ cloudflow vm provision -f examples/crusoe-vm.yaml
			$ cloudflow vm provision -f examples/crusoe-vm.yaml --wait --timeout 15m
			$ cloudflow vm provision -f examples/cloudmc-vm.yaml --wait
			$ cloudflow vm provision -f - --wait --json < vm.yaml`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return opts.run(cmd, true)
		},
	}
	opts.addFlags(cmd)
	return cmd
}

func newVMDeprovisionCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &vmOptions{f: f, root: root}
	cmd := &cobra.Command{
		Use:   "deprovision -f SPEC [--wait [--timeout DURATION]] [--json] [--if-busy wait|fail]",
		Short: "Delete the VM, disks and rules its stack created",
		Long:  deprovisionHelp("VM", "vm provision"),
		Example: examples(`
			$ cloudflow vm deprovision -f examples/crusoe-vm.yaml --wait`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return opts.run(cmd, false)
		},
	}
	opts.addFlags(cmd)
	return cmd
}

func (o *vmOptions) addFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&o.File, "file", "f", "", "the `spec` file, YAML or JSON (- reads standard input)")
	o.addIfBusy(fl)
	o.addStackWaitFlags(fl)
	_ = cmd.MarkFlagRequired("file")
}

func (o *vmOptions) validate(cmd *cobra.Command) error {
	if err := o.validateWait(cmd); err != nil {
		return err
	}
	return o.validateIfBusy()
}

func (o *vmOptions) run(cmd *cobra.Command, provision bool) error {
	if err := o.validate(cmd); err != nil {
		return err
	}
	// The spec's provider picks the parser: a CloudMC instance, or a Crusoe VM.
	data, err := readSpecData(o.f.IO.In, o.File)
	if err != nil {
		return err
	}
	parse := asStackSpec(spec.Parse)
	if spec.ProviderOf(data) == spec.ProviderCloudMC {
		parse = asStackSpec(spec.ParseCloudMC)
	}
	sp, err := checkStackSpec(data, o.File, parse)
	if err != nil {
		return err
	}
	return o.act(cmd, sp, provision)
}

// act applies the spec's stack (provision: auto-approved, nothing
// destructive) or destroys it.
func (o *vmOptions) act(cmd *cobra.Command, sp workflows.StackSpec, provision bool) error {
	w := opWait{waitSettings: o.waitSettings(), Follow: o.Wait}
	if !provision {
		return destroyAndReport(cmd, o.f, o.root, sp.Name(), sp.Provider, workflows.StackDestroyRequest{IfBusy: o.IfBusy}, w)
	}
	r, err := o.root.dial(o.f)
	if err != nil {
		return err
	}
	defer r.Close()
	file := o.File
	if file == "-" {
		file = "SPEC"
	}
	hint := fmt.Sprintf("'%s' makes no destructive change. Review the plan: cloudflow plan -f %s\nThen apply it: cloudflow apply -f %s --allow-destroy", cmd.CommandPath(), file, file)
	return applyAndReport(cmd, o.f, r, workflows.StackApplyRequest{Spec: sp, IfBusy: o.IfBusy}, w, hint)
}

// asStackSpec turns a provider's parser into one of stack specs.
func asStackSpec[P interface{ StackSpec() workflows.StackSpec }](parse func(data []byte, source string) (P, error)) func([]byte, string) (workflows.StackSpec, error) {
	return func(data []byte, source string) (workflows.StackSpec, error) {
		s, err := parse(data, source)
		if err != nil {
			return workflows.StackSpec{}, err
		}
		return s.StackSpec(), nil
	}
}

// checkSpec parses the spec read from path with parse; any problem is bad
// usage (exit 2), every one listed.
func checkSpec[S any](data []byte, path string, parse func(data []byte, source string) (*S, error)) (*S, error) {
	s, err := parse(data, path)
	if err == nil {
		return s, nil
	}
	var errs spec.Errors
	if !errors.As(err, &errs) {
		return nil, withCode(exitUsage, err)
	}
	problems := "1 problem"
	if len(errs) != 1 {
		problems = fmt.Sprintf("%d problems", len(errs))
	}
	msg := fmt.Sprintf("%s has %s; nothing was started:", spec.InputName(path), problems)
	for _, e := range errs {
		msg += "\n  " + e.Error()
	}
	return nil, withCode(exitUsage, errors.New(msg))
}
