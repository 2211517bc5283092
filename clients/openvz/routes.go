package openvz

import "github.com/cloudflow/cloudflow/clients/internal/apihttp"

// routes names the client's calls for its Observer (WithObserver); the API
// writes its collection with a trailing slash (NOTES.md).
var routes = apihttp.NewRoutes(
	"GET /containers/",
	"POST /containers/",
	"GET /containers/{id}",
	"PATCH /containers/{id}",
	"DELETE /containers/{id}",
	"GET /jobs/{id}",
)
