package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/clients/openvz"
	"github.com/cloudflow/cloudflow/cloudsim"
)

// defaultSimListen is where the simulator listens unless told otherwise.
const defaultSimListen = "127.0.0.1:8787"

// crusoeAPIPath and kraftCloudAPIPath are the APIs' prefixes under the
// simulator's URL.
const (
	crusoeAPIPath     = "/v1alpha5"
	kraftCloudAPIPath = "/v1"
	openVZAPIPath     = "/v0.1" // the OpenVZ container API
	cloudMCAPIPath    = cloudmc.APIPath
)

type simOptions struct {
	Listen           string
	AllowRemote      bool
	OperationLatency time.Duration
	Faults           []string
	AccessKeyID      string
	SecretKey        string
	ProjectID        string
	KraftCloudToken  string
}

func newSimCmd(f *factory) *cobra.Command {
	opts := &simOptions{}
	cmd := &cobra.Command{
		Use:   "sim [--listen ADDR] [--operation-latency DURATION] [--fault SPEC]...",
		Short: "Serve the cloud simulator until Ctrl-C",
		Long: heredoc(`
			Serve the local cloud simulator, held in memory: the Crusoe Cloud
			v1alpha5 API (paths, bodies, errors, request signatures, asynchronous
			operations) under /v1alpha5, and the KraftCloud v1 API (batch calls with
			per-item results, instance states, server-side waits, bearer tokens)
			under /v1. Point a worker at it with the environment it prints.

			It listens on loopback only: its admin endpoints (/_sim/: reset, faults,
			inventory) take no credentials. --allow-remote lets --listen name an
			address other machines reach; it then prints that address and warns.

			--fault injects failures, in the form action:METHOD:path[:key=value,...]
			where action is error, fail-operation, drop-response or delay; path may
			use * for one segment and ** for any number; keys are status, code,
			message, retry-after, delay, times, skip, rate, seed, cloud and item.
			rate=0.1 (or 10%) applies the fault to one matching request in ten,
			drawn from a generator seeded with seed (picked and printed when not
			given), so a run can be repeated.`),
		Example: examples(`
			$ cloudflow sim
			$ cloudflow sim --operation-latency 5s \
			    --fault 'fail-operation:POST:/v1alpha5/projects/*/compute/vms/instances:code=INTERNAL,message=no capacity'
			$ cloudflow sim --fault 'error:GET:/v1alpha5/**:status=503,retry-after=2s,times=3'
			$ cloudflow sim --fault 'fail-operation:*:/v1alpha5/**:rate=0.1,seed=42'`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			simOpts, err := opts.options()
			if err != nil {
				return err
			}
			ctx, stop := f.NotifyContext(cmd.Context())
			defer stop()
			running, err := cloudsim.Start(opts.Listen, simOpts)
			if err != nil {
				return withCode(exitOther, err)
			}
			defer running.Close()

			out := f.IO.Out
			fmt.Fprintf(out, "Cloud simulator listening on %s\n", boundText(running))
			warnIfRemote(f.IO.ErrOut, running)
			fmt.Fprintf(out, "  Crusoe Cloud API: %s%s (%s)\n", running.URL, crusoeAPIPath, latencyText(opts.OperationLatency))
			fmt.Fprintf(out, "  KraftCloud API:   %s%s\n", running.URL, kraftCloudAPIPath)
			fmt.Fprintf(out, "  Container API: %s%s (%s)\n", running.URL, openVZAPIPath, strings.Replace(latencyText(opts.OperationLatency), "operations", "jobs", 1))
			fmt.Fprintf(out, "  CloudMC API: %s%s (%s)\n", running.URL, cloudMCAPIPath, strings.Replace(latencyText(opts.OperationLatency), "operations", "tasks", 1))
			for _, fl := range running.Server.Faults() {
				fmt.Fprintf(out, "  fault: %s %s %s%s\n", fl.Action, orAny(fl.Method), fl.Path, faultRateText(fl))
			}
			fmt.Fprintln(out, "\nA worker reaches it with:")
			writeCrusoeEnv(out, running.URL, simOpts.Crusoe, opts.SecretKey != "")
			writeKraftCloudEnv(out, running.URL, opts.KraftCloudToken != "")
			writeOpenVZEnv(out, running.URL)
			writeCloudMCEnv(out, running.URL, simOpts.CloudMC)
			fmt.Fprintln(out, "\nPress Ctrl-C to stop.")
			<-ctx.Done()
			fmt.Fprintln(f.IO.ErrOut, "Stopping the simulator.")
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Listen, "listen", defaultSimListen, "`address` to listen on, on this machine (port 0 picks a free one)")
	fl.BoolVar(&opts.AllowRemote, "allow-remote", false, "let --listen be an address other machines reach (the admin endpoints take no credentials)")
	fl.DurationVar(&opts.OperationLatency, "operation-latency", 2*time.Second, "how long each asynchronous cloud operation takes (0: at once)")
	fl.StringArrayVar(&opts.Faults, "fault", nil, "inject a failure described by `spec`, action:METHOD:path[:options] (repeatable)")
	fl.StringVar(&opts.AccessKeyID, "access-key-id", "", "Crusoe access key `ID` the simulator accepts (default: its public dev key)")
	fl.StringVar(&opts.SecretKey, "secret-key", "", "Crusoe secret `key` the simulator accepts (default: its public dev secret)")
	fl.StringVar(&opts.ProjectID, "project-id", "", "Crusoe project `ID` the simulator serves (default: its dev project)")
	fl.StringVar(&opts.KraftCloudToken, "kraftcloud-token", "", "KraftCloud API `token` the simulator accepts (default: its public dev token)")
	cmd.AddCommand(newSimInventoryCmd(f), newSimSeedCmd(f), newSimFaultCmd(f))
	return cmd
}

func (o *simOptions) options() (cloudsim.Options, error) {
	if o.OperationLatency < 0 {
		return cloudsim.Options{}, usageErrorf("--operation-latency must not be negative")
	}
	if err := simListen.check(o.Listen, o.AllowRemote); err != nil {
		return cloudsim.Options{}, err
	}
	latency := o.OperationLatency
	if latency == 0 {
		latency = -1 // the simulator reads 0 as its default; negative means at once
	}
	so := cloudsim.Options{Crusoe: cloudsim.CrusoeOptions{
		AccessKeyID:      orDefault(o.AccessKeyID, cloudsim.DefaultCrusoeAccessKeyID),
		SecretKey:        orDefault(o.SecretKey, cloudsim.DefaultCrusoeSecretKey),
		ProjectID:        orDefault(o.ProjectID, cloudsim.DefaultCrusoeProjectID),
		OperationLatency: latency,
	}, KraftCloud: cloudsim.KraftCloudOptions{
		Token: orDefault(o.KraftCloudToken, cloudsim.DefaultKraftCloudToken),
	}}
	so.OpenVZ = cloudsim.OpenVZOptions{Latency: latency} // container jobs take --operation-latency too
	// CloudMC tasks take --operation-latency too.
	so.CloudMC = cloudsim.CloudMCOptions{APIKey: cloudsim.DefaultCloudMCAPIKey, Latency: latency}
	for _, s := range o.Faults {
		fault, err := cloudsim.ParseFault(s)
		if err != nil {
			return cloudsim.Options{}, usageErrorf("--fault: %v", err)
		}
		so.Faults = append(so.Faults, fault)
	}
	return so, nil
}

// simListen: the simulator's admin endpoints (/_sim/: reset, faults,
// inventory) take no credentials, so anyone who reaches the port can drive it.
var simListen = listenPolicy{
	example:  defaultSimListen,
	exposure: "the simulator, whose admin endpoints take no credentials",
	remote:   "add --allow-remote if that is what you want",
}

// listenPolicy says, for one server, what a --listen beyond loopback would
// expose and what --allow-remote is for.
type listenPolicy struct {
	example  string // a loopback address to suggest
	exposure string // what other machines would reach
	remote   string // how to mean it, with --allow-remote
}

// check refuses an address beyond loopback unless allowRemote. An empty
// host (":8787") is every interface; a host name counts as loopback only
// when every address it resolves to is.
func (p listenPolicy) check(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageErrorf("--listen %q: want host:port, e.g. %s", addr, p.example)
	}
	if allowRemote {
		return nil
	}
	loopback, err := isLoopback(host)
	if err != nil {
		return usageErrorf("--listen %q: %v", addr, err)
	}
	if !loopback {
		return usageErrorf("--listen %s would let other machines reach %s; listen on loopback (e.g. %s), or %s", addr, p.exposure, p.example, p.remote)
	}
	return nil
}

