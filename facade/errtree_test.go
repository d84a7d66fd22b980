package facade

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pyClass is one class of alter-sdk 0.29.0's exception tree: its Go sentinel and its parent's.
type pyClass struct {
	name   string
	class  error
	parent string
}

// pyTree is alter-sdk 0.29.0's exception tree, all 64 classes.
var pyTree = []pyClass{
	{"AlterSDKError", ErrAlter, ""},
	{"AlterValueError", ErrInvalidInput, "AlterSDKError"},
	{"ApprovalError", ErrApproval, "AlterSDKError"},
	{"ApprovalDeniedError", ErrApprovalDenied, "ApprovalError"},
	{"ApprovalExecutionFailedError", ErrApprovalExecutionFailed, "ApprovalError"},
	{"ApprovalExpiredError", ErrApprovalExpired, "ApprovalError"},
	{"ApprovalTimeoutError", ErrApprovalTimeout, "ApprovalError"},
	{"BackendError", ErrBackend, "AlterSDKError"},
	{"AgentError", ErrAgent, "BackendError"},
	{"AgentCannotMintSubagentsError", ErrAgentCannotMintSubagents, "AgentError"},
	{"AgentConcurrentUpdateError", ErrAgentConcurrentUpdate, "AgentError"},
	{"AgentInactiveError", ErrAgentInactive, "AgentError"},
	{"AgentKeyLimitError", ErrAgentKeyLimit, "AgentError"},
	{"AgentNameExistsError", ErrAgentNameExists, "AgentError"},
	{"AgentNotFoundError", ErrAgentNotFound, "AgentError"},
	{"AgentRevokedError", ErrAgentRevoked, "AgentError"},
	{"CallerAgentMismatchError", ErrCallerAgentMismatch, "AgentError"},
	{"CallerAgentResolutionError", ErrCallerAgentResolution, "AgentError"},
	{"IdempotencyKeyAgentInactiveError", ErrIdempotencyKeyAgentInactive, "AgentError"},
	{"IdempotencyKeyAgentRevokedError", ErrIdempotencyKeyAgentRevoked, "AgentError"},
	{"IdempotencyKeyBodyMismatchError", ErrIdempotencyKeyBodyMismatch, "AgentError"},
	{"InvalidKeyError", ErrInvalidKey, "AgentError"},
	{"KeyAlreadyRevokedError", ErrKeyAlreadyRevoked, "AgentError"},
	{"KeyAppNotFoundError", ErrKeyAppNotFound, "AgentError"},
	{"KeyExpiredError", ErrKeyExpired, "AgentError"},
	{"KeyInactiveError", ErrKeyInactive, "AgentError"},
	{"KeyNotFoundError", ErrKeyNotFound, "AgentError"},
	{"KeyRevokedError", ErrKeyRevoked, "AgentError"},
	{"KeyRotationExpiredError", ErrKeyRotationExpired, "AgentError"},
	{"LastActiveKeyError", ErrLastActiveKey, "AgentError"},
	{"MeRequiresAgentKeyError", ErrMeRequiresAgentKey, "AgentError"},
	{"AmbiguousGrantError", ErrAmbiguousGrant, "BackendError"},
	{"BlockedDestinationError", ErrBlockedDestination, "BackendError"},
	{"CredentialIdRequiredError", ErrCredentialIDRequired, "BackendError"},
	{"EndUserCredentialNotAssignableError", ErrEndUserCredentialNotAssignable, "BackendError"},
	{"GrantNotDelegableError", ErrGrantNotDelegable, "BackendError"},
	{"GrantNotFoundError", ErrGrantNotFound, "BackendError"},
	{"AgentDelegationMissingError", ErrAgentDelegationMissing, "GrantNotFoundError"},
	{"InsufficientScopeError", ErrInsufficientScope, "BackendError"},
	{"NoDelegatedGrantError", ErrNoDelegatedGrant, "BackendError"},
	{"PolicyViolationError", ErrPolicyViolation, "BackendError"},
	{"RedactDischargeFailedError", ErrRedactDischargeFailed, "PolicyViolationError"},
	{"StepUpRequiredError", ErrStepUpRequired, "PolicyViolationError"},
	{"QuotaExceededError", ErrQuotaExceeded, "BackendError"},
	{"RateLimitError", ErrRateLimit, "BackendError"},
	{"ReAuthRequiredError", ErrReAuthRequired, "BackendError"},
	{"CredentialRevokedError", ErrCredentialRevoked, "ReAuthRequiredError"},
	{"GrantDeletedError", ErrGrantDeleted, "ReAuthRequiredError"},
	{"GrantExpiredError", ErrGrantExpired, "ReAuthRequiredError"},
	{"GrantRevokedError", ErrGrantRevoked, "ReAuthRequiredError"},
	{"RestrictedGrantRequiresProxyError", ErrRestrictedGrantRequiresProxy, "BackendError"},
	{"ServerFeatureUnsupportedError", ErrServerFeatureUnsupported, "BackendError"},
	{"SiblingLabelConflictError", ErrSiblingLabelConflict, "BackendError"},
	{"TokenRefreshInProgressError", ErrTokenRefreshInProgress, "BackendError"},
	{"ConnectFlowError", ErrConnectFlow, "AlterSDKError"},
	{"ConnectConfigError", ErrConnectConfig, "ConnectFlowError"},
	{"ConnectDeniedError", ErrConnectDenied, "ConnectFlowError"},
	{"ConnectTimeoutError", ErrConnectTimeout, "ConnectFlowError"},
	{"MemoryIsolationError", ErrMemoryIsolation, "AlterSDKError"},
	{"NetworkError", ErrNetwork, "AlterSDKError"},
	{"TimeoutError", ErrTimeout, "NetworkError"},
	{"ProviderAPIError", ErrProviderAPI, "AlterSDKError"},
	{"ProviderUnauthorizedError", ErrProviderUnauthorized, "ProviderAPIError"},
	{"ScopeReauthRequiredError", ErrScopeReauthRequired, "ProviderAPIError"},
}

