package vaulttest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newDemo is a server seeded with the demo, and clients with its App and agent keys.
func newDemo(t *testing.T) (*Server, Demo, *client, *client) {
	s := NewTestServer(t)
	d := SeedDemo(s)
	return s, d, newClient(t, s, d.AppKey), newClient(t, s, d.Agent.APIKey)
}

// The Connect session options as the real vault answers them.
func TestConnectSessionOptions(t *testing.T) {
	s := NewTestServer(t)
	d := SeedDemo(s)
	app := newClient(t, s, d.AppKey)
	create := func(kv ...any) reply {
		return app.post("/sdk/oauth/connect/session", withKV(map[string]any{"allowed_providers": []string{"github"}, "return_url": nil,
			"allowed_origin": nil, "metadata": nil}, kv...))
	}
	poll := func(tok string) map[string]any {
		return app.post("/sdk/oauth/connect/session/poll", map[string]any{"session_token": tok}).obj(t)
	}
	// the request model's validators
	expect(t, create("allowed_providers", []string{}), 422, "")
	expect(t, create("allowed_providers", []string{"github", "google"}, "direct", true), 422, "")
	expect(t, create("allowed_providers", []string{"GitHub", " github"}, "direct", true), 200, "") // one provider, normalized
	expect(t, create("repair_grant_id", d.GrantID.String(), "switch_account", true), 422, "")
	expect(t, create("repair_grant_id", d.GrantID.String(), "agent", "demo-agent"), 422, "")
	expect(t, create("requested_grant", map[string]any{"label": ""}), 422, "")
	// direct, unless onward sharing is asked for
	assert.Equal(t, true, create("direct", true).obj(t)["direct"])
	assert.Equal(t, false, create("direct", true, "agent", "demo-agent", "delegable", true, "user_token", d.User.Token).obj(t)["direct"])
	// scope constraints: a warning per provider they do not fit, an error when they fit none or narrow nothing
	r := create("allowed_providers", []string{"github", "google"}, "agent", "demo-agent", "user_token", d.User.Token, "scope_constraint", []string{"repo"})
	expect(t, r, 200, "")
	w := r.obj(t)["scope_constraint_warnings"].([]any)
	require.Len(t, w, 1)
	assert.True(t, strings.HasPrefix(w[0].(string), "google:"))
	expect(t, create("agent", "demo-agent", "user_token", d.User.Token, "scope_constraint", []string{"admin"}), 422, "invalid_scope_constraint")
	expect(t, create("scope_constraint", []string{"repo"}), 422, "invalid_scope_constraint")

	// a repair re-authorizes the grant in place: same id, reauth
	expect(t, create("repair_grant_id", d.GrantID.String()), 404, "grant_not_found") // not the app's own grant
	tok := create("repair_grant_id", d.GrantID.String(), "user_token", d.User.Token).obj(t)["session_token"].(string)
	s.SetGrantState(d.GrantID, GrantCredentialRevoked)
	require.NoError(t, s.CompleteConnectSession(tok, "github", "alice-new@example.com"))
	g := poll(tok)["grants"].([]any)[0].(map[string]any)
	assert.Equal(t, d.GrantID.String(), g["grant_id"])
	assert.Equal(t, "reauth", g["operation"])
	expect(t, newClient(t, s, d.Agent.APIKey).post("/sdk/token", tokenBody("grant_id", d.GrantID.String())), 200, "") // the delegation stays
	expect(t, app.post("/sdk/token", tokenBody("grant_id", d.GrantID.String(), "user_token", d.User.Token)), 200, "")

	// a requested grant with restrictions is labelled and proxy-only
	tok = create("user_token", d.User.Token, "requested_grant", map[string]any{"label": "ci", "restrictions": map[string]any{"allowed_methods": []string{"GET"}}}).obj(t)["session_token"].(string)
	require.NoError(t, s.CompleteConnectSession(tok, "github", "ci@example.com"))
	expect(t, app.post("/sdk/token", tokenBody("provider_id", "github", "label", "ci", "user_token", d.User.Token)), 400, "restricted_grant_requires_proxy")

	// several providers: the grants kept, the failures listed
	tok = create("allowed_providers", []string{"github", "google", "slack"}, "user_token", d.User.Token).obj(t)["session_token"].(string)
	require.NoError(t, s.DeclineProvider(tok, "slack", ""))
	dp := poll(tok)["declined_providers"].([]any)
	assert.Equal(t, "access_denied", dp[0].(map[string]any)["error_code"])
	require.Error(t, s.DeclineProvider(tok, "notion", ""), "not offered")
	require.NoError(t, s.CompleteConnectSessionWith(tok, []ConnectAccount{{"github", "multi@example.com"}}, []FailedConnection{{"google", "activation_failed"}}))
	done := poll(tok)
	require.Len(t, done["grants"], 1)
	f := done["failed_grants"].([]any)[0].(map[string]any)
	assert.Equal(t, "google", f["provider_id"])
	assert.Equal(t, "activation_failed", f["reason"])
	assert.NotEmpty(t, f["message"])

	// a scope constraint narrows the agent's delegation: a child grant, proxy only
	bob := s.AddUser("bob")
	tok = create("agent", "demo-agent", "user_token", bob.Token, "scope_constraint", []string{"repo"}).obj(t)["session_token"].(string)
	require.NoError(t, s.CompleteConnectSession(tok, "github", "bob@example.com"))
	g = poll(tok)["grants"].([]any)[0].(map[string]any)
	assert.Equal(t, d.Agent.ID.String(), g["delegation"].(map[string]any)["agent_id"])
	bot := newClient(t, s, d.Agent.APIKey)
	r = bot.post("/sdk/token", tokenBody("provider_id", "github", "user_token", bob.Token))
	expect(t, r, 400, "delegated_grant_requires_proxy")
	assert.NotEqual(t, g["grant_id"], r.obj(t)["detail"].(map[string]any)["grant_id"], "the narrowed child, not the user's grant")

	// delegation outcomes: onward sharing as asked, unless the provider's policy refuses it
	s.SetOnwardDelegation("slack", false)
	for provider, want := range map[string][2]bool{"github": {true, false}, "slack": {false, true}} {
		tok = create("allowed_providers", []string{provider}, "agent", "demo-agent", "delegable", true, "user_token", d.User.Token).obj(t)["session_token"].(string)
		require.NoError(t, s.CompleteConnectSession(tok, provider, "share@example.com"))
		dl := poll(tok)["grants"].([]any)[0].(map[string]any)["delegation"].(map[string]any)
		assert.Equal(t, want[0], dl["delegable"], provider)
		assert.Equal(t, want[1], dl["policy_refused"], provider)
	}
	assert.Empty(t, s.Violations())
}

