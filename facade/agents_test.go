package facade

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/vaulttest"
)

func TestAgentsCreateAndSecrets(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	ags := e.app.Agents()

	res, err := ags.Create(bg, AgentCreateParams{Name: "email-bot", DisplayName: "Email bot", Type: AgentTypeService,
		Scopes: map[string][]string{"google": {"gmail.readonly"}}, Metadata: map[string]string{"team": "growth"},
		Policy: &AgentPolicy{RequireApproval: true, ApprovalTTL: 10 * time.Minute, Attributes: map[string]string{"tier": "1"}}})
	require.NoError(t, err)
	key := res.APIKey.Reveal()
	require.True(t, strings.HasPrefix(key, "alter_key_agent_"), "a real agent key")
	require.Equal(t, "email-bot", res.Name)
	require.Equal(t, "Email bot", res.DisplayName)
	require.Equal(t, AgentTypeService, res.Type)
	require.Equal(t, "active", res.Status)
	require.Equal(t, map[string][]string{"google": {"gmail.readonly"}}, res.Scopes)
	require.Equal(t, map[string]string{"team": "growth"}, res.Metadata)
	require.Equal(t, AgentPolicy{RequireApproval: true, ApprovalTTL: 10 * time.Minute, Attributes: map[string]string{"tier": "1"}}, res.Policy)
	require.Equal(t, "active", res.Key.Status)
	require.True(t, strings.HasPrefix(key, res.Key.Prefix))
	require.False(t, res.Replayed)

	// The key works, and is the agent's.
	agent, err := NewAgent(key, WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	defer agent.Close()
	me, err := agent.Me(bg)
	require.NoError(t, err)
	require.Equal(t, res.ID, me.ID)

	// The plaintext never shows in prints, logs or JSON.
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		require.NotContains(t, fmt.Sprintf(f, res), key, f)
		require.NotContains(t, fmt.Sprintf(f, &res), key, f)
		require.NotContains(t, fmt.Sprintf(f, res.APIKey), key, f)
	}
	require.Contains(t, fmt.Sprintf("%+v", res), "APIKey:[REDACTED]")
	require.Contains(t, fmt.Sprintf("%#v", res), `APIKey:"[REDACTED]"`)
	e.app.c.log.Info("created", "agent", res, "key", res.APIKey)
	require.NotContains(t, logs.String(), key)
	require.Contains(t, logs.String(), "[REDACTED]")
	b, err := json.Marshal(res)
	require.NoError(t, err)
	require.NotContains(t, string(b), key)
	require.Equal(t, key, string(res.APIKey), "the plaintext is there for whoever asks explicitly")

	// Errors.
	_, err = ags.Create(bg, AgentCreateParams{Name: "email-bot"})
	require.ErrorIs(t, err, ErrAgentNameExists)
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, res.ID, ae.Details.AgentID)
	_, err = ags.Create(bg, AgentCreateParams{Name: "Email Bot"})
	requireInputErr(t, err, nil, "lowercase")
	_, err = ags.Create(bg, AgentCreateParams{Name: "x", Type: "robot"})
	requireInputErr(t, err, nil, `"agent" or "service"`)
	_, err = ags.Create(bg, AgentCreateParams{Name: "x", IdempotencyKey: "k\r\nX: y"})
	requireInputErr(t, err, nil, "printable ASCII")
	_, err = ags.Create(bg, AgentCreateParams{Name: "x", IdempotencyKey: strings.Repeat("k", 256)})
	requireInputErr(t, err, nil, "255")
	_, err = ags.Create(bg, AgentCreateParams{Name: "x", Policy: &AgentPolicy{ApprovalTTL: time.Second}})
	requireInputErr(t, err, nil, "1 minute")
	noSecrets(t, logs.String(), key, e.s.AppKey())
}

