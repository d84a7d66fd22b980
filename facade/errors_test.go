package facade

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/altersdk/alter-go/gen"
)

// vaultCase is one row of the reference error tables: a vault answer and what it must become.
type vaultCase struct {
	name    string
	surface errorSurface
	status  int
	header  http.Header
	body    string
	is      []error // every class the error must match
	isNot   []error // classes it must not match
	msg     string  // expected Message ("" = not checked)
	check   func(t *testing.T, err error)
}

func body(code string, extra ...string) string {
	s := `{"detail":{"error":"` + code + `"`
	for _, e := range extra {
		s += "," + e
	}
	return s + "}}"
}

var allRoots = []error{ErrBackend, ErrConnectFlow, ErrProviderAPI, ErrNetwork, ErrApproval, ErrInvalidInput}

func runVaultCases(t *testing.T, cases []vaultCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			if h == nil {
				h = http.Header{}
			}
			err := decodeVaultError("op", tc.surface, tc.status, h, []byte(tc.body))
			require.Error(t, err)
			for _, target := range tc.is {
				assert.ErrorIs(t, err, target, "%v", target)
			}
			for _, target := range tc.isNot {
				assert.NotErrorIs(t, err, target, "%v", target)
			}
			if tc.msg != "" {
				assert.Equal(t, tc.msg, messageOf(err))
			}
			if tc.check != nil {
				tc.check(t, err)
			}
		})
	}
}

func messageOf(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Message
	}
	var pe *ProviderAPIError
	if errors.As(err, &pe) {
		return pe.Message
	}
	return ""
}

func asAPI(t *testing.T, err error) *APIError {
	t.Helper()
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	return ae
}

func TestSharedMapper403(t *testing.T) {
	runVaultCases(t, []vaultCase{
		{name: "insufficient_scope", status: 403,
			body: body("insufficient_scope", `"required":["a","b",3]`, `"granted":"x"`, `"missing":["b"]`,
				`"scope_version":4`, `"current_scope_version":5.0`, `"scope_version_mismatch":1`,
				`"required_any_of":true`, `"documentation_url":"https://d"`),
			is: []error{ErrInsufficientScope, ErrBackend}, isNot: []error{ErrPolicyViolation}, msg: "Insufficient scope",
			check: errAs(func(t *testing.T, e *InsufficientScopeError) {
				assert.Equal(t, []string{"a", "b"}, e.Required)
				assert.Equal(t, []string{}, e.Granted)
				assert.Equal(t, []string{"b"}, e.Missing)
				require.NotNil(t, e.ScopeVersion)
				assert.Equal(t, 4, *e.ScopeVersion)
				assert.Nil(t, e.CurrentScopeVersion, "an integral float is not an int")
				assert.False(t, e.ScopeVersionMismatch, "1 is not true")
				assert.True(t, e.RequiredAnyOf)
				assert.Equal(t, "https://d", e.DocumentationURL)
				assert.Equal(t, ErrorCodeInsufficientScope, e.Code)
				assert.Equal(t, 403, e.Status)
			})},
		{name: "grant_expired", status: 403,
			body: body("grant_expired", `"message":"ttl"`, `"provider_id":"github"`, `"agent_id":7`, `"app_user_id":"u"`,
				`"details":{"policy":"p","error":"nested"}`),
			is: []error{ErrGrantExpired, ErrReAuthRequired, ErrBackend}, msg: "ttl",
			check: errAs(func(t *testing.T, e *GrantExpiredError) {
				assert.Equal(t, "github", e.ProviderID)
				assert.Empty(t, e.AgentID, "a non-string is dropped")
				assert.Equal(t, "u", e.AppUserID)
				assert.Equal(t, "p", e.Details["policy"], "nested details merged")
				assert.Equal(t, "grant_expired", e.Details["error"], "the top level wins")
			})},
		{name: "grant_expired default message", status: 403, body: body("grant_expired", `"message":""`),
			msg: "Grant expired per TTL policy"},
		{name: "grant_revoked", status: 403, body: body("grant_revoked", `"grant_id":"g1"`),
			is: []error{ErrGrantRevoked, ErrReAuthRequired, ErrBackend}, msg: "Grant has been revoked. User must re-authorize.",
			check: errAs(func(t *testing.T, e *GrantRevokedError) {
				assert.Equal(t, "g1", e.GrantID)
			})},
		{name: "credential_revoked", status: 403, body: body("credential_revoked", `"grant_id":"g1"`, `"provider_id":"google"`, `"app_user_id":"u1"`),
			is: []error{ErrCredentialRevoked, ErrReAuthRequired, ErrBackend},
			check: errAs(func(t *testing.T, e *CredentialRevokedError) {
				assert.Equal(t, CredentialRevokedError{APIError: e.APIError, GrantID: "g1", ProviderID: "google", AppUserID: "u1"}, *e)
			})},
		{name: "restricted_grant_requires_proxy", status: 403, body: body("restricted_grant_requires_proxy"),
			is: []error{ErrRestrictedGrantRequiresProxy, ErrBackend}, isNot: []error{ErrPolicyViolation}},
		{name: "grant_not_delegable", status: 403, body: body("grant_not_delegable", `"detail_reason":"ceiling_off"`),
			is: []error{ErrGrantNotDelegable, ErrBackend},
			check: errAs(func(t *testing.T, e *GrantNotDelegableError) {
				assert.Equal(t, "ceiling_off", e.DetailReason)
			})},
		{name: "scope_mismatch is a provider error", status: 403,
			body: body("scope_mismatch", `"details":{"grant_id":"0b6f0f38-7c29-4a53-9a59-2f1f5b1e2d11","provider_id":"github"}`),
			is:   []error{ErrScopeReauthRequired, ErrProviderAPI}, isNot: []error{ErrBackend, ErrPolicyViolation},
			msg: "Grant is missing required scopes",
			check: func(t *testing.T, err error) {
				var e *ScopeReauthRequiredError
				require.ErrorAs(t, err, &e)
				assert.Equal(t, "backend_flag", e.Source)
				assert.Equal(t, "backend_flag", e.Details["source"])
				assert.Equal(t, 403, e.Status)
				assert.Equal(t, "github", e.ProviderID)
				assert.Equal(t, uuid.MustParse("0b6f0f38-7c29-4a53-9a59-2f1f5b1e2d11"), e.GrantID)
				var ae *APIError
				assert.False(t, errors.As(err, &ae))
			}},
		{name: "step_up_required", status: 403, body: body("step_up_required", `"max_session_age_seconds":300`),
			is: []error{ErrStepUpRequired, ErrPolicyViolation, ErrBackend},
			check: func(t *testing.T, err error) {
				var e *StepUpRequiredError
				require.ErrorAs(t, err, &e)
				require.NotNil(t, e.MaxSessionAgeSeconds)
				assert.Equal(t, 300, *e.MaxSessionAgeSeconds)
				assert.Equal(t, "step_up_required", e.PolicyError)
				var pv *PolicyViolationError
				require.ErrorAs(t, err, &pv)
			}},
		{name: "step_up_required bool age", status: 403, body: body("step_up_required", `"max_session_age_seconds":true`),
			check: errAs(func(t *testing.T, e *StepUpRequiredError) {
				assert.Nil(t, e.MaxSessionAgeSeconds)
			})},
		{name: "redact_discharge_failed", status: 403, body: body("redact_discharge_failed"),
			is: []error{ErrRedactDischargeFailed, ErrPolicyViolation, ErrBackend}, isNot: []error{ErrStepUpRequired},
			check: func(t *testing.T, err error) {
				var e *RedactDischargeFailedError
				require.ErrorAs(t, err, &e)
				assert.Equal(t, "redact_discharge_failed", e.PolicyError)
				var pv *PolicyViolationError
				require.ErrorAs(t, err, &pv)
				assert.Equal(t, "&facade.RedactDischargeFailedError{", fmt.Sprintf("%#v", err)[:35])
			}},
		{name: "other 403", status: 403, body: body("ip_not_allowed", `"details":{"rule":"r"}`),
			is: []error{ErrPolicyViolation, ErrBackend}, isNot: []error{ErrStepUpRequired}, msg: "Access denied by policy",
			check: errAs(func(t *testing.T, e *PolicyViolationError) {
				assert.Equal(t, "ip_not_allowed", e.PolicyError)
				assert.Equal(t, "r", e.Details["rule"])
			})},
		{name: "403 without code", status: 403, body: `{"message":"no"}`, is: []error{ErrPolicyViolation}, msg: "no"},
	})
}

