//go:build chaos

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// workerPool runs `cloudflow worker` processes, one per slot, that the
// chaos suite SIGKILLs and restarts. Each slot appends its output, one
// section per process, to worker-<slot>.log in the output directory.
type workerPool struct {
	t         *testing.T
	c         client.Client
	taskQueue string
	dir       string

	mu    sync.Mutex
	procs []*exec.Cmd
	kills int
}

func newWorkerPool(t *testing.T, c client.Client, taskQueue, dir string, n int) *workerPool {
	t.Helper()
	p := &workerPool{t: t, c: c, taskQueue: taskQueue, dir: dir, procs: make([]*exec.Cmd, n)}
	for slot := range n {
		p.start(slot)
	}
	t.Cleanup(p.stop)
	waitFor(t, 60*time.Second, fmt.Sprintf("%d workers to poll %s", n, taskQueue), func() bool {
		return pollerCount(c, taskQueue) >= n
	})
	return p
}

// start runs a new worker process in slot.
func (p *workerPool) start(slot int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	log, err := os.OpenFile(filepath.Join(p.dir, fmt.Sprintf("worker-%d.log", slot)), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Errorf("worker log: %v", err)
		return
	}
	fmt.Fprintf(log, "=== worker started %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(cliBinary, "worker", "--task-queue", p.taskQueue)
	cmd.Env = append(os.Environ(), crusoeEnv()...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		p.t.Errorf("start worker %d: %v", slot, err)
		return
	}
	go func() {
		_ = cmd.Wait()
		fmt.Fprintf(log, "=== worker ended %s: %s\n", time.Now().Format(time.RFC3339Nano), cmd.ProcessState)
		log.Close()
	}()
	p.procs[slot] = cmd
}

// kill SIGKILLs the worker in slot: it gets no chance to finish or report
// anything, as when its machine dies.
func (p *workerPool) kill(slot int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := p.procs[slot]
	if cmd == nil {
		return
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err == nil {
		p.kills++
	}
	p.procs[slot] = nil
}

// restart kills the worker in slot and starts a new one there.
func (p *workerPool) restart(slot int) {
	p.kill(slot)
	p.start(slot)
}

// restartAll kills every worker at once, then starts them again.
func (p *workerPool) restartAll() {
	for slot := range p.procs {
		p.kill(slot)
	}
	for slot := range p.procs {
		p.start(slot)
	}
}

// killEvery restarts one worker every interval, taking the slots in turn,
// until ctx ends; the others keep the work going meanwhile.
func (p *workerPool) killEvery(ctx context.Context, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for k := 0; ; k++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.restart(k % len(p.procs))
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (p *workerPool) killCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kills
}

// stop kills every worker; it does not count as a chaos kill.
func (p *workerPool) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for slot, cmd := range p.procs {
		if cmd != nil {
			_ = cmd.Process.Kill()
			p.procs[slot] = nil
		}
	}
}
