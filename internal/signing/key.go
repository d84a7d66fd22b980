package signing

import (
	"crypto/hmac"
	"crypto/sha256"
)

// derivationLabel separates the signing key from the API key itself.
const derivationLabel = "alter-signing-v1"

// Key is the signing key derived from an API key. Deriving it once per client keeps the
// per-request cost to one HMAC.
type Key [sha256.Size]byte

// DeriveKey returns HMAC-SHA256(key = apiKey, message = "alter-signing-v1"), the key every
// request signature of that API key is made with.
func DeriveKey(apiKey string) Key {
	m := hmac.New(sha256.New, []byte(apiKey))
	m.Write([]byte(derivationLabel))
	var k Key
	m.Sum(k[:0])
	return k
}