func TestSharedMapper409(t *testing.T) {
	var cases []vaultCase
	for _, code := range []string{"managed_oauth_scope_approval_required", "idp_signin_not_configured", "no_eligible_grants",
		"binding_hosts_required", "provider_contract_repair_required"} {
		cases = append(cases, vaultCase{name: code, status: 409, body: body(code),
			is: []error{ErrConnectConfig, ErrConnectFlow}, isNot: []error{ErrBackend},
			check: errAs(func(t *testing.T, e *ConnectError) {
				assert.Equal(t, 409, e.Status)
			})})
	}
	cases = append(cases,
		vaultCase{name: "token_refresh_in_progress", status: 409, body: body("token_refresh_in_progress", `"grant_id":"g"`),
			is: []error{ErrTokenRefreshInProgress, ErrBackend},
			check: errAs(func(t *testing.T, e *TokenRefreshInProgressError) {
				assert.Equal(t, "g", e.GrantID)
			})},
		vaultCase{name: "ambiguous_grant", status: 409,
			body: body("ambiguous_grant", `"provider_id":"github"`, `"account_identifiers":["a@x",1]`, `"app_user_ids":["u"]`,
				`"grant_ids":["g1","g2"]`, `"account_was_provided":"true"`, `"candidates_truncated":true`,
				`"candidates":[{"grant_id":"g1","label":"work","account_identifier":"a@x","account_display_name":"A"},{"grant_id":2},"x",{"grant_id":"g2","label":5}]`),
			is: []error{ErrAmbiguousGrant, ErrBackend},
			check: errAs(func(t *testing.T, e *AmbiguousGrantError) {
				assert.Equal(t, "github", e.ProviderID)
				assert.Equal(t, []string{"a@x"}, e.AccountIdentifiers)
				assert.Equal(t, []string{"u"}, e.AppUserIDs)
				assert.Equal(t, []string{"g1", "g2"}, e.GrantIDs)
				assert.False(t, e.AccountWasProvided, `"true" is not true`)
				assert.True(t, e.CandidatesTruncated)
				assert.Equal(t, []GrantCandidate{{GrantID: "g1", Label: "work", AccountIdentifier: "a@x", AccountDisplayName: "A"}, {GrantID: "g2"}}, e.Candidates)
			})},
		vaultCase{name: "sibling_label_conflict", status: 409, body: body("sibling_label_conflict", `"label":"work"`),
			is: []error{ErrSiblingLabelConflict, ErrBackend},
			check: errAs(func(t *testing.T, e *SiblingLabelConflictError) {
				assert.Equal(t, "work", e.Label)
			})},
		vaultCase{name: "credential_id_required", status: 409,
			body: body("credential_id_required", `"details":{"credentials":[{"id":"c1","label":"prod"},{"id":"c2"},7]}`),
			is:   []error{ErrCredentialIDRequired, ErrBackend},
			check: errAs(func(t *testing.T, e *CredentialIDRequiredError) {
				assert.Equal(t, []CredentialChoice{{ID: "c1", Label: "prod"}}, e.Credentials)
			})},
		vaultCase{name: "end_user_credential_not_assignable", status: 409, body: body("end_user_credential_not_assignable"),
			is: []error{ErrEndUserCredentialNotAssignable, ErrBackend}},
		vaultCase{name: "no_delegated_grant 409", status: 409, body: body("no_delegated_grant", `"provider_id":"github"`, `"agent_id":"a"`, `"app_user_id":"u"`),
			is: []error{ErrNoDelegatedGrant, ErrBackend},
			check: errAs(func(t *testing.T, e *NoDelegatedGrantError) {
				assert.Equal(t, []string{"github", "a", "u"}, []string{e.ProviderID, e.AgentID, e.AppUserID})
			})},
		vaultCase{name: "other 409", status: 409, body: body("identity_provider_inactive"), is: []error{ErrBackend},
			isNot: []error{ErrConnectFlow, ErrAgent}, msg: "Conflict (HTTP 409)"},
		vaultCase{name: "410 any", status: 410, body: `oops`, is: []error{ErrGrantDeleted, ErrReAuthRequired, ErrBackend},
			msg: "Backend returned a non-JSON error (HTTP 410)"},
		vaultCase{name: "410 json", status: 410, body: `{}`, is: []error{ErrGrantDeleted},
			msg: "Grant has been deleted. A new grant_id will be issued on re-authorization."},
	)
	runVaultCases(t, cases)
}

