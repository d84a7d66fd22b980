package facade

import (
	"context"
	"io"
	"iter"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// AgentInfo describes a managed agent.
type AgentInfo struct {
	ID                 uuid.UUID           // the agent's UUID
	Name               string              // stable per-app identifier
	DisplayName        string              // human-friendly name
	Type               string              // "agent" or "service"
	Status             string              // "active", "inactive" or "revoked"
	Scopes             map[string][]string // per-provider scope allow-list
	ScopesPending      map[string][]string // a staged narrowing of Scopes, nil when none
	ScopesAppliesAt    time.Time           // when ScopesPending applies
	Policy             map[string]any      // human-in-the-loop configuration, as the vault stores it
	Metadata           map[string]any      // operator metadata
	RateLimitPerMinute int                 // 0 when the app default applies
	Version            int                 // optimistic-concurrency counter (AgentUpdateParams.ExpectedVersion)
	CreatedAt          time.Time           // creation time
	LastUsedAt         time.Time           // zero when never used
	ParentAgentID      uuid.UUID           // the agent this one was minted from; uuid.Nil (always, today) when none
	// LegacyManagedSecretNames are the legacy display-name entries under Scopes["managed_secrets"]
	// the allowlist still honours: a Scopes update may keep these and only these there.
	LegacyManagedSecretNames []string
}

func agentInfoFrom(g gen.AgentInfo) AgentInfo {
	a := AgentInfo{ID: g.ID, Name: g.Name, DisplayName: derefStr(g.DisplayName), Type: string(g.Type),
		Status: string(g.Status), Scopes: g.Scopes, ScopesPending: g.ScopesPending, Policy: g.Policy,
		Metadata: g.Metadata, Version: g.Version, CreatedAt: g.CreatedAt, LastUsedAt: derefTime(g.LastUsedAt),
		ScopesAppliesAt: derefTime(g.ScopesAppliesAt), LegacyManagedSecretNames: g.StoredLegacyManagedSecretNames}
	if a.LegacyManagedSecretNames == nil {
		a.LegacyManagedSecretNames = []string{}
	}
	if g.RateLimitPerMinute != nil {
		a.RateLimitPerMinute = *g.RateLimitPerMinute
	}
	if g.ParentAgentID != nil {
		a.ParentAgentID = *g.ParentAgentID
	}
	return a
}

// Agents is the agents namespace of an App (App.Agents): managed agents and their keys. Errors
// follow the vault's agents error table (ErrAgentNotFound, ErrAgentNameExists,
// ErrLastActiveKey, ErrKeyAlreadyRevoked, …).
type Agents struct{ c *client }

// Agents returns the agents namespace (an Agent has none: agents cannot create agents).
func (a *App) Agents() *Agents { return &Agents{c: a.client} }

// Agent types (AgentCreateParams.Type).
const (
	AgentTypeAgent   = "agent"
	AgentTypeService = "service"
)

// AgentCreateParams describe a new agent.
type AgentCreateParams struct {
	Name        string              // required; the naming rules are the vault's
	DisplayName string              // human-friendly name
	Type        string              // AgentTypeAgent (default) or AgentTypeService
	Scopes      map[string][]string // per-provider allow-list ({} or nil: deny-all)
	Metadata    map[string]any      // free-form metadata
	Policy      map[string]any      // human-in-the-loop configuration (e.g. requires_approval)
	// IdempotencyKey makes Create safe to repeat: the same key and body give the same agent
	// (its APIKey is then empty and Replayed is true). Sent only when given.
	IdempotencyKey string
}

// AgentCreateResult is a created agent and the plaintext of its first key.
type AgentCreateResult struct {
	AgentInfo
	APIKey   Secret    // the first key's plaintext; store it now (Reveal). Empty on a replay.
	KeyID    uuid.UUID // the first key
	Replayed bool      // the answer replays an earlier Create with the same IdempotencyKey
}

// AgentKey is an agent key, without its plaintext.
type AgentKey struct {
	ID           uuid.UUID
	Prefix       string    // first characters of the plaintext, for recognition
	Name         string    // "<agent name>-<N>"
	Status       string    // "active", "deprecated" or "revoked" (from the dates below)
	CreatedAt    time.Time // creation time
	DeprecatedAt time.Time // zero unless deprecated
	RevokedAt    time.Time // zero unless revoked
	LastUsedAt   time.Time // zero when never used
}

// AgentKeyMintResult is a new key and its plaintext.
type AgentKeyMintResult struct {
	AgentKey
	APIKey Secret // the plaintext; store it now (Reveal)
}

// RevokeKeyParams are the options of a key revocation.
type RevokeKeyParams struct {
	// Force allows revoking the agent's last active key (else ErrLastActiveKey).
	Force bool
}

// AgentListParams select a page of agents.
type AgentListParams struct {
	IncludeRevoked bool // include revoked (deleted) agents
	Limit          int  // page size, 1..1000 (0: 100)
	Offset         int  // rows to skip
}

// AgentUpdateParams are the fields to replace; zero fields are left unchanged. An update that
// changes nothing leaves the agent (and its Version) as it is.
type AgentUpdateParams struct {
	DisplayName string              // new display name
	Metadata    map[string]any      // when non-nil, replaces the metadata
	Scopes      map[string][]string // when non-nil, the full new allow-list (needs ExpectedVersion)
	Policy      map[string]any      // when non-nil, replaces the whole policy block
	Status      string              // "active" or "inactive" (see Resume and Suspend)
	// ExpectedVersion is the AgentInfo.Version the change was computed from; a stale one gives
	// an error matching ErrAgentConcurrentUpdate: read the agent again, recompute, retry.
	// Required with Scopes; 0: not sent.
	ExpectedVersion int
	// GracePeriod stages a narrowing of Scopes for this long, at most 7 days, in whole seconds
	// (0: the vault's default, 24 hours). Broadening always applies at once.
	GracePeriod time.Duration
	// NarrowNow applies a narrowing of Scopes at once (grace_seconds=0), e.g. to cut off a
	// compromised agent; it excludes GracePeriod.
	NarrowNow bool
}

// agentCall is the descriptor of an agents-namespace call.
func agentCall(op, field string) *call {
	return &call{op: op, surface: surfaceAgents, field: field, actor: true, ctxHeader: true}
}

// Create creates a managed agent and its first key. The key's plaintext is in the result only.
func (n *Agents) Create(ctx context.Context, p AgentCreateParams) (AgentCreateResult, error) {
	if p.Name == "" {
		return AgentCreateResult{}, inputErr("AgentCreateParams.Name", "required", nil)
	}
	typ := p.Type
	switch typ {
	case "":
		typ = AgentTypeAgent
	case AgentTypeAgent, AgentTypeService:
	default:
		return AgentCreateResult{}, inputErr("AgentCreateParams.Type", `must be "agent" or "service"`, nil)
	}
	if err := checkNoCRLF("AgentCreateParams.IdempotencyKey", p.IdempotencyKey); err != nil {
		return AgentCreateResult{}, err
	}
	scopes := gen.AgentScopes(p.Scopes)
	if scopes == nil {
		scopes = gen.AgentScopes{}
	}
	meta := p.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	req := gen.AgentCreateRequest{Name: p.Name, Type: gen.AgentType(typ), Scopes: scopes, Metadata: meta,
		DisplayName: optStr(p.DisplayName)}
	if p.Policy != nil {
		req.Policy = &p.Policy
	}
	params := &gen.CreateAgentParams{IdempotencyKey: optStr(p.IdempotencyKey)}
	out, err := sendJSON[gen.AgentCreateResult](ctx, n.c, agentCall("createAgent", "AgentCreateParams"), req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.CreateAgentWithBody(ctx, params, contentJSON, body)
	})
	if err != nil {
		return AgentCreateResult{}, err
	}
	info := agentInfoFrom(gen.AgentInfo{ID: out.ID, Name: out.Name, DisplayName: out.DisplayName, Type: out.Type,
		Status: out.Status, Scopes: out.Scopes, ScopesPending: out.ScopesPending, ScopesAppliesAt: out.ScopesAppliesAt,
		Policy: out.Policy, Metadata: out.Metadata, RateLimitPerMinute: out.RateLimitPerMinute, Version: out.Version,
		CreatedAt: out.CreatedAt, LastUsedAt: out.LastUsedAt, ParentAgentID: out.ParentAgentID,
		StoredLegacyManagedSecretNames: out.StoredLegacyManagedSecretNames})
	return AgentCreateResult{AgentInfo: info, APIKey: Secret(derefStr(out.APIKey)), KeyID: out.KeyID, Replayed: out.APIKey == nil}, nil
}

