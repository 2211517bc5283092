package cloudsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// ovzJobView is a job as GET /jobs/{id} renders it.
type ovzJobView struct {
	Message    string `json:"message"`
	Status     string `json:"status"`
	EntityType string `json:"entity_type"`
	EntityID   string `json:"entity_id"`
}

// Job statuses.
const (
	ovzJobPending = "pending"
	ovzJobDone    = "done"
	ovzJobFailed  = "failed"
)

// ovzFamily is the family of container jobs on the operation clock.
const ovzFamily = "container"

// createContainer enqueues a container: 202 with the job's ID. The name is
// taken from now on; the container appears when the job is done, and the
// name is free again if it fails.
func (c *openVZ) createContainer(r *http.Request) (int, any, error) {
	fields, err := ovzDecodeObject(r, "name", "ostemplate")
	if err != nil {
		return 0, nil, err
	}
	name, err := ovzRequiredString(fields, "name")
	if err != nil {
		return 0, nil, err
	}
	tmpl, err := ovzRequiredString(fields, "ostemplate")
	if err != nil {
		return 0, nil, err
	}
	if err := ovzCheckName("name", name, ovzMaxName); err != nil {
		return 0, nil, err
	}
	if err := ovzCheckName("ostemplate", tmpl, ovzMaxTemplate); err != nil {
		return 0, nil, err
	}
	if _, taken := c.st.names[name]; taken {
		return 0, nil, &ovzError{http.StatusUnprocessableEntity, OpenVZCodeDuplicateName,
			fmt.Sprintf("container with name %s already exists", name)}
	}

	ct := &ovzContainer{id: uuid.NewString(), name: name, ostemplate: tmpl}
	c.st.names[name] = ct.id
	op := &operation{id: uuid.NewString(), family: ovzFamily, resourceIDs: []string{ct.id}}
	op.succeed = func() (any, *opFailure) {
		ct.createdAt = op.dueAt
		c.st.containers.put(ct.id, ct)
		c.env.tally.add(ovzContainerCreates, ct.name)
		return nil, nil
	}
	op.rollback = func() { delete(c.st.names, ct.name) }
	c.ops.start(c.env.now(), op)
	infoOf(r).started(op)
	return http.StatusAccepted, struct {
		Message string `json:"message"`
		JobID   string `json:"job_id"`
	}{ovzSuccess, op.id}, nil
}

func (c *openVZ) listContainers(r *http.Request) (int, any, error) {
	out := []ovzContainerView{}
	for _, ct := range c.st.containers.all() {
		out = append(out, ct.render())
	}
	return http.StatusOK, struct {
		Message    string             `json:"message"`
		Containers []ovzContainerView `json:"containers"`
	}{ovzSuccess, out}, nil
}

// container finds the container of the path; one whose job is not done yet
// is not found.
func (c *openVZ) container(r *http.Request) (*ovzContainer, error) {
	id := r.PathValue("id")
	ct := c.st.containers.get(id)
	if ct == nil {
		return nil, ovzNotFound("container", id)
	}
	return ct, nil
}

