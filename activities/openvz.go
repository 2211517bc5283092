package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/cloudflow/cloudflow/clients/openvz"
)

// CloudOpenVZ names the container API (OpenVZ) in error details.
const CloudOpenVZ = "openvz"

// jobGivesNoReason is what a failed job says: the API gives no reason.
const jobGivesNoReason = "the API gives no reason"

// OpenVZActivities calls the container API, one activity per call. The API
// has no credentials: Client holds only the endpoint.
type OpenVZActivities struct {
	Client *openvz.Client
	// Poll paces the waiter until it has learned how long a create's job
	// takes; zero means DefaultPollPolicy.
	Poll PollPolicy
	// Metrics, when set, is told how each wait ended.
	Metrics Metrics
	// Async, when set, runs the waits asynchronously (see AsyncWaits).
	Async *AsyncWaits

	waits waits
	jobs  pollers[*openvz.Job]
}

func (a *OpenVZActivities) ready() error {
	if a == nil || a.Client == nil {
		return notConfigured("container API (OpenVZ)", "set "+openvz.EnvAPIEndpoint+" (e.g. http://ct-host:5000/v0.1)")
	}
	return nil
}

func (a *OpenVZActivities) poll() PollPolicy {
	if a.Poll.Initial <= 0 {
		return DefaultPollPolicy
	}
	return a.Poll
}

// OpenVZCreateContainerInput is the input of OpenVZCreateContainer.
type OpenVZCreateContainerInput struct {
	Name       string `json:"name"`
	OSTemplate string `json:"osTemplate"`
}

// OpenVZCreateContainerResult is what OpenVZCreateContainer started or found.
type OpenVZCreateContainerResult struct {
	// JobID is the create's job, to wait on with OpenVZWaitJob; empty when
	// the container was found rather than created.
	JobID string `json:"jobId,omitempty"`
	// ContainerID is set when the container was found: it exists already.
	ContainerID string `json:"containerId,omitempty"`
	// Existed is true when the name was taken before this step first ran: the
	// container is adopted, not created, and must not be undone.
	Existed bool `json:"existed,omitempty"`
}

// OpenVZCreateContainer enqueues the creation of a container unless one by
// that name exists (DESIGN decision 3). The create marker in the heartbeat
// tells a container made by an earlier attempt of this step (whose answer
// was lost) from one that was there before.
//
// A name that is free in the list but refused as taken (422) belongs to a
// create whose job is still pending: the container is not listed until the
// job is done. When an earlier attempt sent a create, that is this step's
// own; otherwise someone else's, and the marker is cleared so that it is
// adopted as existing. Either way the activity fails retryably and a later
// attempt adopts the container once it appears; the activity's
// schedule-to-close timeout bounds how long that may take, and a job that
// fails frees the name for a fresh create.
func (a *OpenVZActivities) OpenVZCreateContainer(ctx context.Context, in OpenVZCreateContainerInput) (OpenVZCreateContainerResult, error) {
	if err := a.ready(); err != nil {
		return OpenVZCreateContainerResult{}, err
	}
	if in.Name == "" || in.OSTemplate == "" {
		return OpenVZCreateContainerResult{}, invalidInput("container name and ostemplate are required")
	}
	sentBefore := createWasSent(ctx, in.Name)
	adopt := func(ct *openvz.Container) (OpenVZCreateContainerResult, error) {
		return OpenVZCreateContainerResult{ContainerID: ct.ID, Existed: !createWasSent(ctx, in.Name)}, nil
	}
	return createOnce(ctx, in.Name,
		func() (*openvz.Container, error) { return a.findContainer(ctx, "", in.Name) },
		adopt,
		func() (OpenVZCreateContainerResult, error) {
			job, err := a.Client.Containers.Create(ctx, &openvz.ContainerCreateRequest{Name: in.Name, OSTemplate: in.OSTemplate})
			switch {
			case openvz.IsDuplicate(err):
				return a.nameTaken(ctx, in.Name, sentBefore, err)
			case err != nil:
				return OpenVZCreateContainerResult{}, apiError(CloudOpenVZ, "create container "+in.Name, err)
			}
			a.waits.began(job.ID)
			return OpenVZCreateContainerResult{JobID: job.ID}, nil
		})
}

