package facade

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/internal/signing"
)

// rtFunc is an in-memory transport: no sockets, so it runs inside a synctest bubble.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func resp(status int, body string, kv ...string) *http.Response {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
}

func envelope(code string) string {
	return `{"error":{"code":"` + code + `","message":"m"},"request_id":"req_1"}`
}

const statusPending = `{"approval_id":"apr_1","status":"pending","expires_at":"2030-01-01T00:00:00Z","has_result":false}`

// fakeApp is an App whose vault (and upstream) is rt, with a deterministic jitter of 0.5.
func fakeApp(t *testing.T, rt rtFunc, pol RetryPolicy, opts ...Option) *App {
	t.Helper()
	app, err := NewApp("alter_key_app_test", append([]Option{WithBaseURL("http://vault.test/v1"),
		WithHTTPClient(&http.Client{Transport: rt}), WithProviderHTTPClient(&http.Client{Transport: rt}),
		WithRetryPolicy(pol)}, opts...)...)
	require.NoError(t, err)
	app.c.retry.rand = func() float64 { return 0.5 }
	t.Cleanup(func() { _ = app.Close() })
	return app
}

// script answers the i-th vault request with answers[i] (the last one repeats).
type script struct {
	mu      sync.Mutex
	answers []func(*http.Request) (*http.Response, error)
	reqs    []*http.Request
	bodies  []string
	times   []time.Time
}

func (s *script) rt(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b []byte
	if r.Body != nil {
		b, _ = io.ReadAll(r.Body)
	}
	s.reqs = append(s.reqs, r)
	s.bodies = append(s.bodies, string(b))
	s.times = append(s.times, time.Now())
	i := min(len(s.reqs)-1, len(s.answers)-1)
	return s.answers[i](r)
}

func answer(status int, body string, kv ...string) func(*http.Request) (*http.Response, error) {
	return func(*http.Request) (*http.Response, error) { return resp(status, body, kv...), nil }
}

func netErr(*http.Request) (*http.Response, error) {
	return nil, errors.New("connection reset by peer")
}

func TestBackoffFullJitterInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{answers: []func(*http.Request) (*http.Response, error){
			answer(503, envelope("service_unavailable")), netErr, answer(502, "<html>bad gateway</html>", "Content-Type", "text/html"),
			answer(200, statusPending)}}
		app := fakeApp(t, s.rt, RetryPolicy{MaxAttempts: 4, InitialBackoff: time.Second, MaxBackoff: 3 * time.Second})
		start := time.Now()
		st, err := app.GetApprovalStatus(bg, "apr_1")
		require.NoError(t, err)
		require.Equal(t, ApprovalPending, st.State)
		// Ceilings 1 s, 2 s, 3 s (capped), jitter 0.5.
		require.Equal(t, 3*time.Second, time.Since(start))
		ri := app.LastRetryInfo()
		require.Equal(t, []int{503, 0, 502, 200}, statuses(ri))
		require.Equal(t, []time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond},
			[]time.Duration{ri.Attempts[0].Delay, ri.Attempts[1].Delay, ri.Attempts[2].Delay, ri.Attempts[3].Delay})
		require.ErrorContains(t, ri.Attempts[1].Err, "connection reset")
		require.Equal(t, 3, ri.Retries())
		// Every attempt signed afresh.
		nonces := map[string]bool{}
		for _, r := range s.reqs {
			nonces[r.Header.Get(signing.HeaderNonce)] = true
			require.Equal(t, "alter_key_app_test", r.Header.Get("X-Api-Key"))
			require.Equal(t, userAgent, r.Header.Get("User-Agent"))
		}
		require.Len(t, nonces, 4)
	})
}

func TestRetryAfterInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{answers: []func(*http.Request) (*http.Response, error){
			answer(429, envelope("rate_limited"), "Retry-After", "30"),
			func(*http.Request) (*http.Response, error) {
				return resp(503, envelope("service_unavailable"), "Retry-After", time.Now().Add(10*time.Second).UTC().Format(http.TimeFormat)), nil
			},
			answer(429, envelope("rate_limited"), "Retry-After", "3600"),
			answer(200, statusPending)}}
		app := fakeApp(t, s.rt, RetryPolicy{MaxAttempts: 4, InitialBackoff: time.Second, MaxRetryAfter: time.Minute}, WithTimeout(5*time.Minute))
		start := time.Now()
		_, err := app.GetApprovalStatus(bg, "apr_1")
		require.NoError(t, err)
		// 30 s, then the HTTP-date (10 s), then 3600 s capped at MaxRetryAfter (60 s).
		require.Equal(t, 100*time.Second, time.Since(start))
		require.Equal(t, 60*time.Second, app.LastRetryInfo().Attempts[3].Delay)
	})
}

func TestRetryStopsAtOnceWhenCtxEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &script{answers: []func(*http.Request) (*http.Response, error){answer(503, envelope("service_unavailable"), "Retry-After", "30")}}
		app := fakeApp(t, s.rt, RetryPolicy{MaxAttempts: 5})
		ctx, cancel := context.WithCancel(bg)
		time.AfterFunc(10*time.Second, cancel)
		start := time.Now()
		_, err := app.GetApprovalStatus(ctx, "apr_1")
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, 10*time.Second, time.Since(start), "mid-backoff cancel returns at once")
		require.Len(t, s.reqs, 1)

		// A deadline shorter than the requested wait: answer now with the last error.
		ctx, cancel2 := context.WithTimeout(bg, 5*time.Second)
		defer cancel2()
		start = time.Now()
		_, err = app.GetApprovalStatus(ctx, "apr_1")
		require.ErrorIs(t, err, ErrServer)
		require.Zero(t, time.Since(start))

		// WithTimeout bounds the whole call, backoff included.
		app2 := fakeApp(t, s.rt, RetryPolicy{MaxAttempts: 5, MaxRetryAfter: time.Second}, WithTimeout(2500*time.Millisecond))
		start = time.Now()
		_, err = app2.GetApprovalStatus(bg, "apr_1")
		require.ErrorIs(t, err, ErrServer) // third wait would cross the deadline
		require.Equal(t, 2*time.Second, time.Since(start))
	})
}

func TestWhatIsNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, a := range []func(*http.Request) (*http.Response, error){
			answer(409, envelope("agent_name_exists")),
			answer(400, envelope("invalid_request")),
			answer(500, envelope("internal_error")),
			answer(401, envelope("invalid_signature")),
		} {
			s := &script{answers: []func(*http.Request) (*http.Response, error){a}}
			app := fakeApp(t, s.rt, RetryPolicy{MaxAttempts: 5})
			_, err := app.GetApprovalStatus(bg, "apr_1")
			require.ErrorIs(t, err, ErrBackend)
			require.Len(t, s.reqs, 1)
		}
		// nonce_replayed: re-signed once more.
		s := &script{answers: []func(*http.Request) (*http.Response, error){answer(401, envelope("nonce_replayed")), answer(200, statusPending)}}
		app := fakeApp(t, s.rt, RetryPolicy{MaxAttempts: 2})
		_, err := app.GetApprovalStatus(bg, "apr_1")
		require.NoError(t, err)
		require.NotEqual(t, s.reqs[0].Header.Get(signing.HeaderNonce), s.reqs[1].Header.Get(signing.HeaderNonce))
	})
}

const tokenJSON = `{"access_token":"s3cr3t-cred","token_type":"Bearer","grant_id":"6f1c2a8e-0000-4000-8000-000000000001",` +
	`"provider_id":"github","injection_header":"Authorization","injection_format":"Bearer {token}","scopes":["repo"]}`

// routed answers the vault from vault and the upstream (api.test) from up.
func routed(vault, up *script) rtFunc {
	return func(r *http.Request) (*http.Response, error) {
		if r.URL.Host == "api.test" {
			return up.rt(r)
		}
		return vault.rt(r)
	}
}

func TestVaultPOSTKeepsItsIdempotencyKeyAndBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		vault := &script{answers: []func(*http.Request) (*http.Response, error){netErr, answer(429, envelope("rate_limited")), answer(200, tokenJSON),
			answer(202, `{"audit_id":"6f1c2a8e-0000-4000-8000-000000000002"}`)}}
		up := &script{answers: []func(*http.Request) (*http.Response, error){answer(200, `{}`)}}
		app := fakeApp(t, routed(vault, up), RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Second})
		r, err := app.Request(bg, "GET", "https://api.test/x", RequestParams{GrantID: uuid.New()})
		require.NoError(t, err)
		r.Body.Close()
		require.NoError(t, app.Close())
		require.Len(t, vault.reqs, 4) // 3 token attempts + the audit post
		key := vault.reqs[0].Header.Get(hIdempotency)
		require.NotEmpty(t, key)
		for i := range 3 {
			require.Equal(t, key, vault.reqs[i].Header.Get(hIdempotency))
			require.Equal(t, vault.bodies[0], vault.bodies[i])
			require.Equal(t, "/v1/tokens", vault.reqs[i].URL.Path)
		}
		require.NotEqual(t, key, vault.reqs[3].Header.Get(hIdempotency), "each logical call has its own key")
		require.Equal(t, "Bearer s3cr3t-cred", up.reqs[0].Header.Get("Authorization"))
		require.Empty(t, up.reqs[0].Header.Get("X-Api-Key"))

		// A caller-supplied key is kept.
		vault2 := &script{answers: []func(*http.Request) (*http.Response, error){netErr,
			answer(200, `{"status_code":200,"headers":{},"body_b64":"aGk=","body_truncated":false}`)}}
		app2 := fakeApp(t, vault2.rt, RetryPolicy{MaxAttempts: 2})
		out, err := app2.ProxyRequest(bg, "POST", "https://api.test/x", ProxyParams{GrantID: uuid.New(), IdempotencyKey: "order-42", JSON: []int{1}})
		require.NoError(t, err)
		require.Equal(t, "hi", out.Result.Text())
		require.Equal(t, "order-42", vault2.reqs[0].Header.Get(hIdempotency))
		require.Equal(t, "order-42", vault2.reqs[1].Header.Get(hIdempotency))
	})
}

