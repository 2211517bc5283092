package cloudsim

import (
	"net/http"
	"strings"
	"testing"
)

// cmcCaller calls the CloudMC simulator of a sim with an API key.
type cmcCaller struct {
	t   testing.TB
	s   *sim
	key string
	org string // org_id, when set
}

func (s *sim) cmc() *cmcCaller { return &cmcCaller{t: s.t, s: s, key: DefaultCloudMCAPIKey} }

// envPath is a path in the default environment.
func cmcEnvPath(p string) string {
	return "/api/v2/services/" + DefaultCloudMCServiceCode + "/" + DefaultCloudMCEnvironment + "/" + strings.TrimPrefix(p, "/")
}

// call sends a request (body as newRequest takes it) with the API key and
// org_id, and decodes the JSON answer.
func (m *cmcCaller) call(method, p string, body any) (int, obj) {
	m.t.Helper()
	if m.org != "" {
		sep := "?"
		if strings.Contains(p, "?") {
			sep = "&"
		}
		p += sep + "org_id=" + m.org
	}
	req := m.s.newRequest(m.t, m.t.Context(), method, p, body)
	if m.key != "" {
		req.Header.Set("MC-Api-Key", m.key)
	}
	return m.s.do(m.t, req)
}

// data sends a request that must answer 200 {"data": {...}} and returns the object.
func (m *cmcCaller) data(method, p string, body any) obj {
	m.t.Helper()
	status, out := m.call(method, p, body)
	if status != http.StatusOK || out["errors"] != nil {
		m.t.Fatalf("%s %s: %d %v, want 200 with data", method, p, status, out)
	}
	d := out.obj("data")
	if d == nil {
		m.t.Fatalf("%s %s: no data object in %v", method, p, out)
	}
	return d
}

// list sends a GET that must answer 200 {"data": [...]}.
func (m *cmcCaller) list(p string) []obj {
	m.t.Helper()
	status, out := m.call("GET", p, nil)
	if status != http.StatusOK {
		m.t.Fatalf("GET %s: %d %v", p, status, out)
	}
	if _, ok := out["data"].([]any); !ok {
		m.t.Fatalf("GET %s: data is not an array: %v", p, out)
	}
	return out.list("data")
}

// task sends a request that must answer 200 {"taskId", "taskStatus": "PENDING"}
// and returns the task ID.
func (m *cmcCaller) task(method, p string, body any) string {
	m.t.Helper()
	status, out := m.call(method, p, body)
	if status != http.StatusOK || out.str("taskStatus") != "PENDING" || out.str("taskId") == "" || len(out) != 2 {
		m.t.Fatalf("%s %s: %d %v, want 200 {taskId, taskStatus: PENDING}", method, p, status, out)
	}
	return out.str("taskId")
}

// getTask reads a task that must exist.
func (m *cmcCaller) getTask(id string) obj {
	m.t.Helper()
	status, out := m.call("GET", "/api/v2/tasks/"+id, nil)
	if status != http.StatusOK || out.str("taskId") != id {
		m.t.Fatalf("GET task %s: %d %v", id, status, out)
	}
	return out
}

// wantError sends a request that must fail with status and the first error's code.
func (m *cmcCaller) wantError(method, p string, body any, status, code int, msgContains string) obj {
	m.t.Helper()
	got, out := m.call(method, p, body)
	if got != status {
		m.t.Fatalf("%s %s: status %d, want %d (body %v)", method, p, got, status, out)
	}
	errs := out.list("errors")
	if len(errs) != 1 || len(out) != 1 {
		m.t.Fatalf("%s %s: body %v, want {errors: [one]}", method, p, out)
	}
	e := errs[0]
	if code != 0 && num(e["code"]) != float64(code) {
		m.t.Errorf("%s %s: code %v, want %d (%v)", method, p, e["code"], code, e)
	}
	if !strings.Contains(e.str("message"), msgContains) {
		m.t.Errorf("%s %s: message %q does not contain %q", method, p, e.str("message"), msgContains)
	}
	if _, ok := e["context"].(map[string]any); !ok {
		m.t.Errorf("%s %s: error has no context object: %v", method, p, e)
	}
	return e
}

// createInstance starts a create of a fixture-based instance and returns
// the task and instance IDs.
func (m *cmcCaller) createInstance(name string, extra obj) (taskID, id string) {
	m.t.Helper()
	body := obj{"name": name, "computeOfferingId": CloudMCComputeOfferingID, "networkId": CloudMCNetworkID, "templateId": CloudMCTemplateID}
	for k, v := range extra {
		body[k] = v
	}
	taskID = m.task("POST", cmcEnvPath("instances"), body)
	for _, i := range m.list(cmcEnvPath("instances")) {
		if i.str("name") == name {
			return taskID, i.str("id")
		}
	}
	m.t.Fatalf("instance %s not listed after create", name)
	return "", ""
}

// state reads an instance's state.
func (m *cmcCaller) state(kind, id string) string {
	m.t.Helper()
	return m.data("GET", cmcEnvPath(kind+"/"+id), nil).str("state")
}
