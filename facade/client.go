package facade

// Internal seam for typed vault calls (used by every facade method; issue 5's connect, grants,
// managed secrets and agents namespace build on it in their own files):
//
//	var out gen.ConnectSession
//	resp, err := c.do(ctx, "createConnectSession", &out,
//		func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
//			return raw.CreateConnectSession(ctx, nil, body)
//		})
//
// c.do checks Close and the ctx's Trace, applies WithTimeout to the whole logical call, names the
// operation (op = the spec's operationId, used in errors, attempts and logs), records RetryInfo
// (LastRetryInfo) and maps the answer: 2xx → body decoded into out (nil: ignored; malformed JSON →
// *APIError matching ErrUnexpectedResponse); non-2xx → decodeError (the typed *APIError family,
// never a panic, also for HTML or truncated bodies); transport failure → *NetworkError. The
// returned *http.Response (body already read and closed) gives access to headers such as
// Idempotent-Replayed; it is nil on transport failure.
//
// Underneath, raw (the gen client) is wired so that send needs nothing else: c.editRequest sets
// User-Agent, X-Alter-Caller, X-Alter-Caller-Type and the trace headers (only when the gen params
// did not), and vaultDoer buffers the body, sets x-api-key and, on every POST without one, a
// generated Idempotency-Key reused by all retries, signs each attempt afresh (internal/signing),
// retries per RetryPolicy, and caches X-Alter-Actor-Id. Pass per-call headers through the gen
// params (e.g. &gen.CreateAgentParams{IdempotencyKey: &k}, XAlterUserToken from c.userToken).
//
// The three vault calls of every Request and Me (getMe, retrieveCredential, recordAPICall) build
// their request with c.sendDirect (fastpath.go) rather than a gen builder; editors, doer and
// answer handling are the same.
//
// c.exchange is c.do without the Close check, for work that must finish while Close drains
// (the background audit posts, auditpost.go). A gen call made without c.do (Raw) is its own
// logical call: the doer then checks Close, applies WithTimeout and records LastRetryInfo itself.
//
// Other helpers for new methods: c.checkOpen, c.agent (Agent rules apply), c.userToken (the
// identity rule for end-user tokens), inputErr / checkHeaderValue (local validation errors,
// ErrInvalidInput), and poll (ticker-driven polling that stops at once on ctx.Done, for connect and
// auth sessions).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
	"github.com/altersdk/alter-go/internal/signing"
)

// Version is the SDK version sent in User-Agent as alter-go/<Version>.
const Version = "0.1.0"

const userAgent = "alter-go/" + Version

// Header names of the wire model.
const (
	hCaller        = "X-Alter-Caller"
	hCallerType    = "X-Alter-Caller-Type"
	hUserToken     = "X-Alter-User-Token"
	hRunID         = "X-Alter-Run-Id"
	hThreadID      = "X-Alter-Thread-Id"
	hToolCallID    = "X-Alter-Tool-Call-Id"
	hIdempotency   = "Idempotency-Key"
	hRequestID     = "X-Request-Id"
	hActorID       = "X-Alter-Actor-Id"
	hKeyDeprecated = "X-Alter-Key-Deprecated"
)

const (
	maxVaultBody = 32 << 20        // largest vault answer read (a proxied 10 MiB body in base64)
	closeDrain   = 5 * time.Second // how long Close waits for background audit posts
	auditTimeout = 10 * time.Second
)

// shared is what an App and the Agents it derives with GetAgent have in common: the key, the
// connections, the retry policy and the background work.
type shared struct {
	apiKey      string
	sigKey      signing.Key
	baseURL     string
	timeout     time.Duration
	vault       *http.Client // never follows redirects: x-api-key must not leave the vault host
	provider    *http.Client
	ownedTransp []*http.Transport // closed by Close
	retry       *retrier
	log         *slog.Logger
	now         func() time.Time

	audits *auditPoster // background audit posts (auditpost.go)
	closed atomic.Bool  // Close was called on the owner

	deprecatedOnce sync.Once
	deprecated     atomic.Bool // an answer carried X-Alter-Key-Deprecated: true (KeyDeprecated)
}

