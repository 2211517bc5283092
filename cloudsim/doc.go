// Package cloudsim holds local simulators of the cloud APIs cloudflow drives:
// the default cloud for the demo and the tests.
//
// One Server answers every simulated cloud on one port, routed by path prefix
// (Crusoe Cloud v1alpha5 under /v1alpha5/, KraftCloud v1 under /v1/, the OpenVZ container API v0.1 under /v0.1/, CloudMC v2 under /api/v2/). Each cloud keeps its resources in
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
//	PUT    /_sim/latency  {"cloud": "cloudmc", "expiry": "50ms"}  (how long tasks stay readable from their start; 0 = forever)
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
//
// # Container API (OpenVZ)
//
// A container API client talks to Running.URL + "/v0.1", without credentials
// (the API has none), on the reference's paths with their trailing slashes:
// POST and GET /containers/ (the collection without its slash answers a 308
// redirect, as a Flask route does), GET, PATCH and DELETE /containers/{id},
// GET /jobs/{id}. A create answers 202 {message, job_id} and enqueues a job
// that is "pending" for OpenVZOptions.Latency (default 1s), then "done"; the
// container exists, for GET, the list and the Inventory (kind "containers"),
// only from then on, with "parameters" null until a PATCH sets some. A name
// is taken from the create on, while the job is pending too: a second create
// answers 422. PATCH and DELETE are synchronous and answer {"message":
// "success", "code": 0}; PATCH merges parameters, each a JSON string checked
// as the reference's example suggests (cpus a positive whole number, memsize
// and size with their memsize_units and size_units K, M or G, ipadd an IPv4
// address, nameserver IPv4 addresses separated by commas, hostname a host
// name), and refuses the whole request over one bad value. Errors are
// {code, message}: 400 with OpenVZCodeInvalidRequest (100), 422 with
// OpenVZCodeDuplicateName, 404 (no such container, job or endpoint) with
// OpenVZCodeNotFound, 500 with OpenVZCodeInternal (200). A fail-operation
// Fault on a create makes its job end "failed", with no reason (the API gives
// none); the container never appears and its name is free again. Counters
// are "container-creates" (jobs done) and "container-deletes", by name.
//
// # CloudMC
//
// A CloudMC client talks to Running.URL + "/api/v2" with the header
// "MC-Api-Key: DefaultCloudMCAPIKey" (or CloudMCOptions.APIKey); a missing or
// wrong key answers 403. The one environment is
// /api/v2/services/compute-sim/dev/ (CloudMCOptions.ServiceCode and
// Environment; another answers 404), with instances, volumes and
// ingressrules, and read-only fixtures that survive Reset and stay out of the
// Inventory: templates, networks and zones, one each (CloudMCTemplateID,
// CloudMCNetworkID, CloudMCZoneID), computeofferings, two
// (CloudMCComputeOfferingID, 1 vCPU and 1 GB, and CloudMCComputeOffering2ID,
// 2 vCPUs and 4 GB), and diskofferings: 20, 50 and 100 GB of a fixed size
// (CloudMCDiskOffering20ID, CloudMCDiskOfferingID, CloudMCDiskOffering100ID)
// and one custom-size (CloudMCCustomDiskOfferingID). A volume create needs a
// diskOfferingId, and a sizeInGb when, and only when, the offering is
// custom-size. org_id is accepted whatever it says. Reads answer {"data":
// ...}. Every change answers {"taskId", "taskStatus": "PENDING"} and runs as
// a task for CloudMCOptions.Latency (default 1s). POST
// .../instances/{id}?operation=start|stop|reboot acts on an instance;
// operation=changeComputeOffering with {"computeOfferingId"} changes a
// Stopped instance's offering to the other one (2012 when it is not
// Stopped, 400 for an unknown offering or the one it has). As strictly as a real
// CloudMC may, the resource keeps the state it had until the task completes
// (an instance being stopped or deleted shows Running throughout); only a
// resource being created shows, Starting (an instance), Creating (a volume)
// or Add (an ingress rule). Meanwhile other changes to it are refused with
// CloudMCErrTaskInProgress. GET /api/v2/tasks/{id} answers {"taskId",
// "taskStatus", "result"}: SUCCESS with the resource as result, or FAILED
// with an errors array as result. A task started more than
// CloudMCOptions.TaskTTL ago (default 30m, settable at run time with
// SetOperationExpiry) answers 404, even while it still runs; the resource
// stays readable and the operation goes on. Creating an instance creates its OS volume
// ("ROOT-<name>"), deleting it removes that and detaches its data volumes.
// Errors are {"errors": [{code, message, context}]}: 400 with
// CloudMCErrInvalidRequest (context names the field), CloudMCErrNameInUse
// (an instance name taken, case-insensitively, or an overlapping ingress
// rule), CloudMCErrInvalidState (2012, the reference's, with currentState
// and expectedStates), CloudMCErrInUse (an attached volume) or
// CloudMCErrTaskInProgress (the resource is held by a task); 403
// CloudMCErrForbidden; 404 CloudMCErrNotFound; 405 CloudMCErrMethodNotAllowed;
// 500 CloudMCErrInternal. A fail-operation Fault makes the task end FAILED,
// undoing what the request applied: what it was creating disappears. The
// Inventory kinds are "instances", "volumes" and "ingress-rules"; Counters
// are "instance-creates", "instance-starts", "instance-stops",
// "instance-reboots" and "instance-deletes", by instance name.
package cloudsim
