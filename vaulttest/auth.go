package vaulttest

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/emu"
	"github.com/altersdk/alter-go/internal/signing"
)

// scopeCatalog is every Alter scope, and routeScope the scope each operation requires.
var scopeCatalog = []emu.ScopeInfo{
	{Scope: "identity:read", Description: "Describe the calling agent (me)."},
	{Scope: "tokens:retrieve", Description: "Retrieve credentials (retrieve mode)."},
	{Scope: "proxy:execute", Description: "Execute upstream calls in the vault and follow approvals."},
	{Scope: "audit:write", Description: "Record upstream calls."},
	{Scope: "audit:read", Description: "Read the audit log."},
	{Scope: "sessions:write", Description: "Start and poll connect and auth sessions."},
	{Scope: "users:verify", Description: "Verify end-user tokens."},
	{Scope: "catalog:read", Description: "Read the provider and scope catalogs."},
	{Scope: "grants:read", Description: "List grants."},
	{Scope: "grants:write", Description: "Create managed-secret grants and drop delegations."},
	{Scope: "grants:revoke", Description: "Revoke grants."},
	{Scope: "agents:read", Description: "Read managed agents and their keys."},
	{Scope: "agents:write", Description: "Create, update and delete agents and their keys."},
	{Scope: "keys:write", Description: "Derive, rotate and revoke App keys."},
}

var routeScope = map[string]string{
	"getMe": "identity:read", "revokeMyDelegation": "grants:write",
	"retrieveCredential": "tokens:retrieve",
	"proxyRequest":       "proxy:execute", "getApprovalStatus": "proxy:execute", "getApprovalResult": "proxy:execute",
	"recordAPICall": "audit:write", "listAuditEvents": "audit:read",
	"createConnectSession": "sessions:write", "getConnectSession": "sessions:write",
	"createAuthSession": "sessions:write", "getAuthSession": "sessions:write",
	"verifyUserToken": "users:verify",
	"listProviders":   "catalog:read", "listScopes": "catalog:read",
	"listGrants": "grants:read", "revokeGrant": "grants:revoke", "revokeDelegation": "grants:write",
	"createManagedSecretGrant": "grants:write",
	"createAgent":              "agents:write", "listAgents": "agents:read", "getAgent": "agents:read",
	"updateAgent": "agents:write", "deleteAgent": "agents:write", "mintAgentKey": "agents:write",
	"listAgentKeys": "agents:read", "deprecateAgentKey": "agents:write", "undeprecateAgentKey": "agents:write",
	"revokeAgentKey": "agents:write",
	"deriveKey":      "keys:write", "rotateKey": "keys:write", "revokeKey": "keys:write",
}

func allScopes() []string {
	out := make([]string, len(scopeCatalog))
	for i, sc := range scopeCatalog {
		out[i] = sc.Scope
	}
	return out
}

// agentKeyScopes are the Alter scopes of every agent key: the runtime ones, never administration.
var agentKeyScopes = []string{"identity:read", "tokens:retrieve", "proxy:execute", "audit:write", "audit:read",
	"sessions:write", "users:verify", "catalog:read", "grants:read", "grants:write"}

func adminOp(op string) bool {
	return strings.HasPrefix(op, "createAgent") || op == "listAgents" || op == "getAgent" || op == "updateAgent" ||
		op == "deleteAgent" || strings.HasSuffix(op, "AgentKey") || op == "listAgentKeys" ||
		op == "deriveKey" || op == "rotateKey" || op == "revokeKey"
}

const nonceMemory = 10 * time.Minute

