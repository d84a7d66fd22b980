package signing

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// emptyBodyHash is the content hash of a request without a body.
const emptyBodyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// NewNonce returns 16 bytes from crypto/rand as 32 lower-case hex characters.
func NewNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// Sign signs r for the exact body bytes that will be sent, with the current time truncated to
// seconds and a fresh nonce. See [SignWith].
func Sign(r *http.Request, key Key, body []byte, now time.Time, basePath string) {
	SignWith(r, key, body, now, NewNonce(), basePath)
}

// SignWith sets X-Alter-Timestamp, X-Alter-Nonce, X-Alter-Content-SHA256 and X-Alter-Signature
// on r. When r carries any identity header (X-Alter-Caller, -Caller-Type, -Actor-ID, -Context)
// both X-Alter-Signature and X-Alter-Signature-V2 carry the V2 signature; otherwise only
// X-Alter-Signature is set, with the legacy one, and a stale V2 header is removed.
//
// The identity and attenuation headers are read from r as already set. The signed path is
// r.URL.RequestURI() with basePath (the escaped path of the base URL, "" at the host root; a
// trailing '/' ignored) removed, because the vault verifies the path below its own root.
// Signing is deterministic in its inputs, so tests can pin timestamp and nonce.
func SignWith(r *http.Request, key Key, body []byte, timestamp time.Time, nonce, basePath string) {
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	f := headerFields(r.Header)
	f.Method = r.Method
	f.Path = CanonicalPath(stripBase(r.URL.RequestURI(), basePath))
	f.Timestamp = strconv.FormatInt(timestamp.Unix(), 10)
	f.Nonce = nonce
	f.ContentSHA256 = contentHash(body)

	h := r.Header
	h[keyTimestamp] = []string{f.Timestamp}
	h[keyNonce] = []string{f.Nonce}
	h[keyContentSHA256] = []string{f.ContentSHA256}
	if f.hasIdentity() {
		sig := mac(key, f.appendV2(make([]byte, 0, f.len(true))))
		h[keySignature] = []string{sig}
		h[keySignatureV2] = []string{sig}
		return
	}
	h[keySignature] = []string{mac(key, f.appendLegacy(make([]byte, 0, f.len(false))))}
	delete(h, keySignatureV2)
}

// headerFields reads the attenuation and identity fields from h.
func headerFields(h http.Header) Fields {
	return Fields{
		ScopeConstraints: first(h, keyScopeConstraints),
		RequestRule:      first(h, keyRequestRule),
		Caller:           first(h, keyCaller),
		CallerType:       first(h, keyCallerType),
		ActorID:          first(h, keyActorID),
		Context:          first(h, keyContext),
	}
}

// stripBase removes the base URL's path from a request target when the target lies below it.
func stripBase(target, basePath string) string {
	basePath = strings.TrimSuffix(basePath, "/")
	if basePath == "" {
		return target
	}
	rest, ok := strings.CutPrefix(target, basePath)
	if !ok || (rest != "" && rest[0] != '/' && rest[0] != '?') {
		return target
	}
	if rest == "" || rest[0] == '?' {
		return "/" + rest
	}
	return rest
}

func contentHash(body []byte) string {
	if len(body) == 0 {
		return emptyBodyHash
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// mac returns the lower-case hex HMAC-SHA256 of msg under key.
func mac(key Key, msg []byte) string {
	sum := macSum(key, msg)
	return hex.EncodeToString(sum[:])
}

func macSum(key Key, msg []byte) [sha256.Size]byte {
	m := hmac.New(sha256.New, key[:])
	m.Write(msg)
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	return sum
}
