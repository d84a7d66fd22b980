package reliability

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/internal/signing"
	"github.com/altersdk/alter-go/vaulttest"
)

// The fault matrix runs over real loopback sockets: vaulttest's faults (a dropped connection
// above all) are socket-level, and net/http's reaction to them is what users get. synctest
// cannot wrap these sockets (a bubble's clock only advances when every goroutine in it is
// durably blocked, and the transport's readLoop/writeLoop block on socket I/O, which is not
// durable), so these rows use fastRetries (millisecond backoff, Retry-After capped at 20 ms)
// and a generous real-time upper bound (maxRowTime, for -race on 2 shared cores). The exact
// waits (Retry-After seconds, backoff, a cancel mid-backoff) are checked in virtual time below,
// with vaulttest's handler served in memory.
const maxRowTime = 3 * time.Second

// sameAttempts checks that op reached the vault n times, every try with the same body (a retry
// repeats the call, it does not make another) and signed afresh (its own nonce), and that the
// facade generated no Idempotency-Key (0.29.0 sends one only where the caller gives it).
// The request log holds every try, a dropped one included.
func sameAttempts(t *testing.T, s *vaulttest.Server, op string, n int) {
	t.Helper()
	require.Equal(t, n, s.CallCount(op), op)
	rs := requestsFor(s, op)
	require.Len(t, rs, n, op)
	nonces := map[string]bool{}
	for _, r := range rs {
		require.Empty(t, r.Header.Get("Idempotency-Key"), "%s: no generated Idempotency-Key", op)
		require.Equal(t, string(rs[0].Body), string(r.Body), "%s: same body", op)
		nonces[r.Header.Get(signing.HeaderNonce)] = true
	}
	require.Len(t, nonces, n, "%s: every attempt signed afresh", op)
}

