package facade

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/vaulttest"
)

// Every identity rule is refused locally, with its own error, before any network call.
func TestIdentityRulesRefusedBeforeNetwork(t *testing.T) {
	s := vaulttest.NewTestServer(t)
	ag := s.AddAgent("rules-bot")
	user := s.AddUser("alice")
	getter := func(context.Context) (string, error) { return user.Token, nil }

	app, err := NewApp(s.AppKey(), WithBaseURL(s.URL()))
	require.NoError(t, err)
	defer app.Close()
	appGetter, err := NewApp(s.AppKey(), WithBaseURL(s.URL()), WithUserTokenGetter(getter))
	require.NoError(t, err)
	defer appGetter.Close()
	agent, err := NewAgent(ag.APIKey, WithBaseURL(s.URL()))
	require.NoError(t, err)
	defer agent.Close()
	agentGetter, err := NewAgent(ag.APIKey, WithBaseURL(s.URL()), WithUserTokenGetter(getter))
	require.NoError(t, err)
	defer agentGetter.Close()
	derived, err := app.GetAgent(ag.ID)
	require.NoError(t, err)

	type caller interface {
		Request(context.Context, string, string, RequestParams) (*Response, error)
		ProxyRequest(context.Context, string, string, ProxyParams) (ProxyOutcome, error)
	}
	g := uuid.New()
	url := "https://api.example.com/v1/x"
	cases := []struct {
		name string
		c    caller
		ctx  context.Context
		m, u string
		p    RequestParams
		rule error
		hint string
	}{
		{"agent per-call user token", agent, bg, "GET", url, RequestParams{GrantID: g, UserToken: user.Token}, ErrAgentUserToken, "NewApp(key, WithCaller(agentUUID), WithUserTokenGetter("},
		{"agent getter + provider", agentGetter, bg, "GET", url, RequestParams{Provider: "github"}, ErrAgentUserToken, "NewApp(key, WithCaller(agentUUID), WithUserTokenGetter("},
		{"derived agent per-call user token", derived, bg, "GET", url, RequestParams{GrantID: g, UserToken: user.Token}, ErrAgentUserToken, "WithCaller(agentUUID)"},
		{"agent provider without getter", agent, bg, "GET", url, RequestParams{Provider: "github"}, ErrUserTokenRequired, "NewApp(key"},
		{"grant and provider", appGetter, bg, "GET", url, RequestParams{GrantID: g, Provider: "github"}, ErrGrantAndProvider, ""},
		{"no selector", app, bg, "GET", url, RequestParams{}, ErrNoGrantSelector, ""},
		{"provider without token", app, bg, "GET", url, RequestParams{Provider: "github"}, ErrUserTokenRequired, "WithUserTokenGetter"},
		{"account without provider", app, bg, "GET", url, RequestParams{GrantID: g, Account: "a@x"}, ErrAccountWithoutProvider, ""},
		{"invalid method", app, bg, "FETCH", url, RequestParams{GrantID: g}, nil, "GET, POST"},
		{"relative url", app, bg, "GET", "/v1/x", RequestParams{GrantID: g}, nil, "absolute"},
		{"non-http url", app, bg, "GET", "ftp://example.com/x", RequestParams{GrantID: g}, nil, "absolute"},
		{"userinfo in url", app, bg, "GET", "https://u:p@example.com/x", RequestParams{GrantID: g}, nil, "userinfo"},
		{"missing path param", app, bg, "GET", url + "/{id}", RequestParams{GrantID: g}, nil, "{id}"},
		{"dot-dot path param", app, bg, "GET", url + "/{id}", RequestParams{GrantID: g, PathParams: map[string]string{"id": ".."}}, nil, ".."},
		{"CRLF in reason", app, bg, "GET", url, RequestParams{GrantID: g, Reason: "a\r\nX-Evil: 1"}, nil, "CR, LF"},
		{"CRLF in context value", app, bg, "GET", url, RequestParams{GrantID: g, Context: map[string]string{"k": "v\n"}}, nil, "CR, LF"},
		{"CRLF in header value", app, bg, "GET", url, RequestParams{GrantID: g, Header: http.Header{"X-A": {"1\r\n2"}}}, nil, "CR, LF"},
		{"bad header name", app, bg, "GET", url, RequestParams{GrantID: g, Header: http.Header{"X A": {"1"}}}, nil, "header name"},
		{"CRLF in trace", app, WithTrace(bg, Trace{RunID: "r\n1"}), "GET", url, RequestParams{GrantID: g}, nil, "Trace.RunID"},
		{"CRLF in user token", app, bg, "GET", url, RequestParams{Provider: "github", UserToken: "tok\r\nen"}, nil, "CR, LF"},
		{"JSON and Body", app, bg, "POST", url, RequestParams{GrantID: g, JSON: 1, Body: []byte("x")}, nil, "not both"},
		{"unmarshalable JSON", app, bg, "POST", url, RequestParams{GrantID: g, JSON: func() {}}, nil, "marshal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.Request(tc.ctx, tc.m, tc.u, tc.p)
			requireInputErr(t, err, tc.rule, tc.hint)
			noSecrets(t, err.Error(), user.Token, s.AppKey(), ag.APIKey)

			pp := ProxyParams{GrantID: tc.p.GrantID, Provider: tc.p.Provider, Account: tc.p.Account, UserToken: tc.p.UserToken,
				PathParams: tc.p.PathParams, Header: tc.p.Header, JSON: tc.p.JSON, Body: tc.p.Body, Reason: tc.p.Reason, Context: tc.p.Context}
			_, err = tc.c.ProxyRequest(tc.ctx, tc.m, tc.u, pp)
			requireInputErr(t, err, tc.rule, tc.hint)
		})
	}

	t.Run("forbidden proxy headers", func(t *testing.T) {
		for _, h := range []string{"Authorization", "cookie", "X-API-KEY", "x-amz-security-token"} {
			_, err := app.ProxyRequest(bg, "GET", url, ProxyParams{GrantID: g, Header: http.Header{h: {"v"}}})
			requireInputErr(t, err, ErrForbiddenHeader, "may not be forwarded")
		}
	})
	t.Run("CRLF in idempotency key", func(t *testing.T) {
		_, err := app.ProxyRequest(bg, "GET", url, ProxyParams{GrantID: g, IdempotencyKey: "k\r\n"})
		requireInputErr(t, err, nil, "CR, LF")
	})
	t.Run("user token getter fails", func(t *testing.T) {
		a, err := NewApp(s.AppKey(), WithBaseURL(s.URL()), WithUserTokenGetter(func(context.Context) (string, error) {
			return "", errors.New("session expired")
		}))
		require.NoError(t, err)
		defer a.Close()
		_, err = a.Request(bg, "GET", url, RequestParams{Provider: "github"})
		require.ErrorContains(t, err, "session expired")
	})
	t.Run("getter returns empty", func(t *testing.T) {
		a, err := NewApp(s.AppKey(), WithBaseURL(s.URL()), WithUserTokenGetter(func(context.Context) (string, error) { return "", nil }))
		require.NoError(t, err)
		defer a.Close()
		_, err = a.Request(bg, "GET", url, RequestParams{Provider: "github"})
		requireInputErr(t, err, ErrUserTokenRequired, "")
	})

	require.Empty(t, s.Requests(), "a refused call reached the vault")
	require.Zero(t, s.CallCount("retrieveCredential"))
	require.Zero(t, s.CallCount("proxyRequest"))
}