// List returns a page of the app's agents (revoked ones only with IncludeRevoked).
func (n *Agents) List(ctx context.Context, p AgentListParams) (AgentPage, error) {
	limit, err := pageLimit(p.Limit, p.Offset)
	if err != nil {
		return AgentPage{}, err
	}
	return n.list(ctx, &gen.ListAgentsParams{IncludeRevoked: &p.IncludeRevoked, Limit: &limit, Offset: &p.Offset})
}

// All iterates over every agent matching p. It stops after the first error, which it yields
// with a zero AgentInfo.
func (n *Agents) All(ctx context.Context, p AgentListParams) iter.Seq2[AgentInfo, error] {
	return allPages(ctx, p, p.Offset, n.List)
}

func (p AgentListParams) at(offset int) AgentListParams { p.Offset = offset; return p }

func (n *Agents) list(ctx context.Context, params *gen.ListAgentsParams) (AgentPage, error) {
	out, err := sendJSON[gen.AgentList](ctx, n.c, agentCall("listAgents", ""), nil, func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
		return raw.ListAgents(ctx, params)
	})
	if err != nil {
		return AgentPage{}, err
	}
	pg := AgentPage{Items: make([]AgentInfo, 0, len(out.Items)), Total: out.Total, Limit: out.Limit, Offset: out.Offset, HasMore: out.HasMore}
	for _, a := range out.Items {
		pg.Items = append(pg.Items, agentInfoFrom(a))
	}
	return pg, nil
}

