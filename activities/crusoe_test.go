package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/cloudsim"
)

// The activities are tested against the simulator over real HTTP: what they
// meet is what a worker meets.
type simFixture struct {
	sim    *cloudsim.Running
	admin  *cloudsim.AdminClient
	client *crusoe.Client
	acts   *CrusoeActivities
}

func newSim(t *testing.T, latency time.Duration) *simFixture {
	t.Helper()
	f := startSim(t, cloudsim.Options{Crusoe: cloudsim.CrusoeOptions{OperationLatency: latency}})
	f.acts.Poll = PollPolicy{Initial: 50 * time.Millisecond, Max: 200 * time.Millisecond, Multiplier: 2}
	return f
}

// startSim starts a simulator and activities with a client of it.
func startSim(t *testing.T, opts cloudsim.Options) *simFixture {
	t.Helper()
	sim, err := cloudsim.Start("127.0.0.1:0", opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	c, err := crusoe.New(
		crusoe.WithBaseURL(sim.URL+"/v1alpha5"),
		crusoe.WithCredentials(cloudsim.DefaultCrusoeAccessKeyID, cloudsim.DefaultCrusoeSecretKey),
		crusoe.WithProjectID(cloudsim.DefaultCrusoeProjectID),
	)
	require.NoError(t, err)
	return &simFixture{sim: sim, admin: &cloudsim.AdminClient{BaseURL: sim.URL}, client: c, acts: &CrusoeActivities{Client: c}}
}

func (f *simFixture) env() *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(f.acts)
	return env
}

// addFault injects a fault into the simulator.
func addFault(t *testing.T, admin *cloudsim.AdminClient, fl cloudsim.Fault) {
	t.Helper()
	_, err := admin.AddFault(context.Background(), fl)
	require.NoError(t, err)
}

// decoded is the value an activity returned.
func decoded[T any](t *testing.T, v interface{ Get(any) error }) T {
	t.Helper()
	var r T
	require.NoError(t, v.Get(&r))
	return r
}

var (
	createResult = decoded[CreateResult]
	waitResult   = decoded[WaitResult]
)

func diskInput(name string) CreateDiskInput {
	return CreateDiskInput{Name: name, Size: "10GiB", Type: "persistent-ssd", Location: "us-northcentral1-a"}
}

func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "want an application error, got %v", err)
	return app
}

func TestCreateDiskThenWait(t *testing.T) {
	f := newSim(t, 200*time.Millisecond)
	env := f.env()
	v, err := env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("d1"))
	require.NoError(t, err)
	cr := createResult(t, v)
	require.NotEmpty(t, cr.OperationID)
	require.False(t, cr.Existed)

	v, err = env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: cr.OperationID, Name: "d1", Timeout: time.Minute})
	require.NoError(t, err)
	wr := waitResult(t, v)
	require.Equal(t, "operation", wr.Resolution)
	require.NotEmpty(t, wr.ResourceID)
	d, err := f.client.Disks.Get(context.Background(), "", wr.ResourceID)
	require.NoError(t, err)
	require.Equal(t, "d1", d.Name)
	require.Greater(t, wr.Polls, 1, "the operation took a few polls")
}

// A name found on a first attempt belongs to someone else: adopted, never undone.
func TestCreateFindsPreexistingResource(t *testing.T) {
	f := newSim(t, 10*time.Millisecond)
	_, err := f.client.Disks.Create(context.Background(), "", &crusoe.DiskCreateRequest{Name: "old", Size: "10GiB", Location: "us-northcentral1-a"})
	require.NoError(t, err)
	v, err := f.env().ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("old"))
	require.NoError(t, err)
	cr := createResult(t, v)
	require.True(t, cr.Existed)
	require.NotEmpty(t, cr.ResourceID)
	disks, err := f.client.Disks.List(context.Background(), "")
	require.NoError(t, err)
	require.Len(t, disks, 1, "no second disk")
}

