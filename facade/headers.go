package facade

import (
	"context"
	"net/http"

	"github.com/altersdk/alter-go/internal/signing"
)

// editRequest is gen's request editor: the headers of a vault call, from the call's descriptor.
//
//   - x-api-key and User-Agent on every call;
//   - X-Alter-Caller and X-Alter-Caller-Type: the client's caller, or the per-call override (with
//     the client's caller type, which a call cannot change);
//   - X-Alter-Actor-ID: the cached actor id, on the calls that carry actor headers and have no
//     caller override (the override names another actor);
//   - X-Alter-Context: the call's audit context, encoded by send;
//   - Content-Type only with a body (gen sets it for a body).
//
// The signing headers come last, per try, in the doer. Idempotency-Key is a gen parameter of
// createAgent, set only when the caller gives one.
func (c *client) editRequest(ctx context.Context, req *http.Request) error {
	d := callFrom(ctx)
	if d == nil {
		d = rawCall(req)
		ac, err := contextFor(ctx, "Trace", nil)
		if err != nil {
			return err
		}
		d.contextHeader = ac.header
	}
	h := req.Header
	h.Set(signing.HeaderAPIKey, c.apiKey)
	h.Set("User-Agent", userAgent)
	caller := c.caller
	if d.caller != "" {
		caller = d.caller
	}
	if caller != "" {
		h.Set(signing.HeaderCaller, caller)
		h.Set(signing.HeaderCallerType, string(c.callerType))
	}
	if d.actor && d.caller == "" {
		if id := c.actor(); id != "" {
			h.Set(signing.HeaderActorID, id)
		}
	}
	if d.contextHeader != "" {
		h.Set(signing.HeaderContext, d.contextHeader)
	}
	if d.body == nil && callFrom(ctx) != nil {
		h.Del("Content-Type")
	}
	return nil
}
