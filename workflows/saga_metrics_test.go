package workflows

import (
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
)

// countingHandler is a client.MetricsHandler that adds up its counters by
// name and tags.
type countingHandler struct {
	tags   map[string]string
	mu     *sync.Mutex
	counts map[string]int64
}

func newCountingHandler() *countingHandler {
	return &countingHandler{mu: &sync.Mutex{}, counts: map[string]int64{}}
}

func (h *countingHandler) WithTags(tags map[string]string) client.MetricsHandler {
	all := map[string]string{}
	for k, v := range h.tags {
		all[k] = v
	}
	for k, v := range tags {
		all[k] = v
	}
	return &countingHandler{tags: all, mu: h.mu, counts: h.counts}
}

// key is name{k=v,...} with the tags the test cares about.
func (h *countingHandler) key(name string) string {
	var kv []string
	for k, v := range h.tags {
		if k == "workflow_type" || k == "kind" {
			kv = append(kv, k+"="+v)
		}
	}
	sort.Strings(kv)
	return name + "{" + strings.Join(kv, ",") + "}"
}

func (h *countingHandler) Counter(name string) client.MetricsCounter {
	return counterFunc(func(d int64) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.counts[h.key(name)] += d
	})
}

func (h *countingHandler) Gauge(string) client.MetricsGauge {
	return client.MetricsNopHandler.Gauge("")
}
func (h *countingHandler) Timer(string) client.MetricsTimer {
	return client.MetricsNopHandler.Timer("")
}

func (h *countingHandler) cloudflow() map[string]int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int64{}
	for k, v := range h.counts {
		if strings.HasPrefix(k, "cloudflow_") {
			out[k] = v
		}
	}
	return out
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

// A compensation is counted, and so is each resource it left behind, by
// kind; a run that succeeds counts neither. (A worker's handler carries the
// workflow_type tag; the test environment's does not.)
func TestCompensationsAndLeftoversAreCounted(t *testing.T) {
	run := func(failDelete bool) map[string]int64 {
		h := newCountingHandler()
		var s testsuite.WorkflowTestSuite
		s.SetMetricsHandler(h)
		env := s.NewTestWorkflowEnvironment()
		env.RegisterWorkflow(CreateContainer)
		f := newContainerFake()
		f.install(env)
		if failDelete {
			f.fail = "update"
			env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, _ error) {
				if info.ActivityType.Name == "OpenVZUpdateContainer" {
					f.mu.Lock()
					f.fail = "delete"
					f.mu.Unlock()
				}
			})
		}
		env.SetTestTimeout(time.Minute)
		env.ExecuteWorkflow(CreateContainer, sampleContainer())
		require.True(t, env.IsWorkflowCompleted())
		require.Equal(t, failDelete, env.GetWorkflowError() != nil)
		return h.cloudflow()
	}
	require.Empty(t, run(false), "a run that succeeds compensates nothing")
	require.Equal(t, map[string]int64{
		"cloudflow_compensations{}":                1,
		"cloudflow_resources_left{kind=container}": 1,
	}, run(true))
}
