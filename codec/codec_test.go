package codec

import (
	"bytes"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

var testKey = bytes.Repeat([]byte{7}, 32)

func TestRoundTripThroughTheDataConverter(t *testing.T) {
	c, err := New("k1", testKey)
	if err != nil {
		t.Fatal(err)
	}
	dc := DataConverter(c)
	type input struct{ SSHPublicKey, StartupScript string }
	in := input{"ssh-ed25519 AAAA-secret-key", "export TOKEN=hunter2"}
	p, err := dc.ToPayload(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Metadata["encoding"]) != MetadataEncoding || string(p.Metadata["encryption-key-id"]) != "k1" {
		t.Fatalf("metadata = %v", p.Metadata)
	}
	if bytes.Contains(p.Data, []byte("hunter2")) || bytes.Contains(p.Data, []byte("AAAA-secret-key")) {
		t.Fatal("the sealed payload shows the plaintext")
	}
	var out input
	if err := dc.FromPayload(p, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("round trip = %+v", out)
	}
}

func TestEncodeUsesAFreshNonce(t *testing.T) {
	c, _ := New("k1", testKey)
	p := &commonpb.Payload{Data: []byte("same")}
	a, _ := c.Encode([]*commonpb.Payload{p})
	b, _ := c.Encode([]*commonpb.Payload{p})
	if bytes.Equal(a[0].Data, b[0].Data) {
		t.Fatal("two encodings of one payload are identical: the nonce is reused")
	}
}

func TestDecodeRefusesWrongKeyTamperingAndForeignKeyIDs(t *testing.T) {
	c, _ := New("k1", testKey)
	sealed, err := c.Encode([]*commonpb.Payload{{Data: []byte("x")}})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := New("k1", bytes.Repeat([]byte{8}, 32))
	if _, err := other.Decode(sealed); err == nil {
		t.Error("a different key opened the payload")
	}
	tampered := &commonpb.Payload{Metadata: sealed[0].Metadata, Data: append([]byte(nil), sealed[0].Data...)}
	tampered.Data[len(tampered.Data)-1] ^= 1
	if _, err := c.Decode([]*commonpb.Payload{tampered}); err == nil {
		t.Error("a tampered payload opened")
	}
	rotated, _ := New("k2", testKey)
	if _, err := rotated.Decode(sealed); err == nil || !strings.Contains(err.Error(), `key "k1"`) {
		t.Errorf("decode with another key ID: %v", err)
	}
}

func TestDecodePassesPlainPayloadsThrough(t *testing.T) {
	c, _ := New("k1", testKey)
	plain, _ := converter.GetDefaultDataConverter().ToPayload("hello")
	out, err := c.Decode([]*commonpb.Payload{plain})
	if err != nil || out[0] != plain {
		t.Fatalf("Decode(plain) = %v, %v", out, err)
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if c, err := FromEnv(env(nil)); c != nil || err != nil {
		t.Fatalf("unset: %v %v", c, err)
	}
	c, err := FromEnv(env(map[string]string{EnvKey: "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="}))
	if err != nil || c == nil || c.keyID != "default" {
		t.Fatalf("std base64: %v %v", c, err)
	}
	_, err = FromEnv(env(map[string]string{EnvKey: "c2hvcnQ-secret"}))
	if err == nil || strings.Contains(err.Error(), "c2hvcnQ-secret") {
		t.Fatalf("a bad key must fail without echoing it: %v", err)
	}
	if _, err := New("", testKey); err == nil {
		t.Error("empty key ID accepted")
	}
}
