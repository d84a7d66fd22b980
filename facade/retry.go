package facade

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RetryPolicy bounds the automatic retries of vault and upstream calls. Zero fields take their
// defaults. Retried are only the attempts that cannot have been applied twice: transport failures
// before any response (for idempotent requests: GET, HEAD, OPTIONS, PUT, DELETE, and every vault
// POST, which always carries an Idempotency-Key), 429 (any method), 502/503/504 (idempotent
// requests), the vault's transient 409 token_refresh_in_progress, and a vault 401 nonce_replayed
// (the retry is signed with a fresh nonce). Retry-After is honoured, capped by MaxRetryAfter; a
// wait that would outlast the call's deadline is not started: the last answer is returned.
// Every attempt of a vault call is signed afresh and every vault POST keeps one Idempotency-Key.
type RetryPolicy struct {
	// MaxAttempts counts every attempt, the first included. Default 3; 1 disables retries.
	MaxAttempts int
	// InitialBackoff is the backoff ceiling before the second attempt; it doubles per attempt.
	// The actual wait is uniformly random below the ceiling ("full jitter"). Default 500 ms.
	InitialBackoff time.Duration
	// MaxBackoff caps the backoff ceiling. Default 8 s.
	MaxBackoff time.Duration
	// MaxRetryAfter caps a wait requested by the server with Retry-After. Default 30 s.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy returns the policy used when WithRetryPolicy is not given.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 3, InitialBackoff: 500 * time.Millisecond, MaxBackoff: 8 * time.Second, MaxRetryAfter: 30 * time.Second}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = d.InitialBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = d.MaxBackoff
	}
	if p.MaxBackoff < p.InitialBackoff {
		p.MaxBackoff = p.InitialBackoff
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = d.MaxRetryAfter
	}
	return p
}

// RetryInfo reports every attempt of one logical call (the vault calls and, for Request, the
// upstream call), oldest first.
type RetryInfo struct {
	Attempts []Attempt // oldest first
}

// Retries is the number of attempts after the first, over all operations of the call.
func (r RetryInfo) Retries() int {
	n := 0
	for i, a := range r.Attempts {
		if i > 0 && a.Op == r.Attempts[i-1].Op {
			n++
		}
	}
	return n
}

// Attempt is one HTTP exchange of a logical call.
type Attempt struct {
	Op     string        // operation id ("retrieveCredential", …) or "upstream"
	Status int           // HTTP status; 0 when no response came
	Err    error         // the transport error when no response came (URLs without query)
	Delay  time.Duration // how long the client waited before this attempt
}

// recorder collects the attempts of one logical call; it rides on the context. Use newRecorder.
type recorder struct {
	mu       sync.Mutex
	attempts []Attempt
	first    [2]Attempt // backs attempts for the usual calls (a vault call and an upstream call)
}

func newRecorder() *recorder {
	r := &recorder{}
	r.attempts = r.first[:0]
	return r
}

func (r *recorder) add(a Attempt) {
	r.mu.Lock()
	r.attempts = append(r.attempts, a)
	r.mu.Unlock()
}

// statuses returns the status of every attempt of op.
func (r *recorder) statuses(op string) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	for _, a := range r.attempts {
		if a.Op == op {
			out = append(out, a.Status)
		}
	}
	return out
}

func (r *recorder) info() RetryInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return RetryInfo{Attempts: append([]Attempt(nil), r.attempts...)}
}

type recorderKey struct{}

func withRecorder(ctx context.Context, r *recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, r)
}

func recorderFrom(ctx context.Context) *recorder {
	r, _ := ctx.Value(recorderKey{}).(*recorder)
	return r
}

// retrier runs the retry loop shared by the vault doer and the upstream sender.
type retrier struct {
	policy RetryPolicy
	rand   func() float64 // in [0,1); injectable for deterministic tests
	log    *slog.Logger
}

