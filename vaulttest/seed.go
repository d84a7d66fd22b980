package vaulttest

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/emu"
)

// KeyOption configures a seeded App key.
type KeyOption func(*apiKey)

// KeyScopes limits the key to these Alter scopes (default: every scope).
func KeyScopes(scopes ...string) KeyOption { return func(k *apiKey) { k.scopes = scopes } }

// KeyActive is the active state (as an option: a no-op that clears deprecation and revocation).
func KeyActive() KeyOption { return func(k *apiKey) { k.deprecatedAt, k.revokedAt = nil, nil } }

// KeyDeprecated is the deprecated state: the key works, answers carry X-Alter-Key-Deprecated.
func KeyDeprecated() KeyOption {
	return func(k *apiKey) { t := k.stampTime(); k.deprecatedAt, k.revokedAt = &t, nil }
}

// KeyRevoked is the revoked state: the key gets invalid_key.
func KeyRevoked() KeyOption { return func(k *apiKey) { t := k.stampTime(); k.revokedAt = &t } }

// AddAppKey seeds an App key.
func (s *Server) AddAppKey(opts ...KeyOption) Key {
	k := &apiKey{id: uuid.New(), plaintext: "alter_key_app_" + randAlnum(32), kind: kindApp, scopes: allScopes(), createdAt: s.now()}
	for _, o := range opts {
		o(k)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putKey(k)
	return Key{ID: k.id, APIKey: k.plaintext}
}

func (s *Server) putKey(k *apiKey) {
	s.keys[k.plaintext] = k
	s.keysByID[k.id] = k
}

// AgentOption configures a seeded agent.
type AgentOption func(*agent)

// AgentScopes sets the agent's provider scope allow-list.
func AgentScopes(scopes map[string][]string) AgentOption {
	return func(a *agent) { a.scopes = scopes }
}

// AgentRequireApproval makes every proxy call of the agent wait for a human approval.
func AgentRequireApproval() AgentOption {
	return func(a *agent) { a.requireApproval, a.hasPolicy = true, true }
}

// AgentInactive seeds the agent inactive.
func AgentInactive() AgentOption { return func(a *agent) { a.status = "inactive" } }

// AddAgent seeds a managed agent with one active key.
func (s *Server) AddAgent(name string, opts ...AgentOption) Agent {
	now := s.now()
	a := &agent{id: uuid.New(), name: name, typ: "agent", status: "active", scopes: map[string][]string{},
		metadata: map[string]string{}, createdAt: now, updatedAt: now}
	for _, o := range opts {
		o(a)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agents[a.id] = a
	s.agentOrder = append(s.agentOrder, a.id)
	k := s.newAgentKeyLocked(a, "")
	return Agent{ID: a.id, Name: name, APIKey: k.plaintext, KeyID: k.id}
}

func (s *Server) newAgentKeyLocked(a *agent, name string) *apiKey {
	k := &apiKey{id: uuid.New(), plaintext: "alter_key_agent_" + randAlnum(32), kind: kindAgent, agentID: a.id, name: name, createdAt: s.now()}
	s.putKey(k)
	return k
}

// SetKeyState moves any key (App or agent) to a state.
func (s *Server) SetKeyState(keyID uuid.UUID, st KeyState) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keysByID[keyID]
	if k == nil {
		return
	}
	if st != nil {
		k.stamp = now
		st()(k)
		k.stamp = time.Time{}
	}
}

// AddUser registers an end user and returns a JWT (HS256, 24 h) the emulator signed for it.
func (s *Server) AddUser(sub string) User {
	s.mu.Lock()
	s.users[sub] = true
	s.mu.Unlock()
	return User{Sub: sub, Token: s.issueToken(sub)}
}

func (s *Server) issueToken(sub string) string {
	now := s.now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject: sub, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(24 * time.Hour)),
		Issuer: "vaulttest",
	}).SignedString(s.jwtKey)
	if err != nil {
		panic(err) // HS256 with a byte key cannot fail
	}
	return tok
}

