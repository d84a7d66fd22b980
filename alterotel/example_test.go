package alterotel_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/altersdk/alter-go/alterotel"
	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// Alter as one more batcher of the application's tracer provider. The vault call made inside a
// span carries it in traceparent, and the spans arrive through spans emit under the same trace.
// Here vaulttest stands in for the vault and the provider's API.
func ExampleNewExporter() {
	vault, api := vaulttest.NewServer(), vaulttest.NewEchoUpstream()
	defer func() { api.Close(); vault.Close() }()
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Credential: "gho_example"})
	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = app.Close() }()

	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(alterotel.NewExporter(app)))
	ctx, span := tp.Tracer("example/sync").Start(context.Background(), "sync repos")
	span.SetAttributes(attribute.Int("repos", 3))
	resp, err := app.Request(ctx, "GET", api.URL()+"/user/repos", facade.RequestParams{GrantID: grant})
	if err != nil {
		log.Fatal(err)
	}
	_ = resp.Body.Close()
	span.End()
	if err := tp.Shutdown(ctx); err != nil { // flushes the batch through spans emit
		log.Fatal(err)
	}

	for _, r := range vault.Requests() {
		if r.Operation == "retrieveToken" {
			fmt.Println("credential fetch traceparent carries the trace:",
				strings.Contains(r.Header.Get("traceparent"), span.SpanContext().TraceID().String()))
		}
	}
	for _, s := range vault.Spans() {
		fmt.Println("vault span:", s.Name, s.Attributes["repos"], s.TraceID == span.SpanContext().TraceID().String())
	}
	// Output:
	// credential fetch traceparent carries the trace: true
	// vault span: sync repos 3 true
}
