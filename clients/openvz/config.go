package openvz

import (
	"fmt"
	"os"
	"strings"

	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
)

// EnvAPIEndpoint is the environment variable LoadConfig reads the endpoint
// from, version prefix included (e.g. "http://127.0.0.1:8787/v0.1").
const EnvAPIEndpoint = "OPENVZ_API_ENDPOINT"

// Config is where to reach the container API. The API has no credentials.
type Config struct {
	// Endpoint is the base URL, version prefix included; empty means DefaultBaseURL.
	Endpoint string
}

// BaseURL is Endpoint if set, else DefaultBaseURL.
func (c Config) BaseURL() string {
	if e := strings.TrimSpace(c.Endpoint); e != "" {
		return e
	}
	return DefaultBaseURL
}

// LoadConfig reads the configuration from the environment through getenv
// (os.Getenv when nil): OPENVZ_API_ENDPOINT, trimmed of surrounding space,
// else DefaultBaseURL. It fails, naming the variable, when the endpoint is
// not an absolute http(s) URL.
func LoadConfig(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg := Config{Endpoint: strings.TrimSpace(getenv(EnvAPIEndpoint))}
	if cfg.Endpoint != "" {
		if _, err := apihttp.NormalizeBaseURL(cfg.Endpoint, DefaultBaseURL); err != nil {
			return Config{}, fmt.Errorf("openvz: %s: %w", EnvAPIEndpoint, err)
		}
	}
	return cfg, nil
}

// NewFromConfig builds a client from cfg; opts are applied after it and so
// take precedence.
func NewFromConfig(cfg Config, opts ...Option) (*Client, error) {
	return New(append([]Option{WithBaseURL(cfg.BaseURL())}, opts...)...)
}
