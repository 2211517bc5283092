package cloudsim

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// crusoeFirewallRule is a VPC firewall rule as the API renders it.
type crusoeFirewallRule struct {
	Action           string                 `json:"action"`
	DestinationPorts []string               `json:"destination_ports"`
	Destinations     []crusoeFirewallObject `json:"destinations"`
	Direction        string                 `json:"direction"`
	ID               string                 `json:"id"`
	Name             string                 `json:"name"`
	Protocols        []string               `json:"protocols"`
	SourcePorts      []string               `json:"source_ports"`
	Sources          []crusoeFirewallObject `json:"sources"`
	State            string                 `json:"state"`
	VPCNetworkID     string                 `json:"vpc_network_id"`

	pending int // create or update operations in flight
}

// crusoeFirewallObject is a FirewallRuleObject or NetworkTarget: a CIDR or a resource.
type crusoeFirewallObject struct {
	CIDR       string `json:"cidr,omitempty"`
	ResourceID string `json:"resource_id,omitempty"`
}

const (
	ruleActive  = "active"
	rulePending = "pending"
)

func (f *crusoeFirewallRule) render() crusoeFirewallRule {
	out := *f
	out.DestinationPorts = append([]string{}, f.DestinationPorts...)
	out.Destinations = append([]crusoeFirewallObject{}, f.Destinations...)
	out.Protocols = append([]string{}, f.Protocols...)
	out.SourcePorts = append([]string{}, f.SourcePorts...)
	out.Sources = append([]crusoeFirewallObject{}, f.Sources...)
	out.State = ruleActive
	if f.pending > 0 {
		out.State = rulePending
	}
	return out
}

// crusoeNetwork is a VPC network.
type crusoeNetwork struct {
	CIDR    string   `json:"cidr"`
	Gateway string   `json:"gateway"`
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Subnets []string `json:"subnets"`

	fixture bool
}

// crusoeSubnet is a VPC subnet.
type crusoeSubnet struct {
	CIDR         string `json:"cidr"`
	ID           string `json:"id"`
	Location     string `json:"location"`
	Name         string `json:"name"`
	VPCNetworkID string `json:"vpc_network_id"`

	fixture bool
}

// crusoeLoadBalancer is a load balancer as the API renders it.
type crusoeLoadBalancer struct {
	Algorithm         string                 `json:"algorithm"`
	Destinations      []crusoeFirewallObject `json:"destinations"`
	HealthCheck       *crusoeHealthCheck     `json:"health_check,omitempty"`
	ID                string                 `json:"id"`
	IPs               []crusoeIP             `json:"ips"`
	Location          string                 `json:"location"`
	Name              string                 `json:"name"`
	NetworkInterfaces []crusoeLBInterface    `json:"network_interfaces"`
	Protocols         []string               `json:"protocols"`
	Type              string                 `json:"type"`
}

type crusoeHealthCheck struct {
	FailureCount flexString `json:"failure_count"`
	Interval     flexString `json:"interval"`
	Port         flexString `json:"port"`
	SuccessCount flexString `json:"success_count"`
	Timeout      flexString `json:"timeout"`
}

type crusoeLBInterface struct {
	Network string `json:"network"`
	Subnet  string `json:"subnet"`
}

func (lb *crusoeLoadBalancer) render() crusoeLoadBalancer {
	out := *lb
	out.Destinations = append([]crusoeFirewallObject{}, lb.Destinations...)
	out.IPs = append([]crusoeIP{}, lb.IPs...)
	out.NetworkInterfaces = append([]crusoeLBInterface{}, lb.NetworkInterfaces...)
	out.Protocols = append([]string{}, lb.Protocols...)
	if lb.HealthCheck != nil {
		hc := *lb.HealthCheck
		out.HealthCheck = &hc
	}
	return out
}

// Firewall rules.

