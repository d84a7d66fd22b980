package facade

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// GrantKind tells the two kinds of grant apart.
type GrantKind string

// Grant kinds.
const (
	GrantKindOAuth         GrantKind = "oauth"          // a user- (or agent-) authorized OAuth grant
	GrantKindManagedSecret GrantKind = "managed_secret" // an operator- or user-provisioned secret
)

// Grant is one grant of the unified list. The fields under "OAuth" are set for GrantKindOAuth,
// those under "Managed secret" for GrantKindManagedSecret; the others for both.
type Grant struct {
	ID              uuid.UUID      // the grant id (RequestParams.GrantID)
	Kind            GrantKind      // which of the field groups below applies
	Status          string         // e.g. "active", "expired", "revoked"
	PrincipalType   string         // who owns it: "user", "group", "system" or "agent"
	AccessVia       string         // "ownership", or how a delegation reached the caller
	Label           string         // the grant's label
	CreatedAt       time.Time      // creation time
	LastUsedAt      time.Time      // zero when never used
	ExpiresAt       time.Time      // credential expiry; zero when none
	GrantExpiresAt  time.Time      // grant TTL expiry; zero when none
	Policy          map[string]any // the grant policy, as stored
	ParentGrantID   string         // for a delegated grant: the grant it came from
	Depth           int            // delegation depth (0: not delegated)
	Delegable       bool           // may be delegated onward
	ScopeConstraint []string       // scope atoms the grant is narrowed to
	DelegatedAt     time.Time      // for an agent caller: when the grant was delegated to it
	CredentialID    string         // the credential behind the grant

	// OAuth.
	Provider           string   // provider id, e.g. "github"
	Scopes             []string // granted scopes
	AccountIdentifier  string   // the provider account, e.g. an email
	AccountDisplayName string   // display name of the account
	ScopeMismatch      bool     // granted scopes differ from those now required
	NeedsReconnect     bool     // active, but the provider token needs re-authorization
	DelegatedAgentIDs  []string // agents with a delegation (operator view)

	// Managed secret.
	ManagedSecretID   string // the secret's id
	ManagedSecretSlug string // the secret's slug (RequestParams.Provider)
	ManagedSecretName string // the secret's display name
	AgentID           string // the owning agent, for an agent principal
	CredentialKind    string // "developer" or "end_user"
}

// GrantPolicy is a grant's policy as stored.
type GrantPolicy struct {
	ExpiresAt time.Time // when the grant stops working; zero when unset
	CreatedBy string    // "developer" or "end_user"
	CreatedAt time.Time // when it was set
}

// GrantPolicyInput is a grant policy to set. Zero fields are not sent; durations are sent in
// whole seconds (rounded up).
type GrantPolicyInput struct {
	ExpiresAt  time.Time     // when the grant stops working
	MaxTTL     time.Duration // longest credential lifetime
	DefaultTTL time.Duration // default credential lifetime
}

func (p *GrantPolicyInput) wire(field string) (*gen.GrantPolicyInput, error) {
	if p == nil {
		return nil, nil
	}
	var g gen.GrantPolicyInput
	if !p.ExpiresAt.IsZero() {
		s := p.ExpiresAt.UTC().Format(time.RFC3339)
		g.ExpiresAt = &s
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		dst  **int
	}{{"MaxTTL", p.MaxTTL, &g.MaxTTLSeconds}, {"DefaultTTL", p.DefaultTTL, &g.DefaultTTLSeconds}} {
		if d.v < 0 {
			return nil, inputErr(field+"."+d.name, "must not be negative", nil)
		}
		if d.v > 0 {
			s := int((d.v + time.Second - 1) / time.Second)
			*d.dst = &s
		}
	}
	return &g, nil
}

func grantPolicyFrom(g *gen.GrantPolicy) *GrantPolicy {
	if g == nil {
		return nil
	}
	return &GrantPolicy{ExpiresAt: parseTime(g.ExpiresAt), CreatedBy: derefStr(g.CreatedBy), CreatedAt: parseTime(g.CreatedAt)}
}

