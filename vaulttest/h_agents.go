package vaulttest

import (
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/emu"
)

var agentNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func (s *Server) agentInfoLocked(a *agent) emu.AgentInfo {
	info := emu.AgentInfo{ID: a.id, Name: a.name, Type: emu.AgentType(a.typ), Status: emu.AgentStatus(a.status),
		Scopes: emu.ProviderScopes{}, Metadata: emu.StringMap{}, CreatedAt: a.createdAt.UTC(), UpdatedAt: a.updatedAt.UTC(), RevokedAt: a.revokedAt}
	for p, sc := range a.scopes {
		info.Scopes[p] = nonNil(sc)
	}
	for k, v := range a.metadata {
		info.Metadata[k] = v
	}
	if a.displayName != "" {
		info.DisplayName = ptr(a.displayName)
	}
	if a.hasPolicy {
		pol := &emu.AgentPolicy{RequireApproval: ptr(a.requireApproval)}
		if a.approvalTTL > 0 {
			pol.ApprovalTTLSeconds = ptr(a.approvalTTL)
		}
		if a.attributes != nil {
			m := emu.StringMap(a.attributes)
			pol.Attributes = &m
		}
		info.Policy = pol
	}
	return info
}

func keyStatus(k *apiKey) emu.KeyStatus {
	switch k.state() {
	case keyRevoked:
		return "revoked"
	case keyDeprecated:
		return "deprecated"
	}
	return "active"
}

func agentKeyOf(k *apiKey) emu.AgentKey {
	out := emu.AgentKey{KeyID: k.id, KeyPrefix: k.prefix(), Status: keyStatus(k), CreatedAt: k.createdAt.UTC(),
		DeprecatedAt: k.deprecatedAt, RevokedAt: k.revokedAt, LastUsedAt: k.lastUsedAt}
	if k.name != "" {
		out.Name = ptr(k.name)
	}
	return out
}

func (a *agent) applyPolicy(p *emu.AgentPolicy) {
	if p == nil {
		return
	}
	a.hasPolicy = true
	a.requireApproval = p.RequireApproval != nil && *p.RequireApproval
	a.approvalTTL = 0
	if p.ApprovalTTLSeconds != nil {
		a.approvalTTL = *p.ApprovalTTLSeconds
	}
	a.attributes = derefMap(p.Attributes)
}

func (a *api) CreateAgent(w http.ResponseWriter, r *http.Request, _ emu.CreateAgentParams) {
	s := a.s
	c := callFrom(r.Context())
	var req emu.AgentCreateRequest
	if e := decode(r, &req, true); e != nil {
		writeError(w, r, e)
		return
	}
	if !agentNameRE.MatchString(req.Name) {
		writeError(w, r, errf(http.StatusBadRequest, "invalid_request", "name must match ^[a-z0-9][a-z0-9_-]{0,62}$").with(detailsField("name")))
		return
	}
	now := s.now()
	ag := &agent{id: uuid.New(), name: req.Name, displayName: deref(req.DisplayName), typ: "agent", status: "active",
		scopes: map[string][]string{}, metadata: derefMap(req.Metadata), createdAt: now, updatedAt: now}
	if req.Type != nil {
		ag.typ = string(*req.Type)
	}
	if req.Scopes != nil {
		ag.scopes = *req.Scopes
	}
	ag.applyPolicy(req.Policy)
	s.mu.Lock()
	for _, id := range s.agentOrder {
		if o := s.agents[id]; o.name == req.Name && o.status != "revoked" {
			s.mu.Unlock()
			writeError(w, r, errf(http.StatusConflict, "agent_name_exists", "an agent named %q exists", req.Name).with(detailsAgent(o.id)))
			return
		}
	}
	s.agents[ag.id] = ag
	s.agentOrder = append(s.agentOrder, ag.id)
	k := s.newAgentKeyLocked(ag, "")
	info := s.agentInfoLocked(ag)
	s.mu.Unlock()
	c.createdAgent = ag.id
	writeJSON(w, http.StatusCreated, emu.AgentCreateResult{APIKey: k.plaintext, Key: agentKeyOf(k), ID: info.ID, Name: info.Name,
		DisplayName: info.DisplayName, Type: info.Type, Status: info.Status, Scopes: info.Scopes, Metadata: info.Metadata,
		Policy: info.Policy, CreatedAt: info.CreatedAt, UpdatedAt: info.UpdatedAt})
}

