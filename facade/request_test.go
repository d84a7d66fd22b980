package facade

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// provider is a loopback provider API that records what it received.
type provider struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func newProvider(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *provider {
	p := &provider{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.reqs = append(p.reqs, r.Clone(r.Context()))
		p.body = append(p.body, b)
		p.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Set-Cookie", "s=1")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *provider) last(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	require.NotEmpty(t, p.reqs, "the provider got no request")
	return p.reqs[len(p.reqs)-1], p.body[len(p.body)-1]
}

func (p *provider) count() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.reqs) }

func tokenWith(extra string) string {
	return `{"access_token":"cred-secret-123","grant_id":"` + gidStr + `","provider_id":"github","scopes":["repo"]` + extra + `}`
}

func TestRequestInjectsAndAudits(t *testing.T) {
	prov := newProvider(t, nil)
	v := newFakeVault(t, appKey)
	v.on("POST /sdk/token", reply{status: 200, header: http.Header{"X-Alter-Actor-Id": {actorStr}}, body: tokenWith(
		`,"token_generation":"` + keyStr + `","injection_header":"X-Api-Token","injection_format":"Token {token}",` +
			`"additional_credentials":{"org":"org-42"},"additional_injections":[` +
			`{"target":"header","key":"X-Org","value_source":"additional_credentials.org"},` +
			`{"target":"query_param","key":"api_key","value_source":"token"}],` +
			`"retry_info":{"total_attempts":2,"successful_attempt":2,"errors":[{"attempt":1,"error":"boom","error_type":"timeout","delay_s":0.5}]}`)})
	app := newTestApp(t, v, WithCaller("billing-cron"))

	ctx := WithTrace(bg, Trace{RunID: "r1", ToolCallID: "tc"})
	resp, err := app.Request(ctx, "post", prov.URL+"/v1/{id}?keep=1", RequestParams{GrantID: gid,
		PathParams: map[string]string{"id": "a b"}, Query: url.Values{"q": {"1"}}, Header: http.Header{"X-Custom": {"1"}},
		JSON: map[string]any{"html": "<&>", "n": 1}, Reason: "sync"})
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.JSONEq(t, `{"ok":true}`, string(b))
	require.Equal(t, gid, resp.GrantID)
	require.Equal(t, "github", resp.ProviderID)
	require.Equal(t, &RetryInfo{TotalAttempts: 2, SuccessfulAttempt: 2, Errors: []RetryError{{Attempt: 1, Error: "boom",
		ErrorType: "timeout", Delay: 500e6}}}, resp.RetryInfo)
	require.Equal(t, resp.RetryInfo, app.LastRetryInfo())

	r, body := prov.last(t)
	require.Equal(t, "POST", r.Method)
	require.Equal(t, "/v1/a%20b", r.URL.EscapedPath())
	require.Equal(t, url.Values{"q": {"1"}, "api_key": {"cred-secret-123"}}, r.URL.Query(), "Query and the injected parameter replace the inline query")
	require.Equal(t, "Token cred-secret-123", r.Header.Get("X-Api-Token"))
	require.Equal(t, "org-42", r.Header.Get("X-Org"))
	require.Equal(t, "1", r.Header.Get("X-Custom"))
	require.Equal(t, "alter-sdk-go/"+Version, r.Header.Get("User-Agent"))
	require.Equal(t, "application/json", r.Header.Get("Content-Type"))
	require.Empty(t, r.Header.Get("x-api-key"), "the vault key never travels to the provider")
	for k := range r.Header {
		require.False(t, strings.HasPrefix(strings.ToLower(k), "x-alter-"), k)
	}
	require.Equal(t, `{"html":"<&>","n":1}`, string(body))

	tok := v.last("POST /sdk/token")
	compactEq(t, `{"grant_id":"`+gidStr+`","reason":"sync","request":{"method":"POST","url":"`+prov.URL+`/v1/a%20b?keep=1"}}`, tok.Body)
	require.Equal(t, `{"run_id":"r1","tool_call_id":"tc"}`, tok.Header.Get("X-Alter-Context"))

	require.NoError(t, app.Close()) // drains the audit post
	audit := v.last("POST /sdk/oauth/audit/api-call")
	require.NoError(t, audit.SigErr)
	require.Equal(t, "billing-cron", audit.Header.Get("X-Alter-Caller"))
	require.Equal(t, actorStr, audit.Header.Get("X-Alter-Actor-ID"))
	require.Equal(t, `{"run_id":"r1","tool_call_id":"tc"}`, audit.Header.Get("X-Alter-Context"))
	a := audit.JSON(t)
	require.Equal(t, gidStr, a["grant_id"])
	require.Equal(t, "github", a["provider_id"])
	require.Equal(t, keyStr, a["token_generation"])
	require.Equal(t, "POST", a["method"])
	require.Equal(t, prov.URL+"/v1/a%20b?keep=1", a["url"], "the URL the credential was asked for, without Query")
	require.Equal(t, map[string]any{"html": "<&>", "n": float64(1)}, a["request_body"])
	require.Equal(t, float64(200), a["response_status"])
	require.Equal(t, `{"ok":true}`, a["response_body"])
	require.Equal(t, "sync", a["reason"])
	require.Equal(t, map[string]any{"run_id": "r1", "tool_call_id": "tc"}, a["context"])
	rh := a["request_headers"].(map[string]any)
	require.Equal(t, "1", rh["X-Custom"])
	require.NotContains(t, rh, "X-Api-Token")
	require.NotContains(t, rh, "X-Org")
	require.NotContains(t, rh, "Content-Type", "the Content-Type implied by JSON is not audited, as in 0.29.0")
	resph := a["response_headers"].(map[string]any)
	require.Equal(t, "application/json", resph["content-type"])
	require.NotContains(t, resph, "set-cookie")
	keys := make([]string, 0)
	dec := json.NewDecoder(strings.NewReader(string(audit.Body)))
	_, _ = dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		_ = dec.Decode(&skip)
	}
	require.Equal(t, []string{"grant_id", "provider_id", "token_generation", "method", "url", "request_headers", "request_body",
		"response_status", "response_headers", "response_body", "latency_ms", "reason", "context"}, keys)
	noSecrets(t, string(audit.Body), "cred-secret-123", "org-42")
}