// The consent page: a provider declined through the form keeps the session pending.
func TestConnectPageDecline(t *testing.T) {
	s := NewTestServer(t)
	d := SeedDemo(s)
	app := newClient(t, s, d.AppKey)
	tok := app.post("/sdk/oauth/connect/session", map[string]any{"allowed_providers": []string{"github", "slack"}, "return_url": nil,
		"allowed_origin": nil, "metadata": nil}).obj(t)["session_token"].(string)
	page, err := http.Get(s.RootURL() + "/connect/" + tok)
	require.NoError(t, err)
	page.Body.Close()
	resp, err := http.PostForm(s.RootURL()+"/connect/"+tok, url.Values{"provider": {"slack"}, "decision": {"decline"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	st := app.post("/sdk/oauth/connect/session/poll", map[string]any{"session_token": tok}).obj(t)
	assert.Equal(t, "pending", st["status"])
	assert.Equal(t, "slack", st["declined_providers"].([]any)[0].(map[string]any)["provider_id"])
}

// Managed-secret Connect: key entry, then fast path, then a repair of the user's own key.
func TestManagedSecretConnectPaths(t *testing.T) {
	s, d, app, bot := newDemo(t)
	bob := s.AddUser("bob")
	create := func(c *client, kv ...any) reply {
		return c.post("/sdk/managed-secrets/connect/session", withKV(map[string]any{"provider": "stripe", "user_token": bob.Token}, kv...))
	}
	expect(t, create(app, "provider", nil), 422, "")
	expect(t, create(app, "repair_grant_id", d.MSGrantID.String(), "agent", "demo-agent"), 422, "")
	expect(t, create(app, "grant_policy", map[string]any{"max_ttl_seconds": 60}, "requested_ttl_seconds", 60), 422, "")
	expect(t, create(app, "requested_grant", map[string]any{"label": "x", "restrictions": map[string]any{}}), 422, "")
	expect(t, create(app, "repair_grant_id", d.MSGrantID.String()), 404, "grant_not_found")
	expect(t, create(bot, "agent", "someone-else"), 400, "agent_cannot_delegate_to_other_agent")

	ms := create(app, "agent", "demo-agent", "delegable", true, "direct", true).obj(t)
	assert.Equal(t, "key_entry", ms["path"])
	assert.Equal(t, true, ms["delegable_requested"])
	assert.Equal(t, false, ms["direct"], "onward sharing is decided on the consent screen")
	assert.Equal(t, d.Agent.ID.String(), ms["agent_id"])
	mine, err := s.CompleteManagedSecretSession(ms["session_token"].(string), "sk_bob_1")
	require.NoError(t, err)
	got := bot.post("/sdk/token", tokenBody("provider_id", "stripe", "user_token", bob.Token))
	expect(t, got, 200, "")
	assert.Equal(t, "sk_bob_1", got.obj(t)["access_token"])

	fast := create(app).obj(t)
	assert.Equal(t, "fast_path", fast["path"])
	assert.Equal(t, mine.String(), fast["existing_grant_id"])
	own := create(bot).obj(t)
	assert.Nil(t, own["path"], "what the user holds is not told to an agent")
	assert.Nil(t, own["existing_grant_id"])

	rep := create(app, "repair_grant_id", mine.String()).obj(t)
	assert.Equal(t, "repair", rep["path"])
	assert.Equal(t, true, rep["direct"])
	_, err = s.CompleteManagedSecretSession(rep["session_token"].(string), "")
	require.Error(t, err, "a repair needs the new key")
	page, err := http.PostForm(strings.Split(rep["connect_url"].(string), "#")[0], url.Values{"secret": {"sk_bob_2"}, "decision": {"approve"}})
	require.NoError(t, err)
	page.Body.Close()
	require.Equal(t, 200, page.StatusCode)
	got = bot.post("/sdk/token", tokenBody("grant_id", mine.String()))
	assert.Equal(t, "sk_bob_2", got.obj(t)["access_token"], "replaced in place, the delegation kept")

	// an expired own key is repaired rather than duplicated
	s.SetGrantState(mine, GrantExpired)
	assert.Equal(t, "repair", create(app).obj(t)["path"])
	assert.Empty(t, s.Violations())
}
