// Command stack-service is what another Go service writes to own cloud
// resources through cloudflow's stacks. It plans the stack of a KraftCloud
// app (an instance and its service group) through the starter package and
// prints the plan, applies exactly that plan, prints the app's addresses
// from the stack's typed state, and destroys the stack again (--keep leaves
// it). Run it again with a changed flag to see a plan of that change.
//
// It reaches Temporal through the standard TEMPORAL_* variables and config
// profiles, like the cloudflow CLI. A cloudflow worker must poll the task
// queue it uses (--task-queue); the worker, not this program, holds the
// cloud credentials.
//
// Exit codes: 0 done; 1 the stack refused the plan or an operation failed;
// 2 bad flags; 3 another operation holds the stack; 4 anything else.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

type options struct {
	taskQueue    string
	name         string
	image        string
	memoryMB     int
	port         int
	allowDestroy bool
	keep         bool
	timeout      time.Duration
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("stack-service", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.taskQueue, "task-queue", workflows.TaskQueue, "the task queue the cloudflow worker polls")
	fs.StringVar(&o.name, "name", "hello", "the stack's KraftCloud instance; its service group is `NAME`-web")
	fs.StringVar(&o.image, "image", "nginx:latest", "the instance's image")
	fs.IntVar(&o.memoryMB, "memory-mb", 256, "the instance's memory in MB")
	fs.IntVar(&o.port, "port", 443, "the public port of the service group, forwarded to 8080")
	fs.BoolVar(&o.allowDestroy, "allow-destroy", false, "let the apply replace or delete what the stack owns")
	fs.BoolVar(&o.keep, "keep", false, "leave the stack and its resources in place instead of destroying them")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up waiting after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || o.name == "" || o.image == "" {
		fmt.Fprintln(stderr, "stack-service: --name and --image must not be empty, and no arguments are taken")
		return 2
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	s, err := starter.Dial(starter.Options{TaskQueue: o.taskQueue})
	if err != nil {
		fmt.Fprintln(stderr, "stack-service:", err)
		return 4
	}
	defer s.Close()

	spec := workflows.StackSpec{Provider: workflows.ProviderKraftCloud, KraftCloud: &workflows.DeployInstanceInput{
		Instance: workflows.KraftCloudInstanceSpec{Name: o.name, Image: o.image, MemoryMB: o.memoryMB},
		ServiceGroup: &workflows.KraftCloudServiceGroupSpec{
			Name:     o.name + "-web",
			Services: []workflows.KraftCloudServiceSpec{{Port: o.port, DestinationPort: 8080, Handlers: []string{"tls", "http"}}},
		},
		Timeouts: workflows.Timeouts{Operation: 2 * time.Minute},
	}, Source: "examples/stack-service"}
	ref := starter.StackRefOf(spec)

	// 1. Plan, and show the plan. IfBusy "fail": another operation on the
	// stack is a reason to stop, not to queue behind it.
	res, err := do(ctx, func() (*starter.StackUpdate, error) {
		return s.PlanStack(ctx, workflows.StackPlanRequest{Spec: spec, IfBusy: workflows.IfBusyFail})
	})
	if err != nil {
		return report(stdout, stderr, err)
	}
	plan := res.Plan
	printPlan(stdout, ref, plan)

	// 2. Apply exactly the plan shown: with its Basis, the stack refuses an
	// apply whose plan came out different.
	if plan.Pending() {
		res, err = do(ctx, func() (*starter.StackUpdate, error) {
			return s.ApplyStack(ctx, workflows.StackApplyRequest{
				Spec: spec, Basis: plan.Basis, AllowDestroy: o.allowDestroy, IfBusy: workflows.IfBusyFail,
			})
		})
		if err != nil {
			return report(stdout, stderr, err)
		}
		fmt.Fprintf(stdout, "applied %s: %d change(s) in %s, stack %s\n",
			res.Operation.ID, len(res.Apply.Done), res.Operation.Run, res.State.Status)
	}

	// 3. What the cloud reports of the stack's resources, by key.
	outputs, err := s.Outputs(ctx, ref)
	if err != nil {
		return report(stdout, stderr, err)
	}
	for _, key := range slices.Sorted(maps.Keys(outputs)) {
		for _, name := range slices.Sorted(maps.Keys(outputs[key])) {
			fmt.Fprintf(stdout, "output %s %s=%s\n", key, name, outputs[key][name])
		}
	}
	if o.keep {
		fmt.Fprintf(stdout, "kept stack %s (workflow %s)\n", ref, ref.WorkflowID())
		return 0
	}

	// 4. Destroy: the stack deletes what it created, and ends.
	res, err = do(ctx, func() (*starter.StackUpdate, error) {
		return s.DestroyStack(ctx, ref, workflows.StackDestroyRequest{IfBusy: workflows.IfBusyFail})
	})
	if err != nil {
		return report(stdout, stderr, err)
	}
	var deleted []string
	for _, c := range res.Apply.Done {
		deleted = append(deleted, c.Key)
	}
	fmt.Fprintf(stdout, "destroyed stack %s: deleted %s\n", ref, strings.Join(deleted, ", "))
	return 0
}

// do sends one operation and waits for its result.
func do(ctx context.Context, send func() (*starter.StackUpdate, error)) (workflows.StackOperationResult, error) {
	u, err := send()
	if err != nil {
		return workflows.StackOperationResult{}, err
	}
	return u.Get(ctx)
}

func printPlan(w io.Writer, ref starter.StackRef, p *workflows.StackPlan) {
	if !p.Pending() {
		fmt.Fprintf(w, "plan %s: stack %s is in sync\n", p.ID, ref)
		return
	}
	fmt.Fprintf(w, "plan %s:\n", p.ID)
	for _, c := range p.Changes {
		if c.Action == workflows.ActionNoChange {
			continue
		}
		mark := ""
		if c.Destructive {
			mark = " (destructive)"
		}
		fmt.Fprintf(w, "  %s %s%s\n", c.Action, c.Key, mark)
		for _, f := range c.Fields {
			fmt.Fprintf(w, "    %s: %s -> %s\n", f.Field, f.Old, f.New)
		}
	}
}

// report prints what went wrong and picks the exit code.
func report(stdout, stderr io.Writer, err error) int {
	var se *starter.StackError
	var nf *starter.StackNotFoundError
	switch {
	case errors.As(err, &se) && se.Type == workflows.ErrTypeStackBusy:
		fmt.Fprintf(stderr, "stack-service: %v\n", err)
		return 3
	case errors.As(err, &se) && se.Type == workflows.ErrTypeStackRefused:
		// Nothing changed; the refused plan says why.
		fmt.Fprintf(stdout, "refused: %s\n", se.Message)
		for _, c := range se.Plan.Destructive() {
			fmt.Fprintf(stdout, "  %s %s\n", c.Action, c.Key)
		}
		return 1
	case errors.As(err, &se) && se.Type == workflows.ErrTypeStackApplyFailed:
		fmt.Fprintf(stdout, "failed: %s\n", se.Message)
		if se.Result != nil && se.Result.Apply != nil {
			for _, f := range se.Result.Apply.Failed {
				fmt.Fprintf(stdout, "  %s: %s\n", f.Key, f.Error)
			}
		}
		return 1
	case errors.As(err, &se), errors.As(err, &nf):
		fmt.Fprintf(stderr, "stack-service: %v\n", err)
		return 1
	}
	fmt.Fprintln(stderr, "stack-service:", err)
	return 4
}