// Get returns one agent by id (revoked agents included).
func (n *Agents) Get(ctx context.Context, agentID uuid.UUID) (AgentInfo, error) {
	if err := checkAgentID(agentID); err != nil {
		return AgentInfo{}, err
	}
	return n.info(ctx, agentCall("getAgent", ""), nil, func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
		return raw.GetAgent(ctx, agentID.String())
	})
}

// GetByName returns the agent named name. A missing name is not an error: it returns
// (AgentInfo{}, false, nil), like a map lookup.
func (n *Agents) GetByName(ctx context.Context, name string) (AgentInfo, bool, error) {
	if name == "" {
		return AgentInfo{}, false, inputErr("name", "required", nil)
	}
	pg, err := n.list(ctx, &gen.ListAgentsParams{Name: &name})
	if err != nil || len(pg.Items) == 0 {
		return AgentInfo{}, false, err
	}
	return pg.Items[0], true, nil
}

// Update replaces the fields set in p.
func (n *Agents) Update(ctx context.Context, agentID uuid.UUID, p AgentUpdateParams) (AgentInfo, error) {
	if err := checkAgentID(agentID); err != nil {
		return AgentInfo{}, err
	}
	req := gen.AgentUpdateRequest{DisplayName: optStr(p.DisplayName)}
	if p.Metadata != nil {
		req.Metadata = &p.Metadata
	}
	if p.Scopes != nil {
		s := gen.AgentScopes(p.Scopes)
		req.Scopes = &s
		if p.ExpectedVersion < 1 {
			return AgentInfo{}, inputErr("AgentUpdateParams.ExpectedVersion", "required (the agent's Version) when Scopes is set", nil)
		}
	}
	if p.Policy != nil {
		req.Policy = &p.Policy
	}
	switch p.Status {
	case "":
	case "active", "inactive":
		st := gen.AgentStatus(p.Status)
		req.Status = &st
	default:
		return AgentInfo{}, inputErr("AgentUpdateParams.Status", `must be "active" or "inactive" (use Delete to revoke)`, nil)
	}
	params, err := p.query()
	if err != nil {
		return AgentInfo{}, err
	}
	return n.info(ctx, agentCall("updateAgent", "AgentUpdateParams"), req, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.UpdateAgentWithBody(ctx, agentID.String(), params, contentJSON, body)
	})
}

