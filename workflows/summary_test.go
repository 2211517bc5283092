package workflows

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
)

// summaries records, through a worker interceptor, the summary of every
// activity and local activity the workflows under test schedule, in order.
type summaries struct {
	interceptor.WorkerInterceptorBase
	mu  sync.Mutex
	all []scheduled
}

type scheduled struct{ activity, summary string }

func (s *summaries) install(env *testsuite.TestWorkflowEnvironment) {
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{s}})
}

func (s *summaries) record(activity, summary string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = append(s.all, scheduled{activity, summary})
}

// list is every summary recorded, in order; it fails the test when there
// is none, or an activity had none.
func (s *summaries) list(t *testing.T) []string {
	t.Helper()
	out := s.requireSummarized(t)
	require.NotEmpty(t, out)
	return out
}

// requireSummarized fails the test when an activity had no summary, and
// returns every summary recorded, in order.
func (s *summaries) requireSummarized(t *testing.T) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.all))
	for i, a := range s.all {
		require.NotEmpty(t, a.summary, "activity %s (#%d) has no summary", a.activity, i)
		out[i] = a.summary
	}
	return out
}

func (s *summaries) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &summaryInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, s: s}
}

type summaryInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	s *summaries
}

func (i *summaryInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&summaryOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, s: i.s})
}

type summaryOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	s *summaries
}

func (o *summaryOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	o.s.record(activityType, workflow.GetActivityOptions(ctx).Summary)
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}

func (o *summaryOutbound) ExecuteLocalActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	o.s.record(activityType, workflow.GetLocalActivityOptions(ctx).Summary)
	return o.Next.ExecuteLocalActivity(ctx, activityType, args...)
}

// currentDetails asks the run for its current details, as the Temporal UI
// does (the SDK's metadata query).
func currentDetails(t *testing.T, env *testsuite.TestWorkflowEnvironment) string {
	t.Helper()
	v, err := env.QueryWorkflow("__temporal_workflow_metadata")
	require.NoError(t, err)
	var md sdkpb.WorkflowMetadata
	require.NoError(t, v.Get(&md))
	return md.GetCurrentDetails()
}

// Every activity a ProvisionVM run schedules, its undo included, says what
// it does to which resource.
func TestProvisionVMActivitiesHaveSummaries(t *testing.T) {
	s := &summaries{}
	f := newFakeCloud()
	f.failWait = "firewall-rule/web-ssh"
	env, _, err := runProvision(t, f, sampleInput(), s.install)
	require.Error(t, err)
	got := s.list(t)
	for _, want := range []string{
		"create disk web-data",
		"wait for disk web-data (operation op-disk/…)",
		"create vm web",
		"create firewall rule web-ssh",
		"delete vm web",
		"wait for vm web to be deleted (operation del-vm/web)",
		"delete firewall rule web-ssh",
	} {
		require.Contains(t, got, want)
	}
	d := currentDetails(t, env)
	require.True(t, strings.HasPrefix(d, "**failed** · 0 of 5 steps done, 5 undone"), d)
}

func TestProvisionVMCurrentDetailsOnSuccess(t *testing.T) {
	env, _, err := runProvision(t, newFakeCloud(), sampleInput(), nil)
	require.NoError(t, err)
	require.Equal(t, "**completed** · 5 of 5 steps done", currentDetails(t, env))
}

// A fleet's batch calls name their chunk, its waits what they wait for.
func TestFleetActivitiesHaveSummaries(t *testing.T) {
	var s summaries
	f := newFakeKraft(25, kraftcloud.StateStopped)
	f.slow["web-25"] = true
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	s.install(env)
	f.register(env)
	env.ExecuteWorkflow(StartInstances, FleetInput{Provider: ProviderKraftCloud, Instances: names(1, 25), ChunkSize: 10, Concurrency: 1})
	require.NoError(t, env.GetWorkflowError())
	got := s.list(t)
	require.Contains(t, got, "start 10 instances (chunk 1 of 3)")
	require.Contains(t, got, "start 5 instances (chunk 3 of 3)")
	require.Contains(t, got, "wait for 1 instance to be running")
	require.Equal(t, "**25 of 25 started**\n- round 1 of run 1, 4 API calls", currentDetails(t, env))
}

