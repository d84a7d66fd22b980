package facade

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/gen"
	"github.com/altersdk/alter-go/vaulttest"
)

// newAgentOn is an Agent on a key of e's vault.
func (e *env) newAgentOn(t *testing.T, key string) *Agent {
	t.Helper()
	ag, err := NewAgent(key, WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ag.Close()) })
	return ag
}

func (e *env) grantOf(t *testing.T, c interface {
	ListGrants(context.Context, ListGrantsParams) (GrantPage, error)
}, id uuid.UUID) Grant {
	t.Helper()
	pg, err := c.ListGrants(bg, ListGrantsParams{Limit: 1000})
	require.NoError(t, err)
	for _, g := range pg.Items {
		if g.ID == id {
			return g
		}
	}
	t.Fatalf("grant %s not listed", id)
	return Grant{}
}

// Onward delegation: the chain grows one hop at a time, the child shows its parent, depth,
// scope constraint and expiry, it is usable by its holder only in proxy mode when narrowed, and
// revoking the first hop revokes everything made from it.
func TestDelegateChain(t *testing.T) {
	e := newEnv(t)
	a1, a2, a3 := e.s.AddAgent("a1"), e.s.AddAgent("a2"), e.s.AddAgent("a3")
	u := e.s.AddUser("alice")
	gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: u.Sub, Account: "alice@x", Scopes: []string{"repo", "read:user"},
		Credential: "cred-chain"})
	e.s.Delegate(gid, a1.ID, vaulttest.Delegable())
	ag1, ag2 := e.newAgentOn(t, a1.APIKey), e.newAgentOn(t, a2.APIKey)

	held := e.grantOf(t, ag1, gid)
	require.Equal(t, AccessOAuthDelegation, held.AccessVia)
	require.Equal(t, 1, held.Depth)
	require.True(t, held.Delegable)

	yes := true
	res, err := ag1.Delegate(bg, gid, a2.ID, DelegateParams{Delegable: &yes, ScopeConstraint: []string{"repo"}, TTL: 90 * time.Second})
	require.NoError(t, err)
	require.Equal(t, GrantKindOAuth, res.Kind)
	require.Equal(t, gid, res.ParentGrantID)
	require.Equal(t, 2, res.Depth)
	require.True(t, res.Delegable)
	require.Equal(t, "active", res.Status)
	require.WithinDuration(t, time.Now().Add(90*time.Second), res.ExpiresAt, 5*time.Second)

	child := e.grantOf(t, ag2, res.GrantID)
	require.Equal(t, gid.String(), child.ParentGrantID)
	require.Equal(t, []string{"repo"}, child.ScopeConstraint)
	require.Equal(t, 2, child.Depth)
	require.Equal(t, held.CredentialID, child.CredentialID, "the chain shares the credential")
	require.False(t, child.GrantExpiresAt.IsZero())

	_, err = ag2.Request(bg, "GET", e.up.URL(), RequestParams{GrantID: res.GrantID})
	require.ErrorIs(t, err, ErrRestrictedGrantRequiresProxy, "a narrowed delegation is proxy only")
	px, err := ag2.ProxyRequest(bg, "GET", e.up.URL()+"/x", ProxyParams{GrantID: res.GrantID})
	require.NoError(t, err)
	require.NotNil(t, px.Result)
	require.Equal(t, 200, px.Result.StatusCode)
	require.Equal(t, "Bearer cred-chain", e.lastUpstream(t).Header.Get("Authorization"))

	// The depth ceiling: a child at depth 3 cannot itself be delegable.
	_, err = ag2.Delegate(bg, res.GrantID, a3.ID, DelegateParams{Delegable: &yes})
	var nd *GrantNotDelegableError
	require.ErrorAs(t, err, &nd)
	require.Equal(t, "no_onward_hop", nd.DetailReason)
	require.ErrorIs(t, err, ErrGrantNotDelegable)
	// A constraint can only narrow.
	_, err = ag2.Delegate(bg, res.GrantID, a3.ID, DelegateParams{ScopeConstraint: []string{"read:user"}})
	require.ErrorIs(t, err, ErrBackend)
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, ErrorCodeInvalidScopeConstraint, ae.Code)
	leaf, err := ag2.Delegate(bg, res.GrantID, a3.ID, DelegateParams{})
	require.NoError(t, err)
	require.Equal(t, 3, leaf.Depth)
	require.False(t, leaf.Delegable)
	_, err = ag2.Delegate(bg, res.GrantID, a3.ID, DelegateParams{})
	require.ErrorAs(t, err, &ae)
	require.Equal(t, 409, ae.Status, "a delegation to that agent exists")

	require.NoError(t, e.app.RevokeDelegation(bg, gid, a1.ID))
	require.Equal(t, "revoked", e.grantOf(t, e.app, res.GrantID).Status)
	require.Equal(t, "revoked", e.grantOf(t, e.app, leaf.GrantID).Status)
	_, err = ag2.ProxyRequest(bg, "GET", e.up.URL()+"/x", ProxyParams{GrantID: res.GrantID})
	require.ErrorIs(t, err, ErrGrantRevoked)
}

