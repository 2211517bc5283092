package kraftcloud

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
)

// APIError is an answer outside 2xx, an answer whose envelope says "error"
// with no item to explain it, or the single item of a local-scope or create
// call whose status is "error" (then StatusCode is the status the answer came
// with, 2xx or not). Match it with errors.As, or use IsNotFound and
// IsAlreadyExists.
//
// Batch calls never return an APIError for items that failed, whatever the
// HTTP status: those are data (see InstancesResult). A batch call returns one
// only for an answer that carries no items (a bad parameter, a bad token, an
// overloaded metro).
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the item error code (ErrCodeNotFound, ...) of the failed item,
	// or of the first item that carries one; zero if none does.
	Code int
	// Message is that item's message, else the envelope's, else the first
	// message in Errors. A body that is not JSON becomes the Message, trimmed.
	Message string
	// Errors is the envelope's errors array.
	Errors []ErrorDetail
	// RequestID is the X-Request-Id header, if any.
	RequestID string
	// RetryAfter is the server's Retry-After header (seconds or HTTP date), or zero.
	RetryAfter time.Duration
	// Method and Path identify the request (Path is the URL path, with /v1).
	Method string
	Path   string
}

func (e *APIError) Error() string {
	return apihttp.ErrorText("kraftcloud", e.Method, e.Path, e.StatusCode, e.Message, e.RetryAfter,
		"code", apihttp.CodeDetail(e.Code), "request_id", e.RequestID)
}

// IsNotFound reports whether err is an *APIError with HTTP status 404 or item
// code ErrCodeNotFound.
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && (e.StatusCode == http.StatusNotFound || e.Code == ErrCodeNotFound)
}

// IsAlreadyExists reports whether err is an *APIError with HTTP status 409 or
// item code ErrCodeAlreadyExists (a simulator code: see ErrCodeNotFound).
func IsAlreadyExists(err error) bool {
	var e *APIError
	return errors.As(err, &e) && (e.StatusCode == http.StatusConflict || e.Code == ErrCodeAlreadyExists)
}

// maxItemsBody bounds the answer outside 2xx of a batch call, which may
// carry a result for each of up to a thousand items; any other error answer
// is read up to apihttp.MaxErrorBody.
const maxItemsBody = 16 << 20

// newAPIError reads an answer outside 2xx into an *APIError, and returns its
// envelope too when the body is one (nil otherwise), so that a batch call
// can take the items it carries as data. A message is at most
// apihttp.MaxErrorBody long.
func newAPIError(resp *http.Response, r request, path string, now time.Time) (*APIError, *envelope) {
	e := &APIError{
		StatusCode: resp.StatusCode,
		Method:     r.method,
		Path:       path,
		RetryAfter: apihttp.ParseRetryAfter(resp.Header, now),
		RequestID:  apihttp.RequestID(resp.Header),
	}
	var raw []byte
	if r.perItem {
		raw, _ = io.ReadAll(io.LimitReader(resp.Body, maxItemsBody))
	} else {
		raw = apihttp.ReadErrorBody(resp.Body)
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil || !isEnvelope(&env) {
		// Not JSON, or JSON of another shape: the text is the best message there is.
		e.Message = strings.TrimSpace(string(raw[:min(len(raw), apihttp.MaxErrorBody)]))
		return e, nil
	}
	fillFromEnvelope(e, &env, r.collection, nil)
	return e, &env
}

// hasItems reports whether the envelope carries at least one item of the
// collection: per-item results to hand back instead of an error.
func hasItems(env *envelope, collection string) bool {
	var items []json.RawMessage
	return json.Unmarshal(env.Data[collection], &items) == nil && len(items) > 0
}

// envelopeError is the error of an answer taken as data: the envelope said
// "error" (item is nil), or the single item of the call failed.
func envelopeError(rep *reply, item *ItemStatus, now time.Time) *APIError {
	e := &APIError{
		StatusCode: rep.statusCode,
		Method:     rep.method,
		Path:       rep.path,
		RetryAfter: apihttp.ParseRetryAfter(rep.header, now),
		RequestID:  apihttp.RequestID(rep.header),
	}
	fillFromEnvelope(e, &rep.env, "", item)
	return e
}

func isEnvelope(env *envelope) bool {
	return env.Status != "" || env.Message != "" || len(env.Errors) > 0 || env.Data != nil
}

// fillFromEnvelope sets Code, Message and Errors. The failed item, when
// known, explains the error best; otherwise the first item of the collection
// that carries a code.
func fillFromEnvelope(e *APIError, env *envelope, collection string, item *ItemStatus) {
	e.Errors = env.Errors
	if item == nil && collection != "" {
		var its []ItemStatus
		if raw, ok := env.Data[collection]; ok && json.Unmarshal(raw, &its) == nil {
			for i := range its {
				if its[i].Error != 0 || its[i].Status == StatusError {
					item = &its[i]
					break
				}
			}
		}
	}
	if item != nil {
		e.Code = item.Error
		e.Message = strings.TrimSpace(item.Message)
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(env.Message)
	}
	for _, d := range env.Errors {
		if e.Message != "" {
			break
		}
		e.Message = strings.TrimSpace(d.Message)
	}
}
