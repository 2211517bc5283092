package devserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enums "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// requireCLI returns the Temporal CLI for end-to-end tests. Only -short runs
// may go without one; a full run fails and says how to get it.
func requireCLI(t *testing.T) string {
	t.Helper()
	cli, err := FindCLI()
	if err != nil {
		if testing.Short() {
			t.Skipf("short mode, no Temporal CLI: %v", err)
		}
		t.Fatalf("this test runs the real Temporal dev server: %v", err)
	}
	return cli
}

// syncBuffer collects the server's output, written from exec's copying goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func logOutputOnFailure(t *testing.T, out *syncBuffer) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dev server output:\n%s", out.String())
		}
	})
}

func TestStartServesClientsAndStops(t *testing.T) {
	cli := requireCLI(t)
	out := &syncBuffer{}
	logOutputOnFailure(t, out)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := Start(ctx, Options{
		CLIPath:          cli,
		Namespace:        "cloudflow-test",
		UIPort:           -1,
		Output:           out,
		SearchAttributes: map[string]string{"CloudflowResource": "Keyword", "CloudflowAttempt": "Int"},
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = srv.Stop()
		}
	}()

	if host, _, _ := net.SplitHostPort(srv.Address()); host != "127.0.0.1" {
		t.Errorf("Address() = %q, want a 127.0.0.1 address", srv.Address())
	}
	if srv.UIAddress() == "" {
		t.Fatal("UIAddress() is empty with UIPort -1")
	}
	if runtime.GOOS == "linux" && srv.Exited() {
		t.Error("Exited() is true for a running server")
	}
	// Without a DBFile the state is in a scratch file, in WAL mode (the
	// pragmas reached the server), not in SQLite's memory.
	if srv.scratch == "" {
		t.Fatal("no scratch directory without a DBFile")
	}
	for _, name := range []string{"temporal.db", "temporal.db-wal"} {
		if fi, err := os.Stat(filepath.Join(srv.scratch, name)); err != nil || fi.Size() == 0 {
			t.Errorf("scratch state %s: %v, %v", name, fi, err)
		}
	}

	c, err := client.DialContext(ctx, client.Options{HostPort: srv.Address(), Namespace: "cloudflow-test", Logger: quietLogger()})
	if err != nil {
		t.Fatalf("Dial %s: %v", srv.Address(), err)
	}
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		t.Errorf("CheckHealth: %v", err)
	}
	if _, err := c.WorkflowService().DescribeNamespace(ctx, describeNamespace("cloudflow-test")); err != nil {
		t.Errorf("namespace cloudflow-test was not created: %v", err)
	}
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "cloudflow-test"})
	if err != nil {
		t.Errorf("ListSearchAttributes: %v", err)
	} else {
		for name, want := range map[string]enums.IndexedValueType{
			"CloudflowResource": enums.INDEXED_VALUE_TYPE_KEYWORD,
			"CloudflowAttempt":  enums.INDEXED_VALUE_TYPE_INT,
		} {
			got, ok := resp.GetCustomAttributes()[name]
			if !ok || got != want {
				t.Errorf("search attribute %s = %v (present %v), want %s", name, got, ok, want)
			}
		}
	}
	c.Close()

	waitHTTP200(t, "http://"+srv.UIAddress()+"/")

	stopped = true
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	for _, addr := range []string{srv.Address(), srv.UIAddress()} {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after Stop", addr)
		}
	}
	if runtime.GOOS == "linux" && !srv.Exited() {
		t.Error("Exited() is false after Stop")
	}
	if _, err := os.Stat(srv.scratch); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("scratch directory %s after Stop: %v, want it removed", srv.scratch, err)
	}
}

func TestStartPersistsToDBFile(t *testing.T) {
	cli := requireCLI(t)
	out := &syncBuffer{}
	logOutputOnFailure(t, out)
	db := filepath.Join(t.TempDir(), "temporal.db")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	first, err := Start(ctx, Options{CLIPath: cli, DBFile: db, Namespace: "persisted", Output: out})
	if err != nil {
		t.Fatalf("first Start: %v", err)
	}
	if err := first.Stop(); err != nil {
		t.Fatalf("first Stop: %v", err)
	}
	if fi, err := os.Stat(db); err != nil || fi.Size() == 0 {
		t.Fatalf("DB file after first run: %v, %v", fi, err)
	}

	second, err := Start(ctx, Options{CLIPath: cli, DBFile: db, Output: out})
	if err != nil {
		t.Fatalf("second Start: %v", err)
	}
	defer second.Stop()
	c, err := client.DialContext(ctx, client.Options{HostPort: second.Address(), Logger: quietLogger()})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if _, err := c.WorkflowService().DescribeNamespace(ctx, describeNamespace("persisted")); err != nil {
		t.Errorf("namespace from the first run is gone: %v", err)
	}
}

func quietLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func describeNamespace(name string) *workflowservice.DescribeNamespaceRequest {
	return &workflowservice.DescribeNamespaceRequest{Namespace: name}
}

func waitHTTP200(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			t.Errorf("GET %s: %v", url, err)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// fakeCLI writes an executable shell script named temporal and returns its path.
func fakeCLI(t *testing.T, dir, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("fake CLIs are shell scripts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "temporal")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStartRejectsPortInUse(t *testing.T) {
	cli := fakeCLI(t, t.TempDir(), "exit 0")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	_, err = Start(context.Background(), Options{CLIPath: cli, Port: port})
	if err == nil || !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Fatalf("Start on a taken port: err = %v, want an error naming port %d", err, port)
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	cli := fakeCLI(t, t.TempDir(), "exit 0")
	for name, opts := range map[string]Options{
		"search attribute type": {CLIPath: cli, SearchAttributes: map[string]string{"X": "String"}},
		"ui port":               {CLIPath: cli, UIPort: -2},
		"missing cli":           {CLIPath: filepath.Join(t.TempDir(), "nope")},
	} {
		if _, err := Start(context.Background(), opts); err == nil {
			t.Errorf("%s: Start succeeded, want an error", name)
		}
	}
}

func TestStartFailsFastWhenServerExits(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("exit detection reads /proc")
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	cli := fakeCLI(t, dir, `echo $$ > `+pidFile+`; echo "boom: $*" >&2; exit 3`)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the scratch state goes, and must not stay
	out := &syncBuffer{}
	start := time.Now()
	_, err := Start(context.Background(), Options{CLIPath: cli, Output: out})
	if !errors.Is(err, errExited) {
		t.Fatalf("Start: err = %v, want errExited", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("Start took %s to notice the server died", d)
	}
	if got := out.String(); !strings.Contains(got, "boom: server start-dev") {
		t.Errorf("output = %q, want the fake server's stderr with its arguments", got)
	}
	assertReaped(t, pidFile)
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("a failed start left %v in TMPDIR", left)
	}
}

func TestStartKillsServerWhenContextEnds(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("finding the process reads /proc")
	}
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	cli := fakeCLI(t, dir, "echo $$ > "+pidFile+"; while :; do sleep 0.1; done")
	port, err := reservePort("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if _, err := Start(ctx, Options{CLIPath: cli, Port: port}); err == nil {
		t.Fatal("Start succeeded against a server that never listens")
	}
	assertReaped(t, pidFile)
}

// assertReaped checks that the process whose pid the fake CLI wrote is gone:
// neither running nor a zombie.
func assertReaped(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the fake server never ran: %v", err)
	}
	pid := strings.TrimSpace(string(b))
	if _, err := os.Stat(filepath.Join("/proc", pid)); err == nil {
		stat, _ := os.ReadFile(filepath.Join("/proc", pid, "stat"))
		t.Errorf("server process %s left behind after a failed Start: %s", pid, stat)
	}
}

// fakeEnv lets findCLI see a chosen executable, directory, environment and PATH.
type fakeEnv struct {
	vars map[string]string
	exe  string
	wd   string
	path []string
}