// Each refusal of an onward delegation has its own reason or class.
func TestDelegateRefusals(t *testing.T) {
	e := newEnv(t)
	a1, a2 := e.s.AddAgent("a1"), e.s.AddAgent("a2")
	paused := e.s.AddAgent("paused", vaulttest.AgentInactive())
	u := e.s.AddUser("bob")
	plain := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: u.Sub, DelegatedTo: []uuid.UUID{a1.ID}})
	owned := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "slack", AgentOwner: a1.ID})
	ceiling := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "google", UserSub: u.Sub})
	e.s.Delegate(ceiling, a1.ID, vaulttest.Delegable())
	e.s.SetOnwardDelegation("google", false)
	ms := e.s.AddManagedSecret("db", "DB", "pw", vaulttest.Injection{})
	system := e.s.AddManagedSecretGrant(ms.String(), uuid.Nil)
	e.s.Delegate(system, a1.ID, vaulttest.Delegable())
	created, err := e.app.CreateManagedSecretGrant(bg, ms.String(), ManagedSecretGrantParams{Principal: UserPrincipal{UserToken: u.Token, Label: "bob-db"}})
	require.NoError(t, err)
	msGrant := created.GrantID
	e.s.Delegate(msGrant, a1.ID, vaulttest.Delegable())
	ag1 := e.newAgentOn(t, a1.APIKey)

	reason := func(err error) string {
		var nd *GrantNotDelegableError
		if errors.As(err, &nd) {
			return nd.DetailReason
		}
		return "not a GrantNotDelegableError: " + err.Error()
	}
	_, err = ag1.Delegate(bg, plain, a2.ID, DelegateParams{})
	require.Equal(t, "holder_not_delegable", reason(err))
	sys, err := ag1.Delegate(bg, system, a2.ID, DelegateParams{})
	require.NoError(t, err, "the app consented to its own grant's delegation")
	require.Equal(t, 2, sys.Depth)
	_, err = ag1.Delegate(bg, owned, a2.ID, DelegateParams{})
	require.Equal(t, "no_consenting_user", reason(err))
	_, err = ag1.Delegate(bg, ceiling, a2.ID, DelegateParams{})
	require.Equal(t, "ceiling_off", reason(err))
	_, err = ag1.Delegate(bg, uuid.New(), a2.ID, DelegateParams{})
	require.ErrorIs(t, err, ErrGrantNotFound)
	e.s.SetOnwardDelegation("google", true)
	_, err = ag1.Delegate(bg, ceiling, paused.ID, DelegateParams{})
	require.ErrorIs(t, err, ErrAgentNotFound)
	_, err = ag1.Delegate(bg, ceiling, a2.ID, DelegateParams{})
	require.NoError(t, err)

	_, err = ag1.Delegate(bg, msGrant, a2.ID, DelegateParams{ScopeConstraint: []string{"x"}})
	require.ErrorContains(t, err, "no provider scopes")
	msChild, err := ag1.Delegate(bg, msGrant, a2.ID, DelegateParams{})
	require.NoError(t, err)
	require.Equal(t, GrantKindManagedSecret, msChild.Kind)
	require.Equal(t, AccessMSDelegation, e.grantOf(t, e.newAgentOn(t, a2.APIKey), msChild.GrantID).AccessVia)

	// Local refusals, before any request.
	n := len(e.s.Requests())
	for _, p := range []DelegateParams{{ScopeConstraint: []string{"*"}}, {ScopeConstraint: []string{"a b"}}, {TTL: -time.Second}} {
		_, err := ag1.Delegate(bg, plain, a2.ID, p)
		require.ErrorIs(t, err, ErrInvalidInput)
	}
	_, err = ag1.Delegate(bg, uuid.Nil, a2.ID, DelegateParams{})
	require.ErrorIs(t, err, ErrInvalidInput)
	require.Len(t, e.s.Requests(), n)
}