// parseTime reads an RFC 3339 time of the wire; anything else is the zero time (the vault's
// timestamps are informative, never worth failing an answer over).
func parseTime(s *string) time.Time {
	if s == nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// ListGrantsParams select a page of grants.
type ListGrantsParams struct {
	Provider string // an OAuth provider id or a managed-secret slug ("" = all)
	Status   string // e.g. "active" ("" = all)
	Account  string // the provider account
	Label    string // the grant label
	// UserToken scopes the list to an end user's grants. On an App, WithUserTokenGetter is used
	// when it is empty; an Agent sends only this one.
	UserToken string
	Limit     int // page size, 1..1000 (0: 100)
	Offset    int // rows to skip
}

// GrantPage is a page of grants.
type GrantPage struct {
	Grants  []Grant // this page
	Total   int     // grants matching
	Limit   int     // page size used
	Offset  int     // rows skipped
	HasMore bool    // more rows follow
}

// ListGrants returns a page of the grants this client can see, OAuth and managed-secret: an
// App's own, or those delegated to or owned by an Agent.
func (c *client) ListGrants(ctx context.Context, p ListGrantsParams) (GrantPage, error) {
	limit, err := pageLimit(p.Limit, p.Offset)
	if err != nil {
		return GrantPage{}, err
	}
	req := gen.GrantListRequest{Limit: limit, Offset: p.Offset, ProviderID: optStr(p.Provider), Status: optStr(p.Status),
		Account: optStr(p.Account), Label: optStr(p.Label)}
	d := &call{op: "listGrants", surface: surfaceShared, actor: true, ctxHeader: true, field: "ListGrantsParams",
		user: &endUser{into: &req.UserToken, perCall: p.UserToken, getter: !c.agent}}
	out, err := sendJSON[gen.GrantListResult](ctx, c, d, &req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.ListGrantsWithBody(ctx, contentJSON, body)
	})
	if err != nil {
		return GrantPage{}, err
	}
	pg := GrantPage{Grants: make([]Grant, 0, len(out.Grants)), Total: out.Total, Limit: out.Limit, Offset: out.Offset, HasMore: out.HasMore}
	for _, it := range out.Grants {
		g, err := grantFrom(it)
		if err != nil {
			return GrantPage{}, malformed("listGrants", http.StatusOK, http.Header{})
		}
		pg.Grants = append(pg.Grants, g)
	}
	return pg, nil
}

// AllGrants iterates over every grant matching p, fetching pages of p.Limit from p.Offset. It
// stops after the first error, which it yields with a zero Grant.
func (c *client) AllGrants(ctx context.Context, p ListGrantsParams) iter.Seq2[Grant, error] {
	return allPages(ctx, p, p.Offset, c.ListGrants)
}

func (p ListGrantsParams) at(offset int) ListGrantsParams { p.Offset = offset; return p }

func (pg GrantPage) items() ([]Grant, bool) { return pg.Grants, pg.HasMore }

func grantFrom(it gen.GrantListItem) (Grant, error) {
	kind, err := it.Discriminator()
	if err != nil {
		return Grant{}, err
	}
	switch GrantKind(kind) {
	case GrantKindOAuth:
		o, err := it.AsOAuthGrantItem()
		if err != nil {
			return Grant{}, err
		}
		id, err := uuid.Parse(o.GrantID)
		if err != nil {
			return Grant{}, err
		}
		g := Grant{ID: id, Kind: GrantKindOAuth, Status: o.Status, PrincipalType: string(o.PrincipalType), AccessVia: "ownership",
			Label: derefStr(o.Label), CreatedAt: parseTime(&o.CreatedAt), LastUsedAt: parseTime(o.LastUsedAt),
			ExpiresAt: parseTime(o.ExpiresAt), GrantExpiresAt: parseTime(o.GrantExpiresAt), Policy: o.GrantPolicy,
			ParentGrantID: derefStr(o.ParentGrantID), Depth: derefInt(o.Depth), Delegable: derefBool(o.Delegable),
			ScopeConstraint: o.ScopeConstraint, DelegatedAt: parseTime(o.DelegatedAt), CredentialID: derefStr(o.CredentialID),
			Provider: o.ProviderID, Scopes: o.Scopes, AccountIdentifier: derefStr(o.AccountIdentifier),
			AccountDisplayName: derefStr(o.AccountDisplayName), ScopeMismatch: derefBool(o.ScopeMismatch),
			NeedsReconnect: derefBool(o.NeedsReconnect), DelegatedAgentIDs: o.DelegatedAgentIds}
		if o.AccessVia != nil {
			g.AccessVia = string(*o.AccessVia)
		}
		return g, nil
	case GrantKindManagedSecret:
		m, err := it.AsManagedSecretGrantItem()
		if err != nil {
			return Grant{}, err
		}
		id, err := uuid.Parse(m.GrantID)
		if err != nil {
			return Grant{}, err
		}
		g := Grant{ID: id, Kind: GrantKindManagedSecret, Status: m.Status, PrincipalType: string(m.PrincipalType), AccessVia: "ownership",
			Label: derefStr(m.Label), CreatedAt: parseTime(&m.CreatedAt), LastUsedAt: parseTime(m.LastUsedAt),
			ExpiresAt: parseTime(m.ExpiresAt), GrantExpiresAt: parseTime(m.GrantExpiresAt), Policy: m.GrantPolicy,
			ParentGrantID: derefStr(m.ParentGrantID), Depth: derefInt(m.Depth), Delegable: derefBool(m.Delegable),
			ScopeConstraint: m.ScopeConstraint, DelegatedAt: parseTime(m.DelegatedAt), CredentialID: derefStr(m.CredentialID),
			AccountIdentifier: derefStr(m.AccountIdentifier), ManagedSecretID: m.ManagedSecretID,
			ManagedSecretSlug: m.ManagedSecretSlug, ManagedSecretName: m.ManagedSecretName, AgentID: derefStr(m.AgentID)}
		if m.AccessVia != nil {
			g.AccessVia = string(*m.AccessVia)
		}
		if m.CredentialKind != nil {
			g.CredentialKind = string(*m.CredentialKind)
		}
		return g, nil
	}
	return Grant{}, fmt.Errorf("unknown grant_kind %q", kind)
}

