// Package devserver runs the official Temporal development server (the Temporal
// CLI's `temporal server start-dev`) as a child process, for `cloudflow dev` and
// end-to-end tests.
package devserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
)

// CLIVersion is the Temporal CLI release the project pins. Later releases carry a
// replace directive in their go.mod and cannot be installed with `go install`.
const CLIVersion = "v1.5.1"

// InstallHint says how to get a Temporal CLI binary.
const InstallHint = "run `make bin/temporal` (it runs `go install github.com/temporalio/cli/cmd/temporal@" +
	CLIVersion + "`), put `temporal` on PATH, or set TEMPORAL_CLI to its path"

// ErrCLINotFound is returned (wrapped) by FindCLI when no temporal binary is found.
var ErrCLINotFound = errors.New("temporal CLI not found")

// stopGrace is how long Stop waits for the server to exit after SIGINT before
// it kills the process.
const stopGrace = 30 * time.Second

// FindCLI locates the temporal binary. In order of precedence:
//
//  1. $TEMPORAL_CLI, if set (an error if it does not name an executable file);
//  2. temporal next to the running executable (bin/temporal beside bin/cloudflow);
//  3. bin/temporal under the current directory, or under any parent directory
//     that holds a go.mod (the module root, when run from a package directory);
//  4. temporal on PATH.
func FindCLI() (string, error) {
	return findCLI(osEnv{})
}

// env is what findCLI reads from the process environment, so tests can fake
// the parts they cannot control (the running executable).
type env interface {
	Getenv(key string) string
	Executable() (string, error)
	Getwd() (string, error)
	LookPath(file string) (string, error)
}

type osEnv struct{}

func (osEnv) Getenv(key string) string             { return os.Getenv(key) }
func (osEnv) Executable() (string, error)          { return os.Executable() }
func (osEnv) Getwd() (string, error)               { return os.Getwd() }
func (osEnv) LookPath(file string) (string, error) { return exec.LookPath(file) }

func findCLI(e env) (string, error) {
	if p := e.Getenv("TEMPORAL_CLI"); p != "" {
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("TEMPORAL_CLI=%q: %w; unset it or %s", p, err, InstallHint)
		}
		return absPath(p), nil
	}
	if exe, err := e.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(exe), "temporal"); checkExecutable(p) == nil {
			return p, nil
		}
	}
	if wd, err := e.Getwd(); err == nil {
		for dir := wd; ; {
			if dir == wd || isFile(filepath.Join(dir, "go.mod")) {
				if p := filepath.Join(dir, "bin", "temporal"); checkExecutable(p) == nil {
					return p, nil
				}
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if p, err := e.LookPath("temporal"); err == nil {
		return absPath(p), nil
	}
	return "", fmt.Errorf("%w: %s", ErrCLINotFound, InstallHint)
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New("is a directory")
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return errors.New("is not executable")
	}
	return nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// Options configures Start. The zero value runs a headless server on a free
// loopback port whose state lasts as long as the server (see DBFile).
type Options struct {
	// CLIPath is the temporal binary; "" means FindCLI.
	CLIPath string
	// IP is the address the frontend binds; default 127.0.0.1.
	IP string
	// Port is the frontend gRPC port; 0 picks a free port.
	Port int
	// UIPort is the Web UI port: 0 disables the UI, -1 picks a free port.
	UIPort int
	// DBFile is the SQLite file that persists state. "" keeps the state in a
	// scratch file in a new temporary directory, which Stop removes: not in
	// SQLite's memory, which the server of the pinned CLI can lose for good
	// under load (scratchPragmas says how).
	DBFile string
	// Namespace is created at start ("default" always exists); default "default".
	Namespace string
	// LogLevel is the server's log level (debug, info, warn, error, never); default "error".
	LogLevel string
	// Output receives the server's stdout and stderr; nil discards them.
	Output io.Writer
	// SearchAttributes maps name to type (Text, Keyword, Int, Double, Bool,
	// Datetime, KeywordList); each is registered at start.
	SearchAttributes map[string]string
}

// searchAttributeTypes are the types `temporal server start-dev --search-attribute` accepts.
var searchAttributeTypes = []string{"Text", "Keyword", "Int", "Double", "Bool", "Datetime", "KeywordList"}

// Server is a running dev server. Stop it when done.
type Server struct {
	dev       *testsuite.DevServer
	address   string
	uiAddress string
	namespace string
	pid       int    // best effort (Linux): lets Stop kill a server that ignores SIGINT
	scratch   string // the temporary directory holding the scratch DB, or ""

	stopOnce sync.Once
	stopErr  error
}

// Address is the frontend's host:port, for client.Options.HostPort.
func (s *Server) Address() string { return s.address }

// UIAddress is the Web UI's host:port, or "" when the UI is disabled.
func (s *Server) UIAddress() string { return s.uiAddress }

// Namespace is the namespace the server was started with.
func (s *Server) Namespace() string { return s.namespace }

// PID is the server process's ID, or 0 when it could not be found (off
// Linux), for benchmarks that measure its CPU.
func (s *Server) PID() int { return s.pid }

// Exited reports whether the server process has exited (or is a zombie);
// false when its process could not be found (off Linux).
func (s *Server) Exited() bool { return s.pid > 0 && procExited(s.pid) }

// Stop interrupts the server and waits for it to exit, killing it if it has not
// exited after a grace period. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		done := make(chan error, 1)
		go func() { done <- s.dev.Stop() }()
		select {
		case err := <-done:
			s.stopErr = err
		case <-time.After(stopGrace):
			if s.pid > 0 {
				if p, err := os.FindProcess(s.pid); err == nil {
					_ = p.Kill()
				}
			}
			err := <-done
			s.stopErr = fmt.Errorf("temporal dev server did not exit within %s of SIGINT and was killed: %v", stopGrace, err)
		}
		switch {
		case errors.Is(s.stopErr, os.ErrProcessDone):
			// It had already exited and the SDK did not wait for it: reap it.
			if s.pid > 0 {
				killAndReap(s.pid)
			}
			s.stopErr = nil
		case s.stopErr != nil:
			s.stopErr = fmt.Errorf("stopping temporal dev server: %w", s.stopErr)
		}
		if s.scratch != "" {
			if err := os.RemoveAll(s.scratch); err != nil && s.stopErr == nil {
				s.stopErr = fmt.Errorf("removing the dev server's scratch state: %w", err)
			}
		}
	})
	return s.stopErr
}

