package facade

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

const redacted = "[REDACTED]"

// Secret is a plaintext credential the vault hands out once: an agent's API key, an end user's
// token. It prints, formats, logs (slog) and marshals to JSON as "[REDACTED]", so a Secret
// cannot leak through %v, %+v, %#v or a structured log of the struct holding it. Reveal returns
// the plaintext, for storing it in a secret manager or passing it to NewAgent.
type Secret string

// Reveal returns the plaintext.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer: "[REDACTED]".
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer: "[REDACTED]".
func (s Secret) GoString() string { return `"` + redacted + `"` }

// Format prints "[REDACTED]" whatever the verb.
func (s Secret) Format(f fmt.State, verb rune) { formatRedacted(f, verb, s) }

// LogValue implements slog.LogValuer: "[REDACTED]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes "[REDACTED]": serialize Reveal() explicitly to persist the plaintext.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// formatRedacted routes every verb of a value holding a secret to its String or GoString.
func formatRedacted(f fmt.State, verb rune, v interface {
	fmt.Stringer
	fmt.GoStringer
}) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(v.GoString()))
		return
	}
	_, _ = f.Write([]byte(v.String()))
}

// Agents is the agents namespace of an App (App.Agents): managed agents and their keys. Errors
// are *APIError values matching ErrAgentNotFound, ErrAgentNameExists,
// ErrAgentScopeNarrowingNotSupported, ErrLastActiveKey, ErrKeyAlreadyRevoked,
// ErrIdempotencyConflict… as documented on each method.
type Agents struct{ c *client }

// Agents returns the agents namespace (an Agent has none: agents cannot create agents).
func (a *App) Agents() *Agents { return &Agents{c: a.c} }

// Agent types (AgentCreateParams.Type).
const (
	AgentTypeAgent   = "agent"
	AgentTypeService = "service"
)

// AgentCreateParams describe a new agent.
type AgentCreateParams struct {
	Name        string              // required; stable per-app id: ^[a-z0-9][a-z0-9_-]{0,62}$
	DisplayName string              // human-friendly name
	Type        string              // AgentTypeAgent (default) or AgentTypeService
	Scopes      map[string][]string // per-provider scope allow-list, e.g. {"google": {"gmail.readonly"}}
	Metadata    map[string]string   // free-form metadata (at most 8 KB)
	Policy      *AgentPolicy        // human-in-the-loop configuration (nil: none)
	// IdempotencyKey makes Create safe to repeat, across process restarts too: the same key and
	// body give the same agent and the same first key (Replayed is then true); the same key with
	// another body gives ErrIdempotencyConflict. Without it, a key is generated per call and
	// reused by its automatic retries.
	IdempotencyKey string
}

// AgentCreateResult is a created agent and the plaintext of its first key.
type AgentCreateResult struct {
	AgentInfo
	APIKey   Secret   // the first key's plaintext; store it now (Reveal)
	Key      AgentKey // the first key, without its plaintext
	Replayed bool     // the answer is a replay of an earlier Create with the same IdempotencyKey
}

// AgentKey is an agent key, without its plaintext.
type AgentKey struct {
	ID           uuid.UUID
	Prefix       string    // first characters of the plaintext, for recognition
	Name         string    // optional label
	Status       string    // "active", "deprecated" or "revoked"
	CreatedAt    time.Time // creation time
	DeprecatedAt time.Time // zero unless deprecated
	RevokedAt    time.Time // zero unless revoked
	LastUsedAt   time.Time // updated lazily by the vault
}

// AgentKeyMintResult is a new key and its plaintext.
type AgentKeyMintResult struct {
	AgentKey
	APIKey Secret // the plaintext; store it now (Reveal)
}

// MintKeyParams are the options of a new key.
type MintKeyParams struct {
	Name string // optional label, at most 128 bytes
}

// RevokeKeyParams are the options of a key revocation.
type RevokeKeyParams struct {
	// Force allows revoking the agent's last active key (else ErrLastActiveKey).
	Force bool
}

// AgentListParams select a page of agents.
type AgentListParams struct {
	IncludeRevoked bool // include revoked (deleted) agents
	Limit          int  // page size, 1..1000 (0 = the vault's default, 100)
	Offset         int  // rows to skip
}

// AgentPage is a page of agents, oldest first.
type AgentPage struct {
	Agents  []AgentInfo // this page
	Total   int         // agents matching
	Limit   int         // page size used
	Offset  int         // rows skipped
	HasMore bool        // more rows follow
}

// AgentUpdateParams are the fields to replace; zero fields are left unchanged.
type AgentUpdateParams struct {
	DisplayName string // new display name
	// Scopes, when non-nil, is the full new allow-list: it may only grow (dropping a provider or a
	// scope gives ErrAgentScopeNarrowingNotSupported).
	Scopes   map[string][]string
	Metadata map[string]string // when non-nil, replaces the metadata
	Policy   *AgentPolicy      // when non-nil, replaces the policy
	Status   string            // "active" or "inactive" (pause / resume)
}

var agentNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func checkAgentName(field, name string) error {
	if !agentNameRE.MatchString(name) {
		return inputErr(field, "must match ^[a-z0-9][a-z0-9_-]{0,62}$ (lowercase letters, digits, - and _)", nil)
	}
	return nil
}

func checkIdempotencyKey(k string) error {
	if len(k) > 255 {
		return inputErr("IdempotencyKey", "longer than 255 bytes", nil)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return inputErr("IdempotencyKey", "must be printable ASCII without spaces (no CR, LF)", nil)
		}
	}
	return nil
}

// agentFields are the optional wire fields that Create and Update share (nil: not sent).
type agentFields struct {
	displayName *string
	scopes      *gen.ProviderScopes
	metadata    *gen.StringMap
	policy      *gen.AgentPolicy
}

func agentFieldsWire(displayName string, scopes map[string][]string, metadata map[string]string, policy *AgentPolicy) (agentFields, error) {
	var f agentFields
	if displayName != "" {
		f.displayName = &displayName
	}
	if scopes != nil {
		s := gen.ProviderScopes(scopes)
		f.scopes = &s
	}
	if metadata != nil {
		m := gen.StringMap(metadata)
		f.metadata = &m
	}
	pol, err := agentPolicyWire(policy)
	f.policy = pol
	return f, err
}

func agentPolicyWire(p *AgentPolicy) (*gen.AgentPolicy, error) {
	if p == nil {
		return nil, nil
	}
	g := &gen.AgentPolicy{RequireApproval: &p.RequireApproval}
	if p.ApprovalTTL != 0 {
		if p.ApprovalTTL < time.Minute || p.ApprovalTTL > 7*24*time.Hour {
			return nil, inputErr("Policy.ApprovalTTL", "must be between 1 minute and 7 days (0 for the vault default)", nil)
		}
		s := int((p.ApprovalTTL + time.Second - 1) / time.Second)
		g.ApprovalTTLSeconds = &s
	}
	if p.Attributes != nil {
		m := gen.StringMap(p.Attributes)
		g.Attributes = &m
	}
	return g, nil
}

func checkAgentID(id uuid.UUID) error {
	if id == uuid.Nil {
		return inputErr("agentID", "must be the agent's UUID, not uuid.Nil", nil)
	}
	return nil
}

func checkKeyID(agentID, keyID uuid.UUID) error {
	if err := checkAgentID(agentID); err != nil {
		return err
	}
	if keyID == uuid.Nil {
		return inputErr("keyID", "must be the key's UUID, not uuid.Nil", nil)
	}
	return nil
}

// Create creates a managed agent and its first key. The key's plaintext is in the result only.
// Errors match ErrAgentNameExists (a non-revoked agent has the name), ErrIdempotencyConflict
// (IdempotencyKey reused with another body; also ErrAgentRevoked / ErrAgentInactive when the
// agent it created was since revoked or paused) and ErrInvalidRequest.
func (n *Agents) Create(ctx context.Context, p AgentCreateParams) (AgentCreateResult, error) {
	if err := checkAgentName("AgentCreateParams.Name", p.Name); err != nil {
		return AgentCreateResult{}, err
	}
	if err := checkIdempotencyKey(p.IdempotencyKey); err != nil {
		return AgentCreateResult{}, err
	}
	f, err := agentFieldsWire(p.DisplayName, p.Scopes, p.Metadata, p.Policy)
	if err != nil {
		return AgentCreateResult{}, err
	}
	body := gen.AgentCreateRequest{Name: p.Name, DisplayName: f.displayName, Scopes: f.scopes,
		Metadata: f.metadata, Policy: f.policy}
	switch p.Type {
	case "":
	case AgentTypeAgent, AgentTypeService:
		t := gen.AgentType(p.Type)
		body.Type = &t
	default:
		return AgentCreateResult{}, inputErr("AgentCreateParams.Type", `must be "agent" or "service"`, nil)
	}
	params := &gen.CreateAgentParams{}
	if p.IdempotencyKey != "" {
		params.IdempotencyKey = &p.IdempotencyKey
	}
	var out gen.AgentCreateResult
	resp, err := n.c.do(ctx, "createAgent", &out, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.CreateAgent(ctx, params, body)
	})
	if err != nil {
		return AgentCreateResult{}, err
	}
	info := agentInfoFrom(gen.AgentInfo{ID: out.ID, Name: out.Name, DisplayName: out.DisplayName, Type: out.Type,
		Status: out.Status, Scopes: out.Scopes, Metadata: out.Metadata, Policy: out.Policy,
		CreatedAt: out.CreatedAt, UpdatedAt: out.UpdatedAt, RevokedAt: out.RevokedAt})
	return AgentCreateResult{AgentInfo: info, APIKey: Secret(out.APIKey), Key: agentKeyFrom(out.Key),
		Replayed: resp.Header.Get("Idempotent-Replayed") == "true"}, nil
}

