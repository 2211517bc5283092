package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/clients/openvz"
)

// observeEach answers one Observed per ref, in order.
func observeEach(ctx context.Context, in ObserveInput, one func(ctx context.Context, ref ObserveRef) (Observed, error)) (ObserveResult, error) {
	out := ObserveResult{Resources: make([]Observed, 0, len(in.Resources))}
	for _, ref := range in.Resources {
		obs, err := one(ctx, ref)
		if err != nil {
			return ObserveResult{}, err
		}
		obs.Key, obs.Kind, obs.Name = ref.Key, ref.Kind, ref.Name
		out.Resources = append(out.Resources, obs)
	}
	return out, nil
}

// byIDThenName looks a resource up by the ref's ID and, when that is gone,
// by its name.
func byIDThenName[T any](ctx context.Context, ref ObserveRef, find func(ctx context.Context, id, name string) (*T, error)) (*T, error) {
	if ref.ID != "" {
		x, err := find(ctx, ref.ID, "")
		if err != nil || x != nil {
			return x, err
		}
	}
	return find(ctx, "", ref.Name)
}

// --- CloudMC ---

// CloudMCRuleAttrs are an ingress rule's identifying fields in the
// canonical form a stack compares and keeps (and reads back to find it).
func CloudMCRuleAttrs(r CloudMCRule) map[string]string {
	n, err := r.normalized()
	if err != nil {
		n = r
	}
	return map[string]string{
		"protocol": strings.ToLower(n.Protocol), "startPort": strconv.Itoa(n.StartPort), "endPort": strconv.Itoa(n.EndPort),
		"cidr": CanonicalCIDR(n.CIDR), "networkId": n.NetworkID,
	}
}

// CloudMCRuleFromAttrs reads a rule back from CloudMCRuleAttrs.
func CloudMCRuleFromAttrs(attrs map[string]string) CloudMCRule {
	start, _ := strconv.Atoi(attrs["startPort"])
	end, _ := strconv.Atoi(attrs["endPort"])
	return CloudMCRule{NetworkID: attrs["networkId"], Protocol: attrs["protocol"], StartPort: start, EndPort: end, CIDR: attrs["cidr"]}
}

// CloudMCObserve reads a stack's CloudMC resources: the instance and the
// volume by ID, else by name (ref.Match["diskOffering"], an ID or a name,
// is answered as given when it is the volume's offering); the volume's attachment (found when the
// volume is attached to an instance: ref.Match["instance"] names it); an
// ingress rule by ID, else by its fields (ref.Match, CloudMCRuleAttrs).
func (a *CloudMCActivities) CloudMCObserve(ctx context.Context, in ObserveInput) (ObserveResult, error) {
	if err := a.ready(); err != nil {
		return ObserveResult{}, err
	}
	lookupErr := func(what string, err error) error { return apiError(CloudCloudMC, what, err) }
	return observeEach(ctx, in, func(ctx context.Context, ref ObserveRef) (Observed, error) {
		var obs Observed
		switch ref.Kind {
		case KindCloudMCInstance:
			i, err := byIDThenName(ctx, ref, a.findInstance)
			if err != nil || i == nil {
				return obs, lookupErr("look up instance "+ref.Name, err)
			}
			obs = Observed{Found: true, ID: i.ID, State: i.State, Attrs: map[string]string{
				"computeOffering": i.ComputeOfferingID, "network": i.NetworkID, "template": i.TemplateID,
			}}
			if i.IPAddress != "" {
				obs.Outputs = map[string]string{OutputIPAddress: i.IPAddress}
			}
		case KindCloudMCVolume, KindCloudMCAttachment:
			v, err := byIDThenName(ctx, ref, a.findVolume)
			if err != nil || v == nil {
				return obs, lookupErr("look up volume "+ref.Name, err)
			}
			if ref.Kind == KindCloudMCAttachment {
				if v.InstanceID == "" {
					return obs, nil
				}
				return Observed{Found: true, ID: v.ID, State: v.State, Attrs: map[string]string{"instance": v.InstanceName}}, nil
			}
			obs = Observed{Found: true, ID: v.ID, State: v.State, Attrs: map[string]string{
				"sizeGb": strconv.Itoa(v.SizeInGB), "diskOffering": v.DiskOfferingID,
			}}
			// The spec may name the offering by ID or by name: answer it as
			// the spec has it when it is this volume's.
			if want := ref.Match["diskOffering"]; want != "" && (want == v.DiskOfferingID || strings.EqualFold(want, v.DiskOfferingName)) {
				obs.Attrs["diskOffering"] = want
			}
		case KindCloudMCIngressRule:
			r, err := a.findRule(ctx, ref.ID, CloudMCRuleFromAttrs(ref.Match))
			if err == nil && r == nil && ref.ID != "" {
				r, err = a.findRule(ctx, "", CloudMCRuleFromAttrs(ref.Match))
			}
			if err != nil || r == nil {
				return obs, lookupErr("look up ingress rule "+ref.Name, err)
			}
			obs = Observed{Found: true, ID: r.ID, State: r.State, Attrs: CloudMCRuleAttrs(CloudMCRule{
				NetworkID: r.NetworkID, Protocol: r.Protocol, StartPort: r.StartPort, EndPort: r.EndPort, CIDR: r.CIDR,
			})}
		default:
			return obs, invalidInput("a stack cannot observe a CloudMC %q", ref.Kind)
		}
		return obs, nil
	})
}

