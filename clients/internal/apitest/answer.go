package apitest

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// RoundTrip makes an Answer a transport too: it answers r with no network
// in between, so that fuzz tests of the clients' decoding can hand a client
// whatever status, headers and body the fuzzer makes, thousands a second.
func (a *Answer) RoundTrip(r *http.Request) (*http.Response, error) {
	a.hits.Add(1)
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	h := http.Header{}
	for k, v := range a.Header {
		h.Set(k, v)
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(a.Body)), Request: r}, nil
}

// CheckAnswerError checks the error a client made of an Answer of status:
// it never shows secret; an API error of the client's own type (described
// by apiStatus, retryAfter and message, when isAPI) carries the status that
// came, a Retry-After that is not negative and a message without padding.
func CheckAnswerError(t *testing.T, err error, secret string, status int, isAPI bool, apiStatus int, retryAfter time.Duration, message string) {
	t.Helper()
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("the secret is in an error: %v", err)
	}
	if !isAPI {
		return
	}
	if apiStatus != status {
		t.Fatalf("API error with status %d for an answer of %d: %v", apiStatus, status, err)
	}
	if retryAfter < 0 || message != strings.TrimSpace(message) {
		t.Fatalf("API error with Retry-After %s, message %q", retryAfter, message)
	}
}
