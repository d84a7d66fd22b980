package facade

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// RequestParams are the inputs of a retrieve-mode call. Exactly one of GrantID and Provider
// selects the grant.
type RequestParams struct {
	// GrantID selects the grant explicitly.
	GrantID uuid.UUID
	// Provider (e.g. "github", or a managed secret's slug) lets the vault pick the grant: the
	// end user's (through their token), or the agent's own.
	Provider string
	// Account picks one of the user's accounts on Provider (see AmbiguousGrantError). With
	// GrantID it is ignored.
	Account string
	// Label picks a grant by its label (Provider only).
	Label string
	// AppUserID names the end user by the app's own user id (Provider only).
	AppUserID string
	// UserToken is the end user's JWT for this call; without it, the WithUserTokenGetter value.
	// On an Agent it only chooses among the users who delegated to it.
	UserToken string
	// Caller replaces the client's caller for this call (its caller type stays). The audit record
	// of the call still names the client's caller.
	Caller string

	// PathParams fill the {name} placeholders of the URL. Each value is escaped whole (every
	// byte but letters, digits and "_.-~", so "/" becomes %2F).
	PathParams map[string]string
	// Query, when not empty, replaces the URL's own query string (for an AWS credential, signed
	// with SigV4, it joins it, as alter-sdk does).
	Query url.Values
	// Header is sent to the provider; the injected credential header overrides a header of the
	// same name.
	Header http.Header
	// JSON, when non-nil, is marshalled as the body with Content-Type application/json (unless
	// Header sets one).
	JSON any
	// Body is the raw body (set its Content-Type in Header). Exclusive with JSON.
	Body []byte

	// Reason says why the call is made; it is stored in the audit log.
	Reason string
	// Context is per-call audit metadata (tool name, step…); it replaces the ctx's Trace.
	Context map[string]string
}

// Response is the provider's answer to a retrieve-mode call (a status below 400; a 3xx is never
// followed and comes back as it is). Its Body streams the answer: read it and close it. The
// call's WithTimeout bounds the reading too, and the audit record is posted when the body ends
// (at EOF, at Close, or when the call's context ends), carrying the body as far as it was read.
// Close the body before the client: a record that ends after the client's Close is dropped.
type Response struct {
	*http.Response
	// RetryInfo is the vault's report on refreshing the credential (nil: nothing to report).
	RetryInfo *RetryInfo
	// GrantID and ProviderID identify the grant whose credential was used.
	GrantID    uuid.UUID
	ProviderID string
}

// maxProviderURL is the longest provider URL sent, in characters once encoded.
const maxProviderURL = 65536

var placeholderRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Request makes a provider call in retrieve mode: it checks the call locally, fetches the
// credential from the vault (POST /sdk/token), injects it into the provider request (or, for an
// AWS credential, signs the request with SigV4; the call's Query then joins the URL's), sends that
// with the provider client (no redirect followed), and posts the audit record in the background.
// A provider status of 400 or more is a *ProviderAPIError (or one of its kinds, such as a
// *ScopeReauthRequiredError). The whole call, reading the body included, is bounded by
// WithTimeout; the body is streamed, so memory does not grow with the answer.
func (c *client) Request(ctx context.Context, method, rawURL string, p RequestParams) (*Response, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	if err := checkSelectors("RequestParams", p.GrantID, p.Provider, p.Label, p.AppUserID); err != nil {
		return nil, err
	}
	if p.GrantID != uuid.Nil && p.Provider == "" && c.impersonating() && c.warnedOp.CompareAndSwap(false, true) {
		c.log.WarnContext(ctx, "alter: App.GetAgent view: Request by GrantID uses the App's key and can reach grants "+
			"the agent holds no delegation for; use the agent's own key (NewAgent) for delegation-scoped access, "+
			"or Request by Provider (with the user's token) to go through the agent's delegations", "agent_id", c.caller)
	}
	m, err := checkMethod(method)
	if err != nil {
		return nil, err
	}
	var body []byte
	isJSON := false
	switch {
	case p.JSON != nil && p.Body != nil:
		return nil, inputErr("RequestParams.JSON", "set JSON or Body, not both", nil)
	case p.JSON != nil:
		if body, err = compactJSON(p.JSON); err != nil {
			return nil, inputErr("RequestParams.JSON", "cannot be marshalled: "+err.Error(), nil)
		}
		isJSON = true
	case p.Body != nil:
		body = p.Body
	}
	if err := checkHeader("RequestParams.Header", p.Header); err != nil {
		return nil, err
	}
	resolved, err := expandURL(rawURL, p.PathParams)
	if err != nil {
		return nil, err
	}
	target, err := checkProviderURL(resolved, p.Query)
	if err != nil {
		return nil, err
	}
	if p.Caller != "" {
		if err := checkCaller("RequestParams.Caller", p.Caller); err != nil {
			return nil, err
		}
	}
	ac, err := contextFor(ctx, "RequestParams.Context", p.Context)
	if err != nil {
		return nil, err
	}
	tok, err := c.userToken(ctx, p.UserToken, true)
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	streaming := false // then the body owns cancel
	defer func() {
		if !streaming {
			cancel()
		}
	}()
	c.lastRetry.Store(nil)
	cred, err := c.retrieveToken(ctx, m, resolved, p, tok, ac)
	if err != nil {
		return nil, c.forAgent(err)
	}
	c.lastRetry.Store(cred.retryInfo)

	req, err := http.NewRequestWithContext(ctx, m, target, nil)
	if err != nil {
		return nil, inputErr("url", "cannot build the provider request", nil)
	}
	req.Header = p.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	impliedCT := isJSON && req.Header.Get("Content-Type") == ""
	if impliedCT {
		req.Header.Set("Content-Type", "application/json")
	}
	var pl placement
	if cred.isSigV4() {
		pl, err = signV4(req, cred, resolved, p.Query, body, c.now())
	} else {
		pl, err = inject(req, cred, p.Query)
	}
	if err != nil {
		return nil, err
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}
	if n := len(req.URL.String()); n > maxProviderURL {
		return nil, inputErr("url", "longer than 65,536 characters once the credential is added", nil)
	}
	if body != nil {
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}

	in := auditInput{cred: cred, method: m, url: resolved, req: req, pl: pl, reqJSON: isJSON, impliedCT: impliedCT,
		reqBody: body, reason: p.Reason, context: ac}
	start := time.Now()
	resp, err := c.provider.Do(req)
	if err != nil {
		in.err, in.latency = err, time.Since(start)
		c.audit(ctx, in)
		return nil, providerTransportError(err, m, resolved, pl)
	}
	in.resp = resp
	if resp.StatusCode >= 400 {
		respBody, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		in.respBody, in.respSize, in.err, in.latency = respBody, int64(len(respBody)), err, time.Since(start)
		c.audit(ctx, in)
		if err != nil {
			return nil, providerTransportError(err, m, resolved, pl)
		}
		return nil, c.providerFailure(ctx, cred, m, resolved, resp, respBody, pl)
	}
	streaming = true
	resp.Body = c.streamBody(ctx, in, start, cancel)
	gid, _ := uuid.Parse(cred.grantID)
	return &Response{Response: resp, RetryInfo: cred.retryInfo, GrantID: gid, ProviderID: cred.providerID}, nil
}

// retrieveToken is POST /sdk/token: the credential and the rules for placing it.
func (c *client) retrieveToken(ctx context.Context, method, resolvedURL string, p RequestParams, userToken string, ac auditContext) (*credential, error) {
	tr := gen.TokenRequest{Request: gen.TokenRequestTarget{Method: method, URL: resolvedURL}, Reason: optStr(p.Reason),
		UserToken: optStr(userToken)}
	if p.GrantID != uuid.Nil {
		tr.GrantID = optStr(p.GrantID.String())
	} else {
		provider := p.Provider // not &p.Provider, which would move all of p to the heap
		tr.ProviderID = &provider
		tr.AppUserID, tr.Account, tr.Label = optStr(p.AppUserID), optStr(p.Account), optStr(p.Label)
	}
	d := &call{op: "retrieveToken", surface: surfaceToken, actor: true, ctxHeader: true, perCall: ac.fields,
		ctxField: "RequestParams.Context", caller: p.Caller, field: "RequestParams"}
	a, err := c.post(ctx, d, tr, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.RetrieveTokenWithBody(ctx, contentJSON, body)
	})
	if err != nil {
		return nil, err
	}
	return parseCredential(a.body)
}

// userToken is the end-user token of a call: the per-call value, else (when the call may use
// it) the getter's. A failing getter fails the call rather than act without the user.
func (c *client) userToken(ctx context.Context, perCall string, useGetter bool) (string, error) {
	if perCall != "" || !useGetter || c.getter == nil {
		return perCall, nil
	}
	tok, err := c.getter(ctx)
	if err != nil {
		return "", &tokenGetterError{err: err}
	}
	if tok == "" {
		return "", inputErr("WithUserTokenGetter", "the getter returned an empty token", nil)
	}
	return tok, nil
}

