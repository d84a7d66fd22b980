package vaulttest

import (
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/emu"
)

const sessionTTL = 15 * time.Minute

func (a *api) CreateConnectSession(w http.ResponseWriter, r *http.Request, _ emu.CreateConnectSessionParams) {
	s := a.s
	c := callFrom(r.Context())
	var req emu.ConnectSessionCreate
	if e := decode(r, &req, true); e != nil {
		writeError(w, r, e)
		return
	}
	for _, p := range req.AllowedProviders {
		if findProvider(p) == nil {
			writeError(w, r, errf(http.StatusUnprocessableEntity, "connect_config", "unknown provider %q", p).with(emu.ErrorDetails{ProviderID: ptr(p)}))
			return
		}
	}
	if req.RequiredScopes != nil {
		for p, scopes := range *req.RequiredScopes {
			def := findProvider(p)
			if def == nil {
				writeError(w, r, errf(http.StatusUnprocessableEntity, "connect_config", "unknown provider %q", p).with(emu.ErrorDetails{ProviderID: ptr(p)}))
				return
			}
			for _, sc := range scopes {
				if !slices.Contains(def.scopes, sc) {
					writeError(w, r, errf(http.StatusUnprocessableEntity, "connect_config", "scope %q is not in the %s catalog", sc, p).with(emu.ErrorDetails{ProviderID: ptr(p), MissingScopes: []string{sc}}))
					return
				}
			}
		}
	}
	sess := &session{token: randToken(24), status: "pending", expiresAt: s.now().Add(sessionTTL).UTC(), allowed: req.AllowedProviders, returnURL: deref(req.ReturnURL)}
	if req.Metadata != nil {
		sess.userSub = (*req.Metadata)["user_sub"]
	}
	s.mu.Lock()
	defer func() {
		if sess != nil {
			s.sessions[sess.token] = sess
		}
		s.mu.Unlock()
	}()
	switch {
	case c.agent != nil:
		sess.agent, sess.agentOwns = c.agent.id, true
	case req.Agent != nil:
		ag := s.agents[*req.Agent]
		if ag == nil || ag.status == "revoked" {
			sess = nil
			writeError(w, r, errf(http.StatusNotFound, "agent_not_found", "no such agent").with(detailsAgent(*req.Agent)))
			return
		}
		sess.agent = ag.id
	}
	writeJSON(w, http.StatusCreated, emu.ConnectSession{SessionToken: sess.token, ConnectURL: s.root + "/connect/" + sess.token, ExpiresAt: sess.expiresAt})
}

func (s *Server) sessionLocked(token string, auth bool) *session {
	sess := s.sessions[token]
	if sess == nil || sess.auth != auth {
		return nil
	}
	if sess.status == "pending" && !s.now().Before(sess.expiresAt) {
		sess.status = "expired"
	}
	return sess
}

func sessionErr(sess *session) *emu.SessionError {
	switch sess.status {
	case "denied":
		return &emu.SessionError{Code: "connect_denied", Message: "the person denied access"}
	case "error":
		return &emu.SessionError{Code: emu.ErrorCode(sess.errCode), Message: "the connect flow failed"}
	}
	return nil
}

