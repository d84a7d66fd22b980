package vaulttest

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/apikey"
)

// KeyOption configures a seeded App key.
type KeyOption func(*apiKey)

// KeyScopes limits the key to these Alter scopes (default: every scope; ListScopes lists them).
func KeyScopes(scopes ...string) KeyOption { return func(k *apiKey) { k.scopes = scopes } }

// KeyActive is the active state (as an option: clears deprecation and revocation).
func KeyActive() KeyOption {
	return func(k *apiKey) { k.deprecatedAt, k.revokedAt, k.graceUntil = nil, nil, nil }
}

// KeyDeprecated is the deprecated state: the key works, answers carry X-Alter-Key-Deprecated: true.
func KeyDeprecated() KeyOption {
	return func(k *apiKey) { t := k.stampTime(); k.deprecatedAt, k.revokedAt = &t, nil }
}

// KeyRevoked is the revoked state: the key gets 401 key_revoked.
func KeyRevoked() KeyOption { return func(k *apiKey) { t := k.stampTime(); k.revokedAt = &t } }

// KeyExpired makes the key expire now: it gets 401 key_expired.
func KeyExpired() KeyOption { return func(k *apiKey) { t := k.stampTime(); k.expiresAt = &t } }

// KeyLegacy gives the key the legacy format alter_key_<40> instead of alter_rk_….
func KeyLegacy() KeyOption { return func(k *apiKey) { k.typ, k.plaintext = "", apikey.NewLegacy() } }

// AddAppKey seeds an App key (alter_rk_…).
func (s *Server) AddAppKey(opts ...KeyOption) Key {
	k := &apiKey{id: uuid.New(), plaintext: apikey.NewScoped("rk"), typ: "rk", scopes: allScopes(),
		scopeVersion: scopeVersion, createdAt: s.now()}
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
	return func(a *agent) {
		a.scopes = map[string]any{}
		for p, sc := range scopes {
			a.scopes[p] = append([]string{}, sc...)
		}
	}
}

// AgentRequireApproval makes every proxy call of the agent wait for a human approval.
func AgentRequireApproval() AgentOption {
	return func(a *agent) { a.requireApproval, a.policy = true, map[string]any{"requires_approval": true} }
}

// AgentInactive seeds the agent paused (status inactive).
func AgentInactive() AgentOption { return func(a *agent) { a.status = "inactive" } }

// AgentDisplayName sets the agent's display name.
func AgentDisplayName(n string) AgentOption { return func(a *agent) { a.displayName = n } }

// AddAgent seeds a managed agent with one active key (alter_ak_…).
func (s *Server) AddAgent(name string, opts ...AgentOption) Agent {
	now := s.now()
	a := &agent{id: uuid.New(), name: name, typ: "agent", status: "active", scopes: map[string]any{},
		metadata: map[string]any{}, policy: map[string]any{}, version: 1, createdAt: now}
	for _, o := range opts {
		o(a)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.agents[a.id] = a
	s.agentOrder = append(s.agentOrder, a.id)
	k := s.newAgentKeyLocked(a)
	return Agent{ID: a.id, Name: name, APIKey: k.plaintext, KeyID: k.id}
}

func (s *Server) newAgentKeyLocked(a *agent) *apiKey {
	a.keySeq++
	k := &apiKey{id: uuid.New(), plaintext: apikey.NewScoped("ak"), typ: "ak", agentID: a.id,
		scopes: agentKeyScopes, scopeVersion: scopeVersion, name: fmt.Sprintf("%s-%d", a.name, a.keySeq),
		createdAt: s.now(), seq: a.keySeq}
	s.putKey(k)
	a.keys = append(a.keys, k.id)
	return k
}

// SetKeyState moves any key (App or agent) to a state.
func (s *Server) SetKeyState(keyID uuid.UUID, st KeyState) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keysByID[keyID]
	if k == nil || st == nil {
		return
	}
	k.stamp = now
	st()(k)
	k.stamp = time.Time{}
}

