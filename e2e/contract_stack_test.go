package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// The stack section of docs/contract.md: the Stack workflow's start by
// update-with-start, its updates and their requests, its state query, and
// its ApplyStack children, read from the document and checked against the
// code, then run with the Temporal CLI as the document shows.

// stackUpdates are the updates a Stack accepts, with their request types.
var stackUpdates = map[string]reflect.Type{
	workflows.StackUpdatePlan:     reflect.TypeFor[workflows.StackPlanRequest](),
	workflows.StackUpdateApply:    reflect.TypeFor[workflows.StackApplyRequest](),
	workflows.StackUpdateApprove:  reflect.TypeFor[workflows.StackApproveRequest](),
	workflows.StackUpdateDiscard:  reflect.TypeFor[workflows.StackApproveRequest](),
	workflows.StackUpdateDestroy:  reflect.TypeFor[workflows.StackDestroyRequest](),
	workflows.StackUpdateRefresh:  reflect.TypeFor[workflows.StackRefreshRequest](),
	workflows.StackUpdateSettings: reflect.TypeFor[workflows.StackSettingsRequest](),
}

// stackValues are the values the document's value tables must list.
var stackValues = map[string][]string{
	"StackStatus": {
		workflows.StackNew, workflows.StackInSync, workflows.StackDrifted, workflows.StackApplying,
		workflows.StackDestroying, workflows.StackAwaitingApproval, workflows.StackFailed, workflows.StackDestroyed,
	},
	"PlanAction": {
		workflows.ActionCreate, workflows.ActionAdopt, workflows.ActionUpdate, workflows.ActionReplace,
		workflows.ActionDelete, workflows.ActionRelease, workflows.ActionNoChange,
	},
	"Output": {
		activities.OutputPrivateIPv4, activities.OutputPublicIPv4, activities.OutputSSHDestination,
		activities.OutputFQDN, activities.OutputIPAddress,
	},
}

// updateName is the update an example is of: "apply" for "apply destructive".
func updateName(key string) string { name, _, _ := strings.Cut(key, " "); return name }

// stackRefOf is the stack the document's Stack example starts.
func stackRefOf(t *testing.T, doc contractDoc) starter.StackRef {
	t.Helper()
	ex := doc.examples[workflows.StackWorkflowName]
	require.NotNil(t, ex, "no Stack example (<!-- contract-example: Stack -->)")
	var in workflows.StackInput
	require.NoError(t, decodeStrict(ex.input, &in), "the Stack example")
	return starter.StackRef{Provider: in.Provider, Name: in.Name}
}

