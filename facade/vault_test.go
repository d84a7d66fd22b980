package facade

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/vaulttest"
)

// env is a vaulttest vault (contract validation on), an echo upstream and an App on its key.
type env struct {
	s   *vaulttest.Server
	up  *vaulttest.EchoUpstream
	app *App
}

func newEnv(t *testing.T, opts ...Option) *env {
	t.Helper()
	s := vaulttest.NewTestServer(t)
	up := vaulttest.NewEchoUpstream()
	t.Cleanup(up.Close)
	app, err := NewApp(s.AppKey(), append([]Option{WithBaseURL(s.URL())}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, app.Close())
		s.RequireNoViolations(t)
	})
	return &env{s: s, up: up, app: app}
}

func (e *env) lastUpstream(t *testing.T) vaulttest.Request {
	t.Helper()
	rs := e.up.Requests()
	require.NotEmpty(t, rs)
	return rs[len(rs)-1]
}

// Retrieve mode against the emulator: the upstream sees the credential, the audit row the
// context, and the vault verified every signature.
func TestVaultRequest(t *testing.T) {
	e := newEnv(t, WithCaller("billing-cron"))
	gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Credential: "cred-vault-123"})
	ctx := WithTrace(bg, Trace{RunID: "run-7", ThreadID: "th"})
	resp, err := e.app.Request(ctx, "GET", e.up.URL()+"/repos/{r}", RequestParams{GrantID: gid, PathParams: map[string]string{"r": "a/b"}, Reason: "why"})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	got := e.lastUpstream(t)
	require.Equal(t, "Bearer cred-vault-123", got.Header.Get("Authorization"))
	require.Empty(t, got.Header.Get("x-api-key"))
	require.NoError(t, e.app.Close())
	rows := e.s.AuditRows()
	require.NotEmpty(t, rows)
	row := rows[len(rows)-1]
	require.Equal(t, gid, row.GrantID)
	require.Equal(t, "run-7", row.Context["run_id"])
	require.Equal(t, "why", row.Reason)
	require.Equal(t, 200, row.ResponseStatus)
	_, ok := row.RequestHeaders["Authorization"]
	require.False(t, ok)
}

