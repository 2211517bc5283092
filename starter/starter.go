// Package starter starts, watches, cancels and lists cloudflow workflows with
// typed inputs and results; the CLI and other Go services use it.
package starter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/cloudflow/cloudflow/codec"
	"github.com/cloudflow/cloudflow/internal/input"
	"github.com/cloudflow/cloudflow/workflows"
)

// Options says how to reach Temporal. Empty fields fall back to the Temporal
// environment configuration (TEMPORAL_* variables and the config file's
// profile), then to the SDK defaults (localhost:7233, namespace "default").
type Options struct {
	HostPort   string
	Namespace  string
	Profile    string
	ConfigFile string
	// TaskQueue defaults to workflows.TaskQueue.
	TaskQueue string
	// Logger receives the SDK's log records; nil means warnings and errors on
	// stderr (never stdout, which may carry --json output).
	Logger log.Logger
	// MetricsHandler receives the SDK's metrics (a worker's, for /metrics);
	// nil means none.
	MetricsHandler client.MetricsHandler
	// Interceptors are added to the client's, and so to the workers built
	// on it: the OpenTelemetry tracing interceptor when traces are exported.
	Interceptors []interceptor.ClientInterceptor
}

// Starter starts and observes cloudflow workflows.
type Starter struct {
	c         client.Client
	taskQueue string
	// namespace is the namespace Dial connected to; empty for New.
	namespace string
	owned     bool
	logger    log.Logger
	// noSearchAttributes is set once the server refused them.
	noSearchAttributes bool
}

// ClientOptions resolves opts into Temporal client options using envconfig.
func ClientOptions(opts Options) (client.Options, error) {
	req := envconfig.LoadClientOptionsRequest{
		ConfigFileProfile: opts.Profile,
		ConfigFilePath:    opts.ConfigFile,
	}
	if err := readConfigFile(&req); err != nil {
		return client.Options{}, err
	}
	co, err := envconfig.LoadClientOptions(req)
	if err != nil {
		return client.Options{}, fmt.Errorf("temporal configuration: %w", err)
	}
	if opts.HostPort != "" {
		co.HostPort = opts.HostPort
	}
	// The payload codec: on when CLOUDFLOW_PAYLOAD_KEY is set, for payloads
	// and failures alike. The CLI, the worker and other services all come
	// through here, so they agree on it.
	pc, err := codec.FromEnv(os.Getenv)
	if err != nil {
		return client.Options{}, err
	}
	if pc != nil {
		codec.Apply(&co, pc)
	}
	if opts.Logger != nil {
		co.Logger = opts.Logger
	}
	if co.Logger == nil {
		// The SDK logs every connection at INFO otherwise; a CLI wants quiet.
		co.Logger = log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	}
	if opts.Namespace != "" {
		co.Namespace = opts.Namespace
	}
	if opts.MetricsHandler != nil {
		co.MetricsHandler = opts.MetricsHandler
	}
	co.Interceptors = append(co.Interceptors, opts.Interceptors...)
	return co, nil
}

// maxConfigFile bounds the Temporal configuration file: a few profiles of
// TOML, never megabytes.
const maxConfigFile = 1 << 20

// readConfigFile reads the configuration file envconfig would read (the
// path given, $TEMPORAL_CONFIG_FILE, or the standard location) with a cap,
// and hands envconfig its bytes, so that a path to something endless (a
// device, a pipe, a huge file) stops at the cap instead of filling memory.
// A file that cannot be read is left for envconfig to report, or to skip
// when it does not exist.
func readConfigFile(req *envconfig.LoadClientOptionsRequest) error {
	path := req.ConfigFilePath
	if path == "" {
		path = os.Getenv("TEMPORAL_CONFIG_FILE")
	}
	if path == "" {
		path = envconfig.DefaultConfigFilePath()
	}
	if path == "" {
		return nil
	}
	data, err := input.ReadFile(path, nil, "Temporal configuration file "+path, maxConfigFile)
	switch {
	case input.IsTooLarge(err):
		return err
	case err != nil || len(data) == 0:
		return nil
	}
	req.ConfigFilePath, req.ConfigFileData = "", data
	return nil
}

// Dial connects to Temporal.
func Dial(opts Options) (*Starter, error) {
	co, err := ClientOptions(opts)
	if err != nil {
		return nil, err
	}
	c, err := client.Dial(co)
	if err != nil {
		addr := co.HostPort
		if addr == "" {
			addr = client.DefaultHostPort
		}
		return nil, fmt.Errorf("connect to Temporal at %s: %w", addr, err)
	}
	s := New(c, opts.TaskQueue)
	s.owned = true
	s.logger = co.Logger
	s.namespace = co.Namespace
	if s.namespace == "" {
		s.namespace = client.DefaultNamespace
	}
	return s, nil
}

// New wraps an existing client; Close then leaves it open.
func New(c client.Client, taskQueue string) *Starter {
	if taskQueue == "" {
		taskQueue = workflows.TaskQueue
	}
	return &Starter{c: c, taskQueue: taskQueue}
}

func (s *Starter) warn(msg string, keyvals ...any) {
	if s.logger != nil {
		s.logger.Warn(msg, keyvals...)
	}
}

// Client is the underlying Temporal client.
func (s *Starter) Client() client.Client { return s.c }

// Namespace is the namespace Dial connected to, as the options and the
// environment configuration resolved it (links to the Temporal UI name
// it); empty for a Starter made with New, whose client does not say.
func (s *Starter) Namespace() string { return s.namespace }

// Close closes the client if Dial made it.
func (s *Starter) Close() {
	if s.owned {
		s.c.Close()
	}
}

