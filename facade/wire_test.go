package facade

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// wireCase is one operation and what it must put on the wire.
type wireCase struct {
	name    string
	route   string // METHOD /path as sent (escaped)
	answer  reply
	do      func(ctx context.Context, app *App, ag *Agent) error
	query   string
	body    string // exact bytes; "" = no body
	context bool   // carries X-Alter-Context (the ctx has a Trace)
	actor   bool   // carries the cached X-Alter-Actor-ID
	agent   bool   // made by the Agent (caller type agent, no constructor caller)
	extra   []string
}

func wireCases() []wireCase {
	return []wireCase{
		{name: "retrieveToken direct", route: "POST /sdk/token", answer: ok(tokenAns),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.Request(ctx, "get", "http://127.0.0.1:1/v1/{id}", RequestParams{GrantID: gid, PathParams: map[string]string{"id": "a b/c"}})
				return err
			},
			body:    `{"grant_id":"` + gidStr + `","reason":null,"request":{"method":"GET","url":"http://127.0.0.1:1/v1/a%20b%2Fc"}}`,
			context: true, actor: true},
		{name: "retrieveToken provider", route: "POST /sdk/token", answer: ok(tokenAns),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.Request(ctx, "POST", "http://127.0.0.1:1/x", RequestParams{Provider: "google", UserToken: "user.jwt",
					Account: "a@b.c", Label: "work", AppUserID: "u1", Reason: "héllo <&>"})
				return err
			},
			body: `{"provider_id":"google","reason":"h\u00e9llo <&>","request":{"method":"POST","url":"http://127.0.0.1:1/x"},` +
				`"user_token":"user.jwt","app_user_id":"u1","account":"a@b.c","label":"work"}`,
			context: true, actor: true},
		{name: "proxyRequest", route: "POST /sdk/proxy", answer: ok(`{"status_code":201,"headers":{"X-A":"1"},"body_b64":"e30="}`),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.ProxyRequest(ctx, "post", "https://api.example.com/v1/x", ProxyParams{GrantID: gid, UserToken: "user.jwt",
					JSON: map[string]int{"a": 1}, Header: http.Header{"X-H": {"1"}}, Query: map[string][]string{"q": {"1"}}, Reason: "r"})
				return err
			},
			body: `{"method":"POST","url":"https://api.example.com/v1/x","grant_id":"` + gidStr + `","user_token":"user.jwt",` +
				`"body":{"a":1},"headers":{"X-H":"1"},"query_params":{"q":"1"},"reason":"r"}`,
			context: true, actor: true},
		{name: "getApprovalStatus", route: "GET /sdk/approvals/" + apprStr,
			answer: ok(`{"approval_id":"` + apprStr + `","approval_group_id":"` + apprStr + `","status":"pending","expires_at":"2026-01-01T00:00:00Z","has_result":false,` + gates + `}`),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.GetApprovalStatus(ctx, apprStr)
				return err
			}},
		{name: "getApprovalResult", route: "GET /sdk/approvals/" + apprStr + "/result", answer: ok(`{"status_code":200,"body_b64":""}`),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.approvalResult(ctx, apprStr)
				return err
			}},
		{name: "createConnectSession", route: "POST /sdk/oauth/connect/session",
			answer: ok(`{"session_token":"st","connect_url":"https://c","expires_in":60,"expires_at":"2026-01-01T00:00:00Z"}`),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.CreateConnectSession(ctx, ConnectSessionParams{AllowedProviders: []string{"github"}, Agent: "bot"})
				return err
			},
			body: `{"allowed_providers":["github"],"return_url":null,"allowed_origin":null,"metadata":null,"agent":"bot"}`, actor: true},
		{name: "pollConnectSession", route: "POST /sdk/oauth/connect/session/poll", answer: ok(`{"status":"completed","grants":[]}`),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.PollConnectSession(ctx, "st", PollParams{})
				return err
			},
			body: `{"session_token":"st"}`, actor: true},
		{name: "verifyUserToken", route: "POST /sdk/auth/verify-token", answer: ok(`{"sub":"u"}`),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, _, err := app.VerifyUserToken(ctx, "jwt")
				return err
			},
			body: `{"token":"jwt"}`, actor: true},
		{name: "listGrants", route: "POST /sdk/grants/list", answer: ok(`{"grants":[],"total":0,"limit":100,"offset":0,"has_more":false}`),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.ListGrants(ctx, ListGrantsParams{Provider: "github", Status: "active"})
				return err
			},
			body: `{"limit":100,"offset":0,"provider_id":"github","status":"active"}`, context: true, actor: true},
		{name: "revokeGrant", route: "POST /sdk/oauth/grants/" + gidStr + "/revoke",
			answer: ok(`{"success":true,"message":"ok","grant_id":"` + gidStr + `","revoked_at":"2026-01-01T00:00:00Z"}`),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.RevokeGrant(ctx, gid, "")
				return err
			},
			body: `{}`, actor: true},
		{name: "revokeDelegation", route: "DELETE /sdk/grants/" + gidStr + "/delegations/" + agentStr, answer: reply{status: 204},
			do:    func(ctx context.Context, app *App, _ *Agent) error { return app.RevokeDelegation(ctx, gid, agentID) },
			actor: true},
		{name: "revokeOwnDelegation", route: "DELETE /sdk/grants/" + gidStr + "/delegations/me", answer: reply{status: 204},
			do:    func(ctx context.Context, _ *App, ag *Agent) error { return ag.RevokeDelegation(ctx, gid) },
			actor: true, agent: true},
		{name: "createManagedSecretGrant", route: "POST /sdk/managed-secrets/ms-1/grants",
			answer: ok(`{"grant_id":"` + gidStr + `","principal_type":"system","label":null,"created_at":"2026-01-01T00:00:00Z"}`),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.CreateManagedSecretGrant(ctx, "ms-1", ManagedSecretGrantParams{Principal: SystemPrincipal{}})
				return err
			},
			body: `{"principal":{"type":"system","label":null},"grant_policy":{}}`, actor: true},
		{name: "getAgentMe", route: "GET /sdk/agents/me", answer: ok(agentAns),
			do: func(ctx context.Context, _ *App, ag *Agent) error {
				_, err := ag.Me(ctx)
				return err
			},
			context: true, actor: true, agent: true},
		{name: "createAgent", route: "POST /sdk/agents", answer: ok(strings.Replace(agentAns, `{`, `{"api_key":"alter_ak_x","key_id":"`+keyStr+`",`, 1)),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.Agents().Create(ctx, AgentCreateParams{Name: "bot", IdempotencyKey: "idem-1"})
				return err
			},
			body: `{"name":"bot","type":"agent","scopes":{},"metadata":{}}`, context: true, actor: true, extra: []string{"idempotency-key"}},
		{name: "listAgents", route: "GET /sdk/agents", answer: ok(`{"items":[],"total":0,"limit":100,"offset":0,"has_more":false}`),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.Agents().List(ctx, AgentListParams{})
				return err
			},
			query: "include_revoked=false&limit=100&offset=0", context: true, actor: true},
		{name: "getAgent", route: "GET /sdk/agents/" + agentStr, answer: ok(agentAns),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.Agents().Get(ctx, agentID)
				return err
			},
			context: true, actor: true},
		{name: "updateAgent", route: "PATCH /sdk/agents/" + agentStr, answer: ok(agentAns),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.Agents().Update(ctx, agentID, AgentUpdateParams{Scopes: map[string][]string{"github": {"repo"}}, ExpectedVersion: 3})
				return err
			},
			query: "expected_version=3", body: `{"scopes":{"github":["repo"]}}`, context: true, actor: true},
		{name: "deleteAgent", route: "DELETE /sdk/agents/" + agentStr, answer: ok(agentAns),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.Agents().Delete(ctx, agentID)
				return err
			},
			context: true, actor: true},
		{name: "mintAgentKey", route: "POST /sdk/agents/" + agentStr + "/keys", answer: ok(strings.Replace(keyAns, `{`, `{"api_key":"alter_ak_new",`, 1)),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.Agents().MintKey(ctx, agentID)
				return err
			},
			body: `{}`, context: true, actor: true},
		{name: "listAgentKeys", route: "GET /sdk/agents/" + agentStr + "/keys", answer: ok(`{"items":[` + keyAns + `]}`),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.Agents().ListKeys(ctx, agentID)
				return err
			},
			context: true, actor: true},
		{name: "deprecateAgentKey", route: "PATCH /sdk/agents/" + agentStr + "/keys/" + keyStr + "/deprecate", answer: ok(keyAns),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.Agents().DeprecateKey(ctx, agentID, keyID)
				return err
			},
			body: `{}`, context: true, actor: true},
		{name: "undeprecateAgentKey", route: "PATCH /sdk/agents/" + agentStr + "/keys/" + keyStr + "/undeprecate", answer: ok(keyAns),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.Agents().UndeprecateKey(ctx, agentID, keyID)
				return err
			},
			body: `{}`, context: true, actor: true},
		{name: "revokeAgentKey", route: "DELETE /sdk/agents/" + agentStr + "/keys/" + keyStr, answer: ok(keyAns),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.Agents().RevokeKey(ctx, agentID, keyID, RevokeKeyParams{Force: true})
				return err
			},
			query: "force=true", context: true, actor: true},
		{name: "deriveKey", route: "POST /sdk/keys/derive", answer: ok(mintedAns),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.Keys().Derive(ctx, DeriveKeyParams{Scopes: []string{"grants:read"}, ExpiresIn: 90 * time.Minute, Name: "ci"})
				return err
			},
			body: `{"scopes":["grants:read"],"expires_in":5400,"name":"ci"}`, context: true, actor: true},
		{name: "rotateKey", route: "POST /sdk/keys/" + keyStr + "/rotate", answer: ok(mintedAns),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.Keys().Rotate(ctx, keyID, DefaultKeyOverlapDays)
				return err
			},
			body: `{"overlap_days":7}`, context: true, actor: true},
		{name: "revokeKey", route: "DELETE /sdk/keys/" + keyStr, answer: ok(strings.Replace(mintedAns, `"api_key":"alter_dk_x",`, "", 1)),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.Keys().Revoke(ctx, keyID, RevokeKeyParams{Force: true})
				return err
			},
			query: "force=true", context: true, actor: true},
		{name: "listScopes", route: "GET /sdk/scopes", answer: ok(`{"scope_version":1,"action_verbs":["read"],"resources":{"grants":{"verbs":["read"]}}}`),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.ListScopes(ctx)
				return err
			},
			context: true, actor: true},
		{name: "listProviderCatalog", route: "GET /sdk/oauth/provider-catalog", answer: ok(`{"providers":{}}`),
			do: func(ctx context.Context, app *App, _ *Agent) error {
				_, err := app.ListProviders(ctx)
				return err
			},
			context: true, actor: true},
	}
}

