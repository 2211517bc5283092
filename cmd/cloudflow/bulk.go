package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/internal/input"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// bulkOptions are the flags of vm bulk-create.
type bulkOptions struct {
	f    *factory
	root *rootOptions

	NamePrefix       string
	Count            int
	Template         string
	Type             string
	Location         string
	Image            string
	SSHPublicKey     string
	SSHPublicKeyFile string
	Project          string
	OperationTimeout time.Duration
	waitFlags
}

func newVMBulkCreateCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &bulkOptions{f: f, root: root}
	cmd := &cobra.Command{
		Use:   "bulk-create --name-prefix P --count N (--template ID | --type T --location L --ssh-public-key-file F) [--wait]",
		Short: "Create many VMs with one bulk call",
		Long: heredoc(`
			Start a BulkCreateVMs workflow: Crusoe's bulk-instances call makes VMs
			named PREFIX-1 to PREFIX-N from an instance template (--template), or
			from an inline one (--type, --location, --image, --ssh-public-key[-file]),
			and the workflow waits out its operation. If it fails or is cancelled,
			every VM of those names is deleted again.

			Exit status: 0 done, 1 the workflow failed, 2 invalid flags (nothing
			started), 3 still running when --timeout passed or Ctrl-C was pressed,
			4 Temporal could not be reached or another error, 5 a run for these
			names is already in progress.`),
		Example: examples(`
			$ cloudflow vm bulk-create --name-prefix batch --count 8 --type c1a.2x \
			    --location us-northcentral1-a --ssh-public-key-file ~/.ssh/id_ed25519.pub --wait
			$ cloudflow vm bulk-create --name-prefix gpu --count 64 --template 1f2e... --wait`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return opts.run(cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.NamePrefix, "name-prefix", "", "VMs are named `PREFIX`-1 .. PREFIX-N (required)")
	fl.IntVar(&opts.Count, "count", 0, fmt.Sprintf("how many VMs (1-%d, required)", workflows.MaxBulkVMs))
	fl.StringVar(&opts.Template, "template", "", "instance template `ID` to make them from")
	fl.StringVar(&opts.Type, "type", "", "VM type, for an inline template (e.g. c1a.2x)")
	fl.StringVar(&opts.Location, "location", "", "location, for an inline template (e.g. us-northcentral1-a)")
	fl.StringVar(&opts.Image, "image", "", "image, for an inline template (optional)")
	fl.StringVar(&opts.SSHPublicKey, "ssh-public-key", "", "SSH public `key`, for an inline template")
	fl.StringVar(&opts.SSHPublicKeyFile, "ssh-public-key-file", "", "`file` holding the SSH public key, for an inline template")
	fl.StringVar(&opts.Project, "project", "", "Crusoe project `ID` (default: the worker's)")
	fl.DurationVar(&opts.OperationTimeout, "operation-timeout", workflows.DefaultOperationTimeout, "how long the bulk operation may take")
	opts.addWaitFlags(fl, 30*time.Minute)
	return cmd
}

// maxSSHKeyFile bounds --ssh-public-key-file: one public key is a line of
// at most a few kilobytes.
const maxSSHKeyFile = 16 << 10

// input checks every flag and reports every problem at once: bad usage
// starts nothing.
func (o *bulkOptions) input(cmd *cobra.Command) (workflows.BulkCreateVMsInput, error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	switch {
	case o.NamePrefix == "":
		bad("--name-prefix is required, e.g. --name-prefix batch")
	case crusoe.NameProblem(o.NamePrefix) != "":
		bad("--name-prefix %q: %s; %s", o.NamePrefix, crusoe.NameProblem(o.NamePrefix), crusoe.NameRule)
	case crusoe.NameProblem(fmt.Sprintf("%s-%d", o.NamePrefix, max(o.Count, 1))) != "":
		last := fmt.Sprintf("%s-%d", o.NamePrefix, max(o.Count, 1))
		bad("--name-prefix %q makes the VM name %q: %s", o.NamePrefix, last, crusoe.NameProblem(last))
	}
	if o.Count < 1 || o.Count > workflows.MaxBulkVMs {
		bad("--count must be from 1 to %d", workflows.MaxBulkVMs)
	}
	key := o.SSHPublicKey
	if o.SSHPublicKeyFile != "" {
		if key != "" {
			bad("give --ssh-public-key or --ssh-public-key-file, not both")
		}
		b, err := input.ReadFile(o.SSHPublicKeyFile, nil, "--ssh-public-key-file "+o.SSHPublicKeyFile, maxSSHKeyFile)
		switch {
		case input.IsTooLarge(err):
			bad("%v: give the public key, the .pub file", err)
		case err != nil:
			bad("--ssh-public-key-file: %v", err)
		}
		key = strings.TrimSpace(string(b))
	}
	inline := o.Type != "" || o.Location != "" || o.Image != "" || key != ""
	switch {
	case o.Template != "" && inline:
		bad("--template cannot be combined with --type, --location, --image or an SSH key")
	case o.Template == "":
		if o.Type == "" || o.Location == "" || key == "" {
			bad("without --template, --type, --location and --ssh-public-key (or --ssh-public-key-file) are required")
		}
		if key != "" && !strings.HasPrefix(key, "ssh-") && !strings.HasPrefix(key, "ecdsa-") {
			bad("the SSH public key does not look like one (it should start with ssh- or ecdsa-)")
		}
	}
	if err := o.validateWait(cmd); err != nil {
		problems = append(problems, err.Error())
	}
	if o.OperationTimeout <= 0 {
		bad("--operation-timeout must be longer than zero")
	}
	if len(problems) > 0 {
		return workflows.BulkCreateVMsInput{}, withCode(exitUsage, errors.New(strings.Join(problems, "\n")+"\nnothing was started"))
	}
	return workflows.BulkCreateVMsInput{
		BulkCreateVMsInput: activities.BulkCreateVMsInput{
			ProjectID: o.Project, NamePrefix: o.NamePrefix, Count: o.Count, InstanceTemplateID: o.Template,
			Type: o.Type, Location: o.Location, Image: o.Image, SSHPublicKey: key,
		},
		Timeouts: workflows.Timeouts{Operation: o.OperationTimeout},
	}, nil
}

func (o *bulkOptions) run(cmd *cobra.Command) error {
	in, err := o.input(cmd)
	if err != nil {
		return err
	}
	r, err := o.root.dial(o.f)
	if err != nil {
		return err
	}
	defer r.Close()
	what := fmt.Sprintf("%d VMs %s-*", in.Count, in.NamePrefix)
	return launch(cmd, o.f, r, what, o.Wait, o.waitSettings(),
		func(ctx context.Context) (starter.Run, error) { return r.BulkCreateVMs(ctx, in) })
}
