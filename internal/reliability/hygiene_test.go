package reliability

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/internal/apikey"
	"github.com/altersdk/alter-go/vaulttest"
)

// TestSecretsNeverLeak runs a workload full of successes, retries and failures with a debug
// JSON logger, then checks that no API key, user token or credential appears in any error
// string, in any %v/%+v/%#v of the errors and of every client and result type, or in the log.
func TestSecretsNeverLeak(t *testing.T) {
	var logBuf lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, nil)
	user := e.s.AddUser("alice")
	tokenFor := user.Token
	app, err := facade.NewApp(e.s.AppKey(), facade.WithBaseURL(e.s.URL()), facade.WithLogger(logger), fastRetries,
		facade.WithUserTokenGetter(func(context.Context) (string, error) { return tokenFor, nil }))
	require.NoError(t, err)
	defer app.Close()
	ag := e.s.AddAgent("hygiene-agent")
	agent, err := facade.NewAgent(ag.APIKey, facade.WithBaseURL(e.s.URL()), facade.WithLogger(logger), fastRetries)
	require.NoError(t, err)
	defer agent.Close()

	bearer, cred := e.grant(t, vaulttest.OAuthGrant{UserSub: "alice"})
	qGrant, qCred := e.grant(t, vaulttest.OAuthGrant{Provider: "google", Injection: vaulttest.Injection{
		Header: "Authorization", Format: "Bearer {token}",
		Additional: []vaulttest.AdditionalInjection{{Target: "query_param", Key: "key", ValueSource: "token"}}}})
	basic, basicCred := e.grant(t, vaulttest.OAuthGrant{Provider: "jira", Credential: "svc:pa55-" + uuid.NewString(), Injection: vaulttest.BasicInjection()})
	agentGrant, agentCred := e.grant(t, vaulttest.OAuthGrant{Provider: "slack", AgentOwner: ag.ID})
	revoked, revokedCred := e.grant(t, vaulttest.OAuthGrant{Provider: "notion"})
	e.s.SetGrantState(revoked, vaulttest.GrantRevoked)

	secrets := []string{e.s.AppKey(), ag.APIKey, user.Token, cred, qCred, basicCred, agentCred, revokedCred,
		base64.StdEncoding.EncodeToString([]byte(basicCred))}
	var errs []error
	var values []any
	keep := func(v any, err error) {
		if err != nil {
			errs = append(errs, err)
		}
		if v != nil {
			values = append(values, v)
		}
	}
	up := e.up.URL()
	closeResp := func(r *facade.Response, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
		return r, nil
	}

	// Successes, with retries on the way and a refresh report.
	e.s.InjectFault("retrieveToken", vaulttest.Fault{Status: 503, Code: "service_unavailable"})
	e.s.InjectFault("retrieveToken", vaulttest.Fault{Status: 429, Code: "rate_limit_exceeded", RetryAfter: time.Second})
	e.s.InjectFault("retrieveToken", vaulttest.Fault{Drop: true})
	require.NoError(t, e.s.SetGrantRefreshRetries(qGrant, 3))
	for _, g := range []uuid.UUID{bearer, qGrant, basic} {
		keep(closeResp(app.Request(bg, "GET", up+"/x", facade.RequestParams{GrantID: g, Reason: "hygiene"})))
	}
	keep(closeResp(app.Request(bg, "GET", up+"/x", facade.RequestParams{Provider: "github"})))
	keep(closeResp(agent.Request(bg, "GET", up+"/x", facade.RequestParams{GrantID: agentGrant})))
	me, err := agent.Me(bg)
	keep(me, err)
	e.s.InjectFault("proxyRequest", vaulttest.Fault{Drop: true})
	out, err := app.ProxyRequest(bg, "POST", up+"/status/201", facade.ProxyParams{GrantID: bearer, JSON: map[string]int{"n": 1}})
	keep(out, err)
	if out.Result != nil {
		values = append(values, out.Result)
	}
	created, err := app.Agents().Create(bg, facade.AgentCreateParams{Name: "hygiene-created"})
	keep(created, err)
	secrets = append(secrets, created.APIKey.Reveal())
	minted, err := app.Agents().MintKey(bg, created.ID)
	keep(minted, err)
	secrets = append(secrets, minted.APIKey.Reveal())
	values = append(values, app, agent, app.LastRetryInfo(), agent.LastRetryInfo(),
		facade.AuthResult{UserToken: facade.Secret(user.Token), UserInfo: facade.UserInfo{Sub: "alice"}},
		facade.ConnectResult{GrantID: bearer, Provider: "github"})

	// Failures of every kind.
	keep(closeResp(app.Request(bg, "GET", up+"/status/500", facade.RequestParams{GrantID: qGrant})))
	keep(closeResp(app.Request(bg, "GET", up+"/scope-mismatch", facade.RequestParams{GrantID: bearer, Query: url.Values{"scope": {"repo admin"}}})))
	keep(closeResp(app.Request(bg, "GET", "http://127.0.0.1:1/x", facade.RequestParams{GrantID: qGrant})))
	keep(closeResp(app.Request(bg, "GET", up+"/x", facade.RequestParams{GrantID: revoked})))
	keep(closeResp(app.Request(bg, "GET", up+"/x", facade.RequestParams{GrantID: uuid.New()})))
	keep(closeResp(app.Request(bg, "GET", up+"/x", facade.RequestParams{Provider: "github", UserToken: user.Token + "x"})))
	keep(closeResp(agent.Request(bg, "GET", up+"/x", facade.RequestParams{GrantID: agentGrant, UserToken: user.Token})))
	keep(closeResp(app.Request(bg, "GET", up+"/x", facade.RequestParams{GrantID: bearer, Header: http.Header{"X-Bad": {user.Token + "\n"}}})))
	e.s.InjectFault("retrieveToken", vaulttest.Fault{Times: 4, NonJSON: true}) // = MaxAttempts: nothing left queued
	keep(closeResp(app.Request(bg, "GET", up+"/x", facade.RequestParams{GrantID: bearer})))
	e.s.InjectFault("retrieveToken", vaulttest.Fault{Malformed: true})
	keep(closeResp(app.Request(bg, "GET", up+"/x", facade.RequestParams{GrantID: bearer})))
	e.s.InjectFault("getAgentMe", vaulttest.Fault{Delay: time.Second})
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	_, err = agent.Me(ctx)
	cancel()
	keep(nil, err)
	e.s.InjectFault("recordApiCall", vaulttest.Fault{Status: 500, Code: "internal_error"}) // audit posts are never retried
	keep(closeResp(app.Request(bg, "GET", up+"/x", facade.RequestParams{GrantID: bearer})))
	// A well-formed key the vault does not know (401 invalid_key), malformed keys (refused
	// offline), a key with CR LF.
	unknown := apikey.NewScoped("rk")
	secrets = append(secrets, unknown)
	bad, err := facade.NewApp(unknown, facade.WithBaseURL(e.s.URL()), facade.WithLogger(logger))
	require.NoError(t, err)
	_, err = bad.ListProviders(bg)
	require.ErrorIs(t, err, facade.ErrInvalidKey)
	keep(nil, err)
	values = append(values, bad)
	_ = bad.Close()
	for _, k := range []string{e.s.AppKey() + "x", "alter_key_" + uuid.NewString(), e.s.AppKey() + "\r\n"} {
		_, err = facade.NewApp(k, facade.WithBaseURL(e.s.URL()))
		require.ErrorIs(t, err, facade.ErrInvalidInput)
		keep(nil, err)
	}
	_, err = facade.NewAgent(ag.APIKey + "\r\n")
	keep(nil, err)
	require.NoError(t, app.Close()) // drains the (failing) audit posts: their errors are logged
	require.NoError(t, agent.Close())
	_, err = app.Request(bg, "GET", up+"/x", facade.RequestParams{GrantID: bearer})
	keep(nil, err)

	require.GreaterOrEqual(t, len(errs), 15)
	for _, err := range errs {
		for _, v := range []any{err, err.Error()} {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
				noSecret(t, fmt.Sprintf(verb, v), secrets, "error "+verb)
			}
		}
	}
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v"} {
			noSecret(t, fmt.Sprintf(verb, v), secrets, fmt.Sprintf("%T %s", v, verb))
		}
	}
	log := logBuf.String()
	require.Contains(t, log, "alter: retrying", "the workload retried")
	require.Contains(t, log, "audit record not recorded", "the workload failed an audit post")
	noSecret(t, log, secrets, "debug log")
}

