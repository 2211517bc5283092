package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/cloudsim"
)

func newSimFaultCmd(f *factory) *cobra.Command {
	cmd := nounCmd("fault <command>", "Add, list and remove faults in a running simulator")
	cmd.Long = heredoc(`
		Inject failures into a running simulator (one started by 'cloudflow sim'
		or 'cloudflow dev'), as its --fault flag does at start: 'add' takes the
		same spec, action:METHOD:path[:key=value,...]. 'list' shows each fault
		with the requests it saw and those it hit.

		Every subcommand finds the simulator at --endpoint, else $CLOUDSIM_URL
		(which 'cloudflow dev' prints), else http://127.0.0.1:8787.`)
	cmd.AddCommand(newSimFaultAddCmd(f), newSimFaultListCmd(f), newSimFaultRemoveCmd(f))
	return cmd
}

func newSimFaultAddCmd(f *factory) *cobra.Command {
	var opts struct {
		simEndpoint
		JSON bool
	}
	cmd := &cobra.Command{
		Use:   "add SPEC... [--endpoint URL] [--json]",
		Short: "Add faults to a running simulator",
		Example: examples(`
			$ cloudflow sim fault add 'error:GET:/v1alpha5/**:status=503,retry-after=2s,times=3'
			$ cloudflow sim fault add 'fail-operation:*:/v1alpha5/**:rate=0.1,seed=42'`),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("missing SPEC argument: action:METHOD:path[:key=value,...], e.g. error:GET:/v1alpha5/**:status=503")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			faults := make([]cloudsim.Fault, len(args))
			for i, s := range args {
				fault, err := cloudsim.ParseFault(s)
				if err != nil {
					return usageErrorf("fault %q: %v; nothing was added", s, err)
				}
				faults[i] = fault
			}
			added := make([]cloudsim.Fault, 0, len(faults))
			if err := opts.call(cmd.Context(), func(ctx context.Context, admin *cloudsim.AdminClient) error {
				for _, fault := range faults {
					got, err := admin.AddFault(ctx, fault)
					if err != nil {
						return err
					}
					added = append(added, got)
				}
				return nil
			}); err != nil {
				return err
			}
			if opts.JSON {
				return printJSON(f.IO.Out, added)
			}
			for _, fl := range added {
				fmt.Fprintf(f.IO.Out, "Added fault %s: %s %s %s%s\n", fl.ID, fl.Action, orAny(fl.Method), fl.Path, faultRateText(fl))
			}
			return nil
		},
	}
	opts.addEndpointFlag(cmd.Flags())
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the faults as the simulator stored them, as JSON")
	return cmd
}

func newSimFaultListCmd(f *factory) *cobra.Command {
	var opts struct {
		simEndpoint
		JSON bool
	}
	cmd := &cobra.Command{
		Use:     "list [--endpoint URL] [--json]",
		Aliases: []string{"ls"},
		Short:   "List the faults of a running simulator, with their hits",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var faults []cloudsim.Fault
			if err := opts.call(cmd.Context(), func(ctx context.Context, admin *cloudsim.AdminClient) (err error) {
				faults, err = admin.Faults(ctx)
				return err
			}); err != nil {
				return err
			}
			return printList(f, opts.JSON, faults, "No faults.", func(w io.Writer) {
				tw := newTable(w)
				fmt.Fprintln(tw, "ID\tACTION\tMETHOD\tPATH\tSEEN\tHITS\tRATE")
				for _, fl := range faults {
					rate := "-"
					if fl.Rate > 0 {
						rate = fmt.Sprintf("%g (seed %d)", fl.Rate, fl.Seed)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", fl.ID, fl.Action, orAny(fl.Method), fl.Path, fl.Seen, fl.Hits, rate)
				}
				_ = tw.Flush()
			})
		},
	}
	opts.addEndpointFlag(cmd.Flags())
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

func newSimFaultRemoveCmd(f *factory) *cobra.Command {
	var opts struct {
		simEndpoint
		All bool
	}
	cmd := &cobra.Command{
		Use:     "remove (ID... | --all) [--endpoint URL]",
		Aliases: []string{"rm"},
		Short:   "Remove faults from a running simulator",
		Example: examples(`
			$ cloudflow sim fault remove f-1
			$ cloudflow sim fault remove --all`),
		Args: func(cmd *cobra.Command, args []string) error {
			if (len(args) == 0) == !opts.All {
				return usageErrorf("give the IDs of the faults to remove ('cloudflow sim fault list' shows them), or --all")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return opts.call(cmd.Context(), func(ctx context.Context, admin *cloudsim.AdminClient) error {
				if opts.All {
					if err := admin.ClearFaults(ctx); err != nil {
						return err
					}
					fmt.Fprintln(f.IO.Out, "Removed every fault.")
					return nil
				}
				for _, id := range args {
					if err := admin.RemoveFault(ctx, id); err != nil {
						return simFaultError(id, err)
					}
					fmt.Fprintf(f.IO.Out, "Removed fault %s.\n", id)
				}
				return nil
			})
		},
	}
	opts.addEndpointFlag(cmd.Flags())
	cmd.Flags().BoolVar(&opts.All, "all", false, "remove every fault")
	return cmd
}

// simFaultError is a failure to remove fault id: 6 when the simulator has
// no such fault (it answers 404), else the simulator could not be reached.
func simFaultError(id string, err error) error {
	if strings.Contains(err.Error(), ": 404 ") {
		return withCode(exitNotFound, fmt.Errorf("no fault %s in the simulator (see `cloudflow sim fault list`)", id))
	}
	return err
}
