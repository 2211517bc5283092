package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// Every leftover in the "could not be undone" table is named by its ID: its
// own, else its step's; one whose ID no call learned says so instead of "-".
func TestLeftoversAreListedByID(t *testing.T) {
	var out bytes.Buffer
	steps := []workflows.Step{
		{Name: "vm/web", Kind: "vm", Resource: "web", ID: "vm-1", State: "undo-failed"},
		{Name: "disk/web-data", Kind: "disk", Resource: "web-data", ID: "disk-1", State: "undo-failed"},
		{Name: "disk/web-scratch", Kind: "disk", Resource: "web-scratch", State: "undo-failed"},
	}
	printFailureReport(&out, starter.Run{Workflow: "ProvisionVM"}, &starter.RunError{Status: "Failed"}, "firewall-rule/web-ssh", steps, nil,
		[]workflows.UndoFailure{
			{Step: "vm/web", Kind: "vm", Name: "web", ID: "vm-1", Error: "delete refused"},
			{Step: "disk/web-data", Kind: "disk", Name: "web-data", Error: "skipped: attached"},
			{Step: "disk/web-scratch", Kind: "disk", Name: "web-scratch", Error: "list disks: 500"},
		})
	assert.Regexp(t, `vm\s+web\s+vm-1\s+delete refused`, out.String())
	assert.Regexp(t, `disk\s+web-data\s+disk-1\s+skipped: attached`, out.String())
	assert.Regexp(t, `disk\s+web-scratch\s+unknown: find it by name\s+list disks: 500`, out.String())
	assert.NotRegexp(t, `\s-\s`, out.String())
}
