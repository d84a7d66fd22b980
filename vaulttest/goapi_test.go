package vaulttest

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGoSeedingAPI(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	s, err := Start(WithClock(func() time.Time { return now }), WithAddr("127.0.0.1:0"))
	require.NoError(t, err)
	defer s.Close()
	defer s.RequireNoViolations(t)
	assert.Equal(t, s.URL(), s.RootURL())
	assert.NotEqual(t, s.AppID(), UUID{})

	k := s.AddAppKey()
	kc := newClient(t, s, k.APIKey)
	s.SetKeyState(k.ID, KeyRevoked)
	expect(t, kc.get("/sdk/scopes"), 401, "key_revoked")
	s.SetKeyState(k.ID, KeyActive)
	expect(t, kc.get("/sdk/scopes"), 200, "")
	s.SetKeyState(k.ID, KeyDeprecated)
	assert.Equal(t, "true", kc.get("/sdk/scopes").header.Get("X-Alter-Key-Deprecated"))

	// a staged scope narrowing applies once its grace period is over
	bot := s.AddAgent("bot", AgentDisplayName("Bot"), AgentScopes(map[string][]string{"github": {"repo"}}))
	app := newClient(t, s, s.AppKey())
	info := app.do("PATCH", "/sdk/agents/"+bot.ID.String()+"?grace_seconds=60&expected_version=1", map[string]any{"scopes": map[string]any{}}).obj(t)
	assert.Equal(t, "Bot", info["display_name"])
	assert.NotNil(t, info["scopes_pending"])
	now = now.Add(time.Minute)
	info = app.get("/sdk/agents/" + bot.ID.String()).obj(t)
	assert.Nil(t, info["scopes_pending"])
	assert.Equal(t, map[string]any{}, info["scopes"])

	// the handler mounts elsewhere
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/connect/nope", nil))
	assert.Equal(t, 404, rec.Code)

	// managed-secret completion through the dev API
	alice := s.AddUser("alice")
	s.AddManagedSecret("db", "Database", "pw", HeaderInjection("X-Db-Key"))
	ms := app.post("/sdk/managed-secrets/connect/session", map[string]any{"provider": "db", "user_token": alice.Token}).obj(t)
	st, b := devCall(t, s, "POST", "/_dev/managed-secrets/"+ms["session_token"].(string)+"/complete", map[string]any{})
	require.Equal(t, 200, st, "%s", b)
	st, _ = devCall(t, s, "POST", "/_dev/managed-secrets/"+ms["session_token"].(string)+"/complete", map[string]any{})
	assert.Equal(t, 409, st)
	tok := app.post("/sdk/token", tokenBody("provider_id", "db", "user_token", alice.Token)).obj(t)
	assert.Equal(t, "pw", tok["access_token"], "the operator's credential without a key of the user's own")
	assert.Equal(t, UUID{}, s.AddManagedSecretGrant("nope", bot.ID))

	// onward delegation needs delegable: true
	g := s.AddOAuthGrant(OAuthGrant{Provider: "notion", UserSub: "alice", DelegatedTo: []UUID{bot.ID}})
	helper := s.AddAgent("helper")
	bc := newClient(t, s, bot.APIKey)
	expect(t, bc.post("/sdk/grants/"+g.String()+"/delegate", map[string]any{"to_agent_id": helper.ID.String()}), 403, "grant_not_delegable")
	expect(t, app.post("/sdk/grants/"+g.String()+"/delegate", map[string]any{"to_agent_id": helper.ID.String()}), 403, "agent_key_required")
	expect(t, bc.post("/sdk/grants/00000000-0000-4000-8000-000000000000/delegate", map[string]any{"to_agent_id": helper.ID.String()}), 404, "grant_not_found")

	// identity rules on resolve
	expect(t, app.post("/sdk/identity/resolve", map[string]any{"include_profile": false, "app_user_id": alice.AppUserID.String()}), 400, "")
	expect(t, newClient(t, s, helper.APIKey).post("/sdk/identity/resolve", map[string]any{"include_profile": false, "app_user_id": alice.AppUserID.String()}), 404, "")
	expect(t, app.post("/sdk/identity/assert", map[string]any{"include_profile": false, "audience": "no scheme"}), 422, "")
}
