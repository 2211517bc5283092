package cloudsim

import (
	"bytes"
	"cmp"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// CloudKraftCloud is the KraftCloud simulator's name in Inventory,
// Fault.Cloud, RequestRecord.Cloud, Counters and SetOperationLatency.
const CloudKraftCloud = "kraftcloud"

// Defaults of the KraftCloud simulator.
const (
	DefaultKraftCloudToken   = "cloudsim-kraftcloud-token"
	DefaultKraftCloudLatency = 500 * time.Millisecond
)

// KraftCloudDomainSuffix is the domain the simulator hands out service group
// FQDNs under, as a metro does ("<name>.fra0.kraft.host").
const KraftCloudDomainSuffix = "sim0.kraft.host"

// Error codes of failed KraftCloud items: the numeric "error" member of an
// item whose "status" is "error". 8 is the one the reference page shows; the
// others are the simulator's.
const (
	KraftCloudErrNotFound        = 8  // no object with that UUID or name
	KraftCloudErrInvalidState    = 9  // e.g. start of a running instance, delete of an attached volume
	KraftCloudErrAlreadyExists   = 10 // the name (or domain) is taken
	KraftCloudErrInvalidArgument = 11 // an argument that is well-formed but cannot apply, e.g. a mount point in use
	KraftCloudErrUnavailable     = 12 // transient: try again
	KraftCloudErrTimeout         = 13 // a wait ended before the instance reached the state asked for
)

// KraftCloudOptions configures the KraftCloud v1 simulator.
type KraftCloudOptions struct {
	// Token is the API token clients send as "Authorization: Bearer <token>";
	// empty takes DefaultKraftCloudToken.
	Token string
	// Latency is how long an instance stays starting (or stopping) before
	// it is running (or stopped). 0 takes the default (500ms); a negative
	// value makes starts and stops instant.
	Latency time.Duration
}

func (o KraftCloudOptions) withDefaults() KraftCloudOptions {
	o.Token = cmp.Or(o.Token, DefaultKraftCloudToken)
	o.Latency = durationOption(o.Latency, DefaultKraftCloudLatency)
	return o
}

// Kinds of the KraftCloud action counters, by instance name.
const (
	kcInstanceStarts  = "instance-starts"
	kcInstanceStops   = "instance-stops"
	kcInstanceCreates = "instance-creates"
)

// kraftCloud simulates KraftCloud v1 (one metro, one account).
//
// KraftCloud is mostly synchronous: a request applies its change at once and
// answers with the objects it touched. Only instance starts and stops take
// time, and they are lazy like the Crusoe operation clock: an instance started
// at t is "starting" until t+latency and "running" from then on, evaluated
// against env.now() whenever it is read. A request that asks the server to
// wait (wait_timeout_ms, GET /instances/wait) polls that lazy state in real
// time, without holding the lock while it sleeps.
//
// Answers follow the reference envelope. Global scope (a JSON array of items)
// answers one item per input: HTTP 200 with top-level "success" when every
// item succeeded, or "partial_success" when some failed; when every item
// failed the request failed, and the answer is top-level "error" with HTTP
// 404 if no object was found, else 400, still carrying every item (the
// reference: one result per item), so a client must read items whatever the
// HTTP status. Local scope (one object named in the path) and creates answer
// one item; when it fails the HTTP status follows its code (8 → 404, 9 and
// 10 → 409, 11 → 400, 12 → 503, 13 → 408) and the envelope is "error" with
// the item in data. A global-scope endpoint
// given one JSON object instead of an array answers like local scope, and a
// local-scope path takes a name where the UUID goes. Unknown (including
// mis-cased), ill-typed or invalid parameters abort the whole request with 400
// and no data. Names are lower-cased on create and lookup.
type kraftCloud struct {
	env  env
	opts KraftCloudOptions

	mu      sync.Mutex // guards everything below
	latency time.Duration
	st      *kcState
}

// kcState is the account's objects.
type kcState struct {
	seq       uint64
	addrs     uint32 // private addresses handed out
	instances kcTable[*kcInstance]
	groups    kcTable[*kcGroup]
	volumes   kcTable[*kcVolume]
	domains   map[string]*kcGroup // by FQDN
	// deleteOnStop counts instances with the delete-on-stop feature, so
	// lists sweep only when one may have gone.
	deleteOnStop int
}

func newKCState() *kcState {
	return &kcState{
		instances: newKCTable[*kcInstance](),
		groups:    newKCTable[*kcGroup](),
		volumes:   newKCTable[*kcVolume](),
		domains:   map[string]*kcGroup{},
	}
}

func newKraftCloud(e env, opts KraftCloudOptions) *kraftCloud {
	c := &kraftCloud{env: e, opts: opts.withDefaults()}
	c.latency = c.opts.Latency
	c.st = newKCState()
	return c
}

func (c *kraftCloud) name() string   { return CloudKraftCloud }
func (c *kraftCloud) prefix() string { return "/v1/" }

func (c *kraftCloud) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.latency = c.opts.Latency
	c.st = newKCState()
	c.env.tally.reset()
}

