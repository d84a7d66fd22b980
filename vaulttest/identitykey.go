package vaulttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/golang-jwt/jwt/v5"
)

// assertionType is the JOSE typ of an identity assertion: alter-sdk 0.29.0's verifier refuses
// any other.
const assertionType = "alter-identity+jwt"

// identitySigner is the ES256 key a server signs identity assertions with, one per server so
// that a verifier trusting one emulator's key set refuses another's assertions.
type identitySigner struct {
	key  *ecdsa.PrivateKey
	kid  string // the RFC 7638 thumbprint of the public key
	jwks []byte // the public JWK Set a verifier trusts
}

func newIdentitySigner() (*identitySigner, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	point, err := key.PublicKey.Bytes() // 0x04 ‖ X ‖ Y, 32 bytes each
	if err != nil {
		return nil, err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	x, y := b64(point[1:33]), b64(point[33:])
	// RFC 7638: the hash of the required members in lexicographic order, without spaces.
	sum := sha256.Sum256(fmt.Appendf(nil, `{"crv":"P-256","kty":"EC","x":%q,"y":%q}`, x, y))
	kid := b64(sum[:])
	jwks, err := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig"},
	}})
	if err != nil {
		return nil, err
	}
	return &identitySigner{key: key, kid: kid, jwks: jwks}, nil
}

func (k *identitySigner) sign(claims jwt.MapClaims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["typ"] = assertionType
	t.Header["kid"] = k.kid
	return t.SignedString(k.key)
}

// IdentityJWKS returns the JWK Set (RFC 7517) of the key this server signs identity assertions
// with: the document a verifier is given as its trusted keys (identity.Config.JWKS of
// github.com/altersdk/alter-go/identity, alter-sdk's verify_identity_assertion(jwks=…)). Each server has its own key.
func (s *Server) IdentityJWKS() []byte { return append([]byte(nil), s.idKey.jwks...) }

// IdentityIssuer returns the iss claim of the identity assertions this server signs: its URL.
func (s *Server) IdentityIssuer() string { return s.root }

// devIdentityRoutes serves a verifier's trust over the dev control API: GET /_dev/identity and
// the key set alone at GET /_dev/identity/jwks.
func (s *Server) devIdentityRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /_dev/identity", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.IdentityTrust()) })
	m.HandleFunc("GET /_dev/identity/jwks", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(s.IdentityJWKS())
	})
}

// IdentityTrust is what a verifier of this server's identity assertions is configured with.
type IdentityTrust struct {
	Issuer string          `json:"issuer"`
	AppID  string          `json:"app_id"`
	JWKS   json.RawMessage `json:"jwks"`
}

// IdentityTrust returns the issuer, the app id and the JWK Set a verifier of this server's
// assertions trusts (GET /_dev/identity serves the same).
func (s *Server) IdentityTrust() IdentityTrust {
	return IdentityTrust{Issuer: s.IdentityIssuer(), AppID: s.appID.String(), JWKS: s.IdentityJWKS()}
}