type crusoeRuleRequest struct {
	Action           string                  `json:"action"`
	DestinationPorts *stringList             `json:"destination_ports"`
	Destinations     *[]crusoeFirewallObject `json:"destinations"`
	Direction        string                  `json:"direction"`
	Name             *string                 `json:"name"`
	Protocols        *stringList             `json:"protocols"`
	SourcePorts      *stringList             `json:"source_ports"`
	Sources          *[]crusoeFirewallObject `json:"sources"`
	VPCNetworkID     string                  `json:"vpc_network_id"`
}

var firewallProtocols = []string{"tcp", "udp", "icmp", "all"}

func checkProtocols(field string, ps []string) ([]string, error) {
	if len(ps) == 0 {
		return nil, missingField(field)
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strings.ToLower(strings.TrimSpace(p))
		if !slices.Contains(firewallProtocols, out[i]) {
			return nil, badEnum(fmt.Sprintf("%s[%d]", field, i), p, firewallProtocols...)
		}
	}
	return out, nil
}

// checkPorts accepts "*", "N" and "N-M" with 1 <= N <= M <= 65535.
func checkPorts(field string, ps []string) ([]string, error) {
	out := []string{}
	for i, p := range ps {
		p = strings.TrimSpace(p)
		ok := p == "*"
		if !ok {
			lo, hi, isRange := strings.Cut(p, "-")
			if !isRange {
				hi = lo
			}
			a, errA := strconv.Atoi(lo)
			b, errB := strconv.Atoi(hi)
			ok = errA == nil && errB == nil && a >= 1 && b <= 65535 && a <= b
		}
		if !ok {
			return nil, badField(fmt.Sprintf("%s[%d]", field, i), "must be a port (1-65535), a range such as 3000-8080, or *, not %q", p)
		}
		out = append(out, p)
	}
	return out, nil
}

// checkTargets checks load balancer destinations (NetworkTarget): each a
// cidr, a resource_id, or both.
func checkTargets(field string, objs []crusoeFirewallObject) ([]crusoeFirewallObject, error) {
	return checkObjects(field, objs, false)
}

// checkRuleObjects checks the sources or destinations of a firewall rule.
// Every FirewallRuleObject in the reference carries a cidr, some a
// resource_id too: a resource_id alone does not say which of the
// resource's addresses the rule means, so it is refused.
func checkRuleObjects(field string, objs []crusoeFirewallObject) ([]crusoeFirewallObject, error) {
	return checkObjects(field, objs, true)
}

func checkObjects(field string, objs []crusoeFirewallObject, needCIDR bool) ([]crusoeFirewallObject, error) {
	if len(objs) == 0 {
		return nil, missingField(field)
	}
	for i, o := range objs {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case needCIDR && o.CIDR == "":
			return nil, badField(f+".cidr", "is required (a resource_id alone is not enough: give the resource's address, e.g. its private IPv4 as /32)")
		case o.CIDR == "" && o.ResourceID == "":
			return nil, badField(f, "needs a cidr or a resource_id")
		}
		if o.CIDR != "" {
			if _, err := netip.ParsePrefix(o.CIDR); err != nil {
				if _, err2 := netip.ParseAddr(o.CIDR); err2 != nil {
					return nil, badField(f+".cidr", "must be a CIDR such as 10.0.0.0/8, not %q", o.CIDR)
				}
			}
		}
	}
	return slices.Clone(objs), nil
}

func (c *crusoeCloud) ruleNamed(name string) *crusoeFirewallRule {
	return c.st.rules.find(func(f *crusoeFirewallRule) bool { return f.Name == name })
}

func (c *crusoeCloud) listRules(r *http.Request) (any, error) {
	var out []crusoeFirewallRule
	for _, f := range c.st.rules.all() {
		out = append(out, f.render())
	}
	return listOf(out), nil
}

func (c *crusoeCloud) getRule(r *http.Request) (any, error) {
	f := c.st.rules.get(r.PathValue("rule_id"))
	if f == nil {
		return nil, crusoeNotFound("vpc firewall rule", r.PathValue("rule_id"))
	}
	return f.render(), nil
}

