package activities

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudflow/cloudflow/clients/kraftcloud"
)

// CloudKraftCloud names KraftCloud in error details.
const CloudKraftCloud = "kraftcloud"

// KraftCloudActivities calls the KraftCloud API, one activity per call. The
// token lives in Client, on the worker.
type KraftCloudActivities struct {
	Client *kraftcloud.Client
	// Poll paces waits that are not served by the API's own wait call; zero
	// means DefaultPollPolicy.
	Poll PollPolicy
	// ServerWait bounds how long one wait call asks the server to wait;
	// zero means 10 s (and never more than half the heartbeat timeout).
	ServerWait time.Duration
	// Metrics, when set, is told how each wait ended.
	Metrics Metrics
}

// Fleet actions.
const (
	ActionStart = "start"
	ActionStop  = "stop"
)

// KraftCloudBatchInput is the input of KraftCloudStartInstances and
// KraftCloudStopInstances: one global-scope call over Refs.
type KraftCloudBatchInput struct {
	// Refs are instance names or UUIDs.
	Refs []string `json:"refs"`
	// WaitTimeout asks the server to hold its answer until each instance is
	// running (start only), up to this long.
	WaitTimeout time.Duration `json:"waitTimeout,omitempty"`
	// Force and DrainTimeout are passed to stop.
	Force        bool          `json:"force,omitempty"`
	DrainTimeout time.Duration `json:"drainTimeout,omitempty"`
}

