package signing

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// signedD is vector D of §3.6 as a server receives it.
func signedD(t *testing.T) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/sdk/token", nil)
	r.Header.Set(HeaderCaller, "billing-cron")
	r.Header.Set(HeaderCallerType, "service")
	r.Header.Set(HeaderActorID, "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
	r.Header.Set(HeaderContext, `{"run_id":"r1","tool":"search"}`)
	r.Header.Set(HeaderScopeConstraints, "grants:read,tokens:read")
	r.Header.Set(HeaderRequestRule, vecRule)
	SignWith(r, vecKey(), []byte(vecBodyA), vecClock, vecNonce, "")
	return r
}

func TestVerifyRefuses(t *testing.T) {
	body := []byte(vecBodyA)
	for _, tc := range []struct {
		name   string
		edit   func(r *http.Request)
		body   []byte
		now    time.Time
		target error
	}{
		{name: "changed body", body: []byte(vecBodyA + " "), target: ErrBodyHash},
		{name: "bad body hash header", edit: func(r *http.Request) { r.Header.Set(HeaderContentSHA256, emptyBodyHash) }, target: ErrBodyHash},
		{name: "upper-case body hash", edit: func(r *http.Request) {
			r.Header.Set(HeaderContentSHA256, "C74B90D1DCA2850C24608415B9C58E419823EE1CF433C848F76E2B43DE4AE7E0")
		}, target: ErrMalformed},
		{name: "stale, past", now: vecClock.Add(DefaultWindow + time.Second), target: ErrStale},
		{name: "stale, future", now: vecClock.Add(-DefaultWindow - time.Second), target: ErrStale},
		{name: "wrong signature", edit: func(r *http.Request) {
			sig := "0" + r.Header.Get(HeaderSignature)[1:]
			if sig == r.Header.Get(HeaderSignature) {
				sig = "1" + sig[1:]
			}
			r.Header.Set(HeaderSignature, sig)
			r.Header.Set(HeaderSignatureV2, sig)
		}, target: ErrBadSignature},
		{name: "legacy-signed with identity headers", edit: func(r *http.Request) {
			r.Header.Set(HeaderSignature, "3b27e14d6f9d4825ae596469ede7b0b9055f24b73abdc3423c3a4a8d75e4bba9") // D's legacy HMAC
			r.Header.Del(HeaderSignatureV2)
		}, target: ErrMissing},
		{name: "legacy HMAC in both headers with identity", edit: func(r *http.Request) {
			r.Header.Set(HeaderSignature, "3b27e14d6f9d4825ae596469ede7b0b9055f24b73abdc3423c3a4a8d75e4bba9")
			r.Header.Set(HeaderSignatureV2, "3b27e14d6f9d4825ae596469ede7b0b9055f24b73abdc3423c3a4a8d75e4bba9")
		}, target: ErrBadSignature},
		{name: "V2 headers unequal", edit: func(r *http.Request) {
			r.Header.Set(HeaderSignature, "3b27e14d6f9d4825ae596469ede7b0b9055f24b73abdc3423c3a4a8d75e4bba9")
		}, target: ErrBadSignature},
		{name: "identity stripped", edit: func(r *http.Request) {
			for _, h := range []string{HeaderCaller, HeaderCallerType, HeaderActorID, HeaderContext} {
				r.Header.Del(h)
			}
		}, target: ErrBadSignature},
		{name: "constraints stripped", edit: func(r *http.Request) { r.Header.Del(HeaderScopeConstraints) }, target: ErrBadSignature},
		{name: "rule stripped", edit: func(r *http.Request) { r.Header.Del(HeaderRequestRule) }, target: ErrBadSignature},
		{name: "other path", edit: func(r *http.Request) { r.RequestURI = "/sdk/proxy" }, target: ErrBadSignature},
		{name: "other method", edit: func(r *http.Request) { r.Method = http.MethodPut }, target: ErrBadSignature},
		{name: "missing timestamp", edit: func(r *http.Request) { r.Header.Del(HeaderTimestamp) }, target: ErrMissing},
		{name: "missing nonce", edit: func(r *http.Request) { r.Header.Del(HeaderNonce) }, target: ErrMissing},
		{name: "missing hash", edit: func(r *http.Request) { r.Header.Del(HeaderContentSHA256) }, target: ErrMissing},
		{name: "missing signature", edit: func(r *http.Request) { r.Header.Del(HeaderSignature) }, target: ErrMissing},
		{name: "signed timestamp", edit: func(r *http.Request) { r.Header.Set(HeaderTimestamp, "+1767225600") }, target: ErrMalformed},
		{name: "fractional timestamp", edit: func(r *http.Request) { r.Header.Set(HeaderTimestamp, "1767225600.5") }, target: ErrMalformed},
		{name: "huge timestamp", edit: func(r *http.Request) { r.Header.Set(HeaderTimestamp, "99999999999999999999") }, target: ErrMalformed},
		{name: "empty timestamp", edit: func(r *http.Request) { r.Header.Set(HeaderTimestamp, "") }, target: ErrMalformed},
		{name: "short nonce", edit: func(r *http.Request) { r.Header.Set(HeaderNonce, "0011") }, target: ErrMalformed},
		{name: "upper-case nonce", edit: func(r *http.Request) { r.Header.Set(HeaderNonce, "00112233445566778899AABBCCDDEEFF") }, target: ErrMalformed},
		{name: "short signature", edit: func(r *http.Request) { r.Header.Set(HeaderSignature, "abcd") }, target: ErrMalformed},
		{name: "malformed V2", edit: func(r *http.Request) { r.Header.Set(HeaderSignatureV2, "zz") }, target: ErrMalformed},
		{name: "repeated signature", edit: func(r *http.Request) { r.Header.Add(HeaderSignature, r.Header.Get(HeaderSignature)) }, target: ErrMalformed},
		{name: "repeated caller", edit: func(r *http.Request) { r.Header.Add(HeaderCaller, "other") }, target: ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := signedD(t)
			if tc.edit != nil {
				tc.edit(r)
			}
			b, now := body, vecClock
			if tc.body != nil {
				b = tc.body
			}
			if !tc.now.IsZero() {
				now = tc.now
			}
			nonce, err := Verify(r, vecKey(), b, now, DefaultWindow)
			require.ErrorIs(t, err, tc.target)
			assert.Empty(t, nonce)
			assert.NotContains(t, err.Error(), vecAPIKey)
		})
	}
}

