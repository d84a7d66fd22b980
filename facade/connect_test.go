package facade

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/vaulttest"
)

// handlerRT serves vault calls in memory with the vaulttest handler (contract validation
// included): no socket, so the whole exchange runs inside a synctest bubble, and the vault's
// clock (time.Now, called from the bubble) is the bubble's virtual clock.
type handlerRT struct{ h http.Handler }

func (rt handlerRT) RoundTrip(r *http.Request) (*http.Response, error) {
	sr := r.Clone(r.Context())
	sr.RequestURI = r.URL.RequestURI()
	sr.Host = r.URL.Host
	sr.URL = &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery} // as a server sees it
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	rt.h.ServeHTTP(rec, sr)
	return rec.Result(), nil
}

// bubbleApp is an App on s's default key whose vault calls go through handlerRT. Call it inside
// synctest.Test, with s created outside the bubble (its listener is not part of the bubble).
func bubbleApp(t *testing.T, s *vaulttest.Server, opts ...Option) *App {
	t.Helper()
	app, err := NewApp(s.AppKey(), append([]Option{WithBaseURL(s.URL()),
		WithHTTPClient(&http.Client{Transport: handlerRT{s.Handler()}})}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close() })
	return app
}

// urlToken is the session token at the end of a connect or auth URL.
func urlToken(u string) string { return path.Base(u) }

// Connect polls every PollInterval until the person finishes, in virtual time.
func TestConnectPollsInVirtualTime(t *testing.T) {
	s := vaulttest.NewTestServer(t)
	synctest.Test(t, func(t *testing.T) {
		app := bubbleApp(t, s)
		start := time.Now()
		var opened string
		res, err := app.Connect(bg, ConnectParams{Providers: []string{"github"}, PollInterval: 2 * time.Second,
			OpenURL: func(_ context.Context, u string) error {
				opened = u
				go func() { // the person finishes 7 s later
					time.Sleep(7 * time.Second)
					require.NoError(t, s.CompleteConnectSession(urlToken(u), "github", "octocat"))
				}()
				return nil
			}})
		require.NoError(t, err)
		require.Equal(t, 8*time.Second, time.Since(start), "polls at 0, 2, 4, 6 and 8 s")
		require.Equal(t, 5, s.CallCount("getConnectSession"))
		require.True(t, strings.HasPrefix(opened, s.RootURL()+"/connect/"), opened)
		require.Len(t, res, 1)
		require.Equal(t, "github", res[0].Provider)
		require.Equal(t, "octocat", res[0].AccountIdentifier)
		require.NotEqual(t, uuid.Nil, res[0].GrantID)
		require.NotEmpty(t, res[0].Scopes)
	})
}

func TestConnectTimeoutInVirtualTime(t *testing.T) {
	s := vaulttest.NewTestServer(t)
	synctest.Test(t, func(t *testing.T) {
		app := bubbleApp(t, s)
		nop := func(context.Context, string) error { return nil }

		start := time.Now()
		_, err := app.Connect(bg, ConnectParams{Timeout: 30 * time.Second, PollInterval: 2 * time.Second, OpenURL: nop})
		require.Equal(t, 30*time.Second, time.Since(start))
		requireConnectErr(t, err, ErrConnectTimeout, ErrTimeout)
		var ce *ConnectError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, 30*time.Second, ce.Timeout)
		require.Contains(t, err.Error(), "not finished after 30s")

		// Defaults: 5 minutes, every 2 s.
		n := s.CallCount("getConnectSession")
		start = time.Now()
		_, err = app.Connect(bg, ConnectParams{OpenURL: nop})
		require.ErrorIs(t, err, ErrConnectTimeout)
		require.Equal(t, DefaultConnectTimeout, time.Since(start))
		// Polls at 0, 2, …, 298 s, and at 300 s unless the timeout wins the tie.
		require.InDelta(t, 150.5, s.CallCount("getConnectSession")-n, 0.5)

		// The vault expires a session after 15 minutes: the same error class.
		start = time.Now()
		_, err = app.Connect(bg, ConnectParams{Timeout: time.Hour, PollInterval: time.Minute, OpenURL: nop})
		require.Equal(t, 15*time.Minute, time.Since(start))
		requireConnectErr(t, err, ErrConnectTimeout)
		require.ErrorAs(t, err, &ce)
		require.Equal(t, "expired", ce.Status)

		// Authenticate has the same clock.
		start = time.Now()
		_, err = app.Authenticate(bg, AuthenticateParams{Timeout: 10 * time.Second, PollInterval: 3 * time.Second, OpenURL: nop})
		require.Equal(t, 10*time.Second, time.Since(start))
		requireConnectErr(t, err, ErrConnectTimeout)
		require.ErrorAs(t, err, &ce)
		require.Equal(t, "authenticate", ce.Op)
	})
}

