package cloudmc

import (
	"fmt"
	"os"
	"strings"

	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
)

// Environment variables read by LoadConfig.
const (
	// EnvAPIEndpoint is the deployment's API endpoint, with or without the
	// /api/v2 suffix (the client appends it when missing).
	EnvAPIEndpoint = "CLOUDMC_API_ENDPOINT"
	EnvAPIKey      = "CLOUDMC_API_KEY"
	// EnvServiceCode and EnvEnvironment pick the environment the compute
	// calls act in.
	EnvServiceCode = "CLOUDMC_SERVICE_CODE"
	EnvEnvironment = "CLOUDMC_ENVIRONMENT"
	// EnvOrgID, optional, acts in a sub-organization (the org_id parameter).
	EnvOrgID = "CLOUDMC_ORG_ID"
)

// Config is where to reach CloudMC, as whom and in which environment. Its
// String and Format methods never print the API key, and the key is left out
// of JSON.
type Config struct {
	// Endpoint is the API endpoint, with or without /api/v2.
	Endpoint    string
	APIKey      string `json:"-"`
	ServiceCode string
	Environment string
	OrgID       string
}

// String describes the configuration with the API key redacted.
func (c Config) String() string {
	return fmt.Sprintf("cloudmc.Config{Endpoint: %q, ServiceCode: %q, Environment: %q, OrgID: %q, APIKey: %s}",
		c.Endpoint, c.ServiceCode, c.Environment, c.OrgID, apihttp.Redact(c.APIKey))
}

// GoString is String, so %#v redacts too.
func (c Config) GoString() string { return c.String() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %d, ...) print the redacted
// form; without it, verbs such as %d would print the fields one by one.
func (c Config) Format(f fmt.State, verb rune) { apihttp.FormatRedacted(f, verb, c.String()) }

// LoadConfig reads the configuration from the environment through getenv
// (os.Getenv when nil): CLOUDMC_API_ENDPOINT, CLOUDMC_API_KEY,
// CLOUDMC_SERVICE_CODE and CLOUDMC_ENVIRONMENT, all required, and
// CLOUDMC_ORG_ID, optional. Values are trimmed of surrounding space. It
// fails naming every required variable that is unset.
func LoadConfig(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	cfg := Config{
		Endpoint:    get(EnvAPIEndpoint),
		APIKey:      get(EnvAPIKey),
		ServiceCode: get(EnvServiceCode),
		Environment: get(EnvEnvironment),
		OrgID:       get(EnvOrgID),
	}
	var missing []string
	for _, r := range []struct{ name, v string }{
		{EnvAPIEndpoint, cfg.Endpoint}, {EnvAPIKey, cfg.APIKey},
		{EnvServiceCode, cfg.ServiceCode}, {EnvEnvironment, cfg.Environment},
	} {
		if r.v == "" {
			missing = append(missing, r.name)
		}
	}
	if len(missing) > 0 {
		return Config{}, fmt.Errorf("cloudmc: set %s", strings.Join(missing, ", "))
	}
	return cfg, nil
}

// NewFromConfig builds a client from cfg; opts are applied after it and so
// take precedence.
func NewFromConfig(cfg Config, opts ...Option) (*Client, error) {
	base := []Option{
		WithBaseURL(cfg.Endpoint), WithAPIKey(cfg.APIKey),
		WithEnvironment(cfg.ServiceCode, cfg.Environment), WithOrgID(cfg.OrgID),
	}
	return New(append(base, opts...)...)
}
