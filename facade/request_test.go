package facade

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/vaulttest"
)

// fastRetries keeps integration tests quick: real backoff timing is tested in virtual time.
var fastRetries = WithRetryPolicy(RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxRetryAfter: 5 * time.Millisecond})

func TestRequestInjectsEveryCredentialKind(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name  string
		inj   vaulttest.Injection
		cred  string
		check func(t *testing.T, got echoed, cred string)
	}{
		{"bearer", vaulttest.BearerInjection(), "", func(t *testing.T, got echoed, cred string) {
			require.Equal(t, "Bearer "+cred, got.Headers["Authorization"])
		}},
		{"custom header", vaulttest.HeaderInjection("X-API-Key"), "", func(t *testing.T, got echoed, cred string) {
			require.Equal(t, cred, got.Headers["X-Api-Key"])
			require.Empty(t, got.Headers["Authorization"])
		}},
		{"basic", vaulttest.BasicInjection(), "user:pa ss", func(t *testing.T, got echoed, cred string) {
			require.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte(cred)), got.Headers["Authorization"])
		}},
		{"extra header and query", vaulttest.Injection{
			Header: "X-Token", Format: "tok={token}",
			AdditionalCredentials: map[string]string{"org": "org-42"},
			Additional: []vaulttest.AdditionalInjection{
				{Target: "header", Key: "X-Org", ValueSource: "additional_credentials.org"},
				{Target: "query", Key: "api_key", ValueSource: "access_token"},
			},
		}, "", func(t *testing.T, got echoed, cred string) {
			require.Equal(t, "tok="+cred, got.Headers["X-Token"])
			require.Equal(t, "org-42", got.Headers["X-Org"])
			require.Equal(t, cred, got.Query["api_key"])
			require.Equal(t, "1", got.Query["page"], "caller query kept")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gid, cred := e.grant(t, vaulttest.OAuthGrant{Credential: tc.cred, Injection: tc.inj})
			resp, err := e.app.Request(bg, http.MethodGet, e.up.URL()+"/items", RequestParams{GrantID: gid, Query: url.Values{"page": {"1"}}})
			require.NoError(t, err)
			got := readEcho(t, resp)
			tc.check(t, got, cred)
			// The vault key never goes upstream.
			for k, v := range got.Headers {
				require.NotContains(t, v, e.s.AppKey(), k)
			}
			require.Empty(t, got.Headers["X-Alter-Signature"])
		})
	}
}

