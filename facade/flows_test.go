package facade

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func approvalAns(status string, hasResult bool, extra string) reply {
	hr := "false"
	if hasResult {
		hr = "true"
	}
	return ok(`{"approval_id":"` + apprStr + `","approval_group_id":"` + apprStr + `","status":"` + status +
		`","expires_at":"2026-01-01T00:00:00Z","has_result":` + hr + `,` + gates + extra + `}`)
}

const pendingAns = `{"approval_id":"` + apprStr + `","approval_group_id":"` + apprStr + `","status":"pending",` +
	`"expires_at":"2026-01-01T00:00:00Z","expires_in":600,"approval_url":"https://approve/x",` +
	`"gates":[{"approval_id":"` + apprStr + `","expires_at":"2026-01-01T00:00:00Z","expires_in":600,"approval_url":"https://approve/x"}]}`

// Proxy mode: 202 is a pending approval, then the await loop long-polls (wait derived from the
// time left), rides out a 503, sleeps the poll interval, and fetches the result.
func TestProxyAndAwaitApprovalInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newFakeVault(t, appKey)
		v.on("POST /sdk/proxy", reply{status: 202, body: pendingAns})
		v.on("GET /sdk/approvals/"+apprStr, approvalAns("pending", false, ""), reply{status: 503, body: `{}`},
			approvalAns("executed", false, ""), approvalAns("executed", true, ""))
		v.on("GET /sdk/approvals/"+apprStr+"/result", ok(`{"approval_id":"`+apprStr+`","status_code":201,"headers":{"x-a":"1"},"body_b64":"aGk=","duration_ms":7}`))
		app := newTestApp(t, v, WithCaller("bot"))
		out, err := app.ProxyRequest(WithTrace(bg, Trace{RunID: "r"}), "POST", "https://api.example.com/x", ProxyParams{GrantID: gid})
		require.NoError(t, err)
		require.Nil(t, out.Result)
		require.Equal(t, apprStr, out.Pending.ID)
		require.Equal(t, "https://approve/x", out.Pending.URL)
		require.Len(t, out.Pending.Gates, 1)

		start := time.Now()
		res, err := app.AwaitApproval(bg, out.Pending.ID, AwaitOptions{Timeout: 10 * time.Second, PollInterval: time.Second})
		require.NoError(t, err)
		require.Equal(t, 201, res.StatusCode)
		require.Equal(t, "hi", res.Text())
		require.Equal(t, "1", res.Header.Get("X-A"))
		require.Equal(t, 7*time.Millisecond, res.Duration)
		require.Equal(t, 3*time.Second, time.Since(start), "four polls answered at once, with the 1 s interval after each of the first three")

		var waits []string
		for _, r := range v.requests() {
			if r.Path == "/sdk/approvals/"+apprStr {
				waits = append(waits, r.Query)
				require.Empty(t, r.Header.Get("X-Alter-Actor-ID"))
				require.Empty(t, r.Header.Get("X-Alter-Context"))
				require.Equal(t, "bot", r.Header.Get("X-Alter-Caller"), "the constructor caller rides, signed")
				require.NoError(t, r.SigErr)
			}
		}
		require.Equal(t, []string{"wait=10", "wait=9", "wait=8", "wait=7"}, waits)
	})
}

func TestAwaitApprovalOutcomes(t *testing.T) {
	cases := []struct {
		answer reply
		is     error
		msg    string
	}{
		{approvalAns("denied", false, `,"decision_reason":"no way"`), ErrApprovalDenied, "no way"},
		{approvalAns("expired", false, ""), ErrApprovalExpired, ""},
		{approvalAns("failed", false, `,"execution_error":"upstream 500"`), ErrApprovalExecutionFailed, "upstream 500"},
		{reply{status: 403, body: `{"detail":{"error":"insufficient_scope"}}`}, ErrBackend, ""},
	}
	for _, tc := range cases {
		v := newFakeVault(t, appKey)
		v.on("GET /sdk/approvals/"+apprStr, tc.answer)
		app := newTestApp(t, v)
		_, err := app.AwaitApproval(bg, apprStr, AwaitOptions{})
		require.ErrorIs(t, err, tc.is)
		require.Contains(t, err.Error(), tc.msg)
	}
}

