package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"

	"github.com/cloudflow/cloudflow/activities"
	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/worker"
	"github.com/cloudflow/cloudflow/workflows"
)

// The contract for services in other languages is docs/contract.md. These
// tests read that file, so what is tested is what other teams read: its field
// tables are compared with the Go types, its examples are decoded strictly,
// and every example is started with the official Temporal CLI by the command
// the document shows, against the dev server and the simulator.

const contractPath = "../docs/contract.md"

// contractWorkflow is what the tests know of one workflow type: its input
// and result types, and the starter's plan, which gives the workflow ID and
// search attributes a Go service would use.
type contractWorkflow struct {
	input, result reflect.Type
	plan          func(input []byte) (starter.Plan, error)
	// fleet workflows answer the progress query with a FleetProgress.
	fleet bool
}

func contractFor[R, I any](plan func(I) starter.Plan, fleet bool) contractWorkflow {
	return contractWorkflow{
		input: reflect.TypeFor[I](), result: reflect.TypeFor[R](), fleet: fleet,
		plan: func(data []byte) (starter.Plan, error) {
			var in I
			err := json.Unmarshal(data, &in)
			return plan(in), err
		},
	}
}

// contractWorkflows are the workflows the document must describe. A workflow
// the worker registers that is missing here (and not marked TODO in the
// document) fails TestContractDocumentMatchesTheCode: add it with its
// result type and plan function.
var contractWorkflows = map[string]contractWorkflow{
	workflows.ProvisionVMWorkflowName:      contractFor[workflows.ProvisionVMResult](starter.ProvisionVMPlan, false),
	workflows.DeprovisionVMWorkflowName:    contractFor[workflows.DeprovisionVMResult](starter.DeprovisionVMPlan, false),
	workflows.BulkCreateVMsWorkflowName:    contractFor[workflows.BulkCreateVMsResult](starter.BulkCreateVMsPlan, false),
	workflows.DeployInstanceWorkflowName:   contractFor[workflows.DeployInstanceResult](starter.DeployInstancePlan, false),
	workflows.UndeployInstanceWorkflowName: contractFor[workflows.UndeployInstanceResult](starter.UndeployInstancePlan, false),
	workflows.StartInstancesWorkflowName:   contractFor[workflows.FleetResult](starter.StartInstancesPlan, true),
	workflows.StopInstancesWorkflowName:    contractFor[workflows.FleetResult](starter.StopInstancesPlan, true),
	workflows.SnapshotDisksWorkflowName:    contractFor[workflows.SnapshotDisksResult](starter.SnapshotDisksPlan, false),
	workflows.CreateContainerWorkflowName:  contractFor[workflows.CreateContainerResult](starter.CreateContainerPlan, false),
	workflows.DeleteContainerWorkflowName:  contractFor[workflows.DeleteContainerResult](starter.DeleteContainerPlan, false),

	// CloudMC
	workflows.ProvisionInstanceWorkflowName:   contractFor[workflows.ProvisionInstanceResult](starter.ProvisionInstancePlan, false),
	workflows.DeprovisionInstanceWorkflowName: contractFor[workflows.DeprovisionInstanceResult](starter.DeprovisionInstancePlan, false),
}

