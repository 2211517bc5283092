package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILwzAx+dSGF28fpgWXlDr1SQDgY1cdAAYPhlFCNEwF4i demo@cloudflow"

var exampleSpec = filepath.Join("..", "..", "examples", "crusoe-vm.yaml")

// syncBuffer is a bytes.Buffer safe to read while a command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cli runs commands in-process with captured output and a fake Temporal.
type cli struct {
	t      *testing.T
	f      *factory
	out    *syncBuffer
	errOut *syncBuffer
	fake   *fakeRunner
	dials  []starter.Options
}

func newCLI(t *testing.T) *cli {
	c := &cli{t: t, out: &syncBuffer{}, errOut: &syncBuffer{}, fake: &fakeRunner{}}
	c.f = newFactory(&iostreams{In: strings.NewReader(""), Out: c.out, ErrOut: c.errOut})
	c.f.Dial = func(o starter.Options) (runner, error) {
		c.dials = append(c.dials, o)
		if c.fake.dialErr != nil {
			return nil, c.fake.dialErr
		}
		return c.fake, nil
	}
	// Signals are not sent in tests; a test that wants Ctrl-C sets interrupt.
	c.f.NotifyContext = func(ctx context.Context) (context.Context, context.CancelFunc) {
		return context.WithCancel(ctx)
	}
	c.f.Now = func() time.Time { return time.Date(2025, 1, 2, 12, 0, 0, 0, time.Local) }
	return c
}

func (c *cli) run(args ...string) int {
	c.t.Helper()
	return execute(context.Background(), c.f, args)
}

// fakeRunner stands in for *starter.Starter.
type fakeRunner struct {
	mu sync.Mutex

	dialErr  error
	startErr error
	run      starter.Run

	fleets []workflows.FleetInput

	schedules     []scheduled
	scheduleList  []starter.ScheduleInfo
	scheduleInfo  starter.ScheduleInfo
	scheduleCalls []string
	scheduleErr   error
	bulks         []workflows.BulkCreateVMsInput
	snapshots     []workflows.SnapshotDisksInput

	fleetProgress []workflows.FleetProgress // WatchFleet reports these in turn

	progress []workflows.Progress // Watch reports these in turn
	// progressOf answers Progress for one workflow ID (else: progress).
	progressOf    map[string]workflows.Progress
	progressCalls map[string]int
	// stacks fakes the stack operations (stacks_test.go).
	stacks   fakeStacks
	block    bool // Watch waits for ctx to end
	watchErr error

	result    any // copied into Result's valuePtr
	resultErr error

	list        []starter.RunInfo
	listOpts    []starter.ListOptions
	info        starter.RunInfo
	describeErr error
	progressErr error
	canceled    []string
	closed      bool

	// terminated records "ID: reason"; noWorker makes WorkerPolling say no
	// worker polls (pollers counts its calls); notBegun makes RunBegun say
	// no worker ever ran the run.
	terminated      []string
	noWorker        bool
	pollers         int
	notBegun        bool
	scheduleUpdates []scheduleUpdated
}

type scheduleUpdated struct {
	id string
	u  starter.ScheduleUpdate
}

func (r *fakeRunner) FleetProgress(context.Context, string, string) (workflows.FleetProgress, error) {
	if len(r.fleetProgress) == 0 {
		return workflows.FleetProgress{}, r.progressErr
	}
	return r.fleetProgress[len(r.fleetProgress)-1], nil
}

func (r *fakeRunner) Terminate(_ context.Context, id, _, reason string) error {
	r.terminated = append(r.terminated, id+": "+reason)
	return nil
}

func (r *fakeRunner) RunBegun(context.Context, string, string) (bool, error) { return !r.notBegun, nil }

func (r *fakeRunner) WorkerPolling(context.Context, string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pollers++
	return !r.noWorker, nil
}

func (r *fakeRunner) UpdateSchedule(_ context.Context, id string, u starter.ScheduleUpdate) error {
	r.scheduleUpdates = append(r.scheduleUpdates, scheduleUpdated{id, u})
	return r.scheduleErr
}

func (r *fakeRunner) BulkCreateVMs(_ context.Context, in workflows.BulkCreateVMsInput) (starter.Run, error) {
	r.bulks = append(r.bulks, in)
	return r.run, r.startErr
}

func (r *fakeRunner) SnapshotDisks(_ context.Context, in workflows.SnapshotDisksInput) (starter.Run, error) {
	r.snapshots = append(r.snapshots, in)
	return r.run, r.startErr
}

