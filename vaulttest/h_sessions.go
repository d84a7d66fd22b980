package vaulttest

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
)

const sessionTTL = 15 * time.Minute

// maxAuthWaitMS is the long-poll cap of POST /sdk/auth/poll.
const maxAuthWaitMS = 30_000

func (s *Server) putSessionLocked(sess *session) {
	sess.changed = make(chan struct{})
	s.sessions[sess.token] = sess
	s.sessionOrder = append(s.sessionOrder, sess.token)
	if len(s.sessionOrder) > maxSessions {
		delete(s.sessions, s.sessionOrder[0])
		s.sessionOrder = s.sessionOrder[1:]
	}
}

// awaitLocked lets go of the lock until ch closes (a change), d has passed or ctx ends.
func (s *Server) awaitLocked(ctx context.Context, ch <-chan struct{}, d time.Duration) {
	s.mu.Unlock()
	t := time.NewTimer(d)
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
	t.Stop()
	s.mu.Lock()
}

// changeSession runs change on the pending session of that kind under the lock; errNotFound or a
// state error when there is none.
func (s *Server) changeSession(token string, kind sessionKind, change func(*session) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessionLocked(token, kind)
	if err := sess.pendingErr(); err != nil {
		return err
	}
	return change(sess)
}

// pendingErr is nil for a pending session, else the error of the Go and dev API.
func (sess *session) pendingErr() error {
	if sess == nil {
		return errNotFound
	}
	return pendingErr("session", sess.status)
}

func pendingErr(what, status string) error {
	if status != "pending" {
		return errState(what + " is " + status)
	}
	return nil
}

func (s *Server) sessionLocked(token string, kind sessionKind) *session {
	sess := s.sessions[token]
	if sess == nil || sess.kind != kind {
		return nil
	}
	if sess.status == "pending" && !s.now().Before(sess.expiresAt) {
		sess.status = "expired"
		sess.changed = notify(sess.changed)
	}
	return sess
}

// agentByRefLocked finds a live agent by id or name.
func (s *Server) agentByRefLocked(ref string) *agent {
	if id, err := uuid.Parse(ref); err == nil {
		if ag := s.agents[id]; ag != nil && ag.status != "revoked" {
			return ag
		}
		return nil
	}
	for _, id := range s.agentOrder {
		if ag := s.agents[id]; ag.name == ref && ag.status != "revoked" {
			return ag
		}
	}
	return nil
}

// connectFields are the body fields of both connect sessions, OAuth and managed secret.
type connectFields struct {
	Direct         bool `json:"direct"`
	RequestedGrant *struct {
		Label string `json:"label"`
	} `json:"requested_grant"`
	RepairGrantID *string `json:"repair_grant_id"`
	Agent         *string `json:"agent"`
}

// label is the label the session's new grant gets.
func (f connectFields) label() string {
	if f.RequestedGrant == nil {
		return ""
	}
	return f.RequestedGrant.Label
}

type connectRequest struct {
	connectFields
	AllowedProviders []string            `json:"allowed_providers"`
	ReturnURL        *string             `json:"return_url"`
	RequiredScopes   map[string][]string `json:"required_scopes"`
	Delegable        *bool               `json:"delegable"`
	UserToken        *string             `json:"user_token"`
}

