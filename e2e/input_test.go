package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// feedSize is how much each input is offered: far more than any cap.
const feedSize = 300 << 20

// Limits the CLI must keep to, whatever it is fed.
const (
	maxRSS     = 100 << 20 // bytes of memory, at its peak
	maxSeconds = 10        // to refuse the input
	// killRSS stops a CLI that reads without a cap before it takes the
	// machine down with it.
	killRSS = 256 << 20
)

// feed writes pattern over and over to w, feedSize bytes in all, until w
// refuses more (the CLI closed its end); it returns how much went in.
func feed(w io.Writer, pattern string) int64 {
	buf := []byte(strings.Repeat(pattern, (64<<10)/len(pattern)+1)[:64<<10])
	var n int64
	for n < feedSize {
		k, err := w.Write(buf[:min(int64(len(buf)), feedSize-n)])
		n += int64(k)
		if err != nil {
			break
		}
	}
	return n
}

// fifo makes a named pipe at path and feeds it pattern from a goroutine, as
// a 300 MB file would read, with nothing of that size in memory or on disk.
// The feeding stops when the CLI closes the pipe, or at the end of the test.
func fifo(t *testing.T, path, pattern string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		w, err := os.OpenFile(path, os.O_WRONLY, 0) // blocks until the CLI opens it
		if err != nil {
			return
		}
		defer w.Close()
		feed(w, pattern)
	}()
	t.Cleanup(func() {
		// A CLI that never opened the pipe leaves the writer waiting: open
		// it for reading, so that the writer gets in and then out.
		if r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
			_ = r.Close()
		}
		<-done
	})
}

// runFed runs the CLI binary with args, standard input fed pattern when it
// is not empty, under GOMEMLIMIT, and returns its exit code, stderr, how
// long it took and its peak memory. A CLI whose memory passes killRSS is
// killed and reported so.
func runFed(t *testing.T, stdinPattern string, args ...string) (code int, stderr string, took time.Duration, peakRSS int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rssFile := filepath.Join(t.TempDir(), "peakrss")
	cmd := exec.CommandContext(ctx, peakRSSBinary(t), append([]string{cliBinary}, args...)...)
	cmd.Env = append(os.Environ(), crusoeEnv()...)
	cmd.Env = append(cmd.Env, "GOMEMLIMIT=64MiB", "PEAKRSS_OUT="+rssFile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &errOut
	var stdin io.WriteCloser
	if stdinPattern != "" {
		var err error
		if stdin, err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var fed atomic.Int64
	if stdin != nil {
		go func() {
			fed.Store(feed(stdin, stdinPattern))
			_ = stdin.Close()
		}()
	}
	var killed atomic.Bool
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
			if rss := treeRSS(cmd.Process.Pid); rss > killRSS {
				killed.Store(true)
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // peakrss and the CLI
				return
			}
		}
	}()
	err := cmd.Wait()
	took = time.Since(start)
	cancel()
	<-watchDone
	var ee *exec.ExitError
	switch {
	case killed.Load():
		t.Fatalf("%v: killed with more than %d MiB of memory after %s (stdin fed %d bytes)", args, killRSS>>20, took, fed.Load())
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%v: %v", args, err)
	}
	if b, err := os.ReadFile(rssFile); err == nil {
		peakRSS, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	return code, errOut.String(), took, peakRSS
}

var (
	peakRSSOnce sync.Once
	peakRSSPath string
	peakRSSErr  error
)

// peakRSSBinary builds e2e/internal/peakrss once: the CLI runs under it, so
// that the peak memory read back is the CLI's own and not the test
// binary's, which Linux would carry into a child started from it.
func peakRSSBinary(t *testing.T) string {
	t.Helper()
	peakRSSOnce.Do(func() {
		peakRSSPath = filepath.Join(filepath.Dir(cliBinary), "peakrss")
		out, err := exec.Command("go", "build", "-o", peakRSSPath, "./internal/peakrss").CombinedOutput()
		if err != nil {
			peakRSSErr = fmt.Errorf("build peakrss: %v\n%s", err, out)
		}
	})
	if peakRSSErr != nil {
		t.Fatal(peakRSSErr)
	}
	return peakRSSPath
}

// treeRSS is the resident memory of process pid and its descendants.
func treeRSS(pid int) int64 {
	total := currentRSS(pid)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return total
	}
	for _, f := range strings.Fields(string(b)) {
		if child, err := strconv.Atoi(f); err == nil {
			total += treeRSS(child)
		}
	}
	return total
}