func (r *fakeRunner) StartInstances(_ context.Context, in workflows.FleetInput) (starter.Run, error) {
	r.fleets = append(r.fleets, in)
	return r.run, r.startErr
}

func (r *fakeRunner) StopInstances(_ context.Context, in workflows.FleetInput) (starter.Run, error) {
	r.fleets = append(r.fleets, in)
	return r.run, r.startErr
}

func (r *fakeRunner) WatchFleet(ctx context.Context, _, _ string, _ time.Duration, fn func(workflows.FleetProgress)) error {
	for _, p := range r.fleetProgress {
		fn(p)
	}
	if r.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return r.watchErr
}

func (r *fakeRunner) Progress(_ context.Context, id, _ string) (workflows.Progress, error) {
	r.mu.Lock()
	if r.progressCalls == nil {
		r.progressCalls = map[string]int{}
	}
	r.progressCalls[id]++
	r.mu.Unlock()
	if p, ok := r.progressOf[id]; ok {
		return p, nil
	}
	if r.progressErr != nil {
		return workflows.Progress{}, r.progressErr
	}
	if len(r.progress) == 0 {
		return workflows.Progress{}, nil
	}
	return r.progress[len(r.progress)-1], nil
}

func (r *fakeRunner) Watch(ctx context.Context, _, _ string, _ time.Duration, fn func(workflows.Progress)) error {
	for _, p := range r.progress {
		fn(p)
	}
	if r.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return r.watchErr
}

func (r *fakeRunner) Result(ctx context.Context, _, _ string, valuePtr any) error {
	if r.result != nil {
		b, err := json.Marshal(r.result)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, valuePtr); err != nil {
			return err
		}
	}
	return r.resultErr
}

func (r *fakeRunner) Cancel(_ context.Context, id, _ string) error {
	r.canceled = append(r.canceled, id)
	return r.describeErr
}

func (r *fakeRunner) List(_ context.Context, o starter.ListOptions) ([]starter.RunInfo, error) {
	r.listOpts = append(r.listOpts, o)
	return r.list, nil
}

func (r *fakeRunner) Describe(context.Context, string, string) (starter.RunInfo, error) {
	return r.info, r.describeErr
}

func (r *fakeRunner) Close() { r.closed = true }

func (r *fakeRunner) CreateSchedule(_ context.Context, o starter.ScheduleOptions, p starter.Plan) error {
	r.schedules = append(r.schedules, scheduled{o, p})
	return r.scheduleErr
}

func (r *fakeRunner) ListSchedules(context.Context) ([]starter.ScheduleInfo, error) {
	return r.scheduleList, r.scheduleErr
}

func (r *fakeRunner) DescribeSchedule(_ context.Context, id string) (starter.ScheduleInfo, error) {
	info := r.scheduleInfo
	info.ID = id
	return info, r.scheduleErr
}

func (r *fakeRunner) PauseSchedule(_ context.Context, id, _ string) error {
	return r.scheduleCall("pause " + id)
}

func (r *fakeRunner) UnpauseSchedule(_ context.Context, id, _ string) error {
	return r.scheduleCall("unpause " + id)
}

func (r *fakeRunner) TriggerSchedule(_ context.Context, id string) error {
	return r.scheduleCall("trigger " + id)
}

func (r *fakeRunner) BackfillSchedule(_ context.Context, id string, _, _ time.Time) error {
	return r.scheduleCall("backfill " + id)
}

func (r *fakeRunner) DeleteSchedule(_ context.Context, id string) error {
	return r.scheduleCall("delete " + id)
}

func (r *fakeRunner) scheduleCall(what string) error {
	r.scheduleCalls = append(r.scheduleCalls, what)
	return r.scheduleErr
}

type scheduled struct {
	opts starter.ScheduleOptions
	plan starter.Plan
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

const badSpec = `provider: crusoe
vm:
  name: demo-vm
  type: c1a.2x
  location: us-northcentral1-a
  sshPublicKey: "` + testKey + `"
disks:
  - name: data
    size: 10GB
  - name: data
    size: 1GiB
`

func TestInvalidSpecExitsTwoAndStartsNothing(t *testing.T) {
	path := writeFile(t, "bad.yaml", badSpec)
	for _, args := range [][]string{
		{"vm", "provision", "-f", path},
		{"vm", "provision", "-f", path, "--wait"},
		{"vm", "deprovision", "-f", path, "--wait", "--json"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			c := newCLI(t)
			code := c.run(args...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, c.dials, "a bad spec must not dial Temporal")
			assert.Empty(t, c.out.String())
			stderr := c.errOut.String()
			assert.Contains(t, stderr, "has 2 problems; nothing was started")
			assert.Contains(t, stderr, `disks[0].size: "10GB" is not a size; use a whole number with GiB or TiB, e.g. 10GiB (line 9)`)
			assert.Contains(t, stderr, `disks[1].name: "data" is used by disks[0] too`)
		})
	}
}

