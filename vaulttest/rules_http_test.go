package vaulttest

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/internal/signing"
)

func TestRequestRule(t *testing.T) {
	s := NewTestServer(t)
	g := s.AddOAuthGrant(OAuthGrant{Provider: "notion"})
	rule := ruleHeader("json_match", `{"when":{"method":"POST"},"effect":"deny"}`)
	c := newClient(t, s, s.AppKey(), signing.HeaderRequestRule, rule)
	body := func(m string) map[string]any {
		return map[string]any{"grant_id": g.String(), "reason": nil, "request": req(m, "https://api.example.com/")}
	}
	expect(t, c.post("/sdk/token", body("GET")), 200, "")
	expect(t, c.post("/sdk/token", body("POST")), 403, "")
	bad := newClient(t, s, s.AppKey(), signing.HeaderRequestRule, "%%%")
	expect(t, bad.post("/sdk/token", body("GET")), 400, "")
}

// The rule over HTTP: read on every call (a bad rule refuses a management call), applied on token
// and proxy calls.
func TestContentMatchOverHTTP(t *testing.T) {
	s := NewTestServer(t)
	up := NewEchoUpstream()
	t.Cleanup(up.Close)
	g := s.AddOAuthGrant(OAuthGrant{Provider: "github"})
	bad := newClient(t, s, s.AppKey(), signing.HeaderRequestRule, ruleHeader("content_match", `{"match":{},"effect":"deny"}`))
	expect(t, bad.post("/sdk/grants/list", map[string]any{}), 400, "")

	redact := newClient(t, s, s.AppKey(), signing.HeaderRequestRule,
		ruleHeader("content_match", `{"match":{"operations":["post:/people"]},"effect":"redact","redact":{"fields":["ssn"]}}`))
	proxy := func(c *client, body any) reply {
		return c.post("/sdk/proxy", map[string]any{"grant_id": g.String(), "method": "POST", "url": up.URL() + "/people", "body": body})
	}
	expect(t, proxy(redact, map[string]any{"name": "Ann", "ssn": "1"}), 200, "")
	last := up.Requests()[len(up.Requests())-1]
	require.JSONEq(t, `{"name":"Ann"}`, string(last.Body))
	expect(t, proxy(redact, "text"), 403, "redact_discharge_failed")
	rows := s.AuditRows()
	require.NotContains(t, string(mustJSON(t, rows[len(rows)-1])), `"ssn"`, "the audit row holds the redacted body")

	step := newClient(t, s, s.AppKey(), signing.HeaderRequestRule,
		ruleHeader("content_match", `{"match":{"families":["read"]},"effect":"step_up","step_up":{"max_session_age_seconds":60}}`))
	r := step.post("/sdk/token", map[string]any{"grant_id": g.String(), "reason": nil, "request": req("GET", up.URL()+"/me")})
	expect(t, r, 403, "step_up_required")
	assert.EqualValues(t, 60, r.obj(t)["detail"].(map[string]any)["max_session_age_seconds"])
	// The spec makes every credential call name a method and a URL; without them it fails closed.
	e := mustRule(t, `{"match":{"families":["read"]},"effect":"deny"}`).apply(s, &ruleInput{})
	require.NotNil(t, e)
	require.Equal(t, http.StatusForbidden, e.status)
}

func TestStepUpSessionAge(t *testing.T) {
	now := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	s := NewTestServer(t, WithClock(func() time.Time { return now }))
	u := s.AddUser("ann")
	age, ok := s.sessionAge(u.Token)
	require.True(t, ok)
	require.Zero(t, age)
	now = now.Add(90 * time.Second)
	age, ok = s.sessionAge(u.Token)
	require.True(t, ok)
	require.Equal(t, 90*time.Second, age)
	_, ok = s.sessionAge("")
	require.False(t, ok)
	_, ok = s.sessionAge(u.Token + "x")
	require.False(t, ok)
}
