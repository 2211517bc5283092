package cloudmc

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

func TestLoadConfig(t *testing.T) {
	all := map[string]string{
		"CLOUDMC_API_ENDPOINT": " https://cloudmc.example.com/api/v2 ", "CLOUDMC_API_KEY": "k3y",
		"CLOUDMC_SERVICE_CODE": "compute-qc", "CLOUDMC_ENVIRONMENT": "prod",
	}
	cfg, err := LoadConfig(apitest.Env(all))
	want := Config{Endpoint: "https://cloudmc.example.com/api/v2", APIKey: "k3y", ServiceCode: "compute-qc", Environment: "prod"}
	if err != nil || !reflect.DeepEqual(cfg, want) {
		t.Errorf("LoadConfig = %v, %v; want %v", cfg, err, want)
	}

	withOrg := map[string]string{"CLOUDMC_ORG_ID": "org-1"}
	for k, v := range all {
		withOrg[k] = v
	}
	if cfg, err := LoadConfig(apitest.Env(withOrg)); err != nil || cfg.OrgID != "org-1" {
		t.Errorf("org: %v, %v", cfg, err)
	}

	_, err = LoadConfig(apitest.Env(map[string]string{"CLOUDMC_API_KEY": "k3y", "CLOUDMC_ENVIRONMENT": " "}))
	if err == nil || err.Error() != "cloudmc: set CLOUDMC_API_ENDPOINT, CLOUDMC_SERVICE_CODE, CLOUDMC_ENVIRONMENT" {
		t.Errorf("missing variables: err = %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "k3y") {
		t.Errorf("error leaks the key: %v", err)
	}

	t.Setenv("CLOUDMC_API_ENDPOINT", "http://127.0.0.1:8787")
	t.Setenv("CLOUDMC_API_KEY", "from-os")
	t.Setenv("CLOUDMC_SERVICE_CODE", "compute-sim")
	t.Setenv("CLOUDMC_ENVIRONMENT", "dev")
	t.Setenv("CLOUDMC_ORG_ID", "")
	if cfg, err := LoadConfig(nil); err != nil || cfg.APIKey != "from-os" || cfg.Environment != "dev" {
		t.Errorf("LoadConfig(nil) = %v, %v", cfg, err)
	}
}

func TestConfigNeverPrintsTheKey(t *testing.T) {
	cfg := Config{Endpoint: "http://127.0.0.1:8787/api/v2", APIKey: "superSecretKeyValue", ServiceCode: "compute-sim", Environment: "dev"}
	apitest.CheckRedacted(t, cfg, "superSecretKeyValue", "compute-sim")
}

func TestNewFromConfig(t *testing.T) {
	type seen struct{ path, query, key string }
	reqs := make(chan seen, 1)
	srv := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		reqs <- seen{r.URL.Path, r.URL.RawQuery, r.Header.Get(HeaderAPIKey)}
		io.WriteString(w, `{"data":[]}`)
	})
	// The endpoint without /api/v2: the client appends it.
	endpoint := strings.TrimSuffix(srv.BaseURL(), APIPath)
	cfg := Config{Endpoint: endpoint, APIKey: testKey, ServiceCode: testService, Environment: testEnv, OrgID: "org-7"}
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
	if got := <-reqs; got != (seen{envPrefix + "instances", "org_id=org-7", testKey}) {
		t.Errorf("request = %+v", got)
	}
	// Options win over the config.
	c, err = NewFromConfig(cfg, WithEnvironment("other", "qa"), WithOrgID(""))
	if err != nil || c.ServiceCode() != "other" || c.Environment() != "qa" || c.OrgID() != "" {
		t.Errorf("option override: %v, %v", c, err)
	}
	// What is missing is named, without the key.
	_, err = NewFromConfig(Config{APIKey: testKey, ServiceCode: testService, Environment: testEnv})
	if err == nil || !strings.Contains(err.Error(), EnvAPIEndpoint) || strings.Contains(err.Error(), testKey) {
		t.Errorf("missing endpoint: err = %v", err)
	}
	_, err = NewFromConfig(Config{Endpoint: endpoint, ServiceCode: testService, Environment: testEnv})
	if err == nil || !strings.Contains(err.Error(), EnvAPIKey) {
		t.Errorf("missing key: err = %v", err)
	}
}