// With the real dialer and an address nothing listens on, the error must still
// be about the spec: the spec is checked before any connection is tried.
func TestInvalidSpecNeverDialsRealTemporal(t *testing.T) {
	path := writeFile(t, "bad.yaml", badSpec)
	var out, errOut bytes.Buffer
	f := newFactory(&iostreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	start := time.Now()
	code := execute(context.Background(), f, []string{"--address", "127.0.0.1:1", "vm", "provision", "-f", path, "--wait"})
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut.String(), "disks[0].size")
	assert.NotContains(t, errOut.String(), "connect to Temporal")
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestSpecFromStdin(t *testing.T) {
	c := newCLI(t)
	c.f.IO.In = strings.NewReader(strings.Replace(badSpec, "10GB", "10GiB", 1))
	assert.Equal(t, exitUsage, c.run("vm", "provision", "-f", "-"))
	assert.Contains(t, c.errOut.String(), "spec on standard input has 1 problem")

	c = newCLI(t)
	data, err := os.ReadFile(exampleSpec)
	require.NoError(t, err)
	c.f.IO.In = bytes.NewReader(data)
	c.fake.op(workflows.StackUpdateApply, appliedResult(changedPlan(t, false)), nil)
	assert.Equal(t, exitOK, c.run("vm", "provision", "-f", "-"), c.errOut.String())
	req := c.fake.sentOf(t, workflows.StackUpdateApply).req.(workflows.StackApplyRequest)
	assert.Equal(t, "demo-vm", req.Spec.Name())
	assert.Equal(t, "standard input", req.Spec.Source)
}

func TestMissingSpecFile(t *testing.T) {
	c := newCLI(t)
	assert.Equal(t, exitUsage, c.run("vm", "provision", "-f", filepath.Join(t.TempDir(), "nope.yaml")))
	assert.Contains(t, c.errOut.String(), "no such file")
	assert.Empty(t, c.dials)
}

// allCommands lists every command path under root.
func allCommands(c *cobra.Command) [][]string {
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		out = append(out, path)
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(c, nil)
	return out
}

func TestHelpForEveryCommand(t *testing.T) {
	paths := allCommands(newRootCmd(newCLI(t).f))
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = strings.Join(p, " ")
	}
	for _, want := range []string{"vm provision", "vm deprovision", "runs list", "runs show", "runs watch", "runs cancel", "worker", "sim", "sim inventory", "dev",
		"plan", "apply", "destroy", "output", "stacks list", "stacks show", "stacks approve", "stacks discard", "stacks refresh", "stacks set",
		"runs terminate", "version", "schedule update", "sim fault add", "sim fault list", "sim fault remove", "sim seed"} {
		assert.Contains(t, names, want)
	}
	for _, path := range paths {
		t.Run("cloudflow "+strings.Join(path, " "), func(t *testing.T) {
			c := newCLI(t)
			code := c.run(append(path, "--help")...)
			assert.Equal(t, exitOK, code, c.errOut.String())
			assert.Contains(t, c.out.String(), "Usage:")
			assert.Empty(t, c.errOut.String())
			assert.Empty(t, c.dials)
		})
	}
	// A noun alone prints its help too.
	c := newCLI(t)
	assert.Equal(t, exitOK, c.run("vm"))
	assert.Contains(t, c.out.String(), "provision")
}

