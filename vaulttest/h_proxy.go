package vaulttest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/altersdk/alter-go/internal/emu"
)

const maxUpstreamBody = 10 << 20

var forbiddenHeaders = []string{"authorization", "cookie", "x-api-key", "x-amz-security-token"}

// upstreamCall is a prepared upstream request (credential already injected).
type upstreamCall struct {
	method string
	url    string
	header http.Header
	body   []byte
}

type upstreamResult struct {
	status    int
	header    map[string]string
	body      []byte
	truncated bool
}

func (s *Server) prepare(req emu.ProxyRequest, cred string, inj Injection) (*upstreamCall, *apiError) {
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errf(http.StatusBadRequest, "invalid_request", "url must be an absolute http(s) URL").with(detailsField("url"))
	}
	q := u.Query()
	for k, v := range derefMap(req.Query) {
		q.Set(k, v)
	}
	h := http.Header{}
	for k, v := range derefMap(req.Headers) {
		h.Set(k, v)
	}
	var body []byte
	switch {
	case len(req.BodyB64) > 0:
		body = req.BodyB64
	case req.JSONBody != nil:
		body, _ = json.Marshal(req.JSONBody)
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json")
		}
	}
	val := strings.ReplaceAll(inj.Format, "{token_base64}", base64.StdEncoding.EncodeToString([]byte(cred)))
	h.Set(inj.Header, strings.ReplaceAll(val, "{token}", cred))
	for _, ai := range inj.Additional {
		v := cred
		if name, ok := strings.CutPrefix(ai.ValueSource, "additional_credentials."); ok {
			v = inj.AdditionalCredentials[name]
		}
		if ai.Target == "query" {
			q.Set(ai.Key, v)
		} else {
			h.Set(ai.Key, v)
		}
	}
	u.RawQuery = q.Encode()
	return &upstreamCall{method: string(req.Method), url: u.String(), header: h, body: body}, nil
}

func (s *Server) do(ctx context.Context, uc *upstreamCall) (*upstreamResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, uc.method, uc.url, bytes.NewReader(uc.body))
	if err != nil {
		return nil, err
	}
	req.Header = uc.header.Clone()
	resp, err := s.upstream.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody+1))
	if err != nil {
		return nil, err
	}
	res := &upstreamResult{status: resp.StatusCode, header: map[string]string{}, body: b}
	if len(b) > maxUpstreamBody {
		res.body, res.truncated = b[:maxUpstreamBody], true
	}
	for k, v := range resp.Header {
		res.header[k] = strings.Join(v, ", ")
	}
	return res, nil
}

func (res *upstreamResult) api(approvalID string) emu.ApprovalResult {
	out := emu.ApprovalResult{StatusCode: res.status, Headers: res.header, BodyB64: res.body, BodyTruncated: res.truncated}
	if out.BodyB64 == nil {
		out.BodyB64 = []byte{}
	}
	if approvalID != "" {
		out.ApprovalID = &approvalID
	}
	return out
}

func (a *api) ProxyRequest(w http.ResponseWriter, r *http.Request, _ emu.ProxyRequestParams) {
	s := a.s
	c := callFrom(r.Context())
	var req emu.ProxyRequest
	if e := decode(r, &req, true); e != nil {
		writeError(w, r, e)
		return
	}
	c.method, c.url, c.reason, c.context = string(req.Method), req.URL, deref(req.Reason), derefMap(req.Context)
	for k := range derefMap(req.Headers) {
		for _, f := range forbiddenHeaders {
			if strings.EqualFold(k, f) {
				writeError(w, r, errf(http.StatusBadRequest, "forbidden_header", "header %s may not be forwarded", k).with(detailsField("headers."+k)))
				return
			}
		}
	}
	g, e := s.resolveGrant(r, c, req.GrantID, req.Provider, req.Account)
	if e == nil {
		e = s.usable(c, g, false)
	}
	if e != nil {
		writeError(w, r, e)
		return
	}
	cred, inj := s.credential(g)
	uc, e := s.prepare(req, cred, inj)
	if e != nil {
		writeError(w, r, e)
		return
	}
	s.mu.Lock()
	hold := g.policy.RequireApproval || (c.agent != nil && c.agent.requireApproval)
	ttl := time.Hour
	if c.agent != nil && c.agent.approvalTTL > 0 {
		ttl = time.Duration(c.agent.approvalTTL) * time.Second
	}
	if hold {
		ap := &approval{id: "apr_" + randAlnum(20), status: "pending", expiresAt: s.now().Add(ttl).UTC(), req: uc, grantID: g.id, reason: c.reason}
		s.approvals[ap.id] = ap
		s.apprOrder = append(s.apprOrder, ap.id)
		s.mu.Unlock()
		c.pending = true
		writeJSON(w, http.StatusAccepted, emu.PendingApproval{ApprovalID: ap.id, ApprovalURL: s.root + "/approvals/" + ap.id,
			Status: "pending", ExpiresAt: ap.expiresAt})
		return
	}
	s.mu.Unlock()
	res, err := s.do(r.Context(), uc)
	if err != nil {
		writeError(w, r, errf(http.StatusBadGateway, "upstream_unreachable", "the upstream could not be reached").with(detailsGrant(g.id)))
		return
	}
	c.upstream = res.status
	writeJSON(w, http.StatusOK, res.api(""))
}