// createRule makes the rule listable at once, "pending" until its operation
// completes and "active" after.
func (c *crusoeCloud) createRule(r *http.Request) (any, error) {
	var req crusoeRuleRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Name == nil || *req.Name == "" {
		return nil, missingField("name")
	}
	switch req.Action {
	case "":
		return nil, missingField("action")
	case "allow", "deny":
	default:
		return nil, badEnum("action", req.Action, "allow", "deny")
	}
	switch req.Direction {
	case "":
		return nil, missingField("direction")
	case "ingress", "egress":
	default:
		return nil, badEnum("direction", req.Direction, "ingress", "egress")
	}
	if req.VPCNetworkID == "" {
		return nil, missingField("vpc_network_id")
	}
	if c.st.networks.get(req.VPCNetworkID) == nil {
		return nil, badField("vpc_network_id", "names vpc network %s, which does not exist", req.VPCNetworkID)
	}
	rule := &crusoeFirewallRule{
		Action: req.Action, Direction: req.Direction, ID: newID(), Name: *req.Name,
		VPCNetworkID: req.VPCNetworkID, pending: 1,
	}
	var err error
	if rule.Protocols, err = checkProtocols("protocols", deref(req.Protocols)); err != nil {
		return nil, err
	}
	if rule.Sources, err = checkRuleObjects("sources", derefObjs(req.Sources)); err != nil {
		return nil, err
	}
	if rule.Destinations, err = checkRuleObjects("destinations", derefObjs(req.Destinations)); err != nil {
		return nil, err
	}
	if rule.SourcePorts, err = checkPorts("source_ports", deref(req.SourcePorts)); err != nil {
		return nil, err
	}
	if rule.DestinationPorts, err = checkPorts("destination_ports", deref(req.DestinationPorts)); err != nil {
		return nil, err
	}
	if c.ruleNamed(rule.Name) != nil {
		return nil, crusoeConflict("vpc firewall rule", rule.Name)
	}
	c.st.rules.put(rule.ID, rule)
	c.env.tally.add(crusoeFirewallCreates, rule.Name)
	return c.startOp(r, crusoeFamRules, []string{rule.ID}, func() (any, *opFailure) {
		if c.st.rules.get(rule.ID) == nil {
			return nil, &opFailure{Code: "not_found", Message: "vpc firewall rule " + rule.ID + " was deleted while it was being created"}
		}
		rule.pending--
		c.env.tally.add(crusoeRulesMade, rule.Name)
		return rule.render(), nil
	}, func() { c.st.rules.del(rule.ID) }), nil
}

func deref(l *stringList) []string {
	if l == nil {
		return nil
	}
	return *l
}

func derefObjs(o *[]crusoeFirewallObject) []crusoeFirewallObject {
	if o == nil {
		return nil
	}
	return *o
}

// updateRule checks the change up front and applies it when the operation completes.
func (c *crusoeCloud) updateRule(r *http.Request) (any, error) {
	rule := c.st.rules.get(r.PathValue("rule_id"))
	if rule == nil {
		return nil, crusoeNotFound("vpc firewall rule", r.PathValue("rule_id"))
	}
	var req crusoeRuleRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Action != "" || req.Direction != "" || req.VPCNetworkID != "" {
		return nil, crusoeBadRequest("action, direction and vpc_network_id of a firewall rule cannot be changed")
	}
	var changes []func()
	if req.Name != nil {
		name := *req.Name
		if name == "" {
			return nil, badField("name", "must not be empty")
		}
		if other := c.ruleNamed(name); other != nil && other != rule {
			return nil, crusoeConflict("vpc firewall rule", name)
		}
		changes = append(changes, func() { rule.Name = name })
	}
	if req.Protocols != nil {
		ps, err := checkProtocols("protocols", *req.Protocols)
		if err != nil {
			return nil, err
		}
		changes = append(changes, func() { rule.Protocols = ps })
	}
	for _, t := range []struct {
		field string
		val   *[]crusoeFirewallObject
		dst   *[]crusoeFirewallObject
	}{{"sources", req.Sources, &rule.Sources}, {"destinations", req.Destinations, &rule.Destinations}} {
		if t.val == nil {
			continue
		}
		objs, err := checkRuleObjects(t.field, *t.val)
		if err != nil {
			return nil, err
		}
		dst := t.dst
		changes = append(changes, func() { *dst = objs })
	}
	for _, p := range []struct {
		field string
		val   *stringList
		dst   *[]string
	}{{"source_ports", req.SourcePorts, &rule.SourcePorts}, {"destination_ports", req.DestinationPorts, &rule.DestinationPorts}} {
		if p.val == nil {
			continue
		}
		ports, err := checkPorts(p.field, *p.val)
		if err != nil {
			return nil, err
		}
		dst := p.dst
		changes = append(changes, func() { *dst = ports })
	}
	rule.pending++
	return c.startOp(r, crusoeFamRules, []string{rule.ID}, func() (any, *opFailure) {
		if c.st.rules.get(rule.ID) == nil {
			return nil, &opFailure{Code: "not_found", Message: "vpc firewall rule " + rule.ID + " was deleted"}
		}
		for _, apply := range changes {
			apply()
		}
		rule.pending--
		c.env.tally.add(crusoeRulesMade, rule.Name)
		return rule.render(), nil
	}, func() { rule.pending-- }), nil
}

