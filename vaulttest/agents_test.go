package vaulttest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAgentsAndKeys(t *testing.T) {
	s, app := newApp(t)
	create := map[string]any{"name": "scribe", "type": "agent", "scopes": map[string]any{"github": []string{"repo"}}, "metadata": map[string]any{}}
	idem := newClient(t, s, s.AppKey(), "Idempotency-Key", "k1")
	first := idem.post("/sdk/agents", create)
	expect(t, first, 200, "")
	a := first.obj(t)
	require.True(t, strings.HasPrefix(a["api_key"].(string), "alter_ak_"))
	replay := idem.post("/sdk/agents", create)
	expect(t, replay, 200, "")
	assert.Nil(t, replay.obj(t)["api_key"], "no plaintext on a replay")
	assert.Equal(t, a["id"], replay.obj(t)["id"])
	other := map[string]any{"name": "scribe2", "type": "agent", "scopes": map[string]any{}, "metadata": map[string]any{}}
	expect(t, idem.post("/sdk/agents", other), 422, "idempotency_key_body_mismatch")
	expect(t, app.post("/sdk/agents", create), 409, "agent_name_exists")
	id := a["id"].(string)

	// the new agent's key works at once
	me := newClient(t, s, a["api_key"].(string)).get("/sdk/agents/me")
	expect(t, me, 200, "")
	assert.Equal(t, "scribe", me.obj(t)["name"])

	// scope updates need expected_version; a narrowing is staged
	expect(t, app.do("PATCH", "/sdk/agents/"+id, map[string]any{"scopes": map[string]any{}}), 422, "")
	expect(t, app.do("PATCH", "/sdk/agents/"+id+"?expected_version=9", map[string]any{"scopes": map[string]any{}}), 409, "agent_concurrent_update")
	up := app.do("PATCH", "/sdk/agents/"+id+"?grace_seconds=60&expected_version=1", map[string]any{"scopes": map[string]any{}}).obj(t)
	assert.Equal(t, map[string]any{}, up["scopes_pending"])
	assert.NotNil(t, up["scopes_applies_at"])
	assert.EqualValues(t, 2, up["version"])
	wide := app.do("PATCH", "/sdk/agents/"+id+"?expected_version=2", map[string]any{"scopes": map[string]any{"github": []string{"repo", "workflow"}}}).obj(t)
	assert.Nil(t, wide["scopes_pending"], "widening applies at once")
	sus := app.do("PATCH", "/sdk/agents/"+id, map[string]any{"status": "inactive"}).obj(t)
	assert.Equal(t, "inactive", sus["status"])
	expect(t, newClient(t, s, a["api_key"].(string)).get("/sdk/scopes"), 401, "agent_inactive")
	app.do("PATCH", "/sdk/agents/"+id, map[string]any{"status": "active"})

	// keys
	keyID := a["key_id"].(string)
	expect(t, app.do("DELETE", "/sdk/agents/"+id+"/keys/"+keyID, nil), 409, "last_active_key")
	k2 := app.post("/sdk/agents/"+id+"/keys", []byte(`{}`)).obj(t)
	assert.Equal(t, "scribe-2", k2["name"])
	dep := app.do("PATCH", "/sdk/agents/"+id+"/keys/"+k2["key_id"].(string)+"/deprecate", []byte(`{}`)).obj(t)
	assert.NotNil(t, dep["deprecated_at"])
	r := newClient(t, s, k2["api_key"].(string)).get("/sdk/agents/me")
	assert.Equal(t, "true", r.header.Get("X-Alter-Key-Deprecated"))
	expect(t, app.do("DELETE", "/sdk/agents/"+id+"/keys/"+keyID, nil), 200, "")
	expect(t, app.do("PATCH", "/sdk/agents/"+id+"/keys/"+keyID+"/deprecate", []byte(`{}`)), 409, "key_revoked")
	expect(t, app.do("DELETE", "/sdk/agents/"+id+"/keys/"+k2["key_id"].(string)+"?force=true", nil), 200, "")
	keys := app.get("/sdk/agents/" + id + "/keys").obj(t)["items"].([]any)
	assert.Len(t, keys, 2)
	expect(t, app.get("/sdk/agents/00000000-0000-4000-8000-000000000000"), 404, "agent_not_found")
	expect(t, app.do("PATCH", "/sdk/agents/"+id+"/keys/00000000-0000-4000-8000-000000000000/deprecate", []byte(`{}`)), 404, "key_not_found")

	// delete is idempotent; the replay of a revoked agent's creation is refused
	expect(t, app.do("DELETE", "/sdk/agents/"+id, nil), 200, "")
	del := app.do("DELETE", "/sdk/agents/"+id, nil)
	expect(t, del, 200, "")
	assert.Equal(t, "revoked", del.obj(t)["status"])
	expect(t, idem.post("/sdk/agents", create), 409, "idempotency_key_agent_revoked")
	list := app.get("/sdk/agents").obj(t)
	assert.EqualValues(t, 0, list["total"])
	assert.EqualValues(t, 1, app.get("/sdk/agents?include_revoked=true").obj(t)["total"])
}

