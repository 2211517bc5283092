package main

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cloudflow/cloudflow/codec"
)

const codecServerToken = "cli-test-token-0123456789abcdef"

var payloadKey = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

// startCodecServer runs `cloudflow codec-server` in-process until the test
// ends and returns the URL it prints.
func startCodecServer(t *testing.T, stdin string, args ...string) (url string, c *cli) {
	t.Helper()
	c = newCLI(t)
	c.f.IO.In = strings.NewReader(stdin)
	ctx, stop := context.WithCancel(context.Background())
	c.f.NotifyContext = func(parent context.Context) (context.Context, context.CancelFunc) { return ctx, stop }
	done := make(chan int, 1)
	go func() { done <- c.run(append([]string{"codec-server", "--listen", "127.0.0.1:0"}, args...)...) }()
	t.Cleanup(func() {
		stop()
		select {
		case code := <-done:
			assert.Equal(t, exitOK, code, c.errOut.String())
		case <-time.After(15 * time.Second):
			t.Error("codec-server did not stop on Ctrl-C")
		}
	})
	re := regexp.MustCompile(`listening on (http://\S+)`)
	require.Eventually(t, func() bool { return re.MatchString(c.out.String()) }, 10*time.Second, 10*time.Millisecond,
		"stdout: %s\nstderr: %s", c.out.String(), c.errOut.String())
	return re.FindStringSubmatch(c.out.String())[1], c
}

func decodeOver(t *testing.T, url, auth string, p *commonpb.Payload) (*http.Response, []byte) {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url+"/decode", strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func TestCodecServerDecodesWithTheWorkersKeyForTokenHolders(t *testing.T) {
	t.Setenv(codec.EnvKey, payloadKey)
	t.Setenv(codec.EnvKeyID, "2026-03")
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(codecServerToken+"\n"), 0o600))
	url, srv := startCodecServer(t, "", "--token-file", tokenFile, "--cors-origin", "http://localhost:8233")

	out := srv.out.String()
	assert.Contains(t, out, `(key ID "2026-03")`)
	assert.Contains(t, out, "--codec-endpoint "+url+` --codec-auth "Bearer <token>"`)
	assert.Regexp(t, `UI http://localhost:8233: endpoint http://localhost:\d+`, out, "the UI calls it by its own host name, for the cookie")

	// A payload as the worker seals it.
	pc, err := codec.FromEnv(os.Getenv)
	require.NoError(t, err)
	p, err := codec.DataConverter(pc).ToPayload("export TOKEN=hunter2")
	require.NoError(t, err)

	resp, body := decodeOver(t, url, "Bearer "+codecServerToken, p)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var decoded commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(body, &decoded))
	assert.Equal(t, `"export TOKEN=hunter2"`, string(decoded.Payloads[0].Data))

	resp, body = decodeOver(t, url, "", p)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.NotContains(t, string(body), "hunter2")

	// The token is never printed, nor logged.
	assert.Eventually(t, func() bool { return strings.Count(srv.errOut.String(), "codec request") >= 2 }, 5*time.Second, 10*time.Millisecond)
	assert.NotContains(t, srv.out.String()+srv.errOut.String(), codecServerToken)
	assert.NotContains(t, srv.errOut.String(), "hunter2")
}

