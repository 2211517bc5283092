package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

func TestInstancesBadInputStartsNothing(t *testing.T) {
	dir := t.TempDir()
	fleet := filepath.Join(dir, "fleet.txt")
	if err := os.WriteFile(fleet, []byte("# web tier\nweb-1\n\nweb_2\nweb-3\n-bad\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"instances", "start", "web-1"}, []string{"--provider is required"}},
		{[]string{"instances", "start", "--provider", "aws", "web-1"}, []string{`--provider "aws" is not supported`, "cloudmc"}},
		{[]string{"instances", "start", "--provider", "kraftcloud"}, []string{"no instances"}},
		{[]string{"instances", "start", "--provider", "kraftcloud", "--file", fleet}, []string{"2 instance names are invalid", "line 4", "web_2", "line 6"}},
		{[]string{"instances", "start", "--provider", "kraftcloud", "--file", filepath.Join(dir, "nope.txt")}, []string{"--file", "no such file"}},
		{[]string{"instances", "start", "--provider", "kraftcloud", "web-1", "--chunk-size", "5000"}, []string{"--chunk-size must be from 1 to 1000, not 5000"}},
		{[]string{"instances", "start", "--provider", "kraftcloud", "web-1", "--max-attempts", "0"}, []string{"--max-attempts must be from 1 to 10, not 0"}},
		{[]string{"instances", "start", "--provider", "crusoe", "vm-1", "--project", "p", "--timeout", "1m"}, []string{"--timeout only applies with --wait"}},
		{[]string{"instances", "stop", "--provider", "crusoe", "vm-1", "--force"}, []string{"--force and --drain-timeout apply to --provider kraftcloud only"}},
		{[]string{"instances", "start", "--provider", "kraftcloud", "web-1", "--project", "p"}, []string{"--project applies to --provider crusoe only"}},
		{[]string{"instances", "stop", "--provider", "cloudmc", "app-1", "app_2", "9-lives"}, []string{"2 instance names are invalid", "app_2", "9-lives", "not an instance name"}},
		{[]string{"instances", "start", "--provider", "cloudmc", "app-1", "--project", "p"}, []string{"--project applies to --provider crusoe only"}},
		{[]string{"instances", "stop", "--provider", "cloudmc", "app-1", "--drain-timeout", "1s"}, []string{"--force and --drain-timeout apply to --provider kraftcloud only"}},
	} {
		c := newCLI(t)
		if code := c.run(tc.args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", tc.args, code, exitUsage, c.errOut.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(c.errOut.String(), w) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, w, c.errOut.String())
			}
		}
		if len(c.dials) != 0 || len(c.fake.fleets) != 0 {
			t.Errorf("%v: dialled Temporal or started a fleet", tc.args)
		}
	}
}

func TestInstancesStartTakesNamesFromEachSource(t *testing.T) {
	fleet := filepath.Join(t.TempDir(), "fleet.txt")
	if err := os.WriteFile(fleet, []byte("web-1\n# comment\n\nweb-2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args  []string
		stdin string
	}{
		{args: []string{"web-1", "web-2", "web-1"}},
		{args: []string{"--names", "web-1, web-2,web-1"}},
		{args: []string{"--file", "-"}, stdin: "web-1\n# comment\nweb-2\nweb-1\n"},
		{args: []string{"--file", fleet, "--names", ""}},
	} {
		c := newCLI(t)
		c.f.IO.In = strings.NewReader(tc.stdin)
		c.fake.run = starter.Run{WorkflowID: "kraftcloud-fleet-x", RunID: "r1", Workflow: workflows.StartInstancesWorkflowName}
		args := append([]string{"instances", "start", "--provider", "kraftcloud", "--chunk-size", "50"}, tc.args...)
		if code := c.run(args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, c.errOut.String())
		}
		in := c.fake.fleets[0]
		want := "web-1,web-2,web-1"
		if tc.args[0] == "--file" && tc.stdin == "" {
			want = "web-1,web-2"
		}
		if got := strings.Join(in.Instances, ","); got != want {
			t.Errorf("%v: instances %s: want %s, in order, duplicates left for the workflow to report", tc.args, got, want)
		}
		if in.Provider != workflows.ProviderKraftCloud || in.ChunkSize != 50 {
			t.Errorf("input %+v", in)
		}
		if !strings.Contains(c.out.String(), "cloudflow runs watch kraftcloud-fleet-x") {
			t.Errorf("output:\n%s", c.out.String())
		}
	}
}

