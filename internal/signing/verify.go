package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Verification failures, matched with errors.Is. The wrapped errors name the header at fault,
// never its value.
var (
	ErrMissing      = errors.New("signing: required header missing")
	ErrMalformed    = errors.New("signing: header malformed")
	ErrStale        = errors.New("signing: timestamp outside the acceptance window")
	ErrBodyHash     = errors.New("signing: content hash does not match the body")
	ErrBadSignature = errors.New("signing: signature does not match")
	ErrReplayed     = errors.New("signing: nonce already used")
)

// Verify checks r's signature as the vault does and returns its nonce, for the caller's replay
// check. It requires X-Alter-Timestamp (decimal Unix seconds within ±window of now, compared in
// whole seconds as the timestamp is truncated), X-Alter-Nonce (32 lower-case hex),
// X-Alter-Content-SHA256 (64 lower-case hex, equal to SHA-256 of body) and X-Alter-Signature
// (64 lower-case hex). With any non-empty identity header, X-Alter-Signature-V2 is required,
// must equal X-Alter-Signature, and both must be the V2 signature, so stripping the V2 header
// cannot downgrade a request; without identity the legacy signature is required (and a V2
// header, if sent, must repeat it). A signature header or signed header sent more than once is
// malformed. The API key header is not looked at: key is what the caller resolved from it.
//
// The signed path is r.RequestURI when it is a path (the exact target received on the wire),
// else r.URL.RequestURI(). Signatures are compared in constant time.
func Verify(r *http.Request, key Key, body []byte, now time.Time, window time.Duration) (nonce string, err error) {
	h := r.Header
	var f Fields
	var sig, v2 string
	var hasV2 bool
	for _, req := range [...]struct {
		key, name string
		dst       *string
	}{
		{keyTimestamp, HeaderTimestamp, &f.Timestamp},
		{keyNonce, HeaderNonce, &f.Nonce},
		{keyContentSHA256, HeaderContentSHA256, &f.ContentSHA256},
		{keySignature, HeaderSignature, &sig},
	} {
		v, ok, err := single(h, req.key, req.name)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", fmt.Errorf("%w: %s", ErrMissing, req.name)
		}
		*req.dst = v
	}
	for _, opt := range [...]struct {
		key, name string
		dst       *string
	}{
		{keyScopeConstraints, HeaderScopeConstraints, &f.ScopeConstraints},
		{keyRequestRule, HeaderRequestRule, &f.RequestRule},
		{keyCaller, HeaderCaller, &f.Caller},
		{keyCallerType, HeaderCallerType, &f.CallerType},
		{keyActorID, HeaderActorID, &f.ActorID},
		{keyContext, HeaderContext, &f.Context},
	} {
		v, _, err := single(h, opt.key, opt.name)
		if err != nil {
			return "", err
		}
		*opt.dst = v
	}
	v2, hasV2, err = single(h, keySignatureV2, HeaderSignatureV2)
	if err != nil {
		return "", err
	}

	ts, err := ParseTimestamp(f.Timestamp)
	if err != nil {
		return "", err
	}
	switch {
	case !isLowerHex(f.Nonce, 32):
		return "", fmt.Errorf("%w: %s", ErrMalformed, HeaderNonce)
	case !isLowerHex(f.ContentSHA256, 64):
		return "", fmt.Errorf("%w: %s", ErrMalformed, HeaderContentSHA256)
	case !isLowerHex(sig, 64):
		return "", fmt.Errorf("%w: %s", ErrMalformed, HeaderSignature)
	case hasV2 && !isLowerHex(v2, 64):
		return "", fmt.Errorf("%w: %s", ErrMalformed, HeaderSignatureV2)
	}
	if !withinWindow(ts.Unix(), now, window) {
		return "", ErrStale
	}
	if f.ContentSHA256 != contentHash(body) {
		return "", ErrBodyHash
	}

	f.Method = r.Method
	target := r.RequestURI
	if !strings.HasPrefix(target, "/") {
		target = r.URL.RequestURI()
	}
	f.Path = CanonicalPath(target)

	var want [sha256.Size]byte
	if f.hasIdentity() {
		if !hasV2 {
			return "", fmt.Errorf("%w: %s (identity headers are present)", ErrMissing, HeaderSignatureV2)
		}
		want = macSum(key, f.appendV2(make([]byte, 0, f.len(true))))
	} else {
		want = macSum(key, f.appendLegacy(make([]byte, 0, f.len(false))))
	}
	if hasV2 && v2 != sig {
		return "", fmt.Errorf("%w: %s differs from %s", ErrBadSignature, HeaderSignatureV2, HeaderSignature)
	}
	got := decodeHex32(sig)
	if !hmac.Equal(want[:], got[:]) {
		return "", ErrBadSignature
	}
	return f.Nonce, nil
}

// ParseTimestamp parses an X-Alter-Timestamp value: ASCII decimal Unix seconds, no sign. Errors
// match [ErrMalformed].
func ParseTimestamp(v string) (time.Time, error) {
	if v == "" || len(v) > 19 || strings.TrimLeft(v, "0123456789") != "" {
		return time.Time{}, fmt.Errorf("%w: %s", ErrMalformed, HeaderTimestamp)
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s", ErrMalformed, HeaderTimestamp)
	}
	return time.Unix(secs, 0), nil
}

// withinWindow reports whether ts (Unix seconds) is within ±window of now, in whole seconds,
// saturating instead of overflowing on absurd values.
func withinWindow(ts int64, now time.Time, window time.Duration) bool {
	w := max(int64(window/time.Second), 0)
	n := now.Unix()
	lo, hi := n-w, n+w
	if n < math.MinInt64+w {
		lo = math.MinInt64
	}
	if n > math.MaxInt64-w {
		hi = math.MaxInt64
	}
	return lo <= ts && ts <= hi
}

// single returns the one value of a header; a repeated header is ambiguous and so malformed.
func single(h http.Header, key, name string) (string, bool, error) {
	switch v := h[key]; len(v) {
	case 0:
		return "", false, nil
	case 1:
		return v[0], true, nil
	default:
		return "", true, fmt.Errorf("%w: %s sent more than once", ErrMalformed, name)
	}
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// decodeHex32 decodes 64 lower-case hex characters already checked by isLowerHex.
func decodeHex32(s string) [sha256.Size]byte {
	var b [sha256.Size]byte
	for i := range b {
		b[i] = unhex(s[2*i])<<4 | unhex(s[2*i+1])
	}
	return b
}
