package vaulttest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/gen"
)

// TestEveryOperation drives each of the 32 operations through the generated client on its happy
// path; NewTestServer fails the test on any contract violation, either way.
func TestEveryOperation(t *testing.T) {
	s := NewTestServer(t)
	up := NewEchoUpstream()
	defer up.Close()
	app := client(t, s, s.AppKey())
	alice := s.AddUser("alice")
	bot := s.AddAgent("bot")
	botc := client(t, s, bot.APIKey)
	gh := s.AddOAuthGrant(OAuthGrant{Provider: "github", Account: "alice@example.com", UserSub: "alice", Scopes: []string{"repo"},
		Credential: "gho_secret", DelegatedTo: []uuid.UUID{bot.ID}})
	s.AddManagedSecret("ms_stripe", "Stripe", "sk_test_1", HeaderInjection("X-API-Key"))

	// identity + catalog
	me, err := botc.GetMeWithResponse(bg, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, me.StatusCode(), string(me.Body))
	assert.Equal(t, bot.ID, me.JSON200.ID)
	assert.Equal(t, bot.ID.String(), me.HTTPResponse.Header.Get("X-Alter-Actor-Id"))
	assert.NotEmpty(t, me.HTTPResponse.Header.Get("X-Request-Id"))
	prov, err := app.ListProvidersWithResponse(bg, nil)
	require.NoError(t, err)
	require.Equal(t, 200, prov.StatusCode(), string(prov.Body))
	sc, err := app.ListScopesWithResponse(bg, nil)
	require.NoError(t, err)
	require.Equal(t, 200, sc.StatusCode())
	v, err := app.VerifyUserTokenWithResponse(bg, nil, gen.VerifyUserTokenRequest{UserToken: alice.Token})
	require.NoError(t, err)
	require.Equal(t, 200, v.StatusCode(), string(v.Body))
	assert.True(t, v.JSON200.Valid)
	assert.Equal(t, "alice", *v.JSON200.Sub)

	// retrieve mode by provider + user token, with trace headers
	tok, err := app.RetrieveCredentialWithResponse(bg, nil, gen.TokenRequest{Provider: strp("github"), Method: "GET", URL: up.URL() + "/user",
		Reason: strp("list repos"), Context: &gen.StringMap{"ticket": "T-1"}},
		hdr("X-Alter-User-Token", alice.Token, "X-Alter-Run-Id", "run-1", "X-Alter-Thread-Id", "th-1", "X-Alter-Tool-Call-Id", "tc-1", "X-Alter-Caller", "svc"))
	require.NoError(t, err)
	require.Equal(t, 200, tok.StatusCode(), string(tok.Body))
	assert.Equal(t, "gho_secret", tok.JSON200.AccessToken)
	assert.Equal(t, "Authorization", tok.JSON200.InjectionHeader)
	assert.Equal(t, "Bearer {token}", tok.JSON200.InjectionFormat)

	rec, err := app.RecordAPICallWithResponse(bg, nil, gen.APICallAuditLog{GrantID: gh, ProviderID: "github", Method: "GET", URL: up.URL() + "/user",
		ResponseStatus: 200, LatencyMs: 3, Timestamp: s.now()}, hdr("X-Alter-Run-Id", "run-1"))
	require.NoError(t, err)
	require.Equal(t, 202, rec.StatusCode(), string(rec.Body))

	// proxy mode: the vault performs the call
	px, err := botc.ProxyRequestWithResponse(bg, nil, gen.ProxyRequest{GrantID: &gh, Method: "POST", URL: up.URL() + "/issues",
		JSONBody: map[string]any{"title": "hi"}, Query: &gen.StringMap{"a": "1"}})
	require.NoError(t, err)
	require.Equal(t, 200, px.StatusCode(), string(px.Body))
	assert.Equal(t, 200, px.JSON200.StatusCode)
	var echoed struct {
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	}
	require.NoError(t, json.Unmarshal(px.JSON200.BodyB64, &echoed))
	assert.Equal(t, "Bearer gho_secret", echoed.Headers["Authorization"])
	assert.JSONEq(t, `{"title":"hi"}`, echoed.Body)

	// approvals
	s.SetGrantPolicy(gh, Policy{RequireApproval: true})
	pend, err := botc.ProxyRequestWithResponse(bg, nil, gen.ProxyRequest{GrantID: &gh, Method: "GET", URL: up.URL() + "/x"})
	require.NoError(t, err)
	require.Equal(t, 202, pend.StatusCode(), string(pend.Body))
	aid := pend.JSON202.ApprovalID
	assert.Equal(t, []string{aid}, s.PendingApprovals())
	st, err := botc.GetApprovalStatusWithResponse(bg, aid, nil)
	require.NoError(t, err)
	require.Equal(t, 200, st.StatusCode(), string(st.Body))
	assert.Equal(t, gen.ApprovalStatusValuePending, st.JSON200.Status)
	require.NoError(t, s.Approve(aid))
	res, err := botc.GetApprovalResultWithResponse(bg, aid, nil)
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode(), string(res.Body))
	assert.Equal(t, 200, res.JSON200.StatusCode)
	s.SetGrantPolicy(gh, Policy{})

	// sessions
	cs, err := app.CreateConnectSessionWithResponse(bg, nil, gen.ConnectSessionCreate{AllowedProviders: []string{"google"}, Agent: &bot.ID,
		Metadata: &gen.StringMap{"user_sub": "alice"}})
	require.NoError(t, err)
	require.Equal(t, 201, cs.StatusCode(), string(cs.Body))
	require.NoError(t, s.CompleteConnectSession(cs.JSON201.SessionToken, "google", "alice@gmail.com"))
	cst, err := app.GetConnectSessionWithResponse(bg, cs.JSON201.SessionToken, nil)
	require.NoError(t, err)
	require.Equal(t, 200, cst.StatusCode(), string(cst.Body))
	assert.Equal(t, gen.SessionStatusCompleted, cst.JSON200.Status)
	require.Len(t, cst.JSON200.Results, 1)
	as, err := app.CreateAuthSessionWithResponse(bg, nil, gen.AuthSessionCreate{})
	require.NoError(t, err)
	require.Equal(t, 201, as.StatusCode(), string(as.Body))
	require.NoError(t, s.CompleteAuthSession(as.JSON201.SessionToken, "bob"))
	ast, err := app.GetAuthSessionWithResponse(bg, as.JSON201.SessionToken, nil)
	require.NoError(t, err)
	require.Equal(t, 200, ast.StatusCode(), string(ast.Body))
	assert.Equal(t, "bob", ast.JSON200.UserInfo.Sub)

	// grants
	lg, err := app.ListGrantsWithResponse(bg, nil)
	require.NoError(t, err)
	require.Equal(t, 200, lg.StatusCode(), string(lg.Body))
	assert.Equal(t, 2, lg.JSON200.Total)
	var principal gen.Principal
	require.NoError(t, principal.FromAgentPrincipal(gen.AgentPrincipal{Type: "agent", Label: strp("billing")}))
	msg, err := botc.CreateManagedSecretGrantWithResponse(bg, "ms_stripe", nil, gen.CreateManagedSecretGrantRequest{Principal: principal})
	require.NoError(t, err)
	require.Equal(t, 201, msg.StatusCode(), string(msg.Body))
	blg, err := botc.ListGrantsWithResponse(bg, nil)
	require.NoError(t, err)
	require.Equal(t, 200, blg.StatusCode(), string(blg.Body))
	assert.Equal(t, 3, blg.JSON200.Total) // two delegated OAuth grants + its managed-secret grant
	mtok, err := botc.RetrieveCredentialWithResponse(bg, nil, gen.TokenRequest{GrantID: &msg.JSON201.GrantID, Method: "GET", URL: up.URL()})
	require.NoError(t, err)
	require.Equal(t, 200, mtok.StatusCode(), string(mtok.Body))
	assert.Equal(t, "X-API-Key", mtok.JSON200.InjectionHeader)
	assert.Equal(t, "sk_test_1", mtok.JSON200.AccessToken)
	googleGrant := cst.JSON200.Results[0].GrantID
	md, err := botc.RevokeMyDelegationWithResponse(bg, googleGrant, nil)
	require.NoError(t, err)
	require.Equal(t, 200, md.StatusCode(), string(md.Body))
	rd, err := app.RevokeDelegationWithResponse(bg, gh, bot.ID, nil)
	require.NoError(t, err)
	require.Equal(t, 200, rd.StatusCode(), string(rd.Body))
	rg, err := app.RevokeGrantWithResponse(bg, gh, nil, gen.RevokeGrantRequest{Reason: strp("offboarding")})
	require.NoError(t, err)
	require.Equal(t, 200, rg.StatusCode(), string(rg.Body))

	// agents and keys
	ca, err := app.CreateAgentWithResponse(bg, &gen.CreateAgentParams{IdempotencyKey: strp("create-1")}, gen.AgentCreateRequest{Name: "helper",
		Scopes: &gen.ProviderScopes{"github": {"repo"}}})
	require.NoError(t, err)
	require.Equal(t, 201, ca.StatusCode(), string(ca.Body))
	again, err := app.CreateAgentWithResponse(bg, &gen.CreateAgentParams{IdempotencyKey: strp("create-1")}, gen.AgentCreateRequest{Name: "helper",
		Scopes: &gen.ProviderScopes{"github": {"repo"}}})
	require.NoError(t, err)
	require.Equal(t, 201, again.StatusCode(), string(again.Body))
	assert.Equal(t, "true", again.HTTPResponse.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, ca.JSON201.APIKey, again.JSON201.APIKey)
	hid := ca.JSON201.ID
	la, err := app.ListAgentsWithResponse(bg, nil)
	require.NoError(t, err)
	require.Equal(t, 200, la.StatusCode(), string(la.Body))
	assert.Equal(t, 2, la.JSON200.Total)
	ga, err := app.GetAgentWithResponse(bg, hid, nil)
	require.NoError(t, err)
	require.Equal(t, 200, ga.StatusCode(), string(ga.Body))
	ua, err := app.UpdateAgentWithResponse(bg, hid, nil, gen.AgentUpdateRequest{DisplayName: strp("Helper"),
		Scopes: &gen.ProviderScopes{"github": {"repo", "read:user"}}})
	require.NoError(t, err)
	require.Equal(t, 200, ua.StatusCode(), string(ua.Body))
	mk, err := app.MintAgentKeyWithResponse(bg, hid, nil, gen.AgentKeyMintRequest{Name: strp("second")})
	require.NoError(t, err)
	require.Equal(t, 201, mk.StatusCode(), string(mk.Body))
	lk, err := app.ListAgentKeysWithResponse(bg, hid, nil)
	require.NoError(t, err)
	require.Equal(t, 200, lk.StatusCode(), string(lk.Body))
	require.Len(t, lk.JSON200.Items, 2)
	dk, err := app.DeprecateAgentKeyWithResponse(bg, hid, mk.JSON201.KeyID, nil)
	require.NoError(t, err)
	require.Equal(t, 200, dk.StatusCode(), string(dk.Body))
	// a deprecated key still works, and says so on every answer
	me2, err := client(t, s, mk.JSON201.APIKey).GetMeWithResponse(bg, nil)
	require.NoError(t, err)
	require.Equal(t, 200, me2.StatusCode(), string(me2.Body))
	assert.Equal(t, "true", me2.HTTPResponse.Header.Get("X-Alter-Key-Deprecated"))
	udk, err := app.UndeprecateAgentKeyWithResponse(bg, hid, mk.JSON201.KeyID, nil)
	require.NoError(t, err)
	require.Equal(t, 200, udk.StatusCode(), string(udk.Body))
	rk, err := app.RevokeAgentKeyWithResponse(bg, hid, mk.JSON201.KeyID, nil, gen.RevokeKeyRequest{})
	require.NoError(t, err)
	require.Equal(t, 200, rk.StatusCode(), string(rk.Body))
	da, err := app.DeleteAgentWithResponse(bg, hid, nil)
	require.NoError(t, err)
	require.Equal(t, 200, da.StatusCode(), string(da.Body))
	assert.Equal(t, gen.AgentStatusRevoked, da.JSON200.Status)

	dr, err := app.DeriveKeyWithResponse(bg, nil, gen.DeriveKeyRequest{Scopes: []string{"catalog:read"}, ExpiresIn: 600})
	require.NoError(t, err)
	require.Equal(t, 201, dr.StatusCode(), string(dr.Body))
	rot, err := app.RotateKeyWithResponse(bg, dr.JSON201.KeyID, nil)
	require.NoError(t, err)
	require.Equal(t, 201, rot.StatusCode(), string(rot.Body))
	rv, err := app.RevokeKeyWithResponse(bg, dr.JSON201.KeyID, nil)
	require.NoError(t, err)
	require.Equal(t, 200, rv.StatusCode(), string(rv.Body))

	// audit
	ev, err := app.ListAuditEventsWithResponse(bg, &gen.ListAuditEventsParams{RunID: strp("run-1")})
	require.NoError(t, err)
	require.Equal(t, 200, ev.StatusCode(), string(ev.Body))
	require.Len(t, ev.JSON200.Events, 3) // retrieveCredential, recordAPICall and its upstreamCall row
	first := ev.JSON200.Events[0]
	assert.Equal(t, "retrieveCredential", first.Operation)
	assert.Equal(t, "th-1", *first.ThreadID)
	assert.Equal(t, "tc-1", *first.ToolCallID)
	assert.Equal(t, "svc", *first.Caller)
	assert.Equal(t, "list repos", *first.Reason)
	assert.Equal(t, "alice", *first.PrincipalID)
	assert.Equal(t, gh, *first.GrantID)
	page, err := app.ListAuditEventsWithResponse(bg, &gen.ListAuditEventsParams{Limit: ptr(2)})
	require.NoError(t, err)
	require.Equal(t, 200, page.StatusCode(), string(page.Body))
	require.True(t, page.JSON200.HasMore)
	next, err := app.ListAuditEventsWithResponse(bg, &gen.ListAuditEventsParams{Limit: ptr(2), Cursor: page.JSON200.NextCursor})
	require.NoError(t, err)
	require.Equal(t, 200, next.StatusCode(), string(next.Body))
	assert.NotEqual(t, page.JSON200.Events[0].ID, next.JSON200.Events[0].ID)

	ops := map[string]bool{}
	for _, r := range s.AuditRows() {
		ops[r.Operation] = true
		assert.NotEmpty(t, r.RequestID)
	}
	assert.Len(t, ops, 33, "every operation (+ upstreamCall) left an audit row: %v", ops)
}
