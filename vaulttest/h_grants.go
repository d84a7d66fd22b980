package vaulttest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
)

func grantStatus(g *grant, now time.Time) string {
	switch {
	case g.state == GrantExpired || (g.policyExpires != nil && !now.Before(*g.policyExpires)):
		return "expired"
	case g.state == GrantRevoked:
		return "revoked"
	case g.state == GrantCredentialRevoked:
		return "credential_revoked"
	}
	return "active"
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func rfcp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return rfc(*t)
}

func (g *grant) policyJSON() any {
	if g.policyExpires == nil {
		return nil
	}
	return map[string]any{"expires_at": rfc(*g.policyExpires), "created_by": "developer", "created_at": rfc(g.createdAt)}
}

// grantItemLocked is a grant as the list shows it to viewer (nil: the app).
func (s *Server) grantItemLocked(g *grant, viewer *agent) map[string]any {
	now := s.now()
	access, delegatedAt := "ownership", any(nil)
	if viewer != nil && g.agentOwner != viewer.id {
		if d := g.delegated[viewer.id]; d != nil {
			delegatedAt = rfc(d.at)
		}
		access = "oauth_delegation"
		if g.kind == "managed_secret" {
			access = "ms_delegation"
		}
	}
	delegable := false
	if viewer != nil {
		if d := g.delegated[viewer.id]; d != nil {
			delegable = d.delegable
		}
	}
	item := map[string]any{"grant_kind": g.kind, "grant_id": g.id.String(), "status": grantStatus(g, now),
		"account_identifier": nilIfEmpty(g.account), "created_at": rfc(g.createdAt), "last_used_at": rfcp(g.lastUsedAt),
		"principal_type": g.principalType, "access_via": access, "delegated_at": delegatedAt, "label": nilIfEmpty(g.label),
		"grant_policy": g.policyJSON(), "expires_at": nil, "grant_expires_at": rfcp(g.policyExpires),
		"parent_grant_id": nil, "depth": 0, "delegable": delegable, "scope_constraint": nil, "credential_id": nil}
	if g.parent != uuid.Nil {
		item["parent_grant_id"], item["depth"] = g.parent.String(), 1
	}
	if g.kind == "oauth" {
		ids := []string{}
		for id := range g.delegated {
			ids = append(ids, id.String())
		}
		slices.Sort(ids)
		item["provider_id"], item["scopes"] = g.provider, append([]string{}, g.scopes...)
		item["account_display_name"], item["api_base_url"] = nilIfEmpty(g.account), nil
		item["scope_mismatch"], item["needs_reconnect"], item["delegated_agent_ids"] = g.scopeMismatch, false, ids
		if g.principalType == "group" {
			item["principal_type"] = "system"
		}
		return item
	}
	ms := s.secrets[g.msID]
	item["managed_secret_id"], item["managed_secret_slug"], item["managed_secret_name"] = g.msID.String(), g.provider, g.provider
	if ms != nil {
		item["managed_secret_name"] = ms.name
	}
	item["agent_id"] = nil
	if g.agentOwner != uuid.Nil {
		item["agent_id"] = g.agentOwner.String()
	}
	item["credential_kind"], item["credential_label"] = g.credentialKind, nil
	return item
}

type listGrantsRequest struct {
	Limit      int     `json:"limit"`
	Offset     int     `json:"offset"`
	ProviderID *string `json:"provider_id"`
	Status     *string `json:"status"`
	Account    *string `json:"account"`
	Label      *string `json:"label"`
	UserToken  *string `json:"user_token"`
}

// listGrants: the app sees every grant of the app, an agent the grants it owns or was
// delegated; a user token narrows either to that user's grants.
func (s *Server) listGrants(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	req := listGrantsRequest{Limit: 100}
	if !decode(w, r, &req) {
		return
	}
	if req.Limit < 1 || req.Limit > 1000 || req.Offset < 0 {
		writeInvalid(w, r, []any{"body", "limit"}, "limit must be 1..1000 and offset ≥ 0", req.Limit)
		return
	}
	sub, ok := s.endUserOf(w, r, req.UserToken)
	if !ok {
		return
	}
	s.mu.Lock()
	now := s.now()
	all := []map[string]any{}
	for _, id := range s.grantOrder {
		g := s.grants[id]
		switch {
		case g.state == GrantDeleted, !reaches(c.p, g),
			sub != "" && g.userSub != sub,
			req.ProviderID != nil && g.provider != *req.ProviderID,
			req.Status != nil && grantStatus(g, now) != *req.Status,
			req.Account != nil && g.account != *req.Account,
			req.Label != nil && g.label != *req.Label:
			continue
		}
		all = append(all, s.grantItemLocked(g, c.p.agent))
	}
	s.mu.Unlock()
	page, more := pageOf(all, req.Limit, req.Offset)
	writeJSON(w, http.StatusOK, map[string]any{"grants": page, "total": len(all), "limit": req.Limit, "offset": req.Offset, "has_more": more})
}

