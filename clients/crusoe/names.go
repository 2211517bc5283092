package crusoe

import (
	"fmt"
	"strings"
)

// MaxNameLength is the longest name a VM, disk or firewall rule takes.
const MaxNameLength = 63

// NameRule is the rule NameProblem checks, as a fix to print.
const NameRule = "use 1-63 lowercase letters, digits and '-', starting with a letter and not ending in '-'"

// ValidateName checks the name of a VM, disk or firewall rule against
// NameRule, the rule cloudflow holds every Crusoe name to (the reference's
// examples, "my-first-vm", follow it; the console asks for no less). The
// error wraps ErrInvalidArgument and says what is wrong.
func ValidateName(name string) error {
	if p := NameProblem(name); p != "" {
		return invalid("name %q: %s; %s", name, p, NameRule)
	}
	return nil
}

// NameProblem says what is wrong with a name, or "" when nothing is.
func NameProblem(name string) string {
	switch {
	case name == "":
		return "it is empty"
	case len(name) > MaxNameLength:
		return fmt.Sprintf("it is %d characters long, over the limit of %d", len(name), MaxNameLength)
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
		case r >= 'A' && r <= 'Z':
			return "it has uppercase letters"
		default:
			return fmt.Sprintf("it contains %q", r)
		}
	}
	switch {
	case name[0] < 'a' || name[0] > 'z':
		return "it must start with a letter"
	case strings.HasSuffix(name, "-"):
		return "it must not end in '-'"
	}
	return ""
}