// client is one identity over shared: App, Agent, or an Agent derived with GetAgent.
type client struct {
	*shared
	agent      bool       // Agent rules: never an end-user token
	owner      bool       // Close releases shared
	caller     string     // X-Alter-Caller
	callerType CallerType // X-Alter-Caller-Type; "" = not sent
	getter     UserTokenGetter
	raw        *gen.ClientWithResponses
	doer       *vaultDoer // raw's HTTP client

	closed  atomic.Bool
	actorID atomic.Pointer[uuid.UUID]
	last    atomic.Pointer[recorder] // of the last logical call, read by LastRetryInfo
}

func newShared(apiKey string, cfg *config) (*shared, error) {
	s := &shared{
		apiKey:  apiKey,
		sigKey:  signing.DeriveKey(apiKey),
		timeout: DefaultTimeout,
		log:     slog.New(slog.DiscardHandler),
		now:     time.Now,
	}
	s.baseURL = cfg.baseURL
	if s.baseURL == "" {
		s.baseURL = os.Getenv("ALTER_BASE_URL")
		if s.baseURL != "" {
			if _, err := parseBaseURL(s.baseURL); err != nil {
				return nil, inputErr("ALTER_BASE_URL", "must be an absolute http(s) URL", nil)
			}
		}
	}
	if s.baseURL == "" {
		s.baseURL = DefaultBaseURL
	}
	s.baseURL = strings.TrimRight(s.baseURL, "/")
	if cfg.timeout > 0 {
		s.timeout = cfg.timeout
	}
	if cfg.logger != nil {
		s.log = cfg.logger
	}
	vault := cfg.httpClient
	if vault == nil {
		t := newTransport()
		s.ownedTransp = append(s.ownedTransp, t)
		vault = &http.Client{Transport: t}
	}
	vc := *vault // a copy: the caller's client is left untouched
	vc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s.vault = &vc
	s.provider = cfg.providerClient
	if s.provider == nil {
		t := newTransport()
		s.ownedTransp = append(s.ownedTransp, t)
		s.provider = &http.Client{Transport: t}
	}
	s.retry = newRetrier(cfg.retry, s.log)
	s.audits = newAuditPoster(func(ctx context.Context, j auditJob) { j.c.postAudit(ctx, j.body) })
	return s, nil
}

// newTransport is http.DefaultTransport sized for many goroutines calling one host.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// newClient builds an identity view over s with its own wired gen client.
func newClient(s *shared, agent, owner bool, caller string, ct CallerType, getter UserTokenGetter) (*client, error) {
	c := &client{shared: s, agent: agent, owner: owner, caller: caller, callerType: ct, getter: getter}
	c.doer = &vaultDoer{c: c}
	raw, err := gen.NewClientWithResponses(s.baseURL+"/",
		gen.WithHTTPClient(c.doer),
		gen.WithRequestEditorFn(c.editRequest))
	if err != nil {
		return nil, inputErr("WithBaseURL", "invalid base URL", nil)
	}
	c.raw = raw
	return c, nil
}

// checkOpen returns ErrClosed after Close (of this view or of the owning App).
func (c *client) checkOpen() error {
	if c.closed.Load() {
		return ErrClosed
	}
	if c.shared.closed.Load() {
		return ErrClosed
	}
	return nil
}

// close marks the view closed; the owner also drains background work and releases connections.
func (c *client) close() error {
	if c.closed.Swap(true) || !c.owner {
		return nil
	}
	c.shared.closed.Store(true)
	if !c.audits.close(closeDrain) {
		c.log.Error("alter: Close: audit posts still running after the drain time; cancelled them")
	}
	for _, tr := range c.ownedTransp {
		tr.CloseIdleConnections()
	}
	return nil
}

// editRequest is the gen request editor: identity, trace and User-Agent headers. Values the gen
// params already set are kept.
func (c *client) editRequest(ctx context.Context, req *http.Request) error {
	req.Header.Set("User-Agent", userAgent)
	setIfAbsent(req.Header, hCaller, c.caller)
	if c.caller != "" {
		setIfAbsent(req.Header, hCallerType, string(c.callerType))
	}
	t := TraceFrom(ctx)
	if err := t.validate(); err != nil {
		return err
	}
	setIfAbsent(req.Header, hRunID, t.RunID)
	setIfAbsent(req.Header, hThreadID, t.ThreadID)
	setIfAbsent(req.Header, hToolCallID, t.ToolCallID)
	return nil
}

