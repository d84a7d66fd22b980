package identity

import (
	"crypto/ecdsa"
	"encoding/json"
	"slices"

	"github.com/MicahParks/jwkset"
)

// trustedKey is what a key set holds under one kid: how many keys claim it (a verifier must
// not choose between two), and the public key when the one key is a usable ES256 key.
type trustedKey struct {
	count int
	pub   *ecdsa.PublicKey
}

// parseKeys indexes a JWK Set by kid. Entries that are not objects or have no string kid can
// never match a token and are skipped.
func parseKeys(raw []json.RawMessage) map[string]trustedKey {
	keys := make(map[string]trustedKey, len(raw))
	for _, r := range raw {
		var members map[string]json.RawMessage
		if json.Unmarshal(r, &members) != nil || members == nil {
			continue
		}
		var kid string
		if json.Unmarshal(members["kid"], &kid) != nil {
			continue
		}
		k := keys[kid]
		k.count++
		k.pub = nil
		if k.count == 1 {
			k.pub = es256Key(r, members)
		}
		keys[kid] = k
	}
	return keys
}

// es256Key returns the P-256 public key of a JWK fit to verify ES256 signatures, or nil: kty EC,
// crv P-256, alg ES256 and use sig when present, key_ops with verify when present, and no
// private member d (a set holding a private key is misconfigured and fails closed). jwkset
// decodes the point and checks it is on the curve.
func es256Key(raw json.RawMessage, m map[string]json.RawMessage) *ecdsa.PublicKey {
	optional := func(name, want string) bool {
		v, ok := m[name]
		return !ok || jsonString(v) == want
	}
	if jsonString(m["kty"]) != "EC" || jsonString(m["crv"]) != "P-256" || !optional("alg", "ES256") || !optional("use", "sig") {
		return nil
	}
	if _, private := m["d"]; private {
		return nil
	}
	if ops, ok := m["key_ops"]; ok && string(ops) != "null" {
		var list []any
		if json.Unmarshal(ops, &list) != nil || !slices.Contains(list, any("verify")) {
			return nil
		}
	}
	jwk, err := jwkset.NewJWKFromRawJSON(raw, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		return nil
	}
	pub, _ := jwk.Key().(*ecdsa.PublicKey)
	return pub
}