func TestRequestBodiesPathsAndRetryInfo(t *testing.T) {
	e := newEnv(t)
	gid, _ := e.grant(t, vaulttest.OAuthGrant{})

	resp, err := e.app.Request(bg, "post", e.up.URL()+"/items", RequestParams{GrantID: gid, JSON: map[string]int{"n": 1}})
	require.NoError(t, err)
	got := readEcho(t, resp)
	require.Equal(t, "POST", got.Method)
	require.JSONEq(t, `{"n":1}`, got.Body)
	require.Equal(t, "application/json", got.Headers["Content-Type"])
	require.Equal(t, []Attempt{{Op: "retrieveCredential", Status: 200}, {Op: "upstream", Status: 200}}, resp.RetryInfo.Attempts)
	require.Equal(t, resp.RetryInfo, e.app.LastRetryInfo())
	require.Equal(t, gid, resp.GrantID)
	require.Equal(t, "github", resp.ProviderID)
	require.NotEmpty(t, resp.CredentialRequestID)

	resp, err = e.app.Request(bg, "PUT", e.up.URL()+"/raw", RequestParams{GrantID: gid, Body: []byte("raw bytes"),
		Header: http.Header{"Content-Type": {"text/plain"}}})
	require.NoError(t, err)
	got = readEcho(t, resp)
	require.Equal(t, "raw bytes", got.Body)
	require.Equal(t, "text/plain", got.Headers["Content-Type"])

	// Path params are escaped into one segment: "/" and ".." cannot change the path.
	var rawPath atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rawPath.Store(r.URL.EscapedPath())
	}))
	defer up.Close()
	resp, err = e.app.Request(bg, "GET", up.URL+"/repos/{owner}/{repo}", RequestParams{GrantID: gid,
		PathParams: map[string]string{"owner": "../../admin", "repo": "a b/c?d#e"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "/repos/..%2F..%2Fadmin/a%20b%2Fc%3Fd%23e", rawPath.Load())
}

func TestRequestByProviderAndImpersonation(t *testing.T) {
	e := newEnv(t)
	alice := e.s.AddUser("alice")
	bot := e.s.AddAgent("mail-bot")
	gid, cred := e.grant(t, vaulttest.OAuthGrant{Provider: "google", Account: "alice@x", UserSub: "alice", DelegatedTo: []uuid.UUID{bot.ID}})

	app, err := NewApp(e.s.AppKey(), WithBaseURL(e.s.URL()),
		WithUserTokenGetter(func(context.Context) (string, error) { return alice.Token, nil }))
	require.NoError(t, err)
	defer app.Close()
	resp, err := app.Request(bg, "GET", e.up.URL()+"/me", RequestParams{Provider: "google"})
	require.NoError(t, err)
	require.Equal(t, gid, resp.GrantID)
	require.Equal(t, "Bearer "+cred, readEcho(t, resp).Headers["Authorization"])
	require.NoError(t, app.Close()) // drains the audit post of the upstream call
	for _, row := range e.s.AuditRows() {
		if row.Operation == "upstreamCall" {
			// The upstream call acted for the user its credential was retrieved for.
			require.Equal(t, "user", row.PrincipalType)
			require.Equal(t, "alice", row.PrincipalID)
		}
	}
	app, err = NewApp(e.s.AppKey(), WithBaseURL(e.s.URL()),
		WithUserTokenGetter(func(context.Context) (string, error) { return alice.Token, nil }))
	require.NoError(t, err)
	defer app.Close()

	// Per-call token overrides; a bad one is the vault's invalid_user_token.
	_, err = app.Request(bg, "GET", e.up.URL()+"/me", RequestParams{Provider: "google", UserToken: "not-a-jwt"})
	require.ErrorIs(t, err, ErrInvalidUserToken)

	// The documented pattern for agent code inside a user session: App + caller = agent UUID.
	imp, err := NewApp(e.s.AppKey(), WithBaseURL(e.s.URL()), WithCaller(bot.ID.String()),
		WithUserTokenGetter(func(context.Context) (string, error) { return alice.Token, nil }))
	require.NoError(t, err)
	defer imp.Close()
	resp, err = imp.Request(bg, "GET", e.up.URL()+"/me", RequestParams{Provider: "google", Account: "alice@x"})
	require.NoError(t, err)
	resp.Body.Close()
	other := e.s.AddAgent("other-bot")
	imp2, err := NewApp(e.s.AppKey(), WithBaseURL(e.s.URL()), WithCaller(other.ID.String()),
		WithUserTokenGetter(func(context.Context) (string, error) { return alice.Token, nil }))
	require.NoError(t, err)
	defer imp2.Close()
	_, err = imp2.Request(bg, "GET", e.up.URL()+"/me", RequestParams{Provider: "google"})
	require.ErrorIs(t, err, ErrNoDelegatedGrant)

	// Ambiguous: two accounts.
	e.grant(t, vaulttest.OAuthGrant{Provider: "google", Account: "alice@y", UserSub: "alice"})
	_, err = app.Request(bg, "GET", e.up.URL()+"/me", RequestParams{Provider: "google"})
	var amb *AmbiguousGrantError
	require.ErrorAs(t, err, &amb)
	require.ElementsMatch(t, []string{"alice@x", "alice@y"}, amb.Accounts)
	require.ErrorIs(t, err, ErrAmbiguousGrant)
	var api *APIError
	require.ErrorAs(t, err, &api)
	require.Equal(t, http.StatusConflict, api.StatusCode)
	noSecrets(t, err.Error(), alice.Token, e.s.AppKey())
}

func TestAgentsAndMe(t *testing.T) {
	e := newEnv(t)
	bot := e.s.AddAgent("me-bot")
	gid, cred := e.grant(t, vaulttest.OAuthGrant{AgentOwner: bot.ID})

	agent, err := NewAgent(bot.APIKey, WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	defer agent.Close()
	require.Equal(t, uuid.Nil, agent.ActorID())
	me, err := agent.Me(bg)
	require.NoError(t, err)
	require.Equal(t, bot.ID, me.ID)
	require.Equal(t, "me-bot", me.Name)
	require.Equal(t, "active", me.Status)
	require.Equal(t, bot.ID, agent.ActorID(), "cached from X-Alter-Actor-Id")
	resp, err := agent.Request(bg, "GET", e.up.URL()+"/x", RequestParams{GrantID: gid})
	require.NoError(t, err)
	require.Equal(t, "Bearer "+cred, readEcho(t, resp).Headers["Authorization"])

	// The same agent through the App key.
	derived, err := e.app.GetAgent(bot.ID)
	require.NoError(t, err)
	me2, err := derived.Me(bg)
	require.NoError(t, err)
	require.Equal(t, me.ID, me2.ID)
	require.Equal(t, e.s.URL(), derived.BaseURL())
	resp, err = derived.Request(bg, "GET", e.up.URL()+"/x", RequestParams{GrantID: gid})
	require.NoError(t, err)
	resp.Body.Close()
	var last vaulttest.AuditRow // the last credential retrieval (audit posts land in the background)
	for _, r := range e.s.AuditRows() {
		if r.Operation == "retrieveCredential" {
			last = r
		}
	}
	require.Equal(t, bot.ID, last.AgentID)
	require.Equal(t, bot.ID.String(), last.Caller)
	require.Equal(t, "agent", last.CallerType)

	// Closing the derived Agent leaves the App working; closing the App closes the Agent.
	require.NoError(t, derived.Close())
	_, err = derived.Me(bg)
	require.ErrorIs(t, err, ErrClosed)
	derived2, err := e.app.GetAgent(bot.ID)
	require.NoError(t, err)
	require.NoError(t, e.app.Close())
	_, err = derived2.Me(bg)
	require.ErrorIs(t, err, ErrClosed)
	_, err = e.app.GetAgent(bot.ID)
	require.ErrorIs(t, err, ErrClosed)

	// An agent that does not exist.
	app, err := NewApp(e.s.AppKey(), WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	defer app.Close()
	ghost, err := app.GetAgent(uuid.New())
	require.NoError(t, err)
	_, err = ghost.Me(bg)
	require.Error(t, err)
	require.True(t, errors.Is(err, ErrAgentNotFound) || errors.Is(err, ErrMeRequiresAgentKey), err.Error())
}

func TestProviderErrors(t *testing.T) {
	e := newEnv(t, fastRetries)
	gid, cred := e.grant(t, vaulttest.OAuthGrant{Scopes: []string{"repo", "read:org"}})

	_, err := e.app.Request(bg, "GET", e.up.URL()+"/status/404?secret_q=1", RequestParams{GrantID: gid})
	var pe *ProviderAPIError
	require.ErrorAs(t, err, &pe)
	require.ErrorIs(t, err, ErrProviderAPI)
	require.NotErrorIs(t, err, ErrBackend)
	require.Equal(t, 404, pe.StatusCode)
	require.JSONEq(t, `{"status":404}`, string(pe.Body))
	require.Equal(t, gid, pe.GrantID)
	require.NotContains(t, err.Error(), "secret_q")
	noSecrets(t, err.Error(), cred, e.s.AppKey())

	_, err = e.app.Request(bg, "GET", e.up.URL()+"/scope-mismatch?scope=repo+admin:org", RequestParams{GrantID: gid})
	var se *ScopeReauthRequiredError
	require.ErrorAs(t, err, &se)
	require.Equal(t, []string{"admin:org"}, se.MissingScopes)
	require.Equal(t, []string{"repo", "admin:org"}, se.RequiredScopes)
	require.ErrorIs(t, err, ErrScopeReauthRequired)
	require.ErrorIs(t, err, ErrProviderAPI)
	require.ErrorAs(t, err, &pe)
	require.Equal(t, 403, pe.StatusCode)
	require.Contains(t, err.Error(), "admin:org")

	// 304 to a conditional request is an answer, not an error (as in the Python SDK 0.1.1: errors
	// from 400 up), and so is a redirect that is not followed.
	for _, code := range []int{http.StatusNotModified, http.StatusMultipleChoices} {
		resp, err := e.app.Request(bg, "GET", e.up.URL()+"/status/"+strconv.Itoa(code), RequestParams{GrantID: gid,
			Header: http.Header{"If-None-Match": {`"etag-1"`}}})
		require.NoError(t, err, code)
		require.Equal(t, code, resp.StatusCode)
		require.NoError(t, resp.Body.Close())
	}
	_, err = e.app.Request(bg, "GET", e.up.URL()+"/status/400", RequestParams{GrantID: gid})
	require.ErrorAs(t, err, &pe)
	require.Equal(t, 400, pe.StatusCode)

	// 403 asking only for scopes the grant has: a plain provider error.
	_, err = e.app.Request(bg, "GET", e.up.URL()+"/scope-mismatch?scope=repo", RequestParams{GrantID: gid})
	require.ErrorAs(t, err, &pe)
	require.NotErrorIs(t, err, ErrScopeReauthRequired)

	// An upstream that echoes the credential in its error body: redacted.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		_, _ = io.WriteString(w, "bad token: "+r.Header.Get("Authorization")+strings.Repeat("x", 5000))
	}))
	defer up.Close()
	_, err = e.app.Request(bg, "GET", up.URL, RequestParams{GrantID: gid})
	require.ErrorAs(t, err, &pe)
	require.NotContains(t, string(pe.Body), cred)
	require.Contains(t, string(pe.Body), "[REDACTED]")
	require.True(t, pe.Truncated)
	require.Len(t, pe.Body, maxErrorBody-len(cred)+len("[REDACTED]"))

	// An unreachable upstream with a credential injected in the query: never in the error or the attempts.
	qg, qcred := e.grant(t, vaulttest.OAuthGrant{Injection: vaulttest.Injection{Header: "X-Key", Format: "{token}",
		Additional: []vaulttest.AdditionalInjection{{Target: "query", Key: "api_key", ValueSource: "access_token"}}}})
	_, err = e.app.Request(bg, "GET", "http://127.0.0.1:1/x", RequestParams{GrantID: qg})
	require.ErrorIs(t, err, ErrNetwork)
	noSecrets(t, err.Error(), qcred)
	for _, a := range e.app.LastRetryInfo().Attempts {
		if a.Err != nil {
			noSecrets(t, a.Err.Error(), qcred)
		}
	}

	// An unreachable upstream is a network error without the query.
	_, err = e.app.Request(bg, "GET", "http://127.0.0.1:1/x?token=q", RequestParams{GrantID: gid})
	require.ErrorIs(t, err, ErrNetwork)
	var ne *NetworkError
	require.ErrorAs(t, err, &ne)
	require.Equal(t, "upstream", ne.Op)
	require.NotContains(t, err.Error(), "token=q")
}

