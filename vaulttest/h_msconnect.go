package vaulttest

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/emu"
)

// checkMSConnect applies the request model's validators; false when it answered.
func checkMSConnect(w http.ResponseWriter, r *http.Request, req *emu.ManagedSecretConnectSessionRequest) bool {
	switch {
	case req.Provider == nil && req.TemplateSlug == nil:
		writeValidation(w, r, []fieldError{{Type: "missing", Loc: []any{"body", "provider"}, Msg: "Field required"}})
	case req.Agent != nil && req.DelegatedAgentID != nil:
		modelError(w, r, "agent and delegated_agent_id cannot both be given")
	case req.GrantPolicy != nil && req.RequestedTTLSeconds != nil:
		modelError(w, r, "grant_policy and requested_ttl_seconds cannot both be given")
	case req.RequestedTTLSeconds != nil && *req.RequestedTTLSeconds <= 0:
		modelError(w, r, "requested_ttl_seconds must be positive")
	case req.RepairGrantID != nil && (req.Agent != nil || req.DelegatedAgentID != nil || req.RequestedGrant != nil):
		modelError(w, r, "repair_grant_id cannot be combined with an agent or requested_grant")
	default:
		return true
	}
	return false
}

// createManagedSecretConnectSession opens the page where the signed-in user approves the use of
// a managed secret they hold (fast_path), enters their own key (key_entry), or replaces their
// own key in place (repair); completing it delegates the access to the session's agent.
func (s *Server) createManagedSecretConnectSession(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	var req emu.ManagedSecretConnectSessionRequest
	if !decode(w, r, &req) || !checkMSConnect(w, r, &req) {
		return
	}
	delegable := isTrue(req.Delegable)
	tok := req.UserToken
	sub, ok := s.endUserOf(w, r, &tok)
	if !ok {
		return
	}
	slug := str(req.Provider)
	if slug == "" {
		slug = strings.ToLower(str(req.TemplateSlug))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.secretLocked(slug)
	if ms == nil {
		writeError(w, r, errf(http.StatusNotFound, "secret_not_found", "no managed secret %q", slug))
		return
	}
	sess := &session{token: "ms_sess_" + randToken(24), kind: msConnectSession, status: "pending",
		expiresAt: s.now().Add(sessionTTL).UTC(), userSub: sub, slug: ms.slug, delegable: &delegable}
	if req.RequestedGrant != nil {
		sess.label = req.RequestedGrant.Label
	}
	ref := str(req.Agent)
	if ref == "" {
		ref = str(req.DelegatedAgentID)
	}
	ownKey := c.p.agent != nil && !c.p.impersonated
	switch {
	case ownKey && ref != "" && ref != c.p.agent.id.String() && ref != c.p.agent.name:
		writeError(w, r, errf(http.StatusBadRequest, "agent_cannot_delegate_to_other_agent", "an agent's own key can ask only for itself"))
		return
	case c.p.agent != nil:
		sess.agent = c.p.agent.id
	case ref != "":
		ag := s.agentByRefLocked(ref)
		if ag == nil {
			writeError(w, r, errAgentNotFound(ref))
			return
		}
		sess.agent = ag.id
	}
	if e := s.msPathLocked(sess, ms, req.RepairGrantID); e != nil {
		writeError(w, r, e)
		return
	}
	s.putSessionLocked(sess)
	var agentID, pathOut, existing any
	if sess.agent != uuid.Nil {
		agentID = sess.agent.String()
	}
	if !ownKey { // what the user holds is not told to an agent
		pathOut = sess.msPath
		if sess.existing != uuid.Nil {
			existing = sess.existing.String()
		}
	}
	// A repair never shows the usage-limits step; onward sharing is the person's to decide.
	direct := sess.msPath == "repair" || (isTrue(req.Direct) && !delegable)
	writeJSON(w, http.StatusOK, map[string]any{"session_token": sess.token,
		"connect_url": s.root + "/ms-connect/" + sess.token + "#session=" + sess.token,
		"expires_in":  int(sessionTTL.Seconds()), "expires_at": sess.expiresAt.Format(time.RFC3339),
		"delegable_requested": delegable, "path": pathOut, "existing_grant_id": existing, "direct": direct,
		"secret_slug": ms.slug, "template_slug": nilIfEmpty(strings.ToLower(str(req.TemplateSlug))), "agent_id": agentID})
}

// msPathLocked decides how the session completes: a named repair of the user's own key; else a
// grant the user already holds (the labelled one, else the newest); else a repair of the user's
// own expired key (one live key per user and provider); else a key entry.
func (s *Server) msPathLocked(sess *session, ms *managedSecret, repair *string) *apiError {
	ownKey := func(g *grant) bool {
		return g.kind == "managed_secret" && g.msID == ms.id && g.userSub == sess.userSub && g.credentialKind == "end_user" && g.state != GrantDeleted
	}
	if repair != nil {
		id, err := uuid.Parse(*repair)
		if g := s.grants[id]; err != nil || g == nil || !ownKey(g) {
			return errGrantNotFound(*repair)
		}
		sess.msPath, sess.existing, sess.repair = "repair", id, id
		return nil
	}
	var held, expired *grant
	for _, id := range s.grantOrder {
		g := s.grants[id]
		switch {
		case g.kind != "managed_secret" || g.msID != ms.id || g.userSub != sess.userSub:
		case g.state == GrantActive && (held == nil || held.label != sess.label || sess.label == ""):
			held = g
		case g.state == GrantExpired && ownKey(g):
			expired = g
		}
	}
	switch {
	case held != nil:
		sess.msPath, sess.existing = "fast_path", held.id
	case expired != nil:
		sess.msPath, sess.existing, sess.repair = "repair", expired.id, expired.id
	default:
		sess.msPath = "key_entry"
	}
	return nil
}

// CompleteManagedSecretSession finishes a managed-secret connect session the way its path
// says: a fast path uses the grant the user holds (a non-empty secret is ignored); a key entry
// makes the user's grant with their own key (credential_kind end_user), or with the operator's
// credential when secret is empty; a repair replaces the user's key in place and re-activates
// the grant. The grant is delegated to the session's agent, if any, and its id returned.
func (s *Server) CompleteManagedSecretSession(token, secret string) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.changeSession(token, msConnectSession, func(sess *session) error {
		ms := s.secretBySlug[sess.slug]
		if ms == nil {
			return errState("the managed secret is gone")
		}
		g := s.grants[sess.existing]
		switch {
		case sess.msPath != "key_entry" && g == nil:
			return errState("the grant of the session is gone")
		case sess.msPath == "repair" && secret == "":
			return errState("a repair needs the new key")
		case sess.msPath == "repair":
			g.credential, g.state, g.tokenGen = secret, GrantActive, uuid.New()
			if c := ms.credLocked(g.credentialID); c != nil {
				c.secret = secret
			}
		case sess.msPath == "key_entry":
			g = s.newMSGrantLocked(ms, "user", sess.userSub, uuid.Nil, sess.label)
			if secret != "" {
				c := &msCredential{id: uuid.New(), label: "end user key", kind: "end_user", secret: secret}
				ms.creds = append(ms.creds, c)
				g.credential, g.credentialKind, g.credentialID = secret, "end_user", c.id
			}
		}
		if sess.agent != uuid.Nil {
			s.delegateLocked(g, sess)
		}
		sess.status = "completed"
		sess.results = append(sess.results, g.id)
		sess.changed = notify(sess.changed)
		id = g.id
		return nil
	})
	return id, err
}

// DenyManagedSecretSession ends a managed-secret connect session: the person declined.
func (s *Server) DenyManagedSecretSession(token string) error {
	return s.endSession(token, msConnectSession, "connect_denied", "the person declined")
}
