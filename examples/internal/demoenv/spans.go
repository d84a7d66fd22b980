package demoenv

import (
	"context"
	"strings"

	"github.com/altersdk/alter-go/vaulttest"
)

// TraceSpans reads the user spans of traceID the vault stored, oldest first, from the dev
// vault's control API (GET /_dev/spans): what the vault's trace view would show of the trace.
func TraceSpans(ctx context.Context, traceID string) ([]vaulttest.Span, error) {
	return devList(ctx, "/_dev/spans", func(s vaulttest.Span) bool { return s.TraceID == traceID })
}

// TracedCall is a vault request that carried a traceparent.
type TracedCall struct {
	Operation   string // the operationId, e.g. retrieveToken
	Traceparent string
}

// TracedCalls reads the vault requests whose traceparent names traceID, oldest first, from the
// dev vault's request log (GET /_dev/requests). Only the operation and that header are kept:
// the log has every header verbatim, the API key's too.
func TracedCalls(ctx context.Context, traceID string) ([]TracedCall, error) {
	type logged struct {
		Operation string            `json:"operation"`
		Headers   map[string]string `json:"headers"`
	}
	reqs, err := devList(ctx, "/_dev/requests", func(r logged) bool {
		return strings.HasPrefix(r.Headers["Traceparent"], "00-"+traceID+"-")
	})
	calls := make([]TracedCall, len(reqs))
	for i, r := range reqs {
		calls[i] = TracedCall{Operation: r.Operation, Traceparent: r.Headers["Traceparent"]}
	}
	return calls, err
}
