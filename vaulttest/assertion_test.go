package vaulttest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/internal/signing"
)

// TestIdentityAssertionClaims checks the JWS of E42 against the trusted key set the dev API
// serves, and the claims alter-sdk 0.29.0's verifier requires.
func TestIdentityAssertionClaims(t *testing.T) {
	s := NewTestServer(t)
	d := SeedDemo(s)

	st, b := devCall(t, s, "GET", "/_dev/identity", nil)
	require.Equal(t, http.StatusOK, st)
	var trust IdentityTrust
	require.NoError(t, json.Unmarshal(b, &trust))
	assert.Equal(t, s.IdentityIssuer(), trust.Issuer)
	assert.Equal(t, s.AppID().String(), trust.AppID)
	st, jwks := devCall(t, s, "GET", "/_dev/identity/jwks", nil)
	require.Equal(t, http.StatusOK, st)
	assert.JSONEq(t, string(trust.JWKS), string(jwks))
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(jwks, &set))
	require.Len(t, set.Keys, 1)
	k := set.Keys[0]
	assert.Equal(t, map[string]string{"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig"},
		map[string]string{"kty": k["kty"], "crv": k["crv"], "alg": k["alg"], "use": k["use"]})
	assert.NotContains(t, k, "d", "never the private key")
	assert.NotEqual(t, string(NewTestServer(t).IdentityJWKS()), string(jwks), "a key per server")
	mine := s.IdentityJWKS()
	mine[0] = 'x'
	assert.JSONEq(t, string(jwks), string(s.IdentityJWKS()), "IdentityJWKS returns a copy")

	parse := func(tok string) (*jwt.Token, jwt.MapClaims) {
		t.Helper()
		c := jwt.MapClaims{}
		pt, err := jwt.ParseWithClaims(tok, c, func(*jwt.Token) (any, error) { return &s.idKey.key.PublicKey, nil },
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(trust.Issuer), jwt.WithAudience("urn:memory"), jwt.WithTimeFunc(s.now))
		require.NoError(t, err)
		return pt, c
	}
	r := newClient(t, s, d.Agent.APIKey, signing.HeaderContext, `{"run_id":"r1"}`).post("/sdk/identity/assert",
		map[string]any{"include_profile": true, "user_token": d.User.Token, "audience": "urn:memory", "ttl_seconds": 60})
	expect(t, r, http.StatusOK, "")
	tok, c := parse(r.obj(t)["token"].(string))
	assert.Equal(t, "alter-identity+jwt", tok.Header["typ"])
	assert.Equal(t, k["kid"], tok.Header["kid"])
	assert.Equal(t, "alter:user:"+d.User.AppUserID.String(), c["sub"])
	assert.Equal(t, trust.AppID, c["azp"])
	assert.Equal(t, map[string]any{"sub": "alter:agent:" + d.Agent.ID.String()}, c["act"])
	alter := c["alter"].(map[string]any)
	assert.Equal(t, trust.AppID, alter["app_id"])
	assert.Equal(t, "api_key", alter["agent_auth"])
	assert.Equal(t, map[string]any{"run_id": "r1", "thread_id": nil}, alter["trace"])
	assert.InDelta(t, 60, c["exp"].(float64)-c["iat"].(float64), 0)
	assert.NotEmpty(t, c["jti"])
	assert.NotEmpty(t, c["email"])

	// the app's own, headless: subject the app, no actor; an App key acting as the agent
	r = newClient(t, s, d.AppKey).post("/sdk/identity/assert", map[string]any{"include_profile": false, "audience": "urn:memory"})
	expect(t, r, http.StatusOK, "")
	_, c = parse(r.obj(t)["token"].(string))
	assert.Equal(t, "alter:app:"+trust.AppID, c["sub"])
	assert.NotContains(t, c, "act")
	assert.InDelta(t, 120, c["exp"].(float64)-c["iat"].(float64), 0, "the default lifetime")
	imp := newClient(t, s, d.AppKey, signing.HeaderCaller, d.Agent.ID.String(), signing.HeaderCallerType, "agent")
	r = imp.post("/sdk/identity/assert", map[string]any{"include_profile": false, "audience": "urn:memory"})
	expect(t, r, http.StatusOK, "")
	_, c = parse(r.obj(t)["token"].(string))
	assert.Equal(t, "app_key_caller", c["alter"].(map[string]any)["agent_auth"])
}
