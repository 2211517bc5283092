package crusoe

import (
	"context"
	"net/http"
)

// FirewallRulesService manages VPC firewall rules (family FamilyFirewallRules).
type FirewallRulesService service

// FirewallRule is a VPC firewall rule. Ports are single ports or ranges
// ("80", "3000-8080").
type FirewallRule struct {
	ID               string               `json:"id"`
	Name             string               `json:"name"`
	VPCNetworkID     string               `json:"vpc_network_id"`
	Action           string               `json:"action"`
	Direction        string               `json:"direction"`
	Protocols        []string             `json:"protocols,omitempty"`
	Sources          []FirewallRuleObject `json:"sources,omitempty"`
	Destinations     []FirewallRuleObject `json:"destinations,omitempty"`
	SourcePorts      []string             `json:"source_ports,omitempty"`
	DestinationPorts []string             `json:"destination_ports,omitempty"`
	State            string               `json:"state,omitempty"`
}

// FirewallRuleObject is a source or destination of a rule. Every one in the
// reference carries a CIDR, so the client requires it; ResourceID may name
// the resource the CIDR belongs to (a VM: its private IPv4 as /32).
type FirewallRuleObject struct {
	CIDR       string `json:"cidr"`
	ResourceID string `json:"resource_id,omitempty"`
}

// Firewall rule actions and directions.
const (
	FirewallActionAllow      = "allow"
	FirewallActionDeny       = "deny"
	FirewallDirectionIngress = "ingress"
	FirewallDirectionEgress  = "egress"
)

// FirewallRuleCreateRequest is the body of FirewallRulesService.Create.
type FirewallRuleCreateRequest struct {
	Name             string               `json:"name"`
	VPCNetworkID     string               `json:"vpc_network_id"`
	Action           string               `json:"action"`
	Direction        string               `json:"direction"`
	Protocols        []string             `json:"protocols"`
	Sources          []FirewallRuleObject `json:"sources"`
	Destinations     []FirewallRuleObject `json:"destinations"`
	SourcePorts      []string             `json:"source_ports,omitempty"`
	DestinationPorts []string             `json:"destination_ports,omitempty"`
}

// FirewallRulePatchRequest is the body of FirewallRulesService.Update; empty
// fields are left unchanged.
type FirewallRulePatchRequest struct {
	Name             string               `json:"name,omitempty"`
	Protocols        []string             `json:"protocols,omitempty"`
	Sources          []FirewallRuleObject `json:"sources,omitempty"`
	Destinations     []FirewallRuleObject `json:"destinations,omitempty"`
	SourcePorts      []string             `json:"source_ports,omitempty"`
	DestinationPorts []string             `json:"destination_ports,omitempty"`
}

func (s *FirewallRulesService) r() resource[FirewallRule] {
	return resource[FirewallRule]{c: s.client, base: string(FamilyFirewallRules), idName: "firewall rule ID"}
}

// List fetches every firewall rule of the project.
func (s *FirewallRulesService) List(ctx context.Context, projectID string) ([]FirewallRule, error) {
	return s.r().list(ctx, projectID, nil)
}

// Get fetches one firewall rule.
func (s *FirewallRulesService) Get(ctx context.Context, projectID, ruleID string) (*FirewallRule, error) {
	return s.r().get(ctx, projectID, ruleID)
}

// Create starts creating a firewall rule.
func (s *FirewallRulesService) Create(ctx context.Context, projectID string, req *FirewallRuleCreateRequest) (*Operation, error) {
	if req == nil {
		return nil, invalid("firewall rule create request is nil")
	}
	if err := requiredFields("firewall rule", "name", req.Name, "VPC network ID", req.VPCNetworkID); err != nil {
		return nil, err
	}
	if req.Action != FirewallActionAllow && req.Action != FirewallActionDeny {
		return nil, invalid("firewall rule action %q is not %q or %q", req.Action, FirewallActionAllow, FirewallActionDeny)
	}
	if req.Direction != FirewallDirectionIngress && req.Direction != FirewallDirectionEgress {
		return nil, invalid("firewall rule direction %q is not %q or %q", req.Direction, FirewallDirectionIngress, FirewallDirectionEgress)
	}
	if len(req.Protocols) == 0 {
		return nil, invalid("firewall rule %q needs at least one protocol", req.Name)
	}
	if err := checkRuleObjects("source", req.Sources); err != nil {
		return nil, err
	}
	if err := checkRuleObjects("destination", req.Destinations); err != nil {
		return nil, err
	}
	return s.r().createOperation(ctx, projectID, req)
}

