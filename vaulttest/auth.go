package vaulttest

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/internal/signing"
)

// principal is who a call acts as, after the key and the identity headers.
type principal struct {
	agent        *agent // nil: the app itself
	impersonated bool   // App key + X-Alter-Caller: <agent uuid>
	caller       string
	callerType   string
	actor        uuid.UUID // answered as X-Alter-Actor-ID; Nil when none is registered
	scopes       []string
}

func (p principal) kind() string {
	if p.agent != nil {
		return "agent"
	}
	return "app"
}

// The scope catalog: resource → verbs. Every operation needs one scope (routeScope); App keys
// hold every scope unless seeded with KeyScopes, agent keys the runtime ones.
var scopeResources = []struct {
	name  string
	verbs []string
}{
	{"agents", []string{"read", "write"}},
	{"approvals", []string{"read"}},
	{"audit", []string{"emit"}},
	{"connect", []string{"initiate"}},
	{"grants", []string{"read", "write", "revoke", "delegate", "mint"}},
	{"identity", []string{"read", "assert"}},
	{"idp_users", []string{"read", "write"}},
	{"keys", []string{"derive", "admin"}},
	{"providers", []string{"read"}},
	{"proxy", []string{"execute"}},
	{"secrets", []string{"write"}},
	{"spans", []string{"emit"}},
	{"tokens", []string{"read"}},
}

const scopeVersion = 1

func allScopes() []string {
	var out []string
	for _, r := range scopeResources {
		for _, v := range r.verbs {
			out = append(out, r.name+":"+v)
		}
	}
	return out
}

var agentKeyScopes = []string{"approvals:read", "audit:emit", "connect:initiate", "grants:read", "grants:write", "grants:revoke",
	"grants:delegate", "identity:read", "identity:assert", "keys:derive", "keys:admin", "providers:read",
	"proxy:execute", "secrets:write", "spans:emit", "tokens:read"}

// routeScope is the scope each operation needs (listScopes needs none).
var routeScope = map[string]string{
	"retrieveToken": "tokens:read", "recordApiCall": "audit:emit", "reportScopeMismatch": "audit:emit",
	"proxyRequest": "proxy:execute", "getApprovalStatus": "approvals:read", "getApprovalResult": "approvals:read",
	"createConnectSession": "connect:initiate", "pollConnectSession": "connect:initiate",
	"createManagedSecretConnectSession": "secrets:write",
	"createAuthSession":                 "idp_users:write", "pollAuthSession": "idp_users:read", "verifyUserToken": "idp_users:read",
	"listGrants": "grants:read", "revokeGrant": "grants:revoke", "delegateGrant": "grants:delegate",
	"revokeDelegation": "grants:write", "revokeOwnDelegation": "grants:write", "mintGrant": "grants:mint",
	"createManagedSecretGrant": "secrets:write",
	"getAgentMe":               "identity:read", "createAgent": "agents:write", "listAgents": "agents:read",
	"getAgent": "agents:read", "updateAgent": "agents:write", "deleteAgent": "agents:write",
	"mintAgentKey": "agents:write", "listAgentKeys": "agents:read", "deprecateAgentKey": "agents:write",
	"undeprecateAgentKey": "agents:write", "revokeAgentKey": "agents:write",
	"deriveKey": "keys:derive", "rotateKey": "keys:admin", "revokeKey": "keys:admin",
	"listProviderCatalog": "providers:read", "listProviderSpecs": "providers:read", "getProviderSpec": "providers:read",
	"listProviderOperations": "providers:read", "getProviderOperation": "providers:read",
	"emitSpans": "spans:emit", "resolveIdentity": "identity:read", "assertIdentity": "identity:assert",
}

