package alterotel

import (
	"context"
	"errors"
	"fmt"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/altersdk/alter-go/facade"
)

// Emitter sends user spans to the vault: *facade.App and *facade.Agent.
type Emitter interface {
	EmitSpans(ctx context.Context, spans []facade.UserSpan) (facade.EmitSpansResult, error)
}

// ErrShutdown is returned by ExportSpans once Shutdown was called.
var ErrShutdown = errors.New("alterotel: the exporter is shut down")

// errNoEmitter is returned by ExportSpans of an exporter built without a client.
var errNoEmitter = errors.New("alterotel: NewExporter was given no client")

// Exporter is an sdktrace.SpanExporter that sends spans through spans emit. It is safe for
// concurrent use.
type Exporter struct {
	emitter Emitter

	mu       sync.Mutex
	stopped  bool
	inFlight int
	idle     chan struct{} // closed when inFlight drops to 0; nil while it is 0
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// NewExporter returns an exporter sending spans through e (an *facade.App or *facade.Agent,
// whose key needs the spans:emit scope). Give it to the tracer provider with
// sdktrace.WithBatcher.
func NewExporter(e Emitter) *Exporter {
	return &Exporter{emitter: e}
}

// ExportSpans sends spans in chunks of facade.MaxSpansPerBatch, stopping at the first chunk that
// fails. A span that cannot be mapped (invalid ids) is reported in the error and skipped.
func (x *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := x.begin(); err != nil {
		return err
	}
	defer x.end()
	if noEmitter(x.emitter) {
		return errNoEmitter
	}
	var errs []error
	batch := make([]facade.UserSpan, 0, len(spans))
	for _, s := range spans {
		u, err := userSpan(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		batch = append(batch, u)
	}
	for sent := 0; sent < len(batch); sent += facade.MaxSpansPerBatch {
		err := ctx.Err()
		if err == nil {
			_, err = x.emitter.EmitSpans(ctx, batch[sent:min(sent+facade.MaxSpansPerBatch, len(batch))])
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("alterotel: %d of %d spans not exported: %w", len(batch)-sent, len(batch), err))
			break
		}
	}
	return errors.Join(errs...)
}

// Shutdown stops the exporter: ExportSpans returns ErrShutdown from now on. It waits for the
// exports in flight, or returns ctx's error when ctx ends first. A second call does the same.
// The client is not closed.
func (x *Exporter) Shutdown(ctx context.Context) error {
	x.mu.Lock()
	x.stopped = true
	idle := x.idle
	x.mu.Unlock()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// begin counts an export in, unless the exporter is shut down.
func (x *Exporter) begin() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.stopped {
		return ErrShutdown
	}
	if x.inFlight == 0 {
		x.idle = make(chan struct{})
	}
	x.inFlight++
	return nil
}

// end counts an export out, and wakes a waiting Shutdown when it was the last.
func (x *Exporter) end() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.inFlight--
	if x.inFlight == 0 {
		close(x.idle)
		x.idle = nil
	}
}

// noEmitter reports a missing client, a typed nil App or Agent included (calling one would panic).
func noEmitter(e Emitter) bool {
	switch c := e.(type) {
	case nil:
		return true
	case *facade.App:
		return c == nil
	case *facade.Agent:
		return c == nil
	}
	return false
}
