package cloudsim

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Ingress rule states, CloudStack's firewall rule words: Add while the create
// task runs, Active once applied. A rule being deleted stays Active until its
// task completes.
const (
	cmcRuleAdd    = "Add"
	cmcRuleActive = "Active"
)

type cmcRule struct {
	id, networkID, protocol, cidr, state string
	startPort, endPort                   int
	icmpType, icmpCode                   *int
	hold                                 cmcHold
}

// cmcRuleView is an ingress rule as GET renders it.
type cmcRuleView struct {
	ID          string `json:"id"`
	NetworkID   string `json:"networkId"`
	NetworkName string `json:"networkName"`
	Protocol    string `json:"protocol"`
	StartPort   int    `json:"startPort,omitempty"`
	EndPort     int    `json:"endPort,omitempty"`
	CIDR        string `json:"cidr"`
	ICMPType    *int   `json:"icmpType,omitempty"`
	ICMPCode    *int   `json:"icmpCode,omitempty"`
	State       string `json:"state"`
}

func (c *cloudMC) renderRule(r *cmcRule) cmcRuleView {
	return cmcRuleView{
		ID: r.id, NetworkID: r.networkID, NetworkName: CloudMCNetworkName, Protocol: r.protocol,
		StartPort: r.startPort, EndPort: r.endPort, CIDR: r.cidr, ICMPType: r.icmpType, ICMPCode: r.icmpCode, State: r.state,
	}
}

func (c *cloudMC) rule(id string) (*cmcRule, error) {
	r := c.st.rules.get(id)
	if r == nil {
		return nil, cmcNotFound("ingressrules", id)
	}
	return r, nil
}

func (c *cloudMC) listRules(r *http.Request) (any, error) {
	var out []cmcRuleView
	for _, x := range c.st.rules.all() {
		out = append(out, c.renderRule(x))
	}
	return cmcList(out), nil
}

func (c *cloudMC) getRule(r *http.Request) (any, error) {
	x, err := c.rule(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return cmcData{Data: c.renderRule(x)}, nil
}

type cmcRuleCreateRequest struct {
	NetworkID string `json:"networkId"`
	Protocol  string `json:"protocol"`
	StartPort int    `json:"startPort"`
	EndPort   int    `json:"endPort"`
	CIDR      string `json:"cidr"`
	ICMPType  *int   `json:"icmpType"`
	ICMPCode  *int   `json:"icmpCode"`
}

// parseRule checks a create request and builds the rule it asks for: the
// protocol upper-cased, endPort defaulting to startPort, the CIDR masked.
func parseRule(req cmcRuleCreateRequest) (*cmcRule, error) {
	x := &cmcRule{networkID: req.NetworkID, protocol: strings.ToUpper(strings.TrimSpace(req.Protocol))}
	if x.networkID == "" {
		x.networkID = CloudMCNetworkID
	}
	if err := checkFixture("networkId", x.networkID, CloudMCNetworkID, "networks"); err != nil {
		return nil, err
	}
	switch x.protocol {
	case "TCP", "UDP":
		x.startPort, x.endPort = req.StartPort, req.EndPort
		if x.startPort < 1 || x.startPort > 65535 {
			return nil, cmcInvalid("startPort", "startPort %d is not a port from 1 to 65535", req.StartPort)
		}
		if x.endPort == 0 {
			x.endPort = x.startPort
		}
		if x.endPort < x.startPort || x.endPort > 65535 {
			return nil, cmcInvalid("endPort", "endPort %d is not a port from startPort %d to 65535", req.EndPort, x.startPort)
		}
		if req.ICMPType != nil || req.ICMPCode != nil {
			return nil, cmcInvalid("icmpType", "icmpType and icmpCode apply to ICMP rules only")
		}
	case "ICMP":
		if req.StartPort != 0 || req.EndPort != 0 {
			return nil, cmcInvalid("startPort", "an ICMP rule takes no ports")
		}
		anyType, anyCode := -1, -1
		x.icmpType, x.icmpCode = &anyType, &anyCode
		for _, f := range []struct {
			field string
			v     *int
			dst   **int
			max   int
		}{{"icmpType", req.ICMPType, &x.icmpType, 255}, {"icmpCode", req.ICMPCode, &x.icmpCode, 255}} {
			if f.v == nil {
				continue
			}
			if *f.v < -1 || *f.v > f.max {
				return nil, cmcInvalid(f.field, "%s %d is not -1 (any) or from 0 to %d", f.field, *f.v, f.max)
			}
			n := *f.v
			*f.dst = &n
		}
	case "":
		return nil, cmcInvalid("protocol", "protocol is required: TCP, UDP or ICMP")
	default:
		return nil, cmcInvalid("protocol", "protocol %q is not TCP, UDP or ICMP", req.Protocol)
	}
	if req.CIDR == "" {
		return nil, cmcInvalid("cidr", "cidr is required, e.g. 0.0.0.0/0")
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(req.CIDR))
	if err != nil {
		return nil, cmcInvalid("cidr", "cidr %q is not a CIDR block such as 203.0.113.0/24", req.CIDR)
	}
	x.cidr = p.Masked().String()
	return x, nil
}

// overlaps reports whether a and b open some of the same traffic.
func (a *cmcRule) overlaps(b *cmcRule) bool {
	if a.networkID != b.networkID || a.protocol != b.protocol || a.cidr != b.cidr {
		return false
	}
	if a.protocol == "ICMP" {
		match := func(x, y *int) bool { return *x == -1 || *y == -1 || *x == *y }
		return match(a.icmpType, b.icmpType) && match(a.icmpCode, b.icmpCode)
	}
	return a.startPort <= b.endPort && b.startPort <= a.endPort
}

func (c *cloudMC) createRule(r *http.Request) (any, error) {
	var req cmcRuleCreateRequest
	if err := cmcDecode(r, &req); err != nil {
		return nil, err
	}
	x, err := parseRule(req)
	if err != nil {
		return nil, err
	}
	if other := c.st.rules.find(func(o *cmcRule) bool { return o.overlaps(x) }); other != nil {
		return nil, &cmcError{http.StatusBadRequest, CloudMCErrNameInUse,
			fmt.Sprintf("The rule conflicts with ingress rule %s (%s %s)", other.id, other.protocol, other.cidr),
			map[string]any{"id": other.id, "type": "ingressrules"}}
	}
	x.id, x.state = newID(), cmcRuleAdd
	c.st.rules.put(x.id, x)
	return c.startTask(r, x.id, &x.hold, "create", func() (any, *opFailure) {
		if c.st.rules.get(x.id) == nil {
			return nil, cmcFail(CloudMCErrNotFound, "Ingress rule %s disappeared while it was being added", x.id)
		}
		if x.state == cmcRuleAdd {
			x.state = cmcRuleActive
		}
		return c.renderRule(x), nil
	}, func() {
		c.st.rules.del(x.id)
	}), nil
}

func (c *cloudMC) deleteRule(r *http.Request) (any, error) {
	x, err := c.rule(r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if x.state != cmcRuleActive {
		return nil, cmcWrongState("ingressrules", x.id, "delete", x.state, cmcRuleActive)
	}
	if err := x.hold.refuse("ingressrules", x.id, "delete", x.state); err != nil {
		return nil, err
	}
	return c.startTask(r, x.id, &x.hold, "delete", func() (any, *opFailure) {
		view := c.renderRule(x)
		c.st.rules.del(x.id)
		return view, nil
	}, nil), nil
}
