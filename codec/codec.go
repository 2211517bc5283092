// Package codec encrypts workflow payloads, so that user data in inputs and
// results (SSH keys, startup scripts) and failures (the clouds' error text,
// partial results) is unreadable in Temporal's history and to anyone who can
// read the server's database.
//
// Credentials never travel in payloads at all (workers read them from their
// environment); the codec is for the rest. It is off unless a key is set, and
// then every client and worker of a namespace must share the key.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"
)

// Environment variables that turn the codec on.
const (
	// EnvKey holds the key: 32 random bytes, base64 (standard or URL alphabet),
	// e.g. from `openssl rand -base64 32`.
	EnvKey = "CLOUDFLOW_PAYLOAD_KEY"
	// EnvKeyID names the key (default "default"); it is stored with every
	// payload, so keys can be rotated by adding a new one under a new ID.
	EnvKeyID = "CLOUDFLOW_PAYLOAD_KEY_ID"
)

// Payload metadata written by the codec.
const (
	MetadataEncoding    = "binary/encrypted"
	metadataEncodingKey = "encoding"
	metadataKeyID       = "encryption-key-id"
)

// AESGCM is a converter.PayloadCodec that seals each payload, metadata
// included, with AES-256-GCM under a random nonce.
type AESGCM struct {
	keyID string
	aead  cipher.AEAD
}

var _ converter.PayloadCodec = (*AESGCM)(nil)

// New returns a codec for a 32-byte key.
func New(keyID string, key []byte) (*AESGCM, error) {
	if keyID == "" {
		return nil, errors.New("codec: the key ID is empty")
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("codec: the key is %d bytes; it must be 32 (AES-256)", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("codec: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("codec: %w", err)
	}
	return &AESGCM{keyID: keyID, aead: aead}, nil
}

// KeyID names the key c seals with; it is stored with every payload.
func (c *AESGCM) KeyID() string { return c.keyID }

// FromEnv returns the codec the environment configures, or nil when
// CLOUDFLOW_PAYLOAD_KEY is unset. getenv is os.Getenv outside tests.
func FromEnv(getenv func(string) string) (*AESGCM, error) {
	raw := strings.TrimSpace(getenv(EnvKey))
	if raw == "" {
		return nil, nil
	}
	key, err := decodeKey(raw)
	if err != nil {
		// Never echo the value: it is a secret.
		return nil, fmt.Errorf("%s is not base64 of 32 bytes; make one with `openssl rand -base64 32`", EnvKey)
	}
	id := getenv(EnvKeyID)
	if id == "" {
		id = "default"
	}
	return New(id, key)
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("not a 32-byte base64 key")
}

// Encode seals every payload.
func (c *AESGCM) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		nonce := make([]byte, c.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				metadataEncodingKey: []byte(MetadataEncoding),
				metadataKeyID:       []byte(c.keyID),
			},
			// The key ID is authenticated too, so it cannot be swapped.
			Data: c.aead.Seal(nonce, nonce, plain, []byte(c.keyID)),
		}
	}
	return out, nil
}

// Decode opens payloads this codec sealed and passes others through, so
// histories written before the codec was turned on still read.
func (c *AESGCM) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[metadataEncodingKey]) != MetadataEncoding {
			out[i] = p
			continue
		}
		keyID := string(p.GetMetadata()[metadataKeyID])
		if keyID != c.keyID {
			return nil, fmt.Errorf("codec: payload sealed with key %q, but this process has key %q", keyID, c.keyID)
		}
		data := p.GetData()
		n := c.aead.NonceSize()
		if len(data) < n {
			return nil, errors.New("codec: sealed payload is truncated")
		}
		plain, err := c.aead.Open(nil, data[:n], data[n:], []byte(keyID))
		if err != nil {
			return nil, errors.New("codec: sealed payload does not open with this key (wrong key or tampered data)")
		}
		var decoded commonpb.Payload
		if err := proto.Unmarshal(plain, &decoded); err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		out[i] = &decoded
	}
	return out, nil
}

// DataConverter wraps the SDK's default converter with c.
func DataConverter(c converter.PayloadCodec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter is the SDK's failure converter over dc, with every
// failure's message and stack trace moved into a payload of dc
// (EncodeCommonAttributes). The SDK's default failure converter writes
// failures with the plain default data converter: a failed run's message
// (the cloud's error text) and its details (the partial result, with names
// and IDs) would stay readable in history with the codec on.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}

// Apply turns c on in client options, for a client and the workers built on
// it: payloads through DataConverter and failures through FailureConverter.
// A converter the options already have is kept; a nil c changes nothing.
func Apply(co *client.Options, c converter.PayloadCodec) {
	if c == nil {
		return
	}
	if co.DataConverter == nil {
		co.DataConverter = DataConverter(c)
	}
	if co.FailureConverter == nil {
		co.FailureConverter = FailureConverter(co.DataConverter)
	}
}