func TestRedirectsNeverCarryTheCredentialToAnotherHost(t *testing.T) {
	e := newEnv(t)
	other := vaulttest.NewEchoUpstream() // same IP, other port: another origin
	defer other.Close()
	for _, inj := range []vaulttest.Injection{vaulttest.BearerInjection(), vaulttest.HeaderInjection("X-API-Key")} {
		gid, cred := e.grant(t, vaulttest.OAuthGrant{Injection: inj})
		resp, err := e.app.Request(bg, "GET", e.up.URL()+"/redirect", RequestParams{GrantID: gid,
			Query: url.Values{"to": {other.URL() + "/landed"}}})
		require.NoError(t, err)
		got := readEcho(t, resp)
		require.Equal(t, "/landed", got.Path)
		for k, v := range got.Headers {
			require.NotContains(t, v, cred, k)
		}
		// Same origin: the credential follows.
		resp, err = e.app.Request(bg, "GET", e.up.URL()+"/redirect", RequestParams{GrantID: gid,
			Query: url.Values{"to": {e.up.URL() + "/landed"}}})
		require.NoError(t, err)
		got = readEcho(t, resp)
		found := false
		for _, v := range got.Headers {
			found = found || strings.Contains(v, cred)
		}
		require.True(t, found)
	}
}

