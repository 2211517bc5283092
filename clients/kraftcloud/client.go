// Package kraftcloud is a typed client for the KraftCloud (Unikraft Cloud) v1 REST API.
package kraftcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cloudflow/cloudflow/clients/apicall"
	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
)

// ErrInvalidArgument is wrapped by every error the client returns for an
// argument it rejects before making a request. Such errors are never worth
// retrying: match them with errors.Is.
var ErrInvalidArgument = errors.New("invalid argument")

// Client talks to one KraftCloud metro (or simulator) with one API token. It
// is safe for concurrent use. The client never retries: retries belong to the
// caller (Temporal), because the API has no idempotency key.
type Client struct {
	Instances     *InstancesService
	ServiceGroups *ServiceGroupsService
	Volumes       *VolumesService
	Autoscale     *AutoscaleService

	rawBaseURL string
	api        apihttp.Client
	token      string
}

// service is the common shape of every XxxService.
type service struct{ client *Client }

// Option configures a Client built by New.
type Option func(*Client)

// WithBaseURL sets the API endpoint, including the version prefix
// (e.g. "https://api.fra0.kraft.cloud/v1" or "http://127.0.0.1:8787/v1").
func WithBaseURL(u string) Option { return func(c *Client) { c.rawBaseURL = u } }

// WithHTTPClient sets the HTTP client used for requests. A nil client is ignored.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.api.SetHTTPClient(hc) } }

// WithToken sets the API token sent as "Authorization: Bearer <token>".
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithUserAgent sets the User-Agent header. An empty value is ignored.
func WithUserAgent(ua string) Option { return func(c *Client) { c.api.SetUserAgent(ua) } }

// WithClock sets the clock that resolves Retry-After dates. A nil clock is ignored.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.api.SetClock(now) } }

// WithObserver sets a function told of every request the client sends: its
// route (never the IDs in its path), status and duration, for metrics. It is
// called on the caller's goroutine once the answer is read.
func WithObserver(o apicall.Observer) Option { return func(c *Client) { c.api.Observer = o } }

// New builds a client. It fails when the token is missing or malformed, or
// when the base URL is not an absolute http(s) URL. The default base URL is
// the DefaultMetro's.
func New(opts ...Option) (*Client, error) {
	c := &Client{
		rawBaseURL: MetroURL(DefaultMetro),
		// No Timeout here: do bounds each request through its context, so
		// a server-side wait longer than apihttp.DefaultTimeout is not cut short.
		api: apihttp.NewClient("kraftcloud", 0),
	}
	c.api.Routes = routes
	apihttp.Apply(c, opts)
	if err := c.api.SetBaseURL(c.rawBaseURL, MetroURL(DefaultMetro)); err != nil {
		return nil, err
	}
	if c.token == "" {
		return nil, fmt.Errorf("kraftcloud: an API token is required (WithToken, %s or %s)", EnvToken, EnvUKCToken)
	}
	if !apihttp.ValidHeaderValue(c.token) {
		// Never quote the token, not even a malformed one.
		return nil, errors.New("kraftcloud: the API token has spaces or control characters (check for a trailing newline)")
	}
	s := service{client: c}
	c.Instances = (*InstancesService)(&s)
	c.ServiceGroups = (*ServiceGroupsService)(&s)
	c.Volumes = (*VolumesService)(&s)
	c.Autoscale = (*AutoscaleService)(&s)
	return c, nil
}

// BaseURL is the endpoint the client talks to, without a trailing slash.
func (c *Client) BaseURL() string { return c.api.BaseURL }

// String describes the client without its token.
func (c Client) String() string {
	return fmt.Sprintf("kraftcloud.Client{BaseURL: %q, UserAgent: %q, Token: %s}", c.api.BaseURL, c.api.UserAgent, apihttp.Redact(c.token))
}

// GoString is String, so %#v redacts too.
func (c Client) GoString() string { return c.String() }

// Format makes every fmt verb print String: fmt would otherwise print the
// unexported fields, token included. The methods have value receivers so
// that a copied Client is redacted too.
func (c Client) Format(f fmt.State, verb rune) { apihttp.FormatRedacted(f, verb, c.String()) }

// request is one call: where it goes, what it sends and which data member of
// the envelope holds its items.
type request struct {
	method     string
	path       string // relative to the base URL, e.g. "instances/start"
	body       any    // nil: no body
	collection string // "instances", "service_groups", ...
	// wait is how long the request asks the server to wait before answering;
	// it extends the implicit deadline of a context that has none.
	wait time.Duration
	// perItem marks a global-scope (batch) call: each item of its answer
	// carries its own outcome, so an answer outside 2xx that holds items is
	// data as well, never one error standing for every item.
	perItem bool
}

