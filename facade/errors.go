package facade

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// ErrorCode is the machine code of a vault error answer (its "error" field). The constants are
// the spec's ErrorCode enum; a code the spec does not list is kept verbatim, never refused.
type ErrorCode string

// ErrorCode constants: the spec's ErrorCode enum (gen.ErrorCode), as facade values.
const (
	ErrorCodeAgentCannotDelegateToOtherAgent   = ErrorCode(gen.ErrorCodeAgentCannotDelegateToOtherAgent)
	ErrorCodeAgentCannotMintSubagents          = ErrorCode(gen.ErrorCodeAgentCannotMintSubagents)
	ErrorCodeAgentConcurrentUpdate             = ErrorCode(gen.ErrorCodeAgentConcurrentUpdate)
	ErrorCodeAgentInactive                     = ErrorCode(gen.ErrorCodeAgentInactive)
	ErrorCodeAgentKeyLimitReached              = ErrorCode(gen.ErrorCodeAgentKeyLimitReached)
	ErrorCodeAgentKeyRequired                  = ErrorCode(gen.ErrorCodeAgentKeyRequired)
	ErrorCodeAgentNameExists                   = ErrorCode(gen.ErrorCodeAgentNameExists)
	ErrorCodeAgentNotFound                     = ErrorCode(gen.ErrorCodeAgentNotFound)
	ErrorCodeAgentRequiresUserToken            = ErrorCode(gen.ErrorCodeAgentRequiresUserToken)
	ErrorCodeAgentRevoked                      = ErrorCode(gen.ErrorCodeAgentRevoked)
	ErrorCodeAgentsCannotMint                  = ErrorCode(gen.ErrorCodeAgentsCannotMint)
	ErrorCodeAmbiguousGrant                    = ErrorCode(gen.ErrorCodeAmbiguousGrant)
	ErrorCodeAppNotFoundForKey                 = ErrorCode(gen.ErrorCodeAppNotFoundForKey)
	ErrorCodeApprovalDenied                    = ErrorCode(gen.ErrorCodeApprovalDenied)
	ErrorCodeApprovalExecutionFailed           = ErrorCode(gen.ErrorCodeApprovalExecutionFailed)
	ErrorCodeApprovalExpired                   = ErrorCode(gen.ErrorCodeApprovalExpired)
	ErrorCodeBillingQuotaExceeded              = ErrorCode(gen.ErrorCodeBillingQuotaExceeded)
	ErrorCodeBindingHostsRequired              = ErrorCode(gen.ErrorCodeBindingHostsRequired)
	ErrorCodeBlockedDestination                = ErrorCode(gen.ErrorCodeBlockedDestination)
	ErrorCodeCallerAgentMismatch               = ErrorCode(gen.ErrorCodeCallerAgentMismatch)
	ErrorCodeCallerAgentResolutionError        = ErrorCode(gen.ErrorCodeCallerAgentResolutionError)
	ErrorCodeCallerAgentUnresolved             = ErrorCode(gen.ErrorCodeCallerAgentUnresolved)
	ErrorCodeConnectConfigError                = ErrorCode(gen.ErrorCodeConnectConfigError)
	ErrorCodeConnectDenied                     = ErrorCode(gen.ErrorCodeConnectDenied)
	ErrorCodeConstraintNotNarrowing            = ErrorCode(gen.ErrorCodeConstraintNotNarrowing)
	ErrorCodeCredentialIDRequired              = ErrorCode(gen.ErrorCodeCredentialIDRequired)
	ErrorCodeCredentialRevoked                 = ErrorCode(gen.ErrorCodeCredentialRevoked)
	ErrorCodeDelegatedAgentIDRequired          = ErrorCode(gen.ErrorCodeDelegatedAgentIDRequired)
	ErrorCodeDelegatedGrantRequiresProxy       = ErrorCode(gen.ErrorCodeDelegatedGrantRequiresProxy)
	ErrorCodeEndUserCredentialNotAssignable    = ErrorCode(gen.ErrorCodeEndUserCredentialNotAssignable)
	ErrorCodeGrantExpired                      = ErrorCode(gen.ErrorCodeGrantExpired)
	ErrorCodeGrantLimitExceeded                = ErrorCode(gen.ErrorCodeGrantLimitExceeded)
	ErrorCodeGrantNotDelegable                 = ErrorCode(gen.ErrorCodeGrantNotDelegable)
	ErrorCodeGrantNotFound                     = ErrorCode(gen.ErrorCodeGrantNotFound)
	ErrorCodeGrantRevoked                      = ErrorCode(gen.ErrorCodeGrantRevoked)
	ErrorCodeHitlGrantRequiresProxy            = ErrorCode(gen.ErrorCodeHitlGrantRequiresProxy)
	ErrorCodeIPNotAllowed                      = ErrorCode(gen.ErrorCodeIPNotAllowed)
	ErrorCodeIdempotencyKeyAgentInactive       = ErrorCode(gen.ErrorCodeIdempotencyKeyAgentInactive)
	ErrorCodeIdempotencyKeyAgentRevoked        = ErrorCode(gen.ErrorCodeIdempotencyKeyAgentRevoked)
	ErrorCodeIdempotencyKeyBodyMismatch        = ErrorCode(gen.ErrorCodeIdempotencyKeyBodyMismatch)
	ErrorCodeIdentityGroupNameAmbiguous        = ErrorCode(gen.ErrorCodeIdentityGroupNameAmbiguous)
	ErrorCodeIdentityProviderInactive          = ErrorCode(gen.ErrorCodeIdentityProviderInactive)
	ErrorCodeIdpSigninNotConfigured            = ErrorCode(gen.ErrorCodeIdpSigninNotConfigured)
	ErrorCodeInsufficientScope                 = ErrorCode(gen.ErrorCodeInsufficientScope)
	ErrorCodeInvalidAudience                   = ErrorCode(gen.ErrorCodeInvalidAudience)
	ErrorCodeInvalidClient                     = ErrorCode(gen.ErrorCodeInvalidClient)
	ErrorCodeInvalidGrantPolicy                = ErrorCode(gen.ErrorCodeInvalidGrantPolicy)
	ErrorCodeInvalidKey                        = ErrorCode(gen.ErrorCodeInvalidKey)
	ErrorCodeInvalidOrigin                     = ErrorCode(gen.ErrorCodeInvalidOrigin)
	ErrorCodeInvalidRedirectURI                = ErrorCode(gen.ErrorCodeInvalidRedirectURI)
	ErrorCodeInvalidScopeConstraint            = ErrorCode(gen.ErrorCodeInvalidScopeConstraint)
	ErrorCodeInvalidScopeForDerivedKey         = ErrorCode(gen.ErrorCodeInvalidScopeForDerivedKey)
	ErrorCodeInvalidSignature                  = ErrorCode(gen.ErrorCodeInvalidSignature)
	ErrorCodeJwtValidationError                = ErrorCode(gen.ErrorCodeJwtValidationError)
	ErrorCodeKeyExpired                        = ErrorCode(gen.ErrorCodeKeyExpired)
	ErrorCodeKeyNotActive                      = ErrorCode(gen.ErrorCodeKeyNotActive)
	ErrorCodeKeyNotFound                       = ErrorCode(gen.ErrorCodeKeyNotFound)
	ErrorCodeKeyRevoked                        = ErrorCode(gen.ErrorCodeKeyRevoked)
	ErrorCodeKeyRotatedGraceExpired            = ErrorCode(gen.ErrorCodeKeyRotatedGraceExpired)
	ErrorCodeLastActiveKey                     = ErrorCode(gen.ErrorCodeLastActiveKey)
	ErrorCodeManagedOauthScopeApprovalRequired = ErrorCode(gen.ErrorCodeManagedOauthScopeApprovalRequired)
	ErrorCodeMeRequiresAgentKey                = ErrorCode(gen.ErrorCodeMeRequiresAgentKey)
	ErrorCodeMintSourceHasGrantRules           = ErrorCode(gen.ErrorCodeMintSourceHasGrantRules)
	ErrorCodeNoDelegatedGrant                  = ErrorCode(gen.ErrorCodeNoDelegatedGrant)
	ErrorCodeNoEligibleGrants                  = ErrorCode(gen.ErrorCodeNoEligibleGrants)
	ErrorCodeNonceReplayed                     = ErrorCode(gen.ErrorCodeNonceReplayed)
	ErrorCodeOperationNotFound                 = ErrorCode(gen.ErrorCodeOperationNotFound)
	ErrorCodeProviderConfigurationUnavailable  = ErrorCode(gen.ErrorCodeProviderConfigurationUnavailable)
	ErrorCodeProviderContractRepairRequired    = ErrorCode(gen.ErrorCodeProviderContractRepairRequired)
	ErrorCodeProviderSpecNotFound              = ErrorCode(gen.ErrorCodeProviderSpecNotFound)
	ErrorCodeQueryTooLong                      = ErrorCode(gen.ErrorCodeQueryTooLong)
	ErrorCodeQuotaExceeded                     = ErrorCode(gen.ErrorCodeQuotaExceeded)
	ErrorCodeRateLimitExceeded                 = ErrorCode(gen.ErrorCodeRateLimitExceeded)
	ErrorCodeRedactDischargeFailed             = ErrorCode(gen.ErrorCodeRedactDischargeFailed)
	ErrorCodeRequestExpired                    = ErrorCode(gen.ErrorCodeRequestExpired)
	ErrorCodeRestrictedGrantRequiresProxy      = ErrorCode(gen.ErrorCodeRestrictedGrantRequiresProxy)
	ErrorCodeScopeMismatch                     = ErrorCode(gen.ErrorCodeScopeMismatch)
	ErrorCodeScopeNotAllowed                   = ErrorCode(gen.ErrorCodeScopeNotAllowed)
	ErrorCodeSecretNotFound                    = ErrorCode(gen.ErrorCodeSecretNotFound)
	ErrorCodeSecretTemplateMismatch            = ErrorCode(gen.ErrorCodeSecretTemplateMismatch)
	ErrorCodeServiceUnavailable                = ErrorCode(gen.ErrorCodeServiceUnavailable)
	ErrorCodeSharedDevCredentialUnavailable    = ErrorCode(gen.ErrorCodeSharedDevCredentialUnavailable)
	ErrorCodeSiblingLabelConflict              = ErrorCode(gen.ErrorCodeSiblingLabelConflict)
	ErrorCodeStepUpRequired                    = ErrorCode(gen.ErrorCodeStepUpRequired)
	ErrorCodeTokenRefreshInProgress            = ErrorCode(gen.ErrorCodeTokenRefreshInProgress)
	ErrorCodeTooManyPendingApprovals           = ErrorCode(gen.ErrorCodeTooManyPendingApprovals)
	ErrorCodeUnauthorizedClient                = ErrorCode(gen.ErrorCodeUnauthorizedClient)
	ErrorCodeUseSelfRevokePath                 = ErrorCode(gen.ErrorCodeUseSelfRevokePath)
	ErrorCodeUserLimitsRequireProxy            = ErrorCode(gen.ErrorCodeUserLimitsRequireProxy)
)

