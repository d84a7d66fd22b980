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
		ap := s.holdLocked(c, g, uc)
		s.mu.Unlock()
		writeJSON(w, http.StatusAccepted, s.pendingJSON(ap))
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