func TestUpstreamRetriesOnlyWhatIsSafe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cases := []struct {
			method string
			hdr    http.Header
			first  func(*http.Request) (*http.Response, error)
			calls  int
		}{
			{"GET", nil, answer(503, ""), 2},
			{"GET", nil, netErr, 2},
			{"DELETE", nil, answer(504, ""), 2},
			{"POST", nil, answer(503, ""), 1},
			{"POST", nil, netErr, 1},
			{"POST", nil, answer(429, "", "Retry-After", "2"), 2},
			{"POST", http.Header{"Idempotency-Key": {"k1"}}, answer(502, ""), 2},
			{"GET", nil, answer(500, ""), 1},
		}
		for _, tc := range cases {
			vault := &script{answers: []func(*http.Request) (*http.Response, error){answer(200, tokenJSON),
				answer(202, `{"audit_id":"6f1c2a8e-0000-4000-8000-000000000002"}`)}}
			up := &script{answers: []func(*http.Request) (*http.Response, error){tc.first, answer(200, `{}`)}}
			app := fakeApp(t, routed(vault, up), RetryPolicy{MaxAttempts: 2})
			r, err := app.Request(bg, tc.method, "https://api.test/x?q=1", RequestParams{GrantID: uuid.New(), Header: tc.hdr, Body: []byte("b")})
			if err == nil {
				r.Body.Close()
			}
			require.Len(t, up.reqs, tc.calls, "%s %v", tc.method, tc.hdr)
			if tc.calls == 2 {
				require.NoError(t, err)
				require.Equal(t, "b", up.bodies[1], "body re-sent")
			} else {
				require.Error(t, err)
				noSecrets(t, err.Error(), "s3cr3t-cred")
			}
		}
	})
}

func TestAwaitApprovalPollsInVirtualTime(t *testing.T) {
	executed := `{"approval_id":"apr_1","status":"executed","expires_at":"2030-01-01T00:00:00Z","has_result":true}`
	result := `{"approval_id":"apr_1","status_code":201,"headers":{"content-type":"application/json"},"body_b64":"eyJvayI6dHJ1ZX0=","body_truncated":false}`
	synctest.Test(t, func(t *testing.T) {
		s := &script{}
		polls := 0
		s.answers = []func(*http.Request) (*http.Response, error){func(r *http.Request) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, "/result") {
				return resp(200, result), nil
			}
			polls++
			if polls < 4 {
				return resp(200, statusPending), nil
			}
			return resp(200, executed), nil
		}}
		app := fakeApp(t, s.rt, RetryPolicy{})
		start := time.Now()
		res, err := app.AwaitApproval(bg, "apr_1", AwaitOptions{})
		require.NoError(t, err)
		require.Equal(t, 6*time.Second, time.Since(start), "checks at 0, 2, 4, 6 s")
		require.Equal(t, 201, res.StatusCode)
		require.Equal(t, "apr_1", res.ApprovalID)
		var v map[string]bool
		require.NoError(t, res.JSON(&v))
		require.True(t, v["ok"])
		require.Equal(t, `{"ok":true}`, string(res.Bytes()))
		require.Equal(t, "application/json", res.Header.Get("Content-Type"))

		// Timeout.
		pending := &script{answers: []func(*http.Request) (*http.Response, error){answer(200, statusPending)}}
		app2 := fakeApp(t, pending.rt, RetryPolicy{})
		start = time.Now()
		_, err = app2.AwaitApproval(bg, "apr_1", AwaitOptions{PollInterval: time.Second, Timeout: 3500 * time.Millisecond})
		require.ErrorIs(t, err, ErrApprovalTimeout)
		require.ErrorIs(t, err, ErrTimeout)
		require.Equal(t, 3500*time.Millisecond, time.Since(start))

		// ctx cancelled mid-wait: at once.
		ctx, cancel := context.WithCancel(bg)
		time.AfterFunc(2500*time.Millisecond, cancel)
		start = time.Now()
		_, err = app2.AwaitApproval(ctx, "apr_1", AwaitOptions{})
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, ErrApprovalTimeout)
		require.Equal(t, 2500*time.Millisecond, time.Since(start))

		// Denied: the result endpoint's error.
		denied := &script{answers: []func(*http.Request) (*http.Response, error){func(r *http.Request) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, "/result") {
				return resp(410, envelope("approval_denied")), nil
			}
			return resp(200, strings.Replace(statusPending, "pending", "denied", 1)), nil
		}}}
		app3 := fakeApp(t, denied.rt, RetryPolicy{})
		_, err = app3.AwaitApproval(bg, "apr_1", AwaitOptions{})
		require.ErrorIs(t, err, ErrApprovalDenied)

		_, err = app3.AwaitApproval(bg, "not-an-approval", AwaitOptions{})
		require.ErrorIs(t, err, ErrInvalidInput)
	})
}
