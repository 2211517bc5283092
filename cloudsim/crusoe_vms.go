package cloudsim

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// VM states. The simulator moves a VM through the transitional states while
// its operation runs; STATE_STOPPED and STATE_RUNNING are the resting ones.
const (
	vmCreating  = "STATE_CREATING"
	vmRunning   = "STATE_RUNNING"
	vmStarting  = "STATE_STARTING"
	vmStopping  = "STATE_STOPPING"
	vmStopped   = "STATE_STOPPED"
	vmResetting = "STATE_RESETTING"
	vmUpdating  = "STATE_UPDATING"
	vmDeleting  = "STATE_DELETING"
)

// crusoeVM is a VM as the API renders it, plus what the simulator keeps aside.
type crusoeVM struct {
	CommitmentEnd          string              `json:"commitment_end"`
	CommitmentPeriod       int64               `json:"commitment_period"`
	CreatedAt              string              `json:"created_at"`
	Disks                  []crusoeVMDisk      `json:"disks"`
	HostChannelAdapters    []crusoeHCA         `json:"host_channel_adapters"`
	ID                     string              `json:"id"`
	InstanceGroupID        string              `json:"instance_group_id,omitempty"`
	InstanceTemplateID     string              `json:"instance_template_id,omitempty"`
	Location               string              `json:"location"`
	Name                   string              `json:"name"`
	NetworkInterfaces      []crusoeNIC         `json:"network_interfaces"`
	ProjectID              string              `json:"project_id"`
	ReservationID          string              `json:"reservation_id,omitempty"`
	SSHDestination         string              `json:"ssh_destination"`
	State                  string              `json:"state"`
	Type                   string              `json:"type"`
	UpdatedAt              string              `json:"updated_at"`
	VirtualizationFeatures *crusoeVirtFeatures `json:"virtualization_features,omitempty"`

	base       string   // the state apart from pending deletes
	updateRest string   // the state an UPDATE in flight returns to
	deleting   int      // delete operations in flight
	diskIDs    []string // attached disks in attach order
	ownDisks   []string // disks created with the VM (bulk create), removed if it fails
}

type crusoeVMDisk struct {
	AttachmentType string `json:"attachment_type"`
	BlockSize      int64  `json:"block_size"`
	CreatedAt      string `json:"created_at"`
	ID             string `json:"id"`
	Location       string `json:"location"`
	Mode           string `json:"mode"`
	Name           string `json:"name"`
	SerialNumber   string `json:"serial_number"`
	Size           string `json:"size"`
	Type           string `json:"type"`
	UpdatedAt      string `json:"updated_at"`
}

type crusoeHCA struct {
	GUID          string `json:"guid"`
	IBNetworkID   string `json:"ib_network_id"`
	IBPartitionID string `json:"ib_partition_id"`
	Type          string `json:"type"`
}

type crusoeNIC struct {
	ID            string     `json:"id"`
	InterfaceType string     `json:"interface_type"`
	IPs           []crusoeIP `json:"ips"`
	MACAddress    string     `json:"mac_address"`
	Name          string     `json:"name"`
	Network       string     `json:"network"`
	Subnet        string     `json:"subnet"`
}

type crusoeIP struct {
	PrivateIPv4 *crusoeAddress       `json:"private_ipv4,omitempty"`
	PublicIPv4  *crusoePublicAddress `json:"public_ipv4,omitempty"`
}

type crusoeAddress struct {
	Address string `json:"address"`
}

type crusoePublicAddress struct {
	Address string `json:"address"`
	ID      string `json:"id"`
	Type    string `json:"type"`
}

type crusoeVirtFeatures struct {
	NestedVirtualization bool `json:"nested_virtualization"`
}

// renderVM is the VM as GET answers it.
func (c *crusoeCloud) renderVM(v *crusoeVM) crusoeVM {
	out := *v
	out.State = v.base
	if v.deleting > 0 {
		out.State = vmDeleting
	}
	out.Disks = []crusoeVMDisk{}
	for _, id := range v.diskIDs {
		d := c.st.disks.get(id)
		if d == nil {
			continue
		}
		a := d.attachment(v.ID)
		out.Disks = append(out.Disks, crusoeVMDisk{
			AttachmentType: a.AttachmentType, BlockSize: d.BlockSize, CreatedAt: d.CreatedAt, ID: d.ID,
			Location: d.Location, Mode: a.Mode, Name: d.Name, SerialNumber: d.SerialNumber,
			Size: d.Size, Type: d.Type, UpdatedAt: d.UpdatedAt,
		})
	}
	out.HostChannelAdapters = append([]crusoeHCA{}, v.HostChannelAdapters...)
	out.NetworkInterfaces = append([]crusoeNIC{}, v.NetworkInterfaces...)
	return out
}

