package openvz

import (
	"testing"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

func TestLoadConfig(t *testing.T) {
	for _, tt := range []struct {
		name     string
		env      map[string]string
		want     Config
		wantBase string
		wantErr  string
	}{
		{name: "nothing set", env: nil, want: Config{}, wantBase: DefaultBaseURL},
		{name: "endpoint", env: map[string]string{"OPENVZ_API_ENDPOINT": " http://127.0.0.1:8787/v0.1 \n"},
			want: Config{Endpoint: "http://127.0.0.1:8787/v0.1"}, wantBase: "http://127.0.0.1:8787/v0.1"},
		{name: "blank endpoint", env: map[string]string{"OPENVZ_API_ENDPOINT": "  "}, want: Config{}, wantBase: DefaultBaseURL},
		{name: "bad endpoint", env: map[string]string{"OPENVZ_API_ENDPOINT": "127.0.0.1:8787/v0.1"},
			wantErr: "openvz: OPENVZ_API_ENDPOINT: invalid base URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadConfig(apitest.Env(tt.env))
			if tt.wantErr != "" {
				apitest.CheckError(t, err, tt.wantErr)
				return
			}
			if err != nil || got != tt.want || got.BaseURL() != tt.wantBase {
				t.Errorf("LoadConfig = %+v (base %q), %v; want %+v (base %q)", got, got.BaseURL(), err, tt.want, tt.wantBase)
			}
		})
	}
	t.Setenv(EnvAPIEndpoint, "http://from-os:5000/v0.1")
	if got, err := LoadConfig(nil); err != nil || got.Endpoint != "http://from-os:5000/v0.1" {
		t.Errorf("LoadConfig(nil) = %+v, %v; want the process environment", got, err)
	}
}

func TestNewFromConfig(t *testing.T) {
	c, err := NewFromConfig(Config{})
	if err != nil || c.BaseURL() != DefaultBaseURL {
		t.Fatalf("NewFromConfig(zero) = %v, %v", c, err)
	}
	c, err = NewFromConfig(Config{Endpoint: "http://127.0.0.1:8787/v0.1/"}, WithUserAgent("x/1"))
	if err != nil || c.BaseURL() != "http://127.0.0.1:8787/v0.1" || c.api.UserAgent != "x/1" {
		t.Fatalf("NewFromConfig = %v, %v", c, err)
	}
	// Options given after the config win.
	c, err = NewFromConfig(Config{Endpoint: "http://a:1/v0.1"}, WithBaseURL("http://b:2/v0.1"))
	if err != nil || c.BaseURL() != "http://b:2/v0.1" {
		t.Fatalf("NewFromConfig with WithBaseURL = %v, %v", c, err)
	}
	if _, err := NewFromConfig(Config{Endpoint: "nope"}); err == nil {
		t.Error("NewFromConfig with a bad endpoint succeeded")
	}
}
