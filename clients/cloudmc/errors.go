package cloudmc

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
)

// CloudMC error codes, the numeric "code" of an entry of the errors array.
// The reference documents only 2012 (an operation the resource's state does
// not allow, with currentState and expectedStates in the context); the
// others are the values cloudflow's simulator (cloudsim) uses, so that
// callers can tell the cases apart. A real deployment may use other numbers:
// rely on the HTTP status first.
const (
	ErrCodeInternal         = 1000 // 500
	ErrCodeInvalidRequest   = 1001 // 400: a missing, malformed or unknown field value
	ErrCodeForbidden        = 1003 // 403: a missing or wrong API key, or no access
	ErrCodeNotFound         = 1004 // 404: no such endpoint, environment, resource or task
	ErrCodeMethodNotAllowed = 1005 // 405
	ErrCodeNameInUse        = 2011 // 400: another resource has the name, or a rule overlaps
	ErrCodeInvalidState     = 2012 // 400: the reference's code
	ErrCodeInUse            = 2013 // 400: e.g. deleting or attaching a volume that is attached
	ErrCodeTaskInProgress   = 2014 // 400: another task is still working on the resource
)

// ErrorDetail is one entry of an error answer's errors array.
type ErrorDetail struct {
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Context map[string]any `json:"context,omitempty"`
}

// UnmarshalJSON reads the code as a number or, leniently, a string holding one.
func (d *ErrorDetail) UnmarshalJSON(b []byte) error {
	var raw struct {
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
		Context map[string]any  `json:"context"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*d = ErrorDetail{Message: raw.Message, Context: raw.Context}
	code := bytes.Trim(bytes.TrimSpace(raw.Code), `"`)
	if n, err := strconv.Atoi(string(code)); err == nil {
		d.Code = n
	}
	return nil
}

// APIError is an answer outside 2xx, or a 2xx answer that carries an errors
// array. Match it with errors.As, or use IsNotFound and IsInvalidState.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Errors is the answer's errors array.
	Errors []ErrorDetail
	// Code is the first error's code, zero if there is none.
	Code int
	// Message is the errors' messages joined with "; ". A body that is not
	// an error answer becomes the Message, trimmed.
	Message string
	// RequestID is the X-Request-Id header, if any.
	RequestID string
	// RetryAfter is the server's Retry-After header (seconds or HTTP date), or zero.
	RetryAfter time.Duration
	// Method and Path identify the request (Path is the URL path, with
	// /api/v2 and without the query).
	Method string
	Path   string
}

func (e *APIError) Error() string {
	return apihttp.ErrorText("cloudmc", e.Method, e.Path, e.StatusCode, e.Message, e.RetryAfter,
		"code", apihttp.CodeDetail(e.Code), "request_id", e.RequestID)
}

// HasCode reports whether any entry of the errors array has the code.
func (e *APIError) HasCode(code int) bool {
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

// IsNotFound reports whether err is an *APIError with HTTP status 404: an
// unknown resource, or a task that finished more than about 30 minutes ago
// (tasks are not kept; find the outcome from the resource itself).
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// IsInvalidState reports whether err is an *APIError with code
// ErrCodeInvalidState: the resource is not in a state that allows the
// operation (stopping a stopped instance). The error's context names the
// currentState and the expectedStates.
func IsInvalidState(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.HasCode(ErrCodeInvalidState)
}

// IsTaskInProgress reports whether err is an *APIError with code
// ErrCodeTaskInProgress: a task is still working on the resource (a strict
// CloudMC shows the resource in its old state meanwhile). The change may
// succeed once that task ends; the error's context names the taskId.
func IsTaskInProgress(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.HasCode(ErrCodeTaskInProgress)
}

// newAPIError reads a non-2xx answer, at most apihttp.MaxErrorBody of it.
func newAPIError(resp *http.Response, method, path string, now time.Time) *APIError {
	raw := apihttp.ReadErrorBody(resp.Body)
	var body struct {
		Errors []ErrorDetail `json:"errors"`
	}
	if err := json.Unmarshal(raw, &body); err == nil && len(body.Errors) > 0 {
		return errorFromDetails(resp.StatusCode, resp.Header, method, path, body.Errors, now)
	}
	// Not JSON, or JSON of another shape: the text is the best message there is.
	return &APIError{
		StatusCode: resp.StatusCode,
		Message:    strings.TrimSpace(string(raw)),
		RequestID:  apihttp.RequestID(resp.Header),
		RetryAfter: apihttp.ParseRetryAfter(resp.Header, now),
		Method:     method,
		Path:       path,
	}
}

func errorFromDetails(status int, h http.Header, method, path string, details []ErrorDetail, now time.Time) *APIError {
	e := &APIError{
		StatusCode: status,
		Errors:     details,
		RequestID:  apihttp.RequestID(h),
		RetryAfter: apihttp.ParseRetryAfter(h, now),
		Method:     method,
		Path:       path,
	}
	var msgs []string
	for _, d := range details {
		if m := strings.TrimSpace(d.Message); m != "" {
			msgs = append(msgs, m)
		}
	}
	e.Message = strings.Join(msgs, "; ")
	if len(details) > 0 {
		e.Code = details[0].Code
	}
	return e
}