// KraftCloudWaitInput is the input of KraftCloudWaitInstances.
type KraftCloudWaitInput struct {
	Refs    []string      `json:"refs"`
	State   string        `json:"state"`
	Timeout time.Duration `json:"timeout,omitempty"`
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// KraftCloudRef turns a reference as a user writes it into the API's form: a
// UUID is taken as one, anything else as a name.
func KraftCloudRef(s string) kraftcloud.Ref {
	if uuidPattern.MatchString(s) {
		return kraftcloud.ByUUID(strings.ToLower(s))
	}
	return kraftcloud.ByName(s)
}

// KraftCloudStartInstances starts the instances in one batch call and reports
// each one's outcome. Instances already running are the API's item errors,
// reported as such; only on a retry, when the earlier attempt's call may have
// been applied, are running instances taken as started by this call.
func (a *KraftCloudActivities) KraftCloudStartInstances(ctx context.Context, in KraftCloudBatchInput) (BatchResult, error) {
	if err := a.ready(); err != nil {
		return BatchResult{}, err
	}
	return a.batch(ctx, ActionStart, in)
}

// KraftCloudStopInstances stops the instances in one batch call; see
// KraftCloudStartInstances.
func (a *KraftCloudActivities) KraftCloudStopInstances(ctx context.Context, in KraftCloudBatchInput) (BatchResult, error) {
	if err := a.ready(); err != nil {
		return BatchResult{}, err
	}
	return a.batch(ctx, ActionStop, in)
}

// target and transitional are the states an action leads to and passes through.
func kraftTargets(action string) (target string, on []string) {
	if action == ActionStart {
		return kraftcloud.StateRunning, []string{kraftcloud.StateStarting}
	}
	return kraftcloud.StateStopped, []string{kraftcloud.StateStopping, kraftcloud.StateDraining}
}

func (a *KraftCloudActivities) batch(ctx context.Context, action string, in KraftCloudBatchInput) (BatchResult, error) {
	if len(in.Refs) == 0 {
		return BatchResult{}, invalidInput("no instances to %s", action)
	}
	res := BatchResult{Items: make([]ItemResult, len(in.Refs))}
	for i, r := range in.Refs {
		res.Items[i] = ItemResult{Ref: r}
	}
	digest := batchDigest(in.Refs)
	send := make([]int, 0, len(in.Refs)) // indexes of the refs the call carries
	if batchWasSent(ctx, action, digest) {
		// The earlier attempt's call may have been applied: look first.
		st, err := a.Client.Instances.Status(ctx, refsOf(in.Refs, nil))
		res.Calls++
		if err != nil {
			return res, apiError(CloudKraftCloud, "status of "+describeRefs(in.Refs), err)
		}
		target, on := kraftTargets(action)
		for i, it := range alignItems(in.Refs, st.Instances) {
			switch {
			case it == nil:
				send = append(send, i)
			case !it.OK():
				res.Items[i] = kraftItemFailure(in.Refs[i], it)
			case it.State == target:
				res.Items[i] = kraftItem(in.Refs[i], it, OutcomeDone)
			case slices.Contains(on, it.State):
				res.Items[i] = kraftItem(in.Refs[i], it, OutcomeWait)
			default:
				send = append(send, i)
			}
		}
		if len(send) == 0 {
			return res, nil
		}
	} else {
		for i := range in.Refs {
			send = append(send, i)
		}
	}

	stop := keepAlive(ctx, batchMarker{Sent: action, Digest: digest})
	defer stop()
	var out *kraftcloud.InstancesResult
	var err error
	if action == ActionStart {
		reqs := make([]kraftcloud.StartRequest, len(send))
		for j, i := range send {
			reqs[j] = kraftcloud.StartRequest{Ref: KraftCloudRef(in.Refs[i]), WaitTimeoutMs: int(in.WaitTimeout / time.Millisecond)}
		}
		out, err = a.Client.Instances.Start(ctx, reqs)
	} else {
		reqs := make([]kraftcloud.StopRequest, len(send))
		for j, i := range send {
			reqs[j] = kraftcloud.StopRequest{Ref: KraftCloudRef(in.Refs[i]), Force: in.Force, DrainTimeoutMs: int(in.DrainTimeout / time.Millisecond)}
		}
		out, err = a.Client.Instances.Stop(ctx, reqs)
	}
	res.Calls++
	if err != nil {
		return res, apiError(CloudKraftCloud, fmt.Sprintf("%s %s", action, describeRefs(in.Refs)), err)
	}
	sent := make([]string, len(send))
	for j, i := range send {
		sent[j] = in.Refs[i]
	}
	target, _ := kraftTargets(action)
	for j, it := range alignItems(sent, out.Instances) {
		i := send[j]
		switch {
		case it == nil:
			res.Items[i] = ItemResult{Ref: in.Refs[i], Outcome: OutcomeFailed, Retryable: true,
				Code: "MISSING", Message: "the answer had no item for this instance"}
		case waitedOut(it):
			// Applied, but the server gave up waiting for it: the wait
			// activity takes over.
			res.Items[i] = kraftItem(in.Refs[i], it, OutcomeWait)
		case !it.OK():
			res.Items[i] = kraftItemFailure(in.Refs[i], it)
		case it.State == target:
			res.Items[i] = kraftItem(in.Refs[i], it, OutcomeDone)
		default:
			res.Items[i] = kraftItem(in.Refs[i], it, OutcomeWait)
		}
	}
	return res, nil
}

// serverSideWait paces KraftCloudWaitInstances: the API's wait call does the
// waiting, so there is next to no pause between calls.
var serverSideWait = PollPolicy{Initial: 10 * time.Millisecond, Max: 250 * time.Millisecond, Multiplier: 2}

// maxServerWait bounds one wait call by default, so the activity heartbeats
// between calls.
const maxServerWait = 10 * time.Second

// KraftCloudWaitInstances waits, with the API's server-side wait call, until
// every instance is in State or the timeout passes; it resumes from its
// heartbeat on another worker. Instances that cannot get there (unknown, or
// the timeout passed) are reported per item.
func (a *KraftCloudActivities) KraftCloudWaitInstances(ctx context.Context, in KraftCloudWaitInput) (BatchResult, error) {
	if err := a.ready(); err != nil {
		return BatchResult{}, err
	}
	if len(in.Refs) == 0 || in.State == "" {
		return BatchResult{}, invalidInput("wait needs instances and a state")
	}
	res := BatchResult{Items: make([]ItemResult, len(in.Refs))}
	for i, r := range in.Refs {
		res.Items[i] = ItemResult{Ref: r, Outcome: OutcomeWait}
	}
	chunk := cmp.Or(a.ServerWait, maxServerWait)
	if hb := activityHeartbeat(ctx); hb > 0 && hb/2 < chunk {
		chunk = hb / 2
	}
	target := fmt.Sprintf("%d instances %s", len(in.Refs), in.State)
	wp, err := waitFor(ctx, serverSideWait, in.Timeout, target, func(ctx context.Context, wp *WaitProgress) (bool, error) {
		var pending []int
		for i, it := range res.Items {
			if it.Outcome == OutcomeWait {
				pending = append(pending, i)
			}
		}
		// No call waits past the deadline, and each waits a little: a
		// timeout of 0 would be left out, and the server waits without limit.
		wait := chunk
		if in.Timeout > 0 {
			wait = max(min(wait, in.Timeout-time.Since(wp.StartedAt)), time.Millisecond)
		}
		reqs := make([]kraftcloud.WaitRequest, len(pending))
		refs := make([]string, len(pending))
		for j, i := range pending {
			refs[j] = in.Refs[i]
			reqs[j] = kraftcloud.WaitRequest{Ref: KraftCloudRef(in.Refs[i]), State: in.State, TimeoutMs: int(wait / time.Millisecond)}
		}
		out, err := a.Client.Instances.Wait(ctx, reqs)
		res.Calls++
		if err != nil {
			return false, apiError(CloudKraftCloud, "wait for "+describeRefs(refs), err)
		}
		left := 0
		for j, it := range alignItems(refs, out.Instances) {
			i := pending[j]
			switch {
			case it == nil:
				left++
			case waitedOut(it) || it.OK() && it.State != in.State:
				// Not there yet: the server's wait ended first (as an item
				// error, or as success with the state it saw).
				res.Items[i].State = firstNonEmpty(it.State, res.Items[i].State)
				res.Items[i].ID = firstNonEmpty(it.UUID, res.Items[i].ID)
				left++
			case !it.OK():
				res.Items[i] = kraftItemFailure(in.Refs[i], it)
			default:
				res.Items[i] = kraftItem(in.Refs[i], it, OutcomeDone)
			}
		}
		wp.State = fmt.Sprintf("%d of %d left", left, len(in.Refs))
		return left == 0, nil
	})
	recordWait(a.Metrics, CloudKraftCloud, KindKraftCloudInstance, kraftCloudWaitVerb(in.State), wp, err)
	if err != nil && isWaitTimeout(err) {
		// The deadline is per item: those not there yet fail, the rest stand.
		for i, it := range res.Items {
			if it.Outcome == OutcomeWait {
				res.Items[i].Outcome = OutcomeFailed
				res.Items[i].Code = ErrTypeWaitTimeout
				res.Items[i].Message = fmt.Sprintf("still %s after %s", orUnknown(it.State), in.Timeout)
			}
		}
		return res, nil
	}
	return res, err
}

// waitedOut reports an item the server gave up waiting for: the action was
// applied, the instance is on its way, and a wait may still see it arrive.
func waitedOut(it *kraftcloud.Instance) bool {
	return !it.OK() && it.Error == kraftcloud.ErrCodeTimeout
}

// alignItems pairs each reference with its item in a batch answer. The API
// answers in request order; an answer of another length is matched by name
// or UUID instead. A reference without an item gets nil.
func alignItems(refs []string, items []kraftcloud.Instance) []*kraftcloud.Instance {
	out := make([]*kraftcloud.Instance, len(refs))
	if len(items) == len(refs) {
		for i := range items {
			out[i] = &items[i]
		}
		return out
	}
	byKey := map[string]*kraftcloud.Instance{}
	for i := range items {
		if items[i].Name != "" {
			byKey[strings.ToLower(items[i].Name)] = &items[i]
		}
		if items[i].UUID != "" {
			byKey[strings.ToLower(items[i].UUID)] = &items[i]
		}
	}
	for i, r := range refs {
		out[i] = byKey[strings.ToLower(r)]
	}
	return out
}

func refsOf(refs []string, idx []int) []kraftcloud.Ref {
	if idx == nil {
		out := make([]kraftcloud.Ref, len(refs))
		for i, r := range refs {
			out[i] = KraftCloudRef(r)
		}
		return out
	}
	out := make([]kraftcloud.Ref, len(idx))
	for j, i := range idx {
		out[j] = KraftCloudRef(refs[i])
	}
	return out
}

func kraftItem(ref string, it *kraftcloud.Instance, outcome string) ItemResult {
	return ItemResult{Ref: ref, ID: it.UUID, State: it.State, Outcome: outcome}
}

// kraftItemFailure reports an item the API refused. Not found, invalid state,
// duplicates and invalid arguments are final; anything else may pass on
// another round.
func kraftItemFailure(ref string, it *kraftcloud.Instance) ItemResult {
	final := false
	switch it.Error {
	case kraftcloud.ErrCodeNotFound, kraftcloud.ErrCodeInvalidState, kraftcloud.ErrCodeAlreadyExists, kraftcloud.ErrCodeInvalidArgument:
		final = true
	}
	msg := it.Message
	if msg == "" {
		msg = "the API reported an error without a message"
	}
	return ItemResult{Ref: ref, ID: it.UUID, State: it.State, Outcome: OutcomeFailed,
		Code: strconv.Itoa(it.Error), Message: msg, Retryable: !final}
}

func batchDigest(refs []string) string {
	return fmt.Sprintf("%d:%s..%s", len(refs), refs[0], refs[len(refs)-1])
}

func describeRefs(refs []string) string {
	switch len(refs) {
	case 0:
		return "no instances"
	case 1:
		return "instance " + refs[0]
	}
	return fmt.Sprintf("%d instances (%s .. %s)", len(refs), refs[0], refs[len(refs)-1])
}
