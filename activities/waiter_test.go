package activities

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/cloudsim"
)

// fakeClock is time the test moves: the waiter's sleeps advance it at once,
// and the simulator's operations end by it. No test here waits for real.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.advance(d)
	return ctx.Err()
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.t = c.t.Add(d)
	}
}

// fakeTimeSim is a simulator whose Crusoe operations take latency on clk,
// and activities whose waiter sleeps on clk.
func fakeTimeSim(t *testing.T, clk *fakeClock, latency time.Duration) *simFixture {
	t.Helper()
	f := startSim(t, cloudsim.Options{Now: clk.Now, Crusoe: cloudsim.CrusoeOptions{OperationLatency: latency}})
	// The client signs by the same clock, so hours of fake time stay
	// within the signature's allowed skew.
	c, err := crusoe.New(
		crusoe.WithBaseURL(f.sim.URL+"/v1alpha5"),
		crusoe.WithCredentials(cloudsim.DefaultCrusoeAccessKeyID, cloudsim.DefaultCrusoeSecretKey),
		crusoe.WithProjectID(cloudsim.DefaultCrusoeProjectID),
		crusoe.WithClock(clk.Now),
	)
	require.NoError(t, err)
	f.client, f.acts.Client = c, c
	f.acts.waits.clk = clk
	return f
}

// waitedDisk creates a disk and waits for it the way a workflow does (the
// wait starts a workflow task later, 30 ms on clk), and returns the wait's
// polls and how long after the operation ended the wait noticed it.
func waitedDisk(t *testing.T, f *simFixture, clk *fakeClock, name string, latency time.Duration) (polls int, late time.Duration) {
	t.Helper()
	env := f.env()
	began := clk.Now()
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput(name))))
	clk.advance(30 * time.Millisecond)
	wr := waitResult(t, must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: cr.OperationID, Name: name, Timeout: time.Hour})))
	require.Equal(t, "operation", wr.Resolution)
	return wr.Polls, clk.Now().Sub(began.Add(latency))
}

// Once the worker has seen a few operations of a kind end, the next one is
// noticed within 5% of its length (and half a second), in at most 5 polls,
// however long it takes. Backing off from 500 ms, the waiter noticed a 20 s
// operation 4.7 s late, after 9 polls.
func TestLearnedOperationIsNoticedWithinFivePercentInFivePolls(t *testing.T) {
	for _, latency := range []time.Duration{time.Second, 5 * time.Second, 20 * time.Second, 60 * time.Second} {
		t.Run(latency.String(), func(t *testing.T) {
			clk := newFakeClock()
			f := fakeTimeSim(t, clk, latency)
			for i := range 3 { // learning
				waitedDisk(t, f, clk, fmt.Sprintf("learn-%d", i), latency)
			}
			polls, late := waitedDisk(t, f, clk, "learned", latency)
			t.Logf("L=%s: %d polls, noticed %s late", latency, polls, late)
			require.LessOrEqual(t, polls, 5)
			require.GreaterOrEqual(t, late, time.Duration(0))
			require.LessOrEqual(t, late, min(latency/20, 500*time.Millisecond))
		})
	}
}

// A cloud that keeps its pace is noticed ever sooner: each wait bisects the
// span the last ones agree on, so after a few operations of a kind the next
// is noticed within 15 ms at 1 s as at 60 s, in at most three polls, even
// when the operations' lengths wander by a few milliseconds.
func TestSteadyPaceIsNoticedWithinMilliseconds(t *testing.T) {
	jitter := []time.Duration{0, 4 * time.Millisecond, -3 * time.Millisecond, 2 * time.Millisecond, -1 * time.Millisecond}
	for _, latency := range []time.Duration{time.Second, 5 * time.Second, 20 * time.Second, 60 * time.Second} {
		t.Run(latency.String(), func(t *testing.T) {
			clk := newFakeClock()
			f := fakeTimeSim(t, clk, latency)
			for i := range 14 {
				l := latency + jitter[i%len(jitter)]
				require.NoError(t, f.admin.SetOperationLatency(context.Background(), "crusoe", l))
				polls, late := waitedDisk(t, f, clk, fmt.Sprintf("op-%d", i), l)
				if i < 9 { // learning
					continue
				}
				t.Logf("L=%s: %d polls, noticed %s late", l, polls, late)
				require.LessOrEqual(t, polls, 3)
				require.GreaterOrEqual(t, late, time.Duration(0))
				require.LessOrEqual(t, late, 15*time.Millisecond)
			}
		})
	}
}