// RevokeGrantResult is the outcome of RevokeGrant.
type RevokeGrantResult struct {
	GrantID   uuid.UUID // the grant
	Success   bool      // the grant is now revoked
	Message   string    // human-readable outcome
	RevokedAt time.Time // when
}

// RevokeGrant revokes a grant: its stored tokens are deleted and a security audit row is written
// with reason (App only). With WithUserTokenGetter the end user's token is sent, so only their
// own grant can be revoked.
func (a *App) RevokeGrant(ctx context.Context, grantID uuid.UUID, reason string) (RevokeGrantResult, error) {
	if grantID == uuid.Nil {
		return RevokeGrantResult{}, inputErr("grantID", "must be the grant's UUID, not uuid.Nil", nil)
	}
	req := gen.RevokeGrantRequest{Reason: optStr(reason)}
	d := &call{op: "revokeGrant", surface: surfaceShared, actor: true, field: "reason",
		user: &endUser{into: &req.UserToken, getter: true}}
	out, err := sendJSON[gen.RevokeGrantResult](ctx, a.client, d, &req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.RevokeGrantWithBody(ctx, grantID, contentJSON, body)
	})
	if err != nil {
		return RevokeGrantResult{}, err
	}
	id, _ := uuid.Parse(out.GrantID)
	return RevokeGrantResult{GrantID: id, Success: out.Success, Message: out.Message, RevokedAt: parseTime(&out.RevokedAt)}, nil
}

// RevokeDelegation removes agentID's delegation of a grant (and its onward delegations). The
// grant itself stays intact. Revoking twice is not an error.
func (a *App) RevokeDelegation(ctx context.Context, grantID, agentID uuid.UUID) error {
	if grantID == uuid.Nil || agentID == uuid.Nil {
		return inputErr("grantID/agentID", "must be UUIDs, not uuid.Nil", nil)
	}
	_, err := a.post(ctx, &call{op: "revokeDelegation", surface: surfaceShared, actor: true}, nil,
		func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
			return raw.RevokeDelegation(ctx, grantID, agentID)
		})
	return err
}

// RevokeDelegation drops this agent's own delegation of a grant. The grant stays intact.
func (a *Agent) RevokeDelegation(ctx context.Context, grantID uuid.UUID) error {
	if grantID == uuid.Nil {
		return inputErr("grantID", "must be the grant's UUID, not uuid.Nil", nil)
	}
	_, err := a.post(ctx, &call{op: "revokeOwnDelegation", surface: surfaceShared, actor: true}, nil,
		func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
			return raw.RevokeOwnDelegation(ctx, grantID)
		})
	return err
}

// Principal is who receives a managed-secret grant: UserPrincipal, GroupPrincipal,
// SystemPrincipal or AgentPrincipal.
type Principal interface {
	principal() (gen.GrantPrincipal, error)
}

// UserPrincipal is the end user named by a token. Printing it never shows the token.
type UserPrincipal struct {
	UserToken string // the end user's JWT (at most 8192 characters)
	Label     string // label of the grant (1–255 characters)
}

// GroupPrincipal is an identity-provider group.
type GroupPrincipal struct {
	ExternalGroupID string // the group's id in the IdP
	IdPID           string // the app's identity provider
	Label           string // label of the grant (1–255 characters)
}

// SystemPrincipal is the app itself.
type SystemPrincipal struct {
	Label string // label of the grant (optional)
}

// AgentPrincipal is an agent (the vault refuses it for managed-secret grants today).
type AgentPrincipal struct {
	Label string // label of the grant (optional)
}