// nameTaken resolves a 422 to a create: the container is looked up once
// more (its job may just have finished) and adopted, or the step is retried
// until it appears. mine says whether an earlier attempt sent a create.
func (a *OpenVZActivities) nameTaken(ctx context.Context, name string, mine bool, dup error) (OpenVZCreateContainerResult, error) {
	if !mine {
		// This attempt's create was refused, so it made nothing: whatever
		// holds the name was not made by this step.
		activity.RecordHeartbeat(ctx, createMarker{})
	}
	ct, err := a.findContainer(ctx, "", name)
	if err != nil {
		return OpenVZCreateContainerResult{}, err
	}
	if ct != nil {
		return OpenVZCreateContainerResult{ContainerID: ct.ID, Existed: !mine}, nil
	}
	whose := "another run's or client's"
	if mine {
		whose = "this step's earlier one, whose answer was lost"
	}
	ce, _ := asCloudError(dup)
	return OpenVZCreateContainerResult{}, temporal.NewApplicationError(
		fmt.Sprintf("create container %s: the name is taken by a create whose job is still pending (%s); retrying until the container appears", name, whose),
		ErrTypeRetryableAPI, CloudErrorDetails{Cloud: CloudOpenVZ, StatusCode: ce.status, Code: ce.code, Message: ce.message, RequestID: ce.requestID})
}

// OpenVZWaitJobInput is the input of OpenVZWaitJob.
type OpenVZWaitJobInput struct {
	// JobID is polled while the API knows it; when it is empty or unknown,
	// the container (by ContainerID, else Name) decides.
	JobID       string        `json:"jobId,omitempty"`
	ContainerID string        `json:"containerId,omitempty"`
	Name        string        `json:"name"`
	Timeout     time.Duration `json:"timeout,omitempty"`
}

// OpenVZWaitJobResult is the container the job made.
type OpenVZWaitJobResult struct {
	ContainerID string `json:"containerId"`
	// Resolution says how the outcome was learned: "job" or "container".
	Resolution string `json:"resolution"`
	Polls      int    `json:"polls"`
}

// OpenVZWaitJob waits durably (see waitFor) for a container's create job to
// leave "pending". A failed job is a non-retryable OperationFailed error (the
// API gives no reason); a job the API does not know is resolved by watching
// for the container (by the ID the job named, else by name) until it
// appears or the timeout runs out: the container exists only once its job
// is done, so its absence at one read decides nothing.
func (a *OpenVZActivities) OpenVZWaitJob(ctx context.Context, in OpenVZWaitJobInput) (OpenVZWaitJobResult, error) {
	if err := a.ready(); err != nil {
		return OpenVZWaitJobResult{}, err
	}
	if in.JobID == "" && in.ContainerID == "" && in.Name == "" {
		return OpenVZWaitJobResult{}, invalidInput("nothing to wait for: no job, container id or name")
	}
	target := fmt.Sprintf("container %s", firstNonEmpty(in.Name, in.ContainerID))
	if in.JobID != "" {
		target += " (job " + in.JobID + ")"
	}
	return runWait(ctx, a.Async, func(ctx context.Context, env waitEnv) (OpenVZWaitJobResult, error) {
		return a.waitJob(ctx, env, in, target)
	})
}

