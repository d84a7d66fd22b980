package facade

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const scopesAns = `{"scope_version":1,"action_verbs":[],"resources":{}}`

// Reads are retried after a 503, honouring Retry-After, each try signed afresh (new nonce).
func TestRetryHonoursRetryAfterAndResigns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newFakeVault(t, appKey)
		v.on("GET /sdk/scopes", reply{status: 503, header: http.Header{"Retry-After": {"3"}}, body: `{"error":"x"}`}, ok(scopesAns))
		app := newTestApp(t, v)
		start := time.Now()
		_, err := app.ListScopes(bg)
		require.NoError(t, err)
		require.Equal(t, 3*time.Second, time.Since(start))
		rs := v.requests()
		require.Len(t, rs, 2)
		require.NotEqual(t, rs[0].Header.Get("X-Alter-Nonce"), rs[1].Header.Get("X-Alter-Nonce"))
		require.NoError(t, rs[1].SigErr)
	})
}

// Without Retry-After the wait is full jitter below the doubling ceiling.
func TestRetryBackoffFullJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newFakeVault(t, appKey)
		v.on("POST /sdk/grants/list", reply{status: 502}, reply{status: 504}, ok(`{"grants":[],"total":0,"limit":100,"offset":0,"has_more":false}`))
		app := newTestApp(t, v, WithRetryPolicy(RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Second, MaxBackoff: 10 * time.Second}))
		app.retry.rand = func() float64 { return 0.5 }
		start := time.Now()
		_, err := app.ListGrants(bg, ListGrantsParams{})
		require.NoError(t, err)
		require.Equal(t, 500*time.Millisecond+time.Second, time.Since(start), "0.5×1 s, then 0.5×2 s")
	})
}

// The credential fetch is retried after a transport failure and after the vault's transient
// token_refresh_in_progress.
func TestRetryCredentialFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newFakeVault(t, appKey)
		v.err["POST /sdk/token"] = errors.New("connection reset")
		v.on("POST /sdk/token", reply{status: 409, body: `{"detail":{"error":"token_refresh_in_progress"}}`}, ok(tokenAns))
		app := newTestApp(t, v, WithProviderHTTPClient(&http.Client{Transport: okRT{}}))
		resp, err := app.Request(bg, "GET", "https://api.example.com/x", RequestParams{GrantID: gid})
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, 3, v.count("POST /sdk/token"))
	})
}

// okRT is a provider answering 200, in process.
type okRT struct{}

func (okRT) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

// Nothing with a side effect is ever sent twice, whatever the answer.
func TestWhatIsNeverRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newFakeVault(t, appKey)
		for _, r := range []string{"POST /sdk/proxy", "POST /sdk/agents", "POST /sdk/oauth/connect/session"} {
			v.on(r, reply{status: 503, header: http.Header{"Retry-After": {"1"}}})
		}
		v.err["POST /sdk/oauth/grants/"+gidStr+"/revoke"] = errors.New("connection reset")
		app := newTestApp(t, v)
		_, err := app.ProxyRequest(bg, "GET", "https://api.example.com/x", ProxyParams{GrantID: gid})
		require.ErrorIs(t, err, ErrBackend)
		_, err = app.Agents().Create(bg, AgentCreateParams{Name: "bot"})
		require.Error(t, err)
		_, err = app.CreateConnectSession(bg, ConnectSessionParams{})
		require.Error(t, err)
		_, err = app.RevokeGrant(bg, gid, "")
		require.ErrorIs(t, err, ErrNetwork)
		for _, r := range []string{"POST /sdk/proxy", "POST /sdk/agents", "POST /sdk/oauth/connect/session", "POST /sdk/oauth/grants/" + gidStr + "/revoke"} {
			require.Equal(t, 1, v.count(r), r)
		}
	})
}

