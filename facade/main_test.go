package facade

import (
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/altersdk/alter-go/vaulttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a vault (contract validation on), an echo upstream and an App on the default key.
type env struct {
	s   *vaulttest.Server
	up  *vaulttest.EchoUpstream
	app *App
}

func newEnv(t *testing.T, opts ...Option) *env {
	t.Helper()
	s := vaulttest.NewTestServer(t)
	up := vaulttest.NewEchoUpstream()
	t.Cleanup(up.Close)
	app, err := NewApp(s.AppKey(), append([]Option{WithBaseURL(s.URL())}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, app.Close()) })
	return &env{s: s, up: up, app: app}
}

// grant seeds a bearer grant for a user and returns its id and credential.
func (e *env) grant(t *testing.T, g vaulttest.OAuthGrant) (uuid.UUID, string) {
	t.Helper()
	if g.Provider == "" {
		g.Provider = "github"
	}
	if g.Credential == "" {
		g.Credential = "cred-" + uuid.NewString()
	}
	return e.s.AddOAuthGrant(g), g.Credential
}

// echoed is what the echo upstream answers.
type echoed struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]string `json:"query"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

func readEcho(t *testing.T, r *Response) echoed {
	t.Helper()
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	var e echoed
	require.NoError(t, json.Unmarshal(b, &e), string(b))
	return e
}

// noSecrets fails when any secret appears in s.
func noSecrets(t *testing.T, s string, secrets ...string) {
	t.Helper()
	for _, sec := range secrets {
		if sec != "" {
			require.NotContains(t, s, sec)
		}
	}
}

var bg = context.Background()
