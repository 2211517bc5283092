package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/cloudsim"
)

type simSeedOptions struct {
	simEndpoint
	Instances int
	Prefix    string
	Image     string
	Out       string
	Token     string
}

// maxSeed bounds one seed command.
const maxSeed = 20000

func newSimSeedCmd(f *factory) *cobra.Command {
	opts := &simSeedOptions{}
	cmd := &cobra.Command{
		Use:   "seed --kraftcloud-instances N [--prefix web] [--out FILE] [--endpoint URL]",
		Short: "Create stopped KraftCloud instances in a running simulator, for fleet runs",
		Long: heredoc(`
			Create N stopped KraftCloud instances named PREFIX-1 .. PREFIX-N in a
			running simulator, through its KraftCloud API (16 requests at a time),
			so that 'cloudflow instances start' has a fleet to act on. --out writes
			their names, one per line, for --file.`),
		Example: examples(`
			$ cloudflow sim seed --kraftcloud-instances 1000 --out fleet.txt
			$ cloudflow instances start --provider kraftcloud --file fleet.txt --wait`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			base, err := opts.url()
			if err != nil {
				return err
			}
			if opts.Instances < 1 || opts.Instances > maxSeed {
				return usageErrorf("--kraftcloud-instances must be from 1 to %d", maxSeed)
			}
			if err := kraftcloud.ValidateName(opts.Prefix + "-1"); err != nil {
				return usageErrorf("--prefix %q does not make valid instance names: %v", opts.Prefix, err)
			}
			kc, err := kraftcloud.New(kraftcloud.WithBaseURL(base+kraftCloudAPIPath), kraftcloud.WithToken(opts.Token))
			if err != nil {
				return withCode(exitUsage, err)
			}
			names := make([]string, opts.Instances)
			for i := range names {
				names[i] = fmt.Sprintf("%s-%d", opts.Prefix, i+1)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Minute)
			defer cancel()
			if err := seedInstances(ctx, kc, opts.Image, names); err != nil {
				return simUnreachable(err)
			}
			if opts.Out != "" {
				if err := os.WriteFile(opts.Out, []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
					return withCode(exitOther, err)
				}
			}
			fmt.Fprintf(f.IO.Out, "Created %d stopped KraftCloud instances, %s .. %s.\n", len(names), names[0], names[len(names)-1])
			if opts.Out != "" {
				fmt.Fprintf(f.IO.Out, "Their names are in %s.\n", opts.Out)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	opts.addEndpointFlag(fl)
	fl.IntVar(&opts.Instances, "kraftcloud-instances", 0, "how many instances to create (required)")
	fl.StringVar(&opts.Prefix, "prefix", "web", "instance names are `PREFIX`-1, PREFIX-2...")
	fl.StringVar(&opts.Image, "image", "nginx:latest", "the instances' image")
	fl.StringVar(&opts.Out, "out", "", "write the names to this `file`, one per line")
	fl.StringVar(&opts.Token, "kraftcloud-token", cloudsim.DefaultKraftCloudToken, "the simulator's KraftCloud `token`")
	return cmd
}

// seedInstances creates stopped instances, 16 requests at a time, and
// reports the first failure.
func seedInstances(ctx context.Context, kc *kraftcloud.Client, image string, names []string) error {
	off := false
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	sem := make(chan struct{}, 16)
	for _, name := range names {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := kc.Instances.Create(ctx, &kraftcloud.InstanceCreateRequest{Image: image, Name: name, MemoryMB: 128, Autostart: &off}); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("create %s: %w", name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d instances not created: %w", len(errs), len(names), errors.Join(errs[0]))
	}
	return nil
}
