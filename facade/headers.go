package facade

import (
	"context"
	"encoding/hex"
	"net/http"

	"go.opentelemetry.io/otel/trace"

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
	hdrTrace      = http.CanonicalHeaderKey("traceparent")
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
//   - traceparent (W3C, version 00) when ctx carries a valid OpenTelemetry span context, so the
//     vault's audit trail joins the application's trace; never tracestate, which the vault
//     ignores, and never signed (0.29.0 signs neither);
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
	slots := 7
	if c.limits != (attenuation{}) {
		slots = 9
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
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		set(hdrTrace, traceparent(sc))
	}
	if d.body == nil && callFrom(ctx) != nil {
		h.Del("Content-Type")
	}
	return nil
}

// traceparent renders sc as a W3C traceparent: 00-<trace id>-<span id>-<flags>, lower-case hex.
// By hand rather than through a propagator: the vault wants this format whatever propagator
// the application registered.
func traceparent(sc trace.SpanContext) string {
	tid, sid := sc.TraceID(), sc.SpanID()
	var b [55]byte
	copy(b[:], "00-")
	hex.Encode(b[3:35], tid[:])
	b[35] = '-'
	hex.Encode(b[36:52], sid[:])
	b[52] = '-'
	hex.Encode(b[53:], []byte{byte(sc.TraceFlags())})
	return string(b[:])
}