func TestAgentsCreateIdempotency(t *testing.T) {
	e := newEnv(t, fastRetries)
	ags := e.app.Agents()
	p := AgentCreateParams{Name: "idem-bot", Metadata: map[string]string{"v": "1"}, IdempotencyKey: "create-idem-bot-1"}

	first, err := ags.Create(bg, p)
	require.NoError(t, err)
	replay, err := ags.Create(bg, p)
	require.NoError(t, err)
	require.True(t, replay.Replayed)
	require.Equal(t, first.ID, replay.ID)
	require.Equal(t, first.APIKey.Reveal(), replay.APIKey.Reveal(), "same key returned on replay")
	require.Equal(t, first.Key.ID, replay.Key.ID)
	pg, err := ags.List(bg, AgentListParams{})
	require.NoError(t, err)
	require.Equal(t, 1, pg.Total, "one agent only")

	// Same key, other body.
	p2 := p
	p2.Metadata = map[string]string{"v": "2"}
	_, err = ags.Create(bg, p2)
	require.ErrorIs(t, err, ErrIdempotencyConflict)
	require.NotErrorIs(t, err, ErrAgentRevoked)

	// Replay after the agent was revoked.
	_, err = ags.Delete(bg, first.ID)
	require.NoError(t, err)
	_, err = ags.Create(bg, p)
	require.ErrorIs(t, err, ErrIdempotencyConflict)
	require.ErrorIs(t, err, ErrAgentRevoked)

	// Replay after the agent was paused.
	p3 := AgentCreateParams{Name: "paused-bot", IdempotencyKey: "create-paused-bot"}
	paused, err := ags.Create(bg, p3)
	require.NoError(t, err)
	_, err = ags.Update(bg, paused.ID, AgentUpdateParams{Status: "inactive"})
	require.NoError(t, err)
	_, err = ags.Create(bg, p3)
	require.ErrorIs(t, err, ErrIdempotencyConflict)
	require.ErrorIs(t, err, ErrAgentInactive)

	// Without a caller's key: one is generated and reused by the automatic retry, so a 503 after
	// the vault did the work cannot create two agents.
	e.s.InjectFault("createAgent", vaulttest.Fault{Status: 503, Code: "service_unavailable"})
	res, err := ags.Create(bg, AgentCreateParams{Name: "retry-bot"})
	require.NoError(t, err)
	var keys []string
	for _, r := range e.s.Requests() {
		if r.Operation == "createAgent" && strings.Contains(string(r.Body), "retry-bot") {
			keys = append(keys, r.Header.Get("Idempotency-Key"))
		}
	}
	require.Len(t, keys, 2)
	require.Equal(t, keys[0], keys[1])
	require.NotEmpty(t, keys[0])
	require.Equal(t, []int{503, 201}, statuses(e.app.LastRetryInfo()))
	_, found, err := ags.GetByName(bg, "retry-bot")
	require.NoError(t, err)
	require.True(t, found)
	require.NotEmpty(t, res.APIKey.Reveal())

	// Two calls without a key are two creations (different generated keys).
	_, err = ags.Create(bg, AgentCreateParams{Name: "retry-bot"})
	require.ErrorIs(t, err, ErrAgentNameExists)
}

