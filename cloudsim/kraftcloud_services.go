package cloudsim

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

var kcHandlers = []string{"tls", "http", "redirect"}

// kcMaxDomain is the longest FQDN a domain may have.
const kcMaxDomain = 253

// kcGroup is a service group: published services and the instances behind them.
type kcGroup struct {
	kcMeta
	services  []kcServiceSpec
	domains   []string // FQDNs
	instances map[string]*kcInstance
	autoscale *kcAutoscale
}

type kcServiceSpec struct {
	Port            int      `json:"port"`
	DestinationPort int      `json:"destination_port"`
	Handlers        []string `json:"handlers"`
}

type kcDomainSpec struct {
	Name string `json:"name"`
}

// checkServices validates services and fills in their defaults.
func checkServices(param string, services []kcServiceSpec) error {
	ports := map[int]bool{}
	for k := range services {
		s := &services[k]
		p := fmt.Sprintf("%s[%d]", param, k)
		switch {
		case s.Port == 0:
			return badParam(p+".port", "is required")
		case s.Port < 1 || s.Port > 65535:
			return badParam(p+".port", "must be between 1 and 65535, not %d", s.Port)
		case ports[s.Port]:
			return badParam(p+".port", "%d is published twice", s.Port)
		}
		ports[s.Port] = true
		if s.DestinationPort == 0 {
			s.DestinationPort = s.Port
		}
		if s.DestinationPort < 1 || s.DestinationPort > 65535 {
			return badParam(p+".destination_port", "must be between 1 and 65535, not %d", s.DestinationPort)
		}
		if s.Handlers == nil {
			s.Handlers = []string{}
		}
		for _, h := range s.Handlers {
			if !slices.Contains(kcHandlers, h) {
				return badParam(p+".handlers", "%q is not a handler (want a subset of %s)", h, strings.Join(kcHandlers, ", "))
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(s.Handlers)))) != len(s.Handlers) {
			return badParam(p+".handlers", "lists a handler twice")
		}
	}
	return nil
}

// checkDomains validates domain names and lower-cases them: a single name
// is a subdomain of KraftCloudDomainSuffix, one with dots is a custom FQDN.
func checkDomains(param string, domains []kcDomainSpec) error {
	for k := range domains {
		d := &domains[k]
		p := fmt.Sprintf("%s[%d].name", param, k)
		if d.Name == "" {
			return badParam(p, "is required")
		}
		if err := checkKCName(strings.TrimSuffix(d.Name, "."), kcMaxDomain); err != nil {
			return badParam(p, "%q is not a valid domain name: it %v", d.Name, err)
		}
		d.Name = strings.ToLower(d.Name)
	}
	return nil
}

func kcFQDN(domain string) string {
	if d, ok := strings.CutSuffix(domain, "."); ok || strings.Contains(domain, ".") {
		return d
	}
	return domain + "." + KraftCloudDomainSuffix
}

// kcGroupPlan is a service group checked and ready to be created.
type kcGroupPlan struct {
	name     string
	services []kcServiceSpec
	domains  []string
}

// planGroup checks that a new group can be created: its name and its domains
// must be free. A group that publishes services without naming a domain gets
// one after its name. name is "" for a generated one, based on base.
func (c *kraftCloud) planGroup(item kcRef, name, base string, services []kcServiceSpec, domains []kcDomainSpec) (*kcGroupPlan, *kcItemErr) {
	if name == "" {
		name = c.st.groups.freshName(base)
	} else if c.st.groups.taken(name) {
		return nil, kcFail(item, KraftCloudErrAlreadyExists, "A service group with name '%s' already exists", name)
	}
	plan := &kcGroupPlan{name: name, services: services}
	for _, d := range domains {
		fqdn := kcFQDN(d.Name)
		if _, used := c.st.domains[fqdn]; used || slices.Contains(plan.domains, fqdn) {
			return nil, kcFail(item, KraftCloudErrAlreadyExists, "Domain '%s' is already in use", fqdn)
		}
		plan.domains = append(plan.domains, fqdn)
	}
	if len(plan.domains) == 0 && len(services) > 0 {
		fqdn := kcFQDN(name)
		for _, used := c.st.domains[fqdn]; used; _, used = c.st.domains[fqdn] {
			fqdn = kcFQDN(kcNameBase(name) + "-" + kcRandom(6))
		}
		plan.domains = []string{fqdn}
	}
	return plan, nil
}

