package kraftcloud

import "github.com/cloudflow/cloudflow/clients/internal/apihttp"

// routes names the client's calls for its Observer (WithObserver): the
// global-scope (batch) calls on each collection and the local-scope calls
// on one item (NOTES.md).
var routes = apihttp.NewRoutes(
	"GET /instances",
	"POST /instances",
	"DELETE /instances",
	"GET /instances/{uuid}",
	"DELETE /instances/{uuid}",
	"PUT /instances/start",
	"PUT /instances/stop",
	"GET /instances/wait",
	"PUT /instances/{uuid}/start",
	"PUT /instances/{uuid}/stop",
	"GET /services",
	"POST /services",
	"DELETE /services",
	"GET /services/{uuid}",
	"DELETE /services/{uuid}",
	"GET /services/{uuid}/autoscale",
	"POST /services/{uuid}/autoscale",
	"DELETE /services/{uuid}/autoscale",
	"GET /volumes",
	"POST /volumes",
	"DELETE /volumes",
	"GET /volumes/{uuid}",
	"DELETE /volumes/{uuid}",
	"PUT /volumes/attach",
	"PUT /volumes/detach",
)
