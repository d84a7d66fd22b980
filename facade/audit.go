package facade

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/altersdk/alter-go/gen"
)

// sensitiveHeaders never appear in an audit record (besides the injected ones).
var sensitiveHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
	"X-Api-Key", "X-Auth-Token", "X-Amz-Security-Token"}

type auditInput struct {
	tok       *gen.TokenResponse
	req       *http.Request
	resp      *http.Response
	err       error
	inj       injection
	start     time.Time
	latency   time.Duration
	reason    string
	context   map[string]string
	credReqID string
	rec       *recorder
}

// recordUpstream posts the audit record of an upstream call in the background (POST
// /audit/api-calls). Close waits for it; failures are only logged.
func (c *client) recordUpstream(ctx context.Context, in auditInput) {
	rec := gen.APICallAuditLog{
		GrantID:        in.tok.GrantID,
		ProviderID:     in.tok.ProviderID,
		Method:         gen.HTTPMethod(in.req.Method),
		URL:            clip(auditURL(in.req.URL, in.inj), 8192),
		RequestHeaders: sanitizeHeaders(in.req.Header, in.inj),
		LatencyMs:      int(in.latency / time.Millisecond),
		Timestamp:      in.start.UTC(),
	}
	if in.resp != nil {
		rec.ResponseStatus = in.resp.StatusCode
		rec.ResponseHeaders = sanitizeHeaders(in.resp.Header, in.inj)
	}
	if in.err != nil {
		msg := clip(sanitizeURLError(in.err).Error(), 1024)
		rec.Error = &msg
	}
	if in.reason != "" {
		r := in.reason
		rec.Reason = &r
	}
	if len(in.context) > 0 {
		m := gen.StringMap(in.context)
		rec.Context = &m
	}
	if in.credReqID != "" {
		id := clip(in.credReqID, 128)
		rec.CredentialRequestID = &id
	}
	if statuses := in.rec.statuses("upstream"); len(statuses) > 0 {
		rec.Retry = &gen.AuditRetry{Attempts: len(statuses), Statuses: statuses}
	}
	// Encode now: the request and response belong to the caller once Request returns.
	body, err := json.Marshal(rec)
	if err != nil { // cannot happen for these field types; never lose the call over it
		c.log.ErrorContext(ctx, "alter: audit record of an upstream call not encoded", "err", err)
		return
	}
	c.audits.submit(auditJob{c: c, parent: ctx, body: body, deadline: time.Now().Add(auditTimeout)})
}

// postAudit posts one encoded audit record (run by an audit worker, auditpost.go). Failures are
// logged, never returned: the upstream call already happened.
func (c *client) postAudit(ctx context.Context, body []byte) {
	ctx = withRecorder(ctx, newRecorder()) // not the caller's RetryInfo
	_, err := c.exchange(ctx, "recordAPICall", nil, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return c.sendDirect(ctx, http.MethodPost, "/audit/api-calls", body, "") // raw.RecordAPICallWithBody
	})
	if err != nil {
		c.log.ErrorContext(ctx, "alter: audit record of an upstream call not posted", "err", err)
	}
}

// auditURL is u with the values of injected query parameters redacted.
func auditURL(u *url.URL, inj injection) string {
	if len(inj.query) == 0 {
		return u.String()
	}
	cp := *u
	q := cp.Query()
	for _, k := range inj.query {
		if q.Has(k) {
			q.Set(k, "REDACTED")
		}
	}
	cp.RawQuery = q.Encode()
	return cp.String()
}

// sanitizeHeaders flattens h without credentials: the sensitive headers, the injected ones, and
// any value containing an injected secret.
func sanitizeHeaders(h http.Header, inj injection) *gen.StringMap {
	var out gen.StringMap // made on the first header kept: often none is
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		if slices.Contains(sensitiveHeaders, ck) || slices.Contains(inj.headers, ck) {
			continue
		}
		v := strings.Join(vs, ", ")
		if containsSecret(v, inj.secrets) {
			continue
		}
		if out == nil {
			out = make(gen.StringMap, len(h))
		}
		out[ck] = v
	}
	if len(out) == 0 {
		return nil
	}
	return &out
}

func containsSecret(v string, secrets []string) bool {
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(v, s) {
			return true
		}
	}
	return false
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
