package facade

import (
	"net/http"
	"testing"
)

// FuzzDecodeVaultError: whatever the status and body, every surface answers a non-nil error
// matching one of the documented roots, and never panics.
func FuzzDecodeVaultError(f *testing.F) {
	seeds := []string{``, `{}`, `null`, `[1]`, `<html>`, `{"detail":{"error":"grant_expired"}}`,
		`{"detail":[{"loc":["body"]}]}`, `{"error":"ambiguous_grant","candidates":[{"grant_id":"g"}]}`,
		`{"error":"rate_limit_exceeded","retry_after":60.0,"limit":true}`, `{"error":"approval_denied"}`,
		`{"error":"scope_mismatch","details":{"grant_id":"x"}}`, `{"error":"credential_id_required","details":{"credentials":[{"id":"a","label":"b"}]}}`}
	for i, s := range seeds {
		f.Add(400+i*9, s, "12", uint8(i%4))
	}
	f.Fuzz(func(t *testing.T, status int, body, retryAfter string, surface uint8) {
		h := http.Header{"Retry-After": {retryAfter}, "X-Request-Id": {"r"}}
		err := decodeVaultError("op", errorSurface(surface%4), status, h, []byte(body))
		if err == nil {
			t.Fatal("nil error")
		}
		if !matchesARoot(err) {
			t.Fatalf("%T matches no root", err)
		}
		_ = err.Error()
	})
}