func (a *OpenVZActivities) waitJob(ctx context.Context, env waitEnv, in OpenVZWaitJobInput, target string) (OpenVZWaitJobResult, error) {
	res := OpenVZWaitJobResult{ContainerID: in.ContainerID}
	spec := wait{target: target, timeout: in.Timeout, policy: a.poll(),
		kind: CloudOpenVZ + "/container/create", since: a.waits.since(in.JobID)}
	wp, err := a.waits.run(ctx, env, spec, func(ctx context.Context, wp *WaitProgress) (bool, error) {
		if in.JobID != "" && !wp.ResolveFromResource {
			job, err := a.job(ctx, in.JobID)
			switch {
			case openvz.IsNotFound(err):
				activity.GetLogger(ctx).Info("job unknown; resolving from the container list", "job", in.JobID)
				wp.ResolveFromResource = true
			case err != nil:
				return false, err
			default:
				wp.State = job.Status
				res.Resolution = "job"
				if job.EntityID != "" {
					res.ContainerID = job.EntityID
				}
				switch job.Status {
				case openvz.JobPending:
					return false, nil
				case openvz.JobFailed:
					return true, temporal.NewNonRetryableApplicationError(
						fmt.Sprintf("create container %s: job %s failed; %s", in.Name, in.JobID, jobGivesNoReason),
						ErrTypeOperationFailed, nil, CloudErrorDetails{Cloud: CloudOpenVZ, Code: openvz.JobFailed, Message: jobGivesNoReason})
				case openvz.JobDone:
					if res.ContainerID != "" {
						return true, nil
					}
					// The job did not name its container: find it by name.
				default:
					return true, unexpectedState("container job", job.Status)
				}
			}
		}
		res.Resolution = "container"
		ct, err := a.findContainer(ctx, firstNonEmpty(res.ContainerID, in.ContainerID), in.Name)
		if err != nil {
			return false, err
		}
		if ct != nil {
			res.ContainerID, wp.State = ct.ID, "exists"
			return true, nil
		}
		if id := firstNonEmpty(res.ContainerID, in.ContainerID); id != "" && in.JobID == "" {
			// A container found before, with no job to make it: it is gone.
			return true, operationFailed(CloudOpenVZ, target, "", "NOT_FOUND", "container "+id+" does not exist")
		}
		// Not there yet: a pending job's container appears once the job is
		// done, whether the API still knows the job or not, so one read
		// decides nothing. The timeout bounds the watch.
		wp.State = "not listed yet"
		return false, nil
	})
	recordWait(a.Metrics, CloudOpenVZ, "container", "create", wp, err)
	res.Polls = wp.Polls
	if err != nil {
		return res, activityError(CloudOpenVZ, "wait for "+target, err)
	}
	return res, nil
}

// job reads a job. Waits on one job share the read: one request per job per
// tick.
func (a *OpenVZActivities) job(ctx context.Context, id string) (*openvz.Job, error) {
	return a.jobs.of("jobs", func() *sharedPoll[*openvz.Job] {
		return &sharedPoll[*openvz.Job]{fetch: eachOf(a.Client.Jobs.Get)}
	}).ask(ctx, id)
}

// OpenVZUpdateContainerInput is the input of OpenVZUpdateContainer: the
// container by ID or, failing that, by name, and the parameters to set.
type OpenVZUpdateContainerInput struct {
	ID         string                     `json:"id,omitempty"`
	Name       string                     `json:"name,omitempty"`
	Parameters openvz.ContainerParameters `json:"parameters"`
}

// OpenVZUpdateContainerResult names the container updated.
type OpenVZUpdateContainerResult struct {
	ContainerID string `json:"containerId"`
}

// OpenVZUpdateContainer sets a container's parameters with PATCH, which
// merges them: sending the same ones again changes nothing, so a retry is
// harmless.
func (a *OpenVZActivities) OpenVZUpdateContainer(ctx context.Context, in OpenVZUpdateContainerInput) (OpenVZUpdateContainerResult, error) {
	if err := a.ready(); err != nil {
		return OpenVZUpdateContainerResult{}, err
	}
	id := in.ID
	if id == "" {
		ct, err := a.findContainer(ctx, "", in.Name)
		if err != nil {
			return OpenVZUpdateContainerResult{}, err
		}
		if ct == nil {
			return OpenVZUpdateContainerResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("update container %s: no container of that name", in.Name), ErrTypeAPI, nil,
				CloudErrorDetails{Cloud: CloudOpenVZ, StatusCode: 404, Message: "no container named " + in.Name})
		}
		id = ct.ID
	}
	p := in.Parameters
	if err := a.Client.Containers.Update(ctx, id, &p); err != nil {
		return OpenVZUpdateContainerResult{}, apiError(CloudOpenVZ, "update container "+firstNonEmpty(in.Name, id), err)
	}
	return OpenVZUpdateContainerResult{ContainerID: id}, nil
}

