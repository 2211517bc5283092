package apihttp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestNormalizeBaseURL(t *testing.T) {
	const fallback = "https://api.example.com/v1"
	for _, tt := range []struct{ raw, want string }{
		{"", fallback},
		{"  ", fallback},
		{"http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080/v1"},
		{" https://api.example.com/v2 ", "https://api.example.com/v2"},
		{"https://api.example.com", "https://api.example.com"},
	} {
		got, err := NormalizeBaseURL(tt.raw, fallback)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeBaseURL(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ name, raw, want string }{
		{"relative", "/v1", "want an absolute http or https URL"},
		{"ftp", "ftp://example.com/v1", "want an absolute http or https URL"},
		{"no host", "https:///v1", "want an absolute http or https URL"},
		{"unparsable", "http://[::1", `invalid base URL "http://[::1": `},
		{"query", "https://example.com/v1?x=1", "may not carry user info, a query or a fragment"},
		{"fragment", "https://example.com/v1#top", "may not carry user info, a query or a fragment"},
		{"user info", "https://user:hunter2@example.com/v1", "user info"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeBaseURL(tt.raw, fallback)
			if err == nil {
				t.Fatalf("NormalizeBaseURL(%q) = %q, want an error", tt.raw, got)
			}
			if !strings.HasPrefix(err.Error(), "invalid base URL ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestSettersIgnoreZeroValues(t *testing.T) {
	hc := &http.Client{}
	now := func() time.Time { return time.Unix(0, 0) }
	c := Client{HTTPClient: hc, UserAgent: "ua", Now: now}
	c.SetHTTPClient(nil)
	c.SetUserAgent("")
	c.SetClock(nil)
	if c.HTTPClient != hc || c.UserAgent != "ua" || c.Now == nil || !c.Now().Equal(now()) {
		t.Errorf("zero values replaced the settings: %+v", c)
	}
	hc2 := &http.Client{}
	c.SetHTTPClient(hc2)
	c.SetUserAgent("ua/2")
	c.SetClock(time.Now)
	if c.HTTPClient != hc2 || c.UserAgent != "ua/2" || c.Now().Equal(now()) {
		t.Errorf("settings not applied: %+v", c)
	}
}

func TestNewClientAndApply(t *testing.T) {
	type opt func(*Client)
	c := NewClient("cloud", 5*time.Second)
	if c.Name != "cloud" || c.HTTPClient == nil || c.HTTPClient.Timeout != 5*time.Second || c.UserAgent != "cloudflow" || c.Now == nil {
		t.Errorf("NewClient = %+v", c)
	}
	if other := NewClient("cloud", 0); other.HTTPClient == c.HTTPClient || other.HTTPClient.Timeout != 0 {
		t.Error("clients share an HTTP client, or a zero timeout was not kept")
	}
	var calls []string
	Apply(&c, []opt{
		func(c *Client) { calls = append(calls, "ua"); c.SetUserAgent("ua/1") },
		nil,
		func(c *Client) { calls = append(calls, "again"); c.SetUserAgent("ua/2") },
	})
	if c.UserAgent != "ua/2" || len(calls) != 2 || calls[0] != "ua" {
		t.Errorf("Apply: calls %q, user agent %q", calls, c.UserAgent)
	}
}

func TestSetBaseURL(t *testing.T) {
	c := NewClient("cloud", 0)
	if err := c.SetBaseURL(" http://127.0.0.1:8787/v1/ ", "https://api.example.com/v1"); err != nil || c.BaseURL != "http://127.0.0.1:8787/v1" {
		t.Errorf("SetBaseURL = %v, base %q", err, c.BaseURL)
	}
	if err := c.SetBaseURL("", "https://api.example.com/v1"); err != nil || c.BaseURL != "https://api.example.com/v1" {
		t.Errorf("SetBaseURL(blank) = %v, base %q", err, c.BaseURL)
	}
	err := c.SetBaseURL("https://user:hunter2@example.com/v1", "")
	if err == nil || !strings.HasPrefix(err.Error(), `cloud: invalid base URL "https://user:xxxxx@example.com/v1"`) {
		t.Errorf("SetBaseURL with a password: err = %v", err)
	}
	if c.BaseURL != "https://api.example.com/v1" {
		t.Errorf("a rejected URL replaced the base URL: %q", c.BaseURL)
	}
}

// newTestClient serves handler and returns a Client for it under /v1.
func newTestClient(t *testing.T, handler http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return &Client{Name: "test", BaseURL: srv.URL + "/v1", HTTPClient: srv.Client(), UserAgent: "ua/1", Now: time.Now}
}

func TestNewRequest(t *testing.T) {
	c := &Client{Name: "test", BaseURL: "http://127.0.0.1:1/v1", UserAgent: "ua/1"}
	ctx := context.Background()

	req, err := c.NewRequest(ctx, http.MethodGet, "things/a%2Fb", url.Values{"limit": {"2"}, "q": {"a b"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := req.URL.String(), "http://127.0.0.1:1/v1/things/a%2Fb?limit=2&q=a+b"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if got := req.URL.EscapedPath(); got != "/v1/things/a%2Fb" {
		t.Errorf("EscapedPath = %q", got)
	}
	if req.Body != nil || req.Header.Get("Content-Type") != "" {
		t.Errorf("a request without a body has body %v, Content-Type %q", req.Body, req.Header.Get("Content-Type"))
	}
	if req.Header.Get("Accept") != "application/json" || req.Header.Get("User-Agent") != "ua/1" {
		t.Errorf("headers = %v", req.Header)
	}

	req, err = c.NewRequest(ctx, http.MethodPost, "things", nil, map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	if string(body) != `{"n":1}` || req.Header.Get("Content-Type") != "application/json" || req.URL.RawQuery != "" {
		t.Errorf("body %s, Content-Type %q, query %q", body, req.Header.Get("Content-Type"), req.URL.RawQuery)
	}

	if _, err := c.NewRequest(ctx, http.MethodPost, "things", nil, math.Inf(1)); err == nil ||
		!strings.HasPrefix(err.Error(), "test: POST /v1/things: encoding request: ") {
		t.Errorf("unencodable body: err = %v", err)
	}
	if _, err := c.NewRequest(ctx, http.MethodGet, "bad%zz", nil, nil); err == nil ||
		!strings.HasPrefix(err.Error(), "test: building URL for bad%zz: ") {
		t.Errorf("bad path: err = %v", err)
	}
	if _, err := c.NewRequest(ctx, "BAD METHOD", "things", nil, nil); err == nil ||
		!strings.HasPrefix(err.Error(), "test: BAD METHOD /v1/things: ") {
		t.Errorf("bad method: err = %v", err)
	}
}

// apiError is a client's own error type, as Do's callback builds it.
type apiError struct {
	status int
	body   string
}

func (e *apiError) Error() string { return "api error" }

func readAPIError(resp *http.Response) error {
	return &apiError{status: resp.StatusCode, body: string(ReadErrorBody(resp.Body))}
}

func TestDo(t *testing.T) {
	ctx := context.Background()
	send := func(t *testing.T, c *Client, out any) (*http.Response, error) {
		t.Helper()
		req, err := c.NewRequest(ctx, http.MethodGet, "things", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Do(req, out, readAPIError)
	}

	t.Run("2xx decoded", func(t *testing.T) {
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", "r-1")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"name":"a"}`)
		})
		var out struct{ Name string }
		resp, err := send(t, c, &out)
		if err != nil || out.Name != "a" || resp.StatusCode != http.StatusCreated || resp.Header.Get("X-Request-Id") != "r-1" {
			t.Errorf("Do = %+v, %v; out %+v", resp, err, out)
		}
	})
	t.Run("empty 2xx body leaves out alone", func(t *testing.T) {
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
		out := map[string]string{"kept": "yes"}
		if _, err := send(t, c, &out); err != nil || out["kept"] != "yes" {
			t.Errorf("err %v, out %v", err, out)
		}
	})
	t.Run("nil out ignores the body", func(t *testing.T) {
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "not JSON") })
		if _, err := send(t, c, nil); err != nil {
			t.Error(err)
		}
	})
	t.Run("truncated JSON", func(t *testing.T) {
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"name":`) })
		var out any
		if _, err := send(t, c, &out); err == nil || !strings.HasPrefix(err.Error(), "test: GET /v1/things: decoding response: ") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("non-2xx goes to the callback", func(t *testing.T) {
		hits := 0
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			hits++
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "busy")
		})
		var out any
		resp, err := send(t, c, &out)
		var ae *apiError
		if resp != nil || !errors.As(err, &ae) || ae.status != 503 || ae.body != "busy" {
			t.Errorf("Do = %v, %v", resp, err)
		}
		if hits != 1 {
			t.Errorf("%d requests, want 1: Do never retries", hits)
		}
	})
	t.Run("transport error names method and path only", func(t *testing.T) {
		c := &Client{Name: "test", BaseURL: "http://127.0.0.1:1/v1", HTTPClient: &http.Client{}}
		req, err := c.NewRequest(ctx, http.MethodGet, "things", url.Values{"token": {"s3cret"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Do(req, nil, readAPIError)
		if err == nil || !strings.HasPrefix(err.Error(), "test: GET /v1/things: ") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("err = %v", err)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			t.Errorf("err %v still wraps the *url.Error", err)
		}
	})
	t.Run("canceled context", func(t *testing.T) {
		c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { t.Error("unexpected request") })
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		req, err := c.NewRequest(canceled, http.MethodGet, "things", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Do(req, nil, readAPIError); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

func TestIsNullJSON(t *testing.T) {
	for raw, want := range map[string]bool{"": true, " null ": true, "null": true, "{}": false, "[]": false, `"null"`: false} {
		if got := IsNullJSON(json.RawMessage(raw)); got != want {
			t.Errorf("IsNullJSON(%q) = %v", raw, got)
		}
	}
}
