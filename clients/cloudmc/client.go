// Package cloudmc is a typed client for the CloudMC v2 REST API: the compute
// resources (instances, volumes and the disk offerings they are made from,
// ingress rules) of one environment, and the tasks its asynchronous
// operations run as.
package cloudmc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloudflow/cloudflow/clients/apicall"
	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
)

// APIPath is the version prefix every endpoint lives under. A base URL given
// without it gets it appended (see WithBaseURL).
const APIPath = "/api/v2"

// HeaderAPIKey is the header that carries the API key.
const HeaderAPIKey = "MC-Api-Key"

// ErrInvalidArgument is wrapped by every error the client returns for an
// argument it rejects before making a request. Such errors are never worth
// retrying: match them with errors.Is.
var ErrInvalidArgument = errors.New("invalid argument")

// Client talks to one CloudMC deployment with one API key, about the
// resources of one environment (a service code and an environment name). It
// is safe for concurrent use. The client never retries: retries belong to the
// caller (Temporal), because the API has no idempotency key.
type Client struct {
	Instances     *InstancesService
	Volumes       *VolumesService
	DiskOfferings *DiskOfferingsService
	IngressRules  *IngressRulesService
	Tasks         *TasksService

	rawBaseURL  string
	api         apihttp.Client
	apiKey      string
	orgID       string
	serviceCode string
	environment string
}

// service is the common shape of every XxxService.
type service struct{ client *Client }

// Option configures a Client built by New.
type Option func(*Client)

// WithBaseURL sets the API endpoint. There is no default: every deployment has
// its own. The URL may end in /api/v2 or stop before it
// ("https://cloudmc.example.com"); the client appends /api/v2 when the path
// does not already end with it.
func WithBaseURL(u string) Option { return func(c *Client) { c.rawBaseURL = u } }

// WithAPIKey sets the API key sent as the MC-Api-Key header.
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithOrgID makes every request act in the given (sub-)organization by adding
// the org_id query parameter. Empty, the default, acts in the key's own.
func WithOrgID(id string) Option { return func(c *Client) { c.orgID = id } }

// WithEnvironment sets the environment the instance, volume and ingress rule
// calls act in: a service connection code (e.g. "compute-qc") and an
// environment name (e.g. "prod").
func WithEnvironment(serviceCode, environmentName string) Option {
	return func(c *Client) { c.serviceCode, c.environment = serviceCode, environmentName }
}

// WithHTTPClient sets the HTTP client used for requests. A nil client is ignored.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.api.SetHTTPClient(hc) } }

// WithUserAgent sets the User-Agent header. An empty value is ignored.
func WithUserAgent(ua string) Option { return func(c *Client) { c.api.SetUserAgent(ua) } }

// WithClock sets the clock that resolves Retry-After dates. A nil clock is ignored.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.api.SetClock(now) } }

// WithObserver sets a function told of every request the client sends: its
// route (never the IDs in its path), status and duration, for metrics. It is
// called on the caller's goroutine once the answer is read.
func WithObserver(o apicall.Observer) Option { return func(c *Client) { c.api.Observer = o } }

