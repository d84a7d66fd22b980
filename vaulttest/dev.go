package vaulttest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The dev control API (see the package documentation): JSON, no auth, loopback clients only.

func (s *Server) devMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /_dev/env", s.devEnv)
	m.HandleFunc("GET /_dev/audit", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.AuditRows()) })
	m.HandleFunc("GET /_dev/spans", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.Spans()) })
	m.HandleFunc("GET /_dev/requests", s.devRequests)
	m.HandleFunc("DELETE /_dev/requests", func(w http.ResponseWriter, _ *http.Request) {
		s.ResetRequests()
		w.WriteHeader(http.StatusNoContent)
	})
	m.HandleFunc("POST /_dev/faults", s.devFault)
	m.HandleFunc("POST /_dev/grants/{grant_id}/refresh-retries", s.devRefreshRetries)
	m.HandleFunc("POST /_dev/grants/{grant_id}/state", s.devGrantState)
	m.HandleFunc("PUT /_dev/grants/{grant_id}/policy", s.devGrantPolicy)
	m.HandleFunc("POST /_dev/approvals/{id}/{decision}", s.devApproval)
	m.HandleFunc("POST /_dev/connect/{token}/{decision}", s.devConnect)
	m.HandleFunc("POST /_dev/auth/{token}/{decision}", s.devAuth)
	m.HandleFunc("POST /_dev/managed-secrets/{token}/{decision}", s.devMSConnect)
	s.devGrantRoutes(m)
	s.devIdentityRoutes(m)
	m.HandleFunc("GET /_dev/violations", func(w http.ResponseWriter, _ *http.Request) {
		v := s.Violations()
		if v == nil {
			v = []string{}
		}
		writeJSON(w, http.StatusOK, v)
	})
	m.HandleFunc("/_dev/", func(w http.ResponseWriter, _ *http.Request) { devError(w, http.StatusNotFound, "no such dev endpoint") })
	return m
}

func devError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) serveDev(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		devError(w, http.StatusForbidden, "the dev control API answers loopback clients only")
		return
	}
	s.dev.ServeHTTP(w, r)
}

// devBody decodes an optional JSON body; false when it is malformed (the answer is written).
func devBody(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		devError(w, http.StatusBadRequest, "malformed JSON body")
		return false
	}
	return true
}

func devResult(w http.ResponseWriter, err error) {
	switch err {
	case nil:
		w.WriteHeader(http.StatusNoContent)
	case errNotFound:
		devError(w, http.StatusNotFound, err.Error())
	default:
		devError(w, http.StatusConflict, err.Error())
	}
}

func (s *Server) devEnv(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	env := s.env
	s.mu.Unlock()
	if env == nil {
		env = map[string]string{"ALTER_BASE_URL": s.URL(), "ALTER_API_KEY": s.AppKey()}
	}
	writeJSON(w, http.StatusOK, env)
}

// MarshalJSON is the dev control API's view of a request: repeated headers joined with ", ",
// the body inline when it is JSON, else null.
func (q Request) MarshalJSON() ([]byte, error) {
	type fields Request
	h := make(map[string]string, len(q.Header))
	for k, v := range q.Header {
		h[k] = strings.Join(v, ", ")
	}
	body := json.RawMessage("null")
	if len(q.Body) > 0 && json.Valid(q.Body) {
		body = q.Body
	}
	return json.Marshal(struct {
		fields
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	}{fields(q), h, body})
}

func (s *Server) devRequests(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.rawRequests())
}

func (s *Server) devFault(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Operation  string `json:"operation"`
		Status     int    `json:"status"`
		Code       string `json:"code"`
		Message    string `json:"message"`
		RetryAfter int    `json:"retry_after"`
		Count      int    `json:"count"`
		Drop       bool   `json:"drop"`
		DelayMS    int    `json:"delay_ms"`
		// Fields are more fields of the error body, as the vault sends them for the code.
		Fields map[string]any `json:"fields"`
	}
	if !devBody(w, r, &req) {
		return
	}
	if req.Operation == "" || (req.Status == 0 && !req.Drop && req.DelayMS == 0) {
		devError(w, http.StatusBadRequest, "operation and one of status, drop or delay_ms are required")
		return
	}
	s.InjectFault(req.Operation, Fault{Times: req.Count, Status: req.Status, Code: req.Code, Message: req.Message,
		Fields: req.Fields, RetryAfter: time.Duration(req.RetryAfter) * time.Second, Drop: req.Drop, Delay: time.Duration(req.DelayMS) * time.Millisecond})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) devRefreshRetries(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Attempts int `json:"attempts"`
	}
	if !devBody(w, r, &req) {
		return
	}
	id, err := uuid.Parse(r.PathValue("grant_id"))
	if err != nil {
		devError(w, http.StatusNotFound, "no such grant")
		return
	}
	devResult(w, s.SetGrantRefreshRetries(id, req.Attempts))
}

// grantStates are the states POST /_dev/grants/{grant_id}/state moves a grant to.
var grantStates = map[string]GrantState{"active": GrantActive, "expired": GrantExpired, "revoked": GrantRevoked,
	"deleted": GrantDeleted, "credential_revoked": GrantCredentialRevoked}

