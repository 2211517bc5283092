package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/cloudflow/cloudflow/cloudsim"
)

// waitRecorder is a Metrics that keeps what it is told.
type waitRecorder struct {
	mu   sync.Mutex
	ends []WaitEnd
}

func (r *waitRecorder) WaitEnded(e WaitEnd) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ends = append(r.ends, e)
}

func (r *waitRecorder) take(t *testing.T) WaitEnd {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Len(t, r.ends, 1, "one wait ended")
	e := r.ends[0]
	r.ends = nil
	return e
}

func TestWaitsReportHowTheyEnded(t *testing.T) {
	f := newSim(t, 200*time.Millisecond)
	rec := &waitRecorder{}
	f.acts.Metrics = rec
	env := f.env()

	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("m1"))))
	wr := waitResult(t, must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: cr.OperationID, Name: "m1", Timeout: time.Minute})))
	e := rec.take(t)
	require.Equal(t, WaitEnd{Cloud: CloudCrusoe, Kind: KindDisk, Verb: "create", Outcome: WaitSucceeded, Polls: wr.Polls, Duration: e.Duration}, e)
	require.Greater(t, e.Duration, 150*time.Millisecond, "the operation took its latency")

	var dr DeleteResult
	require.NoError(t, must(env.ExecuteActivity(f.acts.CrusoeDeleteDisk, DeleteInput{Name: "m1"})).Get(&dr))
	must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: dr.OperationID, ResourceID: dr.ResourceID, Gone: true, Timeout: time.Minute}))
	e = rec.take(t)
	require.Equal(t, "delete", e.Verb)
	require.Equal(t, WaitSucceeded, e.Outcome)

	addFault(t, f.admin, cloudsim.Fault{Cloud: "crusoe", Method: "POST", Path: "/v1alpha5/projects/*/storage/disks", Action: "fail-operation", Code: "QUOTA_EXCEEDED", Message: "no"})
	cr = createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("m2"))))
	_, err := env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: cr.OperationID, Name: "m2", Timeout: time.Minute})
	require.Error(t, err)
	require.Equal(t, WaitFailed, rec.take(t).Outcome)
}

// A wait that resumes from its heartbeat reports the whole operation: the
// polls and the time of every attempt.
func TestAResumedWaitReportsEveryAttempt(t *testing.T) {
	f := newSim(t, time.Hour)
	rec := &waitRecorder{}
	f.acts.Metrics = rec
	env := f.env()
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("slow"))))
	env.SetHeartbeatDetails(WaitProgress{Target: "disk slow (operation " + cr.OperationID + ")", StartedAt: time.Now().Add(-2 * time.Minute), Polls: 40, Interval: 200 * time.Millisecond})
	_, err := env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: cr.OperationID, Name: "slow", Timeout: time.Minute})
	require.Equal(t, ErrTypeWaitTimeout, appError(t, err).Type())
	e := rec.take(t)
	require.Equal(t, WaitTimedOut, e.Outcome)
	require.Equal(t, 41, e.Polls)
	require.GreaterOrEqual(t, e.Duration, 2*time.Minute)
}

func TestRecordWaitOutcomes(t *testing.T) {
	started := time.Now().Add(-time.Second)
	for _, tt := range []struct {
		name string
		err  error
		want string // "": not recorded
	}{
		{"success", nil, WaitSucceeded},
		{"operation failed", operationFailed(CloudCrusoe, "disk d", "op", "X", "y"), WaitFailed},
		{"timeout", temporal.NewNonRetryableApplicationError("late", ErrTypeWaitTimeout, nil), WaitTimedOut},
		{"refused", temporal.NewNonRetryableApplicationError("no", ErrTypeAPI, nil), WaitError},
		// The attempt ended, not the wait: a retry goes on with it.
		{"cancelled", fmt.Errorf("poll: %w", context.Canceled), ""},
		{"deadline", context.DeadlineExceeded, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &waitRecorder{}
			recordWait(rec, CloudOpenVZ, "container", "create", WaitProgress{StartedAt: started, Polls: 3}, tt.err)
			if tt.want == "" {
				require.Empty(t, rec.ends)
				return
			}
			e := rec.take(t)
			require.Equal(t, tt.want, e.Outcome)
			require.Equal(t, 3, e.Polls)
			require.GreaterOrEqual(t, e.Duration, time.Second)
		})
	}
	recordWait(nil, CloudOpenVZ, "container", "create", WaitProgress{}, errors.New("x")) // no metrics: nothing to do
}

func TestWaitVerbs(t *testing.T) {
	require.Equal(t, "create", WaitInput{Kind: KindVM}.verb())
	require.Equal(t, "delete", WaitInput{Kind: KindVM, Gone: true}.verb())
	require.Equal(t, "settle", WaitInput{Kind: KindVM, Settle: true, Gone: true}.verb())
	require.Equal(t, "start", WaitInput{Kind: KindVM, TargetState: "STATE_RUNNING"}.verb())
	require.Equal(t, "stop", WaitInput{Kind: KindVM, TargetState: "STATE_STOPPED"}.verb())
	require.Equal(t, "start", kraftCloudWaitVerb("running"))
	require.Equal(t, "stop", kraftCloudWaitVerb("stopped"))
	require.Equal(t, "wait", kraftCloudWaitVerb("standby"))
}