// maxGracePeriod is the longest staging of a scope narrowing the vault accepts.
const maxGracePeriod = 7 * 24 * time.Hour

// query is the update's query: grace_seconds, then expected_version.
func (p AgentUpdateParams) query() (*gen.UpdateAgentParams, error) {
	params := &gen.UpdateAgentParams{}
	switch {
	case p.ExpectedVersion < 0:
		return nil, inputErr("AgentUpdateParams.ExpectedVersion", "must be the agent's Version (1 or more)", nil)
	case p.GracePeriod < 0 || p.GracePeriod > maxGracePeriod:
		return nil, inputErr("AgentUpdateParams.GracePeriod", "must be between 0 and 7 days", nil)
	case p.GracePeriod%time.Second != 0:
		return nil, inputErr("AgentUpdateParams.GracePeriod", "must be whole seconds", nil)
	case p.NarrowNow && p.GracePeriod > 0:
		return nil, inputErr("AgentUpdateParams.NarrowNow", "excludes GracePeriod", nil)
	case (p.NarrowNow || p.GracePeriod > 0) && p.Scopes == nil:
		return nil, inputErr("AgentUpdateParams.GracePeriod", "only with Scopes", nil)
	}
	if p.GracePeriod > 0 || p.NarrowNow {
		g := int(p.GracePeriod / time.Second)
		params.GraceSeconds = &g
	}
	if p.ExpectedVersion > 0 {
		params.ExpectedVersion = &p.ExpectedVersion
	}
	return params, nil
}

// Suspend pauses an agent (active → inactive): it keeps its grants and keys, but every call
// of its own other than Agent.Me is refused (ErrAgentInactive) until Resume.
func (n *Agents) Suspend(ctx context.Context, agentID uuid.UUID) (AgentInfo, error) {
	return n.Update(ctx, agentID, AgentUpdateParams{Status: "inactive"})
}

// Resume lifts a suspension (inactive → active). A scope narrowing that fell due meanwhile
// applies at the agent's next authentication.
func (n *Agents) Resume(ctx context.Context, agentID uuid.UUID) (AgentInfo, error) {
	return n.Update(ctx, agentID, AgentUpdateParams{Status: "active"})
}

// Delete revokes an agent and all its keys (idempotent), and returns it as it now is.
func (n *Agents) Delete(ctx context.Context, agentID uuid.UUID) (AgentInfo, error) {
	if err := checkAgentID(agentID); err != nil {
		return AgentInfo{}, err
	}
	return n.info(ctx, agentCall("deleteAgent", ""), nil, func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
		return raw.DeleteAgent(ctx, agentID.String())
	})
}

func (n *Agents) info(ctx context.Context, d *call, model any, do genCall) (AgentInfo, error) {
	out, err := sendJSON[gen.AgentInfo](ctx, n.c, d, model, do)
	if err != nil {
		return AgentInfo{}, err
	}
	return agentInfoFrom(out), nil
}

// emptyObject is the request model of the calls that send {}.
var emptyObject = struct{}{}

// MintKey creates a new key for an agent; its plaintext is in the result only.
func (n *Agents) MintKey(ctx context.Context, agentID uuid.UUID) (AgentKeyMintResult, error) {
	if err := checkAgentID(agentID); err != nil {
		return AgentKeyMintResult{}, err
	}
	out, err := sendJSON[gen.AgentKeyMintResult](ctx, n.c, agentCall("mintAgentKey", ""), emptyObject, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.MintAgentKeyWithBody(ctx, agentID.String(), contentJSON, body)
	})
	if err != nil {
		return AgentKeyMintResult{}, err
	}
	k := agentKeyFrom(gen.AgentKey{KeyID: out.KeyID, KeyPrefix: out.KeyPrefix, Name: out.Name, CreatedAt: out.CreatedAt,
		DeprecatedAt: out.DeprecatedAt, RevokedAt: out.RevokedAt, LastUsedAt: out.LastUsedAt})
	return AgentKeyMintResult{AgentKey: k, APIKey: Secret(derefStr(out.APIKey))}, nil
}

