// Package apihttp is the HTTP plumbing that cloudflow's typed cloud API clients share.
package apihttp

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

	"github.com/cloudflow/cloudflow/clients/apicall"
)

const (
	// DefaultUserAgent is the User-Agent of a client given none.
	DefaultUserAgent = "cloudflow"
	// DefaultTimeout bounds one request, so a stalled connection cannot hang
	// a caller: ample for one API call, which answers in well under a
	// second, and short enough that the activities' attempt timeout can
	// match it (workflows/options.go), so that a call lost with its worker
	// is retried elsewhere within seconds. Each cloud's client decides how
	// it applies it (KraftCloud adds the server-side wait a request asks for).
	DefaultTimeout = 10 * time.Second

	mediaTypeJSON = "application/json"
)

// Client sends JSON requests to one API endpoint. A cloud's client holds
// one, adds its own authentication to each request and turns error answers
// into its own error type. It never retries: retries belong to the caller.
type Client struct {
	// Name starts every error message, e.g. "crusoe".
	Name string
	// BaseURL is the endpoint as NormalizeBaseURL returns it.
	BaseURL    string
	HTTPClient *http.Client
	UserAgent  string
	// Now is the clock of request signatures and Retry-After dates.
	Now func() time.Time
	// Routes names the API's calls for Observer; nil names each "<METHOD> other".
	Routes *Routes
	// Observer, when set, is told of every request Do sends.
	Observer apicall.Observer
}

// NewClient is a Client named name with the defaults: its own HTTP client,
// whose Timeout is timeout (0: none, for a client that bounds each request
// through its context instead), DefaultUserAgent and time.Now. Its BaseURL
// is set by SetBaseURL once the options are applied.
func NewClient(name string, timeout time.Duration) Client {
	return Client{
		Name:       name,
		HTTPClient: &http.Client{Timeout: timeout},
		UserAgent:  DefaultUserAgent,
		Now:        time.Now,
	}
}

// Apply calls every option that is not nil on c, in order: the loop of each
// client's New.
func Apply[C any, O ~func(*C)](c *C, opts []O) {
	for _, opt := range opts {
		if opt != nil {
			opt(c)
		}
	}
}

// SetBaseURL sets BaseURL to raw (fallback when blank) as NormalizeBaseURL
// returns it. Its error starts with the client's name and never shows a
// password.
func (c *Client) SetBaseURL(raw, fallback string) error {
	base, err := NormalizeBaseURL(raw, fallback)
	if err != nil {
		return fmt.Errorf("%s: %w", c.Name, err)
	}
	c.BaseURL = base
	return nil
}

// SetHTTPClient sets the HTTP client, ignoring nil so that an option given
// nil keeps the default.
func (c *Client) SetHTTPClient(hc *http.Client) {
	if hc != nil {
		c.HTTPClient = hc
	}
}

// SetUserAgent sets the User-Agent, ignoring an empty value.
func (c *Client) SetUserAgent(ua string) {
	if ua != "" {
		c.UserAgent = ua
	}
}

// SetClock sets the clock, ignoring nil.
func (c *Client) SetClock(now func() time.Time) {
	if now != nil {
		c.Now = now
	}
}

// NormalizeBaseURL checks that raw (fallback when blank) is an absolute
// http(s) URL without user info, query or fragment, and returns it without
// a trailing slash. Its errors never show a password; the caller prefixes
// them with its name.
func NormalizeBaseURL(raw, fallback string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = fallback
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("invalid base URL %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("invalid base URL %q: want an absolute http or https URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("invalid base URL %q: it may not carry user info, a query or a fragment", u.Redacted())
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// NewRequest builds a request to BaseURL/relPath?query that sends in as JSON
// when it is not nil, with the Accept, Content-Type and User-Agent headers
// set. Authentication is the caller's to add; req.URL.EscapedPath() is the
// path to sign and to name in errors.
func (c *Client) NewRequest(ctx context.Context, method, relPath string, query url.Values, in any) (*http.Request, error) {
	u, err := url.Parse(c.BaseURL + "/" + relPath)
	if err != nil {
		return nil, fmt.Errorf("%s: building URL for %s: %w", c.Name, relPath, err)
	}
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	path := u.EscapedPath()

	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %s %s: encoding request: %w", c.Name, method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%s: %s %s: %w", c.Name, method, path, err)
	}
	req.Header.Set("Accept", mediaTypeJSON)
	if in != nil {
		req.Header.Set("Content-Type", mediaTypeJSON)
	}
	req.Header.Set("User-Agent", c.UserAgent)
	return req, nil
}

// Do sends req once. A 2xx answer's JSON body is decoded into out when out
// is not nil (an empty body leaves out as it is), and the response is
// returned, its body closed, for its status and headers. Any other answer
// is handed to apiError, which reads it into the client's own error type,
// and Do returns that error. A transport error names the method and path
// but not the whole URL. The Observer, if any, hears of the call once its
// answer has been read.
func (c *Client) Do(req *http.Request, out any, apiError func(*http.Response) error) (*http.Response, error) {
	path := req.URL.EscapedPath()
	start, status := time.Now(), 0
	defer func() { c.observe(req, status, start) }()
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		// url.Error repeats the method and full URL; keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s: %s %s: %w", c.Name, req.Method, path, err)
	}
	defer resp.Body.Close()
	status = resp.StatusCode

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, apiError(resp)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %s %s: decoding response: %w", c.Name, req.Method, path, err)
		}
	}
	// Drain a little so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxErrorBody))
	return resp, nil
}

// IsNullJSON reports whether raw is empty or JSON null: a member that is
// there but holds nothing.
func IsNullJSON(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}