// crusoeVMType is an entry of GET compute/vms/types.
type crusoeVMType struct {
	CPUCores    int    `json:"cpu_cores"`
	CPUType     string `json:"cpu_type"`
	Description string `json:"description"`
	DiskGB      int    `json:"disk_gb"`
	DiskType    string `json:"disk_type"`
	GPUType     string `json:"gpu_type"`
	MemoryGB    int    `json:"memory_gb"`
	MemoryType  string `json:"memory_type"`
	NumGPU      int    `json:"num_gpu"`
	ProductName string `json:"product_name"`
}

// crusoeVMTypes is the fixed catalogue of VM types.
var crusoeVMTypes = func() []crusoeVMType {
	var out []crusoeVMType
	gpu := func(prefix, gpuType, label string, coresPerGPU, memPerGPU, diskPerGPU int, counts ...int) {
		for _, n := range counts {
			out = append(out, crusoeVMType{
				CPUCores: coresPerGPU * n, CPUType: "amd", Description: fmt.Sprintf("%dx Nvidia %s", n, label),
				DiskGB: diskPerGPU * n, DiskType: "SSD", GPUType: gpuType, MemoryGB: memPerGPU * n,
				MemoryType: "RAM", NumGPU: n, ProductName: fmt.Sprintf("%s.%dx", prefix, n),
			})
		}
	}
	gpu("a100", "A100", "A100", 12, 120, 128, 1, 2, 4, 8)
	gpu("a100-80gb", "A100-80GB", "A100 80GB", 12, 120, 128, 1, 2, 4, 8)
	gpu("a40", "A40", "A40", 6, 60, 128, 1, 2, 4, 8)
	gpu("l40s-48gb", "L40S-48GB", "L40S 48GB", 8, 147, 128, 1, 2, 4, 8)
	gpu("h100-80gb-sxm-ib", "H100-80GB-SXM", "H100 80GB SXM", 22, 240, 1000, 8)
	for _, n := range []int{2, 4, 8, 16, 32} {
		out = append(out, crusoeVMType{
			CPUCores: n, CPUType: "amd", Description: fmt.Sprintf("%d vCPU general purpose", n),
			DiskGB: 8, DiskType: "SSD", MemoryGB: n * 4, MemoryType: "RAM", ProductName: fmt.Sprintf("c1a.%dx", n),
		})
	}
	return out
}()

func knownVMType(t string) bool {
	return slices.ContainsFunc(crusoeVMTypes, func(x crusoeVMType) bool { return x.ProductName == t })
}

func vmTypeNames() []string {
	out := make([]string, len(crusoeVMTypes))
	for i, t := range crusoeVMTypes {
		out[i] = t.ProductName
	}
	return out
}

func crusoeLocationNames() []string {
	out := make([]string, len(crusoeLocations))
	for i, l := range crusoeLocations {
		out[i] = l.name
	}
	return out
}

func checkLocation(field, loc string) error {
	if loc == "" {
		return missingField(field)
	}
	if !slices.Contains(crusoeLocationNames(), loc) {
		return badEnum(field, loc, crusoeLocationNames()...)
	}
	return nil
}

func (c *crusoeCloud) listVMTypes(r *http.Request) (any, error) {
	return listOf(crusoeVMTypes), nil
}

// Requests.

type crusoeVMCreateRequest struct {
	CommitmentPeriod         int64                  `json:"commitment_period"`
	Disks                    []crusoeAttachRequest  `json:"disks"`
	HostChannelAdapters      []crusoeHCARequest     `json:"host_channel_adapters"`
	Image                    string                 `json:"image"`
	Location                 string                 `json:"location"`
	Name                     string                 `json:"name"`
	NetworkInterfaces        []crusoeNICRequest     `json:"network_interfaces"`
	ReservationSpecification *crusoeReservationSpec `json:"reservation_specification"`
	ShutdownScript           string                 `json:"shutdown_script"`
	SSHPublicKey             string                 `json:"ssh_public_key"`
	StartupScript            string                 `json:"startup_script"`
	Type                     string                 `json:"type"`
	VirtualizationFeatures   *crusoeVirtFeatures    `json:"virtualization_features"`
}

// crusoeAttachRequest is a DiskAttachment; the reference spells the type key
// both attachment_type and attach_type, so both are read.
type crusoeAttachRequest struct {
	DiskID         string `json:"disk_id"`
	Mode           string `json:"mode"`
	AttachmentType string `json:"attachment_type"`
	AttachType     string `json:"attach_type"`
}

type crusoeHCARequest struct {
	IBPartitionID string `json:"ib_partition_id"`
}

type crusoeNICRequest struct {
	Network string `json:"network"`
	Subnet  string `json:"subnet"`
	IPs     []struct {
		PublicIPv4 *struct {
			Type string `json:"type"`
		} `json:"public_ipv4"`
	} `json:"ips"`
}

type crusoeReservationSpec struct {
	ID                string `json:"id"`
	SelectionStrategy string `json:"selection_strategy"`
}

