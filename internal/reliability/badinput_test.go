package reliability

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// Every case is refused locally: a typed error (ErrInvalidInput, plus the rule's own sentinel
// where there is one) and no request reached the vault or the upstream. The cases are what
// alter-sdk 0.29.0 refuses locally plus what Go can refuse before any I/O (a header value
// net/http would not send); what 0.29.0 leaves to the vault is the vault's.
func TestBadInputRefusedBeforeNetwork(t *testing.T) {
	e := newEnv(t, nil)
	gid, _ := e.grant(t, vaulttest.OAuthGrant{})
	ag := e.s.AddAgent("bad-input-agent")
	agent, err := facade.NewAgent(ag.APIKey, facade.WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	defer agent.Close()
	user := e.s.AddUser("alice")
	appKey, agentKey := e.s.AppKey(), ag.APIKey
	base := facade.WithBaseURL(e.s.URL())
	up := e.up.URL()
	crlf := "x\r\nX-Injected: 1"

	newApp := func(key string, opts ...facade.Option) error {
		app, err := facade.NewApp(key, append([]facade.Option{base}, opts...)...)
		if err == nil {
			_ = app.Close()
		}
		return err
	}
	newAgent := func(key string, opts ...facade.Option) error {
		a, err := facade.NewAgent(key, append([]facade.Option{base}, opts...)...)
		if err == nil {
			_ = a.Close()
		}
		return err
	}
	req := func(method, u string, p facade.RequestParams) error {
		if p.GrantID == uuid.Nil && p.Provider == "" {
			p.GrantID = gid
		}
		_, err := get2(e.app, bg, method, u, p)
		return err
	}
	type tc struct {
		name string
		call func() error
		rule error // the specific sentinel, besides ErrInvalidInput (nil: none)
	}
	cases := []tc{
		// Keys.
		{"empty key", func() error { return newApp("") }, facade.ErrMissingAPIKey},
		{"blank key", func() error { return newApp(" \t ") }, nil},
		{"key with CRLF", func() error { return newApp(appKey + "\r\nX-Injected: 1") }, nil},
		{"key with NUL", func() error { return newAgent(agentKey + "\x00") }, nil},
		// Options.
		{"WithCaller CRLF", func() error { return newApp(appKey, facade.WithCaller(crlf)) }, nil},
		{"WithCallerType unknown", func() error { return newApp(appKey, facade.WithCallerType("robot")) }, nil},
		{"WithCallerType on an Agent", func() error { return newAgent(agentKey, facade.WithCallerType(facade.CallerTypeService)) }, facade.ErrCallerTypeOnAgent},
		{"WithTimeout zero", func() error { return newApp(appKey, facade.WithTimeout(0)) }, nil},
		{"WithHTTPClient nil", func() error { return newApp(appKey, facade.WithHTTPClient(nil)) }, nil},
		// Base URLs.
		{"base URL empty", func() error { return newApp(appKey, facade.WithBaseURL("")) }, nil},
		{"base URL relative", func() error { return newApp(appKey, facade.WithBaseURL("/v1")) }, nil},
		{"base URL ftp", func() error { return newApp(appKey, facade.WithBaseURL("ftp://vault.example/v1")) }, nil},
		{"base URL javascript", func() error { return newApp(appKey, facade.WithBaseURL("javascript:alert(1)")) }, nil},
		{"base URL without host", func() error { return newApp(appKey, facade.WithBaseURL("http:///v1")) }, nil},
		{"base URL control char", func() error { return newApp(appKey, facade.WithBaseURL("http://vault\x7f.example/v1")) }, nil},
		// UUIDs.
		{"GetAgent nil UUID", func() error { _, err := e.app.GetAgent(uuid.Nil); return err }, nil},
		{"Agents.Get nil UUID", func() error { _, err := e.app.Agents().Get(bg, uuid.Nil); return err }, nil},
		// Upstream URLs.
		{"URL empty", func() error { return req("GET", "", facade.RequestParams{}) }, nil},
		{"URL relative", func() error { return req("GET", "/repos/x", facade.RequestParams{}) }, nil},
		{"URL ftp", func() error { return req("GET", "ftp://files.example/x", facade.RequestParams{}) }, nil},
		{"URL javascript", func() error { return req("GET", "javascript:alert(1)", facade.RequestParams{}) }, nil},
		{"URL mailto", func() error { return req("GET", "mailto:a@b.example", facade.RequestParams{}) }, nil},
		{"URL without host", func() error { return req("GET", "http:///x", facade.RequestParams{}) }, nil},
		{"URL with CRLF", func() error { return req("GET", up+"/x\r\nHost: evil", facade.RequestParams{}) }, nil},
		{"placeholder in host", func() error {
			return req("GET", "http://{host}/x", facade.RequestParams{PathParams: map[string]string{"host": "evil.example"}})
		}, nil},
		// Header injection (CR/LF and other control characters).
		{"upstream header value CRLF", func() error {
			return req("GET", up+"/x", facade.RequestParams{Header: http.Header{"X-Note": {crlf}}})
		}, nil},
		{"upstream header name with space", func() error {
			return req("GET", up+"/x", facade.RequestParams{Header: http.Header{"X Note": {"v"}}})
		}, nil},
		{"agent create idempotency key CRLF", func() error {
			_, err := e.app.Agents().Create(bg, facade.AgentCreateParams{Name: "x", IdempotencyKey: crlf})
			return err
		}, nil},
		// Path parameters.
		{"path param missing", func() error { return req("GET", up+"/repos/{id}", facade.RequestParams{}) }, nil},
		// Grant selection and identity rules.
		{"GrantID and Provider", func() error {
			return req("GET", up+"/x", facade.RequestParams{GrantID: gid, Provider: "github", UserToken: user.Token})
		}, facade.ErrGrantAndProvider},
		{"neither GrantID nor Provider", func() error {
			_, err := get2(e.app, bg, "GET", up+"/x", facade.RequestParams{})
			return err
		}, facade.ErrNoGrantSelector},
		{"proxy Account without Provider", func() error {
			_, err := e.app.ProxyRequest(bg, "GET", up+"/x", facade.ProxyParams{GrantID: gid, Account: "a@example.com"})
			return err
		}, facade.ErrAccountWithoutProvider},
		{"Label without Provider", func() error {
			return req("GET", up+"/x", facade.RequestParams{GrantID: gid, Label: "work"})
		}, nil},
		{"AppUserID without Provider", func() error {
			return req("GET", up+"/x", facade.RequestParams{GrantID: gid, AppUserID: "u-1"})
		}, nil},
		// Methods.
		{"method empty", func() error { return req("", up+"/x", facade.RequestParams{}) }, nil},
		{"method with a space", func() error { return req("GE T", up+"/x", facade.RequestParams{}) }, nil},
		{"method with CRLF", func() error { return req("GET\r\n", up+"/x", facade.RequestParams{}) }, nil},
		// Bodies.
		{"JSON and Body", func() error { return req("POST", up+"/x", facade.RequestParams{JSON: 1, Body: []byte("x")}) }, nil},
		{"JSON not marshallable", func() error { return req("POST", up+"/x", facade.RequestParams{JSON: make(chan int)}) }, nil},
	}
	// Credential headers are refused in proxy mode, in any case.
	for _, h := range []string{"Authorization", "authorization", "COOKIE", "x-api-key", "X-Amz-Security-Token"} {
		cases = append(cases, tc{"proxy header " + h, func() error {
			_, err := e.app.ProxyRequest(bg, "GET", up+"/x", facade.ProxyParams{GrantID: gid, Header: http.Header{h: {"v"}}})
			return err
		}, facade.ErrForbiddenHeader})
	}
	require.GreaterOrEqual(t, len(cases), 30)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.s.ResetRequests()
			upBefore := len(e.up.Requests())
			err := c.call()
			require.ErrorIs(t, err, facade.ErrInvalidInput)
			var ie *facade.InputError
			require.ErrorAs(t, err, &ie)
			if c.rule != nil {
				require.ErrorIs(t, err, c.rule)
			}
			require.Empty(t, e.s.Requests(), "no vault request")
			require.Len(t, e.up.Requests(), upBefore, "no upstream request")
		})
	}
}

