package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

func TestVerifyVaultAssertions(t *testing.T) {
	s := vaulttest.NewTestServer(t)
	d := vaulttest.SeedDemo(s)
	agent, err := facade.NewAgent(d.Agent.APIKey, facade.WithBaseURL(s.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, agent.Close()) })
	app, err := facade.NewApp(d.AppKey, facade.WithBaseURL(s.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, app.Close()) })
	ctx := context.Background()
	cfg := Config{Issuer: s.IdentityIssuer(), Audience: "https://memory.internal", JWKS: s.IdentityJWKS(), AppID: s.AppID().String()}

	a, err := agent.AssertIdentity(ctx, facade.AssertIdentityParams{Audience: cfg.Audience, UserToken: d.User.Token})
	require.NoError(t, err)
	withAgent := cfg
	withAgent.AgentID = d.Agent.ID.String()
	id, err := Verify(a.Token.Reveal(), withAgent)
	require.NoError(t, err)
	assert.Equal(t, cfg.AppID, id.AppID)
	assert.Equal(t, d.Agent.ID.String(), id.AgentID)
	assert.Equal(t, d.User.AppUserID.String(), id.AppUserID)
	assert.Equal(t, facade.UserActive, id.UserStatus)
	sc, err := id.MemoryScope()
	require.NoError(t, err)
	want, err := a.Identity.MemoryScope()
	require.NoError(t, err)
	assert.Equal(t, want, sc, "the verifier derives the partition the minting agent sees")

	h, err := app.AssertIdentity(ctx, facade.AssertIdentityParams{Audience: cfg.Audience})
	require.NoError(t, err)
	id, err = Verify(h.Token.Reveal(), cfg)
	require.NoError(t, err)
	assert.Empty(t, id.AgentID+id.AppUserID, "the app's own headless identity")
	reason(t, "app assertion, agent expected", facade.AssertionBinding, h.Token.Reveal(), withAgent)

	other := vaulttest.NewTestServer(t)
	foreign := cfg
	foreign.JWKS = other.IdentityJWKS()
	reason(t, "another server's keys", facade.AssertionKey, a.Token.Reveal(), foreign)
	wrongAud := cfg
	wrongAud.Audience = "https://other.internal"
	reason(t, "another audience", facade.AssertionClaims, a.Token.Reveal(), wrongAud)
	wrongApp := cfg
	wrongApp.AppID = other.AppID().String()
	reason(t, "another app", facade.AssertionBinding, a.Token.Reveal(), wrongApp)
}

func reason(t *testing.T, name string, want facade.AssertionRejectReason, token string, c Config) {
	t.Helper()
	_, err := Verify(token, c)
	var mi *facade.MemoryIsolationError
	require.ErrorAs(t, err, &mi, name)
	assert.Equal(t, facade.MemoryAssertionInvalid, mi.Code, name)
	assert.Equal(t, want, mi.Reason, name)
	require.ErrorIs(t, err, facade.ErrMemoryIsolation, name)
	require.ErrorIs(t, err, facade.MemoryAssertionInvalid, name)
	for _, part := range strings.Split(token, ".") {
		if len(part) > 8 {
			assert.NotContains(t, fmt.Sprintf("%v %+v %#v", err, err, err), part, "%s: no token material in the error", name)
		}
	}
}

// signer mints test tokens with a key of its own.
type signer struct {
	key  *ecdsa.PrivateKey
	jwk  map[string]any
	jwks []byte
}

func newSigner(t testing.TB) *signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p, err := k.PublicKey.Bytes()
	require.NoError(t, err)
	b := base64.RawURLEncoding.EncodeToString
	jwk := map[string]any{"kty": "EC", "crv": "P-256", "x": b(p[1:33]), "y": b(p[33:]), "kid": "k1", "alg": "ES256", "use": "sig"}
	return &signer{key: k, jwk: jwk, jwks: set(t, jwk)}
}

func set(t testing.TB, keys ...map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"keys": keys})
	require.NoError(t, err)
	return b
}

func (s *signer) token(t testing.TB, header map[string]any, claims jwt.MapClaims) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	tok.Header["typ"], tok.Header["kid"] = "alter-identity+jwt", "k1"
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	out, err := tok.SignedString(s.key)
	require.NoError(t, err)
	return out
}

func claims(now time.Time, edits ...func(jwt.MapClaims)) jwt.MapClaims {
	c := jwt.MapClaims{"iss": "https://alter.example", "aud": "urn:memory", "sub": "alter:user:u1", "azp": "app1",
		"iat": now.Unix(), "exp": now.Unix() + 120, "jti": "j1", "alter": map[string]any{"app_id": "app1", "agent_auth": "api_key"},
		"act": map[string]any{"sub": "alter:agent:ag1"}}
	for _, e := range edits {
		e(c)
	}
	return c
}

func set1(k string, v any) func(jwt.MapClaims) { return func(c jwt.MapClaims) { c[k] = v } }