// contractTypes are the types whose fields the document lists in a table
// marked <!-- contract-fields: Name -->.
var contractTypes = map[string]reflect.Type{
	"ProvisionVMInput":       reflect.TypeFor[workflows.ProvisionVMInput](),
	"ProvisionVMResult":      reflect.TypeFor[workflows.ProvisionVMResult](),
	"DeprovisionVMInput":     reflect.TypeFor[workflows.DeprovisionVMInput](),
	"DeprovisionVMResult":    reflect.TypeFor[workflows.DeprovisionVMResult](),
	"BulkCreateVMsInput":     reflect.TypeFor[workflows.BulkCreateVMsInput](),
	"BulkCreateVMsResult":    reflect.TypeFor[workflows.BulkCreateVMsResult](),
	"DeployInstanceInput":    reflect.TypeFor[workflows.DeployInstanceInput](),
	"DeployInstanceResult":   reflect.TypeFor[workflows.DeployInstanceResult](),
	"UndeployInstanceInput":  reflect.TypeFor[workflows.UndeployInstanceInput](),
	"UndeployInstanceResult": reflect.TypeFor[workflows.UndeployInstanceResult](),
	"FleetInput":             reflect.TypeFor[workflows.FleetInput](),
	"FleetResult":            reflect.TypeFor[workflows.FleetResult](),
	"SnapshotDisksInput":     reflect.TypeFor[workflows.SnapshotDisksInput](),
	"SnapshotDisksResult":    reflect.TypeFor[workflows.SnapshotDisksResult](),
	"SnapshotRecord":         reflect.TypeFor[workflows.SnapshotRecord](),
	"Timeouts":               reflect.TypeFor[workflows.Timeouts](),
	"Resource":               reflect.TypeFor[workflows.Resource](),
	"Step":                   reflect.TypeFor[workflows.Step](),
	"UndoFailure":            reflect.TypeFor[workflows.UndoFailure](),
	"FleetItem":              reflect.TypeFor[workflows.FleetItem](),
	"Progress":               reflect.TypeFor[workflows.Progress](),
	"FleetProgress":          reflect.TypeFor[workflows.FleetProgress](),
	"CloudErrorDetails":      reflect.TypeFor[activities.CloudErrorDetails](),

	// Container API
	"CreateContainerInput":  reflect.TypeFor[workflows.CreateContainerInput](),
	"CreateContainerResult": reflect.TypeFor[workflows.CreateContainerResult](),
	"DeleteContainerInput":  reflect.TypeFor[workflows.DeleteContainerInput](),
	"DeleteContainerResult": reflect.TypeFor[workflows.DeleteContainerResult](),

	// CloudMC
	"ProvisionInstanceInput":    reflect.TypeFor[workflows.ProvisionInstanceInput](),
	"ProvisionInstanceResult":   reflect.TypeFor[workflows.ProvisionInstanceResult](),
	"DeprovisionInstanceInput":  reflect.TypeFor[workflows.DeprovisionInstanceInput](),
	"DeprovisionInstanceResult": reflect.TypeFor[workflows.DeprovisionInstanceResult](),

	// Stacks
	"StackInput":           reflect.TypeFor[workflows.StackInput](),
	"StackSettings":        reflect.TypeFor[workflows.StackSettings](),
	"StackSpec":            reflect.TypeFor[workflows.StackSpec](),
	"StackPlanRequest":     reflect.TypeFor[workflows.StackPlanRequest](),
	"StackApplyRequest":    reflect.TypeFor[workflows.StackApplyRequest](),
	"StackApproveRequest":  reflect.TypeFor[workflows.StackApproveRequest](),
	"StackDestroyRequest":  reflect.TypeFor[workflows.StackDestroyRequest](),
	"StackRefreshRequest":  reflect.TypeFor[workflows.StackRefreshRequest](),
	"StackSettingsRequest": reflect.TypeFor[workflows.StackSettingsRequest](),
	"StackState":           reflect.TypeFor[workflows.StackState](),
	"StackResource":        reflect.TypeFor[workflows.StackResource](),
	"StackPlan":            reflect.TypeFor[workflows.StackPlan](),
	"PlanChange":           reflect.TypeFor[workflows.PlanChange](),
	"FieldChange":          reflect.TypeFor[workflows.FieldChange](),
	"Observed":             reflect.TypeFor[activities.Observed](),
	"StackOperationResult": reflect.TypeFor[workflows.StackOperationResult](),
	"StackOperation":       reflect.TypeFor[workflows.StackOperation](),
	"ApplyStackResult":     reflect.TypeFor[workflows.ApplyStackResult](),
}

// sharedTypes have tables of their own: a field of such a type is one row
// in its parent's table, not expanded there. FleetCarry is internal, and
// documented as "leave it out"; SnapshotFailure and PlanFailure are
// described in their row. A stack's spec holds the provisioning workflows'
// inputs, each with its own table.
var sharedTypes = []reflect.Type{
	reflect.TypeFor[workflows.Timeouts](), reflect.TypeFor[workflows.Resource](), reflect.TypeFor[workflows.Step](),
	reflect.TypeFor[workflows.UndoFailure](), reflect.TypeFor[workflows.FleetItem](), reflect.TypeFor[workflows.FleetCarry](),
	reflect.TypeFor[workflows.SnapshotRecord](), reflect.TypeFor[workflows.SnapshotFailure](),

	reflect.TypeFor[workflows.StackSettings](), reflect.TypeFor[workflows.StackSpec](), reflect.TypeFor[workflows.StackState](),
	reflect.TypeFor[workflows.StackResource](), reflect.TypeFor[workflows.StackPlan](), reflect.TypeFor[workflows.PlanChange](),
	reflect.TypeFor[workflows.FieldChange](), reflect.TypeFor[activities.Observed](), reflect.TypeFor[workflows.StackOperation](),
	reflect.TypeFor[workflows.ApplyStackResult](), reflect.TypeFor[workflows.PlanFailure](),
	reflect.TypeFor[workflows.ProvisionVMInput](), reflect.TypeFor[workflows.ProvisionInstanceInput](),
	reflect.TypeFor[workflows.DeployInstanceInput](), reflect.TypeFor[workflows.CreateContainerInput](),
}

type contractExample struct {
	workflow string
	input    []byte
	// command is the shell words of the example's start command.
	command []string
}