func TestSharedMapper404And400And401(t *testing.T) {
	runVaultCases(t, []vaultCase{
		{name: "404 no_delegated_grant", status: 404, body: body("no_delegated_grant"), is: []error{ErrNoDelegatedGrant},
			isNot: []error{ErrGrantNotFound}},
		{name: "404 caller_agent_unresolved", status: 404, body: body("caller_agent_unresolved", `"hint":"h"`),
			is: []error{ErrAgentNotFound, ErrAgent, ErrBackend}, msg: "caller does not name an active managed agent for this app",
			check: func(t *testing.T, err error) { assert.Equal(t, "h", asAPI(t, err).Hint) }},
		{name: "404 agent_not_found", status: 404, body: body("agent_not_found"), is: []error{ErrAgentNotFound, ErrAgent}},
		{name: "404 secret_not_found", status: 404, body: body("secret_not_found"), is: []error{ErrConnectConfig, ErrConnectFlow},
			isNot: []error{ErrBackend}},
		{name: "404 grant_not_found", status: 404, body: body("grant_not_found", `"provider_id":"github"`),
			is: []error{ErrGrantNotFound, ErrBackend}, isNot: []error{ErrAgentDelegationMissing},
			msg: "OAuth grant not found for the given grant_id",
			check: errAs(func(t *testing.T, e *GrantNotFoundError) {
				assert.Equal(t, "github", e.ProviderID)
			})},
		{name: "404 other", status: 404, body: body("provider_spec_not_found"), is: []error{ErrGrantNotFound}},
		{name: "404 html", status: 404, body: "<html>nope</html>", is: []error{ErrGrantNotFound},
			check: func(t *testing.T, err error) {
				assert.Equal(t, map[string]any{"message": "Backend returned a non-JSON error (HTTP 404)", "status_code": 404}, asAPI(t, err).Details)
			}},
		{name: "400 caller_agent_mismatch", status: 400, body: body("caller_agent_mismatch"), is: []error{ErrCallerAgentMismatch, ErrAgent}},
		{name: "502 caller_agent_mismatch", status: 502, body: body("caller_agent_mismatch"), is: []error{ErrCallerAgentMismatch}},
		{name: "400 grant_revoked", status: 400, body: body("grant_revoked"), is: []error{ErrGrantRevoked, ErrReAuthRequired}},
		{name: "502 credential_revoked", status: 502, body: body("credential_revoked"), is: []error{ErrCredentialRevoked}},
		{name: "400 restricted", status: 400, body: body("restricted_grant_requires_proxy"), is: []error{ErrRestrictedGrantRequiresProxy}},
		{name: "400 delegated", status: 400, body: body("delegated_grant_requires_proxy"), is: []error{ErrRestrictedGrantRequiresProxy}},
		{name: "502 hitl", status: 502, body: body("hitl_grant_requires_proxy"), is: []error{ErrRestrictedGrantRequiresProxy}},
		{name: "400 user_limits", status: 400, body: body("user_limits_require_proxy"), is: []error{ErrRestrictedGrantRequiresProxy}},
		{name: "400 other", status: 400, body: body("invalid_scope_constraint"), is: []error{ErrBackend},
			isNot: []error{ErrRestrictedGrantRequiresProxy}, msg: "Backend error 400",
			check: func(t *testing.T, err error) { assert.Equal(t, ErrorCodeInvalidScopeConstraint, asAPI(t, err).Code) }},
		{name: "401 jwt_validation_error", status: 401, body: body("jwt_validation_error"), is: []error{ErrReAuthRequired, ErrBackend},
			isNot: []error{ErrGrantExpired}, msg: "user_token validation failed"},
		{name: "401 invalid_key", status: 401, body: body("invalid_key", `"hint":"rotate"`), is: []error{ErrInvalidKey, ErrAgent, ErrBackend},
			msg: "Invalid API key", check: func(t *testing.T, err error) { assert.Equal(t, "rotate", asAPI(t, err).Hint) }},
		{name: "401 key_revoked", status: 401, body: body("key_revoked"), is: []error{ErrKeyRevoked}, isNot: []error{ErrKeyAlreadyRevoked}},
		{name: "401 key_expired", status: 401, body: body("key_expired"), is: []error{ErrKeyExpired}},
		{name: "401 key_rotated_grace_expired", status: 401, body: body("key_rotated_grace_expired"), is: []error{ErrKeyRotationExpired}},
		{name: "401 key_not_active", status: 401, body: body("key_not_active"), is: []error{ErrKeyInactive}},
		{name: "401 agent_inactive", status: 401, body: body("agent_inactive"), is: []error{ErrAgentInactive, ErrAgent}},
		{name: "401 agent_revoked", status: 401, body: body("agent_revoked"), is: []error{ErrAgentRevoked, ErrAgent}},
		{name: "401 signature", status: 401, body: body("invalid_signature"), is: []error{ErrBackend}, isNot: []error{ErrAgent},
			msg: "Unauthorized — check your API key"},
	})
}

func TestSharedMapper429And5xxAndOthers(t *testing.T) {
	runVaultCases(t, []vaultCase{
		{name: "429 html", status: 429, header: http.Header{"Retry-After": {"7"}}, body: "<html>slow down</html>",
			is:  []error{ErrRateLimit, ErrBackend},
			msg: "Rate limited by an intermediary (HTTP 429 with a non-JSON body); retry after the indicated delay.",
			check: errAs(func(t *testing.T, e *RateLimitError) {
				assert.Equal(t, map[string]any{"status_code": 429}, e.Details)
				assert.Equal(t, 7*time.Second, e.RetryAfter)
				assert.Nil(t, e.Limit)
				assert.Nil(t, e.WindowSeconds)
				assert.Empty(t, e.Scope)
			})},
		{name: "429 empty body", status: 429, body: "", is: []error{ErrRateLimit},
			check: func(t *testing.T, err error) { assert.Zero(t, asAPI(t, err).RetryAfter) }},
		{name: "429 html ignores body retry", status: 429, body: `{"retry_after":5`, is: []error{ErrRateLimit},
			check: func(t *testing.T, err error) { assert.Zero(t, asAPI(t, err).RetryAfter) }},
		{name: "429 quota", status: 429, body: body("quota_exceeded", `"retry_after":99999999`),
			is: []error{ErrQuotaExceeded, ErrBackend}, isNot: []error{ErrRateLimit},
			check: errAs(func(t *testing.T, e *QuotaExceededError) {
				assert.Equal(t, 2678400*time.Second, e.RetryAfter)
			})},
		{name: "429 quota header wins", status: 429, header: http.Header{"Retry-After": {"120"}}, body: body("quota_exceeded", `"retry_after":5`),
			check: func(t *testing.T, err error) { assert.Equal(t, 120*time.Second, asAPI(t, err).RetryAfter) }},
		{name: "429 rate limit", status: 429, body: body("rate_limit_exceeded", `"retry_after":99999`, `"scope":"app"`, `"limit":100`, `"window_seconds":60.0`),
			is: []error{ErrRateLimit, ErrBackend}, isNot: []error{ErrQuotaExceeded},
			msg: "Rate limit exceeded — retry after the window resets.",
			check: errAs(func(t *testing.T, e *RateLimitError) {
				assert.Equal(t, 3600*time.Second, e.RetryAfter)
				assert.Equal(t, RateLimitScope("app"), e.Scope)
				require.NotNil(t, e.Limit)
				assert.Equal(t, 100, *e.Limit)
				require.NotNil(t, e.WindowSeconds)
				assert.Equal(t, 60, *e.WindowSeconds)
			})},
		{name: "429 rate limit header 00060", status: 429, header: http.Header{"Retry-After": {"00060"}}, body: body("rate_limit_exceeded", `"retry_after":5`),
			check: func(t *testing.T, err error) { assert.Equal(t, 60*time.Second, asAPI(t, err).RetryAfter) }},
		{name: "429 rate limit bad numbers", status: 429, header: http.Header{"Retry-After": {"+5"}},
			body: body("rate_limit_exceeded", `"retry_after":true`, `"limit":-1`, `"window_seconds":60.5`, `"scope":1`),
			check: errAs(func(t *testing.T, e *RateLimitError) {
				assert.Zero(t, e.RetryAfter)
				assert.Nil(t, e.Limit)
				assert.Nil(t, e.WindowSeconds)
				assert.Empty(t, e.Scope)
			})},
		{name: "429 other", status: 429, body: body("billing_quota_exceeded"), is: []error{ErrBackend},
			isNot: []error{ErrRateLimit, ErrQuotaExceeded}, msg: "Unexpected backend error (HTTP 429)"},
		{name: "503 caller_agent_resolution_error", status: 503, header: http.Header{"Retry-After": {"2"}},
			body: body("caller_agent_resolution_error"), is: []error{ErrCallerAgentResolution, ErrAgent, ErrBackend},
			check: func(t *testing.T, err error) {
				e := asAPI(t, err)
				assert.Equal(t, 2, e.Details["retry_after_seconds"])
				assert.Equal(t, 2*time.Second, e.RetryAfter)
			}},
		{name: "500 app_not_found_for_key", status: 500, body: body("app_not_found_for_key"), is: []error{ErrKeyAppNotFound, ErrAgent},
			check: func(t *testing.T, err error) {
				_, ok := asAPI(t, err).Details["retry_after_seconds"]
				assert.False(t, ok)
			}},
		{name: "503 other", status: 503, header: http.Header{"Retry-After": {"Wed, 21 Oct 2026 07:28:00 GMT"}}, body: "bad gateway",
			is: []error{ErrBackend}, msg: "Backend returned a non-JSON error (HTTP 503)"},
		{name: "503 json", status: 503, body: `{}`, msg: "Backend unavailable (HTTP 503)"},
		{name: "422 secret_template_mismatch", status: 422, body: body("secret_template_mismatch"), is: []error{ErrConnectConfig}, isNot: []error{ErrBackend}},
		{name: "422 blocked_destination", status: 422, header: http.Header{"X-Request-Id": {"req-9"}},
			body: body("blocked_destination", `"message":"internal detail"`), is: []error{ErrBlockedDestination, ErrBackend},
			msg: "Destination is not permitted. Check the provider host and URL.",
			check: func(t *testing.T, err error) {
				e := asAPI(t, err)
				assert.Equal(t, "req-9", e.Details["request_id"])
				assert.Equal(t, "req-9", e.RequestID)
			}},
		{name: "504 other", status: 504, body: body("timeout_reason"), is: []error{ErrBackend}, isNot: []error{ErrTimeout},
			msg: "Unexpected backend error (HTTP 504)"},
		{name: "402 grant_limit_exceeded", status: 402, body: body("grant_limit_exceeded", `"message":"limit"`), msg: "limit",
			check: func(t *testing.T, err error) { assert.Equal(t, ErrorCodeGrantLimitExceeded, asAPI(t, err).Code) }},
		{name: "unknown code kept verbatim", status: 418, body: `{"error":"brand_new_code"}`, is: []error{ErrBackend},
			check: func(t *testing.T, err error) { assert.Equal(t, ErrorCode("brand_new_code"), asAPI(t, err).Code) }},
	})
}