func (c *crusoeCloud) deleteRule(r *http.Request) (any, error) {
	rule := c.st.rules.get(r.PathValue("rule_id"))
	if rule == nil {
		return nil, crusoeNotFound("vpc firewall rule", r.PathValue("rule_id"))
	}
	return c.startOp(r, crusoeFamRules, []string{rule.ID}, func() (any, *opFailure) {
		c.st.rules.del(rule.ID)
		return nil, nil
	}, nil), nil
}

// VPC networks.

func (c *crusoeCloud) renderNetwork(n *crusoeNetwork) crusoeNetwork {
	out := *n
	out.Subnets = []string{}
	for _, s := range c.st.subnets.all() {
		if s.VPCNetworkID == n.ID {
			out.Subnets = append(out.Subnets, s.ID)
		}
	}
	return out
}

func (c *crusoeCloud) networkNamed(name string) *crusoeNetwork {
	return c.st.networks.find(func(n *crusoeNetwork) bool { return n.Name == name })
}

func (c *crusoeCloud) listNetworks(r *http.Request) (any, error) {
	var out []crusoeNetwork
	for _, n := range c.st.networks.all() {
		out = append(out, c.renderNetwork(n))
	}
	return listOf(out), nil
}

func (c *crusoeCloud) getNetwork(r *http.Request) (any, error) {
	n := c.st.networks.get(r.PathValue("network_id"))
	if n == nil {
		return nil, crusoeNotFound("vpc network", r.PathValue("network_id"))
	}
	return c.renderNetwork(n), nil
}

type crusoeNetworkRequest struct {
	CIDR string `json:"cidr"`
	Name string `json:"name"`
}

type crusoeNetworkEnvelope struct {
	Network crusoeNetwork `json:"network"`
}

// createNetwork is synchronous: the answer holds the network.
func (c *crusoeCloud) createNetwork(r *http.Request) (any, error) {
	var req crusoeNetworkRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, missingField("name")
	}
	if req.CIDR == "" {
		return nil, missingField("cidr")
	}
	p, err := netip.ParsePrefix(req.CIDR)
	if err != nil || !p.Addr().Is4() {
		return nil, badField("cidr", "must be an IPv4 CIDR such as 172.27.0.0/16, not %q", req.CIDR)
	}
	if c.networkNamed(req.Name) != nil {
		return nil, crusoeConflict("vpc network", req.Name)
	}
	n := &crusoeNetwork{CIDR: p.Masked().String(), Gateway: newID(), ID: newID(), Name: req.Name}
	c.st.networks.put(n.ID, n)
	return crusoeNetworkEnvelope{Network: c.renderNetwork(n)}, nil
}

type crusoeRenameRequest struct {
	Name string `json:"name"`
}