// reply is a decoded answer: a 2xx one, or a batch call's answer outside 2xx
// that carries per-item results.
type reply struct {
	statusCode int
	header     http.Header
	method     string
	path       string // URL path, with the version prefix
	env        envelope
}

// errItemsAnswer is how do's error reader hands back an answer outside 2xx
// that is data after all (the items of a batch call); it never leaves do.
var errItemsAnswer = errors.New("kraftcloud: per-item answer")

// do sends one request and decodes the envelope of a 2xx answer. An answer
// outside 2xx becomes an *APIError, unless the request is a batch call and
// the answer carries its items: the reference gives one result per item, and
// a batch in which every item failed still says, item by item, why.
func (c *Client) do(ctx context.Context, r request) (*reply, error) {
	if _, ok := ctx.Deadline(); !ok {
		// A request that asks the server to wait gets that long on top.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, apihttp.DefaultTimeout+r.wait)
		defer cancel()
	}
	req, err := c.api.NewRequest(ctx, r.method, r.path, nil, r.body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	path := req.URL.EscapedPath()
	rep := &reply{method: r.method, path: path}
	resp, err := c.api.Do(req, &rep.env, func(resp *http.Response) error {
		e, env := newAPIError(resp, r, path, c.api.Now())
		if r.perItem && env != nil && hasItems(env, r.collection) {
			rep.statusCode, rep.header, rep.env = resp.StatusCode, resp.Header, *env
			return errItemsAnswer
		}
		return e
	})
	if errors.Is(err, errItemsAnswer) {
		return rep, nil
	}
	if err != nil {
		return nil, err
	}
	rep.statusCode, rep.header = resp.StatusCode, resp.Header
	return rep, nil
}

// decodeItems decodes the collection out of the answer's data member.
func decodeItems[T any](rep *reply, collection string) ([]T, error) {
	raw, ok := rep.env.Data[collection]
	if !ok || apihttp.IsNullJSON(raw) {
		return nil, nil
	}
	var out []T
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("kraftcloud: %s %s: decoding %q: %w", rep.method, rep.path, collection, err)
	}
	return out, nil
}

// call makes the request and returns the reply with its items. An answer
// whose envelope says "error" and that carries no item to explain it becomes
// an *APIError, since there is no per-item result to hand back.
func call[T any](ctx context.Context, c *Client, r request) (*reply, []T, error) {
	rep, err := c.do(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	out, err := decodeItems[T](rep, r.collection)
	if err != nil {
		return nil, nil, err
	}
	if rep.env.Status == StatusError && len(out) == 0 {
		return nil, nil, envelopeError(rep, nil, c.api.Now())
	}
	return rep, out, nil
}

// list makes a request answered with a whole collection.
func list[T any](ctx context.Context, c *Client, r request) ([]T, error) {
	_, out, err := call[T](ctx, c, r)
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []T{}
	}
	return out, nil
}

// batch makes a global-scope request: every item's outcome is data, whatever
// the envelope's status and the HTTP status.
func batch[T any](ctx context.Context, c *Client, r request) (status, message string, out []T, err error) {
	r.perItem = true
	rep, out, err := call[T](ctx, c, r)
	if err != nil {
		return "", "", nil, err
	}
	return rep.env.Status, rep.env.Message, out, nil
}

// statusItem is any item type that embeds ItemStatus.
type statusItem interface{ itemStatus() ItemStatus }

// one makes a local-scope or create request and returns its single item. An
// item whose status is "error" becomes an *APIError, under HTTP 200 too.
func one[T statusItem](ctx context.Context, c *Client, r request) (*T, error) {
	rep, out, err := call[T](ctx, c, r)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("kraftcloud: %s %s: response has no %s", rep.method, rep.path, r.collection)
	}
	item := out[0]
	if st := item.itemStatus(); st.Status == StatusError {
		return nil, envelopeError(rep, &st, c.api.Now())
	}
	return &item, nil
}

// maxWait is the longest of the server-side waits of a batch.
func maxWait[T any](reqs []T, ms func(T) int) time.Duration {
	var longest int
	for _, r := range reqs {
		longest = max(longest, ms(r))
	}
	return msDuration(longest)
}

// msDuration converts a millisecond count of the API to a duration.
func msDuration(ms int) time.Duration { return time.Duration(max(ms, 0)) * time.Millisecond }