// The await's own timeout, and the ctx's deadline, end it with an approval timeout that also
// matches ErrTimeout and context.DeadlineExceeded; a cancelled ctx ends it with Canceled.
func TestAwaitApprovalTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newFakeVault(t, appKey)
		v.on("GET /sdk/approvals/"+apprStr, approvalAns("pending", false, ""))
		app := newTestApp(t, v)
		start := time.Now()
		_, err := app.AwaitApproval(bg, apprStr, AwaitOptions{Timeout: 5 * time.Second, PollInterval: 2 * time.Second})
		require.Equal(t, 5*time.Second, time.Since(start))
		for _, target := range []error{ErrApprovalTimeout, ErrTimeout, context.DeadlineExceeded} {
			require.ErrorIs(t, err, target)
		}
		require.Equal(t, "wait=5", v.requests()[0].Query, "whole seconds left (in virtual time none has passed)")

		ctx, cancel := context.WithTimeout(bg, 3*time.Second)
		defer cancel()
		_, err = app.AwaitApproval(ctx, apprStr, AwaitOptions{})
		for _, target := range []error{ErrApprovalTimeout, ErrTimeout, context.DeadlineExceeded} {
			require.ErrorIs(t, err, target)
		}

		ctx, cancel = context.WithCancel(bg)
		time.AfterFunc(time.Second, cancel)
		_, err = app.AwaitApproval(ctx, apprStr, AwaitOptions{})
		require.ErrorIs(t, err, context.Canceled)
	})
}

const sessionAns = `{"session_token":"st","connect_url":"https://connect/x","expires_in":600,"expires_at":"2026-01-01T00:00:00Z"}`

// Connect: the URL is shown, the session polled (first at once, then every interval), a 429
// waited out, and the grants returned.
func TestConnectInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newFakeVault(t, appKey)
		v.on("POST /sdk/oauth/connect/session", ok(sessionAns))
		v.on("POST /sdk/oauth/connect/session/poll", ok(`{"status":"pending","declined_providers":[{"provider_id":"gitlab","error_code":"access_denied"},{"provider_id":""}]}`),
			ok(`{"status":"pending","declined_providers":[{"provider_id":"gitlab","error_code":"access_denied"}]}`),
			reply{status: 429, header: http.Header{"Retry-After": {"5"}}, body: `{"detail":{"error":"rate_limit_exceeded"}}`},
			ok(`{"status":"completed","grants":[{"grant_id":"`+gidStr+`","provider_id":"github","scopes":["repo"],"operation":"reauth",`+
				`"delegation":{"agent_id":"`+agentStr+`","delegable":true}}]}`))
		app := newTestApp(t, v, WithUserTokenGetter(func(context.Context) (string, error) { return "user.jwt", nil }))
		var opened string
		var declined []ConnectEvent
		start := time.Now()
		res, err := app.Connect(bg, ConnectParams{Providers: []string{"github"}, PollInterval: time.Second,
			OpenURL: func(_ context.Context, u string) error { opened = u; return nil },
			OnEvent: func(d ConnectEvent) { declined = append(declined, d) }})
		require.NoError(t, err)
		require.Equal(t, "https://connect/x", opened)
		require.Equal(t, []ConnectEvent{{Type: ConnectEventProviderDeclined, Provider: "gitlab", ErrorCode: "access_denied"}}, declined, "told once, malformed entries skipped")
		require.Equal(t, 7*time.Second, time.Since(start), "1 s after each pending, 5 s after the 429")
		require.Len(t, res, 1)
		require.Equal(t, gid, res[0].GrantID)
		require.Equal(t, ConnectReauth, res[0].Operation)
		require.Equal(t, agentID, res[0].Delegation.AgentID)
		compactEq(t, `{"allowed_providers":["github"],"return_url":null,"allowed_origin":null,"metadata":null,"user_token":"user.jwt"}`,
			v.last("POST /sdk/oauth/connect/session").Body)
	})
}

