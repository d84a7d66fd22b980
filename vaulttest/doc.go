// Package vaulttest is an in-memory Alter Vault for tests, examples and offline development, in
// the spirit of net/http/httptest: NewServer starts a faithful implementation of the vault's REST
// model (openapi.yaml at the root of this module) on a loopback port.
//
// It implements the real semantics in memory: App and agent keys with their lifecycle, HMAC
// request signing (±5 minutes, nonce replay), the identity rules (agent key + user token refused,
// impersonation of an agent by an App key with X-Alter-Caller), users with JWTs issued by the
// emulator, OAuth and managed-secret grants and their delegations, policies, approvals, connect
// and auth sessions (with small HTML pages a person or a headless browser can click through),
// idempotency keys, and an audit row for every call.
//
// Every request and every response is checked against openapi.yaml with kin-openapi's validator
// unless WithoutContractValidation is given; Violations lists what broke the contract and
// NewTestServer fails the test at cleanup when anything did. Errors always use the spec's JSON
// envelope. Faults (status codes, Retry-After, delays, dropped connections, non-JSON or malformed
// answers) can be injected per operation, and NewEchoUpstream gives tests a local upstream API.
//
// Tests seed the vault directly through Go methods (AddAgent, AddUser, AddOAuthGrant, …), which
// never need a network call and are safe for concurrent use. SeedDemo seeds the demo data used by
// cmd/altervault-dev and the examples.
//
// # Conventions of the emulator
//
// Alter scopes: every operation needs one scope (ListScopes serves the catalog); App keys hold all
// of them unless seeded with KeyScopes or derived with fewer, agent keys hold the runtime ones and
// never agents:* or keys:*. Agent principals (agent keys, or an App key impersonating an agent
// with X-Alter-Caller) get agent_cannot_mint_subagents on /agents and /keys.
//
// Status codes: 400 malformed input and identity-rule breaks; 401 key, signature and user-token
// failures; 403 scope, policy, revoked grants and approval_denied; 404 unknown resources; 409
// state conflicts and the transient token_refresh_in_progress (Retry-After: 1); 410 expired or
// deleted grants and approval_expired; 413 bodies over the cap; 422 idempotency_key_body_mismatch,
// connect_config and agent_scope_narrowing_not_supported; 502 upstream_unreachable and
// approval_execution_failed; 500 internal_error and contract_violation.
//
// A connect session created with an App key gives a grant owned by the end user named in its
// metadata "user_sub" (else by the system principal), delegated to its agent when one is given;
// created by an agent principal, the grant is owned by that agent. Idempotency-Key replays store
// only 2xx answers, per calling key and operation, for 24 hours. Proxy mode does not follow
// upstream redirects (the injected credential must not travel to another host).
package vaulttest