// pageQuery reads the limit (default 100) and offset (default 0) query parameters.
func pageQuery(q url.Values) (limit, offset int) {
	limit, offset = 100, 0
	if v := q.Get("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	if v := q.Get("offset"); v != "" {
		offset, _ = strconv.Atoi(v)
	}
	return limit, offset
}

// pageOf returns the rows of all in the page (never nil) and whether more follow.
func pageOf[T any](all []T, limit, offset int) ([]T, bool) {
	if offset >= len(all) {
		return []T{}, false
	}
	end := min(len(all), offset+limit)
	return all[offset:end], end < len(all)
}

func (s *Server) revokeGrant(w http.ResponseWriter, r *http.Request, grantID string) {
	c := callFrom(r.Context())
	var req struct {
		Reason    *string `json:"reason"`
		UserToken *string `json:"user_token"`
	}
	if !decode(w, r, &req) {
		return
	}
	sub, ok := s.endUserOf(w, r, req.UserToken)
	if !ok {
		return
	}
	id, _ := uuid.Parse(grantID)
	s.mu.Lock()
	g := s.grants[id]
	// An agent may only revoke grants it is the principal of; a user only their own.
	if g == nil || g.state == GrantDeleted || g.state == GrantRevoked ||
		(c.p.agent != nil && g.agentOwner != c.p.agent.id) || (sub != "" && g.userSub != sub) {
		s.mu.Unlock()
		writeError(w, r, errGrantNotFound(grantID))
		return
	}
	g.state, g.credential = GrantRevoked, ""
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "grant revoked", "grant_id": id.String(), "revoked_at": rfc(s.now())})
}

// revokeDelegation (operator path) drops an agent's delegation; idempotent.
func (s *Server) revokeDelegation(w http.ResponseWriter, r *http.Request, grantID, agentID uuid.UUID) {
	c := callFrom(r.Context())
	if c.p.agent != nil {
		writeError(w, r, errf(http.StatusForbidden, "use_self_revoke_path", "agents drop their own delegation with DELETE …/delegations/me"))
		return
	}
	s.dropDelegation(w, r, grantID, agentID)
}

func (s *Server) revokeOwnDelegation(w http.ResponseWriter, r *http.Request, grantID uuid.UUID) {
	c := callFrom(r.Context())
	if c.p.agent == nil {
		writeError(w, r, errf(http.StatusForbidden, "agent_key_required", "only an agent can drop its own delegation"))
		return
	}
	s.dropDelegation(w, r, grantID, c.p.agent.id)
}

