package cloudmc

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
)

// IngressRulesService manages the ingress (firewall) rules of the client's
// environment (/services/{service_code}/{environment_name}/ingressrules).
type IngressRulesService service

// Protocols of an ingress rule.
const (
	ProtocolTCP  = "TCP"
	ProtocolUDP  = "UDP"
	ProtocolICMP = "ICMP"
)

// IngressRule is an ingress rule as the API reports it.
type IngressRule struct {
	ID          string `json:"id"`
	NetworkID   string `json:"networkId,omitempty"`
	NetworkName string `json:"networkName,omitempty"`
	Protocol    string `json:"protocol"`
	// StartPort and EndPort bound the port range of a TCP or UDP rule.
	StartPort int    `json:"startPort,omitempty"`
	EndPort   int    `json:"endPort,omitempty"`
	CIDR      string `json:"cidr"`
	// ICMPType and ICMPCode narrow an ICMP rule (-1: any).
	ICMPType *int   `json:"icmpType,omitempty"`
	ICMPCode *int   `json:"icmpCode,omitempty"`
	State    string `json:"state,omitempty"`
}

// IngressRuleCreateRequest is the body of IngressRulesService.Create. A TCP
// or UDP rule opens StartPort to EndPort (EndPort zero means StartPort
// alone) to CIDR; an ICMP rule takes no ports. NetworkID empty means the
// environment's default network.
type IngressRuleCreateRequest struct {
	NetworkID string `json:"networkId,omitempty"`
	Protocol  string `json:"protocol"`
	StartPort int    `json:"startPort,omitempty"`
	EndPort   int    `json:"endPort,omitempty"`
	CIDR      string `json:"cidr"`
	ICMPType  *int   `json:"icmpType,omitempty"`
	ICMPCode  *int   `json:"icmpCode,omitempty"`
}

// List fetches every ingress rule of the environment.
func (s *IngressRulesService) List(ctx context.Context) ([]IngressRule, error) {
	return listData[IngressRule](ctx, s.client, s.client.envPath("ingressrules", ""))
}

// Get fetches one ingress rule.
func (s *IngressRulesService) Get(ctx context.Context, id string) (*IngressRule, error) {
	if err := checkID("ingress rule ID", id); err != nil {
		return nil, err
	}
	return getData[IngressRule](ctx, s.client, s.client.envPath("ingressrules", id))
}

// Create starts creating an ingress rule; the task's result is the rule.
// The protocol is sent upper-cased; EndPort defaults to StartPort.
func (s *IngressRulesService) Create(ctx context.Context, req *IngressRuleCreateRequest) (*Task, error) {
	if req == nil {
		return nil, invalid("ingress rule create request is nil")
	}
	body := *req
	body.Protocol = strings.ToUpper(strings.TrimSpace(req.Protocol))
	switch body.Protocol {
	case ProtocolTCP, ProtocolUDP:
		if body.StartPort < 1 || body.StartPort > 65535 {
			return nil, invalid("ingress rule startPort %d is not a port (1-65535)", body.StartPort)
		}
		if body.EndPort == 0 {
			body.EndPort = body.StartPort
		}
		if body.EndPort < body.StartPort || body.EndPort > 65535 {
			return nil, invalid("ingress rule endPort %d is not a port from startPort %d to 65535", body.EndPort, body.StartPort)
		}
		if body.ICMPType != nil || body.ICMPCode != nil {
			return nil, invalid("ingress rule icmpType and icmpCode apply to ICMP rules only")
		}
	case ProtocolICMP:
		if body.StartPort != 0 || body.EndPort != 0 {
			return nil, invalid("an ICMP ingress rule takes no ports")
		}
	case "":
		return nil, invalid("ingress rule protocol is required (TCP, UDP or ICMP)")
	default:
		return nil, invalid("ingress rule protocol %q is not TCP, UDP or ICMP", req.Protocol)
	}
	if err := required("ingress rule cidr", body.CIDR); err != nil {
		return nil, err
	}
	if _, err := netip.ParsePrefix(strings.TrimSpace(body.CIDR)); err != nil {
		return nil, invalid("ingress rule cidr %q is not a CIDR block such as 203.0.113.0/24", body.CIDR)
	}
	return startTask(ctx, s.client, http.MethodPost, s.client.envPath("ingressrules", ""), nil, &body)
}

// Delete starts deleting an ingress rule.
func (s *IngressRulesService) Delete(ctx context.Context, id string) (*Task, error) {
	if err := checkID("ingress rule ID", id); err != nil {
		return nil, err
	}
	return startTask(ctx, s.client, http.MethodDelete, s.client.envPath("ingressrules", id), nil, nil)
}
