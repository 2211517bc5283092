package apihttp

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestReadErrorBody(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	if got := ReadErrorBody(strings.NewReader(big)); string(got) != big[:64<<10] {
		t.Errorf("read %d bytes, want the first 64 KiB", len(got))
	}
	if got := ReadErrorBody(strings.NewReader("short")); string(got) != "short" {
		t.Errorf("read %q", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 1, 2, 15, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		value string // "" leaves the header out
		want  time.Duration
	}{
		{"missing", "", 0},
		{"seconds", "7", 7 * time.Second},
		{"padded seconds", " 12 ", 12 * time.Second},
		{"zero", "0", 0},
		{"negative", "-3", 0},
		{"huge is capped", "99999999999999999", 100 * 365 * 24 * time.Hour},
		{"date", now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{"date in the past", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"garbage", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.value != "" {
				h.Set("Retry-After", tt.value)
			}
			if got := ParseRetryAfter(h, now); got != tt.want {
				t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.value, got, tt.want)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	both := http.Header{"X-Request-Id": {"std"}, "X-Cloud-Request-Id": {"own"}}
	own := http.Header{"X-Cloud-Request-Id": {"own"}}
	for _, tt := range []struct {
		h      http.Header
		others []string
		want   string
	}{
		{both, []string{"X-Cloud-Request-Id"}, "std"},
		{own, []string{"X-Other", "X-Cloud-Request-Id"}, "own"},
		{own, nil, ""},
		{http.Header{}, []string{"X-Cloud-Request-Id"}, ""},
	} {
		if got := RequestID(tt.h, tt.others...); got != tt.want {
			t.Errorf("RequestID(%v, %q) = %q, want %q", tt.h, tt.others, got, tt.want)
		}
	}
}

func TestCodeDetail(t *testing.T) {
	if got := CodeDetail(0); got != "" {
		t.Errorf("CodeDetail(0) = %q, want it left out", got)
	}
	if got := CodeDetail(2012); got != "2012" {
		t.Errorf("CodeDetail(2012) = %q", got)
	}
	if got := ErrorText("cloud", "GET", "/v1/x", 404, "gone", 0, "code", CodeDetail(0)); got != "cloud: GET /v1/x: 404 Not Found: gone" {
		t.Errorf("ErrorText with code 0 = %q", got)
	}
}

func TestErrorText(t *testing.T) {
	for _, tt := range []struct {
		name       string
		message    string
		retryAfter time.Duration
		details    []string
		want       string
	}{
		{"bare", "", 0, nil, "cloud: GET /v1/x: 401 Unauthorized"},
		{"message", "no such thing", 0, []string{"code", "", "request_id", ""}, "cloud: GET /v1/x: 401 Unauthorized: no such thing"},
		{"details in order, empty ones left out", "m", 0, []string{"code", "8", "reason", "", "request_id", "r-1"},
			"cloud: GET /v1/x: 401 Unauthorized: m (code 8, request_id r-1)"},
		{"retry after last", "", 7 * time.Second, []string{"code", "429"}, "cloud: GET /v1/x: 401 Unauthorized (code 429, retry after 7s)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorText("cloud", "GET", "/v1/x", 401, tt.message, tt.retryAfter, tt.details...); got != tt.want {
				t.Errorf("ErrorText = %q\nwant        %q", got, tt.want)
			}
		})
	}
	defer func() {
		if recover() == nil {
			t.Error("an odd number of details did not panic")
		}
	}()
	ErrorText("cloud", "GET", "/", 500, "", 0, "code")
}
