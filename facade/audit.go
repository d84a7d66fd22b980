package facade

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/altersdk/alter-go/gen"
)

// An audit post may wait in the queue for up to auditTimeout; a record holds a body as text up
// to maxAuditCapture bytes.
const (
	auditTimeout    = 10 * time.Second
	maxAuditCapture = 10000
)

// sensitiveHeaders never appear in an audit record, whatever carried the credential.
var sensitiveHeaders = map[string]bool{
	"authorization": true, "cookie": true, "set-cookie": true, "x-api-key": true, "x-auth-token": true,
	"x-amz-date": true, "x-amz-content-sha256": true, "x-amz-security-token": true,
}

type auditInput struct {
	cred    *credential
	method  string
	url     string // after the path params, without Query: the URL the credential was asked for
	req     *http.Request
	pl      placement
	reqJSON bool
	// impliedCT: the facade added Content-Type for a JSON body. alter-sdk's HTTP library adds it
	// after the audit copy is taken, so the record leaves it out, as 0.29.0's does.
	impliedCT bool
	reqBody   []byte
	resp      *http.Response
	respBody  []byte // the answer's first bytes (up to maxAuditCapture+1)
	respSize  int64  // the answer's size, as far as it was read
	err       error  // the transport failure: no answer, or one cut short
	latency   time.Duration
	reason    string
	context   auditContext
}

// audit posts the record of one provider call (POST /sdk/oauth/audit/api-call) in the
// background. It carries the client's caller, never a per-call override, and the call's context.
// Close waits for it; a failure is only logged.
func (c *client) audit(ctx context.Context, in auditInput) {
	rec := gen.APICallAuditRecord{
		GrantID: in.cred.grantID, ProviderID: in.cred.providerID, TokenGeneration: in.cred.tokenGeneration,
		Method: in.method, URL: in.url, RequestHeaders: auditRequestHeaders(in.req.Header, in.pl),
		LatencyMs: int(in.latency / time.Millisecond), Reason: optStr(in.reason), Context: in.context.fields,
	}
	if in.impliedCT {
		delete(rec.RequestHeaders, "Content-Type")
	}
	switch {
	case in.reqJSON:
		rec.RequestBody = json.RawMessage(in.reqBody)
	case in.reqBody != nil:
		rec.RequestBody = captureText(in.reqBody, int64(len(in.reqBody)), "<binary body: %d bytes>", "<binary body: %d bytes>")
	}
	if in.resp != nil {
		rec.ResponseStatus = in.resp.StatusCode
		rec.ResponseHeaders = auditResponseHeaders(in.resp.Header)
		rec.ResponseBody = captureText(in.respBody, in.respSize, "<response too large: %d bytes>", "<binary response: %d bytes>")
	}
	if in.err != nil {
		rec.ResponseBody = "<transport error: network>"
		if isTimeout(in.err) {
			rec.ResponseBody = "<transport error: timeout after " + strconv.FormatInt(in.latency.Milliseconds(), 10) + "ms>"
		}
	}
	// rec holds only what the facade made (header and body copies, the cloned context), so the
	// encoding is left to the worker: the caller's Read that ends the body returns without it.
	// The worker keeps rec and the context, not in (the request and response).
	fields := in.context.fields
	c.background(ctx, auditTimeout, func(ctx context.Context) {
		body, err := marshalWire(&rec)
		if err != nil {
			c.log.ErrorContext(ctx, "alter: audit record not encoded", "err", err)
			return
		}
		d := &call{op: "recordApiCall", surface: surfaceShared, body: body, actor: true, ctxHeader: true,
			perCall: fields, background: true}
		_, err = c.post(ctx, d, nil, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
			return raw.RecordAPICallWithBody(ctx, contentJSON, body)
		})
		if err != nil {
			c.log.ErrorContext(ctx, "alter: audit record not recorded", "err", err)
		}
	})
}

// background queues work that Close drains, with the caller's values but not its cancellation.
func (c *client) background(ctx context.Context, limit time.Duration, post func(ctx context.Context)) {
	if !c.audits.submit(auditJob{parent: ctx, post: post, deadline: time.Now().Add(limit)}) {
		c.log.ErrorContext(ctx, "alter: background report dropped: the client is closed")
	}
}

// auditRequestHeaders are the headers sent to the provider without any that carried the
// credential.
func auditRequestHeaders(h http.Header, pl placement) map[string]string {
	out := map[string]string{}
	for k, vs := range h {
		lk := strings.ToLower(k)
		if sensitiveHeaders[lk] || placedIn(pl, lk) {
			continue
		}
		out[k] = strings.Join(vs, ", ")
	}
	return out
}

// auditResponseHeaders are the provider's answer headers, names lower-cased, without the
// sensitive ones.
func auditResponseHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, vs := range h {
		lk := strings.ToLower(k)
		if sensitiveHeaders[lk] {
			continue
		}
		if prev, ok := out[lk]; ok {
			out[lk] = prev + ", " + strings.Join(vs, ", ")
			continue
		}
		out[lk] = strings.Join(vs, ", ")
	}
	return out
}

func placedIn(pl placement, lower string) bool {
	for _, h := range pl.headers {
		if strings.ToLower(h) == lower {
			return true
		}
	}
	return false
}

// captureText is a body of size bytes whose first bytes are b, as the audit stores it: the text
// when short and UTF-8, else a size note.
func captureText(b []byte, size int64, tooLarge, binary string) string {
	switch {
	case size == 0:
		return ""
	case size > maxAuditCapture:
		return strings.Replace(tooLarge, "%d", strconv.FormatInt(size, 10), 1)
	case !utf8.Valid(b):
		return strings.Replace(binary, "%d", strconv.FormatInt(size, 10), 1)
	}
	return string(b)
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