// A wait that would outlast the deadline is not started; ctx ending stops a wait at once.
func TestRetryStopsAtTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newFakeVault(t, appKey)
		v.on("GET /sdk/scopes", reply{status: 503, header: http.Header{"Retry-After": {"20"}}, body: `{}`})
		app := newTestApp(t, v, WithTimeout(5*time.Second))
		start := time.Now()
		_, err := app.ListScopes(bg)
		require.ErrorIs(t, err, ErrBackend)
		require.Zero(t, time.Since(start), "the 20 s wait did not fit in 5 s: the 503 is the answer")
		require.Equal(t, 1, v.count("GET /sdk/scopes"))

		v.on("GET /sdk/scopes", reply{status: 503, header: http.Header{"Retry-After": {"2"}}, body: `{}`})
		ctx, cancel := context.WithCancel(bg)
		time.AfterFunc(time.Second, cancel)
		start = time.Now()
		_, err = app.ListScopes(ctx)
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, time.Second, time.Since(start))
	})
}

// slowRT answers after d, or fails when the request's ctx ends first.
type slowRT struct{ d time.Duration }

func (s slowRT) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case <-time.After(s.d):
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// The default deadline is 30 s over the whole call; a timeout matches ErrTimeout and
// context.DeadlineExceeded.
func TestOneDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		app, err := NewApp(appKey, WithBaseURL(testBase), WithHTTPClient(&http.Client{Transport: slowRT{time.Hour}}))
		require.NoError(t, err)
		defer app.Close()
		start := time.Now()
		_, err = app.ListScopes(bg)
		require.Equal(t, DefaultTimeout, time.Since(start))
		require.ErrorIs(t, err, ErrTimeout)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorIs(t, err, ErrNetwork)
	})
}

// A transport error never shows a URL query.
func TestNetworkErrorsKeepNoQuery(t *testing.T) {
	v := newFakeVault(t, appKey)
	v.on("POST /sdk/token", ok(tokenWith(`,"additional_injections":[{"target":"query_param","key":"k","value_source":"token"}]`)))
	app := newTestApp(t, v, WithProviderHTTPClient(&http.Client{Transport: failRT{}}))
	_, err := app.Request(bg, "GET", "https://api.example.com/x", RequestParams{GrantID: gid})
	require.ErrorIs(t, err, ErrNetwork)
	noSecrets(t, err.Error(), "cred-secret-123")
	require.NoError(t, app.Close())
	audit := v.last("POST /sdk/oauth/audit/api-call").JSON(t)
	require.Equal(t, float64(0), audit["response_status"])
	require.Equal(t, "<transport error: network>", audit["response_body"])
	require.Nil(t, audit["response_headers"])
}

type failRT struct{}

func (failRT) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("refused " + r.URL.String())}
}

// Actor id: the first canonical id wins; non-canonical ids and approval answers are ignored.
func TestActorIDCache(t *testing.T) {
	v := newFakeVault(t, appKey)
	app := newTestApp(t, v)
	v.on("GET /sdk/approvals/"+apprStr, reply{status: 200, header: http.Header{"X-Alter-Actor-Id": {actorStr}},
		body: `{"approval_id":"` + apprStr + `","approval_group_id":"` + apprStr + `","status":"pending","expires_at":"2026-01-01T00:00:00Z","has_result":false,` + gates + `}`})
	_, err := app.GetApprovalStatus(bg, apprStr)
	require.NoError(t, err)
	require.Equal(t, "00000000-0000-0000-0000-000000000000", app.ActorID().String(), "approval answers are not read")
	v.on("GET /sdk/scopes", reply{status: 200, header: http.Header{"X-Alter-Actor-Id": {strings.ToUpper(actorStr)}}, body: scopesAns},
		reply{status: 200, header: http.Header{"X-Alter-Actor-Id": {actorStr}}, body: scopesAns},
		reply{status: 200, header: http.Header{"X-Alter-Actor-Id": {keyStr}}, body: scopesAns})
	for range 3 {
		_, err = app.ListScopes(bg)
		require.NoError(t, err)
	}
	require.Equal(t, actorStr, app.ActorID().String())
}