// Every operation: method, path, query, the exact header set, the exact body bytes (keys in
// wire order, null where the reference client sends null, absent where it omits), and a
// signature the vault's verifier accepts.
func TestWireShapeOfEveryOperation(t *testing.T) {
	for _, tc := range wireCases() {
		t.Run(tc.name, func(t *testing.T) {
			v := newFakeVault(t, appKey)
			ak := appKey
			if tc.agent {
				v = newFakeVault(t, agentKey)
				ak = agentKey
			}
			// The first answer carries an actor id: the calls after it that carry actor
			// headers must send it back.
			warmReply := reply{status: 200, header: http.Header{"X-Alter-Actor-Id": {actorStr}},
				body: `{"scope_version":1,"action_verbs":[],"resources":{}}`}
			route := strings.SplitN(tc.route, " ", 2)
			v.on(tc.route, tc.answer)
			v.on("GET /sdk/scopes", warmReply, ok(`{"scope_version":1,"action_verbs":["read"],"resources":{"grants":{"verbs":["read"]}}}`))
			app := newTestApp(t, v, WithCaller("billing-cron"))
			ag := newTestAgent(t, v)
			warm := app.client
			if tc.agent {
				warm = ag.client
			}
			_, err := warm.ListScopes(bg)
			require.NoError(t, err)
			require.Equal(t, actorStr, warm.ActorID().String())

			ctx := WithTrace(bg, Trace{RunID: "run-1"})
			err = tc.do(ctx, app, ag)
			if tc.name != "retrieveToken direct" && tc.name != "retrieveToken provider" {
				require.NoError(t, err)
			}
			got := v.last(tc.route)
			require.Equal(t, route[0], got.Method)
			require.Equal(t, route[1], got.Path)
			require.Equal(t, tc.query, got.Query)
			if tc.body == "" {
				require.Empty(t, got.Body)
			} else {
				compactEq(t, tc.body, got.Body)
			}
			require.NoError(t, got.SigErr)
			require.Equal(t, ak, got.Header.Get("x-api-key"))
			require.Equal(t, "alter-sdk-go/"+Version, got.Header.Get("User-Agent"))

			want := []string{"user-agent", "x-alter-content-sha256", "x-alter-nonce", "x-alter-signature", "x-alter-timestamp", "x-api-key"}
			identity := false
			if tc.body != "" {
				want = append(want, "content-type")
				require.Equal(t, "application/json", got.Header.Get("Content-Type"))
			}
			if !tc.agent {
				want = append(want, "x-alter-caller", "x-alter-caller-type")
				require.Equal(t, "billing-cron", got.Header.Get("X-Alter-Caller"))
				require.Equal(t, "service", got.Header.Get("X-Alter-Caller-Type"))
				identity = true
			}
			if tc.actor {
				want = append(want, "x-alter-actor-id")
				require.Equal(t, actorStr, got.Header.Get("X-Alter-Actor-ID"))
				identity = true
			}
			if tc.context {
				want = append(want, "x-alter-context")
				require.Equal(t, `{"run_id":"run-1"}`, got.Header.Get("X-Alter-Context"))
				identity = true
			}
			if identity {
				want = append(want, "x-alter-signature-v2")
				require.Equal(t, got.Header.Get("X-Alter-Signature"), got.Header.Get("X-Alter-Signature-V2"))
			}
			want = append(want, tc.extra...)
			require.Equal(t, sortedCopy(want), headerSet(got.Header))
		})
	}
}

