package vaulttest

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Delegation chains. A first-hop delegation (a connect session, Delegate) is an entry of the
// user's grant's delegated map: the agent reaches that grant itself, at depth 1. An onward
// delegation (delegateGrant) is a grant of its own, held by the receiving agent, made by the
// delegating one, one hop deeper than what it was made from, with the chain's credential.

// maxDelegationDepth is the depth ceiling: a grant at this depth cannot be delegated onward.
const maxDelegationDepth = 3

// maxGrants bounds the grants the API creates (mint, onward delegation, managed-secret grants):
// beyond it the vault answers 402 grant_limit_exceeded, as for a plan's grant limit.
const maxGrants = 10000

// hold is how an agent holds a grant.
type hold struct {
	depth     int
	delegable bool
	owned     bool // agent-owned: no consenting user, never delegable onward
}

// holdLocked reports how agent holds g (false: it does not).
func holdLocked(agent uuid.UUID, g *grant) (hold, bool) {
	switch {
	case g.holder == agent:
		return hold{depth: g.depth, delegable: g.delegable}, true
	case g.agentOwner == agent:
		return hold{owned: true}, true
	}
	if d := g.delegated[agent]; d != nil {
		return hold{depth: 1, delegable: d.delegable}, true
	}
	return hold{}, false
}

// rootLocked is the grant an onward delegation chain starts from (g itself for any other grant).
func (s *Server) rootLocked(g *grant) *grant {
	for g.holder != uuid.Nil {
		p := s.grants[g.parent]
		if p == nil {
			break
		}
		g = p
	}
	return g
}

// chainStateLocked is the state that decides whether g can be used: its own, or the first
// unusable one up its delegation chain.
func (s *Server) chainStateLocked(g *grant) GrantState {
	for a := g; ; {
		if a.state != GrantActive || a.holder == uuid.Nil {
			return a.state
		}
		p := s.grants[a.parent]
		if p == nil {
			return GrantRevoked
		}
		a = p
	}
}

// revokeOnwardLocked revokes the onward delegations agent made from grant id, and theirs.
func (s *Server) revokeOnwardLocked(id, agent uuid.UUID) {
	for _, cid := range s.grantOrder {
		if c := s.grants[cid]; c.parent == id && c.holder != uuid.Nil && (agent == uuid.Nil || c.grantor == agent) &&
			c.state != GrantRevoked {
			c.state = GrantRevoked
			s.revokeOnwardLocked(c.id, uuid.Nil)
		}
	}
}

