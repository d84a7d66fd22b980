package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/vaulttest"
)

// fixture is an in-memory vault with an agent that owns a Slack grant, an echo upstream standing
// in for Slack, and the agent's client pointed at the vault.
type fixture struct {
	vault *vaulttest.Server
	slack *vaulttest.EchoUpstream
	grant vaulttest.UUID
	agent *facade.Agent
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	vault := vaulttest.NewTestServer(t) // closed at cleanup; fails t on any contract violation
	slack := vaulttest.NewEchoUpstream()
	t.Cleanup(slack.Close)
	bot := vault.AddAgent("notifier")
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "slack", AgentOwner: bot.ID,
		Scopes: []string{"chat:write"}, Credential: "xoxb-test-token"})
	agent, err := facade.NewAgent(bot.APIKey, facade.WithBaseURL(vault.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = agent.Close() })
	return &fixture{vault: vault, slack: slack, grant: grant, agent: agent}
}

func TestPostSendsTheMessageWithTheInjectedToken(t *testing.T) {
	f := newFixture(t)
	n := &Notifier{Vault: f.agent, Grant: f.grant, SlackURL: f.slack.URL()}

	require.NoError(t, n.Post(t.Context(), "#deploys", "v1.2.3 is live"))

	// What Slack received: the token injected by the SDK, and our JSON.
	reqs := f.slack.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/api/chat.postMessage", reqs[0].Path)
	assert.Equal(t, "Bearer xoxb-test-token", reqs[0].Header.Get("Authorization"))
	var body map[string]string
	require.NoError(t, json.Unmarshal(reqs[0].Body, &body))
	assert.Equal(t, map[string]string{"channel": "#deploys", "text": "v1.2.3 is live"}, body)

	// What the vault recorded: the audit row of the upstream call, with our reason and context.
	require.NoError(t, f.agent.Close()) // drains the background audit post of the upstream call
	rows := f.vault.AuditRows()
	require.Len(t, rows, 1)
	assert.Equal(t, "recordApiCall", rows[0].Operation)
	assert.Equal(t, "notify #deploys", rows[0].Reason)
	assert.Equal(t, "#deploys", rows[0].Context["channel"])
	assert.Equal(t, http.StatusOK, rows[0].ResponseStatus)
	assert.Equal(t, f.grant, rows[0].GrantID)
}

func TestPostKeepsTheTraceInTheAuditRow(t *testing.T) {
	f := newFixture(t)
	n := &Notifier{Vault: f.agent, Grant: f.grant, SlackURL: f.slack.URL()}
	ctx := facade.WithTrace(t.Context(), facade.Trace{RunID: "run-1", ToolCallID: "call-7"})

	require.NoError(t, n.Post(ctx, "#deploys", "v1.2.3 is live"))

	require.NoError(t, f.agent.Close())
	rows := f.vault.AuditRows()
	require.Len(t, rows, 1)
	assert.Equal(t, "run-1", rows[0].RunID)
	assert.Equal(t, "call-7", rows[0].ToolCallID)
	assert.Equal(t, "#deploys", rows[0].Context["channel"])
}

func TestPostAsksToReconnectWhenTheGrantIsRevoked(t *testing.T) {
	f := newFixture(t)
	f.vault.SetGrantState(f.grant, vaulttest.GrantRevoked)
	n := &Notifier{Vault: f.agent, Grant: f.grant, SlackURL: f.slack.URL()}

	err := n.Post(t.Context(), "#deploys", "hello")

	require.ErrorIs(t, err, ErrReconnectSlack)
	require.ErrorIs(t, err, facade.ErrGrantRevoked) // the SDK's error is kept in the chain
	assert.Empty(t, f.slack.Requests(), "Slack must not be called")
}

func TestPostReportsSlackErrors(t *testing.T) {
	f := newFixture(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"ok":false,"error":"service_unavailable"}`, http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	n := &Notifier{Vault: f.agent, Grant: f.grant, SlackURL: down.URL}

	err := n.Post(t.Context(), "#deploys", "hello")

	var provider *facade.ProviderAPIError
	require.ErrorAs(t, err, &provider)
	assert.Equal(t, http.StatusServiceUnavailable, provider.Status)
	assert.NotErrorIs(t, err, ErrReconnectSlack)
}
