package vaulttest

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func req(method, url string) map[string]any { return map[string]any{"method": method, "url": url} }

// TestEveryOperation drives each of the 42 operations through its happy path; NewTestServer
// fails the test if any request or answer broke openapi.yaml.
func TestEveryOperation(t *testing.T) {
	s := NewTestServer(t)
	d := SeedDemo(s)
	app := newClient(t, s, d.AppKey)
	bot := newClient(t, s, d.Agent.APIKey)
	up := d.UpstreamURL

	// E1, E2, E18
	tok := app.post("/sdk/token", map[string]any{"grant_id": d.GrantID.String(), "reason": "sync", "request": req("GET", up+"/a")})
	expect(t, tok, 200, "")
	assert.Equal(t, d.GrantID.String(), tok.obj(t)["grant_id"])
	audit := map[string]any{"grant_id": d.GrantID.String(), "provider_id": "github", "token_generation": tok.obj(t)["token_generation"],
		"method": "GET", "url": up + "/a", "request_headers": map[string]string{"User-Agent": "t"}, "request_body": nil,
		"response_status": 200, "response_headers": map[string]string{"content-type": "application/json"},
		"response_body": "{}", "latency_ms": 3, "reason": "sync", "context": map[string]string{"run_id": "r1"}}
	expect(t, app.post("/sdk/oauth/audit/api-call", audit), 200, "")
	expect(t, app.post("/sdk/grants/"+d.GrantID.String()+"/report-scope-mismatch", map[string]any{
		"provider_status_code": 403, "provider_error_code": "insufficient_scope", "missing_scopes": []string{"repo"},
		"raw_www_authenticate": `Bearer error="insufficient_scope"`, "api_endpoint": up + "/a",
		"detection_source": "www_authenticate_rfc6750", "sdk_correlation_id": "abcdefghijklmnopqrstuv"}), 204, "")

	// E3 (sync and held), E4, E5
	px := bot.post("/sdk/proxy", map[string]any{"method": "POST", "url": up + "/echo", "grant_id": d.GrantID.String(), "body": map[string]any{"a": 1}})
	expect(t, px, 200, "")
	assert.EqualValues(t, 200, px.obj(t)["status_code"])
	held := bot.post("/sdk/proxy", map[string]any{"method": "POST", "url": up + "/deploy", "grant_id": d.ApprovalGrantID.String()})
	expect(t, held, 202, "")
	apID := held.obj(t)["approval_id"].(string)
	expect(t, bot.get("/sdk/approvals/"+apID), 200, "")
	require.NoError(t, s.Approve(apID))
	st := bot.get("/sdk/approvals/" + apID + "?wait=1")
	expect(t, st, 200, "")
	assert.Equal(t, "executed", st.obj(t)["status"])
	expect(t, bot.get("/sdk/approvals/"+apID+"/result"), 200, "")

	// E6, E7, E8
	cs := app.post("/sdk/oauth/connect/session", map[string]any{"allowed_providers": []string{"github"}, "return_url": nil,
		"allowed_origin": nil, "metadata": nil, "user_token": d.User.Token})
	expect(t, cs, 200, "")
	sessTok := cs.obj(t)["session_token"].(string)
	expect(t, app.post("/sdk/oauth/connect/session/poll", map[string]any{"session_token": sessTok}), 200, "")
	require.NoError(t, s.CompleteConnectSession(sessTok, "github", "alice@new.example"))
	done := app.post("/sdk/oauth/connect/session/poll", map[string]any{"session_token": sessTok})
	expect(t, done, 200, "")
	assert.Equal(t, "completed", done.obj(t)["status"])
	ms := app.post("/sdk/managed-secrets/connect/session", map[string]any{"provider": d.ManagedSecretSlug, "agent": d.Agent.ID.String(), "user_token": d.User.Token})
	expect(t, ms, 200, "")
	assert.Equal(t, "key_entry", ms.obj(t)["path"])

	// E9, E10, E11
	as := app.post("/sdk/auth/session", []byte(`{}`))
	expect(t, as, 201, "")
	asTok := as.obj(t)["session_token"].(string)
	require.NoError(t, s.CompleteAuthSession(asTok, "bob"))
	ap := app.post("/sdk/auth/poll", map[string]any{"session_token": asTok, "wait_ms": 1000})
	expect(t, ap, 200, "")
	bobTok := ap.obj(t)["user_token"].(string)
	v := app.post("/sdk/auth/verify-token", map[string]any{"token": bobTok})
	expect(t, v, 200, "")
	assert.Equal(t, "bob", v.obj(t)["sub"])

	// E12, E13, E14, E15, E16, E17, E19
	lg := bot.post("/sdk/grants/list", map[string]any{"limit": 100, "offset": 0})
	expect(t, lg, 200, "")
	assert.EqualValues(t, 5, lg.obj(t)["total"]) // its GitHub, Google, approval and managed-secret grants, and its own Slack grant
	helper := s.AddAgent("helper")
	s.Delegate(d.GoogleGrantID, d.Agent.ID)
	s.mu.Lock()
	s.grants[d.GoogleGrantID].delegated[d.Agent.ID].delegable = true
	s.mu.Unlock()
	expect(t, bot.post("/sdk/grants/"+d.GoogleGrantID.String()+"/delegate", map[string]any{"to_agent_id": helper.ID.String()}), 200, "")
	expect(t, app.do("DELETE", "/sdk/grants/"+d.GoogleGrantID.String()+"/delegations/"+helper.ID.String(), []byte{}), 204, "")
	expect(t, bot.do("DELETE", "/sdk/grants/"+d.GoogleGrantID.String()+"/delegations/me", []byte{}), 204, "")
	expect(t, app.post("/sdk/grants/"+d.SecondGitHubGrantID.String()+"/mint", map[string]any{"label": "read-only"}), 200, "")
	expect(t, app.post("/sdk/managed-secrets/"+d.ManagedSecretID.String()+"/grants", map[string]any{
		"principal": map[string]any{"type": "system", "label": nil}, "grant_policy": map[string]any{}}), 200, "")
	expect(t, app.post("/sdk/oauth/grants/"+d.SecondGitHubGrantID.String()+"/revoke", map[string]any{"reason": "done"}), 200, "")

	// E20–E30
	expect(t, bot.get("/sdk/agents/me"), 200, "")
	created := app.post("/sdk/agents", map[string]any{"name": "writer", "type": "agent", "scopes": map[string]any{"github": []string{"repo"}}, "metadata": map[string]any{}})
	expect(t, created, 200, "")
	agentID := created.obj(t)["id"].(string)
	assert.True(t, strings.HasPrefix(created.obj(t)["api_key"].(string), "alter_ak_"))
	expect(t, app.get("/sdk/agents?include_revoked=false&limit=100&offset=0"), 200, "")
	expect(t, app.get("/sdk/agents?name=writer"), 200, "")
	expect(t, app.get("/sdk/agents/"+agentID), 200, "")
	expect(t, app.do("PATCH", "/sdk/agents/"+agentID, map[string]any{"display_name": "Writer"}), 200, "")
	mk := app.post("/sdk/agents/"+agentID+"/keys", []byte(`{}`))
	expect(t, mk, 200, "")
	keyID := mk.obj(t)["key_id"].(string)
	expect(t, app.get("/sdk/agents/"+agentID+"/keys"), 200, "")
	expect(t, app.do("PATCH", "/sdk/agents/"+agentID+"/keys/"+keyID+"/deprecate", []byte(`{}`)), 200, "")
	expect(t, app.do("PATCH", "/sdk/agents/"+agentID+"/keys/"+keyID+"/undeprecate", []byte(`{}`)), 200, "")
	expect(t, app.do("DELETE", "/sdk/agents/"+agentID+"/keys/"+keyID, nil), 200, "")
	expect(t, app.do("DELETE", "/sdk/agents/"+agentID, nil), 200, "")

	// E31–E33
	dk := app.post("/sdk/keys/derive", map[string]any{"scopes": []string{"tokens:read"}, "expires_in": 3600})
	expect(t, dk, 200, "")
	assert.True(t, strings.HasPrefix(dk.obj(t)["api_key"].(string), "alter_dk_"))
	extra := s.AddAppKey()
	rot := app.post("/sdk/keys/"+extra.ID.String()+"/rotate", map[string]any{"overlap_days": 1})
	expect(t, rot, 200, "")
	expect(t, app.do("DELETE", "/sdk/keys/"+dk.obj(t)["id"].(string), nil), 200, "")

	// E34–E40
	expect(t, app.get("/sdk/scopes"), 200, "")
	expect(t, app.get("/sdk/oauth/provider-catalog"), 200, "")
	expect(t, app.get("/sdk/provider-specs?kind=oauth"), 200, "")
	expect(t, app.get("/sdk/provider-specs/oauth/github"), 200, "")
	expect(t, app.get("/sdk/provider-specs/oauth/github/operations?limit=100&offset=0"), 200, "")
	expect(t, app.get("/sdk/provider-specs/oauth/github/operation?operation_id=repos%2Fget"), 200, "")
	expect(t, app.post("/sdk/spans", map[string]any{"spans": []map[string]any{{"trace_id": "t1", "name": "n", "start_time": "2024-01-01T00:00:00Z", "attributes": map[string]string{}}}}), 200, "")

	// E41, E42
	id := app.post("/sdk/identity/resolve", map[string]any{"include_profile": true, "user_token": d.User.Token})
	expect(t, id, 200, "")
	assert.Equal(t, d.User.AppUserID.String(), id.obj(t)["app_user_id"])
	as2 := bot.post("/sdk/identity/assert", map[string]any{"include_profile": false, "app_user_id": d.User.AppUserID.String(), "audience": "https://api.example.com/"})
	expect(t, as2, 200, "")

	for _, op := range []string{"retrieveToken", "recordApiCall", "proxyRequest", "getAgentMe", "assertIdentity"} {
		assert.Positive(t, s.CallCount(op), op)
	}
	_ = uuid.Nil
}
