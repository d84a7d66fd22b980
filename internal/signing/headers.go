package signing

import (
	"net/http"
	"time"
)

// Header names as alter-sdk 0.29.0 spells them on the wire. [http.Header] lookups canonicalise
// them, so they can be used with Get and Set directly.
const (
	HeaderAPIKey           = "x-api-key"
	HeaderTimestamp        = "X-Alter-Timestamp"
	HeaderNonce            = "X-Alter-Nonce"
	HeaderContentSHA256    = "X-Alter-Content-SHA256"
	HeaderSignature        = "X-Alter-Signature"
	HeaderSignatureV2      = "X-Alter-Signature-V2"
	HeaderCaller           = "X-Alter-Caller"
	HeaderCallerType       = "X-Alter-Caller-Type"
	HeaderActorID          = "X-Alter-Actor-ID"
	HeaderContext          = "X-Alter-Context"
	HeaderScopeConstraints = "X-Alter-Scope-Constraints"
	HeaderRequestRule      = "X-Alter-Request-Rule"
)

// DefaultWindow is the timestamp acceptance window vaulttest uses. The real vault's window is
// not published; five minutes is the usual choice for signed requests without clock discovery.
const DefaultWindow = 5 * time.Minute

// Canonical map keys, computed once so that hot paths index the header map directly.
var (
	keyTimestamp        = http.CanonicalHeaderKey(HeaderTimestamp)
	keyNonce            = http.CanonicalHeaderKey(HeaderNonce)
	keyContentSHA256    = http.CanonicalHeaderKey(HeaderContentSHA256)
	keySignature        = http.CanonicalHeaderKey(HeaderSignature)
	keySignatureV2      = http.CanonicalHeaderKey(HeaderSignatureV2)
	keyCaller           = http.CanonicalHeaderKey(HeaderCaller)
	keyCallerType       = http.CanonicalHeaderKey(HeaderCallerType)
	keyActorID          = http.CanonicalHeaderKey(HeaderActorID)
	keyContext          = http.CanonicalHeaderKey(HeaderContext)
	keyScopeConstraints = http.CanonicalHeaderKey(HeaderScopeConstraints)
	keyRequestRule      = http.CanonicalHeaderKey(HeaderRequestRule)
)

// first returns the first value of a canonical key, or "" (what Header.Get does, without
// canonicalising the key again).
func first(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