func (c *kraftCloud) applyGroup(p *kcGroupPlan) *kcGroup {
	g := &kcGroup{kcMeta: c.newMeta(p.name), services: p.services, domains: p.domains, instances: map[string]*kcInstance{}}
	if g.services == nil {
		g.services = []kcServiceSpec{}
	}
	c.st.groups.put(g)
	for _, d := range g.domains {
		c.st.domains[d] = g
	}
	return g
}

func (c *kraftCloud) removeGroup(g *kcGroup) {
	for _, d := range g.domains {
		delete(c.st.domains, d)
	}
	c.st.groups.del(g)
}

// --- views ---

type kcDomainView struct {
	FQDN string `json:"fqdn"`
}

// kcGroupView is a service group as GET renders it.
type kcGroupView struct {
	Status    string          `json:"status"`
	UUID      string          `json:"uuid"`
	Name      string          `json:"name"`
	CreatedAt string          `json:"created_at"`
	Services  []kcServiceSpec `json:"services"`
	Domains   []kcDomainView  `json:"domains"`
	Instances []kcRefView     `json:"instances"`
	Autoscale bool            `json:"autoscale"`
}

func (c *kraftCloud) renderGroup(g *kcGroup) *kcGroupView {
	out := &kcGroupView{
		Status: "success", UUID: g.uuid, Name: g.name, CreatedAt: ts(g.createdAt),
		Services: g.services, Domains: []kcDomainView{}, Instances: []kcRefView{}, Autoscale: g.autoscale != nil,
	}
	for _, d := range g.domains {
		out.Domains = append(out.Domains, kcDomainView{FQDN: d})
	}
	members := make([]*kcInstance, 0, len(g.instances))
	for _, i := range g.instances {
		members = append(members, i)
	}
	slices.SortFunc(members, func(a, b *kcInstance) int { return cmp.Compare(a.seq, b.seq) })
	for _, i := range members {
		out.Instances = append(out.Instances, kcRefView{UUID: i.uuid, Name: i.name})
	}
	return out
}

// --- endpoints ---

var kcGroups = &kcKind[*kcGroup]{
	noun: "service group", collection: "service_groups", sweep: true,
	table: func(s *kcState) *kcTable[*kcGroup] { return &s.groups },
}

type kcCreateGroupRequest struct {
	Name     string          `json:"name"`
	Services []kcServiceSpec `json:"services"`
	Domains  []kcDomainSpec  `json:"domains"`
}

func (q *kcCreateGroupRequest) name() *string { return &q.Name }

func (q *kcCreateGroupRequest) check(param string) error {
	if err := checkServices(joinParam(param, "services"), q.Services); err != nil {
		return err
	}
	return checkDomains(joinParam(param, "domains"), q.Domains)
}

// createGroup makes a service group of POST /v1/services (see kcCreate).
func (c *kraftCloud) createGroup(ref kcRef, q kcCreateGroupRequest) any {
	plan, e := c.planGroup(ref, ref.Name, ref.Name, q.Services, q.Domains)
	if e != nil {
		return e
	}
	return c.renderGroup(c.applyGroup(plan))
}

// groupStatuses answers each service group as GET renders it
// (GET /v1/services with a body, GET /v1/services/{uuid}).
func (c *kraftCloud) groupStatuses(r *http.Request, refs []kcRef) []any {
	return kcEach(c, r, kcGroups, refs, func(g *kcGroup, _ kcRef, _ time.Time) any { return c.renderGroup(g) })
}