// Values that look like traversal are escaped into one path segment, not refused: the upstream
// sees them as data and the path never climbs.
func TestPathParamsNeverTraverse(t *testing.T) {
	e := newEnv(t, nil)
	gid, _ := e.grant(t, vaulttest.OAuthGrant{})
	for v, want := range map[string]string{
		"../admin":      "/repos/..%2Fadmin/x",
		"a/b":           "/repos/a%2Fb/x",
		"%2e%2e":        "/repos/%252e%252e/x",
		"..%2f..%2fetc": "/repos/..%252f..%252fetc/x",
		"a?b#c":         "/repos/a%3Fb%23c/x",
	} {
		resp, err := get2(e.app, bg, "get", e.up.URL()+"/repos/{id}/x", facade.RequestParams{GrantID: gid, PathParams: map[string]string{"id": v}})
		require.NoError(t, err, v)
		resp.Body.Close()
		require.Equal(t, want, resp.Request.URL.EscapedPath(), v)
		got := e.up.Requests()
		require.True(t, strings.HasPrefix(got[len(got)-1].Path, "/repos/"), v)
		require.Equal(t, "GET", got[len(got)-1].Method, "lowercase methods are normalised")
	}
}

// Ids given to vault calls are escaped into one path segment or a query value: a traversal is
// data the vault answers (404 here), never another route.
func TestVaultIDsNeverTraverse(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.app.GetApprovalStatus(bg, "apr_../../admin")
	require.ErrorIs(t, err, facade.ErrBackend)
	_, found, err := e.app.Agents().GetByName(bg, "../admin")
	require.NoError(t, err)
	require.False(t, found)
	var paths []string
	for _, r := range e.s.Requests() {
		paths = append(paths, r.Path+"?"+r.Query)
	}
	require.Equal(t, []string{"/sdk/approvals/apr_..%2F..%2Fadmin?", "/sdk/agents?name=..%2Fadmin"}, paths)
}

