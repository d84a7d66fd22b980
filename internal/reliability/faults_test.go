package reliability

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

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

// sameAttempts checks that every request of op carried the same Idempotency-Key and body
// (a retried POST is the same request, so the vault applies it once) and a fresh nonce.
func sameAttempts(t *testing.T, s *vaulttest.Server, op string, n int) {
	t.Helper()
	rs := requestsFor(s, op)
	require.Len(t, rs, n, op)
	nonces := map[string]bool{}
	for _, r := range rs {
		require.NotEmpty(t, r.Header.Get("Idempotency-Key"))
		require.Equal(t, rs[0].Header.Get("Idempotency-Key"), r.Header.Get("Idempotency-Key"), "%s: one key for every attempt", op)
		require.Equal(t, string(rs[0].Body), string(r.Body), "%s: same body", op)
		nonces[r.Header.Get(signing.HeaderNonce)] = true
	}
	require.Len(t, nonces, n, "%s: every attempt signed afresh", op)
}

func TestFaultMatrix(t *testing.T) {
	type row struct {
		name    string
		op      string // operation the fault is injected into
		fault   vaulttest.Fault
		path    string // upstream path; default /items
		opts    []facade.Option
		want    func(t *testing.T, e *env, resp *facade.Response, err error)
		elapsed time.Duration // upper bound; default maxRowTime
	}
	rows := []row{
		{name: "429 with Retry-After, then success", op: "retrieveCredential",
			fault: vaulttest.Fault{Status: 429, Code: "rate_limited", RetryAfter: time.Second},
			want: func(t *testing.T, e *env, resp *facade.Response, err error) {
				require.NoError(t, err)
				require.Equal(t, []string{"retrieveCredential", "retrieveCredential", "upstream"}, ops(resp.RetryInfo))
				require.Equal(t, []int{429, 200, 200}, statuses(resp.RetryInfo))
				require.Equal(t, 20*time.Millisecond, resp.RetryInfo.Attempts[1].Delay, "Retry-After (1 s) honoured, capped by MaxRetryAfter")
				require.Equal(t, 1, resp.RetryInfo.Retries())
				sameAttempts(t, e.s, "retrieveCredential", 2)
				require.Len(t, e.up.Requests(), 1)
			}},
		{name: "429 on every attempt", op: "retrieveCredential",
			fault: vaulttest.Fault{Times: 10, Status: 429, Code: "rate_limited", RetryAfter: 2 * time.Second},
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.ErrorIs(t, err, facade.ErrRateLimited)
				var ae *facade.APIError
				require.ErrorAs(t, err, &ae)
				require.Equal(t, 429, ae.StatusCode)
				require.Equal(t, "rate_limited", ae.Code)
				require.Equal(t, 2*time.Second, ae.Details.RetryAfter)
				require.Equal(t, 4, e.s.CallCount("retrieveCredential"), "MaxAttempts")
				sameAttempts(t, e.s, "retrieveCredential", 4)
				require.Empty(t, e.up.Requests())
			}},
		{name: "503 burst, then success", op: "retrieveCredential",
			fault: vaulttest.Fault{Times: 3, Status: 503, Code: "service_unavailable"},
			want: func(t *testing.T, e *env, resp *facade.Response, err error) {
				require.NoError(t, err)
				require.Equal(t, []int{503, 503, 503, 200, 200}, statuses(resp.RetryInfo))
				for _, a := range resp.RetryInfo.Attempts[1:4] {
					require.Less(t, a.Delay, 10*time.Millisecond, "full-jitter backoff below the ceiling")
				}
				sameAttempts(t, e.s, "retrieveCredential", 4)
				require.Len(t, e.up.Requests(), 1)
			}},
		{name: "503 burst longer than the attempts", op: "retrieveCredential",
			fault: vaulttest.Fault{Times: 4, Status: 503, Code: "service_unavailable"},
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.ErrorIs(t, err, facade.ErrServer)
				require.ErrorIs(t, err, facade.ErrBackend)
				sameAttempts(t, e.s, "retrieveCredential", 4)
				require.Empty(t, e.up.Requests())
			}},
		{name: "connection dropped before a response, then success", op: "retrieveCredential",
			fault: vaulttest.Fault{Drop: true},
			want: func(t *testing.T, e *env, resp *facade.Response, err error) {
				require.NoError(t, err)
				require.Equal(t, []int{0, 200, 200}, statuses(resp.RetryInfo))
				require.Error(t, resp.RetryInfo.Attempts[0].Err)
				sameAttempts(t, e.s, "retrieveCredential", 2)
			}},
		{name: "connection dropped on every attempt", op: "retrieveCredential",
			fault: vaulttest.Fault{Times: 10, Drop: true},
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.ErrorIs(t, err, facade.ErrNetwork)
				var ne *facade.NetworkError
				require.ErrorAs(t, err, &ne)
				require.Equal(t, "retrieveCredential", ne.Op)
				sameAttempts(t, e.s, "retrieveCredential", 4)
				require.Empty(t, e.up.Requests())
			}},
		{name: "answer slower than WithTimeout", op: "retrieveCredential",
			fault: vaulttest.Fault{Delay: 10 * time.Second}, opts: []facade.Option{facade.WithTimeout(150 * time.Millisecond)},
			elapsed: 2 * time.Second,
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.ErrorIs(t, err, facade.ErrTimeout)
				require.ErrorIs(t, err, context.DeadlineExceeded)
				require.Equal(t, 1, e.s.CallCount("retrieveCredential"), "no time left for a retry")
				require.Empty(t, e.up.Requests())
			}},
		{name: "malformed JSON", op: "retrieveCredential", fault: vaulttest.Fault{Malformed: true},
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.ErrorIs(t, err, facade.ErrUnexpectedResponse)
				var ae *facade.APIError
				require.ErrorAs(t, err, &ae)
				require.Equal(t, 200, ae.StatusCode)
				require.Equal(t, 1, e.s.CallCount("retrieveCredential"), "a 200 is final, not retried")
				require.Empty(t, e.up.Requests(), "no credential, no upstream call")
			}},
		{name: "non-JSON 502 once, then success", op: "retrieveCredential", fault: vaulttest.Fault{NonJSON: true},
			want: func(t *testing.T, e *env, resp *facade.Response, err error) {
				require.NoError(t, err)
				require.Equal(t, []int{502, 200, 200}, statuses(resp.RetryInfo))
				sameAttempts(t, e.s, "retrieveCredential", 2)
			}},
		{name: "non-JSON 502 on every attempt", op: "retrieveCredential", fault: vaulttest.Fault{Times: 10, NonJSON: true},
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.ErrorIs(t, err, facade.ErrUnexpectedResponse)
				require.ErrorIs(t, err, facade.ErrServer)
				var ae *facade.APIError
				require.ErrorAs(t, err, &ae)
				require.Equal(t, 502, ae.StatusCode)
				require.Empty(t, ae.Code)
				require.Contains(t, string(ae.Body), "<html>")
				sameAttempts(t, e.s, "retrieveCredential", 4)
			}},
		{name: "upstream 500", path: "/status/500",
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.ErrorIs(t, err, facade.ErrProviderAPI)
				var pe *facade.ProviderAPIError
				require.ErrorAs(t, err, &pe)
				require.Equal(t, 500, pe.StatusCode)
				require.Len(t, e.up.Requests(), 1, "a 500 may have been applied: not retried")
				require.NoError(t, e.app.Close()) // drains the audit post
				sameAttempts(t, e.s, "recordAPICall", 1)
			}},
		{name: "audit post dropped: retried, recorded once", op: "recordAPICall", fault: vaulttest.Fault{Drop: true},
			want: func(t *testing.T, e *env, _ *facade.Response, err error) {
				require.NoError(t, err)
				require.NoError(t, e.app.Close())
				sameAttempts(t, e.s, "recordAPICall", 2)
				n := 0
				for _, r := range e.s.AuditRows() {
					if r.Operation == "recordAPICall" && r.Outcome == "success" {
						n++
					}
				}
				require.Equal(t, 1, n)
			}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			e := newEnv(t, nil, append([]facade.Option{fastRetries}, r.opts...)...)
			gid, _ := e.grant(t, vaulttest.OAuthGrant{})
			if r.op != "" {
				e.s.InjectFault(r.op, r.fault)
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

// Me is a GET: retried on a 503 burst like the POSTs.
func TestFaultMeRetriedOnBurst(t *testing.T) {
	e := newEnv(t, nil, fastRetries)
	ag := e.s.AddAgent("soak-agent")
	agent, err := e.app.GetAgent(ag.ID)
	require.NoError(t, err)
	e.s.InjectFault("getMe", vaulttest.Fault{Times: 2, Status: 503, Code: "service_unavailable"})
	info, err := agent.Me(bg)
	require.NoError(t, err)
	require.Equal(t, ag.ID, info.ID)
	require.Equal(t, 3, e.s.CallCount("getMe"))
	require.Equal(t, []int{503, 503, 200}, statuses(agent.LastRetryInfo()))
}

// A proxied POST whose connection drops is retried with the same Idempotency-Key: the upstream
// is called once.
func TestFaultProxyDropAppliedOnce(t *testing.T) {
	e := newEnv(t, nil, fastRetries)
	gid, _ := e.grant(t, vaulttest.OAuthGrant{})
	e.s.InjectFault("proxyRequest", vaulttest.Fault{Drop: true})
	out, err := e.app.ProxyRequest(bg, http.MethodPost, e.up.URL()+"/orders", facade.ProxyParams{GrantID: gid, JSON: map[string]int{"n": 1}})
	require.NoError(t, err)
	require.Equal(t, 200, out.Result.StatusCode)
	sameAttempts(t, e.s, "proxyRequest", 2)
	require.Len(t, e.up.Requests(), 1, "the upstream POST happened once")
}

// loseFirst forwards the first request of path to the vault, then throws the answer away and
// reports a reset: the vault applied the call, the client never learnt it. The retry must be a
// replay, not a second creation.
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

func TestFaultCreateAgentAnswerLostAppliedOnce(t *testing.T) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	lf := &loseFirst{path: "/agents", next: tr}
	e := newEnv(t, nil, fastRetries, facade.WithHTTPClient(&http.Client{Transport: lf}))
	res, err := e.app.Agents().Create(bg, facade.AgentCreateParams{Name: "once-only"})
	require.NoError(t, err)
	require.True(t, lf.lost.Load())
	require.True(t, res.Replayed, "the retry was answered from the idempotency store")
	sameAttempts(t, e.s, "createAgent", 2)
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
			s.InjectFault("retrieveCredential", vaulttest.Fault{Status: 429, Code: "rate_limited", RetryAfter: 3 * time.Second})
			start := time.Now()
			resp, err := get(app, bg, url, facade.RequestParams{GrantID: gid})
			require.NoError(t, err)
			require.Equal(t, 3*time.Second, time.Since(start))
			require.Equal(t, 3*time.Second, resp.RetryInfo.Attempts[1].Delay)
		})
	})
	t.Run("503 burst: full-jitter backoff below 500 ms then 1 s", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			app := newApp(t)
			s.InjectFault("retrieveCredential", vaulttest.Fault{Times: 2, Status: 503, Code: "service_unavailable"})
			start := time.Now()
			resp, err := get(app, bg, url, facade.RequestParams{GrantID: gid})
			require.NoError(t, err)
			a := resp.RetryInfo.Attempts
			require.Equal(t, []int{503, 503, 200, 200}, statuses(resp.RetryInfo))
			require.Less(t, a[1].Delay, 500*time.Millisecond)
			require.Less(t, a[2].Delay, time.Second)
			require.Equal(t, a[1].Delay+a[2].Delay, time.Since(start), "only the backoff takes time")
		})
	})
	t.Run("ctx cancelled during a 30 s vault backoff returns within 50 ms", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			app := newApp(t)
			s.InjectFault("retrieveCredential", vaulttest.Fault{Status: 503, Code: "service_unavailable", RetryAfter: 30 * time.Second})
			ctx, cancel := context.WithCancel(bg)
			time.AfterFunc(10*time.Millisecond, cancel)
			start := time.Now()
			_, err := get(app, ctx, url, facade.RequestParams{GrantID: gid})
			require.ErrorIs(t, err, context.Canceled)
			require.LessOrEqual(t, time.Since(start), 50*time.Millisecond)
		})
	})
	t.Run("ctx cancelled during a 30 s upstream backoff returns within 50 ms", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			app := newApp(t)
			upStatus.Store(503)
			defer upStatus.Store(0)
			ctx, cancel := context.WithCancel(bg)
			time.AfterFunc(10*time.Millisecond, cancel)
			start := time.Now()
			_, err := get(app, ctx, url, facade.RequestParams{GrantID: gid})
			require.ErrorIs(t, err, context.Canceled)
			require.LessOrEqual(t, time.Since(start), 50*time.Millisecond)
		})
	})
	t.Run("a Retry-After longer than the time left answers at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			app := newApp(t, facade.WithTimeout(2*time.Second))
			s.InjectFault("retrieveCredential", vaulttest.Fault{Status: 503, Code: "service_unavailable", RetryAfter: 30 * time.Second})
			start := time.Now()
			_, err := get(app, bg, url, facade.RequestParams{GrantID: gid})
			require.ErrorIs(t, err, facade.ErrServer)
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
	s.InjectFault("recordAPICall", vaulttest.Fault{Times: calls, Delay: time.Hour})
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
		require.Equal(t, 48, s.CallCount("recordAPICall"), "only the posts holding a slot reached the vault")
		start := time.Now()
		require.NoError(t, app.Close())
		require.Equal(t, 5*time.Second, time.Since(start), "Close waits 5 s for stuck posts, then cancels them")
		require.Equal(t, calls, strings.Count(logBuf.String(), "audit record of an upstream call not posted"))
	})
}
