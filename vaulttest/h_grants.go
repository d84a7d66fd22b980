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

// policyJSON is the grant's stored policy (nil when it has none).
func (g *grant) policyJSON() any {
	p := map[string]any{}
	if g.policyExpires != nil {
		p["expires_at"] = rfc(*g.policyExpires)
	}
	if g.maxTTL > 0 {
		p["max_ttl_seconds"] = g.maxTTL
	}
	if g.restrictions != nil {
		p["restrictions"] = g.restrictions
	}
	if g.policy.RequireApproval {
		p["requires_approval"] = true
	}
	if len(p) == 0 {
		return nil
	}
	p["created_by"], p["created_at"] = "developer", rfc(g.createdAt)
	return p
}

// grantItemLocked is a grant as the list shows it to viewer (nil: the app).
func (s *Server) grantItemLocked(g *grant, viewer *agent) map[string]any {
	now := s.now()
	access, delegatedAt, depth, delegable := "ownership", any(nil), g.depth, g.delegable
	if viewer != nil {
		if h, ok := holdLocked(viewer.id, g); ok && !h.owned {
			access, depth, delegable = "oauth_delegation", h.depth, h.delegable
			if g.kind == "managed_secret" {
				access = "ms_delegation"
			}
			delegatedAt = rfc(g.createdAt)
			if d := g.delegated[viewer.id]; d != nil {
				delegatedAt = rfc(d.at)
			}
		}
	}
	parent := any(nil)
	if g.parent != uuid.Nil && g.holder != uuid.Nil {
		parent = g.parent.String()
	}
	var constraint any
	if g.scopeConstraint != nil {
		constraint = append([]string{}, g.scopeConstraint...)
	}
	item := map[string]any{"grant_kind": g.kind, "grant_id": g.id.String(), "status": s.chainStatusLocked(g, now),
		"account_identifier": nilIfEmpty(g.account), "created_at": rfc(g.createdAt), "last_used_at": rfcp(g.lastUsedAt),
		"principal_type": g.principalType, "access_via": access, "delegated_at": delegatedAt, "label": nilIfEmpty(g.label),
		"grant_policy": g.policyJSON(), "expires_at": nil, "grant_expires_at": rfcp(g.policyExpires),
		"parent_grant_id": parent, "depth": depth, "delegable": delegable, "scope_constraint": constraint,
		"credential_id": g.credentialID.String()}
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
	item["credential_label"] = nil
	if ms != nil {
		item["managed_secret_name"] = ms.name
		if cr := ms.credLocked(g.credentialID); cr != nil {
			item["credential_label"] = cr.label
		}
	}
	item["agent_id"] = nil
	if g.agentOwner != uuid.Nil {
		item["agent_id"] = g.agentOwner.String()
	}
	item["credential_kind"] = g.credentialKind
	return item
}

// chainStatusLocked is the status the list shows: the grant's own, or revoked/expired when a
// grant up its delegation chain is.
func (s *Server) chainStatusLocked(g *grant, now time.Time) string {
	if st := s.chainStateLocked(g); st != GrantActive && st != g.state {
		return grantStatus(&grant{state: st}, now)
	}
	return grantStatus(g, now)
}

// credLocked finds one of the secret's credentials by id.
func (ms *managedSecret) credLocked(id uuid.UUID) *msCredential {
	for _, c := range ms.creds {
		if c.id == id {
			return c
		}
	}
	return nil
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
	s.revokeOnwardLocked(g.id, uuid.Nil)
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

type msGrantRequest struct {
	Principal struct {
		Type            string  `json:"type"`
		UserToken       string  `json:"user_token"`
		ExternalGroupID string  `json:"external_group_id"`
		IdpID           string  `json:"idp_id"`
		Label           *string `json:"label"`
	} `json:"principal"`
	GrantPolicy struct {
		ExpiresAt     *time.Time `json:"expires_at"`
		MaxTTLSeconds *int       `json:"max_ttl_seconds"`
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
	cred, e := ms.chooseCredential(req.CredentialID)
	if e != nil {
		writeError(w, r, e)
		return
	}
	if e := s.grantLimitLocked(); e != nil {
		writeError(w, r, e)
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
	g.policyExpires, g.credentialID = req.GrantPolicy.ExpiresAt, cred.id
	if req.GrantPolicy.MaxTTLSeconds != nil {
		g.maxTTL = *req.GrantPolicy.MaxTTLSeconds
	}
	if sub != "" {
		s.userLocked(sub)
	}
	writeJSON(w, http.StatusOK, map[string]any{"grant_id": g.id.String(), "principal_type": pt, "label": nilIfEmpty(label),
		"created_at": rfc(g.createdAt), "credential_id": cred.id.String()})
}

// chooseCredential picks the developer credential a new grant serves: the named one, or the
// only one. Several without a choice is 409 credential_id_required listing them; an end user's
// is 409 end_user_credential_not_assignable; an unknown id (or none at all) 404.
func (ms *managedSecret) chooseCredential(id *string) (*msCredential, *apiError) {
	var dev []*msCredential
	for _, c := range ms.creds {
		if c.kind == "developer" {
			dev = append(dev, c)
		}
		if id != nil && c.id.String() == *id {
			if c.kind != "developer" {
				return nil, errf(http.StatusConflict, "end_user_credential_not_assignable", "an end user's credential serves only that user's own grant")
			}
			return c, nil
		}
	}
	switch {
	case id != nil:
		return nil, errGrantNotFound(*id).with("provider_id", ms.slug)
	case len(dev) == 0:
		return nil, errGrantNotFound(ms.id.String()).with("provider_id", ms.slug)
	case len(dev) > 1:
		list := make([]map[string]any, 0, len(dev))
		for _, c := range dev {
			list = append(list, map[string]any{"id": c.id.String(), "label": c.label})
		}
		return nil, errf(http.StatusConflict, "credential_id_required", "%s holds several developer credentials: pass credential_id", ms.slug).
			with("details", map[string]any{"credentials": list})
	}
	return dev[0], nil
}