func (c *kraftCloud) setOperationLatency(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.latency = max(d, 0)
}

// counters implements counter: creates, starts (stopped → starting,
// including an autostarting create) and stops applied, by instance name.
func (c *kraftCloud) counters() map[string]map[string]int {
	return c.env.tally.snapshot(kcInstanceCreates, kcInstanceStarts, kcInstanceStops)
}

func (c *kraftCloud) inventory() inventory {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.env.now()
	c.sweep(now)
	inv := inventory{}
	for _, i := range c.st.instances.sorted() {
		inv.add("instances", c.renderInstance(i, now))
	}
	for _, g := range c.st.groups.sorted() {
		inv.add("service-groups", c.renderGroup(g))
	}
	for _, v := range c.st.volumes.sorted() {
		inv.add("volumes", c.renderVolume(v))
	}
	return inv
}

// --- objects, names and references ---

// kcMeta is what every KraftCloud object has.
type kcMeta struct {
	uuid, name string
	seq        uint64
	createdAt  time.Time
}

func (m *kcMeta) meta() *kcMeta { return m }

type kcObject interface{ meta() *kcMeta }

// kcTable indexes objects by UUID and by name: every lookup is O(1).
type kcTable[T kcObject] struct {
	byUUID map[string]T
	byName map[string]T
}

func newKCTable[T kcObject]() kcTable[T] {
	return kcTable[T]{byUUID: map[string]T{}, byName: map[string]T{}}
}

func (t *kcTable[T]) put(v T) {
	m := v.meta()
	t.byUUID[m.uuid] = v
	t.byName[m.name] = v
}

func (t *kcTable[T]) del(v T) {
	m := v.meta()
	delete(t.byUUID, m.uuid)
	delete(t.byName, m.name)
}

func (t *kcTable[T]) find(ref kcRef) (T, bool) {
	if ref.UUID != "" {
		v, ok := t.byUUID[ref.UUID]
		return v, ok
	}
	v, ok := t.byName[ref.Name]
	return v, ok
}

func (t *kcTable[T]) taken(name string) bool {
	_, ok := t.byName[name]
	return ok
}

// sorted lists the objects in creation order.
func (t *kcTable[T]) sorted() []T {
	out := make([]T, 0, len(t.byUUID))
	for _, v := range t.byUUID {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(a.meta().seq, b.meta().seq) })
	return out
}

// freshName picks an unused name "<base>-<6 random>".
func (t *kcTable[T]) freshName(base string) string {
	base = kcNameBase(base)
	for {
		if n := base + "-" + kcRandom(6); !t.taken(n) {
			return n
		}
	}
}

func (c *kraftCloud) newMeta(name string) kcMeta {
	c.st.seq++
	return kcMeta{uuid: uuid.NewString(), name: name, seq: c.st.seq, createdAt: c.env.now()}
}

const kcAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func kcRandom(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = kcAlphabet[rand.IntN(len(kcAlphabet))]
	}
	return string(b)
}