// Each of the 64 classes has its own sentinel, which matches exactly its ancestors in
// alter-sdk's tree (issubclass), and no other class.
func TestErrorTreeMirrorsAlterSDK(t *testing.T) {
	require.Len(t, pyTree, 64)
	byName := map[string]pyClass{}
	seen := map[error]string{}
	for _, c := range pyTree {
		require.NotContains(t, byName, c.name)
		byName[c.name] = c
		require.NotContains(t, seen, c.class, "%s shares a sentinel with %s", c.name, seen[c.class])
		seen[c.class] = c.name
	}
	ancestors := func(name string) map[string]bool {
		out := map[string]bool{}
		for n := name; n != ""; n = byName[n].parent {
			out[n] = true
		}
		return out
	}
	for _, c := range pyTree {
		up := ancestors(c.name)
		for _, other := range pyTree {
			assert.Equal(t, up[other.name], errors.Is(c.class, other.class), "errors.Is(%s, %s)", c.name, other.name)
		}
	}
}

// Every error the SDK returns matches ErrAlter; a bare ctx error does not.
func TestErrAlterRoot(t *testing.T) {
	errs := []error{
		decodeVaultError("op", surfaceShared, 403, nil, []byte(body("grant_expired"))),
		decodeVaultError("op", surfaceAgents, 409, nil, []byte(body("agent_concurrent_update"))),
		decodeVaultError("op", surfaceProxy, 403, nil, []byte(body("approval_denied"))),
		decodeVaultError("op", surfaceApprovalPoll, 404, nil, []byte(`{}`)),
		networkError("op", context.DeadlineExceeded),
		inputErr("f", "bad", nil),
		ErrClosed,
		approvalError(ErrApprovalTimeout, "op", "a", "", context.DeadlineExceeded),
		connectTimeoutError("op", "timeout", "m", 0, nil),
		memoryErr(MemoryUserRequired, "an end user is required"),
		serverFeatureUnsupported("op", 422, nil, "managed_secret_connect_delegable", "upgrade the backend"),
		&ProviderAPIError{Op: "op", Status: 500},
	}
	for _, err := range errs {
		assert.ErrorIs(t, err, ErrAlter, "%v", err)
	}
	assert.NotErrorIs(t, context.Canceled, ErrAlter)
	assert.NotErrorIs(t, errors.New("x"), ErrAlter)
}