// A per-call Caller replaces the caller on the credential fetch, sends no actor id and caches
// none; the audit record still names the client's caller.
func TestRequestCallerOverride(t *testing.T) {
	prov := newProvider(t, nil)
	v := newFakeVault(t, appKey)
	v.on("POST /sdk/token", reply{status: 200, header: http.Header{"X-Alter-Actor-Id": {actorStr}}, body: tokenWith("")})
	app := newTestApp(t, v, WithCaller("billing-cron"))
	resp, err := app.Request(bg, "GET", prov.URL+"/x", RequestParams{GrantID: gid, Caller: "sub-agent"})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, app.Close())
	tok := v.last("POST /sdk/token")
	require.Equal(t, "sub-agent", tok.Header.Get("X-Alter-Caller"))
	require.Equal(t, "service", tok.Header.Get("X-Alter-Caller-Type"))
	require.Empty(t, tok.Header.Get("X-Alter-Actor-ID"))
	require.NoError(t, tok.SigErr)
	require.Equal(t, "00000000-0000-0000-0000-000000000000", app.ActorID().String(), "not cached from an override's answer")
	audit := v.last("POST /sdk/oauth/audit/api-call")
	require.Equal(t, "billing-cron", audit.Header.Get("X-Alter-Caller"))
}

// The provider's errors, each typed, none holding the credential in any form of the value.
func TestRequestProviderErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		header http.Header
		token  string
		is     error
		report bool
	}{
		{"insufficient scope", 403, http.Header{"Www-Authenticate": {`Bearer error="insufficient_scope", scope="repo admin"`}}, "", ErrScopeReauthRequired, true},
		{"backend flag", 403, nil, `,"scope_mismatch":true`, ErrScopeReauthRequired, false},
		{"unauthorized", 401, http.Header{"Www-Authenticate": {`Bearer error="invalid_token"`}}, "", ErrProviderUnauthorized, false},
		{"other", 500, nil, "", ErrProviderAPI, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prov := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
				for k, vs := range tc.header {
					w.Header()[k] = vs
				}
				w.Header().Set("Authorization", r.Header.Get("Authorization")) // an echoing provider
				w.Header().Set("X-Echo", r.Header.Get("Authorization"))
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(`{"error":"nope","seen":"` + r.Header.Get("Authorization") + `"}`))
			})
			v := newFakeVault(t, appKey)
			v.on("POST /sdk/token", ok(tokenWith(tc.token+`,"additional_injections":[{"target":"query_param","key":"k","value_source":"token"}]`)))
			app := newTestApp(t, v)
			_, err := app.Request(bg, "GET", prov.URL+"/x", RequestParams{GrantID: gid})
			require.ErrorIs(t, err, tc.is)
			require.ErrorIs(t, err, ErrProviderAPI)
			var pe *ProviderAPIError
			require.True(t, errors.As(err, &pe))
			require.Equal(t, tc.status, pe.Status)
			require.Empty(t, pe.Header.Get("Authorization"))
			require.Equal(t, `{"error":"nope","seen":"Bearer [REDACTED]"}`, pe.Body)
			require.Equal(t, "Bearer [REDACTED]", pe.Header.Get("X-Echo"))
			var logs bytes.Buffer
			slog.New(slog.NewJSONHandler(&logs, nil)).Error("call failed", "err", err, "provider_error", pe)
			for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%v", pe.Header), pe.URL, logs.String()} {
				noSecrets(t, s, "cred-secret-123", appKey)
			}
			require.NoError(t, app.Close())
			if tc.report {
				rep := v.last("POST /sdk/grants/" + gidStr + "/report-scope-mismatch")
				m := rep.JSON(t)
				require.Equal(t, float64(403), m["provider_status_code"])
				require.Equal(t, "insufficient_scope", m["provider_error_code"])
				require.Equal(t, []any{"repo", "admin"}, m["missing_scopes"])
				require.Equal(t, `Bearer error="insufficient_scope", scope="repo admin"`, m["raw_www_authenticate"])
				require.Equal(t, prov.URL+"/x", m["api_endpoint"])
				require.Equal(t, "www_authenticate_rfc6750", m["detection_source"])
				require.Len(t, m["sdk_correlation_id"], 22)
				require.Empty(t, rep.Header.Get("X-Alter-Actor-ID"))
				require.Empty(t, rep.Header.Get("X-Alter-Context"))
			} else {
				require.Zero(t, v.count("POST /sdk/grants/"+gidStr+"/report-scope-mismatch"))
			}
		})
	}
}