// kcNameBase turns s into the start of a valid name: lower case letters,
// digits and single hyphens, starting with a letter.
func kcNameBase(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case !strings.HasSuffix(b.String(), "-") && b.Len() > 0:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" || out[0] < 'a' || out[0] > 'z' {
		out = strings.Trim("i-"+out, "-")
	}
	if len(out) > 100 {
		out = strings.TrimRight(out[:100], "-")
	}
	return out
}

// kcImageBase is the short name of an image: "unikraft.org/nginx:1.25" → "nginx".
func kcImageBase(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(image, "/"); i >= 0 {
		image = image[i+1:]
	}
	image, _, _ = strings.Cut(image, ":")
	return image
}

// kcMaxName is the longest name the reference allows, separators included.
const kcMaxName = 121

// checkKCName validates a name by the reference's RFC 1035 rules.
func checkKCName(s string, maxLen int) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if len(s) > maxLen {
		return fmt.Errorf("is %d characters long, more than the %d allowed", len(s), maxLen)
	}
	if strings.HasSuffix(s, ".") {
		return errors.New("must not end with a dot (it is not a fully-qualified domain name)")
	}
	for _, label := range strings.Split(s, ".") {
		switch {
		case label == "":
			return errors.New("must not start with a dot or hold consecutive dots")
		case len(label) > 63:
			return fmt.Errorf("has a label of %d characters, more than 63", len(label))
		case !isASCIILetter(label[0]):
			return fmt.Errorf("has a label %q that does not start with a letter", label)
		case !isASCIILetter(label[len(label)-1]) && !isASCIIDigit(label[len(label)-1]):
			return fmt.Errorf("has a label %q that does not end with a letter or digit", label)
		case strings.Contains(label, "--"):
			return fmt.Errorf("has a label %q with consecutive hyphens", label)
		}
		for i := 0; i < len(label); i++ {
			if ch := label[i]; !isASCIILetter(ch) && !isASCIIDigit(ch) && ch != '-' {
				return fmt.Errorf("holds %q: only letters, digits, hyphens and dots are allowed", string(rune(ch)))
			}
		}
	}
	return nil
}

func isASCIILetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
func isASCIIDigit(b byte) bool  { return b >= '0' && b <= '9' }

// kcRef names an object by UUID or by name, as global-scope items do.
type kcRef struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

// check requires exactly one of uuid and name, validates it and normalizes it
// (lower case). param is the item's position, e.g. "[3]", or "".
func (r *kcRef) check(param string) error {
	where := ""
	if param != "" {
		where = " in " + param
	}
	switch {
	case r.UUID == "" && r.Name == "":
		return &kcParamError{param: param, text: "Missing parameter" + where + ": give 'uuid' or 'name'"}
	case r.UUID != "" && r.Name != "":
		return &kcParamError{param: param, text: "Invalid parameters" + where + ": give 'uuid' or 'name', not both"}
	case r.UUID != "":
		return checkKCUUID(joinParam(param, "uuid"), &r.UUID)
	}
	return checkKCNameParam(joinParam(param, "name"), &r.Name)
}

func (r kcRef) view() kcRefView { return kcRefView(r) }

func checkKCUUID(param string, s *string) error {
	u, err := uuid.Parse(*s)
	if err != nil || len(*s) != 36 {
		return &kcParamError{param: param, msg: fmt.Sprintf("%q is not a UUID", *s)}
	}
	*s = u.String()
	return nil
}

// checkKCNameParam validates a name parameter and lower-cases it.
func checkKCNameParam(param string, s *string) error {
	if err := checkKCName(*s, kcMaxName); err != nil {
		return &kcParamError{param: param, msg: fmt.Sprintf("%q is not a valid name: it %v", *s, err)}
	}
	*s = strings.ToLower(*s)
	return nil
}

// kcPathRef reads the object of a local-scope path: a UUID, or leniently a name.
func kcPathRef(r *http.Request) (kcRef, error) {
	seg := r.PathValue("uuid")
	if u, err := uuid.Parse(seg); err == nil && len(seg) == 36 {
		return kcRef{UUID: u.String()}, nil
	}
	ref := kcRef{Name: seg}
	if err := checkKCName(seg, kcMaxName); err != nil {
		return ref, &kcParamError{param: "uuid", msg: fmt.Sprintf("%q in the path is neither a UUID nor a valid name", seg)}
	}
	ref.Name = strings.ToLower(seg)
	return ref, nil
}