func (c *crusoeCloud) vmNamed(name string) *crusoeVM {
	return c.st.vms.find(func(v *crusoeVM) bool { return v.Name == name })
}

func (c *crusoeCloud) getVM(r *http.Request) (any, error) {
	v := c.st.vms.get(r.PathValue("vm_id"))
	if v == nil {
		return nil, crusoeNotFound("vm", r.PathValue("vm_id"))
	}
	return c.renderVM(v), nil
}

// listVMs answers the VMs ordered by name, filtered and paged. Page tokens
// are the base64url of a VM name: next_token continues after it, prev_token
// ends before it.
func (c *crusoeCloud) listVMs(r *http.Request) (any, error) {
	q := r.URL.Query()
	ids, names, types := splitQuery(q["ids"]), splitQuery(q["names"]), splitQuery(q["types"])
	locations, states := splitQuery(q["locations"]), splitQuery(q["states"])
	if s := q.Get("sort"); s != "" && s != "name" {
		return nil, badEnum("sort", s, "name")
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, badField("limit", "must be a positive integer, not %q", v)
		}
		limit = n
	}
	next, prev := q.Get("next_token"), q.Get("prev_token")
	if next != "" && prev != "" {
		return nil, crusoeBadRequest("next_token and prev_token cannot be used together")
	}
	var items []crusoeVM
	for _, v := range c.st.vms.all() {
		vm := c.renderVM(v)
		switch {
		case len(ids) > 0 && !slices.Contains(ids, vm.ID),
			len(names) > 0 && !slices.Contains(names, vm.Name),
			len(types) > 0 && !slices.Contains(types, vm.Type),
			len(locations) > 0 && !slices.ContainsFunc(locations, func(l string) bool { return vm.Location == l || strings.HasPrefix(vm.Location, l+"-") }),
			len(states) > 0 && !slices.ContainsFunc(states, func(s string) bool { return vm.State == s || vm.State == "STATE_"+strings.ToUpper(s) }):
			continue
		}
		items = append(items, vm)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })

	start, end := 0, len(items)
	switch {
	case next != "":
		after, err := decodePageToken("next_token", next)
		if err != nil {
			return nil, err
		}
		start = sort.Search(len(items), func(i int) bool { return items[i].Name > after })
		if limit > 0 {
			end = min(start+limit, len(items))
		}
	case prev != "":
		before, err := decodePageToken("prev_token", prev)
		if err != nil {
			return nil, err
		}
		end = sort.Search(len(items), func(i int) bool { return items[i].Name >= before })
		if limit > 0 {
			start = max(end-limit, 0)
		}
	case limit > 0:
		end = min(limit, len(items))
	}
	page := crusoeVMPage{Items: append([]crusoeVM{}, items[start:end]...)}
	if end < len(items) && end > start {
		page.NextPageToken = encodePageToken(items[end-1].Name)
	}
	if start > 0 && end > start {
		page.PrevPageToken = encodePageToken(items[start].Name)
	}
	return page, nil
}

type crusoeVMPage struct {
	Items         []crusoeVM `json:"items"`
	NextPageToken string     `json:"next_page_token,omitempty"`
	PrevPageToken string     `json:"prev_page_token,omitempty"`
}

func encodePageToken(name string) string { return base64.RawURLEncoding.EncodeToString([]byte(name)) }

func decodePageToken(field, tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(tok, "="))
	if err != nil {
		return "", badField(field, "is not a page token this server issued")
	}
	return string(b), nil
}

// vmSpec is what a new VM needs, from a create request or a template.
type vmSpec struct {
	name, typ, location string
	subnet              *crusoeSubnet
	publicIPType        string
	ibPartitions        []string
	reservationID       string
	virt                *crusoeVirtFeatures
	templateID, groupID string
	commitment          int64
}

// newVM builds a VM in STATE_CREATING and stores it.
func (c *crusoeCloud) newVM(s vmSpec) *crusoeVM {
	now := ts(c.env.now())
	v := &crusoeVM{
		CreatedAt: now, UpdatedAt: now, ID: newID(), Name: s.name, Type: s.typ, Location: s.location,
		ProjectID: c.opts.ProjectID, ReservationID: s.reservationID, VirtualizationFeatures: s.virt,
		InstanceTemplateID: s.templateID, InstanceGroupID: s.groupID, CommitmentPeriod: s.commitment,
		HostChannelAdapters: []crusoeHCA{}, base: vmCreating,
	}
	nic := c.newNIC(s.subnet, s.publicIPType, "network-interface-1")
	v.NetworkInterfaces = []crusoeNIC{nic}
	if pub := nic.IPs[0].PublicIPv4; pub != nil {
		v.SSHDestination = pub.Address + ":22"
	} else {
		v.SSHDestination = nic.IPs[0].PrivateIPv4.Address + ":22"
	}
	for _, p := range s.ibPartitions {
		v.HostChannelAdapters = append(v.HostChannelAdapters, crusoeHCA{
			GUID: c.newGUID(), IBNetworkID: newID(), IBPartitionID: p, Type: "infiniband",
		})
	}
	c.st.vms.put(v.ID, v)
	return v
}

