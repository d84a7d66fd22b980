package facade

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cli/browser"
	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// Defaults of the headless flows (Connect, Authenticate).
const (
	DefaultConnectTimeout = 5 * time.Minute
	DefaultPollInterval   = 2 * time.Second
)

// ConnectParams are the inputs of Connect. The zero value is valid: every provider of the app,
// 5 minutes, a poll every 2 s, the default browser, the URL printed to stderr when needed.
type ConnectParams struct {
	// Providers offered on the connect page (all of the app's when empty).
	Providers []string
	// GrantPolicy bounds the resulting grant (nil: the app's default).
	GrantPolicy *GrantPolicyInput
	// UserToken binds the session to an end user; without it, the WithUserTokenGetter value.
	UserToken string
	// Timeout is how long to wait for the person to finish (default DefaultConnectTimeout).
	Timeout time.Duration
	// PollInterval is how often the session is polled (default DefaultPollInterval).
	PollInterval time.Duration
	// NoBrowser prints the connect URL to Out instead of opening a browser.
	NoBrowser bool
	// OpenURL opens the URL for the person (default: the system browser). When it fails, the
	// URL is printed to Out.
	OpenURL func(ctx context.Context, url string) error
	// Out receives the URL when no browser is opened (default os.Stderr).
	Out io.Writer
	// OnDeclined is told, once per provider, when the person declines a provider while the
	// session goes on (nil: not told).
	OnDeclined func(DeclinedProvider)
}

// DeclinedProvider is a provider the person declined on the connect page.
type DeclinedProvider struct {
	Provider   string // provider id
	ErrorCode  string // why, e.g. "access_denied"
	DeclinedAt time.Time
}

// ConnectResult is one grant produced by a Connect session.
type ConnectResult struct {
	GrantID           uuid.UUID            // the new grant (RequestParams.GrantID)
	Provider          string               // provider id, e.g. "github"
	AccountIdentifier string               // the provider account (e.g. an email); may be empty
	Scopes            []string             // granted scopes
	APIBaseURL        string               // the provider API origin for this account, when it has one
	Operation         string               // "creation" or "reauth"
	GrantPolicy       *GrantPolicy         // nil when the grant has no policy
	Delegation        *ConnectDelegation   // set when the grant was delegated to an agent
	FailedGrants      []ConnectFailedGrant // grants of the same session that could not be kept
}

// ConnectDelegation is the delegation a Connect session made to an agent.
type ConnectDelegation struct {
	AgentID       uuid.UUID
	Delegable     bool
	PolicyRefused bool
}

// ConnectFailedGrant is a provider of a completed session whose grant was not kept.
type ConnectFailedGrant struct {
	Provider string
	Reason   string // e.g. "not_selected", "activation_failed"
	Message  string
}

// ConnectMetadata describes the person's browser, for the session's audit.
type ConnectMetadata struct {
	IPAddress string
	UserAgent string
}

// ConnectSessionParams are the inputs of CreateConnectSession.
type ConnectSessionParams struct {
	AllowedProviders []string            // offered providers (nil: all of the app's)
	ReturnURL        string              // where the page sends the person afterwards
	AllowedOrigin    string              // origin allowed to embed the page
	Metadata         *ConnectMetadata    // the person's browser
	GrantPolicy      *GrantPolicyInput   // bounds the resulting grant
	RequiredScopes   map[string][]string // per provider, a subset of the portal allow-list
	Agent            string              // delegate the resulting grant to this agent (UUID or name)
	Delegable        *bool               // whether the delegated grant may be delegated onward
	ScopeConstraint  []string            // narrow the delegated grant to these scope atoms
	Direct           bool                // skip the provider picker (one provider)
	SwitchAccount    bool                // let the person pick another account
	RepairGrantID    uuid.UUID           // reconnect this grant in place
	// DisallowUserPolicyRules hides the usage limits the person could set on the grant.
	DisallowUserPolicyRules bool
	// UserToken binds the session to an end user; without it, the WithUserTokenGetter value.
	UserToken string
}

// ConnectSession is a started Connect session: send the person to URL.
type ConnectSession struct {
	Token          string    // the session token (PollConnectSession)
	URL            string    // the connect page
	ExpiresAt      time.Time // when the session expires
	SingleProvider bool      // the page offers one provider (a widget may skip its picker)
	Warnings       []string  // about ScopeConstraint
}

