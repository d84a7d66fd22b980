package altermcp_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/altermcp"
	"github.com/altersdk/alter-go/usertoken"
	"github.com/altersdk/alter-go/vaulttest"
)

const callback = "http://127.0.0.1:9/callback"

// oauthFlow drives the authorization server as an MCP client and its browser would: do sends a
// request (a path on the server) and never follows redirects.
type oauthFlow struct {
	t     *testing.T
	do    func(*http.Request) *http.Response
	vault *vaulttest.Server
}

func (f *oauthFlow) send(method, target string, body io.Reader, contentType string) (*http.Response, []byte) {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), method, target, body)
	require.NoError(f.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp := f.do(req)
	b, err := io.ReadAll(resp.Body)
	require.NoError(f.t, err)
	resp.Body.Close()
	return resp, b
}

func (f *oauthFlow) register(meta map[string]any) map[string]any {
	f.t.Helper()
	b, _ := json.Marshal(meta)
	resp, body := f.send(http.MethodPost, "/register", bytes.NewReader(b), "application/json")
	require.Equal(f.t, http.StatusCreated, resp.StatusCode, "%s", body)
	var out map[string]any
	require.NoError(f.t, json.Unmarshal(body, &out))
	return out
}

func (f *oauthFlow) publicClient() string {
	return f.register(map[string]any{"redirect_uris": []string{callback}, "token_endpoint_auth_method": "none"})["client_id"].(string)
}

// pkce is a verifier and its S256 challenge.
func pkce(seed string) (verifier, challenge string) {
	verifier = strings.Repeat(seed, 43/len(seed)+1)[:43]
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorize sends /authorize and returns the redirect.
func (f *oauthFlow) authorize(q url.Values) *url.URL {
	f.t.Helper()
	resp, body := f.send(http.MethodGet, "/authorize?"+q.Encode(), nil, "")
	require.Equal(f.t, http.StatusFound, resp.StatusCode, "%s", body)
	u, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(f.t, err)
	return u
}

func authorizeQuery(clientID, challenge, state string) url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {callback},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "state": {state}, "scope": {"tools"}}
}

var bridgeData = regexp.MustCompile(`<script id="bridge-data" type="application/json">([^<]*)</script>`)

// bridge loads the bridge page and returns its data (auth_url, pending, poll_url).
func (f *oauthFlow) bridge(u *url.URL) map[string]string {
	f.t.Helper()
	resp, body := f.send(http.MethodGet, u.String(), nil, "")
	require.Equal(f.t, http.StatusOK, resp.StatusCode, "%s", body)
	require.Contains(f.t, resp.Header.Get("Content-Security-Policy"), "script-src 'sha256-")
	m := bridgeData.FindSubmatch(body)
	require.NotNil(f.t, m, "%s", body)
	var data map[string]string
	require.NoError(f.t, json.Unmarshal(m[1], &data))
	return data
}

func (f *oauthFlow) poll(data map[string]string) (status, redirect string) {
	f.t.Helper()
	resp, body := f.send(http.MethodGet, data["poll_url"]+"?pending="+url.QueryEscape(data["pending"]), nil, "")
	require.Equal(f.t, http.StatusOK, resp.StatusCode, "%s", body)
	var st struct {
		Status     string `json:"status"`
		RedirectTo string `json:"redirect_to"`
	}
	require.NoError(f.t, json.Unmarshal(body, &st))
	return st.Status, st.RedirectTo
}

// sessionToken is the vault sign-in session behind the bridge page's auth_url.
func sessionToken(t *testing.T, authURL string) string {
	u, err := url.Parse(authURL)
	require.NoError(t, err)
	return path.Base(u.Path)
}

// code runs register → authorize → bridge → sign-in → poll and returns the code.
func (f *oauthFlow) code(clientID, challenge string) string {
	f.t.Helper()
	return f.codeFor(authorizeQuery(clientID, challenge, "xyz"))
}

// codeFor is code with the /authorize query q.
func (f *oauthFlow) codeFor(q url.Values) string {
	f.t.Helper()
	data := f.bridge(f.authorize(q))
	require.NoError(f.t, f.vault.CompleteAuthSession(sessionToken(f.t, data["auth_url"]), "alice"))
	st, to := f.poll(data)
	require.Equal(f.t, "completed", st)
	u, err := url.Parse(to)
	require.NoError(f.t, err)
	return u.Query().Get("code")
}

