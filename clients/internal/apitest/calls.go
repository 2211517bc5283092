package apitest

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// CallCase is one client method call, the exact request it must make and
// the answer it gets.
type CallCase[C any] struct {
	Name   string
	Call   func(ctx context.Context, c C) (any, error)
	Method string
	Path   string     // relative to RunCalls' prefix
	Query  url.Values // besides the parameters every request carries; nil: none
	Body   string     // the JSON body, compared as JSON; "": no body at all
	// Status is the answer's status (0 is 200), and Respond its JSON body.
	Status  int
	Respond string
	// Want is the call's result; nil wants a nil result.
	Want any
}

// RunCalls runs each case as a subtest, against a client newClient builds for
// a handler: the call must make one request, with the case's method, the path
// prefix+Path, the query of always and Query together (no query at all when
// both are empty) and the body; and the answer must give Want.
func RunCalls[C any](t *testing.T, prefix string, always url.Values, newClient func(*testing.T, http.HandlerFunc) C, cases []CallCase[C]) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			answer := &Answer{Status: tt.Status, Header: map[string]string{"Content-Type": "application/json"}, Body: tt.Respond}
			c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
				tt.check(t, r, prefix, always)
				answer.ServeHTTP(w, r)
			})
			got, err := tt.Call(context.Background(), c)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			answer.CheckHits(t, 1)
			CheckResult(t, got, tt.Want)
		})
	}
}

// check checks that r is the request the case wants.
func (tt *CallCase[C]) check(t *testing.T, r *http.Request, prefix string, always url.Values) {
	t.Helper()
	if r.Method != tt.Method {
		t.Errorf("method = %s, want %s", r.Method, tt.Method)
	}
	if want := prefix + tt.Path; r.URL.Path != want {
		t.Errorf("path = %s, want %s", r.URL.Path, want)
	}
	query := maps.Clone(always)
	if query == nil {
		query = url.Values{}
	}
	maps.Copy(query, tt.Query)
	if len(query) == 0 {
		if r.URL.RawQuery != "" {
			t.Errorf("query = %q, want none", r.URL.RawQuery)
		}
	} else if got := r.URL.Query(); !reflect.DeepEqual(got, query) {
		t.Errorf("query = %v, want %v", got, query)
	}
	body, _ := io.ReadAll(r.Body)
	if tt.Body == "" {
		if len(body) != 0 {
			t.Errorf("body = %s, want none", body)
		}
	} else if !JSONEqual(t, body, tt.Body) {
		t.Errorf("body = %s\nwant   %s", body, tt.Body)
	}
}