func (a *api) ListAgents(w http.ResponseWriter, r *http.Request, p emu.ListAgentsParams) {
	s := a.s
	limit, offset, ok := pageParams(w, r, p.Limit, p.Offset)
	if !ok {
		return
	}
	s.mu.Lock()
	var all []emu.AgentInfo
	for _, id := range s.agentOrder {
		ag := s.agents[id]
		if ag.status == "revoked" && (p.IncludeRevoked == nil || !*p.IncludeRevoked) {
			continue
		}
		if p.Name != nil && ag.name != *p.Name {
			continue
		}
		all = append(all, s.agentInfoLocked(ag))
	}
	s.mu.Unlock()
	out := emu.AgentListResult{Total: len(all), Limit: limit, Offset: offset}
	out.Agents, out.HasMore = pageOf(all, limit, offset)
	writeJSON(w, http.StatusOK, out)
}

// pageParams reads the limit (default 100, at most 1000) and offset (default 0) of a list
// operation, or writes invalid_request.
func pageParams(w http.ResponseWriter, r *http.Request, pLimit, pOffset *int) (limit, offset int, ok bool) {
	limit, offset = 100, 0
	if pLimit != nil {
		limit = *pLimit
	}
	if pOffset != nil {
		offset = *pOffset
	}
	if limit < 1 || limit > 1000 || offset < 0 {
		writeError(w, r, errf(http.StatusBadRequest, "invalid_request", "limit must be 1..1000 and offset ≥ 0").with(detailsField("limit")))
		return 0, 0, false
	}
	return limit, offset, true
}

// pageOf returns the rows of all in the page (never nil, so it encodes as []) and whether more
// follow.
func pageOf[T any](all []T, limit, offset int) ([]T, bool) {
	if offset >= len(all) {
		return []T{}, false
	}
	end := min(len(all), offset+limit)
	return all[offset:end], end < len(all)
}

// agentLocked finds an agent or writes agent_not_found.
func (s *Server) agentLocked(w http.ResponseWriter, r *http.Request, id uuid.UUID) *agent {
	ag := s.agents[id]
	if ag == nil {
		writeError(w, r, errf(http.StatusNotFound, "agent_not_found", "no such agent").with(detailsAgent(id)))
	}
	return ag
}

func (a *api) GetAgent(w http.ResponseWriter, r *http.Request, id emu.AgentIDPath, _ emu.GetAgentParams) {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if ag := s.agentLocked(w, r, id); ag != nil {
		writeJSON(w, http.StatusOK, s.agentInfoLocked(ag))
	}
}

