// Package crusoe is a typed client for the Crusoe Cloud v1alpha5 API.
package crusoe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is the public Crusoe Cloud API endpoint.
const DefaultBaseURL = "https://api.crusoecloud.com/v1alpha5"

const (
	defaultUserAgent = "cloudflow"
	// defaultTimeout bounds a request whose context has no deadline, so a
	// stalled connection cannot hang a caller forever.
	defaultTimeout = 60 * time.Second
	mediaTypeJSON  = "application/json"
)

// ErrInvalidArgument is wrapped by every error the client returns for an
// argument it rejects before making a request. Such errors are never worth
// retrying: match them with errors.Is.
var ErrInvalidArgument = errors.New("invalid argument")

// Client talks to one Crusoe Cloud endpoint with one set of credentials. It is
// safe for concurrent use. The client never retries: retries belong to the
// caller (Temporal), because the API has no idempotency key.
type Client struct {
	VMs               *VMsService
	Disks             *DisksService
	Snapshots         *SnapshotsService
	FirewallRules     *FirewallRulesService
	VPCNetworks       *VPCNetworksService
	VPCSubnets        *VPCSubnetsService
	LoadBalancers     *LoadBalancersService
	InstanceTemplates *InstanceTemplatesService
	InstanceGroups    *InstanceGroupsService
	Operations        *OperationsService

	rawBaseURL  string
	baseURL     string // validated, without a trailing slash
	httpClient  *http.Client
	accessKeyID string
	secretKey   string
	projectID   string
	userAgent   string
	now         func() time.Time
}

// service is the common shape of every XxxService.
type service struct{ client *Client }

// Option configures a Client built by New.
type Option func(*Client)

// WithBaseURL sets the API endpoint, including the version prefix
// (e.g. "https://api.crusoecloud.com/v1alpha5" or a simulator's URL).
func WithBaseURL(baseURL string) Option { return func(c *Client) { c.rawBaseURL = baseURL } }

// WithHTTPClient sets the HTTP client used for requests. A nil client is ignored.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// WithCredentials sets the API access key ID and secret key.
func WithCredentials(accessKeyID, secretKey string) Option {
	return func(c *Client) { c.accessKeyID, c.secretKey = accessKeyID, secretKey }
}

// WithProjectID sets the project used when a method is given an empty project ID.
func WithProjectID(projectID string) Option { return func(c *Client) { c.projectID = projectID } }

// WithUserAgent sets the User-Agent header. An empty value is ignored.
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua != "" {
			c.userAgent = ua
		}
	}
}

// WithClock sets the clock that stamps request signatures and resolves
// Retry-After dates. A nil clock is ignored.
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// New builds a client. It fails when the credentials are missing or the secret
// key is not base64url, or when the base URL is not an absolute http(s) URL.
func New(opts ...Option) (*Client, error) {
	c := &Client{
		rawBaseURL: DefaultBaseURL,
		httpClient: &http.Client{Timeout: defaultTimeout},
		userAgent:  defaultUserAgent,
		now:        time.Now,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(c)
		}
	}
	base, err := normalizeBaseURL(c.rawBaseURL)
	if err != nil {
		return nil, err
	}
	c.baseURL = base
	if c.accessKeyID == "" || c.secretKey == "" {
		return nil, errors.New("crusoe: an access key ID and a secret key are required " +
			"(WithCredentials, ~/.crusoe/config or CRUSOE_ACCESS_KEY_ID and CRUSOE_SECRET_KEY)")
	}
	if _, err := decodeSecret(c.secretKey); err != nil {
		// decodeSecret's message names the offending byte offset, never the key.
		return nil, err
	}
	s := service{client: c}
	c.VMs = (*VMsService)(&s)
	c.Disks = (*DisksService)(&s)
	c.Snapshots = (*SnapshotsService)(&s)
	c.FirewallRules = (*FirewallRulesService)(&s)
	c.VPCNetworks = (*VPCNetworksService)(&s)
	c.VPCSubnets = (*VPCSubnetsService)(&s)
	c.LoadBalancers = (*LoadBalancersService)(&s)
	c.InstanceTemplates = (*InstanceTemplatesService)(&s)
	c.InstanceGroups = (*InstanceGroupsService)(&s)
	c.Operations = (*OperationsService)(&s)
	return c, nil
}

// ProjectID is the default project, used when a method is given an empty one.
func (c *Client) ProjectID() string { return c.projectID }

// BaseURL is the endpoint the client talks to, without a trailing slash.
func (c *Client) BaseURL() string { return c.baseURL }

func normalizeBaseURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = DefaultBaseURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("crusoe: invalid base URL %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("crusoe: invalid base URL %q: want an absolute http or https URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("crusoe: invalid base URL %q: it may not carry user info, a query or a fragment", u.Redacted())
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// invalid builds an ErrInvalidArgument error.
func invalid(format string, args ...any) error {
	return fmt.Errorf("crusoe: %w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// checkID rejects an empty ID or one that would change the shape of the URL
// path. IDs are used verbatim in paths, so the signed path is exactly the one
// sent.
func checkID(name, id string) error {
	if strings.TrimSpace(id) == "" {
		return invalid("%s is required", name)
	}
	if url.PathEscape(id) != id {
		return invalid("%s %q has characters not allowed in a URL path segment", name, id)
	}
	return nil
}

// required rejects an empty string field.
func required(name, v string) error {
	if strings.TrimSpace(v) == "" {
		return invalid("%s is required", name)
	}
	return nil
}

// requiredFields checks pairs of (field name, value) of one kind of request.
func requiredFields(kind string, pairs ...string) error {
	if len(pairs)%2 != 0 {
		panic(fmt.Sprintf("crusoe: requiredFields(%q) needs name/value pairs", kind))
	}
	for i := 0; i < len(pairs); i += 2 {
		if err := required(kind+" "+pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// resourcePath resolves the project and returns "projects/{p}/{base}", with
// "/{id}" appended when idName is set.
func (c *Client) resourcePath(projectID, base, idName, id string) (string, error) {
	if projectID == "" {
		projectID = c.projectID
	}
	if projectID == "" {
		return "", invalid("project ID is required: pass one or set a default (WithProjectID, default_project, CRUSOE_PROJECT_ID)")
	}
	if err := checkID("project ID", projectID); err != nil {
		return "", err
	}
	p := "projects/" + projectID + "/" + base
	if idName != "" {
		if err := checkID(idName, id); err != nil {
			return "", err
		}
		p += "/" + id
	}
	return p, nil
}

// do sends one signed request to baseURL/relPath and decodes a JSON answer
// into out (when out is not nil). A non-2xx answer becomes an *APIError.
func (c *Client) do(ctx context.Context, method, relPath string, query url.Values, in, out any) error {
	u, err := url.Parse(c.baseURL + "/" + relPath)
	if err != nil {
		return fmt.Errorf("crusoe: building URL for %s: %w", relPath, err)
	}
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	path := u.EscapedPath()

	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("crusoe: %s %s: encoding request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("crusoe: %s %s: %w", method, path, err)
	}
	ts := FormatTimestamp(c.now())
	sig, err := Sign(c.secretKey, path, query, method, ts)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", mediaTypeJSON)
	if in != nil {
		req.Header.Set("Content-Type", mediaTypeJSON)
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderAuthorization, AuthorizationValue(c.accessKeyID, sig))

	resp, err := c.httpClient.Do(req)
	if err != nil {
		// url.Error repeats the method and full URL; keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("crusoe: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(resp, method, path, c.now())
	}
	if out == nil {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("crusoe: %s %s: decoding response: %w", method, path, err)
	}
	return nil
}

// list fetches a collection answered as {"items": [...]}.
func list[T any](ctx context.Context, c *Client, path string, query url.Values) ([]T, error) {
	var env struct {
		Items []T `json:"items"`
	}
	if err := c.do(ctx, http.MethodGet, path, query, nil, &env); err != nil {
		return nil, err
	}
	return env.Items, nil
}

// get fetches a single resource answered bare.
func get[T any](ctx context.Context, c *Client, path string) (*T, error) {
	return send[T](ctx, c, http.MethodGet, path, nil)
}

// send makes a request whose answer is a bare resource.
func send[T any](ctx context.Context, c *Client, method, path string, in any) (*T, error) {
	v := new(T)
	if err := c.do(ctx, method, path, nil, in, v); err != nil {
		return nil, err
	}
	return v, nil
}

// sendKeyed makes a request whose answer wraps the resource under key, as in
// {"network": {...}}.
func sendKeyed[T any](ctx context.Context, c *Client, method, path, key string, in any) (*T, error) {
	var env map[string]json.RawMessage
	if err := c.do(ctx, method, path, nil, in, &env); err != nil {
		return nil, err
	}
	raw, ok := env[key]
	if !ok || isNull(raw) {
		return nil, fmt.Errorf("crusoe: %s %s: response has no %q object", method, path, key)
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("crusoe: %s %s: decoding %q: %w", method, path, key, err)
	}
	return v, nil
}

// startOperation makes a mutating request answered as {"operation": {...}}.
func startOperation(ctx context.Context, c *Client, method, path string, in any) (*Operation, error) {
	var env operationEnvelope
	if err := c.do(ctx, method, path, nil, in, &env); err != nil {
		return nil, err
	}
	if env.Operation == nil {
		return nil, fmt.Errorf("crusoe: %s %s: response has no operation", method, path)
	}
	return env.Operation, nil
}

type operationEnvelope struct {
	Operation *Operation `json:"operation"`
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// resource holds the calls every resource family shares, so each service
// method is a validated one-liner.
type resource[T any] struct {
	c      *Client
	base   string // path under /projects/{id}/
	idName string // for error messages, e.g. "disk ID"
}

func (r resource[T]) list(ctx context.Context, projectID string, query url.Values) ([]T, error) {
	p, err := r.collectionPath(projectID)
	if err != nil {
		return nil, err
	}
	return list[T](ctx, r.c, p, query)
}

func (r resource[T]) get(ctx context.Context, projectID, id string) (*T, error) {
	p, err := r.itemPath(projectID, id)
	if err != nil {
		return nil, err
	}
	return get[T](ctx, r.c, p)
}

// itemPath resolves the path of one item, validating its ID.
func (r resource[T]) itemPath(projectID, id string) (string, error) {
	return r.c.resourcePath(projectID, r.base, r.idName, id)
}

func (r resource[T]) collectionPath(projectID string) (string, error) {
	return r.c.resourcePath(projectID, r.base, "", "")
}

// createOperation POSTs to the collection and returns the started operation.
func (r resource[T]) createOperation(ctx context.Context, projectID string, in any) (*Operation, error) {
	p, err := r.collectionPath(projectID)
	if err != nil {
		return nil, err
	}
	return startOperation(ctx, r.c, http.MethodPost, p, in)
}

// itemOperation sends method (PATCH, DELETE) to an item and returns the started operation.
func (r resource[T]) itemOperation(ctx context.Context, method, projectID, id string, in any) (*Operation, error) {
	p, err := r.itemPath(projectID, id)
	if err != nil {
		return nil, err
	}
	return startOperation(ctx, r.c, method, p, in)
}
