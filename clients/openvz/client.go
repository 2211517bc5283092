// Package openvz is a typed client for the OpenVZ container API v0.1, whose
// container creates are enqueued as jobs.
package openvz

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

// DefaultBaseURL is the endpoint the reference's examples use.
const DefaultBaseURL = "http://localhost:5000/v0.1"

// ErrInvalidArgument is wrapped by every error the client returns for an
// argument it rejects before making a request. Such errors are never worth
// retrying: match them with errors.Is.
var ErrInvalidArgument = errors.New("invalid argument")

// Client talks to one container API endpoint. The API has no authentication.
// It is safe for concurrent use. The client never retries: retries belong to
// the caller (Temporal), because the API has no idempotency key.
type Client struct {
	Containers *ContainersService
	Jobs       *JobsService

	rawBaseURL string
	api        apihttp.Client
}

// service is the common shape of every XxxService.
type service struct{ client *Client }

// Option configures a Client built by New.
type Option func(*Client)

// WithBaseURL sets the API endpoint, including the version prefix
// (e.g. "http://ct-host:5000/v0.1" or a simulator's "http://127.0.0.1:8787/v0.1").
func WithBaseURL(u string) Option { return func(c *Client) { c.rawBaseURL = u } }

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

// New builds a client. It fails when the base URL is not an absolute http(s)
// URL; an empty one means DefaultBaseURL.
func New(opts ...Option) (*Client, error) {
	c := &Client{
		rawBaseURL: DefaultBaseURL,
		// Every call answers at once (creates are enqueued), so the HTTP
		// client's own timeout can bound every request.
		api: apihttp.NewClient("openvz", apihttp.DefaultTimeout),
	}
	c.api.Routes = routes
	apihttp.Apply(c, opts)
	if err := c.api.SetBaseURL(c.rawBaseURL, DefaultBaseURL); err != nil {
		return nil, err
	}
	s := service{client: c}
	c.Containers = (*ContainersService)(&s)
	c.Jobs = (*JobsService)(&s)
	return c, nil
}

// BaseURL is the endpoint the client talks to, without a trailing slash.
func (c *Client) BaseURL() string { return c.api.BaseURL }

// argErrors builds the errors of the arguments the client rejects.
var argErrors = apihttp.ArgErrors{Name: "openvz", Sentinel: ErrInvalidArgument}

// invalid builds an ErrInvalidArgument error.
func invalid(format string, args ...any) error { return argErrors.Invalid(format, args...) }

// checkID rejects an empty ID or one that would change the shape of the URL
// path it is put in. The API's IDs are UUIDs, but any path-safe string is
// sent: the server is the judge of what exists.
func checkID(field, id string) error { return argErrors.ID(field, id) }

// statusBody is the part every answer may carry: {"message": ..., "code": ...}.
type statusBody struct {
	Message string `json:"message"`
	Code    *int   `json:"code"`
}

// do sends one request to baseURL/relPath and decodes a JSON answer into out
// (when out is not nil). A non-2xx answer becomes an *APIError, and so does a
// 2xx answer whose "code" is present and not 0 (the reference answers
// success with code 0), since its body then holds an error, not the result.
func (c *Client) do(ctx context.Context, method, relPath string, in, out any) error {
	req, err := c.api.NewRequest(ctx, method, relPath, nil, in)
	if err != nil {
		return err
	}
	path := req.URL.EscapedPath()
	var raw json.RawMessage
	resp, err := c.api.Do(req, &raw, func(resp *http.Response) error {
		return newAPIError(resp, method, path, c.api.Now())
	})
	if err != nil {
		return err
	}
	var st statusBody
	if json.Unmarshal(raw, &st) == nil && st.Code != nil && *st.Code != 0 {
		return &APIError{
			StatusCode: resp.StatusCode, Code: *st.Code, Message: strings.TrimSpace(st.Message),
			RequestID: apihttp.RequestID(resp.Header), RetryAfter: apihttp.ParseRetryAfter(resp.Header, c.api.Now()),
			Method: method, Path: path,
		}
	}
	if out == nil || apihttp.IsNullJSON(raw) {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("openvz: %s %s: decoding response: %w", method, path, err)
	}
	return nil
}

// malformed reports a 2xx answer that does not hold what the call returns.
func (c *Client) malformed(method, relPath, format string, args ...any) error {
	path := relPath
	if u, err := url.Parse(c.api.BaseURL + "/" + relPath); err == nil {
		path = u.EscapedPath()
	}
	return fmt.Errorf("openvz: %s %s: %s", method, path, fmt.Sprintf(format, args...))
}