func checkRuleObjects(what string, objs []FirewallRuleObject) error {
	if len(objs) == 0 {
		return invalid("firewall rule needs at least one %s", what)
	}
	for i, o := range objs {
		if o.CIDR == "" {
			return invalid("firewall rule %s %d has no CIDR (a resource ID alone is not enough: give its address too, a VM's private IPv4 as /32)", what, i)
		}
	}
	return nil
}

// Update starts changing a firewall rule.
func (s *FirewallRulesService) Update(ctx context.Context, projectID, ruleID string, req *FirewallRulePatchRequest) (*Operation, error) {
	if req == nil {
		return nil, invalid("firewall rule patch request is nil")
	}
	if req.Name == "" && req.Protocols == nil && req.Sources == nil && req.Destinations == nil &&
		req.SourcePorts == nil && req.DestinationPorts == nil {
		return nil, invalid("firewall rule patch request changes nothing")
	}
	if req.Sources != nil {
		if err := checkRuleObjects("source", req.Sources); err != nil {
			return nil, err
		}
	}
	if req.Destinations != nil {
		if err := checkRuleObjects("destination", req.Destinations); err != nil {
			return nil, err
		}
	}
	return s.r().itemOperation(ctx, http.MethodPatch, projectID, ruleID, req)
}

// Delete starts deleting a firewall rule.
func (s *FirewallRulesService) Delete(ctx context.Context, projectID, ruleID string) (*Operation, error) {
	return s.r().itemOperation(ctx, http.MethodDelete, projectID, ruleID, nil)
}

// VPCNetworksService manages VPC networks (family FamilyVPCNetworks).
type VPCNetworksService service

// VPCNetwork is a VPC network; Subnets holds subnet IDs.
type VPCNetwork struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	CIDR    string   `json:"cidr"`
	Gateway string   `json:"gateway,omitempty"`
	Subnets []string `json:"subnets,omitempty"`
}

// VPCNetworkCreateRequest is the body of VPCNetworksService.Create.
type VPCNetworkCreateRequest struct {
	Name string `json:"name"`
	CIDR string `json:"cidr"`
}

func (s *VPCNetworksService) r() resource[VPCNetwork] {
	return resource[VPCNetwork]{c: s.client, base: string(FamilyVPCNetworks), idName: "VPC network ID"}
}

// List fetches every VPC network of the project.
func (s *VPCNetworksService) List(ctx context.Context, projectID string) ([]VPCNetwork, error) {
	return s.r().list(ctx, projectID, nil)
}

// Get fetches one VPC network.
func (s *VPCNetworksService) Get(ctx context.Context, projectID, networkID string) (*VPCNetwork, error) {
	return s.r().get(ctx, projectID, networkID)
}

// Create makes a VPC network; unlike most creates it completes synchronously.
func (s *VPCNetworksService) Create(ctx context.Context, projectID string, req *VPCNetworkCreateRequest) (*VPCNetwork, error) {
	if req == nil {
		return nil, invalid("VPC network create request is nil")
	}
	if err := requiredFields("VPC network", "name", req.Name, "CIDR", req.CIDR); err != nil {
		return nil, err
	}
	p, err := s.r().collectionPath(projectID)
	if err != nil {
		return nil, err
	}
	return sendKeyed[VPCNetwork](ctx, s.client, http.MethodPost, p, "network", req)
}

// Update starts renaming a VPC network.
func (s *VPCNetworksService) Update(ctx context.Context, projectID, networkID, name string) (*Operation, error) {
	return renameOperation(ctx, s.r(), projectID, networkID, "VPC network name", name)
}

