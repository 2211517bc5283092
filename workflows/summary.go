package workflows

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/workflow"
)

// What the Temporal UI shows of cloudflow's runs: a run's static summary
// and details (set where it is started: the starter, a schedule, or a
// parent workflow), each activity's summary, and a run's current details
// (details.go). All of it is recorded in history or answered to anyone who
// may read the namespace, so it names resources only: never an SSH key, a
// script, an environment value.
//
// Summaries are user metadata: replay does not compare them, so changing
// their words needs no workflow.GetVersion.

// Size bounds. The server refuses a summary payload over 400 bytes and
// details over 20,000 (limit.userMetadataSummarySize, ...DetailsSize): a
// refused activity summary would fail the workflow task, again and again.
// The bounds leave room for the payload's encoding and the payload codec's
// envelope (about 100 bytes).
const (
	maxSummaryBytes = 200
	maxDetailsBytes = 8000
	// maxListed bounds the resources a description lists by name.
	maxListed = 50
)

// withSummary is ctx with the summary the Temporal UI shows for the
// activities (and local activities) run on it: "create disk web-1-data".
// Apply it to the context the options were set on, at the call:
// workflow.ExecuteActivity(withSummary(callOptions(ctx, t), "create disk %s", name), ...).
func withSummary(ctx workflow.Context, format string, args ...any) workflow.Context {
	s := clampText(fmt.Sprintf(format, args...), maxSummaryBytes)
	if o := workflow.GetActivityOptions(ctx); o.StartToCloseTimeout > 0 || o.ScheduleToCloseTimeout > 0 {
		o.Summary = s
		ctx = workflow.WithActivityOptions(ctx, o)
	}
	if o := workflow.GetLocalActivityOptions(ctx); o.StartToCloseTimeout > 0 || o.ScheduleToCloseTimeout > 0 {
		o.Summary = s
		ctx = workflow.WithLocalActivityOptions(ctx, o)
	}
	return ctx
}

// actionOn says what an activity does to a resource: "create disk
// web-1-data", "delete firewall rule web-1-ssh", "attach volume data" (a
// volume attachment), "snapshot disk web-1-data".
func actionOn(verb, kind, name string) string {
	switch {
	case kind == KindVolumeAttachment && verb == "create":
		verb = "attach"
	case kind == KindVolumeAttachment && verb == "delete":
		verb = "detach"
	case kind == KindSnapshot && verb == "create":
		return "snapshot disk " + name
	}
	return verb + " " + resourceWords(kind, name)
}

// resourceWords names a resource in words: "firewall rule web-1-ssh"; a
// volume attachment is named by its volume.
func resourceWords(kind, name string) string {
	if kind == KindVolumeAttachment {
		kind = KindVolume
	}
	return strings.TrimSpace(kindWords(kind) + " " + name)
}

// stateWords is a cloud's state in words: "stopped" for "STATE_STOPPED".
func stateWords(state string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(state, "STATE_"), "_", " "))
}

// removedWord is what a resource is once removed: deleted, or detached.
func removedWord(kind string) string {
	if kind == KindVolumeAttachment {
		return "detached"
	}
	return "deleted"
}

// kindWords is a resource kind in words: "firewall rule" for "firewall-rule".
func kindWords(kind string) string { return strings.ReplaceAll(kind, "-", " ") }

// waitingOn names the cloud's handle a wait polls, shortened:
// " (operation 1f2e3a4b…)", or "" when there is none.
func waitingOn(what, id string) string {
	if id == "" {
		return ""
	}
	return fmt.Sprintf(" (%s %s)", what, clampText(id, 8+len("…")))
}

// clampText cuts s to at most max bytes, on a character boundary, marking
// the cut with "…".
func clampText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Description is what people see of a run in the Temporal UI's list and
// header: a one-line Summary and the Resources it acts on.
type Description struct {
	// Summary is the run's title: "Provision VM web-1 (crusoe): 2 disks, 1 firewall rule".
	Summary string `json:"summary"`
	// Resources are what the run acts on, by kind and name: "disk web-1-data".
	Resources []string `json:"resources,omitempty"`
}

