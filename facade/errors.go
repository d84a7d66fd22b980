package facade

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Error categories, matched with errors.Is. A vault error ([*APIError]) matches the sentinel of its
// code and of every category above it in the reference hierarchy (for example a grant_expired
// answer matches both [ErrGrantExpired] and [ErrReAuthRequired]); every vault error matches
// [ErrBackend].
var (
	// ErrBackend matches every error answered by the vault (BackendError).
	ErrBackend = errors.New("alter: vault error")

	// ErrReAuthRequired matches the grant states that need the user to go through Connect
	// again: grant_expired, grant_revoked, grant_deleted and credential_revoked.
	ErrReAuthRequired = errors.New("alter: re-authorization required")
	// ErrGrantExpired matches grant_expired.
	ErrGrantExpired = errors.New("alter: grant expired")
	// ErrGrantRevoked matches grant_revoked.
	ErrGrantRevoked = errors.New("alter: grant revoked")
	// ErrGrantDeleted matches grant_deleted.
	ErrGrantDeleted = errors.New("alter: grant deleted")
	// ErrCredentialRevoked matches credential_revoked (revoked at the provider).
	ErrCredentialRevoked = errors.New("alter: credential revoked")

	// ErrNotFound matches every *_not_found code.
	ErrNotFound = errors.New("alter: not found")
	// ErrGrantNotFound matches grant_not_found.
	ErrGrantNotFound = errors.New("alter: grant not found")
	// ErrAmbiguousGrant matches ambiguous_grant; see [AmbiguousGrantError] for the accounts.
	ErrAmbiguousGrant = errors.New("alter: ambiguous grant")
	// ErrNoDelegatedGrant matches no_delegated_grant.
	ErrNoDelegatedGrant = errors.New("alter: no delegated grant")
	// ErrDelegationNotFound matches delegation_not_found.
	ErrDelegationNotFound = errors.New("alter: delegation not found")
	// ErrPolicyViolation matches policy_violation; see [PolicyViolationError] for the reason.
	ErrPolicyViolation = errors.New("alter: policy violation")
	// ErrInsufficientScope matches insufficient_scope (the key's Alter scopes do not cover the route).
	ErrInsufficientScope = errors.New("alter: insufficient scope")
	// ErrTokenRefreshInProgress matches the transient 409 token_refresh_in_progress (retried
	// automatically; seen only when retries are exhausted).
	ErrTokenRefreshInProgress = errors.New("alter: token refresh in progress")
	// ErrRestrictedGrantRequiresProxy matches restricted_grant_requires_proxy: use ProxyRequest.
	ErrRestrictedGrantRequiresProxy = errors.New("alter: grant requires proxy mode")
	// ErrSiblingLabelConflict matches sibling_label_conflict.
	ErrSiblingLabelConflict = errors.New("alter: label already in use")
	// ErrManagedSecretNotFound matches managed_secret_not_found.
	ErrManagedSecretNotFound = errors.New("alter: managed secret not found")
	// ErrInvalidUserToken matches invalid_user_token.
	ErrInvalidUserToken = errors.New("alter: invalid user token")

	// ErrInvalidRequest matches answers refusing a malformed request: invalid_request,
	// forbidden_header, request_too_large, method_not_allowed and contract_violation.
	ErrInvalidRequest = errors.New("alter: invalid request")
	// ErrInvalidKey matches invalid_key (unknown or revoked key).
	ErrInvalidKey = errors.New("alter: invalid API key")
	// ErrInvalidSignature matches invalid_signature, signature_expired and nonce_replayed.
	ErrInvalidSignature = errors.New("alter: request signature refused")
	// ErrRateLimited matches rate_limited and any 429.
	ErrRateLimited = errors.New("alter: rate limited")
	// ErrServer matches internal_error, service_unavailable and any 5xx without an error envelope.
	ErrServer = errors.New("alter: vault server error")
	// ErrUpstreamUnreachable matches upstream_unreachable (proxy mode).
	ErrUpstreamUnreachable = errors.New("alter: upstream unreachable")
	// ErrUnexpectedResponse matches an answer that is not the documented JSON (an HTML page from a
	// proxy, truncated JSON); the [APIError] carries the status and the first bytes of the body.
	ErrUnexpectedResponse = errors.New("alter: unexpected response")

	// ErrMeRequiresAgentKey matches me_requires_agent_key.
	ErrMeRequiresAgentKey = errors.New("alter: me requires an agent principal")
	// ErrAgentNotFound matches agent_not_found.
	ErrAgentNotFound = errors.New("alter: agent not found")
	// ErrAgentNameExists matches agent_name_exists.
	ErrAgentNameExists = errors.New("alter: agent name exists")
	// ErrAgentInactive matches agent_inactive and idempotency_key_agent_inactive.
	ErrAgentInactive = errors.New("alter: agent inactive")
	// ErrAgentRevoked matches agent_revoked and idempotency_key_agent_revoked.
	ErrAgentRevoked = errors.New("alter: agent revoked")
	// ErrAgentCannotMintSubagents matches agent_cannot_mint_subagents.
	ErrAgentCannotMintSubagents = errors.New("alter: agents cannot create agents")
	// ErrAgentScopeNarrowingNotSupported matches agent_scope_narrowing_not_supported.
	ErrAgentScopeNarrowingNotSupported = errors.New("alter: agent scope narrowing not supported")
	// ErrKeyNotFound matches key_not_found.
	ErrKeyNotFound = errors.New("alter: key not found")
	// ErrKeyRevoked matches key_revoked.
	ErrKeyRevoked = errors.New("alter: key revoked")
	// ErrKeyAlreadyRevoked matches key_already_revoked.
	ErrKeyAlreadyRevoked = errors.New("alter: key already revoked")
	// ErrLastActiveKey matches last_active_key.
	ErrLastActiveKey = errors.New("alter: last active key")
	// ErrIdempotencyConflict matches idempotency_key_body_mismatch and the
	// idempotency_key_agent_* codes: the key was reused for a different request.
	ErrIdempotencyConflict = errors.New("alter: idempotency key conflict")

	// ErrApprovalNotFound matches approval_not_found.
	ErrApprovalNotFound = errors.New("alter: approval not found")
	// ErrApprovalPending matches approval_pending.
	ErrApprovalPending = errors.New("alter: approval pending")
	// ErrApprovalDenied matches approval_denied: a human refused the held call.
	ErrApprovalDenied = errors.New("alter: approval denied")
	// ErrApprovalExpired matches approval_expired: nobody decided in time.
	ErrApprovalExpired = errors.New("alter: approval expired")
	// ErrApprovalExecutionFailed matches approval_execution_failed: approved, but the upstream
	// call failed.
	ErrApprovalExecutionFailed = errors.New("alter: approved call failed")
	// ErrApprovalTimeout is returned by AwaitApproval when AwaitOptions.Timeout elapses first.
	ErrApprovalTimeout = errors.New("alter: approval wait timed out")

	// ErrSessionNotFound matches session_not_found.
	ErrSessionNotFound = errors.New("alter: session not found")
	// ErrConnectFlow matches every connect failure: connect_denied, connect_config, connect_flow.
	ErrConnectFlow = errors.New("alter: connect flow failed")
	// ErrConnectDenied matches connect_denied.
	ErrConnectDenied = errors.New("alter: connect denied")
	// ErrConnectConfig matches connect_config.
	ErrConnectConfig = errors.New("alter: connect misconfigured")

	// ErrProviderAPI matches every [*ProviderAPIError] (the upstream answered 400 or more).
	ErrProviderAPI = errors.New("alter: provider API error")
	// ErrScopeReauthRequired matches [*ScopeReauthRequiredError].
	ErrScopeReauthRequired = errors.New("alter: provider scope re-authorization required")

	// ErrNetwork matches transport failures (connection refused, reset, DNS…); see [NetworkError].
	ErrNetwork = errors.New("alter: network error")
	// ErrTimeout matches a call that ran out of time (WithTimeout or the ctx deadline). The
	// error also matches context.DeadlineExceeded.
	ErrTimeout = errors.New("alter: timeout")

	// ErrClosed is returned by every call made after Close.
	ErrClosed = errors.New("alter: client closed")
)

