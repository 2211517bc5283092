package spec

import "github.com/cloudflow/cloudflow/workflows"

// ProvisionInput is the ProvisionVM workflow input the spec describes: cloud
// names derived ("<vm>-<disk>", "<vm>-<rule>"), defaults filled in and bare
// addresses turned into single-address CIDRs.
func (s *VMSpec) ProvisionInput() workflows.ProvisionVMInput {
	in := workflows.ProvisionVMInput{
		ProjectID: s.Project,
		VM: workflows.VMSpec{
			Name:           s.VM.Name,
			Type:           s.VM.Type,
			Location:       s.VM.Location,
			Image:          s.VM.Image,
			SSHPublicKey:   s.VM.SSHPublicKey,
			StartupScript:  s.VM.StartupScript,
			ShutdownScript: s.VM.ShutdownScript,
		},
		Timeouts: s.Timeouts.input(),
	}
	for _, d := range s.Disks {
		in.Disks = append(in.Disks, workflows.DiskSpec{
			Name: s.DiskName(d),
			Size: d.Size,
			Type: orDefault(d.Type, DefaultDiskType),
			Mode: orDefault(d.Mode, DefaultDiskMode),
		})
	}
	for _, r := range s.FirewallRules {
		rule := workflows.FirewallRuleSpec{
			Name:             s.RuleName(r),
			VPCNetworkID:     r.VPCNetworkID,
			VPCNetwork:       r.VPCNetwork,
			Direction:        r.Direction,
			Action:           orDefault(r.Action, DefaultAction),
			Protocols:        append([]string(nil), r.Protocols...),
			Sources:          normalizeAddresses(r.Sources),
			Destinations:     normalizeAddresses(r.Destinations),
			SourcePorts:      append([]string(nil), r.SourcePorts...),
			DestinationPorts: append([]string(nil), r.DestinationPorts...),
		}
		if rule.VPCNetworkID == "" && rule.VPCNetwork == "" {
			rule.VPCNetwork = DefaultVPCNetwork
		}
		if len(rule.SourcePorts) == 0 {
			rule.SourcePorts = nil
		}
		if len(rule.DestinationPorts) == 0 {
			rule.DestinationPorts = nil
		}
		in.FirewallRules = append(in.FirewallRules, rule)
	}
	return in
}

// DeprovisionInput is the DeprovisionVM workflow input that removes what
// ProvisionInput makes, by the same derived names.
func (s *VMSpec) DeprovisionInput() workflows.DeprovisionVMInput {
	in := workflows.DeprovisionVMInput{
		ProjectID: s.Project,
		VMName:    s.VM.Name,
		Timeouts:  s.Timeouts.input(),
	}
	for _, d := range s.Disks {
		in.DiskNames = append(in.DiskNames, s.DiskName(d))
	}
	for _, r := range s.FirewallRules {
		in.FirewallRules = append(in.FirewallRules, s.RuleName(r))
	}
	return in
}

// DiskName is the name the disk has in the cloud: "<vm>-<disk>".
func (s *VMSpec) DiskName(d Disk) string { return s.VM.Name + "-" + d.Name }

// RuleName is the name the firewall rule has in the cloud: "<vm>-<rule>".
func (s *VMSpec) RuleName(r FirewallRule) string { return s.VM.Name + "-" + r.Name }

// input is the workflows' form of the timeouts section.
func (t Timeouts) input() workflows.Timeouts {
	return workflows.Timeouts{Operation: t.Operation, Heartbeat: t.Heartbeat, Undo: t.Undo}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func normalizeAddresses(addrs []string) []string {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if n, ok := normalizeAddress(a); ok {
			a = n
		}
		out = append(out, a)
	}
	return out
}
