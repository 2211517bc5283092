package crusoe

import (
	"strings"
	"testing"
)

// The config file is read with a cap: a path to something endless fails,
// named, instead of filling memory.
func TestLoadConfigFromStopsAtTheCap(t *testing.T) {
	_, err := LoadConfigFrom("/dev/zero", func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "config file /dev/zero is larger than 1 MiB") {
		t.Fatalf("err = %v", err)
	}
}