func TestConnectEndings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		run := func(poll ...reply) error {
			v := newFakeVault(t, appKey)
			v.on("POST /sdk/oauth/connect/session", ok(sessionAns))
			v.on("POST /sdk/oauth/connect/session/poll", poll...)
			app := newTestApp(t, v)
			var out bytes.Buffer
			_, err := app.Connect(bg, ConnectParams{NoBrowser: true, Out: &out, Timeout: 10 * time.Second})
			require.Contains(t, out.String(), "https://connect/x")
			return err
		}
		err := run(ok(`{"status":"error","error":{"error_code":"connect_denied","error_message":"no"}}`))
		require.ErrorIs(t, err, ErrConnectDenied)
		require.ErrorIs(t, err, ErrConnectFlow)
		err = run(ok(`{"status":"error","error":{"error_code":"invalid_client","error_message":"bad"}}`))
		require.ErrorIs(t, err, ErrConnectConfig)
		err = run(ok(`{"status":"pending"}`), ok(`{"status":"expired"}`))
		require.ErrorIs(t, err, ErrConnectTimeout)
		err = run(ok(`{"status":"expired"}`))
		require.ErrorIs(t, err, ErrConnectFlow)
		require.NotErrorIs(t, err, ErrConnectTimeout)
		err = run(ok(`{"status":"completed","grants":[],"failed_grants":[{"provider_id":"github","reason":"activation_failed","message":"m"}]}`))
		require.ErrorIs(t, err, ErrConnectFlow)
		err = run(ok(`{"status":"weird"}`))
		require.ErrorIs(t, err, ErrConnectFlow)
		err = run(reply{status: 500, body: `{}`})
		require.ErrorIs(t, err, ErrBackend)

		start := time.Now()
		err = run(ok(`{"status":"pending"}`))
		require.Equal(t, 10*time.Second, time.Since(start))
		for _, target := range []error{ErrConnectTimeout, ErrTimeout, context.DeadlineExceeded} {
			require.ErrorIs(t, err, target)
		}
	})
}

// Authenticate: 201 session, long polls with wait_ms, transient statuses waited out, the
// token returned as a Secret.
func TestAuthenticateInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newFakeVault(t, appKey)
		v.on("POST /sdk/auth/session", reply{status: 201, body: `{"session_token":"as","auth_url":"https://idp/x","expires_in":600,"expires_at":"2026-01-01T00:00:00Z"}`})
		v.on("POST /sdk/auth/poll", ok(`{"status":"pending"}`), reply{status: 503, body: `{}`},
			ok(`{"status":"completed","user_token":"user.jwt.secret","user_info":{"sub":"u1","email":"a@b.c"}}`))
		app := newTestApp(t, v)
		var out bytes.Buffer
		res, err := app.Authenticate(bg, AuthenticateParams{NoBrowser: true, Out: &out, PollInterval: time.Second, Timeout: time.Minute})
		require.NoError(t, err)
		require.Contains(t, out.String(), "https://idp/x")
		require.Equal(t, "user.jwt.secret", res.UserToken.Reveal())
		require.Equal(t, "u1", res.UserInfo.Sub)
		require.NotContains(t, res.String()+res.GoString(), "user.jwt.secret")
		compactEq(t, `{}`, v.last("POST /sdk/auth/session").Body)
		compactEq(t, `{"session_token":"as","wait_ms":25000}`, v.requests()[1].Body)

		v.on("POST /sdk/auth/poll", reply{status: 401, body: `{"detail":{"error":"jwt_validation_error"}}`})
		_, err = app.Authenticate(bg, AuthenticateParams{NoBrowser: true, Out: &out})
		require.ErrorIs(t, err, ErrBackend)

		v.on("POST /sdk/auth/poll", ok(`{"status":"error","error_message":"nope","error_code":"x"}`))
		_, err = app.Authenticate(bg, AuthenticateParams{NoBrowser: true, Out: &out})
		require.ErrorIs(t, err, ErrConnectFlow)

		v.on("POST /sdk/auth/poll", ok(`{"status":"pending"}`))
		_, err = app.Authenticate(bg, AuthenticateParams{NoBrowser: true, Out: &out, Timeout: 30 * time.Second})
		for _, target := range []error{ErrConnectTimeout, ErrTimeout, context.DeadlineExceeded} {
			require.ErrorIs(t, err, target)
		}
	})
}

