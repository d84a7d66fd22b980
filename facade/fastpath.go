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