// apiStatus is the vault status an error carries (0: not a vault answer).
func apiStatus(err error) int {
	var ae *facade.APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

func TestFaultMatrix(t *testing.T) {
	type row struct {
		name    string
		op      string // operation the fault is injected into
		fault   vaulttest.Fault
		path    string // upstream path; default /items
		opts    []facade.Option
		setup   func(e *env, gid uuid.UUID)
		want    func(t *testing.T, e *env, resp *facade.Response, err error)
		elapsed time.Duration // upper bound; default maxRowTime
	}
	rows := []row{
		{name: "429 with Retry-After, then success", op: "retrieveToken",
			fault: vaulttest.Fault{Status: 429, Code: "rate_limit_exceeded", RetryAfter: time.Second},
			want: func(t *testing.T, e *env, resp *facade.Response, err error) {
				require.NoError(t, err)
				require.Nil(t, resp.RetryInfo, "RetryInfo is the vault's refresh report: none here")
				sameAttempts(t, e.s, "retrieveToken", 2)
				require.Len(t, e.up.Requests(), 1)
			}},
		{name: "429 on every attempt", op: "retrieveToken",
			fault: vaulttest.Fault{Times: 10, Status: 429, Code: "rate_limit_exceeded", RetryAfter: 2 * time.Second},
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.ErrorIs(t, err, facade.ErrRateLimit)
				require.ErrorIs(t, err, facade.ErrBackend)
				var rl *facade.RateLimitError
				require.ErrorAs(t, err, &rl)
				require.Equal(t, 429, rl.Status)
				require.Equal(t, facade.ErrorCode("rate_limit_exceeded"), rl.Code)
				require.Equal(t, 2*time.Second, rl.RetryAfter)
				sameAttempts(t, e.s, "retrieveToken", 4) // MaxAttempts
				require.Empty(t, e.up.Requests())
			}},
		{name: "503 burst, then success", op: "retrieveToken",
			fault: vaulttest.Fault{Times: 3, Status: 503, Code: "service_unavailable"},
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.NoError(t, err)
				sameAttempts(t, e.s, "retrieveToken", 4)
				require.Len(t, e.up.Requests(), 1)
			}},
		{name: "503 burst longer than the attempts", op: "retrieveToken",
			fault: vaulttest.Fault{Times: 4, Status: 503, Code: "service_unavailable"},
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.ErrorIs(t, err, facade.ErrBackend)
				require.Equal(t, 503, apiStatus(err))
				sameAttempts(t, e.s, "retrieveToken", 4)
				require.Empty(t, e.up.Requests())
			}},
		{name: "409 token_refresh_in_progress, then success", setup: func(e *env, gid uuid.UUID) { e.s.SetGrantRefreshing(gid, 1) },
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.NoError(t, err)
				sameAttempts(t, e.s, "retrieveToken", 2)
				require.Len(t, e.up.Requests(), 1)
			}},
		{name: "connection dropped before a response, then success", op: "retrieveToken",
			fault: vaulttest.Fault{Drop: true},
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.NoError(t, err)
				sameAttempts(t, e.s, "retrieveToken", 2)
			}},
		{name: "connection dropped on every attempt", op: "retrieveToken",
			fault: vaulttest.Fault{Times: 10, Drop: true},
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.ErrorIs(t, err, facade.ErrNetwork)
				var ne *facade.NetworkError
				require.ErrorAs(t, err, &ne)
				require.Equal(t, "retrieveToken", ne.Op)
				sameAttempts(t, e.s, "retrieveToken", 4)
				require.Empty(t, e.up.Requests())
			}},
		{name: "answer slower than WithTimeout", op: "retrieveToken",
			fault: vaulttest.Fault{Delay: 10 * time.Second}, opts: []facade.Option{facade.WithTimeout(150 * time.Millisecond)},
			elapsed: 2 * time.Second,
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.ErrorIs(t, err, facade.ErrTimeout)
				require.ErrorIs(t, err, context.DeadlineExceeded)
				require.Equal(t, 1, e.s.CallCount("retrieveToken"), "no time left for a retry")
				require.Empty(t, e.up.Requests())
			}},
		{name: "malformed JSON", op: "retrieveToken", fault: vaulttest.Fault{Malformed: true},
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.ErrorIs(t, err, facade.ErrBackend)
				require.Equal(t, 200, apiStatus(err))
				require.Equal(t, 1, e.s.CallCount("retrieveToken"), "a 200 is final, not retried")
				require.Empty(t, e.up.Requests(), "no credential, no upstream call")
			}},
		{name: "non-JSON 502 once, then success", op: "retrieveToken", fault: vaulttest.Fault{NonJSON: true},
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.NoError(t, err)
				sameAttempts(t, e.s, "retrieveToken", 2)
			}},
		{name: "non-JSON 502 on every attempt", op: "retrieveToken", fault: vaulttest.Fault{Times: 10, NonJSON: true},
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.ErrorIs(t, err, facade.ErrBackend)
				var ae *facade.APIError
				require.ErrorAs(t, err, &ae)
				require.Equal(t, 502, ae.Status)
				require.Empty(t, ae.Code)
				require.Contains(t, ae.Message, "non-JSON")
				sameAttempts(t, e.s, "retrieveToken", 4)
			}},
		{name: "upstream 500: not retried, audited", path: "/status/500",
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.ErrorIs(t, err, facade.ErrProviderAPI)
				var pe *facade.ProviderAPIError
				require.ErrorAs(t, err, &pe)
				require.Equal(t, 500, pe.Status)
				require.Len(t, e.up.Requests(), 1, "a 500 may have been applied: not retried")
				require.NoError(t, e.app.Close()) // drains the audit post
				sameAttempts(t, e.s, "recordApiCall", 1)
			}},
		{name: "audit post dropped: not retried, logged", op: "recordApiCall", fault: vaulttest.Fault{Drop: true},
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.NoError(t, err, "an audit failure never fails the call")
				require.NoError(t, e.app.Close())
				sameAttempts(t, e.s, "recordApiCall", 1) // a second post could be a second row
				for _, r := range e.s.AuditRows() {
					require.NotEqual(t, "recordApiCall", r.Operation)
				}
			}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			e := newEnv(t, nil, append([]facade.Option{fastRetries}, r.opts...)...)
			gid, _ := e.grant(t, vaulttest.OAuthGrant{})
			if r.op != "" {
				e.s.InjectFault(r.op, r.fault)
			}
			if r.setup != nil {
				r.setup(e, gid)
			}
			path := r.path
			if path == "" {
				path = "/items"
			}
			start := time.Now()
			resp, err := get(e.app, bg, e.up.URL()+path, facade.RequestParams{GrantID: gid})
			bound := r.elapsed
			if bound == 0 {
				bound = maxRowTime
			}
			require.Less(t, time.Since(start), bound)
			r.want(t, e, resp, err)
		})
	}
}

// The vault's token-refresh report reaches the caller: Response.RetryInfo and LastRetryInfo.
func TestFaultRefreshReport(t *testing.T) {
	e := newEnv(t, nil)
	gid, _ := e.grant(t, vaulttest.OAuthGrant{})
	require.NoError(t, e.s.SetGrantRefreshRetries(gid, 3))
	resp, err := get(e.app, bg, e.up.URL()+"/items", facade.RequestParams{GrantID: gid})
	require.NoError(t, err)
	ri := resp.RetryInfo
	require.NotNil(t, ri)
	require.Equal(t, 3, ri.TotalAttempts)
	require.Equal(t, 3, ri.SuccessfulAttempt)
	require.Len(t, ri.Errors, 2)
	require.Equal(t, ri, e.app.LastRetryInfo())
	resp, err = get(e.app, bg, e.up.URL()+"/items", facade.RequestParams{GrantID: gid})
	require.NoError(t, err)
	require.Nil(t, resp.RetryInfo, "the next answer had nothing to report")
	require.Nil(t, e.app.LastRetryInfo())
}

