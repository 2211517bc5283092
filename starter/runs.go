package starter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// RunInfo describes one workflow execution.
type RunInfo struct {
	WorkflowID string    `json:"workflowId"`
	RunID      string    `json:"runId"`
	Type       string    `json:"type"`
	Status     string    `json:"status"`
	StartTime  time.Time `json:"startTime"`
	CloseTime  time.Time `json:"closeTime,omitempty"`
	TaskQueue  string    `json:"taskQueue,omitempty"`
}

// Closed reports whether the run has finished, whatever its outcome.
func (r RunInfo) Closed() bool { return r.Status != "Running" && r.Status != "" }

// ListOptions filters List. Query is a Temporal visibility query; by default
// List shows cloudflow's runs (those on its task queue), newest first.
type ListOptions struct {
	Query string
	// Provider, Resource and Workflow narrow the default query: runs on that
	// cloud, acting on a resource of that name, of that workflow type. They
	// need the search attributes (see SearchAttrProvider).
	Provider string
	Resource string
	Workflow string
	Limit    int
}

// query is the visibility query for o on taskQueue.
func (o ListOptions) query(taskQueue string) (string, error) {
	if o.Query != "" {
		if o.Provider != "" || o.Resource != "" || o.Workflow != "" {
			return "", errors.New("a query cannot be combined with a provider, resource or workflow filter")
		}
		return o.Query, nil
	}
	clauses := []string{fmt.Sprintf("TaskQueue = %s", quote(taskQueue))}
	for _, c := range []struct{ key, val string }{
		{SearchAttrProvider.GetName(), o.Provider},
		{SearchAttrResources.GetName(), o.Resource},
		{"WorkflowType", o.Workflow},
	} {
		if c.val != "" {
			clauses = append(clauses, fmt.Sprintf("%s = %s", c.key, quote(c.val)))
		}
	}
	return strings.Join(clauses, " AND "), nil
}

// quote makes a visibility query string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// List lists runs, newest first.
func (s *Starter) List(ctx context.Context, opts ListOptions) ([]RunInfo, error) {
	if opts.Limit <= 0 {
		opts.Limit = 20
	}
	q, err := opts.query(s.taskQueue)
	if err != nil {
		return nil, err
	}
	var out []RunInfo
	var token []byte
	for len(out) < opts.Limit {
		resp, err := s.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize:      int32(min(opts.Limit-len(out), 100)),
			NextPageToken: token,
			Query:         q,
		})
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			out = append(out, runInfo(e))
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	if len(out) > opts.Limit {
		out = out[:opts.Limit]
	}
	return out, nil
}

// Describe returns the run's status; an empty runID means the latest run.
func (s *Starter) Describe(ctx context.Context, workflowID, runID string) (RunInfo, error) {
	resp, err := s.c.DescribeWorkflowExecution(ctx, workflowID, runID)
	if err != nil {
		return RunInfo{}, fmt.Errorf("describe %s: %w", workflowID, err)
	}
	return runInfo(resp.GetWorkflowExecutionInfo()), nil
}

func runInfo(e *workflowpb.WorkflowExecutionInfo) RunInfo {
	ri := RunInfo{
		WorkflowID: e.GetExecution().GetWorkflowId(),
		RunID:      e.GetExecution().GetRunId(),
		Type:       e.GetType().GetName(),
		Status:     statusName(e.GetStatus()),
		TaskQueue:  e.GetTaskQueue(),
	}
	if t := e.GetStartTime(); t != nil {
		ri.StartTime = t.AsTime()
	}
	if t := e.GetCloseTime(); t != nil {
		ri.CloseTime = t.AsTime()
	}
	return ri
}

func statusName(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "Running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "Completed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "Failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "Canceled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "Terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "ContinuedAsNew"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "TimedOut"
	}
	return strings.TrimPrefix(s.String(), "WorkflowExecutionStatus")
}

// Terminate ends a run at once, with reason: its workflow code does not
// run again, so nothing is undone (what it made stays). An empty runID
// means the latest run.
func (s *Starter) Terminate(ctx context.Context, workflowID, runID, reason string) error {
	if err := s.c.TerminateWorkflow(ctx, workflowID, runID, reason); err != nil {
		return fmt.Errorf("terminate %s: %w", workflowID, err)
	}
	return nil
}

// RunBegun reports whether a worker ever completed a workflow task of the
// run: whether its code ran. A run that never began made nothing, and can
// be ended by terminating it without leaving anything behind; a cancel
// request alone waits for a worker, since only a workflow task delivers it.
func (s *Starter) RunBegun(ctx context.Context, workflowID, runID string) (bool, error) {
	it := s.c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return false, fmt.Errorf("history of %s: %w", workflowID, err)
		}
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			return true, nil
		}
	}
	return false, nil
}