// Cancelling ctx stops the wait at once, mid-interval.
func TestConnectStopsAtOnceWhenCtxEnds(t *testing.T) {
	s := vaulttest.NewTestServer(t)
	synctest.Test(t, func(t *testing.T) {
		app := bubbleApp(t, s)
		ctx, cancel := context.WithCancel(bg)
		time.AfterFunc(5*time.Second, cancel)
		start := time.Now()
		_, err := app.Connect(ctx, ConnectParams{PollInterval: 4 * time.Second, OpenURL: func(context.Context, string) error { return nil }})
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, ErrConnectFlow)
		require.Equal(t, 5*time.Second, time.Since(start))
		require.Equal(t, 2, s.CallCount("getConnectSession"))

		ctx, cancel = context.WithTimeout(bg, 3*time.Second)
		defer cancel()
		start = time.Now()
		_, err = app.Authenticate(ctx, AuthenticateParams{OpenURL: func(context.Context, string) error { return nil }})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Equal(t, 3*time.Second, time.Since(start))
	})
}

func requireConnectErr(t *testing.T, err error, want ...error) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, ErrConnectFlow)
	for _, w := range want {
		require.ErrorIs(t, err, w)
	}
	var ce *ConnectError
	require.ErrorAs(t, err, &ce)
	require.NotErrorIs(t, err, ErrBackend, "a flow outcome is not a vault error")
}

// finisher returns an OpenURL that ends the session at once with f.
func finisher(t *testing.T, f func(token string) error) func(context.Context, string) error {
	return func(_ context.Context, u string) error {
		require.NoError(t, f(urlToken(u)))
		return nil
	}
}

