package vaulttest

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/emu"
)

func grantStatus(st GrantState) emu.GrantStatus {
	switch st {
	case GrantExpired:
		return "expired"
	case GrantRevoked:
		return "revoked"
	case GrantCredentialRevoked:
		return "credential_revoked"
	}
	return "active"
}

func (s *Server) grantItemLocked(g *grant, viewer *agent) emu.GrantItem {
	var it emu.GrantItem
	if g.kind == "oauth" {
		pt := "system"
		switch {
		case g.agentOwner != uuid.Nil:
			pt = "agent"
		case g.userSub != "":
			pt = "user"
		}
		o := emu.OAuthGrantItem{GrantKind: "oauth", GrantID: g.id, ProviderID: g.provider, Scopes: nonNil(g.scopes),
			Status: grantStatus(g.state), CreatedAt: g.createdAt.UTC(), LastUsedAt: g.lastUsedAt,
			PrincipalType: emu.OAuthGrantItemPrincipalType(pt), DelegatedAgentIds: []uuid.UUID{}}
		if g.account != "" {
			o.AccountIdentifier, o.AccountDisplayName = ptr(g.account), ptr(g.account)
		}
		for id := range g.delegated {
			o.DelegatedAgentIds = append(o.DelegatedAgentIds, id)
		}
		slices.SortFunc(o.DelegatedAgentIds, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
		if viewer != nil {
			if t, ok := g.delegated[viewer.id]; ok {
				o.DelegatedAt = ptr(t.UTC())
			}
		}
		_ = it.FromOAuthGrantItem(o)
		return it
	}
	m := emu.ManagedSecretGrantItem{GrantKind: "managed_secret", GrantID: g.id, ManagedSecretID: g.provider,
		ManagedSecretSlug: ptr(g.provider), Status: grantStatus(g.state), CreatedAt: g.createdAt.UTC(), LastUsedAt: g.lastUsedAt,
		PrincipalType: emu.PrincipalType(g.principalType)}
	if ms := s.secrets[g.provider]; ms != nil {
		m.ManagedSecretName = ptr(ms.name)
	}
	if g.agentOwner != uuid.Nil {
		m.AgentID = ptr(g.agentOwner)
	}
	if g.label != "" {
		m.Label = ptr(g.label)
	}
	if g.policyExpires != nil {
		m.GrantPolicy = &emu.GrantPolicy{ExpiresAt: g.policyExpires}
	}
	_ = it.FromManagedSecretGrantItem(m)
	return it
}

func (a *api) ListGrants(w http.ResponseWriter, r *http.Request, p emu.ListGrantsParams) {
	s := a.s
	c := callFrom(r.Context())
	if c.agent != nil && p.ProviderID != nil {
		writeError(w, r, errf(http.StatusBadRequest, "invalid_request", "agents cannot filter grants by provider").with(detailsField("provider_id")))
		return
	}
	limit, offset, ok := pageParams(w, r, p.Limit, p.Offset)
	if !ok {
		return
	}
	s.mu.Lock()
	var all []emu.GrantItem
	for _, id := range s.grantOrder {
		g := s.grants[id]
		if g.state == GrantDeleted {
			continue
		}
		if p.ProviderID != nil && g.provider != *p.ProviderID {
			continue
		}
		if c.agent != nil {
			_, delegated := g.delegated[c.agent.id]
			if !delegated && g.agentOwner != c.agent.id {
				continue
			}
		}
		all = append(all, s.grantItemLocked(g, c.agent))
	}
	s.mu.Unlock()
	out := emu.UnifiedGrantListResult{Total: len(all), Limit: limit, Offset: offset}
	out.Grants, out.HasMore = pageOf(all, limit, offset)
	writeJSON(w, http.StatusOK, out)
}

func (a *api) RevokeGrant(w http.ResponseWriter, r *http.Request, grantID emu.GrantIDPath, _ emu.RevokeGrantParams) {
	s := a.s
	c := callFrom(r.Context())
	var req emu.RevokeGrantRequest
	if e := decode(r, &req, false); e != nil {
		writeError(w, r, e)
		return
	}
	c.reason = deref(req.Reason)
	s.mu.Lock()
	g := s.grants[grantID]
	var e *apiError
	switch {
	case g == nil:
		e = errf(http.StatusNotFound, "grant_not_found", "no such grant").with(detailsGrant(grantID))
	case g.state == GrantDeleted:
		e = errf(http.StatusGone, "grant_deleted", "the grant was deleted").with(detailsGrant(grantID))
	case g.state == GrantRevoked:
		e = errf(http.StatusConflict, "grant_revoked", "the grant is already revoked").with(detailsGrant(grantID))
	case g.policy.DenyReason != "":
		d := detailsGrant(grantID)
		d.PolicyError = ptr(g.policy.DenyReason)
		e = errf(http.StatusForbidden, "policy_violation", "a policy forbids changing this grant").with(d)
	default:
		g.state = GrantRevoked
		g.credential = ""
	}
	if g != nil {
		c.grant = g
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, r, e)
		return
	}
	writeJSON(w, http.StatusOK, emu.RevokeGrantResult{Success: true, Message: ptr("grant revoked"), GrantID: grantID, RevokedAt: s.now().UTC()})
}

