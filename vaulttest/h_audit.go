package vaulttest

import (
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/emu"
)

func utf8Valid(b []byte) bool { return utf8.Valid(b) }

// auditPost is the spec's audit record with its request body kept as the exact bytes sent.
type auditPost struct {
	emu.APICallAuditRecord
	RequestBody json.RawMessage `json:"request_body"`
}

// recordAPICall stores the audit row of an upstream call the SDK made in retrieve mode. The
// principal is the caller's; the end user is the grant's owner.
func (s *Server) recordAPICall(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	var req auditPost
	if !decode(w, r, &req) {
		return
	}
	id, err := uuid.Parse(req.GrantID)
	s.mu.Lock()
	g := s.grants[id]
	var sub string
	if g != nil {
		sub = g.userSub
	}
	s.mu.Unlock()
	if err != nil || g == nil { // a delegation dropped since the token call still gets its row
		writeError(w, r, errGrantNotFound(req.GrantID))
		return
	}
	row := principalRow(c)
	row.Operation, row.RequestID, row.Time, row.UserSub = "recordApiCall", c.reqID, s.now(), sub
	row.GrantID, row.ProviderID, row.TokenGeneration = g.id, req.ProviderID, str(req.TokenGeneration)
	row.Method, row.URL, row.RequestHeaders, row.RequestBody = req.Method, req.URL, req.RequestHeaders, req.RequestBody
	row.ResponseStatus, row.ResponseHeaders, row.ResponseBody = req.ResponseStatus, req.ResponseHeaders, req.ResponseBody
	row.LatencyMS, row.Reason, row.Context = int64(req.LatencyMs), str(req.Reason), req.Context
	if string(row.RequestBody) == "null" {
		row.RequestBody = nil
	}
	s.addAudit(row)
	w.WriteHeader(http.StatusOK)
}

type scopeMismatchReport struct {
	ProviderStatusCode int      `json:"provider_status_code"`
	ProviderErrorCode  string   `json:"provider_error_code"`
	MissingScopes      []string `json:"missing_scopes"`
	RawWWWAuthenticate string   `json:"raw_www_authenticate"`
	APIEndpoint        string   `json:"api_endpoint"`
	DetectionSource    string   `json:"detection_source"`
	SDKCorrelationID   string   `json:"sdk_correlation_id"`
}

// reportScopeMismatch flags the grant (scope_mismatch in later answers) and answers 204.
func (s *Server) reportScopeMismatch(w http.ResponseWriter, r *http.Request, grantID string) {
	c := callFrom(r.Context())
	var req scopeMismatchReport
	if !decode(w, r, &req) {
		return
	}
	id, err := uuid.Parse(grantID)
	s.mu.Lock()
	g := s.grants[id]
	ok := err == nil && g != nil && reaches(c.p, g)
	if ok {
		g.scopeMismatch = true
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, r, errGrantNotFound(grantID))
		return
	}
	w.Header().Set("X-Correlation-ID", req.SDKCorrelationID)
	w.WriteHeader(http.StatusNoContent)
}