// scratchPragmas tune the scratch DB for speed over durability: it is thrown
// away with the server, so a commit need not wait for the disk.
//
// Why a file at all: the server in the pinned CLI (Temporal 1.29 on
// modernc.org/sqlite 1.34) holds an in-memory database on its one pooled
// connection, and database/sql discards that connection when a query is
// interrupted by a cancelled context; the database goes with it, and the
// server answers "namespace not found" or not at all from then on
// (temporalio/temporal#8017, fixed upstream in modernc.org/sqlite 1.51). A
// file outlives its connection.
var scratchPragmas = []string{"journal_mode=wal", "synchronous=off"}

// Start runs `temporal server start-dev` and returns once its frontend accepts
// connections. ctx bounds the start only, not the server's life.
func Start(ctx context.Context, opts Options) (*Server, error) {
	cli := opts.CLIPath
	if cli == "" {
		var err error
		if cli, err = FindCLI(); err != nil {
			return nil, err
		}
	} else if err := checkExecutable(cli); err != nil {
		return nil, fmt.Errorf("temporal CLI %q: %w", cli, err)
	}

	ip := opts.IP
	if ip == "" {
		ip = "127.0.0.1"
	}
	ns := opts.Namespace
	if ns == "" {
		ns = "default"
	}
	logLevel := opts.LogLevel
	if logLevel == "" {
		logLevel = "error"
	}
	out := opts.Output
	if out == nil {
		out = io.Discard
	}

	port, err := reservePort(ip, opts.Port)
	if err != nil {
		if opts.Port == 0 {
			return nil, fmt.Errorf("temporal frontend: no free port on %s: %w", ip, err)
		}
		return nil, fmt.Errorf("temporal frontend port %d on %s is not free (another dev server?): %w; stop what holds it or pick another port", opts.Port, ip, err)
	}
	var uiPort int
	switch {
	case opts.UIPort == -1:
		if uiPort, err = reservePort(ip, 0); err != nil {
			return nil, fmt.Errorf("temporal UI port: %w", err)
		}
	case opts.UIPort > 0:
		if uiPort, err = reservePort(ip, opts.UIPort); err != nil {
			return nil, fmt.Errorf("temporal UI port %d on %s is not free (another dev server?): %w; stop what holds it or pick another port", opts.UIPort, ip, err)
		}
	case opts.UIPort < -1:
		return nil, fmt.Errorf("invalid UIPort %d: use 0 (no UI), -1 (a free port) or a port number", opts.UIPort)
	}

	// Eager activity execution: an activity a workflow task schedules comes
	// back in the answer to that task, for the worker that completed it,
	// instead of going through the task queue. It saves a round trip and
	// a good share of the server's work per activity (BENCHMARKS.md); the
	// SDK asks for it by default, and the server must allow it.
	extra := []string{"--dynamic-config-value", "system.enableActivityEagerExecution=true"}
	for _, name := range slices.Sorted(maps.Keys(opts.SearchAttributes)) {
		if typ := opts.SearchAttributes[name]; !slices.Contains(searchAttributeTypes, typ) {
			return nil, fmt.Errorf("search attribute %q: type %q is not one of %s", name, typ, strings.Join(searchAttributeTypes, ", "))
		}
		extra = append(extra, "--search-attribute", name+"="+opts.SearchAttributes[name])
	}

	dbFile, scratch := opts.DBFile, ""
	if dbFile == "" {
		if scratch, err = os.MkdirTemp("", "cloudflow-temporal-"); err != nil {
			return nil, fmt.Errorf("temporal dev server: scratch state: %w", err)
		}
		dbFile = filepath.Join(scratch, "temporal.db")
		for _, p := range scratchPragmas {
			extra = append(extra, "--sqlite-pragma", p)
		}
	}
	removeScratch := func() {
		if scratch != "" {
			_ = os.RemoveAll(scratch)
		}
	}

	hostPort := net.JoinHostPort(ip, strconv.Itoa(port))
	devOpts := testsuite.DevServerOptions{
		ExistingPath: cli,
		ClientOptions: &client.Options{
			HostPort:  hostPort,
			Namespace: ns,
			Logger:    sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelWarn}))),
		},
		DBFilename: dbFile,
		EnableUI:   uiPort != 0,
		LogLevel:   logLevel,
		ExtraArgs:  extra,
		Stdout:     out,
		Stderr:     out,
	}
	if uiPort != 0 {
		devOpts.UIPort = strconv.Itoa(uiPort)
	}

	// StartDevServer keeps dialling for a minute even when the process has
	// already died (a bad flag, a port taken), so watch the process and give up
	// as soon as it exits.
	startCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watchDone := make(chan int, 1)
	go func() { watchDone <- watchStart(startCtx, cancel, cli, port) }()

	dev, err := testsuite.StartDevServer(startCtx, devOpts)
	cancel(nil)
	pid := <-watchDone
	if err != nil {
		if cause := context.Cause(startCtx); cause != nil && !errors.Is(cause, context.Canceled) {
			err = cause
		}
		// StartDevServer neither stops nor reaps the process when it gives up.
		if pid == 0 {
			pid, _ = findServerProc(cli, port)
		}
		if pid > 0 {
			killAndReap(pid)
		}
		removeScratch()
		return nil, fmt.Errorf("starting temporal dev server (%s): %w", cli, err)
	}
	// The client StartDevServer dialled proved the server is up; nothing else needs it.
	dev.Client().Close()

	s := &Server{
		dev:       dev,
		address:   dialable(hostPort),
		namespace: ns,
		pid:       pid,
		scratch:   scratch,
	}
	if uiPort != 0 {
		s.uiAddress = dialable(net.JoinHostPort(ip, strconv.Itoa(uiPort)))
	}
	return s, nil
}

