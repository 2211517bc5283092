package spec

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
)

// sshKeyTypes are the OpenSSH public key types a VM accepts; any
// ecdsa-sha2-<curve> is accepted too.
var sshKeyTypes = []string{
	"ssh-rsa",
	"ssh-ed25519",
	"sk-ssh-ed25519@openssh.com",
	"sk-ecdsa-sha2-nistp256@openssh.com",
}

// checkSSHKey says what is wrong with an OpenSSH public key line
// ("<type> <base64> [comment]"), how to fix it, and whether the value may be
// echoed in the message (never for something that looks like a private key).
func checkSSHKey(key string) (problem, fix string, echo bool) {
	const fixPub = "paste the one line of your .pub file, e.g. ssh-ed25519 AAAAC3Nz... you@host"
	if strings.Contains(key, "PRIVATE KEY") {
		return "is a private key", "never share it: use the public key, the .pub file next to it", false
	}
	if strings.ContainsAny(key, "\r\n") {
		return "holds more than one line", "give exactly one public key", true
	}
	fields := strings.Fields(key)
	if len(fields) < 2 {
		return "is not an OpenSSH public key", fixPub, true
	}
	typ := fields[0]
	if !knownKeyType(typ) {
		return "is not an OpenSSH public key: unknown key type " + quote(typ), "use an ssh-ed25519, ssh-rsa or ecdsa-sha2-* key", true
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		blob, err = base64.RawStdEncoding.DecodeString(fields[1])
	}
	if err != nil {
		return "is not an OpenSSH public key: its body is not base64", fixPub, true
	}
	// The body starts with the key type again, as a length-prefixed string.
	if len(blob) < 4 {
		return "is not an OpenSSH public key: its body is too short", fixPub, true
	}
	n := binary.BigEndian.Uint32(blob)
	if uint64(n) > uint64(len(blob)-4) || string(blob[4:4+n]) != typ {
		return "is not an OpenSSH public key: its body does not match the type " + quote(typ), "copy the key again, whole and unchanged", true
	}
	return "", "", true
}

func knownKeyType(t string) bool {
	if strings.HasPrefix(t, "ecdsa-sha2-") && len(t) > len("ecdsa-sha2-") {
		return true
	}
	for _, k := range sshKeyTypes {
		if t == k {
			return true
		}
	}
	return false
}

func quote(s string) string { return `"` + shorten(s) + `"` }