// checkStackDocument checks the stack section against the code: the start
// command gives the stack the ID, policies and search attributes the Go
// starter gives it (TestApplyStackStartsTheStackWithTheUpdate pins the
// starter to the same); every update has an example whose fields its request
// type has; every answer shown decodes strictly; the value tables list
// exactly the code's values; the commands act on the example's stack.
func checkStackDocument(t *testing.T, doc contractDoc) {
	ex := doc.examples[workflows.StackWorkflowName]
	require.NotNil(t, ex, "no Stack example (<!-- contract-example: Stack -->)")
	bad, err := unknownKeys(ex.input, reflect.TypeFor[workflows.StackInput]())
	require.NoError(t, err)
	require.Empty(t, bad, "the Stack example has fields StackInput does not have")
	var in workflows.StackInput
	require.NoError(t, json.Unmarshal(ex.input, &in))
	ref := stackRefOf(t, doc)
	require.Nil(t, in.State, "the example must leave the internal state out")

	t.Run("start command", func(t *testing.T) {
		require.NotNil(t, ex.command, "no start command (<!-- contract-start: Stack -->)")
		flags, err := cliFlags(ex.command, "workflow", "execute-update-with-start")
		require.NoError(t, err)
		one := func(flag string) string {
			require.Len(t, flags[flag], 1, "%s, once", flag)
			return flags[flag][0]
		}
		require.Equal(t, workflows.TaskQueue, one("--task-queue"))
		require.Equal(t, workflows.StackWorkflowName, one("--type"))
		require.Equal(t, ref.WorkflowID(), one("--workflow-id"))
		require.Equal(t, "UseExisting", one("--id-conflict-policy"), "an open stack is joined: the stack is the lock")
		require.NotContains(t, flags, "--fail-existing")
		require.Equal(t, "AllowDuplicate", one("--id-reuse-policy"), "a destroyed stack is started anew")
		require.Len(t, flags["--input-file"], 1)
		update := one("--update-name")
		require.Contains(t, stackUpdates, update)
		require.Contains(t, doc.updates, update, "the start sends the %s example", update)
		require.Len(t, flags["--update-input-file"], 1)
		require.Len(t, flags["--update-id"], 1)

		attrs := map[string]json.RawMessage{}
		for _, sa := range flags["--search-attribute"] {
			k, v, _ := strings.Cut(sa, "=")
			attrs[k] = json.RawMessage(v)
		}
		require.True(t, in.Indexed, "the start sets the search attributes, so the input must say indexed")
		require.Len(t, attrs, len(starter.SearchAttributeTypes), "a stack carries every search attribute")
		var provider, status string
		var resources []string
		require.NoError(t, json.Unmarshal(attrs[starter.SearchAttrProvider.GetName()], &provider))
		require.NoError(t, json.Unmarshal(attrs[starter.SearchAttrResources.GetName()], &resources))
		require.NoError(t, json.Unmarshal(attrs[starter.SearchAttrStackStatus.GetName()], &status))
		require.Equal(t, ref.Provider, provider)
		require.Equal(t, []string{ref.Name}, resources)
		require.Equal(t, workflows.StackNew, status)
	})

	t.Run("updates", func(t *testing.T) {
		for name := range stackUpdates {
			found := false
			for key := range doc.updates {
				found = found || updateName(key) == name
			}
			require.True(t, found, "no example of the %s update (<!-- contract-update: %s -->)", name, name)
		}
		for key, body := range doc.updates {
			typ, ok := stackUpdates[updateName(key)]
			require.True(t, ok, "the example %q is of an update a Stack does not have", key)
			bad, err := unknownKeys(body, typ)
			require.NoError(t, err, "the %q example is not JSON", key)
			require.Empty(t, bad, "the %q example has fields %s does not have", key, typ.Name())
			v := reflect.New(typ)
			require.NoError(t, decodeStrict(body, v.Interface()), key)
			// A spec must be this stack's.
			if f := v.Elem().FieldByName("Spec"); f.IsValid() {
				spec := f.Interface().(workflows.StackSpec)
				require.NoError(t, spec.Validate(), key)
				require.Equal(t, ref, starter.StackRefOf(spec), "the %q example's spec is another stack's", key)
			}
		}
	})

	t.Run("answers", func(t *testing.T) {
		require.NotEmpty(t, doc.answers)
		for name, body := range doc.answers {
			typ, ok := contractTypes[name]
			require.True(t, ok, "an answer of %s, which contract_test.go does not know", name)
			require.NoError(t, decodeStrict(body, reflect.New(typ).Interface()), "the %s answer", name)
		}
	})

	t.Run("values", func(t *testing.T) {
		for name, want := range stackValues {
			require.ElementsMatch(t, want, doc.values[name], "the table of %s (<!-- contract-values: %s -->)", name, name)
		}
		for name := range doc.values {
			require.Contains(t, stackValues, name, "a values table contract_test.go does not know")
		}
	})

	t.Run("commands", func(t *testing.T) {
		for name, sub := range map[string][]string{
			"update":         {"workflow", "update", "execute"},
			"update-start":   {"workflow", "update", "start"},
			"update-result":  {"workflow", "update", "result"},
			"state":          {"workflow", "query"},
			"apply-progress": {"workflow", "query"},
		} {
			words := doc.commands[name]
			require.NotNil(t, words, "no %s command (<!-- contract-command: %s -->)", name, name)
			flags, err := cliFlags(words, sub...)
			require.NoError(t, err, name)
			id := flags["--workflow-id"]
			require.Len(t, id, 1, name)
			switch name {
			case "apply-progress":
				require.True(t, strings.HasPrefix(id[0], ref.WorkflowID()+"-"+workflows.StackUpdateApply+"-"), "%s: an ApplyStack child's ID", id[0])
				require.Equal(t, []string{workflows.ProgressQuery}, flags["--type"])
			case "state":
				require.Equal(t, ref.WorkflowID(), id[0])
				require.Equal(t, []string{workflows.StackQueryState}, flags["--type"])
			case "update-start":
				require.Equal(t, []string{"accepted"}, flags["--wait-for-stage"])
				fallthrough
			default:
				require.Equal(t, ref.WorkflowID(), id[0], name)
				require.Len(t, flags["--update-id"], 1, name)
			}
			if name == "update" || name == "update-start" {
				require.Contains(t, stackUpdates, flags["--name"][0], name)
				require.Len(t, flags["--input-file"], 1, name)
			}
		}
		for name := range doc.commands {
			require.Contains(t, []string{"update", "update-start", "update-result", "state", "apply-progress"}, name,
				"a command contract_test.go does not run")
		}
	})
}

