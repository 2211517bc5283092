package spec

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cloudflow/cloudflow/clients/crusoe"
)

// The spec parsers take whatever a user (or a script) hands the CLI. These
// targets check that no input panics them, that each answers either a spec
// or a list of problems (never both, never neither), the same way twice,
// and that a spec they accept makes a workflow input the workflow accepts.
// `make test` runs the seeds; `make fuzz` explores from them.

// fuzzSeeds are inputs every parser starts from: the provider's example
// (YAML, and the same as JSON), and shapes that once went wrong.
func fuzzSeeds(f *testing.F, example string) {
	f.Helper()
	data, err := os.ReadFile(filepath.Join("..", "examples", example))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(append([]byte("\ufeff"), data...))
	f.Add(encodeUTF16(string(data), false, true))
	for _, s := range []string{
		"",
		"---\n---\n",
		"provider: crusoe\nvm: !!binary aGVsbG8=\n",
		"provider: kraftcloud\ninstance: {name: a, image: b, env: {A: !!int 1}}\n",
		"a: &x [*x]\n",
		"provider: cloudmc\ninstance: &i {name: x}\nvolume: *i\n",
		`{"provider": "openvz", "container": {"name": "ct1", "ostemplate": "t", "nameservers": [1, null, {}]}}`,
		"provider: crusoe\nvm:\n  name: web\n  sshPublicKeyFile: id.pub\n  startupScriptFile: up.sh\n",
		"[[[[[[[[[[]]]]]]]]]]",
		"provider: crusoe\n\"a\\nb\": 1\n",
	} {
		f.Add([]byte(s))
	}
}

// fakeFiles stands in for the files specs refer to: a public key for
// *.pub, a script for *.sh, nothing else.
func fakeFiles(tb testing.TB) {
	old := readReferenced
	readReferenced = func(path string, limit int64) ([]byte, error) {
		switch {
		case strings.HasSuffix(path, ".pub"):
			return []byte(goodKey + "\n"), nil
		case strings.HasSuffix(path, ".sh"):
			return []byte("#!/bin/sh\necho up\n"), nil
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	tb.Cleanup(func() { readReferenced = old })
}

// checkParse holds for every parser and input.
func checkParse[S any](t *testing.T, data []byte, parse func([]byte, string) (*S, error)) *S {
	t.Helper()
	const source = "fuzz/spec.yaml"
	s, err := parse(data, source)
	if (s == nil) == (err == nil) {
		t.Fatalf("spec %v and error %v: want exactly one", s != nil, err)
	}
	_, again := parse(data, source)
	if (err == nil) != (again == nil) || (err != nil && err.Error() != again.Error()) {
		t.Fatalf("parsed twice, different answers:\n%v\n%v", err, again)
	}
	_ = ProviderOf(data)
	if err == nil {
		return s
	}
	var errs Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		t.Fatalf("error %T %q: want a non-empty Errors", err, err)
	}
	if !sort.SliceIsSorted(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line }) {
		t.Fatalf("problems not in line order: %v", errs)
	}
	for _, e := range errs {
		if e.Problem == "" || e.Line < 0 {
			t.Fatalf("problem %#v", e)
		}
		if strings.ContainsAny(e.Error(), "\n\r") {
			t.Fatalf("a problem spans lines: %q", e.Error())
		}
	}
	return nil
}

func mustJSON(t *testing.T, v any) {
	t.Helper()
	if _, err := json.Marshal(v); err != nil {
		t.Fatalf("workflow input does not encode: %v", err)
	}
}

func FuzzParseCrusoe(f *testing.F) {
	fuzzSeeds(f, "crusoe-vm.yaml")
	fakeFiles(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s := checkParse(t, data, Parse)
		if s == nil {
			return
		}
		in := s.ProvisionInput()
		mustJSON(t, in)
		names := []string{in.VM.Name}
		for _, d := range in.Disks {
			names = append(names, d.Name)
		}
		for _, r := range in.FirewallRules {
			names = append(names, r.Name)
		}
		for _, n := range names {
			if p := crusoe.NameProblem(n); p != "" {
				t.Fatalf("accepted a spec that names %q: %s", n, p)
			}
		}
		if len(in.Disks) > MaxDisks || len(in.FirewallRules) > MaxFirewallRules {
			t.Fatalf("accepted %d disks and %d rules", len(in.Disks), len(in.FirewallRules))
		}
		de := s.DeprovisionInput()
		if de.VMName != in.VM.Name || len(de.DiskNames) != len(in.Disks) || len(de.FirewallRules) != len(in.FirewallRules) {
			t.Fatalf("deprovision %+v does not match provision %+v", de, in)
		}
	})
}

func FuzzParseKraftCloud(f *testing.F) {
	fuzzSeeds(f, "kraftcloud-app.yaml")
	fakeFiles(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s := checkParse(t, data, ParseKraftCloud)
		if s == nil {
			return
		}
		in := s.DeployInput()
		mustJSON(t, in)
		if err := in.Validate(); err != nil {
			t.Fatalf("accepted a spec whose input the workflow refuses: %v", err)
		}
		mustJSON(t, s.DeprovisionInput())
	})
}

func FuzzParseCloudMC(f *testing.F) {
	fuzzSeeds(f, "cloudmc-vm.yaml")
	fakeFiles(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s := checkParse(t, data, ParseCloudMC)
		if s == nil {
			return
		}
		in := s.ProvisionInput()
		mustJSON(t, in)
		if err := in.Validate(); err != nil {
			t.Fatalf("accepted a spec whose input the workflow refuses: %v", err)
		}
		if err := s.DeprovisionInput().Validate(); err != nil {
			t.Fatalf("accepted a spec whose deprovision input the workflow refuses: %v", err)
		}
	})
}

func FuzzParseContainer(f *testing.F) {
	fuzzSeeds(f, "container.yaml")
	fakeFiles(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s := checkParse(t, data, ParseContainer)
		if s == nil {
			return
		}
		in := s.CreateInput()
		mustJSON(t, in)
		if err := in.Validate(); err != nil {
			t.Fatalf("accepted a spec whose input the workflow refuses: %v", err)
		}
		mustJSON(t, s.DeleteInput())
	})
}
