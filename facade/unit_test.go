package facade

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	alter "github.com/altersdk/alter-go"
	"github.com/altersdk/alter-go/gen"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 7 ", 7 * time.Second, true},
		{"604800", 7 * 24 * time.Hour, true},
		{"604801", 0, false},
		{"9227000000", 0, false}, // would overflow a Duration in nanoseconds
		{"99999999999999999999999", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"+3", 0, false},
		{"abc", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(30 * 24 * time.Hour).Format(http.TimeFormat), 0, false},
		{"Mon Jan  2 15:04:05 2006", 0, true}, // ANSI C date: in the past
		{"Mon, 02 Jan 2006 15:04:05 MST", 0, false},
	}
	for _, c := range cases {
		got, ok := parseRetryAfter(c.in, now)
		require.Equal(t, c.ok, ok, c.in)
		require.Equal(t, c.want, got, c.in)
	}
}

func TestBackoffCeilingsAndDefaults(t *testing.T) {
	r := newRetrier(RetryPolicy{InitialBackoff: time.Second, MaxBackoff: 5 * time.Second}, nil)
	r.rand = func() float64 { return 0.999999 }
	var got []time.Duration
	for n := 1; n <= 5; n++ {
		got = append(got, r.backoff(n).Round(time.Millisecond))
	}
	require.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}, got)
	r.rand = func() float64 { return 0 }
	require.Zero(t, r.backoff(3))
	require.Equal(t, DefaultRetryPolicy(), RetryPolicy{}.withDefaults())
	p := RetryPolicy{InitialBackoff: time.Minute, MaxBackoff: time.Second}.withDefaults()
	require.Equal(t, time.Minute, p.MaxBackoff, "MaxBackoff never below InitialBackoff")
	require.Equal(t, 0, RetryInfo{}.Retries())
}

func TestExpandURL(t *testing.T) {
	ok := []struct {
		tmpl   string
		params map[string]string
		query  url.Values
		want   string
	}{
		{"https://h.example/a", nil, nil, "https://h.example/a"},
		{"https://h.example/a/{x}", map[string]string{"x": "a/b"}, nil, "https://h.example/a/a%2Fb"},
		{"https://h.example/{x}/{x}", map[string]string{"x": "v"}, nil, "https://h.example/v/v"},
		{"https://h.example/a/{x}?keep=1", map[string]string{"x": "..."}, url.Values{"q": {"1 2"}}, "https://h.example/a/...?keep=1&q=1+2"},
		{"http://h.example:8080/{a};{b}", map[string]string{"a": "x;y", "b": "1,2"}, nil, "http://h.example:8080/x%3By;1%2C2"},
		{"https://h.example/{x}", map[string]string{"x": "é?#%"}, nil, "https://h.example/%C3%A9%3F%23%25"},
	}
	for _, c := range ok {
		u, err := expandURL(c.tmpl, c.params, c.query)
		require.NoError(t, err, c.tmpl)
		require.Equal(t, c.want, u.String(), c.tmpl)
	}
	bad := []struct {
		tmpl   string
		params map[string]string
	}{
		{"https://{host}/x", map[string]string{"host": "evil.com"}},
		{"https://h.example/x?q={v}", map[string]string{"v": "1&admin=1"}},
		{"https://h.example/x#{v}", map[string]string{"v": "1"}},
		{"https://h.example/{x}", map[string]string{"x": ""}},
		{"https://h.example/{x}", map[string]string{"x": "."}},
		{"https://h.example/{x}", map[string]string{}},
		{"https://h.example/{}", map[string]string{"": "a"}},
		{"https://h.example/a", map[string]string{"unused": "a"}},
		{"https://h.example/{x", map[string]string{"x": "a"}},
		{"https://h.example/x}", nil},
		{"h.example/x", nil},
		{"mailto:a@b", nil},
		{"https:///x", nil},
		{"https://u@h.example/x", nil},
		{"://", nil},
	}
	for _, c := range bad {
		_, err := expandURL(c.tmpl, c.params, nil)
		require.ErrorIs(t, err, ErrInvalidInput, c.tmpl)
	}
}

func TestScopeHeaders(t *testing.T) {
	p := authParams(`Bearer realm="api", error="insufficient_scope", scope="a b\"c", error_description=x`)
	require.Equal(t, map[string]string{"realm": "api", "error": "insufficient_scope", "scope": `a b"c`, "error_description": "x"}, p)
	require.Equal(t, map[string]string{}, authParams(`Basic`))
	require.Equal(t, map[string]string{"a": "1"}, authParams(`=x, a=1, "unterminated`))

	h := http.Header{"X-Accepted-Oauth-Scopes": {"repo, public_repo"}}
	got, ok := requiredScopes(h, []string{"read:org"})
	require.True(t, ok)
	require.Equal(t, []string{"repo", "public_repo"}, got)
	_, ok = requiredScopes(h, []string{"public_repo"})
	require.False(t, ok, "GitHub accepts any one of them")
	_, ok = requiredScopes(http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}, nil)
	require.False(t, ok)

	// GitHub's header through a whole Request.
	tok := &gen.TokenResponse{AccessToken: "secret-token", GrantID: uuid.New(), ProviderID: "github", Scopes: []string{"read:org"}}
	req, _ := http.NewRequest("GET", "https://api.github.com/orgs/x?token=secret-token", nil)
	res := &http.Response{StatusCode: 403, Header: h, Body: http.NoBody}
	err := providerError(req, res, tok, injection{secrets: []string{"secret-token"}})
	var se *ScopeReauthRequiredError
	require.ErrorAs(t, err, &se)
	require.Equal(t, []string{"repo", "public_repo"}, se.MissingScopes)
	require.NotContains(t, err.Error(), "secret-token")
}