// Every way a request could leave for another host, and how each is closed:
//   - a provider redirect: never followed (CheckRedirect returns the 3xx), so neither the
//     credential nor a Referer reaches the Location host;
//   - a vault redirect: never followed either, so the API key stays with the vault host;
//   - the provider request is built fresh: no x-api-key, no X-Alter-* header;
//   - the audit record and errors carry no credential (checked in the tests above).
func TestNoRequestLeavesForAnotherHost(t *testing.T) {
	other := newProvider(t, nil)
	prov := newProvider(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/stolen", http.StatusFound)
	})
	v := newFakeVault(t, appKey)
	v.on("POST /sdk/token", ok(tokenWith("")))
	app := newTestApp(t, v)
	resp, err := app.Request(bg, "GET", prov.URL+"/x", RequestParams{GrantID: gid})
	require.NoError(t, err, "a 3xx is an answer")
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.Equal(t, other.URL+"/stolen", resp.Header.Get("Location"))
	require.Zero(t, other.count(), "the redirect target got nothing")

	// A vault that redirects: the 3xx is not followed and the token call fails as malformed.
	vaultSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/sdk/token", http.StatusTemporaryRedirect)
	}))
	defer vaultSrv.Close()
	app2, err := NewApp(appKey, WithBaseURL(vaultSrv.URL))
	require.NoError(t, err)
	defer app2.Close()
	_, err = app2.Request(bg, "GET", prov.URL+"/x", RequestParams{GrantID: gid})
	require.ErrorIs(t, err, ErrBackend)
	require.Zero(t, other.count(), "the key never reached the redirect target")
}