// The emulator's own faults: a 503 on the credential fetch is retried; the refresh report
// comes back as RetryInfo.
func TestVaultRetriesAndRetryInfo(t *testing.T) {
	e := newEnv(t, WithRetryPolicy(RetryPolicy{InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
	gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github"})
	e.s.InjectFault("retrieveToken", vaulttest.Fault{Status: 503})
	require.NoError(t, e.s.SetGrantRefreshRetries(gid, 3))
	resp, err := e.app.Request(bg, "GET", e.up.URL()+"/x", RequestParams{GrantID: gid})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, 2, e.s.CallCount("retrieveToken"))
	require.NotNil(t, resp.RetryInfo)
	require.Equal(t, 3, resp.RetryInfo.TotalAttempts)
}

// Errors of the emulator's real bodies come back typed.
func TestVaultErrors(t *testing.T) {
	e := newEnv(t)
	_, err := e.app.Request(bg, "GET", e.up.URL()+"/x", RequestParams{GrantID: uuid.New()})
	require.ErrorIs(t, err, ErrGrantNotFound)
	gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github"})
	e.s.SetGrantState(gid, vaulttest.GrantRevoked)
	_, err = e.app.Request(bg, "GET", e.up.URL()+"/x", RequestParams{GrantID: gid})
	require.ErrorIs(t, err, ErrReAuthRequired)
	_, err = e.app.Request(bg, "GET", e.up.URL()+"/scope-mismatch?scope=repo", RequestParams{GrantID: e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github"})})
	require.ErrorIs(t, err, ErrScopeReauthRequired)
	require.NoError(t, e.app.Close())
	require.Equal(t, 1, e.s.CallCount("reportScopeMismatch"))
}

// An agent reaches a user's grant through its delegation; a user token chooses among users.
func TestVaultAgentAndDelegation(t *testing.T) {
	e := newEnv(t)
	ag := e.s.AddAgent("mail-bot")
	alice := e.s.AddUser("alice")
	gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "google", UserSub: "alice", Credential: "cred-alice-1", DelegatedTo: []uuid.UUID{ag.ID}})
	agent, err := NewAgent(ag.APIKey, WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	defer agent.Close()
	me, err := agent.Me(bg)
	require.NoError(t, err)
	require.Equal(t, ag.ID, me.ID)
	resp, err := agent.Request(bg, "GET", e.up.URL()+"/x", RequestParams{Provider: "google", UserToken: alice.Token})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, "Bearer cred-alice-1", e.lastUpstream(t).Header.Get("Authorization"))
	pg, err := agent.ListGrants(bg, ListGrantsParams{})
	require.NoError(t, err)
	require.NotEmpty(t, pg.Items)

	child, err := e.app.GetAgent(ag.ID)
	require.NoError(t, err)
	me, err = child.Me(bg)
	require.NoError(t, err)
	require.Equal(t, ag.ID, me.ID)

	require.NoError(t, e.app.RevokeDelegation(bg, gid, ag.ID))
	_, err = agent.Request(bg, "GET", e.up.URL()+"/x", RequestParams{GrantID: gid})
	require.Error(t, err)
}

// Proxy mode with a human approval, approved through the emulator.
func TestVaultProxyApproval(t *testing.T) {
	e := newEnv(t)
	agent, out := heldCall(t, e)
	require.Nil(t, out.Result, "an agent that requires approval is held")
	require.NotNil(t, out.Pending)
	require.NoError(t, e.s.Approve(out.Pending.ID))
	res, err := agent.AwaitApproval(bg, out.Pending.ID, AwaitOptions{PollInterval: 10 * time.Millisecond, Timeout: 10 * time.Second})
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode)
}

// heldCall is a proxied call of an agent that requires approval, held for a decision.
func heldCall(t *testing.T, e *env) (*Agent, ProxyOutcome) {
	t.Helper()
	ag := e.s.AddAgent("pay-bot", vaulttest.AgentRequireApproval())
	gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", AgentOwner: ag.ID})
	agent, err := e.app.GetAgent(ag.ID)
	require.NoError(t, err)
	out, err := agent.ProxyRequest(bg, "POST", e.up.URL()+"/pay", ProxyParams{GrantID: gid, JSON: map[string]int{"n": 1}})
	require.NoError(t, err)
	return agent, out
}

// Connect and sign-in sessions completed through the emulator.
func TestVaultSessions(t *testing.T) {
	e := newEnv(t)
	sess, err := e.app.CreateConnectSession(bg, ConnectSessionParams{AllowedProviders: []string{"github"}})
	require.NoError(t, err)
	_, err = e.app.PollConnectSession(bg, sess.Token, PollParams{Timeout: 50 * time.Millisecond, PollInterval: 10 * time.Millisecond})
	require.ErrorIs(t, err, ErrConnectTimeout, "still pending")
	require.NoError(t, e.s.CompleteConnectSession(sess.Token, "github", "octo@example.com"))
	res, err := e.app.PollConnectSession(bg, sess.Token, PollParams{})
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.Equal(t, "github", res[0].Provider)

	res, err = e.app.Connect(bg, ConnectParams{Providers: []string{"github"}, PollInterval: 10 * time.Millisecond,
		OpenURL: func(_ context.Context, u string) error {
			go func() { _ = e.s.CompleteConnectSession(lastSegment(u), "github", "b@example.com") }()
			return nil
		}})
	require.NoError(t, err)
	require.Len(t, res, 1)

	u := e.s.AddUser("bob")
	sub, valid, err := e.app.VerifyUserToken(bg, u.Token)
	require.NoError(t, err)
	require.True(t, valid)
	require.Equal(t, "bob", sub)
	_, valid, err = e.app.VerifyUserToken(bg, "not.a.jwt")
	require.NoError(t, err)
	require.False(t, valid)
}

func lastSegment(u string) string {
	for i := len(u) - 1; i >= 0; i-- {
		if u[i] == '/' || u[i] == '=' || u[i] == '#' {
			return u[i+1:]
		}
	}
	return u
}

// The agents namespace, keys, grants, managed secrets, scopes and providers.
func TestVaultAdministration(t *testing.T) {
	e := newEnv(t)
	ns := e.app.Agents()
	created, err := ns.Create(bg, AgentCreateParams{Name: "new-bot", Scopes: map[string][]string{"github": {"repo"}}, IdempotencyKey: "k1"})
	require.NoError(t, err)
	require.NotEmpty(t, created.APIKey.Reveal())
	again, err := ns.Create(bg, AgentCreateParams{Name: "new-bot", Scopes: map[string][]string{"github": {"repo"}}, IdempotencyKey: "k1"})
	require.NoError(t, err)
	require.Equal(t, created.ID, again.ID)
	got, found, err := ns.GetByName(bg, "new-bot")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, created.ID, got.ID)
	_, err = ns.Update(bg, created.ID, AgentUpdateParams{DisplayName: "New Bot"})
	require.NoError(t, err)
	k, err := ns.MintKey(bg, created.ID)
	require.NoError(t, err)
	_, err = ns.DeprecateKey(bg, created.ID, k.ID)
	require.NoError(t, err)
	_, err = ns.UndeprecateKey(bg, created.ID, k.ID)
	require.NoError(t, err)
	keys, err := ns.ListKeys(bg, created.ID)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	_, err = ns.RevokeKey(bg, created.ID, k.ID, RevokeKeyParams{})
	require.NoError(t, err)
	n := 0
	for _, err := range ns.All(bg, AgentListParams{}) {
		require.NoError(t, err)
		n++
	}
	require.GreaterOrEqual(t, n, 1)
	deleted, err := ns.Delete(bg, created.ID)
	require.NoError(t, err)
	require.Equal(t, "revoked", deleted.Status)
	_, err = ns.Get(bg, uuid.New())
	require.ErrorIs(t, err, ErrAgentNotFound)

	gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github"})
	pg, err := e.app.ListGrants(bg, ListGrantsParams{})
	require.NoError(t, err)
	require.NotEmpty(t, pg.Items)
	rev, err := e.app.RevokeGrant(bg, gid, "test")
	require.NoError(t, err)
	require.True(t, rev.Success)

	msID := e.s.AddManagedSecret("stripe", "Stripe", "sk_test_1", vaulttest.Injection{})
	_, err = e.app.CreateManagedSecretGrant(bg, msID.String(), ManagedSecretGrantParams{Principal: SystemPrincipal{Label: "ops"}})
	require.NoError(t, err)

	_, err = e.app.ListScopes(bg)
	require.NoError(t, err)
	_, err = e.app.ListProviders(bg)
	require.NoError(t, err)

	var api *APIError
	_, err = e.app.Request(bg, "GET", e.up.URL()+"/x", RequestParams{GrantID: gid})
	require.True(t, errors.As(err, &api))
	require.Equal(t, http.StatusForbidden, api.Status, "a revoked grant")
}

// Sign-in through the emulator: the page is "opened", the person signs in, the token returned
// verifies.
func TestVaultAuthenticate(t *testing.T) {
	e := newEnv(t)
	res, err := e.app.Authenticate(bg, AuthenticateParams{PollInterval: 10 * time.Millisecond, Timeout: 10 * time.Second,
		OpenURL: func(_ context.Context, u string) error {
			go func() { _ = e.s.CompleteAuthSession(lastSegment(u), "carol") }()
			return nil
		}})
	require.NoError(t, err)
	require.Equal(t, "carol", res.UserInfo.Sub)
	sub, valid, err := e.app.VerifyUserToken(bg, res.UserToken.Reveal())
	require.NoError(t, err)
	require.True(t, valid)
	require.Equal(t, "carol", sub)
}