func TestMemoryIsolationUnderErrAlter(t *testing.T) {
	err := memoryErr(MemoryAssertionInvalid, "verify the identity again")
	assert.ErrorIs(t, err, ErrMemoryIsolation)
	assert.ErrorIs(t, err, ErrAlter)
	assert.ErrorIs(t, err, MemoryAssertionInvalid)
	assert.NotErrorIs(t, err, ErrBackend)
	assert.NotErrorIs(t, err, ErrInvalidInput)
}

func TestServerFeatureUnsupportedError(t *testing.T) {
	h := http.Header{"X-Request-Id": {"req-1"}}
	err := serverFeatureUnsupported("createManagedSecretConnectSession", 422, h, "managed_secret_connect_provider", "upgrade the backend")
	var fe *ServerFeatureUnsupportedError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "managed_secret_connect_provider", fe.Feature)
	assert.Equal(t, map[string]any{"feature": "managed_secret_connect_provider", "status_code": 422}, fe.Details)
	assert.Equal(t, 422, fe.Status)
	assert.Equal(t, "req-1", fe.RequestID)
	assert.ErrorIs(t, err, ErrServerFeatureUnsupported)
	assert.ErrorIs(t, err, ErrBackend)
	assert.Equal(t, "alter: createManagedSecretConnectSession: upgrade the backend (422)", err.Error())
}

func TestRateLimitScopes(t *testing.T) {
	assert.Equal(t, []RateLimitScope{"ip", "api_key", "organization"}, RateLimitScopes())
	err := decodeVaultError("op", surfaceShared, 429, nil, []byte(body("rate_limit_exceeded", `"scope":"organization"`)))
	var rl *RateLimitError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, RateLimitScopeOrganization, rl.Scope)
}

func TestParseRateLimit(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	snap := func(limit, remaining int, reset int64) RateLimitSnapshot {
		return RateLimitSnapshot{Limit: limit, Remaining: remaining, ResetAt: time.Unix(reset, 0).UTC()}
	}
	cases := []struct {
		name string
		h    http.Header
		want *RateLimitSnapshot
	}{
		{"legacy triple", http.Header{"X-Ratelimit-Limit": {"600"}, "X-Ratelimit-Remaining": {"598"}, "X-Ratelimit-Reset": {"1700000042"}},
			ptr(snap(600, 598, 1700000042))},
		{"leading zeros", http.Header{"X-Ratelimit-Limit": {"00600"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {" 1700000042 "}},
			ptr(snap(600, 0, 1700000042))},
		{"legacy wins over standard", http.Header{"X-Ratelimit-Limit": {"1"}, "X-Ratelimit-Remaining": {"1"}, "X-Ratelimit-Reset": {"1700000001"},
			"Ratelimit-Policy": {`"k";q=9`}, "Ratelimit": {`"k";r=8;t=7`}}, ptr(snap(1, 1, 1700000001))},
		{"standard pair", http.Header{"Ratelimit-Policy": {`"api_key";q=600;w=60`}, "Ratelimit": {`"api_key";r=598;t=42`}},
			ptr(snap(600, 598, 1700000042))},
		{"standard, second item named by the policy", http.Header{"Ratelimit-Policy": {`"org";q=50`}, "Ratelimit": {`"key";r=1;t=1, "org";r=5;t=10`}},
			ptr(snap(50, 5, 1700000010))},
		{"standard over two header lines", http.Header{"Ratelimit-Policy": {`"a";q=5`, `"b";q=7`}, "Ratelimit": {`"b";r=6;t=3`}},
			ptr(snap(7, 6, 1700000003))},
		{"partial triple falls back to nothing", http.Header{"X-Ratelimit-Limit": {"600"}, "X-Ratelimit-Remaining": {"598"}}, nil},
		{"signed value", http.Header{"X-Ratelimit-Limit": {"+600"}, "X-Ratelimit-Remaining": {"598"}, "X-Ratelimit-Reset": {"1700000042"}}, nil},
		{"unicode digits", http.Header{"X-Ratelimit-Limit": {"６００"}, "X-Ratelimit-Remaining": {"598"}, "X-Ratelimit-Reset": {"1700000042"}}, nil},
		{"reset past year 9999", http.Header{"X-Ratelimit-Limit": {"6"}, "X-Ratelimit-Remaining": {"5"}, "X-Ratelimit-Reset": {"253402300800"}}, nil},
		{"absurd digit run", http.Header{"X-Ratelimit-Limit": {fmt.Sprintf("9%04999d", 0)}, "X-Ratelimit-Remaining": {"5"}, "X-Ratelimit-Reset": {"1"}}, nil},
		{"unquoted name", http.Header{"Ratelimit-Policy": {`api_key;q=600`}, "Ratelimit": {`api_key;r=1;t=1`}}, nil},
		{"bad parameter skips the item", http.Header{"Ratelimit-Policy": {`"k";q=6;Bad=1`}, "Ratelimit": {`"k";r=1;t=1`}}, nil},
		{"no policy for the state", http.Header{"Ratelimit-Policy": {`"a";q=6`}, "Ratelimit": {`"b";r=1;t=1`}}, nil},
		{"state missing t", http.Header{"Ratelimit-Policy": {`"a";q=6`}, "Ratelimit": {`"a";r=1`}}, nil},
		{"none", http.Header{}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseRateLimit(tc.h, now)
			if tc.want == nil {
				assert.False(t, ok, "%+v", got)
				return
			}
			require.True(t, ok)
			assert.Equal(t, *tc.want, got)
		})
	}
}