func TestDecodeError(t *testing.T) {
	gid := uuid.New()
	h := http.Header{"X-Request-Id": {"req_h"}, "Retry-After": {"3"}}
	err := decodeError("op", 403, h, []byte(`{"error":{"code":"policy_violation","message":"no","details":{"grant_id":"`+gid.String()+
		`","agent_id":"bad","policy_error":"weekend","missing_scopes":["a"],"field":"f","retry_after_seconds":2,"upstream_status":500,"approval_id":"apr_1","provider_id":"p","required_scope":"s","key_id":"`+gid.String()+`"}},"request_id":"req_b"}`))
	var pv *PolicyViolationError
	require.ErrorAs(t, err, &pv)
	require.Equal(t, "weekend", pv.PolicyError)
	require.Equal(t, ErrorDetails{GrantID: gid, KeyID: gid, ApprovalID: "apr_1", ProviderID: "p", PolicyError: "weekend",
		MissingScopes: []string{"a"}, RequiredScope: "s", Field: "f", RetryAfter: 2 * time.Second, UpstreamStatus: 500}, pv.Details)
	require.Equal(t, "req_b", pv.RequestID)
	require.Equal(t, "alter: op: 403 policy_violation: no (request_id=req_b)", err.Error())

	err = decodeError("op", 429, h, []byte(`{"error":{"code":"rate_limited","message":"slow"}}`))
	var api *APIError
	require.ErrorAs(t, err, &api)
	require.Equal(t, 3*time.Second, api.Details.RetryAfter)
	require.Equal(t, "req_h", api.RequestID)

	for _, body := range []string{"", "<html>", `{"error":{}}`, `{"error":"x"}`, `[1]`, `{"error":{"code":""}}`, "\xff\xfe"} {
		err = decodeError("op", 429, h, []byte(body))
		require.ErrorIs(t, err, ErrUnexpectedResponse, body)
		require.ErrorIs(t, err, ErrRateLimited, body)
		require.NotErrorIs(t, err, ErrServer, body)
		require.ErrorAs(t, err, &api)
		require.Equal(t, 3*time.Second, api.Details.RetryAfter)
	}
	err = decodeError("op", 502, http.Header{}, []byte(strings.Repeat("x", 10000)))
	require.ErrorAs(t, err, &api)
	require.Len(t, api.Body, maxErrorBody)
	require.ErrorIs(t, err, ErrServer)
	require.Equal(t, "alter: op: 502: unexpected answer (not the JSON error envelope)", err.Error())
	require.NotErrorIs(t, decodeError("", 400, http.Header{}, nil), ErrServer)
	require.Equal(t, "alter: 400 invalid_request", (&APIError{StatusCode: 400, Code: "invalid_request"}).Error())
}

// Every code of the spec's ErrorCode enum has its categories.
func TestEveryErrorCodeIsMapped(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(alter.OpenAPI)
	require.NoError(t, err)
	enum := doc.Components.Schemas["ErrorCode"].Value.Enum
	require.NotEmpty(t, enum)
	for _, v := range enum {
		code := v.(string)
		cats, ok := codeCategories[code]
		require.True(t, ok, "unmapped code %s", code)
		err := error(&APIError{Code: code, StatusCode: 400})
		require.ErrorIs(t, err, ErrBackend)
		for _, c := range cats {
			require.ErrorIs(t, err, c, code)
		}
	}
	require.Len(t, codeCategories, len(enum))
	// The local rule and the vault's code share a sentinel.
	require.ErrorIs(t, &APIError{Code: "agent_user_token_not_allowed"}, ErrAgentUserToken)
	require.ErrorIs(t, &APIError{Code: "forbidden_header"}, ErrForbiddenHeader)
	require.NotErrorIs(t, &APIError{Code: "future_code"}, ErrNotFound)
	require.ErrorIs(t, &APIError{Code: "future_code"}, ErrBackend)
}

