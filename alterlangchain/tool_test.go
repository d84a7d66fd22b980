package alterlangchain_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/alterlangchain"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

type env struct {
	vault *vaulttest.Server
	up    *vaulttest.EchoUpstream
	app   *facade.App
	user  vaulttest.User
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{vault: vaulttest.NewTestServer(t), up: vaulttest.NewEchoUpstream()}
	t.Cleanup(e.up.Close)
	e.user = e.vault.AddUser("alice")
	app, err := facade.NewApp(e.vault.AppKey(), facade.WithBaseURL(e.vault.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close() })
	e.app = app
	return e
}

// repos is a tool's work: one GitHub call through the vault, by provider and the user's token.
func (e *env) repos(c interface {
	Request(ctx context.Context, method, rawURL string, p facade.RequestParams) (*facade.Response, error)
}, p facade.RequestParams) alterlangchain.Func {
	return func(ctx context.Context, input string) (string, error) {
		p.Provider, p.UserToken = "github", e.user.Token
		resp, err := c.Request(ctx, http.MethodGet, e.up.URL()+"/users/"+input+"/repos", p)
		if err != nil {
			return "", err
		}
		defer func() { _ = resp.Body.Close() }()
		var echo struct{ Path string }
		if err := json.NewDecoder(resp.Body).Decode(&echo); err != nil {
			return "", err
		}
		return "listed " + echo.Path, nil
	}
}

func newTool(t *testing.T, v alterlangchain.Vault, spec alterlangchain.Spec, fn alterlangchain.Func) *alterlangchain.Tool {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "list_repos"
	}
	if spec.Provider == "" {
		spec.Provider = "github"
	}
	tool, err := alterlangchain.New(v, spec, fn)
	require.NoError(t, err)
	return tool
}

// The function's calls carry the credential upstream, and their audit row names the tool, the
// framework and the caller's trace.
func TestCallInjectsTheCredentialAndAuditsTheTool(t *testing.T) {
	e := newEnv(t)
	grant := e.vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "alice", Credential: "gho_tool_secret"})
	tool := newTool(t, e.app, alterlangchain.Spec{Description: "Lists a user's repositories."}, e.repos(e.app, facade.RequestParams{Reason: "the model asked"}))
	require.Equal(t, "list_repos", tool.Name())
	require.Equal(t, "Lists a user's repositories.", tool.Description())

	ctx := facade.WithTrace(t.Context(), facade.Trace{RunID: "run-7", ThreadID: "thread-1"})
	out, err := tool.Call(ctx, "octocat")
	require.NoError(t, err)
	require.Equal(t, "listed /users/octocat/repos", out)

	seen := e.up.Requests()
	require.Len(t, seen, 1)
	require.Equal(t, "Bearer gho_tool_secret", seen[0].Header.Get("Authorization"))
	require.NoError(t, e.app.Close()) // waits for the audit post
	rows := e.vault.AuditRows()
	require.Len(t, rows, 1)
	require.Equal(t, grant, rows[0].GrantID)
	require.Equal(t, "the model asked", rows[0].Reason)
	require.Equal(t, map[string]string{"tool": "list_repos", "framework": "langchaingo", "run_id": "run-7", "thread_id": "thread-1"},
		rows[0].Context)
	require.Equal(t, "run-7", rows[0].RunID)
	require.Nil(t, facade.AuditContextFrom(t.Context()), "the caller's ctx is left as it was")
}

// No grant yet: the model is told where to authorize, the session asks for the tool's label, and
// once the person consented the same tool works.
func TestMissingGrantBecomesAConnectMessage(t *testing.T) {
	e := newEnv(t)
	var (
		mu     sync.Mutex
		action *facade.UserAction
	)
	spec := alterlangchain.Spec{Label: "work", Connect: facade.ConnectForErrorParams{UserToken: e.user.Token},
		OnAction: func(_ context.Context, a *facade.UserAction) { mu.Lock(); action = a; mu.Unlock() }}
	tool := newTool(t, e.app, spec, e.repos(e.app, facade.RequestParams{Label: "work"}))
	require.Equal(t, "work", tool.Label())

	out, err := tool.Call(t.Context(), "octocat")
	require.NoError(t, err, "a missing grant is the model's to relay, not an error")
	mu.Lock()
	act := action
	mu.Unlock()
	require.NotNil(t, act)
	require.Equal(t, facade.ActionConnect, act.Kind)
	require.NotEmpty(t, act.URL)
	require.Equal(t, "Authorization required for github. Please visit: "+act.URL, out)
	require.Empty(t, e.up.Requests(), "GitHub is not called")

	require.NoError(t, e.vault.CompleteConnectSession(act.Handle, "github", "alice@work.example"))
	done, err := act.Wait(t.Context())
	require.NoError(t, err)
	require.NotEqual(t, uuid.Nil, done.GrantID())
	out, err = tool.Call(t.Context(), "octocat")
	require.NoError(t, err)
	require.Equal(t, "listed /users/octocat/repos", out, "the labelled grant resolves for the tool")
}