// MintGrant: a sibling on the source's credential, addressed by its label, with the policy it
// asked for; the label is unique per credential; an Agent cannot mint.
func TestMintGrant(t *testing.T) {
	e := newEnv(t)
	u := e.s.AddUser("carol")
	src := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: u.Sub, Account: "carol@x", Scopes: []string{"repo"},
		Credential: "cred-mint"})
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	info, err := e.app.MintGrant(bg, src, MintGrantParams{Label: "ci", Tags: []string{"ci"},
		Policy: &MintPolicy{ExpiresAt: exp, MaxTTL: 10 * time.Minute, Restrictions: map[string]any{"methods": []any{"GET"}}}})
	require.NoError(t, err)
	require.NotEqual(t, src, info.ID)
	require.Equal(t, "github", info.Provider)
	require.Equal(t, "ci", info.Label)
	require.Equal(t, PrincipalUser, info.PrincipalType)
	require.Equal(t, []string{"repo"}, info.Scopes)
	require.Equal(t, e.grantOf(t, e.app, src).CredentialID, info.CredentialID)
	require.Equal(t, exp.Format(time.RFC3339), info.Policy["expires_at"])
	require.EqualValues(t, 600, info.Policy["max_ttl_seconds"])
	require.Equal(t, map[string]any{"methods": []any{"GET"}}, info.Policy["restrictions"])

	_, err = e.app.Request(bg, "GET", e.up.URL(), RequestParams{Provider: "github", UserToken: u.Token, Label: "ci"})
	require.ErrorIs(t, err, ErrRestrictedGrantRequiresProxy, "a grant with restrictions is used through the vault")
	px, err := e.app.ProxyRequest(bg, "GET", e.up.URL()+"/ci", ProxyParams{Provider: "github", UserToken: u.Token, Label: "ci"})
	require.NoError(t, err)
	require.NotNil(t, px.Result)
	require.Equal(t, "Bearer cred-mint", e.lastUpstream(t).Header.Get("Authorization"))
	require.Equal(t, info.ID, e.s.AuditRows()[len(e.s.AuditRows())-1].GrantID)

	_, err = e.app.MintGrant(bg, src, MintGrantParams{Label: "ci"})
	var conflict *SiblingLabelConflictError
	require.ErrorAs(t, err, &conflict)
	require.Equal(t, "ci", conflict.Label)
	_, err = e.app.MintGrant(bg, info.ID, MintGrantParams{Label: "again"})
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, ErrorCodeMintSourceHasGrantRules, ae.Code, "a source with restrictions")
	_, err = e.app.MintGrant(bg, uuid.New(), MintGrantParams{Label: "x"})
	require.ErrorIs(t, err, ErrGrantNotFound)
	_, err = e.app.MintGrant(bg, src, MintGrantParams{Label: "late", Policy: &MintPolicy{ExpiresAt: time.Now().Add(-time.Hour)}})
	require.ErrorAs(t, err, &ae)
	require.Equal(t, ErrorCodeInvalidGrantPolicy, ae.Code)

	a := e.s.AddAgent("minter")
	_, err = e.newAgentOn(t, a.APIKey).Raw().MintGrantWithResponse(bg, src.String(), gen.MintGrantRequest{Label: "x"})
	require.NoError(t, err)
	require.Equal(t, 403, e.s.Requests()[len(e.s.Requests())-1].Status, "agents_cannot_mint")

	for _, p := range []MintGrantParams{{}, {Label: "x", Tags: []string{""}}, {Label: "x", Policy: &MintPolicy{MaxTTL: -1}}} {
		_, err := e.app.MintGrant(bg, src, p)
		require.ErrorIs(t, err, ErrInvalidInput)
	}
	_, err = e.app.MintGrant(bg, uuid.Nil, MintGrantParams{Label: "x"})
	require.ErrorIs(t, err, ErrInvalidInput)
}

