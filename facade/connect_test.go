package facade

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/vaulttest"
)

// The local checks alter-sdk makes before a Connect session leaves.
func TestConnectSessionChecks(t *testing.T) {
	v := newFakeVault(t, appKey)
	app := newTestApp(t, v)
	one := []string{"github"}
	long := strings.Repeat("x", 256)
	for name, p := range map[string]ConnectSessionParams{
		"empty providers":       {AllowedProviders: []string{}},
		"blank provider":        {AllowedProviders: []string{" "}},
		"direct, two":           {AllowedProviders: []string{"github", "google"}, Direct: true},
		"direct, all":           {Direct: true},
		"repair, all":           {RepairGrantID: gid},
		"repair with agent":     {AllowedProviders: one, RepairGrantID: gid, Agent: "bot"},
		"repair with switch":    {AllowedProviders: one, RepairGrantID: gid, SwitchAccount: true},
		"repair with requested": {AllowedProviders: one, RepairGrantID: gid, RequestedGrant: &RequestedGrant{Label: "a"}},
		"label blank":           {RequestedGrant: &RequestedGrant{}},
		"label long":            {RequestedGrant: &RequestedGrant{Label: long}},
		"scope empty":           {ScopeConstraint: []string{}},
		"scope wildcard":        {ScopeConstraint: []string{" * "}},
		"scope space":           {ScopeConstraint: []string{"a b"}},
		"scope quote":           {ScopeConstraint: []string{`a"`}},
		"scope too many":        {ScopeConstraint: make([]string, 101)},
	} {
		_, err := app.CreateConnectSession(bg, p)
		require.ErrorIs(t, err, ErrInvalidInput, name)
	}
	require.Empty(t, v.requests(), "nothing left")
}

// Every option on the wire, in alter-sdk's order, flags sent only when they change something.
func TestConnectSessionWire(t *testing.T) {
	v := newFakeVault(t, appKey)
	v.on("POST /sdk/oauth/connect/session", ok(`{"session_token":"st","connect_url":"https://c","expires_in":900,"expires_at":"2026-01-01T00:00:00Z",`+
		`"scope_constraint_warnings":["google: x"],"single_provider":true,"direct":true}`))
	app := newTestApp(t, v)
	f := false
	s, err := app.CreateConnectSession(bg, ConnectSessionParams{AllowedProviders: []string{"GitHub", "github"}, ReturnURL: "https://r",
		AllowedOrigin: "https://o", Metadata: &ConnectMetadata{IPAddress: "1.2.3.4"}, GrantPolicy: &GrantPolicyInput{MaxTTL: time.Hour},
		RequiredScopes: map[string][]string{"github": {"repo"}}, RequestedGrant: &RequestedGrant{Label: "ci", AllowedMethods: []string{"GET"}},
		Delegable: &f, ScopeConstraint: []string{"repo"}, Direct: true, DisallowUserPolicyRules: true, UserToken: "u.jwt"})
	require.NoError(t, err)
	require.Equal(t, ConnectSession{Token: "st", URL: "https://c", ExpiresIn: 15 * time.Minute, ExpiresAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		SingleProvider: true, Direct: true, Warnings: []string{"google: x"}}, s)
	compactEq(t, `{"allowed_providers":["GitHub","github"],"return_url":"https://r","allowed_origin":"https://o","metadata":{"ip_address":"1.2.3.4"},`+
		`"direct":true,"allow_user_policy_rules":false,"grant_policy":{"max_ttl_seconds":3600},"required_scopes":{"github":["repo"]},`+
		`"requested_grant":{"label":"ci","restrictions":{"allowed_methods":["GET"]}},"delegable":false,`+
		`"scope_constraint":["repo"],"user_token":"u.jwt"}`, v.last("POST /sdk/oauth/connect/session").Body)

	_, err = app.CreateConnectSession(bg, ConnectSessionParams{AllowedProviders: []string{"github"}, SwitchAccount: true, Agent: "bot"})
	require.NoError(t, err)
	compactEq(t, `{"allowed_providers":["github"],"return_url":null,"allowed_origin":null,"metadata":null,"switch_account":true,"agent":"bot"}`,
		v.last("POST /sdk/oauth/connect/session").Body)
	_, err = app.CreateConnectSession(bg, ConnectSessionParams{AllowedProviders: []string{"github"}, RepairGrantID: gid})
	require.NoError(t, err)
	compactEq(t, `{"allowed_providers":["github"],"return_url":null,"allowed_origin":null,"metadata":null,"repair_grant_id":"`+gidStr+`"}`,
		v.last("POST /sdk/oauth/connect/session").Body)
}

