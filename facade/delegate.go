package facade

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// DelegateParams are the options of an onward delegation.
type DelegateParams struct {
	// Delegable says whether the new holder may delegate the grant once more. nil keeps the
	// setting of an existing delegation (a new one is then a leaf); true or false is stored as
	// given. true also needs the provider's sharing ceiling and a hop left under its depth
	// ceiling (else a *GrantNotDelegableError).
	Delegable *bool
	// ScopeConstraint narrows the delegated grant to these provider scopes, each within the
	// held grant's own (nil: its full scope). A narrowed grant is usable in proxy mode only.
	// Managed-secret grants carry no provider scopes and refuse any constraint.
	ScopeConstraint []string
	// TTL bounds the delegation's lifetime (0: the holder's); the vault keeps the shortest of
	// it, the holder's expiry and the provider's cap. Sent in whole seconds, rounded up.
	TTL time.Duration
}

// DelegationResult is the grant an onward delegation made for the other agent.
type DelegationResult struct {
	GrantID       uuid.UUID // the new holder's grant
	Kind          GrantKind // OAuth or managed secret, as the held grant
	ParentGrantID uuid.UUID // the grant it was delegated from
	Depth         int       // hops from the consenting user's grant (1 = first hop)
	Delegable     bool      // the new holder may delegate it onward
	Status        string    // e.g. "active"
	ExpiresAt     time.Time // zero when it does not expire on its own
}

// Delegate delegates a grant this agent holds (a delegation to it, or its onward delegation)
// to the agent toAgentID, without the credential's owner consenting again. The held grant must
// be delegable: otherwise a *GrantNotDelegableError says why (DetailReason). A grant this agent
// does not hold is ErrGrantNotFound; an unknown, paused or revoked toAgentID is
// ErrAgentNotFound; an active delegation to that agent already there is a 409 *APIError.
func (a *Agent) Delegate(ctx context.Context, grantID, toAgentID uuid.UUID, p DelegateParams) (DelegationResult, error) {
	if grantID == uuid.Nil || toAgentID == uuid.Nil {
		return DelegationResult{}, inputErr("grantID/toAgentID", "must be UUIDs, not uuid.Nil", nil)
	}
	if err := checkScopeConstraint("DelegateParams.ScopeConstraint", p.ScopeConstraint); err != nil {
		return DelegationResult{}, err
	}
	if p.TTL < 0 {
		return DelegationResult{}, inputErr("DelegateParams.TTL", "must not be negative", nil)
	}
	req := gen.DelegateGrantRequest{ToAgentID: toAgentID.String(), Delegable: p.Delegable, ScopeConstraint: p.ScopeConstraint,
		TTLSeconds: wholeSeconds(p.TTL)}
	d := &call{op: "delegateGrant", surface: surfaceShared, actor: true, field: "DelegateParams"}
	out, err := sendJSON[gen.DelegationResult](ctx, a.client, d, req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.DelegateGrantWithBody(ctx, grantID.String(), contentJSON, body)
	})
	if err != nil {
		return DelegationResult{}, err
	}
	id, err1 := uuid.Parse(out.GrantID)
	parent, err2 := uuid.Parse(out.ParentGrantID)
	if err1 != nil || err2 != nil || out.Depth < 1 {
		return DelegationResult{}, malformed(d.op, http.StatusOK, http.Header{})
	}
	return DelegationResult{GrantID: id, Kind: GrantKind(out.GrantKind), ParentGrantID: parent, Depth: out.Depth,
		Delegable: out.Delegable, Status: out.Status, ExpiresAt: parseTime(out.ExpiresAt)}, nil
}

// wholeSeconds is d in whole seconds, rounded up; nil for zero (not sent).
func wholeSeconds(d time.Duration) *int {
	if d <= 0 {
		return nil
	}
	s := int((d + time.Second - 1) / time.Second)
	return &s
}