func kcNotFound(kind string, ref kcRef) *kcItemErr {
	if ref.UUID != "" {
		return kcFail(ref, KraftCloudErrNotFound, "No %s with UUID '%s'", kind, ref.UUID)
	}
	return kcFail(ref, KraftCloudErrNotFound, "No %s with name '%s'", kind, ref.Name)
}

// --- answers ---

// kcEnvelope is every KraftCloud answer.
type kcEnvelope struct {
	Status  string           `json:"status"`
	Message string           `json:"message,omitempty"`
	Errors  []kcErrorEntry   `json:"errors,omitempty"`
	Data    map[string][]any `json:"data,omitempty"`
}

type kcErrorEntry struct {
	Status  int    `json:"status"`
	Message string `json:"message,omitempty"`
}

// kcItemErr is a failed item. State is the state of an instance a wait gave
// up on.
type kcItemErr struct {
	Status  string `json:"status"`
	UUID    string `json:"uuid,omitempty"`
	Name    string `json:"name,omitempty"`
	State   string `json:"state,omitempty"`
	Message string `json:"message"`
	Error   int    `json:"error"`
}

func kcFail(ref kcRef, code int, format string, a ...any) *kcItemErr {
	return &kcItemErr{Status: "error", UUID: ref.UUID, Name: ref.Name, Message: fmt.Sprintf(format, a...), Error: code}
}

// kcHTTPStatus is the HTTP status a single failed item answers with.
func kcHTTPStatus(code int) int {
	switch code {
	case KraftCloudErrNotFound:
		return http.StatusNotFound
	case KraftCloudErrInvalidState, KraftCloudErrAlreadyExists:
		return http.StatusConflict
	case KraftCloudErrInvalidArgument:
		return http.StatusBadRequest
	case KraftCloudErrUnavailable:
		return http.StatusServiceUnavailable
	case KraftCloudErrTimeout:
		return http.StatusRequestTimeout
	}
	return http.StatusInternalServerError
}

type kcReply struct {
	status int
	body   kcEnvelope
}

const kcPartialMessage = "Failed to perform all operations"

// kcBatchReply answers a global-scope request with every item: 200 unless
// every item failed, then 404 when none was found, else 400 (see kraftCloud).
func kcBatchReply(collection string, items []any) kcReply {
	failed, missing := 0, 0
	for _, it := range items {
		if e, ok := it.(*kcItemErr); ok {
			failed++
			if e.Error == KraftCloudErrNotFound {
				missing++
			}
		}
	}
	env := kcEnvelope{Status: "success", Data: map[string][]any{collection: append([]any{}, items...)}}
	switch {
	case failed > 0 && failed == len(items):
		status := http.StatusBadRequest
		if missing == failed {
			status = http.StatusNotFound
		}
		env.Status, env.Message = "error", kcPartialMessage
		env.Errors = []kcErrorEntry{{Status: status, Message: kcPartialMessage}}
		return kcReply{status, env}
	case failed > 0:
		env.Status, env.Message = "partial_success", kcPartialMessage
	}
	return kcReply{http.StatusOK, env}
}

// kcSingleReply answers a local-scope request or a create: a failed item
// takes the HTTP status of its code.
func kcSingleReply(collection string, item any) kcReply {
	env := kcEnvelope{Status: "success", Data: map[string][]any{collection: {item}}}
	if e, ok := item.(*kcItemErr); ok {
		status := kcHTTPStatus(e.Error)
		env.Status, env.Message = "error", e.Message
		env.Errors = []kcErrorEntry{{Status: status, Message: e.Message}}
		return kcReply{status, env}
	}
	return kcReply{http.StatusOK, env}
}