func TestVerifyUserToken(t *testing.T) {
	v := newFakeVault(t, appKey)
	app := newTestApp(t, v)
	v.on("POST /sdk/auth/verify-token", ok(`{"sub":"u1"}`), reply{status: 401, body: `{}`}, reply{status: 500, body: `{}`}, ok(`{"sub":" "}`))
	sub, valid, err := app.VerifyUserToken(bg, "jwt")
	require.NoError(t, err)
	require.True(t, valid)
	require.Equal(t, "u1", sub)
	for range 3 {
		_, valid, err = app.VerifyUserToken(bg, "jwt")
		require.NoError(t, err, "an invalid token is an answer, not an error")
		require.False(t, valid)
	}
	_, valid, err = app.VerifyUserToken(bg, " ")
	require.NoError(t, err)
	require.False(t, valid)
	require.Equal(t, 4, v.count("POST /sdk/auth/verify-token"), "a blank token is not sent")
}

// Grants: pages of both kinds, iterated; the user token from the getter on an App, only the
// explicit one on an Agent; a failing getter fails the call.
func TestGrants(t *testing.T) {
	page := func(more bool, id string) reply {
		m := "false"
		if more {
			m = "true"
		}
		return ok(`{"grants":[{"grant_kind":"oauth","grant_id":"` + id + `","provider_id":"github","status":"active","created_at":"2026-01-01T00:00:00Z","principal_type":"user","scopes":["repo"]},` +
			`{"grant_kind":"managed_secret","grant_id":"` + keyStr + `","managed_secret_id":"ms1","managed_secret_slug":"stripe","managed_secret_name":"Stripe","status":"active","created_at":"2026-01-01T00:00:00Z","principal_type":"system","credential_kind":"developer"}],` +
			`"total":4,"limit":2,"offset":0,"has_more":` + m + `}`)
	}
	v := newFakeVault(t, appKey)
	v.on("POST /sdk/grants/list", page(true, gidStr), page(false, actorStr))
	app := newTestApp(t, v, WithUserTokenGetter(func(context.Context) (string, error) { return "user.jwt", nil }))
	var n int
	for g, err := range app.AllGrants(bg, ListGrantsParams{Limit: 2}) {
		require.NoError(t, err)
		if g.Kind == GrantKindManagedSecret {
			require.Equal(t, "stripe", g.ManagedSecretSlug)
			require.Equal(t, CredentialDeveloper, g.CredentialKind)
		}
		n++
	}
	require.Equal(t, 4, n)
	compactEq(t, `{"limit":2,"offset":2,"user_token":"user.jwt"}`, v.last("POST /sdk/grants/list").Body)

	va := newFakeVault(t, agentKey)
	va.on("POST /sdk/grants/list", page(false, gidStr))
	ag := newTestAgent(t, va, WithUserTokenGetter(func(context.Context) (string, error) { return "user.jwt", nil }))
	_, err := ag.ListGrants(bg, ListGrantsParams{})
	require.NoError(t, err)
	compactEq(t, `{"limit":100,"offset":0}`, va.last("POST /sdk/grants/list").Body)

	bad := newTestApp(t, v, WithUserTokenGetter(func(context.Context) (string, error) { return "", errors.New("idp down") }))
	_, err = bad.ListGrants(bg, ListGrantsParams{})
	require.ErrorContains(t, err, "user token getter failed")
	_, err = bad.Request(bg, "GET", "https://x.example", RequestParams{Provider: "github"})
	require.ErrorContains(t, err, "user token getter failed")

	v.on("POST /sdk/grants/list", ok(`{"grants":[{"grant_kind":"other","grant_id":"x"}],"total":1,"limit":1,"offset":0,"has_more":false}`))
	_, err = app.ListGrants(bg, ListGrantsParams{})
	require.ErrorIs(t, err, ErrBackend)
}

// An Agent's missing grant is the actionable delegation error.
func TestAgentDelegationMissing(t *testing.T) {
	v := newFakeVault(t, agentKey)
	v.on("POST /sdk/token", reply{status: 404, body: `{"detail":{"error":"grant_not_found","message":"nope"}}`})
	ag := newTestAgent(t, v)
	_, err := ag.Request(bg, "GET", "https://api.example.com/x", RequestParams{GrantID: gid, UserToken: "user.jwt"})
	require.ErrorIs(t, err, ErrAgentDelegationMissing)
	require.ErrorIs(t, err, ErrGrantNotFound)
	m := v.last("POST /sdk/token").JSON(t)
	require.Equal(t, "user.jwt", m["user_token"], "an Agent may send a user token to choose among its users")
}

