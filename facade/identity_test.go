package facade

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/vaulttest"
)

const identityAnswer = `{"app_id":"app-1","app_user_id":"u-1","external_subject_id":"alice","idp_id":"idp","user_status":"active",` +
	`"group_ids":["g1"],"agent_id":"ag-1","actor_id":"ac-1","trace":{"run_id":"r1","thread_id":null},"email":"a@x","display_name":"Alice"}`

func TestIdentityWire(t *testing.T) {
	getter := WithUserTokenGetter(func(context.Context) (string, error) { return "getter-jwt", nil })
	t.Run("app resolve sends the getter's token", func(t *testing.T) {
		v := newFakeVault(t, appKey)
		v.on("POST /sdk/identity/resolve", ok(identityAnswer))
		id, err := newTestApp(t, v, getter).ResolveIdentity(bg, ResolveIdentityParams{IncludeProfile: true})
		require.NoError(t, err)
		compactEq(t, `{"include_profile":true,"user_token":"getter-jwt"}`, v.last("POST /sdk/identity/resolve").Body)
		require.Equal(t, IdentityContext{AppID: "app-1", AppUserID: "u-1", ExternalSubjectID: "alice", IdPID: "idp", UserStatus: UserActive,
			GroupIDs: []string{"g1"}, AgentID: "ag-1", ActorID: "ac-1", Trace: &IdentityTrace{RunID: "r1"}, Email: "a@x",
			DisplayName: "Alice", proof: id.proof}, id)
		require.True(t, id.Verified())
	})
	t.Run("an agent never sends the getter's token", func(t *testing.T) {
		v := newFakeVault(t, agentKey)
		v.on("POST /sdk/identity/resolve", ok(identityAnswer))
		_, err := newTestAgent(t, v, getter).ResolveIdentity(bg, ResolveIdentityParams{AppUserID: "u-1"})
		require.NoError(t, err)
		compactEq(t, `{"include_profile":false,"app_user_id":"u-1"}`, v.last("POST /sdk/identity/resolve").Body)
	})
	t.Run("assert", func(t *testing.T) {
		v := newFakeVault(t, agentKey)
		v.on("POST /sdk/identity/assert", ok(`{"token":"h.p.s","expires_at":"2030-01-01T00:00:00Z","identity":`+identityAnswer+`}`))
		a, err := newTestAgent(t, v).AssertIdentity(bg, AssertIdentityParams{Audience: "urn:svc:memory", TTL: 30 * time.Second, UserToken: "jwt"})
		require.NoError(t, err)
		compactEq(t, `{"include_profile":false,"user_token":"jwt","audience":"urn:svc:memory","ttl_seconds":30}`, v.last("POST /sdk/identity/assert").Body)
		require.Equal(t, "h.p.s", a.Token.Reveal())
		require.Equal(t, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), a.ExpiresAt)
		require.Equal(t, a.ExpiresAt, a.Identity.proof.expires)
		require.NotContains(t, formatAll(a), "h.p.s")
	})
	t.Run("malformed answers", func(t *testing.T) {
		v := newFakeVault(t, appKey)
		v.on("POST /sdk/identity/resolve", ok(`{"app_id":""}`))
		v.on("POST /sdk/identity/assert", ok(`{"token":"","expires_at":"2030-01-01T00:00:00Z","identity":{"app_id":"a"}}`))
		app := newTestApp(t, v)
		_, err := app.ResolveIdentity(bg, ResolveIdentityParams{})
		require.ErrorIs(t, err, ErrBackend)
		_, err = app.AssertIdentity(bg, AssertIdentityParams{Audience: "https://svc"})
		require.ErrorIs(t, err, ErrBackend)
	})
}

func formatAll(v any) string {
	b, _ := json.Marshal(v)
	return string(b) + " " + fmt.Sprintf("%v %+v %#v", v, v, v)
}

