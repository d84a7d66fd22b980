package vaulttest

import (
	"context"
	"net/http"
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