func TestErrorBodyShapes(t *testing.T) {
	h := http.Header{"X-Request-Id": {"rid"}}
	cases := []struct {
		name    string
		body    string
		details map[string]any
		message string
	}{
		{"detail object unwrapped", `{"detail":{"error":"x","message":"m","n":3,"f":1.5}}`,
			map[string]any{"error": "x", "message": "m", "n": 3, "f": 1.5, "status_code": 409}, "m"},
		{"top-level object", `{"error":"x","message":"m"}`, map[string]any{"error": "x", "message": "m", "status_code": 409}, "m"},
		{"detail list kept", `{"detail":[{"loc":["body"]}]}`,
			map[string]any{"detail": []any{map[string]any{"loc": []any{"body"}}}, "status_code": 409}, "Conflict (HTTP 409)"},
		{"detail text kept", `{"detail":"nope"}`, map[string]any{"detail": "nope", "status_code": 409}, "Conflict (HTTP 409)"},
		{"non-object JSON", `[1,2]`, map[string]any{"message": "Unknown error", "status_code": 409}, "Unknown error"},
		{"JSON string", `"x"`, map[string]any{"message": "Unknown error", "status_code": 409}, "Unknown error"},
		{"truncated JSON", `{"detail":{"error":"x"`, map[string]any{"message": "Backend returned a non-JSON error (HTTP 409)", "status_code": 409},
			"Backend returned a non-JSON error (HTTP 409)"},
		{"trailing garbage", `{"error":"x"} <html>`, map[string]any{"message": "Backend returned a non-JSON error (HTTP 409)", "status_code": 409},
			"Backend returned a non-JSON error (HTTP 409)"},
		{"non-string message", `{"error":"x","message":{"a":1}}`, map[string]any{"error": "x", "message": map[string]any{"a": 1}, "status_code": 409},
			"Conflict (HTTP 409)"},
		{"status_code overwritten", `{"status_code":"fake"}`, map[string]any{"status_code": 409}, "Conflict (HTTP 409)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeVaultError("op", surfaceShared, 409, h, []byte(tc.body))
			e := asAPI(t, err)
			assert.Equal(t, tc.details, e.Details)
			assert.Equal(t, tc.message, e.Message)
			assert.Equal(t, "rid", e.RequestID)
			assert.Equal(t, 409, e.Status)
		})
	}
}

func TestRetryAfterResolution(t *testing.T) {
	cases := []struct {
		header string
		body   any
		limit  int
		want   int
		ok     bool
	}{
		{"00060", nil, 3600, 60, true},
		{"0000", nil, 3600, 0, true},
		{" 30 ", 5, 3600, 30, true},
		{"+5", 5, 3600, 5, true},
		{"1.5", nil, 3600, 0, false},
		{"Wed, 21 Oct 2026 07:28:00 GMT", 9, 3600, 9, true},
		{strings.Repeat("9", 5000), nil, 3600, 3600, true},
		{"", 99999, 3600, 3600, true},
		{"", 99999999, 2678400, 2678400, true},
		{"", 60.0, 3600, 60, true},
		{"", 60.5, 3600, 0, false},
		{"", -1, 3600, 0, false},
		{"", true, 3600, 0, false},
		{"", "60", 3600, 0, false},
		{"", 1e300, 3600, 3600, true},
		{"٣", nil, 3600, 0, false},
	}
	for _, tc := range cases {
		n, ok := retryAfterSeconds(tc.header, tc.body, tc.limit)
		assert.Equal(t, tc.ok, ok, "%q %v", tc.header, tc.body)
		assert.Equal(t, tc.want, n, "%q %v", tc.header, tc.body)
	}
}

