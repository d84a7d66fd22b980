package vaulttest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/gen"
)

func TestSeedDemo(t *testing.T) {
	s := NewTestServer(t)
	d := SeedDemo(s)
	up := struct{ URL func() string }{func() string { return d.UpstreamURL }}
	var env bytes.Buffer
	require.NoError(t, d.WriteEnv(&env))
	assert.Equal(t, 13, strings.Count(env.String(), "export "))

	app := client(t, s, d.AppKey)
	amb, err := app.RetrieveCredentialWithResponse(bg, nil, gen.TokenRequest{Provider: strp("github"), Method: "GET", URL: up.URL()},
		hdr("X-Alter-User-Token", d.User.Token))
	require.NoError(t, err)
	assert.Equal(t, "ambiguous_grant", errCode(t, amb.Body))
	// the agent, impersonated inside alice's session, resolves to its one delegated GitHub grant
	imp, err := app.RetrieveCredentialWithResponse(bg, nil, gen.TokenRequest{Provider: strp("github"), Method: "GET", URL: up.URL()},
		hdr("X-Alter-User-Token", d.User.Token, "X-Alter-Caller", d.Agent.ID.String()))
	require.NoError(t, err)
	require.Equal(t, 200, imp.StatusCode(), string(imp.Body))
	assert.Equal(t, d.GrantID, imp.JSON200.GrantID)

	agent := client(t, s, d.Agent.APIKey)
	for _, g := range []UUID{d.GrantID, d.GoogleGrantID, d.AgentGrantID, d.MSGrantID} {
		r, err := agent.RetrieveCredentialWithResponse(bg, nil, gen.TokenRequest{GrantID: &g, Method: "GET", URL: up.URL()})
		require.NoError(t, err)
		assert.Equal(t, 200, r.StatusCode(), string(r.Body))
	}
	px, err := agent.ProxyRequestWithResponse(bg, nil, gen.ProxyRequest{GrantID: &d.ApprovalGrantID, Method: "POST", URL: up.URL() + "/deploy"})
	require.NoError(t, err)
	assert.Equal(t, 202, px.StatusCode(), string(px.Body))
}

func TestRequestsRedacted(t *testing.T) {
	s := NewTestServer(t)
	alice := s.AddUser("alice")
	c := client(t, s, s.AppKey())
	_, err := c.VerifyUserTokenWithResponse(bg, nil, gen.VerifyUserTokenRequest{UserToken: alice.Token})
	require.NoError(t, err)
	reqs := s.Requests()
	require.Len(t, reqs, 1)
	assert.NotContains(t, string(reqs[0].Body), alice.Token)
	assert.Contains(t, string(reqs[0].Body), `"user_token":"REDACTED"`)
	assert.Equal(t, "REDACTED", reqs[0].Header.Get("X-Api-Key"))
}
