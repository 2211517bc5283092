package kraftcloud

import "encoding/json"

// Statuses of a response envelope and of each item in it.
const (
	StatusSuccess        = "success"
	StatusPartialSuccess = "partial_success"
	StatusError          = "error"
)

// Item error codes, the numeric "error" member of an item whose status is
// "error". The reference documents only 8 (no such object); the others are
// the values cloudflow's simulator (cloudsim) uses, so that callers can tell
// the cases apart. A real metro may use other numbers for them.
const (
	ErrCodeNotFound        = 8
	ErrCodeInvalidState    = 9
	ErrCodeAlreadyExists   = 10
	ErrCodeInvalidArgument = 11
	ErrCodeUnavailable     = 12
	// ErrCodeTimeout: a wait (the wait call, or a start's wait_timeout_ms)
	// ended before the instance reached the state asked for. The instance is
	// still on its way: waiting longer may see it there.
	ErrCodeTimeout = 13
)

// ItemStatus is the per-item outcome every item of a response carries.
type ItemStatus struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	Error   int    `json:"error,omitempty"`
}

// OK reports whether the item succeeded.
func (s ItemStatus) OK() bool { return s.Status == StatusSuccess }

func (s ItemStatus) itemStatus() ItemStatus { return s }

// ErrorDetail is one member of an envelope's errors array.
type ErrorDetail struct {
	Status  int    `json:"status"`
	Message string `json:"message,omitempty"`
}

// envelope is every answer's shape:
// {status, message, errors[], data: {<collection>: [items]}}.
type envelope struct {
	Status  string                     `json:"status"`
	Message string                     `json:"message"`
	Errors  []ErrorDetail              `json:"errors"`
	Data    map[string]json.RawMessage `json:"data"`
}

// failed returns the items that did not succeed.
func failed[T statusItem](items []T) []T {
	var out []T
	for _, it := range items {
		if st := it.itemStatus(); !st.OK() {
			out = append(out, it)
		}
	}
	return out
}
