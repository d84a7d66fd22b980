package signing

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewNonceShape(t *testing.T) {
	a, b := NewNonce(), NewNonce()
	assert.NotEqual(t, a, b)
	assert.True(t, isLowerHex(a, 32), a)
	assert.True(t, isLowerHex(b, 32), b)
}

func TestSignUsesTruncatedClockAndFreshNonce(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/sdk/token", nil)
	Sign(r, vecKey(), []byte(vecBodyA), vecClock, "")
	assert.Equal(t, vecTimestamp, r.Header.Get(HeaderTimestamp))
	first := r.Header.Get(HeaderNonce)
	assert.True(t, isLowerHex(first, 32))
	_, err := Verify(r, vecKey(), []byte(vecBodyA), vecClock, DefaultWindow)
	require.NoError(t, err)

	Sign(r, vecKey(), []byte(vecBodyA), vecClock, "") // a retry is signed afresh
	assert.NotEqual(t, first, r.Header.Get(HeaderNonce))
	assert.Len(t, r.Header.Values(HeaderNonce), 1)
}

// The vault verifies the path below its own root, so a base URL's path prefix is not signed.
func TestSignStripsBasePath(t *testing.T) {
	want := "e339a4e3d3c1ff14192ddb03f2895973f580fdff197c295ab3d42cfc374b8c1d" // vector A
	for _, base := range []string{"/api", "/api/"} {
		r, err := http.NewRequest(http.MethodPost, "https://vault.example/api/sdk/token", nil)
		require.NoError(t, err)
		SignWith(r, vecKey(), []byte(vecBodyA), vecClock, vecNonce, base)
		assert.Equal(t, want, r.Header.Get(HeaderSignature), "base %q", base)
	}
	for _, tc := range []struct{ target, base, want string }{
		{"/api/sdk/x?a=1", "/api", "/sdk/x?a=1"},
		{"/api", "/api", "/"},
		{"/api?a=1", "/api", "/?a=1"},
		{"/apix/sdk", "/api", "/apix/sdk"}, // not below the base: signed whole
		{"/sdk/x", "", "/sdk/x"},
		{"/sdk/x", "/", "/sdk/x"},
	} {
		assert.Equal(t, tc.want, stripBase(tc.target, tc.base), "stripBase(%q, %q)", tc.target, tc.base)
	}
}

func TestSignDropsStaleV2WhenIdentityIsGone(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/sdk/token", nil)
	r.Header.Set(HeaderCaller, "billing-cron")
	SignWith(r, vecKey(), nil, vecClock, vecNonce, "")
	require.NotEmpty(t, r.Header.Get(HeaderSignatureV2))
	r.Header.Del(HeaderCaller)
	SignWith(r, vecKey(), nil, vecClock, vecNonce, "")
	assert.Empty(t, r.Header.Values(HeaderSignatureV2))
	_, err := Verify(r, vecKey(), nil, vecClock, DefaultWindow)
	require.NoError(t, err)
}

func TestSignWithNilHeader(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/sdk/scopes", nil)
	r.Header = nil
	SignWith(r, vecKey(), nil, vecClock, vecNonce, "")
	assert.Equal(t, "3570cdc7a476f6a2fd043650a1833af410ce0b453d848772f502793a41008084", r.Header.Get(HeaderSignature))
}

// The method is signed upper-cased, as the SDK does, and net/http's empty method means GET.
func TestMethodIsUpperCased(t *testing.T) {
	base := Fields{Path: "/sdk/scopes", Timestamp: vecTimestamp, Nonce: vecNonce, ContentSHA256: emptyBodyHash}
	get := base
	get.Method = "GET"
	for _, m := range []string{"get", "Get", ""} {
		f := base
		f.Method = m
		assert.Equal(t, get.Legacy(), f.Legacy(), "method %q", m)
	}
}

func TestRoundTrips(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name, method, target string
		body                 []byte
		headers              map[string]string
	}{
		{"get no body", http.MethodGet, "/sdk/agents/me", nil, nil},
		{"post body", http.MethodPost, "/sdk/token", []byte(`{"a":1}`), nil},
		{"delete query", http.MethodDelete, "/sdk/keys/k1?grace_seconds=5&expected_version=2", nil, nil},
		{"escaped path", http.MethodGet, "/sdk/provider-specs/x/post%3A%2Femails/operation?q=a+b%2Bc", nil, nil},
		{"caller only", http.MethodPost, "/sdk/token", []byte("{}"), map[string]string{HeaderCaller: "c"}},
		{"actor only", http.MethodPost, "/sdk/token", []byte("{}"), map[string]string{HeaderActorID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}},
		{"context only", http.MethodPost, "/sdk/token", []byte("{}"), map[string]string{HeaderContext: `{"k":"v"}`}},
		{"constraints only", http.MethodPost, "/sdk/token", []byte("{}"), map[string]string{HeaderScopeConstraints: "a,b", HeaderRequestRule: vecRule}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.target, nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			Sign(r, vecKey(), tc.body, now, "")
			_, err := Verify(r, vecKey(), tc.body, now, DefaultWindow)
			require.NoError(t, err)
			_, err = Verify(r, DeriveKey("alter_rk_other"), tc.body, now, DefaultWindow)
			require.ErrorIs(t, err, ErrBadSignature, "another key")
			for k := range tc.headers {
				tampered := r.Clone(r.Context())
				tampered.Header.Set(k, tampered.Header.Get(k)+"x")
				_, err = Verify(tampered, vecKey(), tc.body, now, DefaultWindow)
				require.ErrorIs(t, err, ErrBadSignature, "changed %s", k)
			}
		})
	}
}
