package altermcp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/altermcp"
	"github.com/altersdk/alter-go/vaulttest"
)

const elsewhere = "https://other.example/mcp"

func withResource(q url.Values, resources ...string) url.Values {
	q["resource"] = resources
	return q
}

// /authorize takes the resource of the resource server the authorization server is joined to
// (RFC 8707 §2), compared in canonical form; any other is invalid_target, sent back to the
// client with its state before a sign-in starts.
func TestResourceAtAuthorize(t *testing.T) {
	e, f, clientID := authClient(t)
	_, challenge := pkce("abc")
	for _, tc := range []struct {
		name      string
		resources []string
		wantErr   string
	}{
		{"the resource", []string{e.url}, ""},
		{"with a trailing slash", []string{e.url + "/"}, ""},
		{"its scheme in capitals", []string{strings.Replace(e.url, "http://", "HTTP://", 1)}, ""},
		{"twice the same", []string{e.url, e.url + "/"}, ""},
		{"omitted: the only resource", nil, ""},
		{"another server", []string{elsewhere}, "invalid_target"},
		{"the origin only", []string{e.root}, "invalid_target"},
		{"another path", []string{e.url + "2"}, "invalid_target"},
		{"with a query", []string{e.url + "?tenant=1"}, "invalid_target"},
		{"relative", []string{"/mcp"}, "invalid_target"},
		{"with a fragment", []string{e.url + "#f"}, "invalid_target"},
		{"empty", []string{""}, "invalid_target"},
		{"two resources", []string{e.url, elsewhere}, "invalid_target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := f.authorize(withResource(authorizeQuery(clientID, challenge, "s-7"), tc.resources...))
			if tc.wantErr == "" {
				require.Equal(t, "/auth-bridge", u.Path, "%s", u)
				return
			}
			require.Equal(t, "/callback", u.Path)
			require.Equal(t, tc.wantErr, u.Query().Get("error"))
			require.Equal(t, "s-7", u.Query().Get("state"))
		})
	}
}

// The token a code buys is bound to the code's resource: /token may repeat it or omit it, not
// name another (the code is then spent). A refresh may not change it either.
func TestResourceAtToken(t *testing.T) {
	e, f, clientID := authClient(t)
	verifier, challenge := pkce("abc")
	for _, tc := range []struct {
		name             string
		authorize, token []string
		wantStatus       int
		wantErr          string
	}{
		{"both", []string{e.url}, []string{e.url}, http.StatusOK, ""},
		{"on /authorize only", []string{e.url}, nil, http.StatusOK, ""},
		{"on /token only: the default", nil, []string{e.url + "/"}, http.StatusOK, ""},
		{"neither: the default", nil, nil, http.StatusOK, ""},
		{"another on /token", []string{e.url}, []string{elsewhere}, http.StatusBadRequest, "invalid_target"},
		{"malformed on /token", []string{e.url}, []string{"mcp"}, http.StatusBadRequest, "invalid_target"},
		{"two on /token", []string{e.url}, []string{e.url, elsewhere}, http.StatusBadRequest, "invalid_target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := f.codeFor(withResource(authorizeQuery(clientID, challenge, "s"), tc.authorize...))
			form := codeForm(clientID, code, verifier)
			form["resource"] = tc.token
			status, tok := f.token(form)
			require.Equal(t, [2]any{tc.wantStatus, tc.wantErr}, [2]any{status, orEmpty(tok["error"])}, "%v", tok)
			if tc.wantErr != "" {
				form["resource"] = []string{e.url}
				status, out := f.token(form)
				require.Equal(t, [2]any{http.StatusBadRequest, "invalid_grant"}, [2]any{status, out["error"]}, "the code is spent")
				return
			}
			_, err := e.rs.Verifier()(t.Context(), tok["access_token"].(string), nil)
			require.NoError(t, err, "the token is the resource's")
		})
	}

	t.Run("refresh", func(t *testing.T) {
		tok := f.pair(clientID)
		form := url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {tok["refresh_token"].(string)},
			"resource": {elsewhere}}
		status, out := f.token(form)
		require.Equal(t, [2]any{http.StatusBadRequest, "invalid_target"}, [2]any{status, out["error"]})
		form.Set("resource", e.url)
		status, next := f.token(form)
		require.Equal(t, http.StatusOK, status, "the refused refresh did not spend the token: %v", next)
		_, err := e.rs.Verifier()(t.Context(), next["access_token"].(string), nil)
		require.NoError(t, err)
	})
}

func orEmpty(v any) any {
	if v == nil {
		return ""
	}
	return v
}

// One authorization server, two resource servers: a token is accepted by the one it was issued
// for only, and a client that names neither is refused (the server cannot tell which it means).
func TestTokenForAnotherResource(t *testing.T) {
	e := newAuthEnv(t)
	f := e.flow
	other, err := altermcp.NewResourceServer(e.app, e.root+"/other", altermcp.WithAuthServer(e.as))
	require.NoError(t, err)
	clientID := f.publicClient()
	verifier, challenge := pkce("abc")
	tokenFor := func(resource string) string {
		code := f.codeFor(withResource(authorizeQuery(clientID, challenge, "s"), resource))
		status, tok := f.token(codeForm(clientID, code, verifier))
		require.Equal(t, http.StatusOK, status, "%v", tok)
		return tok["access_token"].(string)
	}
	forOther, forMCP := tokenFor(e.root+"/other"), tokenFor(e.url)

	for _, tc := range []struct {
		name     string
		verifier auth.TokenVerifier
		token    string
		accepted bool
	}{
		{"its own resource", other.Verifier(), forOther, true},
		{"another resource", e.rs.Verifier(), forOther, false},
		{"the other way round", other.Verifier(), forMCP, false},
		{"the authorization server's own verifier", e.as.Verifier(), forMCP, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := tc.verifier(t.Context(), tc.token, nil)
			if tc.accepted {
				require.NoError(t, err)
				require.Equal(t, "alice", info.UserID)
				return
			}
			require.ErrorIs(t, err, auth.ErrInvalidToken)
		})
	}

	// Over HTTP: the MCP endpoint answers 401 to the other resource's token.
	s, err := mcp.NewClient(&mcp.Implementation{Name: "x", Version: "v0"}, nil).Connect(t.Context(),
		&mcp.StreamableClientTransport{Endpoint: e.url, HTTPClient: asUser(forOther)}, nil)
	if err == nil {
		_ = s.Close()
	}
	require.ErrorContains(t, err, "Unauthorized")
	require.Equal(t, "alice", e.whoami(t, forMCP).Sub)

	u := f.authorize(authorizeQuery(clientID, challenge, "s"))
	require.Equal(t, "invalid_target", u.Query().Get("error"), "resource omitted with two resources joined")
}

// An authorization server joined to no resource server refuses a resource indicator (it knows
// of none) and binds the tokens of a request without one to no resource: its own Verifier
// accepts those.
func TestResourceStandalone(t *testing.T) {
	as, f := inProcessFlow(t, vaulttest.NewTestServer(t))
	clientID := f.publicClient()
	verifier, challenge := pkce("abc")
	u := f.authorize(withResource(authorizeQuery(clientID, challenge, "s"), "http://localhost:8080/mcp"))
	require.Equal(t, "invalid_target", u.Query().Get("error"))

	status, tok := f.token(codeForm(clientID, f.code(clientID, challenge), verifier))
	require.Equal(t, http.StatusOK, status, "%v", tok)
	info, err := as.Verifier()(t.Context(), tok["access_token"].(string), nil)
	require.NoError(t, err)
	require.Equal(t, "alice", info.UserID)
}
