package facade

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// RequestParams are the inputs of a retrieve-mode call. Exactly one of GrantID and Provider
// selects the grant.
type RequestParams struct {
	// GrantID selects the grant explicitly.
	GrantID uuid.UUID
	// Provider (e.g. "github") selects the end user's grant through their token (App only; the
	// token comes from UserToken or WithUserTokenGetter).
	Provider string
	// Account picks one of the user's accounts on Provider (see AmbiguousGrantError).
	Account string
	// UserToken overrides WithUserTokenGetter for this call (App only).
	UserToken string

	// PathParams fill the {name} placeholders of the URL's path. Each value is escaped as one
	// segment: "/" and ".." cannot change the path.
	PathParams map[string]string
	// Query is added to the URL's query string.
	Query url.Values
	// Header is sent upstream; the injected credential header overrides a header of the same name.
	Header http.Header
	// JSON, when non-nil, is marshalled as the body with Content-Type application/json.
	JSON any
	// Body is the raw body (set its Content-Type in Header). Exclusive with JSON.
	Body []byte

	// Reason says why the call is made; it is stored in the audit log.
	Reason string
	// Context is per-call audit metadata (tool name, step…).
	Context map[string]string
}

// Response is the upstream answer of a retrieve-mode call (status 2xx; other statuses are
// returned as *ProviderAPIError). Close its Body. The call's timeout also bounds reading the body.
type Response struct {
	*http.Response
	// RetryInfo lists every attempt of the call: the credential retrieval, then the upstream.
	RetryInfo RetryInfo
	// GrantID and ProviderID identify the grant whose credential was used.
	GrantID    uuid.UUID // the grant used
	ProviderID string    // its provider
	// CredentialRequestID is the vault's request id of the credential retrieval.
	CredentialRequestID string
}

// request is retrieve mode: local rules → signed POST /tokens → upstream call with the injected
// credential on the provider client → audit record in the background.
func (c *client) request(ctx context.Context, method, rawURL string, p RequestParams) (_ *Response, err error) {
	pc, err := c.prepare(ctx, callInput{fields: requestFields, method: method, url: rawURL,
		grantID: p.GrantID, provider: p.Provider, account: p.Account, userToken: p.UserToken,
		pathParams: p.PathParams, query: p.Query, header: p.Header, json: p.JSON, body: p.Body,
		reason: p.Reason, context: p.Context})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer func() {
		if err != nil {
			cancel()
		}
	}()
	rec := newRecorder()
	ctx = withRecorder(ctx, rec)
	defer c.setLast(rec)

	var tok gen.TokenResponse
	tokReq := gen.TokenRequest{GrantID: pc.grantID, Provider: pc.provider, Account: pc.account,
		Method: gen.HTTPMethod(pc.method), URL: pc.url.String(), Reason: pc.reason, Context: pc.context}
	vresp, err := c.do(ctx, "retrieveCredential", &tok, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		body, err := json.Marshal(tokReq)
		if err != nil {
			return nil, err
		}
		return c.sendDirect(ctx, http.MethodPost, "/tokens", body, pc.userToken) // raw.RetrieveCredential
	})
	if err != nil {
		return nil, err
	}
	credReqID := vresp.Header.Get(hRequestID)

	req, err := http.NewRequestWithContext(ctx, pc.method, pc.url.String(), nil)
	if err != nil {
		return nil, inputErr("url", "cannot build the upstream request", nil)
	}
	req.Header = pc.header
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if pc.isJSON && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	inj, err := inject(req, &tok)
	if err != nil {
		return nil, err
	}

	start := time.Now()
	resp, sendErr := c.sendUpstream(ctx, req, pc.body, inj, rec)
	latency := time.Since(start)
	c.recordUpstream(ctx, auditInput{tok: &tok, req: req, resp: resp, err: sendErr, inj: inj, start: start,
		latency: latency, reason: p.Reason, context: p.Context, credReqID: credReqID, rec: rec})
	if sendErr != nil {
		return nil, transportErr("upstream", sendErr)
	}
	if resp.StatusCode >= 400 { // a 3xx not followed (304 to a conditional request) is an answer
		return nil, providerError(req, resp, &tok, inj)
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return &Response{Response: resp, RetryInfo: rec.info(), GrantID: tok.GrantID, ProviderID: tok.ProviderID,
		CredentialRequestID: credReqID}, nil
}

// sendUpstream sends req with the provider client, retrying what is safe. A per-call copy of the
// client drops the injected credential when a redirect leaves the original host.
func (c *client) sendUpstream(ctx context.Context, req *http.Request, body []byte, inj injection, rec *recorder) (*http.Response, error) {
	hc := guardRedirects(c.provider, req.URL, inj)
	idempotent := idempotentMethod(req.Method) || req.Header.Get(hIdempotency) != ""
	return c.retry.do(ctx, "upstream", rec, idempotent, false, func(ctx context.Context, n int) (*http.Response, error) {
		r := attemptRequest(ctx, req, n)
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			r.ContentLength = int64(len(body))
		}
		resp, err := hc.Do(r)
		if err != nil {
			return nil, sanitizeURLError(err)
		}
		return resp, nil
	})
}
