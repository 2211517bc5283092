package starter

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The configuration file is read with a cap: a path to something endless
// stops there, named, rather than filling memory; a real file still loads.
func TestClientOptionsReadsTheConfigFileWithACap(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "temporal.toml")
	require.NoError(t, os.WriteFile(good, []byte("[profile.default]\naddress = \"file-host:7233\"\nnamespace = \"file-ns\"\n"), 0o600))
	co, err := ClientOptions(Options{ConfigFile: good})
	require.NoError(t, err)
	require.Equal(t, "file-host:7233", co.HostPort)
	require.Equal(t, "file-ns", co.Namespace)

	t.Setenv("TEMPORAL_CONFIG_FILE", good)
	co, err = ClientOptions(Options{})
	require.NoError(t, err)
	require.Equal(t, "file-host:7233", co.HostPort, "from $TEMPORAL_CONFIG_FILE too")

	_, err = ClientOptions(Options{ConfigFile: "/dev/zero"})
	require.EqualError(t, err, "Temporal configuration file /dev/zero is larger than 1 MiB, the most cloudflow reads")

	_, err = ClientOptions(Options{ConfigFile: filepath.Join(dir, "none.toml")})
	require.NoError(t, err, "a file that does not exist is no error")
}