func TestAgentsMapper(t *testing.T) {
	runVaultCases(t, []vaultCase{
		{name: "key_revoked 409", surface: surfaceAgents, status: 409, body: body("key_revoked"),
			is: []error{ErrKeyAlreadyRevoked, ErrAgent, ErrBackend}, isNot: []error{ErrKeyRevoked}},
		{name: "key_revoked 401", surface: surfaceAgents, status: 401, body: body("key_revoked"),
			is: []error{ErrKeyRevoked}, isNot: []error{ErrKeyAlreadyRevoked}},
		{name: "agent_concurrent_update 409", surface: surfaceAgents, status: 409, body: body("agent_concurrent_update", `"hint":"retry"`),
			is:    []error{ErrAgentConcurrentUpdate, ErrAgent},
			check: func(t *testing.T, err error) { assert.Equal(t, "retry", asAPI(t, err).Hint) }},
		{name: "agent_concurrent_update 400", surface: surfaceAgents, status: 400, body: body("agent_concurrent_update"),
			is: []error{ErrBackend}, isNot: []error{ErrAgentConcurrentUpdate, ErrAgent}},
		{name: "insufficient_scope any status", surface: surfaceAgents, status: 401, body: body("insufficient_scope", `"missing":["agents:write"]`),
			is: []error{ErrInsufficientScope},
			check: errAs(func(t *testing.T, e *InsufficientScopeError) {
				assert.Equal(t, []string{"agents:write"}, e.Missing)
			})},
		{name: "429 html", surface: surfaceAgents, status: 429, header: http.Header{"Retry-After": {"3"}}, body: "<p>",
			is: []error{ErrRateLimit},
			check: func(t *testing.T, err error) {
				e := asAPI(t, err)
				assert.Equal(t, map[string]any{"status_code": 429}, e.Details)
				assert.Equal(t, 3*time.Second, e.RetryAfter)
			}},
		{name: "rate_limit_exceeded any status", surface: surfaceAgents, status: 503, body: body("rate_limit_exceeded", `"retry_after":99999`),
			is:    []error{ErrRateLimit},
			check: func(t *testing.T, err error) { assert.Equal(t, time.Hour, asAPI(t, err).RetryAfter) }},
		{name: "503 retry_after_seconds", surface: surfaceAgents, status: 503, header: http.Header{"Retry-After": {"4"}}, body: body("caller_agent_resolution_error"),
			is:    []error{ErrCallerAgentResolution},
			check: func(t *testing.T, err error) { assert.Equal(t, 4, asAPI(t, err).Details["retry_after_seconds"]) }},
		{name: "non-JSON 500", surface: surfaceAgents, status: 500, body: "<html>", is: []error{ErrBackend}, isNot: []error{ErrAgent},
			msg: "Backend error 500",
			check: func(t *testing.T, err error) {
				assert.Equal(t, map[string]any{"status_code": 500}, asAPI(t, err).Details)
			}},
		{name: "unknown", surface: surfaceAgents, status: 404, body: body("grant_not_found"), is: []error{ErrBackend},
			isNot: []error{ErrGrantNotFound}, msg: "Backend error 404"},
		{name: "empty message", surface: surfaceAgents, status: 409, body: body("agent_name_exists", `"message":""`),
			is: []error{ErrAgentNameExists}, msg: "Backend error 409"},
	})
	table := map[string]error{
		"invalid_key": ErrInvalidKey, "agent_not_found": ErrAgentNotFound, "caller_agent_unresolved": ErrAgentNotFound,
		"caller_agent_mismatch": ErrCallerAgentMismatch, "caller_agent_resolution_error": ErrCallerAgentResolution,
		"agent_name_exists": ErrAgentNameExists, "me_requires_agent_key": ErrMeRequiresAgentKey, "key_revoked": ErrKeyRevoked,
		"key_expired": ErrKeyExpired, "key_rotated_grace_expired": ErrKeyRotationExpired, "key_not_active": ErrKeyInactive,
		"app_not_found_for_key": ErrKeyAppNotFound, "key_not_found": ErrKeyNotFound, "last_active_key": ErrLastActiveKey,
		"agent_key_limit_reached": ErrAgentKeyLimit, "agent_inactive": ErrAgentInactive, "agent_revoked": ErrAgentRevoked,
		"idempotency_key_body_mismatch": ErrIdempotencyKeyBodyMismatch, "idempotency_key_agent_revoked": ErrIdempotencyKeyAgentRevoked,
		"idempotency_key_agent_inactive": ErrIdempotencyKeyAgentInactive, "agent_cannot_mint_subagents": ErrAgentCannotMintSubagents,
	}
	for code, want := range table {
		err := decodeVaultError("op", surfaceAgents, 400, nil, []byte(`{"error":"`+code+`","message":"m","hint":"h"}`))
		assert.ErrorIs(t, err, want, code)
		assert.ErrorIs(t, err, ErrAgent, code)
		assert.ErrorIs(t, err, ErrBackend, code)
		e := asAPI(t, err)
		assert.Equal(t, "h", e.Hint, code)
		assert.Equal(t, "m", e.Message, code)
	}
}

func TestProxySurface(t *testing.T) {
	runVaultCases(t, []vaultCase{
		{name: "approval_denied", surface: surfaceProxy, status: 403, body: body("approval_denied", `"message":"no way"`, `"approval_id":"ap1"`),
			is: []error{ErrApprovalDenied, ErrApproval}, isNot: []error{ErrBackend, ErrPolicyViolation}, msg: "no way",
			check: errAs(func(t *testing.T, e *ApprovalError) {
				assert.Equal(t, "ap1", e.ApprovalID)
				assert.Equal(t, 403, e.Details["status_code"])
			})},
		{name: "approval_expired top level", surface: surfaceProxy, status: 410, body: `{"error":"approval_expired"}`,
			is: []error{ErrApprovalExpired, ErrApproval}, isNot: []error{ErrGrantDeleted}, msg: "/sdk/proxy returned 410"},
		{name: "approval_execution_failed", surface: surfaceProxy, status: 502, body: body("approval_execution_failed"),
			is: []error{ErrApprovalExecutionFailed, ErrApproval}, isNot: []error{ErrBackend}},
		{name: "falls back to shared", surface: surfaceProxy, status: 404, body: body("grant_not_found"),
			is: []error{ErrGrantNotFound}, isNot: []error{ErrApproval},
			check: func(t *testing.T, err error) { assert.Equal(t, 404, asAPI(t, err).Details["status_code"]) }},
		{name: "shared policy", surface: surfaceProxy, status: 403, body: body("method_not_allowed"), is: []error{ErrPolicyViolation}},
		{name: "relayed 429", surface: surfaceProxy, status: 429, body: body("upstream_rate_limited"), is: []error{ErrBackend}, isNot: []error{ErrRateLimit}},
		{name: "html", surface: surfaceProxy, status: 500, body: "<html>", is: []error{ErrBackend}},
	})
}

