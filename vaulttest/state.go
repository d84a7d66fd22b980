package vaulttest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// KeyState is a key lifecycle state: KeyActive, KeyDeprecated or KeyRevoked. Each state is also
// a KeyOption constructor, so the same names seed a key (AddAppKey(KeyRevoked())) and move one
// (SetKeyState(id, KeyRevoked)).
type KeyState func() KeyOption

// GrantState is the state of a grant.
type GrantState int

// Grant states; each unusable state has its own error code.
const (
	GrantActive            GrantState = iota
	GrantExpired                      // 403 grant_expired
	GrantRevoked                      // 403 grant_revoked
	GrantDeleted                      // 410 grant_deleted
	GrantCredentialRevoked            // 403 credential_revoked
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
	Sub       string
	AppUserID uuid.UUID // the id the vault knows the user by (app_user_id on the wire)
	Token     string
}

// Injection tells the SDK how to place a credential in the upstream request (the injection
// fields of the token answer).
type Injection struct {
	Header, Format        string // default "Authorization", "Bearer {token}"
	AdditionalCredentials map[string]string
	Additional            []AdditionalInjection
}

// AdditionalInjection is one more value placed in the upstream request.
type AdditionalInjection struct {
	Target      string // "header" or "query_param"
	Key         string
	ValueSource string // "token" or "additional_credentials.<name>"
}

// BearerInjection is the default: Authorization: Bearer {token}.
func BearerInjection() Injection {
	return Injection{Header: "Authorization", Format: "Bearer {token}"}
}

// HeaderInjection puts the raw credential in the given header, e.g. X-API-Key.
func HeaderInjection(header string) Injection { return Injection{Header: header, Format: "{token}"} }

// BasicInjection is HTTP Basic auth: the credential is "user:password" and the vault hands out
// its base64 form, as the real vault does (the SDK never encodes).
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
	add := make([]AdditionalInjection, len(i.Additional))
	for n, a := range i.Additional {
		// Earlier spellings of the two enums are still accepted from Go seeds.
		if a.Target == "query" {
			a.Target = "query_param"
		}
		if a.ValueSource == "access_token" {
			a.ValueSource = "token"
		}
		add[n] = a
	}
	i.Additional = add
	return i
}

// OAuthGrant seeds a user-authorized (or system- or agent-owned) OAuth grant.
type OAuthGrant struct {
	Provider, Account string      // Account = account_identifier
	UserSub           string      // owner; "" = the app itself (system principal)
	AgentOwner        uuid.UUID   // non-zero = owned by that agent (principal agent)
	Scopes            []string    // provider scopes granted
	Credential        string      // the secret the SDK injects (default: random)
	Injection         Injection   // zero value = Bearer
	DelegatedTo       []uuid.UUID // agents with a delegation
	Label             string
}

// Policy is a grant's policy (its JSON form is the body of PUT /_dev/grants/{id}/policy).
type Policy struct {
	DenyReason      string `json:"deny_reason"`      // non-empty: every use fails with 403 policy_violation carrying it
	RequireApproval bool   `json:"require_approval"` // proxy calls wait for a human; retrieve mode gets hitl_grant_requires_proxy
	RequireProxy    bool   `json:"require_proxy"`    // retrieve mode gets restricted_grant_requires_proxy
	// ApprovalGates is how many distinct approver sets must each approve a held call (0: one).
	ApprovalGates int `json:"approval_gates"`
}

// Request is one HTTP request the server (or an echo upstream) received, secrets redacted.
type Request struct {
	Operation string      `json:"operation"`
	Method    string      `json:"method"`
	Path      string      `json:"path"` // as sent (percent-escapes kept)
	Query     string      `json:"query"`
	Header    http.Header `json:"-"`
	Body      []byte      `json:"-"`
	Status    int         `json:"status"`
	Time      time.Time   `json:"-"`
}