// newNIC gives a network interface an address in subnet and, unless
// publicType is "none", a public address.
func (c *crusoeCloud) newNIC(subnet *crusoeSubnet, publicType, name string) crusoeNIC {
	if publicType == "" {
		publicType = "dynamic"
	}
	ip := crusoeIP{PrivateIPv4: &crusoeAddress{Address: c.nextPrivateIP(subnet)}}
	if publicType != "none" {
		ip.PublicIPv4 = &crusoePublicAddress{Address: c.nextPublicIP(), ID: newID(), Type: publicType}
	}
	c.st.macs++
	m := c.st.macs
	return crusoeNIC{
		ID: newID(), InterfaceType: "ethernet", IPs: []crusoeIP{ip},
		MACAddress: fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", byte(m>>24), byte(m>>16), byte(m>>8), byte(m)),
		Name:       name, Network: subnet.VPCNetworkID, Subnet: subnet.ID,
	}
}

func (c *crusoeCloud) nextPrivateIP(subnet *crusoeSubnet) string {
	c.st.privateIPs[subnet.ID]++
	k := c.st.privateIPs[subnet.ID] - 1
	p, err := netip.ParsePrefix(subnet.CIDR)
	if err != nil || !p.Addr().Is4() || p.Bits() > 29 {
		return "10.0.0.2"
	}
	base := p.Masked().Addr().As4()
	usable := (uint32(1) << (32 - p.Bits())) - 3 // not the network, the gateway (.1) or broadcast
	return u32ToIP(binary.BigEndian.Uint32(base[:]) + 2 + uint32(k)%usable)
}

// nextPublicIP hands out addresses from 198.18.0.0/15, the benchmarking range.
func (c *crusoeCloud) nextPublicIP() string {
	c.st.publicIPs++
	return u32ToIP(0xC6120000 + uint32(c.st.publicIPs))
}

func u32ToIP(v uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b).String()
}

func (c *crusoeCloud) newGUID() string {
	id := newID()
	h := strings.ReplaceAll(id, "-", "")
	return h[0:4] + ":" + h[4:8] + ":" + h[8:12] + ":" + h[12:16]
}

// subnetFor picks the subnet of a new VM: the one asked for, or the default
// subnet of its location.
func (c *crusoeCloud) subnetFor(field, subnetID, location string) (*crusoeSubnet, error) {
	if subnetID != "" {
		s := c.st.subnets.get(subnetID)
		if s == nil {
			return nil, badField(field, "names subnet %s, which does not exist", subnetID)
		}
		if s.Location != location {
			return nil, badField(field, "names subnet %s in %s, but the VM is in %s", subnetID, s.Location, location)
		}
		return s, nil
	}
	s := c.st.subnets.find(func(s *crusoeSubnet) bool { return s.Location == location })
	if s == nil {
		return nil, badField("location", "%s has no subnet", location)
	}
	return s, nil
}

// attachment is a checked disk attachment request.
type attachment struct {
	disk     *crusoeDisk
	mode     string
	typ      string
	fieldPfx string
}

// checkAttachments validates disk attachment requests for a VM in location
// (vmID is "" for a VM not created yet).
func (c *crusoeCloud) checkAttachments(field, location, vmID string, reqs []crusoeAttachRequest) ([]attachment, error) {
	var out []attachment
	seen := map[string]bool{}
	for i, a := range reqs {
		f := fmt.Sprintf("%s[%d]", field, i)
		if a.DiskID == "" {
			return nil, missingField(f + ".disk_id")
		}
		d := c.st.disks.get(a.DiskID)
		if d == nil {
			return nil, badField(f+".disk_id", "names disk %s, which does not exist", a.DiskID)
		}
		if seen[d.ID] {
			return nil, badField(f+".disk_id", "names disk %s twice", d.ID)
		}
		seen[d.ID] = true
		// Attaching changes the disk too: not while an operation on it
		// (its create, a resize, its delete) is in progress.
		if err := c.checkIdle("disk", d.ID); err != nil {
			return nil, err
		}
		if d.Location != location {
			return nil, badField(f+".disk_id", "names disk %s in %s, but the VM is in %s", d.ID, d.Location, location)
		}
		mode := a.Mode
		if mode == "" {
			mode = "read-write"
		}
		if mode != "read-write" && mode != "read-only" {
			return nil, badEnum(f+".mode", mode, "read-write", "read-only")
		}
		typ := a.AttachmentType
		tf := f + ".attachment_type"
		if typ == "" {
			typ, tf = a.AttachType, f+".attach_type"
		}
		if typ == "" {
			typ = "data"
		}
		if typ != "data" && typ != "os" {
			return nil, badEnum(tf, typ, "data", "os")
		}
		for _, at := range d.AttachedTo {
			if at.VMID == vmID {
				return nil, badField(f+".disk_id", "names disk %s, which is already attached to vm %s", d.ID, vmID)
			}
			if at.Mode == "read-write" || mode == "read-write" {
				return nil, crusoeBadRequest("disk %s is attached %s to vm %s and cannot also be attached %s", d.ID, at.Mode, at.VMID, mode)
			}
		}
		out = append(out, attachment{disk: d, mode: mode, typ: typ, fieldPfx: f})
	}
	return out, nil
}