func TestApprovalPollUntyped(t *testing.T) {
	err := approvalPollError("getApprovalStatus", "/sdk/approvals/ap1?wait=4", 403, nil,
		[]byte(body("insufficient_scope", `"message":"needs approvals:read"`, `"missing":["approvals:read"]`)))
	e := asAPI(t, err)
	assert.Equal(t, "GET /sdk/approvals/ap1?wait=4 returned 403 (insufficient_scope: needs approvals:read)", e.Message)
	assert.Equal(t, map[string]any{"status_code": 403, "error": "insufficient_scope"}, e.Details)
	assert.ErrorIs(t, err, ErrBackend)
	assert.NotErrorIs(t, err, ErrInsufficientScope)
	var is *InsufficientScopeError
	assert.False(t, errors.As(err, &is))

	err = decodeVaultError("getApprovalStatus", surfaceApprovalPoll, 404, nil, []byte(`{"error":"approval_not_found"}`))
	assert.Equal(t, "GET /sdk/approvals/{approval_id} returned 404 (approval_not_found)", asAPI(t, err).Message)
	err = decodeVaultError("getApprovalStatus", surfaceApprovalPoll, 500, nil, []byte(`<html>`))
	assert.Equal(t, "GET /sdk/approvals/{approval_id} returned 500", asAPI(t, err).Message)
	assert.Equal(t, map[string]any{"status_code": 500}, asAPI(t, err).Details)
	err = decodeVaultError("getApprovalStatus", surfaceApprovalPoll, 503, nil, []byte(`{"error":"x","message":7}`))
	assert.Equal(t, "GET /sdk/approvals/{approval_id} returned 503 (x)", asAPI(t, err).Message)
}

// errAs is a case check that err is an E, then check on it.
func errAs[E error](check func(*testing.T, E)) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var e E
		require.ErrorAs(t, err, &e)
		check(t, e)
	}
}

func TestAsAgentDelegationMissing(t *testing.T) {
	nf := decodeVaultError("proxyRequest", surfaceProxy, 404, nil, []byte(body("grant_not_found", `"provider_id":"github"`)))
	err := asAgentDelegationMissing(nf)
	for _, target := range []error{ErrAgentDelegationMissing, ErrGrantNotFound, ErrBackend} {
		assert.ErrorIs(t, err, target)
	}
	var e *GrantNotFoundError
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "github", e.ProviderID)
	assert.Contains(t, e.Message, "delegat")
	assert.NotErrorIs(t, nf, ErrAgentDelegationMissing, "the original is not changed")

	other := decodeVaultError("op", surfaceShared, 404, nil, []byte(body("no_delegated_grant")))
	assert.Same(t, other, asAgentDelegationMissing(other))
	assert.Nil(t, asAgentDelegationMissing(nil))
}

func TestConnectPollErrors(t *testing.T) {
	cases := []struct {
		code   string
		is     []error
		isNot  []error
		status int
	}{
		{"connect_denied", []error{ErrConnectDenied, ErrConnectFlow}, []error{ErrBackend, ErrConnectConfig}, 0},
		{"connect_config_error", []error{ErrConnectConfig, ErrConnectFlow}, []error{ErrBackend}, 0},
		{"invalid_redirect_uri", []error{ErrConnectConfig}, nil, 0},
		{"invalid_client", []error{ErrConnectConfig}, nil, 0},
		{"unauthorized_client", []error{ErrConnectConfig}, nil, 0},
		{"provider_configuration_unavailable", []error{ErrConnectConfig}, nil, 0},
		{"shared_dev_credential_unavailable", []error{ErrConnectConfig}, nil, 0},
		{"managed_oauth_scope_approval_required", []error{ErrConnectConfig}, nil, 0},
		{"service_unavailable", []error{ErrBackend}, []error{ErrConnectFlow}, 503},
		{"identity_provider_inactive", []error{ErrBackend}, []error{ErrConnectFlow}, 409},
		{"identity_group_name_ambiguous", []error{ErrBackend}, []error{ErrConnectFlow}, 409},
		{"provider_error", []error{ErrConnectFlow}, []error{ErrBackend, ErrConnectDenied, ErrConnectConfig, ErrConnectTimeout}, 0},
	}
	for _, tc := range cases {
		err := connectPollError("pollConnectSession", tc.code, "msg "+tc.code, 5*time.Second)
		for _, target := range tc.is {
			assert.ErrorIs(t, err, target, tc.code)
		}
		for _, target := range tc.isNot {
			assert.NotErrorIs(t, err, target, tc.code)
		}
		e := asAPI(t, err)
		assert.Equal(t, tc.status, e.Status, tc.code)
		assert.Equal(t, "msg "+tc.code, e.Message)
		assert.Equal(t, ErrorCode(tc.code), e.Code)
		assert.Equal(t, 5, e.Details["retry_after_seconds"])
		assert.Equal(t, tc.code, e.Details["error_code"])
		assert.Equal(t, 5*time.Second, e.RetryAfter)
	}
	noWait := connectPollError("pollConnectSession", "connect_denied", "m", 0)
	_, ok := asAPI(t, noWait).Details["retry_after_seconds"]
	assert.False(t, ok)
}

func TestAuthPollErrors(t *testing.T) {
	err := authPollError("pollAuthSession", "idp_error", "", 0)
	assert.ErrorIs(t, err, ErrConnectFlow)
	assert.NotErrorIs(t, err, ErrBackend)
	assert.Equal(t, "Authentication failed: unknown error", asAPI(t, err).Message)
	err = authPollError("pollAuthSession", "service_unavailable", "busy", 3*time.Second)
	assert.ErrorIs(t, err, ErrBackend)
	assert.Equal(t, 503, asAPI(t, err).Status)
	assert.Equal(t, 3, asAPI(t, err).Details["retry_after_seconds"])
	err = authPollError("pollAuthSession", "identity_group_name_ambiguous", "dup", 0)
	assert.Equal(t, 409, asAPI(t, err).Status)
}

func TestConnectTimeoutAndFlow(t *testing.T) {
	err := connectTimeoutError("connect", "session_expired", "expired", 0, nil)
	for _, target := range []error{ErrConnectTimeout, ErrConnectFlow, ErrTimeout, context.DeadlineExceeded} {
		assert.ErrorIs(t, err, target)
	}
	assert.NotErrorIs(t, err, ErrNetwork)
	assert.NotErrorIs(t, err, ErrBackend)
	var ce *ConnectError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "session_expired", ce.Reason)
	assert.Equal(t, "session_expired", ce.Details["reason"])

	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-ctx.Done()
	err = connectTimeoutError("authenticate", "poll_deadline_elapsed", "deadline", 0, ctx.Err())
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, ErrTimeout)

	err = connectTimeoutError("connect", "rate_limited", "limited", 9*time.Second, nil)
	assert.Equal(t, 9*time.Second, asAPI(t, err).RetryAfter)

	flow := connectFlowError("connect", "Unexpected poll status from server: weird", map[string]any{"status": "weird"})
	assert.ErrorIs(t, flow, ErrConnectFlow)
	assert.NotErrorIs(t, flow, ErrConnectTimeout)
	assert.NotErrorIs(t, flow, ErrTimeout)
	assert.Equal(t, "weird", asAPI(t, flow).Details["status"])
}

