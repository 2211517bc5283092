// Command service is what another Go service writes to drive cloudflow. It
// deploys a KraftCloud instance (with a volume and a service group) through
// the starter package, follows the run's progress, and prints the typed
// result. With --stop-cron it also puts the instance on a schedule that stops
// it, shows the schedule, and deletes it again.
//
// It reaches Temporal through the standard TEMPORAL_* variables and config
// profiles, like the cloudflow CLI. A cloudflow worker must poll the task
// queue it uses (--task-queue); the worker, not this program, holds the
// cloud credentials.
//
// Exit codes: 0 deployed; 1 the run failed or was cancelled; 2 bad flags;
// 3 a deploy of that instance is already running; 4 anything else.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

type options struct {
	taskQueue       string
	instance        string
	image           string
	memoryMB        int
	volumeMB        int
	port            int
	destinationPort int
	stopCron        string
	timeout         time.Duration
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.taskQueue, "task-queue", workflows.TaskQueue, "the task queue the cloudflow worker polls")
	fs.StringVar(&o.instance, "instance", "hello", "the KraftCloud instance to deploy; its volume is `NAME`-data, its service group NAME-web")
	fs.StringVar(&o.image, "image", "nginx:latest", "the instance's image")
	fs.IntVar(&o.memoryMB, "memory-mb", 256, "the instance's memory in MB (0: the cloud's default)")
	fs.IntVar(&o.volumeMB, "volume-mb", 64, "size of the volume mounted at /data, in MB (0: no volume)")
	fs.IntVar(&o.port, "port", 443, "the public port of the service group (0: no service group)")
	fs.IntVar(&o.destinationPort, "destination-port", 8080, "the instance's port the service group forwards to")
	fs.StringVar(&o.stopCron, "stop-cron", "", "also create a schedule that stops the instance on this cron `spec` (UTC), show it, and delete it")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up waiting after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || o.instance == "" || o.image == "" {
		fmt.Fprintln(stderr, "service: --instance and --image must not be empty, and no arguments are taken")
		return 2
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	// Empty options: the address, namespace, TLS and API key come from the
	// TEMPORAL_* environment and config profiles (envconfig).
	s, err := starter.Dial(starter.Options{TaskQueue: o.taskQueue})
	if err != nil {
		fmt.Fprintln(stderr, "service:", err)
		return 4
	}
	defer s.Close()

	if code := deploy(ctx, s, o, stdout, stderr); code != 0 {
		return code
	}
	if o.stopCron != "" {
		if err := scheduleStop(ctx, s, o, stdout); err != nil {
			fmt.Fprintln(stderr, "service:", err)
			return 4
		}
	}
	return 0
}

// deploy starts DeployInstance, prints its progress as it changes, and then
// its result.
func deploy(ctx context.Context, s *starter.Starter, o options, stdout, stderr io.Writer) int {
	in := workflows.DeployInstanceInput{
		Instance: workflows.KraftCloudInstanceSpec{Name: o.instance, Image: o.image, MemoryMB: o.memoryMB},
		Timeouts: workflows.Timeouts{Operation: 2 * time.Minute},
	}
	if o.volumeMB > 0 {
		in.Volume = &workflows.KraftCloudVolumeSpec{Name: o.instance + "-data", SizeMB: o.volumeMB, At: "/data"}
	}
	if o.port > 0 {
		in.ServiceGroup = &workflows.KraftCloudServiceGroupSpec{
			Name: o.instance + "-web",
			Services: []workflows.KraftCloudServiceSpec{
				{Port: o.port, DestinationPort: o.destinationPort, Handlers: []string{"tls", "http"}},
			},
		}
	}

	run, err := s.DeployInstance(ctx, in)
	var running *starter.AlreadyRunningError
	switch {
	case errors.As(err, &running):
		// Another run is deploying this instance; two at once would race.
		fmt.Fprintf(stderr, "service: a deploy of %s is already running (workflow %s); not starting another\n", o.instance, running.WorkflowID)
		return 3
	case err != nil:
		fmt.Fprintln(stderr, "service:", err)
		return 4
	}
	fmt.Fprintf(stdout, "started %s %s (run %s)\n", run.Workflow, run.WorkflowID, run.RunID)

	err = s.Watch(ctx, run.WorkflowID, run.RunID, 250*time.Millisecond, func(p workflows.Progress) {
		steps := make([]string, len(p.Steps))
		for i, st := range p.Steps {
			steps[i] = st.Name + " " + st.State
		}
		fmt.Fprintf(stdout, "progress %s: %s\n", p.Phase, strings.Join(steps, ", "))
	})
	if err != nil {
		fmt.Fprintln(stderr, "service: watch:", err)
		return 4
	}

	var res workflows.DeployInstanceResult
	err = s.Result(ctx, run.WorkflowID, run.RunID, &res)
	var failed *starter.RunError
	switch {
	case errors.As(err, &failed):
		// The failure carries the result: what failed, what was undone, and
		// what could not be (it still exists).
		fmt.Fprintf(stdout, "deploy %s: %s\n", strings.ToLower(failed.Status), failed.Message)
		if failed.FailedStep != "" {
			fmt.Fprintf(stdout, "failed step: %s\n", failed.FailedStep)
		}
		if len(res.Undone) > 0 {
			fmt.Fprintf(stdout, "undone: %s\n", strings.Join(res.Undone, ", "))
		}
		for _, u := range res.NotUndone {
			fmt.Fprintf(stdout, "NOT undone: %s %s (%s): %s\n", u.Kind, u.Name, u.ID, u.Error)
		}
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "service:", err)
		return 4
	}
	fmt.Fprintf(stdout, "deployed %s: instance %s %s%s\n", res.Instance.Name, res.Instance.ID, res.Instance.State, existed(res.Instance))
	for _, r := range []workflows.Resource{res.Volume, res.ServiceGroup} {
		if r.Name != "" {
			fmt.Fprintf(stdout, "  %s %s %s%s\n", r.Kind, r.Name, r.ID, existed(r))
		}
	}
	if res.FQDN != "" {
		fmt.Fprintf(stdout, "  reachable at %s\n", res.FQDN)
	}
	return 0
}

func existed(r workflows.Resource) string {
	if r.Existed {
		return " (already existed)"
	}
	return ""
}

// scheduleStop creates a schedule that runs StopInstances on the instance,
// describes it, and deletes it: a service would keep it, of course.
func scheduleStop(ctx context.Context, s *starter.Starter, o options, stdout io.Writer) error {
	plan := starter.StopInstancesPlan(workflows.FleetInput{
		Provider:  workflows.ProviderKraftCloud,
		Instances: []string{o.instance},
	})
	id := o.instance + "-stop"
	err := s.CreateSchedule(ctx, starter.ScheduleOptions{
		ID: id, Cron: o.stopCron, Note: "created by examples/service",
	}, plan)
	if err != nil {
		return err
	}
	info, err := s.DescribeSchedule(ctx, id)
	if err != nil {
		return err
	}
	next := "none"
	if len(info.Next) > 0 {
		next = info.Next[0].UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(stdout, "schedule %s created: %s %s, %s, overlap %s, next run %s\n",
		info.ID, info.Workflow, plan.ID, info.When, info.Overlap, next)
	if err := s.DeleteSchedule(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schedule %s deleted\n", id)
	return nil
}