// PollConnectSession in virtual time: events once per provider, the declined providers on a
// timeout, a 429 waited out within the budget.
func TestPollConnectSessionInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newFakeVault(t, appKey)
		pending := ok(`{"status":"pending","declined_providers":[{"provider_id":"slack","error_code":"access_denied","declined_at":"2026-01-01T00:00:00Z"}]}`)
		v.on("POST /sdk/oauth/connect/session/poll", ok(`{"status":"pending"}`), pending,
			reply{status: 429, header: http.Header{"Retry-After": {"3"}}, body: `{"detail":{"error":"rate_limit_exceeded"}}`}, pending)
		app := newTestApp(t, v)
		var events []ConnectEvent
		start := time.Now()
		_, err := app.PollConnectSession(bg, "st", PollParams{Timeout: 10 * time.Second, PollInterval: time.Second,
			OnEvent: func(e ConnectEvent) { events = append(events, e) }})
		require.Equal(t, 10*time.Second, time.Since(start))
		for _, target := range []error{ErrConnectTimeout, ErrTimeout, context.DeadlineExceeded} {
			require.ErrorIs(t, err, target)
		}
		var ce *ConnectError
		require.ErrorAs(t, err, &ce)
		require.Equal(t, "poll_deadline_elapsed", ce.Reason)
		require.Equal(t, []string{"slack"}, ce.Details["declined_providers"])
		require.Equal(t, []ConnectEvent{{Type: ConnectEventProviderDeclined, Provider: "slack", ErrorCode: "access_denied",
			DeclinedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}, events)
		// polls at 0, 1, 2 (429: wait 3), 5, 6, 7, 8, 9
		require.Len(t, v.requests(), 8)

		_, err = app.PollConnectSession(bg, "st", PollParams{Timeout: -1})
		require.ErrorIs(t, err, ErrInvalidInput)
		_, err = app.PollConnectSession(bg, " ", PollParams{})
		require.ErrorIs(t, err, ErrInvalidInput)
	})
}

// A completed multi-provider session: the failures ride on every result; no grant kept is a
// flow error listing them.
func TestPollConnectSessionOutcomes(t *testing.T) {
	v := newFakeVault(t, appKey)
	app := newTestApp(t, v)
	v.on("POST /sdk/oauth/connect/session/poll", ok(`{"status":"completed","grants":[{"grant_id":"`+gidStr+`","provider_id":"github","scopes":["repo"],`+
		`"api_base_url":"https://ghe.example","delegation":{"agent_id":"`+agentStr+`","delegable":false,"policy_refused":true}}],`+
		`"failed_grants":[{"provider_id":"google","reason":"activation_failed","message":"m"}]}`))
	res, err := app.PollConnectSession(bg, "st", PollParams{})
	require.NoError(t, err)
	require.Equal(t, []ConnectResult{{GrantID: gid, Provider: "github", Scopes: []string{"repo"}, APIBaseURL: "https://ghe.example",
		Operation: ConnectCreation, Delegation: &ConnectDelegation{AgentID: agentID, PolicyRefused: true},
		FailedGrants: []ConnectFailedGrant{{Provider: "google", Reason: "activation_failed", Message: "m"}}}}, res)

	v.on("POST /sdk/oauth/connect/session/poll", ok(`{"status":"completed","grants":[],"failed_grants":[{"provider_id":"google","reason":"policy_invalid","message":"m"}]}`))
	_, err = app.PollConnectSession(bg, "st", PollParams{})
	var ce *ConnectError
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "grant_policy_application_failed", ce.Details["error_code"])
	require.Len(t, ce.Details["failed_grants"], 1)
}