func (s *Server) dropDelegation(w http.ResponseWriter, r *http.Request, grantID, agentID uuid.UUID) {
	s.mu.Lock()
	g := s.grants[grantID]
	if g == nil || g.state == GrantDeleted {
		s.mu.Unlock()
		writeError(w, r, errGrantNotFound(grantID.String()))
		return
	}
	if g.holder == agentID && g.state != GrantRevoked { // the agent's own onward-delegated grant
		g.state = GrantRevoked
		s.revokeOnwardLocked(g.id, uuid.Nil)
	}
	delete(g.delegated, agentID)
	s.revokeOnwardLocked(g.id, agentID) // what it delegated onward from it goes too
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// liveGrantLocked finds a grant that is not deleted and that p reaches, or writes grant_not_found.
func (s *Server) liveGrantLocked(w http.ResponseWriter, r *http.Request, p principal, ref string) *grant {
	id, _ := uuid.Parse(ref)
	g := s.grants[id]
	if g == nil || g.state == GrantDeleted || !reaches(p, g) {
		writeError(w, r, errGrantNotFound(ref))
		return nil
	}
	return g
}

func (s *Server) grantLimitLocked() *apiError {
	if len(s.grants) >= maxGrants {
		return errf(http.StatusPaymentRequired, "grant_limit_exceeded", "the app holds %d grants, its limit", maxGrants)
	}
	return nil
}

type delegateRequest struct {
	ToAgentID       string   `json:"to_agent_id"`
	Delegable       *bool    `json:"delegable"`
	ScopeConstraint []string `json:"scope_constraint"`
	TTLSeconds      *int     `json:"ttl_seconds"`
}

// delegateGrant is an agent's onward delegation of a grant it holds: gated on the held grant's
// consenting user, its delegable flag, the provider's ceiling and the depth ceiling; the new
// grant can only narrow the scopes and shorten the lifetime of what it is made from.
func (s *Server) delegateGrant(w http.ResponseWriter, r *http.Request, grantID string) {
	c := callFrom(r.Context())
	if c.p.agent == nil {
		writeError(w, r, errf(http.StatusForbidden, "agent_key_required", "onward delegation is made by the agent holding the grant"))
		return
	}
	var req delegateRequest
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.liveGrantLocked(w, r, c.p, grantID)
	if g == nil {
		return
	}
	h, _ := holdLocked(c.p.agent.id, g)
	wantDelegable := req.Delegable != nil && *req.Delegable
	notDelegable := func(reason, msg string) {
		writeError(w, r, errf(http.StatusForbidden, "grant_not_delegable", "%s", msg).with("detail_reason", reason))
	}
	switch {
	case h.owned: // a system grant's consent is the app's, which delegated it
		notDelegable("no_consenting_user", "a grant made to an agent without a consenting user is never delegated onward")
		return
	case !h.delegable:
		notDelegable("holder_not_delegable", "the grant was not delegated to this agent as delegable")
		return
	case s.noOnward[g.provider]:
		notDelegable("ceiling_off", "the provider's operator policy allows no onward delegation")
		return
	case wantDelegable && h.depth+1 >= maxDelegationDepth:
		notDelegable("no_onward_hop", "the depth ceiling leaves the new grant no further hop")
		return
	}
	to := s.agentByRefLocked(req.ToAgentID)
	if to == nil || to.status != "active" {
		writeError(w, r, errAgentNotFound(req.ToAgentID))
		return
	}
	if _, ok := holdLocked(to.id, g); ok {
		writeError(w, r, errf(http.StatusConflict, "", "the grant is already delegated to that agent"))
		return
	}
	for _, id := range s.grantOrder {
		if o := s.grants[id]; o.parent == g.id && o.holder == to.id && o.state == GrantActive {
			writeError(w, r, errf(http.StatusConflict, "", "an active delegation of this grant to that agent exists"))
			return
		}
	}
	if req.ScopeConstraint != nil {
		if e := s.narrowsLocked(g, req.ScopeConstraint); e != nil {
			writeError(w, r, e)
			return
		}
	}
	if e := s.grantLimitLocked(); e != nil {
		writeError(w, r, e)
		return
	}
	now := s.now()
	child := s.childLocked(g, to.id, c.p.agent.id, h.depth+1)
	child.delegable, child.scopeConstraint = wantDelegable, req.ScopeConstraint
	if req.ScopeConstraint == nil && g.holder != uuid.Nil {
		child.scopeConstraint = g.scopeConstraint // a chain never widens
	}
	if req.TTLSeconds != nil {
		if exp := now.Add(time.Duration(*req.TTLSeconds) * time.Second); child.policyExpires == nil || exp.Before(*child.policyExpires) {
			child.policyExpires = &exp
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"grant_id": child.id.String(), "grant_kind": child.kind,
		"parent_grant_id": g.id.String(), "depth": child.depth, "delegable": child.delegable,
		"status": grantStatus(child, now), "expires_at": rfcp(child.policyExpires)})
}

// childLocked stores a delegation child of g held by holder, made by grantor (uuid.Nil: the
// consenting user, through Connect), depth hops from the user's grant, with g's credential.
func (s *Server) childLocked(g *grant, holder, grantor uuid.UUID, depth int) *grant {
	child := &grant{id: uuid.New(), kind: g.kind, provider: g.provider, msID: g.msID, account: g.account, userSub: g.userSub,
		principalType: g.principalType, label: g.label, scopes: append([]string{}, g.scopes...), credentialKind: g.credentialKind,
		inj: g.inj, delegated: map[uuid.UUID]*delegation{}, createdAt: s.now(), tokenGen: g.tokenGen, policy: g.policy,
		credentialID: g.credentialID, holder: holder, grantor: grantor, parent: g.id, depth: depth, policyExpires: g.policyExpires}
	s.putGrant(child)
	return child
}

// narrowsLocked checks a scope constraint against the effective scopes of g (its credential's,
// narrowed by its chain): 422 invalid_scope_constraint for a managed secret (no provider scopes)
// or an atom outside them.
func (s *Server) narrowsLocked(g *grant, atoms []string) *apiError {
	bad := func(msg string) *apiError {
		return errf(http.StatusUnprocessableEntity, "invalid_scope_constraint", "%s", msg)
	}
	if g.kind == "managed_secret" {
		return bad("managed-secret grants carry no provider scopes to narrow")
	}
	effective := g.scopes
	if g.scopeConstraint != nil {
		effective = g.scopeConstraint
	}
	for _, a := range atoms {
		if !slices.Contains(effective, a) {
			return bad("scope " + clip(a) + " is not within the delegated grant's scopes")
		}
	}
	return nil
}

// mintPolicyKeys are the keys of a mint's grant_policy the vault accepts.
var mintPolicyKeys = map[string]bool{"expires_at": true, "max_ttl_seconds": true, "restrictions": true, "requires_approval": true}

type mintRequest struct {
	Label       string                     `json:"label"`
	GrantPolicy map[string]json.RawMessage `json:"grant_policy"`
	GrantTags   []string                   `json:"grant_tags"`
}

// mintPolicy is a mint's grant_policy once checked.
type mintPolicy struct {
	ExpiresAt        *time.Time     `json:"expires_at"`
	MaxTTLSeconds    *int           `json:"max_ttl_seconds"`
	Restrictions     map[string]any `json:"restrictions"`
	RequiresApproval *bool          `json:"requires_approval"`
}

// parseMintPolicy checks a mint's grant_policy as the vault's strict model does: 422
// invalid_grant_policy for an unknown key (default_ttl_seconds included), a bad value or an
// expiry in the past.
func (s *Server) parseMintPolicy(raw map[string]json.RawMessage) (mintPolicy, *apiError) {
	var p mintPolicy
	for k := range raw {
		if !mintPolicyKeys[k] {
			return p, errf(http.StatusUnprocessableEntity, "invalid_grant_policy", "grant_policy.%s is not part of a minted grant's policy", clip(k))
		}
	}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &p); err != nil {
		return p, errf(http.StatusUnprocessableEntity, "invalid_grant_policy", "grant_policy: %s", clip(err.Error()))
	}
	if p.ExpiresAt != nil && !p.ExpiresAt.After(s.now()) {
		return p, errf(http.StatusUnprocessableEntity, "invalid_grant_policy", "grant_policy.expires_at is in the past")
	}
	return p, nil
}