// A managed secret with several developer credentials needs a credential id; the error lists
// them, and an end user's credential cannot be assigned.
func TestManagedSecretCredentialChoice(t *testing.T) {
	e := newEnv(t)
	ms := e.s.AddManagedSecret("pay", "Payments", "sk_default", vaulttest.HeaderInjection("X-Key"))
	res, err := e.app.CreateManagedSecretGrant(bg, ms.String(), ManagedSecretGrantParams{Principal: SystemPrincipal{Label: "one"}})
	require.NoError(t, err, "one credential: no choice needed")
	require.NotEmpty(t, res.CredentialID)

	second, err := e.s.AddManagedSecretCredential("pay", "eu", "sk_eu")
	require.NoError(t, err)
	_, err = e.app.CreateManagedSecretGrant(bg, ms.String(), ManagedSecretGrantParams{Principal: SystemPrincipal{Label: "two"}})
	var need *CredentialIDRequiredError
	require.ErrorAs(t, err, &need)
	require.ErrorIs(t, err, ErrCredentialIDRequired)
	require.Equal(t, []CredentialChoice{{ID: res.CredentialID, Label: "default"}, {ID: second.String(), Label: "eu"}}, need.Credentials)

	res2, err := e.app.CreateManagedSecretGrant(bg, ms.String(), ManagedSecretGrantParams{Principal: SystemPrincipal{Label: "two"}, CredentialID: second.String(),
		Policy: &GrantPolicyInput{MaxTTL: time.Hour}})
	require.NoError(t, err)
	require.Equal(t, second.String(), res2.CredentialID)
	listed := e.grantOf(t, e.app, res2.GrantID)
	require.EqualValues(t, 3600, listed.Policy["max_ttl_seconds"], "the policy is stored")
	require.Equal(t, "eu", listed.CredentialLabel)
	require.Equal(t, CredentialDeveloper, listed.CredentialKind)
	resp, err := e.app.Request(bg, "GET", e.up.URL(), RequestParams{GrantID: res2.GrantID})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, "sk_eu", e.lastUpstream(t).Header.Get("X-Key"), "the grant serves the chosen credential")

	_, err = e.app.CreateManagedSecretGrant(bg, ms.String(), ManagedSecretGrantParams{Principal: SystemPrincipal{Label: "x"}, CredentialID: uuid.NewString()})
	require.ErrorIs(t, err, ErrGrantNotFound)

	u := e.s.AddUser("dan")
	sess, err := e.app.Raw().CreateManagedSecretConnectSessionWithResponse(bg, gen.ManagedSecretConnectSessionRequest{Provider: optStr("pay"), UserToken: u.Token})
	require.NoError(t, err)
	require.NotNil(t, sess.JSON200)
	own, err := e.s.CompleteManagedSecretSession(sess.JSON200.SessionToken, "sk_dan")
	require.NoError(t, err)
	endUserCred := e.grantOf(t, e.app, own).CredentialID
	require.Equal(t, CredentialEndUser, e.grantOf(t, e.app, own).CredentialKind)
	_, err = e.app.CreateManagedSecretGrant(bg, ms.String(), ManagedSecretGrantParams{Principal: SystemPrincipal{Label: "y"}, CredentialID: endUserCred})
	require.ErrorIs(t, err, ErrEndUserCredentialNotAssignable)
}

