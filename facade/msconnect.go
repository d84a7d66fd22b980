package facade

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// ManagedSecretConnectParams are the inputs of CreateManagedSecretConnectSession: a session
// where the signed-in user enters their own key for a managed-secret provider, or approves the
// use of a grant they already hold, optionally delegating it to an agent.
type ManagedSecretConnectParams struct {
	// Provider is the managed-secret provider's slug (1–50 lower-case letters, digits and
	// hyphens), the value RequestParams.Provider takes. Required unless TemplateSlug is set.
	Provider string
	// UserToken is the end user's JWT (required: every such session is bound to a user).
	UserToken string
	// Agent delegates the user's access to this managed agent (UUID or name). App only; an
	// Agent always asks for itself.
	Agent string
	// Delegable asks that the agent may share the access onward (the person decides).
	Delegable bool
	// Label names the grant a key entry creates (provider + Label resolves it); on a fast path
	// it picks the user's grant with that label. At most 255 characters.
	Label string
	// GrantPolicy bounds the lifetime of the grant the consent creates (not with RequestedTTL).
	GrantPolicy *GrantPolicyInput
	// RequestedTTL suggests the lifetime of the agent's delegation (whole seconds, rounded up;
	// not with GrantPolicy).
	RequestedTTL time.Duration
	// Direct skips the usage-limits step.
	Direct bool
	// RepairGrantID replaces the user's own key on this grant in place (App only; not with
	// Agent or Label).
	RepairGrantID uuid.UUID
	// DisallowUserPolicyRules hides the usage limits the person could set.
	DisallowUserPolicyRules bool
	AllowedOrigin           string // origin for postMessage in the popup flow
	ReturnURL               string // return URL of the mobile redirect flow
	// TemplateSlug is deprecated: use Provider. A managed-secret template id, sent lower-cased.
	TemplateSlug string
}

// ManagedSecretPath is how a managed-secret Connect session completes.
type ManagedSecretPath string

// Managed-secret Connect paths.
const (
	ManagedSecretFastPath ManagedSecretPath = "fast_path" // the user approves a grant they hold
	ManagedSecretKeyEntry ManagedSecretPath = "key_entry" // the user enters their own key
	ManagedSecretRepair   ManagedSecretPath = "repair"    // the user replaces their own key in place
)

// ManagedSecretConnectSession is a started managed-secret Connect session: open URL in the
// user's browser (never a webview the application controls).
type ManagedSecretConnectSession struct {
	Token              string            // the session token
	URL                string            // the hosted page
	ExpiresIn          time.Duration     // the session's lifetime when it was made
	ExpiresAt          time.Time         // when it expires
	Path               ManagedSecretPath // "" for a session an agent's own key made (not told to an agent)
	ExistingGrantID    uuid.UUID         // the grant a fast path or repair uses (uuid.Nil: none)
	Direct             bool              // the usage-limits step is skipped
	DelegableRequested bool              // echo of Delegable
	SecretSlug         string            // the provider's slug
	TemplateSlug       string
	AgentID            uuid.UUID // the agent the access is for (uuid.Nil: none)
}

// CreateManagedSecretConnectSession starts a managed-secret Connect session for the user of
// p.UserToken: with p.Agent, approving it also delegates the user's access to that agent.
// Errors: an unknown slug, a provider of another template or an identity provider that cannot
// sign the user in are ErrConnectConfig; an unknown agent ErrAgentNotFound; a RepairGrantID
// that is not the user's own key ErrGrantNotFound; a vault that ignored the request's options
// ErrServerFeatureUnsupported.
func (a *App) CreateManagedSecretConnectSession(ctx context.Context, p ManagedSecretConnectParams) (ManagedSecretConnectSession, error) {
	return a.msConnect(ctx, p, "")
}

// CreateManagedSecretConnectSession asks the user of p.UserToken for access to a
// managed-secret provider for this agent: the page lets them delegate a grant they hold, or
// asks for their own key. p.Agent and p.RepairGrantID are refused (the session always targets
// this agent; the application repairs the user's key). Errors are those of
// App.CreateManagedSecretConnectSession.
func (a *Agent) CreateManagedSecretConnectSession(ctx context.Context, p ManagedSecretConnectParams) (ManagedSecretConnectSession, error) {
	if p.Agent != "" || p.RepairGrantID != uuid.Nil {
		return ManagedSecretConnectSession{}, inputErr("ManagedSecretConnectParams", "Agent and RepairGrantID are App-only: an Agent asks for itself", nil)
	}
	pinned := ""
	if a.impersonating() { // App.GetAgent: the App's key, so the vault needs the agent named
		pinned = a.caller
	}
	return a.msConnect(ctx, p, pinned)
}

// impersonating reports an Agent view made by App.GetAgent (the App's key, the agent's id as
// caller), whatever views were derived from it since.
func (c *client) impersonating() bool {
	root := c
	for root.up != nil {
		root = root.up
	}
	return c.agent && !root.agent
}
