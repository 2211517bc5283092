package crusoe

import (
	"net/url"
	"testing"
)

// The vector was computed independently with Python's hmac/base64 modules from
// the algorithm in shared/apis/NOTES.md, so it checks this code against the
// specification rather than against itself.
func TestSignKnownVector(t *testing.T) {
	const (
		secret = "qVB8XnLwz0ZqC7hM4G2lAA" // 16 bytes, base64url without padding
		path   = "/v1alpha5/projects/ab4a6b00-aa5f-408e-a9fb-ac6de5eb45ab/compute/vms/instances"
		ts     = "2024-01-02T15:04:05Z"
	)
	q := url.Values{"names": {"my vm"}, "limit": {"20"}}
	wantMsg := path + "\nlimit=20&names=my+vm\nGET\n" + ts + "\n"
	if got := SignatureMessage(path, q, "get", ts); got != wantMsg {
		t.Fatalf("message = %q, want %q", got, wantMsg)
	}
	sig, err := Sign(secret, path, q, "GET", ts)
	if err != nil {
		t.Fatal(err)
	}
	if sig != knownSignature {
		t.Fatalf("signature = %s, want %s", sig, knownSignature)
	}
	if got := AuthorizationValue("AKID", sig); got != "Bearer 1.0:AKID:"+knownSignature {
		t.Fatalf("authorization = %s", got)
	}
	id, s, err := ParseAuthorization("Bearer 1.0:AKID:" + sig)
	if err != nil || id != "AKID" || s != sig {
		t.Fatalf("ParseAuthorization = %q %q %v", id, s, err)
	}
}

func TestSignRejectsBadSecret(t *testing.T) {
	if _, err := Sign("not base64!!", "/x", nil, "GET", "t"); err == nil {
		t.Fatal("want an error for a secret that is not base64url")
	}
}

func TestCanonicalQueryEmpty(t *testing.T) {
	if got := CanonicalQuery(nil); got != "" {
		t.Fatalf("CanonicalQuery(nil) = %q", got)
	}
}

const knownSignature = "z2FSZmzb0yCsGDSLoDS6c86neD4i0lZUZE48DZf2UmI"
