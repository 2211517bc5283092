package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/cloudflow/cloudflow/clients/crusoe"
)

// CloudCrusoe names Crusoe in error details.
const CloudCrusoe = "crusoe"

// Crusoe resource kinds, as activity inputs name them.
const (
	KindVM           = "vm"
	KindDisk         = "disk"
	KindFirewallRule = "firewall-rule"
)

// CrusoeActivities calls the Crusoe API, one activity per call. Credentials
// live in Client, on the worker; activity inputs carry names and IDs only.
type CrusoeActivities struct {
	Client *crusoe.Client
	// Poll paces the waiter for kinds of operation it has not learned;
	// zero means DefaultPollPolicy.
	Poll PollPolicy
	// Metrics, when set, is told how each wait ended.
	Metrics Metrics
	// Async, when set, runs the waits asynchronously (see AsyncWaits).
	Async *AsyncWaits

	waits waits
	ops   crusoeOps
}

func (a *CrusoeActivities) poll() PollPolicy {
	if a.Poll.Initial <= 0 {
		return DefaultPollPolicy
	}
	return a.Poll
}

// CreateResult is what a create activity started or found.
type CreateResult struct {
	ResourceID string `json:"resourceId,omitempty"`
	// OperationID is the operation to wait on; empty when the resource was
	// found rather than created, and the waiter then reads the resource.
	OperationID string `json:"operationId,omitempty"`
	// Existed is true when the name was taken before this step first ran: the
	// resource is adopted, not created, and must not be undone.
	Existed bool `json:"existed,omitempty"`
}

// DeleteInput names a resource to delete by ID or, failing that, by name.
type DeleteInput struct {
	ProjectID string `json:"projectId,omitempty"`
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
}

// DeleteResult is what a delete activity started.
type DeleteResult struct {
	ResourceID  string `json:"resourceId,omitempty"`
	OperationID string `json:"operationId,omitempty"`
	// AlreadyGone is true when there was nothing to delete.
	AlreadyGone bool `json:"alreadyGone,omitempty"`
}

// createMarker is the heartbeat a create activity records just before it
// sends the create. A later attempt that finds the name taken and sees this
// marker knows the resource is its own (the response was lost, or the worker
// died); without it, the resource was there before and is only adopted.
type createMarker struct {
	CreateSent string `json:"createSent"`
}

func markCreateSent(ctx context.Context, name string) {
	activity.RecordHeartbeat(ctx, createMarker{CreateSent: name})
}

func createWasSent(ctx context.Context, name string) bool {
	if !activity.HasHeartbeatDetails(ctx) {
		return false
	}
	var m createMarker
	return activity.GetHeartbeatDetails(ctx, &m) == nil && m.CreateSent == name
}

// createOnce makes the named resource unless find finds one by that name
// (DESIGN decision 3): what it finds is adopted, else the create marker is
// recorded and create sends the create.
func createOnce[T, R any](ctx context.Context, name string,
	find func() (*T, error), adopt func(found *T) (R, error), create func() (R, error),
) (R, error) {
	found, err := find()
	if err != nil {
		var zero R
		return zero, err
	}
	if found != nil {
		return adopt(found)
	}
	markCreateSent(ctx, name)
	return create()
}

// adopt returns the result for a resource found under the wanted name,
// joining the operation still running on it, if any.
func (a *CrusoeActivities) adopt(ctx context.Context, projectID string, family crusoe.Family, name, id string) (CreateResult, error) {
	res := CreateResult{ResourceID: id, Existed: !createWasSent(ctx, name)}
	ops, err := a.Client.Operations.List(ctx, projectID, family, &crusoe.OperationListOptions{
		ResourceID: id, States: []string{crusoe.OperationInProgress},
	})
	if err != nil {
		return res, apiError(CloudCrusoe, "list operations of "+name, err)
	}
	if len(ops) > 0 {
		res.OperationID = ops[0].OperationID
	}
	return res, nil
}