// codeCategories maps each stable error code of openapi.yaml to the sentinels it matches.
var codeCategories = map[string][]error{
	"invalid_request":                     {ErrInvalidRequest},
	"forbidden_header":                    {ErrInvalidRequest, ErrForbiddenHeader},
	"request_too_large":                   {ErrInvalidRequest},
	"method_not_allowed":                  {ErrInvalidRequest},
	"contract_violation":                  {ErrInvalidRequest},
	"not_found":                           {ErrNotFound},
	"invalid_key":                         {ErrInvalidKey},
	"invalid_signature":                   {ErrInvalidSignature},
	"signature_expired":                   {ErrInvalidSignature},
	"nonce_replayed":                      {ErrInvalidSignature},
	"insufficient_scope":                  {ErrInsufficientScope},
	"rate_limited":                        {ErrRateLimited},
	"internal_error":                      {ErrServer},
	"service_unavailable":                 {ErrServer},
	"me_requires_agent_key":               {ErrMeRequiresAgentKey},
	"agent_user_token_not_allowed":        {ErrAgentUserToken},
	"invalid_user_token":                  {ErrInvalidUserToken},
	"grant_not_found":                     {ErrGrantNotFound, ErrNotFound},
	"grant_expired":                       {ErrGrantExpired, ErrReAuthRequired},
	"grant_revoked":                       {ErrGrantRevoked, ErrReAuthRequired},
	"grant_deleted":                       {ErrGrantDeleted, ErrReAuthRequired},
	"credential_revoked":                  {ErrCredentialRevoked, ErrReAuthRequired},
	"ambiguous_grant":                     {ErrAmbiguousGrant},
	"no_delegated_grant":                  {ErrNoDelegatedGrant},
	"delegation_not_found":                {ErrDelegationNotFound, ErrNotFound},
	"policy_violation":                    {ErrPolicyViolation},
	"token_refresh_in_progress":           {ErrTokenRefreshInProgress},
	"restricted_grant_requires_proxy":     {ErrRestrictedGrantRequiresProxy},
	"sibling_label_conflict":              {ErrSiblingLabelConflict},
	"managed_secret_not_found":            {ErrManagedSecretNotFound, ErrNotFound},
	"upstream_unreachable":                {ErrUpstreamUnreachable},
	"approval_not_found":                  {ErrApprovalNotFound, ErrNotFound},
	"approval_pending":                    {ErrApprovalPending},
	"approval_denied":                     {ErrApprovalDenied},
	"approval_expired":                    {ErrApprovalExpired},
	"approval_execution_failed":           {ErrApprovalExecutionFailed},
	"session_not_found":                   {ErrSessionNotFound, ErrNotFound},
	"connect_denied":                      {ErrConnectDenied, ErrConnectFlow},
	"connect_config":                      {ErrConnectConfig, ErrConnectFlow},
	"connect_flow":                        {ErrConnectFlow},
	"agent_not_found":                     {ErrAgentNotFound, ErrNotFound},
	"agent_name_exists":                   {ErrAgentNameExists},
	"agent_inactive":                      {ErrAgentInactive},
	"agent_revoked":                       {ErrAgentRevoked},
	"agent_cannot_mint_subagents":         {ErrAgentCannotMintSubagents},
	"agent_scope_narrowing_not_supported": {ErrAgentScopeNarrowingNotSupported},
	"key_not_found":                       {ErrKeyNotFound, ErrNotFound},
	"key_revoked":                         {ErrKeyRevoked},
	"key_already_revoked":                 {ErrKeyAlreadyRevoked},
	"last_active_key":                     {ErrLastActiveKey},
	"idempotency_key_body_mismatch":       {ErrIdempotencyConflict},
	"idempotency_key_agent_revoked":       {ErrIdempotencyConflict, ErrAgentRevoked},
	"idempotency_key_agent_inactive":      {ErrIdempotencyConflict, ErrAgentInactive},
}

