package openvz

import (
	"context"
	"fmt"
	"net/http"
)

// JobsService polls the jobs that enqueued operations return (/jobs/{id}).
type JobsService service

// Job statuses.
const (
	JobPending = "pending"
	JobDone    = "done"
	JobFailed  = "failed"
)

// EntityContainer is the entity type of a container's job.
const EntityContainer = "container"

// Job is an enqueued operation. The API's job answer does not repeat the
// job's ID: the client fills it in.
type Job struct {
	ID string `json:"-"`
	// Status is JobPending, JobDone or JobFailed; empty in the Job that
	// ContainersService.Create returns, since the create answer has none.
	Status string `json:"status"`
	// EntityType ("container") and EntityID name what the job acts on: once
	// the job is done, ContainersService.Get(EntityID) finds the container.
	EntityType string `json:"entity_type"`
	EntityID   string `json:"entity_id"`
}

// Done reports whether the job reached a final status, done or failed.
func (j *Job) Done() bool { return j != nil && (j.Status == JobDone || j.Status == JobFailed) }

// Succeeded reports whether the job is done.
func (j *Job) Succeeded() bool { return j != nil && j.Status == JobDone }

// Err is a *JobError when the job failed, and nil otherwise.
func (j *Job) Err() error {
	if j == nil || j.Status != JobFailed {
		return nil
	}
	return &JobError{JobID: j.ID, EntityType: j.EntityType, EntityID: j.EntityID}
}

// JobError is a failed job. The API gives no reason for a failure.
type JobError struct {
	JobID      string
	EntityType string
	EntityID   string
}

func (e *JobError) Error() string {
	s := "openvz: job " + e.JobID + " failed"
	if e.EntityType != "" || e.EntityID != "" {
		s += fmt.Sprintf(" (%s %s)", e.EntityType, e.EntityID)
	}
	return s + "; the API gives no reason"
}

// Get fetches a job. An unknown job answers 404 (IsNotFound).
func (s *JobsService) Get(ctx context.Context, id string) (*Job, error) {
	if err := checkID("job ID", id); err != nil {
		return nil, err
	}
	var job Job
	if err := s.client.do(ctx, http.MethodGet, "jobs/"+id, nil, &job); err != nil {
		return nil, err
	}
	if job.Status == "" {
		return nil, s.client.malformed(http.MethodGet, "jobs/"+id, "response has no status")
	}
	job.ID = id
	return &job, nil
}
