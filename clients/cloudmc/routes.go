package cloudmc

import (
	"net/http"

	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
)

// routes names the client's calls for its Observer (WithObserver): each
// entity of an environment, the operations on instances and volumes (named
// by their ?operation=), and tasks (NOTES.md).
var routes = apihttp.NewRoutes(cloudMCRoutes()...)

func cloudMCRoutes() []string {
	const env = "/services/{service_code}/{environment_name}/"
	var t []string
	for _, entity := range []string{"instances", "volumes", "ingressrules", "diskofferings"} {
		t = append(t,
			http.MethodGet+" "+env+entity,
			http.MethodPost+" "+env+entity,
			http.MethodGet+" "+env+entity+"/{id}",
			http.MethodDelete+" "+env+entity+"/{id}",
		)
	}
	for _, op := range []string{InstanceOperationStart, InstanceOperationStop, InstanceOperationReboot, InstanceOperationChangeComputeOffering} {
		t = append(t, http.MethodPost+" "+env+"instances/{id}?operation="+op)
	}
	for _, op := range []string{VolumeOperationAttach, VolumeOperationDetach} {
		t = append(t, http.MethodPost+" "+env+"volumes/{id}?operation="+op)
	}
	return append(t, http.MethodGet+" /tasks/{id}")
}
