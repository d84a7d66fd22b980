package facade

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/vaulttest"
)

func TestListGrantsPagesAndIterators(t *testing.T) {
	e := newEnv(t)
	ag := e.s.AddAgent("lister")
	var github []uuid.UUID
	for i := range 5 {
		id, _ := e.grant(t, vaulttest.OAuthGrant{Provider: "github", Account: fmt.Sprintf("u%d", i), Scopes: []string{"repo"}})
		github = append(github, id)
	}
	slackID, _ := e.grant(t, vaulttest.OAuthGrant{Provider: "slack", UserSub: "dave", DelegatedTo: []uuid.UUID{ag.ID}})
	e.s.AddManagedSecret("ms_stripe", "Stripe", "sk_test_1", vaulttest.HeaderInjection("X-API-Key"))
	msID := e.s.AddManagedSecretGrant("ms_stripe", ag.ID)

	pg, err := e.app.ListGrants(bg, ListGrantsParams{Provider: "github", Limit: 2, Offset: 1})
	require.NoError(t, err)
	require.Equal(t, GrantPage{Grants: pg.Grants, Total: 5, Limit: 2, Offset: 1, HasMore: true}, pg)
	require.Equal(t, []uuid.UUID{github[1], github[2]}, []uuid.UUID{pg.Grants[0].ID, pg.Grants[1].ID})
	g := pg.Grants[0]
	require.Equal(t, GrantKindOAuth, g.Kind)
	require.Equal(t, "github", g.Provider)
	require.Equal(t, "u1", g.AccountIdentifier)
	require.Equal(t, []string{"repo"}, g.Scopes)
	require.Equal(t, "active", g.Status)
	require.Equal(t, "system", g.PrincipalType)
	require.False(t, g.CreatedAt.IsZero())
	require.Equal(t, "/v1/grants", lastReq(t, e.s, "listGrants").Path)

	// Every grant of the app, 2 per page, both kinds.
	var all []Grant
	for g, err := range e.app.AllGrants(bg, ListGrantsParams{Limit: 2}) {
		require.NoError(t, err)
		all = append(all, g)
	}
	require.Len(t, all, 7)
	ms := all[6]
	require.Equal(t, msID, ms.ID)
	require.Equal(t, GrantKindManagedSecret, ms.Kind)
	require.Equal(t, "ms_stripe", ms.ManagedSecretID)
	require.Equal(t, "Stripe", ms.ManagedSecretName)
	require.Equal(t, ag.ID, ms.AgentID)
	require.Equal(t, "agent", ms.PrincipalType)

	// Filter by provider through the iterator; stop early.
	n := 0
	for g, err := range e.app.AllGrants(bg, ListGrantsParams{Provider: "github", Limit: 1, Offset: 3}) {
		require.NoError(t, err)
		require.Equal(t, github[3+n], g.ID)
		n++
	}
	require.Equal(t, 2, n)
	calls := e.s.CallCount("listGrants")
	for range e.app.AllGrants(bg, ListGrantsParams{Limit: 1}) {
		break
	}
	require.Equal(t, calls+1, e.s.CallCount("listGrants"), "break stops fetching")

	// The first error ends the iteration, after the grants already fetched.
	var got []Grant
	var errs []error
	for g, err := range e.app.AllGrants(bg, ListGrantsParams{Limit: 3}) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, g)
		if len(got) == 1 {
			e.s.InjectFault("listGrants", vaulttest.Fault{Status: 403, Code: "insufficient_scope"})
		}
	}
	require.Len(t, got, 3)
	require.Len(t, errs, 1)
	require.ErrorIs(t, errs[0], ErrInsufficientScope)

	// An agent sees what is delegated to it and what it owns; no provider filter by type.
	agent, err := NewAgent(ag.APIKey, WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	defer agent.Close()
	apg, err := agent.ListGrants(bg, PageParams{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 2, apg.Total)
	require.Equal(t, []uuid.UUID{slackID, msID}, []uuid.UUID{apg.Grants[0].ID, apg.Grants[1].ID})
	require.False(t, apg.Grants[0].DelegatedAt.IsZero())
	var ids []uuid.UUID
	for g, err := range agent.AllGrants(bg, PageParams{Limit: 1}) {
		require.NoError(t, err)
		ids = append(ids, g.ID)
	}
	require.Equal(t, []uuid.UUID{slackID, msID}, ids)
	e.s.InjectFault("listGrants", vaulttest.Fault{Status: 403, Code: "insufficient_scope"})
	for _, err := range agent.AllGrants(bg, PageParams{}) {
		require.ErrorIs(t, err, ErrInsufficientScope)
	}

	// Local checks.
	_, err = e.app.ListGrants(bg, ListGrantsParams{Limit: 1001})
	requireInputErr(t, err, nil, "1000")
	_, err = agent.ListGrants(bg, PageParams{Offset: -1})
	requireInputErr(t, err, nil, "negative")
	for _, err := range e.app.AllGrants(bg, ListGrantsParams{Limit: -1}) {
		requireInputErr(t, err, nil, "Limit")
	}
}

func TestRevokeGrantAndDelegations(t *testing.T) {
	e := newEnv(t)
	ag := e.s.AddAgent("delegate")
	other := e.s.AddAgent("other")
	gid, _ := e.grant(t, vaulttest.OAuthGrant{UserSub: "erin", DelegatedTo: []uuid.UUID{ag.ID, other.ID}})

	// App: remove one agent's delegation.
	d, err := e.app.RevokeDelegation(bg, gid, other.ID)
	require.NoError(t, err)
	require.Equal(t, gid, d.GrantID)
	require.Equal(t, other.ID, d.AgentID)
	require.False(t, d.RevokedAt.IsZero())
	_, err = e.app.RevokeDelegation(bg, gid, other.ID)
	require.ErrorIs(t, err, ErrDelegationNotFound)
	_, err = e.app.RevokeDelegation(bg, gid, uuid.New())
	require.ErrorIs(t, err, ErrAgentNotFound)
	_, err = e.app.RevokeDelegation(bg, uuid.New(), ag.ID)
	require.ErrorIs(t, err, ErrGrantNotFound)
	_, err = e.app.RevokeDelegation(bg, gid, uuid.Nil)
	requireInputErr(t, err, nil, "uuid.Nil")

	// Agent: drop its own delegation; the grant is intact.
	agent, err := NewAgent(ag.APIKey, WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	defer agent.Close()
	d, err = agent.RevokeDelegation(bg, gid)
	require.NoError(t, err)
	require.Equal(t, ag.ID, d.AgentID)
	_, err = agent.RevokeDelegation(bg, gid)
	require.ErrorIs(t, err, ErrDelegationNotFound)
	_, err = agent.RevokeDelegation(bg, uuid.New())
	require.ErrorIs(t, err, ErrGrantNotFound)
	_, err = agent.RevokeDelegation(bg, uuid.Nil)
	requireInputErr(t, err, nil, "uuid.Nil")
	pg, err := e.app.ListGrants(bg, ListGrantsParams{})
	require.NoError(t, err)
	require.Equal(t, "active", pg.Grants[0].Status)
	require.Empty(t, pg.Grants[0].DelegatedAgentIDs)

	// The Agent form needs an agent principal: an App key "impersonating" an unknown UUID is not one.
	ghost, err := e.app.GetAgent(uuid.New())
	require.NoError(t, err)
	_, err = ghost.RevokeDelegation(bg, gid)
	require.ErrorIs(t, err, ErrMeRequiresAgentKey)

	// App: revoke the grant, with the reason in the audit row.
	r, err := e.app.RevokeGrant(bg, gid, "user left the company")
	require.NoError(t, err)
	require.Equal(t, RevokeGrantResult{GrantID: gid, Success: true, Message: r.Message, RevokedAt: r.RevokedAt}, r)
	require.False(t, r.RevokedAt.IsZero())
	rows := e.s.AuditRows()
	require.Equal(t, "user left the company", rows[len(rows)-1].Reason)
	_, err = e.app.RevokeGrant(bg, gid, "")
	require.ErrorIs(t, err, ErrGrantRevoked)
	require.ErrorIs(t, err, ErrReAuthRequired)
	_, err = e.app.RevokeGrant(bg, uuid.New(), "")
	require.ErrorIs(t, err, ErrGrantNotFound)
	_, err = e.app.RevokeGrant(bg, uuid.Nil, "")
	requireInputErr(t, err, nil, "uuid.Nil")
	_, err = e.app.RevokeGrant(bg, gid, strings.Repeat("r", 1025))
	requireInputErr(t, err, nil, "1024")

	locked, _ := e.grant(t, vaulttest.OAuthGrant{})
	e.s.SetGrantPolicy(locked, vaulttest.Policy{DenyReason: "legal hold"})
	_, err = e.app.RevokeGrant(bg, locked, "")
	var pv *PolicyViolationError
	require.ErrorAs(t, err, &pv)
	require.Equal(t, "legal hold", pv.PolicyError)
}

func TestCreateManagedSecretGrant(t *testing.T) {
	e := newEnv(t)
	e.s.AddManagedSecret("ms_openai", "OpenAI", "sk-live-secret", vaulttest.BearerInjection())
	ag := e.s.AddAgent("ms-bot")
	user := e.s.AddUser("frank")
	future := time.Now().Add(time.Hour).UTC().Truncate(time.Second)

	cases := []struct {
		p    Principal
		want string
	}{
		{UserPrincipal{UserToken: user.Token, Label: "frank-openai"}, "user"},
		{GroupPrincipal{ExternalGroupID: "eng", IdPID: "okta", Label: "eng"}, "group"},
		{SystemPrincipal{Label: "backend"}, "system"},
		{SystemPrincipal{}, "system"},
	}
	for _, c := range cases {
		r, err := e.app.CreateManagedSecretGrant(bg, "ms_openai", c.p, &GrantPolicyInput{ExpiresAt: future})
		require.NoError(t, err, "%T", c.p)
		require.Equal(t, c.want, r.PrincipalType)
		require.NotEqual(t, uuid.Nil, r.GrantID)
		require.False(t, r.CreatedAt.IsZero())
	}
	require.NotContains(t, string(lastReq(t, e.s, "createManagedSecretGrant").Body), "sk-live-secret")

	// Agent principal: only for an agent caller.
	_, err := e.app.CreateManagedSecretGrant(bg, "ms_openai", AgentPrincipal{}, nil)
	require.ErrorIs(t, err, ErrInvalidRequest)
	imp, err := e.app.GetAgent(ag.ID)
	require.NoError(t, err)
	r, err := imp.CreateManagedSecretGrant(bg, "ms_openai", "via-app", nil)
	require.NoError(t, err)
	require.Equal(t, "agent", r.PrincipalType)

	agent, err := NewAgent(ag.APIKey, WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	defer agent.Close()
	r, err = agent.CreateManagedSecretGrant(bg, "ms_openai", "prod", &GrantPolicyInput{MaxTTL: time.Hour})
	require.NoError(t, err)
	require.Equal(t, "agent", r.PrincipalType)
	require.Equal(t, "prod", r.Label)
	var body map[string]any
	require.NoError(t, json.Unmarshal(lastReq(t, e.s, "createManagedSecretGrant").Body, &body))
	require.Equal(t, map[string]any{"type": "agent", "label": "prod"}, body["principal"])
	require.Equal(t, map[string]any{"max_ttl_seconds": 3600.0}, body["grant_policy"])

	// The agent can use it.
	resp, err := agent.Request(bg, "GET", e.up.URL()+"/v1/models", RequestParams{GrantID: r.GrantID})
	require.NoError(t, err)
	require.Equal(t, "Bearer sk-live-secret", readEcho(t, resp).Headers["Authorization"])

	// Documented errors.
	_, err = agent.CreateManagedSecretGrant(bg, "ms_openai", "prod", nil)
	require.ErrorIs(t, err, ErrSiblingLabelConflict)
	_, err = agent.CreateManagedSecretGrant(bg, "ms_nosuch", "", nil)
	require.ErrorIs(t, err, ErrManagedSecretNotFound)
	_, err = e.app.CreateManagedSecretGrant(bg, "ms_openai", SystemPrincipal{}, &GrantPolicyInput{ExpiresAt: time.Now().Add(-time.Hour)})
	require.ErrorIs(t, err, ErrPolicyViolation)
	_, err = e.app.CreateManagedSecretGrant(bg, "ms_openai", UserPrincipal{UserToken: "forged.jwt.value"}, nil)
	require.ErrorIs(t, err, ErrInvalidUserToken)
	require.NotContains(t, err.Error(), "forged.jwt.value")

	// Local checks.
	_, err = e.app.CreateManagedSecretGrant(bg, "stripe/../x", SystemPrincipal{}, nil)
	requireInputErr(t, err, nil, "ms_abc123")
	_, err = e.app.CreateManagedSecretGrant(bg, "ms_openai", nil, nil)
	requireInputErr(t, err, nil, "nil")
	_, err = e.app.CreateManagedSecretGrant(bg, "ms_openai", UserPrincipal{}, nil)
	requireInputErr(t, err, nil, "empty")
	_, err = e.app.CreateManagedSecretGrant(bg, "ms_openai", GroupPrincipal{IdPID: "okta"}, nil)
	requireInputErr(t, err, nil, "required")
	_, err = e.app.CreateManagedSecretGrant(bg, "ms_openai", SystemPrincipal{Label: strings.Repeat("l", 129)}, nil)
	requireInputErr(t, err, nil, "128")
	_, err = e.app.CreateManagedSecretGrant(bg, "ms_openai", GroupPrincipal{ExternalGroupID: "g", IdPID: "i", Label: strings.Repeat("l", 129)}, nil)
	requireInputErr(t, err, nil, "128")
	_, err = e.app.CreateManagedSecretGrant(bg, "ms_openai", UserPrincipal{UserToken: "t", Label: strings.Repeat("l", 129)}, nil)
	requireInputErr(t, err, nil, "128")
	_, err = agent.CreateManagedSecretGrant(bg, "ms_openai", strings.Repeat("l", 129), nil)
	requireInputErr(t, err, nil, "128")
	_, err = agent.CreateManagedSecretGrant(bg, "ms_openai", "", &GrantPolicyInput{MaxTTL: -1})
	requireInputErr(t, err, nil, "MaxTTL")

	// A UserPrincipal never prints its token.
	up := UserPrincipal{UserToken: user.Token, Label: "lbl"}
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		require.NotContains(t, fmt.Sprintf(f, up), user.Token, f)
		require.NotContains(t, fmt.Sprintf(f, &up), user.Token, f)
		require.NotContains(t, fmt.Sprintf(f, struct{ P Principal }{up}), user.Token, f)
	}
	require.Contains(t, fmt.Sprintf("%+v", up), "lbl")
	require.Contains(t, fmt.Sprintf("%#v", up), "[REDACTED]")
}

// scriptedVault answers every vault call with the JSON body for its path (200), in memory.
type scriptedVault map[string]string

func (v scriptedVault) RoundTrip(r *http.Request) (*http.Response, error) {
	body, ok := v[r.URL.Path]
	status := http.StatusOK
	if !ok {
		status, body = http.StatusNotFound, `{"error":{"code":"not_found","message":"no"},"request_id":"r"}`
	}
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

// Answers that parse as JSON but break the model are errors, never panics or silent zero values.
func TestMalformedAnswersOfIssue5Calls(t *testing.T) {
	v := scriptedVault{
		"/v1/grants":                                `{"grants":[{"grant_kind":"carrier_pigeon","grant_id":"` + uuid.NewString() + `"}],"total":1,"limit":100,"offset":0,"has_more":false}`,
		"/v1/auth/sessions":                         `{"session_token":"tok_abcdefghijklmnop","auth_url":"http://x/auth/tok_abcdefghijklmnop","expires_at":"2030-01-01T00:00:00Z"}`,
		"/v1/auth/sessions/tok_abcdefghijklmnop":    `{"status":"completed","expires_at":"2030-01-01T00:00:00Z"}`,
		"/v1/connect/sessions":                      `{"session_token":"tok_abcdefghijklmnop","connect_url":"http://x/connect/tok_abcdefghijklmnop","expires_at":"2030-01-01T00:00:00Z"}`,
		"/v1/connect/sessions/tok_abcdefghijklmnop": `{"status":"error","expires_at":"2030-01-01T00:00:00Z","results":[{"grant_id":"` + uuid.NewString() + `","provider_id":"x","scopes":[],"grant_policy":{"created_by":"ops"}}]}`,
	}
	app, err := NewApp("alter_key_app_test", WithBaseURL("http://vault.test/v1"), WithHTTPClient(&http.Client{Transport: v}))
	require.NoError(t, err)
	defer app.Close()

	_, err = app.ListGrants(bg, ListGrantsParams{})
	require.ErrorIs(t, err, ErrUnexpectedResponse)
	require.Contains(t, err.Error(), "carrier_pigeon")

	_, err = app.Authenticate(bg, AuthenticateParams{OpenURL: func(context.Context, string) error { return nil }})
	require.ErrorIs(t, err, ErrUnexpectedResponse)

	// A session in error without a code is a plain flow failure.
	_, err = app.Connect(bg, ConnectParams{OpenURL: func(context.Context, string) error { return nil }})
	require.ErrorIs(t, err, ErrConnectFlow)
	require.NotErrorIs(t, err, ErrConnectDenied)
	require.Contains(t, err.Error(), "session error")

	v["/v1/connect/sessions/tok_abcdefghijklmnop"] = strings.Replace(v["/v1/connect/sessions/tok_abcdefghijklmnop"], `"error"`, `"completed"`, 1)
	res, err := app.Connect(bg, ConnectParams{OpenURL: func(context.Context, string) error { return nil }})
	require.NoError(t, err)
	require.Equal(t, &GrantPolicy{CreatedBy: "ops"}, res[0].GrantPolicy)
}