func (f *oauthFlow) token(form url.Values) (int, map[string]any) {
	f.t.Helper()
	resp, body := f.send(http.MethodPost, "/token", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
	var out map[string]any
	require.NoError(f.t, json.Unmarshal(body, &out), "%s", body)
	return resp.StatusCode, out
}

func codeForm(clientID, code, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {code},
		"redirect_uri": {callback}, "code_verifier": {verifier}}
}

// authEnv is newEnv's MCP server behind a ResourceServer wired to an AuthServer, both on the
// test server's root, with the tool whoami reporting the token its ToolContext carries.
type authEnv struct {
	*env
	as   *altermcp.AuthServer
	flow *oauthFlow
}

func newAuthEnv(t *testing.T, opts ...altermcp.AuthOption) *authEnv {
	t.Helper()
	var as *altermcp.AuthServer
	e := buildEnv(t, func(e *env) []altermcp.ResourceOption {
		var err error
		as, err = altermcp.NewAuthServer(e.app, e.root, opts...)
		require.NoError(t, err)
		return []altermcp.ResourceOption{altermcp.WithAuthServer(as)}
	})
	require.NoError(t, altermcp.AddTool(e.server, e.mcp.Tool("github"), &mcp.Tool{Name: "whoami", Description: "the caller"},
		func(ctx context.Context, _ *altermcp.ToolContext, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, whoami, error) {
			tok, _ := usertoken.FromContext(ctx)
			sub, valid, err := e.app.VerifyUserToken(ctx, tok)
			return nil, whoami{Sub: sub, VaultToken: valid, Opaque: strings.HasPrefix(tok, "alter_at_")}, err
		}))

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	flow := &oauthFlow{t: t, vault: e.vault, do: func(r *http.Request) *http.Response {
		if !r.URL.IsAbs() {
			u, err := url.Parse(e.root + r.URL.String())
			require.NoError(t, err)
			r.URL, r.Host = u, u.Host
		}
		resp, err := noRedirect.Do(r)
		require.NoError(t, err)
		return resp
	}}
	return &authEnv{env: e, as: as, flow: flow}
}

type whoami struct {
	Sub        string `json:"sub"`
	VaultToken bool   `json:"vault_token"` // the tool holds a token the vault verifies
	Opaque     bool   `json:"opaque"`      // the tool holds the MCP client's opaque token (it must not)
}

func (e *authEnv) whoami(t *testing.T, accessToken string) whoami {
	t.Helper()
	res := call(t, e.connect(t, accessToken), "whoami", map[string]any{})
	require.False(t, res.IsError, "%+v", res.Content)
	b, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	var w whoami
	require.NoError(t, json.Unmarshal(b, &w))
	return w
}