func (c *crusoeCloud) attach(v *crusoeVM, a attachment) {
	v.diskIDs = append(v.diskIDs, a.disk.ID)
	a.disk.AttachedTo = append(a.disk.AttachedTo, crusoeDiskAttachment{AttachmentType: a.typ, Mode: a.mode, VMID: v.ID})
}

func (c *crusoeCloud) detach(v *crusoeVM, diskID string) {
	v.diskIDs = slices.DeleteFunc(v.diskIDs, func(id string) bool { return id == diskID })
	if d := c.st.disks.get(diskID); d != nil {
		d.AttachedTo = slices.DeleteFunc(d.AttachedTo, func(a crusoeDiskAttachment) bool { return a.VMID == v.ID })
	}
}

// removeVM drops a VM, detaching its disks. Disks made with the VM by a bulk
// create from a template go too when withOwnDisks is set.
func (c *crusoeCloud) removeVM(v *crusoeVM, withOwnDisks bool) {
	for _, id := range slices.Clone(v.diskIDs) {
		c.detach(v, id)
	}
	if withOwnDisks {
		for _, id := range v.ownDisks {
			c.st.disks.del(id)
		}
	}
	c.st.vms.del(v.ID)
}

func (c *crusoeCloud) createVM(r *http.Request) (any, error) {
	var req crusoeVMCreateRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	switch {
	case req.Name == "":
		return nil, missingField("name")
	case req.Type == "":
		return nil, missingField("type")
	case !knownVMType(req.Type):
		return nil, badEnum("type", req.Type, vmTypeNames()...)
	case req.SSHPublicKey == "":
		return nil, missingField("ssh_public_key")
	}
	if err := checkLocation("location", req.Location); err != nil {
		return nil, err
	}
	spec := vmSpec{
		name: req.Name, typ: req.Type, location: req.Location,
		virt: req.VirtualizationFeatures, commitment: req.CommitmentPeriod,
	}
	if req.ReservationSpecification != nil {
		spec.reservationID = req.ReservationSpecification.ID
	}
	subnetID := ""
	if len(req.NetworkInterfaces) > 1 {
		return nil, badField("network_interfaces", "may hold one interface, not %d", len(req.NetworkInterfaces))
	}
	if len(req.NetworkInterfaces) == 1 {
		n := req.NetworkInterfaces[0]
		subnetID = n.Subnet
		if len(n.IPs) > 0 && n.IPs[0].PublicIPv4 != nil {
			spec.publicIPType = n.IPs[0].PublicIPv4.Type
			if t := spec.publicIPType; t != "" && t != "static" && t != "dynamic" && t != "none" {
				return nil, badEnum("network_interfaces[0].ips[0].public_ipv4.type", t, "static", "dynamic", "none")
			}
		}
	}
	subnet, err := c.subnetFor("network_interfaces[0].subnet", subnetID, req.Location)
	if err != nil {
		return nil, err
	}
	spec.subnet = subnet
	for i, h := range req.HostChannelAdapters {
		if h.IBPartitionID == "" {
			return nil, missingField(fmt.Sprintf("host_channel_adapters[%d].ib_partition_id", i))
		}
		spec.ibPartitions = append(spec.ibPartitions, h.IBPartitionID)
	}
	attachments, err := c.checkAttachments("disks", req.Location, "", req.Disks)
	if err != nil {
		return nil, err
	}
	if c.vmNamed(req.Name) != nil {
		return nil, crusoeConflict("vm", req.Name)
	}

	v := c.newVM(spec)
	c.env.tally.add(crusoeVMCreates, v.Name)
	for _, a := range attachments {
		c.attach(v, a)
	}
	return c.startOp(r, crusoeFamVMs, []string{v.ID}, func() (any, *opFailure) {
		if c.st.vms.get(v.ID) == nil {
			return nil, &opFailure{Code: "not_found", Message: "vm " + v.ID + " was deleted while it was being created"}
		}
		c.settleVM(v, vmCreating, vmRunning)
		c.env.tally.add(crusoeVMsMade, v.Name)
		return c.renderVM(v), nil
	}, func() {
		if c.st.vms.get(v.ID) != nil {
			c.removeVM(v, true)
		}
	}), nil
}

