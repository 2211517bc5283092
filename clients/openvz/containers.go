package openvz

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
)

// ContainersService manages containers (/containers/).
type ContainersService service

// Container is a container as GET /containers/{id} renders it.
type Container struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	OSTemplate string `json:"ostemplate"`
	// Parameters are the ones set by Update; nil (JSON null) until then.
	Parameters *ContainerParameters `json:"parameters"`
	// CreatedAt is an RFC 3339 time, e.g. "2020-10-16T15:16:16Z".
	CreatedAt string `json:"created_at"`
}

// ContainerCreateRequest is the body of ContainersService.Create. Name is
// 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit;
// OSTemplate (e.g. "centos-7-x86_64") follows the same rule with up to 128
// characters.
type ContainerCreateRequest struct {
	Name       string `json:"name"`
	OSTemplate string `json:"ostemplate"`
}

// Create enqueues the creation of a container and returns its job (HTTP 202),
// with only the job's ID set: poll JobsService.Get until it is done. The
// container exists, for Get and List, only once the job is done; a name that
// is taken, even by a container whose job is still pending, answers 422
// (IsDuplicate).
func (s *ContainersService) Create(ctx context.Context, req *ContainerCreateRequest) (*Job, error) {
	if req == nil {
		return nil, invalid("container create request is nil")
	}
	if err := checkName("container name", req.Name, maxNameLen); err != nil {
		return nil, err
	}
	if err := checkName("container ostemplate", req.OSTemplate, maxTemplateLen); err != nil {
		return nil, err
	}
	var out struct {
		JobID string `json:"job_id"`
	}
	if err := s.client.do(ctx, http.MethodPost, "containers/", req, &out); err != nil {
		return nil, err
	}
	if out.JobID == "" {
		return nil, s.client.malformed(http.MethodPost, "containers/", "response has no job_id")
	}
	return &Job{ID: out.JobID}, nil
}

// List fetches every container; the answer is never nil.
func (s *ContainersService) List(ctx context.Context) ([]Container, error) {
	// The reference does not show this answer: it is taken as
	// {"containers": [...]} like GET's {"container": {...}}, or a bare array.
	var raw json.RawMessage
	if err := s.client.do(ctx, http.MethodGet, "containers/", nil, &raw); err != nil {
		return nil, err
	}
	out := []Container{}
	raw = bytes.TrimSpace(raw)
	var err error
	switch {
	case len(raw) == 0:
	case raw[0] == '[':
		err = json.Unmarshal(raw, &out)
	default:
		var env struct {
			Containers []Container `json:"containers"`
		}
		if err = json.Unmarshal(raw, &env); err == nil && env.Containers != nil {
			out = env.Containers
		}
	}
	if err != nil {
		return nil, s.client.malformed(http.MethodGet, "containers/", "decoding containers: %v", err)
	}
	return out, nil
}

// Get fetches one container. A container whose create job is not done yet,
// or that never existed, answers 404 (IsNotFound).
func (s *ContainersService) Get(ctx context.Context, id string) (*Container, error) {
	if err := checkID("container ID", id); err != nil {
		return nil, err
	}
	var env struct {
		Container *Container `json:"container"`
	}
	if err := s.client.do(ctx, http.MethodGet, "containers/"+id, nil, &env); err != nil {
		return nil, err
	}
	if env.Container == nil {
		return nil, s.client.malformed(http.MethodGet, "containers/"+id, "response has no container")
	}
	return env.Container, nil
}

// Update sets the parameters that are not empty in p; the others keep their
// values. The change is synchronous. Values are checked before the request
// (see ContainerParameters).
func (s *ContainersService) Update(ctx context.Context, id string, p *ContainerParameters) error {
	if err := checkID("container ID", id); err != nil {
		return err
	}
	if err := p.validate(); err != nil {
		return err
	}
	body := struct {
		Parameters *ContainerParameters `json:"parameters"`
	}{p}
	return s.client.do(ctx, http.MethodPatch, "containers/"+id, body, nil)
}

// Delete deletes a container. It is synchronous; a container that does not
// exist answers 404 (IsNotFound).
func (s *ContainersService) Delete(ctx context.Context, id string) error {
	if err := checkID("container ID", id); err != nil {
		return err
	}
	return s.client.do(ctx, http.MethodDelete, "containers/"+id, nil, nil)
}
