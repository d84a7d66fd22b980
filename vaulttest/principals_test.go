package vaulttest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/gen"
)

// TestManagedSecretPrincipals creates a grant for each of the four principal kinds.
func TestManagedSecretPrincipals(t *testing.T) {
	s := NewTestServer(t)
	s.AddManagedSecret("ms_db", "Database", "pw", BasicInjection())
	app := client(t, s, s.AppKey())
	bot := s.AddAgent("bot")
	alice := s.AddUser("alice")
	mk := func(set func(*gen.Principal) error) gen.Principal {
		var p gen.Principal
		require.NoError(t, set(&p))
		return p
	}
	cases := []struct {
		c    *gen.ClientWithResponses
		p    gen.Principal
		want gen.PrincipalType
	}{
		{app, mk(func(p *gen.Principal) error {
			return p.FromUserPrincipal(gen.UserPrincipal{Type: "user", UserToken: alice.Token})
		}), gen.PrincipalTypeUser},
		{app, mk(func(p *gen.Principal) error {
			return p.FromGroupPrincipal(gen.GroupPrincipal{Type: "group", ExternalGroupID: "eng", IdpID: "okta"})
		}), gen.PrincipalTypeGroup},
		{app, mk(func(p *gen.Principal) error { return p.FromSystemPrincipal(gen.SystemPrincipal{Type: "system"}) }), gen.PrincipalTypeSystem},
		{client(t, s, bot.APIKey), mk(func(p *gen.Principal) error { return p.FromAgentPrincipal(gen.AgentPrincipal{Type: "agent"}) }), gen.PrincipalTypeAgent},
	}
	for _, tc := range cases {
		r, err := tc.c.CreateManagedSecretGrantWithResponse(bg, "ms_db", nil, gen.CreateManagedSecretGrantRequest{Principal: tc.p})
		require.NoError(t, err)
		require.Equal(t, 201, r.StatusCode(), string(r.Body))
		assert.Equal(t, tc.want, r.JSON201.PrincipalType)
	}
	// an agent may only grant to itself
	r, err := client(t, s, bot.APIKey).CreateManagedSecretGrantWithResponse(bg, "ms_db", nil, gen.CreateManagedSecretGrantRequest{Principal: cases[2].p})
	require.NoError(t, err)
	assert.Equal(t, "invalid_request", errCode(t, r.Body))
	lg, err := app.ListGrantsWithResponse(bg, &gen.ListGrantsParams{ProviderID: strp("ms_db")})
	require.NoError(t, err)
	assert.Equal(t, 4, lg.JSON200.Total)
}
