package facade

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/internal/signing"
	"github.com/altersdk/alter-go/vaulttest"
)

// newConstrainedEnv is an env on an App key holding only the given scopes.
func newConstrainedEnv(t *testing.T, scopes ...string) (*env, *App) {
	t.Helper()
	e := newEnv(t)
	k := e.s.AddAppKey(vaulttest.KeyScopes(scopes...))
	app, err := NewApp(k.APIKey, WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, app.Close()) })
	return e, app
}

// Every vault call of a constrained client carries both headers, signed (the vault verified each
// signature), and the vault narrows the key as they say.
func TestWithConstraintsWire(t *testing.T) {
	e := newEnv(t)
	gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github"})
	rule, err := ContentMatchRule(ContentMatch{Families: []ContentMatchFamily{FamilyDelete}})
	require.NoError(t, err)
	narrow, err := e.app.WithConstraints(Constraints{Scopes: []string{"grants:read", "tokens:read", "audit:emit"}, Rule: &rule})
	require.NoError(t, err)
	resp, err := narrow.Request(bg, "GET", e.up.URL()+"/repos", RequestParams{GrantID: gid})
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	_, err = narrow.ListGrants(bg, ListGrantsParams{})
	require.NoError(t, err)
	_, err = e.app.ListGrants(bg, ListGrantsParams{})
	require.NoError(t, err)
	require.NoError(t, narrow.Close()) // a view's Close leaves the audit post to its App's drain
	require.NoError(t, e.app.Close())
	wantRule, err := encodeRuleHeader(rule)
	require.NoError(t, err)
	ops := map[string]int{}
	for _, r := range e.s.Requests() {
		ops[r.Operation]++
		scopes, got := r.Header.Get(signing.HeaderScopeConstraints), r.Header.Get(signing.HeaderRequestRule)
		if r.Operation == "listGrants" && ops[r.Operation] == 2 {
			require.Empty(t, scopes, "the parent is unconstrained")
			require.Empty(t, got)
			continue
		}
		require.Equal(t, "grants:read,tokens:read,audit:emit", scopes, r.Operation)
		require.Equal(t, wantRule, got, r.Operation)
		require.Equal(t, 200, r.Status, r.Operation)
	}
	require.Equal(t, map[string]int{"retrieveToken": 1, "recordApiCall": 1, "listGrants": 2}, ops)
}

