package facade

import (
	"context"
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

// Defaults of the headless flows (Connect, the session polls, Authenticate).
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
	// Direct skips the person's consent screens (exactly one provider): the grant is issued as
	// requested here.
	Direct bool
	// DisallowUserPolicyRules hides the usage limits the person could set on the grant.
	DisallowUserPolicyRules bool
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
	// OnEvent is told of what happens while the session stays pending (see ConnectEvent).
	OnEvent func(ConnectEvent)
}

// ConnectResult is one grant produced by a Connect session.
type ConnectResult struct {
	GrantID           uuid.UUID            // the new grant (RequestParams.GrantID)
	Provider          string               // provider id, e.g. "github"
	AccountIdentifier string               // the provider account (e.g. an email); may be empty
	Scopes            []string             // granted scopes
	APIBaseURL        string               // the provider API origin for this account, when it has one
	Operation         ConnectOperation     // a new grant, or an existing one re-authorized
	GrantPolicy       *GrantPolicy         // nil when the grant has no policy
	Delegation        *ConnectDelegation   // set when the grant was delegated to an agent
	FailedGrants      []ConnectFailedGrant // grants of the same session that could not be kept
}

// ConnectOperation says what a Connect session did to a grant.
type ConnectOperation string

// Connect operations.
const (
	ConnectCreation ConnectOperation = "creation" // a new grant
	ConnectReauth   ConnectOperation = "reauth"   // an existing grant re-authorized (or repaired) in place
)

// ConnectDelegation is the delegation a Connect session made to an agent.
type ConnectDelegation struct {
	AgentID       uuid.UUID
	Delegable     bool // the person let the agent delegate onward
	PolicyRefused bool // onward sharing was asked for but the provider's policy refused it
}

// ConnectFailedGrant is a provider of a completed session whose grant was not kept.
type ConnectFailedGrant struct {
	Provider string
	Reason   string // "not_selected", "activation_failed"; any other: the usage limits were not applied
	Message  string
}

// ConnectMetadata describes the person's browser, for the session's audit.
type ConnectMetadata struct {
	IPAddress string
	UserAgent string
}

// RequestedGrant asks a Connect session for a labelled sibling grant: provider + Label then
// resolves it. Restrictions make it proxy-only.
type RequestedGrant struct {
	Label            string   // required, at most 255 characters
	AllowedMethods   []string // HTTP methods the grant may be used for (nil: any)
	AllowedEndpoints []string // endpoints the grant may be used for (nil: any)
}

// ConnectSessionParams are the inputs of CreateConnectSession.
type ConnectSessionParams struct {
	AllowedProviders []string            // offered providers (nil: all of the app's; never empty)
	ReturnURL        string              // where the page sends the person afterwards
	AllowedOrigin    string              // origin allowed to embed the page (postMessage)
	Metadata         *ConnectMetadata    // the person's browser
	GrantPolicy      *GrantPolicyInput   // bounds the resulting grant
	RequiredScopes   map[string][]string // per provider, a subset of the portal allow-list
	// Agent delegates the resulting grant to this managed agent (UUID or name); the session
	// then needs an end user (UserToken or the getter).
	Agent string
	// Delegable asks that the agent may delegate onward (the person decides); nil keeps the
	// stored setting on a re-consent.
	Delegable *bool
	// ScopeConstraint narrows the agent's delegated grant to these scope atoms (at most 100,
	// each a concrete RFC 6749 scope token).
	ScopeConstraint []string
	// RequestedGrant asks for a labelled (optionally restricted) grant.
	RequestedGrant *RequestedGrant
	// Direct skips the consent screens (exactly one provider).
	Direct bool
	// SwitchAccount forces the full provider sign-in, to connect a different account.
	SwitchAccount bool
	// RepairGrantID re-authorizes this grant in place (exactly one provider; not with Agent,
	// RequestedGrant or SwitchAccount).
	RepairGrantID uuid.UUID
	// DisallowUserPolicyRules hides the usage limits the person could set on the grant.
	DisallowUserPolicyRules bool
	// UserToken binds the session to an end user; without it, the WithUserTokenGetter value.
	// With neither the session is app-scoped.
	UserToken string
}

// ConnectSession is a started Connect session: send the person to URL, then
// PollConnectSession(Token).
type ConnectSession struct {
	Token          string        // the session token (PollConnectSession); a persistable handle
	URL            string        // the connect page
	ExpiresIn      time.Duration // the session's lifetime when it was made
	ExpiresAt      time.Time     // when the session expires
	SingleProvider bool          // the page offers one provider (a widget may skip its picker)
	Direct         bool          // the consent screens are skipped
	Warnings       []string      // about ScopeConstraint, one per provider it does not fit
}

// CreateConnectSession starts a Connect session for a person to complete elsewhere (a web
// app's frontend, an email link, a chat message).
func (c *client) CreateConnectSession(ctx context.Context, p ConnectSessionParams) (ConnectSession, error) {
	req, err := p.wire()
	if err != nil {
		return ConnectSession{}, err
	}
	d := &call{op: "createConnectSession", surface: surfaceShared, actor: true, field: "ConnectSessionParams",
		user: &endUser{into: &req.UserToken, perCall: p.UserToken, getter: true}}
	out, err := sendJSON[gen.ConnectSession](ctx, c, d, req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.CreateConnectSessionWithBody(ctx, contentJSON, body)
	})
	if err != nil {
		return ConnectSession{}, err
	}
	if out.SessionToken == "" || out.ConnectURL == "" || out.ExpiresAt == "" || out.ExpiresIn < 0 {
		return ConnectSession{}, malformed(d.op, http.StatusOK, http.Header{})
	}
	return ConnectSession{Token: out.SessionToken, URL: out.ConnectURL, ExpiresIn: fromSeconds(out.ExpiresIn),
		ExpiresAt: parseTime(&out.ExpiresAt), SingleProvider: derefBool(out.SingleProvider), Direct: derefBool(out.Direct),
		Warnings: out.ScopeConstraintWarnings}, nil
}