// Me is a read: retried on a 503 burst like the credential fetch.
func TestFaultMeRetriedOnBurst(t *testing.T) {
	e := newEnv(t, nil, fastRetries)
	ag := e.s.AddAgent("soak-agent")
	agent, err := facade.NewAgent(ag.APIKey, facade.WithBaseURL(e.s.URL()), fastRetries)
	require.NoError(t, err)
	defer agent.Close()
	e.s.InjectFault("getAgentMe", vaulttest.Fault{Times: 2, Status: 503, Code: "service_unavailable"})
	info, err := agent.Me(bg)
	require.NoError(t, err)
	require.Equal(t, ag.ID, info.ID)
	sameAttempts(t, e.s, "getAgentMe", 3)
}

// A proxied call is never retried (the vault performs the upstream request): a dropped
// connection is a network error after one try, and the upstream was not called twice.
func TestFaultProxyNotRetried(t *testing.T) {
	e := newEnv(t, nil, fastRetries)
	gid, _ := e.grant(t, vaulttest.OAuthGrant{})
	e.s.InjectFault("proxyRequest", vaulttest.Fault{Drop: true})
	_, err := e.app.ProxyRequest(bg, http.MethodPost, e.up.URL()+"/orders", facade.ProxyParams{GrantID: gid, JSON: map[string]int{"n": 1}})
	require.ErrorIs(t, err, facade.ErrNetwork)
	sameAttempts(t, e.s, "proxyRequest", 1)
	require.Empty(t, e.up.Requests())
	e.s.InjectFault("proxyRequest", vaulttest.Fault{Status: 503, Code: "service_unavailable"})
	_, err = e.app.ProxyRequest(bg, http.MethodPost, e.up.URL()+"/orders", facade.ProxyParams{GrantID: gid, JSON: map[string]int{"n": 1}})
	require.Equal(t, 503, apiStatus(err))
	require.Equal(t, 2, e.s.CallCount("proxyRequest"), "a 503 on a proxied call is not retried either")
}

// loseFirst forwards the first request of path to the vault, then throws the answer away and
// reports a reset: the vault applied the call, the client never learnt it.
type loseFirst struct {
	path string
	next http.RoundTripper
	lost atomic.Bool
}

func (l *loseFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, l.path) && l.lost.CompareAndSwap(false, true) {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return nil, errReset
	}
	return resp, err
}

// A creation whose answer is lost is not retried by the SDK (it has side effects); the caller
// who repeats it with its own Idempotency-Key gets the same agent back, once.
func TestFaultCreateAgentAnswerLostAppliedOnce(t *testing.T) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	lf := &loseFirst{path: "/sdk/agents", next: tr}
	e := newEnv(t, nil, fastRetries, facade.WithHTTPClient(&http.Client{Transport: lf}))
	p := facade.AgentCreateParams{Name: "once-only", IdempotencyKey: "create-once-only"}
	_, err := e.app.Agents().Create(bg, p)
	require.ErrorIs(t, err, facade.ErrNetwork)
	require.True(t, lf.lost.Load())
	require.Equal(t, 1, e.s.CallCount("createAgent"), "a creation is sent once")
	res, err := e.app.Agents().Create(bg, p)
	require.NoError(t, err)
	require.True(t, res.Replayed, "the repeat was answered from the idempotency store")
	rs := requestsFor(e.s, "createAgent")
	require.Len(t, rs, 2)
	for _, r := range rs {
		require.Equal(t, "create-once-only", r.Header.Get("Idempotency-Key"), "the caller's key, as given")
	}
	n := 0
	for a, err := range e.app.Agents().All(bg, facade.AgentListParams{}) {
		require.NoError(t, err)
		if a.Name == "once-only" {
			n++
		}
	}
	require.Equal(t, 1, n, "one agent created")
}

