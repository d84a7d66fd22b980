package facade

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/vaulttest"
)

// countingRT counts the requests of a transport and passes them on.
type countingRT struct {
	n    atomic.Int32
	next http.RoundTripper
}

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

func TestOptions(t *testing.T) {
	s := vaulttest.NewTestServer(t)
	up := vaulttest.NewEchoUpstream()
	defer up.Close()
	gid := s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github"})

	t.Run("base URL: option, then ALTER_BASE_URL, then default", func(t *testing.T) {
		t.Setenv("ALTER_BASE_URL", s.URL()+"/")
		a, err := NewApp(s.AppKey())
		require.NoError(t, err)
		defer a.Close()
		require.Equal(t, s.URL(), a.BaseURL())
		r, err := a.Request(bg, "GET", up.URL()+"/x", RequestParams{GrantID: gid})
		require.NoError(t, err)
		r.Body.Close()

		b, err := NewApp(s.AppKey(), WithBaseURL("https://vault.example/v1"))
		require.NoError(t, err)
		defer b.Close()
		require.Equal(t, "https://vault.example/v1", b.BaseURL())

		t.Setenv("ALTER_BASE_URL", "not a url")
		_, err = NewAgent("alter_key_agent_x")
		require.ErrorIs(t, err, ErrInvalidInput)

		t.Setenv("ALTER_BASE_URL", "")
		c, err := NewAgent("alter_key_agent_x")
		require.NoError(t, err)
		defer c.Close()
		require.Equal(t, DefaultBaseURL, c.BaseURL())
	})

	t.Run("caller and caller type", func(t *testing.T) {
		a, err := NewApp(s.AppKey(), WithBaseURL(s.URL()), WithCaller("ops-bot"), WithCallerType(CallerTypeAgent))
		require.NoError(t, err)
		defer a.Close()
		_, _ = a.GetApprovalStatus(bg, "apr_x")
		rows := s.AuditRows()
		require.Equal(t, "ops-bot", rows[len(rows)-1].Caller)
		require.Equal(t, "agent", rows[len(rows)-1].CallerType)
		require.NotEqual(t, "00000000-0000-0000-0000-000000000000", a.ActorID().String())
	})

	t.Run("HTTP clients are used and left untouched", func(t *testing.T) {
		vrt := &countingRT{next: http.DefaultTransport}
		prt := &countingRT{next: http.DefaultTransport}
		vc := &http.Client{Transport: vrt}
		redirected := errors.New("no redirects here")
		pc := &http.Client{Transport: prt, CheckRedirect: func(*http.Request, []*http.Request) error { return redirected }}
		a, err := NewApp(s.AppKey(), WithBaseURL(s.URL()), WithHTTPClient(vc), WithProviderHTTPClient(pc))
		require.NoError(t, err)
		r, err := a.Request(bg, "GET", up.URL()+"/x", RequestParams{GrantID: gid})
		require.NoError(t, err)
		r.Body.Close()
		require.NoError(t, a.Close())
		require.Equal(t, int32(2), vrt.n.Load(), "token + audit")
		require.Equal(t, int32(1), prt.n.Load())
		require.Nil(t, vc.CheckRedirect, "the caller's client is not modified")

		// The provider client's own redirect policy still applies.
		a2, err := NewApp(s.AppKey(), WithBaseURL(s.URL()), WithProviderHTTPClient(pc))
		require.NoError(t, err)
		defer a2.Close()
		_, err = a2.Request(bg, "GET", up.URL()+"/redirect?to=/x", RequestParams{GrantID: gid})
		require.ErrorIs(t, err, redirected)
	})

	t.Run("retry policy", func(t *testing.T) {
		a, err := NewApp(s.AppKey(), WithBaseURL(s.URL()), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		require.NoError(t, err)
		defer a.Close()
		s.InjectFault("getApprovalStatus", vaulttest.Fault{Status: 503, Code: "service_unavailable"})
		_, err = a.GetApprovalStatus(bg, "apr_x")
		require.ErrorIs(t, err, ErrServer)
		require.Len(t, a.LastRetryInfo().Attempts, 1)
	})

	t.Run("logger: silent by default, never a secret", func(t *testing.T) {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		k := s.AddAppKey(vaulttest.KeyDeprecated())
		cred := "log-secret-credential"
		g := s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Credential: cred})
		a, err := NewApp(k.APIKey, WithBaseURL(s.URL()), WithLogger(log), fastRetries)
		require.NoError(t, err)
		s.InjectFault("retrieveCredential", vaulttest.Fault{Status: 503, Code: "service_unavailable"})
		s.InjectFault("recordAPICall", vaulttest.Fault{Status: 400, Code: "invalid_request"})
		r, err := a.Request(bg, "GET", up.URL()+"/x", RequestParams{GrantID: g})
		require.NoError(t, err)
		r.Body.Close()
		require.NoError(t, a.Close())
		out := buf.String()
		require.Contains(t, out, "retrying")
		require.Contains(t, out, "deprecated")
		require.Contains(t, out, "audit record")
		noSecrets(t, out, k.APIKey, cred)
	})

	t.Run("timeout covers reading the body", func(t *testing.T) {
		a, err := NewApp(s.AppKey(), WithBaseURL(s.URL()), WithTimeout(300*time.Millisecond))
		require.NoError(t, err)
		defer a.Close()
		r, err := a.Request(bg, "GET", up.URL()+"/x", RequestParams{GrantID: gid})
		require.NoError(t, err)
		_, err = io.ReadAll(r.Body)
		require.NoError(t, err)
		require.NoError(t, r.Body.Close())
		_, err = a.Request(bg, "GET", up.URL()+"/slow?ms=2000", RequestParams{GrantID: gid})
		require.ErrorIs(t, err, ErrTimeout)
	})

	t.Run("transport sized for concurrency", func(t *testing.T) {
		tr := newTransport()
		require.GreaterOrEqual(t, tr.MaxIdleConnsPerHost, 64)
		require.True(t, tr.ForceAttemptHTTP2)
	})
}
