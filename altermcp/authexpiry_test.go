package altermcp_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/altermcp"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// Expiries in virtual time, the vault and the server in-process: a code dies five minutes after
// the sign-in, a sign-in not finished within ten minutes ends the bridge, an access token lives
// an hour.
func TestAuthServerExpiry(t *testing.T) {
	vault := vaulttest.NewTestServer(t)
	synctest.Test(t, func(t *testing.T) {
		as, f := inProcessFlow(t, vault)
		clientID := f.publicClient()
		verifier, challenge := pkce("abc")

		code := f.code(clientID, challenge)
		time.Sleep(altermcp.AuthCodeLifetime + time.Second)
		status, out := f.token(codeForm(clientID, code, verifier))
		require.Equal(t, [2]any{http.StatusBadRequest, "invalid_grant"}, [2]any{status, out["error"]}, "expired code")

		// A code used within its lifetime works; its access token lapses after an hour.
		code = f.code(clientID, challenge)
		time.Sleep(altermcp.AuthCodeLifetime - time.Second)
		status, tok := f.token(codeForm(clientID, code, verifier))
		require.Equal(t, http.StatusOK, status, "%v", tok)
		info, err := as.Verifier()(t.Context(), tok["access_token"].(string), nil)
		require.NoError(t, err)
		require.Equal(t, "alice", info.UserID)
		require.Equal(t, time.Now().Add(altermcp.AccessTokenLifetime), info.Expiration)
		time.Sleep(altermcp.AccessTokenLifetime + time.Second)
		_, err = as.Verifier()(t.Context(), tok["access_token"].(string), nil)
		require.Error(t, err)

		// The bridge of a sign-in nobody finished expires.
		data := f.bridge(f.authorize(authorizeQuery(clientID, challenge, "s")))
		time.Sleep(altermcp.BridgeTimeout + time.Second)
		resp, _ := f.send(http.MethodGet, data["poll_url"]+"?pending="+url.QueryEscape(data["pending"]), nil, "")
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
}

// inProcessFlow is an AuthServer on vault with the flow driving it, all in-process (call it in
// the bubble: the App is closed at the test's end).
func inProcessFlow(t *testing.T, vault *vaulttest.Server, opts ...altermcp.AuthOption) (*altermcp.AuthServer, *oauthFlow) {
	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()),
		facade.WithHTTPClient(&http.Client{Transport: inProcess(vault)}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close() })
	as, err := altermcp.NewAuthServer(app, "http://localhost:8080", opts...)
	require.NoError(t, err)
	return as, &oauthFlow{t: t, vault: vault, do: func(r *http.Request) *http.Response {
		rec := httptest.NewRecorder()
		r.RequestURI = r.URL.RequestURI()
		as.ServeHTTP(rec, r)
		return rec.Result()
	}}
}

// The stores are bounded: a full one refuses (503 for registration, temporarily_unavailable to
// the redirect URI for /authorize) until the sweep drops what expired; a client registered a
// day ago with no token left is forgotten.
func TestAuthServerCaps(t *testing.T) {
	vault := vaulttest.NewTestServer(t)
	synctest.Test(t, func(t *testing.T) {
		as, f := inProcessFlow(t, vault)
		altermcp.SetAuthCaps(as, 2, 1, 10)
		a, b := f.publicClient(), f.publicClient()
		body := bytes.NewReader([]byte(`{"redirect_uris":["` + callback + `"]}`))
		resp, _ := f.send(http.MethodPost, "/register", body, "application/json")
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "client store full")

		_, challenge := pkce("abc")
		f.bridge(f.authorize(authorizeQuery(a, challenge, "s")))
		u := f.authorize(authorizeQuery(b, challenge, "s"))
		require.Equal(t, "temporarily_unavailable", u.Query().Get("error"), "pending store full")
		require.Equal(t, [5]int{2, 1, 0, 0, 0}, altermcp.AuthStoreSizes(as))

		time.Sleep(altermcp.BridgeTimeout + time.Second)
		require.Equal(t, "/auth-bridge", f.authorize(authorizeQuery(b, challenge, "s")).Path, "the expired sign-in was swept")
		time.Sleep(altermcp.RefreshTokenLifetime)
		f.publicClient()
		require.Equal(t, [5]int{1, 0, 0, 0, 0}, altermcp.AuthStoreSizes(as), "stale clients and the lapsed sign-in swept")
	})
}

