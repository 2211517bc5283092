package cloudsim

import (
	"cmp"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/google/uuid"
)

// CloudCrusoe is the Crusoe Cloud simulator's name in Inventory, Fault.Cloud,
// RequestRecord.Cloud and SetOperationLatency.
const CloudCrusoe = "crusoe"

// Defaults of the Crusoe simulator. DefaultCrusoeSecretKey is base64url
// without padding, like the keys Crusoe issues.
const (
	DefaultCrusoeAccessKeyID      = "cloudsim-access-key"
	DefaultCrusoeSecretKey        = "Y2xvdWRzaW0tc2VjcmV0IQ"
	DefaultCrusoeProjectID        = "5f1c2a3e-0d4b-4c8e-9a7f-6b5e4d3c2b1a"
	DefaultCrusoeOperationLatency = 2 * time.Second
	DefaultCrusoeOperationExpiry  = time.Hour
)

// Fixtures of the Crusoe simulator: they exist from the start, survive Reset
// and are not part of the Inventory.
const (
	// DefaultCrusoeVPCNetworkID is the ID of the VPC network named "default".
	DefaultCrusoeVPCNetworkID   = "8d2f6a41-3c7e-4b19-a0d5-1e9f7c3b2a60"
	DefaultCrusoeVPCNetworkName = "default"
	DefaultCrusoeVPCNetworkCIDR = "172.27.0.0/16"
)

// crusoeClockSkew is how far X-Crusoe-Timestamp may be from the server's clock.
const crusoeClockSkew = 5 * time.Minute

// CrusoeOptions configures the Crusoe Cloud v1alpha5 simulator. Zero values
// take the defaults above.
type CrusoeOptions struct {
	AccessKeyID, SecretKey, ProjectID string
	// OperationLatency is how long an asynchronous operation stays
	// IN_PROGRESS. 0 takes the default (2s); a negative value makes
	// operations complete as of the next request.
	OperationLatency time.Duration
	// OperationExpiry is how long a completed operation stays readable
	// before GET .../operations/{id} answers 403. 0 takes the default (1h);
	// a negative value keeps operations forever.
	OperationExpiry time.Duration
}

func (o CrusoeOptions) withDefaults() CrusoeOptions {
	o.AccessKeyID = cmp.Or(o.AccessKeyID, DefaultCrusoeAccessKeyID)
	o.SecretKey = cmp.Or(o.SecretKey, DefaultCrusoeSecretKey)
	o.ProjectID = cmp.Or(o.ProjectID, DefaultCrusoeProjectID)
	o.OperationLatency = durationOption(o.OperationLatency, DefaultCrusoeOperationLatency)
	o.OperationExpiry = durationOption(o.OperationExpiry, DefaultCrusoeOperationExpiry)
	return o
}

// Operation families: each serves its operations under its own path.
const (
	crusoeFamVMs       = "vms"
	crusoeFamDisks     = "disks"
	crusoeFamSnapshots = "snapshots"
	crusoeFamRules     = "firewall-rules"
	crusoeFamNetworks  = "vpc-networks"
	crusoeFamSubnets   = "vpc-subnets"
	crusoeFamLBs       = "load-balancers"
)

// crusoeLocations are the locations the simulator knows, each with a default subnet.
var crusoeLocations = []struct{ name, subnetID, cidr string }{
	{"us-northcentral1-a", "3b0e9f52-7a14-4c6d-8e21-5f4a9b7c0d13", "172.27.0.0/20"},
	{"us-east1-a", "c74d1e08-92b5-4f3a-b6e0-0a8d3c5f7e24", "172.27.16.0/20"},
}

// crusoeCloud simulates Crusoe Cloud v1alpha5 for one project.
type crusoeCloud struct {
	env  env
	opts CrusoeOptions

	mu  sync.Mutex // guards everything below
	ops *opClock
	st  *crusoeState
}

// crusoeState is the project's resources.
type crusoeState struct {
	vms       table[crusoeVM]
	disks     table[crusoeDisk]
	snapshots table[crusoeSnapshot]
	rules     table[crusoeFirewallRule]
	networks  table[crusoeNetwork]
	subnets   table[crusoeSubnet]
	lbs       table[crusoeLoadBalancer]
	templates table[crusoeTemplate]
	groups    table[crusoeGroup]

	publicIPs  int            // public addresses handed out
	privateIPs map[string]int // per subnet
	macs       int
}