func isLoopback(host string) (bool, error) {
	if host == "" {
		return false, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.IsLoopback(), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return false, fmt.Errorf("cannot resolve %q: %w", host, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return false, nil
		}
	}
	return len(ips) > 0, nil
}

// boundText is where a running simulator listens: its URL on loopback, else
// the address it is bound to and the URL this machine reaches it at.
func boundText(r *cloudsim.Running) string {
	tcp, ok := r.Addr.(*net.TCPAddr)
	switch {
	case !ok || tcp.IP.IsLoopback():
		return r.URL
	case tcp.IP.IsUnspecified():
		return fmt.Sprintf("%s, every interface (from this machine: %s)", r.Addr, r.URL)
	}
	return fmt.Sprintf("%s (bound to %s)", r.URL, r.Addr)
}

// warnIfRemote warns, on w, that other machines can reach the simulator.
func warnIfRemote(w io.Writer, r *cloudsim.Running) {
	if tcp, ok := r.Addr.(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		fmt.Fprintf(w, "warning: the simulator listens on %s, beyond this machine: anyone who reaches it can reset it, inject faults and read its inventory (/_sim/ takes no credentials)\n", r.Addr)
	}
}

// writeCrusoeEnv prints the environment a worker needs to use the simulator.
// The default secret is the simulator's public dev key, so printing it is
// fine; a secret the user chose is not echoed.
func writeCrusoeEnv(w io.Writer, url string, c cloudsim.CrusoeOptions, secretGiven bool) {
	fmt.Fprintf(w, "  export %s=%s%s\n", crusoe.EnvAPIEndpoint, url, crusoeAPIPath)
	fmt.Fprintf(w, "  export %s=%s\n", crusoe.EnvAccessKeyID, c.AccessKeyID)
	if secretGiven {
		fmt.Fprintf(w, "  export %s=<the --secret-key you passed>\n", crusoe.EnvSecretKey)
	} else {
		fmt.Fprintf(w, "  export %s=%s   # the simulator's public default, not a real secret\n", crusoe.EnvSecretKey, c.SecretKey)
	}
	fmt.Fprintf(w, "  export %s=%s\n", crusoe.EnvProjectID, c.ProjectID)
}

