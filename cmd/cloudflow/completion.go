package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// completionTimeout bounds what a completion asks Temporal: a shell waits
// for it.
const completionTimeout = 5 * time.Second

// completionLimit is how many run IDs a completion offers, newest first.
const completionLimit = 50

// workflowTypes are the workflow types `runs list --workflow` takes.
var workflowTypes = []string{
	workflows.ProvisionVMWorkflowName, workflows.DeprovisionVMWorkflowName, workflows.BulkCreateVMsWorkflowName,
	workflows.SnapshotDisksWorkflowName, workflows.DeployInstanceWorkflowName, workflows.UndeployInstanceWorkflowName,
	workflows.ProvisionInstanceWorkflowName, workflows.DeprovisionInstanceWorkflowName,
	workflows.CreateContainerWorkflowName, workflows.DeleteContainerWorkflowName,
	workflows.StartInstancesWorkflowName, workflows.StopInstancesWorkflowName,
	workflows.StackWorkflowName, workflows.ApplyStackWorkflowName,
}

// fleetProviders are the clouds `instances start|stop` act on.
var fleetProviders = []string{workflows.ProviderKraftCloud, workflows.ProviderCrusoe, workflows.ProviderCloudMC}

// registerCompletions gives the commands' arguments and flags dynamic
// completion: run IDs (recent runs; running ones for cancel and terminate),
// schedule and stack names from Temporal, and the values a flag takes.
func registerCompletions(root *cobra.Command, f *factory, o *rootOptions) {
	runs, running := completeRuns(f, o, false), completeRuns(f, o, true)
	args := map[string]cobra.CompletionFunc{
		"runs show": runs, "runs watch": runs, "runs cancel": running, "runs terminate": running,
	}
	for _, verb := range []string{"describe", "update", "pause", "unpause", "trigger", "backfill", "delete"} {
		args["schedule "+verb] = completeSchedules(f, o)
	}
	for _, path := range []string{"stacks show", "stacks approve", "stacks discard", "stacks refresh", "stacks set", "output", "destroy"} {
		args[path] = completeStacks(f, o)
	}
	flags := map[string][]string{
		"workflow":   workflowTypes,
		"status":     stackStatuses,
		"overlap":    starter.OverlapPolicies,
		"if-busy":    {workflows.IfBusyWait, workflows.IfBusyFail},
		"output":     {"text", "json", "yaml"},
		"log-format": {"auto", "json", "text"},
		"log-level":  {"debug", "info", "warn", "error"},
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(c.CommandPath(), root.Name()+" ")
		if fn, ok := args[path]; ok {
			c.ValidArgsFunction = fn
		}
		c.LocalNonPersistentFlags().VisitAll(func(fl *pflag.Flag) {
			values, ok := flags[fl.Name]
			if fl.Name == "provider" {
				values, ok = stackProviders, true
				if strings.HasPrefix(path, "instances st") {
					values = fleetProviders
				}
			}
			if ok {
				_ = c.RegisterFlagCompletionFunc(fl.Name, completeValues(values))
			}
		})
		if c.LocalNonPersistentFlags().Lookup("file") != nil && c.LocalNonPersistentFlags().ShorthandLookup("f") != nil {
			_ = c.MarkFlagFilename("file", "yaml", "yml", "json")
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// completeValues offers the values that start as typed.
func completeValues(values []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return withPrefix(values, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// withPrefix keeps the candidates that start with prefix (a candidate's
// description, after a tab, aside).
func withPrefix(candidates []cobra.Completion, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, c := range candidates {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// firstArg offers completions for a command's first argument only.
func firstArg(args []string) bool { return len(args) == 0 }

// completeFrom dials Temporal and lists candidates with list; any failure
// offers none (a shell has nowhere to show it).
func completeFrom(f *factory, o *rootOptions, list func(ctx context.Context, r runner) ([]cobra.Completion, error)) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if !firstArg(args) {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		r, err := o.dial(f)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer r.Close()
		ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
		defer cancel()
		all, err := list(ctx, r)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return withPrefix(all, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeRuns offers the IDs of recent runs on the task queue, newest
// first; with running, only those still running.
func completeRuns(f *factory, o *rootOptions, running bool) cobra.CompletionFunc {
	return completeFrom(f, o, func(ctx context.Context, r runner) ([]cobra.Completion, error) {
		lo := starter.ListOptions{Limit: completionLimit}
		if running {
			lo.Query = fmt.Sprintf("TaskQueue = '%s' AND ExecutionStatus = 'Running'", strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(o.TaskQueue))
		}
		list, err := r.List(ctx, lo)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		var out []cobra.Completion
		for _, ri := range list {
			if !seen[ri.WorkflowID] {
				seen[ri.WorkflowID] = true
				out = append(out, cobra.CompletionWithDesc(ri.WorkflowID, ri.Type+", "+ri.Status))
			}
		}
		return out, nil
	})
}

// completeSchedules offers the schedules' names.
func completeSchedules(f *factory, o *rootOptions) cobra.CompletionFunc {
	return completeFrom(f, o, func(ctx context.Context, r runner) ([]cobra.Completion, error) {
		list, err := r.ListSchedules(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]cobra.Completion, len(list))
		for i, s := range list {
			out[i] = cobra.CompletionWithDesc(s.ID, strings.TrimSpace(s.Workflow+" "+s.When))
		}
		return out, nil
	})
}

// completeStacks offers the stacks' names, each once, with its providers.
func completeStacks(f *factory, o *rootOptions) cobra.CompletionFunc {
	return completeFrom(f, o, func(ctx context.Context, r runner) ([]cobra.Completion, error) {
		list, err := r.ListStacks(ctx, "")
		if err != nil {
			return nil, err
		}
		providers := map[string][]string{}
		var names []string
		for _, s := range list {
			if _, ok := providers[s.Name]; !ok {
				names = append(names, s.Name)
			}
			providers[s.Name] = append(providers[s.Name], s.Provider+" "+s.Status)
		}
		out := make([]cobra.Completion, len(names))
		for i, n := range names {
			out[i] = cobra.CompletionWithDesc(n, strings.Join(providers[n], "; "))
		}
		return out, nil
	})
}