// errClass is an error class of alter-sdk 0.29.0's exception tree: an error matches its own
// class and every class above it with errors.Is.
type errClass struct {
	msg    string
	parent error
}

func (c *errClass) Error() string { return c.msg }

// Is lets a class sentinel match the classes above it: errors.Is(ErrGrantExpired,
// ErrReAuthRequired) holds, as issubclass does in alter-sdk.
func (c *errClass) Is(target error) bool { return classIs(c, target) }

func class(msg string, parent error) error { return &errClass{msg: msg, parent: parent} }

// classIs reports whether target is kind or one of its ancestors.
func classIs(kind, target error) bool {
	for k := kind; k != nil; {
		if k == target {
			return true
		}
		c, ok := k.(*errClass)
		if !ok {
			return false
		}
		k = c.parent
	}
	return false
}

// classOr is classIs for an error whose class may be unset: then it matches root and the
// classes above it.
func classOr(kind, root, target error) bool {
	if kind == nil {
		return classIs(root, target)
	}
	return classIs(kind, target)
}

// timeoutClassIs is classIs for a class whose timeout member (timeoutKind) also matches
// ErrTimeout and context.DeadlineExceeded.
func timeoutClassIs(kind, timeoutKind, target error) bool {
	if kind == timeoutKind && (target == ErrTimeout || target == context.DeadlineExceeded) {
		return true
	}
	return classIs(kind, target)
}

// withCause is what an error embedding e unwraps to: e, and the cause when there is one.
func withCause(e *APIError, cause error) []error {
	if cause != nil {
		return []error{e, cause}
	}
	return []error{e}
}

// Error classes, matched with errors.Is. They mirror alter-sdk 0.29.0's exception tree: an
// error matches its own class and every class above it (a grant_expired answer matches
// ErrGrantExpired, ErrReAuthRequired, ErrBackend and ErrAlter). Under ErrAlter the families are
// ErrBackend, ErrConnectFlow, ErrProviderAPI, ErrNetwork, ErrApproval, ErrMemoryIsolation,
// ErrInvalidInput and ErrClosed.
var (
	// ErrAlter matches every error the SDK makes (AlterSDKError): a vault refusal, a provider
	// refusal, a network failure, a flow or approval outcome, a local refusal, ErrClosed. A ctx
	// error handed back as it is (AwaitApproval's, when the caller cancels) is not one.
	ErrAlter = class("alter: error", nil)

	// ErrBackend matches every error answer of the vault (BackendError), except the classes
	// 0.29.0 roots elsewhere (ConnectConfig, ScopeReauthRequired, approval outcomes).
	ErrBackend = class("alter: vault error", ErrAlter)
	// ErrBlockedDestination: the destination failed the provider's host/path allowlist or the
	// network security check; retrying unchanged cannot help.
	ErrBlockedDestination = class("alter: blocked destination", ErrBackend)
	// ErrServerFeatureUnsupported: the vault predates a feature the call relies on.
	ErrServerFeatureUnsupported = class("alter: server feature unsupported", ErrBackend)

	// ErrReAuthRequired: the user must go through Connect again.
	ErrReAuthRequired = class("alter: re-authorization required", ErrBackend)
	// ErrGrantExpired matches grant_expired.
	ErrGrantExpired = class("alter: grant expired", ErrReAuthRequired)
	// ErrGrantRevoked matches grant_revoked.
	ErrGrantRevoked = class("alter: grant revoked", ErrReAuthRequired)
	// ErrCredentialRevoked matches credential_revoked (revoked at the provider).
	ErrCredentialRevoked = class("alter: credential revoked", ErrReAuthRequired)
	// ErrGrantDeleted matches any 410: the grant was deleted.
	ErrGrantDeleted = class("alter: grant deleted", ErrReAuthRequired)

	// ErrGrantNotFound matches a 404 naming no other resource.
	ErrGrantNotFound = class("alter: grant not found", ErrBackend)
	// ErrAgentDelegationMissing: on an Agent call, the grant does not exist or is not delegated
	// to this agent.
	ErrAgentDelegationMissing = class("alter: grant not delegated to this agent", ErrGrantNotFound)
	// ErrAmbiguousGrant matches ambiguous_grant; see [AmbiguousGrantError] for the candidates.
	ErrAmbiguousGrant = class("alter: ambiguous grant", ErrBackend)
	// ErrNoDelegatedGrant matches no_delegated_grant.
	ErrNoDelegatedGrant = class("alter: no delegated grant", ErrBackend)
	// ErrPolicyViolation matches a 403 refused by policy; see [PolicyViolationError].
	ErrPolicyViolation = class("alter: policy violation", ErrBackend)
	// ErrStepUpRequired matches step_up_required: the user must sign in again.
	ErrStepUpRequired = class("alter: step-up authentication required", ErrPolicyViolation)
	// ErrRedactDischargeFailed matches redact_discharge_failed.
	ErrRedactDischargeFailed = class("alter: redaction could not be applied", ErrPolicyViolation)
	// ErrRestrictedGrantRequiresProxy: the grant can only be used through ProxyRequest.
	ErrRestrictedGrantRequiresProxy = class("alter: grant requires proxy mode", ErrBackend)
	// ErrGrantNotDelegable matches grant_not_delegable.
	ErrGrantNotDelegable = class("alter: grant not delegable", ErrBackend)
	// ErrSiblingLabelConflict matches sibling_label_conflict.
	ErrSiblingLabelConflict = class("alter: label already in use", ErrBackend)
	// ErrCredentialIDRequired matches credential_id_required; see [CredentialIDRequiredError].
	ErrCredentialIDRequired = class("alter: credential id required", ErrBackend)
	// ErrEndUserCredentialNotAssignable matches end_user_credential_not_assignable.
	ErrEndUserCredentialNotAssignable = class("alter: end-user credential not assignable", ErrBackend)
	// ErrInsufficientScope matches insufficient_scope: the key's scopes do not cover the route.
	ErrInsufficientScope = class("alter: insufficient scope", ErrBackend)
	// ErrTokenRefreshInProgress matches the transient 409 token_refresh_in_progress.
	ErrTokenRefreshInProgress = class("alter: token refresh in progress", ErrBackend)
	// ErrQuotaExceeded matches a 429 quota_exceeded (a policy denial, not transient).
	ErrQuotaExceeded = class("alter: quota exceeded", ErrBackend)
	// ErrRateLimit matches a 429 rate_limit_exceeded or a 429 without a JSON body.
	ErrRateLimit = class("alter: rate limited", ErrBackend)

	// ErrAgent is the umbrella of the managed-agent and key errors (AgentError).
	ErrAgent = class("alter: agent error", ErrBackend)
	// ErrInvalidKey matches invalid_key.
	ErrInvalidKey = class("alter: invalid API key", ErrAgent)
	// ErrAgentNotFound matches agent_not_found and caller_agent_unresolved.
	ErrAgentNotFound = class("alter: agent not found", ErrAgent)
	// ErrCallerAgentMismatch matches caller_agent_mismatch.
	ErrCallerAgentMismatch = class("alter: caller agent mismatch", ErrAgent)
	// ErrCallerAgentResolution matches the transient caller_agent_resolution_error.
	ErrCallerAgentResolution = class("alter: caller agent could not be resolved", ErrAgent)
	// ErrAgentNameExists matches agent_name_exists.
	ErrAgentNameExists = class("alter: agent name exists", ErrAgent)
	// ErrAgentConcurrentUpdate matches a 409 agent_concurrent_update.
	ErrAgentConcurrentUpdate = class("alter: agent updated concurrently", ErrAgent)
	// ErrMeRequiresAgentKey matches me_requires_agent_key.
	ErrMeRequiresAgentKey = class("alter: me requires an agent key", ErrAgent)
	// ErrKeyRevoked matches key_revoked.
	ErrKeyRevoked = class("alter: key revoked", ErrAgent)
	// ErrKeyExpired matches key_expired.
	ErrKeyExpired = class("alter: key expired", ErrAgent)
	// ErrKeyRotationExpired matches key_rotated_grace_expired.
	ErrKeyRotationExpired = class("alter: rotated key past its grace period", ErrAgent)
	// ErrKeyInactive matches key_not_active.
	ErrKeyInactive = class("alter: key not active", ErrAgent)
	// ErrKeyAppNotFound matches app_not_found_for_key.
	ErrKeyAppNotFound = class("alter: no app for this key", ErrAgent)
	// ErrAgentInactive matches agent_inactive.
	ErrAgentInactive = class("alter: agent inactive", ErrAgent)
	// ErrAgentRevoked matches agent_revoked.
	ErrAgentRevoked = class("alter: agent revoked", ErrAgent)
	// ErrIdempotencyKeyBodyMismatch matches idempotency_key_body_mismatch.
	ErrIdempotencyKeyBodyMismatch = class("alter: idempotency key reused with another body", ErrAgent)
	// ErrIdempotencyKeyAgentRevoked matches idempotency_key_agent_revoked.
	ErrIdempotencyKeyAgentRevoked = class("alter: idempotency key names a revoked agent", ErrAgent)
	// ErrIdempotencyKeyAgentInactive matches idempotency_key_agent_inactive.
	ErrIdempotencyKeyAgentInactive = class("alter: idempotency key names an inactive agent", ErrAgent)
	// ErrAgentCannotMintSubagents matches agent_cannot_mint_subagents.
	ErrAgentCannotMintSubagents = class("alter: agents cannot create agents", ErrAgent)
	// ErrKeyAlreadyRevoked matches a 409 key_revoked on a key revocation.
	ErrKeyAlreadyRevoked = class("alter: key already revoked", ErrAgent)
	// ErrKeyNotFound matches key_not_found.
	ErrKeyNotFound = class("alter: key not found", ErrAgent)
	// ErrLastActiveKey matches last_active_key.
	ErrLastActiveKey = class("alter: last active key", ErrAgent)
	// ErrAgentKeyLimit matches agent_key_limit_reached.
	ErrAgentKeyLimit = class("alter: agent key limit reached", ErrAgent)

	// ErrConnectFlow is the umbrella of the Connect and Authenticate failures (ConnectFlowError).
	ErrConnectFlow = class("alter: connect flow failed", ErrAlter)
	// ErrConnectDenied: the user denied the authorization.
	ErrConnectDenied = class("alter: connect denied", ErrConnectFlow)
	// ErrConnectConfig: the session cannot start or finish because of configuration.
	ErrConnectConfig = class("alter: connect misconfigured", ErrConnectFlow)
	// ErrConnectTimeout: the flow was not completed in time. It also matches ErrTimeout and
	// context.DeadlineExceeded.
	ErrConnectTimeout = class("alter: connect timed out", ErrConnectFlow)

	// ErrProviderAPI matches every provider answer of 400 or more in retrieve mode.
	ErrProviderAPI = class("alter: provider API error", ErrAlter)
	// ErrScopeReauthRequired: the grant lacks provider scopes; send the user through Connect.
	ErrScopeReauthRequired = class("alter: provider scope re-authorization required", ErrProviderAPI)
	// ErrProviderUnauthorized: the provider refused the injected credential (401).
	ErrProviderUnauthorized = class("alter: provider refused the credential", ErrProviderAPI)

	// ErrNetwork matches a call that got no answer (connection refused, reset, DNS, timeout).
	ErrNetwork = class("alter: network error", ErrAlter)
	// ErrTimeout matches every timeout, whatever its source; such an error also matches
	// context.DeadlineExceeded.
	ErrTimeout = class("alter: timeout", ErrNetwork)

	// ErrApproval is the umbrella of the human-approval outcomes (ApprovalError).
	ErrApproval = class("alter: approval error", ErrAlter)
	// ErrApprovalDenied: the approver denied the call.
	ErrApprovalDenied = class("alter: approval denied", ErrApproval)
	// ErrApprovalExpired: nobody decided before the approval expired.
	ErrApprovalExpired = class("alter: approval expired", ErrApproval)
	// ErrApprovalExecutionFailed: approved, but executing the call failed.
	ErrApprovalExecutionFailed = class("alter: approved call failed", ErrApproval)
	// ErrApprovalTimeout: the local wait ended before a decision. It also matches ErrTimeout and
	// context.DeadlineExceeded.
	ErrApprovalTimeout = class("alter: approval wait timed out", ErrApproval)

	// ErrClosed is returned by every call made after Close.
	ErrClosed = class("alter: client closed", ErrAlter)
)