func TestWithConstraintsOutcomes(t *testing.T) {
	e := newEnv(t)
	gid := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github"})
	t.Run("scopes narrow the key", func(t *testing.T) {
		narrow, err := e.app.WithConstraints(Constraints{Scopes: []string{"grants:read"}})
		require.NoError(t, err)
		_, err = narrow.ListGrants(bg, ListGrantsParams{})
		require.NoError(t, err)
		_, err = narrow.Agents().Create(bg, AgentCreateParams{Name: "bot"})
		var se *InsufficientScopeError
		require.ErrorAs(t, err, &se)
		require.ErrorIs(t, err, ErrInsufficientScope)
	})
	t.Run("a wider scope is refused", func(t *testing.T) {
		_, app := newConstrainedEnv(t, "grants:read")
		wide, err := app.WithConstraints(Constraints{Scopes: []string{"grants:read", "agents:write"}})
		require.NoError(t, err)
		_, err = wide.ListGrants(bg, ListGrantsParams{})
		requireAPIError(t, err, 400, ErrorCodeConstraintNotNarrowing)
	})
	t.Run("deny", func(t *testing.T) {
		rule, err := ContentMatchRule(ContentMatch{Operations: []string{"post:/issues"}})
		require.NoError(t, err)
		c, err := e.app.WithConstraints(Constraints{Rule: &rule})
		require.NoError(t, err)
		_, err = c.Request(bg, "POST", e.up.URL()+"/issues", RequestParams{GrantID: gid})
		var pe *PolicyViolationError
		require.ErrorAs(t, err, &pe)
		require.ErrorIs(t, err, ErrPolicyViolation)
		resp, err := c.Request(bg, "GET", e.up.URL()+"/issues", RequestParams{GrantID: gid})
		require.NoError(t, err, "another operation")
		require.NoError(t, resp.Body.Close())
	})
	t.Run("deny on a parameter allowlist", func(t *testing.T) {
		rule, err := ContentMatchRule(ContentMatch{Families: []ContentMatchFamily{FamilySend},
			Params: []ContentParamCondition{{Name: "to", Op: OpNotSubsetOf, Value: []string{"*@acme.com"}}}})
		require.NoError(t, err)
		c, err := e.app.WithConstraints(Constraints{Rule: &rule})
		require.NoError(t, err)
		out, err := c.ProxyRequest(bg, "POST", e.up.URL()+"/mail/send", ProxyParams{GrantID: gid, JSON: map[string]any{"to": []string{" Ann@ACME.com", "bo@acme.com"}}})
		require.NoError(t, err)
		require.Equal(t, 200, out.Result.StatusCode)
		_, err = c.ProxyRequest(bg, "POST", e.up.URL()+"/mail/send", ProxyParams{GrantID: gid, JSON: map[string]any{"to": []string{"ann@acme.com", "eve@evil.example"}}})
		require.ErrorIs(t, err, ErrPolicyViolation)
	})
	t.Run("redact", func(t *testing.T) {
		rule, err := ContentMatchRule(ContentMatch{Families: []ContentMatchFamily{FamilyWrite}, Effect: EffectRedact, RedactFields: []string{"ssn"}})
		require.NoError(t, err)
		c, err := e.app.WithConstraints(Constraints{Rule: &rule})
		require.NoError(t, err)
		out, err := c.ProxyRequest(bg, "POST", e.up.URL()+"/people", ProxyParams{GrantID: gid, JSON: map[string]any{"name": "Ann", "ssn": "123-45-6789"}})
		require.NoError(t, err)
		var echo struct{ Body string }
		require.NoError(t, out.Result.JSON(&echo))
		require.JSONEq(t, `{"name":"Ann"}`, echo.Body)
		_, err = c.ProxyRequest(bg, "POST", e.up.URL()+"/people", ProxyParams{GrantID: gid, JSON: []string{"not", "an", "object"}})
		var rd *RedactDischargeFailedError
		require.ErrorAs(t, err, &rd)
		require.ErrorIs(t, err, ErrPolicyViolation)
		_, err = c.Request(bg, "POST", e.up.URL()+"/people", RequestParams{GrantID: gid})
		require.ErrorIs(t, err, ErrRedactDischargeFailed, "a token call's body cannot be redacted")
	})
	t.Run("step up", func(t *testing.T) {
		rule, err := ContentMatchRule(ContentMatch{Families: []ContentMatchFamily{FamilyRead}, Effect: EffectStepUp, MaxSessionAge: time.Hour})
		require.NoError(t, err)
		c, err := e.app.WithConstraints(Constraints{Rule: &rule})
		require.NoError(t, err)
		_, err = c.Request(bg, "GET", e.up.URL()+"/me", RequestParams{GrantID: gid})
		var su *StepUpRequiredError
		require.ErrorAs(t, err, &su, "no end-user session")
		require.NotNil(t, su.MaxSessionAgeSeconds)
		require.Equal(t, 3600, *su.MaxSessionAgeSeconds)
		require.ErrorIs(t, err, ErrStepUpRequired)
		u := e.s.AddUser("ann")
		mine := e.s.AddOAuthGrant(vaulttest.OAuthGrant{Provider: "github", UserSub: "ann"})
		resp, err := c.Request(bg, "GET", e.up.URL()+"/me", RequestParams{GrantID: mine, UserToken: u.Token})
		require.NoError(t, err, "a fresh session")
		require.NoError(t, resp.Body.Close())
	})
}