// A name found by a retry whose earlier attempt sent the create is this
// run's own: it joins the operation still running on it.
func TestCreateRetryAdoptsItsOwnResource(t *testing.T) {
	f := newSim(t, 5*time.Second)
	op, err := f.client.Disks.Create(context.Background(), "", &crusoe.DiskCreateRequest{Name: "mine", Size: "10GiB", Location: "us-northcentral1-a"})
	require.NoError(t, err)
	env := f.env()
	env.SetHeartbeatDetails(createMarker{CreateSent: "mine"})
	v, err := env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("mine"))
	require.NoError(t, err)
	cr := createResult(t, v)
	require.False(t, cr.Existed)
	require.Equal(t, op.OperationID, cr.OperationID, "joins the operation in flight")
}

func TestWaitFailedOperationIsFinalAndCarriesTheCloudsMessage(t *testing.T) {
	f := newSim(t, 100*time.Millisecond)
	addFault(t, f.admin, cloudsim.Fault{Cloud: "crusoe", Method: "POST", Path: "/v1alpha5/projects/*/storage/disks", Action: "fail-operation", Code: "QUOTA_EXCEEDED", Message: "disk quota exceeded"})
	env := f.env()
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("q"))))
	_, err := env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: cr.OperationID, Name: "q", Timeout: time.Minute})
	app := appError(t, err)
	require.Equal(t, ErrTypeOperationFailed, app.Type())
	require.True(t, app.NonRetryable())
	require.Contains(t, app.Error(), "QUOTA_EXCEEDED: disk quota exceeded")
	var det CloudErrorDetails
	require.NoError(t, app.Details(&det))
	require.Equal(t, "QUOTA_EXCEEDED", det.Code)
}

// An operation the cloud no longer knows (403) is resolved from the resource.
func TestWaitUnknownOperationResolvesFromResource(t *testing.T) {
	f := newSim(t, 10*time.Millisecond)
	env := f.env()
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("r1"))))
	require.NotEmpty(t, cr.OperationID)
	wr := waitResult(t, must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: "EXPIRED-OP", Name: "r1", Timeout: time.Minute})))
	require.Equal(t, "resource", wr.Resolution)
	require.NotEmpty(t, wr.ResourceID)

	_, err := env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: "EXPIRED-OP", Name: "never-made", Timeout: time.Minute})
	app := appError(t, err)
	require.Equal(t, ErrTypeOperationFailed, app.Type())
	require.Contains(t, app.Error(), "does not exist")
}

func TestWaitForDeletion(t *testing.T) {
	f := newSim(t, 100*time.Millisecond)
	env := f.env()
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("gone"))))
	wr := waitResult(t, must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: cr.OperationID, Name: "gone", Timeout: time.Minute})))
	var dr DeleteResult
	require.NoError(t, must(env.ExecuteActivity(f.acts.CrusoeDeleteDisk, DeleteInput{Name: "gone"})).Get(&dr))
	require.Equal(t, wr.ResourceID, dr.ResourceID)
	require.NotEmpty(t, dr.OperationID)
	must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: dr.OperationID, ResourceID: dr.ResourceID, Name: "gone", Gone: true, Timeout: time.Minute}))
	disks, err := f.client.Disks.List(context.Background(), "")
	require.NoError(t, err)
	require.Empty(t, disks)

	// Deleting again finds nothing: already gone, not an error.
	require.NoError(t, must(env.ExecuteActivity(f.acts.CrusoeDeleteDisk, DeleteInput{Name: "gone"})).Get(&dr))
	require.True(t, dr.AlreadyGone)
}

func TestWaitTimesOutFromTheFirstAttemptsStart(t *testing.T) {
	f := newSim(t, time.Hour)
	env := f.env()
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("slow"))))
	in := WaitInput{Kind: KindDisk, OperationID: cr.OperationID, Name: "slow", Timeout: 500 * time.Millisecond}
	start := time.Now()
	_, err := env.ExecuteActivity(f.acts.CrusoeWait, in)
	app := appError(t, err)
	require.Equal(t, ErrTypeWaitTimeout, app.Type())
	require.Contains(t, app.Error(), "still IN_PROGRESS")
	require.Less(t, time.Since(start), 5*time.Second)

	// A retry resumes from the heartbeat: the first attempt's start counts,
	// so a wait that already used its time ends at once.
	in.Timeout = time.Minute
	env.SetHeartbeatDetails(WaitProgress{Target: "disk slow (operation " + cr.OperationID + ")", StartedAt: time.Now().Add(-2 * time.Minute), Polls: 40, Interval: 200 * time.Millisecond})
	_, err = env.ExecuteActivity(f.acts.CrusoeWait, in)
	require.Equal(t, ErrTypeWaitTimeout, appError(t, err).Type())
}