// APIError is an error answer of the vault. The typed errors below embed it; its class (Class)
// decides what it matches with errors.Is.
type APIError struct {
	Op         string         // operation id, e.g. "retrieveToken"
	Status     int            // HTTP status (0: the failure came inside a 200 answer)
	Code       ErrorCode      // the "error" field, verbatim; "" when absent
	Message    string         // the server's message, or the default text of the class
	Hint       string         // the "hint" field, when a string
	RequestID  string         // the X-Request-ID response header
	Details    map[string]any // the parsed body as alter-sdk keeps it, with "status_code"
	RetryAfter time.Duration  // the wait the vault asked for (0: none)

	kind error
}

// Class is the most specific class sentinel the error matches, e.g. ErrGrantExpired.
func (e *APIError) Class() error { return e.kind }

// Error implements error: "alter: <op>: <message> (<status> <code>)".
func (e *APIError) Error() string {
	b := errorHead(e.Op, e.Message)
	switch {
	case e.Status != 0 && e.Code != "":
		fmt.Fprintf(b, " (%d %s)", e.Status, scrub(string(e.Code)))
	case e.Status != 0:
		fmt.Fprintf(b, " (%d)", e.Status)
	case e.Code != "":
		fmt.Fprintf(b, " (%s)", scrub(string(e.Code)))
	}
	return b.String()
}

// errorHead starts an error text: "alter: <op>: <message>" (no "<op>: " when op is empty).
func errorHead(op, message string) *strings.Builder {
	b := new(strings.Builder)
	b.WriteString("alter: ")
	if op != "" {
		b.WriteString(op)
		b.WriteString(": ")
	}
	b.WriteString(scrub(message))
	return b
}

// Is matches the error's class and every class above it.
func (e *APIError) Is(target error) bool { return classOr(e.kind, ErrBackend, target) }

// GoString keeps %#v to the error text: Details may hold identifiers not meant for logs.
func (e *APIError) GoString() string { return goString("APIError", e) }

func goString(typ string, err error) string {
	return "&facade." + typ + "{" + strconv.Quote(err.Error()) + "}"
}

// GrantExpiredError matches ErrGrantExpired and ErrReAuthRequired.
type GrantExpiredError struct {
	*APIError
	ProviderID string
	AgentID    string
	AppUserID  string
}

// GrantRevokedError matches ErrGrantRevoked and ErrReAuthRequired.
type GrantRevokedError struct {
	*APIError
	GrantID string
}

// CredentialRevokedError matches ErrCredentialRevoked and ErrReAuthRequired.
type CredentialRevokedError struct {
	*APIError
	GrantID    string
	ProviderID string
	AppUserID  string
}

// GrantNotFoundError matches ErrGrantNotFound (and ErrAgentDelegationMissing on Agent calls).
type GrantNotFoundError struct {
	*APIError
	ProviderID string
	AgentID    string
	AppUserID  string
}

// NoDelegatedGrantError matches ErrNoDelegatedGrant.
type NoDelegatedGrantError struct {
	*APIError
	ProviderID string
	AgentID    string
	AppUserID  string
}

// GrantCandidate is one grant an ambiguous request could mean.
type GrantCandidate struct {
	GrantID            string
	Label              string
	AccountIdentifier  string
	AccountDisplayName string
}

// AmbiguousGrantError matches ErrAmbiguousGrant: several grants fit; choose one by account or
// grant id.
type AmbiguousGrantError struct {
	*APIError
	ProviderID          string
	AccountIdentifiers  []string
	AppUserIDs          []string
	GrantIDs            []string
	Candidates          []GrantCandidate
	AccountWasProvided  bool
	CandidatesTruncated bool
}

// PolicyViolationError matches ErrPolicyViolation; PolicyError is the code that refused.
type PolicyViolationError struct {
	*APIError
	PolicyError string
}

// StepUpRequiredError matches ErrStepUpRequired and ErrPolicyViolation.
type StepUpRequiredError struct {
	*PolicyViolationError
	MaxSessionAgeSeconds *int // the session age the policy accepts, when given
}

// RedactDischargeFailedError matches ErrRedactDischargeFailed and ErrPolicyViolation: a
// content_match redact rule fired and the vault could not strip its fields from the forwarded
// body, so it refused the call (an unredacted body is never forwarded).
type RedactDischargeFailedError struct {
	*PolicyViolationError
}

// GrantNotDelegableError matches ErrGrantNotDelegable.
type GrantNotDelegableError struct {
	*APIError
	DetailReason string
}

// SiblingLabelConflictError matches ErrSiblingLabelConflict.
type SiblingLabelConflictError struct {
	*APIError
	Label string
}

// CredentialChoice is one credential a credential_id_required answer offers.
type CredentialChoice struct {
	ID    string
	Label string
}

// CredentialIDRequiredError matches ErrCredentialIDRequired: choose one of Credentials.
type CredentialIDRequiredError struct {
	*APIError
	Credentials []CredentialChoice
}

// InsufficientScopeError matches ErrInsufficientScope: the key's scopes do not cover the route.
type InsufficientScopeError struct {
	*APIError
	Required             []string
	Granted              []string
	Missing              []string
	ScopeVersion         *int
	CurrentScopeVersion  *int
	ScopeVersionMismatch bool
	RequiredAnyOf        bool // any one of Required suffices
	DocumentationURL     string
}

// TokenRefreshInProgressError matches ErrTokenRefreshInProgress (transient; retry later).
type TokenRefreshInProgressError struct {
	*APIError
	GrantID string
}

// QuotaExceededError matches ErrQuotaExceeded; RetryAfter says when the quota resets.
type QuotaExceededError struct {
	*APIError
}

// RateLimitError matches ErrRateLimit; RetryAfter says when to try again.
type RateLimitError struct {
	*APIError
	Scope         RateLimitScope // the ceiling hit ("" when the answer named none)
	Limit         *int           // requests allowed per window, when given
	WindowSeconds *int           // the window, when given
}

// RateLimitScope names the ceiling a RateLimitError hit. The set is open: treat a value not
// listed here as "some ceiling was hit", never as malformed.
type RateLimitScope string

// The rate-limit scopes an SDK key can meet (alter-sdk's RATE_LIMIT_SCOPE_VALUES).
const (
	RateLimitScopeIP           RateLimitScope = "ip"
	RateLimitScopeAPIKey       RateLimitScope = "api_key"
	RateLimitScopeOrganization RateLimitScope = "organization"
)

// RateLimitScopes returns the known rate-limit scopes, in alter-sdk's order.
func RateLimitScopes() []RateLimitScope {
	return []RateLimitScope{RateLimitScopeIP, RateLimitScopeAPIKey, RateLimitScopeOrganization}
}

