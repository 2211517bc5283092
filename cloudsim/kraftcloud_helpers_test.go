package cloudsim

import (
	"net/http"
	"strings"
	"testing"
)

// kcCaller calls the KraftCloud simulator of a sim with a bearer token.
type kcCaller struct {
	t     testing.TB
	s     *sim
	token string
}

func (s *sim) kc() *kcCaller { return &kcCaller{t: s.t, s: s, token: DefaultKraftCloudToken} }

// call sends a request (body as newRequest takes it) with the token and
// decodes the JSON answer.
func (k *kcCaller) call(method, p string, body any) (int, obj) {
	k.t.Helper()
	req := k.s.newRequest(k.t, k.t.Context(), method, p, body)
	if k.token != "" {
		req.Header.Set("Authorization", "Bearer "+k.token)
	}
	return k.s.do(k.t, req)
}

// must sends a request that must answer 200 with top-level status success,
// and returns the items of the collection.
func (k *kcCaller) must(method, p string, body any, collection string) []obj {
	k.t.Helper()
	status, out := k.call(method, p, body)
	if status != http.StatusOK || out.str("status") != "success" {
		k.t.Fatalf("%s %s: %d %v, want 200 success", method, p, status, out)
	}
	return out.obj("data").list(collection)
}

// one is must for a request answering one item.
func (k *kcCaller) one(method, p string, body any, collection string) obj {
	k.t.Helper()
	items := k.must(method, p, body, collection)
	if len(items) != 1 {
		k.t.Fatalf("%s %s: %d items, want 1: %v", method, p, len(items), items)
	}
	if items[0].str("status") != "success" {
		k.t.Fatalf("%s %s: item %v", method, p, items[0])
	}
	return items[0]
}

// wantError sends a request that must fail with status and, when code is not
// 0, one item with that error code; it returns the envelope.
func (k *kcCaller) wantError(method, p string, body any, status, code int, msgContains string) obj {
	k.t.Helper()
	got, out := k.call(method, p, body)
	if got != status {
		k.t.Fatalf("%s %s: status %d, want %d (%v)", method, p, got, status, out)
	}
	if out.str("status") != "error" {
		k.t.Errorf("%s %s: top-level status %q, want error (%v)", method, p, out.str("status"), out)
	}
	if errs := out.list("errors"); len(errs) != 1 || int(num(errs[0]["status"])) != status {
		k.t.Errorf("%s %s: errors %v, want one with status %d", method, p, out["errors"], status)
	}
	if !strings.Contains(out.str("message"), msgContains) {
		k.t.Errorf("%s %s: message %q does not contain %q", method, p, out.str("message"), msgContains)
	}
	if code != 0 {
		var items []obj
		for _, v := range out.obj("data") {
			for _, x := range v.([]any) {
				items = append(items, x.(map[string]any))
			}
		}
		if len(items) != 1 || items[0].str("status") != "error" || int(num(items[0]["error"])) != code {
			k.t.Errorf("%s %s: items %v, want one failed with error %d", method, p, items, code)
		}
	}
	return out
}

// createInstance creates an instance and returns its item.
func (k *kcCaller) createInstance(body obj) obj {
	k.t.Helper()
	if _, ok := body["image"]; !ok {
		body["image"] = "unikraft.org/nginx:1.25"
	}
	return k.one("POST", "/v1/instances", body, "instances")
}

// state reads an instance's state by name.
func (k *kcCaller) state(name string) string {
	k.t.Helper()
	return k.one("GET", "/v1/instances", []obj{{"name": name}}, "instances").str("state")
}

// byName indexes items by name.
func byName(items []obj) map[string]obj {
	out := map[string]obj{}
	for _, it := range items {
		out[it.str("name")] = it
	}
	return out
}
