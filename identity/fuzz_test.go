package identity

import (
	"errors"
	"testing"
	"time"

	"github.com/altersdk/alter-go/facade"
)

// FuzzVerifyNeverPanics: any token is refused with one of the two documented errors, or
// verified, and never panics.
func FuzzVerifyNeverPanics(f *testing.F) {
	s := newSigner(f)
	cfg := Config{Issuer: "https://alter.example", Audience: "urn:memory", JWKS: s.jwks, AppID: "app1"}
	f.Add(s.token(f, nil, claims(time.Now())))
	f.Add("eyJhbGciOiJFUzI1NiJ9.e30.AAAA")
	f.Add("..")
	v, err := NewVerifier(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		_, err := v.Verify(token)
		var mi *facade.MemoryIsolationError
		var ie *facade.InputError
		if err != nil && !errors.As(err, &mi) && !errors.As(err, &ie) {
			t.Fatalf("unexpected error type %T", err)
		}
	})
}
