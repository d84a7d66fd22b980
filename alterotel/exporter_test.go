package alterotel_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/altersdk/alter-go/alterotel"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// setup is a vault, an App on it (no retry waits), and an exporter on the App.
func setup(t *testing.T, opts ...facade.Option) (*vaulttest.Server, *facade.App, *alterotel.Exporter) {
	t.Helper()
	vault := vaulttest.NewTestServer(t)
	opts = append([]facade.Option{facade.WithBaseURL(vault.URL()),
		facade.WithRetryPolicy(facade.RetryPolicy{InitialBackoff: time.Millisecond})}, opts...)
	app, err := facade.NewApp(vault.AppKey(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close() })
	return vault, app, alterotel.NewExporter(app)
}

// emits are the spans emit requests the vault received.
func emits(vault *vaulttest.Server) []vaulttest.Request {
	var out []vaulttest.Request
	for _, r := range vault.Requests() {
		if r.Operation == "emitSpans" {
			out = append(out, r)
		}
	}
	return out
}

// The exporter as one more batcher of a normal tracer provider: a span tree ends, the vault
// stores each span under its own trace, span and parent ids, with its name, times and
// attributes; the vault call made inside a span carries that span in traceparent, so the
// vault's events and the exported spans share the trace id.
func TestTracerProviderToVault(t *testing.T) {
	vault, app, exp := setup(t)
	up := vaulttest.NewEchoUpstream()
	t.Cleanup(up.Close)
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Credential: "cred"})
	res, err := resource.New(bg, resource.WithAttributes(attribute.String("service.name", "checkout"), attribute.String("host.name", "h1")))
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	tracer := tp.Tracer("shop/checkout", trace.WithInstrumentationVersion("1.2.3"))

	ctx, root := tracer.Start(bg, "POST /checkout", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("s", "text"), attribute.Bool("b", true), attribute.Int64("i", -42), attribute.Float64("f", 2.5),
		attribute.StringSlice("ss", []string{"a", `"b"`}), attribute.BoolSlice("bs", []bool{true, false}),
		attribute.Int64Slice("is", []int64{1, 2}), attribute.Float64Slice("fs", []float64{0.5, 1}),
		attribute.ByteSlice("bytes", []byte("hi")), attribute.Map("m", attribute.Int("n", 1)),
		attribute.Float64("nan", math.NaN())))
	root.SetStatus(codes.Ok, "")
	cctx, child := tracer.Start(ctx, "charge card")
	resp, err := app.Request(cctx, "GET", up.URL()+"/user", facade.RequestParams{GrantID: grant})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	child.RecordError(errors.New("card declined"))
	child.SetStatus(codes.Error, "card declined")
	child.End()
	root.End()
	require.NoError(t, tp.Shutdown(bg))

	spans := vault.Spans()
	require.Len(t, spans, 2)
	c, r := spans[0], spans[1] // the child ends first
	rsc, csc := root.SpanContext(), child.SpanContext()
	require.Equal(t, rsc.TraceID().String(), r.TraceID)
	require.Equal(t, rsc.SpanID().String(), r.SpanID)
	require.Empty(t, r.ParentSpanID)
	require.Equal(t, rsc.TraceID().String(), c.TraceID)
	require.Equal(t, csc.SpanID().String(), c.SpanID)
	require.Equal(t, rsc.SpanID().String(), c.ParentSpanID)
	require.Equal(t, "POST /checkout", r.Name)
	require.Equal(t, "charge card", c.Name)
	ro := root.(sdktrace.ReadOnlySpan)
	require.True(t, ro.StartTime().Equal(r.Start), "%v %v", ro.StartTime(), r.Start)
	require.NotNil(t, r.End)
	require.True(t, ro.EndTime().Equal(*r.End))
	require.Equal(t, map[string]string{
		"s": "text", "b": "true", "i": "-42", "f": "2.5", "ss": `["a","\"b\""]`, "bs": "[true,false]",
		"is": "[1,2]", "fs": "[0.5,1]", "bytes": "aGk=", "m": `{"n":1}`, "nan": "NaN",
		"service.name": "checkout", "span.kind": "server",
		"otel.scope.name": "shop/checkout", "otel.scope.version": "1.2.3", "otel.status_code": "OK",
	}, r.Attributes)
	require.Equal(t, map[string]string{
		"service.name": "checkout", "otel.scope.name": "shop/checkout", "otel.scope.version": "1.2.3",
		"otel.status_code": "ERROR", "otel.status_description": "card declined",
	}, c.Attributes, "internal kind: no span.kind; the exception event is not sent")

	want := fmt.Sprintf("00-%s-%s-01", csc.TraceID(), csc.SpanID())
	ops := map[string]string{}
	for _, req := range vault.Requests() {
		ops[req.Operation] = req.Header.Get("traceparent")
	}
	require.Equal(t, want, ops["retrieveToken"], "the vault sees the caller's trace id and span")
	require.Empty(t, ops["emitSpans"], "the export itself runs outside any span")
	require.Len(t, emits(vault), 1, "one batch")
}

