package starter

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestValidateCron(t *testing.T) {
	for _, ok := range []string{"0 22 * * 1-5", "*/15 * * * *", "0 0 1 jan,jul *", "30 6 * * MON-FRI", "0 0 * * 7", "@daily", "@Hourly", "5,10-20/5 0 1-31/2 * sun"} {
		if err := ValidateCron(ok); err != nil {
			t.Errorf("ValidateCron(%q): %v", ok, err)
		}
	}
	for expr, want := range map[string]string{
		"0 22 * *":        "has 4 fields",
		"60 * * * *":      "minute field",
		"0 24 * * *":      "hour field",
		"0 0 0 * *":       "day of month field",
		"0 0 * 13 *":      "month field",
		"0 0 * * 8":       "day of week field",
		"0 0 * * fri-mon": "runs backwards",
		"*/0 * * * *":     "step",
		"0 0 * * x":       "not a number",
		"@fortnightly":    "unknown macro",
		"1,,2 * * * *":    "empty list item",
	} {
		err := ValidateCron(expr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateCron(%q) = %v, want an error mentioning %q", expr, err, want)
		}
	}
}

func TestScheduleOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o    ScheduleOptions
		want string
	}{
		{ScheduleOptions{ID: "nightly", Cron: "0 22 * * 1-5"}, ""},
		{ScheduleOptions{ID: "hourly", Every: time.Hour, Overlap: "buffer-one"}, ""},
		{ScheduleOptions{ID: "fast", Every: 10 * time.Second}, "shorter than the minimum"},
		{ScheduleOptions{ID: "none"}, "give --cron or --every"},
		{ScheduleOptions{ID: "both", Cron: "@daily", Every: time.Hour}, "not both"},
		{ScheduleOptions{ID: "bad", Cron: "0 25 * * *"}, "hour field"},
		{ScheduleOptions{ID: "ov", Every: time.Hour, Overlap: "sometimes"}, `--overlap "sometimes"`},
		{ScheduleOptions{ID: "has space", Every: time.Hour}, "schedule name"},
	} {
		err := tc.o.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tc.o, err, tc.want)
		}
	}
}

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
