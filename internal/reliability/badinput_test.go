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
// where there is one) and no request reached the vault or the upstream.
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
		{"blank key", func() error { return newApp(" \t ") }, facade.ErrMissingAPIKey},
		{"agent key to NewApp", func() error { return newApp(agentKey) }, facade.ErrWrongKeyKind},
		{"App key to NewAgent", func() error { return newAgent(appKey) }, facade.ErrWrongKeyKind},
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
		{"Agents.GetByName traversal", func() error { _, _, err := e.app.Agents().GetByName(bg, "../admin"); return err }, nil},
		{"approval id traversal", func() error { _, err := e.app.GetApprovalStatus(bg, "apr_../../admin"); return err }, nil},
		// Upstream URLs.
		{"URL empty", func() error { return req("GET", "", facade.RequestParams{}) }, nil},
		{"URL relative", func() error { return req("GET", "/repos/x", facade.RequestParams{}) }, nil},
		{"URL ftp", func() error { return req("GET", "ftp://files.example/x", facade.RequestParams{}) }, nil},
		{"URL javascript", func() error { return req("GET", "javascript:alert(1)", facade.RequestParams{}) }, nil},
		{"URL mailto", func() error { return req("GET", "mailto:a@b.example", facade.RequestParams{}) }, nil},
		{"URL without host", func() error { return req("GET", "http:///x", facade.RequestParams{}) }, nil},
		{"URL with CRLF", func() error { return req("GET", up+"/x\r\nHost: evil", facade.RequestParams{}) }, nil},
		{"URL with userinfo", func() error {
			return req("GET", "http://user:pw@"+strings.TrimPrefix(up, "http://")+"/x", facade.RequestParams{})
		}, nil},
		{"placeholder in host", func() error {
			return req("GET", "http://{host}/x", facade.RequestParams{PathParams: map[string]string{"host": "evil.example"}})
		}, nil},
		// Header injection (CR/LF and other control characters).
		{"Reason CRLF", func() error { return req("GET", up+"/x", facade.RequestParams{Reason: crlf}) }, nil},
		{"Context value LF", func() error {
			return req("GET", up+"/x", facade.RequestParams{Context: map[string]string{"tool": "a\nb"}})
		}, nil},
		{"Context key CR", func() error {
			return req("GET", up+"/x", facade.RequestParams{Context: map[string]string{"to\rol": "a"}})
		}, nil},
		{"Trace run id CRLF", func() error {
			_, err := get2(e.app, facade.WithTrace(bg, facade.Trace{RunID: crlf}), "GET", up+"/x", facade.RequestParams{GrantID: gid})
			return err
		}, nil},
		{"Trace tool call id NUL", func() error {
			_, err := agent.Me(facade.WithTrace(bg, facade.Trace{ToolCallID: "t\x00"}))
			return err
		}, nil},
		{"Trace thread id on a vault-only call", func() error {
			_, err := e.app.ListProviders(facade.WithTrace(bg, facade.Trace{ThreadID: crlf}))
			return err
		}, nil},
		{"upstream header value CRLF", func() error {
			return req("GET", up+"/x", facade.RequestParams{Header: http.Header{"X-Note": {crlf}}})
		}, nil},
		{"upstream header name with space", func() error {
			return req("GET", up+"/x", facade.RequestParams{Header: http.Header{"X Note": {"v"}}})
		}, nil},
		{"proxy idempotency key CRLF", func() error {
			_, err := e.app.ProxyRequest(bg, "POST", up+"/x", facade.ProxyParams{GrantID: gid, IdempotencyKey: crlf})
			return err
		}, nil},
		{"agent create idempotency key CRLF", func() error {
			_, err := e.app.Agents().Create(bg, facade.AgentCreateParams{Name: "x", IdempotencyKey: crlf})
			return err
		}, nil},
		{"user token CRLF", func() error {
			return req("GET", up+"/x", facade.RequestParams{Provider: "github", UserToken: user.Token + "\r\nX-Injected: 1"})
		}, nil},
		// Path parameters that would change the path.
		{"path param ..", func() error {
			return req("GET", up+"/repos/{id}", facade.RequestParams{PathParams: map[string]string{"id": ".."}})
		}, nil},
		{"path param .", func() error {
			return req("GET", up+"/repos/{id}", facade.RequestParams{PathParams: map[string]string{"id": "."}})
		}, nil},
		{"path param empty", func() error {
			return req("GET", up+"/repos/{id}", facade.RequestParams{PathParams: map[string]string{"id": ""}})
		}, nil},
		{"path param missing", func() error { return req("GET", up+"/repos/{id}", facade.RequestParams{}) }, nil},
		{"path param unused", func() error {
			return req("GET", up+"/repos", facade.RequestParams{PathParams: map[string]string{"id": "1"}})
		}, nil},
		// Grant selection and identity rules.
		{"GrantID and Provider", func() error {
			return req("GET", up+"/x", facade.RequestParams{GrantID: gid, Provider: "github", UserToken: user.Token})
		}, facade.ErrGrantAndProvider},
		{"neither GrantID nor Provider", func() error {
			_, err := get2(e.app, bg, "GET", up+"/x", facade.RequestParams{})
			return err
		}, facade.ErrNoGrantSelector},
		{"Account without Provider", func() error {
			return req("GET", up+"/x", facade.RequestParams{GrantID: gid, Account: "a@example.com"})
		}, facade.ErrAccountWithoutProvider},
		{"Provider without a user token", func() error { return req("GET", up+"/x", facade.RequestParams{Provider: "github"}) }, facade.ErrUserTokenRequired},
		{"Agent with a user token", func() error {
			_, err := get2(agent, bg, "GET", up+"/x", facade.RequestParams{GrantID: gid, UserToken: user.Token})
			return err
		}, facade.ErrAgentUserToken},
		{"Agent selecting by Provider", func() error {
			_, err := get2(agent, bg, "GET", up+"/x", facade.RequestParams{Provider: "github"})
			return err
		}, facade.ErrUserTokenRequired},
		// Methods.
		{"method empty", func() error { return req("", up+"/x", facade.RequestParams{}) }, nil},
		{"method with a space", func() error { return req("GE T", up+"/x", facade.RequestParams{}) }, nil},
		{"method CONNECT", func() error { return req("CONNECT", up+"/x", facade.RequestParams{}) }, nil},
		{"method with CRLF", func() error { return req("GET\r\n", up+"/x", facade.RequestParams{}) }, nil},
		// Bodies.
		{"JSON and Body", func() error { return req("POST", up+"/x", facade.RequestParams{JSON: 1, Body: []byte("x")}) }, nil},
		{"JSON not marshallable", func() error { return req("POST", up+"/x", facade.RequestParams{JSON: make(chan int)}) }, nil},
		{"proxy body over 1 MiB", func() error {
			_, err := e.app.ProxyRequest(bg, "POST", up+"/x", facade.ProxyParams{GrantID: gid, Body: make([]byte, 1<<20+1)})
			return err
		}, nil},
		{"proxy JSON body over 1 MiB", func() error {
			_, err := e.app.ProxyRequest(bg, "POST", up+"/x", facade.ProxyParams{GrantID: gid, JSON: strings.Repeat("a", 1<<20)})
			return err
		}, nil},
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
			err := c.call()
			require.ErrorIs(t, err, facade.ErrInvalidInput)
			var ie *facade.InputError
			require.ErrorAs(t, err, &ie)
			if c.rule != nil {
				require.ErrorIs(t, err, c.rule)
			}
			require.Empty(t, e.s.Requests(), "no vault request")
			require.Empty(t, e.up.Requests(), "no upstream request")
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

func get2(c interface {
	Request(context.Context, string, string, facade.RequestParams) (*facade.Response, error)
}, ctx context.Context, method, u string, p facade.RequestParams) (*facade.Response, error) {
	return c.Request(ctx, method, u, p)
}