// ConnectError is a Connect or Authenticate failure (ConnectFlowError): it matches
// ErrConnectFlow and one of ErrConnectDenied, ErrConnectConfig, ErrConnectTimeout. A timeout
// also matches ErrTimeout and context.DeadlineExceeded, and unwraps to its cause.
type ConnectError struct {
	*APIError
	Reason string // why a timeout ended the wait (e.g. "expired", "timeout"); "" otherwise

	cause error
}

// ApprovalError is a human-approval outcome: it matches ErrApproval and one of
// ErrApprovalDenied, ErrApprovalExpired, ErrApprovalExecutionFailed, ErrApprovalTimeout. A
// timeout also matches ErrTimeout and context.DeadlineExceeded, and unwraps to its cause.
type ApprovalError struct {
	*APIError
	ApprovalID string

	cause error
}

// Unwrap returns the embedded *APIError, so errors.As finds it.
func (e *GrantExpiredError) Unwrap() error { return e.APIError }

// Unwrap returns the embedded *APIError.
func (e *GrantRevokedError) Unwrap() error { return e.APIError }

// Unwrap returns the embedded *APIError.
func (e *CredentialRevokedError) Unwrap() error { return e.APIError }

// Unwrap returns the embedded *APIError.
func (e *GrantNotFoundError) Unwrap() error { return e.APIError }

// Unwrap returns the embedded *APIError.
func (e *NoDelegatedGrantError) Unwrap() error { return e.APIError }

// Unwrap returns the embedded *APIError.
func (e *AmbiguousGrantError) Unwrap() error { return e.APIError }

// Unwrap returns the embedded *APIError.
func (e *PolicyViolationError) Unwrap() error { return e.APIError }

// Unwrap returns the embedded *PolicyViolationError.
func (e *StepUpRequiredError) Unwrap() error { return e.PolicyViolationError }

// Unwrap returns the embedded *PolicyViolationError.
func (e *RedactDischargeFailedError) Unwrap() error { return e.PolicyViolationError }

// Unwrap returns the embedded *APIError.
func (e *GrantNotDelegableError) Unwrap() error { return e.APIError }

// Unwrap returns the embedded *APIError.
func (e *SiblingLabelConflictError) Unwrap() error { return e.APIError }

// Unwrap returns the embedded *APIError.
func (e *CredentialIDRequiredError) Unwrap() error { return e.APIError }

// Unwrap returns the embedded *APIError.
func (e *InsufficientScopeError) Unwrap() error { return e.APIError }

// Unwrap returns the embedded *APIError.
func (e *TokenRefreshInProgressError) Unwrap() error { return e.APIError }

// Unwrap returns the embedded *APIError.
func (e *QuotaExceededError) Unwrap() error { return e.APIError }

// Unwrap returns the embedded *APIError.
func (e *RateLimitError) Unwrap() error { return e.APIError }

// GoString implements fmt.GoStringer without the details.
func (e *GrantExpiredError) GoString() string { return goString("GrantExpiredError", e) }

// GoString implements fmt.GoStringer without the details.
func (e *GrantRevokedError) GoString() string { return goString("GrantRevokedError", e) }

// GoString implements fmt.GoStringer without the details.
func (e *CredentialRevokedError) GoString() string { return goString("CredentialRevokedError", e) }

// GoString implements fmt.GoStringer without the details.
func (e *GrantNotFoundError) GoString() string { return goString("GrantNotFoundError", e) }

// GoString implements fmt.GoStringer without the details.
func (e *NoDelegatedGrantError) GoString() string { return goString("NoDelegatedGrantError", e) }

// GoString implements fmt.GoStringer without the details.
func (e *AmbiguousGrantError) GoString() string { return goString("AmbiguousGrantError", e) }

// GoString implements fmt.GoStringer without the details.
func (e *PolicyViolationError) GoString() string { return goString("PolicyViolationError", e) }

// GoString implements fmt.GoStringer without the details.
func (e *StepUpRequiredError) GoString() string { return goString("StepUpRequiredError", e) }

// GoString implements fmt.GoStringer without the details.
func (e *RedactDischargeFailedError) GoString() string {
	return goString("RedactDischargeFailedError", e)
}

// GoString implements fmt.GoStringer without the details.
func (e *GrantNotDelegableError) GoString() string { return goString("GrantNotDelegableError", e) }

// GoString implements fmt.GoStringer without the details.
func (e *SiblingLabelConflictError) GoString() string {
	return goString("SiblingLabelConflictError", e)
}

// GoString implements fmt.GoStringer without the details.
func (e *CredentialIDRequiredError) GoString() string {
	return goString("CredentialIDRequiredError", e)
}

// GoString implements fmt.GoStringer without the details.
func (e *InsufficientScopeError) GoString() string { return goString("InsufficientScopeError", e) }

// GoString implements fmt.GoStringer without the details.
func (e *TokenRefreshInProgressError) GoString() string {
	return goString("TokenRefreshInProgressError", e)
}

// GoString implements fmt.GoStringer without the details.
func (e *QuotaExceededError) GoString() string { return goString("QuotaExceededError", e) }

// GoString implements fmt.GoStringer without the details.
func (e *RateLimitError) GoString() string { return goString("RateLimitError", e) }

// GoString implements fmt.GoStringer without the details.
func (e *ConnectError) GoString() string { return goString("ConnectError", e) }

// GoString implements fmt.GoStringer without the details.
func (e *ApprovalError) GoString() string { return goString("ApprovalError", e) }

// Is matches the class of the failure; a timeout also matches ErrTimeout and
// context.DeadlineExceeded.
func (e *ConnectError) Is(target error) bool {
	return timeoutClassIs(e.kind, ErrConnectTimeout, target)
}

// Unwrap returns the cause of a timeout (e.g. the ctx error), else the embedded *APIError.
func (e *ConnectError) Unwrap() []error { return withCause(e.APIError, e.cause) }

// Is matches the class of the outcome; a timeout also matches ErrTimeout and
// context.DeadlineExceeded.
func (e *ApprovalError) Is(target error) bool {
	return timeoutClassIs(e.kind, ErrApprovalTimeout, target)
}

// Unwrap returns the embedded *APIError and the cause of a timeout, if any.
func (e *ApprovalError) Unwrap() []error { return withCause(e.APIError, e.cause) }

// ProviderAPIError is a provider answer of 400 or more in retrieve mode (the vault was not
// involved in the answer). It never holds the injected credential: URL has no query, Header
// has no credential-bearing header, and Error() holds neither body nor headers.
type ProviderAPIError struct {
	Op         string
	Status     int            // the provider's HTTP status
	Message    string         // what happened, in words
	Method     string         // provider request method
	URL        string         // provider URL without its query string
	Header     http.Header    // provider answer headers, credential-bearing ones removed
	Body       string         // the provider body as audited (at most 10,000 bytes of UTF-8)
	GrantID    uuid.UUID      // the grant whose credential was used (zero: unknown)
	ProviderID string         // the grant's provider
	Details    map[string]any // context as alter-sdk keeps it (grant_id, method, url, source…)

	kind error
}

// Error implements error.
func (e *ProviderAPIError) Error() string {
	b := errorHead(e.Op, e.Message)
	if e.Method != "" || e.URL != "" {
		fmt.Fprintf(b, " (%s %s", e.Method, scrub(e.URL))
		if e.Status != 0 {
			fmt.Fprintf(b, " answered %d", e.Status)
		}
		b.WriteString(")")
	} else if e.Status != 0 {
		fmt.Fprintf(b, " (%d)", e.Status)
	}
	return b.String()
}

// Is matches ErrProviderAPI and the error's own class.
func (e *ProviderAPIError) Is(target error) bool { return classOr(e.kind, ErrProviderAPI, target) }

// GoString implements fmt.GoStringer without headers or body.
func (e *ProviderAPIError) GoString() string { return goString("ProviderAPIError", e) }

// ScopeReauthRequiredError: the grant lacks scopes the provider or the vault asked for; send the
// user through Connect again. It matches ErrScopeReauthRequired and ErrProviderAPI (not
// ErrBackend, even when the vault raised it).
type ScopeReauthRequiredError struct {
	*ProviderAPIError
	Source        string   // "provider_insufficient_scope" or "backend_flag"
	MissingScopes []string // the scopes the provider's challenge named; nil when unknown
}

// Unwrap returns the embedded *ProviderAPIError.
func (e *ScopeReauthRequiredError) Unwrap() error { return e.ProviderAPIError }

// GoString implements fmt.GoStringer without headers or body.
func (e *ScopeReauthRequiredError) GoString() string {
	return goString("ScopeReauthRequiredError", e)
}

// ProviderUnauthorizedError: the provider answered 401 to the injected credential; the
// credential is dead provider-side. It matches ErrProviderUnauthorized and ErrProviderAPI.
type ProviderUnauthorizedError struct {
	*ProviderAPIError
}

// Unwrap returns the embedded *ProviderAPIError.
func (e *ProviderUnauthorizedError) Unwrap() error { return e.ProviderAPIError }

// GoString implements fmt.GoStringer without headers or body.
func (e *ProviderUnauthorizedError) GoString() string {
	return goString("ProviderUnauthorizedError", e)
}

// NetworkError is a call that got no answer. It matches ErrNetwork; a timeout also matches
// ErrTimeout and context.DeadlineExceeded; it unwraps to the cause (so a cancellation matches
// context.Canceled).
type NetworkError struct {
	Op  string
	Err error // the cause, with any URL query removed

	timeout bool
}

// Error implements error.
func (e *NetworkError) Error() string {
	what := "network error"
	if e.timeout {
		what = "timed out"
	}
	if e.Err == nil {
		return "alter: " + e.Op + ": " + what
	}
	return "alter: " + e.Op + ": " + what + ": " + scrub(e.Err.Error())
}

// Unwrap returns the cause.
func (e *NetworkError) Unwrap() error { return e.Err }

// Is matches ErrNetwork, and ErrTimeout and context.DeadlineExceeded for a timeout.
func (e *NetworkError) Is(target error) bool {
	switch target {
	case ErrNetwork, ErrAlter:
		return true
	case ErrTimeout, context.DeadlineExceeded:
		return e.timeout
	}
	return false
}