func TestConnectOutcomes(t *testing.T) {
	e := newEnv(t)
	s := e.s
	fast := func(open func(context.Context, string) error) ConnectParams {
		return ConnectParams{PollInterval: time.Millisecond, Timeout: 10 * time.Second, OpenURL: open}
	}

	t.Run("completed: the grant works with Request", func(t *testing.T) {
		res, err := e.app.Connect(bg, fast(finisher(t, func(tok string) error { return s.CompleteConnectSession(tok, "github", "octo@example.com") })))
		require.NoError(t, err)
		require.Len(t, res, 1)
		r := res[0]
		require.Equal(t, "github", r.Provider)
		require.Equal(t, "octo@example.com", r.AccountIdentifier)
		require.Nil(t, r.GrantPolicy)

		resp, err := e.app.Request(bg, "GET", e.up.URL()+"/user", RequestParams{GrantID: r.GrantID})
		require.NoError(t, err)
		got := readEcho(t, resp)
		require.True(t, strings.HasPrefix(got.Headers["Authorization"], "Bearer tok_"), got.Headers["Authorization"])

		pg, err := e.app.ListGrants(bg, ListGrantsParams{Provider: "github"})
		require.NoError(t, err)
		require.True(t, hasGrant(pg.Grants, r.GrantID))
	})
	t.Run("denied", func(t *testing.T) {
		_, err := e.app.Connect(bg, fast(finisher(t, s.DenyConnectSession)))
		requireConnectErr(t, err, ErrConnectDenied)
		require.NotErrorIs(t, err, ErrConnectConfig)
		require.NotErrorIs(t, err, ErrConnectTimeout)
		var ce *ConnectError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, "denied", ce.Status)
		require.Equal(t, "connect_denied", ce.Code)
		require.Contains(t, err.Error(), "alter: connect: connect_denied")
	})
	t.Run("config", func(t *testing.T) {
		_, err := e.app.Connect(bg, fast(finisher(t, func(tok string) error { return s.FailConnectSession(tok, "connect_config") })))
		requireConnectErr(t, err, ErrConnectConfig)
		require.NotErrorIs(t, err, ErrConnectDenied)
	})
	t.Run("other flow failure", func(t *testing.T) {
		_, err := e.app.Connect(bg, fast(finisher(t, func(tok string) error { return s.FailConnectSession(tok, "connect_flow") })))
		requireConnectErr(t, err)
		require.NotErrorIs(t, err, ErrConnectConfig)
		require.NotErrorIs(t, err, ErrConnectDenied)
		require.NotErrorIs(t, err, ErrConnectTimeout)
	})
	t.Run("unknown provider: config error from the vault, no browser", func(t *testing.T) {
		_, err := e.app.Connect(bg, ConnectParams{Providers: []string{"nosuchprovider"},
			OpenURL: func(context.Context, string) error { t.Fatal("opened a browser for a refused session"); return nil }})
		require.ErrorIs(t, err, ErrConnectConfig)
		require.ErrorIs(t, err, ErrConnectFlow)
		var ae *APIError
		require.ErrorAs(t, err, &ae)
		require.Equal(t, "createConnectSession", ae.Op)
		require.Equal(t, "nosuchprovider", ae.Details.ProviderID)
	})
	t.Run("input errors before any call", func(t *testing.T) {
		n := len(s.Requests())
		_, err := e.app.Connect(bg, ConnectParams{Timeout: -1})
		requireInputErr(t, err, nil, "negative")
		_, err = e.app.Connect(bg, ConnectParams{Providers: []string{""}})
		requireInputErr(t, err, nil, "empty provider")
		_, err = e.app.Connect(bg, ConnectParams{GrantPolicy: &GrantPolicyInput{MaxTTL: -time.Second}})
		requireInputErr(t, err, nil, "MaxTTL")
		_, err = e.app.Authenticate(bg, AuthenticateParams{PollInterval: -1})
		requireInputErr(t, err, nil, "negative")
		require.Len(t, s.Requests(), n)
	})
}

func hasGrant(gs []Grant, id uuid.UUID) bool {
	for _, g := range gs {
		if g.ID == id {
			return true
		}
	}
	return false
}

// lockedBuf is a concurrency-safe Out that can act when the URL is printed.
type lockedBuf struct {
	mu      sync.Mutex
	b       bytes.Buffer
	onWrite func(string)
}

func (w *lockedBuf) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.b.Write(p)
	s, f := w.b.String(), w.onWrite
	w.mu.Unlock()
	if f != nil {
		f(s)
	}
	return len(p), nil
}

func (w *lockedBuf) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// printedURL is the URL line Connect printed.
func printedURL(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "http") {
			return l
		}
	}
	return ""
}

func TestConnectBrowserControl(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	complete := func(out string) {
		if u := printedURL(out); u != "" {
			_ = e.s.CompleteConnectSession(urlToken(u), "slack", "team")
		}
	}

	t.Run("NoBrowser prints the URL and never calls the opener", func(t *testing.T) {
		out := &lockedBuf{onWrite: complete}
		res, err := e.app.Connect(bg, ConnectParams{NoBrowser: true, Out: out, PollInterval: time.Millisecond,
			OpenURL: func(context.Context, string) error { t.Fatal("opener called with NoBrowser"); return nil }})
		require.NoError(t, err)
		require.Equal(t, "slack", res[0].Provider)
		require.Contains(t, out.String(), e.s.RootURL()+"/connect/")
		require.Contains(t, out.String(), "connect an account")
	})
	t.Run("a failing opener falls back to printing", func(t *testing.T) {
		out := &lockedBuf{onWrite: complete}
		_, err := e.app.Connect(bg, ConnectParams{Out: out, PollInterval: time.Millisecond,
			OpenURL: func(context.Context, string) error { return errors.New("no display") }})
		require.NoError(t, err)
		require.Contains(t, out.String(), "/connect/")
		require.Contains(t, logs.String(), "could not open a browser")
		require.Contains(t, logs.String(), "no display")
	})
	t.Run("a working opener prints nothing", func(t *testing.T) {
		out := &lockedBuf{}
		_, err := e.app.Connect(bg, ConnectParams{Out: out, PollInterval: time.Millisecond,
			OpenURL: finisher(t, func(tok string) error { return e.s.CompleteConnectSession(tok, "github", "") })})
		require.NoError(t, err)
		require.Empty(t, out.String())
	})
	t.Run("the default opener is cli/browser", func(t *testing.T) {
		// Not run: it would open a real browser. Only check it is what OpenURL defaults to.
		require.NotNil(t, defaultOpenURL)
	})
}