// authenticate checks the key, the signature, the nonce, the identity headers and the scope.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := callFrom(r.Context())
		if e := s.auth(w, r, c); e != nil {
			writeError(w, r, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) auth(w http.ResponseWriter, r *http.Request, c *call) *apiError {
	plain := r.Header.Get("X-Api-Key")
	now := s.now()
	s.mu.Lock()
	k := s.keys[plain]
	var ag *agent
	var st keyState
	var expired bool
	agStatus := ""
	if k != nil {
		st = k.state()
		expired = k.expiresAt != nil && !now.Before(*k.expiresAt)
		if k.kind == kindAgent {
			if ag = s.agents[k.agentID]; ag != nil {
				agStatus = ag.status
			}
		}
	}
	s.mu.Unlock()
	if plain == "" || k == nil {
		return errf(http.StatusUnauthorized, "invalid_key", "unknown API key")
	}
	if st == keyRevoked || expired || agStatus == "revoked" {
		return errf(http.StatusUnauthorized, "invalid_key", "the API key is revoked or expired")
	}
	if st == keyDeprecated {
		w.Header().Set("X-Alter-Key-Deprecated", "true")
	}
	c.key = k
	w.Header().Set("X-Alter-Actor-Id", k.id.String())
	nonce, err := signing.Verify(r, signing.DeriveKey(plain), c.body, now)
	switch {
	case errors.Is(err, signing.ErrExpired):
		return errf(http.StatusUnauthorized, "signature_expired", "X-Alter-Timestamp is outside the ±5 minute window")
	case err != nil:
		return errf(http.StatusUnauthorized, "invalid_signature", "the request signature is missing or does not match")
	}
	s.mu.Lock()
	if seen, ok := s.nonces[nonce]; ok && now.Sub(seen) < nonceMemory {
		s.mu.Unlock()
		return errf(http.StatusUnauthorized, "nonce_replayed", "this nonce was already used")
	}
	if len(s.nonces) > 4096 {
		for n, t := range s.nonces {
			if now.Sub(t) >= nonceMemory {
				delete(s.nonces, n)
			}
		}
	}
	s.nonces[nonce] = now
	k.lastUsedAt = ptr(now)
	s.mu.Unlock()

	// Identity.
	c.caller = r.Header.Get("X-Alter-Caller")
	c.callerTyp = "service"
	if ag != nil {
		c.callerTyp = "agent"
		if agStatus == "inactive" {
			return errf(http.StatusForbidden, "agent_inactive", "the agent is inactive")
		}
		c.agent = ag
		if r.Header.Get("X-Alter-User-Token") != "" {
			return errf(http.StatusBadRequest, "agent_user_token_not_allowed", "agent keys cannot carry an end-user token")
		}
	} else {
		if ct := r.Header.Get("X-Alter-Caller-Type"); ct != "" {
			c.callerTyp = ct
		}
		if id, err := uuid.Parse(c.caller); err == nil {
			s.mu.Lock()
			imp := s.agents[id]
			impStatus := ""
			if imp != nil {
				impStatus = imp.status
			}
			s.mu.Unlock()
			switch {
			case impStatus == "revoked":
				return errf(http.StatusForbidden, "agent_revoked", "the impersonated agent is revoked").with(emu.ErrorDetails{AgentID: &id})
			case impStatus == "inactive":
				return errf(http.StatusForbidden, "agent_inactive", "the impersonated agent is inactive").with(emu.ErrorDetails{AgentID: &id})
			case imp != nil:
				c.agent = imp
				c.callerTyp = "agent"
			case c.op == "getMe":
				return errf(http.StatusNotFound, "agent_not_found", "no agent with the id in X-Alter-Caller").with(emu.ErrorDetails{AgentID: &id})
			}
		}
	}
	if c.agent != nil {
		w.Header().Set("X-Alter-Actor-Id", c.agent.id.String())
	}
	if c.agent != nil && adminOp(c.op) {
		return errf(http.StatusForbidden, "agent_cannot_mint_subagents", "agents cannot manage agents or keys")
	}
	scopes := k.scopes
	if k.kind == kindAgent {
		scopes = agentKeyScopes
	}
	if need := routeScope[c.op]; need != "" && !slices.Contains(scopes, need) {
		return errf(http.StatusForbidden, "insufficient_scope", "the key lacks the scope %s", need).
			with(emu.ErrorDetails{RequiredScope: &need, MissingScopes: []string{need}})
	}
	return nil
}