// CreateDiskInput is the input of CrusoeCreateDisk.
type CreateDiskInput struct {
	ProjectID string `json:"projectId,omitempty"`
	Name      string `json:"name"`
	Size      string `json:"size"`
	Type      string `json:"type,omitempty"`
	Location  string `json:"location"`
}

// CrusoeCreateDisk creates a disk unless one by that name exists.
func (a *CrusoeActivities) CrusoeCreateDisk(ctx context.Context, in CreateDiskInput) (CreateResult, error) {
	if err := a.ready(); err != nil {
		return CreateResult{}, err
	}
	if in.Name == "" || in.Size == "" || in.Location == "" {
		return CreateResult{}, invalidInput("disk name, size and location are required")
	}
	return createOnce(ctx, in.Name,
		func() (*crusoe.Disk, error) { return a.findDisk(ctx, in.ProjectID, "", in.Name) },
		func(d *crusoe.Disk) (CreateResult, error) {
			return a.adopt(ctx, in.ProjectID, crusoe.FamilyDisks, in.Name, d.ID)
		},
		func() (CreateResult, error) {
			return a.started("create disk " + in.Name)(a.Client.Disks.Create(ctx, in.ProjectID, &crusoe.DiskCreateRequest{
				Name: in.Name, Size: in.Size, Type: in.Type, Location: in.Location,
			}))
		})
}

// started shapes a create call's answer: the operation to wait on, which
// began now.
func (a *CrusoeActivities) started(what string) func(*crusoe.Operation, error) (CreateResult, error) {
	return func(op *crusoe.Operation, err error) (CreateResult, error) {
		if err != nil {
			return CreateResult{}, apiError(CloudCrusoe, what, err)
		}
		a.waits.began(op.OperationID)
		return CreateResult{OperationID: op.OperationID}, nil
	}
}

// CreateVMInput is the input of CrusoeCreateVM.
type CreateVMInput struct {
	ProjectID      string                  `json:"projectId,omitempty"`
	Name           string                  `json:"name"`
	Type           string                  `json:"type"`
	Location       string                  `json:"location"`
	Image          string                  `json:"image,omitempty"`
	SSHPublicKey   string                  `json:"sshPublicKey"`
	StartupScript  string                  `json:"startupScript,omitempty"`
	ShutdownScript string                  `json:"shutdownScript,omitempty"`
	Disks          []crusoe.DiskAttachment `json:"disks,omitempty"`
}

// CrusoeCreateVM creates a VM, with its disks attached, unless one by that name exists.
func (a *CrusoeActivities) CrusoeCreateVM(ctx context.Context, in CreateVMInput) (CreateResult, error) {
	if err := a.ready(); err != nil {
		return CreateResult{}, err
	}
	if in.Name == "" || in.Type == "" || in.Location == "" || in.SSHPublicKey == "" {
		return CreateResult{}, invalidInput("vm name, type, location and ssh public key are required")
	}
	return createOnce(ctx, in.Name,
		func() (*crusoe.VM, error) { return a.findVM(ctx, in.ProjectID, "", in.Name) },
		func(vm *crusoe.VM) (CreateResult, error) {
			if crusoe.NormalizeVMState(vm.State) == crusoe.VMStateDeleting {
				// Adopting it would join its delete. Wait for the name to free up.
				return CreateResult{}, temporal.NewApplicationError(
					fmt.Sprintf("vm %s is being deleted; the create waits until it is gone", in.Name), ErrTypeRetryableAPI)
			}
			return a.adopt(ctx, in.ProjectID, crusoe.FamilyVMs, in.Name, vm.ID)
		},
		func() (CreateResult, error) {
			return a.started("create vm " + in.Name)(a.Client.VMs.Create(ctx, in.ProjectID, &crusoe.VMCreateRequest{
				Name: in.Name, Type: in.Type, Location: in.Location, Image: in.Image,
				SSHPublicKey: in.SSHPublicKey, StartupScript: in.StartupScript, ShutdownScript: in.ShutdownScript,
				Disks: in.Disks,
			}))
		})
}

