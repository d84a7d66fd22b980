package vaulttest

import (
	"net/http"

	"github.com/google/uuid"
)

// The dev control API's grant setup: what a test in any language needs before it can delegate
// onward or choose among a managed secret's credentials.
func (s *Server) devGrantRoutes(m *http.ServeMux) {
	m.HandleFunc("POST /_dev/grants/{grant_id}/delegations", s.devDelegate)
	m.HandleFunc("POST /_dev/managed-secrets", s.devManagedSecret)
	m.HandleFunc("POST /_dev/managed-secrets/{id}/credentials", s.devMSCredential)
	m.HandleFunc("POST /_dev/providers/{provider}/onward-delegation", s.devOnward)
}

func (s *Server) devDelegate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		AgentID   string `json:"agent_id"`
		Delegable bool   `json:"delegable"`
	}
	if !devBody(w, r, &body) {
		return
	}
	gid, err1 := uuid.Parse(r.PathValue("grant_id"))
	aid, err2 := uuid.Parse(body.AgentID)
	s.mu.Lock()
	ok := err1 == nil && err2 == nil && s.grants[gid] != nil && s.agents[aid] != nil
	s.mu.Unlock()
	if !ok {
		devResult(w, errNotFound)
		return
	}
	var opts []DelegationOption
	if body.Delegable {
		opts = append(opts, Delegable())
	}
	s.Delegate(gid, aid, opts...)
	devResult(w, nil)
}

// devManagedSecret provisions a managed secret (its credential in X-API-Key).
func (s *Server) devManagedSecret(w http.ResponseWriter, r *http.Request) {
	var body struct{ Slug, Name, Secret string }
	if !devBody(w, r, &body) {
		return
	}
	if body.Slug == "" || body.Secret == "" {
		devError(w, http.StatusBadRequest, "slug and secret are required")
		return
	}
	id := s.AddManagedSecret(body.Slug, body.Name, body.Secret, HeaderInjection("X-API-Key"))
	writeJSON(w, http.StatusOK, map[string]string{"managed_secret_id": id.String()})
}

func (s *Server) devMSCredential(w http.ResponseWriter, r *http.Request) {
	var body struct{ Label, Secret string }
	if !devBody(w, r, &body) {
		return
	}
	id, err := s.AddManagedSecretCredential(r.PathValue("id"), body.Label, body.Secret)
	if err != nil {
		devResult(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"credential_id": id.String()})
}

func (s *Server) devOnward(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Allowed bool `json:"allowed"`
	}
	if !devBody(w, r, &body) {
		return
	}
	s.SetOnwardDelegation(r.PathValue("provider"), body.Allowed)
	devResult(w, nil)
}