// Run identifies one started workflow execution.
type Run struct {
	WorkflowID string `json:"workflowId"`
	RunID      string `json:"runId"`
	Workflow   string `json:"workflow"`
}

// AlreadyRunningError means a run for the same resource is in progress; two
// runs acting on one resource at once would race, so the second is refused.
type AlreadyRunningError struct{ WorkflowID string }

func (e *AlreadyRunningError) Error() string {
	return fmt.Sprintf("workflow %s is already running; watch it with `cloudflow runs watch %s`", e.WorkflowID, e.WorkflowID)
}

// Progress asks a run for its progress.
func (s *Starter) Progress(ctx context.Context, workflowID, runID string) (workflows.Progress, error) {
	return queryProgress[workflows.Progress](ctx, s, workflowID, runID)
}

// FleetProgress asks a fleet run (StartInstances, StopInstances) for its
// progress. With an empty runID it asks the fleet's latest run, which is the
// one doing the work after a continue-as-new.
func (s *Starter) FleetProgress(ctx context.Context, workflowID, runID string) (workflows.FleetProgress, error) {
	return queryProgress[workflows.FleetProgress](ctx, s, workflowID, runID)
}

func queryProgress[T any](ctx context.Context, s *Starter, workflowID, runID string) (T, error) {
	var p T
	v, err := s.c.QueryWorkflow(ctx, workflowID, runID, workflows.ProgressQuery)
	if err != nil {
		return p, fmt.Errorf("query progress of %s: %w", workflowID, err)
	}
	if err := v.Get(&p); err != nil {
		return p, fmt.Errorf("decode progress of %s: %w", workflowID, err)
	}
	return p, nil
}

// Watch calls fn with the run's progress every time it changes, until the run
// closes (fn then sees the final progress) or ctx ends.
func (s *Starter) Watch(ctx context.Context, workflowID, runID string, every time.Duration, fn func(workflows.Progress)) error {
	return watch(ctx, s, workflowID, runID, every, fn)
}

// WatchFleet is Watch for fleet runs. Pass an empty runID to follow the fleet
// across continue-as-new: it ends when the last run closes.
func (s *Starter) WatchFleet(ctx context.Context, workflowID, runID string, every time.Duration, fn func(workflows.FleetProgress)) error {
	return watch(ctx, s, workflowID, runID, every, fn)
}

func watch[T any](ctx context.Context, s *Starter, workflowID, runID string, every time.Duration, fn func(T)) error {
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	var last *T
	report := func() {
		p, err := queryProgress[T](ctx, s, workflowID, runID)
		if err != nil {
			return // a run that is between tasks or just closed answers later
		}
		if last == nil || !reflect.DeepEqual(*last, p) {
			last = &p
			fn(p)
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		report()
		info, err := s.Describe(ctx, workflowID, runID)
		if err != nil {
			return err
		}
		switch {
		case info.Status == "ContinuedAsNew":
			// The work goes on in a new run: follow the latest one.
			runID = ""
			continue
		case info.Closed():
			report()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// RunError is a run that did not complete successfully.
type RunError struct {
	WorkflowID string
	// Status is "Failed", "Canceled", "Terminated" or "TimedOut".
	Status  string
	Message string
	// FailedStep names the step that failed, when the workflow reported one.
	FailedStep string
	cause      error
}

func (e *RunError) Error() string {
	msg := fmt.Sprintf("workflow %s %s", e.WorkflowID, lower(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

func (e *RunError) Unwrap() error { return e.cause }

func lower(s string) string {
	switch s {
	case "TimedOut":
		return "timed out"
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Result waits for the run to close and decodes its result into valuePtr. A
// run that did not succeed returns a *RunError; when its failure carries
// details of valuePtr's type (ProvisionVM attaches its partial result) they
// are decoded into valuePtr too.
func (s *Starter) Result(ctx context.Context, workflowID, runID string, valuePtr any) error {
	err := s.c.GetWorkflow(ctx, workflowID, runID).Get(ctx, valuePtr)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	re := &RunError{WorkflowID: workflowID, Status: "Failed", Message: err.Error(), cause: err}
	var canceled *temporal.CanceledError
	var terminated *temporal.TerminatedError
	var timeout *temporal.TimeoutError
	var app *temporal.ApplicationError
	switch {
	case errors.As(err, &canceled):
		re.Status, re.Message = "Canceled", ""
		if canceled.HasDetails() && valuePtr != nil {
			_ = canceled.Details(valuePtr)
		}
	case errors.As(err, &terminated):
		re.Status, re.Message = "Terminated", ""
	case errors.As(err, &timeout) && isWorkflowTimeout(err):
		re.Status, re.Message = "TimedOut", ""
	}
	if errors.As(err, &app) {
		re.Message = app.Message()
		if app.HasDetails() && valuePtr != nil {
			_ = app.Details(valuePtr)
		}
	}
	if fs, ok := valuePtr.(interface{ FailedStepName() string }); ok {
		re.FailedStep = fs.FailedStepName()
	}
	return re
}

func isWorkflowTimeout(err error) bool {
	var we *temporal.WorkflowExecutionError
	if !errors.As(err, &we) {
		return false
	}
	var te *temporal.TimeoutError
	return errors.As(errors.Unwrap(we), &te)
}

// Cancel requests cancellation; the workflow then undoes what it made.
func (s *Starter) Cancel(ctx context.Context, workflowID, runID string) error {
	if err := s.c.CancelWorkflow(ctx, workflowID, runID); err != nil {
		return fmt.Errorf("cancel %s: %w", workflowID, err)
	}
	return nil
}