// verifyToken returns the subject of a JWT the emulator issued, or "".
func (s *Server) verifyToken(tok string) string {
	claims := &jwt.RegisteredClaims{}
	t, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return s.jwtKey, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(s.now), jwt.WithExpirationRequired())
	if err != nil || !t.Valid || claims.Subject == "" {
		return ""
	}
	return claims.Subject
}

// AddOAuthGrant seeds an OAuth grant and returns its id.
func (s *Server) AddOAuthGrant(g OAuthGrant) uuid.UUID {
	if g.Credential == "" {
		g.Credential = "gho_" + randAlnum(36)
	}
	gr := &grant{id: uuid.New(), kind: "oauth", provider: g.Provider, account: g.Account, userSub: g.UserSub,
		agentOwner: g.AgentOwner, scopes: append([]string{}, g.Scopes...), credential: g.Credential,
		inj: g.Injection.withDefaults(), delegated: map[uuid.UUID]time.Time{}, createdAt: s.now()}
	if g.Injection.AdditionalCredentials != nil {
		gr.inj.AdditionalCredentials = g.Injection.AdditionalCredentials
	}
	for _, a := range g.DelegatedTo {
		gr.delegated[a] = s.now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.UserSub != "" {
		s.users[g.UserSub] = true
	}
	s.putGrant(gr)
	return gr.id
}

func (s *Server) putGrant(g *grant) {
	s.grants[g.id] = g
	s.grantOrder = append(s.grantOrder, g.id)
}

// AddManagedSecret provisions an operator secret, e.g. id "ms_stripe".
func (s *Server) AddManagedSecret(id, name string, credential string, inj Injection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[id] = &managedSecret{id: id, name: name, credential: credential, inj: inj.withDefaults()}
	if inj.AdditionalCredentials != nil {
		s.secrets[id].inj.AdditionalCredentials = inj.AdditionalCredentials
	}
}

// AddManagedSecretGrant grants a managed secret to an agent (uuid.Nil: the system principal).
func (s *Server) AddManagedSecretGrant(msID string, agentID uuid.UUID) uuid.UUID {
	pt, pid := "system", ""
	if agentID != uuid.Nil {
		pt, pid = "agent", agentID.String()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newMSGrantLocked(msID, pt, pid, agentID, "").id
}

func (s *Server) newMSGrantLocked(msID, pt, pid string, agentID uuid.UUID, label string) *grant {
	g := &grant{id: uuid.New(), kind: "managed_secret", provider: msID, principalType: pt, principalID: pid,
		agentOwner: agentID, label: label, scopes: []string{}, delegated: map[uuid.UUID]time.Time{}, createdAt: s.now()}
	if pt == "user" {
		g.userSub = pid
	}
	s.putGrant(g)
	return g
}

// SetGrantState moves a grant to a state.
func (s *Server) SetGrantState(id uuid.UUID, st GrantState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.grants[id]; g != nil {
		g.state = st
	}
}

// SetGrantRefreshing makes the next n uses of the grant fail with 409 token_refresh_in_progress.
func (s *Server) SetGrantRefreshing(id uuid.UUID, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.grants[id]; g != nil {
		g.refreshing = n
	}
}

// SetGrantPolicy sets a grant's policy.
func (s *Server) SetGrantPolicy(id uuid.UUID, p Policy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.grants[id]; g != nil {
		g.policy = p
	}
}

// Delegate delegates an existing grant to an agent.
func (s *Server) Delegate(grantID, agentID uuid.UUID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.grants[grantID]; g != nil {
		g.delegated[agentID] = s.now()
	}
}

// helpers shared by handlers.

func itoa(n int) string { return strconv.Itoa(n) }

func toCode(s string) emu.ErrorCode { return emu.ErrorCode(s) }

func detailsRetry(n int) emu.ErrorDetails { return emu.ErrorDetails{RetryAfterSeconds: &n} }

func detailsAgent(id uuid.UUID) emu.ErrorDetails { return emu.ErrorDetails{AgentID: &id} }

func detailsGrant(id uuid.UUID) emu.ErrorDetails { return emu.ErrorDetails{GrantID: &id} }

func detailsField(f string) emu.ErrorDetails { return emu.ErrorDetails{Field: &f} }

var _ = fmt.Sprint
var _ = slices.Contains[[]string]
