package altermcp_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/altermcp"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/usertoken"
	"github.com/altersdk/alter-go/vaulttest"
)

// env is a vault, an echo upstream, an App on them and an MCP server on the App, served over
// streamable HTTP behind the resource server at <URL>/mcp.
type env struct {
	vault    *vaulttest.Server
	upstream *vaulttest.EchoUpstream
	app      *facade.App
	server   *mcp.Server
	mcp      *altermcp.MCP
	rs       *altermcp.ResourceServer
	url      string // the MCP endpoint
	root     string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return buildEnv(t, func(*env) []altermcp.ResourceOption {
		return []altermcp.ResourceOption{altermcp.WithAuthorizationServers("https://idp.example"), altermcp.WithResourceName("altermcp test")}
	})
}

// buildEnv is newEnv with the resource server options rsOpts returns (e.app and e.root set).
func buildEnv(t *testing.T, rsOpts func(e *env) []altermcp.ResourceOption) *env {
	t.Helper()
	e := &env{vault: vaulttest.NewTestServer(t), upstream: vaulttest.NewEchoUpstream()}
	t.Cleanup(e.upstream.Close)
	var err error
	e.app, err = facade.NewApp(e.vault.AppKey(), facade.WithBaseURL(e.vault.URL()), facade.WithCaller("mcp-test"),
		facade.WithUserTokenGetter(usertoken.Getter))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.app.Close() })
	e.server = mcp.NewServer(&mcp.Implementation{Name: "altermcp-test", Version: "v0.0.1"}, nil)
	e.mcp = altermcp.New(e.app)

	var h http.Handler
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(ts.Close)
	e.root, e.url = ts.URL, ts.URL+"/mcp"
	e.rs, err = altermcp.NewResourceServer(e.app, e.url, rsOpts(e)...)
	require.NoError(t, err)
	h = e.rs.Handler(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return e.server }, nil))
	return e
}

// asUser is an HTTP client that sends token as the bearer of every request.
func asUser(token string) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		out := *r // a RoundTripper must not change the caller's request
		out.Header = r.Header.Clone()
		out.Header.Set("Authorization", "Bearer "+token)
		return http.DefaultTransport.RoundTrip(&out)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// connect opens an MCP client session as the holder of token.
func (e *env) connect(t *testing.T, token string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "altermcp-test-client", Version: "v0.0.1"}, nil)
	s, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: e.url,
		HTTPClient: asUser(token)}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

type userIn struct {
	Login string `json:"login" jsonschema:"the GitHub login"`
}

type userOut struct {
	Status int    `json:"status"`
	Path   string `json:"path"`
}