// Delete starts deleting a VPC network.
func (s *VPCNetworksService) Delete(ctx context.Context, projectID, networkID string) (*Operation, error) {
	return s.r().itemOperation(ctx, http.MethodDelete, projectID, networkID, nil)
}

// VPCSubnetsService manages VPC subnets (family FamilyVPCSubnets).
type VPCSubnetsService service

// VPCSubnet is a subnet of a VPC network in one location.
type VPCSubnet struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	CIDR         string `json:"cidr"`
	Location     string `json:"location"`
	VPCNetworkID string `json:"vpc_network_id"`
}

// VPCSubnetCreateRequest is the body of VPCSubnetsService.Create.
type VPCSubnetCreateRequest struct {
	Name         string `json:"name"`
	CIDR         string `json:"cidr"`
	Location     string `json:"location"`
	VPCNetworkID string `json:"vpc_network_id"`
}

func (s *VPCSubnetsService) r() resource[VPCSubnet] {
	return resource[VPCSubnet]{c: s.client, base: string(FamilyVPCSubnets), idName: "VPC subnet ID"}
}

// List fetches every VPC subnet of the project.
func (s *VPCSubnetsService) List(ctx context.Context, projectID string) ([]VPCSubnet, error) {
	return s.r().list(ctx, projectID, nil)
}

// Get fetches one VPC subnet.
func (s *VPCSubnetsService) Get(ctx context.Context, projectID, subnetID string) (*VPCSubnet, error) {
	return s.r().get(ctx, projectID, subnetID)
}

// Create makes a VPC subnet; unlike most creates it completes synchronously.
func (s *VPCSubnetsService) Create(ctx context.Context, projectID string, req *VPCSubnetCreateRequest) (*VPCSubnet, error) {
	if req == nil {
		return nil, invalid("VPC subnet create request is nil")
	}
	if err := requiredFields("VPC subnet", "name", req.Name, "CIDR", req.CIDR,
		"location", req.Location, "VPC network ID", req.VPCNetworkID); err != nil {
		return nil, err
	}
	p, err := s.r().collectionPath(projectID)
	if err != nil {
		return nil, err
	}
	return sendKeyed[VPCSubnet](ctx, s.client, http.MethodPost, p, "subnet", req)
}

// Update starts renaming a VPC subnet.
func (s *VPCSubnetsService) Update(ctx context.Context, projectID, subnetID, name string) (*Operation, error) {
	return renameOperation(ctx, s.r(), projectID, subnetID, "VPC subnet name", name)
}

// Delete starts deleting a VPC subnet.
func (s *VPCSubnetsService) Delete(ctx context.Context, projectID, subnetID string) (*Operation, error) {
	return s.r().itemOperation(ctx, http.MethodDelete, projectID, subnetID, nil)
}

// LoadBalancersService manages load balancers (family FamilyLoadBalancers).
type LoadBalancersService service

// LoadBalancer is a load balancer.
type LoadBalancer struct {
	ID                string                         `json:"id"`
	Name              string                         `json:"name"`
	Algorithm         string                         `json:"algorithm,omitempty"`
	Type              string                         `json:"type,omitempty"`
	Location          string                         `json:"location,omitempty"`
	Protocols         []string                       `json:"protocols,omitempty"`
	Destinations      []NetworkTarget                `json:"destinations,omitempty"`
	HealthCheck       *HealthCheckOptions            `json:"health_check,omitempty"`
	IPs               []IPAddresses                  `json:"ips,omitempty"`
	NetworkInterfaces []LoadBalancerNetworkInterface `json:"network_interfaces,omitempty"`
}

// NetworkTarget is a load balancer destination: a CIDR or a resource.
type NetworkTarget struct {
	CIDR       string `json:"cidr,omitempty"`
	ResourceID string `json:"resource_id,omitempty"`
}

// HealthCheckOptions configures load balancer health checks. The API spells
// the numbers as strings; a Port of "0" disables checking.
type HealthCheckOptions struct {
	FailureCount string `json:"failure_count,omitempty"`
	Interval     string `json:"interval,omitempty"`
	Port         string `json:"port,omitempty"`
	SuccessCount string `json:"success_count,omitempty"`
	Timeout      string `json:"timeout,omitempty"`
}

