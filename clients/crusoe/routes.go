package crusoe

import (
	"net/http"

	"github.com/cloudflow/cloudflow/clients/internal/apihttp"
)

// routes names the client's calls for its Observer (WithObserver): every
// resource collection's list, create, get, update and delete, each family's
// operations, and the calls of their own (NOTES.md).
var routes = apihttp.NewRoutes(crusoeRoutes()...)

func crusoeRoutes() []string {
	const project = "/projects/{project_id}/"
	var t []string
	for _, base := range []string{
		string(FamilyVMs), string(FamilyDisks), string(FamilySnapshots), string(FamilyFirewallRules),
		string(FamilyVPCNetworks), string(FamilyVPCSubnets), string(FamilyLoadBalancers),
		"compute/instance-templates", "compute/instance-groups",
	} {
		t = append(t,
			http.MethodGet+" "+project+base,
			http.MethodPost+" "+project+base,
			http.MethodGet+" "+project+base+"/{id}",
			http.MethodPatch+" "+project+base+"/{id}",
			http.MethodDelete+" "+project+base+"/{id}",
		)
	}
	for _, f := range []Family{FamilyVMs, FamilyDisks, FamilySnapshots, FamilyFirewallRules, FamilyVPCNetworks, FamilyVPCSubnets, FamilyLoadBalancers} {
		t = append(t,
			http.MethodGet+" "+project+string(f)+"/operations",
			http.MethodGet+" "+project+string(f)+"/operations/{operation_id}",
		)
	}
	return append(t,
		http.MethodPost+" "+project+string(FamilyVMs)+"/{id}/attach-disks",
		http.MethodPost+" "+project+string(FamilyVMs)+"/{id}/detach-disks",
		http.MethodPost+" "+project+"compute/vms/bulk-instances",
		http.MethodGet+" "+project+"compute/vms/types",
	)
}
