package facade

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"regexp"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// GrantKind tells the two kinds of grant apart.
type GrantKind string

// Grant kinds.
const (
	GrantKindOAuth         GrantKind = "oauth"          // a user- (or agent-) authorized OAuth grant
	GrantKindManagedSecret GrantKind = "managed_secret" // an operator-provisioned secret
)

// Grant is one grant of the unified list. The fields under "OAuth" are set for GrantKindOAuth,
// those under "Managed secret" for GrantKindManagedSecret; the others for both.
type Grant struct {
	ID            uuid.UUID    // the grant id (RequestParams.GrantID)
	Kind          GrantKind    // which of the field groups below applies
	Status        string       // "active", "expired", "revoked" or "credential_revoked"
	PrincipalType string       // who owns it: "user", "group", "system" or "agent"
	CreatedAt     time.Time    // creation time
	LastUsedAt    time.Time    // zero when never used
	Policy        *GrantPolicy // nil when none

	// OAuth.
	Provider           string      // provider id, e.g. "github"
	Scopes             []string    // granted scopes
	AccountIdentifier  string      // the provider account, e.g. an email
	AccountDisplayName string      // display name of the account
	ScopeMismatch      bool        // granted scopes differ from those now required
	ExpiresAt          time.Time   // zero when it does not expire
	DelegatedAt        time.Time   // for an agent caller: when the grant was delegated to it
	DelegatedAgentIDs  []uuid.UUID // agents with a delegation

	// Managed secret.
	ManagedSecretID   string    // e.g. "ms_stripe"
	ManagedSecretSlug string    // the secret's slug
	ManagedSecretName string    // the secret's display name
	AgentID           uuid.UUID // the owning agent, for an agent principal
	Label             string    // the grant's label
}

// GrantPolicy is a grant's policy as stored.
type GrantPolicy struct {
	ExpiresAt time.Time // when the grant stops working; zero when unset
	CreatedBy string    // who set the policy
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
		t := p.ExpiresAt
		g.ExpiresAt = &t
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
	return &GrantPolicy{ExpiresAt: derefTime(g.ExpiresAt), CreatedBy: derefStr(g.CreatedBy), CreatedAt: derefTime(g.CreatedAt)}
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func derefStr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// ListGrantsParams select a page of an App's grants.
type ListGrantsParams struct {
	// Provider keeps only the grants of this provider ("" = all). The vault refuses it
	// (ErrInvalidRequest) for an App that impersonates an agent with WithCaller(agentUUID).
	Provider string
	Limit    int // page size, 1..1000 (0 = the vault's default, 100)
	Offset   int // rows to skip
}

// PageParams select a page of a list without filters.
type PageParams struct {
	Limit  int // page size, 1..1000 (0 = the vault's default, 100)
	Offset int // rows to skip
}

// GrantPage is a page of grants.
type GrantPage struct {
	Grants  []Grant // this page
	Total   int     // grants matching
	Limit   int     // page size used
	Offset  int     // rows skipped
	HasMore bool    // more rows follow
}

func checkPage(limit, offset int) error {
	if limit < 0 || limit > 1000 {
		return inputErr("Limit", "must be between 1 and 1000 (0 for the default)", nil)
	}
	if offset < 0 {
		return inputErr("Offset", "must not be negative", nil)
	}
	return nil
}

func optInt(v int) *int {
	if v == 0 {
		return nil
	}
	return &v
}

// ListGrants returns a page of the app's grants, OAuth and managed-secret, optionally of one
// provider.
func (a *App) ListGrants(ctx context.Context, p ListGrantsParams) (GrantPage, error) {
	return a.c.listGrants(ctx, p)
}

// AllGrants iterates over every grant matching p, fetching pages of p.Limit from p.Offset. It
// stops after the first error, which it yields with a zero Grant.
func (a *App) AllGrants(ctx context.Context, p ListGrantsParams) iter.Seq2[Grant, error] {
	return allPages(func(offset int) ([]Grant, bool, error) {
		p.Offset = offset
		pg, err := a.c.listGrants(ctx, p)
		return pg.Grants, pg.HasMore, err
	}, p.Offset)
}

// ListGrants returns a page of the grants this agent can use: OAuth grants delegated to it and
// the grants it owns.
func (a *Agent) ListGrants(ctx context.Context, p PageParams) (GrantPage, error) {
	return a.c.listGrants(ctx, ListGrantsParams{Limit: p.Limit, Offset: p.Offset})
}

// AllGrants iterates over every grant this agent can use. It stops after the first error, which
// it yields with a zero Grant.
func (a *Agent) AllGrants(ctx context.Context, p PageParams) iter.Seq2[Grant, error] {
	return allPages(func(offset int) ([]Grant, bool, error) {
		pg, err := a.c.listGrants(ctx, ListGrantsParams{Limit: p.Limit, Offset: offset})
		return pg.Grants, pg.HasMore, err
	}, p.Offset)
}

// allPages walks offset-paginated pages. An empty page ends the walk even if the vault said
// has_more, so a misbehaving server cannot make it loop forever.
func allPages[T any](page func(offset int) ([]T, bool, error), offset int) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			items, more, err := page(offset)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if !more || len(items) == 0 {
				return
			}
			offset += len(items)
		}
	}
}

