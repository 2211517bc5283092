package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/temporal"
)

// version and commit are stamped by `make build` with -ldflags
// "-X main.version=... -X main.commit=..."; without them the module's
// build information says what it can (a `go install ...@v1.2.3` knows its
// version, a build from a clone its VCS revision).
var (
	version string
	commit  string
)

// versionInfo is what `cloudflow version` prints.
type versionInfo struct {
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commitTime,omitempty"`
	// Modified says the build was made from a work tree with changes.
	Modified   bool   `json:"modified,omitempty"`
	GoVersion  string `json:"goVersion"`
	Platform   string `json:"platform"`
	SDKVersion string `json:"temporalSDKVersion"`
}

// sdkModule is the Temporal Go SDK's module path.
const sdkModule = "go.temporal.io/sdk"

// buildVersion puts together the stamped values and the build information
// (bi may be nil: a binary built without module support).
func buildVersion(stampedVersion, stampedCommit string, bi *debug.BuildInfo) versionInfo {
	v := versionInfo{
		Version:    stampedVersion,
		Commit:     stampedCommit,
		GoVersion:  runtime.Version(),
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
		SDKVersion: "v" + temporal.SDKVersion,
	}
	if bi != nil {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			v.GoVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if v.Commit == "" {
					v.Commit = s.Value
				}
			case "vcs.time":
				v.CommitTime = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
		for _, d := range bi.Deps {
			if d.Path == sdkModule {
				if d.Replace != nil {
					d = d.Replace
				}
				v.SDKVersion = d.Version
			}
		}
	}
	if v.Version == "" {
		v.Version = "devel"
	}
	return v
}

func newVersionCmd(f *factory) *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "version [--json]",
		Short: "Print cloudflow's version, commit, Go version and Temporal SDK version",
		Long: heredoc(`
			Print the version of this cloudflow binary: its release (or "devel"),
			the commit it was built from (with "modified" when the work tree had
			changes), the Go version that built it and the Temporal Go SDK it
			speaks to Temporal with. It connects to nothing.`),
		Example: examples(`
			$ cloudflow version
			$ cloudflow version --json | jq -r .commit`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			bi, _ := debug.ReadBuildInfo()
			v := buildVersion(version, commit, bi)
			if jsonOut {
				return printJSON(f.IO.Out, v)
			}
			tw := newTable(f.IO.Out)
			fmt.Fprintf(tw, "cloudflow\t%s\n", v.Version)
			if v.Commit != "" {
				c := v.Commit
				if v.CommitTime != "" {
					c += " (" + v.CommitTime + ")"
				}
				if v.Modified {
					c += ", modified"
				}
				fmt.Fprintf(tw, "commit\t%s\n", c)
			}
			fmt.Fprintf(tw, "go\t%s %s\n", v.GoVersion, v.Platform)
			fmt.Fprintf(tw, "temporal sdk\t%s\n", v.SDKVersion)
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}
