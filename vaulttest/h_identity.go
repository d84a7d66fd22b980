package vaulttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

type identityRequest struct {
	IncludeProfile bool    `json:"include_profile"`
	UserToken      *string `json:"user_token"`
	AppUserID      *string `json:"app_user_id"`
	Audience       string  `json:"audience"`
	TTLSeconds     *int    `json:"ttl_seconds"`
}

// identityContext resolves who a call is for: the end user (by token, or for an agent by an
// app_user_id it holds a delegation from) and the agent acting.
func (s *Server) identityContext(r *http.Request, req identityRequest) (map[string]any, *apiError) {
	c := callFrom(r.Context())
	sub, e := s.endUser(req.UserToken)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.AppUserID != nil {
		if c.p.agent == nil {
			return nil, errf(http.StatusBadRequest, "", "app_user_id is for agent callers")
		}
		u := s.userByAppIDLocked(*req.AppUserID)
		consent := false
		for _, id := range s.grantOrder {
			if g := s.grants[id]; u != nil && g.userSub == u.sub && reaches(c.p, g) {
				consent = true
				break
			}
		}
		if !consent {
			return nil, errf(http.StatusNotFound, "", "no delegation from that user to this agent")
		}
		sub = u.sub
	}
	out := map[string]any{"app_id": s.appID.String(), "app_user_id": nil, "external_subject_id": nil, "idp_id": nil,
		"user_status": nil, "group_ids": []string{}, "agent_id": nil, "actor_id": nil, "trace": nil}
	if sub != "" {
		u := s.userLocked(sub)
		out["app_user_id"], out["external_subject_id"], out["idp_id"], out["user_status"] = u.appUserID.String(), sub, "vaulttest", "active"
		if req.IncludeProfile {
			out["email"], out["display_name"] = sub+"@example.com", sub
		}
	}
	if c.p.agent != nil {
		out["agent_id"] = c.p.agent.id.String()
	}
	if c.p.actor != uuid.Nil {
		out["actor_id"] = c.p.actor.String()
	}
	if ctx := parseContext(r); ctx != nil && (ctx["run_id"] != "" || ctx["thread_id"] != "") {
		out["trace"] = map[string]any{"run_id": nilIfEmpty(ctx["run_id"]), "thread_id": nilIfEmpty(ctx["thread_id"])}
	}
	return out, nil
}

func (s *Server) resolveIdentity(w http.ResponseWriter, r *http.Request) {
	var req identityRequest
	if !decode(w, r, &req) {
		return
	}
	out, e := s.identityContext(r, req)
	if e != nil {
		writeError(w, r, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

var audienceRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

var (
	assertKeyOnce sync.Once
	assertKey     *ecdsa.PrivateKey
)

// signingKey is the ES256 key identity assertions are signed with, made once per process.
func signingKey() *ecdsa.PrivateKey {
	assertKeyOnce.Do(func() {
		assertKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	})
	return assertKey
}

func (s *Server) assertIdentity(w http.ResponseWriter, r *http.Request) {
	var req identityRequest
	if !decode(w, r, &req) {
		return
	}
	if !audienceRE.MatchString(req.Audience) || len(req.Audience) > 512 {
		writeError(w, r, errf(http.StatusUnprocessableEntity, "invalid_audience", "audience must be a URI"))
		return
	}
	ttl := 120
	if req.TTLSeconds != nil {
		ttl = *req.TTLSeconds
	}
	out, e := s.identityContext(r, req)
	if e != nil {
		writeError(w, r, e)
		return
	}
	now := s.now()
	exp := now.Add(time.Duration(ttl) * time.Second)
	sub, _ := out["app_user_id"].(string)
	if sub == "" {
		sub = s.appID.String()
	}
	claims := jwt.MapClaims{"iss": s.root, "sub": sub, "aud": req.Audience, "iat": now.Unix(), "exp": exp.Unix(), "app_id": s.appID.String()}
	if a, ok := out["agent_id"].(string); ok {
		claims["act"] = map[string]any{"sub": a}
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodES256, claims).SignedString(signingKey())
	if err != nil {
		writeError(w, r, errf(http.StatusServiceUnavailable, "service_unavailable", "cannot sign the assertion"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tok, "expires_at": rfc(exp), "identity": out})
}