func (s *Server) createConnectSession(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	var req connectRequest
	if !decode(w, r, &req) {
		return
	}
	sub, ok := s.endUserOf(w, r, req.UserToken)
	if !ok {
		return
	}
	for _, p := range req.AllowedProviders {
		if findProvider(p) == nil {
			writeError(w, r, errf(http.StatusBadRequest, "", "unknown provider %q", p).with("provider_id", p))
			return
		}
	}
	for p, scopes := range req.RequiredScopes {
		def := findProvider(p)
		for _, sc := range scopes {
			if def == nil || !slices.Contains(def.scopes, sc) {
				writeError(w, r, errf(http.StatusBadRequest, "scope_not_allowed", "scope %q of %s is not in the app's allowlist", sc, p).with("provider_id", p))
				return
			}
		}
	}
	sess := &session{token: "cs_" + randToken(24), kind: connectSession, status: "pending",
		expiresAt: s.now().Add(sessionTTL).UTC(), allowed: req.AllowedProviders, userSub: sub}
	if req.Delegable != nil {
		sess.delegable = *req.Delegable
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
	if req.RepairGrantID != nil {
		id, err := uuid.Parse(*req.RepairGrantID)
		if g := s.grants[id]; err != nil || g == nil || (sub != "" && g.userSub != sub) {
			s.mu.Unlock()
			writeError(w, r, errGrantNotFound(*req.RepairGrantID))
			return
		}
	}
	sess.label = req.label()
	s.putSessionLocked(sess)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"session_token": sess.token, "connect_url": s.root + "/connect/" + sess.token,
		"expires_in": int(sessionTTL.Seconds()), "expires_at": sess.expiresAt.Format(time.RFC3339),
		"scope_constraint_warnings": []string{}, "single_provider": len(req.AllowedProviders) == 1, "direct": req.Direct})
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
		grants := []map[string]any{}
		for i, id := range sess.results {
			g := s.grants[id]
			if g == nil {
				continue
			}
			item := map[string]any{"grant_id": g.id.String(), "provider_id": g.provider, "account_identifier": nilIfEmpty(g.account),
				"scopes": append([]string{}, g.scopes...), "api_base_url": nil, "operation": sess.operations[i],
				"grant_policy": nil, "delegation": nil}
			if sess.agent != uuid.Nil && !sess.agentOwns {
				item["delegation"] = map[string]any{"agent_id": sess.agent.String(), "delegable": sess.delegable}
			}
			grants = append(grants, item)
		}
		out["grants"] = grants
	}
	writeJSON(w, http.StatusOK, out)
}

// CompleteConnectSession finishes a connect session as if the person authorized provider with
// account: it creates the grant (owned by the session's user, else by the session's agent when
// an agent made it, else by the app) and delegates it to the session's agent. Connecting the
// same account again re-authorizes the existing grant.
func (s *Server) CompleteConnectSession(token, provider, account string) error {
	def := findProvider(provider)
	if def == nil {
		return errState("unknown provider " + provider)
	}
	return s.changeSession(token, connectSession, func(sess *session) error {
		return s.completeConnectLocked(sess, def, account)
	})
}

// completeConnectLocked makes or re-authorizes the grant of a pending connect session.
func (s *Server) completeConnectLocked(sess *session, def *providerDef, account string) error {
	provider := def.id
	if len(sess.allowed) > 0 && !slices.Contains(sess.allowed, provider) {
		return errState("provider not allowed by the session")
	}
	var owner uuid.UUID
	if sess.agentOwns {
		owner = sess.agent
	}
	op := "creation"
	var g *grant
	for _, id := range s.grantOrder {
		o := s.grants[id]
		if o.kind == "oauth" && o.provider == provider && o.account == account && o.userSub == sess.userSub &&
			o.agentOwner == owner && o.state != GrantDeleted && o.label == sess.label {
			g, op = o, "reauth"
			g.state, g.tokenGen, g.scopeMismatch = GrantActive, uuid.New(), false
			g.credential = "tok_" + randAlnum(32)
			break
		}
	}
	if g == nil {
		g = &grant{id: uuid.New(), kind: "oauth", provider: provider, account: account, userSub: sess.userSub,
			agentOwner: owner, scopes: append([]string{}, def.scopes[:min(2, len(def.scopes))]...),
			credential: "tok_" + randAlnum(32), inj: BearerInjection(), delegated: map[uuid.UUID]*delegation{},
			createdAt: s.now(), tokenGen: uuid.New(), label: sess.label, principalType: "system"}
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
		g.delegated[sess.agent] = &delegation{at: s.now(), delegable: sess.delegable}
	}
	sess.status = "completed"
	sess.results = append(sess.results, g.id)
	sess.operations = append(sess.operations, op)
	sess.changed = notify(sess.changed)
	return nil
}

// DeclineProvider records that the person turned provider down while the connect session stays
// pending for the others (declined_providers in the poll answer); code is its error_code, for
// example connect_denied.
func (s *Server) DeclineProvider(token, provider, code string) error {
	return s.changeSession(token, connectSession, func(sess *session) error {
		sess.declined = append(sess.declined, declined{provider: provider, code: code, at: s.now()})
		return nil
	})
}