func TestAgentsReadUpdateDelete(t *testing.T) {
	e := newEnv(t)
	ags := e.app.Agents()
	var ids []uuid.UUID
	for i := range 5 {
		r, err := ags.Create(bg, AgentCreateParams{Name: fmt.Sprintf("bot-%d", i), Scopes: map[string][]string{"github": {"repo"}}})
		require.NoError(t, err)
		ids = append(ids, r.ID)
	}

	pg, err := ags.List(bg, AgentListParams{Limit: 2, Offset: 2})
	require.NoError(t, err)
	require.Equal(t, 5, pg.Total)
	require.Equal(t, 2, pg.Limit)
	require.Equal(t, 2, pg.Offset)
	require.True(t, pg.HasMore)
	require.Equal(t, []uuid.UUID{ids[2], ids[3]}, []uuid.UUID{pg.Agents[0].ID, pg.Agents[1].ID})

	got, err := ags.Get(bg, ids[1])
	require.NoError(t, err)
	require.Equal(t, "bot-1", got.Name)
	_, err = ags.Get(bg, uuid.New())
	require.ErrorIs(t, err, ErrAgentNotFound)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = ags.Get(bg, uuid.Nil)
	requireInputErr(t, err, nil, "uuid.Nil")

	byName, found, err := ags.GetByName(bg, "bot-3")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, ids[3], byName.ID)
	missing, found, err := ags.GetByName(bg, "nobody")
	require.NoError(t, err)
	require.False(t, found)
	require.Zero(t, missing.ID)
	_, _, err = ags.GetByName(bg, "Not A Name")
	requireInputErr(t, err, nil, "lowercase")

	// Update: scopes may only grow.
	up, err := ags.Update(bg, ids[0], AgentUpdateParams{DisplayName: "Bot zero", Metadata: map[string]string{"k": "v"},
		Scopes: map[string][]string{"github": {"repo", "read:org"}, "slack": {"chat:write"}}, Policy: &AgentPolicy{RequireApproval: true}})
	require.NoError(t, err)
	require.Equal(t, "Bot zero", up.DisplayName)
	require.Equal(t, map[string]string{"k": "v"}, up.Metadata)
	require.Equal(t, []string{"repo", "read:org"}, up.Scopes["github"])
	require.True(t, up.Policy.RequireApproval)
	_, err = ags.Update(bg, ids[0], AgentUpdateParams{Scopes: map[string][]string{"github": {"repo"}, "slack": {"chat:write"}}})
	require.ErrorIs(t, err, ErrAgentScopeNarrowingNotSupported)
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, []string{"read:org"}, ae.Details.MissingScopes)
	paused, err := ags.Update(bg, ids[0], AgentUpdateParams{Status: "inactive"})
	require.NoError(t, err)
	require.Equal(t, "inactive", paused.Status)
	_, err = ags.MintKey(bg, ids[0], MintKeyParams{})
	require.ErrorIs(t, err, ErrAgentInactive)
	_, err = ags.Update(bg, ids[0], AgentUpdateParams{Status: "revoked"})
	requireInputErr(t, err, nil, "Delete")
	_, err = ags.Update(bg, ids[0], AgentUpdateParams{Policy: &AgentPolicy{ApprovalTTL: 8 * 24 * time.Hour}})
	requireInputErr(t, err, nil, "7 days")
	_, err = ags.Update(bg, uuid.New(), AgentUpdateParams{DisplayName: "x"})
	require.ErrorIs(t, err, ErrAgentNotFound)
	_, err = ags.Update(bg, uuid.Nil, AgentUpdateParams{})
	requireInputErr(t, err, nil, "uuid.Nil")

	// Delete: soft, keys revoked; twice is an error.
	del, err := ags.Delete(bg, ids[4])
	require.NoError(t, err)
	require.Equal(t, "revoked", del.Status)
	require.False(t, del.RevokedAt.IsZero())
	_, err = ags.Delete(bg, ids[4])
	require.ErrorIs(t, err, ErrAgentRevoked)
	_, err = ags.Delete(bg, uuid.New())
	require.ErrorIs(t, err, ErrAgentNotFound)
	_, err = ags.Delete(bg, uuid.Nil)
	requireInputErr(t, err, nil, "uuid.Nil")
	_, err = ags.MintKey(bg, ids[4], MintKeyParams{})
	require.ErrorIs(t, err, ErrAgentRevoked)
	_, err = ags.Update(bg, ids[4], AgentUpdateParams{DisplayName: "x"})
	require.ErrorIs(t, err, ErrAgentRevoked)
	keys, err := ags.ListKeys(bg, ids[4])
	require.NoError(t, err)
	require.Equal(t, "revoked", keys[0].Status)
	_, found, err = ags.GetByName(bg, "bot-4")
	require.NoError(t, err)
	require.False(t, found, "revoked agents are not found by name")

	// All, with and without revoked agents.
	var names []string
	for a, err := range ags.All(bg, AgentListParams{Limit: 2}) {
		require.NoError(t, err)
		names = append(names, a.Name)
	}
	require.Equal(t, []string{"bot-0", "bot-1", "bot-2", "bot-3"}, names)
	n := 0
	for _, err := range ags.All(bg, AgentListParams{IncludeRevoked: true, Limit: 3}) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 5, n)
	e.s.InjectFault("listAgents", vaulttest.Fault{Status: 403, Code: "insufficient_scope"})
	for _, err := range ags.All(bg, AgentListParams{}) {
		require.ErrorIs(t, err, ErrInsufficientScope)
	}
	_, err = ags.List(bg, AgentListParams{Limit: 5000})
	requireInputErr(t, err, nil, "1000")
}