// CreateFirewallRuleInput is the input of CrusoeCreateFirewallRule.
type CreateFirewallRuleInput struct {
	ProjectID string `json:"projectId,omitempty"`
	Name      string `json:"name"`
	// VPCNetworkID, or else the network named VPCNetwork, is looked up.
	VPCNetworkID string   `json:"vpcNetworkId,omitempty"`
	VPCNetwork   string   `json:"vpcNetwork,omitempty"`
	Direction    string   `json:"direction"`
	Action       string   `json:"action"`
	Protocols    []string `json:"protocols"`
	// Sources and Destinations are CIDRs; the word "vm" stands for VMID.
	Sources          []string `json:"sources"`
	Destinations     []string `json:"destinations"`
	SourcePorts      []string `json:"sourcePorts,omitempty"`
	DestinationPorts []string `json:"destinationPorts,omitempty"`
	VMID             string   `json:"vmId,omitempty"`
	// VMPrivateIPv4 is the VM's private address, which the rule names as
	// its CIDR (/32) together with VMID. When empty, the VM is read for it.
	VMPrivateIPv4 string `json:"vmPrivateIpv4,omitempty"`
}

// CrusoeCreateFirewallRule creates a VPC firewall rule unless one by that name exists.
func (a *CrusoeActivities) CrusoeCreateFirewallRule(ctx context.Context, in CreateFirewallRuleInput) (CreateResult, error) {
	if err := a.ready(); err != nil {
		return CreateResult{}, err
	}
	if in.Name == "" || in.Direction == "" || in.Action == "" || len(in.Protocols) == 0 {
		return CreateResult{}, invalidInput("firewall rule name, direction, action and protocols are required")
	}
	namesVM := slices.Contains(in.Sources, KindVM) || slices.Contains(in.Destinations, KindVM)
	if namesVM && in.VMID == "" {
		return CreateResult{}, invalidInput("firewall rule refers to the vm before it exists")
	}
	var netID string
	var sources, dests []crusoe.FirewallRuleObject
	return createOnce(ctx, in.Name,
		func() (*crusoe.FirewallRule, error) {
			r, err := a.findFirewallRule(ctx, in.ProjectID, "", in.Name)
			if err != nil || r != nil {
				return r, err
			}
			// A rule to make needs its network, and the VM's address when
			// it names the VM, looked up before the create marker is recorded.
			if netID, err = a.networkID(ctx, in.ProjectID, in.VPCNetworkID, in.VPCNetwork); err != nil {
				return nil, err
			}
			vmCIDR := ""
			if namesVM {
				if vmCIDR, err = a.vmCIDR(ctx, in.ProjectID, in.VMID, in.VMPrivateIPv4); err != nil {
					return nil, err
				}
			}
			sources, dests = ruleObjects(in.Sources, in.VMID, vmCIDR), ruleObjects(in.Destinations, in.VMID, vmCIDR)
			return nil, nil
		},
		func(r *crusoe.FirewallRule) (CreateResult, error) {
			return a.adopt(ctx, in.ProjectID, crusoe.FamilyFirewallRules, in.Name, r.ID)
		},
		func() (CreateResult, error) {
			return a.started("create firewall rule " + in.Name)(a.Client.FirewallRules.Create(ctx, in.ProjectID, &crusoe.FirewallRuleCreateRequest{
				Name: in.Name, VPCNetworkID: netID, Direction: in.Direction, Action: in.Action,
				Protocols: in.Protocols, Sources: sources, Destinations: dests,
				SourcePorts: in.SourcePorts, DestinationPorts: in.DestinationPorts,
			}))
		})
}

// ruleObjects turns a rule's addresses into FirewallRuleObjects: a CIDR as
// it is, the word "vm" into the VM's address (vmCIDR) with its ID. Every
// FirewallRuleObject in the reference carries a CIDR.
func ruleObjects(addrs []string, vmID, vmCIDR string) []crusoe.FirewallRuleObject {
	out := make([]crusoe.FirewallRuleObject, 0, len(addrs))
	for _, a := range addrs {
		if a == KindVM {
			out = append(out, crusoe.FirewallRuleObject{CIDR: vmCIDR, ResourceID: vmID})
			continue
		}
		out = append(out, crusoe.FirewallRuleObject{CIDR: a})
	}
	return out
}

