package facade

import (
	"context"

	"github.com/google/uuid"

	"github.com/altersdk/alter-go/gen"
)

// The methods App and Agent share. They are spelled out on both types so each has a complete
// godoc page and the type system keeps the App-only and Agent-only methods apart.

// BaseURL returns the resolved vault endpoint (diagnostic only).
func (a *App) BaseURL() string { return a.c.baseURL }

// ActorID returns the actor UUID the vault resolved for this client, cached from the first
// answer carrying X-Alter-Actor-Id (uuid.Nil before that).
func (a *App) ActorID() uuid.UUID { return a.c.actor() }

// LastRetryInfo returns the attempts of the most recent call made through this client (with
// concurrent calls: whichever finished last). Each Response also carries its own RetryInfo.
func (a *App) LastRetryInfo() RetryInfo { return a.c.lastRetryInfo() }

// Close waits for the background audit posts (up to 5 s, then cancels them) and releases idle
// connections. It is idempotent; every call after it returns ErrClosed. The goroutines that post
// audit records (at most 48) exit as soon as none is waiting, Close or not.
func (a *App) Close() error { return a.c.close() }

// KeyDeprecated reports whether a vault answer said this client's API key is deprecated
// (X-Alter-Key-Deprecated: true). The first such answer is also logged once, at Warn.
func (a *App) KeyDeprecated() bool { return a.c.deprecated.Load() }

// Raw returns the low-level generated client, wired with the key, request signing, identity and
// trace headers, idempotency keys, retries and WithTimeout, for endpoints the facade does not
// cover. Non-2xx answers are not errors there: inspect the XxxResponse.
func (a *App) Raw() *gen.ClientWithResponses { return a.c.raw }

// Request makes an upstream call in retrieve mode: it checks the identity rules locally,
// retrieves the credential with a signed vault call, injects it into the upstream request, sends
// it with the provider client and posts the audit record in the background. An upstream status
// of 400 or more is a *ProviderAPIError (or *ScopeReauthRequiredError); a 3xx that was not
// followed (304 to a conditional request) is returned. Close the Response's Body.
func (a *App) Request(ctx context.Context, method, url string, p RequestParams) (*Response, error) {
	return a.c.request(ctx, method, url, p)
}

// ProxyRequest asks the vault to make the upstream call itself (proxy mode, required for grants
// that need a human approval). The outcome holds the upstream answer, or a PendingApproval.
func (a *App) ProxyRequest(ctx context.Context, method, url string, p ProxyParams) (ProxyOutcome, error) {
	return a.c.proxyRequest(ctx, method, url, p)
}

// GetApprovalStatus returns the state of a held proxy call without waiting.
func (a *App) GetApprovalStatus(ctx context.Context, approvalID string) (ApprovalStatus, error) {
	return a.c.getApprovalStatus(ctx, approvalID)
}

// AwaitApproval polls a held proxy call until it is decided and returns the upstream answer.
// A denial, expiry or failed execution is an *APIError matching ErrApprovalDenied,
// ErrApprovalExpired or ErrApprovalExecutionFailed; o.Timeout elapsing gives ErrApprovalTimeout;
// ctx ending stops it at once.
func (a *App) AwaitApproval(ctx context.Context, approvalID string, o AwaitOptions) (*ProxyResult, error) {
	return a.c.awaitApproval(ctx, approvalID, o)
}

// BaseURL returns the resolved vault endpoint (diagnostic only).
func (a *Agent) BaseURL() string { return a.c.baseURL }

// ActorID returns the actor UUID the vault resolved for this client, cached from the first
// answer carrying X-Alter-Actor-Id (uuid.Nil before that).
func (a *Agent) ActorID() uuid.UUID { return a.c.actor() }

// LastRetryInfo returns the attempts of the most recent call made through this client (with
// concurrent calls: whichever finished last). Each Response also carries its own RetryInfo.
func (a *Agent) LastRetryInfo() RetryInfo { return a.c.lastRetryInfo() }

// Close waits for the background audit posts (up to 5 s, then cancels them) and releases idle
// connections. It is idempotent; every call after it returns ErrClosed. The goroutines that post
// audit records (at most 48) exit as soon as none is waiting, Close or not.
func (a *Agent) Close() error { return a.c.close() }

// KeyDeprecated reports whether a vault answer said this client's API key is deprecated
// (X-Alter-Key-Deprecated: true). The first such answer is also logged once, at Warn.
func (a *Agent) KeyDeprecated() bool { return a.c.deprecated.Load() }

// Raw returns the low-level generated client, wired with the key, request signing, identity and
// trace headers, idempotency keys, retries and WithTimeout, for endpoints the facade does not
// cover. Non-2xx answers are not errors there: inspect the XxxResponse.
func (a *Agent) Raw() *gen.ClientWithResponses { return a.c.raw }

// Request makes an upstream call in retrieve mode: it checks the identity rules locally,
// retrieves the credential with a signed vault call, injects it into the upstream request, sends
// it with the provider client and posts the audit record in the background. An upstream status
// of 400 or more is a *ProviderAPIError (or *ScopeReauthRequiredError); a 3xx that was not
// followed (304 to a conditional request) is returned. Close the Response's Body.
func (a *Agent) Request(ctx context.Context, method, url string, p RequestParams) (*Response, error) {
	return a.c.request(ctx, method, url, p)
}

// ProxyRequest asks the vault to make the upstream call itself (proxy mode, required for grants
// that need a human approval). The outcome holds the upstream answer, or a PendingApproval.
func (a *Agent) ProxyRequest(ctx context.Context, method, url string, p ProxyParams) (ProxyOutcome, error) {
	return a.c.proxyRequest(ctx, method, url, p)
}

// GetApprovalStatus returns the state of a held proxy call without waiting.
func (a *Agent) GetApprovalStatus(ctx context.Context, approvalID string) (ApprovalStatus, error) {
	return a.c.getApprovalStatus(ctx, approvalID)
}

// AwaitApproval polls a held proxy call until it is decided and returns the upstream answer.
// A denial, expiry or failed execution is an *APIError matching ErrApprovalDenied,
// ErrApprovalExpired or ErrApprovalExecutionFailed; o.Timeout elapsing gives ErrApprovalTimeout;
// ctx ending stops it at once.
func (a *Agent) AwaitApproval(ctx context.Context, approvalID string, o AwaitOptions) (*ProxyResult, error) {
	return a.c.awaitApproval(ctx, approvalID, o)
}