// Details is the run's static details in Temporal markdown: the resources
// it acts on (the first maxListed), then facts given as name, value pairs
// ("Spec", "web.yaml", "Task queue", "cloudflow"); a fact with no value is
// left out.
func (d Description) Details(facts ...string) string {
	var b strings.Builder
	if len(d.Resources) > 0 {
		listed := d.Resources[:min(len(d.Resources), maxListed)]
		fmt.Fprintf(&b, "- **Acts on:** %s", strings.Join(listed, ", "))
		if more := len(d.Resources) - len(listed); more > 0 {
			fmt.Fprintf(&b, " and %d more", more)
		}
		b.WriteString("\n")
	}
	for i := 0; i+1 < len(facts); i += 2 {
		if facts[i+1] != "" {
			fmt.Fprintf(&b, "- **%s:** %s\n", facts[i], facts[i+1])
		}
	}
	return clampText(strings.TrimSuffix(b.String(), "\n"), maxDetailsBytes)
}

// DescribeRun describes a run of workflow with input in (a value of the
// workflow's input type); an input it does not know is described by the
// workflow's name alone.
func DescribeRun(workflow string, in any) Description {
	var d Description
	switch in := in.(type) {
	case ProvisionVMInput:
		d = describeVM("Provision", in.VM.Name, diskNames(in.Disks), ruleNames(in.FirewallRules))
	case DeprovisionVMInput:
		d = describeVM("Deprovision", in.VMName, in.DiskNames, in.FirewallRules)
	case BulkCreateVMsInput:
		d.Summary = fmt.Sprintf("Create %s %s-1..%d (crusoe)", plural(in.Count, "VM"), in.NamePrefix, in.Count)
		d.Resources = []string{fmt.Sprintf("vms %s-1 to %s-%d", in.NamePrefix, in.NamePrefix, in.Count)}
	case FleetInput:
		verb := "Start"
		if workflow == StopInstancesWorkflowName {
			verb = "Stop"
		}
		noun := "instance"
		if in.Provider == ProviderCrusoe {
			noun = "VM"
		}
		d.Summary = fmt.Sprintf("%s %s (%s)", verb, plural(len(in.Instances), noun), in.Provider)
		for _, r := range in.Instances {
			d.Resources = append(d.Resources, strings.ToLower(noun)+" "+r)
		}
	case DeployInstanceInput:
		d = describeOne("Deploy", KindInstance, in.Instance.Name, ProviderKraftCloud)
		if in.Volume != nil {
			d.add(KindVolume, in.Volume.Name)
		}
		if in.ServiceGroup != nil {
			d.add(KindServiceGroup, in.ServiceGroup.Name)
		}
		d.counts(plural(b2i(in.Volume != nil), "volume"), plural(b2i(in.ServiceGroup != nil), "service group"))
	case UndeployInstanceInput:
		d = describeOne("Undeploy", KindInstance, in.InstanceName, ProviderKraftCloud)
		d.add(KindVolume, in.VolumeName)
		d.add(KindServiceGroup, in.ServiceGroupName)
		d.counts(plural(b2i(in.VolumeName != ""), "volume"), plural(b2i(in.ServiceGroupName != ""), "service group"))
	case ProvisionInstanceInput:
		d = describeOne("Provision", KindInstance, in.Instance.Name, ProviderCloudMC)
		if in.Volume != nil {
			d.add(KindVolume, in.Volume.Name)
		}
		for _, r := range in.IngressRules {
			d.add(KindIngressRule, r.Label())
		}
		d.counts(plural(b2i(in.Volume != nil), "volume"), plural(len(in.IngressRules), "ingress rule"))
	case DeprovisionInstanceInput:
		d = describeOne("Deprovision", KindInstance, in.InstanceName, ProviderCloudMC)
		d.add(KindVolume, in.VolumeName)
		for _, r := range in.IngressRules {
			d.add(KindIngressRule, r.Label())
		}
		d.counts(plural(b2i(in.VolumeName != ""), "volume"), plural(len(in.IngressRules), "ingress rule"))
	case CreateContainerInput:
		d = describeOne("Create", KindContainer, in.Container.Name, ProviderOpenVZ)
	case DeleteContainerInput:
		d = describeOne("Delete", KindContainer, in.Name, ProviderOpenVZ)
	case SnapshotDisksInput:
		if in.VMName != "" {
			d.Summary = fmt.Sprintf("Snapshot the disks of VM %s (crusoe)", in.VMName)
			d.add(KindVM, in.VMName)
		} else {
			d.Summary = fmt.Sprintf("Snapshot %s (crusoe)", plural(len(in.Disks), "disk"))
			for _, n := range in.Disks {
				d.add(KindDisk, n)
			}
		}
		if in.Retention > 0 {
			d.Summary += ", expiring those older than " + durationWords(in.Retention)
		}
	case ApplyStackInput:
		d = describeApply(in)
	default:
		d.Summary = workflow
	}
	d.Summary = clampText(d.Summary, maxSummaryBytes)
	return d
}

