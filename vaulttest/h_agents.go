package vaulttest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
)

const maxAgentKeys = 10

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *Server) agentInfoLocked(a *agent) map[string]any {
	s.applyPendingLocked(a)
	return map[string]any{"id": a.id.String(), "name": a.name, "display_name": nilIfEmpty(a.displayName), "type": a.typ,
		"status": a.status, "scopes": copyMap(a.scopes), "scopes_pending": mapOrNil(a.scopesPending),
		"scopes_applies_at": rfcp(a.scopesAppliesAt), "policy": copyMap(a.policy), "metadata": copyMap(a.metadata),
		"rate_limit_per_minute": nil, "version": a.version, "created_at": rfc(a.createdAt), "last_used_at": rfcp(a.lastUsedAt),
		"parent_agent_id": nil, "stored_legacy_managed_secret_names": []string{}}
}

func mapOrNil(m map[string]any) any {
	if m == nil {
		return nil
	}
	return copyMap(m)
}

// applyPendingLocked applies a staged scope narrowing once its grace period has passed.
func (s *Server) applyPendingLocked(a *agent) {
	if a.scopesPending != nil && a.scopesAppliesAt != nil && !s.now().Before(*a.scopesAppliesAt) {
		a.scopes, a.scopesPending, a.scopesAppliesAt = a.scopesPending, nil, nil
	}
}

func agentKeyJSON(k *apiKey) map[string]any {
	return map[string]any{"key_id": k.id.String(), "key_prefix": k.prefix(), "name": k.name, "created_at": rfc(k.createdAt),
		"deprecated_at": rfcp(k.deprecatedAt), "revoked_at": rfcp(k.revokedAt), "last_used_at": rfcp(k.lastUsedAt)}
}

func (s *Server) getAgentMe(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	if c.p.agent == nil {
		writeError(w, r, errf(http.StatusForbidden, "me_requires_agent_key", "me needs an agent key (or an App key acting as an agent)").
			with("hint", "use an agent key"))
		return
	}
	s.mu.Lock()
	info := s.agentInfoLocked(c.p.agent)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, info)
}

type agentCreate struct {
	Name        string         `json:"name"`
	Type        *string        `json:"type"`
	Scopes      map[string]any `json:"scopes"`
	Metadata    map[string]any `json:"metadata"`
	DisplayName *string        `json:"display_name"`
	Policy      map[string]any `json:"policy"`
}

// idemEntry remembers the agent an Idempotency-Key created.
type idemEntry struct {
	bodyHash [32]byte
	agentID  uuid.UUID
	keyID    uuid.UUID
}

func (s *Server) createAgent(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	var req agentCreate
	if !decode(w, r, &req) {
		return
	}
	ik := r.Header.Get("Idempotency-Key")
	hash := sha256.Sum256(c.body)
	idemID := c.key.id.String() + "\x00" + ik
	s.mu.Lock()
	defer s.mu.Unlock()
	if ik != "" {
		if e := s.idem[idemID]; e != nil {
			ag := s.agents[e.agentID]
			switch {
			case e.bodyHash != hash:
				writeError(w, r, errf(http.StatusUnprocessableEntity, "idempotency_key_body_mismatch", "Idempotency-Key was used with another body"))
			case ag.status == "revoked":
				writeError(w, r, errf(http.StatusConflict, "idempotency_key_agent_revoked", "the agent created with this key is revoked"))
			case ag.status == "inactive":
				writeError(w, r, errf(http.StatusConflict, "idempotency_key_agent_inactive", "the agent created with this key is paused"))
			default:
				out := s.agentInfoLocked(ag)
				out["api_key"], out["key_id"] = nil, e.keyID.String()
				w.Header().Set("Idempotent-Replayed", "true")
				writeJSON(w, http.StatusOK, out)
			}
			return
		}
	}
	for _, id := range s.agentOrder {
		if o := s.agents[id]; o.name == req.Name && o.status != "revoked" {
			writeError(w, r, errf(http.StatusConflict, "agent_name_exists", "an agent named %q exists", req.Name).with("hint", "pick another name"))
			return
		}
	}
	now := s.now()
	ag := &agent{id: uuid.New(), name: req.Name, displayName: str(req.DisplayName), typ: "agent", status: "active",
		scopes: copyMap(req.Scopes), metadata: copyMap(req.Metadata), policy: copyMap(req.Policy), version: 1, createdAt: now}
	if req.Type != nil {
		ag.typ = *req.Type
	}
	ag.requireApproval, _ = ag.policy["requires_approval"].(bool)
	s.agents[ag.id] = ag
	s.agentOrder = append(s.agentOrder, ag.id)
	k := s.newAgentKeyLocked(ag)
	if ik != "" {
		s.idem[idemID] = &idemEntry{bodyHash: hash, agentID: ag.id, keyID: k.id}
		s.idemOrder = append(s.idemOrder, idemID)
		if len(s.idemOrder) > maxIdempotency {
			delete(s.idem, s.idemOrder[0])
			s.idemOrder = s.idemOrder[1:]
		}
	}
	out := s.agentInfoLocked(ag)
	out["api_key"], out["key_id"] = k.plaintext, k.id.String()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset := pageQuery(q)
	if limit < 1 || limit > 1000 || offset < 0 {
		writeInvalid(w, r, []any{"query", "limit"}, "limit must be 1..1000 and offset ≥ 0", q.Get("limit"))
		return
	}
	withRevoked := q.Get("include_revoked") == "true"
	name, byName := q.Get("name"), q.Has("name")
	s.mu.Lock()
	all := []map[string]any{}
	for _, id := range s.agentOrder {
		ag := s.agents[id]
		if (ag.status == "revoked" && !withRevoked) || (byName && ag.name != name) {
			continue
		}
		all = append(all, s.agentInfoLocked(ag))
	}
	s.mu.Unlock()
	page, more := pageOf(all, limit, offset)
	writeJSON(w, http.StatusOK, map[string]any{"items": page, "total": len(all), "limit": limit, "offset": offset, "has_more": more})
}

