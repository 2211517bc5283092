package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/apicall"
	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/clients/openvz"
	"github.com/cloudflow/cloudflow/internal/telemetry"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/worker"
)

type workerOptions struct {
	CrusoeEndpoint     string
	CrusoeProjectID    string
	KraftCloudEndpoint string
	ShutdownTimeout    time.Duration
	Pollers            string
	AsyncWaits         string
	observe            observeFlags

	// observer, when set, is told of every cloud API call (the metrics).
	observer apicall.Observer
	// secrets are the credentials clients loaded, which logs never show.
	secrets []string

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
		o.secrets = append(o.secrets, cfg.SecretKey)
		if cc, cerr = crusoe.NewFromConfig(cfg, crusoe.WithObserver(o.observer)); cerr != nil {
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
		o.secrets = append(o.secrets, kcfg.Token)
		kc, kerr = kraftcloud.NewFromConfig(kcfg, kraftcloud.WithObserver(o.observer))
		if kerr != nil {
			return nil, nil, withCode(exitUsage, kerr)
		}
	}
	var oerr error
	if o.openVZ, oerr = openVZClient(openvz.WithObserver(o.observer)); oerr != nil {
		return nil, nil, oerr
	}
	if o.cloudMC, oerr = cloudMCClient(cloudmc.WithObserver(o.observer)); oerr != nil {
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
		Use:   "worker [--metrics-listen ADDR] [--log-format json|text] [--log-level LEVEL] [--shutdown-timeout D] [--pollers N|auto] [--async-waits N|off]",
		Short: "Run a worker that executes cloudflow workflows until Ctrl-C",
		Long: heredoc(`
			Run a Temporal worker with every cloudflow workflow and activity, polling
			the task queue until Ctrl-C or SIGTERM. Then it polls for no new work,
			lets the activities in flight finish for up to --shutdown-timeout, and
			exits; what did not finish is retried by Temporal on another worker.

			--pollers sets how many long polls the worker keeps open for workflow
			tasks, and as many for activity tasks (default 16, at least 2; "auto"
			lets the Temporal SDK scale them). Fewer serialize bursts of work:
			100 runs whose operations end together took 1.8 times as long with 4.

			--async-waits caps the durable waits the worker runs off its activity
			slots (default 10000): such a wait is completed through the Temporal
			client, and costs one parked goroutine instead of a slot and the SDK's
			per-task state. Past the cap, and with "off", a wait holds its slot
			until it ends. On SIGTERM they get --shutdown-timeout too; those still
			waiting then are handed to another worker, which resumes them.

			Crusoe credentials come from ~/.crusoe/config (profile $CRUSOE_PROFILE)
			and the environment: CRUSOE_API_ENDPOINT, CRUSOE_ACCESS_KEY_ID,
			CRUSOE_SECRET_KEY, CRUSOE_PROJECT_ID. The flags override the endpoint
			and project; secrets are never taken on the command line, where other
			users could see them.

			--metrics-listen serves Prometheus metrics on /metrics (the Temporal
			SDK's and cloudflow's own), /healthz (the process is alive) and /readyz
			(the worker polls and reaches Temporal; not while it starts or stops).
			Traces are exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT (or
			OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, as service cloudflow-worker
			unless OTEL_SERVICE_NAME says otherwise.`),
		Example: examples(`
			$ cloudflow worker
			$ cloudflow worker --crusoe-endpoint http://127.0.0.1:8787/v1alpha5
			$ cloudflow worker --metrics-listen :9090 --log-format json --shutdown-timeout 60s`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return opts.run(cmd, f, root)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.CrusoeEndpoint, "crusoe-endpoint", "", "Crusoe API base `URL` (default: $CRUSOE_API_ENDPOINT, the config file's, or the public API)")
	fl.StringVar(&opts.KraftCloudEndpoint, "kraftcloud-endpoint", "", "KraftCloud API base `URL` (default: $KRAFTCLOUD_API_ENDPOINT, or the metro's)")
	fl.StringVar(&opts.CrusoeProjectID, "crusoe-project-id", "", "default Crusoe project `ID` (default: $CRUSOE_PROJECT_ID or the config file's)")
	fl.DurationVar(&opts.ShutdownTimeout, "shutdown-timeout", worker.DefaultStopTimeout, "on SIGTERM or Ctrl-C, how long running activities get to finish before they are cancelled (and retried elsewhere)")
	fl.StringVar(&opts.Pollers, "pollers", strconv.Itoa(worker.DefaultPollers), "long polls kept open for workflow tasks, and as many for activity tasks: `N` (at least 2) or auto (the SDK scales them)")
	fl.StringVar(&opts.AsyncWaits, "async-waits", strconv.Itoa(activities.DefaultMaxAsyncWaits), "durable waits run off the activity slots at once, completed through the client: `N` (at least 1) or off (each wait holds a slot)")
	opts.observe.add(fl, "info")
	return cmd
}

// pollers is the worker.Options.Pollers of --pollers.
func (o *workerOptions) pollers() (int, error) {
	return countFlag("pollers", o.Pollers, 2, "auto")
}

// asyncWaits is the worker.Options.MaxAsyncWaits of --async-waits.
func (o *workerOptions) asyncWaits() (int, error) {
	return countFlag("async-waits", o.AsyncWaits, 1, "off")
}

// countFlag reads a flag that is a number of at least least, or word
// (which worker.Options takes as -1).
func countFlag(name, value string, least int, word string) (int, error) {
	if value == word {
		return -1, nil
	}
	n, err := strconv.Atoi(value)
	if err != nil || n < least {
		return 0, usageErrorf("--%s must be a number of at least %d, or %s, not %q", name, least, word, value)
	}
	return n, nil
}

func (o *workerOptions) run(cmd *cobra.Command, f *factory, root *rootOptions) error {
	if o.ShutdownTimeout < 0 {
		return usageErrorf("--shutdown-timeout must not be negative, not %s", o.ShutdownTimeout)
	}
	pollers, err := o.pollers()
	if err != nil {
		return err
	}
	asyncWaits, err := o.asyncWaits()
	if err != nil {
		return err
	}
	ctx, stop := f.NotifyContext(cmd.Context())
	defer stop()
	// The metrics come first, for the clients to report to; the logger once
	// the clients have loaded the credentials it must never show.
	obs, err := newObserver(ctx, &o.observe, telemetry.ServiceWorker)
	if err != nil {
		return err
	}
	o.observer = obs.apiObserver()
	cc, kc, err := o.clients()
	if err != nil {
		return err
	}
	if err := obs.start(ctx, f.IO.ErrOut, o.secrets); err != nil {
		return err
	}
	defer obs.close()
	so, err := obs.starterOptions(root.starterOptions())
	if err != nil {
		return withCode(exitUsage, err)
	}
	s, err := starter.Dial(so)
	if err != nil {
		return withCode(exitOther, err)
	}
	defer s.Close()

	log := obs.log
	log.Info("worker starting", "task_queue", root.TaskQueue, "shutdown_timeout", o.ShutdownTimeout.String())
	if cc != nil {
		log.Info("cloud configured", "cloud", "crusoe", "endpoint", cc.BaseURL(), "project", orDefault(cc.ProjectID(), "(none: specs must name one)"))
	} else {
		log.Warn("cloud not configured: its workflows fail until CRUSOE_* is set", "cloud", "crusoe")
	}
	if kc != nil {
		log.Info("cloud configured", "cloud", "kraftcloud", "endpoint", kc.BaseURL())
	} else {
		log.Warn("cloud not configured: its workflows fail until "+kraftcloud.EnvToken+" is set", "cloud", "kraftcloud")
	}
	if o.openVZ != nil {
		log.Info("cloud configured", "cloud", "openvz", "endpoint", o.openVZ.BaseURL())
	}
	if o.cloudMC != nil {
		log.Info("cloud configured", "cloud", "cloudmc", "endpoint", o.cloudMC.BaseURL(), "environment", o.cloudMC.ServiceCode()+"/"+o.cloudMC.Environment())
	}
	wo := obs.workerOptions(s.Client(), worker.Options{TaskQueue: root.TaskQueue, Crusoe: cc, KraftCloud: kc, OpenVZ: o.openVZ, CloudMC: o.cloudMC})
	wo.Worker.WorkerStopTimeout = o.ShutdownTimeout
	wo.Pollers = pollers
	wo.MaxAsyncWaits = asyncWaits
	onReady := wo.OnReady
	wo.OnReady = func(ready bool) {
		if ready {
			log.Info("worker polling: SIGTERM or Ctrl-C stops it", "task_queue", root.TaskQueue)
		} else {
			log.Info("worker stopping: no new work; running activities get the shutdown timeout to finish", "shutdown_timeout", o.ShutdownTimeout.String())
		}
		if onReady != nil {
			onReady(ready)
		}
	}
	if err := worker.Run(ctx, s.Client(), wo); err != nil {
		return withCode(exitOther, err)
	}
	log.Info("worker stopped")
	return nil
}