// Audit context values with control characters are JSON-escaped into X-Alter-Context: the
// header carries no raw CR, LF or NUL, and the vault reads back the exact values.
func TestContextControlCharsEscapedOnTheWire(t *testing.T) {
	e := newEnv(t, nil)
	gid, _ := e.grant(t, vaulttest.OAuthGrant{})
	ctx := facade.WithTrace(bg, facade.Trace{RunID: "x\r\nX-Injected: 1", ToolCallID: "t\x00"})
	resp, err := get(e.app, ctx, e.up.URL()+"/x", facade.RequestParams{GrantID: gid})
	require.NoError(t, err)
	require.NotNil(t, resp)
	require.NoError(t, e.app.Close())
	rs := requestsFor(e.s, "retrieveToken")
	require.Len(t, rs, 1)
	h := rs[0].Header.Values("X-Alter-Context")
	require.Len(t, h, 1)
	require.NotContains(t, h[0], "\r")
	require.NotContains(t, h[0], "\n")
	require.NotContains(t, h[0], "\x00")
	require.Empty(t, rs[0].Header.Get("X-Injected"))
	var rows int
	for _, r := range e.s.AuditRows() {
		if r.Operation == "recordApiCall" {
			rows++
			require.Equal(t, "x\r\nX-Injected: 1", r.RunID)
			require.Equal(t, "t\x00", r.ToolCallID)
		}
	}
	require.Equal(t, 1, rows)
}

func get2(c interface {
	Request(context.Context, string, string, facade.RequestParams) (*facade.Response, error)
}, ctx context.Context, method, u string, p facade.RequestParams) (*facade.Response, error) {
	return c.Request(ctx, method, u, p)
}