// vmCIDR is the VM's private IPv4 as a /32: the address given, or else the
// one the cloud reports for the VM.
func (a *CrusoeActivities) vmCIDR(ctx context.Context, projectID, vmID, ip string) (string, error) {
	if ip == "" {
		vm, err := a.findVM(ctx, projectID, vmID, "")
		if err != nil {
			return "", err
		}
		if vm == nil {
			return "", invalidInput("the firewall rule names vm %s, which does not exist", vmID)
		}
		ip = vmPrivateIPv4(vm.NetworkInterfaces)
	}
	if ip == "" {
		return "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("vm %s has no private IPv4 address for the firewall rule that names it", vmID), ErrTypeUnexpectedState, nil)
	}
	return ip + "/32", nil
}

// vmPrivateIPv4 is the first private IPv4 of a VM's network interfaces.
func vmPrivateIPv4(nics []crusoe.NetworkInterface) string {
	for _, n := range nics {
		for _, ip := range n.IPs {
			if ip.PrivateIPv4 != nil && ip.PrivateIPv4.Address != "" {
				return ip.PrivateIPv4.Address
			}
		}
	}
	return ""
}

func (a *CrusoeActivities) networkID(ctx context.Context, projectID, id, name string) (string, error) {
	if id != "" {
		return id, nil
	}
	if name == "" {
		name = "default"
	}
	nets, err := a.Client.VPCNetworks.List(ctx, projectID)
	if err != nil {
		return "", apiError(CloudCrusoe, "list vpc networks", err)
	}
	for _, n := range nets {
		if n.Name == name || n.ID == name {
			return n.ID, nil
		}
	}
	return "", invalidInput("no VPC network named %q in the project", name)
}

// CrusoeDeleteVM deletes a VM; its disks are detached by the cloud.
func (a *CrusoeActivities) CrusoeDeleteVM(ctx context.Context, in DeleteInput) (DeleteResult, error) {
	if err := a.ready(); err != nil {
		return DeleteResult{}, err
	}
	vm, err := a.findVM(ctx, in.ProjectID, in.ID, in.Name)
	if err != nil || vm == nil {
		return DeleteResult{AlreadyGone: vm == nil}, err
	}
	if crusoe.NormalizeVMState(vm.State) == crusoe.VMStateDeleting {
		return a.joinDelete(ctx, in.ProjectID, crusoe.FamilyVMs, vm.ID)
	}
	return a.deleted(ctx, in.ProjectID, crusoe.FamilyVMs, vm.ID, "vm "+vm.Name)(a.Client.VMs.Delete(ctx, in.ProjectID, vm.ID))
}

// CrusoeDeleteDisk deletes a disk. The cloud refuses while it is attached.
func (a *CrusoeActivities) CrusoeDeleteDisk(ctx context.Context, in DeleteInput) (DeleteResult, error) {
	if err := a.ready(); err != nil {
		return DeleteResult{}, err
	}
	d, err := a.findDisk(ctx, in.ProjectID, in.ID, in.Name)
	if err != nil || d == nil {
		return DeleteResult{AlreadyGone: d == nil}, err
	}
	return a.deleted(ctx, in.ProjectID, crusoe.FamilyDisks, d.ID, "disk "+d.Name)(a.Client.Disks.Delete(ctx, in.ProjectID, d.ID))
}

// CrusoeDeleteFirewallRule deletes a VPC firewall rule.
func (a *CrusoeActivities) CrusoeDeleteFirewallRule(ctx context.Context, in DeleteInput) (DeleteResult, error) {
	if err := a.ready(); err != nil {
		return DeleteResult{}, err
	}
	r, err := a.findFirewallRule(ctx, in.ProjectID, in.ID, in.Name)
	if err != nil || r == nil {
		return DeleteResult{AlreadyGone: r == nil}, err
	}
	return a.deleted(ctx, in.ProjectID, crusoe.FamilyFirewallRules, r.ID, "firewall rule "+r.Name)(a.Client.FirewallRules.Delete(ctx, in.ProjectID, r.ID))
}

