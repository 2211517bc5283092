package apihttp

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxErrorBody bounds how much of an error answer is read.
const MaxErrorBody = 64 << 10

// ReadErrorBody reads an error answer's body, at most MaxErrorBody of it. A
// read error just ends the body early: the status says enough.
func ReadErrorBody(body io.Reader) []byte {
	raw, _ := io.ReadAll(io.LimitReader(body, MaxErrorBody))
	return raw
}

// maxRetryAfter caps a Retry-After in seconds, so that an absurd value
// cannot overflow a time.Duration.
const maxRetryAfter = 100 * 365 * 24 * time.Hour

// ParseRetryAfter reads h's Retry-After: delay seconds, or an HTTP date
// taken relative to now. It is zero when the header is missing, unreadable,
// not positive or in the past.
func ParseRetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// RequestID is h's X-Request-Id, else the first of the cloud's own headers
// named in others that is set.
func RequestID(h http.Header, others ...string) string {
	for _, name := range append([]string{"X-Request-Id"}, others...) {
		if id := h.Get(name); id != "" {
			return id
		}
	}
	return ""
}

// CodeDetail is a numeric error code as a detail of ErrorText: "" (left
// out) when it is 0, the code's absence.
func CodeDetail(code int) string {
	if code == 0 {
		return ""
	}
	return strconv.Itoa(code)
}

// ErrorText is the message of a client's API error:
//
//	<name>: <method> <path>: <status> <status text>[: <message>][ (<details>)]
//
// where details are the key, value pairs of details whose value is set, in
// order, then "retry after <d>" when retryAfter is positive.
func ErrorText(name, method, path string, status int, message string, retryAfter time.Duration, details ...string) string {
	if len(details)%2 != 0 {
		panic(fmt.Sprintf("apihttp: ErrorText(%q) needs key/value pairs", name))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s: %d %s", name, method, path, status, http.StatusText(status))
	if message != "" {
		b.WriteString(": ")
		b.WriteString(message)
	}
	var set []string
	for i := 0; i < len(details); i += 2 {
		if details[i+1] != "" {
			set = append(set, details[i]+" "+details[i+1])
		}
	}
	if retryAfter > 0 {
		set = append(set, "retry after "+retryAfter.String())
	}
	if len(set) > 0 {
		b.WriteString(" (" + strings.Join(set, ", ") + ")")
	}
	return b.String()
}
