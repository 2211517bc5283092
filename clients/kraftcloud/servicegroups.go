package kraftcloud

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// ServiceGroupsService manages service groups, the published network services
// and load-balancing groups of instances (/v1/services).
type ServiceGroupsService service

// Service publishes Port and forwards it to DestinationPort (the same port
// when zero) through Handlers (e.g. "tls", "http").
type Service struct {
	Port            int      `json:"port"`
	DestinationPort int      `json:"destination_port,omitempty"`
	Handlers        []string `json:"handlers,omitempty"`
}

// Domain is a domain a service group answers on.
type Domain struct {
	FQDN string `json:"fqdn,omitempty"`
	Name string `json:"name,omitempty"`
}

// DomainRequest asks for a domain when creating a service group.
type DomainRequest struct {
	Name string `json:"name"`
}

// ServiceGroup is a service group as the API reports it.
type ServiceGroup struct {
	ItemStatus
	UUID      string    `json:"uuid,omitempty"`
	Name      string    `json:"name,omitempty"`
	Services  []Service `json:"services,omitempty"`
	Domains   []Domain  `json:"domains,omitempty"`
	Instances []Ref     `json:"instances,omitempty"`
	CreatedAt string    `json:"created_at,omitempty"`
}

// ServiceGroupsResult is the answer of a global-scope (batch) call; see
// InstancesResult.
type ServiceGroupsResult struct {
	Status        string         `json:"status"`
	Message       string         `json:"message,omitempty"`
	ServiceGroups []ServiceGroup `json:"service_groups"`
}

// Failed returns the items whose status is not success.
func (r *ServiceGroupsResult) Failed() []ServiceGroup {
	if r == nil {
		return nil
	}
	return failed(r.ServiceGroups)
}

// ServiceGroupCreateRequest is the body of ServiceGroupsService.Create.
type ServiceGroupCreateRequest struct {
	Name     string          `json:"name,omitempty"`
	Services []Service       `json:"services"`
	Domains  []DomainRequest `json:"domains,omitempty"`
}

const serviceGroupsCollection = "service_groups"

func (s *ServiceGroupsService) req(method, path string, body any) request {
	return request{method: method, path: path, body: body, collection: serviceGroupsCollection}
}

func serviceGroupsResult(status, message string, items []ServiceGroup, err error) (*ServiceGroupsResult, error) {
	if err != nil {
		return nil, err
	}
	return &ServiceGroupsResult{Status: status, Message: message, ServiceGroups: items}, nil
}

// Create creates a service group (POST /services).
func (s *ServiceGroupsService) Create(ctx context.Context, req *ServiceGroupCreateRequest) (*ServiceGroup, error) {
	if req == nil {
		return nil, invalid("service group create request is nil")
	}
	if req.Name != "" {
		if err := checkName("name", req.Name); err != nil {
			return nil, err
		}
	}
	if err := checkServices("services", req.Services); err != nil {
		return nil, err
	}
	for i, d := range req.Domains {
		if strings.TrimSpace(d.Name) == "" {
			return nil, invalid("domains[%d].name is required", i)
		}
	}
	body := *req
	if body.Services == nil {
		body.Services = []Service{} // the API wants an array, never null
	}
	return one[ServiceGroup](ctx, s.client, s.req(http.MethodPost, "services", &body))
}

// List fetches every service group (GET /services without a body).
func (s *ServiceGroupsService) List(ctx context.Context) ([]ServiceGroup, error) {
	return list[ServiceGroup](ctx, s.client, s.req(http.MethodGet, "services", nil))
}

// Status fetches the named service groups (GET /services with a body).
func (s *ServiceGroupsService) Status(ctx context.Context, refs []Ref) (*ServiceGroupsResult, error) {
	if err := checkBatch("refs", refs, checkRef); err != nil {
		return nil, err
	}
	return serviceGroupsResult(batch[ServiceGroup](ctx, s.client, s.req(http.MethodGet, "services", refs)))
}

// Get fetches one service group by UUID (GET /services/{uuid}).
func (s *ServiceGroupsService) Get(ctx context.Context, uuid string) (*ServiceGroup, error) {
	if err := checkID("service group UUID", uuid); err != nil {
		return nil, err
	}
	return one[ServiceGroup](ctx, s.client, s.req(http.MethodGet, "services/"+uuid, nil))
}

// Delete deletes service groups (DELETE /services with a body).
func (s *ServiceGroupsService) Delete(ctx context.Context, refs []Ref) (*ServiceGroupsResult, error) {
	if err := checkBatch("refs", refs, checkRef); err != nil {
		return nil, err
	}
	return serviceGroupsResult(batch[ServiceGroup](ctx, s.client, s.req(http.MethodDelete, "services", refs)))
}

// DeleteOne deletes one service group (DELETE /services/{uuid}).
func (s *ServiceGroupsService) DeleteOne(ctx context.Context, uuid string) (*ServiceGroup, error) {
	if err := checkID("service group UUID", uuid); err != nil {
		return nil, err
	}
	return one[ServiceGroup](ctx, s.client, s.req(http.MethodDelete, "services/"+uuid, nil))
}

// checkServices requires valid TCP ports.
func checkServices(field string, services []Service) error {
	for i, svc := range services {
		f := fmt.Sprintf("%s[%d]", field, i)
		if svc.Port < 1 || svc.Port > 65535 {
			return invalid("%s.port %d is not a port (1-65535)", f, svc.Port)
		}
		if svc.DestinationPort < 0 || svc.DestinationPort > 65535 {
			return invalid("%s.destination_port %d is not a port (1-65535)", f, svc.DestinationPort)
		}
	}
	return nil
}