type contractDoc struct {
	examples map[string]*contractExample
	todos    []string
	fields   map[string][]string // type name: the field paths of its table
	// children are workflows documented as started by another workflow
	// only (<!-- contract-child: Name -->): no example to start.
	children []string
	// updates are the stack's update requests, by "<update>" or
	// "<update> <label>" (<!-- contract-update: apply destructive -->).
	updates map[string][]byte
	// commands are the CLI commands of the stack section, by name
	// (<!-- contract-command: state -->), as shell words.
	commands map[string][]string
	// answers are example answers, by Go type name (<!-- contract-answer: StackState -->).
	answers map[string][]byte
	// values are the first column of the tables of a field's values
	// (<!-- contract-values: StackStatus -->).
	values map[string][]string
}

var (
	contractExampleRE = regexp.MustCompile("(?s)<!-- contract-example: (\\w+) -->[ \t]*\n```json\n(.*?)\n```")
	contractStartRE   = regexp.MustCompile("(?s)<!-- contract-start: (\\w+) -->[ \t]*\n```sh\n(.*?)\n```")
	contractTodoRE    = regexp.MustCompile(`<!-- contract-todo: (\w+) -->`)
	contractFieldsRE  = regexp.MustCompile(`<!-- contract-fields: (\w+) -->[ \t]*\n((?:\|[^\n]*\n)+)`)
	contractChildRE   = regexp.MustCompile(`<!-- contract-child: (\w+) -->`)
	contractUpdateRE  = regexp.MustCompile("(?s)<!-- contract-update: (\\w+(?: [\\w-]+)?) -->[ \t]*\n```json\n(.*?)\n```")
	contractCommandRE = regexp.MustCompile("(?s)<!-- contract-command: ([\\w-]+) -->[ \t]*\n```sh\n(.*?)\n```")
	contractAnswerRE  = regexp.MustCompile("(?s)<!-- contract-answer: (\\w+) -->[ \t]*\n```json\n(.*?)\n```")
	contractValuesRE  = regexp.MustCompile(`<!-- contract-values: (\w+) -->[ \t]*\n((?:\|[^\n]*\n)+)`)
)

func readContract(t *testing.T) contractDoc {
	t.Helper()
	raw, err := os.ReadFile(contractPath)
	require.NoError(t, err)
	text := string(raw)
	doc := contractDoc{
		examples: map[string]*contractExample{}, fields: map[string][]string{},
		updates: map[string][]byte{}, commands: map[string][]string{}, answers: map[string][]byte{}, values: map[string][]string{},
	}
	for _, m := range contractExampleRE.FindAllStringSubmatch(text, -1) {
		require.NotContains(t, doc.examples, m[1], "two examples for %s", m[1])
		doc.examples[m[1]] = &contractExample{workflow: m[1], input: []byte(m[2])}
	}
	for _, m := range contractStartRE.FindAllStringSubmatch(text, -1) {
		ex := doc.examples[m[1]]
		require.NotNil(t, ex, "a start command for %s, which has no example", m[1])
		require.Nil(t, ex.command, "two start commands for %s", m[1])
		words, err := shellWords(m[2])
		require.NoError(t, err, "the start command of %s", m[1])
		ex.command = words
	}
	for _, m := range contractTodoRE.FindAllStringSubmatch(text, -1) {
		doc.todos = append(doc.todos, m[1])
	}
	for _, m := range contractFieldsRE.FindAllStringSubmatch(text, -1) {
		require.NotContains(t, doc.fields, m[1], "two field tables for %s", m[1])
		doc.fields[m[1]] = firstColumn(t, m[1], m[2])
	}
	for _, m := range contractValuesRE.FindAllStringSubmatch(text, -1) {
		require.NotContains(t, doc.values, m[1], "two tables of %s", m[1])
		doc.values[m[1]] = firstColumn(t, m[1], m[2])
	}
	for _, m := range contractChildRE.FindAllStringSubmatch(text, -1) {
		doc.children = append(doc.children, m[1])
	}
	for _, m := range contractUpdateRE.FindAllStringSubmatch(text, -1) {
		require.NotContains(t, doc.updates, m[1], "two update examples named %q", m[1])
		doc.updates[m[1]] = []byte(m[2])
	}
	for _, m := range contractAnswerRE.FindAllStringSubmatch(text, -1) {
		require.NotContains(t, doc.answers, m[1], "two answers of %s", m[1])
		doc.answers[m[1]] = []byte(m[2])
	}
	for _, m := range contractCommandRE.FindAllStringSubmatch(text, -1) {
		require.NotContains(t, doc.commands, m[1], "two commands named %q", m[1])
		words, err := shellWords(m[2])
		require.NoError(t, err, "command %s", m[1])
		doc.commands[m[1]] = words
	}
	return doc
}

// firstColumn reads the first column of a table whose cells there are all
// `code`: a field table's paths, a values table's values.
func firstColumn(t *testing.T, name, table string) []string {
	t.Helper()
	rows := strings.Split(strings.TrimSpace(table), "\n")
	require.GreaterOrEqual(t, len(rows), 2, "the table of %s has no header", name)
	var cells []string
	for _, row := range rows[2:] { // the header and the |---| line
		cell := strings.TrimSpace(strings.Split(strings.Trim(row, "| "), "|")[0])
		require.True(t, len(cell) > 2 && cell[0] == '`' && cell[len(cell)-1] == '`',
			"%s: the first cell of %q should be a `field`", name, row)
		cells = append(cells, strings.Trim(cell, "`"))
	}
	return cells
}