// kcReplyFor answers as a batch or as a single object, as the request came.
func kcReplyFor(batch bool, collection string, items []any) kcReply {
	if batch || len(items) != 1 {
		return kcBatchReply(collection, items)
	}
	return kcSingleReply(collection, items[0])
}

func kcErrorReply(status int, msg string) kcReply {
	return kcReply{status, kcEnvelope{Status: "error", Message: msg, Errors: []kcErrorEntry{{Status: status, Message: msg}}}}
}

// kcInvalid aborts a request over a bad parameter.
func kcInvalid(err error) kcReply { return kcErrorReply(http.StatusBadRequest, err.Error()) }

func (c *kraftCloud) writeError(w http.ResponseWriter, status int, code, message string) {
	if message == "" {
		message = code
	}
	writeJSON(w, status, kcErrorReply(status, message).body)
}

// authorize checks the bearer token and answers 401 itself when it fails.
func (c *kraftCloud) authorize(w http.ResponseWriter, r *http.Request) bool {
	deny := func(msg string) bool {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kraftcloud"`)
		writeJSON(w, http.StatusUnauthorized, kcErrorReply(http.StatusUnauthorized, msg).body)
		return false
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return deny("Missing Authorization header: send 'Authorization: Bearer <token>'")
	}
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return deny("The Authorization header is not a Bearer token")
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(c.opts.Token)) != 1 {
		return deny("Invalid API token")
	}
	return true
}

// injected is the failure a fail-operation fault imposes on the item named
// name, or nil. Using it marks the fault as hit.
func (c *kraftCloud) injected(r *http.Request, ref kcRef, name string) *kcItemErr {
	ri := infoOf(r)
	if ri.failOp == nil {
		return nil
	}
	if pat := failItemOf(r); pat != "" {
		if ok, _ := path.Match(pat, name); !ok {
			return nil
		}
	}
	ri.failOpUsed = true
	code, err := strconv.Atoi(strings.TrimSpace(ri.failOp.Code))
	if err != nil || code <= 0 {
		code = KraftCloudErrUnavailable
	}
	msg := ri.failOp.Message
	if msg == "" || msg == defaultFailOperationMessage {
		msg = "injected failure"
	}
	if name != "" {
		ref.Name = name
	}
	return kcFail(ref, code, "%s", msg)
}

// defaultFailOperationMessage is the message Fault.normalized gives a
// fail-operation fault without one; KraftCloud items say "injected failure".
const defaultFailOperationMessage = "cloudsim: injected operation failure"

// --- requests ---

// kcParamError is a bad parameter: the whole request is refused.
type kcParamError struct {
	param, msg string
	unknown    bool
	text       string // the whole message, when set
}

func (e *kcParamError) Error() string {
	if e.text != "" {
		return e.text
	}
	if e.unknown {
		return fmt.Sprintf("Unknown parameter '%s'", e.param)
	}
	if e.param == "" {
		return "Invalid request: " + e.msg
	}
	return fmt.Sprintf("Invalid parameter '%s': %s", e.param, e.msg)
}

func badParam(param, format string, a ...any) error {
	return &kcParamError{param: param, msg: fmt.Sprintf(format, a...)}
}

func joinParam(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}

// kcReadBody reads a request body, bounded.
func kcReadBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, &kcParamError{msg: fmt.Sprintf("cannot read the request body: %v", err)}
	}
	if len(body) > maxBodyBytes {
		return nil, &kcParamError{msg: fmt.Sprintf("the request body is larger than %d bytes", maxBodyBytes)}
	}
	return bytes.TrimSpace(body), nil
}

// kcDecode decodes one JSON value into v strictly: unknown parameters,
// ill-typed values and trailing data are errors that name the parameter.
// prefix names the item in a batch, e.g. "[3]".
func kcDecode(data []byte, v any, prefix string) error {
	if err := kcExactKeys(data, reflect.TypeOf(v), prefix); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return kcJSONError(err, prefix)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &kcParamError{param: prefix, msg: "malformed JSON: unexpected data after the value"}
	}
	return nil
}

