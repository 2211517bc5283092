package crusoe

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
)

// APIError is an answer outside 2xx. Match it with errors.As, or use
// IsNotFound and IsConflict.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code, ErrorID, Message and Reason come from the JSON error body. Message
	// keeps only the useful part of gRPC-style text ("rpc error: code = X desc = Y"
	// gives Y); a body that is not JSON becomes the Message, trimmed.
	Code    string
	ErrorID string
	Message string
	Reason  string
	// RequestID is the X-Request-Id or X-Crusoe-Request-Id header, if any.
	RequestID string
	// RetryAfter is the server's Retry-After header (seconds or HTTP date), or zero.
	RetryAfter time.Duration
	// Method and Path identify the request (Path is the URL path, without query).
	Method string
	Path   string
}

func (e *APIError) Error() string {
	return apihttp.ErrorText("crusoe", e.Method, e.Path, e.StatusCode, e.Message, e.RetryAfter,
		"code", e.Code, "reason", e.Reason, "error_id", e.ErrorID, "request_id", e.RequestID)
}

// IsNotFound reports whether err is an *APIError with status 404.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is an *APIError with status 409.
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

func hasStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == status
}

// errorBody is the API's error answer. Code is a string in the reference
// ("400") but is accepted as a number too.
type errorBody struct {
	Code    flexString `json:"code"`
	ErrorID string     `json:"error_id"`
	Message string     `json:"message"`
	Reason  string     `json:"reason"`
}

// flexString decodes a JSON string or number into a string.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

func newAPIError(resp *http.Response, method, path string, now time.Time) *APIError {
	e := &APIError{
		StatusCode: resp.StatusCode,
		Method:     method,
		Path:       path,
		RetryAfter: apihttp.ParseRetryAfter(resp.Header, now),
		RequestID:  apihttp.RequestID(resp.Header, "X-Crusoe-Request-Id"),
	}
	raw := apihttp.ReadErrorBody(resp.Body)
	var body errorBody
	if err := json.Unmarshal(raw, &body); err == nil && body != (errorBody{}) {
		e.Code, e.ErrorID, e.Reason = string(body.Code), body.ErrorID, body.Reason
		var rpcCode string
		e.Message, rpcCode = cleanRPCMessage(body.Message)
		if e.Code == "" {
			e.Code = rpcCode
		}
	} else {
		// Not JSON, or JSON of another shape: the text is the best message there is.
		e.Message = strings.TrimSpace(string(raw))
	}
	return e
}

// cleanRPCMessage turns "rpc error: code = NotFound desc = vm not found" (or
// "rpc code = ... desc = ...") into "vm not found", also returning the gRPC code.
// Other messages are returned trimmed.
func cleanRPCMessage(msg string) (clean, rpcCode string) {
	msg = strings.TrimSpace(msg)
	before, desc, ok := strings.Cut(msg, "desc = ")
	if !ok {
		return msg, ""
	}
	_, code, ok := strings.Cut(before, "code = ")
	if !ok {
		return msg, ""
	}
	return strings.TrimSpace(desc), strings.TrimSpace(code)
}
