package vaulttest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/emu"
)

// api implements the generated emu.ServerInterface on the Server's state.
type api struct{ s *Server }

// decode reads the JSON body strictly (unknown fields refused); an empty optional body is fine.
func decode(r *http.Request, v any, required bool) *apiError {
	body := callFrom(r.Context()).body
	if len(bytes.TrimSpace(body)) == 0 {
		if required {
			return errf(http.StatusBadRequest, "invalid_request", "a JSON body is required").with(detailsField("body"))
		}
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return errf(http.StatusBadRequest, "invalid_request", "malformed JSON body: %s", clip(err.Error())).with(detailsField("body"))
	}
	if d.More() {
		return errf(http.StatusBadRequest, "invalid_request", "trailing data after the JSON body").with(detailsField("body"))
	}
	return nil
}

func (a *api) GetMe(w http.ResponseWriter, r *http.Request, _ emu.GetMeParams) {
	c := callFrom(r.Context())
	if c.agent == nil {
		writeError(w, r, errf(http.StatusForbidden, "me_requires_agent_key", "me needs an agent principal (an agent key, or an App key with X-Alter-Caller set to an agent id)"))
		return
	}
	a.s.mu.Lock()
	info := a.s.agentInfoLocked(c.agent)
	a.s.mu.Unlock()
	writeJSON(w, http.StatusOK, info)
}

func (a *api) RevokeMyDelegation(w http.ResponseWriter, r *http.Request, grantID emu.GrantIDPath, _ emu.RevokeMyDelegationParams) {
	c := callFrom(r.Context())
	if c.agent == nil {
		writeError(w, r, errf(http.StatusForbidden, "me_requires_agent_key", "dropping one's own delegation needs an agent principal"))
		return
	}
	a.dropDelegation(w, r, grantID, c.agent.id)
}

func (a *api) dropDelegation(w http.ResponseWriter, r *http.Request, grantID, agentID uuid.UUID) {
	s := a.s
	c := callFrom(r.Context())
	s.mu.Lock()
	g := s.grants[grantID]
	if g == nil || g.state == GrantDeleted {
		s.mu.Unlock()
		writeError(w, r, errf(http.StatusNotFound, "grant_not_found", "no such grant").with(detailsGrant(grantID)))
		return
	}
	c.grant = g
	if _, ok := g.delegated[agentID]; !ok {
		s.mu.Unlock()
		writeError(w, r, errf(http.StatusNotFound, "delegation_not_found", "the grant is not delegated to this agent").with(emu.ErrorDetails{GrantID: &grantID, AgentID: &agentID}))
		return
	}
	delete(g.delegated, agentID)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, emu.RevokeDelegationResult{GrantID: grantID, AgentID: agentID, RevokedAt: s.now()})
}