func kcJSONError(err error, prefix string) error {
	if key, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if k, uerr := strconv.Unquote(key); uerr == nil {
			key = k
		}
		return &kcParamError{param: joinParam(prefix, key), unknown: true}
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			if prefix == "" {
				return &kcParamError{msg: fmt.Sprintf("the body must be a JSON object, not %s", withArticle(typeErr.Value))}
			}
			return &kcParamError{param: prefix, msg: fmt.Sprintf("must be an object, not %s", withArticle(typeErr.Value))}
		}
		return &kcParamError{param: joinParam(prefix, typeErr.Field), msg: fmt.Sprintf("must be %s, not %s", jsonKind(typeErr.Type), withArticle(typeErr.Value))}
	}
	return &kcParamError{param: prefix, msg: describeJSONError(err).Error()}
}

// kcExactKeys reports the first object key in data that names no parameter
// of t, with its full path ("service_group.services[0].port"). It also
// catches what DisallowUnknownFields lets through: encoding/json matches
// keys case-insensitively, the API does not. Values of the wrong type are
// left to the decoder.
func kcExactKeys(data []byte, t reflect.Type, param string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) != nil {
			return nil
		}
		fields := kcFieldsOf(t)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			ft, ok := fields[k]
			if !ok {
				return &kcParamError{param: joinParam(param, k), unknown: true}
			}
			if err := kcExactKeys(m[k], ft, joinParam(param, k)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 { // json.RawMessage: anything goes
			return nil
		}
		var items []json.RawMessage
		if json.Unmarshal(data, &items) != nil {
			return nil
		}
		for i, it := range items {
			if err := kcExactKeys(it, t.Elem(), fmt.Sprintf("%s[%d]", param, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

var kcFieldCache sync.Map // reflect.Type → map[string]reflect.Type

// kcFieldsOf maps the JSON names of a struct's fields, embedded structs'
// included, to their types.
func kcFieldsOf(t reflect.Type) map[string]reflect.Type {
	if f, ok := kcFieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-":
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			maps.Copy(fields, kcFieldsOf(f.Type))
		case !f.IsExported():
		case name == "":
			fields[f.Name] = f.Type
		default:
			fields[name] = f.Type
		}
	}
	kcFieldCache.Store(t, fields)
	return fields
}

// kcDecodeItems reads a global-scope body: a JSON array of objects, or one
// object (a batch of one). batch reports which it was.
func kcDecodeItems[T any](body []byte) (items []T, batch bool, err error) {
	switch {
	case len(body) == 0:
		return nil, false, &kcParamError{msg: "a JSON array of objects is required in the request body"}
	case body[0] == '{':
		var v T
		if err := kcDecode(body, &v, ""); err != nil {
			return nil, false, err
		}
		return []T{v}, false, nil
	case body[0] != '[':
		return nil, false, &kcParamError{msg: "the body must be a JSON array of objects"}
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, true, &kcParamError{msg: describeJSONError(err).Error()}
	}
	items = make([]T, len(raws))
	for i, raw := range raws {
		p := "[" + strconv.Itoa(i) + "]"
		if len(raw) == 0 || raw[0] != '{' {
			return nil, true, &kcParamError{param: p, msg: "must be an object"}
		}
		if err := kcDecode(raw, &items[i], p); err != nil {
			return nil, true, err
		}
	}
	return items, true, nil
}

// kcDecodeLocal reads the optional body of a local-scope request: nothing,
// or one object.
func kcDecodeLocal(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	if body[0] != '{' {
		return &kcParamError{msg: "the body must be a JSON object"}
	}
	return kcDecode(body, v, "")
}

// checkTimeout validates a timeout in milliseconds: -1 waits without limit.
func checkTimeout(param string, ms int64) error {
	if ms < -1 {
		return badParam(param, "must be -1 (no limit), 0 or a positive number of milliseconds, not %d", ms)
	}
	return nil
}

// --- routes ---

// kcHandler serves one route; it takes the lock itself, because a request
// that waits must not hold it while it sleeps.
type kcHandler func(r *http.Request, body []byte) kcReply

func (c *kraftCloud) route(h kcHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.authorize(w, r) {
			return
		}
		body, err := kcReadBody(r)
		if err != nil {
			rep := kcInvalid(err)
			writeJSON(w, rep.status, rep.body)
			return
		}
		rep := h(r, body)
		writeJSON(w, rep.status, rep.body)
	})
}

