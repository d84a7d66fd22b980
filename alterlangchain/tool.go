package alterlangchain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode"

	"github.com/google/uuid"
	"github.com/tmc/langchaingo/tools"

	"github.com/altersdk/alter-go/facade"
)

// Framework is the "framework" value of the audit context a Tool sets.
const Framework = "langchaingo"

// Vault is what a Tool needs of its client: *facade.App and *facade.Agent are Vaults.
type Vault interface {
	UserActionFor(ctx context.Context, err error, p facade.ConnectForErrorParams) (*facade.UserAction, error)
	CreateConnectSession(ctx context.Context, p facade.ConnectSessionParams) (facade.ConnectSession, error)
	ResumeUserAction(a facade.UserAction) (*facade.UserAction, error)
}

// Func is the work of a tool: it gets the model's input and makes its vault calls (Request,
// ProxyRequest…) with ctx, which carries the tool's audit context. Calls that set their own
// RequestParams.Context replace that audit context, so put "tool" in it too when you do.
type Func func(ctx context.Context, input string) (string, error)

// Spec describes a tool: alter_tool's parameters, and what Go adds.
type Spec struct {
	// Name is the tool's name as the model sees it, and the audit context's "tool" (required;
	// at most 512 characters, no control characters or spaces).
	Name string
	// Description tells the model what the tool does; "Alter tool: <Name>" when empty.
	Description string
	// Provider is the provider the tool's calls use (e.g. "github"), named in the messages and
	// offered by a Connect session when the error itself names none (required).
	Provider string
	// Label is the sibling grant the tool's calls select (RequestParams.Label; the tool does not
	// set it on your calls): a Connect session started to fix a missing grant asks for a grant
	// with this label, so that the consented grant resolves for the tool.
	Label string
	// Connect shapes the recovery sessions (ReturnURL, AllowedOrigin, UserToken, …).
	// Its RequestedGrant is set from Label when Label is set.
	Connect facade.ConnectForErrorParams
	// OnAction, when set, receives the action before the tool answers the model with its message:
	// to show the link in your own UI, store it (it marshals to JSON), or Wait for the person and
	// retry.
	OnAction func(ctx context.Context, a *facade.UserAction)
	// Logger receives one line per error the tool turned into a message (never its text, which
	// may name internal details); none by default.
	Logger *slog.Logger
}

// ErrInvalidSpec matches the error New returns for a Spec it refuses.
var ErrInvalidSpec = errors.New("alterlangchain: invalid tool spec")

// Tool is a langchaingo tools.Tool whose Call runs a Func with a vault context. It is immutable
// and safe for concurrent use.
type Tool struct {
	vault Vault
	spec  Spec
	fn    Func
}

var _ tools.Tool = (*Tool)(nil)

// New returns the tool that runs fn for the model, calling the vault through v as spec says.
func New(v Vault, spec Spec, fn Func) (*Tool, error) {
	switch {
	case v == nil:
		return nil, fmt.Errorf("%w: a Vault is required", ErrInvalidSpec)
	case fn == nil:
		return nil, fmt.Errorf("%w: a Func is required", ErrInvalidSpec)
	case !validName(spec.Name):
		return nil, fmt.Errorf("%w: Name must be 1 to 512 characters without spaces or control characters", ErrInvalidSpec)
	case strings.TrimSpace(spec.Provider) == "":
		return nil, fmt.Errorf("%w: Provider is required", ErrInvalidSpec)
	}
	if spec.Description == "" {
		spec.Description = "Alter tool: " + spec.Name
	}
	if spec.Label != "" {
		spec.Connect.RequestedGrant = &facade.RequestedGrant{Label: spec.Label}
	}
	if spec.Logger == nil {
		spec.Logger = slog.New(slog.DiscardHandler)
	}
	return &Tool{vault: v, spec: spec, fn: fn}, nil
}