// stackRun drives the document's stack with the Temporal CLI, by the
// document's commands.
type stackRun struct {
	*contractRun
	ref starter.StackRef
	// sent counts the examples sent, by key: each needs an update ID of its own.
	sent map[string]int
}

// command runs the document's command name with the flags in set given
// those values, and the input files in files written out.
func (r *stackRun) command(t *testing.T, words []string, set map[string]string, files map[string][]byte) (stdout, stderr string, code int) {
	t.Helper()
	args := slices.Clone(words[1:])
	for i := 0; i+1 < len(args); i++ {
		flag := args[i]
		if v, ok := set[flag]; ok {
			args[i+1] = v
		}
		if body, ok := files[flag]; ok {
			p := filepath.Join(r.dir, fmt.Sprintf("%d-%s", len(r.sent), filepath.Base(args[i+1])))
			require.NoError(t, os.WriteFile(p, body, 0o600))
			args[i+1] = p
		}
		if flag == "--task-queue" {
			args[i+1] = r.tq
		}
	}
	return temporalCLI(t, args...)
}

// body is the example of key, marked sent.
func (r *stackRun) body(t *testing.T, key string) ([]byte, string) {
	t.Helper()
	body, ok := r.doc.updates[key]
	require.True(t, ok, "no update example %q", key)
	r.sent[key]++
	return body, fmt.Sprintf("contract-%s-%d", strings.ReplaceAll(key, " ", "-"), r.sent[key])
}

// start sends the example of key with the document's start command:
// update-with-start.
func (r *stackRun) start(t *testing.T, key string) workflows.StackOperationResult {
	t.Helper()
	body, updateID := r.body(t, key)
	out, errOut, code := r.command(t, r.doc.examples[workflows.StackWorkflowName].command,
		map[string]string{"--update-name": updateName(key), "--update-id": updateID},
		map[string][]byte{"--input-file": r.doc.examples[workflows.StackWorkflowName].input, "--update-input-file": body})
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var answer struct {
		WorkflowID   string          `json:"workflowId"`
		RunID        string          `json:"runId"`
		UpdateName   string          `json:"updateName"`
		UpdateID     string          `json:"updateId"`
		UpdateResult json.RawMessage `json:"updateResult"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &answer), out)
	require.Equal(t, r.ref.WorkflowID(), answer.WorkflowID)
	require.Equal(t, updateName(key), answer.UpdateName)
	require.Equal(t, updateID, answer.UpdateID)
	var res workflows.StackOperationResult
	require.NoError(t, decodeStrict(answer.UpdateResult, &res), "the answer of %s", key)
	require.Equal(t, updateID, res.Operation.UpdateID)
	return res
}

// update sends the example of key, or body when given, with the document's
// update command (or the command named by via), and answers its update ID
// and what the CLI printed.
func (r *stackRun) update(t *testing.T, via, key string, body []byte) (updateID, stdout, stderr string, code int) {
	t.Helper()
	doc, updateID := r.body(t, key)
	if body == nil {
		body = doc
	}
	stdout, stderr, code = r.command(t, r.doc.commands[via],
		map[string]string{"--name": updateName(key), "--update-id": updateID},
		map[string][]byte{"--input-file": body})
	return updateID, stdout, stderr, code
}

// result sends the example of key and decodes its answer strictly into R.
func stackResult[R any](t *testing.T, r *stackRun, key string) R {
	t.Helper()
	updateID, out, errOut, code := r.update(t, "update", key, nil)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var answer struct {
		Name     string          `json:"name"`
		UpdateID string          `json:"updateId"`
		Result   json.RawMessage `json:"result"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &answer), out)
	require.Equal(t, updateID, answer.UpdateID)
	var res R
	require.NoError(t, decodeStrict(answer.Result, &res), "the answer of %s", key)
	return res
}

