package facade

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/cli/browser"
	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// Defaults of the headless flows (Connect, Authenticate), as in the other SDKs.
const (
	DefaultConnectTimeout = 5 * time.Minute
	DefaultPollInterval   = 2 * time.Second
)

// ErrConnectTimeout matches a Connect or Authenticate that did not finish in time: the
// Timeout of its params elapsed (client side), or the vault expired the session. It also
// matches ErrConnectFlow and ErrTimeout.
var ErrConnectTimeout = errors.New("alter: connect timed out")

// ConnectParams are the inputs of Connect. The zero value is valid: every provider of the app,
// 5 minutes, a poll every 2 s, the default browser, the URL printed to stderr when needed.
type ConnectParams struct {
	// Providers offered on the connect page (all of the app's when empty).
	Providers []string
	// GrantPolicy bounds the resulting grant (nil: the app's default).
	GrantPolicy *GrantPolicyInput
	// Timeout is how long to wait for the person to finish (default DefaultConnectTimeout).
	Timeout time.Duration
	// PollInterval is how often the session is polled (default DefaultPollInterval).
	PollInterval time.Duration
	// NoBrowser prints the connect URL to Out instead of opening a browser.
	NoBrowser bool
	// OpenURL opens the URL for the person (default: the system browser, via
	// github.com/cli/browser). When it fails, the URL is printed to Out.
	OpenURL func(ctx context.Context, url string) error
	// Out receives the URL when no browser is opened (default os.Stderr).
	Out io.Writer
}

// ConnectResult is one grant produced by Connect.
type ConnectResult struct {
	GrantID           uuid.UUID    // the new grant (RequestParams.GrantID)
	Provider          string       // provider id, e.g. "github"
	AccountIdentifier string       // the provider account (e.g. an email); may be empty
	Scopes            []string     // granted scopes
	GrantPolicy       *GrantPolicy // nil when the grant has no policy
}

// AuthenticateParams are the inputs of Authenticate; the zero value is valid (see ConnectParams
// for the meaning and defaults of each field).
type AuthenticateParams struct {
	Timeout      time.Duration                               // default DefaultConnectTimeout
	PollInterval time.Duration                               // default DefaultPollInterval
	NoBrowser    bool                                        // print the URL instead of opening a browser
	OpenURL      func(ctx context.Context, url string) error // default: the system browser
	Out          io.Writer                                   // default os.Stderr
}

// AuthResult is a signed-in end user. UserToken is a Secret: printing an AuthResult (any verb,
// %+v and %#v included) or logging it never shows the token; use UserToken.Reveal().
type AuthResult struct {
	UserToken Secret   // the end user's JWT (for WithUserTokenGetter: UserToken.Reveal())
	UserInfo  UserInfo // their profile
}

// String implements fmt.Stringer without the token.
func (r AuthResult) String() string {
	return fmt.Sprintf("{UserToken:%s UserInfo:%+v}", redacted, r.UserInfo)
}

// GoString implements fmt.GoStringer without the token.
func (r AuthResult) GoString() string {
	return fmt.Sprintf("facade.AuthResult{UserToken:%q, UserInfo:%#v}", redacted, r.UserInfo)
}

// UserInfo is the profile of a signed-in end user.
type UserInfo struct {
	Sub   string // stable user id
	Email string // email address, when known
	Name  string // display name, when known
}

// ConnectSessionParams are the inputs of CreateConnectSession.
type ConnectSessionParams struct {
	AllowedProviders []string            // offered providers (all of the app's when empty)
	ReturnURL        string              // where the page sends the person afterwards
	AllowedOrigin    string              // origin allowed to embed the page
	Metadata         map[string]string   // stored with the session
	GrantPolicy      *GrantPolicyInput   // bounds the resulting grant
	RequiredScopes   map[string][]string // per provider, a subset of the portal allow-list
	Agent            uuid.UUID           // delegate the resulting grant to this managed agent
}

// ConnectSession is a started Connect session: send the person to URL.
type ConnectSession struct {
	Token     string    // the session token (also the last segment of URL)
	URL       string    // the connect page
	ExpiresAt time.Time // when the session expires
}

// ConnectError is how a Connect or Authenticate session ended without success: the person
// denied it (ErrConnectDenied), the provider or app is misconfigured (ErrConnectConfig), the
// session expired or Timeout elapsed (ErrConnectTimeout), or another flow failure. It always
// matches ErrConnectFlow. Errors of the vault calls themselves are *APIError values (an
// unknown provider at session creation is an *APIError matching ErrConnectConfig too).
type ConnectError struct {
	Op      string        // "connect" or "authenticate"
	Status  string        // the session's final status: "denied", "error", "expired"; "" on Timeout
	Code    string        // the vault's code: connect_denied, connect_config, connect_flow; "" otherwise
	Message string        // the vault's message
	Timeout time.Duration // the client-side timeout that elapsed (0 otherwise)
}

