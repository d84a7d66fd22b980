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
// ProxyParams) replaces the Trace for that call.
type Trace struct {
	RunID      string // the run (workflow)
	ThreadID   string // the conversation thread
	ToolCallID string // the tool call
}

type traceKey struct{}

// WithTrace returns a ctx carrying t. Traces nest: the non-empty fields of t override those of
// a Trace already on ctx, the others are kept.
func WithTrace(ctx context.Context, t Trace) context.Context {
	cur := TraceFrom(ctx)
	if t.RunID != "" {
		cur.RunID = t.RunID
	}
	if t.ThreadID != "" {
		cur.ThreadID = t.ThreadID
	}
	if t.ToolCallID != "" {
		cur.ToolCallID = t.ToolCallID
	}
	return context.WithValue(ctx, traceKey{}, cur)
}

// TraceFrom returns the Trace carried by ctx (the zero Trace when none).
func TraceFrom(ctx context.Context) Trace {
	t, _ := ctx.Value(traceKey{}).(Trace)
	return t
}

// fields is the Trace as audit context entries (nil when empty).
func (t Trace) fields() map[string]string {
	if t == (Trace{}) {
		return nil
	}
	m := make(map[string]string, 3)
	for k, v := range map[string]string{"run_id": t.RunID, "thread_id": t.ThreadID, "tool_call_id": t.ToolCallID} {
		if v != "" {
			m[k] = v
		}
	}
	return m
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

// contextFor returns the context of a call: the per-call one when given, else the ctx's Trace
// (explicit wins, as an override should). The limits are checked here, before any I/O.
func contextFor(ctx context.Context, field string, perCall map[string]string) (auditContext, error) {
	m := perCall
	if len(m) == 0 {
		m, field = TraceFrom(ctx).fields(), "Trace"
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