func TestWithConstraintsLifecycle(t *testing.T) {
	e := newEnv(t)
	narrow, err := e.app.WithConstraints(Constraints{Scopes: []string{"grants:read", "identity:read"}})
	require.NoError(t, err)
	_, err = narrow.WithConstraints(Constraints{Scopes: []string{"grants:read"}})
	require.ErrorIs(t, err, ErrInvalidInput)
	require.ErrorContains(t, err, "already-constrained")

	bot := e.s.AddAgent("bot")
	ag, err := narrow.GetAgent(bot.ID)
	require.NoError(t, err)
	_, err = ag.Me(bg)
	require.NoError(t, err)
	last := e.s.Requests()[len(e.s.Requests())-1]
	require.Equal(t, "grants:read,identity:read", last.Header.Get(signing.HeaderScopeConstraints), "GetAgent keeps the constraints")
	_, err = ag.WithConstraints(Constraints{Scopes: []string{"identity:read"}})
	require.ErrorContains(t, err, "already-constrained")

	require.NoError(t, narrow.Close())
	_, err = narrow.ListGrants(bg, ListGrantsParams{})
	require.ErrorIs(t, err, ErrClosed)
	_, err = ag.Me(bg)
	require.ErrorIs(t, err, ErrClosed, "closing a client closes what was derived from it")
	_, err = e.app.ListGrants(bg, ListGrantsParams{})
	require.NoError(t, err, "a view's Close leaves its App open")

	other, err := e.app.WithConstraints(Constraints{Scopes: []string{"grants:read"}})
	require.NoError(t, err)
	require.NoError(t, e.app.Close())
	_, err = other.ListGrants(bg, ListGrantsParams{})
	require.ErrorIs(t, err, ErrClosed)
	_, err = e.app.WithConstraints(Constraints{Scopes: []string{"grants:read"}})
	require.ErrorIs(t, err, ErrClosed)
}

func TestAgentWithConstraints(t *testing.T) {
	e := newEnv(t)
	bot := e.s.AddAgent("bot")
	ag, err := NewAgent(bot.APIKey, WithBaseURL(e.s.URL()))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, ag.Close()) })
	_, err = ag.Me(bg)
	require.NoError(t, err)
	narrow, err := ag.WithConstraints(Constraints{Scopes: []string{"grants:read"}})
	require.NoError(t, err)
	require.Equal(t, ag.ActorID(), narrow.ActorID(), "the view starts with the parent's actor id")
	_, err = narrow.Me(bg)
	require.ErrorIs(t, err, ErrInsufficientScope)
	_, err = ag.Me(bg)
	require.NoError(t, err)
}

// A constrained client is as safe for concurrent use as its parent.
func TestWithConstraintsConcurrent(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 8 {
		wg.Go(func() {
			c, err := e.app.WithConstraints(Constraints{Scopes: []string{"grants:read"}})
			if err == nil {
				_, err = c.ListGrants(bg, ListGrantsParams{})
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// stripHeader removes one header from every request after the SDK signed it.
type stripHeader struct{ name string }

func (s stripHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Del(s.name)
	return http.DefaultTransport.RoundTrip(r)
}

// The attenuation headers are signed: a proxy on the way that strips one to widen the client
// gets the call refused, never run unconstrained.
func TestConstraintHeadersAreSigned(t *testing.T) {
	for _, name := range []string{signing.HeaderScopeConstraints, signing.HeaderRequestRule} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			app, err := NewApp(e.s.AppKey(), WithBaseURL(e.s.URL()), WithHTTPClient(&http.Client{Transport: stripHeader{name}}))
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, app.Close()) })
			rule, err := ContentMatchRule(ContentMatch{Families: []ContentMatchFamily{FamilyDelete}})
			require.NoError(t, err)
			narrow, err := app.WithConstraints(Constraints{Scopes: []string{"grants:read"}, Rule: &rule})
			require.NoError(t, err)
			_, err = narrow.ListGrants(bg, ListGrantsParams{})
			requireAPIError(t, err, 401, ErrorCodeInvalidSignature)
		})
	}
}

func requireAPIError(t *testing.T, err error, status int, code ErrorCode) {
	t.Helper()
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	require.Equal(t, status, ae.Status)
	require.Equal(t, code, ae.Code)
}
