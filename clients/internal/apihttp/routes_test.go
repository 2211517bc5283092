package apihttp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/cloudflow/cloudflow/clients/apicall"
)

var testRoutes = NewRoutes(
	"GET /projects/{project_id}/vms",
	"GET /projects/{project_id}/vms/{vm_id}",
	"GET /projects/{project_id}/vms/operations",
	"PUT /instances/start",
	"PUT /instances/{uuid}/start",
	"POST /instances/{id}?operation=start",
	"POST /instances/{id}?operation=stop",
	"GET /containers/",
	"GET /containers/{id}",
)

func TestRoutesVerb(t *testing.T) {
	for _, tt := range []struct {
		method, path, query, want string
	}{
		{"GET", "projects/p-1/vms", "", "GET /projects/{project_id}/vms"},
		{"GET", "projects/p-1/vms", "limit=5&names=a", "GET /projects/{project_id}/vms"},
		{"GET", "projects/p-1/vms/vm-9", "", "GET /projects/{project_id}/vms/{vm_id}"},
		// A literal segment beats a parameter wherever they are listed.
		{"GET", "projects/p-1/vms/operations", "", "GET /projects/{project_id}/vms/operations"},
		{"PUT", "instances/start", "", "PUT /instances/start"},
		{"PUT", "instances/0b7c/start", "", "PUT /instances/{uuid}/start"},
		// Query conditions pick among routes of one path.
		{"POST", "instances/i-1", "operation=stop", "POST /instances/{id}?operation=stop"},
		{"POST", "instances/i-1", "operation=start&org_id=o", "POST /instances/{id}?operation=start"},
		{"POST", "instances/i-1", "operation=reboot", "POST other"},
		// A trailing slash is part of the path; a parameter is never empty.
		{"GET", "containers/", "", "GET /containers/"},
		{"GET", "containers/c-1", "", "GET /containers/{id}"},
		{"GET", "containers", "", "GET other"},
		{"DELETE", "projects/p-1/vms/vm-9", "", "DELETE other"},
		{"GET", "projects/p-1/vms/vm-9/extra", "", "GET other"},
	} {
		q, _ := url.ParseQuery(tt.query)
		if got := testRoutes.Verb(tt.method, tt.path, q); got != tt.want {
			t.Errorf("Verb(%s %s?%s) = %q, want %q", tt.method, tt.path, tt.query, got, tt.want)
		}
	}
	var none *Routes
	if got := none.Verb("GET", "vms/1", nil); got != "GET other" {
		t.Errorf("nil Routes: Verb = %q", got)
	}
}

func TestNewRoutesPanicsOnMalformedTemplates(t *testing.T) {
	for _, bad := range []string{"/vms", "get /vms", "GET vms", "GET /vms/x{id}", "GET /vms?%zz"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewRoutes(%q) did not panic", bad)
				}
			}()
			NewRoutes(bad)
		}()
	}
}

// recorder is an Observer that keeps the calls it hears of.
type recorder struct {
	mu    sync.Mutex
	calls []apicall.Call
}

func (r *recorder) observe(c apicall.Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

func TestDoTellsTheObserver(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/projects/p-1/vms/vm-9":
			_, _ = w.Write([]byte(`{}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	rec := &recorder{}
	c := NewClient("cloud", 0)
	c.Routes, c.Observer = testRoutes, rec.observe
	if err := c.SetBaseURL(srv.URL+"/v1", ""); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	apiErr := errors.New("api error")
	send := func(method, path string) error {
		req, err := c.NewRequest(ctx, method, path, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Do(req, &struct{}{}, func(*http.Response) error { return apiErr })
		return err
	}
	if err := send("GET", "projects/p-1/vms/vm-9"); err != nil {
		t.Fatal(err)
	}
	if err := send("GET", "projects/p-1/vms/vm-10"); !errors.Is(err, apiErr) {
		t.Fatalf("err = %v", err)
	}
	srv.Close() // no answer at all
	if err := send("PUT", "instances/start"); err == nil {
		t.Fatal("a closed server answered")
	}

	want := []apicall.Call{
		{Cloud: "cloud", Verb: "GET /projects/{project_id}/vms/{vm_id}", Status: 200},
		{Cloud: "cloud", Verb: "GET /projects/{project_id}/vms/{vm_id}", Status: 404},
		{Cloud: "cloud", Verb: "PUT /instances/start", Status: 0},
	}
	if len(rec.calls) != len(want) {
		t.Fatalf("observed %+v, want %+v", rec.calls, want)
	}
	for i, got := range rec.calls {
		if got.Duration <= 0 {
			t.Errorf("call %d: duration %s", i, got.Duration)
		}
		got.Duration = 0
		if got != want[i] {
			t.Errorf("call %d = %+v, want %+v", i, got, want[i])
		}
	}
}