func TestApprovalErrors(t *testing.T) {
	cases := []struct {
		kind error
		msg  string
	}{
		{ErrApprovalDenied, "approver denied the request"},
		{ErrApprovalExpired, "approval window elapsed without a decision"},
		{ErrApprovalExecutionFailed, "backend proxy execution failed"},
		{ErrApprovalTimeout, "approval still pending"},
	}
	for _, tc := range cases {
		err := approvalError(tc.kind, "awaitApproval", "ap-1", "", nil)
		assert.ErrorIs(t, err, tc.kind)
		assert.ErrorIs(t, err, ErrApproval)
		assert.NotErrorIs(t, err, ErrBackend)
		var e *ApprovalError
		require.ErrorAs(t, err, &e)
		assert.Equal(t, "ap-1", e.ApprovalID)
		assert.Equal(t, map[string]any{"approval_id": "ap-1"}, e.Details)
		assert.Equal(t, tc.msg, e.Message)
		timeout := tc.kind == ErrApprovalTimeout
		assert.Equal(t, timeout, errors.Is(err, ErrTimeout))
		assert.Equal(t, timeout, errors.Is(err, context.DeadlineExceeded))
	}
	cause := networkError("getApprovalStatus", &net.OpError{Op: "dial", Err: errors.New("refused")})
	err := approvalError(ErrApprovalTimeout, "awaitApproval", "ap-2", "local wait of 5s elapsed", cause)
	assert.ErrorIs(t, err, ErrTimeout)
	var ne *NetworkError
	assert.ErrorAs(t, err, &ne, "the last transient cause is kept")
	assert.Equal(t, "local wait of 5s elapsed", messageOf(err))
	denied := approvalError(ErrApprovalDenied, "awaitApproval", "", "not today", nil)
	assert.Equal(t, map[string]any{}, asAPI(t, denied).Details)
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestNetworkErrors(t *testing.T) {
	ctxDeadline, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	<-ctxDeadline.Done()
	ctxCancel, cancel2 := context.WithCancel(context.Background())
	cancel2()

	timeouts := map[string]error{
		"ctx deadline":   ctxDeadline.Err(),
		"client timeout": &url.Error{Op: "Post", URL: "http://h/sdk/token", Err: timeoutErr{}},
		"net timeout":    &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded},
		"wrapped ctx":    fmt.Errorf("send: %w", &url.Error{Op: "Post", URL: "http://h/x", Err: context.DeadlineExceeded}),
	}
	for name, cause := range timeouts {
		err := networkError("retrieveToken", cause)
		assert.ErrorIs(t, err, ErrTimeout, name)
		assert.ErrorIs(t, err, ErrNetwork, name)
		assert.ErrorIs(t, err, context.DeadlineExceeded, name)
		assert.NotErrorIs(t, err, context.Canceled, name)
		assert.NotErrorIs(t, err, ErrBackend, name)
		assert.Contains(t, err.Error(), "retrieveToken: timed out", name)
	}
	err := networkError("retrieveToken", &url.Error{Op: "Post", URL: "http://h/x", Err: ctxCancel.Err()})
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, ErrNetwork)
	assert.NotErrorIs(t, err, ErrTimeout)
	assert.NotErrorIs(t, err, context.DeadlineExceeded)

	refused := networkError("retrieveToken", &url.Error{Op: "Post", URL: "http://h/sdk/x?secret=alter_rk_ABCDEFGHIJKLMNOPQRSTUV_abcdef",
		Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}})
	assert.ErrorIs(t, refused, ErrNetwork)
	assert.NotErrorIs(t, refused, ErrTimeout)
	assert.NotContains(t, refused.Error(), "secret")
	var oe *net.OpError
	assert.ErrorAs(t, refused, &oe, "the cause stays reachable")
	assert.Nil(t, networkError("op", nil))
	assert.Same(t, refused, networkError("retrieveToken", refused))
}

func TestProviderErrors(t *testing.T) {
	gid := uuid.New()
	call := providerCall{Op: "request", Method: "GET", URL: "https://api.github.com/user?access_token=tok", GrantID: gid, ProviderID: "github"}
	resp := func(status int) *http.Response {
		return &http.Response{StatusCode: status, Header: http.Header{
			"Authorization":        {"Bearer leaked"},
			"Proxy-Authorization":  {"Basic leaked"},
			"Set-Cookie":           {"s=leaked"},
			"Cookie":               {"c=leaked"},
			"X-Api-Key":            {"leaked"},
			"X-Auth-Token":         {"leaked"},
			"X-Amz-Security-Token": {"leaked"},
			"Www-Authenticate":     {`Bearer error="insufficient_scope", scope="repo user"`},
			"Content-Type":         {"application/json"},
		}}
	}
	err := newProviderError(call, resp(403), `{"message":"nope"}`, map[string]string{"error": "insufficient_scope", "scope": "repo user"})
	var sr *ScopeReauthRequiredError
	require.ErrorAs(t, err, &sr)
	assert.ErrorIs(t, err, ErrScopeReauthRequired)
	assert.ErrorIs(t, err, ErrProviderAPI)
	assert.NotErrorIs(t, err, ErrBackend)
	assert.Equal(t, "provider_insufficient_scope", sr.Source)
	assert.Equal(t, []string{"repo", "user"}, sr.MissingScopes)
	assert.Equal(t, gid, sr.GrantID)
	assert.Equal(t, "https://api.github.com/user", sr.URL)
	assert.Equal(t, http.Header{"Www-Authenticate": {`Bearer error="insufficient_scope", scope="repo user"`},
		"Content-Type": {"application/json"}}, sr.Header)
	assert.Equal(t, `{"message":"nope"}`, sr.Body)
	assert.Equal(t, 403, sr.Status)

	err = newProviderError(providerCall{Op: "request", Method: "GET", URL: "https://x/y", ScopeMismatch: true}, resp(403), "", nil)
	require.ErrorAs(t, err, &sr)
	assert.Equal(t, "backend_flag", sr.Source)
	assert.Nil(t, sr.MissingScopes)

	err = newProviderError(call, resp(403), "", map[string]string{"error": "invalid_token"})
	assert.ErrorIs(t, err, ErrProviderAPI)
	assert.NotErrorIs(t, err, ErrScopeReauthRequired)
	assert.Equal(t, "Provider API returned error 403", messageOf(err))

	err = newProviderError(call, resp(401), "", nil)
	var pu *ProviderUnauthorizedError
	require.ErrorAs(t, err, &pu)
	assert.ErrorIs(t, err, ErrProviderUnauthorized)
	assert.ErrorIs(t, err, ErrProviderAPI)
	assert.Equal(t, "provider_unauthorized", pu.Details["source"])

	err = newProviderError(call, resp(401), "", map[string]string{"error": "insufficient_scope"})
	assert.NotErrorIs(t, err, ErrProviderUnauthorized, "a 401 insufficient_scope token is still valid")
	assert.NotErrorIs(t, err, ErrScopeReauthRequired)

	big := strings.Repeat("é", maxProviderBody)
	err = newProviderError(call, resp(500), big, nil)
	var pe *ProviderAPIError
	require.ErrorAs(t, err, &pe)
	assert.LessOrEqual(t, len(pe.Body), maxProviderBody)
	assert.True(t, strings.HasPrefix(big, pe.Body))
	assert.Equal(t, map[string]any{"method": "GET", "url": "https://api.github.com/user", "grant_id": gid.String()}, pe.Details)
}

