package openvz

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/cloudflow/cloudflow/clients/internal/apitest"
)

// containerJSON is the reference's container.
const containerJSON = `{"id": "` + testCTID + `", "name": "ct100", "ostemplate": "template1",
	"parameters": null, "created_at": "2020-10-16T15:16:16Z"}`

var wantContainer = Container{ID: testCTID, Name: "ct100", OSTemplate: "template1", CreatedAt: "2020-10-16T15:16:16Z"}

// serviceCase is one method call and the exact request it must make.
type serviceCase struct {
	name    string
	call    func(ctx context.Context, c *Client) (any, error)
	method  string
	path    string // relative to /v0.1/, trailing slash included
	body    string // expected JSON body; "": no body at all
	status  int    // the answer's status; 0 is 200
	respond string
	want    any
}

func TestServiceRequests(t *testing.T) {
	tests := []serviceCase{
		{
			name: "Containers.Create answers 202 with a job",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.Containers.Create(ctx, &ContainerCreateRequest{Name: "ct100", OSTemplate: "template1"})
			},
			method: "POST", path: "containers/",
			body:   `{"name": "ct100", "ostemplate": "template1"}`,
			status: http.StatusAccepted, respond: `{"message": "success", "job_id": "` + testJobID + `"}`,
			want: &Job{ID: testJobID},
		},
		{
			name:   "Containers.List",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Containers.List(ctx) },
			method: "GET", path: "containers/",
			respond: `{"message": "success", "containers": [` + containerJSON + `,
				{"id": "c2", "name": "ct101", "ostemplate": "centos-7-x86_64", "parameters": {"cpus": "2", "hostname": "h"},
				 "created_at": "2020-10-16T15:17:00Z"}]}`,
			want: []Container{wantContainer, {ID: "c2", Name: "ct101", OSTemplate: "centos-7-x86_64",
				Parameters: &ContainerParameters{CPUs: "2", Hostname: "h"}, CreatedAt: "2020-10-16T15:17:00Z"}},
		},
		{
			name:   "Containers.List of a bare array",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Containers.List(ctx) },
			method: "GET", path: "containers/",
			respond: `[` + containerJSON + `]`,
			want:    []Container{wantContainer},
		},
		{
			name:   "Containers.List empty is not nil",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Containers.List(ctx) },
			method: "GET", path: "containers/",
			respond: `{"message": "success", "containers": null}`,
			want:    []Container{},
		},
		{
			name:   "Containers.Get",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Containers.Get(ctx, testCTID) },
			method: "GET", path: "containers/" + testCTID,
			respond: `{"message": "success", "container": ` + containerJSON + `}`,
			want:    &wantContainer,
		},
		{
			name: "Containers.Update with the reference's parameters",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Containers.Update(ctx, testCTID, &ContainerParameters{
					Hostname: "hostname1", CPUs: "2", MemSize: "1", MemSizeUnits: "G", IPAdd: "10.0.0.1",
					Size: "10", SizeUnits: "G", Nameserver: "1.1.1.1,8.8.8.8",
				})
			},
			method: "PATCH", path: "containers/" + testCTID,
			body: `{"parameters": {"hostname": "hostname1", "cpus": "2", "memsize": "1", "memsize_units": "G",
				"ipadd": "10.0.0.1", "size": "10", "size_units": "G", "nameserver": "1.1.1.1,8.8.8.8"}}`,
			respond: `{"message": "success", "code": 0}`,
		},
		{
			name: "Containers.Update sends only what is set",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.Containers.Update(ctx, testCTID, (&ContainerParameters{}).SetCPUs(4))
			},
			method: "PATCH", path: "containers/" + testCTID,
			body:    `{"parameters": {"cpus": "4"}}`,
			respond: `{"message": "success", "code": 0}`,
		},
		{
			name:   "Containers.Delete",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.Containers.Delete(ctx, testCTID) },
			method: "DELETE", path: "containers/" + testCTID,
			respond: `{"message": "success", "code": 0}`,
		},
		{
			name:   "Containers.Delete with an empty answer",
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.Containers.Delete(ctx, testCTID) },
			method: "DELETE", path: "containers/" + testCTID,
			status: http.StatusNoContent,
		},
		{
			name:   "Jobs.Get done",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Jobs.Get(ctx, testJobID) },
			method: "GET", path: "jobs/" + testJobID,
			respond: `{"message": "success", "status": "done", "entity_type": "container", "entity_id": "` + testCTID + `"}`,
			want:    &Job{ID: testJobID, Status: JobDone, EntityType: EntityContainer, EntityID: testCTID},
		},
		{
			name:   "Jobs.Get pending",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.Jobs.Get(ctx, testJobID) },
			method: "GET", path: "jobs/" + testJobID,
			respond: `{"message": "success", "status": "pending", "entity_type": "container", "entity_id": "` + testCTID + `"}`,
			want:    &Job{ID: testJobID, Status: JobPending, EntityType: EntityContainer, EntityID: testCTID},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if r.Method != tt.method {
					t.Errorf("method = %s, want %s", r.Method, tt.method)
				}
				if want := apiPrefix + "/" + tt.path; r.URL.Path != want {
					t.Errorf("path = %s, want %s", r.URL.Path, want)
				}
				if r.URL.RawQuery != "" {
					t.Errorf("query = %q, want none", r.URL.RawQuery)
				}
				body, _ := io.ReadAll(r.Body)
				if tt.body == "" {
					if len(body) != 0 {
						t.Errorf("body = %s, want none", body)
					}
				} else if !apitest.JSONEqual(t, body, tt.body) {
					t.Errorf("body = %s\nwant   %s", body, tt.body)
				}
				status := tt.status
				if status == 0 {
					status = http.StatusOK
				}
				respond(status, tt.respond)(w, r)
			})
			got, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if n := hits.Load(); n != 1 {
				t.Fatalf("%d requests, want 1", n)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tt.want)
				t.Errorf("result =\n%s\nwant\n%s", g, w)
			}
		})
	}
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
