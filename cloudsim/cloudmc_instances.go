package cloudsim

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Instance states. Running, Stopped and Error are the ones the reference
// names; an instance being created is Starting. A start, stop, reboot,
// compute offering change or delete leaves the instance as it was until its
// task completes, as strictly as a real CloudMC may show it.
const (
	cmcRunning   = "Running"
	cmcStopped   = "Stopped"
	cmcErrored   = "Error"
	cmcStarting  = "Starting"
	cmcDestroyed = "Destroyed" // only in the result of a delete task
)

// cmcInstance is an instance and what the simulator keeps aside.
type cmcInstance struct {
	id, name, state string
	ipAddress       string
	macAddress      string
	sshKeyName      string
	userData        string
	osVolumeID      string
	offering        *cmcComputeOffering
	hold            cmcHold
}

// cmcInstanceView is an instance as GET renders it (the reference's fields).
type cmcInstanceView struct {
	ID                  string   `json:"id"`
	Name                string   `json:"name"`
	State               string   `json:"state"`
	Hostname            string   `json:"hostname"`
	TemplateID          string   `json:"templateId"`
	TemplateName        string   `json:"templateName"`
	ComputeOfferingID   string   `json:"computeOfferingId"`
	ComputeOfferingName string   `json:"computeOfferingName"`
	CPUCount            int      `json:"cpuCount"`
	MemoryInMB          int      `json:"memoryInMB"`
	NetworkID           string   `json:"networkId"`
	NetworkName         string   `json:"networkName"`
	ZoneID              string   `json:"zoneId"`
	ZoneName            string   `json:"zoneName"`
	IPAddress           string   `json:"ipAddress"`
	MACAddress          string   `json:"macAddress"`
	Username            string   `json:"username"`
	IsPasswordEnabled   bool     `json:"isPasswordEnabled"`
	IsSSHKeyEnabled     bool     `json:"isSshKeyEnabled"`
	SSHKeyName          string   `json:"sshKeyName,omitempty"`
	AffinityGroupIDs    []string `json:"affinityGroupIds"`
}

func (c *cloudMC) renderInstance(i *cmcInstance) cmcInstanceView {
	return cmcInstanceView{
		ID: i.id, Name: i.name, State: i.state, Hostname: strings.ToLower(i.name),
		TemplateID: CloudMCTemplateID, TemplateName: CloudMCTemplateName,
		ComputeOfferingID: i.offering.id, ComputeOfferingName: i.offering.name,
		CPUCount: i.offering.cpus, MemoryInMB: i.offering.memMB,
		NetworkID: CloudMCNetworkID, NetworkName: CloudMCNetworkName, ZoneID: CloudMCZoneID, ZoneName: CloudMCZoneName,
		IPAddress: i.ipAddress, MACAddress: i.macAddress, Username: "cloudsim",
		IsPasswordEnabled: true, IsSSHKeyEnabled: i.sshKeyName != "", SSHKeyName: i.sshKeyName,
		AffinityGroupIDs: []string{},
	}
}

func (c *cloudMC) instance(id string) (*cmcInstance, error) {
	i := c.st.instances.get(id)
	if i == nil {
		return nil, cmcNotFound("instances", id)
	}
	return i, nil
}

func (c *cloudMC) listInstances(r *http.Request) (any, error) {
	var out []cmcInstanceView
	for _, i := range c.st.instances.all() {
		out = append(out, c.renderInstance(i))
	}
	return cmcList(out), nil
}