// Error implements error.
func (e *ConnectError) Error() string {
	var b strings.Builder
	b.WriteString("alter: " + e.Op + ": ")
	switch {
	case e.Timeout > 0:
		b.WriteString("not finished after " + e.Timeout.String())
	case e.Code != "":
		b.WriteString(e.Code)
	default:
		b.WriteString("session " + e.Status)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Is matches ErrConnectFlow, the sentinel of Code (ErrConnectDenied, ErrConnectConfig), and
// ErrConnectTimeout plus ErrTimeout for a timeout or an expired session.
func (e *ConnectError) Is(target error) bool {
	switch target {
	case ErrConnectFlow:
		return true
	case ErrConnectTimeout, ErrTimeout:
		return e.Timeout > 0 || e.Status == "expired"
	case ErrConnectDenied:
		return e.Code == "connect_denied"
	case ErrConnectConfig:
		return e.Code == "connect_config"
	}
	return false
}

// Connect runs the headless OAuth flow: it creates a Connect session, opens its page in a
// browser (or prints the URL), polls until the person finishes, and returns the new grants. The
// grants belong to the app (or to the end user named in the session). A denial, a
// misconfiguration, a timeout or another flow failure is a *ConnectError; ctx ending stops the
// wait at once.
func (a *App) Connect(ctx context.Context, p ConnectParams) ([]ConnectResult, error) {
	return a.c.connect(ctx, p)
}

// Connect runs the headless OAuth flow for this agent: the resulting grants are bound to the
// agent. See App.Connect.
func (a *Agent) Connect(ctx context.Context, p ConnectParams) ([]ConnectResult, error) {
	return a.c.connect(ctx, p)
}

// Authenticate signs an end user in with the app's identity provider in a browser and returns
// their token and profile (App only: an Agent never handles end-user tokens, and an App
// impersonating an agent with WithCaller(agentUUID) gets ErrAgentUserToken from the vault).
// Errors are those of Connect; a denial matches ErrConnectDenied.
func (a *App) Authenticate(ctx context.Context, p AuthenticateParams) (AuthResult, error) {
	return a.c.authenticate(ctx, p)
}

// CreateConnectSession starts a Connect session for a person to complete elsewhere (a web app's
// frontend, an email link…). Unknown providers or required scopes outside a provider's catalog
// are an *APIError matching ErrConnectConfig.
func (a *App) CreateConnectSession(ctx context.Context, p ConnectSessionParams) (ConnectSession, error) {
	body := gen.ConnectSessionCreate{AllowedProviders: p.AllowedProviders}
	if err := checkProviders("ConnectSessionParams.AllowedProviders", p.AllowedProviders); err != nil {
		return ConnectSession{}, err
	}
	if p.ReturnURL != "" {
		body.ReturnURL = &p.ReturnURL
	}
	if p.AllowedOrigin != "" {
		body.AllowedOrigin = &p.AllowedOrigin
	}
	if p.Metadata != nil {
		m := gen.StringMap(p.Metadata)
		body.Metadata = &m
	}
	if p.RequiredScopes != nil {
		s := gen.ProviderScopes(p.RequiredScopes)
		body.RequiredScopes = &s
	}
	if p.Agent != uuid.Nil {
		body.Agent = &p.Agent
	}
	gp, err := p.GrantPolicy.wire("ConnectSessionParams.GrantPolicy")
	if err != nil {
		return ConnectSession{}, err
	}
	body.GrantPolicy = gp
	return a.c.createConnectSession(ctx, body)
}

// VerifyUserToken checks an end-user JWT against the app's identity configuration. It returns
// the verified subject and true for a valid token, and "", false for any other token (App only).
func (a *App) VerifyUserToken(ctx context.Context, token string) (sub string, valid bool, err error) {
	if token == "" {
		return "", false, inputErr("token", "empty", nil)
	}
	if len(token) > 8192 {
		return "", false, inputErr("token", "longer than 8192 bytes", nil)
	}
	var out gen.VerifyUserTokenResult
	_, err = a.c.do(ctx, "verifyUserToken", &out, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.VerifyUserToken(ctx, nil, gen.VerifyUserTokenRequest{UserToken: token})
	})
	if err != nil || !out.Valid {
		return "", false, err
	}
	if out.Sub != nil {
		sub = *out.Sub
	}
	return sub, true, nil
}

// ProviderInfo is a provider the app can connect.
type ProviderInfo struct {
	ID     string          // slug, e.g. "github"
	Name   string          // display name
	Kind   string          // "oauth" or "managed_secret"
	Scopes []ProviderScope // the scopes it offers
}

// ProviderScope is a scope a provider offers.
type ProviderScope struct {
	Scope       string // the provider's scope string
	Description string // what it allows
}

// ListProviders returns the providers this app can connect, with their scopes.
func (a *App) ListProviders(ctx context.Context) ([]ProviderInfo, error) {
	return a.c.listProviders(ctx)
}

// ListProviders returns the providers of the agent's app, with their scopes.
func (a *Agent) ListProviders(ctx context.Context) ([]ProviderInfo, error) {
	return a.c.listProviders(ctx)
}

func (c *client) listProviders(ctx context.Context) ([]ProviderInfo, error) {
	var out gen.ProviderCatalog
	if _, err := c.do(ctx, "listProviders", &out, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.ListProviders(ctx, nil)
	}); err != nil {
		return nil, err
	}
	ps := make([]ProviderInfo, 0, len(out.Providers))
	for _, p := range out.Providers {
		pi := ProviderInfo{ID: p.ProviderID, Name: p.Name, Kind: string(p.Kind)}
		for _, s := range p.Scopes {
			ps := ProviderScope{Scope: s.Scope}
			if s.Description != nil {
				ps.Description = *s.Description
			}
			pi.Scopes = append(pi.Scopes, ps)
		}
		ps = append(ps, pi)
	}
	return ps, nil
}

