package facade

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryable is the set of vault operations the engine may send more than once. An operation is
// here only when sending it twice has the effect of sending it once: reads (every GET, and the
// POSTs that only look things up) and the credential fetch, which hands out the current
// credential and refreshes it at most once on the vault's side. Everything that changes state is
// absent and is sent exactly once: the proxied call (the vault performs the upstream request),
// the audit record and the scope-mismatch report (a second row would be a false record),
// creations, updates, revocations and session starts. The polls of Connect and Authenticate are
// absent too: their loops already retry, and a completed session answers its grants once; so is
// the approval status poll, whose await loop waits out transient failures itself. A call of
// another op is retried when it says it is repeatable: emitSpans when every span has its own id
// (the vault absorbs a span it already has).
var retryable = map[string]bool{
	"retrieveToken":       true, // credential fetch
	"getApprovalResult":   true,
	"verifyUserToken":     true,
	"listGrants":          true,
	"getAgentMe":          true,
	"listAgents":          true,
	"getAgent":            true,
	"listAgentKeys":       true,
	"listScopes":          true,
	"listProviderCatalog": true,
	// The provider spec store: reads. emitSpans only when repeatable: a span without its own id
	// would count twice.
	"listProviderSpecs":      true,
	"getProviderSpec":        true,
	"listProviderOperations": true,
	"getProviderOperation":   true,
}

// RetryPolicy bounds the engine's retries of the operations that are safe to repeat (reads and
// the credential fetch; never the proxied call, the audit record or a call with side effects).
// A try is repeated after a transport failure, a 429, a 502, 503 or 504, or (credential fetch
// only) the vault's 409 token_refresh_in_progress; the wait is Retry-After when the vault sends
// one (capped by MaxRetryAfter), else a full-jitter backoff. A wait that would outlast the
// call's deadline is not started: the last answer is returned. Every try is signed afresh.
// Zero fields take their defaults.
type RetryPolicy struct {
	// MaxAttempts counts every try, the first included. Default 3; 1 disables retries.
	MaxAttempts int
	// InitialBackoff is the backoff ceiling before the second try; it doubles per try. The
	// wait is uniformly random below the ceiling ("full jitter"). Default 500 ms.
	InitialBackoff time.Duration
	// MaxBackoff caps the backoff ceiling. Default 8 s.
	MaxBackoff time.Duration
	// MaxRetryAfter caps a wait the vault asks for with Retry-After. Default 30 s.
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

// retryer decides and times the retries of one client.
type retryer struct {
	policy RetryPolicy
	rand   func() float64 // in [0,1); replaced by tests for exact waits
}

// again reports whether a try of d that ended with resp (or, when resp is nil, with a transport
// error) is worth repeating, and the wait the vault asked for (-1: none).
func (r *retryer) again(d *call, resp *http.Response, peek func() string) (bool, time.Duration) {
	op := d.op
	if !retryable[op] && !d.repeatable {
		return false, -1
	}
	if resp == nil {
		return true, -1
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
	case http.StatusConflict:
		if op != "retrieveToken" || !strings.Contains(peek(), `"token_refresh_in_progress"`) {
			return false, -1
		}
	default:
		return false, -1
	}
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		return true, d
	}
	return true, -1
}

// wait is how long to wait before try n+1: the vault's Retry-After (capped), else full jitter
// below min(MaxBackoff, InitialBackoff·2^(n-1)).
func (r *retryer) wait(n int, after time.Duration) time.Duration {
	if after >= 0 {
		return min(after, r.policy.MaxRetryAfter)
	}
	ceil := r.policy.InitialBackoff
	for i := 1; i < n && ceil < r.policy.MaxBackoff; i++ {
		ceil *= 2
	}
	ceil = min(ceil, r.policy.MaxBackoff)
	f := rand.Float64
	if r.rand != nil {
		f = r.rand
	}
	return time.Duration(f() * float64(ceil))
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

// drainClose reads a little of a body so the connection can be reused, then closes it.
func drainClose(b io.ReadCloser) {
	if b == nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(b, 64<<10))
	_ = b.Close()
}
