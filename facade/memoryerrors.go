package facade

// ErrMemoryIsolation matches every *MemoryIsolationError (0.29.0's MemoryIsolationError, a root
// of its tree): an identity that cannot derive or keep a private memory partition, an identity
// assertion that failed verification, or a store answer outside the partition.
var ErrMemoryIsolation = class("alter: memory isolation", ErrAlter)

// MemoryIsolationCode says why memory isolation refused (MemoryIsolationError.Code). Each code
// is itself an error value, so errors.Is(err, facade.MemoryIdentityExpired) matches the
// *MemoryIsolationError with that code.
type MemoryIsolationCode string

// Error returns the code.
func (c MemoryIsolationCode) Error() string { return string(c) }

// The codes of 0.29.0's MEMORY_ISOLATION_CODES: each names an outcome of the isolation
// boundary. A caller's mistake (a bad path, key, value or page) is an *InputError instead.
const (
	MemoryIdentityUnverified  MemoryIsolationCode = "memory_identity_unverified"    // not obtained or verified by the SDK
	MemoryLiveRefreshRequired MemoryIsolationCode = "memory_live_refresh_required"  // a resolved snapshot needs a Refresh
	MemoryRefreshNotLive      MemoryIsolationCode = "memory_refresh_not_live"       // Refresh returned an identity older than the operation
	MemoryIdentityExpired     MemoryIsolationCode = "memory_identity_expired"       // the assertion behind it expired
	MemoryAssertionInvalid    MemoryIsolationCode = "memory_assertion_invalid"      // identity.Verify refused the token; see Reason
	MemoryAgentRequired       MemoryIsolationCode = "memory_agent_required"         // no agent in the identity
	MemoryUserRequired        MemoryIsolationCode = "memory_user_required"          // no end user in the identity
	MemoryUserNotActive       MemoryIsolationCode = "memory_user_not_active"        // the end user is not active
	MemoryUserCannotBeDropped MemoryIsolationCode = "memory_user_cannot_be_dropped" // agent-only scope of an identity with a user
	MemoryIdentityChanged     MemoryIsolationCode = "memory_identity_changed"       // Refresh resolved another partition
	MemoryStoreScopeViolation MemoryIsolationCode = "memory_store_scope_violation"  // the store answered outside the partition
)

// MemoryIsolationCodes returns every MemoryIsolationCode, in 0.29.0's order.
func MemoryIsolationCodes() []MemoryIsolationCode {
	return []MemoryIsolationCode{MemoryIdentityUnverified, MemoryLiveRefreshRequired, MemoryRefreshNotLive,
		MemoryIdentityExpired, MemoryAssertionInvalid, MemoryAgentRequired, MemoryUserRequired, MemoryUserNotActive,
		MemoryUserCannotBeDropped, MemoryIdentityChanged, MemoryStoreScopeViolation}
}

// AssertionRejectReason is the coarse category of a refused identity assertion
// (MemoryIsolationError.Reason): enough to tell a misconfigured verifier from a forged token,
// never a claim or key value.
type AssertionRejectReason string

// The reasons identity.Verify reports, as 0.29.0's details["reason"].
const (
	AssertionMalformed AssertionRejectReason = "malformed" // not a compact JWS with a JSON header and claims
	AssertionHeader    AssertionRejectReason = "header"    // alg, typ, kid, crit or b64 not those of an Alter assertion
	AssertionKey       AssertionRejectReason = "key"       // no single trusted ES256 public key has the token's kid
	AssertionSignature AssertionRejectReason = "signature" // the signature does not verify
	AssertionLifetime  AssertionRejectReason = "lifetime"  // expired, issued in the future, or lived too long
	AssertionClaims    AssertionRejectReason = "claims"    // a required claim is missing or wrong (iss, aud, sub, act…)
	AssertionBinding   AssertionRejectReason = "binding"   // issued for another app or agent
)

// MemoryIsolationError is a refusal of the memory-isolation boundary. Branch on Code (or
// errors.Is with a code), never on Message.
type MemoryIsolationError struct {
	Code    MemoryIsolationCode
	Message string
	Reason  AssertionRejectReason // with MemoryAssertionInvalid only
}

// Error implements error: "alter: <code>: <message>".
func (e *MemoryIsolationError) Error() string {
	s := "alter: " + string(e.Code) + ": " + e.Message
	if e.Reason != "" {
		s += " (" + string(e.Reason) + ")"
	}
	return s
}

// Is matches ErrMemoryIsolation (and ErrAlter above it) and the error's own Code.
func (e *MemoryIsolationError) Is(target error) bool {
	return classIs(ErrMemoryIsolation, target) || target == e.Code
}

func memoryErr(code MemoryIsolationCode, msg string) error {
	return &MemoryIsolationError{Code: code, Message: msg}
}
