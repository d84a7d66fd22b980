package grantclient_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/grantclient"
	"github.com/altersdk/alter-go/vaulttest"
)

type env struct {
	vault *vaulttest.Server
	up    *vaulttest.EchoUpstream
	app   *facade.App
	grant uuid.UUID
}

func newEnv(t *testing.T, opts ...facade.Option) *env {
	t.Helper()
	e := &env{vault: vaulttest.NewTestServer(t), up: vaulttest.NewEchoUpstream()}
	t.Cleanup(e.up.Close)
	e.grant = e.vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "alice", Credential: "gho_grantclient_secret"})
	app, err := facade.NewApp(e.vault.AppKey(), append([]facade.Option{facade.WithBaseURL(e.vault.URL())}, opts...)...)
	require.NoError(t, err)
	e.app = app
	t.Cleanup(func() { _ = app.Close() })
	return e
}

func echo(t *testing.T, r io.Reader) (e struct {
	Method, Path, Body string
	Headers            map[string]string
	Query              map[string]string
}) {
	t.Helper()
	require.NoError(t, json.NewDecoder(r).Decode(&e))
	return e
}

// Each request goes through Request: the credential injected per request, the client's own
// headers, query and body kept, an audit row per call; nothing of the credential stays in the app.
func TestClientThroughGrant(t *testing.T) {
	e := newEnv(t)
	hc := grantclient.New(e.app, facade.RequestParams{GrantID: e.grant, Reason: "sync"})
	for i := range 2 {
		req, err := http.NewRequest("POST", e.up.URL()+"/repos/o/r/issues?page=2", strings.NewReader(`{"title":"t"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "go-client/1")
		resp, err := hc.Do(req)
		require.NoError(t, err, i)
		got := echo(t, resp.Body)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, "Bearer gho_grantclient_secret", got.Headers["Authorization"])
		require.Equal(t, "go-client/1", got.Headers["User-Agent"])
		require.Equal(t, `{"title":"t"}`, got.Body)
		require.Equal(t, "2", got.Query["page"])
		require.Same(t, req, resp.Request)
	}
	require.NoError(t, e.app.Close())
	rows := e.vault.AuditRows()
	require.Len(t, rows, 2)
	require.Equal(t, "sync", rows[1].Reason)
	require.Equal(t, e.grant, rows[1].GrantID)
}

// A provider error comes back as the response the API client parses; a 3xx is not followed; a
// vault failure is an error errors.Is finds through *url.Error.
func TestClientStatusesAndErrors(t *testing.T) {
	e := newEnv(t)
	hc := grantclient.New(e.app, facade.RequestParams{GrantID: e.grant})

	resp, err := hc.Get(e.up.URL() + "/status/404")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, 404, resp.StatusCode)
	require.Equal(t, "404 Not Found", resp.Status)
	require.JSONEq(t, `{"status":404}`, string(b))
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))

	resp, err = hc.Get(e.up.URL() + "/redirect?to=" + url.QueryEscape("https://elsewhere.example/"))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.Len(t, e.up.Requests(), 2, "the redirect was not followed")

	_, err = grantclient.New(e.app, facade.RequestParams{GrantID: uuid.New()}).Get(e.up.URL() + "/x")
	require.ErrorIs(t, err, facade.ErrGrantNotFound)
	var ue *url.Error
	require.True(t, errors.As(err, &ue))
	require.NotContains(t, err.Error(), "gho_grantclient_secret")

	bad := &http.Client{Transport: &grantclient.Transport{Client: e.app, Params: facade.RequestParams{GrantID: e.grant, Query: url.Values{"a": {"1"}}}}}
	_, err = bad.Get(e.up.URL() + "/x")
	require.ErrorIs(t, err, grantclient.ErrRequestFields)
}

// Drop removes headers before the call; a provider selection works as a grant id does.
func TestTransportDropAndProvider(t *testing.T) {
	e := newEnv(t)
	tok := e.vault.AddUser("alice").Token
	hc := &http.Client{Transport: &grantclient.Transport{Client: e.app, Drop: []string{"x-sdk-sig"},
		Params: facade.RequestParams{Provider: "github", UserToken: tok}}}
	req, err := http.NewRequest("GET", e.up.URL()+"/user", nil)
	require.NoError(t, err)
	req.Header.Set("X-Sdk-Sig", "stale")
	resp, err := hc.Do(req)
	require.NoError(t, err)
	got := echo(t, resp.Body)
	require.NoError(t, resp.Body.Close())
	require.Empty(t, got.Headers["X-Sdk-Sig"])
	require.Equal(t, "Bearer gho_grantclient_secret", got.Headers["Authorization"])
}