func noSecret(t *testing.T, s string, secrets []string, where string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			t.Fatalf("%s contains a secret (%d bytes, prefix %.6q): %.300s", where, len(sec), sec,
				strings.ReplaceAll(s, sec, "<SECRET>")) // the failure output must not leak it either
		}
	}
}

// A redirect is never followed (0.29.0 follows none): the 3xx is the answer, so the credential,
// whatever carries it, never reaches the host the Location names.
func TestCredentialNotForwardedOnCrossHostRedirect(t *testing.T) {
	e := newEnv(t, nil)
	other := vaulttest.NewEchoUpstream() // same IP, another port: another origin
	defer other.Close()
	for _, inj := range []vaulttest.Injection{vaulttest.BearerInjection(), vaulttest.HeaderInjection("X-API-Key"),
		vaulttest.BasicInjection(),
		{Header: "Authorization", Format: "Bearer {token}", Additional: []vaulttest.AdditionalInjection{
			{Target: "header", Key: "X-Extra-Token", ValueSource: "token"},
			{Target: "query_param", Key: "api_key", ValueSource: "token"}}}} {
		gid, cred := e.grant(t, vaulttest.OAuthGrant{Injection: inj, Credential: "u:p-" + uuid.NewString()})
		before := len(other.Requests())
		resp, err := e.app.Request(bg, "GET", e.up.URL()+"/redirect", facade.RequestParams{GrantID: gid,
			Query: url.Values{"to": {other.URL() + "/landed"}}})
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode, "the 3xx comes back as it is")
		require.Equal(t, other.URL()+"/landed", resp.Header.Get("Location"))
		require.Len(t, other.Requests(), before, "nothing reached the other host")
		b64 := base64.StdEncoding.EncodeToString([]byte(cred))
		// The first hop, same origin, did carry it.
		first := e.up.Requests()
		found := false
		for _, vs := range first[len(first)-1].Header {
			for _, v := range vs {
				found = found || strings.Contains(v, cred) || strings.Contains(v, b64)
			}
		}
		require.True(t, found)
		for k, vs := range first[len(first)-1].Header { // nothing of the vault call goes to the provider
			require.False(t, strings.HasPrefix(strings.ToLower(k), "x-alter-"), "vault header %s on a provider call", k)
			noSecret(t, strings.Join(vs, ", "), []string{e.s.AppKey()}, "provider header "+k)
		}
	}
}

