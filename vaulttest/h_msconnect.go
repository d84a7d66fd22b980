package vaulttest

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

type msConnectRequest struct {
	connectFields
	Provider         *string `json:"provider"`
	TemplateSlug     *string `json:"template_slug"`
	DelegatedAgentID *string `json:"delegated_agent_id"`
	UserToken        string  `json:"user_token"`
	Delegable        bool    `json:"delegable"`
}

// createManagedSecretConnectSession opens the page where the signed-in user approves the use of
// a managed secret (fast_path, when they already hold a grant) or enters their own key
// (key_entry); completing it makes the user's grant, delegated to the session's agent.
func (s *Server) createManagedSecretConnectSession(w http.ResponseWriter, r *http.Request) {
	c := callFrom(r.Context())
	var req msConnectRequest
	if !decode(w, r, &req) {
		return
	}
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
		expiresAt: s.now().Add(sessionTTL).UTC(), userSub: sub, slug: ms.slug, delegable: req.Delegable}
	ref := str(req.Agent)
	if ref == "" {
		ref = str(req.DelegatedAgentID)
	}
	switch {
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
	sess.label = req.label()
	path, existing := "key_entry", any(nil)
	if req.RepairGrantID != nil {
		path = "repair"
	}
	for _, id := range s.grantOrder {
		if g := s.grants[id]; g.kind == "managed_secret" && g.msID == ms.id && g.userSub == sub && g.state == GrantActive && path != "repair" {
			path, existing = "fast_path", g.id.String()
			break
		}
	}
	s.putSessionLocked(sess)
	var agentID any
	if sess.agent != uuid.Nil {
		agentID = sess.agent.String()
	}
	var pathOut any = path
	if c.p.agent != nil && !c.p.impersonated {
		pathOut = nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"session_token": sess.token,
		"connect_url": s.root + "/ms-connect/" + sess.token + "#session=" + sess.token,
		"expires_in":  int(sessionTTL.Seconds()), "expires_at": sess.expiresAt.Format(time.RFC3339),
		"delegable_requested": req.Delegable, "path": pathOut, "existing_grant_id": existing, "direct": req.Direct,
		"secret_slug": ms.slug, "template_slug": str(req.TemplateSlug), "agent_id": agentID})
}

// CompleteManagedSecretSession finishes a managed-secret connect session: with a non-empty
// secret the user's own key becomes their grant (credential_kind end_user), without one the
// operator's credential is used. The grant is delegated to the session's agent, if any, and
// its id returned.
func (s *Server) CompleteManagedSecretSession(token, secret string) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.changeSession(token, msConnectSession, func(sess *session) error {
		ms := s.secretBySlug[sess.slug]
		if ms == nil {
			return errState("the managed secret is gone")
		}
		g := s.newMSGrantLocked(ms, "user", sess.userSub, uuid.Nil, sess.label)
		if secret != "" {
			c := &msCredential{id: uuid.New(), label: "end user key", kind: "end_user", secret: secret}
			ms.creds = append(ms.creds, c)
			g.credential, g.credentialKind, g.credentialID = secret, "end_user", c.id
		}
		if sess.agent != uuid.Nil {
			g.delegated[sess.agent] = &delegation{at: s.now(), delegable: sess.delegable}
		}
		sess.status = "completed"
		sess.results = append(sess.results, g.id)
		sess.changed = notify(sess.changed)
		id = g.id
		return nil
	})
	return id, err
}