// The whole flow over net/http, the sign-in completed through the vault's dev API: the MCP call
// with the opaque access token reaches a tool whose ctx carries alice's vault token.
func TestAuthServerFlow(t *testing.T) {
	e := newAuthEnv(t)
	f := e.flow

	// Discovery: the resource names the authorization server, whose metadata lists the endpoints.
	resp, body := f.send(http.MethodGet, e.rs.MetadataURL(), nil, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var prm map[string]any
	require.NoError(t, json.Unmarshal(body, &prm))
	require.Equal(t, []any{e.root}, prm["authorization_servers"])
	resp, body = f.send(http.MethodGet, "/.well-known/oauth-authorization-server", nil, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var asm map[string]any
	require.NoError(t, json.Unmarshal(body, &asm))
	require.Equal(t, e.root, asm["issuer"])
	require.Equal(t, e.root+"/token", asm["token_endpoint"])
	require.Equal(t, e.root+"/register", asm["registration_endpoint"])
	require.Equal(t, e.root+"/revoke", asm["revocation_endpoint"])
	require.Equal(t, []any{"S256"}, asm["code_challenge_methods_supported"])

	client := f.register(map[string]any{"redirect_uris": []string{callback}, "token_endpoint_auth_method": "none", "client_name": "test"})
	clientID := client["client_id"].(string)
	require.NotContains(t, client, "client_secret", "a public client gets no secret")

	verifier, challenge := pkce("v3rifier")
	bridgeURL := f.authorize(authorizeQuery(clientID, challenge, "st-1"))
	require.Equal(t, "/auth-bridge", bridgeURL.Path)
	data := f.bridge(bridgeURL)
	require.True(t, strings.HasPrefix(data["auth_url"], e.vault.RootURL()+"/auth/"), data["auth_url"])

	st, _ := f.poll(data)
	require.Equal(t, "pending", st, "the person has not signed in yet")

	// The person signs in: the dev API stands in for the identity provider's page.
	devResp, devBody := f.send(http.MethodPost, e.vault.RootURL()+"/_dev/auth/"+sessionToken(t, data["auth_url"])+"/complete",
		strings.NewReader(`{"sub":"alice"}`), "application/json")
	require.Less(t, devResp.StatusCode, 300, "%s", devBody)

	st, to := f.poll(data)
	require.Equal(t, "completed", st)
	redirect, err := url.Parse(to)
	require.NoError(t, err)
	require.Equal(t, callback, redirect.Scheme+"://"+redirect.Host+redirect.Path)
	require.Equal(t, "st-1", redirect.Query().Get("state"))
	code := redirect.Query().Get("code")
	require.NotEmpty(t, code)
	st2, to2 := f.poll(data)
	require.Equal(t, [2]string{"completed", to}, [2]string{st2, to2}, "a second poll sees the same code")

	status, tok := f.token(codeForm(clientID, code, verifier))
	require.Equal(t, http.StatusOK, status, "%v", tok)
	require.Equal(t, "Bearer", tok["token_type"])
	require.EqualValues(t, 3600, tok["expires_in"])
	require.Equal(t, "tools", tok["scope"])
	access := tok["access_token"].(string)
	require.True(t, strings.HasPrefix(access, "alter_at_"))
	require.True(t, strings.HasPrefix(tok["refresh_token"].(string), "alter_rt_"))

	require.Equal(t, whoami{Sub: "alice", VaultToken: true}, e.whoami(t, access))

	// A made-up opaque token is refused without the vault being asked.
	resp, _ = f.send(http.MethodPost, e.url, strings.NewReader(`{}`), "application/json")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	_, err = mcp.NewClient(&mcp.Implementation{Name: "x", Version: "v0"}, nil).Connect(t.Context(),
		&mcp.StreamableClientTransport{Endpoint: e.url, HTTPClient: asUser("alter_at_made-up")}, nil)
	require.Error(t, err)
}

func TestAuthServerCodeChecks(t *testing.T) {
	e := newAuthEnv(t)
	f := e.flow
	clientID := f.publicClient()
	verifier, challenge := pkce("abc")

	t.Run("PKCE mismatch spends the code", func(t *testing.T) {
		code := f.code(clientID, challenge)
		status, out := f.token(codeForm(clientID, code, strings.Repeat("x", 43)))
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, "invalid_grant", out["error"])
		status, _ = f.token(codeForm(clientID, code, verifier))
		require.Equal(t, http.StatusBadRequest, status, "one guess per code")
	})
	t.Run("no verifier", func(t *testing.T) {
		status, out := f.token(codeForm(clientID, f.code(clientID, challenge), ""))
		require.Equal(t, [2]any{http.StatusBadRequest, "invalid_grant"}, [2]any{status, out["error"]})
	})
	t.Run("reused code revokes what it bought", func(t *testing.T) {
		code := f.code(clientID, challenge)
		status, tok := f.token(codeForm(clientID, code, verifier))
		require.Equal(t, http.StatusOK, status)
		status, out := f.token(codeForm(clientID, code, verifier))
		require.Equal(t, [2]any{http.StatusBadRequest, "invalid_grant"}, [2]any{status, out["error"]})
		_, err := e.rs.Verifier()(t.Context(), tok["access_token"].(string), nil)
		require.Error(t, err, "the first exchange's access token is revoked")
		status, _ = f.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {tok["refresh_token"].(string)}})
		require.Equal(t, http.StatusBadRequest, status, "and its refresh token")
	})
	t.Run("reused code revokes the pairs rotated from it", func(t *testing.T) {
		code := f.code(clientID, challenge)
		status, tok := f.token(codeForm(clientID, code, verifier))
		require.Equal(t, http.StatusOK, status)
		status, next := f.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {tok["refresh_token"].(string)}})
		require.Equal(t, http.StatusOK, status, "%v", next)
		_, err := e.rs.Verifier()(t.Context(), next["access_token"].(string), nil)
		require.NoError(t, err)
		status, _ = f.token(codeForm(clientID, code, verifier))
		require.Equal(t, http.StatusBadRequest, status)
		_, err = e.rs.Verifier()(t.Context(), next["access_token"].(string), nil)
		require.Error(t, err, "the rotated access token is revoked too")
	})
	t.Run("wrong redirect_uri", func(t *testing.T) {
		form := codeForm(clientID, f.code(clientID, challenge), verifier)
		form.Set("redirect_uri", "http://127.0.0.1:9/other")
		status, out := f.token(form)
		require.Equal(t, [2]any{http.StatusBadRequest, "invalid_grant"}, [2]any{status, out["error"]})
	})
	t.Run("another client's code", func(t *testing.T) {
		status, out := f.token(codeForm(f.publicClient(), f.code(clientID, challenge), verifier))
		require.Equal(t, [2]any{http.StatusBadRequest, "invalid_grant"}, [2]any{status, out["error"]})
	})
	t.Run("unknown client", func(t *testing.T) {
		status, out := f.token(codeForm("nobody", "x", verifier))
		require.Equal(t, [2]any{http.StatusUnauthorized, "invalid_client"}, [2]any{status, out["error"]})
	})
}