func TestTraceAndAuditRecord(t *testing.T) {
	e := newEnv(t, WithCaller("research-bot"))
	gid, cred := e.grant(t, vaulttest.OAuthGrant{Injection: vaulttest.Injection{Header: "Authorization", Format: "Bearer {token}",
		Additional: []vaulttest.AdditionalInjection{{Target: "query", Key: "key", ValueSource: "access_token"}}}})
	ctx := WithTrace(bg, Trace{RunID: "run-1", ThreadID: "thread-1"})
	ctx = WithTrace(ctx, Trace{ToolCallID: "tool-7"})
	resp, err := e.app.Request(ctx, "GET", e.up.URL()+"/x", RequestParams{GrantID: gid, Reason: "sync", Context: map[string]string{"tool": "search"},
		Header: http.Header{"Cookie": {"c=1"}, "X-Visible": {"yes"}}})
	require.NoError(t, err)
	resp.Body.Close()
	require.NoError(t, e.app.Close()) // drains the background audit post
	require.Equal(t, 1, e.s.CallCount("recordAPICall"))

	var tokenRow, auditRow *vaulttest.AuditRow
	for _, r := range e.s.AuditRows() {
		switch r.Operation {
		case "retrieveCredential":
			tokenRow = &r
		case "recordAPICall":
			auditRow = &r
		}
	}
	require.NotNil(t, tokenRow)
	require.NotNil(t, auditRow)
	for _, r := range []*vaulttest.AuditRow{tokenRow, auditRow} {
		require.Equal(t, "run-1", r.RunID)
		require.Equal(t, "thread-1", r.ThreadID)
		require.Equal(t, "tool-7", r.ToolCallID)
		require.Equal(t, "research-bot", r.Caller)
		require.Equal(t, "service", r.CallerType)
	}
	require.Equal(t, "sync", tokenRow.Reason)
	require.Equal(t, map[string]string{"tool": "search"}, tokenRow.Context)

	var body []byte
	for _, r := range e.s.Requests() {
		if r.Operation == "recordAPICall" {
			body = r.Body
			require.Equal(t, userAgent, r.Header.Get("User-Agent"))
			require.NotEmpty(t, r.Header.Get(hIdempotency))
		}
	}
	require.NotContains(t, string(body), cred)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(body, &rec))
	require.Equal(t, float64(200), rec["response_status"])
	require.Contains(t, rec["url"], "key=REDACTED")
	hdrs := rec["request_headers"].(map[string]any)
	require.Equal(t, "yes", hdrs["X-Visible"])
	require.NotContains(t, hdrs, "Cookie")
	require.NotContains(t, hdrs, "Authorization")
	require.Equal(t, map[string]any{"attempts": float64(1), "statuses": []any{float64(200)}}, rec["retry"])
}