// A stack's reads (local activities) name the stack; the apply's activities
// their resource; the stack's current details its state.
func TestStackActivitiesHaveSummariesAndDetails(t *testing.T) {
	f := newContainerFake()
	st := newStackTest(t, f)
	s := st.sums
	var during string
	st.at(time.Second, func() {
		st.send(StackUpdateApply, StackApplyRequest{Spec: containerStackSpec()})
	})
	st.at(time.Minute, func() {
		during = currentDetails(t, st.env)
		st.send(StackUpdateDestroy, StackDestroyRequest{})
	})
	require.NoError(t, st.run(stackInput()))
	got := s.list(t)
	require.Contains(t, got, "observe stack openvz/ct100 (1 resource)")
	require.Contains(t, got, "create container ct100")
	require.Contains(t, got, "delete container ct100")
	require.True(t, strings.HasPrefix(during, "**in-sync** · stack openvz/ct100, 1 resource\n- last: apply-1 succeeded at "), during)
	require.True(t, strings.HasPrefix(currentDetails(t, st.env), "**destroyed** · stack openvz/ct100"), currentDetails(t, st.env))
}

func TestDescribeRun(t *testing.T) {
	vm := sampleInput()
	vm.VM.SSHPublicKey, vm.VM.StartupScript = "ssh-ed25519 SECRETKEY", "echo SECRETSCRIPT"
	deploy := DeployInstanceInput{
		Instance:     KraftCloudInstanceSpec{Name: "app", Image: "nginx:latest", Env: map[string]string{"TOKEN": "SECRETENV"}},
		ServiceGroup: &KraftCloudServiceGroupSpec{Name: "app-sg"},
	}
	for _, c := range []struct {
		workflow  string
		in        any
		summary   string
		resources []string
	}{
		{ProvisionVMWorkflowName, vm, "Provision VM web (crusoe): 2 disks, 2 firewall rules",
			[]string{"vm web", "disk web-data", "disk web-scratch", "firewall rule web-ssh", "firewall rule web-out"}},
		{DeprovisionVMWorkflowName, DeprovisionVMInput{VMName: "web", DiskNames: []string{"web-data"}},
			"Deprovision VM web (crusoe): 1 disk", []string{"vm web", "disk web-data"}},
		{BulkCreateVMsWorkflowName, BulkCreateVMsInput{BulkCreateVMsInput: activities.BulkCreateVMsInput{NamePrefix: "w", Count: 3, SSHPublicKey: "SECRET"}},
			"Create 3 VMs w-1..3 (crusoe)", []string{"vms w-1 to w-3"}},
		{StopInstancesWorkflowName, FleetInput{Provider: ProviderCrusoe, Instances: []string{"a", "b"}},
			"Stop 2 VMs (crusoe)", []string{"vm a", "vm b"}},
		{StartInstancesWorkflowName, FleetInput{Provider: ProviderKraftCloud, Instances: []string{"a"}},
			"Start 1 instance (kraftcloud)", []string{"instance a"}},
		{DeployInstanceWorkflowName, deploy, "Deploy instance app (kraftcloud): 1 service group",
			[]string{"instance app", "service group app-sg"}},
		{UndeployInstanceWorkflowName, UndeployInstanceInput{InstanceName: "app", VolumeName: "v"},
			"Undeploy instance app (kraftcloud): 1 volume", []string{"instance app", "volume v"}},
		{ProvisionInstanceWorkflowName, ProvisionInstanceInput{Instance: CloudMCInstanceSpec{Name: "vm1"},
			IngressRules: []CloudMCIngressRuleSpec{{Protocol: "tcp", StartPort: 22, CIDR: "0.0.0.0/0"}}},
			"Provision instance vm1 (cloudmc): 1 ingress rule", []string{"instance vm1", "ingress rule tcp-22-0.0.0.0/0"}},
		{CreateContainerWorkflowName, sampleContainer(), "Create container ct100 (openvz)", []string{"container ct100"}},
		{DeleteContainerWorkflowName, DeleteContainerInput{Name: "ct100"}, "Delete container ct100 (openvz)", []string{"container ct100"}},
		{SnapshotDisksWorkflowName, SnapshotDisksInput{VMName: "web", Retention: 24 * time.Hour},
			"Snapshot the disks of VM web (crusoe), expiring those older than 1d", []string{"vm web"}},
		{ApplyStackWorkflowName, ApplyStackInput{Provider: ProviderCrusoe, Name: "web", Changes: []PlanChange{
			{Kind: KindDisk, Name: "d1", Action: ActionCreate}, {Kind: KindDisk, Name: "d2", Action: ActionCreate},
			{Kind: KindVM, Name: "web", Action: ActionNoChange}, {Kind: KindFirewallRule, Name: "r", Action: ActionUpdate},
		}}, "Apply to stack crusoe/web: 2 creates, 1 update", []string{"disk d1 (create)", "disk d2 (create)", "firewall rule r (update)"}},
		{ApplyStackWorkflowName, ApplyStackInput{Provider: ProviderOpenVZ, Name: "ct", Destroy: true, Changes: []PlanChange{
			{Kind: KindContainer, Name: "ct", Action: ActionDelete}}}, "Destroy stack openvz/ct: 1 delete", []string{"container ct (delete)"}},
		{"SomethingElse", 42, "SomethingElse", nil},
	} {
		d := DescribeRun(c.workflow, c.in)
		require.Equal(t, c.summary, d.Summary, c.workflow)
		require.Equal(t, c.resources, d.Resources, c.workflow)
		for _, text := range []string{d.Summary, d.Details("Spec", "web.yaml")} {
			require.NotContains(t, text, "SECRET", "%s: names only", c.workflow)
		}
	}
}

