// Command otel-spans makes Alter one more batcher of an OpenTelemetry tracer provider
// (sdktrace.WithBatcher(alterotel.NewExporter(app))): the program traces its work as usual, the
// vault calls made inside a span carry it in traceparent, and every span the provider ends
// reaches the vault through spans emit under the same trace id, so the vault's trace view joins
// its credential events to the program's own spans.
//
//	go run ./otel-spans    # in examples/bridges; nothing set: starts an in-memory vault
//	make demo              # against cmd/altervault-dev
package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/altersdk/alter-go/alterotel"
	"github.com/altersdk/alter-go/examples/internal/demoenv"
	"github.com/altersdk/alter-go/facade"
)

func main() {
	ctx := context.Background()
	env, cleanup, err := demoenv.Setup(demoenv.VarAppKey, demoenv.VarGrantID, demoenv.VarUpstreamURL)
	if err == nil {
		err = run(ctx, env)
	}
	cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "otel-spans:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, env *demoenv.Env) error {
	app, err := facade.NewApp(os.Getenv(demoenv.VarAppKey), facade.WithCaller("otel-spans"))
	if err != nil {
		return err
	}
	defer func() { _ = app.Close() }()

	// The application's tracer provider, with Alter as one more batcher (a real one would have
	// its OTLP exporter beside it).
	res := resource.NewSchemaless(attribute.String("service.name", "repo-sync"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(alterotel.NewExporter(app)), sdktrace.WithResource(res))
	tracer := tp.Tracer("example/otel-spans", trace.WithInstrumentationVersion("1.0.0"))
	runID := demoenv.RunID("otel-spans")
	ctx = facade.WithTrace(ctx, facade.Trace{RunID: runID})

	ctx, root := tracer.Start(ctx, "sync repositories", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("repo.owner", "octo-org")))
	traceID := root.SpanContext().TraceID().String()
	fmt.Printf("caller: App %q (run %s); service repo-sync traces with Alter as one more batcher\n", "otel-spans", runID)
	fmt.Printf("trace:  %s\n", traceID)

	callCtx, call := tracer.Start(ctx, "read repository", trace.WithSpanKind(trace.SpanKindClient))
	resp, err := app.Request(callCtx, http.MethodGet, env.UpstreamURL+"/repos/{owner}/{repo}", facade.RequestParams{
		GrantID: env.GrantID, PathParams: map[string]string{"owner": "octo-org", "repo": "hello-world"}, Reason: "otel-spans demo"})
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	call.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	call.End()
	fmt.Printf("call:   GET /repos/octo-org/hello-world -> %d, in span %q (%s)\n", resp.StatusCode, "read repository", call.SpanContext().SpanID())

	_, step := tracer.Start(ctx, "plan changes", trace.WithAttributes(attribute.StringSlice("branches", []string{"main", "dev"}),
		attribute.Bool("dry_run", true)))
	step.RecordError(errors.New("branch dev is protected"))
	step.SetStatus(codes.Error, "branch dev is protected")
	step.End()
	root.End()

	// Shutdown flushes the batcher: the three spans go out through spans emit. Then close the App.
	if err := tp.Shutdown(ctx); err != nil {
		return err
	}
	if err := app.Close(); err != nil { // drains the audit post
		return err
	}

	calls, err := demoenv.TracedCalls(ctx, traceID)
	if err != nil {
		return err
	}
	fmt.Printf("\nvault calls carrying trace %s in traceparent (read from the dev vault's GET /_dev/requests):\n", traceID[:8])
	for _, c := range calls {
		fmt.Printf("  %-14s %s\n", c.Operation, c.Traceparent)
	}

	spans, err := demoenv.TraceSpans(ctx, traceID)
	if err != nil {
		return err
	}
	fmt.Printf("\nspans of trace %s the vault stored (%d, exported by tp.Shutdown; read from GET /_dev/spans):\n", traceID[:8], len(spans))
	for _, s := range spans {
		parent := s.ParentSpanID
		if parent == "" {
			parent = "(root)"
		}
		fmt.Printf("  %-18s span %s parent %-16s %s\n", s.Name, s.SpanID, parent, attrs(s.Attributes))
	}
	return nil
}

// attrs prints a span's attributes sorted, without the ones every span of this program has.
func attrs(m map[string]string) string {
	var kv []string
	for k, v := range m {
		if k != "service.name" && k != "otel.scope.name" && k != "otel.scope.version" {
			kv = append(kv, k+"="+v)
		}
	}
	sort.Strings(kv)
	return strings.Join(kv, " ")
}
