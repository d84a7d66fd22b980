package facade

import (
	"context"
	"maps"
	"strconv"
	"unicode/utf8"
)

// Trace identifies where a call happens in an agent workflow. Every vault call made under a ctx
// carrying a Trace sends its non-empty fields in X-Alter-Context (as run_id, thread_id and
// tool_call_id), and the vault copies them into the audit row. A per-call Context (RequestParams,
// ProxyParams) replaces the ctx's audit context for that call.
type Trace struct {
	RunID      string // the run (workflow)
	ThreadID   string // the conversation thread
	ToolCallID string // the tool call
}

// The ctx carries one audit context (alter-sdk's ambient context): WithTrace, WithAuditContext
// and Agent.Trace each derive a new one from it, never changing the one they were given.
type auditKey struct{}

func ambient(ctx context.Context) map[string]string {
	m, _ := ctx.Value(auditKey{}).(map[string]string)
	return m
}

// withAmbient stores a context derived from the ctx's: edit gets a copy to change.
func withAmbient(ctx context.Context, edit func(m map[string]string)) context.Context {
	m := maps.Clone(ambient(ctx))
	if m == nil {
		m = map[string]string{}
	}
	edit(m)
	return context.WithValue(ctx, auditKey{}, m)
}

// WithTrace returns a ctx carrying t. Traces nest: the non-empty fields of t override those of
// a Trace already on ctx, the others are kept.
func WithTrace(ctx context.Context, t Trace) context.Context {
	return withAmbient(ctx, func(m map[string]string) {
		for k, v := range map[string]string{"run_id": t.RunID, "thread_id": t.ThreadID, "tool_call_id": t.ToolCallID} {
			if v != "" {
				m[k] = v
			}
		}
	})
}

// TraceFrom returns the Trace carried by ctx (the zero Trace when none).
func TraceFrom(ctx context.Context) Trace {
	m := ambient(ctx)
	return Trace{RunID: m["run_id"], ThreadID: m["thread_id"], ToolCallID: m["tool_call_id"]}
}

// WithAuditContext returns a ctx whose audit context is the ctx's with fields merged over it:
// the free-form map a framework integration sets (e.g. "tool", "framework") for every vault
// call made under it. An empty value removes its key. The vault's limits (20 keys, 64-character
// keys, 512-character values, 4096 characters encoded) are checked when a call is made.
func WithAuditContext(ctx context.Context, fields map[string]string) context.Context {
	return withAmbient(ctx, func(m map[string]string) {
		for k, v := range fields {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
	})
}

// AuditContextFrom returns a copy of the audit context ctx carries (nil when none): what a vault
// call made under ctx sends in X-Alter-Context unless the call has its own.
func AuditContextFrom(ctx context.Context) map[string]string {
	m := ambient(ctx)
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// Limits of X-Alter-Context, counted in characters as the vault counts them.
const (
	maxContextKeys  = 20
	maxContextKey   = 64
	maxContextValue = 512
	maxContextJSON  = 4096
)

// auditContext is the context of one call: what X-Alter-Context carries and what the audit
// record's context field holds. Keys are sorted (Go maps have no order; the vault reads an
// object), so the header is the same bytes for the same context.
type auditContext struct {
	fields map[string]string // nil: no context
	header string            // the encoded header value ("" when none)
}

// contextFor returns the context of a call: the per-call one when given, else the ctx's audit
// context (explicit wins, as an override should). The limits are checked here, before any I/O.
func contextFor(ctx context.Context, field string, perCall map[string]string) (auditContext, error) {
	m := perCall
	if len(m) == 0 {
		m, field = ambient(ctx), "audit context (WithTrace, WithAuditContext, Agent.Trace)"
	}
	if len(m) == 0 {
		return auditContext{}, nil
	}
	if len(m) > maxContextKeys {
		return auditContext{}, inputErr(field, "more than "+strconv.Itoa(maxContextKeys)+" keys", nil)
	}
	for k, v := range m {
		if k == "" {
			return auditContext{}, inputErr(field, "empty key", nil)
		}
		if utf8.RuneCountInString(k) > maxContextKey {
			return auditContext{}, inputErr(field, "a key is longer than "+strconv.Itoa(maxContextKey)+" characters", nil)
		}
		if utf8.RuneCountInString(v) > maxContextValue {
			return auditContext{}, inputErr(field, "a value is longer than "+strconv.Itoa(maxContextValue)+" characters", nil)
		}
	}
	b, err := marshalWire(m)
	if err != nil {
		return auditContext{}, inputErr(field, "cannot be encoded", nil)
	}
	if len(b) > maxContextJSON {
		return auditContext{}, inputErr(field, "longer than "+strconv.Itoa(maxContextJSON)+" characters once encoded", nil)
	}
	return auditContext{fields: maps.Clone(m), header: string(b)}, nil
}