func validName(s string) bool {
	if s == "" || len([]rune(s)) > 512 {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// Name implements tools.Tool.
func (t *Tool) Name() string { return t.spec.Name }

// Description implements tools.Tool.
func (t *Tool) Description() string { return t.spec.Description }

// Provider is the tool's provider.
func (t *Tool) Provider() string { return t.spec.Provider }

// Label is the sibling grant the tool's calls select ("" when none).
func (t *Tool) Label() string { return t.spec.Label }

// Call implements tools.Tool: it runs the Func under the tool's audit context. An error the
// person can fix by acting, or by choosing an account, becomes the answer to the model (see the
// package doc); any other error is returned as it is, and so is ctx's error once ctx is done.
func (t *Tool) Call(ctx context.Context, input string) (string, error) {
	ctx = facade.WithAuditContext(ctx, map[string]string{"tool": t.spec.Name, "framework": Framework})
	out, err := t.fn(ctx, input)
	if err == nil {
		return out, nil
	}
	if ctx.Err() != nil {
		return "", err
	}
	if msg, ok := t.choice(err); ok {
		return msg, nil
	}
	act, aerr := t.action(ctx, err)
	switch {
	case errors.Is(aerr, facade.ErrNotActionable):
		return "", err
	case aerr != nil && ctx.Err() != nil:
		return "", aerr
	case aerr != nil:
		// The model can still tell the person; the session failure is the operator's to see.
		t.spec.Logger.ErrorContext(ctx, "alterlangchain: could not create a Connect session",
			"tool", t.spec.Name, "provider", t.spec.Provider, "error", aerr)
		return "Authorization required for " + t.spec.Provider + ". Please try again later.", nil
	}
	t.spec.Logger.InfoContext(ctx, "alterlangchain: the user must act", "tool", t.spec.Name,
		"provider", act.Provider, "reason", act.Reason)
	if t.spec.OnAction != nil {
		t.spec.OnAction(ctx, act)
	}
	return t.message(act), nil
}

// choice is the message for several grants that fit: the model asks the person which account.
func (t *Tool) choice(err error) (string, bool) {
	var amb *facade.AmbiguousGrantError
	if !errors.As(err, &amb) {
		return "", false
	}
	accounts := "<no accounts>"
	if len(amb.AccountIdentifiers) > 0 {
		accounts = strings.Join(amb.AccountIdentifiers, ", ")
	}
	t.spec.Logger.Info("alterlangchain: ambiguous grant", "tool", t.spec.Name, "provider", t.spec.Provider,
		"accounts", len(amb.AccountIdentifiers))
	return "Multiple accounts are connected for " + t.spec.Provider + ". Please specify which account to use: " + accounts, true
}

// action is what fixes err: facade's recovery for the errors that name their provider; for a
// missing grant that names none (a stale GrantID), a Connect session for the tool's provider.
func (t *Tool) action(ctx context.Context, err error) (*facade.UserAction, error) {
	missing := errors.Is(err, facade.ErrGrantNotFound) || errors.Is(err, facade.ErrNoDelegatedGrant)
	if facade.Actionable(err) || !missing {
		return t.vault.UserActionFor(ctx, err, t.spec.Connect)
	}
	c := t.spec.Connect
	var agent string // an Agent's session delegates the new grant to it, or it could not use it
	if a, ok := t.vault.(*facade.Agent); ok && a.ActorID() != uuid.Nil {
		agent = a.ActorID().String()
	}
	sess, serr := t.vault.CreateConnectSession(ctx, facade.ConnectSessionParams{
		AllowedProviders: []string{t.spec.Provider}, ReturnURL: c.ReturnURL, AllowedOrigin: c.AllowedOrigin,
		Metadata: c.Metadata, GrantPolicy: c.GrantPolicy, RequiredScopes: c.RequiredScopes,
		RequestedGrant: c.RequestedGrant, UserToken: c.UserToken, Agent: agent,
	})
	if serr != nil {
		return nil, serr
	}
	return t.vault.ResumeUserAction(facade.UserAction{Kind: facade.ActionConnect, Reason: string(facade.ErrorCodeGrantNotFound),
		URL: sess.URL, ExpiresAt: sess.ExpiresAt, Provider: t.spec.Provider, Handle: sess.Token})
}

// message is what the model is told, in alter_tool's words where it has them.
func (t *Tool) message(a *facade.UserAction) string {
	p := a.Provider
	if p == "" {
		p = t.spec.Provider
	}
	switch {
	case a.Reason == "scope_reauth_required":
		return "Additional permissions needed for " + p + ". Please re-authorize with the required scopes: " + a.URL
	case a.Kind == facade.ActionRepair:
		return "The " + p + " connection was revoked. Please reconnect: " + a.URL
	case isAgent(t.vault):
		return "Authorization required for " + p + ". Authorize and delegate to this agent: " + a.URL
	}
	return "Authorization required for " + p + ". Please visit: " + a.URL
}

func isAgent(v Vault) bool {
	_, ok := v.(*facade.Agent)
	return ok
}