// Every ListGrants filter narrows the page, on an App and on an Agent.
func TestListGrantsFilters(t *testing.T) {
	e := newEnv(t)
	a := e.s.AddAgent("lister")
	u, v := e.s.AddUser("erin"), e.s.AddUser("frank")
	g1 := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: u.Sub, Account: "erin@work", Label: "work", DelegatedTo: []uuid.UUID{a.ID}})
	g2 := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: u.Sub, Account: "erin@home", Label: "home", DelegatedTo: []uuid.UUID{a.ID}})
	g3 := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "google", UserSub: v.Sub, Account: "frank@x", DelegatedTo: []uuid.UUID{a.ID}})
	e.s.SetGrantState(g2, vaulttest.GrantRevoked)
	ag := e.newAgentOn(t, a.APIKey)

	ids := func(c interface {
		ListGrants(context.Context, ListGrantsParams) (GrantPage, error)
	}, p ListGrantsParams) []uuid.UUID {
		pg, err := c.ListGrants(bg, p)
		require.NoError(t, err)
		out := []uuid.UUID{}
		for _, g := range pg.Items {
			out = append(out, g.ID)
		}
		return out
	}
	for _, c := range []interface {
		ListGrants(context.Context, ListGrantsParams) (GrantPage, error)
	}{e.app, ag} {
		require.ElementsMatch(t, []uuid.UUID{g1, g2}, ids(c, ListGrantsParams{Provider: "github"}))
		require.ElementsMatch(t, []uuid.UUID{g1, g3}, ids(c, ListGrantsParams{Status: "active"}))
		require.ElementsMatch(t, []uuid.UUID{g2}, ids(c, ListGrantsParams{Account: "erin@home"}))
		require.ElementsMatch(t, []uuid.UUID{g1}, ids(c, ListGrantsParams{Label: "work", Provider: "github"}))
		require.ElementsMatch(t, []uuid.UUID{g3}, ids(c, ListGrantsParams{UserToken: v.Token}))
		require.Len(t, ids(c, ListGrantsParams{Limit: 1, Offset: 1}), 1)
	}
	n := 0
	for g, err := range ag.AllGrants(bg, ListGrantsParams{Limit: 1}) {
		require.NoError(t, err)
		require.Equal(t, AccessOAuthDelegation, g.AccessVia)
		n++
	}
	require.Equal(t, 3, n)
	_, err := e.app.ListGrants(bg, ListGrantsParams{UserToken: "not-a-jwt"})
	require.ErrorIs(t, err, ErrBackend)
}