// authenticate checks the key, the signature, the nonce, the key and agent states, the identity
// headers, the rate limit and the scope, and sets the answer's identity headers.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, c *call) *apiError {
	plain := r.Header.Get(signing.HeaderAPIKey)
	now := s.now()
	s.mu.Lock()
	k := s.keys[plain]
	s.mu.Unlock()
	if k == nil {
		return errf(http.StatusUnauthorized, "invalid_key", "unknown API key").with("hint", "check ALTER_API_KEY")
	}
	c.key = k
	if c.overLimit != nil {
		return c.overLimit
	}
	nonce, err := signing.Verify(r, signing.DeriveKey(plain), c.body, now, s.cfg.signatureWindow)
	if err != nil {
		return signatureError(err)
	}
	ts, _ := signing.ParseTimestamp(r.Header.Get(signing.HeaderTimestamp))
	if err := s.replayCache(k.id).Check(k.id.String(), nonce, ts, now); err != nil {
		return errf(http.StatusUnauthorized, "nonce_replayed", "this nonce was already used")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case k.revokedAt != nil:
		return errf(http.StatusUnauthorized, "key_revoked", "the API key is revoked").with("hint", "mint a new key")
	case k.expiresAt != nil && !now.Before(*k.expiresAt):
		return errf(http.StatusUnauthorized, "key_expired", "the API key has expired").with("hint", "mint a new key")
	case k.graceUntil != nil && !now.Before(*k.graceUntil):
		return errf(http.StatusUnauthorized, "key_rotated_grace_expired", "the key was rotated and its overlap has ended").with("hint", "use the successor key")
	}
	if k.deprecatedAt != nil {
		w.Header().Set("X-Alter-Key-Deprecated", "true")
	}
	p, e := s.principalLocked(r, c, k)
	if e != nil {
		return e
	}
	if e := constrain(r, &p); e != nil {
		return e
	}
	if e := readRule(r, c); e != nil {
		return e
	}
	c.p = p
	k.lastUsedAt = &now
	if p.agent != nil {
		p.agent.lastUsedAt = &now
	}
	if p.actor != uuid.Nil {
		w.Header().Set(signing.HeaderActorID, p.actor.String())
	}
	if p.agent != nil && (c.op == "createAgent" || c.op == "mintAgentKey") {
		return errf(http.StatusForbidden, "agent_cannot_mint_subagents", "agents cannot create agents or mint agent keys")
	}
	if p.agent != nil && c.op == "mintGrant" {
		return errf(http.StatusForbidden, "agents_cannot_mint", "only an app can mint grants")
	}
	if need := routeScope[c.op]; need != "" && !slices.Contains(p.scopes, need) {
		return errf(http.StatusForbidden, "insufficient_scope", "the key lacks the scope %s", need).with(
			"required", []string{need}, "granted", p.scopes, "missing", []string{need},
			"scope_version", scopeVersion, "current_scope_version", scopeVersion, "scope_version_mismatch", false,
			"required_any_of", false)
	}
	return nil
}

// replayCache is the nonce memory of one key: a key flooding the vault never evicts another
// key's nonces.
func (s *Server) replayCache(id uuid.UUID) *signing.ReplayCache {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.replay[id]
	if c == nil {
		c = signing.NewReplayCache(s.cfg.signatureWindow, s.cfg.replayCapacity)
		s.replay[id] = c
	}
	return c
}

// NonceCount is how many nonces the vault remembers for a key (at most WithReplayCapacity).
func (s *Server) NonceCount(keyID uuid.UUID) int { return s.replayCache(keyID).Len() }

func signatureError(err error) *apiError {
	switch {
	case errors.Is(err, signing.ErrStale):
		return errf(http.StatusUnauthorized, "request_expired", "X-Alter-Timestamp is outside the accepted window")
	case errors.Is(err, signing.ErrReplayed):
		return errf(http.StatusUnauthorized, "nonce_replayed", "this nonce was already used")
	case errors.Is(err, signing.ErrBodyHash):
		return errf(http.StatusUnauthorized, "invalid_signature", "X-Alter-Content-SHA256 does not match the body")
	case errors.Is(err, signing.ErrMissing):
		return errf(http.StatusUnauthorized, "invalid_signature", "the request is not signed")
	}
	return errf(http.StatusUnauthorized, "invalid_signature", "the request signature does not match")
}

