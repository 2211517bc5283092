package main

import (
	"context"
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
// a spec file, --wait, --json, --timeout.

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
		Use:   "create -f SPEC [--wait [--timeout DURATION]] [--json]",
		Short: "Create a container and apply its parameters",
		Long: heredoc(`
			Start a CreateContainer workflow for the container in SPEC. The create
			is enqueued as a job, which the run waits out durably; then the
			parameters (hostname, CPUs, memory, disk, IP address, name servers)
			are applied. If the job fails, applying the parameters fails, or the
			run is cancelled, the container it made is deleted again. A container
			that already had the name is adopted and never deleted, so creating
			again is harmless.

			Without --wait the command prints the workflow ID and returns; follow
			the run with 'cloudflow runs watch ID'. With --wait it shows progress
			until the run ends and prints what was made, or what failed, what was
			undone and what could not be.

			Exit status: 0 done, 1 the workflow failed, 2 invalid spec or flags
			(nothing started), 3 still running when --timeout passed or Ctrl-C was
			pressed, 4 Temporal could not be reached or another error.`),
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
		Use:   "delete -f SPEC [--wait [--timeout DURATION]] [--json]",
		Short: "Delete a container",
		Long: heredoc(`
			Start a DeleteContainer workflow that deletes the container named in
			SPEC. A container already gone counts as deleted, so running it twice
			is harmless.

			Exit status as for 'cloudflow container create'.`),
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
	s, err := loadContainerSpec(o.f.IO.In, o.File)
	if err != nil {
		return err
	}
	return o.launchSpec(cmd, "container "+s.Container.Name, func(ctx context.Context, r runner) (starter.Run, error) {
		if create {
			return r.CreateContainer(ctx, s.CreateInput())
		}
		return r.DeleteContainer(ctx, s.DeleteInput())
	})
}

// loadContainerSpec reads and checks a container spec as loadSpec does a
// VM spec's.
func loadContainerSpec(stdin io.Reader, path string) (*spec.ContainerSpec, error) {
	return loadSpec(stdin, path, spec.ParseContainer)
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
