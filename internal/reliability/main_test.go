package reliability

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var bg = context.Background()

// env is a vault, an echo upstream and an App. Cleanups close the App, then the servers, then
// check that no goroutine started during the test is left (per test, not only per package).
type env struct {
	s   *vaulttest.Server
	up  *vaulttest.EchoUpstream
	app *facade.App
}

func newEnv(t *testing.T, vopts []vaulttest.Option, opts ...facade.Option) *env {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // registered first: runs last
	s := vaulttest.NewTestServer(t, vopts...)
	up := vaulttest.NewEchoUpstream()
	t.Cleanup(up.Close)
	app, err := facade.NewApp(s.AppKey(), append([]facade.Option{facade.WithBaseURL(s.URL())}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, app.Close()) })
	return &env{s: s, up: up, app: app}
}

// grant seeds a bearer grant and returns its id and credential.
func (e *env) grant(t *testing.T, g vaulttest.OAuthGrant) (id uuid.UUID, cred string) {
	t.Helper()
	if g.Provider == "" {
		g.Provider = "github"
	}
	if g.Credential == "" {
		g.Credential = "cred-" + uuid.NewString()
	}
	return e.s.AddOAuthGrant(g), g.Credential
}

// get makes a retrieve-mode GET and closes the body.
func get(app interface {
	Request(context.Context, string, string, facade.RequestParams) (*facade.Response, error)
}, ctx context.Context, url string, p facade.RequestParams) (*facade.Response, error) {
	resp, err := app.Request(ctx, http.MethodGet, url, p)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	return resp, err
}

// requestsFor lists the vault requests of one operation.
func requestsFor(s *vaulttest.Server, op string) (out []vaulttest.Request) {
	for _, r := range s.Requests() {
		if r.Operation == op {
			out = append(out, r)
		}
	}
	return out
}

// fastRetries keeps real-socket fault tests fast: backoff ceilings of milliseconds and
// Retry-After capped at 20 ms (the exact waits are checked in virtual time).
var fastRetries = facade.WithRetryPolicy(facade.RetryPolicy{MaxAttempts: 4, InitialBackoff: 2 * time.Millisecond,
	MaxBackoff: 10 * time.Millisecond, MaxRetryAfter: 20 * time.Millisecond})

// handlerTransport serves an http.Handler in memory: no sockets, so a client using it runs
// inside a testing/synctest bubble (virtual time). A handler that aborts (vaulttest's Drop fault
// panics with http.ErrAbortHandler when it cannot hijack) is a connection reset.
type handlerTransport struct{ h http.Handler }

var errReset = errors.New("read: connection reset by peer")

func (t handlerTransport) RoundTrip(r *http.Request) (resp *http.Response, err error) {
	sr := r.Clone(r.Context())
	sr.RequestURI = r.URL.RequestURI()
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				panic(p)
			}
			resp, err = nil, errReset
		}
	}()
	t.h.ServeHTTP(rec, sr)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// lockedBuffer is an io.Writer safe for concurrent slog handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}