// writeKraftCloudEnv prints the environment a worker needs for the
// simulator's KraftCloud API.
func writeKraftCloudEnv(w io.Writer, url string, tokenGiven bool) {
	fmt.Fprintf(w, "  export %s=%s%s\n", kraftcloud.EnvAPIEndpoint, url, kraftCloudAPIPath)
	if tokenGiven {
		fmt.Fprintf(w, "  export %s=<the --kraftcloud-token you passed>\n", kraftcloud.EnvToken)
	} else {
		fmt.Fprintf(w, "  export %s=%s   # the simulator's public default, not a real secret\n", kraftcloud.EnvToken, cloudsim.DefaultKraftCloudToken)
	}
}

// writeOpenVZEnv prints the environment a worker needs for the simulator's
// container API, which has no credentials.
func writeOpenVZEnv(w io.Writer, url string) {
	fmt.Fprintf(w, "  export %s=%s%s\n", openvz.EnvAPIEndpoint, url, openVZAPIPath)
}

// writeCloudMCEnv prints the environment a worker needs for the simulator's
// CloudMC API. The key is the simulator's public default, not a secret.
func writeCloudMCEnv(w io.Writer, url string, c cloudsim.CloudMCOptions) {
	fmt.Fprintf(w, "  export %s=%s%s\n", cloudmc.EnvAPIEndpoint, url, cloudMCAPIPath)
	fmt.Fprintf(w, "  export %s=%s   # the simulator's public default, not a real secret\n", cloudmc.EnvAPIKey, orDefault(c.APIKey, cloudsim.DefaultCloudMCAPIKey))
	fmt.Fprintf(w, "  export %s=%s\n", cloudmc.EnvServiceCode, orDefault(c.ServiceCode, cloudsim.DefaultCloudMCServiceCode))
	fmt.Fprintf(w, "  export %s=%s\n", cloudmc.EnvEnvironment, orDefault(c.Environment, cloudsim.DefaultCloudMCEnvironment))
}

// faultRateText tells how often a fault applies, with the seed that repeats
// its draws.
func faultRateText(fl cloudsim.Fault) string {
	if fl.Rate == 0 {
		return ""
	}
	return fmt.Sprintf(" (rate %g, seed %d)", fl.Rate, fl.Seed)
}