func TestScopedKeys(t *testing.T) {
	s, app := newApp(t)
	expect(t, app.post("/sdk/keys/derive", map[string]any{"scopes": []string{"keys:derive"}, "expires_in": 60}), 400, "invalid_scope_for_derived_key")
	narrow := s.AddAppKey(KeyScopes("keys:derive", "providers:read"))
	nc := newClient(t, s, narrow.APIKey)
	expect(t, nc.post("/sdk/keys/derive", map[string]any{"scopes": []string{"agents:read"}, "expires_in": 60}), 403, "insufficient_scope")
	dk := nc.post("/sdk/keys/derive", map[string]any{"scopes": []string{"providers:read"}, "expires_in": 999999}).obj(t)
	assert.Equal(t, "dk", dk["key_type"])
	assert.Equal(t, narrow.ID.String(), dk["parent_key_id"])
	dc := newClient(t, s, dk["api_key"].(string))
	expect(t, dc.get("/sdk/oauth/provider-catalog"), 200, "")
	expect(t, dc.get("/sdk/agents"), 403, "insufficient_scope")
	expect(t, app.post("/sdk/keys/"+dk["id"].(string)+"/rotate", map[string]any{"overlap_days": 0}), 400, "invalid_scope_for_derived_key")
	// revoking the parent revokes what was derived from it
	rv := app.do("DELETE", "/sdk/keys/"+narrow.ID.String(), nil).obj(t)
	assert.NotNil(t, rv["revoked_at"])
	expect(t, dc.get("/sdk/oauth/provider-catalog"), 401, "key_revoked")
	expect(t, app.do("DELETE", "/sdk/keys/00000000-0000-4000-8000-000000000000", nil), 404, "key_not_found")
	// an agent administers only its own keys
	bot := s.AddAgent("bot")
	bc := newClient(t, s, bot.APIKey)
	expect(t, bc.do("DELETE", "/sdk/keys/"+narrow.ID.String(), nil), 404, "key_not_found")
	rot := bc.post("/sdk/keys/"+bot.KeyID.String()+"/rotate", map[string]any{"overlap_days": 1}).obj(t)
	assert.True(t, strings.HasPrefix(rot["api_key"].(string), "alter_ak_"))
	expect(t, newClient(t, s, rot["api_key"].(string)).get("/sdk/agents/me"), 200, "")
}

