package vaulttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequestValidation: a request that breaks openapi.yaml is a client error, answered 422 with
// FastAPI's detail list, and is not an emulator violation.
func TestRequestValidation(t *testing.T) {
	s, app := newApp(t)
	r := app.post("/sdk/token", map[string]any{"reason": 5})
	require.Equal(t, 422, r.status, "%s", r.body)
	var body struct {
		Detail []struct {
			Type string `json:"type"`
			Loc  []any  `json:"loc"`
			Msg  string `json:"msg"`
		} `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(r.body, &body))
	require.NotEmpty(t, body.Detail)
	assert.Equal(t, "body", body.Detail[0].Loc[0])
	assert.NotEmpty(t, body.Detail[0].Msg)

	r = app.get("/sdk/approvals/00000000-0000-4000-8000-000000000000?wait=26")
	require.Equal(t, 422, r.status, "%s", r.body)
	assert.Contains(t, string(r.body), `"wait"`)
	r = app.post("/sdk/auth/poll", map[string]any{"session_token": "x", "wait_ms": 30001})
	require.Equal(t, 422, r.status, "%s", r.body)

	expect(t, app.post("/sdk/proxy", map[string]any{"method": "GET", "url": "https://x.example", "grant_id": "g", "headers": map[string]string{"Authorization": "mine"}}), 422, "")
	assert.Empty(t, s.Violations())
}

func TestRoutingAnswers(t *testing.T) {
	_, app := newApp(t)
	r := app.get("/sdk/nope")
	assert.Equal(t, 404, r.status)
	assert.JSONEq(t, `{"detail":"Not Found"}`, string(r.body))
	assert.NotEmpty(t, r.header.Get("X-RateLimit-Remaining"), "rate-limit headers on every answer")
	r = app.get("/sdk/token")
	assert.Equal(t, 405, r.status)
	assert.JSONEq(t, `{"detail":"Method Not Allowed"}`, string(r.body))
	assert.NotEmpty(t, r.header.Get("X-Request-ID"))
	r = app.get("/v1/tokens")
	assert.Equal(t, 404, r.status, "the invented /v1 API is gone")
}

// TestResponseValidation: an emulator answer that breaks the spec becomes a 500 and a recorded
// violation.
func TestResponseValidation(t *testing.T) {
	s := NewServer()
	defer s.Close()
	s.InjectFault("listScopes", Fault{BadResponse: true})
	r := newClient(t, s, s.AppKey()).get("/sdk/scopes")
	assert.Equal(t, 500, r.status)
	v := s.Violations()
	require.Len(t, v, 1)
	assert.Contains(t, v[0], "listScopes")
	s.ResetViolations()
	assert.Empty(t, s.Violations())

	off := NewTestServer(t, WithoutContractValidation())
	off.InjectFault("listScopes", Fault{BadResponse: true})
	r = newClient(t, off, off.AppKey()).get("/sdk/scopes")
	assert.Equal(t, 200, r.status)
	assert.Empty(t, off.Violations())
}

func TestFaults(t *testing.T) {
	s, app := newApp(t)
	s.InjectFault("listScopes", Fault{Status: 503, RetryAfter: 1500 * 1e6, Times: 2})
	for range 2 {
		r := app.get("/sdk/scopes")
		expect(t, r, 503, "service_unavailable")
		assert.Equal(t, "2", r.header.Get("Retry-After"))
	}
	expect(t, app.get("/sdk/scopes"), 200, "")
	s.InjectFault("listScopes", Fault{Status: 429, RetryAfter: 3e9})
	r := app.get("/sdk/scopes")
	expect(t, r, 429, "rate_limit_exceeded")
	assert.EqualValues(t, 3, r.obj(t)["detail"].(map[string]any)["retry_after"])
	s.InjectFault("listScopes", Fault{Status: 409, Code: "agent_name_exists", Message: "taken"})
	r = app.get("/sdk/scopes")
	expect(t, r, 409, "agent_name_exists")
	s.InjectFault("listScopes", Fault{NonJSON: true})
	r = app.get("/sdk/scopes")
	assert.Equal(t, 502, r.status)
	assert.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "text/html"))
	s.InjectFault("listScopes", Fault{Malformed: true})
	r = app.get("/sdk/scopes")
	assert.False(t, json.Valid(r.body))
	s.InjectFault("listScopes", Fault{Drop: true})
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}} // no retry on a reused connection
	_, err := fresh.Do(app.request("GET", "/sdk/scopes", nil, nil))
	assert.Error(t, err)
	s.InjectFault("listScopes", Fault{Panic: true})
	expect(t, app.get("/sdk/scopes"), 500, "")
	expect(t, app.get("/sdk/scopes"), 200, "")
	assert.Equal(t, 10, s.CallCount("listScopes"))
}

func TestRequestsRedacted(t *testing.T) {
	s := NewTestServer(t)
	alice := s.AddUser("alice")
	c := newClient(t, s, s.AppKey())
	expect(t, c.post("/sdk/auth/verify-token", map[string]any{"token": alice.Token}), 200, "")
	reqs := s.Requests()
	require.Len(t, reqs, 1)
	assert.NotContains(t, string(reqs[0].Body), alice.Token)
	assert.Contains(t, string(reqs[0].Body), `"token":"REDACTED"`)
	assert.Equal(t, "REDACTED", reqs[0].Header.Get("X-Api-Key"))
	assert.Equal(t, "verifyUserToken", reqs[0].Operation)
	assert.Equal(t, 200, reqs[0].Status)
}

func TestConcurrentUse(t *testing.T) {
	s := NewTestServer(t)
	d := SeedDemo(s)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			c := newClient(t, s, d.Agent.APIKey)
			for range 10 {
				if i%2 == 0 {
					expect(t, c.post("/sdk/token", tokenBody("grant_id", d.GrantID.String())), 200, "")
				} else {
					expect(t, c.post("/sdk/grants/list", map[string]any{"limit": 10, "offset": 0}), 200, "")
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 80, s.CallCount("retrieveToken"))
}

// TestAbsoluteTarget: the handler serves a request built by httptest.NewRequest (absolute-form
// target) the same as one off the wire.
func TestAbsoluteTarget(t *testing.T) {
	s := NewTestServer(t)
	c := newClient(t, s, s.AppKey())
	req := c.request("GET", "/sdk/scopes", nil, nil)
	in := httptest.NewRequest("GET", "http://vault/sdk/scopes", nil)
	in.Header = req.Header
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, in)
	assert.Equal(t, 200, rec.Code, rec.Body.String())
}