// The poll schedule: a wide span is walked a dense step at a time; a narrow
// one is bisected, then looked at its end, then ever further past it, until
// the dense window is spent.
func TestNextPoll(t *testing.T) {
	ms := time.Millisecond
	walk := func(exp Expectation) []time.Duration {
		var at []time.Duration
		for last := time.Duration(-1); ; {
			n, ok := nextPoll(exp, last)
			if !ok {
				return at
			}
			at = append(at, n.Round(ms))
			last = n
		}
	}
	// 20 s expected within 19-21 s: steps of a third of the span, two past it.
	require.Equal(t, []time.Duration{19000 * ms, 19667 * ms, 20333 * ms, 21000 * ms, 21667 * ms, 22333 * ms},
		walk(Expectation{Lo: 19 * time.Second, Hi: 21 * time.Second}))
	// Within 19.9-20.1 s (at most two 250 ms steps): the middle, the end,
	// then 200 ms and 600 ms past it; the dense window ends 500 ms past it.
	require.Equal(t, []time.Duration{20000 * ms, 20100 * ms, 20300 * ms}, walk(Expectation{Lo: 19900 * ms, Hi: 20100 * ms}))
	// A span of 7 ms: its middle, its end, then 10 ms (minStep) and 30 ms
	// past it; the dense window ends two 20 ms steps past it.
	require.Equal(t, []time.Duration{999 * ms, 1002 * ms, 1012 * ms, 1032 * ms},
		walk(Expectation{Lo: 995 * ms, Hi: 1002 * ms}))
}

// The cloud's own start and end times (whole seconds) narrow what a wait
// that polled sparsely learns: after one 60 s operation polled every 10 s,
// the next is expected within 2 s, not 10.
func TestCloudTimesNarrowTheFirstDuration(t *testing.T) {
	clk := newFakeClock()
	f := fakeTimeSim(t, clk, time.Minute)
	waitedDisk(t, f, clk, "first", time.Minute)
	exp, ok := f.acts.waits.learned.expect("crusoe/disk/create")
	require.True(t, ok)
	require.LessOrEqual(t, exp.Hi-exp.Lo, 2*time.Second, "learned %+v", exp)
	require.True(t, exp.Lo < time.Minute && time.Minute <= exp.Hi+30*time.Millisecond, "learned %+v", exp)
}