func (c *client) createConnectSession(ctx context.Context, body gen.ConnectSessionCreate) (ConnectSession, error) {
	var out gen.ConnectSession
	if _, err := c.do(ctx, "createConnectSession", &out, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.CreateConnectSession(ctx, nil, body)
	}); err != nil {
		return ConnectSession{}, err
	}
	return ConnectSession{Token: out.SessionToken, URL: out.ConnectURL, ExpiresAt: out.ExpiresAt}, nil
}

func checkProviders(field string, ps []string) error {
	for _, p := range ps {
		if p == "" {
			return inputErr(field, "empty provider id", nil)
		}
	}
	return nil
}

// opener is how a headless flow shows its URL to the person.
type opener struct {
	noBrowser bool
	open      func(ctx context.Context, url string) error
	out       io.Writer
}

func defaultOpenURL(_ context.Context, url string) error { return browser.OpenURL(url) }

// show opens url in a browser, or prints it to out when that is turned off or fails.
func (c *client) show(ctx context.Context, o opener, what, url string) {
	out := o.out
	if out == nil {
		out = os.Stderr
	}
	if !o.noBrowser {
		open := o.open
		if open == nil {
			open = defaultOpenURL
		}
		err := open(ctx, url)
		if err == nil {
			return
		}
		c.log.WarnContext(ctx, "alter: could not open a browser; printing the URL", "flow", what, "err", err)
	}
	_, _ = fmt.Fprintf(out, "Open this URL in a browser to %s:\n\n    %s\n\n", what, url)
}

func pollDefaults(timeout, interval time.Duration) (time.Duration, time.Duration, error) {
	if timeout < 0 || interval < 0 {
		return 0, 0, inputErr("Timeout", "Timeout and PollInterval must not be negative", nil)
	}
	if timeout == 0 {
		timeout = DefaultConnectTimeout
	}
	if interval == 0 {
		interval = DefaultPollInterval
	}
	return timeout, interval, nil
}

func (c *client) connect(ctx context.Context, p ConnectParams) ([]ConnectResult, error) {
	timeout, interval, err := pollDefaults(p.Timeout, p.PollInterval)
	if err != nil {
		return nil, err
	}
	if err := checkProviders("ConnectParams.Providers", p.Providers); err != nil {
		return nil, err
	}
	gp, err := p.GrantPolicy.wire("ConnectParams.GrantPolicy")
	if err != nil {
		return nil, err
	}
	sess, err := c.createConnectSession(ctx, gen.ConnectSessionCreate{AllowedProviders: p.Providers, GrantPolicy: gp})
	if err != nil {
		return nil, err
	}
	c.show(ctx, opener{p.NoBrowser, p.OpenURL, p.Out}, "connect an account", sess.URL)

	var res []ConnectResult
	err = poll(ctx, interval, timeout, func(ctx context.Context) (bool, error) {
		var done bool
		var err error
		res, done, err = c.connectSessionState(ctx, sess.Token)
		return done, err
	})
	if err != nil {
		return nil, pollErr("connect", err, timeout)
	}
	return res, nil
}