// failure reads a failed update's outcome with the document's update-result
// command: its type, message and first detail.
func (r *stackRun) failure(t *testing.T, updateID string) (errType, message string, details json.RawMessage) {
	t.Helper()
	out, errOut, code := r.command(t, r.doc.commands["update-result"], map[string]string{"--update-id": updateID}, nil)
	require.Equal(t, 1, code, "a failed update's result exits 1\nstdout:\n%s\nstderr:\n%s", out, errOut)
	var answer struct {
		UpdateID string `json:"updateId"`
		Failure  struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Details json.RawMessage `json:"details"`
		} `json:"failure"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &answer), out)
	require.Equal(t, updateID, answer.UpdateID)
	details = answer.Failure.Details
	if len(details) > 0 && details[0] == '[' { // several details print as a list
		var all []json.RawMessage
		require.NoError(t, json.Unmarshal(details, &all))
		details = all[0]
	}
	return answer.Failure.Type, answer.Failure.Message, details
}

// query runs a query command of the document and decodes its one answer
// strictly into T.
func queryCommand[T any](t *testing.T, r *stackRun, name string, set map[string]string) T {
	t.Helper()
	out, errOut, code := r.command(t, r.doc.commands[name], set, nil)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var answer struct {
		QueryResult []json.RawMessage `json:"queryResult"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &answer), out)
	require.Len(t, answer.QueryResult, 1)
	var v T
	require.NoError(t, decodeStrict(answer.QueryResult[0], &v), "the answer of %s", name)
	return v
}

func (r *stackRun) state(t *testing.T) workflows.StackState {
	t.Helper()
	return queryCommand[workflows.StackState](t, r, "state", nil)
}

// simContainer is a container as the simulator's inventory shows it.
type simContainer struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	OSTemplate string            `json:"ostemplate"`
	Parameters map[string]string `json:"parameters"`
}

// containers are the simulator's containers.
func containers(t *testing.T) []simContainer {
	t.Helper()
	var out []simContainer
	for _, raw := range inventory(t)["openvz"]["containers"] {
		var c simContainer
		require.NoError(t, json.Unmarshal(raw, &c))
		out = append(out, c)
	}
	return out
}