// AddUser registers an end user and returns a JWT (HS256, 24 h) the emulator signed for it.
func (s *Server) AddUser(sub string) User {
	s.mu.Lock()
	u := s.userLocked(sub)
	s.mu.Unlock()
	return User{Sub: sub, AppUserID: u.appUserID, Token: s.issueToken(sub)}
}

func (s *Server) userLocked(sub string) *user {
	if u := s.users[sub]; u != nil {
		return u
	}
	u := &user{sub: sub, appUserID: uuid.NewSHA1(s.appID, []byte("user\x00"+sub))}
	s.users[sub] = u
	s.usersByID[u.appUserID] = u
	return u
}

func (s *Server) issueToken(sub string) string {
	now := s.now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "iat": now.Unix(), "exp": now.Add(24 * time.Hour).Unix(), "iss": "vaulttest",
		"email": sub + "@example.com", "name": sub,
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

// sessionAge is how long ago the emulator issued a user token (its iat): the age of the end
// user's sign-in, which a step_up rule bounds. false: no valid token, so no session.
func (s *Server) sessionAge(tok string) (time.Duration, bool) {
	claims := &jwt.RegisteredClaims{}
	t, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return s.jwtKey, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(s.now), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if tok == "" || err != nil || !t.Valid || claims.IssuedAt == nil {
		return 0, false
	}
	return s.now().Sub(claims.IssuedAt.Time), true
}

// AddOAuthGrant seeds an OAuth grant and returns its id.
func (s *Server) AddOAuthGrant(g OAuthGrant) uuid.UUID {
	if g.Credential == "" {
		g.Credential = "gho_" + randAlnum(36)
	}
	gr := &grant{id: uuid.New(), kind: "oauth", provider: g.Provider, account: g.Account, userSub: g.UserSub,
		agentOwner: g.AgentOwner, scopes: append([]string{}, g.Scopes...), credential: g.Credential,
		inj: g.Injection.withDefaults(), delegated: map[uuid.UUID]*delegation{}, createdAt: s.now(),
		tokenGen: uuid.New(), label: g.Label}
	switch {
	case g.AgentOwner != uuid.Nil:
		gr.principalType = "agent"
	case g.UserSub != "":
		gr.principalType = "user"
	default:
		gr.principalType = "system"
	}
	for _, a := range g.DelegatedTo {
		gr.delegated[a] = &delegation{at: s.now(), delegable: false}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.UserSub != "" {
		s.userLocked(g.UserSub)
	}
	s.putGrant(gr)
	return gr.id
}

func (s *Server) putGrant(g *grant) {
	if g.credentialID == uuid.Nil {
		g.credentialID = uuid.New() // a grant made with its own consent has its own credential
	}
	s.grants[g.id] = g
	s.grantOrder = append(s.grantOrder, g.id)
}

// AddManagedSecret provisions an operator secret under slug (the provider_id of retrieve
// calls) and returns its id (the managed_secret_id of grant calls, which also accept the slug).
func (s *Server) AddManagedSecret(slug, name, credential string, inj Injection) uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := &managedSecret{id: uuid.NewSHA1(s.appID, []byte("ms\x00"+slug)), slug: slug, name: name,
		credential: credential, inj: inj.withDefaults()}
	ms.creds = []*msCredential{{id: uuid.NewSHA1(ms.id, []byte("cred\x00default")), label: "default", kind: "developer", secret: credential}}
	s.secrets[ms.id] = ms
	s.secretBySlug[slug] = ms
	return ms.id
}

// secretLocked finds a managed secret by id or slug.
func (s *Server) secretLocked(idOrSlug string) *managedSecret {
	if id, err := uuid.Parse(idOrSlug); err == nil {
		if ms := s.secrets[id]; ms != nil {
			return ms
		}
	}
	return s.secretBySlug[idOrSlug]
}

// AddManagedSecretGrant grants a managed secret (id or slug) to an agent (uuid.Nil: the app's
// system principal). It returns uuid.Nil when there is no such secret.
func (s *Server) AddManagedSecretGrant(msIDOrSlug string, agentID uuid.UUID) uuid.UUID {
	pt := "system"
	if agentID != uuid.Nil {
		pt = "agent"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.secretLocked(msIDOrSlug)
	if ms == nil {
		return uuid.Nil
	}
	return s.newMSGrantLocked(ms, pt, "", agentID, "").id
}

func (s *Server) newMSGrantLocked(ms *managedSecret, pt, sub string, agentID uuid.UUID, label string) *grant {
	g := &grant{id: uuid.New(), kind: "managed_secret", provider: ms.slug, msID: ms.id, principalType: pt,
		userSub: sub, agentOwner: agentID, label: label, scopes: []string{}, delegated: map[uuid.UUID]*delegation{},
		createdAt: s.now(), credentialKind: "developer", tokenGen: uuid.New(), credentialID: ms.creds[0].id}
	s.putGrant(g)
	return g
}

// SetGrantState moves a grant to a state.
func (s *Server) SetGrantState(id uuid.UUID, st GrantState) {
	s.withGrant(id, func(g *grant) { g.state = st })
}

// withGrant runs change on the grant under the lock; false when there is no such grant.
func (s *Server) withGrant(id uuid.UUID, change func(*grant)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.grants[id]
	if g != nil {
		change(g)
	}
	return g != nil
}

// SetGrantRefreshing makes the next n uses of the grant fail with 409 token_refresh_in_progress.
func (s *Server) SetGrantRefreshing(id uuid.UUID, n int) {
	s.withGrant(id, func(g *grant) { g.refreshing = n })
}

// SetGrantRefreshRetries makes the next token answer for the grant report a provider refresh
// that took attempts tries (retry_info; attempts-1 failures, then success).
func (s *Server) SetGrantRefreshRetries(id uuid.UUID, attempts int) error {
	var err error
	if !s.withGrant(id, func(g *grant) {
		if attempts < 1 {
			err = errState("attempts must be at least 1")
			return
		}
		g.refreshRetries = attempts
	}) {
		return errNotFound
	}
	return err
}

// SetGrantPolicy sets a grant's policy.
func (s *Server) SetGrantPolicy(id uuid.UUID, p Policy) {
	s.withGrant(id, func(g *grant) { g.policy = p })
}

// DelegationOption sets a property of a seeded delegation.
type DelegationOption func(*delegation)

// Delegable lets the agent delegate the grant onward (Agent.delegate).
func Delegable() DelegationOption { return func(d *delegation) { d.delegable = true } }

// Delegate delegates an existing grant to an agent.
func (s *Server) Delegate(grantID, agentID uuid.UUID, opts ...DelegationOption) {
	d := &delegation{at: s.now()}
	for _, o := range opts {
		o(d)
	}
	s.withGrant(grantID, func(g *grant) { g.delegated[agentID] = d })
}

// AddManagedSecretCredential adds a developer credential (its label and secret) to a managed
// secret (id or slug) and returns its id. With several, a grant must name the one it serves
// (credential_id); without, the vault answers 409 credential_id_required listing them.
func (s *Server) AddManagedSecretCredential(msIDOrSlug, label, secret string) (uuid.UUID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.secretLocked(msIDOrSlug)
	if ms == nil {
		return uuid.Nil, errNotFound
	}
	c := &msCredential{id: uuid.New(), label: label, kind: "developer", secret: secret}
	ms.creds = append(ms.creds, c)
	return c.id, nil
}

// SetOnwardDelegation turns a provider's operator ceiling for onward delegation (Agent.delegate)
// on or off (on by default). While it is off, every onward delegation of its grants is 403
// grant_not_delegable with detail_reason ceiling_off.
func (s *Server) SetOnwardDelegation(provider string, allowed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.noOnward == nil {
		s.noOnward = map[string]bool{}
	}
	if allowed {
		delete(s.noOnward, provider)
	} else {
		s.noOnward[provider] = true
	}
}
