package cloudsim

import (
	"sync"
	"time"
)

// journalCap bounds the request journal; the oldest records are dropped first.
const journalCap = 10000

// RequestRecord is one request a cloud simulator served, as kept in the journal.
type RequestRecord struct {
	Time   time.Time `json:"time"`
	Cloud  string    `json:"cloud,omitempty"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Query  string    `json:"query,omitempty"`
	// Status is the status the handler answered with. For a drop-response
	// fault it is the status the client never received; it is 0 when the
	// request was abandoned (its context ended during a delay fault).
	Status int `json:"status"`
	// Fault is the ID of the fault applied to the request, if any.
	Fault string `json:"fault,omitempty"`
	// OperationID is the asynchronous operation the request started, if any.
	OperationID string `json:"operationId,omitempty"`
}

// journal is a bounded, concurrency-safe log of RequestRecords.
type journal struct {
	mu      sync.Mutex
	records []RequestRecord // ring buffer once full
	next    int             // index of the oldest record when full
}

func (j *journal) add(r RequestRecord) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.records) < journalCap {
		j.records = append(j.records, r)
		return
	}
	j.records[j.next] = r
	j.next = (j.next + 1) % journalCap
}

// list returns the records oldest first.
func (j *journal) list() []RequestRecord {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]RequestRecord, 0, len(j.records))
	out = append(out, j.records[j.next:]...)
	out = append(out, j.records[:j.next]...)
	return out
}

func (j *journal) reset() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.records = nil
	j.next = 0
}