// New builds a client. It fails when the base URL, the API key, the service
// code or the environment name is missing or malformed.
func New(opts ...Option) (*Client, error) {
	c := &Client{
		// The HTTP client's own timeout bounds every request, whatever its context.
		api: apihttp.NewClient("cloudmc", apihttp.DefaultTimeout),
	}
	c.api.Routes = routes
	apihttp.Apply(c, opts)
	if strings.TrimSpace(c.rawBaseURL) == "" {
		return nil, fmt.Errorf("cloudmc: a base URL is required: every deployment has its own (WithBaseURL or %s, e.g. https://cloudmc.example.com/api/v2)", EnvAPIEndpoint)
	}
	if err := c.api.SetBaseURL(c.rawBaseURL, ""); err != nil {
		return nil, err
	}
	if !strings.HasSuffix(c.api.BaseURL, APIPath) {
		c.api.BaseURL += APIPath
	}
	if c.apiKey == "" {
		return nil, fmt.Errorf("cloudmc: an API key is required (WithAPIKey or %s)", EnvAPIKey)
	}
	if !apihttp.ValidHeaderValue(c.apiKey) {
		// Never quote the key, not even a malformed one.
		return nil, errors.New("cloudmc: the API key has spaces or control characters (check for a trailing newline)")
	}
	if strings.TrimSpace(c.serviceCode) == "" || strings.TrimSpace(c.environment) == "" {
		return nil, fmt.Errorf("cloudmc: a service code and an environment name are required (WithEnvironment, or %s and %s)", EnvServiceCode, EnvEnvironment)
	}
	for _, p := range []struct{ name, v string }{{"service code", c.serviceCode}, {"environment name", c.environment}, {"org ID", c.orgID}} {
		if strings.ContainsAny(p.v, "/\\") || strings.TrimSpace(p.v) != p.v || !validPrintable(p.v) {
			return nil, fmt.Errorf("cloudmc: %w: %s %q has a slash, surrounding space or control characters", ErrInvalidArgument, p.name, p.v)
		}
	}
	s := service{client: c}
	c.Instances = (*InstancesService)(&s)
	c.Volumes = (*VolumesService)(&s)
	c.DiskOfferings = (*DiskOfferingsService)(&s)
	c.IngressRules = (*IngressRulesService)(&s)
	c.Tasks = (*TasksService)(&s)
	return c, nil
}

// BaseURL is the endpoint the client talks to, /api/v2 included, without a
// trailing slash.
func (c *Client) BaseURL() string { return c.api.BaseURL }

// ServiceCode is the service connection code of the client's environment.
func (c *Client) ServiceCode() string { return c.serviceCode }

// Environment is the name of the client's environment.
func (c *Client) Environment() string { return c.environment }

// OrgID is the organization sent as org_id, or "" for the key's own.
func (c *Client) OrgID() string { return c.orgID }

// String describes the client without its API key.
func (c Client) String() string {
	return fmt.Sprintf("cloudmc.Client{BaseURL: %q, ServiceCode: %q, Environment: %q, OrgID: %q, UserAgent: %q, APIKey: %s}",
		c.api.BaseURL, c.serviceCode, c.environment, c.orgID, c.api.UserAgent, apihttp.Redact(c.apiKey))
}

// GoString is String, so %#v redacts too.
func (c Client) GoString() string { return c.String() }

// Format makes every fmt verb print String: fmt would otherwise print the
// unexported fields, API key included. The methods have value receivers so
// that a copied Client is redacted too.
func (c Client) Format(f fmt.State, verb rune) { apihttp.FormatRedacted(f, verb, c.String()) }