// deleted shapes a delete call's answer: a 404 means someone else won the
// race; a 409 while an operation on the resource is in progress is
// ErrTypeResourceBusy, naming the operation to wait for. Every failure
// carries the resource's ID, which the delete may be the first to learn.
func (a *CrusoeActivities) deleted(ctx context.Context, projectID string, family crusoe.Family, id, what string) func(*crusoe.Operation, error) (DeleteResult, error) {
	return func(op *crusoe.Operation, err error) (DeleteResult, error) {
		switch {
		case crusoe.IsNotFound(err):
			return DeleteResult{ResourceID: id, AlreadyGone: true}, nil
		case crusoe.IsConflict(err):
			return DeleteResult{}, a.busy(ctx, projectID, family, id, "delete "+what, err)
		case err != nil:
			return DeleteResult{}, apiErrorOn(CloudCrusoe, "delete "+what, id, err)
		}
		a.waits.began(op.OperationID)
		return DeleteResult{ResourceID: id, OperationID: op.OperationID}, nil
	}
}

// busy turns a 409 on a change to resource id into the error to act on.
// The answer does not name what is in progress, so the family's operations
// are listed (resource_id, IN_PROGRESS): one found makes an
// ErrTypeResourceBusy naming it, for the caller to wait out; none found
// (it ended meanwhile) makes a retryable error, the change being worth
// another try.
func (a *CrusoeActivities) busy(ctx context.Context, projectID string, family crusoe.Family, id, what string, conflict error) error {
	opID, err := a.inProgress(ctx, projectID, family, id)
	if err != nil {
		return err
	}
	ce, _ := asCloudError(conflict)
	details := CloudErrorDetails{Cloud: CloudCrusoe, StatusCode: ce.status, Code: ce.code, Message: ce.message,
		RequestID: ce.requestID, ResourceID: id, OperationID: opID}
	if opID == "" {
		return temporal.NewApplicationErrorWithCause(what+": refused while the resource was busy; trying again",
			ErrTypeRetryableAPI, conflict, details)
	}
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("%s: operation %s is in progress on it", what, opID), ErrTypeResourceBusy, conflict, details)
}

// retryWhenIdle is the error of a change the cloud refused (409) while an
// operation on the resource was in progress, when no workflow logic waits
// for that operation: the activity's retry policy tries again, backing off.
func retryWhenIdle(what, resource string, conflict error) error {
	return temporal.NewApplicationErrorWithCause(
		fmt.Sprintf("%s: %s has an operation in progress; trying again", what, resource), ErrTypeRetryableAPI, conflict)
}

// inProgress is the operation in progress on a resource, or "" when there is none.
func (a *CrusoeActivities) inProgress(ctx context.Context, projectID string, family crusoe.Family, id string) (string, error) {
	ops, err := a.Client.Operations.List(ctx, projectID, family, &crusoe.OperationListOptions{
		ResourceID: id, States: []string{crusoe.OperationInProgress},
	})
	if err != nil {
		return "", apiErrorOn(CloudCrusoe, "list the operations in progress on "+id, id, err)
	}
	for _, op := range ops {
		if op.State == crusoe.OperationInProgress || op.State == "" {
			return op.OperationID, nil
		}
	}
	return "", nil
}

// joinDelete answers for a resource already being deleted: the delete in
// progress is the one to wait for.
func (a *CrusoeActivities) joinDelete(ctx context.Context, projectID string, family crusoe.Family, id string) (DeleteResult, error) {
	opID, err := a.inProgress(ctx, projectID, family, id)
	return DeleteResult{ResourceID: id, OperationID: opID}, err
}