func TestVerifyReasons(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSigner(t)
		cfg := Config{Issuer: "https://alter.example", Audience: "urn:memory", JWKS: s.jwks, AppID: "app1", AgentID: "ag1"}
		now := time.Now()
		good := s.token(t, nil, claims(now))
		id, err := Verify(good, cfg)
		require.NoError(t, err)
		assert.Equal(t, "u1", id.AppUserID)
		assert.Equal(t, "ag1", id.AgentID)
		_, err = id.MemoryScope()
		require.NoError(t, err)

		cases := []struct {
			name  string
			want  facade.AssertionRejectReason
			token string
			cfg   func(*Config)
		}{
			{"two segments", facade.AssertionMalformed, "a.b", nil},
			{"header not base64", facade.AssertionMalformed, "!!.b.c", nil},
			{"header not an object", facade.AssertionMalformed, base64.RawURLEncoding.EncodeToString([]byte(`[1]`)) + ".b.c", nil},
			{"payload not JSON", facade.AssertionMalformed, strings.Split(good, ".")[0] + ".bm9wZQ." + strings.Split(good, ".")[2], nil},
			{"typ", facade.AssertionHeader, s.token(t, map[string]any{"typ": "JWT"}, claims(now)), nil},
			{"crit", facade.AssertionHeader, s.token(t, map[string]any{"crit": []string{"exp"}}, claims(now)), nil},
			{"b64 false", facade.AssertionHeader, s.token(t, map[string]any{"b64": false}, claims(now)), nil},
			{"no kid", facade.AssertionHeader, s.token(t, map[string]any{"kid": nil}, claims(now)), nil},
			{"alg none", facade.AssertionHeader, unsigned(t, claims(now)), nil},
			{"unknown kid", facade.AssertionKey, s.token(t, map[string]any{"kid": "k2"}, claims(now)), nil},
			{"kid twice", facade.AssertionKey, good, func(c *Config) { c.JWKS = set(t, s.jwk, s.jwk) }},
			{"private key in the set", facade.AssertionKey, good, func(c *Config) { c.JWKS = set(t, with(s.jwk, "d", "AAAA")) }},
			{"RSA kty", facade.AssertionKey, good, func(c *Config) { c.JWKS = set(t, with(s.jwk, "kty", "RSA")) }},
			{"P-384", facade.AssertionKey, good, func(c *Config) { c.JWKS = set(t, with(s.jwk, "crv", "P-384")) }},
			{"alg RS256", facade.AssertionKey, good, func(c *Config) { c.JWKS = set(t, with(s.jwk, "alg", "RS256")) }},
			{"use enc", facade.AssertionKey, good, func(c *Config) { c.JWKS = set(t, with(s.jwk, "use", "enc")) }},
			{"key_ops without verify", facade.AssertionKey, good, func(c *Config) { c.JWKS = set(t, with(s.jwk, "key_ops", []string{"sign"})) }},
			{"point off the curve", facade.AssertionKey, good, func(c *Config) { c.JWKS = set(t, with(s.jwk, "x", s.jwk["y"])) }},
			{"another key", facade.AssertionSignature, good, func(c *Config) { c.JWKS = newSigner(t).jwks }},
			{"tampered claims", facade.AssertionSignature, retag(t, good, claims(now, set1("sub", "alter:user:u2"))), nil},
			{"missing jti", facade.AssertionClaims, s.token(t, nil, claims(now, func(c jwt.MapClaims) { delete(c, "jti") })), nil},
			{"null alter", facade.AssertionClaims, s.token(t, nil, claims(now, set1("alter", nil))), nil},
			{"expired", facade.AssertionLifetime, s.token(t, nil, claims(now, set1("iat", now.Unix()-120), set1("exp", now.Unix()))), nil},
			{"not yet valid", facade.AssertionLifetime, s.token(t, nil, claims(now, set1("nbf", now.Unix()+60))), nil},
			{"issued in the future", facade.AssertionLifetime, s.token(t, nil, claims(now, set1("iat", now.Unix()+6))), nil},
			{"lives too long", facade.AssertionLifetime, s.token(t, nil, claims(now, set1("exp", now.Unix()+301))), nil},
			{"fractional iat", facade.AssertionLifetime, s.token(t, nil, claims(now, set1("iat", float64(now.Unix())+0.5))), nil},
			{"exp a string", facade.AssertionMalformed, s.token(t, nil, claims(now, set1("exp", "soon"))), nil},
			{"issuer", facade.AssertionClaims, good, func(c *Config) { c.Issuer = "https://evil.example" }},
			{"audience", facade.AssertionClaims, good, func(c *Config) { c.Audience = "urn:other" }},
			{"audience list", facade.AssertionClaims, s.token(t, nil, claims(now, set1("aud", []string{"urn:a", "urn:b"}))), nil},
			{"sub not a string", facade.AssertionClaims, s.token(t, nil, claims(now, set1("sub", 7))), nil},
			{"sub of no kind", facade.AssertionClaims, s.token(t, nil, claims(now, set1("sub", "alter:group:g"))), nil},
			{"empty jti", facade.AssertionClaims, s.token(t, nil, claims(now, set1("jti", ""))), nil},
			{"act without agent_auth", facade.AssertionClaims, s.token(t, nil, claims(now, set1("alter", map[string]any{"app_id": "app1"}))), nil},
			{"act not an agent", facade.AssertionClaims, s.token(t, nil, claims(now, set1("act", map[string]any{"sub": "alter:user:x"}))), nil},
			{"act not an object", facade.AssertionClaims, s.token(t, nil, claims(now, set1("act", "ag1"))), nil},
			{"another app", facade.AssertionBinding, good, func(c *Config) { c.AppID = "app2" }},
			{"azp of another app", facade.AssertionBinding, s.token(t, nil, claims(now, set1("azp", "app2"))), nil},
			{"subject is another app", facade.AssertionBinding, s.token(t, nil, claims(now, set1("sub", "alter:app:app2"))), nil},
			{"another agent", facade.AssertionBinding, good, func(c *Config) { c.AgentID = "ag2" }},
			{"no actor, agent expected", facade.AssertionBinding, s.token(t, nil, claims(now, set1("act", nil))), nil},
		}
		for _, tc := range cases { // t.Run is not allowed in a synctest bubble
			c := cfg
			if tc.cfg != nil {
				tc.cfg(&c)
			}
			reason(t, tc.name, tc.want, tc.token, c)
		}

		// accepted edges: iat 5 s ahead; a list audience holding ours; the app as subject
		edge := s.token(t, nil, claims(now, set1("iat", now.Unix()+5), set1("aud", []string{"urn:x", "urn:memory"}), set1("sub", "alter:app:app1")))
		id, err = Verify(edge, cfg)
		require.NoError(t, err)
		assert.Empty(t, id.AppUserID)
		_, err = id.AgentMemoryScope()
		require.NoError(t, err)

		// exp is strict: valid up to the second before it, and the identity expires with it
		v, err := NewVerifier(cfg)
		require.NoError(t, err)
		id, err = v.Verify(good)
		require.NoError(t, err)
		time.Sleep(119 * time.Second)
		_, err = v.Verify(good)
		require.NoError(t, err)
		time.Sleep(time.Second)
		_, err = v.Verify(good)
		require.ErrorIs(t, err, facade.MemoryAssertionInvalid)
		_, err = id.MemoryScope()
		require.ErrorIs(t, err, facade.MemoryIdentityExpired)
	})
}

