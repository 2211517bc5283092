package codec

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

const (
	serverToken = "s3cret-codec-token-for-tests"
	uiOrigin    = "http://localhost:8233"
)

type userData struct{ SSHPublicKey, StartupScript string }

var secretInput = userData{"ssh-ed25519 AAAA-secret-key", "export TOKEN=hunter2"}

func newTestServer(t *testing.T, o ServerOptions) (*handler, *AESGCM) {
	t.Helper()
	c, err := New("k1", testKey)
	require.NoError(t, err)
	if o.Token == "" {
		o.Token = serverToken
	}
	if o.AllowedOrigins == nil {
		o.AllowedOrigins = []string{uiOrigin}
	}
	h, err := NewHandler(c, o)
	require.NoError(t, err)
	return h.(*handler), c
}

// payloadsJSON is a Payloads message as the UI and the CLI send it.
func payloadsJSON(t *testing.T, ps ...*commonpb.Payload) string {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	require.NoError(t, err)
	return string(b)
}

func sealed(t *testing.T, c *AESGCM) *commonpb.Payload {
	t.Helper()
	p, err := DataConverter(c).ToPayload(secretInput)
	require.NoError(t, err)
	require.Equal(t, MetadataEncoding, string(p.Metadata["encoding"]))
	return p
}

func post(h http.Handler, path, body string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decodeResponse(t *testing.T, w *httptest.ResponseRecorder) []*commonpb.Payload {
	t.Helper()
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(w.Body.Bytes(), &out), w.Body.String())
	return out.Payloads
}

// What a worker sealed, the server opens for a client with the token; what
// the server seals (the UI encodes a signal's input, say), the worker opens.
func TestServerDecodesAndEncodesWithTheWorkersCodec(t *testing.T) {
	h, c := newTestServer(t, ServerOptions{})
	in := sealed(t, c)

	w := post(h, "/decode", payloadsJSON(t, in), "Authorization", "Bearer "+serverToken, "X-Namespace", "default")
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	out := decodeResponse(t, w)
	require.Len(t, out, 1)
	assert.Equal(t, "json/plain", string(out[0].Metadata["encoding"]))
	var got userData
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out[0], &got))
	assert.Equal(t, secretInput, got)

	plain, err := converter.GetDefaultDataConverter().ToPayload(secretInput)
	require.NoError(t, err)
	// Under a prefix, as behind a proxy or with {namespace} in the endpoint.
	enc := decodeResponse(t, post(h, "/default/encode", payloadsJSON(t, plain), "Authorization", "bearer "+serverToken))
	require.Len(t, enc, 1)
	assert.Equal(t, MetadataEncoding, string(enc[0].Metadata["encoding"]))
	assert.NotContains(t, string(enc[0].Data), "hunter2")
	var back userData
	require.NoError(t, DataConverter(c).FromPayload(enc[0], &back))
	assert.Equal(t, secretInput, back)
}

// A payload sealed under another key ID (before a rotation) is not opened:
// the answer says which key it needs.
func TestServerNamesTheKeyAPayloadNeeds(t *testing.T) {
	h, _ := newTestServer(t, ServerOptions{})
	older, err := New("k0", testKey)
	require.NoError(t, err)
	w := post(h, "/decode", payloadsJSON(t, sealed(t, older)), "Authorization", "Bearer "+serverToken)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Contains(t, w.Body.String(), `payload sealed with key "k0", but this process has key "k1"`)
	assert.NotContains(t, w.Body.String(), "hunter2")
}

func TestServerRefusesWithoutTheToken(t *testing.T) {
	h, c := newTestServer(t, ServerOptions{})
	body := payloadsJSON(t, sealed(t, c))
	for name, header := range map[string][]string{
		"no token":              nil,
		"wrong token":           {"Authorization", "Bearer not-the-token-at-all-no"},
		"the token's prefix":    {"Authorization", "Bearer " + serverToken[:len(serverToken)-1]},
		"token plus a byte":     {"Authorization", "Bearer " + serverToken + "x"},
		"basic auth":            {"Authorization", "Basic " + serverToken},
		"token without scheme":  {"Authorization", serverToken},
		"forged session cookie": {"Cookie", SessionCookie + "=v1.99999999999.AAAA"},
	} {
		w := post(h, "/decode", body, header...)
		assert.Equal(t, http.StatusUnauthorized, w.Code, name)
		assert.Equal(t, `Bearer realm="cloudflow codec server"`, w.Header().Get("WWW-Authenticate"), name)
		assert.NotContains(t, w.Body.String(), "hunter2", name)
		assert.NotContains(t, w.Body.String(), "payloads", name)
	}
	assert.Equal(t, http.StatusUnauthorized, post(h, "/encode", body).Code)
}