// ListKeys returns every key of an agent, oldest first, without plaintext.
func (n *Agents) ListKeys(ctx context.Context, agentID uuid.UUID) ([]AgentKey, error) {
	if err := checkAgentID(agentID); err != nil {
		return nil, err
	}
	out, err := sendJSON[gen.AgentKeyList](ctx, n.c, agentCall("listAgentKeys", ""), nil, func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
		return raw.ListAgentKeys(ctx, agentID.String())
	})
	if err != nil {
		return nil, err
	}
	keys := make([]AgentKey, 0, len(out.Items))
	for _, k := range out.Items {
		keys = append(keys, agentKeyFrom(k))
	}
	return keys, nil
}

// DeprecateKey marks a key deprecated: it keeps working, and every answer to it carries
// X-Alter-Key-Deprecated (see KeyDeprecated).
func (n *Agents) DeprecateKey(ctx context.Context, agentID, keyID uuid.UUID) (AgentKey, error) {
	if err := checkKeyID(agentID, keyID); err != nil {
		return AgentKey{}, err
	}
	return n.key(ctx, agentCall("deprecateAgentKey", ""), emptyObject, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.DeprecateAgentKeyWithBody(ctx, agentID.String(), keyID.String(), contentJSON, body)
	})
}

// UndeprecateKey returns a deprecated key to active.
func (n *Agents) UndeprecateKey(ctx context.Context, agentID, keyID uuid.UUID) (AgentKey, error) {
	if err := checkKeyID(agentID, keyID); err != nil {
		return AgentKey{}, err
	}
	return n.key(ctx, agentCall("undeprecateAgentKey", ""), emptyObject, func(ctx context.Context, raw gen.ClientInterface, body io.Reader) (*http.Response, error) {
		return raw.UndeprecateAgentKeyWithBody(ctx, agentID.String(), keyID.String(), contentJSON, body)
	})
}

// RevokeKey revokes a key at once. Revoking the agent's last active key needs p.Force.
func (n *Agents) RevokeKey(ctx context.Context, agentID, keyID uuid.UUID, p RevokeKeyParams) (AgentKey, error) {
	if err := checkKeyID(agentID, keyID); err != nil {
		return AgentKey{}, err
	}
	params := &gen.RevokeAgentKeyParams{}
	if p.Force {
		params.Force = &p.Force
	}
	return n.key(ctx, agentCall("revokeAgentKey", ""), nil, func(ctx context.Context, raw gen.ClientInterface, _ io.Reader) (*http.Response, error) {
		return raw.RevokeAgentKey(ctx, agentID.String(), keyID.String(), params)
	})
}

func (n *Agents) key(ctx context.Context, d *call, model any, do genCall) (AgentKey, error) {
	out, err := sendJSON[gen.AgentKey](ctx, n.c, d, model, do)
	if err != nil {
		return AgentKey{}, err
	}
	return agentKeyFrom(out), nil
}

func agentKeyFrom(k gen.AgentKey) AgentKey {
	st := "active"
	switch {
	case k.RevokedAt != nil:
		st = "revoked"
	case k.DeprecatedAt != nil:
		st = "deprecated"
	}
	return AgentKey{ID: k.KeyID, Prefix: k.KeyPrefix, Name: k.Name, Status: st, CreatedAt: k.CreatedAt,
		DeprecatedAt: derefTime(k.DeprecatedAt), RevokedAt: derefTime(k.RevokedAt), LastUsedAt: derefTime(k.LastUsedAt)}
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

func checkNoCRLF(field, v string) error {
	if strings.ContainsAny(v, "\r\n") {
		return inputErr(field, "must not contain CR or LF", nil)
	}
	return nil
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func derefStr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