// Local refusals happen before any I/O.
func TestLocalChecksBeforeAnyIO(t *testing.T) {
	v := newFakeVault(t, appKey)
	app := newTestApp(t, v)
	long := strings.Repeat("a", 65537)
	cases := map[string]RequestParams{
		"both selectors":      {GrantID: gid, Provider: "github"},
		"no selector":         {},
		"label without prov":  {GrantID: gid, Label: "l"},
		"app user w/o prov":   {GrantID: gid, AppUserID: "u"},
		"json and body":       {GrantID: gid, JSON: 1, Body: []byte("x")},
		"bad json":            {GrantID: gid, JSON: func() {}},
		"bad caller":          {GrantID: gid, Caller: "a\nb"},
		"context too big":     {GrantID: gid, Context: map[string]string{"k": strings.Repeat("v", 513)}},
		"missing placeholder": {GrantID: gid, PathParams: map[string]string{"other": "1"}},
		"bad placeholder key": {GrantID: gid, PathParams: map[string]string{"a-b": "1"}},
	}
	for name, p := range cases {
		u := "https://api.example.com/{id}"
		if name != "missing placeholder" && name != "bad placeholder key" {
			u = "https://api.example.com/x"
		}
		_, err := app.Request(bg, "GET", u, p)
		require.ErrorIs(t, err, ErrInvalidInput, name)
	}
	for _, u := range []string{"http://api.example.com/x", "ftp://h/x", "https:///x", "https://h:99999/x", "https://h/" + long} {
		_, err := app.Request(bg, "GET", u, RequestParams{GrantID: gid})
		require.ErrorIs(t, err, ErrInvalidInput, u)
	}
	_, err := app.Request(bg, "", "https://h/x", RequestParams{GrantID: gid})
	require.ErrorIs(t, err, ErrInvalidInput)
	_, err = app.ProxyRequest(bg, "GET", "https://h/x", ProxyParams{GrantID: gid, Account: "a"})
	require.ErrorIs(t, err, ErrAccountWithoutProvider, "proxy refuses Account without Provider")
	_, err = app.ProxyRequest(bg, "GET", "https://h/x", ProxyParams{GrantID: gid, Header: http.Header{"Authorization": {"x"}}})
	require.ErrorIs(t, err, ErrForbiddenHeader)
	_, err = app.Request(bg, "GET", "https://h/x", RequestParams{GrantID: gid, Provider: "github"})
	require.ErrorIs(t, err, ErrGrantAndProvider)
	_, err = app.Request(bg, "GET", "https://h/x", RequestParams{})
	require.ErrorIs(t, err, ErrNoGrantSelector)
	for _, h := range []http.Header{{"X-A": {"1\r\n2"}}, {"X A": {"1"}}, {"X-A": {"a\x00"}}} {
		_, err = app.Request(bg, "GET", "https://h/x", RequestParams{GrantID: gid, Header: h})
		require.ErrorIs(t, err, ErrInvalidInput)
		require.NotContains(t, err.Error(), "1\r\n2")
	}
	_, err = app.ProxyRequest(bg, "GET", "https://h/x", ProxyParams{GrantID: gid, Header: http.Header{"X A": {"x"}}})
	require.ErrorIs(t, err, ErrInvalidInput)
	_, err = app.Request(WithTrace(bg, Trace{RunID: strings.Repeat("é", 513)}), "GET", "https://h/x", RequestParams{GrantID: gid})
	require.ErrorIs(t, err, ErrInvalidInput, "the Trace is checked like a context")
	require.Empty(t, v.requests())

	// Account with GrantID is ignored by Request, as the reference client does.
	v.on("POST /sdk/token", ok(tokenAns))
	app2 := newTestApp(t, v, WithProviderHTTPClient(&http.Client{Transport: okRT{}}))
	resp, err := app2.Request(bg, "GET", "https://h/x", RequestParams{GrantID: gid, Account: "a"})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.NotContains(t, string(v.last("POST /sdk/token").Body), "account")
}