// durationWords is a duration as people write it: "7d" for whole days.
func durationWords(d time.Duration) string {
	const day = 24 * time.Hour
	if d >= day && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}

func describeVM(verb, vm string, disks, rules []string) Description {
	d := describeOne(verb, KindVM, vm, ProviderCrusoe)
	for _, n := range disks {
		d.add(KindDisk, n)
	}
	for _, n := range rules {
		d.add(KindFirewallRule, n)
	}
	d.counts(plural(len(disks), "disk"), plural(len(rules), "firewall rule"))
	return d
}

// describeOne is the description of a run acting on one main resource:
// "Deploy instance web (kraftcloud)".
func describeOne(verb, kind, name, provider string) Description {
	title := kindWords(kind)
	if kind == KindVM {
		title = "VM"
	}
	d := Description{Summary: fmt.Sprintf("%s %s %s (%s)", verb, title, name, provider)}
	d.add(kind, name)
	return d
}

// add lists a resource the run acts on, when it has a name.
func (d *Description) add(kind, name string) {
	if name != "" {
		d.Resources = append(d.Resources, kindWords(kind)+" "+name)
	}
}

// counts ends the summary with the counts that are not empty: ": 2 disks, 1 firewall rule".
func (d *Description) counts(cs ...string) {
	var parts []string
	for _, c := range cs {
		if c != "" {
			parts = append(parts, c)
		}
	}
	if len(parts) > 0 {
		d.Summary += ": " + strings.Join(parts, ", ")
	}
}

// plural is "1 disk", "2 disks", or "" for none.
func plural(n int, noun string) string {
	switch n {
	case 0:
		return ""
	case 1:
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func diskNames(ds []DiskSpec) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Name
	}
	return out
}

func ruleNames(rs []FirewallRuleSpec) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

// describeApply describes an ApplyStack run: "Apply to stack crusoe/web-1:
// 3 creates, 1 update", "Destroy stack crusoe/web-1: 3 deletes, 1 release".
func describeApply(in ApplyStackInput) Description {
	d := Description{Summary: fmt.Sprintf("Apply to stack %s/%s", in.Provider, in.Name)}
	if in.Destroy {
		d.Summary = fmt.Sprintf("Destroy stack %s/%s", in.Provider, in.Name)
	}
	order := []string{ActionCreate, ActionReplace, ActionUpdate, ActionAdopt, ActionDelete, ActionRelease}
	n := map[string]int{}
	for _, c := range in.Changes {
		if c.Action == ActionNoChange {
			continue
		}
		n[c.Action]++
		d.Resources = append(d.Resources, fmt.Sprintf("%s %s (%s)", kindWords(c.Kind), c.Name, c.Action))
	}
	var cs []string
	for _, a := range order {
		cs = append(cs, plural(n[a], a))
	}
	d.counts(cs...)
	return d
}