// mintGrant makes a sibling grant on the source's credential (apps only): the source's
// principal, policy and credential, its own label, tags and a policy that only tightens;
// delegations are never copied.
func (s *Server) mintGrant(w http.ResponseWriter, r *http.Request, sourceID string) {
	if callFrom(r.Context()).p.agent != nil {
		writeError(w, r, errf(http.StatusForbidden, "agents_cannot_mint", "only an app can mint grants"))
		return
	}
	var req mintRequest
	if !decode(w, r, &req) {
		return
	}
	pol, e := s.parseMintPolicy(req.GrantPolicy)
	if e != nil {
		writeError(w, r, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	id, _ := uuid.Parse(sourceID)
	src := s.grants[id]
	if src == nil || src.holder != uuid.Nil || grantStatus(src, now) != "active" {
		writeError(w, r, errGrantNotFound(sourceID))
		return
	}
	if src.restrictions != nil || src.policy.DenyReason != "" {
		writeError(w, r, errf(http.StatusForbidden, "mint_source_has_grant_rules", "the source grant carries grant-level rules a sibling would not inherit"))
		return
	}
	for _, oid := range s.grantOrder {
		o := s.grants[oid]
		if o.credentialID == src.credentialID && o.holder == uuid.Nil && o.label == req.Label && grantStatus(o, now) == "active" {
			writeError(w, r, errf(http.StatusConflict, "sibling_label_conflict", "label %q is taken on this credential", req.Label).with("label", req.Label))
			return
		}
	}
	if e := s.grantLimitLocked(); e != nil {
		writeError(w, r, e)
		return
	}
	g := *src
	g.id, g.label, g.tags, g.createdAt, g.lastUsedAt = uuid.New(), req.Label, req.GrantTags, now, nil
	g.delegated, g.tokenGen, g.parent = map[uuid.UUID]*delegation{}, uuid.New(), uuid.Nil
	g.restrictions, g.scopeMismatch = pol.Restrictions, false
	if pol.ExpiresAt != nil && (g.policyExpires == nil || pol.ExpiresAt.Before(*g.policyExpires)) {
		g.policyExpires = pol.ExpiresAt
	}
	if pol.MaxTTLSeconds != nil {
		g.maxTTL = *pol.MaxTTLSeconds
	}
	if pol.RequiresApproval != nil && *pol.RequiresApproval {
		g.policy.RequireApproval = true
	}
	s.putGrant(&g)
	writeJSON(w, http.StatusOK, map[string]any{"grant_id": g.id.String(), "provider_id": g.provider, "scopes": append([]string{}, g.scopes...),
		"account_identifier": nilIfEmpty(g.account), "account_display_name": nilIfEmpty(g.account), "api_base_url": nil,
		"status": grantStatus(&g, now), "scope_mismatch": false, "expires_at": nil, "created_at": rfc(g.createdAt),
		"last_used_at": nil, "principal_type": g.principalType, "label": g.label, "credential_id": g.credentialID.String(),
		"grant_policy": g.policyJSON()})
}