func TestIdentityLocalRefusals(t *testing.T) {
	long := strings.Repeat("é", 8193)
	getterLong := []Option{WithUserTokenGetter(func(context.Context) (string, error) { return long, nil })}
	cases := []struct {
		name    string
		agent   bool
		opts    []Option
		resolve *ResolveIdentityParams // else assert
		assert  AssertIdentityParams
		field   string
	}{
		{name: "no audience", field: "AssertIdentityParams.Audience"},
		{name: "audience without scheme", assert: AssertIdentityParams{Audience: "memory.internal"}, field: "AssertIdentityParams.Audience"},
		{name: "audience too long", assert: AssertIdentityParams{Audience: "urn:" + strings.Repeat("a", 509)}, field: "AssertIdentityParams.Audience"},
		{name: "ttl too short", assert: AssertIdentityParams{Audience: "urn:a", TTL: 9 * time.Second}, field: "AssertIdentityParams.TTL"},
		{name: "ttl too long", assert: AssertIdentityParams{Audience: "urn:a", TTL: 301 * time.Second}, field: "AssertIdentityParams.TTL"},
		{name: "ttl not whole seconds", assert: AssertIdentityParams{Audience: "urn:a", TTL: 10500 * time.Millisecond}, field: "AssertIdentityParams.TTL"},
		{name: "app user id on an app", resolve: &ResolveIdentityParams{AppUserID: "u"}, field: "ResolveIdentityParams.AppUserID"},
		{name: "user token too long", agent: true, resolve: &ResolveIdentityParams{UserToken: long}, field: "ResolveIdentityParams.UserToken"},
		{name: "getter token too long", opts: getterLong, assert: AssertIdentityParams{Audience: "urn:a"}, field: "WithUserTokenGetter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := appKey
			if tc.agent {
				key = agentKey
			}
			v := newFakeVault(t, key)
			c := newTestApp(t, v, tc.opts...).client
			if tc.agent {
				c = newTestAgent(t, v, tc.opts...).client
			}
			var err error
			if tc.resolve != nil {
				_, err = c.ResolveIdentity(bg, *tc.resolve)
			} else {
				_, err = c.AssertIdentity(bg, tc.assert)
			}
			var ie *InputError
			require.ErrorAs(t, err, &ie)
			require.Equal(t, tc.field, ie.Field)
			require.Empty(t, v.requests(), "refused before any I/O")
		})
	}
	// the bounds themselves pass
	v := newFakeVault(t, appKey)
	v.on("POST /sdk/identity/assert", ok(`{"token":"t","expires_at":"2030-01-01T00:00:00Z","identity":{"app_id":"a"}}`))
	app := newTestApp(t, v)
	for _, ttl := range []time.Duration{10 * time.Second, 300 * time.Second} {
		_, err := app.AssertIdentity(bg, AssertIdentityParams{Audience: "urn:" + strings.Repeat("a", 508), TTL: ttl})
		require.NoError(t, err)
	}
}

func TestIdentityAgainstVault(t *testing.T) {
	s := vaulttest.NewTestServer(t)
	d := vaulttest.SeedDemo(s)
	app, err := NewApp(d.AppKey, WithBaseURL(s.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, app.Close()) })
	agent, err := NewAgent(d.Agent.APIKey, WithBaseURL(s.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, agent.Close()) })

	ctx := WithTrace(bg, Trace{RunID: "run-1"})
	id, err := app.ResolveIdentity(ctx, ResolveIdentityParams{UserToken: d.User.Token, IncludeProfile: true})
	require.NoError(t, err)
	require.Equal(t, s.AppID().String(), id.AppID)
	require.Equal(t, d.User.AppUserID.String(), id.AppUserID)
	require.Equal(t, UserActive, id.UserStatus)
	require.NotEmpty(t, id.Email)
	require.Equal(t, &IdentityTrace{RunID: "run-1"}, id.Trace)
	_, err = id.MemoryScope()
	require.ErrorIs(t, err, MemoryAgentRequired, "an App identity has no agent")

	byUser, err := agent.ResolveIdentity(bg, ResolveIdentityParams{AppUserID: d.User.AppUserID.String()})
	require.NoError(t, err)
	require.Equal(t, d.Agent.ID.String(), byUser.AgentID)
	require.Empty(t, byUser.Email, "no profile unless asked")
	sc, err := byUser.MemoryScope()
	require.NoError(t, err)
	require.Equal(t, []string{"alter", "v2", "agent-user", segment(id.AppID), segment(byUser.AgentID), segment(byUser.AppUserID)}, sc.Namespace)

	headless, err := agent.AssertIdentity(bg, AssertIdentityParams{Audience: "https://memory.internal"})
	require.NoError(t, err)
	require.True(t, headless.Identity.Verified())
	asc, err := headless.Identity.AgentMemoryScope()
	require.NoError(t, err)
	require.Equal(t, "alter/v2/agent/"+segment(id.AppID)+"/"+segment(d.Agent.ID.String())+"/", asc.PartitionKey)
	require.Empty(t, asc.UserKey)
	require.WithinDuration(t, time.Now().Add(2*time.Minute), headless.ExpiresAt, 5*time.Second)

	_, err = app.ResolveIdentity(bg, ResolveIdentityParams{UserToken: "not.a.jwt"})
	require.ErrorIs(t, err, ErrReAuthRequired)
	other := s.AddUser("mallory")
	_, err = agent.AssertIdentity(bg, AssertIdentityParams{Audience: "urn:x", AppUserID: other.AppUserID.String()})
	require.ErrorIs(t, err, ErrGrantNotFound, "no consent edge")
	s.InjectFault("assertIdentity", vaulttest.Fault{Status: http.StatusServiceUnavailable, Code: "service_unavailable"})
	_, err = agent.AssertIdentity(bg, AssertIdentityParams{Audience: "urn:x"})
	require.ErrorIs(t, err, ErrBackend)
}
