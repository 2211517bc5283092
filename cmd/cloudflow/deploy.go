package main

import (
	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/spec"
)

// instances deploy and undeploy take the flags of vm provision (vmOptions):
// a spec file, --wait, --json, --timeout, --if-busy.

func newDeployCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &vmOptions{f: f, root: root}
	cmd := &cobra.Command{
		Use:   "deploy -f SPEC [--wait [--timeout DURATION]] [--json] [--if-busy wait|fail]",
		Short: "Deploy a KraftCloud instance with its volume and service group (apply the spec's stack)",
		Long: heredoc(`
			Deploy the KraftCloud instance in SPEC (provider: kraftcloud; see
			examples/kraftcloud-app.yaml) with its volume and service group. The
			stack runs DeployInstance for what is missing: the volume and the
			service group first, then the instance, which mounts the volume and
			joins the group. KraftCloud instances are immutable: a changed
			instance is a replace, which this command refuses (see below).

			Environment values may be secrets: they travel in the workflow input,
			so set CLOUDFLOW_PAYLOAD_KEY (on the worker and here) to seal them.`) + "\n\n" + provisionHelp("instance"),
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
		Use:   "undeploy -f SPEC [--wait [--timeout DURATION]] [--json] [--if-busy wait|fail]",
		Short: "Delete the KraftCloud instance, service group and volume its stack created",
		Long:  deprovisionHelp("instance", "instances deploy"),
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
	data, err := readSpecData(o.f.IO.In, o.File)
	if err != nil {
		return err
	}
	sp, err := checkStackSpec(data, o.File, asStackSpec(spec.ParseKraftCloud))
	if err != nil {
		return err
	}
	return o.act(cmd, sp, deploy)
}
