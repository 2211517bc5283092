package workflows

import "time"

// Fleet workflow type names (part of the public contract).
const (
	StartInstancesWorkflowName = "StartInstances"
	StopInstancesWorkflowName  = "StopInstances"
)

// Providers a fleet workflow drives (and ProviderCloudMC).
const (
	ProviderKraftCloud = "kraftcloud"
	ProviderCrusoe     = "crusoe"
)

// Fleet defaults. KraftCloud starts and stops up to ChunkSize instances per
// batch call; Crusoe and CloudMC have no batch call, so one instance is one
// call and Concurrency bounds the instances in flight (CloudMC takes the
// Crusoe defaults).
//
// The KraftCloud ones are measured (BENCHMARKS.md): a start call is held
// by the server until its instances run, so a fleet takes about as many
// start times as it needs rounds of Concurrency calls; 40 calls of 250
// start 10,000 instances in one round (3 s for instances that take 2 s; 4
// calls of 100 took 51 s), in 40 calls, and one run holds them (about 220
// history events and 1.3 MB).
const (
	DefaultKraftCloudChunkSize   = 250
	MaxKraftCloudChunkSize       = 1000
	DefaultKraftCloudConcurrency = 40
	DefaultCrusoeConcurrency     = 16
	// Crusoe VMs are looked up this many names per list call.
	CrusoeLookupChunk  = 100
	DefaultMaxAttempts = 3
	DefaultWaitTimeout = 5 * time.Minute
	// A run hands over to a fresh one (continue-as-new) after this many
	// instances, or more while it is younger than a second, keeping each
	// run's history small: a KraftCloud chunk costs about 5 events, a
	// Crusoe VM or a CloudMC instance about 14.
	DefaultKraftCloudItemsPerRun = 10000
	DefaultCrusoeItemsPerRun     = 250
	// MaxFleetSize bounds one workflow's input (about 1.2 MB of names).
	MaxFleetSize = 20000
)

// The KraftCloud defaults of runs from before changeFleetDefaults.
const (
	v0KraftCloudChunkSize   = 100
	v0KraftCloudConcurrency = 4
	v0KraftCloudItemsPerRun = 2000
)

// FleetInput asks StartInstances or StopInstances to act on many instances.
// It carries references only; credentials live with the worker.
type FleetInput struct {
	// Provider is "kraftcloud", "crusoe" or "cloudmc".
	Provider string `json:"provider"`
	// Instances are KraftCloud instance names or UUIDs, Crusoe VM names or
	// CloudMC instance names.
	// A reference listed twice is acted on once and reported as skipped.
	Instances []string `json:"instances"`
	// ProjectID overrides the worker's Crusoe project.
	ProjectID string `json:"projectId,omitempty"`
	// ChunkSize is how many instances one KraftCloud batch call carries
	// (default 250, at most 1000).
	ChunkSize int `json:"chunkSize,omitempty"`
	// Concurrency bounds the calls in flight: KraftCloud batches (default 40)
	// or Crusoe VMs and CloudMC instances (default 16).
	Concurrency int `json:"concurrency,omitempty"`
	// MaxAttempts is how many rounds an item that failed for a reason worth
	// retrying gets, the first included (default 3). Items the cloud refused
	// for good (unknown, already in that state) are not retried.
	MaxAttempts int `json:"maxAttempts,omitempty"`
	// WaitTimeout bounds the wait for each instance to reach the state
	// (default 5m), counted from when the wait begins. Until it is spent an
	// instance on its way is waited for again (a server-side wait that ended,
	// a failure worth retrying), never started again; then it is reported
	// with code WaitTimeout, or the cloud's last code for it.
	WaitTimeout time.Duration `json:"waitTimeout,omitempty"`
	// Force and DrainTimeout apply to KraftCloud stops.
	Force        bool          `json:"force,omitempty"`
	DrainTimeout time.Duration `json:"drainTimeout,omitempty"`
	// ItemsPerRun is how many instances one run handles before it continues
	// as new (default 10000 for KraftCloud, 250 for Crusoe and CloudMC); a
	// run younger than a second goes on with the next ones.
	ItemsPerRun int `json:"itemsPerRun,omitempty"`
	// Timeouts tunes activity heartbeats.
	Timeouts Timeouts `json:"timeouts,omitempty"`
	// Carry is the state a run hands to the next one when it continues as
	// new. Callers leave it empty.
	Carry *FleetCarry `json:"carry,omitempty"`
}

// FleetCarry is what earlier runs of one fleet learned.
type FleetCarry struct {
	Total     int         `json:"total"`
	Runs      int         `json:"runs"`
	Calls     int         `json:"calls"`
	Succeeded []string    `json:"succeeded,omitempty"`
	Failed    []FleetItem `json:"failed,omitempty"`
	Skipped   []FleetItem `json:"skipped,omitempty"`
}

// FleetItem is one instance that failed or was skipped, with why.
type FleetItem struct {
	Ref string `json:"ref"`
	ID  string `json:"id,omitempty"`
	// State is the last state seen, if any.
	State string `json:"state,omitempty"`
	// Code and Message are the cloud's (KraftCloud's numeric item error code,
	// as text; Crusoe's or CloudMC's code), or cloudflow's own: NOT_FOUND,
	// ALREADY_RUNNING, ALREADY_STOPPED, INVALID_STATE, DUPLICATE,
	// INVALID_NAME, WaitTimeout.
	Code     string `json:"code,omitempty"`
	Message  string `json:"message"`
	Attempts int    `json:"attempts,omitempty"`
}

// FleetResult reports every instance: the ones that reached the state, the
// ones that failed and why, and the ones skipped. When any failed, the
// workflow fails with error type FleetIncomplete and this result as details.
type FleetResult struct {
	Provider  string      `json:"provider"`
	Action    string      `json:"action"`
	Total     int         `json:"total"`
	Succeeded []string    `json:"succeeded"`
	Failed    []FleetItem `json:"failed,omitempty"`
	Skipped   []FleetItem `json:"skipped,omitempty"`
	// Runs is how many workflow runs the fleet took (continue-as-new).
	Runs int `json:"runs"`
	// Calls counts the start/stop and wait API calls made.
	Calls int `json:"calls"`
}

// FleetProgress answers the progress query of a fleet workflow, counting
// every run so far.
type FleetProgress struct {
	Workflow string `json:"workflow"`
	Provider string `json:"provider"`
	Action   string `json:"action"`
	// Phase is "running", "completed" or "failed".
	Phase     string `json:"phase"`
	Total     int    `json:"total"`
	Succeeded int    `json:"succeeded"`
	Failed    int    `json:"failed"`
	Skipped   int    `json:"skipped"`
	// Pending is everything not yet settled, InFlight included.
	Pending  int `json:"pending"`
	InFlight int `json:"inFlight"`
	// Run counts from 1; Round is the retry round within the run.
	Run   int `json:"run"`
	Round int `json:"round"`
	Calls int `json:"calls"`
}

// ErrTypeFleetIncomplete is the error type of a fleet run in which some
// instances failed; its details hold the FleetResult.
const ErrTypeFleetIncomplete = "FleetIncomplete"

// ErrTypeInvalidFleet is the error type of a fleet input that cannot be run.
const ErrTypeInvalidFleet = "InvalidFleetInput"