// ErrorDetails is the class-specific data of a vault error. Every field is optional.
type ErrorDetails struct {
	GrantID        uuid.UUID     // the grant concerned
	AgentID        uuid.UUID     // the agent concerned
	KeyID          uuid.UUID     // the key concerned
	ApprovalID     string        // the approval concerned
	ProviderID     string        // the provider concerned
	PolicyError    string        // policy_violation: the policy's reason
	Accounts       []string      // ambiguous_grant: the matching account identifiers
	MissingScopes  []string      // scopes the key or grant lacks
	RequiredScope  string        // insufficient_scope: the Alter scope the route needs
	Field          string        // invalid_request: the offending field
	RetryAfter     time.Duration // transient errors: how long to wait
	UpstreamStatus int           // approval_execution_failed / upstream_unreachable
}

// APIError is an error answered by the vault: the documented error envelope, or, when the answer
// was not one (an HTML 502 from a proxy, malformed JSON), its status and first bytes. Match its
// category with errors.Is (see the Err… sentinels); use errors.As to read its fields. Its message
// never contains a key, a user token or a credential.
type APIError struct {
	Op         string       // operation id, e.g. "retrieveCredential"
	StatusCode int          // HTTP status
	Code       string       // stable error code of openapi.yaml; "" for a non-envelope answer
	Message    string       // human-readable, from the vault
	RequestID  string       // X-Request-Id of the answer
	Details    ErrorDetails // class-specific data
	// Body holds up to 4 KiB of the raw answer when it was not the JSON error envelope.
	Body []byte
}