// An operation of a kind the worker has not seen is polled at once, then
// backing off as the policy says: 0, 0.5 s, 1.25 s for a 1 s operation.
func TestUnknownKindBacksOff(t *testing.T) {
	clk := newFakeClock()
	f := fakeTimeSim(t, clk, time.Second)
	f.acts.Poll = PollPolicy{Initial: 500 * time.Millisecond, Max: 10 * time.Second, Multiplier: 1.5}
	polls, late := waitedDisk(t, f, clk, "first", time.Second)
	require.Equal(t, 3, polls)
	require.Equal(t, 280*time.Millisecond, late, "polled at 30 ms, 530 ms and 1280 ms after the create")

	// Another kind (a VM) is still unknown after disks were learned.
	env := f.env()
	vm := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateVM, CreateVMInput{
		Name: "vm", Type: "c1a.2x", Location: "us-northcentral1-a", SSHPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBb"})))
	wr := waitResult(t, must(env.ExecuteActivity(f.acts.CrusoeWait, WaitInput{Kind: KindVM, OperationID: vm.OperationID, Name: "vm", Timeout: time.Hour})))
	require.Equal(t, 3, wr.Polls)
}

// A cloud that changes pace is followed: operations that suddenly take five
// times as long are still noticed (the dense polls run out, then the waiter
// backs off from the dense step), and after one of them the new pace is the
// one expected; operations that get faster are noticed at the first poll,
// and the pace is learned again.
func TestLearnedPaceFollowsTheCloud(t *testing.T) {
	clk := newFakeClock()
	f := fakeTimeSim(t, clk, time.Second)
	for i := range 3 {
		waitedDisk(t, f, clk, fmt.Sprintf("a-%d", i), time.Second)
	}
	require.NoError(t, f.admin.SetOperationLatency(context.Background(), "crusoe", 5*time.Second))
	polls, late := waitedDisk(t, f, clk, "slower", 5*time.Second)
	t.Logf("slower: %d polls, %s late", polls, late)
	require.LessOrEqual(t, late, 5*time.Second, "noticed within a backed-off poll interval")
	waitedDisk(t, f, clk, "slower-again", 5*time.Second)
	polls, late = waitedDisk(t, f, clk, "slower-learned", 5*time.Second)
	require.LessOrEqual(t, polls, 5)
	require.LessOrEqual(t, late, 250*time.Millisecond)

	require.NoError(t, f.admin.SetOperationLatency(context.Background(), "crusoe", time.Second))
	polls, late = waitedDisk(t, f, clk, "faster", time.Second)
	require.Equal(t, 1, polls, "the first poll, at the old expected end, finds it done")
	t.Logf("faster: %s late", late)
	for i := range 4 {
		waitedDisk(t, f, clk, fmt.Sprintf("b-%d", i), time.Second)
	}
	polls, late = waitedDisk(t, f, clk, "faster-learned", time.Second)
	require.LessOrEqual(t, polls, 5)
	require.LessOrEqual(t, late, 50*time.Millisecond)
}

// A wait resumed on a worker that has learned nothing (the first one died)
// keeps the pace its heartbeat carries.
func TestResumedWaitKeepsItsExpectation(t *testing.T) {
	clk := newFakeClock()
	f := fakeTimeSim(t, clk, 20*time.Second)
	env := f.env()
	began := clk.Now()
	cr := createResult(t, must(env.ExecuteActivity(f.acts.CrusoeCreateDisk, diskInput("resumed"))))
	clk.advance(5 * time.Second) // the first worker's wait died; Temporal retried it here
	fresh := &CrusoeActivities{Client: f.client}
	fresh.waits.clk = clk
	env = f.env()
	env.RegisterActivity(fresh)
	target := "disk resumed (operation " + cr.OperationID + ")"
	env.SetHeartbeatDetails(WaitProgress{Target: target, StartedAt: began, Polls: 1, State: crusoe.OperationInProgress,
		Since: began, SinceExact: true, Expect: &Expectation{Lo: 19900 * time.Millisecond, Hi: 20050 * time.Millisecond}})
	wr := waitResult(t, must(env.ExecuteActivity(fresh.CrusoeWait, WaitInput{Kind: KindDisk, OperationID: cr.OperationID, Name: "resumed", Timeout: time.Hour})))
	require.LessOrEqual(t, wr.Polls, 1+4, "one before the crash, then the paced polls")
	require.LessOrEqual(t, clk.Now().Sub(began.Add(20*time.Second)), 500*time.Millisecond)
}

// The waiter heartbeats when Temporal needs a sign of life (every half
// heartbeat timeout) and when it has news, not after every poll: a 1 s wait
// under a 20 s heartbeat timeout sends none.
func TestWaiterHeartbeatsOnlyWhenNeeded(t *testing.T) {
	clk := newFakeClock()
	var beats []time.Time
	env := waitEnv{heartbeatTimeout: 20 * time.Second, heartbeat: func(WaitProgress) { beats = append(beats, clk.Now()) }}
	w := &waits{clk: clk}
	poll := func(end time.Time) pollFunc {
		return func(context.Context, *WaitProgress) (bool, error) { return !clk.Now().Before(end), nil }
	}
	spec := wait{target: "short", policy: DefaultPollPolicy}
	_, err := w.run(context.Background(), env, spec, poll(clk.Now().Add(time.Second)))
	require.NoError(t, err)
	require.Empty(t, beats)

	start := clk.Now()
	spec.target = "long"
	wp, err := w.run(context.Background(), env, spec, poll(start.Add(time.Minute)))
	require.NoError(t, err)
	require.Len(t, beats, 6, "about one every 10 s: %v", beats)
	for i := 1; i < len(beats); i++ {
		require.LessOrEqual(t, beats[i].Sub(beats[i-1]), 10*time.Second)
	}
	require.Greater(t, wp.Polls, len(beats))

	// Polls that take long themselves (KraftCloud's server-side wait) are
	// followed by a beat whenever another as long would make it late.
	beats = nil
	spec.target, spec.policy = "held", serverSideWait
	start = clk.Now()
	n := 0
	_, err = w.run(context.Background(), env, spec, func(context.Context, *WaitProgress) (bool, error) {
		clk.advance(9900 * time.Millisecond)
		n++
		return n == 6, nil
	})
	require.NoError(t, err)
	last := start
	for _, b := range append(beats, clk.Now()) {
		require.LessOrEqual(t, b.Sub(last), 16*time.Second, "the SDK sends a beat at most every 0.8 heartbeat timeouts: %v", beats)
		last = b
	}
	require.GreaterOrEqual(t, len(beats), 4)

	// News: the operation proved gone, and a resumed wait must know to
	// watch the resource. It is sent at once.
	beats = nil
	spec.target = "gone"
	n = 0
	_, err = w.run(context.Background(), env, spec, func(_ context.Context, wp *WaitProgress) (bool, error) {
		n++
		if n == 2 {
			wp.ResolveFromResource = true
		}
		return n == 3, nil
	})
	require.NoError(t, err)
	require.Len(t, beats, 1)
}
