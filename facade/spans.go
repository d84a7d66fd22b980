package facade

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/altersdk/alter-go/gen"
)

// MaxSpansPerBatch is the most spans one EmitSpans call takes (the vault's limit).
const MaxSpansPerBatch = 50

// UserSpan is one span of the caller's own work ("plan", "summarize", a retry loop) for the
// vault's trace view, next to the vault-verified credential events. Spans are telemetry: they
// never carry credentials and are not audit evidence.
type UserSpan struct {
	TraceID      string            // required, 1..255 characters
	SpanID       string            // 1..32 characters; "": the vault makes one (set it to make retries idempotent)
	ParentSpanID string            // 1..32 characters; "": a root span
	Name         string            // required, 1..255 characters
	Start        time.Time         // required
	End          time.Time         // zero: still open
	Attributes   map[string]string // string attributes (nil: none)
}

// EmitSpansResult is the answer of EmitSpans.
type EmitSpansResult struct {
	// Accepted counts the spans newly stored: a span the vault already has (same trace and span
	// id, e.g. from a retried batch) is not counted again.
	Accepted int
}

// EmitSpans sends 1..MaxSpansPerBatch spans (scope spans:emit). Every span is checked before
// anything is sent. When every span has its own SpanID the call is retried under the client's
// RetryPolicy (the vault absorbs a span it already has); otherwise it is sent once.
func (c *client) EmitSpans(ctx context.Context, spans []UserSpan) (EmitSpansResult, error) {
	switch {
	case len(spans) == 0:
		return EmitSpansResult{}, inputErr("spans", "must hold at least one span", nil)
	case len(spans) > MaxSpansPerBatch:
		return EmitSpansResult{}, inputErr("spans", fmt.Sprintf("at most %d spans per call", MaxSpansPerBatch), nil)
	}
	req := gen.EmitSpansRequest{Spans: make([]gen.UserSpan, len(spans))}
	repeatable := true
	for i, sp := range spans {
		repeatable = repeatable && sp.SpanID != ""
		g, err := sp.wire(fmt.Sprintf("spans[%d]", i))
		if err != nil {
			return EmitSpansResult{}, err
		}
		req.Spans[i] = g
	}
	d := &call{op: "emitSpans", surface: surfaceShared, field: "spans", actor: true, ctxHeader: true, repeatable: repeatable}
	out, err := sendValid(ctx, c, d, req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.EmitSpansWithBody(ctx, contentJSON, body)
	}, func(r *gen.EmitSpansResult) bool { return r.Accepted >= 0 })
	if err != nil {
		return EmitSpansResult{}, err
	}
	return EmitSpansResult{Accepted: out.Accepted}, nil
}

// wire checks the span and returns it as the wire has it: unset optional fields absent, the
// attributes always present.
func (sp UserSpan) wire(field string) (gen.UserSpan, error) {
	for _, f := range []struct {
		name     string
		v        string
		min, max int
	}{
		{".TraceID", sp.TraceID, 1, 255}, {".Name", sp.Name, 1, 255},
		{".SpanID", sp.SpanID, 0, 32}, {".ParentSpanID", sp.ParentSpanID, 0, 32},
	} {
		if n := utf8.RuneCountInString(f.v); n < f.min || n > f.max {
			reason := fmt.Sprintf("must be at most %d characters", f.max)
			if f.min > 0 {
				reason = fmt.Sprintf("required, at most %d characters", f.max)
			}
			return gen.UserSpan{}, inputErr(field+f.name, reason, nil)
		}
	}
	if sp.Start.IsZero() {
		return gen.UserSpan{}, inputErr(field+".Start", "required", nil)
	}
	g := gen.UserSpan{TraceID: sp.TraceID, Name: sp.Name, StartTime: sp.Start, SpanID: optStr(sp.SpanID),
		ParentSpanID: optStr(sp.ParentSpanID), Attributes: sp.Attributes}
	if g.Attributes == nil {
		g.Attributes = map[string]string{}
	}
	if !sp.End.IsZero() {
		end := sp.End
		g.EndTime = &end
	}
	return g, nil
}