// resolveGrant picks the grant of a token or proxy request and checks that the principal may use it.
func (s *Server) resolveGrant(r *http.Request, c *call, grantID *uuid.UUID, provider, account *string) (*grant, *apiError) {
	switch {
	case grantID != nil && provider != nil:
		return nil, errf(http.StatusBadRequest, "invalid_request", "give grant_id or provider, not both").with(detailsField("provider"))
	case grantID == nil && provider == nil:
		return nil, errf(http.StatusBadRequest, "invalid_request", "grant_id or provider is required").with(detailsField("grant_id"))
	case account != nil && provider == nil:
		return nil, errf(http.StatusBadRequest, "invalid_request", "account needs provider").with(detailsField("account"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if grantID != nil {
		g := s.grants[*grantID]
		if g == nil {
			return nil, errf(http.StatusNotFound, "grant_not_found", "no such grant").with(detailsGrant(*grantID))
		}
		c.grant = g
		if ag := c.agent; ag != nil {
			_, delegated := g.delegated[ag.id]
			owned := g.agentOwner == ag.id
			if !delegated && !owned {
				if g.kind == "oauth" && g.userSub != "" {
					return nil, errf(http.StatusForbidden, "no_delegated_grant", "the grant is not delegated to this agent").with(emu.ErrorDetails{GrantID: grantID, ProviderID: &g.provider})
				}
				c.grant = nil
				return nil, errf(http.StatusNotFound, "grant_not_found", "no such grant for this agent").with(detailsGrant(*grantID))
			}
		}
		return g, nil
	}
	tok := r.Header.Get("X-Alter-User-Token")
	c.provider = *provider
	if tok == "" {
		return nil, errf(http.StatusBadRequest, "invalid_request", "provider needs X-Alter-User-Token").with(detailsField("X-Alter-User-Token"))
	}
	sub := s.verifyToken(tok)
	if sub == "" {
		return nil, errf(http.StatusUnauthorized, "invalid_user_token", "the end-user token is invalid or expired")
	}
	c.userSub = sub
	var cands, unusable []*grant
	for _, id := range s.grantOrder {
		g := s.grants[id]
		if g.kind != "oauth" || g.provider != *provider || g.userSub != sub || g.state == GrantDeleted {
			continue
		}
		if account != nil && g.account != *account {
			continue
		}
		if g.state == GrantRevoked {
			unusable = append(unusable, g)
			continue
		}
		cands = append(cands, g)
	}
	if len(cands) == 0 && len(unusable) > 0 {
		cands = unusable[:1]
	}
	if c.agent != nil {
		var mine []*grant
		for _, g := range cands {
			if _, ok := g.delegated[c.agent.id]; ok {
				mine = append(mine, g)
			}
		}
		if len(mine) == 0 {
			return nil, errf(http.StatusForbidden, "no_delegated_grant", "the user has no %s grant delegated to this agent", *provider).with(emu.ErrorDetails{ProviderID: provider})
		}
		cands = mine
	}
	switch len(cands) {
	case 0:
		return nil, errf(http.StatusNotFound, "grant_not_found", "the user has no %s grant", *provider).with(emu.ErrorDetails{ProviderID: provider})
	case 1:
		c.grant = cands[0]
		return cands[0], nil
	}
	accts := make([]string, len(cands))
	for i, g := range cands {
		accts[i] = g.account
	}
	return nil, errf(http.StatusConflict, "ambiguous_grant", "the user has several %s accounts; pass account", *provider).with(emu.ErrorDetails{ProviderID: provider, Accounts: accts})
}

// usable checks the grant's state, policy and refresh; retrieve is true for retrieve mode.
func (s *Server) usable(c *call, g *grant, retrieve bool) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := g.id
	d := emu.ErrorDetails{GrantID: &id, ProviderID: &g.provider}
	expired := g.state == GrantExpired || (g.policyExpires != nil && !s.now().Before(*g.policyExpires))
	switch {
	case g.state == GrantDeleted:
		return errf(http.StatusGone, "grant_deleted", "the grant was deleted").with(d)
	case expired:
		return errf(http.StatusGone, "grant_expired", "the grant has expired; the user must reconnect").with(d)
	case g.state == GrantRevoked:
		return errf(http.StatusForbidden, "grant_revoked", "the grant was revoked").with(d)
	case g.state == GrantCredentialRevoked:
		return errf(http.StatusForbidden, "credential_revoked", "the provider revoked the credential").with(d)
	case g.policy.DenyReason != "":
		d.PolicyError = ptr(g.policy.DenyReason)
		return errf(http.StatusForbidden, "policy_violation", "a policy denied the call").with(d)
	case retrieve && (g.policy.RequireApproval || g.policy.RequireProxy || (c.agent != nil && c.agent.requireApproval)):
		return errf(http.StatusForbidden, "restricted_grant_requires_proxy", "this grant can only be used in proxy mode").with(d)
	case g.refreshing > 0:
		g.refreshing--
		one := 1
		d.RetryAfterSeconds = &one
		e := errf(http.StatusConflict, "token_refresh_in_progress", "the provider token is being refreshed; retry").with(d)
		e.retry = 1
		return e
	}
	g.lastUsedAt = ptr(s.now())
	return nil
}

// credential returns the secret and injection of a grant.
func (s *Server) credential(g *grant) (string, Injection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.kind == "managed_secret" {
		if ms := s.secrets[g.provider]; ms != nil {
			return ms.credential, ms.inj
		}
	}
	return g.credential, g.inj
}

func (a *api) RetrieveCredential(w http.ResponseWriter, r *http.Request, _ emu.RetrieveCredentialParams) {
	s := a.s
	c := callFrom(r.Context())
	var req emu.TokenRequest
	if e := decode(r, &req, true); e != nil {
		writeError(w, r, e)
		return
	}
	c.method, c.url, c.reason, c.context = string(req.Method), req.URL, deref(req.Reason), derefMap(req.Context)
	g, e := s.resolveGrant(r, c, req.GrantID, req.Provider, req.Account)
	if e == nil {
		e = s.usable(c, g, true)
	}
	if e != nil {
		writeError(w, r, e)
		return
	}
	cred, inj := s.credential(g)
	exp := s.now().Add(time.Hour).UTC()
	resp := emu.TokenResponse{
		AccessToken: cred, TokenType: "Bearer", ExpiresIn: ptr(3600), ExpiresAt: &exp,
		Scopes: nonNil(g.scopes), GrantID: g.id, ProviderID: g.provider,
		InjectionHeader: inj.Header, InjectionFormat: inj.Format,
	}
	if len(inj.AdditionalCredentials) > 0 {
		m := emu.StringMap(inj.AdditionalCredentials)
		resp.AdditionalCredentials = &m
	}
	for _, ai := range inj.Additional {
		resp.AdditionalInjections = append(resp.AdditionalInjections, emu.AdditionalInjection{Target: emu.InjectionTarget(ai.Target), Key: ai.Key, ValueSource: ai.ValueSource})
	}
	writeJSON(w, http.StatusOK, resp)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func derefMap(p *emu.StringMap) map[string]string {
	if p == nil {
		return nil
	}
	return *p
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