// deleteGroups deletes each service group that has no instances
// (DELETE /v1/services, DELETE /v1/services/{uuid}).
func (c *kraftCloud) deleteGroups(r *http.Request, refs []kcRef) []any {
	return kcEach(c, r, kcGroups, refs, func(g *kcGroup, _ kcRef, _ time.Time) any {
		if n := len(g.instances); n > 0 {
			return kcFail(kcRef{UUID: g.uuid, Name: g.name}, KraftCloudErrInvalidState,
				"Service group '%s' still has %d instance(s): delete them or move them out first", g.name, n)
		}
		c.removeGroup(g)
		return &kcRefItem{Status: "success", UUID: g.uuid, Name: g.name}
	})
}

// kcRefItem is the item of answers that only name the object.
type kcRefItem struct {
	Status string `json:"status"`
	UUID   string `json:"uuid"`
	Name   string `json:"name"`
}

// --- autoscale ---

// kcAutoscale is a service group's autoscale configuration.
type kcAutoscale struct {
	minSize, maxSize       int
	warmupMS, cooldownMS   int64
	masterUUID, masterName string
	policies               json.RawMessage
}

type kcAutoscaleRequest struct {
	MinSize        *int            `json:"min_size"`
	MaxSize        *int            `json:"max_size"`
	WarmupTimeMS   *int64          `json:"warmup_time_ms"`
	CooldownTimeMS *int64          `json:"cooldown_time_ms"`
	Master         *kcRef          `json:"master"`
	Policies       json.RawMessage `json:"policies"`
}

// kcAutoscaleView is the item of the autoscale endpoints ("autoscale_configs").
type kcAutoscaleView struct {
	Status         string          `json:"status"`
	UUID           string          `json:"uuid"` // the service group's
	Name           string          `json:"name"`
	Enabled        bool            `json:"enabled"`
	MinSize        *int            `json:"min_size,omitempty"`
	MaxSize        *int            `json:"max_size,omitempty"`
	WarmupTimeMS   *int64          `json:"warmup_time_ms,omitempty"`
	CooldownTimeMS *int64          `json:"cooldown_time_ms,omitempty"`
	Master         *kcRefView      `json:"master,omitempty"`
	Policies       json.RawMessage `json:"policies,omitempty"`
}

// Autoscale defaults.
const (
	kcDefaultWarmupMS   = 1000
	kcDefaultCooldownMS = 1000
)

// check validates the configuration and fills in its defaults. It only comes
// as a local-scope body, so the parameters it names stand alone.
func (q *kcAutoscaleRequest) check(string) error {
	if q.MinSize == nil {
		q.MinSize = new(0)
	}
	if *q.MinSize < 0 {
		return badParam("min_size", "must not be negative")
	}
	if q.MaxSize == nil {
		return badParam("max_size", "is required")
	}
	if *q.MaxSize < 1 || *q.MaxSize < *q.MinSize {
		return badParam("max_size", "must be at least 1 and at least min_size (%d), not %d", *q.MinSize, *q.MaxSize)
	}
	if q.WarmupTimeMS == nil {
		q.WarmupTimeMS = new(int64(kcDefaultWarmupMS))
	}
	if *q.WarmupTimeMS < 0 {
		return badParam("warmup_time_ms", "must not be negative")
	}
	if q.CooldownTimeMS == nil {
		q.CooldownTimeMS = new(int64(kcDefaultCooldownMS))
	}
	if *q.CooldownTimeMS < 0 {
		return badParam("cooldown_time_ms", "must not be negative")
	}
	if q.Master == nil {
		return badParam("master", "is required: the instance new ones are cloned from")
	}
	if err := q.Master.check("master"); err != nil {
		return err
	}
	if len(q.Policies) == 0 || bytes.Equal(q.Policies, []byte("null")) {
		q.Policies = json.RawMessage("[]")
		return nil
	}
	var policies []map[string]json.RawMessage
	if err := json.Unmarshal(q.Policies, &policies); err != nil {
		return badParam("policies", "must be an array of objects")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, q.Policies); err == nil {
		q.Policies = buf.Bytes()
	}
	return nil
}