func (c *openVZ) getContainer(r *http.Request) (int, any, error) {
	ct, err := c.container(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, struct {
		Message   string           `json:"message"`
		Container ovzContainerView `json:"container"`
	}{ovzSuccess, ct.render()}, nil
}

// updateContainer merges the given parameters into the container's, after
// checking every one: a bad value changes nothing.
func (c *openVZ) updateContainer(r *http.Request) (int, any, error) {
	ct, err := c.container(r)
	if err != nil {
		return 0, nil, err
	}
	fields, err := ovzDecodeObject(r, "parameters")
	if err != nil {
		return 0, nil, err
	}
	raw, ok := fields["parameters"]
	if !ok {
		return 0, nil, ovzInvalid(`field "parameters" is required`)
	}
	params, err := ovzDecodeParameters(raw)
	if err != nil {
		return 0, nil, err
	}
	if ct.parameters == nil {
		ct.parameters = map[string]string{}
	}
	maps.Copy(ct.parameters, params)
	return http.StatusOK, ovzDone{Message: ovzSuccess}, nil
}

func (c *openVZ) deleteContainer(r *http.Request) (int, any, error) {
	ct, err := c.container(r)
	if err != nil {
		return 0, nil, err
	}
	c.st.containers.del(ct.id)
	delete(c.st.names, ct.name)
	c.env.tally.add(ovzContainerDeletes, ct.name)
	return http.StatusOK, ovzDone{Message: ovzSuccess}, nil
}

// getJob answers a job; a failed one gives no reason, as NOTES.md says.
func (c *openVZ) getJob(r *http.Request) (int, any, error) {
	id := r.PathValue("id")
	op, ok := c.ops.get(id)
	if !ok || op.family != ovzFamily {
		return 0, nil, ovzNotFound("job", id)
	}
	view := ovzJobView{Message: ovzSuccess, Status: ovzJobPending, EntityType: ovzFamily}
	if len(op.resourceIDs) > 0 {
		view.EntityID = op.resourceIDs[0]
	}
	switch op.status {
	case opSucceeded:
		view.Status = ovzJobDone
	case opFailed:
		view.Status = ovzJobFailed
	}
	return http.StatusOK, view, nil
}

// --- requests ---

// ovzDecodeObject reads the body as a JSON object whose keys are all among
// allowed, and returns its members. Every problem is a 400 with code 100.
func ovzDecodeObject(r *http.Request, allowed ...string) (map[string]json.RawMessage, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	switch {
	case err != nil:
		return nil, ovzInvalid("cannot read the request body: %v", err)
	case len(body) > maxBodyBytes:
		return nil, ovzInvalid("the request body is larger than %d bytes", maxBodyBytes)
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, ovzInvalid("the request body must be a JSON object")
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil {
		return nil, ovzInvalid("%v", describeJSONError(err))
	}
	if dec.More() {
		return nil, ovzInvalid("malformed JSON: unexpected data after the object")
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(allowed, k) {
			return nil, ovzInvalid("unknown field %q (want %s)", k, strings.Join(allowed, ", "))
		}
	}
	return fields, nil
}

// ovzString reads a member that must be a JSON string.
func ovzString(field string, raw json.RawMessage) (string, error) {
	var s string
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '"' || json.Unmarshal(t, &s) != nil {
		return "", ovzInvalid("field %q must be a string, not %s", field, bytes.TrimSpace(raw))
	}
	return s, nil
}

func ovzRequiredString(fields map[string]json.RawMessage, field string) (string, error) {
	raw, ok := fields[field]
	if !ok {
		return "", ovzInvalid("field %q is required", field)
	}
	return ovzString(field, raw)
}

// Longest container name and OS template name.
const (
	ovzMaxName     = 64
	ovzMaxTemplate = 128
)

// ovzCheckName checks a container name or OS template: 1 to max letters,
// digits, '.', '_' or '-', starting with a letter or digit.
func ovzCheckName(field, s string, max int) error {
	switch {
	case s == "":
		return ovzInvalid("field %q must not be empty", field)
	case len(s) > max:
		return ovzInvalid("field %q is %d characters long, more than %d", field, len(s), max)
	case !isASCIILetter(s[0]) && !isASCIIDigit(s[0]):
		return ovzInvalid("field %q (%q) must start with a letter or digit", field, s)
	}
	for i := 0; i < len(s); i++ {
		if ch := s[i]; !isASCIILetter(ch) && !isASCIIDigit(ch) && ch != '.' && ch != '_' && ch != '-' {
			return ovzInvalid("field %q (%q) may hold only letters, digits, '.', '_' and '-'", field, s)
		}
	}
	return nil
}

// ovzParams are the parameters PATCH takes, all strings in the API.
var ovzParams = []string{"hostname", "cpus", "memsize", "memsize_units", "ipadd", "size", "size_units", "nameserver"}

// ovzDecodeParameters reads and checks the parameters object: known keys,
// string values, each valid, sizes with their units.
func ovzDecodeParameters(raw json.RawMessage) (map[string]string, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return nil, ovzInvalid(`field "parameters" must be an object, not %s`, t)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(t, &fields); err != nil {
		return nil, ovzInvalid(`field "parameters": %v`, describeJSONError(err))
	}
	if len(fields) == 0 {
		return nil, ovzInvalid(`field "parameters" is empty: give at least one of %s`, strings.Join(ovzParams, ", "))
	}
	params := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(ovzParams, k) {
			return nil, ovzInvalid("unknown parameter %q (want %s)", k, strings.Join(ovzParams, ", "))
		}
		v, err := ovzString("parameters."+k, fields[k])
		if err != nil {
			return nil, err
		}
		params[k] = v
	}
	bad := func(k, want string) error {
		return ovzInvalid("parameter %q must be %s, not %q", k, want, params[k])
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		v := params[k]
		switch k {
		case "hostname":
			if !ovzHostname(v) {
				return nil, bad(k, "a host name (letters, digits and hyphens in dot-separated labels)")
			}
		case "cpus", "memsize", "size":
			if !ovzPositive(v) {
				return nil, bad(k, "a positive whole number")
			}
		case "memsize_units", "size_units":
			if v != "K" && v != "M" && v != "G" {
				return nil, bad(k, "one of K, M, G")
			}
		case "ipadd":
			if !ovzIPv4(v) {
				return nil, bad(k, "an IPv4 address")
			}
		case "nameserver":
			for _, a := range strings.Split(v, ",") {
				if !ovzIPv4(a) {
					return nil, bad(k, "IPv4 addresses separated by commas")
				}
			}
		}
	}
	for _, size := range []string{"memsize", "size"} {
		_, hasSize := params[size]
		_, hasUnits := params[size+"_units"]
		if hasSize != hasUnits {
			return nil, ovzInvalid("parameters %q and %q go together", size, size+"_units")
		}
	}
	return params, nil
}

func ovzPositive(s string) bool {
	n, err := strconv.ParseUint(s, 10, 63)
	return err == nil && n > 0
}

func ovzIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

// ovzHostname follows RFC 1123.
func ovzHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if ch := label[i]; !isASCIILetter(ch) && !isASCIIDigit(ch) && ch != '-' {
				return false
			}
		}
	}
	return true
}
