package vaulttest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func devCall(t *testing.T, s *Server, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(bg, method, s.RootURL()+path, rd)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func TestDevControlAPI(t *testing.T) {
	s := NewTestServer(t)
	d := SeedDemo(s)
	app := newClient(t, s, d.AppKey)

	st, b := devCall(t, s, "GET", "/_dev/env", nil)
	require.Equal(t, 200, st)
	var env map[string]string
	require.NoError(t, json.Unmarshal(b, &env))
	for _, n := range envNames {
		assert.NotEmpty(t, env[n], n)
	}
	assert.Equal(t, d.AppKey, env["ALTER_API_KEY"])

	// faults
	st, _ = devCall(t, s, "POST", "/_dev/faults", map[string]any{"operation": "retrieveToken", "status": 503, "code": "service_unavailable",
		"message": "down", "retry_after": 2, "count": 1})
	require.Equal(t, 204, st)
	r := app.post("/sdk/token", tokenBody("grant_id", d.GrantID.String()))
	expect(t, r, 503, "service_unavailable")
	assert.Equal(t, "2", r.header.Get("Retry-After"))
	// refresh retries
	st, _ = devCall(t, s, "POST", "/_dev/grants/"+d.GrantID.String()+"/refresh-retries", map[string]any{"attempts": 2})
	require.Equal(t, 204, st)
	ri := app.post("/sdk/token", tokenBody("grant_id", d.GrantID.String())).obj(t)["retry_info"].(map[string]any)
	assert.EqualValues(t, 2, ri["total_attempts"])
	st, _ = devCall(t, s, "POST", "/_dev/grants/"+d.GrantID.String()+"/refresh-retries", map[string]any{"attempts": 0})
	assert.Equal(t, 409, st)

	// requests: verbatim, with the answer's status
	st, b = devCall(t, s, "GET", "/_dev/requests", nil)
	require.Equal(t, 200, st)
	var reqs []struct { // the documented JSON of /_dev/requests
		Operation string            `json:"operation"`
		Status    int               `json:"status"`
		Headers   map[string]string `json:"headers"`
		Body      json.RawMessage   `json:"body"`
	}
	require.NoError(t, json.Unmarshal(b, &reqs))
	require.Len(t, reqs, 2)
	assert.Equal(t, "retrieveToken", reqs[0].Operation)
	assert.Equal(t, 503, reqs[0].Status)
	assert.Equal(t, d.AppKey, reqs[0].Headers["X-Api-Key"])
	assert.JSONEq(t, `"`+d.GrantID.String()+`"`, string(mustField(t, reqs[1].Body, "grant_id")))
	st, _ = devCall(t, s, "DELETE", "/_dev/requests", nil)
	require.Equal(t, 204, st)
	assert.Empty(t, s.Requests())

	// approvals, connect, auth
	bot := newClient(t, s, d.Agent.APIKey)
	id := bot.post("/sdk/proxy", map[string]any{"method": "GET", "url": d.UpstreamURL, "grant_id": d.ApprovalGrantID.String()}).obj(t)["approval_id"].(string)
	st, _ = devCall(t, s, "POST", "/_dev/approvals/"+id+"/deny", map[string]any{"reason": "no"})
	require.Equal(t, 204, st)
	st, _ = devCall(t, s, "POST", "/_dev/approvals/"+id+"/approve", nil)
	assert.Equal(t, 409, st, "already decided")
	st, _ = devCall(t, s, "POST", "/_dev/approvals/00000000-0000-4000-8000-000000000000/approve", nil)
	assert.Equal(t, 404, st)
	id = bot.post("/sdk/proxy", map[string]any{"method": "GET", "url": d.UpstreamURL, "grant_id": d.ApprovalGrantID.String()}).obj(t)["approval_id"].(string)
	st, _ = devCall(t, s, "POST", "/_dev/approvals/"+id+"/approve", map[string]any{})
	require.Equal(t, 204, st)
	assert.Equal(t, "executed", bot.get("/sdk/approvals/" + id).obj(t)["status"])

	cs := app.post("/sdk/oauth/connect/session", map[string]any{"allowed_providers": []string{"github"}, "return_url": nil,
		"allowed_origin": nil, "metadata": nil}).obj(t)["session_token"].(string)
	st, _ = devCall(t, s, "POST", "/_dev/connect/"+cs+"/complete", map[string]any{"provider": "github", "account": "ops@x"})
	require.Equal(t, 204, st)
	assert.Equal(t, "completed", app.post("/sdk/oauth/connect/session/poll", map[string]any{"session_token": cs}).obj(t)["status"])
	as := app.post("/sdk/auth/session", []byte(`{}`)).obj(t)["session_token"].(string)
	st, _ = devCall(t, s, "POST", "/_dev/auth/"+as+"/complete", map[string]any{"sub": "frank"})
	require.Equal(t, 204, st)
	assert.Equal(t, "completed", app.post("/sdk/auth/poll", map[string]any{"session_token": as}).obj(t)["status"])

	st, b = devCall(t, s, "GET", "/_dev/audit", nil)
	require.Equal(t, 200, st)
	var rows []map[string]any
	require.NoError(t, json.Unmarshal(b, &rows))
	require.Len(t, rows, 1)
	assert.Equal(t, d.ApprovalGrantID.String(), rows[0]["grant_id"])
	expect(t, app.post("/sdk/spans", map[string]any{"spans": []map[string]any{span("t9", "s9")}}), 200, "")
	st, b = devCall(t, s, "GET", "/_dev/spans", nil)
	require.Equal(t, 200, st)
	var spans []Span // the documented JSON of /_dev/spans: Span
	require.NoError(t, json.Unmarshal(b, &spans))
	require.Len(t, spans, 1)
	assert.Equal(t, "t9", spans[0].TraceID)
	assert.Equal(t, "s9", spans[0].SpanID)
	assert.Equal(t, map[string]string{"k": "v"}, spans[0].Attributes)
	assert.True(t, s.Spans()[0].Start.Equal(spans[0].Start))
	st, b = devCall(t, s, "GET", "/_dev/violations", nil)
	require.Equal(t, 200, st)
	assert.JSONEq(t, `[]`, string(b))
	st, _ = devCall(t, s, "POST", "/_dev/faults", map[string]any{"operation": "x"})
	assert.Equal(t, 400, st)
	st, _ = devCall(t, s, "GET", "/_dev/nope", nil)
	assert.Equal(t, 404, st)
}

func mustField(t *testing.T, raw json.RawMessage, k string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &m))
	return m[k]
}

