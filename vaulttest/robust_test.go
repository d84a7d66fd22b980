package vaulttest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/gen"
	"github.com/altersdk/alter-go/internal/signing"
)

// send signs and sends a raw request, returning status, header and body.
func send(t testing.TB, s *Server, apiKey, method, path string, body []byte, mutate func(*http.Request)) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(bg, method, s.URL()+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	require.NoError(t, signer(apiKey, s.now)(bg, req))
	if mutate != nil {
		mutate(req)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, b
}

func TestSignatureRejections(t *testing.T) {
	s := NewTestServer(t)
	key := s.AppKey()
	body := []byte(`{"user_token":"x"}`)

	t.Run("tampered body", func(t *testing.T) {
		st, _, b := send(t, s, key, "POST", "/user-tokens/verify", body, func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"user_token":"y"}`)) // same length, other bytes
		})
		assert.Equal(t, 401, st)
		assert.Equal(t, "invalid_signature", errCode(t, b))
	})
	t.Run("tampered target", func(t *testing.T) {
		st, _, b := send(t, s, key, "GET", "/audit/events", nil, func(r *http.Request) { r.URL.RawQuery = "limit=5" })
		assert.Equal(t, 401, st)
		assert.Equal(t, "invalid_signature", errCode(t, b))
	})
	t.Run("stale timestamp", func(t *testing.T) {
		old := NewServer(WithClock(func() time.Time { return time.Now().Add(301 * time.Second) }))
		defer old.Close()
		st, _, b := send(t, old, old.AppKey(), "GET", "/scopes", nil, func(r *http.Request) {
			signing.Sign(r, signing.DeriveKey(old.AppKey()), nil, time.Now()) // signed with the real clock: 301 s behind the vault
		})
		assert.Equal(t, 401, st)
		assert.Equal(t, "signature_expired", errCode(t, b))
	})
	t.Run("replayed nonce", func(t *testing.T) {
		req, err := http.NewRequestWithContext(bg, "GET", s.URL()+"/scopes", nil)
		require.NoError(t, err)
		require.NoError(t, signer(key, s.now)(bg, req))
		first, err := http.DefaultClient.Do(req.Clone(context.Background()))
		require.NoError(t, err)
		_ = first.Body.Close()
		assert.Equal(t, 200, first.StatusCode)
		again, err := http.DefaultClient.Do(req.Clone(context.Background()))
		require.NoError(t, err)
		b, _ := io.ReadAll(again.Body)
		_ = again.Body.Close()
		assert.Equal(t, 401, again.StatusCode)
		assert.Equal(t, "nonce_replayed", errCode(t, b))
	})
	t.Run("missing headers", func(t *testing.T) {
		st, _, b := send(t, s, key, "GET", "/scopes", nil, func(r *http.Request) { r.Header.Del(signing.HeaderNonce) })
		assert.Equal(t, 401, st)
		assert.Equal(t, "invalid_signature", errCode(t, b))
	})
}

// TestNonceWindowVirtualClock checks the nonce memory and the ±5 min window with a fake clock.
func TestNonceWindowVirtualClock(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := NewTestServer(t, WithClock(clock))
	fixed := fixedNonce(s.AppKey(), "nonce-window-test-0001")
	c := client(t, s, s.AppKey())
	r, err := c.ListScopesWithResponse(bg, nil, fixed)
	require.NoError(t, err)
	require.Equal(t, 200, r.StatusCode())
	mu.Lock()
	now = now.Add(9 * time.Minute)
	mu.Unlock()
	r, err = c.ListScopesWithResponse(bg, nil, fixed)
	require.NoError(t, err)
	assert.Equal(t, "nonce_replayed", errCode(t, r.Body))
	mu.Lock()
	now = now.Add(2 * time.Minute) // 11 min after first use: forgotten
	mu.Unlock()
	r, err = c.ListScopesWithResponse(bg, nil, fixed)
	require.NoError(t, err)
	assert.Equal(t, 200, r.StatusCode(), string(r.Body))
}

// TestBadBodies: malformed JSON, wrong types, unknown fields and oversize bodies get the envelope
// (400 / 413), with and without contract validation, and the server keeps serving.
func TestBadBodies(t *testing.T) {
	for _, validate := range []bool{true, false} {
		var opts []Option
		if !validate {
			opts = append(opts, WithoutContractValidation())
		}
		s := NewServer(append(opts, WithMaxBodyBytes(4096))...)
		cases := []struct {
			name, path, body string
			status           int
			code             string
		}{
			{"malformed", "/tokens", `{"grant_id":`, 400, "invalid_request"},
			{"wrong type", "/tokens", `{"method":"GET","url":42}`, 400, "invalid_request"},
			{"unknown field", "/tokens", `{"method":"GET","url":"http://x","surprise":1}`, 400, "invalid_request"},
			{"not json", "/agents", `name=x`, 400, "invalid_request"},
			{"empty", "/agents", ``, 400, "invalid_request"},
			{"bad uuid", "/grants/not-a-uuid/revoke", `{}`, 400, "invalid_request"},
			{"oversize", "/agents", `{"name":"` + strings.Repeat("a", 5000) + `"}`, 413, "request_too_large"},
		}
		for _, tc := range cases {
			st, h, b := send(t, s, s.AppKey(), "POST", tc.path, []byte(tc.body), nil)
			assert.Equal(t, tc.status, st, "validate=%v %s: %s", validate, tc.name, b)
			assert.Equal(t, tc.code, errCode(t, b), "validate=%v %s", validate, tc.name)
			assert.Equal(t, "application/json", h.Get("Content-Type"))
		}
		st, _, _ := send(t, s, s.AppKey(), "GET", "/scopes", nil, nil)
		assert.Equal(t, 200, st, "still serving")
		s.Close()
	}
}

func TestFaults(t *testing.T) {
	s := NewTestServer(t)
	c := client(t, s, s.AppKey())

	s.InjectFault("listScopes", Fault{Times: 2, Status: 503, Code: "service_unavailable"})
	for range 2 {
		r, err := c.ListScopesWithResponse(bg, nil)
		require.NoError(t, err)
		assert.Equal(t, 503, r.StatusCode())
	}
	r, err := c.ListScopesWithResponse(bg, nil)
	require.NoError(t, err)
	assert.Equal(t, 200, r.StatusCode())

	s.InjectFault("listScopes", Fault{NonJSON: true})
	r, err = c.ListScopesWithResponse(bg, nil)
	require.NoError(t, err)
	assert.Equal(t, 502, r.StatusCode())
	assert.Contains(t, r.HTTPResponse.Header.Get("Content-Type"), "text/html")

	s.InjectFault("listScopes", Fault{Malformed: true})
	_, err = c.ListScopesWithResponse(bg, nil)
	require.Error(t, err, "truncated JSON does not parse")

	// Go's transport silently retries a GET dropped on a reused connection, so use a fresh one.
	fresh, err := gen.NewClientWithResponses(s.URL(), gen.WithRequestEditorFn(signer(s.AppKey(), s.now)),
		gen.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}))
	require.NoError(t, err)
	s.InjectFault("listScopes", Fault{Drop: true})
	_, err = fresh.ListScopesWithResponse(bg, nil)
	require.Error(t, err)

	s.InjectFault("listScopes", Fault{Delay: time.Second})
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	_, err = c.ListScopesWithResponse(ctx, nil)
	require.Error(t, err)

	r, err = c.ListScopesWithResponse(bg, nil)
	require.NoError(t, err)
	assert.Equal(t, 200, r.StatusCode(), "still serving")
	assert.Equal(t, 8, s.CallCount("listScopes"))
}

// TestIdempotentProxyAppliedOnce: a replayed POST /proxy reaches the upstream once.
func TestIdempotentProxyAppliedOnce(t *testing.T) {
	s := NewTestServer(t)
	up := NewEchoUpstream()
	defer up.Close()
	g := s.AddOAuthGrant(OAuthGrant{Provider: "github", Account: "a", UserSub: "alice"})
	c := client(t, s, s.AppKey())
	p := &gen.ProxyRequestParams{IdempotencyKey: strp("pay-1")}
	body := gen.ProxyRequest{GrantID: &g, Method: "POST", URL: up.URL() + "/charge"}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			r, err := c.ProxyRequestWithResponse(bg, p, body)
			assert.NoError(t, err)
			assert.Equal(t, 200, r.StatusCode())
		})
	}
	wg.Wait()
	assert.Len(t, up.Requests(), 1)
	other := c.ProxyRequestWithResponse
	r, err := other(bg, p, gen.ProxyRequest{GrantID: &g, Method: "POST", URL: up.URL() + "/refund"})
	require.NoError(t, err)
	assert.Equal(t, "idempotency_key_body_mismatch", errCode(t, r.Body))
	// scoped per calling key: another key may use the same Idempotency-Key
	k2 := s.AddAppKey()
	r, err = client(t, s, k2.APIKey).ProxyRequestWithResponse(bg, p, body)
	require.NoError(t, err)
	assert.Equal(t, 200, r.StatusCode())
	assert.Len(t, up.Requests(), 2)
}

func TestInjections(t *testing.T) {
	s := NewTestServer(t)
	up := NewEchoUpstream()
	defer up.Close()
	c := client(t, s, s.AppKey())
	basic := s.AddOAuthGrant(OAuthGrant{Provider: "jira", Credential: "me:pw", Injection: BasicInjection()})
	custom := s.AddOAuthGrant(OAuthGrant{Provider: "acme", Credential: "k1", Injection: Injection{
		Header: "X-API-Key", Format: "{token}", AdditionalCredentials: map[string]string{"app_id": "app-9"},
		Additional: []AdditionalInjection{{Target: "query", Key: "key", ValueSource: "access_token"}, {Target: "header", Key: "X-App", ValueSource: "additional_credentials.app_id"}},
	}})
	r, err := c.RetrieveCredentialWithResponse(bg, nil, gen.TokenRequest{GrantID: &custom, Method: "GET", URL: up.URL()})
	require.NoError(t, err)
	require.Equal(t, 200, r.StatusCode(), string(r.Body))
	assert.Equal(t, "app-9", (*r.JSON200.AdditionalCredentials)["app_id"])
	require.Len(t, r.JSON200.AdditionalInjections, 2)

	for _, g := range []uuid.UUID{basic, custom} {
		px, err := c.ProxyRequestWithResponse(bg, nil, gen.ProxyRequest{GrantID: &g, Method: "GET", URL: up.URL() + "/p"})
		require.NoError(t, err)
		require.Equal(t, 200, px.StatusCode(), string(px.Body))
	}
	reqs := up.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "Basic bWU6cHc=", reqs[0].Header.Get("Authorization"))
	assert.Equal(t, "k1", reqs[1].Header.Get("X-API-Key"))
	assert.Equal(t, "app-9", reqs[1].Header.Get("X-App"))
}

func TestConnectAndApprovalPages(t *testing.T) {
	s := NewTestServer(t)
	up := NewEchoUpstream()
	defer up.Close()
	c := client(t, s, s.AppKey())
	cs, err := c.CreateConnectSessionWithResponse(bg, nil, gen.ConnectSessionCreate{AllowedProviders: []string{"github", "google"}})
	require.NoError(t, err)
	page := get(t, cs.JSON201.ConnectURL)
	for _, id := range []string{`id="approve"`, `id="deny"`, `<select id="provider"`, `<input id="account"`, `value="google"`} {
		assert.Contains(t, page, id)
	}
	resp, err := http.PostForm(cs.JSON201.ConnectURL, url.Values{"provider": {"google"}, "account": {"me@gmail.com"}, "decision": {"approve"}})
	require.NoError(t, err)
	_ = resp.Body.Close()
	st, err := c.GetConnectSessionWithResponse(bg, cs.JSON201.SessionToken, nil)
	require.NoError(t, err)
	require.Equal(t, gen.SessionStatusCompleted, st.JSON200.Status)
	assert.Equal(t, "me@gmail.com", *st.JSON200.Results[0].AccountIdentifier)

	as, err := c.CreateAuthSessionWithResponse(bg, nil, gen.AuthSessionCreate{})
	require.NoError(t, err)
	assert.Contains(t, get(t, as.JSON201.AuthURL), `id="approve"`)
	resp, err = http.PostForm(as.JSON201.AuthURL, url.Values{"user": {"carol"}, "decision": {"approve"}})
	require.NoError(t, err)
	_ = resp.Body.Close()
	ast, err := c.GetAuthSessionWithResponse(bg, as.JSON201.SessionToken, nil)
	require.NoError(t, err)
	require.Equal(t, gen.SessionStatusCompleted, ast.JSON200.Status)
	v, err := c.VerifyUserTokenWithResponse(bg, nil, gen.VerifyUserTokenRequest{UserToken: *ast.JSON200.UserToken})
	require.NoError(t, err)
	assert.Equal(t, "carol", *v.JSON200.Sub)

	g := s.AddOAuthGrant(OAuthGrant{Provider: "github", Account: "a"})
	s.SetGrantPolicy(g, Policy{RequireApproval: true})
	px, err := c.ProxyRequestWithResponse(bg, nil, gen.ProxyRequest{GrantID: &g, Method: "DELETE", URL: up.URL() + "/repo", Reason: strp("cleanup")})
	require.NoError(t, err)
	require.Equal(t, 202, px.StatusCode())
	ap := get(t, px.JSON202.ApprovalURL)
	assert.Contains(t, ap, "DELETE")
	assert.Contains(t, ap, "cleanup")
	resp, err = http.PostForm(px.JSON202.ApprovalURL, url.Values{"decision": {"deny"}})
	require.NoError(t, err)
	_ = resp.Body.Close()
	as2, err := c.GetApprovalStatusWithResponse(bg, px.JSON202.ApprovalID, nil)
	require.NoError(t, err)
	assert.Equal(t, gen.ApprovalStatusValueDenied, as2.JSON200.Status)
	assert.Empty(t, up.Requests())
}

func get(t *testing.T, u string) string {
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, 200, resp.StatusCode, string(b))
	return string(b)
}

// TestAgentApprovalPolicyAndExpiry: an agent policy holds every proxy call; the vault's clock
// expires it.
func TestAgentApprovalPolicyAndExpiry(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	s := NewTestServer(t, WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }))
	up := NewEchoUpstream()
	defer up.Close()
	bot := s.AddAgent("careful", AgentRequireApproval())
	g := s.AddManagedSecretGrant("ms_x", bot.ID)
	s.AddManagedSecret("ms_x", "X", "sec", BearerInjection())
	c := client(t, s, bot.APIKey)
	r, err := c.RetrieveCredentialWithResponse(bg, nil, gen.TokenRequest{GrantID: &g, Method: "GET", URL: up.URL()})
	require.NoError(t, err)
	assert.Equal(t, "restricted_grant_requires_proxy", errCode(t, r.Body))
	px, err := c.ProxyRequestWithResponse(bg, nil, gen.ProxyRequest{GrantID: &g, Method: "GET", URL: up.URL()})
	require.NoError(t, err)
	require.Equal(t, 202, px.StatusCode(), string(px.Body))
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	// re-sign with the moved clock: client() reads s.now on every call
	st, err := c.GetApprovalStatusWithResponse(bg, px.JSON202.ApprovalID, nil)
	require.NoError(t, err)
	assert.Equal(t, gen.ApprovalStatusValueExpired, st.JSON200.Status)
	assert.Empty(t, s.PendingApprovals())
}

func TestConcurrentUse(t *testing.T) {
	s := NewTestServer(t)
	up := NewEchoUpstream()
	defer up.Close()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			a := s.AddAgent("w" + strings.Repeat("x", i))
			g := s.AddOAuthGrant(OAuthGrant{Provider: "github", Account: "a", UserSub: "u", DelegatedTo: []uuid.UUID{a.ID}})
			c := client(t, s, a.APIKey)
			for range 5 {
				r, err := c.RetrieveCredentialWithResponse(bg, nil, gen.TokenRequest{GrantID: &g, Method: "GET", URL: up.URL()},
					hdr("X-Alter-Run-Id", "run-c"))
				assert.NoError(t, err)
				assert.Equal(t, 200, r.StatusCode())
				_ = s.AuditRows()
			}
		})
	}
	wg.Wait()
	n := 0
	for _, r := range s.AuditRows() {
		if r.RunID == "run-c" {
			n++
			assert.Equal(t, "agent", r.CallerType)
			assert.Equal(t, "success", r.Outcome)
		}
	}
	assert.Equal(t, 40, n)
}

func TestFaultDefaultCodes(t *testing.T) {
	s := NewTestServer(t)
	c := client(t, s, s.AppKey())
	for st, code := range map[int]string{429: "rate_limited", 503: "service_unavailable", 500: "internal_error"} {
		s.InjectFault("getMe", Fault{Status: st, RetryAfter: time.Second})
		r, err := c.GetMeWithResponse(bg, nil)
		require.NoError(t, err)
		assert.Equal(t, st, r.StatusCode())
		assert.Equal(t, code, errCode(t, r.Body))
		assert.Equal(t, "1", r.HTTPResponse.Header.Get("Retry-After"))
	}
}