func TestFlagValidation(t *testing.T) {
	spec := exampleSpec
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus" for "cloudflow"`},
		{[]string{"vm", "bogus"}, `unknown command "bogus" for "cloudflow vm"`},
		{[]string{"runs", "bogus"}, `unknown command "bogus" for "cloudflow runs"`},
		{[]string{"sim", "bogus"}, `unknown command "bogus" for "cloudflow sim"`},
		// "Did you mean" under every noun, not only at the root, flags or not.
		{[]string{"verison"}, "unknown command \"verison\" for \"cloudflow\"\n\nDid you mean this?\n\tversion"},
		{[]string{"runs", "lst"}, "unknown command \"lst\" for \"cloudflow runs\"\n\nDid you mean this?\n\tlist\n"},
		{[]string{"vm", "provison", "-f", "x.yaml"}, "unknown command \"provison\" for \"cloudflow vm\"\n\nDid you mean this?\n\tprovision\n"},
		{[]string{"vm", "provison", "--wait"}, "Did you mean this?\n\tprovision\n"},
		{[]string{"schedule", "descibe", "nightly"}, "Did you mean this?\n\tdescribe\n"},
		{[]string{"stacks", "shwo", "web", "--provider", "crusoe"}, "Did you mean this?\n\tshow\n"},
		{[]string{"sim", "fault", "lst"}, "Did you mean this?\n\tlist\n"},
		{[]string{"runs", "lst"}, "Run 'cloudflow runs --help' for usage."},
		{[]string{"vm", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"--bogus"}, "unknown flag: --bogus"},
		{[]string{"vm", "provision"}, `required flag(s) "file" not set`},
		{[]string{"vm", "deprovision"}, `required flag(s) "file" not set`},
		{[]string{"vm", "provision", "-f", spec, "extra"}, `unknown command "extra"`},
		{[]string{"vm", "provision", "-f", spec, "--timeout", "5m"}, "--timeout only applies with --wait"},
		{[]string{"vm", "provision", "-f", spec, "--wait", "--timeout", "0s"}, "--timeout must be longer than zero"},
		{[]string{"vm", "provision", "-f", spec, "--wait", "--timeout", "soon"}, `invalid argument "soon" for "--timeout"`},
		{[]string{"vm", "provision", "-f", spec, "--wait=maybe"}, `invalid argument "maybe" for "--wait"`},
		{[]string{"runs", "list", "--limit", "0"}, "--limit must be between 1 and 1000, not 0"},
		{[]string{"runs", "list", "--limit", "x"}, `invalid argument "x"`},
		{[]string{"runs", "list", "extra"}, `unknown command "extra"`},
		{[]string{"runs", "show"}, "missing WORKFLOW-ID argument"},
		{[]string{"runs", "show", "a", "b"}, "too many arguments"},
		{[]string{"runs", "watch"}, "missing WORKFLOW-ID argument"},
		{[]string{"runs", "watch", "x", "--timeout", "-1s"}, "--timeout must not be negative"},
		{[]string{"runs", "cancel"}, "missing WORKFLOW-ID argument"},
		{[]string{"sim", "--operation-latency", "-1s"}, "--operation-latency must not be negative"},
		{[]string{"sim", "--fault", "explode:/v1alpha5/**"}, "--fault: fault"},
		{[]string{"sim", "--listen", "nowhere"}, `--listen "nowhere": want host:port`},
		{[]string{"sim", "inventory", "--endpoint", "127.0.0.1:8787"}, "--endpoint \"127.0.0.1:8787\": want the simulator's base URL"},
		{[]string{"dev", "--temporal-port", "70000"}, "--temporal-port must be a port from 0 to 65535"},
		{[]string{"dev", "--ui-port", "-2"}, "--ui-port must be a port"},
		{[]string{"dev", "--temporal-port", "7233", "--ui-port", "7233"}, "must differ"},
		{[]string{"dev", "--sim-listen", "nowhere"}, `--sim-listen "nowhere"`},
		{[]string{"dev", "--fault", "nope"}, "--fault"},
		{[]string{"worker", "extra"}, `unknown command "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			c := newCLI(t)
			code := c.run(tt.args...)
			assert.Equal(t, exitUsage, code, "stderr: %s", c.errOut.String())
			assert.Contains(t, c.errOut.String(), tt.want)
			assert.True(t, strings.HasPrefix(c.errOut.String(), "error: "), c.errOut.String())
			assert.Empty(t, c.dials)
		})
	}
}

var (
	provisionRun = starter.Run{WorkflowID: "crusoe-vm-provision-demo-vm", RunID: "run-1", Workflow: workflows.ProvisionVMWorkflowName}
	t0           = time.Date(2025, 1, 2, 12, 0, 1, 0, time.Local)
)

func provisionProgress() []workflows.Progress {
	step := func(name, state, id, op, errText string) workflows.Step {
		kind, res, _ := strings.Cut(name, "/")
		return workflows.Step{Name: name, Kind: kind, Resource: res, State: state, ID: id, OperationID: op, Error: errText, UpdatedAt: t0}
	}
	return []workflows.Progress{
		{Workflow: "ProvisionVM", Phase: "running", Steps: []workflows.Step{
			step("disk/demo-vm-data", "pending", "", "", ""),
			step("vm/demo-vm", "pending", "", "", ""),
		}},
		{Workflow: "ProvisionVM", Phase: "running", Steps: []workflows.Step{
			step("disk/demo-vm-data", "running", "", "op-1", ""),
			step("vm/demo-vm", "pending", "", "", ""),
		}},
		{Workflow: "ProvisionVM", Phase: "running", Steps: []workflows.Step{
			step("disk/demo-vm-data", "done", "disk-1", "", ""),
			step("vm/demo-vm", "running", "", "op-2", ""),
		}},
	}
}

func failedProvision() (workflows.ProvisionVMResult, error) {
	res := workflows.ProvisionVMResult{
		VM:         workflows.Resource{Kind: "vm", Name: "demo-vm"},
		FailedStep: "vm/demo-vm",
		Steps: []workflows.Step{
			{Name: "disk/demo-vm-data", State: "undone", ID: "disk-1"},
			{Name: "disk/demo-vm-scratch", State: "undo-failed", ID: "disk-2", Error: "delete disk: 500 internal"},
			{Name: "vm/demo-vm", State: "failed", Error: "operation FAILED: no capacity in us-northcentral1-a"},
		},
		Undone:    []string{"disk/demo-vm-data"},
		NotUndone: []workflows.UndoFailure{{Step: "disk/demo-vm-scratch", Kind: "disk", Name: "demo-vm-scratch", ID: "disk-2", Error: "delete disk: 500 internal"}},
	}
	return res, &starter.RunError{WorkflowID: provisionRun.WorkflowID, Status: "Failed", Message: "create vm demo-vm: no capacity"}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < '@' || s[j] > '~') {
				j++
			}
			i = j
			continue
		}
		if s[i] == '\r' {
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestRunsList(t *testing.T) {
	start := time.Date(2025, 1, 2, 11, 58, 0, 0, time.Local)
	runs := []starter.RunInfo{
		{WorkflowID: "crusoe-vm-provision-demo-vm", RunID: "r1", Type: "ProvisionVM", Status: "Running", StartTime: start},
		{WorkflowID: "crusoe-vm-deprovision-old", RunID: "r2", Type: "DeprovisionVM", Status: "Completed", StartTime: start, CloseTime: start.Add(42 * time.Second)},
	}
	c := newCLI(t)
	c.fake.list = runs
	require.Equal(t, exitOK, c.run("runs", "list", "--limit", "5", "--query", "WorkflowType = 'ProvisionVM'"))
	assert.Equal(t, []starter.ListOptions{{Query: "WorkflowType = 'ProvisionVM'", Limit: 5}}, c.fake.listOpts)
	out := c.out.String()
	assert.Regexp(t, `WORKFLOW ID\s+TYPE\s+STATUS\s+STARTED\s+DURATION`, out)
	assert.Regexp(t, `crusoe-vm-provision-demo-vm\s+ProvisionVM\s+Running\s+\S+ \S+\s+2m0s`, out)
	assert.Regexp(t, `crusoe-vm-deprovision-old\s+DeprovisionVM\s+Completed\s+\S+ \S+\s+42s`, out)

	c = newCLI(t)
	c.fake.list = runs
	require.Equal(t, exitOK, c.run("runs", "list", "--json"))
	var got []starter.RunInfo
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &got))
	assert.Len(t, got, 2)
	assert.Equal(t, 20, c.fake.listOpts[0].Limit)

	c = newCLI(t)
	require.Equal(t, exitOK, c.run("runs", "list", "--json"))
	assert.Equal(t, "[]\n", c.out.String())
	c = newCLI(t)
	require.Equal(t, exitOK, c.run("runs", "ls"))
	assert.Contains(t, c.errOut.String(), "No runs found.")
}

func TestRunsShow(t *testing.T) {
	c := newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: "crusoe-vm-provision-demo-vm", RunID: "r1", Type: "ProvisionVM", Status: "Running", StartTime: time.Date(2025, 1, 2, 11, 59, 0, 0, time.Local)}
	c.fake.progress = provisionProgress()
	require.Equal(t, exitOK, c.run("runs", "show", "crusoe-vm-provision-demo-vm"))
	out := c.out.String()
	assert.Regexp(t, `Workflow:\s+crusoe-vm-provision-demo-vm`, out)
	assert.Regexp(t, `Status:\s+Running`, out)
	assert.Regexp(t, `Running for:\s+1m0s`, out)
	assert.Regexp(t, `▸ running\s+vm/demo-vm\s+-\s+op-2`, out)

	// A running run whose progress nobody answers says so.
	c = newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: "w", Type: "ProvisionVM", Status: "Running"}
	c.fake.progressErr = errors.New("no worker to answer the query")
	require.Equal(t, exitOK, c.run("runs", "show", "w", "--json"))
	var d runDetails
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &d))
	assert.Equal(t, "Running", d.Run.Status)
	assert.Nil(t, d.Progress)
	assert.Contains(t, d.ProgressError, "no worker")

	// An ended run's steps come from its result: no worker needs to answer.
	c = newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: "w", Type: "ProvisionVM", Status: "Completed"}
	c.fake.progressErr = errors.New("no worker to answer the query")
	c.fake.result = workflows.ProvisionVMResult{VM: workflows.Resource{Kind: "vm", Name: "demo-vm", ID: "vm-1"},
		Steps: []workflows.Step{{Name: "vm/demo-vm", Kind: "vm", Resource: "demo-vm", State: "done", ID: "vm-1"}}}
	require.Equal(t, exitOK, c.run("runs", "show", "w", "--json"), c.errOut.String())
	d = runDetails{}
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &d))
	require.NotNil(t, d.Progress)
	assert.Equal(t, "done", d.Progress.Steps[0].State)
	assert.Empty(t, d.ProgressError)
	assert.Nil(t, d.Failure)
	assert.Equal(t, 0, c.fake.queried("w"), "an ended run is not queried")
}

func TestRunsWatch(t *testing.T) {
	c := newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: provisionRun.WorkflowID, RunID: "run-1", Type: "ProvisionVM", Status: "Running"}
	c.fake.progress = provisionProgress()
	c.fake.result, c.fake.resultErr = failedProvision()
	assert.Equal(t, exitFailed, c.run("runs", "watch", provisionRun.WorkflowID))
	assert.Contains(t, c.out.String(), "Could NOT be undone")

	c = newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: "other", RunID: "r", Type: "SomethingElse", Status: "Completed"}
	c.fake.result = map[string]int{"n": 1}
	assert.Equal(t, exitOK, c.run("runs", "watch", "other"))
	assert.Contains(t, c.out.String(), "SomethingElse other completed.")
	assert.Contains(t, c.out.String(), `"n": 1`)

	c = newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: "w", RunID: "r", Type: "ProvisionVM", Status: "Running"}
	c.fake.block = true
	assert.Equal(t, exitPending, c.run("runs", "watch", "w", "--timeout", "30ms"))

	c = newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: "w", RunID: "r", Type: "ProvisionVM", Status: "Canceled"}
	c.fake.resultErr = &starter.RunError{WorkflowID: "w", Status: "Canceled"}
	assert.Equal(t, exitFailed, c.run("runs", "watch", "w"))
	assert.Contains(t, c.out.String(), "ProvisionVM was canceled.")

	c = newCLI(t)
	c.fake.describeErr = errors.New("describe x: connection refused")
	assert.Equal(t, exitOther, c.run("runs", "watch", "x"))
}

func TestRunsCancel(t *testing.T) {
	c := newCLI(t)
	c.fake.info = starter.RunInfo{WorkflowID: "crusoe-vm-provision-demo-vm", RunID: "r1", Type: "ProvisionVM", Status: "Running", TaskQueue: "cloudflow"}
	require.Equal(t, exitOK, c.run("runs", "cancel", "crusoe-vm-provision-demo-vm"))
	assert.Equal(t, []string{"crusoe-vm-provision-demo-vm"}, c.fake.canceled)
	assert.Empty(t, c.fake.terminated)
	assert.Contains(t, c.out.String(), "cloudflow runs watch crusoe-vm-provision-demo-vm")
}

func TestExitCodeOf(t *testing.T) {
	assert.Equal(t, 0, exitCodeOf(nil))
	assert.Equal(t, 3, exitCodeOf(&exitError{code: 3}))
	assert.Equal(t, 1, exitCodeOf(withCode(1, io.EOF)))
	assert.Equal(t, 2, exitCodeOf(errors.New("from cobra")))
	var buf bytes.Buffer
	printError(&buf, nil, &exitError{code: 3})
	assert.Empty(t, buf.String(), "a bare exit code prints nothing more")
}