// currentRSS is the resident memory of process pid, 0 when it is gone.
func currentRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Every input the CLI reads, fed 300 MB through a file (a named pipe) or
// standard input, is refused with exit 2 in seconds, naming the input, and
// the CLI never holds 100 MB. Before, a 20 MB fleet file took 1.76 GB and
// 300 MB on --file - grew the CLI until the kernel killed it.
func TestEveryInputIsCappedAt300MB(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the CLI binary")
	}
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	spec := func(name, script string) string {
		p := path(name)
		src := "provider: crusoe\nvm:\n  name: fed\n  type: c1a.2x\n  location: us-northcentral1-a\n" +
			"  sshPublicKey: \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILwzAx+dSGF28fpgWXlDr1SQDgY1cdAAYPhlFCNEwF4i e2e@cloudflow\"\n" +
			"  startupScriptFile: " + script + "\n"
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		fifo  string // a named pipe to make and feed, when set
		fed   string // what the pipe or stdin is fed, over and over
		stdin bool
		args  []string
		want  string
	}{
		{"spec -f FILE", path("vm.yaml"), "# padding\n", false,
			[]string{"vm", "provision", "-f", path("vm.yaml")}, "spec " + path("vm.yaml") + " is larger than 1 MiB"},
		{"spec -f -", "", "provider: crusoe\n", true,
			[]string{"vm", "provision", "-f", "-"}, "spec on standard input is larger than 1 MiB"},
		{"KraftCloud spec -f -", "", "#", true,
			[]string{"instances", "deploy", "-f", "-"}, "spec on standard input is larger than 1 MiB"},
		{"container spec -f FILE", path("ct.yaml"), "x", false,
			[]string{"container", "create", "-f", path("ct.yaml")}, "spec " + path("ct.yaml") + " is larger than 1 MiB"},
		{"startup script a spec names", path("boot.sh"), "echo hello\n", false,
			[]string{"vm", "provision", "-f", spec("script.yaml", path("boot.sh"))}, `vm.startupScriptFile: "` + path("boot.sh") + `" is larger than 1 MiB`},
		{"fleet --file FILE", path("fleet.txt"), "# a comment\n", false,
			[]string{"instances", "start", "--provider", "kraftcloud", "--file", path("fleet.txt")}, "--file " + path("fleet.txt") + " is larger than 4 MiB"},
		{"fleet --file -", "", "\n", true,
			[]string{"instances", "stop", "--provider", "crusoe", "--file", "-"}, "--file - (standard input) is larger than 4 MiB"},
		{"fleet --file - of names", "", "web-1\n", true,
			[]string{"instances", "start", "--provider", "kraftcloud", "--file", "-"}, "--file - (standard input) lists more than 20000 instances"},
		{"--ledger FILE", path("ledger.json"), "[", false,
			[]string{"disks", "snapshot", "--vm", "web", "--retention", "1d", "--ledger", path("ledger.json")}, "--ledger " + path("ledger.json") + " is larger than 4 MiB"},
		{"--ledger -", "", `{"ledger": [`, true,
			[]string{"disks", "snapshot", "--vm", "web", "--retention", "1d", "--ledger", "-"}, "--ledger standard input is larger than 4 MiB"},
		{"--ssh-public-key-file", path("id.pub"), "ssh-ed25519 AAAA", false,
			[]string{"vm", "bulk-create", "--name-prefix", "b", "--count", "2", "--type", "t", "--location", "l", "--ssh-public-key-file", path("id.pub")},
			"--ssh-public-key-file " + path("id.pub") + " is larger than 16 KiB"},
		{"--config-file", path("temporal.toml"), "# toml\n", false,
			[]string{"runs", "list", "--config-file", path("temporal.toml")}, "Temporal configuration file " + path("temporal.toml") + " is larger than 1 MiB"},
		{"schedule of a fleet on --file -", "", "\n", true,
			[]string{"schedule", "create", "fed", "--every", "1h", "--", "instances", "stop", "--provider", "crusoe", "--file", "-"}, "--file - (standard input) is larger than 4 MiB"},
		{"plan of a spec on -f -", "", "provider: crusoe\n", true,
			[]string{"plan", "-f", "-"}, "spec on standard input is larger than 1 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fifo != "" {
				fifo(t, tc.fifo, tc.fed)
			}
			stdin := ""
			if tc.stdin {
				stdin = tc.fed
			}
			code, stderr, took, rss := runFed(t, stdin, tc.args...)
			t.Logf("exit %d in %s, peak RSS %.1f MiB", code, took.Round(time.Millisecond), float64(rss)/(1<<20))
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want 2 with %q; stderr:\n%s", code, tc.want, stderr)
			}
			if took > maxSeconds*time.Second {
				t.Errorf("took %s to refuse the input", took)
			}
			if rss == 0 || rss >= maxRSS {
				t.Errorf("peak RSS %d bytes, want under %d", rss, maxRSS)
			}
		})
	}
}
