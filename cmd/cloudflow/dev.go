package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/clients/openvz"
	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/internal/devserver"
	"github.com/cloudflow/cloudflow/internal/telemetry"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/worker"
	"github.com/cloudflow/cloudflow/workflows"
)

type devOptions struct {
	TemporalPort     int
	UIPort           int
	SimListen        string
	AllowRemote      bool
	OperationLatency time.Duration
	Faults           []string
	DBFile           string
	ReadyFile        string
	Verbose          bool
	observe          observeFlags

	metricsAddr string // where /metrics is served, once it is
}

func newDevCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &devOptions{}
	cmd := &cobra.Command{
		Use:   "dev [--temporal-port 7233] [--ui-port 8233] [--sim-listen ADDR] [--ready-file PATH]",
		Short: "Run Temporal, the cloud simulator and a worker locally until Ctrl-C",
		Long: heredoc(`
			Run a complete local environment in one process: the Temporal dev
			server (the pinned Temporal CLI), the cloud simulator, and a worker
			whose Crusoe client points at the simulator with its default
			credentials. It prints the addresses and the environment other shells
			need, and stops everything on Ctrl-C.

			--ready-file is written, as KEY=value lines, once everything is up, and
			removed on the way out: scripts wait for it to appear.`),
		Example: examples(`
			$ cloudflow dev
			$ cloudflow dev --temporal-port 0 --ui-port 0 --sim-listen 127.0.0.1:0 --ready-file /tmp/cloudflow.env`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return opts.run(cmd, f, root)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&opts.TemporalPort, "temporal-port", 7233, "Temporal frontend `port` (0 picks a free one)")
	fl.IntVar(&opts.UIPort, "ui-port", 8233, "Temporal Web UI `port` (0 turns the UI off, -1 picks a free one)")
	fl.StringVar(&opts.SimListen, "sim-listen", defaultSimListen, "`address` the cloud simulator listens on, on this machine (port 0 picks a free one)")
	fl.BoolVar(&opts.AllowRemote, "allow-remote", false, "let --sim-listen be an address other machines reach (the simulator's admin endpoints take no credentials)")
	fl.DurationVar(&opts.OperationLatency, "operation-latency", 2*time.Second, "how long each simulated cloud operation takes (0: at once)")
	fl.StringArrayVar(&opts.Faults, "fault", nil, "inject a failure into the simulator; `spec` as for cloudflow sim --fault (repeatable)")
	fl.StringVar(&opts.DBFile, "db-file", "", "SQLite `file` that keeps Temporal's state across restarts (default: a scratch file, removed when dev stops)")
	fl.StringVar(&opts.ReadyFile, "ready-file", "", "write the environment to this `file` once everything is up")
	fl.BoolVarP(&opts.Verbose, "verbose", "v", false, "show the Temporal dev server's own output")
	opts.observe.add(fl, "warn")
	return cmd
}

func (o *devOptions) validate() error {
	if o.TemporalPort < 0 || o.TemporalPort > 65535 {
		return usageErrorf("--temporal-port must be a port from 0 to 65535, not %d", o.TemporalPort)
	}
	if o.UIPort < -1 || o.UIPort > 65535 {
		return usageErrorf("--ui-port must be a port from 1 to 65535, 0 (no UI) or -1 (any free port), not %d", o.UIPort)
	}
	if o.TemporalPort != 0 && o.TemporalPort == o.UIPort {
		return usageErrorf("--temporal-port and --ui-port must differ")
	}
	return nil
}

