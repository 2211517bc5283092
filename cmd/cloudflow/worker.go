package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/clients/openvz"
	"github.com/cloudflow/cloudflow/worker"
)

type workerOptions struct {
	CrusoeEndpoint     string
	CrusoeProjectID    string
	KraftCloudEndpoint string

	openVZ *openvz.Client // the container API's, set by clients when configured

	cloudMC *cloudmc.Client // CloudMC's, set by clients when CLOUDMC_* is set
}

// clients builds the cloud clients the environment configures. A cloud that
// is not configured at all is left out; one configured wrongly is an error,
// and so is having none.
func (o *workerOptions) clients() (*crusoe.Client, *kraftcloud.Client, error) {
	var cc *crusoe.Client
	cfg, cerr := crusoe.LoadConfig()
	if cerr != nil {
		return nil, nil, withCode(exitUsage, cerr)
	}
	if cfg.AccessKeyID != "" || cfg.SecretKey != "" {
		if o.CrusoeEndpoint != "" {
			cfg.Endpoint = o.CrusoeEndpoint
		}
		if o.CrusoeProjectID != "" {
			cfg.ProjectID = o.CrusoeProjectID
		}
		if cc, cerr = crusoe.NewFromConfig(cfg); cerr != nil {
			return nil, nil, withCode(exitUsage, cerr)
		}
	} else {
		cerr = fmt.Errorf("no credentials: set %s and %s, or write ~/.crusoe/config", crusoe.EnvAccessKeyID, crusoe.EnvSecretKey)
	}
	var kc *kraftcloud.Client
	kcfg, kerr := kraftcloud.LoadConfig(os.Getenv)
	if kerr == nil {
		if o.KraftCloudEndpoint != "" {
			kcfg.Endpoint = o.KraftCloudEndpoint
		}
		kc, kerr = kraftcloud.NewFromConfig(kcfg)
		if kerr != nil {
			return nil, nil, withCode(exitUsage, kerr)
		}
	}
	var oerr error
	if o.openVZ, oerr = openVZClient(); oerr != nil {
		return nil, nil, oerr
	}
	if o.cloudMC, oerr = cloudMCClient(); oerr != nil {
		return nil, nil, oerr
	}
	if cc == nil && kc == nil && o.openVZ == nil && o.cloudMC == nil {
		return nil, nil, withCode(exitUsage, fmt.Errorf("no cloud is configured:\n  crusoe: %v\n  kraftcloud: %v\n  container API: set "+openvz.EnvAPIEndpoint+"\n  cloudmc: set CLOUDMC_API_ENDPOINT, CLOUDMC_API_KEY, CLOUDMC_SERVICE_CODE and CLOUDMC_ENVIRONMENT\nTo use the simulator, run `cloudflow sim` and export the environment it prints", cerr, kerr))
	}
	return cc, kc, nil
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
			cc, kc, err := opts.clients()
			if err != nil {
				return err
			}
			s, err := dialStarter(root.starterOptions(), f.IO.ErrOut, slog.LevelInfo)
			if err != nil {
				return withCode(exitOther, err)
			}
			defer s.Close()

			ctx, stop := f.NotifyContext(cmd.Context())
			defer stop()
			fmt.Fprintf(f.IO.ErrOut, "Worker polling task queue %q. Ctrl-C stops it.\n", root.TaskQueue)
			if cc != nil {
				fmt.Fprintf(f.IO.ErrOut, "  Crusoe API %s, project %s\n", cc.BaseURL(), orDefault(cc.ProjectID(), "(none: specs must name one)"))
			} else {
				fmt.Fprintln(f.IO.ErrOut, "  Crusoe: not configured; its workflows fail until CRUSOE_* is set")
			}
			if kc != nil {
				fmt.Fprintf(f.IO.ErrOut, "  KraftCloud API %s\n", kc.BaseURL())
			} else {
				fmt.Fprintf(f.IO.ErrOut, "  KraftCloud: not configured; its workflows fail until %s is set\n", kraftcloud.EnvToken)
			}
			if opts.openVZ != nil {
				fmt.Fprintf(f.IO.ErrOut, "  Container API %s\n", opts.openVZ.BaseURL())
			}
			if opts.cloudMC != nil {
				fmt.Fprintf(f.IO.ErrOut, "  CloudMC API %s, environment %s/%s\n", opts.cloudMC.BaseURL(), opts.cloudMC.ServiceCode(), opts.cloudMC.Environment())
			}
			if err := worker.Run(ctx, s.Client(), worker.Options{TaskQueue: root.TaskQueue, Crusoe: cc, KraftCloud: kc, OpenVZ: opts.openVZ, CloudMC: opts.cloudMC}); err != nil {
				return withCode(exitOther, err)
			}
			fmt.Fprintln(f.IO.ErrOut, "Worker stopped.")
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.CrusoeEndpoint, "crusoe-endpoint", "", "Crusoe API base `URL` (default: $CRUSOE_API_ENDPOINT, the config file's, or the public API)")
	cmd.Flags().StringVar(&opts.KraftCloudEndpoint, "kraftcloud-endpoint", "", "KraftCloud API base `URL` (default: $KRAFTCLOUD_API_ENDPOINT, or the metro's)")
	cmd.Flags().StringVar(&opts.CrusoeProjectID, "crusoe-project-id", "", "default Crusoe project `ID` (default: $CRUSOE_PROJECT_ID or the config file's)")
	return cmd
}
