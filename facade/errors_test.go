package facade

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/gen"
	"github.com/altersdk/alter-go/vaulttest"
)

// Each error class of the reference hierarchy, produced by the vault.
func TestVaultErrorClasses(t *testing.T) {
	e := newEnv(t, fastRetries)
	url := e.up.URL() + "/x"
	req := func(p RequestParams) error {
		resp, err := e.app.Request(bg, "GET", url, p)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	states := []struct {
		st       vaulttest.GrantState
		sentinel error
		code     string
		status   int
	}{
		{vaulttest.GrantExpired, ErrGrantExpired, "grant_expired", 410},
		{vaulttest.GrantRevoked, ErrGrantRevoked, "grant_revoked", 403},
		{vaulttest.GrantDeleted, ErrGrantDeleted, "grant_deleted", 410},
		{vaulttest.GrantCredentialRevoked, ErrCredentialRevoked, "credential_revoked", 403},
	}
	for _, tc := range states {
		t.Run(tc.code, func(t *testing.T) {
			gid, cred := e.grant(t, vaulttest.OAuthGrant{})
			e.s.SetGrantState(gid, tc.st)
			err := req(RequestParams{GrantID: gid})
			require.ErrorIs(t, err, tc.sentinel)
			require.ErrorIs(t, err, ErrReAuthRequired)
			require.ErrorIs(t, err, ErrBackend)
			var api *APIError
			require.ErrorAs(t, err, &api)
			require.Equal(t, tc.code, api.Code)
			require.Equal(t, tc.status, api.StatusCode)
			require.Equal(t, "retrieveCredential", api.Op)
			require.NotEmpty(t, api.RequestID)
			require.Equal(t, gid, api.Details.GrantID)
			require.Contains(t, err.Error(), tc.code)
			require.Contains(t, err.Error(), api.RequestID)
			noSecrets(t, err.Error(), cred, e.s.AppKey())
		})
	}

	t.Run("grant_not_found", func(t *testing.T) {
		err := req(RequestParams{GrantID: uuid.New()})
		require.ErrorIs(t, err, ErrGrantNotFound)
		require.ErrorIs(t, err, ErrNotFound)
		require.NotErrorIs(t, err, ErrReAuthRequired)
	})
	t.Run("policy_violation", func(t *testing.T) {
		gid, _ := e.grant(t, vaulttest.OAuthGrant{})
		e.s.SetGrantPolicy(gid, vaulttest.Policy{DenyReason: "outside business hours"})
		err := req(RequestParams{GrantID: gid})
		var pv *PolicyViolationError
		require.ErrorAs(t, err, &pv)
		require.Equal(t, "outside business hours", pv.PolicyError)
		require.ErrorIs(t, err, ErrPolicyViolation)
		var api *APIError
		require.ErrorAs(t, err, &api)
		require.Equal(t, 403, api.StatusCode)
	})
	t.Run("restricted_grant_requires_proxy", func(t *testing.T) {
		gid, _ := e.grant(t, vaulttest.OAuthGrant{})
		e.s.SetGrantPolicy(gid, vaulttest.Policy{RequireProxy: true})
		require.ErrorIs(t, req(RequestParams{GrantID: gid}), ErrRestrictedGrantRequiresProxy)
	})
	t.Run("token_refresh_in_progress is retried", func(t *testing.T) {
		gid, _ := e.grant(t, vaulttest.OAuthGrant{})
		e.s.SetGrantRefreshing(gid, 2)
		resp, err := e.app.Request(bg, "GET", url, RequestParams{GrantID: gid})
		require.NoError(t, err)
		resp.Body.Close()
		ri := resp.RetryInfo
		require.Equal(t, []int{409, 409, 200, 200}, statuses(ri))
		require.Equal(t, 2, ri.Retries())
		require.Equal(t, 5*time.Millisecond, ri.Attempts[1].Delay, "Retry-After 1 s capped by MaxRetryAfter")

		e.s.SetGrantRefreshing(gid, 5)
		err = req(RequestParams{GrantID: gid})
		require.ErrorIs(t, err, ErrTokenRefreshInProgress)
		var api *APIError
		require.ErrorAs(t, err, &api)
		require.Equal(t, time.Second, api.Details.RetryAfter)
		require.Len(t, e.app.LastRetryInfo().Attempts, 3)
	})
	t.Run("insufficient_scope", func(t *testing.T) {
		k := e.s.AddAppKey(vaulttest.KeyScopes("grants:read"))
		a, err := NewApp(k.APIKey, WithBaseURL(e.s.URL()))
		require.NoError(t, err)
		defer a.Close()
		gid, _ := e.grant(t, vaulttest.OAuthGrant{})
		_, err = a.Request(bg, "GET", url, RequestParams{GrantID: gid})
		require.ErrorIs(t, err, ErrInsufficientScope)
		noSecrets(t, err.Error(), k.APIKey)
	})
	t.Run("invalid_key", func(t *testing.T) {
		k := e.s.AddAppKey(vaulttest.KeyRevoked())
		a, err := NewApp(k.APIKey, WithBaseURL(e.s.URL()))
		require.NoError(t, err)
		defer a.Close()
		_, err = a.Request(bg, "GET", url, RequestParams{GrantID: uuid.New()})
		require.ErrorIs(t, err, ErrInvalidKey)
		noSecrets(t, err.Error(), k.APIKey)
	})
	t.Run("signature refused", func(t *testing.T) {
		s := vaulttest.NewTestServer(t, vaulttest.WithClock(func() time.Time { return time.Now().Add(time.Hour) }))
		a, err := NewApp(s.AppKey(), WithBaseURL(s.URL()))
		require.NoError(t, err)
		defer a.Close()
		_, err = a.Request(bg, "GET", url, RequestParams{GrantID: uuid.New()})
		require.ErrorIs(t, err, ErrInvalidSignature)
	})
	t.Run("me_requires_agent_key", func(t *testing.T) {
		_, err := e.app.c.do(bg, "getMe", nil, func(ctx context.Context, raw gen.ClientInterface) (*http.Response, error) {
			return raw.GetMe(ctx, nil)
		})
		require.ErrorIs(t, err, ErrMeRequiresAgentKey)
	})
	t.Run("non-JSON 502", func(t *testing.T) {
		gid, _ := e.grant(t, vaulttest.OAuthGrant{})
		e.s.InjectFault("retrieveCredential", vaulttest.Fault{NonJSON: true, Times: 3})
		err := req(RequestParams{GrantID: gid})
		var api *APIError
		require.ErrorAs(t, err, &api)
		require.Equal(t, 502, api.StatusCode)
		require.Empty(t, api.Code)
		require.ErrorIs(t, err, ErrUnexpectedResponse)
		require.ErrorIs(t, err, ErrServer)
		require.Contains(t, string(api.Body), "<")
		require.Len(t, e.app.LastRetryInfo().Attempts, 3, "502 is retried")
	})
	t.Run("malformed JSON", func(t *testing.T) {
		gid, _ := e.grant(t, vaulttest.OAuthGrant{})
		e.s.InjectFault("retrieveCredential", vaulttest.Fault{Malformed: true})
		err := req(RequestParams{GrantID: gid})
		require.ErrorIs(t, err, ErrUnexpectedResponse)
		var api *APIError
		require.ErrorAs(t, err, &api)
		require.Equal(t, 200, api.StatusCode)
	})
	t.Run("rate_limited then success", func(t *testing.T) {
		gid, _ := e.grant(t, vaulttest.OAuthGrant{})
		e.s.InjectFault("retrieveCredential", vaulttest.Fault{Status: 429, Code: "rate_limited", RetryAfter: time.Second})
		resp, err := e.app.Request(bg, "GET", url, RequestParams{GrantID: gid})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, []int{429, 200, 200}, statuses(resp.RetryInfo))
	})
	t.Run("rate_limited exhausted", func(t *testing.T) {
		gid, _ := e.grant(t, vaulttest.OAuthGrant{})
		e.s.InjectFault("retrieveCredential", vaulttest.Fault{Status: 429, Code: "rate_limited", Times: 3})
		require.ErrorIs(t, req(RequestParams{GrantID: gid}), ErrRateLimited)
	})
	t.Run("dropped connection is retried with the same idempotency key, re-signed", func(t *testing.T) {
		gid, _ := e.grant(t, vaulttest.OAuthGrant{})
		before := len(e.s.Requests())
		e.s.InjectFault("retrieveCredential", vaulttest.Fault{Drop: true})
		resp, err := e.app.Request(bg, "GET", url, RequestParams{GrantID: gid})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, []int{0, 200, 200}, statuses(resp.RetryInfo))
		require.Error(t, resp.RetryInfo.Attempts[0].Err)
		var keys, nonces []string
		for _, r := range e.s.Requests()[before:] {
			if r.Operation == "retrieveCredential" {
				keys = append(keys, r.Header.Get(hIdempotency))
				nonces = append(nonces, r.Header.Get("X-Alter-Nonce"))
			}
		}
		require.Len(t, keys, 2)
		require.Equal(t, keys[0], keys[1])
		require.NotEmpty(t, keys[0])
		require.NotEqual(t, nonces[0], nonces[1])
	})
	t.Run("dropped connection without retries", func(t *testing.T) {
		a, err := NewApp(e.s.AppKey(), WithBaseURL(e.s.URL()), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		require.NoError(t, err)
		defer a.Close()
		e.s.InjectFault("retrieveCredential", vaulttest.Fault{Drop: true})
		_, err = a.Request(bg, "GET", url, RequestParams{GrantID: uuid.New()})
		require.ErrorIs(t, err, ErrNetwork)
		require.NotErrorIs(t, err, ErrTimeout)
		var ne *NetworkError
		require.ErrorAs(t, err, &ne)
		require.Equal(t, "retrieveCredential", ne.Op)
	})
	t.Run("timeout", func(t *testing.T) {
		a, err := NewApp(e.s.AppKey(), WithBaseURL(e.s.URL()), WithTimeout(50*time.Millisecond))
		require.NoError(t, err)
		defer a.Close()
		e.s.InjectFault("retrieveCredential", vaulttest.Fault{Delay: time.Second})
		start := time.Now()
		_, err = a.Request(bg, "GET", url, RequestParams{GrantID: uuid.New()})
		require.ErrorIs(t, err, ErrTimeout)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), 900*time.Millisecond)
	})
	t.Run("caller cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(bg)
		cancel()
		_, err := e.app.Request(ctx, "GET", url, RequestParams{GrantID: uuid.New()})
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, ErrNetwork)
	})
}

func statuses(ri RetryInfo) []int {
	var out []int
	for _, a := range ri.Attempts {
		out = append(out, a.Status)
	}
	return out
}