// addUserTool registers get_user, which calls the upstream's /users/{login} through the grant.
func (e *env) addUserTool(t *testing.T, tool altermcp.Tool, path string) {
	t.Helper()
	require.NoError(t, altermcp.AddTool(e.server, tool, &mcp.Tool{Name: "get_user", Description: "a GitHub user"},
		func(ctx context.Context, tc *altermcp.ToolContext, _ *mcp.CallToolRequest, in userIn) (*mcp.CallToolResult, userOut, error) {
			resp, err := tc.Request(ctx, http.MethodGet, e.upstream.URL()+path, facade.RequestParams{
				PathParams: map[string]string{"login": in.Login}, Reason: "mcp test"})
			if err != nil {
				return nil, userOut{}, err
			}
			defer resp.Body.Close()
			var echo struct {
				Path string `json:"path"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&echo)
			return nil, userOut{Status: resp.StatusCode, Path: echo.Path}, nil
		}))
}

func call(t *testing.T, s *mcp.ClientSession, name string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := s.CallTool(t.Context(), &mcp.CallToolParams{Name: name, Arguments: args})
	require.NoError(t, err, "a grant failure must be a tool result, not a protocol error")
	return res
}

// The Done-when: authorization_required with a Connect URL first, success after the
// connect flow, the credential injected upstream and the audit row recorded.
func TestConnectThenSuccess(t *testing.T) {
	e := newEnv(t)
	alice := e.vault.AddUser("alice")
	e.addUserTool(t, e.mcp.Tool("github"), "/users/{login}")
	s := e.connect(t, alice.Token)

	res := call(t, s, "get_user", map[string]any{"login": "octocat"})
	gr, ok := altermcp.ParseGrantResult(res)
	require.True(t, ok, "%+v", res)
	require.Equal(t, altermcp.GrantResult{Error: "authorization_required", Message: "Please authorize access to github",
		ConnectURL: gr.ConnectURL}, gr)
	require.True(t, strings.HasPrefix(gr.ConnectURL, e.vault.RootURL()+"/connect/"), gr.ConnectURL)
	// The wire shape is alter-sdk's: the object is the structured content and the text content.
	var wire map[string]string
	require.NoError(t, json.Unmarshal([]byte(res.Content[0].(*mcp.TextContent).Text), &wire))
	require.Equal(t, map[string]string{"error": "authorization_required", "message": "Please authorize access to github",
		"connect_url": gr.ConnectURL}, wire)
	require.NotContains(t, res.Content[0].(*mcp.TextContent).Text, alice.Token)

	// The person consents (the dev API stands in for the page); the session was alice's.
	require.NoError(t, e.vault.CompleteConnectSession(path.Base(gr.ConnectURL), "github", "alice@github.example"))

	res = call(t, s, "get_user", map[string]any{"login": "octocat"})
	require.False(t, res.IsError, "%+v", res.Content)
	b, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	require.JSONEq(t, `{"status":200,"path":"/users/octocat"}`, string(b))

	reqs := e.upstream.Requests()
	require.NotEmpty(t, reqs)
	require.True(t, strings.HasPrefix(reqs[len(reqs)-1].Header.Get("Authorization"), "Bearer "), "the credential is injected")

	require.NoError(t, e.app.Close()) // drains the audit post
	var row *vaulttest.AuditRow
	for _, r := range e.vault.AuditRows() {
		if r.Operation == "recordApiCall" {
			row = &r
		}
	}
	require.NotNil(t, row, "the call is audited")
	require.Equal(t, "get_user", row.Context["tool"])
	require.Equal(t, "alice", row.UserSub)
	require.Equal(t, "mcp test", row.Reason)
	require.Equal(t, "/users/octocat", row.URL[strings.LastIndex(row.URL, "/users/"):])
}

// A labelled tool's Connect session asks for that label, so the consented grant is the one the
// next call resolves.
func TestLabelledToolConnect(t *testing.T) {
	e := newEnv(t)
	alice := e.vault.AddUser("alice")
	e.vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Account: "alice@github.example", UserSub: "alice"})
	e.addUserTool(t, e.mcp.Tool("github", altermcp.WithLabel("work")), "/users/{login}")
	s := e.connect(t, alice.Token)

	gr, ok := altermcp.ParseGrantResult(call(t, s, "get_user", map[string]any{"login": "octocat"}))
	require.True(t, ok, "the unlabelled grant is not the tool's")
	require.Equal(t, altermcp.AuthorizationRequired, gr.Error)
	require.NoError(t, e.vault.CompleteConnectSession(path.Base(gr.ConnectURL), "github", "alice@work.example"))
	res := call(t, s, "get_user", map[string]any{"login": "octocat"})
	require.False(t, res.IsError, "%+v", res.Content)
}

func TestScopeReauth(t *testing.T) {
	e := newEnv(t)
	alice := e.vault.AddUser("alice")
	e.vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Account: "alice@github.example", UserSub: "alice"})
	e.addUserTool(t, e.mcp.Tool("github"), "/scope-mismatch?scope=repo")
	s := e.connect(t, alice.Token)

	res := call(t, s, "get_user", map[string]any{"login": "octocat"})
	gr, ok := altermcp.ParseGrantResult(res)
	require.True(t, ok, "%+v", res.Content)
	require.Equal(t, altermcp.ScopeReauthRequired, gr.Error)
	require.Equal(t, "Additional permissions needed for github. Please re-authorize with the required scopes.", gr.Message)
	require.True(t, strings.HasPrefix(gr.ConnectURL, e.vault.RootURL()+"/connect/"), "a re-consent page: %q", gr.ConnectURL)
}

// A failure no person can fix stays an ordinary tool error.
func TestOtherErrorsAreToolErrors(t *testing.T) {
	e := newEnv(t)
	alice := e.vault.AddUser("alice")
	e.vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Account: "a@github.example", UserSub: "alice"})
	e.vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Account: "b@github.example", UserSub: "alice"})
	e.addUserTool(t, e.mcp.Tool("github"), "/users/{login}")
	s := e.connect(t, alice.Token)

	res := call(t, s, "get_user", map[string]any{"login": "octocat"})
	require.True(t, res.IsError)
	_, ok := altermcp.ParseGrantResult(res)
	require.False(t, ok, "an ambiguous grant is not the person's to fix by connecting")

	res = call(t, s, "get_user", map[string]any{"login": 7})
	require.True(t, res.IsError, "arguments are validated against the inferred schema")
	require.Contains(t, res.Content[0].(*mcp.TextContent).Text, "validating")
}

func TestUnauthenticated(t *testing.T) {
	e := newEnv(t)
	e.addUserTool(t, e.mcp.Tool("github"), "/users/{login}")
	wantChallenge := `Bearer resource_metadata="` + e.root + `/.well-known/oauth-protected-resource/mcp"`

	for name, token := range map[string]string{"no token": "", "a token the vault refuses": "not.a.jwt"} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.url,
				strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			require.Equal(t, wantChallenge, resp.Header.Get("WWW-Authenticate"))
			if token != "" {
				require.NotContains(t, string(body), token)
			}
		})
	}

	// The metadata the challenge names.
	resp, err := http.Get(e.rs.MetadataURL())
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var meta map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&meta))
	require.Equal(t, map[string]any{"resource": e.url, "authorization_servers": []any{"https://idp.example"},
		"bearer_methods_supported": []any{"header"}, "resource_name": "altermcp test"}, meta)

	// A go-sdk client without a token cannot even initialize.
	c := mcp.NewClient(&mcp.Implementation{Name: "anonymous", Version: "v0"}, nil)
	_, err = c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: e.url}, nil)
	require.Error(t, err)
}

func TestResourceServerURL(t *testing.T) {
	e := newEnv(t)
	for _, bad := range []string{"http://mcp.example.com/mcp", "mcp", "https://mcp.example.com/mcp?x=1", "ftp://localhost/mcp"} {
		_, err := altermcp.NewResourceServer(e.app, bad)
		require.Error(t, err, bad)
	}
	rs, err := altermcp.NewResourceServer(e.app, "https://mcp.example.com/")
	require.NoError(t, err)
	require.Equal(t, "https://mcp.example.com/.well-known/oauth-protected-resource", rs.MetadataURL())
	rs, err = altermcp.NewResourceServer(e.app, "http://[::1]:8080/a/mcp")
	require.NoError(t, err)
	require.Equal(t, "/.well-known/oauth-protected-resource/a/mcp", rs.MetadataPath())
	_, err = altermcp.NewResourceServer(nil, "https://mcp.example.com/")
	require.Error(t, err)
}

func TestConnectURL(t *testing.T) {
	e := newEnv(t)
	_, err := e.rs.ConnectURL(t.Context())
	require.Error(t, err, "no providers configured")
	rs, err := altermcp.NewResourceServer(e.app, e.url, altermcp.WithProviders(map[string][]string{"github": {"repo"}, "google": nil}))
	require.NoError(t, err)
	alice := e.vault.AddUser("alice")
	u, err := rs.ConnectURL(usertoken.NewContext(t.Context(), alice.Token))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(u, e.vault.RootURL()+"/connect/"), u)
}

func TestAddToolRefusesBadDefinitions(t *testing.T) {
	e := newEnv(t)
	h := func(context.Context, *altermcp.ToolContext, *mcp.CallToolRequest, userIn) (*mcp.CallToolResult, any, error) {
		return nil, nil, nil
	}
	require.Error(t, altermcp.AddTool(e.server, e.mcp.Tool("github"), &mcp.Tool{}, h), "no name")
	require.Error(t, altermcp.AddTool(e.server, e.mcp.Tool(""), &mcp.Tool{Name: "x"}, h), "no provider")
	require.Error(t, altermcp.AddTool(e.server, altermcp.Tool{}, &mcp.Tool{Name: "x"}, h), "no vault")
	require.Error(t, altermcp.AddTool(e.server, e.mcp.Tool("github"), &mcp.Tool{Name: "x", InputSchema: map[string]any{"type": "string"}}, h))
	require.Error(t, altermcp.AddTool[userIn, any](e.server, e.mcp.Tool("github"), nil, nil))
}

// A tool run as an agent: the missing delegation's Connect session delegates the user's new
// grant to the agent, and the audit row names the agent and the tool.
func TestAgentTool(t *testing.T) {
	e := newEnv(t)
	alice := e.vault.AddUser("alice")
	bot := e.vault.AddAgent("mail-bot")
	agent, err := e.app.GetAgent(bot.ID)
	require.NoError(t, err)
	e.addUserTool(t, e.mcp.Tool("github", altermcp.WithAgent(agent)), "/users/{login}")
	s := e.connect(t, alice.Token)

	gr, ok := altermcp.ParseGrantResult(call(t, s, "get_user", map[string]any{"login": "octocat"}))
	require.True(t, ok)
	require.Equal(t, altermcp.GrantResult{Error: altermcp.AuthorizationRequired, ConnectURL: gr.ConnectURL,
		Message: "Authorize access to github and delegate to this agent. Open the URL to consent."}, gr)
	require.NotEmpty(t, gr.ConnectURL, "the session delegates to the agent the error names")
	require.NoError(t, e.vault.CompleteConnectSession(path.Base(gr.ConnectURL), "github", "alice@github.example"))

	res := call(t, s, "get_user", map[string]any{"login": "octocat"})
	require.False(t, res.IsError, "%+v", res.Content)
	require.NoError(t, e.app.Close())
	rows := e.vault.AuditRows()
	require.NotEmpty(t, rows)
	last := rows[len(rows)-1]
	require.Equal(t, bot.ID, last.AgentID)
	require.Equal(t, "get_user", last.Context["tool"])
	require.NotEmpty(t, last.Context["agent"])
}
