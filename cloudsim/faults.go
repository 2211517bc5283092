package cloudsim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault actions.
const (
	// FaultError answers the request with Status, Code and Message (and a
	// Retry-After header when RetryAfter > 0) without serving it.
	FaultError = "error"
	// FaultFailOperation serves the request, but the asynchronous operation it
	// starts ends FAILED with Code and Message. What a failed create was
	// making disappears at that moment; what a failed delete (or any other
	// failed change) acted on stays as it was before the request: Crusoe
	// operations and CloudMC tasks alike. A request that starts no operation
	// (a lookup, or the container API's synchronous delete) is served
	// normally and does not count as a hit.
	//
	// KraftCloud has no operations: there each item of the request whose
	// name matches Item fails with error code Code (a number; 12, unavailable,
	// when it is not one) and Message, and is not applied. A request with no
	// such item is served normally and does not count as a hit.
	FaultFailOperation = "fail-operation"
	// FaultDropResponse serves the request fully, then closes the connection
	// without sending the response.
	FaultDropResponse = "drop-response"
	// FaultDelay waits Delay (or until the client gives up), then serves the
	// request normally.
	FaultDelay = "delay"
)

var faultActions = []string{FaultError, FaultFailOperation, FaultDropResponse, FaultDelay}

// Fault describes a failure the Server injects into matching requests.
type Fault struct {
	ID     string `json:"id,omitempty"`
	Cloud  string `json:"cloud,omitempty"` // "" matches any cloud
	Method string `json:"method,omitempty"`
	// Path is a pattern over the URL path: '*' matches one segment (and may
	// be combined with text, as in path.Match: "vm-*"), '**' any number of
	// segments, including none.
	Path string `json:"path"`
	// Action is FaultError, FaultFailOperation, FaultDropResponse or FaultDelay.
	Action     string   `json:"action"`
	Status     int      `json:"status,omitempty"`
	Code       string   `json:"code,omitempty"`
	Message    string   `json:"message,omitempty"`
	RetryAfter Duration `json:"retryAfter,omitempty"`
	Delay      Duration `json:"delay,omitempty"`
	// Item is a path.Match glob over the names of the items a fail-operation
	// fault fails ("web-*"); empty fails every item. KraftCloud only.
	Item string `json:"item,omitempty"`
	// Times is how many matching requests the fault affects; 0 is unlimited.
	Times int `json:"times,omitempty"`
	// Skip lets this many matching requests through before the fault applies.
	Skip int `json:"skip,omitempty"`
	// Rate is the probability, between 0 and 1, that the fault applies to a
	// matching request (once Skip is spent and while Times is not); 0 means
	// every one. The draws come from a generator seeded with Seed, one per
	// fault, so a run that sends the same requests in the same order sees
	// the same faults. When faults overlap, each one in turn draws for a
	// request the earlier ones let through: a fault after one of rate 0.1
	// sees 90% of the requests.
	Rate float64 `json:"rate,omitempty"`
	// Seed seeds the fault's draws; when a fault with a Rate has none, the
	// simulator picks one and reports it here, so a run can be repeated.
	Seed int64 `json:"seed,omitempty"`
	// Seen is how many matching requests reached the fault so far, whether
	// it applied or not (read-only).
	Seen int `json:"seen"`
	// Hits is how many requests the fault affected so far (read-only).
	Hits int `json:"hits"`
}

// Validate reports the first thing wrong with f, naming the field.
func (f Fault) Validate() error {
	if !isFaultAction(f.Action) {
		if f.Action == "" {
			return fmt.Errorf("fault: action is required (one of %s)", strings.Join(faultActions, ", "))
		}
		return fmt.Errorf("fault: unknown action %q (want one of %s)", f.Action, strings.Join(faultActions, ", "))
	}
	if err := validateMethod(f.Method); err != nil {
		return err
	}
	if err := validatePathPattern(f.Path); err != nil {
		return err
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return fmt.Errorf("fault: status %d is not an HTTP error status (400-599)", f.Status)
	}
	if f.Times < 0 {
		return fmt.Errorf("fault: times %d is negative", f.Times)
	}
	if f.Skip < 0 {
		return fmt.Errorf("fault: skip %d is negative", f.Skip)
	}
	if math.IsNaN(f.Rate) || f.Rate < 0 || f.Rate > 1 {
		return fmt.Errorf("fault: rate %v is not a probability between 0 and 1 (e.g. rate=0.1)", f.Rate)
	}
	if f.RetryAfter < 0 {
		return fmt.Errorf("fault: retryAfter %s is negative", f.RetryAfter)
	}
	if f.Delay < 0 {
		return fmt.Errorf("fault: delay %s is negative", f.Delay)
	}
	if f.Action == FaultDelay && f.Delay == 0 {
		return fmt.Errorf("fault: action delay needs a delay (e.g. delay=2s)")
	}
	return nil
}

