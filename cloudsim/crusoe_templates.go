package cloudsim

import (
	"fmt"
	"net/http"
)

// crusoeTemplate is a VM instance template as the API renders it.
type crusoeTemplate struct {
	CreatedAt              string               `json:"created_at"`
	Disks                  []crusoeDiskTemplate `json:"disks"`
	IBPartitionID          string               `json:"ib_partition_id,omitempty"`
	ID                     string               `json:"id"`
	ImageName              string               `json:"image_name,omitempty"`
	Location               string               `json:"location,omitempty"`
	Name                   string               `json:"name"`
	ProjectID              string               `json:"project_id"`
	PublicIPAddressType    string               `json:"public_ip_address_type,omitempty"`
	ReservationID          string               `json:"reservation_id,omitempty"`
	ShutdownScript         string               `json:"shutdown_script,omitempty"`
	SSHPublicKey           string               `json:"ssh_public_key"`
	StartupScript          string               `json:"startup_script,omitempty"`
	SubnetID               string               `json:"subnet_id,omitempty"`
	Type                   string               `json:"type"`
	VirtualizationFeatures *crusoeVirtFeatures  `json:"virtualization_features,omitempty"`
}

type crusoeDiskTemplate struct {
	Size string `json:"size"`
	Type string `json:"type"`
}

// crusoeTemplateRequest is an InstanceTemplate in a create or bulk-create request.
type crusoeTemplateRequest struct {
	Disks                  []crusoeDiskTemplate `json:"disks"`
	IBPartitionID          string               `json:"ib_partition_id"`
	ImageName              string               `json:"image_name"`
	Location               string               `json:"location"`
	PublicIPAddressType    string               `json:"public_ip_address_type"`
	ReservationID          string               `json:"reservation_id"`
	ShutdownScript         string               `json:"shutdown_script"`
	SSHPublicKey           string               `json:"ssh_public_key"`
	StartupScript          string               `json:"startup_script"`
	SubnetID               string               `json:"subnet_id"`
	TemplateName           string               `json:"template_name"`
	Type                   string               `json:"type"`
	VirtualizationFeatures *crusoeVirtFeatures  `json:"virtualization_features"`
}

func (t *crusoeTemplate) request() crusoeTemplateRequest {
	return crusoeTemplateRequest{
		Disks: t.Disks, IBPartitionID: t.IBPartitionID, ImageName: t.ImageName, Location: t.Location,
		PublicIPAddressType: t.PublicIPAddressType, ReservationID: t.ReservationID,
		ShutdownScript: t.ShutdownScript, SSHPublicKey: t.SSHPublicKey, StartupScript: t.StartupScript,
		SubnetID: t.SubnetID, TemplateName: t.Name, Type: t.Type, VirtualizationFeatures: t.VirtualizationFeatures,
	}
}

func (t *crusoeTemplate) render() crusoeTemplate {
	out := *t
	out.Disks = append([]crusoeDiskTemplate{}, t.Disks...)
	return out
}

// checkTemplate validates a template; pfx prefixes field names in errors.
func (c *crusoeCloud) checkTemplate(pfx string, t crusoeTemplateRequest, needName bool) error {
	switch {
	case needName && t.TemplateName == "":
		return missingField(pfx + "template_name")
	case t.Type == "":
		return missingField(pfx + "type")
	case !knownVMType(t.Type):
		return badEnum(pfx+"type", t.Type, vmTypeNames()...)
	case t.SSHPublicKey == "":
		return missingField(pfx + "ssh_public_key")
	}
	if t.Location != "" {
		if err := checkLocation(pfx+"location", t.Location); err != nil {
			return err
		}
	}
	if t.SubnetID != "" {
		s := c.st.subnets.get(t.SubnetID)
		if s == nil {
			return badField(pfx+"subnet_id", "names subnet %s, which does not exist", t.SubnetID)
		}
		if t.Location != "" && s.Location != t.Location {
			return badField(pfx+"subnet_id", "names subnet %s in %s, but the template is for %s", s.ID, s.Location, t.Location)
		}
	}
	switch t.PublicIPAddressType {
	case "", "static", "dynamic":
	default:
		return badEnum(pfx+"public_ip_address_type", t.PublicIPAddressType, "static", "dynamic")
	}
	for i, d := range t.Disks {
		f := fmt.Sprintf("%sdisks[%d]", pfx, i)
		if d.Size == "" {
			return missingField(f + ".size")
		}
		if _, err := parseDiskSize(d.Size); err != nil {
			return badField(f+".size", "%v", err)
		}
		if _, err := normalizeDiskType(f+".type", d.Type); err != nil {
			return err
		}
	}
	return nil
}

func (c *crusoeCloud) templateNamed(name string) *crusoeTemplate {
	return c.st.templates.find(func(t *crusoeTemplate) bool { return t.Name == name })
}

func (c *crusoeCloud) listTemplates(r *http.Request) (any, error) {
	var out []crusoeTemplate
	for _, t := range c.st.templates.all() {
		out = append(out, t.render())
	}
	return listOf(out), nil
}

func (c *crusoeCloud) getTemplate(r *http.Request) (any, error) {
	t := c.st.templates.get(r.PathValue("instance_template_id"))
	if t == nil {
		return nil, crusoeNotFound("instance template", r.PathValue("instance_template_id"))
	}
	return t.render(), nil
}