// List returns a page of the app's agents, oldest first (revoked ones only with
// IncludeRevoked).
func (n *Agents) List(ctx context.Context, p AgentListParams) (AgentPage, error) {
	return n.list(ctx, p, "")
}

// All iterates over every agent matching p. It stops after the first error, which it yields
// with a zero AgentInfo.
func (n *Agents) All(ctx context.Context, p AgentListParams) iter.Seq2[AgentInfo, error] {
	return allPages(func(offset int) ([]AgentInfo, bool, error) {
		p.Offset = offset
		pg, err := n.list(ctx, p, "")
		return pg.Agents, pg.HasMore, err
	}, p.Offset)
}

func (n *Agents) list(ctx context.Context, p AgentListParams, name string) (AgentPage, error) {
	if err := checkPage(p.Limit, p.Offset); err != nil {
		return AgentPage{}, err
	}
	params := &gen.ListAgentsParams{Limit: optInt(p.Limit), Offset: optInt(p.Offset)}
	if p.IncludeRevoked {
		params.IncludeRevoked = &p.IncludeRevoked
	}
	if name != "" {
		params.Name = &name
	}
	var out gen.AgentListResult
	if _, err := n.c.do(ctx, "listAgents", &out, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.ListAgents(ctx, params)
	}); err != nil {
		return AgentPage{}, err
	}
	pg := AgentPage{Agents: make([]AgentInfo, 0, len(out.Agents)), Total: out.Total, Limit: out.Limit, Offset: out.Offset, HasMore: out.HasMore}
	for _, a := range out.Agents {
		pg.Agents = append(pg.Agents, agentInfoFrom(a))
	}
	return pg, nil
}

// Get returns one agent by id (revoked agents included); ErrAgentNotFound when there is none.
func (n *Agents) Get(ctx context.Context, agentID uuid.UUID) (AgentInfo, error) {
	if err := checkAgentID(agentID); err != nil {
		return AgentInfo{}, err
	}
	return n.info(ctx, "getAgent", func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.GetAgent(ctx, agentID, nil)
	})
}

// GetByName returns the non-revoked agent named name. A missing name is not an error: it
// returns (AgentInfo{}, false, nil), like a map lookup. A name that cannot exist (not matching
// the name rules) is an *InputError.
func (n *Agents) GetByName(ctx context.Context, name string) (AgentInfo, bool, error) {
	if err := checkAgentName("name", name); err != nil {
		return AgentInfo{}, false, err
	}
	pg, err := n.list(ctx, AgentListParams{Limit: 1}, name)
	if err != nil || len(pg.Agents) == 0 {
		return AgentInfo{}, false, err
	}
	return pg.Agents[0], true, nil
}

// Update replaces the fields set in p. Errors match ErrAgentNotFound, ErrAgentRevoked and
// ErrAgentScopeNarrowingNotSupported (Scopes dropped a provider or a scope; the error's
// Details.MissingScopes names them).
func (n *Agents) Update(ctx context.Context, agentID uuid.UUID, p AgentUpdateParams) (AgentInfo, error) {
	if err := checkAgentID(agentID); err != nil {
		return AgentInfo{}, err
	}
	f, err := agentFieldsWire(p.DisplayName, p.Scopes, p.Metadata, p.Policy)
	if err != nil {
		return AgentInfo{}, err
	}
	body := gen.AgentUpdateRequest{DisplayName: f.displayName, Scopes: f.scopes, Metadata: f.metadata, Policy: f.policy}
	switch p.Status {
	case "":
	case "active", "inactive":
		st := gen.AgentUpdateRequestStatus(p.Status)
		body.Status = &st
	default:
		return AgentInfo{}, inputErr("AgentUpdateParams.Status", `must be "active" or "inactive" (use Delete to revoke)`, nil)
	}
	return n.info(ctx, "updateAgent", func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.UpdateAgent(ctx, agentID, nil, body)
	})
}

// Delete revokes an agent (soft delete) and all its keys, and returns it as it now is. Errors
// match ErrAgentNotFound and ErrAgentRevoked (already deleted).
func (n *Agents) Delete(ctx context.Context, agentID uuid.UUID) (AgentInfo, error) {
	if err := checkAgentID(agentID); err != nil {
		return AgentInfo{}, err
	}
	return n.info(ctx, "deleteAgent", func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.DeleteAgent(ctx, agentID, nil)
	})
}