// Error implements error.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("alter: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request_id=")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	return b.String()
}

// Is reports whether target is one of the categories of e's code (see codeCategories).
func (e *APIError) Is(target error) bool {
	if target == ErrBackend {
		return true
	}
	if e.Code == "" {
		switch target {
		case ErrUnexpectedResponse:
			return true
		case ErrRateLimited:
			return e.StatusCode == http.StatusTooManyRequests
		case ErrServer:
			return e.StatusCode >= 500
		}
		return false
	}
	for _, c := range codeCategories[e.Code] {
		if c == target {
			return true
		}
	}
	return false
}

// PolicyViolationError is the [APIError] of a policy_violation, with the policy's reason.
type PolicyViolationError struct {
	*APIError
	PolicyError string // why the policy denied the call
}

// Unwrap returns the underlying *APIError.
func (e *PolicyViolationError) Unwrap() error { return e.APIError }

// AmbiguousGrantError is the [APIError] of an ambiguous_grant: the end user has several accounts
// on the provider; retry with RequestParams.Account set to one of Accounts.
type AmbiguousGrantError struct {
	*APIError
	Accounts []string // the matching account identifiers
}

// Unwrap returns the underlying *APIError.
func (e *AmbiguousGrantError) Unwrap() error { return e.APIError }

// ProviderAPIError reports an upstream (provider) answer of 400 or more in retrieve mode. It never
// holds the injected credential: the URL is reported without its query, and occurrences of the
// credential in the body are redacted.
type ProviderAPIError struct {
	Method     string      // upstream method
	URL        string      // upstream URL without its query string
	StatusCode int         // upstream status
	Header     http.Header // upstream response headers
	Body       []byte      // first 4 KiB of the upstream body
	Truncated  bool        // Body was cut
	GrantID    uuid.UUID   // the grant whose credential was used
	ProviderID string      // the grant's provider
}

// Error implements error. It does not include the body.
func (e *ProviderAPIError) Error() string {
	return fmt.Sprintf("alter: provider %s: %s %s answered %d %s", e.ProviderID, e.Method, e.URL,
		e.StatusCode, http.StatusText(e.StatusCode))
}

// Is matches ErrProviderAPI.
func (e *ProviderAPIError) Is(target error) bool { return target == ErrProviderAPI }

// ScopeReauthRequiredError is a provider 403 saying the grant lacks scopes (RFC 6750
// insufficient_scope, or GitHub's X-Accepted-OAuth-Scopes). Send the user through Connect again
// asking for MissingScopes. It matches ErrScopeReauthRequired and ErrProviderAPI, and errors.As
// also finds its *ProviderAPIError.
type ScopeReauthRequiredError struct {
	*ProviderAPIError
	RequiredScopes []string // scopes the provider asked for
	GrantedScopes  []string // scopes of the grant that was used
	MissingScopes  []string // RequiredScopes not in GrantedScopes
}

