package main

import (
	"fmt"
	"strings"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/spf13/cobra"
)

type outputOptions struct {
	stackName
	JSON bool
}

func newOutputCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &outputOptions{}
	cmd := &cobra.Command{
		Use:   "output NAME [KEY] [--provider P] [--json]",
		Short: "Print a stack's outputs: addresses, SSH destination, FQDN",
		Long: heredoc(`
			Print what the cloud reports of the stack's resources, as the stack
			last read it: a Crusoe VM's privateIPv4, publicIPv4 and
			sshDestination, a CloudMC instance's or a container's ipAddress, a
			KraftCloud instance's fqdn and privateIPv4. One line per output:
			resource, output, value.

			With KEY, print only that value, for scripts. KEY is an output's
			name (sshDestination), when one resource of the stack has it, or
			"<resource>.<output>" (vm/web.privateIPv4) to say which resource.

			--json prints {"<resource>": {"<output>": "<value>"}}, or with KEY
			the value as a JSON string.

			Exit status: 0 printed, 2 bad flags or a KEY several resources have,
			4 Temporal could not be reached, 6 no such stack or output.`),
		Example: examples(`
			$ cloudflow output demo-vm
			$ ssh "$(cloudflow output demo-vm sshDestination)"
			$ cloudflow output demo-vm vm/demo-vm.privateIPv4`),
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return fmt.Errorf("missing NAME argument")
			case len(args) > 2:
				return fmt.Errorf("too many arguments: want NAME [KEY], got %q", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			r, ref, err := opts.open(cmd, f, root, args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			st, err := stateOf(cmd.Context(), r, ref)
			if err != nil {
				return err
			}
			rows := outputRows(st.Resources)
			if len(args) == 1 {
				if opts.JSON {
					m := map[string]map[string]string{}
					for _, r := range st.Resources {
						if len(r.Outputs) > 0 {
							m[r.Key] = r.Outputs
						}
					}
					return printJSON(f.IO.Out, m)
				}
				if len(rows) == 0 {
					fmt.Fprintf(f.IO.ErrOut, "Stack %s has no outputs (status %s).\n", ref, st.Status)
					return nil
				}
				tw := newTable(f.IO.Out)
				for _, o := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", o.Resource, o.Output, o.Value)
				}
				return tw.Flush()
			}
			o, err := findOutput(ref, rows, args[1])
			if err != nil {
				return err
			}
			if opts.JSON {
				return printJSON(f.IO.Out, o.Value)
			}
			fmt.Fprintln(f.IO.Out, o.Value)
			return nil
		},
	}
	opts.addProvider(cmd.Flags())
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

// findOutput finds KEY among a stack's outputs: "<output>", when one
// resource has it, or "<resource>.<output>" (resource keys hold a "/",
// output names no ".").
func findOutput(ref starter.StackRef, rows []outputRow, key string) (outputRow, error) {
	resource, output := "", key
	if strings.Contains(key, "/") {
		i := strings.LastIndex(key, ".")
		if i < 0 {
			return outputRow{}, usageErrorf("KEY %q names a resource but no output: write <resource>.<output>, e.g. %s.privateIPv4", key, key)
		}
		resource, output = key[:i], key[i+1:]
	}
	var found []outputRow
	for _, o := range rows {
		if o.Output == output && (resource == "" || o.Resource == resource) {
			found = append(found, o)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		have := make([]string, len(rows))
		for i, o := range rows {
			have[i] = o.Resource + "." + o.Output
		}
		msg := "it has none"
		if len(have) > 0 {
			msg = "it has " + strings.Join(have, ", ")
		}
		return outputRow{}, withCode(exitNotFound, fmt.Errorf("stack %s has no output %q: %s", ref, key, msg))
	}
	which := make([]string, len(found))
	for i, o := range found {
		which[i] = o.Resource + "." + o.Output
	}
	return outputRow{}, usageErrorf("several resources have output %q: say which, one of %s", key, strings.Join(which, ", "))
}
