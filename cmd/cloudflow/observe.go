package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/pflag"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"golang.org/x/term"

	"github.com/cloudflow/cloudflow/clients/apicall"
	"github.com/cloudflow/cloudflow/internal/telemetry"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/worker"
)

// observeFlags are how a process that runs a worker (cloudflow worker,
// cloudflow dev) is observed: its logs, its metrics and health endpoints.
// Their names are fixed: deployment files use them.
type observeFlags struct {
	MetricsListen string
	LogFormat     string
	LogLevel      string
}

func (o *observeFlags) add(fl *pflag.FlagSet, defaultLevel string) {
	fl.StringVar(&o.MetricsListen, "metrics-listen", "", "serve /metrics, /healthz and /readyz on this `address` (e.g. :9090; port 0 picks a free one; default: off)")
	fl.StringVar(&o.LogFormat, "log-format", telemetry.FormatAuto, "log `format`: json, text, or auto (text on a terminal, json otherwise)")
	fl.StringVar(&o.LogLevel, "log-level", defaultLevel, "log `level`: debug, info, warn or error")
}

func (o *observeFlags) validate() error {
	if err := telemetry.CheckFormat(o.LogFormat); err != nil {
		return usageErrorf("--log-format: %v", err)
	}
	if _, err := telemetry.ParseLevel(o.LogLevel); err != nil {
		return usageErrorf("--log-level: %v", err)
	}
	return nil
}

// secretEnv names the variables whose values the logs never show, besides
// the credentials a worker loads from files.
var secretEnv = []string{
	"CRUSOE_SECRET_KEY", "KRAFTCLOUD_TOKEN", "UKC_TOKEN", "CLOUDMC_API_KEY",
	"TEMPORAL_API_KEY", "CLOUDFLOW_PAYLOAD_KEY",
}

// observer is a process's telemetry: its logger, its metrics and their
// server (with --metrics-listen) and its trace export (when the OTEL_*
// variables ask for one).
type observer struct {
	flags   *observeFlags
	res     *resource.Resource
	log     *slog.Logger
	metrics *telemetry.Metrics // nil without --metrics-listen
	server  *telemetry.Server  // nil until start, and without --metrics-listen
	tracing *telemetry.Tracing // nil until start
}

// newObserver makes the metrics, when --metrics-listen asks for them, so
// that the cloud clients can be built to report to them (apiObserver);
// start does the rest once the credentials are loaded.
func newObserver(ctx context.Context, o *observeFlags, service string) (*observer, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	res, err := telemetry.Resource(ctx, service)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	obs := &observer{flags: o, res: res, log: slog.New(slog.DiscardHandler), tracing: &telemetry.Tracing{}}
	if o.MetricsListen != "" {
		obs.metrics, err = telemetry.NewMetrics(res, func(err error) { obs.log.Warn("metrics: " + err.Error()) })
		if err != nil {
			return nil, withCode(exitOther, err)
		}
	}
	return obs, nil
}

// start logs to w, never showing secrets (nor the values of secretEnv),
// starts the trace export, and serves the metrics at once, so that /healthz
// answers while the worker connects and /readyz says "starting".
func (obs *observer) start(ctx context.Context, w io.Writer, secrets []string) error {
	level, _ := telemetry.ParseLevel(obs.flags.LogLevel) // checked by validate
	for _, name := range secretEnv {
		secrets = append(secrets, os.Getenv(name))
	}
	logger, err := telemetry.NewLogger(w, telemetry.LoggerOptions{Format: obs.flags.LogFormat, Level: level, Terminal: isTerminal(w), Secrets: secrets})
	if err != nil {
		return usageErrorf("--log-format: %v", err)
	}
	obs.log = logger
	if obs.tracing, err = telemetry.StartTracing(ctx, obs.res, logger); err != nil {
		obs.tracing = &telemetry.Tracing{}
		return withCode(exitUsage, err)
	}
	if obs.tracing.Enabled() {
		service, _ := obs.res.Set().Value("service.name")
		logger.Info("exporting traces over OTLP", "service", service.AsString())
	}
	if obs.metrics == nil {
		return nil
	}
	if obs.server, err = telemetry.Listen(obs.flags.MetricsListen, obs.metrics.Handler()); err != nil {
		obs.close()
		return usageErrorf("--metrics-listen %s: %v", obs.flags.MetricsListen, err)
	}
	// Logged once bound, so that port 0 can be found.
	logger.Info("serving /metrics, /healthz and /readyz", "addr", obs.server.Addr())
	return nil
}

// apiObserver is the clients' observer: the API-call metrics, or nil.
func (obs *observer) apiObserver() apicall.Observer {
	if obs.metrics == nil {
		return nil
	}
	return obs.metrics.APICall
}

// starterOptions adds the SDK's logger, metrics and tracing to o.
func (obs *observer) starterOptions(o starter.Options) (starter.Options, error) {
	o.Logger = sdklog.NewStructuredLogger(obs.log)
	if obs.metrics != nil {
		o.MetricsHandler = obs.metrics.SDKHandler()
	}
	ics, err := obs.tracing.Interceptors()
	if err != nil {
		return o, err
	}
	o.Interceptors = append(o.Interceptors, ics...)
	return o, nil
}

// workerOptions adds the wait metrics and the readiness of c's worker to o.
func (obs *observer) workerOptions(c client.Client, o worker.Options) worker.Options {
	if obs.metrics != nil {
		o.Metrics = obs.metrics
	}
	if obs.server != nil {
		o.OnReady = func(ready bool) {
			if !ready {
				obs.server.SetNotReady("stopping")
				return
			}
			obs.server.SetReady(func(ctx context.Context) error {
				if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
					return fmt.Errorf("temporal: %w", err)
				}
				return nil
			})
		}
	}
	return o
}

// close flushes the traces and stops the server, each within a few seconds.
func (obs *observer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := obs.tracing.Shutdown(ctx); err != nil {
		obs.log.Warn(err.Error())
	}
	if obs.server != nil {
		_ = obs.server.Shutdown(ctx)
	}
	if obs.metrics != nil {
		_ = obs.metrics.Shutdown(ctx)
	}
}

// isTerminal says whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// dialCLI connects the CLI to Temporal: dialStarter, with the client's
// spans exported as service cloudflow-cli when the OTEL_* variables ask for
// it (flushed by Close).
func dialCLI(o starter.Options, logOut io.Writer) (runner, error) {
	if !telemetry.TracingConfigured(os.Getenv) {
		s, err := dialStarter(o, logOut, slog.LevelWarn)
		if err != nil {
			return nil, err // not a runner holding a nil *Starter
		}
		return starterRunner{s}, nil
	}
	ctx := context.Background()
	res, err := telemetry.Resource(ctx, telemetry.ServiceCLI)
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	tracing, err := telemetry.StartTracing(ctx, res, logger)
	if err != nil {
		return nil, err
	}
	ics, err := tracing.Interceptors()
	if err == nil {
		o.Interceptors = append(o.Interceptors, ics...)
		var s *starter.Starter
		if s, err = dialStarter(o, logOut, slog.LevelWarn); err == nil {
			return &tracedRunner{starterRunner: starterRunner{s}, tracing: tracing, log: logger}, nil
		}
	}
	_ = tracing.Shutdown(ctx)
	return nil, err
}

// tracedRunner flushes the CLI's spans when it is closed.
type tracedRunner struct {
	starterRunner
	tracing *telemetry.Tracing
	log     *slog.Logger
}

func (r *tracedRunner) Close() {
	r.Starter.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.tracing.Shutdown(ctx); err != nil {
		r.log.Warn(err.Error())
	}
}