// GoString implements fmt.GoStringer.
func (e *NetworkError) GoString() string { return goString("NetworkError", e) }

// ErrInvalidInput matches every *InputError: a call refused locally, before any network I/O
// (AlterValueError).
var ErrInvalidInput = class("alter: invalid input", ErrAlter)

// Rules of the identity model and of the request shape, each its own sentinel (in
// InputError.Rule) so callers and tests can tell them apart.
var (
	// ErrMissingAPIKey: the API key is empty.
	ErrMissingAPIKey = errors.New("alter: missing API key")
	// ErrCallerTypeOnAgent: WithCallerType passed to NewAgent (an Agent is always "agent").
	ErrCallerTypeOnAgent = errors.New("alter: WithCallerType is App-only")
	// ErrGrantAndProvider: both GrantID and Provider were set.
	ErrGrantAndProvider = errors.New("alter: GrantID and Provider are mutually exclusive")
	// ErrNoGrantSelector: neither GrantID nor Provider was set.
	ErrNoGrantSelector = errors.New("alter: GrantID or Provider is required")
	// ErrAccountWithoutProvider: Account was set without Provider.
	ErrAccountWithoutProvider = errors.New("alter: Account needs Provider")
	// ErrForbiddenHeader: a proxied call tried to forward a credential header.
	ErrForbiddenHeader = errors.New("alter: header may not be forwarded")
)

// InputError is a call refused locally, before any network I/O. It matches ErrInvalidInput and
// its Rule sentinel (e.g. ErrGrantAndProvider).
type InputError struct {
	Field  string // the offending option or parameter, e.g. "RequestParams.GrantID"
	Reason string // what is wrong and what to do instead
	Rule   error  // the rule broken, or nil
}

// Error implements error.
func (e *InputError) Error() string {
	if e.Field == "" {
		return "alter: invalid input: " + e.Reason
	}
	return "alter: invalid input: " + e.Field + ": " + e.Reason
}

// Is matches ErrInvalidInput and ErrAlter.
func (e *InputError) Is(target error) bool { return classIs(ErrInvalidInput, target) }

// Unwrap returns the rule sentinel.
func (e *InputError) Unwrap() error { return e.Rule }

func inputErr(field, reason string, rule error) error {
	return &InputError{Field: field, Reason: reason, Rule: rule}
}

// secretPattern finds what looks like a credential in text a server or a library wrote:
// Alter keys, JWTs, bearer values. Error strings never carry one, whoever echoed it.
var secretPattern = regexp.MustCompile(`alter_(?:key|rk|ak|dk|pk)_[A-Za-z0-9_-]+|eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*|(?i:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}`)

func scrub(s string) string {
	if !strings.Contains(s, "alter_") && !strings.Contains(s, "eyJ") && !strings.Contains(strings.ToLower(s), "bearer") && !strings.Contains(strings.ToLower(s), "basic") {
		return s
	}
	return secretPattern.ReplaceAllString(s, "[redacted]")
}

// errorSurface names the mapper alter-sdk 0.29.0 applies to an endpoint's error answers.
type errorSurface uint8

const (
	surfaceShared       errorSurface = iota // the main mapper (_handle_error_response)
	surfaceAgents                           // the agents namespace (#20–#30)
	surfaceProxy                            // /sdk/proxy and the approval result: approval_* first, then shared
	surfaceApprovalPoll                     // GET /sdk/approvals/{id}: an untyped BackendError
	surfaceToken                            // POST /sdk/token: shared, a Connect-class refusal made a BackendError
)

// The ceilings on a Retry-After: a rate limit never asks for more than an hour, a quota period
// is at most 31 days; anything larger is a malformed or rewritten value.
const (
	maxRateLimitRetryAfter = 3600
	maxQuotaRetryAfter     = 2678400
)

// errorBody is a parsed error answer as alter-sdk keeps it.
type errorBody struct {
	data     map[string]any // the object (the inner "detail" object when there is one) + status_code
	nonJSON  bool           // the bytes are not JSON at all
	isObject bool           // the JSON was an object
}

func parseErrorBody(status int, body []byte) errorBody {
	v, err := decodeJSONValue(body)
	if err != nil {
		return errorBody{nonJSON: true, data: map[string]any{
			"message":     fmt.Sprintf("Backend returned a non-JSON error (HTTP %d)", status),
			"status_code": status,
		}}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return errorBody{data: map[string]any{"message": "Unknown error", "status_code": status}}
	}
	if inner, ok := obj["detail"].(map[string]any); ok {
		obj = inner
	}
	obj["status_code"] = status
	return errorBody{data: obj, isObject: true}
}

// decodeJSONValue decodes one JSON value keeping the int/float distinction of the wire: an
// integer literal becomes an int (float64 when it does not fit), anything else a float64.
func decodeJSONValue(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the JSON value")
	}
	return normalizeNumbers(v), nil
}

func normalizeNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if !strings.ContainsAny(string(t), ".eE") {
			if i, err := strconv.Atoi(string(t)); err == nil {
				return i
			}
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, x := range t {
			t[k] = normalizeNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = normalizeNumbers(x)
		}
	}
	return v
}

// str is m[k] when it is a string.
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// isTrue is true only for a JSON true.
func isTrue(m map[string]any, k string) bool {
	b, ok := m[k].(bool)
	return ok && b
}

// strictInt is an integer literal (not an integral float, not a bool), as alter-sdk's
// isinstance(x, int).
func strictInt(m map[string]any, k string) *int {
	if i, ok := m[k].(int); ok {
		return &i
	}
	return nil
}

// countOf accepts only a non-negative integral number (60 and 60.0; not true, -1 or 60.5).
func countOf(v any) (int, bool) {
	switch t := v.(type) {
	case int:
		return t, t >= 0
	case float64:
		// Integral floats (60.0) count; one past any sane clamp is kept as the largest int so
		// the clamp, not an overflow, decides.
		if t >= 0 && t == math.Trunc(t) && !math.IsInf(t, 0) {
			if t >= float64(math.MaxInt) {
				return math.MaxInt, true
			}
			return int(t), true
		}
	}
	return 0, false
}

func countPtr(m map[string]any, k string) *int {
	if n, ok := countOf(m[k]); ok {
		return &n
	}
	return nil
}

