package main

import (
	"errors"
	"fmt"
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
			Start a DeprovisionInstance workflow that deletes the instance in SPEC,
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
	// Only a valid spec gets this far: nothing is dialled or started before.
	r, err := o.root.dial(o.f)
	if err != nil {
		return err
	}
	defer r.Close()

	var run starter.Run
	if deploy {
		run, err = r.DeployInstance(cmd.Context(), s.DeployInput())
	} else {
		run, err = r.DeprovisionInstance(cmd.Context(), s.DeprovisionInput())
	}
	name := s.InstanceName()
	if err != nil {
		var running *starter.AlreadyRunningError
		if errors.As(err, &running) {
			return withCode(exitOther, fmt.Errorf("a run for instance %s is already in progress (workflow %s); watch it with `cloudflow runs watch %s`, or cancel it with `cloudflow runs cancel %s`",
				name, running.WorkflowID, running.WorkflowID, running.WorkflowID))
		}
		return withCode(exitOther, err)
	}

	if !o.Wait {
		if o.JSON {
			return printJSON(o.f.IO.Out, run)
		}
		out := o.f.IO.Out
		fmt.Fprintf(out, "Started %s for instance %s.\n", run.Workflow, name)
		fmt.Fprintf(out, "  workflow: %s\n  run:      %s\n", run.WorkflowID, run.RunID)
		fmt.Fprintf(out, "Watch it with: cloudflow runs watch %s\n", run.WorkflowID)
		return nil
	}
	if !o.JSON && !o.f.IO.OutTTY {
		fmt.Fprintf(o.f.IO.Out, "Started %s for instance %s (workflow %s).\n", run.Workflow, name, run.WorkflowID)
	}
	return waitForRun(cmd, o.f, r, run, waitSettings{JSON: o.JSON, Timeout: o.Timeout, Interval: o.Interval})
}

// loadKraftCloudSpec reads and checks a KraftCloud spec; any problem is bad
// usage (exit 2), reported as loadSpec reports a VM spec's.
func loadKraftCloudSpec(stdin io.Reader, path string) (*spec.KraftCloudSpec, error) {
	var (
		s   *spec.KraftCloudSpec
		err error
	)
	name := path
	if path == "-" {
		name = "standard input"
		data, rerr := io.ReadAll(stdin)
		if rerr != nil {
			return nil, usageErrorf("read spec from standard input: %v", rerr)
		}
		s, err = spec.ParseKraftCloud(data, "-")
	} else {
		s, err = spec.LoadKraftCloud(path)
	}
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
	msg := fmt.Sprintf("spec %s has %s; nothing was started:", name, problems)
	for _, e := range errs {
		msg += "\n  " + e.Error()
	}
	return nil, withCode(exitUsage, errors.New(msg))
}