func (c *kraftCloud) register(mux *http.ServeMux) {
	h := func(pattern string, fn kcHandler) { mux.Handle(pattern, c.route(fn)) }

	// Instances (kraftcloud_instances.go).
	h("POST /v1/instances", c.createInstance)
	h("GET /v1/instances", kcListOr(c, kcInstances, kcGlobal("instances", c.instanceStatuses)))
	h("GET /v1/instances/status", kcListOr(c, kcInstances, kcGlobal("instances", c.instanceStatuses))) // the reference's example path
	h("DELETE /v1/instances", kcGlobal("instances", c.deleteInstances))
	h("PUT /v1/instances/start", kcGlobal("instances", c.startInstances))
	h("PUT /v1/instances/stop", kcGlobal("instances", c.stopInstances))
	h("GET /v1/instances/wait", kcGlobal("instances", c.waitInstances))
	h("GET /v1/instances/{uuid}", kcLocal[kcNoOptions]("instances", c.instanceStatuses))
	h("DELETE /v1/instances/{uuid}", kcLocal[kcNoOptions]("instances", c.deleteInstances))
	h("PUT /v1/instances/{uuid}/start", kcLocal[kcStartOptions]("instances", c.startInstances))
	h("PUT /v1/instances/{uuid}/stop", kcLocal[kcStopOptions]("instances", c.stopInstances))
	h("GET /v1/instances/{uuid}/wait", kcLocal[kcWaitOptions]("instances", c.waitInstances))

	// Service groups (kraftcloud_services.go).
	h("POST /v1/services", kcCreate(c, kcGroups, "sg", c.createGroup))
	h("GET /v1/services", kcListOr(c, kcGroups, kcGlobal("service_groups", c.groupStatuses)))
	h("DELETE /v1/services", kcGlobal("service_groups", c.deleteGroups))
	h("GET /v1/services/{uuid}", kcLocal[kcNoOptions]("service_groups", c.groupStatuses))
	h("DELETE /v1/services/{uuid}", kcLocal[kcNoOptions]("service_groups", c.deleteGroups))
	h("GET /v1/services/{uuid}/autoscale", kcLocal[kcNoOptions]("autoscale_configs", c.getAutoscale))
	h("POST /v1/services/{uuid}/autoscale", requireAutoscaleBody(kcLocal[kcAutoscaleRequest]("autoscale_configs", c.createAutoscale)))
	h("DELETE /v1/services/{uuid}/autoscale", kcLocal[kcNoOptions]("autoscale_configs", c.deleteAutoscale))

	// Volumes (kraftcloud_volumes.go).
	h("POST /v1/volumes", kcCreate(c, kcVolumes, "vol", c.createVolume))
	h("GET /v1/volumes", kcListOr(c, kcVolumes, kcGlobal("volumes", c.volumeStatuses)))
	h("DELETE /v1/volumes", kcGlobal("volumes", c.deleteVolumes))
	h("PUT /v1/volumes/attach", kcGlobal("volumes", c.attachVolumes))
	h("PUT /v1/volumes/detach", kcGlobal("volumes", c.detachVolumes))
	h("GET /v1/volumes/{uuid}", kcLocal[kcNoOptions]("volumes", c.volumeStatuses))
	h("DELETE /v1/volumes/{uuid}", kcLocal[kcNoOptions]("volumes", c.deleteVolumes))
	h("PUT /v1/volumes/{uuid}/attach", kcLocal[kcAttachOptions]("volumes", c.attachVolumes))
	h("PUT /v1/volumes/{uuid}/detach", kcLocal[kcDetachOptions]("volumes", c.detachVolumes))

	const fallback = "/v1/"
	mux.Handle(fallback, unknownEndpoint(mux, fallback, c.authorize, func(w http.ResponseWriter, status int, msg string) {
		c.writeError(w, status, "", msg)
	}))
}
