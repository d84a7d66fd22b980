package facade

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// maxErrorBody bounds what is kept of an answer that is not the error envelope (and of upstream
// error bodies).
const maxErrorBody = 4 << 10

// wireError is a lenient view of the Error envelope: ids are strings, so a malformed id in the
// details never hides the code.
type wireError struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details *struct {
			GrantID           string   `json:"grant_id"`
			AgentID           string   `json:"agent_id"`
			KeyID             string   `json:"key_id"`
			ApprovalID        string   `json:"approval_id"`
			ProviderID        string   `json:"provider_id"`
			PolicyError       string   `json:"policy_error"`
			Accounts          []string `json:"accounts"`
			MissingScopes     []string `json:"missing_scopes"`
			RequiredScope     string   `json:"required_scope"`
			Field             string   `json:"field"`
			RetryAfterSeconds int64    `json:"retry_after_seconds"`
			UpstreamStatus    int      `json:"upstream_status"`
		} `json:"details"`
	} `json:"error"`
	RequestID string `json:"request_id"`
}

// decodeError turns a non-2xx vault answer into an error: the typed form of the error envelope,
// or an *APIError with the status and the first bytes of anything else. It never panics.
func decodeError(op string, status int, header http.Header, body []byte) error {
	e := &APIError{Op: op, StatusCode: status, RequestID: header.Get("X-Request-Id")}
	var w wireError
	if json.Unmarshal(body, &w) != nil || w.Error == nil || w.Error.Code == "" {
		e.Message = "unexpected answer (not the JSON error envelope)"
		e.Body = truncate(body, maxErrorBody)
		if d, ok := parseRetryAfter(header.Get("Retry-After"), time.Now()); ok {
			e.Details.RetryAfter = d
		}
		return e
	}
	e.Code = w.Error.Code
	e.Message = w.Error.Message
	if w.RequestID != "" {
		e.RequestID = w.RequestID
	}
	if d := w.Error.Details; d != nil {
		e.Details = ErrorDetails{
			GrantID:        parseUUID(d.GrantID),
			AgentID:        parseUUID(d.AgentID),
			KeyID:          parseUUID(d.KeyID),
			ApprovalID:     d.ApprovalID,
			ProviderID:     d.ProviderID,
			PolicyError:    d.PolicyError,
			Accounts:       d.Accounts,
			MissingScopes:  d.MissingScopes,
			RequiredScope:  d.RequiredScope,
			Field:          d.Field,
			UpstreamStatus: d.UpstreamStatus,
		}
		if s := d.RetryAfterSeconds; s > 0 && s < int64(maxRetryAfterSeconds) {
			e.Details.RetryAfter = time.Duration(s) * time.Second
		}
	}
	if e.Details.RetryAfter == 0 {
		if d, ok := parseRetryAfter(header.Get("Retry-After"), time.Now()); ok {
			e.Details.RetryAfter = d
		}
	}
	switch e.Code {
	case "policy_violation":
		return &PolicyViolationError{APIError: e, PolicyError: e.Details.PolicyError}
	case "ambiguous_grant":
		return &AmbiguousGrantError{APIError: e, Accounts: e.Details.Accounts}
	}
	return e
}

func parseUUID(s string) uuid.UUID {
	if s == "" {
		return uuid.Nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil
	}
	return id
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		b = b[:n]
	}
	return append([]byte(nil), b...)
}