// A 429 while polling is waited out as the server asks, inside the activity.
// The poll is the family's shared list of operations.
func TestWaitHonoursRetryAfter(t *testing.T) {
	f := newSim(t, 10*time.Millisecond)
	env := f.env()
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("t1"))))
	addFault(t, f.admin, cloudsim.Fault{Cloud: "crusoe", Method: "GET", Path: "/v1alpha5/projects/*/storage/disks/operations", Action: "error", Status: 429, RetryAfter: cloudsim.Duration(time.Second), Times: 1})
	start := time.Now()
	wr := waitResult(t, must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: cr.OperationID, Name: "t1", Timeout: time.Minute})))
	require.GreaterOrEqual(t, time.Since(start), time.Second)
	require.NotEmpty(t, wr.ResourceID)
}

func TestDeleteAttachedDiskIsRefusedForGood(t *testing.T) {
	f := newSim(t, 10*time.Millisecond)
	env := f.env()
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("att"))))
	wr := waitResult(t, must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: cr.OperationID, Name: "att", Timeout: time.Minute})))
	vmIn := CreateVMInput{Name: "vm1", Type: "c1a.2x", Location: "us-northcentral1-a", SSHPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBb",
		Disks: []crusoe.DiskAttachment{{DiskID: wr.ResourceID, Mode: "read-write", AttachmentType: "data"}}}
	vcr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateVM, vmIn)))
	must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindVM, OperationID: vcr.OperationID, Name: "vm1", Timeout: time.Minute}))
	_, err := env.ExecuteActivity(f.acts.CrusoeDeleteDisk, DeleteInput{Name: "att"})
	app := appError(t, err)
	require.Equal(t, ErrTypeAPI, app.Type())
	require.True(t, app.NonRetryable())
	var det CloudErrorDetails
	require.NoError(t, app.Details(&det))
	require.Equal(t, wr.ResourceID, det.ResourceID, "a delete that looked its disk up by name names it by ID when it fails")
}

// A rule that names the VM sends the VM's private IPv4 as a /32 CIDR with
// its resource ID: every FirewallRuleObject in the reference carries a cidr.
// The address comes from the VM's wait; when it is not given, the VM is read.
func TestFirewallRuleTargetsTheVM(t *testing.T) {
	f := newSim(t, 10*time.Millisecond)
	env := f.env()
	vcr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateVM, CreateVMInput{Name: "vm1", Type: "c1a.2x",
		Location: "us-northcentral1-a", SSHPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBb"})))
	vm := waitResult(t, must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindVM, OperationID: vcr.OperationID, Name: "vm1", Timeout: time.Minute})))
	require.Regexp(t, `^172\.27\.\d+\.\d+$`, vm.PrivateIPv4, "the VM's wait reports its private address")

	rule := func(name, ip string) []crusoe.FirewallRuleObject {
		in := CreateFirewallRuleInput{Name: name, Direction: "ingress", Action: "allow", Protocols: []string{"tcp"},
			Sources: []string{"0.0.0.0/0"}, Destinations: []string{"vm"}, DestinationPorts: []string{"22"},
			VMID: vm.ResourceID, VMPrivateIPv4: ip}
		cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateFirewallRule, in)))
		wr := waitResult(t, must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindFirewallRule, OperationID: cr.OperationID, Name: name, Timeout: time.Minute})))
		r, err := f.client.FirewallRules.Get(context.Background(), "", wr.ResourceID)
		require.NoError(t, err)
		require.Equal(t, []crusoe.FirewallRuleObject{{CIDR: "0.0.0.0/0"}}, r.Sources)
		return r.Destinations
	}
	want := []crusoe.FirewallRuleObject{{CIDR: vm.PrivateIPv4 + "/32", ResourceID: vm.ResourceID}}
	require.Equal(t, want, rule("given", vm.PrivateIPv4), "the address from the wait")
	require.Equal(t, want, rule("looked-up", ""), "the address read from the VM")

	in := CreateFirewallRuleInput{Name: "r2", Direction: "ingress", Action: "allow", Protocols: []string{"tcp"},
		Sources: []string{"0.0.0.0/0"}, Destinations: []string{"vm"}}
	_, err := env.ExecuteActivity(f.acts.CrusoeCreateFirewallRule, in)
	require.Equal(t, ErrTypeInvalidInput, appError(t, err).Type(), "a rule naming the VM before it exists")
	in.VMID = "no-such-vm"
	_, err = env.ExecuteActivity(f.acts.CrusoeCreateFirewallRule, in)
	require.Equal(t, ErrTypeInvalidInput, appError(t, err).Type(), "a rule naming a VM that does not exist")
}