// --- KraftCloud ---

// Kinds a stack names in its refs where they differ from the activities' own.
const (
	KindStackServiceGroup = "service-group"
	KindOpenVZContainer   = "container"
)

// KraftCloudArgs is an instance's arguments in canonical form: the list as
// JSON, since their order matters.
func KraftCloudArgs(args []string) string {
	if len(args) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(args)
	return string(b)
}

// KraftCloudServices is a service group's services in canonical form:
// "port:destination:handlers" sorted.
func KraftCloudServices(ss []kraftcloud.Service) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		dest := s.DestinationPort
		if dest == 0 {
			dest = s.Port
		}
		out[i] = fmt.Sprintf("%d:%d:%s", s.Port, dest, strings.ReplaceAll(CanonicalList(s.Handlers), ",", "+"))
	}
	return CanonicalList(out)
}

// KraftCloudObserve reads a stack's KraftCloud resources (instance, service
// group, volume) by UUID, else by name. Instances are immutable: their
// fields say what a replace would change.
func (a *KraftCloudActivities) KraftCloudObserve(ctx context.Context, in ObserveInput) (ObserveResult, error) {
	if err := a.ready(); err != nil {
		return ObserveResult{}, err
	}
	ref := func(r ObserveRef) []kraftcloud.Ref {
		if r.ID != "" {
			return []kraftcloud.Ref{{UUID: r.ID}, {Name: r.Name}}
		}
		return []kraftcloud.Ref{{Name: r.Name}}
	}
	return observeEach(ctx, in, func(ctx context.Context, r ObserveRef) (Observed, error) {
		for _, kr := range ref(r) {
			switch r.Kind {
			case KindKraftCloudInstance:
				it, err := a.findInstance(ctx, kr)
				if err != nil {
					return Observed{}, err
				}
				if it == nil {
					continue
				}
				obs := Observed{Found: true, ID: it.UUID, State: it.State, Attrs: map[string]string{
					"image": it.Image, "memoryMb": strconv.Itoa(it.MemoryMB), "vcpus": strconv.Itoa(it.VCPUs), "args": KraftCloudArgs(it.Args),
				}, Outputs: map[string]string{}}
				if it.FQDN != "" {
					obs.Outputs[OutputFQDN] = it.FQDN
				}
				if it.PrivateIP != "" {
					obs.Outputs[OutputPrivateIPv4] = it.PrivateIP
				}
				return obs, nil
			case KindStackServiceGroup:
				sg, err := a.findServiceGroup(ctx, kr)
				if err != nil {
					return Observed{}, err
				}
				if sg == nil {
					continue
				}
				domains := make([]string, len(sg.Domains))
				for i, d := range sg.Domains {
					domains[i] = d.FQDN
				}
				obs := Observed{Found: true, ID: sg.UUID, Attrs: map[string]string{
					"services": KraftCloudServices(sg.Services), "domains": CanonicalList(domains),
				}}
				if len(domains) > 0 {
					obs.Outputs = map[string]string{OutputFQDN: domains[0]}
				}
				return obs, nil
			case KindKraftCloudVolume:
				v, err := a.findVolume(ctx, kr)
				if err != nil {
					return Observed{}, err
				}
				if v == nil {
					continue
				}
				return Observed{Found: true, ID: v.UUID, State: v.State, Attrs: map[string]string{"sizeMb": strconv.Itoa(v.SizeMB)}}, nil
			default:
				return Observed{}, invalidInput("a stack cannot observe a KraftCloud %q", r.Kind)
			}
		}
		return Observed{}, nil
	})
}

// --- container API ---

// OpenVZParameterAttrs are a container's parameters in the canonical form a
// stack compares: only those set.
func OpenVZParameterAttrs(p openvz.ContainerParameters) map[string]string {
	attrs := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			attrs[k] = v
		}
	}
	set("hostname", strings.ToLower(p.Hostname))
	set("cpus", p.CPUs)
	if p.MemSize != "" {
		set("memory", p.MemSize+strings.ToUpper(p.MemSizeUnits))
	}
	if p.Size != "" {
		set("disk", p.Size+strings.ToUpper(p.SizeUnits))
	}
	set("ipAddress", p.IPAdd)
	if p.Nameserver != "" {
		set("nameservers", CanonicalList(strings.Split(p.Nameserver, ",")))
	}
	return attrs
}

// OpenVZObserve reads a stack's container by ID, else by name.
func (a *OpenVZActivities) OpenVZObserve(ctx context.Context, in ObserveInput) (ObserveResult, error) {
	if err := a.ready(); err != nil {
		return ObserveResult{}, err
	}
	return observeEach(ctx, in, func(ctx context.Context, ref ObserveRef) (Observed, error) {
		if ref.Kind != KindOpenVZContainer {
			return Observed{}, invalidInput("a stack cannot observe a container-API %q", ref.Kind)
		}
		ct, err := byIDThenName(ctx, ref, a.findContainer)
		if err != nil || ct == nil {
			return Observed{}, err
		}
		attrs := map[string]string{}
		if ct.Parameters != nil {
			attrs = OpenVZParameterAttrs(*ct.Parameters)
		}
		attrs["osTemplate"] = ct.OSTemplate
		obs := Observed{Found: true, ID: ct.ID, Attrs: attrs}
		if ip := attrs["ipAddress"]; ip != "" {
			obs.Outputs = map[string]string{OutputIPAddress: ip}
		}
		return obs, nil
	})
}
