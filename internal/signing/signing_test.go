package signing

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	key := DeriveKey("alter_key_app_test")
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"grant_id":"x"}`)
	r := httptest.NewRequest(http.MethodPost, "https://vault.example/v1/tokens?a=1&b=%2F", nil)
	Sign(r, key, body, now)

	nonce, err := Verify(r, key, body, now.Add(MaxSkew))
	require.NoError(t, err)
	require.Equal(t, r.Header.Get(HeaderNonce), nonce)

	_, err = Verify(r, key, []byte(`{"grant_id":"y"}`), now)
	require.ErrorIs(t, err, ErrBad, "tampered body")
	_, err = Verify(r, DeriveKey("other"), body, now)
	require.ErrorIs(t, err, ErrBad, "other key")
	_, err = Verify(r, key, body, now.Add(MaxSkew+time.Second))
	require.ErrorIs(t, err, ErrExpired, "stale")
	_, err = Verify(r, key, body, now.Add(-MaxSkew-time.Second))
	require.ErrorIs(t, err, ErrExpired, "from the future")

	r.URL.RawQuery = "a=2&b=%2F"
	_, err = Verify(r, key, body, now)
	require.ErrorIs(t, err, ErrBad, "tampered query")

	r.Header.Del(HeaderSignature)
	_, err = Verify(r, key, body, now)
	require.ErrorIs(t, err, ErrMissing)
}

// The canonical string is part of the published contract: pin it.
func TestCanonicalStringIsStable(t *testing.T) {
	got := CanonicalString("post", "/v1/tokens?x=1", "1800000000", "abcdefghijklmnop", nil)
	want := "ALTER-HMAC-SHA256\nPOST\n/v1/tokens?x=1\n1800000000\nabcdefghijklmnop\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	require.Equal(t, want, got)
	require.Equal(t, "v1=", Signature(DeriveKey("k"), got)[:3])
	require.Len(t, Signature(DeriveKey("k"), got), 3+64)
}

func TestNonceShape(t *testing.T) {
	a, b := NewNonce(), NewNonce()
	require.NotEqual(t, a, b)
	require.True(t, validNonce(a), a)
	require.False(t, validNonce("short"))
	require.False(t, validNonce("has spaces in it, lots of them"))
}

func FuzzVerifyNeverPanics(f *testing.F) {
	f.Add("1800000000", "abcdefghijklmnop", "v1=00", []byte("{}"))
	f.Add("", "", "", []byte(nil))
	f.Add("-99999999999999999999", "nonce\r\nnonce-nonce", "v1=zz", []byte{0xff})
	key := DeriveKey("k")
	f.Fuzz(func(t *testing.T, ts, nonce, sig string, body []byte) {
		r := httptest.NewRequest(http.MethodGet, "http://x/v1/me", nil)
		r.Header[HeaderTimestamp] = []string{ts}
		r.Header[HeaderNonce] = []string{nonce}
		r.Header[HeaderSignature] = []string{sig}
		if _, err := Verify(r, key, body, time.Unix(1_800_000_000, 0)); err == nil {
			t.Fatalf("forged signature %q accepted", sig)
		}
	})
}
