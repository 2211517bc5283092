package activities

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"sort"
	"strings"
)

// ObserveRef names one resource a stack wants read: by ID when it has one,
// else by name.
type ObserveRef struct {
	// Key is the stack's key for the resource ("disk/web-1-data"); the
	// answer carries it back.
	Key  string `json:"key"`
	Kind string `json:"kind"`
	Name string `json:"name"`
	ID   string `json:"id,omitempty"`
	// Match identifies a resource that has no name by its fields (a CloudMC
	// ingress rule: CloudMCRuleAttrs); other kinds ignore it.
	Match map[string]string `json:"match,omitempty"`
}

// ObserveInput is the input of every cloud's Observe activity.
type ObserveInput struct {
	// ProjectID is the Crusoe project (empty: the worker's).
	ProjectID string       `json:"projectId,omitempty"`
	Resources []ObserveRef `json:"resources"`
}

// ObserveResult answers an Observe activity: one Observed per ref, in order.
type ObserveResult struct {
	Resources []Observed `json:"resources"`
}

// Observed is what the cloud reports of one resource.
type Observed struct {
	Key  string `json:"key"`
	Kind string `json:"kind"`
	Name string `json:"name"`
	// ID is the resource's ID when found. When the ref's ID is gone and
	// another resource has the name, ID is that other one's.
	ID    string `json:"id,omitempty"`
	Found bool   `json:"found"`
	State string `json:"state,omitempty"`
	// Attrs are the fields a plan compares, in the canonical forms of this
	// file (CanonicalList, CanonicalCIDR...), so that the workflow can
	// compare them with the spec's.
	Attrs map[string]string `json:"attrs,omitempty"`
	// Outputs are addresses and the like (see the Output* keys).
	Outputs map[string]string `json:"outputs,omitempty"`
}

// Output keys, shared by every cloud where they apply.
const (
	OutputPrivateIPv4    = "privateIPv4"
	OutputPublicIPv4     = "publicIPv4"
	OutputSSHDestination = "sshDestination"
	OutputFQDN           = "fqdn"
	OutputIPAddress      = "ipAddress"
)

// CanonicalList is a list field's canonical form: trimmed, lower-cased,
// sorted, de-duplicated and joined with commas.
func CanonicalList(items []string) string {
	seen := map[string]bool{}
	out := make([]string, 0, len(items))
	for _, s := range items {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// CanonicalCIDR writes an address or prefix as a masked prefix: "10.0.0.5"
// is "10.0.0.5/32" and "10.1.2.3/24" is "10.1.2.0/24". Anything else is
// returned lower-cased.
func CanonicalCIDR(s string) string {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked().String()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()).String()
	}
	return strings.ToLower(s)
}

// Digest is the stable digest a stack keeps of a write-only field's value
// (an SSH key, a startup script, env): enough to tell that it changed, and
// nothing of what it is.
func Digest(s string) string {
	if s == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}