func (c *client) listGrants(ctx context.Context, p ListGrantsParams) (GrantPage, error) {
	if err := checkPage(p.Limit, p.Offset); err != nil {
		return GrantPage{}, err
	}
	params := &gen.ListGrantsParams{Limit: optInt(p.Limit), Offset: optInt(p.Offset)}
	if p.Provider != "" {
		params.ProviderID = &p.Provider
	}
	var out gen.UnifiedGrantListResult
	if _, err := c.do(ctx, "listGrants", &out, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.ListGrants(ctx, params)
	}); err != nil {
		return GrantPage{}, err
	}
	pg := GrantPage{Grants: make([]Grant, 0, len(out.Grants)), Total: out.Total, Limit: out.Limit, Offset: out.Offset, HasMore: out.HasMore}
	for _, it := range out.Grants {
		g, err := grantFrom(it)
		if err != nil {
			return GrantPage{}, &APIError{Op: "listGrants", StatusCode: http.StatusOK, Message: err.Error()}
		}
		pg.Grants = append(pg.Grants, g)
	}
	return pg, nil
}

func grantFrom(it gen.GrantItem) (Grant, error) {
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
		return Grant{ID: o.GrantID, Kind: GrantKindOAuth, Status: string(o.Status), PrincipalType: string(o.PrincipalType),
			CreatedAt: o.CreatedAt, LastUsedAt: derefTime(o.LastUsedAt), Policy: grantPolicyFrom(o.GrantPolicy),
			Provider: o.ProviderID, Scopes: o.Scopes, AccountIdentifier: derefStr(o.AccountIdentifier),
			AccountDisplayName: derefStr(o.AccountDisplayName), ScopeMismatch: o.ScopeMismatch,
			ExpiresAt: derefTime(o.ExpiresAt), DelegatedAt: derefTime(o.DelegatedAt), DelegatedAgentIDs: o.DelegatedAgentIds}, nil
	case GrantKindManagedSecret:
		m, err := it.AsManagedSecretGrantItem()
		if err != nil {
			return Grant{}, err
		}
		g := Grant{ID: m.GrantID, Kind: GrantKindManagedSecret, Status: string(m.Status), PrincipalType: string(m.PrincipalType),
			CreatedAt: m.CreatedAt, LastUsedAt: derefTime(m.LastUsedAt), Policy: grantPolicyFrom(m.GrantPolicy),
			ManagedSecretID: m.ManagedSecretID, ManagedSecretSlug: derefStr(m.ManagedSecretSlug),
			ManagedSecretName: derefStr(m.ManagedSecretName), Label: derefStr(m.Label)}
		if m.AgentID != nil {
			g.AgentID = *m.AgentID
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
// with reason (App only). Revoking twice gives an error matching ErrGrantRevoked; an unknown
// grant ErrGrantNotFound.
func (a *App) RevokeGrant(ctx context.Context, grantID uuid.UUID, reason string) (RevokeGrantResult, error) {
	if grantID == uuid.Nil {
		return RevokeGrantResult{}, inputErr("grantID", "must be the grant's UUID, not uuid.Nil", nil)
	}
	if len(reason) > 1024 {
		return RevokeGrantResult{}, inputErr("reason", "longer than 1024 bytes", nil)
	}
	var body gen.RevokeGrantRequest
	if reason != "" {
		body.Reason = &reason
	}
	var out gen.RevokeGrantResult
	if _, err := a.c.do(ctx, "revokeGrant", &out, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.RevokeGrant(ctx, grantID, nil, body)
	}); err != nil {
		return RevokeGrantResult{}, err
	}
	return RevokeGrantResult{GrantID: out.GrantID, Success: out.Success, Message: derefStr(out.Message), RevokedAt: out.RevokedAt}, nil
}

// DelegationRevocation is the outcome of RevokeDelegation: the agent lost its access path; the
// grant itself is intact.
type DelegationRevocation struct {
	GrantID   uuid.UUID // the grant, still intact
	AgentID   uuid.UUID // the agent that lost access
	RevokedAt time.Time // when
}

// RevokeDelegation removes agentID's delegation of a user's grant. The grant stays intact.
func (a *App) RevokeDelegation(ctx context.Context, grantID, agentID uuid.UUID) (DelegationRevocation, error) {
	if grantID == uuid.Nil || agentID == uuid.Nil {
		return DelegationRevocation{}, inputErr("grantID/agentID", "must be UUIDs, not uuid.Nil", nil)
	}
	return a.c.revokeDelegation(ctx, "revokeDelegation", func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.RevokeDelegation(ctx, grantID, agentID, nil)
	})
}