func (c *crusoeCloud) updateNetwork(r *http.Request) (any, error) {
	n := c.st.networks.get(r.PathValue("network_id"))
	if n == nil {
		return nil, crusoeNotFound("vpc network", r.PathValue("network_id"))
	}
	var req crusoeRenameRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, missingField("name")
	}
	if other := c.networkNamed(req.Name); other != nil && other != n {
		return nil, crusoeConflict("vpc network", req.Name)
	}
	return c.startOp(r, crusoeFamNetworks, []string{n.ID}, func() (any, *opFailure) {
		if c.st.networks.get(n.ID) == nil {
			return nil, &opFailure{Code: "not_found", Message: "vpc network " + n.ID + " was deleted"}
		}
		n.Name = req.Name
		return c.renderNetwork(n), nil
	}, nil), nil
}

func (c *crusoeCloud) deleteNetwork(r *http.Request) (any, error) {
	n := c.st.networks.get(r.PathValue("network_id"))
	if n == nil {
		return nil, crusoeNotFound("vpc network", r.PathValue("network_id"))
	}
	if s := c.st.subnets.find(func(s *crusoeSubnet) bool { return s.VPCNetworkID == n.ID }); s != nil {
		return nil, crusoeBadRequest("vpc network %s still has subnet %s; delete its subnets first", n.ID, s.ID)
	}
	if f := c.st.rules.find(func(f *crusoeFirewallRule) bool { return f.VPCNetworkID == n.ID }); f != nil {
		return nil, crusoeBadRequest("vpc network %s still has firewall rule %s; delete its firewall rules first", n.ID, f.ID)
	}
	return c.startOp(r, crusoeFamNetworks, []string{n.ID}, func() (any, *opFailure) {
		c.st.networks.del(n.ID)
		return nil, nil
	}, nil), nil
}

// VPC subnets.

func (c *crusoeCloud) subnetNamed(name string) *crusoeSubnet {
	return c.st.subnets.find(func(s *crusoeSubnet) bool { return s.Name == name })
}

func (c *crusoeCloud) listSubnets(r *http.Request) (any, error) {
	var out []crusoeSubnet
	for _, s := range c.st.subnets.all() {
		out = append(out, *s)
	}
	return listOf(out), nil
}

func (c *crusoeCloud) getSubnet(r *http.Request) (any, error) {
	s := c.st.subnets.get(r.PathValue("subnet_id"))
	if s == nil {
		return nil, crusoeNotFound("vpc subnet", r.PathValue("subnet_id"))
	}
	return *s, nil
}

type crusoeSubnetRequest struct {
	CIDR         string `json:"cidr"`
	Location     string `json:"location"`
	Name         string `json:"name"`
	VPCNetworkID string `json:"vpc_network_id"`
}

type crusoeSubnetEnvelope struct {
	Subnet crusoeSubnet `json:"subnet"`
}

// createSubnet is synchronous: the answer holds the subnet. Its CIDR must lie
// in the network's and overlap no other subnet of the network.
func (c *crusoeCloud) createSubnet(r *http.Request) (any, error) {
	var req crusoeSubnetRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	switch {
	case req.Name == "":
		return nil, missingField("name")
	case req.CIDR == "":
		return nil, missingField("cidr")
	case req.VPCNetworkID == "":
		return nil, missingField("vpc_network_id")
	}
	if err := checkLocation("location", req.Location); err != nil {
		return nil, err
	}
	n := c.st.networks.get(req.VPCNetworkID)
	if n == nil {
		return nil, badField("vpc_network_id", "names vpc network %s, which does not exist", req.VPCNetworkID)
	}
	p, err := netip.ParsePrefix(req.CIDR)
	if err != nil || !p.Addr().Is4() {
		return nil, badField("cidr", "must be an IPv4 CIDR such as 172.27.32.0/20, not %q", req.CIDR)
	}
	p = p.Masked()
	np := netip.MustParsePrefix(n.CIDR)
	if p.Bits() < np.Bits() || !np.Contains(p.Addr()) {
		return nil, badField("cidr", "%s is not within the network's %s", p, n.CIDR)
	}
	for _, s := range c.st.subnets.all() {
		if s.VPCNetworkID == n.ID && netip.MustParsePrefix(s.CIDR).Overlaps(p) {
			return nil, badField("cidr", "%s overlaps subnet %s (%s)", p, s.ID, s.CIDR)
		}
	}
	if c.subnetNamed(req.Name) != nil {
		return nil, crusoeConflict("vpc subnet", req.Name)
	}
	s := &crusoeSubnet{CIDR: p.String(), ID: newID(), Location: req.Location, Name: req.Name, VPCNetworkID: n.ID}
	c.st.subnets.put(s.ID, s)
	return crusoeSubnetEnvelope{Subnet: *s}, nil
}