func TestAuthServerAuthorizeChecks(t *testing.T) {
	e := newAuthEnv(t)
	f := e.flow
	clientID := f.publicClient()
	_, challenge := pkce("abc")

	// An unknown client or redirect URI is answered on the spot: never redirected to.
	elsewhere := authorizeQuery(clientID, challenge, "s")
	elsewhere.Set("redirect_uri", "https://evil.example/cb")
	for name, q := range map[string]url.Values{"unknown client": authorizeQuery("nobody", challenge, "s"), "unregistered redirect": elsewhere} {
		resp, _ := f.send(http.MethodGet, "/authorize?"+q.Encode(), nil, "")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, name)
		require.Empty(t, resp.Header.Get("Location"), name)
	}
	// Other errors go back to the client with the state.
	for want, mutate := range map[string]func(url.Values){
		"invalid_request":           func(q url.Values) { q.Del("code_challenge") },
		"invalid_request ":          func(q url.Values) { q.Set("code_challenge_method", "plain") },
		"unsupported_response_type": func(q url.Values) { q.Set("response_type", "token") },
	} {
		q := authorizeQuery(clientID, challenge, "s-9")
		mutate(q)
		u := f.authorize(q)
		require.Equal(t, "/callback", u.Path)
		require.Equal(t, strings.TrimSpace(want), u.Query().Get("error"))
		require.Equal(t, "s-9", u.Query().Get("state"))
	}
	// Registration refuses redirect URIs a browser would run, or cleartext to another host.
	for _, bad := range []string{"javascript:alert(1)", "data:text/html,x", "http://evil.example/cb", "/relative", "https://x.example/cb#f"} {
		b, _ := json.Marshal(map[string]any{"redirect_uris": []string{bad}})
		resp, _ := f.send(http.MethodPost, "/register", bytes.NewReader(b), "application/json")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, bad)
	}
	// The bridge page of an unknown pending id.
	resp, _ := f.send(http.MethodGet, "/auth-bridge?pending=nope", nil, "")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// A client's state (or redirect URI) cannot break out of the bridge page's script.
func TestBridgePageEscapes(t *testing.T) {
	e := newAuthEnv(t)
	f := e.flow
	clientID := f.publicClient()
	_, challenge := pkce("abc")
	evil := "</script><script>alert(1)</script>\u2028&"
	resp, body := f.send(http.MethodGet, f.authorize(authorizeQuery(clientID, challenge, evil)).String(), nil, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 2, strings.Count(string(body), "</script>"), "only the page's own two script elements end")
	require.NotContains(t, string(body), "\u2028")
	require.NotContains(t, string(body), evil)
	require.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"))
}