func (n *Agents) info(ctx context.Context, op string, send func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error)) (AgentInfo, error) {
	var out gen.AgentInfo
	if _, err := n.c.do(ctx, op, &out, send); err != nil {
		return AgentInfo{}, err
	}
	return agentInfoFrom(out), nil
}

// MintKey creates a new key for an agent; its plaintext is in the result only. Errors match
// ErrAgentNotFound, ErrAgentInactive and ErrAgentRevoked.
func (n *Agents) MintKey(ctx context.Context, agentID uuid.UUID, p MintKeyParams) (AgentKeyMintResult, error) {
	if err := checkAgentID(agentID); err != nil {
		return AgentKeyMintResult{}, err
	}
	if len(p.Name) > 128 {
		return AgentKeyMintResult{}, inputErr("MintKeyParams.Name", "longer than 128 bytes", nil)
	}
	var body gen.AgentKeyMintRequest
	if p.Name != "" {
		body.Name = &p.Name
	}
	var out gen.AgentKeyMintResult
	if _, err := n.c.do(ctx, "mintAgentKey", &out, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.MintAgentKey(ctx, agentID, nil, body)
	}); err != nil {
		return AgentKeyMintResult{}, err
	}
	k := agentKeyFrom(gen.AgentKey{KeyID: out.KeyID, KeyPrefix: out.KeyPrefix, Name: out.Name, Status: out.Status,
		CreatedAt: out.CreatedAt, DeprecatedAt: out.DeprecatedAt, RevokedAt: out.RevokedAt, LastUsedAt: out.LastUsedAt})
	return AgentKeyMintResult{AgentKey: k, APIKey: Secret(out.APIKey)}, nil
}

// ListKeys returns every key of an agent, newest first, without plaintext.
func (n *Agents) ListKeys(ctx context.Context, agentID uuid.UUID) ([]AgentKey, error) {
	if err := checkAgentID(agentID); err != nil {
		return nil, err
	}
	var out gen.AgentKeyList
	if _, err := n.c.do(ctx, "listAgentKeys", &out, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.ListAgentKeys(ctx, agentID, nil)
	}); err != nil {
		return nil, err
	}
	keys := make([]AgentKey, 0, len(out.Items))
	for _, k := range out.Items {
		keys = append(keys, agentKeyFrom(k))
	}
	return keys, nil
}

// DeprecateKey marks a key deprecated: it keeps working, and every answer to it carries
// X-Alter-Key-Deprecated (see KeyDeprecated). Errors match ErrKeyNotFound and ErrKeyRevoked.
func (n *Agents) DeprecateKey(ctx context.Context, agentID, keyID uuid.UUID) (AgentKey, error) {
	if err := checkKeyID(agentID, keyID); err != nil {
		return AgentKey{}, err
	}
	return n.key(ctx, "deprecateAgentKey", func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.DeprecateAgentKey(ctx, agentID, keyID, nil)
	})
}

// UndeprecateKey returns a deprecated key to active. Errors match ErrKeyNotFound and
// ErrKeyRevoked.
func (n *Agents) UndeprecateKey(ctx context.Context, agentID, keyID uuid.UUID) (AgentKey, error) {
	if err := checkKeyID(agentID, keyID); err != nil {
		return AgentKey{}, err
	}
	return n.key(ctx, "undeprecateAgentKey", func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.UndeprecateAgentKey(ctx, agentID, keyID, nil)
	})
}

// RevokeKey revokes a key at once. Revoking the agent's last active key needs p.Force (else
// ErrLastActiveKey); revoking twice gives ErrKeyAlreadyRevoked.
func (n *Agents) RevokeKey(ctx context.Context, agentID, keyID uuid.UUID, p RevokeKeyParams) (AgentKey, error) {
	if err := checkKeyID(agentID, keyID); err != nil {
		return AgentKey{}, err
	}
	var body gen.RevokeKeyRequest
	if p.Force {
		body.Force = &p.Force
	}
	return n.key(ctx, "revokeAgentKey", func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
		return raw.RevokeAgentKey(ctx, agentID, keyID, nil, body)
	})
}

func (n *Agents) key(ctx context.Context, op string, send func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error)) (AgentKey, error) {
	var out gen.AgentKey
	if _, err := n.c.do(ctx, op, &out, send); err != nil {
		return AgentKey{}, err
	}
	return agentKeyFrom(out), nil
}

func agentKeyFrom(k gen.AgentKey) AgentKey {
	return AgentKey{ID: k.KeyID, Prefix: k.KeyPrefix, Name: derefStr(k.Name), Status: string(k.Status), CreatedAt: k.CreatedAt,
		DeprecatedAt: derefTime(k.DeprecatedAt), RevokedAt: derefTime(k.RevokedAt), LastUsedAt: derefTime(k.LastUsedAt)}
}