// CreateConnectSession starts a Connect session for a person to complete elsewhere (a web
// app's frontend, an email link…).
func (c *client) CreateConnectSession(ctx context.Context, p ConnectSessionParams) (ConnectSession, error) {
	if p.AllowedProviders != nil && len(p.AllowedProviders) == 0 {
		return ConnectSession{}, inputErr("ConnectSessionParams.AllowedProviders", "empty; use nil for all providers", nil)
	}
	for _, pr := range p.AllowedProviders {
		if strings.TrimSpace(pr) == "" {
			return ConnectSession{}, inputErr("ConnectSessionParams.AllowedProviders", "a provider id is blank", nil)
		}
	}
	req := gen.ConnectSessionRequest{AllowedProviders: p.AllowedProviders, ReturnURL: optStr(p.ReturnURL),
		AllowedOrigin: optStr(p.AllowedOrigin), Agent: optStr(p.Agent), Delegable: p.Delegable, ScopeConstraint: p.ScopeConstraint}
	if p.Metadata != nil {
		req.Metadata = &gen.ConnectSessionMetadata{IPAddress: optStr(p.Metadata.IPAddress), UserAgent: optStr(p.Metadata.UserAgent)}
	}
	if p.Direct {
		req.Direct = &p.Direct
	}
	if p.SwitchAccount {
		req.SwitchAccount = &p.SwitchAccount
	}
	if p.DisallowUserPolicyRules {
		f := false
		req.AllowUserPolicyRules = &f
	}
	if p.RequiredScopes != nil {
		req.RequiredScopes = &p.RequiredScopes
	}
	if p.RepairGrantID != uuid.Nil {
		req.RepairGrantID = optStr(p.RepairGrantID.String())
	}
	gp, err := p.GrantPolicy.wire("ConnectSessionParams.GrantPolicy")
	if err != nil {
		return ConnectSession{}, err
	}
	req.GrantPolicy = gp
	d := &call{op: "createConnectSession", surface: surfaceShared, actor: true, field: "ConnectSessionParams",
		user: &endUser{into: &req.UserToken, perCall: p.UserToken, getter: true}}
	out, err := sendJSON[gen.ConnectSession](ctx, c, d, &req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.CreateConnectSessionWithBody(ctx, contentJSON, body)
	})
	if err != nil {
		return ConnectSession{}, err
	}
	if out.SessionToken == "" || out.ConnectURL == "" || out.ExpiresAt == "" {
		return ConnectSession{}, malformed(d.op, http.StatusOK, http.Header{})
	}
	return ConnectSession{Token: out.SessionToken, URL: out.ConnectURL, ExpiresAt: parseTime(&out.ExpiresAt),
		SingleProvider: derefBool(out.SingleProvider), Warnings: out.ScopeConstraintWarnings}, nil
}

// Connect runs the headless OAuth flow: it creates a Connect session, opens its page in a
// browser (or prints the URL), polls until the person finishes, and returns the new grants. A
// denial, a misconfiguration or a timeout is a connect error (ErrConnectDenied,
// ErrConnectConfig, ErrConnectTimeout; all ErrConnectFlow); the timeout, or ctx's deadline,
// also matches ErrTimeout and context.DeadlineExceeded; ctx cancelled stops the wait at once.
func (c *client) Connect(ctx context.Context, p ConnectParams) ([]ConnectResult, error) {
	timeout, interval, err := pollDefaults(p.Timeout, p.PollInterval)
	if err != nil {
		return nil, err
	}
	sess, err := c.CreateConnectSession(ctx, ConnectSessionParams{AllowedProviders: p.Providers, GrantPolicy: p.GrantPolicy, UserToken: p.UserToken})
	if err != nil {
		return nil, err
	}
	c.show(ctx, opener{p.NoBrowser, p.OpenURL, p.Out}, "authorize", sess.URL)
	return c.pollConnect(ctx, sess.Token, timeout, interval, p.OnDeclined)
}

// pollConnect polls a session until it ends: first a poll, then a sleep of the interval
// (capped by the time left). A 429 is waited out (Retry-After, at least the interval) within
// the budget.
func (c *client) pollConnect(ctx context.Context, token string, timeout, interval time.Duration, onDeclined func(DeclinedProvider)) ([]ConnectResult, error) {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	deadline, _ := pctx.Deadline()
	sawPending := false
	told := map[string]bool{}
	declined := func(ds []DeclinedProvider) {
		for _, d := range ds {
			if onDeclined != nil && !told[d.Provider] {
				told[d.Provider] = true
				onDeclined(d)
			}
		}
	}
	for {
		res, done, err := c.connectState(pctx, token, sawPending, declined)
		switch {
		case err != nil && ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled):
			return nil, ctx.Err()
		case err != nil && pctx.Err() != nil:
			return nil, connectTimeout("connect", "poll_deadline_elapsed", timeout, 0)
		case err != nil && vaultStatus(err) == http.StatusTooManyRequests:
			after := max(retryAfterOf(err), interval)
			if time.Until(deadline) <= 0 {
				return nil, connectTimeout("connect", "rate_limited", timeout, retryAfterOf(err))
			}
			if sleep(pctx, min(after, time.Until(deadline))) != nil {
				return nil, c.pollEnd(ctx, "connect", timeout)
			}
			continue
		case err != nil:
			return nil, err
		case done:
			return res, nil
		}
		sawPending = true
		if sleep(pctx, min(interval, time.Until(deadline))) != nil {
			return nil, c.pollEnd(ctx, "connect", timeout)
		}
	}
}