func TestGrantsListAndRevoke(t *testing.T) {
	s := NewTestServer(t)
	d := SeedDemo(s)
	app := newClient(t, s, d.AppKey)
	all := app.post("/sdk/grants/list", map[string]any{"limit": 100, "offset": 0}).obj(t)
	assert.EqualValues(t, 7, all["total"]) // the demo grants, the AWS one included
	mine := app.post("/sdk/grants/list", map[string]any{"limit": 1, "offset": 0, "user_token": d.User.Token, "provider_id": "github"}).obj(t)
	assert.EqualValues(t, 2, mine["total"])
	assert.Equal(t, true, mine["has_more"])
	g := mine["grants"].([]any)[0].(map[string]any)
	assert.Equal(t, "oauth", g["grant_kind"])
	assert.Equal(t, []any{d.Agent.ID.String()}, g["delegated_agent_ids"])
	bot := newClient(t, s, d.Agent.APIKey)
	view := bot.post("/sdk/grants/list", map[string]any{"limit": 100, "offset": 0, "provider_id": "stripe"}).obj(t)
	require.EqualValues(t, 1, view["total"])
	ms := view["grants"].([]any)[0].(map[string]any)
	assert.Equal(t, "managed_secret", ms["grant_kind"])
	assert.Equal(t, d.ManagedSecretID.String(), ms["managed_secret_id"])
	expect(t, app.post("/sdk/grants/list", map[string]any{"limit": 100, "offset": 0, "user_token": "bad"}), 401, "jwt_validation_error")

	// revoke: an agent only what it is the principal of; revoked grants are gone for the caller
	expect(t, bot.post("/sdk/oauth/grants/"+d.GrantID.String()+"/revoke", map[string]any{}), 404, "grant_not_found")
	rv := app.post("/sdk/oauth/grants/"+d.GrantID.String()+"/revoke", map[string]any{"reason": "left"}).obj(t)
	assert.Equal(t, true, rv["success"])
	expect(t, app.post("/sdk/oauth/grants/"+d.GrantID.String()+"/revoke", map[string]any{}), 404, "grant_not_found")
	expect(t, bot.post("/sdk/token", tokenBody("grant_id", d.GrantID.String())), 403, "grant_revoked")

	// managed-secret grants
	alice := map[string]any{"type": "user", "user_token": d.User.Token, "label": "work"}
	expect(t, app.post("/sdk/managed-secrets/"+d.ManagedSecretID.String()+"/grants", map[string]any{"principal": alice, "grant_policy": map[string]any{}}), 200, "")
	expect(t, app.post("/sdk/managed-secrets/stripe/grants", map[string]any{"principal": alice, "grant_policy": map[string]any{}}), 409, "sibling_label_conflict")
	expect(t, app.post("/sdk/managed-secrets/nope/grants", map[string]any{"principal": alice, "grant_policy": map[string]any{}}), 404, "grant_not_found")
	expect(t, app.post("/sdk/managed-secrets/stripe/grants", map[string]any{"principal": map[string]any{"type": "agent", "label": nil}, "grant_policy": map[string]any{}}), 422, "")
	tok := app.post("/sdk/token", tokenBody("provider_id", "stripe", "user_token", d.User.Token)).obj(t)
	assert.Equal(t, "X-API-Key", tok["injection_header"])
}

func TestBadBodies(t *testing.T) {
	s, app := newApp(t)
	for _, b := range []string{`{`, `[]`, `{"grant_id": 1}`, `null`} {
		r := app.post("/sdk/token", []byte(b))
		assert.Equal(t, 422, r.status, "%s → %s", b, r.body)
	}
	big := NewTestServer(t, WithMaxBodyBytes(16))
	r := newClient(t, big, big.AppKey()).post("/sdk/auth/verify-token", map[string]any{"token": strings.Repeat("x", 64)})
	assert.Equal(t, 413, r.status)
	// group principals on managed secrets
	s.AddManagedSecret("db", "Database", "pw", BasicInjection())
	expect(t, app.post("/sdk/managed-secrets/db/grants", map[string]any{"principal": map[string]any{"type": "group",
		"external_group_id": "eng", "idp_id": "okta", "label": "eng"}, "grant_policy": map[string]any{}}), 200, "")
}