func (a *api) UpdateAgent(w http.ResponseWriter, r *http.Request, id emu.AgentIDPath, _ emu.UpdateAgentParams) {
	s := a.s
	var req emu.AgentUpdateRequest
	if e := decode(r, &req, true); e != nil {
		writeError(w, r, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ag := s.agentLocked(w, r, id)
	if ag == nil {
		return
	}
	if ag.status == "revoked" {
		writeError(w, r, errf(http.StatusConflict, "agent_revoked", "the agent is revoked").with(detailsAgent(id)))
		return
	}
	if req.Scopes != nil {
		for p, old := range ag.scopes {
			nw, ok := (*req.Scopes)[p]
			missing := []string{}
			for _, sc := range old {
				if !slices.Contains(nw, sc) {
					missing = append(missing, sc)
				}
			}
			if !ok || len(missing) > 0 {
				if !ok {
					missing = append(missing, old...)
				}
				writeError(w, r, errf(http.StatusUnprocessableEntity, "agent_scope_narrowing_not_supported", "scopes can only grow; create a new agent to narrow them").
					with(emu.ErrorDetails{AgentID: &id, ProviderID: ptr(p), MissingScopes: missing}))
				return
			}
		}
		ag.scopes = *req.Scopes
	}
	if req.DisplayName != nil {
		ag.displayName = *req.DisplayName
	}
	if req.Metadata != nil {
		ag.metadata = *req.Metadata
	}
	ag.applyPolicy(req.Policy)
	if req.Status != nil {
		ag.status = string(*req.Status)
	}
	ag.updatedAt = s.now()
	writeJSON(w, http.StatusOK, s.agentInfoLocked(ag))
}

func (a *api) DeleteAgent(w http.ResponseWriter, r *http.Request, id emu.AgentIDPath, _ emu.DeleteAgentParams) {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ag := s.agentLocked(w, r, id)
	if ag == nil {
		return
	}
	if ag.status == "revoked" {
		writeError(w, r, errf(http.StatusConflict, "agent_revoked", "the agent is already revoked").with(detailsAgent(id)))
		return
	}
	now := s.now()
	ag.status, ag.revokedAt, ag.updatedAt = "revoked", &now, now
	for _, k := range s.keysByID {
		if k.agentID == id && k.revokedAt == nil {
			k.revokedAt = &now
		}
	}
	writeJSON(w, http.StatusOK, s.agentInfoLocked(ag))
}

func (a *api) MintAgentKey(w http.ResponseWriter, r *http.Request, id emu.AgentIDPath, _ emu.MintAgentKeyParams) {
	s := a.s
	var req emu.AgentKeyMintRequest
	if e := decode(r, &req, false); e != nil {
		writeError(w, r, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ag := s.agentLocked(w, r, id)
	if ag == nil {
		return
	}
	switch ag.status {
	case "revoked":
		writeError(w, r, errf(http.StatusConflict, "agent_revoked", "the agent is revoked").with(detailsAgent(id)))
		return
	case "inactive":
		writeError(w, r, errf(http.StatusConflict, "agent_inactive", "the agent is inactive").with(detailsAgent(id)))
		return
	}
	k := s.newAgentKeyLocked(ag, deref(req.Name))
	ak := agentKeyOf(k)
	writeJSON(w, http.StatusCreated, emu.AgentKeyMintResult{APIKey: k.plaintext, KeyID: ak.KeyID, KeyPrefix: ak.KeyPrefix,
		Name: ak.Name, Status: ak.Status, CreatedAt: ak.CreatedAt})
}

func (a *api) ListAgentKeys(w http.ResponseWriter, r *http.Request, id emu.AgentIDPath, _ emu.ListAgentKeysParams) {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.agentLocked(w, r, id) == nil {
		return
	}
	var ks []*apiKey
	for _, k := range s.keysByID {
		if k.agentID == id {
			ks = append(ks, k)
		}
	}
	slices.SortFunc(ks, func(a, b *apiKey) int { return b.createdAt.Compare(a.createdAt) })
	out := emu.AgentKeyList{Items: []emu.AgentKey{}}
	for _, k := range ks {
		out.Items = append(out.Items, agentKeyOf(k))
	}
	writeJSON(w, http.StatusOK, out)
}

// agentKeyLocked finds an agent's key or writes agent_not_found / key_not_found.
func (s *Server) agentKeyLocked(w http.ResponseWriter, r *http.Request, agentID, keyID uuid.UUID) *apiKey {
	if s.agentLocked(w, r, agentID) == nil {
		return nil
	}
	k := s.keysByID[keyID]
	if k == nil || k.agentID != agentID {
		writeError(w, r, errf(http.StatusNotFound, "key_not_found", "no such key for this agent").with(emu.ErrorDetails{KeyID: &keyID, AgentID: &agentID}))
		return nil
	}
	return k
}

func (a *api) DeprecateAgentKey(w http.ResponseWriter, r *http.Request, agentID emu.AgentIDPath, keyID emu.KeyIDPath, _ emu.DeprecateAgentKeyParams) {
	a.setDeprecated(w, r, agentID, keyID, true)
}

func (a *api) UndeprecateAgentKey(w http.ResponseWriter, r *http.Request, agentID emu.AgentIDPath, keyID emu.KeyIDPath, _ emu.UndeprecateAgentKeyParams) {
	a.setDeprecated(w, r, agentID, keyID, false)
}

func (a *api) setDeprecated(w http.ResponseWriter, r *http.Request, agentID, keyID uuid.UUID, dep bool) {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.agentKeyLocked(w, r, agentID, keyID)
	if k == nil {
		return
	}
	if k.revokedAt != nil {
		writeError(w, r, errf(http.StatusConflict, "key_revoked", "the key is revoked").with(emu.ErrorDetails{KeyID: &keyID}))
		return
	}
	if dep && k.deprecatedAt == nil {
		k.deprecatedAt = ptr(s.now())
	} else if !dep {
		k.deprecatedAt = nil
	}
	writeJSON(w, http.StatusOK, agentKeyOf(k))
}

func (a *api) RevokeAgentKey(w http.ResponseWriter, r *http.Request, agentID emu.AgentIDPath, keyID emu.KeyIDPath, _ emu.RevokeAgentKeyParams) {
	s := a.s
	var req emu.RevokeKeyRequest
	if e := decode(r, &req, false); e != nil {
		writeError(w, r, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.agentKeyLocked(w, r, agentID, keyID)
	if k == nil {
		return
	}
	if k.revokedAt != nil {
		writeError(w, r, errf(http.StatusConflict, "key_already_revoked", "the key is already revoked").with(emu.ErrorDetails{KeyID: &keyID}))
		return
	}
	live := 0
	for _, o := range s.keysByID {
		if o.agentID == agentID && o.revokedAt == nil {
			live++
		}
	}
	if live <= 1 && (req.Force == nil || !*req.Force) {
		writeError(w, r, errf(http.StatusConflict, "last_active_key", "this is the agent's last active key; pass force: true").with(emu.ErrorDetails{KeyID: &keyID, AgentID: &agentID}))
		return
	}
	k.revokedAt = ptr(s.now())
	writeJSON(w, http.StatusOK, agentKeyOf(k))
}

// App keys.

func apiKeyInfo(k *apiKey) emu.APIKeyInfo {
	typ := emu.KeyType("runtime")
	return emu.APIKeyInfo{KeyID: k.id, KeyPrefix: k.prefix(), Type: typ, Status: keyStatus(k), Scopes: nonNil(k.scopes),
		CreatedAt: k.createdAt.UTC(), ExpiresAt: k.expiresAt, DeprecatedAt: k.deprecatedAt, RevokedAt: k.revokedAt}
}

func minted(k *apiKey) emu.MintedKey {
	return emu.MintedKey{KeyID: k.id, KeyPrefix: k.prefix(), APIKey: k.plaintext, Type: "runtime", Scopes: nonNil(k.scopes),
		CreatedAt: k.createdAt.UTC(), ExpiresAt: k.expiresAt}
}

func (a *api) DeriveKey(w http.ResponseWriter, r *http.Request, _ emu.DeriveKeyParams) {
	s := a.s
	c := callFrom(r.Context())
	var req emu.DeriveKeyRequest
	if e := decode(r, &req, true); e != nil {
		writeError(w, r, e)
		return
	}
	if len(req.Scopes) == 0 || req.ExpiresIn < 60 || req.ExpiresIn > 2592000 {
		writeError(w, r, errf(http.StatusBadRequest, "invalid_request", "scopes must be non-empty and expires_in 60..2592000").with(detailsField("scopes")))
		return
	}
	known := allScopes()
	var missing []string
	for _, sc := range req.Scopes {
		if !slices.Contains(known, sc) {
			writeError(w, r, errf(http.StatusBadRequest, "invalid_request", "unknown scope %q", sc).with(detailsField("scopes")))
			return
		}
		if !slices.Contains(c.key.scopes, sc) {
			missing = append(missing, sc)
		}
	}
	if len(missing) > 0 {
		writeError(w, r, errf(http.StatusForbidden, "insufficient_scope", "a derived key cannot have scopes its parent lacks").with(emu.ErrorDetails{MissingScopes: missing}))
		return
	}
	now := s.now()
	exp := now.Add(time.Duration(req.ExpiresIn) * time.Second).UTC()
	k := &apiKey{id: uuid.New(), plaintext: "alter_key_app_" + randAlnum(32), kind: kindApp, scopes: append([]string{}, req.Scopes...),
		derived: true, name: deref(req.Name), createdAt: now, expiresAt: &exp}
	s.mu.Lock()
	s.putKey(k)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, minted(k))
}

// appKeyLocked finds an App key or writes key_not_found.
func (s *Server) appKeyLocked(w http.ResponseWriter, r *http.Request, id uuid.UUID) *apiKey {
	k := s.keysByID[id]
	if k == nil || k.kind != kindApp {
		writeError(w, r, errf(http.StatusNotFound, "key_not_found", "no such App key").with(emu.ErrorDetails{KeyID: &id}))
		return nil
	}
	return k
}

func (a *api) RotateKey(w http.ResponseWriter, r *http.Request, id emu.KeyIDPath, _ emu.RotateKeyParams) {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.appKeyLocked(w, r, id)
	if k == nil {
		return
	}
	if k.revokedAt != nil {
		writeError(w, r, errf(http.StatusConflict, "key_revoked", "the key is revoked").with(emu.ErrorDetails{KeyID: &id}))
		return
	}
	now := s.now()
	nk := &apiKey{id: uuid.New(), plaintext: "alter_key_app_" + randAlnum(32), kind: kindApp, scopes: append([]string{}, k.scopes...),
		name: k.name, createdAt: now, expiresAt: k.expiresAt}
	s.putKey(nk)
	if k.deprecatedAt == nil {
		k.deprecatedAt = &now
	}
	writeJSON(w, http.StatusCreated, minted(nk))
}

func (a *api) RevokeKey(w http.ResponseWriter, r *http.Request, id emu.KeyIDPath, _ emu.RevokeKeyParams) {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.appKeyLocked(w, r, id)
	if k == nil {
		return
	}
	if k.revokedAt != nil {
		writeError(w, r, errf(http.StatusConflict, "key_already_revoked", "the key is already revoked").with(emu.ErrorDetails{KeyID: &id}))
		return
	}
	k.revokedAt = ptr(s.now())
	writeJSON(w, http.StatusOK, apiKeyInfo(k))
}
