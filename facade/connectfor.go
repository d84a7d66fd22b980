package facade

import (
	"context"
	"errors"

	"github.com/google/uuid"
)

// ConnectForErrorParams are what a recovery session takes from the caller: the deployment's
// shape (popup origin, return URL…) and the user. The provider, the agent and the grant to
// repair come from the error.
type ConnectForErrorParams struct {
	AllowedOrigin  string
	ReturnURL      string
	Metadata       *ConnectMetadata
	GrantPolicy    *GrantPolicyInput
	RequiredScopes map[string][]string
	// RequestedGrant asks for a labelled grant: the one a call that chose its grant by
	// Provider and Label resolves once the person consented.
	RequestedGrant *RequestedGrant
	// UserToken binds the session to the user; without it, the WithUserTokenGetter value.
	// Needed when the error names an agent (the session delegates to it).
	UserToken string
}

// recovery is what an error tells about how the person can fix it.
type recovery struct {
	reason   ErrorCode
	provider string
	agent    string
	repair   uuid.UUID // a revoked credential: its grant is reconnected in place
}

// recoveryOf reads the recovery context of err; false when err is not a missing grant or
// delegation, a revoked credential, an expired grant or a scope shortfall.
func recoveryOf(err error) (recovery, bool) {
	var (
		nd *NoDelegatedGrantError
		nf *GrantNotFoundError
		cr *CredentialRevokedError
		ge *GrantExpiredError
		sr *ScopeReauthRequiredError
	)
	switch {
	case errors.As(err, &nd):
		return recovery{reason: nd.Code, provider: nd.ProviderID, agent: nd.AgentID}, true
	case errors.As(err, &cr):
		id, _ := uuid.Parse(cr.GrantID)
		return recovery{reason: cr.Code, provider: cr.ProviderID, repair: id}, true
	case errors.As(err, &nf):
		return recovery{reason: nf.Code, provider: nf.ProviderID, agent: nf.AgentID}, true
	case errors.As(err, &ge):
		return recovery{reason: ge.Code, provider: ge.ProviderID, agent: ge.AgentID}, true
	case errors.As(err, &sr):
		return recovery{reason: ErrorCode("scope_reauth_required"), provider: sr.ProviderID}, true
	}
	return recovery{}, false
}

// ConnectSessionForError starts the Connect session that fixes err, a failed call's error: a
// missing grant (ErrGrantNotFound) or delegation (ErrNoDelegatedGrant) gets a session for the
// error's provider, delegated to the error's agent when it names one; a revoked credential
// (ErrCredentialRevoked) gets a session that repairs the grant in place (or, when that grant
// can no longer be repaired, an ordinary one). Poll it with PollConnectSession, or use
// UserActionFor for a value that waits. An error without a provider to recover (a stale
// GrantID) is an InputError: create the session yourself.
func (c *client) ConnectSessionForError(ctx context.Context, err error, p ConnectForErrorParams) (ConnectSession, error) {
	rec, ok := recoveryOf(err)
	var nd *NoDelegatedGrantError
	switch {
	case !ok:
		return ConnectSession{}, inputErr("err", "not a missing grant, missing delegation or revoked credential", nil)
	case rec.provider == "":
		return ConnectSession{}, inputErr("err", "the error names no provider to recover (a stale GrantID?); call CreateConnectSession with the providers to re-authorize", nil)
	case errors.As(err, &nd) && rec.agent == "":
		return ConnectSession{}, inputErr("err", "the missing delegation names no agent; call CreateConnectSession with Agent", nil)
	}
	return c.recoverySession(ctx, rec, p)
}

func (c *client) recoverySession(ctx context.Context, rec recovery, p ConnectForErrorParams) (ConnectSession, error) {
	sp := ConnectSessionParams{AllowedProviders: []string{rec.provider}, ReturnURL: p.ReturnURL, AllowedOrigin: p.AllowedOrigin,
		Metadata: p.Metadata, GrantPolicy: p.GrantPolicy, RequiredScopes: p.RequiredScopes, Agent: rec.agent,
		RepairGrantID: rec.repair, RequestedGrant: p.RequestedGrant, UserToken: p.UserToken}
	if rec.repair != uuid.Nil {
		// A repair names no agent and asks for no new grant: the grant keeps its label and delegations.
		sp.Agent, sp.RequestedGrant = "", nil
	}
	sess, err := c.CreateConnectSession(ctx, sp)
	if rec.repair != uuid.Nil && errors.Is(err, ErrGrantNotFound) {
		// An exact repair is an improvement on a re-consent, never a condition of one.
		sp.RepairGrantID = uuid.Nil
		return c.CreateConnectSession(ctx, sp)
	}
	return sess, err
}