func (s *Server) devGrantState(w http.ResponseWriter, r *http.Request) {
	var req struct {
		State string `json:"state"`
	}
	if !devBody(w, r, &req) {
		return
	}
	st, ok := grantStates[req.State]
	if !ok {
		devError(w, http.StatusBadRequest, "state must be active, expired, revoked, deleted or credential_revoked")
		return
	}
	id, err := uuid.Parse(r.PathValue("grant_id"))
	if err != nil || !s.withGrant(id, func(g *grant) { g.state = st }) {
		devError(w, http.StatusNotFound, "no such grant")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// devGrantPolicy replaces a grant's policy with the body (Policy's JSON form).
func (s *Server) devGrantPolicy(w http.ResponseWriter, r *http.Request) {
	var p Policy
	if !devBody(w, r, &p) {
		return
	}
	id, err := uuid.Parse(r.PathValue("grant_id"))
	if err != nil || p.ApprovalGates < 0 || p.ApprovalGates > maxApprovalGates {
		devError(w, http.StatusBadRequest, "grant_id must be a grant's UUID and approval_gates 0.."+strconv.Itoa(maxApprovalGates))
		return
	}
	if !s.withGrant(id, func(g *grant) { g.policy = p }) {
		devError(w, http.StatusNotFound, "no such grant")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// devAction is one {decision} a dev endpoint takes.
type devAction struct {
	decision string
	do       func() error
}

// devDecide decodes the optional body into req, then runs the action the {decision} path
// segment names.
func devDecide(w http.ResponseWriter, r *http.Request, req any, actions ...devAction) {
	if !devBody(w, r, req) {
		return
	}
	names := make([]string, len(actions))
	for i, a := range actions {
		if a.decision == r.PathValue("decision") {
			devResult(w, a.do())
			return
		}
		names[i] = a.decision
	}
	last := len(names) - 1
	devError(w, http.StatusNotFound, "decision must be "+strings.Join(names[:last], ", ")+" or "+names[last])
}

// or is v, or def when v is empty.
func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (s *Server) devApproval(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Reason string `json:"reason"`
	}
	id := r.PathValue("id")
	devDecide(w, r, &req,
		devAction{"approve", func() error { return s.Approve(id) }},
		devAction{"deny", func() error { return s.Deny(id, req.Reason) }},
		devAction{"expire", func() error { return s.Expire(id) }})
}

func (s *Server) devConnect(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Provider string `json:"provider"`
		Account  string `json:"account"`
		Code     string `json:"code"`
		Grants   []struct {
			Provider string `json:"provider"`
			Account  string `json:"account"`
		} `json:"grants"`
		Failed []struct {
			Provider string `json:"provider"`
			Reason   string `json:"reason"`
		} `json:"failed"`
	}
	tok := r.PathValue("token")
	complete := func() error {
		if len(req.Grants) > 0 || len(req.Failed) > 0 {
			accounts := make([]ConnectAccount, len(req.Grants))
			for i, g := range req.Grants {
				accounts[i] = ConnectAccount{g.Provider, or(g.Account, "user@example.com")}
			}
			failed := make([]FailedConnection, len(req.Failed))
			for i, f := range req.Failed {
				failed[i] = FailedConnection{f.Provider, f.Reason}
			}
			return s.CompleteConnectSessionWith(tok, accounts, failed)
		}
		if req.Provider == "" {
			s.mu.Lock()
			if sess := s.sessions[tok]; sess != nil && len(sess.allowed) > 0 {
				req.Provider = sess.allowed[0]
			}
			s.mu.Unlock()
		}
		return s.CompleteConnectSession(tok, req.Provider, or(req.Account, "user@example.com"))
	}
	devDecide(w, r, &req,
		devAction{"complete", complete},
		devAction{"decline", func() error { return s.DeclineProvider(tok, req.Provider, req.Code) }},
		devAction{"deny", func() error { return s.DenyConnectSession(tok) }},
		devAction{"fail", func() error { return s.FailConnectSession(tok, or(req.Code, "connect_config_error")) }},
		devAction{"expire", func() error { return s.ExpireSession(tok) }})
}

func (s *Server) devAuth(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Sub string `json:"sub"`
	}
	tok := r.PathValue("token")
	devDecide(w, r, &req,
		devAction{"complete", func() error { return s.CompleteAuthSession(tok, or(req.Sub, "alice")) }},
		devAction{"deny", func() error { return s.DenyAuthSession(tok) }},
		devAction{"expire", func() error { return s.ExpireSession(tok) }})
}

func (s *Server) devMSConnect(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Secret string `json:"secret"`
	}
	if !devBody(w, r, &req) {
		return
	}
	tok := r.PathValue("token")
	switch r.PathValue("decision") {
	case "deny":
		devResult(w, s.DenyManagedSecretSession(tok))
		return
	case "complete":
	default:
		devError(w, http.StatusNotFound, "decision must be complete or deny")
		return
	}
	id, err := s.CompleteManagedSecretSession(tok, req.Secret)
	if err != nil {
		devResult(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"grant_id": id.String()})
}
