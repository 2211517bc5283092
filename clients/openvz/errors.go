package openvz

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
)

// Error codes of the {code, message} error body. The reference names 100 (a
// bad request, HTTP 400) and 200 (an internal error, HTTP 500); it gives none
// for a duplicate name (HTTP 422) or a missing container or job (HTTP 404),
// so CodeDuplicateName and CodeNotFound are the values cloudflow's simulator
// (cloudsim) uses. Match the cases with IsDuplicate and IsNotFound, which go
// by HTTP status, rather than by these codes.
const (
	CodeInvalidRequest = 100
	CodeDuplicateName  = 101
	CodeNotFound       = 102
	CodeInternal       = 200
)

// APIError is an answer outside 2xx, or a 2xx answer whose body carries a
// non-zero "code" (then StatusCode is that 2xx status). Match it with
// errors.As, or use IsNotFound and IsDuplicate.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code and Message come from the {code, message} body; Code is 0 when the
	// body has none. A body that is not JSON becomes the Message, trimmed.
	Code    int
	Message string
	// RequestID is the X-Request-Id header, if any.
	RequestID string
	// RetryAfter is the server's Retry-After header (seconds or HTTP date), or zero.
	RetryAfter time.Duration
	// Method and Path identify the request (Path is the URL path, with /v0.1).
	Method string
	Path   string
}

func (e *APIError) Error() string {
	return apihttp.ErrorText("openvz", e.Method, e.Path, e.StatusCode, e.Message, e.RetryAfter,
		"code", apihttp.CodeDetail(e.Code), "request_id", e.RequestID)
}

// IsNotFound reports whether err is an *APIError with HTTP status 404: no
// such container (or not yet: a container exists only once its job is done)
// or no such job.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsDuplicate reports whether err is an *APIError with HTTP status 422, which
// the API answers to a create whose container name is taken.
func IsDuplicate(err error) bool { return hasStatus(err, http.StatusUnprocessableEntity) }

func hasStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == status
}

// errorBody is the API's error answer. A code sent as a string is accepted too.
type errorBody struct {
	Code    json.Number `json:"code"`
	Message *string     `json:"message"`
}

// newAPIError reads a non-2xx answer, at most apihttp.MaxErrorBody of it.
func newAPIError(resp *http.Response, method, path string, now time.Time) *APIError {
	e := &APIError{
		StatusCode: resp.StatusCode,
		Method:     method,
		Path:       path,
		RetryAfter: apihttp.ParseRetryAfter(resp.Header, now),
		RequestID:  apihttp.RequestID(resp.Header),
	}
	raw := apihttp.ReadErrorBody(resp.Body)
	var body errorBody
	if err := json.Unmarshal(raw, &body); err != nil || (body.Code == "" && body.Message == nil) {
		// Not JSON, or JSON of another shape: the text is the best message there is.
		e.Message = strings.TrimSpace(string(raw))
		return e
	}
	if n, err := strconv.Atoi(string(body.Code)); err == nil {
		e.Code = n
	}
	if body.Message != nil {
		e.Message = strings.TrimSpace(*body.Message)
	}
	return e
}