func isFaultAction(a string) bool {
	for _, x := range faultActions {
		if a == x {
			return true
		}
	}
	return false
}

func validateMethod(m string) error {
	if m == "" || m == "*" {
		return nil
	}
	for _, r := range m {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return fmt.Errorf("fault: method %q is not an HTTP method", m)
		}
	}
	return nil
}

func validatePathPattern(p string) error {
	if p == "" {
		return errors.New("fault: path is required (e.g. /v1alpha5/projects/*/compute/vms/**)")
	}
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("fault: path %q must start with /", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("fault: path %q: bad segment %q: %v", p, seg, err)
		}
	}
	return nil
}

// normalized fills in the defaults a fault applies with.
func (f Fault) normalized() Fault {
	f.Method = strings.ToUpper(f.Method)
	if f.Method == "*" {
		f.Method = ""
	}
	f.Hits, f.Seen = 0, 0
	if f.Rate >= 1 {
		f.Rate = 0 // every matching request, as without a rate
	}
	switch f.Action {
	case FaultError:
		if f.Status == 0 {
			f.Status = http.StatusInternalServerError
		}
		if f.Code == "" {
			f.Code = statusCode(f.Status)
		}
		if f.Message == "" {
			f.Message = "cloudsim: injected " + strings.ToLower(http.StatusText(f.Status))
		}
	case FaultFailOperation:
		if f.Code == "" {
			f.Code = "internal_error"
		}
		if f.Message == "" {
			f.Message = "cloudsim: injected operation failure"
		}
	}
	return f
}

// statusCode is the snake_case name of an HTTP status: 429 → too_many_requests.
func statusCode(status int) string {
	t := http.StatusText(status)
	if t == "" {
		return strconv.Itoa(status)
	}
	return strings.ReplaceAll(strings.ToLower(strings.ReplaceAll(t, "-", " ")), " ", "_")
}

// matches reports whether the fault's cloud, method and path select r.
func (f *Fault) matches(cloud string, r *http.Request) bool {
	if f.Cloud != "" && f.Cloud != cloud {
		return false
	}
	if f.Method != "" && f.Method != r.Method {
		return false
	}
	return matchPath(f.Path, r.URL.Path)
}

// matchPath matches a URL path against a pattern of '/'-separated segments
// where '**' spans any number of segments and other segments follow path.Match.
func matchPath(pattern, p string) bool {
	return matchSegments(strings.Split(strings.Trim(pattern, "/"), "/"), strings.Split(strings.Trim(p, "/"), "/"))
}

func matchSegments(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for i := 0; i <= len(segs); i++ {
				if matchSegments(rest, segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], segs[0]); !ok {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// ParseFault reads a fault in flag syntax:
//
//	action:METHOD:path[:key=value,...]
//	action:path[:key=value,...]          (any method)
//
// e.g. "error:GET:/v1alpha5/projects/*/compute/vms/**:status=429,retry-after=2s,times=2"
// or "fail-operation:POST:/v1alpha5/projects/*/networking/vpc-firewall-rules:code=INTERNAL,message=boom".
// The method may be '*' or empty for any. Keys: status, code, message,
// retry-after, delay, times, skip, rate, seed, cloud, item. Durations are Go
// durations or seconds; a rate is a probability (0.1) or a percentage (10%).
// A message may contain commas; it may not contain '='.
// e.g. "fail-operation:PUT:/v1/instances/start:item=web-1*,code=12,times=1"
// or "fail-operation:*:/v1alpha5/**:rate=0.1,seed=42" (one operation in ten fails).
func ParseFault(s string) (Fault, error) {
	var f Fault
	fail := func(format string, a ...any) (Fault, error) {
		return Fault{}, fmt.Errorf("fault %q: %s", s, fmt.Sprintf(format, a...))
	}
	parts := strings.SplitN(s, ":", 2)
	f.Action = strings.TrimSpace(parts[0])
	if f.Action == "" {
		return fail("missing action (want action:METHOD:path[:options])")
	}
	if !isFaultAction(f.Action) {
		return fail("unknown action %q (want one of %s)", f.Action, strings.Join(faultActions, ", "))
	}
	if len(parts) < 2 {
		return fail("missing path after the action (want action:METHOD:path[:options])")
	}
	rest := parts[1]
	if !strings.HasPrefix(rest, "/") {
		m, after, ok := strings.Cut(rest, ":")
		if !ok {
			return fail("missing path after method %q", m)
		}
		if err := validateMethod(m); err != nil {
			return fail("bad method %q: want an HTTP method such as GET, or * for any", m)
		}
		f.Method = strings.ToUpper(m)
		if f.Method == "*" {
			f.Method = ""
		}
		rest = after
	}
	p, opts, _ := strings.Cut(rest, ":")
	if p == "" {
		return fail("missing path")
	}
	if !strings.HasPrefix(p, "/") {
		return fail("path %q must start with /", p)
	}
	f.Path = p
	if err := parseFaultOptions(&f, opts); err != nil {
		return fail("%v", err)
	}
	if err := f.Validate(); err != nil {
		return fail("%v", strings.TrimPrefix(err.Error(), "fault: "))
	}
	return f, nil
}

func parseFaultOptions(f *Fault, opts string) error {
	if strings.TrimSpace(opts) == "" {
		return nil
	}
	// Split on commas, but glue a piece without '=' back onto the previous
	// value so that messages may contain commas.
	var kvs []string
	for _, piece := range strings.Split(opts, ",") {
		if !strings.Contains(piece, "=") && len(kvs) > 0 {
			kvs[len(kvs)-1] += "," + piece
			continue
		}
		kvs = append(kvs, piece)
	}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok {
			return fmt.Errorf("option %q is not key=value", kv)
		}
		var err error
		switch strings.NewReplacer("_", "", "-", "").Replace(k) {
		case "status":
			f.Status, err = strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("bad status %q: want a number such as 503", v)
			}
		case "code":
			f.Code = v
		case "message", "msg":
			f.Message = v
		case "cloud":
			f.Cloud = strings.TrimSpace(v)
		case "item":
			f.Item = strings.TrimSpace(v)
		case "retryafter":
			d, err := parseDuration(v)
			if err != nil {
				return fmt.Errorf("bad retry-after: %v", err)
			}
			f.RetryAfter = Duration(d)
		case "delay":
			d, err := parseDuration(v)
			if err != nil {
				return fmt.Errorf("bad delay: %v", err)
			}
			f.Delay = Duration(d)
		case "times":
			f.Times, err = strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("bad times %q: want a number", v)
			}
		case "skip":
			f.Skip, err = strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("bad skip %q: want a number", v)
			}
		case "rate":
			if f.Rate, err = parseRate(v); err != nil {
				return err
			}
		case "seed":
			f.Seed, err = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return fmt.Errorf("bad seed %q: want a whole number", v)
			}
		default:
			return fmt.Errorf("unknown option %q (want status, code, message, retry-after, delay, times, skip, rate, seed, cloud or item)", k)
		}
	}
	return nil
}

