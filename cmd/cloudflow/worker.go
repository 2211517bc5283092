package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/worker"
)

type workerOptions struct {
	CrusoeEndpoint  string
	CrusoeProjectID string
}

func newWorkerCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &workerOptions{}
	cmd := &cobra.Command{
		Use:   "worker [--crusoe-endpoint URL]",
		Short: "Run a worker that executes cloudflow workflows until Ctrl-C",
		Long: heredoc(`
			Run a Temporal worker with every cloudflow workflow and activity, polling
			the task queue until Ctrl-C or SIGTERM, then stopping gracefully.

			Crusoe credentials come from ~/.crusoe/config (profile $CRUSOE_PROFILE)
			and the environment: CRUSOE_API_ENDPOINT, CRUSOE_ACCESS_KEY_ID,
			CRUSOE_SECRET_KEY, CRUSOE_PROJECT_ID. The flags override the endpoint
			and project; secrets are never taken on the command line, where other
			users could see them.`),
		Example: examples(`
			$ cloudflow worker
			$ cloudflow worker --crusoe-endpoint http://127.0.0.1:8787/v1alpha5`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := crusoe.LoadConfig()
			if err != nil {
				return withCode(exitUsage, err)
			}
			if opts.CrusoeEndpoint != "" {
				cfg.Endpoint = opts.CrusoeEndpoint
			}
			if opts.CrusoeProjectID != "" {
				cfg.ProjectID = opts.CrusoeProjectID
			}
			cc, err := crusoe.NewFromConfig(cfg)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("%w\nTo use the simulator, run `cloudflow sim` and export the environment it prints", err))
			}
			s, err := dialStarter(root.starterOptions(), f.IO.ErrOut, slog.LevelInfo)
			if err != nil {
				return withCode(exitOther, err)
			}
			defer s.Close()

			ctx, stop := f.NotifyContext(cmd.Context())
			defer stop()
			fmt.Fprintf(f.IO.ErrOut, "Worker polling task queue %q; Crusoe API %s, project %s. Ctrl-C stops it.\n",
				root.TaskQueue, cc.BaseURL(), orDefault(cc.ProjectID(), "(none: specs must name one)"))
			if err := worker.Run(ctx, s.Client(), worker.Options{TaskQueue: root.TaskQueue, Crusoe: cc}); err != nil {
				return withCode(exitOther, err)
			}
			fmt.Fprintln(f.IO.ErrOut, "Worker stopped.")
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.CrusoeEndpoint, "crusoe-endpoint", "", "Crusoe API base `URL` (default: $CRUSOE_API_ENDPOINT, the config file's, or the public API)")
	cmd.Flags().StringVar(&opts.CrusoeProjectID, "crusoe-project-id", "", "default Crusoe project `ID` (default: $CRUSOE_PROJECT_ID or the config file's)")
	return cmd
}