func TestServerCORSPreflight(t *testing.T) {
	h, _ := newTestServer(t, ServerOptions{AllowedOrigins: []string{"http://LOCALHOST:8233/", "https://temporal.example.com:443"}})
	preflight := func(origin, method string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodOptions, "/decode", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", method)
		r.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, origin := range []string{uiOrigin, "https://temporal.example.com"} {
		w := preflight(origin, http.MethodPost)
		require.Equal(t, http.StatusNoContent, w.Code, origin)
		assert.Equal(t, origin, w.Header().Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "true", w.Header().Get("Access-Control-Allow-Credentials"))
		assert.Equal(t, "POST", w.Header().Get("Access-Control-Allow-Methods"))
		allowHeaders := strings.ToLower(w.Header().Get("Access-Control-Allow-Headers"))
		for _, hdr := range []string{"authorization", "authorization-extras", "content-type", "x-namespace"} {
			assert.Contains(t, allowHeaders, hdr)
		}
		assert.Contains(t, w.Header().Values("Vary"), "Origin")
	}
	for name, w := range map[string]*httptest.ResponseRecorder{
		"another origin":          preflight("http://localhost:3000", http.MethodPost),
		"another scheme":          preflight("https://localhost:8233", http.MethodPost),
		"a look-alike host":       preflight("https://temporal.example.com.evil.test", http.MethodPost),
		"the null origin":         preflight("null", http.MethodPost),
		"an allowed origin's GET": preflight(uiOrigin, http.MethodGet),
	} {
		assert.Equal(t, http.StatusForbidden, w.Code, name)
		assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"), name)
		assert.Empty(t, w.Header().Get("Access-Control-Allow-Credentials"), name)
	}
	// No origins configured: no browser may call.
	closed, _ := newTestServer(t, ServerOptions{AllowedOrigins: []string{}})
	r := httptest.NewRequest(http.MethodOptions, "/decode", nil)
	r.Header.Set("Origin", uiOrigin)
	r.Header.Set("Access-Control-Request-Method", http.MethodPost)
	w := httptest.NewRecorder()
	closed.ServeHTTP(w, r)
	assert.Equal(t, http.StatusForbidden, w.Code)
}

// A request itself (after the preflight) from an allowed origin gets the
// CORS headers; one from another origin is refused even with the token,
// since a browser would send a signed-in user's cookie along.
func TestServerRequestsFromOrigins(t *testing.T) {
	h, c := newTestServer(t, ServerOptions{})
	body := payloadsJSON(t, sealed(t, c))
	w := post(h, "/decode", body, "Origin", uiOrigin, "Authorization", "Bearer "+serverToken)
	decodeResponse(t, w)
	assert.Equal(t, uiOrigin, w.Header().Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", w.Header().Get("Access-Control-Allow-Credentials"))

	w = post(h, "/decode", body, "Origin", "http://localhost:3000", "Authorization", "Bearer "+serverToken)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))
	assert.NotContains(t, w.Body.String(), "hunter2")
}

// countingReader counts what the handler reads of a body.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestServerCapsTheBody(t *testing.T) {
	const limit = 1 << 10
	h, c := newTestServer(t, ServerOptions{MaxRequestBytes: limit})
	fits := payloadsJSON(t, sealed(t, c))
	require.Less(t, len(fits), limit)
	decodeResponse(t, post(h, "/decode", fits, "Authorization", "Bearer "+serverToken))

	big := payloadsJSON(t, &commonpb.Payload{Data: bytes.Repeat([]byte("x"), 4*limit)})
	// Declared too large: refused before reading.
	w := post(h, "/decode", big, "Authorization", "Bearer "+serverToken)
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
	assert.Contains(t, w.Body.String(), "larger than 1 KiB")

	// Streamed without a length: reading stops at the cap.
	body := &countingReader{r: strings.NewReader(big)}
	r := httptest.NewRequest(http.MethodPost, "/decode", body)
	r.ContentLength = -1
	r.Header.Set("Authorization", "Bearer "+serverToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.LessOrEqual(t, body.n, limit+1)

	// Without the token, nothing is read at all.
	body = &countingReader{r: strings.NewReader(big)}
	r = httptest.NewRequest(http.MethodPost, "/decode", body)
	r.ContentLength = -1
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Zero(t, body.n)
}

func TestServerRefusesOtherMethodsAndPaths(t *testing.T) {
	h, _ := newTestServer(t, ServerOptions{})
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/decode", http.StatusMethodNotAllowed},
		{http.MethodPut, "/encode", http.StatusMethodNotAllowed},
		{http.MethodPost, "/download", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusNotFound},
		{http.MethodGet, "/healthz", http.StatusOK},
		{http.MethodPost, "/healthz", http.StatusMethodNotAllowed},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		r.Header.Set("Authorization", "Bearer "+serverToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		assert.Equal(t, tc.status, w.Code, "%s %s", tc.method, tc.path)
	}
}