// LoadBalancerNetworkInterface places a load balancer in a network and subnet.
type LoadBalancerNetworkInterface struct {
	Network string `json:"network,omitempty"`
	Subnet  string `json:"subnet,omitempty"`
}

// LoadBalancerCreateRequest is the body of LoadBalancersService.Create.
type LoadBalancerCreateRequest struct {
	Name              string                         `json:"name"`
	Algorithm         string                         `json:"algorithm"`
	Location          string                         `json:"location"`
	Protocols         []string                       `json:"protocols"`
	Destinations      []NetworkTarget                `json:"destinations"`
	NetworkInterfaces []LoadBalancerNetworkInterface `json:"network_interfaces"`
	HealthCheck       *HealthCheckOptions            `json:"health_check,omitempty"`
	Type              string                         `json:"type,omitempty"`
}

// LoadBalancerPatchRequest is the body of LoadBalancersService.Update; empty
// fields are left unchanged.
type LoadBalancerPatchRequest struct {
	Name         string              `json:"name,omitempty"`
	Destinations []NetworkTarget     `json:"destinations,omitempty"`
	HealthCheck  *HealthCheckOptions `json:"health_check,omitempty"`
}

func (s *LoadBalancersService) r() resource[LoadBalancer] {
	return resource[LoadBalancer]{c: s.client, base: string(FamilyLoadBalancers), idName: "load balancer ID"}
}

// List fetches every load balancer of the project.
func (s *LoadBalancersService) List(ctx context.Context, projectID string) ([]LoadBalancer, error) {
	return s.r().list(ctx, projectID, nil)
}

// Get fetches one load balancer.
func (s *LoadBalancersService) Get(ctx context.Context, projectID, loadBalancerID string) (*LoadBalancer, error) {
	return s.r().get(ctx, projectID, loadBalancerID)
}

// Create starts creating a load balancer.
func (s *LoadBalancersService) Create(ctx context.Context, projectID string, req *LoadBalancerCreateRequest) (*Operation, error) {
	if req == nil {
		return nil, invalid("load balancer create request is nil")
	}
	if err := requiredFields("load balancer", "name", req.Name, "algorithm", req.Algorithm, "location", req.Location); err != nil {
		return nil, err
	}
	if len(req.Protocols) == 0 {
		return nil, invalid("load balancer %q needs at least one protocol", req.Name)
	}
	if len(req.Destinations) == 0 {
		return nil, invalid("load balancer %q needs at least one destination", req.Name)
	}
	if len(req.NetworkInterfaces) == 0 {
		return nil, invalid("load balancer %q needs at least one network interface", req.Name)
	}
	return s.r().createOperation(ctx, projectID, req)
}

// Update starts changing a load balancer.
func (s *LoadBalancersService) Update(ctx context.Context, projectID, loadBalancerID string, req *LoadBalancerPatchRequest) (*Operation, error) {
	if req == nil {
		return nil, invalid("load balancer patch request is nil")
	}
	if req.Name == "" && req.Destinations == nil && req.HealthCheck == nil {
		return nil, invalid("load balancer patch request changes nothing")
	}
	return s.r().itemOperation(ctx, http.MethodPatch, projectID, loadBalancerID, req)
}

// Delete starts deleting a load balancer.
func (s *LoadBalancersService) Delete(ctx context.Context, projectID, loadBalancerID string) (*Operation, error) {
	return s.r().itemOperation(ctx, http.MethodDelete, projectID, loadBalancerID, nil)
}

// renameOperation PATCHes {"name": name} onto an item.
func renameOperation[T any](ctx context.Context, r resource[T], projectID, id, what, name string) (*Operation, error) {
	if err := required(what, name); err != nil {
		return nil, err
	}
	body := struct {
		Name string `json:"name"`
	}{name}
	return r.itemOperation(ctx, http.MethodPatch, projectID, id, body)
}
