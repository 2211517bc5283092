package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/cloudflow/cloudflow/activities"
)

var errBoom = temporal.NewNonRetryableApplicationError("injected failure", activities.ErrTypeOperationFailed, nil)

// failureLag delays an injected failure. The test environment settles a
// cancelled activity at once, whatever WaitForCancellation says, while the
// mock goes on running; on a real server the workflow waits for it. The lag
// lets parallel creates land before the failure, as the real server would
// make the saga wait for them.
const failureLag = 100 * time.Millisecond

// pause holds a fake activity back for d, or until it is cancelled.
func pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fakeStore is what the fake clouds share: what exists, so a test can
// assert what is left after compensation, the steps to fail, and the calls
// made, in order ("create kind/name", "delete kind/name", ...).
type fakeStore struct {
	mu sync.Mutex
	// live maps "kind/name" to an ID.
	live map[string]string
	// preexisting names were there before the run.
	preexisting map[string]bool
	// failCreate, failWait and failDelete make that step's create call,
	// wait or delete fail.
	failCreate, failWait, failDelete string
	calls                            []string
	nextID                           int
}

func newFakeStore() fakeStore {
	return fakeStore{live: map[string]string{}, preexisting: map[string]bool{}}
}

// create records the create of kind/name and makes it unless it exists.
// It returns the ID, whether the name was taken and whether it was taken
// before the run. The step told to fail fails after failureLag.
func (s *fakeStore) create(kind, name string) (id string, found, preexisting bool, err error) {
	key := kind + "/" + name
	if s.failCreate == key {
		time.Sleep(failureLag)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "create "+key)
	if s.failCreate == key {
		return "", false, false, errBoom
	}
	if id, ok := s.live[key]; ok {
		return id, true, s.preexisting[key], nil
	}
	s.nextID++
	id = fmt.Sprintf("%s-id-%d", kind, s.nextID)
	s.live[key] = id
	return id, false, false, nil
}

func (s *fakeStore) liveNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.live {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// callLog is a copy of the calls made so far: an activity can still run
// when a test reads it (a cancelled run's wait, a listener mid-run).
func (s *fakeStore) callLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// deletes lists the resources a delete was called for, in order.
func (s *fakeStore) deletes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.calls {
		if d, ok := strings.CutPrefix(c, "delete "); ok {
			out = append(out, d)
		}
	}
	return out
}

// runWorkflow runs wf to its end in an environment that install (the fake
// cloud) and setup prepare, and returns its result: the workflow's value,
// or the details its error carries. Every activity it ran must have had a
// summary.
func runWorkflow[R any](t *testing.T, wf, in any, install, setup func(env *testsuite.TestWorkflowEnvironment)) (*testsuite.TestWorkflowEnvironment, R, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	sums := &summaries{}
	sums.install(env)
	env.RegisterWorkflow(wf)
	install(env)
	if setup != nil {
		setup(env)
	}
	env.ExecuteWorkflow(wf, in)
	require.True(t, env.IsWorkflowCompleted())
	sums.requireSummarized(t)
	var res R
	err := env.GetWorkflowError()
	if err == nil {
		require.NoError(t, env.GetWorkflowResult(&res))
	} else {
		var app *temporal.ApplicationError
		var canceled *temporal.CanceledError
		switch {
		case errors.As(err, &app) && app.HasDetails():
			require.NoError(t, app.Details(&res))
		case errors.As(err, &canceled):
			require.NoError(t, canceled.Details(&res))
		}
	}
	return env, res, err
}

// progress answers the progress query.
func progress(t *testing.T, env *testsuite.TestWorkflowEnvironment) Progress {
	t.Helper()
	v, err := env.QueryWorkflow(ProgressQuery)
	require.NoError(t, err)
	var p Progress
	require.NoError(t, v.Get(&p))
	return p
}

func stepState(steps []Step, name string) string {
	for _, st := range steps {
		if st.Name == name {
			return st.State
		}
	}
	return ""
}