func TestDescriptionDetails(t *testing.T) {
	d := Description{Resources: []string{"vm web", "disk web-data"}}
	require.Equal(t, "- **Acts on:** vm web, disk web-data\n- **Spec:** web.yaml\n- **Task queue:** cloudflow",
		d.Details("Spec", "web.yaml", "Source", "", "Task queue", "cloudflow"))

	many := DescribeRun(StartInstancesWorkflowName, FleetInput{Provider: ProviderKraftCloud, Instances: names(1, 20000)})
	details := many.Details()
	require.Contains(t, details, "instance web-50 and 19950 more")
	require.LessOrEqual(t, len(details), maxDetailsBytes)
}

func TestClampText(t *testing.T) {
	require.Equal(t, "short", clampText("short", 10))
	require.Equal(t, "abcdefg…", clampText("abcdefghijklmnop", 10))
	cut := clampText(strings.Repeat("é", 10), 10) // 2 bytes each, 3 for "…": no rune is split
	require.Equal(t, "ééé…", cut)
	require.LessOrEqual(t, len(cut), 10)
	require.Equal(t, "wait for vm web (operation 1f2e3a4b…)", "wait for vm web"+waitingOn("operation", "1f2e3a4b-5c6d-7e8f"))
	require.Empty(t, waitingOn("task", ""))
}

func TestWithSummaryBoundsTheSummary(t *testing.T) {
	var s summaries
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	s.install(env)
	env.RegisterActivityWithOptions(func() error { return nil }, activity.RegisterOptions{Name: "Noop"})
	env.ExecuteWorkflow(func(ctx workflow.Context) error {
		ctx = withSummary(callOptions(ctx, Timeouts{}), "create disk %s", strings.Repeat("x", 500))
		return workflow.ExecuteActivity(ctx, "Noop").Get(ctx, nil)
	})
	require.NoError(t, env.GetWorkflowError())
	got := s.list(t)
	require.Len(t, got, 1)
	require.LessOrEqual(t, len(got[0]), maxSummaryBytes)
	require.True(t, strings.HasPrefix(got[0], "create disk xxx"))
}

func TestProgressDetails(t *testing.T) {
	steps := []Step{
		{Name: "disk/a", State: StepDone},
		{Name: "disk/b", State: StepRunning, OperationID: "0123456789abcdef"},
		{Name: "vm/web", State: StepFailed, Error: strings.Repeat("e", 300)},
		{Name: "rule/r", State: StepPending},
	}
	d := progressDetails(Progress{Phase: PhaseRunning, Steps: steps})
	lines := strings.Split(d, "\n")
	require.Equal(t, []string{"**running** · 1 of 4 steps done", "- running: disk/b (operation 01234567…)"}, lines[:2])
	require.True(t, strings.HasPrefix(lines[2], "- failed: vm/web: eee"), lines[2])
	require.LessOrEqual(t, len(lines[2]), len("- failed: vm/web: ")+maxDetailErrorText)

	var many []Step
	for i := range 20 {
		many = append(many, Step{Name: "vm/" + string(rune('a'+i)), State: StepUndoing})
	}
	d = progressDetails(Progress{Phase: PhaseCompensating, Steps: many})
	require.Len(t, strings.Split(d, "\n"), 1+maxDetailSteps+1, "five undoing steps, then an ellipsis: %s", d)
}
