package vaulttest

import (
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/apikey"
)

func keyType(k *apiKey) string {
	if k.typ == "" {
		if k.agentID != uuid.Nil {
			return "ak"
		}
		return "rk"
	}
	return k.typ
}

func apiKeyJSON(k *apiKey) map[string]any {
	name := k.name
	if name == "" {
		name = "key-" + k.id.String()[:8]
	}
	var parent any
	if k.parentID != uuid.Nil {
		parent = k.parentID.String()
	}
	var cidr any
	if k.cidr != nil {
		cidr = append([]string{}, k.cidr...)
	}
	return map[string]any{"id": k.id.String(), "name": name, "key_prefix": k.prefix(), "key_type": keyType(k),
		"scopes": append([]string{}, k.scopes...), "scope_version": k.scopeVersion, "cidr_allowlist": cidr,
		"rate_limit_rpm": nil, "effective_rate_limit_rpm": nil, "rate_limit_source": nil,
		"expires_at": rfcp(k.expiresAt), "deprecated_at": rfcp(k.deprecatedAt), "revoked_at": rfcp(k.revokedAt),
		"parent_key_id": parent, "created_at": rfc(k.createdAt), "last_used_at": rfcp(k.lastUsedAt)}
}

func mintedJSON(k *apiKey) map[string]any {
	out := apiKeyJSON(k)
	out["api_key"] = k.plaintext
	return out
}

type deriveRequest struct {
	Scopes        []string       `json:"scopes"`
	ExpiresIn     int            `json:"expires_in"`
	CIDRAllowlist []string       `json:"cidr_allowlist"`
	Name          *string        `json:"name"`
	Metadata      map[string]any `json:"metadata"`
}

const maxDerivedTTL = 24 * time.Hour

// deriveKey mints a dk key with a subset of the caller's scopes, living at most as long as the
// caller and at most 24 h.
func (s *Server) deriveKey(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	var req deriveRequest
	if !decode(w, r, &req) {
		return
	}
	if len(req.Scopes) == 0 || slices.Contains(req.Scopes, "keys:derive") {
		writeError(w, r, errf(http.StatusBadRequest, "invalid_scope_for_derived_key", "a derived key needs scopes, and never keys:derive"))
		return
	}
	var missing []string
	for _, sc := range req.Scopes {
		if !slices.Contains(c.p.scopes, sc) {
			missing = append(missing, sc)
		}
	}
	if len(missing) > 0 {
		writeError(w, r, errf(http.StatusForbidden, "insufficient_scope", "a derived key cannot hold scopes its parent lacks").with(
			"required", req.Scopes, "granted", c.p.scopes, "missing", missing, "scope_version", scopeVersion,
			"current_scope_version", scopeVersion, "scope_version_mismatch", false, "required_any_of", false))
		return
	}
	now := s.now()
	exp := now.Add(min(time.Duration(req.ExpiresIn)*time.Second, maxDerivedTTL)).UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	parent := c.key
	if parent.expiresAt != nil && parent.expiresAt.Before(exp) {
		exp = *parent.expiresAt
	}
	name := str(req.Name)
	if name == "" {
		name = "derived-" + now.UTC().Format("20060102-150405")
	}
	k := &apiKey{id: uuid.New(), plaintext: apikey.NewScoped("dk"), typ: "dk", agentID: parent.agentID, parentID: parent.id,
		scopes: append([]string{}, req.Scopes...), scopeVersion: scopeVersion, name: name, cidr: req.CIDRAllowlist,
		metadata: req.Metadata, createdAt: now, expiresAt: &exp}
	s.putKey(k)
	writeJSON(w, http.StatusOK, mintedJSON(k))
}

// ownKeyLocked finds a key the caller may administer: any key of the app for the app, the
// agent's own keys for an agent.
func (s *Server) ownKeyLocked(w http.ResponseWriter, r *http.Request, c *call, ref string) *apiKey {
	id, err := uuid.Parse(ref)
	k := s.keysByID[id]
	if err != nil || k == nil || (c.p.agent != nil && k.agentID != c.p.agent.id) {
		writeError(w, r, errf(http.StatusNotFound, "key_not_found", "no such key"))
		return nil
	}
	return k
}

func (s *Server) rotateKey(w http.ResponseWriter, r *http.Request, ref string) {
	c := callFrom(r.Context())
	req := struct {
		OverlapDays int `json:"overlap_days"`
	}{OverlapDays: 7}
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.ownKeyLocked(w, r, c, ref)
	if k == nil {
		return
	}
	switch {
	case k.revokedAt != nil:
		writeError(w, r, errf(http.StatusConflict, "key_revoked", "the key is revoked"))
		return
	case k.typ == "dk":
		writeError(w, r, errf(http.StatusBadRequest, "invalid_scope_for_derived_key", "derived keys cannot be rotated; derive a new one"))
		return
	}
	now := s.now()
	nk := &apiKey{id: uuid.New(), plaintext: apikey.NewScoped(keyType(k)), typ: keyType(k), agentID: k.agentID,
		scopes: append([]string{}, k.scopes...), scopeVersion: scopeVersion, name: k.name, createdAt: now, expiresAt: k.expiresAt}
	s.putKey(nk)
	if ag := s.agents[k.agentID]; ag != nil {
		ag.keys = append(ag.keys, nk.id)
	}
	grace := now.Add(time.Duration(req.OverlapDays) * 24 * time.Hour)
	k.deprecatedAt, k.graceUntil = &now, &grace
	writeJSON(w, http.StatusOK, mintedJSON(nk))
}

// revokeKey revokes the key and every key derived from it. A managed agent's last live key is
// refused unless force=true (its derived keys go with it, so they never keep the agent alive).
func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, ref string) {
	c := callFrom(r.Context())
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.ownKeyLocked(w, r, c, ref)
	if k == nil {
		return
	}
	if ag := s.agents[k.agentID]; ag != nil && k.typ != "dk" && k.revokedAt == nil && s.liveKeys(ag) <= 1 &&
		r.URL.Query().Get("force") != "true" {
		writeError(w, r, errf(http.StatusConflict, "last_active_key", "this is the agent's last live key").with("hint", "pass force=true"))
		return
	}
	now := s.now()
	if k.revokedAt == nil {
		k.revokedAt = &now
	}
	for _, o := range s.keysByID {
		if o.parentID == k.id && o.revokedAt == nil {
			o.revokedAt = &now
		}
	}
	writeJSON(w, http.StatusOK, apiKeyJSON(k))
}