func checkLabel(field, l string, required bool) (*string, error) {
	n := len([]rune(l))
	switch {
	case n > 255:
		return nil, inputErr(field, "longer than 255 characters", nil)
	case n == 0 && required:
		return nil, inputErr(field, "required", nil)
	case n == 0:
		return nil, nil
	}
	return &l, nil
}

func (p UserPrincipal) principal() (gen.GrantPrincipal, error) {
	if p.UserToken == "" || len([]rune(p.UserToken)) > 8192 {
		return gen.GrantPrincipal{}, inputErr("UserPrincipal.UserToken", "required, at most 8192 characters", nil)
	}
	l, err := checkLabel("UserPrincipal.Label", p.Label, true)
	return gen.GrantPrincipal{Type: "user", UserToken: &p.UserToken, Label: l}, err
}

func (p GroupPrincipal) principal() (gen.GrantPrincipal, error) {
	if p.ExternalGroupID == "" || p.IdPID == "" || len(p.ExternalGroupID) > 255 || len(p.IdPID) > 255 {
		return gen.GrantPrincipal{}, inputErr("GroupPrincipal", "ExternalGroupID and IdPID are required (1–255 characters)", nil)
	}
	l, err := checkLabel("GroupPrincipal.Label", p.Label, true)
	return gen.GrantPrincipal{Type: "group", ExternalGroupID: &p.ExternalGroupID, IdpID: &p.IdPID, Label: l}, err
}

func (p SystemPrincipal) principal() (gen.GrantPrincipal, error) {
	l, err := checkLabel("SystemPrincipal.Label", p.Label, false)
	return gen.GrantPrincipal{Type: "system", Label: l}, err
}

func (p AgentPrincipal) principal() (gen.GrantPrincipal, error) {
	l, err := checkLabel("AgentPrincipal.Label", p.Label, false)
	return gen.GrantPrincipal{Type: "agent", Label: l}, err
}

// String implements fmt.Stringer without the token.
func (p UserPrincipal) String() string {
	return fmt.Sprintf("{UserToken:%s Label:%s}", redacted, p.Label)
}

// GoString implements fmt.GoStringer without the token.
func (p UserPrincipal) GoString() string {
	return fmt.Sprintf("facade.UserPrincipal{UserToken:%q, Label:%q}", redacted, p.Label)
}

// Format prints p without its token, whatever the verb.
func (p UserPrincipal) Format(f fmt.State, verb rune) { formatRedacted(f, verb, p) }

// LogValue implements slog.LogValuer without the token.
func (p UserPrincipal) LogValue() slog.Value {
	return slog.GroupValue(slog.String("UserToken", redacted), slog.String("Label", p.Label))
}

// MarshalJSON encodes p without the token.
func (p UserPrincipal) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct{ UserToken, Label string }{redacted, p.Label})
}

// CreateGrantResult is a created managed-secret grant.
type CreateGrantResult struct {
	GrantID       uuid.UUID // the new grant
	PrincipalType string    // "user", "group", "system" or "agent"
	Label         string    // its label
	CreatedAt     time.Time // creation time
	CredentialID  string    // the credential it uses, when the vault says
}

// CreateManagedSecretGrant grants a managed secret (by its id) to a principal, with an optional
// policy (App only).
func (a *App) CreateManagedSecretGrant(ctx context.Context, managedSecretID string, principal Principal, policy *GrantPolicyInput) (CreateGrantResult, error) {
	if managedSecretID == "" {
		return CreateGrantResult{}, inputErr("managedSecretID", "required", nil)
	}
	if principal == nil {
		return CreateGrantResult{}, inputErr("principal", "nil; use UserPrincipal, GroupPrincipal, SystemPrincipal or AgentPrincipal", nil)
	}
	pr, err := principal.principal()
	if err != nil {
		return CreateGrantResult{}, err
	}
	gp, err := policy.wire("policy")
	if err != nil {
		return CreateGrantResult{}, err
	}
	req := gen.ManagedSecretGrantRequest{Principal: pr}
	if gp != nil {
		req.GrantPolicy = *gp
	}
	d := &call{op: "createManagedSecretGrant", surface: surfaceShared, actor: true, field: "principal"}
	out, err := sendJSON[gen.CreateGrantResult](ctx, a.client, d, req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.CreateManagedSecretGrantWithBody(ctx, managedSecretID, contentJSON, body)
	})
	if err != nil {
		return CreateGrantResult{}, err
	}
	id, _ := uuid.Parse(out.GrantID)
	return CreateGrantResult{GrantID: id, PrincipalType: string(out.PrincipalType), Label: derefStr(out.Label),
		CreatedAt: parseTime(&out.CreatedAt), CredentialID: derefStr(out.CredentialID)}, nil
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func derefBool(p *bool) bool { return p != nil && *p }
