package vaulttest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// decode reads the JSON body into v (the contract validator has already checked its shape);
// false when it is malformed, and the 422 is written.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body := callFrom(r.Context()).body
	if len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, r, errf(http.StatusUnprocessableEntity, "", "malformed JSON body: %s", clip(err.Error())))
		return false
	}
	return true
}

// addressing is how token and proxy calls name a grant.
type addressing struct {
	GrantID    *string `json:"grant_id"`
	ProviderID *string `json:"provider_id"`
	UserToken  *string `json:"user_token"`
	AppUserID  *string `json:"app_user_id"`
	Account    *string `json:"account"`
	Label      *string `json:"label"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// endUser checks the user token of a call: "" when none was sent.
func (s *Server) endUser(tok *string) (string, *apiError) {
	if tok == nil {
		return "", nil
	}
	sub := s.verifyToken(*tok)
	if sub == "" {
		return "", errf(http.StatusUnauthorized, "jwt_validation_error", "the user token is invalid or expired")
	}
	return sub, nil
}

// callUser is the end user a call names, by its user token or by an app_user_id: the subject
// ("" for neither), 404 grant_not_found for an unknown app_user_id, 400 when the two name
// different users. Users are never removed, so the subject stays valid after s.mu is released.
func (s *Server) callUser(tok, appUserID *string) (string, *apiError) {
	sub, e := s.endUser(tok)
	if e != nil || appUserID == nil {
		return sub, e
	}
	s.mu.Lock()
	u := s.userByAppIDLocked(*appUserID)
	s.mu.Unlock()
	if u == nil {
		return "", errf(http.StatusNotFound, "grant_not_found", "no such app user").with("app_user_id", *appUserID)
	}
	if sub != "" && sub != u.sub {
		return "", errf(http.StatusBadRequest, "", "app_user_id and user_token name different users")
	}
	return u.sub, nil
}

// endUserOf is endUser for a handler: false when the token is bad, and the 401 is written.
func (s *Server) endUserOf(w http.ResponseWriter, r *http.Request, tok *string) (string, bool) {
	sub, e := s.endUser(tok)
	if e != nil {
		writeError(w, r, e)
		return "", false
	}
	return sub, true
}

// reaches reports whether the principal may use g: the app reaches every grant of the app, an
// agent only grants it owns or that were delegated to it.
func reaches(p principal, g *grant) bool {
	if p.agent == nil {
		return true
	}
	_, ok := holdLocked(p.agent.id, g)
	return ok
}

// resolveGrant picks the grant of a token or proxy call under the identity rules of
// transport.md §9.2: an agent reaches a user's grant only through its own delegation, and a
// user token (or app_user_id) only chooses among the grants the principal already reaches.
func (s *Server) resolveGrant(c *call, a addressing) (*grant, *apiError) {
	sub, e := s.callUser(a.UserToken, a.AppUserID)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.GrantID != nil {
		id, err := uuid.Parse(*a.GrantID)
		g := s.grants[id]
		if err != nil || g == nil || !reaches(c.p, g) || (sub != "" && g.userSub != sub) {
			return nil, errGrantNotFound(*a.GrantID)
		}
		return g, nil
	}
	provider := str(a.ProviderID)
	var reachable, mine []*grant
	for _, id := range s.grantOrder {
		g := s.grants[id]
		if g.provider != provider || g.state == GrantDeleted {
			continue
		}
		if sub != "" && g.userSub != sub {
			continue
		}
		if a.Account != nil && g.account != *a.Account || a.Label != nil && g.label != *a.Label {
			continue
		}
		if g.holder != uuid.Nil && c.p.agent == nil {
			continue // an onward delegation is its holder's to use
		}
		reachable = append(reachable, g)
		if reaches(c.p, g) {
			mine = append(mine, g)
		}
	}
	if c.p.agent == nil && sub == "" {
		// Without a user the app resolves among the grants it holds itself.
		mine = mine[:0]
		for _, g := range reachable {
			if g.principalType == "system" {
				mine = append(mine, g)
			}
		}
	}
	if len(mine) > 1 { // a revoked grant only answers when it is the only match
		live := mine[:0:0]
		for _, g := range mine {
			if g.state != GrantRevoked {
				live = append(live, g)
			}
		}
		if len(live) > 0 {
			mine = live
		}
	}
	switch {
	case len(mine) == 1:
		return mine[0], nil
	case len(mine) > 1:
		return nil, ambiguous(provider, mine, a.Account != nil)
	case c.p.agent != nil:
		e := errf(http.StatusNotFound, "no_delegated_grant", "no %s grant is delegated to this agent", provider).
			with("provider_id", provider, "agent_id", c.p.agent.id.String())
		if u := s.users[sub]; u != nil {
			e = e.with("app_user_id", u.appUserID.String())
		}
		return nil, e
	}
	return nil, errf(http.StatusNotFound, "grant_not_found", "no %s grant matches", provider).with("provider_id", provider)
}

func ambiguous(provider string, gs []*grant, accountGiven bool) *apiError {
	var accounts, ids []string
	var cands []map[string]any
	users := map[string]bool{}
	var appUsers []string
	for _, g := range gs {
		ids = append(ids, g.id.String())
		accounts = append(accounts, g.account)
		if g.userSub != "" && !users[g.userSub] {
			users[g.userSub] = true
			appUsers = append(appUsers, g.userSub)
		}
		cands = append(cands, map[string]any{"grant_id": g.id.String(), "label": nilIfEmpty(g.label),
			"account_identifier": nilIfEmpty(g.account), "account_display_name": nilIfEmpty(g.account)})
	}
	if appUsers == nil {
		appUsers = []string{}
	}
	return errf(http.StatusConflict, "ambiguous_grant", "several %s grants match; pass account or label", provider).with(
		"provider_id", provider, "account_identifiers", accounts, "app_user_ids", appUsers, "grant_ids", ids,
		"candidates", cands, "account_was_provided", accountGiven, "candidates_truncated", false)
}

func nilIfEmpty(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func (s *Server) userByAppIDLocked(v string) *user {
	if id, err := uuid.Parse(v); err == nil {
		if u := s.usersByID[id]; u != nil {
			return u
		}
	}
	return s.users[v]
}

// usable checks the grant's state, policy and refresh; retrieve is true for /sdk/token.
func (s *Server) usable(c *call, g *grant, retrieve bool) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	gid := g.id.String()
	state := s.chainStateLocked(g)
	expired := state == GrantExpired || (g.policyExpires != nil && !s.now().Before(*g.policyExpires))
	var agentID any
	if c.p.agent != nil {
		agentID = c.p.agent.id.String()
	}
	var appUser any
	if u := s.users[g.userSub]; u != nil {
		appUser = u.appUserID.String()
	}
	switch {
	case state == GrantDeleted:
		return errf(http.StatusGone, "", "the grant was deleted").with("grant_id", gid)
	case expired:
		return errf(http.StatusForbidden, "grant_expired", "the grant has expired; the user must reconnect").with(
			"provider_id", g.provider, "agent_id", agentID, "app_user_id", appUser,
			"details", map[string]any{"grant_id": gid, "provider_id": g.provider})
	case state == GrantRevoked:
		return errf(http.StatusForbidden, "grant_revoked", "the grant was revoked").with("grant_id", gid)
	case state == GrantCredentialRevoked:
		return errf(http.StatusForbidden, "credential_revoked", "the provider revoked the credential").with(
			"grant_id", gid, "provider_id", g.provider, "app_user_id", appUser)
	case g.policy.DenyReason != "":
		return errf(http.StatusForbidden, "", "%s", g.policy.DenyReason).with("grant_id", gid)
	case retrieve && (g.policy.RequireApproval || (c.p.agent != nil && c.p.agent.requireApproval)):
		return errf(http.StatusBadRequest, "hitl_grant_requires_proxy", "calls with this grant need a human approval: use proxy mode").with("grant_id", gid)
	case retrieve && g.scopeConstraint != nil:
		return errf(http.StatusBadRequest, "delegated_grant_requires_proxy", "a scope-narrowed delegation can only be used in proxy mode").with("grant_id", gid)
	case retrieve && (g.policy.RequireProxy || g.restrictions != nil): // the vault enforces restrictions itself
		return errf(http.StatusBadRequest, "restricted_grant_requires_proxy", "this grant can only be used in proxy mode").with("grant_id", gid)
	case g.refreshing > 0:
		g.refreshing--
		return errf(http.StatusConflict, "token_refresh_in_progress", "the provider token is being refreshed; retry").
			with("grant_id", gid).retryAfter(1)
	}
	now := s.now()
	g.lastUsedAt = &now
	return nil
}

// usableGrant applies the request rule to a token or proxy call (in: the upstream call), resolves
// its grant and checks it, or writes why it cannot be used.
func (s *Server) usableGrant(w http.ResponseWriter, r *http.Request, c *call, in *ruleInput, a addressing, retrieve bool) *grant {
	in.userToken = str(a.UserToken)
	e := s.applyRule(c, in)
	var g *grant
	if e == nil {
		g, e = s.resolveGrant(c, a)
	}
	if e == nil {
		e = s.usable(c, g, retrieve)
	}
	if e != nil {
		writeError(w, r, e)
		return nil
	}
	return g
}

// credential returns the secret and injection of a grant, with a {token_base64} format resolved
// the way the real vault hands Basic credentials out: already encoded.
func (s *Server) credential(g *grant) (string, Injection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g = s.rootLocked(g) // an onward delegation uses its chain's credential
	cred, inj := g.credential, g.inj
	if g.kind == "managed_secret" {
		if ms := s.secrets[g.msID]; ms != nil {
			inj = ms.inj
			if c := ms.credLocked(g.credentialID); cred == "" && c != nil {
				cred = c.secret
			}
		}
	}
	if strings.Contains(inj.Format, "{token_base64}") {
		cred = base64.StdEncoding.EncodeToString([]byte(cred))
		inj.Format = strings.ReplaceAll(inj.Format, "{token_base64}", "{token}")
	}
	return cred, inj
}

type tokenRequest struct {
	addressing
	Reason  *string `json:"reason"`
	Request struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
}

func (s *Server) retrieveToken(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	var req tokenRequest
	if !decode(w, r, &req) {
		return
	}
	g := s.usableGrant(w, r, c, &ruleInput{method: req.Request.Method, url: req.Request.URL}, req.addressing, true)
	if g == nil {
		return
	}
	cred, inj := s.credential(g)
	s.mu.Lock()
	retries := g.refreshRetries
	g.refreshRetries = 0
	scopes, gen, mismatch := append([]string{}, g.scopes...), g.tokenGen, g.scopeMismatch
	s.mu.Unlock()
	exp := s.now().Add(time.Hour).UTC()
	out := map[string]any{
		"access_token": cred, "token_type": "Bearer", "expires_in": 3600, "expires_at": exp.Format(time.RFC3339),
		"scopes": scopes, "grant_id": g.id.String(), "provider_id": g.provider, "token_generation": gen.String(),
		"scope_mismatch": mismatch, "injection_header": inj.Header, "injection_format": inj.Format,
		"additional_credentials": nil, "additional_injections": nil, "retry_info": nil,
	}
	if len(inj.AdditionalCredentials) > 0 {
		out["additional_credentials"] = inj.AdditionalCredentials
	}
	if len(inj.Additional) > 0 {
		var add []map[string]string
		for _, ai := range inj.Additional {
			add = append(add, map[string]string{"target": ai.Target, "key": ai.Key, "value_source": ai.ValueSource})
		}
		out["additional_injections"] = add
	}
	if retries > 0 {
		out["retry_info"] = retryInfo(retries)
	}
	writeJSON(w, http.StatusOK, out)
}

// retryInfo is the vault's report of a provider token refresh that needed attempts tries.
func retryInfo(attempts int) map[string]any {
	errs := make([]map[string]any, 0, attempts-1)
	for i := 1; i < attempts; i++ {
		errs = append(errs, map[string]any{"attempt": i, "error": "provider token endpoint timed out",
			"error_type": "timeout", "delay_s": 0.5 * float64(i), "permanent": false})
	}
	return map[string]any{"total_attempts": attempts, "successful_attempt": attempts, "errors": errs}
}