// Managed-secret sessions: the body, the App.GetAgent pin, and answers that show an older vault.
func TestManagedSecretConnectWire(t *testing.T) {
	v := newFakeVault(t, appKey)
	ans := func(extra string) reply {
		return ok(`{"session_token":"ms_sess_x","connect_url":"https://c#session=ms_sess_x","expires_in":600,"expires_at":"2026-01-01T00:00:00Z"` + extra + `}`)
	}
	v.on("POST /sdk/managed-secrets/connect/session", ans(`,"path":"fast_path","existing_grant_id":"`+gidStr+`","secret_slug":"stripe","agent_id":"`+agentStr+`","delegable_requested":true`))
	app := newTestApp(t, v)
	s, err := app.CreateManagedSecretConnectSession(bg, ManagedSecretConnectParams{Provider: "stripe", UserToken: "u.jwt", Agent: "bot",
		Delegable: true, Label: "mine", RequestedTTL: 90 * time.Minute, Direct: true, DisallowUserPolicyRules: true,
		AllowedOrigin: "https://o", ReturnURL: "https://r"})
	require.NoError(t, err)
	require.Equal(t, ManagedSecretFastPath, s.Path)
	require.Equal(t, gid, s.ExistingGrantID)
	require.Equal(t, agentID, s.AgentID)
	require.True(t, s.DelegableRequested)
	compactEq(t, `{"provider":"stripe","agent":"bot","user_token":"u.jwt","requested_ttl_seconds":5400,"allowed_origin":"https://o",`+
		`"return_url":"https://r","allow_user_policy_rules":false,"delegable":true,"requested_grant":{"label":"mine"},"direct":true}`,
		v.last("POST /sdk/managed-secrets/connect/session").Body)

	for name, p := range map[string]ManagedSecretConnectParams{
		"no provider":     {UserToken: "u"},
		"bad slug":        {Provider: "Stripe", UserToken: "u"},
		"no user":         {Provider: "stripe"},
		"ttl and policy":  {Provider: "stripe", UserToken: "u", RequestedTTL: time.Hour, GrantPolicy: &GrantPolicyInput{MaxTTL: time.Hour}},
		"repair, agent":   {Provider: "stripe", UserToken: "u", RepairGrantID: gid, Agent: "bot"},
		"repair, label":   {Provider: "stripe", UserToken: "u", RepairGrantID: gid, Label: "l"},
		"bad template":    {TemplateSlug: "a_b", UserToken: "u"},
		"label too long":  {Provider: "stripe", UserToken: "u", Label: strings.Repeat("l", 256)},
		"negative ttl":    {Provider: "stripe", UserToken: "u", RequestedTTL: -time.Second},
		"agent via agent": {Provider: "stripe", UserToken: "u"}, // checked below on an Agent
	} {
		if name == "agent via agent" {
			continue
		}
		_, err := app.CreateManagedSecretConnectSession(bg, p)
		require.ErrorIs(t, err, ErrInvalidInput, name)
	}

	// an App.GetAgent view names its agent; a template-only body uses the deprecated field
	child, err := app.GetAgent(agentID)
	require.NoError(t, err)
	v.on("POST /sdk/managed-secrets/connect/session", ans(`,"path":null,"template_slug":"stripe-api-key"`))
	_, err = child.CreateManagedSecretConnectSession(bg, ManagedSecretConnectParams{TemplateSlug: "Stripe-API-Key", UserToken: "u"})
	require.NoError(t, err)
	compactEq(t, `{"template_slug":"stripe-api-key","delegated_agent_id":"`+agentStr+`","user_token":"u"}`, v.last("POST /sdk/managed-secrets/connect/session").Body)
	_, err = child.CreateManagedSecretConnectSession(bg, ManagedSecretConnectParams{Provider: "stripe", UserToken: "u", Agent: "other"})
	require.ErrorIs(t, err, ErrInvalidInput)
	// views derived from either kind of Agent keep what they are: the pin, or none
	narrowed, err := child.WithConstraints(Constraints{Scopes: []string{"secrets:write"}})
	require.NoError(t, err)
	_, err = narrowed.CreateManagedSecretConnectSession(bg, ManagedSecretConnectParams{TemplateSlug: "stripe-api-key", UserToken: "u"})
	require.NoError(t, err)
	require.Contains(t, string(v.last("POST /sdk/managed-secrets/connect/session").Body), `"delegated_agent_id":"`+agentStr+`"`)
	own := newTestAgent(t, v, WithCaller("planner"))
	ownNarrowed, err := own.WithConstraints(Constraints{Scopes: []string{"secrets:write"}})
	require.NoError(t, err)
	_, err = ownNarrowed.CreateManagedSecretConnectSession(bg, ManagedSecretConnectParams{TemplateSlug: "stripe-api-key", UserToken: "u"})
	require.NoError(t, err)
	require.NotContains(t, string(v.last("POST /sdk/managed-secrets/connect/session").Body), "agent")

	// an older vault: options ignored (no path), delegable not echoed; a wrong echo or provider
	for name, c := range map[string]struct {
		answer string
		p      ManagedSecretConnectParams
		want   error
	}{
		"no path":        {`,"secret_slug":"stripe"`, ManagedSecretConnectParams{Provider: "stripe", UserToken: "u"}, ErrServerFeatureUnsupported},
		"no echo":        {`,"path":"key_entry","secret_slug":"stripe"`, ManagedSecretConnectParams{Provider: "stripe", UserToken: "u", Delegable: true}, ErrServerFeatureUnsupported},
		"wrong echo":     {`,"path":"key_entry","secret_slug":"stripe","delegable_requested":true`, ManagedSecretConnectParams{Provider: "stripe", UserToken: "u"}, ErrBackend},
		"other provider": {`,"path":"key_entry","secret_slug":"openai"`, ManagedSecretConnectParams{Provider: "stripe", UserToken: "u"}, ErrBackend},
	} {
		v.on("POST /sdk/managed-secrets/connect/session", ans(c.answer))
		_, err := app.CreateManagedSecretConnectSession(bg, c.p)
		require.ErrorIs(t, err, c.want, name)
	}
	// an older vault's 422s
	for name, c := range map[string]struct {
		body string
		p    ManagedSecretConnectParams
		want error
	}{
		"unknown field": {`{"detail":[{"type":"extra_forbidden","loc":["body","agent"],"msg":"x"}]}`,
			ManagedSecretConnectParams{Provider: "stripe", UserToken: "u", Agent: "bot"}, ErrServerFeatureUnsupported},
		"template required": {`{"detail":[{"type":"missing","loc":["body","template_slug"],"msg":"x"}]}`,
			ManagedSecretConnectParams{Provider: "stripe", UserToken: "u"}, ErrServerFeatureUnsupported},
		"agent required": {`{"detail":[{"type":"missing","loc":["body","delegated_agent_id"],"msg":"x"}]}`,
			ManagedSecretConnectParams{Provider: "stripe", UserToken: "u"}, ErrServerFeatureUnsupported},
		"agent required, typed": {`{"detail":{"error":"delegated_agent_id_required","message":"x"}}`,
			ManagedSecretConnectParams{Provider: "stripe", UserToken: "u"}, ErrServerFeatureUnsupported},
		"a plain 422": {`{"detail":[{"type":"string_too_long","loc":["body","return_url"],"msg":"x"}]}`,
			ManagedSecretConnectParams{Provider: "stripe", UserToken: "u"}, ErrBackend},
	} {
		v.on("POST /sdk/managed-secrets/connect/session", reply{status: 422, body: c.body})
		_, err := app.CreateManagedSecretConnectSession(bg, c.p)
		require.ErrorIs(t, err, c.want, name)
		if c.want == ErrBackend {
			require.NotErrorIs(t, err, ErrServerFeatureUnsupported, name)
		}
	}
	v.on("POST /sdk/managed-secrets/connect/session", ans(`,"path":"teleport","secret_slug":"stripe"`))
	s, err = app.CreateManagedSecretConnectSession(bg, ManagedSecretConnectParams{Provider: "stripe", UserToken: "u"})
	require.NoError(t, err)
	require.Empty(t, s.Path, "an unknown path reads as none")
}

