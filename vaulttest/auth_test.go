package vaulttest

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/internal/signing"
)

func TestSignatureRefusals(t *testing.T) {
	s, app := newApp(t)
	body := []byte(`{"token":"x"}`)

	t.Run("bad body hash", func(t *testing.T) {
		r := app.send(app.request("POST", "/sdk/auth/verify-token", body, func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"token":"y"}`)) // same length, other bytes
		}))
		expect(t, r, 401, "invalid_signature")
	})
	t.Run("tampered query", func(t *testing.T) {
		r := app.send(app.request("GET", "/sdk/agents?limit=5", nil, func(r *http.Request) { r.URL.RawQuery = "limit=6" }))
		expect(t, r, 401, "invalid_signature")
	})
	t.Run("wrong key", func(t *testing.T) {
		other := s.AddAppKey()
		r := app.send(app.request("GET", "/sdk/scopes", nil, func(r *http.Request) { r.Header.Set(signing.HeaderAPIKey, other.APIKey) }))
		expect(t, r, 401, "invalid_signature")
	})
	t.Run("unsigned", func(t *testing.T) {
		r := app.send(app.request("GET", "/sdk/scopes", nil, func(r *http.Request) { r.Header.Del(signing.HeaderSignature) }))
		expect(t, r, 401, "invalid_signature")
	})
	t.Run("identity header stripped of V2", func(t *testing.T) {
		c := newClient(t, s, s.AppKey(), signing.HeaderCaller, "billing-cron", signing.HeaderCallerType, "service")
		r := c.send(c.request("GET", "/sdk/scopes", nil, func(r *http.Request) { r.Header.Del(signing.HeaderSignatureV2) }))
		expect(t, r, 401, "invalid_signature")
		expect(t, c.get("/sdk/scopes"), 200, "")
	})
	t.Run("stale timestamp", func(t *testing.T) {
		r := app.send(app.request("GET", "/sdk/scopes", nil, func(r *http.Request) {
			signing.Sign(r, signing.DeriveKey(s.AppKey()), nil, s.now().Add(-301*time.Second), "")
		}))
		expect(t, r, 401, "request_expired")
		r = app.send(app.request("GET", "/sdk/scopes", nil, func(r *http.Request) {
			signing.Sign(r, signing.DeriveKey(s.AppKey()), nil, s.now().Add(299*time.Second), "")
		}))
		expect(t, r, 200, "")
	})
	t.Run("replayed nonce", func(t *testing.T) {
		req := app.request("GET", "/sdk/scopes", nil, nil)
		expect(t, app.send(req.Clone(bg)), 200, "")
		expect(t, app.send(req.Clone(bg)), 401, "nonce_replayed")
		// the same nonce under another key is not a replay
		other := s.AddAppKey()
		oc := newClient(t, s, other.APIKey)
		expect(t, oc.send(oc.request("GET", "/sdk/scopes", nil, func(r *http.Request) {
			signing.SignWith(r, signing.DeriveKey(other.APIKey), nil, s.now(), req.Header.Get(signing.HeaderNonce), "")
		})), 200, "")
	})
	t.Run("unknown key", func(t *testing.T) {
		c := newClient(t, s, "alter_rk_abcdefghijklmnopqrstuv_iwpykn")
		r := c.get("/sdk/scopes")
		expect(t, r, 401, "invalid_key")
		assert.NotEmpty(t, r.header.Get("X-Request-ID"))
		assert.NotEmpty(t, r.header.Get("X-RateLimit-Limit"))
	})
}

func TestSignatureWindowOption(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s, app := newApp(t, WithClock(func() time.Time { return now }), WithSignatureWindow(10*time.Second))
	r := app.send(app.request("GET", "/sdk/scopes", nil, func(r *http.Request) {
		signing.Sign(r, signing.DeriveKey(s.AppKey()), nil, now.Add(-11*time.Second), "")
	}))
	expect(t, r, 401, "request_expired")
	expect(t, app.get("/sdk/scopes"), 200, "")
}

func TestKeyStates(t *testing.T) {
	s := NewTestServer(t)
	for _, tc := range []struct {
		opt  KeyOption
		code string
	}{{KeyRevoked(), "key_revoked"}, {KeyExpired(), "key_expired"}} {
		k := s.AddAppKey(tc.opt)
		expect(t, newClient(t, s, k.APIKey).get("/sdk/scopes"), 401, tc.code)
	}
	dep := s.AddAppKey(KeyDeprecated())
	r := newClient(t, s, dep.APIKey).get("/sdk/scopes")
	expect(t, r, 200, "")
	assert.Equal(t, "true", r.header.Get("X-Alter-Key-Deprecated"))
	legacy := s.AddAppKey(KeyLegacy())
	assert.True(t, strings.HasPrefix(legacy.APIKey, "alter_key_"))
	expect(t, newClient(t, s, legacy.APIKey).get("/sdk/scopes"), 200, "")

	// rotation: the old key works through its overlap, then key_rotated_grace_expired
	now := time.Now()
	s2 := NewTestServer(t, WithClock(func() time.Time { return now }))
	old := s2.AddAppKey()
	oc := newClient(t, s2, old.APIKey)
	expect(t, oc.post("/sdk/keys/"+old.ID.String()+"/rotate", map[string]any{"overlap_days": 1}), 200, "")
	r = oc.get("/sdk/scopes")
	expect(t, r, 200, "")
	assert.Equal(t, "true", r.header.Get("X-Alter-Key-Deprecated"))
	now = now.Add(25 * time.Hour)
	expect(t, oc.get("/sdk/scopes"), 401, "key_rotated_grace_expired")

	// scopes
	narrow := s.AddAppKey(KeyScopes("providers:read"))
	nc := newClient(t, s, narrow.APIKey)
	expect(t, nc.get("/sdk/oauth/provider-catalog"), 200, "")
	r = nc.get("/sdk/agents")
	expect(t, r, 403, "insufficient_scope")
	assert.Equal(t, []any{"agents:read"}, r.obj(t)["detail"].(map[string]any)["missing"])
	cc := newClient(t, s, s.AppKey(), signing.HeaderScopeConstraints, "providers:read")
	expect(t, cc.get("/sdk/agents"), 403, "insufficient_scope")
	wide := newClient(t, s, narrow.APIKey, signing.HeaderScopeConstraints, "agents:read")
	expect(t, wide.get("/sdk/oauth/provider-catalog"), 400, "constraint_not_narrowing")
}

func TestRateLimitHeaders(t *testing.T) {
	now := time.Unix(1_800_000_030, 0)
	_, app := newApp(t, WithClock(func() time.Time { return now }), WithRateLimit(2))
	r := app.get("/sdk/scopes")
	assert.Equal(t, "2", r.header.Get("X-RateLimit-Limit"))
	assert.Equal(t, "1", r.header.Get("X-RateLimit-Remaining"))
	assert.Equal(t, "1800000060", r.header.Get("X-RateLimit-Reset"))
	expect(t, app.get("/sdk/scopes"), 200, "")
	r = app.get("/sdk/scopes")
	expect(t, r, 429, "rate_limit_exceeded")
	assert.Equal(t, "30", r.header.Get("Retry-After"))
	assert.Equal(t, "0", r.header.Get("X-RateLimit-Remaining"))
	now = now.Add(30 * time.Second)
	expect(t, app.get("/sdk/scopes"), 200, "")
}

func TestActorIDs(t *testing.T) {
	s := NewTestServer(t)
	bot := s.AddAgent("bot")
	app := newClient(t, s, s.AppKey()).get("/sdk/scopes").header.Get(signing.HeaderActorID)
	again := newClient(t, s, s.AppKey()).get("/sdk/scopes").header.Get(signing.HeaderActorID)
	assert.Equal(t, app, again, "stable per principal")
	cron := newClient(t, s, s.AppKey(), signing.HeaderCaller, "billing-cron", signing.HeaderCallerType, "service").get("/sdk/scopes")
	assert.NotEqual(t, app, cron.header.Get(signing.HeaderActorID))
	assert.Len(t, cron.header.Get(signing.HeaderActorID), 36)
	agent := newClient(t, s, bot.APIKey).get("/sdk/scopes")
	assert.Equal(t, bot.ID.String(), agent.header.Get(signing.HeaderActorID))
	imp := newClient(t, s, s.AppKey(), signing.HeaderCaller, bot.ID.String(), signing.HeaderCallerType, "agent").get("/sdk/agents/me")
	expect(t, imp, 200, "")
	assert.Empty(t, imp.header.Get(signing.HeaderActorID), "no actor for an impersonated managed agent")
	require.Equal(t, bot.ID.String(), imp.obj(t)["id"])
}
