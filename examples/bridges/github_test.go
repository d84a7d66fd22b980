package bridges_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/google/go-github/v84/github"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/facade"
	"github.com/altersdk/alter-go/grantclient"
	"github.com/altersdk/alter-go/vaulttest"
)

// go-github, unmodified, calls vaulttest's echo upstream through a grant: the upstream receives
// the grant's credential on each call, go-github its own typed answers and errors, and the vault
// an audit row per call.
func TestGoGitHubThroughGrant(t *testing.T) {
	ctx := context.Background()
	vault := vaulttest.NewTestServer(t)
	up := vaulttest.NewEchoUpstream()
	t.Cleanup(up.Close)
	grant := vault.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "alice", Credential: "gho_gogithub_secret"})
	app, err := facade.NewApp(vault.AppKey(), facade.WithBaseURL(vault.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = app.Close() })

	gh := github.NewClient(grantclient.New(app, facade.RequestParams{GrantID: grant, Reason: "triage"}))
	gh.BaseURL, err = url.Parse(up.URL() + "/")
	require.NoError(t, err)

	_, resp, err := gh.Users.Get(ctx, "octocat")
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	_, _, err = gh.Issues.Create(ctx, "octo-org", "hello", &github.IssueRequest{Title: github.Ptr("bug"), Labels: &[]string{"p1"}})
	require.NoError(t, err)
	gh.BaseURL, _ = url.Parse(up.URL() + "/status/")
	_, _, err = gh.Users.Get(ctx, "")
	var ghErr *github.ErrorResponse
	require.True(t, errors.As(err, &ghErr), "%v", err)
	require.Equal(t, 400, ghErr.Response.StatusCode)
	require.NotContains(t, err.Error(), "gho_gogithub_secret")

	reqs := up.Requests()
	require.Len(t, reqs, 3)
	require.Equal(t, "/users/octocat", reqs[0].Path)
	require.Equal(t, "/repos/octo-org/hello/issues", reqs[1].Path)
	require.JSONEq(t, `{"title":"bug","labels":["p1"]}`, string(reqs[1].Body))
	for _, r := range reqs {
		require.Equal(t, "Bearer gho_gogithub_secret", r.Header.Get("Authorization"))
		require.Contains(t, r.Header.Get("User-Agent"), "go-github")
		require.NotEmpty(t, r.Header.Get("X-Github-Api-Version"))
	}

	require.NoError(t, app.Close())
	rows := vault.AuditRows()
	require.Len(t, rows, 3)
	statuses := map[int]int{}
	for _, r := range rows {
		statuses[r.ResponseStatus]++
		require.Equal(t, grant, r.GrantID)
		require.Equal(t, "triage", r.Reason)
		_, leaked := r.RequestHeaders["Authorization"]
		require.False(t, leaked)
	}
	require.Equal(t, map[int]int{200: 2, 400: 1}, statuses)
}
