package kraftcloud

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

func TestMetroURL(t *testing.T) {
	for in, want := range map[string]string{
		"fra0":   "https://api.fra0.kraft.cloud/v1",
		" SFO0 ": "https://api.sfo0.kraft.cloud/v1",
		"":       "https://api.fra0.kraft.cloud/v1",
	} {
		if got := MetroURL(in); got != want {
			t.Errorf("MetroURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{
			name: "KRAFTCLOUD_ variables",
			env:  map[string]string{"KRAFTCLOUD_TOKEN": "kc-token", "KRAFTCLOUD_METRO": "sfo0"},
			want: Config{Token: "kc-token", Metro: "sfo0"},
		},
		{
			name: "UKC_ fallbacks",
			env:  map[string]string{"UKC_TOKEN": "ukc-token", "UKC_METRO": "was1"},
			want: Config{Token: "ukc-token", Metro: "was1"},
		},
		{
			name: "KRAFTCLOUD_ wins over UKC_",
			env: map[string]string{"KRAFTCLOUD_TOKEN": "kc-token", "UKC_TOKEN": "ukc-token",
				"KRAFTCLOUD_METRO": "sfo0", "UKC_METRO": "was1"},
			want: Config{Token: "kc-token", Metro: "sfo0"},
		},
		{
			name: "empty KRAFTCLOUD_ values fall back",
			env:  map[string]string{"KRAFTCLOUD_TOKEN": " ", "UKC_TOKEN": "ukc-token", "KRAFTCLOUD_METRO": ""},
			want: Config{Token: "ukc-token", Metro: "fra0"},
		},
		{
			name: "metro defaults to fra0",
			env:  map[string]string{"KRAFTCLOUD_TOKEN": "kc-token"},
			want: Config{Token: "kc-token", Metro: DefaultMetro},
		},
		{
			name: "endpoint override, values trimmed",
			env: map[string]string{"KRAFTCLOUD_TOKEN": "kc-token\n", "KRAFTCLOUD_METRO": "sfo0",
				"KRAFTCLOUD_API_ENDPOINT": " http://127.0.0.1:8787/v1 "},
			want: Config{Token: "kc-token", Metro: "sfo0", Endpoint: "http://127.0.0.1:8787/v1"},
		},
		{
			name:    "no token",
			env:     map[string]string{"KRAFTCLOUD_METRO": "sfo0"},
			wantErr: "no API token: set KRAFTCLOUD_TOKEN (or UKC_TOKEN)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadConfig(apitest.Env(tt.env))
			if tt.wantErr != "" {
				apitest.CheckError(t, err, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("config = %v\nwant     %v (tokens equal: %v)", got, tt.want, got.Token == tt.want.Token)
			}
		})
	}
}

func TestLoadConfigNilGetenvReadsTheEnvironment(t *testing.T) {
	t.Setenv(EnvToken, "env-token")
	t.Setenv(EnvMetro, "")
	t.Setenv(EnvUKCMetro, "dal0")
	t.Setenv(EnvAPIEndpoint, "")
	got, err := LoadConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Config{Token: "env-token", Metro: "dal0"}); got != want {
		t.Errorf("LoadConfig(nil) = %v, want %v", got, want)
	}
}

func TestConfigBaseURL(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "https://api.fra0.kraft.cloud/v1"},
		{Config{Metro: "sfo0"}, "https://api.sfo0.kraft.cloud/v1"},
		{Config{Metro: "sfo0", Endpoint: "http://127.0.0.1:8787/v1"}, "http://127.0.0.1:8787/v1"},
	} {
		if got := tt.cfg.BaseURL(); got != tt.want {
			t.Errorf("%v.BaseURL() = %q, want %q", tt.cfg, got, tt.want)
		}
	}
}

func TestConfigNeverPrintsTheToken(t *testing.T) {
	cfg := Config{Token: "superSecretTokenValue", Metro: "fra0", Endpoint: "http://127.0.0.1:8787/v1"}
	apitest.CheckRedacted(t, cfg, "superSecretTokenValue", "fra0")
}

func TestNewFromConfig(t *testing.T) {
	paths := make(chan string, 1)
	srv := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		paths <- r.URL.Path
		w.Write([]byte(`{"status":"success","data":{"instances":[]}}`))
	})
	cfg := Config{Token: testToken, Metro: "sfo0", Endpoint: srv.BaseURL()}
	c, err := NewFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL() != srv.BaseURL() {
		t.Errorf("base %q, want %q", c.BaseURL(), srv.BaseURL())
	}
	if _, err := c.Instances.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := <-paths; got != "/v1/instances" {
		t.Errorf("path = %s", got)
	}

	// Without an endpoint the metro decides.
	c, err = NewFromConfig(Config{Token: testToken, Metro: "sfo0"})
	if err != nil || c.BaseURL() != "https://api.sfo0.kraft.cloud/v1" {
		t.Errorf("metro: %v, %v", c, err)
	}
	// Options win over the config.
	c, err = NewFromConfig(cfg, WithBaseURL("http://127.0.0.1:9/v1"))
	if err != nil || c.BaseURL() != "http://127.0.0.1:9/v1" {
		t.Errorf("option override: %v, %v", c, err)
	}
	// A missing token is an error that names where a token comes from.
	_, err = NewFromConfig(Config{Metro: "fra0"})
	if err == nil || !strings.Contains(err.Error(), EnvToken) {
		t.Errorf("missing token: err = %v", err)
	}
	// A bad endpoint is reported without the token.
	_, err = NewFromConfig(Config{Token: testToken, Endpoint: "not a url"})
	if err == nil || strings.Contains(err.Error(), testToken) {
		t.Errorf("bad endpoint: err = %v", err)
	}
}