func (o *devOptions) run(cmd *cobra.Command, f *factory, root *rootOptions) (err error) {
	if err := o.validate(); err != nil {
		return err
	}
	simFlags := &simOptions{Listen: o.SimListen, AllowRemote: o.AllowRemote, OperationLatency: o.OperationLatency, Faults: o.Faults}
	simOpts, err := simFlags.options()
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			err = usageErrorf("%s", strings.NewReplacer("--listen", "--sim-listen").Replace(ee.err.Error()))
		}
		return err
	}
	ctx, stop := f.NotifyContext(cmd.Context())
	defer stop()
	errOut := f.IO.ErrOut
	obs, err := newObserver(ctx, &o.observe, telemetry.ServiceWorker)
	if err != nil {
		return err
	}

	// Everything started is stopped in reverse order, however we leave.
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()

	fmt.Fprintln(errOut, "Starting the Temporal dev server...")
	var serverOut io.Writer
	if o.Verbose {
		serverOut = errOut
	}
	dev, err := devserver.Start(ctx, devserver.Options{Port: o.TemporalPort, UIPort: o.UIPort, DBFile: o.DBFile, Output: serverOut, SearchAttributes: starter.SearchAttributeTypes})
	if err != nil {
		if ctx.Err() != nil {
			return withCode(exitOther, errors.New("interrupted before everything was up"))
		}
		return withCode(exitOther, err)
	}
	cleanups = append(cleanups, func() {
		fmt.Fprintln(errOut, "Stopping the Temporal dev server...")
		if err := dev.Stop(); err != nil {
			fmt.Fprintln(errOut, "warning: "+err.Error())
		}
	})

	sim, err := cloudsim.Start(o.SimListen, simOpts)
	if err != nil {
		return withCode(exitOther, err)
	}
	cleanups = append(cleanups, func() {
		fmt.Fprintln(errOut, "Stopping the cloud simulator...")
		_ = sim.Close()
	})
	warnIfRemote(errOut, sim)

	apiObserver := obs.apiObserver()
	cc, err := crusoe.NewFromConfig(crusoe.Config{
		Endpoint:    sim.URL + crusoeAPIPath,
		AccessKeyID: simOpts.Crusoe.AccessKeyID,
		SecretKey:   simOpts.Crusoe.SecretKey,
		ProjectID:   simOpts.Crusoe.ProjectID,
	}, crusoe.WithObserver(apiObserver))
	if err != nil {
		return withCode(exitOther, err)
	}
	kc, err := kraftcloud.New(kraftcloud.WithBaseURL(sim.URL+kraftCloudAPIPath), kraftcloud.WithToken(simOpts.KraftCloud.Token), kraftcloud.WithObserver(apiObserver))
	if err != nil {
		return withCode(exitOther, err)
	}
	ovz, err := openvz.New(openvz.WithBaseURL(sim.URL+openVZAPIPath), openvz.WithObserver(apiObserver))
	if err != nil {
		return withCode(exitOther, err)
	}
	cmc, err := cloudmc.New(cloudmc.WithBaseURL(sim.URL+cloudMCAPIPath), cloudmc.WithAPIKey(cloudsim.DefaultCloudMCAPIKey),
		cloudmc.WithEnvironment(cloudsim.DefaultCloudMCServiceCode, cloudsim.DefaultCloudMCEnvironment), cloudmc.WithObserver(apiObserver))
	if err != nil {
		return withCode(exitOther, err)
	}
	// The simulator's credentials are public defaults: nothing to redact.
	if err := obs.start(ctx, errOut, nil); err != nil {
		return err
	}
	cleanups = append(cleanups, obs.close)
	if obs.server != nil {
		o.metricsAddr = obs.server.Addr()
	}
	// The worker talks to this dev server only, whatever profile the flags name.
	so, err := obs.starterOptions(starter.Options{HostPort: dev.Address(), Namespace: dev.Namespace(), TaskQueue: root.TaskQueue})
	if err != nil {
		return withCode(exitUsage, err)
	}
	s, err := starter.Dial(so)
	if err != nil {
		return withCode(exitOther, err)
	}
	cleanups = append(cleanups, s.Close)

	workerCtx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan error, 1)
	wo := obs.workerOptions(s.Client(), worker.Options{TaskQueue: root.TaskQueue, Crusoe: cc, KraftCloud: kc, OpenVZ: ovz, CloudMC: cmc})
	go func() {
		workerDone <- worker.Run(workerCtx, s.Client(), wo)
	}()
	cleanups = append(cleanups, func() {
		fmt.Fprintln(errOut, "Stopping the worker...")
		stopWorker()
		<-workerDone
	})

	env := devEnv(dev, sim.URL, simOpts.Crusoe, root.TaskQueue)
	o.printReady(f.IO.Out, dev, sim, env, root.TaskQueue)
	if o.ReadyFile != "" {
		if err := writeReadyFile(o.ReadyFile, env); err != nil {
			return withCode(exitOther, err)
		}
		cleanups = append(cleanups, func() { _ = os.Remove(o.ReadyFile) })
	}

	select {
	case <-ctx.Done():
		fmt.Fprintln(errOut, "\nShutting down.")
		return nil
	case err := <-workerDone:
		workerDone <- err // for the cleanup that waits on it
		if err == nil {
			err = errors.New("the worker stopped on its own")
		}
		return withCode(exitOther, fmt.Errorf("worker: %w", err))
	}
}

