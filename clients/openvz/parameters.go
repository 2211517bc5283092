package openvz

import (
	"net/netip"
	"strconv"
	"strings"
)

// SizeUnit is the unit of a memory or disk size: the API's memsize_units and
// size_units.
type SizeUnit string

// The size units the API takes.
const (
	Kilobytes SizeUnit = "K"
	Megabytes SizeUnit = "M"
	Gigabytes SizeUnit = "G"
)

// ContainerParameters are a container's settings. The API carries every one
// as a JSON string, as the reference shows ("cpus": "2"), so the fields are
// strings and round-trip what Get returns; the Set methods fill them from Go
// values. An empty field is not sent. Update checks, before the request:
//
//   - Hostname: a host name (letters, digits and hyphens in dot-separated
//     labels of at most 63 characters, 253 in all).
//   - CPUs: a positive whole number ("2").
//   - MemSize and MemSizeUnits, together: a positive whole number and
//     "K", "M" or "G" ("1" and "G").
//   - Size and SizeUnits (the disk), together, the same way.
//   - IPAdd: an IPv4 address ("10.0.0.1").
//   - Nameserver: IPv4 addresses separated by commas ("1.1.1.1,8.8.8.8").
type ContainerParameters struct {
	Hostname     string `json:"hostname,omitempty"`
	CPUs         string `json:"cpus,omitempty"`
	MemSize      string `json:"memsize,omitempty"`
	MemSizeUnits string `json:"memsize_units,omitempty"`
	IPAdd        string `json:"ipadd,omitempty"`
	Size         string `json:"size,omitempty"`
	SizeUnits    string `json:"size_units,omitempty"`
	Nameserver   string `json:"nameserver,omitempty"`
}

// SetCPUs sets CPUs to n and returns p.
func (p *ContainerParameters) SetCPUs(n int) *ContainerParameters {
	p.CPUs = strconv.Itoa(n)
	return p
}

// SetMemory sets MemSize and MemSizeUnits and returns p.
func (p *ContainerParameters) SetMemory(size int64, unit SizeUnit) *ContainerParameters {
	p.MemSize, p.MemSizeUnits = strconv.FormatInt(size, 10), string(unit)
	return p
}

// SetDiskSize sets Size and SizeUnits and returns p.
func (p *ContainerParameters) SetDiskSize(size int64, unit SizeUnit) *ContainerParameters {
	p.Size, p.SizeUnits = strconv.FormatInt(size, 10), string(unit)
	return p
}

// SetIPAddress sets IPAdd and returns p.
func (p *ContainerParameters) SetIPAddress(addr netip.Addr) *ContainerParameters {
	p.IPAdd = addr.String()
	return p
}

// SetNameservers sets Nameserver to the addresses, comma-separated, and returns p.
func (p *ContainerParameters) SetNameservers(addrs ...netip.Addr) *ContainerParameters {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	p.Nameserver = strings.Join(s, ",")
	return p
}

// validate checks p as Update sends it: at least one parameter, each valid.
func (p *ContainerParameters) validate() error {
	if p == nil || *p == (ContainerParameters{}) {
		return invalid("container parameters: set at least one")
	}
	if p.Hostname != "" && !validHostname(p.Hostname) {
		return invalid("parameters.hostname %q is not a host name (letters, digits and hyphens in dot-separated labels)", p.Hostname)
	}
	if p.CPUs != "" && !positiveInt(p.CPUs) {
		return invalid("parameters.cpus %q is not a positive whole number", p.CPUs)
	}
	if err := checkSize("memsize", p.MemSize, p.MemSizeUnits); err != nil {
		return err
	}
	if err := checkSize("size", p.Size, p.SizeUnits); err != nil {
		return err
	}
	if p.IPAdd != "" && !isIPv4(p.IPAdd) {
		return invalid("parameters.ipadd %q is not an IPv4 address", p.IPAdd)
	}
	if p.Nameserver != "" {
		for _, a := range strings.Split(p.Nameserver, ",") {
			if !isIPv4(a) {
				return invalid("parameters.nameserver %q: %q is not an IPv4 address (want addresses separated by commas, e.g. 1.1.1.1,8.8.8.8)", p.Nameserver, a)
			}
		}
	}
	return nil
}

// checkSize checks a size and its units, which go together.
func checkSize(field, size, units string) error {
	switch {
	case size == "" && units == "":
		return nil
	case size == "":
		return invalid("parameters.%s_units %q without parameters.%s", field, units, field)
	case units == "":
		return invalid("parameters.%s %q without parameters.%s_units (K, M or G)", field, size, field)
	case !positiveInt(size):
		return invalid("parameters.%s %q is not a positive whole number", field, size)
	}
	switch SizeUnit(units) {
	case Kilobytes, Megabytes, Gigabytes:
		return nil
	}
	return invalid("parameters.%s_units %q is not one of K, M, G", field, units)
}

// positiveInt accepts decimal digits only, with a value above 0.
func positiveInt(s string) bool {
	n, err := strconv.ParseUint(s, 10, 63)
	return err == nil && n > 0
}

func isIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// validHostname follows RFC 1123: dot-separated labels of 1-63 letters,
// digits and hyphens, not starting or ending with a hyphen; 253 characters
// at most.
func validHostname(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

// Longest container name and OS template name.
const (
	maxNameLen     = 64
	maxTemplateLen = 128
)

// checkName checks a container name or OS template: 1 to max letters, digits,
// '.', '_' or '-', starting with a letter or digit.
func checkName(field, s string, max int) error {
	switch {
	case s == "":
		return invalid("%s is required", field)
	case len(s) > max:
		return invalid("%s %q is %d characters long, more than %d", field, s, len(s), max)
	case !isAlnum(s[0]):
		return invalid("%s %q must start with a letter or digit", field, s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return invalid("%s %q holds %q: only letters, digits, '.', '_' and '-' are allowed", field, s, string(rune(c)))
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
