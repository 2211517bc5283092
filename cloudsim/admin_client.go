package cloudsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// AdminClient speaks the admin API of a running Server (the /_sim/ endpoints),
// for tests and tools in another process.
type AdminClient struct {
	// BaseURL is the Server's URL, e.g. http://127.0.0.1:8600.
	BaseURL string
	// HTTPClient defaults to http.DefaultClient.
	HTTPClient *http.Client
}

// Inventory fetches the resources clients created.
func (a *AdminClient) Inventory(ctx context.Context) (Inventory, error) {
	var inv Inventory
	if err := a.do(ctx, http.MethodGet, "/_sim/inventory", nil, &inv); err != nil {
		return nil, err
	}
	if inv == nil {
		inv = Inventory{}
	}
	return inv, nil
}

// Reset drops created resources, operations, faults and the journal.
func (a *AdminClient) Reset(ctx context.Context) error {
	return a.do(ctx, http.MethodPost, "/_sim/reset", nil, nil)
}

// AddFault installs a fault and returns it as the Server stored it, with its ID.
func (a *AdminClient) AddFault(ctx context.Context, f Fault) (Fault, error) {
	var out Fault
	err := a.do(ctx, http.MethodPost, "/_sim/faults", f, &out)
	return out, err
}

// RemoveFault uninstalls one fault by ID.
func (a *AdminClient) RemoveFault(ctx context.Context, id string) error {
	return a.do(ctx, http.MethodDelete, "/_sim/faults/"+url.PathEscape(id), nil, nil)
}

// ClearFaults uninstalls every fault.
func (a *AdminClient) ClearFaults(ctx context.Context) error {
	return a.do(ctx, http.MethodDelete, "/_sim/faults", nil, nil)
}

// Faults lists the installed faults with their hit counts.
func (a *AdminClient) Faults(ctx context.Context) ([]Fault, error) {
	var out []Fault
	err := a.do(ctx, http.MethodGet, "/_sim/faults", nil, &out)
	return out, err
}

// Requests fetches the request journal, oldest first.
func (a *AdminClient) Requests(ctx context.Context) ([]RequestRecord, error) {
	var out []RequestRecord
	err := a.do(ctx, http.MethodGet, "/_sim/requests", nil, &out)
	return out, err
}

// Counters fetches the actions each cloud applied, by cloud, kind and
// resource name: counters["kraftcloud"]["instance-starts"]["web-1"].
func (a *AdminClient) Counters(ctx context.Context) (map[string]map[string]map[string]int, error) {
	var out map[string]map[string]map[string]int
	if err := a.do(ctx, http.MethodGet, "/_sim/counters", nil, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = map[string]map[string]map[string]int{}
	}
	return out, nil
}

// SetOperationLatency changes how long a cloud's new operations take.
func (a *AdminClient) SetOperationLatency(ctx context.Context, cloud string, d time.Duration) error {
	l := Duration(d)
	return a.do(ctx, http.MethodPut, "/_sim/latency", latencyRequest{Cloud: cloud, Latency: &l}, nil)
}

// SetOperationExpiry changes how long a cloud keeps an operation readable:
// the CloudMC task TTL ("cloudmc", from the task's start), so a test can make tasks
// expire (answer 404) within milliseconds. 0 keeps them forever. It fails
// for a cloud that has no such setting.
func (a *AdminClient) SetOperationExpiry(ctx context.Context, cloud string, d time.Duration) error {
	e := Duration(d)
	return a.do(ctx, http.MethodPut, "/_sim/latency", latencyRequest{Cloud: cloud, Expiry: &e}, nil)
}

// Healthz checks that the Server answers.
func (a *AdminClient) Healthz(ctx context.Context) error {
	return a.do(ctx, http.MethodGet, "/_sim/healthz", nil, nil)
}

func (a *AdminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("cloudsim admin: encode %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.BaseURL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("cloudsim admin: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := a.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cloudsim admin: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("cloudsim admin: %s %s: read body: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e adminErrorBody
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("cloudsim admin: %s %s: %s: %s", method, path, resp.Status, e.Error)
		}
		return fmt.Errorf("cloudsim admin: %s %s: %s", method, path, resp.Status)
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("cloudsim admin: %s %s: decode: %w", method, path, err)
		}
	}
	return nil
}