// agentLocked finds an agent or writes agent_not_found.
func (s *Server) agentLocked(w http.ResponseWriter, r *http.Request, ref string) *agent {
	id, err := uuid.Parse(ref)
	ag := s.agents[id]
	if err != nil || ag == nil {
		writeError(w, r, errAgentNotFound(ref).with("hint", "list agents to find its id"))
		return nil
	}
	return ag
}

// activeAgentLocked finds an agent that is not revoked or writes agent_not_found / agent_revoked.
func (s *Server) activeAgentLocked(w http.ResponseWriter, r *http.Request, ref string) *agent {
	ag := s.agentLocked(w, r, ref)
	if ag != nil && ag.status == "revoked" {
		writeError(w, r, errf(http.StatusUnauthorized, "agent_revoked", "the agent is revoked").with("hint", "create a new agent"))
		return nil
	}
	return ag
}

// liveKeys counts the agent's keys that are not revoked.
func (s *Server) liveKeys(ag *agent) int {
	live := 0
	for _, kid := range ag.keys {
		if s.keysByID[kid].revokedAt == nil {
			live++
		}
	}
	return live
}

// withAgent runs h under the lock on the agent ref names; find (agentLocked or
// activeAgentLocked) writes why there is none.
func (s *Server) withAgent(w http.ResponseWriter, r *http.Request, ref string,
	find func(http.ResponseWriter, *http.Request, string) *agent, h func(*agent)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ag := find(w, r, ref); ag != nil {
		h(ag)
	}
}

// withAgentKey runs h under the lock on an agent's key that is not revoked (unrevokedAgentKeyLocked).
func (s *Server) withAgentKey(w http.ResponseWriter, r *http.Request, agentRef, keyRef, revokedMsg string, h func(*apiKey)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := s.unrevokedAgentKeyLocked(w, r, agentRef, keyRef, revokedMsg); k != nil {
		h(k)
	}
}

func (s *Server) getAgent(w http.ResponseWriter, r *http.Request, ref string) {
	s.withAgent(w, r, ref, s.agentLocked, func(ag *agent) { writeJSON(w, http.StatusOK, s.agentInfoLocked(ag)) })
}

type agentUpdate struct {
	DisplayName *string        `json:"display_name"`
	Metadata    map[string]any `json:"metadata"`
	Scopes      map[string]any `json:"scopes"`
	Policy      map[string]any `json:"policy"`
	Status      *string        `json:"status"`
}