// settleVM moves v from a transitional state to its resting one, unless
// another operation moved it elsewhere meanwhile.
func (c *crusoeCloud) settleVM(v *crusoeVM, from, to string) {
	if v.base == from {
		v.base = to
		v.UpdatedAt = ts(c.env.now())
	}
}

func (c *crusoeCloud) bulkVMsSucceed(vms []*crusoeVM) func() (any, *opFailure) {
	return func() (any, *opFailure) {
		items := []crusoeVM{}
		for _, v := range vms {
			if c.st.vms.get(v.ID) == nil {
				continue
			}
			c.settleVM(v, vmCreating, vmRunning)
			c.env.tally.add(crusoeVMsMade, v.Name)
			items = append(items, c.renderVM(v))
		}
		return listOf(items), nil
	}
}

func (c *crusoeCloud) deleteVM(r *http.Request) (any, error) {
	v := c.st.vms.get(r.PathValue("vm_id"))
	if v == nil {
		return nil, crusoeNotFound("vm", r.PathValue("vm_id"))
	}
	v.deleting++
	return c.startOp(r, crusoeFamVMs, []string{v.ID}, func() (any, *opFailure) {
		if c.st.vms.get(v.ID) != nil {
			c.removeVM(v, true)
		}
		return nil, nil
	}, func() {
		v.deleting--
	}), nil
}

type crusoeVMUpdateRequest struct {
	Action              string             `json:"action"`
	CommitmentPeriod    int64              `json:"commitment_period"`
	HostChannelAdapters []crusoeHCARequest `json:"host_channel_adapters"`
	NetworkInterfaces   []crusoeNICRequest `json:"network_interfaces"`
	ReservationID       string             `json:"reservation_id"`
	Type                string             `json:"type"`
}

var crusoeVMActions = []string{"START", "STOP", "RESET", "RESERVE", "UNRESERVE", "UPDATE"}

// updateVM serves PATCH instances/{vm_id}: START, STOP, RESET and UPDATE run
// as operations; RESERVE and UNRESERVE complete within the request.
func (c *crusoeCloud) updateVM(r *http.Request) (any, error) {
	v := c.st.vms.get(r.PathValue("vm_id"))
	if v == nil {
		return nil, crusoeNotFound("vm", r.PathValue("vm_id"))
	}
	var req crusoeVMUpdateRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Action == "" {
		return nil, missingField("action")
	}
	if !slices.Contains(crusoeVMActions, req.Action) {
		return nil, badEnum("action", req.Action, crusoeVMActions...)
	}
	switch req.Action {
	case "RESERVE":
		v.ReservationID = req.ReservationID
		if v.ReservationID == "" {
			v.ReservationID = newID()
		}
		v.UpdatedAt = ts(c.env.now())
		return c.syncOp(r, crusoeFamVMs, []string{v.ID}, c.renderVM(v)), nil
	case "UNRESERVE":
		v.ReservationID = ""
		v.UpdatedAt = ts(c.env.now())
		return c.syncOp(r, crusoeFamVMs, []string{v.ID}, c.renderVM(v)), nil
	}
	// A VM being created or deleted has an operation in progress: idle
	// refused the request before it got here.
	var transitional, target string
	var apply func()
	switch req.Action {
	case "START":
		transitional, target = vmStarting, vmRunning
	case "STOP":
		transitional, target = vmStopping, vmStopped
	case "RESET":
		transitional, target = vmResetting, vmRunning
	case "UPDATE":
		if req.Type == "" && req.ReservationID == "" {
			return nil, crusoeBadRequest("action UPDATE needs type or reservation_id")
		}
		if req.Type != "" {
			if !knownVMType(req.Type) {
				return nil, badEnum("type", req.Type, vmTypeNames()...)
			}
			if v.base != vmStopped {
				return nil, crusoeBadRequest("vm %s must be stopped to change its type (it is %s)", v.ID, v.base)
			}
		}
		transitional, target = vmUpdating, c.resting(v)
		v.updateRest = target
		newType, newRes := req.Type, req.ReservationID
		apply = func() {
			if newType != "" {
				v.Type = newType
			}
			if newRes != "" {
				v.ReservationID = newRes
			}
		}
	}
	prev := v.base
	v.base = transitional
	v.UpdatedAt = ts(c.env.now())
	// Count the action once accepted: the VM is on its way. A START whose
	// operation later fails (an injected fault) still counts.
	switch req.Action {
	case "START":
		c.env.tally.add(crusoeVMStarts, v.Name)
	case "STOP":
		c.env.tally.add(crusoeVMStops, v.Name)
	}
	return c.startOp(r, crusoeFamVMs, []string{v.ID}, func() (any, *opFailure) {
		if c.st.vms.get(v.ID) == nil {
			return nil, &opFailure{Code: "not_found", Message: "vm " + v.ID + " was deleted"}
		}
		if apply != nil {
			apply()
		}
		c.settleVM(v, transitional, target)
		return c.renderVM(v), nil
	}, func() {
		// A failed action leaves the VM where it was headed before, at rest:
		// an action it interrupted has completed (or will) meanwhile.
		if v.base == transitional {
			v.base = prev
			v.base = c.resting(v)
		}
	}), nil
}

