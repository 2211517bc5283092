package crusoe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
)

// Family is the path of a resource family relative to /projects/{id}/; each
// has its own operations endpoints, and an operation must be polled in the
// family that started it.
type Family string

// The resource families that have operations endpoints.
const (
	FamilyVMs           Family = "compute/vms/instances"
	FamilyDisks         Family = "storage/disks"
	FamilySnapshots     Family = "storage/snapshots"
	FamilyFirewallRules Family = "networking/vpc-firewall-rules"
	FamilyVPCNetworks   Family = "networking/vpc-networks"
	FamilyVPCSubnets    Family = "networking/vpc-subnets"
	FamilyLoadBalancers Family = "networking/load-balancers"
)

// Operation states.
const (
	OperationInProgress = "IN_PROGRESS"
	OperationSucceeded  = "SUCCEEDED"
	OperationFailed     = "FAILED"
)

// Operation is an asynchronous change started by a mutating call.
type Operation struct {
	OperationID string          `json:"operation_id"`
	State       string          `json:"state"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	// Result holds the resource once SUCCEEDED, or {code, message} once FAILED.
	Result      json.RawMessage `json:"result,omitempty"`
	StartedAt   string          `json:"started_at,omitempty"`
	CompletedAt string          `json:"completed_at,omitempty"`
}

// Done reports whether the operation reached a terminal state.
func (o *Operation) Done() bool {
	return o != nil && (o.State == OperationSucceeded || o.State == OperationFailed)
}

// Succeeded reports whether the operation completed successfully.
func (o *Operation) Succeeded() bool { return o != nil && o.State == OperationSucceeded }

// Failure is the operation's error once it FAILED, and nil otherwise.
func (o *Operation) Failure() *OperationError {
	if o == nil || o.State != OperationFailed {
		return nil
	}
	var r struct {
		Code    flexString `json:"code"`
		Message string     `json:"message"`
	}
	oe := &OperationError{}
	if apihttp.IsNullJSON(o.Result) {
		oe.Message = "no reason given"
		return oe
	}
	if err := json.Unmarshal(o.Result, &r); err != nil {
		oe.Message = strings.TrimSpace(string(o.Result))
		return oe
	}
	var rpcCode string
	oe.Code = string(r.Code)
	oe.Message, rpcCode = cleanRPCMessage(r.Message)
	if oe.Code == "" {
		oe.Code = rpcCode
	}
	if oe.Message == "" {
		oe.Message = "no reason given"
	}
	return oe
}

// DecodeResult decodes the result of a SUCCEEDED operation (the resource it
// made or changed) into v. It returns the failure of a FAILED operation, and
// an error when the operation is not done or has no result.
func (o *Operation) DecodeResult(v any) error {
	if o == nil {
		return errors.New("crusoe: nil operation")
	}
	if f := o.Failure(); f != nil {
		return f
	}
	if o.State != OperationSucceeded {
		return fmt.Errorf("crusoe: operation %s is %s, not %s", o.OperationID, o.State, OperationSucceeded)
	}
	if apihttp.IsNullJSON(o.Result) {
		return fmt.Errorf("crusoe: operation %s has no result", o.OperationID)
	}
	if err := json.Unmarshal(o.Result, v); err != nil {
		return fmt.Errorf("crusoe: decoding result of operation %s: %w", o.OperationID, err)
	}
	return nil
}

// OperationError is the cloud's reason for a FAILED operation.
type OperationError struct {
	Code    string
	Message string
}

func (e *OperationError) Error() string {
	s := "crusoe: operation failed: " + e.Message
	if e.Code != "" {
		s += " (code " + e.Code + ")"
	}
	return s
}

// OperationsService polls the operations of every resource family.
type OperationsService service

// OperationListOptions filters OperationsService.List.
type OperationListOptions struct {
	ResourceID string
	// States are sent as repeated state parameters, e.g. IN_PROGRESS.
	States []string
	// LowerTimeBound is an RFC 3339 time (the VM family honours it).
	LowerTimeBound string
}

func (o *OperationListOptions) query() url.Values {
	if o == nil {
		return nil
	}
	q := url.Values{}
	if o.ResourceID != "" {
		q.Set("resource_id", o.ResourceID)
	}
	for _, s := range o.States {
		if s != "" {
			q.Add("state", s)
		}
	}
	if o.LowerTimeBound != "" {
		q.Set("lower_time_bound", o.LowerTimeBound)
	}
	return q
}

func checkFamily(f Family) error {
	s := string(f)
	if s == "" {
		return invalid("resource family is required")
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == "" || seg == "." || seg == ".." || url.PathEscape(seg) != seg {
			return invalid("resource family %q is not a path like %q", s, FamilyVMs)
		}
	}
	return nil
}

// Get fetches one operation of a family. An unknown or expired operation
// answers 403.
func (s *OperationsService) Get(ctx context.Context, projectID string, family Family, operationID string) (*Operation, error) {
	if err := checkFamily(family); err != nil {
		return nil, err
	}
	p, err := s.client.resourcePath(projectID, string(family)+"/operations", "operation ID", operationID)
	if err != nil {
		return nil, err
	}
	// The reference answers the bare operation; accept {"operation": ...} as well.
	var env struct {
		Operation
		Wrapped *Operation `json:"operation"`
	}
	if err := s.client.do(ctx, http.MethodGet, p, nil, nil, &env); err != nil {
		return nil, err
	}
	if env.OperationID == "" && env.Wrapped != nil {
		return env.Wrapped, nil
	}
	op := env.Operation
	return &op, nil
}

// List fetches the operations of a family that are in flight or not yet queried.
func (s *OperationsService) List(ctx context.Context, projectID string, family Family, opts *OperationListOptions) ([]Operation, error) {
	if err := checkFamily(family); err != nil {
		return nil, err
	}
	p, err := s.client.resourcePath(projectID, string(family)+"/operations", "", "")
	if err != nil {
		return nil, err
	}
	return list[Operation](ctx, s.client, p, opts.query())
}