func TestAgentsKeys(t *testing.T) {
	e := newEnv(t)
	ags := e.app.Agents()
	created, err := ags.Create(bg, AgentCreateParams{Name: "keyed"})
	require.NoError(t, err)
	id, first := created.ID, created.Key.ID

	// Only one active key: revoking it needs Force.
	_, err = ags.RevokeKey(bg, id, first, RevokeKeyParams{})
	require.ErrorIs(t, err, ErrLastActiveKey)

	minted, err := ags.MintKey(bg, id, MintKeyParams{Name: "rotation"})
	require.NoError(t, err)
	require.Equal(t, "rotation", minted.Name)
	require.Equal(t, "active", minted.Status)
	require.NotContains(t, fmt.Sprintf("%+v %#v %v", minted, minted, &minted), minted.APIKey.Reveal())
	keys, err := ags.ListKeys(bg, id)
	require.NoError(t, err)
	require.Len(t, keys, 2)
	require.Equal(t, []uuid.UUID{minted.ID, first}, []uuid.UUID{keys[0].ID, keys[1].ID}, "newest first")
	for _, k := range keys {
		require.NotContains(t, fmt.Sprintf("%#v", k), minted.APIKey.Reveal())
	}

	// Deprecation is surfaced to the key's users.
	var logs bytes.Buffer
	agent, err := NewAgent(minted.APIKey.Reveal(), WithBaseURL(e.s.URL()), WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	defer agent.Close()
	dep, err := ags.DeprecateKey(bg, id, minted.ID)
	require.NoError(t, err)
	require.Equal(t, "deprecated", dep.Status)
	require.False(t, dep.DeprecatedAt.IsZero())
	for range 2 {
		_, err = agent.Me(bg)
		require.NoError(t, err)
	}
	require.True(t, agent.KeyDeprecated())
	require.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), logs.String())
	require.NotContains(t, logs.String(), minted.APIKey.Reveal())
	undep, err := ags.UndeprecateKey(bg, id, minted.ID)
	require.NoError(t, err)
	require.Equal(t, "active", undep.Status)

	// Revoke: once, then key_already_revoked; the last active one with Force.
	rev, err := ags.RevokeKey(bg, id, first, RevokeKeyParams{})
	require.NoError(t, err)
	require.Equal(t, "revoked", rev.Status)
	_, err = ags.RevokeKey(bg, id, first, RevokeKeyParams{})
	require.ErrorIs(t, err, ErrKeyAlreadyRevoked)
	_, err = ags.RevokeKey(bg, id, minted.ID, RevokeKeyParams{})
	require.ErrorIs(t, err, ErrLastActiveKey)
	_, err = ags.RevokeKey(bg, id, minted.ID, RevokeKeyParams{Force: true})
	require.NoError(t, err)
	_, err = agent.Me(bg)
	require.ErrorIs(t, err, ErrInvalidKey)
	_, err = ags.DeprecateKey(bg, id, first)
	require.ErrorIs(t, err, ErrKeyRevoked)
	_, err = ags.UndeprecateKey(bg, id, first)
	require.ErrorIs(t, err, ErrKeyRevoked)

	// Not found.
	_, err = ags.RevokeKey(bg, id, uuid.New(), RevokeKeyParams{})
	require.ErrorIs(t, err, ErrKeyNotFound)
	_, err = ags.DeprecateKey(bg, uuid.New(), first)
	require.ErrorIs(t, err, ErrAgentNotFound)
	_, err = ags.MintKey(bg, uuid.New(), MintKeyParams{})
	require.ErrorIs(t, err, ErrAgentNotFound)
	_, err = ags.ListKeys(bg, uuid.New())
	require.ErrorIs(t, err, ErrAgentNotFound)

	// Local checks.
	_, err = ags.MintKey(bg, id, MintKeyParams{Name: strings.Repeat("n", 129)})
	requireInputErr(t, err, nil, "128")
	_, err = ags.MintKey(bg, uuid.Nil, MintKeyParams{})
	requireInputErr(t, err, nil, "uuid.Nil")
	_, err = ags.ListKeys(bg, uuid.Nil)
	requireInputErr(t, err, nil, "uuid.Nil")
	_, err = ags.RevokeKey(bg, id, uuid.Nil, RevokeKeyParams{})
	requireInputErr(t, err, nil, "keyID")
	_, err = ags.DeprecateKey(bg, uuid.Nil, first)
	requireInputErr(t, err, nil, "agentID")
	_, err = ags.UndeprecateKey(bg, id, uuid.Nil)
	requireInputErr(t, err, nil, "keyID")
}

