// Package crusoe is a typed client for the Crusoe Cloud v1alpha5 API.
package crusoe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/cloudflow/cloudflow/clients/apicall"
	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
)

// DefaultBaseURL is the public Crusoe Cloud API endpoint.
const DefaultBaseURL = "https://api.crusoecloud.com/v1alpha5"

// RequestTimeout bounds each request the client sends (its HTTP client's
// Timeout, unless WithHTTPClient gives another).
const RequestTimeout = apihttp.DefaultTimeout

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
	api         apihttp.Client
	accessKeyID string
	secretKey   string
	projectID   string
}

// service is the common shape of every XxxService.
type service struct{ client *Client }

// Option configures a Client built by New.
type Option func(*Client)

// WithBaseURL sets the API endpoint, including the version prefix
// (e.g. "https://api.crusoecloud.com/v1alpha5" or a simulator's URL).
func WithBaseURL(baseURL string) Option { return func(c *Client) { c.rawBaseURL = baseURL } }

// WithHTTPClient sets the HTTP client used for requests. A nil client is ignored.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.api.SetHTTPClient(hc) } }

// WithCredentials sets the API access key ID and secret key.
func WithCredentials(accessKeyID, secretKey string) Option {
	return func(c *Client) { c.accessKeyID, c.secretKey = accessKeyID, secretKey }
}

// WithProjectID sets the project used when a method is given an empty project ID.
func WithProjectID(projectID string) Option { return func(c *Client) { c.projectID = projectID } }

// WithUserAgent sets the User-Agent header. An empty value is ignored.
func WithUserAgent(ua string) Option { return func(c *Client) { c.api.SetUserAgent(ua) } }

// WithClock sets the clock that stamps request signatures and resolves
// Retry-After dates. A nil clock is ignored.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.api.SetClock(now) } }

// WithObserver sets a function told of every request the client sends: its
// route (never the IDs in its path), status and duration, for metrics. It is
// called on the caller's goroutine once the answer is read.
func WithObserver(o apicall.Observer) Option { return func(c *Client) { c.api.Observer = o } }

// New builds a client. It fails when the credentials are missing or the secret
// key is not base64url, or when the base URL is not an absolute http(s) URL.
func New(opts ...Option) (*Client, error) {
	c := &Client{
		rawBaseURL: DefaultBaseURL,
		// The HTTP client's own timeout bounds every request, whatever its context.
		api: apihttp.NewClient("crusoe", RequestTimeout),
	}
	c.api.Routes = routes
	apihttp.Apply(c, opts)
	if err := c.api.SetBaseURL(c.rawBaseURL, DefaultBaseURL); err != nil {
		return nil, err
	}
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
func (c *Client) BaseURL() string { return c.api.BaseURL }

// String describes the client without its secret key.
func (c Client) String() string {
	return fmt.Sprintf("crusoe.Client{BaseURL: %q, AccessKeyID: %q, SecretKey: %s, ProjectID: %q}",
		c.api.BaseURL, c.accessKeyID, apihttp.Redact(c.secretKey), c.projectID)
}

// GoString is String, so %#v redacts too.
func (c Client) GoString() string { return c.String() }

// Format makes every fmt verb print String: fmt would otherwise print the
// unexported fields, secret key included.
func (c Client) Format(f fmt.State, verb rune) { apihttp.FormatRedacted(f, verb, c.String()) }

// argErrors builds the errors of the arguments the client rejects.
var argErrors = apihttp.ArgErrors{Name: "crusoe", Sentinel: ErrInvalidArgument}

// invalid builds an ErrInvalidArgument error.
func invalid(format string, args ...any) error { return argErrors.Invalid(format, args...) }

// checkID rejects an empty ID or one that would change the shape of the URL
// path. IDs are used verbatim in paths, so the signed path is exactly the one
// sent. It lets "." and ".." through, which the other clients' check
// (apihttp.ArgErrors.ID) rejects: this client has always accepted them.
func checkID(name, id string) error {
	if err := required(name, id); err != nil {
		return err
	}
	if url.PathEscape(id) != id {
		return invalid("%s %q has characters not allowed in a URL path segment", name, id)
	}
	return nil
}

// required rejects an empty string field.
func required(name, v string) error { return argErrors.Required(name, v) }

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
	req, err := c.api.NewRequest(ctx, method, relPath, query, in)
	if err != nil {
		return err
	}
	path := req.URL.EscapedPath()
	ts := FormatTimestamp(c.api.Now())
	sig, err := Sign(c.secretKey, path, query, method, ts)
	if err != nil {
		return err
	}
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderAuthorization, AuthorizationValue(c.accessKeyID, sig))
	_, err = c.api.Do(req, out, func(resp *http.Response) error {
		return newAPIError(resp, method, path, c.api.Now())
	})
	return err
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
	if !ok || apihttp.IsNullJSON(raw) {
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
