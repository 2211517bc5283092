package crusoe

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

const configFile = `
[default]
access_key_id = "file-default-key"
secret_key = "fileDefaultSecret"
api_endpoint = "https://file.example/v1alpha5"
default_project = "file-project"
ssh_public_key_file = "~/.ssh/id_ed25519.pub" # other CLI keys are ignored

[other]
access_key_id = "other-key"
secret_key = "otherSecret"
`

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfigFrom(t *testing.T) {
	path := writeConfig(t, configFile)
	missing := filepath.Join(t.TempDir(), "does-not-exist")
	tests := []struct {
		name    string
		path    string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{
			name: "default profile from the file",
			path: path,
			want: Config{Endpoint: "https://file.example/v1alpha5", AccessKeyID: "file-default-key",
				SecretKey: "fileDefaultSecret", ProjectID: "file-project", Profile: "default"},
		},
		{
			name: "profile chosen by CRUSOE_PROFILE",
			path: path,
			env:  map[string]string{"CRUSOE_PROFILE": "other"},
			want: Config{AccessKeyID: "other-key", SecretKey: "otherSecret", Profile: "other"},
		},
		{
			name: "environment overrides the file",
			path: path,
			env: map[string]string{
				"CRUSOE_API_ENDPOINT": "http://127.0.0.1:9000/v1alpha5", "CRUSOE_ACCESS_KEY_ID": "env-key",
				"CRUSOE_SECRET_KEY": "envSecret", "CRUSOE_PROJECT_ID": "env-project",
			},
			want: Config{Endpoint: "http://127.0.0.1:9000/v1alpha5", AccessKeyID: "env-key", SecretKey: "envSecret",
				ProjectID: "env-project", Profile: "default"},
		},
		{
			name: "empty environment values do not override",
			path: path,
			env:  map[string]string{"CRUSOE_SECRET_KEY": "", "CRUSOE_PROJECT_ID": "env-project"},
			want: Config{Endpoint: "https://file.example/v1alpha5", AccessKeyID: "file-default-key",
				SecretKey: "fileDefaultSecret", ProjectID: "env-project", Profile: "default"},
		},
		{
			name: "missing file is fine",
			path: missing,
			env:  map[string]string{"CRUSOE_ACCESS_KEY_ID": "env-key", "CRUSOE_SECRET_KEY": "envSecret"},
			want: Config{AccessKeyID: "env-key", SecretKey: "envSecret", Profile: "default"},
		},
		{
			name: "missing file with a profile is fine",
			path: missing,
			env:  map[string]string{"CRUSOE_PROFILE": "ci"},
			want: Config{Profile: "ci"},
		},
		{
			name: "no path at all",
			path: "",
			want: Config{Profile: "default"},
		},
		{
			name:    "unknown profile",
			path:    path,
			env:     map[string]string{"CRUSOE_PROFILE": "nope"},
			wantErr: `profile "nope" not found`,
		},
		{
			name: "file without a default profile",
			path: writeConfig(t, "[other]\naccess_key_id = \"k\"\n"),
			want: Config{Profile: "default"},
		},
		{
			name: "top-level profile key chooses the profile",
			path: writeConfig(t, "profile = \"other\"\n"+configFile),
			want: Config{AccessKeyID: "other-key", SecretKey: "otherSecret", Profile: "other"},
		},
		{
			name: "CRUSOE_PROFILE beats the top-level profile key",
			path: writeConfig(t, "profile = \"other\"\n"+configFile),
			env:  map[string]string{"CRUSOE_PROFILE": "default"},
			want: Config{Endpoint: "https://file.example/v1alpha5", AccessKeyID: "file-default-key",
				SecretKey: "fileDefaultSecret", ProjectID: "file-project", Profile: "default"},
		},
		{
			name:    "invalid TOML does not quote the file",
			path:    writeConfig(t, "[default]\nsecret_key = tomlLeakedSecret\n"),
			wantErr: "not valid TOML (line 2",
		},
		{
			name:    "profile that is not a table",
			path:    writeConfig(t, "default = \"tomlLeakedSecret\"\n"),
			wantErr: "is not a table",
		},
		{
			name:    "config path is a directory",
			path:    t.TempDir(),
			wantErr: "reading config",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadConfigFrom(tt.path, apitest.Env(tt.env))
			if tt.wantErr != "" {
				apitest.CheckError(t, err, tt.wantErr, "tomlLeakedSecret")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("config = %#v\nwant     %#v (secrets %q vs %q)", got, tt.want, got.SecretKey, tt.want.SecretKey)
			}
		})
	}
}