func newRetrier(p RetryPolicy, log *slog.Logger) *retrier {
	return &retrier{policy: p.withDefaults(), rand: rand.Float64, log: log}
}

// sendFunc performs attempt n (1-based) and returns its response or transport error.
type sendFunc func(ctx context.Context, n int) (*http.Response, error)

// do sends until an answer is final, attempts run out, or ctx ends. idempotent says a transport
// failure or a 5xx may be retried; vault enables the 409 token_refresh_in_progress rule. When it
// gives up because of ctx it returns ctx.Err(); otherwise the last response or error.
func (r *retrier) do(ctx context.Context, op string, rec *recorder, idempotent, vault bool, send sendFunc) (*http.Response, error) {
	var delay time.Duration
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		resp, err := send(ctx, n)
		a := Attempt{Op: op, Delay: delay}
		if resp != nil {
			a.Status = resp.StatusCode
		} else {
			a.Err = err
		}
		rec.add(a)
		retry, after := r.classify(ctx, resp, err, idempotent, vault)
		if !retry || n >= r.policy.MaxAttempts {
			return resp, err
		}
		delay = r.backoff(n)
		if after >= 0 {
			delay = min(after, r.policy.MaxRetryAfter)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay {
			// Not enough time left to wait: answer now rather than time out blind.
			return resp, err
		}
		if resp != nil {
			drainClose(resp.Body)
		}
		r.log.WarnContext(ctx, "alter: retrying", "op", op, "attempt", n+1, "status", a.Status, "delay", delay)
		if err := sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// classify decides whether an attempt's outcome is retried and returns the server-requested
// delay (-1 when none).
func (r *retrier) classify(ctx context.Context, resp *http.Response, err error, idempotent, vault bool) (bool, time.Duration) {
	if resp == nil {
		return err != nil && ctx.Err() == nil && idempotent, -1
	}
	after := time.Duration(-1)
	if v := resp.Header.Get("Retry-After"); v != "" {
		if d, ok := parseRetryAfter(v, time.Now()); ok {
			after = d
		}
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
		return true, after
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return idempotent, after
	case http.StatusConflict:
		return vault && hasCode(resp, "token_refresh_in_progress"), after
	case http.StatusUnauthorized:
		// net/http may have replayed a signed GET on a reused connection with the same nonce;
		// a fresh signature fixes that.
		return vault && hasCode(resp, "nonce_replayed"), -1
	}
	return false, -1
}

// hasCode peeks at an error body for the given code and puts the bytes back.
func hasCode(resp *http.Response, code string) bool {
	if resp.Body == nil {
		return false
	}
	peek, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(peek), resp.Body), resp.Body}
	var w struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	return json.Unmarshal(peek, &w) == nil && w.Error.Code == code
}

// backoff returns the full-jitter wait after attempt n: uniform in [0, min(Max, Initial·2^(n-1))).
func (r *retrier) backoff(n int) time.Duration {
	ceil := r.policy.InitialBackoff
	for i := 1; i < n && ceil < r.policy.MaxBackoff; i++ {
		ceil *= 2
	}
	ceil = min(ceil, r.policy.MaxBackoff)
	return time.Duration(r.rand() * float64(ceil))
}

// sleep waits d or until ctx ends, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// maxRetryAfterSeconds rejects absurd Retry-After values before they can overflow a Duration.
const maxRetryAfterSeconds = 7 * 24 * 3600

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3). Negative,
// fractional, overflowing or unparsable values are rejected; a date in the past means "now".
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 32)
		if err != nil || secs > maxRetryAfterSeconds {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		return 0, true
	}
	if d > maxRetryAfterSeconds*time.Second {
		return 0, false
	}
	return d, true
}

// idempotentMethod reports the methods RFC 9110 calls idempotent.
func idempotentMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return false
}

// drainClose reads a little of a body so the connection can be reused, then closes it.
func drainClose(b io.ReadCloser) {
	if b == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(b, 64<<10))
	_ = b.Close()
}
