package vaulttest

import (
	"net/http"
	"strconv"
	"time"
)

// Fault is an injected failure for the next calls of an operation. Status/Code/Message,
// RetryAfter, Delay, Drop, NonJSON and Malformed apply before authentication and bypass contract
// validation; Panic and BadResponse happen inside the operation (after authentication and
// validation), to exercise panic recovery and the response validator.
type Fault struct {
	Times       int            // how many calls it applies to (0 = 1)
	Status      int            // an error answer with this status
	Code        string         // its "error" code (default: from Status, e.g. 429 → rate_limit_exceeded)
	Message     string         // its message (default "injected fault")
	Fields      map[string]any // more fields of the error body (e.g. "candidates", "details")
	RetryAfter  time.Duration  // sets Retry-After (seconds, rounded up)
	Delay       time.Duration  // sleep (ctx-aware) before answering (or before the fault)
	Drop        bool           // hijack and close the connection without a response
	NonJSON     bool           // answer Status (default 502) with an HTML body
	Malformed   bool           // answer 200 application/json with a truncated JSON body
	Panic       bool           // the operation panics (→ 500, the server keeps serving)
	BadResponse bool           // the operation answers 200 with a body that breaks openapi.yaml
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
	retry := 0
	if f.RetryAfter > 0 {
		retry = int((f.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	switch {
	case f.Drop:
		c.errCode = "dropped"
		if hj, ok := unwrapHijacker(w); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				// Logged before the close: a client that saw the drop must find the request logged.
				s.logRequest(r, c, 0)
				c.logged = true
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
		code, msg := f.Code, f.Message
		if code == "" {
			code = defaultCode(f.Status)
		}
		if msg == "" {
			msg = "injected fault"
		}
		e := errf(f.Status, code, "%s", msg)
		if f.Status == http.StatusTooManyRequests && code == "rate_limit_exceeded" {
			e = e.with("scope", "api_key", "limit", s.cfg.rateLimit, "window_seconds", 60)
			if retry > 0 {
				e = e.with("retry_after", retry)
			}
		}
		for k, v := range f.Fields {
			e = e.with(k, v)
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

// defaultCode is the error code of a fault given only a status.
func defaultCode(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "rate_limit_exceeded"
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return "service_unavailable"
	case http.StatusNotFound:
		return "grant_not_found"
	case http.StatusUnauthorized:
		return "invalid_key"
	case http.StatusConflict:
		return "token_refresh_in_progress"
	}
	return ""
}
