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
package vaulttest