func (c *crusoeCloud) updateSubnet(r *http.Request) (any, error) {
	s := c.st.subnets.get(r.PathValue("subnet_id"))
	if s == nil {
		return nil, crusoeNotFound("vpc subnet", r.PathValue("subnet_id"))
	}
	var req crusoeRenameRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, missingField("name")
	}
	if other := c.subnetNamed(req.Name); other != nil && other != s {
		return nil, crusoeConflict("vpc subnet", req.Name)
	}
	return c.startOp(r, crusoeFamSubnets, []string{s.ID}, func() (any, *opFailure) {
		if c.st.subnets.get(s.ID) == nil {
			return nil, &opFailure{Code: "not_found", Message: "vpc subnet " + s.ID + " was deleted"}
		}
		s.Name = req.Name
		return *s, nil
	}, nil), nil
}

func (c *crusoeCloud) deleteSubnet(r *http.Request) (any, error) {
	s := c.st.subnets.get(r.PathValue("subnet_id"))
	if s == nil {
		return nil, crusoeNotFound("vpc subnet", r.PathValue("subnet_id"))
	}
	inUse := c.st.vms.find(func(v *crusoeVM) bool {
		return slices.ContainsFunc(v.NetworkInterfaces, func(n crusoeNIC) bool { return n.Subnet == s.ID })
	})
	if inUse != nil {
		return nil, crusoeBadRequest("vpc subnet %s is used by vm %s", s.ID, inUse.ID)
	}
	return c.startOp(r, crusoeFamSubnets, []string{s.ID}, func() (any, *opFailure) {
		c.st.subnets.del(s.ID)
		return nil, nil
	}, nil), nil
}

// Load balancers.

type crusoeLBRequest struct {
	Algorithm         string                  `json:"algorithm"`
	Destinations      *[]crusoeFirewallObject `json:"destinations"`
	HealthCheck       *crusoeHealthCheck      `json:"health_check"`
	Location          string                  `json:"location"`
	Name              *string                 `json:"name"`
	NetworkInterfaces []crusoeLBInterface     `json:"network_interfaces"`
	Protocols         stringList              `json:"protocols"`
	Type              string                  `json:"type"`
}

func (c *crusoeCloud) lbNamed(name string) *crusoeLoadBalancer {
	return c.st.lbs.find(func(lb *crusoeLoadBalancer) bool { return lb.Name == name })
}

func (c *crusoeCloud) listLBs(r *http.Request) (any, error) {
	var out []crusoeLoadBalancer
	for _, lb := range c.st.lbs.all() {
		out = append(out, lb.render())
	}
	return listOf(out), nil
}

func (c *crusoeCloud) getLB(r *http.Request) (any, error) {
	lb := c.st.lbs.get(r.PathValue("lb_id"))
	if lb == nil {
		return nil, crusoeNotFound("load balancer", r.PathValue("lb_id"))
	}
	return lb.render(), nil
}