// From a failed call to a working one, through the emulator: the missing delegation's
// recovery session, completed, delegates the user's new grant to the agent.
func TestVaultConnectSessionForError(t *testing.T) {
	e := newEnv(t)
	ag := e.s.AddAgent("helper")
	user := e.s.AddUser("erin")
	agent, err := NewAgent(ag.APIKey, WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = agent.Close() })
	_, err = agent.Request(bg, "GET", e.up.URL()+"/x", RequestParams{Provider: "google", UserToken: user.Token})
	require.ErrorIs(t, err, ErrNoDelegatedGrant)

	sess, err := e.app.ConnectSessionForError(bg, err, ConnectForErrorParams{UserToken: user.Token, ReturnURL: "https://r"})
	require.NoError(t, err)
	require.True(t, sess.SingleProvider)
	require.NoError(t, e.s.CompleteConnectSession(lastSegment(sess.URL), "google", "erin@example.com"))
	res, err := e.app.PollConnectSession(bg, sess.Token, PollParams{})
	require.NoError(t, err)
	require.Equal(t, ag.ID, res[0].Delegation.AgentID)
	resp, err := agent.Request(bg, "GET", e.up.URL()+"/x", RequestParams{Provider: "google", UserToken: user.Token})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())

	// a revoked credential is repaired in place
	e.s.SetGrantState(res[0].GrantID, vaulttest.GrantCredentialRevoked)
	_, err = e.app.Request(bg, "GET", e.up.URL()+"/x", RequestParams{GrantID: res[0].GrantID, UserToken: user.Token})
	require.ErrorIs(t, err, ErrCredentialRevoked)
	act, err := e.app.UserActionFor(bg, err, ConnectForErrorParams{UserToken: user.Token})
	require.NoError(t, err)
	require.Equal(t, ActionRepair, act.Kind)
	require.Equal(t, "credential_revoked", act.Reason)
	require.NoError(t, e.s.CompleteConnectSession(lastSegment(act.URL), "google", "erin@example.com"))
	out, err := act.Wait(bg)
	require.NoError(t, err)
	require.Equal(t, res[0].GrantID, out.GrantID(), "the same grant")
	require.Equal(t, ConnectReauth, out.Grants[0].Operation)

	// errors nothing can fix
	_, err = e.app.ConnectSessionForError(bg, ErrClosed, ConnectForErrorParams{})
	require.ErrorIs(t, err, ErrInvalidInput)
	_, err = e.app.ConnectSessionForError(bg, &GrantNotFoundError{APIError: &APIError{Code: "grant_not_found"}}, ConnectForErrorParams{})
	require.ErrorIs(t, err, ErrInvalidInput, "no provider to recover")
	_, err = e.app.ConnectSessionForError(bg, &NoDelegatedGrantError{APIError: &APIError{}, ProviderID: "google"}, ConnectForErrorParams{})
	require.ErrorIs(t, err, ErrInvalidInput, "no agent to delegate to")
	_, err = e.app.UserActionFor(bg, ErrClosed, ConnectForErrorParams{})
	require.ErrorIs(t, err, ErrNotActionable)
	require.ErrorIs(t, err, ErrClosed)
}

