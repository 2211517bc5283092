//go:build bench

package e2e

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cloudflow/cloudflow/clients/crusoe"
	"github.com/cloudflow/cloudflow/clients/kraftcloud"
	"github.com/cloudflow/cloudflow/workflows"
)

// The baseline the benchmark sets cloudflow against: the same work done by
// a plain program with the project's own clients, polling every operation
// every 2 s until it is done, as Terraform's Crusoe provider does. No
// Temporal, no lookups before creating, no durability: the cost of waiting
// at a fixed pace and nothing else.

const baselineEvery = 2 * time.Second

// fixedPoller does ProvisionVM's and a fleet's work the baseline's way.
type fixedPoller struct {
	crusoe *crusoe.Client
	kraft  *kraftcloud.Client
}

// await polls an operation every 2 s (the first poll 2 s after the call
// that started it) until it is done.
func (p fixedPoller) await(ctx context.Context, family crusoe.Family, op *crusoe.Operation) (*crusoe.Operation, error) {
	for {
		if err := pause(ctx, baselineEvery); err != nil {
			return nil, err
		}
		got, err := p.crusoe.Operations.Get(ctx, "", family, op.OperationID)
		if err != nil {
			return nil, err
		}
		switch got.State {
		case crusoe.OperationSucceeded:
			return got, nil
		case crusoe.OperationFailed:
			return nil, got.Failure()
		}
	}
}

// provision makes the disks (in parallel), then the VM with them attached,
// then the firewall rules, with the VM's address for those that name it.
func (p fixedPoller) provision(ctx context.Context, in workflows.ProvisionVMInput) error {
	nets, err := p.crusoe.VPCNetworks.List(ctx, "")
	if err != nil || len(nets) == 0 {
		return fmt.Errorf("vpc networks: %v", err)
	}
	attach := make([]crusoe.DiskAttachment, len(in.Disks))
	errs := make([]error, len(in.Disks))
	var wg sync.WaitGroup
	for i, d := range in.Disks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op, err := p.crusoe.Disks.Create(ctx, "", &crusoe.DiskCreateRequest{Name: d.Name, Size: d.Size, Type: d.Type, Location: in.VM.Location})
			if err == nil {
				op, err = p.await(ctx, crusoe.FamilyDisks, op)
			}
			var disk struct {
				ID string `json:"id"`
			}
			if err == nil {
				err = op.DecodeResult(&disk)
			}
			attach[i], errs[i] = crusoe.DiskAttachment{DiskID: disk.ID, Mode: d.Mode, AttachmentType: "data"}, err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	vm := in.VM
	op, err := p.crusoe.VMs.Create(ctx, "", &crusoe.VMCreateRequest{Name: vm.Name, Type: vm.Type, Location: vm.Location,
		Image: vm.Image, SSHPublicKey: vm.SSHPublicKey, Disks: attach})
	if err == nil {
		op, err = p.await(ctx, crusoe.FamilyVMs, op)
	}
	if err != nil {
		return err
	}
	var made crusoe.VM
	if err := op.DecodeResult(&made); err != nil {
		return err
	}
	ip := ""
	for _, n := range made.NetworkInterfaces {
		for _, a := range n.IPs {
			if a.PrivateIPv4 != nil && ip == "" {
				ip = a.PrivateIPv4.Address
			}
		}
	}
	for _, r := range in.FirewallRules {
		objects := func(addrs []string) []crusoe.FirewallRuleObject {
			var out []crusoe.FirewallRuleObject
			for _, a := range addrs {
				if a == workflows.TargetVM {
					out = append(out, crusoe.FirewallRuleObject{CIDR: ip + "/32", ResourceID: made.ID})
				} else {
					out = append(out, crusoe.FirewallRuleObject{CIDR: a})
				}
			}
			return out
		}
		op, err := p.crusoe.FirewallRules.Create(ctx, "", &crusoe.FirewallRuleCreateRequest{Name: r.Name, VPCNetworkID: nets[0].ID,
			Direction: r.Direction, Action: r.Action, Protocols: r.Protocols, Sources: objects(r.Sources),
			Destinations: objects(r.Destinations), DestinationPorts: r.DestinationPorts})
		if err == nil {
			_, err = p.await(ctx, crusoe.FamilyFirewallRules, op)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// startFleet starts the instances in calls of 100, four at a time (as a
// script would, and as cloudflow's fleets did), without the server's wait,
// then reads their status every 2 s until every one runs.
func (p fixedPoller) startFleet(ctx context.Context, names []string) (calls int, err error) {
	chunks := chunked(names, 100)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, ch := range chunks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			reqs := make([]kraftcloud.StartRequest, len(ch))
			for i, n := range ch {
				reqs[i] = kraftcloud.StartRequest{Ref: kraftcloud.ByName(n)}
			}
			_, e := p.kraft.Instances.Start(ctx, reqs)
			mu.Lock()
			calls++
			if e != nil && err == nil {
				err = e
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err != nil {
		return calls, err
	}
	left := names
	for len(left) > 0 {
		if err := pause(ctx, baselineEvery); err != nil {
			return calls, err
		}
		var still []string
		for _, ch := range chunked(left, 1000) {
			refs := make([]kraftcloud.Ref, len(ch))
			for i, n := range ch {
				refs[i] = kraftcloud.ByName(n)
			}
			st, err := p.kraft.Instances.Status(ctx, refs)
			if err != nil {
				return calls, err
			}
			for i, it := range st.Instances {
				if it.State != kraftcloud.StateRunning && i < len(ch) {
					still = append(still, ch[i])
				}
			}
		}
		left = still
	}
	return calls, nil
}

func chunked(names []string, n int) [][]string {
	var out [][]string
	for lo := 0; lo < len(names); lo += n {
		out = append(out, names[lo:min(lo+n, len(names))])
	}
	return out
}

func pause(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
