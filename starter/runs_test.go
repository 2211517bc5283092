package starter

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestListQuery(t *testing.T) {
	for _, tc := range []struct {
		o    ListOptions
		want string
	}{
		{ListOptions{}, "TaskQueue = 'cloudflow'"},
		{ListOptions{Provider: "crusoe", Resource: "web-1"}, "TaskQueue = 'cloudflow' AND CloudflowProvider = 'crusoe' AND CloudflowResources = 'web-1'"},
		{ListOptions{Workflow: "StartInstances"}, "TaskQueue = 'cloudflow' AND WorkflowType = 'StartInstances'"},
		{ListOptions{Resource: `it's`}, `TaskQueue = 'cloudflow' AND CloudflowResources = 'it\'s'`},
		{ListOptions{Query: "ExecutionStatus = 'Running'"}, "ExecutionStatus = 'Running'"},
	} {
		got, err := tc.o.query("cloudflow")
		if err != nil || got != tc.want {
			t.Errorf("query(%+v) = %q, %v; want %q", tc.o, got, err, tc.want)
		}
	}
	if _, err := (ListOptions{Query: "x", Provider: "crusoe"}).query("q"); err == nil {
		t.Error("a query with a filter was accepted")
	}
}

func TestSearchAttributesFitTheServersLimit(t *testing.T) {
	names := make([]string, 500)
	for i := range names {
		names[i] = fmt.Sprintf("web-%d", i+1)
	}
	sa := Plan{Provider: "kraftcloud", Resources: names}.searchAttributes()
	got, ok := sa.GetKeywordList(SearchAttrResources)
	if !ok || len(got) == 0 || len(got) == len(names) {
		t.Fatalf("indexed %d of %d names; want the first ones only", len(got), len(names))
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 2048 {
		t.Errorf("the indexed list is %d bytes as JSON, over the server's 2048", len(b))
	}
	if got[0] != "web-1" {
		t.Errorf("first indexed name %q", got[0])
	}
}