// A vault answer that redirects (a proxy in front of it, a misconfigured base URL) is not
// followed: the API key and the signed body never reach the host the Location names.
func TestAPIKeyNotForwardedOnVaultRedirect(t *testing.T) {
	e := newEnv(t, nil)
	gid, _ := e.grant(t, vaulttest.OAuthGrant{})
	other := vaulttest.NewEchoUpstream()
	defer other.Close()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sdk/token" || r.URL.Path == "/sdk/agents/me" {
			http.Redirect(w, r, other.URL()+r.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		e.s.Handler().ServeHTTP(w, r)
	}))
	defer front.Close()
	app, err := facade.NewApp(e.s.AppKey(), facade.WithBaseURL(front.URL), fastRetries)
	require.NoError(t, err)
	defer app.Close()
	_, err = app.Request(bg, http.MethodGet, e.up.URL()+"/x", facade.RequestParams{GrantID: gid})
	require.ErrorIs(t, err, facade.ErrBackend, "a 3xx from the vault is an unexpected answer")
	noSecret(t, fmt.Sprintf("%v %+v %#v", err, err, err), []string{e.s.AppKey()}, "error")
	ag := e.s.AddAgent("redirected")
	agent, err := facade.NewAgent(ag.APIKey, facade.WithBaseURL(front.URL))
	require.NoError(t, err)
	defer agent.Close()
	_, err = agent.Me(bg)
	require.Error(t, err)
	require.Empty(t, other.Requests(), "nothing reached the redirect target")
	require.Empty(t, e.up.Requests(), "no credential, no provider call")
}

// A provider that echoes the request (its credential) back in its error answer, in headers and
// body: the typed provider error still holds no credential, under any verb, in slog, or in its
// fields (issue #12: ProviderAPIError.Header kept echoed auth headers).
func TestProviderErrorsHideEchoedCredential(t *testing.T) {
	e := newEnv(t, nil)
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var seen []string
		for k, vs := range r.Header {
			for _, v := range vs {
				seen = append(seen, k+": "+v)
				w.Header().Add("X-Echo-"+k, v)
			}
		}
		w.Header().Set("X-Echo-Query", r.URL.RawQuery)
		if r.URL.Path == "/401" {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		st := map[string]int{"/400": 400, "/401": 401, "/403": 403, "/500": 500}[r.URL.Path]
		w.WriteHeader(st)
		_, _ = io.WriteString(w, strings.Join(seen, "\n")+"\nquery: "+r.URL.RawQuery)
	}))
	defer echo.Close()
	var logBuf lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&logBuf, nil))
	for _, inj := range []vaulttest.Injection{vaulttest.BearerInjection(), vaulttest.HeaderInjection("X-API-Key"),
		{Header: "Authorization", Format: "Bearer {token}", Additional: []vaulttest.AdditionalInjection{
			{Target: "query_param", Key: "api_key", ValueSource: "token"}}}} {
		gid, cred := e.grant(t, vaulttest.OAuthGrant{Injection: inj})
		for _, path := range []string{"/400", "/401", "/403", "/500"} {
			_, err := e.app.Request(bg, http.MethodGet, echo.URL+path, facade.RequestParams{GrantID: gid})
			require.ErrorIs(t, err, facade.ErrProviderAPI, path)
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
				leak(t, fmt.Sprintf(verb, err), []string{cred}, inj.Header+path+" error "+verb)
			}
			logger.Error("call failed", "err", err)
			var pe *facade.ProviderAPIError
			require.ErrorAs(t, err, &pe)
			for k, vs := range pe.Header {
				leak(t, k+": "+strings.Join(vs, ", "), []string{cred}, inj.Header+path+" ProviderAPIError.Header")
			}
			leak(t, pe.URL, []string{cred}, inj.Header+path+" ProviderAPIError.URL")
			leak(t, pe.Body, []string{cred}, inj.Header+path+" ProviderAPIError.Body")
			leak(t, fmt.Sprint(pe.Details), []string{cred}, inj.Header+path+" ProviderAPIError.Details")
		}
		leak(t, logBuf.String(), []string{cred}, "slog")
	}
}

// leak is noSecret that lets the test go on, so one run lists every place that leaks.
func leak(t *testing.T, s string, secrets []string, where string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			t.Errorf("%s contains a secret (%d bytes): %.200s", where, len(sec), strings.ReplaceAll(s, sec, "<SECRET>"))
		}
	}
}
