package kraftcloud

import (
	"context"
	"encoding/json"
	"net/http"
)

// AutoscaleService manages the autoscale configuration of service groups
// (/v1/services/{uuid}/autoscale).
type AutoscaleService service

// AutoscaleConfig is a service group's autoscale configuration. Policies are
// kept as the API sends them.
type AutoscaleConfig struct {
	ItemStatus
	// UUID and Name are the service group's.
	UUID           string            `json:"uuid,omitempty"`
	Name           string            `json:"name,omitempty"`
	Enabled        bool              `json:"enabled"`
	MinSize        int               `json:"min_size,omitempty"`
	MaxSize        int               `json:"max_size,omitempty"`
	WarmupTimeMs   int               `json:"warmup_time_ms,omitempty"`
	CooldownTimeMs int               `json:"cooldown_time_ms,omitempty"`
	Master         *Ref              `json:"master,omitempty"`
	Policies       []json.RawMessage `json:"policies,omitempty"`
}

// AutoscaleConfigRequest is the body of AutoscaleService.Create. MinSize and
// MaxSize are pointers so that zero (scale to nothing) can be sent.
type AutoscaleConfigRequest struct {
	MinSize        *int              `json:"min_size,omitempty"`
	MaxSize        *int              `json:"max_size,omitempty"`
	WarmupTimeMs   int               `json:"warmup_time_ms,omitempty"`
	CooldownTimeMs int               `json:"cooldown_time_ms,omitempty"`
	Master         *Ref              `json:"master,omitempty"`
	Policies       []json.RawMessage `json:"policies,omitempty"`
}

const autoscaleCollection = "autoscale_configs"

func autoscaleRequest(method, serviceGroupUUID string, body any) (request, error) {
	if err := checkID("service group UUID", serviceGroupUUID); err != nil {
		return request{}, err
	}
	return request{method: method, path: "services/" + serviceGroupUUID + "/autoscale", body: body, collection: autoscaleCollection}, nil
}

// Get fetches a service group's autoscale configuration (GET /services/{uuid}/autoscale).
func (s *AutoscaleService) Get(ctx context.Context, serviceGroupUUID string) (*AutoscaleConfig, error) {
	r, err := autoscaleRequest(http.MethodGet, serviceGroupUUID, nil)
	if err != nil {
		return nil, err
	}
	return one[AutoscaleConfig](ctx, s.client, r)
}

// Create sets a service group's autoscale configuration (POST /services/{uuid}/autoscale).
func (s *AutoscaleService) Create(ctx context.Context, serviceGroupUUID string, req *AutoscaleConfigRequest) (*AutoscaleConfig, error) {
	if req == nil {
		return nil, invalid("autoscale config request is nil")
	}
	if err := checkAutoscale(req); err != nil {
		return nil, err
	}
	r, err := autoscaleRequest(http.MethodPost, serviceGroupUUID, req)
	if err != nil {
		return nil, err
	}
	return one[AutoscaleConfig](ctx, s.client, r)
}

// Delete removes a service group's autoscale configuration (DELETE /services/{uuid}/autoscale).
func (s *AutoscaleService) Delete(ctx context.Context, serviceGroupUUID string) (*AutoscaleConfig, error) {
	r, err := autoscaleRequest(http.MethodDelete, serviceGroupUUID, nil)
	if err != nil {
		return nil, err
	}
	return one[AutoscaleConfig](ctx, s.client, r)
}

func checkAutoscale(req *AutoscaleConfigRequest) error {
	if req.MinSize != nil {
		if err := nonNegative("min_size", *req.MinSize); err != nil {
			return err
		}
	}
	if req.MaxSize != nil {
		if err := nonNegative("max_size", *req.MaxSize); err != nil {
			return err
		}
	}
	if req.MinSize != nil && req.MaxSize != nil && *req.MinSize > *req.MaxSize {
		return invalid("min_size %d is greater than max_size %d", *req.MinSize, *req.MaxSize)
	}
	if err := firstError(
		nonNegative("warmup_time_ms", req.WarmupTimeMs),
		nonNegative("cooldown_time_ms", req.CooldownTimeMs),
	); err != nil {
		return err
	}
	if req.Master != nil {
		return checkRef("master", *req.Master)
	}
	return nil
}