// A repair that the vault refuses falls back to an ordinary session.
func TestConnectSessionForErrorRepairFallback(t *testing.T) {
	v := newFakeVault(t, appKey)
	v.on("POST /sdk/oauth/connect/session", reply{status: 404, body: `{"detail":{"error":"grant_not_found","message":"no"}}`}, ok(sessionAns))
	app := newTestApp(t, v)
	cr := &CredentialRevokedError{APIError: &APIError{Code: "credential_revoked"}, GrantID: gidStr, ProviderID: "github"}
	s, err := app.ConnectSessionForError(bg, cr, ConnectForErrorParams{})
	require.NoError(t, err)
	require.Equal(t, "st", s.Token)
	rs := v.requests()
	require.Len(t, rs, 2)
	require.Contains(t, string(rs[0].Body), `"repair_grant_id":"`+gidStr+`"`)
	require.NotContains(t, string(rs[1].Body), "repair_grant_id")
}

// UserAction: stored as JSON, resumed, and waited on in virtual time until the session expires.
func TestUserActionResumeInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		v := newFakeVault(t, appKey)
		exp := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
		v.on("POST /sdk/oauth/connect/session", ok(`{"session_token":"st","connect_url":"https://c","expires_in":60,"expires_at":"`+exp+`"}`))
		v.on("POST /sdk/oauth/connect/session/poll", ok(`{"status":"pending"}`))
		app := newTestApp(t, v)
		nf := &GrantNotFoundError{APIError: &APIError{Code: "grant_not_found"}, ProviderID: "github"}
		act, err := app.UserActionFor(bg, nf, ConnectForErrorParams{})
		require.NoError(t, err)
		require.Equal(t, ActionConnect, act.Kind)
		require.Contains(t, act.Message, "https://c")
		b, err := json.Marshal(act)
		require.NoError(t, err)
		require.NotContains(t, string(b), appKey)

		var stored UserAction
		require.NoError(t, json.Unmarshal(b, &stored))
		_, err = stored.Wait(bg)
		require.ErrorIs(t, err, ErrInvalidInput, "not bound")
		resumed, err := app.ResumeUserAction(stored)
		require.NoError(t, err)
		start := time.Now()
		_, err = resumed.Wait(bg)
		require.ErrorIs(t, err, ErrConnectTimeout)
		require.Equal(t, time.Minute+expirySlack, time.Since(start), "until the expiry, and the slack")

		ctx, cancel := context.WithCancel(bg)
		time.AfterFunc(time.Second/2, cancel) // before the 1 s floor of an expired action
		_, err = resumed.Wait(ctx)
		require.ErrorIs(t, err, context.Canceled)
		_, err = app.ResumeUserAction(UserAction{Kind: "dance", Handle: "x"})
		require.ErrorIs(t, err, ErrInvalidInput)
	})
}