// A batch larger than the vault's cap goes in chunks of facade.MaxSpansPerBatch; every span
// arrives once.
func TestChunks(t *testing.T) {
	vault, _, exp := setup(t)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(512)))
	tracer := tp.Tracer("chunks")
	const n = 2*facade.MaxSpansPerBatch + 20
	for i := range n {
		_, s := tracer.Start(bg, fmt.Sprint("step ", i))
		s.End()
	}
	require.NoError(t, tp.ForceFlush(bg))
	var sizes []int
	for _, r := range emits(vault) {
		sizes = append(sizes, strings.Count(string(r.Body), `"trace_id"`))
	}
	require.Equal(t, []int{50, 50, 20}, sizes)
	require.Len(t, vault.Spans(), n)
	require.NoError(t, tp.Shutdown(bg))
}

// stubs are n ended spans of one trace, each with its own span id.
func stubs(n int) tracetest.SpanStubs {
	tid := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	start := time.Date(2026, 12, 2, 3, 0, 0, 123456789, time.UTC)
	out := make(tracetest.SpanStubs, n)
	for i := range out {
		sid := trace.SpanID{0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i) + 1}
		out[i] = tracetest.SpanStub{Name: fmt.Sprint("s", i), StartTime: start, EndTime: start.Add(time.Second),
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid})}
	}
	return out
}

// A busy vault: the chunk is retried (every span has its own id, so the vault absorbs a repeat)
// and the spans are stored once.
func TestRetried(t *testing.T) {
	vault, _, exp := setup(t)
	vault.InjectFault("emitSpans", vaulttest.Fault{Status: 503})
	require.NoError(t, exp.ExportSpans(bg, stubs(3).Snapshots()))
	require.Len(t, emits(vault), 2)
	require.Len(t, vault.Spans(), 3)
}

// An Agent exports as well: the vault stores the spans as the agent's.
func TestAgentExports(t *testing.T) {
	vault := vaulttest.NewTestServer(t)
	a := vault.AddAgent("planner")
	agent, err := facade.NewAgent(a.APIKey, facade.WithBaseURL(vault.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = agent.Close() })
	require.NoError(t, alterotel.NewExporter(agent).ExportSpans(bg, stubs(2).Snapshots()))
	spans := vault.Spans()
	require.Len(t, spans, 2)
	require.Equal(t, a.ID, spans[0].AgentID)
}

// A refused chunk stops the export: the error says how many spans were not exported, wraps the
// facade's error, and never carries the key.
func TestRefused(t *testing.T) {
	vault := vaulttest.NewTestServer(t)
	key := vault.AddAppKey(vaulttest.KeyScopes("tokens:read")) // no spans:emit
	app, err := facade.NewApp(key.APIKey, facade.WithBaseURL(vault.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close() })
	err = alterotel.NewExporter(app).ExportSpans(bg, stubs(2*facade.MaxSpansPerBatch+1).Snapshots())
	require.ErrorIs(t, err, facade.ErrBackend)
	var apiErr *facade.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, 403, apiErr.Status)
	require.Equal(t, "emitSpans", apiErr.Op)
	require.Contains(t, err.Error(), "101 of 101 spans not exported")
	require.NotContains(t, err.Error(), key.APIKey)
	require.NotContains(t, fmt.Sprintf("%#v", err), key.APIKey)
	require.Len(t, emits(vault), 1, "the first refusal stops the export")
	require.Empty(t, vault.Spans())
}