// parseRate reads a probability: "0.1" or "10%".
func parseRate(v string) (float64, error) {
	v = strings.TrimSpace(v)
	num, pct := strings.CutSuffix(v, "%")
	r, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil {
		return 0, fmt.Errorf("bad rate %q: want a probability such as 0.1, or 10%%", v)
	}
	if pct {
		r /= 100
	}
	return r, nil
}

// faultSet holds the active faults and their counters.
type faultSet struct {
	mu     sync.Mutex
	faults []*faultEntry
	nextID int
}

type faultEntry struct {
	Fault
	rng *rand.Rand // the draws of a fault with a Rate; guarded by faultSet.mu
}

func (s *faultSet) add(f Fault) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	f = f.normalized()
	for f.ID == "" || s.has(f.ID) {
		s.nextID++
		f.ID = "f" + strconv.Itoa(s.nextID)
	}
	e := &faultEntry{Fault: f}
	if f.Rate > 0 {
		if e.Seed == 0 {
			e.Seed = rand.Int64N(1_000_000_000) + 1 // short enough to type back in
		}
		e.rng = newFaultRand(e.Seed)
	}
	s.faults = append(s.faults, e)
	return e.Fault
}

// newFaultRand is the generator of a fault's draws: the same seed gives the
// same sequence on every platform and Go release (PCG is specified).
func newFaultRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x636c6f7564736d)) // "cloudsm"
}

func (s *faultSet) has(id string) bool {
	for _, e := range s.faults {
		if e.ID == id {
			return true
		}
	}
	return false
}

func (s *faultSet) remove(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.faults {
		if e.ID == id {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return true
		}
	}
	return false
}

func (s *faultSet) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *faultSet) list() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, len(s.faults))
	for i, e := range s.faults {
		out[i] = e.Fault
	}
	return out
}

// take finds the first fault that applies to r, counts it and returns a copy.
// Every matching fault up to that one sees the request (for Skip).
func (s *faultSet) take(cloud string, r *http.Request) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.faults {
		if !e.matches(cloud, r) {
			continue
		}
		if e.Times > 0 && e.Hits >= e.Times {
			continue
		}
		e.Seen++
		if e.Seen <= e.Skip {
			continue
		}
		if e.rng != nil && e.rng.Float64() >= e.Rate {
			continue
		}
		e.Hits++
		return e.Fault, true
	}
	return Fault{}, false
}

// untake gives back a hit that turned out to have no effect (a fail-operation
// fault on a request that started no operation).
func (s *faultSet) untake(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.faults {
		if e.ID == id && e.Hits > 0 {
			e.Hits--
			return
		}
	}
}

// retryAfterSeconds renders a Retry-After header value, rounding up.
func retryAfterSeconds(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return strconv.FormatInt(secs, 10)
}
