// Package kraftcloud is a typed client for the KraftCloud (Unikraft Cloud) v1 REST API.
package kraftcloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	defaultUserAgent = "cloudflow"
	// defaultTimeout bounds a request whose context has no deadline, so a
	// stalled connection cannot hang a caller forever. A request that asks the
	// server to wait (wait_timeout_ms, timeout_ms) gets that long on top.
	defaultTimeout = 60 * time.Second
	mediaTypeJSON  = "application/json"
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
	baseURL    string // validated, without a trailing slash
	httpClient *http.Client
	token      string
	userAgent  string
	now        func() time.Time
}

// service is the common shape of every XxxService.
type service struct{ client *Client }

// Option configures a Client built by New.
type Option func(*Client)

// WithBaseURL sets the API endpoint, including the version prefix
// (e.g. "https://api.fra0.kraft.cloud/v1" or "http://127.0.0.1:8787/v1").
func WithBaseURL(u string) Option { return func(c *Client) { c.rawBaseURL = u } }

// WithHTTPClient sets the HTTP client used for requests. A nil client is ignored.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// WithToken sets the API token sent as "Authorization: Bearer <token>".
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithUserAgent sets the User-Agent header. An empty value is ignored.
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua != "" {
			c.userAgent = ua
		}
	}
}

// WithClock sets the clock that resolves Retry-After dates. A nil clock is ignored.
func WithClock(now func() time.Time) Option {
	return func(c *Client) {
		if now != nil {
			c.now = now
		}
	}
}

// New builds a client. It fails when the token is missing or malformed, or
// when the base URL is not an absolute http(s) URL. The default base URL is
// the DefaultMetro's.
func New(opts ...Option) (*Client, error) {
	c := &Client{
		rawBaseURL: MetroURL(DefaultMetro),
		// No Timeout here: do bounds each request through its context, so a
		// server-side wait longer than defaultTimeout is not cut short.
		httpClient: &http.Client{},
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
	if c.token == "" {
		return nil, fmt.Errorf("kraftcloud: an API token is required (WithToken, %s or %s)", EnvToken, EnvUKCToken)
	}
	if !validToken(c.token) {
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
func (c *Client) BaseURL() string { return c.baseURL }

// String describes the client without its token.
func (c Client) String() string {
	return fmt.Sprintf("kraftcloud.Client{BaseURL: %q, UserAgent: %q, Token: %s}", c.baseURL, c.userAgent, redact(c.token))
}

// GoString is String, so %#v redacts too.
func (c Client) GoString() string { return c.String() }

// Format makes every fmt verb print String: fmt would otherwise print the
// unexported fields, token included. The methods have value receivers so
// that a copied Client is redacted too.
func (c Client) Format(f fmt.State, verb rune) {
	s := c.String()
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	_, _ = io.WriteString(f, s)
}

// validToken accepts visible ASCII only, which is what a header value may
// carry without surprises.
func validToken(t string) bool {
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] > '~' {
			return false
		}
	}
	return true
}

func normalizeBaseURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = MetroURL(DefaultMetro)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("kraftcloud: invalid base URL %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("kraftcloud: invalid base URL %q: want an absolute http or https URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("kraftcloud: invalid base URL %q: it may not carry user info, a query or a fragment", u.Redacted())
	}
	return strings.TrimRight(u.String(), "/"), nil
}

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
}

// reply is a decoded 2xx answer.
type reply struct {
	statusCode int
	header     http.Header
	method     string
	path       string // URL path, with the version prefix
	env        envelope
}

// do sends one request and decodes the envelope of a 2xx answer. A non-2xx
// answer becomes an *APIError.
func (c *Client) do(ctx context.Context, r request) (*reply, error) {
	u, err := url.Parse(c.baseURL + "/" + r.path)
	if err != nil {
		return nil, fmt.Errorf("kraftcloud: building URL for %s: %w", r.path, err)
	}
	path := u.EscapedPath()

	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("kraftcloud: %s %s: encoding request: %w", r.method, path, err)
		}
		body = bytes.NewReader(b)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout+r.wait)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("kraftcloud: %s %s: %w", r.method, path, err)
	}
	req.Header.Set("Accept", mediaTypeJSON)
	if r.body != nil {
		req.Header.Set("Content-Type", mediaTypeJSON)
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Authorization", "Bearer "+c.token)

	resp, err := c.httpClient.Do(req)
	if err != nil {
		// url.Error repeats the method and full URL; keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("kraftcloud: %s %s: %w", r.method, path, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, newAPIError(resp, r.method, path, r.collection, c.now())
	}
	rep := &reply{statusCode: resp.StatusCode, header: resp.Header, method: r.method, path: path}
	if err := json.NewDecoder(resp.Body).Decode(&rep.env); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("kraftcloud: %s %s: decoding response: %w", r.method, path, err)
	}
	// Drain a little so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	return rep, nil
}

// decodeItems decodes the collection out of the answer's data member.
func decodeItems[T any](rep *reply, collection string) ([]T, error) {
	raw, ok := rep.env.Data[collection]
	if !ok || isNull(raw) {
		return nil, nil
	}
	var out []T
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("kraftcloud: %s %s: decoding %q: %w", rep.method, rep.path, collection, err)
	}
	return out, nil
}

// call makes the request and returns the reply with its items. A 2xx answer
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
		return nil, nil, envelopeError(rep, nil, c.now())
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
// the envelope's status.
func batch[T any](ctx context.Context, c *Client, r request) (status, message string, out []T, err error) {
	rep, out, err := call[T](ctx, c, r)
	if err != nil {
		return "", "", nil, err
	}
	return rep.env.Status, rep.env.Message, out, nil
}

// statusItem is any item type that embeds ItemStatus.
type statusItem interface{ itemStatus() ItemStatus }

// one makes a local-scope or create request and returns its single item. An
// item whose status is "error" becomes an *APIError even under HTTP 200.
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
		return nil, envelopeError(rep, &st, c.now())
	}
	return &item, nil
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
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