// A grant outlives its access token: a day after its last rotation it is swept with everything
// it knows. However often it rotates, the server keeps one access and one refresh token for it
// (a spent refresh token is recognised by its generation, not stored), and the first of 300
// spent tokens still revokes it.
func TestAuthServerGrantLifetime(t *testing.T) {
	vault := vaulttest.NewTestServer(t)
	synctest.Test(t, func(t *testing.T) {
		logger, logs := fileLog(t)
		as, f := inProcessFlow(t, vault, altermcp.WithAuthLogger(logger))
		clientID := f.publicClient()
		first := f.pair(clientID)

		time.Sleep(altermcp.AccessTokenLifetime + time.Minute)
		f.publicClient() // a request that sweeps
		require.Equal(t, [3]int{1, 0, 1}, storeTokens(as), "the access token expired, the refresh token lives")
		_, err := as.Verifier()(t.Context(), first["access_token"].(string), nil)
		require.Error(t, err)
		status, tok := f.refresh(clientID, first["refresh_token"].(string))
		require.Equal(t, http.StatusOK, status, "refreshed after the access token's hour: %v", tok)

		for range 300 {
			status, tok = f.refresh(clientID, tok["refresh_token"].(string))
			require.Equal(t, http.StatusOK, status, "%v", tok)
		}
		require.Equal(t, [3]int{1, 1, 1}, storeTokens(as), "nothing kept per rotation")
		_, err = as.Verifier()(t.Context(), tok["access_token"].(string), nil)
		require.NoError(t, err)
		status, out := f.refresh(clientID, first["refresh_token"].(string))
		require.Equal(t, [2]any{http.StatusBadRequest, "invalid_grant"}, [2]any{status, out["error"]})
		require.Equal(t, [3]int{0, 0, 0}, storeTokens(as), "the first refresh token, 301 rotations back, revoked the grant")
		require.Contains(t, logs(), "a rotated refresh token was presented again")

		// An unused grant is swept a day after its last refresh token was issued.
		f.pair(clientID)
		time.Sleep(altermcp.AccessTokenLifetime + time.Minute)
		f.publicClient()
		require.Equal(t, [3]int{1, 0, 1}, storeTokens(as))
		time.Sleep(altermcp.RefreshTokenLifetime - altermcp.AccessTokenLifetime)
		f.publicClient()
		require.Equal(t, [3]int{0, 0, 0}, storeTokens(as), "swept")
	})
}

// storeTokens is how many grants, access and refresh tokens as holds.
func storeTokens(as *altermcp.AuthServer) [3]int {
	s := altermcp.AuthStoreSizes(as)
	return [3]int(s[2:])
}

// inProcess sends a request straight to the vault's handler (no network, for virtual time).
func inProcess(vault *vaulttest.Server) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		r.RequestURI = r.URL.RequestURI()
		vault.ServeHTTP(rec, r)
		return rec.Result(), nil
	})
}

func TestNewAuthServerURL(t *testing.T) {
	app, err := facade.NewApp(vaulttest.NewTestServer(t).AppKey())
	require.NoError(t, err)
	defer app.Close()
	for _, bad := range []string{"http://mcp.example.com", "mcp", "https://mcp.example.com/?x=1"} {
		_, err := altermcp.NewAuthServer(app, bad)
		require.Error(t, err, bad)
	}
	_, err = altermcp.NewAuthServer(nil, "https://mcp.example.com")
	require.Error(t, err)
	as, err := altermcp.NewAuthServer(app, "https://mcp.example.com/tenant/")
	require.NoError(t, err)
	require.Equal(t, "https://mcp.example.com/tenant", as.Issuer())
	require.Equal(t, "/.well-known/oauth-authorization-server/tenant", as.MetadataPath())
	require.Equal(t, "https://mcp.example.com/tenant/token", as.Metadata().TokenEndpoint)
}