func strList(v any) []string {
	l, ok := v.([]any)
	if !ok {
		return []string{}
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// objList is the objects of a JSON list; other items are skipped.
func objList(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// messageOr is the server's message when it is a non-empty string, else the class's default.
func messageOr(m map[string]any, fallback string) string {
	if s := str(m, "message"); s != "" {
		return s
	}
	return fallback
}

// retryAfterSeconds resolves a wait: the Retry-After header wins when it is ASCII digits, else
// the body value when it is a non-negative integral number; both are clamped to limit.
func retryAfterSeconds(header string, body any, limit int) (int, bool) {
	h := strings.TrimSpace(header)
	if h != "" && strings.Trim(h, "0123456789") == "" {
		sig := strings.TrimLeft(h, "0")
		if sig == "" {
			return 0, true
		}
		if len(sig) > len(strconv.Itoa(limit)) {
			return limit, true
		}
		n, _ := strconv.Atoi(sig)
		return min(n, limit), true
	}
	if n, ok := countOf(body); ok {
		return min(n, limit), true
	}
	return 0, false
}

// retryAfterHeader is the first Retry-After header value ("" when absent).
func retryAfterHeader(h http.Header) string {
	if h == nil {
		return ""
	}
	return h.Get("Retry-After")
}

// decodeVaultError turns a vault answer with status >= 400 into the typed error of the
// endpoint's surface. It never panics, whatever the body.
func decodeVaultError(op string, surface errorSurface, status int, h http.Header, body []byte) error {
	switch surface {
	case surfaceAgents:
		return decodeAgentsError(op, status, h, body)
	case surfaceProxy:
		return decodeProxyError(op, status, h, body)
	case surfaceApprovalPoll:
		return decodeApprovalPollError(op, status, h, body)
	case surfaceToken:
		return tokenError(decodeSharedError(op, status, h, body))
	default:
		return decodeSharedError(op, status, h, body)
	}
}

// newAPIError fills the base of every vault error.
func newAPIError(op string, status int, h http.Header, data map[string]any, kind error, message string) *APIError {
	e := &APIError{Op: op, Status: status, Code: ErrorCode(str(data, "error")), Message: message,
		Hint: str(data, "hint"), Details: data, kind: kind}
	if h != nil {
		e.RequestID = h.Get("X-Request-ID")
	}
	return e
}

// withNested is the body with its nested "details" object merged under the top level.
func withNested(data map[string]any) map[string]any {
	nested, ok := data["details"].(map[string]any)
	if !ok {
		return data
	}
	out := make(map[string]any, len(nested)+len(data))
	for k, v := range nested {
		out[k] = v
	}
	for k, v := range data {
		out[k] = v
	}
	return out
}

func decodeSharedError(op string, status int, h http.Header, body []byte) error {
	if status == http.StatusTooManyRequests {
		if _, err := decodeJSONValue(body); err != nil {
			return nonJSONRateLimit(op, h)
		}
	}
	data := parseErrorBody(status, body).data
	code := str(data, "error")
	base := func(kind error, fallback string) *APIError {
		return newAPIError(op, status, h, data, kind, messageOr(data, fallback))
	}
	switch status {
	case http.StatusForbidden:
		return forbiddenError(op, status, h, data, code)
	case http.StatusConflict:
		return conflictError(op, status, h, data, code)
	case http.StatusGone:
		return base(ErrGrantDeleted, "Grant has been deleted. A new grant_id will be issued on re-authorization.")
	case http.StatusNotFound:
		switch code {
		case "no_delegated_grant":
			return noDelegatedGrant(base(ErrNoDelegatedGrant, "Agent has no active delegation or managed-secret grant for this provider."))
		case "caller_agent_unresolved":
			return base(ErrAgentNotFound, "caller does not name an active managed agent for this app")
		case "agent_not_found":
			return base(ErrAgentNotFound, "No active managed agent matches the requested agent in this app")
		case "secret_not_found":
			return connectConfig(base(ErrConnectConfig, "No active managed-secret provider of this app has the requested slug."))
		}
		e := base(ErrGrantNotFound, "OAuth grant not found for the given grant_id")
		return &GrantNotFoundError{APIError: e, ProviderID: str(data, "provider_id"),
			AgentID: str(data, "agent_id"), AppUserID: str(data, "app_user_id")}
	case http.StatusBadRequest, http.StatusBadGateway:
		switch code {
		case "caller_agent_mismatch":
			return base(ErrCallerAgentMismatch, "Caller agent identity does not match the API key.")
		case "grant_revoked":
			return grantRevoked(base(ErrGrantRevoked, "Grant has been revoked. User must re-authorize."))
		case "credential_revoked":
			return credentialRevoked(base(ErrCredentialRevoked, "Underlying OAuth connection has been revoked. User must re-authorize."))
		case "restricted_grant_requires_proxy", "delegated_grant_requires_proxy", "hitl_grant_requires_proxy", "user_limits_require_proxy":
			return base(ErrRestrictedGrantRequiresProxy, "This grant is proxy-only (it is restricted, delegated, scope-narrowed, requires approval, or its user set a usage limit) and can only be used through the proxy. Use ProxyRequest instead of Request.")
		}
		return base(ErrBackend, fmt.Sprintf("Backend error %d", status))
	case http.StatusUnauthorized:
		if code == "jwt_validation_error" {
			return base(ErrReAuthRequired, "user_token validation failed")
		}
		if c, ok := keyErrorClasses[code]; ok {
			return base(c.kind, c.fallback)
		}
		return base(ErrBackend, "Unauthorized — check your API key")
	case http.StatusTooManyRequests:
		switch code {
		case "quota_exceeded":
			e := base(ErrQuotaExceeded, "Request quota exceeded for the current window.")
			if n, ok := retryAfterSeconds(retryAfterHeader(h), data["retry_after"], maxQuotaRetryAfter); ok {
				e.RetryAfter = time.Duration(n) * time.Second
			}
			return &QuotaExceededError{APIError: e}
		case "rate_limit_exceeded":
			return rateLimit(op, status, h, data)
		}
	case http.StatusInternalServerError, http.StatusServiceUnavailable:
		e := serverError(op, status, h, data, code)
		return e
	}
	switch code {
	case "secret_template_mismatch":
		return connectConfig(base(ErrConnectConfig, "The provider slug names a managed-secret provider that is not of the requested template."))
	case "blocked_destination":
		e := newAPIError(op, status, h, data, ErrBlockedDestination, "Destination is not permitted. Check the provider host and URL.")
		if e.RequestID != "" {
			data["request_id"] = e.RequestID
		}
		return e
	}
	return base(ErrBackend, fmt.Sprintf("Unexpected backend error (HTTP %d)", status))
}

// tokenError is the credential fetch's view of a shared-table error: alter-sdk lets its typed
// vault errors through, but turns any other class (the Connect configuration codes, e.g. an
// unknown managed-secret provider) into a BackendError "Failed to retrieve token: …". The code
// and the body stay in Code and Details.
func tokenError(err error) error {
	var ce *ConnectError
	if !errors.As(err, &ce) {
		return err
	}
	e := *ce.APIError
	e.kind = ErrBackend
	e.Message = "Failed to retrieve token: " + e.Message
	return &e
}

// serverError maps a 500 or 503, noting the Retry-After header in details as alter-sdk does.
func serverError(op string, status int, h http.Header, data map[string]any, code string) error {
	var wait time.Duration
	if n, ok := retryAfterSeconds(retryAfterHeader(h), nil, maxRateLimitRetryAfter); ok {
		data["retry_after_seconds"] = n
		wait = time.Duration(n) * time.Second
	}
	kind, fallback := ErrBackend, fmt.Sprintf("Backend unavailable (HTTP %d)", status)
	switch code {
	case "caller_agent_resolution_error":
		kind, fallback = ErrCallerAgentResolution, "Managed-agent identity could not be resolved"
	case "app_not_found_for_key":
		kind, fallback = ErrKeyAppNotFound, "App not found for API key"
	}
	e := newAPIError(op, status, h, data, kind, messageOr(data, fallback))
	e.RetryAfter = wait
	return e
}

// keyErrorClasses are the classes of a 401 naming the key or the agent, with their default
// text.
var keyErrorClasses = map[string]struct {
	kind     error
	fallback string
}{
	"invalid_key":               {ErrInvalidKey, "Invalid API key"},
	"key_revoked":               {ErrKeyRevoked, "API key has been revoked"},
	"key_expired":               {ErrKeyExpired, "API key has expired"},
	"key_rotated_grace_expired": {ErrKeyRotationExpired, "API key rotation grace period has expired"},
	"key_not_active":            {ErrKeyInactive, "API key is not active"},
	"agent_inactive":            {ErrAgentInactive, "Agent is inactive"},
	"agent_revoked":             {ErrAgentRevoked, "Agent is revoked"},
}

func forbiddenError(op string, status int, h http.Header, data map[string]any, code string) error {
	base := func(kind error, fallback string) *APIError {
		return newAPIError(op, status, h, data, kind, messageOr(data, fallback))
	}
	switch code {
	case "insufficient_scope":
		return insufficientScope(op, status, h, data)
	case "grant_expired":
		e := base(ErrGrantExpired, "Grant expired per TTL policy")
		e.Details = withNested(data)
		return &GrantExpiredError{APIError: e, ProviderID: str(data, "provider_id"),
			AgentID: str(data, "agent_id"), AppUserID: str(data, "app_user_id")}
	case "grant_revoked":
		return grantRevoked(base(ErrGrantRevoked, "Grant has been revoked. User must re-authorize."))
	case "credential_revoked":
		return credentialRevoked(base(ErrCredentialRevoked, "Underlying OAuth connection has been revoked. User must re-authorize."))
	case "restricted_grant_requires_proxy":
		return base(ErrRestrictedGrantRequiresProxy, "This grant carries method/endpoint restrictions and can only be used through the proxy. Use ProxyRequest.")
	case "grant_not_delegable":
		e := base(ErrGrantNotDelegable, "This grant is not delegable — the user must allow onward sharing (delegable on the Connect session, or in the wallet), within the credential's operator ceiling.")
		return &GrantNotDelegableError{APIError: e, DetailReason: str(data, "detail_reason")}
	case "scope_mismatch":
		nested, _ := data["details"].(map[string]any)
		details := make(map[string]any, len(nested)+1)
		for k, v := range nested {
			details[k] = v
		}
		details["source"] = "backend_flag"
		gid, _ := uuid.Parse(str(details, "grant_id"))
		pe := &ProviderAPIError{Op: op, Status: http.StatusForbidden, Message: messageOr(data, "Grant is missing required scopes"),
			GrantID: gid, ProviderID: str(details, "provider_id"), Details: details, kind: ErrScopeReauthRequired}
		return &ScopeReauthRequiredError{ProviderAPIError: pe, Source: "backend_flag"}
	case "step_up_required":
		e := base(ErrStepUpRequired, "This request requires a fresh (stepped-up) session — re-authenticate the user and retry.")
		return &StepUpRequiredError{PolicyViolationError: &PolicyViolationError{APIError: e, PolicyError: code},
			MaxSessionAgeSeconds: strictInt(data, "max_session_age_seconds")}
	case "redact_discharge_failed":
		e := base(ErrRedactDischargeFailed, "The redact obligation could not be applied to the request body, so the request was denied.")
		return &RedactDischargeFailedError{PolicyViolationError: &PolicyViolationError{APIError: e, PolicyError: code}}
	}
	e := base(ErrPolicyViolation, "Access denied by policy")
	e.Details = withNested(data)
	return &PolicyViolationError{APIError: e, PolicyError: code}
}

func conflictError(op string, status int, h http.Header, data map[string]any, code string) error {
	base := func(kind error, fallback string) *APIError {
		return newAPIError(op, status, h, data, kind, messageOr(data, fallback))
	}
	switch code {
	case "managed_oauth_scope_approval_required":
		return connectConfig(base(ErrConnectConfig, "The requested permissions require managed OAuth approval."))
	case "idp_signin_not_configured":
		return connectConfig(base(ErrConnectConfig, "The application's identity provider is not set up for delegation approval sign-in."))
	case "no_eligible_grants":
		return connectConfig(base(ErrConnectConfig, "The user has no managed-secret grant this agent can be delegated from."))
	case "binding_hosts_required":
		return connectConfig(base(ErrConnectConfig, "This managed-secret provider needs host patterns before a user can enter a key."))
	case "provider_contract_repair_required":
		return connectConfig(base(ErrConnectConfig, "This managed-secret provider's developer credential must be rotated once before a user can enter a key."))
	case "token_refresh_in_progress":
		e := base(ErrTokenRefreshInProgress, "Token refresh in progress. Retry after a short delay.")
		return &TokenRefreshInProgressError{APIError: e, GrantID: str(data, "grant_id")}
	case "ambiguous_grant":
		return ambiguousGrant(base(ErrAmbiguousGrant, "JWT identity resolved to multiple grants. Pass the account parameter to disambiguate."))
	case "sibling_label_conflict":
		e := base(ErrSiblingLabelConflict, "An active sibling grant with this label already exists on this credential. Pick a different label or revoke the existing grant first.")
		return &SiblingLabelConflictError{APIError: e, Label: str(data, "label")}
	case "credential_id_required":
		e := base(ErrCredentialIDRequired, "This managed-secret provider holds several developer credentials; pass the credential id to choose the one the grant serves.")
		out := &CredentialIDRequiredError{APIError: e, Credentials: []CredentialChoice{}}
		if nested, ok := data["details"].(map[string]any); ok {
			for _, m := range objList(nested["credentials"]) {
				id, okID := m["id"].(string)
				label, okLabel := m["label"].(string)
				if okID && okLabel {
					out.Credentials = append(out.Credentials, CredentialChoice{ID: id, Label: label})
				}
			}
		}
		return out
	case "end_user_credential_not_assignable":
		return base(ErrEndUserCredentialNotAssignable, "That credential is an end user's own key; it has one grant (the user's) and is never assigned.")
	case "no_delegated_grant":
		return noDelegatedGrant(base(ErrNoDelegatedGrant, "Agent has no active delegation or managed-secret grant for this provider."))
	}
	return base(ErrBackend, fmt.Sprintf("Conflict (HTTP %d)", http.StatusConflict))
}

func grantRevoked(e *APIError) error {
	return &GrantRevokedError{APIError: e, GrantID: str(e.Details, "grant_id")}
}

func credentialRevoked(e *APIError) error {
	return &CredentialRevokedError{APIError: e, GrantID: str(e.Details, "grant_id"),
		ProviderID: str(e.Details, "provider_id"), AppUserID: str(e.Details, "app_user_id")}
}

func noDelegatedGrant(e *APIError) error {
	return &NoDelegatedGrantError{APIError: e, ProviderID: str(e.Details, "provider_id"),
		AgentID: str(e.Details, "agent_id"), AppUserID: str(e.Details, "app_user_id")}
}

func connectConfig(e *APIError) error { return &ConnectError{APIError: e} }

func ambiguousGrant(e *APIError) error {
	d := e.Details
	out := &AmbiguousGrantError{APIError: e, ProviderID: str(d, "provider_id"),
		AccountIdentifiers: strList(d["account_identifiers"]), AppUserIDs: strList(d["app_user_ids"]),
		GrantIDs: strList(d["grant_ids"]), Candidates: []GrantCandidate{},
		AccountWasProvided: isTrue(d, "account_was_provided"), CandidatesTruncated: isTrue(d, "candidates_truncated")}
	for _, m := range objList(d["candidates"]) {
		gid, ok := m["grant_id"].(string)
		if !ok {
			continue
		}
		out.Candidates = append(out.Candidates, GrantCandidate{GrantID: gid, Label: str(m, "label"),
			AccountIdentifier: str(m, "account_identifier"), AccountDisplayName: str(m, "account_display_name")})
	}
	return out
}

func insufficientScope(op string, status int, h http.Header, data map[string]any) error {
	e := newAPIError(op, status, h, data, ErrInsufficientScope, messageOr(data, "Insufficient scope"))
	return &InsufficientScopeError{APIError: e, Required: strList(data["required"]), Granted: strList(data["granted"]),
		Missing: strList(data["missing"]), ScopeVersion: strictInt(data, "scope_version"),
		CurrentScopeVersion: strictInt(data, "current_scope_version"), ScopeVersionMismatch: isTrue(data, "scope_version_mismatch"),
		RequiredAnyOf: isTrue(data, "required_any_of"), DocumentationURL: str(data, "documentation_url")}
}

func rateLimit(op string, status int, h http.Header, data map[string]any) error {
	e := newAPIError(op, status, h, data, ErrRateLimit, messageOr(data, "Rate limit exceeded — retry after the window resets."))
	if n, ok := retryAfterSeconds(retryAfterHeader(h), data["retry_after"], maxRateLimitRetryAfter); ok {
		e.RetryAfter = time.Duration(n) * time.Second
	}
	return &RateLimitError{APIError: e, Scope: RateLimitScope(str(data, "scope")), Limit: countPtr(data, "limit"),
		WindowSeconds: countPtr(data, "window_seconds")}
}

// nonJSONRateLimit is a 429 from an intermediary: none of its body is kept.
func nonJSONRateLimit(op string, h http.Header) error {
	data := map[string]any{"status_code": http.StatusTooManyRequests}
	e := newAPIError(op, http.StatusTooManyRequests, h, data, ErrRateLimit,
		"Rate limited by an intermediary (HTTP 429 with a non-JSON body); retry after the indicated delay.")
	if n, ok := retryAfterSeconds(retryAfterHeader(h), nil, maxRateLimitRetryAfter); ok {
		e.RetryAfter = time.Duration(n) * time.Second
	}
	return &RateLimitError{APIError: e}
}

// agentClasses is the code table of the agents namespace.
var agentClasses = map[string]error{
	"invalid_key":                    ErrInvalidKey,
	"agent_not_found":                ErrAgentNotFound,
	"caller_agent_unresolved":        ErrAgentNotFound,
	"caller_agent_mismatch":          ErrCallerAgentMismatch,
	"caller_agent_resolution_error":  ErrCallerAgentResolution,
	"agent_name_exists":              ErrAgentNameExists,
	"me_requires_agent_key":          ErrMeRequiresAgentKey,
	"key_revoked":                    ErrKeyRevoked,
	"key_expired":                    ErrKeyExpired,
	"key_rotated_grace_expired":      ErrKeyRotationExpired,
	"key_not_active":                 ErrKeyInactive,
	"app_not_found_for_key":          ErrKeyAppNotFound,
	"key_not_found":                  ErrKeyNotFound,
	"last_active_key":                ErrLastActiveKey,
	"agent_key_limit_reached":        ErrAgentKeyLimit,
	"agent_inactive":                 ErrAgentInactive,
	"agent_revoked":                  ErrAgentRevoked,
	"idempotency_key_body_mismatch":  ErrIdempotencyKeyBodyMismatch,
	"idempotency_key_agent_revoked":  ErrIdempotencyKeyAgentRevoked,
	"idempotency_key_agent_inactive": ErrIdempotencyKeyAgentInactive,
	"agent_cannot_mint_subagents":    ErrAgentCannotMintSubagents,
}

func decodeAgentsError(op string, status int, h http.Header, body []byte) error {
	v, err := decodeJSONValue(body)
	nonJSON := err != nil
	data, _ := v.(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	if inner, ok := data["detail"].(map[string]any); ok {
		data = inner
	}
	data["status_code"] = status
	code := str(data, "error")
	if code == "insufficient_scope" {
		return insufficientScope(op, status, h, data)
	}
	if nonJSON && status == http.StatusTooManyRequests {
		return nonJSONRateLimit(op, h)
	}
	if code == "rate_limit_exceeded" {
		return rateLimit(op, status, h, data)
	}
	var wait time.Duration
	if status == http.StatusInternalServerError || status == http.StatusServiceUnavailable {
		if n, ok := retryAfterSeconds(retryAfterHeader(h), nil, maxRateLimitRetryAfter); ok {
			data["retry_after_seconds"] = n
			wait = time.Duration(n) * time.Second
		}
	}
	message := messageOr(data, fmt.Sprintf("Backend error %d", status))
	kind := agentClasses[code]
	switch {
	case code == "agent_concurrent_update" && status == http.StatusConflict:
		kind = ErrAgentConcurrentUpdate
	case code == "key_revoked" && status == http.StatusConflict:
		kind = ErrKeyAlreadyRevoked
	case kind == nil:
		kind = ErrBackend
	}
	e := newAPIError(op, status, h, data, kind, message)
	e.RetryAfter = wait
	return e
}

func decodeProxyError(op string, status int, h http.Header, body []byte) error {
	v, _ := decodeJSONValue(body)
	payload, _ := v.(map[string]any)
	detail := payload
	if inner, ok := payload["detail"].(map[string]any); ok {
		detail = inner
	}
	var kind error
	switch str(detail, "error") {
	case "approval_denied":
		kind = ErrApprovalDenied
	case "approval_expired":
		kind = ErrApprovalExpired
	case "approval_execution_failed":
		kind = ErrApprovalExecutionFailed
	}
	if kind != nil {
		data := map[string]any{}
		for k, x := range detail {
			data[k] = x
		}
		data["status_code"] = status
		e := newAPIError(op, status, h, data, kind, messageOr(data, "/sdk/proxy returned "+strconv.Itoa(status)))
		return &ApprovalError{APIError: e, ApprovalID: str(data, "approval_id")}
	}
	return decodeSharedError(op, status, h, body)
}

func decodeApprovalPollError(op string, status int, h http.Header, body []byte) error {
	return approvalPollError(op, "/sdk/approvals/{approval_id}", status, h, body)
}

// approvalPollError is alter-sdk's untyped error of an approval status poll: a BackendError
// "GET <path> returned <status> (<error>: <message>)" whose details keep only the status and
// the code.
func approvalPollError(op, path string, status int, h http.Header, body []byte) error {
	data := parseErrorBody(status, body).data
	code, message := str(data, "error"), str(data, "message")
	msg := fmt.Sprintf("GET %s returned %d", path, status)
	details := map[string]any{"status_code": status}
	if code != "" {
		details["error"] = code
		if message != "" {
			msg += " (" + code + ": " + message + ")"
		} else {
			msg += " (" + code + ")"
		}
	}
	return newAPIError(op, status, h, details, ErrBackend, msg)
}

// networkError wraps a transport failure of a vault call. A timeout (ctx deadline, client
// timeout, net timeout) matches ErrTimeout, ErrNetwork and context.DeadlineExceeded; a
// cancellation matches context.Canceled (and ErrNetwork: no answer came).
func networkError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ne *NetworkError
	if errors.As(err, &ne) && ne.Op == op {
		return err
	}
	return &NetworkError{Op: op, Err: stripURLQuery(err), timeout: isTimeout(err)}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// stripURLQuery drops the query of the URL a *url.Error names: a query may carry a credential.
func stripURLQuery(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	i := strings.IndexAny(ue.URL, "?#")
	if i < 0 {
		return err
	}
	cp := *ue
	cp.URL = ue.URL[:i]
	if ue == err { //nolint:errorlint // only the outermost error is replaced; deeper ones keep their chain
		return &cp
	}
	return &wrappedURLError{outer: err, inner: &cp}
}

// wrappedURLError keeps the chain of an error wrapping a *url.Error, with the URL redacted in
// its text.
type wrappedURLError struct {
	outer error
	inner *url.Error
}

func (w *wrappedURLError) Error() string { return w.inner.Error() }
func (w *wrappedURLError) Unwrap() error { return w.inner }
func (w *wrappedURLError) Is(target error) bool {
	return errors.Is(w.outer, target)
}

// asAgentDelegationMissing turns a GrantNotFoundError of an Agent call into the actionable
// AgentDelegationMissing: for an agent the vault answers the same 404 whether the grant does
// not exist or is not delegated to it.
func asAgentDelegationMissing(err error) error {
	var nf *GrantNotFoundError
	if !errors.As(err, &nf) || nf.kind != ErrGrantNotFound {
		return err
	}
	e := *nf.APIError
	e.kind = ErrAgentDelegationMissing
	e.Message = "No grant this agent can use was found: the grant does not exist, or it is not delegated to this agent " +
		"(an agent addresses a user's grant only through its own delegation). Delegate the grant to the agent " +
		"through Connect, or choose the grant by provider."
	return &GrantNotFoundError{APIError: &e, ProviderID: nf.ProviderID, AgentID: nf.AgentID, AppUserID: nf.AppUserID}
}

// unexpectedResponse is a vault answer that is not what the operation documents (a status
// below 400 it does not define, a body that breaks the contract): a BackendError, as in
// alter-sdk. message must not hold the answer's values.
func unexpectedResponse(op string, status int, h http.Header, message string) error {
	return newAPIError(op, status, h, map[string]any{"status_code": status}, ErrBackend, message)
}

// connectPollError maps the error_code of a Connect poll answering status "error":
// connect_denied is a denial, the configuration codes a ConnectConfig, service_unavailable a
// BackendError 503, the identity-provider faults a BackendError 409, anything else a
// ConnectFlow failure.
func connectPollError(op, code, message string, retryAfter time.Duration) error {
	details := map[string]any{"error_code": code}
	if retryAfter > 0 {
		details["retry_after_seconds"] = int(retryAfter / time.Second)
	}
	if status, ok := identitySyncStatus(code); ok {
		e := &APIError{Op: op, Status: status, Code: ErrorCode(code), Message: message, Details: details,
			RetryAfter: retryAfter, kind: ErrBackend}
		details["status_code"] = status
		return e
	}
	kind := ErrConnectFlow
	switch code {
	case "connect_denied":
		kind = ErrConnectDenied
	case "connect_config_error", "invalid_redirect_uri", "invalid_client", "unauthorized_client",
		"provider_configuration_unavailable", "shared_dev_credential_unavailable", "managed_oauth_scope_approval_required":
		kind = ErrConnectConfig
	}
	return &ConnectError{APIError: &APIError{Op: op, Code: ErrorCode(code), Message: message, Details: details,
		RetryAfter: retryAfter, kind: kind}}
}

// authPollError maps an auth poll answering status "error": the identity-sync codes are
// BackendErrors with their status, anything else a failed authentication (ErrConnectFlow).
func authPollError(op, code, message string, retryAfter time.Duration) error {
	if message == "" {
		message = "unknown error"
	}
	details := map[string]any{"error_code": code}
	if retryAfter > 0 {
		details["retry_after_seconds"] = int(retryAfter / time.Second)
	}
	if status, ok := identitySyncStatus(code); ok {
		details["status_code"] = status
		return &APIError{Op: op, Status: status, Code: ErrorCode(code), Message: message, Details: details,
			RetryAfter: retryAfter, kind: ErrBackend}
	}
	return &ConnectError{APIError: &APIError{Op: op, Code: ErrorCode(code), Message: "Authentication failed: " + message,
		Details: details, RetryAfter: retryAfter, kind: ErrConnectFlow}}
}

// identitySyncStatus is the HTTP status alter-sdk gives a poll error_code of the identity sync.
func identitySyncStatus(code string) (int, bool) {
	switch code {
	case "service_unavailable":
		return http.StatusServiceUnavailable, true
	case "identity_provider_inactive", "identity_group_name_ambiguous":
		return http.StatusConflict, true
	}
	return 0, false
}

// connectFlowError is a Connect or Authenticate failure with no finer class (an unexpected
// poll status, a session that expired before polling began, no grant kept).
func connectFlowError(op, message string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	return &ConnectError{APIError: &APIError{Op: op, Message: message, Details: details, kind: ErrConnectFlow}}
}

// connectTimeoutError ends a Connect or Authenticate wait: reason is alter-sdk's
// ("session_expired", "rate_limited", "poll_deadline_elapsed", "timeout"); cause is the ctx
// error or the last transient failure, if any.
func connectTimeoutError(op, reason, message string, retryAfter time.Duration, cause error) error {
	details := map[string]any{"reason": reason}
	if retryAfter > 0 {
		details["retry_after"] = int(retryAfter / time.Second)
	}
	return &ConnectError{APIError: &APIError{Op: op, Message: message, Details: details, RetryAfter: retryAfter,
		kind: ErrConnectTimeout}, Reason: reason, cause: cause}
}

// approvalError is an approval outcome: kind is ErrApprovalDenied, ErrApprovalExpired,
// ErrApprovalExecutionFailed or ErrApprovalTimeout; an empty message takes the class's text.
// cause (a timeout's ctx error or last transient failure) may be nil.
func approvalError(kind error, op, approvalID, message string, cause error) error {
	if message == "" {
		switch kind {
		case ErrApprovalDenied:
			message = "approver denied the request"
		case ErrApprovalExpired:
			message = "approval window elapsed without a decision"
		case ErrApprovalExecutionFailed:
			message = "backend proxy execution failed"
		default:
			message = "approval still pending"
		}
	}
	details := map[string]any{}
	if approvalID != "" {
		details["approval_id"] = approvalID
	}
	return &ApprovalError{APIError: &APIError{Op: op, Message: message, Details: details, kind: kind},
		ApprovalID: approvalID, cause: cause}
}

// providerCall is what newProviderError needs to know of the provider call.
type providerCall struct {
	Op            string
	Method        string
	URL           string // without its query
	GrantID       uuid.UUID
	ProviderID    string
	ScopeMismatch bool // the token answer said the grant's scopes do not match the config
}

// maxProviderBody caps the provider body an error keeps, as alter-sdk's audit capture does.
const maxProviderBody = 10000

// newProviderError maps a provider answer of 400 or more. challenge is the parsed Bearer
// challenge of WWW-Authenticate (nil: none); body is the body as audited.
func newProviderError(call providerCall, resp *http.Response, body string, challenge map[string]string) error {
	status := resp.StatusCode
	if len(body) > maxProviderBody {
		cut := maxProviderBody
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body = body[:cut]
	}
	url := call.URL
	if i := strings.IndexAny(url, "?#"); i >= 0 {
		url = url[:i]
	}
	details := map[string]any{"method": call.Method, "url": url}
	if call.GrantID != uuid.Nil {
		details["grant_id"] = call.GrantID.String()
	}
	pe := &ProviderAPIError{Op: call.Op, Status: status, Method: call.Method, URL: url,
		Header: redactProviderHeader(resp.Header), Body: body, GrantID: call.GrantID, ProviderID: call.ProviderID,
		Details: details, kind: ErrProviderAPI}
	withProvider := func(source string) {
		pe.Details["provider_id"] = call.ProviderID
		pe.Details["source"] = source
	}
	if status == http.StatusForbidden {
		if challenge["error"] == "insufficient_scope" {
			var missing []string
			if s := challenge["scope"]; s != "" {
				missing = strings.Fields(s)
			}
			withProvider("provider_insufficient_scope")
			pe.Details["missing_scopes"] = missing
			pe.kind = ErrScopeReauthRequired
			pe.Message = "Provider returned insufficient_scope; the grant must be re-authorized to regain access to the requested resource."
			return &ScopeReauthRequiredError{ProviderAPIError: pe, Source: "provider_insufficient_scope", MissingScopes: missing}
		}
		if call.ScopeMismatch {
			withProvider("backend_flag")
			pe.kind = ErrScopeReauthRequired
			pe.Message = "Provider API returned 403 and the grant's scopes don't match the provider config. The user needs to re-authorize to grant updated permissions."
			return &ScopeReauthRequiredError{ProviderAPIError: pe, Source: "backend_flag"}
		}
	}
	if status == http.StatusUnauthorized && challenge["error"] != "insufficient_scope" {
		withProvider("provider_unauthorized")
		pe.kind = ErrProviderUnauthorized
		pe.Message = "Provider returned 401: the grant's credential was rejected provider-side. Re-authorize an OAuth grant through Connect; replace a managed secret's key."
		return &ProviderUnauthorizedError{ProviderAPIError: pe}
	}
	pe.Message = fmt.Sprintf("Provider API returned error %d", status)
	return pe
}

// redactProviderHeader copies a provider answer's headers without those that can carry a
// credential (an echoed Authorization, a session cookie, an API key). WWW-Authenticate stays:
// it carries the challenge, never a credential.
func redactProviderHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		switch lk := strings.ToLower(k); {
		case lk == "authorization", lk == "proxy-authorization", lk == "cookie", lk == "set-cookie",
			lk == "x-api-key", lk == "x-auth-token", strings.HasPrefix(lk, "x-amz-"):
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// ServerFeatureUnsupportedError matches ErrServerFeatureUnsupported: the vault predates a
// feature the call relies on, so the call would fail generically or be silently ignored.
// Nothing about the request can fix it: upgrade the vault.
type ServerFeatureUnsupportedError struct {
	*APIError
	Feature string // the missing feature, e.g. "managed_secret_connect_provider"
}

// Unwrap returns the embedded *APIError.
func (e *ServerFeatureUnsupportedError) Unwrap() error { return e.APIError }

// GoString implements fmt.GoStringer without the details.
func (e *ServerFeatureUnsupportedError) GoString() string {
	return goString("ServerFeatureUnsupportedError", e)
}

// serverFeatureUnsupported is the answer of a vault that does not know feature; message says
// what to upgrade or do instead.
func serverFeatureUnsupported(op string, status int, h http.Header, feature, message string) error {
	data := map[string]any{"feature": feature, "status_code": status}
	e := newAPIError(op, status, h, data, ErrServerFeatureUnsupported, message)
	return &ServerFeatureUnsupportedError{APIError: e, Feature: feature}
}
