package vaulttest

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/emu"
)

// OAuth Connect sessions (E6, E7) and how they complete.

// isTrue is an optional flag that was sent as true.
func isTrue(b *bool) bool { return b != nil && *b }

// modelError is the 422 a request-model validator of the vault answers.
func modelError(w http.ResponseWriter, r *http.Request, msg string) {
	writeValidation(w, r, []fieldError{{Type: "value_error", Loc: []any{"body"}, Msg: "Value error, " + msg, Input: nil}})
}

// connectProviders normalizes allowed_providers as the vault does (trimmed, lower-cased, each
// once).
func connectProviders(req *emu.ConnectSessionRequest) []string {
	var out []string
	for _, p := range req.AllowedProviders {
		if p = strings.ToLower(strings.TrimSpace(p)); !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// checkConnect applies the request model's validators; false when it answered.
func checkConnect(w http.ResponseWriter, r *http.Request, req *emu.ConnectSessionRequest, providers []string) bool {
	switch {
	case req.AllowedProviders != nil && len(providers) == 0, slices.Contains(providers, ""):
		modelError(w, r, "allowed_providers must be omitted or list non-empty provider ids")
	case isTrue(req.Direct) && len(providers) != 1:
		modelError(w, r, "direct requires exactly one provider")
	case req.RepairGrantID != nil && len(providers) != 1:
		modelError(w, r, "repair_grant_id requires exactly one allowed provider")
	case req.RepairGrantID != nil && (req.Agent != nil || req.RequestedGrant != nil || isTrue(req.SwitchAccount)):
		modelError(w, r, "repair_grant_id cannot be combined with agent, requested_grant or switch_account")
	case req.RequestedGrant != nil && (req.RequestedGrant.Label == "" || len(req.RequestedGrant.Label) > 255):
		modelError(w, r, "requested_grant.label must be 1 to 255 characters")
	default:
		return true
	}
	return false
}

// scopeWarnings checks scope_constraint against each provider's effective scopes: the
// providers it does not fit get a warning; fitting none is an error.
func scopeWarnings(atoms, providers []string, required map[string][]string) ([]string, *apiError) {
	warnings := []string{}
	if atoms == nil {
		return warnings, nil
	}
	if len(providers) == 0 {
		for _, p := range providerCatalog {
			providers = append(providers, p.id)
		}
	}
	fits := 0
	for _, p := range providers {
		effective := required[p]
		if effective == nil {
			effective = findProvider(p).scopes
		}
		var bad []string
		for _, a := range atoms {
			if !slices.Contains(effective, strings.TrimSpace(a)) {
				bad = append(bad, a)
			}
		}
		if bad == nil {
			fits++
			continue
		}
		warnings = append(warnings, p+": scope_constraint "+strings.Join(bad, " ")+" is outside the provider's scopes for this session")
	}
	if fits == 0 {
		return nil, errf(http.StatusUnprocessableEntity, "invalid_scope_constraint", "scope_constraint fits no allowed provider's scopes")
	}
	return warnings, nil
}

func (s *Server) createConnectSession(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	var req emu.ConnectSessionRequest
	if !decode(w, r, &req) {
		return
	}
	providers := connectProviders(&req)
	if !checkConnect(w, r, &req, providers) {
		return
	}
	var required map[string][]string
	if req.RequiredScopes != nil {
		required = *req.RequiredScopes
	}
	sub, ok := s.endUserOf(w, r, req.UserToken)
	if !ok {
		return
	}
	for _, p := range providers {
		if findProvider(p) == nil {
			writeError(w, r, errf(http.StatusBadRequest, "", "unknown provider %q", p).with("provider_id", p))
			return
		}
	}
	for p, scopes := range required {
		def := findProvider(p)
		for _, sc := range scopes {
			if def == nil || !slices.Contains(def.scopes, sc) {
				writeError(w, r, errf(http.StatusBadRequest, "scope_not_allowed", "scope %q of %s is not in the app's allowlist", sc, p).with("provider_id", p))
				return
			}
		}
	}
	if req.Agent != nil && c.p.agent == nil && sub == "" {
		writeError(w, r, errf(http.StatusBadRequest, "agent_requires_user_token", "a session that delegates to an agent needs the consenting user's token"))
		return
	}
	sess := &session{token: "cs_" + randToken(24), kind: connectSession, status: "pending",
		expiresAt: s.now().Add(sessionTTL).UTC(), allowed: providers, userSub: sub, delegable: req.Delegable,
	}
	if rg := req.RequestedGrant; rg != nil {
		sess.label = rg.Label
		if r := rg.Restrictions; r != nil {
			sess.restricts = map[string]any{}
			if r.AllowedMethods != nil {
				sess.restricts["allowed_methods"] = *r.AllowedMethods
			}
			if r.AllowedEndpoints != nil {
				sess.restricts["allowed_endpoints"] = *r.AllowedEndpoints
			}
		}
	}
	s.mu.Lock()
	switch {
	case c.p.agent != nil:
		sess.agent, sess.agentOwns = c.p.agent.id, sub == ""
	case req.Agent != nil:
		ag := s.agentByRefLocked(*req.Agent)
		if ag == nil {
			s.mu.Unlock()
			writeError(w, r, errAgentNotFound(*req.Agent))
			return
		}
		sess.agent = ag.id
	}
	delegates := sess.agent != uuid.Nil && !sess.agentOwns
	if req.ScopeConstraint != nil && !delegates {
		s.mu.Unlock()
		writeError(w, r, errf(http.StatusUnprocessableEntity, "invalid_scope_constraint", "scope_constraint needs an agent to narrow"))
		return
	}
	warnings, e := scopeWarnings(req.ScopeConstraint, providers, required)
	if e != nil {
		s.mu.Unlock()
		writeError(w, r, e)
		return
	}
	sess.narrow = req.ScopeConstraint
	if req.RepairGrantID != nil {
		id, err := uuid.Parse(*req.RepairGrantID)
		g := s.grants[id]
		if err != nil || g == nil || g.kind != "oauth" || g.provider != providers[0] || g.state == GrantDeleted || g.userSub != sub {
			s.mu.Unlock()
			writeError(w, r, errGrantNotFound(*req.RepairGrantID))
			return
		}
		sess.repair = id
	}
	s.putSessionLocked(sess)
	s.mu.Unlock()
	// Onward sharing is the person's to decide, so a session asking for it shows the consent screen.
	direct := isTrue(req.Direct) && (!delegates || !isTrue(req.Delegable))
	writeJSON(w, http.StatusOK, map[string]any{"session_token": sess.token, "connect_url": s.root + "/connect/" + sess.token,
		"expires_in": int(sessionTTL.Seconds()), "expires_at": sess.expiresAt.Format(time.RFC3339),
		"scope_constraint_warnings": warnings, "single_provider": len(providers) == 1, "direct": direct})
}

type sessionTokenBody struct {
	SessionToken string `json:"session_token"`
	WaitMS       int    `json:"wait_ms"`
}

func errSessionNotFound() *apiError {
	return errf(http.StatusNotFound, "", "no such session")
}

func (s *Server) pollConnectSession(w http.ResponseWriter, r *http.Request) {
	var req sessionTokenBody
	if !decode(w, r, &req) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessionLocked(req.SessionToken, connectSession)
	if sess == nil {
		writeError(w, r, errSessionNotFound())
		return
	}
	out := map[string]any{"status": sess.status}
	switch sess.status {
	case "pending":
		dp := []any{}
		for _, d := range sess.declined {
			dp = append(dp, map[string]any{"provider_id": d.provider, "error_code": d.code, "declined_at": rfc(d.at)})
		}
		out["declined_providers"] = dp
	case "error":
		out["error"] = map[string]any{"error_code": sess.errCode, "error_message": sess.errMsg}
	case "completed":
		out["grants"], out["failed_grants"] = s.connectOutcomeLocked(sess)
	}
	writeJSON(w, http.StatusOK, out)
}

// connectOutcomeLocked is the grants and failed grants of a completed session, as polled.
func (s *Server) connectOutcomeLocked(sess *session) ([]map[string]any, []map[string]any) {
	grants := []map[string]any{}
	for i, id := range sess.results {
		g := s.grants[id]
		if g == nil {
			continue
		}
		item := map[string]any{"grant_id": g.id.String(), "provider_id": g.provider, "account_identifier": nilIfEmpty(g.account),
			"scopes": append([]string{}, g.scopes...), "api_base_url": nil, "operation": sess.operations[i],
			"grant_policy": nil, "delegation": nil}
		if h, ok := s.firstHopLocked(sess.agent, g); ok && !sess.agentOwns {
			item["delegation"] = map[string]any{"agent_id": sess.agent.String(), "delegable": h.delegable,
				"policy_refused": s.noOnward[g.provider] && isTrue(sess.delegable)}
		}
		grants = append(grants, item)
	}
	failed := []map[string]any{}
	for _, f := range sess.failed {
		failed = append(failed, map[string]any{"provider_id": f.provider, "reason": f.reason,
			"message": "the " + f.provider + " connection was not kept (" + f.reason + ")"})
	}
	return grants, failed
}

// ConnectAccount is one provider account a person authorizes on a connect page.
type ConnectAccount struct {
	Provider, Account string
}

// FailedConnection is a provider of a multi-provider session whose grant is not kept; Reason is
// the failed_grants reason (not_selected, activation_failed, or another for usage limits that
// could not be applied).
type FailedConnection struct {
	Provider, Reason string
}

// CompleteConnectSession finishes a connect session as if the person authorized provider with
// account: it creates the grant (owned by the session's user, else by the session's agent when
// an agent made it, else by the app) and delegates it to the session's agent. Connecting the
// same account again re-authorizes the existing grant; a repair session re-authorizes its grant
// in place.
func (s *Server) CompleteConnectSession(token, provider, account string) error {
	return s.CompleteConnectSessionWith(token, []ConnectAccount{{provider, account}}, nil)
}

// CompleteConnectSessionWith finishes a multi-provider connect session: a grant for each
// account, and failed for the providers whose grant was not kept (polled as failed_grants).
func (s *Server) CompleteConnectSessionWith(token string, accounts []ConnectAccount, failed []FailedConnection) error {
	if len(accounts) == 0 && len(failed) == 0 {
		return errState("at least one account or failed provider is required")
	}
	return s.changeSession(token, connectSession, func(sess *session) error {
		for _, a := range accounts {
			if err := s.connectAllowedLocked(sess, a.Provider); err != nil {
				return err
			}
		}
		for _, f := range failed {
			if err := s.connectAllowedLocked(sess, f.Provider); err != nil {
				return err
			}
			if f.Reason == "" {
				return errState("a failed provider needs a reason")
			}
		}
		for _, a := range accounts {
			s.connectGrantLocked(sess, findProvider(a.Provider), a.Account)
		}
		for _, f := range failed {
			sess.failed = append(sess.failed, failedGrant{provider: f.Provider, reason: f.Reason})
		}
		sess.status = "completed"
		sess.changed = notify(sess.changed)
		return nil
	})
}

func (s *Server) connectAllowedLocked(sess *session, provider string) error {
	if findProvider(provider) == nil {
		return errState("unknown provider " + provider)
	}
	if len(sess.allowed) > 0 && !slices.Contains(sess.allowed, provider) {
		return errState("provider not allowed by the session")
	}
	return nil
}

// connectGrantLocked makes or re-authorizes one grant of a completing connect session.
func (s *Server) connectGrantLocked(sess *session, def *providerDef, account string) {
	var owner uuid.UUID
	if sess.agentOwns {
		owner = sess.agent
	}
	op := "creation"
	var g *grant
	if r := s.grants[sess.repair]; r != nil {
		g = r
	}
	for _, id := range s.grantOrder {
		o := s.grants[id]
		if g == nil && o.kind == "oauth" && o.provider == def.id && o.account == account && o.userSub == sess.userSub &&
			o.agentOwner == owner && o.state != GrantDeleted && o.label == sess.label {
			g = o
		}
	}
	if g != nil {
		op = "reauth"
		g.state, g.tokenGen, g.scopeMismatch, g.account = GrantActive, uuid.New(), false, account
		g.credential = "tok_" + randAlnum(32)
	} else {
		g = &grant{id: uuid.New(), kind: "oauth", provider: def.id, account: account, userSub: sess.userSub,
			agentOwner: owner, scopes: append([]string{}, def.scopes[:min(2, len(def.scopes))]...),
			credential: "tok_" + randAlnum(32), inj: BearerInjection(), delegated: map[uuid.UUID]*delegation{},
			createdAt: s.now(), tokenGen: uuid.New(), label: sess.label, principalType: "system"}
		g.restrictions = sess.restricts
		switch {
		case owner != uuid.Nil:
			g.principalType = "agent"
		case g.userSub != "":
			g.principalType = "user"
			s.userLocked(g.userSub)
		}
		s.putGrant(g)
	}
	if sess.agent != uuid.Nil && !sess.agentOwns {
		s.delegateLocked(g, sess)
	}
	sess.results = append(sess.results, g.id)
	sess.operations = append(sess.operations, op)
}

// firstHopLocked is how agent holds g directly: its delegation entry, or the narrowed child a
// scope-constrained session made.
func (s *Server) firstHopLocked(agent uuid.UUID, g *grant) (hold, bool) {
	if h, ok := holdLocked(agent, g); ok {
		return h, true
	}
	if c := s.narrowedChildLocked(agent, g); c != nil {
		return hold{depth: 1, delegable: c.delegable}, true
	}
	return hold{}, false
}

func (s *Server) narrowedChildLocked(agent uuid.UUID, g *grant) *grant {
	for _, id := range s.grantOrder {
		if c := s.grants[id]; c.parent == g.id && c.holder == agent && c.depth == 1 && c.state != GrantDeleted {
			return c
		}
	}
	return nil
}

// delegateLocked makes (or updates in place) the session agent's delegation on g: Delegable as
// asked unless the provider refuses onward sharing; unset keeps an existing delegation's setting.
// A scope constraint makes the delegation a child grant of g held by the agent, narrowed to it
// (proxy only), as the vault's callback mints one.
func (s *Server) delegateLocked(g *grant, sess *session) {
	if sess.narrow != nil {
		s.narrowLocked(g, sess)
		return
	}
	d := g.delegated[sess.agent]
	if d == nil {
		d = &delegation{}
		g.delegated[sess.agent] = d
	}
	d.at = s.now()
	if sess.delegable != nil {
		d.delegable = *sess.delegable && !s.noOnward[g.provider]
	}
}

// DeclineProvider records that the person turned provider down while the connect session stays
// pending for the others (declined_providers in the poll answer); code is its error_code, for
// example access_denied.
func (s *Server) DeclineProvider(token, provider, code string) error {
	return s.changeSession(token, connectSession, func(sess *session) error {
		if err := s.connectAllowedLocked(sess, provider); err != nil {
			return err
		}
		sess.declined = append(sess.declined, declined{provider: provider, code: or(code, "access_denied"), at: s.now()})
		sess.changed = notify(sess.changed)
		return nil
	})
}

// narrowLocked makes (or re-narrows) the scope-constrained first-hop child of g for the
// session's agent.
func (s *Server) narrowLocked(g *grant, sess *session) {
	c := s.narrowedChildLocked(sess.agent, g)
	if c == nil {
		c = s.childLocked(g, sess.agent, uuid.Nil, 1)
	}
	c.scopeConstraint, c.state = append([]string{}, sess.narrow...), GrantActive
	if sess.delegable != nil {
		c.delegable = *sess.delegable && !s.noOnward[g.provider]
	}
}