func TestAuthServerRefreshAndRevoke(t *testing.T) {
	e := newAuthEnv(t)
	f := e.flow
	// A confidential client, authenticating with its secret in the form.
	c := f.register(map[string]any{"redirect_uris": []string{callback}, "token_endpoint_auth_method": "client_secret_post"})
	clientID, secret := c["client_id"].(string), c["client_secret"].(string)
	verifier, challenge := pkce("abc")
	form := codeForm(clientID, f.code(clientID, challenge), verifier)
	status, out := f.token(form)
	require.Equal(t, http.StatusUnauthorized, status, "the secret is required: %v", out)
	form.Set("client_secret", secret)
	status, tok := f.token(form)
	require.Equal(t, http.StatusOK, status, "%v", tok)

	refresh := func(rt string, extra url.Values) (int, map[string]any) {
		v := url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "client_secret": {secret}, "refresh_token": {rt}}
		for k, vs := range extra {
			v[k] = vs
		}
		return f.token(v)
	}
	status, out = refresh(tok["refresh_token"].(string), url.Values{"scope": {"tools admin"}})
	require.Equal(t, [2]any{http.StatusBadRequest, "invalid_scope"}, [2]any{status, out["error"]}, "no scope beyond the code's")

	status, next := refresh(tok["refresh_token"].(string), nil)
	require.Equal(t, http.StatusOK, status, "%v", next)
	require.NotEqual(t, tok["access_token"], next["access_token"])
	require.NotEqual(t, tok["refresh_token"], next["refresh_token"])
	// Rotation: the old access token is gone, the new pair works (presenting the old refresh
	// token again would revoke it: TestRefreshTokenReuse).
	_, err := e.rs.Verifier()(t.Context(), tok["access_token"].(string), nil)
	require.Error(t, err)
	require.Equal(t, "alice", e.whoami(t, next["access_token"].(string)).Sub)

	// Revocation needs the client; revoking the refresh token drops its access token too.
	revoke := func(v url.Values) int {
		resp, _ := f.send(http.MethodPost, "/revoke", strings.NewReader(v.Encode()), "application/x-www-form-urlencoded")
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, revoke(url.Values{"token": {next["refresh_token"].(string)}, "client_id": {clientID}}))
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "/revoke",
		strings.NewReader(url.Values{"token": {next["refresh_token"].(string)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret)) // client_secret_basic works too
	resp := f.do(req)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, err = e.rs.Verifier()(t.Context(), next["access_token"].(string), nil)
	require.Error(t, err, "the twin access token is revoked")
	require.Equal(t, http.StatusOK, revoke(url.Values{"token": {"unknown"}, "client_id": {clientID}, "client_secret": {secret}}), "RFC 7009: unknown tokens are 200")
}

// The go-sdk's own client-side OAuth (auth.AuthorizationCodeHandler on the streamable
// transport) runs the flow unaided: the 401 names the resource metadata, which names this
// server; it registers dynamically (a confidential client, client_secret_basic), and its
// fetcher plays the browser: the bridge page, the sign-in, the poll, the redirect's code. It
// sends the metadata's resource on /authorize and /token, so its token is bound to /mcp.
func TestGoSDKClientOAuth(t *testing.T) {
	e := newAuthEnv(t)
	f := e.flow
	signIns := 0
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{
			Metadata: &oauthex.ClientRegistrationMetadata{RedirectURIs: []string{callback}, ClientName: "go-sdk"}},
		AuthorizationCodeFetcher: func(_ context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			signIns++
			u, err := url.Parse(args.URL)
			require.NoError(t, err)
			require.Equal(t, e.root+"/authorize", u.Scheme+"://"+u.Host+u.Path)
			require.Equal(t, e.url, u.Query().Get("resource"), "the go-sdk names the resource (RFC 8707), as MCP requires")
			data := f.bridge(f.authorize(u.Query()))
			require.NoError(t, e.vault.CompleteAuthSession(sessionToken(t, data["auth_url"]), "bob"))
			st, to := f.poll(data)
			require.Equal(t, "completed", st)
			back, err := url.Parse(to)
			require.NoError(t, err)
			return &auth.AuthorizationResult{Code: back.Query().Get("code"), State: back.Query().Get("state")}, nil
		},
	})
	require.NoError(t, err)
	c := mcp.NewClient(&mcp.Implementation{Name: "go-sdk-oauth", Version: "v0"}, nil)
	s, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: e.url, OAuthHandler: h}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	res := call(t, s, "whoami", map[string]any{})
	require.False(t, res.IsError, "%+v", res.Content)
	b, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	require.JSONEq(t, `{"sub":"bob","vault_token":true,"opaque":false}`, string(b))
	require.Equal(t, 1, signIns)
	ts, err := h.TokenSource(t.Context())
	require.NoError(t, err)
	tok, err := ts.Token()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(tok.AccessToken, "alter_at_"), "the client holds the opaque token, never the vault's")
}