func latencyText(d time.Duration) string {
	if d == 0 {
		return "operations complete at once"
	}
	return "operations take " + d.String()
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func orAny(method string) string {
	if method == "" {
		return "*"
	}
	return method
}

// envSimURL is the running simulator's base URL, as `cloudflow dev`
// prints it: every command that talks to a running simulator reads it.
const envSimURL = "CLOUDSIM_URL"

// simEndpoint is the --endpoint flag of the commands that talk to a
// running simulator.
type simEndpoint struct{ Endpoint string }

func (e *simEndpoint) addEndpointFlag(fl *pflag.FlagSet) {
	fl.StringVar(&e.Endpoint, "endpoint", "", "the simulator's base `URL` (default: $"+envSimURL+", else http://"+defaultSimListen+")")
}

// url is --endpoint, else $CLOUDSIM_URL, else the default address; one
// that is not an http(s) URL is bad usage, naming where it came from.
func (e *simEndpoint) url() (string, error) {
	u, from := e.Endpoint, "--endpoint"
	if u == "" {
		u, from = os.Getenv(envSimURL), "$"+envSimURL
	}
	if u == "" {
		return "http://" + defaultSimListen, nil
	}
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return "", usageErrorf("%s %q: want the simulator's base URL, e.g. http://%s", from, u, defaultSimListen)
	}
	return strings.TrimRight(u, "/"), nil
}

// admin is a client of the simulator's admin endpoints.
func (e *simEndpoint) admin() (*cloudsim.AdminClient, error) {
	u, err := e.url()
	if err != nil {
		return nil, err
	}
	return &cloudsim.AdminClient{BaseURL: u}, nil
}

// call runs fn against the simulator's admin endpoints, within a deadline.
// An error fn did not give an exit code means the simulator could not be
// reached (exit 4, with the hint).
func (e *simEndpoint) call(ctx context.Context, fn func(ctx context.Context, admin *cloudsim.AdminClient) error) error {
	admin, err := e.admin()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = fn(ctx, admin)
	var ee *exitError
	if err == nil || errors.As(err, &ee) {
		return err
	}
	return simUnreachable(err)
}

// simUnreachable is an error talking to the simulator, with the hint.
func simUnreachable(err error) error {
	return withCode(exitOther, fmt.Errorf("%w\nIs the simulator running? Start it with `cloudflow sim` or `cloudflow dev`, and point at it with --endpoint or $%s", err, envSimURL))
}

type simInventoryOptions struct {
	simEndpoint
	ExpectEmpty bool
	JSON        bool
}

func newSimInventoryCmd(f *factory) *cobra.Command {
	opts := &simInventoryOptions{}
	cmd := &cobra.Command{
		Use:   "inventory [--endpoint URL] [--expect-empty] [--json]",
		Short: "List the resources clients created in a running simulator",
		Long: heredoc(`
			List the resources clients created in a running simulator (seeded
			fixtures such as the default network are left out).

			--expect-empty makes the command fail (exit status 1) when anything is
			left, naming it: a check that a deprovision or a compensation cleaned up.`),
		Example: examples(`
			$ cloudflow sim inventory
			$ cloudflow sim inventory --expect-empty
			$ CLOUDSIM_URL=http://127.0.0.1:9000 cloudflow sim inventory --json`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var inv cloudsim.Inventory
			if err := opts.call(cmd.Context(), func(ctx context.Context, admin *cloudsim.AdminClient) (err error) {
				inv, err = admin.Inventory(ctx)
				return err
			}); err != nil {
				return err
			}
			rows := inventoryRows(inv)
			switch {
			case opts.JSON:
				if err := printJSON(f.IO.Out, inv); err != nil {
					return err
				}
			case len(rows) == 0:
				fmt.Fprintln(f.IO.Out, "No resources.")
			default:
				writeInventory(f.IO.Out, rows)
			}
			if opts.ExpectEmpty && !inv.Empty() {
				names := make([]string, len(rows))
				for i, r := range rows {
					names[i] = fmt.Sprintf("%s %s %s", r.Cloud, r.Kind, orDefault(r.Name, orDefault(r.ID, "(unnamed)")))
				}
				return withCode(exitFailed, fmt.Errorf("expected no resources, found %d: %s", len(rows), strings.Join(names, ", ")))
			}
			return nil
		},
	}
	opts.addEndpointFlag(cmd.Flags())
	cmd.Flags().BoolVar(&opts.ExpectEmpty, "expect-empty", false, "exit 1, naming them, if any resources are left")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}