func (c *kraftCloud) renderAutoscale(g *kcGroup) *kcAutoscaleView {
	out := &kcAutoscaleView{Status: "success", UUID: g.uuid, Name: g.name}
	if a := g.autoscale; a != nil {
		out.Enabled = true
		out.MinSize, out.MaxSize = new(a.minSize), new(a.maxSize)
		out.WarmupTimeMS, out.CooldownTimeMS = new(a.warmupMS), new(a.cooldownMS)
		out.Master = &kcRefView{UUID: a.masterUUID, Name: a.masterName}
		out.Policies = a.policies
	}
	return out
}

// getAutoscale answers a group's configuration (GET
// /v1/services/{uuid}/autoscale); a group without one answers "enabled": false.
func (c *kraftCloud) getAutoscale(r *http.Request, refs []kcRef) []any {
	return kcEach(c, r, kcGroups, refs, func(g *kcGroup, _ kcRef, _ time.Time) any { return c.renderAutoscale(g) })
}

// requireAutoscaleBody is next, but refuses a request without a body: the
// configuration is required. A bad path is still the first thing reported.
func requireAutoscaleBody(next kcHandler) kcHandler {
	return func(r *http.Request, body []byte) kcReply {
		if _, err := kcPathRef(r); err == nil && len(body) == 0 {
			return kcInvalid(&kcParamError{msg: "a JSON object with the autoscale configuration is required in the request body"})
		}
		return next(r, body)
	}
}

// kcAutoscaleItem is a service group and the configuration to give it.
type kcAutoscaleItem struct {
	kcRef
	kcAutoscaleRequest
}

func (q kcAutoscaleRequest) item(ref kcRef) kcAutoscaleItem { return kcAutoscaleItem{ref, q} }

// createAutoscale configures a group's autoscale (POST
// /v1/services/{uuid}/autoscale): the master must be one of its instances.
func (c *kraftCloud) createAutoscale(r *http.Request, reqs []kcAutoscaleItem) []any {
	return kcEach(c, r, kcGroups, reqs, func(g *kcGroup, q kcAutoscaleItem, now time.Time) any {
		gref := kcRef{UUID: g.uuid, Name: g.name}
		if g.autoscale != nil {
			return kcFail(gref, KraftCloudErrAlreadyExists,
				"Service group '%s' already has an autoscale configuration: delete it first", g.name)
		}
		master := c.instance(*q.Master, now)
		switch {
		case master == nil:
			e := kcNotFound("instance", *q.Master)
			e.UUID, e.Name = gref.UUID, gref.Name
			return e
		case master.group != g:
			return kcFail(gref, KraftCloudErrInvalidArgument,
				"Instance '%s' is not in service group '%s'", master.name, g.name)
		}
		g.autoscale = &kcAutoscale{
			minSize: *q.MinSize, maxSize: *q.MaxSize, warmupMS: *q.WarmupTimeMS, cooldownMS: *q.CooldownTimeMS,
			masterUUID: master.uuid, masterName: master.name, policies: q.Policies,
		}
		return c.renderAutoscale(g)
	})
}

// deleteAutoscale removes a group's configuration (DELETE
// /v1/services/{uuid}/autoscale).
func (c *kraftCloud) deleteAutoscale(r *http.Request, refs []kcRef) []any {
	return kcEach(c, r, kcGroups, refs, func(g *kcGroup, _ kcRef, _ time.Time) any {
		if g.autoscale == nil {
			return kcFail(kcRef{UUID: g.uuid, Name: g.name}, KraftCloudErrNotFound,
				"Service group '%s' has no autoscale configuration", g.name)
		}
		g.autoscale = nil
		return &kcRefItem{Status: "success", UUID: g.uuid, Name: g.name}
	})
}