// The Agent's caller type is agent, also with a constructor caller; GetAgent pins the agent's
// UUID as caller, with the App's key.
func TestCallerHeaders(t *testing.T) {
	v := newFakeVault(t, agentKey)
	ag := newTestAgent(t, v, WithCaller("worker-7"))
	_, err := ag.ListScopes(bg)
	require.NoError(t, err)
	got := v.last("GET /sdk/scopes")
	require.Equal(t, "worker-7", got.Header.Get("X-Alter-Caller"))
	require.Equal(t, "agent", got.Header.Get("X-Alter-Caller-Type"))

	va := newFakeVault(t, appKey)
	app := newTestApp(t, va)
	child, err := app.GetAgent(agentID)
	require.NoError(t, err)
	_, err = child.ListScopes(bg)
	require.NoError(t, err)
	got = va.last("GET /sdk/scopes")
	require.Equal(t, appKey, got.Header.Get("x-api-key"))
	require.Equal(t, agentStr, got.Header.Get("X-Alter-Caller"))
	require.Equal(t, "agent", got.Header.Get("X-Alter-Caller-Type"))
	require.NoError(t, got.SigErr)

	_, err = app.ListScopes(bg)
	require.NoError(t, err)
	got = va.last("GET /sdk/scopes")
	require.Empty(t, got.Header.Get("X-Alter-Caller"), "an App without WithCaller sends no caller")
	require.Empty(t, got.Header.Get("X-Alter-Signature-V2"), "and signs the legacy form")
}