// findVM looks a VM up by ID, or by name when there is no ID; nil when absent.
func (a *CrusoeActivities) findVM(ctx context.Context, projectID, id, name string) (*crusoe.VM, error) {
	return find(ctx, KindVM, id, name,
		func(ctx context.Context, id string) (*crusoe.VM, error) { return a.Client.VMs.Get(ctx, projectID, id) },
		func(ctx context.Context) ([]crusoe.VM, error) {
			// The API filters by name; the match below stays exact.
			return a.Client.VMs.ListAll(ctx, projectID, &crusoe.VMListOptions{Names: []string{name}})
		},
		func(vm crusoe.VM) string { return vm.Name })
}

func (a *CrusoeActivities) findDisk(ctx context.Context, projectID, id, name string) (*crusoe.Disk, error) {
	return find(ctx, KindDisk, id, name,
		func(ctx context.Context, id string) (*crusoe.Disk, error) {
			return a.Client.Disks.Get(ctx, projectID, id)
		},
		func(ctx context.Context) ([]crusoe.Disk, error) { return a.Client.Disks.List(ctx, projectID) },
		func(d crusoe.Disk) string { return d.Name })
}

func (a *CrusoeActivities) findFirewallRule(ctx context.Context, projectID, id, name string) (*crusoe.FirewallRule, error) {
	return find(ctx, KindFirewallRule, id, name,
		func(ctx context.Context, id string) (*crusoe.FirewallRule, error) {
			return a.Client.FirewallRules.Get(ctx, projectID, id)
		},
		func(ctx context.Context) ([]crusoe.FirewallRule, error) {
			return a.Client.FirewallRules.List(ctx, projectID)
		},
		func(r crusoe.FirewallRule) string { return r.Name })
}

// find looks a resource up by ID when there is one (a 404 means absent), else
// by exact name among those listed. It returns nil, nil when there is none.
func find[T any](ctx context.Context, kind, id, name string,
	get func(context.Context, string) (*T, error), list func(context.Context) ([]T, error), nameOf func(T) string,
) (*T, error) {
	if id != "" {
		r, err := get(ctx, id)
		if crusoe.IsNotFound(err) {
			return nil, nil
		}
		return r, apiErrorOn(CloudCrusoe, "get "+kind+" "+id, id, err)
	}
	if name == "" {
		return nil, invalidInput("a %s id or name is required", kind)
	}
	items, err := list(ctx)
	if err != nil {
		return nil, apiError(CloudCrusoe, "list "+kind+"s", err)
	}
	for i := range items {
		if nameOf(items[i]) == name {
			return &items[i], nil
		}
	}
	return nil, nil
}