func TestErrorTypes(t *testing.T) {
	ne := &NetworkError{Op: "op", Err: context.DeadlineExceeded}
	require.ErrorIs(t, ne, ErrTimeout)
	require.ErrorIs(t, ne, ErrNetwork)
	require.Equal(t, "alter: op: context deadline exceeded", ne.Error())
	require.NotErrorIs(t, &NetworkError{Op: "op", Err: errors.New("x")}, ErrTimeout)
	ie := &InputError{Reason: "r"}
	require.Equal(t, "alter: invalid input: r", ie.Error())
	require.Nil(t, ie.Unwrap())
	ge := &tokenGetterError{err: errors.New("boom")}
	require.Equal(t, "alter: user token getter: boom", ge.Error())
	require.ErrorIs(t, &approvalTimeoutError{id: "apr_1", after: time.Second}, ErrApprovalTimeout)
	require.Equal(t, "alter: approval apr_1 still undecided after 1s", (&approvalTimeoutError{id: "apr_1", after: time.Second}).Error())
	require.ErrorIs(t, transportErr("x", &url.Error{Op: "Get", URL: "https://h/p?secret=1", Err: errors.New("refused")}), ErrNetwork)
	require.Equal(t, "alter: x: Get \"https://h/p\": refused", transportErr("x", &url.Error{Op: "Get", URL: "https://u:p@h/p?secret=1#f", Err: errors.New("refused")}).Error())
	require.Equal(t, "(invalid URL)", redactURL("%zz"))
}

func TestTraceNesting(t *testing.T) {
	require.Equal(t, Trace{}, TraceFrom(bg))
	ctx := WithTrace(bg, Trace{RunID: "r", ThreadID: "t"})
	inner := WithTrace(ctx, Trace{ThreadID: "t2", ToolCallID: "c"})
	require.Equal(t, Trace{RunID: "r", ThreadID: "t2", ToolCallID: "c"}, TraceFrom(inner))
	require.Equal(t, Trace{RunID: "r", ThreadID: "t"}, TraceFrom(ctx), "outer ctx unchanged")
	require.ErrorIs(t, Trace{ToolCallID: strings.Repeat("x", 257)}.validate(), ErrInvalidInput)
}

func TestInjectionInstructionsRefused(t *testing.T) {
	base := func() *gen.TokenResponse {
		return &gen.TokenResponse{AccessToken: "tok-secret", InjectionHeader: "Authorization", InjectionFormat: "Bearer {token}"}
	}
	cases := map[string]func(*gen.TokenResponse){
		"bad header name": func(t *gen.TokenResponse) { t.InjectionHeader = "Bad Header" },
		"CRLF in value":   func(t *gen.TokenResponse) { t.AccessToken = "a\r\nX-Evil: 1" },
		"unknown source": func(t *gen.TokenResponse) {
			t.AdditionalInjections = []gen.AdditionalInjection{{Target: "header", Key: "X", ValueSource: "nope"}}
		},
		"missing extra": func(t *gen.TokenResponse) {
			t.AdditionalInjections = []gen.AdditionalInjection{{Target: "header", Key: "X", ValueSource: "additional_credentials.k"}}
		},
		"unknown target": func(t *gen.TokenResponse) {
			t.AdditionalInjections = []gen.AdditionalInjection{{Target: "body", Key: "X", ValueSource: "access_token"}}
		},
		"bad extra header": func(t *gen.TokenResponse) {
			t.AdditionalInjections = []gen.AdditionalInjection{{Target: "header", Key: "X Y", ValueSource: "access_token"}}
		},
	}
	for name, mut := range cases {
		tok := base()
		mut(tok)
		req, _ := http.NewRequest("GET", "https://api.example/x", nil)
		_, err := inject(req, tok)
		require.ErrorIs(t, err, ErrBackend, name)
		require.NotContains(t, err.Error(), "tok-secret", name)
	}
	// A downgrade to http is leaving the origin.
	orig, _ := url.Parse("https://api.example/x")
	r2, _ := http.NewRequest("GET", "http://api.example/y", nil)
	require.True(t, leftOrigin(orig, r2, nil))
	r3, _ := http.NewRequest("GET", "https://API.example/y", nil)
	require.False(t, leftOrigin(orig, r3, []*http.Request{r3}))
}

func TestSmallHelpers(t *testing.T) {
	require.Equal(t, "alter_key_app_…", keyPrefix("alter_key_app_secret"))
	require.Equal(t, "…", keyPrefix("other"))
	require.True(t, ApprovalFailed.Terminal())
	require.False(t, ApprovalExecuting.Terminal())
	ttl, req := 120, true
	attrs := gen.StringMap{"a": "b"}
	name := "Bot"
	rev := time.Unix(10, 0)
	ai := agentInfoFrom(gen.AgentInfo{ID: uuid.New(), DisplayName: &name, RevokedAt: &rev,
		Policy: &gen.AgentPolicy{ApprovalTTLSeconds: &ttl, RequireApproval: &req, Attributes: &attrs}})
	require.Equal(t, AgentPolicy{RequireApproval: true, ApprovalTTL: 2 * time.Minute, Attributes: map[string]string{"a": "b"}}, ai.Policy)
	require.Equal(t, "Bot", ai.DisplayName)
	require.Equal(t, rev, ai.RevokedAt)
	require.Equal(t, "ab", clip("abc", 2))
	require.ErrorIs(t, checkContext("c", map[string]string{"": "v"}), ErrInvalidInput)
	require.ErrorIs(t, checkContext("c", map[string]string{"k\n": "v"}), ErrInvalidInput)
	require.NoError(t, sleep(bg, 0))
}