func TestVerifyWindowEdges(t *testing.T) {
	r := signedD(t)
	ts := time.Unix(1767225600, 0)
	for _, now := range []time.Time{ts.Add(-DefaultWindow), ts.Add(DefaultWindow), ts.Add(DefaultWindow + 999*time.Millisecond)} {
		_, err := Verify(r, vecKey(), []byte(vecBodyA), now, DefaultWindow)
		require.NoError(t, err, "now %v", now)
	}
	_, err := Verify(r, vecKey(), []byte(vecBodyA), ts.Add(DefaultWindow+time.Second), DefaultWindow)
	require.ErrorIs(t, err, ErrStale)
}

// Without identity a V2 header is never sent by the SDK; when one is, it must repeat the
// legacy signature.
func TestVerifyLegacyWithV2Header(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/sdk/token", nil)
	SignWith(r, vecKey(), []byte(vecBodyA), vecClock, vecNonce, "")
	r.Header.Set(HeaderSignatureV2, r.Header.Get(HeaderSignature))
	_, err := Verify(r, vecKey(), []byte(vecBodyA), vecClock, DefaultWindow)
	require.NoError(t, err)
	r.Header.Set(HeaderSignatureV2, "0c80a317bcabf84c4e9e4a18dcb226daa6265fc177bb1cf324883cc5f73b0372")
	_, err = Verify(r, vecKey(), []byte(vecBodyA), vecClock, DefaultWindow)
	require.ErrorIs(t, err, ErrBadSignature)
}

// The server verifies the target as received: the escaped path, not net/url's re-escaping.
func TestVerifyUsesWireTarget(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/sdk/x?q=~%7E*", nil)
	SignWith(r, vecKey(), nil, vecClock, vecNonce, "")
	require.Equal(t, "0fd9b063d920e5370ace6a13703addbea2d51ce7f3236702cdbcbaa162238e40", r.Header.Get(HeaderSignature))
	r.URL.RawQuery = "q=changed" // ignored: RequestURI is the wire target
	_, err := Verify(r, vecKey(), nil, vecClock, DefaultWindow)
	require.NoError(t, err)
	r.RequestURI = ""
	_, err = Verify(r, vecKey(), nil, vecClock, DefaultWindow)
	require.ErrorIs(t, err, ErrBadSignature)
}

func TestParseTimestamp(t *testing.T) {
	ts, err := ParseTimestamp("0001767225600")
	require.NoError(t, err)
	assert.Equal(t, int64(1767225600), ts.Unix())
	for _, v := range []string{"", "-1", "1e9", " 1", "９"} {
		_, err := ParseTimestamp(v)
		require.ErrorIs(t, err, ErrMalformed, v)
	}
}
