package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/spec"
	"github.com/cloudflow/cloudflow/starter"
)

// instances deploy and undeploy take the flags of vm provision (vmOptions):
// a spec file, --wait, --json, --timeout.

func newDeployCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &vmOptions{f: f, root: root}
	cmd := &cobra.Command{
		Use:   "deploy -f SPEC [--wait [--timeout DURATION]] [--json]",
		Short: "Deploy a KraftCloud instance with its volume and service group",
		Long: heredoc(`
			Start a DeployInstance workflow for the KraftCloud instance in SPEC
			(provider: kraftcloud; see examples/kraftcloud-app.yaml). The volume and
			the service group are created first, in parallel, then the instance,
			which mounts the volume and joins the group, and the run waits until
			it is running. If a step fails, or the run is cancelled, what was made
			is undone: the instance, then the service group, then the volume.
			What already existed is adopted and never undone, so deploying again
			is harmless.

			Without --wait the command prints the workflow ID and returns; follow
			the run with 'cloudflow runs watch ID'. With --wait it shows progress
			until the run ends and prints what was made, or what failed, what was
			undone and what could not be.

			Environment values may be secrets: they travel in the workflow input,
			so set CLOUDFLOW_PAYLOAD_KEY (on the worker and here) to seal them.

			Exit status: 0 done, 1 the workflow failed, 2 invalid spec or flags
			(nothing started), 3 still running when --timeout passed or Ctrl-C was
			pressed, 4 Temporal could not be reached or another error.`),
		Example: examples(`
			$ cloudflow instances deploy -f examples/kraftcloud-app.yaml
			$ cloudflow instances deploy -f examples/kraftcloud-app.yaml --wait --timeout 10m
			$ cloudflow instances deploy -f - --wait --json < app.yaml`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDeploy(cmd, opts, true)
		},
	}
	opts.addFlags(cmd)
	return cmd
}

func newUndeployCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &vmOptions{f: f, root: root}
	cmd := &cobra.Command{
		Use:   "undeploy -f SPEC [--wait [--timeout DURATION]] [--json]",
		Short: "Delete a KraftCloud instance, its service group and volume",
		Long: heredoc(`
			Start a UndeployInstance workflow that deletes the instance in SPEC,
			then its service group and its volume, found by the names deploy gave
			them. Whatever is already gone counts as deleted, so running it twice
			is harmless.

			Exit status as for 'cloudflow instances deploy'.`),
		Example: examples(`
			$ cloudflow instances undeploy -f examples/kraftcloud-app.yaml --wait`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDeploy(cmd, opts, false)
		},
	}
	opts.addFlags(cmd)
	return cmd
}

func runDeploy(cmd *cobra.Command, o *vmOptions, deploy bool) error {
	if err := o.validate(cmd); err != nil {
		return err
	}
	s, err := loadKraftCloudSpec(o.f.IO.In, o.File)
	if err != nil {
		return err
	}
	return o.launchSpec(cmd, "instance "+s.InstanceName(), func(ctx context.Context, r runner) (starter.Run, error) {
		if deploy {
			return r.DeployInstance(ctx, s.DeployInput())
		}
		return r.UndeployInstance(ctx, s.DeprovisionInput())
	})
}

// loadKraftCloudSpec reads and checks a KraftCloud spec as loadSpec does a
// VM spec's.
func loadKraftCloudSpec(stdin io.Reader, path string) (*spec.KraftCloudSpec, error) {
	return loadSpec(stdin, path, spec.ParseKraftCloud)
}