// The Temporal UI cannot send a token of its own (it passes its user's
// login token, if any), so a browser signs in at /login once and the UI,
// with "include cross-origin credentials", sends the session cookie.
func TestServerBrowserSignIn(t *testing.T) {
	h, c := newTestServer(t, ServerOptions{})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return now }

	get := httptest.NewRecorder()
	h.ServeHTTP(get, httptest.NewRequest(http.MethodGet, "/login", nil))
	require.Equal(t, http.StatusOK, get.Code)
	assert.Contains(t, get.Body.String(), `<form method="post" action="login">`)
	assert.Contains(t, get.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'")

	signIn := func(token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	wrong := signIn("not-the-token-at-all-no")
	assert.Equal(t, http.StatusUnauthorized, wrong.Code)
	assert.Empty(t, wrong.Result().Cookies())
	assert.Contains(t, wrong.Body.String(), "That is not the token")

	ok := signIn(serverToken + "\n")
	require.Equal(t, http.StatusOK, ok.Code)
	cookies := ok.Result().Cookies()
	require.Len(t, cookies, 1)
	cookie := cookies[0]
	assert.Equal(t, SessionCookie, cookie.Name)
	assert.True(t, cookie.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, cookie.SameSite)
	assert.Equal(t, 12*60*60, cookie.MaxAge)
	assert.NotContains(t, cookie.Value, serverToken, "the cookie carries a MAC, not the token")
	assert.NotContains(t, ok.Body.String(), serverToken)

	body := payloadsJSON(t, sealed(t, c))
	fromUI := func() *httptest.ResponseRecorder {
		return post(h, "/decode", body, "Origin", uiOrigin, "Cookie", SessionCookie+"="+cookie.Value,
			// With "pass access token" on, the UI also sends its user's own token.
			"Authorization", "Bearer the-ui-users-oidc-access-token")
	}
	decodeResponse(t, fromUI())

	now = now.Add(12*time.Hour + time.Second)
	assert.Equal(t, http.StatusUnauthorized, fromUI().Code, "an expired session")

	// A session from before the token changed is worthless.
	other, _ := newTestServer(t, ServerOptions{Token: "another-token-of-enough-length"})
	other.now = func() time.Time { return now.Add(-time.Hour) }
	assert.Equal(t, http.StatusUnauthorized, post(other, "/decode", body, "Cookie", SessionCookie+"="+cookie.Value).Code)
	// Nor can its expiry be moved.
	now = now.Add(-time.Hour)
	parts := strings.SplitN(cookie.Value, ".", 3)
	forged := parts[0] + ".99999999999." + parts[2]
	assert.Equal(t, http.StatusUnauthorized, post(h, "/decode", body, "Cookie", SessionCookie+"="+forged).Code)
	decodeResponse(t, post(h, "/decode", body, "Cookie", SessionCookie+"="+cookie.Value))

	// Behind a TLS-terminating proxy the cookie is Secure.
	r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"token": {serverToken}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Forwarded-Proto", "https")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Len(t, w.Result().Cookies(), 1)
	assert.True(t, w.Result().Cookies()[0].Secure)

	big := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader("token="+strings.Repeat("x", 8<<10)))
	big.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
}

// The request log names what was asked and how it went, never the token, a
// session or a payload.
func TestServerLogsNoSecrets(t *testing.T) {
	var logs bytes.Buffer
	h, c := newTestServer(t, ServerOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	in := sealed(t, c)
	decodeResponse(t, post(h, "/decode?t="+serverToken, payloadsJSON(t, in), "Authorization", "Bearer "+serverToken, "X-Namespace", "prod"))
	post(h, "/decode", payloadsJSON(t, in), "Authorization", "Bearer wrong-token-0123456789")
	r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"token": {serverToken}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	session := w.Result().Cookies()[0].Value

	text := logs.String()
	assert.Contains(t, text, "path=/decode status=200 namespace=prod")
	assert.Contains(t, text, "status=401")
	for _, secret := range []string{serverToken, "wrong-token", session, "hunter2", "AAAA-secret-key", string(in.Data)} {
		assert.NotContains(t, text, secret)
	}
}

func TestNewHandlerChecksItsOptions(t *testing.T) {
	c, _ := New("k1", testKey)
	for _, tok := range []string{"", "short", "has a space in the middle", "tab\tin-the-token-here", "non-ascii-tökén-of-length"} {
		_, err := NewHandler(c, ServerOptions{Token: tok})
		require.Error(t, err, "%q", tok)
		if len(tok) > 5 {
			assert.NotContains(t, err.Error(), tok)
		}
	}
	for _, o := range []string{"*", "localhost:8080", "ftp://host", "http://host/path", "http://user@host", "http://", "http://host?x=1"} {
		_, err := NewHandler(c, ServerOptions{Token: serverToken, AllowedOrigins: []string{o}})
		assert.Error(t, err, o)
	}
	_, err := NewHandler(nil, ServerOptions{Token: serverToken})
	assert.Error(t, err)

	for in, want := range map[string]string{
		"http://localhost:8080":          "http://localhost:8080",
		"HTTP://LocalHost:8080/":         "http://localhost:8080",
		"http://temporal.example.com:80": "http://temporal.example.com",
		"https://ui.example.com:443":     "https://ui.example.com",
		"https://ui.example.com:8443":    "https://ui.example.com:8443",
		"http://[::1]:8233":              "http://[::1]:8233",
	} {
		got, err := ParseOrigin(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
}