// A delete the cloud refuses (409) because an operation on the resource is
// in progress is ErrTypeResourceBusy, naming that operation (found in the
// family's list) and the resource; once the operation has ended (a Settle
// wait), the delete goes through.
func TestDeleteWhileAnOperationIsInProgressNamesIt(t *testing.T) {
	f := newSim(t, time.Second)
	env := f.env()
	vcr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateVM, CreateVMInput{Name: "busy", Type: "c1a.2x",
		Location: "us-northcentral1-a", SSHPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBb"})))
	vms, err := f.client.VMs.ListAll(context.Background(), "", nil)
	require.NoError(t, err)
	require.Len(t, vms, 1)

	_, err = env.ExecuteActivity(f.acts.CrusoeDeleteVM, DeleteInput{Name: "busy"})
	app := appError(t, err)
	require.Equal(t, ErrTypeResourceBusy, app.Type())
	require.True(t, app.NonRetryable(), "retrying the delete alone cannot help: the caller waits for the operation")
	var det CloudErrorDetails
	require.NoError(t, app.Details(&det))
	require.Equal(t, vcr.OperationID, det.OperationID)
	require.Equal(t, vms[0].ID, det.ResourceID, "the failure names the resource by ID")
	require.Equal(t, 409, det.StatusCode)

	start := time.Now()
	wr := waitResult(t, must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindVM, OperationID: det.OperationID, Name: "busy", Settle: true, Timeout: time.Minute})))
	require.Equal(t, crusoe.OperationSucceeded, waitState(t, f, vcr.OperationID))
	require.Less(t, time.Since(start), 5*time.Second)
	require.Equal(t, "operation", wr.Resolution)

	var dr DeleteResult
	require.NoError(t, must(env.ExecuteActivity(f.acts.CrusoeDeleteVM, DeleteInput{Name: "busy"})).Get(&dr))
	require.Equal(t, vms[0].ID, dr.ResourceID)
	require.NotEmpty(t, dr.OperationID)
}

// A Settle wait ends with the operation whatever its outcome: a failed
// create is not an error there, nor an operation the cloud has forgotten.
func TestSettleWaitEndsWithTheOperationWhateverItsOutcome(t *testing.T) {
	f := newSim(t, 100*time.Millisecond)
	addFault(t, f.admin, cloudsim.Fault{Cloud: "crusoe", Method: "POST", Path: "/v1alpha5/projects/*/storage/disks", Action: "fail-operation"})
	env := f.env()
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("f"))))
	must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: cr.OperationID, Settle: true, Timeout: time.Minute}))
	require.Equal(t, crusoe.OperationFailed, waitState(t, f, cr.OperationID))
	must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: "FORGOTTEN", Settle: true, Timeout: time.Minute}))
	_, err := env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, Name: "f", Settle: true, Timeout: time.Minute})
	require.Equal(t, ErrTypeInvalidInput, appError(t, err).Type())
}

