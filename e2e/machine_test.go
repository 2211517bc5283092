//go:build chaos || bench

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// machine says when and where a suite ran (chaos, bench), for
// RELIABILITY.md and BENCHMARKS.md.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	commit := "unknown commit"
	if out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		commit = "commit " + strings.TrimSpace(string(out))
		if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
			commit += " (with local changes)"
		}
	}
	return fmt.Sprintf("%s UTC, %d CPUs (%s), %s/%s, %s, %s", time.Now().UTC().Format("2006-01-02 15:04"),
		runtime.NumCPU(), cpu, runtime.GOOS, runtime.GOARCH, runtime.Version(), commit)
}