// RevokeDelegation drops this agent's own delegation of a user's grant. The grant stays intact.
func (a *Agent) RevokeDelegation(ctx context.Context, grantID uuid.UUID) (DelegationRevocation, error) {
	if grantID == uuid.Nil {
		return DelegationRevocation{}, inputErr("grantID", "must be the grant's UUID, not uuid.Nil", nil)
	}
	return a.c.revokeDelegation(ctx, "revokeMyDelegation", func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.RevokeMyDelegation(ctx, grantID, nil)
	})
}

func (c *client) revokeDelegation(ctx context.Context, op string, send func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error)) (DelegationRevocation, error) {
	var out gen.RevokeDelegationResult
	if _, err := c.do(ctx, op, &out, send); err != nil {
		return DelegationRevocation{}, err
	}
	return DelegationRevocation{GrantID: out.GrantID, AgentID: out.AgentID, RevokedAt: out.RevokedAt}, nil
}

// Principal is who receives a managed-secret grant: UserPrincipal, GroupPrincipal,
// SystemPrincipal or AgentPrincipal.
type Principal interface {
	principal() (gen.Principal, error)
}

// UserPrincipal is the end user named by a token. Printing it never shows the token.
type UserPrincipal struct {
	UserToken string // the end user's JWT
	Label     string // label of the grant (optional)
}

// GroupPrincipal is an identity-provider group.
type GroupPrincipal struct {
	ExternalGroupID string // the group's id in the IdP
	IdPID           string // the identity provider
	Label           string // label of the grant (optional)
}

// SystemPrincipal is the app itself.
type SystemPrincipal struct {
	Label string // label of the grant (optional)
}

// AgentPrincipal is the calling agent (the vault takes its id from the verified key; with an App
// key, only under impersonation: WithCaller(agentUUID) or App.GetAgent).
type AgentPrincipal struct {
	Label string // label of the grant (optional)
}

