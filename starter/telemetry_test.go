package starter

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
)

// A worker's metrics handler and tracing interceptor reach the client.
func TestClientOptionsCarryMetricsAndInterceptors(t *testing.T) {
	t.Setenv("TEMPORAL_CONFIG_FILE", "")
	i := &interceptor.ClientInterceptorBase{}
	co, err := ClientOptions(Options{MetricsHandler: client.MetricsNopHandler, Interceptors: []interceptor.ClientInterceptor{i}})
	require.NoError(t, err)
	require.Equal(t, client.MetricsNopHandler, co.MetricsHandler)
	require.Equal(t, []interceptor.ClientInterceptor{i}, co.Interceptors)

	co, err = ClientOptions(Options{})
	require.NoError(t, err)
	require.Nil(t, co.MetricsHandler)
	require.Empty(t, co.Interceptors)
}