func with(m map[string]any, k string, v any) map[string]any {
	out := map[string]any{}
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// unsigned is an alg none token.
func unsigned(t *testing.T, c jwt.MapClaims) string {
	tok := jwt.NewWithClaims(jwt.SigningMethodNone, c)
	tok.Header["typ"], tok.Header["kid"] = "alter-identity+jwt", "k1"
	out, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)
	return out
}

// retag puts other claims under good's header and signature.
func retag(t *testing.T, good string, c jwt.MapClaims) string {
	b, err := json.Marshal(c)
	require.NoError(t, err)
	p := strings.Split(good, ".")
	return p[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + p[2]
}

func TestVerifierConfig(t *testing.T) {
	ok := Config{Issuer: "i", Audience: "urn:a", JWKS: []byte(`{"keys":[]}`), AppID: "a"}
	_, err := NewVerifier(ok)
	require.NoError(t, err)
	for name, edit := range map[string]func(*Config){
		"no issuer":     func(c *Config) { c.Issuer = "" },
		"no audience":   func(c *Config) { c.Audience = "" },
		"no app":        func(c *Config) { c.AppID = "" },
		"no jwks":       func(c *Config) { c.JWKS = nil },
		"jwks no keys":  func(c *Config) { c.JWKS = []byte(`{"kid":"x"}`) },
		"jwks not JSON": func(c *Config) { c.JWKS = []byte(`{`) },
	} {
		c := ok
		edit(&c)
		_, err := NewVerifier(c)
		require.ErrorIs(t, err, facade.ErrInvalidInput, name)
	}
	v, err := NewVerifier(ok)
	require.NoError(t, err)
	_, err = v.Verify("")
	require.ErrorIs(t, err, facade.ErrInvalidInput)
	// a set with entries that can never match is fine
	s := newSigner(t)
	jwks, err := json.Marshal(map[string]any{"keys": []any{1, "x", map[string]any{"kid": 7}, s.jwk}})
	require.NoError(t, err)
	odd := Config{Issuer: "https://alter.example", Audience: "urn:memory", AppID: "app1", JWKS: jwks}
	_, err = Verify(s.token(t, nil, claims(time.Now())), odd)
	require.NoError(t, err)
}