// approvals

// expireLocked moves a pending approval past its deadline to expired.
func (s *Server) expireLocked(ap *approval) {
	if ap.status == "pending" && !s.now().Before(ap.expiresAt) {
		ap.status = "expired"
	}
}

// approvalLocked finds an approval (brought up to date with the clock) and records its grant on
// the call's audit row, or writes approval_not_found.
func (s *Server) approvalLocked(w http.ResponseWriter, r *http.Request, id string) *approval {
	ap := s.approvals[id]
	if ap == nil {
		writeError(w, r, errf(http.StatusNotFound, "approval_not_found", "no such approval").with(emu.ErrorDetails{ApprovalID: &id}))
		return nil
	}
	s.expireLocked(ap)
	callFrom(r.Context()).grant = s.grants[ap.grantID]
	return ap
}

func (a *api) GetApprovalStatus(w http.ResponseWriter, r *http.Request, id emu.ApprovalIDPath, _ emu.GetApprovalStatusParams) {
	s := a.s
	s.mu.Lock()
	ap := s.approvalLocked(w, r, id)
	if ap == nil {
		s.mu.Unlock()
		return
	}
	out := emu.ApprovalStatus{ApprovalID: ap.id, Status: emu.ApprovalStatusValue(ap.status), ExpiresAt: ap.expiresAt,
		DecidedAt: ap.decidedAt, ExecutedAt: ap.executedAt, HasResult: ap.status == "executed"}
	if ap.decision != "" {
		out.DecisionReason = ptr(ap.decision)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (a *api) GetApprovalResult(w http.ResponseWriter, r *http.Request, id emu.ApprovalIDPath, _ emu.GetApprovalResultParams) {
	s := a.s
	s.mu.Lock()
	ap := s.approvalLocked(w, r, id)
	if ap == nil {
		s.mu.Unlock()
		return
	}
	st, res, ust := ap.status, ap.result, ap.upstreamSt
	s.mu.Unlock()
	d := emu.ErrorDetails{ApprovalID: &id}
	switch st {
	case "executed":
		writeJSON(w, http.StatusOK, res.api(id))
	case "denied":
		writeError(w, r, errf(http.StatusForbidden, "approval_denied", "the approver denied the call").with(d))
	case "expired":
		writeError(w, r, errf(http.StatusGone, "approval_expired", "nobody decided in time").with(d))
	case "failed":
		if ust > 0 {
			d.UpstreamStatus = &ust
		}
		writeError(w, r, errf(http.StatusBadGateway, "approval_execution_failed", "the approved call failed upstream").with(d))
	default:
		e := errf(http.StatusConflict, "approval_pending", "the approval is %s", st).with(d)
		writeError(w, r, e)
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
			out = append(out, id)
		}
	}
	return out
}

// Approve approves a pending approval and performs the held upstream call (→ executed, or failed
// when the upstream cannot be reached or answers 5xx).
func (s *Server) Approve(approvalID string) error {
	s.mu.Lock()
	ap := s.approvals[approvalID]
	if ap == nil {
		s.mu.Unlock()
		return errNotFound
	}
	s.expireLocked(ap)
	if ap.status != "pending" {
		s.mu.Unlock()
		return errState("approval is " + ap.status)
	}
	now := s.now()
	ap.status, ap.decidedAt = "executing", &now
	uc := ap.req
	s.mu.Unlock()
	res, err := s.do(context.Background(), uc)
	s.mu.Lock()
	defer s.mu.Unlock()
	done := s.now()
	ap.executedAt = &done
	switch {
	case err != nil:
		ap.status = "failed"
	case res.status >= 500:
		ap.status, ap.upstreamSt = "failed", res.status
	default:
		ap.status, ap.result = "executed", res
	}
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
	ap := s.approvals[id]
	if ap == nil {
		return errNotFound
	}
	s.expireLocked(ap)
	if ap.status != "pending" {
		return errState("approval is " + ap.status)
	}
	ap.status, ap.decision = st, reason
	if st == "denied" {
		now := s.now()
		ap.decidedAt = &now
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
