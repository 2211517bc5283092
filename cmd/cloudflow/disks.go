package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/internal/input"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// disksSnapshotOptions are the flags of disks snapshot.
type disksSnapshotOptions struct {
	f    *factory
	root *rootOptions

	Disks     []string
	VM        string
	Retention string
	Project   string
	Ledger    string
	waitFlags
}

func newDisksCmd(f *factory, root *rootOptions) *cobra.Command {
	cmd := nounCmd("disks <command>", "Snapshot Crusoe disks and expire old snapshots")
	cmd.AddCommand(newDisksSnapshotCmd(f, root))
	return cmd
}

func newDisksSnapshotCmd(f *factory, root *rootOptions) *cobra.Command {
	opts := &disksSnapshotOptions{f: f, root: root}
	cmd := &cobra.Command{
		Use:   "snapshot (--disks a,b | --vm NAME) --retention 7d [--ledger FILE] [--wait] [--json]",
		Short: "Snapshot disks, and delete this schedule's snapshots older than the retention",
		Long: heredoc(`
			Start a SnapshotDisks workflow: one snapshot of each disk in --disks, or
			of every disk attached to the VM --vm, taken in parallel. Then the
			snapshots in the run's ledger older than --retention are deleted.

			Crusoe snapshots have no name or labels, so which ones a run may delete
			cannot be read from the cloud. Each run's result carries a ledger of the
			snapshots it keeps. Run on a schedule ('cloudflow schedule create ... --
			disks snapshot ...'), each run reads the ledger of the last successful
			one, so the schedule deletes only the snapshots it took. Run by hand, the
			ledger is --ledger: the --json output of an earlier run (or a JSON array
			of its ledger entries); without it nothing is deleted. Snapshots not in
			the ledger are never touched.

			A snapshot goes with the first run after it is older than --retention
			(a nightly run with --retention 7d keeps 8 per disk: tonight's and the
			7 before). One that could not be deleted stays in the ledger and is
			reported. If a snapshot cannot be taken, the run fails, deletes the
			snapshots it took, and deletes nothing older.

			--retention takes a duration such as 90m or 36h, or days: 7d, 1d12h.

			Exit status: 0 done, 1 the workflow failed or an old snapshot could not
			be deleted, 2 invalid flags (nothing started), 3 still running when
			--timeout passed, 4 Temporal could not be reached or another error,
			5 a run for these disks is already in progress.`),
		Example: examples(`
			$ cloudflow disks snapshot --vm db-1 --retention 7d --wait
			$ cloudflow disks snapshot --disks db-data,db-logs --retention 36h --wait --json > run.json
			$ cloudflow disks snapshot --disks db-data,db-logs --retention 36h --ledger run.json --wait
			$ cloudflow schedule create nightly-db --cron "0 2 * * *" -- disks snapshot --vm db-1 --retention 7d`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return opts.run(cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&opts.Disks, "disks", nil, "`names` of the disks to snapshot, comma-separated")
	fl.StringVar(&opts.VM, "vm", "", "snapshot every disk attached to the VM of this `name`")
	fl.StringVar(&opts.Retention, "retention", "", "delete ledger snapshots older than this `duration`, e.g. 7d or 36h (required)")
	fl.StringVar(&opts.Project, "project", "", "Crusoe project `ID` (default: the worker's)")
	fl.StringVar(&opts.Ledger, "ledger", "", "JSON `file` holding the ledger of an earlier run (its --json output); - reads standard input")
	opts.addWaitFlags(fl, 30*time.Minute)
	return cmd
}

var retentionDaysRE = regexp.MustCompile(`^([0-9]+)d(.*)$`)

// maxRetentionDays keeps a retention in time.Duration's range, with room.
const maxRetentionDays = 100 * 365

// parseRetention reads a Go duration, or whole days with a "d" suffix
// optionally followed by a Go duration ("7d", "1d12h").
func parseRetention(s string) (time.Duration, error) {
	var d time.Duration
	rest := s
	m := retentionDaysRE.FindStringSubmatch(s)
	if m != nil {
		days, err := strconv.Atoi(m[1])
		if err != nil || days > maxRetentionDays {
			return 0, fmt.Errorf("--retention %q is too long: keep snapshots at most %dd", s, maxRetentionDays)
		}
		d, rest = time.Duration(days)*24*time.Hour, m[2]
	}
	if m == nil || rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil || (m != nil && r < 0) {
			return 0, fmt.Errorf("--retention %q is not a duration; use e.g. 7d, 1d12h, 36h or 90m", s)
		}
		d += r
	}
	if d < workflows.MinSnapshotRetention {
		return 0, fmt.Errorf("--retention %s is too short; keep snapshots at least %s, e.g. --retention 1h", s, workflows.MinSnapshotRetention)
	}
	return d, nil
}

// input checks every flag and reports every problem at once: bad usage
// starts nothing.
func (o *disksSnapshotOptions) input(cmd *cobra.Command) (workflows.SnapshotDisksInput, error) {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	switch {
	case len(o.Disks) == 0 && o.VM == "":
		bad("give the disks to snapshot with --disks a,b, or a VM whose disks to snapshot with --vm NAME")
	case len(o.Disks) > 0 && o.VM != "":
		bad("give --disks or --vm, not both")
	case len(o.Disks) > workflows.MaxSnapshotDisks:
		bad("--disks lists %d disks; at most %d are snapshotted in one run", len(o.Disks), workflows.MaxSnapshotDisks)
	}
	seen := map[string]bool{}
	for _, d := range o.Disks {
		switch {
		case d == "":
			bad("--disks has an empty name; separate names with single commas, e.g. --disks a,b")
		case strings.ContainsFunc(d, isSpace):
			bad("--disks %q: a disk name has no spaces", d)
		case seen[d]:
			bad("--disks lists %q twice; name each disk once", d)
		}
		seen[d] = true
	}
	if strings.ContainsFunc(o.VM, isSpace) {
		bad("--vm %q: a VM name has no spaces", o.VM)
	}
	var retention time.Duration
	if o.Retention == "" {
		bad("--retention is required: how long to keep snapshots, e.g. --retention 7d")
	} else if r, err := parseRetention(o.Retention); err != nil {
		bad("%v", err)
	} else {
		retention = r
	}
	var ledger []workflows.SnapshotRecord
	if o.Ledger != "" {
		l, err := o.readLedger()
		if err != nil {
			bad("%v", err)
		}
		ledger = l
	}
	if err := o.validateWait(cmd); err != nil {
		problems = append(problems, err.Error())
	}
	in := workflows.SnapshotDisksInput{ProjectID: o.Project, Disks: o.Disks, VMName: o.VM, Retention: retention, Ledger: ledger}
	if len(problems) == 0 {
		// The workflow's own check, in case it knows more than the flags.
		if err := in.Validate(); err != nil {
			bad("%v", err)
		}
	}
	if len(problems) > 0 {
		return workflows.SnapshotDisksInput{}, withCode(exitUsage, errors.New(strings.Join(problems, "\n")+"\nnothing was started"))
	}
	return in, nil
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// maxLedgerSize bounds --ledger: the --json output of a run, whose ledger
// goes into the workflow input, which must stay well under Temporal's
// payload limit of a few megabytes.
const maxLedgerSize = 4 << 20

// readLedger reads --ledger: a SnapshotDisksResult (an earlier run's --json
// output) or a JSON array of its ledger entries.
func (o *disksSnapshotOptions) readLedger() ([]workflows.SnapshotRecord, error) {
	name := o.Ledger
	if name == input.Stdin {
		name = "standard input"
	}
	data, err := input.ReadFile(o.Ledger, o.f.IO.In, "--ledger "+name, maxLedgerSize)
	switch {
	case input.IsTooLarge(err):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("--ledger: %v", err)
	}
	if problem := input.NotText(data); problem != "" {
		return nil, fmt.Errorf("--ledger %s %s; save it as UTF-8", name, problem)
	}
	data = bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\ufeff")))
	var ledger []workflows.SnapshotRecord
	if bytes.HasPrefix(data, []byte("[")) {
		err = json.Unmarshal(data, &ledger)
	} else {
		var res struct {
			Ledger *[]workflows.SnapshotRecord `json:"ledger"`
		}
		err = json.Unmarshal(data, &res)
		if err == nil && res.Ledger == nil {
			err = errors.New(`it has no "ledger" field`)
		}
		if res.Ledger != nil {
			ledger = *res.Ledger
		}
	}
	if err != nil {
		return nil, fmt.Errorf("--ledger %s is not a ledger (%v); give the --json output of an earlier 'cloudflow disks snapshot', or a JSON array of its ledger entries", name, err)
	}
	var problems []string
	for i, r := range ledger {
		if r.SnapshotID == "" || r.TakenAt.IsZero() {
			problems = append(problems, fmt.Sprintf("--ledger %s: entry %d needs a snapshotId and a takenAt", name, i+1))
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	return ledger, nil
}

func (o *disksSnapshotOptions) run(cmd *cobra.Command) error {
	in, err := o.input(cmd)
	if err != nil {
		return err
	}
	r, err := o.root.dial(o.f)
	if err != nil {
		return err
	}
	defer r.Close()
	what := "disks " + strings.Join(in.Disks, ", ")
	if in.VMName != "" {
		what = "the disks of VM " + in.VMName
	}
	return launch(cmd, o.f, r, what, o.Wait, o.waitSettings(),
		func(ctx context.Context) (starter.Run, error) { return r.SnapshotDisks(ctx, in) })
}