func (s *Server) updateAgent(w http.ResponseWriter, r *http.Request, ref string) {
	var req agentUpdate
	if !decode(w, r, &req) {
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	ag := s.activeAgentLocked(w, r, ref)
	if ag == nil {
		return
	}
	before := s.agentInfoLocked(ag)
	if req.Scopes != nil && q.Get("expected_version") == "" {
		writeInvalid(w, r, []any{"query", "expected_version"}, "expected_version is required with scopes", nil)
		return
	}
	if ev := q.Get("expected_version"); ev != "" {
		// Any change made against a stale snapshot is refused: replaying it could undo a newer
		// operator decision.
		if v, _ := strconv.Atoi(ev); v != ag.version {
			writeError(w, r, errf(http.StatusConflict, "agent_concurrent_update", "the agent is at version %d", ag.version).with("hint", "re-read the agent"))
			return
		}
	}
	if req.Scopes == nil && q.Get("grace_seconds") != "" {
		writeInvalid(w, r, []any{"query", "grace_seconds"}, "grace_seconds requires scopes", q.Get("grace_seconds"))
		return
	}
	if req.Scopes != nil {
		grace := 24 * time.Hour
		if g := q.Get("grace_seconds"); g != "" {
			n, _ := strconv.Atoi(g)
			grace = time.Duration(n) * time.Second
		}
		if narrows(ag.scopes, req.Scopes) && grace > 0 {
			at := s.now().Add(grace).UTC()
			ag.scopesPending, ag.scopesAppliesAt = copyMap(req.Scopes), &at
		} else {
			ag.scopes, ag.scopesPending, ag.scopesAppliesAt = copyMap(req.Scopes), nil, nil
		}
	}
	if req.DisplayName != nil {
		ag.displayName = *req.DisplayName
	}
	if req.Metadata != nil {
		ag.metadata = copyMap(req.Metadata)
	}
	if req.Policy != nil {
		ag.policy = copyMap(req.Policy)
		ag.requireApproval, _ = ag.policy["requires_approval"].(bool)
	}
	if req.Status != nil {
		ag.status = *req.Status
	}
	after := s.agentInfoLocked(ag)
	if !sameJSON(before, after) { // a no-op update keeps the version
		ag.version++
		after["version"] = ag.version
	}
	writeJSON(w, http.StatusOK, after)
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// narrows reports whether next drops a provider or a scope that old allowed.
func narrows(old, next map[string]any) bool {
	for p, v := range old {
		nv, ok := next[p]
		if !ok {
			return true
		}
		if !sameJSON(v, nv) && !supersetJSON(nv, v) {
			return true
		}
	}
	return false
}

func supersetJSON(next, old any) bool {
	nl, ok1 := next.([]any)
	ol, ok2 := old.([]any)
	if !ok1 || !ok2 {
		return false
	}
	have := map[any]bool{}
	for _, x := range nl {
		have[x] = true
	}
	for _, x := range ol {
		if !have[x] {
			return false
		}
	}
	return true
}

// deleteAgent revokes the agent and all its keys; idempotent.
func (s *Server) deleteAgent(w http.ResponseWriter, r *http.Request, ref string) {
	s.withAgent(w, r, ref, s.agentLocked, func(ag *agent) {
		if ag.status != "revoked" {
			now := s.now()
			ag.status = "revoked"
			ag.version++
			for _, kid := range ag.keys {
				if k := s.keysByID[kid]; k.revokedAt == nil {
					k.revokedAt = &now
				}
			}
		}
		writeJSON(w, http.StatusOK, s.agentInfoLocked(ag))
	})
}

func (s *Server) mintAgentKey(w http.ResponseWriter, r *http.Request, ref string) {
	s.withAgent(w, r, ref, s.activeAgentLocked, func(ag *agent) {
		if s.liveKeys(ag) >= maxAgentKeys {
			writeError(w, r, errf(http.StatusConflict, "agent_key_limit_reached", "an agent has at most %d live keys", maxAgentKeys).with("hint", "revoke a key first"))
			return
		}
		k := s.newAgentKeyLocked(ag)
		out := agentKeyJSON(k)
		out["api_key"] = k.plaintext
		writeJSON(w, http.StatusOK, out)
	})
}

func (s *Server) listAgentKeys(w http.ResponseWriter, r *http.Request, ref string) {
	s.withAgent(w, r, ref, s.agentLocked, func(ag *agent) {
		items := make([]map[string]any, 0, len(ag.keys))
		for _, kid := range ag.keys {
			items = append(items, agentKeyJSON(s.keysByID[kid]))
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": items})
	})
}

// agentKeyLocked finds an agent's key or writes agent_not_found / key_not_found.
func (s *Server) agentKeyLocked(w http.ResponseWriter, r *http.Request, agentRef, keyRef string) *apiKey {
	ag := s.agentLocked(w, r, agentRef)
	if ag == nil {
		return nil
	}
	id, err := uuid.Parse(keyRef)
	k := s.keysByID[id]
	if err != nil || k == nil || k.agentID != ag.id {
		writeError(w, r, errf(http.StatusNotFound, "key_not_found", "no such key for this agent").with("hint", "list the agent's keys"))
		return nil
	}
	return k
}

// unrevokedAgentKeyLocked is agentKeyLocked for a key that is not revoked, else key_revoked with
// msg.
func (s *Server) unrevokedAgentKeyLocked(w http.ResponseWriter, r *http.Request, agentRef, keyRef, msg string) *apiKey {
	k := s.agentKeyLocked(w, r, agentRef, keyRef)
	if k != nil && k.revokedAt != nil {
		writeError(w, r, errf(http.StatusConflict, "key_revoked", "%s", msg))
		return nil
	}
	return k
}

func (s *Server) setDeprecated(w http.ResponseWriter, r *http.Request, agentRef, keyRef string, dep bool) {
	s.withAgentKey(w, r, agentRef, keyRef, "the key is revoked", func(k *apiKey) {
		switch {
		case dep && k.deprecatedAt == nil:
			now := s.now()
			k.deprecatedAt = &now
		case !dep:
			k.deprecatedAt = nil
		}
		writeJSON(w, http.StatusOK, agentKeyJSON(k))
	})
}

func (s *Server) revokeAgentKey(w http.ResponseWriter, r *http.Request, agentRef, keyRef string) {
	force := r.URL.Query().Get("force") == "true"
	s.withAgentKey(w, r, agentRef, keyRef, "the key is already revoked", func(k *apiKey) {
		if s.liveKeys(s.agents[k.agentID]) <= 1 && !force {
			writeError(w, r, errf(http.StatusConflict, "last_active_key", "this is the agent's last live key").with("hint", "pass force=true"))
			return
		}
		now := s.now()
		k.revokedAt = &now
		writeJSON(w, http.StatusOK, agentKeyJSON(k))
	})
}