// The stack section, run: the document's container stack is planned and
// the plan saved, approved, changed in place, refused a destructive change,
// refreshed, held by a slow apply while a refresh that may not wait is
// rejected, failed by an apply the cloud refuses, given new settings,
// applied again, planned and discarded, and destroyed. Every
// update is sent by the document's commands, every example is sent, and
// every answer decodes strictly into its Go type.
func TestContractStackRunsWithTheTemporalCLI(t *testing.T) {
	doc := readContract(t)
	tq := fresh(t)
	ctx := context.Background()
	require.NoError(t, admin.SetOperationLatency(ctx, cloudsim.CloudOpenVZ, 200*time.Millisecond))
	startWorker(t, dial(t), tq)
	r := &stackRun{contractRun: &contractRun{doc: doc, tq: tq, dir: t.TempDir()}, ref: stackRefOf(t, doc), sent: map[string]int{}}
	id := r.ref.WorkflowID()
	var applyDoc workflows.StackApplyRequest
	require.NoError(t, json.Unmarshal(doc.updates["apply"], &applyDoc))

	// 1. The first plan starts the stack, and is saved for approval.
	var planned workflows.StackOperationResult
	t.Run("plan", func(t *testing.T) {
		planned = r.start(t, "plan")
		require.Equal(t, workflows.OutcomeSucceeded, planned.Operation.Outcome)
		require.NotNil(t, planned.Plan)
		require.Len(t, planned.Plan.Changes, 1)
		require.Equal(t, workflows.ActionCreate, planned.Plan.Changes[0].Action)
		require.Equal(t, "container/"+r.ref.Name, planned.Plan.Changes[0].Key)
		require.Equal(t, workflows.StackAwaitingApproval, planned.State.Status)
		require.Equal(t, planned.Plan.ID, planned.State.PendingPlan.ID)
		var approve workflows.StackApproveRequest
		require.NoError(t, json.Unmarshal(doc.updates["approve"], &approve))
		require.Equal(t, planned.Plan.ID, approve.PlanID, "the approve example names the plan the plan example makes")
		require.Empty(t, containers(t), "a plan makes nothing")

		// The status is a search attribute: the stack is found by it.
		waitFor(t, 20*time.Second, "the stack to be listed as awaiting approval", func() bool {
			out, _, code := temporalCLI(t, "workflow", "list", "--output", "json", "--query",
				fmt.Sprintf("WorkflowType = 'Stack' AND CloudflowStackStatus = '%s'", workflows.StackAwaitingApproval))
			return code == 0 && strings.Contains(out, `"workflowId": "`+id+`"`)
		})
	})

	// 2. The approval applies the saved plan; the state shows the outputs.
	t.Run("approve", func(t *testing.T) {
		res := stackResult[workflows.StackOperationResult](t, r, "approve")
		require.Equal(t, workflows.OutcomeSucceeded, res.Operation.Outcome)
		require.Equal(t, planned.Plan.Basis, res.Plan.Basis, "exactly the saved plan")
		require.NotNil(t, res.Apply)
		require.Len(t, res.Apply.Done, 1)
		cts := containers(t)
		require.Len(t, cts, 1)
		require.Equal(t, r.ref.Name, cts[0].Name)

		var want workflows.StackState
		require.NoError(t, decodeStrict(doc.answers["StackState"], &want))
		got := r.state(t)
		require.Equal(t, want.Status, got.Status)
		require.Equal(t, want.Sequence, got.Sequence)
		require.Equal(t, want.Settings, got.Settings)
		require.Equal(t, want.Spec, got.Spec)
		require.Len(t, got.Resources, len(want.Resources))
		for i, w := range want.Resources {
			g := got.Resources[i]
			require.Equal(t, cts[0].ID, g.ID)
			w.ID = g.ID
			require.Equal(t, w, g, "the document's state answer, but for the ID")
		}
		require.NotNil(t, got.LastOperation)
		w, g := *want.LastOperation, *got.LastOperation
		require.Equal(t, []string{w.ID, w.Kind, w.UpdateID, w.Run, w.Outcome}, []string{g.ID, g.Kind, g.UpdateID, g.Run, g.Outcome})
		require.Nil(t, got.Operation)
	})

	// 3. An apply by update-with-start changes the container in place, in
	// the ApplyStack child the document names.
	t.Run("apply", func(t *testing.T) {
		before := len(journal(t))
		res := r.start(t, "apply")
		require.Equal(t, workflows.OutcomeSucceeded, res.Operation.Outcome)
		require.Len(t, res.Plan.Changes, 1)
		ch := res.Plan.Changes[0]
		require.Equal(t, workflows.ActionUpdate, ch.Action)
		require.Equal(t, []workflows.FieldChange{{Field: "cpus", Old: "2", New: "4"}, {Field: "memory", Old: "1G", New: "2G"}}, ch.Fields)
		require.Equal(t, workflows.StackInSync, res.State.Status)
		for _, req := range journal(t)[before:] {
			if strings.Contains(req.Path, "/containers") {
				require.NotContains(t, []string{"POST", "DELETE"}, req.Method, "%s %s during an in-place change", req.Method, req.Path)
			}
		}
		cts := containers(t)
		require.Len(t, cts, 1)
		require.Equal(t, "4", cts[0].Parameters["cpus"])

		require.Equal(t, progressChild(doc), res.Operation.Run, "the document names this apply's child")
		p := queryCommand[workflows.Progress](t, r, "apply-progress", nil)
		require.Equal(t, workflows.ApplyStackWorkflowName, p.Workflow)
		require.Equal(t, workflows.PhaseCompleted, p.Phase)
		require.Len(t, p.Steps, 1)
		require.Equal(t, "update container/"+r.ref.Name, p.Steps[0].Name)
		require.Equal(t, workflows.StepDone, p.Steps[0].State)
	})

	// 4. A destructive change is refused, with the plan as details.
	t.Run("apply destructive", func(t *testing.T) {
		before := containers(t)
		updateID, out, errOut, code := r.update(t, "update", "apply destructive", nil)
		require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		require.Contains(t, errOut, workflows.ErrTypeStackRefused)
		errType, msg, details := r.failure(t, updateID)
		require.Equal(t, workflows.ErrTypeStackRefused, errType)
		require.Contains(t, msg, "container/"+r.ref.Name)
		var got, want workflows.StackPlan
		require.NoError(t, decodeStrict(details, &got), "StackRefused's details are a StackPlan")
		require.NoError(t, decodeStrict(doc.answers["StackPlan"], &want))
		require.Equal(t, want.ID, got.ID)
		require.Equal(t, want.Spec, got.Spec)
		require.Len(t, got.Changes, len(want.Changes))
		for i := range want.Changes {
			w, g := want.Changes[i], got.Changes[i]
			w.ID = g.ID
			require.Equal(t, w, g, "the document's refused plan, but for the ID")
		}
		require.Equal(t, before, containers(t), "a refused apply changes nothing")
	})

	// 5. A refresh re-reads the container.
	t.Run("refresh", func(t *testing.T) {
		res := stackResult[workflows.StackOperationResult](t, r, "refresh")
		require.Equal(t, workflows.StackUpdateRefresh, res.Operation.Kind)
		require.Equal(t, workflows.OutcomeSucceeded, res.Operation.Outcome)
		require.Empty(t, res.State.Drift)
		require.False(t, res.State.LastRefresh.Before(res.Operation.Started))
	})

	// 6. A slow apply holds the stack: a refresh that may not wait is
	// rejected, naming it.
	t.Run("busy", func(t *testing.T) {
		_, err := admin.AddFault(ctx, cloudsim.Fault{Cloud: cloudsim.CloudOpenVZ, Method: "PATCH", Path: "/v0.1/containers/*",
			Action: cloudsim.FaultDelay, Delay: cloudsim.Duration(4 * time.Second), Times: 1})
		require.NoError(t, err)
		bigger := applyDoc
		ct := *bigger.Spec.OpenVZ
		ct.Container.CPUs = 8
		bigger.Spec.OpenVZ = &ct
		body, err := json.Marshal(bigger)
		require.NoError(t, err)
		holder, out, errOut, code := r.update(t, "update-start", "apply", body)
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		var accepted struct {
			UpdateID string `json:"updateId"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &accepted), out)
		require.Equal(t, holder, accepted.UpdateID)

		var st workflows.StackState
		waitFor(t, 20*time.Second, "the apply to hold the stack", func() bool {
			st = r.state(t)
			return st.Operation != nil
		})
		require.Equal(t, holder, st.Operation.UpdateID)
		require.Equal(t, workflows.StackApplying, st.Status)
		_, out, errOut, code = r.update(t, "update", "refresh", nil)
		require.Equal(t, 1, code, "a refresh that may not wait was not rejected:\n%s", out)
		require.Contains(t, errOut, workflows.ErrTypeStackBusy)
		require.Contains(t, errOut, st.Operation.ID, "the rejection names the operation holding the stack")

		out, errOut, code = r.command(t, doc.commands["update-result"], map[string]string{"--update-id": holder}, nil)
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		var answer struct {
			Result json.RawMessage `json:"result"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &answer), out)
		var res workflows.StackOperationResult
		require.NoError(t, decodeStrict(answer.Result, &res))
		require.Equal(t, workflows.OutcomeSucceeded, res.Operation.Outcome)
		require.Equal(t, "8", containers(t)[0].Parameters["cpus"])
	})

	// 7. An apply that fails: its failure carries its result.
	t.Run("failed apply", func(t *testing.T) {
		_, err := admin.AddFault(ctx, cloudsim.Fault{Cloud: cloudsim.CloudOpenVZ, Method: "PATCH", Path: "/v0.1/containers/*",
			Action: cloudsim.FaultError, Status: 400, Message: "cpus out of range", Times: 1})
		require.NoError(t, err)
		updateID, out, errOut, code := r.update(t, "update", "apply", nil)
		require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		errType, msg, details := r.failure(t, updateID)
		require.Equal(t, workflows.ErrTypeStackApplyFailed, errType)
		require.Contains(t, msg, "cpus out of range")
		var res workflows.StackOperationResult
		require.NoError(t, decodeStrict(details, &res), "StackApplyFailed's details are a StackOperationResult")
		require.Equal(t, updateID, res.Operation.UpdateID)
		require.Equal(t, workflows.OutcomeFailed, res.Operation.Outcome)
		require.NotNil(t, res.Plan)
		require.NotNil(t, res.Apply)
		require.Len(t, res.Apply.Failed, 1)
		require.Equal(t, "container/"+r.ref.Name, res.Apply.Failed[0].Key)
		require.Contains(t, res.Apply.Failed[0].Error, "cpus out of range")
		require.Equal(t, workflows.StackFailed, res.State.Status)
		require.Len(t, res.State.Resources, 1, "the stack still owns the container")
		st := r.state(t)
		require.Equal(t, workflows.StackFailed, st.Status)
		require.Contains(t, st.LastOperation.Error, "cpus out of range")
		require.Equal(t, "8", containers(t)[0].Parameters["cpus"])
	})

	// 8. New settings answer the state.
	t.Run("settings", func(t *testing.T) {
		var req workflows.StackSettingsRequest
		require.NoError(t, json.Unmarshal(doc.updates["settings"], &req))
		st := stackResult[workflows.StackState](t, r, "settings")
		require.Equal(t, req.Settings, st.Settings)
	})

	// 9. The apply again, as a plain update: in sync again.
	t.Run("apply again", func(t *testing.T) {
		res := stackResult[workflows.StackOperationResult](t, r, "apply")
		require.Equal(t, workflows.OutcomeSucceeded, res.Operation.Outcome)
		require.Equal(t, workflows.StackInSync, res.State.Status)
		require.Equal(t, "4", containers(t)[0].Parameters["cpus"])
	})

	// 10. A saved plan, discarded.
	t.Run("discard", func(t *testing.T) {
		planned := stackResult[workflows.StackOperationResult](t, r, "plan")
		require.True(t, planned.Plan.Pending())
		require.Equal(t, workflows.StackAwaitingApproval, planned.State.Status)
		res := stackResult[workflows.StackOperationResult](t, r, "discard")
		require.Equal(t, planned.Plan.ID, res.Plan.ID)
		require.Nil(t, res.State.PendingPlan)
		require.Equal(t, workflows.StackInSync, res.State.Status)
		require.Equal(t, "4", containers(t)[0].Parameters["cpus"], "a discarded plan changes nothing")
	})

	// 11. The destroy deletes the container and ends the stack.
	t.Run("destroy", func(t *testing.T) {
		res := stackResult[workflows.StackOperationResult](t, r, "destroy")
		require.Equal(t, workflows.OutcomeSucceeded, res.Operation.Outcome)
		require.Equal(t, workflows.StackDestroyed, res.State.Status)
		require.Len(t, res.Apply.Done, 1)
		require.Equal(t, workflows.ActionDelete, res.Apply.Done[0].Action)
		require.Empty(t, containers(t))
		o, _ := contractResult[json.RawMessage](t, id)
		requireCompleted(t, o)
		require.Equal(t, workflows.StackDestroyed, r.state(t).Status, "a destroyed stack answers its last state")

		_, out, errOut, code := r.update(t, "update", "approve", nil)
		require.Equal(t, 1, code, "an update to a destroyed stack:\n%s", out)
		require.Contains(t, errOut, "workflow execution already completed")
	})

	for key := range doc.updates {
		require.NotZero(t, r.sent[key], "the %q example was never sent", key)
	}
	saveHistory(t, id, "stack-openvz-contract")
	saveHistory(t, progressChild(doc), "stack-openvz-contract-apply")
}

// progressChild is the ApplyStack child the document queries.
func progressChild(doc contractDoc) string {
	words := doc.commands["apply-progress"]
	return words[slices.Index(words, "--workflow-id")+1]
}