func (a *api) RevokeDelegation(w http.ResponseWriter, r *http.Request, grantID emu.GrantIDPath, agentID emu.AgentIDPath, _ emu.RevokeDelegationParams) {
	s := a.s
	s.mu.Lock()
	g, ag := s.grants[grantID], s.agents[agentID]
	s.mu.Unlock()
	switch {
	case g == nil:
		writeError(w, r, errf(http.StatusNotFound, "grant_not_found", "no such grant").with(detailsGrant(grantID)))
	case ag == nil:
		writeError(w, r, errf(http.StatusNotFound, "agent_not_found", "no such agent").with(detailsAgent(agentID)))
	default:
		a.dropDelegation(w, r, grantID, agentID)
	}
}

func (a *api) CreateManagedSecretGrant(w http.ResponseWriter, r *http.Request, msID string, _ emu.CreateManagedSecretGrantParams) {
	s := a.s
	c := callFrom(r.Context())
	var req emu.CreateManagedSecretGrantRequest
	if e := decode(r, &req, true); e != nil {
		writeError(w, r, e)
		return
	}
	var head struct {
		Type string `json:"type"`
	}
	raw, _ := req.Principal.MarshalJSON()
	_ = json.Unmarshal(raw, &head)
	var pt, pid, label string
	var owner uuid.UUID
	bad := func(msg string) {
		writeError(w, r, errf(http.StatusBadRequest, "invalid_request", "%s", msg).with(detailsField("principal")))
	}
	switch head.Type {
	case "user":
		p, err := req.Principal.AsUserPrincipal()
		if err != nil {
			bad("malformed user principal")
			return
		}
		sub := s.verifyToken(p.UserToken)
		if sub == "" {
			writeError(w, r, errf(http.StatusUnauthorized, "invalid_user_token", "the principal's user token is invalid or expired"))
			return
		}
		pt, pid, label = "user", sub, deref(p.Label)
	case "group":
		p, err := req.Principal.AsGroupPrincipal()
		if err != nil || p.ExternalGroupID == "" || p.IdpID == "" {
			bad("malformed group principal")
			return
		}
		pt, pid, label = "group", p.IdpID+"/"+p.ExternalGroupID, deref(p.Label)
	case "system":
		p, _ := req.Principal.AsSystemPrincipal()
		pt, pid, label = "system", s.appID.String(), deref(p.Label)
	case "agent":
		p, _ := req.Principal.AsAgentPrincipal()
		if c.agent == nil {
			bad("an agent principal needs an agent caller (the id comes from the key)")
			return
		}
		pt, pid, label, owner = "agent", c.agent.id.String(), deref(p.Label), c.agent.id
	default:
		bad("principal.type must be user, group, system or agent")
		return
	}
	if c.agent != nil && pt != "agent" {
		bad("an agent may only grant to itself")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secrets[msID] == nil {
		writeError(w, r, errf(http.StatusNotFound, "managed_secret_not_found", "no such managed secret").with(emu.ErrorDetails{ProviderID: &msID}))
		return
	}
	if req.GrantPolicy != nil && req.GrantPolicy.ExpiresAt != nil && !req.GrantPolicy.ExpiresAt.After(s.now()) {
		writeError(w, r, errf(http.StatusForbidden, "policy_violation", "grant_policy.expires_at is in the past").with(emu.ErrorDetails{PolicyError: ptr("expires_at must be in the future")}))
		return
	}
	if label != "" {
		for _, id := range s.grantOrder {
			g := s.grants[id]
			if g.kind == "managed_secret" && g.provider == msID && g.principalType == pt && g.principalID == pid && g.label == label && g.state != GrantDeleted && g.state != GrantRevoked {
				writeError(w, r, errf(http.StatusConflict, "sibling_label_conflict", "label %q is already used for this principal", label).with(detailsGrant(g.id)))
				return
			}
		}
	}
	g := s.newMSGrantLocked(msID, pt, pid, owner, label)
	if req.GrantPolicy != nil {
		g.policyExpires = req.GrantPolicy.ExpiresAt
	}
	c.grant = g
	out := emu.CreateGrantResult{GrantID: g.id, PrincipalType: emu.PrincipalType(pt), CreatedAt: g.createdAt.UTC()}
	if label != "" {
		out.Label = ptr(label)
	}
	writeJSON(w, http.StatusCreated, out)
}