// A held call as a UserAction, approved through the emulator.
func TestVaultUserActionForApproval(t *testing.T) {
	e := newEnv(t)
	agent, out := heldCall(t, e)
	act, err := agent.UserActionForApproval(out.Pending)
	require.NoError(t, err)
	require.Equal(t, ActionApprove, act.Kind)
	require.Equal(t, out.Pending.URL, act.URL)
	go func() { _ = e.s.Approve(out.Pending.ID) }()
	done, err := act.Wait(bg)
	require.NoError(t, err)
	require.Equal(t, 200, done.Result.StatusCode)
	require.Equal(t, uuid.Nil, done.GrantID())
	_, err = agent.UserActionForApproval(nil)
	require.ErrorIs(t, err, ErrInvalidInput)
}

// The split sign-in against the emulator, and an App acting for the signed-in user.
func TestVaultAuthSessionAndForUser(t *testing.T) {
	e := newEnv(t)
	gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "fay"})
	sess, err := e.app.CreateAuthSession(bg)
	require.NoError(t, err)
	require.Equal(t, 15*time.Minute, sess.ExpiresIn)
	require.NoError(t, e.s.CompleteAuthSession(sess.Token, "fay"))
	res, err := e.app.PollAuthSession(bg, sess.Token, PollParams{PollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, "fay", res.UserInfo.Sub)
	tok, err := res.TokenGetter()(bg)
	require.NoError(t, err)
	require.Equal(t, res.UserToken.Reveal(), tok)

	fay, err := e.app.ForUser(res.UserToken)
	require.NoError(t, err)
	page, err := fay.ListGrants(bg, ListGrantsParams{})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	require.Equal(t, gid, page.Items[0].ID)
	require.NoError(t, fay.Close())
	_, err = e.app.ListGrants(bg, ListGrantsParams{})
	require.NoError(t, err, "closing the user's view leaves the App open")
	_, err = e.app.ForUser("")
	require.ErrorIs(t, err, ErrInvalidInput)
	_, err = e.app.PollAuthSession(bg, "", PollParams{})
	require.ErrorIs(t, err, ErrInvalidInput)

	// an expired sign-in is a failed one, not a local timeout (as in alter-sdk)
	sess, err = e.app.CreateAuthSession(bg)
	require.NoError(t, err)
	require.NoError(t, e.s.ExpireSession(sess.Token))
	_, err = e.app.PollAuthSession(bg, sess.Token, PollParams{})
	require.ErrorIs(t, err, ErrConnectFlow)
	require.NotErrorIs(t, err, ErrConnectTimeout)
}

