package vaulttest

import (
	"net/http"
	"regexp"
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
	if req.AppUserID != nil && c.p.agent == nil {
		return nil, errf(http.StatusBadRequest, "", "app_user_id is for agent callers")
	}
	sub, e := s.callUser(req.UserToken, req.AppUserID)
	if e != nil {
		return nil, e
	}
	out := map[string]any{"app_id": s.appID.String(), "app_user_id": nil, "external_subject_id": nil, "idp_id": nil,
		"user_status": nil, "group_ids": []string{}, "agent_id": nil, "actor_id": nil, "trace": nil}
	if c.p.agent != nil {
		out["agent_id"] = c.p.agent.id.String()
	}
	if c.p.actor != uuid.Nil {
		out["actor_id"] = c.p.actor.String()
	}
	if ctx := parseContext(r); ctx != nil && (ctx["run_id"] != "" || ctx["thread_id"] != "") {
		out["trace"] = map[string]any{"run_id": nilIfEmpty(ctx["run_id"]), "thread_id": nilIfEmpty(ctx["thread_id"])}
	}
	if sub == "" {
		return out, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.AppUserID != nil && !s.consentedLocked(c.p, sub) {
		return nil, errf(http.StatusNotFound, "", "no delegation from that user to this agent")
	}
	u := s.userLocked(sub)
	out["app_user_id"], out["external_subject_id"], out["idp_id"], out["user_status"] = u.appUserID.String(), sub, "vaulttest", "active"
	if req.IncludeProfile {
		out["email"], out["display_name"] = sub+"@example.com", sub
	}
	return out, nil
}

// consentedLocked reports whether the user sub has delegated a grant to the calling agent: the
// consent edge an app_user_id needs.
func (s *Server) consentedLocked(p principal, sub string) bool {
	for _, id := range s.grantOrder {
		if g := s.grants[id]; g.userSub == sub && reaches(p, g) {
			return true
		}
	}
	return false
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

// defaultAssertionTTL is the vault's assertion lifetime when the call names none.
const defaultAssertionTTL = 120 * time.Second

func (s *Server) assertIdentity(w http.ResponseWriter, r *http.Request) {
	var req identityRequest
	if !decode(w, r, &req) {
		return
	}
	if !audienceRE.MatchString(req.Audience) || len(req.Audience) > 512 {
		writeError(w, r, errf(http.StatusUnprocessableEntity, "invalid_audience", "audience must be a URI"))
		return
	}
	ttl := defaultAssertionTTL
	if req.TTLSeconds != nil {
		ttl = time.Duration(*req.TTLSeconds) * time.Second
	}
	out, e := s.identityContext(r, req)
	if e != nil {
		writeError(w, r, e)
		return
	}
	tok, exp, err := s.signAssertion(callFrom(r.Context()).p, req, out, ttl)
	if err != nil {
		writeError(w, r, errf(http.StatusServiceUnavailable, "service_unavailable", "cannot sign the assertion"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tok, "expires_at": rfc(exp), "identity": out})
}

// signAssertion mints the compact ES256 JWS of an identity: the claims alter-sdk 0.29.0's
// verify_identity_assertion requires (iss, aud, sub, iat, exp, jti, azp, alter with app_id, and
// act with alter.agent_auth for an agent), plus the labels it ignores (trace, groups, profile).
func (s *Server) signAssertion(p principal, req identityRequest, id map[string]any, ttl time.Duration) (string, time.Time, error) {
	appID := s.appID.String()
	now := s.now().Truncate(time.Second)
	exp := now.Add(ttl)
	sub := "alter:app:" + appID
	if u, ok := id["app_user_id"].(string); ok {
		sub = "alter:user:" + u
	}
	alter := map[string]any{"app_id": appID, "group_ids": id["group_ids"]}
	claims := jwt.MapClaims{"iss": s.IdentityIssuer(), "aud": req.Audience, "sub": sub, "azp": appID,
		"iat": now.Unix(), "exp": exp.Unix(), "jti": uuid.NewString(), "alter": alter}
	if p.agent != nil {
		claims["act"] = map[string]any{"sub": "alter:agent:" + p.agent.id.String()}
		alter["agent_auth"] = "api_key"
		if p.impersonated {
			alter["agent_auth"] = "app_key_caller"
		}
	}
	if t := id["trace"]; t != nil {
		alter["trace"] = t
	}
	if req.IncludeProfile && id["email"] != nil {
		claims["email"], claims["name"] = id["email"], id["display_name"]
	}
	tok, err := s.idKey.sign(claims)
	return tok, exp, err
}
