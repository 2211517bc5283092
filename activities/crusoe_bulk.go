package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cloudflow/cloudflow/clients/crusoe"
)

// BulkCreateVMsInput is the input of CrusoeBulkCreateVMs: Count VMs named
// NamePrefix-1..Count from an instance template (by ID, or given inline).
type BulkCreateVMsInput struct {
	ProjectID          string `json:"projectId,omitempty"`
	NamePrefix         string `json:"namePrefix"`
	Count              int    `json:"count"`
	InstanceTemplateID string `json:"instanceTemplateId,omitempty"`
	// Type, Location, Image and SSHPublicKey make an inline template when
	// InstanceTemplateID is empty.
	Type          string `json:"type,omitempty"`
	Location      string `json:"location,omitempty"`
	Image         string `json:"image,omitempty"`
	SSHPublicKey  string `json:"sshPublicKey,omitempty"`
	StartupScript string `json:"startupScript,omitempty"`
}

// BulkVMNames are the names a bulk create gives its VMs.
func BulkVMNames(prefix string, count int) []string {
	out := make([]string, count)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i+1)
	}
	return out
}

// CrusoeBulkCreateVMs starts one bulk create. Names are its idempotency key:
// a retry that finds the VMs its own earlier attempt asked for joins the
// operation; VMs of those names that were there before are refused, since a
// bulk create cannot make only some of them.
func (a *CrusoeActivities) CrusoeBulkCreateVMs(ctx context.Context, in BulkCreateVMsInput) (CreateResult, error) {
	if err := a.ready(); err != nil {
		return CreateResult{}, err
	}
	if in.NamePrefix == "" || in.Count <= 0 {
		return CreateResult{}, invalidInput("bulk create needs a name prefix and a positive count")
	}
	names := BulkVMNames(in.NamePrefix, in.Count)
	vms, err := a.Client.VMs.ListAll(ctx, in.ProjectID, &crusoe.VMListOptions{Names: names})
	if err != nil {
		return CreateResult{}, apiError(CloudCrusoe, "look up VMs "+in.NamePrefix+"-*", err)
	}
	marker := "bulk " + in.NamePrefix
	if len(vms) > 0 {
		if !createWasSent(ctx, marker) {
			taken := make([]string, len(vms))
			for i, vm := range vms {
				taken[i] = vm.Name
			}
			return CreateResult{}, invalidInput("VMs named %s exist already; choose another name prefix", strings.Join(taken, ", "))
		}
		return a.adopt(ctx, in.ProjectID, crusoe.FamilyVMs, marker, vms[0].ID)
	}
	req := &crusoe.BulkVMCreateRequest{Count: int64(in.Count), NamePrefix: in.NamePrefix, InstanceTemplateID: in.InstanceTemplateID}
	if in.InstanceTemplateID == "" {
		req.InstanceTemplate = &crusoe.InstanceTemplateCreateRequest{
			TemplateName: in.NamePrefix, Type: in.Type, Location: in.Location, ImageName: in.Image,
			SSHPublicKey: in.SSHPublicKey, StartupScript: in.StartupScript,
		}
	}
	markCreateSent(ctx, marker)
	op, err := a.Client.VMs.BulkCreate(ctx, in.ProjectID, req)
	if err != nil {
		return CreateResult{}, apiError(CloudCrusoe, fmt.Sprintf("bulk create %d VMs %s-*", in.Count, in.NamePrefix), err)
	}
	a.waits.began(op.OperationID)
	return CreateResult{OperationID: op.OperationID}, nil
}

// WaitBulkInput is the input of CrusoeWaitBulkVMs.
type WaitBulkInput struct {
	ProjectID   string        `json:"projectId,omitempty"`
	OperationID string        `json:"operationId,omitempty"`
	Names       []string      `json:"names"`
	Timeout     time.Duration `json:"timeout,omitempty"`
}

// CrusoeWaitBulkVMs waits out a bulk create's operation; an expired or
// unknown operation is resolved from the VMs themselves.
func (a *CrusoeActivities) CrusoeWaitBulkVMs(ctx context.Context, in WaitBulkInput) (FindVMsResult, error) {
	if err := a.ready(); err != nil {
		return FindVMsResult{}, err
	}
	if len(in.Names) == 0 {
		return FindVMsResult{}, invalidInput("nothing to wait for: no VM names")
	}
	return runWait(ctx, a.Async, func(ctx context.Context, env waitEnv) (FindVMsResult, error) {
		return a.waitBulkVMs(ctx, env, in)
	})
}

func (a *CrusoeActivities) waitBulkVMs(ctx context.Context, env waitEnv, in WaitBulkInput) (FindVMsResult, error) {
	what := fmt.Sprintf("bulk create of %d VMs", len(in.Names))
	var res FindVMsResult
	spec := wait{target: what, timeout: in.Timeout, policy: a.poll(), kind: CloudCrusoe + "/vm/bulk-create"}
	if in.OperationID != "" {
		spec.since = a.waits.since(in.OperationID)
		defer a.ops.watch(in.OperationID)()
	}
	wp, err := a.waits.run(ctx, env, spec, func(ctx context.Context, wp *WaitProgress) (bool, error) {
		if in.OperationID != "" && !wp.ResolveFromResource {
			op, err := a.operation(ctx, in.ProjectID, crusoe.FamilyVMs, in.OperationID)
			if err == nil {
				wp.sinceCloud(parseCloudTime(op.StartedAt))
			}
			switch {
			case isGoneOperation(err):
				wp.ResolveFromResource = true
			case err != nil:
				return false, err
			default:
				wp.State = op.State
				switch op.State {
				case crusoe.OperationInProgress:
					return false, nil
				case crusoe.OperationFailed:
					f := op.Failure()
					return true, operationFailed(CloudCrusoe, what, op.OperationID, f.Code, f.Message)
				case crusoe.OperationSucceeded:
				default:
					return false, unexpectedState("bulk vm", op.State)
				}
			}
		}
		found, err := a.CrusoeFindVMs(ctx, FindVMsInput{ProjectID: in.ProjectID, Names: in.Names})
		if err != nil {
			return false, err
		}
		res = found
		missing, creating := 0, 0
		for _, vm := range found.VMs {
			switch {
			case !vm.Found:
				missing++
			case vm.State == crusoe.VMStateCreating:
				creating++
			}
		}
		wp.State = fmt.Sprintf("%d missing, %d creating", missing, creating)
		if missing == len(found.VMs) && wp.ResolveFromResource {
			return true, operationFailed(CloudCrusoe, what, in.OperationID, "NOT_FOUND", "none of the VMs exists: the bulk create did not complete")
		}
		return missing == 0 && creating == 0, nil
	})
	recordWait(a.Metrics, CloudCrusoe, KindVM, "bulk-create", wp, err)
	return res, err
}