// shellWords splits a shell command as sh would: line continuations, single
// and double quotes (no expansions), backslash escapes and # comments.
func shellWords(s string) ([]string, error) {
	s = strings.ReplaceAll(s, "\\\n", " ")
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated %c", c)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(s[i+1])
			i++
			inWord = true
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			for i < len(s) && s[i] != '\n' {
				i++
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// cliFlags parses the flags of a `temporal <command...>` command line:
// name to values.
func cliFlags(words []string, command ...string) (map[string][]string, error) {
	want := append([]string{"temporal"}, command...)
	if len(words) < len(want) || !slices.Equal(words[:len(want)], want) {
		return nil, fmt.Errorf("want `%s ...`, got %q", strings.Join(want, " "), strings.Join(words, " "))
	}
	flags := map[string][]string{}
	for i := len(want); i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "--") {
			return nil, fmt.Errorf("%q: want a --flag", w)
		}
		if name, val, ok := strings.Cut(w, "="); ok {
			flags[name] = append(flags[name], val)
			continue
		}
		if w == "--fail-existing" {
			flags[w] = append(flags[w], "true")
			continue
		}
		if i+1 == len(words) {
			return nil, fmt.Errorf("%s has no value", w)
		}
		flags[w] = append(flags[w], words[i+1])
		i++
	}
	return flags, nil
}

func isShared(t reflect.Type) bool { return slices.Contains(sharedTypes, t) }

var timeType = reflect.TypeFor[time.Time]()

// jsonFields collects the JSON field paths of struct type t ("vm.name",
// "disks[].size") with their Go types. Structs for which stop is true, and
// time.Time, are leaves.
func jsonFields(t reflect.Type, prefix string, stop func(reflect.Type) bool, out map[string]reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			jsonFields(f.Type, prefix, stop, out)
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		out[p] = f.Type
		ft := f.Type
		for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
			if ft.Kind() == reflect.Slice {
				p += "[]"
			}
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != timeType && !stop(ft) {
			jsonFields(ft, p, stop, out)
		}
	}
}

// unknownKeys lists the keys of a JSON value that are not fields of the Go
// type, matched exactly (Go's decoder itself ignores unknown keys and
// matches case-insensitively, so a typo would pass silently).
func unknownKeys(data []byte, t reflect.Type) ([]string, error) {
	fields := map[string]reflect.Type{}
	jsonFields(t, "", func(reflect.Type) bool { return false }, fields)
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	var bad []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				ft, ok := fields[p]
				if !ok {
					bad = append(bad, p)
					continue
				}
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if ft.Kind() != reflect.Map {
					walk(p, e)
				}
			}
		case []any:
			for _, e := range x {
				walk(prefix+"[]", e)
			}
		}
	}
	walk("", v)
	sort.Strings(bad)
	return bad, nil
}

