package main

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

func TestBuildVersion(t *testing.T) {
	sdk := &debug.Module{Path: sdkModule, Version: "v1.51.0"}
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-02T18:56:40Z"}, {Key: "vcs.modified", Value: "true"}}
	for _, tc := range []struct {
		name             string
		version, commit  string
		bi               *debug.BuildInfo
		want             versionInfo
		wantGo, wantPlat bool
	}{
		{"make build: stamped", "v0.4.0-3-gabc123", "abc123full", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Deps: []*debug.Module{sdk}, Settings: vcs},
			versionInfo{Version: "v0.4.0-3-gabc123", Commit: "abc123full", CommitTime: "2026-12-02T18:56:40Z", Modified: true, GoVersion: "go1.26.0", SDKVersion: "v1.51.0"}, false, true},
		{"go install @v0.4.0", "", "", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.4.0"}, Deps: []*debug.Module{sdk}},
			versionInfo{Version: "v0.4.0", GoVersion: "go1.26.0", SDKVersion: "v1.51.0"}, false, true},
		{"go build from a clone", "", "", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Deps: []*debug.Module{sdk}, Settings: vcs[:1]},
			versionInfo{Version: "devel", Commit: "abc123", GoVersion: "go1.26.0", SDKVersion: "v1.51.0"}, false, true},
		{"a replaced SDK", "", "", &debug.BuildInfo{Deps: []*debug.Module{{Path: sdkModule, Version: "v1.51.0", Replace: &debug.Module{Path: "../sdk", Version: "v1.52.0-dev"}}}},
			versionInfo{Version: "devel", SDKVersion: "v1.52.0-dev"}, true, true},
		{"no build information", "", "", nil, versionInfo{Version: "devel", SDKVersion: "v" + temporal.SDKVersion}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := buildVersion(tc.version, tc.commit, tc.bi)
			assert.Equal(t, runtime.GOOS+"/"+runtime.GOARCH, got.Platform)
			got.Platform = ""
			if tc.wantGo {
				assert.Equal(t, runtime.Version(), got.GoVersion)
				got.GoVersion = ""
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestVersionCommand(t *testing.T) {
	c := newCLI(t)
	require.Equal(t, exitOK, c.run("version", "--json"), c.errOut.String())
	var v versionInfo
	require.NoError(t, json.Unmarshal([]byte(c.out.String()), &v))
	assert.NotEmpty(t, v.Version)
	assert.Equal(t, runtime.Version(), v.GoVersion)
	assert.Equal(t, "v"+temporal.SDKVersion, v.SDKVersion, "the SDK this binary was built with")
	assert.Empty(t, c.dials, "version connects to nothing")

	c = newCLI(t)
	require.Equal(t, exitOK, c.run("version"))
	assert.Regexp(t, `(?m)^cloudflow\s+\S+$`, c.out.String())
	assert.Regexp(t, `(?m)^go\s+go1\.\S+ \S+/\S+$`, c.out.String())
	assert.Regexp(t, `(?m)^temporal sdk\s+v1\.51\.\d+$`, c.out.String())
}