func TestDevAPILoopbackOnly(t *testing.T) {
	s := NewTestServer(t)
	req := httptest.NewRequest("GET", "/_dev/env", nil) // RemoteAddr 192.0.2.1
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	assert.Equal(t, 403, rec.Code)
	assert.NotEmpty(t, rec.Header().Get("X-Request-ID"))
}

// postAudits posts n audit records of d's grant with the App key, straight to the handler.
func postAudits(t *testing.T, s *Server, d Demo, responseBody string, n int) {
	t.Helper()
	app := newClient(t, s, d.AppKey)
	audit := map[string]any{"grant_id": d.GrantID.String(), "provider_id": "github", "token_generation": nil, "method": "GET",
		"url": "https://api.example.com/", "request_headers": map[string]string{}, "request_body": nil, "response_status": 200,
		"response_headers": map[string]string{}, "response_body": responseBody, "latency_ms": 1, "reason": nil, "context": nil}
	body, err := json.Marshal(audit)
	require.NoError(t, err)
	for i := range n {
		req := app.request("POST", "/sdk/oauth/audit/api-call", body, nil)
		req.RequestURI = req.URL.RequestURI()
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		require.Equal(t, 200, rec.Code, "call %d: %s", i, rec.Body.String())
	}
}

// TestBoundedState: after 10 000 calls the request log, the audit log and the key's nonce memory
// sit at their caps.
func TestBoundedState(t *testing.T) {
	s := NewTestServer(t, WithMaxRequests(100), WithMaxAuditRows(50), WithReplayCapacity(500))
	d := SeedDemoWithUpstream(s, "http://127.0.0.1:1")
	postAudits(t, s, d, "", 10_000)
	assert.Len(t, s.Requests(), 100)
	assert.Len(t, s.AuditRows(), 50)
	s.mu.Lock()
	key := s.keys[d.AppKey].id
	s.mu.Unlock()
	assert.Equal(t, 500, s.NonceCount(key))
	assert.Equal(t, 10_000, s.CallCount("recordApiCall"))
}

