// Package alterotel makes Alter one more span exporter of an OpenTelemetry tracer provider:
//
//	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(alterotel.NewExporter(app)))
//
// Every span the provider ends goes to the vault's trace view through the client's EmitSpans
// (scope spans:emit), next to the credential events the vault records itself. Those events
// carry the traceparent of the span on the call's ctx (package facade does that with the
// OpenTelemetry API alone), so the application's spans and the vault's events share one trace id.
//
// # What a span becomes
//
// The wire's user span has ids, a name, two times and string attributes (openapi.yaml UserSpan),
// so an OpenTelemetry span maps as the OpenTelemetry specification's transformation to non-OTLP
// formats says:
//
//   - trace_id, span_id, parent_span_id: the W3C ids in lower-case hex (32 and 16 digits), the
//     trace id the one traceparent carries. A span is always sent with its own id, so a retried
//     batch is absorbed by the vault rather than counted twice (and the facade may retry it).
//   - name: the span's name, cut to the wire's 255 characters; an empty name is sent as
//     "unnamed" (the wire requires one).
//   - start_time, end_time: the span's times.
//   - attributes: the span's attributes, each value as a string in OpenTelemetry's AnyValue
//     representation for non-OTLP protocols (attribute.Value.String): a string as itself, a
//     bool or a number as its JSON literal (NaN, Infinity, -Infinity), a slice or a map as a
//     JSON array or object, bytes in base64. Then service.name from the span's resource when the span has no attribute of
//     that name; span.kind (client, server, producer, consumer) unless the span is internal;
//     otel.scope.name and otel.scope.version; otel.status_code (OK or ERROR, absent when unset)
//     and otel.status_description; otel.dropped_attributes_count, otel.dropped_events_count and
//     otel.dropped_links_count when the SDK dropped any. These keys but service.name are the
//     exporter's: a span attribute of the same name is overwritten.
//
// The wire has no events or links: they are not sent. A span whose ids are not valid (a hand-made
// ReadOnlySpan) is not sent either; ExportSpans reports it and sends the others.
//
// # Batches, retries, shutdown
//
// ExportSpans sends the batch the span processor hands it in chunks of facade.MaxSpansPerBatch
// (the vault's cap), one after another, and stops at the first chunk that fails: its error says
// how many spans were not exported and wraps the facade's error (errors.Is and errors.As work;
// like every facade error it never carries the API key). Each chunk is retried under the
// client's RetryPolicy (a 429, 502, 503, 504 or a transport failure), within the ctx the
// processor gives (the batch processor's ExportTimeout, 30 s by default).
//
// Shutdown stops the exporter: it waits for the exports in flight (or for its ctx to end) and
// from then on ExportSpans returns ErrShutdown. It is idempotent, and it does not close the
// client: shut the tracer provider down first (which flushes its queue through ExportSpans), then
// close the App or Agent. The exporter buffers nothing, so a flush is the tracer provider's
// ForceFlush.
//
// It is a module of its own (github.com/altersdk/alter-go/alterotel) so that a program importing
// only facade compiles none of the OpenTelemetry SDK.
package alterotel