func (s *Server) dropDelegation(w http.ResponseWriter, r *http.Request, grantID, agentID uuid.UUID) {
	s.mu.Lock()
	g := s.grants[grantID]
	if g == nil || g.state == GrantDeleted {
		s.mu.Unlock()
		writeError(w, r, errGrantNotFound(grantID.String()))
		return
	}
	delete(g.delegated, agentID)
	// Onward delegations made from it go too.
	for _, id := range s.grantOrder {
		if child := s.grants[id]; child.parent == grantID && child.agentOwner == agentID {
			child.state = GrantRevoked
		}
	}
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

// delegateGrant is an agent's onward delegation of a grant it holds with delegable: true.
func (s *Server) delegateGrant(w http.ResponseWriter, r *http.Request, grantID string) {
	c := callFrom(r.Context())
	var req struct {
		ToAgentID string `json:"to_agent_id"`
		Delegable *bool  `json:"delegable"`
	}
	if !decode(w, r, &req) {
		return
	}
	if c.p.agent == nil {
		writeError(w, r, errf(http.StatusForbidden, "agent_key_required", "onward delegation is made by the agent holding the grant"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.liveGrantLocked(w, r, c.p, grantID)
	if g == nil {
		return
	}
	d := g.delegated[c.p.agent.id]
	if g.agentOwner != c.p.agent.id && (d == nil || !d.delegable) {
		writeError(w, r, errf(http.StatusForbidden, "grant_not_delegable", "the grant was not delegated with delegable: true").with("detail_reason", "holder_not_delegable"))
		return
	}
	to := s.agentByRefLocked(req.ToAgentID)
	if to == nil {
		writeError(w, r, errAgentNotFound(req.ToAgentID))
		return
	}
	if _, ok := g.delegated[to.id]; ok {
		writeError(w, r, errf(http.StatusConflict, "", "the grant is already delegated to that agent"))
		return
	}
	delegable := req.Delegable != nil && *req.Delegable
	g.delegated[to.id] = &delegation{at: s.now(), delegable: delegable}
	writeJSON(w, http.StatusOK, map[string]any{"grant_id": g.id.String(), "grant_kind": g.kind, "parent_grant_id": g.id.String(),
		"depth": 2, "delegable": delegable, "status": "active", "expires_at": rfcp(g.policyExpires)})
}

// mintGrant makes a sibling grant on the same credential with another label (apps only).
func (s *Server) mintGrant(w http.ResponseWriter, r *http.Request, sourceID string) {
	c := callFrom(r.Context())
	var req struct {
		Label     string   `json:"label"`
		GrantTags []string `json:"grant_tags"`
	}
	if !decode(w, r, &req) {
		return
	}
	if c.p.agent != nil {
		writeError(w, r, errf(http.StatusForbidden, "agents_cannot_mint", "only an app can mint grants"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.liveGrantLocked(w, r, c.p, sourceID) // the app reaches every grant
	if src == nil {
		return
	}
	for _, oid := range s.grantOrder {
		o := s.grants[oid]
		if o.state != GrantDeleted && o.provider == src.provider && o.userSub == src.userSub && o.account == src.account && o.label == req.Label {
			writeError(w, r, errf(http.StatusConflict, "sibling_label_conflict", "label %q is taken", req.Label).with("label", req.Label))
			return
		}
	}
	g := *src
	g.id, g.label, g.tags, g.createdAt, g.lastUsedAt = uuid.New(), req.Label, req.GrantTags, s.now(), nil
	g.delegated, g.tokenGen, g.parent = map[uuid.UUID]*delegation{}, uuid.New(), uuid.Nil
	s.putGrant(&g)
	writeJSON(w, http.StatusOK, map[string]any{"grant_id": g.id.String(), "provider_id": g.provider, "scopes": append([]string{}, g.scopes...),
		"account_identifier": nilIfEmpty(g.account), "account_display_name": nilIfEmpty(g.account), "api_base_url": nil,
		"status": grantStatus(&g, s.now()), "scope_mismatch": false, "expires_at": nil, "created_at": rfc(g.createdAt),
		"last_used_at": nil, "principal_type": g.principalType, "label": g.label, "credential_id": nil, "grant_policy": g.policyJSON()})
}

type msGrantRequest struct {
	Principal struct {
		Type            string  `json:"type"`
		UserToken       string  `json:"user_token"`
		ExternalGroupID string  `json:"external_group_id"`
		IdpID           string  `json:"idp_id"`
		Label           *string `json:"label"`
	} `json:"principal"`
	GrantPolicy struct {
		ExpiresAt *time.Time `json:"expires_at"`
	} `json:"grant_policy"`
	CredentialID *string `json:"credential_id"`
}

func (s *Server) createManagedSecretGrant(w http.ResponseWriter, r *http.Request, msRef string) {
	c := callFrom(r.Context())
	var req msGrantRequest
	if !decode(w, r, &req) {
		return
	}
	if c.p.agent != nil {
		writeError(w, r, errf(http.StatusForbidden, "", "only an app grants managed secrets"))
		return
	}
	var pt, sub string
	switch req.Principal.Type {
	case "user":
		if sub = s.verifyToken(req.Principal.UserToken); sub == "" {
			writeError(w, r, errf(http.StatusUnauthorized, "jwt_validation_error", "the principal's user token is invalid or expired"))
			return
		}
		pt = "user"
	case "group", "system":
		pt = req.Principal.Type
	default:
		writeInvalid(w, r, []any{"body", "principal", "type"}, "principal type must be user, group or system", req.Principal.Type)
		return
	}
	label := str(req.Principal.Label)
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.secretLocked(msRef)
	if ms == nil {
		writeError(w, r, errGrantNotFound(msRef).with("provider_id", msRef))
		return
	}
	if req.CredentialID != nil {
		writeError(w, r, errGrantNotFound(msRef))
		return
	}
	if req.GrantPolicy.ExpiresAt != nil && !req.GrantPolicy.ExpiresAt.After(s.now()) {
		writeError(w, r, errf(http.StatusUnprocessableEntity, "invalid_grant_policy", "grant_policy.expires_at is in the past"))
		return
	}
	if label != "" {
		for _, id := range s.grantOrder {
			g := s.grants[id]
			if g.kind == "managed_secret" && g.msID == ms.id && g.principalType == pt && g.userSub == sub && g.label == label &&
				g.state != GrantDeleted && g.state != GrantRevoked {
				writeError(w, r, errf(http.StatusConflict, "sibling_label_conflict", "label %q is already used for this principal", label).with("label", label))
				return
			}
		}
	}
	g := s.newMSGrantLocked(ms, pt, sub, uuid.Nil, label)
	g.policyExpires = req.GrantPolicy.ExpiresAt
	if sub != "" {
		s.userLocked(sub)
	}
	writeJSON(w, http.StatusOK, map[string]any{"grant_id": g.id.String(), "principal_type": pt, "label": nilIfEmpty(label),
		"created_at": rfc(g.createdAt), "credential_id": nil})
}