// The token answer is checked before the credential is used; a bad one is a backend error
// that never holds the credential, and nothing reaches the provider.
func TestTokenAnswerValidation(t *testing.T) {
	bad := map[string]string{
		"not json":               `nope`,
		"no access token":        `{"grant_id":"` + gidStr + `"}`,
		"CRLF in token":          `{"access_token":"cred-secret-123\r\n","grant_id":"` + gidStr + `"}`,
		"upper-case grant id":    `{"access_token":"cred-secret-123","grant_id":"` + strings.ToUpper(actorStr) + `"}`,
		"token_type null":        tokenWith(`,"token_type":null`),
		"token_type spaces":      tokenWith(`,"token_type":" Bearer"`),
		"expires_in float":       tokenWith(`,"expires_in":1.5`),
		"expires_in negative":    tokenWith(`,"expires_in":-1`),
		"expires_in exponent":    tokenWith(`,"expires_in":1e3`),
		"expires_in over int64":  tokenWith(`,"expires_in":9223372036854775808`),
		"expires_in string":      tokenWith(`,"expires_in":"60"`),
		"expires_at no offset":   tokenWith(`,"expires_at":"2026-01-01T00:00:00"`),
		"expires_at minute 60":   tokenWith(`,"expires_at":"2026-01-01T00:00:00+00:60"`),
		"scopes blank":           tokenWith(`,"scopes":[""]`),
		"provider_id null":       tokenWith(`,"provider_id":null`),
		"token_generation upper": tokenWith(`,"token_generation":"` + strings.ToUpper(actorStr) + `"`),
		"scope_mismatch string":  tokenWith(`,"scope_mismatch":"true"`),
		"forbidden header":       tokenWith(`,"injection_header":"Cookie"`),
		"header pattern":         tokenWith(`,"injection_header":"X Token"`),
		"format without token":   tokenWith(`,"injection_format":"Bearer"`),
		"format CRLF":            tokenWith(`,"injection_format":"Bearer {token}\n"`),
		"extra blank":            tokenWith(`,"additional_credentials":{"a":" "}`),
		"rule extra key":         tokenWith(`,"additional_injections":[{"target":"header","key":"X-A","value_source":"token","x":1}]`),
		"rule target":            tokenWith(`,"additional_injections":[{"target":"body","key":"X-A","value_source":"token"}]`),
		"rule forbidden":         tokenWith(`,"additional_injections":[{"target":"header","key":"Host","value_source":"token"}]`),
		"rule source":            tokenWith(`,"additional_injections":[{"target":"header","key":"X-A","value_source":"secret"}]`),
		"sigv4":                  tokenWith(`,"injection_format":"AWS4-HMAC-SHA256 x","additional_credentials":{"secret_key":"s"}`),
	}
	prov := newProvider(t, nil)
	for name, ans := range bad {
		t.Run(name, func(t *testing.T) {
			v := newFakeVault(t, appKey)
			v.on("POST /sdk/token", ok(ans))
			app := newTestApp(t, v)
			_, err := app.Request(bg, "GET", prov.URL+"/x", RequestParams{GrantID: gid})
			require.ErrorIs(t, err, ErrBackend)
			noSecrets(t, fmt.Sprintf("%v %+v %#v", err, err, err), "cred-secret-123")
		})
	}
	require.Zero(t, prov.count())

	// Accepted: defaults, nulls where allowed, a malformed retry_info ignored, and an AWS
	// format without credentials sent as it is.
	good := []string{
		tokenWith(`,"expires_in":null,"expires_at":"2026-01-01T00:00:00.123456789Z","additional_credentials":null,"additional_injections":null`),
		tokenWith(`,"retry_info":{"total_attempts":"x"}`),
		tokenWith(`,"expires_in":9223372036854775807`),
		tokenWith(`,"expires_in":-0`),
		tokenWith(`,"injection_format":"AWS4-HMAC-SHA256 Credential={token}","unknown":1`),
	}
	for _, ans := range good {
		v := newFakeVault(t, appKey)
		v.on("POST /sdk/token", ok(ans))
		app := newTestApp(t, v)
		resp, err := app.Request(bg, "GET", prov.URL+"/x", RequestParams{GrantID: gid})
		require.NoError(t, err, ans)
		require.Nil(t, resp.RetryInfo)
		require.NoError(t, resp.Body.Close())
	}
}