func TestInstancesWaitReportsEveryFailureAndExitsOne(t *testing.T) {
	c := newCLI(t)
	c.fake.run = starter.Run{WorkflowID: "kraftcloud-fleet-x", RunID: "r1", Workflow: workflows.StopInstancesWorkflowName}
	c.fake.fleetProgress = []workflows.FleetProgress{{Action: "stop", Total: 3, Pending: 3, Run: 1, Round: 1}}
	c.fake.result = workflows.FleetResult{Provider: "kraftcloud", Action: "stop", Total: 3, Runs: 1, Calls: 1,
		Succeeded: []string{"web-1"},
		Failed:    []workflows.FleetItem{{Ref: "web-9", Code: "8", Message: "No instance with name 'web-9'"}},
		Skipped:   []workflows.FleetItem{{Ref: "web-1", Code: "DUPLICATE", Message: "listed again"}},
	}
	c.fake.resultErr = &starter.RunError{WorkflowID: "kraftcloud-fleet-x", Status: "Failed", Message: "1 of 3 instances did not stop"}
	code := c.run("instances", "stop", "--provider", "kraftcloud", "web-1", "web-9", "web-1", "--wait")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1: %s", code, c.errOut.String())
	}
	for _, w := range []string{"1 of 3 instances stopped, 1 failed, 1 skipped", "web-9", "No instance with name 'web-9'", "DUPLICATE", "Stopped (1): web-1"} {
		if !strings.Contains(c.out.String(), w) {
			t.Errorf("report lacks %q:\n%s", w, c.out.String())
		}
	}
}

func TestVMBulkCreateFlags(t *testing.T) {
	key := filepath.Join(t.TempDir(), "id.pub")
	if err := os.WriteFile(key, []byte("ssh-ed25519 AAAAC3Nza test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t)
	code := c.run("vm", "bulk-create", "--name-prefix", "Bad_Prefix", "--count", "0", "--template", "t", "--type", "c1a.2x")
	if code != exitUsage {
		t.Fatalf("exit %d", code)
	}
	for _, w := range []string{"--name-prefix \"Bad_Prefix\"", "--count must be from 1 to 1000", "--template cannot be combined"} {
		if !strings.Contains(c.errOut.String(), w) {
			t.Errorf("stderr lacks %q:\n%s", w, c.errOut.String())
		}
	}
	if len(c.fake.bulks) != 0 {
		t.Fatal("started a bulk create on bad flags")
	}
	c = newCLI(t)
	if code := c.run("vm", "bulk-create", "--name-prefix", "batch", "--count", "3", "--type", "c1a.2x", "--location", "us-northcentral1-a", "--ssh-public-key-file", key); code != 0 {
		t.Fatalf("exit %d: %s", code, c.errOut.String())
	}
	in := c.fake.bulks[0]
	if in.NamePrefix != "batch" || in.Count != 3 || in.SSHPublicKey != "ssh-ed25519 AAAAC3Nza test" {
		t.Errorf("input %+v", in)
	}
}

func TestInstancesOnCloudMC(t *testing.T) {
	c := newCLI(t)
	c.fake.run = starter.Run{WorkflowID: "cloudmc-fleet-x", RunID: "r1", Workflow: workflows.StopInstancesWorkflowName}
	c.fake.fleetProgress = []workflows.FleetProgress{{Provider: "cloudmc", Action: "stop", Total: 3, Pending: 3, Run: 1, Round: 1}}
	c.fake.result = workflows.FleetResult{Provider: "cloudmc", Action: "stop", Total: 3, Runs: 1, Calls: 7,
		Succeeded: []string{"app-1", "app-2"},
		Failed:    []workflows.FleetItem{{Ref: "app-9", Code: "NOT_FOUND", Message: `no instance named "app-9" in the environment`}},
	}
	c.fake.resultErr = &starter.RunError{WorkflowID: "cloudmc-fleet-x", Status: "Failed", Message: "1 of 3 instances did not stop"}
	code := c.run("instances", "stop", "--provider", "cloudmc", "--names", "app-1,App-2,app-9", "--wait")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1: %s", code, c.errOut.String())
	}
	in := c.fake.fleets[0]
	if in.Provider != workflows.ProviderCloudMC || strings.Join(in.Instances, ",") != "app-1,App-2,app-9" || in.Concurrency != 0 {
		t.Errorf("input %+v: want the cloudmc provider, the names as given and the default concurrency", in)
	}
	for _, w := range []string{"2 of 3 instances stopped, 1 failed", "app-9", "NOT_FOUND", "Stopped (2): app-1, app-2"} {
		if !strings.Contains(c.out.String(), w) {
			t.Errorf("report lacks %q:\n%s", w, c.out.String())
		}
	}
	c = newCLI(t)
	if code := c.run("instances", "start", "--help"); code != 0 || !strings.Contains(c.out.String(), "kraftcloud|crusoe|cloudmc") {
		t.Errorf("help (exit %d) does not name cloudmc:\n%s", code, c.out.String())
	}
}
