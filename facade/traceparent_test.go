package facade

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/altersdk/alter-go/vaulttest"
)

// A valid span context on the call's ctx rides as traceparent on every vault call (token, the
// background audit post, an admin call), never as tracestate and never to the provider; without
// one nothing is sent.
func TestTraceparent(t *testing.T) {
	tid := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	sid := trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	ts, err := trace.ParseTraceState("vendor=secret")
	require.NoError(t, err)
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, TraceState: ts, Remote: true})
	const want = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" // transport.md §2.6

	for name, tc := range map[string]struct {
		sc   trace.SpanContext
		want string
	}{
		"span":    {sc, want},
		"no span": {trace.SpanContext{}, ""},
		"invalid": {trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid}), ""}, // zero span id
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Credential: "cred"})
			ctx := trace.ContextWithSpanContext(bg, tc.sc)
			resp, err := e.app.Request(ctx, "GET", e.up.URL()+"/user", RequestParams{GrantID: gid})
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			_, err = e.app.Agents().List(ctx, AgentListParams{})
			require.NoError(t, err)
			require.NoError(t, e.app.Close()) // drains the audit post

			ops := map[string]bool{}
			for _, r := range e.s.Requests() {
				ops[r.Operation] = true
				require.Equal(t, tc.want, r.Header.Get("traceparent"), r.Operation)
				require.Empty(t, r.Header.Values("tracestate"), r.Operation)
			}
			for _, op := range []string{"retrieveToken", "recordApiCall", "listAgents"} {
				require.True(t, ops[op], op)
			}
			up := e.lastUpstream(t)
			require.Empty(t, up.Header.Get("traceparent"))
			require.Empty(t, up.Header.Get("tracestate"))
		})
	}
}
