package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// Outcomes of one fleet item after an activity.
const (
	// OutcomeDone: the instance is in the state asked for.
	OutcomeDone = "done"
	// OutcomeWait: the action was accepted and the instance is on its way;
	// a wait activity settles it.
	OutcomeWait = "wait"
	// OutcomeFailed: the cloud refused or failed the item; Code and Message
	// say why, and Retryable whether another round may succeed.
	OutcomeFailed = "failed"
)

// ItemResult is the outcome for one instance of a fleet activity. Partial
// success is data: every item carries its own outcome and the cloud's code
// and message, and no item's failure fails the others.
type ItemResult struct {
	// Ref is the reference as the caller gave it (a name or a UUID).
	Ref   string `json:"ref"`
	ID    string `json:"id,omitempty"`
	State string `json:"state,omitempty"`
	// Outcome is OutcomeDone, OutcomeWait or OutcomeFailed.
	Outcome   string `json:"outcome"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message,omitempty"`
	Retryable bool   `json:"retryable,omitempty"`
	// OperationID is the Crusoe operation a VM action started.
	OperationID string `json:"operationId,omitempty"`
}

// BatchResult is the answer of a fleet activity: one ItemResult per
// reference, in the order given, and how many API calls it took.
type BatchResult struct {
	Items []ItemResult `json:"items"`
	Calls int          `json:"calls"`
}

// keepAlive heartbeats details every interval until the returned stop is
// called, so that an activity blocked in a long API call (a server-side wait)
// is not mistaken for a dead one, while a dead worker still is.
func keepAlive(ctx context.Context, details any) (stop func()) {
	hb := activity.GetInfo(ctx).HeartbeatTimeout
	activity.RecordHeartbeat(ctx, details)
	if hb <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(max(hb/3, 100*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx, details)
			}
		}
	}()
	return func() { close(done) }
}

// batchMarker is the heartbeat a batch action records before it sends its
// call. A retry that finds it knows the call may have been applied, and
// checks each instance before it repeats the call, so no instance is started
// (or stopped) twice.
type batchMarker struct {
	Sent   string `json:"sent"`
	Digest string `json:"digest"`
}

func batchWasSent(ctx context.Context, action, digest string) bool {
	if !activity.HasHeartbeatDetails(ctx) {
		return false
	}
	var m batchMarker
	return activity.GetHeartbeatDetails(ctx, &m) == nil && m.Sent == action && m.Digest == digest
}