// What a span becomes at the wire's edges: a long name is cut to 255 characters, an empty one
// named; a span without valid ids or a start time is reported and the rest are sent; the
// exporter's keys overwrite a span attribute of the same name, service.name does not; dropped
// counts are reported; the wire carries no events.
func TestMapping(t *testing.T) {
	vault, _, exp := setup(t)
	ss := stubs(5)
	long := strings.Repeat("é", 300)
	ss[0].Name = long
	ss[1].Name = ""
	ss[2].SpanContext = trace.SpanContext{}
	ss[2].Name = "no ids"
	ss[3].StartTime = time.Time{}
	ss[3].Name = "no start"
	ss[4].Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: ss[4].SpanContext.TraceID(), SpanID: trace.SpanID{9, 9, 9, 9, 9, 9, 9, 9}, Remote: true})
	ss[4].SpanKind = trace.SpanKindClient
	ss[4].Attributes = []attribute.KeyValue{attribute.String("otel.status_code", "mine"), attribute.String("service.name", "span's")}
	ss[4].Resource = resource.NewSchemaless(attribute.String("service.name", "resource's"))
	ss[4].Status = sdktrace.Status{Code: codes.Error}
	ss[4].DroppedAttributes, ss[4].DroppedEvents, ss[4].DroppedLinks = 3, 2, 1
	ss[4].Events = []sdktrace.Event{{Name: "e", Time: ss[4].StartTime}}
	ss[4].InstrumentationScope = instrumentation.Scope{Name: "lib"}

	err := exp.ExportSpans(bg, ss.Snapshots())
	require.ErrorContains(t, err, `span "no ids" not exported: its trace or span id is not valid`)
	require.ErrorContains(t, err, `span "no start" not exported: it has no start time`)
	got := vault.Spans()
	require.Len(t, got, 3)
	require.Equal(t, strings.Repeat("é", 255), got[0].Name)
	require.Equal(t, "unnamed", got[1].Name)
	require.Equal(t, "0909090909090909", got[2].ParentSpanID)
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", got[2].TraceID)
	require.Equal(t, "0000000000000005", got[2].SpanID)
	require.True(t, ss[4].StartTime.Equal(got[2].Start), "nanoseconds kept")
	require.Equal(t, map[string]string{"otel.status_code": "ERROR", "service.name": "span's", "span.kind": "client",
		"otel.scope.name": "lib", "otel.dropped_attributes_count": "3", "otel.dropped_events_count": "2",
		"otel.dropped_links_count": "1"}, got[2].Attributes)
	require.Empty(t, got[0].Attributes)
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var bg = context.Background()

// blocking is an Emitter whose first EmitSpans says it entered and waits for release (or its
// ctx); later calls answer at once. It counts the calls.
type blocking struct {
	entered, release chan struct{}
	calls            atomic.Int32
}

func (b *blocking) EmitSpans(ctx context.Context, spans []facade.UserSpan) (facade.EmitSpansResult, error) {
	if b.calls.Add(1) > 1 {
		return facade.EmitSpansResult{Accepted: len(spans)}, nil
	}
	b.entered <- struct{}{}
	select {
	case <-b.release:
		return facade.EmitSpansResult{Accepted: len(spans)}, nil
	case <-ctx.Done():
		return facade.EmitSpansResult{}, ctx.Err()
	}
}

// Shutdown waits for the export in flight (or its ctx), is idempotent, and from then on
// ExportSpans returns ErrShutdown without sending.
func TestShutdown(t *testing.T) {
	b := &blocking{entered: make(chan struct{}), release: make(chan struct{})}
	exp := alterotel.NewExporter(b)
	done := make(chan error)
	go func() { done <- exp.ExportSpans(bg, stubs(1).Snapshots()) }()
	<-b.entered

	ctx, cancel := context.WithCancel(bg)
	cancel()
	require.ErrorIs(t, exp.Shutdown(ctx), context.Canceled, "an export is in flight")
	require.ErrorIs(t, exp.ExportSpans(bg, stubs(1).Snapshots()), alterotel.ErrShutdown, "stopped already")

	shut := make(chan error)
	go func() { shut <- exp.Shutdown(bg) }()
	close(b.release)
	require.NoError(t, <-done, "the export in flight completes")
	require.NoError(t, <-shut)
	require.NoError(t, exp.Shutdown(bg), "idempotent")
	require.ErrorIs(t, exp.ExportSpans(bg, stubs(1).Snapshots()), alterotel.ErrShutdown)
	require.EqualValues(t, 1, b.calls.Load())
}

// The export honors its ctx: an ended ctx sends nothing, and a ctx that ends between chunks
// stops the export there.
func TestExportCtx(t *testing.T) {
	b := &blocking{entered: make(chan struct{}, 3), release: make(chan struct{})}
	exp := alterotel.NewExporter(b)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	require.ErrorIs(t, exp.ExportSpans(ctx, stubs(1).Snapshots()), context.Canceled)
	require.Zero(t, b.calls.Load())

	ctx, cancel = context.WithCancel(bg)
	go func() { <-b.entered; cancel() }()
	err := exp.ExportSpans(ctx, stubs(facade.MaxSpansPerBatch+1).Snapshots())
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "51 of 51 spans not exported")
	require.EqualValues(t, 1, b.calls.Load())
	require.NoError(t, exp.Shutdown(bg))
}

// An exporter without a client reports it rather than panicking, a typed nil App or Agent too.
func TestNoClient(t *testing.T) {
	var app *facade.App
	var agent *facade.Agent
	for _, e := range []alterotel.Emitter{nil, app, agent} {
		err := alterotel.NewExporter(e).ExportSpans(bg, stubs(1).Snapshots())
		require.ErrorContains(t, err, "NewExporter was given no client")
	}
}
