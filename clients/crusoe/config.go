package crusoe

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"

	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
	"github.com/cloudflow/cloudflow/internal/input"
)

// Environment variables read by LoadConfig; each overrides the config file.
const (
	EnvProfile     = "CRUSOE_PROFILE"
	EnvAPIEndpoint = "CRUSOE_API_ENDPOINT"
	EnvAccessKeyID = "CRUSOE_ACCESS_KEY_ID"
	EnvSecretKey   = "CRUSOE_SECRET_KEY"
	EnvProjectID   = "CRUSOE_PROJECT_ID"
)

// DefaultProfile is the profile read when CRUSOE_PROFILE is not set.
const DefaultProfile = "default"

// Config is where to reach Crusoe Cloud and as whom. Its String and Format
// methods never print the secret key, and it is left out of JSON.
type Config struct {
	Endpoint    string
	AccessKeyID string
	SecretKey   string `json:"-"`
	ProjectID   string
	Profile     string
}

// String describes the configuration with the secret key redacted.
func (c Config) String() string {
	return fmt.Sprintf("crusoe.Config{Profile: %q, Endpoint: %q, AccessKeyID: %q, SecretKey: %s, ProjectID: %q}",
		c.Profile, c.Endpoint, c.AccessKeyID, apihttp.Redact(c.SecretKey), c.ProjectID)
}

// GoString is String, so %#v redacts too.
func (c Config) GoString() string { return c.String() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %d, ...) print the redacted
// form; without it, verbs such as %d would print the fields one by one.
func (c Config) Format(f fmt.State, verb rune) { apihttp.FormatRedacted(f, verb, c.String()) }

// fileProfile is one profile table of ~/.crusoe/config, as the official CLI writes it.
type fileProfile struct {
	AccessKeyID    string `toml:"access_key_id"`
	SecretKey      string `toml:"secret_key"`
	APIEndpoint    string `toml:"api_endpoint"`
	DefaultProject string `toml:"default_project"`
}

// LoadConfig reads ~/.crusoe/config and then the CRUSOE_* environment
// variables (see LoadConfigFrom).
func LoadConfig() (Config, error) {
	path := ""
	if home, err := os.UserHomeDir(); err == nil {
		path = filepath.Join(home, ".crusoe", "config")
	}
	return LoadConfigFrom(path, os.Getenv)
}

// LoadConfigFrom reads the TOML config file at path, if it exists, and then
// lets non-empty environment variables (looked up with getenv) override it:
// CRUSOE_API_ENDPOINT, CRUSOE_ACCESS_KEY_ID, CRUSOE_SECRET_KEY, CRUSOE_PROJECT_ID.
//
// The profile is CRUSOE_PROFILE, else the file's top-level "profile" key, else
// "default". A missing file is fine, and so is a missing default profile,
// since the environment may supply everything; but a profile named by
// CRUSOE_PROFILE must exist in a file that exists. Errors never quote the
// file's contents.
func LoadConfigFrom(path string, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	cfg := Config{Profile: getenv(EnvProfile)}
	explicit := cfg.Profile != ""

	if path != "" {
		p, found, err := readProfile(path, &cfg.Profile, explicit)
		if err != nil {
			return Config{}, err
		}
		if found {
			cfg.AccessKeyID, cfg.SecretKey = p.AccessKeyID, p.SecretKey
			cfg.Endpoint, cfg.ProjectID = p.APIEndpoint, p.DefaultProject
		}
	}
	if cfg.Profile == "" {
		cfg.Profile = DefaultProfile
	}
	for _, o := range []struct {
		env string
		dst *string
	}{
		{EnvAPIEndpoint, &cfg.Endpoint}, {EnvAccessKeyID, &cfg.AccessKeyID},
		{EnvSecretKey, &cfg.SecretKey}, {EnvProjectID, &cfg.ProjectID},
	} {
		if v := getenv(o.env); v != "" {
			*o.dst = v
		}
	}
	return cfg, nil
}

// maxConfigFile bounds the config file: a few profiles of TOML.
const maxConfigFile = 1 << 20

// readProfile decodes the chosen profile of the file at path. It fills in
// *profile from the file's top-level "profile" key when it is empty.
func readProfile(path string, profile *string, explicit bool) (fileProfile, bool, error) {
	var p fileProfile
	data, err := input.ReadFile(path, nil, "config file "+path, maxConfigFile)
	if errors.Is(err, fs.ErrNotExist) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("crusoe: reading config: %w", err)
	}
	var file map[string]toml.Primitive
	md, err := toml.Decode(string(data), &file)
	if err != nil {
		// A TOML parse error may quote the offending text, which could be a
		// secret: report the position only.
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return p, false, fmt.Errorf("crusoe: config file %s is not valid TOML (line %d, after key %q)", path, pe.Position.Line, pe.LastKey)
			}
			return p, false, fmt.Errorf("crusoe: config file %s is not valid TOML (line %d)", path, pe.Position.Line)
		}
		return p, false, fmt.Errorf("crusoe: config file %s is not valid TOML", path)
	}
	if *profile == "" {
		if prim, ok := file["profile"]; ok {
			var name string
			if md.PrimitiveDecode(prim, &name) == nil {
				*profile = name
			}
		}
	}
	if *profile == "" {
		*profile = DefaultProfile
	}
	prim, ok := file[*profile]
	if !ok {
		if explicit {
			return p, false, fmt.Errorf("crusoe: profile %q not found in %s", *profile, path)
		}
		return p, false, nil
	}
	if err := md.PrimitiveDecode(prim, &p); err != nil {
		return p, false, fmt.Errorf("crusoe: profile %q in %s is not a table of string keys (access_key_id, secret_key, api_endpoint, default_project)", *profile, path)
	}
	return p, true, nil
}

// NewFromConfig builds a client from cfg; opts are applied after it and so
// take precedence. An empty Endpoint means DefaultBaseURL.
func NewFromConfig(cfg Config, opts ...Option) (*Client, error) {
	base := []Option{WithCredentials(cfg.AccessKeyID, cfg.SecretKey), WithProjectID(cfg.ProjectID)}
	if cfg.Endpoint != "" {
		base = append(base, WithBaseURL(cfg.Endpoint))
	}
	c, err := New(append(base, opts...)...)
	if err != nil && cfg.Profile != "" {
		return nil, fmt.Errorf("%w (profile %q)", err, cfg.Profile)
	}
	return c, err
}