// tokenGetterError reports a failing UserTokenGetter.
type tokenGetterError struct{ err error }

// Error implements error.
func (e *tokenGetterError) Error() string { return "alter: user token getter failed: " + e.err.Error() }

// Unwrap returns the getter's error.
func (e *tokenGetterError) Unwrap() error { return e.err }

// checkSelectors applies the grant selection rules the reference client checks locally.
func checkSelectors(params string, grantID uuid.UUID, provider, label, appUserID string) error {
	switch {
	case grantID != uuid.Nil && provider != "":
		return inputErr(params+".GrantID", "set GrantID or Provider, not both", ErrGrantAndProvider)
	case grantID == uuid.Nil && provider == "":
		return inputErr(params+".GrantID", "set GrantID or Provider", ErrNoGrantSelector)
	case label != "" && provider == "":
		return inputErr(params+".Label", "Label needs Provider", nil)
	case appUserID != "" && provider == "":
		return inputErr(params+".AppUserID", "AppUserID needs Provider", nil)
	}
	return nil
}

// checkMethod upper-cases a provider method; it must be an HTTP token.
func checkMethod(m string) (string, error) {
	u := strings.ToUpper(m)
	if u == "" || !validToken(u) {
		return "", inputErr("method", "must be an HTTP method such as GET or POST", nil)
	}
	return u, nil
}

// checkHeader refuses provider headers net/http cannot send (a name that is not a token, a
// value with CR, LF or another control character), before anything is sent. The value never
// appears in the error: it may be a secret.
func checkHeader(field string, h http.Header) error {
	for k, vs := range h {
		if !validToken(k) {
			return inputErr(field, "a header name is not an HTTP token", nil)
		}
		for _, v := range vs {
			for i := 0; i < len(v); i++ {
				if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
					return inputErr(field+"["+k+"]", "the value contains CR, LF or another control character", nil)
				}
			}
		}
	}
	return nil
}

func validToken(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && strings.IndexByte("!#$%&'*+-.^_`|~", c) < 0 {
			return false
		}
	}
	return true
}

// expandURL replaces each {name} of the template with its escaped value; a brace left over (a
// missing value, or format syntax) is refused rather than sent.
func expandURL(tmpl string, params map[string]string) (string, error) {
	out := tmpl
	for k, v := range params {
		if !placeholderRE.MatchString(k) {
			return "", inputErr("PathParams", "keys must match [A-Za-z_][A-Za-z0-9_]*", nil)
		}
		out = strings.ReplaceAll(out, "{"+k+"}", escapeAll(v))
	}
	if strings.ContainsAny(out, "{}") {
		return "", inputErr("PathParams", "the URL has a {placeholder} without a value, or a stray brace", nil)
	}
	return out, nil
}

// escapeAll percent-encodes every byte but the unreserved ones, so a value is one segment.
func escapeAll(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

// checkProviderURL applies the provider URL rule (https; http only to a loopback host; a host
// and a valid port) and the length limit, and returns the URL to send (Query replacing the
// URL's query when given), encoded.
func checkProviderURL(resolved string, query url.Values) (string, error) {
	u, err := url.Parse(resolved)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return "", inputErr("url", "must be an absolute URL with a host", nil)
	}
	if p := u.Port(); p != "" {
		if n, err := atoiPort(p); err != nil || n > 65535 {
			return "", inputErr("url", "must use a valid port (0-65535)", nil)
		}
	}
	switch s := strings.ToLower(u.Scheme); {
	case s == "https":
	case s == "http" && loopbackHost(u.Hostname()):
	default:
		return "", inputErr("url", "must use https (http only for localhost, 127.0.0.1 or ::1)", nil)
	}
	if len(query) > 0 {
		u.RawQuery = query.Encode()
	}
	if target := u.String(); len(target) <= maxProviderURL {
		return target, nil
	}
	return "", inputErr("url", "longer than 65,536 characters once encoded", nil)
}

func atoiPort(p string) (int, error) {
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' || n > 65535 {
			return 0, errBadPort
		}
		n = n*10 + int(p[i]-'0')
	}
	return n, nil
}

var errBadPort = inputErr("url", "bad port", nil)

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