// An Agent without a delegation: the session delegates the new grant to the agent, and the
// message says so.
func TestMissingDelegationNamesTheAgent(t *testing.T) {
	e := newEnv(t)
	bot := e.vault.AddAgent("repo-bot")
	agent, err := facade.NewAgent(bot.APIKey, facade.WithBaseURL(e.vault.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = agent.Close() })
	tool := newTool(t, agent, alterlangchain.Spec{Connect: facade.ConnectForErrorParams{UserToken: e.user.Token}},
		e.repos(agent, facade.RequestParams{}))

	out, err := tool.Call(t.Context(), "octocat")
	require.NoError(t, err)
	require.Contains(t, out, "Authorization required for github. Authorize and delegate to this agent: http")
}

// Several accounts fit: the model is asked to have the person choose, with the accounts.
func TestAmbiguousGrantListsTheAccounts(t *testing.T) {
	e := newEnv(t)
	e.vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "alice", Account: "alice@work.example"})
	e.vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "alice", Account: "alice@home.example"})
	tool := newTool(t, e.app, alterlangchain.Spec{}, e.repos(e.app, facade.RequestParams{}))

	out, err := tool.Call(t.Context(), "octocat")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, "Multiple accounts are connected for github. Please specify which account to use: "), out)
	require.Contains(t, out, "alice@work.example")
	require.Contains(t, out, "alice@home.example")
}

// A revoked credential is repaired in place; a grant id the vault does not know (the error names
// no provider) gets a session for the tool's provider.
func TestRepairAndStaleGrantID(t *testing.T) {
	e := newEnv(t)
	grant := e.vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "alice"})
	e.vault.SetGrantState(grant, vaulttest.GrantCredentialRevoked)
	byID := func(id uuid.UUID) alterlangchain.Func {
		return func(ctx context.Context, _ string) (string, error) {
			_, err := e.app.Request(ctx, http.MethodGet, e.up.URL()+"/user", facade.RequestParams{GrantID: id, UserToken: e.user.Token})
			return "", err
		}
	}
	spec := alterlangchain.Spec{Connect: facade.ConnectForErrorParams{UserToken: e.user.Token}}
	out, err := newTool(t, e.app, spec, byID(grant)).Call(t.Context(), "")
	require.NoError(t, err)
	require.Contains(t, out, "The github connection was revoked. Please reconnect: http")

	var act *facade.UserAction
	spec.OnAction = func(_ context.Context, a *facade.UserAction) { act = a }
	out, err = newTool(t, e.app, spec, byID(uuid.New())).Call(t.Context(), "")
	require.NoError(t, err)
	require.Equal(t, "Authorization required for github. Please visit: "+act.URL, out)
	require.Equal(t, "github", act.Provider)
	_, err = act.Wait(canceled(t)) // bound to the App: Wait works on it
	require.ErrorIs(t, err, context.Canceled)
}

func canceled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

// Missing scopes: the model is asked to have the person re-authorize, with the URL.
func TestScopeShortfallAsksToReauthorize(t *testing.T) {
	e := newEnv(t)
	e.vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "alice"})
	e.vault.InjectFault("retrieveToken", vaulttest.Fault{Status: http.StatusForbidden, Code: "scope_mismatch",
		Fields: map[string]any{"details": map[string]any{"provider_id": "github"}}})
	var act *facade.UserAction
	spec := alterlangchain.Spec{Connect: facade.ConnectForErrorParams{UserToken: e.user.Token},
		OnAction: func(_ context.Context, a *facade.UserAction) { act = a }}
	out, err := newTool(t, e.app, spec, e.repos(e.app, facade.RequestParams{})).Call(t.Context(), "octocat")
	require.NoError(t, err)
	require.NotNil(t, act)
	require.Equal(t, "Additional permissions needed for github. Please re-authorize with the required scopes: "+act.URL, out)
}

