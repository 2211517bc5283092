package cloudsim

import "encoding/json"

// Inventory lists the resources clients created, by cloud and kind, each as
// the cloud's API renders it: inv["crusoe"]["vms"]. Fixtures the simulator
// seeds (default networks, VM types) are not part of it, and kinds with no
// resources are left out.
type Inventory map[string]map[string][]json.RawMessage

// Empty reports whether no cloud holds any created resource.
func (inv Inventory) Empty() bool {
	for _, kinds := range inv {
		for _, items := range kinds {
			if len(items) > 0 {
				return false
			}
		}
	}
	return true
}

// Count is the number of resources of a kind in a cloud.
func (inv Inventory) Count(cloud, kind string) int {
	return len(inv[cloud][kind])
}
