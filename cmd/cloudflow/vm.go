package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/spec"
	"github.com/cloudflow/cloudflow/starter"
)

// defaultPollInterval paces progress queries while waiting.
const defaultPollInterval = 500 * time.Millisecond

// vmOptions are the flags of vm provision and vm deprovision.
type vmOptions struct {
	f    *factory
	root *rootOptions

	File string
	waitFlags
}

func newVMCmd(f *factory, root *rootOptions) *cobra.Command {
	cmd := nounCmd("vm <command>", "Provision and deprovision VMs described by a spec file")
	cmd.Long = heredoc(`
		Provision and deprovision a VM with its data disks and firewall rules, as
		described by a spec file (YAML or JSON; see examples/crusoe-vm.yaml). The
		spec's provider picks the cloud: crusoe (ProvisionVM, DeprovisionVM) or
		cloudmc, an instance with a data volume and ingress rules
		(ProvisionInstance, DeprovisionInstance; see examples/cloudmc-vm.yaml).

		The spec is checked in full before anything starts: every problem is
		reported with its field and line, and the command exits with status 2.`)
	cmd.AddCommand(newVMProvisionCmd(f, root), newVMDeprovisionCmd(f, root), newVMBulkCreateCmd(f, root))
	return cmd
}

func newVMProvisionCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &vmOptions{f: f, root: root}
	cmd := &cobra.Command{
		Use:   "provision -f SPEC [--wait [--timeout DURATION]] [--json]",
		Short: "Create a VM, its disks and firewall rules",
		Long: heredoc(`
			Start a ProvisionVM workflow for the VM in SPEC. Disks are created
			first, in parallel, then the VM with them attached, then the firewall
			rules that refer to it. If a step fails, what was made is undone.

			Without --wait the command prints the workflow ID and returns; follow
			the run with 'cloudflow runs watch ID'. With --wait it shows progress
			until the run ends and prints what was made, or what failed, what was
			undone and what could not be.

			Exit status: 0 done, 1 the workflow failed, 2 invalid spec or flags
			(nothing started), 3 still running when --timeout passed or Ctrl-C was
			pressed, 4 Temporal could not be reached or another error.`),
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
		Use:   "deprovision -f SPEC [--wait [--timeout DURATION]] [--json]",
		Short: "Delete a VM, its disks and firewall rules",
		Long: heredoc(`
			Start a DeprovisionVM workflow that deletes the VM in SPEC with its
			disks and firewall rules, found by the names provision gave them.
			Resources already gone count as deleted.

			Exit status as for 'cloudflow vm provision'.`),
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
	o.addWaitFlags(fl, 30*time.Minute)
	_ = cmd.MarkFlagRequired("file")
}

func (o *vmOptions) validate(cmd *cobra.Command) error { return o.validateWait(cmd) }

func (o *vmOptions) run(cmd *cobra.Command, provision bool) error {
	if err := o.validate(cmd); err != nil {
		return err
	}
	// The spec's provider picks the workflows: a CloudMC instance, or a Crusoe VM.
	data, err := readSpecData(o.f.IO.In, o.File)
	if err != nil {
		return err
	}
	if spec.ProviderOf(data) == spec.ProviderCloudMC {
		return o.runCloudMC(cmd, data, provision)
	}
	s, err := checkSpec(data, o.File, spec.Parse)
	if err != nil {
		return err
	}
	return o.launchSpec(cmd, "VM "+s.VM.Name, func(ctx context.Context, r runner) (starter.Run, error) {
		if provision {
			return r.ProvisionVM(ctx, s.ProvisionInput())
		}
		return r.DeprovisionVM(ctx, s.DeprovisionInput())
	})
}

// loadSpec reads a spec (readSpecData) and checks it (checkSpec).
func loadSpec[S any](stdin io.Reader, path string, parse func(data []byte, source string) (*S, error)) (*S, error) {
	data, err := readSpecData(stdin, path)
	if err != nil {
		return nil, err
	}
	return checkSpec(data, path, parse)
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
