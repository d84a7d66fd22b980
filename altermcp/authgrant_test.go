package altermcp_test

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/altermcp"
)

// fileLog is a logger writing to a file of the test (an *os.File is safe for the server's
// handlers to share) and what it holds so far.
func fileLog(t *testing.T) (*slog.Logger, func() string) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return slog.New(slog.NewTextHandler(f, nil)), func() string {
		b, err := os.ReadFile(f.Name())
		require.NoError(t, err)
		return string(b)
	}
}

// authClient is newAuthEnv with a public client registered.
func authClient(t *testing.T, opts ...altermcp.AuthOption) (*authEnv, *oauthFlow, string) {
	e := newAuthEnv(t, opts...)
	return e, e.flow, e.flow.publicClient()
}

// pair runs the flow for clientID and returns the tokens /token answered.
func (f *oauthFlow) pair(clientID string) map[string]any {
	f.t.Helper()
	verifier, challenge := pkce("pair")
	status, tok := f.token(codeForm(clientID, f.code(clientID, challenge), verifier))
	require.Equal(f.t, http.StatusOK, status, "%v", tok)
	return tok
}

func (f *oauthFlow) refresh(clientID, token string) (int, map[string]any) {
	f.t.Helper()
	return f.token(url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {token}})
}

// tampered is token with the last byte of its MAC changed.
func tampered(t *testing.T, token string) string {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, "alter_rt_"))
	require.NoError(t, err)
	b[len(b)-1] ^= 1
	return "alter_rt_" + base64.RawURLEncoding.EncodeToString(b)
}

// A rotated refresh token presented again revokes its grant (OAuth 2.1 §4.3.1, RFC 9700
// §4.14.2): the current access and refresh tokens die with it, the answer is invalid_grant, and
// the Warn names the client, never a token. A token the server did not issue is merely unknown.
func TestRefreshTokenReuse(t *testing.T) {
	for _, tc := range []struct {
		name      string
		rotations int                                                                    // before the replay
		replay    func(f *oauthFlow, owner string, spent []string) (int, map[string]any) // spent[0] is the first refresh token
		revoked   bool
	}{
		{name: "the spent token, by its client", rotations: 1, revoked: true,
			replay: func(f *oauthFlow, owner string, spent []string) (int, map[string]any) {
				return f.refresh(owner, spent[0])
			}},
		{name: "several generations back", rotations: 5, revoked: true,
			replay: func(f *oauthFlow, owner string, spent []string) (int, map[string]any) {
				return f.refresh(owner, spent[1])
			}},
		{name: "by another client", rotations: 1, revoked: true,
			replay: func(f *oauthFlow, _ string, spent []string) (int, map[string]any) {
				return f.refresh(f.publicClient(), spent[0])
			}},
		{name: "a forged token naming the grant", rotations: 1, revoked: false,
			replay: func(f *oauthFlow, owner string, spent []string) (int, map[string]any) {
				return f.refresh(owner, tampered(f.t, spent[0]))
			}},
		{name: "the current token by another client", rotations: 1, revoked: false,
			replay: func(f *oauthFlow, _ string, spent []string) (int, map[string]any) {
				return f.refresh(f.publicClient(), spent[len(spent)-1])
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logger, logs := fileLog(t)
			e, f, owner := authClient(t, altermcp.WithAuthLogger(logger))
			tok := f.pair(owner)
			tokens := []string{tok["access_token"].(string), tok["refresh_token"].(string)}
			refreshes := []string{tok["refresh_token"].(string)}
			for range tc.rotations {
				status, next := f.refresh(owner, refreshes[len(refreshes)-1])
				require.Equal(t, http.StatusOK, status, "%v", next)
				tok = next
				refreshes = append(refreshes, next["refresh_token"].(string))
				tokens = append(tokens, next["access_token"].(string), next["refresh_token"].(string))
			}

			status, out := tc.replay(f, owner, refreshes)
			require.Equal(t, [2]any{http.StatusBadRequest, "invalid_grant"}, [2]any{status, out["error"]})

			_, accessErr := e.rs.Verifier()(t.Context(), tok["access_token"].(string), nil)
			if !tc.revoked {
				require.NoError(t, accessErr, "the grant lives on")
				require.NotContains(t, logs(), "presented again")
				status, _ = f.refresh(owner, tok["refresh_token"].(string))
				require.Equal(t, http.StatusOK, status, "its current refresh token works")
				return
			}
			require.Error(t, accessErr, "the current access token is revoked")
			status, out = f.refresh(owner, tok["refresh_token"].(string))
			require.Equal(t, [2]any{http.StatusBadRequest, "invalid_grant"}, [2]any{status, out["error"]}, "the current refresh token too")
			sizes := altermcp.AuthStoreSizes(e.as)
			require.Equal(t, [3]int{}, [3]int(sizes[2:]), "nothing of the grant is left (grants, access, refresh)")

			line := logs()
			require.Contains(t, line, "level=WARN")
			require.Contains(t, line, "a rotated refresh token was presented again")
			require.Contains(t, line, "client_id="+owner)
			for _, v := range tokens {
				require.NotContains(t, line, v)
				require.NotContains(t, line, strings.TrimPrefix(strings.TrimPrefix(v, "alter_rt_"), "alter_at_"))
			}
		})
	}
}

// Revoking a spent refresh token ends the grant as revoking the current one does.
func TestRevokeSpentRefreshToken(t *testing.T) {
	e, f, clientID := authClient(t)
	first := f.pair(clientID)
	status, next := f.refresh(clientID, first["refresh_token"].(string))
	require.Equal(t, http.StatusOK, status)
	resp, _ := f.send(http.MethodPost, "/revoke", strings.NewReader(url.Values{"token": {first["refresh_token"].(string)},
		"client_id": {clientID}}.Encode()), "application/x-www-form-urlencoded")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, err := e.rs.Verifier()(t.Context(), next["access_token"].(string), nil)
	require.Error(t, err)
}