// PollConnectSession reports, without waiting, on a session made with CreateConnectSession:
// done is false while the person has not finished; once the session completed, results holds
// the grants it produced. A session that was denied, failed or expired is a *ConnectError
// (ErrConnectDenied, ErrConnectConfig, ErrConnectTimeout; always ErrConnectFlow). A token the
// vault does not know matches ErrSessionNotFound.
func (a *App) PollConnectSession(ctx context.Context, token string) (results []ConnectResult, done bool, err error) {
	if !sessionTokenRE.MatchString(token) {
		return nil, false, inputErr("token", "must be a session token ([A-Za-z0-9_-]{16,128})", nil)
	}
	return a.c.connectSessionState(ctx, token)
}

var sessionTokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{16,128}$`)

// connectSessionState fetches a Connect session once; done is false while it is pending.
func (c *client) connectSessionState(ctx context.Context, token string) ([]ConnectResult, bool, error) {
	var st gen.ConnectSessionStatus
	_, err := c.do(ctx, "getConnectSession", &st, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.GetConnectSession(ctx, token, nil)
	})
	switch {
	case err != nil:
		return nil, false, err
	case st.Status == gen.SessionStatusPending:
		return nil, false, nil
	case st.Status != gen.SessionStatusCompleted:
		return nil, true, sessionFailure("connect", string(st.Status), st.Error)
	}
	res := make([]ConnectResult, 0, len(st.Results))
	for _, r := range st.Results {
		cr := ConnectResult{GrantID: r.GrantID, Provider: r.ProviderID, Scopes: r.Scopes, GrantPolicy: grantPolicyFrom(r.GrantPolicy)}
		if r.AccountIdentifier != nil {
			cr.AccountIdentifier = *r.AccountIdentifier
		}
		res = append(res, cr)
	}
	return res, true, nil
}

func (c *client) authenticate(ctx context.Context, p AuthenticateParams) (AuthResult, error) {
	timeout, interval, err := pollDefaults(p.Timeout, p.PollInterval)
	if err != nil {
		return AuthResult{}, err
	}
	var sess gen.AuthSession
	if _, err := c.do(ctx, "createAuthSession", &sess, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.CreateAuthSession(ctx, nil, gen.AuthSessionCreate{})
	}); err != nil {
		return AuthResult{}, err
	}
	c.show(ctx, opener{p.NoBrowser, p.OpenURL, p.Out}, "sign in", sess.AuthURL)

	var st gen.AuthSessionStatus
	err = poll(ctx, interval, timeout, func(ctx context.Context) (bool, error) {
		st = gen.AuthSessionStatus{}
		_, err := c.do(ctx, "getAuthSession", &st, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
			return raw.GetAuthSession(ctx, sess.SessionToken, nil)
		})
		return err == nil && st.Status != "pending", err
	})
	if err != nil {
		return AuthResult{}, pollErr("authenticate", err, timeout)
	}
	if st.Status != "completed" {
		return AuthResult{}, sessionFailure("authenticate", string(st.Status), st.Error)
	}
	if st.UserToken == nil || st.UserInfo == nil {
		return AuthResult{}, &APIError{Op: "getAuthSession", StatusCode: http.StatusOK,
			Message: "completed auth session without user_token or user_info"}
	}
	ui := UserInfo{Sub: st.UserInfo.Sub}
	if st.UserInfo.Email != nil {
		ui.Email = *st.UserInfo.Email
	}
	if st.UserInfo.Name != nil {
		ui.Name = *st.UserInfo.Name
	}
	return AuthResult{UserToken: Secret(*st.UserToken), UserInfo: ui}, nil
}

// pollErr turns poll's own timeout into a *ConnectError; other errors (the caller's ctx, a
// failed vault call) are returned as they are.
func pollErr(op string, err error, timeout time.Duration) error {
	if errors.Is(err, errPollTimeout) {
		return &ConnectError{Op: op, Timeout: timeout}
	}
	return err
}

func sessionFailure(op, status string, se *gen.SessionError) error {
	e := &ConnectError{Op: op, Status: status}
	if se != nil {
		e.Code, e.Message = string(se.Code), se.Message
	}
	if e.Code == "" && status == "denied" {
		e.Code = "connect_denied"
	}
	return e
}