func waitState(t *testing.T, f *simFixture, opID string) string {
	t.Helper()
	for _, fam := range []crusoe.Family{crusoe.FamilyVMs, crusoe.FamilyDisks} {
		if op, err := f.client.Operations.Get(context.Background(), "", fam, opID); err == nil {
			return op.State
		}
	}
	t.Fatalf("operation %s not found", opID)
	return ""
}

// A START refused (409) while another operation on the VM runs is retried
// by the activity's policy, never final: the fleet's instance is started
// once the VM is free.
func TestVMActionOnABusyVMIsRetried(t *testing.T) {
	f := newSim(t, time.Hour)
	ctx := context.Background()
	_, err := f.client.VMs.Create(ctx, "", &crusoe.VMCreateRequest{Name: "creating", Type: "c1a.2x", Location: "us-northcentral1-a", SSHPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBb"})
	require.NoError(t, err)
	vms, err := f.client.VMs.ListAll(ctx, "", nil)
	require.NoError(t, err)
	_, err = f.env().ExecuteActivity(f.acts.CrusoeVMAction, VMActionInput{VMID: vms[0].ID, Name: "creating", Action: crusoe.VMActionStop})
	app := appError(t, err)
	require.False(t, app.NonRetryable())
	require.Equal(t, ErrTypeRetryableAPI, app.Type())
	require.Contains(t, app.Error(), "operation in progress")
}

func TestAPIErrorClassification(t *testing.T) {
	cases := []struct {
		status       int
		retryAfter   time.Duration
		nonRetryable bool
	}{
		{400, 0, true}, {401, 0, true}, {404, 0, true}, {409, 0, true},
		{408, 0, false}, {429, 3 * time.Second, false}, {500, 0, false}, {503, 2 * time.Second, false},
	}
	for _, c := range cases {
		err := apiError(CloudCrusoe, "op", &crusoe.APIError{StatusCode: c.status, Code: "x", Message: "m", RetryAfter: c.retryAfter})
		app := appError(t, err)
		require.Equal(t, c.nonRetryable, app.NonRetryable(), "status %d", c.status)
		require.Equal(t, c.retryAfter, app.NextRetryDelay(), "status %d", c.status)
		var ae *crusoe.APIError
		require.True(t, errors.As(err, &ae), "the client error stays reachable")
	}
	require.False(t, appError(t, apiError(CloudCrusoe, "op", errors.New("connection reset"))).NonRetryable())
	require.True(t, errors.Is(apiError(CloudCrusoe, "op", context.Canceled), context.Canceled))
}

func must(v interface{ Get(any) error }, err error) interface{ Get(any) error } {
	if err != nil {
		panic(err)
	}
	return v
}

// A VM of the same name that is being deleted is not adopted: the create
// fails retryably and goes ahead once the name is free.
func TestCreateVMWaitsOutADeletionOfTheSameName(t *testing.T) {
	f := newSim(t, time.Millisecond)
	ctx := context.Background()
	_, err := f.client.VMs.Create(ctx, "", &crusoe.VMCreateRequest{Name: "vm-d", Type: "c1a.2x", Location: "us-northcentral1-a", SSHPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBb"})
	require.NoError(t, err)
	time.Sleep(20 * time.Millisecond) // the create completes
	vms, err := f.client.VMs.ListAll(ctx, "", nil)
	require.NoError(t, err)
	require.NoError(t, f.admin.SetOperationLatency(ctx, "crusoe", time.Hour))
	_, err = f.client.VMs.Delete(ctx, "", vms[0].ID)
	require.NoError(t, err)

	_, err = f.env().ExecuteActivity(f.acts.CrusoeCreateVM, CreateVMInput{Name: "vm-d", Type: "c1a.2x", Location: "us-northcentral1-a", SSHPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBb"})
	app := appError(t, err)
	require.False(t, app.NonRetryable())
	require.Contains(t, app.Error(), "being deleted")
	after, err := f.client.VMs.ListAll(ctx, "", nil)
	require.NoError(t, err)
	require.Len(t, after, 1, "no second VM was made")
}