func (c *crusoeCloud) createLB(r *http.Request) (any, error) {
	var req crusoeLBRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	switch {
	case req.Name == nil || *req.Name == "":
		return nil, missingField("name")
	case req.Algorithm == "":
		return nil, missingField("algorithm")
	case len(req.NetworkInterfaces) == 0:
		return nil, missingField("network_interfaces")
	case len(req.Protocols) == 0:
		return nil, missingField("protocols")
	}
	if err := checkLocation("location", req.Location); err != nil {
		return nil, err
	}
	dests, err := checkTargets("destinations", derefObjs(req.Destinations))
	if err != nil {
		return nil, err
	}
	protocols, err := checkProtocols("protocols", req.Protocols)
	if err != nil {
		return nil, err
	}
	var subnet *crusoeSubnet
	for i, ni := range req.NetworkInterfaces {
		f := fmt.Sprintf("network_interfaces[%d]", i)
		if ni.Network == "" {
			return nil, missingField(f + ".network")
		}
		if c.st.networks.get(ni.Network) == nil {
			return nil, badField(f+".network", "names vpc network %s, which does not exist", ni.Network)
		}
		if ni.Subnet != "" {
			s := c.st.subnets.get(ni.Subnet)
			if s == nil || s.VPCNetworkID != ni.Network {
				return nil, badField(f+".subnet", "names subnet %s, which does not exist in network %s", ni.Subnet, ni.Network)
			}
			if subnet == nil {
				subnet = s
			}
		}
	}
	if subnet == nil {
		if subnet, err = c.subnetFor("network_interfaces[0].subnet", "", req.Location); err != nil {
			return nil, err
		}
	}
	if c.lbNamed(*req.Name) != nil {
		return nil, crusoeConflict("load balancer", *req.Name)
	}
	typ := req.Type
	if typ == "" {
		typ = "internal_ipv4"
	}
	nic := c.newNIC(subnet, "dynamic", "lb")
	lb := &crusoeLoadBalancer{
		Algorithm: req.Algorithm, Destinations: dests, HealthCheck: req.HealthCheck, ID: newID(),
		IPs: nic.IPs, Location: req.Location, Name: *req.Name,
		NetworkInterfaces: slices.Clone(req.NetworkInterfaces), Protocols: protocols, Type: typ,
	}
	c.st.lbs.put(lb.ID, lb)
	return c.startOp(r, crusoeFamLBs, []string{lb.ID}, func() (any, *opFailure) {
		if c.st.lbs.get(lb.ID) == nil {
			return nil, &opFailure{Code: "not_found", Message: "load balancer " + lb.ID + " was deleted while it was being created"}
		}
		return lb.render(), nil
	}, func() { c.st.lbs.del(lb.ID) }), nil
}

func (c *crusoeCloud) updateLB(r *http.Request) (any, error) {
	lb := c.st.lbs.get(r.PathValue("lb_id"))
	if lb == nil {
		return nil, crusoeNotFound("load balancer", r.PathValue("lb_id"))
	}
	var req crusoeLBRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	var changes []func()
	if req.Name != nil {
		name := *req.Name
		if name == "" {
			return nil, badField("name", "must not be empty")
		}
		if other := c.lbNamed(name); other != nil && other != lb {
			return nil, crusoeConflict("load balancer", name)
		}
		changes = append(changes, func() { lb.Name = name })
	}
	if req.Destinations != nil {
		dests, err := checkTargets("destinations", *req.Destinations)
		if err != nil {
			return nil, err
		}
		changes = append(changes, func() { lb.Destinations = dests })
	}
	if req.HealthCheck != nil {
		hc := *req.HealthCheck
		changes = append(changes, func() {
			if hc.Port == "0" {
				lb.HealthCheck = nil // the reference: port 0 disables health checking
				return
			}
			lb.HealthCheck = &hc
		})
	}
	return c.startOp(r, crusoeFamLBs, []string{lb.ID}, func() (any, *opFailure) {
		if c.st.lbs.get(lb.ID) == nil {
			return nil, &opFailure{Code: "not_found", Message: "load balancer " + lb.ID + " was deleted"}
		}
		for _, apply := range changes {
			apply()
		}
		return lb.render(), nil
	}, nil), nil
}

func (c *crusoeCloud) deleteLB(r *http.Request) (any, error) {
	lb := c.st.lbs.get(r.PathValue("lb_id"))
	if lb == nil {
		return nil, crusoeNotFound("load balancer", r.PathValue("lb_id"))
	}
	return c.startOp(r, crusoeFamLBs, []string{lb.ID}, func() (any, *opFailure) {
		c.st.lbs.del(lb.ID)
		return nil, nil
	}, nil), nil
}
