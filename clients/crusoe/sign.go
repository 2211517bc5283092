package crusoe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// SignatureVersion is the version prefix of the Authorization header value.
const SignatureVersion = "1.0"

// Header names used by the request signature.
const (
	HeaderTimestamp     = "X-Crusoe-Timestamp"
	HeaderAuthorization = "Authorization"
)

// TimestampFormat is the layout of the X-Crusoe-Timestamp header (UTC, RFC 3339, seconds).
const TimestampFormat = "2006-01-02T15:04:05Z"

// CanonicalQuery returns the query string in the form the signature covers:
// keys sorted, keys and values escaped with url.QueryEscape, joined with '&'.
// Repeated keys keep the order of their values.
func CanonicalQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	return b.String()
}

// SignatureMessage is the exact byte string that is signed for a request. The
// body is not signed; httpPath is the full path, including the /v1alpha5 prefix.
func SignatureMessage(httpPath string, query url.Values, method string, timestamp string) string {
	return httpPath + "\n" + CanonicalQuery(query) + "\n" + strings.ToUpper(method) + "\n" + timestamp + "\n"
}

// Sign computes the request signature: base64url (no padding) of
// HMAC-SHA256 keyed with the secret key, itself base64url (no padding) encoded.
func Sign(secretKey, httpPath string, query url.Values, method, timestamp string) (string, error) {
	key, err := decodeSecret(secretKey)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(SignatureMessage(httpPath, query, method, timestamp)))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// AuthorizationValue is the value of the Authorization header for a signature.
func AuthorizationValue(accessKeyID, signature string) string {
	return "Bearer " + SignatureVersion + ":" + accessKeyID + ":" + signature
}

// ParseAuthorization splits an Authorization header value into the access key
// ID and the signature. It is used by servers (the simulator) that verify requests.
func ParseAuthorization(v string) (accessKeyID, signature string, err error) {
	rest, ok := strings.CutPrefix(v, "Bearer ")
	if !ok {
		return "", "", fmt.Errorf("authorization is not a bearer value")
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 || parts[0] != SignatureVersion || parts[1] == "" || parts[2] == "" {
		return "", "", fmt.Errorf("authorization is not of the form Bearer %s:<access_key_id>:<signature>", SignatureVersion)
	}
	return parts[1], parts[2], nil
}

// FormatTimestamp renders t as the X-Crusoe-Timestamp header expects.
func FormatTimestamp(t time.Time) string { return t.UTC().Format(TimestampFormat) }

func decodeSecret(secretKey string) ([]byte, error) {
	// Keys are issued as base64url without padding; tolerate padded copies.
	key, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(secretKey, "="))
	if err != nil {
		return nil, fmt.Errorf("crusoe: secret key is not base64url: %w", err)
	}
	return key, nil
}