// Errors no person fixes by acting stay errors: a vault failure, a function's own error, and
// ctx's end (even when the vault's answer was a missing grant).
func TestOtherErrorsStayErrors(t *testing.T) {
	e := newEnv(t)
	e.vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "alice"})
	tool := newTool(t, e.app, alterlangchain.Spec{}, e.repos(e.app, facade.RequestParams{}))
	e.vault.InjectFault("retrieveToken", vaulttest.Fault{Status: http.StatusForbidden, Code: "ip_not_allowed", Message: "not from here"})
	out, err := tool.Call(t.Context(), "octocat")
	require.Empty(t, out)
	require.ErrorIs(t, err, facade.ErrBackend)
	require.False(t, facade.Actionable(err))

	mine := errors.New("the input is not a GitHub login")
	out, err = newTool(t, e.app, alterlangchain.Spec{}, func(context.Context, string) (string, error) { return "partial", mine }).Call(t.Context(), "")
	require.Empty(t, out)
	require.ErrorIs(t, err, mine)

	ctx, cancel := context.WithCancel(t.Context())
	nf := &facade.GrantNotFoundError{APIError: &facade.APIError{Code: "grant_not_found"}, ProviderID: "github"}
	_, err = newTool(t, e.app, alterlangchain.Spec{}, func(context.Context, string) (string, error) { cancel(); return "", nf }).Call(ctx, "")
	require.ErrorIs(t, err, nf)
	require.Zero(t, e.vault.CallCount("createConnectSession"), "no session for a caller that is gone")
}

// A session the vault cannot create still leaves the model something to say; the failure is
// logged without the error's text reaching the model.
func TestSessionFailureIsAMessage(t *testing.T) {
	e := newEnv(t)
	var logged strings.Builder
	spec := alterlangchain.Spec{Connect: facade.ConnectForErrorParams{UserToken: e.user.Token},
		Logger: slog.New(slog.NewTextHandler(&logged, nil))} // Call logs on this goroutine
	e.vault.InjectFault("createConnectSession", vaulttest.Fault{Status: http.StatusServiceUnavailable})
	out, err := newTool(t, e.app, spec, e.repos(e.app, facade.RequestParams{})).Call(t.Context(), "octocat")
	require.NoError(t, err)
	require.Equal(t, "Authorization required for github. Please try again later.", out)
	require.Contains(t, logged.String(), "could not create a Connect session")
}

func TestNewRefusesBadSpecs(t *testing.T) {
	fn := func(context.Context, string) (string, error) { return "", nil }
	var app *facade.App
	for name, tc := range map[string]struct {
		v    alterlangchain.Vault
		spec alterlangchain.Spec
		fn   alterlangchain.Func
	}{
		"no vault":       {nil, alterlangchain.Spec{Name: "t", Provider: "github"}, fn},
		"no func":        {app, alterlangchain.Spec{Name: "t", Provider: "github"}, nil},
		"no name":        {app, alterlangchain.Spec{Provider: "github"}, fn},
		"spaced name":    {app, alterlangchain.Spec{Name: "list repos", Provider: "github"}, fn},
		"control name":   {app, alterlangchain.Spec{Name: "t\n", Provider: "github"}, fn},
		"long name":      {app, alterlangchain.Spec{Name: strings.Repeat("n", 513), Provider: "github"}, fn},
		"no provider":    {app, alterlangchain.Spec{Name: "t"}, fn},
		"blank provider": {app, alterlangchain.Spec{Name: "t", Provider: " "}, fn},
	} {
		_, err := alterlangchain.New(tc.v, tc.spec, tc.fn)
		require.ErrorIs(t, err, alterlangchain.ErrInvalidSpec, name)
	}
	tool, err := alterlangchain.New(&facade.App{}, alterlangchain.Spec{Name: "t", Provider: "github"}, fn)
	require.NoError(t, err)
	require.Equal(t, "Alter tool: t", tool.Description())
	require.Equal(t, "github", tool.Provider())
}