// validPrintable rejects control characters.
func validPrintable(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// argErrors builds the errors of the arguments the client rejects.
var argErrors = apihttp.ArgErrors{Name: "cloudmc", Sentinel: ErrInvalidArgument}

// invalid builds an ErrInvalidArgument error.
func invalid(format string, args ...any) error { return argErrors.Invalid(format, args...) }

// checkID rejects an empty ID or one that would change the shape of the URL
// path it is put in.
func checkID(name, id string) error { return argErrors.ID(name, id) }

// required rejects an empty string field.
func required(name, v string) error { return argErrors.Required(name, v) }

// envPath is "services/{service_code}/{environment_name}/{entity}", with
// "/{id}" appended when id is set.
func (c *Client) envPath(entity, id string) string {
	p := "services/" + url.PathEscape(c.serviceCode) + "/" + url.PathEscape(c.environment) + "/" + entity
	if id != "" {
		p += "/" + id
	}
	return p
}

// envelope is every answer's shape: {"data": ...} for synchronous calls,
// {"taskId", "taskStatus"} for asynchronous ones and {"taskId", "taskStatus",
// "result"} for a task; {"errors": [...]} whenever a request failed.
type envelope struct {
	Data       json.RawMessage `json:"data"`
	TaskID     string          `json:"taskId"`
	TaskStatus string          `json:"taskStatus"`
	Result     json.RawMessage `json:"result"`
	Errors     []ErrorDetail   `json:"errors"`
}

// reply is a decoded 2xx answer.
type reply struct {
	method, path string // path is the URL path, with /api/v2
	env          envelope
}

// do sends one request to baseURL/relPath with the API key and org_id, and
// decodes the envelope of a 2xx answer. A non-2xx answer, or a 2xx answer
// that carries errors, becomes an *APIError.
func (c *Client) do(ctx context.Context, method, relPath string, query url.Values, in any) (*reply, error) {
	if c.orgID != "" {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("org_id", c.orgID)
		query = q
	}
	req, err := c.api.NewRequest(ctx, method, relPath, query, in)
	if err != nil {
		return nil, err
	}
	req.Header.Set(HeaderAPIKey, c.apiKey)
	rep := &reply{method: method, path: req.URL.EscapedPath()}
	resp, err := c.api.Do(req, &rep.env, func(resp *http.Response) error {
		return newAPIError(resp, method, rep.path, c.api.Now())
	})
	if err != nil {
		return nil, err
	}
	if len(rep.env.Errors) > 0 {
		// The reference: an answer with an errors field did not succeed,
		// whatever its status.
		return nil, errorFromDetails(resp.StatusCode, resp.Header, method, rep.path, rep.env.Errors, c.api.Now())
	}
	return rep, nil
}

// getData fetches one object answered as {"data": {...}}.
func getData[T any](ctx context.Context, c *Client, relPath string) (*T, error) {
	rep, err := c.do(ctx, http.MethodGet, relPath, nil, nil)
	if err != nil {
		return nil, err
	}
	if apihttp.IsNullJSON(rep.env.Data) {
		return nil, fmt.Errorf("cloudmc: %s %s: response has no data", rep.method, rep.path)
	}
	v := new(T)
	if err := json.Unmarshal(rep.env.Data, v); err != nil {
		return nil, fmt.Errorf("cloudmc: %s %s: decoding data: %w", rep.method, rep.path, err)
	}
	return v, nil
}

// listData fetches a collection answered as {"data": [...]}; never nil.
func listData[T any](ctx context.Context, c *Client, relPath string) ([]T, error) {
	rep, err := c.do(ctx, http.MethodGet, relPath, nil, nil)
	if err != nil {
		return nil, err
	}
	out := []T{}
	if apihttp.IsNullJSON(rep.env.Data) {
		return out, nil
	}
	if err := json.Unmarshal(rep.env.Data, &out); err != nil {
		return nil, fmt.Errorf("cloudmc: %s %s: decoding data: %w", rep.method, rep.path, err)
	}
	return out, nil
}

// startTask makes a request that starts an asynchronous operation and
// returns its task. An answer the server completed within the request
// ({"data": ...}, or no body at all, as a 204 has) gives a task that is
// already SUCCESS, with the data as its Result and no ID.
func startTask(ctx context.Context, c *Client, method, relPath string, query url.Values, in any) (*Task, error) {
	rep, err := c.do(ctx, method, relPath, query, in)
	if err != nil {
		return nil, err
	}
	if rep.env.TaskID != "" {
		status := rep.env.TaskStatus
		if status == "" {
			status = TaskPending
		}
		return &Task{ID: rep.env.TaskID, Status: status, Result: rep.env.Result}, nil
	}
	return &Task{Status: TaskSuccess, Result: rep.env.Data}, nil
}

// operationQuery is the query of a POST that performs an operation on a resource.
func operationQuery(op string) url.Values { return url.Values{"operation": {op}} }