// devEnv is the environment other shells need, in order: the task queue
// too when it is not the default.
func devEnv(dev *devserver.Server, simURL string, c cloudsim.CrusoeOptions, taskQueue string) [][2]string {
	env := [][2]string{
		{"TEMPORAL_ADDRESS", dev.Address()},
		{"TEMPORAL_NAMESPACE", dev.Namespace()},
	}
	if taskQueue != workflows.TaskQueue {
		env = append(env, [2]string{envTaskQueue, taskQueue})
	}
	if dev.UIAddress() != "" {
		env = append(env, [2]string{"TEMPORAL_UI_URL", "http://" + dev.UIAddress()})
	}
	return append(env,
		[2]string{"CLOUDSIM_URL", simURL},
		[2]string{crusoe.EnvAPIEndpoint, simURL + crusoeAPIPath},
		[2]string{crusoe.EnvAccessKeyID, c.AccessKeyID},
		[2]string{crusoe.EnvSecretKey, c.SecretKey}, // the simulator's public default
		[2]string{crusoe.EnvProjectID, c.ProjectID},
		[2]string{kraftcloud.EnvAPIEndpoint, simURL + kraftCloudAPIPath},
		[2]string{kraftcloud.EnvToken, cloudsim.DefaultKraftCloudToken}, // the simulator's public default
		[2]string{openvz.EnvAPIEndpoint, simURL + openVZAPIPath},
		[2]string{cloudmc.EnvAPIEndpoint, simURL + cloudMCAPIPath},
		[2]string{cloudmc.EnvAPIKey, cloudsim.DefaultCloudMCAPIKey}, // the simulator's public default
		[2]string{cloudmc.EnvServiceCode, cloudsim.DefaultCloudMCServiceCode},
		[2]string{cloudmc.EnvEnvironment, cloudsim.DefaultCloudMCEnvironment},
	)
}

func (o *devOptions) printReady(w io.Writer, dev *devserver.Server, sim *cloudsim.Running, env [][2]string, taskQueue string) {
	fmt.Fprintln(w, "cloudflow dev is up.")
	tw := newTable(w)
	fmt.Fprintf(tw, "  Temporal:\t%s (namespace %s)\n", dev.Address(), dev.Namespace())
	if dev.UIAddress() != "" {
		fmt.Fprintf(tw, "  Web UI:\thttp://%s\n", dev.UIAddress())
	}
	fmt.Fprintf(tw, "  Simulator:\t%s (Crusoe Cloud %s, %s; KraftCloud %s; container API %s; CloudMC %s)\n", boundText(sim), crusoeAPIPath, latencyText(o.OperationLatency), kraftCloudAPIPath, openVZAPIPath, cloudMCAPIPath)
	fmt.Fprintf(tw, "  Worker:\tpolling task queue %q\n", taskQueue)
	if o.metricsAddr != "" {
		fmt.Fprintf(tw, "  Metrics:\thttp://%s/metrics (and /healthz, /readyz)\n", o.metricsAddr)
	}
	_ = tw.Flush()
	if o.ReadyFile != "" {
		fmt.Fprintf(w, "  Ready file: %s\n", o.ReadyFile)
	}
	fmt.Fprintln(w, "\nIn another shell:")
	for _, kv := range env {
		if kv[0] == crusoe.EnvSecretKey || kv[0] == kraftcloud.EnvToken || kv[0] == cloudmc.EnvAPIKey {
			fmt.Fprintf(w, "  export %s=%s   # the simulator's public default, not a real secret\n", kv[0], kv[1])
			continue
		}
		fmt.Fprintf(w, "  export %s=%s\n", kv[0], kv[1])
	}
	fmt.Fprintln(w, "  cloudflow vm provision -f examples/crusoe-vm.yaml --wait")
	fmt.Fprintln(w, "  cloudflow vm provision -f examples/cloudmc-vm.yaml --wait")
	fmt.Fprintln(w, "  cloudflow instances deploy -f examples/kraftcloud-app.yaml --wait")
	fmt.Fprintln(w, "  cloudflow container create -f examples/container.yaml --wait")
	fmt.Fprintln(w, "  cloudflow sim inventory")
	fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
}

// writeReadyFile writes the environment atomically, so a script that sees the
// file sees all of it.
func writeReadyFile(path string, env [][2]string) error {
	var b strings.Builder
	for _, kv := range env {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cloudflow-ready-*")
	if err != nil {
		return fmt.Errorf("ready file: %w", err)
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("ready file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("ready file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("ready file: %w", err)
	}
	return nil
}