// principalLocked resolves the key and the caller headers to a principal (transport.md §9).
func (s *Server) principalLocked(r *http.Request, c *call, k *apiKey) (principal, *apiError) {
	p := principal{caller: r.Header.Get(signing.HeaderCaller), callerType: r.Header.Get(signing.HeaderCallerType)}
	if p.callerType != "" && p.callerType != "agent" && p.callerType != "service" {
		return p, errf(http.StatusBadRequest, "", "X-Alter-Caller-Type must be agent or service")
	}
	callerID, callerIsID := canonicalUUID(p.caller)
	me := c.op == "getAgentMe" // paused agents may still describe themselves
	if k.agentID != uuid.Nil {
		ag := s.agents[k.agentID]
		if ag == nil || ag.status == "revoked" {
			return p, errf(http.StatusUnauthorized, "agent_revoked", "the agent is revoked").with("hint", "create a new agent")
		}
		if ag.status == "inactive" && !me {
			return p, errf(http.StatusUnauthorized, "agent_inactive", "the agent is paused").with("hint", "resume the agent")
		}
		if callerIsID && callerID != ag.id {
			return p, errf(http.StatusBadRequest, "caller_agent_mismatch", "X-Alter-Caller names another agent than the key's").
				with("hint", "an agent key can only act as its own agent")
		}
		p.agent, p.actor, p.scopes = ag, ag.id, intersect(k.scopes, agentKeyScopes)
		if p.callerType == "" {
			p.callerType = "agent"
		}
		return p, nil
	}
	p.scopes = k.scopes
	if callerIsID && p.callerType != "service" {
		ag := s.agents[callerID]
		switch {
		case ag == nil:
			return p, errf(http.StatusNotFound, "caller_agent_unresolved", "no agent has the id in X-Alter-Caller").
				with("hint", "create the agent first, or use its id")
		case ag.status == "revoked":
			return p, errf(http.StatusUnauthorized, "agent_revoked", "the agent is revoked").with("hint", "create a new agent")
		case ag.status == "inactive" && !me:
			return p, errf(http.StatusUnauthorized, "agent_inactive", "the agent is paused").with("hint", "resume the agent")
		}
		// The vault registers no actor for an impersonated managed agent.
		p.agent, p.impersonated = ag, true
		return p, nil
	}
	if p.callerType == "" {
		p.callerType = "service"
	}
	p.actor = s.appActor
	if p.caller != "" {
		p.actor = uuid.NewSHA1(s.appID, []byte(p.callerType+"\x00"+p.caller))
	}
	return p, nil
}

// constrain narrows the principal's scopes to X-Alter-Scope-Constraints (atoms split on ",",
// trimmed); an empty atom, the wildcard or a scope the key does not hold is refused: attenuation
// never widens.
func constrain(r *http.Request, p *principal) *apiError {
	h := r.Header.Get(signing.HeaderScopeConstraints)
	if h == "" {
		return nil
	}
	want := strings.Split(h, ",")
	for i, sc := range want {
		sc = strings.TrimSpace(sc)
		want[i] = sc
		if sc == "" || sc == "*" {
			return errf(http.StatusBadRequest, "constraint_not_narrowing", "X-Alter-Scope-Constraints holds an empty or wildcard scope")
		}
		if !slices.Contains(p.scopes, sc) {
			return errf(http.StatusBadRequest, "constraint_not_narrowing", "scope %q is not held by the key", sc)
		}
	}
	p.scopes = want
	return nil
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// canonicalUUID parses the canonical hyphenated form (any case).
func canonicalUUID(v string) (uuid.UUID, bool) {
	if len(v) != 36 {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(v)
	return id, err == nil
}

// bucket is one key's fixed one-minute rate window.
type bucket struct {
	window time.Time
	used   int
}

// rateLimit counts the call against the key's window and sets the rate-limit headers.
func (s *Server) rateLimit(w http.ResponseWriter, keyID uuid.UUID, now time.Time) *apiError {
	s.mu.Lock()
	b := s.rate[keyID]
	win := now.Truncate(time.Minute)
	if b == nil {
		b = &bucket{}
		s.rate[keyID] = b
	}
	if !b.window.Equal(win) {
		b.window, b.used = win, 0
	}
	b.used++
	used := b.used
	s.mu.Unlock()
	limit := s.cfg.rateLimit
	reset := win.Add(time.Minute)
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, limit-used)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	// The draft-ietf-httpapi-ratelimit-headers pair the vault sends beside the triple.
	h.Set("RateLimit-Policy", `"api_key";q=`+strconv.Itoa(limit)+";w=60")
	h.Set("RateLimit", `"api_key";r=`+strconv.Itoa(max(0, limit-used))+";t="+strconv.Itoa(max(0, int(reset.Sub(now)/time.Second))))
	if used > limit {
		retry := max(1, int(reset.Sub(now).Seconds()+0.999))
		return errf(http.StatusTooManyRequests, "rate_limit_exceeded", "over %d requests per minute", limit).
			with("scope", "api_key", "limit", limit, "window_seconds", 60, "retry_after", retry).retryAfter(retry)
	}
	return nil
}

// meter counts a /sdk/ call against the window of the key it names (unknown keys share one
// window and are never refused for it) and sets the X-RateLimit-* headers on the answer, whatever
// it turns out to be.
func (s *Server) meter(w http.ResponseWriter, r *http.Request, c *call) {
	s.mu.Lock()
	k := s.keys[r.Header.Get(signing.HeaderAPIKey)]
	s.mu.Unlock()
	id := uuid.Nil
	if k != nil {
		id = k.id
	}
	if e := s.rateLimit(w, id, c.start); e != nil && k != nil {
		c.overLimit = e
	}
}
