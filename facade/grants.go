package facade

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"log/slog"
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
	GrantKindManagedSecret GrantKind = "managed_secret" // an operator- or user-provisioned secret
)

// PrincipalType is who holds a grant.
type PrincipalType string

// Principal types.
const (
	PrincipalUser   PrincipalType = "user"   // an end user
	PrincipalGroup  PrincipalType = "group"  // an identity-provider group (managed secrets only)
	PrincipalSystem PrincipalType = "system" // the app itself
	PrincipalAgent  PrincipalType = "agent"  // an agent
)

// AccessVia is how the caller reaches a grant of a list.
type AccessVia string

// Ways to reach a grant.
const (
	AccessOwnership       AccessVia = "ownership"        // the caller holds the grant itself
	AccessOAuthDelegation AccessVia = "oauth_delegation" // an OAuth grant delegated to the calling agent
	AccessMSDelegation    AccessVia = "ms_delegation"    // a managed-secret grant delegated to the calling agent
)

// CredentialKind is whose credential backs a managed-secret grant.
type CredentialKind string

// Credential kinds.
const (
	CredentialDeveloper CredentialKind = "developer" // provisioned by the app's developer
	CredentialEndUser   CredentialKind = "end_user"  // entered by the end user
)

// Grant is one grant of the unified list. The fields under "OAuth" are set for GrantKindOAuth,
// those under "Managed secret" for GrantKindManagedSecret; the others for both.
type Grant struct {
	ID                uuid.UUID      // the grant id (RequestParams.GrantID)
	Kind              GrantKind      // which of the field groups below applies
	Status            string         // e.g. "active", "expired", "revoked"
	PrincipalType     PrincipalType  // who holds it
	AccessVia         AccessVia      // how the caller reaches it
	Label             string         // the grant's label
	AccountIdentifier string         // the account, e.g. an email
	CreatedAt         time.Time      // creation time
	LastUsedAt        time.Time      // zero when never used
	ExpiresAt         time.Time      // credential expiry; zero when none
	GrantExpiresAt    time.Time      // grant TTL expiry; zero when none
	Policy            map[string]any // the grant policy, as stored
	CredentialID      string         // the credential behind the grant (shared by minted siblings)

	// Delegation chain.
	ParentGrantID   string    // for a delegated grant: the grant it came from
	Depth           int       // 0: held directly; 1: a first-hop delegation; +1 per onward hop
	Delegable       bool      // the caller may delegate it onward (Agent.Delegate)
	ScopeConstraint []string  // provider scopes the delegation narrowed it to (nil: none)
	DelegatedAt     time.Time // for an agent caller: when the grant was delegated to it

	// OAuth.
	Provider           string   // provider id, e.g. "github"
	Scopes             []string // granted scopes
	AccountDisplayName string   // display name of the account
	APIBaseURL         string   // the account's API origin (https://host), when it has one
	ScopeMismatch      bool     // granted scopes differ from those now required
	NeedsReconnect     bool     // active, but the provider token needs re-authorization
	DelegatedAgentIDs  []string // agents with a delegation (operator view)

	// Managed secret.
	ManagedSecretID   string         // the secret's id
	ManagedSecretSlug string         // the secret's slug (RequestParams.Provider)
	ManagedSecretName string         // the secret's display name
	AgentID           string         // the owning agent, for an agent principal
	CredentialKind    CredentialKind // whose credential it is ("" when the vault does not say)
	CredentialLabel   string         // the credential's label
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
	if p.MaxTTL < 0 || p.DefaultTTL < 0 {
		return nil, inputErr(field, "MaxTTL and DefaultTTL must not be negative", nil)
	}
	g := gen.GrantPolicyInput{ExpiresAt: rfc3339(p.ExpiresAt), MaxTTLSeconds: wholeSeconds(p.MaxTTL),
		DefaultTTLSeconds: wholeSeconds(p.DefaultTTL)}
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

// ListGrantsParams select a page of grants. The filters are AND-ed; an empty one is not sent.
type ListGrantsParams struct {
	Provider string // an OAuth provider id or a managed-secret slug
	Status   string // e.g. "active", "expired", "revoked"
	Account  string // the account identifier
	Label    string // the grant label
	// UserToken scopes the list to an end user's grants. On an App, WithUserTokenGetter is used
	// when it is empty; an Agent sends only this one.
	UserToken string
	Limit     int // page size, 1..1000 (0: 100)
	Offset    int // rows to skip
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
	pg := GrantPage{Items: make([]Grant, 0, len(out.Grants)), Total: out.Total, Limit: out.Limit, Offset: out.Offset, HasMore: out.HasMore}
	for _, it := range out.Grants {
		g, err := grantFrom(it)
		if err != nil {
			return GrantPage{}, malformed("listGrants", http.StatusOK, http.Header{})
		}
		pg.Items = append(pg.Items, g)
	}
	return pg, nil
}

// AllGrants iterates over every grant matching p, fetching pages of p.Limit from p.Offset. It
// stops after the first error, which it yields with a zero Grant.
func (c *client) AllGrants(ctx context.Context, p ListGrantsParams) iter.Seq2[Grant, error] {
	return allPages(ctx, p, p.Offset, c.ListGrants)
}

func (p ListGrantsParams) at(offset int) ListGrantsParams { p.Offset = offset; return p }

// grantFrom converts one list item: the fields of the shared base (GrantItemBase) first, then
// those of its kind.
func grantFrom(it gen.GrantListItem) (Grant, error) {
	raw, err := it.MarshalJSON()
	if err != nil {
		return Grant{}, err
	}
	var b gen.GrantItemBase
	if err := json.Unmarshal(raw, &b); err != nil {
		return Grant{}, err
	}
	id, err := uuid.Parse(b.GrantID)
	if err != nil {
		return Grant{}, err
	}
	g := Grant{ID: id, Kind: GrantKind(b.GrantKind), Status: b.Status, AccessVia: AccessOwnership, Label: derefStr(b.Label),
		AccountIdentifier: derefStr(b.AccountIdentifier), CreatedAt: parseTime(&b.CreatedAt), LastUsedAt: parseTime(b.LastUsedAt),
		ExpiresAt: parseTime(b.ExpiresAt), GrantExpiresAt: parseTime(b.GrantExpiresAt), Policy: b.GrantPolicy,
		CredentialID: derefStr(b.CredentialID), ParentGrantID: derefStr(b.ParentGrantID), Depth: derefInt(b.Depth),
		Delegable: derefBool(b.Delegable), ScopeConstraint: b.ScopeConstraint, DelegatedAt: parseTime(b.DelegatedAt)}
	switch g.Kind {
	case GrantKindOAuth:
		o, err := it.AsOAuthGrantItem()
		if err != nil {
			return Grant{}, err
		}
		g.PrincipalType, g.Provider, g.Scopes = PrincipalType(o.PrincipalType), o.ProviderID, o.Scopes
		g.AccountDisplayName, g.APIBaseURL = derefStr(o.AccountDisplayName), apiOrigin(o.APIBaseURL)
		g.ScopeMismatch, g.NeedsReconnect, g.DelegatedAgentIDs = derefBool(o.ScopeMismatch), derefBool(o.NeedsReconnect), o.DelegatedAgentIds
		if o.AccessVia != nil {
			g.AccessVia = AccessVia(*o.AccessVia)
		}
	case GrantKindManagedSecret:
		m, err := it.AsManagedSecretGrantItem()
		if err != nil {
			return Grant{}, err
		}
		g.PrincipalType, g.ManagedSecretID, g.ManagedSecretSlug = PrincipalType(m.PrincipalType), m.ManagedSecretID, m.ManagedSecretSlug
		g.ManagedSecretName, g.AgentID, g.CredentialLabel = m.ManagedSecretName, derefStr(m.AgentID), derefStr(m.CredentialLabel)
		if m.AccessVia != nil {
			g.AccessVia = AccessVia(*m.AccessVia)
		}
		if m.CredentialKind != nil {
			g.CredentialKind = CredentialKind(*m.CredentialKind)
		}
	default:
		return Grant{}, fmt.Errorf("unknown grant_kind %q", b.GrantKind)
	}
	return g, nil
}

// apiOriginRE is a bare https origin whose host is lower-case DNS labels: the only shape the
// vault stores. Callers append a path to it, so a port, userinfo, a path or a stray character
// must never reach them.
var apiOriginRE = regexp.MustCompile(`^https://[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$`)

// apiOrigin keeps an api_base_url only when it has that shape and at most 270 characters ("" else).
func apiOrigin(s *string) string {
	if s == nil || len(*s) > 270 || !apiOriginRE.MatchString(*s) {
		return ""
	}
	return *s
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
	GrantID       uuid.UUID     // the new grant
	PrincipalType PrincipalType // who holds it
	Label         string        // its label
	CreatedAt     time.Time     // creation time
	CredentialID  string        // the credential it uses, when the vault says
}

// ManagedSecretGrantParams describe a managed-secret grant.
type ManagedSecretGrantParams struct {
	// Principal receives the grant: UserPrincipal, GroupPrincipal, SystemPrincipal or
	// AgentPrincipal. Required.
	Principal Principal
	// Policy is the grant's lifetime policy (nil: none).
	Policy *GrantPolicyInput
	// CredentialID picks one of the secret's developer credentials. Needed when it has
	// several: without it the vault answers a *CredentialIDRequiredError listing them. An
	// end user's credential cannot be assigned (ErrEndUserCredentialNotAssignable).
	CredentialID string
}

// CreateManagedSecretGrant grants a managed secret (by its id) to a principal (App only).
func (a *App) CreateManagedSecretGrant(ctx context.Context, managedSecretID string, p ManagedSecretGrantParams) (CreateGrantResult, error) {
	if managedSecretID == "" {
		return CreateGrantResult{}, inputErr("managedSecretID", "required", nil)
	}
	if p.Principal == nil {
		return CreateGrantResult{}, inputErr("ManagedSecretGrantParams.Principal", "nil; use UserPrincipal, GroupPrincipal, SystemPrincipal or AgentPrincipal", nil)
	}
	pr, err := p.Principal.principal()
	if err != nil {
		return CreateGrantResult{}, err
	}
	gp, err := p.Policy.wire("ManagedSecretGrantParams.Policy")
	if err != nil {
		return CreateGrantResult{}, err
	}
	req := gen.ManagedSecretGrantRequest{Principal: pr, CredentialID: optStr(p.CredentialID)}
	if gp != nil {
		req.GrantPolicy = *gp
	}
	d := &call{op: "createManagedSecretGrant", surface: surfaceShared, actor: true, field: "ManagedSecretGrantParams"}
	out, err := sendJSON[gen.CreateGrantResult](ctx, a.client, d, req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.CreateManagedSecretGrantWithBody(ctx, managedSecretID, contentJSON, body)
	})
	if err != nil {
		return CreateGrantResult{}, err
	}
	id, _ := uuid.Parse(out.GrantID)
	return CreateGrantResult{GrantID: id, PrincipalType: PrincipalType(out.PrincipalType), Label: derefStr(out.Label),
		CreatedAt: parseTime(&out.CreatedAt), CredentialID: derefStr(out.CredentialID)}, nil
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func derefBool(p *bool) bool { return p != nil && *p }
