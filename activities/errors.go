// Package activities holds cloudflow's Temporal activities, one per cloud API
// call and grouped by cloud, and the durable waiter they share.
package activities

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/cloudflow/cloudflow/clients/crusoe"
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
)

// CloudErrorDetails is attached to API and operation failures so that callers
// can show the cloud's own code and message.
type CloudErrorDetails struct {
	Cloud      string `json:"cloud"`
	StatusCode int    `json:"statusCode,omitempty"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
	RequestID  string `json:"requestId,omitempty"`
}

// apiError turns a client error into the activity error Temporal's retry
// policy acts on (DESIGN decision 5): 4xx other than 408/429 is final, 429 and
// 503 come back after the server's Retry-After, the rest retries with backoff.
func apiError(cloud, what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, crusoe.ErrInvalidArgument) {
		return temporal.NewNonRetryableApplicationError(what, ErrTypeInvalidInput, err)
	}
	var ae *crusoe.APIError
	if !errors.As(err, &ae) {
		// Network errors and the like: retry with backoff.
		return temporal.NewApplicationErrorWithCause(what, ErrTypeRetryableAPI, err)
	}
	details := CloudErrorDetails{Cloud: cloud, StatusCode: ae.StatusCode, Code: ae.Code, Message: ae.Message, RequestID: ae.RequestID}
	// The client error stays the cause, so the waiter can still read its
	// status and Retry-After through errors.As.
	if !retryableStatus(ae.StatusCode) {
		return temporal.NewNonRetryableApplicationError(what, ErrTypeAPI, err, details)
	}
	return temporal.NewApplicationErrorWithOptions(what, ErrTypeRetryableAPI, temporal.ApplicationErrorOptions{
		Cause:          err,
		Details:        []any{details},
		NextRetryDelay: ae.RetryAfter, // zero keeps the policy's backoff
	})
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
