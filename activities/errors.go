// Package activities holds cloudflow's Temporal activities, one per cloud API
// call and grouped by cloud, and the durable waiter they share.
package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/clients/openvz"
)

// Error types carried by activity failures. Workflows and callers match on them.
const (
	// ErrTypeAPI is a cloud API answer that no retry can fix (a 4xx other than 408 and 429).
	ErrTypeAPI = "CloudAPIError"
	// ErrTypeRetryableAPI is a cloud API answer worth retrying (408, 429, 5xx).
	ErrTypeRetryableAPI = "CloudAPIRetryable"
	// ErrTypeOperationFailed is a cloud operation, task or job that ended in failure.
	ErrTypeOperationFailed = "OperationFailed"
	// ErrTypeWaitTimeout is a wait that outlasted its deadline.
	ErrTypeWaitTimeout = "WaitTimeout"
	// ErrTypeUnexpectedState is a resource found in a state the wait cannot lead anywhere from.
	ErrTypeUnexpectedState = "UnexpectedState"
	// ErrTypeInvalidInput is an activity input that cannot be acted on.
	ErrTypeInvalidInput = "InvalidInput"
	// ErrTypeResourceBusy is a change the cloud refused (409) because an
	// operation on the resource is still in progress. Its details name the
	// resource and the operation (ResourceID, OperationID): wait for that
	// operation, whatever its outcome, then try again. No retry of the
	// activity alone can help, so it is final for the activity.
	ErrTypeResourceBusy = "ResourceBusy"
)

// CloudErrorDetails is attached to API and operation failures so that callers
// can show the cloud's own code and message.
type CloudErrorDetails struct {
	Cloud      string `json:"cloud"`
	StatusCode int    `json:"statusCode,omitempty"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
	RequestID  string `json:"requestId,omitempty"`
	// ResourceID is the resource the failed call acted on, when the
	// activity had learned it (a delete that looked its resource up by
	// name), so that whoever reports the failure can name it by ID.
	ResourceID string `json:"resourceId,omitempty"`
	// OperationID is the operation in progress on the resource, for
	// ErrTypeResourceBusy.
	OperationID string `json:"operationId,omitempty"`
}

// apiError turns a client error into the activity error Temporal's retry
// policy acts on (DESIGN decision 5): 4xx other than 408/429 is final, 429 and
// 503 come back after the server's Retry-After, the rest retries with backoff.
func apiError(cloud, what string, err error) error {
	return apiErrorOn(cloud, what, "", err)
}

// apiErrorOn is apiError for a call on a known resource: its details carry
// the resource's ID.
func apiErrorOn(cloud, what, resourceID string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, crusoe.ErrInvalidArgument) || errors.Is(err, kraftcloud.ErrInvalidArgument) || errors.Is(err, openvz.ErrInvalidArgument) ||
		errors.Is(err, cloudmc.ErrInvalidArgument) {
		return temporal.NewNonRetryableApplicationError(what, ErrTypeInvalidInput, err)
	}
	ce, ok := asCloudError(err)
	if !ok {
		// Network errors and the like: retry with backoff.
		if resourceID != "" {
			return temporal.NewApplicationErrorWithCause(what, ErrTypeRetryableAPI, err, CloudErrorDetails{Cloud: cloud, ResourceID: resourceID})
		}
		return temporal.NewApplicationErrorWithCause(what, ErrTypeRetryableAPI, err)
	}
	details := CloudErrorDetails{Cloud: cloud, StatusCode: ce.status, Code: ce.code, Message: ce.message, RequestID: ce.requestID, ResourceID: resourceID}
	// The client error stays the cause, so the waiter can still read its
	// status and Retry-After through errors.As.
	if !retryableStatus(ce.status) {
		return temporal.NewNonRetryableApplicationError(what, ErrTypeAPI, err, details)
	}
	return temporal.NewApplicationErrorWithOptions(what, ErrTypeRetryableAPI, temporal.ApplicationErrorOptions{
		Cause:          err,
		Details:        []any{details},
		NextRetryDelay: ce.retryAfter, // zero keeps the policy's backoff
	})
}

// cloudError is what every client's *APIError tells the retry layer.
type cloudError struct {
	status     int
	code       string
	message    string
	requestID  string
	retryAfter time.Duration
}

// asCloudError finds a client's *APIError in err's chain.
func asCloudError(err error) (cloudError, bool) {
	var ce *crusoe.APIError
	if errors.As(err, &ce) {
		return cloudError{ce.StatusCode, ce.Code, ce.Message, ce.RequestID, ce.RetryAfter}, true
	}
	var ke *kraftcloud.APIError
	if errors.As(err, &ke) {
		code := ""
		if ke.Code != 0 {
			code = strconv.Itoa(ke.Code)
		}
		return cloudError{ke.StatusCode, code, ke.Message, ke.RequestID, ke.RetryAfter}, true
	}
	var oe *openvz.APIError
	if errors.As(err, &oe) {
		code := ""
		if oe.Code != 0 {
			code = strconv.Itoa(oe.Code)
		}
		return cloudError{oe.StatusCode, code, oe.Message, oe.RequestID, oe.RetryAfter}, true
	}
	var me *cloudmc.APIError
	if errors.As(err, &me) {
		code := ""
		if me.Code != 0 {
			code = strconv.Itoa(me.Code)
		}
		return cloudError{me.StatusCode, code, me.Message, me.RequestID, me.RetryAfter}, true
	}
	return cloudError{}, false
}

func isWaitTimeout(err error) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == ErrTypeWaitTimeout
}

func retryableStatus(status int) bool {
	return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

func invalidInput(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), ErrTypeInvalidInput, nil)
}

// operationFailed is the final error of an operation, task or job that failed:
// retrying the wait cannot change it.
func operationFailed(cloud, what, operationID, code, message string) error {
	msg := fmt.Sprintf("%s failed", what)
	if operationID != "" {
		msg = fmt.Sprintf("%s: operation %s failed", what, operationID)
	}
	if code != "" || message != "" {
		msg += ": " + strings.TrimPrefix(code+": "+message, ": ")
	}
	return temporal.NewNonRetryableApplicationError(msg, ErrTypeOperationFailed, nil,
		CloudErrorDetails{Cloud: cloud, Code: code, Message: message})
}

func unexpectedState(kind, state string) error {
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("%s operation in unexpected state %q", kind, state), ErrTypeUnexpectedState, nil)
}

// notConfigured is the error of an activity whose cloud the worker has no
// client for: no retry helps until the worker is restarted with one.
func notConfigured(cloud, how string) error {
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("this worker has no %s client: %s, and restart it", cloud, how), ErrTypeInvalidInput, nil)
}

func (a *CrusoeActivities) ready() error {
	if a == nil || a.Client == nil {
		return notConfigured("Crusoe", "set CRUSOE_ACCESS_KEY_ID, CRUSOE_SECRET_KEY and CRUSOE_PROJECT_ID (or ~/.crusoe/config)")
	}
	return nil
}

func (a *KraftCloudActivities) ready() error {
	if a == nil || a.Client == nil {
		return notConfigured("KraftCloud", "set KRAFTCLOUD_TOKEN (and KRAFTCLOUD_METRO or KRAFTCLOUD_API_ENDPOINT)")
	}
	return nil
}