// pollEnd is how a poll loop ends without an outcome: cancelled, or out of time.
func (c *client) pollEnd(ctx context.Context, op string, timeout time.Duration) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	return connectTimeout(op, "poll_deadline_elapsed", timeout, 0)
}

// PollConnectSession reports, without waiting, on a session made with CreateConnectSession:
// done is false while the person has not finished; once the session completed, results holds
// the grants it produced. A session that was denied, failed or expired is a connect error.
func (c *client) PollConnectSession(ctx context.Context, token string) (results []ConnectResult, done bool, err error) {
	if token == "" {
		return nil, false, inputErr("token", "required", nil)
	}
	return c.connectState(ctx, token, true, nil)
}

// connectState is one POST /sdk/oauth/connect/session/poll.
func (c *client) connectState(ctx context.Context, token string, sawPending bool, declined func([]DeclinedProvider)) ([]ConnectResult, bool, error) {
	d := &call{op: "pollConnectSession", surface: surfaceShared, actor: true, field: "token"}
	a, err := c.post(ctx, d, gen.ConnectPollRequest{SessionToken: token}, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.PollConnectSessionWithBody(ctx, contentJSON, body)
	})
	if err != nil {
		return nil, false, err
	}
	var st gen.ConnectPollResponse
	if json.Unmarshal(a.body, &st) != nil || st.Status == "" {
		return nil, false, malformed(d.op, a.status, a.header)
	}
	switch st.Status {
	case gen.ConnectPollStatusPending:
		if declined != nil {
			var ds []DeclinedProvider
			for _, d := range st.DeclinedProviders {
				if d.ProviderID != "" && d.ErrorCode != "" { // malformed entries are skipped
					ds = append(ds, DeclinedProvider{Provider: d.ProviderID, ErrorCode: d.ErrorCode, DeclinedAt: parseTime(d.DeclinedAt)})
				}
			}
			declined(ds)
		}
		return nil, false, nil
	case gen.ConnectPollStatusCompleted:
		return connectResults(d.op, a, st)
	case gen.ConnectPollStatusError:
		if st.Error == nil || strings.TrimSpace(string(st.Error.ErrorCode)) == "" || strings.TrimSpace(st.Error.ErrorMessage) == "" {
			return nil, true, malformed(d.op, a.status, a.header)
		}
		return nil, true, connectFailure("connect", string(st.Error.ErrorCode), st.Error.ErrorMessage, derefInt(st.Error.RetryAfterSeconds))
	case gen.ConnectPollStatusExpired:
		if sawPending {
			return nil, true, connectTimeout("connect", "session_expired", 0, 0)
		}
		return nil, true, connectFlow("connect", "the connect session expired", "")
	}
	return nil, true, connectFlow("connect", "unexpected poll status", string(st.Status))
}

func connectResults(op string, a *answer, st gen.ConnectPollResponse) ([]ConnectResult, bool, error) {
	var failed []ConnectFailedGrant
	for _, f := range st.FailedGrants {
		if f.ProviderID == "" || f.Reason == "" || f.Message == "" {
			return nil, true, malformed(op, a.status, a.header)
		}
		failed = append(failed, ConnectFailedGrant{Provider: f.ProviderID, Reason: string(f.Reason), Message: f.Message})
	}
	res := make([]ConnectResult, 0, len(st.Grants))
	for _, g := range st.Grants {
		id, err := uuid.Parse(g.GrantID)
		if err != nil || g.ProviderID == "" {
			return nil, true, malformed(op, a.status, a.header)
		}
		r := ConnectResult{GrantID: id, Provider: g.ProviderID, AccountIdentifier: derefStr(g.AccountIdentifier),
			Scopes: g.Scopes, APIBaseURL: derefStr(g.APIBaseURL), Operation: "creation",
			GrantPolicy: grantPolicyFrom(g.GrantPolicy), FailedGrants: failed}
		if g.Operation != nil {
			switch o := string(*g.Operation); o {
			case "creation", "reauth":
				r.Operation = o
			default:
				return nil, true, malformed(op, a.status, a.header)
			}
		}
		if g.Delegation != nil {
			r.Delegation = &ConnectDelegation{AgentID: g.Delegation.AgentID, Delegable: g.Delegation.Delegable,
				PolicyRefused: derefBool(g.Delegation.PolicyRefused)}
		}
		res = append(res, r)
	}
	if len(res) == 0 && len(failed) > 0 {
		code := "grant_activation_failed"
		for _, f := range failed {
			if f.Reason != "not_selected" && f.Reason != "activation_failed" {
				code = "grant_policy_application_failed"
			}
		}
		return nil, true, connectFlow("connect", "no grant of the session could be kept", code)
	}
	return res, true, nil
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
	_, _ = fmt.Fprintf(out, "Open this URL to %s: %s\n", what, url)
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
