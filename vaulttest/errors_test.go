package vaulttest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	alter "github.com/altersdk/alter-go"
	"github.com/altersdk/alter-go/gen"
	"github.com/altersdk/alter-go/internal/signing"
)

// fixture is a seeded vault for one error case.
type fixture struct {
	s     *Server
	up    *EchoUpstream
	app   *gen.ClientWithResponses
	bot   Agent
	botc  *gen.ClientWithResponses
	alice User
	gh    uuid.UUID // alice's GitHub grant, delegated to bot
}

func newFixture(t *testing.T) *fixture {
	s := NewServer()
	up := NewEchoUpstream()
	t.Cleanup(func() { s.Close(); up.Close() })
	f := &fixture{s: s, up: up, app: client(t, s, s.AppKey()), bot: s.AddAgent("bot"), alice: s.AddUser("alice")}
	f.botc = client(t, s, f.bot.APIKey)
	f.gh = s.AddOAuthGrant(OAuthGrant{Provider: "github", Account: "alice@work.com", UserSub: "alice", DelegatedTo: []uuid.UUID{f.bot.ID}})
	return f
}

// token retrieves a credential for a grant and returns the error code.
func (f *fixture) tokenCode(t *testing.T, g uuid.UUID) string {
	r, err := f.app.RetrieveCredentialWithResponse(bg, nil, gen.TokenRequest{GrantID: &g, Method: "GET", URL: f.up.URL()})
	require.NoError(t, err)
	return errCode(t, r.Body)
}

