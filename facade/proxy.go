package facade

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// ProxyParams are the inputs of a proxy-mode call: the vault performs the upstream call itself
// and the credential never leaves it. Selection rules are those of RequestParams.
type ProxyParams struct {
	GrantID   uuid.UUID // explicit grant
	Provider  string    // the end user's grant on this provider (App only, needs a user token)
	Account   string    // one of the user's accounts on Provider
	UserToken string    // overrides WithUserTokenGetter for this call (App only)

	PathParams map[string]string // fill {name} path placeholders, each escaped as one segment
	Query      url.Values        // added to the URL's query string
	// Header is forwarded upstream. Authorization, Cookie, X-Api-Key and X-Amz-Security-Token
	// are refused (ErrForbiddenHeader): the vault injects the credential.
	Header http.Header
	JSON   any    // JSON body
	Body   []byte // raw body; exclusive with JSON

	Reason  string            // shown to the approver and stored in the audit log
	Context map[string]string // per-call audit metadata
	// IdempotencyKey makes a retried call safe across process restarts (default: one generated
	// per call, reused by its automatic retries).
	IdempotencyKey string
}

// maxProxyBody is the largest upstream body ProxyRequest sends: the vault refuses requests over
// 1 MiB (413 request_too_large), so a bigger body is refused locally, before any network call.
// (The vault counts the whole encoded request, so bodies a little under 1 MiB can still get 413.)
const maxProxyBody = 1 << 20

// forbiddenProxyHeaders may not be forwarded in proxy mode.
var forbiddenProxyHeaders = []string{"authorization", "cookie", "x-api-key", "x-amz-security-token"}

// ProxyOutcome is the answer of ProxyRequest: exactly one field is set. Result when the vault
// executed the call, Pending when a human must approve it first (then use AwaitApproval).
type ProxyOutcome struct {
	Result  *ProxyResult     // the upstream answer, when the call was executed
	Pending *PendingApproval // the held call, when a human must decide first
}

// ProxyResult is the upstream answer of a proxied call. A non-2xx upstream status is data here,
// not an error.
type ProxyResult struct {
	ApprovalID string      // set when the call went through an approval
	StatusCode int         // upstream status
	Header     http.Header // upstream headers
	Body       []byte      // upstream body
	Truncated  bool        // the vault cut the body at 10 MiB
}

// Bytes returns the body.
func (r *ProxyResult) Bytes() []byte { return r.Body }

// Text returns the body as a string.
func (r *ProxyResult) Text() string { return string(r.Body) }

// JSON unmarshals the body into v.
func (r *ProxyResult) JSON(v any) error { return json.Unmarshal(r.Body, v) }

// ApprovalState is the state of a held proxy call.
type ApprovalState string

// Approval states. Executed, Denied, Expired and Failed are terminal.
const (
	ApprovalPending   ApprovalState = "pending"
	ApprovalApproved  ApprovalState = "approved"
	ApprovalExecuting ApprovalState = "executing"
	ApprovalDenied    ApprovalState = "denied"
	ApprovalExpired   ApprovalState = "expired"
	ApprovalExecuted  ApprovalState = "executed"
	ApprovalFailed    ApprovalState = "failed"
)

// Terminal reports whether no further change will happen.
func (s ApprovalState) Terminal() bool {
	switch s {
	case ApprovalExecuted, ApprovalDenied, ApprovalExpired, ApprovalFailed:
		return true
	}
	return false
}

// PendingApproval is a proxied call held for a human decision.
type PendingApproval struct {
	ID        string        // e.g. "apr_xyz"
	URL       string        // where the approver decides
	State     ApprovalState // ApprovalPending
	ExpiresAt time.Time     // when the hold expires unless decided
}