// An Agent bootstraps its own grant: bound to the agent, visible in its grant list, usable.
func TestAgentConnectBindsTheGrant(t *testing.T) {
	e := newEnv(t)
	ag := e.s.AddAgent("connect-bot")
	agent, err := NewAgent(ag.APIKey, WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	defer agent.Close()

	res, err := agent.Connect(bg, ConnectParams{Providers: []string{"github"}, PollInterval: time.Millisecond,
		OpenURL: finisher(t, func(tok string) error { return e.s.CompleteConnectSession(tok, "github", "bot@example.com") })})
	require.NoError(t, err)
	require.Len(t, res, 1)

	pg, err := agent.ListGrants(bg, PageParams{})
	require.NoError(t, err)
	require.Len(t, pg.Grants, 1)
	g := pg.Grants[0]
	require.Equal(t, res[0].GrantID, g.ID)
	require.Equal(t, GrantKindOAuth, g.Kind)
	require.Equal(t, "agent", g.PrincipalType)

	resp, err := agent.Request(bg, "GET", e.up.URL()+"/repos", RequestParams{GrantID: g.ID})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(readEcho(t, resp).Headers["Authorization"], "Bearer tok_"))

	// The same through App.GetAgent (impersonation).
	imp, err := e.app.GetAgent(ag.ID)
	require.NoError(t, err)
	res2, err := imp.Connect(bg, ConnectParams{PollInterval: time.Millisecond,
		OpenURL: finisher(t, func(tok string) error { return e.s.CompleteConnectSession(tok, "slack", "w") })})
	require.NoError(t, err)
	pg, err = imp.ListGrants(bg, PageParams{})
	require.NoError(t, err)
	require.True(t, hasGrant(pg.Grants, res2[0].GrantID))
	require.Len(t, pg.Grants, 2)
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	app, err := NewApp(e.s.AppKey(), WithBaseURL(e.s.URL()), WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	require.NoError(t, err)
	defer app.Close()

	res, err := app.Authenticate(bg, AuthenticateParams{PollInterval: time.Millisecond,
		OpenURL: finisher(t, func(tok string) error { return e.s.CompleteAuthSession(tok, "alice") })})
	require.NoError(t, err)
	tok := res.UserToken.Reveal()
	require.NotEmpty(t, tok)
	require.Equal(t, UserInfo{Sub: "alice", Email: "alice@example.com", Name: "alice"}, res.UserInfo)

	// Never printed, logged or marshalled.
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		out := fmt.Sprintf(f, res)
		require.NotContains(t, out, tok, f)
		require.NotContains(t, fmt.Sprintf(f, res.UserToken), tok, f)
		require.NotContains(t, fmt.Sprintf(f, &res), tok, f)
		require.NotContains(t, fmt.Sprintf(f, []AuthResult{res}), tok, f)
	}
	require.Contains(t, fmt.Sprintf("%v", res), "alice")
	require.Contains(t, fmt.Sprintf("%#v", res), "[REDACTED]")
	require.Contains(t, res.String(), "[REDACTED]")
	app.c.log.Info("signed in", "result", res, "token", res.UserToken)
	require.NotContains(t, logs.String(), tok)
	b, err := json.Marshal(res)
	require.NoError(t, err)
	require.NotContains(t, string(b), tok)

	// The token is real: the vault verifies it, and it selects the user's grants.
	sub, ok, err := app.VerifyUserToken(bg, tok)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "alice", sub)
	sub, ok, err = app.VerifyUserToken(bg, "not-a-jwt")
	require.NoError(t, err)
	require.False(t, ok)
	require.Empty(t, sub)
	_, _, err = app.VerifyUserToken(bg, "")
	requireInputErr(t, err, nil, "empty")
	_, _, err = app.VerifyUserToken(bg, strings.Repeat("a", 8193))
	requireInputErr(t, err, nil, "8192")

	_, err = app.Authenticate(bg, AuthenticateParams{PollInterval: time.Millisecond,
		OpenURL: finisher(t, e.s.DenyAuthSession)})
	requireConnectErr(t, err, ErrConnectDenied)
	require.Contains(t, err.Error(), "alter: authenticate: ")

	// NoBrowser prints the sign-in URL.
	out := &lockedBuf{onWrite: func(s string) {
		if u := printedURL(s); u != "" {
			_ = e.s.CompleteAuthSession(urlToken(u), "bob")
		}
	}}
	res, err = app.Authenticate(bg, AuthenticateParams{NoBrowser: true, Out: out, PollInterval: time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, "bob", res.UserInfo.Sub)
	require.Contains(t, out.String(), "/auth/")
	require.Contains(t, out.String(), "sign in")
}