// Kinds of the Crusoe action counters, by resource name (see Server.Counters).
const (
	crusoeVMStarts        = "vm-starts"
	crusoeVMStops         = "vm-stops"
	crusoeVMCreates       = "vm-creates"
	crusoeDiskCreates     = "disk-creates"
	crusoeFirewallCreates = "firewall-rule-creates"
	// The creates whose operation succeeded: the resources actually made. A
	// create whose operation failed made nothing, and its retry is no
	// duplicate.
	crusoeVMsMade   = "vm-made"
	crusoeDisksMade = "disk-made"
	crusoeRulesMade = "firewall-rule-made"
)

// counters implements counter: the creates accepted (whatever became of
// their operations), the resources made (creates whose operation
// succeeded), and the VM START and STOP actions updateVM accepted.
func (c *crusoeCloud) counters() map[string]map[string]int {
	return c.env.tally.snapshot(crusoeVMCreates, crusoeDiskCreates, crusoeFirewallCreates,
		crusoeVMsMade, crusoeDisksMade, crusoeRulesMade, crusoeVMStarts, crusoeVMStops)
}

// resting is the state v's current transition leads to.
func (c *crusoeCloud) resting(v *crusoeVM) string {
	switch v.base {
	case vmStarting, vmResetting:
		return vmRunning
	case vmStopping:
		return vmStopped
	case vmUpdating:
		return v.updateRest
	}
	return v.base
}

type crusoeAttachDisksRequest struct {
	AttachDisks []crusoeAttachRequest `json:"attach_disks"`
}

func (c *crusoeCloud) attachDisks(r *http.Request) (any, error) {
	v := c.st.vms.get(r.PathValue("vm_id"))
	if v == nil {
		return nil, crusoeNotFound("vm", r.PathValue("vm_id"))
	}
	var req crusoeAttachDisksRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if len(req.AttachDisks) == 0 {
		return nil, missingField("attach_disks")
	}
	attachments, err := c.checkAttachments("attach_disks", v.Location, v.ID, req.AttachDisks)
	if err != nil {
		return nil, err
	}
	// Attachments take effect at once, so that a second attach of the same
	// disk is refused; a failed operation takes them back.
	for _, a := range attachments {
		c.attach(v, a)
	}
	return c.startOp(r, crusoeFamVMs, []string{v.ID}, func() (any, *opFailure) {
		if c.st.vms.get(v.ID) == nil {
			return nil, &opFailure{Code: "not_found", Message: "vm " + v.ID + " was deleted"}
		}
		return c.renderVM(v), nil
	}, func() {
		for _, a := range attachments {
			c.detach(v, a.disk.ID)
		}
	}), nil
}

type crusoeDetachDisksRequest struct {
	DetachDisks []crusoeDiskRef `json:"detach_disks"`
}

// crusoeDiskRef reads a disk ID given as a string or as {"disk_id": ...}.
type crusoeDiskRef string

func (d *crusoeDiskRef) UnmarshalJSON(b []byte) error {
	var s string
	if err := jsonUnmarshal(b, &s); err == nil {
		*d = crusoeDiskRef(s)
		return nil
	}
	var obj struct {
		DiskID string `json:"disk_id"`
	}
	if err := jsonUnmarshal(b, &obj); err != nil {
		return typeError(b, "string")
	}
	*d = crusoeDiskRef(obj.DiskID)
	return nil
}

// detachDisks detaches when the operation completes: until then the disks
// still count as attached.
func (c *crusoeCloud) detachDisks(r *http.Request) (any, error) {
	v := c.st.vms.get(r.PathValue("vm_id"))
	if v == nil {
		return nil, crusoeNotFound("vm", r.PathValue("vm_id"))
	}
	var req crusoeDetachDisksRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if len(req.DetachDisks) == 0 {
		return nil, missingField("detach_disks")
	}
	var ids []string
	for i, ref := range req.DetachDisks {
		id := string(ref)
		if id == "" {
			return nil, missingField(fmt.Sprintf("detach_disks[%d]", i))
		}
		if !slices.Contains(v.diskIDs, id) {
			return nil, badField(fmt.Sprintf("detach_disks[%d]", i), "names disk %s, which is not attached to vm %s", id, v.ID)
		}
		ids = append(ids, id)
	}
	return c.startOp(r, crusoeFamVMs, []string{v.ID}, func() (any, *opFailure) {
		for _, id := range ids {
			c.detach(v, id)
		}
		if c.st.vms.get(v.ID) == nil {
			return nil, nil
		}
		return c.renderVM(v), nil
	}, nil), nil
}