// TestLogBytes: with large bodies, the byte budget bounds the request and audit logs before
// their entry caps do.
func TestLogBytes(t *testing.T) {
	s := NewTestServer(t, WithLogBytes(50_000))
	d := SeedDemoWithUpstream(s, "http://127.0.0.1:1")
	postAudits(t, s, d, strings.Repeat("x", 4000), 100)
	var logged int64
	reqs := s.rawRequests()
	for _, q := range reqs {
		logged += q.size()
	}
	assert.LessOrEqual(t, logged, int64(50_000))
	assert.Greater(t, logged, int64(40_000), "full up to the budget")
	assert.Len(t, reqs, int(logged/reqs[0].size()), "entries of one size: as many as fit")
	rows := s.AuditRows()
	assert.Less(t, len(rows), 13, "about 4 KB a row")
	assert.Greater(t, len(rows), 9)
	assert.Equal(t, strings.Repeat("x", 4000), rows[len(rows)-1].ResponseBody, "the newest row kept whole")
	assert.Equal(t, 100, s.CallCount("recordApiCall"))
}

// TestNonceMemoryFollowsTheWindow, in synctest's clock: a key's nonces are held while their
// timestamps are inside the signature window (a replay is refused), then the old request is
// stale, and the expired nonces leave the memory as new calls arrive, so its size follows the
// calls of the last window, not every call ever made.
func TestNonceMemoryFollowsTheWindow(t *testing.T) {
	s := NewTestServer(t, WithSignatureWindow(time.Minute))
	d := SeedDemoWithUpstream(s, "http://127.0.0.1:1")
	s.mu.Lock()
	key := s.keys[d.AppKey].id
	s.mu.Unlock()
	synctest.Test(t, func(t *testing.T) {
		app := newClient(t, s, d.AppKey)
		serve := func(req *http.Request) reply {
			req.RequestURI = req.URL.RequestURI()
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req.Clone(bg))
			return reply{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
		}
		first := app.request("GET", "/sdk/scopes", nil, nil)
		require.Equal(t, 200, serve(first).status)
		for range 99 {
			require.Equal(t, 200, serve(app.request("GET", "/sdk/scopes", nil, nil)).status)
		}
		assert.Equal(t, 100, s.NonceCount(key))
		time.Sleep(59 * time.Second)
		r := serve(first)
		require.Equal(t, 401, r.status)
		assert.Equal(t, "nonce_replayed", r.code(t), "inside the window")
		time.Sleep(2 * time.Second)
		r = serve(first)
		require.Equal(t, 401, r.status)
		assert.Equal(t, "request_expired", r.code(t), "outside the window: stale, whatever the memory holds")
		for range 30 {
			require.Equal(t, 200, serve(app.request("GET", "/sdk/scopes", nil, nil)).status)
		}
		assert.Equal(t, 30, s.NonceCount(key), "the 100 expired nonces are gone")
	})
}

// The grant setup of the dev API: a delegable first hop, an onward delegation refused once the
// provider's ceiling is off, and a second developer credential that makes the choice required.
func TestDevGrantSetup(t *testing.T) {
	s := NewTestServer(t)
	d := SeedDemo(s)
	other := s.AddAgent("other")
	st, _ := devCall(t, s, "POST", "/_dev/grants/"+d.GrantID.String()+"/delegations", map[string]any{"agent_id": d.Agent.ID.String(), "delegable": true})
	require.Equal(t, 204, st)
	ag := newClient(t, s, d.Agent.APIKey)
	st, _ = devCall(t, s, "POST", "/_dev/providers/github/onward-delegation", map[string]any{"allowed": false})
	require.Equal(t, 204, st)
	r := ag.post("/sdk/grants/"+d.GrantID.String()+"/delegate", map[string]any{"to_agent_id": other.ID.String()})
	require.Equal(t, 403, r.status)
	assert.Equal(t, "ceiling_off", r.obj(t)["detail"].(map[string]any)["detail_reason"])
	devCall(t, s, "POST", "/_dev/providers/github/onward-delegation", map[string]any{"allowed": true})
	r = ag.post("/sdk/grants/"+d.GrantID.String()+"/delegate", map[string]any{"to_agent_id": other.ID.String()})
	require.Equal(t, 200, r.status)
	assert.EqualValues(t, 2, r.obj(t)["depth"])

	st, b := devCall(t, s, "POST", "/_dev/managed-secrets/"+d.ManagedSecretID.String()+"/credentials", map[string]any{"label": "eu", "secret": "sk_eu"})
	require.Equal(t, 200, st)
	assert.Contains(t, string(b), "credential_id")
	app := newClient(t, s, d.AppKey)
	r = app.post("/sdk/managed-secrets/"+d.ManagedSecretID.String()+"/grants", map[string]any{"principal": map[string]any{"type": "system", "label": nil}, "grant_policy": map[string]any{}})
	require.Equal(t, 409, r.status)
	assert.Equal(t, "credential_id_required", r.obj(t)["detail"].(map[string]any)["error"])
	st, b = devCall(t, s, "POST", "/_dev/managed-secrets", map[string]any{"slug": "vendor", "name": "Vendor", "secret": "sk_v"})
	require.Equal(t, 200, st)
	assert.Contains(t, string(b), "managed_secret_id")
	st, _ = devCall(t, s, "POST", "/_dev/grants/"+d.GrantID.String()+"/delegations", map[string]any{"agent_id": "nope"})
	require.Equal(t, 404, st)
}