func (c *cloudMC) getInstance(r *http.Request) (any, error) {
	i, err := c.instance(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return cmcData{Data: c.renderInstance(i)}, nil
}

type cmcInstanceCreateRequest struct {
	Name               string `json:"name"`
	ComputeOfferingID  string `json:"computeOfferingId"`
	NetworkID          string `json:"networkId"`
	TemplateID         string `json:"templateId"`
	SSHKeyName         string `json:"sshKeyName"`
	UserData           string `json:"userData"`
	RootVolumeSizeInGB int    `json:"rootVolumeSizeInGb"`
}

// checkHostname validates an instance name, which becomes its host name:
// 1 to 63 letters, digits and hyphens, starting with a letter and not ending
// with a hyphen.
func checkHostname(name string) error {
	switch {
	case name == "":
		return cmcInvalid("name", "name is required")
	case len(name) > 63:
		return cmcInvalid("name", "name %q is %d characters long, more than the 63 a host name allows", name, len(name))
	case !isASCIILetter(name[0]):
		return cmcInvalid("name", "name %q must start with a letter", name)
	case name[len(name)-1] == '-':
		return cmcInvalid("name", "name %q must not end with a hyphen", name)
	}
	for i := 0; i < len(name); i++ {
		if ch := name[i]; !isASCIILetter(ch) && !isASCIIDigit(ch) && ch != '-' {
			return cmcInvalid("name", "name %q holds %q: only letters, digits and hyphens are allowed", name, string(rune(ch)))
		}
	}
	return nil
}

// checkFixture requires a field naming the one fixture of its kind.
func checkFixture(field, got, want, kind string) error {
	switch {
	case got == "":
		return cmcInvalid(field, "%s is required", field)
	case got != want:
		return cmcInvalid(field, "%s %s names no %s of this environment (it has %s)", field, got, cmcSingular(kind), want)
	}
	return nil
}

func (c *cloudMC) createInstance(r *http.Request) (any, error) {
	var req cmcInstanceCreateRequest
	if err := cmcDecode(r, &req); err != nil {
		return nil, err
	}
	if err := checkHostname(req.Name); err != nil {
		return nil, err
	}
	offering, err := checkComputeOffering("computeOfferingId", req.ComputeOfferingID)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct{ field, got, want, kind string }{
		{"networkId", req.NetworkID, CloudMCNetworkID, "networks"},
		{"templateId", req.TemplateID, CloudMCTemplateID, "templates"},
	} {
		if err := checkFixture(f.field, f.got, f.want, f.kind); err != nil {
			return nil, err
		}
	}
	rootGB := cmcTemplateRootGB
	switch {
	case req.RootVolumeSizeInGB < 0 || req.RootVolumeSizeInGB > cmcMaxVolumeGB:
		return nil, cmcInvalid("rootVolumeSizeInGb", "rootVolumeSizeInGb %d is not from %d to %d", req.RootVolumeSizeInGB, cmcTemplateRootGB, cmcMaxVolumeGB)
	case req.RootVolumeSizeInGB > 0 && req.RootVolumeSizeInGB < cmcTemplateRootGB:
		return nil, cmcInvalid("rootVolumeSizeInGb", "rootVolumeSizeInGb %d is smaller than the template's %d GB", req.RootVolumeSizeInGB, cmcTemplateRootGB)
	case req.RootVolumeSizeInGB > 0:
		rootGB = req.RootVolumeSizeInGB
	}
	if len(req.UserData) > cmcMaxUserDataBytes {
		return nil, cmcInvalid("userData", "userData is %d bytes, more than the %d allowed", len(req.UserData), cmcMaxUserDataBytes)
	}
	if other := c.st.instances.find(func(i *cmcInstance) bool { return strings.EqualFold(i.name, req.Name) }); other != nil {
		return nil, &cmcError{http.StatusBadRequest, CloudMCErrNameInUse,
			fmt.Sprintf("An instance named %s already exists in this environment", other.name),
			map[string]any{"field": "name", "name": req.Name, "id": other.id, "type": "instances"}}
	}

	now := c.env.now()
	i := &cmcInstance{
		id: newID(), name: req.Name, state: cmcStarting, sshKeyName: req.SSHKeyName, userData: req.UserData,
		offering: offering,
	}
	i.ipAddress, i.macAddress = c.nextAddress()
	root := &cmcVolume{id: newID(), name: "ROOT-" + req.Name, typ: cmcVolumeOS, state: cmcVolumeCreating,
		sizeGB: rootGB, createdAt: now, instanceID: i.id}
	i.osVolumeID = root.id
	c.st.instances.put(i.id, i)
	c.st.volumes.put(root.id, root)
	c.env.tally.add(cmcInstanceCreates, i.name)
	return c.startTask(r, i.id, &i.hold, "create", func() (any, *opFailure) {
		if c.st.instances.get(i.id) == nil {
			return nil, cmcFail(CloudMCErrNotFound, "Instance %s disappeared while it was being created", i.id)
		}
		if i.state == cmcStarting {
			i.state = cmcRunning
		}
		if root.state == cmcVolumeCreating {
			root.state = cmcVolumeReady
		}
		return c.renderInstance(i), nil
	}, func() {
		c.removeInstance(i)
	}), nil
}

// nextAddress hands out a private address in the fixture network and a MAC.
func (c *cloudMC) nextAddress() (ip, mac string) {
	c.st.addrs++
	n := c.st.addrs
	p := netip.MustParsePrefix(CloudMCNetworkCIDR)
	b := p.Masked().Addr().As4()
	v := binary.BigEndian.Uint32(b[:]) + 10 + uint32((n-1)%240)
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b).String(), fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// removeInstance drops an instance and its OS volume and detaches its data
// volumes, which stay.
func (c *cloudMC) removeInstance(i *cmcInstance) {
	for _, v := range c.st.volumes.all() {
		if v.instanceID == i.id {
			if v.typ == cmcVolumeOS {
				c.st.volumes.del(v.id)
				continue
			}
			v.instanceID = ""
		}
	}
	c.st.instances.del(i.id)
}

func (c *cloudMC) deleteInstance(r *http.Request) (any, error) {
	i, err := c.instance(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if i.state != cmcRunning && i.state != cmcStopped && i.state != cmcErrored {
		return nil, cmcWrongState("instances", i.id, "delete", i.state, cmcRunning, cmcStopped, cmcErrored)
	}
	if err := i.hold.refuse("instances", i.id, "delete", i.state); err != nil {
		return nil, err
	}
	c.env.tally.add(cmcInstanceDeletes, i.name)
	return c.startTask(r, i.id, &i.hold, "delete", func() (any, *opFailure) {
		if c.st.instances.get(i.id) == nil {
			return nil, cmcFail(CloudMCErrNotFound, "Instance %s was already destroyed", i.id)
		}
		view := c.renderInstance(i)
		view.State = cmcDestroyed
		c.removeInstance(i)
		return view, nil
	}, nil), nil
}

// cmcInstanceOperations are the operations POST .../instances/{id} takes.
var cmcInstanceOperations = []string{"start", "stop", "reboot", "changeComputeOffering"}

// operateInstance serves POST .../instances/{id}?operation=start|stop|reboot,
// and changeComputeOffering.
func (c *cloudMC) operateInstance(r *http.Request) (any, error) {
	op := r.URL.Query().Get("operation")
	switch op {
	case "start", "stop", "reboot":
	case "changeComputeOffering":
		return c.changeComputeOffering(r)
	case "":
		return nil, &cmcError{http.StatusBadRequest, CloudMCErrInvalidRequest,
			"The operation query parameter is required: start, stop, reboot or changeComputeOffering",
			map[string]any{"field": "operation", "supportedOperations": cmcInstanceOperations}}
	default:
		return nil, &cmcError{http.StatusBadRequest, CloudMCErrInvalidRequest,
			fmt.Sprintf("Unsupported operation %q on instances: use start, stop, reboot or changeComputeOffering", op),
			map[string]any{"field": "operation", "operation": op, "supportedOperations": cmcInstanceOperations}}
	}
	i, err := c.instance(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	var from, to, counter string
	switch op {
	case "start":
		from, to, counter = cmcStopped, cmcRunning, cmcInstanceStarts
	case "stop":
		from, to, counter = cmcRunning, cmcStopped, cmcInstanceStops
	case "reboot":
		from, to, counter = cmcRunning, cmcRunning, cmcInstanceReboots
	}
	if i.state != from {
		return nil, cmcWrongState("instances", i.id, op, i.state, from)
	}
	if err := i.hold.refuse("instances", i.id, op, i.state); err != nil {
		return nil, err
	}
	// Count the operation once accepted: the instance is on its way. One
	// whose task later fails (an injected fault) still counts.
	c.env.tally.add(counter, i.name)
	return c.startTask(r, i.id, &i.hold, op, func() (any, *opFailure) {
		if c.st.instances.get(i.id) == nil {
			return nil, cmcFail(CloudMCErrNotFound, "Instance %s was destroyed before it could %s", i.id, op)
		}
		i.state = to
		return c.renderInstance(i), nil
	}, nil), nil
}

type cmcChangeComputeOfferingRequest struct {
	ComputeOfferingID string `json:"computeOfferingId"`
}

// changeComputeOffering serves POST
// .../instances/{id}?operation=changeComputeOffering {"computeOfferingId"}.
// As CloudStack's changeServiceForVirtualMachine, it takes a stopped
// instance and another offering than its own; the instance keeps its old
// offering until the task completes.
func (c *cloudMC) changeComputeOffering(r *http.Request) (any, error) {
	i, err := c.instance(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	var req cmcChangeComputeOfferingRequest
	if err := cmcDecode(r, &req); err != nil {
		return nil, err
	}
	to, err := checkComputeOffering("computeOfferingId", req.ComputeOfferingID)
	if err != nil {
		return nil, err
	}
	const verb = "change the compute offering of"
	if i.state != cmcStopped {
		return nil, cmcWrongState("instances", i.id, verb, i.state, cmcStopped)
	}
	if err := i.hold.refuse("instances", i.id, verb, i.state); err != nil {
		return nil, err
	}
	if to == i.offering {
		return nil, cmcInvalid("computeOfferingId", "Instance %s already has compute offering %s (%s)", i.id, to.name, to.id)
	}
	return c.startTask(r, i.id, &i.hold, "changeComputeOffering", func() (any, *opFailure) {
		if c.st.instances.get(i.id) == nil {
			return nil, cmcFail(CloudMCErrNotFound, "Instance %s was destroyed before its compute offering could change", i.id)
		}
		i.offering = to
		return c.renderInstance(i), nil
	}, nil), nil
}