func setIfAbsent(h http.Header, k, v string) {
	if v != "" && h.Get(k) == "" {
		h.Set(k, v)
	}
}

type opKey struct{}

func withOp(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, opKey{}, op)
}

func opFrom(ctx context.Context, req *http.Request) string {
	if op, _ := ctx.Value(opKey{}).(string); op != "" {
		return op
	}
	return req.Method + " vault"
}

// do is the seam for one logical vault call; see the comment at the top of this file.
func (c *client) do(ctx context.Context, op string, out any, send func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error)) (*http.Response, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	return c.exchange(ctx, op, out, send)
}

// exchange is do without the Close check (background audit posts still run while Close drains).
func (c *client) exchange(ctx context.Context, op string, out any, send func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error)) (*http.Response, error) {
	if err := TraceFrom(ctx).validate(); err != nil {
		return nil, err
	}
	ctx, cancel, ok := withTimeout(ctx, c.timeout)
	if ok {
		defer cancel()
	}
	rec := recorderFrom(ctx)
	if rec == nil {
		rec = newRecorder()
		ctx = withRecorder(ctx, rec)
		defer c.setLast(rec)
	}
	ctx = withOp(ctx, op)
	resp, err := send(ctx, c.raw.ClientInterface)
	if err != nil {
		return nil, transportErr(op, err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below: the connection is reused
	body, err := readBody(resp.Body, resp.ContentLength, maxVaultBody)
	if err != nil {
		return nil, transportErr(op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp, decodeError(op, resp.StatusCode, resp.Header, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return resp, &APIError{Op: op, StatusCode: resp.StatusCode, RequestID: resp.Header.Get(hRequestID),
				Message: "malformed JSON answer", Body: truncate(body, maxErrorBody)}
		}
	}
	return resp, nil
}

// setLast records rec as the last logical call's; its RetryInfo is copied out only when asked for.
func (c *client) setLast(rec *recorder) { c.last.Store(rec) }

// userToken returns the end-user token of a call that selects its grant by Provider: the per-call
// value, else the getter's. An Agent never sends one (ErrAgentUserToken), whatever the source.
func (c *client) userToken(ctx context.Context, perCall, field string, provider bool) (string, error) {
	if c.agent {
		if perCall != "" {
			return "", inputErr(field, agentTokenHint, ErrAgentUserToken)
		}
		if provider {
			if c.getter != nil {
				return "", inputErr(field, "an Agent with WithUserTokenGetter cannot select a grant by Provider: "+agentTokenHint, ErrAgentUserToken)
			}
			return "", inputErr("Provider", "an Agent selects grants by GrantID: "+agentTokenHint, ErrUserTokenRequired)
		}
		return "", nil
	}
	tok := perCall
	if tok == "" && provider && c.getter != nil {
		var err error
		if tok, err = c.getter(ctx); err != nil {
			return "", &tokenGetterError{err: err}
		}
	}
	if provider && tok == "" {
		return "", inputErr("UserToken", "Provider needs an end-user token: set WithUserTokenGetter or the per-call UserToken", ErrUserTokenRequired)
	}
	if err := checkHeaderValue(field, tok, 8192); err != nil {
		return "", err
	}
	return tok, nil
}

const agentTokenHint = "agents do not act for end users; for agent code inside a user session use " +
	"NewApp(key, WithCaller(agentUUID), WithUserTokenGetter(…))"

// tokenGetterError reports a failing UserTokenGetter.
type tokenGetterError struct{ err error }

// Error implements error.
func (e *tokenGetterError) Error() string { return "alter: user token getter: " + e.err.Error() }

// Unwrap returns the getter's error.
func (e *tokenGetterError) Unwrap() error { return e.err }

// observe caches the actor id and warns once about a deprecated key.
func (c *client) observe(resp *http.Response) {
	if c.actorID.Load() == nil {
		if id, err := uuid.Parse(resp.Header.Get(hActorID)); err == nil {
			c.actorID.CompareAndSwap(nil, &id)
		}
	}
	if resp.Header.Get(hKeyDeprecated) == "true" {
		c.deprecated.Store(true)
		c.deprecatedOnce.Do(func() {
			c.log.Warn("alter: the API key is deprecated; rotate it", "key_prefix", keyPrefix(c.apiKey))
		})
	}
}

// keyPrefix is the part of a key that is safe to log (its kind prefix and 4 characters).
func keyPrefix(k string) string {
	for _, p := range []string{appKeyPrefix, agentKeyPrefix, appKeyPrefixStaging, agentKeyPrefixStaging} {
		if strings.HasPrefix(k, p) {
			return p + "…"
		}
	}
	return "…"
}

// actor returns the cached actor id.
func (c *client) actor() uuid.UUID {
	if p := c.actorID.Load(); p != nil {
		return *p
	}
	return uuid.Nil
}

func (c *client) lastRetryInfo() RetryInfo {
	if rec := c.last.Load(); rec != nil {
		return rec.info()
	}
	return RetryInfo{}
}

// vaultDoer is the gen HttpRequestDoer: body buffering, x-api-key, idempotency key, signing of
// every attempt, retries and the client-level timeout for Raw calls.
type vaultDoer struct{ c *client }

// Do implements gen.HttpRequestDoer.
func (d *vaultDoer) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		n := req.ContentLength // 0 with a body: unknown
		if n > maxVaultBody {
			n = -1
		}
		b, err := readBody(req.Body, n, math.MaxInt64)
		_ = req.Body.Close()
		if err != nil {
			return nil, &NetworkError{Op: opFrom(req.Context(), req), Err: err}
		}
		body = b
	}
	return d.send(req, body)
}

// send is Do for a request whose body (nil: none) is given as bytes and not set on req.
func (d *vaultDoer) send(req *http.Request, body []byte) (*http.Response, error) {
	c := d.c
	ctx := req.Context()
	op := opFrom(ctx, req)
	req.Header.Set(signing.HeaderAPIKey, c.apiKey) // User-Agent: c.editRequest
	if req.Method == http.MethodPost && req.Header.Get(hIdempotency) == "" {
		req.Header.Set(hIdempotency, uuid.NewString())
	}
	rec := recorderFrom(ctx)
	if rec == nil { // a Raw call: it is its own logical call
		if err := c.checkOpen(); err != nil {
			return nil, err
		}
		rec = newRecorder()
		defer c.setLast(rec)
	}
	ctx, cancel, ok := withTimeout(ctx, c.timeout)
	idempotent := idempotentMethod(req.Method) || req.Header.Get(hIdempotency) != ""
	resp, err := c.retry.do(ctx, op, rec, idempotent, true, func(ctx context.Context, n int) (*http.Response, error) {
		r := attemptRequest(ctx, req, n)
		if body != nil {
			// No GetBody: net/http must not replay a signed request on its own (same nonce);
			// this loop re-sends it, signed afresh.
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.GetBody = nil
			r.ContentLength = int64(len(body))
		}
		signing.Sign(r, c.sigKey, body, c.now())
		resp, err := c.vault.Do(r)
		if err != nil {
			return nil, sanitizeURLError(err)
		}
		return resp, nil
	})
	if err != nil {
		if ok {
			cancel()
		}
		return nil, transportErr(op, err)
	}
	c.observe(resp)
	if ok {
		resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	}
	return resp, nil
}

// cancelOnClose releases a call's timeout when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close closes the body, then releases the call's context.
func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// transportErr wraps a transport failure (once) as *NetworkError.
func transportErr(op string, err error) error {
	var ne *NetworkError
	if errors.As(err, &ne) {
		return err
	}
	var ie *InputError // a request editor refused the call (e.g. a bad trace id)
	if errors.As(err, &ie) {
		return err
	}
	return &NetworkError{Op: op, Err: sanitizeURLError(err)}
}

// sanitizeURLError drops the query (which may carry an injected credential) from a *url.Error.
func sanitizeURLError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
}

// redactURL returns scheme://host/path of u: no userinfo, query or fragment.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
}