func optLabel(l string) (*string, error) {
	if len(l) > 128 {
		return nil, inputErr("Principal.Label", "longer than 128 bytes", nil)
	}
	if l == "" {
		return nil, nil
	}
	return &l, nil
}

func (p UserPrincipal) principal() (gen.Principal, error) {
	var g gen.Principal
	if p.UserToken == "" {
		return g, inputErr("UserPrincipal.UserToken", "empty", nil)
	}
	l, err := optLabel(p.Label)
	if err != nil {
		return g, err
	}
	return g, g.FromUserPrincipal(gen.UserPrincipal{Type: "user", UserToken: p.UserToken, Label: l})
}

func (p GroupPrincipal) principal() (gen.Principal, error) {
	var g gen.Principal
	if p.ExternalGroupID == "" || p.IdPID == "" {
		return g, inputErr("GroupPrincipal", "ExternalGroupID and IdPID are required", nil)
	}
	l, err := optLabel(p.Label)
	if err != nil {
		return g, err
	}
	return g, g.FromGroupPrincipal(gen.GroupPrincipal{Type: "group", ExternalGroupID: p.ExternalGroupID, IdpID: p.IdPID, Label: l})
}

func (p SystemPrincipal) principal() (gen.Principal, error) {
	var g gen.Principal
	l, err := optLabel(p.Label)
	if err != nil {
		return g, err
	}
	return g, g.FromSystemPrincipal(gen.SystemPrincipal{Type: "system", Label: l})
}

func (p AgentPrincipal) principal() (gen.Principal, error) {
	var g gen.Principal
	l, err := optLabel(p.Label)
	if err != nil {
		return g, err
	}
	return g, g.FromAgentPrincipal(gen.AgentPrincipal{Type: "agent", Label: l})
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

// CreateGrantResult is a created managed-secret grant.
type CreateGrantResult struct {
	GrantID       uuid.UUID // the new grant
	PrincipalType string    // "user", "group", "system" or "agent"
	Label         string    // its label
	CreatedAt     time.Time // creation time
}

var managedSecretIDRE = regexp.MustCompile(`^ms_[A-Za-z0-9_]{1,64}$`)

// CreateManagedSecretGrant grants a managed secret (an id like "ms_stripe") to a principal, with
// an optional policy. Errors match ErrManagedSecretNotFound, ErrPolicyViolation (e.g. an
// ExpiresAt in the past), ErrSiblingLabelConflict, ErrInvalidUserToken or ErrInvalidRequest.
func (a *App) CreateManagedSecretGrant(ctx context.Context, managedSecretID string, principal Principal, policy *GrantPolicyInput) (CreateGrantResult, error) {
	return a.c.createManagedSecretGrant(ctx, managedSecretID, principal, policy)
}

// CreateManagedSecretGrant grants a managed secret to this agent itself (an agent may only grant
// to itself), with an optional label and policy.
func (a *Agent) CreateManagedSecretGrant(ctx context.Context, managedSecretID, label string, policy *GrantPolicyInput) (CreateGrantResult, error) {
	return a.c.createManagedSecretGrant(ctx, managedSecretID, AgentPrincipal{Label: label}, policy)
}

func (c *client) createManagedSecretGrant(ctx context.Context, msID string, principal Principal, policy *GrantPolicyInput) (CreateGrantResult, error) {
	if !managedSecretIDRE.MatchString(msID) {
		return CreateGrantResult{}, inputErr("managedSecretID", `must look like "ms_abc123"`, nil)
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
	body := gen.CreateManagedSecretGrantRequest{Principal: pr, GrantPolicy: gp}
	var out gen.CreateGrantResult
	if _, err := c.do(ctx, "createManagedSecretGrant", &out, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.CreateManagedSecretGrant(ctx, msID, nil, body)
	}); err != nil {
		return CreateGrantResult{}, err
	}
	return CreateGrantResult{GrantID: out.GrantID, PrincipalType: string(out.PrincipalType), Label: derefStr(out.Label), CreatedAt: out.CreatedAt}, nil
}