// Every field of both list items reaches Grant; an api_base_url is kept only as a bare https
// origin.
func TestGrantItemFields(t *testing.T) {
	v := newFakeVault(t, appKey)
	v.on("POST /sdk/grants/list", ok(`{"grants":[`+
		`{"grant_kind":"oauth","grant_id":"`+gidStr+`","provider_id":"github","scopes":["repo"],"account_identifier":"a@x","account_display_name":"A",`+
		`"api_base_url":"https://api.github.example","status":"active","scope_mismatch":true,"needs_reconnect":true,"expires_at":"2026-02-01T00:00:00Z",`+
		`"grant_expires_at":"2026-03-01T00:00:00Z","created_at":"2026-01-01T00:00:00Z","last_used_at":"2026-01-02T00:00:00Z","principal_type":"user",`+
		`"access_via":"oauth_delegation","delegated_at":"2026-01-03T00:00:00Z","delegated_agent_ids":["x"],"label":"work","credential_id":"cred-1",`+
		`"grant_policy":{"expires_at":"2026-03-01T00:00:00Z"},"parent_grant_id":"`+actorStr+`","depth":2,"delegable":true,"scope_constraint":["repo"]},`+
		`{"grant_kind":"managed_secret","grant_id":"`+keyStr+`","managed_secret_id":"ms1","managed_secret_slug":"stripe","managed_secret_name":"Stripe",`+
		`"agent_id":"ag","label":null,"status":"expired","account_identifier":"acct","grant_policy":null,"expires_at":null,"grant_expires_at":"2026-03-01T00:00:00Z",`+
		`"created_at":"2026-01-01T00:00:00Z","last_used_at":null,"principal_type":"group","access_via":"ms_delegation","delegated_at":null,`+
		`"parent_grant_id":null,"depth":0,"delegable":false,"scope_constraint":null,"credential_id":"cred-2","credential_kind":"end_user","credential_label":"mine"}],`+
		`"total":2,"limit":100,"offset":0,"has_more":false}`))
	app := newTestApp(t, v)
	pg, err := app.ListGrants(bg, ListGrantsParams{})
	require.NoError(t, err)
	day := func(m, d int) time.Time { return time.Date(2026, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
	require.Equal(t, Grant{ID: gid, Kind: GrantKindOAuth, Status: "active", PrincipalType: PrincipalUser, AccessVia: AccessOAuthDelegation,
		Label: "work", AccountIdentifier: "a@x", CreatedAt: day(1, 1), LastUsedAt: day(1, 2), ExpiresAt: day(2, 1), GrantExpiresAt: day(3, 1),
		Policy: map[string]any{"expires_at": "2026-03-01T00:00:00Z"}, CredentialID: "cred-1", ParentGrantID: actorStr, Depth: 2,
		Delegable: true, ScopeConstraint: []string{"repo"}, DelegatedAt: day(1, 3), Provider: "github", Scopes: []string{"repo"},
		AccountDisplayName: "A", APIBaseURL: "https://api.github.example", ScopeMismatch: true, NeedsReconnect: true,
		DelegatedAgentIDs: []string{"x"}}, pg.Items[0])
	require.Equal(t, Grant{ID: uuid.MustParse(keyStr), Kind: GrantKindManagedSecret, Status: "expired", PrincipalType: PrincipalGroup,
		AccessVia: AccessMSDelegation, AccountIdentifier: "acct", CreatedAt: day(1, 1), GrantExpiresAt: day(3, 1), CredentialID: "cred-2",
		ManagedSecretID: "ms1", ManagedSecretSlug: "stripe", ManagedSecretName: "Stripe", AgentID: "ag", CredentialKind: CredentialEndUser,
		CredentialLabel: "mine"}, pg.Items[1])

	for in, want := range map[string]string{
		"https://api.github.com": "https://api.github.com", "https://a-b.example": "https://a-b.example",
		"http://api.github.com": "", "https://api.github.com/": "", "https://api.github.com:443": "", "https://u@h.example": "",
		"https://h.example/path": "", "https://H.example": "", "https://-bad.example": "", "https://h..example": "",
		"https://" + strings.Repeat("a.", 140) + "example": "",
	} {
		require.Equal(t, want, apiOrigin(&in), in)
	}
	require.Empty(t, apiOrigin(nil))
}

// The bodies of delegate and mint are the ones alter-sdk sends; a malformed answer is a
// BackendError.
func TestDelegateAndMintWire(t *testing.T) {
	va := newFakeVault(t, agentKey)
	va.on("POST /sdk/grants/"+gidStr+"/delegate",
		ok(`{"grant_id":"`+keyStr+`","grant_kind":"oauth","parent_grant_id":"`+gidStr+`","depth":2,"delegable":false,"status":"active","expires_at":null}`),
		ok(`{"grant_id":"nope","grant_kind":"oauth","parent_grant_id":"`+gidStr+`","depth":2,"delegable":false,"status":"active"}`))
	ag := newTestAgent(t, va)
	no := false
	res, err := ag.Delegate(bg, gid, uuid.MustParse(actorStr), DelegateParams{Delegable: &no, ScopeConstraint: []string{"repo"}, TTL: 1500 * time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, DelegationResult{GrantID: uuid.MustParse(keyStr), Kind: GrantKindOAuth, ParentGrantID: gid, Depth: 2, Status: "active"}, res)
	compactEq(t, `{"to_agent_id":"`+actorStr+`","delegable":false,"scope_constraint":["repo"],"ttl_seconds":2}`, va.last("POST /sdk/grants/"+gidStr+"/delegate").Body)
	_, err = ag.Delegate(bg, gid, uuid.MustParse(actorStr), DelegateParams{})
	require.ErrorIs(t, err, ErrBackend)
	compactEq(t, `{"to_agent_id":"`+actorStr+`"}`, va.last("POST /sdk/grants/"+gidStr+"/delegate").Body)

	v := newFakeVault(t, appKey)
	v.on("POST /sdk/grants/"+gidStr+"/mint",
		ok(`{"grant_id":"`+keyStr+`","provider_id":"github","scopes":["repo"],"account_identifier":"a@x","account_display_name":"A","api_base_url":"https://x.example/path",`+
			`"status":"active","scope_mismatch":false,"expires_at":null,"created_at":"2026-01-01T00:00:00Z","last_used_at":null,"principal_type":"system",`+
			`"label":"ci","credential_id":"cred-1","grant_policy":{"requires_approval":true}}`),
		reply{status: 409, body: `{"detail":{"error":"sibling_label_conflict","message":"taken"}}`})
	app := newTestApp(t, v)
	exp := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	info, err := app.MintGrant(bg, gid, MintGrantParams{Label: "ci", Tags: []string{"a", "b"},
		Policy: &MintPolicy{ExpiresAt: exp, MaxTTL: time.Minute, Restrictions: map[string]any{"methods": []any{"GET"}}, RequiresApproval: true}})
	require.NoError(t, err)
	require.Equal(t, GrantInfo{ID: uuid.MustParse(keyStr), Provider: "github", Scopes: []string{"repo"}, AccountIdentifier: "a@x",
		AccountDisplayName: "A", Status: "active", PrincipalType: PrincipalSystem, Label: "ci", CredentialID: "cred-1",
		Policy: map[string]any{"requires_approval": true}, CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, info)
	compactEq(t, `{"label":"ci","grant_policy":{"expires_at":"2027-01-02T03:04:05Z","max_ttl_seconds":60,"restrictions":{"methods":["GET"]},"requires_approval":true},"grant_tags":["a","b"]}`,
		v.last("POST /sdk/grants/"+gidStr+"/mint").Body)
	_, err = app.MintGrant(bg, gid, MintGrantParams{Label: "ci"})
	var conflict *SiblingLabelConflictError
	require.ErrorAs(t, err, &conflict)
	require.Equal(t, "ci", conflict.Label, "filled from the argument when the body lacks it")
	compactEq(t, `{"label":"ci"}`, v.last("POST /sdk/grants/"+gidStr+"/mint").Body)
}

// With a getter, the end user's token rides on GrantID calls too, so the vault refuses another
// user's grant; Account beside GrantID is not sent (0.29.0 ignores it there).
func TestGetterTokenGuardsGrantIDCalls(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.s.AddUser("alice"), e.s.AddUser("bob")
	mine := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: alice.Sub, Account: "a@x"})
	theirs := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: bob.Sub, Account: "b@x"})
	app, err := NewApp(e.s.AppKey(), WithBaseURL(e.s.URL()), WithUserTokenGetter(func(context.Context) (string, error) { return alice.Token, nil }))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, app.Close()) })

	resp, err := app.Request(bg, "GET", e.up.URL(), RequestParams{GrantID: mine, Account: "someone-else@x"})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	var token vaulttest.Request
	for _, r := range e.s.Requests() {
		if r.Operation == "retrieveToken" {
			token = r
		}
	}
	var body map[string]any
	require.NoError(t, json.Unmarshal(token.Body, &body))
	require.Equal(t, mine.String(), body["grant_id"])
	require.NotContains(t, body, "account")
	require.Contains(t, body, "user_token", "the getter's token is sent with a GrantID")

	_, err = app.Request(bg, "GET", e.up.URL(), RequestParams{GrantID: theirs})
	require.ErrorIs(t, err, ErrGrantNotFound, "another user's grant")
	_, err = app.ProxyRequest(bg, "GET", e.up.URL(), ProxyParams{GrantID: theirs})
	require.ErrorIs(t, err, ErrGrantNotFound)
	resp, err = e.app.Request(bg, "GET", e.up.URL(), RequestParams{GrantID: theirs})
	require.NoError(t, err, "without a user the App reaches every grant of the app")
	require.NoError(t, resp.Body.Close())
}