type crusoeBulkCreateRequest struct {
	Count                    int64                  `json:"count"`
	InstanceGroupID          string                 `json:"instance_group_id"`
	InstanceTemplate         *crusoeTemplateRequest `json:"instance_template"`
	InstanceTemplateID       string                 `json:"instance_template_id"`
	Locations                []crusoeBulkLocation   `json:"locations"`
	NamePrefix               string                 `json:"name_prefix"`
	ReservationSpecification *crusoeReservationSpec `json:"reservation_specification"`
}

type crusoeBulkLocation struct {
	IBPartitionID string `json:"ib_partition_id"`
	Location      string `json:"location"`
	SubnetID      string `json:"subnet_id"`
}

// crusoeBulkMax bounds one bulk create, as a real quota would.
const crusoeBulkMax = 1000

// bulkCreateVMs creates name_prefix-1..N (N = count × locations) from a
// template, with the template's disks, in one operation.
func (c *crusoeCloud) bulkCreateVMs(r *http.Request) (any, error) {
	var req crusoeBulkCreateRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Count == 0 {
		return nil, missingField("count")
	}
	if req.Count < 0 {
		return nil, badField("count", "must be positive, not %d", req.Count)
	}
	if req.NamePrefix == "" {
		return nil, missingField("name_prefix")
	}
	var tmpl crusoeTemplateRequest
	templateID := ""
	switch {
	case req.InstanceTemplateID != "":
		t := c.st.templates.get(req.InstanceTemplateID)
		if t == nil {
			return nil, badField("instance_template_id", "names instance template %s, which does not exist", req.InstanceTemplateID)
		}
		tmpl, templateID = t.request(), t.ID
	case req.InstanceTemplate != nil:
		tmpl = *req.InstanceTemplate
		if err := c.checkTemplate("instance_template.", tmpl, false); err != nil {
			return nil, err
		}
	default:
		return nil, missingField("instance_template_id")
	}
	groupID := req.InstanceGroupID
	if groupID != "" && c.st.groups.get(groupID) == nil {
		return nil, badField("instance_group_id", "names instance group %s, which does not exist", groupID)
	}
	locs := req.Locations
	if len(locs) == 0 {
		if tmpl.Location == "" {
			return nil, badField("locations", "is required when the instance template has no location")
		}
		locs = []crusoeBulkLocation{{Location: tmpl.Location, SubnetID: tmpl.SubnetID, IBPartitionID: tmpl.IBPartitionID}}
	}
	total := req.Count * int64(len(locs))
	if total > crusoeBulkMax {
		return nil, badField("count", "asks for %d VMs; one bulk create makes at most %d", total, crusoeBulkMax)
	}
	var specs []vmSpec
	n := 0
	for i, l := range locs {
		if err := checkLocation(fmt.Sprintf("locations[%d].location", i), l.Location); err != nil {
			return nil, err
		}
		subnet, err := c.subnetFor(fmt.Sprintf("locations[%d].subnet_id", i), l.SubnetID, l.Location)
		if err != nil {
			return nil, err
		}
		for k := int64(0); k < req.Count; k++ {
			n++
			s := vmSpec{
				name: fmt.Sprintf("%s-%d", req.NamePrefix, n), typ: tmpl.Type, location: l.Location,
				subnet:       subnet,
				publicIPType: tmpl.PublicIPAddressType, reservationID: tmpl.ReservationID,
				virt: tmpl.VirtualizationFeatures, templateID: templateID, groupID: groupID,
			}
			if req.ReservationSpecification != nil && req.ReservationSpecification.ID != "" {
				s.reservationID = req.ReservationSpecification.ID
			}
			if l.IBPartitionID != "" {
				s.ibPartitions = []string{l.IBPartitionID}
			}
			if c.vmNamed(s.name) != nil {
				return nil, crusoeConflict("vm", s.name)
			}
			for j := range tmpl.Disks {
				if name := fmt.Sprintf("%s-disk-%d", s.name, j+1); c.diskNamed(name) != nil {
					return nil, crusoeConflict("disk", name)
				}
			}
			specs = append(specs, s)
		}
	}
	var vms []*crusoeVM
	var ids []string
	for _, s := range specs {
		v := c.newVM(s)
		c.env.tally.add(crusoeVMCreates, v.Name)
		for j, dt := range tmpl.Disks {
			size, _ := parseDiskSize(dt.Size)
			typ, _ := normalizeDiskType("", dt.Type)
			d := c.newDisk(fmt.Sprintf("%s-disk-%d", s.name, j+1), typ, s.location, size, 4096)
			v.ownDisks = append(v.ownDisks, d.ID)
			c.attach(v, attachment{disk: d, mode: "read-write", typ: "data"})
		}
		vms = append(vms, v)
		ids = append(ids, v.ID)
	}
	return c.startOp(r, crusoeFamVMs, ids, c.bulkVMsSucceed(vms), func() {
		for _, v := range vms {
			if c.st.vms.get(v.ID) != nil {
				c.removeVM(v, true)
			}
		}
	}), nil
}