// Virtual time: vaulttest's handler served in memory (handlerTransport) inside a synctest
// bubble, with the default RetryPolicy (500 ms backoff ceiling, Retry-After up to 30 s).
func TestFaultTimingInVirtualTime(t *testing.T) {
	s := vaulttest.NewServer() // outside the bubble: its listener is never used here
	defer s.Close()
	gid := s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Credential: "cred-virtual"})
	var upStatus atomic.Int32
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := int(upStatus.Load()); st != 0 {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(st)
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	newApp := func(t *testing.T, opts ...facade.Option) *facade.App {
		app, err := facade.NewApp(s.AppKey(), append([]facade.Option{facade.WithBaseURL(s.URL()),
			facade.WithHTTPClient(&http.Client{Transport: handlerTransport{s.Handler()}}),
			facade.WithProviderHTTPClient(&http.Client{Transport: handlerTransport{upstream}})}, opts...)...)
		require.NoError(t, err)
		t.Cleanup(func() { _ = app.Close() })
		return app
	}
	url := "https://api.example.test/items"

	t.Run("429 Retry-After 3 s waited exactly", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			app := newApp(t)
			s.InjectFault("retrieveToken", vaulttest.Fault{Status: 429, Code: "rate_limit_exceeded", RetryAfter: 3 * time.Second})
			before := s.CallCount("retrieveToken")
			start := time.Now()
			_, err := get(app, bg, url, facade.RequestParams{GrantID: gid})
			require.NoError(t, err)
			require.Equal(t, 3*time.Second, time.Since(start))
			require.Equal(t, 2, s.CallCount("retrieveToken")-before)
		})
	})
	t.Run("503 burst: full-jitter backoff below 500 ms then 1 s", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			app := newApp(t)
			s.InjectFault("retrieveToken", vaulttest.Fault{Times: 2, Status: 503, Code: "service_unavailable"})
			before := s.CallCount("retrieveToken")
			start := time.Now()
			_, err := get(app, bg, url, facade.RequestParams{GrantID: gid})
			require.NoError(t, err)
			require.Less(t, time.Since(start), 1500*time.Millisecond, "two waits below 500 ms and 1 s")
			require.Equal(t, 3, s.CallCount("retrieveToken")-before)
		})
	})
	t.Run("ctx cancelled during a 30 s vault backoff returns within 50 ms", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			app := newApp(t)
			s.InjectFault("retrieveToken", vaulttest.Fault{Status: 503, Code: "service_unavailable", RetryAfter: 30 * time.Second})
			ctx, cancel := context.WithCancel(bg)
			time.AfterFunc(10*time.Millisecond, cancel)
			start := time.Now()
			_, err := get(app, ctx, url, facade.RequestParams{GrantID: gid})
			require.ErrorIs(t, err, context.Canceled)
			require.LessOrEqual(t, time.Since(start), 50*time.Millisecond)
		})
	})
	t.Run("an upstream 503 with Retry-After is the caller's, at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			app := newApp(t)
			upStatus.Store(503)
			defer upStatus.Store(0)
			start := time.Now()
			_, err := get(app, bg, url, facade.RequestParams{GrantID: gid})
			var pe *facade.ProviderAPIError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, 503, pe.Status)
			require.Zero(t, time.Since(start), "provider calls are never retried")
		})
	})
	t.Run("a Retry-After longer than the time left answers at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			app := newApp(t, facade.WithTimeout(2*time.Second))
			s.InjectFault("retrieveToken", vaulttest.Fault{Status: 503, Code: "service_unavailable", RetryAfter: 30 * time.Second})
			start := time.Now()
			_, err := get(app, bg, url, facade.RequestParams{GrantID: gid})
			require.ErrorIs(t, err, facade.ErrBackend)
			require.Equal(t, 503, apiStatus(err))
			require.Zero(t, time.Since(start))
		})
	})
}

// Audit posts are bounded in flight (48 per App): with the vault's audit endpoint stuck, extra
// posts wait for a slot instead of opening connections, and Close still ends in bounded time
// (it waits 5 s, then cancels the stragglers, which are logged, never silently lost).
func TestAuditPostsBoundedAndDrainedInVirtualTime(t *testing.T) {
	s := vaulttest.NewServer()
	defer s.Close()
	gid := s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Credential: "cred-virtual"})
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{}`) })
	const calls = 60
	s.InjectFault("recordApiCall", vaulttest.Fault{Times: calls, Delay: time.Hour})
	synctest.Test(t, func(t *testing.T) {
		var logBuf lockedBuffer
		app, err := facade.NewApp(s.AppKey(), facade.WithBaseURL(s.URL()),
			facade.WithLogger(slog.New(slog.NewTextHandler(&logBuf, nil))),
			facade.WithHTTPClient(&http.Client{Transport: handlerTransport{s.Handler()}}),
			facade.WithProviderHTTPClient(&http.Client{Transport: handlerTransport{upstream}}))
		require.NoError(t, err)
		for range calls {
			_, err := get(app, bg, "https://api.example.test/x", facade.RequestParams{GrantID: gid})
			require.NoError(t, err)
		}
		synctest.Wait()
		require.Equal(t, 48, s.CallCount("recordApiCall"), "only the posts holding a slot reached the vault")
		start := time.Now()
		require.NoError(t, app.Close())
		require.Equal(t, 5*time.Second, time.Since(start), "Close waits 5 s for stuck posts, then cancels them")
		require.Equal(t, calls, strings.Count(logBuf.String(), "audit record not recorded"))
	})
}