// OpenVZDeleteContainerInput names a container to delete: by ID, else by
// the create job that makes it (JobID), else by name.
type OpenVZDeleteContainerInput struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	JobID string `json:"jobId,omitempty"`
}

// OpenVZDeleteContainerResult is what OpenVZDeleteContainer did.
type OpenVZDeleteContainerResult struct {
	ContainerID string `json:"containerId,omitempty"`
	// AlreadyGone is true when there was nothing to delete.
	AlreadyGone bool `json:"alreadyGone,omitempty"`
}

// OpenVZDeleteContainer deletes a container; one that does not exist (404)
// is already gone. A container whose create job is still pending cannot be
// seen yet: the delete fails retryably until the job ends, so that undoing
// a create interrupted mid-wait does not leave the container behind.
func (a *OpenVZActivities) OpenVZDeleteContainer(ctx context.Context, in OpenVZDeleteContainerInput) (OpenVZDeleteContainerResult, error) {
	if err := a.ready(); err != nil {
		return OpenVZDeleteContainerResult{}, err
	}
	if in.ID == "" && in.JobID == "" && in.Name == "" {
		return OpenVZDeleteContainerResult{}, invalidInput("a container id, job id or name is required")
	}
	what := "container " + firstNonEmpty(in.Name, in.ID)
	id := in.ID
	if id == "" && in.JobID != "" {
		job, err := a.Client.Jobs.Get(ctx, in.JobID)
		switch {
		case openvz.IsNotFound(err):
			// An unknown job: the name decides.
		case err != nil:
			return OpenVZDeleteContainerResult{}, apiError(CloudOpenVZ, "delete "+what+": read its job "+in.JobID, err)
		case job.Status == openvz.JobPending:
			return OpenVZDeleteContainerResult{}, temporal.NewApplicationError(
				fmt.Sprintf("delete %s: its create job %s is still pending; the delete waits for it to end", what, in.JobID), ErrTypeRetryableAPI)
		case job.Status == openvz.JobFailed:
			return OpenVZDeleteContainerResult{ContainerID: job.EntityID, AlreadyGone: true}, nil
		default:
			id = job.EntityID
		}
	}
	if id == "" {
		ct, err := a.findContainer(ctx, "", in.Name)
		if err != nil || ct == nil {
			return OpenVZDeleteContainerResult{AlreadyGone: ct == nil}, err
		}
		id = ct.ID
	}
	err := a.Client.Containers.Delete(ctx, id)
	switch {
	case openvz.IsNotFound(err):
		return OpenVZDeleteContainerResult{ContainerID: id, AlreadyGone: true}, nil
	case err != nil:
		return OpenVZDeleteContainerResult{}, apiError(CloudOpenVZ, "delete "+what, err)
	}
	return OpenVZDeleteContainerResult{ContainerID: id}, nil
}

// findContainer looks a container up by ID when there is one (a 404 means
// absent), else by exact name among those listed; nil, nil when there is
// none. A container whose create job is pending is not found.
func (a *OpenVZActivities) findContainer(ctx context.Context, id, name string) (*openvz.Container, error) {
	if id != "" {
		ct, err := a.Client.Containers.Get(ctx, id)
		if openvz.IsNotFound(err) {
			return nil, nil
		}
		return ct, apiError(CloudOpenVZ, "get container "+id, err)
	}
	if name == "" {
		return nil, invalidInput("a container id or name is required")
	}
	all, err := a.Client.Containers.List(ctx)
	if err != nil {
		return nil, apiError(CloudOpenVZ, "list containers", err)
	}
	for i := range all {
		if all[i].Name == name {
			return &all[i], nil
		}
	}
	return nil, nil
}

// activityError is the error a waiter ends with: an activity error as is,
// a client error classified by apiError.
func activityError(cloud, what string, err error) error {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return err
	}
	return apiError(cloud, what, err)
}