func decodeStrict(data []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

// registeredWorkflows records the names the worker registers workflows under.
type registeredWorkflows []string

func (r *registeredWorkflows) RegisterWorkflow(w any) {
	name := runtime.FuncForPC(reflect.ValueOf(w).Pointer()).Name()
	*r = append(*r, name[strings.LastIndex(name, ".")+1:])
}

func (r *registeredWorkflows) RegisterWorkflowWithOptions(w any, o workflow.RegisterOptions) {
	if o.Name == "" {
		r.RegisterWorkflow(w)
		return
	}
	*r = append(*r, o.Name)
}

func (r *registeredWorkflows) RegisterDynamicWorkflow(any, workflow.DynamicRegisterOptions) {}

// The document covers every workflow the worker registers; its tables list
// exactly the fields of the Go types; its examples decode strictly; and its
// start commands use the task queue, workflow IDs, policies and search
// attributes that the Go starter uses.
func TestContractDocumentMatchesTheCode(t *testing.T) {
	doc := readContract(t)

	var registered registeredWorkflows
	worker.RegisterWorkflows(&registered)
	for _, name := range registered {
		switch {
		case slices.Contains(doc.todos, name):
			t.Logf("%s: marked TODO in %s, not yet checked", name, contractPath)
		case slices.Contains(doc.children, name):
			// Started by another workflow only: documented, never started.
		case doc.examples[name] == nil:
			t.Errorf("%s is registered, but %s has no example for it (<!-- contract-example: %s -->)", name, contractPath, name)
		case contractWorkflows[name].plan == nil && name != workflows.StackWorkflowName:
			t.Errorf("%s has an example, but contract_test.go does not know it: add it to contractWorkflows", name)
		}
	}
	for _, name := range append(slices.Collect(maps.Keys(doc.examples)), doc.children...) {
		if !slices.Contains(registered, name) {
			t.Errorf("%s documents %s, which the worker does not register", contractPath, name)
		}
	}
	t.Run(workflows.StackWorkflowName, func(t *testing.T) { checkStackDocument(t, doc) })

	for name, ex := range doc.examples {
		cw, ok := contractWorkflows[name]
		if !ok {
			continue // reported above
		}
		t.Run(name, func(t *testing.T) {
			bad, err := unknownKeys(ex.input, cw.input)
			require.NoError(t, err, "the example is not JSON")
			require.Empty(t, bad, "the example has fields %s does not have", cw.input.Name())
			plan, err := cw.plan(ex.input)
			require.NoError(t, err)

			require.NotNil(t, ex.command, "no start command (<!-- contract-start: %s -->)", name)
			flags, err := cliFlags(ex.command, "workflow", "start")
			require.NoError(t, err)
			one := func(flag string) string {
				require.Len(t, flags[flag], 1, "%s, once", flag)
				return flags[flag][0]
			}
			require.Equal(t, workflows.TaskQueue, one("--task-queue"))
			require.Equal(t, name, one("--type"))
			require.Equal(t, plan.ID, one("--workflow-id"), "the workflow ID the starter gives this input")
			require.Equal(t, "Fail", one("--id-conflict-policy"))
			require.Equal(t, "true", one("--fail-existing"), "without --fail-existing the CLI joins an open run")
			require.Equal(t, "AllowDuplicate", one("--id-reuse-policy"))
			require.Len(t, flags["--input-file"], 1)
			attrs := map[string]json.RawMessage{}
			for _, sa := range flags["--search-attribute"] {
				k, v, _ := strings.Cut(sa, "=")
				attrs[k] = json.RawMessage(v)
			}
			var provider string
			var resources []string
			require.NoError(t, json.Unmarshal(attrs["CloudflowProvider"], &provider), "CloudflowProvider")
			require.NoError(t, json.Unmarshal(attrs["CloudflowResources"], &resources), "CloudflowResources")
			require.Equal(t, plan.Provider, provider)
			require.Equal(t, plan.Resources, resources)
			require.Len(t, attrs, 2, "runs carry CloudflowProvider and CloudflowResources; only a stack carries its status")
		})
	}

	for name, typ := range contractTypes {
		t.Run("fields of "+name, func(t *testing.T) {
			documented, ok := doc.fields[name]
			require.True(t, ok, "%s has no table of %s's fields (<!-- contract-fields: %s -->)", contractPath, name, name)
			want := map[string]reflect.Type{}
			jsonFields(typ, "", isShared, want)
			for _, p := range documented {
				if _, ok := want[p]; !ok {
					t.Errorf("the table lists %s, which %s does not have", p, name)
				}
			}
			for p := range want {
				if !slices.Contains(documented, p) {
					t.Errorf("the table of %s is missing %s", name, p)
				}
			}
		})
	}
	for name := range doc.fields {
		if _, ok := contractTypes[name]; !ok {
			t.Errorf("%s has a table of %s, which contract_test.go does not know: add it to contractTypes", contractPath, name)
		}
	}
}

// contractRun starts the document's examples with the Temporal CLI.
type contractRun struct {
	doc contractDoc
	tq  string
	dir string
}

// temporalCLI runs the official Temporal CLI against the dev server.
func temporalCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, temporalCL, append(args, "--address", temporal.Address())...)
	// Only the flags say where Temporal is: no TEMPORAL_* variables or
	// config file profiles of the developer's.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TEMPORAL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+os.TempDir(), "XDG_CONFIG_HOME="+os.TempDir())
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("temporal %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

// start runs the example's start command as the document shows it, with
// the test's task queue (or taskQueue), its input file written out, and
// --output json, which prints the run's IDs. Flags named in without (flags
// without a value) are left out.
func (r *contractRun) start(t *testing.T, workflow, taskQueue string, without ...string) (stdout, stderr string, code int) {
	t.Helper()
	ex := r.doc.examples[workflow]
	require.NotNil(t, ex, "no example for %s", workflow)
	require.NotNil(t, ex.command, "no start command for %s", workflow)
	if taskQueue == "" {
		taskQueue = r.tq
	}
	args := slices.DeleteFunc(slices.Clone(ex.command[1:]), func(a string) bool { return slices.Contains(without, a) })
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--task-queue":
			args[i+1] = taskQueue
		case "--input-file":
			p := filepath.Join(r.dir, filepath.Base(args[i+1]))
			require.NoError(t, os.WriteFile(p, ex.input, 0o600))
			args[i+1] = p
		}
	}
	return temporalCLI(t, append(args, "--output", "json")...)
}

func (r *contractRun) id(t *testing.T, workflow string) string {
	t.Helper()
	plan, err := contractWorkflows[workflow].plan(r.doc.examples[workflow].input)
	require.NoError(t, err)
	return plan.ID
}