func newCrusoe(e env, opts CrusoeOptions) *crusoeCloud {
	c := &crusoeCloud{env: e, opts: opts.withDefaults()}
	c.ops = newOpClock(c.opts.OperationLatency, c.opts.OperationExpiry)
	c.st = c.seed()
	if _, err := crusoe.Sign(c.opts.SecretKey, "/", nil, "GET", ""); err != nil {
		e.log.Error("cloudsim: the Crusoe secret key is unusable: every request will be refused", "error", err)
	}
	return c
}

func (c *crusoeCloud) name() string   { return CloudCrusoe }
func (c *crusoeCloud) prefix() string { return "/v1alpha5/" }

// seed builds the fixtures: the default VPC network and its subnets.
func (c *crusoeCloud) seed() *crusoeState {
	st := &crusoeState{privateIPs: map[string]int{}}
	network := &crusoeNetwork{
		CIDR: DefaultCrusoeVPCNetworkCIDR, Gateway: "4e6a2c90-5b3d-4f17-9c8e-2d1b0a7f6e35",
		ID: DefaultCrusoeVPCNetworkID, Name: DefaultCrusoeVPCNetworkName, fixture: true,
	}
	st.networks.put(network.ID, network)
	for _, l := range crusoeLocations {
		st.subnets.put(l.subnetID, &crusoeSubnet{
			CIDR: l.cidr, ID: l.subnetID, Location: l.name, Name: "default-subnet",
			VPCNetworkID: network.ID, fixture: true,
		})
	}
	return st
}

func (c *crusoeCloud) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops.reset()
	c.ops.latency = c.opts.OperationLatency
	c.st = c.seed()
}

func (c *crusoeCloud) setOperationLatency(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops.latency = d
}

func (c *crusoeCloud) inventory() inventory {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops.settle(c.env.now())
	st := c.st
	inv := inventory{}
	for _, v := range st.vms.all() {
		inv.add("vms", c.renderVM(v))
	}
	for _, d := range st.disks.all() {
		inv.add("disks", d.render())
	}
	for _, s := range st.snapshots.all() {
		inv.add("snapshots", s)
	}
	for _, r := range st.rules.all() {
		inv.add("firewall-rules", r.render())
	}
	for _, n := range st.networks.all() {
		if !n.fixture {
			inv.add("vpc-networks", c.renderNetwork(n))
		}
	}
	for _, s := range st.subnets.all() {
		if !s.fixture {
			inv.add("vpc-subnets", s)
		}
	}
	for _, lb := range st.lbs.all() {
		inv.add("load-balancers", lb.render())
	}
	for _, t := range st.templates.all() {
		inv.add("instance-templates", t.render())
	}
	for _, g := range st.groups.all() {
		inv.add("instance-groups", c.renderGroup(g))
	}
	return inv
}

// crusoeError is an error answer of the Crusoe API.
type crusoeError struct {
	status        int
	code, message string
}

func (e *crusoeError) Error() string { return e.message }

func crusoeBadRequest(format string, a ...any) error {
	return &crusoeError{http.StatusBadRequest, "bad_request", fmt.Sprintf(format, a...)}
}

func crusoeNotFound(kind, id string) error {
	return &crusoeError{http.StatusNotFound, "not_found", fmt.Sprintf("%s %s not found", kind, id)}
}

func crusoeConflict(kind, name string) error {
	return &crusoeError{http.StatusConflict, "already_exists", fmt.Sprintf("a %s named %q already exists in the project", kind, name)}
}