func TestCodecServerTakesItsTokenFromStdinOrTheEnvironment(t *testing.T) {
	t.Setenv(codec.EnvKey, payloadKey)
	url, _ := startCodecServer(t, codecServerToken+"\n", "--token-file", "-")
	resp, _ := decodeOver(t, url, "Bearer "+codecServerToken, &commonpb.Payload{Data: []byte("x")})
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	t.Setenv(codec.EnvServerToken, " "+codecServerToken+"-env ")
	url, out := startCodecServer(t, "")
	assert.Contains(t, out.out.String(), "No --cors-origin: no Temporal UI may call it.")
	resp, _ = decodeOver(t, url, "Bearer "+codecServerToken+"-env", &commonpb.Payload{Data: []byte("x")})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestCodecServerRefusesWhatWouldLeak(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(codecServerToken), 0o600))
	bigFile := filepath.Join(dir, "big")
	require.NoError(t, os.WriteFile(bigFile, []byte(strings.Repeat("x", 5<<10)), 0o600))
	shortFile := filepath.Join(dir, "short")
	require.NoError(t, os.WriteFile(shortFile, []byte("tiny-token\n"), 0o600))

	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		message string
	}{
		{"every interface", nil, []string{"--listen", "0.0.0.0:0", "--token-file", tokenFile}, "--listen 0.0.0.0:0 would let other machines reach the codec server"},
		{"every interface, no host", nil, []string{"--listen", ":0", "--token-file", tokenFile}, "--allow-remote"},
		{"no token", nil, nil, "the codec server needs a token: pass --token-file or set CLOUDFLOW_CODEC_TOKEN"},
		{"a short token", map[string]string{codec.EnvServerToken: "tiny-token"}, nil, "it needs at least 16"},
		{"a short token file", nil, []string{"--token-file", shortFile}, "it needs at least 16"},
		{"a missing token file", nil, []string{"--token-file", filepath.Join(dir, "nope")}, "no such file"},
		{"a huge token file", nil, []string{"--token-file", bigFile}, "is larger than 4 KiB"},
		{"no payload key", map[string]string{codec.EnvKey: ""}, []string{"--token-file", tokenFile}, "CLOUDFLOW_PAYLOAD_KEY is not set"},
		{"a bad payload key", map[string]string{codec.EnvKey: "c2hvcnQ"}, []string{"--token-file", tokenFile}, "CLOUDFLOW_PAYLOAD_KEY is not base64 of 32 bytes"},
		{"any origin", nil, []string{"--token-file", tokenFile, "--cors-origin", "*"}, `--cors-origin: "*" is not a web origin`},
		{"an origin with a path", nil, []string{"--token-file", tokenFile, "--cors-origin", "http://localhost:8080/ui"}, "only a scheme, a host and a port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(codec.EnvKey, payloadKey)
			t.Setenv(codec.EnvServerToken, "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c := newCLI(t)
			// Were it to start serving, Ctrl-C comes after a second.
			c.f.NotifyContext = func(ctx context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(ctx, time.Second)
			}
			code := c.run(append([]string{"codec-server", "--listen", "127.0.0.1:0"}, tc.args...)...)
			assert.Equal(t, exitUsage, code, c.errOut.String())
			assert.Contains(t, c.errOut.String(), tc.message)
			assert.NotContains(t, c.out.String(), "listening")
			assert.NotContains(t, c.errOut.String(), codecServerToken)
		})
	}
}

func TestCodecServerAllowedRemoteWarns(t *testing.T) {
	t.Setenv(codec.EnvKey, payloadKey)
	t.Setenv(codec.EnvServerToken, codecServerToken)
	c := newCLI(t)
	ctx, stop := context.WithCancel(context.Background())
	c.f.NotifyContext = func(parent context.Context) (context.Context, context.CancelFunc) { return ctx, stop }
	done := make(chan int, 1)
	go func() { done <- c.run("codec-server", "--listen", "0.0.0.0:0", "--allow-remote") }()
	defer func() {
		stop()
		select {
		case code := <-done:
			assert.Equal(t, exitOK, code)
		case <-time.After(15 * time.Second):
			t.Error("codec-server did not stop")
		}
	}()
	require.Eventually(t, func() bool { return strings.Contains(c.errOut.String(), "warning: the codec server listens on") }, 10*time.Second, 10*time.Millisecond)
	assert.Contains(t, c.errOut.String(), "beyond this machine")
	assert.Regexp(t, `listening on http://127\.0\.0\.1:\d+`, c.out.String())
}

func TestUICodecEndpoint(t *testing.T) {
	for _, tc := range []struct{ origin, url, want string }{
		{"http://localhost:8233", "http://127.0.0.1:8888", "http://localhost:8888"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8888", "http://127.0.0.1:8888"},
		{"http://[::1]:8080", "http://127.0.0.1:8888", "http://[::1]:8888"},
		{"https://temporal.example.com", "http://127.0.0.1:8888", "http://127.0.0.1:8888"},
		{"http://localhost:8080", "http://10.0.0.5:8888", "http://10.0.0.5:8888"},
	} {
		assert.Equal(t, tc.want, uiCodecEndpoint(tc.origin, tc.url), tc.origin)
	}
}