// An agent principal cannot administer agents. The type system keeps Agents off Agent; an App
// impersonating an agent (WithCaller(agentUUID)) gets the vault's refusal.
func TestAgentsNeedAnAppPrincipal(t *testing.T) {
	e := newEnv(t)
	ag := e.s.AddAgent("not-an-admin")
	imp, err := NewApp(e.s.AppKey(), WithBaseURL(e.s.URL()), WithCaller(ag.ID.String()))
	require.NoError(t, err)
	defer imp.Close()
	_, err = imp.Agents().Create(bg, AgentCreateParams{Name: "sub-agent"})
	require.ErrorIs(t, err, ErrAgentCannotMintSubagents)
	_, err = imp.Agents().List(bg, AgentListParams{})
	require.ErrorIs(t, err, ErrAgentCannotMintSubagents)
	_, err = imp.Agents().MintKey(bg, ag.ID, MintKeyParams{})
	require.ErrorIs(t, err, ErrAgentCannotMintSubagents)

	// Likewise the App-only flows that an agent principal may not use.
	_, err = imp.Authenticate(bg, AuthenticateParams{OpenURL: func(context.Context, string) error { return nil }})
	require.ErrorIs(t, err, ErrAgentUserToken)
	_, err = imp.ListGrants(bg, ListGrantsParams{Provider: "github"})
	require.ErrorIs(t, err, ErrInvalidRequest)
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, "provider_id", ae.Details.Field)
}

// After Close every new method refuses with ErrClosed, before any call.
func TestIssue5MethodsAfterClose(t *testing.T) {
	e := newEnv(t)
	app, err := NewApp(e.s.AppKey(), WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	require.NoError(t, app.Close())
	n := len(e.s.Requests())
	_, err = app.Connect(bg, ConnectParams{})
	require.ErrorIs(t, err, ErrClosed)
	_, err = app.Authenticate(bg, AuthenticateParams{})
	require.ErrorIs(t, err, ErrClosed)
	_, err = app.ListGrants(bg, ListGrantsParams{})
	require.ErrorIs(t, err, ErrClosed)
	_, err = app.Agents().Create(bg, AgentCreateParams{Name: "late"})
	require.ErrorIs(t, err, ErrClosed)
	_, _, err = app.VerifyUserToken(bg, "t")
	require.ErrorIs(t, err, ErrClosed)
	_, err = app.ListProviders(bg)
	require.ErrorIs(t, err, ErrClosed)
	require.Len(t, e.s.Requests(), n)
}
