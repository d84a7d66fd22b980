package vaulttest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/internal/signing"
)

func tokenBody(kv ...any) map[string]any {
	return withKV(map[string]any{"reason": nil, "request": req("GET", "https://api.example.com/x")}, kv...)
}

// withKV sets the key, value pairs of kv in m and returns it.
func withKV(m map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// TestIdentityRules covers the server-side rules of transport.md §9.2.
func TestIdentityRules(t *testing.T) {
	s, d, app, bot := newDemo(t)
	other := s.AddAgent("other")
	oc := newClient(t, s, other.APIKey)
	bob := s.AddUser("bob")

	t.Run("agent reaches a user's grant only through its delegation", func(t *testing.T) {
		expect(t, bot.post("/sdk/token", tokenBody("grant_id", d.GrantID.String())), 200, "")
		expect(t, bot.post("/sdk/token", tokenBody("grant_id", d.SecondGitHubGrantID.String())), 404, "grant_not_found")
		expect(t, oc.post("/sdk/token", tokenBody("grant_id", d.GrantID.String())), 404, "grant_not_found")
		expect(t, oc.post("/sdk/token", tokenBody("provider_id", "github", "user_token", d.User.Token)), 404, "no_delegated_grant")
		// its own grant, no delegation needed
		expect(t, bot.post("/sdk/token", tokenBody("grant_id", d.AgentGrantID.String())), 200, "")
	})
	t.Run("a user token only chooses among the agent's delegations", func(t *testing.T) {
		// alice has two GitHub grants, one delegated: the agent resolves to that one, no ambiguity
		r := bot.post("/sdk/token", tokenBody("provider_id", "github", "user_token", d.User.Token))
		expect(t, r, 200, "")
		assert.Equal(t, d.GrantID.String(), r.obj(t)["grant_id"])
		// bob has nothing delegated
		r = bot.post("/sdk/token", tokenBody("provider_id", "github", "user_token", bob.Token))
		expect(t, r, 404, "no_delegated_grant")
		det := r.obj(t)["detail"].(map[string]any)
		assert.Equal(t, "github", det["provider_id"])
		assert.Equal(t, d.Agent.ID.String(), det["agent_id"])
		// direct mode with another user's token
		expect(t, bot.post("/sdk/token", tokenBody("grant_id", d.GrantID.String(), "user_token", bob.Token)), 404, "grant_not_found")
		// without a user, the agent has two GitHub delegations (alice's and ops's): ambiguous
		expect(t, bot.post("/sdk/token", tokenBody("provider_id", "github")), 409, "ambiguous_grant")
	})
	t.Run("app provider mode", func(t *testing.T) {
		r := app.post("/sdk/token", tokenBody("provider_id", "github", "user_token", d.User.Token))
		expect(t, r, 409, "ambiguous_grant")
		det := r.obj(t)["detail"].(map[string]any)
		assert.Len(t, det["candidates"], 2)
		assert.ElementsMatch(t, []any{"alice@work.example", "alice@home.example"}, det["account_identifiers"])
		r = app.post("/sdk/token", tokenBody("provider_id", "github", "user_token", d.User.Token, "account", "alice@home.example"))
		expect(t, r, 200, "")
		assert.Equal(t, d.SecondGitHubGrantID.String(), r.obj(t)["grant_id"])
		r = app.post("/sdk/token", tokenBody("provider_id", "github", "app_user_id", d.User.AppUserID.String(), "account", "alice@work.example"))
		expect(t, r, 200, "")
		expect(t, app.post("/sdk/token", tokenBody("provider_id", "notion", "user_token", d.User.Token)), 404, "grant_not_found")
		expect(t, app.post("/sdk/token", tokenBody("provider_id", "github", "user_token", "not.a.jwt")), 401, "jwt_validation_error")
	})
	t.Run("caller rules", func(t *testing.T) {
		mismatch := newClient(t, s, d.Agent.APIKey, signing.HeaderCaller, other.ID.String(), signing.HeaderCallerType, "agent")
		expect(t, mismatch.get("/sdk/agents/me"), 400, "caller_agent_mismatch")
		own := newClient(t, s, d.Agent.APIKey, signing.HeaderCaller, d.Agent.ID.String(), signing.HeaderCallerType, "agent")
		expect(t, own.get("/sdk/agents/me"), 200, "")
		unknown := newClient(t, s, d.AppKey, signing.HeaderCaller, "00000000-0000-4000-8000-000000000001", signing.HeaderCallerType, "agent")
		expect(t, unknown.get("/sdk/agents/me"), 404, "caller_agent_unresolved")
		imp := newClient(t, s, d.AppKey, signing.HeaderCaller, d.Agent.ID.String(), signing.HeaderCallerType, "agent")
		r := imp.post("/sdk/token", tokenBody("provider_id", "github", "user_token", d.User.Token))
		expect(t, r, 200, "")
		assert.Equal(t, d.GrantID.String(), r.obj(t)["grant_id"], "impersonation follows the agent's delegations")
		expect(t, newClient(t, s, d.AppKey).get("/sdk/agents/me"), 403, "me_requires_agent_key")
	})
	t.Run("agent states", func(t *testing.T) {
		paused := s.AddAgent("paused", AgentInactive())
		pc := newClient(t, s, paused.APIKey)
		expect(t, pc.get("/sdk/scopes"), 401, "agent_inactive")
		expect(t, pc.get("/sdk/agents/me"), 200, "")
		gone := s.AddAgent("gone")
		expect(t, app.do("DELETE", "/sdk/agents/"+gone.ID.String(), nil), 200, "")
		expect(t, newClient(t, s, gone.APIKey).get("/sdk/scopes"), 401, "key_revoked")
		expect(t, newClient(t, s, d.AppKey, signing.HeaderCaller, gone.ID.String()).get("/sdk/scopes"), 401, "agent_revoked")
	})
	t.Run("delegation paths", func(t *testing.T) {
		expect(t, bot.do("DELETE", "/sdk/grants/"+d.GrantID.String()+"/delegations/"+d.Agent.ID.String(), []byte{}), 403, "use_self_revoke_path")
		expect(t, app.do("DELETE", "/sdk/grants/"+d.GrantID.String()+"/delegations/me", []byte{}), 403, "agent_key_required")
		expect(t, bot.post("/sdk/grants/"+d.GrantID.String()+"/mint", map[string]any{"label": "x"}), 403, "agents_cannot_mint")
		expect(t, bot.post("/sdk/agents", map[string]any{"name": "sub", "type": "agent", "scopes": map[string]any{}, "metadata": map[string]any{}}), 403, "agent_cannot_mint_subagents")
	})
	t.Run("grant states", func(t *testing.T) {
		cases := []struct {
			st     GrantState
			status int
			code   string
		}{{GrantExpired, 403, "grant_expired"}, {GrantRevoked, 403, "grant_revoked"},
			{GrantCredentialRevoked, 403, "credential_revoked"}, {GrantDeleted, 410, ""}}
		for _, tc := range cases {
			g := s.AddOAuthGrant(OAuthGrant{Provider: "notion", UserSub: "carol"})
			s.SetGrantState(g, tc.st)
			expect(t, app.post("/sdk/token", tokenBody("grant_id", g.String())), tc.status, tc.code)
		}
		g := s.AddOAuthGrant(OAuthGrant{Provider: "notion"})
		s.SetGrantRefreshing(g, 1)
		r := app.post("/sdk/token", tokenBody("grant_id", g.String()))
		expect(t, r, 409, "token_refresh_in_progress")
		assert.Equal(t, "1", r.header.Get("Retry-After"))
		expect(t, app.post("/sdk/token", tokenBody("grant_id", g.String())), 200, "")
		require.NoError(t, s.SetGrantRefreshRetries(g, 3))
		ri := app.post("/sdk/token", tokenBody("grant_id", g.String())).obj(t)["retry_info"].(map[string]any)
		assert.EqualValues(t, 3, ri["total_attempts"])
		assert.Len(t, ri["errors"], 2)
		assert.Nil(t, app.post("/sdk/token", tokenBody("grant_id", g.String())).obj(t)["retry_info"], "only the next answer")
		s.SetGrantPolicy(g, Policy{RequireProxy: true})
		expect(t, app.post("/sdk/token", tokenBody("grant_id", g.String())), 400, "restricted_grant_requires_proxy")
		expect(t, app.post("/sdk/token", tokenBody("grant_id", d.ApprovalGrantID.String())), 400, "hitl_grant_requires_proxy")
		s.SetGrantPolicy(g, Policy{DenyReason: "weekends only"})
		r = app.post("/sdk/token", tokenBody("grant_id", g.String()))
		expect(t, r, 403, "")
		assert.Contains(t, string(r.body), "weekends only")
	})
}

func TestInjections(t *testing.T) {
	s, app := newApp(t)
	basic := s.AddOAuthGrant(OAuthGrant{Provider: "notion", Credential: "u:p", Injection: BasicInjection()})
	r := app.post("/sdk/token", tokenBody("grant_id", basic.String())).obj(t)
	assert.Equal(t, "dTpw", r["access_token"])
	assert.Equal(t, "Basic {token}", r["injection_format"])
	extra := s.AddOAuthGrant(OAuthGrant{Provider: "notion", Credential: "k", Injection: Injection{Header: "X-Api-Key", Format: "{token}",
		AdditionalCredentials: map[string]string{"org": "org-42"},
		Additional:            []AdditionalInjection{{Target: "query", Key: "api_key", ValueSource: "access_token"}, {Target: "header", Key: "X-Org", ValueSource: "additional_credentials.org"}}}})
	r = app.post("/sdk/token", tokenBody("grant_id", extra.String())).obj(t)
	assert.Equal(t, "X-Api-Key", r["injection_header"])
	assert.Equal(t, map[string]any{"org": "org-42"}, r["additional_credentials"])
	assert.Equal(t, []any{map[string]any{"target": "query_param", "key": "api_key", "value_source": "token"},
		map[string]any{"target": "header", "key": "X-Org", "value_source": "additional_credentials.org"}}, r["additional_injections"])

	// proxy mode injects them upstream
	up := NewEchoUpstream()
	defer up.Close()
	px := app.post("/sdk/proxy", map[string]any{"method": "GET", "url": up.URL() + "/p", "grant_id": extra.String(), "query_params": map[string]any{"q": []any{"1", "2"}}})
	expect(t, px, 200, "")
	got := up.Requests()[0]
	assert.Equal(t, "k", got.Header.Get("X-Api-Key"))
	assert.Equal(t, "org-42", got.Header.Get("X-Org"))
	rows := s.AuditRows()
	require.Len(t, rows, 1)
	assert.NotContains(t, rows[0].RequestHeaders, "X-Api-Key", "the credential is never audited")
	assert.NotContains(t, rows[0].URL, "api_key=")
	assert.Equal(t, "proxyRequest", rows[0].Operation)
	assert.Equal(t, "app", rows[0].PrincipalType)
}
