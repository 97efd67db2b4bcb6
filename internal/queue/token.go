package queue

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
)

// A lease token is base64url (no padding) of: a version byte, this node's
// incarnation (a random uint64 drawn at start, so that a token from before
// a restart names nothing after it), the member's and the lease's numbers
// as uvarints, and the node's name; then the first macBytes of the
// HMAC-SHA256, under the secret, of the group and all that. Any node of
// the cluster verifies a token and reads its owner; only the owner knows
// what its numbers name.
const (
	tokenVersion = 1
	macBytes     = 16
	// maxTokenBytes bounds a token as sent, well above what New makes.
	maxTokenBytes = 512
)

// ticket is what a token names.
type ticket struct {
	node        string
	incarnation uint64
	member      uint64
	lease       uint64
}

// sign returns the token of t for group.
func sign(secret []byte, group string, t ticket) string {
	b := make([]byte, 0, 1+8+2*binary.MaxVarintLen64+len(t.node)+macBytes)
	b = append(b, tokenVersion)
	b = binary.BigEndian.AppendUint64(b, t.incarnation)
	b = binary.AppendUvarint(b, t.member)
	b = binary.AppendUvarint(b, t.lease)
	b = append(b, t.node...)
	b = append(b, mac(secret, group, b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// verify returns the ticket of token, if it is a token of group signed
// with secret.
func verify(secret []byte, group, token string) (ticket, bool) {
	if len(token) > maxTokenBytes {
		return ticket{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 1+8+2+macBytes || b[0] != tokenVersion {
		return ticket{}, false
	}
	body, sum := b[:len(b)-macBytes], b[len(b)-macBytes:]
	if !hmac.Equal(sum, mac(secret, group, body)) {
		return ticket{}, false
	}
	t := ticket{incarnation: binary.BigEndian.Uint64(body[1:9])}
	rest := body[9:]
	var n int
	if t.member, n = binary.Uvarint(rest); n <= 0 {
		return ticket{}, false
	}
	rest = rest[n:]
	if t.lease, n = binary.Uvarint(rest); n <= 0 {
		return ticket{}, false
	}
	t.node = string(rest[n:])
	return t, t.node != ""
}

// mac is the signature of a token's body for group.
func mac(secret []byte, group string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("krest lease\n"))
	m.Write(binary.AppendUvarint(nil, uint64(len(group))))
	m.Write([]byte(group))
	m.Write(body)
	return m.Sum(nil)[:macBytes]
}