type cliFailure struct {
	Message                string      `json:"message"`
	Cause                  *cliFailure `json:"cause"`
	ApplicationFailureInfo *struct {
		Type         string            `json:"type"`
		NonRetryable bool              `json:"nonRetryable"`
		Details      []json.RawMessage `json:"details"`
	} `json:"applicationFailureInfo"`
}

// find returns the first failure in the cause chain of that application error type.
func (f *cliFailure) find(errType string) *cliFailure {
	for ; f != nil; f = f.Cause {
		if f.ApplicationFailureInfo != nil && f.ApplicationFailureInfo.Type == errType {
			return f
		}
	}
	return nil
}

type cliOutcome struct {
	Status     string          `json:"status"`
	Result     json.RawMessage `json:"result"`
	CloseEvent struct {
		Failed *struct {
			Failure cliFailure `json:"failure"`
		} `json:"workflowExecutionFailedEventAttributes"`
	} `json:"closeEvent"`
}

// result waits for the run with `temporal workflow result` and decodes its
// result strictly into the workflow's result type (R).
func contractResult[R any](t *testing.T, id string) (cliOutcome, R) {
	t.Helper()
	out, errOut, code := temporalCLI(t, "workflow", "result", "--workflow-id", id, "--output", "json")
	var o cliOutcome
	require.NoError(t, json.Unmarshal([]byte(out), &o), "exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	var res R
	switch o.Status {
	case "COMPLETED":
		require.Equal(t, 0, code)
		require.NoError(t, decodeStrict(o.Result, &res), "the result of %s", id)
	case "FAILED":
		require.Equal(t, 1, code)
		require.NotNil(t, o.CloseEvent.Failed, "a failed run without its failure:\n%s", out)
	}
	return o, res
}

func requireCompleted(t *testing.T, o cliOutcome) {
	t.Helper()
	if o.Status != "COMPLETED" {
		msg := ""
		if o.CloseEvent.Failed != nil {
			msg = o.CloseEvent.Failed.Failure.Message
		}
		t.Fatalf("status %s, want COMPLETED: %s", o.Status, msg)
	}
}

// failureDetails checks the run failed with errType and decodes its first
// detail strictly into R.
func failureDetails[R any](t *testing.T, o cliOutcome, errType string) (*cliFailure, R) {
	t.Helper()
	require.Equal(t, "FAILED", o.Status)
	f := &o.CloseEvent.Failed.Failure
	require.NotNil(t, f.ApplicationFailureInfo, "not an application failure: %s", f.Message)
	require.Equal(t, errType, f.ApplicationFailureInfo.Type, f.Message)
	require.True(t, f.ApplicationFailureInfo.NonRetryable)
	require.NotEmpty(t, f.ApplicationFailureInfo.Details, "no details")
	var res R
	require.NoError(t, decodeStrict(f.ApplicationFailureInfo.Details[0], &res))
	return f, res
}

// progress asks the run for its progress with `temporal workflow query`.
func contractProgress[P any](t *testing.T, id string) (P, error) {
	t.Helper()
	out, errOut, code := temporalCLI(t, "workflow", "query", "--workflow-id", id, "--type", workflows.ProgressQuery, "--output", "json")
	var p P
	if code != 0 {
		return p, fmt.Errorf("exit %d: %s", code, errOut)
	}
	var answer struct {
		QueryResult []json.RawMessage `json:"queryResult"`
	}
	if err := json.Unmarshal([]byte(out), &answer); err != nil {
		return p, err
	}
	if len(answer.QueryResult) != 1 {
		return p, fmt.Errorf("%d answers, want 1:\n%s", len(answer.QueryResult), out)
	}
	return p, decodeStrict(answer.QueryResult[0], &p)
}

// Every example in the document, started with the Temporal CLI exactly as
// the document shows, does what the document says, in an order that gives
// each its prerequisites: the VM exists before it is deprovisioned, the
// fleet's instances before they are started.
func TestContractExamplesRunWithTheTemporalCLI(t *testing.T) {
	doc := readContract(t)
	tq := fresh(t)
	startWorker(t, dial(t), tq)
	ctx := context.Background()
	// Quicker simulated operations; nothing here depends on their length.
	require.NoError(t, admin.SetOperationLatency(ctx, "crusoe", 300*time.Millisecond))
	r := &contractRun{doc: doc, tq: tq, dir: t.TempDir()}
	start := func(t *testing.T, workflow string) (runID string) {
		t.Helper()
		out, errOut, code := r.start(t, workflow, "")
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		var started struct {
			WorkflowID string `json:"workflowId"`
			RunID      string `json:"runId"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &started), out)
		require.Equal(t, r.id(t, workflow), started.WorkflowID)
		return started.RunID
	}

	// Crusoe: a VM with disks and rules, then (once documented) its
	// snapshots, then its removal.
	t.Run("ProvisionVM", func(t *testing.T) {
		id := r.id(t, "ProvisionVM")
		runID := start(t, "ProvisionVM")
		// The query answers while the run is under way, with the whole plan.
		var p workflows.Progress
		waitFor(t, 20*time.Second, "the progress query to answer", func() bool {
			var err error
			p, err = contractProgress[workflows.Progress](t, id)
			return err == nil
		})
		require.Equal(t, "ProvisionVM", p.Workflow)
		require.Len(t, p.Steps, 5, "2 disks, the VM and 2 rules, declared up front")

		o, res := contractResult[workflows.ProvisionVMResult](t, id)
		requireCompleted(t, o)
		require.Equal(t, "contract-vm", res.VM.Name)
		require.NotEmpty(t, res.VM.ID)
		require.Len(t, res.Disks, 2)
		require.Len(t, res.FirewallRules, 2)
		vms := inventoryVMs(t)
		require.Len(t, vms, 1)
		require.Equal(t, res.VM.ID, vms[0].ID)
		require.Equal(t, "STATE_RUNNING", vms[0].State)
		require.Len(t, vms[0].Disks, 2, "the disks are attached")
		require.Len(t, inventory(t)["crusoe"]["firewall-rules"], 2)

		p, err := contractProgress[workflows.Progress](t, id)
		require.NoError(t, err)
		require.Equal(t, workflows.PhaseCompleted, p.Phase)
		for _, s := range p.Steps {
			require.Equal(t, workflows.StepDone, s.State, s.Name)
			require.Equal(t, s.Kind+"/"+s.Resource, s.Name)
		}

		// The search attributes make the run findable by resource name.
		waitFor(t, 10*time.Second, "the run to be listed by its resources", func() bool {
			out, _, code := temporalCLI(t, "workflow", "list", "--output", "json",
				"--query", "CloudflowProvider = 'crusoe' AND CloudflowResources = 'contract-vm-egress'")
			var runs []struct {
				Execution struct {
					WorkflowID string `json:"workflowId"`
					RunID      string `json:"runId"`
				} `json:"execution"`
			}
			if code != 0 || json.Unmarshal([]byte(out), &runs) != nil {
				return false
			}
			for _, run := range runs {
				if run.Execution.WorkflowID == id && run.Execution.RunID == runID {
					return true
				}
			}
			return false
		})
	})

	if doc.examples["SnapshotDisks"] != nil {
		t.Run("SnapshotDisks", func(t *testing.T) {
			start(t, "SnapshotDisks")
			o, _ := contractResult[json.RawMessage](t, r.id(t, "SnapshotDisks"))
			requireCompleted(t, o)
		})
	}

	t.Run("DeprovisionVM", func(t *testing.T) {
		start(t, "DeprovisionVM")
		o, res := contractResult[workflows.DeprovisionVMResult](t, r.id(t, "DeprovisionVM"))
		requireCompleted(t, o)
		require.Len(t, res.Deleted, 5)
		require.Empty(t, res.AlreadyGone)
		for _, kind := range []string{"vms", "disks", "firewall-rules"} {
			require.Empty(t, inventory(t)["crusoe"][kind], kind+" left")
		}
	})

	t.Run("BulkCreateVMs", func(t *testing.T) {
		start(t, "BulkCreateVMs")
		o, res := contractResult[workflows.BulkCreateVMsResult](t, r.id(t, "BulkCreateVMs"))
		requireCompleted(t, o)
		require.Len(t, res.VMs, 3)
		states := vmStates(t)
		for _, n := range []string{"contract-batch-1", "contract-batch-2", "contract-batch-3"} {
			require.Equal(t, "STATE_RUNNING", states[n], n)
		}
	})

	// KraftCloud: a refused second start, a failed deploy and its undo, the
	// deploy, and its removal.
	t.Run("DeployInstance", func(t *testing.T) {
		id := r.id(t, "DeployInstance")

		// While a run is open, a second start of that ID is refused. On a
		// queue no worker polls, the first run stays open.
		idle := tq + "-idle"
		out, errOut, code := r.start(t, "DeployInstance", idle)
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		var first struct{ RunID string }
		require.NoError(t, json.Unmarshal([]byte(out), &first))
		out, errOut, code = r.start(t, "DeployInstance", idle)
		require.NotEqual(t, 0, code, "a second start was not refused:\n%s", out)
		require.Contains(t, errOut, "already running")
		// Without --fail-existing, the CLI answers with the open run, as the
		// document warns, and the input given is dropped.
		out, errOut, code = r.start(t, "DeployInstance", idle, "--fail-existing")
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		var joined struct{ RunID string }
		require.NoError(t, json.Unmarshal([]byte(out), &joined))
		require.Equal(t, first.RunID, joined.RunID)
		_, errOut, code = temporalCLI(t, "workflow", "terminate", "--workflow-id", id, "--reason", "contract test: conflict checked")
		require.Equal(t, 0, code, errOut)

		// A failure carries the result, what was undone, and the cloud's error as the cause.
		_, err := admin.AddFault(ctx, cloudsim.Fault{Cloud: "kraftcloud", Method: "POST", Path: "/v1/instances",
			Action: cloudsim.FaultError, Status: 400, Message: "image not found", Times: 1})
		require.NoError(t, err)
		start(t, "DeployInstance")
		o, _ := contractResult[workflows.DeployInstanceResult](t, id)
		f, failed := failureDetails[workflows.DeployInstanceResult](t, o, workflows.ErrTypeDeployFailed)
		require.Equal(t, "instance/contract-app", failed.FailedStep)
		require.ElementsMatch(t, []string{"volume/contract-app-data", "service-group/contract-app-web"}, failed.Undone)
		require.Empty(t, failed.NotUndone)
		cause := f.Cause.find(activities.ErrTypeAPI)
		require.NotNil(t, cause, "no %s in the cause chain of %q", activities.ErrTypeAPI, f.Message)
		var details activities.CloudErrorDetails
		require.NotEmpty(t, cause.ApplicationFailureInfo.Details)
		require.NoError(t, decodeStrict(cause.ApplicationFailureInfo.Details[0], &details))
		require.Equal(t, "kraftcloud", details.Cloud)
		require.Equal(t, 400, details.StatusCode)
		require.Equal(t, "image not found", details.Message)
		requireKraftEmpty(t)

		// Started again, the same input deploys.
		start(t, "DeployInstance")
		o, res := contractResult[workflows.DeployInstanceResult](t, id)
		requireCompleted(t, o)
		require.Equal(t, "running", res.Instance.State)
		inv := kraftInv(t)
		require.Len(t, inv.Instances, 1)
		require.Equal(t, res.Instance.ID, inv.Instances[0].UUID)
		require.Equal(t, "running", inv.Instances[0].State)
		require.Len(t, inv.Instances[0].Volumes, 1)
		require.Equal(t, res.Volume.ID, inv.Instances[0].Volumes[0].UUID)
		require.NotNil(t, inv.Instances[0].ServiceGroup)
		require.Equal(t, res.ServiceGroup.ID, inv.Instances[0].ServiceGroup.UUID)
	})

	t.Run("UndeployInstance", func(t *testing.T) {
		start(t, "UndeployInstance")
		o, res := contractResult[workflows.UndeployInstanceResult](t, r.id(t, "UndeployInstance"))
		requireCompleted(t, o)
		require.Len(t, res.Deleted, 3)
		requireKraftEmpty(t)
	})

	// A KraftCloud fleet: made stopped by `cloudflow sim seed`, started,
	// stopped, and stopped again, which fails as documented.
	t.Run("StartInstances", func(t *testing.T) {
		var in workflows.FleetInput
		require.NoError(t, json.Unmarshal(doc.examples["StartInstances"].input, &in))
		prefix := strings.TrimSuffix(in.Instances[0], "-1")
		require.Equal(t, seedInstances(t, prefix, len(in.Instances)), in.Instances,
			"the example must list PREFIX-1..N, the instances `cloudflow sim seed` makes")

		id := r.id(t, "StartInstances")
		start(t, "StartInstances")
		o, res := contractResult[workflows.FleetResult](t, id)
		requireCompleted(t, o)
		require.ElementsMatch(t, in.Instances, res.Succeeded)
		require.Equal(t, "start", res.Action)
		for _, n := range in.Instances {
			require.Equal(t, "running", instanceStates(t)[n], n)
		}
		p, err := contractProgress[workflows.FleetProgress](t, id)
		require.NoError(t, err)
		require.Equal(t, workflows.FleetProgress{
			Workflow: "StartInstances", Provider: "kraftcloud", Action: "start", Phase: workflows.PhaseCompleted,
			Total: 3, Succeeded: 3, Run: 1, Round: 1, Calls: p.Calls,
		}, p)
	})

	t.Run("StopInstances", func(t *testing.T) {
		id := r.id(t, "StopInstances")
		require.Equal(t, r.id(t, "StartInstances"), id, "a fleet is started and stopped under one ID")
		start(t, "StopInstances")
		o, res := contractResult[workflows.FleetResult](t, id)
		requireCompleted(t, o)
		require.Len(t, res.Succeeded, 3)
		for n, st := range instanceStates(t) {
			require.Equal(t, "stopped", st, n)
		}

		start(t, "StopInstances")
		o, _ = contractResult[workflows.FleetResult](t, id)
		_, again := failureDetails[workflows.FleetResult](t, o, workflows.ErrTypeFleetIncomplete)
		require.Empty(t, again.Succeeded)
		require.Len(t, again.Failed, 3)
		for _, it := range again.Failed {
			require.NotEmpty(t, it.Code, it.Ref)
			require.NotEmpty(t, it.Message, it.Ref)
		}
	})
}
