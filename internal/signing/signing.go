package signing

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names and constants of the scheme.
const (
	HeaderTimestamp = "X-Alter-Timestamp"
	HeaderNonce     = "X-Alter-Nonce"
	HeaderSignature = "X-Alter-Signature"
	HeaderAPIKey    = "X-Api-Key"

	Algorithm     = "ALTER-HMAC-SHA256"
	signatureTag  = "v1="
	derivationMsg = "alter-vault-request-signing-v1"

	// MaxSkew is how far the timestamp may be from the verifier's clock.
	MaxSkew = 5 * time.Minute
)

// emptyBodyHash is the hex SHA-256 of the empty string, precomputed for body-less requests.
var emptyBodyHash = hashHex(nil)

// Key is a signing key derived from an API key. Deriving it once per client keeps the per-request
// cost to one HMAC.
type Key [sha256.Size]byte

// DeriveKey returns HMAC-SHA256(apiKey, "alter-vault-request-signing-v1").
func DeriveKey(apiKey string) Key {
	m := hmac.New(sha256.New, []byte(apiKey))
	m.Write([]byte(derivationMsg))
	var k Key
	m.Sum(k[:0])
	return k
}

// RequestTarget is the escaped path plus "?" and the raw query when there is one.
func RequestTarget(r *http.Request) string {
	target := r.URL.EscapedPath()
	if target == "" {
		target = "/"
	}
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	return target
}

// CanonicalString builds the six-line string that is signed.
func CanonicalString(method, target, timestamp, nonce string, body []byte) string {
	bodyHash := emptyBodyHash
	if len(body) > 0 {
		bodyHash = hashHex(body)
	}
	var b strings.Builder
	b.Grow(len(Algorithm) + len(method) + len(target) + len(timestamp) + len(nonce) + len(bodyHash) + 5)
	b.WriteString(Algorithm)
	b.WriteByte('\n')
	b.WriteString(strings.ToUpper(method))
	b.WriteByte('\n')
	b.WriteString(target)
	b.WriteByte('\n')
	b.WriteString(timestamp)
	b.WriteByte('\n')
	b.WriteString(nonce)
	b.WriteByte('\n')
	b.WriteString(bodyHash)
	return b.String()
}

// Signature returns "v1=" + hex HMAC-SHA256(key, canonical).
func Signature(key Key, canonical string) string {
	m := hmac.New(sha256.New, key[:])
	m.Write([]byte(canonical))
	var sum [sha256.Size]byte
	return signatureTag + hex.EncodeToString(m.Sum(sum[:0]))
}

// NewNonce returns 22 URL-safe characters of crypto randomness.
func NewNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms (Go 1.24+).
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Sign sets the timestamp, nonce and signature headers of r for the given body (the exact bytes
// that will be sent). It does not set the API key header.
func Sign(r *http.Request, key Key, body []byte, now time.Time) {
	ts := strconv.FormatInt(now.Unix(), 10)
	nonce := NewNonce()
	r.Header.Set(HeaderTimestamp, ts)
	r.Header.Set(HeaderNonce, nonce)
	r.Header.Set(HeaderSignature, Signature(key, CanonicalString(r.Method, RequestTarget(r), ts, nonce, body)))
}

// Verification failures, matched with errors.Is.
var (
	ErrMissing = errors.New("signing: missing or malformed signature headers")
	ErrExpired = errors.New("signing: timestamp outside the allowed window")
	ErrBad     = errors.New("signing: signature does not match")
)

// Verify checks r's signature headers against body and the clock. It returns the nonce so that
// the caller can reject replays. The comparison is constant-time.
func Verify(r *http.Request, key Key, body []byte, now time.Time) (nonce string, err error) {
	ts := r.Header.Get(HeaderTimestamp)
	nonce = r.Header.Get(HeaderNonce)
	sig := r.Header.Get(HeaderSignature)
	if ts == "" || sig == "" || !validNonce(nonce) {
		return "", ErrMissing
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", ErrMissing
	}
	if d := now.Sub(time.Unix(secs, 0)); d > MaxSkew || d < -MaxSkew {
		return "", ErrExpired
	}
	want := Signature(key, CanonicalString(r.Method, RequestTarget(r), ts, nonce, body))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return "", ErrBad
	}
	return nonce, nil
}

func validNonce(n string) bool {
	if len(n) < 16 || len(n) > 64 {
		return false
	}
	for _, c := range []byte(n) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

func hashHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