func ptr[T any](v T) *T { return &v }

// LastRateLimit is unknown until a metered answer, then follows every answer, errors included,
// and is shared with the Agents an App derives.
func TestLastRateLimit(t *testing.T) {
	v := newFakeVault(t, appKey)
	meter := func(remaining string) http.Header {
		return http.Header{"X-Ratelimit-Limit": {"10"}, "X-Ratelimit-Remaining": {remaining}, "X-Ratelimit-Reset": {"1700000060"}}
	}
	v.on("GET /sdk/scopes", reply{status: 200, body: scopesAns}, reply{status: 200, header: meter("9"), body: scopesAns},
		reply{status: 400, header: meter("0"), body: `{"error":"bad"}`}, reply{status: 200, body: scopesAns})
	app := newTestApp(t, v)
	_, ok := app.LastRateLimit()
	require.False(t, ok)
	_, err := app.ListScopes(bg)
	require.NoError(t, err)
	_, ok = app.LastRateLimit()
	require.False(t, ok, "an unmetered answer leaves it unknown")
	_, err = app.ListScopes(bg)
	require.NoError(t, err)
	snap, ok := app.LastRateLimit()
	require.True(t, ok)
	assert.Equal(t, RateLimitSnapshot{Limit: 10, Remaining: 9, ResetAt: time.Unix(1700000060, 0).UTC()}, snap)
	_, err = app.ListScopes(bg)
	require.ErrorIs(t, err, ErrBackend)
	agent, err := app.GetAgent(gid)
	require.NoError(t, err)
	snap, ok = agent.LastRateLimit()
	require.True(t, ok)
	assert.Equal(t, 0, snap.Remaining, "an error answer's budget is kept, and shared")
	_, err = app.ListScopes(bg)
	require.NoError(t, err)
	snap, _ = app.LastRateLimit()
	assert.Equal(t, 0, snap.Remaining, "an unmetered answer keeps the last snapshot")
}

// The credential fetch lets every vault class through but the Connect ones, which alter-sdk
// reports as a BackendError "Failed to retrieve token: …".
func TestTokenSurface(t *testing.T) {
	err := decodeVaultError("retrieveToken", surfaceToken, 409, nil, []byte(body("managed_oauth_scope_approval_required", `"message":"ask Alter"`)))
	assert.ErrorIs(t, err, ErrBackend)
	assert.NotErrorIs(t, err, ErrConnectFlow)
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "Failed to retrieve token: ask Alter", ae.Message)
	assert.Equal(t, ErrorCodeManagedOauthScopeApprovalRequired, ae.Code)
	assert.Equal(t, 409, ae.Status)
	err = decodeVaultError("retrieveToken", surfaceToken, 404, nil, []byte(body("secret_not_found")))
	assert.ErrorIs(t, err, ErrBackend)
	assert.NotErrorIs(t, err, ErrConnectConfig)
	err = decodeVaultError("retrieveToken", surfaceToken, 403, nil, []byte(body("grant_expired")))
	var ge *GrantExpiredError
	assert.ErrorAs(t, err, &ge)
	assert.ErrorIs(t, decodeVaultError("createConnectSession", surfaceShared, 404, nil, []byte(body("secret_not_found"))), ErrConnectConfig)
}
