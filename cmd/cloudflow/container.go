package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/clients/openvz"
	"github.com/cloudflow/cloudflow/spec"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// container create and delete take the flags of vm provision (vmOptions):
// a spec file, --wait, --json, --timeout, --if-busy.

func newContainerCmd(f *factory, root *rootOptions) *cobra.Command {
	cmd := nounCmd("container <command>", "Create and delete containers through the container API (OpenVZ)")
	cmd.Long = heredoc(`
		Create and delete a container through the container API (OpenVZ v0.1), as
		described by a spec file (provider: openvz; see examples/container.yaml).

		The spec is checked in full before anything starts: every problem is
		reported with its field and line, and the command exits with status 2.`)
	cmd.AddCommand(newContainerCreateCmd(f, root), newContainerDeleteCmd(f, root))
	return cmd
}

func newContainerCreateCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &vmOptions{f: f, root: root}
	cmd := &cobra.Command{
		Use:   "create -f SPEC [--wait [--timeout DURATION]] [--json] [--if-busy wait|fail]",
		Short: "Create a container and apply its parameters (apply the spec's stack)",
		Long: heredoc(`
			Create the container in SPEC (provider: openvz; see
			examples/container.yaml) and set its parameters (hostname, CPUs,
			memory, disk, IP address, name servers). The stack runs
			CreateContainer when the container is missing; changed parameters
			are set in place; a changed OS template is a replace, which this
			command refuses (see below).`) + "\n\n" + provisionHelp("container"),
		Example: examples(`
			$ cloudflow container create -f examples/container.yaml
			$ cloudflow container create -f examples/container.yaml --wait --timeout 10m
			$ cloudflow container create -f - --wait --json < ct.yaml`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContainer(cmd, opts, true)
		},
	}
	opts.addFlags(cmd)
	return cmd
}

func newContainerDeleteCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &vmOptions{f: f, root: root}
	cmd := &cobra.Command{
		Use:   "delete -f SPEC [--wait [--timeout DURATION]] [--json] [--if-busy wait|fail]",
		Short: "Delete the container its stack created",
		Long:  deprovisionHelp("container", "container create"),
		Example: examples(`
			$ cloudflow container delete -f examples/container.yaml --wait`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContainer(cmd, opts, false)
		},
	}
	opts.addFlags(cmd)
	return cmd
}

func runContainer(cmd *cobra.Command, o *vmOptions, create bool) error {
	if err := o.validate(cmd); err != nil {
		return err
	}
	data, err := readSpecData(o.f.IO.In, o.File)
	if err != nil {
		return err
	}
	sp, err := checkStackSpec(data, o.File, asStackSpec(spec.ParseContainer))
	if err != nil {
		return err
	}
	return o.act(cmd, sp, create)
}

// printContainerSummary says what a CreateContainer run made or, when it
// failed, where it failed, what was undone and what could not be.
func printContainerSummary(w io.Writer, run starter.Run, res *workflows.CreateContainerResult, runErr *starter.RunError) {
	if runErr != nil {
		printFailureReport(w, run, runErr, res.FailedStep, res.Steps, res.Undone, res.NotUndone)
		return
	}
	c := res.Container
	note := ""
	if c.Existed {
		note = " It already existed: its parameters were applied to it."
	}
	fmt.Fprintf(w, "\nContainer %s is ready (workflow %s).%s\n\n", c.Name, run.WorkflowID, note)
	tw := newTable(w)
	fmt.Fprintln(tw, "KIND\tNAME\tID\tSTEP")
	for _, s := range res.Steps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Kind, s.Resource, dash(s.ID), s.State)
	}
	_ = tw.Flush()
}

// openVZClient builds the container API's client when OPENVZ_API_ENDPOINT is
// set; nil when it is not.
func openVZClient(opts ...openvz.Option) (*openvz.Client, error) {
	if os.Getenv(openvz.EnvAPIEndpoint) == "" {
		return nil, nil
	}
	cfg, err := openvz.LoadConfig(os.Getenv)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	c, err := openvz.NewFromConfig(cfg, opts...)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return c, nil
}
