package facade

import (
	"context"
	"net/http"

	"github.com/altersdk/alter-go/internal/signing"
)

// The canonical forms of the header names editRequest sets.
var (
	hdrAPIKey     = http.CanonicalHeaderKey(signing.HeaderAPIKey)
	hdrCaller     = http.CanonicalHeaderKey(signing.HeaderCaller)
	hdrCallerType = http.CanonicalHeaderKey(signing.HeaderCallerType)
	hdrActorID    = http.CanonicalHeaderKey(signing.HeaderActorID)
	hdrContext    = http.CanonicalHeaderKey(signing.HeaderContext)
	hdrScopes     = http.CanonicalHeaderKey(signing.HeaderScopeConstraints)
	hdrRule       = http.CanonicalHeaderKey(signing.HeaderRequestRule)
)

// editRequest is gen's request editor: the headers of a vault call, from the call's descriptor.
//
//   - x-api-key and User-Agent on every call;
//   - X-Alter-Caller and X-Alter-Caller-Type: the client's caller, or the per-call override (with
//     the client's caller type, which a call cannot change);
//   - X-Alter-Actor-ID: the cached actor id, on the calls that carry actor headers and have no
//     caller override (the override names another actor);
//   - X-Alter-Context: the call's audit context, encoded by send;
//   - X-Alter-Scope-Constraints and X-Alter-Request-Rule on every call of a constrained client
//     (the signer binds both into the signature);
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
	// The values share one backing array, each clipped to itself (an Add elsewhere copies), and
	// the names are canonical already: what h.Set would store, with one allocation in all.
	h := req.Header
	slots := 6
	if c.limits != (attenuation{}) {
		slots = 8
	}
	vals := make([]string, 0, slots) // two more for a constrained client
	set := func(k, v string) {
		vals = append(vals, v)
		n := len(vals)
		h[k] = vals[n-1 : n : n]
	}
	set(hdrAPIKey, c.apiKey)
	set("User-Agent", userAgent)
	caller := c.caller
	if d.caller != "" {
		caller = d.caller
	}
	if caller != "" {
		set(hdrCaller, caller)
		set(hdrCallerType, string(c.callerType))
	}
	if d.actor && d.caller == "" {
		if id := c.actor(); id != "" {
			set(hdrActorID, id)
		}
	}
	if d.contextHeader != "" {
		set(hdrContext, d.contextHeader)
	}
	if c.limits.scopes != "" {
		set(hdrScopes, c.limits.scopes)
	}
	if c.limits.rule != "" {
		set(hdrRule, c.limits.rule)
	}
	if d.body == nil && callFrom(ctx) != nil {
		h.Del("Content-Type")
	}
	return nil
}
