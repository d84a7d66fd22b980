package facade

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/vaulttest"
)

// An App.GetAgent view warns once, through the client's logger, the first time it is asked for a
// grant by id (the App's key: no delegation check); by provider, the App itself and a second view
// of its own warn separately or not at all.
func TestGetAgentGrantIDWarnsOnce(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	ag := e.s.AddAgent("bot")
	gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", Credential: "cred"})
	warnings := func() int { return strings.Count(logs.String(), "App.GetAgent view") }
	get := func(r interface {
		Request(ctx context.Context, method, url string, p RequestParams) (*Response, error)
	}, p RequestParams) {
		resp, err := r.Request(bg, "GET", e.up.URL()+"/user", p)
		if err == nil {
			require.NoError(t, resp.Body.Close())
		}
	}

	get(e.app, RequestParams{GrantID: gid})
	require.Zero(t, warnings(), "the App is not a view")

	view, err := e.app.GetAgent(ag.ID)
	require.NoError(t, err)
	get(view, RequestParams{Provider: "github"})
	require.Zero(t, warnings(), "by provider: the agent's delegations apply")
	get(view, RequestParams{GrantID: gid})
	get(view, RequestParams{GrantID: gid})
	require.Equal(t, 1, warnings())
	require.Contains(t, logs.String(), "level=WARN")
	require.Contains(t, logs.String(), "agent_id="+ag.ID.String())

	other, err := e.app.GetAgent(ag.ID)
	require.NoError(t, err)
	get(other, RequestParams{GrantID: gid})
	require.Equal(t, 2, warnings(), "once per view")
}