// createTemplate is synchronous: the answer is the template itself.
func (c *crusoeCloud) createTemplate(r *http.Request) (any, error) {
	var req crusoeTemplateRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := c.checkTemplate("", req, true); err != nil {
		return nil, err
	}
	if c.templateNamed(req.TemplateName) != nil {
		return nil, crusoeConflict("instance template", req.TemplateName)
	}
	disks := make([]crusoeDiskTemplate, len(req.Disks))
	for i, d := range req.Disks {
		typ, _ := normalizeDiskType("", d.Type)
		disks[i] = crusoeDiskTemplate{Size: d.Size, Type: typ}
	}
	t := &crusoeTemplate{
		CreatedAt: ts(c.env.now()), Disks: disks, IBPartitionID: req.IBPartitionID, ID: newID(),
		ImageName: req.ImageName, Location: req.Location, Name: req.TemplateName, ProjectID: c.opts.ProjectID,
		PublicIPAddressType: req.PublicIPAddressType, ReservationID: req.ReservationID,
		ShutdownScript: req.ShutdownScript, SSHPublicKey: req.SSHPublicKey, StartupScript: req.StartupScript,
		SubnetID: req.SubnetID, Type: req.Type, VirtualizationFeatures: req.VirtualizationFeatures,
	}
	c.st.templates.put(t.ID, t)
	return t.render(), nil
}

func (c *crusoeCloud) deleteTemplate(r *http.Request) (any, error) {
	t := c.st.templates.get(r.PathValue("instance_template_id"))
	if t == nil {
		return nil, crusoeNotFound("instance template", r.PathValue("instance_template_id"))
	}
	if g := c.st.groups.find(func(g *crusoeGroup) bool { return g.TemplateID == t.ID }); g != nil {
		return nil, crusoeBadRequest("instance template %s is used by instance group %s", t.ID, g.ID)
	}
	c.st.templates.del(t.ID)
	return emptyObject, nil
}

// crusoeGroup is an instance group; its instances are the VMs that name it.
type crusoeGroup struct {
	CreatedAt            string   `json:"created_at"`
	ID                   string   `json:"id"`
	Instances            []string `json:"instances"`
	Name                 string   `json:"name"`
	ProjectID            string   `json:"project_id"`
	RunningInstanceCount int      `json:"running_instance_count"`
	TemplateID           string   `json:"template_id"`
	UpdatedAt            string   `json:"updated_at"`
}

func (c *crusoeCloud) renderGroup(g *crusoeGroup) crusoeGroup {
	out := *g
	out.Instances = []string{}
	out.RunningInstanceCount = 0
	for _, v := range c.st.vms.all() {
		if v.InstanceGroupID != g.ID {
			continue
		}
		out.Instances = append(out.Instances, v.ID)
		if v.base == vmRunning && v.deleting == 0 {
			out.RunningInstanceCount++
		}
	}
	return out
}

func (c *crusoeCloud) groupNamed(name string) *crusoeGroup {
	return c.st.groups.find(func(g *crusoeGroup) bool { return g.Name == name })
}

func (c *crusoeCloud) listGroups(r *http.Request) (any, error) {
	var out []crusoeGroup
	for _, g := range c.st.groups.all() {
		out = append(out, c.renderGroup(g))
	}
	return listOf(out), nil
}

func (c *crusoeCloud) getGroup(r *http.Request) (any, error) {
	g := c.st.groups.get(r.PathValue("instance_group_id"))
	if g == nil {
		return nil, crusoeNotFound("instance group", r.PathValue("instance_group_id"))
	}
	return c.renderGroup(g), nil
}

type crusoeGroupRequest struct {
	Name       string `json:"name"`
	TemplateID string `json:"template_id"`
}

// createGroup is synchronous: the answer is the group itself.
func (c *crusoeCloud) createGroup(r *http.Request) (any, error) {
	var req crusoeGroupRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, missingField("name")
	}
	if req.TemplateID == "" {
		return nil, missingField("template_id")
	}
	if c.st.templates.get(req.TemplateID) == nil {
		return nil, badField("template_id", "names instance template %s, which does not exist", req.TemplateID)
	}
	if c.groupNamed(req.Name) != nil {
		return nil, crusoeConflict("instance group", req.Name)
	}
	now := ts(c.env.now())
	g := &crusoeGroup{CreatedAt: now, ID: newID(), Name: req.Name, ProjectID: c.opts.ProjectID, TemplateID: req.TemplateID, UpdatedAt: now}
	c.st.groups.put(g.ID, g)
	return c.renderGroup(g), nil
}

// updateGroup is synchronous: the answer is the group itself.
func (c *crusoeCloud) updateGroup(r *http.Request) (any, error) {
	g := c.st.groups.get(r.PathValue("instance_group_id"))
	if g == nil {
		return nil, crusoeNotFound("instance group", r.PathValue("instance_group_id"))
	}
	var req crusoeGroupRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Name == "" && req.TemplateID == "" {
		return nil, crusoeBadRequest("nothing to update: give name or template_id")
	}
	if req.Name != "" {
		if other := c.groupNamed(req.Name); other != nil && other != g {
			return nil, crusoeConflict("instance group", req.Name)
		}
	}
	if req.TemplateID != "" && c.st.templates.get(req.TemplateID) == nil {
		return nil, badField("template_id", "names instance template %s, which does not exist", req.TemplateID)
	}
	if req.Name != "" {
		g.Name = req.Name
	}
	if req.TemplateID != "" {
		g.TemplateID = req.TemplateID
	}
	g.UpdatedAt = ts(c.env.now())
	return c.renderGroup(g), nil
}

// deleteGroup removes the group; its VMs stay, outside any group.
func (c *crusoeCloud) deleteGroup(r *http.Request) (any, error) {
	g := c.st.groups.get(r.PathValue("instance_group_id"))
	if g == nil {
		return nil, crusoeNotFound("instance group", r.PathValue("instance_group_id"))
	}
	for _, v := range c.st.vms.all() {
		if v.InstanceGroupID == g.ID {
			v.InstanceGroupID = ""
		}
	}
	c.st.groups.del(g.ID)
	return emptyObject, nil
}