func TestCreateConnectSession(t *testing.T) {
	e := newEnv(t)
	ag := e.s.AddAgent("delegate-bot")
	exp := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)

	sess, err := e.app.CreateConnectSession(bg, ConnectSessionParams{AllowedProviders: []string{"google"},
		ReturnURL: "https://app.example.com/done", AllowedOrigin: "https://app.example.com",
		Metadata: map[string]string{"user_sub": "carol"}, RequiredScopes: map[string][]string{"google": {"gmail.readonly"}},
		GrantPolicy: &GrantPolicyInput{ExpiresAt: exp, MaxTTL: 90 * time.Minute, DefaultTTL: 1500 * time.Millisecond},
		Agent:       ag.ID})
	require.NoError(t, err)
	require.Equal(t, e.s.RootURL()+"/connect/"+sess.Token, sess.URL)
	require.True(t, sess.ExpiresAt.After(time.Now()))
	req := lastReq(t, e.s, "createConnectSession")
	var body map[string]any
	require.NoError(t, json.Unmarshal(req.Body, &body))
	require.Equal(t, map[string]any{"expires_at": exp.Format(time.RFC3339), "max_ttl_seconds": 5400.0, "default_ttl_seconds": 2.0}, body["grant_policy"])
	require.Equal(t, ag.ID.String(), body["agent"])
	require.Equal(t, "https://app.example.com/done", body["return_url"])

	// The person completes it: the grant is the user's, delegated to the agent.
	require.NoError(t, e.s.CompleteConnectSession(sess.Token, "google", "carol@example.com"))
	agent, err := NewAgent(ag.APIKey, WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	defer agent.Close()
	pg, err := agent.ListGrants(bg, PageParams{})
	require.NoError(t, err)
	require.Len(t, pg.Grants, 1)
	require.Equal(t, "user", pg.Grants[0].PrincipalType)
	require.Equal(t, []uuid.UUID{ag.ID}, pg.Grants[0].DelegatedAgentIDs)
	require.False(t, pg.Grants[0].DelegatedAt.IsZero())

	_, err = e.app.CreateConnectSession(bg, ConnectSessionParams{Agent: uuid.New()})
	require.ErrorIs(t, err, ErrAgentNotFound)
	_, err = e.app.CreateConnectSession(bg, ConnectSessionParams{RequiredScopes: map[string][]string{"google": {"no.such.scope"}}})
	require.ErrorIs(t, err, ErrConnectConfig)
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, []string{"no.such.scope"}, ae.Details.MissingScopes)
	_, err = e.app.CreateConnectSession(bg, ConnectSessionParams{AllowedProviders: []string{""}})
	requireInputErr(t, err, nil, "empty provider")
	_, err = e.app.CreateConnectSession(bg, ConnectSessionParams{GrantPolicy: &GrantPolicyInput{DefaultTTL: -1}})
	requireInputErr(t, err, nil, "DefaultTTL")
}