func TestLoadConfigFromNilGetenv(t *testing.T) {
	got, err := LoadConfigFrom(writeConfig(t, configFile), nil)
	if err != nil || got.AccessKeyID != "file-default-key" {
		t.Fatalf("LoadConfigFrom(nil getenv) = %v, %v", got, err)
	}
}

func TestLoadConfigReadsHome(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".crusoe"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".crusoe", "config"), []byte(configFile), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	for _, k := range []string{EnvProfile, EnvAPIEndpoint, EnvAccessKeyID, EnvSecretKey} {
		t.Setenv(k, "")
	}
	t.Setenv(EnvProjectID, "env-project")
	got, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Endpoint: "https://file.example/v1alpha5", AccessKeyID: "file-default-key",
		SecretKey: "fileDefaultSecret", ProjectID: "env-project", Profile: "default"}
	if got != want {
		t.Errorf("LoadConfig = %v, want %v", got, want)
	}
}

func TestConfigNeverPrintsTheSecret(t *testing.T) {
	cfg := Config{Endpoint: "https://e/v1alpha5", AccessKeyID: "AKID", SecretKey: "superSecretValue", ProjectID: "p", Profile: "default"}
	apitest.CheckRedacted(t, cfg, "superSecretValue", "AKID")
}

func TestNewFromConfig(t *testing.T) {
	var gotPath string
	paths := make(chan string, 1)
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.Path
		io.WriteString(w, `{"items":[]}`)
	})
	cfg := Config{Endpoint: c.BaseURL(), AccessKeyID: testAccessKeyID, SecretKey: testSecret, ProjectID: "cfg-project", Profile: "default"}
	fromCfg, err := NewFromConfig(cfg, WithClock(apitest.Clock))
	if err != nil {
		t.Fatal(err)
	}
	if fromCfg.ProjectID() != "cfg-project" || fromCfg.BaseURL() != c.BaseURL() {
		t.Errorf("project %q base %q", fromCfg.ProjectID(), fromCfg.BaseURL())
	}
	if _, err := fromCfg.Disks.List(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if gotPath = <-paths; gotPath != apiPrefix+"/projects/cfg-project/storage/disks" {
		t.Errorf("path = %s", gotPath)
	}

	// Options win over the config.
	over, err := NewFromConfig(cfg, WithProjectID("opt-project"))
	if err != nil || over.ProjectID() != "opt-project" {
		t.Errorf("option override: %v, %v", over, err)
	}
	// An empty endpoint means the public API.
	def, err := NewFromConfig(Config{AccessKeyID: "AK", SecretKey: testSecret})
	if err != nil || def.BaseURL() != DefaultBaseURL {
		t.Errorf("default endpoint: %v, %v", def, err)
	}
	// Missing credentials name the profile but never a secret.
	_, err = NewFromConfig(Config{AccessKeyID: "AK", Profile: "ci"})
	if err == nil || !strings.Contains(err.Error(), `profile "ci"`) {
		t.Errorf("missing secret: err = %v", err)
	}
	_, err = NewFromConfig(Config{AccessKeyID: "AK", SecretKey: "bad*secret*value", Profile: "ci"})
	if err == nil || strings.Contains(err.Error(), "bad*secret*value") {
		t.Errorf("bad secret: err = %v", err)
	}
}

func TestClientNeverPrintsItsSecret(t *testing.T) {
	const secret = "Y2xvdWRzaW0tc2VjcmV0IQ"
	c, err := New(WithCredentials("key-id", secret))
	if err != nil {
		t.Fatal(err)
	}
	apitest.CheckRedacted(t, *c, secret, "key-id", DefaultBaseURL)
}
