// Package cloudsim holds local simulators of the cloud APIs cloudflow drives:
// the default cloud for the demo and the tests.
//
// One Server answers every simulated cloud on one port, routed by path prefix
// (Crusoe Cloud v1alpha5 under /v1alpha5/, KraftCloud v1 under /v1/). Each cloud keeps its resources in
// memory, checks credentials the way the real service does, and runs its
// asynchronous operations on a lazy clock: an operation completes once the
// cloud's latency has passed, evaluated against Options.Now on every request
// and inventory read, so tests can drive time without sleeping and no
// goroutine runs in the background.
//
// The Server also carries the test harness the clouds share: fault injection
// (Fault, ParseFault), a journal of the requests it served (RequestRecord), an
// inventory of what clients created (Inventory) and an admin API under /_sim/
// that AdminClient speaks:
//
//	GET    /_sim/healthz
//	GET    /_sim/inventory
//	POST   /_sim/reset
//	GET    /_sim/faults, POST /_sim/faults (one Fault), DELETE /_sim/faults, DELETE /_sim/faults/{id}
//	GET    /_sim/requests
//	GET    /_sim/counters  (actions applied per resource, e.g. instance starts)
//	PUT    /_sim/latency  {"cloud": "crusoe", "latency": "2s"}
//
// # Crusoe Cloud
//
// A Crusoe client talks to Running.URL + "/v1alpha5" with access key
// DefaultCrusoeAccessKeyID, secret DefaultCrusoeSecretKey and project
// DefaultCrusoeProjectID (or the CrusoeOptions given). Requests must be signed
// as NOTES.md describes; the timestamp may be 5 minutes off the server's clock.
// The project starts with a VPC network "default" (DefaultCrusoeVPCNetworkID,
// 172.27.0.0/16) holding a "default-subnet" in each of us-northcentral1-a and
// us-east1-a, and a catalogue of VM types; these fixtures survive Reset and
// are not part of the Inventory.
//
// # KraftCloud
//
// A KraftCloud client talks to Running.URL + "/v1" with the bearer token
// DefaultKraftCloudToken (or KraftCloudOptions.Token). Requests are checked
// strictly, as the reference says: an unknown or ill-typed parameter or an
// invalid name aborts the whole request. Batch (global-scope) calls answer
// per item, with partial success and the item error codes KraftCloudErrNotFound
// (8, from the reference) and the simulator's own 9-12. Instances pass through
// starting and stopping for KraftCloudOptions.Latency; the start wait and the
// wait call hold the answer until the state is reached. A fail-operation Fault
// with Item fails the matching items of a batch call and serves the rest.
package cloudsim
