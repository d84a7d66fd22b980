package facade

import "context"

// Trace identifies where a call happens in an agent workflow. Every vault call made under a ctx
// carrying a Trace sends its non-empty fields as X-Alter-Run-Id, X-Alter-Thread-Id and
// X-Alter-Tool-Call-Id, and the vault copies them into the audit row.
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

// validate checks the ids before they become header values.
func (t Trace) validate() error {
	if err := checkHeaderValue("Trace.RunID", t.RunID, 256); err != nil {
		return err
	}
	if err := checkHeaderValue("Trace.ThreadID", t.ThreadID, 256); err != nil {
		return err
	}
	return checkHeaderValue("Trace.ToolCallID", t.ToolCallID, 256)
}