// WaitInput is the input of CrusoeWait.
type WaitInput struct {
	ProjectID string `json:"projectId,omitempty"`
	Kind      string `json:"kind"`
	// OperationID is polled while it is known to the cloud; when it is empty,
	// unknown or expired, the resource (by ResourceID, else Name) decides.
	OperationID string `json:"operationId,omitempty"`
	ResourceID  string `json:"resourceId,omitempty"`
	Name        string `json:"name,omitempty"`
	// Gone waits for the resource to disappear instead of to be ready.
	Gone bool `json:"gone,omitempty"`
	// TargetState, when set, is the VM state (STATE_ form) the wait ends in
	// when it is resolved from the resource, e.g. after a START.
	TargetState string `json:"targetState,omitempty"`
	// Settle waits only until the operation ends, whatever its outcome (an
	// undo waiting out the create in progress on what it deletes); an
	// operation the cloud no longer knows has ended. It needs OperationID.
	Settle  bool          `json:"settle,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
}

// WaitResult is the settled resource.
type WaitResult struct {
	ResourceID string `json:"resourceId,omitempty"`
	State      string `json:"state,omitempty"`
	// PrivateIPv4 is a VM's private address, when the cloud reported it.
	PrivateIPv4 string `json:"privateIpv4,omitempty"`
	// Resolution says how the outcome was learned: "operation" or "resource".
	Resolution string `json:"resolution"`
	Polls      int    `json:"polls"`
}

// CrusoeWait waits out an asynchronous Crusoe operation durably: see waitFor.
// A failed operation is a non-retryable error carrying the cloud's code and
// message; an expired or unknown one is resolved from the resource itself.
func (a *CrusoeActivities) CrusoeWait(ctx context.Context, in WaitInput) (WaitResult, error) {
	if err := a.ready(); err != nil {
		return WaitResult{}, err
	}
	family, ok := kindFamily[in.Kind]
	if !ok {
		return WaitResult{}, invalidInput("unknown resource kind %q", in.Kind)
	}
	if in.OperationID == "" && in.ResourceID == "" && in.Name == "" {
		return WaitResult{}, invalidInput("nothing to wait for: no operation, resource id or name")
	}
	if in.Settle && in.OperationID == "" {
		return WaitResult{}, invalidInput("a wait for an operation to end needs its ID")
	}
	target := fmt.Sprintf("%s %s", in.Kind, firstNonEmpty(in.Name, in.ResourceID))
	if in.OperationID != "" {
		target += " (operation " + in.OperationID + ")"
	}
	return runWait(ctx, a.Async, func(ctx context.Context, env waitEnv) (WaitResult, error) {
		return a.crusoeWait(ctx, env, in, family, target)
	})
}

func (a *CrusoeActivities) crusoeWait(ctx context.Context, env waitEnv, in WaitInput, family crusoe.Family, target string) (WaitResult, error) {
	res := WaitResult{ResourceID: in.ResourceID}
	spec := wait{target: target, timeout: in.Timeout, policy: a.poll(), kind: in.learnedAs()}
	if in.OperationID != "" {
		spec.since = a.waits.since(in.OperationID)
		defer a.ops.watch(in.OperationID)()
	}
	wp, err := a.waits.run(ctx, env, spec, func(ctx context.Context, wp *WaitProgress) (bool, error) {
		if in.OperationID != "" && !wp.ResolveFromResource {
			op, err := a.operation(ctx, in.ProjectID, family, in.OperationID)
			if err == nil {
				wp.sinceCloud(parseCloudTime(op.StartedAt))
				if op.Done() {
					wp.endedCloud(parseCloudTime(op.StartedAt), parseCloudTime(op.CompletedAt))
				}
			}
			switch {
			case in.Settle && isGoneOperation(err):
				res.Resolution = "operation"
				return true, nil
			case in.Settle && err == nil:
				wp.State, res.Resolution = op.State, "operation"
				return op.State != crusoe.OperationInProgress, nil
			case isGoneOperation(err):
				activity.GetLogger(ctx).Info("operation unknown or expired; resolving from the resource", "operation", in.OperationID)
				wp.ResolveFromResource = true
			case err != nil:
				return false, err
			default:
				wp.State = op.State
				res.Resolution = "operation"
				return a.settleOperation(ctx, in, op, &res)
			}
		}
		res.Resolution = "resource"
		return a.settleResource(ctx, in, wp, &res)
	})
	recordWait(a.Metrics, CloudCrusoe, in.Kind, in.verb(), wp, err)
	res.Polls = wp.Polls
	if err != nil {
		return res, err
	}
	return res, nil
}

// learnedAs is the kind of operation whose duration the wait learns
// ("crusoe/vm/start"); a wait for someone else's operation to end (Settle)
// learns nothing.
func (in WaitInput) learnedAs() string {
	verb := "create"
	switch {
	case in.Settle:
		return ""
	case in.Gone:
		verb = "delete"
	case in.TargetState == crusoe.VMStateRunning:
		verb = "start"
	case in.TargetState != "":
		verb = "stop"
	}
	return CloudCrusoe + "/" + in.Kind + "/" + verb
}

var kindFamily = map[string]crusoe.Family{
	KindVM:           crusoe.FamilyVMs,
	KindDisk:         crusoe.FamilyDisks,
	KindFirewallRule: crusoe.FamilyFirewallRules,
	KindSnapshot:     crusoe.FamilySnapshots,
}

// isGoneOperation: the API answers 403 for an operation that does not exist
// or has expired (NOTES.md); 404 is taken the same way.
func isGoneOperation(err error) bool {
	var ae *crusoe.APIError
	return errors.As(err, &ae) && (ae.StatusCode == 403 || ae.StatusCode == 404)
}

func (a *CrusoeActivities) settleOperation(ctx context.Context, in WaitInput, op *crusoe.Operation, res *WaitResult) (bool, error) {
	switch op.State {
	case crusoe.OperationInProgress:
		return false, nil
	case crusoe.OperationFailed:
		f := op.Failure()
		return true, operationFailed(CloudCrusoe, fmt.Sprintf("%s %s", in.Kind, firstNonEmpty(in.Name, in.ResourceID)), op.OperationID, f.Code, f.Message)
	case crusoe.OperationSucceeded:
		if in.Gone {
			return true, nil
		}
		var r struct {
			ID                string                    `json:"id"`
			State             string                    `json:"state"`
			NetworkInterfaces []crusoe.NetworkInterface `json:"network_interfaces"`
		}
		if err := op.DecodeResult(&r); err == nil && r.ID != "" {
			res.ResourceID, res.State, res.PrivateIPv4 = r.ID, r.State, vmPrivateIPv4(r.NetworkInterfaces)
			return true, nil
		}
		// The result did not name the resource: read it by name.
		return a.settleResource(ctx, in, &WaitProgress{}, res)
	}
	return false, unexpectedState(in.Kind, op.State)
}

// settleResource decides the wait from the resource itself.
func (a *CrusoeActivities) settleResource(ctx context.Context, in WaitInput, wp *WaitProgress, res *WaitResult) (bool, error) {
	r, err := a.lookup(ctx, in.ProjectID, in.Kind, firstNonEmpty(res.ResourceID, in.ResourceID), in.Name)
	if err != nil {
		return false, err
	}
	state := r.state
	wp.State = state
	if in.Gone {
		return !r.found, nil
	}
	if !r.found {
		return true, operationFailed(CloudCrusoe, fmt.Sprintf("%s %s", in.Kind, firstNonEmpty(in.Name, in.ResourceID)), in.OperationID,
			"NOT_FOUND", "the resource does not exist: its creation did not complete")
	}
	res.ResourceID, res.State, res.PrivateIPv4 = r.id, state, r.privateIPv4
	if in.TargetState != "" {
		switch {
		case state == in.TargetState:
			return true, nil
		case state == crusoe.VMStateStarting || state == crusoe.VMStateStopping:
			return false, nil
		}
		return true, unexpectedState(in.Kind, state)
	}
	switch state {
	case crusoe.VMStateCreating, "pending", "creating":
		return false, nil
	}
	return true, nil
}

// looked is what lookup found of a resource.
type looked struct {
	found       bool
	id, state   string
	privateIPv4 string // a VM's
}

func (a *CrusoeActivities) lookup(ctx context.Context, projectID, kind, id, name string) (looked, error) {
	switch kind {
	case KindVM:
		vm, err := a.findVM(ctx, projectID, id, name)
		if err != nil || vm == nil {
			return looked{}, err
		}
		return looked{true, vm.ID, crusoe.NormalizeVMState(vm.State), vmPrivateIPv4(vm.NetworkInterfaces)}, nil
	case KindDisk:
		d, err := a.findDisk(ctx, projectID, id, name)
		if err != nil || d == nil {
			return looked{}, err
		}
		return looked{found: true, id: d.ID}, nil
	case KindFirewallRule:
		r, err := a.findFirewallRule(ctx, projectID, id, name)
		if err != nil || r == nil {
			return looked{}, err
		}
		return looked{found: true, id: r.ID, state: r.State}, nil
	case KindSnapshot:
		// A snapshot has no name; name is its disk's, for messages only.
		s, err := a.findSnapshot(ctx, projectID, id)
		if err != nil || s == nil {
			return looked{}, err
		}
		return looked{found: true, id: s.ID}, nil
	}
	return looked{}, invalidInput("unknown resource kind %q", kind)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
