package kraftcloud

import (
	"fmt"
	"os"
	"strings"

	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
)

// DefaultMetro is the metro used when none is configured (Frankfurt).
const DefaultMetro = "fra0"

// MetroURL is the API endpoint of a metro: "https://api.<metro>.kraft.cloud/v1".
// An empty metro means DefaultMetro.
func MetroURL(metro string) string {
	metro = strings.ToLower(strings.TrimSpace(metro))
	if metro == "" {
		metro = DefaultMetro
	}
	return "https://api." + metro + ".kraft.cloud/v1"
}

// Environment variables read by LoadConfig. The UKC_ names are the ones the
// official tools also read; the KRAFTCLOUD_ names win when both are set.
const (
	EnvToken       = "KRAFTCLOUD_TOKEN"
	EnvMetro       = "KRAFTCLOUD_METRO"
	EnvAPIEndpoint = "KRAFTCLOUD_API_ENDPOINT"
	EnvUKCToken    = "UKC_TOKEN"
	EnvUKCMetro    = "UKC_METRO"
)

// Config is where to reach KraftCloud and as whom. Its String and Format
// methods never print the token, and the token is left out of JSON.
type Config struct {
	Token string `json:"-"`
	// Metro picks the endpoint (MetroURL) unless Endpoint is set.
	Metro string
	// Endpoint overrides the metro's URL, version prefix included
	// (e.g. a simulator's "http://127.0.0.1:8787/v1").
	Endpoint string
}

// BaseURL is Endpoint if set, else the metro's URL.
func (c Config) BaseURL() string {
	if strings.TrimSpace(c.Endpoint) != "" {
		return strings.TrimSpace(c.Endpoint)
	}
	return MetroURL(c.Metro)
}

// String describes the configuration with the token redacted.
func (c Config) String() string {
	return fmt.Sprintf("kraftcloud.Config{Metro: %q, Endpoint: %q, Token: %s}", c.Metro, c.Endpoint, apihttp.Redact(c.Token))
}

// GoString is String, so %#v redacts too.
func (c Config) GoString() string { return c.String() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %d, ...) print the redacted
// form; without it, verbs such as %d would print the fields one by one.
func (c Config) Format(f fmt.State, verb rune) { apihttp.FormatRedacted(f, verb, c.String()) }

// LoadConfig reads the configuration from the environment through getenv
// (os.Getenv when nil): the token from KRAFTCLOUD_TOKEN, else UKC_TOKEN; the
// metro from KRAFTCLOUD_METRO, else UKC_METRO, else DefaultMetro; and
// KRAFTCLOUD_API_ENDPOINT, which when set overrides the metro's URL. Values
// are trimmed of surrounding space. It fails, naming the variable, when there
// is no token.
func LoadConfig(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	first := func(names ...string) string {
		for _, n := range names {
			if v := strings.TrimSpace(getenv(n)); v != "" {
				return v
			}
		}
		return ""
	}
	cfg := Config{
		Token:    first(EnvToken, EnvUKCToken),
		Metro:    first(EnvMetro, EnvUKCMetro),
		Endpoint: first(EnvAPIEndpoint),
	}
	if cfg.Metro == "" {
		cfg.Metro = DefaultMetro
	}
	if cfg.Token == "" {
		return Config{}, fmt.Errorf("kraftcloud: no API token: set %s (or %s)", EnvToken, EnvUKCToken)
	}
	return cfg, nil
}

// NewFromConfig builds a client from cfg; opts are applied after it and so
// take precedence.
func NewFromConfig(cfg Config, opts ...Option) (*Client, error) {
	base := []Option{WithToken(cfg.Token), WithBaseURL(cfg.BaseURL())}
	return New(append(base, opts...)...)
}
