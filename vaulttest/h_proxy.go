package vaulttest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

const (
	maxUpstreamBody = 10 << 20
	maxProxyURL     = 65_536
)

// forbiddenProxyHeaders may not be forwarded by a proxy call (the SDK refuses them too).
var forbiddenProxyHeaders = map[string]bool{"host": true, "authorization": true, "proxy-authorization": true,
	"authentication": true, "cookie": true, "set-cookie": true, "x-api-key": true, "x-auth-token": true,
	"x-amz-security-token": true, "x-amz-date": true, "x-amz-content-sha256": true, "x-goog-authorization": true,
	"x-goog-iam-authorization-token": true, "x-stripe-account": true, "x-shopify-access-token": true,
	"x-http-method": true, "x-http-method-override": true, "x-method-override": true}

// upstreamCall is a prepared upstream request (credential already injected).
type upstreamCall struct {
	method    string
	url       string // with the injected query, never shown
	auditURL  string // the URL without injected values
	header    http.Header
	injected  []string // header names that carry the credential
	body      []byte
	jsonBody  json.RawMessage
	grantID   uuid.UUID
	provider  string
	tokenGen  string
	reason    string
	context   map[string]string
	requestID string
}

type upstreamResult struct {
	status    int
	header    map[string]string
	body      []byte
	truncated bool
	latency   time.Duration
}

type proxyRequest struct {
	addressing
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	Body        json.RawMessage   `json:"body"`
	Headers     map[string]string `json:"headers"`
	QueryParams map[string]any    `json:"query_params"`
	Reason      *string           `json:"reason"`
}

func (s *Server) prepare(req proxyRequest, cred string, inj Injection) (*upstreamCall, *apiError) {
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errf(http.StatusUnprocessableEntity, "", "url must be an absolute http(s) URL")
	}
	q := u.Query()
	for k, v := range req.QueryParams {
		q.Del(k)
		switch vv := v.(type) {
		case []any:
			for _, x := range vv {
				q.Add(k, queryValue(x))
			}
		default:
			q.Add(k, queryValue(vv))
		}
	}
	u.RawQuery = q.Encode()
	audit := u.String()
	if len(audit) > maxProxyURL {
		return nil, errf(http.StatusUnprocessableEntity, "query_too_long", "the URL is over %d characters once its query is encoded", maxProxyURL)
	}
	h := http.Header{}
	for k, v := range req.Headers {
		h.Set(k, v)
	}
	var body []byte
	if len(req.Body) > 0 && string(req.Body) != "null" {
		body = req.Body
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json")
		}
	}
	h.Set(inj.Header, strings.Replace(inj.Format, "{token}", cred, 1))
	injected := []string{inj.Header}
	for _, ai := range inj.Additional {
		v := cred
		if name, ok := strings.CutPrefix(ai.ValueSource, "additional_credentials."); ok {
			v = inj.AdditionalCredentials[name]
		}
		if v == "" {
			continue
		}
		if ai.Target == "query_param" {
			q.Set(ai.Key, v)
		} else {
			h.Set(ai.Key, v)
			injected = append(injected, ai.Key)
		}
	}
	u.RawQuery = q.Encode()
	return &upstreamCall{method: strings.ToUpper(req.Method), url: u.String(), auditURL: audit, header: h,
		injected: injected, body: body, jsonBody: req.Body, reason: str(req.Reason)}, nil
}

func queryValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *Server) do(ctx context.Context, uc *upstreamCall) (*upstreamResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, uc.method, uc.url, bytes.NewReader(uc.body))
	if err != nil {
		return nil, err
	}
	req.Header = uc.header.Clone()
	start := time.Now()
	resp, err := s.upstream.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody+1))
	if err != nil {
		return nil, err
	}
	res := &upstreamResult{status: resp.StatusCode, header: map[string]string{}, body: b, latency: time.Since(start)}
	if len(b) > maxUpstreamBody {
		res.body, res.truncated = b[:maxUpstreamBody], true
	}
	for k, v := range resp.Header {
		res.header[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return res, nil
}

func (res *upstreamResult) answer(approvalID *uuid.UUID) map[string]any {
	out := map[string]any{"status_code": res.status, "headers": res.header,
		"body_b64": base64.StdEncoding.EncodeToString(res.body), "body_truncated": res.truncated,
		"duration_ms": res.latency.Milliseconds(), "credential_hint": nil, "approval_id": nil}
	if approvalID != nil {
		out["approval_id"] = approvalID.String()
	}
	return out
}

// auditRow is the row of an upstream call the vault made itself.
func (s *Server) executedRow(op string, c *call, uc *upstreamCall, res *upstreamResult, callErr error) AuditRow {
	row := principalRow(c)
	row.Operation, row.RequestID, row.Time = op, c.reqID, s.now()
	row.GrantID, row.ProviderID, row.TokenGeneration = uc.grantID, uc.provider, uc.tokenGen
	row.Method, row.URL, row.Reason, row.Context = uc.method, uc.auditURL, uc.reason, uc.context
	row.RequestHeaders = map[string]string{}
	for k, v := range uc.header {
		if !sensitiveHeader(k, uc.injected) {
			row.RequestHeaders[k] = strings.Join(v, ", ")
		}
	}
	if len(uc.jsonBody) > 0 {
		row.RequestBody = uc.jsonBody
	}
	if callErr != nil {
		row.ResponseBody = "<transport error: network>"
		return row
	}
	row.ResponseStatus, row.LatencyMS = res.status, res.latency.Milliseconds()
	row.ResponseHeaders = map[string]string{}
	for k, v := range res.header {
		if !sensitiveHeader(k, nil) {
			row.ResponseHeaders[k] = v
		}
	}
	row.ResponseBody = captureBody(res.body)
	return row
}

var auditSensitive = []string{"authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token", "x-amz-date",
	"x-amz-content-sha256", "x-amz-security-token"}

func sensitiveHeader(name string, injected []string) bool {
	for _, n := range auditSensitive {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	for _, n := range injected {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

func captureBody(b []byte) string {
	switch {
	case len(b) > 10_000:
		return fmt.Sprintf("<response too large: %d bytes>", len(b))
	case !utf8Valid(b):
		return fmt.Sprintf("<binary response: %d bytes>", len(b))
	}
	return string(b)
}

// principalRow is the principal part of an audit row.
func principalRow(c *call) AuditRow {
	row := AuditRow{PrincipalType: c.p.kind(), Caller: c.p.caller, CallerType: c.p.callerType, ActorID: c.p.actor}
	if c.key != nil {
		row.KeyID = c.key.id
	}
	if c.p.agent != nil {
		row.AgentID, row.PrincipalID = c.p.agent.id, c.p.agent.id.String()
	}
	return row
}

func (s *Server) proxyRequest(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	var req proxyRequest
	if !decode(w, r, &req) {
		return
	}
	for k := range req.Headers {
		if forbiddenProxyHeaders[strings.ToLower(strings.TrimSpace(k))] {
			writeValidation(w, r, []fieldError{{Type: "value_error", Loc: []any{"body", "headers", k},
				Msg: "header " + k + " may not be forwarded", Input: k}})
			return
		}
	}
	in := &ruleInput{method: req.Method, url: req.URL, body: req.Body, proxy: true}
	g := s.usableGrant(w, r, c, in, req.addressing, false)
	if g == nil {
		return
	}
	req.Body = in.body // as a redact rule left it
	cred, inj := s.credential(g)
	uc, e := s.prepare(req, cred, inj)
	if e != nil {
		writeError(w, r, e)
		return
	}
	uc.grantID, uc.provider, uc.tokenGen, uc.requestID = g.id, g.provider, g.tokenGen.String(), c.reqID
	uc.context = parseContext(r)
	s.mu.Lock()
	hold := g.policy.RequireApproval || (c.p.agent != nil && c.p.agent.requireApproval)
	if hold {
		now := s.now()
		ap := &approval{id: uuid.New(), group: uuid.New(), status: "pending", expiresAt: now.Add(time.Hour).UTC(),
			req: uc, grantID: g.id, reason: uc.reason, audit: principalRow(c), changed: make(chan struct{})}
		s.putApprovalLocked(ap)
		s.mu.Unlock()
		link := s.root + "/approvals/" + ap.id.String()
		exp := ap.expiresAt.Format(time.RFC3339)
		writeJSON(w, http.StatusAccepted, map[string]any{"approval_id": ap.id.String(), "approval_group_id": ap.group.String(),
			"status": "pending", "expires_at": exp, "expires_in": 3600, "approval_url": link,
			"gates": []map[string]any{{"approval_id": ap.id.String(), "expires_at": exp, "expires_in": 3600, "approval_url": link}}})
		return
	}
	s.mu.Unlock()
	res, err := s.do(r.Context(), uc)
	s.addAudit(s.executedRow("proxyRequest", c, uc, res, err))
	if err != nil {
		writeError(w, r, errf(http.StatusBadGateway, "", "the upstream could not be reached").with("grant_id", g.id.String()))
		return
	}
	writeJSON(w, http.StatusOK, res.answer(nil))
}

func (s *Server) putApprovalLocked(ap *approval) {
	s.approvals[ap.id] = ap
	s.apprOrder = append(s.apprOrder, ap.id)
	if len(s.apprOrder) > maxApprovals {
		delete(s.approvals, s.apprOrder[0])
		s.apprOrder = s.apprOrder[1:]
	}
}

// parseContext reads X-Alter-Context (a JSON object of strings), or nil.
func parseContext(r *http.Request) map[string]string {
	v := r.Header.Get("X-Alter-Context")
	if v == "" {
		return nil
	}
	var m map[string]string
	if json.Unmarshal([]byte(v), &m) != nil {
		return nil
	}
	return m
}

// approvals

// expireLocked moves a pending approval past its deadline to expired.
func (s *Server) expireLocked(ap *approval) {
	if ap.status == "pending" && !s.now().Before(ap.expiresAt) {
		ap.status = "expired"
		ap.changed = notify(ap.changed)
	}
}

func (s *Server) approvalByIDLocked(v string) *approval {
	id, err := uuid.Parse(v)
	if err != nil {
		return nil
	}
	ap := s.approvals[id]
	if ap != nil {
		s.expireLocked(ap)
	}
	return ap
}

// approvalLocked finds an approval or writes the 404.
func (s *Server) approvalLocked(w http.ResponseWriter, r *http.Request, id string) *approval {
	ap := s.approvalByIDLocked(id)
	if ap == nil {
		writeError(w, r, errf(http.StatusNotFound, "", "no such approval").with("approval_id", id))
	}
	return ap
}

// pendingApprovalLocked finds a pending approval; errNotFound or a state error when there is none.
func (s *Server) pendingApprovalLocked(id string) (*approval, error) {
	ap := s.approvalByIDLocked(id)
	if ap == nil {
		return nil, errNotFound
	}
	return ap, pendingErr("approval", ap.status)
}

// maxApprovalWait is the long-poll cap of GET /sdk/approvals/{id}?wait=N.
const maxApprovalWait = 25

func (s *Server) getApprovalStatus(w http.ResponseWriter, r *http.Request, id string) {
	wait := 0
	if v := r.URL.Query().Get("wait"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxApprovalWait {
			writeValidation(w, r, []fieldError{{Type: "less_than_equal", Loc: []any{"query", "wait"},
				Msg: "Input should be less than or equal to 25", Input: v}})
			return
		}
		wait = n
	}
	s.mu.Lock()
	ap := s.approvalLocked(w, r, id)
	if ap == nil {
		s.mu.Unlock()
		return
	}
	if ap.status == "pending" && wait > 0 {
		s.awaitLocked(r.Context(), ap.changed, time.Duration(wait)*time.Second)
		s.expireLocked(ap)
	}
	out := approvalStatus(ap)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func approvalStatus(ap *approval) map[string]any {
	ts := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return t.UTC().Format(time.RFC3339)
	}
	gate := ap.status
	if gate == "executing" || gate == "executed" || gate == "failed" {
		gate = "approved"
	}
	exp := ap.expiresAt.Format(time.RFC3339)
	out := map[string]any{"approval_id": ap.id.String(), "status": ap.status, "approval_group_id": ap.group.String(),
		"gates":      []map[string]any{{"approval_id": ap.id.String(), "status": gate, "expires_at": exp, "decided_at": ts(ap.decidedAt)}},
		"expires_at": exp, "decided_at": ts(ap.decidedAt), "decision_reason": nilIfEmpty(ap.decision),
		"executed_at": ts(ap.executedAt), "execution_error": nilIfEmpty(ap.execErr), "has_result": ap.status == "executed"}
	return out
}

func (s *Server) getApprovalResult(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	ap := s.approvalLocked(w, r, id)
	if ap == nil {
		s.mu.Unlock()
		return
	}
	st, res, msg, apID := ap.status, ap.result, ap.execErr, ap.id
	s.mu.Unlock()
	switch st {
	case "executed":
		writeJSON(w, http.StatusOK, res.answer(&apID))
	case "denied":
		writeError(w, r, errf(http.StatusForbidden, "approval_denied", "the approver denied the call").with("approval_id", id))
	case "expired":
		writeError(w, r, errf(http.StatusGone, "approval_expired", "nobody decided in time").with("approval_id", id))
	case "failed":
		writeError(w, r, errf(http.StatusBadGateway, "approval_execution_failed", "%s", msg).with("approval_id", id))
	default:
		writeError(w, r, errf(http.StatusConflict, "", "the approval is %s", st).with("approval_id", id))
	}
}

// PendingApprovals lists the ids of approvals still waiting for a decision, oldest first.
func (s *Server) PendingApprovals() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range s.apprOrder {
		ap := s.approvals[id]
		s.expireLocked(ap)
		if ap.status == "pending" {
			out = append(out, id.String())
		}
	}
	return out
}

// Approve approves a pending approval and performs the held upstream call (→ executed, or failed
// when the upstream cannot be reached or answers 5xx); the call is audited.
func (s *Server) Approve(approvalID string) error {
	s.mu.Lock()
	ap, err := s.pendingApprovalLocked(approvalID)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	now := s.now()
	ap.status, ap.decidedAt = "executing", &now
	ap.changed = notify(ap.changed)
	uc := ap.req
	base := ap.audit
	s.mu.Unlock()
	res, err := s.do(context.Background(), uc)
	c := &call{reqID: uc.requestID}
	row := s.executedRow("approval", c, uc, res, err)
	row.PrincipalType, row.PrincipalID, row.AgentID, row.KeyID = base.PrincipalType, base.PrincipalID, base.AgentID, base.KeyID
	row.Caller, row.CallerType, row.ActorID = base.Caller, base.CallerType, base.ActorID
	s.addAudit(row)
	s.mu.Lock()
	defer s.mu.Unlock()
	done := s.now()
	ap.executedAt = &done
	switch {
	case err != nil:
		ap.status, ap.execErr = "failed", "the upstream could not be reached"
	case res.status >= 500:
		ap.status, ap.execErr = "failed", fmt.Sprintf("the upstream answered %d", res.status)
	default:
		ap.status, ap.result = "executed", res
	}
	ap.changed = notify(ap.changed)
	return nil
}

// Deny denies a pending approval.
func (s *Server) Deny(approvalID, reason string) error {
	return s.decide(approvalID, "denied", reason)
}

// Expire expires a pending approval now.
func (s *Server) Expire(approvalID string) error { return s.decide(approvalID, "expired", "") }

func (s *Server) decide(id, st, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ap, err := s.pendingApprovalLocked(id)
	if err != nil {
		return err
	}
	ap.status, ap.decision = st, reason
	if st == "denied" {
		now := s.now()
		ap.decidedAt = &now
	}
	ap.changed = notify(ap.changed)
	return nil
}
