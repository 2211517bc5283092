package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/codec"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// With CLOUDFLOW_PAYLOAD_KEY set, a failed run's failure is sealed too: the
// cloud's error text and the partial result (names and IDs of what was made
// and undone) are nowhere in the raw history, while a client with the key,
// the CLI included, still reads and reports the failure whole.
func TestPayloadCodecSealsFailures(t *testing.T) {
	tq := fresh(t)
	t.Setenv(codec.EnvKey, base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	co, err := starter.ClientOptions(starter.Options{HostPort: temporal.Address()})
	require.NoError(t, err)
	c, err := client.Dial(co)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	startWorker(t, c, tq)

	const cloudText = "no capacity left on rack r-31337 for tenant acme"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err = admin.AddFault(ctx, cloudsim.Fault{Cloud: "crusoe", Method: "POST", Path: "/v1alpha5/projects/*/compute/vms/instances",
		Action: cloudsim.FaultFailOperation, Code: "INTERNAL", Message: cloudText, Times: 1})
	require.NoError(t, err)

	s := newStarter(t, c, tq)
	run, err := s.ProvisionVM(ctx, input("sealed-failure"))
	require.NoError(t, err)
	var res workflows.ProvisionVMResult
	err = s.Result(ctx, run.WorkflowID, run.RunID, &res)
	var runErr *starter.RunError
	require.True(t, errors.As(err, &runErr), "the run should fail: %v", err)
	require.Contains(t, runErr.Message, cloudText, "a client with the key reads the failure")
	require.NotEmpty(t, res.Undone, "and its details: the partial result")
	var ids []string
	for _, st := range res.Steps {
		if st.ID != "" {
			ids = append(ids, st.ID)
		}
	}
	require.NotEmpty(t, ids, "the disks made and undone have IDs")

	// The history as the server keeps it, read without the key.
	hist, err := exec.Command(temporalCL, "workflow", "show", "--address", temporal.Address(), "-w", run.WorkflowID, "--output", "json").CombinedOutput()
	require.NoError(t, err, string(hist))
	text := historyText(t, hist)
	require.NotContains(t, text, "no capacity left on rack", "the cloud's error text is readable in the history")
	for _, id := range ids {
		require.NotContains(t, text, id, "an ID from the failure details is readable in the history")
	}
	require.Contains(t, text, "Encoded failure", "failures are encoded")

	// The CLI, with the key, reports the failure as ever.
	out, errOut, code := cli(t, "--address", temporal.Address(), "runs", "watch", run.WorkflowID)
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, out+errOut, cloudText)
	require.True(t, strings.Contains(out, "vm/sealed-failure") || strings.Contains(out, "sealed-failure"), out)
}
