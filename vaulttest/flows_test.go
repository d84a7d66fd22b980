package vaulttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve runs one signed request through the handler in-process (for virtual-time tests).
func (c *client) serve(method, path string, body any) reply {
	c.t.Helper()
	req := c.request(method, path, body, nil)
	req.RequestURI = req.URL.RequestURI()
	rec := httptest.NewRecorder()
	c.s.ServeHTTP(rec, req)
	return reply{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func TestApprovalFlow(t *testing.T) {
	s := NewTestServer(t)
	d := SeedDemo(s)
	bot := newClient(t, s, d.Agent.APIKey)
	hold := func() string {
		r := bot.post("/sdk/proxy", map[string]any{"method": "POST", "url": d.UpstreamURL + "/deploy", "grant_id": d.ApprovalGrantID.String(), "reason": "ship it"})
		expect(t, r, 202, "")
		m := r.obj(t)
		assert.Equal(t, "pending", m["status"])
		assert.Len(t, m["gates"], 1)
		return m["approval_id"].(string)
	}
	id := hold()
	assert.Equal(t, []string{id}, s.PendingApprovals())
	expect(t, bot.get("/sdk/approvals/"+id+"/result"), 409, "")

	// the approval page is completable through its own form
	page, err := http.Get(s.RootURL() + "/approvals/" + id)
	require.NoError(t, err)
	page.Body.Close()
	assert.Equal(t, 200, page.StatusCode)
	resp, err := http.PostForm(s.RootURL()+"/approvals/"+id, url.Values{"decision": {"approve"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	st := bot.get("/sdk/approvals/" + id).obj(t)
	assert.Equal(t, "executed", st["status"])
	assert.Equal(t, true, st["has_result"])
	res := bot.get("/sdk/approvals/" + id + "/result")
	expect(t, res, 200, "")
	assert.Equal(t, id, res.obj(t)["approval_id"])
	rows := s.AuditRows()
	require.NotEmpty(t, rows)
	last := rows[len(rows)-1]
	assert.Equal(t, "approval", last.Operation)
	assert.Equal(t, d.Agent.ID, last.AgentID)
	assert.Equal(t, "ship it", last.Reason)

	id = hold()
	require.NoError(t, s.Deny(id, "not today"))
	st = bot.get("/sdk/approvals/" + id).obj(t)
	assert.Equal(t, "denied", st["status"])
	assert.Equal(t, "not today", st["decision_reason"])
	expect(t, bot.get("/sdk/approvals/"+id+"/result"), 403, "approval_denied")
	require.Error(t, s.Approve(id), "already decided")

	id = hold()
	require.NoError(t, s.Expire(id))
	expect(t, bot.get("/sdk/approvals/"+id+"/result"), 410, "approval_expired")
	r := bot.get("/sdk/approvals/00000000-0000-4000-8000-000000000000")
	assert.Equal(t, 404, r.status)

	r = bot.post("/sdk/proxy", map[string]any{"method": "GET", "url": d.UpstreamURL + "/q", "grant_id": d.GrantID.String(),
		"query_params": map[string]any{"q": strings.Repeat("x", 70_000)}})
	expect(t, r, 422, "query_too_long")

	// the agent's own policy holds every proxy call
	careful := s.AddAgent("careful", AgentRequireApproval())
	g := s.AddOAuthGrant(OAuthGrant{Provider: "notion", AgentOwner: careful.ID})
	expect(t, newClient(t, s, careful.APIKey).post("/sdk/proxy", map[string]any{"method": "GET", "url": d.UpstreamURL, "grant_id": g.String()}), 202, "")
}

// A held call with several approver sets has one gate each: it runs once every gate approved, a long-poll answers at each gate's decision, and one denial ends the group.
func TestMultiGateApproval(t *testing.T) {
	s := NewServer()
	defer s.Close()
	d := SeedDemoWithUpstream(s, "http://127.0.0.1:1") // inside the bubble the execution must not wait on a real upstream
	st, _ := devCall(t, s, "PUT", "/_dev/grants/"+d.ApprovalGrantID.String()+"/policy", map[string]any{"require_approval": true, "approval_gates": 2})
	require.Equal(t, 204, st)
	synctest.Test(t, func(t *testing.T) {
		bot := newClient(t, s, d.Agent.APIKey)
		hold := func() (string, []string) {
			r := bot.serve("POST", "/sdk/proxy", map[string]any{"method": "GET", "url": d.UpstreamURL + "/x", "grant_id": d.ApprovalGrantID.String()})
			require.Equal(t, 202, r.status, "%s", r.body)
			m := r.obj(t)
			var ids []string
			for _, g := range m["gates"].([]any) {
				gm := g.(map[string]any)
				ids = append(ids, gm["approval_id"].(string))
				assert.Equal(t, s.RootURL()+"/approvals/"+ids[len(ids)-1], gm["approval_url"])
				assert.EqualValues(t, 3600, gm["expires_in"])
			}
			require.Len(t, ids, 2)
			assert.Equal(t, ids[0], m["approval_id"], "the executor gate is on top")
			assert.NotEqual(t, ids[0], ids[1])
			return ids[0], ids
		}
		id, gates := hold()
		assert.Equal(t, gates, s.PendingApprovals())
		go func() {
			time.Sleep(3 * time.Second)
			_ = s.Approve(gates[1])
		}()
		start := time.Now()
		r := bot.serve("GET", "/sdk/approvals/"+id+"?wait=20", nil)
		assert.Equal(t, 3*time.Second, time.Since(start), "a gate's decision ends the long-poll")
		m := r.obj(t)
		assert.Equal(t, "pending", m["status"], "one gate of two is not enough")
		gs := m["gates"].([]any)
		assert.Equal(t, "pending", gs[0].(map[string]any)["status"])
		assert.Equal(t, "approved", gs[1].(map[string]any)["status"])
		assert.NotNil(t, gs[1].(map[string]any)["decided_at"])
		assert.Equal(t, []string{gates[0]}, s.PendingApprovals())
		require.Error(t, s.Approve(gates[1]), "a gate is decided once")
		require.NoError(t, s.Approve(gates[0]))
		m = bot.serve("GET", "/sdk/approvals/"+id, nil).obj(t)
		assert.Equal(t, "failed", m["status"], "every gate approved: executed (here the upstream is unreachable)")
		assert.Equal(t, false, m["has_result"])
		assert.NotEmpty(t, m["execution_error"])

		id, gates = hold()
		require.NoError(t, s.Approve(gates[0]))
		require.NoError(t, s.Deny(gates[1], "not this one"))
		m = bot.serve("GET", "/sdk/approvals/"+gates[1], nil).obj(t)
		assert.Equal(t, "denied", m["status"])
		assert.Equal(t, id, m["approval_id"], "any gate id finds the group")
		assert.Equal(t, "not this one", m["decision_reason"])
		gs = m["gates"].([]any)
		assert.Equal(t, []any{"approved", "denied"}, []any{gs[0].(map[string]any)["status"], gs[1].(map[string]any)["status"]})
		assert.Equal(t, 403, bot.serve("GET", "/sdk/approvals/"+id+"/result", nil).status)
		assert.Empty(t, s.Violations())
	})
	st, _ = devCall(t, s, "PUT", "/_dev/grants/"+d.ApprovalGrantID.String()+"/policy", map[string]any{"approval_gates": 99})
	assert.Equal(t, 400, st)
}

// TestLongPollsVirtualTime: ?wait= and wait_ms return as soon as the state changes, else after
// the wait.
func TestLongPollsVirtualTime(t *testing.T) {
	s := NewServer() // outside the bubble: its listener goroutine is not part of it
	defer s.Close()
	d := SeedDemoWithUpstream(s, "http://127.0.0.1:1")
	synctest.Test(t, func(t *testing.T) {
		bot := newClient(t, s, d.Agent.APIKey)
		r := bot.serve("POST", "/sdk/proxy", map[string]any{"method": "POST", "url": "http://127.0.0.1:1/x", "grant_id": d.ApprovalGrantID.String()})
		require.Equal(t, 202, r.status, "%s", r.body)
		id := r.obj(t)["approval_id"].(string)
		start := time.Now()
		r = bot.serve("GET", "/sdk/approvals/"+id+"?wait=5", nil)
		assert.Equal(t, 5*time.Second, time.Since(start))
		assert.Equal(t, "pending", r.obj(t)["status"])
		go func() {
			time.Sleep(2 * time.Second)
			_ = s.Deny(id, "no")
		}()
		start = time.Now()
		r = bot.serve("GET", "/sdk/approvals/"+id+"?wait=25", nil)
		assert.Equal(t, 2*time.Second, time.Since(start))
		assert.Equal(t, "denied", r.obj(t)["status"])

		app := newClient(t, s, d.AppKey)
		tok := app.serve("POST", "/sdk/auth/session", []byte(`{}`)).obj(t)["session_token"].(string)
		go func() {
			time.Sleep(time.Second)
			_ = s.CompleteAuthSession(tok, "dana")
		}()
		start = time.Now()
		r = app.serve("POST", "/sdk/auth/poll", map[string]any{"session_token": tok, "wait_ms": 20000})
		assert.Equal(t, time.Second, time.Since(start))
		assert.Equal(t, "completed", r.obj(t)["status"])
		assert.Equal(t, "dana", r.obj(t)["user_info"].(map[string]any)["sub"])
		assert.Empty(t, s.Violations())
	})
}

func TestConnectFlow(t *testing.T) {
	s := NewTestServer(t)
	d := SeedDemo(s)
	app := newClient(t, s, d.AppKey)
	open := func(body map[string]any) string {
		r := app.post("/sdk/oauth/connect/session", body)
		expect(t, r, 200, "")
		return r.obj(t)["session_token"].(string)
	}
	poll := func(tok string) map[string]any {
		r := app.post("/sdk/oauth/connect/session/poll", map[string]any{"session_token": tok})
		expect(t, r, 200, "")
		return r.obj(t)
	}
	base := map[string]any{"allowed_providers": []string{"github", "slack"}, "return_url": nil, "allowed_origin": nil, "metadata": nil}

	// through the page's form, for a user, delegated to the agent
	body := map[string]any{"user_token": d.User.Token, "agent": "demo-agent"}
	for k, v := range base {
		body[k] = v
	}
	tok := open(body)
	assert.Equal(t, "pending", poll(tok)["status"])
	page, err := http.Get(s.RootURL() + "/connect/" + tok)
	require.NoError(t, err)
	page.Body.Close()
	resp, err := http.PostForm(s.RootURL()+"/connect/"+tok, url.Values{"provider": {"slack"}, "account": {"alice-slack"}, "decision": {"approve"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	done := poll(tok)
	require.Equal(t, "completed", done["status"])
	g := done["grants"].([]any)[0].(map[string]any)
	assert.Equal(t, "slack", g["provider_id"])
	assert.Equal(t, "creation", g["operation"])
	assert.Equal(t, d.Agent.ID.String(), g["delegation"].(map[string]any)["agent_id"])
	// the agent now reaches it with alice's token
	bot := newClient(t, s, d.Agent.APIKey)
	r := bot.post("/sdk/token", tokenBody("provider_id", "slack", "user_token", d.User.Token))
	expect(t, r, 200, "")
	assert.Equal(t, g["grant_id"], r.obj(t)["grant_id"])
	// the same account again is a re-authorization
	tok = open(body)
	require.NoError(t, s.CompleteConnectSession(tok, "slack", "alice-slack"))
	assert.Equal(t, "reauth", poll(tok)["grants"].([]any)[0].(map[string]any)["operation"])

	tok = open(base)
	require.NoError(t, s.DeclineProvider(tok, "slack", "connect_denied"))
	dp := poll(tok)["declined_providers"].([]any)
	require.Len(t, dp, 1)
	assert.Equal(t, "slack", dp[0].(map[string]any)["provider_id"])
	resp, err = http.PostForm(s.RootURL()+"/connect/"+tok, url.Values{"decision": {"deny"}})
	require.NoError(t, err)
	resp.Body.Close()
	e := poll(tok)
	assert.Equal(t, "error", e["status"])
	assert.Equal(t, "connect_denied", e["error"].(map[string]any)["error_code"])

	tok = open(base)
	require.NoError(t, s.FailConnectSession(tok, "invalid_client"))
	assert.Equal(t, "invalid_client", poll(tok)["error"].(map[string]any)["error_code"])
	tok = open(base)
	require.NoError(t, s.ExpireSession(tok))
	assert.Equal(t, "expired", poll(tok)["status"])
	require.Error(t, s.CompleteConnectSession(tok, "github", "x"))

	r = app.post("/sdk/oauth/connect/session/poll", map[string]any{"session_token": "nope"})
	assert.Equal(t, 404, r.status)
	expect(t, app.post("/sdk/oauth/connect/session", map[string]any{"allowed_providers": []string{"github"}, "return_url": nil,
		"allowed_origin": nil, "metadata": nil, "agent": "nobody", "user_token": d.User.Token}), 404, "agent_not_found")
	expect(t, app.post("/sdk/oauth/connect/session", map[string]any{"allowed_providers": []string{"github"}, "return_url": nil,
		"allowed_origin": nil, "metadata": nil, "agent": "nobody"}), 400, "agent_requires_user_token")
	expect(t, app.post("/sdk/oauth/connect/session", map[string]any{"allowed_providers": nil, "return_url": nil,
		"allowed_origin": nil, "metadata": nil, "required_scopes": map[string]any{"github": []string{"admin:everything"}}}), 400, "scope_not_allowed")
}

func TestAuthAndManagedSecretPages(t *testing.T) {
	s := NewTestServer(t)
	d := SeedDemo(s)
	app := newClient(t, s, d.AppKey)
	as := app.post("/sdk/auth/session", []byte(`{}`)).obj(t)
	authURL := as["auth_url"].(string)
	assert.Contains(t, authURL, "state="+as["session_token"].(string))
	resp, err := http.PostForm(strings.Split(authURL, "?")[0], url.Values{"user": {"erin"}, "decision": {"approve"}})
	require.NoError(t, err)
	resp.Body.Close()
	r := app.post("/sdk/auth/poll", map[string]any{"session_token": as["session_token"]})
	require.Equal(t, "completed", r.obj(t)["status"])
	jwt := r.obj(t)["user_token"].(string)
	assert.Equal(t, "erin", app.post("/sdk/auth/verify-token", map[string]any{"token": jwt}).obj(t)["sub"])
	expect(t, app.post("/sdk/auth/verify-token", map[string]any{"token": "x.y.z"}), 401, "jwt_validation_error")

	as = app.post("/sdk/auth/session", []byte(`{}`)).obj(t)
	require.NoError(t, s.DenyAuthSession(as["session_token"].(string)))
	r = app.post("/sdk/auth/poll", map[string]any{"session_token": as["session_token"]})
	assert.Equal(t, "error", r.obj(t)["status"])

	ms := app.post("/sdk/managed-secrets/connect/session", map[string]any{"provider": "stripe", "agent": "demo-agent",
		"user_token": d.User.Token, "requested_grant": map[string]any{"label": "mine"}}).obj(t)
	assert.Equal(t, "stripe", ms["secret_slug"])
	link := ms["connect_url"].(string)
	resp, err = http.PostForm(strings.Split(link, "#")[0], url.Values{"secret": {"sk_alice"}, "decision": {"approve"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	bot := newClient(t, s, d.Agent.APIKey)
	tok := bot.post("/sdk/token", tokenBody("provider_id", "stripe", "user_token", d.User.Token, "label", "mine"))
	expect(t, tok, 200, "")
	assert.Equal(t, "sk_alice", tok.obj(t)["access_token"])
	again := app.post("/sdk/managed-secrets/connect/session", map[string]any{"provider": "stripe", "user_token": d.User.Token}).obj(t)
	assert.Equal(t, "fast_path", again["path"])
	expect(t, app.post("/sdk/managed-secrets/connect/session", map[string]any{"provider": "nope", "user_token": d.User.Token}), 404, "secret_not_found")
}

func TestAuditPost(t *testing.T) {
	s := NewTestServer(t)
	d := SeedDemo(s)
	bot := newClient(t, s, d.Agent.APIKey, "X-Alter-Caller", "researcher", "X-Alter-Context", `{"run_id":"r1","tool":"search"}`)
	body := map[string]any{"grant_id": d.GrantID.String(), "provider_id": "github", "token_generation": nil, "method": "GET",
		"url": d.UpstreamURL + "/a", "request_headers": map[string]string{"X-Custom": "1"}, "request_body": map[string]any{"q": 1},
		"response_status": 404, "response_headers": nil, "response_body": "", "latency_ms": 7, "reason": "why",
		"context": map[string]string{"run_id": "r1", "tool": "search"}}
	expect(t, bot.post("/sdk/oauth/audit/api-call", body), 200, "")
	rows := s.AuditRows()
	require.Len(t, rows, 1)
	row := rows[0]
	assert.Equal(t, "recordApiCall", row.Operation)
	assert.Equal(t, d.GrantID, row.GrantID)
	assert.Equal(t, 404, row.ResponseStatus)
	assert.Equal(t, "r1", row.RunID)
	assert.Equal(t, map[string]string{"run_id": "r1", "tool": "search"}, row.Context)
	assert.JSONEq(t, `{"q":1}`, string(row.RequestBody))
	assert.Equal(t, "agent", row.PrincipalType)
	assert.Equal(t, d.Agent.ID, row.AgentID)
	assert.Equal(t, "alice", row.UserSub)
	assert.Equal(t, "researcher", row.Caller)
	assert.Equal(t, d.Agent.ID, row.ActorID)
	var asJSON map[string]any
	b, _ := json.Marshal(row)
	require.NoError(t, json.Unmarshal(b, &asJSON))
	assert.Equal(t, "why", asJSON["reason"])
	body["grant_id"] = "00000000-0000-4000-8000-000000000000"
	expect(t, bot.post("/sdk/oauth/audit/api-call", body), 404, "grant_not_found")
}
