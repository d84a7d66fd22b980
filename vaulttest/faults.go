package vaulttest

import (
	"bytes"
	"crypto/sha256"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Fault is an injected failure for the next calls of an operation. Status/Code, RetryAfter,
// Delay, Drop, NonJSON and Malformed apply before authentication and bypass contract validation;
// Panic and BadResponse happen inside the operation (after authentication and validation), to
// exercise panic recovery and the response validator.
type Fault struct {
	Times       int           // how many calls it applies to (0 = 1)
	Status      int           // with Code: an error envelope with this status
	Code        string        // the envelope's error code (default: from Status, e.g. 429 → rate_limited)
	RetryAfter  time.Duration // sets Retry-After (seconds, rounded up)
	Delay       time.Duration // sleep (ctx-aware) before answering (or before the fault)
	Drop        bool          // hijack and close the connection without a response
	NonJSON     bool          // answer Status (default 502) with an HTML body
	Malformed   bool          // answer 200 application/json with a truncated JSON body
	Panic       bool          // the operation panics (→ 500 internal_error, the server keeps serving)
	BadResponse bool          // the operation answers 200 with a body that breaks openapi.yaml
}

// InjectFault queues f for the next f.Times calls of operation (an operationId).
func (s *Server) InjectFault(operation string, f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[operation] = append(s.faults[operation], &f)
}

func (s *Server) takeFault(op string, inner bool) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[op]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	if (f.Panic || f.BadResponse) != inner {
		return nil
	}
	f.Times--
	if f.Times <= 0 {
		s.faults[op] = q[1:]
	}
	cp := *f
	return &cp
}

// applyFault runs an outer fault; true when the answer is written.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, c *call) bool {
	f := s.takeFault(c.op, false)
	if f == nil {
		return false
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			c.errCode = "client_gone"
			return true
		}
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
	}
	switch {
	case f.Drop:
		c.errCode = "dropped"
		if hj, ok := unwrapHijacker(w); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	case f.NonJSON:
		st := f.Status
		if st == 0 {
			st = http.StatusBadGateway
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(st)
		_, _ = w.Write([]byte("<html><body><h1>Bad Gateway</h1></body></html>"))
		c.errCode = "non_json"
		return true
	case f.Malformed:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"id": "trunc`))
		c.errCode = "malformed"
		return true
	case f.Status != 0:
		code := f.Code
		if code == "" {
			code = defaultCode(f.Status)
		}
		e := errf(f.Status, toCode(code), "injected fault")
		if f.RetryAfter > 0 {
			d := int((f.RetryAfter + time.Second - 1) / time.Second)
			e.details = nil
			e = e.with(detailsRetry(d))
		}
		writeError(w, r, e)
		return true
	}
	return false // a pure delay: serve normally
}

func unwrapHijacker(w http.ResponseWriter) (http.Hijacker, bool) {
	for {
		if hj, ok := w.(http.Hijacker); ok {
			return hj, true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil, false
		}
		w = u.Unwrap()
	}
}

// handlerFaults applies the inner faults (Panic, BadResponse).
func (s *Server) handlerFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := callFrom(r.Context())
		if f := s.takeFault(c.op, true); f != nil {
			if f.Panic {
				panic("vaulttest: injected panic in " + c.op)
			}
			writeJSON(w, http.StatusOK, map[string]any{"unexpected": true})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Idempotency.

type idemEntry struct {
	bodyHash [32]byte
	status   int
	header   http.Header
	body     []byte
	agentID  uuid.UUID
	at       time.Time
}

// bufWriter captures an answer so it can be stored for replays.
type bufWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (b *bufWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
	b.ResponseWriter.WriteHeader(code)
}

func (b *bufWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.buf.Write(p)
	return b.ResponseWriter.Write(p)
}

const idemTTL = 24 * time.Hour

// idempotent honours Idempotency-Key on every POST, scoped per calling key: the first 2xx answer
// is stored and replayed for the same body; another body is refused.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ik := r.Header.Get("Idempotency-Key")
		c := callFrom(r.Context())
		if r.Method != http.MethodPost || ik == "" || c.key == nil {
			next.ServeHTTP(w, r)
			return
		}
		id := c.key.id.String() + "\x00" + c.op + "\x00" + ik
		s.mu.Lock()
		l := s.idemLocks[id]
		if l == nil {
			l = &sync.Mutex{}
			s.idemLocks[id] = l
		}
		s.mu.Unlock()
		l.Lock() // concurrent retries of one key run one at a time
		defer l.Unlock()

		h := sha256.Sum256(c.body)
		s.mu.Lock()
		e := s.idem[id]
		if e != nil && s.now().Sub(e.at) > idemTTL {
			delete(s.idem, id)
			e = nil
		}
		var agStatus string
		if e != nil && e.agentID != uuid.Nil {
			if a := s.agents[e.agentID]; a != nil {
				agStatus = a.status
			}
		}
		s.mu.Unlock()
		if e != nil {
			switch {
			case e.bodyHash != h:
				writeError(w, r, errf(http.StatusUnprocessableEntity, "idempotency_key_body_mismatch", "Idempotency-Key was used with another body"))
			case agStatus == "revoked":
				writeError(w, r, errf(http.StatusConflict, "idempotency_key_agent_revoked", "the agent created with this Idempotency-Key is revoked").with(detailsAgent(e.agentID)))
			case agStatus == "inactive":
				writeError(w, r, errf(http.StatusConflict, "idempotency_key_agent_inactive", "the agent created with this Idempotency-Key is inactive").with(detailsAgent(e.agentID)))
			default:
				for k, v := range e.header {
					w.Header()[k] = v
				}
				w.Header().Set("Idempotent-Replayed", "true")
				w.WriteHeader(e.status)
				_, _ = w.Write(e.body)
			}
			return
		}
		bw := &bufWriter{ResponseWriter: w}
		next.ServeHTTP(bw, r)
		if bw.status >= 200 && bw.status < 300 {
			ent := &idemEntry{bodyHash: h, status: bw.status, body: bw.buf.Bytes(), at: s.now(),
				header: http.Header{"Content-Type": w.Header().Values("Content-Type")}}
			if c.op == "createAgent" {
				ent.agentID = c.createdAgent
			}
			s.mu.Lock()
			s.idem[id] = ent
			s.mu.Unlock()
		}
	})
}

// defaultCode is the envelope code of a fault given only a status.
func defaultCode(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return "service_unavailable"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusUnauthorized:
		return "invalid_key"
	case http.StatusBadRequest:
		return "invalid_request"
	}
	return "internal_error"
}
