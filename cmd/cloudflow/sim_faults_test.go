package main

import (
	"context"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/cloudsim"
)

// --fault takes a rate and a seed; the banner shows both, the seed the
// simulator picked included, so that a run can be repeated.
func TestSimFaultRateAndSeed(t *testing.T) {
	url, sim := startSim(t, "--operation-latency", "0s",
		"--fault", "error:GET:/v1alpha5/**:status=503,rate=0.5,seed=7",
		"--fault", "fail-operation:*:/v1alpha5/**:rate=10%")
	out := sim.out.String()
	assert.Contains(t, out, "fault: error GET /v1alpha5/** (rate 0.5, seed 7)")
	picked := regexp.MustCompile(`fault: fail-operation \* /v1alpha5/\*\* \(rate 0\.1, seed ([1-9][0-9]*)\)`).FindStringSubmatch(out)
	require.NotNil(t, picked, "stdout: %s", out)

	faults, err := (&cloudsim.AdminClient{BaseURL: url}).Faults(context.Background())
	require.NoError(t, err)
	require.Len(t, faults, 2)
	assert.Equal(t, int64(7), faults[0].Seed)
	assert.Equal(t, picked[1], strconv.FormatInt(faults[1].Seed, 10))
}

func TestSimFaultBadRate(t *testing.T) {
	c := newCLI(t)
	assert.Equal(t, exitUsage, c.run("sim", "--listen", "127.0.0.1:0", "--fault", "error:GET:/x:rate=1.5"))
	assert.Contains(t, c.errOut.String(), "rate 1.5 is not a probability")
}
