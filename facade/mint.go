package facade

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// MintGrantParams describe a sibling grant.
type MintGrantParams struct {
	// Label addresses the new grant (RequestParams.Label); it must be unique among the
	// credential's active grants (else a *SiblingLabelConflictError). Required.
	Label string
	// Policy tightens the new grant; nil: none. The source's delegations are never copied.
	Policy *MintPolicy
	// Tags are stored on the new grant (each non-empty).
	Tags []string
}

// MintPolicy is the policy of a minted grant. A default TTL has no meaning there: only a
// Connect session offers a TTL choice.
type MintPolicy struct {
	ExpiresAt        time.Time      // when the grant stops working (zero: not sent)
	MaxTTL           time.Duration  // longest credential lifetime, in whole seconds rounded up (0: not sent)
	Restrictions     map[string]any // method and endpoint restrictions, in the vault's shape (nil: not sent)
	RequiresApproval bool           // every call with the grant waits for a human approval (proxy mode)
}

// GrantInfo is a grant as MintGrant answers it.
type GrantInfo struct {
	ID                 uuid.UUID      // the grant id
	Provider           string         // provider id
	Scopes             []string       // granted scopes
	AccountIdentifier  string         // the provider account
	AccountDisplayName string         // its display name
	APIBaseURL         string         // the account's API origin (https://host), when it has one
	Status             string         // e.g. "active"
	ScopeMismatch      bool           // granted scopes differ from those now required
	PrincipalType      PrincipalType  // who holds it (the source's principal)
	Label              string         // its label
	CredentialID       string         // the credential it shares with its source
	Policy             map[string]any // the grant policy, as stored
	CreatedAt          time.Time      // creation time
	LastUsedAt         time.Time      // zero when never used
	ExpiresAt          time.Time      // credential expiry; zero when none
}

// MintGrant makes a sibling of the grant sourceGrantID on the same credential, with its own
// label and policy and no new consent (App only: an Agent key is refused with a policy
// violation). The sibling holds the source's principal.
func (a *App) MintGrant(ctx context.Context, sourceGrantID uuid.UUID, p MintGrantParams) (GrantInfo, error) {
	if sourceGrantID == uuid.Nil {
		return GrantInfo{}, inputErr("sourceGrantID", "must be the grant's UUID, not uuid.Nil", nil)
	}
	if p.Label == "" {
		return GrantInfo{}, inputErr("MintGrantParams.Label", "required", nil)
	}
	req := gen.MintGrantRequest{Label: p.Label}
	for _, t := range p.Tags {
		if t == "" {
			return GrantInfo{}, inputErr("MintGrantParams.Tags", "must not hold an empty tag", nil)
		}
	}
	if p.Tags != nil {
		req.GrantTags = &p.Tags
	}
	if pol := p.Policy; pol != nil {
		if pol.MaxTTL < 0 {
			return GrantInfo{}, inputErr("MintGrantParams.Policy.MaxTTL", "must not be negative", nil)
		}
		req.GrantPolicy = &gen.MintGrantPolicy{ExpiresAt: rfc3339(pol.ExpiresAt), MaxTTLSeconds: wholeSeconds(pol.MaxTTL)}
		if pol.Restrictions != nil {
			req.GrantPolicy.Restrictions = &pol.Restrictions
		}
		if pol.RequiresApproval {
			req.GrantPolicy.RequiresApproval = &pol.RequiresApproval
		}
	}
	d := &call{op: "mintGrant", surface: surfaceShared, actor: true, field: "MintGrantParams"}
	out, err := sendJSON[gen.GrantInfo](ctx, a.client, d, req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.MintGrantWithBody(ctx, sourceGrantID.String(), contentJSON, body)
	})
	var conflict *SiblingLabelConflictError
	if errors.As(err, &conflict) && conflict.Label == "" {
		conflict.Label = p.Label // the conflict is on the label asked for
	}
	if err != nil {
		return GrantInfo{}, err
	}
	id, err := uuid.Parse(out.GrantID)
	if err != nil {
		return GrantInfo{}, malformed(d.op, http.StatusOK, http.Header{})
	}
	return GrantInfo{ID: id, Provider: out.ProviderID, Scopes: out.Scopes, AccountIdentifier: derefStr(out.AccountIdentifier),
		AccountDisplayName: derefStr(out.AccountDisplayName), APIBaseURL: apiOrigin(out.APIBaseURL), Status: out.Status,
		ScopeMismatch: derefBool(out.ScopeMismatch), PrincipalType: PrincipalType(out.PrincipalType), Label: derefStr(out.Label),
		CredentialID: derefStr(out.CredentialID), Policy: out.GrantPolicy, CreatedAt: parseTime(&out.CreatedAt),
		LastUsedAt: parseTime(out.LastUsedAt), ExpiresAt: parseTime(out.ExpiresAt)}, nil
}

// rfc3339 is t on the wire, UTC; nil for the zero time (not sent).
func rfc3339(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}