func TestListProviders(t *testing.T) {
	e := newEnv(t)
	ps, err := e.app.ListProviders(bg)
	require.NoError(t, err)
	var gh *ProviderInfo
	for i := range ps {
		if ps[i].ID == "github" {
			gh = &ps[i]
		}
	}
	require.NotNil(t, gh)
	require.Equal(t, "oauth", gh.Kind)
	require.NotEmpty(t, gh.Name)
	require.NotEmpty(t, gh.Scopes)

	ag := e.s.AddAgent("catalog-bot")
	agent, err := NewAgent(ag.APIKey, WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	defer agent.Close()
	ps2, err := agent.ListProviders(bg)
	require.NoError(t, err)
	require.Equal(t, ps, ps2)
}

// lastReq is the last request the vault received for op.
func lastReq(t *testing.T, s *vaulttest.Server, op string) vaulttest.Request {
	t.Helper()
	rs := s.Requests()
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].Operation == op {
			return rs[i]
		}
	}
	t.Fatalf("no %s request", op)
	return vaulttest.Request{}
}

// The deprecated-key signal: KeyDeprecated, and one warning per client however many answers.
func TestKeyDeprecatedWarnsOnce(t *testing.T) {
	e := newEnv(t)
	k := e.s.AddAppKey(vaulttest.KeyDeprecated())
	var logs bytes.Buffer
	app, err := NewApp(k.APIKey, WithBaseURL(e.s.URL()), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	defer app.Close()
	require.False(t, app.KeyDeprecated())
	for range 3 {
		_, err = app.ListProviders(bg)
		require.NoError(t, err)
	}
	require.True(t, app.KeyDeprecated())
	require.Equal(t, 1, strings.Count(logs.String(), "deprecated"), logs.String())
	require.NotContains(t, logs.String(), k.APIKey)

	require.False(t, e.app.KeyDeprecated())
	_, err = e.app.ListProviders(bg)
	require.NoError(t, err)
	require.False(t, e.app.KeyDeprecated())
}

var _ io.Writer = (*lockedBuf)(nil)

func TestPollConnectSession(t *testing.T) {
	e := newEnv(t)
	sess, err := e.app.CreateConnectSession(bg, ConnectSessionParams{AllowedProviders: []string{"github"}})
	require.NoError(t, err)

	res, done, err := e.app.PollConnectSession(bg, sess.Token)
	require.NoError(t, err)
	require.False(t, done, "the person has not finished")
	require.Empty(t, res)

	require.NoError(t, e.s.CompleteConnectSession(sess.Token, "github", "octo@example.com"))
	res, done, err = e.app.PollConnectSession(bg, sess.Token)
	require.NoError(t, err)
	require.True(t, done)
	require.Len(t, res, 1)
	require.Equal(t, "github", res[0].Provider)
	require.Equal(t, "octo@example.com", res[0].AccountIdentifier)
	require.NotEqual(t, uuid.Nil, res[0].GrantID)

	denied, err := e.app.CreateConnectSession(bg, ConnectSessionParams{})
	require.NoError(t, err)
	require.NoError(t, e.s.DenyConnectSession(denied.Token))
	_, done, err = e.app.PollConnectSession(bg, denied.Token)
	require.True(t, done)
	require.ErrorIs(t, err, ErrConnectDenied)
	var ce *ConnectError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "denied", ce.Status)

	_, _, err = e.app.PollConnectSession(bg, "NoSuchSessionToken0123456789")
	require.ErrorIs(t, err, ErrSessionNotFound)

	before := e.s.CallCount("getConnectSession")
	for _, bad := range []string{"", "short", "../../v1/agents/xxxxxxxxxxxxxxx", "tok\r\nX-Injected: 1xxxxxxxx"} {
		_, _, err = e.app.PollConnectSession(bg, bad)
		require.ErrorIs(t, err, ErrInvalidInput, "%q", bad)
	}
	require.Equal(t, before, e.s.CallCount("getConnectSession"), "refused tokens never reach the vault")
}