func (f fakeEnv) Getenv(k string) string      { return f.vars[k] }
func (f fakeEnv) Executable() (string, error) { return f.exe, nil }
func (f fakeEnv) Getwd() (string, error)      { return f.wd, nil }
func (f fakeEnv) LookPath(file string) (string, error) {
	for _, dir := range f.path {
		p := filepath.Join(dir, file)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", errors.New("not on PATH")
}

func TestFindCLIPrecedence(t *testing.T) {
	root := t.TempDir()
	exeDir := filepath.Join(root, "install", "bin")
	module := filepath.Join(root, "module")
	wd := filepath.Join(module, "internal", "pkg")
	pathDir := filepath.Join(root, "path")
	envCLI := fakeCLI(t, filepath.Join(root, "env"), "")
	nextToExe := fakeCLI(t, exeDir, "")
	inModule := fakeCLI(t, filepath.Join(module, "bin"), "")
	onPath := fakeCLI(t, pathDir, "")
	if err := os.MkdirAll(wd, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(module, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := fakeEnv{
		vars: map[string]string{"TEMPORAL_CLI": envCLI},
		exe:  filepath.Join(exeDir, "cloudflow"),
		wd:   wd,
		path: []string{pathDir},
	}

	steps := []struct {
		want   string
		remove func()
	}{
		{envCLI, func() { delete(e.vars, "TEMPORAL_CLI") }},
		{nextToExe, func() { os.Remove(nextToExe) }},
		{inModule, func() { os.Remove(inModule) }},
		{onPath, func() { os.Remove(onPath) }},
	}
	for _, s := range steps {
		got, err := findCLI(e)
		if err != nil || got != s.want {
			t.Fatalf("findCLI = %q, %v; want %q", got, err, s.want)
		}
		s.remove()
	}
	_, err := findCLI(e)
	if !errors.Is(err, ErrCLINotFound) || !strings.Contains(err.Error(), "make bin/temporal") ||
		!strings.Contains(err.Error(), "github.com/temporalio/cli/cmd/temporal@v1.5.1") {
		t.Errorf("findCLI with nothing installed: err = %v, want ErrCLINotFound with the install hint", err)
	}
}

func TestFindCLIWorkingDirectory(t *testing.T) {
	root := t.TempDir()
	// A parent without go.mod is not a module root: its bin/temporal is ignored.
	fakeCLI(t, filepath.Join(root, "bin"), "")
	wd := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(wd, 0o755); err != nil {
		t.Fatal(err)
	}
	e := fakeEnv{vars: map[string]string{}, exe: filepath.Join(root, "elsewhere", "x"), wd: wd}
	if got, err := findCLI(e); err == nil {
		t.Errorf("findCLI = %q, want none: %s has no go.mod", got, root)
	}
	// The working directory's own bin/temporal counts.
	inWD := fakeCLI(t, filepath.Join(wd, "bin"), "")
	if got, err := findCLI(e); err != nil || got != inWD {
		t.Errorf("findCLI = %q, %v; want %q", got, err, inWD)
	}
}

func TestFindCLISkipsNonExecutables(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no exec bit on Windows")
	}
	root := t.TempDir()
	notExec := filepath.Join(root, "bin", "temporal")
	if err := os.MkdirAll(filepath.Dir(notExec), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(notExec, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	onPath := fakeCLI(t, filepath.Join(root, "path"), "")
	e := fakeEnv{vars: map[string]string{}, exe: filepath.Join(root, "x", "y"), wd: root, path: []string{filepath.Dir(onPath)}}
	if got, err := findCLI(e); err != nil || got != onPath {
		t.Errorf("findCLI = %q, %v; want %q (the non-executable bin/temporal skipped)", got, err, onPath)
	}

	e.vars["TEMPORAL_CLI"] = notExec
	if _, err := findCLI(e); err == nil || !strings.Contains(err.Error(), "not executable") {
		t.Errorf("TEMPORAL_CLI naming a non-executable: err = %v, want an error", err)
	}
}

// TestFindCLIProcessEnvironment drives the exported FindCLI through the real
// environment: TEMPORAL_CLI, the working directory and PATH.
func TestFindCLIProcessEnvironment(t *testing.T) {
	root := t.TempDir()
	pathDir := filepath.Join(root, "path")
	onPath := fakeCLI(t, pathDir, "")
	envCLI := fakeCLI(t, filepath.Join(root, "env"), "")
	t.Chdir(root) // no go.mod here or, in a temp dir, above
	t.Setenv("PATH", pathDir)

	t.Setenv("TEMPORAL_CLI", envCLI)
	if got, err := FindCLI(); err != nil || got != envCLI {
		t.Errorf("with TEMPORAL_CLI: FindCLI = %q, %v; want %q", got, err, envCLI)
	}

	t.Setenv("TEMPORAL_CLI", filepath.Join(root, "missing"))
	if _, err := FindCLI(); err == nil || !strings.Contains(err.Error(), "TEMPORAL_CLI") || !strings.Contains(err.Error(), "make bin/temporal") {
		t.Errorf("with TEMPORAL_CLI missing: err = %v, want an error naming TEMPORAL_CLI and the fix", err)
	}

	t.Setenv("TEMPORAL_CLI", "")
	if got, err := FindCLI(); err != nil || got != onPath {
		t.Errorf("from PATH: FindCLI = %q, %v; want %q", got, err, onPath)
	}

	t.Setenv("PATH", filepath.Join(root, "empty"))
	if got, err := FindCLI(); !errors.Is(err, ErrCLINotFound) {
		t.Errorf("with nothing installed: FindCLI = %q, %v; want ErrCLINotFound", got, err)
	}
}

func TestDialable(t *testing.T) {
	for in, want := range map[string]string{
		"0.0.0.0:7233":   "127.0.0.1:7233",
		"[::]:7233":      "[::1]:7233",
		"127.0.0.1:7233": "127.0.0.1:7233",
		"10.0.0.5:7233":  "10.0.0.5:7233",
	} {
		if got := dialable(in); got != want {
			t.Errorf("dialable(%q) = %q, want %q", in, got, want)
		}
	}
}