// ApprovalStatus is the state of a held call.
type ApprovalStatus struct {
	ID             string        // e.g. "apr_xyz"
	State          ApprovalState // current state
	ExpiresAt      time.Time     // when the hold expires
	DecidedAt      time.Time     // zero until a human decided
	DecisionReason string        // the approver's note
	ExecutedAt     time.Time     // zero until executed
	HasResult      bool          // the result can be fetched
}

// AwaitOptions tune AwaitApproval. Zero fields take their defaults.
type AwaitOptions struct {
	PollInterval time.Duration // default 2 s
	Timeout      time.Duration // default 5 min; then ErrApprovalTimeout
}

func (c *client) proxyRequest(ctx context.Context, method, rawURL string, p ProxyParams) (ProxyOutcome, error) {
	for k := range p.Header {
		for _, f := range forbiddenProxyHeaders {
			if strings.EqualFold(k, f) {
				return ProxyOutcome{}, inputErr("ProxyParams.Header", k+" may not be forwarded: the vault injects the credential", ErrForbiddenHeader)
			}
		}
	}
	if err := checkHeaderValue("ProxyParams.IdempotencyKey", p.IdempotencyKey, 255); err != nil {
		return ProxyOutcome{}, err
	}
	pc, err := c.prepare(ctx, callInput{fields: proxyFields, method: method, url: rawURL,
		grantID: p.GrantID, provider: p.Provider, account: p.Account, userToken: p.UserToken,
		pathParams: p.PathParams, query: p.Query, header: p.Header, json: p.JSON, body: p.Body,
		reason: p.Reason, context: p.Context})
	if err != nil {
		return ProxyOutcome{}, err
	}
	if len(pc.body) > maxProxyBody {
		return ProxyOutcome{}, inputErr("ProxyParams.Body", "larger than 1 MiB, the vault's limit: use Request (retrieve mode) for large bodies", nil)
	}
	body := gen.ProxyRequest{GrantID: pc.grantID, Provider: pc.provider, Account: pc.account,
		Method: gen.HTTPMethod(pc.method), URL: pc.url.String(), Reason: pc.reason, Context: pc.context}
	if len(pc.header) > 0 {
		h := gen.StringMap{}
		for k, vs := range pc.header {
			h[k] = strings.Join(vs, ", ")
		}
		body.Headers = &h
	}
	switch {
	case pc.isJSON:
		body.JSONBody = json.RawMessage(pc.body)
	case pc.body != nil:
		body.BodyB64 = pc.body
	}
	params := &gen.ProxyRequestParams{XAlterUserToken: pc.userTokenParam()}
	if p.IdempotencyKey != "" {
		params.IdempotencyKey = &p.IdempotencyKey
	}
	var raw json.RawMessage
	resp, err := c.do(ctx, "proxyRequest", &raw, func(ctx context.Context, rc gen.ClientInterface) (*http.Response, error) {
		return rc.ProxyRequest(ctx, params, body)
	})
	if err != nil {
		return ProxyOutcome{}, err
	}
	bad := func() error {
		return &APIError{Op: "proxyRequest", StatusCode: resp.StatusCode, RequestID: resp.Header.Get(hRequestID),
			Message: "malformed JSON answer", Body: truncate(raw, maxErrorBody)}
	}
	if resp.StatusCode == http.StatusAccepted {
		var pa gen.PendingApproval
		if json.Unmarshal(raw, &pa) != nil {
			return ProxyOutcome{}, bad()
		}
		return ProxyOutcome{Pending: &PendingApproval{ID: pa.ApprovalID, URL: pa.ApprovalURL,
			State: ApprovalState(pa.Status), ExpiresAt: pa.ExpiresAt}}, nil
	}
	var ar gen.ApprovalResult
	if json.Unmarshal(raw, &ar) != nil {
		return ProxyOutcome{}, bad()
	}
	return ProxyOutcome{Result: proxyResultFrom(ar)}, nil
}

