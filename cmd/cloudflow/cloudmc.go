package main

import (
	"fmt"
	"io"
	"os"

	"github.com/cloudflow/cloudflow/clients/cloudmc"
	"github.com/cloudflow/cloudflow/spec"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// readSpecData reads a spec file, or standard input for "-", so that its
// provider can pick the parser. It reads at most spec.MaxSpecSize; a problem
// reading it is bad usage.
func readSpecData(stdin io.Reader, path string) ([]byte, error) {
	data, err := spec.ReadInput(path, stdin)
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("%w; nothing was started", err))
	}
	return data, nil
}

// cloudMCClient builds the CloudMC client from CLOUDMC_*, or returns nil
// when none of the variables is set; set partly, it is bad usage.
func cloudMCClient(opts ...cloudmc.Option) (*cloudmc.Client, error) {
	set := false
	for _, name := range []string{cloudmc.EnvAPIEndpoint, cloudmc.EnvAPIKey, cloudmc.EnvServiceCode, cloudmc.EnvEnvironment} {
		if os.Getenv(name) != "" {
			set = true
		}
	}
	if !set {
		return nil, nil
	}
	cfg, err := cloudmc.LoadConfig(os.Getenv)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	c, err := cloudmc.NewFromConfig(cfg, opts...)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return c, nil
}

// printProvisionInstanceSummary says what a ProvisionInstance run made or,
// when it failed, where it failed, what was undone and what could not be.
func printProvisionInstanceSummary(w io.Writer, run starter.Run, res *workflows.ProvisionInstanceResult, runErr *starter.RunError) {
	if runErr != nil {
		printFailureReport(w, run, runErr, res.FailedStep, res.Steps, res.Undone, res.NotUndone)
		return
	}
	fmt.Fprintf(w, "\nInstance %s is running (workflow %s).\n\n", res.Instance.Name, run.WorkflowID)
	tw := newTable(w)
	fmt.Fprintln(tw, "KIND\tNAME\tID\tSTATE")
	rows := []workflows.Resource{res.Instance}
	if res.Volume.Kind != "" {
		v := res.Volume
		if v.State != "" {
			v.State += ", attached"
		}
		rows = append(rows, v)
	}
	for _, r := range append(rows, res.IngressRules...) {
		note := ""
		if r.Existed {
			note = "\t(already existed)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\n", r.Kind, r.Name, dash(r.ID), dash(r.State), note)
	}
	_ = tw.Flush()
}
