package codec

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/cloudflow/cloudflow/internal/input"
)

// EnvServerToken holds the codec server's access token when no token file is
// given.
const EnvServerToken = "CLOUDFLOW_CODEC_TOKEN"

// Limits of the codec server.
const (
	// DefaultMaxRequestBytes caps an /encode or /decode body. Temporal refuses
	// payloads over 2 MB by default; their JSON (base64) form is a third
	// larger, and one request may carry several.
	DefaultMaxRequestBytes = 8 << 20
	// MinTokenLength is the shortest token the server accepts: long enough
	// that guessing it over HTTP is hopeless.
	MinTokenLength = 16
	// SessionCookie is the cookie a browser signed in at /login carries.
	SessionCookie = "cloudflow_codec_session"
	// sessionTTL is how long a browser sign-in lasts.
	sessionTTL = 12 * time.Hour
	// maxLoginBytes caps the sign-in form: one token.
	maxLoginBytes = 4 << 10
)

// corsAllowHeaders are the request headers the Temporal UI sends to a codec
// endpoint: X-Namespace always; Authorization (the user's access token) and
// Authorization-Extras (the ID token) when it passes the access token.
const corsAllowHeaders = "Authorization, Authorization-Extras, Content-Type, X-Namespace"

// ServerOptions configure NewHandler.
type ServerOptions struct {
	// Token is the secret a client presents, as "Authorization: Bearer
	// <token>" (the Temporal CLI's --codec-auth) or, in a browser, by signing
	// in at /login once. Required, at least MinTokenLength visible ASCII
	// characters.
	Token string
	// AllowedOrigins are the web origins (scheme://host[:port]) whose pages
	// may call the server: the Temporal UI's. None: no browser may.
	AllowedOrigins []string
	// MaxRequestBytes caps a request body (DefaultMaxRequestBytes when 0).
	MaxRequestBytes int64
	// Logger, when set, gets one record per request: method, path, status,
	// namespace, origin, size and duration. Never a token, a cookie or a
	// payload.
	Logger *slog.Logger
}

// NewHandler serves c over Temporal's remote codec protocol, as the Temporal
// UI and CLI call it (`temporal --codec-endpoint`): POST <prefix>/encode and
// <prefix>/decode with a Payloads message in protobuf JSON. The SDK's handler
// does the codec work; this one adds what a server needs around it:
//
//   - a bearer token (compared in constant time) or a browser session from
//     /login, without which /encode and /decode answer 401;
//   - CORS for the allowed origins only, preflight included, with
//     credentials, so the UI's "include cross-origin credentials" setting
//     carries the session cookie; a request from any other origin is refused;
//   - a cap on request bodies (413 over it);
//   - GET /healthz, without auth, for probes.
func NewHandler(c converter.PayloadCodec, o ServerOptions) (http.Handler, error) {
	if c == nil {
		return nil, errors.New("codec server: no codec")
	}
	if err := CheckToken(o.Token); err != nil {
		return nil, err
	}
	origins := make(map[string]bool, len(o.AllowedOrigins))
	for _, s := range o.AllowedOrigins {
		origin, err := ParseOrigin(s)
		if err != nil {
			return nil, err
		}
		origins[origin] = true
	}
	limit := o.MaxRequestBytes
	if limit <= 0 {
		limit = DefaultMaxRequestBytes
	}
	tokenSum := sha256.Sum256([]byte(o.Token))
	return &handler{
		codec:    converter.NewPayloadCodecHTTPHandler(c),
		token:    []byte(o.Token),
		tokenSum: tokenSum[:],
		origins:  origins,
		limit:    limit,
		log:      o.Logger,
		now:      time.Now,
	}, nil
}

// CheckToken says why tok cannot be the server's token, or nil.
func CheckToken(tok string) error {
	if len(tok) < MinTokenLength {
		return fmt.Errorf("the codec server's token is %d characters; it needs at least %d (make one with `openssl rand -base64 32`)", len(tok), MinTokenLength)
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' {
			// Never echo the token, nor a piece of it.
			return fmt.Errorf("the codec server's token has a character other than visible ASCII at offset %d", i)
		}
	}
	return nil
}