// size is about what q holds in memory: its body, path, query and headers.
func (q Request) size() int64 {
	return int64(len(q.Body)+len(q.Path)+len(q.Query)) + headerSize(q.Header)
}

func headerSize(h http.Header) int64 {
	var n int
	for k, vs := range h {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	return int64(n)
}

// size is about what row holds in memory: bodies, URL, headers and context.
func (row AuditRow) size() int64 {
	n := len(row.RequestBody) + len(row.ResponseBody) + len(row.URL)
	for _, m := range []map[string]string{row.RequestHeaders, row.ResponseHeaders, row.Context} {
		for k, v := range m {
			n += len(k) + len(v)
		}
	}
	return int64(n)
}

// AuditRow is one recorded upstream call: the body of an audit post (POST
// /sdk/oauth/audit/api-call) or a call the vault executed itself (proxy, approved call), with
// the principal the vault resolved for it.
type AuditRow struct {
	ID              uuid.UUID         `json:"id"`
	Time            time.Time         `json:"time"`
	RequestID       string            `json:"request_id"`
	Operation       string            `json:"operation"` // recordApiCall, proxyRequest or approval
	GrantID         uuid.UUID         `json:"grant_id"`
	ProviderID      string            `json:"provider_id"`
	TokenGeneration string            `json:"token_generation,omitempty"`
	Method          string            `json:"method"`
	URL             string            `json:"url"`
	RequestHeaders  map[string]string `json:"request_headers"`
	RequestBody     json.RawMessage   `json:"request_body"`
	ResponseStatus  int               `json:"response_status"`
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseBody    string            `json:"response_body"`
	LatencyMS       int64             `json:"latency_ms"`
	Reason          string            `json:"reason"`
	Context         map[string]string `json:"context"`
	// Context keys the SDKs stamp, copied out for convenience.
	RunID      string `json:"run_id,omitempty"`
	ThreadID   string `json:"thread_id,omitempty"`
	ToolCallID string `json:"tool_call_id,omitempty"`
	// The principal: "app" or "agent", the agent when there is one, the end user the grant
	// belongs to, the caller headers and the actor id the vault answered with.
	PrincipalType string    `json:"principal_type"`
	PrincipalID   string    `json:"principal_id"`
	AgentID       uuid.UUID `json:"agent_id"`
	UserSub       string    `json:"user_sub,omitempty"`
	Caller        string    `json:"caller,omitempty"`
	CallerType    string    `json:"caller_type,omitempty"`
	ActorID       uuid.UUID `json:"actor_id"`
	KeyID         uuid.UUID `json:"key_id"`
}

// internal records.

type apiKey struct {
	id           uuid.UUID
	plaintext    string
	typ          string // rk, ak, dk, pk, or "" for a legacy alter_key_
	agentID      uuid.UUID
	parentID     uuid.UUID
	scopes       []string
	scopeVersion int
	name         string
	cidr         []string
	metadata     map[string]any
	createdAt    time.Time
	deprecatedAt *time.Time
	revokedAt    *time.Time
	expiresAt    *time.Time
	graceUntil   *time.Time // a rotated key works until then
	lastUsedAt   *time.Time
	stamp        time.Time
	seq          int // n-th key of its agent
}

// stampTime is when a state change happens: SetKeyState's clock, else the creation time.
func (k *apiKey) stampTime() time.Time {
	if !k.stamp.IsZero() {
		return k.stamp
	}
	return k.createdAt
}

func (k *apiKey) prefix() string {
	n := len("alter_xx_") + 4
	if k.typ == "" {
		n = len("alter_key_") + 4
	}
	return k.plaintext[:min(n, len(k.plaintext))]
}

type agent struct {
	id              uuid.UUID
	name            string
	displayName     string
	typ             string
	status          string // active, inactive, revoked
	scopes          map[string]any
	scopesPending   map[string]any
	scopesAppliesAt *time.Time
	policy          map[string]any
	metadata        map[string]any
	version         int
	requireApproval bool
	createdAt       time.Time
	lastUsedAt      *time.Time
	keys            []uuid.UUID // in creation order
	keySeq          int
}

type user struct {
	sub       string
	appUserID uuid.UUID
}

type delegation struct {
	at        time.Time
	delegable bool
}

type grant struct {
	id             uuid.UUID
	kind           string // oauth, managed_secret
	provider       string // OAuth provider id, or the managed secret's slug
	msID           uuid.UUID
	account        string
	userSub        string
	agentOwner     uuid.UUID
	principalType  string // user, group, system, agent
	label          string
	scopes         []string
	credential     string
	credentialKind string // managed secrets: developer or end_user
	inj            Injection
	delegated      map[uuid.UUID]*delegation
	state          GrantState
	refreshing     int
	refreshRetries int
	policy         Policy
	policyExpires  *time.Time
	createdAt      time.Time
	lastUsedAt     *time.Time
	scopeMismatch  bool
	tokenGen       uuid.UUID
	parent         uuid.UUID
	tags           []string
	credentialID   uuid.UUID // the credential behind it (shared by minted siblings; a managed secret's msCredential)
	// An onward delegation (Agent.delegate) is a grant of its own: held by holder, made by
	// grantor from parent, depth hops from the consenting user's grant.
	holder, grantor uuid.UUID
	depth           int
	delegable       bool     // the holder may delegate it onward
	scopeConstraint []string // provider scopes it is narrowed to (proxy only)
	restrictions    map[string]any
	maxTTL          int // seconds; 0: none
}

type managedSecret struct {
	id         uuid.UUID
	slug, name string
	credential string
	inj        Injection
	creds      []*msCredential // creds[0] is the one AddManagedSecret provisioned
}

// msCredential is one credential of a managed secret: a developer's, or an end user's key
// entered on the connect page.
type msCredential struct {
	id          uuid.UUID
	label, kind string // kind: developer or end_user
	secret      string
}

type sessionKind int

const (
	connectSession sessionKind = iota
	authSession
	msConnectSession
)

type session struct {
	token      string
	kind       sessionKind
	status     string // pending, completed, error, expired
	errCode    string
	errMsg     string
	expiresAt  time.Time
	allowed    []string
	agent      uuid.UUID // delegate the grant to it (or own it, agentOwns)
	agentOwns  bool
	delegable  *bool // nil: keep an existing delegation's setting (a new one is a leaf)
	userSub    string
	results    []uuid.UUID // grants made
	operations []string
	failed     []failedGrant  // grants of a completed session that were not kept
	slug       string         // managed-secret connect: the secret
	label      string         // the label the new grant gets
	restricts  map[string]any // the requested grant's restrictions (proxy only)
	narrow     []string       // the scope constraint of the agent's delegation
	repair     uuid.UUID      // the grant reconnected in place
	msPath     string         // managed-secret connect: fast_path, key_entry or repair
	existing   uuid.UUID      // managed-secret connect: the grant a fast path or repair uses
	declined   []declined
	changed    chan struct{}
}

// failedGrant is a provider of a completed connect session whose grant was not kept.
type failedGrant struct {
	provider, reason string
}

// declined is a provider the person turned down in a multi-provider connect session.
type declined struct {
	provider, code string
	at             time.Time
}

type approval struct {
	id, group  uuid.UUID
	status     string
	expiresAt  time.Time
	decidedAt  *time.Time
	reason     string // the call's reason
	decision   string
	executedAt *time.Time
	execErr    string
	req        *upstreamCall
	result     *upstreamResult
	grantID    uuid.UUID
	audit      AuditRow // the principal part of the row the execution writes
	gates      []*gate  // one per approver set, all to approve; gates[0].id == id
	changed    chan struct{}
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

// notify wakes the long-polls waiting on ch and returns a fresh channel for the next change.
func notify(ch chan struct{}) chan struct{} {
	if ch != nil {
		close(ch)
	}
	return make(chan struct{})
}
