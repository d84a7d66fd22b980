package usertoken_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/usertoken"
	"github.com/altersdk/alter-go/vaulttest"
)

func serve(h http.Handler, auth ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/", nil)
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestMiddleware(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := usertoken.Getter(r.Context())
		if err != nil {
			_, _ = io.WriteString(w, "none")
			return
		}
		_, _ = io.WriteString(w, tok)
	})
	req, opt := usertoken.Require(echo), usertoken.Optional(echo)

	for _, h := range []http.Handler{req, opt} {
		rec := serve(h, "bearer eyJ.abc-_~+/.sig==")
		require.Equal(t, 200, rec.Code)
		require.Equal(t, "eyJ.abc-_~+/.sig==", rec.Body.String())
	}
	rec := serve(req)
	require.Equal(t, 401, rec.Code)
	require.Equal(t, "Bearer", rec.Header().Get("WWW-Authenticate"))
	rec = serve(opt)
	require.Equal(t, 200, rec.Code)
	require.Equal(t, "none", rec.Body.String())

	for _, bad := range [][]string{{"Basic dXNlcjpwdw=="}, {"Bearer"}, {"Bearer a b"}, {"Bearer a=b"}, {"Bearer x", "Bearer y"}} {
		for _, h := range []http.Handler{req, opt} {
			rec := serve(h, bad...)
			require.Equal(t, 401, rec.Code, bad)
			require.Equal(t, `Bearer error="invalid_request"`, rec.Header().Get("WWW-Authenticate"))
			require.NotContains(t, rec.Body.String(), "dXNlcjpwdw")
		}
	}

	_, err := usertoken.Getter(context.Background())
	require.ErrorIs(t, err, usertoken.ErrNoUserToken)
}

// The end user's bearer token reaches the vault: behind Require, an App with Getter resolves
// the user's grant by provider.
func TestGetterDrivesFacade(t *testing.T) {
	vault := vaulttest.NewTestServer(t)
	up := vaulttest.NewEchoUpstream()
	t.Cleanup(up.Close)
	vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "alice", Credential: "gho_alice"})
	vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "bob", Credential: "gho_bob"})
	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()), facade.WithUserTokenGetter(usertoken.Getter))
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close() })

	h := usertoken.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := app.Request(r.Context(), "GET", up.URL()+"/user", facade.RequestParams{Provider: "github"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(w, resp.Body)
	}))
	for sub, cred := range map[string]string{"alice": "gho_alice", "bob": "gho_bob"} {
		rec := serve(h, "Bearer "+vault.AddUser(sub).Token)
		require.Equal(t, 200, rec.Code, rec.Body.String())
		require.Contains(t, rec.Body.String(), "Bearer "+cred)
	}
}