// Close refuses every later call, drains the background posts, and is idempotent; a derived
// Agent closes with its App.
func TestClose(t *testing.T) {
	v := newFakeVault(t, appKey)
	app, err := NewApp(appKey, WithBaseURL(testBase), WithHTTPClient(&http.Client{Transport: v}))
	require.NoError(t, err)
	child, err := app.GetAgent(agentID)
	require.NoError(t, err)
	require.NoError(t, child.Close())
	_, err = child.Me(bg)
	require.ErrorIs(t, err, ErrClosed)
	_, err = app.ListScopes(bg)
	require.NoError(t, err, "closing the child leaves the App open")
	require.NoError(t, app.Close())
	require.NoError(t, app.Close())
	_, err = app.ListScopes(bg)
	require.ErrorIs(t, err, ErrClosed)
	_, err = app.Request(bg, "GET", "https://x.example", RequestParams{GrantID: gid})
	require.ErrorIs(t, err, ErrClosed)
	_, err = app.GetAgent(agentID)
	require.ErrorIs(t, err, ErrClosed)
	_, err = app.Raw().ListScopes(bg)
	require.ErrorIs(t, err, ErrClosed)
}

// Raw is the gen client with the same headers and signature.
func TestRaw(t *testing.T) {
	v := newFakeVault(t, appKey)
	app := newTestApp(t, v, WithCaller("c"))
	resp, err := app.Raw().ListScopesWithResponse(WithTrace(bg, Trace{ThreadID: "t"}))
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode())
	got := v.last("GET /sdk/scopes")
	require.NoError(t, got.SigErr)
	require.Equal(t, `{"thread_id":"t"}`, got.Header.Get("X-Alter-Context"))
	require.Equal(t, "c", got.Header.Get("X-Alter-Caller"))
}

// A deprecated key is reported once.
func TestKeyDeprecated(t *testing.T) {
	v := newFakeVault(t, appKey)
	v.on("GET /sdk/scopes", reply{status: 200, header: http.Header{"X-Alter-Key-Deprecated": {"true"}}, body: scopesAns})
	app := newTestApp(t, v)
	require.False(t, app.KeyDeprecated())
	_, err := app.ListScopes(bg)
	require.NoError(t, err)
	require.True(t, app.KeyDeprecated())
}

// A provider call that outlasts the deadline is a timeout like any other; its audit record says
// so.
func TestProviderTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newFakeVault(t, appKey)
		v.on("POST /sdk/token", ok(tokenAns))
		app := newTestApp(t, v, WithTimeout(3*time.Second), WithProviderHTTPClient(&http.Client{Transport: slowRT{time.Hour}}))
		start := time.Now()
		_, err := app.Request(bg, "GET", "https://api.example.com/x", RequestParams{GrantID: gid})
		require.Equal(t, 3*time.Second, time.Since(start))
		require.ErrorIs(t, err, ErrTimeout)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NoError(t, app.Close())
		require.Equal(t, "<transport error: timeout after 3000ms>", v.last("POST /sdk/oauth/audit/api-call").JSON(t)["response_body"])
	})
}

// A deprecated key is warned about once per client, with alter-sdk's text.
func TestDeprecatedKeyWarnedOnce(t *testing.T) {
	v := newFakeVault(t, appKey)
	dep := reply{status: 200, header: http.Header{"X-Alter-Key-Deprecated": {"true"}}, body: scopesAns}
	v.on("GET /sdk/scopes", dep, dep, dep)
	var buf strings.Builder
	app := newTestApp(t, v, WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	for range 3 {
		_, err := app.ListScopes(bg)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, strings.Count(buf.String(), "is deprecated"), buf.String())
	assert.Contains(t, buf.String(), "The Alter API key used by this client is deprecated: the backend marked its responses with "+
		"X-Alter-Key-Deprecated: true. Calls keep succeeding until the key is revoked - roll this workload onto a replacement key, "+
		"then revoke the deprecated one. See https://docs.alterauth.com/admin/api-keys#deprecate-soft-revoke (warned once per client).")
}