// raw sends a signed request outside the generated client.
func (f *fixture) raw(t *testing.T, method, path string, body []byte) (int, []byte) {
	req, err := http.NewRequestWithContext(bg, method, f.s.URL()+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	require.NoError(t, signer(f.s.AppKey(), f.s.now)(bg, req))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.NotEmpty(t, resp.Header.Get("X-Request-Id"))
	return resp.StatusCode, b
}

func (f *fixture) proxyCode(t *testing.T, c *gen.ClientWithResponses, req gen.ProxyRequest, eds ...gen.RequestEditorFn) string {
	r, err := c.ProxyRequestWithResponse(bg, nil, req, eds...)
	require.NoError(t, err)
	return errCode(t, r.Body)
}

// held creates a pending approval and returns its id.
func (f *fixture) held(t *testing.T, path string) string {
	f.s.SetGrantPolicy(f.gh, Policy{RequireApproval: true})
	r, err := f.app.ProxyRequestWithResponse(bg, nil, gen.ProxyRequest{GrantID: &f.gh, Method: "GET", URL: f.up.URL() + path})
	require.NoError(t, err)
	require.Equal(t, 202, r.StatusCode(), string(r.Body))
	return r.JSON202.ApprovalID
}

func (f *fixture) resultCode(t *testing.T, id string) string {
	r, err := f.app.GetApprovalResultWithResponse(bg, id, nil)
	require.NoError(t, err)
	return errCode(t, r.Body)
}

func msPrincipal(t *testing.T, label string) gen.Principal {
	var p gen.Principal
	require.NoError(t, p.FromSystemPrincipal(gen.SystemPrincipal{Type: "system", Label: &label}))
	return p
}

// errorCases produce every code of the spec's ErrorCode enum.
var errorCases = []struct {
	code string
	run  func(t *testing.T, f *fixture) string
}{
	{"invalid_request", func(t *testing.T, f *fixture) string {
		r, err := f.app.RetrieveCredentialWithResponse(bg, nil, gen.TokenRequest{GrantID: &f.gh, Provider: strp("github"), Method: "GET", URL: "x"})
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"forbidden_header", func(t *testing.T, f *fixture) string {
		return f.proxyCode(t, f.app, gen.ProxyRequest{GrantID: &f.gh, Method: "GET", URL: f.up.URL(), Headers: &gen.StringMap{"authorization": "x"}})
	}},
	{"invalid_key", func(t *testing.T, f *fixture) string {
		r, err := client(t, f.s, "alter_key_app_nope").ListScopesWithResponse(bg, nil)
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"invalid_signature", func(t *testing.T, f *fixture) string {
		r, err := f.app.ListScopesWithResponse(bg, nil, hdr("X-Alter-Signature", "v1=00"))
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"signature_expired", func(t *testing.T, f *fixture) string {
		old, err := gen.NewClientWithResponses(f.s.URL(), gen.WithRequestEditorFn(signer(f.s.AppKey(), func() time.Time { return time.Now().Add(-6 * time.Minute) })))
		require.NoError(t, err)
		r, err := old.ListScopesWithResponse(bg, nil)
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"nonce_replayed", func(t *testing.T, f *fixture) string {
		fixed := fixedNonce(f.s.AppKey(), "the-same-nonce-123456")
		_, err := f.app.ListScopesWithResponse(bg, nil, fixed)
		require.NoError(t, err)
		r, err := f.app.ListScopesWithResponse(bg, nil, fixed)
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"insufficient_scope", func(t *testing.T, f *fixture) string {
		d, err := f.app.DeriveKeyWithResponse(bg, nil, gen.DeriveKeyRequest{Scopes: []string{"catalog:read"}, ExpiresIn: 60})
		require.NoError(t, err)
		require.Equal(t, 201, d.StatusCode(), string(d.Body))
		r, err := client(t, f.s, d.JSON201.APIKey).RetrieveCredentialWithResponse(bg, nil, gen.TokenRequest{GrantID: &f.gh, Method: "GET", URL: "u"})
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"rate_limited", func(t *testing.T, f *fixture) string {
		f.s.InjectFault("listScopes", Fault{Status: 429, Code: "rate_limited", RetryAfter: 1500 * time.Millisecond})
		r, err := f.app.ListScopesWithResponse(bg, nil)
		require.NoError(t, err)
		assert.Equal(t, "2", r.HTTPResponse.Header.Get("Retry-After"))
		return errCode(t, r.Body)
	}},
	{"request_too_large", func(t *testing.T, f *fixture) string {
		_, b := f.raw(t, "POST", "/tokens", bytes.Repeat([]byte(" "), 1<<20+1))
		return errCode(t, b)
	}},
	{"not_found", func(t *testing.T, f *fixture) string { _, b := f.raw(t, "GET", "/nope", nil); return errCode(t, b) }},
	{"method_not_allowed", func(t *testing.T, f *fixture) string { _, b := f.raw(t, "PUT", "/me", nil); return errCode(t, b) }},
	{"internal_error", func(t *testing.T, f *fixture) string {
		f.s.InjectFault("listScopes", Fault{Panic: true})
		r, err := f.app.ListScopesWithResponse(bg, nil)
		require.NoError(t, err)
		require.Equal(t, 500, r.StatusCode())
		again, err := f.app.ListScopesWithResponse(bg, nil) // still serving
		require.NoError(t, err)
		require.Equal(t, 200, again.StatusCode())
		return errCode(t, r.Body)
	}},
	{"service_unavailable", func(t *testing.T, f *fixture) string {
		f.s.InjectFault("listScopes", Fault{Status: 503, Code: "service_unavailable", RetryAfter: time.Second})
		r, err := f.app.ListScopesWithResponse(bg, nil)
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"contract_violation", func(t *testing.T, f *fixture) string {
		f.s.InjectFault("listScopes", Fault{BadResponse: true})
		r, err := f.app.ListScopesWithResponse(bg, nil)
		require.NoError(t, err)
		require.Len(t, f.s.Violations(), 1)
		return errCode(t, r.Body)
	}},
	{"me_requires_agent_key", func(t *testing.T, f *fixture) string {
		r, err := f.app.GetMeWithResponse(bg, nil)
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"agent_user_token_not_allowed", func(t *testing.T, f *fixture) string {
		return f.proxyCode(t, f.botc, gen.ProxyRequest{Provider: strp("github"), Method: "GET", URL: f.up.URL()}, hdr("X-Alter-User-Token", f.alice.Token))
	}},
	{"invalid_user_token", func(t *testing.T, f *fixture) string {
		return f.proxyCode(t, f.app, gen.ProxyRequest{Provider: strp("github"), Method: "GET", URL: f.up.URL()}, hdr("X-Alter-User-Token", "not.a.jwt"))
	}},
	{"grant_not_found", func(t *testing.T, f *fixture) string { return f.tokenCode(t, uuid.New()) }},
	{"grant_expired", func(t *testing.T, f *fixture) string {
		f.s.SetGrantState(f.gh, GrantExpired)
		return f.tokenCode(t, f.gh)
	}},
	{"grant_revoked", func(t *testing.T, f *fixture) string {
		f.s.SetGrantState(f.gh, GrantRevoked)
		return f.tokenCode(t, f.gh)
	}},
	{"grant_deleted", func(t *testing.T, f *fixture) string {
		f.s.SetGrantState(f.gh, GrantDeleted)
		return f.tokenCode(t, f.gh)
	}},
	{"credential_revoked", func(t *testing.T, f *fixture) string {
		f.s.SetGrantState(f.gh, GrantCredentialRevoked)
		return f.tokenCode(t, f.gh)
	}},
	{"ambiguous_grant", func(t *testing.T, f *fixture) string {
		f.s.AddOAuthGrant(OAuthGrant{Provider: "github", Account: "alice@home.com", UserSub: "alice"})
		r, err := f.app.RetrieveCredentialWithResponse(bg, nil, gen.TokenRequest{Provider: strp("github"), Method: "GET", URL: "u"}, hdr("X-Alter-User-Token", f.alice.Token))
		require.NoError(t, err)
		assert.Contains(t, string(r.Body), `"accounts":["alice@work.com","alice@home.com"]`)
		ok, err := f.app.RetrieveCredentialWithResponse(bg, nil, gen.TokenRequest{Provider: strp("github"), Account: strp("alice@home.com"), Method: "GET", URL: "u"}, hdr("X-Alter-User-Token", f.alice.Token))
		require.NoError(t, err)
		require.Equal(t, 200, ok.StatusCode(), string(ok.Body))
		return errCode(t, r.Body)
	}},
	{"no_delegated_grant", func(t *testing.T, f *fixture) string {
		other := f.s.AddAgent("other")
		// impersonation: App key + X-Alter-Caller = agent id, inside alice's session
		return f.proxyCode(t, f.app, gen.ProxyRequest{Provider: strp("github"), Method: "GET", URL: f.up.URL()},
			hdr("X-Alter-User-Token", f.alice.Token, "X-Alter-Caller", other.ID.String()))
	}},
	{"delegation_not_found", func(t *testing.T, f *fixture) string {
		other := f.s.AddAgent("other")
		r, err := f.app.RevokeDelegationWithResponse(bg, f.gh, other.ID, nil)
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"policy_violation", func(t *testing.T, f *fixture) string {
		f.s.SetGrantPolicy(f.gh, Policy{DenyReason: "outside business hours"})
		r, err := f.app.RetrieveCredentialWithResponse(bg, nil, gen.TokenRequest{GrantID: &f.gh, Method: "GET", URL: "u"})
		require.NoError(t, err)
		assert.Contains(t, string(r.Body), `"policy_error":"outside business hours"`)
		return errCode(t, r.Body)
	}},
	{"token_refresh_in_progress", func(t *testing.T, f *fixture) string {
		f.s.SetGrantRefreshing(f.gh, 1)
		r, err := f.app.RetrieveCredentialWithResponse(bg, nil, gen.TokenRequest{GrantID: &f.gh, Method: "GET", URL: "u"})
		require.NoError(t, err)
		assert.Equal(t, 409, r.StatusCode())
		assert.Equal(t, "1", r.HTTPResponse.Header.Get("Retry-After"))
		return errCode(t, r.Body)
	}},
	{"restricted_grant_requires_proxy", func(t *testing.T, f *fixture) string {
		f.s.SetGrantPolicy(f.gh, Policy{RequireApproval: true})
		return f.tokenCode(t, f.gh)
	}},
	{"sibling_label_conflict", func(t *testing.T, f *fixture) string {
		f.s.AddManagedSecret("ms_db", "DB", "pw", BearerInjection())
		_, err := f.app.CreateManagedSecretGrantWithResponse(bg, "ms_db", nil, gen.CreateManagedSecretGrantRequest{Principal: msPrincipal(t, "prod")})
		require.NoError(t, err)
		r, err := f.app.CreateManagedSecretGrantWithResponse(bg, "ms_db", nil, gen.CreateManagedSecretGrantRequest{Principal: msPrincipal(t, "prod")})
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"managed_secret_not_found", func(t *testing.T, f *fixture) string {
		r, err := f.app.CreateManagedSecretGrantWithResponse(bg, "ms_nope", nil, gen.CreateManagedSecretGrantRequest{Principal: msPrincipal(t, "x")})
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"upstream_unreachable", func(t *testing.T, f *fixture) string {
		dead := NewEchoUpstream()
		dead.Close()
		return f.proxyCode(t, f.app, gen.ProxyRequest{GrantID: &f.gh, Method: "GET", URL: dead.URL()})
	}},
	{"approval_not_found", func(t *testing.T, f *fixture) string { return f.resultCode(t, "apr_nope") }},
	{"approval_pending", func(t *testing.T, f *fixture) string { return f.resultCode(t, f.held(t, "/x")) }},
	{"approval_denied", func(t *testing.T, f *fixture) string {
		id := f.held(t, "/x")
		require.NoError(t, f.s.Deny(id, "no"))
		return f.resultCode(t, id)
	}},
	{"approval_expired", func(t *testing.T, f *fixture) string {
		id := f.held(t, "/x")
		require.NoError(t, f.s.Expire(id))
		return f.resultCode(t, id)
	}},
	{"approval_execution_failed", func(t *testing.T, f *fixture) string {
		id := f.held(t, "/status/503")
		require.NoError(t, f.s.Approve(id))
		return f.resultCode(t, id)
	}},
	{"session_not_found", func(t *testing.T, f *fixture) string {
		r, err := f.app.GetConnectSessionWithResponse(bg, "no-such-session-token", nil)
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"connect_denied", func(t *testing.T, f *fixture) string {
		return f.connectEnd(t, func(tok string) { require.NoError(t, f.s.DenyConnectSession(tok)) })
	}},
	{"connect_config", func(t *testing.T, f *fixture) string {
		r, err := f.app.CreateConnectSessionWithResponse(bg, nil, gen.ConnectSessionCreate{AllowedProviders: []string{"myspace"}})
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"connect_flow", func(t *testing.T, f *fixture) string {
		return f.connectEnd(t, func(tok string) { require.NoError(t, f.s.FailConnectSession(tok, "connect_flow")) })
	}},
	{"agent_not_found", func(t *testing.T, f *fixture) string {
		r, err := f.app.GetAgentWithResponse(bg, uuid.New(), nil)
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"agent_name_exists", func(t *testing.T, f *fixture) string {
		r, err := f.app.CreateAgentWithResponse(bg, nil, gen.AgentCreateRequest{Name: "bot"})
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"agent_inactive", func(t *testing.T, f *fixture) string {
		idle := f.s.AddAgent("idle", AgentInactive())
		r, err := f.app.MintAgentKeyWithResponse(bg, idle.ID, nil, gen.AgentKeyMintRequest{})
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"agent_revoked", func(t *testing.T, f *fixture) string {
		_, err := f.app.DeleteAgentWithResponse(bg, f.bot.ID, nil)
		require.NoError(t, err)
		r, err := f.app.UpdateAgentWithResponse(bg, f.bot.ID, nil, gen.AgentUpdateRequest{DisplayName: strp("x")})
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"agent_cannot_mint_subagents", func(t *testing.T, f *fixture) string {
		r, err := f.botc.CreateAgentWithResponse(bg, nil, gen.AgentCreateRequest{Name: "child"})
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"agent_scope_narrowing_not_supported", func(t *testing.T, f *fixture) string {
		a := f.s.AddAgent("scoped", AgentScopes(map[string][]string{"github": {"repo", "read:user"}}))
		r, err := f.app.UpdateAgentWithResponse(bg, a.ID, nil, gen.AgentUpdateRequest{Scopes: &gen.ProviderScopes{"github": {"repo"}}})
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"key_not_found", func(t *testing.T, f *fixture) string {
		r, err := f.app.RotateKeyWithResponse(bg, uuid.New(), nil)
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"key_revoked", func(t *testing.T, f *fixture) string {
		k := f.s.AddAppKey(KeyRevoked())
		r, err := f.app.RotateKeyWithResponse(bg, k.ID, nil)
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"key_already_revoked", func(t *testing.T, f *fixture) string {
		k := f.s.AddAppKey()
		f.s.SetKeyState(k.ID, KeyRevoked)
		r, err := f.app.RevokeKeyWithResponse(bg, k.ID, nil)
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"last_active_key", func(t *testing.T, f *fixture) string {
		r, err := f.app.RevokeAgentKeyWithResponse(bg, f.bot.ID, f.bot.KeyID, nil, gen.RevokeKeyRequest{})
		require.NoError(t, err)
		forced, err := f.app.RevokeAgentKeyWithResponse(bg, f.bot.ID, f.bot.KeyID, nil, gen.RevokeKeyRequest{Force: ptr(true)})
		require.NoError(t, err)
		require.Equal(t, 200, forced.StatusCode(), string(forced.Body))
		return errCode(t, r.Body)
	}},
	{"idempotency_key_body_mismatch", func(t *testing.T, f *fixture) string {
		p := &gen.CreateAgentParams{IdempotencyKey: strp("k1")}
		_, err := f.app.CreateAgentWithResponse(bg, p, gen.AgentCreateRequest{Name: "a1"})
		require.NoError(t, err)
		r, err := f.app.CreateAgentWithResponse(bg, p, gen.AgentCreateRequest{Name: "a2"})
		require.NoError(t, err)
		return errCode(t, r.Body)
	}},
	{"idempotency_key_agent_revoked", func(t *testing.T, f *fixture) string {
		return f.replayAfter(t, func(id uuid.UUID) {
			_, err := f.app.DeleteAgentWithResponse(bg, id, nil)
			require.NoError(t, err)
		})
	}},
	{"idempotency_key_agent_inactive", func(t *testing.T, f *fixture) string {
		return f.replayAfter(t, func(id uuid.UUID) {
			_, err := f.app.UpdateAgentWithResponse(bg, id, nil, gen.AgentUpdateRequest{Status: ptr(gen.AgentUpdateRequestStatusInactive)})
			require.NoError(t, err)
		})
	}},
}

func (f *fixture) connectEnd(t *testing.T, end func(tok string)) string {
	cs, err := f.app.CreateConnectSessionWithResponse(bg, nil, gen.ConnectSessionCreate{})
	require.NoError(t, err)
	end(cs.JSON201.SessionToken)
	st, err := f.app.GetConnectSessionWithResponse(bg, cs.JSON201.SessionToken, nil)
	require.NoError(t, err)
	require.Equal(t, 200, st.StatusCode(), string(st.Body))
	require.NotNil(t, st.JSON200.Error)
	return string(st.JSON200.Error.Code)
}

func (f *fixture) replayAfter(t *testing.T, change func(uuid.UUID)) string {
	p := &gen.CreateAgentParams{IdempotencyKey: strp("create-once")}
	first, err := f.app.CreateAgentWithResponse(bg, p, gen.AgentCreateRequest{Name: "once"})
	require.NoError(t, err)
	require.Equal(t, 201, first.StatusCode(), string(first.Body))
	change(first.JSON201.ID)
	r, err := f.app.CreateAgentWithResponse(bg, p, gen.AgentCreateRequest{Name: "once"})
	require.NoError(t, err)
	return errCode(t, r.Body)
}

// fixedNonce re-signs a request with a chosen nonce, to replay it.
func fixedNonce(apiKey, nonce string) gen.RequestEditorFn {
	key := signing.DeriveKey(apiKey)
	return func(_ context.Context, req *http.Request) error {
		ts := req.Header.Get(signing.HeaderTimestamp)
		req.Header.Set(signing.HeaderNonce, nonce)
		req.Header.Set(signing.HeaderSignature, signing.Signature(key, signing.CanonicalString(req.Method, signing.RequestTarget(req), ts, nonce, nil)))
		return nil
	}
}

func specErrorCodes(t *testing.T) []string {
	doc, err := openapi3.NewLoader().LoadFromData(alter.OpenAPI)
	require.NoError(t, err)
	var out []string
	for _, v := range doc.Components.Schemas["ErrorCode"].Value.Enum {
		out = append(out, v.(string))
	}
	return out
}

// TestEveryErrorCode produces each code of the spec's ErrorCode enum at least once.
func TestEveryErrorCode(t *testing.T) {
	var mu sync.Mutex
	produced := map[string]bool{}
	ran := 0
	for _, tc := range errorCases {
		t.Run(tc.code, func(t *testing.T) {
			f := newFixture(t)
			mu.Lock()
			ran++
			mu.Unlock()
			got := tc.run(t, f)
			assert.Equal(t, tc.code, got)
			if tc.code != "contract_violation" {
				f.s.RequireNoViolations(t)
			}
			mu.Lock()
			produced[got] = true
			mu.Unlock()
		})
	}
	if ran < len(errorCases) { // a -run filter picked some cases only
		t.Skip("coverage check needs every case")
	}
	var missing []string
	for _, c := range specErrorCodes(t) {
		if !produced[c] {
			missing = append(missing, c)
		}
	}
	assert.Empty(t, missing, "codes no test produced: %s", strings.Join(missing, ", "))
}
