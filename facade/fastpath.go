package facade

import (
	"context"
	"net/http"
	"time"
)

// Hot-path helpers, kept apart so the per-call cost stays visible (see bench/: the facade is
// measured against the hand-written net/http floor).

// withTimeout is context.WithTimeout(ctx, d), except that it adds nothing (ok = false, no
// timer, no allocation) when ctx already ends within d: nested layers of one logical call
// (Request → exchange → vault doer) each apply WithTimeout, and only the outermost one counts.
func withTimeout(ctx context.Context, d time.Duration) (_ context.Context, cancel context.CancelFunc, ok bool) {
	if dl, has := ctx.Deadline(); has && time.Until(dl) <= d {
		return ctx, nil, false
	}
	ctx, cancel = context.WithTimeout(ctx, d)
	return ctx, cancel, true
}

// attemptRequest is the request of attempt n of req. The first attempt is a shallow copy that
// shares req's header map, which nothing has sent yet, so signing it in place is safe; later
// attempts deep-copy, because the transport may still be reading the earlier attempt's headers.
func attemptRequest(ctx context.Context, req *http.Request, n int) *http.Request {
	if n <= 1 {
		return req.WithContext(ctx)
	}
	return req.Clone(ctx)
}

// maxAuditInFlight bounds the background audit posts of one App (and its Agents) in flight.
// Without it, under load the posts pile up next to the foreground calls and each needs its own
// connection: with 64 goroutines the vault saw 120–300 TCP connections for 10,000 calls; with 64
// slots up to 132, with 48 slots 89–126 (bench/, make bench). Posts beyond it wait (parked, not
// dropped) for a slot; at 50 ms per post that is still ~1,000 audit records a second per App.
const maxAuditInFlight = 48

func (c *client) acquireAuditSlot(ctx context.Context) bool {
	select {
	case c.auditSlots <- struct{}{}:
		return true
	default:
	}
	select {
	case c.auditSlots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *client) releaseAuditSlot() { <-c.auditSlots }
