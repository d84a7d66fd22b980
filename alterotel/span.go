package alterotel

import (
	"fmt"
	"strconv"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/altersdk/alter-go/facade"
)

// maxName is the wire's bound of a span name, in characters (openapi.yaml UserSpan.name).
const maxName = 255

// unnamed stands in for an empty span name, which the wire refuses.
const unnamed = "unnamed"

// The attribute keys the exporter adds (the OpenTelemetry transformation to non-OTLP formats;
// span.kind and service.name as the Zipkin and Jaeger mappings name them).
const (
	keyServiceName        = "service.name"
	keySpanKind           = "span.kind"
	keyScopeName          = "otel.scope.name"
	keyScopeVersion       = "otel.scope.version"
	keyStatusCode         = "otel.status_code"
	keyStatusDescription  = "otel.status_description"
	keyDroppedAttributes  = "otel.dropped_attributes_count"
	keyDroppedEvents      = "otel.dropped_events_count"
	keyDroppedLinks       = "otel.dropped_links_count"
	statusOK, statusError = "OK", "ERROR"
)

// userSpan maps s to the wire's user span (see the package documentation).
func userSpan(s sdktrace.ReadOnlySpan) (facade.UserSpan, error) {
	sc := s.SpanContext()
	if !sc.IsValid() {
		return facade.UserSpan{}, fmt.Errorf("alterotel: span %q not exported: its trace or span id is not valid", s.Name())
	}
	if s.StartTime().IsZero() {
		return facade.UserSpan{}, fmt.Errorf("alterotel: span %q not exported: it has no start time", s.Name())
	}
	u := facade.UserSpan{TraceID: sc.TraceID().String(), SpanID: sc.SpanID().String(), Name: spanName(s.Name()),
		Start: s.StartTime(), End: s.EndTime(), Attributes: attributes(s)}
	if p := s.Parent(); p.HasSpanID() {
		u.ParentSpanID = p.SpanID().String()
	}
	return u, nil
}

// spanName is name within the wire's bounds.
func spanName(name string) string {
	if name == "" {
		return unnamed
	}
	n := 0
	for i := range name {
		if n == maxName {
			return name[:i]
		}
		n++
	}
	return name
}

func attributes(s sdktrace.ReadOnlySpan) map[string]string {
	kvs := s.Attributes()
	m := make(map[string]string, len(kvs)+4)
	if v, ok := s.Resource().Set().Value(keyServiceName); ok { // a nil Resource is an empty one
		m[keyServiceName] = v.String()
	}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.String() // the AnyValue representation for non-OTLP protocols
	}
	switch k := s.SpanKind(); k {
	case trace.SpanKindClient, trace.SpanKindServer, trace.SpanKindProducer, trace.SpanKindConsumer:
		m[keySpanKind] = k.String()
	}
	scope := s.InstrumentationScope()
	set(m, keyScopeName, scope.Name)
	set(m, keyScopeVersion, scope.Version)
	switch st := s.Status(); st.Code {
	case codes.Ok:
		m[keyStatusCode] = statusOK
	case codes.Error:
		m[keyStatusCode] = statusError
		set(m, keyStatusDescription, st.Description)
	}
	count(m, keyDroppedAttributes, s.DroppedAttributes())
	count(m, keyDroppedEvents, s.DroppedEvents())
	count(m, keyDroppedLinks, s.DroppedLinks())
	return m
}

func set(m map[string]string, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func count(m map[string]string, k string, n int) {
	if n > 0 {
		m[k] = strconv.Itoa(n)
	}
}