func (a *api) GetConnectSession(w http.ResponseWriter, r *http.Request, token emu.SessionTokenPath, _ emu.GetConnectSessionParams) {
	s := a.s
	s.mu.Lock()
	sess := s.sessionLocked(token, false)
	if sess == nil {
		s.mu.Unlock()
		writeError(w, r, errf(http.StatusNotFound, "session_not_found", "no such session"))
		return
	}
	out := emu.ConnectSessionStatus{Status: emu.SessionStatus(sess.status), ExpiresAt: sess.expiresAt, Error: sessionErr(sess)}
	for _, res := range sess.results {
		cr := emu.ConnectResult{GrantID: res.grantID, ProviderID: res.provider, Scopes: nonNil(res.scopes)}
		if res.account != "" {
			cr.AccountIdentifier = ptr(res.account)
		}
		out.Results = append(out.Results, cr)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (a *api) CreateAuthSession(w http.ResponseWriter, r *http.Request, _ emu.CreateAuthSessionParams) {
	s := a.s
	c := callFrom(r.Context())
	if c.agent != nil {
		writeError(w, r, errf(http.StatusBadRequest, "agent_user_token_not_allowed", "agent principals never handle end-user tokens"))
		return
	}
	var req emu.AuthSessionCreate
	if e := decode(r, &req, false); e != nil {
		writeError(w, r, e)
		return
	}
	sess := &session{token: randToken(24), auth: true, status: "pending", expiresAt: s.now().Add(sessionTTL).UTC(), returnURL: deref(req.ReturnURL)}
	s.mu.Lock()
	s.sessions[sess.token] = sess
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, emu.AuthSession{SessionToken: sess.token, AuthURL: s.root + "/auth/" + sess.token, ExpiresAt: sess.expiresAt})
}

func (a *api) GetAuthSession(w http.ResponseWriter, r *http.Request, token emu.SessionTokenPath, _ emu.GetAuthSessionParams) {
	s := a.s
	c := callFrom(r.Context())
	if c.agent != nil {
		writeError(w, r, errf(http.StatusBadRequest, "agent_user_token_not_allowed", "agent principals never handle end-user tokens"))
		return
	}
	s.mu.Lock()
	sess := s.sessionLocked(token, true)
	if sess == nil {
		s.mu.Unlock()
		writeError(w, r, errf(http.StatusNotFound, "session_not_found", "no such session"))
		return
	}
	out := emu.AuthSessionStatus{Status: emu.SessionStatus(sess.status), ExpiresAt: sess.expiresAt, Error: sessionErr(sess)}
	sub := sess.userSub
	s.mu.Unlock()
	if out.Status == "completed" {
		out.UserToken = ptr(s.issueToken(sub))
		out.UserInfo = &emu.UserInfo{Sub: sub, Email: ptr(sub + "@example.com"), Name: ptr(sub)}
	}
	writeJSON(w, http.StatusOK, out)
}

// CompleteConnectSession finishes a connect session as if the person authorized provider with
// account: it creates the grant (owned by the session's agent, or by the end user named in the
// session's metadata "user_sub", else by the system principal) and delegates it when asked.
func (s *Server) CompleteConnectSession(token, provider, account string) error {
	def := findProvider(provider)
	if def == nil {
		return errState("unknown provider " + provider)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessionLocked(token, false)
	if sess == nil {
		return errNotFound
	}
	if sess.status != "pending" {
		return errState("session is " + sess.status)
	}
	if len(sess.allowed) > 0 && !slices.Contains(sess.allowed, provider) {
		return errState("provider not allowed by the session")
	}
	g := &grant{id: uuid.New(), kind: "oauth", provider: provider, account: account, userSub: sess.userSub,
		scopes: append([]string{}, def.scopes[:min(2, len(def.scopes))]...), credential: "tok_" + randAlnum(32),
		inj: BearerInjection(), delegated: map[uuid.UUID]time.Time{}, createdAt: s.now()}
	if sess.agentOwns {
		g.agentOwner = sess.agent
	} else if sess.agent != uuid.Nil {
		g.delegated[sess.agent] = s.now()
	}
	if g.userSub != "" {
		s.users[g.userSub] = true
	}
	s.putGrant(g)
	sess.status = "completed"
	sess.results = append(sess.results, connectResult{grantID: g.id, provider: provider, account: account, scopes: g.scopes})
	return nil
}

// DenyConnectSession ends a connect session as denied (connect_denied).
func (s *Server) DenyConnectSession(token string) error {
	return s.endSession(token, false, "denied", "")
}

// FailConnectSession ends a connect session in error with code "connect_config" or "connect_flow".
func (s *Server) FailConnectSession(token, code string) error {
	if code != "connect_config" && code != "connect_flow" {
		return errState("code must be connect_config or connect_flow")
	}
	return s.endSession(token, false, "error", code)
}

// CompleteAuthSession signs sub in: polling then returns a fresh JWT and profile for sub.
func (s *Server) CompleteAuthSession(token, sub string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessionLocked(token, true)
	if sess == nil {
		return errNotFound
	}
	if sess.status != "pending" {
		return errState("session is " + sess.status)
	}
	sess.status, sess.userSub = "completed", sub
	s.users[sub] = true
	return nil
}

// DenyAuthSession ends an auth session as denied.
func (s *Server) DenyAuthSession(token string) error { return s.endSession(token, true, "denied", "") }

func (s *Server) endSession(token string, auth bool, st, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessionLocked(token, auth)
	if sess == nil {
		return errNotFound
	}
	if sess.status != "pending" {
		return errState("session is " + sess.status)
	}
	sess.status, sess.errCode = st, code
	return nil
}
