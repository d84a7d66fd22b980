package facade

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// ProxyParams are the inputs of a proxy-mode call: the vault performs the provider call itself
// and the credential never leaves it. Selection rules are those of RequestParams, except that
// Account, like Label and AppUserID, needs Provider.
type ProxyParams struct {
	GrantID   uuid.UUID // explicit grant
	Provider  string    // let the vault pick the grant on this provider
	Account   string    // one of the user's accounts on Provider
	Label     string    // a grant by its label (Provider only)
	AppUserID string    // the end user by the app's own user id (Provider only)
	UserToken string    // the end user's JWT; without it, the WithUserTokenGetter value
	Caller    string    // replaces the client's caller for this call

	PathParams map[string]string // fill {name} placeholders, each value escaped whole
	Query      url.Values        // sent as the call's query parameters
	// Header is forwarded to the provider (one value per name). Credential and routing headers
	// (Authorization, Cookie, X-Api-Key, Host, …) are refused: the vault injects the credential.
	Header http.Header
	JSON   any // JSON body

	Reason  string            // shown to the approver and stored in the audit log
	Context map[string]string // per-call audit metadata; replaces the ctx's Trace
}

// forbiddenProxyHeaders may not be forwarded in proxy mode.
var forbiddenProxyHeaders = map[string]bool{
	"host": true, "authorization": true, "proxy-authorization": true, "authentication": true, "cookie": true,
	"set-cookie": true, "x-api-key": true, "x-auth-token": true, "x-amz-security-token": true, "x-amz-date": true,
	"x-amz-content-sha256": true, "x-goog-authorization": true, "x-goog-iam-authorization-token": true,
	"x-stripe-account": true, "x-shopify-access-token": true, "x-http-method": true,
	"x-http-method-override": true, "x-method-override": true,
}

// ProxyOutcome is the answer of ProxyRequest: exactly one field is set. Result when the vault
// executed the call, Pending when a human must approve it first (then use AwaitApproval).
type ProxyOutcome struct {
	Result  *ProxyResult     // the provider's answer, when the call was executed
	Pending *PendingApproval // the held call, when a human must decide first
}

// ProxyResult is the provider's answer to a proxied call. A status of 400 or more is data here,
// not an error.
type ProxyResult struct {
	ApprovalID     string        // set when the call went through an approval
	StatusCode     int           // provider status
	Header         http.Header   // provider headers
	Body           []byte        // provider body
	Truncated      bool          // the vault cut the body
	Duration       time.Duration // how long the provider call took (0: not reported)
	CredentialHint string        // the vault's hint about the credential used, if any
}

// Bytes returns the body.
func (r *ProxyResult) Bytes() []byte { return r.Body }

// Text returns the body as a string.
func (r *ProxyResult) Text() string { return string(r.Body) }

// JSON unmarshals the body into v.
func (r *ProxyResult) JSON(v any) error { return json.Unmarshal(r.Body, v) }

// PendingApproval is a proxied call held for a human decision: show URL (or, when there are
// several gates, each gate's URL) to the approvers. The top-level fields are the group's
// executor gate, the one AwaitApproval and GetApprovalStatus poll.
type PendingApproval struct {
	ID        string         // the approval id (AwaitApproval)
	GroupID   string         // the approval group of all gates
	URL       string         // where the approver decides
	State     ApprovalState  // ApprovalPending
	ExpiresAt time.Time      // when the hold expires unless decided
	ExpiresIn time.Duration  // how long that was from the vault's answer
	Gates     []ApprovalGate // one per distinct approver set (N-of-N): all must approve
}

// ApprovalGate is one approver set's decision of a held call. The approver's identity is
// never exposed: URL routes whoever signs in there.
type ApprovalGate struct {
	ID        string        // the gate's approval id
	URL       string        // where its approver decides (in PendingApproval)
	State     ApprovalState // its decision: pending, approved, denied or expired (in ApprovalStatus)
	ExpiresAt time.Time     // when it expires
	ExpiresIn time.Duration // how long that was from the vault's answer (in PendingApproval)
	DecidedAt time.Time     // zero until decided (in ApprovalStatus)
}