func TestCloseDrainsAndRefuses(t *testing.T) {
	e := newEnv(t)
	gid, _ := e.grant(t, vaulttest.OAuthGrant{})
	e.s.InjectFault("recordAPICall", vaulttest.Fault{Delay: 200 * time.Millisecond})
	resp, err := e.app.Request(bg, "GET", e.up.URL()+"/x", RequestParams{GrantID: gid})
	require.NoError(t, err)
	resp.Body.Close()
	require.NoError(t, e.app.Close())
	require.Equal(t, 1, e.s.CallCount("recordAPICall"))
	require.NoError(t, e.app.Close(), "idempotent")
	_, err = e.app.Request(bg, "GET", e.up.URL()+"/x", RequestParams{GrantID: gid})
	require.ErrorIs(t, err, ErrClosed)
	_, err = e.app.ProxyRequest(bg, "GET", e.up.URL()+"/x", ProxyParams{GrantID: gid})
	require.ErrorIs(t, err, ErrClosed)
	_, err = e.app.GetApprovalStatus(bg, "apr_1")
	require.ErrorIs(t, err, ErrClosed)
}

// Many goroutines share one App; connections are kept alive and reused.
func TestConcurrentRequestsReuseConnections(t *testing.T) {
	var dials atomic.Int32
	tr := newTransport()
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, n, a string) (net.Conn, error) {
		dials.Add(1)
		return dial(ctx, n, a)
	}
	defer tr.CloseIdleConnections()
	e := newEnv(t, WithHTTPClient(&http.Client{Transport: tr}))
	gid, _ := e.grant(t, vaulttest.OAuthGrant{})

	// Sequential calls (answers of every kind read and closed): one connection to the vault.
	for range 20 {
		_, err := e.app.GetApprovalStatus(bg, "apr_missing")
		require.ErrorIs(t, err, ErrApprovalNotFound)
	}
	require.Equal(t, int32(1), dials.Load())

	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			resp, err := e.app.Request(WithTrace(bg, Trace{RunID: uuid.NewString()}), "GET", e.up.URL()+"/x", RequestParams{GrantID: gid})
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.LessOrEqual(t, int(dials.Load()), 64+3)
}
