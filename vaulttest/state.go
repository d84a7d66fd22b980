package vaulttest

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// KeyState is a key lifecycle state: KeyActive, KeyDeprecated or KeyRevoked. Each state is also
// a KeyOption constructor, so the same names seed a key (AddAppKey(KeyRevoked())) and move one
// (SetKeyState(id, KeyRevoked)).
type KeyState func() KeyOption

type keyState int

const (
	keyActive keyState = iota
	keyDeprecated
	keyRevoked
)

// GrantState is the state of a grant.
type GrantState int

// Grant states; each unusable state has its own error code.
const (
	GrantActive            GrantState = iota
	GrantExpired                      // grant_expired
	GrantRevoked                      // grant_revoked
	GrantDeleted                      // grant_deleted
	GrantCredentialRevoked            // credential_revoked
)

// Key is an App key as seeded or minted.
type Key struct {
	ID     uuid.UUID
	APIKey string
}

// Agent is a managed agent and its first key.
type Agent struct {
	ID     uuid.UUID
	Name   string
	APIKey string
	KeyID  uuid.UUID
}

// User is an end user and a JWT the emulator signed for it.
type User struct {
	Sub   string
	Token string
}

// Injection tells the SDK how to place a credential in the upstream request.
type Injection struct {
	Header, Format        string // default "Authorization", "Bearer {token}"
	AdditionalCredentials map[string]string
	Additional            []AdditionalInjection
}

// AdditionalInjection is one more value placed in the upstream request.
type AdditionalInjection struct {
	Target      string // "header" or "query"
	Key         string
	ValueSource string // "access_token" or "additional_credentials.<name>"
}

// BearerInjection is the default: Authorization: Bearer {token}.
func BearerInjection() Injection {
	return Injection{Header: "Authorization", Format: "Bearer {token}"}
}

// HeaderInjection puts the raw credential in the given header, e.g. X-API-Key.
func HeaderInjection(header string) Injection { return Injection{Header: header, Format: "{token}"} }

// BasicInjection is HTTP Basic auth; the credential is "user:password".
func BasicInjection() Injection {
	return Injection{Header: "Authorization", Format: "Basic {token_base64}"}
}

func (i Injection) withDefaults() Injection {
	if i.Header == "" {
		i.Header = "Authorization"
	}
	if i.Format == "" {
		i.Format = "Bearer {token}"
	}
	return i
}

// OAuthGrant seeds a user-authorized (or system- or agent-owned) OAuth grant.
type OAuthGrant struct {
	Provider, Account string      // Account = account_identifier
	UserSub           string      // owner; "" = system principal
	AgentOwner        uuid.UUID   // non-zero = owned by that agent (principal agent)
	Scopes            []string    // provider scopes granted
	Credential        string      // the secret the SDK injects (default: random)
	Injection         Injection   // zero value = Bearer
	DelegatedTo       []uuid.UUID // agents with a delegation
}

// Policy is a grant's policy.
type Policy struct {
	DenyReason      string // non-empty: every use fails with policy_violation carrying it
	RequireApproval bool   // proxy calls wait for a human; retrieve mode is refused
	RequireProxy    bool   // retrieve mode is refused (restricted_grant_requires_proxy)
}

// Request is one HTTP request the server (or an echo upstream) received, secrets redacted.
type Request struct {
	Operation, Method, Path string
	Header                  http.Header
	Body                    []byte
	Time                    time.Time
}

// AuditRow is one audit row (the same data GET /v1/audit/events serves).
type AuditRow struct {
	ID                                                                          uuid.UUID
	Time                                                                        time.Time
	RequestID, Operation, Outcome, ErrorCode, Caller, CallerType, KeyPrefix     string
	ActorID, AgentID, GrantID                                                   uuid.UUID
	PrincipalType, PrincipalID, ProviderID, RunID, ThreadID, ToolCallID, Reason string
	Context                                                                     map[string]string
	Method, URL                                                                 string
	ResponseStatus                                                              int
}

// internal records.

type keyKind int

const (
	kindApp keyKind = iota
	kindAgent
)

type apiKey struct {
	id           uuid.UUID
	plaintext    string
	kind         keyKind
	agentID      uuid.UUID
	scopes       []string
	derived      bool
	name         string
	createdAt    time.Time
	deprecatedAt *time.Time
	revokedAt    *time.Time
	expiresAt    *time.Time
	lastUsedAt   *time.Time
	stamp        time.Time
}

func (k *apiKey) state() keyState {
	switch {
	case k.revokedAt != nil:
		return keyRevoked
	case k.deprecatedAt != nil:
		return keyDeprecated
	}
	return keyActive
}

// stampTime is when a state change happens: SetKeyState's clock, else the creation time.
func (k *apiKey) stampTime() time.Time {
	if !k.stamp.IsZero() {
		return k.stamp
	}
	return k.createdAt
}

func (k *apiKey) prefix() string {
	if len(k.plaintext) > 20 {
		return k.plaintext[:20]
	}
	return k.plaintext
}

type agent struct {
	id                   uuid.UUID
	name                 string
	displayName          string
	typ                  string
	status               string // active, inactive, revoked
	scopes               map[string][]string
	metadata             map[string]string
	requireApproval      bool
	approvalTTL          int
	attributes           map[string]string
	hasPolicy            bool
	createdAt, updatedAt time.Time
	revokedAt            *time.Time
}

type grant struct {
	id         uuid.UUID
	kind       string // oauth, managed_secret
	provider   string // provider id, or the managed secret id
	account    string
	userSub    string
	agentOwner uuid.UUID
	// managed-secret grants
	principalType string
	principalID   string
	label         string
	scopes        []string
	credential    string
	inj           Injection
	delegated     map[uuid.UUID]time.Time
	state         GrantState
	refreshing    int
	policy        Policy
	policyExpires *time.Time
	createdAt     time.Time
	lastUsedAt    *time.Time
}

type managedSecret struct {
	id, name, credential string
	inj                  Injection
}

type session struct {
	token     string
	auth      bool // auth session, else connect
	status    string
	errCode   string
	expiresAt time.Time
	allowed   []string
	agent     uuid.UUID // connect: delegate to (app) or owner (agent principal)
	agentOwns bool
	userSub   string
	results   []connectResult
	returnURL string
}

type connectResult struct {
	grantID  uuid.UUID
	provider string
	account  string
	scopes   []string
}

type approval struct {
	id         string
	status     string
	expiresAt  time.Time
	decidedAt  *time.Time
	reason     string
	decision   string
	executedAt *time.Time
	req        *upstreamCall
	result     *upstreamResult
	upstreamSt int
	grantID    uuid.UUID
}

func randToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randAlnum(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// UUID is github.com/google/uuid.UUID, re-exported so that tests can seed without importing it.
type UUID = uuid.UUID