func requireInputErr(t *testing.T, err error, rule error, hint string) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, ErrInvalidInput)
	var ie *InputError
	require.ErrorAs(t, err, &ie)
	if rule != nil {
		require.ErrorIs(t, err, rule)
	}
	require.Contains(t, err.Error(), hint)
}

func TestConstructorKeyChecks(t *testing.T) {
	_, err := NewApp("")
	requireInputErr(t, err, ErrMissingAPIKey, "")
	_, err = NewAgent("  ")
	requireInputErr(t, err, ErrMissingAPIKey, "")
	_, err = NewApp("alter_key_app_x\r\n")
	requireInputErr(t, err, nil, "CR, LF")

	for _, k := range []string{"alter_key_agent_secretvalue", "alter_ak_secretvalue"} {
		_, err = NewApp(k)
		requireInputErr(t, err, ErrWrongKeyKind, "facade.NewAgent(key)")
		require.Contains(t, err.Error(), "App.GetAgent")
		require.NotContains(t, err.Error(), "secretvalue")
	}
	for _, k := range []string{"alter_key_app_secretvalue", "alter_rk_secretvalue"} {
		_, err = NewAgent(k)
		requireInputErr(t, err, ErrWrongKeyKind, "facade.NewApp(key)")
		require.Contains(t, err.Error(), "App.GetAgent")
		require.NotContains(t, err.Error(), "secretvalue")
	}
	// Accepted: both prefixes of the right kind, and unknown prefixes.
	for _, k := range []string{"alter_key_app_x", "alter_rk_x", "sk_unknown_x"} {
		a, err := NewApp(k)
		require.NoError(t, err)
		require.NoError(t, a.Close())
	}
	for _, k := range []string{"alter_key_agent_x", "alter_ak_x", "sk_unknown_x"} {
		a, err := NewAgent(k)
		require.NoError(t, err)
		require.NoError(t, a.Close())
	}

	_, err = NewAgent("alter_key_agent_x", WithCallerType(CallerTypeService))
	requireInputErr(t, err, ErrCallerTypeOnAgent, "App-only")
	_, err = NewApp("alter_key_app_x", WithCaller("bot\nX: y"))
	requireInputErr(t, err, nil, "CR, LF")
	_, err = NewApp("alter_key_app_x", WithCaller(strings.Repeat("c", 257)))
	requireInputErr(t, err, nil, "256")
	_, err = NewApp("alter_key_app_x", WithCallerType("robot"))
	requireInputErr(t, err, nil, "CallerType")
	_, err = NewApp("alter_key_app_x", WithTimeout(0))
	requireInputErr(t, err, nil, "positive")
	_, err = NewApp("alter_key_app_x", WithBaseURL("vault.local"))
	requireInputErr(t, err, nil, "absolute")
	_, err = NewApp("alter_key_app_x", WithHTTPClient(nil))
	requireInputErr(t, err, nil, "nil")
	_, err = NewApp("alter_key_app_x", WithProviderHTTPClient(nil))
	requireInputErr(t, err, nil, "nil")

	app, err := NewApp("alter_key_app_x")
	require.NoError(t, err)
	defer app.Close()
	_, err = app.GetAgent(uuid.Nil)
	requireInputErr(t, err, nil, "UUID")
}
