package openvz

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"testing"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

// containerJSON is the reference's container.
const containerJSON = `{"id": "` + testCTID + `", "name": "ct100", "ostemplate": "template1",
	"parameters": null, "created_at": "2020-10-16T15:16:16Z"}`

var wantContainer = Container{ID: testCTID, Name: "ct100", OSTemplate: "template1", CreatedAt: "2020-10-16T15:16:16Z"}

func TestServiceRequests(t *testing.T) {
	tests := []apitest.CallCase[*Client]{
		{
			Name: "Containers.Create answers 202 with a job",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return c.Containers.Create(ctx, &ContainerCreateRequest{Name: "ct100", OSTemplate: "template1"})
			},
			Method: "POST", Path: "containers/",
			Body:   `{"name": "ct100", "ostemplate": "template1"}`,
			Status: http.StatusAccepted, Respond: `{"message": "success", "job_id": "` + testJobID + `"}`,
			Want: &Job{ID: testJobID},
		},
		{
			Name:   "Containers.List",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Containers.List(ctx) },
			Method: "GET", Path: "containers/",
			Respond: `{"message": "success", "containers": [` + containerJSON + `,
				{"id": "c2", "name": "ct101", "ostemplate": "centos-7-x86_64", "parameters": {"cpus": "2", "hostname": "h"},
				 "created_at": "2020-10-16T15:17:00Z"}]}`,
			Want: []Container{wantContainer, {ID: "c2", Name: "ct101", OSTemplate: "centos-7-x86_64",
				Parameters: &ContainerParameters{CPUs: "2", Hostname: "h"}, CreatedAt: "2020-10-16T15:17:00Z"}},
		},
		{
			Name:   "Containers.List of a bare array",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Containers.List(ctx) },
			Method: "GET", Path: "containers/",
			Respond: `[` + containerJSON + `]`,
			Want:    []Container{wantContainer},
		},
		{
			Name:   "Containers.List empty is not nil",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Containers.List(ctx) },
			Method: "GET", Path: "containers/",
			Respond: `{"message": "success", "containers": null}`,
			Want:    []Container{},
		},
		{
			Name:   "Containers.Get",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Containers.Get(ctx, testCTID) },
			Method: "GET", Path: "containers/" + testCTID,
			Respond: `{"message": "success", "container": ` + containerJSON + `}`,
			Want:    &wantContainer,
		},
		{
			Name: "Containers.Update with the reference's parameters",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Containers.Update(ctx, testCTID, &ContainerParameters{
					Hostname: "hostname1", CPUs: "2", MemSize: "1", MemSizeUnits: "G", IPAdd: "10.0.0.1",
					Size: "10", SizeUnits: "G", Nameserver: "1.1.1.1,8.8.8.8",
				})
			},
			Method: "PATCH", Path: "containers/" + testCTID,
			Body: `{"parameters": {"hostname": "hostname1", "cpus": "2", "memsize": "1", "memsize_units": "G",
				"ipadd": "10.0.0.1", "size": "10", "size_units": "G", "nameserver": "1.1.1.1,8.8.8.8"}}`,
			Respond: `{"message": "success", "code": 0}`,
		},
		{
			Name: "Containers.Update sends only what is set",
			Call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Containers.Update(ctx, testCTID, (&ContainerParameters{}).SetCPUs(4))
			},
			Method: "PATCH", Path: "containers/" + testCTID,
			Body:    `{"parameters": {"cpus": "4"}}`,
			Respond: `{"message": "success", "code": 0}`,
		},
		{
			Name:   "Containers.Delete",
			Call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.Containers.Delete(ctx, testCTID) },
			Method: "DELETE", Path: "containers/" + testCTID,
			Respond: `{"message": "success", "code": 0}`,
		},
		{
			Name:   "Containers.Delete with an empty answer",
			Call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.Containers.Delete(ctx, testCTID) },
			Method: "DELETE", Path: "containers/" + testCTID,
			Status: http.StatusNoContent,
		},
		{
			Name:   "Jobs.Get done",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Jobs.Get(ctx, testJobID) },
			Method: "GET", Path: "jobs/" + testJobID,
			Respond: `{"message": "success", "status": "done", "entity_type": "container", "entity_id": "` + testCTID + `"}`,
			Want:    &Job{ID: testJobID, Status: JobDone, EntityType: EntityContainer, EntityID: testCTID},
		},
		{
			Name:   "Jobs.Get pending",
			Call:   func(ctx context.Context, c *Client) (any, error) { return c.Jobs.Get(ctx, testJobID) },
			Method: "GET", Path: "jobs/" + testJobID,
			Respond: `{"message": "success", "status": "pending", "entity_type": "container", "entity_id": "` + testCTID + `"}`,
			Want:    &Job{ID: testJobID, Status: JobPending, EntityType: EntityContainer, EntityID: testCTID},
		},
	}
	apitest.RunCalls(t, apiPrefix+"/", nil, func(t *testing.T, h http.HandlerFunc) *Client { return newTestClient(t, h) }, tests)
}

func TestParameterSetters(t *testing.T) {
	p := (&ContainerParameters{Hostname: "web-1.example"}).
		SetCPUs(2).
		SetMemory(512, Megabytes).
		SetDiskSize(10, Gigabytes).
		SetIPAddress(netip.MustParseAddr("10.0.0.1")).
		SetNameservers(netip.MustParseAddr("1.1.1.1"), netip.MustParseAddr("8.8.8.8"))
	want := ContainerParameters{Hostname: "web-1.example", CPUs: "2", MemSize: "512", MemSizeUnits: "M",
		Size: "10", SizeUnits: "G", IPAdd: "10.0.0.1", Nameserver: "1.1.1.1,8.8.8.8"}
	if *p != want {
		t.Errorf("parameters = %+v\nwant         %+v", *p, want)
	}
	if err := p.validate(); err != nil {
		t.Errorf("the setters made invalid parameters: %v", err)
	}
	// Setters do not validate: Update does.
	if err := (&ContainerParameters{}).SetCPUs(0).validate(); err == nil {
		t.Error("cpus 0 passed validation")
	}
	if err := (&ContainerParameters{}).SetIPAddress(netip.MustParseAddr("::1")).validate(); err == nil {
		t.Error("an IPv6 address passed validation")
	}
}

func TestJobHelpers(t *testing.T) {
	var none *Job
	if none.Done() || none.Succeeded() || none.Err() != nil {
		t.Error("a nil job is done")
	}
	pending := &Job{ID: "j", Status: JobPending}
	if pending.Done() || pending.Succeeded() || pending.Err() != nil {
		t.Errorf("pending job: Done %v, Succeeded %v, Err %v", pending.Done(), pending.Succeeded(), pending.Err())
	}
	done := &Job{ID: "j", Status: JobDone}
	if !done.Done() || !done.Succeeded() || done.Err() != nil {
		t.Error("done job is wrong")
	}
	failed := &Job{ID: "j1", Status: JobFailed, EntityType: EntityContainer, EntityID: "c1"}
	err := failed.Err()
	var je *JobError
	if !failed.Done() || failed.Succeeded() || !errors.As(err, &je) || je.JobID != "j1" || je.EntityID != "c1" {
		t.Fatalf("failed job: Done %v, Succeeded %v, Err %v", failed.Done(), failed.Succeeded(), err)
	}
	if got, want := err.Error(), "openvz: job j1 failed (container c1); the API gives no reason"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := (&Job{ID: "j2", Status: JobFailed}).Err().Error(); got != "openvz: job j2 failed; the API gives no reason" {
		t.Errorf("Error() = %q", got)
	}
}