// crusoeErrorBody is the error body of every Crusoe answer.
type crusoeErrorBody struct {
	Code    string `json:"code"`
	ErrorID string `json:"error_id"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
}

func (c *crusoeCloud) writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, crusoeErrorBody{Code: code, ErrorID: uuid.NewString(), Message: message, Reason: statusCode(status)})
}

func (c *crusoeCloud) errorBody(err error) (int, []byte) {
	var ce *crusoeError
	if !errors.As(err, &ce) {
		ce = &crusoeError{http.StatusBadRequest, "bad_request", err.Error()}
	}
	b, _ := json.Marshal(crusoeErrorBody{Code: ce.code, ErrorID: uuid.NewString(), Message: ce.message, Reason: statusCode(ce.status)})
	return ce.status, b
}

// authorize checks the request signature and the project, and answers the
// error itself when they fail.
func (c *crusoeCloud) authorize(w http.ResponseWriter, r *http.Request) bool {
	deny := func(reason string) bool {
		writeJSON(w, http.StatusUnauthorized, crusoeErrorBody{Code: "401", ErrorID: uuid.NewString(), Message: "bad_credential", Reason: reason})
		return false
	}
	stamp := r.Header.Get("X-Crusoe-Timestamp")
	if stamp == "" {
		return deny("missing X-Crusoe-Timestamp header")
	}
	t, err := time.Parse(time.RFC3339, stamp)
	if err != nil {
		return deny(fmt.Sprintf("X-Crusoe-Timestamp %q is not an RFC 3339 time", stamp))
	}
	if skew := c.env.now().Sub(t); skew > crusoeClockSkew || skew < -crusoeClockSkew {
		return deny(fmt.Sprintf("X-Crusoe-Timestamp %s is more than %s away from the server time", stamp, crusoeClockSkew))
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return deny("missing Authorization header")
	}
	keyID, sig, err := crusoe.ParseAuthorization(auth)
	if err != nil {
		return deny(err.Error())
	}
	if keyID != c.opts.AccessKeyID {
		return deny("unknown access key")
	}
	want, err := crusoe.Sign(c.opts.SecretKey, r.URL.Path, r.URL.Query(), r.Method, stamp)
	if err != nil || !hmac.Equal([]byte(sig), []byte(want)) {
		return deny("signature does not match the request")
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/v1alpha5/projects/"); ok {
		project, _, _ := strings.Cut(rest, "/")
		if project != c.opts.ProjectID {
			c.writeError(w, http.StatusForbidden, "permission_denied", fmt.Sprintf("project %s does not exist or is not accessible with this key", project))
			return false
		}
	}
	return true
}

// crusoeHandler serves one route under the cloud's lock, with due operations
// completed; it returns the body to answer 200 with, or an error.
type crusoeHandler func(r *http.Request) (any, error)

func (c *crusoeCloud) route(h crusoeHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.authorize(w, r) {
			return
		}
		// Render under the lock, write after it: a slow client holds nothing.
		status, body := c.serveLocked(h, r)
		writeRawJSON(w, status, body)
	})
}

func (c *crusoeCloud) serveLocked(h crusoeHandler, r *http.Request) (int, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops.settle(c.env.now())
	v, err := h(r)
	if err != nil {
		return c.errorBody(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return c.errorBody(&crusoeError{http.StatusInternalServerError, "internal_error", "cloudsim: cannot encode response: " + err.Error()})
	}
	return http.StatusOK, b
}

// register wires every route of NOTES.md "Paths". A mutation of an item
// (delete, patch, attach, detach) goes through idle: it is refused while an
// operation on that item is in progress.
func (c *crusoeCloud) register(mux *http.ServeMux) {
	const base = "/v1alpha5/projects/{project_id}/"
	h := func(method, p string, fn crusoeHandler) { mux.Handle(method+" "+base+p, c.route(fn)) }

	h("GET", "compute/vms/instances", c.listVMs)
	h("POST", "compute/vms/instances", c.createVM)
	h("GET", "compute/vms/instances/{vm_id}", c.getVM)
	h("DELETE", "compute/vms/instances/{vm_id}", c.idle("vm", "vm_id", c.deleteVM))
	h("PATCH", "compute/vms/instances/{vm_id}", c.idle("vm", "vm_id", c.updateVM))
	h("POST", "compute/vms/instances/{vm_id}/attach-disks", c.idle("vm", "vm_id", c.attachDisks))
	h("POST", "compute/vms/instances/{vm_id}/detach-disks", c.idle("vm", "vm_id", c.detachDisks))
	h("POST", "compute/vms/bulk-instances", c.bulkCreateVMs)
	h("GET", "compute/vms/types", c.listVMTypes)
	c.registerOperations(h, "compute/vms/instances/operations", crusoeFamVMs)

	h("GET", "compute/instance-templates", c.listTemplates)
	h("POST", "compute/instance-templates", c.createTemplate)
	h("GET", "compute/instance-templates/{instance_template_id}", c.getTemplate)
	h("DELETE", "compute/instance-templates/{instance_template_id}", c.deleteTemplate)
	h("GET", "compute/instance-groups", c.listGroups)
	h("POST", "compute/instance-groups", c.createGroup)
	h("GET", "compute/instance-groups/{instance_group_id}", c.getGroup)
	h("PATCH", "compute/instance-groups/{instance_group_id}", c.updateGroup)
	h("DELETE", "compute/instance-groups/{instance_group_id}", c.deleteGroup)

	h("GET", "storage/disks", c.listDisks)
	h("POST", "storage/disks", c.createDisk)
	h("GET", "storage/disks/{disk_id}", c.getDisk)
	h("DELETE", "storage/disks/{disk_id}", c.idle("disk", "disk_id", c.deleteDisk))
	h("PATCH", "storage/disks/{disk_id}", c.idle("disk", "disk_id", c.resizeDisk))
	c.registerOperations(h, "storage/disks/operations", crusoeFamDisks)
	h("GET", "storage/snapshots", c.listSnapshots)
	h("POST", "storage/snapshots", c.createSnapshot)
	h("GET", "storage/snapshots/{snapshot_id}", c.getSnapshot)
	h("DELETE", "storage/snapshots/{snapshot_id}", c.idle("snapshot", "snapshot_id", c.deleteSnapshot))
	c.registerOperations(h, "storage/snapshots/operations", crusoeFamSnapshots)

	h("GET", "networking/vpc-firewall-rules", c.listRules)
	h("POST", "networking/vpc-firewall-rules", c.createRule)
	h("GET", "networking/vpc-firewall-rules/{rule_id}", c.getRule)
	h("PATCH", "networking/vpc-firewall-rules/{rule_id}", c.idle("vpc firewall rule", "rule_id", c.updateRule))
	h("DELETE", "networking/vpc-firewall-rules/{rule_id}", c.idle("vpc firewall rule", "rule_id", c.deleteRule))
	c.registerOperations(h, "networking/vpc-firewall-rules/operations", crusoeFamRules)
	h("GET", "networking/vpc-networks", c.listNetworks)
	h("POST", "networking/vpc-networks", c.createNetwork)
	h("GET", "networking/vpc-networks/{network_id}", c.getNetwork)
	h("PATCH", "networking/vpc-networks/{network_id}", c.idle("vpc network", "network_id", c.updateNetwork))
	h("DELETE", "networking/vpc-networks/{network_id}", c.idle("vpc network", "network_id", c.deleteNetwork))
	c.registerOperations(h, "networking/vpc-networks/operations", crusoeFamNetworks)
	h("GET", "networking/vpc-subnets", c.listSubnets)
	h("POST", "networking/vpc-subnets", c.createSubnet)
	h("GET", "networking/vpc-subnets/{subnet_id}", c.getSubnet)
	h("PATCH", "networking/vpc-subnets/{subnet_id}", c.idle("vpc subnet", "subnet_id", c.updateSubnet))
	h("DELETE", "networking/vpc-subnets/{subnet_id}", c.idle("vpc subnet", "subnet_id", c.deleteSubnet))
	c.registerOperations(h, "networking/vpc-subnets/operations", crusoeFamSubnets)
	h("GET", "networking/load-balancers", c.listLBs)
	h("POST", "networking/load-balancers", c.createLB)
	h("GET", "networking/load-balancers/{lb_id}", c.getLB)
	h("PATCH", "networking/load-balancers/{lb_id}", c.idle("load balancer", "lb_id", c.updateLB))
	h("DELETE", "networking/load-balancers/{lb_id}", c.idle("load balancer", "lb_id", c.deleteLB))
	c.registerOperations(h, "networking/load-balancers/operations", crusoeFamLBs)

	const fallback = "/v1alpha5/"
	mux.Handle(fallback, unknownEndpoint(mux, fallback, c.authorize, func(w http.ResponseWriter, status int, msg string) {
		code := "not_found"
		if status == http.StatusMethodNotAllowed {
			code = "method_not_allowed"
		}
		c.writeError(w, status, code, msg)
	}))
}

// table is an insertion-ordered map of resources by ID.
type table[T any] struct {
	m   map[string]*T
	ids []string
}

func (t *table[T]) put(id string, v *T) {
	if t.m == nil {
		t.m = map[string]*T{}
	}
	if _, ok := t.m[id]; !ok {
		t.ids = append(t.ids, id)
	}
	t.m[id] = v
}

func (t *table[T]) get(id string) *T { return t.m[id] }

func (t *table[T]) del(id string) {
	if _, ok := t.m[id]; !ok {
		return
	}
	delete(t.m, id)
	for i, x := range t.ids {
		if x == id {
			t.ids = append(t.ids[:i], t.ids[i+1:]...)
			break
		}
	}
}

func (t *table[T]) all() []*T {
	out := make([]*T, 0, len(t.ids))
	for _, id := range t.ids {
		out = append(out, t.m[id])
	}
	return out
}

func (t *table[T]) find(pred func(*T) bool) *T {
	for _, id := range t.ids {
		if v := t.m[id]; pred(v) {
			return v
		}
	}
	return nil
}

// ts renders a time as the Crusoe API does.
func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func newID() string { return uuid.NewString() }

// list wraps items the way every Crusoe list answers.
type crusoeList[T any] struct {
	Items []T `json:"items"`
}

func listOf[T any](items []T) crusoeList[T] {
	if items == nil {
		items = []T{}
	}
	return crusoeList[T]{Items: items}
}