// DenyConnectSession ends a connect session in error connect_denied.
func (s *Server) DenyConnectSession(token string) error {
	return s.endSession(token, connectSession, "connect_denied", "the person denied access")
}

// FailConnectSession ends a connect session in error with the given error_code (for example
// connect_config_error, invalid_client or service_unavailable).
func (s *Server) FailConnectSession(token, code string) error {
	if code == "" {
		return errState("an error code is required")
	}
	return s.endSession(token, connectSession, code, "the connect flow failed")
}

// ExpireSession ends a pending connect, managed-secret connect or auth session as expired.
func (s *Server) ExpireSession(token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[token]
	if err := sess.pendingErr(); err != nil {
		return err
	}
	sess.status = "expired"
	sess.changed = notify(sess.changed)
	return nil
}

func (s *Server) endSession(token string, kind sessionKind, code, msg string) error {
	return s.changeSession(token, kind, func(sess *session) error {
		sess.status, sess.errCode, sess.errMsg = "error", code, msg
		sess.changed = notify(sess.changed)
		return nil
	})
}

// Auth sessions (end-user sign-in).

func (s *Server) createAuthSession(w http.ResponseWriter, r *http.Request) {
	sess := &session{token: "as_" + randToken(24), kind: authSession, status: "pending", expiresAt: s.now().Add(sessionTTL).UTC()}
	s.mu.Lock()
	s.putSessionLocked(sess)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"session_token": sess.token,
		"auth_url":   s.root + "/auth/" + sess.token + "?state=" + sess.token,
		"expires_in": int(sessionTTL.Seconds()), "expires_at": sess.expiresAt.Format(time.RFC3339)})
}

func (s *Server) pollAuthSession(w http.ResponseWriter, r *http.Request) {
	var req sessionTokenBody
	if !decode(w, r, &req) {
		return
	}
	if req.WaitMS < 0 || req.WaitMS > maxAuthWaitMS {
		writeValidation(w, r, []fieldError{{Type: "less_than_equal", Loc: []any{"body", "wait_ms"},
			Msg: "Input should be less than or equal to 30000", Input: req.WaitMS}})
		return
	}
	s.mu.Lock()
	sess := s.sessionLocked(req.SessionToken, authSession)
	if sess == nil {
		s.mu.Unlock()
		writeError(w, r, errSessionNotFound())
		return
	}
	if sess.status == "pending" && req.WaitMS > 0 {
		s.awaitLocked(r.Context(), sess.changed, time.Duration(req.WaitMS)*time.Millisecond)
		if sess = s.sessionLocked(req.SessionToken, authSession); sess == nil { // evicted while waiting
			s.mu.Unlock()
			writeError(w, r, errSessionNotFound())
			return
		}
	}
	st, sub, code, msg := sess.status, sess.userSub, sess.errCode, sess.errMsg
	s.mu.Unlock()
	out := map[string]any{"status": st}
	switch st {
	case "completed":
		out["user_token"] = s.issueToken(sub)
		out["user_info"] = map[string]any{"sub": sub, "email": sub + "@example.com", "name": sub}
	case "error":
		out["error_code"], out["error_message"] = code, msg
	}
	writeJSON(w, http.StatusOK, out)
}

// CompleteAuthSession signs sub in: polling then returns a fresh JWT and profile for sub.
func (s *Server) CompleteAuthSession(token, sub string) error {
	if sub == "" {
		return errState("a subject is required")
	}
	return s.changeSession(token, authSession, func(sess *session) error {
		sess.status, sess.userSub = "completed", sub
		s.userLocked(sub)
		sess.changed = notify(sess.changed)
		return nil
	})
}

// DenyAuthSession ends an auth session in error connect_denied (the person cancelled).
func (s *Server) DenyAuthSession(token string) error {
	return s.endSession(token, authSession, "connect_denied", "the person cancelled the sign-in")
}

func (s *Server) verifyUserToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Token string `json:"token"`
	}
	if !decode(w, r, &req) {
		return
	}
	sub := s.verifyToken(req.Token)
	if sub == "" {
		writeError(w, r, errf(http.StatusUnauthorized, "jwt_validation_error", "the token is invalid or expired"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": sub})
}