// ProxyRequest asks the vault to make the provider call itself (proxy mode, required for
// grants that need a human approval or restrict what may be called). The outcome holds the
// provider's answer, or a PendingApproval. It is never retried: the vault may have made the
// call.
func (c *client) ProxyRequest(ctx context.Context, method, rawURL string, p ProxyParams) (ProxyOutcome, error) {
	if err := c.checkOpen(); err != nil {
		return ProxyOutcome{}, err
	}
	if err := checkSelectors("ProxyParams", p.GrantID, p.Provider, p.Label, p.AppUserID); err != nil {
		return ProxyOutcome{}, err
	}
	if p.Account != "" && p.Provider == "" {
		return ProxyOutcome{}, inputErr("ProxyParams.Account", "Account needs Provider", ErrAccountWithoutProvider)
	}
	if method == "" {
		return ProxyOutcome{}, inputErr("method", "required", nil)
	}
	if rawURL == "" {
		return ProxyOutcome{}, inputErr("url", "required", nil)
	}
	resolved, err := expandURL(rawURL, p.PathParams)
	if err != nil {
		return ProxyOutcome{}, err
	}
	if p.Caller != "" {
		if err := checkCaller("ProxyParams.Caller", p.Caller); err != nil {
			return ProxyOutcome{}, err
		}
	}
	req := gen.ProxyRequestBody{Method: strings.ToUpper(method), URL: resolved, Account: optStr(p.Account),
		Label: optStr(p.Label), AppUserID: optStr(p.AppUserID), Reason: optStr(p.Reason)}
	if p.GrantID != uuid.Nil {
		req.GrantID = optStr(p.GrantID.String())
	} else {
		req.ProviderID = &p.Provider
	}
	if p.Header != nil {
		h := make(map[string]string, len(p.Header))
		for k, vs := range p.Header {
			if !validToken(k) {
				return ProxyOutcome{}, inputErr("ProxyParams.Header", "a header name is not an HTTP token", ErrForbiddenHeader)
			}
			if forbiddenProxyHeaders[strings.ToLower(strings.TrimSpace(k))] {
				return ProxyOutcome{}, inputErr("ProxyParams.Header", k+" may not be forwarded: the vault injects the credential", ErrForbiddenHeader)
			}
			h[k] = strings.Join(vs, ", ")
		}
		req.Headers = &h
	}
	if p.Query != nil {
		q := make(map[string]any, len(p.Query))
		for k, vs := range p.Query {
			if len(vs) == 1 {
				q[k] = vs[0]
			} else {
				q[k] = vs
			}
		}
		req.QueryParams = &q
	}
	if p.JSON != nil {
		raw, err := json.Marshal(p.JSON)
		if err != nil {
			return ProxyOutcome{}, inputErr("ProxyParams.JSON", "cannot be marshalled: "+err.Error(), nil)
		}
		req.Body = json.RawMessage(raw)
	}
	d := &call{op: "proxyRequest", surface: surfaceProxy, actor: true, ctxHeader: true, perCall: p.Context,
		ctxField: "ProxyParams.Context", caller: p.Caller, field: "ProxyParams",
		user: &endUser{into: &req.UserToken, perCall: p.UserToken, getter: true}}
	a, err := c.post(ctx, d, &req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.ProxyRequestWithBody(ctx, contentJSON, body)
	})
	if err != nil {
		return ProxyOutcome{}, c.forAgent(err)
	}
	switch a.status {
	case http.StatusAccepted:
		var pa gen.PendingApproval
		if json.Unmarshal(a.body, &pa) != nil || pa.Status != "pending" || len(pa.Gates) == 0 || pa.ApprovalURL == "" {
			return ProxyOutcome{}, malformed(d.op, a.status, a.header)
		}
		return ProxyOutcome{Pending: pendingFrom(pa)}, nil
	case http.StatusOK:
		r, err := proxyResultFrom(d.op, a)
		if err != nil {
			return ProxyOutcome{}, err
		}
		return ProxyOutcome{Result: r}, nil
	}
	return ProxyOutcome{}, unexpectedStatus(d.op, a.status, a.header)
}

func pendingFrom(pa gen.PendingApproval) *PendingApproval {
	p := &PendingApproval{ID: pa.ApprovalID.String(), GroupID: pa.ApprovalGroupID.String(), URL: pa.ApprovalURL,
		State: ApprovalState(pa.Status), ExpiresAt: pa.ExpiresAt, ExpiresIn: time.Duration(pa.ExpiresIn) * time.Second}
	for _, g := range pa.Gates {
		p.Gates = append(p.Gates, ApprovalGate{ID: g.ApprovalID.String(), URL: g.ApprovalURL, State: ApprovalPending,
			ExpiresAt: g.ExpiresAt, ExpiresIn: time.Duration(g.ExpiresIn) * time.Second})
	}
	return p
}

// proxyResultFrom decodes an ApprovalResult; the body travels in standard padded base64.
func proxyResultFrom(op string, a *answer) (*ProxyResult, error) {
	var ar gen.ApprovalResult
	if json.Unmarshal(a.body, &ar) != nil {
		return nil, malformed(op, a.status, a.header)
	}
	body, err := base64.StdEncoding.Strict().DecodeString(ar.BodyB64)
	if err != nil {
		return nil, malformed(op, a.status, a.header)
	}
	r := &ProxyResult{StatusCode: ar.StatusCode, Header: http.Header{}, Body: body, Truncated: derefBool(ar.BodyTruncated),
		CredentialHint: strings.TrimSpace(derefStr(ar.CredentialHint))}
	if ar.ApprovalID != nil {
		r.ApprovalID = ar.ApprovalID.String()
	}
	if ar.DurationMs != nil {
		r.Duration = time.Duration(*ar.DurationMs) * time.Millisecond
	}
	for k, v := range ar.Headers {
		r.Header.Set(k, v)
	}
	return r, nil
}