// wire checks p as the vault would and builds the request body.
func (p ConnectSessionParams) wire() (*gen.ConnectSessionRequest, error) {
	const f = "ConnectSessionParams."
	distinct, err := checkProviders(f+"AllowedProviders", p.AllowedProviders)
	if err != nil {
		return nil, err
	}
	if p.Direct && distinct != 1 {
		return nil, inputErr(f+"Direct", "requires exactly one provider in AllowedProviders", nil)
	}
	if err := checkScopeConstraint(f+"ScopeConstraint", p.ScopeConstraint); err != nil {
		return nil, err
	}
	req := &gen.ConnectSessionRequest{AllowedProviders: p.AllowedProviders, ReturnURL: optStr(p.ReturnURL),
		AllowedOrigin: optStr(p.AllowedOrigin), Agent: optStr(p.Agent), Delegable: p.Delegable, ScopeConstraint: p.ScopeConstraint,
		Direct: optTrue(p.Direct), SwitchAccount: optTrue(p.SwitchAccount)}
	if p.Metadata != nil {
		req.Metadata = &gen.ConnectSessionMetadata{IPAddress: optStr(p.Metadata.IPAddress), UserAgent: optStr(p.Metadata.UserAgent)}
	}
	if p.DisallowUserPolicyRules {
		req.AllowUserPolicyRules = new(bool)
	}
	if p.RequiredScopes != nil {
		req.RequiredScopes = &p.RequiredScopes
	}
	if p.RequestedGrant != nil {
		rg := p.RequestedGrant
		if _, err := checkLabel(f+"RequestedGrant.Label", rg.Label, true); err != nil {
			return nil, err
		}
		req.RequestedGrant = &gen.RequestedGrant{Label: rg.Label}
		if rg.AllowedMethods != nil || rg.AllowedEndpoints != nil {
			req.RequestedGrant.Restrictions = &gen.RequestedGrantRestrictions{AllowedMethods: optSlice(rg.AllowedMethods),
				AllowedEndpoints: optSlice(rg.AllowedEndpoints)}
		}
	}
	if p.RepairGrantID != uuid.Nil {
		switch {
		case distinct != 1:
			return nil, inputErr(f+"RepairGrantID", "requires exactly one provider in AllowedProviders", nil)
		case p.RequestedGrant != nil, p.Agent != "", p.SwitchAccount:
			return nil, inputErr(f+"RepairGrantID", "cannot be combined with RequestedGrant, Agent or SwitchAccount", nil)
		}
		req.RepairGrantID = optStr(p.RepairGrantID.String())
	}
	gp, err := p.GrantPolicy.wire(f + "GrantPolicy")
	if err != nil {
		return nil, err
	}
	req.GrantPolicy = gp
	return req, nil
}

// checkProviders refuses an empty list (nil means every provider) or a blank entry, and counts
// the distinct providers as the vault does (trimmed, case-insensitive).
func checkProviders(field string, providers []string) (int, error) {
	if providers != nil && len(providers) == 0 {
		return 0, inputErr(field, "empty; use nil for all providers", nil)
	}
	seen := make(map[string]bool, len(providers))
	for _, pr := range providers {
		k := strings.ToLower(strings.TrimSpace(pr))
		if k == "" {
			return 0, inputErr(field, "a provider id is blank", nil)
		}
		seen[k] = true
	}
	return len(seen), nil
}

// fromSeconds is a whole-seconds wire field as a duration.
func fromSeconds(n int) time.Duration { return time.Duration(n) * time.Second }

// optTrue is a flag sent only when set.
func optTrue(b bool) *bool {
	if !b {
		return nil
	}
	return &b
}

func optSlice(s []string) *[]string {
	if s == nil {
		return nil
	}
	return &s
}

// Connect runs the headless OAuth flow: it creates a Connect session, opens its page in a
// browser (or prints the URL), polls until the person finishes, and returns the new grants. A
// denial, a misconfiguration or a timeout is a connect error (ErrConnectDenied,
// ErrConnectConfig, ErrConnectTimeout; all ErrConnectFlow); the timeout, or ctx's deadline,
// also matches ErrTimeout and context.DeadlineExceeded; ctx cancelled stops the wait at once.
func (c *client) Connect(ctx context.Context, p ConnectParams) ([]ConnectResult, error) {
	pp := PollParams{Timeout: p.Timeout, PollInterval: p.PollInterval, OnEvent: p.OnEvent}
	if err := pp.check(); err != nil {
		return nil, err
	}
	sess, err := c.CreateConnectSession(ctx, ConnectSessionParams{AllowedProviders: p.Providers, GrantPolicy: p.GrantPolicy,
		Direct: p.Direct, DisallowUserPolicyRules: p.DisallowUserPolicyRules, UserToken: p.UserToken})
	if err != nil {
		return nil, err
	}
	c.show(ctx, opener{p.NoBrowser, p.OpenURL, p.Out}, "authorize", sess.URL)
	return c.PollConnectSession(ctx, sess.Token, pp)
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
