package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cloudflow/cloudflow/cloudsim"
	"github.com/cloudflow/cloudflow/workflows"
)

// writeKraftSpec writes a KraftCloud spec for an instance called name, with
// a volume (name-data) and a service group (name-web).
func writeKraftSpec(t *testing.T, name string) string {
	t.Helper()
	spec := `provider: kraftcloud
instance:
  name: ` + name + `
  image: nginx:latest
  memoryMB: 256
  env: {LOG_LEVEL: debug}
volume: {name: data, sizeMB: 64, at: /data}
serviceGroup:
  name: web
  services: [{port: 443, destinationPort: 8080, handlers: [tls, http]}]
timeouts: {operation: 30s, heartbeat: 3s}
`
	p := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(p, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type kraftInventory struct {
	Instances []struct {
		UUID, Name, State string
		ServiceGroup      *struct{ UUID, Name string } `json:"service_group"`
		Volumes           []struct{ UUID, Name, At string }
	}
	Volumes []struct {
		UUID, Name, State string
		AttachedTo        []struct{ UUID, Name string } `json:"attached_to"`
	}
	Groups []struct {
		UUID, Name string
		Instances  []struct{ UUID, Name string }
	}
}

func kraftInv(t *testing.T) kraftInventory {
	t.Helper()
	var out kraftInventory
	decode := func(kind string, into any) {
		raws := inventory(t)["kraftcloud"][kind]
		b, err := json.Marshal(raws)
		require.NoError(t, err)
		if raws == nil {
			b = []byte("[]")
		}
		require.NoError(t, json.Unmarshal(b, into))
	}
	decode("instances", &out.Instances)
	decode("volumes", &out.Volumes)
	decode("service-groups", &out.Groups)
	return out
}

func requireKraftEmpty(t *testing.T) {
	t.Helper()
	inv := kraftInv(t)
	require.Empty(t, inv.Instances, "instances left")
	require.Empty(t, inv.Volumes, "volumes left")
	require.Empty(t, inv.Groups, "service groups left")
}

// The happy path through the CLI: `instances deploy` runs the instance in
// its service group with its volume mounted, through the spec's stack;
// deploying again finds it in sync; undeploy removes everything, and a
// second undeploy finds no stack (exit 6).
func TestDeployAndUndeployThroughTheCLI(t *testing.T) {
	tq := fresh(t)
	c := dial(t)
	startWorker(t, c, tq)
	endStack(t, c, workflows.ProviderKraftCloud, "shop")
	spec := writeKraftSpec(t, "shop")
	run := func(want int, args ...string) string {
		t.Helper()
		out, errOut, code := cli(t, append([]string{"--address", temporal.Address(), "--task-queue", tq, "instances"}, args...)...)
		require.Equal(t, want, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
		return out + errOut
	}

	var res workflows.StackOperationResult
	require.NoError(t, json.Unmarshal([]byte(run(0, "deploy", "-f", spec, "--wait", "--json")), &res))
	inv := kraftInv(t)
	require.Len(t, inv.Instances, 1)
	require.Len(t, inv.Volumes, 1)
	require.Len(t, inv.Groups, 1)
	inst, vol, group := inv.Instances[0], inv.Volumes[0], inv.Groups[0]
	require.Equal(t, "shop", inst.Name)
	require.Equal(t, "running", inst.State)
	require.Equal(t, "shop-data", vol.Name)
	require.Equal(t, "shop-web", group.Name)
	require.NotNil(t, inst.ServiceGroup)
	require.Equal(t, group.UUID, inst.ServiceGroup.UUID, "the instance is in the group")
	require.Len(t, inst.Volumes, 1)
	require.Equal(t, vol.UUID, inst.Volumes[0].UUID, "the instance mounts the volume")
	require.Equal(t, "/data", inst.Volumes[0].At)
	for key, id := range map[string]string{"instance/shop": inst.UUID, "volume/shop-data": vol.UUID, "service-group/shop-web": group.UUID} {
		r, ok := res.State.Resource(key)
		require.True(t, ok, key)
		require.Equal(t, id, r.ID, key)
		require.Equal(t, workflows.OwnershipCreated, r.Ownership, key)
	}
	stackInst, _ := res.State.Resource("instance/shop")
	require.NotEmpty(t, stackInst.Outputs["fqdn"])
	require.NotEmpty(t, stackInst.Outputs["privateIPv4"])
	require.Len(t, requests(t, "POST", "/v1/instances"), 1)
	recordRun(t, res.Operation.Run+"-"+workflows.DeployInstanceWorkflowName, "kraftcloud-instance-deploy-shop")

	// Deploying again changes nothing and says so.
	out := run(0, "deploy", "-f", spec, "--wait")
	require.Contains(t, out, "Stack kraftcloud/shop is in sync: nothing to do.")
	require.Len(t, requests(t, "POST", "/v1/instances"), 1, "no second instance was created")

	out = run(0, "undeploy", "-f", spec, "--wait")
	require.Contains(t, out, "Destroyed stack kraftcloud/shop")
	require.Regexp(t, `- deleted\s+instance/shop\s+`+inst.UUID, out)
	requireKraftEmpty(t)
	out = run(6, "undeploy", "-f", spec, "--wait")
	require.Contains(t, out, "no stack kraftcloud/shop")
}

// A failure at each step fails the run with exit 1, names the step, and
// leaves nothing behind in the cloud.
func TestDeployFailureAtEachStepLeavesNothing(t *testing.T) {
	tests := []struct {
		name   string
		fault  cloudsim.Fault
		failed string
	}{
		{"volume create", cloudsim.Fault{Method: "POST", Path: "/v1/volumes", Action: cloudsim.FaultError, Status: 400, Message: "volume quota exceeded"}, "volume/fail-data"},
		{"service group create", cloudsim.Fault{Method: "POST", Path: "/v1/services", Action: cloudsim.FaultError, Status: 400, Message: "no more service groups"}, "service-group/fail-web"},
		{"instance create", cloudsim.Fault{Method: "POST", Path: "/v1/instances", Action: cloudsim.FaultError, Status: 400, Message: "image not found"}, "instance/fail"},
		{"instance wait", cloudsim.Fault{Method: "GET", Path: "/v1/instances/wait", Action: cloudsim.FaultFailOperation, Item: "fail", Message: "the unikernel crashed on boot"}, "instance/fail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tq := fresh(t)
			c := dial(t)
			startWorker(t, c, tq)
			endStack(t, c, workflows.ProviderKraftCloud, "fail")
			tt.fault.Cloud = "kraftcloud"
			_, err := admin.AddFault(context.Background(), tt.fault)
			require.NoError(t, err)

			out, errOut, code := cli(t, "--address", temporal.Address(), "--task-queue", tq, "instances", "deploy", "-f", writeKraftSpec(t, "fail"), "--wait")
			require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			require.Contains(t, out, "DeployInstance failed.")
			require.Contains(t, out, "failed step: "+tt.failed)
			require.Contains(t, out+errOut, tt.fault.Message)
			require.Contains(t, out, "Nothing was left behind.")
			requireKraftEmpty(t)
			if tt.name == "instance wait" {
				recordRun(t, workflows.StackID(workflows.ProviderKraftCloud, "fail")+"-apply-1-"+workflows.DeployInstanceWorkflowName, "kraftcloud-instance-deploy-waitfail")
			}
		})
	}
}

// recordRun saves the history of the latest run of a workflow ID for the
// replay tests (see recordHistory), under as (default: the ID).
func recordRun(t *testing.T, id string, as ...string) {
	t.Helper()
	if os.Getenv("CLOUDFLOW_RECORD_HISTORIES") == "" {
		return
	}
	hist, err := exec.Command(temporalCL, "workflow", "show", "--address", temporal.Address(), "-w", id, "--output", "json").CombinedOutput()
	require.NoError(t, err, string(hist))
	name := id
	if len(as) > 0 {
		name = as[0]
	}
	recordHistory(t, name, hist)
}