// ParseOrigin checks that s is a web origin, http(s)://host[:port] with
// nothing after it, and returns it as browsers send it in Origin headers:
// lower case, without a default port or a trailing slash.
func ParseOrigin(s string) (string, error) {
	bad := func(why string) error {
		return fmt.Errorf("%q is not a web origin (%s); want scheme://host[:port], e.g. http://localhost:8080", s, why)
	}
	if s == "*" {
		return "", bad("any origin would let every web page a signed-in user visits decode payloads")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", bad(err.Error())
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", bad("the scheme must be http or https")
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", bad("only a scheme, a host and a port")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

type handler struct {
	codec    http.Handler // the SDK's codec handler
	token    []byte
	tokenSum []byte // SHA-256 of token: compared, so the token's length does not leak
	origins  map[string]bool
	limit    int64
	log      *slog.Logger
	now      func() time.Time
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	h.serve(rec, r)
	if h.log != nil {
		// The path, not the URL: nothing in a query string is logged.
		h.log.Info("codec request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"namespace", r.Header.Get("X-Namespace"), "origin", r.Header.Get("Origin"),
			"request_bytes", r.ContentLength, "response_bytes", rec.written, "duration", h.now().Sub(start))
	}
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	allowed := origin != "" && h.origins[origin]
	w.Header().Add("Vary", "Origin")
	if allowed {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}
	// The protocol looks only at the last part of the path, so the server can
	// sit under any prefix (a reverse proxy's /codec/, a namespace's /ns/).
	switch endpoint := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]; endpoint {
	case "encode", "decode":
		if r.Method == http.MethodOptions {
			h.preflight(w, r, allowed)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST, OPTIONS")
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		if origin != "" && !allowed {
			// A page of another origin: its browser sends the session cookie
			// along (SameSite cannot tell sibling ports apart). Refused before
			// anything is decoded.
			http.Error(w, "origin not allowed: start the codec server with --cors-origin "+origin+" to let that page call it", http.StatusForbidden)
			return
		}
		if !h.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="cloudflow codec server"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <token>, or sign in at /login in this browser", http.StatusUnauthorized)
			return
		}
		h.convert(w, r)
	case "login":
		h.login(w, r)
	case "healthz":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "use GET", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	default:
		http.NotFound(w, r)
	}
}

// preflight answers a browser's CORS preflight: for an allowed origin asking
// to POST, with the headers the UI sends; for anyone else, 403 without CORS
// headers, so the browser never sends the request.
func (h *handler) preflight(w http.ResponseWriter, r *http.Request, allowed bool) {
	w.Header().Add("Vary", "Access-Control-Request-Method")
	w.Header().Add("Vary", "Access-Control-Request-Headers")
	if !allowed || r.Header.Get("Access-Control-Request-Method") != http.MethodPost {
		w.Header().Del("Access-Control-Allow-Origin")
		w.Header().Del("Access-Control-Allow-Credentials")
		http.Error(w, "CORS preflight refused: only POST from an origin given with --cors-origin", http.StatusForbidden)
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", corsAllowHeaders)
	w.Header().Set("Access-Control-Max-Age", "600")
	if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
		// A UI on a public address calling a codec server on a private one.
		w.Header().Set("Access-Control-Allow-Private-Network", "true")
	}
	w.WriteHeader(http.StatusNoContent)
}

// convert reads the body, at most h.limit bytes, and hands it to the SDK's
// handler.
func (h *handler) convert(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > h.limit {
		http.Error(w, fmt.Sprintf("request body is larger than %s", input.Size(h.limit)), http.StatusRequestEntityTooLarge)
		return
	}
	body, err := input.ReadAll(r.Body, "the request body", h.limit)
	switch {
	case input.IsTooLarge(err):
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, "reading the request body: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	// Decoded payloads are the secrets the codec protects: no cache keeps them.
	w.Header().Set("Cache-Control", "no-store")
	h.codec.ServeHTTP(w, r)
}

// authorized says whether r carries the token as a bearer token or a valid
// session cookie. The UI may send its user's own access token as the bearer
// token and the cookie beside it, so either one is enough.
func (h *handler) authorized(r *http.Request) bool {
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") && h.isToken(strings.TrimSpace(tok)) {
		return true
	}
	c, err := r.Cookie(SessionCookie)
	return err == nil && h.validSession(c.Value)
}

func (h *handler) isToken(s string) bool {
	sum := sha256.Sum256([]byte(s))
	return subtle.ConstantTimeCompare(sum[:], h.tokenSum) == 1
}

// session returns a session value that expires at exp: the expiry and a MAC
// of it under the token, so it is worthless once the token changes.
func (h *handler) session(exp time.Time) string {
	e := strconv.FormatInt(exp.Unix(), 10)
	return "v1." + e + "." + h.sessionMAC(e)
}

func (h *handler) sessionMAC(exp string) string {
	m := hmac.New(sha256.New, h.token)
	_, _ = io.WriteString(m, "cloudflow codec-server session v1\x00"+exp)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (h *handler) validSession(v string) bool {
	version, rest, ok := strings.Cut(v, ".")
	if !ok || version != "v1" {
		return false
	}
	exp, mac, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !h.now().Before(time.Unix(unix, 0)) {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(h.sessionMAC(exp)))
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cloudflow codec server</title></head>
<body>
<h1>cloudflow codec server</h1>
{{if .SignedIn}}<p>Signed in until {{.Until}}. Temporal UI pages of an allowed origin can now decode payloads in this browser,
with the UI's codec setting "Include cross-origin credentials" on.</p>
{{else}}{{if .Wrong}}<p><strong>That is not the token.</strong></p>{{end}}
<p>Paste the codec server's token to let this browser's Temporal UI decode payloads.</p>
<form method="post" action="login">
<input type="password" name="token" autocomplete="off" required autofocus>
<button type="submit">Sign in</button>
</form>{{end}}
</body></html>
`))

type loginData struct {
	SignedIn bool
	Until    string
	Wrong    bool
}

// login serves the sign-in form (GET) and takes the token from it (POST),
// answering with a session cookie: the Temporal UI cannot send a token of
// its own, but with "include cross-origin credentials" its browser sends
// this cookie.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		_ = loginPage.Execute(w, loginData{})
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "use GET or POST", http.StatusMethodNotAllowed)
		return
	}
	r.Body = io.NopCloser(input.Limit(r.Body, "the sign-in form", maxLoginBytes))
	if err := r.ParseForm(); err != nil {
		status := http.StatusBadRequest
		if input.IsTooLarge(err) {
			status = http.StatusRequestEntityTooLarge
		}
		http.Error(w, "reading the sign-in form: "+err.Error(), status)
		return
	}
	if !h.isToken(strings.TrimSpace(r.PostForm.Get("token"))) {
		w.WriteHeader(http.StatusUnauthorized)
		_ = loginPage.Execute(w, loginData{Wrong: true})
		return
	}
	exp := h.now().Add(sessionTTL)
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    h.session(exp),
		Path:     "/",
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		// Sent on the UI's requests when the UI is same-site with the
		// server (localhost:8080 and localhost:8888 are), never on another
		// site's.
		SameSite: http.SameSiteStrictMode,
		Secure:   r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"),
	})
	_ = loginPage.Execute(w, loginData{SignedIn: true, Until: exp.UTC().Format(time.RFC1123)})
}

// recorder notes the status and size of a response, for the log.
type recorder struct {
	http.ResponseWriter
	status  int
	written int64
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(p []byte) (int, error) {
	n, err := r.ResponseWriter.Write(p)
	r.written += int64(n)
	return n, err
}
