package vaulttest

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/emu"
)

// Span is one user span the vault stored (POST /sdk/spans), with who sent it.
type Span struct {
	TraceID      string            `json:"trace_id"`
	SpanID       string            `json:"span_id"` // the vault's own when the SDK sent none
	ParentSpanID string            `json:"parent_span_id,omitempty"`
	Name         string            `json:"name"`
	Start        time.Time         `json:"start_time"`
	End          *time.Time        `json:"end_time,omitempty"`
	Attributes   map[string]string `json:"attributes"`
	KeyID        uuid.UUID         `json:"key_id"`
	AgentID      uuid.UUID         `json:"agent_id"` // uuid.Nil for the app
	Received     time.Time         `json:"received_at"`
}

// key identifies a span for idempotency: its trace and span ids.
func (sp Span) key() string { return sp.TraceID + "\x00" + sp.SpanID }

// maxSpans bounds the span store: the oldest span (and its idempotency entry) goes first.
const maxSpans = 10_000

// Spans returns the stored user spans, oldest first.
func (s *Server) Spans() []Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spans.all()
}

// emitSpans stores the batch (its size and fields are the spec's, checked before this runs).
// A (trace_id, span_id) pair already stored is absorbed and not counted, so a retried batch with
// its own span ids is idempotent; a span without an id gets a fresh one and always counts.
func (s *Server) emitSpans(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	var req emu.EmitSpansRequest
	if !decode(w, r, &req) {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	accepted := 0
	for _, in := range req.Spans {
		sp := Span{TraceID: in.TraceID, SpanID: str(in.SpanID), ParentSpanID: str(in.ParentSpanID), Name: in.Name,
			Start: in.StartTime, End: in.EndTime, Attributes: in.Attributes, KeyID: c.key.id, Received: now}
		if c.p.agent != nil {
			sp.AgentID = c.p.agent.id
		}
		if sp.SpanID == "" {
			var b [8]byte
			_, _ = rand.Read(b[:])
			sp.SpanID = hex.EncodeToString(b[:])
		}
		k := sp.key()
		if _, dup := s.spanKeys[k]; dup {
			continue
		}
		s.spans.push(sp) // drops the oldest span and its key when full
		s.spanKeys[k] = struct{}{}
		accepted++
	}
	writeJSON(w, http.StatusOK, map[string]any{"accepted": accepted})
}