// reservePort returns port if it is free on ip, or a free port when port is 0.
// Checking first matters: were the port taken by another Temporal server, the
// readiness check would connect to that one and report success.
func reservePort(ip string, port int) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return 0, err
	}
	p := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, err
	}
	return p, nil
}

// dialable turns a wildcard bind address into a loopback one clients can dial.
func dialable(hostPort string) string {
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil {
		return hostPort
	}
	switch host {
	case "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

func killAndReap(pid int) {
	p, err := os.FindProcess(pid)
	if err != nil {
		return
	}
	_ = p.Kill()
	_, _ = p.Wait()
}

// errExited is the cause set when the dev server dies before it is ready.
var errExited = errors.New("temporal dev server exited before it was ready (its output, if not discarded, says why)")

// watchStart polls for the dev server process until ctx ends, and cancels the
// start with errExited if the process dies. It returns the pid it found, or 0.
func watchStart(ctx context.Context, cancel context.CancelCauseFunc, cli string, port int) int {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	pid := 0
	for {
		var dead bool
		if pid == 0 {
			pid, dead = findServerProc(cli, port)
		} else {
			dead = procExited(pid)
		}
		if dead {
			cancel(errExited)
			return pid
		}
		select {
		case <-ctx.Done():
			return pid
		case <-t.C:
		}
	}
}

// findServerProc finds the dev server among this process's children by its
// command line, because testsuite.DevServer does not expose its process, and
// reports whether it has exited (a zombie: nothing reaps it until Stop). It
// reads /proc, so off Linux it finds nothing (0, false).
func findServerProc(cli string, port int) (pid int, exited bool) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	self := strconv.Itoa(os.Getpid())
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(stat[i+1:]))
		if len(fields) < 2 || fields[1] != self {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if fields[0] == "Z" {
			// A zombie's cmdline is empty, so match on comm: this catches a
			// server that died before the first poll saw it alive.
			if bytes.Contains(stat[:i+1], []byte("("+truncComm(filepath.Base(cli))+")")) {
				return pid, true
			}
			continue
		}
		// argv[0] is the binary; for a script, argv is the interpreter, then the script.
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if slices.Contains(args[:min(2, len(args))], cli) && hasArgPair(args, "--port", strconv.Itoa(port)) {
			return pid, false
		}
	}
	return 0, false
}

// procExited reports whether pid is gone or a zombie.
func procExited(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	i := bytes.LastIndexByte(stat, ')')
	fields := strings.Fields(string(stat[i+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

// truncComm mirrors the kernel's 15-byte limit on a process's comm.
func truncComm(name string) string {
	if len(name) > 15 {
		return name[:15]
	}
	return name
}

func hasArgPair(args []string, name, value string) bool {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == name && args[i+1] == value {
			return true
		}
	}
	return false
}
