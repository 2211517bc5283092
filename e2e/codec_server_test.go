package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cloudflow/cloudflow/codec"
	"github.com/cloudflow/cloudflow/starter"
	"github.com/cloudflow/cloudflow/workflows"
)

// A run sealed with CLOUDFLOW_PAYLOAD_KEY reads in clear through `cloudflow
// codec-server`, for token holders only: its input in the history is
// sealed; /decode opens it with the token and answers 401 without; the
// Temporal CLI, pointed at the server with --codec-auth, shows the history
// readable; a browser signed in at /login decodes from the UI's origin.
func TestCodecServerReadsSealedRunsForTokenHolders(t *testing.T) {
	tq := fresh(t)
	t.Setenv(codec.EnvKey, base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")))
	t.Setenv(codec.EnvKeyID, "e2e-key")
	co, err := starter.ClientOptions(starter.Options{HostPort: temporal.Address()})
	require.NoError(t, err)
	c, err := client.Dial(co)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	startWorker(t, c, tq)

	const secret = "hunter2-readable-only-through-the-codec-server"
	in := input("decoded")
	in.VM.StartupScript = "#!/bin/sh\nexport TOKEN=" + secret + "\n"
	s := newStarter(t, c, tq)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := s.ProvisionVM(ctx, in)
	require.NoError(t, err)
	var res workflows.ProvisionVMResult
	require.NoError(t, s.Result(ctx, run.WorkflowID, run.RunID, &res))

	const token = "e2e-codec-server-token-0123456789"
	const uiOrigin = "http://localhost:8233"
	endpoint, serverLog := startCodecServerProcess(t, token, "--cors-origin", uiOrigin)

	// The run's input, as the server keeps it: sealed.
	hist := dial(t).GetWorkflowHistory(ctx, run.WorkflowID, run.RunID, false, 0)
	require.True(t, hist.HasNext())
	first, err := hist.Next()
	require.NoError(t, err)
	sealed := first.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	require.Len(t, sealed, 1)
	require.Equal(t, codec.MetadataEncoding, string(sealed[0].GetMetadata()["encoding"]))
	require.Equal(t, "e2e-key", string(sealed[0].GetMetadata()["encryption-key-id"]))
	require.NotContains(t, string(sealed[0].GetData()), secret)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: sealed})
	require.NoError(t, err)

	t.Run("over HTTP", func(t *testing.T) {
		status, out := codecPost(t, http.DefaultClient, endpoint+"/decode", body, "Authorization", "Bearer "+token)
		require.Equal(t, http.StatusOK, status, out)
		var decoded commonpb.Payloads
		require.NoError(t, protojson.Unmarshal([]byte(out), &decoded))
		require.Len(t, decoded.Payloads, 1)
		var got workflows.ProvisionVMInput
		require.NoError(t, converter.GetDefaultDataConverter().FromPayload(decoded.Payloads[0], &got))
		require.Equal(t, in.VM.StartupScript, got.VM.StartupScript)

		for _, auth := range []string{"", "Bearer not-the-codec-token-at-all"} {
			status, out = codecPost(t, http.DefaultClient, endpoint+"/decode", body, "Authorization", auth)
			require.Equal(t, http.StatusUnauthorized, status, "Authorization %q: %s", auth, out)
			require.NotContains(t, out, secret)
		}
	})

	t.Run("through the Temporal CLI", func(t *testing.T) {
		show := func(env []string, extra ...string) (string, error) {
			args := append([]string{"workflow", "show", "--address", temporal.Address(), "-w", run.WorkflowID, "--output", "json"}, extra...)
			cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(cctx, temporalCL, args...)
			cmd.Env = append(os.Environ(), env...)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		for name, how := range map[string]struct{ env, args []string }{
			"flags":       {args: []string{"--codec-endpoint", endpoint, "--codec-auth", "Bearer " + token}},
			"environment": {env: []string{"TEMPORAL_CODEC_ENDPOINT=" + endpoint, "TEMPORAL_CODEC_AUTH=Bearer " + token}},
		} {
			out, err := show(how.env, how.args...)
			require.NoError(t, err, "%s: %s", name, out)
			require.Contains(t, historyText(t, []byte(out)), secret, "%s: the history reads in clear through the codec server", name)
			require.NotContains(t, out, base64.StdEncoding.EncodeToString([]byte(codec.MetadataEncoding)), "%s: no payload is left sealed", name)
		}

		// Without the token, the CLI retries its refused decodes until its
		// command times out.
		refused := strings.Count(serverLog.String(), "status=401")
		out, err := show(nil, "--codec-endpoint", endpoint, "--command-timeout", "3s")
		require.Error(t, err, "without the token the CLI cannot decode: %s", out)
		require.NotContains(t, out, secret)
		require.Greater(t, strings.Count(serverLog.String(), "status=401"), refused, "the codec server refused the CLI")
	})

	t.Run("from the UI's origin, signed in", func(t *testing.T) {
		// What the UI's browser does: a preflight, a sign-in at /login,
		// then a decode carrying the session cookie.
		req, err := http.NewRequest(http.MethodOptions, endpoint+"/decode", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", uiOrigin)
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		require.Equal(t, uiOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
		require.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))

		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		browser := &http.Client{Jar: jar, Timeout: time.Minute}
		status, out := codecPost(t, browser, endpoint+"/decode", body, "Origin", uiOrigin)
		require.Equal(t, http.StatusUnauthorized, status, "before signing in")
		resp, err = browser.PostForm(endpoint+"/login", url.Values{"token": {token}})
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		status, out = codecPost(t, browser, endpoint+"/decode", body, "Origin", uiOrigin, "X-Namespace", "default")
		require.Equal(t, http.StatusOK, status, out)
		require.Contains(t, decodedText(t, out), secret)

		status, out = codecPost(t, browser, endpoint+"/decode", body, "Origin", "http://localhost:3000")
		require.Equal(t, http.StatusForbidden, status, "another page of the same site, with the cookie")
		require.NotContains(t, out, secret)
	})
}

// startCodecServerProcess runs `cloudflow codec-server` as a user would,
// with the token in a file and this process's environment (the payload
// key), and returns its URL and its output so far.
func startCodecServerProcess(t *testing.T, token string, args ...string) (string, *lockedBuffer) {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "codec-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\n"), 0o600))
	cmd := exec.Command(cliBinary, append([]string{"codec-server", "--listen", "127.0.0.1:0", "--token-file", tokenFile}, args...)...)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		text := out.String()
		if t.Failed() {
			t.Logf("codec-server output:\n%s", text)
		}
		if strings.Contains(text, token) {
			t.Error("codec-server printed its token")
		}
	})
	re := regexp.MustCompile(`listening on (http://\S+)`)
	waitFor(t, 30*time.Second, "codec-server to listen", func() bool { return re.MatchString(out.String()) })
	return re.FindStringSubmatch(out.String())[1], &out
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// codecPost posts body to url with the given header pairs (an empty value
// is left out) and returns the status and the response body.
func codecPost(t *testing.T, hc *http.Client, url string, body []byte, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] != "" {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := hc.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// decodedText is a /decode answer with every payload's data decoded.
func decodedText(t *testing.T, answer string) string {
	t.Helper()
	var ps commonpb.Payloads
	require.NoError(t, protojson.Unmarshal([]byte(answer), &ps))
	var b strings.Builder
	for _, p := range ps.Payloads {
		b.Write(p.GetData())
	}
	return b.String()
}