func proxyResultFrom(ar gen.ApprovalResult) *ProxyResult {
	r := &ProxyResult{StatusCode: ar.StatusCode, Header: http.Header{}, Body: ar.BodyB64, Truncated: ar.BodyTruncated}
	if ar.ApprovalID != nil {
		r.ApprovalID = *ar.ApprovalID
	}
	for k, v := range ar.Headers {
		r.Header.Set(k, v)
	}
	return r
}

func checkApprovalID(id string) error {
	if !strings.HasPrefix(id, "apr_") || len(id) > 68 || len(id) < 5 {
		return inputErr("approvalID", `must look like "apr_…"`, nil)
	}
	for _, ch := range id[4:] {
		if (ch < 'a' || ch > 'z') && (ch < 'A' || ch > 'Z') && (ch < '0' || ch > '9') {
			return inputErr("approvalID", `must look like "apr_…"`, nil)
		}
	}
	return nil
}

func (c *client) getApprovalStatus(ctx context.Context, id string) (ApprovalStatus, error) {
	if err := checkApprovalID(id); err != nil {
		return ApprovalStatus{}, err
	}
	var st gen.ApprovalStatus
	_, err := c.do(ctx, "getApprovalStatus", &st, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.GetApprovalStatus(ctx, id, nil)
	})
	if err != nil {
		return ApprovalStatus{}, err
	}
	out := ApprovalStatus{ID: st.ApprovalID, State: ApprovalState(st.Status), ExpiresAt: st.ExpiresAt, HasResult: st.HasResult}
	if st.DecidedAt != nil {
		out.DecidedAt = *st.DecidedAt
	}
	if st.DecisionReason != nil {
		out.DecisionReason = *st.DecisionReason
	}
	if st.ExecutedAt != nil {
		out.ExecutedAt = *st.ExecutedAt
	}
	return out, nil
}

// awaitApproval polls until the approval is terminal, then fetches its result: the upstream
// answer, or the vault's approval_denied / approval_expired / approval_execution_failed error.
func (c *client) awaitApproval(ctx context.Context, id string, o AwaitOptions) (*ProxyResult, error) {
	if err := checkApprovalID(id); err != nil {
		return nil, err
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	err := poll(ctx, o.PollInterval, o.Timeout, func(ctx context.Context) (bool, error) {
		st, err := c.getApprovalStatus(ctx, id)
		return err == nil && st.State.Terminal(), err
	})
	if errors.Is(err, errPollTimeout) {
		return nil, &approvalTimeoutError{id: id, after: o.Timeout}
	}
	if err != nil {
		return nil, err
	}
	var ar gen.ApprovalResult
	if _, err := c.do(ctx, "getApprovalResult", &ar, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.GetApprovalResult(ctx, id, nil)
	}); err != nil {
		return nil, err
	}
	return proxyResultFrom(ar), nil
}

type approvalTimeoutError struct {
	id    string
	after time.Duration
}

// Error implements error.
func (e *approvalTimeoutError) Error() string {
	return "alter: approval " + e.id + " still undecided after " + e.after.String()
}

// Is matches ErrApprovalTimeout and ErrTimeout.
func (e *approvalTimeoutError) Is(target error) bool {
	return target == ErrApprovalTimeout || target == ErrTimeout
}

// errPollTimeout is poll's own timeout, told apart from the caller's ctx ending.
var errPollTimeout = errors.New("alter: poll timeout")

// poll calls check now and then at every interval until it reports done, fails, timeout
// elapses (errPollTimeout) or ctx ends (ctx.Err(), at once, even mid-wait).
func poll(ctx context.Context, interval, timeout time.Duration, check func(ctx context.Context) (bool, error)) error {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		done, err := check(pctx)
		if err != nil {
			if ctx.Err() == nil && pctx.Err() != nil {
				return errPollTimeout
			}
			return err
		}
		if done {
			return nil
		}
		select {
		case <-pctx.Done():
			if err := ctx.Err(); err != nil {
				return err
			}
			return errPollTimeout
		case <-tick.C:
		}
	}
}