// The grants the API creates are bounded: past the limit, mint answers 402 grant_limit_exceeded.
func TestGrantLimit(t *testing.T) {
	s := NewTestServer(t)
	var last UUID
	for range maxGrants {
		last = s.AddOAuthGrant(OAuthGrant{Provider: "github"})
	}
	app := newClient(t, s, s.AppKey())
	r := app.post("/sdk/grants/"+last.String()+"/mint", map[string]any{"label": "one-more"})
	require.Equal(t, 402, r.status)
	assert.Equal(t, "grant_limit_exceeded", r.obj(t)["detail"].(map[string]any)["error"])
}

// The dev endpoints of the Connect flows: declines, multi-provider completions, managed-secret
// decisions and grant states.
func TestDevConnectControls(t *testing.T) {
	s, d, app, _ := newDemo(t)
	tok := app.post("/sdk/oauth/connect/session", map[string]any{"allowed_providers": []string{"github", "slack"}, "return_url": nil,
		"allowed_origin": nil, "metadata": nil, "user_token": d.User.Token}).obj(t)["session_token"].(string)
	st, _ := devCall(t, s, "POST", "/_dev/connect/"+tok+"/decline", map[string]any{"provider": "slack"})
	require.Equal(t, 204, st)
	st, _ = devCall(t, s, "POST", "/_dev/connect/"+tok+"/complete", map[string]any{"grants": []any{map[string]any{"provider": "github"}},
		"failed": []any{map[string]any{"provider": "slack", "reason": "not_selected"}}})
	require.Equal(t, 204, st)
	done := app.post("/sdk/oauth/connect/session/poll", map[string]any{"session_token": tok}).obj(t)
	assert.Len(t, done["grants"], 1)
	assert.Len(t, done["failed_grants"], 1)
	gid := done["grants"].([]any)[0].(map[string]any)["grant_id"].(string)

	st, _ = devCall(t, s, "POST", "/_dev/grants/"+gid+"/state", map[string]any{"state": "credential_revoked"})
	require.Equal(t, 204, st)
	expect(t, app.post("/sdk/token", tokenBody("grant_id", gid)), 403, "credential_revoked")
	st, _ = devCall(t, s, "POST", "/_dev/grants/"+gid+"/state", map[string]any{"state": "melted"})
	assert.Equal(t, 400, st)
	st, _ = devCall(t, s, "POST", "/_dev/grants/"+d.AgentGrantID.String()[:8]+"/state", map[string]any{"state": "active"})
	assert.Equal(t, 404, st)

	ms := app.post("/sdk/managed-secrets/connect/session", map[string]any{"provider": "stripe", "user_token": d.User.Token}).obj(t)
	st, _ = devCall(t, s, "POST", "/_dev/managed-secrets/"+ms["session_token"].(string)+"/deny", nil)
	require.Equal(t, 204, st)
	st, _ = devCall(t, s, "POST", "/_dev/managed-secrets/"+ms["session_token"].(string)+"/complete", nil)
	assert.Equal(t, 409, st, "already decided")
	st, _ = devCall(t, s, "POST", "/_dev/managed-secrets/x/shrug", nil)
	assert.Equal(t, 404, st)
}
