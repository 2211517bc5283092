package activities

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudflow/cloudflow/clients/crusoe"
)

// CrusoeDiskSize writes a disk size in the canonical form a stack compares:
// whole GiB ("1TiB" is "1024GiB"). A size it cannot read is returned as is.
func CrusoeDiskSize(s string) string {
	if gib, ok := crusoeGiB(s); ok {
		return strconv.FormatInt(gib, 10) + "GiB"
	}
	return s
}

func crusoeGiB(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	mult := int64(0)
	switch {
	case strings.HasSuffix(s, "GiB"):
		mult, s = 1, strings.TrimSuffix(s, "GiB")
	case strings.HasSuffix(s, "TiB"):
		mult, s = 1024, strings.TrimSuffix(s, "TiB")
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n * mult, true
}

// CrusoeDiskShrinks reports whether going from size old to new (any form
// CrusoeDiskSize reads) makes a disk smaller: the cloud cannot, and the data
// would not fit.
func CrusoeDiskShrinks(old, new string) bool {
	o, ok1 := crusoeGiB(old)
	n, ok2 := crusoeGiB(new)
	return ok1 && ok2 && n < o
}

// CrusoeRuleAddr is a firewall rule's source or destination in the
// canonical form a stack compares: "vm:<id>" for an object naming a
// resource, else its CIDR, masked.
func CrusoeRuleAddr(o crusoe.FirewallRuleObject) string {
	if o.ResourceID != "" {
		return "vm:" + o.ResourceID
	}
	return CanonicalCIDR(o.CIDR)
}

// crusoeVMDisks is a VM's data disks in canonical form: "name:mode" sorted.
func crusoeVMDisks(vm *crusoe.VM) string {
	var ds []string
	for _, d := range vm.Disks {
		if d.AttachmentType != "" && d.AttachmentType != "data" {
			continue // the boot disk is the VM's own
		}
		mode := d.Mode
		if mode == "" {
			mode = "read-write"
		}
		ds = append(ds, d.Name+":"+mode)
	}
	return CanonicalList(ds)
}

// CrusoeObserve reads the resources a stack names: each by ID when it has
// one (a resource gone under that ID is looked for by name, and reported
// with the ID found), else by name. It lists each family at most once.
func (a *CrusoeActivities) CrusoeObserve(ctx context.Context, in ObserveInput) (ObserveResult, error) {
	if err := a.ready(); err != nil {
		return ObserveResult{}, err
	}
	o := crusoeObserver{a: a, projectID: in.ProjectID}
	out := ObserveResult{Resources: make([]Observed, 0, len(in.Resources))}
	for _, ref := range in.Resources {
		obs, err := o.observe(ctx, ref)
		if err != nil {
			return ObserveResult{}, err
		}
		out.Resources = append(out.Resources, obs)
	}
	return out, nil
}

// crusoeObserver caches one listing per family for one CrusoeObserve call.
type crusoeObserver struct {
	a         *CrusoeActivities
	projectID string
	disks     []crusoe.Disk
	rules     []crusoe.FirewallRule
	listed    map[string]bool
}

func (o *crusoeObserver) observe(ctx context.Context, ref ObserveRef) (Observed, error) {
	obs := Observed{Key: ref.Key, Kind: ref.Kind, Name: ref.Name}
	switch ref.Kind {
	case KindDisk:
		d, err := o.disk(ctx, ref)
		if err != nil || d == nil {
			return obs, err
		}
		obs.Found, obs.ID = true, d.ID
		obs.Attrs = map[string]string{"size": CrusoeDiskSize(d.Size), "type": d.Type, "location": d.Location}
	case KindVM:
		vm, err := o.vm(ctx, ref)
		if err != nil || vm == nil {
			return obs, err
		}
		obs.Found, obs.ID, obs.State = true, vm.ID, crusoe.NormalizeVMState(vm.State)
		obs.Attrs = map[string]string{"type": vm.Type, "location": vm.Location, "disks": crusoeVMDisks(vm)}
		obs.Outputs = crusoeVMOutputs(vm)
	case KindFirewallRule:
		r, err := o.rule(ctx, ref)
		if err != nil || r == nil {
			return obs, err
		}
		obs.Found, obs.ID, obs.State = true, r.ID, r.State
		obs.Attrs = map[string]string{
			"direction": r.Direction, "action": r.Action,
			"protocols": CanonicalList(r.Protocols),
			"sources":   crusoeRuleAddrs(r.Sources), "destinations": crusoeRuleAddrs(r.Destinations),
			"sourcePorts": CanonicalList(r.SourcePorts), "destinationPorts": CanonicalList(r.DestinationPorts),
		}
	default:
		return obs, invalidInput("a stack cannot observe a Crusoe %q", ref.Kind)
	}
	return obs, nil
}

func crusoeRuleAddrs(objs []crusoe.FirewallRuleObject) string {
	addrs := make([]string, len(objs))
	for i, o := range objs {
		addrs[i] = CrusoeRuleAddr(o)
	}
	return CanonicalList(addrs)
}

// crusoeVMOutputs are a VM's addresses and SSH destination, as the cloud
// reports them.
func crusoeVMOutputs(vm *crusoe.VM) map[string]string {
	out := map[string]string{}
	for _, nic := range vm.NetworkInterfaces {
		for _, ip := range nic.IPs {
			if ip.PrivateIPv4 != nil && ip.PrivateIPv4.Address != "" && out[OutputPrivateIPv4] == "" {
				out[OutputPrivateIPv4] = ip.PrivateIPv4.Address
			}
			if ip.PublicIPv4 != nil && ip.PublicIPv4.Address != "" && out[OutputPublicIPv4] == "" {
				out[OutputPublicIPv4] = ip.PublicIPv4.Address
			}
		}
	}
	if vm.SSHDestination != "" {
		out[OutputSSHDestination] = vm.SSHDestination
	}
	return out
}

func (o *crusoeObserver) disk(ctx context.Context, ref ObserveRef) (*crusoe.Disk, error) {
	if ref.ID != "" {
		d, err := o.a.findDisk(ctx, o.projectID, ref.ID, "")
		if err != nil || d != nil {
			return d, err
		}
	}
	if !o.listed["disks"] {
		ds, err := o.a.Client.Disks.List(ctx, o.projectID)
		if err != nil {
			return nil, apiError(CloudCrusoe, "list disks", err)
		}
		o.disks = ds
		o.mark("disks")
	}
	for i := range o.disks {
		if o.disks[i].Name == ref.Name {
			return &o.disks[i], nil
		}
	}
	return nil, nil
}

func (o *crusoeObserver) rule(ctx context.Context, ref ObserveRef) (*crusoe.FirewallRule, error) {
	if ref.ID != "" {
		r, err := o.a.findFirewallRule(ctx, o.projectID, ref.ID, "")
		if err != nil || r != nil {
			return r, err
		}
	}
	if !o.listed["rules"] {
		rs, err := o.a.Client.FirewallRules.List(ctx, o.projectID)
		if err != nil {
			return nil, apiError(CloudCrusoe, "list firewall rules", err)
		}
		o.rules = rs
		o.mark("rules")
	}
	for i := range o.rules {
		if o.rules[i].Name == ref.Name {
			return &o.rules[i], nil
		}
	}
	return nil, nil
}

func (o *crusoeObserver) vm(ctx context.Context, ref ObserveRef) (*crusoe.VM, error) {
	if ref.ID != "" {
		vm, err := o.a.findVM(ctx, o.projectID, ref.ID, "")
		if err != nil || vm != nil {
			return vm, err
		}
	}
	return o.a.findVM(ctx, o.projectID, "", ref.Name)
}

func (o *crusoeObserver) mark(family string) {
	if o.listed == nil {
		o.listed = map[string]bool{}
	}
	o.listed[family] = true
}

// ResizeDiskInput is the input of CrusoeResizeDisk.
type ResizeDiskInput struct {
	ProjectID string `json:"projectId,omitempty"`
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Size      string `json:"size"`
}

// CrusoeResizeDisk grows a disk in place. A retry that finds the disk at the
// size already, or its resize running, answers with that.
func (a *CrusoeActivities) CrusoeResizeDisk(ctx context.Context, in ResizeDiskInput) (CreateResult, error) {
	if err := a.ready(); err != nil {
		return CreateResult{}, err
	}
	if in.ID == "" || in.Size == "" {
		return CreateResult{}, invalidInput("disk id and size are required")
	}
	d, err := a.findDisk(ctx, in.ProjectID, in.ID, "")
	if err != nil {
		return CreateResult{}, err
	}
	if d == nil {
		return CreateResult{}, invalidInput("disk %s (%s) does not exist", in.Name, in.ID)
	}
	if CrusoeDiskSize(d.Size) == CrusoeDiskSize(in.Size) {
		return a.adopt(ctx, in.ProjectID, crusoe.FamilyDisks, d.Name, d.ID)
	}
	op, err := a.Client.Disks.Resize(ctx, in.ProjectID, in.ID, in.Size)
	if err != nil {
		return CreateResult{}, apiError(CloudCrusoe, fmt.Sprintf("resize disk %s to %s", orUnknown(in.Name), in.Size), err)
	}
	return CreateResult{ResourceID: in.ID, OperationID: op.OperationID}, nil
}

// UpdateFirewallRuleInput is the input of CrusoeUpdateFirewallRule: the
// fields a rule can change in place, all of them, as the rule should be.
type UpdateFirewallRuleInput struct {
	ProjectID        string   `json:"projectId,omitempty"`
	ID               string   `json:"id"`
	Name             string   `json:"name,omitempty"`
	Protocols        []string `json:"protocols"`
	Sources          []string `json:"sources"`
	Destinations     []string `json:"destinations"`
	SourcePorts      []string `json:"sourcePorts,omitempty"`
	DestinationPorts []string `json:"destinationPorts,omitempty"`
	// VMID stands for the word "vm" in Sources and Destinations: the object
	// carries the VM's ID and its private IPv4 as a /32 (the reference's
	// FirewallRuleObject always has a cidr), which the activity reads.
	VMID string `json:"vmId,omitempty"`
}

// CrusoeUpdateFirewallRule changes a rule in place (PATCH).
func (a *CrusoeActivities) CrusoeUpdateFirewallRule(ctx context.Context, in UpdateFirewallRuleInput) (CreateResult, error) {
	if err := a.ready(); err != nil {
		return CreateResult{}, err
	}
	if in.ID == "" || len(in.Protocols) == 0 {
		return CreateResult{}, invalidInput("firewall rule id and protocols are required")
	}
	vmIP := ""
	if in.VMID != "" {
		vm, err := a.findVM(ctx, in.ProjectID, in.VMID, "")
		if err != nil {
			return CreateResult{}, err
		}
		if vm != nil {
			vmIP = crusoeVMOutputs(vm)[OutputPrivateIPv4]
		}
	}
	sources, err := stackRuleObjects(in.Sources, in.VMID, vmIP)
	if err != nil {
		return CreateResult{}, err
	}
	dests, err := stackRuleObjects(in.Destinations, in.VMID, vmIP)
	if err != nil {
		return CreateResult{}, err
	}
	op, err := a.Client.FirewallRules.Update(ctx, in.ProjectID, in.ID, &crusoe.FirewallRulePatchRequest{
		Protocols: in.Protocols, Sources: sources, Destinations: dests,
		SourcePorts: in.SourcePorts, DestinationPorts: in.DestinationPorts,
	})
	if err != nil {
		return CreateResult{}, apiError(CloudCrusoe, "update firewall rule "+orUnknown(in.Name), err)
	}
	return CreateResult{ResourceID: in.ID, OperationID: op.OperationID}, nil
}

// stackRuleObjects turns addresses into rule objects; "vm" is the VM's
// private IPv4 as a /32 together with its ID.
func stackRuleObjects(addrs []string, vmID, vmIP string) ([]crusoe.FirewallRuleObject, error) {
	out := make([]crusoe.FirewallRuleObject, 0, len(addrs))
	for _, s := range addrs {
		if s != KindVM {
			out = append(out, crusoe.FirewallRuleObject{CIDR: s})
			continue
		}
		if vmID == "" || vmIP == "" {
			return nil, invalidInput("firewall rule refers to the vm, whose id and private IPv4 are not known")
		}
		out = append(out, crusoe.FirewallRuleObject{CIDR: CanonicalCIDR(vmIP), ResourceID: vmID})
	}
	return out, nil
}

// UpdateVMTypeInput is the input of CrusoeUpdateVMType.
type UpdateVMTypeInput struct {
	ProjectID string `json:"projectId,omitempty"`
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Type      string `json:"type"`
}

// CrusoeUpdateVMType changes a stopped VM's type (PATCH action UPDATE). A
// retry that finds the type changed answers with no operation.
func (a *CrusoeActivities) CrusoeUpdateVMType(ctx context.Context, in UpdateVMTypeInput) (CreateResult, error) {
	if err := a.ready(); err != nil {
		return CreateResult{}, err
	}
	if in.ID == "" || in.Type == "" {
		return CreateResult{}, invalidInput("vm id and type are required")
	}
	vm, err := a.findVM(ctx, in.ProjectID, in.ID, "")
	if err != nil {
		return CreateResult{}, err
	}
	if vm == nil {
		return CreateResult{}, invalidInput("vm %s (%s) does not exist", in.Name, in.ID)
	}
	if vm.Type == in.Type {
		return a.adopt(ctx, in.ProjectID, crusoe.FamilyVMs, vm.Name, vm.ID)
	}
	op, err := a.Client.VMs.Update(ctx, in.ProjectID, in.ID, &crusoe.VMUpdateRequest{Action: crusoe.VMActionUpdate, Type: in.Type})
	if err != nil {
		return CreateResult{}, apiError(CloudCrusoe, fmt.Sprintf("change vm %s to type %s", orUnknown(in.Name), in.Type), err)
	}
	return CreateResult{ResourceID: in.ID, OperationID: op.OperationID}, nil
}

// AttachDisksInput is the input of CrusoeAttachDisks and CrusoeDetachDisks.
type AttachDisksInput struct {
	ProjectID string                  `json:"projectId,omitempty"`
	VMID      string                  `json:"vmId"`
	Name      string                  `json:"name,omitempty"`
	Disks     []crusoe.DiskAttachment `json:"disks,omitempty"`
	// DetachOthers (CrusoeDetachDisks only) detaches every data disk the VM
	// has except those OnlyKeep lists by ID, instead of Disks.
	DetachOthers bool     `json:"detachOthers,omitempty"`
	OnlyKeep     []string `json:"onlyKeep,omitempty"`
}

// CrusoeAttachDisks attaches disks to a VM; those attached already are left
// out, and with none left there is no call and no operation.
func (a *CrusoeActivities) CrusoeAttachDisks(ctx context.Context, in AttachDisksInput) (CreateResult, error) {
	return a.attachment(ctx, in, true)
}

// CrusoeDetachDisks detaches disks from a VM; those not attached are left
// out, and with none left there is no call and no operation.
func (a *CrusoeActivities) CrusoeDetachDisks(ctx context.Context, in AttachDisksInput) (CreateResult, error) {
	return a.attachment(ctx, in, false)
}

func (a *CrusoeActivities) attachment(ctx context.Context, in AttachDisksInput, attach bool) (CreateResult, error) {
	if err := a.ready(); err != nil {
		return CreateResult{}, err
	}
	if in.VMID == "" || (len(in.Disks) == 0 && !in.DetachOthers) {
		return CreateResult{}, invalidInput("vm id and disks are required")
	}
	vm, err := a.findVM(ctx, in.ProjectID, in.VMID, "")
	if err != nil {
		return CreateResult{}, err
	}
	if vm == nil {
		return CreateResult{}, invalidInput("vm %s (%s) does not exist", in.Name, in.VMID)
	}
	attached := map[string]bool{}
	for _, d := range vm.Disks {
		attached[d.ID] = true
	}
	var todo []crusoe.DiskAttachment
	if !attach && in.DetachOthers {
		keep := map[string]bool{}
		for _, id := range in.OnlyKeep {
			keep[id] = true
		}
		for _, d := range vm.Disks {
			if (d.AttachmentType == "" || d.AttachmentType == "data") && !keep[d.ID] {
				todo = append(todo, crusoe.DiskAttachment{DiskID: d.ID})
			}
		}
	} else {
		for _, d := range in.Disks {
			if attached[d.DiskID] != attach {
				todo = append(todo, d)
			}
		}
	}
	if len(todo) == 0 {
		return a.adopt(ctx, in.ProjectID, crusoe.FamilyVMs, vm.Name, vm.ID)
	}
	var op *crusoe.Operation
	if attach {
		op, err = a.Client.VMs.AttachDisks(ctx, in.ProjectID, in.VMID, todo)
	} else {
		ids := make([]string, len(todo))
		for i, d := range todo {
			ids[i] = d.DiskID
		}
		op, err = a.Client.VMs.DetachDisks(ctx, in.ProjectID, in.VMID, ids)
	}
	verb := map[bool]string{true: "attach disks to", false: "detach disks from"}[attach]
	if err != nil {
		return CreateResult{}, apiError(CloudCrusoe, fmt.Sprintf("%s vm %s", verb, orUnknown(in.Name)), err)
	}
	return CreateResult{ResourceID: in.VMID, OperationID: op.OperationID}, nil
}