// Which errors a person can fix, and what each tells the recovery session.
func TestRecoveryOf(t *testing.T) {
	v := newFakeVault(t, appKey)
	v.on("POST /sdk/oauth/connect/session", ok(sessionAns))
	app := newTestApp(t, v)
	for i, err := range []error{ // in order: the requests are checked below
		&GrantExpiredError{APIError: &APIError{Code: "grant_expired"}, ProviderID: "github", AgentID: agentStr},
		&ScopeReauthRequiredError{ProviderAPIError: &ProviderAPIError{ProviderID: "github"}},
	} {
		act, aerr := app.UserActionFor(bg, err, ConnectForErrorParams{})
		require.NoError(t, aerr, i)
		require.Equal(t, ActionConnect, act.Kind, i)
		require.Equal(t, act.Message, act.String())
	}
	require.Contains(t, string(v.requests()[0].Body), `"agent":"`+agentStr+`"`, "an expired delegation is re-consented for its agent")
	require.NotContains(t, string(v.requests()[1].Body), `"agent"`)

	require.True(t, Actionable(errors.Join(errors.New("wrapped"), &NoDelegatedGrantError{APIError: &APIError{}, ProviderID: "google"})))
	require.True(t, Actionable(fmt.Errorf("call failed: %w", &CredentialRevokedError{APIError: &APIError{}, ProviderID: "github"})))
	require.False(t, Actionable(&GrantNotFoundError{APIError: &APIError{}}), "no provider")
	require.False(t, Actionable(ErrClosed))
	_, err := app.UserActionFor(bg, nil, ConnectForErrorParams{})
	require.ErrorIs(t, err, ErrNotActionable)
	require.Equal(t, ErrNotActionable.Error(), err.Error())
	require.NoError(t, app.Close())
	_, err = app.ForUser("u.jwt")
	require.ErrorIs(t, err, ErrClosed)
}

// A recovery session asks for the requested grant (a labelled call's grant), except a repair,
// which keeps the grant it reconnects.
func TestConnectSessionForErrorRequestedGrant(t *testing.T) {
	v := newFakeVault(t, appKey)
	v.on("POST /sdk/oauth/connect/session", ok(sessionAns), ok(sessionAns))
	app := newTestApp(t, v)
	p := ConnectForErrorParams{RequestedGrant: &RequestedGrant{Label: "work"}}
	nf := &GrantNotFoundError{APIError: &APIError{Code: "grant_not_found"}, ProviderID: "github"}
	_, err := app.ConnectSessionForError(bg, nf, p)
	require.NoError(t, err)
	cr := &CredentialRevokedError{APIError: &APIError{Code: "credential_revoked"}, GrantID: gidStr, ProviderID: "github"}
	_, err = app.ConnectSessionForError(bg, cr, p)
	require.NoError(t, err)
	rs := v.requests()
	require.Len(t, rs, 2)
	require.Contains(t, string(rs[0].Body), `"requested_grant":{"label":"work"}`)
	require.NotContains(t, string(rs[1].Body), "requested_grant", "a repair asks for no new grant")
}