func TestInputError(t *testing.T) {
	err := inputErr("RequestParams.GrantID", "set GrantID or Provider, not both", ErrGrantAndProvider)
	assert.ErrorIs(t, err, ErrInvalidInput)
	assert.ErrorIs(t, err, ErrGrantAndProvider)
	assert.NotErrorIs(t, err, ErrBackend)
	assert.Equal(t, "alter: invalid input: RequestParams.GrantID: set GrantID or Provider, not both", err.Error())
	assert.Equal(t, "alter: invalid input: bad", inputErr("", "bad", nil).Error())
}

func TestErrorStrings(t *testing.T) {
	err := decodeVaultError("retrieveToken", surfaceShared, 403, nil, []byte(body("grant_expired", `"message":"expired"`)))
	assert.Equal(t, "alter: retrieveToken: expired (403 grant_expired)", err.Error())
	err = decodeVaultError("retrieveToken", surfaceShared, 404, nil, []byte(`{}`))
	assert.Equal(t, "alter: retrieveToken: OAuth grant not found for the given grant_id (404)", err.Error())
	err = connectPollError("pollConnectSession", "connect_denied", "user said no", 0)
	assert.Equal(t, "alter: pollConnectSession: user said no (connect_denied)", err.Error())
	assert.Equal(t, "alter: client closed", ErrClosed.Error())
	assert.Equal(t, ErrGrantExpired, asAPI(t, decodeVaultError("op", surfaceShared, 403, nil, []byte(body("grant_expired")))).Class())
}

func TestErrorCodeFromSpec(t *testing.T) {
	assert.Equal(t, ErrorCode(gen.ErrorCodeGrantExpired), ErrorCodeGrantExpired)
	assert.Equal(t, ErrorCode("approval_denied"), ErrorCodeApprovalDenied)
	assert.True(t, gen.ErrorCode(ErrorCodeRateLimitExceeded).Valid())
}

// TestNoSecretInErrors plants credentials in headers and bodies of every surface and checks
// that no error string or format of any error type shows one.
func TestNoSecretInErrors(t *testing.T) {
	const key = "alter_rk_ABCDEFGHIJKLMNOPQRSTUV_abcdef"
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"
	const bearer = "Bearer s3cr3t-provider-token"
	planted := []string{key, jwt, "s3cr3t-provider-token", "leaked-cookie"}
	h := http.Header{"X-Api-Key": {key}, "Authorization": {bearer}, "Set-Cookie": {"sid=leaked-cookie"}, "X-Request-Id": {"rid"}}
	msg := "token " + jwt + " and key " + key + " and " + bearer
	var errs []error
	for _, s := range []errorSurface{surfaceShared, surfaceAgents, surfaceProxy, surfaceApprovalPoll} {
		for _, status := range []int{400, 401, 403, 404, 409, 410, 422, 429, 500, 503} {
			for _, code := range []string{"grant_expired", "insufficient_scope", "scope_mismatch", "ambiguous_grant", "approval_denied",
				"rate_limit_exceeded", "invalid_key", "managed_oauth_scope_approval_required", "x"} {
				b := body(code, `"message":"`+msg+`"`, `"hint":"`+msg+`"`, `"user_token":"`+jwt+`"`, `"details":{"api_key":"`+key+`"}`)
				errs = append(errs, decodeVaultError("op", s, status, h, []byte(b)))
			}
		}
	}
	errs = append(errs,
		connectPollError("op", "connect_denied", msg, 0),
		authPollError("op", "x", msg, 0),
		connectTimeoutError("op", "timeout", msg, 0, errors.New(msg)),
		approvalError(ErrApprovalDenied, "op", "ap", msg, nil),
		networkError("op", &url.Error{Op: "Post", URL: "https://h/p?key=" + key, Err: errors.New(msg)}),
		newProviderError(providerCall{Op: "request", Method: "GET", URL: "https://h/p?access_token=" + key}, &http.Response{StatusCode: 403, Header: h},
			msg, map[string]string{"error": "insufficient_scope"}),
		newProviderError(providerCall{Op: "request", Method: "GET", URL: "https://h/p"}, &http.Response{StatusCode: 401, Header: h}, msg, nil),
		newProviderError(providerCall{Op: "request", Method: "GET", URL: "https://h/p"}, &http.Response{StatusCode: 500, Header: h}, msg, nil),
	)
	for _, err := range errs {
		var buf bytes.Buffer
		logger := slog.New(slog.NewJSONHandler(&buf, nil))
		logger.Error("failed", "err", err)
		text := slog.New(slog.NewTextHandler(&buf, nil))
		text.Error("failed", "err", err)
		outputs := []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%s", err),
			fmt.Sprintf("%q", err), buf.String()}
		for _, out := range outputs {
			for _, secret := range planted {
				assert.NotContains(t, out, secret, "%T", err)
			}
		}
	}
	var pe *ProviderAPIError
	require.ErrorAs(t, errs[len(errs)-1], &pe)
	for k := range pe.Header {
		assert.NotContains(t, []string{"X-Api-Key", "Authorization", "Set-Cookie"}, k)
	}
}

func TestNeverPanicsOnOddBodies(t *testing.T) {
	bodies := []string{"", "null", "true", "1e999", "[]", "{", `{"detail":null}`, `{"detail":{"detail":{"error":"x"}}}`,
		`{"error":5,"message":null,"hint":[],"details":"x"}`, `{"error":"ambiguous_grant","candidates":{"a":1}}`,
		`{"error":"credential_id_required","details":{"credentials":"x"}}`, "\xff\xfe", strings.Repeat("[", 100000),
		`{"error":"rate_limit_exceeded","retry_after":1e400}`, strings.Repeat(`{"a":`, 5000)}
	for _, s := range []errorSurface{surfaceShared, surfaceAgents, surfaceProxy, surfaceApprovalPoll} {
		for _, b := range bodies {
			for _, status := range []int{400, 401, 403, 404, 409, 410, 429, 500, 503, 599} {
				err := decodeVaultError("op", s, status, nil, []byte(b))
				require.Error(t, err)
				assert.True(t, matchesARoot(err), "%d %q", status, b)
			}
		}
	}
}

func matchesARoot(err error) bool {
	for _, r := range allRoots {
		if errors.Is(err, r) {
			return true
		}
	}
	return false
}

func TestUnexpectedResponse(t *testing.T) {
	err := unexpectedResponse("retrieveToken", 200, http.Header{"X-Request-Id": {"r1"}}, "malformed token response: missing access_token")
	assert.ErrorIs(t, err, ErrBackend)
	e := asAPI(t, err)
	assert.Equal(t, 200, e.Status)
	assert.Equal(t, "r1", e.RequestID)
	assert.Equal(t, map[string]any{"status_code": 200}, e.Details)
	assert.Equal(t, "alter: retrieveToken: malformed token response: missing access_token (200)", err.Error())
}