// Error implements error.
func (e *ScopeReauthRequiredError) Error() string {
	return e.ProviderAPIError.Error() + ": missing scopes " + strings.Join(e.MissingScopes, " ")
}

// Is matches ErrScopeReauthRequired (and ErrProviderAPI through Unwrap).
func (e *ScopeReauthRequiredError) Is(target error) bool { return target == ErrScopeReauthRequired }

// Unwrap returns the underlying *ProviderAPIError.
func (e *ScopeReauthRequiredError) Unwrap() error { return e.ProviderAPIError }

// NetworkError reports a transport failure or a timeout: no usable answer came. It matches
// ErrNetwork (unless the caller cancelled), ErrTimeout when time ran out, and unwraps to the
// cause, so errors.Is(err, context.DeadlineExceeded) keeps working. URLs in it carry no query.
type NetworkError struct {
	Op  string // operation id, or "upstream"
	Err error  // the cause
}

// Error implements error.
func (e *NetworkError) Error() string { return "alter: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *NetworkError) Unwrap() error { return e.Err }

// Is matches ErrNetwork and ErrTimeout.
func (e *NetworkError) Is(target error) bool {
	switch target {
	case ErrTimeout:
		return isTimeout(e.Err)
	case ErrNetwork:
		return !errors.Is(e.Err, context.Canceled)
	}
	return false
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Local validation. Errors detected before any network call are *InputError values; each rule of
// the identity model has its own sentinel (in Rule) so callers and tests can tell them apart.
var (
	// ErrInvalidInput matches every *InputError (AlterValueError in the other SDKs).
	ErrInvalidInput = errors.New("alter: invalid input")

	// ErrAgentUserToken: an Agent never sends an end-user token (also matches the vault's
	// agent_user_token_not_allowed). Use NewApp(key, WithCaller(agentUUID), WithUserTokenGetter(…)).
	ErrAgentUserToken = errors.New("alter: an Agent never sends an end-user token")
	// ErrWrongKeyKind: an agent key given to NewApp, or an App key given to NewAgent.
	ErrWrongKeyKind = errors.New("alter: wrong kind of API key for this constructor")
	// ErrMissingAPIKey: the API key is empty.
	ErrMissingAPIKey = errors.New("alter: missing API key")
	// ErrCallerTypeOnAgent: WithCallerType passed to NewAgent (an Agent is always "agent").
	ErrCallerTypeOnAgent = errors.New("alter: WithCallerType is App-only")
	// ErrGrantAndProvider: both GrantID and Provider were set.
	ErrGrantAndProvider = errors.New("alter: GrantID and Provider are mutually exclusive")
	// ErrNoGrantSelector: neither GrantID nor Provider was set.
	ErrNoGrantSelector = errors.New("alter: GrantID or Provider is required")
	// ErrUserTokenRequired: Provider was set but no end-user token is available.
	ErrUserTokenRequired = errors.New("alter: Provider needs an end-user token")
	// ErrAccountWithoutProvider: Account was set without Provider.
	ErrAccountWithoutProvider = errors.New("alter: Account needs Provider")
	// ErrForbiddenHeader: a proxied call tried to forward a credential header.
	ErrForbiddenHeader = errors.New("alter: header may not be forwarded")
)

// InputError is a call refused locally, before any network I/O. It matches ErrInvalidInput and
// its Rule sentinel (e.g. ErrAgentUserToken).
type InputError struct {
	Field  string // the offending option or parameter, e.g. "RequestParams.UserToken"
	Reason string // what is wrong and what to do instead
	Rule   error  // the identity rule broken, or nil
}

// Error implements error.
func (e *InputError) Error() string {
	if e.Field == "" {
		return "alter: invalid input: " + e.Reason
	}
	return "alter: invalid input: " + e.Field + ": " + e.Reason
}

// Is matches ErrInvalidInput.
func (e *InputError) Is(target error) bool { return target == ErrInvalidInput }

// Unwrap returns the rule sentinel.
func (e *InputError) Unwrap() error { return e.Rule }

func inputErr(field, reason string, rule error) error {
	return &InputError{Field: field, Reason: reason, Rule: rule}
}
